//! account: read one account — assume the reader role, read every SAML provider and decide
//! whether it is ours, page through `ListRoles` and decide each role's trust policy.
//!
//! Only the account-level calls fail an account (`AssumeRole`, `ListSAMLProviders`,
//! `ListRoles`): every account ends `Read { providers, roles }` or `Failed { stage, reason }`,
//! never "no roles" by mistake, and never the run. A provider whose `GetSAMLProvider` fails, or
//! whose metadata cannot be read, is undecided on its own; a role whose trust policy cannot be
//! decided is can't tell on its own. Calls per account: 1 `AssumeRole` (none for the account
//! fedsync runs in), 1 `ListSAMLProviders`, 1 `GetSAMLProvider` per provider, and — only when
//! a provider may be ours — 1 `ListRoles` per page of up to `list_roles_page_size` roles.
//!
//! The decisions are the pure core's ([`crate::metadata::classify`], [`crate::trust::judge`]);
//! this module fetches, and [`crate::explain`] reuses it to show its work.

use std::time::SystemTime;

use aws_config::SdkConfig;
use tracing::{info, instrument, warn};

use super::InventorySettings;
use super::config::AwsOptions;
use super::error::describe;
use super::pace::ThrottleCounter;
use crate::metadata::{self, ProviderMatch};
use crate::model::{
    AccountId, AccountInventory, AccountOutcome, Certificate, FailureStage, IamRole, Partition,
    ProviderVerdict, RoleArn, SamlProvider, SamlProviderArn,
};
use crate::trust::{self, AskedProvider};

/// `ListRoles` pages followed at most per account (at 1000 a page, far above IAM's role quota).
const MAX_ROLE_PAGES: usize = 10_000;
/// Session name of the reader role, visible in CloudTrail.
const SESSION_NAME: &str = "fedsync-inventory";
/// The shortest session STS grants; an account is read well within it.
const SESSION_SECONDS: i32 = 900;

/// What every account read shares.
pub struct AccountContext<'a> {
    pub sts: &'a aws_sdk_sts::Client,
    /// The one IAM client of the read ([`iam_client`]); each account's calls carry its own
    /// credentials.
    pub iam: &'a aws_sdk_iam::Client,
    pub partition: Partition,
    /// The account fedsync runs in: read with its own credentials, no `AssumeRole`.
    pub home_account: &'a AccountId,
    pub settings: &'a InventorySettings,
    pub options: &'a AwsOptions,
}

/// The IAM client every account of a read shares: it counts throttling answers in
/// `throttles` and spends the read's retry quota (`retries`). Built once: an SDK client is
/// costly to build (it validates its HTTP client anew), so accounts differ only by the
/// credentials each call carries ([`AccountIam`]).
pub fn iam_client(
    sdk: &SdkConfig,
    throttles: &ThrottleCounter,
    retries: &aws_sdk_iam::config::retry::RetryPartition,
) -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::from_conf(
        aws_sdk_iam::config::Builder::from(sdk)
            .interceptor(throttles.clone())
            .retry_partition(retries.clone())
            .build(),
    )
}

/// IAM in one account: the read's client, with the reader role's credentials there (none at
/// home, where fedsync's own are the client's).
pub struct AccountIam<'a> {
    client: &'a aws_sdk_iam::Client,
    credentials: Option<aws_sdk_iam::config::Credentials>,
}

impl AccountIam<'_> {
    /// The per-call override that puts this account's credentials on a call.
    fn config(&self) -> aws_sdk_iam::config::Builder {
        let mut config = aws_sdk_iam::config::Builder::default();
        if let Some(credentials) = &self.credentials {
            config = config.credentials_provider(credentials.clone());
        }
        config
    }
}

impl std::fmt::Debug for AccountIam<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountIam")
            .field("assumed", &self.credentials.is_some())
            .finish_non_exhaustive()
    }
}

/// Where and why reading an account stopped.
#[derive(Debug)]
pub struct StageError {
    pub stage: FailureStage,
    pub reason: String,
}

impl StageError {
    fn new(stage: FailureStage, reason: impl Into<String>) -> Self {
        StageError {
            stage,
            reason: reason.into(),
        }
    }
}

/// One SAML provider of an account, as read and decided.
#[derive(Clone, Debug)]
pub struct ProviderRead {
    pub arn: SamlProviderArn,
    pub matched: ProviderMatch,
}

impl ProviderRead {
    /// The inventory's record of it.
    pub fn record(&self) -> SamlProvider {
        SamlProvider {
            arn: self.arn.clone(),
            verdict: self.matched.verdict,
            reason: self.matched.reason.clone(),
            certificates: self
                .matched
                .certificates
                .iter()
                .filter_map(|c| {
                    c.sha256.clone().map(|sha256| Certificate {
                        sha256,
                        not_after: c.not_after,
                    })
                })
                .collect(),
        }
    }

    /// Asked about in trust policies: every provider that may be ours.
    pub fn asked(&self) -> Option<AskedProvider> {
        (self.matched.verdict != ProviderVerdict::NotOurs).then(|| AskedProvider {
            arn: self.arn.clone(),
            verdict: self.matched.verdict,
            reason: self.matched.reason.clone(),
        })
    }
}

/// One role as `ListRoles` gives it.
pub struct ListedRole {
    pub arn: String,
    /// `AssumeRolePolicyDocument`, raw or percent-encoded.
    pub document: Option<String>,
}

/// Reads one account; always returns, read or failed.
#[instrument(skip_all, fields(account = %id))]
pub async fn read_account(
    ctx: &AccountContext<'_>,
    id: &AccountId,
    name: &str,
) -> AccountInventory {
    let outcome = match read(ctx, id).await {
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
        id: *id,
        name: name.to_owned(),
        outcome,
    }
}

async fn read(
    ctx: &AccountContext<'_>,
    id: &AccountId,
) -> Result<(Vec<SamlProvider>, Vec<IamRole>), StageError> {
    let iam = account_iam(ctx, id).await?;
    let providers = read_providers(&iam, ctx.settings).await?;
    for provider in &providers {
        if provider.matched.verdict == ProviderVerdict::UnknownCertificate {
            warn!(provider = %provider.arn, reason = %provider.matched.reason, "a SAML provider has our entity id but a certificate not in saml-certificates");
        }
    }
    let asked: Vec<AskedProvider> = providers.iter().filter_map(ProviderRead::asked).collect();
    let records = providers.iter().map(ProviderRead::record).collect();
    if asked.is_empty() {
        return Ok((records, Vec::new()));
    }
    let mut roles = Vec::new();
    each_role(&iam, None, ctx.options, |listed| {
        let Ok(arn) = listed.arn.parse::<RoleArn>() else {
            // An ARN fedsync cannot read can be no app role's value either.
            warn!(role = %listed.arn, "skipping a role whose ARN fedsync cannot read");
            return;
        };
        let (role, _) = trust::judge(
            &arn,
            listed.document.as_deref(),
            &asked,
            &ctx.settings.saml_audiences,
            false,
        );
        roles.extend(role);
    })
    .await?;
    roles.sort_by(|a, b| a.arn.cmp(&b.arn));
    Ok((records, roles))
}

/// IAM in `account`: the reader role there, or fedsync's own credentials at home.
pub async fn account_iam<'a>(
    ctx: &AccountContext<'a>,
    account: &AccountId,
) -> Result<AccountIam<'a>, StageError> {
    if account == ctx.home_account {
        return Ok(AccountIam {
            client: ctx.iam,
            credentials: None,
        });
    }
    let role = ctx
        .settings
        .cross_account_role
        .arn_in(ctx.partition, account);
    let credentials = assumed_credentials(
        ctx.sts,
        &role,
        SESSION_NAME,
        ctx.settings.external_id.clone(),
    )
    .await
    .map_err(|reason| StageError::new(FailureStage::AssumeRole, reason))?;
    Ok(AccountIam {
        client: ctx.iam,
        credentials: Some(credentials),
    })
}

/// Credentials of `role` for one short session (`AssumeRole`), for IAM calls; the error is one
/// line that names the role.
pub async fn assumed_credentials(
    sts: &aws_sdk_sts::Client,
    role: &RoleArn,
    session_name: &str,
    external_id: Option<String>,
) -> Result<aws_sdk_iam::config::Credentials, String> {
    let out = sts
        .assume_role()
        .role_arn(role.to_string())
        .role_session_name(session_name)
        .duration_seconds(SESSION_SECONDS)
        .set_external_id(external_id)
        .send()
        .await
        .map_err(|e| format!("{role}: {}", describe(&e)))?;
    let Some(c) = out.credentials() else {
        return Err(format!("{role}: STS returned no credentials"));
    };
    Ok(aws_sdk_iam::config::Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_owned()),
        SystemTime::try_from(*c.expiration()).ok(),
        "fedsync-assume-role",
    ))
}

/// Every SAML provider of the account, each decided: ours or not, or why not known. Only
/// listing them can fail.
pub async fn read_providers(
    iam: &AccountIam<'_>,
    settings: &InventorySettings,
) -> Result<Vec<ProviderRead>, StageError> {
    let list = iam
        .client
        .list_saml_providers()
        .customize()
        .config_override(iam.config())
        .send()
        .await
        .map_err(|e| StageError::new(FailureStage::ListSamlProviders, describe(&e)))?;
    let mut providers = Vec::new();
    for entry in list.saml_provider_list() {
        let Some(raw_arn) = entry.arn() else { continue };
        let Ok(arn) = raw_arn.parse::<SamlProviderArn>() else {
            warn!(provider = %raw_arn, "skipping a SAML provider whose ARN fedsync cannot read");
            continue;
        };
        let undecided = |reason: String| ProviderMatch {
            verdict: ProviderVerdict::CantTell,
            entity_ids: Vec::new(),
            certificates: Vec::new(),
            reason,
        };
        let matched = match iam
            .client
            .get_saml_provider()
            .saml_provider_arn(raw_arn)
            .customize()
            .config_override(iam.config())
            .send()
            .await
        {
            Err(e) => undecided(format!("GetSAMLProvider failed: {}", describe(&e))),
            Ok(read) => match read.saml_metadata_document() {
                None => undecided("IAM holds no metadata document for it".to_owned()),
                Some(xml) => {
                    metadata::classify(xml, &settings.saml_entity_id, &settings.saml_certificates)
                }
            },
        };
        providers.push(ProviderRead { arn, matched });
    }
    Ok(providers)
}

/// Calls `each` for every role `ListRoles` gives (under `path_prefix`, when set), page by page
/// to the end.
pub async fn each_role(
    iam: &AccountIam<'_>,
    path_prefix: Option<&str>,
    options: &AwsOptions,
    mut each: impl FnMut(ListedRole),
) -> Result<(), StageError> {
    let mut marker: Option<String> = None;
    for _ in 0..MAX_ROLE_PAGES {
        let page = iam
            .client
            .list_roles()
            .max_items(options.list_roles_page_size)
            .set_path_prefix(path_prefix.map(str::to_owned))
            .set_marker(marker.take())
            .customize()
            .config_override(iam.config())
            .send()
            .await
            .map_err(|e| StageError::new(FailureStage::ListRoles, describe(&e)))?;
        for role in page.roles() {
            each(ListedRole {
                arn: role.arn().to_owned(),
                document: role.assume_role_policy_document().map(str::to_owned),
            });
        }
        // IAM may return short pages: only IsTruncated says whether more follow.
        if !page.is_truncated() {
            return Ok(());
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
