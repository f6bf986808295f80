//! problem: what is wrong with the settings, one line each, naming the setting, where its value
//! came from and what is wrong — and [`Problems`], all of them at once.
//!
//! A problem never holds a secret value: messages about secret values are redacted where they
//! are made (see `build`), and this module only formats.

use std::fmt;

use super::layers::Source;

/// One thing wrong with the settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The setting (or the unknown key) it is about.
    pub setting: String,
    /// Where the offending value came from; none for a value that is missing.
    pub source: Option<Source>,
    /// What is wrong, lowercase, no trailing period.
    pub message: String,
}

impl Problem {
    pub fn new(
        setting: impl Into<String>,
        source: Option<Source>,
        message: impl Into<String>,
    ) -> Self {
        Problem {
            setting: setting.into(),
            source,
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Some(source) if *source != Source::Default => {
                write!(f, "{} (from {source}): {}", self.setting, self.message)
            }
            _ => write!(f, "{}: {}", self.setting, self.message),
        }
    }
}

/// Every problem found; the command prints them all and exits 2, having written nothing.
///
/// Displays as `invalid settings` followed by one indented line per problem.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct Problems(pub Vec<Problem>);

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid settings")?;
        for problem in &self.0 {
            write!(f, "\n  {problem}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_problem_is_one_line_naming_setting_and_source() {
        let problems = Problems(vec![
            Problem::new(
                "concurrency",
                Some(Source::Env("FEDSYNC_CONCURRENCY")),
                "\"0\" is not from 1 to 256",
            ),
            Problem::new("tenant-id", None, "required, but not set"),
        ]);
        assert_eq!(
            problems.to_string(),
            "invalid settings\n  concurrency (from env FEDSYNC_CONCURRENCY): \"0\" is not from 1 to 256\n  tenant-id: required, but not set"
        );
    }
}
