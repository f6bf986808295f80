//! state: the emulated directory in memory — the AWS apps' service principals (one or more, in
//! seed order, each with its own app roles), users, groups with their owners and members, app role
//! assignments (each on one of those service principals, its `resource_id`) — plus issued tokens,
//! used assertion ids, fault rules and the log of Graph write calls.
//!
//! One `std::sync::Mutex` guards it all: every operation is short and never awaits while holding
//! the lock, so a blocking mutex is simpler and faster than an async one (as in mini-redis
//! `db.rs`). Tokens are kept only as SHA-256 digests and never appear in the snapshot. Every
//! collection that grows with traffic is bounded or pruned.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::http::Method;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::auth::Client;
use super::faults::FaultRule;
use super::fic::FederatedCredential;
use super::seed::Seed;

/// Most write records kept; older ones are dropped and counted.
const MAX_WRITES: usize = 10_000;

/// The current UTC time as Graph writes it: `2026-01-31T12:00:00Z`.
pub fn timestamp() -> String {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0)
        .unwrap_or(now)
        .format(&Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}

/// A new object id.
pub fn new_guid() -> String {
    Uuid::new_v4().hyphenated().to_string()
}

/// A security group as Graph returns it, the ids of its owners, and the ids of its direct
/// members (users and groups).
#[derive(Clone, Debug)]
pub struct Group {
    pub properties: Map<String, Value>,
    pub owners: Vec<String>,
    pub members: Vec<String>,
}

impl Group {
    /// A group from checked creation properties, with Graph's defaults for the rest.
    pub fn create(
        given: Map<String, Value>,
        owners: Vec<String>,
        id: String,
        created: String,
    ) -> Group {
        let mut properties = Map::new();
        properties.insert("id".into(), Value::from(id));
        properties.insert("deletedDateTime".into(), Value::Null);
        properties.insert("classification".into(), Value::Null);
        properties.insert("createdDateTime".into(), Value::from(created));
        properties.insert("description".into(), Value::Null);
        properties.insert("displayName".into(), Value::Null);
        properties.insert("groupTypes".into(), json!([]));
        properties.insert("isAssignableToRole".into(), Value::Null);
        properties.insert("mail".into(), Value::Null);
        properties.insert("mailEnabled".into(), Value::Bool(false));
        properties.insert("mailNickname".into(), Value::Null);
        properties.insert("securityEnabled".into(), Value::Bool(true));
        properties.insert("visibility".into(), Value::Null);
        for (k, v) in given {
            properties.insert(k, v);
        }
        Group {
            properties,
            owners,
            members: Vec::new(),
        }
    }

    pub fn id(&self) -> &str {
        self.properties
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    pub fn display_name(&self) -> &str {
        self.properties
            .get("displayName")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    pub fn mail_nickname(&self) -> &str {
        self.properties
            .get("mailNickname")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }
}

/// A user as Graph returns it.
#[derive(Clone, Debug)]
pub struct User {
    pub properties: Map<String, Value>,
}

impl User {
    pub fn id(&self) -> &str {
        self.properties
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    pub fn upn(&self) -> &str {
        self.properties
            .get("userPrincipalName")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    pub fn display_name(&self) -> &str {
        self.properties
            .get("displayName")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }
}

/// User property names Graph knows (the default set and a few more), for `$select`.
pub const USER_PROPERTIES: [&str; 13] = [
    "id",
    "accountEnabled",
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "userType",
];

/// What kind of directory object a member is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberKind {
    User,
    Group,
}

impl MemberKind {
    /// The `@odata.type` Graph puts on a member.
    pub fn odata_type(self) -> &'static str {
        match self {
            MemberKind::User => "#microsoft.graph.user",
            MemberKind::Group => "#microsoft.graph.group",
        }
    }
}

/// Group property names Graph knows, for `$select`.
pub const GROUP_PROPERTIES: [&str; 20] = [
    "id",
    "classification",
    "createdDateTime",
    "deletedDateTime",
    "description",
    "displayName",
    "expirationDateTime",
    "groupTypes",
    "isAssignableToRole",
    "mail",
    "mailEnabled",
    "mailNickname",
    "membershipRule",
    "onPremisesSyncEnabled",
    "proxyAddresses",
    "renewedDateTime",
    "securityEnabled",
    "securityIdentifier",
    "theme",
    "visibility",
];

/// One app role assignment of a group or a user to a role of one AWS service principal.
#[derive(Clone, Debug)]
pub struct Assignment {
    /// Graph's assignment ids are 43-character base64url strings, not GUIDs.
    pub id: String,
    /// The object id of the service principal the role belongs to, as stored there.
    pub resource_id: String,
    pub principal_id: String,
    /// `Group` or `User`.
    pub principal_type: &'static str,
    pub principal_display_name: String,
    pub app_role_id: String,
    pub created: String,
}

/// appRoleAssignment property names Graph knows, for `$select`.
pub const ASSIGNMENT_PROPERTIES: [&str; 9] = [
    "id",
    "appRoleId",
    "createdDateTime",
    "deletedDateTime",
    "principalDisplayName",
    "principalId",
    "principalType",
    "resourceDisplayName",
    "resourceId",
];

impl Assignment {
    /// A new assignment id in Graph's format.
    pub fn new_id() -> String {
        use base64::Engine as _;
        let mut bytes = [0u8; 32];
        bytes[..16].copy_from_slice(Uuid::new_v4().as_bytes());
        bytes[16..].copy_from_slice(Uuid::new_v4().as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)[..43].to_owned()
    }

    /// Whether the assignment is on the service principal with this object id.
    pub fn is_on(&self, sp_id: &str) -> bool {
        self.resource_id.eq_ignore_ascii_case(sp_id)
    }

    /// The assignment as Graph returns it; `resource_display_name` is its resource's.
    pub fn to_json(&self, resource_display_name: &Value) -> Map<String, Value> {
        let v = json!({
            "id": self.id,
            "deletedDateTime": null,
            "appRoleId": self.app_role_id,
            "createdDateTime": self.created,
            "principalDisplayName": self.principal_display_name,
            "principalId": self.principal_id,
            "principalType": self.principal_type,
            "resourceDisplayName": resource_display_name,
            "resourceId": self.resource_id,
        });
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }
}

/// One Graph write call, for tests that assert what was (not) written.
#[derive(Clone, Debug)]
pub struct WriteRecord {
    pub method: String,
    pub path: String,
    pub status: u16,
}

/// What the bearer check finds for a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenStatus {
    Valid,
    Expired,
    Unknown,
}

struct IssuedToken {
    expires: Instant,
}

/// The whole emulated world.
pub struct State {
    pub seed: Arc<Seed>,
    /// The AWS apps' service principals, in seed order: the seed's `service_principal` first,
    /// then its `service_principals`. Never empty.
    pub service_principals: Vec<Map<String, Value>>,
    pub groups: Vec<Group>,
    pub users: Vec<User>,
    pub assignments: Vec<Assignment>,
    pub faults: Vec<FaultRule>,
    /// Each client's federated identity credentials, in the seed's client order.
    pub federated_credentials: Vec<Vec<FederatedCredential>>,
    writes: VecDeque<WriteRecord>,
    writes_dropped: u64,
    /// SHA-256 of each issued access token.
    tokens: HashMap<[u8; 32], IssuedToken>,
    tokens_issued: u64,
    /// `jti` of each accepted client assertion (per client), with the assertion's `exp`.
    jtis: HashMap<(String, String), i64>,
}

impl State {
    fn new(seed: Arc<Seed>) -> State {
        State {
            service_principals: seed.service_principals.clone(),
            groups: seed.groups.clone(),
            users: seed.users.clone(),
            assignments: seed.assignments.clone(),
            faults: seed.faults.clone(),
            federated_credentials: seed.federated_credentials.clone(),
            seed,
            writes: VecDeque::new(),
            writes_dropped: 0,
            tokens: HashMap::new(),
            tokens_issued: 0,
            jtis: HashMap::new(),
        }
    }

    /// Back to the seed: directory, fault rules and write log. Issued tokens stay valid, so a
    /// client may keep its cached token across a reset.
    pub fn reset(&mut self) {
        self.service_principals = self.seed.service_principals.clone();
        self.groups = self.seed.groups.clone();
        self.users = self.seed.users.clone();
        self.assignments = self.seed.assignments.clone();
        self.faults = self.seed.faults.clone();
        self.federated_credentials = self.seed.federated_credentials.clone();
        self.writes.clear();
        self.writes_dropped = 0;
    }

    /// The AWS service principal with this object id (case-insensitive).
    pub fn sp(&self, id: &str) -> Option<&Map<String, Value>> {
        self.service_principals
            .iter()
            .find(|sp| sp_id(sp).eq_ignore_ascii_case(id))
    }

    pub fn sp_mut(&mut self, id: &str) -> Option<&mut Map<String, Value>> {
        self.service_principals
            .iter_mut()
            .find(|sp| sp_id(sp).eq_ignore_ascii_case(id))
    }

    /// The app roles of the AWS service principal with this object id; none when there is none.
    pub fn app_roles(&self, id: &str) -> &[Value] {
        self.sp(id).map_or(&[], app_roles)
    }

    /// Replaces the app roles of the AWS service principal with this object id, if there is one.
    pub fn set_app_roles(&mut self, id: &str, roles: Vec<Value>) {
        if let Some(sp) = self.sp_mut(id) {
            sp.insert("appRoles".into(), Value::Array(roles));
        }
    }

    /// The `displayName` of the AWS service principal with this id, as assignments carry it
    /// (`resourceDisplayName`); `null` when unknown.
    pub fn sp_display_name(&self, id: &str) -> Value {
        self.sp(id)
            .and_then(|sp| sp.get("displayName"))
            .cloned()
            .unwrap_or(Value::Null)
    }

    /// An assignment as Graph returns it, with its resource's display name.
    pub fn assignment_json(&self, assignment: &Assignment) -> Map<String, Value> {
        assignment.to_json(&self.sp_display_name(&assignment.resource_id))
    }

    /// The sync client whose own service principal has this object id.
    pub fn client_by_sp(&self, id: &str) -> Option<&Client> {
        self.seed
            .clients
            .iter()
            .find(|c| c.service_principal_id.eq_ignore_ascii_case(id))
    }

    /// The index of the client whose app registration `reference` names: its object id, or
    /// `appId='…'` (Graph's alternate key, quotes optional).
    pub fn application(&self, reference: &str) -> Option<usize> {
        let by_app_id = reference
            .strip_prefix("appId=")
            .map(|v| v.trim_matches('\''));
        self.seed.clients.iter().position(|c| match by_app_id {
            Some(app_id) => c.client_id.eq_ignore_ascii_case(app_id),
            None => c.application_id.eq_ignore_ascii_case(reference),
        })
    }

    /// The federated identity credentials of the client with this id; none for an unknown one.
    pub fn federated_credentials_of(&self, client_id: &str) -> &[FederatedCredential] {
        self.seed
            .clients
            .iter()
            .position(|c| c.client_id.eq_ignore_ascii_case(client_id))
            .and_then(|i| self.federated_credentials.get(i))
            .map_or(&[], Vec::as_slice)
    }

    pub fn client(&self, client_id: &str) -> Option<&Client> {
        self.seed
            .clients
            .iter()
            .find(|c| c.client_id.eq_ignore_ascii_case(client_id))
    }

    pub fn group(&self, id: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.id().eq_ignore_ascii_case(id))
    }

    /// The user with this object id or `userPrincipalName` (both case-insensitive, as in Graph).
    pub fn user(&self, id_or_upn: &str) -> Option<&User> {
        self.users.iter().find(|u| {
            u.id().eq_ignore_ascii_case(id_or_upn) || u.upn().eq_ignore_ascii_case(id_or_upn)
        })
    }

    /// What a member id names: a user or a group of the directory.
    pub fn member_kind(&self, id: &str) -> Option<MemberKind> {
        if self
            .user(id)
            .is_some_and(|u| u.id().eq_ignore_ascii_case(id))
        {
            Some(MemberKind::User)
        } else if self.group(id).is_some() {
            Some(MemberKind::Group)
        } else {
            None
        }
    }

    /// The member ids of a group and of every group inside it, each once, breadth first; safe
    /// against membership cycles.
    pub fn transitive_members(&self, group_id: &str) -> Vec<String> {
        let mut seen: Vec<String> = Vec::new();
        let mut queue: VecDeque<String> = VecDeque::from([group_id.to_owned()]);
        let mut expanded: Vec<String> = Vec::new();
        while let Some(id) = queue.pop_front() {
            if expanded.iter().any(|e| e.eq_ignore_ascii_case(&id)) {
                continue;
            }
            expanded.push(id.clone());
            let Some(group) = self.group(&id) else {
                continue;
            };
            for member in &group.members {
                if member.eq_ignore_ascii_case(group_id)
                    || seen.iter().any(|s| s.eq_ignore_ascii_case(member))
                {
                    continue;
                }
                seen.push(member.clone());
                if self.member_kind(member) == Some(MemberKind::Group) {
                    queue.push_back(member.clone());
                }
            }
        }
        seen
    }

    /// Whether `id` names a directory object that can own a group (a service principal).
    pub fn is_owner_candidate(&self, id: &str) -> bool {
        self.sp(id).is_some() || self.client_by_sp(id).is_some()
    }

    pub fn record_write(&mut self, method: &Method, path: &str, status: u16) {
        if self.writes.len() >= MAX_WRITES {
            self.writes.pop_front();
            self.writes_dropped += 1;
        }
        self.writes.push_back(WriteRecord {
            method: method.to_string(),
            path: path.to_owned(),
            status,
        });
    }

    /// Issues a new opaque access token valid for the seed's lifetime.
    pub fn issue_token(&mut self) -> String {
        let now = Instant::now();
        self.tokens.retain(|_, t| t.expires > now);
        let token = format!("emu.{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
        self.tokens.insert(
            digest(&token),
            IssuedToken {
                expires: now + self.seed.token_lifetime,
            },
        );
        self.tokens_issued += 1;
        token
    }

    pub fn token_status(&self, token: &str) -> TokenStatus {
        match self.tokens.get(&digest(token)) {
            None => TokenStatus::Unknown,
            Some(t) if t.expires <= Instant::now() => TokenStatus::Expired,
            Some(_) => TokenStatus::Valid,
        }
    }

    /// Makes every issued token expired (they answer `401` as expired, not as unknown).
    pub fn expire_tokens(&mut self) -> usize {
        let past = Instant::now()
            .checked_sub(Duration::from_secs(1))
            .unwrap_or_else(Instant::now);
        for t in self.tokens.values_mut() {
            t.expires = past;
        }
        self.tokens.len()
    }

    /// Records an assertion's `jti`; `false` when this client already used it.
    pub fn use_jti(&mut self, client_id: &str, jti: &str, exp: i64, now: i64) -> bool {
        self.jtis.retain(|_, e| *e >= now);
        self.jtis
            .insert((client_id.to_owned(), jti.to_owned()), exp)
            .is_none()
    }

    /// Everything a test may want to look at, as JSON: `service_principal` is the first AWS
    /// service principal, `service_principals` all of them (the first included), and each
    /// assignment names its own `resourceId`. No secrets, no tokens.
    pub fn snapshot(&self) -> Value {
        json!({
            "tenant_id": self.seed.tenant_id,
            "service_principal": self.service_principals.first(),
            "service_principals": self.service_principals,
            "groups": self.groups.iter().map(|g| {
                let mut v = g.properties.clone();
                v.insert("owners".into(), json!(g.owners));
                v.insert("members".into(), json!(g.members));
                Value::Object(v)
            }).collect::<Vec<_>>(),
            "users": self.users.iter().map(|u| Value::Object(u.properties.clone())).collect::<Vec<_>>(),
            "assignments": self.assignments.iter()
                .map(|a| Value::Object(self.assignment_json(a)))
                .collect::<Vec<_>>(),
            "writes": self.writes.iter().map(|w| json!({
                "method": w.method, "path": w.path, "status": w.status,
            })).collect::<Vec<_>>(),
            "writes_dropped": self.writes_dropped,
            "faults": self.faults.iter().map(FaultRule::to_json).collect::<Vec<_>>(),
            "tokens_issued": self.tokens_issued,
        })
    }
}

/// A service principal's object id (`""` without one; the seed makes sure each has one).
pub fn sp_id(sp: &Map<String, Value>) -> &str {
    sp.get("id").and_then(Value::as_str).unwrap_or_default()
}

/// A service principal's `appRoles` (none when absent).
pub fn app_roles(sp: &Map<String, Value>) -> &[Value] {
    sp.get("appRoles")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The state shared by every request handler.
#[derive(Clone)]
pub struct SharedState(Arc<Mutex<State>>);

impl SharedState {
    pub fn new(seed: Seed) -> SharedState {
        SharedState(Arc::new(Mutex::new(State::new(Arc::new(seed)))))
    }

    /// Locks the state. A handler that panicked while holding the lock leaves the data as
    /// consistent as any single step does, so a poisoned lock is recovered, not propagated.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
