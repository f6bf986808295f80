//! proxy: a fault-injecting HTTP proxy in front of moto. Moto grants every call, so access
//! denied, throttling and timeouts are injected here: a rule matches an AWS action (and text in
//! the request body, such as an account id) and answers with an error or a delay instead.
//! Every request is recorded so tests can count calls. It binds, serves and forwards with the
//! fake outbound federation's helpers (`bind_loopback`, `serve`, `forward`), which sits in front
//! of moto the same way.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::Response;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::outbound_federation::{bind_loopback, forward, serve};

/// What a matching rule does to a request.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer with this status and body; the request never reaches moto.
    Respond { status: u16, body: String },
    /// Wait, then forward.
    Delay(Duration),
    /// Forward, then pass moto's response body through this function.
    Rewrite(fn(&str) -> String),
}

/// Applies `fault` to requests for `action` whose body contains `body_contains`, `times` times
/// (forever when `None`).
#[derive(Clone, Debug)]
pub struct Rule {
    pub action: &'static str,
    pub body_contains: Option<String>,
    pub times: Option<usize>,
    pub fault: Fault,
}

/// One request the proxy saw.
#[derive(Clone, Debug)]
pub struct Seen {
    pub action: String,
    pub body: String,
}

struct State {
    upstream: String,
    rules: Mutex<Vec<Rule>>,
    seen: Mutex<Vec<Seen>>,
    client: Client<HttpConnector, Full<Bytes>>,
}

/// A running proxy on 127.0.0.1; stops when dropped.
pub struct Proxy {
    pub url: String,
    state: Arc<State>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

/// The XML error body of a Query-protocol service (STS, IAM).
pub fn query_error(code: &str, message: &str) -> String {
    format!(
        "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>fault-injected</RequestId></ErrorResponse>"
    )
}

impl Proxy {
    pub fn start(upstream: &str) -> Proxy {
        let state = Arc::new(State {
            upstream: upstream.trim_end_matches('/').to_owned(),
            rules: Mutex::new(Vec::new()),
            seen: Mutex::new(Vec::new()),
            client: Client::builder(TokioExecutor::new()).build_http(),
        });
        let (listener, url) = bind_loopback();
        let stop = serve(listener, Arc::clone(&state), handle);
        Proxy {
            url,
            state,
            stop: Some(stop),
        }
    }

    pub fn add(&self, rule: Rule) {
        self.state.rules.lock().unwrap().push(rule);
    }

    /// The requests seen for `action`, in order.
    pub fn seen(&self, action: &str) -> Vec<Seen> {
        self.state
            .seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.action == action)
            .cloned()
            .collect()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The action of a request: `X-Amz-Target`'s operation (JSON protocols), else the form `Action`.
fn action_of(target: Option<&str>, body: &str) -> String {
    if let Some(target) = target {
        return target.rsplit('.').next().unwrap_or(target).to_owned();
    }
    body.split('&')
        .find_map(|pair| pair.strip_prefix("Action="))
        .unwrap_or("")
        .to_owned()
}

async fn handle(
    state: Arc<State>,
    parts: hyper::http::request::Parts,
    body: Bytes,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let text = String::from_utf8_lossy(&body).into_owned();
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok());
    let action = action_of(target, &text);
    state.seen.lock().unwrap().push(Seen {
        action: action.clone(),
        body: text.clone(),
    });

    let fault = {
        let mut rules = state.rules.lock().unwrap();
        rules
            .iter_mut()
            .find(|r| {
                r.action == action
                    && r.body_contains
                        .as_deref()
                        .is_none_or(|needle| text.contains(needle))
                    && r.times != Some(0)
            })
            .map(|rule| {
                if let Some(times) = rule.times.as_mut() {
                    *times -= 1;
                }
                rule.fault.clone()
            })
    };
    let mut rewrite = None;
    match fault {
        Some(Fault::Respond { status, body }) => {
            let mut response = Response::new(Full::new(Bytes::from(body.clone())));
            *response.status_mut() =
                hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::BAD_REQUEST);
            response
                .headers_mut()
                .insert("content-type", "text/xml".parse().unwrap());
            return Ok(response);
        }
        Some(Fault::Delay(delay)) => tokio::time::sleep(delay).await,
        Some(Fault::Rewrite(f)) => rewrite = Some(f),
        None => {}
    }

    let (mut parts, mut body) = match forward(&state.client, &state.upstream, parts, body).await {
        Ok(answer) => answer,
        Err(e) => {
            let mut response = Response::new(Full::new(Bytes::from(format!(
                "proxy: upstream failed: {e}"
            ))));
            *response.status_mut() = hyper::StatusCode::BAD_GATEWAY;
            return Ok(response);
        }
    };
    if let Some(rewrite) = rewrite {
        body = Bytes::from(rewrite(&String::from_utf8_lossy(&body)));
        parts.headers.remove("content-length");
    }
    Ok(Response::from_parts(parts, Full::new(body)))
}
