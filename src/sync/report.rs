//! report: what a run did, as a short table for a terminal or one JSON summary line for
//! CloudWatch (counts a metric filter can read). Pure: builds strings, never prints.
//!
//! The JSON line is a contract: `{"event": "fedsync.sync.summary", "outcome", "dry_run",
//! "accounts_read", "accounts_failed", "roles_added", "roles_updated", "roles_enabled",
//! "roles_disabled", "roles_removed", "roles_unchanged", "roles_skipped", "roles_held",
//! "roles_needing_attention", "groups_created",
//! "assignments_added", "assignments_removed", "assignments_restored", "orphan_groups" (group
//! names), "duplicate_groups", "entries", "entry_cap", "entry_fill_percent" (app roles and the
//! collections sharing Graph's entry cap, against `max-app-roles`), "warnings" (lines; from 90%
//! of the cap on, one says so; so do the certificate figures within `certificate-warn-days`),
//! "certificate_expires_in_days" (days until the first SAML provider of ours holds no valid
//! configured certificate; negative once passed, null when no expiry is known),
//! "accounts_missing_certificate" (accounts with a provider of ours lacking a configured
//! certificate), "backup_key", "duration_ms"}`;
//! fields are only ever added. A run that fails before it has a report prints
//! `{"event", "outcome": "failed", "exit_code", "error", "duration_ms"}` (the error as one line).
//! A restore prints the same line with `"event":
//! "fedsync.restore.summary"` and `"restored_from"` (the backup key), and no accounts.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{Value, json};

use super::SyncReport;
use crate::exit::Failure;
use crate::plan::Action;

/// How the run ended, in one word.
pub fn outcome(report: &SyncReport) -> &'static str {
    if !report.refusals.is_empty() {
        "refused"
    } else if report.dry_run {
        "planned"
    } else if report.wrote() {
        "applied"
    } else {
        "in-sync"
    }
}

/// One JSON object summarising the run.
pub fn to_json(report: &SyncReport, duration: Duration) -> Value {
    let plan = &report.plan;
    let mut line = json!({
        "event": "fedsync.sync.summary",
        "outcome": outcome(report),
        "dry_run": report.dry_run,
        "accounts_read": report.accounts_read(),
        "accounts_failed": report.accounts_failed(),
        "roles_added": plan.adding(),
        "roles_updated": plan.count(Action::Update),
        "roles_enabled": plan.count(Action::Enable),
        "roles_disabled": plan.count(Action::Disable),
        "roles_removed": plan.count(Action::Remove),
        "roles_unchanged": plan.unchanged,
        "roles_skipped": plan.skipped.len(),
        "roles_held": plan.held.len(),
        "roles_needing_attention": plan.held.iter().filter(|h| h.needs_attention).count(),
        "groups_created": report.groups_created.len(),
        "assignments_added": report.assignments_added,
        "assignments_removed": report.assignments_removed,
        "assignments_restored": report.assignments_restored,
        "orphan_groups": report.orphan_groups(),
        "duplicate_groups": report.duplicate_groups,
        "entries": report.fill.entries,
        "entry_cap": report.fill.cap,
        "entry_fill_percent": report.fill.percent,
        "warnings": report.warnings(),
        "certificate_expires_in_days": report.certificates.expires_in_days,
        "accounts_missing_certificate": report.certificates.accounts_missing_certificate.len(),
        "backup_key": report.backup_key,
        "duration_ms": duration.as_millis() as u64,
    });
    if let Some(key) = &report.restored_from {
        line["event"] = json!("fedsync.restore.summary");
        line["restored_from"] = json!(key);
        if let Value::Object(map) = &mut line {
            map.remove("accounts_read");
            map.remove("accounts_failed");
            map.remove("certificate_expires_in_days");
            map.remove("accounts_missing_certificate");
        }
    }
    line
}

/// The summary line of a run that failed (`restore`: the backup key it was restoring).
pub fn failed_json(restore: Option<&str>, failure: &Failure, duration: Duration) -> Value {
    let mut line = json!({
        "event": "fedsync.sync.summary",
        "outcome": "failed",
        "exit_code": failure.status.code(),
        "error": format!("{:#}", failure.error),
        "duration_ms": duration.as_millis() as u64,
    });
    if let Some(key) = restore {
        line["event"] = json!("fedsync.restore.summary");
        line["restored_from"] = json!(key);
    }
    line
}

/// A short table for a terminal.
pub fn to_text(report: &SyncReport, duration: Duration) -> String {
    let plan = &report.plan;
    let mut out = String::new();
    let verb = if report.dry_run { "would be" } else { "" };
    match &report.restored_from {
        Some(key) => {
            let _ = writeln!(out, "fedsync restore: {}", outcome(report));
            let _ = writeln!(out, "  from         {key}");
        }
        None => {
            let _ = writeln!(out, "fedsync sync: {}", outcome(report));
            let _ = writeln!(
                out,
                "  accounts     {} read, {} failed",
                report.accounts_read(),
                report.accounts_failed()
            );
        }
    }
    let _ = writeln!(
        out,
        "  roles        {} added, {} updated, {} enabled, {} disabled, {} removed, {} unchanged{}",
        plan.adding(),
        plan.count(Action::Update),
        plan.count(Action::Enable),
        plan.count(Action::Disable),
        plan.count(Action::Remove),
        plan.unchanged,
        if verb.is_empty() {
            String::new()
        } else {
            format!(" ({verb})")
        },
    );
    if !plan.held.is_empty() {
        let attention = plan.held.iter().filter(|h| h.needs_attention).count();
        let _ = writeln!(
            out,
            "  held         {} (left as they are; {attention} need a person)",
            plan.held.len()
        );
    }
    let created = if report.dry_run {
        report.groups_to_create().len()
    } else {
        report.groups_created.len()
    };
    let _ = writeln!(
        out,
        "  groups       {created} created{}",
        if report.dry_run { " (would be)" } else { "" }
    );
    if report.dry_run {
        let count = |action: crate::plan::AssignmentAction| {
            plan.assignments
                .iter()
                .filter(|a| a.action == action)
                .count()
        };
        use crate::plan::AssignmentAction::{Add, Remove, Restore};
        let _ = writeln!(
            out,
            "  assignments  {} added, {} removed, {} restored (would be)",
            count(Add),
            count(Remove),
            count(Restore)
        );
    } else {
        let _ = writeln!(
            out,
            "  assignments  {} added, {} removed, {} restored",
            report.assignments_added, report.assignments_removed, report.assignments_restored
        );
    }
    let _ = writeln!(
        out,
        "  entries      {} of max-app-roles {} ({}% full)",
        report.fill.entries, report.fill.cap, report.fill.percent
    );
    if report.restored_from.is_none() {
        let certificates = &report.certificates;
        let expiry = match certificates.expires_in_days {
            Some(days) => format!("earliest expiry in {days} days"),
            None => "no expiry known".to_owned(),
        };
        let _ = writeln!(
            out,
            "  certificates {expiry}, {} accounts lack a configured one",
            certificates.accounts_missing_certificate.len()
        );
    }
    let _ = writeln!(
        out,
        "  backup       {}",
        report
            .backup_key
            .as_deref()
            .unwrap_or("none (nothing written)")
    );
    let _ = writeln!(out, "  duration     {:.1} s", duration.as_secs_f64());
    if let Some(key) = &report.restored_from
        && report.plan.count(Action::Disable) > 0
        && report.refusals.is_empty()
    {
        let _ = writeln!(
            out,
            "Roles the backup does not hold are disabled{}; `fedsync restore {key}` again drops them.",
            if report.dry_run { " (would be)" } else { "" }
        );
    }
    let orphans = report.orphan_groups();
    if !orphans.is_empty() {
        let _ = writeln!(
            out,
            "Groups whose role is leaving (not deleted): {}",
            orphans.join(", ")
        );
    }
    if !report.duplicate_groups.is_empty() {
        let _ = writeln!(
            out,
            "Group names fedsync owns more than once (only one is assigned): {}",
            report.duplicate_groups.join(", ")
        );
    }
    if !report.restores_skipped.is_empty() {
        let _ = writeln!(
            out,
            "Not restored, no longer in the directory: {}",
            report.restores_skipped.join(", ")
        );
    }
    for warning in report.warnings() {
        let _ = writeln!(out, "Warning: {warning}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Inventory;
    use crate::plan::{PlanSettings, plan};

    fn empty_report() -> SyncReport {
        let inventory = Inventory::new(crate::model::Listing::Organization, Vec::new());
        let current = crate::model::Current::of_app_roles("sp", Vec::new());
        let plan = plan(
            &inventory,
            &current,
            &crate::model::SyncState::default(),
            &PlanSettings::default(),
        )
        .unwrap();
        SyncReport {
            fill: crate::plan::guardrail::fill(&plan, &Default::default()),
            certificates: Default::default(),
            plan,
            inventory,
            refusals: Vec::new(),
            dry_run: false,
            backup_key: None,
            restored_from: None,
            groups_created: Vec::new(),
            assignments_added: 0,
            assignments_removed: 0,
            assignments_restored: 0,
            restores_skipped: Vec::new(),
            duplicate_groups: Vec::new(),
        }
    }

    #[test]
    fn outcomes() {
        let mut r = empty_report();
        assert_eq!(outcome(&r), "in-sync");
        r.backup_key = Some("k".into());
        assert_eq!(outcome(&r), "applied");
        r.dry_run = true;
        assert_eq!(outcome(&r), "planned");
    }

    #[test]
    fn the_json_summary_carries_the_counts() {
        let mut r = empty_report();
        r.backup_key = Some("manifests/x.json".into());
        r.assignments_added = 2;
        let v = to_json(&r, Duration::from_millis(1500));
        assert_eq!(v["event"], "fedsync.sync.summary");
        assert_eq!(v["outcome"], "applied");
        assert_eq!(v["assignments_added"], 2);
        assert_eq!(v["backup_key"], "manifests/x.json");
        assert_eq!(v["duration_ms"], 1500);
        assert!(to_text(&r, Duration::from_millis(1500)).contains("backup       manifests/x.json"));
    }

    #[test]
    fn a_restore_names_its_backup_and_has_no_accounts() {
        let mut r = empty_report();
        r.restored_from = Some("manifests/20261128T090507.123Z-sp.json".into());
        let v = to_json(&r, Duration::from_millis(10));
        assert_eq!(v["event"], "fedsync.restore.summary");
        assert_eq!(v["restored_from"], "manifests/20261128T090507.123Z-sp.json");
        assert!(v.get("accounts_read").is_none());
        let text = to_text(&r, Duration::from_millis(10));
        assert!(
            text.starts_with("fedsync restore: in-sync\n  from         manifests/"),
            "{text}"
        );
    }
}
