//! `fedsync shard-plan`: the split of a seeded OU tree across Entra apps, through the binary, the
//! OU tree from moto's Organizations and the inventory from a snapshot file.

use serde_json::{Value, json};

use crate::support::moto::Moto;
use crate::support::{fedsync, org, stderr, stdout};

/// Six OUs of ten accounts under the root; `roles` federated roles in each account. Returns the
/// accounts' ids, OU by OU.
async fn seed_tree(sdk: &aws_config::SdkConfig) -> Vec<Vec<String>> {
    org::create_organization(sdk).await;
    let client = aws_sdk_organizations::Client::new(sdk);
    let root = client.list_roots().send().await.unwrap().roots()[0]
        .id()
        .unwrap()
        .to_owned();
    let mut ous = Vec::new();
    for o in 0..6 {
        let ou = client
            .create_organizational_unit()
            .parent_id(&root)
            .name(format!("team-{o}"))
            .send()
            .await
            .unwrap()
            .organizational_unit()
            .unwrap()
            .id()
            .unwrap()
            .to_owned();
        let mut accounts = Vec::new();
        for a in 0..10 {
            let id = org::create_account(sdk, &format!("t{o}a{a}")).await;
            client
                .move_account()
                .account_id(&id)
                .source_parent_id(&root)
                .destination_parent_id(&ou)
                .send()
                .await
                .unwrap();
            accounts.push(id);
        }
        ous.push(accounts);
    }
    ous
}

/// An inventory snapshot: every account read, with `roles` roles trusting its provider.
fn snapshot(accounts: &[String], roles: usize) -> Value {
    snapshot_signed(accounts, roles, |_| "a".repeat(64))
}

/// [`snapshot`], each account's provider carrying the certificate `certificate(account)`.
fn snapshot_signed(
    accounts: &[String],
    roles: usize,
    certificate: impl Fn(&str) -> String,
) -> Value {
    let accounts: Vec<Value> = accounts
        .iter()
        .map(|id| {
            let provider = format!("arn:aws:iam::{id}:saml-provider/EntraID");
            json!({
                "id": id, "name": id, "outcome": "read",
                "providers": [{ "arn": provider, "verdict": "ours",
                    "certificates": [{ "sha256": certificate(id) }] }],
                "roles": (0..roles).map(|r| json!({
                    "arn": format!("arn:aws:iam::{id}:role/Role{r:02}"),
                    "trust": [{ "provider": provider, "verdict": "yes" }],
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({ "version": 2, "listing": "organization", "accounts": accounts })
}

/// moto with the seeded tree, its accounts, and a snapshot of 25 roles per account in a file
/// (the directory lives as long as the returned guard).
async fn seeded() -> (Moto, Vec<String>, tempfile::TempDir, std::path::PathBuf) {
    let moto = Moto::start();
    let sdk = org::sdk(&moto.url).await;
    let accounts: Vec<String> = seed_tree(&sdk).await.into_iter().flatten().collect();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("inventory.json");
    std::fs::write(&file, snapshot(&accounts, 25).to_string()).unwrap();
    (moto, accounts, dir, file)
}

/// Two apps in the settings: `east` signs for the accounts of team-0 to team-3 (1,000 roles, over
/// its 960 target), `west` for those of team-4 and team-5 (500). The split keeps every account
/// where it lives but one OU of `east`, which moves to `west`: 250 roles, no new app.
#[tokio::test(flavor = "multi_thread")]
async fn with_two_apps_accounts_stay_in_the_app_whose_certificate_they_carry_and_only_the_overflow_moves()
 {
    let moto = Moto::start();
    let sdk = org::sdk(&moto.url).await;
    let ous = seed_tree(&sdk).await;
    let east: Vec<String> = ous[..4].iter().flatten().cloned().collect();
    let accounts: Vec<String> = ous.iter().flatten().cloned().collect();
    let (east_cert, west_cert) = ("e".repeat(64), "f".repeat(64));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("inventory.json");
    let inventory = snapshot_signed(&accounts, 25, |id| match east.iter().any(|e| e == id) {
        true => east_cert.clone(),
        false => west_cert.clone(),
    });
    std::fs::write(&file, inventory.to_string()).unwrap();
    let config = dir.path().join("fedsync.toml");
    std::fs::write(
        &config,
        format!(
            "saml-entity-id = \"https://sts.windows.net/72f988bf-0000-4000-8000-00000000a001/\"\n\
             [apps.east]\nservice-principal-id = \"e0e0e0e0-3c1d-4d0e-9a57-6a3b2f1e0c11\"\nsaml-certificates = \"{east_cert}\"\n\
             [apps.west]\nservice-principal-id = \"f0f0f0f0-3c1d-4d0e-9a57-6a3b2f1e0c11\"\nsaml-certificates = \"{west_cert}\"\n"
        ),
    )
    .unwrap();

    // The apps come from the config file alone: the test environment's FEDSYNC_* settings
    // would be shared ones, and a shared saml-certificates is an error once apps are named.
    let mut cmd = fedsync();
    cmd.arg("shard-plan").arg("--inventory").arg(&file).args([
        "--config",
        config.to_str().unwrap(),
        "--output",
        "json",
    ]);
    for (key, value) in org::aws_env(&moto.url) {
        if !key.starts_with("FEDSYNC_") {
            cmd.env(key, value);
        }
    }
    let out = cmd.output().unwrap();
    crate::support::assert_exit(&out, 0);
    let plan: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let apps = plan["apps"].as_array().unwrap();
    let names: Vec<&str> = apps.iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["east", "west"], "no new app: {plan:#}");
    for app in apps {
        assert_eq!(app["new"], false, "{app:#}");
        assert_eq!(app["roles"], 750, "{app:#}");
    }
    assert_eq!(plan["moved_roles"], 250, "{plan:#}");
    let moves = plan["moves"].as_array().unwrap();
    assert_eq!(moves.len(), 10, "one OU of ten accounts moves: {moves:#?}");
    for m in moves {
        assert_eq!(
            (m["from"].as_str(), m["to"].as_str()),
            (Some("east"), Some("west"))
        );
        assert!(east.iter().any(|e| m["account"] == e.as_str()), "{m}");
    }
}

fn shard_plan(moto: &Moto, inventory: &std::path::Path, args: &[&str]) -> std::process::Output {
    let mut cmd = fedsync();
    cmd.arg("shard-plan")
        .arg("--inventory")
        .arg(inventory)
        .args(args);
    for (key, value) in org::aws_env(&moto.url) {
        cmd.env(key, value);
    }
    cmd.output().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn sixty_accounts_of_25_roles_split_into_apps_under_80_percent_of_1200() {
    let (moto, accounts, _dir, file) = seeded().await;

    let out = shard_plan(&moto, &file, &["--output", "json"]);
    crate::support::assert_exit(&out, 0);
    let plan: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(plan["schema"], "fedsync.shard-plan/v1");
    let apps = plan["apps"].as_array().unwrap();
    assert_eq!(apps.len(), 2, "1,500 roles at 960 an app: {plan:#}");
    assert_eq!(apps[0]["name"], "default");
    assert_eq!(apps[1]["new"], true);
    let mut placed: Vec<String> = Vec::new();
    let mut roles = 0;
    for app in apps {
        assert!(
            app["roles"].as_u64().unwrap() <= 960,
            "over 80% of 1200: {app:#}"
        );
        roles += app["roles"].as_u64().unwrap();
        for unit in app["units"].as_array().unwrap() {
            placed.extend(
                unit["accounts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a.as_str().unwrap().to_owned()),
            );
        }
        // One StackSet per app, its instances on the app's OUs; the management account (no
        // roles, and never a StackSet target) is in none.
        let commands = app["commands"].as_array().unwrap();
        assert_eq!(commands.len(), 2, "{commands:?}");
        // Every target is an OU, never the root (`r-…`). An OU id carries the root's suffix
        // (`ou-pzyr-…` under `r-pzyr`), so each id is checked, not the text.
        let targets = commands[1]
            .as_str()
            .unwrap()
            .split_once("--deployment-targets OrganizationalUnitIds=")
            .unwrap_or_else(|| panic!("no OU targets: {commands:?}"))
            .1
            .split_whitespace()
            .next()
            .unwrap_or_default();
        assert!(
            !targets.is_empty() && targets.split(',').all(|id| id.starts_with("ou-")),
            "{commands:?}"
        );
    }
    assert_eq!(roles, 1500);
    // Every account of the Organization (the management account too, with no roles) is in
    // exactly one app.
    placed.sort();
    let before = placed.len();
    placed.dedup();
    assert_eq!(placed.len(), before, "an account in two apps");
    for account in &accounts {
        assert!(placed.contains(account), "{account} is in no app");
    }
    // Whole OUs: six OUs of 250 roles go three and three.
    for app in apps {
        for unit in app["units"].as_array().unwrap() {
            if unit["ou_name"].as_str().unwrap().starts_with("team-") {
                assert_eq!(unit["scope"], "subtree", "{unit:#}");
            }
        }
    }
    assert!(plan["growth"]["apps"].as_u64().unwrap() >= 2);

    // The same split as a table, with the commands.
    let text = shard_plan(&moto, &file, &[]);
    crate::support::assert_exit(&text, 0);
    let text = stdout(&text);
    assert!(text.contains("default"), "{text}");
    assert!(text.contains("(new app)"), "{text}");
    assert!(
        text.contains("aws cloudformation create-stack-set --stack-set-name fedsync-saml-shard-2"),
        "{text}"
    );
    assert!(
        text.contains("At 1.5× the roles the Organization would need"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_split_that_cannot_fit_exits_1_naming_the_numbers_and_bad_flags_exit_2() {
    let (moto, _, _dir, file) = seeded().await;

    let one = shard_plan(&moto, &file, &["--apps", "1"]);
    crate::support::assert_exit(&one, 1);
    let chain = crate::support::error_chain(&one);
    assert_eq!(chain[0], "no split fits", "{chain:#?}");
    assert!(chain[1].contains("1500"), "{chain:#?}");

    let bad = shard_plan(&moto, &file, &["--target-fill", "1.5"]);
    crate::support::assert_exit(&bad, 2);
    assert!(stderr(&bad).contains("--target-fill"), "{}", stderr(&bad));
}
