//! backups: `fedsync backups list` and `fedsync backups show KEY|latest` — read the backups
//! `fedsync sync` takes before writing. Reads only.

use std::fmt::Write as _;

use anyhow::Context;
use serde_json::{Value, json};

use super::{Global, block_on, load_settings};
use crate::aws::{self, AwsOptions};
use crate::backup::{BackupEntry, BackupStore};
use crate::cli::{BackupArgs, BackupsCommand, OutputFormat};
use crate::exit::{ExitStatus, Failure};
use crate::settings::Flags;

pub fn run(command: &BackupsCommand, global: &Global) -> Result<ExitStatus, Failure> {
    let backup_args = match command {
        BackupsCommand::List { backup, .. } | BackupsCommand::Show { backup, .. } => backup,
    };
    let inputs = global.inputs(flags(backup_args));
    let rendered = block_on(async {
        let sdk = aws::load_config(&AwsOptions::default()).await;
        let settings = load_settings(&inputs, Some(&sdk))
            .await?
            .backup()
            .map_err(Failure::invalid)?;
        let store = BackupStore::new(aws_sdk_s3::Client::new(&sdk), settings);
        match command {
            BackupsCommand::List { limit, output, .. } => list(&store, *limit, *output).await,
            BackupsCommand::Show { key, .. } => show(&store, key).await,
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

/// When a backup was taken, as RFC 3339 in UTC (`2026-11-28T09:05:07.123Z`).
fn taken_at(entry: &BackupEntry) -> String {
    entry
        .taken_at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| entry.taken_at.to_string())
}

async fn list(store: &BackupStore, limit: usize, output: OutputFormat) -> Result<String, Failure> {
    let entries = store.list().await.context("cannot list the backups")?;
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
                .map(|(e, roles)| json!({"key": e.key, "taken_at": taken_at(e), "service_principal_id": e.service_principal_id, "app_roles": roles}))
                .collect();
            format!("{:#}\n", Value::Array(items))
        }
        OutputFormat::Text => {
            let mut out = String::new();
            if rows.is_empty() {
                let _ = writeln!(out, "No backups in s3://{}.", store.bucket());
            }
            for (entry, roles) in &rows {
                let _ = writeln!(out, "{}  {}  {roles} app roles", entry.key, taken_at(entry));
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

async fn show(store: &BackupStore, key: &str) -> Result<String, Failure> {
    let key = store.resolve(key).await.context("cannot show the backup")?;
    let backup = store.get(&key).await.context("cannot show the backup")?;
    Ok(format!("{backup:#}\n"))
}
