//! manifest: the AWS app's service principal as Graph returns it (`GET /servicePrincipals/{id}`).
//!
//! Only `id` and `appRoles` are read; every other property is kept in `extra` and written back
//! unchanged, and the collections that share Graph's entry cap with `appRoles` are counted
//! ([`ServicePrincipal::entries_beside_app_roles`]). Parsing checks what Graph itself guarantees (unique role ids and values), so a file
//! that breaks it is reported instead of planned from. Pure: no I/O.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{AppRole, JsonError};

/// The service principal JSON: its object id, its app roles, and everything else as it came.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePrincipal {
    pub id: String,
    pub app_roles: Vec<AppRole>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Why a service principal document cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("not a service principal")]
    Json(#[source] JsonError),
    #[error("appRoles[{index}] repeats the id {id} of an earlier role")]
    DuplicateId { index: usize, id: String },
    #[error("appRoles[{index}] repeats the value {value:?} of an earlier role")]
    DuplicateValue { index: usize, value: String },
}

/// The service principal's collections that count against Graph's entry cap together with
/// `appRoles`. Microsoft documents the cap for the app manifest: "the total number of entries in
/// all the collections combined has been capped at 1200" — appRoles, keyCredentials,
/// knownClientApplications, identifierUris, redirectUris, requiredResourceAccess and
/// oauth2PermissionScopes (Microsoft Entra app manifest reference, "Manifest limits"). A service
/// principal carries the counterparts of four of them (`identifierUris` →
/// `servicePrincipalNames`, `redirectUris` → `replyUrls`); the other two have none. Counting
/// every one of them can only refuse a plan earlier, never let Graph refuse it later.
pub const COLLECTIONS_SHARING_THE_CAP: [&str; 4] = [
    "keyCredentials",
    "oauth2PermissionScopes",
    "replyUrls",
    "servicePrincipalNames",
];

impl ServicePrincipal {
    /// The entries of [`COLLECTIONS_SHARING_THE_CAP`]: what the cap leaves to app roles is the
    /// cap minus these.
    pub fn entries_beside_app_roles(&self) -> usize {
        COLLECTIONS_SHARING_THE_CAP
            .iter()
            .filter_map(|name| self.extra.get(*name))
            .filter_map(Value::as_array)
            .map(Vec::len)
            .sum()
    }

    /// Parses and checks a service principal document.
    pub fn from_json(text: &str) -> Result<ServicePrincipal, ManifestError> {
        let sp: ServicePrincipal = super::from_json(text).map_err(ManifestError::Json)?;
        sp.check()?;
        Ok(sp)
    }

    fn check(&self) -> Result<(), ManifestError> {
        let mut ids = HashSet::new();
        let mut values = HashSet::new();
        for (index, role) in self.app_roles.iter().enumerate() {
            if !ids.insert(role.id) {
                return Err(ManifestError::DuplicateId {
                    index,
                    id: role.id.to_string(),
                });
            }
            if let Some(value) = role.value()
                && !values.insert(value)
            {
                return Err(ManifestError::DuplicateValue {
                    index,
                    value: value.to_owned(),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sp(roles: Value) -> String {
        serde_json::json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#servicePrincipals/$entity",
            "id": "0b5b7bd0-58a9-4d4c-a0e6-1c1d9d1b4e51",
            "appId": "8adf8e6e-67b2-4cf2-a259-e3dc5476c621",
            "displayName": "AWS Single-Account Access",
            "appRoles": roles,
            "tags": ["WindowsAzureActiveDirectoryIntegratedApp"]
        })
        .to_string()
    }

    fn role(id: &str, value: &str) -> Value {
        serde_json::json!({"allowedMemberTypes": ["User"], "description": "d", "displayName": "n",
            "id": id, "isEnabled": true, "origin": "ServicePrincipal", "value": value})
    }

    #[test]
    fn round_trips_every_property() {
        let text = sp(serde_json::json!([role(
            "7dfd756e-8c27-4472-b2b7-38c17fc5de5e",
            "msiam_access"
        )]));
        let parsed = ServicePrincipal::from_json(&text).unwrap();
        assert_eq!(
            serde_json::to_value(&parsed).unwrap(),
            serde_json::from_str::<Value>(&text).unwrap()
        );
    }

    #[test]
    fn errors_name_the_place() {
        let missing = sp(serde_json::json!([{"id": "7dfd756e-8c27-4472-b2b7-38c17fc5de5e"}]));
        let err = crate::error_text::chain(&ServicePrincipal::from_json(&missing).unwrap_err());
        assert!(
            err.contains("appRoles[0]") && err.contains("allowedMemberTypes"),
            "{err}"
        );

        let bad_id = sp(serde_json::json!([role("nope", "x")]));
        let err = crate::error_text::chain(&ServicePrincipal::from_json(&bad_id).unwrap_err());
        assert!(err.contains("appRoles[0].id"), "{err}");

        let err = ServicePrincipal::from_json("{\"id\": 3")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("not a service principal"), "{err}");
    }

    #[test]
    fn duplicate_ids_and_values_are_refused() {
        let dup_id = sp(serde_json::json!([
            role("7dfd756e-8c27-4472-b2b7-38c17fc5de5e", "a"),
            role("7dfd756e-8c27-4472-b2b7-38c17fc5de5e", "b")
        ]));
        assert!(matches!(
            ServicePrincipal::from_json(&dup_id),
            Err(ManifestError::DuplicateId { index: 1, .. })
        ));
        let dup_value = sp(serde_json::json!([
            role("7dfd756e-8c27-4472-b2b7-38c17fc5de5e", "a"),
            role("8dfd756e-8c27-4472-b2b7-38c17fc5de5e", "a")
        ]));
        assert!(matches!(
            ServicePrincipal::from_json(&dup_value),
            Err(ManifestError::DuplicateValue { index: 1, .. })
        ));
    }

    /// JSON shaped a little like a service principal.
    fn json_value() -> impl proptest::strategy::Strategy<Value = Value> {
        crate::test_support::json_biased(
            &[
                "id",
                "appRoles",
                "value",
                "isEnabled",
                "allowedMemberTypes",
                "displayName",
            ],
            &[
                "7dfd756e-8c27-4472-b2b7-38c17fc5de5e",
                "User",
                "msiam_access",
            ],
        )
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_text_is_an_error_or_a_manifest_never_a_panic(text in ".{0,200}") {
            let _ = ServicePrincipal::from_json(&text);
        }

        #[test]
        fn arbitrary_json_is_an_error_or_a_manifest_that_round_trips(value in json_value()) {
            if let Ok(sp) = ServicePrincipal::from_json(&value.to_string()) {
                proptest::prop_assert_eq!(serde_json::to_value(&sp).unwrap(), value);
            }
        }
    }
}
