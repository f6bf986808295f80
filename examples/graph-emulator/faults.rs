//! faults: fault injection rules — which requests fail or slow down, and how often.
//!
//! A rule, as JSON (in the seed's `faults`, or `POST /_emulator/faults`):
//! `{"method": "GET"?, "path_regex": "^/v1.0/groups"?, "after": 0?, "times": 2 | "forever",
//!   "action": {"status": 429, "retry_after_secs": 1} | {"status": 503} | {"delay_ms": 250}
//!   | {"answer_after_ms": 3000}}`.
//! `method` and `path_regex` (searched in the request path, without the query) narrow the rule;
//! `after` lets that many matching requests through first; `times` (default 1) is how many
//! requests it then hits. Rules apply to Graph (`/v1.0/...`) and token requests only, and the
//! first rule that matches and still has hits left decides; a delay then lets the request
//! proceed, and `answer_after_ms` carries the request out at once but holds the answer back (a
//! slow answer to a request Graph did process: a client that times out cannot know it did).
//! Parsing refuses what it does not understand, naming the field.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use regex::{Regex, RegexBuilder};
use serde_json::{Map, Value, json};

/// Longest delay a rule may ask for.
pub const MAX_DELAY_MS: u64 = 60_000;

/// What a matching rule does to the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultAction {
    /// Answer with this status (Graph- or token-style error body), and `Retry-After` if set.
    Fail {
        status: StatusCode,
        retry_after_secs: Option<u64>,
    },
    /// Wait, then handle the request normally.
    Delay(Duration),
    /// Handle the request normally, then wait before answering.
    DelayAnswer(Duration),
}

/// One compiled rule with its counters.
#[derive(Clone, Debug)]
pub struct FaultRule {
    method: Option<Method>,
    path: Option<Regex>,
    /// Matching requests still to let through before the rule hits.
    after: u64,
    /// Hits left; `None` is forever.
    remaining: Option<u64>,
    action: FaultAction,
    /// The rule as given, for the state endpoint.
    source: Value,
}

impl FaultRule {
    /// Parses one rule from its JSON form.
    pub fn from_json(value: &Value) -> Result<FaultRule, String> {
        let Some(obj) = value.as_object() else {
            return Err("a fault rule is a JSON object".into());
        };
        if let Some(k) = obj
            .keys()
            .find(|k| !["method", "path_regex", "after", "times", "action"].contains(&k.as_str()))
        {
            return Err(format!(
                "unknown field '{k}' in a fault rule (expected method, path_regex, after, times, action)"
            ));
        }
        let method = match obj.get("method") {
            None | Some(Value::Null) => None,
            Some(Value::String(m)) => Some(
                Method::from_bytes(m.to_ascii_uppercase().as_bytes())
                    .map_err(|_| format!("'method': {m:?} is not an HTTP method"))?,
            ),
            Some(_) => return Err("'method' must be a string".into()),
        };
        let path = match obj.get("path_regex") {
            None | Some(Value::Null) => None,
            Some(Value::String(re)) => Some(
                RegexBuilder::new(re)
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|e| format!("'path_regex': {e}"))?,
            ),
            Some(_) => return Err("'path_regex' must be a string".into()),
        };
        let after = match obj.get("after") {
            None => 0,
            Some(v) => v
                .as_u64()
                .ok_or("'after' must be a whole number of requests")?,
        };
        let remaining = match obj.get("times") {
            None => Some(1),
            Some(Value::String(s)) if s == "forever" => None,
            Some(v) => match v.as_u64() {
                Some(n) if n >= 1 => Some(n),
                _ => return Err("'times' must be a number ≥ 1 or \"forever\"".into()),
            },
        };
        let action = parse_action(obj.get("action"))?;
        Ok(FaultRule {
            method,
            path,
            after,
            remaining,
            action,
            source: value.clone(),
        })
    }

    fn matches(&self, method: &Method, path: &str) -> bool {
        self.method.as_ref().is_none_or(|m| m == method)
            && self.path.as_ref().is_none_or(|re| re.is_match(path))
    }

    /// The rule as given, with its counters now.
    pub fn to_json(&self) -> Value {
        let mut v = self.source.clone();
        if let Some(obj) = v.as_object_mut() {
            obj.insert("after_left".into(), json!(self.after));
            obj.insert(
                "times_left".into(),
                self.remaining.map_or(json!("forever"), |n| json!(n)),
            );
        }
        v
    }
}

fn parse_action(action: Option<&Value>) -> Result<FaultAction, String> {
    let Some(Value::Object(a)) = action else {
        return Err(
            "'action' is required: {\"status\": 429, \"retry_after_secs\": 1}, {\"status\": 503}, {\"delay_ms\": 100} or {\"answer_after_ms\": 100}".into(),
        );
    };
    let only = |allowed: &[&str], a: &Map<String, Value>| {
        a.keys()
            .find(|k| !allowed.contains(&k.as_str()))
            .map_or(Ok(()), |k| Err(format!("unknown field '{k}' in 'action'")))
    };
    for (field, action) in [
        (
            "delay_ms",
            FaultAction::Delay as fn(Duration) -> FaultAction,
        ),
        ("answer_after_ms", FaultAction::DelayAnswer),
    ] {
        if let Some(delay) = a.get(field) {
            only(&[field], a)?;
            let ms = delay
                .as_u64()
                .filter(|ms| *ms <= MAX_DELAY_MS)
                .ok_or_else(|| format!("'{field}' must be a number from 0 to {MAX_DELAY_MS}"))?;
            return Ok(action(Duration::from_millis(ms)));
        }
    }
    let Some(status) = a.get("status") else {
        return Err("'action' needs 'status', 'delay_ms' or 'answer_after_ms'".into());
    };
    only(&["status", "retry_after_secs"], a)?;
    let status = status
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .filter(|s| s.is_client_error() || s.is_server_error())
        .ok_or("'status' must be an HTTP error status from 400 to 599")?;
    let retry_after_secs = match a.get("retry_after_secs") {
        None => None,
        Some(v) => Some(
            v.as_u64()
                .ok_or("'retry_after_secs' must be a whole number")?,
        ),
    };
    Ok(FaultAction::Fail {
        status,
        retry_after_secs,
    })
}

/// Parses a list of rules: a JSON array, or a single rule object.
pub fn rules_from_json(value: &Value) -> Result<Vec<FaultRule>, String> {
    match value {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| FaultRule::from_json(v).map_err(|e| format!("faults[{i}]: {e}")))
            .collect(),
        other => FaultRule::from_json(other).map(|r| vec![r]),
    }
}

/// The action for this request, if a rule hits it; counts the hit.
pub fn next_action(rules: &mut [FaultRule], method: &Method, path: &str) -> Option<FaultAction> {
    for rule in rules.iter_mut() {
        if rule.remaining == Some(0) || !rule.matches(method, path) {
            continue;
        }
        if rule.after > 0 {
            rule.after -= 1;
            return None;
        }
        if let Some(n) = rule.remaining.as_mut() {
            *n -= 1;
        }
        return Some(rule.action.clone());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(v: Value) -> Vec<FaultRule> {
        rules_from_json(&v).unwrap()
    }

    #[test]
    fn counts_after_and_times() {
        let mut r = rules(
            json!([{"method": "get", "path_regex": "^/v1.0/groups$", "after": 1,
            "times": 2, "action": {"status": 429, "retry_after_secs": 3}}]),
        );
        let hit = FaultAction::Fail {
            status: StatusCode::TOO_MANY_REQUESTS,
            retry_after_secs: Some(3),
        };
        let get = Method::GET;
        assert_eq!(next_action(&mut r, &Method::POST, "/v1.0/groups"), None);
        assert_eq!(next_action(&mut r, &get, "/v1.0/groups/x"), None);
        assert_eq!(next_action(&mut r, &get, "/v1.0/groups"), None, "after: 1");
        assert_eq!(next_action(&mut r, &get, "/v1.0/groups"), Some(hit.clone()));
        assert_eq!(next_action(&mut r, &get, "/v1.0/groups"), Some(hit));
        assert_eq!(next_action(&mut r, &get, "/v1.0/groups"), None, "times: 2");
    }

    #[test]
    fn first_live_rule_wins_and_forever_lasts() {
        let mut r = rules(json!([
            {"action": {"delay_ms": 5}},
            {"action": {"answer_after_ms": 7}},
            {"times": "forever", "action": {"status": 503}}
        ]));
        let get = Method::GET;
        assert_eq!(
            next_action(&mut r, &get, "/x"),
            Some(FaultAction::Delay(Duration::from_millis(5)))
        );
        assert_eq!(
            next_action(&mut r, &get, "/x"),
            Some(FaultAction::DelayAnswer(Duration::from_millis(7)))
        );
        for _ in 0..5 {
            assert!(matches!(
                next_action(&mut r, &get, "/x"),
                Some(FaultAction::Fail { status, .. }) if status == StatusCode::SERVICE_UNAVAILABLE
            ));
        }
    }

    #[test]
    fn bad_rules_name_the_field() {
        for (rule, field) in [
            (json!({"action": {"status": 200}}), "status"),
            (json!({"action": {"status": 429, "retry": 1}}), "retry"),
            (json!({"action": {"delay_ms": 999_999}}), "delay_ms"),
            (
                json!({"action": {"answer_after_ms": -1}}),
                "answer_after_ms",
            ),
            (json!({"times": 0, "action": {"status": 503}}), "times"),
            (
                json!({"path_regex": "(", "action": {"status": 503}}),
                "path_regex",
            ),
            (
                json!({"method": "NOT A METHOD", "action": {"status": 503}}),
                "method",
            ),
            (json!({"action": {}}), "status"),
            (json!({"status": 503}), "status"),
        ] {
            let err = rules_from_json(&rule).unwrap_err();
            assert!(err.contains(field), "{rule}: {err}");
        }
    }
}
