//! directory: the Entra ID objects fedsync reads and writes besides app roles — groups, app role
//! assignments, users, group members — and [`Current`], everything a plan starts from on the
//! Graph side. Values only, as Graph's JSON (camelCase) reads; no I/O.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::{AppRole, AppRoleId, ParseError, ServicePrincipal};

/// A directory object's id (user, group, service principal). Graph's are GUIDs; fedsync needs
/// them only as keys, so it checks they are one non-empty token and compares them without
/// regard to case (it keeps them lowercase), as Entra does.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ObjectId(String);

impl ObjectId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ObjectId {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c == '/') {
            return Err(ParseError::new(
                "object id",
                s,
                "expected one token without spaces or '/', like a GUID",
            ));
        }
        Ok(ObjectId(s.to_lowercase()))
    }
}

impl TryFrom<String> for ObjectId {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<ObjectId> for String {
    fn from(id: ObjectId) -> String {
        id.0
    }
}

/// Compares with an id as text, without regard to case.
impl PartialEq<&str> for ObjectId {
    fn eq(&self, other: &&str) -> bool {
        self.0.eq_ignore_ascii_case(other)
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An app role assignment's id: not a GUID (Graph makes it from the principal's id), kept as
/// Graph wrote it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AssignmentId(pub String);

impl fmt::Display for AssignmentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What kind of principal an assignment names (Graph's `principalType`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum PrincipalType {
    User,
    Group,
    ServicePrincipal,
    /// Anything else Graph may say, kept as it said it.
    Other(String),
}

impl From<String> for PrincipalType {
    fn from(s: String) -> PrincipalType {
        match s.as_str() {
            "User" => PrincipalType::User,
            "Group" => PrincipalType::Group,
            "ServicePrincipal" => PrincipalType::ServicePrincipal,
            _ => PrincipalType::Other(s),
        }
    }
}

impl From<PrincipalType> for String {
    fn from(t: PrincipalType) -> String {
        t.to_string()
    }
}

impl fmt::Display for PrincipalType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PrincipalType::User => "User",
            PrincipalType::Group => "Group",
            PrincipalType::ServicePrincipal => "ServicePrincipal",
            PrincipalType::Other(s) => s,
        })
    }
}

/// A security group, as fedsync reads it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub id: ObjectId,
    pub display_name: String,
    #[serde(default)]
    pub mail_nickname: Option<String>,
    /// The ids of its owners (`$expand=owners`); none when they were not read.
    #[serde(
        default,
        deserialize_with = "owner_ids",
        skip_serializing_if = "Option::is_none"
    )]
    pub owners: Option<Vec<ObjectId>>,
}

/// `owners` as Graph expands it: `[{"@odata.type": …, "id": …}, …]`.
fn owner_ids<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<ObjectId>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Owner {
        Object { id: ObjectId },
        Id(ObjectId),
    }
    let owners: Option<Vec<Owner>> = Option::deserialize(d)?;
    Ok(owners.map(|list| {
        list.into_iter()
            .map(|o| match o {
                Owner::Object { id } | Owner::Id(id) => id,
            })
            .collect()
    }))
}

/// A security group to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewGroup {
    pub display_name: String,
    pub mail_nickname: String,
    /// The owner (`owners@odata.bind`); without one the sync app may not be able to change the
    /// group later.
    pub owner: Option<ObjectId>,
}

/// An app role assignment of the service principal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Assignment {
    pub id: AssignmentId,
    pub principal_id: ObjectId,
    pub principal_type: PrincipalType,
    #[serde(default)]
    pub principal_display_name: Option<String>,
    pub app_role_id: AppRoleId,
    pub resource_id: ObjectId,
}

/// A user, as fedsync reads it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: ObjectId,
    pub user_principal_name: String,
    #[serde(default)]
    pub display_name: Option<String>,
}

/// A member of a group, told apart by its `@odata.type`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(from = "RawMember")]
pub enum Member {
    User(User),
    Group(Group),
    /// A device, a service principal, an org contact…: never a holder of an AWS role.
    Other {
        id: ObjectId,
        odata_type: String,
    },
}

impl Member {
    pub fn id(&self) -> &ObjectId {
        match self {
            Member::User(u) => &u.id,
            Member::Group(g) => &g.id,
            Member::Other { id, .. } => id,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMember {
    #[serde(rename = "@odata.type", default)]
    odata_type: String,
    id: ObjectId,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    user_principal_name: Option<String>,
    #[serde(default)]
    mail_nickname: Option<String>,
}

impl From<RawMember> for Member {
    fn from(raw: RawMember) -> Member {
        match (raw.odata_type.as_str(), raw.user_principal_name) {
            ("#microsoft.graph.user", Some(upn)) => Member::User(User {
                id: raw.id,
                user_principal_name: upn,
                display_name: raw.display_name,
            }),
            ("#microsoft.graph.group", _) => Member::Group(Group {
                id: raw.id,
                display_name: raw.display_name.unwrap_or_default(),
                mail_nickname: raw.mail_nickname,
                owners: None,
            }),
            _ => Member::Other {
                id: raw.id,
                odata_type: raw.odata_type,
            },
        }
    }
}

/// What a membership call found: it made the change, or there was nothing to change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MembershipChange {
    Changed,
    /// Already a member (add) or not a member (remove).
    Unchanged,
}

/// Everything a plan starts from on the Graph side.
#[derive(Clone, Debug, PartialEq)]
pub struct Current {
    /// The service principal as Graph returned it: what a backup holds.
    pub raw_service_principal: Value,
    pub service_principal: ServicePrincipal,
    /// The groups whose names the plan asked about, with their owners as read (a group from
    /// the listing of the groups `group_owner` owns has that owner alone).
    pub groups: Vec<Group>,
    /// Every app role assignment of the service principal (none when not asked for).
    pub assignments: Vec<Assignment>,
    /// Who owns the groups fedsync creates and reuses (`group-owner-id`, by default the sync
    /// app's own service principal); none when the sync app has no service principal.
    pub group_owner: Option<ObjectId>,
}

impl Current {
    /// A current state of these app roles alone: no groups, no assignments (for planning from
    /// files, and tests).
    pub fn of_app_roles(id: &str, app_roles: Vec<AppRole>) -> Current {
        let service_principal = ServicePrincipal {
            id: id.to_owned(),
            app_roles,
            extra: serde_json::Map::new(),
        };
        Current {
            raw_service_principal: serde_json::to_value(&service_principal).unwrap_or(Value::Null),
            service_principal,
            groups: Vec::new(),
            assignments: Vec::new(),
            group_owner: None,
        }
    }

    pub fn app_roles(&self) -> &[AppRole] {
        &self.service_principal.app_roles
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn object_ids_compare_without_case_and_refuse_blanks_and_slashes() {
        let a: ObjectId = "0C6F2B1E-0000-4000-8000-000000000A01".parse().unwrap();
        let b: ObjectId = "0c6f2b1e-0000-4000-8000-000000000a01".parse().unwrap();
        assert_eq!(a, b);
        for bad in ["", "a b", "../x"] {
            assert!(bad.parse::<ObjectId>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn groups_read_expanded_owners_and_assignments_their_principal_type() {
        let g: Group = serde_json::from_value(json!({
            "id": "g1", "displayName": "AWS x", "mailNickname": "aws-x",
            "owners": [{"@odata.type": "#microsoft.graph.servicePrincipal", "id": "SP1"}]
        }))
        .unwrap();
        assert_eq!(g.owners, Some(vec!["sp1".parse().unwrap()]));
        let plain: Group = serde_json::from_value(json!({"id": "g2", "displayName": "y"})).unwrap();
        assert_eq!(plain.owners, None, "owners not read is not 'no owners'");
        let a: Assignment = serde_json::from_value(json!({
            "id": "abc", "principalId": "u1", "principalType": "User",
            "appRoleId": "00000000-0000-0000-0000-000000000000", "resourceId": "sp"
        }))
        .unwrap();
        assert_eq!(a.principal_type, PrincipalType::User);
        let round = serde_json::to_value(&a).unwrap();
        assert_eq!(round["principalType"], "User");
    }
}
