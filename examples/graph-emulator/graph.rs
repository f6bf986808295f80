//! graph: the Microsoft Graph endpoints the emulator implements, and only those.
//!
//! - `GET|PATCH /v1.0/servicePrincipals/{id}` (PATCH: `appRoles` only, whole collection)
//! - `GET /v1.0/servicePrincipals/{id}/ownedObjects/microsoft.graph.group` (`$select`, `$top`)
//! - `GET|POST /v1.0/groups` (`$filter` on `displayName`, `$select`, `$top`)
//! - `GET|POST /v1.0/servicePrincipals/{id}/appRoleAssignedTo` (groups and users),
//!   `DELETE /v1.0/servicePrincipals/{id}/appRoleAssignedTo/{assignmentId}`
//! - users and group membership: see `members.rs`
//!
//! Every `/servicePrincipals/{id}` route works on whichever seeded AWS service principal has that
//! id, and each is its own object: its own app roles and 1200-entry cap, and its own assignments
//! (those whose `resourceId` it is), so the rules about roles look at the assignment's own
//! resource. Handlers parse, ask `rules` whether the request is allowed, and only then change
//! `state`, so a refused request changes nothing. The bearer check, faults and request ids happen
//! before (in `emulator.rs`). Only the seeded AWS apps' service principals are writable; the
//! clients' own service principals exist read-only, as for an app that owns just the AWS ones.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::errors::GraphError;
use super::paging::{Paging, base_url, collection, select, selected_context};
use super::query::{self, Filter};
use super::rules::{self, Violation};
use super::state::{
    self, ASSIGNMENT_PROPERTIES, Assignment, GROUP_PROPERTIES, Group, SharedState, State as World,
    new_guid, timestamp,
};

/// servicePrincipal property names Graph knows, for `$select`.
const SERVICE_PRINCIPAL_PROPERTIES: [&str; 36] = [
    "id",
    "accountEnabled",
    "addIns",
    "alternativeNames",
    "appDescription",
    "appDisplayName",
    "appId",
    "applicationTemplateId",
    "appOwnerOrganizationId",
    "appRoleAssignmentRequired",
    "appRoles",
    "createdDateTime",
    "deletedDateTime",
    "description",
    "disabledByMicrosoftStatus",
    "displayName",
    "homepage",
    "info",
    "keyCredentials",
    "loginUrl",
    "logoutUrl",
    "notes",
    "notificationEmailAddresses",
    "oauth2PermissionScopes",
    "passwordCredentials",
    "preferredSingleSignOnMode",
    "preferredTokenSigningKeyThumbprint",
    "replyUrls",
    "resourceSpecificApplicationPermissions",
    "samlSingleSignOnSettings",
    "servicePrincipalNames",
    "servicePrincipalType",
    "signInAudience",
    "tags",
    "tokenEncryptionKeyId",
    "verifiedPublisher",
];

impl From<Violation> for GraphError {
    fn from(v: Violation) -> Self {
        GraphError::bad_request(v.code, v.message)
    }
}

/// Which service principal a path names.
enum Sp {
    /// An AWS app's, by its stored object id: readable and writable.
    Aws(String),
    /// A client's own: readable, minimal.
    Client(Map<String, Value>),
}

fn find_sp(world: &World, id: &str) -> Result<Sp, GraphError> {
    if let Some(sp) = world.sp(id) {
        return Ok(Sp::Aws(state::sp_id(sp).to_owned()));
    }
    match world.client_by_sp(id) {
        Some(c) => {
            let sp = json!({
                "id": c.service_principal_id,
                "appId": c.client_id,
                "displayName": c.display_name,
                "appRoles": [],
                "servicePrincipalType": "Application",
                "accountEnabled": true,
            });
            Ok(Sp::Client(sp.as_object().cloned().unwrap_or_default()))
        }
        None => Err(GraphError::resource_not_found(id)),
    }
}

/// The JSON object body of a write request; Graph wants `Content-Type: application/json`.
pub fn json_object(headers: &HeaderMap, body: &Bytes) -> Result<Map<String, Value>, GraphError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        });
    if !is_json {
        return Err(GraphError::unreadable_body());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(GraphError::unreadable_body()),
    }
}

fn forbidden() -> GraphError {
    GraphError::new(
        StatusCode::FORBIDDEN,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
    )
}

/// `GET /v1.0/servicePrincipals/{id}`.
pub async fn get_service_principal(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Json<Value>, GraphError> {
    let query = query::parse(raw.as_deref(), &["$select"])?;
    let world = state.lock();
    let sp = match find_sp(&world, &id)? {
        Sp::Aws(id) => world.sp(&id).cloned().unwrap_or_default(),
        Sp::Client(sp) => sp,
    };
    let mut body = match query.select.as_deref() {
        Some(names) => select(
            &sp,
            names,
            &SERVICE_PRINCIPAL_PROPERTIES,
            "microsoft.graph.servicePrincipal",
        )?,
        None => sp,
    };
    let context = selected_context("servicePrincipals", query.select.as_deref(), "/$entity");
    let mut out = Map::new();
    out.insert(
        "@odata.context".into(),
        Value::from(format!("{}/v1.0/$metadata#{context}", base_url(&headers))),
    );
    out.append(&mut body);
    Ok(Json(Value::Object(out)))
}

/// `GET /v1.0/servicePrincipals?$filter=appId eq '…'`: the service principal of an application
/// (an AWS app's or a sync client's). Only that filter is served: the emulator does not list the
/// whole directory.
pub async fn list_service_principals(
    State(state): State<SharedState>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Json<Value>, GraphError> {
    let query = query::parse(raw.as_deref(), &["$filter", "$select"])?;
    let Some(Filter::AppIdEq(app_id)) = &query.filter else {
        return Err(GraphError::bad_request(
            "BadRequest",
            "The Graph emulator lists service principals by $filter=appId eq '…' only.",
        ));
    };
    let world = state.lock();
    let mut found: Vec<Map<String, Value>> = world
        .service_principals
        .iter()
        .filter(|sp| {
            sp.get("appId")
                .and_then(Value::as_str)
                .is_some_and(|a| a.eq_ignore_ascii_case(app_id))
        })
        .cloned()
        .collect();
    if let Some(client) = world.client(app_id)
        && let Sp::Client(sp) = find_sp(&world, &client.service_principal_id)?
    {
        found.push(sp);
    }
    entity_page(
        &headers,
        &query,
        world.seed.paging,
        "servicePrincipals",
        &SERVICE_PRINCIPAL_PROPERTIES,
        "microsoft.graph.servicePrincipal",
        &found,
    )
}

/// `PATCH /v1.0/servicePrincipals/{id}`: `{"appRoles": [...]}` replaces the whole collection.
pub async fn patch_service_principal(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, GraphError> {
    query::parse(raw.as_deref(), &[])?;
    let mut world = state.lock();
    let Sp::Aws(sp_id) = find_sp(&world, &id)? else {
        return Err(forbidden());
    };
    let patch = json_object(&headers, &body)?;
    if let Some(other) = patch.keys().find(|k| *k != "appRoles") {
        return Err(GraphError::bad_request(
            "Request_BadRequest",
            format!(
                "The Graph emulator patches appRoles only; '{other}' is not supported. Send {{\"appRoles\": [...]}}."
            ),
        ));
    }
    let Some(proposed) = patch.get("appRoles") else {
        return Ok(StatusCode::NO_CONTENT);
    };
    let Some(proposed) = proposed.as_array() else {
        return Err(GraphError::bad_request(
            "Request_BadRequest",
            "Invalid value specified for property 'appRoles' of resource 'ServicePrincipal': expected an array.",
        ));
    };
    // The cap and the role rules are this service principal's own.
    let beside = world.sp(&sp_id).map_or(0, rules::entries_beside_app_roles);
    let roles = rules::patch_app_roles(world.app_roles(&sp_id), proposed, beside)?;
    world.set_app_roles(&sp_id, roles);
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1.0/groups`.
pub async fn list_groups(
    State(state): State<SharedState>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Json<Value>, GraphError> {
    let query = query::parse(
        raw.as_deref(),
        &["$filter", "$select", "$top", "$skiptoken", "$expand"],
    )?;
    if let Some(Filter::AppIdEq(_)) = query.filter {
        return Err(GraphError::bad_request(
            "BadRequest",
            "Invalid filter clause: Could not find a property named 'appId' on type 'microsoft.graph.group'.",
        ));
    }
    let world = state.lock();
    let groups: Vec<&Group> = world
        .groups
        .iter()
        .filter(|g| {
            query
                .filter
                .as_ref()
                .is_none_or(|f| f.matches(g.display_name()))
        })
        .collect();
    if query.expand_owners.is_none() {
        return entity_page(
            &headers,
            &query,
            world.seed.paging,
            "groups",
            &GROUP_PROPERTIES,
            "microsoft.graph.group",
            groups.into_iter().map(|g| &g.properties),
        );
    }
    let items = groups
        .into_iter()
        .map(|g| group_with_owners(&world, g, &query))
        .collect::<Result<Vec<_>, _>>()?;
    let context = selected_context("groups", query.select.as_deref(), "");
    let page = collection(
        &base_url(&headers),
        "/v1.0/groups",
        &context,
        &query,
        world.seed.paging.at_most(query::MAX_EXPANDED_PAGE),
        items,
    )?;
    Ok(Json(page))
}

/// `GET /v1.0/servicePrincipals/{id}/ownedObjects/microsoft.graph.group`: the groups this
/// service principal owns (the OData cast keeps groups only), with `$select`, `$top` and paging
/// like any listing. An unknown service principal is a `404`.
pub async fn list_owned_groups(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Json<Value>, GraphError> {
    let query = query::parse(raw.as_deref(), &["$select", "$top", "$skiptoken"])?;
    let world = state.lock();
    find_sp(&world, &id)?;
    let items = world
        .groups
        .iter()
        .filter(|g| g.owners.iter().any(|o| o.eq_ignore_ascii_case(&id)))
        .map(|g| {
            project(
                &g.properties,
                query.select.as_deref(),
                &GROUP_PROPERTIES,
                "microsoft.graph.group",
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let context = selected_context("groups", query.select.as_deref(), "");
    let page = collection(
        &base_url(&headers),
        &format!("/v1.0/servicePrincipals/{id}/ownedObjects/microsoft.graph.group"),
        &context,
        &query,
        world.seed.paging,
        items,
    )?;
    Ok(Json(page))
}

/// A group cut to `$select`, with `owners` expanded as Graph does: each owner's `@odata.type` and
/// (selected) `id`.
pub fn group_with_owners(
    world: &World,
    group: &Group,
    query: &query::Query,
) -> Result<Value, GraphError> {
    let mut item = project(
        &group.properties,
        query.select.as_deref(),
        &GROUP_PROPERTIES,
        "microsoft.graph.group",
    )?;
    if let (Some(select), Value::Object(map)) = (&query.expand_owners, &mut item) {
        let owners: Vec<Value> = group
            .owners
            .iter()
            .map(|id| {
                let kind = if world.client_by_sp(id).is_some() || world.sp(id).is_some() {
                    "#microsoft.graph.servicePrincipal"
                } else if world.user(id).is_some() {
                    "#microsoft.graph.user"
                } else {
                    "#microsoft.graph.directoryObject"
                };
                let mut owner = Map::new();
                owner.insert("@odata.type".into(), Value::from(kind));
                if select
                    .as_ref()
                    .is_none_or(|names| names.iter().any(|n| n == "id"))
                {
                    owner.insert("id".into(), Value::from(id.as_str()));
                }
                Value::Object(owner)
            })
            .collect();
        map.insert("owners".into(), Value::Array(owners));
    }
    Ok(item)
}

/// One page of the entity set `set` (`groups`, `users`, `servicePrincipals`): `objects`, each
/// cut to `$select`, paged with an absolute `@odata.nextLink`.
pub fn entity_page<'a>(
    headers: &HeaderMap,
    query: &query::Query,
    paging: Paging,
    set: &str,
    known: &[&str],
    type_name: &str,
    objects: impl IntoIterator<Item = &'a Map<String, Value>>,
) -> Result<Json<Value>, GraphError> {
    let items = objects
        .into_iter()
        .map(|o| project(o, query.select.as_deref(), known, type_name))
        .collect::<Result<Vec<_>, _>>()?;
    let context = selected_context(set, query.select.as_deref(), "");
    let page = collection(
        &base_url(headers),
        &format!("/v1.0/{set}"),
        &context,
        query,
        paging,
        items,
    )?;
    Ok(Json(page))
}

fn project(
    object: &Map<String, Value>,
    names: Option<&[String]>,
    known: &[&str],
    type_name: &str,
) -> Result<Value, GraphError> {
    Ok(Value::Object(match names {
        Some(names) => select(object, names, known, type_name)?,
        None => object.clone(),
    }))
}

/// `POST /v1.0/groups`.
pub async fn create_group(
    State(state): State<SharedState>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    query::parse(raw.as_deref(), &[])?;
    let body = json_object(&headers, &body)?;
    let mut world = state.lock();
    let checked = {
        let world = &*world;
        let taken = |n: &str| {
            world
                .groups
                .iter()
                .any(|g| g.mail_nickname().eq_ignore_ascii_case(n))
        };
        let owner = |id: &str| world.is_owner_candidate(id);
        rules::check_new_group(&body, &taken, &owner)?
    };
    let id = new_guid();
    let group = Group::create(checked.properties, checked.owners, id.clone(), timestamp());
    let base = base_url(&headers);
    let mut out = Map::new();
    out.insert(
        "@odata.context".into(),
        Value::from(format!("{base}/v1.0/$metadata#groups/$entity")),
    );
    out.extend(group.properties.clone());
    world.groups.push(group);
    let mut response = (StatusCode::CREATED, Json(Value::Object(out))).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("{base}/v1.0/groups/{id}")) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// `GET /v1.0/servicePrincipals/{id}/appRoleAssignedTo`.
pub async fn list_assignments(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Json<Value>, GraphError> {
    let query = query::parse(raw.as_deref(), &["$select", "$top", "$skiptoken"])?;
    let world = state.lock();
    let items = match find_sp(&world, &id)? {
        Sp::Client(_) => Vec::new(),
        Sp::Aws(sp_id) => {
            let sp_name = world.sp_display_name(&sp_id);
            world
                .assignments
                .iter()
                .filter(|a| a.is_on(&sp_id))
                .map(|a| {
                    project(
                        &a.to_json(&sp_name),
                        query.select.as_deref(),
                        &ASSIGNMENT_PROPERTIES,
                        "microsoft.graph.appRoleAssignment",
                    )
                })
                .collect::<Result<Vec<_>, _>>()?
        }
    };
    let context = format!("servicePrincipals('{id}')/appRoleAssignedTo");
    let page = collection(
        &base_url(&headers),
        &format!("/v1.0/servicePrincipals/{id}/appRoleAssignedTo"),
        &context,
        &query,
        world.seed.paging,
        items,
    )?;
    Ok(Json(page))
}

/// A GUID-valued string property of an assignment request.
fn guid_property(body: &Map<String, Value>, name: &str) -> Result<Uuid, GraphError> {
    let value = body.get(name).ok_or_else(|| {
        GraphError::bad_request(
            "Request_BadRequest",
            format!("A value is required for property '{name}' of resource 'AppRoleAssignment'."),
        )
    })?;
    value
        .as_str()
        .and_then(|s| Uuid::try_parse(s).ok())
        .ok_or_else(|| {
            GraphError::bad_request(
                "Request_BadRequest",
                format!(
                    "Invalid value specified for property '{name}' of resource 'AppRoleAssignment': expected a GUID."
                ),
            )
        })
}

/// `POST /v1.0/servicePrincipals/{id}/appRoleAssignedTo`.
pub async fn create_assignment(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, GraphError> {
    query::parse(raw.as_deref(), &[])?;
    let mut world = state.lock();
    let sp = find_sp(&world, &id)?;
    let body = json_object(&headers, &body)?;
    if let Some(other) = body
        .keys()
        .find(|k| !["principalId", "resourceId", "appRoleId"].contains(&k.as_str()))
    {
        return Err(GraphError::bad_request(
            "Request_BadRequest",
            format!(
                "Property '{other}' does not exist on type 'microsoft.graph.appRoleAssignment' or cannot be set."
            ),
        ));
    }
    let principal = guid_property(&body, "principalId")?;
    let resource = guid_property(&body, "resourceId")?;
    let role = guid_property(&body, "appRoleId")?;
    if Uuid::try_parse(&id).ok() != Some(resource) {
        return Err(GraphError::bad_request(
            "Request_BadRequest",
            format!("resourceId {resource} must be the service principal in the URL ({id})."),
        ));
    }
    let principal = principal.hyphenated().to_string();
    let found = match world.group(&principal) {
        Some(g) => Some((g.id().to_owned(), g.display_name().to_owned(), "Group")),
        None => world
            .user(&principal)
            .filter(|u| u.id().eq_ignore_ascii_case(&principal))
            .map(|u| (u.id().to_owned(), u.display_name().to_owned(), "User")),
    };
    let Some((principal_id, principal_display_name, principal_type)) = found else {
        if world.is_owner_candidate(&principal) {
            return Err(GraphError::bad_request(
                "Request_BadRequest",
                format!(
                    "The Graph emulator assigns groups and users only; principal {principal} is a service principal."
                ),
            ));
        }
        return Err(GraphError::resource_not_found(&principal));
    };
    // The role must be one of this service principal's own, enabled.
    let (app_id, roles): (String, &[Value]) = match &sp {
        Sp::Aws(sp_id) => (
            world
                .sp(sp_id)
                .and_then(|sp| sp.get("appId"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            world.app_roles(sp_id),
        ),
        Sp::Client(sp) => (
            sp.get("appId")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            &[],
        ),
    };
    let found = roles.iter().find(|r| {
        r.get("id")
            .and_then(Value::as_str)
            .and_then(|s| Uuid::try_parse(s).ok())
            == Some(role)
    });
    match found.map(|r| r.get("isEnabled").and_then(Value::as_bool) == Some(true)) {
        None => {
            return Err(GraphError::bad_request(
                "Request_BadRequest",
                format!(
                    "Permission being assigned was not found on application '{app_id}' (appRoleId {role})."
                ),
            ));
        }
        Some(false) => {
            return Err(GraphError::bad_request(
                "Request_BadRequest",
                format!(
                    "Permission being assigned is disabled on application '{app_id}' (appRoleId {role}): enable the role first."
                ),
            ));
        }
        Some(true) => {}
    }
    let Sp::Aws(sp_id) = sp else {
        // A client's service principal has no roles, so the check above has answered.
        return Err(GraphError::resource_not_found(&id));
    };
    let role = role.hyphenated().to_string();
    if world.assignments.iter().any(|a| {
        a.is_on(&sp_id)
            && a.principal_id.eq_ignore_ascii_case(&principal)
            && a.app_role_id.eq_ignore_ascii_case(&role)
    }) {
        return Err(GraphError::bad_request(
            "Request_BadRequest",
            "Permission being assigned already exists on the object",
        ));
    }
    let assignment = Assignment {
        id: Assignment::new_id(),
        resource_id: sp_id,
        principal_id,
        principal_type,
        principal_display_name,
        app_role_id: role,
        created: timestamp(),
    };
    let base = base_url(&headers);
    let mut out = Map::new();
    out.insert(
        "@odata.context".into(),
        Value::from(format!(
            "{base}/v1.0/$metadata#servicePrincipals('{id}')/appRoleAssignedTo/$entity"
        )),
    );
    out.extend(world.assignment_json(&assignment));
    let location = format!(
        "{base}/v1.0/servicePrincipals/{id}/appRoleAssignedTo/{}",
        assignment.id
    );
    world.assignments.push(assignment);
    let mut response = (StatusCode::CREATED, Json(Value::Object(out))).into_response();
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// `DELETE /v1.0/servicePrincipals/{id}/appRoleAssignedTo/{assignmentId}`.
pub async fn delete_assignment(
    State(state): State<SharedState>,
    Path((id, assignment)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<StatusCode, GraphError> {
    query::parse(raw.as_deref(), &[])?;
    let mut world = state.lock();
    let Sp::Aws(sp_id) = find_sp(&world, &id)? else {
        return Err(GraphError::resource_not_found(&assignment));
    };
    // Only an assignment on this service principal is found under it.
    let Some(index) = world
        .assignments
        .iter()
        .position(|a| a.id == assignment && a.is_on(&sp_id))
    else {
        return Err(GraphError::resource_not_found(&assignment));
    };
    world.assignments.remove(index);
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Method, Request};
    use serde_json::{Value, json};
    use tower::ServiceExt;

    use super::super::seed::tests::{
        A, A_ADMIN, B, B_DEV, B_OLD, CLIENT_SP, G1, G2, MSIAM, two_sps, value,
    };
    use super::super::{Seed, SharedState, app};

    /// An emulator in this process, called through its router with a valid token.
    struct Emu {
        state: SharedState,
        token: String,
    }

    impl Emu {
        fn new(seed: Value) -> Emu {
            let state = SharedState::new(Seed::from_json(&seed.to_string()).unwrap());
            let token = state.lock().issue_token();
            Emu { state, token }
        }

        async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
            let mut request = Request::builder()
                .method(method)
                .uri(path)
                .header("host", "emulator.test")
                .header("authorization", format!("Bearer {}", self.token));
            if body.is_some() {
                request = request.header("content-type", "application/json");
            }
            let body = body.map_or_else(Vec::new, |b| b.to_string().into_bytes());
            let response = app(self.state.clone())
                .oneshot(request.body(Body::from(body)).unwrap())
                .await
                .unwrap();
            let status = response.status().as_u16();
            let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap();
            let body = if bytes.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(&bytes).unwrap()
            };
            (status, body)
        }

        async fn roles(&self, sp: &str) -> Vec<Value> {
            let (status, body) = self
                .call(Method::GET, &format!("/v1.0/servicePrincipals/{sp}"), None)
                .await;
            assert_eq!(status, 200, "{body}");
            body["appRoles"].as_array().unwrap().clone()
        }

        async fn patch(&self, sp: &str, roles: Vec<Value>) -> (u16, Value) {
            self.call(
                Method::PATCH,
                &format!("/v1.0/servicePrincipals/{sp}"),
                Some(json!({ "appRoles": roles })),
            )
            .await
        }

        async fn assign(&self, sp: &str, principal: &str, role: &str) -> (u16, Value) {
            self.call(
                Method::POST,
                &format!("/v1.0/servicePrincipals/{sp}/appRoleAssignedTo"),
                Some(json!({"principalId": principal, "resourceId": sp, "appRoleId": role})),
            )
            .await
        }

        /// `(principalId, appRoleId, resourceId)` of each assignment listed under `sp`.
        async fn assigned(&self, sp: &str) -> Vec<(String, String, String)> {
            let (status, body) = self
                .call(
                    Method::GET,
                    &format!("/v1.0/servicePrincipals/{sp}/appRoleAssignedTo?$top=999"),
                    None,
                )
                .await;
            assert_eq!(status, 200, "{body}");
            body["value"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| {
                    let s = |k: &str| a[k].as_str().unwrap().to_owned();
                    (s("principalId"), s("appRoleId"), s("resourceId"))
                })
                .collect()
        }
    }

    fn ids(roles: &[Value]) -> Vec<&str> {
        roles.iter().map(|r| r["id"].as_str().unwrap()).collect()
    }

    fn new_role(id: &str, account: &str, name: &str) -> Value {
        json!({"allowedMemberTypes": ["User"], "displayName": name, "id": id,
               "isEnabled": true, "value": value(account, name)})
    }

    fn owned(triples: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
        triples
            .iter()
            .map(|(p, r, s)| ((*p).to_owned(), (*r).to_owned(), (*s).to_owned()))
            .collect()
    }

    #[tokio::test]
    async fn each_service_principal_is_served_with_its_own_roles() {
        let emu = Emu::new(two_sps());
        assert_eq!(ids(&emu.roles(A).await), [MSIAM, A_ADMIN]);
        assert_eq!(
            ids(&emu.roles(&B.to_uppercase()).await),
            [MSIAM, B_DEV, B_OLD]
        );
        let (status, body) = emu
            .call(
                Method::GET,
                "/v1.0/servicePrincipals?$filter=appId%20eq%20'b0000000-0000-4000-8000-0000000000f0'&$select=id",
                None,
            )
            .await;
        assert_eq!((status, &body["value"]), (200, &json!([{"id": B}])));
        let (status, body) = emu
            .call(
                Method::GET,
                "/v1.0/servicePrincipals/99999999-9999-4999-8999-999999999999",
                None,
            )
            .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (404, Some("Request_ResourceNotFound"))
        );
        let (status, _) = emu.patch(CLIENT_SP, vec![]).await;
        assert_eq!(
            status, 403,
            "the clients' own service principals stay read-only"
        );
    }

    #[tokio::test]
    async fn patching_b_leaves_a_untouched() {
        let emu = Emu::new(two_sps());
        let before_a = emu.roles(A).await;
        let mut roles = emu.roles(B).await;
        roles.remove(2); // B_OLD is disabled, so it may go
        roles.push(new_role(
            "b0000000-0000-4000-8000-0000000000b3",
            "222222222222",
            "Ops",
        ));
        let (status, body) = emu.patch(B, roles).await;
        assert_eq!(status, 204, "{body}");
        assert_eq!(
            ids(&emu.roles(B).await),
            [MSIAM, B_DEV, "b0000000-0000-4000-8000-0000000000b3"]
        );
        assert_eq!(emu.roles(A).await, before_a);

        // The role rules read B's own roles: B_DEV is enabled on B and may not go; A has no
        // B_DEV, and dropping A's enabled A_ADMIN is refused on A.
        let (status, body) = emu.patch(B, vec![emu.roles(B).await[0].clone()]).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("CannotDeleteOrUpdateEnabledEntitlement"))
        );
        let (status, _) = emu.patch(A, vec![before_a[0].clone()]).await;
        assert_eq!(status, 400);

        // reset brings both back.
        emu.state.lock().reset();
        assert_eq!(ids(&emu.roles(B).await), [MSIAM, B_DEV, B_OLD]);
        assert_eq!(emu.roles(A).await, before_a);
    }

    #[tokio::test]
    async fn the_cap_counts_per_service_principal() {
        let mut seed = two_sps();
        // A: 2 roles + 1197 other entries = 1199, one short of the cap.
        seed["service_principal"]["servicePrincipalNames"] = json!(vec!["x"; 1197]);
        let emu = Emu::new(seed);

        let mut b = emu.roles(B).await;
        for i in 0..10 {
            let id = format!("b0000000-0000-4000-8000-0000000001{i:02}");
            b.push(new_role(&id, "222222222222", &format!("R{i}")));
        }
        let (status, body) = emu.patch(B, b).await;
        assert_eq!(status, 204, "A near the cap does not limit B: {body}");

        let mut a = emu.roles(A).await;
        a.push(new_role(
            "a0000000-0000-4000-8000-0000000000a2",
            "111111111111",
            "One",
        ));
        let (status, body) = emu.patch(A, a.clone()).await;
        assert_eq!(status, 204, "the 1200th entry fits: {body}");
        a.push(new_role(
            "a0000000-0000-4000-8000-0000000000a3",
            "111111111111",
            "Two",
        ));
        let (status, body) = emu.patch(A, a).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("Directory_ResourceSizeExceeded")),
            "{body}"
        );
    }

    #[tokio::test]
    async fn assignments_belong_to_their_own_service_principal() {
        let emu = Emu::new(two_sps());
        assert_eq!(emu.assigned(A).await, owned(&[(G1, A_ADMIN, A)]));
        assert_eq!(emu.assigned(B).await, owned(&[(G2, B_DEV, B)]));

        // G1 on B's Dev role, through B: listed under B, not A.
        let (status, body) = emu.assign(B, G1, B_DEV).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["resourceId"], B);
        assert_eq!(body["resourceDisplayName"], "AWS B");
        let id = body["id"].as_str().unwrap().to_owned();
        assert_eq!(
            emu.assigned(B).await,
            owned(&[(G2, B_DEV, B), (G1, B_DEV, B)])
        );
        assert_eq!(emu.assigned(A).await, owned(&[(G1, A_ADMIN, A)]));

        // The same principal and role id on another service principal is another assignment.
        assert_eq!(emu.assign(A, G1, MSIAM).await.0, 201);
        assert_eq!(emu.assign(B, G1, MSIAM).await.0, 201);
        assert_eq!(emu.assign(B, G1, MSIAM).await.0, 400, "twice on B");

        // Roles are looked up on the assignment's own resource.
        let (status, body) = emu.assign(A, G2, B_DEV).await;
        assert_eq!(status, 400, "B's role is not A's");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("not found on application 'a0000000"),
            "{body}"
        );
        let (status, body) = emu.assign(B, G2, B_OLD).await;
        assert!(
            status == 400
                && body["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("disabled"),
            "{body}"
        );
        let (status, _) = emu.assign(B, G2, A_ADMIN).await;
        assert_eq!(status, 400, "A's role is not B's");

        // An assignment on B is not found under A, and is deleted under B.
        let under_a = format!("/v1.0/servicePrincipals/{A}/appRoleAssignedTo/{id}");
        assert_eq!(emu.call(Method::DELETE, &under_a, None).await.0, 404);
        let under_b = format!("/v1.0/servicePrincipals/{B}/appRoleAssignedTo/{id}");
        assert_eq!(emu.call(Method::DELETE, &under_b, None).await.0, 204);
        assert_eq!(emu.call(Method::DELETE, &under_b, None).await.0, 404);
        assert!(!emu.assigned(B).await.contains(&owned(&[(G1, B_DEV, B)])[0]));
    }

    #[tokio::test]
    async fn batch_requests_reach_the_service_principal_they_name() {
        let emu = Emu::new(two_sps());
        let (status, body) = emu
            .call(
                Method::POST,
                "/v1.0/$batch",
                Some(json!({"requests": [
                    {"id": "1", "method": "POST",
                     "url": format!("/servicePrincipals/{B}/appRoleAssignedTo"),
                     "headers": {"Content-Type": "application/json"},
                     "body": {"principalId": G1, "resourceId": B, "appRoleId": B_DEV}},
                    {"id": "2", "method": "POST",
                     "url": format!("/servicePrincipals/{A}/appRoleAssignedTo"),
                     "headers": {"Content-Type": "application/json"},
                     "body": {"principalId": G1, "resourceId": A, "appRoleId": B_DEV}},
                    {"id": "3", "method": "GET",
                     "url": format!("/servicePrincipals/{B}?$select=id,appRoles")},
                ]})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let statuses: Vec<u64> = body["responses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["status"].as_u64().unwrap())
            .collect();
        assert_eq!(statuses, [201, 400, 200]);
        assert_eq!(body["responses"][0]["body"]["resourceId"], B);
        assert_eq!(
            body["responses"][2]["body"]["appRoles"]
                .as_array()
                .unwrap()
                .len(),
            3
        );
        assert_eq!(
            emu.assigned(B).await,
            owned(&[(G2, B_DEV, B), (G1, B_DEV, B)])
        );
    }

    #[tokio::test]
    async fn the_state_dump_keeps_its_fields_and_adds_every_service_principal() {
        let emu = Emu::new(two_sps());
        let (status, state) = emu.call(Method::GET, "/_emulator/state", None).await;
        assert_eq!(status, 200);
        assert_eq!(state["service_principal"]["id"], A);
        let sps: Vec<&str> = state["service_principals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|sp| sp["id"].as_str().unwrap())
            .collect();
        assert_eq!(sps, [A, B]);
        let on: Vec<(&str, &str)> = state["assignments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["resourceId"].as_str().unwrap(),
                    a["resourceDisplayName"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(on, [(A, "AWS A"), (B, "AWS B")]);
    }
}
