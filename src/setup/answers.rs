//! answers: what `fedsync setup` asks, each checked on its own — the federation metadata file
//! (entity id, certificate thumbprints and expiry), the AWS app's manifest JSON (its ids and its
//! `msiam_access` role), the sync app's credential, and the secret's JSON.
//!
//! Pure, apart from reading the files the admin names. Errors name the answer and what is wrong
//! with it, never a secret's value.

use std::fmt;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::graph::{CertificateCredential, Credential};
use crate::metadata::{self, FederationMetadata};

/// The stored settings setup asks for (and so always writes, defaults included), in the order
/// it asks. Any other stored setting is written only when a flag, variable or SSM sets it.
pub const ASKED: &[&str] = &[
    "tenant-id",
    "cloud",
    "saml-entity-id",
    "saml-certificates",
    "service-principal-id",
    "client-id",
    "credentials-secret",
    "naming-convention",
    "cross-account-role",
    "backup-bucket",
    "backup-prefix",
    "create-groups",
    "assign-groups",
];

/// The Secrets Manager secret `cfn/environment.yaml` creates (with its default `Name`).
pub const DEFAULT_SECRET_NAME: &str = "fedsync/entra-credentials";

/// The federation metadata the admin gave, parsed.
#[derive(Clone, Debug)]
pub struct MetadataAnswer {
    pub path: PathBuf,
    pub metadata: FederationMetadata,
}

impl MetadataAnswer {
    /// Reads and parses the file; the error names the file and what is wrong.
    pub fn read(path: &Path) -> Result<MetadataAnswer, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let metadata = metadata::parse(&text)
            .map_err(|e| format!("{}: {}", path.display(), crate::error_text::chain(&e)))?;
        Ok(MetadataAnswer {
            path: path.to_owned(),
            metadata,
        })
    }

    /// `saml-certificates`: the SHA-256 thumbprints, comma-separated.
    pub fn thumbprints(&self) -> String {
        self.metadata
            .signing_certificates
            .iter()
            .map(|c| c.sha256.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// One line per fact: entity id, then each certificate's thumbprint and expiry (flagged
    /// when it has expired or expires within 60 days of `now`).
    pub fn summary(&self, now: OffsetDateTime) -> String {
        let mut out = format!("entity id {}", self.metadata.entity_id);
        for cert in &self.metadata.signing_certificates {
            let left = cert.not_after - now;
            let note = if left.is_negative() {
                " — EXPIRED"
            } else if left.whole_days() < 60 {
                " — expires soon"
            } else {
                ""
            };
            out.push_str(&format!(
                "\nsigning certificate SHA-256 {}, expires {}{note}",
                cert.sha256,
                cert.not_after.date()
            ));
        }
        out
    }
}

/// What the AWS app's manifest (downloaded from the Entra portal) says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppManifest {
    /// The application (client) id; its service principal is looked up by it.
    pub app_id: String,
    /// The application object's id (not the service principal's).
    pub object_id: Option<String>,
    pub display_name: Option<String>,
}

impl AppManifest {
    /// Parses the manifest JSON: it must have an `appId` GUID and the `msiam_access` app role
    /// every AWS gallery app has.
    pub fn parse(text: &str) -> Result<AppManifest, String> {
        let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let app_id = value
            .get("appId")
            .and_then(Value::as_str)
            .ok_or("has no appId: download the manifest of the AWS app's registration")?;
        uuid::Uuid::parse_str(app_id).map_err(|_| format!("appId {app_id:?} is not a GUID"))?;
        let has_msiam = value
            .get("appRoles")
            .and_then(Value::as_array)
            .is_some_and(|roles| {
                roles.iter().any(|r| {
                    r.get("displayName").and_then(Value::as_str) == Some("msiam_access")
                        || r.get("value").and_then(Value::as_str) == Some("msiam_access")
                })
            });
        if !has_msiam {
            return Err(format!(
                "app {app_id} has no msiam_access app role: is this the AWS gallery app's manifest?"
            ));
        }
        let text_of = |key| value.get(key).and_then(Value::as_str).map(str::to_owned);
        Ok(AppManifest {
            app_id: app_id.to_owned(),
            object_id: text_of("id"),
            display_name: text_of("displayName"),
        })
    }

    pub fn read(path: &Path) -> Result<AppManifest, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        AppManifest::parse(&text).map_err(|e| format!("{} {e}", path.display()))
    }
}

/// The sync app's credential as setup stores it: the credential itself (to prove it) and the
/// secret's JSON text. `Debug` prints neither.
#[derive(Clone)]
pub struct NewCredential {
    pub credential: Credential,
    json: SecretString,
    pub kind: &'static str,
}

impl fmt::Debug for NewCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NewCredential({}, ****)", self.kind)
    }
}

impl NewCredential {
    pub fn secret(secret: SecretString) -> Result<NewCredential, String> {
        if secret.expose_secret().trim().is_empty() {
            return Err("the client secret is empty".into());
        }
        let json = json!({ "client_secret": secret.expose_secret().trim() }).to_string();
        Ok(NewCredential {
            credential: Credential::Secret(SecretString::from(
                secret.expose_secret().trim().to_owned(),
            )),
            json: SecretString::from(json),
            kind: "client secret",
        })
    }

    /// From the PEM files; the private key's content never reaches an error.
    pub fn certificate(cert_path: &Path, key_path: &Path) -> Result<NewCredential, String> {
        let cert = std::fs::read_to_string(cert_path)
            .map_err(|e| format!("cannot read {}: {e}", cert_path.display()))?;
        let key = SecretString::from(
            std::fs::read_to_string(key_path)
                .map_err(|e| format!("cannot read {}: {e}", key_path.display()))?,
        );
        let credential = CertificateCredential::from_pem(&cert, &key)
            .map_err(|e| format!("{} and {}: {e}", cert_path.display(), key_path.display()))?;
        let json = json!({
            "certificate_pem": cert,
            "private_key_pem": key.expose_secret(),
        })
        .to_string();
        Ok(NewCredential {
            credential: Credential::Certificate(credential),
            json: SecretString::from(json),
            kind: "certificate",
        })
    }

    /// The secret's JSON: `{"client_secret"}` or `{"certificate_pem", "private_key_pem"}`,
    /// what `settings::sources` reads. Only the Secrets Manager write calls this.
    pub fn expose_json(&self) -> &str {
        self.json.expose_secret()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_gives_its_app_id_when_it_has_msiam_access() {
        let m = AppManifest::parse(
            r#"{"id": "0e1f...", "appId": "8adf8e6e-67b2-4cf2-a259-e3dc5476c621",
               "displayName": "AWS", "appRoles": [{"displayName": "msiam_access", "value": null}]}"#,
        )
        .unwrap();
        assert_eq!(m.app_id, "8adf8e6e-67b2-4cf2-a259-e3dc5476c621");
    }

    #[test]
    fn a_manifest_without_msiam_access_or_app_id_is_refused_with_the_reason() {
        let no_role = AppManifest::parse(
            r#"{"appId": "8adf8e6e-67b2-4cf2-a259-e3dc5476c621", "appRoles": []}"#,
        );
        assert!(no_role.unwrap_err().contains("no msiam_access"));
        assert!(AppManifest::parse("{}").unwrap_err().contains("no appId"));
        assert!(
            AppManifest::parse("<xml/>")
                .unwrap_err()
                .starts_with("not JSON")
        );
    }

    #[test]
    fn the_secret_json_is_what_the_settings_reader_accepts_and_debug_hides_it() {
        let c = NewCredential::secret(SecretString::from("s3cr3t-value")).unwrap();
        let read = crate::settings::sources::credential_from_json(&SecretString::from(
            c.expose_json().to_owned(),
        ));
        assert!(matches!(read, Ok(Credential::Secret(_))));
        assert!(!format!("{c:?}").contains("s3cr3t"));
    }
}
