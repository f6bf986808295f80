//! assignments: which app role assignments a plan adds, removes and restores, and which records
//! of removed assignments it forgets. Pure: no I/O.
//!
//! - A role being **disabled** loses its assignments (Graph keeps a disabled role in its
//!   assignees' tokens); each is **recorded** first, so the run that brings the role back gives
//!   the same people back.
//! - A role being **dropped** loses what is left, unrecorded, and its records are forgotten.
//! - A role that is enabled in the target and has records (back in AWS, or a run that stopped
//!   before restoring) gets them **restored** — what is missing is assigned again — and the
//!   records are forgotten. Records of roles the target no longer has are forgotten.
//! - With `assign-groups`, each role's group (reused or created) is assigned to it.
//! - Held roles are left alone: their assignments stay, and so do their records.

use std::collections::{BTreeSet, HashSet};

use serde::Serialize;

use super::groups::{GroupAction, PlannedGroup};
use super::{Action, RoleChange};
use crate::model::{
    AppRole, AppRoleId, Assignment, AssignmentId, ObjectId, PrincipalType, SyncState,
};

/// What happens to one assignment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AssignmentAction {
    Add,
    Remove,
    Restore,
}

/// Why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AssignmentReason {
    /// `assign-groups`: the role's synced group.
    SyncedGroup,
    /// The role is being disabled; recorded, to restore if it comes back.
    RoleDisabled,
    /// The role is being dropped.
    RoleDropped,
    /// The role is enabled again: what its disable removed comes back.
    RoleBack,
    /// `fedsync restore`: as in the backup.
    InBackup,
}

impl AssignmentReason {
    pub fn describe(self) -> &'static str {
        match self {
            AssignmentReason::SyncedGroup => "the role's synced group (assign-groups)",
            AssignmentReason::RoleDisabled => {
                "its role is disabled; recorded, and restored if the role comes back"
            }
            AssignmentReason::RoleDropped => "its role is dropped",
            AssignmentReason::RoleBack => "its role is back: restoring what the disable removed",
            AssignmentReason::InBackup => "as in the backup",
        }
    }
}

/// One assignment a plan adds, removes or restores.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AssignmentChange {
    pub action: AssignmentAction,
    pub app_role_id: AppRoleId,
    /// The role's display name (or value), for people.
    pub role: String,
    /// The principal; none for a group this run creates.
    pub principal_id: Option<ObjectId>,
    /// The display name of the group this run creates, when that is the principal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_to_create: Option<String>,
    pub principal_type: PrincipalType,
    pub principal_display_name: Option<String>,
    /// The assignment a removal deletes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignment_id: Option<AssignmentId>,
    /// A removal that is recorded first, to restore later.
    pub record: bool,
    pub reason: AssignmentReason,
}

impl AssignmentChange {
    /// `group X`, `user alice@…`, or the id when Graph gave no name.
    pub fn principal_label(&self) -> String {
        let kind = match &self.principal_type {
            PrincipalType::User => "user".to_owned(),
            PrincipalType::Group => "group".to_owned(),
            PrincipalType::ServicePrincipal => "service principal".to_owned(),
            PrincipalType::Other(t) => t.clone(),
        };
        let name = self
            .principal_display_name
            .clone()
            .or_else(|| self.group_to_create.clone())
            .or_else(|| self.principal_id.as_ref().map(ToString::to_string))
            .unwrap_or_default();
        format!("{kind} {name}")
    }
}

/// A group still assigned to a role that is leaving (it is not deleted).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct OrphanGroup {
    pub id: ObjectId,
    pub display_name: Option<String>,
}

/// A record of a removed assignment that the plan lets go.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Forget {
    pub app_role_id: AppRoleId,
    pub principal_id: ObjectId,
}

/// What the assignment planner works from.
pub(crate) struct Inputs<'a> {
    pub changes: &'a [RoleChange],
    pub target: &'a [AppRole],
    pub current: &'a [Assignment],
    pub state: &'a SyncState,
    pub groups: &'a [PlannedGroup],
    pub assign_groups: bool,
    /// App roles the plan holds: untouched, assignments and records too.
    pub held: &'a HashSet<AppRoleId>,
    /// `fedsync restore`: the backup's assignments, to bring back for roles enabled in the
    /// target.
    pub from_backup: &'a [Assignment],
}

/// The assignment changes (removals, then restores and adds), the orphaned groups, and the
/// records to forget.
pub(crate) fn plan(inputs: &Inputs) -> (Vec<AssignmentChange>, Vec<OrphanGroup>, Vec<Forget>) {
    let role_name = |id: AppRoleId| {
        inputs
            .target
            .iter()
            .find(|r| r.id == id)
            .and_then(|r| r.display_name().or(r.value()).map(str::to_owned))
            .or_else(|| {
                inputs
                    .changes
                    .iter()
                    .find(|c| c.id == id)
                    .map(|c| c.display_name.clone().unwrap_or_else(|| c.value.clone()))
            })
            .unwrap_or_else(|| id.to_string())
    };
    let enabled: HashSet<AppRoleId> = inputs
        .target
        .iter()
        .filter(|r| r.is_enabled && !inputs.held.contains(&r.id))
        .map(|r| r.id)
        .collect();
    let in_target: HashSet<AppRoleId> = inputs.target.iter().map(|r| r.id).collect();
    let assigned = |role: AppRoleId, principal: &ObjectId| {
        inputs
            .current
            .iter()
            .any(|a| a.app_role_id == role && &a.principal_id == principal)
    };

    let mut changes = Vec::new();
    let mut forget: BTreeSet<Forget> = BTreeSet::new();
    let mut orphans: BTreeSet<OrphanGroup> = BTreeSet::new();
    for change in inputs.changes {
        let (record, reason) = match change.action {
            Action::Disable => (true, AssignmentReason::RoleDisabled),
            Action::Remove => (false, AssignmentReason::RoleDropped),
            _ => continue,
        };
        for a in inputs.current.iter().filter(|a| a.app_role_id == change.id) {
            if a.principal_type == PrincipalType::Group {
                orphans.insert(OrphanGroup {
                    id: a.principal_id.clone(),
                    display_name: a.principal_display_name.clone(),
                });
            }
            changes.push(AssignmentChange {
                action: AssignmentAction::Remove,
                app_role_id: change.id,
                role: role_name(change.id),
                principal_id: Some(a.principal_id.clone()),
                group_to_create: None,
                principal_type: a.principal_type.clone(),
                principal_display_name: a.principal_display_name.clone(),
                assignment_id: Some(a.id.clone()),
                record,
                reason,
            });
        }
    }

    // Records: restore those of enabled roles, forget those of roles that leave or are gone.
    let mut restoring: HashSet<(AppRoleId, ObjectId)> = HashSet::new();
    for r in &inputs.state.removed_assignments {
        let leaving = inputs
            .changes
            .iter()
            .any(|c| c.id == r.app_role_id && c.action == Action::Remove);
        if leaving || !in_target.contains(&r.app_role_id) {
            forget.insert(Forget {
                app_role_id: r.app_role_id,
                principal_id: r.principal_id.clone(),
            });
            continue;
        }
        if !enabled.contains(&r.app_role_id) {
            continue;
        }
        forget.insert(Forget {
            app_role_id: r.app_role_id,
            principal_id: r.principal_id.clone(),
        });
        if !assigned(r.app_role_id, &r.principal_id)
            && restoring.insert((r.app_role_id, r.principal_id.clone()))
        {
            changes.push(AssignmentChange {
                action: AssignmentAction::Restore,
                app_role_id: r.app_role_id,
                role: role_name(r.app_role_id),
                principal_id: Some(r.principal_id.clone()),
                group_to_create: None,
                principal_type: r.principal_type.clone(),
                principal_display_name: r.principal_display_name.clone(),
                assignment_id: None,
                record: false,
                reason: AssignmentReason::RoleBack,
            });
        }
    }
    for a in inputs.from_backup {
        if enabled.contains(&a.app_role_id)
            && !assigned(a.app_role_id, &a.principal_id)
            && restoring.insert((a.app_role_id, a.principal_id.clone()))
        {
            changes.push(AssignmentChange {
                action: AssignmentAction::Restore,
                app_role_id: a.app_role_id,
                role: role_name(a.app_role_id),
                principal_id: Some(a.principal_id.clone()),
                group_to_create: None,
                principal_type: a.principal_type.clone(),
                principal_display_name: a.principal_display_name.clone(),
                assignment_id: None,
                record: false,
                reason: AssignmentReason::InBackup,
            });
        }
    }

    if inputs.assign_groups {
        for group in inputs.groups {
            if !enabled.contains(&group.app_role_id) {
                continue;
            }
            let (principal_id, group_to_create) = match (group.action, &group.id) {
                (GroupAction::Reuse, Some(id)) => {
                    if assigned(group.app_role_id, id)
                        || restoring.contains(&(group.app_role_id, id.clone()))
                    {
                        continue;
                    }
                    (Some(id.clone()), None)
                }
                (GroupAction::Create, _) => (None, Some(group.display_name.clone())),
                _ => continue,
            };
            changes.push(AssignmentChange {
                action: AssignmentAction::Add,
                app_role_id: group.app_role_id,
                role: role_name(group.app_role_id),
                principal_id,
                group_to_create,
                principal_type: PrincipalType::Group,
                principal_display_name: Some(group.display_name.clone()),
                assignment_id: None,
                record: false,
                reason: AssignmentReason::SyncedGroup,
            });
        }
    }
    (
        changes,
        orphans.into_iter().collect(),
        forget.into_iter().collect(),
    )
}
