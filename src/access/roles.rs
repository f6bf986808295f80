//! roles: the synced roles of the AWS app (app roles whose `value` is an AWS role and provider
//! pair), the name of the group sync gives each, and resolving a role the user named.
//!
//! A role may be named by its display name, its role ARN, or `account:role` (account id and role
//! name); matching ignores case, as IAM and Entra do. A name that matches nothing comes back with
//! the closest names of the same form. Pure: no I/O.

use crate::model::{AccountId, AppRole, AppRoleId, AwsRoleValue};
use crate::naming::NamingConvention;
pub use crate::plan::groups::GroupName;

/// An app role sync made for an IAM role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncedRole {
    pub id: AppRoleId,
    pub display_name: String,
    pub value: AwsRoleValue,
    /// Sync disables a role whose IAM role is gone or no longer trusts our provider.
    pub enabled: bool,
}

impl SyncedRole {
    pub fn account(&self) -> &AccountId {
        self.value.role().account()
    }

    pub fn role_name(&self) -> &str {
        self.value.role().name()
    }

    /// `account:role`, the short form users may type.
    pub fn short_name(&self) -> String {
        format!("{}:{}", self.account(), self.role_name())
    }

    pub fn arn(&self) -> String {
        self.value.role().to_string()
    }
}

/// The synced roles among the service principal's app roles, ordered by account, role name.
pub fn synced_roles(app_roles: &[AppRole]) -> Vec<SyncedRole> {
    let mut roles: Vec<SyncedRole> = app_roles
        .iter()
        .filter_map(|r| {
            let value = r.aws_value()?;
            Some(SyncedRole {
                id: r.id,
                display_name: r.display_name().unwrap_or_default().to_owned(),
                value,
                enabled: r.is_enabled,
            })
        })
        .collect();
    roles.sort_by(|a, b| {
        (
            a.account(),
            a.role_name().to_lowercase(),
            a.value.to_string(),
        )
            .cmp(&(
                b.account(),
                b.role_name().to_lowercase(),
                b.value.to_string(),
            ))
    });
    roles
}

/// The name of the group sync makes for a role, as [`crate::plan::groups`] decides it; with
/// `{account_name}` in the group naming convention (which only the AWS inventory knows), any
/// account name matches.
pub fn group_name(role: &SyncedRole, convention: Option<&NamingConvention>) -> GroupName {
    GroupName::pattern(
        convention,
        &role.display_name,
        role.account(),
        role.value.role(),
    )
}

/// Why a role name does not name exactly one synced role.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RoleLookupError {
    #[error("no synced role is named {given:?}{}", hint(suggestions))]
    Unknown {
        given: String,
        suggestions: Vec<String>,
    },
    #[error("{given:?} names {} synced roles: {}; name one by its display name", matches.len(), matches.join(", "))]
    Ambiguous { given: String, matches: Vec<String> },
}

/// `; did you mean 'a' or 'b'?`, or nothing.
pub fn hint(suggestions: &[String]) -> String {
    match suggestions {
        [] => String::new(),
        [one] => format!("; did you mean {one:?}?"),
        [init @ .., last] => format!(
            "; did you mean {} or {last:?}?",
            init.iter()
                .map(|s| format!("{s:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The form a user named a role in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RoleForm {
    Arn,
    AccountRole,
    DisplayName,
}

fn form_of(given: &str) -> RoleForm {
    if given.starts_with("arn:") {
        return RoleForm::Arn;
    }
    match given.split_once(':') {
        Some((account, _)) if account.parse::<AccountId>().is_ok() => RoleForm::AccountRole,
        _ => RoleForm::DisplayName,
    }
}

fn name_in(role: &SyncedRole, form: RoleForm) -> String {
    match form {
        RoleForm::Arn => role.arn(),
        RoleForm::AccountRole => role.short_name(),
        RoleForm::DisplayName => role.display_name.clone(),
    }
}

/// The one synced role `given` names, by display name, role ARN or `account:role`.
pub fn resolve_role<'a>(
    roles: &'a [SyncedRole],
    given: &str,
) -> Result<&'a SyncedRole, RoleLookupError> {
    let given = given.trim();
    let form = form_of(given);
    let found: Vec<&SyncedRole> = roles
        .iter()
        .filter(|r| name_in(r, form).eq_ignore_ascii_case(given))
        .collect();
    match found.as_slice() {
        [one] => Ok(one),
        [] => Err(RoleLookupError::Unknown {
            given: given.to_owned(),
            suggestions: closest(given, roles.iter().map(|r| name_in(r, form))),
        }),
        many => Err(RoleLookupError::Ambiguous {
            given: given.to_owned(),
            matches: many.iter().map(|r| r.display_name.clone()).collect(),
        }),
    }
}

/// Up to three candidates close to `given` (ignoring case), closest first: those that contain
/// it or that it contains, then those similar enough to be a likely typo.
pub fn closest(given: &str, candidates: impl IntoIterator<Item = String>) -> Vec<String> {
    let wanted = given.to_lowercase();
    let mut scored: Vec<(f64, String)> = candidates
        .into_iter()
        .filter_map(|candidate| {
            let lower = candidate.to_lowercase();
            let similarity = strsim::normalized_damerau_levenshtein(&wanted, &lower);
            let contains = !wanted.is_empty()
                && (lower.contains(wanted.as_str()) || wanted.contains(lower.as_str()));
            let score = if contains {
                1.0 + similarity
            } else {
                similarity
            };
            (score >= 0.6).then_some((score, candidate))
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(3).map(|(_, c)| c).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(account: &str, name: &str, display: &str, enabled: bool) -> SyncedRole {
        let value: AwsRoleValue = format!(
            "arn:aws:iam::{account}:role/team/{name},arn:aws:iam::{account}:saml-provider/AzureAD"
        )
        .parse()
        .unwrap();
        SyncedRole {
            id: AppRoleId::for_value(&value.to_string()),
            display_name: display.to_owned(),
            value,
            enabled,
        }
    }

    fn roles() -> Vec<SyncedRole> {
        vec![
            role("111111111111", "Admin", "AWS 111111111111 - Admin", true),
            role(
                "111111111111",
                "ReadOnly",
                "AWS 111111111111 - ReadOnly",
                true,
            ),
            role("222222222222", "Admin", "AWS 222222222222 - Admin", false),
        ]
    }

    #[test]
    fn a_role_is_named_by_display_name_arn_or_account_and_role() {
        let roles = roles();
        for given in [
            "AWS 111111111111 - Admin",
            "aws 111111111111 - admin",
            "arn:aws:iam::111111111111:role/team/Admin",
            "111111111111:Admin",
            " 111111111111:admin ",
        ] {
            assert_eq!(resolve_role(&roles, given).unwrap(), &roles[0], "{given}");
        }
    }

    #[test]
    fn unknown_roles_come_with_the_closest_names_of_the_same_form() {
        let roles = roles();
        let err = resolve_role(&roles, "AWS 111111111111 - Admn").unwrap_err();
        assert_eq!(
            err.to_string(),
            "no synced role is named \"AWS 111111111111 - Admn\"; did you mean \"AWS 111111111111 - Admin\" or \"AWS 111111111111 - ReadOnly\"?"
        );
        let RoleLookupError::Unknown { suggestions, .. } =
            resolve_role(&roles, "111111111111:Admn").unwrap_err()
        else {
            panic!("not unknown")
        };
        assert_eq!(suggestions[0], "111111111111:Admin");
        let RoleLookupError::Unknown { suggestions, .. } =
            resolve_role(&roles, "nothing like it").unwrap_err()
        else {
            panic!("not unknown")
        };
        assert!(suggestions.is_empty(), "{suggestions:?}");
    }

    #[test]
    fn two_roles_of_one_name_are_ambiguous() {
        let mut roles = roles();
        roles.push(role(
            "333333333333",
            "Dev",
            "AWS 111111111111 - Admin",
            true,
        ));
        let err = resolve_role(&roles, "AWS 111111111111 - Admin").unwrap_err();
        assert!(
            matches!(err, RoleLookupError::Ambiguous { ref matches, .. } if matches.len() == 2)
        );
    }

    #[test]
    fn a_roles_group_name_is_the_plans() {
        let r = &roles()[0];
        assert!(group_name(r, None).matches("AWS 111111111111 - ADMIN"));
        let convention: NamingConvention = "grp-{0}-{role_name}".parse().unwrap();
        assert_eq!(
            group_name(r, Some(&convention)).exact(),
            Some("grp-111111111111-admin")
        );
    }

    #[test]
    fn hints_read_as_a_sentence() {
        assert_eq!(hint(&[]), "");
        assert_eq!(hint(&["a".into()]), "; did you mean \"a\"?");
        assert_eq!(
            hint(&["a".into(), "b".into(), "c".into()]),
            "; did you mean \"a\", \"b\" or \"c\"?"
        );
    }
}
