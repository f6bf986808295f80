//! graph_host: the project's Graph emulator (`examples/graph-emulator/`), served for the
//! benchmark behind one more layer that waits a fixed latency before each Graph or token request
//! and counts them by method and first path segment (`GET groups`, `POST $batch`, …), with the
//! wall-clock span from the first write to the last.
//!
//! `GET /_bench/requests` returns the counts, `POST /_bench/requests/reset` clears them; the
//! emulator's own `/_emulator/*` control endpoints pass through undelayed and uncounted.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::emulator;

#[derive(Default)]
struct Counts {
    by_kind: BTreeMap<String, u64>,
    first_write_ms: Option<u128>,
    last_write_ms: Option<u128>,
}

#[derive(Clone)]
struct Host {
    latency: Duration,
    counts: Arc<Mutex<Counts>>,
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

/// Serves the emulator seeded with `seed` on `listener`, each request delayed by `latency`.
pub async fn serve(
    seed: emulator::Seed,
    latency: Duration,
    listener: TcpListener,
) -> std::io::Result<()> {
    let host = Host {
        latency,
        counts: Arc::new(Mutex::new(Counts::default())),
    };
    let graph = emulator::app(emulator::SharedState::new(seed)).layer(
        middleware::from_fn_with_state(host.clone(), count_and_delay),
    );
    let control = Router::new()
        .route("/_bench/requests", get(requests))
        .route("/_bench/requests/reset", post(reset))
        .with_state(host);
    axum::serve(listener, control.merge(graph)).await
}

async fn count_and_delay(State(host): State<Host>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    if path.starts_with("/_emulator/") {
        return next.run(request).await;
    }
    let method = request.method().clone();
    let kind = match path.strip_prefix("/v1.0/") {
        Some(rest) => {
            let first = rest.split('/').next().unwrap_or_default();
            format!("{method} {first}")
        }
        None if path.ends_with("/oauth2/v2.0/token") => "POST token".to_owned(),
        None => format!("{method} other"),
    };
    let write = path.starts_with("/v1.0/") && method != Method::GET;
    {
        let mut counts = host.counts.lock().unwrap_or_else(|e| e.into_inner());
        *counts.by_kind.entry(kind).or_default() += 1;
        if write {
            counts.first_write_ms.get_or_insert_with(now_ms);
        }
    }
    tokio::time::sleep(host.latency).await;
    let response = next.run(request).await;
    if write {
        host.counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .last_write_ms = Some(now_ms());
    }
    response
}

async fn requests(State(host): State<Host>) -> axum::Json<Value> {
    let counts = host.counts.lock().unwrap_or_else(|e| e.into_inner());
    let span = match (counts.first_write_ms, counts.last_write_ms) {
        (Some(first), Some(last)) => Value::from((last.saturating_sub(first)) as u64),
        _ => Value::Null,
    };
    axum::Json(json!({ "requests": counts.by_kind, "write_span_ms": span }))
}

async fn reset(State(host): State<Host>) -> Response {
    *host.counts.lock().unwrap_or_else(|e| e.into_inner()) = Counts::default();
    StatusCode::NO_CONTENT.into_response()
}
