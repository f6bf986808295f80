//! aws: the AWS side of a sync — thin adapters that turn Organizations, STS and IAM calls into an
//! [`Inventory`](crate::model::Inventory).
//!
//! - [`config`]: one `SdkConfig` from the standard chain, with retries, backoff and timeouts.
//! - [`organization`]: the accounts to read (`ListAccounts`, active only, include/exclude).
//! - [`account`]: one account — assume the reader role, decide each SAML provider and each role.
//! - [`inventory`]: every account, `concurrency` at a time, each ending read or failed.
//! - [`pace`]: how many accounts are read at once, adapted to AWS throttling (AIMD).
//! - [`explain`]: the reads behind `fedsync explain` (one role, or an account's SAML roles).
//! - [`ous`]: the OU tree behind `fedsync shard-plan` (an administrator's read, not the task's).
//! - [`rotate`]: the writes of `fedsync rotate`, through the opt-in writer role (an
//!   administrator's, never the task's).
//! - [`federation`]: the sync app's Entra credential as a JWT from `sts:GetWebIdentityToken`
//!   (outbound identity federation; no secret).
//! - [`error`]: SDK errors as one readable line (`Code: message`), never the SDK's Debug dump.
//!
//! Decisions (which provider is ours, which role trusts it) are made by the pure core
//! ([`crate::metadata`], [`crate::trust`], [`crate::rotate`]); this module only fetches, except
//! [`rotate`], which writes the SAML providers a rotation's plan names and nothing else.

pub mod account;
pub mod config;
pub mod error;
pub mod explain;
pub mod federation;
pub mod inventory;
pub mod organization;
pub mod ous;
pub mod pace;
pub mod rotate;

pub use config::{AwsOptions, load_config};
pub use inventory::{InventoryObserver, read_inventory};

use crate::model::{AccountId, RoleName, Thumbprint};
use crate::trust::Audiences;

/// The settings that decide what an inventory reads and keeps.
#[derive(Clone, Debug)]
pub struct InventorySettings {
    /// `EntityDescriptor@entityID` of our Entra app's metadata.
    pub saml_entity_id: String,
    /// SHA-256 thumbprints of our app's signing certificates (several during a rotation).
    pub saml_certificates: Vec<Thumbprint>,
    /// The `SAML:aud` values our sign-ins carry: the Entra app's reply URLs.
    pub saml_audiences: Audiences,
    /// The reader role fedsync assumes in each account.
    pub cross_account_role: RoleName,
    /// `ExternalId` for `AssumeRole`, when the reader roles require one.
    pub external_id: Option<String>,
    /// Read only these accounts (all when empty).
    pub include_accounts: Vec<AccountId>,
    /// Never read these accounts.
    pub exclude_accounts: Vec<AccountId>,
    /// Most accounts read at once (at least 1): the ceiling of [`pace::Pace`].
    pub concurrency: usize,
}
