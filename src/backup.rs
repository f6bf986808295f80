//! backup: the service principal's JSON and its app role assignments in S3, before any write —
//! and reading backups back.
//!
//! Key layout (a contract, see DESIGN.md): `<prefix><UTC yyyymmddThhmmss.fffZ>-<sp id>.json`,
//! sortable by time, with SSE-KMS when a key is set. The document is format 2,
//! `{"schema": "fedsync.backup/v2", "servicePrincipal": {…as Graph returned it},
//! "appRoleAssignedTo": [...]}`; format 1, the service principal alone, is still read. Naming
//! and parsing keys and documents is pure and tested here; the S3 calls are thin. Never writes
//! anything but a new backup object.

use std::fmt;

use aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use serde_json::Value;
use time::OffsetDateTime;
use time::macros::format_description;

use crate::aws::error::{Cause, cause};
use crate::model::{Assignment, ServicePrincipal};
use crate::settings::BackupSettings;

/// The schema name of a format 2 backup.
pub const BACKUP_SCHEMA: &str = "fedsync.backup/v2";

/// What one backup holds.
#[derive(Clone, Debug, PartialEq)]
pub struct Backup {
    /// 1 (the service principal alone) or 2.
    pub format: u8,
    pub service_principal: ServicePrincipal,
    /// The app role assignments at the time (none in format 1).
    pub assignments: Vec<Assignment>,
}

/// The backup document of `service_principal` (as Graph returned it) and its assignments.
pub fn document(service_principal: &Value, assignments: &[Assignment]) -> Value {
    serde_json::json!({
        "schema": BACKUP_SCHEMA,
        "servicePrincipal": service_principal,
        "appRoleAssignedTo": assignments,
    })
}

/// Reads a backup document, format 1 or 2; the error says what is wrong, in one line.
pub fn read(document: &Value) -> Result<Backup, String> {
    let (format, sp, assignments) = match document.get("schema") {
        None => (1, document, &Value::Null),
        Some(Value::String(schema)) if schema == BACKUP_SCHEMA => (
            2,
            &document["servicePrincipal"],
            &document["appRoleAssignedTo"],
        ),
        Some(other) => return Err(format!("schema {other} is not {BACKUP_SCHEMA}")),
    };
    let service_principal =
        ServicePrincipal::from_json(&sp.to_string()).map_err(|e| crate::error_text::chain(&e))?;
    let assignments = match assignments {
        Value::Null if format == 1 => Vec::new(),
        list => {
            serde_json::from_value(list.clone()).map_err(|e| format!("appRoleAssignedTo: {e}"))?
        }
    };
    Ok(Backup {
        format,
        service_principal,
        assignments,
    })
}

/// How many app roles a backup document holds, whatever its format.
pub fn app_role_count(document: &Value) -> usize {
    let sp = document.get("servicePrincipal").unwrap_or(document);
    sp["appRoles"].as_array().map_or(0, Vec::len)
}

/// Pages of `ListObjectsV2` followed at most (1000 keys each).
const MAX_PAGES: usize = 1_000;

/// One backup object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupEntry {
    pub key: String,
    pub taken_at: OffsetDateTime,
    pub service_principal_id: String,
}

/// A backup could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("cannot write the backup s3://{bucket}/{key}")]
    Put {
        bucket: String,
        key: String,
        source: Cause,
    },
    #[error("cannot list backups under s3://{bucket}/{prefix}")]
    List {
        bucket: String,
        prefix: String,
        source: Cause,
    },
    #[error("cannot read the backup s3://{bucket}/{key}")]
    Get {
        bucket: String,
        key: String,
        source: Cause,
    },
    #[error("s3://{bucket}/{key} is not a fedsync backup")]
    NotABackup {
        bucket: String,
        key: String,
        source: Cause,
    },
    #[error("there is no backup s3://{bucket}/{key} (`fedsync backups list` shows the keys)")]
    Missing { bucket: String, key: String },
    #[error("there is no backup under s3://{bucket}/{prefix} yet")]
    NoneYet { bucket: String, prefix: String },
}

/// The key of a backup taken at `at` of service principal `sp_id`.
pub fn backup_key(prefix: &str, at: OffsetDateTime, sp_id: &str) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    let stamp = at
        .format(format_description!(
            "[year][month][day]T[hour][minute][second].[subsecond digits:3]Z"
        ))
        .unwrap_or_default();
    format!("{prefix}{stamp}-{sp_id}.json")
}

/// Reads a backup key back into its time and service principal id; `None` for other keys.
pub fn parse_backup_key(prefix: &str, key: &str) -> Option<BackupEntry> {
    let name = key.strip_prefix(prefix)?.strip_suffix(".json")?;
    let (stamp, sp_id) = name.split_once('-')?;
    if sp_id.is_empty() || sp_id.contains('/') {
        return None;
    }
    let parsed = time::PrimitiveDateTime::parse(
        stamp,
        format_description!("[year][month][day]T[hour][minute][second].[subsecond digits:3]Z"),
    )
    .ok()?;
    Some(BackupEntry {
        key: key.to_owned(),
        taken_at: parsed.assume_utc(),
        service_principal_id: sp_id.to_owned(),
    })
}

/// Backups in one bucket and prefix.
pub struct BackupStore {
    s3: aws_sdk_s3::Client,
    settings: BackupSettings,
}

impl fmt::Debug for BackupStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackupStore")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// `request` with `value` as its JSON body, encrypted with the backup KMS key when there is
/// one, into the backup bucket.
pub(crate) fn json_put(
    request: PutObjectFluentBuilder,
    settings: &BackupSettings,
    value: &impl serde::Serialize,
) -> PutObjectFluentBuilder {
    let body = serde_json::to_vec_pretty(value).unwrap_or_default();
    let request = request
        .bucket(&settings.bucket)
        .content_type("application/json")
        .body(ByteStream::from(body));
    match &settings.kms_key {
        Some(kms_key) => request
            .server_side_encryption(ServerSideEncryption::AwsKms)
            .ssekms_key_id(kms_key),
        None => request,
    }
}

impl BackupStore {
    pub fn new(s3: aws_sdk_s3::Client, settings: BackupSettings) -> BackupStore {
        BackupStore { s3, settings }
    }

    pub fn bucket(&self) -> &str {
        &self.settings.bucket
    }

    /// Writes a backup document (see [`document`]) and returns the key.
    pub async fn put(
        &self,
        sp_id: &str,
        document: &Value,
        at: OffsetDateTime,
    ) -> Result<String, BackupError> {
        let key = backup_key(&self.settings.prefix, at, sp_id);
        // Never overwrite an earlier backup, even one taken in the same millisecond.
        let request = json_put(
            self.s3.put_object().key(&key).if_none_match("*"),
            &self.settings,
            document,
        );
        request.send().await.map_err(|e| BackupError::Put {
            bucket: self.settings.bucket.clone(),
            key: key.clone(),
            source: cause(&e),
        })?;
        Ok(key)
    }

    /// Every backup under the prefix, newest first.
    pub async fn list(&self) -> Result<Vec<BackupEntry>, BackupError> {
        let mut entries = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let page = self
                .s3
                .list_objects_v2()
                .bucket(&self.settings.bucket)
                .prefix(&self.settings.prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| BackupError::List {
                    bucket: self.settings.bucket.clone(),
                    prefix: self.settings.prefix.clone(),
                    source: cause(&e),
                })?;
            entries.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| parse_backup_key(&self.settings.prefix, o.key()?)),
            );
            match page.next_continuation_token() {
                Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_owned()),
                _ => break,
            }
        }
        entries.sort_by(|a, b| b.key.cmp(&a.key));
        Ok(entries)
    }

    /// The key `key_or_latest` names: `latest` is the newest backup (of the service principal
    /// `sp_id`, when given: each app has its own), anything else is a key.
    pub async fn resolve(
        &self,
        key_or_latest: &str,
        sp_id: Option<&str>,
    ) -> Result<String, BackupError> {
        if key_or_latest != "latest" {
            return Ok(key_or_latest.to_owned());
        }
        let entries = self.list().await?;
        entries
            .into_iter()
            .find(|e| sp_id.is_none_or(|sp| e.service_principal_id.eq_ignore_ascii_case(sp)))
            .map(|e| e.key)
            .ok_or_else(|| BackupError::NoneYet {
                bucket: self.settings.bucket.clone(),
                prefix: self.settings.prefix.clone(),
            })
    }

    /// A backup's JSON.
    pub async fn get(&self, key: &str) -> Result<Value, BackupError> {
        let get_error = |source: Cause| BackupError::Get {
            bucket: self.settings.bucket.clone(),
            key: key.to_owned(),
            source,
        };
        let object = self
            .s3
            .get_object()
            .bucket(&self.settings.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| {
                if e.as_service_error().is_some_and(|e| e.is_no_such_key()) {
                    BackupError::Missing {
                        bucket: self.settings.bucket.clone(),
                        key: key.to_owned(),
                    }
                } else {
                    get_error(cause(&e))
                }
            })?;
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|e| get_error(e.to_string().into()))?
            .into_bytes();
        serde_json::from_slice(&bytes).map_err(|e| BackupError::NotABackup {
            bucket: self.settings.bucket.clone(),
            key: key.to_owned(),
            source: e.to_string().into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn keys_sort_by_time_and_carry_milliseconds() {
        let key = backup_key(
            "manifests/",
            datetime!(2026-11-28 09:05:07.123456 UTC),
            "5f0b",
        );
        assert_eq!(key, "manifests/20261128T090507.123Z-5f0b.json");
        let later = backup_key("manifests/", datetime!(2026-11-28 09:05:07.124 UTC), "5f0b");
        assert!(later > key);
        let offset = backup_key("", datetime!(2026-11-28 10:05:07.000 +01:00), "x");
        assert_eq!(offset, "20261128T090507.000Z-x.json", "always UTC");
    }

    #[test]
    fn both_formats_read_and_a_wrong_schema_is_named() {
        let sp = serde_json::json!({"id": "sp", "appRoles": [], "displayName": "AWS"});
        let v1 = read(&sp).unwrap();
        assert_eq!((v1.format, v1.assignments.len()), (1, 0));
        let assignment: Assignment = serde_json::from_value(serde_json::json!({
            "id": "a1", "principalId": "u1", "principalType": "User",
            "appRoleId": "00000000-0000-0000-0000-000000000000", "resourceId": "sp"
        }))
        .unwrap();
        let doc = document(&sp, std::slice::from_ref(&assignment));
        let v2 = read(&doc).unwrap();
        assert_eq!(v2.format, 2);
        assert_eq!(v2.assignments, [assignment]);
        assert_eq!(v2.service_principal, v1.service_principal);
        assert_eq!(app_role_count(&doc), 0);
        let wrong = serde_json::json!({"schema": "fedsync.backup/v9"});
        assert!(read(&wrong).unwrap_err().contains("fedsync.backup/v9"));
    }

    #[test]
    fn keys_parse_back_and_other_objects_are_ignored() {
        let entry =
            parse_backup_key("manifests/", "manifests/20261128T090507.123Z-5f0b.json").unwrap();
        assert_eq!(entry.taken_at, datetime!(2026-11-28 09:05:07.123 UTC));
        assert_eq!(entry.service_principal_id, "5f0b");
        for other in [
            "manifests/lease.json",
            "manifests/state-5f0b.json",
            "manifests/notes.txt",
            "other/20261128T090507.123Z-5f0b.json",
            "manifests/x/20261128T090507.123Z-5f0b.json",
        ] {
            assert_eq!(parse_backup_key("manifests/", other), None, "{other}");
        }
    }
}
