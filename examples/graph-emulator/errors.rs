//! errors: the two error shapes the emulator answers with, and nothing else.
//!
//! - Graph (`/v1.0/...`): `{"error": {"code", "message", "innerError": {"request-id", "date",
//!   "client-request-id"}}}` via [`GraphError`].
//! - The token endpoint: Entra's OAuth error, `{"error", "error_description": "AADSTS…: …",
//!   "error_codes", "timestamp", "trace_id", "correlation_id", "error_uri"}` via [`AadError`].
//!
//! Handlers return these as values; the request pipeline (`emulator.rs`) renders them, because
//! only it knows the request ids the bodies carry. Messages never contain a secret or a token.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// A Graph error. `code` is Graph's `error.code` (`Request_BadRequest`, `DuplicateValue`, …).
#[derive(Clone, Debug)]
pub struct GraphError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds for a `Retry-After` header (throttling faults only).
    pub retry_after_secs: Option<u64>,
}

impl GraphError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        GraphError {
            status,
            code,
            message: message.into(),
            retry_after_secs: None,
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        GraphError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// Graph's answer for an object id that names nothing.
    pub fn resource_not_found(id: &str) -> Self {
        GraphError::new(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            format!(
                "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
            ),
        )
    }

    /// A body that is not the JSON object the endpoint wants.
    pub fn unreadable_body() -> Self {
        GraphError::bad_request(
            "BadRequest",
            "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
        )
    }

    /// The `error.code` Graph uses for a status the emulator did not produce itself (an injected
    /// fault, or axum refusing a body).
    pub fn for_status(status: StatusCode) -> Self {
        let code = match status.as_u16() {
            400 => "BadRequest",
            401 => "InvalidAuthenticationToken",
            403 => "Authorization_RequestDenied",
            404 => "Request_ResourceNotFound",
            413 => "RequestBodyTooLarge",
            415 => "UnsupportedMediaType",
            429 => "TooManyRequests",
            500 => "generalException",
            502 => "badGateway",
            503 => "serviceNotAvailable",
            504 => "gatewayTimeout",
            _ => "UnknownError",
        };
        let message = status.canonical_reason().unwrap_or("Error").to_owned();
        GraphError::new(status, code, message)
    }
}

/// What a [`GraphError`] leaves in the response for the pipeline to render.
#[derive(Clone, Debug)]
pub struct GraphErrorPayload {
    pub code: &'static str,
    pub message: String,
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        if let Some(secs) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response.extensions_mut().insert(GraphErrorPayload {
            code: self.code,
            message: self.message,
        });
        response
    }
}

/// The Graph error body, with the ids of the request it answers.
pub fn graph_error_body(
    payload: &GraphErrorPayload,
    request_id: &str,
    client_request_id: &str,
    date: &str,
) -> Value {
    json!({
        "error": {
            "code": payload.code,
            "message": payload.message,
            "innerError": {
                "date": date,
                "request-id": request_id,
                "client-request-id": client_request_id,
            }
        }
    })
}

/// An error of the token endpoint, shaped like Entra's.
#[derive(Clone, Debug)]
pub struct AadError {
    pub status: StatusCode,
    /// The OAuth `error` (`invalid_client`, `unauthorized_client`, `invalid_request`, …).
    pub error: &'static str,
    /// The AADSTS number, also the first words of the description.
    pub aadsts: u32,
    pub description: String,
    pub retry_after_secs: Option<u64>,
}

impl AadError {
    pub fn new(
        status: StatusCode,
        error: &'static str,
        aadsts: u32,
        description: impl Into<String>,
    ) -> Self {
        AadError {
            status,
            error,
            aadsts,
            description: description.into(),
            retry_after_secs: None,
        }
    }

    /// `400 invalid_request`, AADSTS900144: a required form parameter is missing.
    pub fn missing_parameter(name: &str) -> Self {
        AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            format!("The request body must contain the following parameter: '{name}'."),
        )
    }

    /// `401 invalid_client`, AADSTS700027: the client assertion cannot be trusted.
    pub fn bad_assertion(why: impl Into<String>) -> Self {
        AadError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            700027,
            format!(
                "Client assertion failed signature validation. {}",
                why.into()
            ),
        )
    }

    /// `401 invalid_client`, AADSTS700024: the assertion's time claims are out of range.
    pub fn assertion_time(why: impl Into<String>) -> Self {
        AadError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            700024,
            format!(
                "Client assertion is not within its valid time range. {}",
                why.into()
            ),
        )
    }

    /// An injected fault on the token endpoint: `temporarily_unavailable`, AADSTS90033.
    pub fn fault(status: StatusCode, retry_after_secs: Option<u64>) -> Self {
        AadError {
            retry_after_secs,
            ..AadError::new(
                status,
                "temporarily_unavailable",
                90033,
                "A transient error has occurred. Please try again.",
            )
        }
    }
}

/// What an [`AadError`] leaves in the response for the pipeline to render.
#[derive(Clone, Debug)]
pub struct AadErrorPayload(pub AadError);

impl IntoResponse for AadError {
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        if let Some(secs) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response.extensions_mut().insert(AadErrorPayload(self));
        response
    }
}

/// The token endpoint's error body. Entra uses the request id as `trace_id` and the caller's
/// `client-request-id` as `correlation_id`.
pub fn aad_error_body(
    error: &AadError,
    request_id: &str,
    client_request_id: &str,
    timestamp: &str,
) -> Value {
    json!({
        "error": error.error,
        "error_description": format!(
            "AADSTS{}: {} Trace ID: {request_id} Correlation ID: {client_request_id} Timestamp: {timestamp}",
            error.aadsts, error.description
        ),
        "error_codes": [error.aadsts],
        "timestamp": timestamp,
        "trace_id": request_id,
        "correlation_id": client_request_id,
        "error_uri": format!("https://login.microsoftonline.com/error?code={}", error.aadsts),
    })
}
