//! The Graph emulator (`examples/graph-emulator`): each rule it enforces, its paging, faults and
//! control endpoints, run in-process on 127.0.0.1:0 and called over HTTP; and the example
//! binary itself, started as a user would.
//!
//! The harness at the top ([`start`], [`Running`], [`seed`], [`test_cert`]) is `pub` so the
//! Graph client's tests can run against the same emulator without including it twice.

#[path = "../../examples/graph-emulator/emulator.rs"]
pub mod emulator;

use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub const TENANT: &str = "8e0f2a6c-1b7d-4c3e-9f5a-2d4b6c8e0a11";
pub const CLIENT_ID: &str = "c0ffee00-1111-4222-8333-444455556666";
/// Test-only; the emulator never sees a real secret.
pub const CLIENT_SECRET: &str = "test-only-secret-3f9a";
pub const CLIENT_SP: &str = "c0ffee00-aaaa-4bbb-8ccc-ddddeeeeffff";
pub const CERT_CLIENT_ID: &str = "ce47ce47-1111-4222-8333-444455556666";
pub const CERT_CLIENT_SP: &str = "ce47ce47-aaaa-4bbb-8ccc-ddddeeeeffff";
pub const SP: &str = "5f0b5a8e-3c1d-4d0e-9a57-6a3b2f1e0c11";
pub const MSIAM: &str = "7dfd756e-8c27-4472-b2b7-38c17fc5de5e";
/// An enabled AWS role of the seed, made by fedsync: its id is the UUIDv5 fedsync derives from
/// its value (checked below), so a sync may let it go once its account is gone.
pub const ADMIN: &str = "ad98a8c3-a7be-5015-8386-156fceb5e8fc";
/// A disabled AWS role of the seed, made by fedsync too.
pub const OLD: &str = "b43a5ddc-a357-5dec-a0a7-0b05206fe169";
pub const G_ADMIN: &str = "0c6f2b1e-0000-4000-8000-000000000a01";
pub const G_OBRIEN: &str = "0c6f2b1e-0000-4000-8000-000000000a02";
pub const G_RND: &str = "0c6f2b1e-0000-4000-8000-000000000a03";
const ADMIN_VALUE: &str =
    "arn:aws:iam::111111111111:role/Admin,arn:aws:iam::111111111111:saml-provider/AzureAD";
const OLD_VALUE: &str =
    "arn:aws:iam::111111111111:role/Old,arn:aws:iam::111111111111:saml-provider/AzureAD";

/// A throwaway RSA key and self-signed certificate, made once per test run.
pub struct TestCert {
    pub cert_pem: String,
    pub key_pem: String,
    /// base64url SHA-256 of the certificate DER: the `x5t#S256` header.
    pub thumbprint: String,
}

fn make_cert(name: &str) -> TestCert {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("RSA key generation");
    let cert = rcgen::CertificateParams::new(vec![name.to_owned()])
        .expect("certificate parameters")
        .self_signed(&key)
        .expect("self-signed certificate");
    TestCert {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        thumbprint: URL_SAFE_NO_PAD.encode(Sha256::digest(cert.der())),
    }
}

/// The certificate registered for [`CERT_CLIENT_ID`] in [`seed`].
pub fn test_cert() -> &'static TestCert {
    static CERT: OnceLock<TestCert> = OnceLock::new();
    CERT.get_or_init(|| make_cert("fedsync-test-only"))
}

/// A certificate registered nowhere.
fn stranger_cert() -> &'static TestCert {
    static CERT: OnceLock<TestCert> = OnceLock::new();
    CERT.get_or_init(|| make_cert("stranger-test-only"))
}

fn role(id: &str, value: Option<&str>, enabled: bool, origin: Option<&str>) -> Value {
    let mut r = json!({
        "allowedMemberTypes": ["User"],
        "description": value.unwrap_or("msiam_access"),
        "displayName": value.unwrap_or("msiam_access"),
        "id": id,
        "isEnabled": enabled,
        "value": value,
    });
    if let Some(origin) = origin {
        r["origin"] = json!(origin);
    }
    r
}

/// A new AWS role (no `origin`) for account 333333333333.
fn new_role(name: &str) -> Value {
    let value = format!(
        "arn:aws:iam::333333333333:role/{name},arn:aws:iam::333333333333:saml-provider/AzureAD"
    );
    role(&uuid::Uuid::new_v4().to_string(), Some(&value), true, None)
}

fn group(id: &str, name: &str, nickname: &str) -> Value {
    json!({"id": id, "displayName": name, "mailNickname": nickname})
}

/// The seed most tests start from: a secret client, a certificate client, the AWS app's service
/// principal with msiam_access, an enabled and a disabled AWS role, eight groups (more than
/// the page size of 3) and one assignment.
pub fn seed() -> Value {
    let mut groups = vec![
        group(
            G_ADMIN,
            "AWS 111111111111 - Admin",
            "AWS-111111111111-Admin",
        ),
        group(G_OBRIEN, "O'Brien's team", "OBriens-team"),
        group(G_RND, "R&D + ops", "RnD-ops"),
    ];
    for i in 1..=5 {
        groups.push(json!({
            "displayName": format!("AWS 222222222222 - Role{i}"),
            "mailNickname": format!("AWS-222222222222-Role{i}"),
        }));
    }
    json!({
        "tenant_id": TENANT,
        "clients": [
            {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
             "service_principal_id": CLIENT_SP, "display_name": "fedsync"},
            {"client_id": CERT_CLIENT_ID, "certificate_pem": test_cert().cert_pem,
             "service_principal_id": CERT_CLIENT_SP},
        ],
        "service_principal": {
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#servicePrincipals/$entity",
            "id": SP,
            "appId": "8adf8e6e-67b2-4cf2-a259-e3dc5476c621",
            "displayName": "AWS Single-Account Access",
            "tags": ["WindowsAzureActiveDirectoryIntegratedApp"],
            "preferredSingleSignOnMode": "saml",
            "appRoles": [
                role(MSIAM, None, true, Some("Application")),
                role(ADMIN, Some(ADMIN_VALUE), true, Some("ServicePrincipal")),
                role(OLD, Some(OLD_VALUE), false, Some("ServicePrincipal")),
            ],
        },
        "groups": groups,
        "assignments": [{"principalId": G_ADMIN, "appRoleId": ADMIN}],
    })
}

#[test]
fn the_seed_roles_carry_the_ids_fedsync_derives_from_their_values() {
    use fedsync::model::AppRoleId;
    assert_eq!(AppRoleId::for_value(ADMIN_VALUE).to_string(), ADMIN);
    assert_eq!(AppRoleId::for_value(OLD_VALUE).to_string(), OLD);
}

/// An emulator serving in this process; stops when dropped.
pub struct Running {
    pub base: String,
    pub http: reqwest::Client,
    token: Mutex<Option<String>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What came back: status, headers, and the body as JSON (`Null` when empty).
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// Graph's `error.code`.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }
    pub fn message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or_default()
    }
}

/// Starts an emulator seeded with `seed` on 127.0.0.1:0.
pub async fn start(seed: Value) -> Running {
    let seed = emulator::Seed::from_json(&seed.to_string()).expect("the test seed is valid");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(emulator::serve(seed, listener));
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    Running {
        base,
        http,
        token: Mutex::new(None),
        task,
    }
}

impl Running {
    /// The Graph settings of a fedsync command signing in to this emulator as the seeded app.
    pub fn fedsync_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("FEDSYNC_TENANT_ID", TENANT.to_owned()),
            ("FEDSYNC_CLIENT_ID", CLIENT_ID.to_owned()),
            ("FEDSYNC_CLIENT_SECRET", CLIENT_SECRET.to_owned()),
            ("FEDSYNC_SERVICE_PRINCIPAL_ID", SP.to_owned()),
            ("FEDSYNC_AUTHORITY_URL", self.base.clone()),
            ("FEDSYNC_GRAPH_URL", self.base.clone()),
        ]
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn token_url(&self) -> String {
        self.url(&format!("/{TENANT}/oauth2/v2.0/token"))
    }

    async fn reply(response: reqwest::Response) -> Reply {
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&bytes)))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    /// `POST` the form to the token endpoint of `tenant`.
    pub async fn token_request(&self, tenant: &str, form: &[(&str, &str)]) -> Reply {
        let url = self.url(&format!("/{tenant}/oauth2/v2.0/token"));
        Self::reply(self.http.post(url).form(form).send().await.unwrap()).await
    }

    /// A token for the secret client, fetched once.
    pub async fn token(&self) -> String {
        if let Some(t) = self.token.lock().unwrap().clone() {
            return t;
        }
        let reply = self
            .token_request(
                TENANT,
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", CLIENT_ID),
                    ("client_secret", CLIENT_SECRET),
                    ("scope", "https://graph.microsoft.com/.default"),
                ],
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let t = reply.body["access_token"].as_str().unwrap().to_owned();
        *self.token.lock().unwrap() = Some(t.clone());
        t
    }

    /// A Graph call with the cached token; `path` may carry a query.
    pub async fn graph(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let token = self.token().await;
        let mut request = self.http.request(method, self.url(path)).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        Self::reply(request.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.graph(Method::GET, path, None).await
    }

    /// `GET /v1.0/groups` with these query parameters (percent-encoded by reqwest).
    pub async fn groups(&self, query: &[(&str, &str)]) -> Reply {
        let token = self.token().await;
        let request = self
            .http
            .get(self.url("/v1.0/groups"))
            .query(query)
            .bearer_auth(token);
        Self::reply(request.send().await.unwrap()).await
    }

    pub async fn app_roles(&self) -> Vec<Value> {
        let reply = self
            .get(&format!("/v1.0/servicePrincipals/{SP}?$select=appRoles"))
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body["appRoles"].as_array().unwrap().clone()
    }

    pub async fn patch_roles(&self, roles: Vec<Value>) -> Reply {
        self.graph(
            Method::PATCH,
            &format!("/v1.0/servicePrincipals/{SP}"),
            Some(json!({ "appRoles": roles })),
        )
        .await
    }

    pub async fn create_group(&self, body: Value) -> Reply {
        self.graph(Method::POST, "/v1.0/groups", Some(body)).await
    }

    pub async fn assign(&self, principal: &str, role: &str) -> Reply {
        self.graph(
            Method::POST,
            &format!("/v1.0/servicePrincipals/{SP}/appRoleAssignedTo"),
            Some(json!({"principalId": principal, "resourceId": SP, "appRoleId": role})),
        )
        .await
    }

    /// Follows `@odata.nextLink` from `first` to the end (at most 100 pages).
    pub async fn all_pages(&self, first: Reply) -> (Vec<Value>, usize) {
        let mut items = Vec::new();
        let mut reply = first;
        for pages in 1..=100 {
            assert_eq!(reply.status, 200, "{}", reply.body);
            items.extend(reply.body["value"].as_array().unwrap().iter().cloned());
            let Some(next) = reply.body["@odata.nextLink"].as_str() else {
                return (items, pages);
            };
            assert!(next.starts_with(&self.base), "absolute link: {next}");
            let token = self.token().await;
            let response = self.http.get(next).bearer_auth(token).send().await.unwrap();
            reply = Self::reply(response).await;
        }
        panic!("more than 100 pages");
    }

    pub async fn control(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let mut request = self.http.request(method, self.url(path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        Self::reply(request.send().await.unwrap()).await
    }

    pub async fn state(&self) -> Value {
        self.control(Method::GET, "/_emulator/state", None)
            .await
            .body
    }

    pub async fn set_faults(&self, rules: Value) {
        let reply = self
            .control(Method::POST, "/_emulator/faults", Some(rules))
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
}

fn secret_form<'a>(client_id: &'a str, secret: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        ("client_secret", secret),
        ("scope", "https://graph.microsoft.com/.default"),
    ]
}

fn aadsts(reply: &Reply) -> u64 {
    reply.body["error_codes"][0].as_u64().unwrap_or(0)
}

// ---------------------------------------------------------------- token endpoint: secrets

#[tokio::test]
async fn a_client_secret_gets_a_bearer_token() {
    let emu = start(seed()).await;
    let reply = emu
        .token_request(TENANT, &secret_form(CLIENT_ID, CLIENT_SECRET))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["token_type"], "Bearer");
    assert_eq!(reply.body["expires_in"], 3600);
    assert_eq!(reply.body["ext_expires_in"], 3600);
    let token = reply.body["access_token"].as_str().unwrap();
    assert!(token.len() >= 32, "{token}");
    let again = emu
        .token_request(TENANT, &secret_form(CLIENT_ID, CLIENT_SECRET))
        .await;
    assert_ne!(again.body["access_token"], reply.body["access_token"]);
}

#[tokio::test]
async fn a_wrong_secret_is_aadsts7000215() {
    let emu = start(seed()).await;
    let reply = emu
        .token_request(TENANT, &secret_form(CLIENT_ID, "not-the-secret"))
        .await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.body["error"], "invalid_client");
    assert_eq!(aadsts(&reply), 7000215);
    let description = reply.body["error_description"].as_str().unwrap();
    assert!(description.starts_with("AADSTS7000215: "), "{description}");
    assert!(!description.contains("not-the-secret"));
    for field in ["timestamp", "trace_id", "correlation_id"] {
        assert!(reply.body[field].is_string(), "{field}: {}", reply.body);
    }
    // A certificate-only client has no secret to match.
    let reply = emu
        .token_request(TENANT, &secret_form(CERT_CLIENT_ID, CLIENT_SECRET))
        .await;
    assert_eq!(aadsts(&reply), 7000215);
}

#[tokio::test]
async fn a_client_secret_may_come_as_http_basic() {
    let emu = start(seed()).await;
    let form = [
        ("grant_type", "client_credentials"),
        ("scope", "https://graph.microsoft.com/.default"),
    ];
    let basic = |secret: &str| {
        emu.http
            .post(emu.token_url())
            .basic_auth(CLIENT_ID, Some(secret))
            .form(&form)
            .send()
    };
    let ok = Running::reply(basic(CLIENT_SECRET).await.unwrap()).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let wrong = Running::reply(basic("not-the-secret").await.unwrap()).await;
    assert_eq!((wrong.status.as_u16(), aadsts(&wrong)), (401, 7000215));

    // The secret in both places is ambiguous.
    let both = emu
        .http
        .post(emu.token_url())
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&secret_form(CLIENT_ID, CLIENT_SECRET))
        .send()
        .await
        .unwrap();
    let both = Running::reply(both).await;
    assert_eq!((both.status.as_u16(), aadsts(&both)), (400, 9002313));
}

#[tokio::test]
async fn an_unknown_client_is_aadsts700016() {
    let emu = start(seed()).await;
    let reply = emu
        .token_request(
            TENANT,
            &secret_form("00000000-0000-0000-0000-00000000dead", CLIENT_SECRET),
        )
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["error"], "unauthorized_client");
    assert_eq!(aadsts(&reply), 700016);
}

#[tokio::test]
async fn an_unknown_tenant_is_aadsts90002() {
    let emu = start(seed()).await;
    let reply = emu
        .token_request(
            "11111111-2222-3333-4444-555555555555",
            &secret_form(CLIENT_ID, CLIENT_SECRET),
        )
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.body["error"], "invalid_request");
    assert_eq!(aadsts(&reply), 90002);
}

#[tokio::test]
async fn the_token_request_needs_its_parameters_and_a_default_scope() {
    let emu = start(seed()).await;
    let mut form = secret_form(CLIENT_ID, CLIENT_SECRET);
    form[3] = ("scope", "https://graph.microsoft.com/User.Read");
    let reply = emu.token_request(TENANT, &form).await;
    assert_eq!((reply.status.as_u16(), aadsts(&reply)), (400, 1002012));
    assert_eq!(reply.body["error"], "invalid_scope");

    let mut form = secret_form(CLIENT_ID, CLIENT_SECRET);
    form[0] = ("grant_type", "password");
    let reply = emu.token_request(TENANT, &form).await;
    assert_eq!((reply.status.as_u16(), aadsts(&reply)), (400, 70003));

    let reply = emu
        .token_request(
            TENANT,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", CLIENT_ID),
                ("scope", "https://graph.microsoft.com/.default"),
            ],
        )
        .await;
    assert_eq!((reply.status.as_u16(), aadsts(&reply)), (401, 7000218));

    let reply = emu.token_request(TENANT, &[("client_id", CLIENT_ID)]).await;
    assert_eq!((reply.status.as_u16(), aadsts(&reply)), (400, 900144));

    // Any resource's /.default is accepted (US Gov, China, or the emulator's own URL).
    let mut form = secret_form(CLIENT_ID, CLIENT_SECRET);
    form[3] = ("scope", "https://graph.microsoft.us/.default");
    assert_eq!(emu.token_request(TENANT, &form).await.status, 200);
}

// ---------------------------------------------------------------- bearer tokens on Graph

#[tokio::test]
async fn graph_calls_need_a_token_from_the_emulator() {
    let emu = start(seed()).await;
    let url = emu.url(&format!("/v1.0/servicePrincipals/{SP}"));
    let none = Running::reply(emu.http.get(&url).send().await.unwrap()).await;
    assert_eq!(none.status, 401);
    assert_eq!(none.code(), "InvalidAuthenticationToken");
    assert!(none.headers.contains_key("www-authenticate"));
    let forged = Running::reply(
        emu.http
            .get(&url)
            .bearer_auth("emu.forged")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(forged.status, 401);
    assert_eq!(forged.code(), "InvalidAuthenticationToken");
    assert_eq!(
        emu.state().await["writes"],
        json!([]),
        "reads are not logged"
    );
}

#[tokio::test]
async fn an_expired_token_is_refused_and_a_new_one_works() {
    let emu = start(seed()).await;
    let path = format!("/v1.0/servicePrincipals/{SP}");
    assert_eq!(emu.get(&path).await.status, 200);
    let expired = emu
        .control(Method::POST, "/_emulator/expire-tokens", None)
        .await;
    assert_eq!(expired.body["expired"], 1);
    let reply = emu.get(&path).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.code(), "InvalidAuthenticationToken");
    assert!(reply.message().contains("expired"), "{}", reply.message());

    *emu.token.lock().unwrap() = None;
    assert_eq!(emu.get(&path).await.status, 200);
}

#[tokio::test]
async fn the_token_lifetime_comes_from_the_seed() {
    let mut s = seed();
    s["token_lifetime_secs"] = json!(1);
    let emu = start(s).await;
    let reply = emu
        .token_request(TENANT, &secret_form(CLIENT_ID, CLIENT_SECRET))
        .await;
    assert_eq!(reply.body["expires_in"], 1);
}

// ---------------------------------------------------------------- token endpoint: certificates

struct Assertion<'a> {
    cert: &'a TestCert,
    x5t: Option<String>,
    aud: String,
    iss: &'a str,
    sub: &'a str,
    exp_in: i64,
    jti: String,
}

impl<'a> Assertion<'a> {
    fn new(emu: &Running) -> Assertion<'a> {
        Assertion {
            cert: test_cert(),
            x5t: Some(test_cert().thumbprint.clone()),
            aud: emu.token_url(),
            iss: CERT_CLIENT_ID,
            sub: CERT_CLIENT_ID,
            exp_in: 300,
            jti: uuid::Uuid::new_v4().to_string(),
        }
    }

    fn sign(&self) -> String {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let mut header = Header::new(Algorithm::PS256);
        header.typ = Some("JWT".into());
        header.x5t_s256 = self.x5t.clone();
        let claims = json!({
            "aud": self.aud, "iss": self.iss, "sub": self.sub, "jti": self.jti,
            "exp": now + self.exp_in, "nbf": now, "iat": now,
        });
        let key = EncodingKey::from_rsa_pem(self.cert.key_pem.as_bytes()).unwrap();
        jsonwebtoken::encode(&header, &claims, &key).unwrap()
    }
}

async fn assert_with(emu: &Running, assertion: &str) -> Reply {
    emu.token_request(
        TENANT,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", CERT_CLIENT_ID),
            ("scope", "https://graph.microsoft.com/.default"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion),
        ],
    )
    .await
}

#[tokio::test]
async fn a_signed_client_assertion_gets_a_token_that_graph_accepts() {
    let emu = start(seed()).await;
    let reply = assert_with(&emu, &Assertion::new(&emu).sign()).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let token = reply.body["access_token"].as_str().unwrap();
    let sp = emu
        .http
        .get(emu.url(&format!("/v1.0/servicePrincipals/{SP}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(sp.status(), 200);
}

#[tokio::test]
async fn a_tampered_assertion_fails_signature_validation() {
    let emu = start(seed()).await;
    let signed = Assertion::new(&emu).sign();
    let parts: Vec<&str> = signed.split('.').collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["sub"] = json!(CLIENT_ID);
    claims["iss"] = json!(CLIENT_ID);
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        parts[2]
    );
    let reply = assert_with(&emu, &tampered).await;
    assert_eq!(reply.status, 401, "{}", reply.body);
    assert_eq!(reply.body["error"], "invalid_client");
    assert_eq!(aadsts(&reply), 700027);

    // Signed by another key that claims the registered certificate's thumbprint.
    let mut forged = Assertion::new(&emu);
    forged.cert = stranger_cert();
    let reply = assert_with(&emu, &forged.sign()).await;
    assert_eq!(aadsts(&reply), 700027, "{}", reply.body);
}

#[tokio::test]
async fn an_assertion_must_name_the_registered_certificate() {
    let emu = start(seed()).await;
    let mut wrong = Assertion::new(&emu);
    wrong.cert = stranger_cert();
    wrong.x5t = Some(stranger_cert().thumbprint.clone());
    let reply = assert_with(&emu, &wrong.sign()).await;
    assert_eq!((reply.status.as_u16(), aadsts(&reply)), (401, 700027));
    assert!(
        reply.body["error_description"]
            .as_str()
            .unwrap()
            .contains("not registered"),
        "{}",
        reply.body
    );

    let mut missing = Assertion::new(&emu);
    missing.x5t = None;
    let reply = assert_with(&emu, &missing.sign()).await;
    assert_eq!(aadsts(&reply), 700027, "{}", reply.body);
}

#[tokio::test]
async fn an_assertion_jti_is_single_use() {
    let emu = start(seed()).await;
    let assertion = Assertion::new(&emu).sign();
    assert_eq!(assert_with(&emu, &assertion).await.status, 200);
    let replay = assert_with(&emu, &assertion).await;
    assert_eq!((replay.status.as_u16(), aadsts(&replay)), (401, 700027));
    assert!(
        replay.body["error_description"]
            .as_str()
            .unwrap()
            .contains("jti"),
        "{}",
        replay.body
    );
}

#[tokio::test]
async fn an_assertion_checks_audience_issuer_and_lifetime() {
    let emu = start(seed()).await;

    let mut a = Assertion::new(&emu);
    a.aud = "https://login.microsoftonline.com/common/oauth2/v2.0/token".into();
    assert_eq!(aadsts(&assert_with(&emu, &a.sign()).await), 700027);

    let mut a = Assertion::new(&emu);
    a.iss = CLIENT_ID;
    assert_eq!(aadsts(&assert_with(&emu, &a.sign()).await), 700021);

    let mut a = Assertion::new(&emu);
    a.sub = CLIENT_ID;
    assert_eq!(aadsts(&assert_with(&emu, &a.sign()).await), 700021);

    let mut a = Assertion::new(&emu);
    a.exp_in = -60;
    assert_eq!(aadsts(&assert_with(&emu, &a.sign()).await), 700024);

    let mut a = Assertion::new(&emu);
    a.exp_in = 3600;
    let reply = assert_with(&emu, &a.sign()).await;
    assert_eq!(aadsts(&reply), 700024, "{}", reply.body);

    let mut a = Assertion::new(&emu);
    a.jti = String::new();
    assert_eq!(aadsts(&assert_with(&emu, &a.sign()).await), 700027);

    // The secret client has no certificate registered.
    let reply = emu
        .token_request(
            TENANT,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", CLIENT_ID),
                ("scope", "https://graph.microsoft.com/.default"),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", &Assertion::new(&emu).sign()),
            ],
        )
        .await;
    assert_eq!(aadsts(&reply), 700027);
}

// ---------------------------------------------------------------- service principal

#[tokio::test]
async fn the_service_principal_honours_select_and_keeps_extra_properties() {
    let emu = start(seed()).await;
    let full = emu.get(&format!("/v1.0/servicePrincipals/{SP}")).await;
    assert_eq!(full.status, 200);
    assert_eq!(
        full.body["tags"],
        json!(["WindowsAzureActiveDirectoryIntegratedApp"])
    );
    assert_eq!(full.body["preferredSingleSignOnMode"], "saml");
    assert!(
        full.body["@odata.context"]
            .as_str()
            .unwrap()
            .starts_with(&emu.base)
    );

    let some = emu
        .get(&format!(
            "/v1.0/servicePrincipals/{SP}?$select=appRoles,displayName"
        ))
        .await;
    let mut keys: Vec<&str> = some
        .body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["@odata.context", "appRoles", "displayName", "id"]);
    assert_eq!(some.body["appRoles"].as_array().unwrap().len(), 3);

    let bad = emu
        .get(&format!("/v1.0/servicePrincipals/{SP}?$select=nonsense"))
        .await;
    assert_eq!((bad.status.as_u16(), bad.code()), (400, "BadRequest"));

    let own = emu
        .get(&format!("/v1.0/servicePrincipals/{CLIENT_SP}"))
        .await;
    assert_eq!(own.status, 200);
    assert_eq!(own.body["appId"], CLIENT_ID);
}

#[tokio::test]
async fn service_principals_are_found_by_app_id_only() {
    let emu = start(seed()).await;
    let found = emu
        .get(&format!(
            "/v1.0/servicePrincipals?$filter=appId%20eq%20'{CLIENT_ID}'&$select=id"
        ))
        .await;
    assert_eq!(found.status, 200, "{}", found.body);
    assert_eq!(found.body["value"], json!([{"id": CLIENT_SP}]));
    let none = emu
        .get("/v1.0/servicePrincipals?$filter=appId%20eq%20'99999999-9999-4999-8999-999999999999'")
        .await;
    assert_eq!(none.body["value"], json!([]));
    let all = emu.get("/v1.0/servicePrincipals").await;
    assert_eq!((all.status.as_u16(), all.code()), (400, "BadRequest"));
    let groups = emu.get("/v1.0/groups?$filter=appId%20eq%20'x'").await;
    assert_eq!(groups.status, 400);
}

#[tokio::test]
async fn an_unknown_service_principal_is_404() {
    let emu = start(seed()).await;
    let reply = emu
        .get("/v1.0/servicePrincipals/99999999-9999-4999-8999-999999999999")
        .await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.code(), "Request_ResourceNotFound");
    let inner = &reply.body["error"]["innerError"];
    assert_eq!(
        inner["request-id"].as_str(),
        reply.headers["request-id"].to_str().ok()
    );
    assert!(inner["date"].is_string());
}

/// A second AWS app's service principal, seeded beside [`SP`] in `service_principals`.
const SP2: &str = "5f0b5a8e-3c1d-4d0e-9a57-6a3b2f1e0c22";
const SP2_DEV: &str = "d0d0d0d0-0000-4000-8000-000000000b01";

#[tokio::test]
async fn each_aws_service_principal_has_its_own_roles() {
    let mut seed = seed();
    seed["service_principals"] = json!([{
        "id": SP2,
        "appId": "8adf8e6e-67b2-4cf2-a259-e3dc5476c622",
        "displayName": "AWS Single-Account Access (2)",
        "appRoles": [
            role(MSIAM, None, true, Some("Application")),
            role(SP2_DEV, Some("arn:aws:iam::222222222222:role/Dev,arn:aws:iam::222222222222:saml-provider/AzureAD"), true, Some("ServicePrincipal")),
        ],
    }]);
    seed["assignments"]
        .as_array_mut()
        .unwrap()
        .push(json!({"principalId": G_OBRIEN, "appRoleId": SP2_DEV, "resourceId": SP2}));
    let emu = start(seed).await;
    let roles_of = |sp: &'static str| {
        let emu = &emu;
        async move {
            let reply = emu
                .get(&format!("/v1.0/servicePrincipals/{sp}?$select=appRoles"))
                .await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            reply.body["appRoles"].as_array().unwrap().clone()
        }
    };
    let ids = |roles: &[Value]| -> Vec<String> {
        roles
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let first = roles_of(SP).await;
    assert_eq!(ids(&first), [MSIAM, ADMIN, OLD]);
    let mut second = roles_of(SP2).await;
    assert_eq!(ids(&second), [MSIAM, SP2_DEV]);

    let added = new_role("Ops");
    second.push(added.clone());
    let reply = emu
        .graph(
            Method::PATCH,
            &format!("/v1.0/servicePrincipals/{SP2}"),
            Some(json!({ "appRoles": second })),
        )
        .await;
    assert_eq!(reply.status, 204, "{}", reply.body);
    assert_eq!(
        ids(&roles_of(SP2).await),
        [MSIAM, SP2_DEV, added["id"].as_str().unwrap()]
    );
    assert_eq!(
        roles_of(SP).await,
        first,
        "the other service principal is untouched"
    );

    let state = emu.state().await;
    assert_eq!(state["service_principal"]["id"], SP);
    assert_eq!(state["service_principals"][1]["id"], SP2);
    let on: Vec<(&str, &str)> = state["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["resourceId"].as_str().unwrap(),
                a["appRoleId"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(on, [(SP, ADMIN), (SP2, SP2_DEV)]);
}

#[tokio::test]
async fn patch_replaces_the_whole_collection() {
    let emu = start(seed()).await;
    let roles = emu.app_roles().await;
    // Keep msiam_access and Admin as read, drop the disabled Old role, add one.
    let added = new_role("Dev");
    let reply = emu
        .patch_roles(vec![roles[0].clone(), roles[1].clone(), added.clone()])
        .await;
    assert_eq!(reply.status, 204, "{}", reply.body);
    assert_eq!(reply.body, Value::Null);

    let after = emu.app_roles().await;
    let ids: Vec<&str> = after.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [MSIAM, ADMIN, added["id"].as_str().unwrap()]);
    assert_eq!(after[0]["origin"], "Application", "origin kept");
    assert_eq!(
        after[2]["origin"], "ServicePrincipal",
        "origin given to new roles"
    );

    let writes = &emu.state().await["writes"];
    assert_eq!(
        writes,
        &json!([{"method": "PATCH", "path": format!("/v1.0/servicePrincipals/{SP}"), "status": 204}])
    );
}

#[tokio::test]
async fn an_enabled_role_is_disabled_in_one_patch_and_removed_in_the_next() {
    let emu = start(seed()).await;
    let roles = emu.app_roles().await;
    let without_admin = vec![roles[0].clone(), roles[2].clone()];
    let reply = emu.patch_roles(without_admin.clone()).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.code(), "CannotDeleteOrUpdateEnabledEntitlement");
    assert!(reply.message().contains(ADMIN), "{}", reply.message());
    assert_eq!(emu.app_roles().await, roles, "nothing stored");

    let mut disabled = roles.clone();
    disabled[1]["isEnabled"] = json!(false);
    assert_eq!(emu.patch_roles(disabled).await.status, 204);
    assert_eq!(emu.patch_roles(without_admin).await.status, 204);
    let left: Vec<Value> = emu
        .app_roles()
        .await
        .iter()
        .map(|r| r["id"].clone())
        .collect();
    assert_eq!(left, [json!(MSIAM), json!(OLD)]);
}

#[tokio::test]
async fn an_enabled_role_keeps_its_value() {
    let emu = start(seed()).await;
    let mut roles = emu.app_roles().await;
    roles[1]["value"] = json!(
        "arn:aws:iam::111111111111:role/Renamed,arn:aws:iam::111111111111:saml-provider/AzureAD"
    );
    let reply = emu.patch_roles(roles.clone()).await;
    assert_eq!(reply.code(), "CannotDeleteOrUpdateEnabledEntitlement");

    // Display name and description of an enabled role may change.
    let mut roles = emu.app_roles().await;
    roles[1]["displayName"] = json!("AWS 111111111111 - Administrator");
    assert_eq!(emu.patch_roles(roles).await.status, 204);
}

#[tokio::test]
async fn duplicate_ids_and_values_are_refused_and_nothing_is_stored() {
    let emu = start(seed()).await;
    let roles = emu.app_roles().await;

    let mut same_id = new_role("Dev");
    same_id["id"] = json!(ADMIN.to_uppercase());
    let mut proposed = roles.clone();
    proposed.push(same_id);
    let reply = emu.patch_roles(proposed).await;
    assert_eq!(
        (reply.status.as_u16(), reply.code()),
        (400, "DuplicateValue")
    );
    assert!(reply.message().contains("id"), "{}", reply.message());

    let mut same_value = new_role("Dev");
    same_value["value"] = json!(ADMIN_VALUE);
    let mut proposed = roles.clone();
    proposed.push(same_value);
    let reply = emu.patch_roles(proposed).await;
    assert_eq!(reply.code(), "DuplicateValue");
    assert!(reply.message().contains(ADMIN_VALUE), "{}", reply.message());

    assert_eq!(emu.app_roles().await, roles);
    let writes = emu.state().await["writes"].clone();
    assert!(
        writes
            .as_array()
            .unwrap()
            .iter()
            .all(|w| w["status"] == 400),
        "{writes}"
    );
}

#[tokio::test]
async fn values_follow_graphs_character_and_length_rules() {
    let emu = start(seed()).await;
    let roles = emu.app_roles().await;
    for bad in [
        "has space".to_owned(),
        ".leading-dot".to_owned(),
        "quote\"inside".to_owned(),
        "ünicode".to_owned(),
        "x".repeat(121),
    ] {
        let mut r = new_role("Dev");
        r["value"] = json!(bad);
        let mut proposed = roles.clone();
        proposed.push(r);
        let reply = emu.patch_roles(proposed).await;
        assert_eq!(
            (reply.status.as_u16(), reply.code()),
            (400, "InvalidValue"),
            "{bad}: {}",
            reply.body
        );
        assert!(
            reply.message().contains("appRoles[3]"),
            "{}",
            reply.message()
        );
    }
    let mut r = new_role("Dev");
    r["value"] = json!("x".repeat(120));
    let mut proposed = roles.clone();
    proposed.push(r);
    assert_eq!(emu.patch_roles(proposed).await.status, 204);
}

#[tokio::test]
async fn the_manifest_holds_at_most_1200_roles() {
    let emu = start(seed()).await;
    let mut roles = emu.app_roles().await;
    while roles.len() < 1200 {
        roles.push(new_role(&format!("R{}", roles.len())));
    }
    let mut over = roles.clone();
    over.push(new_role("OneTooMany"));
    let reply = emu.patch_roles(over).await;
    assert_eq!(
        (reply.status.as_u16(), reply.code()),
        (400, "Directory_ResourceSizeExceeded")
    );
    assert_eq!(emu.app_roles().await.len(), 3);

    assert_eq!(emu.patch_roles(roles).await.status, 204);
    assert_eq!(emu.app_roles().await.len(), 1200);
}

#[tokio::test]
async fn origin_is_read_only() {
    let emu = start(seed()).await;
    let roles = emu.app_roles().await;

    let mut with_origin = new_role("Dev");
    with_origin["origin"] = json!("ServicePrincipal");
    let mut proposed = roles.clone();
    proposed.push(with_origin);
    let reply = emu.patch_roles(proposed).await;
    assert_eq!(
        (reply.status.as_u16(), reply.code()),
        (400, "Request_BadRequest")
    );
    assert!(reply.message().contains("origin"), "{}", reply.message());

    let mut changed = roles.clone();
    changed[0]["origin"] = json!("ServicePrincipal");
    let reply = emu.patch_roles(changed).await;
    assert_eq!(reply.status, 400);
    assert!(reply.message().contains("origin"), "{}", reply.message());

    // Omitted on an existing role: the stored origin stays.
    let mut omitted = roles.clone();
    omitted[0].as_object_mut().unwrap().remove("origin");
    assert_eq!(emu.patch_roles(omitted).await.status, 204);
    assert_eq!(emu.app_roles().await[0]["origin"], "Application");
}

#[tokio::test]
async fn a_role_needs_id_is_enabled_and_allowed_member_types() {
    let emu = start(seed()).await;
    let roles = emu.app_roles().await;
    for property in ["id", "isEnabled", "allowedMemberTypes"] {
        let mut r = new_role("Dev");
        r.as_object_mut().unwrap().remove(property);
        let mut proposed = roles.clone();
        proposed.push(r);
        let reply = emu.patch_roles(proposed).await;
        assert_eq!(reply.status, 400, "{property}");
        assert_eq!(reply.code(), "Request_BadRequest");
        assert!(reply.message().contains(property), "{}", reply.message());
    }
    let mut r = new_role("Dev");
    r["id"] = json!("not-a-guid");
    let mut proposed = roles.clone();
    proposed.push(r);
    assert_eq!(emu.patch_roles(proposed).await.status, 400);
}

#[tokio::test]
async fn patch_bodies_must_be_json_objects_about_app_roles() {
    let emu = start(seed()).await;
    let url = emu.url(&format!("/v1.0/servicePrincipals/{SP}"));
    let token = emu.token().await;
    let not_json = Running::reply(
        emu.http
            .patch(&url)
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body("{")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (not_json.status.as_u16(), not_json.code()),
        (400, "BadRequest")
    );
    let no_type = Running::reply(
        emu.http
            .patch(&url)
            .bearer_auth(&token)
            .body(json!({"appRoles": []}).to_string())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        no_type.status, 400,
        "Content-Type: application/json is required"
    );
    let other = emu
        .graph(
            Method::PATCH,
            &format!("/v1.0/servicePrincipals/{SP}"),
            Some(json!({"displayName": "x"})),
        )
        .await;
    assert_eq!(other.status, 400);
    let own = emu
        .graph(
            Method::PATCH,
            &format!("/v1.0/servicePrincipals/{CLIENT_SP}"),
            Some(json!({"appRoles": []})),
        )
        .await;
    assert_eq!(
        (own.status.as_u16(), own.code()),
        (403, "Authorization_RequestDenied")
    );
}

// ---------------------------------------------------------------- groups

#[tokio::test]
async fn a_filter_finds_a_name_with_a_quote_when_it_is_doubled() {
    let emu = start(seed()).await;
    let reply = emu
        .groups(&[("$filter", "displayName eq 'O''Brien''s team'")])
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let found = reply.body["value"].as_array().unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["id"], G_OBRIEN);
    assert!(
        reply.body["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("$metadata#groups")
    );

    let single = emu
        .groups(&[("$filter", "displayName eq 'O'Brien's team'")])
        .await;
    assert_eq!((single.status.as_u16(), single.code()), (400, "BadRequest"));

    let case = emu
        .groups(&[("$filter", "displayName eq 'o''brien''S TEAM'")])
        .await;
    assert_eq!(case.body["value"][0]["id"], G_OBRIEN, "case-insensitive");
}

#[tokio::test]
async fn a_filter_value_must_be_percent_encoded() {
    let emu = start(seed()).await;
    // reqwest encodes '&' as %26 and ' ' as '+'.
    let encoded = emu
        .groups(&[("$filter", "displayName eq 'R&D + ops'")])
        .await;
    assert_eq!(encoded.body["value"][0]["id"], G_RND, "{}", encoded.body);

    let by_hand = emu
        .get("/v1.0/groups?$filter=displayName%20eq%20%27R%26D%20%2B%20ops%27")
        .await;
    assert_eq!(by_hand.body["value"][0]["id"], G_RND, "{}", by_hand.body);

    // Unencoded, '&' splits the query and '+' reads as a space.
    let raw = emu
        .get("/v1.0/groups?$filter=displayName eq 'R&D + ops'")
        .await;
    assert_eq!((raw.status.as_u16(), raw.code()), (400, "BadRequest"));
}

#[tokio::test]
async fn malformed_filters_are_bad_requests() {
    let emu = start(seed()).await;
    for filter in [
        "displayName eq",
        "displayName eq 'a' or displayName eq 'b'",
        "mailNickname eq 'x'",
        "startswith(displayName,'x'",
        "contains(displayName,'x')",
    ] {
        let reply = emu.groups(&[("$filter", filter)]).await;
        assert_eq!(
            (reply.status.as_u16(), reply.code()),
            (400, "BadRequest"),
            "{filter}"
        );
    }
    let unsupported = emu.groups(&[("$orderby", "displayName")]).await;
    assert_eq!(unsupported.status, 400);
}

#[tokio::test]
async fn startswith_lists_by_prefix_across_pages() {
    let emu = start(seed()).await;
    let first = emu
        .groups(&[("$filter", "startswith(displayName,'AWS 222222222222 - ')")])
        .await;
    let (items, pages) = emu.all_pages(first).await;
    let names: Vec<&str> = items
        .iter()
        .map(|g| g["displayName"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        (1..=5)
            .map(|i| format!("AWS 222222222222 - Role{i}"))
            .collect::<Vec<_>>()
    );
    assert_eq!(pages, 2);
}

#[tokio::test]
async fn every_collection_is_paged_with_absolute_next_links() {
    let emu = start(seed()).await;
    let first = emu.get("/v1.0/groups").await;
    assert_eq!(first.body["value"].as_array().unwrap().len(), 3);
    let next = first.body["@odata.nextLink"].as_str().unwrap();
    assert!(
        next.starts_with(&format!("{}/v1.0/groups?", emu.base)),
        "{next}"
    );
    assert!(next.contains("$skiptoken="), "{next}");
    let (items, pages) = emu.all_pages(first).await;
    assert_eq!((items.len(), pages), (8, 3));
    let mut ids: Vec<&str> = items.iter().map(|g| g["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 8, "no group twice");

    // $select and $top survive into the next link; $top cannot make pages bigger.
    let first = emu
        .groups(&[("$select", "displayName"), ("$top", "999")])
        .await;
    assert_eq!(first.body["value"].as_array().unwrap().len(), 3);
    let (items, _) = emu.all_pages(first).await;
    assert_eq!(items.len(), 8);
    assert!(
        items.iter().all(|g| g.as_object().unwrap().len() == 2),
        "id + displayName"
    );

    let bad = emu.get("/v1.0/groups?$skiptoken=made-up").await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn top_gets_pages_up_to_the_max_page_size_and_an_expanded_listing_at_most_100() {
    // As Graph: 100 a page by default, `$top` up to 999, and 100 at most with `$expand`.
    let mut s = seed();
    s["page_size"] = json!(100);
    s["max_page_size"] = json!(999);
    let groups: Vec<Value> = (0..150)
        .map(|i| {
            json!({"displayName": format!("Bulk {i:03}"), "mailNickname": format!("bulk-{i}"),
            "owners": [CLIENT_SP]})
        })
        .collect();
    s["groups"] = json!(groups);
    s["assignments"] = json!([]);
    let emu = start(s).await;
    let len = |r: &Reply| r.body["value"].as_array().unwrap().len();
    assert_eq!(len(&emu.get("/v1.0/groups").await), 100);
    assert_eq!(len(&emu.groups(&[("$top", "999")]).await), 150);
    assert_eq!(len(&emu.groups(&[("$top", "120")]).await), 120);
    let expanded = emu
        .groups(&[("$top", "999"), ("$expand", "owners($select=id)")])
        .await;
    assert_eq!(len(&expanded), 100);
    assert_eq!(emu.all_pages(expanded).await.0.len(), 150);
    assert_eq!(emu.groups(&[("$top", "1000")]).await.status, 400);

    let mut bad = seed();
    bad["max_page_size"] = json!(2);
    let err = emulator::Seed::from_json(&bad.to_string()).unwrap_err();
    assert!(err.to_string().contains("max_page_size"), "{err}");
}

#[tokio::test]
async fn a_service_principal_lists_the_groups_it_owns() {
    let mut s = seed();
    s["groups"][0]["owners"] = json!([CLIENT_SP]);
    s["groups"][4]["owners"] = json!([CERT_CLIENT_SP, CLIENT_SP]);
    s["groups"][5]["owners"] = json!([CERT_CLIENT_SP]);
    let emu = start(s).await;
    emu.create_group(json!({
        "displayName": "AWS 333333333333 - Dev", "mailEnabled": false, "securityEnabled": true,
        "mailNickname": "AWS-333333333333-Dev",
        "owners@odata.bind": [format!("{}/v1.0/directoryObjects/{CLIENT_SP}", emu.base)],
    }))
    .await;
    let path = format!(
        "/v1.0/servicePrincipals/{CLIENT_SP}/ownedObjects/microsoft.graph.group?$select=id,displayName"
    );
    let first = emu.get(&path).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let (items, pages) = emu.all_pages(first).await;
    let mut names: Vec<&str> = items
        .iter()
        .map(|g| g["displayName"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "AWS 111111111111 - Admin",
            "AWS 222222222222 - Role2",
            "AWS 333333333333 - Dev"
        ]
    );
    assert_eq!(pages, 1);
    assert!(items.iter().all(|g| g.as_object().unwrap().len() == 2));
    let unknown = emu
        .get("/v1.0/servicePrincipals/00000000-0000-0000-0000-00000000dead/ownedObjects/microsoft.graph.group")
        .await;
    assert_eq!(unknown.status, 404, "{}", unknown.body);
}

#[tokio::test]
async fn a_security_group_is_created_with_its_owner() {
    let emu = start(seed()).await;
    let reply = emu
        .create_group(json!({
            "displayName": "AWS 333333333333 - Dev",
            "mailEnabled": false,
            "securityEnabled": true,
            "mailNickname": "AWS-333333333333-Dev",
            "description": "made by a test",
            "owners@odata.bind": [format!("https://graph.microsoft.com/v1.0/servicePrincipals/{CLIENT_SP}")],
        }))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let id = reply.body["id"].as_str().unwrap();
    assert!(uuid::Uuid::try_parse(id).is_ok(), "{id}");
    assert!(reply.body["createdDateTime"].is_string());
    assert_eq!(reply.body["securityEnabled"], true);
    assert!(reply.body.get("owners@odata.bind").is_none());
    assert!(reply.headers.contains_key("location"));

    let state = emu.state().await;
    let stored = state["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == id)
        .unwrap();
    assert_eq!(stored["owners"], json!([CLIENT_SP]));

    let found = emu
        .groups(&[("$filter", "displayName eq 'AWS 333333333333 - Dev'")])
        .await;
    assert_eq!(found.body["value"][0]["id"], id);

    // Display names need not be unique; a directoryObjects bind with the emulator's URL works.
    let again = emu
        .create_group(json!({
            "displayName": "AWS 333333333333 - Dev", "mailEnabled": false,
            "securityEnabled": true, "mailNickname": "AWS-333333333333-Dev-2",
            "owners@odata.bind": [format!("{}/v1.0/directoryObjects/{CLIENT_SP}", emu.base)],
        }))
        .await;
    assert_eq!(again.status, 201, "{}", again.body);
}

#[tokio::test]
async fn group_creation_rules_name_the_property() {
    let emu = start(seed()).await;
    let valid = json!({"displayName": "G", "mailEnabled": false, "securityEnabled": true,
        "mailNickname": "g-1"});
    let with = |key: &str, value: Value| {
        let mut body = valid.clone();
        body[key] = value;
        body
    };
    let without = |key: &str| {
        let mut body = valid.clone();
        body.as_object_mut().unwrap().remove(key);
        body
    };
    let mut cases = vec![
        (without("displayName"), "displayName"),
        (without("mailNickname"), "mailNickname"),
        (without("mailEnabled"), "mailEnabled"),
        (without("securityEnabled"), "securityEnabled"),
        (with("displayName", json!("x".repeat(257))), "displayName"),
        (with("mailEnabled", json!(true)), "mailEnabled"),
        (with("securityEnabled", json!(false)), "securityEnabled"),
        (with("mailNickname", json!("x".repeat(65))), "mailNickname"),
        (with("mailNickname", json!("")), "mailNickname"),
        (with("mailNickname", json!("café")), "mailNickname"),
        (with("groupTypes", json!(["Unified"])), "groupTypes"),
        (with("members@odata.bind", json!([])), "members@odata.bind"),
        (
            with(
                "owners@odata.bind",
                json!([
                    "https://graph.microsoft.com/v1.0/servicePrincipals/99999999-9999-4999-8999-999999999999"
                ]),
            ),
            "owners@odata.bind",
        ),
        (
            with(
                "owners@odata.bind",
                json!([format!("https://graph.microsoft.com/v1.0/groups/{G_ADMIN}")]),
            ),
            "owners@odata.bind",
        ),
    ];
    for c in "@()\\[]\";:.<>, ".chars() {
        cases.push((
            with("mailNickname", json!(format!("a{c}b"))),
            "mailNickname",
        ));
    }
    for (body, property) in cases {
        let reply = emu.create_group(body.clone()).await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.body);
        assert_eq!(reply.code(), "Request_BadRequest");
        assert!(
            reply.message().contains(property),
            "{property}: {}",
            reply.message()
        );
    }
    assert_eq!(
        emu.create_group(with("displayName", json!("x".repeat(256))))
            .await
            .status,
        201
    );
    assert_eq!(
        emu.state().await["groups"].as_array().unwrap().len(),
        9,
        "one created"
    );
}

#[tokio::test]
async fn mail_nicknames_are_unique_ignoring_case() {
    let emu = start(seed()).await;
    let reply = emu
        .create_group(json!({"displayName": "Other", "mailEnabled": false,
            "securityEnabled": true, "mailNickname": "aws-111111111111-ADMIN"}))
        .await;
    assert_eq!(reply.status, 400);
    assert!(
        reply.message().contains("mailNickname"),
        "{}",
        reply.message()
    );
}

// ---------------------------------------------------------------- app role assignments

#[tokio::test]
async fn a_group_is_assigned_to_an_enabled_role() {
    let emu = start(seed()).await;
    let reply = emu.assign(G_OBRIEN, ADMIN).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    for (key, value) in [
        ("principalId", G_OBRIEN),
        ("principalType", "Group"),
        ("principalDisplayName", "O'Brien's team"),
        ("resourceId", SP),
        ("appRoleId", ADMIN),
    ] {
        assert_eq!(reply.body[key], value, "{key}");
    }
    assert!(reply.body["createdDateTime"].is_string());
    let id = reply.body["id"].as_str().unwrap();
    assert_eq!(id.len(), 43, "Graph assignment ids are not GUIDs: {id}");

    let first = emu
        .get(&format!("/v1.0/servicePrincipals/{SP}/appRoleAssignedTo"))
        .await;
    let (items, _) = emu.all_pages(first).await;
    assert_eq!(items.len(), 2);
    assert!(items.iter().any(|a| a["id"] == id));

    let again = emu.assign(G_OBRIEN, ADMIN).await;
    assert_eq!(again.status, 400);
    assert!(
        again.message().contains("already exists"),
        "{}",
        again.message()
    );
}

#[tokio::test]
async fn assignments_to_a_missing_or_disabled_role_are_refused() {
    let emu = start(seed()).await;
    let missing = emu
        .assign(G_OBRIEN, "99999999-9999-4999-8999-999999999999")
        .await;
    assert_eq!(
        (missing.status.as_u16(), missing.code()),
        (400, "Request_BadRequest")
    );
    assert!(
        missing.message().contains("not found"),
        "{}",
        missing.message()
    );

    let disabled = emu.assign(G_OBRIEN, OLD).await;
    assert_eq!(disabled.status, 400);
    assert!(
        disabled.message().contains("disabled"),
        "{}",
        disabled.message()
    );

    let no_group = emu
        .assign("99999999-9999-4999-8999-999999999999", ADMIN)
        .await;
    assert_eq!(no_group.status, 404);

    let wrong_resource = emu
        .graph(
            Method::POST,
            &format!("/v1.0/servicePrincipals/{SP}/appRoleAssignedTo"),
            Some(json!({"principalId": G_OBRIEN, "resourceId": CLIENT_SP, "appRoleId": ADMIN})),
        )
        .await;
    assert_eq!(wrong_resource.status, 400);
    assert!(wrong_resource.message().contains("resourceId"));

    let missing_field = emu
        .graph(
            Method::POST,
            &format!("/v1.0/servicePrincipals/{SP}/appRoleAssignedTo"),
            Some(json!({"principalId": G_OBRIEN, "resourceId": SP})),
        )
        .await;
    assert!(missing_field.message().contains("appRoleId"));
    assert_eq!(
        emu.state().await["assignments"].as_array().unwrap().len(),
        1
    );
}

#[tokio::test]
async fn an_assignment_is_deleted_once() {
    let emu = start(seed()).await;
    let id = emu.state().await["assignments"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/v1.0/servicePrincipals/{SP}/appRoleAssignedTo/{id}");
    let reply = emu.graph(Method::DELETE, &path, None).await;
    assert_eq!(reply.status, 204);
    assert_eq!(emu.state().await["assignments"], json!([]));
    let again = emu.graph(Method::DELETE, &path, None).await;
    assert_eq!(
        (again.status.as_u16(), again.code()),
        (404, "Request_ResourceNotFound")
    );
}

// ---------------------------------------------------------------- faults

#[tokio::test]
async fn a_429_with_retry_after_for_n_requests_then_success() {
    let emu = start(seed()).await;
    emu.token().await;
    emu.set_faults(
        json!([{"method": "GET", "path_regex": "^/v1\\.0/groups$", "times": 2,
        "action": {"status": 429, "retry_after_secs": 7}}]),
    )
    .await;
    for _ in 0..2 {
        let reply = emu.get("/v1.0/groups").await;
        assert_eq!(
            (reply.status.as_u16(), reply.code()),
            (429, "TooManyRequests")
        );
        assert_eq!(reply.headers["retry-after"], "7");
    }
    assert_eq!(emu.get("/v1.0/groups").await.status, 200);
    // Other paths and methods were never affected.
    let faults = emu.state().await["faults"].clone();
    assert_eq!(faults[0]["times_left"], 0, "{faults}");
}

#[tokio::test]
async fn a_503_and_faults_on_the_token_endpoint() {
    let emu = start(seed()).await;
    emu.set_faults(json!({"path_regex": "/oauth2/", "action": {"status": 503}}))
        .await;
    let reply = emu
        .token_request(TENANT, &secret_form(CLIENT_ID, CLIENT_SECRET))
        .await;
    assert_eq!(reply.status, 503);
    assert_eq!(reply.body["error"], "temporarily_unavailable");
    assert!(!emu.token().await.is_empty(), "one hit only");

    emu.set_faults(json!([{"times": "forever", "action": {"status": 503}}]))
        .await;
    for _ in 0..3 {
        let reply = emu.get(&format!("/v1.0/servicePrincipals/{SP}")).await;
        assert_eq!(reply.status, 503);
        assert_eq!(reply.code(), "serviceNotAvailable");
    }
    let cleared = emu.control(Method::DELETE, "/_emulator/faults", None).await;
    assert_eq!(cleared.status, 204);
    assert_eq!(
        emu.get(&format!("/v1.0/servicePrincipals/{SP}"))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn a_delay_slows_the_answer_down() {
    let emu = start(seed()).await;
    emu.token().await;
    emu.set_faults(
        json!([{"path_regex": "^/v1\\.0/servicePrincipals/", "after": 1,
        "action": {"delay_ms": 300}}]),
    )
    .await;
    let path = format!("/v1.0/servicePrincipals/{SP}");
    let started = Instant::now();
    assert_eq!(emu.get(&path).await.status, 200);
    let fast = started.elapsed();
    let started = Instant::now();
    assert_eq!(emu.get(&path).await.status, 200);
    let slow = started.elapsed();
    assert!(slow >= Duration::from_millis(300), "{slow:?}");
    assert!(
        fast < Duration::from_millis(300),
        "after: 1 let the first through: {fast:?}"
    );
}

#[tokio::test]
async fn bad_fault_rules_are_refused() {
    let emu = start(seed()).await;
    let reply = emu
        .control(
            Method::POST,
            "/_emulator/faults",
            Some(json!([{"action": {"status": 200}}])),
        )
        .await;
    assert_eq!(reply.status, 400);
    assert!(reply.message().contains("faults[0]"), "{}", reply.message());
}

#[tokio::test]
async fn seed_faults_apply_from_the_start_and_come_back_on_reset() {
    let mut s = seed();
    s["faults"] = json!([{"method": "POST", "path_regex": "/oauth2/", "action": {"status": 429, "retry_after_secs": 1}}]);
    let emu = start(s).await;
    let form = secret_form(CLIENT_ID, CLIENT_SECRET);
    assert_eq!(emu.token_request(TENANT, &form).await.status, 429);
    assert_eq!(emu.token_request(TENANT, &form).await.status, 200);
    emu.control(Method::POST, "/_emulator/reset", None).await;
    assert_eq!(emu.token_request(TENANT, &form).await.status, 429);
}

// ---------------------------------------------------------------- control and plumbing

#[tokio::test]
async fn reset_returns_to_the_seed() {
    let emu = start(seed()).await;
    let created = emu
        .create_group(json!({"displayName": "Temp", "mailEnabled": false,
            "securityEnabled": true, "mailNickname": "temp"}))
        .await;
    assert_eq!(created.status, 201);
    let mut roles = emu.app_roles().await;
    roles.push(new_role("Dev"));
    assert_eq!(emu.patch_roles(roles).await.status, 204);

    let before = emu.state().await;
    assert_eq!(before["writes"].as_array().unwrap().len(), 2);
    let reply = emu.control(Method::POST, "/_emulator/reset", None).await;
    assert_eq!(reply.status, 204);
    let after = emu.state().await;
    assert_eq!(after["groups"].as_array().unwrap().len(), 8);
    assert_eq!(
        after["service_principal"]["appRoles"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(after["writes"], json!([]));
    assert_eq!(
        emu.get(&format!("/v1.0/servicePrincipals/{SP}"))
            .await
            .status,
        200,
        "tokens survive a reset"
    );
}

#[tokio::test]
async fn the_state_endpoint_logs_graph_writes_only() {
    let emu = start(seed()).await;
    emu.get("/v1.0/groups").await;
    emu.assign(G_RND, ADMIN).await;
    emu.assign(G_RND, OLD).await;
    let state = emu.state().await;
    let writes: Vec<(String, u64)> = state["writes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                format!(
                    "{} {}",
                    w["method"].as_str().unwrap(),
                    w["path"].as_str().unwrap()
                ),
                w["status"].as_u64().unwrap(),
            )
        })
        .collect();
    let path = format!("POST /v1.0/servicePrincipals/{SP}/appRoleAssignedTo");
    assert_eq!(writes, [(path.clone(), 201), (path, 400)]);
    assert_eq!(state["tenant_id"], TENANT);
    let text = state.to_string();
    assert!(!text.contains(CLIENT_SECRET), "no secrets in the state");
    assert!(!text.contains(&emu.token().await), "no tokens in the state");
}

#[tokio::test]
async fn every_response_carries_request_ids_and_unknown_routes_are_graph_404s() {
    let emu = start(seed()).await;
    let response = emu
        .http
        .get(emu.url("/v1.0/applications"))
        .bearer_auth(emu.token().await)
        .header("client-request-id", "my-correlation-1")
        .send()
        .await
        .unwrap();
    let reply = Running::reply(response).await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.code(), "NotFound");
    assert_eq!(reply.headers["client-request-id"], "my-correlation-1");
    assert_eq!(
        reply.body["error"]["innerError"]["client-request-id"],
        "my-correlation-1"
    );
    assert!(reply.headers.contains_key("request-id"));

    let wrong_method = emu.graph(Method::DELETE, "/v1.0/groups", None).await;
    assert_eq!(
        (wrong_method.status.as_u16(), wrong_method.code()),
        (404, "NotFound")
    );

    let elsewhere = emu.control(Method::GET, "/", None).await;
    assert_eq!(elsewhere.status, 404);
    assert!(elsewhere.headers.contains_key("request-id"));

    let token = emu
        .token_request(TENANT, &secret_form(CLIENT_ID, CLIENT_SECRET))
        .await;
    assert!(token.headers.contains_key("request-id"));
}

#[test]
fn seeds_graph_could_not_hold_are_refused() {
    let cases = [
        (json!({"tenant_id": TENANT}), "clients"),
        (
            {
                let mut s = seed();
                s["service_principal"]["appRoles"][2]["id"] = json!(ADMIN);
                s
            },
            "repeats the id",
        ),
        (
            {
                let mut s = seed();
                s["clients"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("client_secret");
                s
            },
            "clients[0]",
        ),
        (
            {
                let mut s = seed();
                s["clients"][1]["certificate_pem"] = json!("nope");
                s
            },
            "clients[1]: certificate_pem",
        ),
        (
            {
                let mut s = seed();
                s["groups"][1]["mailNickname"] = json!("aws-111111111111-admin");
                s
            },
            "groups[1]",
        ),
        (
            {
                let mut s = seed();
                s["assignments"] =
                    json!([{"principalId": G_ADMIN, "appRoleId": MSIAM.replace('7', "8")}]);
                s
            },
            "assignments[0]",
        ),
        (
            {
                let mut s = seed();
                s["page_size"] = json!(0);
                s
            },
            "page_size",
        ),
        (
            {
                let mut s = seed();
                s["surprise"] = json!(1);
                s
            },
            "surprise",
        ),
    ];
    for (seed, expected) in cases {
        let err = emulator::Seed::from_json(&seed.to_string())
            .unwrap_err()
            .to_string();
        assert!(err.contains(expected), "{expected}: {err}");
    }
}

#[test]
fn the_example_seed_is_valid() {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples/graph-emulator/seed.example.json"),
    )
    .unwrap();
    let seed = emulator::Seed::from_json(&text).unwrap();
    assert_eq!(seed.paging.default, 3);
    assert!(
        !format!("{seed:?}").contains("local-emulator-secret"),
        "Debug hides secrets"
    );
}

// ---------------------------------------------------------------- the example binary

/// `target/<profile>/examples/graph-emulator`, next to this test binary's `deps/` folder, so it
/// follows `CARGO_TARGET_DIR`. `cargo test` builds examples before it runs tests.
fn emulator_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe
        .parent()
        .and_then(std::path::Path::parent)
        .expect("the test binary lives in target/<profile>/deps");
    let binary = profile_dir
        .join("examples")
        .join(format!("graph-emulator{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.exists(),
        "{} is missing: run the whole `cargo test` (it builds examples) or `cargo build --example graph-emulator` first",
        binary.display()
    );
    binary
}

#[tokio::test]
async fn the_example_binary_prints_its_address_serves_and_stops_on_sigterm() {
    use std::io::{BufRead, BufReader, Read};
    use std::process::{Command, Stdio};

    let dir = tempfile::tempdir().unwrap();
    let seed_path = dir.path().join("seed.json");
    std::fs::write(&seed_path, seed().to_string()).unwrap();
    let mut child = Command::new(emulator_binary())
        .args([
            "--seed",
            seed_path.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        let _ = tx.send(lines.next());
        // Anything more on stdout would break the one-line contract.
        let _ = tx.send(lines.next());
    });
    let line = match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(Some(Ok(line))) => line,
        other => {
            let _ = child.kill();
            panic!("no listening line: {other:?}");
        }
    };
    let base = line
        .strip_prefix("graph-emulator listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");

    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let token = http
        .post(format!("{base}/{TENANT}/oauth2/v2.0/token"))
        .form(&secret_form(CLIENT_ID, CLIENT_SECRET))
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 200);
    let token: Value = token.json().await.unwrap();
    let access_token = token["access_token"].as_str().unwrap().to_owned();
    let sp = http
        .get(format!("{base}/v1.0/servicePrincipals/{SP}"))
        .bearer_auth(&access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(sp.status(), 200);

    #[cfg(unix)]
    {
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
    #[cfg(not(unix))]
    let _ = child.kill();
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the emulator did not stop within 10 s of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    #[cfg(unix)]
    {
        assert!(exit.success(), "{exit:?}\n{stderr}");
        assert!(stderr.contains("shutting down"), "{stderr}");
    }
    let _ = exit;
    assert!(stderr.contains("/oauth2/v2.0/token -> 200"), "{stderr}");
    assert!(
        !stderr.contains(CLIENT_SECRET),
        "no secret in the log:\n{stderr}"
    );
    assert!(!stderr.contains(&access_token), "no token in the log");
    assert!(
        matches!(rx.recv_timeout(Duration::from_secs(5)), Ok(None)),
        "one line on stdout, nothing after it"
    );
}
