//! plan_scale: the pure planner at Organization scale, run in a child process so its peak RSS
//! is its own. Builds an inventory of `accounts × roles` federated roles and a full manifest
//! (msiam_access plus managed roles that match the first roles of the inventory, already in
//! step), then times `fedsync::plan::plan` and the guardrail check, and prints one JSON line.

use std::time::Instant;

use fedsync::model::{
    AccountInventory, AccountOutcome, AppRole, IamRole, Inventory, Listing, ProviderVerdict,
    SamlProvider, Trust, TrustVerdict,
};
use fedsync::naming::NamingInput;
use fedsync::plan::guardrail::{self, Guardrails};
use fedsync::plan::{Action, PlanSettings};
use serde_json::{Value, json};

use crate::fake_aws::{OrgSpec, PROVIDER};
use crate::usage;

fn inventory(accounts: usize, roles: usize) -> anyhow::Result<Inventory> {
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
                    certificates: Vec::new(),
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
    let inventory = inventory(accounts, roles)?;
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
        "unchanged": plan.unchanged,
        "groups": plan.groups.len(),
        "target_entries": plan.target.len(),
        "refusals": refusals.iter().map(ToString::to_string).collect::<Vec<_>>(),
    }))
}
