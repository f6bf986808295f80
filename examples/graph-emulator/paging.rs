//! paging: server-side pages of a collection, the absolute `@odata.nextLink` with an opaque
//! `$skiptoken`, `@odata.context`, and `$select` projection.
//!
//! Links are absolute and built from the request's `Host`, so a client follows them to the same
//! emulator it called. A page holds the seed's `page_size` items, or `$top` up to its
//! `max_page_size` (Graph: 100 by default, `$top` up to 999, and at most 100 when the listing
//! has `$expand`); the last page has no `@odata.nextLink`. The skiptoken is an offset in disguise: clients must treat it as opaque,
//! and a token the emulator did not make is a `400`. Pure apart from reading headers.

use axum::http::{HeaderMap, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value};

use super::errors::GraphError;
use super::query::Query;

/// What a query parameter keeps unescaped in a next link: RFC 3986 unreserved characters, and
/// `$` so links read like Graph's (`$skiptoken=`).
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'$');

/// `http://{Host}`: the emulator as the client addressed it.
pub fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("localhost");
    format!("http://{host}")
}

fn encode_skiptoken(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("emulator-skip:{offset}"))
}

fn decode_skiptoken(token: &str) -> Result<usize, GraphError> {
    URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix("emulator-skip:")?.parse().ok())
        .ok_or_else(|| {
            GraphError::bad_request(
                "BadRequest",
                "Invalid $skiptoken: follow @odata.nextLink as given.",
            )
        })
}

/// How many items a page holds: `default` without `$top`, `$top` up to `max` with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Paging {
    pub default: usize,
    pub max: usize,
}

impl Paging {
    /// Cut to at most `limit` a page (Graph pages a listing with `$expand` by at most 100).
    pub fn at_most(self, limit: usize) -> Paging {
        Paging {
            default: self.default.min(limit),
            max: self.max.min(limit),
        }
    }

    fn size(self, top: Option<usize>) -> usize {
        top.map_or(self.default, |top| top.min(self.max)).max(1)
    }
}

/// One page of `items` for `query`, as Graph's collection response. `path` is the request's
/// path, `context` the `$metadata#…` fragment.
pub fn collection(
    base: &str,
    path: &str,
    context: &str,
    query: &Query,
    paging: Paging,
    items: Vec<Value>,
) -> Result<Value, GraphError> {
    let offset = match query.skiptoken.as_deref() {
        Some(token) => decode_skiptoken(token)?,
        None => 0,
    };
    let size = paging.size(query.top);
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(offset).take(size).collect();
    let next = offset.saturating_add(size);

    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        Value::from(format!("{base}/v1.0/$metadata#{context}")),
    );
    if next < total {
        let mut link = format!("{base}{path}?");
        for (key, value) in &query.pairs {
            link.push_str(&utf8_percent_encode(key, QUERY_VALUE).to_string());
            link.push('=');
            link.push_str(&utf8_percent_encode(value, QUERY_VALUE).to_string());
            link.push('&');
        }
        link.push_str("$skiptoken=");
        link.push_str(&encode_skiptoken(next));
        body.insert("@odata.nextLink".into(), Value::from(link));
    }
    body.insert("value".into(), Value::Array(page));
    Ok(Value::Object(body))
}

/// `$select`: the named properties of `object` (matched case-insensitively against `known`, the
/// type's property names, and the object's own keys) plus `id`. A name the type lacks is a
/// `400`, as in Graph; a known property the object lacks comes back as `null`.
pub fn select(
    object: &Map<String, Value>,
    names: &[String],
    known: &[&str],
    type_name: &str,
) -> Result<Map<String, Value>, GraphError> {
    let mut out = Map::new();
    if let Some(id) = object.get("id") {
        out.insert("id".into(), id.clone());
    }
    for name in names {
        let canonical = object
            .keys()
            .map(String::as_str)
            .chain(known.iter().copied())
            .find(|k| k.eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                GraphError::bad_request(
                    "BadRequest",
                    format!("Could not find a property named '{name}' on type '{type_name}'."),
                )
            })?
            .to_owned();
        let value = object.get(&canonical).cloned().unwrap_or(Value::Null);
        out.insert(canonical, value);
    }
    Ok(out)
}

/// The `$metadata` fragment for a selection: `servicePrincipals(id,appRoles)/$entity`.
pub fn selected_context(entity_set: &str, select: Option<&[String]>, suffix: &str) -> String {
    match select {
        Some(names) => format!("{entity_set}({}){suffix}", names.join(",")),
        None => format!("{entity_set}{suffix}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const THREE: Paging = Paging { default: 3, max: 3 };

    fn items(n: usize) -> Vec<Value> {
        (0..n).map(|i| json!({ "id": i })).collect()
    }

    #[test]
    fn pages_until_the_last() {
        let mut query = super::super::query::parse(
            Some("$filter=displayName eq 'a b'"),
            &["$filter", "$skiptoken"],
        )
        .unwrap();
        let mut seen = Vec::new();
        for _ in 0..10 {
            let page = collection(
                "http://h",
                "/v1.0/groups",
                "groups",
                &query,
                THREE,
                items(7),
            )
            .unwrap();
            seen.extend(page["value"].as_array().unwrap().iter().cloned());
            let Some(next) = page.get("@odata.nextLink").and_then(Value::as_str) else {
                break;
            };
            assert!(
                next.starts_with(
                    "http://h/v1.0/groups?$filter=displayName%20eq%20%27a%20b%27&$skiptoken="
                ),
                "{next}"
            );
            let raw = next.split_once('?').unwrap().1;
            query = super::super::query::parse(Some(raw), &["$filter", "$skiptoken"]).unwrap();
        }
        assert_eq!(seen, items(7));
    }

    #[test]
    fn foreign_skiptokens_are_refused() {
        let query = Query {
            skiptoken: Some("bm9wZQ".into()),
            ..Query::default()
        };
        assert!(collection("http://h", "/p", "c", &query, THREE, items(7)).is_err());
    }

    #[test]
    fn select_keeps_id_and_canonical_names() {
        let object = json!({"id": "x", "appRoles": [], "displayName": "d"});
        let out = select(
            object.as_object().unwrap(),
            &["approles".into(), "tags".into()],
            &["tags"],
            "t",
        )
        .unwrap();
        assert_eq!(
            Value::Object(out),
            json!({"id": "x", "appRoles": [], "tags": null})
        );
        assert!(select(object.as_object().unwrap(), &["nope".into()], &[], "t").is_err());
    }
}
