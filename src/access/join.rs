//! join: who holds which synced role — app role assignments, the groups they name, and the
//! users inside those groups (through nested groups too) — each user with the path by which
//! they hold it.
//!
//! It takes what Graph said ([`Directory`]) and returns an [`AccessReport`]; the shell decides
//! what to fetch. Filters ([`Filter`]) narrow the roles before anything is fetched and the
//! holders after. Pure: no I/O.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use serde::Serialize;

use super::roles::{GroupName, SyncedRole};
use crate::model::{
    AccountId, AppRoleId, Assignment, Group, Member, ObjectId, PrincipalType, User,
};

/// Graph's "default access" role id (all zeros): an assignment to the app itself, not to a role.
pub fn default_access() -> AppRoleId {
    "00000000-0000-0000-0000-000000000000"
        .parse()
        .expect("the nil GUID is a GUID")
}

/// What Graph holds about the roles to report on.
#[derive(Clone, Debug, Default)]
pub struct Directory {
    /// The synced roles to report on (already filtered by account and role).
    pub roles: Vec<SyncedRole>,
    /// Every app role id of the service principal, synced or not.
    pub all_role_ids: HashSet<AppRoleId>,
    pub assignments: Vec<Assignment>,
    /// The direct members of every group reachable from an assigned group.
    pub members: HashMap<ObjectId, Vec<Member>>,
    /// Groups by id, with their display names (assigned, nested and synced groups).
    pub groups: HashMap<ObjectId, Group>,
    /// Directly assigned users by id (a deleted user is missing).
    pub users: HashMap<ObjectId, User>,
    /// The group sync made for each role, when it exists.
    pub synced_groups: HashMap<AppRoleId, Group>,
}

/// Everyone who holds each role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AccessReport {
    pub roles: Vec<RoleAccess>,
    /// Assignments to app role ids the service principal no longer has.
    pub orphaned_assignments: Vec<Principal>,
}

/// One synced role and its holders.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RoleAccess {
    pub display_name: String,
    pub account_id: AccountId,
    pub role_name: String,
    pub role_arn: String,
    pub app_role_id: AppRoleId,
    pub enabled: bool,
    /// The group sync made for the role, and whether it is assigned to the role.
    pub synced_group: Option<SyncedGroup>,
    /// The principals assigned to the role: users, groups, others.
    pub assigned: Vec<Principal>,
    /// One entry per user and path.
    pub holders: Vec<Holder>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SyncedGroup {
    pub id: String,
    pub display_name: String,
    pub assigned: bool,
}

/// An assigned principal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Principal {
    pub id: String,
    /// `User`, `Group`, `ServicePrincipal`…, as Graph says.
    pub principal_type: String,
    pub display_name: Option<String>,
    pub app_role_id: AppRoleId,
}

/// A user who holds a role, and how.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Holder {
    /// The user principal name; the object id when the user cannot be read (deleted).
    pub user: String,
    pub user_id: String,
    pub display_name: Option<String>,
    /// Group display names from the assigned group inward; empty for a direct assignment.
    pub via_groups: Vec<String>,
}

impl Holder {
    /// `direct`, or `group A > group B`.
    pub fn via(&self) -> String {
        if self.via_groups.is_empty() {
            "direct".to_owned()
        } else {
            self.via_groups
                .iter()
                .map(|g| format!("group {g}"))
                .collect::<Vec<_>>()
                .join(" > ")
        }
    }
}

/// What `fedsync access list` was asked to show.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub account: Option<AccountId>,
    /// A glob (`*`, `?`), matched without regard to case against the display name, role name,
    /// role ARN and `account:role`.
    pub role: Option<String>,
    /// A user principal name, or a group display name (matched anywhere in a holder's path or
    /// among the assigned groups).
    pub principal: Option<String>,
}

impl Filter {
    /// Whether a role passes the account and role filters.
    pub fn keeps_role(&self, role: &SyncedRole) -> bool {
        self.account.as_ref().is_none_or(|a| a == role.account())
            && self.role.as_deref().is_none_or(|pattern| {
                [
                    role.display_name.clone(),
                    role.role_name().to_owned(),
                    role.arn(),
                    role.short_name(),
                ]
                .iter()
                .any(|name| glob(pattern, name))
            })
    }

    /// The report with only the holders (and roles) the principal filter names.
    pub fn narrow(&self, mut report: AccessReport) -> AccessReport {
        let Some(principal) = self.principal.as_deref() else {
            return report;
        };
        let is = |name: &str| name.eq_ignore_ascii_case(principal);
        for role in &mut report.roles {
            role.holders
                .retain(|h| is(&h.user) || h.via_groups.iter().any(|g| is(g)));
            role.assigned.retain(|p| {
                p.display_name.as_deref().is_some_and(is)
                    || role.holders.iter().any(|h| h.user_id == p.id)
                    || role.holders.iter().any(|h| {
                        h.via_groups.first().map(String::as_str) == p.display_name.as_deref()
                    })
            });
        }
        report
            .roles
            .retain(|r| !r.holders.is_empty() || !r.assigned.is_empty());
        report.orphaned_assignments.retain(|p| {
            p.display_name.as_deref().is_some_and(is) || p.id.eq_ignore_ascii_case(principal)
        });
        report
    }
}

/// Case-insensitive glob: `*` any run, `?` one character, everything else itself.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = text.to_lowercase().chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Which synced group each role has, among `groups` (found by name).
pub fn match_synced_groups(
    roles: &[SyncedRole],
    names: &[GroupName],
    groups: &[Group],
) -> HashMap<AppRoleId, Group> {
    roles
        .iter()
        .zip(names)
        .filter_map(|(role, name)| {
            let group = groups.iter().find(|g| name.matches(&g.display_name))?;
            Some((role.id, group.clone()))
        })
        .collect()
}

/// The ids of the groups assigned to these roles, for the shell to expand.
pub fn assigned_groups(roles: &[SyncedRole], assignments: &[Assignment]) -> Vec<ObjectId> {
    let ids: HashSet<AppRoleId> = roles.iter().map(|r| r.id).collect();
    let mut groups: Vec<ObjectId> = assignments
        .iter()
        .filter(|a| ids.contains(&a.app_role_id) && a.principal_type == PrincipalType::Group)
        .map(|a| a.principal_id.clone())
        .collect();
    groups.sort();
    groups.dedup();
    groups
}

/// The ids of the users assigned directly to these roles, for the shell to look up.
pub fn assigned_users(roles: &[SyncedRole], assignments: &[Assignment]) -> Vec<ObjectId> {
    let ids: HashSet<AppRoleId> = roles.iter().map(|r| r.id).collect();
    let mut users: Vec<ObjectId> = assignments
        .iter()
        .filter(|a| ids.contains(&a.app_role_id) && a.principal_type == PrincipalType::User)
        .map(|a| a.principal_id.clone())
        .collect();
    users.sort();
    users.dedup();
    users
}

/// Every user inside `group` (through nested groups), each with the shortest path of group
/// display names from `group` inward. Cycles are walked once.
pub fn users_in(directory: &Directory, group: &ObjectId) -> Vec<(User, Vec<String>)> {
    let name = |id: &ObjectId| {
        directory
            .groups
            .get(id)
            .map_or_else(|| id.to_string(), |g| g.display_name.clone())
    };
    let mut found: BTreeMap<ObjectId, (User, Vec<String>)> = BTreeMap::new();
    let mut seen: HashSet<ObjectId> = HashSet::from([group.clone()]);
    let mut queue: VecDeque<(ObjectId, Vec<String>)> =
        VecDeque::from([(group.clone(), vec![name(group)])]);
    while let Some((id, path)) = queue.pop_front() {
        for member in directory.members.get(&id).map_or(&[][..], Vec::as_slice) {
            match member {
                Member::User(user) => {
                    found
                        .entry(user.id.clone())
                        .or_insert_with(|| (user.clone(), path.clone()));
                }
                Member::Group(inner) => {
                    if seen.insert(inner.id.clone()) {
                        let mut inner_path = path.clone();
                        inner_path.push(inner.display_name.clone());
                        queue.push_back((inner.id.clone(), inner_path));
                    }
                }
                Member::Other { .. } => {}
            }
        }
    }
    found.into_values().collect()
}

/// Joins the directory into who holds which role.
pub fn join(directory: &Directory) -> AccessReport {
    let mut by_role: HashMap<AppRoleId, Vec<&Assignment>> = HashMap::new();
    for a in &directory.assignments {
        by_role.entry(a.app_role_id).or_default().push(a);
    }
    let mut expanded: HashMap<&ObjectId, Vec<(User, Vec<String>)>> = HashMap::new();
    let roles = directory
        .roles
        .iter()
        .map(|role| {
            let assignments = by_role.get(&role.id).map_or(&[][..], Vec::as_slice);
            let mut holders = Vec::new();
            let mut assigned = Vec::new();
            for a in assignments {
                assigned.push(principal(directory, a));
                match a.principal_type {
                    PrincipalType::User => {
                        holders.push(match directory.users.get(&a.principal_id) {
                            Some(user) => holder(user, Vec::new()),
                            None => Holder {
                                user: a.principal_id.to_string(),
                                user_id: a.principal_id.to_string(),
                                display_name: a.principal_display_name.clone(),
                                via_groups: Vec::new(),
                            },
                        })
                    }
                    PrincipalType::Group => {
                        let users = expanded
                            .entry(&a.principal_id)
                            .or_insert_with(|| users_in(directory, &a.principal_id));
                        holders.extend(users.iter().map(|(u, path)| holder(u, path.clone())));
                    }
                    _ => {}
                }
            }
            holders.sort();
            holders.dedup();
            assigned.sort_by(|a, b| {
                (&a.principal_type, &a.display_name).cmp(&(&b.principal_type, &b.display_name))
            });
            let synced_group = directory.synced_groups.get(&role.id).map(|g| SyncedGroup {
                id: g.id.to_string(),
                display_name: g.display_name.clone(),
                assigned: assignments.iter().any(|a| a.principal_id == g.id),
            });
            RoleAccess {
                display_name: role.display_name.clone(),
                account_id: *role.account(),
                role_name: role.role_name().to_owned(),
                role_arn: role.arn(),
                app_role_id: role.id,
                enabled: role.enabled,
                synced_group,
                assigned,
                holders,
            }
        })
        .collect();
    let default_access = default_access();
    let mut orphaned_assignments: Vec<Principal> = directory
        .assignments
        .iter()
        .filter(|a| {
            a.app_role_id != default_access && !directory.all_role_ids.contains(&a.app_role_id)
        })
        .map(|a| principal(directory, a))
        .collect();
    orphaned_assignments.sort_by(|a, b| a.display_name.cmp(&b.display_name));
    AccessReport {
        roles,
        orphaned_assignments,
    }
}

/// An assigned principal, named as the directory names it now (a group may have been renamed
/// since it was assigned).
fn principal(directory: &Directory, a: &Assignment) -> Principal {
    let current = match a.principal_type {
        PrincipalType::Group => directory
            .groups
            .get(&a.principal_id)
            .map(|g| g.display_name.clone()),
        PrincipalType::User => directory
            .users
            .get(&a.principal_id)
            .and_then(|u| u.display_name.clone()),
        _ => None,
    };
    Principal {
        id: a.principal_id.to_string(),
        principal_type: a.principal_type.to_string(),
        display_name: current.or_else(|| a.principal_display_name.clone()),
        app_role_id: a.app_role_id,
    }
}

fn holder(user: &User, via_groups: Vec<String>) -> Holder {
    Holder {
        user: user.user_principal_name.clone(),
        user_id: user.id.to_string(),
        display_name: user.display_name.clone(),
        via_groups,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::AwsRoleValue;

    pub fn role(account: &str, name: &str, enabled: bool) -> SyncedRole {
        let value: AwsRoleValue = format!(
            "arn:aws:iam::{account}:role/{name},arn:aws:iam::{account}:saml-provider/AzureAD"
        )
        .parse()
        .unwrap();
        SyncedRole {
            id: AppRoleId::for_value(&value.to_string()),
            display_name: format!("AWS {account} - {name}"),
            value,
            enabled,
        }
    }

    pub fn oid(id: &str) -> ObjectId {
        id.parse().unwrap()
    }

    pub fn user(id: &str) -> User {
        User {
            id: id.parse().unwrap(),
            user_principal_name: format!("{id}@contoso.com"),
            display_name: Some(id.to_uppercase()),
        }
    }

    pub fn group(id: &str) -> Group {
        Group {
            id: id.parse().unwrap(),
            display_name: format!("G {id}"),
            mail_nickname: None,
            owners: None,
        }
    }

    pub fn assignment(principal: &str, kind: &str, role: AppRoleId) -> Assignment {
        Assignment {
            id: crate::model::AssignmentId(format!("a-{principal}")),
            principal_id: principal.parse().unwrap(),
            principal_type: kind.to_owned().into(),
            principal_display_name: Some(format!("{kind} {principal}")),
            app_role_id: role,
            resource_id: "sp".parse().unwrap(),
        }
    }

    /// Admin: alice directly, group `admins` (bob, and nested `platform` with carol and bob
    /// again), and `platform` nested back into `admins` (a cycle). Old (disabled): dave directly.
    /// One assignment to a role that no longer exists.
    pub fn directory() -> Directory {
        let admin = role("111111111111", "Admin", true);
        let old = role("111111111111", "Old", false);
        let gone = AppRoleId::for_value("gone");
        let mut d = Directory {
            roles: vec![admin.clone(), old.clone()],
            all_role_ids: HashSet::from([admin.id, old.id]),
            assignments: vec![
                assignment("alice", "User", admin.id),
                assignment("admins", "Group", admin.id),
                assignment("dave", "User", old.id),
                assignment("erin", "User", gone),
                assignment("app", "User", default_access()),
            ],
            ..Directory::default()
        };
        for id in ["alice", "dave"] {
            d.users.insert(oid(id), user(id));
        }
        for id in ["admins", "platform"] {
            d.groups.insert(oid(id), group(id));
        }
        d.members.insert(
            oid("admins"),
            vec![Member::User(user("bob")), Member::Group(group("platform"))],
        );
        d.members.insert(
            oid("platform"),
            vec![
                Member::User(user("carol")),
                Member::User(user("bob")),
                Member::Group(group("admins")),
                Member::Other {
                    id: oid("laptop"),
                    odata_type: "#microsoft.graph.device".into(),
                },
            ],
        );
        d.synced_groups.insert(admin.id, group("admins"));
        d
    }

    fn rows(report: &AccessReport) -> Vec<(String, String, String)> {
        report
            .roles
            .iter()
            .flat_map(|r| {
                r.holders
                    .iter()
                    .map(|h| (r.role_name.clone(), h.user.clone(), h.via()))
            })
            .collect()
    }

    #[test]
    fn holders_are_direct_users_group_members_and_nested_members_each_with_a_path() {
        let report = join(&directory());
        let t =
            |r: &str, u: &str, v: &str| (r.to_owned(), format!("{u}@contoso.com"), v.to_owned());
        assert_eq!(
            rows(&report),
            vec![
                t("Admin", "alice", "direct"),
                t("Admin", "bob", "group G admins"),
                t("Admin", "carol", "group G admins > group G platform"),
                t("Old", "dave", "direct"),
            ]
        );
        assert!(!report.roles[1].enabled, "the disabled role is flagged");
        let synced = report.roles[0].synced_group.as_ref().unwrap();
        assert!(synced.assigned);
        assert_eq!(report.roles[1].synced_group, None);
    }

    #[test]
    fn assignments_to_roles_that_are_gone_are_orphaned_and_default_access_is_not() {
        let report = join(&directory());
        let orphans: Vec<&str> = report
            .orphaned_assignments
            .iter()
            .map(|p| p.id.as_str())
            .collect();
        assert_eq!(orphans, ["erin"]);
    }

    #[test]
    fn a_deleted_user_shows_by_id() {
        let mut d = directory();
        d.users.remove(&oid("alice"));
        let report = join(&d);
        assert_eq!(report.roles[0].holders[0].user, "alice");
        assert_eq!(
            report.roles[0].holders[0].display_name.as_deref(),
            Some("User alice")
        );
    }

    #[test]
    fn the_principal_filter_keeps_a_user_or_everyone_through_a_group() {
        let by_user = Filter {
            principal: Some("CAROL@contoso.com".into()),
            ..Filter::default()
        }
        .narrow(join(&directory()));
        assert_eq!(by_user.roles.len(), 1);
        assert_eq!(by_user.roles[0].holders.len(), 1);
        assert_eq!(by_user.roles[0].assigned.len(), 1, "the group carol is in");

        let by_group = Filter {
            principal: Some("g platform".into()),
            ..Filter::default()
        }
        .narrow(join(&directory()));
        let users: Vec<&str> = by_group.roles[0]
            .holders
            .iter()
            .map(|h| h.user.as_str())
            .collect();
        assert_eq!(users, ["carol@contoso.com"]);

        let nobody = Filter {
            principal: Some("zed@contoso.com".into()),
            ..Filter::default()
        }
        .narrow(join(&directory()));
        assert!(nobody.roles.is_empty());
    }

    #[test]
    fn role_filters_match_any_name_form() {
        let admin = role("111111111111", "Admin", true);
        let keeps = |account: Option<&str>, pattern: Option<&str>| {
            Filter {
                account: account.map(|a| a.parse().unwrap()),
                role: pattern.map(str::to_owned),
                principal: None,
            }
            .keeps_role(&admin)
        };
        assert!(keeps(None, None));
        assert!(keeps(Some("111111111111"), Some("admin")));
        assert!(keeps(None, Some("*:Adm*")));
        assert!(keeps(None, Some("arn:aws:iam::*:role/Admin")));
        assert!(keeps(None, Some("AWS 1?1111111111 - *")));
        assert!(!keeps(Some("222222222222"), None));
        assert!(!keeps(None, Some("Adm")));
    }

    #[test]
    fn globs() {
        assert!(glob("*", ""));
        assert!(glob("a*b*c", "aXXbYc"));
        assert!(!glob("a*b", "aXXbc"));
        assert!(glob("?ü", "Aü"));
        assert!(!glob("", "a"));
    }

    #[test]
    fn the_shell_expands_only_what_the_roles_need() {
        let d = directory();
        assert_eq!(
            assigned_groups(&d.roles[..1], &d.assignments),
            [oid("admins")]
        );
        assert_eq!(
            assigned_users(&d.roles, &d.assignments),
            [oid("alice"), oid("dave")]
        );
        let names: Vec<GroupName> = d
            .roles
            .iter()
            .map(|r| crate::access::roles::group_name(r, None))
            .collect();
        let groups = vec![Group {
            display_name: "aws 111111111111 - old".into(),
            ..group("g-old")
        }];
        let matched = match_synced_groups(&d.roles, &names, &groups);
        assert_eq!(matched.len(), 1);
        assert_eq!(matched[&d.roles[1].id].id, oid("g-old"));
    }
}
