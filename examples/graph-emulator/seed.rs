//! seed: the JSON document the emulator starts from, and returns to on `POST /_emulator/reset`.
//!
//! ```json
//! {
//!   "tenant_id": "<tenant GUID or name>",
//!   "clients": [{
//!     "client_id": "<app id>", "client_secret": "…"?, "certificate_pem": "-----BEGIN CERTIFICATE-----…"?,
//!     "service_principal_id": "<object id of the client's own service principal>",
//!     "display_name": "fedsync"?,
//!     "application_id": "<object id of the client's app registration>"?,
//!     "federated_identity_credentials": [{"name", "issuer", "subject", "audiences": ["…"],
//!                                         "description"?}]?
//!   }],
//!   "jwks": {"<issuer>": {"keys": [ JWK, … ]}}?,
//!   "service_principal": {"id": "<GUID>", "appId": "…", "displayName": "…",
//!                         "appRoles": [ msiam_access, … ], …any other property, kept as is},
//!   "service_principals": [{ more AWS service principals, the same shape }]?,
//!   "users": [{"id"?, "userPrincipalName", "displayName", "accountEnabled"?, "mail"?, …}]?,
//!   "groups": [{"id"?, "displayName", "mailNickname", "mailEnabled"?, "securityEnabled"?,
//!               "description"?, "createdDateTime"?, "owners"?: ["<object id>"],
//!               "members"?: ["<user or group id>"]}]?,
//!   "assignments": [{"id"?, "principalId": "<group or user id>", "appRoleId": "<role id>",
//!                    "resourceId": "<AWS service principal id>"?, "createdDateTime"?}]?,
//!   "page_size": 3?, "token_lifetime_secs": 3600?, "faults": [ rule, … ]?
//! }
//! ```
//!
//! `service_principal` is the first AWS app's service principal; `service_principals` adds more,
//! each its own object with its own app roles, 1200-entry cap and assignments, as in Graph. Their
//! ids (case-insensitive) and `appId`s are unique among them and apart from the clients' own
//! service principals. An assignment is on `resourceId`, by default `service_principal`'s id, and
//! its `appRoleId` must be a role of that service principal.
//!
//! A client authenticates with its `client_secret`, its certificate, or a JWT that one of its
//! `federated_identity_credentials` trusts (workload identity federation). The keys that verify
//! such a JWT are the issuer's in `jwks` when seeded there, otherwise fetched from the issuer's
//! `/.well-known/openid-configuration` when the issuer is on loopback (see `auth`).
//!
//! Loading checks the seed against the same rules the emulator enforces on requests (a seed that
//! Graph could not hold is refused, naming the place) and returns a [`Seed`] ready to serve.
//! `Debug` never shows a client secret.

use std::collections::HashSet;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::auth::{Certificate, Client, Secret};
use super::faults::{FaultRule, rules_from_json};
use super::fic::{self, FederatedCredential};
use super::paging::Paging;
use super::rules::{GROUP_CREATE_PROPERTIES, check_new_group, check_seed_roles};
use super::state::{
    Assignment, GROUP_PROPERTIES, Group, USER_PROPERTIES, User, new_guid, timestamp,
};

/// Largest `page_size` (Graph's own maximum `$top`).
pub const MAX_PAGE_SIZE: usize = 999;
/// Longest `token_lifetime_secs`: one day.
pub const MAX_TOKEN_LIFETIME_SECS: u64 = 86_400;

/// A checked seed.
#[derive(Clone, Debug)]
pub struct Seed {
    pub tenant_id: String,
    pub clients: Vec<Client>,
    /// The AWS service principals: `service_principal` first, then `service_principals`.
    pub service_principals: Vec<Map<String, Value>>,
    pub groups: Vec<Group>,
    pub users: Vec<User>,
    pub assignments: Vec<Assignment>,
    /// Items on a page without `$top`, and the most with it.
    pub paging: Paging,
    pub token_lifetime: Duration,
    pub faults: Vec<FaultRule>,
    /// Each client's federated identity credentials, by client index (the same order).
    pub federated_credentials: Vec<Vec<FederatedCredential>>,
    /// Seeded signing keys of federated issuers: issuer → JWK set.
    pub jwks: Vec<(String, jsonwebtoken::jwk::JwkSet)>,
}

/// Why a seed cannot be used: the place (`clients[0].certificate_pem`) and what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("invalid seed: {0}")]
pub struct SeedError(String);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSeed {
    tenant_id: String,
    clients: Vec<RawClient>,
    service_principal: Map<String, Value>,
    #[serde(default)]
    service_principals: Vec<Map<String, Value>>,
    #[serde(default)]
    groups: Vec<Map<String, Value>>,
    #[serde(default)]
    users: Vec<Map<String, Value>>,
    #[serde(default)]
    assignments: Vec<RawAssignment>,
    #[serde(default = "default_page_size")]
    page_size: usize,
    /// The largest page `$top` gets; by default `page_size`, so clients page whatever they ask.
    max_page_size: Option<usize>,
    #[serde(default = "default_token_lifetime")]
    token_lifetime_secs: u64,
    #[serde(default)]
    faults: Vec<Value>,
    #[serde(default)]
    jwks: Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClient {
    client_id: String,
    client_secret: Option<String>,
    certificate_pem: Option<String>,
    service_principal_id: String,
    display_name: Option<String>,
    application_id: Option<String>,
    #[serde(default)]
    federated_identity_credentials: Vec<Map<String, Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawAssignment {
    id: Option<String>,
    principal_id: String,
    app_role_id: String,
    resource_id: Option<String>,
    created_date_time: Option<String>,
}

fn default_page_size() -> usize {
    3
}

fn default_token_lifetime() -> u64 {
    3600
}

fn err(message: impl Into<String>) -> SeedError {
    SeedError(message.into())
}

fn guid(what: &str, s: &str) -> Result<Uuid, SeedError> {
    Uuid::try_parse(s).map_err(|_| err(format!("{what}: {s:?} is not a GUID")))
}

/// One AWS service principal of the seed, checked: its properties, its id, and its roles' ids
/// with whether each is enabled.
struct AwsSp {
    properties: Map<String, Value>,
    id: Uuid,
    role_ids: Vec<(Uuid, bool)>,
}

impl AwsSp {
    fn id(&self) -> &str {
        super::state::sp_id(&self.properties)
    }

    fn app_id(&self) -> Option<&str> {
        self.properties.get("appId").and_then(Value::as_str)
    }
}

/// Checks the AWS service principal at `place` (`service_principal`, `service_principals[1]`):
/// a GUID `id`, and `appRoles` Graph could hold beside its other collections sharing the cap.
fn load_aws_sp(place: &str, mut sp: Map<String, Value>) -> Result<AwsSp, SeedError> {
    // A saved GET response carries OData annotations; they are not properties.
    sp.retain(|k, _| !k.starts_with("@odata."));
    let id = match sp.get("id") {
        Some(Value::String(id)) => guid(&format!("{place}.id"), id)?,
        _ => return Err(err(format!("{place}.id is required (a GUID string)"))),
    };
    if !matches!(sp.get("appId"), None | Some(Value::String(_))) {
        return Err(err(format!("{place}.appId must be a string")));
    }
    let Some(roles) = sp.get("appRoles").and_then(Value::as_array) else {
        return Err(err(format!("{place}.appRoles is required (an array)")));
    };
    check_seed_roles(roles, super::rules::entries_beside_app_roles(&sp))
        .map_err(|v| err(format!("{place}: {}", v.message)))?;
    let role_ids: Vec<(Uuid, bool)> = roles
        .iter()
        .filter_map(|r| {
            let id = Uuid::try_parse(r.get("id")?.as_str()?).ok()?;
            Some((id, r.get("isEnabled")?.as_bool()?))
        })
        .collect();
    Ok(AwsSp {
        properties: sp,
        id,
        role_ids,
    })
}

impl Seed {
    /// Parses and checks a seed document.
    pub fn from_json(text: &str) -> Result<Seed, SeedError> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let raw: RawSeed = serde_path_to_error::deserialize(de)
            .map_err(|e| err(format!("at {}: {}", e.path(), e.inner())))?;

        if raw.tenant_id.is_empty() || raw.tenant_id.contains(['/', '?', '#', ' ']) {
            return Err(err(
                "tenant_id must be a tenant GUID or name without '/', '?', '#' or spaces",
            ));
        }
        if !(1..=MAX_PAGE_SIZE).contains(&raw.page_size) {
            return Err(err(format!("page_size must be 1 to {MAX_PAGE_SIZE}")));
        }
        let max_page_size = raw.max_page_size.unwrap_or(raw.page_size);
        if !(raw.page_size..=MAX_PAGE_SIZE).contains(&max_page_size) {
            return Err(err(format!(
                "max_page_size must be page_size ({}) to {MAX_PAGE_SIZE}",
                raw.page_size
            )));
        }
        if !(1..=MAX_TOKEN_LIFETIME_SECS).contains(&raw.token_lifetime_secs) {
            return Err(err(format!(
                "token_lifetime_secs must be 1 to {MAX_TOKEN_LIFETIME_SECS}"
            )));
        }

        let first = load_aws_sp("service_principal", raw.service_principal)?;
        let (clients, federated_credentials) = load_clients(raw.clients, first.id)?;
        let jwks = load_jwks(raw.jwks)?;
        let mut aws: Vec<AwsSp> = vec![first];
        for (i, sp) in raw.service_principals.into_iter().enumerate() {
            let place = format!("service_principals[{i}]");
            let sp = load_aws_sp(&place, sp)?;
            if let Some(other) = aws.iter().position(|o| o.id == sp.id) {
                return Err(err(format!(
                    "{place}.id: {} is already the id of {}",
                    sp.id(),
                    aws_place(other)
                )));
            }
            if let Some(c) = clients
                .iter()
                .position(|c| Uuid::try_parse(&c.service_principal_id).is_ok_and(|id| id == sp.id))
            {
                return Err(err(format!(
                    "{place}.id: {} is already taken by clients[{c}].service_principal_id",
                    sp.id()
                )));
            }
            if let Some(app_id) = sp.app_id()
                && let Some(other) = aws
                    .iter()
                    .position(|o| o.app_id().is_some_and(|a| a.eq_ignore_ascii_case(app_id)))
            {
                return Err(err(format!(
                    "{place}.appId: {app_id} is already the appId of {}",
                    aws_place(other)
                )));
            }
            aws.push(sp);
        }
        let sp_ids: HashSet<Uuid> = clients
            .iter()
            .filter_map(|c| Uuid::try_parse(&c.service_principal_id).ok())
            .chain(aws.iter().map(|sp| sp.id))
            .collect();

        let users = load_users(raw.users, &sp_ids)?;

        let created = timestamp();
        let mut groups: Vec<Group> = Vec::with_capacity(raw.groups.len());
        let mut members: Vec<Vec<String>> = Vec::with_capacity(raw.groups.len());
        for (i, mut g) in raw.groups.into_iter().enumerate() {
            let at = |m: String| err(format!("groups[{i}]: {m}"));
            let id = match g.remove("id") {
                None => new_guid(),
                Some(Value::String(id)) => {
                    guid(&format!("groups[{i}].id"), &id)?;
                    id
                }
                Some(_) => return Err(at("id must be a GUID string".into())),
            };
            if groups.iter().any(|o| o.id().eq_ignore_ascii_case(&id))
                || users.iter().any(|u| u.id().eq_ignore_ascii_case(&id))
                || Uuid::try_parse(&id).is_ok_and(|u| sp_ids.contains(&u))
            {
                return Err(at(format!("the id {id} is already taken")));
            }
            let group_created = match g.remove("createdDateTime") {
                None => created.clone(),
                Some(Value::String(s)) => s,
                Some(_) => return Err(at("createdDateTime must be a string".into())),
            };
            let owners: Vec<String> = match g.remove("owners") {
                None => Vec::new(),
                Some(v) => serde_json::from_value(v)
                    .map_err(|_| at("owners must be an array of object ids".into()))?,
            };
            for o in &owners {
                guid(&format!("groups[{i}].owners"), o)?;
            }
            members.push(match g.remove("members") {
                None => Vec::new(),
                Some(v) => serde_json::from_value(v)
                    .map_err(|_| at("members must be an array of object ids".into()))?,
            });
            g.entry("mailEnabled").or_insert(Value::Bool(false));
            g.entry("securityEnabled").or_insert(Value::Bool(true));
            // Read-only properties of a saved Graph response are kept; the rest is checked as
            // if the group were created now.
            let mut read_only = Map::new();
            for key in g.keys().cloned().collect::<Vec<_>>() {
                if GROUP_CREATE_PROPERTIES.contains(&key.as_str()) {
                    continue;
                }
                if !GROUP_PROPERTIES.contains(&key.as_str()) {
                    return Err(at(format!("unknown group property '{key}'")));
                }
                if let Some(v) = g.remove(&key) {
                    read_only.insert(key, v);
                }
            }
            let taken = |n: &str| {
                groups
                    .iter()
                    .any(|o| o.mail_nickname().eq_ignore_ascii_case(n))
            };
            let checked = check_new_group(&g, &taken, &|_| true).map_err(|v| at(v.message))?;
            let mut properties = read_only;
            properties.extend(checked.properties);
            groups.push(Group::create(properties, owners, id, group_created));
        }

        for (i, ids) in members.into_iter().enumerate() {
            let mut checked: Vec<String> = Vec::with_capacity(ids.len());
            for id in ids {
                let at = |m: String| err(format!("groups[{i}].members: {m}"));
                let known = users
                    .iter()
                    .find(|u| u.id().eq_ignore_ascii_case(&id))
                    .map(User::id)
                    .or_else(|| {
                        groups
                            .iter()
                            .find(|g| g.id().eq_ignore_ascii_case(&id))
                            .map(Group::id)
                    });
                let Some(known) = known else {
                    return Err(at(format!("{id} is not a user or group of the seed")));
                };
                if known.eq_ignore_ascii_case(groups[i].id()) {
                    return Err(at("a group cannot be a member of itself".into()));
                }
                if checked.iter().any(|c| c.eq_ignore_ascii_case(known)) {
                    return Err(at(format!("{id} is listed twice")));
                }
                checked.push(known.to_owned());
            }
            groups[i].members = checked;
        }

        let mut assignments: Vec<Assignment> = Vec::with_capacity(raw.assignments.len());
        for (i, a) in raw.assignments.into_iter().enumerate() {
            let at = |m: String| err(format!("assignments[{i}]: {m}"));
            let principal = groups
                .iter()
                .find(|g| g.id().eq_ignore_ascii_case(&a.principal_id))
                .map(|g| (g.id(), g.display_name(), "Group"))
                .or_else(|| {
                    users
                        .iter()
                        .find(|u| u.id().eq_ignore_ascii_case(&a.principal_id))
                        .map(|u| (u.id(), u.display_name(), "User"))
                });
            let Some((principal_id, principal_name, principal_type)) = principal else {
                return Err(at(format!(
                    "principalId {} is not a group or user of the seed",
                    a.principal_id
                )));
            };
            let resource = match a.resource_id.as_deref() {
                None => &aws[0],
                Some(id) => {
                    let wanted = guid(&format!("assignments[{i}].resourceId"), id)?;
                    aws.iter().find(|sp| sp.id == wanted).ok_or_else(|| {
                        err(format!(
                            "assignments[{i}].resourceId: {id} is not an AWS service principal of the seed (service_principal or service_principals)"
                        ))
                    })?
                }
            };
            let role = guid(&format!("assignments[{i}].appRoleId"), &a.app_role_id)?;
            if !resource.role_ids.iter().any(|(id, _)| *id == role) {
                return Err(at(format!(
                    "appRoleId {role} is not a role of the service principal {}",
                    resource.id()
                )));
            }
            if assignments.iter().any(|o| {
                o.is_on(resource.id())
                    && o.principal_id.eq_ignore_ascii_case(&a.principal_id)
                    && o.app_role_id.eq_ignore_ascii_case(&a.app_role_id)
            }) {
                return Err(at("the same group and role are assigned twice".into()));
            }
            let id = a.id.unwrap_or_else(Assignment::new_id);
            if id.is_empty() || assignments.iter().any(|o| o.id == id) {
                return Err(at(format!("the id {id:?} is empty or already taken")));
            }
            assignments.push(Assignment {
                id,
                resource_id: resource.id().to_owned(),
                principal_id: principal_id.to_owned(),
                principal_type,
                principal_display_name: principal_name.to_owned(),
                app_role_id: a.app_role_id,
                created: a.created_date_time.unwrap_or_else(|| created.clone()),
            });
        }

        let faults =
            rules_from_json(&Value::Array(raw.faults)).map_err(|e| err(format!("faults: {e}")))?;

        Ok(Seed {
            tenant_id: raw.tenant_id,
            clients,
            service_principals: aws.into_iter().map(|sp| sp.properties).collect(),
            groups,
            users,
            assignments,
            paging: Paging {
                default: raw.page_size,
                max: max_page_size,
            },
            token_lifetime: Duration::from_secs(raw.token_lifetime_secs),
            faults,
            federated_credentials,
            jwks,
        })
    }
}

/// Where the `index`th AWS service principal is in the seed.
fn aws_place(index: usize) -> String {
    match index {
        0 => "service_principal".to_owned(),
        n => format!("service_principals[{}]", n - 1),
    }
}

/// Users: a GUID `id` (made when absent), a unique `userPrincipalName` with an `@`, a
/// `displayName`; `accountEnabled` defaults to true; other known user properties are kept.
fn load_users(
    raw: Vec<Map<String, Value>>,
    sp_ids: &HashSet<Uuid>,
) -> Result<Vec<User>, SeedError> {
    let mut users: Vec<User> = Vec::with_capacity(raw.len());
    for (i, mut u) in raw.into_iter().enumerate() {
        let at = |m: String| err(format!("users[{i}]: {m}"));
        if let Some(key) = u.keys().find(|k| !USER_PROPERTIES.contains(&k.as_str())) {
            return Err(at(format!("unknown user property '{key}'")));
        }
        let id = match u.remove("id") {
            None => new_guid(),
            Some(Value::String(id)) => {
                guid(&format!("users[{i}].id"), &id)?;
                id
            }
            Some(_) => return Err(at("id must be a GUID string".into())),
        };
        if users.iter().any(|o| o.id().eq_ignore_ascii_case(&id))
            || Uuid::try_parse(&id).is_ok_and(|g| sp_ids.contains(&g))
        {
            return Err(at(format!("the id {id} is already taken")));
        }
        let upn = match u.get("userPrincipalName") {
            Some(Value::String(upn)) if upn.contains('@') && !upn.contains(' ') => upn.clone(),
            _ => {
                return Err(at(
                    "userPrincipalName is required: a string like alice@contoso.com".into(),
                ));
            }
        };
        if users.iter().any(|o| o.upn().eq_ignore_ascii_case(&upn)) {
            return Err(at(format!("userPrincipalName {upn} is already taken")));
        }
        if !matches!(u.get("displayName"), Some(Value::String(n)) if !n.is_empty()) {
            return Err(at("displayName is required (a non-empty string)".into()));
        }
        u.entry("accountEnabled").or_insert(Value::Bool(true));
        let mut properties = Map::new();
        properties.insert("id".into(), Value::from(id));
        properties.extend(u);
        users.push(User { properties });
    }
    Ok(users)
}

/// The clients, and each one's federated identity credentials (same order).
type Clients = (Vec<Client>, Vec<Vec<FederatedCredential>>);

fn load_clients(raw: Vec<RawClient>, aws_sp: Uuid) -> Result<Clients, SeedError> {
    if raw.is_empty() {
        return Err(err(
            "clients is empty: seed at least the sync app, or nobody can get a token",
        ));
    }
    let mut clients: Vec<Client> = Vec::with_capacity(raw.len());
    let mut federated: Vec<Vec<FederatedCredential>> = Vec::with_capacity(raw.len());
    for (i, c) in raw.into_iter().enumerate() {
        let at = |m: String| err(format!("clients[{i}]: {m}"));
        if c.client_id.is_empty() {
            return Err(at("client_id is empty".into()));
        }
        if clients
            .iter()
            .any(|o| o.client_id.eq_ignore_ascii_case(&c.client_id))
        {
            return Err(at(format!("client_id {} appears twice", c.client_id)));
        }
        let sp = guid(
            &format!("clients[{i}].service_principal_id"),
            &c.service_principal_id,
        )?;
        if sp == aws_sp
            || clients.iter().any(|o| {
                o.service_principal_id
                    .eq_ignore_ascii_case(&c.service_principal_id)
            })
        {
            return Err(at(format!(
                "service_principal_id {sp} is already taken by another service principal"
            )));
        }
        if c.client_secret.is_none()
            && c.certificate_pem.is_none()
            && c.federated_identity_credentials.is_empty()
        {
            return Err(at(
                "give a client_secret, a certificate_pem or federated_identity_credentials, or the client cannot authenticate"
                    .into(),
            ));
        }
        let application_id = match c.application_id.as_deref() {
            None => Uuid::new_v5(&Uuid::NAMESPACE_OID, c.client_id.as_bytes()),
            Some(id) => guid(&format!("clients[{i}].application_id"), id)?,
        };
        if clients
            .iter()
            .any(|o| o.application_id == application_id.to_string())
        {
            return Err(at(format!(
                "application_id {application_id} is already another client's"
            )));
        }
        let mut credentials: Vec<FederatedCredential> = Vec::new();
        for (j, body) in c.federated_identity_credentials.iter().enumerate() {
            let made = fic::check_new(body, &credentials, new_guid()).map_err(|r| {
                at(format!(
                    "federated_identity_credentials[{j}]: {}",
                    r.message()
                ))
            })?;
            credentials.push(made);
        }
        federated.push(credentials);
        if c.client_secret.as_deref() == Some("") {
            return Err(at("client_secret is empty".into()));
        }
        let certificate = match c.certificate_pem.as_deref() {
            None => None,
            Some(pem) => {
                Some(Certificate::from_pem(pem).map_err(|e| at(format!("certificate_pem: {e}")))?)
            }
        };
        clients.push(Client {
            display_name: c.display_name.unwrap_or_else(|| c.client_id.clone()),
            client_id: c.client_id,
            secret: c.client_secret.map(Secret::new),
            certificate,
            service_principal_id: c.service_principal_id,
            application_id: application_id.to_string(),
        });
    }
    Ok((clients, federated))
}

/// `jwks`: issuer → `{"keys": [...]}`, each key one `jsonwebtoken` can verify with.
fn load_jwks(
    raw: Map<String, Value>,
) -> Result<Vec<(String, jsonwebtoken::jwk::JwkSet)>, SeedError> {
    raw.into_iter()
        .map(|(issuer, set)| {
            let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(set)
                .map_err(|e| err(format!("jwks.{issuer}: not a JWK set: {e}")))?;
            for (k, jwk) in set.keys.iter().enumerate() {
                jsonwebtoken::DecodingKey::from_jwk(jwk)
                    .map_err(|e| err(format!("jwks.{issuer}.keys[{k}]: {e}")))?;
            }
            Ok((issuer, set))
        })
        .collect()
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use serde_json::json;

    pub const CLIENT_SP: &str = "c0000000-0000-4000-8000-0000000000c1";
    pub const A: &str = "aaaaaaaa-0000-4000-8000-00000000000a";
    pub const B: &str = "bbbbbbbb-0000-4000-8000-00000000000b";
    /// msiam_access: the same role id on every AWS gallery app, so on both A and B.
    pub const MSIAM: &str = "7dfd756e-8c27-4472-b2b7-38c17fc5de5e";
    pub const A_ADMIN: &str = "a0000000-0000-4000-8000-0000000000a1";
    pub const B_DEV: &str = "b0000000-0000-4000-8000-0000000000b1";
    pub const B_OLD: &str = "b0000000-0000-4000-8000-0000000000b2";
    pub const G1: &str = "0c6f2b1e-0000-4000-8000-000000000a01";
    pub const G2: &str = "0c6f2b1e-0000-4000-8000-000000000a02";

    pub fn role(id: &str, value: Option<&str>, enabled: bool) -> Value {
        json!({"allowedMemberTypes": ["User"], "displayName": value.unwrap_or("msiam_access"),
               "id": id, "isEnabled": enabled, "value": value, "origin": "ServicePrincipal"})
    }

    /// An AWS role value for `account` and `name`.
    pub fn value(account: &str, name: &str) -> String {
        format!("arn:aws:iam::{account}:role/{name},arn:aws:iam::{account}:saml-provider/AzureAD")
    }

    /// A seed with two AWS service principals, A (`service_principal`) and B
    /// (`service_principals[0]`), a group assigned on each.
    pub fn two_sps() -> Value {
        json!({
            "tenant_id": "tenant",
            "clients": [{"client_id": "c0000000-0000-4000-8000-0000000000c0",
                         "client_secret": "test-only", "service_principal_id": CLIENT_SP}],
            "service_principal": {
                "id": A, "appId": "a0000000-0000-4000-8000-0000000000f0",
                "displayName": "AWS A",
                "appRoles": [role(MSIAM, None, true),
                             role(A_ADMIN, Some(&value("111111111111", "Admin")), true)],
            },
            "service_principals": [{
                "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#servicePrincipals/$entity",
                "id": B, "appId": "b0000000-0000-4000-8000-0000000000f0",
                "displayName": "AWS B", "tags": ["kept"],
                "appRoles": [role(MSIAM, None, true),
                             role(B_DEV, Some(&value("222222222222", "Dev")), true),
                             role(B_OLD, Some(&value("222222222222", "Old")), false)],
            }],
            "groups": [
                {"id": G1, "displayName": "G1", "mailNickname": "g1"},
                {"id": G2, "displayName": "G2", "mailNickname": "g2"},
            ],
            "assignments": [
                {"principalId": G1, "appRoleId": A_ADMIN},
                {"principalId": G2, "appRoleId": B_DEV, "resourceId": B.to_uppercase()},
            ],
        })
    }

    fn load(seed: &Value) -> Result<Seed, SeedError> {
        Seed::from_json(&seed.to_string())
    }

    fn refused(seed: &Value) -> String {
        load(seed).unwrap_err().to_string()
    }

    #[test]
    fn a_seed_with_two_service_principals_loads() {
        let seed = load(&two_sps()).unwrap();
        let ids: Vec<&str> = seed
            .service_principals
            .iter()
            .map(super::super::state::sp_id)
            .collect();
        assert_eq!(ids, [A, B], "seed order, service_principal first");
        let b = &seed.service_principals[1];
        assert_eq!(b["tags"], json!(["kept"]), "other properties kept");
        assert!(!b.contains_key("@odata.context"), "annotations dropped");
        assert_eq!(b["appRoles"].as_array().unwrap().len(), 3);
        let on: Vec<(&str, &str)> = seed
            .assignments
            .iter()
            .map(|a| (a.resource_id.as_str(), a.app_role_id.as_str()))
            .collect();
        assert_eq!(
            on,
            [(A, A_ADMIN), (B, B_DEV)],
            "resourceId defaults to service_principal and is stored as the SP's id"
        );
    }

    #[test]
    fn a_seed_without_service_principals_loads_as_before() {
        let mut s = two_sps();
        s.as_object_mut().unwrap().remove("service_principals");
        s["assignments"] = json!([{"principalId": G1, "appRoleId": A_ADMIN}]);
        assert_eq!(load(&s).unwrap().service_principals.len(), 1);
    }

    #[test]
    fn service_principal_ids_and_app_ids_are_unique() {
        let mut s = two_sps();
        s["service_principals"][0]["id"] = json!(A.to_uppercase());
        let e = refused(&s);
        assert!(
            e.contains("service_principals[0].id") && e.contains("service_principal"),
            "{e}"
        );

        let mut s = two_sps();
        let mut c = s["service_principals"][0].clone();
        c["appId"] = json!("c0000000-0000-4000-8000-0000000000f0");
        s["service_principals"].as_array_mut().unwrap().push(c);
        let e = refused(&s);
        assert!(
            e.contains("service_principals[1].id") && e.contains("service_principals[0]"),
            "{e}"
        );

        let mut s = two_sps();
        s["service_principals"][0]["appId"] = json!("A0000000-0000-4000-8000-0000000000F0");
        let e = refused(&s);
        assert!(e.contains("service_principals[0].appId"), "{e}");

        let mut s = two_sps();
        s["service_principals"][0]["id"] = json!(CLIENT_SP);
        let e = refused(&s);
        assert!(
            e.contains("service_principals[0].id") && e.contains("clients[0]"),
            "{e}"
        );

        let mut s = two_sps();
        s["service_principals"][0]["id"] = json!("nope");
        assert!(refused(&s).contains("service_principals[0].id"));
    }

    #[test]
    fn each_service_principal_is_checked_like_the_first() {
        let mut s = two_sps();
        s["service_principals"][0]["appRoles"][2]["id"] = json!(B_DEV);
        let e = refused(&s);
        assert!(
            e.contains("service_principals[0]:") && e.contains("repeats the id"),
            "{e}"
        );

        let mut s = two_sps();
        s["service_principals"][0]["servicePrincipalNames"] = json!(vec!["x"; 1198]);
        let e = refused(&s);
        assert!(
            e.contains("service_principals[0]:") && e.contains("1200"),
            "{e}"
        );
        // A's collections are A's own: the same 1198 entries fit beside A's two roles.
        let mut s = two_sps();
        s["service_principal"]["servicePrincipalNames"] = json!(vec!["x"; 1198]);
        assert!(load(&s).is_ok());

        let mut s = two_sps();
        s["service_principals"][0]
            .as_object_mut()
            .unwrap()
            .remove("appRoles");
        assert!(refused(&s).contains("service_principals[0].appRoles"));
    }

    #[test]
    fn an_assignment_role_must_be_on_its_resource() {
        let mut s = two_sps();
        // B_DEV is B's role, not A's (the default resource).
        s["assignments"][1] = json!({"principalId": G2, "appRoleId": B_DEV});
        let e = refused(&s);
        assert!(e.contains("assignments[1]") && e.contains(A), "{e}");

        let mut s = two_sps();
        s["assignments"][0]["resourceId"] = json!(B);
        let e = refused(&s);
        assert!(e.contains("assignments[0]") && e.contains(B), "{e}");

        let mut s = two_sps();
        s["assignments"][0]["resourceId"] = json!(CLIENT_SP);
        let e = refused(&s);
        assert!(e.contains("assignments[0].resourceId"), "{e}");

        // The same group and role id on two service principals are two assignments.
        let mut s = two_sps();
        s["assignments"] = json!([
            {"principalId": G1, "appRoleId": MSIAM},
            {"principalId": G1, "appRoleId": MSIAM, "resourceId": B},
        ]);
        assert_eq!(load(&s).unwrap().assignments.len(), 2);
        s["assignments"][1]["resourceId"] = json!(A);
        assert!(refused(&s).contains("assigned twice"));
    }
}
