//! inventory: read every account of the Organization, `concurrency` at a time, into an
//! [`Inventory`] snapshot; accounts are read while later `ListAccounts` pages are still listed.
//!
//! Who we are (`GetCallerIdentity`) and which accounts exist (`ListAccounts`) must succeed, or the
//! run stops: without them nothing can be said. After that, each account ends read or failed on
//! its own; one failing never stops the others. Accounts listed but not read (settings, state)
//! are in the inventory too, with why, so a plan can hold their roles rather than guess.

use aws_config::SdkConfig;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::StreamExt;
use futures::future::Either;
use tracing::{info, warn};

use super::InventorySettings;
use super::account::{AccountContext, iam_client, read_account};
use super::config::AwsOptions;
use super::error::{Cause, cause};
use super::organization::{self, ListError, OrgAccount};
use super::pace::{Pace, ThrottleCounter};
use crate::model::{
    AccountId, AccountInventory, AccountOutcome, Inventory, Listing, Partition, SkipReason,
};

/// Told about progress as accounts are read.
pub trait InventoryObserver: Sync {
    /// Another page of accounts was listed: `to_read` of the accounts listed so far will be
    /// read (the listing may go on while they are).
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

/// Reads the inventory of every selected account: each account is read as soon as its
/// `ListAccounts` page arrives, while later pages are still listed, at most `concurrency` at a
/// time and fewer while AWS throttles ([`Pace`]). A listing that fails part-way fails the run
/// (reads already started only read; no further one starts).
pub async fn read_inventory(
    sdk: &SdkConfig,
    settings: &InventorySettings,
    options: &AwsOptions,
    observer: &dyn InventoryObserver,
) -> Result<Inventory, ReadError> {
    read_inventory_paced(sdk, settings, options, observer)
        .await
        .map(|(inventory, _)| inventory)
}

/// How the reads were paced.
#[derive(Clone, Copy, Debug)]
pub struct Paced {
    /// The limit when the last account finished.
    pub settled: usize,
    /// The highest limit reached.
    pub peak: usize,
    /// Times throttling halved it.
    pub decreases: usize,
    /// Throttling answers AWS gave (retried by the SDK), over the whole read.
    pub throttled_calls: usize,
}

/// [`read_inventory`], and how its reads were paced.
pub async fn read_inventory_paced(
    sdk: &SdkConfig,
    settings: &InventorySettings,
    options: &AwsOptions,
    observer: &dyn InventoryObserver,
) -> Result<(Inventory, Paced), ReadError> {
    let throttles = ThrottleCounter::default();
    let retries = retry_partition();
    let sts = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::config::Builder::from(sdk)
            .interceptor(throttles.clone())
            .retry_partition(retries.clone())
            .build(),
    );
    let (home, partition) = identity(&sts).await?;
    let organizations = aws_sdk_organizations::Client::new(sdk);

    // The listing sends each account to read, numbered in listing order, down `to_read`.
    let (to_read, reads) = futures::channel::mpsc::unbounded::<(usize, OrgAccount)>();
    // Set when the listing fails: the run stops, so accounts not yet started are not read.
    let listing_failed = AtomicBool::new(false);
    let listing = async {
        let listed = list_into(&organizations, &home, settings, observer, &to_read).await;
        if listed.is_err() {
            listing_failed.store(true, Ordering::Relaxed);
        }
        // The reads end once the last account sent is read, whether or not the listing ended
        // well.
        to_read.close_channel();
        listed
    };

    let iam = iam_client(sdk, &throttles, &retries);
    let ctx = AccountContext {
        sts: &sts,
        iam: &iam,
        partition,
        home_account: &home,
        settings,
        options,
    };
    let ctx = &ctx;
    let listing_failed = &listing_failed;
    let reads = reads.filter(|_| std::future::ready(!listing_failed.load(Ordering::Relaxed)));
    let mut pace = Pace::new(settings.concurrency);
    let reading = read_paced(
        reads,
        &mut pace,
        &throttles,
        observer,
        |(index, account)| async move { (index, read_account(ctx, &account.id, &account.name).await) },
    );
    let (listed, (mut done, throttled_calls)) = futures::join!(listing, reading);
    let (listing, skipped) = listed?;
    let paced = Paced {
        settled: pace.limit(),
        peak: pace.peak(),
        decreases: pace.decreases(),
        throttled_calls,
    };
    if paced.decreases > 0 {
        info!(
            settled = paced.settled,
            peak = paced.peak,
            throttled_calls = paced.throttled_calls,
            "AWS throttled the inventory: accounts read at once adapted"
        );
    }
    done.extend(
        skipped
            .into_iter()
            .map(|(index, account, reason)| (index, skipped_account(account, reason))),
    );
    // In the order Organizations listed them.
    done.sort_by_key(|(index, _)| *index);
    let inventory = Inventory::new(
        listing,
        done.into_iter().map(|(_, account)| account).collect(),
    );
    Ok((inventory, paced))
}

/// The retry quota of one inventory's STS and IAM clients, their own rather than the one every
/// client of a service shares by default. A retry after throttling costs nothing from it: the
/// pace answers throttling by reading fewer accounts at once, and each call still stops after
/// `max_attempts`. Otherwise a burst of throttling at a high ceiling would empty the quota (500
/// tokens, 5 a retry) and accounts would fail instead of waiting their turn. Retries after
/// timeouts and transient errors still draw on it.
fn retry_partition() -> aws_sdk_iam::config::retry::RetryPartition {
    use aws_sdk_iam::config::retry::{RetryPartition, TokenBucket};
    RetryPartition::custom("fedsync-inventory")
        .token_bucket(TokenBucket::builder().throttling_retry_cost(0).build())
        .build()
}

/// Reads the accounts `source` sends, `pace.limit()` at a time: each finished read tells `pace`
/// whether AWS throttled since the last one, and the limit moves before the next read starts.
/// Returns the reads (in the order they finished) and the throttling answers counted.
async fn read_paced<S, F, Fut>(
    source: S,
    pace: &mut Pace,
    throttles: &ThrottleCounter,
    observer: &dyn InventoryObserver,
    read: F,
) -> (Vec<(usize, AccountInventory)>, usize)
where
    S: futures::Stream<Item = (usize, OrgAccount)>,
    F: Fn((usize, OrgAccount)) -> Fut,
    Fut: std::future::Future<Output = (usize, AccountInventory)>,
{
    enum Next {
        Account(Option<(usize, OrgAccount)>),
        Finished(Option<(usize, AccountInventory)>),
    }
    let mut source = std::pin::pin!(source);
    let mut in_flight = futures::stream::FuturesUnordered::new();
    let mut open = true;
    let mut done = Vec::new();
    let mut throttled_calls = 0;
    loop {
        let room = in_flight.len() < pace.limit();
        let next = if open && room && in_flight.is_empty() {
            Next::Account(source.next().await)
        } else if open && room {
            // Whichever comes first: another account to read, or a read finished.
            match futures::future::select(source.next(), in_flight.next()).await {
                Either::Left((account, _)) => Next::Account(account),
                Either::Right((finished, _)) => Next::Finished(finished),
            }
        } else {
            Next::Finished(in_flight.next().await)
        };
        match next {
            Next::Account(Some(account)) => in_flight.push(read(account)),
            Next::Account(None) => open = false,
            Next::Finished(Some(finished)) => {
                let throttled = throttles.take();
                throttled_calls += throttled;
                pace.finished(throttled > 0);
                observer.account_done(&finished.1);
                done.push(finished);
            }
            Next::Finished(None) => break,
        }
    }
    (done, throttled_calls)
}

/// Lists the accounts, sending each one to read down `to_read` as its page arrives; returns
/// what kind of listing it was and the accounts not to read, with their places and why.
async fn list_into(
    organizations: &aws_sdk_organizations::Client,
    home: &AccountId,
    settings: &InventorySettings,
    observer: &dyn InventoryObserver,
    to_read: &futures::channel::mpsc::UnboundedSender<(usize, OrgAccount)>,
) -> Result<(Listing, Vec<(usize, OrgAccount, SkipReason)>), ReadError> {
    let mut listed = Listed::default();
    let membership = organization::list_pages(organizations, |page| {
        for account in page {
            listed.take(account, settings, to_read);
        }
        observer.listed(listed.to_read);
    })
    .await?;
    let listing = match membership {
        organization::Membership::Organization => Listing::Organization,
        organization::Membership::NotInOrganization => {
            warn!(account = %home, "not in an AWS Organization: reading this account only");
            let this = OrgAccount {
                id: *home,
                name: String::new(),
                state: "ACTIVE".to_owned(),
            };
            listed.take(this, settings, to_read);
            observer.listed(listed.to_read);
            Listing::ThisAccountOnly
        }
    };
    Ok((listing, listed.skipped))
}

/// What the listing has seen so far.
#[derive(Default)]
struct Listed {
    /// Accounts listed.
    count: usize,
    /// Of them, to read.
    to_read: usize,
    /// The others, with their place in the listing and why.
    skipped: Vec<(usize, OrgAccount, SkipReason)>,
}

impl Listed {
    /// Numbers the next listed account, and sends it to be read or keeps it with why not.
    fn take(
        &mut self,
        account: OrgAccount,
        settings: &InventorySettings,
        to_read: &futures::channel::mpsc::UnboundedSender<(usize, OrgAccount)>,
    ) {
        let index = self.count;
        self.count += 1;
        match organization::skip_reason(
            &account,
            &settings.include_accounts,
            &settings.exclude_accounts,
        ) {
            Some(reason) => self.skipped.push((index, account, reason)),
            None => {
                self.to_read += 1;
                // The receiver is the reads' stream, alive until the listing closes the channel:
                // this send cannot fail.
                let _ = to_read.unbounded_send((index, account));
            }
        }
    }
}

fn skipped_account(account: OrgAccount, reason: SkipReason) -> AccountInventory {
    AccountInventory {
        id: account.id,
        name: account.name,
        outcome: AccountOutcome::Skipped {
            reason,
            state: account.state,
        },
    }
}
