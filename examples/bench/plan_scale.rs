//! plan_scale: the pure planner at Organization scale, run in a child process so its peak RSS
//! is its own. Builds an inventory of `accounts × roles` federated roles and a full manifest
//! (msiam_access plus managed roles that match the first roles of the inventory, already in
//! step), then times `fedsync::plan::plan` and the guardrail check, and prints one JSON line.
//! With several apps, the same roles are spread over them (each account's provider carrying one
//! app's certificate): the inventory is routed once for every app (`Routing`, as `sync` does), and each app's share is
//! planned from msiam_access alone (a first run: every role new) and checked.

use std::time::Instant;

use fedsync::model::{
    AccountInventory, AccountOutcome, AppRole, IamRole, Inventory, Listing, ProviderVerdict,
    Routing, SamlProvider, Trust, TrustVerdict,
};
use fedsync::naming::NamingInput;
use fedsync::plan::guardrail::{self, Guardrails};
use fedsync::plan::{Action, PlanSettings};
use serde_json::{Value, json};

use crate::fake_aws::{OrgSpec, PROVIDER};
use crate::usage;

/// The certificate thumbprint of app `i`.
fn thumbprint(i: usize) -> fedsync::model::Thumbprint {
    format!("{:064x}", i + 1)
        .parse()
        .unwrap_or_else(|e| panic!("a thumbprint: {e}"))
}

fn inventory(accounts: usize, roles: usize, apps: usize) -> anyhow::Result<Inventory> {
    let mut all = Vec::with_capacity(accounts);
    for a in 0..accounts {
        let id = OrgSpec::account_id(a);
        let provider: fedsync::model::SamlProviderArn =
            format!("arn:aws:iam::{id}:saml-provider/{PROVIDER}").parse()?;
        let mut federated = Vec::with_capacity(roles);
        for r in 0..roles {
            federated.push(IamRole {
                arn: format!("arn:aws:iam::{id}:role/Federated{r:03}").parse()?,
                trust: vec![Trust {
                    provider: provider.clone(),
                    verdict: TrustVerdict::Yes,
                    reason: String::new(),
                }],
                notes: Vec::new(),
            });
        }
        all.push(AccountInventory {
            id: id.parse()?,
            name: format!("member-{a:05}"),
            outcome: AccountOutcome::Read {
                providers: vec![SamlProvider {
                    arn: provider,
                    verdict: ProviderVerdict::Ours,
                    reason: String::new(),
                    certificates: match apps {
                        1 => Vec::new(),
                        _ => vec![fedsync::model::Certificate {
                            sha256: thumbprint(a * apps / accounts),
                            not_after: None,
                        }],
                    },
                }],
                roles: federated,
            },
        });
    }
    Ok(Inventory::new(Listing::Organization, all))
}

/// msiam_access, then `manifest - 1` managed roles for the inventory's first roles, named as the
/// default convention names them (so they stay unchanged).
fn manifest(inventory: &Inventory, entries: usize, settings: &PlanSettings) -> Vec<AppRole> {
    let msiam: AppRole = serde_json::from_value(json!({
        "allowedMemberTypes": ["User"],
        "description": "msiam_access",
        "displayName": "msiam_access",
        "id": "7dfd756e-8c27-4472-b2b7-38c17fc5de5e",
        "isEnabled": true,
        "origin": "Application",
        "value": null
    }))
    .unwrap_or_else(|e| panic!("msiam_access parses: {e}"));
    let mut roles = vec![msiam];
    'accounts: for account in &inventory.accounts {
        let AccountOutcome::Read {
            roles: federated, ..
        } = &account.outcome
        else {
            continue;
        };
        for role in federated {
            if roles.len() >= entries {
                break 'accounts;
            }
            let value =
                fedsync::model::AwsRoleValue::new(role.arn.clone(), role.trust[0].provider.clone())
                    .unwrap_or_else(|e| panic!("{}: {e}", role.arn));
            let display = settings.naming.render(&NamingInput {
                account_id: &account.id,
                account_name: &account.name,
                role: &role.arn,
            });
            let description = format!(
                "IAM role {} via SAML provider {}",
                value.role(),
                value.provider().name()
            );
            roles.push(AppRole::new_user_role(&value, display, description));
        }
    }
    roles
}

/// Runs in the child: builds the inputs, plans once, prints the figures as one JSON line.
pub fn run(accounts: usize, roles: usize, entries: usize) -> anyhow::Result<Value> {
    let settings = PlanSettings::default();
    let inventory = inventory(accounts, roles, 1)?;
    let current =
        fedsync::model::Current::of_app_roles("sp", manifest(&inventory, entries, &settings));
    let rss_inputs_kib = usage::status_kib("VmRSS").unwrap_or(0);

    let started = Instant::now();
    let cpu_before = usage::cpu_time();
    let plan = fedsync::plan::plan(
        &inventory,
        &current,
        &fedsync::model::SyncState::default(),
        &settings,
    )?;
    let refusals = guardrail::check(&plan, &Guardrails::default());
    let cpu = usage::cpu_time().saturating_sub(cpu_before);
    let wall = started.elapsed();

    Ok(json!({
        "candidate_roles": accounts * roles,
        "manifest_entries": current.app_roles().len(),
        "plan_ms": wall.as_secs_f64() * 1000.0,
        "plan_cpu_ms": cpu.as_secs_f64() * 1000.0,
        "rss_inputs_kib": rss_inputs_kib,
        "peak_rss_kib": usage::status_kib("VmHWM").unwrap_or(0),
        "adds": plan.count(Action::Add),
        "counted_adds": plan.adding(),
        "unchanged": plan.unchanged,
        "groups": plan.groups.len(),
        "target_entries": plan.target.len(),
        "refusals": refusals.iter().map(ToString::to_string).collect::<Vec<_>>(),
    }))
}

/// Runs in the child: `accounts × roles` spread over `apps` apps, each routed, planned from
/// msiam_access alone and checked, one after another as `sync` plans them.
pub fn run_apps(accounts: usize, roles: usize, apps: usize) -> anyhow::Result<Value> {
    let settings = PlanSettings::default();
    let inventory = inventory(accounts, roles, apps)?;
    let msiam = manifest(&inventory, 1, &settings);
    let started = Instant::now();
    let cpu_before = usage::cpu_time();
    let (mut adds, mut refusals, mut fullest) = (0, 0, 0);
    let routing_started = Instant::now();
    let certificates = (0..apps)
        .map(|app| [thumbprint(app)].into_iter().collect())
        .collect();
    let shares = Routing::new(std::sync::Arc::new(inventory), certificates);
    let mut routing = routing_started.elapsed();
    for app in 0..apps {
        let routing_started = Instant::now();
        let routed = shares.share(app);
        routing += routing_started.elapsed();
        let current = fedsync::model::Current::of_app_roles("sp", msiam.clone());
        let plan = fedsync::plan::plan(
            &routed,
            &current,
            &fedsync::model::SyncState::default(),
            &settings,
        )?;
        refusals += guardrail::check(&plan, &Guardrails::default()).len();
        adds += plan.count(Action::Add);
        fullest = fullest.max(plan.entries_after());
    }
    let cpu = usage::cpu_time().saturating_sub(cpu_before);
    let wall = started.elapsed();
    Ok(json!({
        "candidate_roles": accounts * roles,
        "apps": apps,
        "plan_ms": wall.as_secs_f64() * 1000.0,
        "plan_cpu_ms": cpu.as_secs_f64() * 1000.0,
        "routing_ms": routing.as_secs_f64() * 1000.0,
        "peak_rss_kib": usage::status_kib("VmHWM").unwrap_or(0),
        "adds": adds,
        "fullest_app_entries": fullest,
        "refusals": refusals,
    }))
}
