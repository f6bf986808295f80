//! aws: the AWS side of a sync — thin adapters that turn Organizations, STS and IAM calls into an
//! [`Inventory`](crate::model::Inventory).
//!
//! - [`config`]: one `SdkConfig` from the standard chain, with retries, backoff and timeouts.
//! - [`organization`]: the accounts to read (`ListAccounts`, active only, include/exclude).
//! - [`account`]: one account — assume the reader role, decide each SAML provider and each role.
//! - [`inventory`]: every account, `concurrency` at a time, each ending read or failed.
//! - [`explain`]: the reads behind `fedsync explain` (one role, or an account's SAML roles).
//! - [`error`]: SDK errors as one readable line (`Code: message`), never the SDK's Debug dump.
//!
//! Decisions (which provider is ours, which role trusts it) are made by the pure core
//! ([`crate::metadata`], [`crate::trust`]); this module only fetches. It never writes to AWS.

pub mod account;
pub mod config;
pub mod error;
pub mod explain;
pub mod inventory;
pub mod organization;

pub use config::{AwsOptions, load_config};
pub use inventory::{InventoryObserver, InventorySettings, read_inventory};
