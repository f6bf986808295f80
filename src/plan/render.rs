//! render: a [`Plan`] as text for people (like a Terraform plan) and as JSON for programs.
//!
//! The JSON is a contract, schema `fedsync.plan/v1`:
//!
//! ```text
//! { "schema": "fedsync.plan/v1",
//!   "summary":  { "add", "update", "enable", "disable", "remove", "unchanged", "unmanaged",
//!                 "skipped", "failed_accounts", "held", "needs_attention", "groups_create",
//!                 "groups_reuse", "groups_refused", "assignments_add", "assignments_remove",
//!                 "assignments_restore": <counts>, "losing_a_role", "regaining_a_role":
//!                 { "users", "groups" }, "entries", "entry_cap", "entry_fill_percent" },
//!   "changes":  [ { "action": "add|update|enable|disable|remove", "id", "value", "display_name",
//!                   "reason": "new-role|naming-changed|back-in-aws|gone-from-aws|account-gone|released|disabled-earlier|in-backup|not-in-backup",
//!                   "fields": [ { "field", "before", "after" } ],      // fields: update/enable only
//!                   "detail": "the evidence, one line" } ],            // detail: disable/remove only
//!   "skipped":  [ { "role", "value", "reason" } ],
//!   "failed_accounts": [ { "account", "name", "stage", "reason", "held_roles" } ],
//!   "held":     [ { "id" (null: a role not added), "value", "display_name", "account",
//!                   "reason": "account-excluded|account-not-included|account-suspended|account-pending-closure|account-state-unknown|account-unreadable|account-not-listed|not-made-by-fedsync|cant-tell|unknown-certificate",
//!                   "detail", "needs_attention" } ],
//!   "released_nothing": [ <accounts named by --release-held that held nothing> ],
//!   "groups":   [ { "display_name", "mail_nickname", "app_role_id", "value",
//!                   "action": "create|reuse|refused", "id", "refused": [ { "id", "owners" } ],
//!                   "duplicates": [ ids ] } ],
//!   "skipped_groups": [ { "display_name", "value", "reason" } ],
//!   "assignments": [ { "action": "add|remove|restore", "app_role_id", "role", "principal_id",
//!                      "group_to_create", "principal_type", "principal_display_name",
//!                      "assignment_id", "record",
//!                      "reason": "synced-group|role-disabled|role-dropped|role-back|in-backup" } ],
//!   "orphan_groups": [ { "id", "display_name" } ],
//!   "forget":   [ { "app_role_id", "principal_id" } ],
//!   "refusals": [ { "kind": "too-many-removals|over-entry-cap", "message", ...counts } ],
//!   "not_built": null | { "adding" },   // counted over the entry cap: the plan was not built,
//!                                       // so changes, groups and assignments are empty
//!   "target":   [ <appRole as Graph takes it> ] }
//! ```
//! Fields are only ever added to this schema; a removal or rename bumps the version.
//!
//! Pure: builds strings and values, never prints.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::guardrail::{Fill, Refusal};
use super::{Action, AssignmentAction, GroupAction, Plan, PlannedGroup};

/// The schema name of [`to_json`]'s output.
pub const SCHEMA: &str = "fedsync.plan/v1";

fn symbol(action: Action) -> &'static str {
    match action {
        Action::Add => "+",
        Action::Update | Action::Enable => "~",
        Action::Disable => "-",
        Action::Remove => "x",
    }
}

fn verb(action: Action) -> &'static str {
    match action {
        Action::Add => "add",
        Action::Update => "update",
        Action::Enable => "enable",
        Action::Disable => "disable",
        Action::Remove => "remove",
    }
}

/// The plan for a terminal: one block per change, then what was left alone and why.
pub fn to_text(plan: &Plan, refusals: &[Refusal], fill: &Fill) -> String {
    let mut out = String::new();
    if let Some(not_built) = plan.not_built {
        let _ = writeln!(
            out,
            "Not planned in detail: counted from the inventory, the plan adds {} app roles, over the entry cap (below); nothing else was planned.",
            not_built.adding
        );
    } else if plan.is_empty() {
        out.push_str("No changes: the app roles are in step with AWS.\n");
    } else {
        out.push_str("fedsync will change the AWS app's roles as follows (+ add, ~ update or enable, - disable, x remove):\n\n");
    }
    for change in &plan.changes {
        let name = change
            .display_name
            .as_deref()
            .unwrap_or("(no display name)");
        let _ = writeln!(
            out,
            "  {} {:<7} {name}",
            symbol(change.action),
            verb(change.action)
        );
        let _ = writeln!(out, "            value: {}", change.value);
        for field in &change.fields {
            let _ = writeln!(
                out,
                "            {}: {} -> {}",
                field.field,
                quoted(field.before.as_deref()),
                quoted(field.after.as_deref())
            );
        }
        let mut why = change.reason.describe().to_owned();
        if change.action == Action::Disable {
            why.push_str("; its assignments will be removed");
        }
        let _ = writeln!(out, "            why:   {why}");
        if let Some(detail) = &change.detail {
            let _ = writeln!(out, "            evidence: {detail}");
        }
    }
    if !plan.is_empty() {
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "Plan: {} to add, {} to update, {} to enable, {} to disable, {} to remove; {} unchanged, {} not managed by fedsync.",
        plan.adding(),
        plan.count(Action::Update),
        plan.count(Action::Enable),
        plan.count(Action::Disable),
        plan.count(Action::Remove),
        plan.unchanged,
        plan.unmanaged,
    );
    if !plan.skipped.is_empty() {
        out.push_str("\nSkipped (not synced, never truncated):\n");
        for s in &plan.skipped {
            let _ = writeln!(out, "  ! {}: {}", s.role, s.reason);
        }
    }
    if !plan.failed_accounts.is_empty() {
        out.push_str("\nAccounts not read (their roles are left as they are):\n");
        for a in &plan.failed_accounts {
            let _ = writeln!(
                out,
                "  ! {} ({}): {}: {} ({} app role{} kept as {})",
                a.account,
                a.name,
                a.stage,
                a.reason,
                a.held_roles,
                if a.held_roles == 1 { "" } else { "s" },
                if a.held_roles == 1 {
                    "it is"
                } else {
                    "they are"
                },
            );
        }
    }
    // Roles of unreadable accounts are counted under their account above.
    let held: Vec<_> = plan
        .held
        .iter()
        .filter(|h| h.reason != super::HoldReason::AccountUnreadable)
        .collect();
    if !held.is_empty() {
        out.push_str("\nHeld (left exactly as they are; ! needs a person):\n");
        for h in held {
            let name = h.display_name.as_deref().unwrap_or("(no display name)");
            let verb = if h.id.is_some() { "held" } else { "not added" };
            let _ = writeln!(
                out,
                "  {} {verb}: {name} ({})",
                if h.needs_attention { "!" } else { "=" },
                h.reason.describe()
            );
            let _ = writeln!(out, "            value: {}", h.value);
            let _ = writeln!(out, "            why:   {}", h.detail);
        }
    }
    if !plan.released_nothing.is_empty() {
        let accounts: Vec<String> = plan
            .released_nothing
            .iter()
            .map(ToString::to_string)
            .collect();
        let _ = writeln!(
            out,
            "\n--release-held let nothing go in {} (roles held by a failed read are never released)",
            accounts.join(", ")
        );
    }
    groups_text(&mut out, plan);
    assignments_text(&mut out, plan);
    if !plan.skipped_groups.is_empty() {
        out.push_str("\nGroups that cannot be created:\n");
        for g in &plan.skipped_groups {
            let _ = writeln!(out, "  ! {}: {}", g.value, g.reason);
        }
    }
    let _ = writeln!(
        out,
        "\nEntries: {} of max-app-roles {} ({}% full).",
        fill.entries, fill.cap, fill.percent
    );
    if let Some(warning) = fill.warning() {
        let _ = writeln!(out, "  ! {warning}");
    }
    if !refusals.is_empty() {
        out.push_str("\nRefused (nothing will be written):\n");
        for r in refusals {
            let _ = writeln!(out, "  ! {r}");
        }
    }
    out
}

/// The groups the plan creates, and those it refuses; reused ones are counted.
fn groups_text(out: &mut String, plan: &Plan) {
    let create: Vec<&PlannedGroup> = plan
        .groups
        .iter()
        .filter(|g| g.action == GroupAction::Create)
        .collect();
    let refused: Vec<&PlannedGroup> = plan
        .groups
        .iter()
        .filter(|g| g.action == GroupAction::Refused)
        .collect();
    let duplicated: Vec<&PlannedGroup> = plan
        .groups
        .iter()
        .filter(|g| !g.duplicates.is_empty())
        .collect();
    if create.is_empty() && refused.is_empty() && duplicated.is_empty() {
        return;
    }
    out.push_str(
        "\nGroups (+ create, ! refused: a group of that name that fedsync does not own):\n",
    );
    for g in create {
        let _ = writeln!(out, "  + create  {} ({})", g.display_name, g.mail_nickname);
    }
    for g in refused {
        let owned: Vec<String> = g
            .refused
            .iter()
            .map(|f| {
                if f.owners.is_empty() {
                    format!("{} (no owner)", f.id)
                } else {
                    let owners: Vec<String> = f.owners.iter().map(ToString::to_string).collect();
                    format!("{} (owned by {})", f.id, owners.join(", "))
                }
            })
            .collect();
        let _ = writeln!(
            out,
            "  ! refused {}: group {}; fedsync neither assigns nor adds to it",
            g.display_name,
            owned.join(", ")
        );
    }
    for g in duplicated {
        let ids: Vec<String> = g.duplicates.iter().map(ToString::to_string).collect();
        let _ = writeln!(
            out,
            "  ! twice   {}: fedsync owns more groups of this name ({}); only {} is assigned",
            g.display_name,
            ids.join(", "),
            g.id.as_ref().map(ToString::to_string).unwrap_or_default()
        );
    }
}

/// The assignments the plan removes, restores and adds, and who loses or regains a role.
fn assignments_text(out: &mut String, plan: &Plan) {
    if plan.assignments.is_empty() {
        return;
    }
    out.push_str("\nAssignments (+ add, ~ restore, - remove):\n");
    for a in &plan.assignments {
        let (symbol, verb) = match a.action {
            AssignmentAction::Add => ("+", "assign"),
            AssignmentAction::Restore => ("~", "restore"),
            AssignmentAction::Remove => ("-", "remove"),
        };
        let _ = writeln!(
            out,
            "  {symbol} {verb:<7} {} {} role {}",
            a.principal_label(),
            if a.action == AssignmentAction::Remove {
                "from"
            } else {
                "to"
            },
            a.role
        );
        let _ = writeln!(out, "            why:   {}", a.reason.describe());
    }
    let ((users_out, groups_out), (users_back, groups_back)) =
        plan.principals_losing_and_regaining();
    let _ = writeln!(
        out,
        "Access: {users_out} users and {groups_out} groups lose a role; {users_back} users and {groups_back} groups get one back."
    );
}

fn quoted(v: Option<&str>) -> String {
    v.map_or_else(|| "(none)".to_owned(), |s| format!("{s:?}"))
}

/// The plan as JSON, schema [`SCHEMA`].
pub fn to_json(plan: &Plan, refusals: &[Refusal], fill: &Fill) -> Value {
    let (losing, regaining) = plan.principals_losing_and_regaining();
    let refusals: Vec<Value> = refusals
        .iter()
        .map(|r| {
            let mut v = json!(r);
            v["message"] = Value::String(r.to_string());
            v
        })
        .collect();
    json!({
        "schema": SCHEMA,
        "summary": {
            "add": plan.adding(),
            "update": plan.count(Action::Update),
            "enable": plan.count(Action::Enable),
            "disable": plan.count(Action::Disable),
            "remove": plan.count(Action::Remove),
            "unchanged": plan.unchanged,
            "unmanaged": plan.unmanaged,
            "skipped": plan.skipped.len(),
            "failed_accounts": plan.failed_accounts.len(),
            "held": plan.held.len(),
            "groups_create": plan.groups.iter().filter(|g| g.action == GroupAction::Create).count(),
            "groups_reuse": plan.groups.iter().filter(|g| g.action == GroupAction::Reuse).count(),
            "groups_refused": plan.groups.iter().filter(|g| g.action == GroupAction::Refused).count(),
            "assignments_add": plan.assignments.iter().filter(|a| a.action == AssignmentAction::Add).count(),
            "assignments_remove": plan.assignments.iter().filter(|a| a.action == AssignmentAction::Remove).count(),
            "assignments_restore": plan.assignments.iter().filter(|a| a.action == AssignmentAction::Restore).count(),
            "losing_a_role": {"users": losing.0, "groups": losing.1},
            "regaining_a_role": {"users": regaining.0, "groups": regaining.1},
            "needs_attention": plan.held.iter().filter(|h| h.needs_attention).count()
                + plan.failed_accounts.len(),
            "entries": fill.entries,
            "entry_cap": fill.cap,
            "entry_fill_percent": fill.percent,
        },
        "changes": plan.changes,
        "skipped": plan.skipped,
        "failed_accounts": plan.failed_accounts,
        "held": plan.held,
        "released_nothing": plan.released_nothing,
        "groups": plan.groups,
        "skipped_groups": plan.skipped_groups,
        "assignments": plan.assignments,
        "orphan_groups": plan.orphan_groups,
        "forget": plan.forget,
        "refusals": refusals,
        "not_built": plan.not_built,
        "target": plan.target,
    })
}
