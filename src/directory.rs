//! directory: the Graph side of a run as one trait, [`Directory`] — read the [`Current`] state
//! (service principal, the groups a plan names, assignments, who owns fedsync's groups), and the
//! writes a plan's steps make. [`GraphClient`] implements it against Microsoft Graph; the unit
//! tests implement it in memory ([`memory`]), with Graph's rules and injected failures.
//!
//! Reading groups, when fedsync's groups are owned by the sync app's own service principal (the
//! default): the groups it owns, in one listing of up to 999 a page; then, for the names none of
//! them carries, the groups of those names that someone else may hold (one lookup per name when
//! they are few, else one listing by their common prefix, 999 a page, and the owners of each
//! group found there that the sync app does not own, at most [`MAX_OWNER_READS`]; beyond that a
//! group's owners are unknown, and a group with unknown owners is never reused). With another
//! `group-owner-id`: the groups of the names with their owners (one listing by the common prefix,
//! which Graph pages by 100 when it expands owners, else a lookup per name). Entra compares
//! display names without regard to case. Assignments are read only when the query asks for them.
//! Never decides anything: [`crate::plan`] does.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::Value;

use crate::graph::{GraphClient, GraphError};
use crate::model::{
    AppRole, AppRoleId, Assignment, AssignmentId, Current, Group, MembershipChange, NewGroup,
    ObjectId, ServicePrincipal,
};
use crate::naming;

/// What to read.
#[derive(Clone, Debug)]
pub struct CurrentQuery {
    pub service_principal_id: String,
    /// The display names of the groups the plan may reuse or create.
    pub group_names: Vec<String>,
    pub owner: OwnerQuery,
    /// Read the service principal's app role assignments (else [`Current::assignments`] is
    /// empty): a plan needs them; a read-back needs them only when the plan changes some.
    pub assignments: bool,
    /// The groups already read for this run (for several apps at once): the groups of
    /// `group_names` are taken from it instead of being read again.
    pub known_groups: Option<Arc<KnownGroups>>,
}

/// Groups read by name, and who owns fedsync's groups ([`Directory::read_groups`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KnownGroups {
    pub owner: Option<ObjectId>,
    pub groups: Vec<Group>,
}

/// At most this many names are looked up one by one; more are listed by their common prefix.
const FEW_NAMES: usize = 5;
/// The most groups whose owners are read one by one in one read of the current state.
pub const MAX_OWNER_READS: usize = 20;

/// Who owns fedsync's groups.
#[derive(Clone, Debug)]
pub enum OwnerQuery {
    /// `group-owner-id`.
    Given(ObjectId),
    /// The sync app's own service principal, looked up by its client id (only when there are
    /// groups to judge).
    SyncApp { client_id: String },
}

/// Graph, as a run sees it.
#[allow(async_fn_in_trait)]
pub trait Directory {
    /// The service principal as Graph returned it (for the backup) and parsed.
    async fn read_service_principal(
        &self,
        sp_id: &str,
    ) -> Result<(Value, ServicePrincipal), GraphError>;
    /// Every app role assignment of the service principal.
    async fn read_assignments(&self, sp_id: &str) -> Result<Vec<Assignment>, GraphError>;
    /// The groups named `names` (any case) and who owns fedsync's groups (none looked up when
    /// there are no names).
    async fn read_groups(
        &self,
        names: &[String],
        owner: &OwnerQuery,
    ) -> Result<KnownGroups, GraphError>;

    /// The current state `query` asks for.
    async fn read_current(&self, query: &CurrentQuery) -> Result<Current, GraphError> {
        let sp_id = &query.service_principal_id;
        let (raw, service_principal) = self.read_service_principal(sp_id).await?;
        let assignments = if query.assignments {
            self.read_assignments(sp_id).await?
        } else {
            Vec::new()
        };
        let KnownGroups {
            owner: group_owner,
            groups,
        } = match &query.known_groups {
            Some(known) => {
                let mut groups = known.groups.clone();
                retain_named(&mut groups, &query.group_names);
                KnownGroups {
                    owner: known.owner.clone(),
                    groups,
                }
            }
            None => self.read_groups(&query.group_names, &query.owner).await?,
        };
        Ok(Current {
            raw_service_principal: raw,
            service_principal,
            groups,
            assignments,
            group_owner,
        })
    }

    /// Replaces the whole `appRoles` collection.
    async fn set_app_roles(&self, sp_id: &str, roles: &[AppRole]) -> Result<(), GraphError>;
    /// Creates security groups, returned in the order given.
    async fn create_groups(&self, groups: &[NewGroup]) -> Result<Vec<Group>, GraphError>;
    async fn assign(
        &self,
        sp_id: &str,
        principal: &ObjectId,
        role: AppRoleId,
    ) -> Result<Assignment, GraphError>;
    async fn unassign(&self, sp_id: &str, assignment: &AssignmentId) -> Result<(), GraphError>;
    async fn add_member(
        &self,
        group: &ObjectId,
        member: &ObjectId,
    ) -> Result<MembershipChange, GraphError>;
    async fn remove_member(
        &self,
        group: &ObjectId,
        member: &ObjectId,
    ) -> Result<MembershipChange, GraphError>;
}

impl GraphClient {
    /// The groups named `names` (any case), with their owners: one listing by their common
    /// prefix when there are more than a few and the prefix says enough, else one lookup per
    /// name.
    pub async fn groups_by_names(&self, names: &[String]) -> Result<Vec<Group>, GraphError> {
        let mut found = match listing_prefix(names) {
            Some(prefix) => self.groups_starting_with(prefix, true).await?,
            None => self.groups_named_each(names).await?,
        };
        retain_named(&mut found, names);
        Ok(found)
    }

    /// The groups named `names` (any case), when `owner` (a service principal) owns fedsync's
    /// groups: those it owns from the listing of its owned groups, then the others of the names
    /// none of those carries (see the module doc).
    pub async fn groups_by_names_owned_by(
        &self,
        names: &[String],
        owner: &ObjectId,
    ) -> Result<Vec<Group>, GraphError> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let mut found = self.groups_owned_by(owner).await?;
        retain_named(&mut found, names);
        let held: HashSet<String> = found
            .iter()
            .map(|g| g.display_name.to_lowercase())
            .collect();
        let rest: Vec<String> = names
            .iter()
            .filter(|n| !held.contains(&n.to_lowercase()))
            .cloned()
            .collect();
        let Some(prefix) = listing_prefix(&rest) else {
            found.extend(self.groups_named_each(&rest).await?);
            return Ok(found);
        };
        let owned: HashSet<ObjectId> = found.iter().map(|g| g.id.clone()).collect();
        let mut others = self.groups_starting_with(prefix, false).await?;
        retain_named(&mut others, &rest);
        others.retain(|g| !owned.contains(&g.id));
        for (i, group) in others.iter_mut().enumerate() {
            if i >= MAX_OWNER_READS {
                tracing::warn!(
                    group = %group.display_name,
                    "too many groups of fedsync's names that the sync app does not own; this one's owners are not read, and it is not reused"
                );
                continue;
            }
            if let Some(read) = self.group(&group.id).await? {
                group.owners = read.owners;
            }
        }
        found.extend(others);
        Ok(found)
    }

    async fn groups_named_each(&self, names: &[String]) -> Result<Vec<Group>, GraphError> {
        let mut all = Vec::new();
        for name in names {
            all.extend(self.groups_named(name).await?);
        }
        Ok(all)
    }
}

/// The common prefix to list `names` by, when they are more than a few and it says enough.
fn listing_prefix(names: &[String]) -> Option<&str> {
    if names.len() <= FEW_NAMES {
        return None;
    }
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let prefix = naming::common_prefix(&refs);
    (prefix.len() >= 3).then_some(prefix)
}

/// Keeps the groups named one of `names` (any case).
fn retain_named(groups: &mut Vec<Group>, names: &[String]) {
    let wanted: HashSet<String> = names.iter().map(|n| n.to_lowercase()).collect();
    groups.retain(|g| wanted.contains(&g.display_name.to_lowercase()));
}

impl Directory for GraphClient {
    async fn read_service_principal(
        &self,
        sp_id: &str,
    ) -> Result<(Value, ServicePrincipal), GraphError> {
        self.service_principal(sp_id).await
    }

    async fn read_assignments(&self, sp_id: &str) -> Result<Vec<Assignment>, GraphError> {
        self.assignments(sp_id).await
    }

    async fn read_groups(
        &self,
        names: &[String],
        owner: &OwnerQuery,
    ) -> Result<KnownGroups, GraphError> {
        Ok(match owner {
            OwnerQuery::Given(id) => KnownGroups {
                owner: Some(id.clone()),
                groups: self.groups_by_names(names).await?,
            },
            OwnerQuery::SyncApp { .. } if names.is_empty() => KnownGroups::default(),
            OwnerQuery::SyncApp { client_id } => {
                match self.sync_app_service_principal(client_id).await? {
                    Some(owner) => KnownGroups {
                        groups: self.groups_by_names_owned_by(names, &owner).await?,
                        owner: Some(owner),
                    },
                    None => KnownGroups {
                        owner: None,
                        groups: self.groups_by_names(names).await?,
                    },
                }
            }
        })
    }

    async fn set_app_roles(&self, sp_id: &str, roles: &[AppRole]) -> Result<(), GraphError> {
        GraphClient::set_app_roles(self, sp_id, roles).await
    }

    async fn create_groups(&self, groups: &[NewGroup]) -> Result<Vec<Group>, GraphError> {
        GraphClient::create_groups(self, groups).await
    }

    async fn assign(
        &self,
        sp_id: &str,
        principal: &ObjectId,
        role: AppRoleId,
    ) -> Result<Assignment, GraphError> {
        GraphClient::assign(self, sp_id, principal, role).await
    }

    async fn unassign(&self, sp_id: &str, assignment: &AssignmentId) -> Result<(), GraphError> {
        GraphClient::unassign(self, sp_id, assignment).await
    }

    async fn add_member(
        &self,
        group: &ObjectId,
        member: &ObjectId,
    ) -> Result<MembershipChange, GraphError> {
        GraphClient::add_member(self, group, member).await
    }

    async fn remove_member(
        &self,
        group: &ObjectId,
        member: &ObjectId,
    ) -> Result<MembershipChange, GraphError> {
        GraphClient::remove_member(self, group, member).await
    }
}

#[cfg(test)]
pub mod memory {
    //! A [`Directory`] in memory that keeps the Graph rules a run relies on — an enabled role
    //! cannot be dropped, ids and values are unique, an assignment exists once, unknown ids are
    //! `404` — and fails the write after a chosen number of writes, to test interrupted runs.

    use std::sync::Mutex;

    use super::*;
    use crate::graph::ApiError;
    use crate::model::PrincipalType;

    #[derive(Clone, Debug, Default)]
    pub struct World {
        pub sp_id: String,
        pub app_roles: Vec<AppRole>,
        pub groups: Vec<Group>,
        pub assignments: Vec<Assignment>,
        /// Users by id (principals assignments may name).
        pub users: Vec<ObjectId>,
        pub owner: Option<ObjectId>,
        pub next: u64,
    }

    #[derive(Default)]
    pub struct MemoryDirectory {
        pub world: Mutex<World>,
        /// Fail the write after this many more writes succeed.
        pub fail_after: Mutex<Option<usize>>,
        pub writes: Mutex<Vec<String>>,
    }

    fn error(status: u16, code: &str, message: &str) -> GraphError {
        GraphError::Api(Box::new(ApiError {
            method: "-".into(),
            path: "memory".into(),
            status,
            code: code.into(),
            message: message.into(),
            request_id: "memory".into(),
            attempts: 1,
        }))
    }

    impl MemoryDirectory {
        pub fn new(world: World) -> MemoryDirectory {
            MemoryDirectory {
                world: Mutex::new(world),
                ..MemoryDirectory::default()
            }
        }

        pub fn world(&self) -> World {
            self.world.lock().unwrap().clone()
        }

        fn write(&self, what: &str) -> Result<(), GraphError> {
            let mut fail = self.fail_after.lock().unwrap();
            if let Some(n) = *fail {
                if n == 0 {
                    *fail = None;
                    return Err(error(503, "serviceNotAvailable", "injected failure"));
                }
                *fail = Some(n - 1);
            }
            self.writes.lock().unwrap().push(what.to_owned());
            Ok(())
        }
    }

    impl Directory for MemoryDirectory {
        async fn read_service_principal(
            &self,
            _sp_id: &str,
        ) -> Result<(Value, ServicePrincipal), GraphError> {
            let w = self.world.lock().unwrap();
            let service_principal = ServicePrincipal {
                id: w.sp_id.clone(),
                app_roles: w.app_roles.clone(),
                extra: serde_json::Map::new(),
            };
            let raw = serde_json::to_value(&service_principal).unwrap_or(Value::Null);
            Ok((raw, service_principal))
        }

        async fn read_assignments(&self, _sp_id: &str) -> Result<Vec<Assignment>, GraphError> {
            Ok(self.world.lock().unwrap().assignments.clone())
        }

        async fn read_groups(
            &self,
            names: &[String],
            owner: &OwnerQuery,
        ) -> Result<KnownGroups, GraphError> {
            let w = self.world.lock().unwrap();
            let mut groups = w.groups.clone();
            retain_named(&mut groups, names);
            Ok(KnownGroups {
                owner: match owner {
                    OwnerQuery::Given(id) => Some(id.clone()),
                    OwnerQuery::SyncApp { .. } => w.owner.clone(),
                },
                groups,
            })
        }

        async fn set_app_roles(&self, _sp: &str, roles: &[AppRole]) -> Result<(), GraphError> {
            {
                let w = self.world.lock().unwrap();
                for old in &w.app_roles {
                    let kept = roles.iter().find(|r| r.id == old.id);
                    if old.is_enabled && kept.is_none_or(|r| r.value() != old.value()) {
                        return Err(error(
                            400,
                            "CannotDeleteOrUpdateEnabledEntitlement",
                            "an enabled role cannot be dropped or change its value",
                        ));
                    }
                }
                let mut ids = std::collections::HashSet::new();
                let mut values = std::collections::HashSet::new();
                for r in roles {
                    if !ids.insert(r.id) || r.value().is_some_and(|v| !values.insert(v.to_owned()))
                    {
                        return Err(error(400, "DuplicateValue", "duplicate id or value"));
                    }
                }
            }
            self.write("PATCH appRoles")?;
            self.world.lock().unwrap().app_roles = roles.to_vec();
            Ok(())
        }

        async fn create_groups(&self, groups: &[NewGroup]) -> Result<Vec<Group>, GraphError> {
            let mut made = Vec::new();
            for g in groups {
                self.write(&format!("POST group {}", g.display_name))?;
                let mut w = self.world.lock().unwrap();
                w.next += 1;
                let group = Group {
                    id: format!("group-{}", w.next).parse().unwrap(),
                    display_name: g.display_name.clone(),
                    mail_nickname: Some(g.mail_nickname.clone()),
                    owners: Some(g.owner.iter().cloned().collect()),
                };
                w.groups.push(group.clone());
                made.push(group);
            }
            Ok(made)
        }

        async fn assign(
            &self,
            sp_id: &str,
            principal: &ObjectId,
            role: AppRoleId,
        ) -> Result<Assignment, GraphError> {
            let principal_type = {
                let w = self.world.lock().unwrap();
                if w.assignments
                    .iter()
                    .any(|a| &a.principal_id == principal && a.app_role_id == role)
                {
                    return Err(error(
                        400,
                        "Request_BadRequest",
                        "Permission being assigned already exists on the object",
                    ));
                }
                if !w.app_roles.iter().any(|r| r.id == role && r.is_enabled) {
                    return Err(error(400, "Request_BadRequest", "no such enabled app role"));
                }
                if w.groups.iter().any(|g| &g.id == principal) {
                    PrincipalType::Group
                } else if w.users.contains(principal) {
                    PrincipalType::User
                } else {
                    return Err(error(404, "Request_ResourceNotFound", "no such principal"));
                }
            };
            self.write(&format!("POST assignment {principal} {role}"))?;
            let mut w = self.world.lock().unwrap();
            w.next += 1;
            let assignment = Assignment {
                id: AssignmentId(format!("assignment-{}", w.next)),
                principal_id: principal.clone(),
                principal_type,
                principal_display_name: None,
                app_role_id: role,
                resource_id: sp_id.parse().unwrap(),
            };
            w.assignments.push(assignment.clone());
            Ok(assignment)
        }

        async fn unassign(&self, _sp: &str, id: &AssignmentId) -> Result<(), GraphError> {
            if !self
                .world
                .lock()
                .unwrap()
                .assignments
                .iter()
                .any(|a| &a.id == id)
            {
                return Err(error(404, "Request_ResourceNotFound", "no such assignment"));
            }
            self.write(&format!("DELETE assignment {id}"))?;
            self.world
                .lock()
                .unwrap()
                .assignments
                .retain(|a| &a.id != id);
            Ok(())
        }

        async fn add_member(
            &self,
            _group: &ObjectId,
            _member: &ObjectId,
        ) -> Result<MembershipChange, GraphError> {
            self.write("POST member")?;
            Ok(MembershipChange::Changed)
        }

        async fn remove_member(
            &self,
            _group: &ObjectId,
            _member: &ObjectId,
        ) -> Result<MembershipChange, GraphError> {
            self.write("DELETE member")?;
            Ok(MembershipChange::Changed)
        }
    }
}
