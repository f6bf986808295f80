//! verify: after applying, does Graph hold what the plan says — the `appRoles` equal to its
//! target, its groups there, its assignments made and its removals gone? Pure: compares and
//! names every difference.
//!
//! Roles are matched by `id`; order does not matter. `origin` is read-only and Graph fills it in
//! for roles it did not have, so a target role without `origin` accepts any.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::model::{AppRole, AppRoleId, Current, ObjectId};
use crate::plan::{AssignmentAction, GroupAction, Plan};

/// Every way Graph (`after`) differs from `plan` once applied: app roles, groups, assignments.
/// `created` maps the names of groups the run created to their ids; `skipped` names restores
/// whose principal was gone.
pub fn differences_all(
    plan: &Plan,
    after: &Current,
    created: &HashMap<String, ObjectId>,
    skipped: &[String],
) -> Vec<String> {
    let mut out = differences(&plan.target, after.app_roles());
    for group in &plan.groups {
        let exists = after
            .groups
            .iter()
            .any(|g| g.display_name.eq_ignore_ascii_case(&group.display_name));
        if matches!(group.action, GroupAction::Create | GroupAction::Reuse) && !exists {
            out.push(format!("group {:?} is missing", group.display_name));
        }
    }
    let has = |principal: &ObjectId, role: AppRoleId| {
        after
            .assignments
            .iter()
            .any(|a| &a.principal_id == principal && a.app_role_id == role)
    };
    for (change, principal) in crate::sync::expected_assignments(plan, created) {
        if skipped.contains(&change.principal_label()) {
            continue;
        }
        match principal {
            Some(id) if has(id, change.app_role_id) => {}
            _ => out.push(format!(
                "{} is not assigned to role {}",
                change.principal_label(),
                change.role
            )),
        }
    }
    for change in plan
        .assignments
        .iter()
        .filter(|a| a.action == AssignmentAction::Remove)
    {
        if after
            .assignments
            .iter()
            .any(|a| Some(&a.id) == change.assignment_id.as_ref())
        {
            out.push(format!(
                "{} is still assigned to role {}",
                change.principal_label(),
                change.role
            ));
        }
    }
    out
}

/// Every way `actual` differs from `target`, one line each; empty when they match.
pub fn differences(target: &[AppRole], actual: &[AppRole]) -> Vec<String> {
    let actual_by_id: BTreeMap<AppRoleId, &AppRole> = actual.iter().map(|r| (r.id, r)).collect();
    let target_by_id: BTreeMap<AppRoleId, &AppRole> = target.iter().map(|r| (r.id, r)).collect();
    let mut out = Vec::new();
    for (id, want) in &target_by_id {
        let name = label(want);
        let Some(got) = actual_by_id.get(id) else {
            out.push(format!("role {id} ({name}) is missing"));
            continue;
        };
        let mut got = (*got).clone();
        if want.origin.is_none() {
            got.origin = None;
        }
        if &got == *want {
            continue;
        }
        // Compare as Graph sees them: every property, known or not, by its JSON name.
        let as_json = |role: &AppRole| match serde_json::to_value(role) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        let (want_json, got_json) = (as_json(want), as_json(&got));
        let keys: BTreeSet<&String> = want_json.keys().chain(got_json.keys()).collect();
        let show = |v: Option<&serde_json::Value>| {
            v.map_or_else(|| "absent".to_owned(), ToString::to_string)
        };
        for key in keys {
            if want_json.get(key) != got_json.get(key) {
                out.push(format!(
                    "role {id} ({name}): {key} is {}, expected {}",
                    show(got_json.get(key)),
                    show(want_json.get(key))
                ));
            }
        }
    }
    for (id, got) in &actual_by_id {
        if !target_by_id.contains_key(id) {
            let name = label(got);
            out.push(format!("role {id} ({name}) should not be there"));
        }
    }
    out
}

/// How a role is named in a difference: its display name, else its value.
fn label(role: &AppRole) -> &str {
    role.display_name().or(role.value()).unwrap_or("(unnamed)")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(id: u128, name: &str, enabled: bool, origin: Option<&str>) -> AppRole {
        serde_json::from_value(serde_json::json!({
            "allowedMemberTypes": ["User"], "displayName": name, "id": uuid::Uuid::from_u128(id).to_string(),
            "isEnabled": enabled, "value": format!("v{id}"), "origin": origin,
        }))
        .map(|mut r: AppRole| {
            if origin.is_none() {
                r.origin = None;
            }
            r
        })
        .unwrap()
    }

    #[test]
    fn equal_collections_in_any_order_match_and_graph_may_fill_in_origin() {
        let target = [
            role(1, "a", true, Some("Application")),
            role(2, "b", true, None),
        ];
        let actual = [
            role(2, "b", true, Some("ServicePrincipal")),
            role(1, "a", true, Some("Application")),
        ];
        assert!(differences(&target, &actual).is_empty());
    }

    #[test]
    fn each_difference_is_named() {
        let target = [role(1, "a", true, None), role(2, "b", false, None)];
        let actual = [role(2, "b", true, None), role(3, "c", true, None)];
        let diffs = differences(&target, &actual);
        assert_eq!(diffs.len(), 3, "{diffs:?}");
        assert!(diffs[0].contains("(a) is missing"));
        assert!(diffs[1].contains("(b): isEnabled is true, expected false"));
        assert!(diffs[2].contains("(c) should not be there"));
        let changed_origin = differences(
            &[role(1, "a", true, Some("Application"))],
            &[role(1, "a", true, Some("ServicePrincipal"))],
        );
        assert_eq!(changed_origin.len(), 1);
    }
}
