//! organization: which accounts a run reads — `ListAccounts` to the end, active accounts only,
//! then the include/exclude settings; every other account is kept with why it was not read.
//!
//! Paging follows `NextToken` even past an empty page (Organizations returns those), with a
//! ceiling on the number of pages. Selecting is a pure function, tested below.

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

/// Every account of the Organization, in the order Organizations lists them.
pub async fn list_accounts(client: &aws_sdk_organizations::Client) -> Result<Listing, ListError> {
    let mut accounts = Vec::new();
    let mut next_token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = match client
            .list_accounts()
            .max_results(PAGE_SIZE)
            .set_next_token(next_token.take())
            .send()
            .await
        {
            Ok(page) => page,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_aws_organizations_not_in_use_exception()) =>
            {
                return Ok(Listing::NotInOrganization);
            }
            Err(e) if code(&e) == Some("AccessDeniedException") => {
                return Err(ListError::Denied { source: cause(&e) });
            }
            Err(e) => {
                return Err(ListError::Call { source: cause(&e) });
            }
        };
        for account in page.accounts() {
            let raw_id = account.id().unwrap_or_default();
            let id = raw_id.parse().map_err(|_| ListError::BadAccount {
                id: raw_id.to_owned(),
            })?;
            accounts.push(OrgAccount {
                id,
                name: account.name().unwrap_or_default().to_owned(),
                state: state_of(account),
            });
        }
        match page.next_token() {
            Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
            _ if accounts.is_empty() => return Err(ListError::Empty),
            _ => return Ok(Listing::Organization(accounts)),
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
        if let Some(reason) = SkipReason::for_state(&account.state) {
            skipped.push((account, reason));
        } else if !include.is_empty() && !include.contains(&account.id) {
            skipped.push((account, SkipReason::NotIncluded));
        } else if exclude.contains(&account.id) {
            skipped.push((account, SkipReason::Excluded));
        } else {
            read.push(account);
        }
    }
    (read, skipped)
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
