//! ous: the Organization's OU tree for `fedsync shard-plan` — `ListRoots`, then
//! `ListOrganizationalUnitsForParent` and `ListAccountsForParent` for every OU, each followed to
//! its last page.
//!
//! Run by an administrator in the management account (or a delegated administrator), never by
//! the sync task, whose role does not grant these reads. Reads only; the split is decided by the
//! pure [`crate::shard`].

use super::error::{Cause, cause};
use crate::model::AccountId;
use crate::shard::{Ou, OuId};

/// Pages fedsync follows at most for one parent: far above Organizations' quotas.
const MAX_PAGES: usize = 10_000;

/// The OU tree: every OU (the root first, its `parent` none) and each account with the OU that
/// holds it directly.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OuTree {
    pub ous: Vec<Ou>,
    pub accounts: Vec<(AccountId, OuId)>,
}

/// Reading the tree stopped.
#[derive(Debug, thiserror::Error)]
pub enum OuError {
    #[error(
        "cannot {call} the Organization's OU tree; shard-plan runs in the management account or a delegated administrator account"
    )]
    Call {
        call: &'static str,
        #[source]
        source: Cause,
    },
    #[error("Organizations returned an id fedsync cannot read: {id:?}")]
    BadId { id: String },
    #[error("{call} for {parent} still had more pages after {MAX_PAGES}; stopping")]
    TooManyPages { call: &'static str, parent: String },
}

/// The whole tree, breadth first from the root.
pub async fn read_tree(client: &aws_sdk_organizations::Client) -> Result<OuTree, OuError> {
    let mut tree = OuTree::default();
    let mut roots = client.list_roots().into_paginator().send();
    let mut pending = Vec::new();
    while let Some(page) = roots.next().await {
        let page = page.map_err(|e| OuError::Call {
            call: "ListRoots",
            source: cause(&e),
        })?;
        for root in page.roots() {
            let id = ou_id(root.id())?;
            tree.ous.push(Ou {
                id: id.clone(),
                name: root.name().unwrap_or("Root").to_owned(),
                parent: None,
            });
            pending.push(id);
        }
    }
    while let Some(parent) = pending.pop() {
        for (id, name) in children(client, &parent).await? {
            tree.ous.push(Ou {
                id: id.clone(),
                name,
                parent: Some(parent.clone()),
            });
            pending.push(id);
        }
        for account in accounts(client, &parent).await? {
            tree.accounts.push((account, parent.clone()));
        }
    }
    Ok(tree)
}

fn ou_id(raw: Option<&str>) -> Result<OuId, OuError> {
    let raw = raw.unwrap_or_default();
    raw.parse()
        .map_err(|_| OuError::BadId { id: raw.to_owned() })
}

/// The OUs directly under `parent`, with their names.
async fn children(
    client: &aws_sdk_organizations::Client,
    parent: &OuId,
) -> Result<Vec<(OuId, String)>, OuError> {
    const CALL: &str = "ListOrganizationalUnitsForParent";
    let mut out = Vec::new();
    let mut pages = client
        .list_organizational_units_for_parent()
        .parent_id(parent.as_str())
        .into_paginator()
        .send();
    let mut read = 0;
    while let Some(page) = pages.next().await {
        read += 1;
        if read > MAX_PAGES {
            return Err(OuError::TooManyPages {
                call: CALL,
                parent: parent.to_string(),
            });
        }
        let page = page.map_err(|e| OuError::Call {
            call: CALL,
            source: cause(&e),
        })?;
        for ou in page.organizational_units() {
            out.push((ou_id(ou.id())?, ou.name().unwrap_or_default().to_owned()));
        }
    }
    Ok(out)
}

/// The accounts directly in `parent`.
async fn accounts(
    client: &aws_sdk_organizations::Client,
    parent: &OuId,
) -> Result<Vec<AccountId>, OuError> {
    const CALL: &str = "ListAccountsForParent";
    let mut out = Vec::new();
    let mut pages = client
        .list_accounts_for_parent()
        .parent_id(parent.as_str())
        .into_paginator()
        .send();
    let mut read = 0;
    while let Some(page) = pages.next().await {
        read += 1;
        if read > MAX_PAGES {
            return Err(OuError::TooManyPages {
                call: CALL,
                parent: parent.to_string(),
            });
        }
        let page = page.map_err(|e| OuError::Call {
            call: CALL,
            source: cause(&e),
        })?;
        for account in page.accounts() {
            let raw = account.id().unwrap_or_default();
            out.push(
                raw.parse()
                    .map_err(|_| OuError::BadId { id: raw.to_owned() })?,
            );
        }
    }
    Ok(out)
}
