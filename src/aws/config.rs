//! config: the one `SdkConfig` every AWS client of a run shares (and with it one HTTP client).
//!
//! Region, endpoints (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`), profiles and credentials
//! (the ECS task role in Fargate) come from the standard AWS chain, never from fedsync settings.
//! fedsync sets only how hard to try: the SDK's standard retry mode (exponential backoff with
//! jitter on throttling and transient errors) with a ceiling of attempts, and a timeout on every
//! attempt and every call.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::tls::Provider;
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;

/// How hard fedsync tries each AWS call.
#[derive(Clone, Debug)]
pub struct AwsOptions {
    /// Attempts per call, the first included; throttling and transient errors are retried.
    pub max_attempts: u32,
    /// First retry delay; later ones grow exponentially, with jitter.
    pub initial_backoff: Duration,
    /// Longest single retry delay.
    pub max_backoff: Duration,
    /// Time one attempt may take.
    pub attempt_timeout: Duration,
    /// Time one call may take, retries included.
    pub call_timeout: Duration,
    /// `MaxItems` of each `ListRoles` page (IAM allows 1 to 1000).
    pub list_roles_page_size: i32,
}

impl Default for AwsOptions {
    fn default() -> Self {
        AwsOptions {
            max_attempts: 6,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(20),
            attempt_timeout: Duration::from_secs(20),
            call_timeout: Duration::from_secs(90),
            list_roles_page_size: 1000,
        }
    }
}

impl AwsOptions {
    pub fn retry_config(&self) -> RetryConfig {
        RetryConfig::standard()
            .with_max_attempts(self.max_attempts)
            .with_initial_backoff(self.initial_backoff)
            .with_max_backoff(self.max_backoff)
    }

    pub fn timeout_config(&self) -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(5).min(self.attempt_timeout))
            .operation_attempt_timeout(self.attempt_timeout)
            .operation_timeout(self.call_timeout)
            .build()
    }
}

/// Loads the standard chain with fedsync's retry and timeout policy.
pub async fn load_config(options: &AwsOptions) -> SdkConfig {
    // One HTTP client (one connection pool) for every client built from this config: without
    // it, each per-account IAM client would make its own, a TLS handshake per account.
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
        .build_https();
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .retry_config(options.retry_config())
        .timeout_config(options.timeout_config())
        .load()
        .await
}
