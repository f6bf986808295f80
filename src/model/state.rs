//! state: what fedsync remembers between runs, per service principal — the assignments a
//! disable removed (so the run that brings the role back can give its people back) and the
//! groups fedsync created (so it reuses only groups it can stand behind).
//!
//! Stored as JSON beside the run lease (`fedsync.state/v1`); read at the start of a run,
//! written as the run's steps record or forget. Pure: no I/O.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{AppRoleId, JsonError, ObjectId, PrincipalType};

/// The schema name of [`SyncState`]'s JSON.
pub const STATE_SCHEMA: &str = "fedsync.state/v1";

/// Everything fedsync remembers about one service principal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncState {
    pub schema: String,
    /// Assignments removed when their role was disabled, to restore when it comes back.
    #[serde(default)]
    pub removed_assignments: Vec<RemovedAssignment>,
    /// Groups fedsync created.
    #[serde(default)]
    pub created_groups: Vec<ObjectId>,
}

impl Default for SyncState {
    fn default() -> Self {
        SyncState {
            schema: STATE_SCHEMA.to_owned(),
            removed_assignments: Vec::new(),
            created_groups: Vec::new(),
        }
    }
}

/// One assignment a disable removed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovedAssignment {
    pub app_role_id: AppRoleId,
    pub principal_id: ObjectId,
    pub principal_type: PrincipalType,
    #[serde(default)]
    pub principal_display_name: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub removed_at: OffsetDateTime,
    /// The run that removed it.
    pub run: String,
}

impl RemovedAssignment {
    /// The pair a record stands for.
    pub fn key(&self) -> (AppRoleId, &ObjectId) {
        (self.app_role_id, &self.principal_id)
    }
}

/// Why a state document cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("not a fedsync state document")]
    Json(#[source] JsonError),
    #[error("schema {found:?} is not {STATE_SCHEMA}")]
    Schema { found: String },
}

impl SyncState {
    pub fn from_json(text: &str) -> Result<SyncState, StateError> {
        let state: SyncState = super::from_json(text).map_err(StateError::Json)?;
        if state.schema != STATE_SCHEMA {
            return Err(StateError::Schema {
                found: state.schema,
            });
        }
        Ok(state)
    }

    /// Records removals, replacing an older record of the same pair.
    pub fn record(&mut self, removed: impl IntoIterator<Item = RemovedAssignment>) {
        for r in removed {
            self.removed_assignments.retain(|old| old.key() != r.key());
            self.removed_assignments.push(r);
        }
    }

    /// Forgets the records of these pairs.
    pub fn forget(&mut self, pairs: &[(AppRoleId, ObjectId)]) {
        self.removed_assignments
            .retain(|r| !pairs.iter().any(|(role, p)| (*role, p) == r.key()));
    }

    /// Remembers that fedsync created these groups.
    pub fn created(&mut self, groups: impl IntoIterator<Item = ObjectId>) {
        for id in groups {
            if !self.created_groups.contains(&id) {
                self.created_groups.push(id);
            }
        }
    }

    /// The records of one app role.
    pub fn removed_from(&self, role: AppRoleId) -> impl Iterator<Item = &RemovedAssignment> {
        self.removed_assignments
            .iter()
            .filter(move |r| r.app_role_id == role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn removed(role: u128, principal: &str, run: &str) -> RemovedAssignment {
        RemovedAssignment {
            app_role_id: AppRoleId::for_value(&role.to_string()),
            principal_id: principal.parse().unwrap(),
            principal_type: PrincipalType::User,
            principal_display_name: None,
            removed_at: datetime!(2026-12-01 10:00 UTC),
            run: run.into(),
        }
    }

    #[test]
    fn records_replace_their_pair_and_forgetting_takes_them_out() {
        let mut state = SyncState::default();
        state.record([removed(1, "alice", "r1"), removed(1, "bob", "r1")]);
        state.record([removed(1, "alice", "r2")]);
        assert_eq!(state.removed_assignments.len(), 2);
        assert!(state.removed_assignments.iter().any(|r| r.run == "r2"));
        let role = AppRoleId::for_value("1");
        state.forget(&[(role, "ALICE".parse().unwrap())]);
        assert_eq!(state.removed_from(role).count(), 1);
        let text = serde_json::to_string(&state).unwrap();
        assert_eq!(SyncState::from_json(&text).unwrap(), state);
        assert!(SyncState::from_json(r#"{"schema": "other"}"#).is_err());
    }
}
