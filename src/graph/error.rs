//! error: what can go wrong talking to Entra ID and Graph, each case with what a caller needs —
//! Graph's `error.code`, message and `request-id` (for a support case), or the `AADSTS` code of
//! the token endpoint. Never a token or a secret.

use crate::error_text::Cause;

/// The token endpoint did not give a token.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the token endpoint {url} refused the credential: {aadsts}{description} ({error})")]
    Rejected {
        url: String,
        /// `AADSTS7000215: ` and the like, when Entra gave one.
        aadsts: String,
        /// The first line of `error_description`.
        description: String,
        /// The OAuth `error`, such as `invalid_client`.
        error: String,
    },
    #[error("cannot reach the token endpoint {url}")]
    Transport { url: String, source: Cause },
    #[error("the token endpoint {url} gave an answer fedsync cannot read")]
    Unreadable { url: String, source: Cause },
    #[error("the certificate credential cannot be used: {0}")]
    Certificate(String),
    /// Entra found no federated identity credential of the sync app matching the assertion.
    #[error(
        "the token endpoint {url} found no federated identity credential on the sync app matching the {check} fedsync sent ({aadsts}): check the {check} of the app's federated credential; fedsync sent issuer {}, subject {}, audience {}",
        sent.issuer, sent.subject, sent.audience
    )]
    NoFederatedCredential {
        url: String,
        aadsts: String,
        /// `issuer`, `subject` or `audience`: what to check.
        check: &'static str,
        sent: Box<super::auth::PresentedClaims>,
    },
    /// The federated assertion could not be had (AWS STS `GetWebIdentityToken` refused or failed).
    #[error("{message}")]
    Federation {
        message: String,
        /// Worth another try (a timeout, a throttle), not a refusal.
        transient: bool,
    },
}

impl AuthError {
    /// Worth another try: the endpoint could not be reached or answered garbage (a proxy, a
    /// 5xx page). A refusal is final.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            AuthError::Transport { .. }
                | AuthError::Unreadable { .. }
                | AuthError::Federation {
                    transient: true,
                    ..
                }
        )
    }
}

/// A Graph call failed.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    #[error("{0}")]
    Api(Box<ApiError>),
    #[error("cannot reach Microsoft Graph for {method} {path} after {attempts} attempts")]
    Transport {
        method: String,
        path: String,
        attempts: u32,
        source: Cause,
    },
    /// A request that must not be sent twice (it creates something) got no answer that says
    /// whether Graph carried it out: a timeout, a reset connection, a 5xx.
    #[error("{method} {path} may or may not have been carried out; fedsync does not send it again")]
    OutcomeUnknown {
        method: String,
        path: String,
        source: Cause,
    },
    #[error("Graph's answer to {method} {path} is not what fedsync expects")]
    Unexpected {
        method: String,
        path: String,
        source: Cause,
    },
    /// A base URL the client will not send a secret or token to.
    #[error("{setting}: {reason}")]
    BadUrl {
        setting: &'static str,
        reason: String,
    },
    #[error("{path} still had more pages after {max}; stopping")]
    TooManyPages { path: String, max: usize },
    #[error(transparent)]
    Auth(#[from] AuthError),
}

impl GraphError {
    /// Graph's `error.code`, when Graph answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            GraphError::Api(api) => Some(&api.code),
            _ => None,
        }
    }
}

/// Graph answered with an error.
#[derive(Debug)]
pub struct ApiError {
    pub method: String,
    pub path: String,
    pub status: u16,
    /// Graph's `error.code`, such as `CannotDeleteOrUpdateEnabledEntitlement`.
    pub code: String,
    pub message: String,
    /// The `request-id` header, for a support case with Microsoft.
    pub request_id: String,
    /// Attempts made, retries included.
    pub attempts: u32,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ApiError {
            method,
            path,
            status,
            code,
            message,
            request_id,
            attempts,
        } = self;
        write!(
            f,
            "Graph answered {method} {path} with HTTP {status} {code}: {message} (request-id {request_id}"
        )?;
        if *attempts > 1 {
            write!(f, ", after {attempts} attempts")?;
        }
        f.write_str(")")
    }
}
