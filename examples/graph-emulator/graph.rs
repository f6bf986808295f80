//! graph: the Microsoft Graph endpoints the emulator implements, and only those.
//!
//! - `GET|PATCH /v1.0/servicePrincipals/{id}` (PATCH: `appRoles` only, whole collection)
//! - `GET|POST /v1.0/groups` (`$filter` on `displayName`, `$select`, `$top`)
//! - `GET|POST /v1.0/servicePrincipals/{id}/appRoleAssignedTo` (groups and users),
//!   `DELETE /v1.0/servicePrincipals/{id}/appRoleAssignedTo/{assignmentId}`
//! - users and group membership: see `members.rs`
//!
//! Handlers parse, ask `rules` whether the request is allowed, and only then change `state`, so
//! a refused request changes nothing. The bearer check, faults and request ids happen before
//! (in `emulator.rs`). Only the seeded AWS app's service principal is writable; the clients' own
//! service principals exist read-only, as for an app that owns just the AWS one.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::errors::GraphError;
use super::paging::{base_url, collection, select, selected_context};
use super::query::{self, Filter};
use super::rules::{self, Violation};
use super::state::{
    ASSIGNMENT_PROPERTIES, Assignment, GROUP_PROPERTIES, Group, SharedState, State as World,
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
    /// The AWS app's: readable and writable.
    Aws,
    /// A client's own: readable, minimal.
    Client(Map<String, Value>),
}

fn find_sp(world: &World, id: &str) -> Result<Sp, GraphError> {
    if world.sp_id().eq_ignore_ascii_case(id) {
        return Ok(Sp::Aws);
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
        Sp::Aws => world.service_principal.clone(),
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
/// (the AWS app's or a sync client's). Only that filter is served: the emulator does not list the
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
    let mut found = Vec::new();
    let aws = world.service_principal.clone();
    if aws
        .get("appId")
        .and_then(Value::as_str)
        .is_some_and(|a| a.eq_ignore_ascii_case(app_id))
    {
        found.push(aws);
    }
    if let Some(client) = world.client(app_id)
        && let Sp::Client(sp) = find_sp(&world, &client.service_principal_id)?
    {
        found.push(sp);
    }
    entity_page(
        &headers,
        &query,
        world.seed.page_size,
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
    if let Sp::Client(_) = find_sp(&world, &id)? {
        return Err(forbidden());
    }
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
    let beside = rules::entries_beside_app_roles(&world.service_principal);
    let roles = rules::patch_app_roles(world.app_roles(), proposed, beside)?;
    world.set_app_roles(roles);
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
            world.seed.page_size,
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
        world.seed.page_size.min(query::MAX_EXPANDED_PAGE),
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
                let kind = if world.client_by_sp(id).is_some() {
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
    page_size: usize,
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
        page_size,
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
        Sp::Aws => {
            let sp_name = world
                .service_principal
                .get("displayName")
                .cloned()
                .unwrap_or(Value::Null);
            world
                .assignments
                .iter()
                .map(|a| {
                    project(
                        &a.to_json(world.sp_id(), &sp_name),
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
        world.seed.page_size,
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
    let app_id = world
        .service_principal
        .get("appId")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let roles: &[Value] = match sp {
        Sp::Aws => world.app_roles(),
        Sp::Client(_) => &[],
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
    let role = role.hyphenated().to_string();
    if world.assignments.iter().any(|a| {
        a.principal_id.eq_ignore_ascii_case(&principal) && a.app_role_id.eq_ignore_ascii_case(&role)
    }) {
        return Err(GraphError::bad_request(
            "Request_BadRequest",
            "Permission being assigned already exists on the object",
        ));
    }
    let assignment = Assignment {
        id: Assignment::new_id(),
        principal_id,
        principal_type,
        principal_display_name,
        app_role_id: role,
        created: timestamp(),
    };
    let sp_name = world
        .service_principal
        .get("displayName")
        .cloned()
        .unwrap_or(Value::Null);
    let base = base_url(&headers);
    let mut out = Map::new();
    out.insert(
        "@odata.context".into(),
        Value::from(format!(
            "{base}/v1.0/$metadata#servicePrincipals('{id}')/appRoleAssignedTo/$entity"
        )),
    );
    out.extend(assignment.to_json(world.sp_id(), &sp_name));
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
    if let Sp::Client(_) = find_sp(&world, &id)? {
        return Err(GraphError::resource_not_found(&assignment));
    }
    let Some(index) = world.assignments.iter().position(|a| a.id == assignment) else {
        return Err(GraphError::resource_not_found(&assignment));
    };
    world.assignments.remove(index);
    Ok(StatusCode::NO_CONTENT)
}
