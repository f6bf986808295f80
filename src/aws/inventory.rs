//! inventory: read every account of the Organization, `concurrency` at a time, into an
//! [`Inventory`] snapshot.
//!
//! Who we are (`GetCallerIdentity`) and which accounts exist (`ListAccounts`) must succeed, or the
//! run stops: without them nothing can be said. After that, each account ends read or failed on
//! its own; one failing never stops the others. Accounts listed but not read (settings, state)
//! are in the inventory too, with why, so a plan can hold their roles rather than guess.

use aws_config::SdkConfig;
use futures::StreamExt;
use tracing::warn;

use super::InventorySettings;
use super::account::{AccountContext, read_account};
use super::config::AwsOptions;
use super::error::{Cause, cause};
use super::organization::{self, ListError, OrgAccount};
use crate::model::{AccountId, AccountInventory, AccountOutcome, Inventory, Listing, Partition};

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

/// The run cannot read an inventory at all.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot find out which AWS account fedsync runs in")]
    Identity { source: Cause },
    #[error(transparent)]
    List(#[from] ListError),
}

/// The account fedsync runs in, and its partition (`GetCallerIdentity`).
pub async fn identity(sts: &aws_sdk_sts::Client) -> Result<(AccountId, Partition), ReadError> {
    let identity = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| ReadError::Identity { source: cause(&e) })?;
    let home: AccountId =
        identity
            .account()
            .unwrap_or_default()
            .parse()
            .map_err(|e: crate::model::ParseError| ReadError::Identity {
                source: e.to_string().into(),
            })?;
    let partition = identity
        .arn()
        .and_then(|arn| arn.split(':').nth(1))
        .and_then(|p| p.parse::<Partition>().ok())
        .unwrap_or(Partition::Aws);
    Ok((home, partition))
}

/// Reads the inventory of every selected account.
pub async fn read_inventory(
    sdk: &SdkConfig,
    settings: &InventorySettings,
    options: &AwsOptions,
    observer: &dyn InventoryObserver,
) -> Result<Inventory, ReadError> {
    let sts = aws_sdk_sts::Client::new(sdk);
    let (home, partition) = identity(&sts).await?;

    let organizations = aws_sdk_organizations::Client::new(sdk);
    let (accounts, listing) = match organization::list_accounts(&organizations).await? {
        organization::Listing::Organization(accounts) => (accounts, Listing::Organization),
        organization::Listing::NotInOrganization => {
            warn!(account = %home, "not in an AWS Organization: reading this account only");
            let this = OrgAccount {
                id: home.clone(),
                name: String::new(),
                state: "ACTIVE".to_owned(),
            };
            (vec![this], Listing::ThisAccountOnly)
        }
    };
    let order: std::collections::HashMap<AccountId, usize> = accounts
        .iter()
        .enumerate()
        .map(|(i, a)| (a.id.clone(), i))
        .collect();
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
            .map(|(index, account)| async move {
                (index, read_account(ctx, &account.id, &account.name).await)
            })
            .buffer_unordered(settings.concurrency.max(1))
            .inspect(|(_, account)| observer.account_done(account))
            .collect()
            .await;
    done.sort_by_key(|(index, _)| *index);
    let mut all: Vec<AccountInventory> = done.into_iter().map(|(_, account)| account).collect();
    all.extend(
        skipped
            .into_iter()
            .map(|(account, reason)| AccountInventory {
                id: account.id,
                name: account.name,
                outcome: AccountOutcome::Skipped {
                    reason,
                    state: account.state,
                },
            }),
    );
    // In the order Organizations listed them.
    all.sort_by_key(|a| order.get(&a.id).copied());
    Ok(Inventory::new(listing, all))
}
