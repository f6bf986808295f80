//! rotate: the writes of `fedsync rotate`. In each account with a provider to update it assumes
//! the opt-in writer role (`provider-writer-role`, cfn/provider-writer-role.yaml: only
//! `iam:GetSAMLProvider` and `iam:UpdateSAMLProvider` on the providers the templates create) —
//! in the account fedsync runs in it uses its own credentials, as the inventory does — then,
//! per provider: reads the metadata, decides again ([`crate::rotate::recheck`]), writes the new
//! document, reads it back ([`crate::rotate::read_back`]).
//!
//! At most [`ACCOUNTS_AT_ONCE`] accounts at a time; an account that fails (the writer role
//! denied, a read failing) ends on its own with the reason, and the others go on. Calls per
//! provider written: 1 `GetSAMLProvider`, 1 `UpdateSAMLProvider`, 1 `GetSAMLProvider`; per
//! account: 1 `AssumeRole` (none at home).

use std::collections::BTreeMap;

use futures::StreamExt as _;
use tracing::{info, warn};

use super::account::assumed_credentials;
use super::error::describe;
use crate::model::{AccountId, Partition, RoleName, SamlProviderArn};
use crate::rotate::{Change, NewMetadata, PlannedProvider, Rotation, read_back, recheck};

/// Accounts written at once.
pub const ACCOUNTS_AT_ONCE: usize = 8;
/// Session name of the writer role, visible in CloudTrail.
const SESSION_NAME: &str = "fedsync-rotate";

/// What the writes share.
pub struct ProviderWriter<'a> {
    pub sts: &'a aws_sdk_sts::Client,
    pub iam: &'a aws_sdk_iam::Client,
    pub partition: Partition,
    /// The account fedsync runs in: written with its own credentials.
    pub home_account: AccountId,
    /// `provider-writer-role`.
    pub role: &'a RoleName,
}

/// How one provider's write ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Written {
    /// Written, and read back with exactly the document's certificates.
    Updated,
    /// Already held the document's certificates when read just before the write.
    AlreadyDone,
    /// Not written, and why (the writer role denied, the provider changed since the plan...).
    NotWritten(String),
    /// The write was sent, but it failed in a way that may have written, or it reads back
    /// wrong: a person must look.
    Unsure(String),
}

/// One provider and how its write ended.
#[derive(Clone, Debug)]
pub struct ProviderWrite {
    pub provider: PlannedProvider,
    pub written: Written,
}

/// Writes every provider of `updates`, account by account, at most [`ACCOUNTS_AT_ONCE`] at a
/// time; returns every provider's outcome, in the order given.
pub async fn write_providers(
    writer: &ProviderWriter<'_>,
    updates: Vec<PlannedProvider>,
    new: &NewMetadata,
    rotation: &Rotation<'_>,
) -> Vec<ProviderWrite> {
    let mut by_account: BTreeMap<AccountId, Vec<(usize, PlannedProvider)>> = BTreeMap::new();
    for (i, provider) in updates.into_iter().enumerate() {
        by_account
            .entry(provider.account)
            .or_default()
            .push((i, provider));
    }
    let mut done: Vec<(usize, ProviderWrite)> = futures::stream::iter(by_account)
        .map(|(account, providers)| write_account(writer, account, providers, new, rotation))
        .buffer_unordered(ACCOUNTS_AT_ONCE)
        .flat_map(futures::stream::iter)
        .collect()
        .await;
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, write)| write).collect()
}

async fn write_account(
    writer: &ProviderWriter<'_>,
    account: AccountId,
    providers: Vec<(usize, PlannedProvider)>,
    new: &NewMetadata,
    rotation: &Rotation<'_>,
) -> Vec<(usize, ProviderWrite)> {
    let credentials = match assume(writer, &account).await {
        Ok(credentials) => credentials,
        Err(reason) => {
            warn!(%account, %reason, "cannot assume the writer role: nothing written there");
            return providers
                .into_iter()
                .map(|(i, provider)| {
                    let written = Written::NotWritten(reason.clone());
                    (i, ProviderWrite { provider, written })
                })
                .collect();
        }
    };
    let mut done = Vec::new();
    for (i, provider) in providers {
        let written =
            write_provider(writer, credentials.as_ref(), &provider.arn, new, rotation).await;
        match &written {
            Written::Updated => info!(provider = %provider.arn, "provider updated and read back"),
            Written::AlreadyDone => info!(provider = %provider.arn, "provider already up to date"),
            Written::NotWritten(reason) => {
                warn!(provider = %provider.arn, %reason, "provider not written")
            }
            Written::Unsure(reason) => {
                warn!(provider = %provider.arn, %reason, "provider written, but not as planned")
            }
        }
        done.push((i, ProviderWrite { provider, written }));
    }
    done
}

/// The writer role's credentials in `account`; none at home.
async fn assume(
    writer: &ProviderWriter<'_>,
    account: &AccountId,
) -> Result<Option<aws_sdk_iam::config::Credentials>, String> {
    if *account == writer.home_account {
        return Ok(None);
    }
    let role = writer.role.arn_in(writer.partition, account);
    assumed_credentials(writer.sts, &role, SESSION_NAME, None)
        .await
        .map(Some)
        .map_err(|reason| format!("cannot assume {reason}"))
}

/// Reads, decides again, writes, reads back one provider.
async fn write_provider(
    writer: &ProviderWriter<'_>,
    credentials: Option<&aws_sdk_iam::config::Credentials>,
    arn: &SamlProviderArn,
    new: &NewMetadata,
    rotation: &Rotation<'_>,
) -> Written {
    let config = || {
        let mut config = aws_sdk_iam::config::Builder::default();
        if let Some(credentials) = credentials {
            config = config.credentials_provider(credentials.clone());
        }
        config
    };
    let read = async || -> Result<String, String> {
        let out = writer
            .iam
            .get_saml_provider()
            .saml_provider_arn(arn.to_string())
            .customize()
            .config_override(config())
            .send()
            .await
            .map_err(|e| format!("GetSAMLProvider failed: {}", describe(&e)))?;
        out.saml_metadata_document()
            .map(str::to_owned)
            .ok_or_else(|| "IAM holds no metadata document for it".to_owned())
    };
    let current = match read().await {
        Ok(current) => current,
        Err(reason) => return Written::NotWritten(reason),
    };
    match recheck(&current, new, rotation) {
        Err(reason) => return Written::NotWritten(reason),
        Ok(Change::UpToDate) => return Written::AlreadyDone,
        Ok(Change::Refused { would_lose }) => {
            let lost: Vec<String> = would_lose.iter().map(ToString::to_string).collect();
            return Written::NotWritten(format!(
                "it holds {} now, still valid, which the document lacks (changed since it was read)",
                lost.join(", ")
            ));
        }
        Ok(Change::Update { .. }) => {}
    }
    if let Err(e) = writer
        .iam
        .update_saml_provider()
        .saml_provider_arn(arn.to_string())
        .saml_metadata_document(&new.xml)
        .customize()
        .config_override(config())
        .send()
        .await
    {
        let reason = format!("UpdateSAMLProvider failed: {}", describe(&e));
        // A service's answer means it did not write; a timeout or a lost connection may have.
        return match e {
            aws_sdk_iam::error::SdkError::ServiceError(_) => Written::NotWritten(reason),
            _ => Written::Unsure(format!("{reason}; it may have been written: rerun to see")),
        };
    }
    match read().await {
        Err(reason) => Written::Unsure(format!("written, but cannot be read back: {reason}")),
        Ok(after) => match read_back(&after, new, rotation) {
            Ok(()) => Written::Updated,
            Err(reason) => Written::Unsure(format!("written, but it {reason}")),
        },
    }
}
