//! graph: the Microsoft Graph side of a sync — a client for the few endpoints fedsync needs.
//!
//! - [`cloud`]: the token authority and Graph base URLs of each Microsoft cloud.
//! - [`auth`]: client-credential tokens (secret or certificate), cached and renewed.
//! - [`retry`]: whether and how long to wait before trying a call again (pure).
//! - [`client`]: service principal, groups, app role assignments, users and group members,
//!   paged to the end.
//! - [`error`]: what went wrong, with Graph's `error.code`, message and `request-id`.
//!
//! Decisions live in the pure core; this module only carries them to Graph. Tokens and secrets
//! never reach logs, errors or `Debug`.

pub mod auth;
pub mod client;
pub mod cloud;
pub mod error;
pub mod retry;

pub use auth::{CertificateCredential, Credential};
pub use client::{GraphClient, GraphSettings, Sleeper, TokioSleeper};
pub use cloud::Cloud;
pub use error::{ApiError, AuthError, GraphError};
pub use retry::RetryPolicy;
