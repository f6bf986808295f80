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
use crate::aws::{self, AwsOptions, InventoryObserver};
use crate::cli::{InventoryArgs, OutputFormat};
use crate::exit::{ExitStatus, Failure};
use crate::model::{
    AccountInventory, AccountOutcome, IamRole, Inventory, Listing, ProviderVerdict, SamlProvider,
    SamlProviderArn, TrustVerdict,
};
use crate::settings::Flags;

pub fn run(args: &InventoryArgs, global: &Global) -> Result<ExitStatus, Failure> {
    let mut flags = Flags::default();
    args.aws.add_to(&mut flags);
    let inputs = global.inputs(flags);
    let options = AwsOptions::default();
    let progress =
        Progress::new(args.output == OutputFormat::Text && std::io::stderr().is_terminal());
    let inventory = block_on(async {
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
        OutputFormat::Text => to_text(&inventory),
        OutputFormat::Json => format!("{:#}\n", serde_json::to_value(&inventory)?),
    };
    crate::printer::stdout(&rendered)?;
    Ok(if inventory.failed() > 0 || undecided(&inventory) > 0 {
        ExitStatus::Partial
    } else {
        ExitStatus::Success
    })
}

/// Roles with no yes and some verdict that could not be decided.
fn undecided(inventory: &Inventory) -> usize {
    inventory
        .read_roles()
        .filter(|r| r.trust.iter().any(|t| is_undecided(t.verdict)))
        .count()
}

fn is_undecided(verdict: TrustVerdict) -> bool {
    matches!(
        verdict,
        TrustVerdict::CantTell | TrustVerdict::UnknownCertificate
    )
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

/// The inventory for a terminal: per account its providers and roles with their verdicts, or
/// why it was not read.
pub fn to_text(inventory: &Inventory) -> String {
    let accounts = &inventory.accounts;
    let federated: usize = accounts
        .iter()
        .map(|a| match &a.outcome {
            AccountOutcome::Read { roles, .. } => roles
                .iter()
                .filter(|r| r.trusted().next().is_some())
                .count(),
            _ => 0,
        })
        .sum();
    let skipped = accounts.len() - inventory.read() - inventory.failed();
    let mut out = String::new();
    if inventory.listing == Listing::ThisAccountOnly {
        out.push_str("Not in an AWS Organization: read this account only.\n");
    }
    let _ = writeln!(
        out,
        "{} accounts: {} read, {} failed, {skipped} not read; {federated} federated roles, {} undecided.",
        accounts.len(),
        inventory.read(),
        inventory.failed(),
        undecided(inventory),
    );
    for account in accounts {
        let name = if account.name.is_empty() {
            String::new()
        } else {
            format!("  {}", account.name)
        };
        match &account.outcome {
            AccountOutcome::Read { providers, roles } => {
                let _ = writeln!(out, "\n{}{name}", account.id);
                read_account_text(&mut out, providers, roles);
            }
            AccountOutcome::Failed { stage, reason } => {
                let _ = writeln!(out, "\n{}{name}", account.id);
                let _ = writeln!(out, "  ! not read: {stage}: {reason}");
            }
            AccountOutcome::Skipped { .. } => {}
        }
    }
    let not_read: Vec<_> = accounts
        .iter()
        .filter_map(|a| match &a.outcome {
            AccountOutcome::Skipped { reason, state } => Some((a, reason, state)),
            _ => None,
        })
        .collect();
    if !not_read.is_empty() {
        out.push_str("\nNot read (their app roles are held; closed ones are disabled):\n");
        for (account, reason, state) in not_read {
            let _ = writeln!(
                out,
                "  {} {}: {} (state {state})",
                account.id,
                account.name,
                reason.describe()
            );
        }
    }
    out
}

fn read_account_text(out: &mut String, providers: &[SamlProvider], roles: &[IamRole]) {
    let ours: Vec<&SamlProvider> = providers
        .iter()
        .filter(|p| p.verdict != ProviderVerdict::NotOurs)
        .collect();
    if ours.is_empty() {
        out.push_str("  no SAML provider of our Entra app\n");
    } else {
        let names: Vec<String> = ours
            .iter()
            .map(|p| match p.verdict {
                ProviderVerdict::Ours => p.arn.name().to_owned(),
                other => format!("{} ({})", p.arn.name(), other.describe()),
            })
            .collect();
        let _ = writeln!(out, "  providers: {}", names.join(", "));
    }
    for p in providers
        .iter()
        .filter(|p| p.verdict != ProviderVerdict::Ours)
    {
        let _ = writeln!(
            out,
            "  {} {}: {}",
            if p.verdict == ProviderVerdict::NotOurs {
                "-"
            } else {
                "!"
            },
            p.arn.name(),
            p.reason
        );
    }
    if !ours.is_empty() && roles.is_empty() {
        out.push_str("  no role trusts them\n");
    }
    for role in roles {
        let via: Vec<&str> = role.trusted().map(SamlProviderArn::name).collect();
        if !via.is_empty() {
            let _ = writeln!(out, "  {}  (via {})", role.arn, via.join(", "));
        }
        for t in role.trust.iter().filter(|t| is_undecided(t.verdict)) {
            let _ = writeln!(
                out,
                "  ! {}  held via {}: {}",
                role.arn,
                t.provider.name(),
                t.reason
            );
        }
        if via.is_empty() && !role.trust.iter().any(|t| is_undecided(t.verdict)) {
            let reason = role.trust.first().map(|t| t.reason.as_str()).unwrap_or("");
            let _ = writeln!(out, "  - {}  not federated: {reason}", role.arn);
        }
    }
}
