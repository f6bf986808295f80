//! groups: group identity, in one place for `sync` and `access` — the display name of the group a
//! role gets, which existing group is that group, and whether fedsync can stand behind it.
//!
//! A group is a role's group when its display name is the role's group name (Entra compares
//! display names without regard to case). fedsync reuses such a group only when it **stands
//! behind it**: the group is owned by `group-owner-id` (by default the sync app's own service
//! principal, which owns every group fedsync creates), or fedsync recorded creating it. A group
//! of that name owned by anyone else is refused — never assigned, never added to, never
//! duplicated — and reported with its owners: anyone who can create a security group could
//! otherwise decide who gets AWS access. Pure: no I/O.

use serde::Serialize;

use crate::model::{AccountId, AppRoleId, Group, ObjectId, RoleArn, SyncState};
use crate::naming::{NamingConvention, NamingInput};

/// What happens with a role's group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GroupAction {
    /// No group of the name exists: create it.
    Create,
    /// A group of the name exists and fedsync stands behind it.
    Reuse,
    /// Groups of the name exist, none of them fedsync's: leave the role without a group.
    Refused,
}

/// The group planned for a role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlannedGroup {
    pub display_name: String,
    pub mail_nickname: String,
    pub app_role_id: AppRoleId,
    pub value: String,
    pub action: GroupAction,
    /// The group reused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<ObjectId>,
    /// For a refused group: the groups of that name and their owners (empty when none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<ForeignGroup>,
    /// Other groups of the name fedsync stands behind too: reported, never assigned.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub duplicates: Vec<ObjectId>,
}

/// A group of the right name that is not fedsync's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ForeignGroup {
    pub id: ObjectId,
    /// Its owners; empty when it has none (or they could not be read).
    pub owners: Vec<ObjectId>,
}

/// Whether fedsync stands behind `group`: owned by `owner`, or created by fedsync.
pub fn stands_behind(group: &Group, owner: Option<&ObjectId>, state: &SyncState) -> bool {
    let owned = match (owner, &group.owners) {
        (Some(owner), Some(owners)) => owners.contains(owner),
        _ => false,
    };
    owned || state.created_groups.contains(&group.id)
}

/// The group of a role with this display name, among `existing` (found by name): reuse the
/// first fedsync stands behind, refuse when only others' exist, create when none does.
pub fn decide(
    name: &str,
    existing: &[Group],
    owner: Option<&ObjectId>,
    state: &SyncState,
) -> (
    GroupAction,
    Option<ObjectId>,
    Vec<ForeignGroup>,
    Vec<ObjectId>,
) {
    let lower = name.to_lowercase();
    let mut same: Vec<&Group> = existing
        .iter()
        .filter(|g| g.display_name.to_lowercase() == lower)
        .collect();
    same.sort_by(|a, b| a.id.cmp(&b.id));
    let (ours, theirs): (Vec<&Group>, Vec<&Group>) = same
        .into_iter()
        .partition(|g| stands_behind(g, owner, state));
    match ours.split_first() {
        Some((first, rest)) => (
            GroupAction::Reuse,
            Some(first.id.clone()),
            Vec::new(),
            rest.iter().map(|g| g.id.clone()).collect(),
        ),
        None if theirs.is_empty() => (GroupAction::Create, None, Vec::new(), Vec::new()),
        None => (
            GroupAction::Refused,
            None,
            theirs
                .into_iter()
                .map(|g| ForeignGroup {
                    id: g.id.clone(),
                    owners: g.owners.clone().unwrap_or_default(),
                })
                .collect(),
            Vec::new(),
        ),
    }
}

/// The display name of the group a role gets: the group naming convention, or the role's own
/// display name.
pub fn group_name(
    convention: Option<&NamingConvention>,
    role_display_name: &str,
    input: &NamingInput,
) -> String {
    match convention {
        Some(convention) => convention.render(input),
        None => role_display_name.to_owned(),
    }
}

/// A role's group name when the account name is not known (as in `fedsync access`, which reads
/// no AWS inventory): with `{account_name}` in the convention, any account name matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupName {
    /// The name split where the account name goes; one part when it has none. Lowercase.
    parts: Vec<String>,
}

/// Stands in for the account name while rendering; never in a real name.
const ACCOUNT_NAME_MARK: &str = "\u{0}";

impl GroupName {
    /// The group name of a role (`account`, `role`) with this display name under `convention`.
    pub fn pattern(
        convention: Option<&NamingConvention>,
        role_display_name: &str,
        account: &AccountId,
        role: &RoleArn,
    ) -> GroupName {
        let Some(convention) = convention else {
            return GroupName {
                parts: vec![role_display_name.to_lowercase()],
            };
        };
        let rendered = convention.render(&NamingInput {
            account_id: account,
            account_name: ACCOUNT_NAME_MARK,
            role,
        });
        GroupName {
            parts: rendered
                .to_lowercase()
                .split(ACCOUNT_NAME_MARK)
                .map(str::to_owned)
                .collect(),
        }
    }

    /// The exact name, when no account name is in it.
    pub fn exact(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [only] => Some(only),
            _ => None,
        }
    }

    /// What every matching name starts with (lowercase).
    pub fn prefix(&self) -> &str {
        &self.parts[0]
    }

    /// Whether a group's display name is this name (ignoring case, as Entra does); the account
    /// name, when there is one, must be the same everywhere it appears and not empty.
    pub fn matches(&self, display_name: &str) -> bool {
        let name = display_name.to_lowercase();
        if let Some(exact) = self.exact() {
            return name == exact;
        }
        let (first, last) = (&self.parts[0], &self.parts[self.parts.len() - 1]);
        if !name.starts_with(first.as_str()) || !name.ends_with(last.as_str()) {
            return false;
        }
        let start = first.len();
        (start + 1..=name.len())
            .filter(|end| name.is_char_boundary(*end))
            .any(|end| self.parts.join(&name[start..end]) == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(id: &str, name: &str, owners: Option<&[&str]>) -> Group {
        Group {
            id: id.parse().unwrap(),
            display_name: name.into(),
            mail_nickname: None,
            owners: owners.map(|o| o.iter().map(|s| s.parse().unwrap()).collect()),
        }
    }

    fn us() -> ObjectId {
        "sync-app".parse().unwrap()
    }

    #[test]
    fn a_group_is_reused_only_when_fedsync_stands_behind_it() {
        let state = SyncState::default();
        let ours = group("g1", "AWS 1 - Admin", Some(&["sync-app", "alice"]));
        let (action, id, _, _) = decide("aws 1 - ADMIN", &[ours], Some(&us()), &state);
        assert_eq!(
            (action, id),
            (GroupAction::Reuse, Some("g1".parse().unwrap()))
        );

        let squatted = group("g2", "AWS 1 - Admin", Some(&["mallory"]));
        let (action, id, refused, _) = decide(
            "AWS 1 - Admin",
            std::slice::from_ref(&squatted),
            Some(&us()),
            &state,
        );
        assert_eq!((action, id), (GroupAction::Refused, None));
        assert_eq!(refused[0].owners, ["mallory".parse::<ObjectId>().unwrap()]);

        // Recorded as created by fedsync: ours even when its owners changed.
        let mut state = SyncState::default();
        state.created(["g2".parse().unwrap()]);
        let (action, _, _, _) = decide("AWS 1 - Admin", &[squatted], Some(&us()), &state);
        assert_eq!(action, GroupAction::Reuse);

        let (action, _, _, _) = decide("AWS 1 - Admin", &[], Some(&us()), &state);
        assert_eq!(action, GroupAction::Create);
        // Owners not read, and no record: not ours.
        let unknown = group("g3", "AWS 1 - Admin", None);
        let (action, _, _, _) = decide(
            "AWS 1 - Admin",
            &[unknown],
            Some(&us()),
            &SyncState::default(),
        );
        assert_eq!(action, GroupAction::Refused);
    }

    #[test]
    fn of_two_groups_fedsync_owns_the_first_is_reused_and_the_other_reported() {
        let a = group("b-second", "AWS 1 - Admin", Some(&["sync-app"]));
        let b = group("a-first", "AWS 1 - Admin", Some(&["sync-app"]));
        let (action, id, _, duplicates) =
            decide("AWS 1 - Admin", &[a, b], Some(&us()), &SyncState::default());
        assert_eq!(action, GroupAction::Reuse);
        assert_eq!(id, Some("a-first".parse().unwrap()));
        assert_eq!(duplicates, ["b-second".parse::<ObjectId>().unwrap()]);
    }

    fn admin() -> (AccountId, RoleArn) {
        (
            "111111111111".parse().unwrap(),
            "arn:aws:iam::111111111111:role/team/Admin".parse().unwrap(),
        )
    }

    #[test]
    fn group_names_follow_the_convention_or_the_role_name() {
        let (account, role) = admin();
        let by_role = GroupName::pattern(None, "AWS 111111111111 - Admin", &account, &role);
        assert!(by_role.matches("AWS 111111111111 - ADMIN"));
        assert!(!by_role.matches("AWS 111111111111 - Admin2"));

        let convention: NamingConvention = "grp-{0}-{role_name}".parse().unwrap();
        let named = GroupName::pattern(Some(&convention), "x", &account, &role);
        assert_eq!(named.exact(), Some("grp-111111111111-admin"));
        let rendered = group_name(
            Some(&convention),
            "x",
            &NamingInput {
                account_id: &account,
                account_name: "prod",
                role: &role,
            },
        );
        assert!(named.matches(&rendered), "{rendered}");
    }

    #[test]
    fn an_account_name_in_the_group_convention_matches_any_one_name() {
        let (account, role) = admin();
        let convention: NamingConvention = "{account_name}/{1} ({account_name})".parse().unwrap();
        let name = GroupName::pattern(Some(&convention), "x", &account, &role);
        assert_eq!(name.exact(), None);
        assert_eq!(name.prefix(), "");
        assert!(name.matches("prod/Admin (prod)"));
        assert!(name.matches("My Prod/admin (my prod)"));
        assert!(!name.matches("prod/Admin (test)"));
        assert!(!name.matches("/Admin ()"));
        assert!(!name.matches("prod/ReadOnly (prod)"));
    }
}
