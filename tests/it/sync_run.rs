//! The sync pipeline (`fedsync::sync::run`) against moto and the Graph emulator: the first run
//! creates roles and groups after a backup of the prior state; a second run writes nothing; a role
//! deleted in AWS is disabled, then removed; guardrails, a failed backup and a held lease write
//! nothing.

use std::time::Duration;

use fedsync::aws::AwsOptions;
use fedsync::aws::inventory::Quiet;
use fedsync::graph::{Credential, GraphClient, GraphSettings, RetryPolicy};
use fedsync::plan::guardrail::Guardrails;
use fedsync::plan::{Action, PlanSettings};
use fedsync::settings::{BackupSettings, SyncSettings};
use fedsync::store::S3Store;
use fedsync::sync::{self, SyncContext, SyncError};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::graph_emulator::{
    CLIENT_ID, CLIENT_SECRET, CLIENT_SP, Running, SP, TENANT, seed, start,
};
use crate::support::moto::Moto;
use crate::support::org::{self, MANAGEMENT};

pub(crate) const BUCKET: &str = "fedsync-backups";

pub(crate) struct World {
    pub moto: Moto,
    pub emu: Running,
    pub sdk: aws_config::SdkConfig,
    pub s3: aws_sdk_s3::Client,
    graph: GraphClient,
    settings: SyncSettings,
    /// The member account and the roles seeded in it.
    pub member: String,
}

/// moto: an Organization whose management account has our provider and roles Admin and
/// ReadOnly, and one member account with role Dev; a backup bucket. Graph: the emulator's seed
/// (msiam_access, an enabled and a disabled AWS role of an account that is not in the
/// Organization, groups and an assignment).
pub(crate) async fn world() -> World {
    world_seeded(seed()).await
}

/// The service principal with the properties fedsync reads (and backs up): the app roles and
/// the collections that share their entry cap.
async fn service_principal_as_fedsync_reads_it(w: &World) -> Value {
    let select = format!(
        "id,appId,displayName,appRoles,{}",
        fedsync::model::COLLECTIONS_SHARING_THE_CAP.join(",")
    );
    w.emu
        .get(&format!("/v1.0/servicePrincipals/{SP}?$select={select}"))
        .await
        .body
}

/// A world whose Graph emulator starts from `graph_seed`.
pub(crate) async fn world_seeded(graph_seed: Value) -> World {
    world_on(Moto::start(), graph_seed).await
}

/// A world on a moto already started (for an emulator in front of it that the Graph seed must
/// name), its Graph emulator starting from `graph_seed`.
pub(crate) async fn world_on(moto: Moto, graph_seed: Value) -> World {
    let sdk = org::sdk(&moto.url).await;
    let member = org::seed_two_accounts(&sdk).await;
    let s3 = org::s3(&sdk);
    s3.create_bucket().bucket(BUCKET).send().await.unwrap();

    let emu = start(graph_seed).await;
    let graph_settings = GraphSettings {
        tenant_id: TENANT.into(),
        client_id: CLIENT_ID.into(),
        credential: Credential::Secret(SecretString::from(CLIENT_SECRET)),
        authority_url: emu.base.clone(),
        graph_url: emu.base.clone(),
    };
    let graph = GraphClient::new(graph_settings.clone(), RetryPolicy::default()).unwrap();
    let settings = SyncSettings {
        tenant_id: TENANT.into(),
        cloud: Default::default(),
        authority_url: emu.base.clone(),
        graph_url: emu.base.clone(),
        client_id: CLIENT_ID.into(),
        credential: graph_settings.credential,
        service_principal_id: SP.into(),
        inventory: org::inventory_settings(),
        plan: PlanSettings {
            assign_groups: true,
            ..PlanSettings::default()
        },
        guardrails: Guardrails {
            max_removals: "100%".parse().unwrap(),
            ..Guardrails::default()
        },
        group_owner_id: None,
        backup: BackupSettings {
            bucket: BUCKET.into(),
            prefix: "manifests/".into(),
            kms_key: None,
        },
        certificate_warn_days: 60,
    };
    World {
        moto,
        emu,
        sdk,
        s3,
        graph,
        settings,
        member,
    }
}

impl World {
    /// The holder of the lease on the service principal `sp`, when there is one.
    pub async fn lease_holder(&self, sp: &str) -> Option<String> {
        let object = self
            .s3
            .get_object()
            .bucket(BUCKET)
            .key(fedsync::lease::lease_key(sp))
            .send()
            .await
            .ok()?;
        let bytes = object.body.collect().await.ok()?.into_bytes();
        let record: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        record["holder"].as_str().map(str::to_owned)
    }

    /// Another run's lease on the service principal `sp`, for an hour.
    pub async fn hold_lease(&self, sp: &str, holder: &str) -> fedsync::lease::Lease {
        fedsync::lease::acquire(
            &self.s3,
            BUCKET,
            &fedsync::lease::lease_key(sp),
            holder,
            time::OffsetDateTime::now_utc(),
            Duration::from_secs(3600),
        )
        .await
        .unwrap()
    }

    async fn sync(&self, dry_run: bool) -> Result<sync::SyncReport, SyncError> {
        self.sync_through(&self.graph, dry_run).await
    }

    /// A run that calls Graph through `graph`.
    async fn sync_through(
        &self,
        graph: &GraphClient,
        dry_run: bool,
    ) -> Result<sync::SyncReport, SyncError> {
        let options = AwsOptions {
            max_attempts: 2,
            attempt_timeout: Duration::from_secs(5),
            ..AwsOptions::default()
        };
        let store = S3Store::new(self.s3.clone(), self.settings.backup.clone());
        let ctx = SyncContext {
            sdk: &self.sdk,
            aws_options: &options,
            directory: graph,
            store: &store,
            observer: &Quiet,
            run_id: "test-run".into(),
            now: time::OffsetDateTime::now_utc,
            verify_waits: Vec::new(),
            deadline: sync::Deadline::after(fedsync::lease::LeaseTimes::default().deadline),
        };
        sync::run(&self.settings, &ctx, dry_run).await
    }

    /// The app role value of the member account's Dev role.
    pub fn dev_value(&self) -> String {
        format!(
            "arn:aws:iam::{0}:role/Dev,arn:aws:iam::{0}:saml-provider/AzureAD",
            self.member
        )
    }

    /// Deletes the member account's Dev role in AWS.
    async fn delete_dev_role(&self) {
        let iam = org::iam_in(&self.sdk, &self.member).await;
        iam.delete_role().role_name("Dev").send().await.unwrap();
    }

    pub async fn writes(&self) -> usize {
        self.emu.state().await["writes"].as_array().unwrap().len()
    }

    pub async fn app_roles(&self) -> Vec<Value> {
        self.emu.state().await["service_principal"]["appRoles"]
            .as_array()
            .unwrap()
            .clone()
    }
}

pub(crate) fn values(roles: &[Value]) -> Vec<(String, bool)> {
    let mut v: Vec<(String, bool)> = roles
        .iter()
        .map(|r| {
            (
                r["value"].as_str().unwrap_or("-").to_owned(),
                r["isEnabled"].as_bool().unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread")]
async fn the_first_run_backs_up_then_applies_and_reruns_converge_to_no_writes() {
    let w = world().await;
    let before = service_principal_as_fedsync_reads_it(&w).await;

    let first = w.sync(false).await.expect("first run");
    assert_eq!(first.plan.count(Action::Add), 3);
    assert_eq!(
        first.plan.count(Action::Disable),
        1,
        "the seed's Admin role: its account is gone"
    );
    assert_eq!(
        first.plan.count(Action::Remove),
        1,
        "the seed's disabled Old role"
    );
    assert_eq!(
        first.assignments_removed, 1,
        "the disabled role's assignment goes"
    );
    assert_eq!(first.groups_created.len(), 3);
    assert_eq!(first.assignments_added, 3);

    // The backup holds the prior state exactly.
    let key = first.backup_key.clone().expect("a backup before writing");
    assert!(
        key.starts_with("manifests/") && key.ends_with(&format!("-{SP}.json")),
        "{key}"
    );
    let object =
        w.s3.get_object()
            .bucket(BUCKET)
            .key(&key)
            .send()
            .await
            .unwrap();
    let backup: Value =
        serde_json::from_slice(&object.body.collect().await.unwrap().into_bytes()).unwrap();
    assert_eq!(backup["schema"], "fedsync.backup/v2");
    assert_eq!(backup["servicePrincipal"], before);
    let assigned = backup["appRoleAssignedTo"].as_array().unwrap();
    assert_eq!(assigned.len(), 1, "the seed's one assignment: {backup}");
    assert_eq!(assigned[0]["principalId"], crate::graph_emulator::G_ADMIN);

    let roles = w.app_roles().await;
    let dev = w.dev_value();
    assert!(values(&roles).contains(&(dev, true)));
    assert!(
        roles.iter().any(|r| r["displayName"] == "msiam_access"),
        "msiam_access comes through"
    );
    let state = w.emu.state().await;
    let groups: Vec<&str> = state["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["displayName"].as_str().unwrap())
        .collect();
    assert!(
        groups.contains(&format!("AWS {} - Dev", w.member).as_str()),
        "{groups:?}"
    );
    for group in state["groups"].as_array().unwrap() {
        let name = group["displayName"].as_str().unwrap();
        if first.groups_created.iter().any(|g| g == name) {
            assert_eq!(
                group["owners"],
                serde_json::json!([CLIENT_SP]),
                "group-owner-id defaults to the sync app's own service principal: {group}"
            );
        }
    }

    // The second run drops the role the first one disabled; the third has nothing to do.
    let second = w.sync(false).await.expect("second run");
    assert_eq!(second.plan.changes.len(), 1, "{:?}", second.plan.changes);
    assert_eq!(second.plan.changes[0].action, Action::Remove);
    let writes = w.writes().await;
    let third = w.sync(false).await.expect("third run");
    assert!(third.plan.is_empty(), "{:?}", third.plan.changes);
    assert_eq!(third.backup_key, None, "nothing to write, no backup");
    assert_eq!(
        w.writes().await,
        writes,
        "a run in step makes no Graph writes"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_deleted_in_aws_is_disabled_then_removed() {
    let w = world().await;
    w.sync(false).await.unwrap();
    w.delete_dev_role().await;
    let dev = w.dev_value();

    let disabled = w.sync(false).await.unwrap();
    assert_eq!(disabled.plan.count(Action::Disable), 1);
    assert_eq!(disabled.assignments_removed, 1);
    assert!(values(&w.app_roles().await).contains(&(dev.clone(), false)));

    let removed = w.sync(false).await.unwrap();
    assert_eq!(removed.plan.count(Action::Remove), 1);
    assert!(values(&w.app_roles().await).iter().all(|(v, _)| v != &dev));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mass_removal_is_refused_with_exit_3_and_nothing_is_written() {
    let w = world().await;
    w.sync(false).await.unwrap();
    for (account, roles) in [
        (MANAGEMENT.to_owned(), vec!["Admin", "ReadOnly"]),
        (w.member.clone(), vec!["Dev"]),
    ] {
        let iam = org::iam_in(&w.sdk, &account).await;
        for role in roles {
            iam.delete_role().role_name(role).send().await.unwrap();
        }
    }
    let writes = w.writes().await;
    let backups = backup_keys(&w).await;
    let refused = sync_cmd(&w, &["--max-removals", "10%"]);
    crate::support::assert_exit(&refused, 3);
    let err = crate::support::stderr(&refused);
    assert!(
        err.contains("plan refused, nothing written") && err.contains("max-removals"),
        "{err}"
    );
    assert_eq!(w.writes().await, writes);
    assert_eq!(backup_keys(&w).await, backups, "no backup either");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_backup_nothing_is_written_and_the_run_exits_1() {
    let w = world().await;
    let out = sync_cmd(&w, &["--backup-bucket", "no-such-bucket"]);
    crate::support::assert_exit(&out, 1);
    // The lease lives in the same bucket, so the run stops even before the backup.
    let err = crate::support::stderr(&out);
    assert!(
        err.contains("no-such-bucket") && err.contains("nothing was written"),
        "{err}"
    );
    // The lease's key, then S3's answer, each once.
    let chain = crate::support::error_chain(&out);
    assert!(
        chain[0].starts_with("cannot take the lease s3://no-such-bucket/fedsync/leases/"),
        "{chain:#?}"
    );
    assert!(
        chain.last().unwrap().starts_with("NoSuchBucket: "),
        "{chain:#?}"
    );
    assert_eq!(w.writes().await, 0);
    // A container's log holds a summary line for a failed run too: what the alarm reads.
    let summary: Value =
        serde_json::from_str(crate::support::stdout(&out).trim()).expect("one JSON line");
    assert_eq!(summary["event"], "fedsync.sync.summary");
    assert_eq!(summary["outcome"], "failed");
    assert_eq!(summary["exit_code"], 1);
    assert!(
        summary["error"]
            .as_str()
            .unwrap()
            .contains("no-such-bucket"),
        "{summary}"
    );
}

/// Sets a bucket policy that denies everyone `action` on the keys `keys` (an IAM pattern).
pub(crate) async fn deny_in_bucket(w: &World, action: &str, keys: &str) {
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Deny", "Principal": "*", "Action": action,
            "Resource": format!("arn:aws:s3:::{BUCKET}/{keys}")
        }]
    });
    w.s3.put_bucket_policy()
        .bucket(BUCKET)
        .policy(policy.to_string())
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn when_the_backup_put_fails_nothing_is_written() {
    let w = world().await;
    // The lease goes in, the backup is refused: a bucket policy denying the backup keys only.
    deny_in_bucket(&w, "s3:PutObject", "manifests/2*").await;
    let err = w.sync(false).await.unwrap_err();
    assert!(matches!(err, SyncError::Backup(_)), "{err}");
    let text = fedsync::error_text::chain(&err);
    assert!(text.contains("access denied"), "{text}");
    assert!(text.contains("nothing was written"), "{text}");
    assert_eq!(w.writes().await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_concurrent_run_is_refused_with_exit_1_and_writes_nothing() {
    let w = world().await;
    w.hold_lease(SP, "the-other-run").await;
    let out = sync_cmd(&w, &[]);
    crate::support::assert_exit(&out, 1);
    let err = crate::support::stderr(&out);
    assert!(err.contains("the-other-run"), "{err}");
    assert_eq!(w.writes().await, 0);
    assert!(backup_keys(&w).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_plans_and_writes_nothing() {
    let w = world().await;
    let report = w.sync(true).await.unwrap();
    assert_eq!(report.plan.count(Action::Add), 3);
    assert_eq!(report.groups_to_create().len(), 3);
    assert_eq!(w.writes().await, 0);
    let listed = w.s3.list_objects_v2().bucket(BUCKET).send().await.unwrap();
    assert!(
        listed.contents().is_empty(),
        "no backup, no lease left behind"
    );
    drop(w.moto);
}

/// `fedsync sync` as the scheduled task runs it: settings from the environment only.
fn sync_cmd(w: &World, args: &[&str]) -> std::process::Output {
    fedsync_cmd(w, &w.moto.url, "sync", args)
}

/// `fedsync sync` with AWS reached at `aws_endpoint` (moto, or the fault proxy in front of it).
fn sync_cmd_via(w: &World, aws_endpoint: &str, args: &[&str]) -> std::process::Output {
    fedsync_cmd(w, aws_endpoint, "sync", args)
}

/// `fedsync restore ARGS`, settings from the environment only.
fn restore_cmd(w: &World, args: &[&str]) -> std::process::Output {
    fedsync_cmd(w, &w.moto.url, "restore", args)
}

pub(crate) fn fedsync_cmd(
    w: &World,
    aws_endpoint: &str,
    command: &str,
    args: &[&str],
) -> std::process::Output {
    fedsync_process(w, aws_endpoint, command, args)
        .output()
        .unwrap()
}

/// `fedsync COMMAND ARGS` against `aws_endpoint` and the emulator, not started yet.
pub(crate) fn fedsync_process(
    w: &World,
    aws_endpoint: &str,
    command: &str,
    args: &[&str],
) -> std::process::Command {
    let mut cmd = crate::support::fedsync_process();
    cmd.arg(command).args(args);
    for (key, value) in org::aws_env(aws_endpoint) {
        cmd.env(key, value);
    }
    cmd.envs(w.emu.fedsync_env());
    for (key, value) in [
        ("FEDSYNC_BACKUP_BUCKET", BUCKET),
        ("FEDSYNC_MAX_REMOVALS", "100%"),
    ] {
        cmd.env(key, value);
    }
    cmd
}

#[tokio::test(flavor = "multi_thread")]
async fn the_binary_syncs_reports_one_json_line_and_converges() {
    let w = world().await;
    let first = sync_cmd(&w, &[]);
    crate::support::assert_exit(&first, 0);
    let summary: Value =
        serde_json::from_str(crate::support::stdout(&first).trim()).expect("one JSON line");
    assert_eq!(summary["outcome"], "applied");
    assert_eq!(summary["roles_added"], 3);
    assert_eq!(summary["groups_created"], 3);
    assert!(
        summary["backup_key"]
            .as_str()
            .unwrap()
            .starts_with("manifests/")
    );
    let all = format!(
        "{}{}",
        crate::support::stdout(&first),
        crate::support::stderr(&first)
    );
    assert!(
        !all.contains(CLIENT_SECRET),
        "the client secret never reaches the output"
    );

    sync_cmd(&w, &[]); // drops the role the first run disabled
    let writes = w.writes().await;
    let third = sync_cmd(&w, &["--output", "text"]);
    assert_eq!(third.status.code(), Some(0));
    assert!(
        crate::support::stdout(&third).contains("fedsync sync: in-sync"),
        "{}",
        crate::support::stdout(&third)
    );
    assert_eq!(w.writes().await, writes);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_sync_settings_exit_2_naming_each_setting_and_write_nothing() {
    let w = world().await;
    let mut cmd = crate::support::fedsync();
    cmd.arg("sync");
    for (key, value) in org::aws_env(&w.moto.url) {
        cmd.env(key, value);
    }
    cmd.env("FEDSYNC_NAMING_CONVENTION", "AWS {0}");
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = crate::support::stderr(&out);
    for setting in [
        "tenant-id",
        "client-id",
        "service-principal-id",
        "backup-bucket",
        "naming-convention",
    ] {
        assert!(err.contains(setting), "{setting} named in: {err}");
    }
    assert_eq!(w.writes().await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn graph_and_token_urls_in_clear_text_to_another_host_exit_2_and_nothing_is_sent() {
    let w = world().await;
    for (variable, setting) in [
        ("FEDSYNC_GRAPH_URL", "graph-url"),
        ("FEDSYNC_AUTHORITY_URL", "authority-url"),
    ] {
        let out = fedsync_process(&w, &w.moto.url, "sync", &[])
            .env(variable, "http://graph.example.com")
            .output()
            .unwrap();
        crate::support::assert_exit(&out, 2);
        let err = crate::support::stderr(&out);
        assert!(err.contains(setting), "{err}");
        assert!(err.contains("clear text"), "{err}");
        assert!(!err.contains(CLIENT_SECRET), "{err}");
    }
    // http:// to this machine is the emulator's, and fine.
    let out = fedsync_process(&w, &w.moto.url, "sync", &["--dry-run"])
        .env(
            "FEDSYNC_GRAPH_URL",
            w.emu.base.replace("127.0.0.1", "localhost"),
        )
        .output()
        .unwrap();
    crate::support::assert_exit(&out, 0);
    assert_eq!(w.writes().await, 0);
    assert!(backup_keys(&w).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn backups_list_newest_first_and_show_latest_prints_the_prior_state() {
    let w = world().await;
    let before = service_principal_as_fedsync_reads_it(&w).await;
    w.sync(false).await.unwrap();
    w.sync(false).await.unwrap();
    let backups = |args: &[&str]| {
        let mut cmd = crate::support::fedsync();
        cmd.arg("backups").args(args);
        for (key, value) in org::aws_env(&w.moto.url) {
            cmd.env(key, value);
        }
        cmd.env("FEDSYNC_BACKUP_BUCKET", BUCKET).output().unwrap()
    };
    let listed = backups(&["list", "--output", "json"]);
    crate::support::assert_exit(&listed, 0);
    let items: Vec<Value> = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(items.len(), 2);
    assert!(
        items[0]["key"].as_str() > items[1]["key"].as_str(),
        "newest first"
    );
    assert_eq!(
        items[1]["app_roles"],
        before["appRoles"].as_array().unwrap().len()
    );

    let oldest = items[1]["key"].as_str().unwrap();
    let shown: Value = serde_json::from_slice(&backups(&["show", oldest]).stdout).unwrap();
    assert_eq!(shown["servicePrincipal"], before);
    let latest: Value = serde_json::from_slice(&backups(&["show", "latest"]).stdout).unwrap();
    assert_eq!(
        latest["servicePrincipal"]["appRoles"]
            .as_array()
            .unwrap()
            .len(),
        items[0]["app_roles"].as_u64().unwrap() as usize
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_graph_429_storm_is_ridden_out_and_msiam_access_comes_through_unchanged() {
    let w = world().await;
    let msiam = |roles: &[Value]| {
        roles
            .iter()
            .find(|r| r["displayName"] == "msiam_access")
            .cloned()
            .unwrap()
    };
    let before = msiam(&w.app_roles().await);
    w.emu
        .set_faults(serde_json::json!([{"path_regex": "^/v1\\.0/", "times": 6, "action": {"status": 429, "retry_after_secs": 0}}]))
        .await;
    let report = w.sync(false).await.expect("the storm is ridden out");
    assert_eq!(report.plan.count(Action::Add), 3);
    let state = w.emu.state().await;
    assert_eq!(
        state["faults"][0]["times_left"], 0,
        "all six 429s were served: {}",
        state["faults"]
    );
    w.sync(false).await.unwrap();
    assert_eq!(
        msiam(&w.app_roles().await),
        before,
        "msiam_access is never changed"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_account_that_cannot_be_read_keeps_its_roles_and_the_run_exits_4() {
    let w = world().await;
    w.sync(false).await.unwrap();
    w.delete_dev_role().await;
    let proxy = crate::support::proxy::Proxy::start(&w.moto.url);
    proxy.add(crate::support::proxy::Rule {
        action: "AssumeRole",
        body_contains: Some(w.member.clone()),
        times: None,
        fault: crate::support::proxy::Fault::Respond {
            status: 403,
            body: crate::support::proxy::query_error("AccessDenied", "not authorized"),
        },
    });
    let out = sync_cmd_via(&w, &proxy.url, &[]);
    crate::support::assert_exit(&out, 4);
    let summary: Value = serde_json::from_str(crate::support::stdout(&out).trim()).unwrap();
    assert_eq!(summary["accounts_failed"], 1);
    assert_eq!(
        summary["roles_disabled"], 0,
        "the unread account's roles are left alone"
    );
    let dev = w.dev_value();
    assert!(values(&w.app_roles().await).contains(&(dev, true)));
}

/// The app roles by id, each as Graph holds it.
fn by_id(roles: &[Value]) -> std::collections::BTreeMap<String, Value> {
    roles
        .iter()
        .map(|r| (r["id"].as_str().unwrap().to_owned(), r.clone()))
        .collect()
}

/// The backup keys in the bucket, oldest first.
pub(crate) async fn backup_keys(w: &World) -> Vec<String> {
    let listed =
        w.s3.list_objects_v2()
            .bucket(BUCKET)
            .prefix("manifests/2")
            .send()
            .await
            .unwrap();
    let mut keys: Vec<String> = listed
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect();
    keys.sort();
    keys
}

#[tokio::test(flavor = "multi_thread")]
async fn restore_brings_back_the_prior_state_in_two_phases_after_a_fresh_backup() {
    let w = world().await;
    let before = w.app_roles().await;
    let synced = sync_cmd(&w, &[]);
    crate::support::assert_exit(&synced, 0);
    let prior = backup_keys(&w).await;
    assert_eq!(prior.len(), 1);
    let after_sync = w.app_roles().await;
    assert_ne!(by_id(&after_sync), by_id(&before));

    // A dry run plans the restore and writes nothing.
    let writes = w.writes().await;
    let planned = restore_cmd(&w, &[&prior[0], "--dry-run", "--output", "text"]);
    crate::support::assert_exit(&planned, 0);
    let text = crate::support::stdout(&planned);
    assert!(text.contains("fedsync restore: planned"), "{text}");
    assert!(text.contains(&prior[0]), "{text}");
    assert_eq!(w.writes().await, writes);
    assert_eq!(backup_keys(&w).await, prior);

    // First restore: the backup's roles come back as they were; roles the sync added are
    // disabled; the state it replaced is backed up first.
    let first = restore_cmd(&w, &[&prior[0]]);
    crate::support::assert_exit(&first, 0);
    let summary: Value =
        serde_json::from_str(crate::support::stdout(&first).trim()).expect("one JSON line");
    assert_eq!(summary["event"], "fedsync.restore.summary");
    assert_eq!(summary["restored_from"], prior[0].as_str());
    assert_eq!(summary["roles_disabled"], 3, "{summary}");
    let keys = backup_keys(&w).await;
    assert_eq!(keys.len(), 2);
    let fresh = summary["backup_key"].as_str().unwrap();
    assert_eq!(fresh, keys[1]);
    let fresh_backup: Value = serde_json::from_slice(
        &w.s3
            .get_object()
            .bucket(BUCKET)
            .key(fresh)
            .send()
            .await
            .unwrap()
            .body
            .collect()
            .await
            .unwrap()
            .into_bytes(),
    )
    .unwrap();
    assert_eq!(
        by_id(
            fresh_backup["servicePrincipal"]["appRoles"]
                .as_array()
                .unwrap()
        ),
        by_id(&after_sync),
        "the fresh backup holds the state the restore replaced"
    );
    let now = by_id(&w.app_roles().await);
    for (id, role) in by_id(&before) {
        let mut got = now[&id].clone();
        if role.get("origin").is_none() {
            got.as_object_mut().unwrap().remove("origin");
        }
        assert_eq!(got, role, "role {id} as in the backup");
    }
    assert_eq!(
        now.values().filter(|r| r["isEnabled"] == false).count(),
        before.iter().filter(|r| r["isEnabled"] == false).count() + 3
    );

    // Restoring the same key again drops them: the app roles are the backup's.
    let second = restore_cmd(&w, &[&prior[0]]);
    crate::support::assert_exit(&second, 0);
    let summary: Value = serde_json::from_str(crate::support::stdout(&second).trim()).unwrap();
    assert_eq!(summary["roles_removed"], 3, "{summary}");
    assert_eq!(
        by_id(&w.app_roles().await).keys().collect::<Vec<_>>(),
        by_id(&before).keys().collect::<Vec<_>>()
    );
    let writes = w.writes().await;
    let third = restore_cmd(&w, &[&prior[0], "--output", "text"]);
    assert!(crate::support::stdout(&third).contains("fedsync restore: in-sync"));
    assert_eq!(w.writes().await, writes, "nothing left to restore");
}

#[tokio::test(flavor = "multi_thread")]
async fn restoring_a_backup_that_is_not_there_exits_2_and_writes_nothing() {
    let w = world().await;
    let none = restore_cmd(&w, &["latest"]);
    crate::support::assert_exit(&none, 2);
    assert!(
        crate::support::stderr(&none)
            .contains("there is no backup under s3://fedsync-backups/manifests/"),
        "{}",
        crate::support::stderr(&none)
    );
    let missing = restore_cmd(&w, &["manifests/20200101T000000.000Z-nope.json"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        crate::support::stderr(&missing).contains("manifests/20200101T000000.000Z-nope.json"),
        "{}",
        crate::support::stderr(&missing)
    );
    assert_eq!(w.writes().await, 0);
    assert!(backup_keys(&w).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_without_files_plans_live_and_writes_nothing() {
    let w = world().await;
    let text = fedsync_cmd(&w, &w.moto.url, "plan", &[]);
    crate::support::assert_exit(&text, 0);
    let out = crate::support::stdout(&text);
    assert!(
        out.contains(&format!("+ add     AWS {} - Dev", w.member)),
        "{out}"
    );
    let json = fedsync_cmd(&w, &w.moto.url, "plan", &["--output", "json"]);
    let plan: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(plan["schema"], "fedsync.plan/v1", "{plan}");
    assert_eq!(w.writes().await, 0);
    assert!(backup_keys(&w).await.is_empty());

    let half = fedsync_cmd(
        &w,
        &w.moto.url,
        "plan",
        &["--inventory", "examples/inventory.json"],
    );
    assert_eq!(half.status.code(), Some(2));
    assert!(crate::support::stderr(&half).contains("--manifest"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_late_answer_to_creating_groups_creates_each_group_once_and_the_next_run_creates_none() {
    let w = world().await;
    // Graph creates the groups but answers after the client gave up (one second).
    w.emu
        .set_faults(
            json!([{"method": "POST", "path_regex": "^/v1.0/\\$batch$", "times": 1,
            "action": {"answer_after_ms": 2500}}]),
        )
        .await;
    let impatient = GraphClient::new(
        w.settings.graph(),
        RetryPolicy {
            request_timeout: Duration::from_secs(1),
            ..RetryPolicy::default()
        },
    )
    .unwrap();
    let report = w
        .sync_through(&impatient, false)
        .await
        .expect("found by name");
    assert_eq!(report.groups_created.len(), 3);
    assert!(
        report.duplicate_groups.is_empty(),
        "{:?}",
        report.duplicate_groups
    );
    let state = w.emu.state().await;
    let mut names: Vec<&str> = state["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|g| g["displayName"].as_str())
        .filter(|n| n.starts_with("AWS "))
        .collect();
    names.sort();
    let mut unique = names.clone();
    unique.dedup();
    assert_eq!(unique, names, "no group twice");
    let batches = state["writes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["path"] == "/v1.0/$batch")
        .count();
    assert_eq!(batches, 1);
    // The next run finds them all: it creates no group (it drops the seed's disabled role).
    let again = w.sync(false).await.unwrap();
    assert!(
        again.groups_created.is_empty(),
        "{:?}",
        again.groups_created
    );
    assert!(again.groups_to_create().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn two_groups_of_one_name_that_fedsync_owns_are_reported_and_only_one_is_assigned() {
    let w = world().await;
    w.sync(false).await.unwrap();
    let name = format!("AWS {} - Dev", w.member);
    let owner = format!("{}/v1.0/directoryObjects/{CLIENT_SP}", w.emu.base);
    let twin = w
        .emu
        .create_group(
            json!({"displayName": name, "mailEnabled": false, "securityEnabled": true,
            "mailNickname": "dev-twin", "owners@odata.bind": [owner]}),
        )
        .await;
    assert_eq!(twin.status.as_u16(), 201, "{:?}", twin.body);
    let report = w.sync(true).await.unwrap();
    assert_eq!(report.duplicate_groups, [name]);
    assert!(
        !report.wrote(),
        "nothing to change: the first group stays the assigned one"
    );
    let state = w.emu.state().await;
    let twin_id = twin.body["id"].as_str().unwrap();
    assert!(
        state["assignments"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["principalId"] != twin_id),
        "the twin is never assigned"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_app_near_its_entry_cap_warns_and_counts_the_collections_that_share_the_cap() {
    // Five entries beside the app roles: three reply URLs and two service principal names.
    let mut graph_seed = seed();
    graph_seed["service_principal"]["replyUrls"] = json!([
        "https://signin.aws.amazon.com/saml",
        "https://eu-west-1.signin.aws.amazon.com/saml",
        "https://us-east-1.signin.aws.amazon.com/saml"
    ]);
    graph_seed["service_principal"]["servicePrincipalNames"] =
        json!(["https://signin.aws.amazon.com/saml#1", CLIENT_ID]);
    let w = world_seeded(graph_seed).await;
    let summary = |out: &std::process::Output| -> Value {
        serde_json::from_str(crate::support::stdout(out).lines().last().unwrap()).unwrap()
    };
    // Two runs: the second drops the role the first disabled, so the app is settled.
    crate::support::assert_exit(&sync_cmd(&w, &[]), 0);
    let roomy = sync_cmd(&w, &["--output", "json"]);
    crate::support::assert_exit(&roomy, 0);
    let line = summary(&roomy);
    let app_roles = w.emu.app_roles().await.len();
    assert_eq!(line["entries"], app_roles + 5, "{line}");
    assert_eq!(line["entry_cap"], 1200);
    assert_eq!(line["warnings"], json!([]));

    // The same app against a cap it fills to 95% or more: the run still applies, and warns in
    // the summary line and the log.
    let cap = (app_roles + 5) * 100 / 95;
    let near = sync_cmd(
        &w,
        &["--output", "json", "--max-app-roles", &cap.to_string()],
    );
    crate::support::assert_exit(&near, 0);
    let line = summary(&near);
    let percent = line["entry_fill_percent"].as_u64().unwrap();
    assert!((95..=100).contains(&percent), "{line}");
    let warning = format!(
        "the app is {percent}% full ({} of max-app-roles {cap} entries)",
        app_roles + 5
    );
    assert!(
        line["warnings"][0].as_str().unwrap().starts_with(&warning),
        "{line}"
    );
    assert!(
        crate::support::stderr(&near).contains(&warning),
        "{}",
        crate::support::stderr(&near)
    );
}
