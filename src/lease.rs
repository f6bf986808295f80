//! lease: one writer at a time. A run takes the lease — an S3 object created with a conditional
//! put (`If-None-Match: *`) holding who took it and until when — before it writes, and deletes
//! it at the end. A second run finds the object and stops without writing; a crashed run's lease
//! expires, and the next run takes it over with a put conditional on the stale object's ETag, so
//! two runs can never both take over the same stale lease.

use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::aws::error::{code, describe};

/// How long a lease holds when its run does not release it; longer than any run should take.
pub const LEASE_TTL: Duration = Duration::from_secs(3600);

/// What the lease object holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseRecord {
    /// The run that holds it.
    pub holder: String,
    #[serde(with = "time::serde::rfc3339")]
    pub acquired_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// A lease this run holds.
#[derive(Debug)]
pub struct Lease {
    bucket: String,
    key: String,
    pub record: LeaseRecord,
}

#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error(
        "another fedsync run holds the lease s3://{bucket}/{key} (run {holder}, until {expires_at}); nothing was written — wait for it to finish"
    )]
    Held {
        bucket: String,
        key: String,
        holder: String,
        expires_at: String,
    },
    #[error("cannot take the lease s3://{bucket}/{key}: {reason}; nothing was written")]
    Call {
        bucket: String,
        key: String,
        reason: String,
    },
}

/// Where the lease lives: beside the backups.
pub fn lease_key(prefix: &str) -> String {
    format!("{prefix}lease.json")
}

/// Takes the lease for `holder`, or says who holds it.
pub async fn acquire(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    holder: &str,
    now: OffsetDateTime,
) -> Result<Lease, LeaseError> {
    let record = LeaseRecord {
        holder: holder.to_owned(),
        acquired_at: now,
        expires_at: now + LEASE_TTL,
    };
    let call = |reason: String| LeaseError::Call {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        reason,
    };
    let body = serde_json::to_vec(&record).unwrap_or_default();
    let created = s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .if_none_match("*")
        .content_type("application/json")
        .body(ByteStream::from(body.clone()))
        .send()
        .await;
    match created {
        Ok(_) => {
            return Ok(Lease {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
                record,
            });
        }
        Err(e) if is_precondition_failure(code(&e)) => {}
        Err(e) => return Err(call(describe(&e))),
    }

    // Someone holds it, or held it and crashed.
    let (held, etag) = read_lease(s3, bucket, key).await.map_err(call)?;
    if let Some(held) = &held
        && held.expires_at > now
    {
        return Err(LeaseError::Held {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            holder: held.holder.clone(),
            expires_at: held.expires_at.to_string(),
        });
    }
    tracing::warn!(
        bucket,
        key,
        stale_holder = held.as_ref().map(|h| h.holder.as_str()),
        "taking over an expired lease"
    );
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .if_match(etag)
        .content_type("application/json")
        .body(ByteStream::from(body))
        .send()
        .await
        .map_err(|e| {
            if is_precondition_failure(code(&e)) {
                LeaseError::Held {
                    bucket: bucket.to_owned(),
                    key: key.to_owned(),
                    holder: "another run that took over the expired lease first".to_owned(),
                    expires_at: (now + LEASE_TTL).to_string(),
                }
            } else {
                call(describe(&e))
            }
        })?;
    Ok(Lease {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        record,
    })
}

/// The lease object's record (none when it is not one fedsync wrote) and its ETag.
async fn read_lease(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<(Option<LeaseRecord>, String), String> {
    let object = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| describe(&e))?;
    let etag = object.e_tag().unwrap_or_default().to_owned();
    let bytes = object
        .body
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .into_bytes();
    Ok((serde_json::from_slice(&bytes).ok(), etag))
}

fn is_precondition_failure(code: Option<&str>) -> bool {
    matches!(
        code,
        Some("PreconditionFailed" | "ConditionalRequestConflict")
    )
}

impl Lease {
    /// Gives the lease back, if it is still ours.
    pub async fn release(self, s3: &aws_sdk_s3::Client) -> Result<(), LeaseError> {
        let call = |reason: String| LeaseError::Call {
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            reason,
        };
        let (held, _) = read_lease(s3, &self.bucket, &self.key)
            .await
            .map_err(call)?;
        if held.as_ref().map(|h| &h.holder) != Some(&self.record.holder) {
            tracing::warn!(key = %self.key, "the lease was taken over by another run; leaving it");
            return Ok(());
        }
        s3.delete_object()
            .bucket(&self.bucket)
            .key(&self.key)
            .send()
            .await
            .map_err(|e| call(describe(&e)))?;
        Ok(())
    }
}
