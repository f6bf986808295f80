//! auth: OAuth2 client-credential tokens for Graph from `{authority}/{tenant}/oauth2/v2.0/token`,
//! with a client secret, a certificate (a signed JWT `client_assertion`: PS256, `x5t#S256`,
//! `aud` = the token URL, `iss` = `sub` = the client id, a unique `jti`, a short `exp`), or a
//! JWT another issuer signed ([`FederatedAssertion`]: workload identity federation, where Entra
//! checks the JWT's `iss`, `sub` and `aud` against a federated identity credential of the app).
//! A federated assertion is fetched anew for every token request, and never kept.
//!
//! [`TokenSource`] caches the token and renews it five minutes before it expires, or when asked
//! to (after a `401`). Secrets, keys and tokens live in types whose `Debug` prints `****`;
//! reading one takes an explicit `expose_secret()`.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use oauth2::basic::BasicClient;
use oauth2::{AuthType, ClientId, ClientSecret, RequestTokenError, Scope, TokenResponse, TokenUrl};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::error::AuthError;
use crate::error_text::Cause;

/// How long a client assertion is valid; Entra wants it short.
const ASSERTION_LIFETIME: Duration = Duration::from_secs(300);
/// Renew a token this long before it expires.
const RENEW_EARLY: Duration = Duration::from_secs(300);

/// How the sync app proves who it is.
#[derive(Clone)]
pub enum Credential {
    Secret(SecretString),
    Certificate(CertificateCredential),
    /// A JWT from another identity provider, presented as the client assertion: AWS IAM outbound
    /// identity federation ([`crate::aws::federation`]).
    Federated(Arc<dyn FederatedAssertion>),
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Secret(_) => f.write_str("Secret(****)"),
            Credential::Certificate(c) => f.debug_tuple("Certificate").field(c).finish(),
            Credential::Federated(source) => {
                write!(f, "Federated({})", source.describe())
            }
        }
    }
}

/// Where a federated client assertion comes from: a new JWT for each token request.
pub trait FederatedAssertion: Send + Sync {
    /// A fresh JWT; its issuer must be trusted by a federated identity credential of the app.
    fn assertion(&self) -> futures::future::BoxFuture<'_, Result<SecretString, AuthError>>;
    /// What it is, for `Debug` and `config show` (never a token): `AWS outbound identity
    /// federation, audience api://AzureADTokenExchange`.
    fn describe(&self) -> String;
}

/// The claims of a JWT that a federated identity credential matches, read (not verified) from
/// its payload so a refusal can say what was sent. Never the JWT itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresentedClaims {
    pub issuer: String,
    pub subject: String,
    pub audience: String,
}

impl PresentedClaims {
    /// `iss`, `sub` and `aud` (the audiences joined by `, `) of `jwt`; `None` when it is not a
    /// JWT with a JSON payload.
    pub fn of(jwt: &str) -> Option<PresentedClaims> {
        let payload = jwt.split('.').nth(1)?;
        let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
        let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        let text = |name: &str| claims.get(name).and_then(|v| v.as_str()).map(str::to_owned);
        let audience = match claims.get("aud") {
            Some(serde_json::Value::String(a)) => a.clone(),
            Some(serde_json::Value::Array(all)) => all
                .iter()
                .filter_map(|a| a.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            _ => String::new(),
        };
        Some(PresentedClaims {
            issuer: text("iss").unwrap_or_default(),
            subject: text("sub").unwrap_or_default(),
            audience,
        })
    }
}

/// Which claim of a federated assertion Entra matched no federated identity credential for,
/// from its AADSTS code.
fn unmatched_claim(aadsts: &str) -> Option<&'static str> {
    match aadsts.trim_end_matches(": ") {
        "AADSTS700211" => Some("issuer"),
        "AADSTS700212" => Some("audience"),
        "AADSTS700213" => Some("subject"),
        "AADSTS70021" => Some("issuer, subject and audience"),
        _ => None,
    }
}

/// A certificate and its private key, ready to sign client assertions.
#[derive(Clone)]
pub struct CertificateCredential {
    /// base64url SHA-256 of the certificate's DER: the `x5t#S256` header.
    thumbprint: String,
    key: EncodingKey,
}

impl fmt::Debug for CertificateCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateCredential")
            .field("x5t#S256", &self.thumbprint)
            .field("key", &"****")
            .finish()
    }
}

impl CertificateCredential {
    /// From a PEM certificate and a PEM RSA private key (PKCS#1 or PKCS#8).
    pub fn from_pem(
        certificate_pem: &str,
        private_key_pem: &SecretString,
    ) -> Result<Self, AuthError> {
        let body: String = certificate_pem
            .lines()
            .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE-----"))
            .skip(1)
            .take_while(|l| !l.starts_with("-----END CERTIFICATE-----"))
            .map(str::trim)
            .collect();
        if body.is_empty() {
            return Err(AuthError::Certificate(
                "no -----BEGIN CERTIFICATE----- block in the certificate PEM".into(),
            ));
        }
        let der = STANDARD.decode(body).map_err(|e| {
            AuthError::Certificate(format!("the certificate PEM is not base64: {e}"))
        })?;
        let key =
            EncodingKey::from_rsa_pem(private_key_pem.expose_secret().as_bytes()).map_err(|e| {
                AuthError::Certificate(format!("the private key is not an RSA key in PEM: {e}"))
            })?;
        Ok(CertificateCredential {
            thumbprint: URL_SAFE_NO_PAD.encode(Sha256::digest(&der)),
            key,
        })
    }

    /// The `x5t#S256` this credential puts in its assertions.
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// A signed client assertion for `token_url`.
    fn assertion(&self, client_id: &str, token_url: &str) -> Result<SecretString, AuthError> {
        #[derive(Serialize)]
        struct Claims<'a> {
            aud: &'a str,
            iss: &'a str,
            sub: &'a str,
            jti: String,
            nbf: u64,
            iat: u64,
            exp: u64,
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let claims = Claims {
            aud: token_url,
            iss: client_id,
            sub: client_id,
            jti: uuid::Uuid::new_v4().to_string(),
            nbf: now,
            iat: now,
            exp: now + ASSERTION_LIFETIME.as_secs(),
        };
        let mut header = Header::new(Algorithm::PS256);
        header.x5t_s256 = Some(self.thumbprint.clone());
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map(SecretString::from)
            .map_err(|e| AuthError::Certificate(format!("cannot sign the client assertion: {e}")))
    }
}

struct Cached {
    token: SecretString,
    renew_at: Instant,
}

/// Hands out Graph access tokens, fetching and renewing them as needed.
pub struct TokenSource {
    http: reqwest::Client,
    token_url: String,
    scope: String,
    client_id: String,
    credential: Credential,
    cached: tokio::sync::Mutex<Option<Cached>>,
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSource")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field("credential", &self.credential)
            .finish_non_exhaustive()
    }
}

impl TokenSource {
    /// Tokens for `client_id` in `tenant` from `authority_url`, for `graph_url`'s `.default` scope.
    pub fn new(
        http: reqwest::Client,
        authority_url: &str,
        tenant: &str,
        graph_url: &str,
        client_id: &str,
        credential: Credential,
    ) -> TokenSource {
        TokenSource {
            http,
            token_url: format!(
                "{}/{tenant}/oauth2/v2.0/token",
                authority_url.trim_end_matches('/')
            ),
            scope: format!("{}/.default", graph_url.trim_end_matches('/')),
            client_id: client_id.to_owned(),
            credential,
            cached: tokio::sync::Mutex::new(None),
        }
    }

    pub fn token_url(&self) -> &str {
        &self.token_url
    }

    /// A valid token: the cached one, or a new one when it is about to expire or `renew` is set.
    pub async fn token(&self, renew: bool) -> Result<SecretString, AuthError> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref()
            && !renew
            && Instant::now() < c.renew_at
        {
            return Ok(c.token.clone());
        }
        let (token, lifetime) = self.fetch().await?;
        let early = RENEW_EARLY.min(lifetime / 2);
        *cached = Some(Cached {
            token: token.clone(),
            renew_at: Instant::now() + lifetime - early,
        });
        Ok(token)
    }

    async fn fetch(&self) -> Result<(SecretString, Duration), AuthError> {
        let url = &self.token_url;
        let token_url = TokenUrl::new(url.clone()).map_err(|e| AuthError::Unreadable {
            url: url.clone(),
            source: Cause::from(format!("not a URL: {e}")),
        })?;
        let mut client = BasicClient::new(ClientId::new(self.client_id.clone()))
            .set_token_uri(token_url)
            .set_auth_type(AuthType::RequestBody);
        let assertion = match &self.credential {
            Credential::Secret(secret) => {
                client =
                    client.set_client_secret(ClientSecret::new(secret.expose_secret().to_owned()));
                None
            }
            Credential::Certificate(cert) => Some(cert.assertion(&self.client_id, url)?),
            Credential::Federated(source) => Some(source.assertion().await?),
        };
        let presented = match &self.credential {
            Credential::Federated(_) => assertion
                .as_ref()
                .and_then(|a| PresentedClaims::of(a.expose_secret())),
            _ => None,
        };
        let mut request = client
            .exchange_client_credentials()
            .add_scope(Scope::new(self.scope.clone()));
        if let Some(assertion) = &assertion {
            request = request
                .add_extra_param(
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                )
                .add_extra_param("client_assertion", assertion.expose_secret().to_owned());
        }
        let response = request
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                RequestTokenError::ServerResponse(r) => {
                    let description = r.error_description().map(String::as_str).unwrap_or("");
                    let first_line = description.lines().next().unwrap_or("").trim();
                    let (aadsts, rest) = match first_line.split_once(": ") {
                        Some((code, rest)) if code.starts_with("AADSTS") => {
                            (format!("{code}: "), rest)
                        }
                        _ => (String::new(), first_line),
                    };
                    match (unmatched_claim(&aadsts), presented) {
                        (Some(check), Some(sent)) => AuthError::NoFederatedCredential {
                            url: url.clone(),
                            aadsts: aadsts.trim_end_matches(": ").to_owned(),
                            check,
                            sent: Box::new(sent),
                        },
                        _ => AuthError::Rejected {
                            url: url.clone(),
                            aadsts,
                            description: rest.trim_end_matches('.').to_owned(),
                            error: r.error().to_string(),
                        },
                    }
                }
                RequestTokenError::Request(e) => AuthError::Transport {
                    url: url.clone(),
                    source: Cause::from(crate::error_text::chain(&e)),
                },
                RequestTokenError::Parse(e, _) => AuthError::Unreadable {
                    url: url.clone(),
                    source: Cause::from(e.to_string()),
                },
                RequestTokenError::Other(reason) => AuthError::Unreadable {
                    url: url.clone(),
                    source: reason.into(),
                },
            })?;
        let lifetime = response.expires_in().unwrap_or(Duration::from_secs(3600));
        Ok((
            SecretString::from(response.access_token().secret().to_owned()),
            lifetime,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_a_secret() {
        let secret = Credential::Secret(SecretString::from("hunter2-very-secret"));
        assert_eq!(format!("{secret:?}"), "Secret(****)");
        let source = TokenSource::new(
            reqwest::Client::new(),
            "http://a",
            "t",
            "http://g",
            "c",
            secret,
        );
        assert!(!format!("{source:?}").contains("hunter2"));
    }

    #[test]
    fn presented_claims_are_read_from_the_payload_and_name_what_entra_matched() {
        let payload = URL_SAFE_NO_PAD.encode(
            r#"{"iss":"https://abc.tokens.sts.global.api.aws","sub":"arn:aws:iam::123456789012:role/fedsync-task","aud":["api://AzureADTokenExchange","x"]}"#,
        );
        let claims = PresentedClaims::of(&format!("eyJhbGciOiJSUzI1NiJ9.{payload}.c2ln")).unwrap();
        assert_eq!(claims.issuer, "https://abc.tokens.sts.global.api.aws");
        assert_eq!(
            claims.subject,
            "arn:aws:iam::123456789012:role/fedsync-task"
        );
        assert_eq!(claims.audience, "api://AzureADTokenExchange, x");
        assert_eq!(PresentedClaims::of("not a jwt"), None);
        assert_eq!(unmatched_claim("AADSTS700211: "), Some("issuer"));
        assert_eq!(unmatched_claim("AADSTS700212: "), Some("audience"));
        assert_eq!(unmatched_claim("AADSTS700213: "), Some("subject"));
        assert_eq!(unmatched_claim("AADSTS7000215: "), None);
    }

    #[test]
    fn a_certificate_pem_without_a_certificate_is_refused() {
        let err =
            CertificateCredential::from_pem("nothing here", &SecretString::from("k")).unwrap_err();
        assert!(err.to_string().contains("BEGIN CERTIFICATE"), "{err}");
    }
}
