//! store: where a run keeps what outlives it — the run lease, the backups taken before writing,
//! and the [`SyncState`] (assignments a disable removed, groups fedsync created) — behind one
//! trait, [`Store`], so a run can be tested against memory as well as S3.
//!
//! [`S3Store`] puts all of it in the backup bucket: backups at [`crate::backup::backup_key`],
//! the lease at [`crate::lease::lease_key`], the state beside it at [`state_key`]. It writes only
//! what the run asks for; the state is written whole (the run holds the lease, so no other run
//! writes it meanwhile).

use std::sync::Mutex;

use serde_json::Value;
use time::OffsetDateTime;

use crate::aws::error::describe;
use crate::backup::{BackupError, BackupStore, json_put};
use crate::lease::{self, Lease, LeaseError};
use crate::model::{StateError, SyncState};
use crate::settings::BackupSettings;

/// The state of service principal `sp_id`: beside the lease.
pub fn state_key(prefix: &str, sp_id: &str) -> String {
    format!("{prefix}state-{sp_id}.json")
}

/// The state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot read s3://{bucket}/{key}: {reason}")]
    Read {
        bucket: String,
        key: String,
        reason: String,
    },
    #[error("s3://{bucket}/{key} is not usable")]
    Invalid {
        bucket: String,
        key: String,
        #[source]
        source: StateError,
    },
    #[error("cannot write s3://{bucket}/{key}: {reason}")]
    Write {
        bucket: String,
        key: String,
        reason: String,
    },
}

/// What a run keeps outside itself.
#[allow(async_fn_in_trait)]
pub trait Store {
    /// Takes the run lease for `holder`, or says who holds it.
    async fn lease(&self, holder: &str, now: OffsetDateTime) -> Result<(), LeaseError>;
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
    held: Mutex<Option<Lease>>,
}

impl S3Store {
    pub fn new(s3: aws_sdk_s3::Client, settings: BackupSettings) -> S3Store {
        S3Store {
            s3,
            settings,
            held: Mutex::new(None),
        }
    }

    fn backups(&self) -> BackupStore {
        BackupStore::new(self.s3.clone(), self.settings.clone())
    }
}

impl Store for S3Store {
    async fn lease(&self, holder: &str, now: OffsetDateTime) -> Result<(), LeaseError> {
        let key = lease::lease_key(&self.settings.prefix);
        let lease = lease::acquire(&self.s3, &self.settings.bucket, &key, holder, now).await?;
        if let Ok(mut held) = self.held.lock() {
            *held = Some(lease);
        }
        Ok(())
    }

    async fn release(&self) -> Result<(), LeaseError> {
        let lease = self.held.lock().ok().and_then(|mut held| held.take());
        match lease {
            Some(lease) => lease.release(&self.s3).await,
            None => Ok(()),
        }
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
        let key = state_key(&self.settings.prefix, sp_id);
        let read = |reason: String| StoreError::Read {
            bucket: bucket.clone(),
            key: key.clone(),
            reason,
        };
        let object = match self.s3.get_object().bucket(bucket).key(&key).send().await {
            Ok(object) => object,
            Err(e) if e.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
                return Ok(SyncState::default());
            }
            Err(e) => return Err(read(describe(&e))),
        };
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|e| read(e.to_string()))?
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
        let key = state_key(&self.settings.prefix, sp_id);
        let request = json_put(self.s3.put_object().key(&key), &self.settings, state);
        request.send().await.map_err(|e| StoreError::Write {
            bucket: self.settings.bucket.clone(),
            key,
            reason: describe(&e),
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
        async fn lease(&self, holder: &str, _now: OffsetDateTime) -> Result<(), LeaseError> {
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
            self.write().map_err(|reason| BackupError::Put {
                bucket: "memory".into(),
                key: "backup".into(),
                reason,
            })?;
            let mut inner = self.inner.lock().unwrap();
            inner.backups.push(document.clone());
            Ok(format!("backup-{}", inner.backups.len()))
        }

        async fn read_state(&self, _sp_id: &str) -> Result<SyncState, StoreError> {
            Ok(self.state())
        }

        async fn write_state(&self, _sp_id: &str, state: &SyncState) -> Result<(), StoreError> {
            self.write().map_err(|reason| StoreError::Write {
                bucket: "memory".into(),
                key: "state".into(),
                reason,
            })?;
            self.inner.lock().unwrap().state = state.clone();
            Ok(())
        }
    }
}
