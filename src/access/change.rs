//! change: what `fedsync access grant` and `revoke` do to one role for one user or group —
//! add or remove a member of the role's synced group (the default, so membership stays the one
//! source of truth), or make or remove a direct app role assignment (`--direct`) — decided from
//! what Graph holds now, so that granting what is granted (or revoking what is not) writes
//! nothing and says so. Pure: no I/O.

use std::fmt;

use super::roles::SyncedRole;
use crate::model::{AssignmentId, Group, ObjectId};

/// Who gets or loses the role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub id: ObjectId,
    /// A user principal name, or `group <display name>`.
    pub label: String,
    pub is_group: bool,
}

/// How the role is held.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// Membership of the role's synced group: the group (when found), and whether it is
    /// assigned to the role.
    SyncedGroup {
        group: Option<Group>,
        expected_name: String,
        assigned: bool,
    },
    /// A direct app role assignment.
    Direct,
}

/// What Graph holds now for this principal and role.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Current {
    /// The principal is a direct member of the synced group.
    pub member: bool,
    /// The id of the principal's direct assignment to the role.
    pub assignment: Option<AssignmentId>,
}

/// One write to Graph.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    AddMember {
        group: Group,
        member: Principal,
    },
    RemoveMember {
        group: Group,
        member: Principal,
    },
    Assign {
        principal: Principal,
    },
    Unassign {
        principal: Principal,
        assignment_id: AssignmentId,
    },
}

/// What to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Write(Change),
    /// Already so: nothing to write, and why.
    Nothing(String),
    /// Cannot be done as asked (exit 2): why, and what to do instead.
    Refuse(String),
}

impl Change {
    /// `added alice@… to group X (role R)`, or `would add …` for a dry run.
    pub fn describe(&self, role: &SyncedRole, dry_run: bool) -> String {
        let verb = |done: &str, would: &str| {
            if dry_run {
                format!("would {would}")
            } else {
                done.to_owned()
            }
        };
        match self {
            Change::AddMember { group, member } => format!(
                "{} {} to group {} (holders of role {})",
                verb("added", "add"),
                member.label,
                group.display_name,
                role.display_name
            ),
            Change::RemoveMember { group, member } => format!(
                "{} {} from group {} (holders of role {})",
                verb("removed", "remove"),
                member.label,
                group.display_name,
                role.display_name
            ),
            Change::Assign { principal } => format!(
                "{} {} to role {} directly",
                verb("assigned", "assign"),
                principal.label,
                role.display_name
            ),
            Change::Unassign { principal, .. } => format!(
                "{} the direct assignment of {} to role {}",
                verb("removed", "remove"),
                principal.label,
                role.display_name
            ),
        }
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label)
    }
}

/// Granting `role` to `principal` by `route`.
pub fn grant(
    role: &SyncedRole,
    principal: &Principal,
    route: &Route,
    current: &Current,
) -> Decision {
    if !role.enabled {
        return Decision::Refuse(format!(
            "role {} is disabled (its IAM role is gone from AWS or no longer trusts our provider); nobody can assume it",
            role.display_name
        ));
    }
    match route {
        Route::SyncedGroup {
            group: None,
            expected_name,
            ..
        } => Decision::Refuse(format!(
            "role {} has no synced group (expected one named {expected_name:?}): run fedsync sync with create-groups on, or grant with --direct",
            role.display_name
        )),
        Route::SyncedGroup {
            group: Some(group),
            assigned: false,
            ..
        } => Decision::Refuse(format!(
            "group {} is not assigned to role {}, so its members do not hold the role: turn assign-groups on and run fedsync sync, or grant with --direct",
            group.display_name, role.display_name
        )),
        Route::SyncedGroup {
            group: Some(group), ..
        } if group.id == principal.id => Decision::Refuse(format!(
            "group {} is the role's synced group itself; grant its members instead, or use --direct",
            group.display_name
        )),
        Route::SyncedGroup {
            group: Some(group), ..
        } => {
            if current.member {
                Decision::Nothing(format!(
                    "{principal} is already a member of group {}: role {} is already granted",
                    group.display_name, role.display_name
                ))
            } else {
                Decision::Write(Change::AddMember {
                    group: group.clone(),
                    member: principal.clone(),
                })
            }
        }
        Route::Direct => match current.assignment {
            Some(_) => Decision::Nothing(format!(
                "{principal} is already assigned to role {} directly",
                role.display_name
            )),
            None => Decision::Write(Change::Assign {
                principal: principal.clone(),
            }),
        },
    }
}

/// Revoking `role` from `principal` by `route`.
pub fn revoke(
    role: &SyncedRole,
    principal: &Principal,
    route: &Route,
    current: &Current,
) -> Decision {
    match route {
        Route::SyncedGroup {
            group: Some(group), ..
        } if current.member => Decision::Write(Change::RemoveMember {
            group: group.clone(),
            member: principal.clone(),
        }),
        Route::SyncedGroup {
            group,
            expected_name,
            ..
        } => {
            let name = group
                .as_ref()
                .map_or(expected_name.as_str(), |g| g.display_name.as_str());
            let mut why = format!("{principal} is not a member of group {name}: nothing to revoke");
            if current.assignment.is_some() {
                why.push_str(&format!(
                    "; note: {principal} holds role {} through a direct assignment (revoke it with --direct)",
                    role.display_name
                ));
            }
            Decision::Nothing(why)
        }
        Route::Direct => match &current.assignment {
            Some(id) => Decision::Write(Change::Unassign {
                principal: principal.clone(),
                assignment_id: id.clone(),
            }),
            None => Decision::Nothing(format!(
                "{principal} has no direct assignment to role {}: nothing to revoke",
                role.display_name
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::join::tests::{group, role};

    fn alice() -> Principal {
        Principal {
            id: "alice".parse().unwrap(),
            label: "alice@contoso.com".into(),
            is_group: false,
        }
    }

    fn synced(assigned: bool) -> Route {
        Route::SyncedGroup {
            group: Some(group("admins")),
            expected_name: "G admins".into(),
            assigned,
        }
    }

    #[test]
    fn granting_adds_to_the_synced_group_once() {
        let admin = role("111111111111", "Admin", true);
        let d = grant(&admin, &alice(), &synced(true), &Current::default());
        let Decision::Write(change) = d else {
            panic!("{d:?}")
        };
        assert_eq!(
            change.describe(&admin, true),
            "would add alice@contoso.com to group G admins (holders of role AWS 111111111111 - Admin)"
        );
        let again = grant(
            &admin,
            &alice(),
            &synced(true),
            &Current {
                member: true,
                ..Current::default()
            },
        );
        assert!(
            matches!(again, Decision::Nothing(ref m) if m.contains("already a member")),
            "{again:?}"
        );
    }

    #[test]
    fn granting_refuses_what_would_not_grant() {
        let admin = role("111111111111", "Admin", true);
        let unassigned = grant(&admin, &alice(), &synced(false), &Current::default());
        assert!(
            matches!(unassigned, Decision::Refuse(ref m) if m.contains("not assigned")),
            "{unassigned:?}"
        );
        let missing = Route::SyncedGroup {
            group: None,
            expected_name: "x".into(),
            assigned: false,
        };
        assert!(matches!(
            grant(&admin, &alice(), &missing, &Current::default()),
            Decision::Refuse(_)
        ));
        let old = role("111111111111", "Old", false);
        assert!(
            matches!(grant(&old, &alice(), &Route::Direct, &Current::default()), Decision::Refuse(ref m) if m.contains("disabled"))
        );
        let itself = Principal {
            id: "admins".parse().unwrap(),
            label: "group G admins".into(),
            is_group: true,
        };
        assert!(matches!(
            grant(&admin, &itself, &synced(true), &Current::default()),
            Decision::Refuse(_)
        ));
    }

    #[test]
    fn direct_grants_and_revokes_follow_the_assignment() {
        let admin = role("111111111111", "Admin", true);
        assert!(matches!(
            grant(&admin, &alice(), &Route::Direct, &Current::default()),
            Decision::Write(Change::Assign { .. })
        ));
        let assigned = Current {
            assignment: Some(crate::model::AssignmentId("a1".into())),
            ..Current::default()
        };
        assert!(matches!(
            grant(&admin, &alice(), &Route::Direct, &assigned),
            Decision::Nothing(_)
        ));
        assert_eq!(
            revoke(&admin, &alice(), &Route::Direct, &assigned),
            Decision::Write(Change::Unassign {
                principal: alice(),
                assignment_id: crate::model::AssignmentId("a1".into())
            })
        );
        assert!(matches!(
            revoke(&admin, &alice(), &Route::Direct, &Current::default()),
            Decision::Nothing(_)
        ));
    }

    #[test]
    fn revoking_a_non_member_writes_nothing_and_points_at_a_direct_assignment() {
        let admin = role("111111111111", "Admin", true);
        let member = Current {
            member: true,
            ..Current::default()
        };
        assert!(matches!(
            revoke(&admin, &alice(), &synced(true), &member),
            Decision::Write(Change::RemoveMember { .. })
        ));
        let direct = Current {
            assignment: Some(crate::model::AssignmentId("a1".into())),
            ..Current::default()
        };
        let Decision::Nothing(why) = revoke(&admin, &alice(), &synced(true), &direct) else {
            panic!()
        };
        assert!(why.contains("not a member of group G admins"), "{why}");
        assert!(why.contains("--direct"), "{why}");
    }
}
