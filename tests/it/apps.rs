//! Several Entra apps in one run, through the binary against moto and the Graph emulator: roles
//! routed by the certificate on the provider they trust, each app with its own backup, lease and
//! summary line; one app refused while the other applies; `plan` offline with one manifest per
//! app; `backups` and `restore` per app.

use serde_json::{Value, json};

use crate::graph_emulator::{SP, seed};
use crate::support::org::{self, MANAGEMENT};
use crate::sync_run::{BUCKET, World, fedsync_cmd, world_seeded};

/// The second AWS app's service principal.
const SP_B: &str = "b0b0b0b0-3c1d-4d0e-9a57-6a3b2f1e0c22";

/// Our Entra tenant's metadata, signed with the second app's certificate: same entity id,
/// another signing certificate.
fn app_b_metadata() -> String {
    let ours = org::pem_body(&org::fixture("idp-signing.pem"));
    let theirs = org::pem_body(&org::fixture("role-descriptor.pem"));
    org::our_metadata().replace(&ours, &theirs)
}

/// The SHA-256 thumbprint of the second app's signing certificate.
fn app_b_certificate() -> String {
    let metadata = fedsync::metadata::parse(&app_b_metadata()).unwrap();
    metadata.signing_certificates[0].sha256.to_string()
}

/// The shared world, with a second AWS app (msiam_access only) in Graph, and the member
/// account's provider re-issued with the second app's metadata: its role Dev lives in app `b`.
async fn two_apps() -> World {
    let mut graph_seed = seed();
    let mut b = graph_seed["service_principal"].clone();
    b["id"] = json!(SP_B);
    b["appId"] = json!("b0b0b0b0-67b2-4cf2-a259-e3dc5476c622");
    b["displayName"] = json!("AWS shard b");
    let msiam = b["appRoles"][0].clone();
    assert_eq!(
        msiam["value"],
        Value::Null,
        "the seed's first role is msiam_access"
    );
    b["appRoles"] = json!([msiam]);
    graph_seed["service_principals"] = json!([b]);
    let w = world_seeded(graph_seed).await;
    let iam = org::iam_in(&w.sdk, &w.member).await;
    iam.update_saml_provider()
        .saml_provider_arn(format!("arn:aws:iam::{}:saml-provider/AzureAD", w.member))
        .saml_metadata_document(app_b_metadata())
        .send()
        .await
        .unwrap();
    w
}

/// A config file naming the app `b`; `extra` is added to its table.
fn config(dir: &tempfile::TempDir, extra: &str) -> String {
    let path = dir.path().join("fedsync.toml");
    std::fs::write(
        &path,
        format!(
            "[apps.b]\nservice-principal-id = \"{SP_B}\"\nsaml-certificates = \"{}\"\n{extra}",
            app_b_certificate()
        ),
    )
    .unwrap();
    path.display().to_string()
}

fn run(w: &World, config: &str, command: &str, args: &[&str]) -> std::process::Output {
    let mut all = vec!["--config", config];
    all.extend_from_slice(args);
    fedsync_cmd(w, &w.moto.url, command, &all)
}

/// The AWS roles (values) of the service principal `sp` in the emulator, enabled or not.
async fn values_of(w: &World, sp: &str) -> Vec<(String, bool)> {
    let state = w.emu.state().await;
    let sp = state["service_principals"]
        .as_array()
        .expect("the emulator lists every AWS service principal")
        .iter()
        .find(|s| s["id"] == sp)
        .unwrap_or_else(|| panic!("no service principal {sp} in {state}"));
    crate::sync_run::values(sp["appRoles"].as_array().unwrap())
}

fn lines(out: &std::process::Output) -> Vec<Value> {
    crate::support::stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn line_of<'a>(lines: &'a [Value], app: &str) -> &'a Value {
    lines
        .iter()
        .find(|l| l["app"] == app)
        .unwrap_or_else(|| panic!("no summary line for app {app} in {lines:?}"))
}

fn role(account: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:role/{name},arn:aws:iam::{account}:saml-provider/AzureAD")
}

#[tokio::test(flavor = "multi_thread")]
async fn two_apps_sync_in_one_run_each_role_into_the_app_whose_certificate_its_provider_carries() {
    let w = two_apps().await;
    let dir = tempfile::tempdir().unwrap();
    let config = config(&dir, "");

    let out = run(&w, &config, "sync", &["--output", "json"]);
    crate::support::assert_exit(&out, 0);
    let lines = lines(&out);
    assert_eq!(lines.len(), 2, "one summary line per app");
    for (app, sp) in [("default", SP), ("b", SP_B)] {
        let line = line_of(&lines, app);
        assert_eq!(line["outcome"], "applied", "{line}");
        assert_eq!(line["service_principal_id"], sp, "{line}");
        assert_eq!(line["exit_code"], 0, "{line}");
        assert!(
            line["backup_key"]
                .as_str()
                .unwrap()
                .ends_with(&format!("-{sp}.json")),
            "each app backs up its own service principal: {line}"
        );
    }
    assert_eq!(line_of(&lines, "b")["roles_added"], 1);

    let default = values_of(&w, SP).await;
    let b = values_of(&w, SP_B).await;
    assert!(
        default.contains(&(role(MANAGEMENT, "Admin"), true)),
        "{default:?}"
    );
    assert!(
        default.contains(&(role(MANAGEMENT, "ReadOnly"), true)),
        "{default:?}"
    );
    assert!(
        !default.iter().any(|(v, _)| v.contains(&w.member)),
        "the member account's role lives in app b only: {default:?}"
    );
    // msiam_access (no value: "-") stays, and the member account's role comes in.
    assert_eq!(b, [("-".to_owned(), true), (role(&w.member, "Dev"), true)]);

    // Both leases were given back; each app has one backup.
    let listed = w.s3.list_objects_v2().bucket(BUCKET).send().await.unwrap();
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert!(!keys.iter().any(|k| k.contains("lease")), "{keys:?}");
    let backups = run(
        &w,
        &config,
        "backups",
        &["list", "--app", "b", "--output", "json"],
    );
    crate::support::assert_exit(&backups, 0);
    let backups: Value = serde_json::from_str(&crate::support::stdout(&backups)).unwrap();
    let backups = backups.as_array().unwrap();
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert_eq!(backups[0]["app"], "b");
    assert_eq!(backups[0]["service_principal_id"], SP_B);

    // The second run drops the role the first disabled in app default (the seed's role of an
    // account outside the Organization) and leaves app b as it is; a third writes nothing.
    let second = run(&w, &config, "sync", &["--output", "json"]);
    crate::support::assert_exit(&second, 0);
    assert_eq!(line_of(&self::lines(&second), "b")["outcome"], "in-sync");
    let writes = w.writes().await;
    let third = run(&w, &config, "sync", &["--output", "json"]);
    crate::support::assert_exit(&third, 0);
    for line in self::lines(&third) {
        assert_eq!(line["outcome"], "in-sync", "{line}");
    }
    assert_eq!(w.writes().await, writes);

    // A restore takes one app: the settings name two, so it must be told which.
    let restore = run(&w, &config, "restore", &["latest"]);
    crate::support::assert_exit(&restore, 2);
    let err = crate::support::stderr(&restore);
    assert!(
        err.contains("the settings name 2 apps (b, default); say which to restore with --app NAME"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn one_app_refused_by_its_guardrail_leaves_the_other_applied_and_the_run_exits_3() {
    let w = two_apps().await;
    let dir = tempfile::tempdir().unwrap();
    // App b holds msiam_access and would add Dev: two entries, over its own cap of one.
    let config = config(&dir, "max-app-roles = 1\n");
    let before_b = values_of(&w, SP_B).await;

    let out = run(&w, &config, "sync", &["--output", "json"]);
    crate::support::assert_exit(&out, 3);
    let err = crate::support::stderr(&out);
    assert!(err.contains("error: app b\n"), "{err}");
    assert!(
        err.contains("Caused by: plan refused, nothing written: "),
        "{err}"
    );
    let lines = lines(&out);
    let b = line_of(&lines, "b");
    assert_eq!(b["outcome"], "refused", "{b}");
    assert_eq!(b["exit_code"], 3, "{b}");
    assert_eq!(b["backup_key"], Value::Null, "{b}");
    let default = line_of(&lines, "default");
    assert_eq!(default["outcome"], "applied", "{default}");
    assert_eq!(default["exit_code"], 0, "{default}");

    assert_eq!(values_of(&w, SP_B).await, before_b, "app b is untouched");
    let applied = values_of(&w, SP).await;
    assert!(
        applied.contains(&(role(MANAGEMENT, "Admin"), true)),
        "{applied:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn one_app_whose_lease_another_run_holds_is_left_alone_while_the_other_applies() {
    let w = two_apps().await;
    let dir = tempfile::tempdir().unwrap();
    let config = config(&dir, "");
    let held = w.hold_lease(SP_B, "another-run").await;
    let before_b = values_of(&w, SP_B).await;

    let out = run(&w, &config, "sync", &["--output", "json"]);
    crate::support::assert_exit(&out, 1);
    let err = crate::support::stderr(&out);
    assert!(err.contains("error: app b\n"), "{err}");
    assert!(err.contains("another fedsync run holds the lease"), "{err}");
    let lines = lines(&out);
    let b = line_of(&lines, "b");
    assert_eq!(b["outcome"], "failed", "{b}");
    assert_eq!(b["exit_code"], 1, "{b}");
    assert_eq!(b["backup_key"], Value::Null, "{b}");
    let default = line_of(&lines, "default");
    assert_eq!(default["outcome"], "applied", "{default}");

    assert_eq!(values_of(&w, SP_B).await, before_b, "app b is untouched");
    assert!(
        values_of(&w, SP)
            .await
            .contains(&(role(MANAGEMENT, "Admin"), true))
    );
    // The other run's lease is still its own: this run neither took nor released it.
    assert_eq!(
        w.lease_holder(SP_B).await.as_deref(),
        Some(held.record.holder.as_str())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_apps_that_name_the_same_group_share_it_instead_of_each_creating_one() {
    // A role of the member account trusts its provider of app b and a second one of app
    // default: both apps give it an app role, under one name, so both name one group. The apps
    // cannot plan from one reading of the groups then: the second must see what the first made.
    let w = two_apps().await;
    let iam = org::iam_in(&w.sdk, &w.member).await;
    let default_idp = org::saml_provider(&iam, "AzureADDefault", &org::our_metadata()).await;
    let b_idp = format!("arn:aws:iam::{}:saml-provider/AzureAD", w.member);
    org::role(
        &iam,
        "/",
        "Shared",
        &org::saml_trust(&[&default_idp, &b_idp]),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = config(&dir, "");

    let out = run(&w, &config, "sync", &["--output", "json"]);
    crate::support::assert_exit(&out, 0);
    let lines = lines(&out);
    assert_eq!(
        line_of(&lines, "b")["groups_created"],
        2,
        "Dev and Shared: {lines:?}"
    );
    assert_eq!(
        line_of(&lines, "default")["groups_created"],
        2,
        "Admin and ReadOnly; Shared is b's: {lines:?}"
    );
    let state = w.emu.state().await;
    let shared: Vec<&Value> = state["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["displayName"].as_str().unwrap().ends_with("Shared"))
        .collect();
    assert_eq!(shared.len(), 1, "one group of the name: {shared:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_offline_takes_one_manifest_per_app_and_routes_the_inventory_by_certificate() {
    let w = two_apps().await;
    let dir = tempfile::tempdir().unwrap();
    let config = config(&dir, "");
    let inventory = run(&w, &config, "inventory", &["--output", "json"]);
    crate::support::assert_exit(&inventory, 0);
    let inventory_file = dir.path().join("inventory.json");
    std::fs::write(&inventory_file, crate::support::stdout(&inventory)).unwrap();
    let mut manifests = Vec::new();
    for (app, sp) in [("default", SP), ("b", SP_B)] {
        let body = w
            .emu
            .get(&format!("/v1.0/servicePrincipals/{sp}"))
            .await
            .body;
        let file = dir.path().join(format!("{app}.json"));
        std::fs::write(&file, body.to_string()).unwrap();
        manifests.push(format!("{app}={}", file.display()));
    }
    let inventory_file = inventory_file.display().to_string();
    let out = run(
        &w,
        &config,
        "plan",
        &[
            "--inventory",
            &inventory_file,
            "--manifest",
            &manifests[0],
            "--manifest",
            &manifests[1],
            "--output",
            "json",
        ],
    );
    crate::support::assert_exit(&out, 0);
    let plans: Value = serde_json::from_str(&crate::support::stdout(&out)).unwrap();
    let plans = plans.as_array().expect("one plan per app");
    let adds = |app: &str| -> Vec<String> {
        let plan = plans.iter().find(|p| p["app"] == app).unwrap();
        plan["changes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["action"] == "add")
            .map(|c| c["value"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(adds("b"), [role(&w.member, "Dev")]);
    assert!(!adds("default").iter().any(|v| v.contains(&w.member)));
    assert!(adds("default").contains(&role(MANAGEMENT, "Admin")));
}
