//! rotate: `fedsync rotate` — check the new federation metadata, read the AWS side as
//! `providers` does, plan the rotation ([`crate::rotate`]) and print it; unless `--dry-run` or
//! refused, write it through the writer role ([`crate::aws::rotate`]), read the inventory again
//! and print the `providers` table, then the command that sets `saml-certificates`.

use std::fmt::Write as _;

use anyhow::{Context, anyhow};
use time::OffsetDateTime;

use super::providers::{counted, every_app};
use super::{Global, block_on, load_settings, one_app};
use crate::aws::inventory::{Quiet, identity};
use crate::aws::rotate::{ProviderWrite, ProviderWriter, Written, write_providers};
use crate::aws::{self, AwsOptions};
use crate::cli::RotateArgs;
use crate::exit::{ExitStatus, Failure};
use crate::model::{AppName, Thumbprint};
use crate::providers::report;
use crate::rotate::{self, Change, NewMetadata, Rotation, RotationPlan, check_metadata};
use crate::settings::{Flags, Settings, Source};

pub fn run(args: &RotateArgs, global: &Global) -> Result<ExitStatus, Failure> {
    let mut flags = Flags::default();
    args.aws.add_to(&mut flags);
    flags.set("provider-writer-role", args.provider_writer_role.as_deref());
    let inputs = global.inputs(flags);
    let drop: Vec<Thumbprint> = args
        .drop_certificate
        .iter()
        .map(|t| {
            t.parse()
                .map_err(|e| Failure::invalid(anyhow!("--drop-certificate {t}: {e}")))
        })
        .collect::<Result<_, _>>()?;
    let xml = std::fs::read_to_string(&args.metadata)
        .with_context(|| format!("--metadata {}: cannot read it", args.metadata.display()))
        .map_err(Failure::invalid)?;
    let options = AwsOptions::default();
    block_on(async {
        let sdk = aws::load_config(&options).await;
        let settings = load_settings(&inputs, Some(&sdk)).await?;
        let (app, app_settings) = one_app(&settings, args.app.as_deref())?;
        let app_inventory = app_settings.inventory().map_err(Failure::invalid)?;
        let writer_role = settings.provider_writer_role().map_err(Failure::invalid)?;
        let mut apps = every_app(&settings)?;
        let rotation = Rotation {
            entity_id: &app_inventory.saml_entity_id,
            configured: &app_inventory.saml_certificates,
            drop: &drop,
            now: OffsetDateTime::now_utc(),
        };
        let new = check_metadata(&xml, &rotation).map_err(|e| {
            Failure::invalid(anyhow!("--metadata {}: {e}", args.metadata.display()))
        })?;
        let inventory_settings = settings.inventory().map_err(Failure::invalid)?;
        let inventory = aws::read_inventory(&sdk, &inventory_settings, &options, &Quiet)
            .await
            .context("cannot read the inventory")
            .map_err(Failure::from)?;
        let plan = rotate::plan(&inventory, &new, &rotation);
        let mut out = plan_text(&app, &new, &plan, &rotation);
        if plan.refused().next().is_some() {
            crate::printer::stdout(&out)?;
            return Err(Failure::refused(anyhow!(
                "refused: {} providers would lose a certificate that is still valid (listed above); nothing was written. Rotate with a document that keeps it, or, once Entra no longer signs with it, name it with --drop-certificate",
                plan.refused().count()
            )));
        }
        let certificates_after = rotate::certificates_after(&new, &rotation);
        let mut status = match plan.not_read.is_empty() {
            true => ExitStatus::Success,
            false => ExitStatus::Partial,
        };
        let inventory = if args.dry_run {
            let _ = writeln!(out, "\nDry run: nothing written.");
            inventory
        } else {
            let (sts, iam) = (
                aws_sdk_sts::Client::new(&sdk),
                aws_sdk_iam::Client::new(&sdk),
            );
            let (home_account, partition) = identity(&sts)
                .await
                .context("cannot find out which account fedsync runs in")
                .map_err(Failure::from)?;
            let writer = ProviderWriter {
                sts: &sts,
                iam: &iam,
                partition,
                home_account,
                role: &writer_role,
            };
            let updates = plan.updates().cloned().collect();
            let writes = write_providers(&writer, updates, &new, &rotation).await;
            status = graver(status, written_text(&mut out, &writes));
            if status != ExitStatus::Success {
                let _ = writeln!(
                    out,
                    "Some providers are not as the document says: fix what is said above and run the same command again; it writes only what is left."
                );
            }
            aws::read_inventory(&sdk, &inventory_settings, &options, &Quiet)
                .await
                .context("rotated, but cannot read the inventory again to show it")
                .map_err(Failure::from)?
        };
        // The table as `fedsync providers` shows it once saml-certificates is as below.
        if let Some(entry) = apps.iter_mut().find(|a| a.name == app) {
            entry.certificates = certificates_after.iter().cloned().collect();
        }
        let table = report(&inventory, &apps, Some(&app), OffsetDateTime::now_utc());
        let _ = writeln!(
            out,
            "\nProviders of app {app}, with saml-certificates {}:\n",
            joined(&certificates_after)
        );
        out.push_str(&super::providers::to_text(&table));
        if certificates_after != app_inventory.saml_certificates {
            let _ = writeln!(
                out,
                "\nThen set saml-certificates to the configured certificates and the document's:\n  {}",
                set_certificates(&app_settings, &certificates_after)
            );
        }
        crate::printer::stdout(&out)?;
        Ok(status)
    })?
}

fn joined(thumbprints: &[Thumbprint]) -> String {
    thumbprints
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// What the rotation will do, account by account.
fn plan_text(
    app: &AppName,
    new: &NewMetadata,
    plan: &RotationPlan,
    rotation: &Rotation<'_>,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Rotation of app {app}. The document's certificates:");
    for certificate in &new.metadata.signing_certificates {
        let configured = match rotation.configured.contains(&certificate.sha256) {
            true => "configured",
            false => "new",
        };
        let _ = writeln!(
            out,
            "  {} expires {}, {configured}",
            certificate.sha256,
            certificate.not_after.date()
        );
    }
    let _ = writeln!(out);
    for provider in &plan.providers {
        let change = match &provider.change {
            Change::UpToDate => "up to date".to_owned(),
            Change::Update { adds, drops } => {
                let mut text = "update".to_owned();
                if !adds.is_empty() {
                    let _ = write!(text, ": adds {}", joined(adds));
                }
                for dropped in drops {
                    let why = match dropped.expired {
                        true => "expired",
                        false => "--drop-certificate",
                    };
                    let _ = write!(text, "; drops {} ({why})", dropped.sha256);
                }
                text
            }
            Change::Refused { would_lose } => format!(
                "REFUSED: it holds {}, still valid, which the document lacks",
                joined(would_lose)
            ),
        };
        let _ = writeln!(
            out,
            "{} ({}) {}: {change}",
            provider.account, provider.account_name, provider.arn
        );
    }
    for left in &plan.left_alone {
        let _ = writeln!(
            out,
            "{} {}: left alone, {}",
            left.account, left.arn, left.why
        );
    }
    for account in &plan.not_read {
        let _ = writeln!(
            out,
            "{} ({}): {}; nothing is written there",
            account.account, account.account_name, account.reason
        );
    }
    let _ = writeln!(
        out,
        "\n{} to update, {} up to date, {} left alone, {} not read.",
        counted(plan.updates().count(), "provider"),
        plan.up_to_date(),
        plan.left_alone.len(),
        counted(plan.not_read.len(), "account"),
    );
    out
}

/// How the writes ended, and the exit status they call for.
fn written_text(out: &mut String, writes: &[ProviderWrite]) -> ExitStatus {
    let _ = writeln!(out, "\nWritten:");
    let mut status = ExitStatus::Success;
    for write in writes {
        let (text, this) = match &write.written {
            Written::Updated => (
                "updated, read back as written".to_owned(),
                ExitStatus::Success,
            ),
            Written::AlreadyDone => ("already up to date".to_owned(), ExitStatus::Success),
            Written::NotWritten(reason) => (format!("NOT written: {reason}"), ExitStatus::Partial),
            Written::Unsure(reason) => (format!("CHECK: {reason}"), ExitStatus::Failed),
        };
        status = graver(status, this);
        let _ = writeln!(
            out,
            "  {} ({}) {}: {text}",
            write.provider.account, write.provider.account_name, write.provider.arn
        );
    }
    status
}

/// The graver of two outcomes: failed over partial over success.
fn graver(a: ExitStatus, b: ExitStatus) -> ExitStatus {
    let rank = |s: ExitStatus| match s {
        ExitStatus::Failed => 2,
        ExitStatus::Partial => 1,
        _ => 0,
    };
    match rank(b) > rank(a) {
        true => b,
        false => a,
    }
}

/// The command that sets the app's `saml-certificates` to `list`, where it is set now.
fn set_certificates(app_settings: &Settings, list: &[Thumbprint]) -> String {
    let value = joined(list);
    let source = app_settings
        .get("saml-certificates")
        .map(|r| r.source.clone())
        .unwrap_or(Source::Default);
    match source {
        Source::Ssm { parameter } => format!(
            "aws ssm put-parameter --overwrite --type String --name {parameter} --value {value}"
        ),
        Source::ConfigFile { path } => match app_settings.named_app() {
            Some(app) => format!(
                "saml-certificates = \"{value}\" under [apps.{app}] in {}",
                path.display()
            ),
            None => format!("saml-certificates = \"{value}\" in {}", path.display()),
        },
        Source::Env(var) => format!("{var}={value} (where the environment is set)"),
        Source::Flag(_) => format!("--saml-certificates {value}"),
        Source::Default | Source::SecretsManager { .. } => {
            format!("saml-certificates = {value}")
        }
    }
}
