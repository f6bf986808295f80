//! inventory: what the AWS side holds — every account of the Organization, and for each one
//! what reading it gave: its SAML providers and the roles that concern them, each with its own
//! verdict; why it could not be read; or why it was not read.
//!
//! This is also the inventory snapshot format (`fedsync plan --inventory FILE`), version 2:
//!
//! ```json
//! {
//!   "version": 2,
//!   "listing": "organization",
//!   "accounts": [
//!     { "id": "111111111111", "name": "prod", "outcome": "read",
//!       "providers": [{ "arn": "arn:aws:iam::111111111111:saml-provider/AzureAD",
//!                       "verdict": "ours", "reason": "entity id … and signing certificate … are ours",
//!                       "certificates": [{ "sha256": "9cf7…", "not_after": "2036-11-25T09:39:26Z" }] }],
//!       "roles": [{ "arn": "arn:aws:iam::111111111111:role/Admin",
//!                   "trust": [{ "provider": "arn:aws:iam::111111111111:saml-provider/AzureAD",
//!                               "verdict": "yes", "reason": "statement 0 allows …" }],
//!                   "notes": [] }] },
//!     { "id": "222222222222", "name": "dev", "outcome": "failed",
//!       "stage": "assume-role", "reason": "AccessDenied: not authorized" },
//!     { "id": "333333333333", "name": "old", "outcome": "skipped",
//!       "reason": "suspended", "state": "SUSPENDED" }
//!   ]
//! }
//! ```
//!
//! `listing` says what an account absent from the snapshot means: `organization` (every account
//! of the Organization was listed, so it left), `this-account-only` (fedsync ran outside an
//! Organization) or `unknown` (a version 1 snapshot). A provider's `verdict` is `ours`,
//! `unknown-certificate` (our entity id, a certificate not in `saml-certificates`), `not-ours` or
//! `cant-tell`. A role is listed when a provider of ours (or one that is undecided) may let it
//! in, or when its trust policy names one: `trust` holds one verdict per such provider — `yes`,
//! `no`, `cant-tell` or `unknown-certificate` — and `notes` the conditions that narrow who gets
//! in. A failed account is never "no roles".
//!
//! Version 1 (`providers` a list of ARNs, `roles[].providers` the trusted ones, no skipped
//! accounts) is still read: its providers are ours, its roles trusted, its listing unknown.
//! Pure: no I/O.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::routing::Elsewhere;
use super::{AccountId, JsonError, RoleArn, SamlProviderArn, Thumbprint};

/// The snapshot format version this build writes.
pub const INVENTORY_VERSION: u32 = 2;

/// Every account the sync considered, each with its outcome; or one app's share of them
/// ([`Routing::share`](super::Routing::share)).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Inventory {
    pub version: u32,
    pub listing: Listing,
    pub accounts: Vec<AccountInventory>,
    /// In an app's share: the accounts read that hold nothing of the app's, routed on demand.
    #[serde(skip)]
    pub(super) elsewhere: Option<Elsewhere>,
}

/// The snapshot format. A share is not a snapshot (the accounts it leaves out would read as
/// gone from the Organization), so it refuses to be written as one.
impl Serialize for Inventory {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Snapshot<'a> {
            version: u32,
            listing: Listing,
            accounts: &'a [AccountInventory],
        }
        if self.elsewhere.is_some() {
            return Err(serde::ser::Error::custom(
                "an app's share of an inventory is not a snapshot: it leaves accounts out",
            ));
        }
        Snapshot {
            version: self.version,
            listing: self.listing,
            accounts: &self.accounts,
        }
        .serialize(serializer)
    }
}

/// How far the account list of a snapshot reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Listing {
    /// Every account of the Organization, from a `ListAccounts` read to the end.
    Organization,
    /// Outside an Organization: the account fedsync runs in, only.
    ThisAccountOnly,
    /// A version 1 snapshot, which does not say.
    Unknown,
}

/// One account and what reading it gave.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountInventory {
    pub id: AccountId,
    #[serde(default)]
    pub name: String,
    #[serde(flatten)]
    pub outcome: AccountOutcome,
}

/// Read, failed at a stage, or left out on purpose; nothing in between.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum AccountOutcome {
    Read {
        providers: Vec<SamlProvider>,
        roles: Vec<IamRole>,
    },
    Failed {
        stage: FailureStage,
        reason: String,
    },
    /// Listed by Organizations but not read.
    Skipped {
        reason: SkipReason,
        /// `State` (or `Status`) as Organizations gave it.
        state: String,
    },
}

/// Where reading an account stopped. `read-saml-provider` comes only from version 1
/// snapshots: a provider that cannot be read is now undecided on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureStage {
    AssumeRole,
    ListSamlProviders,
    ReadSamlProvider,
    ListRoles,
}

impl std::fmt::Display for FailureStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FailureStage::AssumeRole => "assume-role",
            FailureStage::ListSamlProviders => "list-saml-providers",
            FailureStage::ReadSamlProvider => "read-saml-provider",
            FailureStage::ListRoles => "list-roles",
        })
    }
}

/// Why an account of the Organization was not read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SkipReason {
    /// In `exclude-accounts`.
    Excluded,
    /// Not in a non-empty `include-accounts`.
    NotIncluded,
    Suspended,
    PendingClosure,
    Closed,
    /// A state fedsync does not know.
    UnknownState,
}

impl SkipReason {
    /// The reason an account in `state` is not read, when it is not `ACTIVE`.
    pub fn for_state(state: &str) -> Option<SkipReason> {
        match state {
            "ACTIVE" => None,
            "SUSPENDED" => Some(SkipReason::Suspended),
            "PENDING_CLOSURE" => Some(SkipReason::PendingClosure),
            "CLOSED" => Some(SkipReason::Closed),
            _ => Some(SkipReason::UnknownState),
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            SkipReason::Excluded => "in exclude-accounts",
            SkipReason::NotIncluded => "not in include-accounts",
            SkipReason::Suspended => "suspended",
            SkipReason::PendingClosure => "pending closure",
            SkipReason::Closed => "closed",
            SkipReason::UnknownState => "in a state fedsync does not know",
        }
    }
}

/// One SAML provider of an account, and whether it is our Entra app's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SamlProvider {
    pub arn: SamlProviderArn,
    pub verdict: ProviderVerdict,
    #[serde(default)]
    pub reason: String,
    /// The signing certificates of a provider with our entity id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<Certificate>,
}

/// Whether a provider is our Entra app's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProviderVerdict {
    /// Our entity id and one of our signing certificates.
    Ours,
    /// Our entity id, only certificates not in `saml-certificates`: another app of the tenant,
    /// or a rotation half done.
    UnknownCertificate,
    NotOurs,
    /// Our entity id and no certificate that parses, or metadata that cannot be read.
    CantTell,
}

impl ProviderVerdict {
    pub fn describe(self) -> &'static str {
        match self {
            ProviderVerdict::Ours => "ours",
            ProviderVerdict::UnknownCertificate => "ours by entity id, unknown certificate",
            ProviderVerdict::NotOurs => "not ours",
            ProviderVerdict::CantTell => "can't tell",
        }
    }
}

/// A signing certificate a provider holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    pub sha256: Thumbprint,
    /// `notAfter`; none when the bytes are not an X.509 certificate.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub not_after: Option<OffsetDateTime>,
}

/// An IAM role that concerns one of the account's providers of ours (or undecided ones).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IamRole {
    pub arn: RoleArn,
    /// One verdict per provider asked about.
    pub trust: Vec<Trust>,
    /// Conditions that narrow which sessions get in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl IamRole {
    /// The providers this role's trust policy lets in (verdict yes).
    pub fn trusted(&self) -> impl Iterator<Item = &SamlProviderArn> {
        self.trust
            .iter()
            .filter(|t| t.verdict == TrustVerdict::Yes)
            .map(|t| &t.provider)
    }
}

/// Can a user of our Entra app, signing in through `provider`, assume the role?
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trust {
    pub provider: SamlProviderArn,
    pub verdict: TrustVerdict,
    #[serde(default)]
    pub reason: String,
}

/// The answer for one role and one provider: the trust policy's, joined with the provider's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TrustVerdict {
    Yes,
    No,
    CantTell,
    /// The trust policy lets the provider in, but its certificate is not in `saml-certificates`.
    UnknownCertificate,
}

/// Why an inventory snapshot cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error("not an inventory snapshot")]
    Json(#[source] JsonError),
    #[error(
        "version {found} is not supported; this fedsync reads versions 1 and {INVENTORY_VERSION}"
    )]
    Version { found: u32 },
    #[error("account {account} appears more than once")]
    DuplicateAccount { account: AccountId },
    #[error("account {account} lists {arn}, which belongs to another account")]
    ForeignArn { account: AccountId, arn: String },
    #[error("account {account} lists provider {provider} more than once")]
    DuplicateProvider {
        account: AccountId,
        provider: String,
    },
    #[error("role {role} lists provider {provider}, which is not among its account's providers")]
    UnknownProvider { role: String, provider: String },
    #[error("role {role} lists provider {provider}, which its account's providers say is not ours")]
    NotOurProvider { role: String, provider: String },
    #[error("role {role} lists no provider")]
    NoProvider { role: String },
    #[error("account {account} lists role {role} more than once")]
    DuplicateRole { account: AccountId, role: String },
}

impl Inventory {
    pub fn new(listing: Listing, accounts: Vec<AccountInventory>) -> Inventory {
        Inventory {
            version: INVENTORY_VERSION,
            listing,
            accounts,
            elsewhere: None,
        }
    }

    /// Parses and checks a snapshot, version 1 or 2.
    pub fn from_json(text: &str) -> Result<Inventory, InventoryError> {
        #[derive(Deserialize)]
        struct Version {
            version: u32,
        }
        let Version { version } = super::from_json(text).map_err(InventoryError::Json)?;
        let inventory: Inventory = match version {
            1 => super::from_json::<v1::Inventory>(text)
                .map_err(InventoryError::Json)?
                .into(),
            INVENTORY_VERSION => super::from_json(text).map_err(InventoryError::Json)?,
            found => return Err(InventoryError::Version { found }),
        };
        inventory.check()?;
        Ok(inventory)
    }

    /// The rules a snapshot must keep: one entry per account, every ARN inside its account,
    /// every role's providers among the account's providers, and not foreign.
    pub fn check(&self) -> Result<(), InventoryError> {
        let mut seen = BTreeSet::new();
        for account in &self.accounts {
            if !seen.insert(&account.id) {
                return Err(InventoryError::DuplicateAccount {
                    account: account.id,
                });
            }
            if let AccountOutcome::Read { providers, roles } = &account.outcome {
                check_read(&account.id, providers, roles)?;
            }
        }
        Ok(())
    }

    /// The account `id`, when the snapshot lists it.
    pub fn account(&self, id: &AccountId) -> Option<&AccountInventory> {
        self.accounts.iter().find(|a| &a.id == id)
    }

    /// In an app's share, an account it leaves out (read, holding nothing of the app's), as
    /// the app sees it.
    pub fn routed_elsewhere(&self, id: &AccountId) -> Option<AccountInventory> {
        self.elsewhere.as_ref()?.account(id)
    }

    /// Every role of every account read.
    pub fn read_roles(&self) -> impl Iterator<Item = &IamRole> {
        self.accounts
            .iter()
            .filter_map(|account| match &account.outcome {
                AccountOutcome::Read { roles, .. } => Some(roles),
                _ => None,
            })
            .flatten()
    }

    /// Accounts whose read failed.
    pub fn failed(&self) -> usize {
        self.accounts
            .iter()
            .filter(|a| matches!(a.outcome, AccountOutcome::Failed { .. }))
            .count()
    }

    /// Accounts read (in a share, those it leaves out too).
    pub fn read(&self) -> usize {
        let elsewhere = self.elsewhere.as_ref().map_or(0, |e| e.read);
        elsewhere
            + self
                .accounts
                .iter()
                .filter(|a| matches!(a.outcome, AccountOutcome::Read { .. }))
                .count()
    }
}

fn check_read(
    account: &AccountId,
    providers: &[SamlProvider],
    roles: &[IamRole],
) -> Result<(), InventoryError> {
    let foreign = |arn: String| InventoryError::ForeignArn {
        account: *account,
        arn,
    };
    let mut by_arn = BTreeMap::new();
    for p in providers {
        if p.arn.account() != account {
            return Err(foreign(p.arn.to_string()));
        }
        if by_arn.insert(&p.arn, p.verdict).is_some() {
            return Err(InventoryError::DuplicateProvider {
                account: *account,
                provider: p.arn.to_string(),
            });
        }
    }
    let mut role_arns = BTreeSet::new();
    for role in roles {
        if role.arn.account() != account {
            return Err(foreign(role.arn.to_string()));
        }
        if !role_arns.insert(&role.arn) {
            return Err(InventoryError::DuplicateRole {
                account: *account,
                role: role.arn.to_string(),
            });
        }
        if role.trust.is_empty() {
            return Err(InventoryError::NoProvider {
                role: role.arn.to_string(),
            });
        }
        for trust in &role.trust {
            match by_arn.get(&trust.provider) {
                None => {
                    return Err(InventoryError::UnknownProvider {
                        role: role.arn.to_string(),
                        provider: trust.provider.to_string(),
                    });
                }
                Some(ProviderVerdict::NotOurs) => {
                    return Err(InventoryError::NotOurProvider {
                        role: role.arn.to_string(),
                        provider: trust.provider.to_string(),
                    });
                }
                Some(_) => {}
            }
        }
    }
    Ok(())
}

/// The version 1 snapshot: providers of ours as ARNs, roles with the providers they trust.
mod v1 {
    use serde::Deserialize;

    use super::{AccountId, FailureStage, RoleArn, SamlProviderArn};

    #[derive(Deserialize)]
    pub struct Inventory {
        pub accounts: Vec<Account>,
    }

    #[derive(Deserialize)]
    pub struct Account {
        pub id: AccountId,
        #[serde(default)]
        pub name: String,
        #[serde(flatten)]
        pub outcome: Outcome,
    }

    #[derive(Deserialize)]
    #[serde(tag = "outcome", rename_all = "snake_case")]
    pub enum Outcome {
        Read {
            providers: Vec<SamlProviderArn>,
            roles: Vec<IamRole>,
        },
        Failed {
            stage: FailureStage,
            reason: String,
        },
    }

    #[derive(Deserialize)]
    pub struct IamRole {
        pub arn: RoleArn,
        pub providers: Vec<SamlProviderArn>,
    }
}

impl From<v1::Inventory> for Inventory {
    fn from(old: v1::Inventory) -> Inventory {
        let accounts = old
            .accounts
            .into_iter()
            .map(|account| AccountInventory {
                id: account.id,
                name: account.name,
                outcome: match account.outcome {
                    v1::Outcome::Failed { stage, reason } => {
                        AccountOutcome::Failed { stage, reason }
                    }
                    v1::Outcome::Read { providers, roles } => AccountOutcome::Read {
                        providers: providers
                            .into_iter()
                            .map(|arn| SamlProvider {
                                arn,
                                verdict: ProviderVerdict::Ours,
                                reason: "ours (version 1 snapshot)".to_owned(),
                                certificates: Vec::new(),
                            })
                            .collect(),
                        roles: roles
                            .into_iter()
                            .map(|role| IamRole {
                                arn: role.arn,
                                trust: role
                                    .providers
                                    .into_iter()
                                    .map(|provider| Trust {
                                        provider,
                                        verdict: TrustVerdict::Yes,
                                        reason: "trusted (version 1 snapshot)".to_owned(),
                                    })
                                    .collect(),
                                notes: Vec::new(),
                            })
                            .collect(),
                    },
                },
            })
            .collect();
        Inventory::new(Listing::Unknown, accounts)
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub(in crate::model) const V1: &str = r#"{
      "version": 1,
      "accounts": [
        { "id": "111111111111", "name": "prod", "outcome": "read",
          "providers": ["arn:aws:iam::111111111111:saml-provider/AzureAD"],
          "roles": [{ "arn": "arn:aws:iam::111111111111:role/Admin",
                      "providers": ["arn:aws:iam::111111111111:saml-provider/AzureAD"] }] },
        { "id": "222222222222", "name": "dev", "outcome": "failed",
          "stage": "assume-role", "reason": "AccessDenied: not authorized" }
      ]
    }"#;

    const V2: &str = r#"{
      "version": 2,
      "listing": "organization",
      "accounts": [
        { "id": "111111111111", "name": "prod", "outcome": "read",
          "providers": [
            { "arn": "arn:aws:iam::111111111111:saml-provider/AzureAD", "verdict": "ours",
              "certificates": [{ "sha256": "9cf73901b6ab4710d84486f66a85b0bd3f826326f3684d3d59e0ddb248b68967",
                                 "not_after": "2036-11-25T09:39:26Z" }] },
            { "arn": "arn:aws:iam::111111111111:saml-provider/Okta", "verdict": "not-ours" }],
          "roles": [{ "arn": "arn:aws:iam::111111111111:role/Admin",
                      "trust": [{ "provider": "arn:aws:iam::111111111111:saml-provider/AzureAD",
                                  "verdict": "yes" }],
                      "notes": ["statement 0 (Allow) lets in only sessions …"] }] },
        { "id": "222222222222", "name": "dev", "outcome": "failed",
          "stage": "assume-role", "reason": "AccessDenied: not authorized" },
        { "id": "333333333333", "name": "old", "outcome": "skipped",
          "reason": "suspended", "state": "SUSPENDED" }
      ]
    }"#;

    #[test]
    fn version_2_parses_and_round_trips() {
        let inv = Inventory::from_json(V2).unwrap();
        assert_eq!(inv.listing, Listing::Organization);
        assert_eq!(inv.accounts.len(), 3);
        assert!(matches!(
            inv.accounts[2].outcome,
            AccountOutcome::Skipped {
                reason: SkipReason::Suspended,
                ..
            }
        ));
        let again = Inventory::from_json(&serde_json::to_string(&inv).unwrap()).unwrap();
        assert_eq!(again, inv);
    }

    #[test]
    fn version_1_is_read_as_ours_and_trusted_with_an_unknown_listing() {
        let inv = Inventory::from_json(V1).unwrap();
        assert_eq!(inv.version, INVENTORY_VERSION);
        assert_eq!(inv.listing, Listing::Unknown);
        let AccountOutcome::Read { providers, roles } = &inv.accounts[0].outcome else {
            panic!("read")
        };
        assert_eq!(providers[0].verdict, ProviderVerdict::Ours);
        assert_eq!(roles[0].trusted().count(), 1);
        assert!(matches!(
            inv.accounts[1].outcome,
            AccountOutcome::Failed {
                stage: FailureStage::AssumeRole,
                ..
            }
        ));
    }

    fn err(text: &str) -> String {
        crate::error_text::chain(&Inventory::from_json(text).unwrap_err())
    }

    #[test]
    fn each_broken_rule_is_named() {
        assert!(err(&V1.replace("\"version\": 1", "\"version\": 3")).contains("version 3"));
        assert!(err(&V1.replace("222222222222", "111111111111")).contains("more than once"));
        let e = err(&V1.replace("111111111111:role/Admin", "333333333333:role/Admin"));
        assert!(e.contains("belongs to another account"), "{e}");
        let e = err(&V1.replace(
            r#""providers": ["arn:aws:iam::111111111111:saml-provider/AzureAD"] }"#,
            r#""providers": ["arn:aws:iam::111111111111:saml-provider/Other"] }"#,
        ));
        assert!(e.contains("not among its account's providers"), "{e}");
        let e = err(&V1.replace("\"outcome\": \"failed\"", "\"outcome\": \"maybe\""));
        assert!(e.contains("accounts[1]") && e.contains("maybe"), "{e}");
        let e = err(&V1.replace("role/Admin", "role/Ad min"));
        assert!(e.contains("accounts[0]") && e.contains("Ad min"), "{e}");

        let e = err(&V2.replace(
            r#""trust": [{ "provider": "arn:aws:iam::111111111111:saml-provider/AzureAD""#,
            r#""trust": [{ "provider": "arn:aws:iam::111111111111:saml-provider/Okta""#,
        ));
        assert!(e.contains("say is not ours"), "{e}");
        let e = err(&V2.replace("\"reason\": \"suspended\"", "\"reason\": \"asleep\""));
        assert!(e.contains("asleep"), "{e}");
        let e = err(&V2.replace("\"listing\": \"organization\",", ""));
        assert!(e.contains("listing"), "{e}");
        let e = err(&V2.replace("saml-provider/Okta", "saml-provider/AzureAD"));
        assert!(e.contains("more than once"), "{e}");
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_text_is_an_error_or_an_inventory_never_a_panic(text in ".{0,200}") {
            let _ = Inventory::from_json(&text);
        }

        #[test]
        fn mutated_snapshots_are_an_error_or_an_inventory_never_a_panic(
            at in 0..V2.len(), len in 0..8usize, with in "[ -~]{0,4}", v1 in proptest::bool::ANY
        ) {
            let good = if v1 { V1 } else { V2 };
            let at = at % good.len();
            let mut text = good.as_bytes().to_vec();
            let end = (at + len).min(text.len());
            text.splice(at..end, with.bytes());
            let _ = Inventory::from_json(&String::from_utf8_lossy(&text));
        }
    }
}
