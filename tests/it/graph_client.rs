//! The Graph client (`fedsync::graph`) against the Graph emulator: both ways to authenticate,
//! token errors, paging, throttling (with the waits it asked for), two-phase role removal, each
//! rule's error surfaced with Graph's code and request id, groups and assignments.

use std::sync::Arc;
use std::time::Duration;

use fedsync::graph::{
    CertificateCredential, Credential, GraphClient, GraphError, GraphSettings, RetryPolicy,
};
use fedsync::model::{AppRole, AppRoleId, AwsRoleValue, NewGroup};

use crate::support::oid;
use crate::support::sleep::Recorder;
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::graph_emulator::{
    ADMIN, CERT_CLIENT_ID, CERT_CLIENT_SP, CLIENT_ID, CLIENT_SECRET, CLIENT_SP, G_ADMIN, G_OBRIEN,
    MSIAM, OLD, Running, SP, TENANT, seed, start, test_cert,
};

/// Records each wait instead of waiting.
fn policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(1),
        max_retry_after: Duration::from_secs(60),
        request_timeout: Duration::from_secs(10),
    }
}

fn client_as(
    emu: &Running,
    client_id: &str,
    credential: Credential,
) -> (GraphClient, Arc<Recorder>) {
    let settings = GraphSettings {
        tenant_id: TENANT.to_owned(),
        client_id: client_id.to_owned(),
        credential,
        authority_url: emu.base.clone(),
        graph_url: emu.base.clone(),
    };
    let recorder = Arc::new(Recorder::default());
    let client = GraphClient::new(settings, policy())
        .unwrap()
        .with_sleeper(recorder.clone());
    (client, recorder)
}

fn client(emu: &Running) -> (GraphClient, Arc<Recorder>) {
    client_as(
        emu,
        CLIENT_ID,
        Credential::Secret(SecretString::from(CLIENT_SECRET)),
    )
}

fn writes(state: &Value) -> Vec<String> {
    state["writes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            format!(
                "{} {} {}",
                w["method"].as_str().unwrap(),
                w["path"].as_str().unwrap(),
                w["status"]
            )
        })
        .collect()
}

#[tokio::test]
async fn a_client_secret_gets_the_service_principal_and_its_roles() {
    let emu = start(seed()).await;
    let (graph, _) = client(&emu);
    let (raw, sp) = graph.service_principal(SP).await.unwrap();
    assert_eq!(sp.id, SP);
    let ids: Vec<String> = sp.app_roles.iter().map(|r| r.id.to_string()).collect();
    assert_eq!(ids, [MSIAM, ADMIN, OLD]);
    assert_eq!(
        raw["appRoles"][0]["origin"], "Application",
        "the raw JSON is what Graph sent"
    );
}

#[tokio::test]
async fn a_certificate_signs_a_client_assertion_that_entra_accepts() {
    let emu = start(seed()).await;
    let cert = test_cert();
    let credential =
        CertificateCredential::from_pem(&cert.cert_pem, &SecretString::from(cert.key_pem.clone()))
            .unwrap();
    assert_eq!(
        credential.thumbprint(),
        cert.thumbprint,
        "x5t#S256 is the SHA-256 of the DER"
    );
    let (graph, _) = client_as(&emu, CERT_CLIENT_ID, Credential::Certificate(credential));
    let (_, sp) = graph.service_principal(SP).await.unwrap();
    assert_eq!(sp.app_roles.len(), 3);
    // A second call reuses the token: the assertion's jti is never replayed.
    graph.service_principal(SP).await.unwrap();
}

#[tokio::test]
async fn token_errors_name_the_aadsts_code_in_one_line() {
    let emu = start(seed()).await;
    let (wrong, _) = client_as(
        &emu,
        CLIENT_ID,
        Credential::Secret(SecretString::from("not-the-secret")),
    );
    let err = wrong.service_principal(SP).await.unwrap_err().to_string();
    assert!(
        err.contains("AADSTS7000215") && err.contains("invalid_client"),
        "{err}"
    );
    assert!(
        !err.contains('\n') && !err.contains("not-the-secret"),
        "{err}"
    );

    let (stranger, _) = client_as(
        &emu,
        "00000000-0000-4000-8000-000000000000",
        Credential::Secret(SecretString::from("x")),
    );
    let err = stranger
        .service_principal(SP)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("AADSTS700016"), "{err}");

    let settings = GraphSettings {
        tenant_id: "11111111-2222-4333-8444-555555555555".into(),
        client_id: CLIENT_ID.into(),
        credential: Credential::Secret(SecretString::from(CLIENT_SECRET)),
        authority_url: emu.base.clone(),
        graph_url: emu.base.clone(),
    };
    let err = GraphClient::new(settings, policy())
        .unwrap()
        .service_principal(SP)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("AADSTS90002"), "{err}");
}

#[tokio::test]
async fn an_expired_token_is_renewed_once_and_the_call_goes_through() {
    let emu = start(seed()).await;
    let (graph, waits) = client(&emu);
    graph.service_principal(SP).await.unwrap();
    let expired = emu
        .control(reqwest::Method::POST, "/_emulator/expire-tokens", None)
        .await;
    assert!(expired.body["expired"].as_u64().unwrap() >= 1);
    graph
        .service_principal(SP)
        .await
        .expect("renewed after the 401");
    assert!(waits.waits().is_empty(), "a renewal is not a retry");
}

#[tokio::test]
async fn collections_are_followed_across_pages() {
    let emu = start(seed()).await; // page size 3
    let (graph, _) = client(&emu);
    let groups = graph
        .groups_starting_with("AWS 222222222222 - ", true)
        .await
        .unwrap();
    let mut names: Vec<&str> = groups.iter().map(|g| g.display_name.as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        (1..=5)
            .map(|i| format!("AWS 222222222222 - Role{i}"))
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn a_run_reads_the_groups_the_sync_app_owns_and_the_others_only_of_names_it_does_not_hold() {
    use fedsync::directory::{CurrentQuery, Directory, OwnerQuery};
    let name = |i: usize| format!("AWS 999999999999 - R{i}");
    let id = |i: usize| format!("9a0a0a0a-0000-4000-8000-0000000000{i:02}");
    let group = |i: usize, n: usize, owners: &[&str]| {
        json!({"id": id(i), "displayName": name(n), "mailNickname": format!("r{i}"),
               "owners": owners})
    };
    let mut s = seed();
    s["groups"] = json!([
        group(0, 0, &[CLIENT_SP]),
        // Another owner beside the sync app: still the sync app's.
        group(1, 1, &[CERT_CLIENT_SP, CLIENT_SP]),
        // Someone else's, of a name the sync app holds no group of.
        group(2, 2, &[CERT_CLIENT_SP]),
        // Of a name the sync app holds: not needed, not returned.
        group(3, 3, &[CLIENT_SP]),
        group(4, 3, &[CERT_CLIENT_SP]),
        // Not a name asked about.
        group(5, 42, &[CLIENT_SP]),
    ]);
    s["assignments"] = json!([]);
    let emu = start(s).await;
    let (graph, _) = client(&emu);
    // Ten names: more than a few unheld ones, so the others come from one listing by prefix.
    for names in [
        (0..10).map(name).collect::<Vec<_>>(),
        vec![name(2), name(3)],
    ] {
        let query = CurrentQuery {
            service_principal_id: SP.into(),
            group_names: names.clone(),
            owner: OwnerQuery::SyncApp {
                client_id: CLIENT_ID.into(),
            },
            assignments: false,
            known_groups: None,
        };
        let current = graph.read_current(&query).await.unwrap();
        assert_eq!(current.group_owner.as_ref().unwrap().as_str(), CLIENT_SP);
        let mut found: Vec<(String, String, Vec<String>)> = current
            .groups
            .iter()
            .map(|g| {
                let owners = g.owners.clone().unwrap_or_default();
                (
                    g.id.to_string(),
                    g.display_name.clone(),
                    owners.iter().map(ToString::to_string).collect(),
                )
            })
            .collect();
        found.sort();
        let mut expected = vec![
            (id(2), name(2), vec![CERT_CLIENT_SP.to_owned()]),
            (id(3), name(3), vec![CLIENT_SP.to_owned()]),
        ];
        if names.len() == 10 {
            expected.extend([
                (id(0), name(0), vec![CLIENT_SP.to_owned()]),
                (id(1), name(1), vec![CLIENT_SP.to_owned()]),
            ]);
        }
        expected.sort();
        assert_eq!(found, expected, "{names:?}");
        assert!(current.assignments.is_empty(), "not asked for");
    }
}

#[tokio::test]
async fn a_group_name_with_quotes_and_symbols_is_found_exactly() {
    let emu = start(seed()).await;
    let (graph, _) = client(&emu);
    let found = graph.groups_named("O'Brien's team").await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, G_OBRIEN);
    assert_eq!(graph.groups_named("R&D + ops").await.unwrap().len(), 1);
    assert!(graph.groups_named("O'Brien").await.unwrap().is_empty());
}

#[tokio::test]
async fn throttling_waits_what_retry_after_says_then_succeeds() {
    let emu = start(seed()).await;
    let (graph, waits) = client(&emu);
    emu.set_faults(json!([{"path_regex": "/servicePrincipals/", "times": 2, "action": {"status": 429, "retry_after_secs": 3}}]))
        .await;
    graph.service_principal(SP).await.expect("ridden out");
    assert_eq!(
        waits.waits(),
        [Duration::from_secs(3), Duration::from_secs(3)]
    );
}

#[tokio::test]
async fn transient_errors_back_off_and_the_ceiling_surfaces_the_last_error() {
    let emu = start(seed()).await;
    let (graph, waits) = client(&emu);
    emu.set_faults(json!([{"path_regex": "/groups", "times": 1, "action": {"status": 503}}]))
        .await;
    graph
        .groups_named("R&D + ops")
        .await
        .expect("one 503 is ridden out");
    assert_eq!(waits.waits().len(), 1);
    assert!(waits.waits()[0] <= Duration::from_millis(100));

    emu.set_faults(json!([{"path_regex": "/groups", "times": "forever", "action": {"status": 429, "retry_after_secs": 1}}]))
        .await;
    let err = graph.groups_named("R&D + ops").await.unwrap_err();
    assert_eq!(err.code(), Some("TooManyRequests"));
    assert!(err.to_string().contains("after 4 attempts"), "{err}");
    assert!(err.to_string().contains("request-id "), "{err}");
}

fn aws_role(name: &str) -> AppRole {
    let value: AwsRoleValue = format!(
        "arn:aws:iam::333333333333:role/{name},arn:aws:iam::333333333333:saml-provider/AzureAD"
    )
    .parse()
    .unwrap();
    AppRole::new_user_role(&value, format!("AWS 333333333333 - {name}"), "test".into())
}

#[tokio::test]
async fn removing_a_role_takes_two_patches_and_the_refusal_says_why() {
    let emu = start(seed()).await;
    let (graph, _) = client(&emu);
    let (_, sp) = graph.service_principal(SP).await.unwrap();
    let admin: AppRoleId = ADMIN.parse().unwrap();

    // Dropping the enabled Admin role in one go is refused, with Graph's code and request id.
    let without_admin: Vec<AppRole> = sp
        .app_roles
        .iter()
        .filter(|r| r.id != admin)
        .cloned()
        .collect();
    let err = graph.set_app_roles(SP, &without_admin).await.unwrap_err();
    assert_eq!(err.code(), Some("CannotDeleteOrUpdateEnabledEntitlement"));
    let GraphError::Api(api) = &err else {
        panic!("{err}")
    };
    assert_eq!(api.status, 400);
    assert_ne!(api.request_id, "none");

    // Disable first, then drop: both accepted, and a new role rides along in the first PATCH.
    let mut disabled = sp.app_roles.clone();
    disabled
        .iter_mut()
        .filter(|r| r.id == admin)
        .for_each(|r| r.is_enabled = false);
    disabled.push(aws_role("New"));
    graph.set_app_roles(SP, &disabled).await.unwrap();
    let dropped: Vec<AppRole> = disabled.iter().filter(|r| r.id != admin).cloned().collect();
    graph.set_app_roles(SP, &dropped).await.unwrap();
    let (_, after) = graph.service_principal(SP).await.unwrap();
    // Graph fills in the read-only `origin` of a role it did not have before.
    let mut expected = dropped.clone();
    expected.last_mut().unwrap().origin = Some(Some("ServicePrincipal".into()));
    assert_eq!(after.app_roles, expected, "read back equals what was sent");
}

#[tokio::test]
async fn each_manifest_rule_is_surfaced_with_its_code() {
    let emu = start(seed()).await;
    let (graph, _) = client(&emu);
    let (_, sp) = graph.service_principal(SP).await.unwrap();
    let with = |extra: AppRole| {
        let mut roles = sp.app_roles.clone();
        roles.push(extra);
        roles
    };
    let mut duplicate_value = aws_role("Dup");
    duplicate_value.value = sp.app_roles[1].value.clone();
    let mut duplicate_id = aws_role("Other");
    duplicate_id.id = sp.app_roles[1].id;
    let mut spaced = aws_role("Spaced");
    spaced.value = Some(Some("has space".into()));
    let mut with_origin = aws_role("Origin");
    with_origin.origin = Some(Some("ServicePrincipal".into()));
    for (roles, code) in [
        (with(duplicate_value), "DuplicateValue"),
        (with(duplicate_id), "DuplicateValue"),
        (with(spaced), "InvalidValue"),
    ] {
        let err = graph.set_app_roles(SP, &roles).await.unwrap_err();
        assert_eq!(err.code(), Some(code), "{err}");
    }
    assert!(
        graph.set_app_roles(SP, &with(with_origin)).await.is_err(),
        "origin on a new role"
    );

    let many: Vec<AppRole> = sp
        .app_roles
        .iter()
        .cloned()
        .chain((0..1200).map(|i| aws_role(&format!("R{i}"))))
        .collect();
    let err = graph.set_app_roles(SP, &many).await.unwrap_err();
    assert_eq!(err.code(), Some("Directory_ResourceSizeExceeded"), "{err}");

    let state = emu.state().await;
    assert!(
        writes(&state).iter().all(|w| !w.ends_with(" 204")),
        "nothing was stored: {:?}",
        writes(&state)
    );
}

#[tokio::test]
async fn groups_are_created_with_an_owner_and_nickname_rules_are_enforced() {
    let emu = start(seed()).await;
    let (graph, _) = client(&emu);
    let group = NewGroup {
        display_name: "AWS 333333333333 - New".into(),
        mail_nickname: "AWS-333333333333-New".into(),
        owner: Some(oid(CLIENT_SP)),
    };
    let created = graph.create_group(&group).await.unwrap();
    assert_eq!(created.display_name, group.display_name);
    let state = emu.state().await;
    let stored = state["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == created.id.as_str())
        .unwrap()
        .clone();
    assert_eq!(stored["owners"], json!([CLIENT_SP]));
    let found = graph.groups_named("AWS 333333333333 - New").await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, created.id);
    assert_eq!(
        found[0].owners,
        Some(vec![oid(CLIENT_SP)]),
        "listed with its owners"
    );

    let bad = NewGroup {
        mail_nickname: "has space".into(),
        ..group
    };
    let err = graph.create_group(&bad).await.unwrap_err();
    assert_eq!(
        err.code().map(|c| c.starts_with("Request_BadRequest")),
        Some(true),
        "{err}"
    );
    assert!(err.to_string().contains("mailNickname"), "{err}");
}

#[tokio::test]
async fn assignments_are_listed_made_and_removed() {
    let emu = start(seed()).await;
    let (graph, _) = client(&emu);
    let before = graph.assignments(SP).await.unwrap();
    assert_eq!(before.len(), 1);
    assert_eq!(before[0].principal_id, G_ADMIN);

    let old: AppRoleId = OLD.parse().unwrap();
    let err = graph.assign(SP, &oid(G_OBRIEN), old).await.unwrap_err();
    assert_eq!(
        err.code(),
        Some("Request_BadRequest"),
        "a disabled role takes no assignment: {err}"
    );

    let admin: AppRoleId = ADMIN.parse().unwrap();
    let made = graph.assign(SP, &oid(G_OBRIEN), admin).await.unwrap();
    assert_eq!(made.app_role_id, admin);
    assert_eq!(graph.assignments(SP).await.unwrap().len(), 2);
    graph.unassign(SP, &made.id).await.unwrap();
    assert_eq!(graph.assignments(SP).await.unwrap(), before);
}

#[tokio::test]
async fn a_post_is_sent_again_only_when_graph_did_not_carry_it_out() {
    let emu = start(seed()).await;
    let (graph, waits) = client(&emu);
    let admin: AppRoleId = ADMIN.parse().unwrap();
    let posts = |state: &Value| {
        state["writes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|w| w["method"] == "POST")
            .count()
    };
    // Throttled: Graph did nothing, so the assignment goes again after the wait.
    emu.set_faults(
        json!([{"method": "POST", "path_regex": "/appRoleAssignedTo$", "times": 1,
        "action": {"status": 429, "retry_after_secs": 2}}]),
    )
    .await;
    let made = graph.assign(SP, &oid(G_OBRIEN), admin).await.unwrap();
    assert_eq!(waits.waits(), [Duration::from_secs(2)]);
    assert_eq!(posts(&emu.state().await), 2);
    graph.unassign(SP, &made.id).await.unwrap();

    // A 5xx says nothing about whether it was made: never sent twice.
    emu.set_faults(
        json!([{"method": "POST", "path_regex": "/appRoleAssignedTo$", "times": 1,
        "action": {"status": 503}}]),
    )
    .await;
    let err = graph.assign(SP, &oid(G_OBRIEN), admin).await.unwrap_err();
    assert!(matches!(err, GraphError::OutcomeUnknown { .. }), "{err}");
    let text = fedsync::error_text::chain(&err);
    assert!(text.contains("HTTP 503"), "{text}");
    assert_eq!(posts(&emu.state().await), 3, "sent once more, not twice");
    assert_eq!(waits.waits().len(), 1, "no retry wait");
}
