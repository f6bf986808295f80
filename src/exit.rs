//! exit: the outcome of a command as DESIGN.md's exit codes, and the failure that carries one.
//!
//! `0` in sync · `1` failed · `2` invalid input or settings, nothing written · `3` refused by a
//! guardrail, nothing written · `4` done, but some accounts could not be read.

use std::process::ExitCode;

/// How a command ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// In sync: changes applied, or none needed (for `plan`: the plan was made).
    Success,
    /// Failed; the error says whether anything was written.
    Failed,
    /// Invalid input or settings; nothing written.
    Invalid,
    /// Refused by a guardrail; nothing written.
    Refused,
    /// Done, but some accounts could not be read; their roles were left untouched.
    Partial,
}

impl ExitStatus {
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Failed => 1,
            ExitStatus::Invalid => 2,
            ExitStatus::Refused => 3,
            ExitStatus::Partial => 4,
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> ExitCode {
        ExitCode::from(status.code())
    }
}

/// An error that ends a command, with the exit status it maps to.
#[derive(Debug)]
pub struct Failure {
    pub status: ExitStatus,
    pub error: anyhow::Error,
}

impl Failure {
    /// Bad input or settings: exit 2.
    pub fn invalid(error: impl Into<anyhow::Error>) -> Failure {
        Failure {
            status: ExitStatus::Invalid,
            error: error.into(),
        }
    }
    /// Refused by a guardrail: exit 3.
    pub fn refused(error: impl Into<anyhow::Error>) -> Failure {
        Failure {
            status: ExitStatus::Refused,
            error: error.into(),
        }
    }
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    /// Anything else failed: exit 1.
    fn from(error: E) -> Failure {
        Failure {
            status: ExitStatus::Failed,
            error: error.into(),
        }
    }
}
