//! plan: desired app roles (from an inventory) vs the service principal's current `appRoles`
//! → a [`Plan`]. Pure: no I/O, no clock, no async.
//!
//! fedsync changes only what it can decide. The rules, each tested in `tests.rs`:
//! - a current role is *managed* when its `value` parses as an AWS `<role ARN>,<provider ARN>`
//!   pair; every other role (`msiam_access`, roles other tools made) goes to the target unchanged;
//! - a role whose trust policy lets one of our providers in (verdict yes) is desired: every such
//!   pair that already is an app role is kept (its `id` stays, so assignments survive; re-enabled
//!   if disabled; renamed when the convention changed), and a role with none gets one, for the
//!   provider that sorts first, with an `id` that is a UUIDv5 of its `value`;
//! - a managed role is disabled (then, once disabled, removed) only on evidence: its account was
//!   read and the pair is a definite no (the role is gone, the policy says no, the provider is
//!   gone or not ours); or the account is closed; or it is absent from a complete Organization
//!   listing and the role's `id` is the one fedsync derives from its value;
//! - everything else is **held** — left exactly as it is and listed with the reason: accounts the
//!   settings leave out, suspended or pending closure or in an unknown state, unreadable
//!   accounts, can't-tell verdicts, providers with our entity id and an unknown certificate,
//!   app roles of vanished accounts that fedsync did not make; a new role that could only be
//!   added on such a verdict is not added, and listed too;
//! - `release_held` (`--release-held`) lets the held roles of the named accounts go (read
//!   failures aside), as if their accounts were gone;
//! - a desired value Graph would refuse (too long, a character it does not allow) is skipped and
//!   listed, never truncated.
//!
//! Guardrails ([`guardrail`]) decide whether a plan may be applied; [`render`] prints it.

pub mod assignments;
mod count;
pub mod groups;
pub mod guardrail;
pub mod render;
pub mod restore;
pub mod steps;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;

use serde::Serialize;

use crate::model::{
    AccountId, AccountInventory, AccountOutcome, AppRole, AppRoleId, AwsRoleValue, Current,
    FailureStage, GRAPH_MAX_VALUE_LEN, IamRole, Inventory, Listing, ProviderVerdict, RoleArn,
    SamlProviderArn, SkipReason, SyncState, TrustVerdict, check_graph_value,
};
use crate::naming::{self, MAX_GROUP_DISPLAY_NAME, NamingConvention, NamingInput};

pub use assignments::{AssignmentAction, AssignmentChange, AssignmentReason, Forget, OrphanGroup};
pub use groups::{GroupAction, PlannedGroup};

/// What planning needs besides its two inputs.
#[derive(Clone, Debug)]
pub struct PlanSettings {
    /// App role display names.
    pub naming: NamingConvention,
    /// Group display names; `None` gives each group its role's display name.
    pub group_naming: Option<NamingConvention>,
    /// Plan one security group per role.
    pub create_groups: bool,
    /// Assign each role's group to it.
    pub assign_groups: bool,
    /// The longest `value` Graph takes.
    pub max_value_len: usize,
    /// Accounts whose held roles this run lets go (`--release-held`; a flag of the run, not a
    /// setting).
    pub release_held: BTreeSet<AccountId>,
    /// `max-app-roles`: a plan counted over it is not built ([`Plan::not_built`]).
    pub entry_cap: usize,
}

impl Default for PlanSettings {
    fn default() -> Self {
        PlanSettings {
            naming: NamingConvention::default(),
            group_naming: None,
            create_groups: true,
            assign_groups: false,
            max_value_len: GRAPH_MAX_VALUE_LEN,
            release_held: BTreeSet::new(),
            entry_cap: guardrail::DEFAULT_MAX_APP_ROLES,
        }
    }
}

/// The changes that bring the service principal's `appRoles` in step with AWS.
#[derive(Clone, Debug, Default, PartialEq)]
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
    /// App roles left exactly as they are, and roles not added, with why; ordered by value.
    pub held: Vec<HeldRole>,
    /// `release_held` accounts that held nothing to let go.
    pub released_nothing: Vec<AccountId>,
    /// The group each desired role gets: reused, created or refused (empty when groups are
    /// off).
    pub groups: Vec<PlannedGroup>,
    /// Assignments removed (the roles' disables and drops), restored and added.
    pub assignments: Vec<AssignmentChange>,
    /// Groups still assigned to roles that are leaving (not deleted).
    pub orphan_groups: Vec<OrphanGroup>,
    /// Records of removed assignments the run lets go once done.
    pub forget: Vec<Forget>,
    /// Desired roles whose group cannot be created, with why.
    pub skipped_groups: Vec<SkippedGroup>,
    /// Managed roles that were enabled before this plan; the base of `max-removals` percentages.
    pub enabled_managed_before: usize,
    /// The `appRoles` collection once the plan is applied.
    pub target: Vec<AppRole>,
    /// When the plan removes roles: the collection of the first `PATCH` (everything but the
    /// removals), since Graph removes a role only once it is disabled in an earlier request.
    pub first_patch: Option<Vec<AppRole>>,
    /// Entries of the service principal's other collections that share the entry cap
    /// ([`crate::model::COLLECTIONS_SHARING_THE_CAP`]); the plan never changes them.
    pub entries_beside_app_roles: usize,
    /// Set when counting showed the plan over the entry cap, so it was not built: it then
    /// changes nothing (no changes, groups or assignments; the target is the collection as it
    /// is), and the guardrail refuses it for the app roles counted here.
    pub not_built: Option<NotBuilt>,
}

/// A plan left unbuilt: what counting found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct NotBuilt {
    /// The app roles the plan would add.
    pub adding: usize,
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
    /// The account is closed, or gone from the Organization (and fedsync made the role).
    AccountGone,
    /// Held, and let go with `--release-held`.
    Released,
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
            Reason::AccountGone => "the account is closed or no longer in the Organization",
            Reason::Released => "held, and released with --release-held",
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
    /// The evidence, in one line, for a disable or remove.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
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

/// An app role left exactly as it is (or a role not added), and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HeldRole {
    /// The app role's id; none for a role that is not added.
    pub id: Option<AppRoleId>,
    pub value: String,
    pub display_name: Option<String>,
    pub account: AccountId,
    pub reason: HoldReason,
    /// One line: the evidence fedsync lacks, or the setting or state that keeps the role.
    pub detail: String,
    /// fedsync could not read or decide it: a person should look (exit 4).
    pub needs_attention: bool,
}

/// Why a role is held.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HoldReason {
    /// The account is in `exclude-accounts`.
    AccountExcluded,
    /// The account is not in `include-accounts`.
    AccountNotIncluded,
    AccountSuspended,
    AccountPendingClosure,
    /// Organizations gave a state fedsync does not know.
    AccountStateUnknown,
    /// Reading the account failed.
    AccountUnreadable,
    /// The inventory does not list the account and cannot say why (outside an Organization,
    /// or a version 1 snapshot).
    AccountNotListed,
    /// The account left the Organization, but fedsync did not make this app role.
    NotMadeByFedsync,
    /// The trust policy or the provider's metadata cannot be decided.
    CantTell,
    /// The provider has our entity id but a certificate not in `saml-certificates`.
    UnknownCertificate,
}

impl HoldReason {
    /// Whether a person must look: fedsync could not read or decide. Roles held by choice (the
    /// settings, a suspended account, someone else's role) do not need one.
    pub fn needs_attention(self) -> bool {
        !matches!(
            self,
            HoldReason::AccountExcluded
                | HoldReason::AccountNotIncluded
                | HoldReason::AccountSuspended
                | HoldReason::AccountPendingClosure
                | HoldReason::NotMadeByFedsync
        )
    }

    pub fn describe(self) -> &'static str {
        match self {
            HoldReason::AccountExcluded => "account excluded by settings",
            HoldReason::AccountNotIncluded => "account not included by settings",
            HoldReason::AccountSuspended => "account suspended",
            HoldReason::AccountPendingClosure => "account pending closure",
            HoldReason::AccountStateUnknown => "account in an unknown state",
            HoldReason::AccountUnreadable => "account could not be read",
            HoldReason::AccountNotListed => "account not listed",
            HoldReason::NotMadeByFedsync => "not made by fedsync",
            HoldReason::CantTell => "can't tell",
            HoldReason::UnknownCertificate => "unknown certificate",
        }
    }

    fn for_skip(reason: SkipReason) -> Option<HoldReason> {
        Some(match reason {
            SkipReason::Excluded => HoldReason::AccountExcluded,
            SkipReason::NotIncluded => HoldReason::AccountNotIncluded,
            SkipReason::Suspended => HoldReason::AccountSuspended,
            SkipReason::PendingClosure => HoldReason::AccountPendingClosure,
            SkipReason::UnknownState => HoldReason::AccountStateUnknown,
            SkipReason::Closed => return None,
        })
    }
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
        "cannot restore the role {id}: its value {value} is now held by the role {taken_by}; remove or change that role first"
    )]
    ValueTaken {
        value: String,
        id: AppRoleId,
        taken_by: AppRoleId,
    },
}

/// A role the inventory says should be an app role.
struct Desired {
    value: AwsRoleValue,
    display_name: String,
    /// The group it would get, when the plan creates groups.
    group_name: Option<String>,
    description: String,
}

impl Plan {
    /// Number of changes with this action.
    pub fn count(&self, action: Action) -> usize {
        self.changes.iter().filter(|c| c.action == action).count()
    }

    /// The app roles the plan adds: its changes, or what was counted of a plan not built.
    pub fn adding(&self) -> usize {
        self.not_built
            .map_or_else(|| self.count(Action::Add), |n| n.adding)
    }

    /// True when applying would change nothing.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The most entries counted against the cap while the plan is applied: the largest
    /// `appRoles` collection it writes, and the other collections that share the cap.
    pub fn peak_entries(&self) -> usize {
        self.first_patch
            .as_ref()
            .map_or(self.target.len(), Vec::len)
            + self.entries_beside_app_roles
            + self.not_built.map_or(0, |n| n.adding)
    }

    /// Entries counted against the cap once the plan is applied: the app roles and the other
    /// collections that share the cap.
    pub fn entries_after(&self) -> usize {
        self.target.len() + self.entries_beside_app_roles + self.not_built.map_or(0, |n| n.adding)
    }

    /// True when carrying the plan out writes nothing at all: no app role, group, assignment
    /// or record changes.
    pub fn writes_nothing(&self) -> bool {
        steps::steps(self).is_empty()
    }

    /// How many users and groups lose a role, and how many get one back (restores).
    pub fn principals_losing_and_regaining(&self) -> ((usize, usize), (usize, usize)) {
        let count = |action: AssignmentAction, kind: crate::model::PrincipalType| {
            self.assignments
                .iter()
                .filter(|a| a.action == action && a.principal_type == kind)
                .filter_map(|a| a.principal_id.as_ref())
                .collect::<BTreeSet<_>>()
                .len()
        };
        use crate::model::PrincipalType::{Group, User};
        (
            (
                count(AssignmentAction::Remove, User),
                count(AssignmentAction::Remove, Group),
            ),
            (
                count(AssignmentAction::Restore, User),
                count(AssignmentAction::Restore, Group),
            ),
        )
    }

    /// Held roles a person must look at (exit 4), with unreadable accounts.
    pub fn needs_attention(&self) -> bool {
        !self.failed_accounts.is_empty() || self.held.iter().any(|h| h.needs_attention)
    }
}

/// What becomes of a managed app role that no desired role matches.
enum Fate {
    /// The evidence says yes after all (a pair fedsync keeps without planning it).
    Keep,
    Hold(HoldReason, String),
    Gone(Reason, String),
}

/// Plans `current` (the service principal's `appRoles`) towards what `inventory` holds.
pub fn plan(
    inventory: &Inventory,
    now: &Current,
    state: &SyncState,
    settings: &PlanSettings,
) -> Result<Plan, PlanError> {
    let current = now.app_roles();
    let accounts: HashMap<&AccountId, &AccountInventory> =
        inventory.accounts.iter().map(|a| (&a.id, a)).collect();
    let mut failed_accounts: BTreeMap<&AccountId, FailedAccount> = inventory
        .accounts
        .iter()
        .filter_map(|account| match &account.outcome {
            AccountOutcome::Failed { stage, reason } => Some((
                &account.id,
                FailedAccount {
                    account: account.id,
                    name: account.name.clone(),
                    stage: *stage,
                    reason: reason.clone(),
                    held_roles: 0,
                },
            )),
            _ => None,
        })
        .collect();

    // Current managed roles by value, to match desired roles and keep every pair that exists.
    let current_by_value: HashMap<&str, &AppRole> = current
        .iter()
        .filter_map(|r| r.aws_value().and(r.value()).map(|v| (v, r)))
        .collect();

    // Counted before it is built: a plan over the entry cap is refused as it stands.
    let beside = now.service_principal.entries_beside_app_roles();
    let over = |adding: usize| adding > 0 && current.len() + adding + beside > settings.entry_cap;
    if over(count::at_most(inventory)) {
        let adding = count::adds(inventory, &current_by_value, settings);
        if over(adding) {
            return Ok(unbuilt(now, failed_accounts, adding));
        }
    }

    let mut skipped = Vec::new();
    let mut skipped_values = HashSet::new();
    let mut desired: BTreeMap<String, Desired> = BTreeMap::new();
    let mut held = Vec::new();
    let (mut key, mut chosen) = (String::new(), Vec::new());
    for account in &inventory.accounts {
        let AccountOutcome::Read { roles, .. } = &account.outcome else {
            continue;
        };
        for role in roles {
            chosen_providers(role, &current_by_value, &mut key, &mut chosen);
            if chosen.is_empty() {
                if let Some(not_added) = not_added(account, role, &current_by_value, settings) {
                    held.push(not_added);
                }
                continue;
            }
            for &provider in &chosen {
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
                let display_name = settings.naming.render(&NamingInput {
                    account_id: &account.id,
                    account_name: &account.name,
                    role: &role.arn,
                });
                let description = describe(&value);
                let group_name = settings.create_groups.then(|| {
                    groups::group_name(
                        settings.group_naming.as_ref(),
                        &display_name,
                        &NamingInput {
                            account_id: &account.id,
                            account_name: &account.name,
                            role: &role.arn,
                        },
                    )
                });
                desired.insert(
                    value_text,
                    Desired {
                        value,
                        display_name,
                        group_name,
                        description,
                    },
                );
            }
        }
    }

    // Two IAM roles whose app roles or groups would share a name cannot be told apart by the
    // people who assign them: both are skipped, one by one, like values Graph would refuse.
    for (value, reason) in name_collisions(&desired) {
        if let Some(want) = desired.remove(&value) {
            skipped.push(SkippedRole {
                role: want.value.role().to_string(),
                value: value.clone(),
                reason,
            });
            skipped_values.insert(value);
        }
    }

    let mut changes = Vec::new();
    let mut target = Vec::with_capacity(current.len() + desired.len());
    // Roles dropped from the target, each with the place it keeps in the first `PATCH`.
    let mut dropped: Vec<(usize, AppRole)> = Vec::new();
    let mut matched = HashSet::new();
    let mut released = BTreeSet::new();
    let (mut unchanged, mut unmanaged, mut enabled_managed_before) = (0, 0, 0);
    for role in current {
        let Some(aws) = role.aws_value() else {
            unmanaged += 1;
            target.push(role.clone());
            continue;
        };
        if role.is_enabled {
            enabled_managed_before += 1;
        }
        let value = role.value().unwrap_or_default();
        let fate = if let Some(want) = desired.get(value) {
            matched.insert(value.to_owned());
            let (next, change) = reconcile(role, want);
            match change {
                Some(change) => changes.push(change),
                None => unchanged += 1,
            }
            target.push(next);
            continue;
        } else if skipped_values.contains(value) {
            Fate::Keep
        } else {
            fate(role, &aws, inventory, &accounts)
        };
        let account = aws.role().account();
        let fate = match fate {
            Fate::Hold(reason, detail)
                if reason != HoldReason::AccountUnreadable
                    && settings.release_held.contains(account) =>
            {
                released.insert(*account);
                Fate::Gone(Reason::Released, format!("{}: {detail}", reason.describe()))
            }
            other => other,
        };
        match fate {
            Fate::Keep => {
                unchanged += 1;
                target.push(role.clone());
            }
            Fate::Hold(reason, detail) => {
                if let Some(failed) = failed_accounts.get_mut(account) {
                    failed.held_roles += 1;
                }
                held.push(HeldRole {
                    id: Some(role.id),
                    value: value.to_owned(),
                    display_name: role.display_name().map(str::to_owned),
                    account: *account,
                    reason,
                    detail,
                    needs_attention: reason.needs_attention(),
                });
                unchanged += 1;
                target.push(role.clone());
            }
            Fate::Gone(reason, detail) if role.is_enabled => {
                let mut next = role.clone();
                next.is_enabled = false;
                let mut change = change_for(Action::Disable, role, reason, Vec::new());
                change.detail = Some(detail);
                changes.push(change);
                target.push(next);
            }
            Fate::Gone(reason, detail) => {
                let reason = if reason == Reason::Released {
                    Reason::Released
                } else {
                    Reason::DisabledEarlier
                };
                let mut change = change_for(Action::Remove, role, reason, Vec::new());
                change.detail = Some(detail);
                changes.push(change);
                dropped.push((target.len(), role.clone()));
            }
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
        target.push(role);
    }
    changes.sort_by(|a, b| a.value.cmp(&b.value));
    held.sort_by(|a, b| a.value.cmp(&b.value));

    let (groups, skipped_groups) = if settings.create_groups {
        plan_groups(&desired, &target, now, state)
    } else {
        (Vec::new(), Vec::new())
    };
    let held_ids: HashSet<AppRoleId> = held.iter().filter_map(|h| h.id).collect();
    let (assignments, orphan_groups, forget) = assignments::plan(&assignments::Inputs {
        changes: &changes,
        target: &target,
        current: &now.assignments,
        state,
        groups: &groups,
        assign_groups: settings.assign_groups,
        held: &held_ids,
        from_backup: &[],
    });

    let first_patch = (!dropped.is_empty()).then(|| with_dropped(&target, dropped));
    Ok(Plan {
        changes,
        unchanged,
        unmanaged,
        skipped,
        failed_accounts: failed_accounts.into_values().collect(),
        held,
        released_nothing: settings
            .release_held
            .iter()
            .filter(|a| !released.contains(*a))
            .cloned()
            .collect(),
        groups,
        skipped_groups,
        assignments,
        orphan_groups,
        forget,
        enabled_managed_before,
        target,
        first_patch,
        entries_beside_app_roles: beside,
        not_built: None,
    })
}

/// The target with the dropped roles back in their places: the first of two `PATCH`es.
fn with_dropped(target: &[AppRole], dropped: Vec<(usize, AppRole)>) -> Vec<AppRole> {
    let mut out = Vec::with_capacity(target.len() + dropped.len());
    let mut dropped = dropped.into_iter().peekable();
    for (i, role) in target.iter().enumerate() {
        while let Some((_, role)) = dropped.next_if(|(at, _)| *at == i) {
            out.push(role);
        }
        out.push(role.clone());
    }
    out.extend(dropped.map(|(_, role)| role));
    out
}

/// The plan of an app counted over its entry cap: it changes nothing, and says how many app
/// roles it would have added.
fn unbuilt(
    now: &Current,
    failed_accounts: BTreeMap<&AccountId, FailedAccount>,
    adding: usize,
) -> Plan {
    let current = now.app_roles();
    let managed = current.iter().filter(|r| r.aws_value().is_some());
    Plan {
        unchanged: managed.clone().count(),
        unmanaged: current.len() - managed.clone().count(),
        failed_accounts: failed_accounts.into_values().collect(),
        enabled_managed_before: managed.filter(|r| r.is_enabled).count(),
        target: current.to_vec(),
        entries_beside_app_roles: now.service_principal.entries_beside_app_roles(),
        not_built: Some(NotBuilt { adding }),
        ..Plan::default()
    }
}

/// The providers a role gets app roles for, into `chosen` (sorted): every provider it trusts
/// whose pair is an app role already (so none is dropped while the role still trusts it) —
/// then it returns true — else the one that sorts first. `key` and `chosen` are buffers the
/// caller keeps from role to role, so choosing allocates nothing once they have grown.
fn chosen_providers<'a>(
    role: &'a IamRole,
    current: &HashMap<&str, &AppRole>,
    key: &mut String,
    chosen: &mut Vec<&'a SamlProviderArn>,
) -> bool {
    chosen.clear();
    chosen.extend(role.trusted());
    chosen.sort_unstable();
    chosen.dedup();
    let Some(&first) = chosen.first() else {
        return false;
    };
    chosen.retain(|provider| {
        key.clear();
        let _ = write!(key, "{},{provider}", role.arn);
        current.contains_key(key.as_str())
    });
    if chosen.is_empty() {
        chosen.push(first);
        return false;
    }
    true
}

/// A role no provider of ours lets in for sure, that could only come in on an undecided
/// verdict and has no app role yet: not added, and listed.
fn not_added(
    account: &AccountInventory,
    role: &IamRole,
    current: &HashMap<&str, &AppRole>,
    settings: &PlanSettings,
) -> Option<HeldRole> {
    let mut undecided: Vec<_> = role
        .trust
        .iter()
        .filter(|t| {
            matches!(
                t.verdict,
                TrustVerdict::CantTell | TrustVerdict::UnknownCertificate
            )
        })
        .collect();
    undecided.sort_by(|a, b| a.provider.cmp(&b.provider));
    let any_exists = role
        .trust
        .iter()
        .any(|t| current.contains_key(format!("{},{}", role.arn, t.provider).as_str()));
    let first = undecided.first()?;
    if any_exists {
        return None;
    }
    let reason = match first.verdict {
        TrustVerdict::UnknownCertificate => HoldReason::UnknownCertificate,
        _ => HoldReason::CantTell,
    };
    Some(HeldRole {
        id: None,
        value: format!("{},{}", role.arn, first.provider),
        display_name: Some(settings.naming.render(&NamingInput {
            account_id: &account.id,
            account_name: &account.name,
            role: &role.arn,
        })),
        account: account.id,
        reason,
        detail: first.reason.clone(),
        needs_attention: true,
    })
}

/// What the inventory says of a managed app role no desired role matches.
fn fate(
    role: &AppRole,
    value: &AwsRoleValue,
    inventory: &Inventory,
    accounts: &HashMap<&AccountId, &AccountInventory>,
) -> Fate {
    let id = value.role().account();
    // In an app's share, an account left out holds nothing of the app's: routed when asked.
    let elsewhere;
    let account = match accounts.get(id) {
        Some(account) => Some(*account),
        None => {
            elsewhere = inventory.routed_elsewhere(id);
            elsewhere.as_ref()
        }
    };
    let Some(account) = account else {
        return match inventory.listing {
            Listing::Organization if role.id == AppRoleId::for_value(&value.to_string()) => {
                Fate::Gone(
                    Reason::AccountGone,
                    format!("account {id} is no longer in the Organization"),
                )
            }
            Listing::Organization => Fate::Hold(
                HoldReason::NotMadeByFedsync,
                format!(
                    "account {id} is no longer in the Organization, but this app role's id is not the one fedsync derives from its value (made by hand or by another tool); --release-held {id} lets it go"
                ),
            ),
            Listing::ThisAccountOnly => Fate::Hold(
                HoldReason::AccountNotListed,
                format!(
                    "fedsync runs outside an AWS Organization and reads only its own account, so it cannot tell whether account {id} still exists"
                ),
            ),
            Listing::Unknown => Fate::Hold(
                HoldReason::AccountNotListed,
                format!(
                    "the version 1 inventory snapshot does not list account {id}, and does not say why"
                ),
            ),
        };
    };
    match &account.outcome {
        AccountOutcome::Skipped { reason, state } => match HoldReason::for_skip(*reason) {
            Some(hold) => Fate::Hold(
                hold,
                format!("account {id} is {} (state {state})", reason.describe()),
            ),
            None => Fate::Gone(Reason::AccountGone, format!("account {id} is closed")),
        },
        AccountOutcome::Failed { stage, reason } => Fate::Hold(
            HoldReason::AccountUnreadable,
            format!("account {id} could not be read at {stage}: {reason}"),
        ),
        AccountOutcome::Read { providers, roles } => {
            let listed = roles.iter().find(|r| &r.arn == value.role());
            let trust =
                listed.and_then(|r| r.trust.iter().find(|t| &t.provider == value.provider()));
            if let Some(trust) = trust {
                return match trust.verdict {
                    TrustVerdict::Yes => Fate::Keep,
                    TrustVerdict::CantTell => {
                        Fate::Hold(HoldReason::CantTell, trust.reason.clone())
                    }
                    TrustVerdict::UnknownCertificate => {
                        Fate::Hold(HoldReason::UnknownCertificate, trust.reason.clone())
                    }
                    TrustVerdict::No => Fate::Gone(Reason::GoneFromAws, trust.reason.clone()),
                };
            }
            let provider = providers.iter().find(|p| &p.arn == value.provider());
            let detail = match (listed, provider) {
                (_, None) => format!("the SAML provider {} is gone", value.provider()),
                (_, Some(p)) if p.verdict == ProviderVerdict::NotOurs => format!(
                    "the SAML provider {} is not our Entra app's: {}",
                    p.arn, p.reason
                ),
                (None, Some(_)) => format!(
                    "the role {} is gone, or its trust policy names none of our providers",
                    value.role()
                ),
                (Some(_), Some(p)) => format!(
                    "the trust policy of {} does not let {} in",
                    value.role(),
                    p.arn
                ),
            };
            Fate::Gone(Reason::GoneFromAws, detail)
        }
    }
}

/// The desired values whose role shares its app role display name, or its group name, with
/// another IAM role (ignoring case, as Entra compares names), each with why.
fn name_collisions(desired: &BTreeMap<String, Desired>) -> BTreeMap<String, String> {
    type Key = (&'static str, String);
    let names = |want: &Desired| -> Vec<Key> {
        let mut names = vec![("app role display name", want.display_name.to_lowercase())];
        if let Some(group) = &want.group_name {
            names.push(("group name", group.to_lowercase()));
        }
        names
    };
    // Per name, the first role that has it, and whether another one does too.
    let mut first: HashMap<Key, (&RoleArn, bool)> = HashMap::new();
    for want in desired.values() {
        let role = want.value.role();
        for name in names(want) {
            let seen = first.entry(name).or_insert((role, false));
            seen.1 |= seen.0 != role;
        }
    }
    let mut shared: BTreeMap<Key, BTreeSet<&RoleArn>> = first
        .into_iter()
        .filter(|(_, (_, shared))| *shared)
        .map(|(name, _)| (name, BTreeSet::new()))
        .collect();
    if shared.is_empty() {
        return BTreeMap::new();
    }
    for want in desired.values() {
        for name in names(want) {
            if let Some(roles) = shared.get_mut(&name) {
                roles.insert(want.value.role());
            }
        }
    }
    let mut out = BTreeMap::new();
    for ((what, name), roles) in &shared {
        for (value, want) in desired {
            let role = want.value.role();
            if !roles.contains(role) || out.contains_key(value) {
                continue;
            }
            let others: Vec<String> = roles
                .iter()
                .filter(|r| **r != role)
                .map(ToString::to_string)
                .collect();
            out.insert(
                value.clone(),
                format!(
                    "its {what} {name:?} is also that of {}; put {{account_id}} and {{role_name}} in the naming convention",
                    others.join(", ")
                ),
            );
        }
    }
    out
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
        detail: None,
    }
}

/// One group per desired IAM role (for its first pair, when two of our providers let it in),
/// for roles enabled in the target: reused when fedsync stands behind an existing group of the
/// name, refused when only others' exist, else created.
fn plan_groups(
    desired: &BTreeMap<String, Desired>,
    target: &[AppRole],
    now: &Current,
    state: &SyncState,
) -> (Vec<PlannedGroup>, Vec<SkippedGroup>) {
    let ids: HashMap<&str, AppRoleId> = target
        .iter()
        .filter(|r| r.is_enabled)
        .filter_map(|r| r.value().map(|v| (v, r.id)))
        .collect();
    let mut named: Vec<(String, &str, AppRoleId)> = Vec::new();
    let mut skipped = Vec::new();
    let mut grouped: HashSet<&RoleArn> = HashSet::new();
    for (value, want) in desired {
        let Some(&id) = ids.get(value.as_str()) else {
            continue;
        };
        if !grouped.insert(want.value.role()) {
            continue;
        }
        let Some(name) = want.group_name.clone() else {
            continue;
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
        named.push((name, value, id));
    }
    let names: Vec<&str> = named.iter().map(|(n, _, _)| n.as_str()).collect();
    let nicknames = naming::mail_nicknames(&names);
    let owner = now.group_owner.as_ref();
    let groups = named
        .into_iter()
        .zip(nicknames)
        .map(|((display_name, value, app_role_id), mail_nickname)| {
            let (action, id, refused, duplicates) =
                groups::decide(&display_name, &now.groups, owner, state);
            PlannedGroup {
                display_name,
                mail_nickname,
                app_role_id,
                value: value.to_owned(),
                action,
                id,
                refused,
                duplicates,
            }
        })
        .collect();
    (groups, skipped)
}
