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
use crate::model::AccountId;
use crate::plan::render;
use crate::settings::Flags;
use crate::store::S3Store;
use crate::sync::{self, Deadline, SyncContext, SyncReport, report};

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
}

/// Loads and checks the settings (exit 2), runs the pipeline, and maps its errors to exit codes.
pub(super) fn execute(run: &Run<'_>, global: &Global) -> Result<SyncReport, Failure> {
    let started = Instant::now();
    let inputs = global.inputs(run.flags.clone());
    let options = AwsOptions::default();
    let result = block_on(async {
        let sdk = aws::load_config(&options).await;
        let loaded = load_settings(&inputs, Some(&sdk)).await?;
        let mut settings = loaded.sync(Some(&sdk)).await.map_err(Failure::invalid)?;
        settings.guardrails.allow_removals |= run.allow_removals;
        settings.plan.release_held = release_held(run.release_held)?;
        let graph =
            GraphClient::new(settings.graph(), RetryPolicy::default()).map_err(Failure::from)?;
        let s3 = aws_sdk_s3::Client::new(&sdk);
        let times = lease_times()?;
        let store = S3Store::new(s3.clone(), settings.backup.clone()).with_lease_times(times);
        let ctx = SyncContext {
            sdk: &sdk,
            aws_options: &options,
            directory: &graph,
            store: &store,
            observer: &Quiet,
            run_id: uuid::Uuid::new_v4().to_string(),
            now: time::OffsetDateTime::now_utc,
            verify_waits: VERIFY_WAITS.to_vec(),
            deadline: Deadline::since(started, times.deadline),
        };
        Ok::<_, Failure>(match run.restore {
            Some(key) => {
                let backups = BackupStore::new(s3, settings.backup.clone());
                sync::restore(&settings, &ctx, &backups, key, run.dry_run).await
            }
            None => sync::run(&settings, &ctx, run.dry_run).await,
        })
    })??;
    match result {
        Ok(report) => Ok(report),
        Err(e) if e.is_invalid_input() => Err(Failure::invalid(e)),
        Err(e) => Err(Failure::from(e)),
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
        },
        global,
    );
    let report = match executed {
        Ok(report) => report,
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
    let rendered = match output {
        OutputFormat::Text => format!(
            "{}\n{}",
            render::to_text(&report.plan, &report.refusals, &report.fill),
            report::to_text(&report, duration)
        ),
        OutputFormat::Json => format!("{}\n", report::to_json(&report, duration)),
    };
    crate::printer::stdout(&rendered)?;
    if !report.refusals.is_empty() {
        let reasons: Vec<String> = report.refusals.iter().map(ToString::to_string).collect();
        return Err(Failure::refused(anyhow::anyhow!(
            "plan refused, nothing written: {}",
            reasons.join("; ")
        )));
    }
    Ok(if report.needs_attention() {
        ExitStatus::Partial
    } else {
        ExitStatus::Success
    })
}
