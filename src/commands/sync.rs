//! sync: `fedsync sync [--dry-run]` — the scheduled job — and `fedsync restore KEY|latest`, which
//! takes the same path from a backup. Loads and checks the settings (exit 2
//! before anything else), runs [`crate::sync::run`], prints the plan and the report, and maps
//! the outcome to DESIGN.md's exit codes.

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use super::{Global, block_on, load_settings};
use crate::aws::inventory::Quiet;
use crate::aws::{self, AwsOptions};
use crate::backup::BackupStore;
use crate::cli::{OutputFormat, SyncArgs};
use crate::exit::{ExitStatus, Failure};
use crate::graph::{GraphClient, RetryPolicy};
use crate::lease::LeaseTimes;
use crate::model::{AccountId, AppName};
use crate::plan::render;
use crate::settings::Flags;
use crate::store::S3Store;
use crate::sync::{
    self, App, AppOutcome, Apps, Deadline, SyncContext, SyncError, SyncReport, report,
};

/// How long verify waits for Graph to catch up (replication) before reading back again.
const VERIFY_WAITS: [Duration; 3] = [
    Duration::from_secs(2),
    Duration::from_secs(4),
    Duration::from_secs(8),
];

/// The lease times of a run: the defaults, or for tests only, shorter ones from
/// `FEDSYNC_TEST_LEASE_SECONDS` (the lease's lifetime; renewed every quarter of it) and
/// `FEDSYNC_TEST_DEADLINE_SECONDS` (when a run stops beginning write steps). Not settings: they
/// let a test make a run overrun its lease.
fn lease_times() -> Result<LeaseTimes, Failure> {
    let seconds = |name: &str| -> Result<Option<Duration>, Failure> {
        let Ok(value) = std::env::var(name) else {
            return Ok(None);
        };
        match value.trim().parse::<f64>() {
            Ok(s) if s.is_finite() && s > 0.0 => Ok(Some(Duration::from_secs_f64(s))),
            _ => Err(Failure::invalid(anyhow::anyhow!(
                "{name}: {value:?} is not a positive number of seconds"
            ))),
        }
    };
    let mut times = LeaseTimes::default();
    if let Some(ttl) = seconds("FEDSYNC_TEST_LEASE_SECONDS")? {
        times = times.with_ttl(ttl);
    }
    if let Some(deadline) = seconds("FEDSYNC_TEST_DEADLINE_SECONDS")? {
        times.deadline = deadline;
    }
    Ok(times)
}

/// One run of the sync pipeline, as the command line asks for it.
pub(super) struct Run<'a> {
    pub flags: Flags,
    pub dry_run: bool,
    pub allow_removals: bool,
    /// `--release-held`, as typed.
    pub release_held: &'a [String],
    /// Restore this backup key instead of syncing from AWS.
    pub restore: Option<&'a str>,
    /// `--app`: only this app.
    pub app: Option<&'a str>,
}

/// Loads and checks the settings (exit 2), runs the pipeline for every app it takes (one for a
/// restore), and returns each app's outcome; a failure of the whole run (the settings, the
/// inventory) is the error.
pub(super) fn execute(run: &Run<'_>, global: &Global) -> Result<Vec<AppOutcome>, Failure> {
    let started = Instant::now();
    let inputs = global.inputs(run.flags.clone());
    let options = AwsOptions::default();
    block_on(async {
        let sdk = aws::load_config(&options).await;
        let loaded = load_settings(&inputs, Some(&sdk)).await?;
        let credential = loaded.credential(Some(&sdk)).await;
        let mut apps = loaded.sync_apps(&credential).map_err(Failure::invalid)?;
        let inventory = loaded.inventory().map_err(Failure::invalid)?;
        let route = apps.len() > 1;
        let chosen = super::chosen_apps(&loaded, run.app)?;
        apps.retain(|(name, _)| chosen.contains(name));
        if run.restore.is_some() && apps.len() > 1 {
            let names: Vec<String> = apps.iter().map(|(n, _)| n.to_string()).collect();
            return Err(Failure::invalid(anyhow::anyhow!(
                "the settings name {} apps ({}); say which to restore with --app NAME",
                apps.len(),
                names.join(", ")
            )));
        }
        let held = release_held(run.release_held)?;
        for (_, settings) in &mut apps {
            settings.guardrails.allow_removals |= run.allow_removals;
            settings.plan.release_held = held.clone();
        }
        let Some((_, first)) = apps.first() else {
            return Err(Failure::invalid(anyhow::anyhow!(
                "the settings name no app"
            )));
        };
        // The apps share the tenant and the sync app: one Graph client serves them all.
        let graph =
            GraphClient::new(first.graph(), RetryPolicy::default()).map_err(Failure::from)?;
        let s3 = aws_sdk_s3::Client::new(&sdk);
        let times = lease_times()?;
        let stores: Vec<S3Store> = apps
            .iter()
            .map(|(_, settings)| {
                S3Store::new(s3.clone(), settings.backup.clone()).with_lease_times(times)
            })
            .collect();
        let ctx = SyncContext {
            sdk: &sdk,
            aws_options: &options,
            directory: &graph,
            store: &stores[0],
            observer: &Quiet,
            run_id: uuid::Uuid::new_v4().to_string(),
            now: time::OffsetDateTime::now_utc,
            verify_waits: VERIFY_WAITS.to_vec(),
            deadline: Deadline::since(started, times.deadline),
        };
        match run.restore {
            Some(key) => {
                let (name, settings) = &apps[0];
                let backups = BackupStore::new(s3, settings.backup.clone());
                let result = sync::restore(settings, &ctx, &backups, key, run.dry_run).await;
                Ok(vec![AppOutcome {
                    name: name.clone(),
                    service_principal_id: settings.service_principal_id.clone(),
                    result,
                }])
            }
            None => {
                let run_apps = Apps {
                    apps: apps
                        .iter()
                        .zip(&stores)
                        .map(|((name, settings), store)| App {
                            name: name.clone(),
                            settings,
                            store,
                        })
                        .collect(),
                    inventory: &inventory,
                    route,
                };
                sync::run_apps(&run_apps, &ctx, run.dry_run)
                    .await
                    .map_err(Failure::from)
            }
        }
    })?
}

/// The exit status one app's outcome maps to.
pub(super) fn app_status(result: &Result<SyncReport, SyncError>) -> ExitStatus {
    match result {
        Ok(report) if !report.refusals.is_empty() => ExitStatus::Refused,
        Ok(report) if report.needs_attention() => ExitStatus::Partial,
        Ok(_) => ExitStatus::Success,
        Err(e) if e.is_invalid_input() => ExitStatus::Invalid,
        Err(_) => ExitStatus::Failed,
    }
}

/// How bad a status is, to take the worst of several apps': failed, invalid, refused,
/// partial, in sync.
fn severity(status: ExitStatus) -> u8 {
    match status {
        ExitStatus::Success => 0,
        ExitStatus::Partial => 1,
        ExitStatus::Refused => 2,
        ExitStatus::Invalid => 3,
        ExitStatus::Failed => 4,
    }
}

/// The failure one app's outcome is, when it is one.
fn app_failure(result: Result<SyncReport, SyncError>) -> Option<Failure> {
    match result {
        Ok(report) if !report.refusals.is_empty() => {
            let reasons: Vec<String> = report.refusals.iter().map(ToString::to_string).collect();
            Some(Failure::refused(anyhow::anyhow!(
                "plan refused, nothing written: {}",
                reasons.join("; ")
            )))
        }
        Ok(_) => None,
        Err(e) if e.is_invalid_input() => Some(Failure::invalid(e)),
        Err(e) => Some(Failure::from(e)),
    }
}

/// The outcome of the whole run: the worst app's.
pub(super) fn worst(outcomes: Vec<AppOutcome>) -> Result<ExitStatus, Failure> {
    worst_of(
        outcomes
            .into_iter()
            .map(|outcome| {
                let status = app_status(&outcome.result);
                let result = match app_failure(outcome.result) {
                    Some(failure) => Err(failure),
                    None => Ok(status),
                };
                (outcome.name, result)
            })
            .collect(),
    )
}

/// The worst of several apps' outcomes. A failure names its app when there were several; two
/// or more failures are one error naming each.
pub(super) fn worst_of(
    outcomes: Vec<(AppName, Result<ExitStatus, Failure>)>,
) -> Result<ExitStatus, Failure> {
    let many = outcomes.len() > 1;
    let mut status = ExitStatus::Success;
    let mut failures = Vec::new();
    for (name, outcome) in outcomes {
        let this = match &outcome {
            Ok(status) => *status,
            Err(failure) => failure.status,
        };
        if severity(this) > severity(status) {
            status = this;
        }
        if let Err(failure) = outcome {
            failures.push((name, failure));
        }
    }
    match failures.len() {
        0 => Ok(status),
        1 if !many => Err(failures.remove(0).1),
        1 => {
            let (name, failure) = failures.remove(0);
            Err(Failure {
                status: failure.status,
                error: failure.error.context(format!("app {name}")),
            })
        }
        _ => {
            let lines: Vec<String> = failures
                .iter()
                .map(|(name, f)| format!("app {name}: {:#}", f.error))
                .collect();
            Err(Failure {
                status,
                error: anyhow::anyhow!("{} apps failed: {}", failures.len(), lines.join("; ")),
            })
        }
    }
}

/// The accounts `--release-held` names; exit 2 on one that is not an account id.
pub(super) fn release_held(given: &[String]) -> Result<BTreeSet<AccountId>, Failure> {
    given
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<AccountId>()
                .map_err(|e| Failure::invalid(anyhow::anyhow!("--release-held: {e}")))
        })
        .collect()
}

/// Runs a sync, or with `restore` a restore of that backup key.
pub fn run(args: &SyncArgs, global: &Global, restore: Option<&str>) -> Result<ExitStatus, Failure> {
    let output = args.output.unwrap_or(if std::io::stdout().is_terminal() {
        OutputFormat::Text
    } else {
        OutputFormat::Json
    });
    if restore.is_some() && !args.release_held.is_empty() {
        return Err(Failure::invalid(anyhow::anyhow!(
            "--release-held is for fedsync sync and plan; a restore holds nothing"
        )));
    }
    let started = Instant::now();
    let executed = execute(
        &Run {
            flags: args.settings.flags(),
            dry_run: args.dry_run,
            allow_removals: args.allow_removals,
            release_held: &args.release_held,
            restore,
            app: args.settings.entra.app.as_deref(),
        },
        global,
    );
    let outcomes = match executed {
        Ok(outcomes) => outcomes,
        Err(failure) => {
            // In a container the summary line is what alarms read: a failed run has one too.
            if output == OutputFormat::Json {
                let line = report::failed_json(restore, &failure, started.elapsed());
                crate::printer::stdout(&format!("{line}\n"))?;
            }
            return Err(failure);
        }
    };
    let duration = started.elapsed();
    let many = outcomes.len() > 1;
    let mut rendered = String::new();
    for outcome in &outcomes {
        rendered.push_str(&match output {
            OutputFormat::Text => app_text(outcome, many, duration),
            OutputFormat::Json => format!("{}\n", app_json(outcome, restore, duration)),
        });
    }
    crate::printer::stdout(&rendered)?;
    worst(outcomes)
}

/// One app's summary line: the report's, or a failed run's, with the app, its service
/// principal and its exit code.
fn app_json(outcome: &AppOutcome, restore: Option<&str>, duration: Duration) -> serde_json::Value {
    let status = app_status(&outcome.result);
    let mut line = match &outcome.result {
        Ok(report) => report::to_json(report, duration),
        Err(e) => report::failed_json(
            restore,
            &Failure {
                status,
                error: anyhow::anyhow!("{}", crate::error_text::chain(e)),
            },
            duration,
        ),
    };
    line["app"] = serde_json::json!(outcome.name.as_str());
    line["service_principal_id"] = serde_json::json!(outcome.service_principal_id);
    line["exit_code"] = serde_json::json!(status.code());
    line
}

/// One app's plan and report for a terminal, under a heading naming the app when the run has
/// several.
fn app_text(outcome: &AppOutcome, many: bool, duration: Duration) -> String {
    let mut out = String::new();
    if many {
        out.push_str(&format!(
            "== app {} (service principal {}) ==\n",
            outcome.name, outcome.service_principal_id
        ));
    }
    match &outcome.result {
        Ok(report) => {
            out.push_str(&render::to_text(
                &report.plan,
                &report.refusals,
                &report.fill,
            ));
            out.push('\n');
            out.push_str(&report::to_text(report, duration));
        }
        Err(e) => out.push_str(&format!("failed: {}\n", crate::error_text::chain(e))),
    }
    if many {
        out.push('\n');
    }
    out
}
