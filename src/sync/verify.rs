//! verify: after applying, does the service principal's `appRoles` equal the plan's target?
//! Pure: compares two collections and names every difference.
//!
//! Roles are matched by `id`; order does not matter. `origin` is read-only and Graph fills it in
//! for roles it did not have, so a target role without `origin` accepts any.

use std::collections::BTreeMap;

use crate::model::{AppRole, AppRoleId};

/// Every way `actual` differs from `target`, one line each; empty when they match.
pub fn differences(target: &[AppRole], actual: &[AppRole]) -> Vec<String> {
    let actual_by_id: BTreeMap<AppRoleId, &AppRole> = actual.iter().map(|r| (r.id, r)).collect();
    let target_by_id: BTreeMap<AppRoleId, &AppRole> = target.iter().map(|r| (r.id, r)).collect();
    let mut out = Vec::new();
    for (id, want) in &target_by_id {
        let name = want.display_name().or(want.value()).unwrap_or("(unnamed)");
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
        let fields = [
            (
                "value",
                format!("{:?}", want.value),
                format!("{:?}", got.value),
            ),
            (
                "displayName",
                format!("{:?}", want.display_name),
                format!("{:?}", got.display_name),
            ),
            (
                "description",
                format!("{:?}", want.description),
                format!("{:?}", got.description),
            ),
            (
                "isEnabled",
                want.is_enabled.to_string(),
                got.is_enabled.to_string(),
            ),
            (
                "allowedMemberTypes",
                format!("{:?}", want.allowed_member_types),
                format!("{:?}", got.allowed_member_types),
            ),
            (
                "origin",
                format!("{:?}", want.origin),
                format!("{:?}", got.origin),
            ),
            (
                "other properties",
                format!("{:?}", want.extra),
                format!("{:?}", got.extra),
            ),
        ];
        for (field, w, g) in fields {
            if w != g {
                out.push(format!("role {id} ({name}): {field} is {g}, expected {w}"));
            }
        }
    }
    for (id, got) in &actual_by_id {
        if !target_by_id.contains_key(id) {
            let name = got.display_name().or(got.value()).unwrap_or("(unnamed)");
            out.push(format!("role {id} ({name}) should not be there"));
        }
    }
    out
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
