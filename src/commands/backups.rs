//! backups: `fedsync backups list` and `fedsync backups show KEY|latest` — read the backups
//! `fedsync sync` takes before writing, each with the app it is of (`--app` for one app's).
//! Reads only.

use std::fmt::Write as _;

use anyhow::Context;
use serde_json::{Value, json};

use super::{Global, block_on, load_settings};
use crate::aws::{self, AwsOptions};
use crate::backup::{BackupEntry, BackupStore};
use crate::cli::{BackupArgs, BackupsCommand, OutputFormat};
use crate::exit::{ExitStatus, Failure};
use crate::model::AppName;
use crate::settings::{Flags, Settings};

pub fn run(command: &BackupsCommand, global: &Global) -> Result<ExitStatus, Failure> {
    let (backup_args, app) = match command {
        BackupsCommand::List { backup, app, .. } | BackupsCommand::Show { backup, app, .. } => {
            (backup, app.as_deref())
        }
    };
    let inputs = global.inputs(flags(backup_args));
    let rendered = block_on(async {
        let sdk = aws::load_config(&AwsOptions::default()).await;
        let loaded = load_settings(&inputs, Some(&sdk)).await?;
        let settings = loaded.backup().map_err(Failure::invalid)?;
        let apps = Apps {
            known: loaded.service_principals(),
            only: match app {
                None => None,
                Some(app) => Some(app_service_principal(&loaded, app)?),
            },
        };
        let store = BackupStore::new(aws_sdk_s3::Client::new(&sdk), settings);
        match command {
            BackupsCommand::List { limit, output, .. } => {
                list(&store, &apps, *limit, *output).await
            }
            BackupsCommand::Show { key, .. } => show(&store, &apps, key).await,
        }
    })??;
    crate::printer::stdout(&rendered)?;
    Ok(ExitStatus::Success)
}

fn flags(args: &BackupArgs) -> Flags {
    let mut flags = Flags::default();
    args.add_to(&mut flags);
    flags
}

/// Which app each backup is of, and the one `--app` asks for.
struct Apps {
    /// Each app's service principal id.
    known: Vec<(AppName, String)>,
    /// `--app`: its service principal id.
    only: Option<String>,
}

impl Apps {
    /// The app whose service principal `sp_id` is, when the settings know it.
    fn of(&self, sp_id: &str) -> Option<&AppName> {
        self.known
            .iter()
            .find(|(_, id)| id.eq_ignore_ascii_case(sp_id))
            .map(|(name, _)| name)
    }

    fn takes(&self, entry: &BackupEntry) -> bool {
        self.only
            .as_deref()
            .is_none_or(|sp| sp.eq_ignore_ascii_case(&entry.service_principal_id))
    }
}

/// The service principal of the app `--app` names; exit 2 when the settings have no such app
/// or it has no service-principal-id.
fn app_service_principal(settings: &Settings, app: &str) -> Result<String, Failure> {
    let name = super::chosen_apps(settings, Some(app))?.remove(0);
    settings
        .service_principals()
        .into_iter()
        .find(|(n, _)| *n == name)
        .map(|(_, id)| id)
        .ok_or_else(|| {
            Failure::invalid(anyhow::anyhow!(
                "--app: app {name} has no service-principal-id to find its backups by"
            ))
        })
}

/// When a backup was taken, as RFC 3339 in UTC (`2026-11-28T09:05:07.123Z`).
fn taken_at(entry: &BackupEntry) -> String {
    entry
        .taken_at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| entry.taken_at.to_string())
}

async fn list(
    store: &BackupStore,
    apps: &Apps,
    limit: usize,
    output: OutputFormat,
) -> Result<String, Failure> {
    let mut entries = store.list().await.context("cannot list the backups")?;
    entries.retain(|e| apps.takes(e));
    let mut rows = Vec::new();
    for entry in entries.iter().take(limit) {
        let backup = store
            .get(&entry.key)
            .await
            .context("cannot read a backup")?;
        rows.push((entry, crate::backup::app_role_count(&backup)));
    }
    Ok(match output {
        OutputFormat::Json => {
            let items: Vec<Value> = rows
                .iter()
                .map(|(e, roles)| json!({"key": e.key, "taken_at": taken_at(e), "service_principal_id": e.service_principal_id, "app": apps.of(&e.service_principal_id).map(AppName::as_str), "app_roles": roles}))
                .collect();
            format!("{:#}\n", Value::Array(items))
        }
        OutputFormat::Text => {
            let mut out = String::new();
            if rows.is_empty() {
                let _ = writeln!(out, "No backups in s3://{}.", store.bucket());
            }
            for (entry, roles) in &rows {
                let app = match apps.of(&entry.service_principal_id) {
                    Some(name) if apps.known.len() > 1 => format!("  app {name}"),
                    _ => String::new(),
                };
                let _ = writeln!(
                    out,
                    "{}  {}  {roles} app roles{app}",
                    entry.key,
                    taken_at(entry)
                );
            }
            if entries.len() > rows.len() {
                let _ = writeln!(
                    out,
                    "({} older backups not shown; --limit to see more)",
                    entries.len() - rows.len()
                );
            }
            out
        }
    })
}

async fn show(store: &BackupStore, apps: &Apps, key: &str) -> Result<String, Failure> {
    if key == "latest" && apps.only.is_none() && apps.known.len() > 1 {
        return Err(Failure::invalid(anyhow::anyhow!(
            "the settings name {} apps; say whose latest backup to show with --app NAME",
            apps.known.len()
        )));
    }
    let key = store
        .resolve(key, apps.only.as_deref())
        .await
        .context("cannot show the backup")?;
    let backup = store.get(&key).await.context("cannot show the backup")?;
    Ok(format!("{backup:#}\n"))
}
