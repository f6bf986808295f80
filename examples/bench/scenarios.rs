//! scenarios: the measurements that need the fake AWS endpoint and the Graph emulator —
//! inventory at scale (`fedsync::aws::read_inventory`), a first sync that applies every role and
//! group, a resync with nothing changed (`fedsync::sync::run`), and the apply path with groups
//! created through `$batch` (the wiring the report proposes, driven here through the same
//! `GraphClient`), and a sync of several Entra apps in one run, each role routed by the
//! certificate on its provider (`fedsync::sync::run_apps`). Each checks its result before it
//! reports a number.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use fedsync::aws::AwsOptions;
use fedsync::aws::InventorySettings;
use fedsync::aws::inventory::Quiet;
use fedsync::aws::inventory::read_inventory_paced;
use fedsync::graph::{Credential, GraphClient, RetryPolicy};
use fedsync::model::NewGroup;
use fedsync::model::{AccountOutcome, Inventory};
use fedsync::plan::guardrail::Guardrails;
use fedsync::plan::{Action, PlanSettings};
use fedsync::settings::{BackupSettings, SyncSettings};
use fedsync::store::S3Store;
use fedsync::sync::{self, SyncContext};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::fake_aws::{ENTITY_ID, OUR_CERT_SHA256};
use crate::usage;

pub const TENANT: &str = "72f988bf-0000-4000-8000-00000000a001";
pub const CLIENT_ID: &str = "5b1e1f7a-0000-4000-8000-00000000c001";
/// The emulator's test secret; not a real credential.
pub const CLIENT_SECRET: &str = "local-emulator-secret-not-a-real-one";
pub const SP: &str = "5f0b5a8e-3c1d-4d0e-9a57-6a3b2f1e0c11";
const BUCKET: &str = "fedsync-bench";

/// The emulator's seed: the sync app, and the AWS app's service principal with msiam_access
/// only; for the apps scenario, [`SHARD_APPS`] more AWS apps like it. Graph's default page size
/// for groups is 100.
pub fn graph_seed() -> Value {
    let mut seed = one_app_seed();
    let sp = seed["service_principal"].clone();
    seed["service_principals"] = (0..SHARD_APPS)
        .map(|k| {
            let mut shard = sp.clone();
            shard["id"] = json!(shard_sp(k));
            shard["appId"] = json!(format!("8adf8e6e-67b2-4cf2-a259-{:012x}", 0x5ad0_0000 + k));
            shard["displayName"] = json!(format!("AWS shard-{}", k + 1));
            shard
        })
        .collect();
    seed
}

fn one_app_seed() -> Value {
    json!({
        "tenant_id": TENANT,
        "clients": [{
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "service_principal_id": "9d3c1e55-0000-4000-8000-00000000c002",
            "display_name": "fedsync"
        }],
        "service_principal": {
            "id": SP,
            "appId": "8adf8e6e-67b2-4cf2-a259-e3dc5476c621",
            "displayName": "AWS Single-Account Access",
            "appRoles": [{
                "allowedMemberTypes": ["User"],
                "description": "msiam_access",
                "displayName": "msiam_access",
                "id": "7dfd756e-8c27-4472-b2b7-38c17fc5de5e",
                "isEnabled": true,
                "origin": "Application",
                "value": null
            }]
        },
        // Graph's paging: 100 a page by default, `$top` up to 999 (100 with `$expand`).
        "page_size": 100,
        "max_page_size": 999
    })
}

/// The control endpoints of the two local servers.
pub struct Endpoints {
    pub aws: String,
    pub graph: String,
    pub http: reqwest::Client,
}

impl Endpoints {
    async fn post(&self, url: String) -> anyhow::Result<()> {
        let status = self.http.post(&url).send().await?.status();
        ensure!(status.is_success(), "POST {url}: {status}");
        Ok(())
    }

    async fn get(&self, url: String) -> anyhow::Result<Value> {
        Ok(self.http.get(&url).send().await?.json().await?)
    }

    pub async fn reset_aws(&self) -> anyhow::Result<()> {
        self.post(format!("{}/_fake/calls/reset", self.aws)).await
    }

    /// Calls by operation, and TCP connections accepted, since the last reset.
    pub async fn aws_calls(&self) -> anyhow::Result<(BTreeMap<String, u64>, u64)> {
        let v = self.get(format!("{}/_fake/calls", self.aws)).await?;
        let calls = serde_json::from_value(v["calls"].clone())?;
        Ok((calls, v["connections"].as_u64().unwrap_or(0)))
    }

    /// Turns the fake's per-API rate limits on or off.
    pub async fn throttle(&self, on: bool) -> anyhow::Result<()> {
        self.post(format!("{}/_fake/throttle?on={}", self.aws, u8::from(on)))
            .await
    }

    pub async fn set_accounts(&self, accounts: usize) -> anyhow::Result<()> {
        self.post(format!("{}/_fake/org?accounts={accounts}", self.aws))
            .await
    }

    pub async fn reset_graph_counts(&self) -> anyhow::Result<()> {
        self.post(format!("{}/_bench/requests/reset", self.graph))
            .await
    }

    pub async fn reset_graph(&self) -> anyhow::Result<()> {
        self.post(format!("{}/_emulator/reset", self.graph)).await
    }

    /// Graph requests by kind, and the span from the first write to the last.
    pub async fn graph_requests(&self) -> anyhow::Result<GraphRequests> {
        let v = self.get(format!("{}/_bench/requests", self.graph)).await?;
        Ok(GraphRequests {
            by_kind: serde_json::from_value(v["requests"].clone())?,
            write_span: v["write_span_ms"].as_u64().map(Duration::from_millis),
        })
    }
}

#[derive(Debug)]
pub struct GraphRequests {
    pub by_kind: BTreeMap<String, u64>,
    pub write_span: Option<Duration>,
}

impl GraphRequests {
    fn count(&self, filter: impl Fn(&str) -> bool) -> u64 {
        self.by_kind
            .iter()
            .filter(|(k, _)| filter(k))
            .map(|(_, n)| n)
            .sum()
    }
    /// Graph reads (`GET /v1.0/…`).
    pub fn reads(&self) -> u64 {
        self.count(|k| k.starts_with("GET ") && k != "GET other")
    }
    /// Graph writes (anything but `GET` under `/v1.0/`), the token request excluded.
    pub fn writes(&self) -> u64 {
        self.count(|k| !k.starts_with("GET ") && k != "POST token" && !k.ends_with(" other"))
    }
    pub fn total(&self) -> u64 {
        self.count(|_| true)
    }
}

pub fn inventory_settings(concurrency: usize) -> anyhow::Result<InventorySettings> {
    Ok(InventorySettings {
        saml_entity_id: ENTITY_ID.to_owned(),
        saml_certificates: vec![
            OUR_CERT_SHA256
                .parse()
                .map_err(|e| anyhow::anyhow!("{e}"))?,
        ],
        saml_audiences: Default::default(),
        cross_account_role: "fedsync-reader"
            .parse()
            .map_err(|e| anyhow::anyhow!("{e}"))?,
        external_id: None,
        include_accounts: Vec::new(),
        exclude_accounts: Vec::new(),
        concurrency,
    })
}

/// One inventory read, measured.
pub struct InventoryRun {
    pub concurrency: usize,
    pub accounts: usize,
    pub wall: Duration,
    pub cpu: Duration,
    /// Calls answered, by operation; throttled answers are `throttled <operation>`.
    pub calls: BTreeMap<String, u64>,
    pub connections: u64,
    /// How fedsync paced the reads.
    pub paced: fedsync::aws::inventory::Paced,
    /// Accounts that ended failed (the bench fails on any unless `failures_allowed`).
    pub failed: usize,
}

impl InventoryRun {
    /// Calls answered with throttling (`throttled`) or not.
    fn calls_where(&self, throttled: bool) -> u64 {
        self.calls
            .iter()
            .filter(|(op, _)| op.starts_with("throttled ") == throttled)
            .map(|(_, n)| n)
            .sum()
    }
    /// Calls answered, throttled ones left out.
    pub fn calls_total(&self) -> u64 {
        self.calls_where(false)
    }
    /// Calls answered with throttling.
    pub fn calls_throttled(&self) -> u64 {
        self.calls_where(true)
    }
    /// Calls made once per run, before any account is read.
    pub fn calls_setup(&self) -> u64 {
        ["GetCallerIdentity", "ListAccounts"]
            .iter()
            .map(|op| self.calls.get(*op).copied().unwrap_or(0))
            .sum()
    }
}

/// Checks that every account was read with the expected roles; failed accounts are counted
/// instead when `failures_allowed`.
fn check_inventory(
    inventory: &Inventory,
    accounts: usize,
    roles: usize,
    failures_allowed: bool,
) -> anyhow::Result<usize> {
    ensure!(
        inventory.accounts.len() == accounts,
        "read {} accounts, expected {accounts}",
        inventory.accounts.len()
    );
    let mut failed = 0;
    for account in &inventory.accounts {
        match &account.outcome {
            AccountOutcome::Failed { .. } if failures_allowed => failed += 1,
            AccountOutcome::Read { roles: found, .. } => ensure!(
                found.len() == roles,
                "account {} has {} federated roles, expected {roles}",
                account.id,
                found.len()
            ),
            AccountOutcome::Failed { stage, reason } => {
                bail!("account {} failed at {stage}: {reason}", account.id)
            }
            AccountOutcome::Skipped { reason, .. } => {
                bail!("account {} was not read: {}", account.id, reason.describe())
            }
        }
    }
    Ok(failed)
}

/// Reads the inventory through fedsync's own entry point and the SDK config the binary loads.
/// With `throttled`, the fake's per-API rate limits are on for this read, and failed accounts
/// are counted rather than failing the bench.
pub async fn inventory(
    endpoints: &Endpoints,
    sdk: &aws_config::SdkConfig,
    concurrency: usize,
    accounts: usize,
    roles: usize,
    throttled: bool,
) -> anyhow::Result<InventoryRun> {
    let settings = inventory_settings(concurrency)?;
    let options = AwsOptions::default();
    endpoints.set_accounts(accounts).await?;
    endpoints.throttle(throttled).await?;
    endpoints.reset_aws().await?;
    let cpu_before = usage::cpu_time();
    let started = Instant::now();
    let read = read_inventory_paced(sdk, &settings, &options, &Quiet).await;
    let wall = started.elapsed();
    let cpu = usage::cpu_time().saturating_sub(cpu_before);
    endpoints.throttle(false).await?;
    let (read, paced) = read.context("reading the inventory")?;
    let failed = check_inventory(&read, accounts, roles, throttled)?;
    let (calls, connections) = endpoints.aws_calls().await?;
    Ok(InventoryRun {
        concurrency,
        accounts,
        wall,
        cpu,
        calls,
        connections,
        paced,
        failed,
    })
}

/// One `fedsync::sync::run`, measured.
pub struct SyncRun {
    pub wall: Duration,
    pub graph: GraphRequests,
    pub aws: BTreeMap<String, u64>,
    pub report: sync::SyncReport,
}

impl SyncRun {
    /// AWS calls of the inventory that are made once per account.
    pub fn aws_per_account_calls(&self) -> u64 {
        [
            "AssumeRole",
            "ListSAMLProviders",
            "GetSAMLProvider",
            "ListRoles",
        ]
        .iter()
        .map(|op| self.aws.get(*op).copied().unwrap_or(0))
        .sum()
    }
    pub fn s3_calls(&self) -> u64 {
        self.aws
            .iter()
            .filter(|(k, _)| k.starts_with("s3:"))
            .map(|(_, n)| n)
            .sum()
    }
}

pub fn sync_settings(graph_url: &str) -> anyhow::Result<SyncSettings> {
    Ok(SyncSettings {
        tenant_id: TENANT.into(),
        cloud: Default::default(),
        authority_url: graph_url.to_owned(),
        graph_url: graph_url.to_owned(),
        client_id: CLIENT_ID.into(),
        credential: Credential::Secret(SecretString::from(CLIENT_SECRET)),
        service_principal_id: SP.into(),
        inventory: inventory_settings(128)?,
        plan: PlanSettings::default(),
        guardrails: Guardrails::default(),
        group_owner_id: None,
        backup: BackupSettings {
            bucket: BUCKET.into(),
            prefix: "manifests/".into(),
            kms_key: None,
        },
        certificate_warn_days: 60,
    })
}

/// Runs `fedsync::sync::run` as `fedsync sync` does, counting at both servers.
pub async fn sync_run(
    endpoints: &Endpoints,
    sdk: &aws_config::SdkConfig,
    settings: &SyncSettings,
) -> anyhow::Result<SyncRun> {
    let graph = GraphClient::new(settings.graph(), RetryPolicy::default())?;
    let s3 = aws_sdk_s3::Client::new(sdk);
    let store = S3Store::new(s3, settings.backup.clone());
    let options = AwsOptions::default();
    let ctx = SyncContext {
        sdk,
        aws_options: &options,
        directory: &graph,
        store: &store,
        observer: &Quiet,
        run_id: uuid::Uuid::new_v4().to_string(),
        now: time::OffsetDateTime::now_utc,
        verify_waits: Vec::new(),
        deadline: sync::Deadline::after(fedsync::lease::LeaseTimes::default().deadline),
    };
    endpoints.reset_aws().await?;
    endpoints.reset_graph_counts().await?;
    let started = Instant::now();
    let report = sync::run(settings, &ctx, false)
        .await
        .context("fedsync::sync::run")?;
    let wall = started.elapsed();
    Ok(SyncRun {
        wall,
        graph: endpoints.graph_requests().await?,
        aws: endpoints.aws_calls().await?.0,
        report,
    })
}

/// The apply path with the cheaper group lookup and `$batch` creation, as the report proposes
/// to wire it into `sync`: read the service principal, plan, list the groups by the naming
/// prefix once, PATCH the roles, create the missing groups 20 to a `$batch`, read back.
pub struct BatchedApply {
    pub wall: Duration,
    pub graph: GraphRequests,
    pub roles_added: usize,
    pub groups_created: usize,
}

pub async fn batched_apply(
    endpoints: &Endpoints,
    settings: &SyncSettings,
    inventory: &Inventory,
) -> anyhow::Result<BatchedApply> {
    let graph = GraphClient::new(settings.graph(), RetryPolicy::default())?;
    endpoints.reset_graph().await?;
    endpoints.reset_graph_counts().await?;
    let started = Instant::now();
    let (_, sp) = graph.service_principal(SP).await?;
    let current = fedsync::model::Current::of_app_roles(SP, sp.app_roles);
    let plan = fedsync::plan::plan(
        inventory,
        &current,
        &fedsync::model::SyncState::default(),
        &settings.plan,
    )?;
    // The default convention's literal prefix, `AWS `.
    let existing: HashSet<String> = graph
        .groups_starting_with("AWS ", false)
        .await?
        .into_iter()
        .map(|g| g.display_name.to_lowercase())
        .collect();
    graph.set_app_roles(SP, &plan.target).await?;
    let new_groups: Vec<NewGroup> = plan
        .groups
        .iter()
        .filter(|g| !existing.contains(&g.display_name.to_lowercase()))
        .map(|g| NewGroup {
            display_name: g.display_name.clone(),
            mail_nickname: g.mail_nickname.clone(),
            owner: settings.group_owner_id.clone(),
        })
        .collect();
    let created = graph.create_groups(&new_groups).await?;
    let (_, after) = graph.service_principal(SP).await?;
    let wall = started.elapsed();
    ensure!(
        after.app_roles.len() == plan.target.len(),
        "read back {} roles, planned {}",
        after.app_roles.len(),
        plan.target.len()
    );
    ensure!(
        created.len() == new_groups.len(),
        "created {} groups of {}",
        created.len(),
        new_groups.len()
    );
    Ok(BatchedApply {
        wall,
        graph: endpoints.graph_requests().await?,
        roles_added: plan.count(Action::Add),
        groups_created: created.len(),
    })
}

/// The service principals of the apps scenario: app `k` (from 0) is `shard-{k+1}`, with its own
/// AWS service principal in the emulator's seed ([`graph_seed`] adds them).
pub fn shard_sp(k: usize) -> String {
    format!("5f0b5a8e-3c1d-4d0e-9a57-{:012x}", 0x5ad0_0000 + k)
}

/// The AWS apps the emulator's seed holds besides [`SP`]; the apps scenario uses up to this many.
pub const SHARD_APPS: usize = 10;

/// One self-signed certificate per app, and our fixture's metadata re-issued with each: same
/// entity id, that app's signing certificate. Returns (document, SHA-256 thumbprint) per app.
fn app_metadata(apps: usize) -> anyhow::Result<Vec<(String, fedsync::model::Thumbprint)>> {
    let fixture_body: String = include_str!("../../tests/fixtures/metadata/idp-signing.pem")
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    ensure!(
        crate::fake_aws::OUR_METADATA.contains(&fixture_body),
        "the fixture metadata does not carry idp-signing.pem"
    );
    (0..apps)
        .map(|k| {
            let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256)?;
            let cert = rcgen::CertificateParams::new(vec![format!("fedsync-bench-app-{k}")])?
                .self_signed(&key)?;
            let body: String = cert
                .pem()
                .lines()
                .filter(|l| !l.starts_with("-----"))
                .collect();
            let document = crate::fake_aws::OUR_METADATA.replace(&fixture_body, &body);
            let parsed = fedsync::metadata::parse(&document)
                .map_err(|e| anyhow::anyhow!("app {k}'s metadata: {e}"))?;
            let thumbprint = parsed
                .signing_certificates
                .first()
                .context("no signing certificate")?
                .sha256
                .clone();
            Ok((document, thumbprint))
        })
        .collect()
}

/// One `fedsync::sync::run_apps` of several apps, measured and checked.
pub struct AppsRun {
    pub apps: usize,
    pub accounts: usize,
    pub wall: Duration,
    pub graph: GraphRequests,
    pub aws: BTreeMap<String, u64>,
    /// Per app: its name, the roles it added, its fill (entries / cap).
    pub per_app: Vec<(String, usize, f64)>,
}

/// `accounts × roles` federated roles, account `i`'s provider carrying app `i % apps`'s
/// certificate, synced into `apps` Entra apps in one run (`fedsync::sync::run_apps`, as
/// `fedsync sync` runs it with `[apps.<name>]` settings). Fails unless every app applied, holds
/// exactly the roles of its own accounts, and the inventory was read once.
pub async fn apps_sync(
    endpoints: &Endpoints,
    sdk: &aws_config::SdkConfig,
    graph_url: &str,
    apps: usize,
    accounts: usize,
    roles: usize,
) -> anyhow::Result<AppsRun> {
    ensure!(
        (1..=SHARD_APPS).contains(&apps),
        "--apps must be 1 to {SHARD_APPS}"
    );
    let metadata = app_metadata(apps)?;
    let documents: Vec<&str> = metadata.iter().map(|(d, _)| d.as_str()).collect();
    let status = endpoints
        .http
        .post(format!("{}/_fake/org/metadata", endpoints.aws))
        .json(&documents)
        .send()
        .await?
        .status();
    ensure!(status.is_success(), "POST /_fake/org/metadata: {status}");
    endpoints.set_accounts(accounts).await?;
    endpoints.reset_graph().await?;

    let base = sync_settings(graph_url)?;
    let mut inventory = base.inventory.clone();
    inventory.saml_certificates = metadata.iter().map(|(_, t)| t.clone()).collect();
    let settings: Vec<(fedsync::model::AppName, SyncSettings)> = (0..apps)
        .map(|k| {
            let mut app = base.clone();
            app.service_principal_id = shard_sp(k);
            app.inventory.saml_certificates = vec![metadata[k].1.clone()];
            (fedsync::model::AppName::numbered("shard-", k + 1), app)
        })
        .collect();
    let s3 = aws_sdk_s3::Client::new(sdk);
    let stores: Vec<S3Store> = settings
        .iter()
        .map(|(_, s)| S3Store::new(s3.clone(), s.backup.clone()))
        .collect();
    let graph = GraphClient::new(base.graph(), RetryPolicy::default())?;
    let options = AwsOptions::default();
    let ctx = SyncContext {
        sdk,
        aws_options: &options,
        directory: &graph,
        store: &stores[0],
        observer: &Quiet,
        run_id: uuid::Uuid::new_v4().to_string(),
        now: time::OffsetDateTime::now_utc,
        verify_waits: Vec::new(),
        deadline: sync::Deadline::after(fedsync::lease::LeaseTimes::default().deadline),
    };
    let run = sync::Apps {
        apps: settings
            .iter()
            .zip(&stores)
            .map(|((name, settings), store)| sync::App {
                name: name.clone(),
                settings,
                store,
            })
            .collect(),
        inventory: &inventory,
        route: true,
    };
    endpoints.reset_aws().await?;
    endpoints.reset_graph_counts().await?;
    let started = Instant::now();
    let outcomes = sync::run_apps(&run, &ctx, false)
        .await
        .context("fedsync::sync::run_apps")?;
    let wall = started.elapsed();
    let aws = endpoints.aws_calls().await?.0;
    let graph_requests = endpoints.graph_requests().await?;

    ensure!(
        aws.get("AssumeRole").copied() == Some(accounts as u64 - 1),
        "the inventory was not read once: {} AssumeRole calls for {} member accounts",
        aws.get("AssumeRole").copied().unwrap_or(0),
        accounts - 1
    );
    let state = endpoints
        .get(format!("{}/_emulator/state", endpoints.graph))
        .await?;
    let mut per_app = Vec::new();
    for (k, outcome) in outcomes.iter().enumerate() {
        let report = outcome
            .result
            .as_ref()
            .map_err(|e| anyhow::anyhow!("app {}: {e}", outcome.name))?;
        let sp = shard_sp(k);
        let held = state["service_principals"]
            .as_array()
            .and_then(|sps| sps.iter().find(|s| s["id"] == sp.as_str()))
            .with_context(|| format!("no service principal {sp} in the emulator"))?;
        let values: Vec<&str> = held["appRoles"]
            .as_array()
            .context("no appRoles")?
            .iter()
            .filter_map(|r| r["value"].as_str())
            .collect();
        let mine = (0..accounts).filter(|i| i % apps == k).count() * roles;
        ensure!(
            values.len() == mine,
            "app {} holds {} roles, expected {mine}",
            outcome.name,
            values.len()
        );
        for value in &values {
            let account: usize = value
                .strip_prefix("arn:aws:iam::")
                .and_then(|v| v.get(..12))
                .and_then(|id| id.parse::<u64>().ok())
                .and_then(|id| id.checked_sub(crate::fake_aws::MANAGEMENT))
                .and_then(|i| usize::try_from(i).ok())
                .with_context(|| format!("role value {value}"))?;
            ensure!(
                account % apps == k,
                "app {} holds {value}, a role of another app's account",
                outcome.name
            );
        }
        per_app.push((
            outcome.name.to_string(),
            report.plan.count(Action::Add),
            report.fill.entries as f64 / report.fill.cap as f64,
        ));
    }
    ensure!(
        outcomes.len() == apps,
        "{} outcomes for {apps} apps",
        outcomes.len()
    );
    Ok(AppsRun {
        apps,
        accounts,
        wall,
        graph: graph_requests,
        aws,
        per_app,
    })
}
