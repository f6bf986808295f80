//! control: the emulator's own endpoints under `/_emulator`, outside the Graph paths, for tests
//! and scripts. They need no token and are never faulted.
//!
//! - `GET /_emulator/state`: the whole directory, fault rules and write log as JSON.
//! - `POST /_emulator/reset`: back to the seed (tokens stay valid).
//! - `GET|POST|DELETE /_emulator/faults`: show, replace, clear the fault rules.
//! - `POST /_emulator/expire-tokens`: every issued token now answers `401` as expired.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::errors::GraphError;
use super::faults::{FaultRule, rules_from_json};
use super::state::SharedState;

pub async fn state(State(state): State<SharedState>) -> Json<Value> {
    Json(state.lock().snapshot())
}

pub async fn reset(State(state): State<SharedState>) -> StatusCode {
    state.lock().reset();
    StatusCode::NO_CONTENT
}

pub async fn get_faults(State(state): State<SharedState>) -> Json<Value> {
    let rules: Vec<Value> = state.lock().faults.iter().map(FaultRule::to_json).collect();
    Json(Value::Array(rules))
}

/// Replaces the fault rules with the body's (a JSON array of rules, or one rule).
pub async fn set_faults(
    State(state): State<SharedState>,
    body: Bytes,
) -> Result<Json<Value>, GraphError> {
    let value: Value = serde_json::from_slice(&body).map_err(|e| {
        GraphError::bad_request("BadRequest", format!("The fault rules are not JSON: {e}"))
    })?;
    let rules = rules_from_json(&value).map_err(|e| GraphError::bad_request("BadRequest", e))?;
    let mut world = state.lock();
    world.faults = rules;
    Ok(Json(json!({ "rules": world.faults.len() })))
}

pub async fn clear_faults(State(state): State<SharedState>) -> StatusCode {
    state.lock().faults.clear();
    StatusCode::NO_CONTENT
}

pub async fn expire_tokens(State(state): State<SharedState>) -> Json<Value> {
    let expired = state.lock().expire_tokens();
    Json(json!({ "expired": expired }))
}
