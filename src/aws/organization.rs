//! organization: which accounts a run reads — `ListAccounts` to the end, active accounts only,
//! then the include/exclude settings; every other account is kept with why it was not read.
//!
//! Paging follows `NextToken` even past an empty page (Organizations returns those), with a
//! ceiling on the number of pages; [`list_pages`] hands each page over as it comes, so the
//! inventory reads accounts while later pages are still listed. Selecting is a pure function,
//! tested below.

use aws_sdk_organizations::types::{AccountState, AccountStatus};

use super::error::{Cause, cause, code};
use crate::model::{AccountId, SkipReason};

/// `MaxResults` of a `ListAccounts` page; Organizations allows at most 20.
const PAGE_SIZE: i32 = 20;
/// Pages fedsync follows at most: 200,000 accounts, far above any Organization's quota.
const MAX_PAGES: usize = 10_000;

/// One account as Organizations lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgAccount {
    pub id: AccountId,
    pub name: String,
    /// `ACTIVE`, `SUSPENDED`, `PENDING_CLOSURE`, `CLOSED`…: `State`, or the older `Status`.
    pub state: String,
}

impl OrgAccount {
    pub fn is_active(&self) -> bool {
        self.state == "ACTIVE"
    }
}

/// What `ListAccounts` said.
#[derive(Debug)]
pub enum Listing {
    Organization(Vec<OrgAccount>),
    /// `AWSOrganizationsNotInUseException`: this account belongs to no Organization.
    NotInOrganization,
}

/// Listing the accounts failed; the run cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error(
        "cannot list the Organization's accounts; fedsync must run in the management account or a delegated administrator account"
    )]
    Denied { source: Cause },
    #[error("cannot list the Organization's accounts")]
    Call { source: Cause },
    #[error("Organizations returned an account id fedsync cannot read: {id:?}")]
    BadAccount { id: String },
    #[error(
        "Organizations listed no account, not even the management account; check the AWS endpoint and credentials"
    )]
    Empty,
    #[error("ListAccounts still had more pages after {MAX_PAGES}; stopping")]
    TooManyPages,
}

/// Whether the caller's account belongs to an Organization.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Membership {
    Organization,
    /// `AWSOrganizationsNotInUseException`: this account belongs to no Organization.
    NotInOrganization,
}

/// Every account of the Organization, in the order Organizations lists them.
pub async fn list_accounts(client: &aws_sdk_organizations::Client) -> Result<Listing, ListError> {
    let mut accounts = Vec::new();
    match list_pages(client, |page| accounts.extend(page)).await? {
        Membership::Organization => Ok(Listing::Organization(accounts)),
        Membership::NotInOrganization => Ok(Listing::NotInOrganization),
    }
}

/// Pages `ListAccounts` to the end, handing each page's accounts to `page` as soon as it is
/// read, so a caller can start on them while later pages are still being listed. An error
/// after some pages means the listing is incomplete: the caller must not act on it as a whole.
pub async fn list_pages(
    client: &aws_sdk_organizations::Client,
    mut page: impl FnMut(Vec<OrgAccount>),
) -> Result<Membership, ListError> {
    let mut listed = 0usize;
    let mut next_token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let answer = match client
            .list_accounts()
            .max_results(PAGE_SIZE)
            .set_next_token(next_token.take())
            .send()
            .await
        {
            Ok(answer) => answer,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_aws_organizations_not_in_use_exception()) =>
            {
                return Ok(Membership::NotInOrganization);
            }
            Err(e) if code(&e) == Some("AccessDeniedException") => {
                return Err(ListError::Denied { source: cause(&e) });
            }
            Err(e) => {
                return Err(ListError::Call { source: cause(&e) });
            }
        };
        let accounts = answer
            .accounts()
            .iter()
            .map(|account| {
                let raw_id = account.id().unwrap_or_default();
                let id = raw_id.parse().map_err(|_| ListError::BadAccount {
                    id: raw_id.to_owned(),
                })?;
                Ok(OrgAccount {
                    id,
                    name: account.name().unwrap_or_default().to_owned(),
                    state: state_of(account),
                })
            })
            .collect::<Result<Vec<_>, ListError>>()?;
        listed += accounts.len();
        if !accounts.is_empty() {
            page(accounts);
        }
        match answer.next_token() {
            Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
            _ if listed == 0 => return Err(ListError::Empty),
            _ => return Ok(Membership::Organization),
        }
    }
    Err(ListError::TooManyPages)
}

/// `State` when Organizations sends it, else the deprecated `Status`.
#[allow(deprecated)]
fn state_of(account: &aws_sdk_organizations::types::Account) -> String {
    let state = account
        .state()
        .filter(|s| !matches!(s, AccountState::Unknown(_)));
    let status = account
        .status()
        .filter(|s| !matches!(s, AccountStatus::Unknown(_)));
    match (state, status) {
        (Some(state), _) => state.as_str().to_owned(),
        (None, Some(status)) => status.as_str().to_owned(),
        (None, None) => account
            .state()
            .map_or("UNKNOWN", AccountState::as_str)
            .to_owned(),
    }
}

/// The accounts to read, and those left out with why. Pure.
pub fn select(
    accounts: Vec<OrgAccount>,
    include: &[AccountId],
    exclude: &[AccountId],
) -> (Vec<OrgAccount>, Vec<(OrgAccount, SkipReason)>) {
    let mut read = Vec::new();
    let mut skipped = Vec::new();
    for account in accounts {
        match skip_reason(&account, include, exclude) {
            Some(reason) => skipped.push((account, reason)),
            None => read.push(account),
        }
    }
    (read, skipped)
}

/// Why one account is not read, or `None` when it is. Pure.
pub fn skip_reason(
    account: &OrgAccount,
    include: &[AccountId],
    exclude: &[AccountId],
) -> Option<SkipReason> {
    if let Some(reason) = SkipReason::for_state(&account.state) {
        Some(reason)
    } else if !include.is_empty() && !include.contains(&account.id) {
        Some(SkipReason::NotIncluded)
    } else if exclude.contains(&account.id) {
        Some(SkipReason::Excluded)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(id: &str, state: &str) -> OrgAccount {
        OrgAccount {
            id: id.parse().unwrap(),
            name: format!("n{id}"),
            state: state.to_owned(),
        }
    }

    #[test]
    fn only_active_accounts_are_read() {
        let (read, skipped) = select(
            vec![
                account("111111111111", "ACTIVE"),
                account("222222222222", "SUSPENDED"),
                account("333333333333", "PENDING_CLOSURE"),
                account("444444444444", "CLOSED"),
                account("555555555555", "HIBERNATING"),
            ],
            &[],
            &[],
        );
        assert_eq!(read, [account("111111111111", "ACTIVE")]);
        assert_eq!(skipped[0].1, SkipReason::Suspended);
        assert_eq!(skipped[1].1, SkipReason::PendingClosure);
        assert_eq!(skipped[2].1, SkipReason::Closed);
        assert_eq!(skipped[3].1, SkipReason::UnknownState);
    }

    #[test]
    fn include_narrows_and_exclude_removes() {
        let all = vec![
            account("111111111111", "ACTIVE"),
            account("222222222222", "ACTIVE"),
            account("333333333333", "ACTIVE"),
        ];
        let include: Vec<AccountId> = vec![
            "111111111111".parse().unwrap(),
            "222222222222".parse().unwrap(),
        ];
        let exclude: Vec<AccountId> = vec!["222222222222".parse().unwrap()];
        let (read, skipped) = select(all, &include, &exclude);
        assert_eq!(read, [account("111111111111", "ACTIVE")]);
        assert_eq!(
            skipped,
            [
                (account("222222222222", "ACTIVE"), SkipReason::Excluded),
                (account("333333333333", "ACTIVE"), SkipReason::NotIncluded)
            ]
        );
    }

    #[test]
    fn an_inactive_account_stays_skipped_even_when_included() {
        let include: Vec<AccountId> = vec!["222222222222".parse().unwrap()];
        let (read, skipped) = select(vec![account("222222222222", "SUSPENDED")], &include, &[]);
        assert!(read.is_empty());
        assert_eq!(skipped[0].1, SkipReason::Suspended);
    }
}
