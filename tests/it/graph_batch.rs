//! `$batch`: the Graph emulator's `POST /v1.0/$batch` (at most 20 requests, a status per
//! request) and `GraphClient::create_groups`, which creates groups 20 to a batch, sends
//! throttled items again after the wait Graph asked for, stops on a refused item with its
//! Graph code, and never sends again a batch or an item whose outcome is unknown (a late answer,
//! a 5xx): it looks the groups up by name instead.

use std::sync::Arc;
use std::time::Duration;

use crate::support::sleep::Recorder;
use fedsync::graph::{Credential, GraphClient, GraphSettings, RetryPolicy};
use fedsync::model::NewGroup;
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::graph_emulator::{CLIENT_ID, CLIENT_SECRET, CLIENT_SP, Running, TENANT, seed, start};

/// Records each wait instead of waiting; gives up after four attempts.
fn client(emu: &Running) -> (GraphClient, Arc<Recorder>) {
    client_with(emu, RetryPolicy::default().request_timeout)
}

/// A client that gives up on an answer after one second, recording its waits.
fn impatient_client(emu: &Running) -> (GraphClient, Arc<Recorder>) {
    client_with(emu, Duration::from_secs(1))
}

/// A client of the emulator that waits `request_timeout` for each answer and records its waits.
fn client_with(emu: &Running, request_timeout: Duration) -> (GraphClient, Arc<Recorder>) {
    let settings = GraphSettings {
        tenant_id: TENANT.to_owned(),
        client_id: CLIENT_ID.to_owned(),
        credential: Credential::Secret(SecretString::from(CLIENT_SECRET)),
        authority_url: emu.base.clone(),
        graph_url: emu.base.clone(),
    };
    let policy = RetryPolicy {
        max_attempts: 4,
        request_timeout,
        ..RetryPolicy::default()
    };
    let recorder = Arc::new(Recorder::default());
    let client = GraphClient::new(settings, policy)
        .unwrap()
        .with_sleeper(recorder.clone());
    (client, recorder)
}

fn new_groups(n: usize) -> Vec<NewGroup> {
    (0..n)
        .map(|i| NewGroup {
            display_name: format!("AWS 444444444444 - Batch{i:02}"),
            mail_nickname: format!("AWS-444444444444-Batch{i:02}"),
            owner: None,
        })
        .collect()
}

/// Display names of the emulator's groups that start with `prefix`.
async fn names_in_emulator(emu: &Running, prefix: &str) -> Vec<String> {
    let mut names: Vec<String> = emu.state().await["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|g| g["displayName"].as_str())
        .filter(|n| n.starts_with(prefix))
        .map(str::to_owned)
        .collect();
    names.sort();
    names
}

fn batch_posts(state: &Value) -> usize {
    state["writes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["path"] == "/v1.0/$batch")
        .count()
}

#[tokio::test]
async fn create_groups_sends_twenty_to_a_batch_and_returns_them_in_order() {
    let emu = start(seed()).await;
    let (graph, waits) = client(&emu);
    let wanted = new_groups(45);
    let created = graph.create_groups(&wanted).await.expect("created");

    let names: Vec<&str> = created.iter().map(|g| g.display_name.as_str()).collect();
    let expected: Vec<&str> = wanted.iter().map(|g| g.display_name.as_str()).collect();
    assert_eq!(names, expected);
    assert!(created.iter().all(|g| !g.id.as_str().is_empty()));
    assert_eq!(
        names_in_emulator(&emu, "AWS 444444444444 - ").await.len(),
        45
    );
    assert_eq!(batch_posts(&emu.state().await), 3, "20 + 20 + 5");
    assert!(waits.waits().is_empty());
}

#[tokio::test]
async fn a_throttled_item_is_sent_again_after_the_wait_it_asked_for() {
    let emu = start(seed()).await;
    let (graph, waits) = client(&emu);
    // Inside the batch, the 4th and 5th group creations are throttled once each.
    emu.set_faults(
        json!([{"method": "POST", "path_regex": "^/v1.0/groups$", "after": 3, "times": 2,
        "action": {"status": 429, "retry_after_secs": 7}}]),
    )
    .await;
    let created = graph
        .create_groups(&new_groups(10))
        .await
        .expect("ridden out");

    assert_eq!(created.len(), 10);
    let expected: Vec<String> = new_groups(10).into_iter().map(|g| g.display_name).collect();
    assert_eq!(
        names_in_emulator(&emu, "AWS 444444444444 - ").await,
        expected,
        "each group exactly once"
    );
    assert_eq!(waits.waits(), [Duration::from_secs(7)]);
    assert_eq!(
        batch_posts(&emu.state().await),
        2,
        "the throttled items go again together"
    );
}

#[tokio::test]
async fn a_refused_item_stops_with_its_graph_code_and_names_the_group() {
    let emu = start(seed()).await;
    let (graph, _) = client(&emu);
    let mut groups = new_groups(3);
    // The seed already has a group with this mailNickname.
    groups[1].mail_nickname = "OBriens-team".into();
    let err = graph.create_groups(&groups).await.unwrap_err();
    assert_eq!(err.code(), Some("Request_BadRequest"));
    let text = err.to_string();
    assert!(
        text.contains("AWS 444444444444 - Batch01") && text.contains("mailNickname"),
        "{text}"
    );
}

async fn batch(emu: &Running, requests: Value) -> crate::graph_emulator::Reply {
    emu.graph(
        Method::POST,
        "/v1.0/$batch",
        Some(json!({ "requests": requests })),
    )
    .await
}

#[tokio::test]
async fn the_emulator_answers_each_request_of_a_batch_with_its_own_status() {
    let emu = start(seed()).await;
    let reply = batch(
        &emu,
        json!([
            {"id": "a", "method": "POST", "url": "/groups", "headers": {"Content-Type": "application/json"},
             "body": {"displayName": "Batch ok", "mailEnabled": false, "securityEnabled": true, "mailNickname": "batch-ok"}},
            {"id": "b", "method": "GET", "url": "/groups/nope"},
            {"id": "c", "method": "GET", "url": "groups?$filter=displayName%20eq%20'Batch%20ok'&$select=id,displayName"}
        ]),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let responses = reply.body["responses"].as_array().unwrap();
    let by_id = |id: &str| responses.iter().find(|r| r["id"] == id).unwrap().clone();
    assert_eq!(by_id("a")["status"], 201);
    assert_eq!(by_id("a")["body"]["displayName"], "Batch ok");
    assert_eq!(by_id("b")["status"], 404);
    assert_eq!(
        by_id("c")["body"]["value"][0]["displayName"],
        "Batch ok",
        "a later request sees an earlier one's write"
    );
}

#[tokio::test]
async fn the_emulator_refuses_a_batch_graph_would_refuse() {
    let emu = start(seed()).await;
    let get = |i: usize| json!({"id": i.to_string(), "method": "GET", "url": "/groups"});
    let too_many: Vec<Value> = (0..21).map(get).collect();
    let reply = batch(&emu, Value::from(too_many)).await;
    assert_eq!(reply.status, 400);
    assert!(reply.message().contains("maximum of 20"), "{}", reply.body);

    let reply = batch(&emu, json!([get(1), get(1)])).await;
    assert_eq!(reply.status, 400, "duplicate ids");

    let reply = batch(
        &emu,
        json!([{"id": "1", "method": "POST", "url": "/$batch", "headers": {"Content-Type": "application/json"}, "body": {"requests": []}}]),
    )
    .await;
    assert_eq!(reply.status, 400, "nested batch");

    let reply = batch(
        &emu,
        json!([{"id": "1", "method": "POST", "url": "/groups", "body": {"displayName": "x"}}]),
    )
    .await;
    assert_eq!(reply.status, 400, "a body without Content-Type");
    assert_eq!(
        batch_posts(&emu.state().await),
        4,
        "refused batches are logged"
    );
}

#[tokio::test]
async fn a_batch_needs_a_token_like_any_graph_request() {
    let emu = start(seed()).await;
    let reply = emu
        .http
        .post(emu.url("/v1.0/$batch"))
        .json(&json!({"requests": [{"id": "1", "method": "GET", "url": "/groups"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 401);
}

fn owned_groups(n: usize) -> Vec<NewGroup> {
    new_groups(n)
        .into_iter()
        .map(|g| NewGroup {
            owner: Some(CLIENT_SP.parse().unwrap()),
            ..g
        })
        .collect()
}

#[tokio::test]
async fn a_batch_answered_too_late_is_never_sent_again_and_its_groups_are_found_by_name() {
    let emu = start(seed()).await;
    let (graph, waits) = impatient_client(&emu);
    // Graph creates the 15 groups but answers after the client gave up.
    emu.set_faults(
        json!([{"method": "POST", "path_regex": "^/v1.0/\\$batch$", "times": 1,
        "action": {"answer_after_ms": 2500}}]),
    )
    .await;
    let wanted = owned_groups(15);
    let created = graph.create_groups(&wanted).await.expect("found by name");

    let names: Vec<&str> = created.iter().map(|g| g.display_name.as_str()).collect();
    let expected: Vec<&str> = wanted.iter().map(|g| g.display_name.as_str()).collect();
    assert_eq!(names, expected);
    let in_emulator = names_in_emulator(&emu, "AWS 444444444444 - ").await;
    assert_eq!(
        in_emulator.len(),
        15,
        "each group exactly once: {in_emulator:?}"
    );
    assert_eq!(
        batch_posts(&emu.state().await),
        1,
        "the batch was sent once"
    );
    assert_eq!(
        waits.waits(),
        [Duration::from_secs(2)],
        "one lookup, after a wait"
    );
}

#[tokio::test]
async fn an_item_answered_with_a_5xx_is_not_sent_again_and_the_call_says_which_group() {
    let emu = start(seed()).await;
    let (graph, _) = client(&emu);
    // Inside the batch, the third group creation fails with a 503 (here: not carried out).
    emu.set_faults(
        json!([{"method": "POST", "path_regex": "^/v1.0/groups$", "after": 2,
        "times": 1, "action": {"status": 503}}]),
    )
    .await;
    let err = graph.create_groups(&owned_groups(5)).await.unwrap_err();
    let text = fedsync::error_text::chain(&err);
    assert!(
        matches!(err, fedsync::graph::GraphError::OutcomeUnknown { .. }),
        "{text}"
    );
    assert!(text.contains("AWS 444444444444 - Batch02"), "{text}");
    assert!(text.contains("does not send it again"), "{text}");
    assert_eq!(
        names_in_emulator(&emu, "AWS 444444444444 - ").await,
        [
            "AWS 444444444444 - Batch00",
            "AWS 444444444444 - Batch01",
            "AWS 444444444444 - Batch03",
            "AWS 444444444444 - Batch04"
        ]
    );
    assert_eq!(batch_posts(&emu.state().await), 1);

    // The next call creates only the missing one.
    emu.set_faults(json!([])).await;
    let missing: Vec<NewGroup> = owned_groups(5).into_iter().skip(2).take(1).collect();
    graph.create_groups(&missing).await.unwrap();
    assert_eq!(
        names_in_emulator(&emu, "AWS 444444444444 - ").await.len(),
        5
    );
}
