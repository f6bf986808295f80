//! lease: one writer per service principal. A run takes the lease — an S3 object at a key no
//! setting moves, [`lease_key`], created with a conditional put (`If-None-Match: *`) holding who
//! took it and until when — before it writes, renews it while it works (a put conditional on the
//! lease's ETag, well before it expires), confirms it is still its own before every write step,
//! and deletes it at the end.
//!
//! A second run finds the object and stops without writing. A crashed run's lease expires, and the
//! next run takes it over with a put conditional on the stale object's ETag, so two runs can never
//! both take over the same stale lease. A run that was taken over (it could not renew in time)
//! learns it at its next confirmation, since the object's ETag is no longer the one it wrote.
//! A run also has a deadline shorter than the lease's lifetime ([`LeaseTimes`]).

use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::aws::error::{Cause, cause, code};

/// Where every lease lives: outside `backup-prefix`, so runs with other prefixes for the same
/// service principal still exclude each other.
pub const LEASE_PREFIX: &str = "fedsync/leases/";

/// The lease of service principal `sp_id`.
pub fn lease_key(sp_id: &str) -> String {
    format!("{LEASE_PREFIX}{sp_id}.json")
}

/// How long a lease lives, how often its run renews it, and how long a run may go on writing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeaseTimes {
    /// How long a lease holds without a renewal.
    pub ttl: Duration,
    /// How often a run renews its lease: a fraction of `ttl`, so a few renewals can fail before
    /// it expires.
    pub renew_every: Duration,
    /// How long after it starts a run may still begin a write step.
    pub deadline: Duration,
}

impl Default for LeaseTimes {
    /// An hour's lease renewed every ten minutes; no write step begins after 45 minutes.
    fn default() -> Self {
        LeaseTimes {
            ttl: Duration::from_secs(3600),
            renew_every: Duration::from_secs(600),
            deadline: Duration::from_secs(45 * 60),
        }
    }
}

impl LeaseTimes {
    /// A lease of `ttl`, renewed every quarter of it; the deadline is left as it is.
    pub fn with_ttl(self, ttl: Duration) -> LeaseTimes {
        LeaseTimes {
            ttl,
            renew_every: ttl / 4,
            ..self
        }
    }

    /// Whether a lease that expires at `expires_at` must be renewed at `now` before a write: when
    /// less than two renewal periods are left.
    pub fn renew_before_writing(&self, expires_at: OffsetDateTime, now: OffsetDateTime) -> bool {
        expires_at - now < self.renew_every * 2
    }
}

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

/// A lease this run took: where, what it wrote, and the ETag of its last write.
#[derive(Debug)]
pub struct Lease {
    bucket: String,
    key: String,
    pub record: LeaseRecord,
    etag: String,
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
    #[error("cannot take the lease s3://{bucket}/{key}; nothing was written")]
    Take {
        bucket: String,
        key: String,
        source: Cause,
    },
    /// The lease is no longer this run's: taken over after it expired, or deleted.
    #[error(
        "the lease s3://{bucket}/{key} is no longer this run's ({now}): another run may be writing, so this one stops"
    )]
    Lost {
        bucket: String,
        key: String,
        /// Who holds it now, in words.
        now: String,
    },
    #[error("cannot renew the lease s3://{bucket}/{key}")]
    Renew {
        bucket: String,
        key: String,
        source: Cause,
    },
    #[error("cannot confirm the lease s3://{bucket}/{key}")]
    Confirm {
        bucket: String,
        key: String,
        source: Cause,
    },
    #[error("cannot release the lease s3://{bucket}/{key}; it expires by itself")]
    Release {
        bucket: String,
        key: String,
        source: Cause,
    },
}

/// Takes the lease for `holder` until `now + ttl`, or says who holds it.
pub async fn acquire(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    holder: &str,
    now: OffsetDateTime,
    ttl: Duration,
) -> Result<Lease, LeaseError> {
    let record = LeaseRecord {
        holder: holder.to_owned(),
        acquired_at: now,
        expires_at: now + ttl,
    };
    let take = |source: Cause| LeaseError::Take {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        source,
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
        Ok(out) => {
            return Ok(Lease {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
                record,
                etag: out.e_tag().unwrap_or_default().to_owned(),
            });
        }
        Err(e) if is_precondition_failure(code(&e)) => {}
        Err(e) => return Err(take(cause(&e))),
    }

    // Someone holds it, or held it and crashed.
    let (held, etag) = read_lease(s3, bucket, key)
        .await
        .map_err(take)?
        .ok_or_else(|| take("it was released while this run looked at it; run again".into()))?;
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
    let out = s3
        .put_object()
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
                    expires_at: (now + ttl).to_string(),
                }
            } else {
                take(cause(&e))
            }
        })?;
    Ok(Lease {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        record,
        etag: out.e_tag().unwrap_or_default().to_owned(),
    })
}

/// The lease object's record (none when it is not one fedsync wrote) and its ETag; none when
/// there is no lease object.
async fn read_lease(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<Option<(Option<LeaseRecord>, String)>, Cause> {
    let object = match s3.get_object().bucket(bucket).key(key).send().await {
        Ok(object) => object,
        Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => return Ok(None),
        Err(e) => return Err(cause(&e)),
    };
    let etag = object.e_tag().unwrap_or_default().to_owned();
    let bytes = object
        .body
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .into_bytes();
    Ok(Some((serde_json::from_slice(&bytes).ok(), etag)))
}

fn is_precondition_failure(code: Option<&str>) -> bool {
    matches!(
        code,
        Some("PreconditionFailed" | "ConditionalRequestConflict")
    )
}

/// Who holds a lease that is no longer ours, in words.
fn holder_now(found: Option<&(Option<LeaseRecord>, String)>) -> String {
    match found {
        None => "it was deleted".to_owned(),
        Some((Some(record), _)) => {
            format!("run {} holds it until {}", record.holder, record.expires_at)
        }
        Some((None, _)) => "it holds something fedsync did not write".to_owned(),
    }
}

impl Lease {
    pub fn key(&self) -> &str {
        &self.key
    }

    fn lost(&self, now: String) -> LeaseError {
        LeaseError::Lost {
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            now,
        }
    }

    /// Extends the lease to `now + ttl` with a put conditional on the ETag this run last wrote:
    /// it fails with [`LeaseError::Lost`] when another run took the lease over.
    pub async fn renew(
        &mut self,
        s3: &aws_sdk_s3::Client,
        now: OffsetDateTime,
        ttl: Duration,
    ) -> Result<(), LeaseError> {
        let record = LeaseRecord {
            expires_at: now + ttl,
            ..self.record.clone()
        };
        let body = serde_json::to_vec(&record).unwrap_or_default();
        let put = s3
            .put_object()
            .bucket(&self.bucket)
            .key(&self.key)
            .if_match(&self.etag)
            .content_type("application/json")
            .body(ByteStream::from(body))
            .send()
            .await;
        match put {
            Ok(out) => {
                self.etag = out.e_tag().unwrap_or_default().to_owned();
                self.record = record;
                Ok(())
            }
            Err(e) if is_precondition_failure(code(&e)) || code(&e) == Some("NoSuchKey") => {
                let found = read_lease(s3, &self.bucket, &self.key).await.ok().flatten();
                Err(self.lost(holder_now(found.as_ref())))
            }
            Err(e) => Err(LeaseError::Renew {
                bucket: self.bucket.clone(),
                key: self.key.clone(),
                source: cause(&e),
            }),
        }
    }

    /// Confirms the lease object is still the one this run last wrote.
    pub async fn confirm(&self, s3: &aws_sdk_s3::Client) -> Result<(), LeaseError> {
        let found = read_lease(s3, &self.bucket, &self.key)
            .await
            .map_err(|source| LeaseError::Confirm {
                bucket: self.bucket.clone(),
                key: self.key.clone(),
                source,
            })?;
        match &found {
            Some((_, etag)) if *etag == self.etag => Ok(()),
            _ => Err(self.lost(holder_now(found.as_ref()))),
        }
    }

    /// Gives the lease back, if it is still ours.
    pub async fn release(self, s3: &aws_sdk_s3::Client) -> Result<(), LeaseError> {
        let release = |source: Cause| LeaseError::Release {
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            source,
        };
        let found = read_lease(s3, &self.bucket, &self.key)
            .await
            .map_err(release)?;
        match &found {
            Some((_, etag)) if *etag == self.etag => {}
            _ => {
                tracing::warn!(key = %self.key, "the lease was taken over by another run; leaving it");
                return Ok(());
            }
        }
        s3.delete_object()
            .bucket(&self.bucket)
            .key(&self.key)
            .send()
            .await
            .map_err(|e| release(cause(&e)))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_per_service_principal_and_outside_any_backup_prefix() {
        assert_eq!(lease_key("sp-1"), "fedsync/leases/sp-1.json");
    }

    #[test]
    fn a_run_stops_writing_well_before_its_lease_could_expire() {
        let times = LeaseTimes::default();
        assert!(times.deadline < times.ttl);
        assert!(times.renew_every * 4 <= times.ttl);
        let short = times.with_ttl(Duration::from_secs(8));
        assert_eq!(short.renew_every, Duration::from_secs(2));
        let now = time::macros::datetime!(2026-12-02 10:00 UTC);
        assert!(!short.renew_before_writing(now + Duration::from_secs(8), now));
        assert!(short.renew_before_writing(now + Duration::from_secs(3), now));
    }
}
