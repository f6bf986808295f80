//! sync: one whole run — lease → inventory → current service principal, groups and assignments
//! → plan → guardrails → **backup** → apply → verify → report; and [`restore`], which plans from
//! a backup instead of the inventory and then takes the same path.
//!
//! Nothing is written before the settings are valid, the plan passes its guardrails and the
//! backup is in S3. Apply goes in the safe order: remove the assignments of roles being
//! disabled → `PATCH` adds, updates and disables (keeping roles still to drop) → `PATCH` drops
//! the roles an earlier run disabled → create missing groups → assign groups to their roles.
//! Then the service principal is read back and must equal the plan's target. A rerun after an
//! interruption converges on the same end state: every step is planned from what is there.

pub mod report;
pub mod verify;

use std::collections::{BTreeSet, HashMap};

use aws_config::SdkConfig;
use time::OffsetDateTime;

use crate::aws::inventory::ReadError;
use crate::aws::{AwsOptions, InventoryObserver, read_inventory};
use crate::backup::{BackupError, BackupStore};
use crate::graph::{Assignment, GraphClient, GraphError, NewGroup};
use crate::lease::{self, LeaseError};
use crate::model::{AppRole, AppRoleId, Inventory, Listing, ServicePrincipal};
use crate::naming;
use crate::plan::guardrail::{self, Refusal};
use crate::plan::{self, Action, Plan, PlanError, PlannedGroup};
use crate::settings::SyncSettings;

/// What a run did, or would do.
#[derive(Debug)]
pub struct SyncReport {
    pub inventory: Inventory,
    pub plan: Plan,
    /// Non-empty: the plan was refused and nothing was written.
    pub refusals: Vec<Refusal>,
    pub dry_run: bool,
    /// The backup taken before the first write; none when nothing needed writing.
    pub backup_key: Option<String>,
    /// For a restore: the backup restored from.
    pub restored_from: Option<String>,
    /// Groups created (display names).
    pub groups_created: Vec<String>,
    /// Groups planned but left to create (dry run).
    pub groups_to_create: Vec<String>,
    pub assignments_added: usize,
    pub assignments_removed: usize,
    /// Groups still assigned to roles that are being disabled or removed.
    pub orphan_groups: Vec<String>,
}

impl SyncError {
    /// True when the run's input was at fault (a plan that cannot be made, a backup key that
    /// names no usable backup): exit 2 rather than 1.
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            SyncError::Plan(_)
                | SyncError::Restore(
                    BackupError::Missing { .. }
                        | BackupError::NoneYet { .. }
                        | BackupError::NotABackup { .. }
                )
        )
    }
}

impl SyncReport {
    pub fn accounts_failed(&self) -> usize {
        self.inventory.failed()
    }
    pub fn accounts_read(&self) -> usize {
        self.inventory.read()
    }
    /// Some accounts could not be read, or some roles decided: exit 4.
    pub fn needs_attention(&self) -> bool {
        self.plan.needs_attention()
    }
    /// True when this run wrote to Graph.
    pub fn wrote(&self) -> bool {
        self.backup_key.is_some()
    }
}

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Lease(#[from] LeaseError),
    #[error("{0}; nothing was written")]
    Inventory(#[source] ReadError),
    #[error("cannot read the current state from Graph: {0}; nothing was written")]
    Current(#[source] GraphError),
    #[error("cannot plan: {0}; nothing was written")]
    Plan(#[source] PlanError),
    #[error("{0}; nothing was written")]
    Backup(#[source] BackupError),
    #[error(
        "the sync app (client id {client_id}) has no service principal in the tenant to own the groups it creates; set group-owner-id; nothing was written"
    )]
    NoGroupOwner { client_id: String },
    #[error("cannot restore: {0}; nothing was written")]
    Restore(#[source] BackupError),
    #[error(
        "applying stopped at {step}: {error}; the state before this run is in the backup s3://{bucket}/{backup_key}, and a rerun converges"
    )]
    Apply {
        step: &'static str,
        error: GraphError,
        bucket: String,
        backup_key: String,
    },
    #[error(
        "after applying, the app roles differ from the plan: {}; the state before this run is in s3://{bucket}/{backup_key}",
        differences.join("; ")
    )]
    Verify {
        differences: Vec<String>,
        bucket: String,
        backup_key: String,
    },
}

/// What a run needs besides its settings.
pub struct SyncContext<'a> {
    pub sdk: &'a SdkConfig,
    pub aws_options: &'a AwsOptions,
    pub graph: &'a GraphClient,
    pub s3: &'a aws_sdk_s3::Client,
    pub observer: &'a dyn InventoryObserver,
    /// Names this run in the lease and logs.
    pub run_id: String,
    pub now: fn() -> OffsetDateTime,
}

/// Runs one sync. With `dry_run`, stops after the plan: no lease, no backup, no writes.
pub async fn run(
    settings: &SyncSettings,
    ctx: &SyncContext<'_>,
    dry_run: bool,
) -> Result<SyncReport, SyncError> {
    leased(settings, ctx, dry_run, async {
        let inventory = read_inventory(ctx.sdk, &settings.inventory, ctx.aws_options, ctx.observer)
            .await
            .map_err(SyncError::Inventory)?;
        let (raw_sp, sp) = current(settings, ctx).await?;
        let plan =
            plan::plan(&inventory, &sp.app_roles, &settings.plan).map_err(SyncError::Plan)?;
        let planned = Planned {
            inventory,
            plan,
            raw_sp,
            current: sp.app_roles,
            restored_from: None,
        };
        apply(settings, ctx, planned, dry_run).await
    })
    .await
}

/// Restores the service principal's `appRoles` to the backup `key` (or `latest`): plans from
/// the backup as the target, then takes the same path as a sync — guardrails, a fresh backup of
/// the state it replaces, the safe apply order, verify. With `dry_run`, stops after the plan.
pub async fn restore(
    settings: &SyncSettings,
    ctx: &SyncContext<'_>,
    key: &str,
    dry_run: bool,
) -> Result<SyncReport, SyncError> {
    let store = BackupStore::new(ctx.s3.clone(), settings.backup.clone());
    let key = store.resolve(key).await.map_err(SyncError::Restore)?;
    let backup = store.get(&key).await.map_err(SyncError::Restore)?;
    let not_a_backup = |reason: String| {
        SyncError::Restore(BackupError::NotABackup {
            bucket: settings.backup.bucket.clone(),
            key: key.clone(),
            reason,
        })
    };
    let backup = ServicePrincipal::from_json(&backup.to_string())
        .map_err(|e| not_a_backup(crate::error_text::chain(&e)))?;
    if backup.id != settings.service_principal_id {
        return Err(not_a_backup(format!(
            "it holds the service principal {}, not {} (service-principal-id)",
            backup.id, settings.service_principal_id
        )));
    }
    leased(settings, ctx, dry_run, async {
        let (raw_sp, sp) = current(settings, ctx).await?;
        let plan =
            plan::restore::restore(&sp.app_roles, &backup.app_roles).map_err(SyncError::Plan)?;
        let planned = Planned {
            inventory: Inventory::new(Listing::Unknown, Vec::new()),
            plan,
            raw_sp,
            current: sp.app_roles,
            restored_from: Some(key.clone()),
        };
        apply(settings, ctx, planned, dry_run).await
    })
    .await
}

/// Runs `work` holding the run lease (none for a dry run, which writes nothing).
async fn leased(
    settings: &SyncSettings,
    ctx: &SyncContext<'_>,
    dry_run: bool,
    work: impl Future<Output = Result<SyncReport, SyncError>>,
) -> Result<SyncReport, SyncError> {
    if dry_run {
        return work.await;
    }
    let key = lease::lease_key(&settings.backup.prefix);
    let held = lease::acquire(
        ctx.s3,
        &settings.backup.bucket,
        &key,
        &ctx.run_id,
        (ctx.now)(),
    )
    .await?;
    let result = work.await;
    if let Err(e) = held.release(ctx.s3).await {
        tracing::warn!(error = %e, "could not release the lease; it expires by itself");
    }
    result
}

/// The service principal as Graph returned it, and parsed.
async fn current(
    settings: &SyncSettings,
    ctx: &SyncContext<'_>,
) -> Result<(serde_json::Value, ServicePrincipal), SyncError> {
    ctx.graph
        .service_principal(&settings.service_principal_id)
        .await
        .map_err(SyncError::Current)
}

/// A plan and what it was made from.
struct Planned {
    inventory: Inventory,
    plan: Plan,
    /// The service principal as Graph returned it: what the backup holds.
    raw_sp: serde_json::Value,
    current: Vec<AppRole>,
    restored_from: Option<String>,
}

/// The group work a plan implies, given what Graph holds.
struct GroupWork {
    /// Planned groups that exist already, with their ids.
    existing: Vec<(PlannedGroup, String)>,
    to_create: Vec<PlannedGroup>,
    to_unassign: Vec<Assignment>,
    orphans: Vec<String>,
    current_assignments: Vec<Assignment>,
}

/// Guardrails → backup → apply in the safe order → verify; stops after the guardrails on a
/// dry run, a refusal, or when nothing needs writing.
async fn apply(
    settings: &SyncSettings,
    ctx: &SyncContext<'_>,
    planned: Planned,
    dry_run: bool,
) -> Result<SyncReport, SyncError> {
    let sp_id = &settings.service_principal_id;
    let Planned {
        inventory,
        plan,
        raw_sp,
        current,
        restored_from,
    } = planned;
    let refusals = guardrail::check(&plan, &settings.guardrails);
    let work = group_work(settings, ctx.graph, &plan)
        .await
        .map_err(SyncError::Current)?;

    let to_assign: Vec<(String, AppRoleId)> = if settings.assign_groups {
        work.existing
            .iter()
            .filter(|(group, id)| {
                !work
                    .current_assignments
                    .iter()
                    .any(|a| &a.principal_id == id && a.app_role_id == group.app_role_id)
            })
            .map(|(group, id)| (id.clone(), group.app_role_id))
            .collect()
    } else {
        Vec::new()
    };
    let mut report = SyncReport {
        inventory,
        refusals,
        dry_run,
        backup_key: None,
        restored_from,
        groups_created: Vec::new(),
        groups_to_create: work
            .to_create
            .iter()
            .map(|g| g.display_name.clone())
            .collect(),
        assignments_added: 0,
        assignments_removed: 0,
        orphan_groups: work.orphans.clone(),
        plan,
    };
    let needs_write = !report.plan.is_empty()
        || !work.to_create.is_empty()
        || !work.to_unassign.is_empty()
        || !to_assign.is_empty();
    if !report.refusals.is_empty() || !needs_write {
        return Ok(report);
    }
    // Created groups are owned by `group-owner-id`, by default the sync app's own service
    // principal: without an owner the app could not change its groups later.
    let owner = match (&settings.group_owner_id, work.to_create.is_empty()) {
        (Some(owner), _) => Some(owner.clone()),
        (None, true) => None,
        (None, false) => Some(
            ctx.graph
                .service_principal_of_app(&settings.client_id)
                .await
                .map_err(SyncError::Current)?
                .ok_or_else(|| SyncError::NoGroupOwner {
                    client_id: settings.client_id.clone(),
                })?,
        ),
    };
    if dry_run {
        return Ok(report);
    }

    // Backup first: no backup, no write.
    let store = BackupStore::new(ctx.s3.clone(), settings.backup.clone());
    let backup_key = store
        .put(sp_id, &raw_sp, (ctx.now)())
        .await
        .map_err(SyncError::Backup)?;
    report.backup_key = Some(backup_key.clone());
    let applying = |step: &'static str| {
        let bucket = settings.backup.bucket.clone();
        let backup_key = backup_key.clone();
        move |error: GraphError| SyncError::Apply {
            step,
            error,
            bucket,
            backup_key,
        }
    };

    for assignment in &work.to_unassign {
        ctx.graph
            .unassign(sp_id, &assignment.id)
            .await
            .map_err(applying("removing assignments of disabled roles"))?;
        report.assignments_removed += 1;
    }
    let plan = &report.plan;
    if let Some(first) = &plan.first_patch {
        if first != &current {
            ctx.graph
                .set_app_roles(sp_id, first)
                .await
                .map_err(applying("the first appRoles PATCH"))?;
        }
        ctx.graph
            .set_app_roles(sp_id, &plan.target)
            .await
            .map_err(applying("dropping disabled roles"))?;
    } else if !plan.is_empty() {
        ctx.graph
            .set_app_roles(sp_id, &plan.target)
            .await
            .map_err(applying("the appRoles PATCH"))?;
    }

    let mut assign = to_assign;
    let new_groups: Vec<NewGroup> = work
        .to_create
        .iter()
        .map(|group| NewGroup {
            display_name: group.display_name.clone(),
            mail_nickname: group.mail_nickname.clone(),
            owner: owner.clone(),
        })
        .collect();
    let created = if new_groups.is_empty() {
        Vec::new()
    } else {
        ctx.graph
            .create_groups(&new_groups)
            .await
            .map_err(applying("creating groups"))?
    };
    for (group, made) in work.to_create.iter().zip(created) {
        report.groups_created.push(made.display_name.clone());
        if settings.assign_groups {
            assign.push((made.id, group.app_role_id));
        }
    }
    for (group_id, role_id) in &assign {
        ctx.graph
            .assign(sp_id, group_id, *role_id)
            .await
            .map_err(applying("assigning groups"))?;
        report.assignments_added += 1;
    }

    let (_, after) = ctx
        .graph
        .service_principal(sp_id)
        .await
        .map_err(applying("reading back"))?;
    let differences = verify::differences(&report.plan.target, &after.app_roles);
    if !differences.is_empty() {
        return Err(SyncError::Verify {
            differences,
            bucket: settings.backup.bucket.clone(),
            backup_key,
        });
    }
    Ok(report)
}

/// Which planned groups exist, which to create, and which assignments go with roles leaving.
async fn group_work(
    settings: &SyncSettings,
    graph: &GraphClient,
    plan: &Plan,
) -> Result<GroupWork, GraphError> {
    let leaving: BTreeSet<AppRoleId> = plan
        .changes
        .iter()
        .filter(|c| matches!(c.action, Action::Disable | Action::Remove))
        .map(|c| c.id)
        .collect();
    let current_assignments = if settings.assign_groups || !leaving.is_empty() {
        graph.assignments(&settings.service_principal_id).await?
    } else {
        Vec::new()
    };
    let to_unassign: Vec<Assignment> = current_assignments
        .iter()
        .filter(|a| leaving.contains(&a.app_role_id))
        .cloned()
        .collect();
    let orphans: Vec<String> = to_unassign
        .iter()
        .map(|a| {
            a.principal_display_name
                .clone()
                .unwrap_or_else(|| a.principal_id.clone())
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();

    // One listing by the names' common prefix (`AWS ` by default) instead of one lookup per
    // group; Entra compares display names without regard to case.
    let names: Vec<&str> = plan
        .groups
        .iter()
        .map(|g| g.display_name.as_str())
        .collect();
    let prefix = naming::common_prefix(&names);
    let listed: Option<HashMap<String, String>> = if plan.groups.len() > 1 && prefix.len() >= 3 {
        let found = graph.groups_starting_with(prefix).await?;
        Some(
            found
                .into_iter()
                .map(|g| (g.display_name.to_lowercase(), g.id))
                .collect(),
        )
    } else {
        None
    };
    let mut existing = Vec::new();
    let mut to_create = Vec::new();
    for group in &plan.groups {
        let id = match &listed {
            Some(by_name) => by_name.get(&group.display_name.to_lowercase()).cloned(),
            None => graph
                .groups_named(&group.display_name)
                .await?
                .into_iter()
                .next()
                .map(|g| g.id),
        };
        match id {
            Some(id) => existing.push((group.clone(), id)),
            None => to_create.push(group.clone()),
        }
    }
    Ok(GroupWork {
        existing,
        to_create,
        to_unassign,
        orphans,
        current_assignments,
    })
}
