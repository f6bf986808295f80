//! fake: AWS IAM outbound identity federation on loopback, in front of moto (which does not
//! serve it). It answers `sts:GetWebIdentityToken` with an RS256 JWT signed by a key it generates
//! when it starts, serves each account's issuer (`{url}/{issuer id}`) with its OpenID discovery
//! document and JWKS, and answers IAM's `EnableOutboundWebIdentityFederation`,
//! `GetOutboundWebIdentityFederationInfo` and `DisableOutboundWebIdentityFederation`. Every other
//! request goes to moto unchanged.
//!
//! As AWS documents it (IAM User Guide, "Getting started with outbound identity federation"; STS
//! API Reference, `GetWebIdentityToken`; IAM API Reference, `EnableOutboundWebIdentityFederation`):
//! - federation is off in an account until enabled; a token request then fails with
//!   `OutboundWebIdentityFederationDisabledException`, enabling twice with `FeatureEnabled` (409),
//!   reading the info of an account where it is off with `FeatureDisabled`;
//! - one issuer URL per account, hosting `/.well-known/openid-configuration` and
//!   `/.well-known/jwks.json`;
//! - a request names 1 to 10 audiences (`Audience.member.N`), `SigningAlgorithm` `RS256` or
//!   `ES384` (only `RS256` here), `DurationSeconds` 60 to 3600 (default 300); the JWT's `iss` is
//!   the account's issuer, `sub` the caller's role ARN (`arn:aws:iam::ACCOUNT:role/NAME` for a
//!   role session), `aud` the audience (an array when several), with `iat`, `nbf`, `exp`, `jti`.
//!
//! The caller is whoever moto says it is: the request's own signed headers are sent to moto as a
//! `GetCallerIdentity` (moto does not check signatures). Used in-process by the tests and as the
//! `outbound-federation` example by the try-out.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};
use x509_parser::prelude::FromDer as _;

/// The signing key's id, in every JWT header and in the JWKS.
pub const KEY_ID: &str = "fake-outbound-federation-1";
const STS_XMLNS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";
const IAM_XMLNS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";
/// Issuer ids are UUIDv5 of the account id under this namespace, so an account keeps its issuer
/// across restarts of the fake (only the port changes).
const ISSUER_NAMESPACE: uuid::Uuid =
    uuid::Uuid::from_u128(0x6f75_7462_6f75_6e64_2d66_6564_2d31_0000);

/// One token the fake issued: what was asked for, what the JWT says, and the JWT (so that a test
/// can check that it never reaches fedsync's output).
#[derive(Clone, Debug)]
pub struct Issued {
    pub jwt: String,
    pub issuer: String,
    pub subject: String,
    pub audiences: Vec<String>,
    pub duration_seconds: i64,
}

struct Signer {
    encoding: jsonwebtoken::EncodingKey,
    jwk: Value,
}

struct State {
    url: String,
    upstream: String,
    enabled_from_start: bool,
    /// Accounts whose federation was enabled (true) or disabled (false) since the start.
    accounts: Mutex<HashMap<String, bool>>,
    issued: Mutex<Vec<Issued>>,
    signer: Signer,
    client: Client<HttpConnector, Full<Bytes>>,
}

/// A running fake on 127.0.0.1; stops when dropped.
pub struct OutboundFederation {
    pub url: String,
    state: Arc<State>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl OutboundFederation {
    /// Starts the fake in front of `upstream` (moto). With `enabled`, federation is on in every
    /// account from the start; otherwise each account enables it through IAM.
    pub fn start(upstream: &str, enabled: bool) -> OutboundFederation {
        let (listener, url) = bind_loopback();
        let state = Arc::new(State {
            url: url.clone(),
            upstream: upstream.trim_end_matches('/').to_owned(),
            enabled_from_start: enabled,
            accounts: Mutex::new(HashMap::new()),
            issued: Mutex::new(Vec::new()),
            signer: signer(),
            client: Client::builder(TokioExecutor::new()).build_http(),
        });
        let stop = serve(listener, Arc::clone(&state), handle);
        OutboundFederation {
            url,
            state,
            stop: Some(stop),
        }
    }

    /// The issuer URL of `account` (whether or not federation is on there).
    pub fn issuer(&self, account: &str) -> String {
        self.state.issuer(account)
    }

    /// The tokens issued so far, oldest first.
    pub fn issued(&self) -> Vec<Issued> {
        self.state.issued.lock().unwrap().clone()
    }
}

impl Drop for OutboundFederation {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A free port on 127.0.0.1, and its `http://` URL.
pub fn bind_loopback() -> (std::net::TcpListener, String) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener
        .set_nonblocking(true)
        .expect("non-blocking listener");
    let url = format!("http://{}", listener.local_addr().expect("bound address"));
    (listener, url)
}

/// Serves HTTP/1 on `listener` with `handle`, given each request's head and whole body, on a
/// thread and runtime of its own (so a test's runtime may block on the `fedsync` binary
/// meanwhile), until the returned sender is used or dropped. The fault proxy in front of moto
/// is served the same way.
pub fn serve<S, F, Fut>(
    listener: std::net::TcpListener,
    state: Arc<S>,
    handle: F,
) -> tokio::sync::oneshot::Sender<()>
where
    S: Send + Sync + 'static,
    F: Fn(Arc<S>, hyper::http::request::Parts, Bytes) -> Fut + Copy + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send + 'static,
{
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime for the server");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
            loop {
                let accepted = tokio::select! {
                    _ = &mut stopped => return,
                    accepted = listener.accept() => accepted,
                };
                let Ok((stream, _)) = accepted else { continue };
                let state = Arc::clone(&state);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let state = Arc::clone(&state);
                        async move {
                            let (parts, body) = req.into_parts();
                            let body = body
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            handle(state, parts, body).await
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
    });
    stop
}

impl State {
    fn issuer(&self, account: &str) -> String {
        format!(
            "{}/{}",
            self.url,
            uuid::Uuid::new_v5(&ISSUER_NAMESPACE, account.as_bytes())
        )
    }

    /// Whether federation is on in `account`; the account is remembered, so its issuer serves.
    fn enabled(&self, account: &str) -> bool {
        *self
            .accounts
            .lock()
            .unwrap()
            .entry(account.to_owned())
            .or_insert(self.enabled_from_start)
    }

    fn set_enabled(&self, account: &str, enabled: bool) {
        self.accounts
            .lock()
            .unwrap()
            .insert(account.to_owned(), enabled);
    }

    /// The account with federation on whose issuer has id `id`, among the accounts that have
    /// called the fake.
    fn account_of_issuer(&self, id: &str) -> Option<String> {
        self.accounts
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, enabled)| **enabled)
            .map(|(account, _)| account.clone())
            .find(|account| {
                uuid::Uuid::new_v5(&ISSUER_NAMESPACE, account.as_bytes()).to_string() == id
            })
    }
}

/// A fresh RSA key and its public JWK.
fn signer() -> Signer {
    let (encoding, jwk) = rsa_key(KEY_ID);
    Signer { encoding, jwk }
}

/// A fresh 2048-bit RSA key that signs RS256, and its public JWK with key id `kid`.
pub fn rsa_key(kid: &str) -> (jsonwebtoken::EncodingKey, Value) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("RSA key generation");
    let der = rcgen::PublicKeyData::subject_public_key_info(&key);
    let (_, spki) =
        x509_parser::x509::SubjectPublicKeyInfo::from_der(&der).expect("an RSA public key");
    let Ok(x509_parser::public_key::PublicKey::RSA(rsa)) = spki.parsed() else {
        panic!("rcgen made a key that is not RSA");
    };
    let modulus: Vec<u8> = rsa
        .modulus
        .iter()
        .copied()
        .skip_while(|b| *b == 0)
        .collect();
    let encoding = jsonwebtoken::EncodingKey::from_rsa_pem(key.serialize_pem().as_bytes())
        .expect("the PEM rcgen wrote");
    let jwk = json!({
        "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
        "n": URL_SAFE_NO_PAD.encode(modulus),
        "e": URL_SAFE_NO_PAD.encode(rsa.exponent),
    });
    (encoding, jwk)
}

fn reply(status: StatusCode, content_type: &str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        "content-type",
        content_type.parse().expect("a content type"),
    );
    response
}

/// A Query-protocol error, as STS and IAM send it.
fn query_error(status: StatusCode, code: &str, message: &str) -> Response<Full<Bytes>> {
    reply(
        status,
        "text/xml",
        format!(
            "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
            uuid::Uuid::new_v4()
        ),
    )
}

/// A Query-protocol answer: `<{action}Response><{action}Result>{result}</…>`.
fn query_result(xmlns: &str, action: &str, result: &str) -> Response<Full<Bytes>> {
    reply(
        StatusCode::OK,
        "text/xml",
        format!(
            r#"<{action}Response xmlns="{xmlns}"><{action}Result>{result}</{action}Result><ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></{action}Response>"#,
            uuid::Uuid::new_v4()
        ),
    )
}

fn text_of<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(&xml[start..end])
}

/// Who signed the request, as moto knows it: `(account, ARN)`.
async fn caller(
    state: &State,
    headers: &hyper::HeaderMap,
) -> Result<(String, String), Response<Full<Bytes>>> {
    let mut ask = Request::builder()
        .method("POST")
        .uri(format!("{}/", state.upstream));
    for (name, value) in headers {
        if name == "authorization" {
            // moto routes by the credential scope's service: an IAM request's caller is asked
            // of STS all the same.
            let value = value
                .to_str()
                .unwrap_or_default()
                .replace("/iam/aws4_request", "/sts/aws4_request");
            ask = ask.header(name, value);
        } else if name != "content-length" && name != "host" {
            ask = ask.header(name, value);
        }
    }
    let ask = ask
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from_static(
            b"Action=GetCallerIdentity&Version=2011-06-15",
        )))
        .expect("a valid request");
    let failed = |why: String| {
        query_error(
            StatusCode::BAD_GATEWAY,
            "InternalFailure",
            &format!("fake outbound federation: who is calling? {why}"),
        )
    };
    let answer = state
        .client
        .request(ask)
        .await
        .map_err(|e| failed(e.to_string()))?;
    let status = answer.status();
    let body = answer
        .into_body()
        .collect()
        .await
        .map_err(|e| failed(e.to_string()))?
        .to_bytes();
    let body = String::from_utf8_lossy(&body);
    if !status.is_success() {
        // moto's own refusal (an unknown access key, say) is the caller's answer.
        return Err(reply(status, "text/xml", body.into_owned()));
    }
    match (text_of(&body, "Account"), text_of(&body, "Arn")) {
        (Some(account), Some(arn)) => Ok((account.to_owned(), arn.to_owned())),
        _ => Err(failed(format!("moto answered {body}"))),
    }
}

/// The `sub` of a JWT for `arn`: a role session's role, otherwise the ARN itself.
fn subject(arn: &str) -> String {
    match arn.split_once(":assumed-role/") {
        Some((head, rest)) => {
            let account = head.rsplit(':').next().unwrap_or_default();
            let role = rest.split('/').next().unwrap_or_default();
            format!("arn:aws:iam::{account}:role/{role}")
        }
        None => arn.to_owned(),
    }
}

async fn get_web_identity_token(
    state: &State,
    headers: &hyper::HeaderMap,
    form: &[(String, String)],
) -> Response<Full<Bytes>> {
    let invalid = |message: &str| query_error(StatusCode::BAD_REQUEST, "ValidationError", message);
    let mut audiences: Vec<(usize, String)> = form
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("Audience.member.")
                .and_then(|n| n.parse().ok())
                .map(|n| (n, v.clone()))
        })
        .collect();
    audiences.sort();
    let audiences: Vec<String> = audiences.into_iter().map(|(_, a)| a).collect();
    if audiences.is_empty() || audiences.len() > 10 {
        return invalid("Audience must name 1 to 10 audiences");
    }
    if audiences.iter().any(|a| a.is_empty() || a.len() > 1000) {
        return invalid("each Audience is 1 to 1000 characters");
    }
    let value = |key: &str| form.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    match value("SigningAlgorithm") {
        Some("RS256") => {}
        Some("ES384") => return invalid("this fake signs RS256 only"),
        Some(other) => {
            return invalid(&format!(
                "SigningAlgorithm '{other}' is not one of RS256, ES384"
            ));
        }
        None => return invalid("SigningAlgorithm is required"),
    }
    let duration = match value("DurationSeconds").map(str::parse::<i64>) {
        None => 300,
        Some(Ok(d)) if (60..=3600).contains(&d) => d,
        Some(_) => return invalid("DurationSeconds must be 60 to 3600"),
    };
    let (account, arn) = match caller(state, headers).await {
        Ok(who) => who,
        Err(refused) => return refused,
    };
    if !state.enabled(&account) {
        return query_error(
            StatusCode::FORBIDDEN,
            "OutboundWebIdentityFederationDisabledException",
            "Outbound web identity federation is disabled for this account",
        );
    }
    let issuer = state.issuer(&account);
    let sub = subject(&arn);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let aud = match audiences.as_slice() {
        [one] => json!(one),
        many => json!(many),
    };
    let claims = json!({
        "iss": issuer, "sub": sub, "aud": aud,
        "iat": now, "nbf": now, "exp": now + duration,
        "jti": uuid::Uuid::new_v4().to_string(),
    });
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some(KEY_ID.to_owned());
    let jwt =
        jsonwebtoken::encode(&header, &claims, &state.signer.encoding).expect("an RS256 signature");
    let expiration = time::OffsetDateTime::from_unix_timestamp(now + duration)
        .expect("a time")
        .format(&time::format_description::well_known::Rfc3339)
        .expect("an RFC 3339 time");
    state.issued.lock().unwrap().push(Issued {
        jwt: jwt.clone(),
        issuer,
        subject: sub,
        audiences,
        duration_seconds: duration,
    });
    query_result(
        STS_XMLNS,
        "GetWebIdentityToken",
        &format!("<WebIdentityToken>{jwt}</WebIdentityToken><Expiration>{expiration}</Expiration>"),
    )
}

async fn iam(state: &State, headers: &hyper::HeaderMap, action: &str) -> Response<Full<Bytes>> {
    let account = match caller(state, headers).await {
        Ok((account, _)) => account,
        Err(refused) => return refused,
    };
    let issuer = state.issuer(&account);
    match action {
        "EnableOutboundWebIdentityFederation" => {
            if state.enabled(&account) {
                return query_error(
                    StatusCode::CONFLICT,
                    "FeatureEnabled",
                    "Outbound identity federation is already enabled for this account",
                );
            }
            state.set_enabled(&account, true);
            query_result(
                IAM_XMLNS,
                action,
                &format!("<IssuerIdentifier>{issuer}</IssuerIdentifier>"),
            )
        }
        "GetOutboundWebIdentityFederationInfo" => {
            if !state.enabled(&account) {
                return query_error(
                    StatusCode::FORBIDDEN,
                    "FeatureDisabled",
                    "Outbound identity federation is disabled for this account",
                );
            }
            query_result(
                IAM_XMLNS,
                action,
                &format!(
                    "<IssuerIdentifier>{issuer}</IssuerIdentifier><JwtVendingEnabled>true</JwtVendingEnabled>"
                ),
            )
        }
        _ => {
            if !state.enabled(&account) {
                return query_error(
                    StatusCode::FORBIDDEN,
                    "FeatureDisabled",
                    "Outbound identity federation is already disabled for this account",
                );
            }
            state.set_enabled(&account, false);
            query_result(IAM_XMLNS, action, "")
        }
    }
}

/// `GET /{issuer id}/.well-known/openid-configuration` and `…/jwks.json`.
fn discovery(state: &State, path: &str) -> Option<Response<Full<Bytes>>> {
    let (id, document) = path.trim_start_matches('/').split_once("/.well-known/")?;
    let account = state.account_of_issuer(id)?;
    let issuer = state.issuer(&account);
    let body = match document {
        "openid-configuration" => json!({
            "issuer": issuer,
            "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "claims_supported": ["aud", "exp", "iat", "iss", "jti", "nbf", "sub"],
        }),
        "jwks.json" => json!({"keys": [state.signer.jwk]}),
        _ => return None,
    };
    Some(reply(StatusCode::OK, "application/json", body.to_string()))
}

async fn handle(
    state: Arc<State>,
    parts: hyper::http::request::Parts,
    body: Bytes,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if parts.method == hyper::Method::GET && parts.uri.path().contains("/.well-known/") {
        return Ok(discovery(&state, parts.uri.path()).unwrap_or_else(|| {
            reply(StatusCode::NOT_FOUND, "text/plain", "no such issuer".into())
        }));
    }
    let form: Vec<(String, String)> = form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let action = form
        .iter()
        .find(|(k, _)| k == "Action")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    match action {
        "GetWebIdentityToken" => {
            return Ok(get_web_identity_token(&state, &parts.headers, &form).await);
        }
        "EnableOutboundWebIdentityFederation"
        | "GetOutboundWebIdentityFederationInfo"
        | "DisableOutboundWebIdentityFederation" => {
            return Ok(iam(&state, &parts.headers, action).await);
        }
        _ => {}
    }

    match forward(&state.client, &state.upstream, parts, body).await {
        Ok((parts, body)) => Ok(Response::from_parts(parts, Full::new(body))),
        Err(e) => Ok(reply(
            StatusCode::BAD_GATEWAY,
            "text/plain",
            format!("fake outbound federation: upstream failed: {e}"),
        )),
    }
}

/// Sends a request on to `upstream` as it came (method, path, query, headers, body) and reads
/// the whole answer. The fault proxy forwards the same way.
pub async fn forward(
    client: &Client<HttpConnector, Full<Bytes>>,
    upstream: &str,
    parts: hyper::http::request::Parts,
    body: Bytes,
) -> Result<(hyper::http::response::Parts, Bytes), hyper_util::client::legacy::Error> {
    let uri = format!(
        "{upstream}{}",
        parts.uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let mut request = Request::builder().method(parts.method).uri(uri);
    for (name, value) in &parts.headers {
        request = request.header(name, value);
    }
    let request = request
        .body(Full::new(body))
        .expect("a valid forwarded request");
    let (parts, body) = client.request(request).await?.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    Ok((parts, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_role_session_s_subject_is_its_role_and_anything_else_is_itself() {
        assert_eq!(
            subject("arn:aws:sts::123456789012:assumed-role/fedsync-task/ecs-task-1"),
            "arn:aws:iam::123456789012:role/fedsync-task"
        );
        assert_eq!(
            subject("arn:aws:iam::123456789012:user/admin"),
            "arn:aws:iam::123456789012:user/admin"
        );
    }

    #[test]
    fn an_account_keeps_its_issuer_id_and_two_accounts_differ() {
        let a = uuid::Uuid::new_v5(&ISSUER_NAMESPACE, b"111111111111");
        assert_eq!(a, uuid::Uuid::new_v5(&ISSUER_NAMESPACE, b"111111111111"));
        assert_ne!(a, uuid::Uuid::new_v5(&ISSUER_NAMESPACE, b"222222222222"));
    }
}
