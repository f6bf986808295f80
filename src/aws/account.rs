//! account: read one account — assume the reader role, find our SAML providers, page through
//! `ListRoles` and keep the roles that trust one of them.
//!
//! Every account ends as `Read { providers, roles }` or `Failed { stage, reason }`; an error at
//! any stage fails the account (never "no roles"), and never the run. Calls per account:
//! 1 `AssumeRole` (none for the account fedsync runs in), 1 `ListSAMLProviders`, 1
//! `GetSAMLProvider` per provider, and — only when a provider matched — 1 `ListRoles` per page
//! of up to `list_roles_page_size` roles.

use std::time::SystemTime;

use aws_config::SdkConfig;
use tracing::{info, instrument, warn};

use super::config::AwsOptions;
use super::error::{chain, describe};
use super::inventory::InventorySettings;
use super::organization::OrgAccount;
use crate::model::{
    AccountInventory, AccountOutcome, FailureStage, FederatedRole, Partition, SamlProviderArn,
};
use crate::{metadata, trust};

/// `ListRoles` pages followed at most per account (at 1000 a page, far above IAM's role quota).
const MAX_ROLE_PAGES: usize = 10_000;
/// Session name of the reader role, visible in CloudTrail.
const SESSION_NAME: &str = "fedsync-inventory";
/// The shortest session STS grants; an account is read well within it.
const SESSION_SECONDS: i32 = 900;

/// What every account read shares.
pub struct AccountContext<'a> {
    pub sdk: &'a SdkConfig,
    pub sts: &'a aws_sdk_sts::Client,
    pub partition: Partition,
    /// The account fedsync runs in: read with its own credentials, no `AssumeRole`.
    pub home_account: &'a crate::model::AccountId,
    pub settings: &'a InventorySettings,
    pub options: &'a AwsOptions,
}

/// Where and why reading an account stopped.
struct StageError {
    stage: FailureStage,
    reason: String,
}

impl StageError {
    fn new(stage: FailureStage, reason: impl Into<String>) -> Self {
        StageError {
            stage,
            reason: reason.into(),
        }
    }
}

/// Reads one account; always returns, read or failed.
#[instrument(skip_all, fields(account = %account.id))]
pub async fn read_account(ctx: &AccountContext<'_>, account: &OrgAccount) -> AccountInventory {
    let outcome = match read(ctx, account).await {
        Ok((providers, roles)) => {
            info!(
                providers = providers.len(),
                roles = roles.len(),
                "account read"
            );
            AccountOutcome::Read { providers, roles }
        }
        Err(StageError { stage, reason }) => {
            warn!(%stage, %reason, "account not read");
            AccountOutcome::Failed { stage, reason }
        }
    };
    AccountInventory {
        id: account.id.clone(),
        name: account.name.clone(),
        outcome,
    }
}

async fn read(
    ctx: &AccountContext<'_>,
    account: &OrgAccount,
) -> Result<(Vec<SamlProviderArn>, Vec<FederatedRole>), StageError> {
    let iam = if &account.id == ctx.home_account {
        aws_sdk_iam::Client::new(ctx.sdk)
    } else {
        assume_reader(ctx, account).await?
    };
    let providers = our_providers(&iam, ctx.settings).await?;
    if providers.is_empty() {
        return Ok((providers, Vec::new()));
    }
    let mut roles = federated_roles(&iam, &providers, ctx.options).await?;
    roles.sort_by(|a, b| a.arn.cmp(&b.arn));
    Ok((providers, roles))
}

/// An IAM client acting as the reader role of `account`.
async fn assume_reader(
    ctx: &AccountContext<'_>,
    account: &OrgAccount,
) -> Result<aws_sdk_iam::Client, StageError> {
    let role = ctx
        .settings
        .cross_account_role
        .arn_in(ctx.partition, &account.id);
    let out = ctx
        .sts
        .assume_role()
        .role_arn(role.to_string())
        .role_session_name(SESSION_NAME)
        .duration_seconds(SESSION_SECONDS)
        .set_external_id(ctx.settings.external_id.clone())
        .send()
        .await
        .map_err(|e| {
            StageError::new(
                FailureStage::AssumeRole,
                format!("{role}: {}", describe(&e)),
            )
        })?;
    let Some(c) = out.credentials() else {
        return Err(StageError::new(
            FailureStage::AssumeRole,
            format!("{role}: STS returned no credentials"),
        ));
    };
    let credentials = aws_sdk_iam::config::Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_owned()),
        SystemTime::try_from(*c.expiration()).ok(),
        "fedsync-assume-role",
    );
    let config = aws_sdk_iam::config::Builder::from(ctx.sdk)
        .credentials_provider(credentials)
        .build();
    Ok(aws_sdk_iam::Client::from_conf(config))
}

/// The account's SAML providers whose metadata has our entity id and one of our certificates.
async fn our_providers(
    iam: &aws_sdk_iam::Client,
    settings: &InventorySettings,
) -> Result<Vec<SamlProviderArn>, StageError> {
    let list = iam
        .list_saml_providers()
        .send()
        .await
        .map_err(|e| StageError::new(FailureStage::ListSamlProviders, describe(&e)))?;
    let mut ours = Vec::new();
    for entry in list.saml_provider_list() {
        let Some(raw_arn) = entry.arn() else { continue };
        let arn: SamlProviderArn = raw_arn.parse().map_err(|e: crate::model::ParseError| {
            StageError::new(FailureStage::ListSamlProviders, e.to_string())
        })?;
        let provider = iam
            .get_saml_provider()
            .saml_provider_arn(raw_arn)
            .send()
            .await
            .map_err(|e| {
                StageError::new(
                    FailureStage::ReadSamlProvider,
                    format!("{arn}: {}", describe(&e)),
                )
            })?;
        let Some(xml) = provider.saml_metadata_document() else {
            return Err(StageError::new(
                FailureStage::ReadSamlProvider,
                format!("{arn}: no metadata document"),
            ));
        };
        let parsed = metadata::parse(xml).map_err(|e| {
            StageError::new(
                FailureStage::ReadSamlProvider,
                format!("{arn}: {}", chain(&e)),
            )
        })?;
        if parsed.matches(&settings.saml_entity_id, &settings.saml_certificates) {
            ours.push(arn);
        }
    }
    Ok(ours)
}

/// Every role whose trust policy lets one of `providers` call `sts:AssumeRoleWithSAML`.
async fn federated_roles(
    iam: &aws_sdk_iam::Client,
    providers: &[SamlProviderArn],
    options: &AwsOptions,
) -> Result<Vec<FederatedRole>, StageError> {
    let mut roles = Vec::new();
    let mut marker: Option<String> = None;
    for _ in 0..MAX_ROLE_PAGES {
        let page = iam
            .list_roles()
            .max_items(options.list_roles_page_size)
            .set_marker(marker.take())
            .send()
            .await
            .map_err(|e| StageError::new(FailureStage::ListRoles, describe(&e)))?;
        for role in page.roles() {
            let Some(document) = role.assume_role_policy_document() else {
                continue;
            };
            let trusted = trust::saml_providers(document).map_err(|e| {
                StageError::new(
                    FailureStage::ListRoles,
                    format!("role {}: {}", role.arn(), chain(&e)),
                )
            })?;
            let ours: Vec<SamlProviderArn> = trusted
                .into_iter()
                .filter(|p| providers.contains(p))
                .collect();
            if ours.is_empty() {
                continue;
            }
            let arn = role.arn().parse().map_err(|e: crate::model::ParseError| {
                StageError::new(FailureStage::ListRoles, e.to_string())
            })?;
            roles.push(FederatedRole {
                arn,
                providers: ours,
            });
        }
        // IAM may return short pages: only IsTruncated says whether more follow.
        if !page.is_truncated() {
            return Ok(roles);
        }
        match page.marker() {
            Some(next) => marker = Some(next.to_owned()),
            None => {
                return Err(StageError::new(
                    FailureStage::ListRoles,
                    "IAM said more roles follow but gave no Marker",
                ));
            }
        }
    }
    Err(StageError::new(
        FailureStage::ListRoles,
        format!("more than {MAX_ROLE_PAGES} pages of roles"),
    ))
}
