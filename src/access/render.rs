//! render: an [`AccessReport`] as text for people, JSON for programs (schema
//! `fedsync.access/v1`), and CSV for access reviews (one row per user, role and path).
//!
//! CSV cells that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, a tab
//! or a carriage return) get a leading `'`: names come from the directory, where anyone who can
//! name a group could otherwise plant one. Pure: returns strings, prints nothing.

use serde_json::{Value, json};

use super::join::{AccessReport, RoleAccess};

/// The JSON schema name; bump it when a field changes meaning or goes away.
pub const JSON_SCHEMA: &str = "fedsync.access/v1";

/// The CSV header, in column order.
pub const CSV_HEADER: [&str; 9] = [
    "user",
    "user_display_name",
    "user_id",
    "account_id",
    "role_name",
    "role_arn",
    "role_display_name",
    "via",
    "role_enabled",
];

const DISABLED: &str = "disabled: gone from AWS or no longer trusting our provider";

/// One block per role: its synced group, then each holder and the path they hold it by.
pub fn to_text(report: &AccessReport) -> String {
    let mut out = String::new();
    for role in &report.roles {
        out.push_str(&format!(
            "{}  ({}:{})",
            role.display_name, role.account_id, role.role_name
        ));
        if !role.enabled {
            out.push_str(&format!("  [{DISABLED}]"));
        }
        out.push('\n');
        match &role.synced_group {
            Some(g) if g.assigned => {
                out.push_str(&format!("  synced group: {} (assigned)\n", g.display_name));
            }
            Some(g) => out.push_str(&format!(
                "  synced group: {} (not assigned to the role: its members do not hold it)\n",
                g.display_name
            )),
            None => out.push_str("  synced group: none\n"),
        }
        for empty in empty_groups(role) {
            out.push_str(&format!("  group {empty} is assigned but has no users\n"));
        }
        if role.holders.is_empty() {
            out.push_str("  no holders\n");
        }
        let width = role
            .holders
            .iter()
            .map(|h| h.user.chars().count())
            .max()
            .unwrap_or(0);
        for h in &role.holders {
            out.push_str(&format!("  {:width$}  {}\n", h.user, h.via()));
        }
        out.push('\n');
    }
    let holders: usize = report.roles.iter().map(|r| r.holders.len()).sum();
    let mut users: Vec<&str> = report
        .roles
        .iter()
        .flat_map(|r| r.holders.iter().map(|h| h.user_id.as_str()))
        .collect();
    users.sort_unstable();
    users.dedup();
    out.push_str(&format!(
        "{} {}, {} {} ({} {})\n",
        report.roles.len(),
        plural(report.roles.len(), "role", "roles"),
        holders,
        plural(holders, "holding", "holdings"),
        users.len(),
        plural(users.len(), "user", "users"),
    ));
    for orphan in &report.orphaned_assignments {
        out.push_str(&format!(
            "! {} {} is assigned to app role {}, which the app no longer has\n",
            orphan.principal_type,
            orphan.display_name.as_deref().unwrap_or(&orphan.id),
            orphan.app_role_id,
        ));
    }
    out
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// Assigned groups that gave no holder.
fn empty_groups(role: &RoleAccess) -> Vec<&str> {
    role.assigned
        .iter()
        .filter(|p| p.principal_type == "Group")
        .filter_map(|p| p.display_name.as_deref())
        .filter(|name| {
            !role
                .holders
                .iter()
                .any(|h| h.via_groups.first().map(String::as_str) == Some(*name))
        })
        .collect()
}

/// `{"schema", "roles": [{…, "holders": [{…, "via"}]}], "orphaned_assignments"}`.
pub fn to_json(report: &AccessReport) -> Value {
    let mut roles = Vec::with_capacity(report.roles.len());
    for role in &report.roles {
        let mut value = serde_json::to_value(role).unwrap_or(Value::Null);
        if let Some(holders) = value.get_mut("holders").and_then(Value::as_array_mut) {
            for (h, holder) in holders.iter_mut().zip(&role.holders) {
                h["via"] = Value::from(holder.via());
            }
        }
        roles.push(value);
    }
    json!({
        "schema": JSON_SCHEMA,
        "roles": roles,
        "orphaned_assignments": serde_json::to_value(&report.orphaned_assignments).unwrap_or(Value::Null),
    })
}

/// One row per holder: user, role, and the path they hold it by.
pub fn to_csv(report: &AccessReport) -> Result<String, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(CSV_HEADER)?;
    for role in &report.roles {
        for h in &role.holders {
            let enabled = if role.enabled { "true" } else { "false" };
            writer.write_record(
                [
                    h.user.as_str(),
                    h.display_name.as_deref().unwrap_or(""),
                    &h.user_id,
                    role.account_id.as_str(),
                    &role.role_name,
                    &role.role_arn,
                    &role.display_name,
                    &h.via(),
                    enabled,
                ]
                .map(defuse),
            )?;
        }
    }
    let bytes = writer.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// A cell a spreadsheet will not run as a formula.
fn defuse(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::join::{join, tests::directory};

    #[test]
    fn text_shows_each_role_its_group_and_holders_with_their_paths() {
        let text = to_text(&join(&directory()));
        assert_eq!(
            text,
            "AWS 111111111111 - Admin  (111111111111:Admin)
  synced group: G admins (assigned)
  alice@contoso.com  direct
  bob@contoso.com    group G admins
  carol@contoso.com  group G admins > group G platform

AWS 111111111111 - Old  (111111111111:Old)  [disabled: gone from AWS or no longer trusting our provider]
  synced group: none
  dave@contoso.com  direct

2 roles, 4 holdings (4 users)
! User User erin is assigned to app role 3b0a1bd0-5ea7-5a6b-a8e4-3b9b9b4e5d3b, which the app no longer has
"
            .replace(
                "3b0a1bd0-5ea7-5a6b-a8e4-3b9b9b4e5d3b",
                &crate::model::AppRoleId::for_value("gone").to_string()
            )
        );
    }

    #[test]
    fn json_has_the_schema_and_a_via_per_holder() {
        let value = to_json(&join(&directory()));
        assert_eq!(value["schema"], JSON_SCHEMA);
        let holders = value["roles"][0]["holders"].as_array().unwrap();
        assert_eq!(holders[2]["user"], "carol@contoso.com");
        assert_eq!(holders[2]["via"], "group G admins > group G platform");
        assert_eq!(
            holders[2]["via_groups"],
            serde_json::json!(["G admins", "G platform"])
        );
        assert_eq!(value["roles"][1]["enabled"], false);
        assert_eq!(value["orphaned_assignments"][0]["id"], "erin");
    }

    #[test]
    fn csv_has_one_row_per_holder_and_quotes_what_needs_it() {
        let mut d = directory();
        if let Some(u) = d.users.get_mut(&crate::access::join::tests::oid("alice")) {
            u.display_name = Some("=HYPERLINK(\"x\"), \"Al\"".into());
        }
        let text = to_csv(&join(&d)).unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        assert_eq!(reader.headers().unwrap(), CSV_HEADER.as_slice());
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 4);
        assert_eq!(&rows[0][1], "'=HYPERLINK(\"x\"), \"Al\"");
        assert_eq!(&rows[2][7], "group G admins > group G platform");
        assert_eq!(&rows[3][8], "false");
    }
}
