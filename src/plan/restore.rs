//! restore: the service principal's current `appRoles` vs the `appRoles` of a backup → a
//! [`Plan`] whose target is the backup. Pure: no I/O.
//!
//! The rules, each tested below:
//! - roles match by `id` (assignments point at ids, and fedsync's ids are stable);
//! - a role in both takes the backup's properties (`isEnabled`, display name, description, value,
//!   member types, unknown properties) and keeps its current `origin`;
//! - a backup role missing now is added back as it was, without the read-only `origin`;
//! - a current role the backup does not hold is disabled when enabled, and dropped when it was
//!   already disabled: the same two-phase removal as a sync, so a second restore finishes it;
//! - a role whose `value` changes is disabled in the first `PATCH`, since Graph changes the value
//!   of a disabled role only;
//! - every role counts as managed: the backup is the whole target, `msiam_access` included.
//!
//! - the backup's assignments come back for the roles enabled in the target: what is missing is
//!   assigned again, and no assignment made since is removed (only those of roles the restore
//!   disables or drops, as a sync would, recorded the same way).
//!
//! The plan goes through the same guardrails, apply order and verify as a sync.

use std::collections::{HashMap, HashSet};

use super::{Action, FieldChange, Plan, PlanError, Reason, assignments, change_for};
use crate::backup::Backup;
use crate::model::{AppRole, AppRoleId, Current, SyncState};

/// Plans the service principal (`now`) back to `backup`: its app roles, and its assignments.
pub fn restore_backup(
    now: &Current,
    backup: &Backup,
    state: &SyncState,
) -> Result<Plan, PlanError> {
    let mut plan = restore(now.app_roles(), &backup.service_principal.app_roles)?;
    plan.entries_beside_app_roles = now.service_principal.entries_beside_app_roles();
    let (changes, orphans, forget) = assignments::plan(&assignments::Inputs {
        changes: &plan.changes,
        target: &plan.target,
        current: &now.assignments,
        state,
        groups: &[],
        assign_groups: false,
        held: &HashSet::new(),
        from_backup: &backup.assignments,
    });
    plan.assignments = changes;
    plan.orphan_groups = orphans;
    plan.forget = forget;
    Ok(plan)
}

/// Plans `current` back to `backup`.
pub fn restore(current: &[AppRole], backup: &[AppRole]) -> Result<Plan, PlanError> {
    let wanted: HashMap<AppRoleId, &AppRole> = backup.iter().map(|r| (r.id, r)).collect();
    let present: HashSet<AppRoleId> = current.iter().map(|r| r.id).collect();
    let mut changes = Vec::new();
    let mut target = Vec::with_capacity(current.len().max(backup.len()));
    let mut first_patch = Vec::with_capacity(current.len() + backup.len());
    let (mut unchanged, mut enabled_before) = (0, 0);
    let mut two_patches = false;

    for role in current {
        if role.is_enabled {
            enabled_before += 1;
        }
        match wanted.get(&role.id) {
            Some(want) => {
                let mut next = (*want).clone();
                next.origin = role.origin.clone();
                if next == *role {
                    unchanged += 1;
                } else {
                    let action = match (role.is_enabled, next.is_enabled) {
                        (true, false) => Action::Disable,
                        (false, true) => Action::Enable,
                        _ => Action::Update,
                    };
                    changes.push(change_for(
                        action,
                        &next,
                        Reason::InBackup,
                        field_changes(role, &next),
                    ));
                }
                if role.is_enabled && role.value() != next.value() {
                    let mut first = role.clone();
                    first.is_enabled = false;
                    first_patch.push(first);
                    two_patches = true;
                } else {
                    first_patch.push(next.clone());
                }
                target.push(next);
            }
            None if role.is_enabled => {
                let mut next = role.clone();
                next.is_enabled = false;
                changes.push(change_for(
                    Action::Disable,
                    role,
                    Reason::NotInBackup,
                    Vec::new(),
                ));
                target.push(next.clone());
                first_patch.push(next);
            }
            None => {
                changes.push(change_for(
                    Action::Remove,
                    role,
                    Reason::NotInBackup,
                    Vec::new(),
                ));
                first_patch.push(role.clone());
            }
        }
    }

    for role in backup {
        if present.contains(&role.id) {
            continue;
        }
        let mut next = role.clone();
        next.origin = None;
        if let Some(value) = next.value()
            && let Some(holder) = target
                .iter()
                .find(|r| r.value() == Some(value) && r.id != next.id)
        {
            return Err(PlanError::ValueTaken {
                value: value.to_owned(),
                id: next.id,
                taken_by: holder.id,
            });
        }
        changes.push(change_for(Action::Add, &next, Reason::InBackup, Vec::new()));
        target.push(next.clone());
        first_patch.push(next);
    }
    changes.sort_by(|a, b| a.value.cmp(&b.value).then(a.id.cmp(&b.id)));

    let removes = changes.iter().any(|c| c.action == Action::Remove);
    Ok(Plan {
        changes,
        unchanged,
        enabled_managed_before: enabled_before,
        target,
        first_patch: (removes || two_patches).then_some(first_patch),
        ..Plan::default()
    })
}

/// The properties people read that differ between `before` and `after`.
fn field_changes(before: &AppRole, after: &AppRole) -> Vec<FieldChange> {
    type Read = fn(&AppRole) -> Option<String>;
    let fields: [(&'static str, Read); 4] = [
        ("displayName", |r| r.display_name().map(str::to_owned)),
        ("description", |r| r.description().map(str::to_owned)),
        ("value", |r| r.value().map(str::to_owned)),
        ("allowedMemberTypes", |r| {
            Some(r.allowed_member_types.join(","))
        }),
    ];
    fields
        .into_iter()
        .filter_map(|(field, get)| {
            let (was, will) = (get(before), get(after));
            (was != will).then_some(FieldChange {
                field,
                before: was,
                after: will,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AwsRoleValue;

    fn role(account: &str, name: &str) -> AppRole {
        let value: AwsRoleValue = format!(
            "arn:aws:iam::{account}:role/{name},arn:aws:iam::{account}:saml-provider/AzureAD"
        )
        .parse()
        .unwrap();
        AppRole::new_user_role(&value, format!("AWS {account} - {name}"), "d".to_owned())
    }

    fn msiam() -> AppRole {
        serde_json::from_value(serde_json::json!({
            "allowedMemberTypes": ["User"], "description": "msiam_access", "displayName": "msiam_access",
            "id": "7dfd756e-8c27-4472-b2b7-38c17fc5de5e", "isEnabled": true, "origin": "Application",
            "value": null
        }))
        .unwrap()
    }

    fn with_origin(mut role: AppRole) -> AppRole {
        role.origin = Some(Some("Application".to_owned()));
        role
    }

    fn actions(plan: &Plan) -> Vec<(Action, Reason, String)> {
        plan.changes
            .iter()
            .map(|c| {
                (
                    c.action,
                    c.reason,
                    c.display_name.clone().unwrap_or_default(),
                )
            })
            .collect()
    }

    #[test]
    fn the_same_collection_plans_nothing() {
        let current = vec![msiam(), with_origin(role("111111111111", "Admin"))];
        let plan = restore(&current, &current).unwrap();
        assert!(plan.is_empty());
        assert_eq!(plan.unchanged, 2);
        assert_eq!(plan.target, current);
    }

    #[test]
    fn a_role_missing_now_comes_back_without_origin_and_with_its_id() {
        let admin = with_origin(role("111111111111", "Admin"));
        let backup = vec![msiam(), admin.clone()];
        let plan = restore(&[msiam()], &backup).unwrap();
        assert_eq!(
            actions(&plan),
            vec![(
                Action::Add,
                Reason::InBackup,
                "AWS 111111111111 - Admin".to_owned()
            )]
        );
        let back = plan.target.iter().find(|r| r.id == admin.id).unwrap();
        assert_eq!(back.origin, None);
        assert_eq!(back.value(), admin.value());
        assert!(plan.first_patch.is_none());
    }

    #[test]
    fn a_role_the_backup_lacks_is_disabled_then_dropped() {
        let extra = with_origin(role("111111111111", "Later"));
        let plan = restore(&[msiam(), extra.clone()], &[msiam()]).unwrap();
        assert_eq!(plan.count(Action::Disable), 1);
        assert_eq!(plan.enabled_managed_before, 2);
        let kept = plan.target.iter().find(|r| r.id == extra.id).unwrap();
        assert!(!kept.is_enabled);

        // The next restore of the same backup drops it.
        let second = restore(&plan.target, &[msiam()]).unwrap();
        assert_eq!(
            actions(&second),
            vec![(
                Action::Remove,
                Reason::NotInBackup,
                "AWS 111111111111 - Later".to_owned()
            )]
        );
        assert_eq!(second.target, vec![msiam()]);
        assert_eq!(second.first_patch.as_ref().unwrap().len(), 2);
    }

    #[test]
    fn properties_come_back_and_origin_stays_current() {
        let was = with_origin(role("111111111111", "Admin"));
        let mut now = was.clone();
        now.display_name = Some(Some("Renamed".to_owned()));
        now.is_enabled = false;
        now.origin = Some(Some("ServicePrincipal".to_owned()));
        let plan = restore(std::slice::from_ref(&now), std::slice::from_ref(&was)).unwrap();
        let change = &plan.changes[0];
        assert_eq!(change.action, Action::Enable);
        assert_eq!(change.fields.len(), 1);
        assert_eq!(change.fields[0].field, "displayName");
        assert_eq!(change.fields[0].before.as_deref(), Some("Renamed"));
        let restored = &plan.target[0];
        assert_eq!(restored.display_name(), was.display_name());
        assert!(restored.is_enabled);
        assert_eq!(restored.origin, now.origin);
    }

    #[test]
    fn a_role_disabled_in_the_backup_is_disabled_now() {
        let mut was = role("111111111111", "Admin");
        was.is_enabled = false;
        let now = role("111111111111", "Admin");
        let plan = restore(&[now], &[was]).unwrap();
        assert_eq!(plan.count(Action::Disable), 1);
        assert_eq!(plan.changes[0].reason, Reason::InBackup);
    }

    #[test]
    fn a_new_value_for_an_enabled_role_goes_through_a_disabled_first_patch() {
        let was = role("111111111111", "Admin");
        let mut now = was.clone();
        now.value = Some(Some(
            "arn:aws:iam::111111111111:role/Other,arn:aws:iam::111111111111:saml-provider/AzureAD"
                .to_owned(),
        ));
        let plan = restore(std::slice::from_ref(&now), std::slice::from_ref(&was)).unwrap();
        assert_eq!(plan.changes[0].action, Action::Update);
        assert_eq!(plan.changes[0].fields[0].field, "value");
        let first = &plan.first_patch.as_ref().unwrap()[0];
        assert_eq!((first.value(), first.is_enabled), (now.value(), false));
        assert_eq!(plan.target, vec![was]);
    }

    #[test]
    fn a_value_held_by_another_id_now_is_refused() {
        let was = role("111111111111", "Admin");
        let mut now = was.clone();
        now.id = "0b9a4f43-3f1b-4d0b-8f4e-52a3a0b9d1aa".parse().unwrap();
        let err = restore(&[now], std::slice::from_ref(&was)).unwrap_err();
        assert!(matches!(err, PlanError::ValueTaken { id, .. } if id == was.id));
        assert!(
            err.to_string()
                .contains("arn:aws:iam::111111111111:role/Admin")
        );
    }
}
