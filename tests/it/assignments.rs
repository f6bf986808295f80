//! Issue 14, through the binary against moto and the Graph emulator: the plan shows every
//! group and assignment write; a role deleted in IAM loses its people with a record, and gets
//! the same people back when it is recreated; a backup restore brings its assignments back; a
//! squatted group of the right name is refused; two accounts with the same name skip only their
//! own roles.

use serde_json::{Value, json};

use crate::graph_emulator::{Running, SP, seed, start};
use crate::support::moto::Moto;
use crate::support::org::{self, MANAGEMENT};
use crate::support::{assert_exit, fedsync, stderr, stdout};

const BUCKET: &str = "fedsync-backups";
const ALICE: &str = "a11ce000-0000-4000-8000-000000000001";
const BOB: &str = "b0b00000-0000-4000-8000-000000000002";
const MALLORY: &str = "3a110700-0000-4000-8000-000000000009";

struct World {
    moto: Moto,
    emu: Running,
    sdk: aws_config::SdkConfig,
    member: String,
}

fn user(id: &str, name: &str) -> Value {
    json!({"id": id, "userPrincipalName": format!("{name}@contoso.com"), "displayName": name})
}

/// moto: management (Admin, ReadOnly) and member (Dev) accounts; a backup bucket. Graph: the
/// usual seed with alice and bob, and `extra_groups`.
async fn world(extra_groups: impl FnOnce(&str) -> Vec<Value>) -> World {
    let moto = Moto::start();
    let sdk = org::sdk(&moto.url).await;
    let member = org::seed_two_accounts(&sdk).await;
    org::s3(&sdk)
        .create_bucket()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap();
    let mut seed = seed();
    seed["users"] = json!([user(ALICE, "alice"), user(BOB, "bob")]);
    let groups = seed["groups"].as_array_mut().unwrap();
    groups.extend(extra_groups(&member));
    World {
        emu: start(seed).await,
        moto,
        sdk,
        member,
    }
}

impl World {
    fn run(&self, command: &str, args: &[&str]) -> std::process::Output {
        let mut cmd = fedsync();
        cmd.arg(command).args(args);
        for (key, value) in org::aws_env(&self.moto.url) {
            cmd.env(key, value);
        }
        cmd.envs(self.emu.fedsync_env());
        for (key, value) in [
            ("FEDSYNC_BACKUP_BUCKET", BUCKET),
            ("FEDSYNC_MAX_REMOVALS", "100%"),
            ("FEDSYNC_ASSIGN_GROUPS", "true"),
        ] {
            cmd.env(key, value);
        }
        cmd.output().unwrap()
    }

    /// `fedsync sync` and its summary line, asserting the exit code.
    fn sync(&self, args: &[&str], exit: i32) -> Value {
        let out = self.run("sync", args);
        serde_json::from_str(assert_exit(&out, exit).trim()).expect("one JSON summary line")
    }

    fn dev_value(&self) -> String {
        format!(
            "arn:aws:iam::{0}:role/Dev,arn:aws:iam::{0}:saml-provider/AzureAD",
            self.member
        )
    }

    fn dev_group(&self) -> String {
        format!("AWS {} - Dev", self.member)
    }

    /// The app role whose value is `value`, as the emulator holds it.
    async fn app_role(&self, value: &str) -> Option<Value> {
        let state = self.emu.state().await;
        state["service_principal"]["appRoles"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["value"] == value)
            .cloned()
    }

    async fn app_role_id(&self, value: &str) -> String {
        let role = self.app_role(value).await;
        let role = role.unwrap_or_else(|| panic!("no app role {value}"));
        role["id"].as_str().unwrap().to_owned()
    }

    async fn enabled(&self, value: &str) -> Option<bool> {
        let role = self.app_role(value).await?;
        Some(role["isEnabled"].as_bool().unwrap())
    }

    async fn group_id(&self, name: &str) -> Option<String> {
        let state = self.emu.state().await;
        state["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["displayName"] == name)
            .map(|g| g["id"].as_str().unwrap().to_owned())
    }

    /// The principals assigned to an app role.
    async fn assigned_to(&self, role_id: &str) -> Vec<String> {
        let state = self.emu.state().await;
        let mut ids: Vec<String> = state["assignments"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["appRoleId"] == role_id)
            .map(|a| a["principalId"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    }

    async fn assign_user(&self, user: &str, role_id: &str) {
        let reply = self
            .emu
            .graph(
                reqwest::Method::POST,
                &format!("/v1.0/servicePrincipals/{SP}/appRoleAssignedTo"),
                Some(json!({"principalId": user, "resourceId": SP, "appRoleId": role_id})),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.body);
    }

    async fn state_file(&self) -> Value {
        let object = org::s3(&self.sdk)
            .get_object()
            .bucket(BUCKET)
            .key(fedsync::store::state_key(SP))
            .send()
            .await
            .expect("the state is in the bucket");
        serde_json::from_slice(&object.body.collect().await.unwrap().into_bytes()).unwrap()
    }

    async fn delete_dev(&self) {
        let iam = org::iam_in(&self.sdk, &self.member).await;
        iam.delete_role().role_name("Dev").send().await.unwrap();
    }

    async fn recreate_dev(&self) {
        let iam = org::iam_in(&self.sdk, &self.member).await;
        let idp = format!("arn:aws:iam::{}:saml-provider/AzureAD", self.member);
        org::role(&iam, "/", "Dev", &org::saml_trust(&[&idp])).await;
    }
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_replaced_in_iam_gets_the_same_user_and_group_back() {
    let w = world(|_| Vec::new()).await;
    w.sync(&[], 0);
    let dev = w.app_role_id(&w.dev_value()).await;
    let group = w.group_id(&w.dev_group()).await.expect("the Dev group");
    w.assign_user(ALICE, &dev).await;
    assert_eq!(
        w.assigned_to(&dev).await,
        sorted(vec![ALICE.into(), group.clone()])
    );

    // Deleted in IAM: the plan shows who loses the role; the sync records and removes them.
    w.delete_dev().await;
    let planned = stdout(&w.run("plan", &[]));
    assert!(
        planned.contains("- remove  user alice from role"),
        "{planned}"
    );
    assert!(
        planned.contains(&format!("- remove  group {} from role", w.dev_group())),
        "{planned}"
    );
    assert!(
        planned.contains(
            "Access: 1 users and 1 groups lose a role; 0 users and 0 groups get one back."
        ),
        "{planned}"
    );
    let summary = w.sync(&[], 0);
    assert_eq!(summary["roles_disabled"], 1, "{summary}");
    assert_eq!(summary["assignments_removed"], 2, "{summary}");
    assert_eq!(
        summary["orphan_groups"],
        json!([w.dev_group()]),
        "groups, not users"
    );
    assert!(w.assigned_to(&dev).await.is_empty());
    let state = w.state_file().await;
    let recorded: Vec<(String, String)> = state["removed_assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["principal_id"].as_str().unwrap().to_owned(),
                r["principal_type"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(recorded.len(), 2, "{state}");
    assert!(recorded.contains(&(ALICE.into(), "User".into())));
    assert!(recorded.contains(&(group.clone(), "Group".into())));

    // Recreated (CloudFormation replaced it): enabled again, the same people again.
    w.recreate_dev().await;
    let planned = stdout(&w.run("plan", &[]));
    assert!(
        planned.contains("~ restore user alice to role"),
        "{planned}"
    );
    let summary = w.sync(&[], 0);
    assert_eq!(summary["roles_enabled"], 1, "{summary}");
    assert_eq!(summary["assignments_restored"], 2, "{summary}");
    assert_eq!(w.assigned_to(&dev).await, sorted(vec![ALICE.into(), group]));
    assert_eq!(w.state_file().await["removed_assignments"], json!([]));
    let again = w.sync(&[], 0);
    assert_eq!(again["outcome"], "in-sync", "{again}");
}

#[tokio::test(flavor = "multi_thread")]
async fn restoring_a_backup_brings_its_assignments_back_and_keeps_newer_ones() {
    let w = world(|_| Vec::new()).await;
    w.sync(&[], 0);
    let dev = w.app_role_id(&w.dev_value()).await;
    let group = w.group_id(&w.dev_group()).await.unwrap();
    w.assign_user(ALICE, &dev).await;
    w.delete_dev().await;
    let summary = w.sync(&[], 0);
    let before_disable = summary["backup_key"].as_str().unwrap().to_owned();
    assert!(w.assigned_to(&dev).await.is_empty());

    // A newer assignment elsewhere, made after that backup.
    let read_only = w
        .app_role_id(&format!(
            "arn:aws:iam::{MANAGEMENT}:role/ReadOnly,arn:aws:iam::{MANAGEMENT}:saml-provider/AzureAD"
        ))
        .await;
    w.assign_user(BOB, &read_only).await;

    let out = w.run("restore", &[&before_disable]);
    let summary: Value = serde_json::from_str(assert_exit(&out, 0).trim()).unwrap();
    assert_eq!(summary["roles_enabled"], 1, "{summary}");
    assert_eq!(summary["assignments_restored"], 2, "{summary}");
    assert_eq!(w.enabled(&w.dev_value()).await, Some(true));
    assert_eq!(w.assigned_to(&dev).await, sorted(vec![ALICE.into(), group]));
    assert!(
        w.assigned_to(&read_only).await.contains(&BOB.to_owned()),
        "an assignment made since stays"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_squatted_group_of_the_right_name_is_refused_and_reported() {
    let w = world(|member| {
        vec![json!({"id": "5c0a77ed-0000-4000-8000-000000000001",
                    "displayName": format!("AWS {member} - Dev"),
                    "mailNickname": "squat", "owners": [MALLORY]})]
    })
    .await;
    let plan: Value = serde_json::from_str(&stdout(&w.run("plan", &["--output", "json"]))).unwrap();
    let dev = plan["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["display_name"] == w.dev_group())
        .unwrap()
        .clone();
    assert_eq!(dev["action"], "refused", "{dev}");
    assert_eq!(dev["refused"][0]["owners"], json!([MALLORY]));
    let text = stdout(&w.run("plan", &[]));
    assert!(
        text.contains(&format!("! refused {}: group 5c0a77ed", w.dev_group()))
            && text.contains(&format!("owned by {MALLORY}")),
        "{text}"
    );

    let summary = w.sync(&[], 0);
    assert_eq!(
        summary["groups_created"], 2,
        "Admin and ReadOnly, not Dev: {summary}"
    );
    let dev_role = w.app_role_id(&w.dev_value()).await;
    assert!(
        w.assigned_to(&dev_role).await.is_empty(),
        "the squatted group gets nothing"
    );
    let state = w.emu.state().await;
    let named_dev = state["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["displayName"] == w.dev_group())
        .count();
    assert_eq!(named_dev, 1, "and no second group of that name");

    // Nor does access add anyone to it.
    let role = format!("{}:Dev", w.member);
    let out = w.run(
        "access",
        &["grant", "--role", &role, "--user", "alice@contoso.com"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is not fedsync's"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_accounts_with_the_same_name_skip_only_their_own_roles() {
    let w = world(|_| Vec::new()).await;
    for _ in 0..2 {
        let twin = org::create_account(&w.sdk, "twin").await;
        let iam = org::iam_in(&w.sdk, &twin).await;
        let idp = org::saml_provider(&iam, "AzureAD", &org::our_metadata()).await;
        org::role(&iam, "/", "Admin", &org::saml_trust(&[&idp])).await;
    }
    let summary = w.sync(
        &["--naming-convention", "AWS {account_name} - {role_name}"],
        0,
    );
    assert_eq!(summary["roles_skipped"], 2, "{summary}");
    assert_eq!(
        summary["roles_added"], 3,
        "the other accounts' roles: {summary}"
    );
    let plan = stdout(&w.run(
        "plan",
        &["--naming-convention", "AWS {account_name} - {role_name}"],
    ));
    assert!(
        plan.contains("its app role display name \"aws twin - admin\" is also that of"),
        "{plan}"
    );
}
