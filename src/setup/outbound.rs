//! outbound: AWS IAM outbound identity federation in the account `fedsync setup` runs in, for
//! `credential aws-federation` — its issuer URL (`iam:GetOutboundWebIdentityFederationInfo`),
//! and enabling it once when the admin agreed (`iam:EnableOutboundWebIdentityFederation`). Setup
//! runs as an administrator; the task never calls these.

use crate::aws::error::describe;

/// Outbound identity federation in the account `iam` calls: its issuer URL, or `None` when it
/// is off (IAM answers `FeatureDisabled`).
pub async fn issuer(iam: &aws_sdk_iam::Client) -> Result<Option<String>, String> {
    match iam.get_outbound_web_identity_federation_info().send().await {
        Ok(info) => Ok(info.issuer_identifier().map(str::to_owned)),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_feature_disabled_exception()) =>
        {
            Ok(None)
        }
        Err(e) => Err(format!(
            "cannot read the account's outbound identity federation (iam:GetOutboundWebIdentityFederationInfo): {}",
            describe(&e)
        )),
    }
}

/// Enables outbound identity federation in the account `iam` calls; its issuer URL. Already
/// enabled (a rerun, or someone else) is not an error: the issuer is read instead.
pub async fn enable(iam: &aws_sdk_iam::Client) -> Result<String, String> {
    match iam.enable_outbound_web_identity_federation().send().await {
        Ok(enabled) => enabled
            .issuer_identifier()
            .map(str::to_owned)
            .ok_or_else(|| {
                "iam:EnableOutboundWebIdentityFederation answered without an issuer URL".to_owned()
            }),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_feature_enabled_exception()) =>
        {
            issuer(iam).await?.ok_or_else(|| {
                "IAM says outbound identity federation is enabled, but reading it says it is not"
                    .to_owned()
            })
        }
        Err(e) => Err(format!(
            "cannot enable outbound identity federation (iam:EnableOutboundWebIdentityFederation): {}",
            describe(&e)
        )),
    }
}
