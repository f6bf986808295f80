//! trust: which SAML providers a role's trust policy lets call `sts:AssumeRoleWithSAML`.
//!
//! Owns the reading of an IAM role's `AssumeRolePolicyDocument`, raw JSON (moto) or
//! percent-encoded (real IAM), and returns the set of [`SamlProviderArn`]s that an `Allow`
//! statement lets in and no `Deny` statement shuts out. Pure: no I/O, no clock, no async.
//!
//! It must never guess: a shape it cannot decide safely (`NotAction`/`NotPrincipal` that may
//! concern SAML, an `Allow` to any principal, a malformed provider ARN, wrong JSON types) is a
//! [`TrustError`] naming the statement and the offending piece, never an empty or partial answer.
//! Conditions are not evaluated: they never add a provider, and a `Deny` with a condition is
//! taken as applying, so an uncertain answer always errs towards "not trusted".

use std::collections::BTreeSet;
use std::fmt;

use percent_encoding::percent_decode_str;
use serde_json::{Map, Value};

use crate::model::{ParseError, SamlProviderArn};

/// The one action fedsync cares about.
const ASSUME_ROLE_WITH_SAML: &str = "sts:AssumeRoleWithSAML";

/// Longest excerpt of the document an error message quotes, in characters.
const EXCERPT_CHARS: usize = 120;

/// Where in the policy an error sits: the statement's position in `Statement` (0-based; a lone
/// statement object is statement 0) and its `Sid` when it has one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementRef {
    pub index: usize,
    pub sid: Option<String>,
}

impl fmt::Display for StatementRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "statement {}", self.index)?;
        if let Some(sid) = &self.sid {
            write!(f, " (Sid {sid:?})")?;
        }
        Ok(())
    }
}

/// A trust policy fedsync cannot read, or cannot decide safely.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("trust policy has invalid percent-encoding {found:?} at byte {offset}")]
    PercentEncoding { offset: usize, found: String },

    #[error("percent-decoded trust policy is not valid UTF-8 after byte {}", .source.valid_up_to())]
    Utf8 {
        #[source]
        source: std::str::Utf8Error,
    },

    #[error("trust policy is not valid JSON (line {line}, column {column})")]
    Json {
        line: usize,
        column: usize,
        #[source]
        source: serde_json::Error,
    },

    #[error("trust policy is {found}, expected a JSON object")]
    NotAnObject { found: &'static str },

    #[error("trust policy has no Statement")]
    MissingStatement,

    #[error("trust policy Statement is {found}, expected an object or an array of objects")]
    StatementType { found: String },

    #[error("statement {index} is {found}, expected an object")]
    StatementEntryType { index: usize, found: String },

    #[error("{at}: Effect {found} is neither \"Allow\" nor \"Deny\" (the value is case-sensitive)")]
    Effect { at: StatementRef, found: String },

    #[error("{at}: has no {element}")]
    MissingElement {
        at: StatementRef,
        element: &'static str,
    },

    #[error("{at}: has both {first} and {second}")]
    ConflictingElements {
        at: StatementRef,
        first: &'static str,
        second: &'static str,
    },

    #[error("{at}: {element} is {found}, expected {expected}")]
    ElementType {
        at: StatementRef,
        element: &'static str,
        found: String,
        expected: &'static str,
    },

    #[error(
        "{at}: NotAction {not_action} with a principal that may be a SAML provider cannot be decided; list the actions under Action instead"
    )]
    NotAction {
        at: StatementRef,
        not_action: String,
    },

    #[error(
        "{at}: NotPrincipal {not_principal} on an action matching sts:AssumeRoleWithSAML cannot be decided; name the providers under Principal.Federated instead"
    )]
    NotPrincipal {
        at: StatementRef,
        not_principal: String,
    },

    #[error(
        "{at}: Allow of sts:AssumeRoleWithSAML to any principal ({principal}) cannot be narrowed to SAML providers; name them under Principal.Federated instead"
    )]
    AnyPrincipal { at: StatementRef, principal: String },

    #[error("{at}: Federated {value:?} is not a valid SAML provider ARN")]
    ProviderArn {
        at: StatementRef,
        value: String,
        #[source]
        source: ParseError,
    },
}

/// The SAML providers `document` (an `AssumeRolePolicyDocument`, raw or percent-encoded) lets
/// call `sts:AssumeRoleWithSAML`: those an `Allow` statement names under `Principal.Federated`,
/// minus those a `Deny` statement covers. Empty when the role is not SAML-federated.
///
/// ```
/// let policy = r#"{"Version": "2012-10-17", "Statement": {
///     "Effect": "Allow",
///     "Principal": {"Federated": "arn:aws:iam::123456789012:saml-provider/AzureAD"},
///     "Action": "sts:AssumeRoleWithSAML",
///     "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}}}}"#;
/// let providers = fedsync::trust::saml_providers(policy).unwrap();
/// assert_eq!(providers.len(), 1);
/// assert_eq!(providers.first().unwrap().name(), "AzureAD");
///
/// // Real IAM returns the document percent-encoded: the answer is the same.
/// let encoded = "%7B%22Statement%22%3A%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Federated%22%3A%22arn%3Aaws%3Aiam%3A%3A123456789012%3Asaml-provider%2FAzureAD%22%7D%2C%22Action%22%3A%22sts%3AAssumeRoleWithSAML%22%7D%7D";
/// assert_eq!(fedsync::trust::saml_providers(encoded).unwrap(), providers);
/// ```
pub fn saml_providers(document: &str) -> Result<BTreeSet<SamlProviderArn>, TrustError> {
    let policy = parse(document)?;
    let Value::Object(policy) = policy else {
        return Err(TrustError::NotAnObject {
            found: kind(&policy),
        });
    };
    let statements: Vec<&Value> = match policy.get("Statement") {
        None => return Err(TrustError::MissingStatement),
        Some(one @ Value::Object(_)) => vec![one],
        Some(Value::Array(many)) => many.iter().collect(),
        Some(other) => {
            return Err(TrustError::StatementType {
                found: describe(other),
            });
        }
    };

    let mut allowed = BTreeSet::new();
    let mut denied = BTreeSet::new();
    let mut deny_all = false;
    for (index, entry) in statements.into_iter().enumerate() {
        let Value::Object(statement) = entry else {
            return Err(TrustError::StatementEntryType {
                index,
                found: describe(entry),
            });
        };
        let at = StatementRef {
            index,
            sid: statement
                .get("Sid")
                .and_then(Value::as_str)
                .map(|s| truncate(s.to_owned())),
        };
        match judge(&at, statement)? {
            Verdict::Irrelevant => {}
            Verdict::Allow(providers) => allowed.extend(providers),
            Verdict::DenyAll => deny_all = true,
            Verdict::Deny(providers) => denied.extend(providers),
        }
    }
    if deny_all {
        return Ok(BTreeSet::new());
    }
    Ok(allowed.difference(&denied).cloned().collect())
}

/// Raw JSON (moto) or percent-encoded JSON (real IAM, whose encoding keeps `+` a literal plus).
///
/// A document starting with `{` is raw, and a broken one is reported as JSON rather than decoded.
/// Otherwise text that parses as JSON as it stands is raw too: percent-encoding turns every
/// `{`, `[`, `"` and `.` into `%XX`, so an encoded document that still parses is made of letters
/// and digits only and decodes to itself. Anything else is decoded first.
fn parse(document: &str) -> Result<Value, TrustError> {
    if document.trim_start().starts_with('{') {
        return parse_json(document);
    }
    if let Ok(value) = serde_json::from_str(document) {
        return Ok(value);
    }
    parse_json(&decode(document)?)
}

fn parse_json(text: &str) -> Result<Value, TrustError> {
    serde_json::from_str(text).map_err(|source| TrustError::Json {
        line: source.line(),
        column: source.column(),
        source,
    })
}

/// Strict percent-decoding to UTF-8 text.
fn decode(document: &str) -> Result<std::borrow::Cow<'_, str>, TrustError> {
    // `percent_decode_str` passes a stray `%` through untouched; a document with one is damaged
    // (or was never encoded), so report it rather than parse whatever comes out.
    let bytes = document.as_bytes();
    for (offset, &b) in bytes.iter().enumerate() {
        if b == b'%' {
            let valid = bytes
                .get(offset + 1..offset + 3)
                .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit));
            if !valid {
                return Err(TrustError::PercentEncoding {
                    offset,
                    found: document[offset..].chars().take(3).collect(),
                });
            }
        }
    }
    percent_decode_str(document)
        .decode_utf8()
        .map_err(|source| TrustError::Utf8 { source })
}

/// What one statement says about `sts:AssumeRoleWithSAML` by SAML providers.
enum Verdict {
    /// It cannot concern SAML federation (another action, or only non-SAML principals).
    Irrelevant,
    Allow(BTreeSet<SamlProviderArn>),
    Deny(BTreeSet<SamlProviderArn>),
    /// A Deny that covers every principal, so every provider.
    DenyAll,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Effect {
    Allow,
    Deny,
}

/// The principals a `Principal` element names, as far as SAML federation goes.
struct Principals {
    /// `"*"`, `{"AWS": "*"}` or `{"Federated": "*"}`: the JSON of the whole element.
    any: Option<String>,
    providers: BTreeSet<SamlProviderArn>,
}

impl Principals {
    fn may_be_saml(&self) -> bool {
        self.any.is_some() || !self.providers.is_empty()
    }
}

fn judge(at: &StatementRef, statement: &Map<String, Value>) -> Result<Verdict, TrustError> {
    let effect = match statement.get("Effect") {
        Some(Value::String(s)) if s == "Allow" => Effect::Allow,
        Some(Value::String(s)) if s == "Deny" => Effect::Deny,
        Some(other) => {
            return Err(TrustError::Effect {
                at: at.clone(),
                found: excerpt(other),
            });
        }
        None => {
            return Err(TrustError::MissingElement {
                at: at.clone(),
                element: "Effect",
            });
        }
    };
    let action = one_of(at, statement, "Action", "NotAction")?;
    let principal = one_of(at, statement, "Principal", "NotPrincipal")?;

    // Shapes are checked before relevance, so a wrongly typed element is reported wherever it is.
    let principals = match principal {
        Element::Plain(p) => Some(read_principal(at, p)?),
        Element::Not(_) => None,
    };
    let matches = match action {
        Element::Plain(action) => strings(at, "Action", action)?
            .iter()
            .any(|p| wildcard_match(p, ASSUME_ROLE_WITH_SAML)),
        Element::Not(not_action) => {
            strings(at, "NotAction", not_action)?;
            // Only SAML providers can call AssumeRoleWithSAML, so a NotAction statement about
            // services, accounts or web identity providers cannot change the answer: skip it
            // instead of failing the whole role. With a principal that may be a SAML provider
            // (or a NotPrincipal) we would have to reason about "every action but these" against
            // "everyone but those", which is where a guess hides.
            if principals.as_ref().is_none_or(Principals::may_be_saml) {
                return Err(TrustError::NotAction {
                    at: at.clone(),
                    not_action: excerpt(not_action),
                });
            }
            return Ok(Verdict::Irrelevant);
        }
    };
    if !matches {
        return Ok(Verdict::Irrelevant);
    }
    let (Element::Plain(_), Some(principals)) = (principal, principals) else {
        let not_principal = match principal {
            Element::Plain(p) | Element::Not(p) => excerpt(p),
        };
        return Err(TrustError::NotPrincipal {
            at: at.clone(),
            not_principal,
        });
    };
    match (effect, principals.any) {
        (Effect::Allow, Some(principal)) => Err(TrustError::AnyPrincipal {
            at: at.clone(),
            principal,
        }),
        (Effect::Allow, None) => Ok(Verdict::Allow(principals.providers)),
        (Effect::Deny, Some(_)) => Ok(Verdict::DenyAll),
        (Effect::Deny, None) => Ok(Verdict::Deny(principals.providers)),
    }
}

/// An element that comes in a plain and a negated form, such as `Action` and `NotAction`.
#[derive(Clone, Copy)]
enum Element<'a> {
    Plain(&'a Value),
    Not(&'a Value),
}

/// Exactly one of `name` and `not_name` (e.g. `Action`/`NotAction`) must be present.
fn one_of<'a>(
    at: &StatementRef,
    statement: &'a Map<String, Value>,
    name: &'static str,
    not_name: &'static str,
) -> Result<Element<'a>, TrustError> {
    match (statement.get(name), statement.get(not_name)) {
        (Some(_), Some(_)) => Err(TrustError::ConflictingElements {
            at: at.clone(),
            first: name,
            second: not_name,
        }),
        (None, None) => Err(TrustError::MissingElement {
            at: at.clone(),
            element: if name == "Action" {
                "Action or NotAction"
            } else {
                "Principal or NotPrincipal"
            },
        }),
        (Some(plain), None) => Ok(Element::Plain(plain)),
        (None, Some(not)) => Ok(Element::Not(not)),
    }
}

fn read_principal(at: &StatementRef, principal: &Value) -> Result<Principals, TrustError> {
    let map = match principal {
        Value::String(s) if s == "*" => {
            return Ok(Principals {
                any: Some(excerpt(principal)),
                providers: BTreeSet::new(),
            });
        }
        Value::Object(map) => map,
        other => {
            return Err(TrustError::ElementType {
                at: at.clone(),
                element: "Principal",
                found: describe(other),
                expected: "\"*\" or an object",
            });
        }
    };
    let mut any = false;
    // `{"AWS": "*"}` is documented as equivalent to `"*"`; whether IAM lets it cover federated
    // callers is not, so treat it as "anyone": a Deny then shuts every provider out and an Allow
    // is reported instead of read as "no providers".
    if let Some(aws) = map.get("AWS") {
        any |= strings(at, "Principal.AWS", aws)?.contains(&"*");
    }
    let mut providers = BTreeSet::new();
    if let Some(federated) = map.get("Federated") {
        for value in strings(at, "Principal.Federated", federated)? {
            if value == "*" {
                any = true;
            } else if looks_like_saml_provider(value) {
                let arn = value.parse().map_err(|source| TrustError::ProviderArn {
                    at: at.clone(),
                    value: truncate(value.to_owned()),
                    source,
                })?;
                providers.insert(arn);
            }
            // Anything else (`cognito-identity.amazonaws.com`, an OIDC provider ARN) is a web
            // identity provider, which cannot call AssumeRoleWithSAML.
        }
    }
    Ok(Principals {
        any: any.then(|| excerpt(principal)),
        providers,
    })
}

/// A Federated value meant as a SAML provider, or a wildcard pattern IAM would not take in a
/// principal: either must parse as a provider ARN, else it is an error, not "some other provider".
fn looks_like_saml_provider(value: &str) -> bool {
    value.to_ascii_lowercase().contains("saml-provider") || value.contains('*')
}

/// A string or a list of strings, as IAM takes for Action, NotAction and principal values.
fn strings<'a>(
    at: &StatementRef,
    element: &'static str,
    value: &'a Value,
) -> Result<Vec<&'a str>, TrustError> {
    const EXPECTED: &str = "a string or a list of strings";
    let wrong = |found: &Value| TrustError::ElementType {
        at: at.clone(),
        element,
        found: describe(found),
        expected: EXPECTED,
    };
    match value {
        Value::String(s) => Ok(vec![s.as_str()]),
        Value::Array(items) => items
            .iter()
            .map(|item| item.as_str().ok_or_else(|| wrong(item)))
            .collect(),
        other => Err(wrong(other)),
    }
}

/// IAM action matching: ASCII case-insensitive, `*` matches any run of characters (also none),
/// `?` exactly one.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().map(|c| c.to_ascii_lowercase()).collect();
    let text: Vec<char> = text.chars().map(|c| c.to_ascii_lowercase()).collect();
    let (mut p, mut t) = (0, 0);
    // Where the last `*` was, and the text position it currently swallows up to.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `a number (42)`: the JSON type and the value itself, shortened.
fn describe(value: &Value) -> String {
    format!("{} ({})", kind(value), excerpt(value))
}

/// The value as compact, one-line JSON, shortened for an error message.
fn excerpt(value: &Value) -> String {
    truncate(value.to_string())
}

fn truncate(mut text: String) -> String {
    if let Some((cut, _)) = text.char_indices().nth(EXCERPT_CHARS) {
        text.truncate(cut);
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::model::Partition;
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    use proptest::prelude::*;
    use serde_json::json;

    const AZURE: &str = "arn:aws:iam::123456789012:saml-provider/AzureAD";
    const OKTA: &str = "arn:aws:iam::123456789012:saml-provider/Okta";

    fn arns(list: &[&str]) -> BTreeSet<SamlProviderArn> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    fn providers(policy: &Value) -> BTreeSet<SamlProviderArn> {
        saml_providers(&policy.to_string()).unwrap()
    }

    fn error(policy: &Value) -> String {
        saml_providers(&policy.to_string()).unwrap_err().to_string()
    }

    fn encode(text: &str) -> String {
        utf8_percent_encode(text, NON_ALPHANUMERIC).to_string()
    }

    /// One statement letting `principal` call `action`.
    fn allow(principal: Value, action: Value) -> Value {
        json!({"Effect": "Allow", "Principal": principal, "Action": action})
    }

    fn saml_allow(federated: Value) -> Value {
        allow(
            json!({"Federated": federated}),
            json!("sts:AssumeRoleWithSAML"),
        )
    }

    fn policy(statements: Value) -> Value {
        json!({"Version": "2012-10-17", "Statement": statements})
    }

    /// The trust policy the AWS console writes for SAML 2.0 federation.
    const CONSOLE_RAW: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Principal": {"Federated": "arn:aws:iam::123456789012:saml-provider/AzureAD"},
      "Action": "sts:AssumeRoleWithSAML",
      "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}}
    }
  ]
}"#;

    /// The same policy as `iam list-roles` returns it from real IAM (percent-encoded, compact).
    const CONSOLE_ENCODED: &str = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Federated%22%3A%22arn%3Aaws%3Aiam%3A%3A123456789012%3Asaml-provider%2FAzureAD%22%7D%2C%22Action%22%3A%22sts%3AAssumeRoleWithSAML%22%2C%22Condition%22%3A%7B%22StringEquals%22%3A%7B%22SAML%3Aaud%22%3A%22https%3A%2F%2Fsignin.aws.amazon.com%2Fsaml%22%7D%7D%7D%5D%7D";

    #[test]
    fn raw_and_iam_encoded_documents_give_the_same_providers() {
        let raw = saml_providers(CONSOLE_RAW).unwrap();
        assert_eq!(raw, arns(&[AZURE]));
        assert_eq!(saml_providers(CONSOLE_ENCODED).unwrap(), raw);
        assert_eq!(saml_providers(&encode(CONSOLE_RAW)).unwrap(), raw);
        // Leading whitespace does not make raw JSON look encoded.
        assert_eq!(saml_providers(&format!("\n  {CONSOLE_RAW}")).unwrap(), raw);
    }

    #[test]
    fn plus_in_an_encoded_document_is_a_literal_plus() {
        // `+` is an IAM name character; IAM's encoding does not turn it into a space.
        let raw = policy(saml_allow(json!(
            "arn:aws:iam::123456789012:saml-provider/Azure+AD"
        )))
        .to_string();
        let encoded = encode(&raw).replace("%2B", "+");
        assert!(encoded.contains("Azure+AD"), "{encoded}");
        assert_eq!(
            saml_providers(&encoded).unwrap(),
            arns(&["arn:aws:iam::123456789012:saml-provider/Azure+AD"])
        );
    }

    #[test]
    fn statement_may_be_an_object_or_an_array() {
        let one = saml_allow(json!(AZURE));
        assert_eq!(providers(&policy(one.clone())), arns(&[AZURE]));
        assert_eq!(providers(&policy(json!([one]))), arns(&[AZURE]));
        assert_eq!(
            providers(&policy(json!([
                saml_allow(json!(AZURE)),
                saml_allow(json!(OKTA))
            ]))),
            arns(&[AZURE, OKTA])
        );
    }

    #[test]
    fn action_may_be_a_string_or_a_list() {
        let federated = json!({"Federated": AZURE});
        let as_string = allow(federated.clone(), json!("sts:AssumeRoleWithSAML"));
        let as_list = allow(
            federated,
            json!(["sts:TagSession", "sts:AssumeRoleWithSAML"]),
        );
        assert_eq!(providers(&policy(as_string)), arns(&[AZURE]));
        assert_eq!(providers(&policy(as_list)), arns(&[AZURE]));
    }

    #[test]
    fn wildcard_and_case_insensitive_actions_match() {
        for action in [
            "sts:*",
            "*",
            "sts:AssumeRole*",
            "STS:assumerolewithsaml",
            "sts:AssumeRoleWith????",
            "sts:*SAML",
        ] {
            let p = policy(allow(json!({"Federated": AZURE}), json!(action)));
            assert_eq!(providers(&p), arns(&[AZURE]), "{action}");
        }
    }

    #[test]
    fn other_actions_grant_nothing() {
        for action in [
            json!("sts:AssumeRoleWithWebIdentity"),
            json!("sts:AssumeRole"),
            json!(["sts:TagSession", "sts:SetSourceIdentity"]),
            json!("sts:AssumeRoleWithSAML?"),
            json!("iam:*"),
            json!([]),
        ] {
            let p = policy(allow(json!({"Federated": AZURE}), action.clone()));
            assert_eq!(providers(&p), BTreeSet::new(), "{action}");
        }
    }

    #[test]
    fn wildcard_match_follows_iam_rules() {
        assert!(wildcard_match("a*b*c", "axxbyyc"));
        assert!(wildcard_match("a*", "a"));
        assert!(wildcard_match("**", ""));
        assert!(!wildcard_match("a?", "a"));
        assert!(!wildcard_match("a*b", "axxbc"));
        assert!(!wildcard_match("", "a"));
    }

    #[test]
    fn federated_may_be_a_string_or_a_list_of_two() {
        assert_eq!(providers(&policy(saml_allow(json!(AZURE)))), arns(&[AZURE]));
        assert_eq!(
            providers(&policy(saml_allow(json!([AZURE, OKTA])))),
            arns(&[AZURE, OKTA])
        );
    }

    #[test]
    fn non_saml_federated_principals_are_ignored() {
        let p = policy(json!([
            allow(
                json!({"Federated": ["cognito-identity.amazonaws.com", AZURE]}),
                json!("sts:*")
            ),
            allow(
                json!({"Federated": "accounts.google.com"}),
                json!("sts:AssumeRoleWithWebIdentity")
            ),
            allow(
                json!({"Federated": "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"}),
                json!("sts:AssumeRoleWithSAML")
            ),
        ]));
        assert_eq!(providers(&p), arns(&[AZURE]));
    }

    #[test]
    fn other_partitions_are_read() {
        let gov = "arn:aws-us-gov:iam::123456789012:saml-provider/AzureAD";
        let cn = "arn:aws-cn:iam::123456789012:saml-provider/AzureAD";
        let got = providers(&policy(saml_allow(json!([gov, cn]))));
        assert_eq!(got, arns(&[gov, cn]));
        let partitions: BTreeSet<_> = got.iter().map(|a| a.partition()).collect();
        assert_eq!(
            partitions,
            BTreeSet::from([Partition::AwsUsGov, Partition::AwsCn])
        );
    }

    #[test]
    fn a_specific_deny_removes_that_provider() {
        let p = policy(json!([
            saml_allow(json!([AZURE, OKTA])),
            {"Effect": "Deny", "Principal": {"Federated": OKTA}, "Action": "sts:*"},
        ]));
        assert_eq!(providers(&p), arns(&[AZURE]));
        // Deny wins regardless of order, and with a condition it is still taken as applying.
        let p = policy(json!([
            {"Effect": "Deny", "Principal": {"Federated": [AZURE]}, "Action": "sts:AssumeRoleWithSAML",
             "Condition": {"StringNotEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}}},
            saml_allow(json!([AZURE, OKTA])),
        ]));
        assert_eq!(providers(&p), arns(&[OKTA]));
    }

    #[test]
    fn a_deny_on_other_actions_removes_nothing() {
        let p = policy(json!([
            saml_allow(json!(AZURE)),
            {"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole"},
        ]));
        assert_eq!(providers(&p), arns(&[AZURE]));
    }

    #[test]
    fn a_wildcard_deny_removes_every_provider() {
        for principal in [json!("*"), json!({"Federated": "*"}), json!({"AWS": "*"})] {
            let p = policy(json!([
                saml_allow(json!([AZURE, OKTA])),
                {"Effect": "Deny", "Principal": principal, "Action": "*"},
            ]));
            assert_eq!(providers(&p), BTreeSet::new(), "{principal}");
        }
    }

    #[test]
    fn saml_aud_conditions_do_not_change_an_allow() {
        for aud in [
            json!("https://signin.aws.amazon.com/saml"),
            json!([
                "https://signin.aws.amazon.com/saml",
                "https://us-east-1.signin.aws.amazon.com/saml"
            ]),
            json!("https://us-gov-west-1.signin.amazonaws-us-gov.com/saml"),
        ] {
            let mut statement = saml_allow(json!(AZURE));
            statement["Condition"] = json!({"StringEquals": {"SAML:aud": aud}});
            assert_eq!(providers(&policy(statement)), arns(&[AZURE]), "{aud}");
        }
    }

    #[test]
    fn a_service_only_trust_policy_has_no_providers() {
        let p = policy(json!([
            allow(
                json!({"Service": "ec2.amazonaws.com"}),
                json!("sts:AssumeRole")
            ),
            allow(json!({"Service": ["lambda.amazonaws.com"]}), json!("sts:*")),
            allow(json!({"AWS": "arn:aws:iam::123456789012:root"}), json!("*")),
        ]));
        assert_eq!(providers(&p), BTreeSet::new());
    }

    #[test]
    fn not_action_about_other_principals_is_skipped() {
        // Only SAML providers can call AssumeRoleWithSAML, so this cannot change the answer.
        let p = policy(json!([
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "NotAction": "iam:*"},
            {"Effect": "Deny", "Principal": {"Federated": "cognito-identity.amazonaws.com"}, "NotAction": "sts:TagSession"},
            saml_allow(json!(AZURE)),
        ]));
        assert_eq!(providers(&p), arns(&[AZURE]));
    }

    #[test]
    fn not_principal_on_other_actions_is_skipped() {
        let p = policy(json!([
            {"Effect": "Deny", "NotPrincipal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"},
            saml_allow(json!(AZURE)),
        ]));
        assert_eq!(providers(&p), arns(&[AZURE]));
    }

    /// Every error message: one line, lowercase start, no trailing period.
    fn assert_one_line(message: &str) {
        assert!(!message.contains('\n'), "{message}");
        assert!(!message.ends_with('.'), "{message}");
        assert!(
            message.starts_with(|c: char| !c.is_uppercase()),
            "{message}"
        );
    }

    #[test]
    fn each_error_names_what_is_wrong() {
        let cases: Vec<(String, &str)> = vec![
            (
                "%7B%22Statement%22%zz".into(),
                r#"trust policy has invalid percent-encoding "%zz" at byte 18"#,
            ),
            (
                "%7B%22Statement%22%3A%5B%5D%2".into(),
                r#"trust policy has invalid percent-encoding "%2" at byte 27"#,
            ),
            (
                "%7B%FF%7D".into(),
                "percent-decoded trust policy is not valid UTF-8 after byte 1",
            ),
            (
                r#"{"Statement": ["#.into(),
                "trust policy is not valid JSON (line 1, column 15)",
            ),
            (
                "%7B%22Statement%22".into(),
                "trust policy is not valid JSON (line 1, column 12)",
            ),
            ("".into(), "trust policy is not valid JSON (line 1, column 0)"),
            (
                "%5B%5D".into(),
                "trust policy is an array, expected a JSON object",
            ),
            (
                json!({"Version": "2012-10-17"}).to_string(),
                "trust policy has no Statement",
            ),
            (
                json!({"Statement": "Allow"}).to_string(),
                r#"trust policy Statement is a string ("Allow"), expected an object or an array of objects"#,
            ),
            (
                policy(json!([saml_allow(json!(AZURE)), 7])).to_string(),
                "statement 1 is a number (7), expected an object",
            ),
            (
                policy(json!({"Sid": "Fed", "Effect": "allow", "Principal": "*", "Action": "*"}))
                    .to_string(),
                r#"statement 0 (Sid "Fed"): Effect "allow" is neither "Allow" nor "Deny" (the value is case-sensitive)"#,
            ),
            (
                policy(json!({"Principal": {"Federated": AZURE}, "Action": "sts:*"})).to_string(),
                "statement 0: has no Effect",
            ),
            (
                policy(json!({"Effect": "Allow", "Principal": {"Federated": AZURE}})).to_string(),
                "statement 0: has no Action or NotAction",
            ),
            (
                policy(json!({"Effect": "Allow", "Action": "sts:*"})).to_string(),
                "statement 0: has no Principal or NotPrincipal",
            ),
            (
                policy(json!({"Effect": "Allow", "Principal": {"Federated": AZURE},
                              "Action": "sts:*", "NotAction": "iam:*"}))
                .to_string(),
                "statement 0: has both Action and NotAction",
            ),
            (
                policy(json!({"Effect": "Deny", "Principal": "*", "NotPrincipal": {"Federated": AZURE},
                              "Action": "sts:*"}))
                .to_string(),
                "statement 0: has both Principal and NotPrincipal",
            ),
            (
                policy(json!([saml_allow(json!(AZURE)),
                              allow(json!({"Federated": AZURE}), json!(42))]))
                .to_string(),
                "statement 1: Action is a number (42), expected a string or a list of strings",
            ),
            (
                policy(allow(json!({"Federated": AZURE}), json!(["sts:*", {"x": 1}]))).to_string(),
                r#"statement 0: Action is an object ({"x":1}), expected a string or a list of strings"#,
            ),
            (
                policy(allow(json!({"Federated": true}), json!("sts:*"))).to_string(),
                "statement 0: Principal.Federated is a boolean (true), expected a string or a list of strings",
            ),
            (
                policy(allow(json!("arn:aws:iam::123456789012:root"), json!("sts:*"))).to_string(),
                r#"statement 0: Principal is a string ("arn:aws:iam::123456789012:root"), expected "*" or an object"#,
            ),
            (
                policy(json!({"Effect": "Allow", "Principal": {"Federated": AZURE},
                              "NotAction": "sts:AssumeRoleWithWebIdentity"}))
                .to_string(),
                r#"statement 0: NotAction "sts:AssumeRoleWithWebIdentity" with a principal that may be a SAML provider cannot be decided; list the actions under Action instead"#,
            ),
            (
                policy(json!([saml_allow(json!(AZURE)),
                              {"Effect": "Deny", "NotPrincipal": {"Federated": AZURE}, "Action": "sts:*"}]))
                .to_string(),
                r#"statement 1: NotPrincipal {"Federated":"arn:aws:iam::123456789012:saml-provider/AzureAD"} on an action matching sts:AssumeRoleWithSAML cannot be decided; name the providers under Principal.Federated instead"#,
            ),
            (
                policy(allow(json!("*"), json!("sts:AssumeRoleWithSAML"))).to_string(),
                r#"statement 0: Allow of sts:AssumeRoleWithSAML to any principal ("*") cannot be narrowed to SAML providers; name them under Principal.Federated instead"#,
            ),
            (
                policy(allow(json!({"AWS": ["*"]}), json!("sts:*"))).to_string(),
                r#"statement 0: Allow of sts:AssumeRoleWithSAML to any principal ({"AWS":["*"]}) cannot be narrowed to SAML providers; name them under Principal.Federated instead"#,
            ),
            (
                policy(saml_allow(json!([AZURE, "*"]))).to_string(),
                r#"statement 0: Allow of sts:AssumeRoleWithSAML to any principal ({"Federated":["arn:aws:iam::123456789012:saml-provider/AzureAD","*"]}) cannot be narrowed to SAML providers; name them under Principal.Federated instead"#,
            ),
            (
                policy(saml_allow(json!("arn:aws:iam::12345:saml-provider/AzureAD"))).to_string(),
                r#"statement 0: Federated "arn:aws:iam::12345:saml-provider/AzureAD" is not a valid SAML provider ARN"#,
            ),
            (
                policy(saml_allow(json!("arn:aws:iam::123456789012:saml-provider/*"))).to_string(),
                r#"statement 0: Federated "arn:aws:iam::123456789012:saml-provider/*" is not a valid SAML provider ARN"#,
            ),
        ];
        for (document, expected) in cases {
            let message = match saml_providers(&document) {
                Ok(set) => panic!("{document}: expected an error, got {set:?}"),
                Err(e) => e.to_string(),
            };
            assert_eq!(message, expected, "{document}");
            assert_one_line(&message);
        }
    }

    #[test]
    fn provider_arn_errors_keep_the_parse_reason_as_source() {
        let document = policy(saml_allow(json!(
            "arn:aws:iam::12345:saml-provider/AzureAD"
        )));
        let err = saml_providers(&document.to_string()).unwrap_err();
        let source = std::error::Error::source(&err).map(ToString::to_string);
        assert!(
            source.as_deref().is_some_and(|s| s.contains("12 digits")),
            "{source:?}"
        );
    }

    #[test]
    fn long_values_are_shortened_in_messages() {
        let long = "x".repeat(1000);
        let message = error(&json!({"Statement": long}));
        assert!(message.chars().count() < 250, "{message}");
        assert!(message.contains('…'), "{message}");
    }

    /// JSON-ish values biased towards the words a trust policy uses.
    fn json_ish() -> impl Strategy<Value = Value> {
        crate::test_support::json_biased(
            &[
                "Statement",
                "Effect",
                "Action",
                "NotAction",
                "Principal",
                "NotPrincipal",
                "Federated",
                "AWS",
                "Condition",
                "Sid",
            ],
            &[
                "Allow",
                "Deny",
                "*",
                "sts:*",
                "sts:AssumeRoleWithSAML",
                AZURE,
                "arn:aws:iam::1:saml-provider/x",
                "cognito-identity.amazonaws.com",
            ],
        )
    }

    fn string_or_list(
        word: impl Strategy<Value = &'static str> + Clone,
    ) -> impl Strategy<Value = Value> {
        prop_oneof![
            word.clone().prop_map(Value::from),
            prop::collection::vec(word, 0..3).prop_map(Value::from),
        ]
    }

    /// Statements close to real ones, so that many documents parse and some grant providers.
    fn statement_ish() -> impl Strategy<Value = Value> {
        let effect =
            prop_oneof![4 => Just(json!("Allow")), 2 => Just(json!("Deny")), 1 => json_ish()];
        let action_word = prop_oneof![
            Just("sts:AssumeRoleWithSAML"),
            Just("sts:*"),
            Just("*"),
            Just("sts:AssumeRole"),
            Just("iam:*"),
        ];
        let federated_word = prop_oneof![
            3 => Just(AZURE),
            3 => Just(OKTA),
            1 => Just("*"),
            1 => Just("accounts.google.com"),
            1 => Just("arn:aws:iam::1:saml-provider/x"),
        ];
        let principal = prop_oneof![
            4 => string_or_list(federated_word).prop_map(|f| json!({"Federated": f})),
            1 => Just(json!("*")),
            1 => Just(json!({"Service": "ec2.amazonaws.com"})),
            1 => json_ish(),
        ];
        let action_key = prop_oneof![4 => Just("Action"), 1 => Just("NotAction")];
        let principal_key = prop_oneof![4 => Just("Principal"), 1 => Just("NotPrincipal")];
        (
            effect,
            action_key,
            string_or_list(action_word),
            principal_key,
            principal,
            any::<bool>(),
        )
            .prop_map(|(effect, action_key, action, principal_key, principal, condition)| {
                let mut statement = json!({"Effect": effect});
                statement[action_key] = action;
                statement[principal_key] = principal;
                if condition {
                    statement["Condition"] =
                        json!({"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}});
                }
                statement
            })
    }

    fn statements_ish() -> impl Strategy<Value = Vec<Value>> {
        prop::collection::vec(prop_oneof![12 => statement_ish(), 1 => json_ish()], 0..4)
    }

    /// Documents from free-form JSON to near-real policies.
    fn policy_ish() -> impl Strategy<Value = Value> {
        prop_oneof![
            json_ish(),
            json_ish().prop_map(policy),
            statement_ish().prop_map(policy),
            statements_ish().prop_map(|s| policy(Value::Array(s))),
        ]
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_text(text in ".*") {
            let _ = saml_providers(&text);
        }

        #[test]
        fn never_panics_on_arbitrary_json(value in policy_ish()) {
            let raw = value.to_string();
            let from_raw = saml_providers(&raw);
            let from_encoded = saml_providers(&encode(&raw));
            // Either form gives the same answer, whether that is a set or an error.
            match (&from_raw, &from_encoded) {
                (Ok(a), Ok(b)) => {
                    prop_assert_eq!(a, b);
                    // Only providers the document names can come out.
                    for arn in a {
                        prop_assert!(raw.contains(&arn.to_string()), "{arn} not in {raw}");
                    }
                }
                (Err(a), Err(b)) => prop_assert_eq!(a.to_string(), b.to_string()),
                _ => prop_assert!(false, "{raw}: {from_raw:?} vs {from_encoded:?}"),
            }
        }

        #[test]
        fn a_deny_all_statement_always_wins(mut statements in statements_ish()) {
            if saml_providers(&policy(Value::Array(statements.clone())).to_string()).is_ok() {
                statements.push(json!({"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRoleWithSAML"}));
                let got = saml_providers(&policy(Value::Array(statements)).to_string());
                prop_assert_eq!(got.ok(), Some(BTreeSet::new()));
            }
        }
    }
}
