//! `fedsync access list | grant | revoke` through the binary, after a real `fedsync sync`
//! (moto and the Graph emulator): holders by direct assignment, by group and by nested group;
//! grant then list; revoke; CSV for access reviews; unknown names exit 2 with suggestions and
//! write nothing.

use serde_json::{Value, json};

use crate::graph_emulator::{CLIENT_ID, CLIENT_SECRET, Running, SP, TENANT, seed, start};
use crate::support::moto::Moto;
use crate::support::org::{self, MANAGEMENT};
use crate::support::{fedsync, stderr, stdout};

const ALICE: &str = "a11ce000-0000-4000-8000-000000000001";
const BOB: &str = "b0b00000-0000-4000-8000-000000000002";
const CAROL: &str = "ca401000-0000-4000-8000-000000000003";
const DAVE: &str = "da7e0000-0000-4000-8000-000000000004";
const PLATFORM: &str = "9a7f0000-0000-4000-8000-000000000006";

struct World {
    moto: Moto,
    emu: Running,
    member: String,
}

fn user(id: &str, name: &str) -> Value {
    json!({"id": id, "userPrincipalName": format!("{name}@contoso.com"), "displayName": name})
}

/// moto: the management account with Admin and ReadOnly, a member account with Dev, all
/// trusting our provider. Graph: the emulator's usual seed plus five users, a group Platform
/// (carol). Then `fedsync sync` with assign-groups on, which disables the seed's role of an
/// account outside the Organization (111111111111) and removes its assignment.
async fn world() -> World {
    let moto = Moto::start();
    let sdk = org::sdk(&moto.url).await;
    let member = org::seed_two_accounts(&sdk).await;
    let s3 = org::s3(&sdk);
    s3.create_bucket()
        .bucket("fedsync-backups")
        .send()
        .await
        .unwrap();

    let mut seed = seed();
    seed["users"] = json!([
        user(ALICE, "alice"),
        user(BOB, "bob"),
        user(CAROL, "carol"),
        user(DAVE, "dave"),
    ]);
    let groups = seed["groups"].as_array_mut().unwrap();
    groups.push(
        json!({"id": PLATFORM, "displayName": "Platform", "mailNickname": "platform",
                       "members": [CAROL]}),
    );
    let w = World {
        emu: start(seed).await,
        moto,
        member,
    };
    let mut sync = fedsync();
    sync.arg("sync");
    for (key, value) in env(&w) {
        sync.env(key, value);
    }
    let out = sync
        .env("FEDSYNC_BACKUP_BUCKET", "fedsync-backups")
        .env("FEDSYNC_MAX_REMOVALS", "100%")
        .env("FEDSYNC_ASSIGN_GROUPS", "true")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "sync: {}", stderr(&out));
    w
}

/// What every fedsync command here needs: AWS at moto, Graph at the emulator.
fn env(w: &World) -> Vec<(&'static str, String)> {
    let mut env = org::aws_env(&w.moto.url);
    env.extend(w.emu.fedsync_env());
    env
}

/// `fedsync access ARGS…` with only the Graph settings: no backup bucket, no guardrails.
fn access(w: &World, args: &[&str]) -> std::process::Output {
    let mut cmd = fedsync();
    cmd.arg("access").args(args);
    for (key, value) in env(w) {
        cmd.env(key, value);
    }
    cmd.output().unwrap()
}

impl World {
    async fn group_id(&self, name: &str) -> String {
        let filter = format!("displayName eq '{name}'");
        let reply = self
            .emu
            .get(&format!(
                "/v1.0/groups?$filter={}",
                form_urlencoded::byte_serialize(filter.as_bytes()).collect::<String>()
            ))
            .await;
        reply.body["value"][0]["id"].as_str().unwrap().to_owned()
    }

    async fn add_member(&self, group: &str, member: &str) {
        let reply = self
            .emu
            .graph(
                reqwest::Method::POST,
                &format!("/v1.0/groups/{group}/members/$ref"),
                Some(json!({
                    "@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{member}")
                })),
            )
            .await;
        assert_eq!(reply.status, 204, "{}", reply.body);
    }

    async fn role_id(&self, display_name: &str) -> String {
        let sp = self.emu.get(&format!("/v1.0/servicePrincipals/{SP}")).await;
        sp.body["appRoles"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["displayName"] == display_name)
            .unwrap_or_else(|| panic!("no role {display_name}"))["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn writes(&self) -> usize {
        self.emu.state().await["writes"].as_array().unwrap().len()
    }

    /// bob in the synced Admin group, Platform (carol) nested in it, dave assigned directly
    /// to ReadOnly.
    async fn holders(&self) {
        let admin = self.group_id(&format!("AWS {MANAGEMENT} - Admin")).await;
        self.add_member(&admin, BOB).await;
        self.add_member(&admin, PLATFORM).await;
        let read_only = self.role_id(&format!("AWS {MANAGEMENT} - ReadOnly")).await;
        let reply = self
            .emu
            .graph(
                reqwest::Method::POST,
                &format!("/v1.0/servicePrincipals/{SP}/appRoleAssignedTo"),
                Some(json!({"principalId": DAVE, "resourceId": SP, "appRoleId": read_only})),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.body);
    }
}

/// (role name, user, via, role enabled) of every holder in `access list --output json`.
fn holders(out: &std::process::Output) -> Vec<(String, String, String, bool)> {
    assert_eq!(out.status.code(), Some(0), "{}", stderr(out));
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(report["schema"], "fedsync.access/v1");
    let mut rows = Vec::new();
    for role in report["roles"].as_array().unwrap() {
        for h in role["holders"].as_array().unwrap() {
            rows.push((
                format!(
                    "{}:{}",
                    role["account_id"].as_str().unwrap(),
                    role["role_name"].as_str().unwrap()
                ),
                h["user"].as_str().unwrap().to_owned(),
                h["via"].as_str().unwrap().to_owned(),
                role["enabled"].as_bool().unwrap(),
            ));
        }
    }
    rows
}

fn row(role: &str, user: &str, via: &str, enabled: bool) -> (String, String, String, bool) {
    (
        role.to_owned(),
        format!("{user}@contoso.com"),
        via.to_owned(),
        enabled,
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn list_shows_direct_group_and_nested_holders_and_flags_the_disabled_role() {
    let w = world().await;
    w.holders().await;
    let admin_group = format!("group AWS {MANAGEMENT} - Admin");
    assert_eq!(
        holders(&access(&w, &["list", "--output", "json"])),
        vec![
            row(&format!("{MANAGEMENT}:Admin"), "bob", &admin_group, true),
            row(
                &format!("{MANAGEMENT}:Admin"),
                "carol",
                &format!("{admin_group} > group Platform"),
                true
            ),
            row(&format!("{MANAGEMENT}:ReadOnly"), "dave", "direct", true),
        ]
    );

    let text = access(&w, &["list", "--account", MANAGEMENT, "--role", "admin"]);
    crate::support::assert_exit(&text, 0);
    let text = stdout(&text);
    assert!(
        text.contains(&format!(
            "synced group: AWS {MANAGEMENT} - Admin (assigned)"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "carol@contoso.com  {admin_group} > group Platform"
        )),
        "{text}"
    );
    assert!(
        !text.contains("ReadOnly") && !text.contains("111111111111"),
        "{text}"
    );

    let everything = stdout(&access(&w, &["list"]));
    assert!(
        everything.contains(
            "(111111111111:Admin)  [disabled: gone from AWS or no longer trusting our provider]"
        ),
        "{everything}"
    );

    let through_platform = holders(&access(
        &w,
        &["list", "--principal", "Platform", "--output", "json"],
    ));
    assert_eq!(
        through_platform,
        vec![row(
            &format!("{MANAGEMENT}:Admin"),
            "carol",
            &format!("{admin_group} > group Platform"),
            true
        )]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn csv_parses_with_one_row_per_holder() {
    let w = world().await;
    w.holders().await;
    let out = access(&w, &["list", "--output", "csv"]);
    crate::support::assert_exit(&out, 0);
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        header,
        [
            "user",
            "user_display_name",
            "user_id",
            "account_id",
            "role_name",
            "role_arn",
            "role_display_name",
            "via",
            "role_enabled"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3);
    let carol = rows.iter().find(|r| &r[0] == "carol@contoso.com").unwrap();
    assert_eq!(&carol[2], CAROL);
    assert_eq!(&carol[5], &format!("arn:aws:iam::{MANAGEMENT}:role/Admin"));
    assert_eq!(
        &carol[7],
        &format!("group AWS {MANAGEMENT} - Admin > group Platform")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn grant_then_list_shows_the_holder_and_revoke_removes_it() {
    let w = world().await;
    let role = format!("{MANAGEMENT}:ReadOnly");
    let alice = [
        "list",
        "--principal",
        "alice@contoso.com",
        "--output",
        "json",
    ];
    let before = w.writes().await;

    let dry = access(
        &w,
        &[
            "grant",
            "--role",
            &role,
            "--user",
            "alice@contoso.com",
            "--dry-run",
        ],
    );
    crate::support::assert_exit(&dry, 0);
    assert_eq!(
        stdout(&dry),
        format!(
            "would add alice@contoso.com to group AWS {MANAGEMENT} - ReadOnly (holders of role AWS {MANAGEMENT} - ReadOnly)\n"
        )
    );
    assert_eq!(w.writes().await, before, "a dry run writes nothing");

    let granted = access(
        &w,
        &["grant", "--role", &role, "--user", "alice@contoso.com"],
    );
    crate::support::assert_exit(&granted, 0);
    assert!(
        stdout(&granted).starts_with("added alice@contoso.com to group"),
        "{}",
        stdout(&granted)
    );
    assert_eq!(
        holders(&access(
            &w,
            &[
                "list",
                "--principal",
                "alice@contoso.com",
                "--output",
                "json"
            ]
        )),
        vec![row(
            &role,
            "alice",
            &format!("group AWS {MANAGEMENT} - ReadOnly"),
            true
        )]
    );

    let writes = w.writes().await;
    let again = access(
        &w,
        &[
            "grant",
            "--role",
            &format!("AWS {MANAGEMENT} - ReadOnly"),
            "--user",
            "alice@contoso.com",
        ],
    );
    crate::support::assert_exit(&again, 0);
    assert!(
        stdout(&again).contains("already a member"),
        "{}",
        stdout(&again)
    );
    assert_eq!(
        w.writes().await,
        writes,
        "granting what is granted writes nothing"
    );

    let revoked = access(
        &w,
        &["revoke", "--role", &role, "--user", "alice@contoso.com"],
    );
    crate::support::assert_exit(&revoked, 0);
    assert!(
        stdout(&revoked).starts_with("removed alice@contoso.com from group"),
        "{}",
        stdout(&revoked)
    );
    assert!(
        holders(&access(
            &w,
            &[
                "list",
                "--principal",
                "alice@contoso.com",
                "--output",
                "json"
            ]
        ))
        .is_empty()
    );

    // Directly, by ARN, for the member account's role.
    let dev = format!("arn:aws:iam::{}:role/Dev", w.member);
    let direct = access(
        &w,
        &[
            "grant",
            "--role",
            &dev,
            "--user",
            "alice@contoso.com",
            "--direct",
        ],
    );
    crate::support::assert_exit(&direct, 0);
    assert_eq!(
        holders(&access(&w, &alice)),
        vec![row(&format!("{}:Dev", w.member), "alice", "direct", true)]
    );
    let undone = access(
        &w,
        &[
            "revoke",
            "--role",
            &dev,
            "--user",
            "alice@contoso.com",
            "--direct",
        ],
    );
    crate::support::assert_exit(&undone, 0);
    assert!(holders(&access(&w, &alice)).is_empty());

    // A group, nested into the synced group.
    let platform = access(&w, &["grant", "--role", &role, "--group", "Platform"]);
    crate::support::assert_exit(&platform, 0);
    assert_eq!(
        holders(&access(&w, &["list", "--role", &role, "--output", "json"])),
        vec![row(
            &role,
            "carol",
            &format!("group AWS {MANAGEMENT} - ReadOnly > group Platform"),
            true
        )]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_names_and_grants_that_would_not_grant_exit_2_and_write_nothing() {
    let w = world().await;
    let before = w.writes().await;
    let cases: [(&[&str], &str); 4] = [
        (
            &[
                "grant",
                "--role",
                &format!("AWS {MANAGEMENT} - Admn"),
                "--user",
                "alice@contoso.com",
            ],
            &format!(
                "error: no synced role is named \"AWS {MANAGEMENT} - Admn\"; did you mean \"AWS {MANAGEMENT} - Admin\""
            ),
        ),
        (
            &[
                "grant",
                "--role",
                &format!("{MANAGEMENT}:Admin"),
                "--user",
                "alice@contso.com",
            ],
            "error: no user is named \"alice@contso.com\"; did you mean \"alice@contoso.com\"?",
        ),
        (
            &[
                "revoke",
                "--role",
                &format!("{MANAGEMENT}:Admin"),
                "--group",
                "Platfrom",
            ],
            "error: no group is named \"Platfrom\"; did you mean \"Platform\"?",
        ),
        (
            &[
                "grant",
                "--role",
                "111111111111:Admin",
                "--user",
                "alice@contoso.com",
            ],
            "error: role arn:aws:iam::111111111111:role/Admin,arn:aws:iam::111111111111:saml-provider/AzureAD is disabled",
        ),
    ];
    // (The emulator's seed names its roles by their value.)
    for (args, expected) in &cases {
        let out = access(&w, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).starts_with(expected),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(stdout(&out).is_empty());
    }
    assert_eq!(w.writes().await, before, "nothing written");

    let out = access(&w, &["grant", "--role", &format!("{MANAGEMENT}:Admin")]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "one of --user and --group is required"
    );
}

/// The Graph client's membership calls against the emulator's rules: adding a member twice is
/// Graph's `400` (the client reads it as unchanged), removing a non-member is a `404` (same),
/// members and transitive members page, and a user is found by UPN or not at all.
#[tokio::test(flavor = "multi_thread")]
async fn membership_calls_follow_graphs_rules_and_pages() {
    use fedsync::graph::{Credential, GraphClient, GraphSettings, RetryPolicy};
    use secrecy::SecretString;

    let mut seed = seed();
    let users: Vec<Value> = (1..=5)
        .map(|i| {
            user(
                &format!("00000000-0000-4000-8000-00000000000{i}"),
                &format!("user{i}"),
            )
        })
        .collect();
    seed["users"] = Value::Array(users);
    seed["groups"].as_array_mut().unwrap().push(
        json!({"id": PLATFORM, "displayName": "Platform", "mailNickname": "platform",
                     "members": ["00000000-0000-4000-8000-000000000005"]}),
    );
    let emu = start(seed).await;
    let graph = GraphClient::new(
        GraphSettings {
            tenant_id: TENANT.into(),
            client_id: CLIENT_ID.into(),
            credential: Credential::Secret(SecretString::from(CLIENT_SECRET)),
            authority_url: emu.base.clone(),
            graph_url: emu.base.clone(),
        },
        RetryPolicy::default(),
    )
    .unwrap();
    use fedsync::model::{Member, MembershipChange};
    let group_text = crate::graph_emulator::G_ADMIN;
    let group = &crate::support::oid(group_text);
    for i in 1..=4 {
        let id = format!("00000000-0000-4000-8000-00000000000{i}");
        assert_eq!(
            graph
                .add_member(group, &crate::support::oid(&id))
                .await
                .unwrap(),
            MembershipChange::Changed
        );
    }
    let again = emu
        .graph(
            reqwest::Method::POST,
            &format!("/v1.0/groups/{group_text}/members/$ref"),
            Some(json!({"@odata.id": format!("{}/v1.0/directoryObjects/00000000-0000-4000-8000-000000000001", emu.base)})),
        )
        .await;
    assert_eq!(again.status, 400);
    assert_eq!(
        again.message(),
        "One or more added object references already exist for the following modified properties: 'members'."
    );
    assert_eq!(
        graph
            .add_member(
                group,
                &crate::support::oid("00000000-0000-4000-8000-000000000001")
            )
            .await
            .unwrap(),
        MembershipChange::Unchanged
    );
    assert_eq!(
        graph
            .add_member(group, &crate::support::oid(PLATFORM))
            .await
            .unwrap(),
        MembershipChange::Changed
    );

    let page = emu.get(&format!("/v1.0/groups/{group_text}/members")).await;
    assert_eq!(
        page.body["value"].as_array().unwrap().len(),
        3,
        "the seed's page size"
    );
    assert!(page.body["@odata.nextLink"].is_string());
    assert_eq!(
        page.body["value"][0]["@odata.type"],
        "#microsoft.graph.user"
    );
    let members = graph.members(group).await.unwrap();
    assert_eq!(members.len(), 5, "four users and Platform, over two pages");
    assert!(matches!(&members[4], Member::Group(g) if g.display_name == "Platform"));
    let transitive = graph.transitive_members(group).await.unwrap();
    assert_eq!(transitive.len(), 6, "and user5 inside Platform");

    assert_eq!(
        graph
            .remove_member(
                group,
                &crate::support::oid("00000000-0000-4000-8000-000000000001")
            )
            .await
            .unwrap(),
        MembershipChange::Changed
    );
    let gone = emu
        .graph(
            reqwest::Method::DELETE,
            &format!("/v1.0/groups/{group_text}/members/00000000-0000-4000-8000-000000000001/$ref"),
            None,
        )
        .await;
    assert_eq!(gone.status, 404);
    assert_eq!(
        graph
            .remove_member(
                group,
                &crate::support::oid("00000000-0000-4000-8000-000000000001")
            )
            .await
            .unwrap(),
        MembershipChange::Unchanged
    );

    let found = graph.user("USER2@contoso.com").await.unwrap().unwrap();
    assert_eq!(found.id, "00000000-0000-4000-8000-000000000002");
    assert_eq!(graph.user("nobody@contoso.com").await.unwrap(), None);
    let near: Vec<String> = graph
        .users_starting_with("user")
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.user_principal_name)
        .collect();
    assert_eq!(near.len(), 5, "paged past the page size of 3");
}
