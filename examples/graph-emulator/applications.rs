//! applications: the sync app's registration as Graph's `/applications` addresses it — the
//! application itself and its federated identity credentials (workload identity federation):
//! `GET /v1.0/applications/{id}`, `GET`/`POST …/federatedIdentityCredentials` and
//! `DELETE …/federatedIdentityCredentials/{id or name}`, each also under Graph's alternate key
//! `applications(appId='{appId}')`. The rules a new credential is held to are in `fic`.
//!
//! An application here is a seeded client: its `application_id` is the object id, its
//! `client_id` the `appId`. The emulator models no permissions: any valid token may call these.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::errors::GraphError;
use super::fic;
use super::graph::json_object;
use super::paging::{base_url, collection};
use super::query;
use super::state::{SharedState, State as World, new_guid};

/// The client index of the application `segment` names: `applications/{id}` gives the id,
/// `applications(appId='…')` the whole segment.
fn find(world: &World, reference: &str) -> Result<usize, GraphError> {
    let key = reference
        .strip_prefix("applications(")
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or(reference);
    world
        .application(key)
        .ok_or_else(|| GraphError::resource_not_found(reference))
}

/// `applications/{id}` routes give the id; `{segment}` routes must be `applications(appId=…)`.
fn reference(segment: &str) -> Result<&str, GraphError> {
    if segment.starts_with("applications(appId=") {
        Ok(segment)
    } else {
        Err(GraphError::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("The Graph emulator does not implement /v1.0/{segment}."),
        ))
    }
}

/// `GET /v1.0/applications/{id}`.
pub async fn get_application(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, GraphError> {
    application(&state, &id, &headers, raw.as_deref())
}

/// `GET /v1.0/applications(appId='…')`.
pub async fn get_application_by_app_id(
    State(state): State<SharedState>,
    Path(segment): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, GraphError> {
    application(&state, reference(&segment)?, &headers, raw.as_deref())
}

fn application(
    state: &SharedState,
    reference: &str,
    headers: &HeaderMap,
    raw: Option<&str>,
) -> Result<Json<Value>, GraphError> {
    query::parse(raw, &[])?;
    let world = state.lock();
    let client = &world.seed.clients[find(&world, reference)?];
    Ok(Json(json!({
        "@odata.context": format!("{}/v1.0/$metadata#applications/$entity", base_url(headers)),
        "id": client.application_id,
        "appId": client.client_id,
        "displayName": client.display_name,
    })))
}

/// `GET /v1.0/applications/{id}/federatedIdentityCredentials`.
pub async fn list(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, GraphError> {
    list_credentials(&state, &id, &headers, raw.as_deref())
}

/// `GET /v1.0/applications(appId='…')/federatedIdentityCredentials`.
pub async fn list_by_app_id(
    State(state): State<SharedState>,
    Path(segment): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, GraphError> {
    list_credentials(&state, reference(&segment)?, &headers, raw.as_deref())
}

fn list_credentials(
    state: &SharedState,
    reference: &str,
    headers: &HeaderMap,
    raw: Option<&str>,
) -> Result<Json<Value>, GraphError> {
    let query = query::parse(raw, &["$top", "$skiptoken"])?;
    let world = state.lock();
    let index = find(&world, reference)?;
    let items: Vec<Value> = world.federated_credentials[index]
        .iter()
        .map(|f| Value::Object(f.to_json()))
        .collect();
    let application_id = &world.seed.clients[index].application_id;
    let body = collection(
        &base_url(headers),
        &format!("/v1.0/applications/{application_id}/federatedIdentityCredentials"),
        &format!("applications('{application_id}')/federatedIdentityCredentials"),
        &query,
        world.seed.paging,
        items,
    )?;
    Ok(Json(body))
}

/// `POST /v1.0/applications/{id}/federatedIdentityCredentials`.
pub async fn create(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Result<Response, GraphError> {
    create_credential(&state, &id, &headers, raw.as_deref(), &body)
}

/// `POST /v1.0/applications(appId='…')/federatedIdentityCredentials`.
pub async fn create_by_app_id(
    State(state): State<SharedState>,
    Path(segment): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Result<Response, GraphError> {
    create_credential(
        &state,
        reference(&segment)?,
        &headers,
        raw.as_deref(),
        &body,
    )
}

fn create_credential(
    state: &SharedState,
    reference: &str,
    headers: &HeaderMap,
    raw: Option<&str>,
    body: &Bytes,
) -> Result<Response, GraphError> {
    query::parse(raw, &[])?;
    let body = json_object(headers, body)?;
    let mut world = state.lock();
    let index = find(&world, reference)?;
    let made = fic::check_new(&body, &world.federated_credentials[index], new_guid())
        .map_err(|refusal| GraphError::bad_request("Request_BadRequest", refusal.message()))?;
    let application_id = world.seed.clients[index].application_id.clone();
    let mut out = made.to_json();
    out.insert(
        "@odata.context".into(),
        Value::from(format!(
            "{}/v1.0/$metadata#applications('{application_id}')/federatedIdentityCredentials/$entity",
            base_url(headers)
        )),
    );
    world.federated_credentials[index].push(made);
    Ok((StatusCode::CREATED, Json(Value::Object(out))).into_response())
}

/// `DELETE /v1.0/applications/{id}/federatedIdentityCredentials/{id or name}`.
pub async fn delete(
    State(state): State<SharedState>,
    Path((id, credential)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<StatusCode, GraphError> {
    delete_credential(&state, &id, &credential, raw.as_deref())
}

/// `DELETE /v1.0/applications(appId='…')/federatedIdentityCredentials/{id or name}`.
pub async fn delete_by_app_id(
    State(state): State<SharedState>,
    Path((segment, credential)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<StatusCode, GraphError> {
    delete_credential(&state, reference(&segment)?, &credential, raw.as_deref())
}

fn delete_credential(
    state: &SharedState,
    reference: &str,
    credential: &str,
    raw: Option<&str>,
) -> Result<StatusCode, GraphError> {
    query::parse(raw, &[])?;
    let mut world = state.lock();
    let index = find(&world, reference)?;
    let credentials = &mut world.federated_credentials[index];
    let Some(at) = credentials.iter().position(|f| {
        f.id.eq_ignore_ascii_case(credential) || f.name.eq_ignore_ascii_case(credential)
    }) else {
        return Err(GraphError::resource_not_found(credential));
    };
    credentials.remove(at);
    Ok(StatusCode::NO_CONTENT)
}
