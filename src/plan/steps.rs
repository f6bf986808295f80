//! steps: a [`Plan`] as the ordered writes that carry it out — the safe order as data, so the
//! shell only runs them. Pure: no I/O.
//!
//! 1. `PATCH` the app roles with the adds, updates and disables (and roles still to drop kept,
//!    disabled, because Graph drops only roles disabled in an earlier request);
//! 2. record the assignments of the roles being disabled (so a later run can restore them), then
//!    remove them (Graph keeps a disabled role in its assignees' tokens);
//! 3. `PATCH` again to drop the roles an earlier run disabled;
//! 4. create the missing groups;
//! 5. assign groups to their roles, and restore recorded assignments;
//! 6. forget the records that were restored or whose roles left.
//!
//! A failed `PATCH` therefore never leaves an enabled role stripped of its people, and a run
//! stopped at any step is finished by the next, which plans again from what is there.

use super::assignments::{AssignmentAction, AssignmentChange, Forget};
use super::groups::{GroupAction, PlannedGroup};
use super::{Action, Plan};
use crate::model::AppRole;

/// One write (or group of writes of one kind).
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Replace the whole `appRoles` collection.
    PatchAppRoles {
        roles: Vec<AppRole>,
        purpose: &'static str,
    },
    /// Record these removals before making them.
    RecordRemovals(Vec<AssignmentChange>),
    Unassign(Vec<AssignmentChange>),
    CreateGroups(Vec<PlannedGroup>),
    /// Assign (groups to their roles, and restores).
    Assign(Vec<AssignmentChange>),
    Forget(Vec<Forget>),
}

impl Step {
    /// The step's name in an error: where a run stopped.
    pub fn name(&self) -> &'static str {
        match self {
            Step::PatchAppRoles { purpose, .. } => purpose,
            Step::RecordRemovals(_) => "recording the assignments of disabled roles",
            Step::Unassign(_) => "removing the assignments of disabled roles",
            Step::CreateGroups(_) => "creating groups",
            Step::Assign(_) => "assigning groups and restoring assignments",
            Step::Forget(_) => "forgetting restored assignments",
        }
    }
}

/// The steps that carry out `plan`, in the safe order; none when it writes nothing.
pub fn steps(plan: &Plan) -> Vec<Step> {
    let mut steps = Vec::new();
    let role_changes = plan.changes.iter().any(|c| c.action != Action::Remove);
    match &plan.first_patch {
        Some(first) if role_changes => steps.push(Step::PatchAppRoles {
            roles: first.clone(),
            purpose: "the first appRoles PATCH (adds, updates, disables)",
        }),
        None if !plan.changes.is_empty() => steps.push(Step::PatchAppRoles {
            roles: plan.target.clone(),
            purpose: "the appRoles PATCH",
        }),
        _ => {}
    }
    let removals: Vec<AssignmentChange> = plan
        .assignments
        .iter()
        .filter(|a| a.action == AssignmentAction::Remove)
        .cloned()
        .collect();
    let recorded: Vec<AssignmentChange> = removals.iter().filter(|a| a.record).cloned().collect();
    if !recorded.is_empty() {
        steps.push(Step::RecordRemovals(recorded));
    }
    if !removals.is_empty() {
        steps.push(Step::Unassign(removals));
    }
    if plan.first_patch.is_some() {
        steps.push(Step::PatchAppRoles {
            roles: plan.target.clone(),
            purpose: "dropping disabled roles",
        });
    }
    let create: Vec<PlannedGroup> = plan
        .groups
        .iter()
        .filter(|g| g.action == GroupAction::Create)
        .cloned()
        .collect();
    if !create.is_empty() {
        steps.push(Step::CreateGroups(create));
    }
    let assign: Vec<AssignmentChange> = plan
        .assignments
        .iter()
        .filter(|a| a.action != AssignmentAction::Remove)
        .cloned()
        .collect();
    if !assign.is_empty() {
        steps.push(Step::Assign(assign));
    }
    if !plan.forget.is_empty() {
        steps.push(Step::Forget(plan.forget.clone()));
    }
    steps
}
