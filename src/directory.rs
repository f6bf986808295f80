//! directory: the Graph side of a run as one trait, [`Directory`] — read the [`Current`] state
//! (service principal, the groups a plan names, assignments, who owns fedsync's groups), and the
//! writes a plan's steps make. [`GraphClient`] implements it against Microsoft Graph; the unit
//! tests implement it in memory ([`memory`]), with Graph's rules and injected failures.
//!
//! Reading groups is one listing by the names' common prefix when there are several (one paged
//! call instead of one per group), else one exact lookup per name; Entra compares display names
//! without regard to case. Never decides anything: [`crate::plan`] does.

use crate::graph::{GraphClient, GraphError};
use crate::model::{
    AppRole, AppRoleId, Assignment, AssignmentId, Current, Group, MembershipChange, NewGroup,
    ObjectId,
};
use crate::naming;

/// What to read.
#[derive(Clone, Debug)]
pub struct CurrentQuery {
    pub service_principal_id: String,
    /// The display names of the groups the plan may reuse or create.
    pub group_names: Vec<String>,
    pub owner: OwnerQuery,
}

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
    async fn read_current(&self, query: &CurrentQuery) -> Result<Current, GraphError>;
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
    /// The groups named `names` (any case): one listing by their common prefix when there are
    /// several and the prefix says enough, else one lookup per name.
    pub async fn groups_by_names(&self, names: &[String]) -> Result<Vec<Group>, GraphError> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let prefix = naming::common_prefix(&refs);
        let mut found = if names.len() > 1 && prefix.len() >= 3 {
            self.groups_starting_with(prefix).await?
        } else {
            let mut all = Vec::new();
            for name in names {
                all.extend(self.groups_named(name).await?);
            }
            all
        };
        let wanted: std::collections::HashSet<String> =
            names.iter().map(|n| n.to_lowercase()).collect();
        found.retain(|g| wanted.contains(&g.display_name.to_lowercase()));
        Ok(found)
    }
}

impl Directory for GraphClient {
    async fn read_current(&self, query: &CurrentQuery) -> Result<Current, GraphError> {
        let sp_id = &query.service_principal_id;
        let (raw, service_principal) = self.service_principal(sp_id).await?;
        let assignments = self.assignments(sp_id).await?;
        let groups = self.groups_by_names(&query.group_names).await?;
        let group_owner = match &query.owner {
            OwnerQuery::Given(id) => Some(id.clone()),
            OwnerQuery::SyncApp { .. } if query.group_names.is_empty() => None,
            OwnerQuery::SyncApp { client_id } => self.service_principal_of_app(client_id).await?,
        };
        Ok(Current {
            raw_service_principal: raw,
            service_principal,
            groups,
            assignments,
            group_owner,
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

    use serde_json::Value;

    use super::*;
    use crate::graph::ApiError;
    use crate::model::{PrincipalType, ServicePrincipal};

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
        async fn read_current(&self, query: &CurrentQuery) -> Result<Current, GraphError> {
            let w = self.world.lock().unwrap();
            let service_principal = ServicePrincipal {
                id: w.sp_id.clone(),
                app_roles: w.app_roles.clone(),
                extra: serde_json::Map::new(),
            };
            let names: Vec<String> = query.group_names.iter().map(|n| n.to_lowercase()).collect();
            Ok(Current {
                raw_service_principal: serde_json::to_value(&service_principal)
                    .unwrap_or(Value::Null),
                service_principal,
                groups: w
                    .groups
                    .iter()
                    .filter(|g| names.contains(&g.display_name.to_lowercase()))
                    .cloned()
                    .collect(),
                assignments: w.assignments.clone(),
                group_owner: match &query.owner {
                    OwnerQuery::Given(id) => Some(id.clone()),
                    OwnerQuery::SyncApp { .. } => w.owner.clone(),
                },
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
