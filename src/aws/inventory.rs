//! inventory: read every account of the Organization, `concurrency` at a time, into an
//! [`Inventory`] snapshot.
//!
//! Who we are (`GetCallerIdentity`) and which accounts exist (`ListAccounts`) must succeed, or the
//! run stops: without them nothing can be said. After that, each account ends read or failed on
//! its own; one failing never stops the others.

use aws_config::SdkConfig;
use futures::StreamExt;
use tracing::warn;

use super::account::{AccountContext, read_account};
use super::config::AwsOptions;
use super::error::describe;
use super::organization::{self, ListError, Listing, OrgAccount, SkipReason};
use crate::metadata::Thumbprint;
use crate::model::{AccountId, AccountInventory, Inventory, Partition, RoleName};

/// The settings that decide what an inventory reads and keeps.
#[derive(Clone, Debug)]
pub struct InventorySettings {
    /// `EntityDescriptor@entityID` of our Entra app's metadata.
    pub saml_entity_id: String,
    /// SHA-256 thumbprints of our app's signing certificates (several during a rotation).
    pub saml_certificates: Vec<Thumbprint>,
    /// The reader role fedsync assumes in each account.
    pub cross_account_role: RoleName,
    /// `ExternalId` for `AssumeRole`, when the reader roles require one.
    pub external_id: Option<String>,
    /// Read only these accounts (all when empty).
    pub include_accounts: Vec<AccountId>,
    /// Never read these accounts.
    pub exclude_accounts: Vec<AccountId>,
    /// Accounts read at once (at least 1).
    pub concurrency: usize,
}

/// Told about progress as accounts are read.
pub trait InventoryObserver: Sync {
    /// The accounts were listed and `to_read` of them will be read.
    fn listed(&self, _to_read: usize) {}
    /// One account is done, read or failed.
    fn account_done(&self, _account: &AccountInventory) {}
}

/// Observes nothing.
pub struct Quiet;
impl InventoryObserver for Quiet {}

/// The inventory, and what was left out of it.
#[derive(Debug)]
pub struct InventoryRead {
    pub inventory: Inventory,
    /// False when the account is in no Organization: then only it was read.
    pub in_organization: bool,
    /// Accounts of the Organization that were not read, and why.
    pub skipped: Vec<(OrgAccount, SkipReason)>,
}

/// The run cannot read an inventory at all.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot find out which AWS account fedsync runs in: {reason}")]
    Identity { reason: String },
    #[error(transparent)]
    List(#[from] ListError),
}

/// Reads the inventory of every selected account.
pub async fn read_inventory(
    sdk: &SdkConfig,
    settings: &InventorySettings,
    options: &AwsOptions,
    observer: &dyn InventoryObserver,
) -> Result<InventoryRead, ReadError> {
    let sts = aws_sdk_sts::Client::new(sdk);
    let identity = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| ReadError::Identity {
            reason: describe(&e),
        })?;
    let home: AccountId =
        identity
            .account()
            .unwrap_or_default()
            .parse()
            .map_err(|e: crate::model::ParseError| ReadError::Identity {
                reason: e.to_string(),
            })?;
    let partition = identity
        .arn()
        .and_then(|arn| arn.split(':').nth(1))
        .and_then(|p| p.parse::<Partition>().ok())
        .unwrap_or(Partition::Aws);

    let organizations = aws_sdk_organizations::Client::new(sdk);
    let (accounts, in_organization) = match organization::list_accounts(&organizations).await? {
        Listing::Organization(accounts) => (accounts, true),
        Listing::NotInOrganization => {
            warn!(account = %home, "not in an AWS Organization: reading this account only");
            let this = OrgAccount {
                id: home.clone(),
                name: String::new(),
                state: "ACTIVE".to_owned(),
            };
            (vec![this], false)
        }
    };
    let (to_read, skipped) = organization::select(
        accounts,
        &settings.include_accounts,
        &settings.exclude_accounts,
    );
    observer.listed(to_read.len());

    let ctx = AccountContext {
        sdk,
        sts: &sts,
        partition,
        home_account: &home,
        settings,
        options,
    };
    let ctx = &ctx;
    let mut done: Vec<(usize, AccountInventory)> =
        futures::stream::iter(to_read.iter().enumerate())
            .map(|(index, account)| async move { (index, read_account(ctx, account).await) })
            .buffer_unordered(settings.concurrency.max(1))
            .inspect(|(_, account)| observer.account_done(account))
            .collect()
            .await;
    done.sort_by_key(|(index, _)| *index);
    let inventory = Inventory::new(done.into_iter().map(|(_, account)| account).collect());
    Ok(InventoryRead {
        inventory,
        in_organization,
        skipped,
    })
}
