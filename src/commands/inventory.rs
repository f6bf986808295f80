//! inventory: `fedsync inventory` — read the AWS side and print it, as text or as the inventory
//! snapshot JSON that `fedsync plan --inventory` reads.
//!
//! A progress bar shows on a terminal; otherwise each account is a log line. Reads only.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use super::{Global, block_on, load_settings};
use crate::aws::organization::SkipReason;
use crate::aws::{self, AwsOptions, InventoryObserver, InventoryRead};
use crate::cli::{InventoryArgs, OutputFormat};
use crate::exit::{ExitStatus, Failure};
use crate::model::{AccountInventory, AccountOutcome};
use crate::settings::Flags;

pub fn run(args: &InventoryArgs, global: &Global) -> Result<ExitStatus, Failure> {
    let mut flags = Flags::default();
    args.aws.add_to(&mut flags);
    let inputs = global.inputs(flags);
    let options = AwsOptions::default();
    let progress =
        Progress::new(args.output == OutputFormat::Text && std::io::stderr().is_terminal());
    let read = block_on(async {
        let sdk = aws::load_config(&options).await;
        let settings = load_settings(&inputs, Some(&sdk))
            .await?
            .inventory()
            .map_err(Failure::invalid)?;
        aws::read_inventory(&sdk, &settings, &options, &progress)
            .await
            .context("cannot read the inventory")
            .map_err(Failure::from)
    })??;
    progress.finish();

    let rendered = match args.output {
        OutputFormat::Text => to_text(&read),
        OutputFormat::Json => format!("{:#}\n", serde_json::to_value(&read.inventory)?),
    };
    crate::printer::stdout(&rendered)?;
    let failed = read
        .inventory
        .accounts
        .iter()
        .any(|a| matches!(a.outcome, AccountOutcome::Failed { .. }));
    Ok(if failed {
        ExitStatus::Partial
    } else {
        ExitStatus::Success
    })
}

/// A progress bar on a terminal: accounts done of all, failures so far.
struct Progress {
    bar: Option<ProgressBar>,
    failed: AtomicUsize,
}

impl Progress {
    fn new(visible: bool) -> Progress {
        let bar = visible.then(|| {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template("reading accounts {bar:30} {pos}/{len} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        });
        Progress {
            bar,
            failed: AtomicUsize::new(0),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl InventoryObserver for Progress {
    fn listed(&self, to_read: usize) {
        if let Some(bar) = &self.bar {
            bar.set_length(to_read as u64);
        }
    }

    fn account_done(&self, account: &AccountInventory) {
        if matches!(account.outcome, AccountOutcome::Failed { .. }) {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(bar) = &self.bar {
            let failed = self.failed.load(Ordering::Relaxed);
            if failed > 0 {
                bar.set_message(format!("({failed} failed)"));
            }
            bar.inc(1);
        }
    }
}

/// The inventory for a terminal: per account its providers and roles, or why it was not read.
pub fn to_text(read: &InventoryRead) -> String {
    let accounts = &read.inventory.accounts;
    let failed = accounts
        .iter()
        .filter(|a| matches!(a.outcome, AccountOutcome::Failed { .. }))
        .count();
    let roles: usize = accounts
        .iter()
        .map(|a| match &a.outcome {
            AccountOutcome::Read { roles, .. } => roles.len(),
            AccountOutcome::Failed { .. } => 0,
        })
        .sum();
    let mut out = String::new();
    if !read.in_organization {
        out.push_str("Not in an AWS Organization: read this account only.\n");
    }
    let _ = writeln!(
        out,
        "{} accounts: {} read, {} failed; {} federated roles.",
        accounts.len(),
        accounts.len() - failed,
        failed,
        roles
    );
    for account in accounts {
        let name = if account.name.is_empty() {
            String::new()
        } else {
            format!("  {}", account.name)
        };
        let _ = writeln!(out, "\n{}{name}", account.id);
        match &account.outcome {
            AccountOutcome::Read { providers, roles } => {
                if providers.is_empty() {
                    out.push_str("  no SAML provider of our Entra app\n");
                    continue;
                }
                let names: Vec<&str> = providers.iter().map(|p| p.name()).collect();
                let _ = writeln!(out, "  providers: {}", names.join(", "));
                if roles.is_empty() {
                    out.push_str("  no role trusts them\n");
                }
                for role in roles {
                    let via: Vec<&str> = role.providers.iter().map(|p| p.name()).collect();
                    let _ = writeln!(out, "  {}  (via {})", role.arn, via.join(", "));
                }
            }
            AccountOutcome::Failed { stage, reason } => {
                let _ = writeln!(out, "  ! not read: {stage}: {reason}");
            }
        }
    }
    if !read.skipped.is_empty() {
        out.push_str("\nNot read:\n");
        for (account, why) in &read.skipped {
            let why = match why {
                SkipReason::Inactive(state) => format!("state {state}"),
                SkipReason::NotIncluded => "not in include-accounts".to_owned(),
                SkipReason::Excluded => "in exclude-accounts".to_owned(),
            };
            let _ = writeln!(out, "  {} {}: {why}", account.id, account.name);
        }
    }
    out
}
