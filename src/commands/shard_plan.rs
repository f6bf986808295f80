//! shard_plan: `fedsync shard-plan` — proposes which OUs go to which Entra app when one app
//! cannot hold every federated role, with the StackSet commands that deploy each app's metadata
//! to its OUs. Run by an administrator in the management account; reads only.
//!
//! Reads the OU tree ([`crate::aws::ous`]) and the inventory (live, or `--inventory FILE`),
//! counts each account's entries (every role that is or may become an app role: any verdict but
//! a definite no), and hands the split to the pure [`crate::shard`]. The apps of the settings
//! exist today, each with its own `max-app-roles`; an account lives in the app whose certificate
//! its providers carry (the inventory routed per app, as `sync` routes it), so the split keeps
//! accounts where they live. With one app, every account with roles lives in it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::Arc;

use anyhow::Context;
use serde_json::{Value, json};

use super::{Global, block_on, load_settings};
use crate::aws::{self, AwsOptions};
use crate::cli::{OutputFormat, ShardPlanArgs};
use crate::exit::{ExitStatus, Failure};
use crate::model::{
    AccountId, AccountOutcome, Inventory, ProviderVerdict, Routing, SamlProviderArn, Thumbprint,
    TrustVerdict,
};
use crate::settings::{Flags, Settings};
use crate::shard::{
    Account, App, AppCount, AppName, Apps, Capacity, GrowthFactor, OrgTree, Scope, ShardPlan,
    TargetFill,
};

/// The schema of `--output json`.
pub const SCHEMA: &str = "fedsync.shard-plan/v1";

pub fn run(args: &ShardPlanArgs, global: &Global) -> Result<ExitStatus, Failure> {
    let target_fill: TargetFill = args
        .target_fill
        .parse()
        .map_err(|e| Failure::invalid(anyhow::anyhow!("--target-fill: {e}")))?;
    let growth: GrowthFactor = args
        .growth
        .parse()
        .map_err(|e| Failure::invalid(anyhow::anyhow!("--growth: {e}")))?;
    if args.apps == Some(0) {
        return Err(Failure::invalid(anyhow::anyhow!(
            "--apps: 0 is not a number of apps; give 1 or more, or leave it out for as many as needed"
        )));
    }
    let mut flags = Flags::default();
    args.aws.add_to(&mut flags);
    flags.set("max-app-roles", args.max_app_roles.as_deref());
    let inputs = global.inputs(flags);
    let options = AwsOptions::default();
    let (tree, inventory, cap, existing) = block_on(async {
        let sdk = aws::load_config(&options).await;
        let settings = load_settings(&inputs, Some(&sdk)).await?;
        let (_, guardrails) = settings.plan_settings().map_err(Failure::invalid)?;
        let existing = existing_apps(&settings)?;
        let inventory = match &args.inventory {
            Some(path) => {
                let text = super::plan::read_input(path, "inventory")?;
                Inventory::from_json(&text)
                    .with_context(|| format!("inventory {} is not valid", path.display()))
                    .map_err(Failure::invalid)?
            }
            None => {
                let inventory_settings = settings.inventory().map_err(Failure::invalid)?;
                aws::read_inventory(&sdk, &inventory_settings, &options, &aws::inventory::Quiet)
                    .await
                    .context("cannot read the inventory")
                    .map_err(Failure::from)?
            }
        };
        let tree = aws::ous::read_tree(&aws_sdk_organizations::Client::new(&sdk))
            .await
            .context("cannot read the OU tree")
            .map_err(Failure::from)?;
        Ok::<_, Failure>((tree, inventory, guardrails.max_app_roles, existing))
    })??;

    let entries = entries_per_account(&inventory);
    let homes = homes(&inventory, &entries, &existing);
    let accounts: Vec<Account> = tree
        .accounts
        .iter()
        .map(|(id, ou)| Account {
            id: *id,
            ou: ou.clone(),
            entries: entries.get(id).copied().unwrap_or(0),
            current_app: homes.get(id).cloned(),
        })
        .collect();
    let not_in_tree: Vec<String> = entries
        .keys()
        .filter(|id| !tree.accounts.iter().any(|(a, _)| a == *id))
        .map(ToString::to_string)
        .collect();
    let tree = OrgTree::new(tree.ous, accounts)
        .context("the OU tree Organizations returned cannot be split")?;
    let capacity = Capacity { cap, target_fill };
    let apps = Apps {
        existing: existing
            .iter()
            .map(|a| App {
                name: a.name.clone(),
                capacity: Capacity {
                    cap: a.cap,
                    target_fill,
                },
            })
            .collect(),
        new_apps: capacity,
        count: args.apps.map_or(AppCount::AsNeeded, AppCount::Fixed),
    };
    let plan = crate::shard::split(&tree, &apps).context("no split fits")?;
    let needed = crate::shard::apps_needed(&tree, &apps, growth)
        .context("cannot estimate the apps a growing Organization needs")?;
    let failed = inventory.failed();
    let rendered = match args.output {
        OutputFormat::Text => to_text(&plan, growth, needed, failed, &not_in_tree),
        OutputFormat::Json => format!(
            "{:#}\n",
            to_json(&plan, growth, needed, failed, &not_in_tree)
        ),
    };
    crate::printer::stdout(&rendered)?;
    Ok(if failed > 0 || !not_in_tree.is_empty() {
        ExitStatus::Partial
    } else {
        ExitStatus::Success
    })
}

/// An app of the settings, as the split sees it.
struct ExistingApp {
    name: AppName,
    /// Its `max-app-roles`.
    cap: usize,
    /// Its signing certificates, when several apps are configured (they route the inventory).
    certificates: Option<BTreeSet<Thumbprint>>,
}

/// The apps the settings configure, in name order. With one, its certificates are not needed
/// (every account with roles lives in it), so an admin can run `shard-plan --inventory FILE`
/// before any app has settings.
fn existing_apps(settings: &Settings) -> Result<Vec<ExistingApp>, Failure> {
    let caps = settings
        .per_app(|app| app.plan_settings().map(|(_, g)| g.max_app_roles))
        .map_err(Failure::invalid)?;
    let several = caps.len() > 1;
    let certificates = match several {
        true => settings
            .per_app(|app| app.inventory().map(|i| i.saml_certificates))
            .map_err(Failure::invalid)?,
        false => Vec::new(),
    };
    Ok(caps
        .into_iter()
        .map(|(name, cap)| {
            let certificates = certificates
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, c)| c.iter().cloned().collect());
            ExistingApp {
                name,
                cap,
                certificates,
            }
        })
        .collect())
}

/// The app each account lives in today. With one app, every account with roles. With several,
/// the app whose certificate the providers of the account's roles carry, as `sync` routes them
/// ([`Routing`]); an account whose roles are in two apps (a move half done) lives in
/// the one holding more of them, the first by name among equals. An account none of whose
/// providers carries an app's certificate lives nowhere yet, and goes where it fits.
fn homes(
    inventory: &Inventory,
    entries: &BTreeMap<AccountId, usize>,
    apps: &[ExistingApp],
) -> BTreeMap<AccountId, AppName> {
    let mut best: BTreeMap<AccountId, (usize, AppName)> = BTreeMap::new();
    let certificates: Option<Vec<BTreeSet<Thumbprint>>> =
        apps.iter().map(|app| app.certificates.clone()).collect();
    let routing = certificates.map(|c| Routing::new(Arc::new(inventory.clone()), c));
    for (i, app) in apps.iter().enumerate() {
        let mine = match &routing {
            Some(routing) => routed_entries(&routing.share(i)),
            None => entries.clone(),
        };
        for (account, roles) in mine {
            if roles > 0 && best.get(&account).is_none_or(|(most, _)| roles > *most) {
                best.insert(account, (roles, app.name.clone()));
            }
        }
    }
    best.into_iter().map(|(id, (_, app))| (id, app)).collect()
}

/// Per read account of an inventory routed to one app, its roles with any verdict but a
/// definite no through a provider the routing still calls ours (one carrying the app's
/// certificate).
fn routed_entries(inventory: &Inventory) -> BTreeMap<AccountId, usize> {
    inventory
        .accounts
        .iter()
        .filter_map(|a| match &a.outcome {
            AccountOutcome::Read { providers, roles } => {
                let ours: BTreeSet<&SamlProviderArn> = providers
                    .iter()
                    .filter(|p| p.verdict == ProviderVerdict::Ours)
                    .map(|p| &p.arn)
                    .collect();
                let count = roles
                    .iter()
                    .filter(|r| {
                        r.trust
                            .iter()
                            .any(|t| t.verdict != TrustVerdict::No && ours.contains(&t.provider))
                    })
                    .count();
                Some((a.id, count))
            }
            _ => None,
        })
        .collect()
}

/// Each read account's entries: its roles with any verdict but a definite no (they are app
/// roles, or may become ones).
fn entries_per_account(inventory: &Inventory) -> BTreeMap<AccountId, usize> {
    inventory
        .accounts
        .iter()
        .filter_map(|a| match &a.outcome {
            AccountOutcome::Read { roles, .. } => Some((
                a.id,
                roles
                    .iter()
                    .filter(|r| r.trust.iter().any(|t| t.verdict != TrustVerdict::No))
                    .count(),
            )),
            _ => None,
        })
        .collect()
}

/// The StackSet name of an app's SAML provider and roles.
fn stack_set(app: &AppName) -> String {
    format!("fedsync-saml-{app}")
}

/// The `aws cloudformation` commands that deploy `app`'s metadata to its units that have roles
/// (a unit without roles needs no provider; the management account is never a StackSet target
/// anyway: the README deploys it as a stack).
fn commands(app: &crate::shard::AppPlan) -> Vec<String> {
    let name = stack_set(&app.name);
    let mut out = vec![format!(
        "aws cloudformation create-stack-set --stack-set-name {name} --template-body file://cfn/saml-roles.yaml --permission-model SERVICE_MANAGED --auto-deployment Enabled=true,RetainStacksOnAccountRemoval=false --capabilities CAPABILITY_NAMED_IAM --parameters ParameterKey=SamlMetadataDocument,ParameterValue=\"$(cat {}-metadata.xml)\"",
        app.name
    )];
    let whole: Vec<&str> = app
        .units
        .iter()
        .filter(|u| u.scope == Scope::Subtree && u.entries > 0)
        .map(|u| u.ou.as_str())
        .collect();
    if !whole.is_empty() {
        out.push(format!(
            "aws cloudformation create-stack-instances --stack-set-name {name} --regions \"$REGION\" --deployment-targets OrganizationalUnitIds={}",
            whole.join(",")
        ));
    }
    for unit in app
        .units
        .iter()
        .filter(|u| u.scope == Scope::DirectAccounts && u.entries > 0)
    {
        let accounts: Vec<String> = unit.accounts.iter().map(ToString::to_string).collect();
        out.push(format!(
            "aws cloudformation create-stack-instances --stack-set-name {name} --regions \"$REGION\" --deployment-targets OrganizationalUnitIds={},Accounts={},AccountFilterType=INTERSECTION",
            unit.ou,
            accounts.join(",")
        ));
    }
    out
}

fn percent(fill: f64) -> String {
    format!("{:.0}%", fill * 100.0)
}

fn to_text(
    plan: &ShardPlan,
    growth: GrowthFactor,
    needed: usize,
    failed: usize,
    not_in_tree: &[String],
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<16} {:>4} {:>8} {:>7} {:>6}  {:>6}",
        "app", "OUs", "accounts", "roles", "fill", "target"
    );
    for app in &plan.apps {
        let _ = writeln!(
            out,
            "{:<16} {:>4} {:>8} {:>7} {:>6}  {:>6}{}",
            app.name.as_str(),
            app.ous,
            app.accounts,
            app.entries,
            percent(app.fill()),
            app.target(),
            if app.new { "  (new app)" } else { "" }
        );
        for unit in &app.units {
            let what = match unit.scope {
                Scope::Subtree => format!("{} {} (whole)", unit.ou, unit.ou_name),
                Scope::DirectAccounts => format!(
                    "{} {}: {} of its own accounts",
                    unit.ou,
                    unit.ou_name,
                    unit.accounts.len()
                ),
            };
            let _ = writeln!(out, "    {what}: {} roles", unit.entries);
        }
    }
    let _ = writeln!(
        out,
        "\n{} roles move from the app they live in today.",
        plan.moved_entries()
    );
    let more = needed.saturating_sub(plan.apps.len());
    let _ = writeln!(
        out,
        "At {growth}× the roles the Organization would need {needed} apps ({more} more)."
    );
    if failed > 0 {
        let _ = writeln!(
            out,
            "! {failed} accounts could not be read; their roles are not counted."
        );
    }
    if !not_in_tree.is_empty() {
        let _ = writeln!(
            out,
            "! in the inventory but not in the OU tree (not placed): {}",
            not_in_tree.join(", ")
        );
    }
    out.push_str("\nDeploy each app's SAML metadata to its OUs:\n");
    for app in &plan.apps {
        for command in commands(app) {
            let _ = writeln!(out, "  {command}");
        }
    }
    out
}

fn to_json(
    plan: &ShardPlan,
    growth: GrowthFactor,
    needed: usize,
    failed: usize,
    not_in_tree: &[String],
) -> Value {
    let apps: Vec<Value> = plan
        .apps
        .iter()
        .map(|app| {
            json!({
                "name": app.name.as_str(),
                "new": app.new,
                "ous": app.ous,
                "accounts": app.accounts,
                "roles": app.entries,
                "cap": app.capacity.cap,
                "target": app.target(),
                "fill": app.fill(),
                "units": app.units.iter().map(|u| json!({
                    "ou": u.ou.as_str(),
                    "ou_name": u.ou_name,
                    "scope": match u.scope { Scope::Subtree => "subtree", Scope::DirectAccounts => "direct-accounts" },
                    "accounts": u.accounts.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    "roles": u.entries,
                })).collect::<Vec<_>>(),
                "commands": commands(app),
            })
        })
        .collect();
    json!({
        "schema": SCHEMA,
        "apps": apps,
        "moves": plan.moves.iter().map(|m| json!({
            "account": m.account.to_string(), "from": m.from.as_str(), "to": m.to.as_str(), "roles": m.entries,
        })).collect::<Vec<_>>(),
        "moved_roles": plan.moved_entries(),
        "growth": { "factor": growth.as_f64(), "apps": needed },
        "accounts_failed": failed,
        "not_in_tree": not_in_tree,
    })
}
