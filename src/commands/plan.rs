//! plan: `fedsync plan --inventory FILE --manifest FILE` — plans offline from two files; without
//! them, plans live from AWS and Graph (the pipeline of `sync --dry-run`) and prints the plan.
//!
//! Validates its settings (flags, environment, SSM, config file) and reads and validates both
//! files before planning; a bad setting or file ends with exit 2 naming it. Writes nothing but
//! the plan on stdout.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, anyhow};

use super::sync::{Run, execute, release_held};
use super::{Global, block_on, load_settings};
use crate::cli::{OutputFormat, PlanArgs};
use crate::exit::{ExitStatus, Failure};
use crate::model::{Current, Inventory, ServicePrincipal, SyncState};
use crate::plan::guardrail::{self, Fill, Refusal};
use crate::plan::{self, Plan, render};

pub fn run(args: &PlanArgs, global: &Global) -> Result<ExitStatus, Failure> {
    let (Some(inventory), Some(manifest)) = (&args.inventory, &args.manifest) else {
        return live(args, global);
    };
    let inputs = global.inputs(args.settings.flags());
    // Offline: the AWS config is loaded only to read SSM, when a prefix is set.
    let settings = block_on(load_settings(&inputs, None))??;
    let (mut settings, mut guardrails) = settings.plan_settings().map_err(Failure::invalid)?;
    guardrails.allow_removals = args.allow_removals;
    settings.release_held = release_held(&args.release_held)?;

    let inventory_text = read_input(inventory, "inventory")?;
    let manifest_text = read_input(manifest, "manifest")?;
    let inventory = Inventory::from_json(&inventory_text)
        .with_context(|| format!("inventory {} is not valid", inventory.display()))
        .map_err(Failure::invalid)?;
    let sp = ServicePrincipal::from_json(&manifest_text)
        .with_context(|| format!("manifest {} is not valid", manifest.display()))
        .map_err(Failure::invalid)?;

    let current = Current::of_app_roles(&sp.id, sp.app_roles);
    let plan = plan::plan(&inventory, &current, &SyncState::default(), &settings)
        .context("cannot plan from these inputs")
        .map_err(Failure::invalid)?;
    let refusals = guardrail::check(&plan, &guardrails);
    let fill = guardrail::fill(&plan, &guardrails);
    finish(&plan, &refusals, &fill, args.output)
}

/// Plans from AWS and Graph as they are now: `sync --dry-run`, printed as a plan.
fn live(args: &PlanArgs, global: &Global) -> Result<ExitStatus, Failure> {
    let run = Run {
        flags: args.settings.flags(),
        dry_run: true,
        allow_removals: args.allow_removals,
        release_held: &args.release_held,
        restore: None,
    };
    let report = execute(&run, global)?;
    finish(&report.plan, &report.refusals, &report.fill, args.output)
}

/// Prints the plan; exit 3 when refused, 4 when some accounts or roles could not be read or
/// decided.
fn finish(
    plan: &Plan,
    refusals: &[Refusal],
    fill: &Fill,
    output: OutputFormat,
) -> Result<ExitStatus, Failure> {
    fill.warn();
    let rendered = match output {
        OutputFormat::Text => render::to_text(plan, refusals, fill),
        OutputFormat::Json => format!("{:#}\n", render::to_json(plan, refusals, fill)),
    };
    crate::printer::stdout(&rendered)?;

    if !refusals.is_empty() {
        let reasons: Vec<String> = refusals.iter().map(ToString::to_string).collect();
        return Err(Failure::refused(anyhow!(
            "plan refused: {}",
            reasons.join("; ")
        )));
    }
    Ok(if plan.needs_attention() {
        ExitStatus::Partial
    } else {
        ExitStatus::Success
    })
}

/// Reads a file, or standard input for `-`.
pub(super) fn read_input(path: &Path, what: &str) -> Result<String, Failure> {
    let result = if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map(|_| text)
    } else {
        std::fs::read_to_string(path)
    };
    result
        .with_context(|| format!("cannot read {what} {}", path.display()))
        .map_err(Failure::invalid)
}
