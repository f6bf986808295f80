//! emulator: the Graph emulator as a library — the router ([`app`]), a server on a bound
//! listener ([`serve`]), and the pipeline every request passes through.
//!
//! This file declares the emulator's other modules with explicit `#[path]`s, so one line pulls
//! the whole emulator into another crate, wherever that crate lives:
//!
//! ```ignore
//! #[path = "../../examples/graph-emulator/emulator.rs"]
//! mod emulator;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! tokio::spawn(emulator::serve(emulator::Seed::from_json(&text)?, listener));
//! ```
//!
//! The pipeline, in order: request ids (`request-id`, and `client-request-id` echoed or made);
//! fault rules (Graph and token requests); the bearer check (Graph requests); the handler; then
//! error bodies rendered with the request's ids, the Graph write log, one stderr log line.
//! Paths outside the Graph and token endpoints and `/_emulator` answer a Graph-style `404`.

#[path = "applications.rs"]
pub mod applications;
#[path = "auth.rs"]
pub mod auth;
#[path = "batch.rs"]
pub mod batch;
#[path = "control.rs"]
pub mod control;
#[path = "errors.rs"]
pub mod errors;
#[path = "faults.rs"]
pub mod faults;
#[path = "fic.rs"]
pub mod fic;
#[path = "graph.rs"]
pub mod graph;
#[path = "members.rs"]
pub mod members;
#[path = "paging.rs"]
pub mod paging;
#[path = "query.rs"]
pub mod query;
#[path = "rules.rs"]
pub mod rules;
#[path = "seed.rs"]
pub mod seed;
#[path = "state.rs"]
pub mod state;

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use tokio::net::TcpListener;

use errors::{AadError, AadErrorPayload, GraphError, GraphErrorPayload};
use faults::FaultAction;
pub use seed::Seed;
pub use state::SharedState;

/// The router for `state`: Graph, token and control endpoints, behind the request pipeline.
pub fn app(state: SharedState) -> Router {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(auth::token))
        .route(
            "/v1.0/servicePrincipals",
            get(graph::list_service_principals),
        )
        .route(
            "/v1.0/servicePrincipals/{id}",
            get(graph::get_service_principal).patch(graph::patch_service_principal),
        )
        .route(
            "/v1.0/servicePrincipals/{id}/appRoleAssignedTo",
            get(graph::list_assignments).post(graph::create_assignment),
        )
        .route(
            "/v1.0/servicePrincipals/{id}/appRoleAssignedTo/{assignment}",
            delete(graph::delete_assignment),
        )
        .route(
            "/v1.0/servicePrincipals/{id}/ownedObjects/microsoft.graph.group",
            get(graph::list_owned_groups),
        )
        .route(
            "/v1.0/groups",
            get(graph::list_groups).post(graph::create_group),
        )
        .route("/v1.0/groups/{id}", get(members::get_group))
        .route("/v1.0/groups/{id}/members", get(members::list_members))
        .route(
            "/v1.0/groups/{id}/transitiveMembers",
            get(members::list_transitive_members),
        )
        .route("/v1.0/groups/{id}/members/$ref", post(members::add_member))
        .route(
            "/v1.0/groups/{id}/members/{member}/$ref",
            delete(members::remove_member),
        )
        .route("/v1.0/users", get(members::list_users))
        .route("/v1.0/users/{id}", get(members::get_user))
        .route(
            "/v1.0/applications/{id}",
            get(applications::get_application),
        )
        .route(
            "/v1.0/applications/{id}/federatedIdentityCredentials",
            get(applications::list).post(applications::create),
        )
        .route(
            "/v1.0/applications/{id}/federatedIdentityCredentials/{credential}",
            delete(applications::delete),
        )
        // Graph's alternate key, `applications(appId='…')`, is one path segment.
        .route(
            "/v1.0/{segment}",
            get(applications::get_application_by_app_id),
        )
        .route(
            "/v1.0/{segment}/federatedIdentityCredentials",
            get(applications::list_by_app_id).post(applications::create_by_app_id),
        )
        .route(
            "/v1.0/{segment}/federatedIdentityCredentials/{credential}",
            delete(applications::delete_by_app_id),
        )
        .route("/v1.0/$batch", post(batch::batch))
        .route("/_emulator/state", get(control::state))
        .route("/_emulator/reset", post(control::reset))
        .route(
            "/_emulator/faults",
            get(control::get_faults)
                .post(control::set_faults)
                .delete(control::clear_faults),
        )
        .route("/_emulator/expire-tokens", post(control::expire_tokens))
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), pipeline))
        .with_state(state)
}

/// Serves a fresh emulator seeded with `seed` on `listener` until the task is dropped.
pub async fn serve(seed: Seed, listener: TcpListener) -> std::io::Result<()> {
    axum::serve(listener, app(SharedState::new(seed))).await
}

async fn not_found(method: Method, uri: Uri) -> GraphError {
    GraphError::new(
        StatusCode::NOT_FOUND,
        "NotFound",
        format!(
            "The Graph emulator does not implement {method} {}.",
            uri.path()
        ),
    )
}

/// What kind of endpoint a path is, which decides faults, auth and the error shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Token,
    Graph,
    Other,
}

fn classify(path: &str) -> Kind {
    if path == "/v1.0" || path.starts_with("/v1.0/") {
        return Kind::Graph;
    }
    let mut segments = path.split('/');
    let token = segments.next() == Some("")
        && segments.next().is_some_and(|tenant| !tenant.is_empty())
        && segments.next() == Some("oauth2")
        && segments.next() == Some("v2.0")
        && segments.next() == Some("token")
        && segments.next().is_none();
    if token { Kind::Token } else { Kind::Other }
}

/// The ids a response carries: ours, and the caller's `client-request-id` (or a new one).
struct RequestIds {
    request_id: String,
    client_request_id: String,
}

impl RequestIds {
    fn new(headers: &HeaderMap) -> RequestIds {
        let client_request_id = headers
            .get("client-request-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| (1..=128).contains(&v.len()) && v.chars().all(|c| c.is_ascii_graphic()))
            .map_or_else(state::new_guid, str::to_owned);
        RequestIds {
            request_id: state::new_guid(),
            client_request_id,
        }
    }
}

async fn pipeline(State(state): State<SharedState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let ids = RequestIds::new(request.headers());
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let kind = classify(&path);

    let (refusal, answer_after) = admit(&state, kind, &method, &path, request.headers()).await;
    let mut response = match refusal {
        Some(refusal) => refusal,
        None => next.run(request).await,
    };
    render_error(&mut response, kind, &ids);
    let headers = response.headers_mut();
    for (name, value) in [
        ("request-id", &ids.request_id),
        ("client-request-id", &ids.client_request_id),
    ] {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    if kind == Kind::Token
        && let Ok(value) = HeaderValue::from_str(&ids.request_id)
    {
        headers.insert(HeaderName::from_static("x-ms-request-id"), value);
    }

    let status = response.status().as_u16();
    if kind == Kind::Graph
        && matches!(
            method,
            Method::POST | Method::PATCH | Method::PUT | Method::DELETE
        )
    {
        state.lock().record_write(&method, &path, status);
    }
    // The path only: queries and bodies stay out of the log.
    eprintln!(
        "graph-emulator: {method} {path} -> {status} ({} ms) request-id={}",
        started.elapsed().as_millis(),
        ids.request_id
    );
    // The work is done and logged; a client that gives up now cannot know it was.
    if let Some(wait) = answer_after {
        tokio::time::sleep(wait).await;
    }
    response
}

/// Faults and the bearer check: a response that ends the request here, or `None` to go on;
/// and how long to hold the answer back once the request is carried out.
async fn admit(
    state: &SharedState,
    kind: Kind,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
) -> (Option<Response>, Option<Duration>) {
    if kind == Kind::Other {
        return (None, None);
    }
    // The guard is dropped at the end of this statement, before any await.
    let action = faults::next_action(&mut state.lock().faults, method, path);
    let answer_after = match action {
        Some(FaultAction::DelayAnswer(wait)) => Some(wait),
        _ => None,
    };
    (admit_now(state, kind, action, headers).await, answer_after)
}

async fn admit_now(
    state: &SharedState,
    kind: Kind,
    action: Option<FaultAction>,
    headers: &HeaderMap,
) -> Option<Response> {
    match action {
        Some(FaultAction::Delay(delay)) => tokio::time::sleep(delay).await,
        Some(FaultAction::DelayAnswer(_)) => {}
        Some(FaultAction::Fail {
            status,
            retry_after_secs,
        }) => {
            return Some(match kind {
                Kind::Token => AadError::fault(status, retry_after_secs).into_response(),
                _ => GraphError {
                    retry_after_secs,
                    message: format!(
                        "{} (injected by the emulator's fault rules)",
                        status.canonical_reason().unwrap_or("Error")
                    ),
                    ..GraphError::for_status(status)
                }
                .into_response(),
            });
        }
        None => {}
    }
    if kind == Kind::Graph
        && let Err(error) = auth::check_bearer(state, headers)
    {
        let mut response = error.into_response();
        response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(
                    "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"",
                ),
            );
        return Some(response);
    }
    None
}

/// Writes the body of an error response in the shape of its endpoint, with the request's ids.
/// Errors axum made itself (a body over the size limit, say) get the same shape.
fn render_error(response: &mut Response, kind: Kind, ids: &RequestIds) {
    let date = state::timestamp();
    let body = if let Some(AadErrorPayload(error)) = response.extensions_mut().remove() {
        errors::aad_error_body(
            &error,
            &ids.request_id,
            &ids.client_request_id,
            &date.replace('T', " "),
        )
    } else if let Some(payload) = response.extensions_mut().remove::<GraphErrorPayload>() {
        errors::graph_error_body(&payload, &ids.request_id, &ids.client_request_id, &date)
    } else if response.status().is_client_error() || response.status().is_server_error() {
        let status = response.status();
        if kind == Kind::Token {
            let error = AadError::new(
                status,
                "invalid_request",
                9002313,
                "Invalid request. Request is malformed or invalid.",
            );
            errors::aad_error_body(
                &error,
                &ids.request_id,
                &ids.client_request_id,
                &date.replace('T', " "),
            )
        } else {
            let error = GraphError::for_status(status);
            let payload = GraphErrorPayload {
                code: error.code,
                message: error.message,
            };
            errors::graph_error_body(&payload, &ids.request_id, &ids.client_request_id, &date)
        }
    } else {
        return;
    };
    let headers = response.headers_mut();
    headers.remove(header::CONTENT_LENGTH);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    *response.body_mut() = Body::from(body.to_string());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_classified() {
        assert_eq!(classify("/v1.0/groups"), Kind::Graph);
        assert_eq!(classify("/v1.0"), Kind::Graph);
        assert_eq!(classify("/tenant/oauth2/v2.0/token"), Kind::Token);
        assert_eq!(classify("//oauth2/v2.0/token"), Kind::Other);
        assert_eq!(classify("/t/oauth2/v2.0/token/x"), Kind::Other);
        assert_eq!(classify("/_emulator/state"), Kind::Other);
        assert_eq!(classify("/v1.00/groups"), Kind::Other);
    }
}
