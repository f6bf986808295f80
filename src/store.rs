//! store: where a run keeps what outlives it — the run lease, the backups taken before writing,
//! and the [`SyncState`] (assignments a disable removed, groups fedsync created) — behind one
//! trait, [`Store`], so a run can be tested against memory as well as S3.
//!
//! [`S3Store`] puts all of it in the backup bucket: backups at [`crate::backup::backup_key`]
//! (under `backup-prefix`), and per service principal, at keys no setting moves, the lease at
//! [`crate::lease::lease_key`] and the state beside it at [`state_key`]. It writes only what the
//! run asks for; the state is written whole (the run holds the lease, so no other run writes it
//! meanwhile). While it holds the lease, a task renews it every
//! [`crate::lease::LeaseTimes::renew_every`].

use std::sync::{Arc, Mutex};

use serde_json::Value;
use time::OffsetDateTime;

use crate::aws::error::{Cause, cause};
use crate::backup::{BackupError, BackupStore, json_put};
use crate::lease::{self, Lease, LeaseError, LeaseTimes};
use crate::model::{StateError, SyncState};
use crate::settings::BackupSettings;

/// Where the state of every service principal lives: beside the leases, outside
/// `backup-prefix` (and so outside the backups' lifecycle rule).
pub const STATE_PREFIX: &str = "fedsync/state/";

/// The state of service principal `sp_id`.
pub fn state_key(sp_id: &str) -> String {
    format!("{STATE_PREFIX}{sp_id}.json")
}

/// The state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot read s3://{bucket}/{key}")]
    Read {
        bucket: String,
        key: String,
        source: Cause,
    },
    #[error("s3://{bucket}/{key} is not usable")]
    Invalid {
        bucket: String,
        key: String,
        #[source]
        source: StateError,
    },
    #[error("cannot write s3://{bucket}/{key}")]
    Write {
        bucket: String,
        key: String,
        source: Cause,
    },
}

/// What a run keeps outside itself.
#[allow(async_fn_in_trait)]
pub trait Store {
    /// Takes the run lease of `sp_id` for `holder`, or says who holds it.
    async fn lease(&self, sp_id: &str, holder: &str, now: OffsetDateTime)
    -> Result<(), LeaseError>;
    /// Before a write step: confirms the lease is still this run's, renewing it first when it
    /// would expire soon. [`LeaseError::Lost`] when another run took it over.
    async fn confirm_lease(&self, now: OffsetDateTime) -> Result<(), LeaseError>;
    /// Gives the lease back, when this store holds it.
    async fn release(&self) -> Result<(), LeaseError>;
    /// Writes a backup document and returns where.
    async fn put_backup(
        &self,
        sp_id: &str,
        document: &Value,
        at: OffsetDateTime,
    ) -> Result<String, BackupError>;
    /// The state of `sp_id`; empty when none was written yet.
    async fn read_state(&self, sp_id: &str) -> Result<SyncState, StoreError>;
    async fn write_state(&self, sp_id: &str, state: &SyncState) -> Result<(), StoreError>;
}

/// Everything in the backup bucket.
pub struct S3Store {
    s3: aws_sdk_s3::Client,
    settings: BackupSettings,
    times: LeaseTimes,
    held: Mutex<Option<Held>>,
}

/// The lease this store holds, and the task renewing it.
struct Held {
    lease: Arc<tokio::sync::Mutex<HeldLease>>,
    renewer: tokio::task::JoinHandle<()>,
}

struct HeldLease {
    lease: Lease,
    /// Set by the renewer when another run took the lease over.
    lost: Option<String>,
}

impl S3Store {
    pub fn new(s3: aws_sdk_s3::Client, settings: BackupSettings) -> S3Store {
        S3Store {
            s3,
            settings,
            times: LeaseTimes::default(),
            held: Mutex::new(None),
        }
    }

    /// The same store with other lease times (tests shorten them).
    pub fn with_lease_times(self, times: LeaseTimes) -> S3Store {
        S3Store { times, ..self }
    }

    fn backups(&self) -> BackupStore {
        BackupStore::new(self.s3.clone(), self.settings.clone())
    }

    fn held_lease(&self) -> Option<Arc<tokio::sync::Mutex<HeldLease>>> {
        let held = self.held.lock().ok()?;
        held.as_ref().map(|h| h.lease.clone())
    }
}

/// Renews the lease every `times.renew_every` until it is lost or the task is stopped; a failed
/// renewal is logged and tried again at the next period.
async fn renew_while_held(
    s3: aws_sdk_s3::Client,
    held: Arc<tokio::sync::Mutex<HeldLease>>,
    times: LeaseTimes,
) {
    loop {
        tokio::time::sleep(times.renew_every).await;
        let mut held = held.lock().await;
        match held
            .lease
            .renew(&s3, OffsetDateTime::now_utc(), times.ttl)
            .await
        {
            Ok(()) => tracing::debug!(key = held.lease.key(), "renewed the lease"),
            Err(LeaseError::Lost { now, .. }) => {
                tracing::warn!(key = held.lease.key(), now = %now, "the lease is no longer this run's; it writes nothing more");
                held.lost = Some(now);
                return;
            }
            Err(e) => {
                tracing::warn!(error = %crate::error_text::chain(&e), "could not renew the lease; trying again")
            }
        }
    }
}

impl Store for S3Store {
    async fn lease(
        &self,
        sp_id: &str,
        holder: &str,
        now: OffsetDateTime,
    ) -> Result<(), LeaseError> {
        let key = lease::lease_key(sp_id);
        let lease = lease::acquire(
            &self.s3,
            &self.settings.bucket,
            &key,
            holder,
            now,
            self.times.ttl,
        )
        .await?;
        let lease = Arc::new(tokio::sync::Mutex::new(HeldLease { lease, lost: None }));
        let renewer = tokio::spawn(renew_while_held(self.s3.clone(), lease.clone(), self.times));
        if let Ok(mut held) = self.held.lock() {
            *held = Some(Held { lease, renewer });
        }
        Ok(())
    }

    async fn confirm_lease(&self, now: OffsetDateTime) -> Result<(), LeaseError> {
        let Some(held) = self.held_lease() else {
            return Ok(());
        };
        let mut held = held.lock().await;
        if let Some(holder) = &held.lost {
            return Err(LeaseError::Lost {
                bucket: self.settings.bucket.clone(),
                key: held.lease.key().to_owned(),
                now: holder.clone(),
            });
        }
        if self
            .times
            .renew_before_writing(held.lease.record.expires_at, now)
        {
            // Renewals are late (S3 slow or failing): renew now or stop.
            return held.lease.renew(&self.s3, now, self.times.ttl).await;
        }
        held.lease.confirm(&self.s3).await
    }

    async fn release(&self) -> Result<(), LeaseError> {
        let held = self.held.lock().ok().and_then(|mut held| held.take());
        let Some(Held { lease, renewer }) = held else {
            return Ok(());
        };
        // Stop the renewer between renewals, never in the middle of one.
        let between = lease.lock().await;
        renewer.abort();
        drop(between);
        let _ = renewer.await;
        let Ok(held) = Arc::try_unwrap(lease) else {
            return Ok(());
        };
        let held = held.into_inner();
        if held.lost.is_some() {
            return Ok(());
        }
        held.lease.release(&self.s3).await
    }

    async fn put_backup(
        &self,
        sp_id: &str,
        document: &Value,
        at: OffsetDateTime,
    ) -> Result<String, BackupError> {
        self.backups().put(sp_id, document, at).await
    }

    async fn read_state(&self, sp_id: &str) -> Result<SyncState, StoreError> {
        let bucket = &self.settings.bucket;
        let key = state_key(sp_id);
        let read = |source: Cause| StoreError::Read {
            bucket: bucket.clone(),
            key: key.clone(),
            source,
        };
        let object = match self.s3.get_object().bucket(bucket).key(&key).send().await {
            Ok(object) => object,
            Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
                return Ok(SyncState::default());
            }
            Err(e) => return Err(read(cause(&e))),
        };
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|e| read(e.to_string().into()))?
            .into_bytes();
        SyncState::from_json(&String::from_utf8_lossy(&bytes)).map_err(|source| {
            StoreError::Invalid {
                bucket: bucket.clone(),
                key: key.clone(),
                source,
            }
        })
    }

    async fn write_state(&self, sp_id: &str, state: &SyncState) -> Result<(), StoreError> {
        let key = state_key(sp_id);
        let request = json_put(self.s3.put_object().key(&key), &self.settings, state);
        request.send().await.map_err(|e| StoreError::Write {
            bucket: self.settings.bucket.clone(),
            key,
            source: cause(&e),
        })?;
        Ok(())
    }
}

#[cfg(test)]
pub mod memory {
    //! A [`Store`] in memory for the unit tests of a run: it records every backup and state
    //! write, and can be told to fail the next write.

    use std::sync::Mutex;

    use super::*;

    #[derive(Default)]
    pub struct MemoryStore {
        pub inner: Mutex<Inner>,
    }

    #[derive(Default)]
    pub struct Inner {
        pub leased: Option<String>,
        /// Lose the lease (as if taken over) after this many more confirmations succeed.
        pub lose_lease_after: Option<usize>,
        pub confirmations: usize,
        pub backups: Vec<Value>,
        pub state: SyncState,
        /// Fail the write after this many more writes succeed.
        pub fail_after: Option<usize>,
        pub writes: usize,
    }

    impl MemoryStore {
        fn write(&self) -> Result<(), String> {
            let mut inner = self.inner.lock().unwrap();
            inner.writes += 1;
            match inner.fail_after {
                Some(0) => Err("injected failure".into()),
                Some(n) => {
                    inner.fail_after = Some(n - 1);
                    Ok(())
                }
                None => Ok(()),
            }
        }

        pub fn state(&self) -> SyncState {
            self.inner.lock().unwrap().state.clone()
        }
    }

    impl Store for MemoryStore {
        async fn lease(
            &self,
            _sp_id: &str,
            holder: &str,
            _now: OffsetDateTime,
        ) -> Result<(), LeaseError> {
            let mut inner = self.inner.lock().unwrap();
            if let Some(other) = &inner.leased {
                return Err(LeaseError::Held {
                    bucket: "memory".into(),
                    key: "lease".into(),
                    holder: other.clone(),
                    expires_at: "never".into(),
                });
            }
            inner.leased = Some(holder.to_owned());
            Ok(())
        }

        async fn confirm_lease(&self, _now: OffsetDateTime) -> Result<(), LeaseError> {
            let mut inner = self.inner.lock().unwrap();
            inner.confirmations += 1;
            match inner.lose_lease_after {
                Some(0) => {
                    inner.leased = Some("the-run-that-took-over".into());
                    Err(LeaseError::Lost {
                        bucket: "memory".into(),
                        key: "lease".into(),
                        now: "run the-run-that-took-over holds it".into(),
                    })
                }
                Some(n) => {
                    inner.lose_lease_after = Some(n - 1);
                    Ok(())
                }
                None => Ok(()),
            }
        }

        async fn release(&self) -> Result<(), LeaseError> {
            self.inner.lock().unwrap().leased = None;
            Ok(())
        }

        async fn put_backup(
            &self,
            _sp_id: &str,
            document: &Value,
            _at: OffsetDateTime,
        ) -> Result<String, BackupError> {
            self.write().map_err(|reason: String| BackupError::Put {
                bucket: "memory".into(),
                key: "backup".into(),
                source: reason.into(),
            })?;
            let mut inner = self.inner.lock().unwrap();
            inner.backups.push(document.clone());
            Ok(format!("backup-{}", inner.backups.len()))
        }

        async fn read_state(&self, _sp_id: &str) -> Result<SyncState, StoreError> {
            Ok(self.state())
        }

        async fn write_state(&self, _sp_id: &str, state: &SyncState) -> Result<(), StoreError> {
            self.write().map_err(|reason: String| StoreError::Write {
                bucket: "memory".into(),
                key: "state".into(),
                source: reason.into(),
            })?;
            self.inner.lock().unwrap().state = state.clone();
            Ok(())
        }
    }
}
