//! sync: one whole run — lease → inventory → current state ([`Directory`]) and what earlier runs
//! recorded ([`Store`]) → plan → guardrails → **backup** → the plan's steps → verify → report;
//! and [`restore`], which plans from a backup instead of the inventory and then takes the same
//! path.
//!
//! Every decision is the plan's ([`crate::plan`]); the order of the writes is
//! [`crate::plan::steps`]. This module only runs them: nothing is written before the settings
//! are valid, the plan passes its guardrails and the backup (the service principal and its
//! assignments) is in the store. Then the service principal, the groups and the assignments
//! are read back and must match the plan, with a bounded retry for Graph's replication delay.
//! A run stopped at any step is finished by the next, which plans again from what is there.

pub mod report;
#[cfg(test)]
mod tests;
pub mod verify;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use time::OffsetDateTime;

use crate::aws::inventory::ReadError;
use crate::aws::{AwsOptions, InventoryObserver, InventorySettings, read_inventory};
use crate::backup::{self, BackupError};
use crate::directory::{CurrentQuery, Directory, KnownGroups, OwnerQuery};
use crate::graph::GraphError;
use crate::lease::LeaseError;
use crate::model::{
    AccountOutcome, AppName, Current, Inventory, Listing, NewGroup, ObjectId, RemovedAssignment,
    Routing, SyncState, Thumbprint,
};
use crate::naming::NamingInput;
use crate::plan::guardrail::{self, Fill, Guardrails, Refusal};
use crate::plan::steps::{self, Step};
use crate::plan::{
    self, AssignmentAction, AssignmentChange, GroupAction, Plan, PlanError, PlanSettings,
};
use crate::providers::CertificateFigures;
use crate::settings::SyncSettings;
use crate::store::{Store, StoreError};

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
    pub assignments_added: usize,
    pub assignments_removed: usize,
    pub assignments_restored: usize,
    /// Restores whose principal no longer exists (users or groups deleted since).
    pub restores_skipped: Vec<String>,
    /// Group names fedsync stands behind more than once: only one is assigned.
    pub duplicate_groups: Vec<String>,
    /// How full the plan leaves the service principal against `max-app-roles`.
    pub fill: Fill,
    /// How soon the app's SAML providers run out of valid certificates, and which lack one.
    pub certificates: CertificateFigures,
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
    /// Every warning of the run: the app near its entry cap, its SAML certificates.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings: Vec<String> = self.fill.warning().into_iter().collect();
        warnings.extend(self.certificates.warnings());
        warnings
    }
    /// True when this run wrote to Graph.
    pub fn wrote(&self) -> bool {
        self.backup_key.is_some()
    }
    /// Groups the plan creates (display names).
    pub fn groups_to_create(&self) -> Vec<String> {
        self.plan
            .groups
            .iter()
            .filter(|g| g.action == GroupAction::Create)
            .map(|g| g.display_name.clone())
            .collect()
    }
    /// Groups still assigned to roles that are leaving (display names, else ids).
    pub fn orphan_groups(&self) -> Vec<String> {
        self.plan
            .orphan_groups
            .iter()
            .map(|g| g.display_name.clone().unwrap_or_else(|| g.id.to_string()))
            .collect()
    }
}

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Lease(#[from] LeaseError),
    #[error("cannot read the inventory; nothing was written")]
    Inventory(#[source] ReadError),
    #[error("cannot read the current state from Graph; nothing was written")]
    Current(#[source] GraphError),
    #[error("cannot read what earlier runs recorded; nothing was written")]
    State(#[source] StoreError),
    #[error("cannot plan; nothing was written")]
    Plan(#[source] PlanError),
    #[error("cannot back up the current state; nothing was written")]
    Backup(#[source] BackupError),
    #[error(
        "the sync app (client id {client_id}) has no service principal in the tenant to own the groups it creates; set group-owner-id; nothing was written"
    )]
    NoGroupOwner { client_id: String },
    /// The run may no longer write: its lease was taken over, or it passed its deadline.
    #[error("stopped before {step}; {written}")]
    Stopped {
        step: &'static str,
        written: Written,
        #[source]
        cause: StopCause,
    },
    #[error("cannot restore; nothing was written")]
    Restore(#[source] BackupError),
    #[error(
        "applying stopped at {step}; the state before this run is in the backup {backup_key}, and a rerun converges"
    )]
    Apply {
        step: &'static str,
        #[source]
        error: StepError,
        backup_key: String,
    },
    #[error(
        "after applying, Graph differs from the plan: {}; the state before this run is in {backup_key}",
        differences.join("; ")
    )]
    Verify {
        differences: Vec<String>,
        backup_key: String,
    },
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

/// Why a run stopped before a write step.
#[derive(Debug, thiserror::Error)]
pub enum StopCause {
    #[error(transparent)]
    Lease(LeaseError),
    #[error(
        "the run passed its deadline ({} min after it started), which keeps it inside its lease",
        .0.as_secs() / 60
    )]
    Deadline(Duration),
}

/// What a run had written when it stopped.
#[derive(Debug, Default)]
pub struct Written {
    pub backup_key: Option<String>,
    /// The write steps carried out, in order.
    pub steps: Vec<&'static str>,
}

impl std::fmt::Display for Written {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.backup_key {
            None => write!(f, "nothing was written"),
            Some(key) if self.steps.is_empty() => {
                write!(f, "only the backup {key} was written; a rerun converges")
            }
            Some(key) => write!(
                f,
                "written before stopping: {}; the state before this run is in the backup {key}, and a rerun converges",
                self.steps.join(", ")
            ),
        }
    }
}

/// A write that failed.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error(transparent)]
    Graph(#[from] GraphError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a run needs besides its settings.
pub struct SyncContext<'a, D, S> {
    pub sdk: &'a SdkConfig,
    pub aws_options: &'a AwsOptions,
    pub directory: &'a D,
    pub store: &'a S,
    pub observer: &'a dyn InventoryObserver,
    /// Names this run in the lease, the records and logs.
    pub run_id: String,
    pub now: fn() -> OffsetDateTime,
    /// How long to wait before reading back again while Graph still differs (replication).
    pub verify_waits: Vec<Duration>,
    /// No write step begins after it: it keeps the run inside its lease.
    pub deadline: Deadline,
}

/// When a run stops beginning write steps.
#[derive(Clone, Copy, Debug)]
pub struct Deadline {
    at: Instant,
    after: Duration,
}

impl Deadline {
    /// `after` from now.
    pub fn after(after: Duration) -> Deadline {
        Deadline {
            at: Instant::now() + after,
            after,
        }
    }

    /// `after` from `started`.
    pub fn since(started: Instant, after: Duration) -> Deadline {
        Deadline {
            at: started + after,
            after,
        }
    }

    fn passed(&self) -> bool {
        Instant::now() >= self.at
    }
}

impl<D, S> SyncContext<'_, D, S> {
    fn writer(&self) -> Writer<'_, D, S> {
        self.writer_to(self.store)
    }

    /// A writer that keeps the lease, state and backups in `store` (one app's).
    fn writer_to<'b>(&'b self, store: &'b S) -> Writer<'b, D, S> {
        Writer {
            directory: self.directory,
            store,
            run_id: &self.run_id,
            now: self.now,
            verify_waits: &self.verify_waits,
            deadline: self.deadline,
        }
    }
}

/// What carrying out a plan needs: where to write, and how to stamp the records.
pub struct Writer<'a, D, S> {
    pub directory: &'a D,
    pub store: &'a S,
    pub run_id: &'a str,
    pub now: fn() -> OffsetDateTime,
    pub verify_waits: &'a [Duration],
    pub deadline: Deadline,
}

impl<D, S: Store> Writer<'_, D, S> {
    /// Before the write step `step`: the run is within its deadline and still holds its lease.
    async fn may_write(&self, step: &'static str, written: &mut Written) -> Result<(), SyncError> {
        let cause = if self.deadline.passed() {
            Some(StopCause::Deadline(self.deadline.after))
        } else {
            self.store
                .confirm_lease((self.now)())
                .await
                .err()
                .map(StopCause::Lease)
        };
        match cause {
            None => Ok(()),
            Some(cause) => Err(SyncError::Stopped {
                step,
                written: std::mem::take(written),
                cause,
            }),
        }
    }
}

/// The settings carrying out a plan needs.
#[derive(Clone, Debug)]
pub struct ApplySettings {
    pub service_principal_id: String,
    pub client_id: String,
    pub guardrails: Guardrails,
    /// The app's `saml-certificates`, for the report's certificate figures.
    pub saml_certificates: Vec<Thumbprint>,
    pub certificate_warn_days: u32,
}

impl ApplySettings {
    pub fn of(settings: &SyncSettings) -> ApplySettings {
        ApplySettings {
            service_principal_id: settings.service_principal_id.clone(),
            client_id: settings.client_id.clone(),
            guardrails: settings.guardrails,
            saml_certificates: settings.inventory.saml_certificates.clone(),
            certificate_warn_days: settings.certificate_warn_days,
        }
    }
}

/// A plan and what it was made from.
pub struct Planned {
    pub inventory: Inventory,
    pub plan: Plan,
    pub current: Current,
    pub state: SyncState,
    /// How to read the current state back for verify.
    pub query: CurrentQuery,
    pub restored_from: Option<String>,
}

/// The display names of the groups a plan of `inventory` may reuse or create: one per role a
/// provider of ours lets in.
pub fn group_names(inventory: &Inventory, settings: &PlanSettings) -> Vec<String> {
    if !settings.create_groups {
        return Vec::new();
    }
    let mut names = Vec::new();
    for account in &inventory.accounts {
        let AccountOutcome::Read { roles, .. } = &account.outcome else {
            continue;
        };
        for role in roles.iter().filter(|r| r.trusted().next().is_some()) {
            let input = NamingInput {
                account_id: &account.id,
                account_name: &account.name,
                role: &role.arn,
            };
            let display = settings.naming.render(&input);
            names.push(plan::groups::group_name(
                settings.group_naming.as_ref(),
                &display,
                &input,
            ));
        }
    }
    names.sort();
    names.dedup();
    names
}

fn owner_query(settings: &SyncSettings) -> OwnerQuery {
    match &settings.group_owner_id {
        Some(id) => OwnerQuery::Given(id.clone()),
        None => OwnerQuery::SyncApp {
            client_id: settings.client_id.clone(),
        },
    }
}

/// What a plan starts from: the service principal, the groups named `group_names` and the
/// assignments (from the directory), and the record of removed assignments and created groups
/// (from the store).
async fn read_current<D: Directory, S: Store>(
    settings: &SyncSettings,
    directory: &D,
    store: &S,
    group_names: Vec<String>,
    known_groups: Option<Arc<KnownGroups>>,
) -> Result<(CurrentQuery, Current, SyncState), SyncError> {
    let query = CurrentQuery {
        service_principal_id: settings.service_principal_id.clone(),
        group_names,
        owner: owner_query(settings),
        assignments: true,
        known_groups,
    };
    let current = directory
        .read_current(&query)
        .await
        .map_err(SyncError::Current)?;
    let state = store
        .read_state(&settings.service_principal_id)
        .await
        .map_err(SyncError::State)?;
    Ok((query, current, state))
}

/// One app of a run: its name, its settings, and the store that keeps its lease, state and
/// backups.
pub struct App<'a, S> {
    pub name: AppName,
    pub settings: &'a SyncSettings,
    pub store: &'a S,
}

/// What one app's part of a run came to.
#[derive(Debug)]
pub struct AppOutcome {
    pub name: AppName,
    pub service_principal_id: String,
    pub result: Result<SyncReport, SyncError>,
}

/// The apps one run syncs, and how the inventory they share is read.
pub struct Apps<'a, S> {
    /// In name order: the leases are taken in this order.
    pub apps: Vec<App<'a, S>>,
    /// Every configured app's certificates (not only those of the apps in this run): a provider
    /// is read as ours whichever app it signs for, then routed.
    pub inventory: &'a InventorySettings,
    /// More than one app is configured: each app gets the inventory routed to it by
    /// certificate ([`Routing`]); with one, the inventory is its own.
    pub route: bool,
}

/// Runs one sync of one app. With `dry_run`, stops after the plan: no lease, no backup, no
/// writes.
pub async fn run<D: Directory, S: Store>(
    settings: &SyncSettings,
    ctx: &SyncContext<'_, D, S>,
    dry_run: bool,
) -> Result<SyncReport, SyncError> {
    let apps = Apps {
        apps: vec![App {
            name: AppName::default_app(),
            settings,
            store: ctx.store,
        }],
        inventory: &settings.inventory,
        route: false,
    };
    let mut outcomes = run_apps(&apps, ctx, dry_run).await?;
    match outcomes.pop() {
        Some(outcome) => outcome.result,
        None => unreachable!("one app in, one outcome out"),
    }
}

/// Runs one sync of several apps: takes every app's lease (in name order) before the inventory
/// is read — once, for all of them — then per app, routed to it by certificate: plan →
/// guardrails → backup → steps → verify, and gives its lease back. One app's failure (its lease
/// held, Graph failing, a guardrail) never stops another's. With `dry_run`: no lease, no
/// backup, no writes. An inventory that cannot be read at all fails the run (exit 1).
pub async fn run_apps<D: Directory, S: Store>(
    apps: &Apps<'_, S>,
    ctx: &SyncContext<'_, D, S>,
    dry_run: bool,
) -> Result<Vec<AppOutcome>, SyncError> {
    let mut leases = Vec::new();
    for app in &apps.apps {
        let sp_id = &app.settings.service_principal_id;
        leases.push(match dry_run {
            true => Ok(()),
            false => app
                .store
                .lease(sp_id, &ctx.run_id, (ctx.now)())
                .await
                .map_err(SyncError::Lease),
        });
    }
    let release = async |app: &App<'_, S>| {
        if dry_run {
            return;
        }
        if let Err(e) = app.store.release().await {
            tracing::warn!(app = %app.name, error = %crate::error_text::chain(&e), "could not release the lease");
        }
    };
    // No app to write: nothing to read either.
    let mut inventory = match leases.iter().any(Result::is_ok) {
        false => None,
        true => {
            match read_inventory(ctx.sdk, apps.inventory, ctx.aws_options, ctx.observer).await {
                Ok(inventory) => Some(inventory),
                Err(e) => {
                    for (app, lease) in apps.apps.iter().zip(&leases) {
                        if lease.is_ok() {
                            release(app).await;
                        }
                    }
                    return Err(SyncError::Inventory(e));
                }
            }
        }
    };
    // Each app's inventory, routed to it by certificate, and the groups its plan may name.
    // Routed once for every app; each share copies only the accounts of its app.
    let routing = match (&inventory, apps.route) {
        (Some(_), true) => {
            let certificates = apps
                .apps
                .iter()
                .map(|app| {
                    app.settings
                        .inventory
                        .saml_certificates
                        .iter()
                        .cloned()
                        .collect()
                })
                .collect();
            inventory
                .take()
                .map(|inventory| Routing::new(Arc::new(inventory), certificates))
        }
        _ => None,
    };
    let single = apps.apps.len() == 1;
    let routed: Vec<Option<(Inventory, Vec<String>)>> = apps
        .apps
        .iter()
        .zip(&leases)
        .enumerate()
        .map(|(i, (app, lease))| {
            let inventory = match (lease, &routing) {
                (Err(_), _) => return None,
                (Ok(()), Some(routing)) => routing.share(i),
                // Not routed: one app, whose inventory it is.
                (Ok(()), None) if single => inventory.take()?,
                (Ok(()), None) => inventory.clone()?,
            };
            let names = group_names(&inventory, &app.settings.plan);
            Some((inventory, names))
        })
        .collect();
    drop(inventory);
    // Read once for all apps when it can be; when that read fails, each app reads its own and
    // fails (or not) on its own, as one app's failure never stops another.
    let known_groups = match read_groups_once(apps, ctx, &routed).await {
        Ok(known) => known,
        Err(e) => {
            tracing::warn!(error = %crate::error_text::chain(&e), "could not read the groups of every app at once; each app reads its own");
            None
        }
    };
    let mut outcomes = Vec::new();
    for ((app, lease), routed) in apps.apps.iter().zip(leases).zip(routed) {
        let result = match (lease, routed) {
            (Err(e), _) => Err(e),
            (Ok(()), None) => continue,
            (Ok(()), Some((routed, names))) => {
                let result = sync_app(app, ctx, routed, names, known_groups.clone(), dry_run).await;
                release(app).await;
                result
            }
        };
        if let Err(e) = &result {
            tracing::error!(app = %app.name, error = %crate::error_text::chain(e), "this app's sync failed");
        }
        outcomes.push(AppOutcome {
            name: app.name.clone(),
            service_principal_id: app.settings.service_principal_id.clone(),
            result,
        });
    }
    Ok(outcomes)
}

/// With several apps to sync, the groups they name, read once for all of them instead of once
/// an app (listing the groups the sync app owns does not get cheaper by app): when every app's
/// groups have one owner and no two apps name the same group — so no app's writes change what
/// another planned from. Otherwise none, and each app reads its own.
async fn read_groups_once<D: Directory, S: Store>(
    apps: &Apps<'_, S>,
    ctx: &SyncContext<'_, D, S>,
    routed: &[Option<(Inventory, Vec<String>)>],
) -> Result<Option<Arc<KnownGroups>>, SyncError> {
    let mut planned = apps
        .apps
        .iter()
        .zip(routed)
        .filter_map(|(app, routed)| routed.as_ref().map(|(_, names)| (app.settings, names)));
    let Some((first, names)) = planned.next() else {
        return Ok(None);
    };
    let owner = owner_query(first);
    let mut all = names.clone();
    let mut apps_reading = 1;
    let mut seen: HashSet<String> = all.iter().map(|n| n.to_lowercase()).collect();
    for (settings, names) in planned {
        let same_owner = match (&owner, owner_query(settings)) {
            (OwnerQuery::Given(a), OwnerQuery::Given(b)) => *a == b,
            (OwnerQuery::SyncApp { client_id: a }, OwnerQuery::SyncApp { client_id: b }) => *a == b,
            _ => false,
        };
        if !same_owner || !names.iter().all(|n| seen.insert(n.to_lowercase())) {
            return Ok(None);
        }
        all.extend(names.iter().cloned());
        apps_reading += 1;
    }
    if apps_reading < 2 {
        return Ok(None);
    }
    let known = ctx
        .directory
        .read_groups(&all, &owner)
        .await
        .map_err(SyncError::Current)?;
    Ok(Some(Arc::new(known)))
}

/// One app's part of a run, from its routed inventory on, its lease held.
async fn sync_app<D: Directory, S: Store>(
    app: &App<'_, S>,
    ctx: &SyncContext<'_, D, S>,
    inventory: Inventory,
    group_names: Vec<String>,
    known_groups: Option<Arc<KnownGroups>>,
    dry_run: bool,
) -> Result<SyncReport, SyncError> {
    let settings = app.settings;
    let (query, current, state) = read_current(
        settings,
        ctx.directory,
        app.store,
        group_names,
        known_groups,
    )
    .await?;
    let plan = plan::plan(&inventory, &current, &state, &settings.plan).map_err(SyncError::Plan)?;
    let planned = Planned {
        inventory,
        plan,
        current,
        state,
        query,
        restored_from: None,
    };
    carry_out(
        &ApplySettings::of(settings),
        &ctx.writer_to(app.store),
        planned,
        dry_run,
    )
    .await
}

/// Restores the service principal's app roles and assignments to the backup `key` (or
/// `latest`): plans from the backup as the target, then takes the same path as a sync —
/// guardrails, a fresh backup of the state it replaces, the steps, verify. With `dry_run`,
/// stops after the plan.
pub async fn restore<D: Directory, S: Store>(
    settings: &SyncSettings,
    ctx: &SyncContext<'_, D, S>,
    backups: &backup::BackupStore,
    key: &str,
    dry_run: bool,
) -> Result<SyncReport, SyncError> {
    let key = backups
        .resolve(key, Some(&settings.service_principal_id))
        .await
        .map_err(SyncError::Restore)?;
    let document = backups.get(&key).await.map_err(SyncError::Restore)?;
    let not_a_backup = |reason: String| {
        SyncError::Restore(BackupError::NotABackup {
            bucket: backups.bucket().to_owned(),
            key: key.clone(),
            source: reason.into(),
        })
    };
    let backup = backup::read(&document).map_err(not_a_backup)?;
    if backup.service_principal.id != settings.service_principal_id {
        return Err(not_a_backup(format!(
            "it holds the service principal {}, not {} (service-principal-id)",
            backup.service_principal.id, settings.service_principal_id
        )));
    }
    leased(ctx, &settings.service_principal_id, dry_run, async {
        let (query, current, state) =
            read_current(settings, ctx.directory, ctx.store, Vec::new(), None).await?;
        let plan =
            plan::restore::restore_backup(&current, &backup, &state).map_err(SyncError::Plan)?;
        let planned = Planned {
            inventory: Inventory::new(Listing::Unknown, Vec::new()),
            plan,
            current,
            state,
            query,
            restored_from: Some(key.clone()),
        };
        carry_out(
            &ApplySettings::of(settings),
            &ctx.writer(),
            planned,
            dry_run,
        )
        .await
    })
    .await
}

/// Runs `work` holding the run lease (none for a dry run, which writes nothing).
async fn leased<D, S: Store>(
    ctx: &SyncContext<'_, D, S>,
    sp_id: &str,
    dry_run: bool,
    work: impl Future<Output = Result<SyncReport, SyncError>>,
) -> Result<SyncReport, SyncError> {
    if dry_run {
        return work.await;
    }
    ctx.store.lease(sp_id, &ctx.run_id, (ctx.now)()).await?;
    let result = work.await;
    if let Err(e) = ctx.store.release().await {
        tracing::warn!(error = %crate::error_text::chain(&e), "could not release the lease");
    }
    result
}

/// Guardrails → backup → the plan's steps → verify; stops after the guardrails on a dry run,
/// a refusal, or when nothing needs writing.
pub async fn carry_out<D: Directory, S: Store>(
    settings: &ApplySettings,
    writer: &Writer<'_, D, S>,
    planned: Planned,
    dry_run: bool,
) -> Result<SyncReport, SyncError> {
    let Planned {
        inventory,
        plan,
        current,
        mut state,
        query,
        restored_from,
    } = planned;
    let refusals = guardrail::check(&plan, &settings.guardrails);
    let fill = guardrail::fill(&plan, &settings.guardrails);
    fill.warn();
    // A restore reads no inventory: it has no certificate figures.
    let certificates = match restored_from {
        Some(_) => CertificateFigures::default(),
        None => CertificateFigures::of(
            &inventory,
            &settings.saml_certificates,
            settings.certificate_warn_days,
            (writer.now)(),
        ),
    };
    for warning in certificates.warnings() {
        tracing::warn!(
            certificate_expires_in_days = certificates.expires_in_days,
            accounts_missing_certificate = certificates.accounts_missing_certificate.len(),
            "{warning}"
        );
    }
    let mut report = SyncReport {
        fill,
        certificates,
        inventory,
        refusals,
        dry_run,
        backup_key: None,
        restored_from,
        groups_created: Vec::new(),
        assignments_added: 0,
        assignments_removed: 0,
        assignments_restored: 0,
        restores_skipped: Vec::new(),
        duplicate_groups: duplicates(&plan),
        plan,
    };
    let steps = steps::steps(&report.plan);
    if !report.refusals.is_empty() || steps.is_empty() {
        return Ok(report);
    }
    // Created groups are owned by `group-owner-id`, by default the sync app's own service
    // principal: without an owner the app could not change its groups later.
    let creates = steps.iter().any(|s| matches!(s, Step::CreateGroups(_)));
    if creates && current.group_owner.is_none() {
        return Err(SyncError::NoGroupOwner {
            client_id: settings.client_id.clone(),
        });
    }
    if dry_run {
        return Ok(report);
    }

    // Backup first: no backup, no write.
    let sp_id = &settings.service_principal_id;
    let mut written = Written::default();
    writer.may_write("the backup", &mut written).await?;
    let document = backup::document(&current.raw_service_principal, &current.assignments);
    let backup_key = writer
        .store
        .put_backup(sp_id, &document, (writer.now)())
        .await
        .map_err(SyncError::Backup)?;
    report.backup_key = Some(backup_key.clone());
    written.backup_key = Some(backup_key.clone());

    let mut created: HashMap<String, ObjectId> = HashMap::new();
    for step in &steps {
        writer.may_write(step.name(), &mut written).await?;
        run_step(
            writer,
            sp_id,
            step,
            &current,
            &mut state,
            &mut created,
            &mut report,
        )
        .await
        .map_err(|error| SyncError::Apply {
            step: step.name(),
            error,
            backup_key: backup_key.clone(),
        })?;
        written.steps.push(step.name());
    }

    let (differences, after) = verify_with_retry(writer, &query, &report, &created).await?;
    // Two groups of one name that fedsync stands behind, seen only now (created meanwhile by
    // someone else, or by an answer that came too late): reported; the plan assigns one.
    for name in duplicates_in(&after, &state) {
        if !report.duplicate_groups.contains(&name) {
            tracing::warn!(group = %name, "fedsync owns more than one group of this name");
            report.duplicate_groups.push(name);
        }
    }
    if !differences.is_empty() {
        return Err(SyncError::Verify {
            differences,
            backup_key,
        });
    }
    Ok(report)
}

/// Names of groups in `after` that fedsync stands behind more than once.
fn duplicates_in(after: &Current, state: &SyncState) -> Vec<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for g in after
        .groups
        .iter()
        .filter(|g| plan::groups::stands_behind(g, after.group_owner.as_ref(), state))
    {
        *seen.entry(g.display_name.clone()).or_default() += 1;
    }
    let mut names: Vec<String> = seen
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(name, _)| name)
        .collect();
    names.sort();
    names
}

/// Group names fedsync stands behind more than once.
fn duplicates(plan: &Plan) -> Vec<String> {
    plan.groups
        .iter()
        .filter(|g| !g.duplicates.is_empty())
        .map(|g| g.display_name.clone())
        .collect()
}

/// Runs one step; the counts go into the report.
async fn run_step<D: Directory, S: Store>(
    writer: &Writer<'_, D, S>,
    sp_id: &str,
    step: &Step,
    current: &Current,
    state: &mut SyncState,
    created: &mut HashMap<String, ObjectId>,
    report: &mut SyncReport,
) -> Result<(), StepError> {
    match step {
        Step::PatchAppRoles { roles, .. } => writer.directory.set_app_roles(sp_id, roles).await?,
        Step::RecordRemovals(removals) => {
            let at = (writer.now)();
            state.record(removals.iter().filter_map(|a| {
                Some(RemovedAssignment {
                    app_role_id: a.app_role_id,
                    principal_id: a.principal_id.clone()?,
                    principal_type: a.principal_type.clone(),
                    principal_display_name: a.principal_display_name.clone(),
                    removed_at: at,
                    run: writer.run_id.to_owned(),
                })
            }));
            writer.store.write_state(sp_id, state).await?;
        }
        Step::Unassign(removals) => {
            for a in removals {
                let Some(id) = &a.assignment_id else { continue };
                match writer.directory.unassign(sp_id, id).await {
                    Ok(()) => report.assignments_removed += 1,
                    // Gone already (removed by hand, or by an earlier attempt): what we wanted.
                    Err(GraphError::Api(api)) if api.status == 404 => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Step::CreateGroups(groups) => {
            let new: Vec<NewGroup> = groups
                .iter()
                .map(|g| NewGroup {
                    display_name: g.display_name.clone(),
                    mail_nickname: g.mail_nickname.clone(),
                    owner: current.group_owner.clone(),
                })
                .collect();
            let made = writer.directory.create_groups(&new).await?;
            for group in &made {
                created.insert(group.display_name.to_lowercase(), group.id.clone());
                report.groups_created.push(group.display_name.clone());
            }
            state.created(made.into_iter().map(|g| g.id));
            writer.store.write_state(sp_id, state).await?;
        }
        Step::Assign(changes) => {
            for a in changes {
                let principal = match (&a.principal_id, &a.group_to_create) {
                    (Some(id), _) => id.clone(),
                    (None, Some(name)) => match created.get(&name.to_lowercase()) {
                        Some(id) => id.clone(),
                        None => continue,
                    },
                    (None, None) => continue,
                };
                match writer
                    .directory
                    .assign(sp_id, &principal, a.app_role_id)
                    .await
                {
                    Ok(_) if a.action == AssignmentAction::Restore => {
                        report.assignments_restored += 1
                    }
                    Ok(_) => report.assignments_added += 1,
                    // A principal deleted since it was recorded: nobody to give the role back to.
                    Err(GraphError::Api(api))
                        if api.status == 404 && a.action == AssignmentAction::Restore =>
                    {
                        tracing::warn!(principal = %principal, role = %a.role, "cannot restore an assignment: the principal no longer exists");
                        report.restores_skipped.push(a.principal_label());
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Step::Forget(pairs) => {
            let pairs: Vec<_> = pairs
                .iter()
                .map(|f| (f.app_role_id, f.principal_id.clone()))
                .collect();
            state.forget(&pairs);
            writer.store.write_state(sp_id, state).await?;
        }
    }
    Ok(())
}

/// Reads Graph back and compares it with the plan, again after each wait while it differs.
async fn verify_with_retry<D: Directory, S: Store>(
    writer: &Writer<'_, D, S>,
    query: &CurrentQuery,
    report: &SyncReport,
    created: &HashMap<String, ObjectId>,
) -> Result<(Vec<String>, Current), SyncError> {
    // The assignments are read back only when the plan changed some.
    let query = CurrentQuery {
        assignments: !report.plan.assignments.is_empty(),
        known_groups: None,
        ..query.clone()
    };
    let mut waits = writer.verify_waits.iter();
    loop {
        let after = writer
            .directory
            .read_current(&query)
            .await
            .map_err(|error| SyncError::Apply {
                step: "reading back",
                error: error.into(),
                backup_key: report.backup_key.clone().unwrap_or_default(),
            })?;
        let differences =
            verify::differences_all(&report.plan, &after, created, &report.restores_skipped);
        match waits.next() {
            Some(wait) if !differences.is_empty() => {
                tracing::info!(
                    differences = differences.len(),
                    wait_ms = wait.as_millis() as u64,
                    "Graph differs from the plan; reading back again"
                );
                tokio::time::sleep(*wait).await;
            }
            _ => return Ok((differences, after)),
        }
    }
}

/// The assignments a plan makes that Graph should now hold: (principal, role).
pub(crate) fn expected_assignments<'a>(
    plan: &'a Plan,
    created: &'a HashMap<String, ObjectId>,
) -> impl Iterator<Item = (&'a AssignmentChange, Option<&'a ObjectId>)> {
    plan.assignments
        .iter()
        .filter(|a| a.action != AssignmentAction::Remove)
        .map(move |a| {
            let id = a.principal_id.as_ref().or_else(|| {
                a.group_to_create
                    .as_ref()
                    .and_then(|n| created.get(&n.to_lowercase()))
            });
            (a, id)
        })
}
