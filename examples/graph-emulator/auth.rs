//! auth: the token endpoint (`POST /{tenant}/oauth2/v2.0/token`, client credentials) and the
//! bearer check in front of every Graph call.
//!
//! A client authenticates with its `client_secret` (in the form, or as HTTP Basic), or with a `client_assertion`: a JWT signed
//! PS256 by the private key of its registered certificate, with header `x5t#S256` = base64url
//! SHA-256 of the certificate DER, `aud` = the token URL as the client called it, `iss` = `sub`
//! = client id, `exp` in the future and at most 10 minutes away, and a `jti` not used before.
//! Or with a federated `client_assertion` (workload identity federation): a JWT from another
//! issuer (`iss` ≠ client id), RS256-signed by a key of that issuer (seeded in `jwks`, or read
//! from the issuer's OpenID discovery document on loopback), unexpired, whose `iss`, `sub` and
//! one `aud` are exactly those of one of the app's federated identity credentials (`fic`).
//! Errors carry the AADSTS codes Entra uses (see README-section.md). Issued access tokens are
//! opaque random strings, not JWTs. Secrets and tokens are never logged nor put in errors.

use std::fmt;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, errors::ErrorKind};
use percent_encoding::percent_decode_str;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use x509_parser::public_key::PublicKey;

use super::errors::{AadError, GraphError};
use super::fic::{self, FederatedCredential, Mismatch};
use super::paging::base_url;
use super::state::{SharedState, State as World, TokenStatus};

/// Longest lifetime (`exp` − now) a client assertion may have.
pub const MAX_ASSERTION_LIFETIME_SECS: i64 = 600;
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A client secret. `Debug` and `Display` print `****`.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: String) -> Secret {
        Secret(s)
    }
    /// Compares in time independent of where the strings differ.
    fn matches(&self, given: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), given.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("****")
    }
}

/// A client's registered certificate: its `x5t#S256` thumbprint and its RSA public key.
#[derive(Clone)]
pub struct Certificate {
    thumbprint_s256: String,
    key: DecodingKey,
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("x5t#S256", &self.thumbprint_s256)
            .finish()
    }
}

impl Certificate {
    /// Reads one PEM `CERTIFICATE` holding an RSA public key.
    pub fn from_pem(pem: &str) -> Result<Certificate, String> {
        let (_, pem) = x509_parser::pem::parse_x509_pem(pem.as_bytes())
            .map_err(|e| format!("not a PEM certificate: {e}"))?;
        if pem.label != "CERTIFICATE" {
            return Err(format!(
                "expected a PEM CERTIFICATE block, found {:?}",
                pem.label
            ));
        }
        let cert = pem
            .parse_x509()
            .map_err(|e| format!("not an X.509 certificate: {e}"))?;
        let spki = cert.public_key();
        match spki.parsed() {
            Ok(PublicKey::RSA(_)) => {}
            _ => return Err("the certificate's key is not RSA (PS256 needs RSA)".into()),
        }
        Ok(Certificate {
            thumbprint_s256: URL_SAFE_NO_PAD.encode(Sha256::digest(&pem.contents)),
            // The subjectPublicKey bits of an RSA SPKI are the PKCS#1 RSAPublicKey DER.
            key: DecodingKey::from_rsa_der(&spki.subject_public_key.data),
        })
    }
}

/// A registered client (the sync app) and its own service principal.
#[derive(Clone, Debug)]
pub struct Client {
    pub client_id: String,
    pub secret: Option<Secret>,
    pub certificate: Option<Certificate>,
    pub service_principal_id: String,
    pub display_name: String,
    /// The object id of the client's app registration (`/applications/{id}`).
    pub application_id: String,
}

/// `POST /{tenant}/oauth2/v2.0/token`.
///
/// A client assertion whose `iss` is the client's own id, or sent by a client without federated
/// identity credentials, is a certificate assertion, checked here; any other is a federated one
/// (workload identity federation), checked against the client's federated identity credentials
/// and its issuer's keys by [`verify_federated`], with the state unlocked while the keys are
/// fetched.
pub async fn token(
    State(shared): State<SharedState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, AadError> {
    let form: Vec<(String, String)> = form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let token_url = format!("{}/{tenant}/oauth2/v2.0/token", base_url(&headers));
    let pending = authenticate(&mut shared.lock(), &tenant, &headers, &form, &token_url)?;
    if let Some(federated) = pending {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        verify_federated(&federated, now).await?;
    }

    let mut state = shared.lock();
    let access_token = state.issue_token();
    let lifetime = state.seed.token_lifetime.as_secs();
    Ok(Json(json!({
        "token_type": "Bearer",
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": access_token,
    })))
}

/// A federated client assertion still to verify, with what verifying it needs.
pub struct FederatedAssertion {
    assertion: String,
    credentials: Vec<FederatedCredential>,
    /// The issuer's seeded keys, if the seed has them.
    seeded_keys: Option<JwkSet>,
}

/// Everything about a token request that needs no I/O; a federated assertion is returned to
/// verify once the state is unlocked.
fn authenticate(
    state: &mut World,
    tenant: &str,
    headers: &HeaderMap,
    form: &[(String, String)],
    token_url: &str,
) -> Result<Option<FederatedAssertion>, AadError> {
    let param = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    if !state.seed.tenant_id.eq_ignore_ascii_case(tenant) {
        return Err(AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
        ));
    }
    let grant = param("grant_type").ok_or_else(|| AadError::missing_parameter("grant_type"))?;
    if grant != "client_credentials" {
        return Err(AadError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            format!("The app requested an unsupported grant type '{grant}'."),
        ));
    }
    // RFC 6749 §2.3.1: the secret may come as HTTP Basic (the `oauth2` crate's default), which
    // Entra accepts too; then it must not also be in the body.
    let basic = basic_credentials(headers)?;
    let client_id = match (&basic, param("client_id")) {
        (Some((id, _)), Some(body_id)) if !id.eq_ignore_ascii_case(body_id) => {
            return Err(malformed(
                "client_id in the body differs from the one in the Basic Authorization header.",
            ));
        }
        (Some((id, _)), _) => id.as_str(),
        (None, Some(id)) => id,
        (None, None) => return Err(AadError::missing_parameter("client_id")),
    };
    let Some(client) = state.client(client_id).cloned() else {
        return Err(AadError::new(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            format!(
                "Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
            ),
        ));
    };
    let scope = param("scope").ok_or_else(|| AadError::missing_parameter("scope"))?;
    let scopes: Vec<&str> = scope.split_whitespace().collect();
    if scopes.len() != 1 || !scopes[0].ends_with("/.default") || scopes[0].len() <= 9 {
        return Err(AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            1002012,
            format!(
                "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
        ));
    }

    let secret = match (&basic, param("client_secret")) {
        (Some(_), Some(_)) => {
            return Err(malformed(
                "the client secret is in both the Basic Authorization header and the body.",
            ));
        }
        (Some((_, secret)), None) => Some(secret.as_str()),
        (None, secret) => secret,
    };
    match (secret, param("client_assertion")) {
        (Some(_), Some(_)) => {
            return Err(malformed(
                "send either a client secret or client_assertion, not both.",
            ));
        }
        (Some(secret), None) => {
            if !client.secret.as_ref().is_some_and(|s| s.matches(secret)) {
                return Err(AadError::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    7000215,
                    format!(
                        "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{}'.",
                        client.client_id
                    ),
                ));
            }
        }
        (None, Some(assertion)) => {
            match param("client_assertion_type") {
                Some(JWT_BEARER) => {}
                Some(other) => {
                    return Err(malformed(&format!(
                        "client_assertion_type must be '{JWT_BEARER}', not '{other}'."
                    )));
                }
                None => return Err(AadError::missing_parameter("client_assertion_type")),
            }
            let issuer = unverified_claims(assertion)?
                .get("iss")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_default();
            let credentials = state.federated_credentials_of(&client.client_id);
            if !issuer.eq_ignore_ascii_case(&client.client_id) && !credentials.is_empty() {
                let seeded_keys = state
                    .seed
                    .jwks
                    .iter()
                    .find(|(i, _)| *i == issuer)
                    .map(|(_, keys)| keys.clone());
                return Ok(Some(FederatedAssertion {
                    assertion: assertion.to_owned(),
                    credentials: credentials.to_vec(),
                    seeded_keys,
                }));
            }
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            let (jti, exp) = verify_assertion(&client, assertion, token_url, now)?;
            if !state.use_jti(&client.client_id, &jti, exp, now) {
                return Err(AadError::bad_assertion(format!(
                    "The assertion's jti '{jti}' was already used; every assertion needs a new one."
                )));
            }
        }
        (None, None) => {
            return Err(AadError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            ));
        }
    }

    Ok(None)
}

/// `400 invalid_request`, AADSTS9002313: a request Entra cannot make sense of.
fn malformed(why: &str) -> AadError {
    AadError::new(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        9002313,
        format!("Invalid request. Request is malformed or invalid: {why}"),
    )
}

/// `Authorization: Basic base64(urlencode(id):urlencode(secret))`, if present.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, AadError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let bad =
        || malformed("the Authorization header is not Basic base64(client_id:client_secret).");
    let value = value.to_str().map_err(|_| bad())?;
    let Some((scheme, encoded)) = value.split_once(' ') else {
        return Err(bad());
    };
    if !scheme.eq_ignore_ascii_case("Basic") {
        return Err(bad());
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| bad())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(bad)?;
    let unescape = |s: &str| {
        percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .map(|c| c.into_owned())
            .map_err(|_| bad())
    };
    let (id, secret) = (unescape(id)?, unescape(secret)?);
    if id.is_empty() || secret.is_empty() {
        return Err(bad());
    }
    Ok(Some((id, secret)))
}

/// Checks a client assertion; returns its `jti` and `exp`.
fn verify_assertion(
    client: &Client,
    assertion: &str,
    token_url: &str,
    now: i64,
) -> Result<(String, i64), AadError> {
    let Some(cert) = client.certificate.as_ref() else {
        return Err(AadError::bad_assertion(format!(
            "No certificate is registered on application '{}'.",
            client.client_id
        )));
    };
    let header = jsonwebtoken::decode_header(assertion)
        .map_err(|e| AadError::bad_assertion(format!("The assertion is not a JWT: {e}.")))?;
    if header.alg != Algorithm::PS256 {
        return Err(AadError::bad_assertion(format!(
            "The assertion is signed {:?}; the emulator accepts PS256.",
            header.alg
        )));
    }
    match header.x5t_s256.as_deref() {
        None => {
            return Err(AadError::bad_assertion(
                "The assertion header has no 'x5t#S256' thumbprint.",
            ));
        }
        Some(t) if t != cert.thumbprint_s256 => {
            return Err(AadError::bad_assertion(format!(
                "The certificate with identifier used to sign the client assertion is not registered on application '{}' (x5t#S256 '{t}').",
                client.client_id
            )));
        }
        Some(_) => {}
    }

    let mut validation = Validation::new(Algorithm::PS256);
    validation.leeway = 0;
    validation.validate_nbf = true;
    validation.set_audience(&[token_url]);
    validation.set_issuer(&[&client.client_id]);
    validation.sub = Some(client.client_id.clone());
    validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
    let data = jsonwebtoken::decode::<Value>(assertion, &cert.key, &validation).map_err(|e| {
        match e.kind() {
            ErrorKind::ExpiredSignature => AadError::assertion_time("The assertion has expired."),
            ErrorKind::ImmatureSignature => {
                AadError::assertion_time("The assertion is not valid yet (nbf).")
            }
            ErrorKind::InvalidSignature => {
                AadError::bad_assertion("The signature does not verify with the registered certificate.")
            }
            ErrorKind::InvalidAudience => AadError::bad_assertion(format!(
                "The assertion's aud must be the token endpoint '{token_url}'."
            )),
            ErrorKind::InvalidIssuer | ErrorKind::InvalidSubject => AadError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                700021,
                format!(
                    "Client assertion application identifier doesn't match 'client_id' parameter: iss and sub must both be '{}'.",
                    client.client_id
                ),
            ),
            ErrorKind::MissingRequiredClaim(claim) => {
                AadError::bad_assertion(format!("The assertion has no '{claim}' claim."))
            }
            _ => AadError::bad_assertion(format!("The assertion cannot be read: {e}.")),
        }
    })?;

    let exp = data.claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
    if exp - now > MAX_ASSERTION_LIFETIME_SECS {
        return Err(AadError::assertion_time(format!(
            "The assertion expires {}s from now; at most {MAX_ASSERTION_LIFETIME_SECS}s are accepted.",
            exp - now
        )));
    }
    let jti = data
        .claims
        .get("jti")
        .and_then(Value::as_str)
        .filter(|j| !j.is_empty())
        .ok_or_else(|| AadError::bad_assertion("The assertion has no 'jti' claim."))?;
    Ok((jti.to_owned(), exp))
}

/// The payload of a JWT, read without checking anything.
fn unverified_claims(assertion: &str) -> Result<serde_json::Map<String, Value>, AadError> {
    let not_a_jwt = || AadError::bad_assertion("The assertion is not a JWT.");
    let payload = assertion.split('.').nth(1).ok_or_else(not_a_jwt)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).map_err(|_| not_a_jwt())?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(claims)) => Ok(claims),
        _ => Err(not_a_jwt()),
    }
}

/// `400 invalid_request`, AADSTS700211/700213/700212: no federated identity credential of the
/// app matches the assertion's issuer, subject or audience (Entra's wording).
fn no_matching_credential(aadsts: u32, claim: &str, value: &str) -> AadError {
    AadError::new(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        aadsts,
        format!(
            "No matching federated identity record found for presented assertion {claim} '{value}'. Please note that the matching is done using a case-sensitive comparison. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation"
        ),
    )
}

/// `401 invalid_client`, AADSTS50166: the issuer's OpenID configuration or keys could not be read.
fn issuer_unreachable(why: String) -> AadError {
    AadError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        50166,
        format!("Request to External OIDC endpoint failed. {why}"),
    )
}

/// Whether `url` is `http(s)://` on a loopback host: the only issuers the emulator fetches from.
fn on_loopback(url: &str) -> bool {
    reqwest::Url::parse(url).is_ok_and(|u| {
        matches!(u.scheme(), "http" | "https")
            && matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"))
    })
}

/// The issuer's signing keys: OpenID discovery (`{issuer}/.well-known/openid-configuration`,
/// whose `issuer` must be the issuer exactly), then its `jwks_uri`. Loopback only.
async fn fetch_keys(issuer: &str) -> Result<JwkSet, AadError> {
    if !on_loopback(issuer) {
        return Err(issuer_unreachable(format!(
            "The emulator reaches no issuer outside loopback: seed jwks for '{issuer}'."
        )));
    }
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build()
        .map_err(|e| issuer_unreachable(e.to_string()))?;
    let discovery = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let get = |url: String| {
        let http = http.clone();
        async move {
            let response = http
                .get(&url)
                .send()
                .await
                .map_err(|e| issuer_unreachable(format!("GET {url}: {e}")))?;
            if !response.status().is_success() {
                return Err(issuer_unreachable(format!(
                    "GET {url}: HTTP {}",
                    response.status()
                )));
            }
            response
                .json::<Value>()
                .await
                .map_err(|e| issuer_unreachable(format!("GET {url}: not JSON: {e}")))
        }
    };
    let configuration = get(discovery.clone()).await?;
    if configuration.get("issuer").and_then(Value::as_str) != Some(issuer) {
        return Err(issuer_unreachable(format!(
            "{discovery} names another issuer: {}",
            configuration.get("issuer").unwrap_or(&Value::Null)
        )));
    }
    let jwks_uri = configuration
        .get("jwks_uri")
        .and_then(Value::as_str)
        .filter(|u| on_loopback(u))
        .ok_or_else(|| issuer_unreachable(format!("{discovery} has no loopback jwks_uri")))?
        .to_owned();
    let set = get(jwks_uri.clone()).await?;
    serde_json::from_value(set)
        .map_err(|e| issuer_unreachable(format!("{jwks_uri} is not a JWK set: {e}")))
}

/// Verifies a federated client assertion as Entra does: a credential of the app must have the
/// assertion's issuer (AADSTS700211); the signature must verify with that issuer's key named by
/// `kid` (RS256); the assertion must be within `nbf`..`exp` (AADSTS700024); then a credential
/// of that issuer must have its subject (AADSTS700213) and one of its audiences (AADSTS700212).
async fn verify_federated(federated: &FederatedAssertion, now: i64) -> Result<(), AadError> {
    let claims = unverified_claims(&federated.assertion)?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str).unwrap_or_default();
    let (issuer, subject) = (text("iss"), text("sub"));
    let audiences: Vec<String> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.clone()],
        Some(Value::Array(values)) => values
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    let matched = fic::find_match(&federated.credentials, issuer, subject, &audiences);
    if matched == Err(Mismatch::Issuer) {
        return Err(no_matching_credential(700211, "issuer", issuer));
    }

    let header = jsonwebtoken::decode_header(&federated.assertion)
        .map_err(|e| AadError::bad_assertion(format!("The assertion is not a JWT: {e}.")))?;
    if header.alg != Algorithm::RS256 {
        return Err(AadError::bad_assertion(format!(
            "The assertion is signed {:?}; the emulator verifies RS256 federated assertions.",
            header.alg
        )));
    }
    let keys = match &federated.seeded_keys {
        Some(keys) => keys.clone(),
        None => fetch_keys(issuer).await?,
    };
    let kid = header.kid.as_deref().unwrap_or_default();
    let jwk = keys.find(kid).ok_or_else(|| {
        AadError::bad_assertion(format!(
            "The key '{kid}' was not found among the keys of issuer '{issuer}'."
        ))
    })?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| {
        AadError::bad_assertion(format!("The issuer's key '{kid}' is unusable: {e}."))
    })?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.leeway = 0;
    validation.validate_nbf = true;
    validation.validate_aud = false;
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    jsonwebtoken::decode::<Value>(&federated.assertion, &key, &validation).map_err(|e| match e
        .kind()
    {
        ErrorKind::ExpiredSignature => {
            AadError::assertion_time(format!("The assertion expired; current time {now}."))
        }
        ErrorKind::ImmatureSignature => {
            AadError::assertion_time("The assertion is not valid yet (nbf).")
        }
        ErrorKind::InvalidSignature => AadError::bad_assertion(format!(
            "The signature does not verify with issuer '{issuer}' key '{kid}'."
        )),
        ErrorKind::MissingRequiredClaim(claim) => {
            AadError::bad_assertion(format!("The assertion has no '{claim}' claim."))
        }
        _ => AadError::bad_assertion(format!("The assertion cannot be read: {e}.")),
    })?;
    match matched {
        Ok(_) => Ok(()),
        Err(Mismatch::Subject) => Err(no_matching_credential(700213, "subject", subject)),
        Err(Mismatch::Audience | Mismatch::Issuer) => Err(no_matching_credential(
            700212,
            "audience",
            &audiences.join(", "),
        )),
    }
}

/// The bearer check every Graph request passes first.
pub fn check_bearer(state: &SharedState, headers: &HeaderMap) -> Result<(), GraphError> {
    let unauthorized = |message: &str| {
        GraphError::new(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            message,
        )
    };
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(unauthorized("Access token is empty."));
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("Bearer"))
        .map(|(_, t)| t.trim())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| unauthorized("Access token is empty or not a Bearer token."))?;
    match state.lock().token_status(token) {
        TokenStatus::Valid => Ok(()),
        TokenStatus::Expired => Err(unauthorized(
            "Lifetime validation failed, the token is expired.",
        )),
        TokenStatus::Unknown => Err(unauthorized(
            "Access token validation failure: the token was not issued by this emulator.",
        )),
    }
}
