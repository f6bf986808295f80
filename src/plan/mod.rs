//! plan: desired app roles (from an inventory) vs the service principal's current `appRoles`
//! → a [`Plan`]. Pure: no I/O, no clock, no async.
//!
//! The rules, each tested in `tests.rs`:
//! - a current role is *managed* when its `value` parses as an AWS `<role ARN>,<provider ARN>`
//!   pair; every other role (`msiam_access`, roles other tools made) goes to the target unchanged;
//! - a desired role matches a current one by `value`: it keeps its `id` (assignments survive), is
//!   re-enabled if disabled, and gets a new display name or description when the convention changed;
//! - a new role's `id` is a UUIDv5 of its `value`, so reruns and restores converge on the same ids;
//! - a managed role no longer desired is disabled when enabled, removed when already disabled;
//! - roles of an account whose read failed, and roles whose desired value had to be skipped, are
//!   never touched;
//! - a desired value Graph would refuse (too long, a character it does not allow) is skipped and
//!   listed, never truncated.
//!
//! Guardrails ([`guardrail`]) decide whether a plan may be applied; [`render`] prints it.

pub mod guardrail;
pub mod render;
pub mod restore;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::Serialize;

use crate::model::{
    AccountId, AccountOutcome, AppRole, AppRoleId, AwsRoleValue, FailureStage, FederatedRole,
    GRAPH_MAX_VALUE_LEN, Inventory, SamlProviderArn, check_graph_value,
};
use crate::naming::{self, MAX_GROUP_DISPLAY_NAME, NamingConvention, NamingInput};

/// What planning needs besides its two inputs.
#[derive(Clone, Debug)]
pub struct PlanSettings {
    /// App role display names.
    pub naming: NamingConvention,
    /// Group display names; `None` gives each group its role's display name.
    pub group_naming: Option<NamingConvention>,
    /// Plan one security group per role.
    pub create_groups: bool,
    /// The longest `value` Graph takes.
    pub max_value_len: usize,
}

impl Default for PlanSettings {
    fn default() -> Self {
        PlanSettings {
            naming: NamingConvention::default(),
            group_naming: None,
            create_groups: true,
            max_value_len: GRAPH_MAX_VALUE_LEN,
        }
    }
}

/// The changes that bring the service principal's `appRoles` in step with AWS.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// One entry per app role that changes, ordered by `value`.
    pub changes: Vec<RoleChange>,
    /// Managed roles that stay exactly as they are.
    pub unchanged: usize,
    /// Roles fedsync does not manage, kept as they came.
    pub unmanaged: usize,
    /// Desired roles that cannot become app roles, with why.
    pub skipped: Vec<SkippedRole>,
    /// Accounts whose read failed; their roles are left as they are.
    pub failed_accounts: Vec<FailedAccount>,
    /// The group each desired role gets (empty when groups are off).
    pub groups: Vec<PlannedGroup>,
    /// Desired roles whose group cannot be created, with why.
    pub skipped_groups: Vec<SkippedGroup>,
    /// Managed roles that were enabled before this plan; the base of `max-removals` percentages.
    pub enabled_managed_before: usize,
    /// The `appRoles` collection once the plan is applied.
    pub target: Vec<AppRole>,
    /// When the plan removes roles: the collection of the first `PATCH` (everything but the
    /// removals), since Graph removes a role only once it is disabled in an earlier request.
    pub first_patch: Option<Vec<AppRole>>,
}

/// What happens to one app role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Add,
    Update,
    Enable,
    Disable,
    Remove,
}

/// Why a role changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// The role trusts our SAML provider and has no app role yet.
    NewRole,
    /// The naming convention (or the account name) gives it another display name or description.
    NamingChanged,
    /// The role trusts our SAML provider again after an earlier run disabled it.
    BackInAws,
    /// The account was read, and the role no longer trusts our SAML provider (or is gone).
    GoneFromAws,
    /// The account is not in the inventory any more (closed, suspended, left or excluded).
    AccountGone,
    /// An earlier run disabled it; Graph now lets it be dropped.
    DisabledEarlier,
    /// Restore: the backup holds the role this way.
    InBackup,
    /// Restore: the backup does not hold the role.
    NotInBackup,
}

impl Reason {
    pub fn describe(self) -> &'static str {
        match self {
            Reason::NewRole => "new role trusting our SAML provider",
            Reason::NamingChanged => "naming convention or account name changed",
            Reason::BackInAws => "the role trusts our SAML provider again",
            Reason::GoneFromAws => "the role no longer trusts our SAML provider, or was deleted",
            Reason::AccountGone => "the account is no longer in the inventory",
            Reason::DisabledEarlier => "disabled by an earlier run",
            Reason::InBackup => "as in the backup",
            Reason::NotInBackup => "not in the backup",
        }
    }
}

/// One property that changes, before and after.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    pub field: &'static str,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// One app role that changes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RoleChange {
    pub action: Action,
    pub id: AppRoleId,
    pub value: String,
    pub display_name: Option<String>,
    pub reason: Reason,
    /// For `update` and `enable`: the properties that change.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
}

/// A desired role that cannot become an app role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SkippedRole {
    pub role: String,
    pub value: String,
    pub reason: String,
}

/// An account whose read failed, and how many app roles it holds that stay as they are.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FailedAccount {
    pub account: AccountId,
    pub name: String,
    pub stage: FailureStage,
    pub reason: String,
    pub held_roles: usize,
}

/// The security group planned for a role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlannedGroup {
    pub display_name: String,
    pub mail_nickname: String,
    pub app_role_id: AppRoleId,
    pub value: String,
}

/// A desired role whose group cannot be created.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SkippedGroup {
    pub display_name: String,
    pub value: String,
    pub reason: String,
}

/// Inputs that cannot be planned from at all.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    #[error(
        "the app role id {id} that fedsync derives for {value} is already taken by the role with value {taken_by:?}; remove or rename that role"
    )]
    IdTaken {
        id: AppRoleId,
        value: String,
        taken_by: Option<String>,
    },
    #[error(
        "roles {first} and {second} would both get the group {name:?}; add {{account_id}} or {{role_name}} to the group naming convention"
    )]
    GroupNameCollision {
        name: String,
        first: String,
        second: String,
    },
    #[error(
        "cannot restore the role {id}: its value {value} is now held by the role {taken_by}; remove or change that role first"
    )]
    ValueTaken {
        value: String,
        id: AppRoleId,
        taken_by: AppRoleId,
    },
}

/// A role the inventory says should be an app role.
struct Desired<'a> {
    value: AwsRoleValue,
    account_name: &'a str,
    display_name: String,
    description: String,
}

impl Plan {
    /// Number of changes with this action.
    pub fn count(&self, action: Action) -> usize {
        self.changes.iter().filter(|c| c.action == action).count()
    }

    /// True when applying would change nothing.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The most entries the collection holds while the plan is applied.
    pub fn peak_entries(&self) -> usize {
        self.first_patch
            .as_ref()
            .map_or(self.target.len(), Vec::len)
    }
}

/// Plans `current` (the service principal's `appRoles`) towards what `inventory` holds.
pub fn plan(
    inventory: &Inventory,
    current: &[AppRole],
    settings: &PlanSettings,
) -> Result<Plan, PlanError> {
    let mut failed_accounts: BTreeMap<&AccountId, FailedAccount> = BTreeMap::new();
    let mut read_accounts: HashSet<&AccountId> = HashSet::new();
    for account in &inventory.accounts {
        match &account.outcome {
            AccountOutcome::Read { .. } => {
                read_accounts.insert(&account.id);
            }
            AccountOutcome::Failed { stage, reason } => {
                failed_accounts.insert(
                    &account.id,
                    FailedAccount {
                        account: account.id.clone(),
                        name: account.name.clone(),
                        stage: *stage,
                        reason: reason.clone(),
                        held_roles: 0,
                    },
                );
            }
        }
    }

    // Current managed roles by value, to match desired roles and pick among several providers.
    let current_by_value: HashMap<&str, &AppRole> = current
        .iter()
        .filter_map(|r| r.aws_value().and(r.value()).map(|v| (v, r)))
        .collect();

    let mut skipped = Vec::new();
    let mut skipped_values = HashSet::new();
    let mut desired: BTreeMap<String, Desired> = BTreeMap::new();
    for account in &inventory.accounts {
        let AccountOutcome::Read { roles, .. } = &account.outcome else {
            continue;
        };
        for role in roles {
            let Some(provider) = choose_provider(role, &current_by_value) else {
                continue;
            };
            let value = match AwsRoleValue::new(role.arn.clone(), provider.clone()) {
                Ok(value) => value,
                Err(e) => {
                    skipped.push(SkippedRole {
                        role: role.arn.to_string(),
                        value: format!("{},{}", role.arn, provider),
                        reason: e.to_string(),
                    });
                    continue;
                }
            };
            let value_text = value.to_string();
            if let Err(problem) = check_graph_value(&value_text, settings.max_value_len) {
                skipped_values.insert(value_text.clone());
                skipped.push(SkippedRole {
                    role: role.arn.to_string(),
                    value: value_text,
                    reason: problem.to_string(),
                });
                continue;
            }
            let input = NamingInput {
                account_id: &account.id,
                account_name: &account.name,
                role: &role.arn,
            };
            let display_name = settings.naming.render(&input);
            let description = describe(&value);
            desired.insert(
                value_text,
                Desired {
                    value,
                    account_name: &account.name,
                    display_name,
                    description,
                },
            );
        }
    }

    let mut changes = Vec::new();
    let mut target = Vec::with_capacity(current.len() + desired.len());
    let mut first_patch = Vec::with_capacity(current.len() + desired.len());
    let mut matched = HashSet::new();
    let (mut unchanged, mut unmanaged, mut enabled_managed_before) = (0, 0, 0);
    for role in current {
        let Some(aws) = role.aws_value() else {
            unmanaged += 1;
            target.push(role.clone());
            first_patch.push(role.clone());
            continue;
        };
        if role.is_enabled {
            enabled_managed_before += 1;
        }
        let value = role.value().unwrap_or_default();
        if let Some(want) = desired.get(value) {
            matched.insert(value.to_owned());
            let (next, change) = reconcile(role, want);
            match change {
                Some(change) => changes.push(change),
                None => unchanged += 1,
            }
            target.push(next.clone());
            first_patch.push(next);
        } else if let Some(failed) = failed_accounts.get_mut(aws.role().account()) {
            failed.held_roles += 1;
            unchanged += 1;
            target.push(role.clone());
            first_patch.push(role.clone());
        } else if skipped_values.contains(value) {
            unchanged += 1;
            target.push(role.clone());
            first_patch.push(role.clone());
        } else if role.is_enabled {
            let mut next = role.clone();
            next.is_enabled = false;
            let reason = if read_accounts.contains(aws.role().account()) {
                Reason::GoneFromAws
            } else {
                Reason::AccountGone
            };
            changes.push(change_for(Action::Disable, role, reason, Vec::new()));
            target.push(next.clone());
            first_patch.push(next);
        } else {
            changes.push(change_for(
                Action::Remove,
                role,
                Reason::DisabledEarlier,
                Vec::new(),
            ));
            first_patch.push(role.clone());
        }
    }

    let taken: HashMap<AppRoleId, &AppRole> = current.iter().map(|r| (r.id, r)).collect();
    for (value, want) in &desired {
        if matched.contains(value) {
            continue;
        }
        let role = AppRole::new_user_role(
            &want.value,
            want.display_name.clone(),
            want.description.clone(),
        );
        if let Some(holder) = taken.get(&role.id) {
            return Err(PlanError::IdTaken {
                id: role.id,
                value: value.clone(),
                taken_by: holder.value().map(str::to_owned),
            });
        }
        changes.push(change_for(Action::Add, &role, Reason::NewRole, Vec::new()));
        target.push(role.clone());
        first_patch.push(role);
    }
    changes.sort_by(|a, b| a.value.cmp(&b.value));

    let (groups, skipped_groups) = if settings.create_groups {
        plan_groups(&desired, &target, settings)?
    } else {
        (Vec::new(), Vec::new())
    };

    let removes = changes.iter().any(|c| c.action == Action::Remove);
    Ok(Plan {
        changes,
        unchanged,
        unmanaged,
        skipped,
        failed_accounts: failed_accounts.into_values().collect(),
        groups,
        skipped_groups,
        enabled_managed_before,
        target,
        first_patch: removes.then_some(first_patch),
    })
}

/// Of the providers a role trusts, the one whose pair is already an app role (enabled first),
/// else the first by ARN: a role trusted by two of our providers gets one app role, and a rerun
/// keeps whichever pair already exists.
fn choose_provider<'a>(
    role: &'a FederatedRole,
    current: &HashMap<&str, &AppRole>,
) -> Option<&'a SamlProviderArn> {
    let sorted: BTreeSet<&SamlProviderArn> = role.providers.iter().collect();
    let existing = |enabled: bool| {
        sorted.iter().copied().find(|p| {
            current
                .get(format!("{},{}", role.arn, p).as_str())
                .is_some_and(|r| r.is_enabled == enabled)
        })
    };
    existing(true)
        .or_else(|| existing(false))
        .or_else(|| sorted.first().copied())
}

/// The description fedsync gives a role: where it comes from, for people assigning it.
fn describe(value: &AwsRoleValue) -> String {
    format!(
        "IAM role {} via SAML provider {}",
        value.role(),
        value.provider().name()
    )
}

/// A current managed role brought in step with its desired form, and the change if any.
fn reconcile(role: &AppRole, want: &Desired) -> (AppRole, Option<RoleChange>) {
    let mut next = role.clone();
    let mut fields = Vec::new();
    if role.display_name() != Some(want.display_name.as_str()) {
        fields.push(FieldChange {
            field: "displayName",
            before: role.display_name().map(str::to_owned),
            after: Some(want.display_name.clone()),
        });
        next.display_name = Some(Some(want.display_name.clone()));
    }
    if role.description() != Some(want.description.as_str()) {
        fields.push(FieldChange {
            field: "description",
            before: role.description().map(str::to_owned),
            after: Some(want.description.clone()),
        });
        next.description = Some(Some(want.description.clone()));
    }
    let change = if !role.is_enabled {
        next.is_enabled = true;
        Some(change_for(Action::Enable, &next, Reason::BackInAws, fields))
    } else if !fields.is_empty() {
        Some(change_for(
            Action::Update,
            &next,
            Reason::NamingChanged,
            fields,
        ))
    } else {
        None
    };
    (next, change)
}

fn change_for(
    action: Action,
    role: &AppRole,
    reason: Reason,
    fields: Vec<FieldChange>,
) -> RoleChange {
    RoleChange {
        action,
        id: role.id,
        value: role.value().unwrap_or_default().to_owned(),
        display_name: role.display_name().map(str::to_owned),
        reason,
        fields,
    }
}

/// One group per desired role that is enabled in the target; names must tell roles apart.
fn plan_groups(
    desired: &BTreeMap<String, Desired>,
    target: &[AppRole],
    settings: &PlanSettings,
) -> Result<(Vec<PlannedGroup>, Vec<SkippedGroup>), PlanError> {
    let ids: HashMap<&str, AppRoleId> = target
        .iter()
        .filter_map(|r| r.value().map(|v| (v, r.id)))
        .collect();
    let mut named: Vec<(String, &str, AppRoleId)> = Vec::new();
    let mut skipped = Vec::new();
    let mut seen: HashMap<String, &str> = HashMap::new();
    for (value, want) in desired {
        let Some(&id) = ids.get(value.as_str()) else {
            continue;
        };
        let name = match &settings.group_naming {
            Some(convention) => convention.render(&NamingInput {
                account_id: want.value.role().account(),
                account_name: want.account_name,
                role: want.value.role(),
            }),
            None => want.display_name.clone(),
        };
        if name.chars().count() > MAX_GROUP_DISPLAY_NAME {
            skipped.push(SkippedGroup {
                display_name: name,
                value: value.clone(),
                reason: format!(
                    "a group display name has at most {MAX_GROUP_DISPLAY_NAME} characters"
                ),
            });
            continue;
        }
        // Entra compares display names without regard to case.
        if let Some(first) = seen.insert(name.to_lowercase(), value) {
            return Err(PlanError::GroupNameCollision {
                name,
                first: first.to_owned(),
                second: value.clone(),
            });
        }
        named.push((name, value, id));
    }
    let names: Vec<&str> = named.iter().map(|(n, _, _)| n.as_str()).collect();
    let nicknames = naming::mail_nicknames(&names);
    let groups = named
        .into_iter()
        .zip(nicknames)
        .map(
            |((display_name, value, app_role_id), mail_nickname)| PlannedGroup {
                display_name,
                mail_nickname,
                app_role_id,
                value: value.to_owned(),
            },
        )
        .collect();
    Ok((groups, skipped))
}
