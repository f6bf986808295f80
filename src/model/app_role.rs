//! app_role: one entry of a service principal's `appRoles`, and the AWS `value` pair it carries.
//!
//! `AppRole` mirrors Graph's appRole resource. Every property fedsync does not know is kept in
//! `extra` and written back unchanged, and a property Graph sent as `null` goes back as `null`
//! (absent stays absent): a role fedsync does not manage must reach Graph exactly as it came.
//! `AwsRoleValue` is the `<role ARN>,<SAML provider ARN>` pair the AWS app expects in `value`.
//! Pure: no I/O.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{ParseError, RoleArn, SamlProviderArn};

/// The longest `value` Microsoft Graph documents for an app role.
pub const GRAPH_MAX_VALUE_LEN: usize = 120;

/// The GUID that names an app role inside its collection; assignments point at it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AppRoleId(Uuid);

impl AppRoleId {
    /// The fixed namespace new role ids are derived in (UUIDv5 of the role's `value`), so a
    /// rerun or a restore gives a role the same id again.
    pub const NAMESPACE: Uuid = Uuid::from_u128(0x6c1d_6a3e_52a9_4f0b_9a39_8e4f_2d7c_1b55);

    /// The id fedsync gives a new role with this `value`.
    pub fn for_value(value: &str) -> AppRoleId {
        AppRoleId(Uuid::new_v5(&Self::NAMESPACE, value.as_bytes()))
    }
}

impl FromStr for AppRoleId {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::try_parse(s)
            .map(AppRoleId)
            .map_err(|_| ParseError::new("app role id", s, "expected a GUID"))
    }
}

impl fmt::Display for AppRoleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// The AWS app's role value: `<role ARN>,<SAML provider ARN>`, both in one account.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AwsRoleValue {
    role: RoleArn,
    provider: SamlProviderArn,
}

impl AwsRoleValue {
    /// Pairs a role with a provider; they must share partition and account, as AWS requires.
    pub fn new(role: RoleArn, provider: SamlProviderArn) -> Result<Self, ParseError> {
        if !Self::may_pair(&role, &provider) {
            return Err(ParseError::new(
                "AWS role value",
                &format!("{role},{provider}"),
                "the role and the SAML provider must be in the same account",
            ));
        }
        Ok(AwsRoleValue { role, provider })
    }
    /// Whether `role` and `provider` can make a value: in one partition and one account.
    pub fn may_pair(role: &RoleArn, provider: &SamlProviderArn) -> bool {
        role.partition() == provider.partition() && role.account() == provider.account()
    }
    pub fn role(&self) -> &RoleArn {
        &self.role
    }
    pub fn provider(&self) -> &SamlProviderArn {
        &self.provider
    }
}

/// ```
/// use fedsync::model::AwsRoleValue;
/// let text = "arn:aws:iam::123456789012:role/team/Admin,arn:aws:iam::123456789012:saml-provider/AzureAD";
/// let value: AwsRoleValue = text.parse().unwrap();
/// assert_eq!(value.role().path(), "/team/");
/// assert_eq!(value.provider().name(), "AzureAD");
/// assert_eq!(value.to_string(), text);
/// assert!("msiam_access".parse::<AwsRoleValue>().is_err());
/// ```
impl FromStr for AwsRoleValue {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // A provider name holds no ':', so its ARN starts at the last ",arn:"; role names and
        // paths may contain ',' themselves.
        let Some(split) = s.rfind(",arn:") else {
            return Err(ParseError::new(
                "AWS role value",
                s,
                "expected <role ARN>,<SAML provider ARN>",
            ));
        };
        let role: RoleArn = s[..split].parse()?;
        let provider: SamlProviderArn = s[split + 1..].parse()?;
        AwsRoleValue::new(role, provider)
    }
}

impl fmt::Display for AwsRoleValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},{}", self.role, self.provider)
    }
}

impl TryFrom<String> for AwsRoleValue {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<AwsRoleValue> for String {
    fn from(v: AwsRoleValue) -> String {
        v.to_string()
    }
}

/// Why Graph would refuse a string as an app role `value`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValueProblem {
    TooLong { len: usize, max: usize },
    BadChar(char),
    LeadingDot,
}

impl fmt::Display for ValueProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueProblem::TooLong { len, max } => {
                write!(
                    f,
                    "the value is {len} characters, over Graph's limit of {max}"
                )
            }
            ValueProblem::BadChar(c) => write!(f, "Graph does not allow {c:?} in a value"),
            ValueProblem::LeadingDot => {
                f.write_str("Graph does not allow a value to start with '.'")
            }
        }
    }
}

/// Checks a `value` against Graph's documented rules: at most `max` characters, ASCII letters,
/// digits and ``:{#$!.-,+/*)(:'&%;<@?[>]^_|~}`=`` only, not starting with `.`.
pub fn check_graph_value(value: &str, max: usize) -> Result<(), ValueProblem> {
    let allowed = |c: char| {
        c.is_ascii_alphanumeric()
            || matches!(
                c,
                ':' | '{'
                    | '#'
                    | '$'
                    | '!'
                    | '.'
                    | '-'
                    | ','
                    | '+'
                    | '/'
                    | '*'
                    | ')'
                    | '('
                    | '\''
                    | '&'
                    | '%'
                    | ';'
                    | '<'
                    | '@'
                    | '?'
                    | '['
                    | '>'
                    | ']'
                    | '^'
                    | '_'
                    | '|'
                    | '~'
                    | '}'
                    | '`'
                    | '='
            )
    };
    if let Some(c) = value.chars().find(|&c| !allowed(c)) {
        return Err(ValueProblem::BadChar(c));
    }
    if value.starts_with('.') {
        return Err(ValueProblem::LeadingDot);
    }
    if value.len() > max {
        return Err(ValueProblem::TooLong {
            len: value.len(),
            max,
        });
    }
    Ok(())
}

/// One app role as Graph returns it and takes it back.
///
/// Nullable properties are `Option<Option<T>>`: `None` when absent, `Some(None)` when `null`,
/// so that what comes in goes out the same.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppRole {
    pub allowed_member_types: Vec<String>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub description: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub display_name: Option<Option<String>>,
    pub id: AppRoleId,
    pub is_enabled: bool,
    /// Read-only in Graph; sent back as it came, omitted on new roles.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub origin: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub value: Option<Option<String>>,
    /// Properties fedsync does not know, kept in the order Graph sent them.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Maps a present property (even `null`) to `Some`, so absence stays distinguishable.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

impl AppRole {
    /// A new, enabled role for users, with fedsync's stable id for `value`.
    pub fn new_user_role(
        value: &AwsRoleValue,
        display_name: String,
        description: String,
    ) -> AppRole {
        let value = value.to_string();
        AppRole {
            allowed_member_types: vec!["User".to_owned()],
            description: Some(Some(description)),
            display_name: Some(Some(display_name)),
            id: AppRoleId::for_value(&value),
            is_enabled: true,
            origin: None,
            value: Some(Some(value)),
            extra: Map::new(),
        }
    }

    pub fn value(&self) -> Option<&str> {
        self.value.as_ref().and_then(|v| v.as_deref())
    }
    pub fn display_name(&self) -> Option<&str> {
        self.display_name.as_ref().and_then(|v| v.as_deref())
    }
    pub fn description(&self) -> Option<&str> {
        self.description.as_ref().and_then(|v| v.as_deref())
    }

    /// The AWS pair when `value` holds one; such a role is *managed* by fedsync.
    pub fn aws_value(&self) -> Option<AwsRoleValue> {
        self.value().and_then(|v| v.parse().ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLE: &str = "arn:aws:iam::123456789012:role/team/Admin";
    const IDP: &str = "arn:aws:iam::123456789012:saml-provider/AzureAD";

    #[test]
    fn aws_value_round_trips_and_checks_the_account() {
        let s = format!("{ROLE},{IDP}");
        let v: AwsRoleValue = s.parse().unwrap();
        assert_eq!(v.role().name(), "Admin");
        assert_eq!(v.provider().name(), "AzureAD");
        assert_eq!(v.to_string(), s);

        let other_account = format!("{ROLE},arn:aws:iam::210987654321:saml-provider/AzureAD");
        let err = other_account
            .parse::<AwsRoleValue>()
            .unwrap_err()
            .to_string();
        assert!(err.contains("same account"), "{err}");
        for bad in [
            "msiam_access",
            ROLE,
            "",
            "arn:aws:iam::123456789012:role/A,",
        ] {
            assert!(bad.parse::<AwsRoleValue>().is_err(), "{bad}");
        }
    }

    #[test]
    fn aws_value_splits_at_the_provider_even_when_the_role_name_has_commas() {
        let s = format!("arn:aws:iam::123456789012:role/a,b,{IDP}");
        let v: AwsRoleValue = s.parse().unwrap();
        assert_eq!(v.role().name(), "a,b");
        assert_eq!(v.to_string(), s);
    }

    #[test]
    fn graph_value_takes_exactly_the_characters_graph_documents() {
        // The list as `check_graph_value` documents it.
        let documented = ":{#$!.-,+/*)(:'&%;<@?[>]^_|~}`=";
        for c in (0u8..=127).map(char::from).chain(['é', 'ß', '\u{3000}']) {
            let ok = c.is_ascii_alphanumeric() || documented.contains(c);
            let value = format!("a{c}b");
            assert_eq!(check_graph_value(&value, 120).is_ok(), ok, "{c:?}");
        }
    }

    #[test]
    fn graph_value_rules() {
        assert_eq!(check_graph_value(&format!("{ROLE},{IDP}"), 120), Ok(()));
        assert_eq!(
            check_graph_value("a b", 120),
            Err(ValueProblem::BadChar(' '))
        );
        assert_eq!(
            check_graph_value("a\"b", 120),
            Err(ValueProblem::BadChar('"'))
        );
        assert_eq!(check_graph_value(".ab", 120), Err(ValueProblem::LeadingDot));
        assert_eq!(
            check_graph_value(&"x".repeat(121), 120),
            Err(ValueProblem::TooLong { len: 121, max: 120 })
        );
        assert_eq!(check_graph_value(&"x".repeat(120), 120), Ok(()));
    }

    #[test]
    fn new_role_ids_are_uuid_v5_of_the_value() {
        let a = AppRoleId::for_value("x");
        assert_eq!(a, AppRoleId::for_value("x"));
        assert_ne!(a, AppRoleId::for_value("y"));
        assert_eq!(a.0.get_version_num(), 5);
    }

    #[test]
    fn unknown_fields_nulls_and_absences_round_trip() {
        let raw = serde_json::json!({
            "allowedMemberTypes": ["User"],
            "description": null,
            "displayName": "msiam_access",
            "id": "7dfd756e-8c27-4472-b2b7-38c17fc5de5e",
            "isEnabled": true,
            "isPreAuthorizationRequired": false,
            "value": null,
            "someFutureThing": {"nested": [1, 2]}
        });
        let role: AppRole = serde_json::from_value(raw.clone()).unwrap();
        assert_eq!(role.description, Some(None));
        assert_eq!(role.origin, None);
        assert_eq!(serde_json::to_value(&role).unwrap(), raw);
    }

    #[test]
    fn new_roles_omit_origin() {
        let v: AwsRoleValue = format!("{ROLE},{IDP}").parse().unwrap();
        let json =
            serde_json::to_value(AppRole::new_user_role(&v, "d".into(), "e".into())).unwrap();
        assert!(json.get("origin").is_none());
        assert_eq!(json["isEnabled"], true);
        assert_eq!(json["allowedMemberTypes"], serde_json::json!(["User"]));
    }
}
