//! fake_aws: a purpose-built local AWS endpoint for the benchmark. It speaks the real wire
//! protocols of the calls fedsync makes, so the real SDK clients and fedsync's real code path
//! run against it:
//!
//! - Organizations, AWS JSON 1.1 (`X-Amz-Target: AWSOrganizationsV20161128.ListAccounts`),
//!   `MaxResults`/`NextToken` honoured;
//! - STS and IAM, the query protocol (form-encoded `POST /`, XML answers): `GetCallerIdentity`,
//!   `AssumeRole`, `ListSAMLProviders`, `GetSAMLProvider`, `ListRoles` (`MaxItems`/`Marker`, trust
//!   policies URL-encoded as real IAM sends them);
//! - S3, path style, just enough for the run lease and the backup: `PutObject` (with
//!   `If-None-Match: *` / `If-Match`), `GetObject`, `DeleteObject`.
//!
//! Every AWS request waits a fixed `latency` before it is answered, and is counted by operation
//! (`GET /_fake/calls`, `POST /_fake/calls/reset`; those, and `POST /_fake/org?accounts=N`
//! which resizes the Organization, are neither delayed nor counted).
//! TCP connections accepted are counted too. Credentials are not checked; `AssumeRole` hands out
//! an access key that names the account (`ASIA<account id>`), and IAM answers for the account
//! the request's `Authorization` credential names, so each account is read with its own keys.
//! Nothing here is used by fedsync itself: it is an example's file, built with dev-dependencies.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::serve::ListenerExt;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// Our Entra app's federation metadata: the test fixture whose entity id and certificate
/// thumbprint the benchmark's settings match (see `tests/fixtures/metadata/README.md`).
pub const OUR_METADATA: &str = include_str!("../../tests/fixtures/metadata/entra.xml");
/// The fixture's `entityID`.
pub const ENTITY_ID: &str = "https://sts.windows.net/3f1c6a52-8d0b-4c7e-9a21-5e6b7d8c9f10/";
/// SHA-256 of the fixture's signing certificate (`idp-signing.pem`).
pub const OUR_CERT_SHA256: &str = "9C:F7:39:01:B6:AB:47:10:D8:44:86:F6:6A:85:B0:BD:3F:82:63:26:F3:68:4D:3D:59:E0:DD:B2:48:B6:89:67";
/// The management account: the one the base credentials act in.
pub const MANAGEMENT: u64 = 100_000_000_000;
/// The SAML provider every account has.
pub const PROVIDER: &str = "AzureAD";

/// The Organization the fake serves, and how slowly.
#[derive(Clone, Debug)]
pub struct OrgSpec {
    /// Accounts, the management account included.
    pub accounts: usize,
    /// Roles per account that trust our SAML provider.
    pub federated_roles: usize,
    /// Roles per account that trust an AWS service instead.
    pub other_roles: usize,
    /// Wait before every answer.
    pub latency: Duration,
    /// The SAML metadata documents the providers carry: account `i`'s is `metadata[i % len]`
    /// (several Entra apps, each signing with its own certificate). Our fixture's by default;
    /// `POST /_fake/org/metadata` with a JSON array of documents replaces them.
    pub metadata: Arc<Vec<String>>,
}

impl OrgSpec {
    /// Account ids: the management account, then one per member.
    pub fn account_id(index: usize) -> String {
        format!("{:012}", MANAGEMENT + index as u64)
    }

    /// The metadata document of the provider in `account`.
    fn metadata_of(&self, account: &str) -> &str {
        let index = self.account_index(account).unwrap_or(0);
        self.metadata
            .get(index % self.metadata.len().max(1))
            .map_or(OUR_METADATA, String::as_str)
    }

    fn account_index(&self, id: &str) -> Option<usize> {
        let n: u64 = id.parse().ok().filter(|_| id.len() == 12)?;
        let index = usize::try_from(n.checked_sub(MANAGEMENT)?).ok()?;
        (index < self.accounts).then_some(index)
    }
}

struct Fake {
    spec: RwLock<OrgSpec>,
    /// Token buckets per (operation, caller account), when rate limits are on.
    limits: Mutex<Option<HashMap<(String, String), Bucket>>>,
    calls: Mutex<BTreeMap<String, u64>>,
    connections: AtomicU64,
    objects: Mutex<HashMap<String, (Bytes, String)>>,
    etags: AtomicU64,
}

type Shared = Arc<Fake>;

/// Serves the fake on `listener` until the task ends.
pub async fn serve(spec: OrgSpec, listener: TcpListener) -> std::io::Result<()> {
    let fake = Arc::new(Fake {
        spec: RwLock::new(spec),
        limits: Mutex::new(None),
        calls: Mutex::new(BTreeMap::new()),
        connections: AtomicU64::new(0),
        objects: Mutex::new(HashMap::new()),
        etags: AtomicU64::new(0),
    });
    let counted = fake.clone();
    let listener = listener.tap_io(move |_| {
        counted.connections.fetch_add(1, Ordering::Relaxed);
    });
    let app = Router::new().fallback(handle).with_state(fake);
    axum::serve(listener, app).await
}

async fn handle(
    State(fake): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match (method.as_str(), uri.path()) {
        ("GET", "/_fake/calls") => return calls_json(&fake).into_response(),
        ("POST", "/_fake/calls/reset") => {
            fake.calls.lock().unwrap_or_else(|e| e.into_inner()).clear();
            fake.connections.store(0, Ordering::Relaxed);
            return StatusCode::NO_CONTENT.into_response();
        }
        ("POST", "/_fake/throttle") => {
            // `?on=1` turns the per-API rate limits on (fresh, full buckets), `?on=0` off.
            let on = form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
                .any(|(k, v)| k == "on" && v == "1");
            *fake.limits.lock().unwrap_or_else(|e| e.into_inner()) = on.then(HashMap::new);
            return StatusCode::NO_CONTENT.into_response();
        }
        ("POST", "/_fake/org/metadata") => {
            return match serde_json::from_slice::<Vec<String>>(&body) {
                Ok(documents) if !documents.is_empty() => {
                    fake.spec
                        .write()
                        .unwrap_or_else(|e| e.into_inner())
                        .metadata = Arc::new(documents);
                    StatusCode::NO_CONTENT.into_response()
                }
                _ => StatusCode::BAD_REQUEST.into_response(),
            };
        }
        ("POST", "/_fake/org") => {
            let accounts = form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
                .find(|(k, _)| k == "accounts")
                .and_then(|(_, v)| v.parse::<usize>().ok());
            return match accounts {
                Some(n) if n > 0 => {
                    fake.spec
                        .write()
                        .unwrap_or_else(|e| e.into_inner())
                        .accounts = n;
                    StatusCode::NO_CONTENT.into_response()
                }
                _ => StatusCode::BAD_REQUEST.into_response(),
            };
        }
        _ => {}
    }
    let spec = fake.spec.read().unwrap_or_else(|e| e.into_inner()).clone();
    let (operation, response) = if let Some(target) = headers.get("x-amz-target") {
        let target = target.to_str().unwrap_or_default().to_owned();
        let operation = target.rsplit('.').next().unwrap_or_default().to_owned();
        (operation.clone(), organizations(&spec, &operation, &body))
    } else if method == Method::POST && uri.path() == "/" {
        let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
        let action = form.get("Action").cloned().unwrap_or_default();
        let account = caller_account(&spec, &headers);
        match throttled(&fake, &action, &account) {
            // Counted apart: the calls of an operation are those it answered.
            true => (
                format!("throttled {action}"),
                query_error(StatusCode::BAD_REQUEST, "Throttling", "Rate exceeded"),
            ),
            false => (action.clone(), query(&spec, &action, &form, &account)),
        }
    } else {
        let operation = match method.as_str() {
            "PUT" => "s3:PutObject",
            "GET" => "s3:GetObject",
            "DELETE" => "s3:DeleteObject",
            _ => "s3:unsupported",
        };
        (
            operation.to_owned(),
            s3(&fake, &method, uri.path(), &headers, body),
        )
    };
    *fake
        .calls
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(operation)
        .or_default() += 1;
    tokio::time::sleep(spec.latency).await;
    response
}

/// Calls per second each operation allows per caller account when rate limits are on, as real
/// STS and IAM enforce them (their published figures differ by account and region; these are the
/// issue's): `AssumeRole` 100/s per caller, `ListRoles` 20/s per account. Each is a token bucket
/// holding one second's calls.
pub const RATE_LIMITS: [(&str, f64); 2] = [("AssumeRole", 100.0), ("ListRoles", 20.0)];

/// A token bucket: `tokens` left, refilled at `rate` a second up to `rate`.
struct Bucket {
    tokens: f64,
    rate: f64,
    at: std::time::Instant,
}

/// Takes a token for `operation` by `caller`; `true` (throttled) when its bucket is empty.
fn throttled(fake: &Fake, operation: &str, caller: &str) -> bool {
    let mut limits = fake.limits.lock().unwrap_or_else(|e| e.into_inner());
    let Some(buckets) = limits.as_mut() else {
        return false;
    };
    let Some((_, rate)) = RATE_LIMITS.iter().find(|(op, _)| *op == operation) else {
        return false;
    };
    let now = std::time::Instant::now();
    let bucket = buckets
        .entry((operation.to_owned(), caller.to_owned()))
        .or_insert(Bucket {
            tokens: *rate,
            rate: *rate,
            at: now,
        });
    bucket.tokens = (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * bucket.rate)
        .min(bucket.rate);
    bucket.at = now;
    if bucket.tokens >= 1.0 {
        bucket.tokens -= 1.0;
        false
    } else {
        true
    }
}

fn calls_json(fake: &Fake) -> axum::Json<Value> {
    let calls = fake.calls.lock().unwrap_or_else(|e| e.into_inner()).clone();
    axum::Json(json!({
        "calls": calls,
        "connections": fake.connections.load(Ordering::Relaxed),
    }))
}

/// The account the request's credentials act in: `ASIA<account id>` keys from `AssumeRole`,
/// anything else the management account's.
fn caller_account(spec: &OrgSpec, headers: &HeaderMap) -> String {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let key = auth
        .split("Credential=")
        .nth(1)
        .and_then(|c| c.split('/').next())
        .unwrap_or_default();
    key.strip_prefix("ASIA")
        .filter(|id| spec.account_index(id).is_some())
        .map_or_else(|| OrgSpec::account_id(0), str::to_owned)
}

fn organizations(spec: &OrgSpec, operation: &str, body: &[u8]) -> Response {
    if operation != "ListAccounts" {
        return json_error(
            "UnsupportedAPIEndpointException",
            &format!("the benchmark's fake does not implement {operation}"),
        );
    }
    let input: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let max = input["MaxResults"].as_u64().unwrap_or(20).clamp(1, 20) as usize;
    let start = match input["NextToken"].as_str() {
        None => 0,
        Some(token) => match token.parse::<usize>() {
            Ok(start) if start < spec.accounts => start,
            _ => return json_error("InvalidInputException", "invalid NextToken"),
        },
    };
    let end = (start + max).min(spec.accounts);
    let accounts: Vec<Value> = (start..end)
        .map(|i| {
            let id = OrgSpec::account_id(i);
            json!({
                "Id": id,
                "Arn": format!("arn:aws:organizations::{}:account/o-bench/{id}", OrgSpec::account_id(0)),
                "Email": format!("bench+{i}@example.com"),
                "Name": if i == 0 { "management".to_owned() } else { format!("member-{i:05}") },
                "State": "ACTIVE",
                "Status": "ACTIVE",
                "JoinedMethod": if i == 0 { "INVITED" } else { "CREATED" },
                "JoinedTimestamp": 1_700_000_000.0,
            })
        })
        .collect();
    let mut out = json!({ "Accounts": accounts });
    if end < spec.accounts {
        out["NextToken"] = Value::from(end.to_string());
    }
    let mut response = (StatusCode::OK, out.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    response
}

fn json_error(code: &str, message: &str) -> Response {
    let mut response = (
        StatusCode::BAD_REQUEST,
        json!({ "__type": code, "Message": message }).to_string(),
    )
        .into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    response
}

/// STS and IAM: the query protocol.
fn query(spec: &OrgSpec, action: &str, form: &HashMap<String, String>, account: &str) -> Response {
    let result = match action {
        "GetCallerIdentity" => format!(
            "<Arn>arn:aws:iam::{account}:user/bench</Arn><UserId>AIDABENCH</UserId><Account>{account}</Account>"
        ),
        "AssumeRole" => {
            let role_arn = form.get("RoleArn").map_or("", String::as_str);
            let target = role_arn
                .strip_prefix("arn:aws:iam::")
                .and_then(|rest| rest.split_once(":role/"));
            let Some((target, role)) = target.filter(|(id, _)| spec.account_index(id).is_some())
            else {
                return query_error(
                    StatusCode::FORBIDDEN,
                    "AccessDenied",
                    &format!("not authorized to perform sts:AssumeRole on {role_arn}"),
                );
            };
            let session = form.get("RoleSessionName").map_or("", String::as_str);
            let expires = (time::OffsetDateTime::now_utc() + time::Duration::hours(1))
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            format!(
                "<Credentials><AccessKeyId>ASIA{target}</AccessKeyId><SecretAccessKey>bench-secret</SecretAccessKey>\
                 <SessionToken>bench-session-{target}</SessionToken><Expiration>{expires}</Expiration></Credentials>\
                 <AssumedRoleUser><AssumedRoleId>AROABENCH:{session}</AssumedRoleId>\
                 <Arn>arn:aws:sts::{target}:assumed-role/{role}/{session}</Arn></AssumedRoleUser>"
            )
        }
        "ListSAMLProviders" => format!(
            "<SAMLProviderList><member><Arn>{}</Arn><ValidUntil>2035-01-01T00:00:00Z</ValidUntil>\
             <CreateDate>2024-01-01T00:00:00Z</CreateDate></member></SAMLProviderList>",
            provider_arn(account)
        ),
        "GetSAMLProvider" => {
            let arn = form.get("SAMLProviderArn").map_or("", String::as_str);
            if arn != provider_arn(account) {
                return query_error(
                    StatusCode::NOT_FOUND,
                    "NoSuchEntity",
                    &format!("SAML provider {arn} not found"),
                );
            }
            format!(
                "<SAMLMetadataDocument>{}</SAMLMetadataDocument><CreateDate>2024-01-01T00:00:00Z</CreateDate>\
                 <ValidUntil>2035-01-01T00:00:00Z</ValidUntil>",
                xml_escape(spec.metadata_of(account))
            )
        }
        "ListRoles" => {
            let total = spec.federated_roles + spec.other_roles;
            let max = form
                .get("MaxItems")
                .and_then(|m| m.parse::<usize>().ok())
                .unwrap_or(100)
                .clamp(1, 1000);
            let start = form
                .get("Marker")
                .and_then(|m| m.parse::<usize>().ok())
                .unwrap_or(0)
                .min(total);
            let end = (start + max).min(total);
            let mut out = String::new();
            out.push_str(&format!("<IsTruncated>{}</IsTruncated>", end < total));
            if end < total {
                out.push_str(&format!("<Marker>{end}</Marker>"));
            }
            out.push_str("<Roles>");
            for i in start..end {
                out.push_str(&role_xml(account, i, spec.federated_roles));
            }
            out.push_str("</Roles>");
            out
        }
        other => {
            return query_error(
                StatusCode::BAD_REQUEST,
                "InvalidAction",
                &format!("the benchmark's fake does not implement {other}"),
            );
        }
    };
    let namespace = if matches!(action, "GetCallerIdentity" | "AssumeRole") {
        "https://sts.amazonaws.com/doc/2011-06-15/"
    } else {
        "https://iam.amazonaws.com/doc/2010-05-08/"
    };
    let xml = format!(
        "<{action}Response xmlns=\"{namespace}\"><{action}Result>{result}</{action}Result>\
         <ResponseMetadata><RequestId>bench</RequestId></ResponseMetadata></{action}Response>"
    );
    xml_response(StatusCode::OK, xml)
}

fn provider_arn(account: &str) -> String {
    format!("arn:aws:iam::{account}:saml-provider/{PROVIDER}")
}

/// Role `i` of an account: federated (trusts our provider) for the first `federated`, else a
/// service role.
fn role_xml(account: &str, i: usize, federated: usize) -> String {
    let (name, trust) = if i < federated {
        let trust = json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn(account)},
                "Action": "sts:AssumeRoleWithSAML",
                "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}}
            }]
        });
        (format!("Federated{i:03}"), trust)
    } else {
        let trust = json!({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
        });
        (format!("Service{i:03}"), trust)
    };
    // Real IAM sends the trust policy URL-encoded.
    let trust = utf8_percent_encode(&trust.to_string(), NON_ALPHANUMERIC).to_string();
    format!(
        "<member><Path>/</Path><RoleName>{name}</RoleName><RoleId>AROA{account}{i:05}</RoleId>\
         <Arn>arn:aws:iam::{account}:role/{name}</Arn><CreateDate>2024-01-01T00:00:00Z</CreateDate>\
         <AssumeRolePolicyDocument>{trust}</AssumeRolePolicyDocument><MaxSessionDuration>3600</MaxSessionDuration></member>"
    )
}

fn query_error(status: StatusCode, code: &str, message: &str) -> Response {
    xml_response(
        status,
        format!(
            "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{}</Message></Error>\
             <RequestId>bench</RequestId></ErrorResponse>",
            xml_escape(message)
        ),
    )
}

fn xml_response(status: StatusCode, xml: String) -> Response {
    let mut response = (status, xml).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
    response
}

fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// S3, path style (`/bucket/key`): objects in memory, conditional puts as S3 does them.
fn s3(fake: &Fake, method: &Method, path: &str, headers: &HeaderMap, body: Bytes) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let mut objects = fake.objects.lock().unwrap_or_else(|e| e.into_inner());
    let existing = objects.get(path).cloned();
    match *method {
        Method::PUT => {
            if header("content-encoding").is_some_and(|e| e.contains("aws-chunked")) {
                return s3_error(
                    StatusCode::NOT_IMPLEMENTED,
                    "NotImplemented",
                    "aws-chunked bodies",
                );
            }
            let refused = match (header("if-none-match"), header("if-match"), &existing) {
                (Some("*"), _, Some(_)) => true,
                (_, Some(want), Some((_, etag))) => want != etag,
                (_, Some(_), None) => true,
                _ => false,
            };
            if refused {
                return s3_error(
                    StatusCode::PRECONDITION_FAILED,
                    "PreconditionFailed",
                    "At least one of the pre-conditions you specified did not hold",
                );
            }
            let etag = format!("\"{}\"", fake.etags.fetch_add(1, Ordering::Relaxed));
            objects.insert(path.to_owned(), (body, etag.clone()));
            let mut response = StatusCode::OK.into_response();
            if let Ok(value) = HeaderValue::from_str(&etag) {
                response.headers_mut().insert(header::ETAG, value);
            }
            response
        }
        Method::GET => match existing {
            Some((bytes, etag)) => {
                let mut response = (StatusCode::OK, bytes).into_response();
                if let Ok(value) = HeaderValue::from_str(&etag) {
                    response.headers_mut().insert(header::ETAG, value);
                }
                response
            }
            None => s3_error(
                StatusCode::NOT_FOUND,
                "NoSuchKey",
                "The specified key does not exist.",
            ),
        },
        Method::DELETE => {
            objects.remove(path);
            StatusCode::NO_CONTENT.into_response()
        }
        _ => s3_error(
            StatusCode::NOT_IMPLEMENTED,
            "NotImplemented",
            "the benchmark's fake implements PUT, GET and DELETE of objects only",
        ),
    }
}

fn s3_error(status: StatusCode, code: &str, message: &str) -> Response {
    xml_response(
        status,
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{}</Message>\
             <RequestId>bench</RequestId></Error>",
            xml_escape(message)
        ),
    )
}
