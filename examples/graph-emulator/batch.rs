//! batch: `POST /v1.0/$batch`, JSON batching as Graph does it — at most 20 requests with unique
//! ids, answered in one `200` that carries a status, headers and body per request.
//!
//! Each request runs through the emulator's own router ([`super::app`]), so it meets the same
//! pipeline as a request on its own: fault rules (a throttled item answers `429` with its
//! `Retry-After`), the bearer check (the batch's `Authorization` is passed on), the rules, and
//! the write log. Requests run one after another in the order sent, which satisfies any
//! `dependsOn` that points backwards; a nested `$batch` or an absolute URL is refused, as Graph
//! refuses them.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Request, header};
use serde_json::{Map, Value, json};
use tower::ServiceExt;

use super::errors::GraphError;
use super::state::SharedState;

/// Requests one batch may carry.
pub const MAX_REQUESTS: usize = 20;

fn bad(message: impl Into<String>) -> GraphError {
    GraphError::bad_request("BadRequest", message)
}

/// One request of the batch, checked.
struct Item {
    id: String,
    method: String,
    url: String,
    headers: Map<String, Value>,
    body: Option<Value>,
}

fn items(body: &Bytes) -> Result<Vec<Item>, GraphError> {
    let value: Value = serde_json::from_slice(body).map_err(|_| GraphError::unreadable_body())?;
    let Some(requests) = value.get("requests").and_then(Value::as_array) else {
        return Err(bad(
            "Invalid batch payload format: a 'requests' array is required.",
        ));
    };
    if requests.is_empty() {
        return Err(bad("Invalid batch payload format: 'requests' is empty."));
    }
    if requests.len() > MAX_REQUESTS {
        return Err(bad(format!(
            "Number of requests in the batch ({}) exceeds the maximum of {MAX_REQUESTS}.",
            requests.len()
        )));
    }
    let mut items: Vec<Item> = Vec::with_capacity(requests.len());
    for request in requests {
        let text = |name: &str| request.get(name).and_then(Value::as_str).map(str::to_owned);
        let (Some(id), Some(method), Some(url)) = (text("id"), text("method"), text("url")) else {
            return Err(bad(
                "Invalid batch payload format: each request needs an id, a method and a url.",
            ));
        };
        if id.is_empty() || items.iter().any(|i| i.id == id) {
            return Err(bad(format!(
                "Invalid batch payload format: request id {id:?} is empty or not unique."
            )));
        }
        let relative = url.trim_start_matches('/');
        if url.contains("://") || relative.starts_with("$batch") {
            return Err(bad(format!(
                "Invalid batch payload format: url {url:?} must be relative and not a $batch."
            )));
        }
        let headers = request
            .get("headers")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let body = request.get("body").cloned().filter(|b| !b.is_null());
        if body.is_some()
            && !headers
                .keys()
                .any(|k| k.eq_ignore_ascii_case(header::CONTENT_TYPE.as_str()))
        {
            return Err(bad(format!(
                "Invalid batch payload format: request {id} has a body but no Content-Type header."
            )));
        }
        items.push(Item {
            id,
            url: format!("/v1.0/{relative}"),
            method,
            headers,
            body,
        });
    }
    Ok(items)
}

/// `POST /v1.0/$batch`.
pub async fn batch(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, GraphError> {
    let items = items(&body)?;
    let mut responses = Vec::with_capacity(items.len());
    for item in items {
        let mut request = Request::builder()
            .method(item.method.as_str())
            .uri(&item.url);
        for name in [header::AUTHORIZATION, header::HOST] {
            if let Some(value) = headers.get(&name) {
                request = request.header(name, value);
            }
        }
        for (name, value) in &item.headers {
            if let Some(value) = value.as_str() {
                request = request.header(name.as_str(), value);
            }
        }
        let body = item
            .body
            .as_ref()
            .map_or_else(Vec::new, |b| b.to_string().into_bytes());
        let request = request
            .body(Body::from(body))
            .map_err(|e| bad(format!("request {}: {e}", item.id)))?;
        let response = match super::app(state.clone()).oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let status = response.status().as_u16();
        let mut out_headers = Map::new();
        for (name, value) in response.headers() {
            if let Ok(value) = value.to_str() {
                out_headers.insert(name.as_str().to_owned(), Value::from(value));
            }
        }
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap_or_default();
        let mut out = json!({ "id": item.id, "status": status, "headers": out_headers });
        if !bytes.is_empty() {
            out["body"] = serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::from(String::from_utf8_lossy(&bytes).into_owned()));
        }
        responses.push(out);
    }
    Ok(Json(json!({ "responses": responses })))
}
