//! federation: the sync app's credential from AWS IAM outbound identity federation — no secret
//! anywhere. `sts:GetWebIdentityToken` gives the role fedsync runs as a short-lived JWT signed by
//! AWS (RS256, [`TOKEN_LIFETIME_SECS`], audience `federation-audience`); Entra takes it as the
//! client assertion when the sync app has a federated identity credential naming the account's
//! issuer URL, the role's ARN and that audience.
//!
//! A new JWT for every token request; it is never stored, logged or printed (the SDK marks the
//! output sensitive and its `Debug` redacts the token). `GetWebIdentityToken` is not served by
//! STS's global endpoint, so a region is required and `aws-global` is refused.
//! (IAM User Guide, "Getting started with outbound identity federation"; STS API Reference,
//! `GetWebIdentityToken`.)
//!
//! For `fedsync setup`: the subject a caller's JWTs carry ([`subject_of`]); setup reads and
//! enables the account's issuer in `setup::outbound`.

use std::fmt;

use aws_config::SdkConfig;
use aws_sdk_sts::operation::get_web_identity_token::GetWebIdentityTokenError;
use futures::future::BoxFuture;
use secrecy::SecretString;

use super::error::{code as error_code, describe};
use crate::graph::AuthError;
use crate::graph::auth::FederatedAssertion;

/// How long each JWT is valid: AWS's default, and the most `cfn/environment.yaml` grants
/// (`sts:DurationSeconds`). Entra reads it once, at the token request.
pub const TOKEN_LIFETIME_SECS: i32 = 300;
/// The signature Entra verifies against the issuer's JWKS.
pub const SIGNING_ALGORITHM: &str = "RS256";

/// JWTs from `sts:GetWebIdentityToken` for one audience.
#[derive(Clone)]
pub struct WebIdentityTokens {
    sts: aws_sdk_sts::Client,
    audience: String,
    region: String,
}

impl fmt::Debug for WebIdentityTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebIdentityTokens")
            .field("audience", &self.audience)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

/// Checks an audience the way STS does (1 to 1000 characters) and the way Entra matches it
/// (exactly; no spaces).
pub fn audience(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err("is empty; Entra's is api://AzureADTokenExchange".to_owned());
    }
    if value.chars().count() > 600 {
        return Err(format!(
            "is {} characters; a federated credential's audience holds at most 600",
            value.chars().count()
        ));
    }
    if value.chars().any(char::is_whitespace) {
        return Err(format!("{value:?} holds a space; an audience is one URI"));
    }
    Ok(value.to_owned())
}

impl WebIdentityTokens {
    /// Tokens through `sdk`'s regional STS endpoint; an error (for the `credential` setting)
    /// when no region is set or the region is the global endpoint's.
    pub fn new(sdk: &SdkConfig, audience: &str) -> Result<WebIdentityTokens, String> {
        let region = match sdk.region().map(|r| r.as_ref().to_owned()) {
            None => {
                return Err(
                    "aws-federation needs an AWS region: GetWebIdentityToken is served by regional STS endpoints only (set AWS_REGION; ECS sets it for a task)"
                        .to_owned(),
                );
            }
            Some(r) if r.eq_ignore_ascii_case("aws-global") => {
                return Err(
                    "aws-federation cannot use the region aws-global: GetWebIdentityToken is not served by STS's global endpoint; set AWS_REGION to a region"
                        .to_owned(),
                );
            }
            Some(r) => r,
        };
        Ok(WebIdentityTokens {
            sts: aws_sdk_sts::Client::new(sdk),
            audience: audience.to_owned(),
            region,
        })
    }

    /// A fresh JWT for the audience.
    pub async fn token(&self) -> Result<SecretString, AuthError> {
        let answer = self
            .sts
            .get_web_identity_token()
            .audience(&self.audience)
            .signing_algorithm(SIGNING_ALGORITHM)
            .duration_seconds(TOKEN_LIFETIME_SECS)
            .send()
            .await
            .map_err(|e| self.refusal(&e))?;
        match answer.web_identity_token() {
            Some(jwt) if !jwt.is_empty() => Ok(SecretString::from(jwt.to_owned())),
            _ => Err(AuthError::Federation {
                message: format!(
                    "AWS STS GetWebIdentityToken ({}) answered without a token",
                    self.region
                ),
                transient: false,
            }),
        }
    }

    /// What to do about a refused or failed `GetWebIdentityToken`, in words a user can act on.
    fn refusal(
        &self,
        err: &aws_sdk_sts::error::SdkError<
            GetWebIdentityTokenError,
            aws_sdk_sts::config::http::HttpResponse,
        >,
    ) -> AuthError {
        let what = describe(err);
        let code = error_code(err).unwrap_or_default();
        let disabled = matches!(
            err.as_service_error(),
            Some(GetWebIdentityTokenError::OutboundWebIdentityFederationDisabledException(_))
        );
        let message = if disabled {
            format!(
                "AWS outbound identity federation is not enabled in the account fedsync runs in, so STS gives no token: enable it once with `aws iam enable-outbound-web-identity-federation` (or `fedsync setup --credential aws-federation`), then name the account's issuer URL in the sync app's federated credential (STS {}: {what})",
                self.region
            )
        } else if code.contains("AccessDenied") || code == "UnauthorizedOperation" {
            format!(
                "the AWS identity fedsync runs as may not call sts:GetWebIdentityToken for audience {} and {TOKEN_LIFETIME_SECS} s: grant it (cfn/environment.yaml does with Credential=aws-federation) (STS {}: {what})",
                self.audience, self.region
            )
        } else {
            format!(
                "AWS STS GetWebIdentityToken ({}) failed: {what}",
                self.region
            )
        };
        let transient = !disabled
            && (code.contains("Throttl")
                || matches!(
                    err,
                    aws_sdk_sts::error::SdkError::TimeoutError(_)
                        | aws_sdk_sts::error::SdkError::DispatchFailure(_)
                        | aws_sdk_sts::error::SdkError::ResponseError(_)
                ));
        AuthError::Federation { message, transient }
    }
}

/// The `sub` of the JWTs `caller_arn` gets from `GetWebIdentityToken`, which the sync app's
/// federated credential must name: a role session's role ARN
/// (`arn:aws:sts::A:assumed-role/R/S` → `arn:aws:iam::A:role/R`), otherwise the ARN itself.
/// A role's path is not in a session's ARN; a role with a path is named with `--task-role-arn`.
pub fn subject_of(caller_arn: &str) -> String {
    let fields: Vec<&str> = caller_arn.splitn(6, ':').collect();
    if let ["arn", partition, "sts", "", account, resource] = fields.as_slice()
        && let Some(role) = resource
            .strip_prefix("assumed-role/")
            .and_then(|r| r.split('/').next())
            .filter(|r| !r.is_empty())
    {
        return format!("arn:{partition}:iam::{account}:role/{role}");
    }
    caller_arn.to_owned()
}

impl FederatedAssertion for WebIdentityTokens {
    fn assertion(&self) -> BoxFuture<'_, Result<SecretString, AuthError>> {
        Box::pin(self.token())
    }

    fn describe(&self) -> String {
        format!(
            "AWS outbound identity federation, audience {}, STS in {}",
            self.audience, self.region
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_audience_is_one_uri_of_at_most_600_characters() {
        assert_eq!(
            audience(" api://AzureADTokenExchange ").unwrap(),
            "api://AzureADTokenExchange"
        );
        assert!(audience("").unwrap_err().contains("empty"));
        assert!(audience("api://a b").unwrap_err().contains("space"));
        assert!(audience(&"a".repeat(601)).unwrap_err().contains("600"));
    }

    #[test]
    fn a_role_session_s_subject_is_its_role_in_its_partition() {
        assert_eq!(
            subject_of("arn:aws:sts::123456789012:assumed-role/fedsync-task/ecs-1"),
            "arn:aws:iam::123456789012:role/fedsync-task"
        );
        assert_eq!(
            subject_of("arn:aws-us-gov:sts::123456789012:assumed-role/admin/alice@example.com"),
            "arn:aws-us-gov:iam::123456789012:role/admin"
        );
        for other in ["arn:aws:iam::123456789012:user/alice", "not an arn"] {
            assert_eq!(subject_of(other), other);
        }
    }

    #[test]
    fn without_a_region_or_with_the_global_one_there_is_no_token_source() {
        let sdk = SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        assert!(
            WebIdentityTokens::new(&sdk, "api://AzureADTokenExchange")
                .unwrap_err()
                .contains("AWS_REGION")
        );
        let global = SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("aws-global"))
            .build();
        assert!(
            WebIdentityTokens::new(&global, "api://AzureADTokenExchange")
                .unwrap_err()
                .contains("global endpoint")
        );
        let regional = SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("eu-west-1"))
            .build();
        let tokens = WebIdentityTokens::new(&regional, "api://AzureADTokenExchange").unwrap();
        assert_eq!(
            tokens.describe(),
            "AWS outbound identity federation, audience api://AzureADTokenExchange, STS in eu-west-1"
        );
    }
}
