//! members: users and group membership, the Graph calls `fedsync access` makes.
//!
//! - `GET /v1.0/users` (`$filter` on `displayName` or `userPrincipalName`, `eq` or `startswith`;
//!   `$select`, `$top`), `GET /v1.0/users/{id | userPrincipalName}`
//! - `GET /v1.0/groups/{id}`
//! - `GET /v1.0/groups/{id}/members` and `GET /v1.0/groups/{id}/transitiveMembers`: users and
//!   groups, each with its `@odata.type`, paged like every collection (transitive members are
//!   each listed once, even with membership cycles)
//! - `POST /v1.0/groups/{id}/members/$ref` with `{"@odata.id": ".../directoryObjects/{id}"}`:
//!   `204`; `400` when the object is already a member, as Graph answers
//! - `DELETE /v1.0/groups/{id}/members/{memberId}/$ref`: `204`; `404` when it is not a member
//!
//! Like `graph.rs`, handlers check everything before they change `state`, so a refused request
//! changes nothing. Only users and groups can be members here.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Map, Value};

use super::errors::GraphError;
use super::graph::{entity_page, group_with_owners, json_object};
use super::paging::{base_url, collection, select, selected_context};
use super::query::{self, Filter, parse_filter};
use super::state::{GROUP_PROPERTIES, MemberKind, SharedState, State as World, USER_PROPERTIES};

/// Graph's message when an added member is already one.
pub const ALREADY_A_MEMBER: &str = "One or more added object references already exist for the following modified properties: 'members'.";

/// Which user property a `$filter` is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum UserProperty {
    DisplayName,
    UserPrincipalName,
}

/// `$filter` for users: the two forms of `query.rs`, on `displayName` or `userPrincipalName`.
fn user_filter(text: &str) -> Result<(UserProperty, Filter), GraphError> {
    const UPN: &str = "userprincipalname";
    let lower = text.to_ascii_lowercase();
    let parsed = match lower.find(UPN) {
        // Outside a string literal: it names the property.
        Some(pos) if !text[..pos].contains('\'') => {
            let rewritten = format!("{}displayName{}", &text[..pos], &text[pos + UPN.len()..]);
            parse_filter(&rewritten).map(|f| (UserProperty::UserPrincipalName, f))
        }
        _ => parse_filter(text).map(|f| (UserProperty::DisplayName, f)),
    };
    parsed.map_err(|e| {
        GraphError::bad_request(
            "BadRequest",
            format!(
                "Invalid filter clause: {e} (users filter on displayName or userPrincipalName; in $filter={text})"
            ),
        )
    })
}

/// Splits the first `$filter` off a raw query, since `query::parse` knows group filters only.
fn take_filter(raw: Option<&str>) -> (Option<String>, String) {
    let mut filter = None;
    let mut rest = form_urlencoded::Serializer::new(String::new());
    for (key, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        if key == "$filter" && filter.is_none() {
            filter = Some(value.into_owned());
        } else {
            rest.append_pair(&key, &value);
        }
    }
    (filter, rest.finish())
}

/// `GET /v1.0/users`.
pub async fn list_users(
    State(state): State<SharedState>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Json<Value>, GraphError> {
    let (filter_text, rest) = take_filter(raw.as_deref());
    let mut query = query::parse(Some(&rest), &["$select", "$top", "$skiptoken"])?;
    let filter = filter_text.as_deref().map(user_filter).transpose()?;
    if let Some(text) = filter_text {
        query.pairs.insert(0, ("$filter".into(), text));
    }
    let world = state.lock();
    let users: Vec<&Map<String, Value>> = world
        .users
        .iter()
        .filter(|u| match &filter {
            None => true,
            Some((UserProperty::DisplayName, f)) => f.matches(u.display_name()),
            Some((UserProperty::UserPrincipalName, f)) => f.matches(u.upn()),
        })
        .map(|u| &u.properties)
        .collect();
    entity_page(
        &headers,
        &query,
        world.seed.paging,
        "users",
        &USER_PROPERTIES,
        "microsoft.graph.user",
        users,
    )
}

/// One entity with its `@odata.context`.
fn entity(headers: &HeaderMap, context: &str, mut body: Map<String, Value>) -> Json<Value> {
    let mut out = Map::new();
    out.insert(
        "@odata.context".into(),
        Value::from(format!("{}/v1.0/$metadata#{context}", base_url(headers))),
    );
    out.append(&mut body);
    Json(Value::Object(out))
}

/// `GET /v1.0/users/{id | userPrincipalName}`.
pub async fn get_user(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Json<Value>, GraphError> {
    let query = query::parse(raw.as_deref(), &["$select"])?;
    let world = state.lock();
    let user = world
        .user(&id)
        .ok_or_else(|| GraphError::resource_not_found(&id))?;
    let body = match query.select.as_deref() {
        Some(names) => select(
            &user.properties,
            names,
            &USER_PROPERTIES,
            "microsoft.graph.user",
        )?,
        None => user.properties.clone(),
    };
    let context = selected_context("users", query.select.as_deref(), "/$entity");
    Ok(entity(&headers, &context, body))
}

/// `GET /v1.0/groups/{id}`.
pub async fn get_group(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Json<Value>, GraphError> {
    let query = query::parse(raw.as_deref(), &["$select", "$expand"])?;
    let world = state.lock();
    let group = world
        .group(&id)
        .ok_or_else(|| GraphError::resource_not_found(&id))?;
    if query.expand_owners.is_some() {
        let body = match group_with_owners(&world, group, &query)? {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        let context = selected_context("groups", query.select.as_deref(), "/$entity");
        return Ok(entity(&headers, &context, body));
    }
    let body = match query.select.as_deref() {
        Some(names) => select(
            &group.properties,
            names,
            &GROUP_PROPERTIES,
            "microsoft.graph.group",
        )?,
        None => group.properties.clone(),
    };
    let context = selected_context("groups", query.select.as_deref(), "/$entity");
    Ok(entity(&headers, &context, body))
}

/// A member as Graph lists it: `@odata.type` first, then its (selected) properties. With
/// `$select`, names of either type are accepted, as on a `directoryObject` collection.
fn member_json(
    world: &World,
    id: &str,
    names: Option<&[String]>,
) -> Result<Option<Value>, GraphError> {
    let known: Vec<&str> = USER_PROPERTIES
        .iter()
        .chain(GROUP_PROPERTIES.iter())
        .copied()
        .collect();
    let (kind, properties) = match world.member_kind(id) {
        Some(MemberKind::User) => match world.user(id) {
            Some(u) => (MemberKind::User, &u.properties),
            None => return Ok(None),
        },
        Some(MemberKind::Group) => match world.group(id) {
            Some(g) => (MemberKind::Group, &g.properties),
            None => return Ok(None),
        },
        None => return Ok(None),
    };
    let mut body = match names {
        Some(names) => select(properties, names, &known, "microsoft.graph.directoryObject")?,
        None => properties.clone(),
    };
    let mut out = Map::new();
    out.insert("@odata.type".into(), Value::from(kind.odata_type()));
    out.append(&mut body);
    Ok(Some(Value::Object(out)))
}

async fn list(
    state: SharedState,
    id: String,
    raw: Option<String>,
    headers: HeaderMap,
    transitive: bool,
) -> Result<Json<Value>, GraphError> {
    let query = query::parse(raw.as_deref(), &["$select", "$top", "$skiptoken"])?;
    let world = state.lock();
    let group = world
        .group(&id)
        .ok_or_else(|| GraphError::resource_not_found(&id))?;
    let ids = if transitive {
        world.transitive_members(group.id())
    } else {
        group.members.clone()
    };
    let mut items = Vec::with_capacity(ids.len());
    for member in &ids {
        if let Some(item) = member_json(&world, member, query.select.as_deref())? {
            items.push(item);
        }
    }
    let segment = if transitive {
        "transitiveMembers"
    } else {
        "members"
    };
    let page = collection(
        &base_url(&headers),
        &format!("/v1.0/groups/{id}/{segment}"),
        "directoryObjects",
        &query,
        world.seed.paging,
        items,
    )?;
    Ok(Json(page))
}

/// `GET /v1.0/groups/{id}/members`.
pub async fn list_members(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Json<Value>, GraphError> {
    list(state, id, raw, headers, false).await
}

/// `GET /v1.0/groups/{id}/transitiveMembers`.
pub async fn list_transitive_members(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Json<Value>, GraphError> {
    list(state, id, raw, headers, true).await
}

/// The object id at the end of an `@odata.id` such as
/// `https://graph.microsoft.com/v1.0/directoryObjects/{id}` (`users/` and `groups/` work too).
fn referenced_id(reference: &str) -> Result<String, GraphError> {
    let invalid = || {
        GraphError::bad_request(
            "Request_BadRequest",
            format!(
                "Invalid object identifier '{reference}': use https://graph.microsoft.com/v1.0/directoryObjects/{{id}}."
            ),
        )
    };
    let path = reference
        .strip_prefix("https://")
        .or_else(|| reference.strip_prefix("http://"))
        .and_then(|rest| rest.split_once('/'))
        .map(|(_, path)| path)
        .ok_or_else(invalid)?;
    let id = ["v1.0/directoryObjects/", "v1.0/users/", "v1.0/groups/"]
        .iter()
        .find_map(|prefix| path.strip_prefix(prefix))
        .ok_or_else(invalid)?;
    match uuid::Uuid::try_parse(id) {
        Ok(uuid) => Ok(uuid.hyphenated().to_string()),
        Err(_) => Err(invalid()),
    }
}

/// `POST /v1.0/groups/{id}/members/$ref`.
pub async fn add_member(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, GraphError> {
    query::parse(raw.as_deref(), &[])?;
    let body = json_object(&headers, &body)?;
    if let Some(other) = body.keys().find(|k| *k != "@odata.id") {
        return Err(GraphError::bad_request(
            "Request_BadRequest",
            format!("Property '{other}' is not expected here; send {{\"@odata.id\": \"…\"}}."),
        ));
    }
    let reference = body
        .get("@odata.id")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            GraphError::bad_request(
                "Request_BadRequest",
                "A value is required for property '@odata.id'.",
            )
        })?;
    let member = referenced_id(reference)?;
    let mut world = state.lock();
    let Some(index) = world
        .groups
        .iter()
        .position(|g| g.id().eq_ignore_ascii_case(&id))
    else {
        return Err(GraphError::resource_not_found(&id));
    };
    if world.member_kind(&member).is_none() {
        if world.is_owner_candidate(&member) {
            return Err(GraphError::bad_request(
                "Request_BadRequest",
                format!(
                    "The Graph emulator adds users and groups only; {member} is a service principal."
                ),
            ));
        }
        return Err(GraphError::resource_not_found(&member));
    }
    let group = &mut world.groups[index];
    if group.id().eq_ignore_ascii_case(&member) {
        return Err(GraphError::bad_request(
            "Request_BadRequest",
            "A group cannot be a member of itself.",
        ));
    }
    if group
        .members
        .iter()
        .any(|m| m.eq_ignore_ascii_case(&member))
    {
        return Err(GraphError::bad_request(
            "Request_BadRequest",
            ALREADY_A_MEMBER,
        ));
    }
    group.members.push(member);
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /v1.0/groups/{id}/members/{memberId}/$ref`.
pub async fn remove_member(
    State(state): State<SharedState>,
    Path((id, member)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<StatusCode, GraphError> {
    query::parse(raw.as_deref(), &[])?;
    let mut world = state.lock();
    let Some(group) = world
        .groups
        .iter_mut()
        .find(|g| g.id().eq_ignore_ascii_case(&id))
    else {
        return Err(GraphError::resource_not_found(&id));
    };
    let Some(index) = group
        .members
        .iter()
        .position(|m| m.eq_ignore_ascii_case(&member))
    else {
        return Err(GraphError::resource_not_found(&member));
    };
    group.members.remove(index);
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_filters_name_their_property() {
        assert_eq!(
            user_filter("startswith(userPrincipalName,'ali')").unwrap(),
            (
                UserProperty::UserPrincipalName,
                Filter::DisplayNameStartsWith("ali".into())
            )
        );
        assert_eq!(
            user_filter("displayName eq 'userPrincipalName'").unwrap(),
            (
                UserProperty::DisplayName,
                Filter::DisplayNameEq("userPrincipalName".into())
            )
        );
        assert!(user_filter("mail eq 'a@b'").is_err());
    }

    #[test]
    fn references_name_a_directory_object() {
        let id = "0c6f2b1e-0000-4000-8000-000000000a01";
        for ok in [
            format!("https://graph.microsoft.com/v1.0/directoryObjects/{id}"),
            format!("http://127.0.0.1:1/v1.0/users/{id}"),
        ] {
            assert_eq!(referenced_id(&ok).unwrap(), id);
        }
        for bad in [
            id.to_owned(),
            format!("https://graph.microsoft.com/v1.0/applications/{id}"),
            "https://graph.microsoft.com/v1.0/directoryObjects/nope".to_owned(),
        ] {
            assert!(referenced_id(&bad).is_err(), "{bad}");
        }
    }
}
