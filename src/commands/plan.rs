//! plan: `fedsync plan --inventory FILE --manifest [NAME=]FILE…` — plans offline from an
//! inventory and one manifest per app; without them, plans live from AWS and Graph (the pipeline
//! of `sync --dry-run`) and prints each app's plan.
//!
//! Validates its settings (flags, environment, SSM, config file) and reads and validates both
//! files before planning; a bad setting or file ends with exit 2 naming it. Writes nothing but
//! the plan on stdout.

use std::borrow::Cow;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, anyhow};

use super::sync::{Run, execute, release_held};
use super::{Global, block_on, load_settings};
use crate::cli::{OutputFormat, PlanArgs};
use crate::exit::{ExitStatus, Failure};
use crate::model::{AppName, Current, Inventory, Routing, ServicePrincipal, SyncState};
use crate::plan::guardrail::{self, Fill, Refusal};
use crate::plan::{self, Plan, render};
use crate::settings::{Problems, Settings};

/// One app's plan, or why it has none.
struct AppPlan {
    name: AppName,
    result: Result<(Plan, Vec<Refusal>, Fill), Failure>,
}

pub fn run(args: &PlanArgs, global: &Global) -> Result<ExitStatus, Failure> {
    let Some(inventory) = &args.inventory else {
        return live(args, global);
    };
    let inputs = global.inputs(args.settings.flags());
    // Offline: the AWS config is loaded only to read SSM, when a prefix is set.
    let settings = block_on(load_settings(&inputs, None))??;
    let manifests = manifests(
        &settings,
        &args.manifest,
        args.settings.entra.app.as_deref(),
    )?;
    let held = release_held(&args.release_held)?;
    let inventory_text = read_input(inventory, "inventory")?;
    let inventory = Inventory::from_json(&inventory_text)
        .with_context(|| format!("inventory {} is not valid", inventory.display()))
        .map_err(Failure::invalid)?;
    let inventory = Arc::new(inventory);
    let mut apps = Vec::new();
    for (name, manifest) in manifests {
        let app = settings
            .for_app(&name)
            .map_err(|p| Failure::invalid(Problems(vec![p])))?;
        apps.push((name, manifest, app));
    }
    // Several apps: each plans the roles routed to it by the certificates on their providers.
    let routing = match settings.app_names().len() > 1 {
        true => {
            let mut certificates = Vec::new();
            for (_, _, app) in &apps {
                let app = app.inventory().map_err(Failure::invalid)?;
                certificates.push(app.saml_certificates.into_iter().collect());
            }
            Some(Routing::new(Arc::clone(&inventory), certificates))
        }
        false => None,
    };
    let mut plans = Vec::new();
    for (i, (name, manifest, app)) in apps.into_iter().enumerate() {
        let (mut plan_settings, mut guardrails) = app.plan_settings().map_err(Failure::invalid)?;
        guardrails.allow_removals = args.allow_removals;
        plan_settings.release_held = held.clone();
        let routed = match &routing {
            Some(routing) => Cow::Owned(routing.share(i)),
            None => Cow::Borrowed(&*inventory),
        };
        let manifest_text = read_input(&manifest, "manifest")?;
        let sp = ServicePrincipal::from_json(&manifest_text)
            .with_context(|| format!("manifest {} is not valid", manifest.display()))
            .map_err(Failure::invalid)?;
        let current = Current::of_app_roles(&sp.id, sp.app_roles);
        let plan = plan::plan(&routed, &current, &SyncState::default(), &plan_settings)
            .context("cannot plan from these inputs")
            .map_err(Failure::invalid)?;
        let refusals = guardrail::check(&plan, &guardrails);
        let fill = guardrail::fill(&plan, &guardrails);
        plans.push(AppPlan {
            name,
            result: Ok((plan, refusals, fill)),
        });
    }
    finish(plans, args.output)
}

/// The manifest of each app `--manifest [NAME=]FILE` names: a bare FILE is the app `--app`
/// names or the only one; `NAME=FILE` names an app of the settings, each at most once.
fn manifests(
    settings: &Settings,
    given: &[String],
    app: Option<&str>,
) -> Result<Vec<(AppName, PathBuf)>, Failure> {
    let invalid = |message: String| Failure::invalid(anyhow!("--manifest: {message}"));
    let mut manifests: Vec<(AppName, PathBuf)> = Vec::new();
    for item in given {
        let named = item
            .split_once('=')
            .and_then(|(name, file)| Some((name.parse::<AppName>().ok()?, file)))
            .filter(|(name, _)| settings.app_names().contains(name));
        let (name, file) = match named {
            Some((name, file)) => (name, PathBuf::from(file)),
            None => (super::one_app(settings, app)?.0, PathBuf::from(item)),
        };
        if manifests.iter().any(|(n, _)| *n == name) {
            return Err(invalid(format!("app {name} is given two manifests")));
        }
        manifests.push((name, file));
    }
    if manifests.is_empty() {
        return Err(invalid(
            "none given; --inventory needs at least one".to_owned(),
        ));
    }
    manifests.sort();
    Ok(manifests)
}

/// Plans from AWS and Graph as they are now: `sync --dry-run`, printed as a plan per app.
fn live(args: &PlanArgs, global: &Global) -> Result<ExitStatus, Failure> {
    let run = Run {
        flags: args.settings.flags(),
        dry_run: true,
        allow_removals: args.allow_removals,
        release_held: &args.release_held,
        restore: None,
        app: args.settings.entra.app.as_deref(),
    };
    let outcomes = execute(&run, global)?;
    let plans = outcomes
        .into_iter()
        .map(|outcome| AppPlan {
            name: outcome.name,
            result: outcome
                .result
                .map(|report| (report.plan, report.refusals, report.fill))
                .map_err(|e| match e.is_invalid_input() {
                    true => Failure::invalid(e),
                    false => Failure::from(e),
                }),
        })
        .collect();
    finish(plans, args.output)
}

/// Prints every app's plan (under a heading naming it when there are several; JSON: one
/// document, or an array of them, each with its `app`); exits as the worst app: 3 when
/// refused, 4 when some accounts or roles could not be read or decided.
fn finish(plans: Vec<AppPlan>, output: OutputFormat) -> Result<ExitStatus, Failure> {
    let many = plans.len() > 1;
    let mut text = String::new();
    let mut documents = Vec::new();
    let mut outcomes = Vec::new();
    for AppPlan { name, result } in plans {
        let outcome = match result {
            Ok((plan, refusals, fill)) => {
                fill.warn();
                if many {
                    text.push_str(&format!("== app {name} ==\n"));
                }
                text.push_str(&render::to_text(&plan, &refusals, &fill));
                let mut document = render::to_json(&plan, &refusals, &fill);
                document["app"] = serde_json::json!(name.as_str());
                documents.push(document);
                if !refusals.is_empty() {
                    let reasons: Vec<String> = refusals.iter().map(ToString::to_string).collect();
                    Err(Failure::refused(anyhow!(
                        "plan refused: {}",
                        reasons.join("; ")
                    )))
                } else if plan.needs_attention() {
                    Ok(ExitStatus::Partial)
                } else {
                    Ok(ExitStatus::Success)
                }
            }
            Err(failure) => {
                if many {
                    text.push_str(&format!("== app {name} ==\nno plan: see the error below\n"));
                }
                Err(failure)
            }
        };
        outcomes.push((name, outcome));
    }
    let rendered = match output {
        OutputFormat::Text => text,
        // One app that could not plan prints nothing but its error, as before there were apps.
        OutputFormat::Json if !many && documents.is_empty() => String::new(),
        OutputFormat::Json if !many => format!("{:#}\n", documents.remove(0)),
        OutputFormat::Json => format!("{:#}\n", serde_json::Value::Array(documents)),
    };
    crate::printer::stdout(&rendered)?;
    super::sync::worst_of(outcomes)
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
