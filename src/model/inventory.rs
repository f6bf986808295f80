//! inventory: what the AWS side holds — per account, the federated roles or why it could not be read.
//!
//! This is also the inventory snapshot format (`fedsync plan --inventory FILE`), version 1:
//!
//! ```json
//! {
//!   "version": 1,
//!   "accounts": [
//!     { "id": "111111111111", "name": "prod", "outcome": "read",
//!       "providers": ["arn:aws:iam::111111111111:saml-provider/AzureAD"],
//!       "roles": [{ "arn": "arn:aws:iam::111111111111:role/Admin",
//!                   "providers": ["arn:aws:iam::111111111111:saml-provider/AzureAD"] }] },
//!     { "id": "222222222222", "name": "dev", "outcome": "failed",
//!       "stage": "assume-role", "reason": "AccessDenied: not authorized" }
//!   ]
//! }
//! ```
//!
//! `providers` of an account are its SAML providers that match our Entra app; a role lists those of
//! them its trust policy lets call `sts:AssumeRoleWithSAML`. A failed account is never "no roles".
//! Pure: no I/O.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{AccountId, JsonError, RoleArn, SamlProviderArn};

/// The snapshot format version this build reads and writes.
pub const INVENTORY_VERSION: u32 = 1;

/// Every account the sync considered, each with its outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    pub version: u32,
    pub accounts: Vec<AccountInventory>,
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

/// Read in full, or failed at a stage; nothing in between.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum AccountOutcome {
    Read {
        providers: Vec<SamlProviderArn>,
        roles: Vec<FederatedRole>,
    },
    Failed {
        stage: FailureStage,
        reason: String,
    },
}

/// Where reading an account stopped.
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

/// An IAM role whose trust policy lets at least one of our SAML providers in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FederatedRole {
    pub arn: RoleArn,
    pub providers: Vec<SamlProviderArn>,
}

/// Why an inventory snapshot cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error("not an inventory snapshot: {0}")]
    Json(#[source] JsonError),
    #[error("version {found} is not supported; this fedsync reads version {INVENTORY_VERSION}")]
    Version { found: u32 },
    #[error("account {account} appears more than once")]
    DuplicateAccount { account: AccountId },
    #[error("account {account} lists {arn}, which belongs to another account")]
    ForeignArn { account: AccountId, arn: String },
    #[error("role {role} lists provider {provider}, which is not among its account's providers")]
    UnknownProvider { role: String, provider: String },
    #[error("role {role} lists no provider")]
    NoProvider { role: String },
    #[error("account {account} lists role {role} more than once")]
    DuplicateRole { account: AccountId, role: String },
}

impl Inventory {
    pub fn new(accounts: Vec<AccountInventory>) -> Inventory {
        Inventory {
            version: INVENTORY_VERSION,
            accounts,
        }
    }

    /// Parses and checks a snapshot.
    pub fn from_json(text: &str) -> Result<Inventory, InventoryError> {
        let inventory: Inventory = super::from_json(text).map_err(InventoryError::Json)?;
        inventory.check()?;
        Ok(inventory)
    }

    /// The rules a snapshot must keep: one entry per account, every ARN inside its account,
    /// every role's providers among the account's providers.
    pub fn check(&self) -> Result<(), InventoryError> {
        if self.version != INVENTORY_VERSION {
            return Err(InventoryError::Version {
                found: self.version,
            });
        }
        let mut seen = BTreeSet::new();
        for account in &self.accounts {
            if !seen.insert(&account.id) {
                return Err(InventoryError::DuplicateAccount {
                    account: account.id.clone(),
                });
            }
            let AccountOutcome::Read { providers, roles } = &account.outcome else {
                continue;
            };
            let foreign = |arn: String| InventoryError::ForeignArn {
                account: account.id.clone(),
                arn,
            };
            if let Some(p) = providers.iter().find(|p| p.account() != &account.id) {
                return Err(foreign(p.to_string()));
            }
            let mut role_arns = BTreeSet::new();
            for role in roles {
                if role.arn.account() != &account.id {
                    return Err(foreign(role.arn.to_string()));
                }
                if !role_arns.insert(&role.arn) {
                    return Err(InventoryError::DuplicateRole {
                        account: account.id.clone(),
                        role: role.arn.to_string(),
                    });
                }
                if role.providers.is_empty() {
                    return Err(InventoryError::NoProvider {
                        role: role.arn.to_string(),
                    });
                }
                if let Some(p) = role.providers.iter().find(|p| !providers.contains(p)) {
                    return Err(InventoryError::UnknownProvider {
                        role: role.arn.to_string(),
                        provider: p.to_string(),
                    });
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{
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

    #[test]
    fn the_documented_example_parses_and_round_trips() {
        let inv = Inventory::from_json(GOOD).unwrap();
        assert_eq!(inv.accounts.len(), 2);
        assert!(matches!(
            inv.accounts[1].outcome,
            AccountOutcome::Failed {
                stage: FailureStage::AssumeRole,
                ..
            }
        ));
        let again = Inventory::from_json(&serde_json::to_string(&inv).unwrap()).unwrap();
        assert_eq!(again, inv);
    }

    fn err(text: &str) -> String {
        Inventory::from_json(text).unwrap_err().to_string()
    }

    #[test]
    fn each_broken_rule_is_named() {
        assert!(err(&GOOD.replace("\"version\": 1", "\"version\": 2")).contains("version 2"));
        assert!(err(&GOOD.replace("222222222222", "111111111111")).contains("more than once"));
        let e = err(&GOOD.replace("111111111111:role/Admin", "333333333333:role/Admin"));
        assert!(e.contains("belongs to another account"), "{e}");
        let e = err(&GOOD.replace(
            r#""providers": ["arn:aws:iam::111111111111:saml-provider/AzureAD"] }"#,
            r#""providers": ["arn:aws:iam::111111111111:saml-provider/Other"] }"#,
        ));
        assert!(e.contains("not among its account's providers"), "{e}");
        let e = err(&GOOD.replace("\"outcome\": \"failed\"", "\"outcome\": \"maybe\""));
        assert!(e.contains("accounts[1]") && e.contains("maybe"), "{e}");
        let e = err(&GOOD.replace("role/Admin", "role/Ad min"));
        // serde buffers flattened fields, so the path stops at the account; the line does not.
        assert!(
            e.contains("accounts[0]") && e.contains("Ad min") && e.contains("line 7"),
            "{e}"
        );
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_text_is_an_error_or_an_inventory_never_a_panic(text in ".{0,200}") {
            let _ = Inventory::from_json(&text);
        }

        #[test]
        fn mutated_snapshots_are_an_error_or_an_inventory_never_a_panic(
            at in 0..GOOD.len(), len in 0..8usize, with in "[ -~]{0,4}"
        ) {
            let mut text = GOOD.as_bytes().to_vec();
            let end = (at + len).min(text.len());
            text.splice(at..end, with.bytes());
            let _ = Inventory::from_json(&String::from_utf8_lossy(&text));
        }
    }
}
