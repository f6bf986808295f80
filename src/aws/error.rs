//! error: an AWS SDK error as one readable line — the service's error code and message, or what
//! went wrong on the way (timeout, connection) — never the SDK's Debug dump, which can be long
//! and repeats request details.

use aws_sdk_sts::config::http::HttpResponse;
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};

pub use crate::error_text::{Cause, chain};

/// The failure as the `#[source]` of the error that names what fedsync was doing: the service's
/// code, and [`describe`]'s line.
pub fn cause<E>(err: &SdkError<E, HttpResponse>) -> Cause
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    Cause::with_code(code(err).map(str::to_owned), describe(err))
}

/// `Code: message` for a service error, else a short description of the failure.
pub fn describe<E>(err: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            match (e.code(), e.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code.to_owned(),
                (None, _) => {
                    let status = service.raw().status().as_u16();
                    match status {
                        401 | 403 => format!("HTTP {status}: access denied (no error code given)"),
                        404 => format!("HTTP {status}: not found (no error code given)"),
                        _ => format!("HTTP {status}: {}", chain(e)),
                    }
                }
            }
        }
        SdkError::TimeoutError(_) => "timed out (the call took longer than its timeout)".to_owned(),
        SdkError::DispatchFailure(failure) if failure.is_timeout() => {
            "timed out connecting".to_owned()
        }
        SdkError::DispatchFailure(_) => format!("could not send the request: {}", chain(err)),
        SdkError::ResponseError(_) => format!("unreadable response: {}", chain(err)),
        _ => chain(err),
    }
}

/// The code of a service error, when the service answered with one.
pub fn code<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> Option<&str> {
    match err {
        SdkError::ServiceError(service) => service.err().code(),
        _ => None,
    }
}
