//! rules: the documented Graph rules the emulator enforces, as pure functions over JSON.
//!
//! - `appRoles` (PATCH on a service principal, and the seed): the 1200-entry cap, shared with
//!   the service principal's other collections ([`SHARED_CAP_COLLECTIONS`]), each role's
//!   shape, `value` syntax (through `fedsync::model::check_graph_value`), unique `id` and
//!   `value`, read-only `origin`, and "an enabled role is neither removed nor re-valued".
//! - Groups (POST /groups, and the seed): `displayName`, `mailEnabled:false`,
//!   `securityEnabled:true`, `mailNickname` syntax and uniqueness, `owners@odata.bind`.
//!
//! Every check returns a [`Violation`] (a Graph error code and a message naming the property and
//! index) instead of panicking, and nothing here touches state: callers store only what passed,
//! so a request is applied all or nothing. No I/O, no clock.

use std::collections::{HashMap, HashSet};

use fedsync::model::{GRAPH_MAX_VALUE_LEN, check_graph_value};
use serde_json::{Map, Value};
use uuid::Uuid;

/// Most entries the app manifest holds (DESIGN.md: `Directory_ResourceSizeExceeded` past it).
pub const MAX_MANIFEST_ENTRIES: usize = 1200;
/// The service principal's collections counted with `appRoles` against the cap. Microsoft's app
/// manifest reference ("Manifest limits"): "the total number of entries in all the collections
/// combined has been capped at 1200" — appRoles, keyCredentials, knownClientApplications,
/// identifierUris, redirectUris, requiredResourceAccess, oauth2PermissionScopes. On a service
/// principal: keyCredentials, oauth2PermissionScopes, and the counterparts of identifierUris
/// (servicePrincipalNames) and redirectUris (replyUrls).
pub const SHARED_CAP_COLLECTIONS: [&str; 4] = [
    "keyCredentials",
    "oauth2PermissionScopes",
    "replyUrls",
    "servicePrincipalNames",
];

/// The entries of `service_principal`'s [`SHARED_CAP_COLLECTIONS`].
pub fn entries_beside_app_roles(service_principal: &Map<String, Value>) -> usize {
    SHARED_CAP_COLLECTIONS
        .iter()
        .filter_map(|name| service_principal.get(*name)?.as_array())
        .map(Vec::len)
        .sum()
}

/// Longest group `displayName`.
pub const MAX_GROUP_DISPLAY_NAME: usize = 256;
/// Longest group `mailNickname`.
pub const MAX_MAIL_NICKNAME: usize = 64;
/// Longest group `description`.
pub const MAX_GROUP_DESCRIPTION: usize = 1024;
/// Most owners one `POST /groups` may bind.
pub const MAX_OWNERS_ON_CREATE: usize = 20;
/// Characters Graph refuses in a `mailNickname`, besides space and non-printable ASCII.
const FORBIDDEN_IN_NICKNAME: &str = "@()\\[]\";:.<>,";
/// The appRole properties Graph knows.
const APP_ROLE_PROPERTIES: [&str; 7] = [
    "allowedMemberTypes",
    "description",
    "displayName",
    "id",
    "isEnabled",
    "origin",
    "value",
];
/// `origin` the emulator gives a role created through the service principal.
pub const NEW_ROLE_ORIGIN: &str = "ServicePrincipal";

/// A broken rule: Graph's `error.code` and a message naming what broke. Always a `400`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub code: &'static str,
    pub message: String,
}

impl Violation {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Violation {
            code,
            message: message.into(),
        }
    }
    fn bad_request(message: impl Into<String>) -> Self {
        Violation::new("Request_BadRequest", message)
    }
}

/// What the checks learn about one role.
struct RoleKey {
    id: Uuid,
    value: Option<String>,
}

/// Checks a whole `appRoles` collection on its own: size, each role's shape and value, and
/// uniqueness. `extra_ok` says whether a property outside Graph's appRole type is acceptable
/// (one the seed's roles already carry).
fn check_collection(
    roles: &[Value],
    beside: usize,
    extra_ok: &dyn Fn(&str) -> bool,
) -> Result<Vec<RoleKey>, Violation> {
    if roles.len() + beside > MAX_MANIFEST_ENTRIES {
        return Err(Violation::new(
            "Directory_ResourceSizeExceeded",
            format!(
                "The size of the object has exceeded its limit: appRoles has {} entries and {} {beside} more, at most {MAX_MANIFEST_ENTRIES} in all are allowed. Please reduce the number of values and retry your request.",
                roles.len(),
                SHARED_CAP_COLLECTIONS.join(", "),
            ),
        ));
    }
    let keys = roles
        .iter()
        .enumerate()
        .map(|(index, role)| check_role(index, role, extra_ok))
        .collect::<Result<Vec<_>, _>>()?;

    let mut ids: HashMap<Uuid, usize> = HashMap::new();
    let mut values: HashMap<&str, usize> = HashMap::new();
    for (index, key) in keys.iter().enumerate() {
        if let Some(first) = ids.insert(key.id, index) {
            return Err(Violation::new(
                "DuplicateValue",
                format!(
                    "appRoles[{index}] repeats the id {} of appRoles[{first}]: app role ids must be unique.",
                    key.id
                ),
            ));
        }
        if let Some(value) = key.value.as_deref()
            && let Some(first) = values.insert(value, index)
        {
            return Err(Violation::new(
                "DuplicateValue",
                format!(
                    "appRoles[{index}] repeats the value '{value}' of appRoles[{first}]: app role values must be unique."
                ),
            ));
        }
    }
    Ok(keys)
}

/// Checks one role's shape and `value`.
fn check_role(
    index: usize,
    role: &Value,
    extra_ok: &dyn Fn(&str) -> bool,
) -> Result<RoleKey, Violation> {
    let Some(role) = role.as_object() else {
        return Err(Violation::bad_request(format!(
            "appRoles[{index}] is not an object."
        )));
    };
    if let Some(unknown) = role
        .keys()
        .find(|k| !APP_ROLE_PROPERTIES.contains(&k.as_str()) && !extra_ok(k))
    {
        return Err(Violation::bad_request(format!(
            "Property '{unknown}' does not exist on type 'microsoft.graph.appRole' (appRoles[{index}])."
        )));
    }
    let required = |name: &str| {
        role.get(name).ok_or_else(|| {
            Violation::bad_request(format!(
                "A value is required for property '{name}' of resource 'AppRole' (appRoles[{index}])."
            ))
        })
    };
    let invalid = |name: &str, why: &str| {
        Violation::bad_request(format!(
            "Invalid value specified for property '{name}' of resource 'AppRole' (appRoles[{index}]): {why}."
        ))
    };

    let id = required("id")?
        .as_str()
        .and_then(|s| Uuid::try_parse(s).ok())
        .ok_or_else(|| invalid("id", "expected a GUID string"))?;
    required("isEnabled")?
        .as_bool()
        .ok_or_else(|| invalid("isEnabled", "expected true or false"))?;
    let types = required("allowedMemberTypes")?
        .as_array()
        .ok_or_else(|| invalid("allowedMemberTypes", "expected an array"))?;
    if types.is_empty() {
        return Err(invalid(
            "allowedMemberTypes",
            "at least one of \"User\", \"Application\" is required",
        ));
    }
    let mut seen = HashSet::new();
    for t in types {
        match t.as_str() {
            Some(s @ ("User" | "Application")) if seen.insert(s) => {}
            _ => {
                return Err(invalid(
                    "allowedMemberTypes",
                    "each entry is \"User\" or \"Application\", once",
                ));
            }
        }
    }
    for name in ["description", "displayName", "origin", "value"] {
        if let Some(v) = role.get(name)
            && !(v.is_string() || v.is_null())
        {
            return Err(invalid(name, "expected a string or null"));
        }
    }
    let value = role.get("value").and_then(Value::as_str).map(str::to_owned);
    if let Some(v) = value.as_deref() {
        check_graph_value(v, GRAPH_MAX_VALUE_LEN).map_err(|problem| {
            Violation::new(
                "InvalidValue",
                format!(
                    "Invalid value specified for property 'value' of resource 'AppRole' (appRoles[{index}]): {problem}."
                ),
            )
        })?;
    }
    Ok(RoleKey { id, value })
}

/// Property names outside Graph's appRole type that roles in `roles` already carry; Graph sent
/// them, so a client may send them back.
fn extra_properties(roles: &[Value]) -> HashSet<String> {
    roles
        .iter()
        .filter_map(Value::as_object)
        .flat_map(|r| r.keys())
        .filter(|k| !APP_ROLE_PROPERTIES.contains(&k.as_str()))
        .cloned()
        .collect()
}

/// Checks the seed's roles: the collection rules, with `origin` allowed anywhere; `beside` is
/// the entries of the service principal's other collections sharing the cap.
pub fn check_seed_roles(roles: &[Value], beside: usize) -> Result<(), Violation> {
    check_collection(roles, beside, &|_| true).map(|_| ())
}

/// `PATCH {"appRoles": proposed}` on a service principal whose roles are `current` and whose
/// other collections sharing the cap hold `beside` entries: the roles to store (each stored role
/// keeps its `origin`; new roles get [`NEW_ROLE_ORIGIN`]), or the first rule the request breaks.
pub fn patch_app_roles(
    current: &[Value],
    proposed: &[Value],
    beside: usize,
) -> Result<Vec<Value>, Violation> {
    let extras = extra_properties(current);
    let keys = check_collection(proposed, beside, &|k| extras.contains(k))?;

    let stored: HashMap<Uuid, &Map<String, Value>> = current
        .iter()
        .filter_map(Value::as_object)
        .filter_map(|r| {
            let id = Uuid::try_parse(r.get("id")?.as_str()?).ok()?;
            Some((id, r))
        })
        .collect();

    let mut result = Vec::with_capacity(proposed.len());
    for (index, (role, key)) in proposed.iter().zip(&keys).enumerate() {
        let mut role = role.as_object().cloned().unwrap_or_default();
        match stored.get(&key.id) {
            None => {
                if role.contains_key("origin") {
                    return Err(Violation::bad_request(format!(
                        "appRoles[{index}] is a new role and sets 'origin', which is read-only: omit it on new roles."
                    )));
                }
                role.insert("origin".into(), Value::from(NEW_ROLE_ORIGIN));
            }
            Some(old) => {
                let old_origin = old.get("origin").cloned().unwrap_or(Value::Null);
                match role.get("origin") {
                    Some(given) if *given != old_origin => {
                        return Err(Violation::bad_request(format!(
                            "appRoles[{index}] changes the read-only property 'origin' of role {} from {old_origin} to {given}: send it back as it was, or omit it.",
                            key.id
                        )));
                    }
                    Some(_) => {}
                    None => {
                        role.insert("origin".into(), old_origin);
                    }
                }
                let old_enabled = old.get("isEnabled").and_then(Value::as_bool) == Some(true);
                let old_value = old.get("value").and_then(Value::as_str);
                if old_enabled && old_value != key.value.as_deref() {
                    return Err(Violation::new(
                        "CannotDeleteOrUpdateEnabledEntitlement",
                        format!(
                            "Permission (scope or role) cannot be deleted or updated unless disabled first: appRoles[{index}] changes the value of enabled role {}.",
                            key.id
                        ),
                    ));
                }
            }
        }
        result.push(Value::Object(role));
    }

    let kept: HashSet<Uuid> = keys.iter().map(|k| k.id).collect();
    for (id, old) in &stored {
        let enabled = old.get("isEnabled").and_then(Value::as_bool) == Some(true);
        if enabled && !kept.contains(id) {
            let value = old.get("value").and_then(Value::as_str).unwrap_or("null");
            return Err(Violation::new(
                "CannotDeleteOrUpdateEnabledEntitlement",
                format!(
                    "Permission (scope or role) cannot be deleted or updated unless disabled first: role {id} (value '{value}') is enabled and missing from appRoles."
                ),
            ));
        }
    }
    Ok(result)
}

/// Whether `nickname` is a valid group `mailNickname`, and why not.
pub fn check_mail_nickname(nickname: &str) -> Result<(), String> {
    if nickname.is_empty() {
        return Err("it is empty".into());
    }
    if nickname.len() > MAX_MAIL_NICKNAME {
        return Err(format!(
            "it is {} characters, at most {MAX_MAIL_NICKNAME} are allowed",
            nickname.chars().count()
        ));
    }
    if let Some(c) = nickname
        .chars()
        .find(|&c| !('\u{21}'..='\u{7e}').contains(&c) || FORBIDDEN_IN_NICKNAME.contains(c))
    {
        return Err(format!(
            "{c:?} is not allowed: use printable ASCII without spaces or any of @ ( ) \\ [ ] \" ; : . < > ,"
        ));
    }
    Ok(())
}

/// Properties `POST /groups` accepts.
pub const GROUP_CREATE_PROPERTIES: [&str; 8] = [
    "description",
    "displayName",
    "groupTypes",
    "mailEnabled",
    "mailNickname",
    "securityEnabled",
    "visibility",
    "owners@odata.bind",
];

/// A group that passed the creation rules: its properties (without `owners@odata.bind`) and
/// the object ids of its owners.
#[derive(Debug)]
pub struct NewGroup {
    pub properties: Map<String, Value>,
    pub owners: Vec<String>,
}

/// Checks a `POST /groups` body. `nickname_taken` answers, case-insensitively, whether another
/// group has that `mailNickname`; `owner_exists` whether an object id names a directory object
/// that can own a group.
pub fn check_new_group(
    body: &Map<String, Value>,
    nickname_taken: &dyn Fn(&str) -> bool,
    owner_exists: &dyn Fn(&str) -> bool,
) -> Result<NewGroup, Violation> {
    if let Some(unknown) = body
        .keys()
        .find(|k| !GROUP_CREATE_PROPERTIES.contains(&k.as_str()))
    {
        return Err(Violation::bad_request(format!(
            "Property '{unknown}' does not exist on type 'microsoft.graph.group' or cannot be set when creating a group."
        )));
    }
    let required = |name: &str| {
        body.get(name).ok_or_else(|| {
            Violation::bad_request(format!(
                "A value is required for property '{name}' of resource 'Group'."
            ))
        })
    };
    let invalid = |name: &str, why: &str| {
        Violation::bad_request(format!(
            "Invalid value specified for property '{name}' of resource 'Group': {why}."
        ))
    };

    let display_name = required("displayName")?
        .as_str()
        .ok_or_else(|| invalid("displayName", "expected a string"))?;
    if display_name.trim().is_empty() {
        return Err(invalid("displayName", "it is empty"));
    }
    let len = display_name.chars().count();
    if len > MAX_GROUP_DISPLAY_NAME {
        return Err(invalid(
            "displayName",
            &format!("it is {len} characters, at most {MAX_GROUP_DISPLAY_NAME} are allowed"),
        ));
    }
    if required("mailEnabled")?.as_bool() != Some(false) {
        return Err(invalid(
            "mailEnabled",
            "only security groups can be created here; set it to false",
        ));
    }
    if required("securityEnabled")?.as_bool() != Some(true) {
        return Err(invalid(
            "securityEnabled",
            "only security groups can be created here; set it to true",
        ));
    }
    let nickname = required("mailNickname")?
        .as_str()
        .ok_or_else(|| invalid("mailNickname", "expected a string"))?;
    check_mail_nickname(nickname).map_err(|why| invalid("mailNickname", &why))?;
    if nickname_taken(nickname) {
        return Err(Violation::bad_request(format!(
            "Another object with the same value for property mailNickname already exists ('{nickname}')."
        )));
    }
    if let Some(description) = body.get("description") {
        match description {
            Value::Null => {}
            Value::String(s) if s.chars().count() <= MAX_GROUP_DESCRIPTION => {}
            _ => {
                return Err(invalid(
                    "description",
                    &format!("expected a string of at most {MAX_GROUP_DESCRIPTION} characters"),
                ));
            }
        }
    }
    if let Some(types) = body.get("groupTypes")
        && types.as_array().is_none_or(|t| !t.is_empty())
    {
        return Err(invalid(
            "groupTypes",
            "a security group has no group types; send [] or omit it",
        ));
    }
    if let Some(visibility) = body.get("visibility")
        && !(visibility.is_null()
            || matches!(
                visibility.as_str(),
                Some("Private" | "Public" | "HiddenMembership")
            ))
    {
        return Err(invalid(
            "visibility",
            "expected Private, Public or HiddenMembership",
        ));
    }

    let owners = match body.get("owners@odata.bind") {
        None => Vec::new(),
        Some(binds) => check_owner_binds(binds, owner_exists)?,
    };
    let mut properties = body.clone();
    properties.remove("owners@odata.bind");
    Ok(NewGroup { properties, owners })
}

/// `owners@odata.bind`: up to 20 distinct URLs `…/v1.0/{directoryObjects|servicePrincipals|users}/{id}`
/// naming existing objects. Returns the ids.
fn check_owner_binds(
    binds: &Value,
    owner_exists: &dyn Fn(&str) -> bool,
) -> Result<Vec<String>, Violation> {
    let invalid = |why: String| {
        Violation::bad_request(format!(
            "Invalid value specified for property 'owners@odata.bind' of resource 'Group': {why}."
        ))
    };
    let Some(binds) = binds.as_array() else {
        return Err(invalid("expected an array of object URLs".into()));
    };
    if binds.len() > MAX_OWNERS_ON_CREATE {
        return Err(invalid(format!(
            "{} owners given, at most {MAX_OWNERS_ON_CREATE} can be bound when creating a group",
            binds.len()
        )));
    }
    let mut owners: Vec<String> = Vec::with_capacity(binds.len());
    for bind in binds {
        let url = bind
            .as_str()
            .ok_or_else(|| invalid("expected an array of object URLs".into()))?;
        let id = owner_id(url).ok_or_else(|| {
            invalid(format!(
                "'{url}' is not https://graph.microsoft.com/v1.0/directoryObjects/{{id}} (or servicePrincipals/{{id}}, users/{{id}})"
            ))
        })?;
        if !owner_exists(&id) {
            return Err(invalid(format!(
                "the owner '{id}' does not exist in the directory"
            )));
        }
        if owners.iter().any(|o| o.eq_ignore_ascii_case(&id)) {
            return Err(invalid(format!("the owner '{id}' is bound twice")));
        }
        owners.push(id);
    }
    Ok(owners)
}

/// The object id at the end of an owner bind URL, if the URL has the right shape. Any scheme and
/// host are accepted, so a client pointed at the emulator can bind with its own base URL.
fn owner_id(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let (_host, path) = rest.split_once('/')?;
    let mut segments = path.split('/');
    let version = segments.next()?;
    let collection = segments.next()?;
    let id = segments.next()?;
    if segments.next().is_some()
        || !matches!(version, "v1.0" | "beta")
        || !matches!(
            collection,
            "directoryObjects" | "servicePrincipals" | "users"
        )
    {
        return None;
    }
    Uuid::try_parse(id).ok().map(|_| id.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const A: &str = "11111111-1111-1111-1111-111111111111";
    const B: &str = "22222222-2222-2222-2222-222222222222";

    fn role(id: &str, value: &str, enabled: bool) -> Value {
        json!({"allowedMemberTypes": ["User"], "displayName": "d", "id": id,
               "isEnabled": enabled, "value": value})
    }

    fn stored(id: &str, value: &str, enabled: bool) -> Value {
        let mut r = role(id, value, enabled);
        r["origin"] = json!("ServicePrincipal");
        r
    }

    #[test]
    fn the_cap_counts_the_collections_that_share_it() {
        let two = [role(A, "a", true), role(B, "b", true)];
        assert!(patch_app_roles(&[], &two, MAX_MANIFEST_ENTRIES - 2).is_ok());
        let err = patch_app_roles(&[], &two, MAX_MANIFEST_ENTRIES - 1).unwrap_err();
        assert_eq!(err.code, "Directory_ResourceSizeExceeded");
        assert!(err.message.contains("appRoles has 2 entries and keyCredentials, oauth2PermissionScopes, replyUrls, servicePrincipalNames 1199 more"), "{}", err.message);
        let sp: Map<String, Value> = serde_json::from_value(serde_json::json!({
            "keyCredentials": [{}, {}], "replyUrls": ["https://signin.aws.amazon.com/saml"],
            "servicePrincipalNames": ["https://signin.aws.amazon.com/saml#1", "x"],
            "oauth2PermissionScopes": [], "tags": ["not", "counted"]
        }))
        .unwrap();
        assert_eq!(entries_beside_app_roles(&sp), 5);
    }

    #[test]
    fn new_roles_get_an_origin_and_old_ones_keep_theirs() {
        let current = [stored(A, "a", true)];
        let out = patch_app_roles(&current, &[role(A, "a", true), role(B, "b", true)], 0).unwrap();
        assert_eq!(out[0]["origin"], "ServicePrincipal");
        assert_eq!(out[1]["origin"], NEW_ROLE_ORIGIN);
    }

    #[test]
    fn an_enabled_role_keeps_its_value_but_a_disabled_one_may_change() {
        let err = patch_app_roles(&[stored(A, "a", true)], &[role(A, "z", true)], 0).unwrap_err();
        assert_eq!(err.code, "CannotDeleteOrUpdateEnabledEntitlement");
        assert!(patch_app_roles(&[stored(A, "a", false)], &[role(A, "z", false)], 0).is_ok());
        // Disabling in the same PATCH does not lift the rule: the stored role is enabled.
        let err = patch_app_roles(&[stored(A, "a", true)], &[role(A, "z", false)], 0).unwrap_err();
        assert_eq!(err.code, "CannotDeleteOrUpdateEnabledEntitlement");
    }

    #[test]
    fn unknown_properties_are_refused_unless_graph_sent_them() {
        let mut odd = role(A, "a", true);
        odd["isPreAuthorizationRequired"] = json!(false);
        let err = patch_app_roles(&[], std::slice::from_ref(&odd), 0).unwrap_err();
        assert!(
            err.message.contains("isPreAuthorizationRequired"),
            "{err:?}"
        );
        let mut current = stored(A, "a", true);
        current["isPreAuthorizationRequired"] = json!(false);
        assert!(patch_app_roles(&[current], &[odd], 0).is_ok());
    }

    #[test]
    fn allowed_member_types_are_checked() {
        for types in [
            json!([]),
            json!(["Group"]),
            json!(["User", "User"]),
            json!("User"),
        ] {
            let mut r = role(A, "a", true);
            r["allowedMemberTypes"] = types.clone();
            let err = patch_app_roles(&[], &[r], 0).unwrap_err();
            assert!(
                err.message.contains("allowedMemberTypes"),
                "{types}: {err:?}"
            );
        }
    }

    #[test]
    fn nicknames() {
        assert!(check_mail_nickname("AWS-123456789012-Admin_x~").is_ok());
        assert!(check_mail_nickname(&"x".repeat(64)).is_ok());
        for bad in [
            "", "a b", "a@b", "a(b", "a)b", "a\\b", "a[b", "a]b", "a\"b", "a;b", "a:b", "a.b",
            "a<b", "a>b", "a,b", "é", "a\tb",
        ] {
            assert!(check_mail_nickname(bad).is_err(), "{bad:?}");
        }
        assert!(check_mail_nickname(&"x".repeat(65)).is_err());
    }

    #[test]
    fn owner_urls() {
        assert_eq!(
            owner_id(&format!(
                "https://graph.microsoft.com/v1.0/directoryObjects/{A}"
            )),
            Some(A.to_owned())
        );
        assert_eq!(
            owner_id(&format!("http://127.0.0.1:8080/v1.0/servicePrincipals/{A}")),
            Some(A.to_owned())
        );
        for bad in [
            format!("https://graph.microsoft.com/v1.0/groups/{A}"),
            format!("https://graph.microsoft.com/v1.0/directoryObjects/{A}/x"),
            "https://graph.microsoft.com/v1.0/directoryObjects/nope".to_owned(),
            A.to_owned(),
        ] {
            assert_eq!(owner_id(&bad), None, "{bad}");
        }
    }
}
