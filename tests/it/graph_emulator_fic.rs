//! The Graph emulator's workload identity federation (issue 19): federated identity
//! credentials on an app registration through Graph (`/applications/{id}` and
//! `applications(appId='…')`), held to Entra's rules; and a JWT from another issuer accepted at
//! the token endpoint only as Entra accepts it — signed by that issuer's key (seeded, or read
//! from its OpenID discovery document on loopback), unexpired, its `iss`, `sub` and `aud` exactly
//! those of one credential — each refusal with Entra's AADSTS code.

use std::sync::OnceLock;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::{Value, json};

use crate::graph_emulator::{Reply, Running, TENANT, seed, start};

const FED_CLIENT: &str = "fed00000-1111-4222-8333-444455556666";
const FED_CLIENT_SP: &str = "fed00000-aaaa-4bbb-8ccc-ddddeeeeffff";
const FED_APP: &str = "fed00000-0000-4000-8000-0000000000a1";
const ISSUER: &str = "https://0f3a9c2e-5b7d-4e1f-8a6c-3d2b1e0f9a87.tokens.sts.global.api.aws";
const SUBJECT: &str = "arn:aws:iam::111111111111:role/fedsync-task";
const AUDIENCE: &str = "api://AzureADTokenExchange";

/// An RSA key that signs like an OIDC issuer, and its public JWK.
struct IssuerKey {
    encoding: EncodingKey,
    kid: String,
    jwk: Value,
}

fn make_key(kid: &str) -> IssuerKey {
    let (encoding, jwk) = crate::support::outbound_federation::rsa_key(kid);
    IssuerKey {
        encoding,
        kid: kid.to_owned(),
        jwk,
    }
}

/// The key the seeded issuer signs with.
fn issuer_key() -> &'static IssuerKey {
    static KEY: OnceLock<IssuerKey> = OnceLock::new();
    KEY.get_or_init(|| make_key("aws-key-1"))
}

/// A key nobody published.
fn stranger_key() -> &'static IssuerKey {
    static KEY: OnceLock<IssuerKey> = OnceLock::new();
    KEY.get_or_init(|| make_key("aws-key-1"))
}

fn credential(name: &str, issuer: &str, subject: &str, audience: &str) -> Value {
    json!({"name": name, "issuer": issuer, "subject": subject, "audiences": [audience]})
}

/// The usual seed plus a client that authenticates only by federation: one credential trusting
/// `issuers` (each `(issuer, subject)`), and [`ISSUER`]'s keys seeded.
fn seed_federated(issuers: &[(&str, &str)]) -> Value {
    let mut s = seed();
    let credentials: Vec<Value> = issuers
        .iter()
        .enumerate()
        .map(|(i, (issuer, subject))| credential(&format!("aws-{i}"), issuer, subject, AUDIENCE))
        .collect();
    s["clients"].as_array_mut().unwrap().push(json!({
        "client_id": FED_CLIENT, "service_principal_id": FED_CLIENT_SP,
        "application_id": FED_APP, "display_name": "fedsync (federated)",
        "federated_identity_credentials": credentials,
    }));
    s["jwks"] = json!({ ISSUER: {"keys": [issuer_key().jwk]} });
    s
}

/// A JWT as AWS outbound identity federation would sign it.
struct Jwt<'a> {
    key: &'a IssuerKey,
    iss: String,
    sub: String,
    aud: Value,
    /// Seconds from now; negative for an expired JWT.
    exp_in: i64,
}

impl<'a> Jwt<'a> {
    fn new() -> Jwt<'a> {
        Jwt {
            key: issuer_key(),
            iss: ISSUER.into(),
            sub: SUBJECT.into(),
            aud: json!(AUDIENCE),
            exp_in: 300,
        }
    }

    fn sign(&self) -> String {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.key.kid.clone());
        let claims = json!({
            "iss": self.iss, "sub": self.sub, "aud": self.aud,
            "iat": now - 5, "nbf": now - 5, "exp": now + self.exp_in,
            "jti": uuid::Uuid::new_v4().to_string(),
        });
        jsonwebtoken::encode(&header, &claims, &self.key.encoding).unwrap()
    }
}

async fn present(emu: &Running, jwt: &str) -> Reply {
    emu.token_request(
        TENANT,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", FED_CLIENT),
            ("scope", "https://graph.microsoft.com/.default"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", jwt),
        ],
    )
    .await
}

fn aadsts(reply: &Reply) -> u64 {
    reply.body["error_codes"][0].as_u64().unwrap_or(0)
}

fn description(reply: &Reply) -> &str {
    reply.body["error_description"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn a_jwt_a_federated_credential_trusts_gets_a_token_graph_accepts() {
    let emu = start(seed_federated(&[(ISSUER, SUBJECT)])).await;
    let reply = present(&emu, &Jwt::new().sign()).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let token = reply.body["access_token"].as_str().unwrap();
    let sp = emu
        .http
        .get(emu.url(&format!(
            "/v1.0/servicePrincipals/{}",
            crate::graph_emulator::SP
        )))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(sp.status(), 200);

    // One of several audiences is enough; the same JWT may be presented again (no jti rule).
    let mut jwt = Jwt::new();
    jwt.aud = json!(["api://elsewhere", AUDIENCE]);
    let signed = jwt.sign();
    assert_eq!(present(&emu, &signed).await.status, 200);
    assert_eq!(present(&emu, &signed).await.status, 200);
}

#[tokio::test]
async fn issuer_subject_and_audience_must_match_one_credential_exactly() {
    let emu = start(seed_federated(&[(ISSUER, SUBJECT)])).await;
    type Case = (&'static str, fn(&mut Jwt), u64, &'static str);
    let cases: [Case; 5] = [
        (
            "another issuer",
            |j| j.iss = "https://elsewhere.example".into(),
            700211,
            "issuer 'https://elsewhere.example'",
        ),
        (
            "a trailing slash",
            |j| j.iss = format!("{ISSUER}/"),
            700211,
            "issuer",
        ),
        (
            "another role",
            |j| j.sub = SUBJECT.replace("fedsync-task", "other"),
            700213,
            "subject 'arn:aws:iam::111111111111:role/other'",
        ),
        (
            "another case",
            |j| j.sub = SUBJECT.to_uppercase(),
            700213,
            "subject",
        ),
        (
            "another audience",
            |j| j.aud = json!("api://AzureADTokenExchangeChina"),
            700212,
            "audience 'api://AzureADTokenExchangeChina'",
        ),
    ];
    for (what, change, code, names) in cases {
        let mut jwt = Jwt::new();
        change(&mut jwt);
        let reply = present(&emu, &jwt.sign()).await;
        assert_eq!(reply.status, 400, "{what}: {}", reply.body);
        assert_eq!(aadsts(&reply), code, "{what}: {}", reply.body);
        assert!(
            description(&reply).contains(&format!("presented assertion {names}")),
            "{what}: {}",
            reply.body
        );
    }
}

#[tokio::test]
async fn an_expired_or_forged_jwt_is_refused_even_with_the_right_claims() {
    let emu = start(seed_federated(&[(ISSUER, SUBJECT)])).await;
    let mut expired = Jwt::new();
    expired.exp_in = -1;
    let reply = present(&emu, &expired.sign()).await;
    assert_eq!(
        (reply.status.as_u16(), aadsts(&reply)),
        (401, 700024),
        "{}",
        reply.body
    );

    // Signed by a key of the same kid that the issuer never published.
    let mut forged = Jwt::new();
    forged.key = stranger_key();
    let reply = present(&emu, &forged.sign()).await;
    assert_eq!(
        (reply.status.as_u16(), aadsts(&reply)),
        (401, 700027),
        "{}",
        reply.body
    );

    // A forged JWT about another subject learns nothing about the subjects trusted.
    forged.sub = "arn:aws:iam::111111111111:role/other".into();
    assert_eq!(aadsts(&present(&emu, &forged.sign()).await), 700027);

    let reply = present(&emu, "not.a.jwt").await;
    assert_eq!(reply.status, 401, "{}", reply.body);
}

/// An OIDC issuer on loopback: `/.well-known/openid-configuration` and `jwks.json` under
/// `{base}/issuer`, serving [`issuer_key`]'s JWK.
async fn loopback_issuer(
    advertised_issuer: Option<String>,
) -> (String, tokio::task::JoinHandle<()>) {
    use axum::routing::get;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}/issuer", listener.local_addr().unwrap());
    let advertised = advertised_issuer.unwrap_or_else(|| issuer.clone());
    let jwks_uri = format!("{issuer}/.well-known/jwks.json");
    let app =
        axum::Router::new()
            .route(
                "/issuer/.well-known/openid-configuration",
                get(move || async move {
                    axum::Json(json!({"issuer": advertised, "jwks_uri": jwks_uri}))
                }),
            )
            .route(
                "/issuer/.well-known/jwks.json",
                get(|| async { axum::Json(json!({"keys": [issuer_key().jwk]})) }),
            );
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (issuer, task)
}

#[tokio::test]
async fn the_keys_of_an_issuer_not_seeded_are_read_from_its_discovery_document_on_loopback() {
    let (issuer, server) = loopback_issuer(None).await;
    let emu = start(seed_federated(&[(&issuer, SUBJECT)])).await;
    let mut jwt = Jwt::new();
    jwt.iss = issuer.clone();
    let reply = present(&emu, &jwt.sign()).await;
    assert_eq!(reply.status, 200, "{}", reply.body);

    server.abort();
    let _ = server.await;
    let reply = present(&emu, &jwt.sign()).await;
    assert_eq!(
        (reply.status.as_u16(), aadsts(&reply)),
        (401, 50166),
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn a_discovery_document_naming_another_issuer_or_an_issuer_off_loopback_is_not_trusted() {
    let (issuer, _server) = loopback_issuer(Some("https://someone-else.example".into())).await;
    let elsewhere = "https://issuer.example.com";
    let emu = start(seed_federated(&[(&issuer, SUBJECT), (elsewhere, SUBJECT)])).await;
    for iss in [issuer.as_str(), elsewhere] {
        let mut jwt = Jwt::new();
        jwt.iss = iss.to_owned();
        let reply = present(&emu, &jwt.sign()).await;
        assert_eq!(
            (reply.status.as_u16(), aadsts(&reply)),
            (401, 50166),
            "{iss}: {}",
            reply.body
        );
    }
}

#[tokio::test]
async fn federated_credentials_are_created_listed_and_deleted_through_graph() {
    let emu = start(seed_federated(&[(ISSUER, SUBJECT)])).await;
    let by_app_id = format!("/v1.0/applications(appId='{FED_CLIENT}')");
    let app = emu.get(&by_app_id).await;
    assert_eq!(app.status, 200, "{}", app.body);
    assert_eq!(
        (app.body["id"].as_str(), app.body["appId"].as_str()),
        (Some(FED_APP), Some(FED_CLIENT))
    );
    let list = format!("/v1.0/applications/{FED_APP}/federatedIdentityCredentials");
    let listed = emu.get(&list).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.body["value"].as_array().unwrap().len(), 1);
    assert_eq!(listed.body["value"][0]["subject"], SUBJECT);

    let other = "arn:aws:iam::222222222222:role/fedsync-task";
    let made = emu
        .graph(
            Method::POST,
            &format!("{by_app_id}/federatedIdentityCredentials"),
            Some(credential("aws-222222222222", ISSUER, other, AUDIENCE)),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    assert!(
        made.body["id"]
            .as_str()
            .is_some_and(|id| uuid::Uuid::parse_str(id).is_ok())
    );

    // The new credential trusts its subject at once.
    let mut jwt = Jwt::new();
    jwt.sub = other.into();
    assert_eq!(present(&emu, &jwt.sign()).await.status, 200);

    let refused = [
        (
            credential("AWS-222222222222", ISSUER, "x", AUDIENCE),
            "already exists",
        ),
        (
            credential("again", ISSUER, other, AUDIENCE),
            "issuer and subject must be unique",
        ),
        (
            json!({"name": "two", "issuer": ISSUER, "subject": "y", "audiences": [AUDIENCE, "b"]}),
            "exactly one audience",
        ),
        (
            json!({"name": "x", "issuer": ISSUER, "subject": "y", "audiences": [AUDIENCE]}),
            "name 'x' is invalid",
        ),
        (
            json!({"name": "nosubject", "issuer": ISSUER, "audiences": [AUDIENCE]}),
            "'subject'",
        ),
    ];
    for (body, says) in refused {
        let reply = emu.graph(Method::POST, &list, Some(body.clone())).await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.body);
        assert!(reply.message().contains(says), "{body}: {}", reply.body);
    }
    assert_eq!(
        emu.get(&list).await.body["value"].as_array().unwrap().len(),
        2,
        "nothing refused was stored"
    );

    let gone = emu
        .graph(Method::DELETE, &format!("{list}/aws-222222222222"), None)
        .await;
    assert_eq!(gone.status, 204, "{}", gone.body);
    assert_eq!(
        aadsts(&present(&emu, &jwt.sign()).await),
        700213,
        "a deleted credential trusts nobody"
    );
    let again = emu
        .graph(Method::DELETE, &format!("{list}/aws-222222222222"), None)
        .await;
    assert_eq!(again.status, 404);

    let unknown = emu
        .get("/v1.0/applications/00000000-0000-4000-8000-000000000000/federatedIdentityCredentials")
        .await;
    assert_eq!(unknown.status, 404);
}

#[test]
fn seeded_federated_credentials_and_keys_are_checked() {
    let load = |s: Value| crate::graph_emulator::emulator::Seed::from_json(&s.to_string());
    assert!(
        load(seed_federated(&[(ISSUER, SUBJECT)])).is_ok(),
        "a client may authenticate by federation only"
    );

    let mut s = seed_federated(&[(ISSUER, SUBJECT)]);
    s["clients"][2]["federated_identity_credentials"][0]["name"] = json!("a b");
    let e = load(s).unwrap_err().to_string();
    assert!(
        e.contains("clients[2]: federated_identity_credentials[0]") && e.contains("'a b'"),
        "{e}"
    );

    let s = seed_federated(&[(ISSUER, SUBJECT), (ISSUER, SUBJECT)]);
    let e = load(s).unwrap_err().to_string();
    assert!(
        e.contains("federated_identity_credentials[1]") && e.contains("unique"),
        "{e}"
    );

    let mut s = seed_federated(&[(ISSUER, SUBJECT)]);
    s["jwks"][ISSUER]["keys"][0]["n"] = json!(7);
    let e = load(s).unwrap_err().to_string();
    assert!(e.contains(&format!("jwks.{ISSUER}")), "{e}");

    let mut s = seed_federated(&[]);
    s["clients"][2]
        .as_object_mut()
        .unwrap()
        .remove("federated_identity_credentials");
    let e = load(s).unwrap_err().to_string();
    assert!(
        e.contains("clients[2]") && e.contains("federated_identity_credentials"),
        "{e}"
    );
}
