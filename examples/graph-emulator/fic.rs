//! fic: federated identity credentials (workload identity federation) of an app registration —
//! the object, the rules Entra holds a new one to, and how a presented assertion's `iss`, `sub`
//! and `aud` find the credential that trusts it. Pure: no I/O, no clock, no state.
//!
//! The rules, as Entra documents them (learn.microsoft.com, "Important considerations and
//! restrictions for federated identity credentials", and Graph's federatedIdentityCredential
//! resource):
//! - `name`: 3 to 120 characters, letters, digits, `-` and `_`, the first a letter or digit;
//!   unique on the app, ignoring case; immutable.
//! - `issuer`, `subject`: required, at most 600 characters; the pair is unique on the app.
//! - `audiences`: exactly one value, at most 600 characters (`api://AzureADTokenExchange` for
//!   the global cloud).
//! - `description`: optional, at most 600 characters, not otherwise checked.
//! - At most 20 credentials on one app.
//!
//! Matching is exact and case-sensitive for all three values (Entra moved to case-sensitive
//! matching in 2025), with no wildcards: `*` is a character like any other. A presented issuer
//! with leading or trailing whitespace matches nothing, as Entra blocks such a token.

use serde_json::{Map, Value, json};

/// Most credentials one application may hold.
pub const MAX_PER_APPLICATION: usize = 20;
/// Longest `issuer`, `subject`, audience and `description`.
pub const MAX_VALUE_CHARS: usize = 600;
/// Shortest and longest `name`.
pub const NAME_CHARS: std::ops::RangeInclusive<usize> = 3..=120;
/// The properties a client may send when creating one.
pub const CREATE_PROPERTIES: [&str; 5] = ["name", "issuer", "subject", "audiences", "description"];

/// One federated identity credential of an application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FederatedCredential {
    pub id: String,
    pub name: String,
    pub issuer: String,
    pub subject: String,
    /// Exactly one value (checked on creation).
    pub audiences: Vec<String>,
    pub description: Option<String>,
}

impl FederatedCredential {
    /// The credential as Graph returns it.
    pub fn to_json(&self) -> Map<String, Value> {
        let v = json!({
            "id": self.id,
            "name": self.name,
            "issuer": self.issuer,
            "subject": self.subject,
            "description": self.description,
            "audiences": self.audiences,
        });
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }
}

/// Why a new credential is refused; the Graph handler and the seed loader each render it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// A property is missing, of the wrong type, or breaks a format or length rule.
    Invalid(String),
    /// Another credential of the app has this name (ignoring case).
    DuplicateName(String),
    /// Another credential of the app has this issuer and subject.
    DuplicateIssuerSubject { issuer: String, subject: String },
    /// The app already holds [`MAX_PER_APPLICATION`].
    TooMany,
}

impl Refusal {
    /// One line naming what is wrong (the seed loader's wording; Graph's is in `applications`).
    pub fn message(&self) -> String {
        match self {
            Refusal::Invalid(m) => m.clone(),
            Refusal::DuplicateName(name) => {
                format!("FederatedIdentityCredential with name {name} already exists.")
            }
            Refusal::DuplicateIssuerSubject { issuer, subject } => format!(
                "The combination of issuer and subject must be unique for the application. Issuer {issuer} and Subject: {subject} already exist."
            ),
            Refusal::TooMany => format!(
                "An application can have at most {MAX_PER_APPLICATION} federated identity credentials."
            ),
        }
    }
}

fn invalid(message: String) -> Refusal {
    Refusal::Invalid(message)
}

/// Whether `name` follows Entra's rule: 3–120 of `[A-Za-z0-9_-]`, the first alphanumeric.
pub fn valid_name(name: &str) -> bool {
    NAME_CHARS.contains(&name.chars().count())
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn required_text(body: &Map<String, Value>, property: &str) -> Result<String, Refusal> {
    match body.get(property) {
        None | Some(Value::Null) => Err(invalid(format!(
            "A value is required for property '{property}' of resource 'FederatedIdentityCredential'."
        ))),
        Some(Value::String(s)) if s.is_empty() => Err(invalid(format!(
            "A value is required for property '{property}' of resource 'FederatedIdentityCredential'."
        ))),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(invalid(format!(
            "Invalid value specified for property '{property}' of resource 'FederatedIdentityCredential': expected a string."
        ))),
    }
}

fn at_most(property: &str, value: &str) -> Result<(), Refusal> {
    let chars = value.chars().count();
    if chars > MAX_VALUE_CHARS {
        return Err(invalid(format!(
            "Property '{property}' of resource 'FederatedIdentityCredential' has {chars} characters; at most {MAX_VALUE_CHARS} are allowed."
        )));
    }
    Ok(())
}

/// Checks a new credential `body` (`name`, `issuer`, `subject`, `audiences`, `description`?)
/// against the rules and against the app's `existing` credentials; returns it with `id`.
pub fn check_new(
    body: &Map<String, Value>,
    existing: &[FederatedCredential],
    id: String,
) -> Result<FederatedCredential, Refusal> {
    if let Some(other) = body
        .keys()
        .find(|k| !CREATE_PROPERTIES.contains(&k.as_str()))
    {
        return Err(invalid(format!(
            "Property '{other}' does not exist on type 'microsoft.graph.federatedIdentityCredential' or cannot be set."
        )));
    }
    let name = required_text(body, "name")?;
    if !valid_name(&name) {
        return Err(invalid(format!(
            "Federated Identity Credential name '{name}' is invalid: use 3 to 120 letters, digits, '-' or '_', starting with a letter or digit."
        )));
    }
    let issuer = required_text(body, "issuer")?;
    at_most("issuer", &issuer)?;
    let subject = required_text(body, "subject")?;
    at_most("subject", &subject)?;
    let audiences: Vec<String> = match body.get("audiences") {
        None | Some(Value::Null) => {
            return Err(invalid(
                "A value is required for property 'audiences' of resource 'FederatedIdentityCredential'."
                    .into(),
            ));
        }
        Some(Value::Array(values)) => values
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                invalid(
                    "Invalid value specified for property 'audiences' of resource 'FederatedIdentityCredential': expected an array of strings."
                        .into(),
                )
            })?,
        Some(_) => {
            return Err(invalid(
                "Invalid value specified for property 'audiences' of resource 'FederatedIdentityCredential': expected an array of strings."
                    .into(),
            ));
        }
    };
    if audiences.len() != 1 {
        return Err(invalid(format!(
            "Federated identity credentials must have exactly one audience; {} given.",
            audiences.len()
        )));
    }
    if audiences[0].is_empty() {
        return Err(invalid(
            "A value is required for property 'audiences' of resource 'FederatedIdentityCredential'."
                .into(),
        ));
    }
    at_most("audiences", &audiences[0])?;
    let description = match body.get("description") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            at_most("description", s)?;
            Some(s.clone())
        }
        Some(_) => {
            return Err(invalid(
                "Invalid value specified for property 'description' of resource 'FederatedIdentityCredential': expected a string."
                    .into(),
            ));
        }
    };
    if existing.iter().any(|f| f.name.eq_ignore_ascii_case(&name)) {
        return Err(Refusal::DuplicateName(name));
    }
    if existing
        .iter()
        .any(|f| f.issuer == issuer && f.subject == subject)
    {
        return Err(Refusal::DuplicateIssuerSubject { issuer, subject });
    }
    if existing.len() >= MAX_PER_APPLICATION {
        return Err(Refusal::TooMany);
    }
    Ok(FederatedCredential {
        id,
        name,
        issuer,
        subject,
        audiences,
        description,
    })
}

/// Which of a presented assertion's claims found no credential, checked in Entra's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mismatch {
    /// No credential has the assertion's `iss` (AADSTS700211).
    Issuer,
    /// Credentials have the `iss`, none of them the `sub` (AADSTS700213).
    Subject,
    /// A credential has the `iss` and `sub`, its audience is not among the `aud` (AADSTS700212).
    Audience,
}

/// The credential of `credentials` that trusts an assertion from `issuer` about `subject` for
/// `audiences` (the `aud` claim: one value or several; any one of them may match).
pub fn find_match<'a>(
    credentials: &'a [FederatedCredential],
    issuer: &str,
    subject: &str,
    audiences: &[String],
) -> Result<&'a FederatedCredential, Mismatch> {
    if issuer.trim() != issuer {
        return Err(Mismatch::Issuer);
    }
    let same_issuer: Vec<&FederatedCredential> =
        credentials.iter().filter(|f| f.issuer == issuer).collect();
    if same_issuer.is_empty() {
        return Err(Mismatch::Issuer);
    }
    // Issuer and subject are unique together, so at most one credential is left.
    let Some(found) = same_issuer.into_iter().find(|f| f.subject == subject) else {
        return Err(Mismatch::Subject);
    };
    if found.audiences.iter().any(|a| audiences.contains(a)) {
        Ok(found)
    } else {
        Err(Mismatch::Audience)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISS: &str = "https://1b2c3d4e-0000-4000-8000-000000000001.tokens.sts.global.api.aws";
    const ROLE: &str = "arn:aws:iam::111111111111:role/fedsync";
    const AUD: &str = "api://AzureADTokenExchange";

    fn body(name: &str, issuer: &str, subject: &str) -> Map<String, Value> {
        let v = json!({"name": name, "issuer": issuer, "subject": subject, "audiences": [AUD]});
        v.as_object().unwrap().clone()
    }

    fn fic(name: &str, issuer: &str, subject: &str, audience: &str) -> FederatedCredential {
        FederatedCredential {
            id: format!("id-{name}"),
            name: name.into(),
            issuer: issuer.into(),
            subject: subject.into(),
            audiences: vec![audience.into()],
            description: None,
        }
    }

    fn auds(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| (*v).to_owned()).collect()
    }

    #[test]
    fn names_follow_entras_rule() {
        for good in ["abc", "aws-111111111111", "A_b-9", &"x".repeat(120)] {
            assert!(valid_name(good), "{good}");
        }
        for bad in [
            "ab",
            &"x".repeat(121),
            "-abc",
            "_abc",
            "a b c",
            "a.b.c",
            "äbc",
            "",
        ] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn a_new_credential_needs_every_property_and_one_audience() {
        let ok = check_new(&body("aws", ISS, ROLE), &[], "i".into()).unwrap();
        assert_eq!(
            (ok.name.as_str(), ok.audiences.as_slice()),
            ("aws", &[AUD.to_owned()][..])
        );
        for missing in ["name", "issuer", "subject", "audiences"] {
            let mut b = body("aws", ISS, ROLE);
            b.remove(missing);
            let Err(Refusal::Invalid(m)) = check_new(&b, &[], "i".into()) else {
                panic!("{missing} is required");
            };
            assert!(m.contains(&format!("'{missing}'")), "{m}");
        }
        let mut b = body("aws", ISS, ROLE);
        b.insert("audiences".into(), json!([AUD, "api://other"]));
        let e = check_new(&b, &[], "i".into()).unwrap_err().message();
        assert!(e.contains("exactly one audience"), "{e}");
        b.insert("audiences".into(), json!([]));
        assert!(check_new(&b, &[], "i".into()).is_err());
        b.insert("audiences".into(), json!(AUD));
        assert!(
            check_new(&b, &[], "i".into()).is_err(),
            "a string is not a collection"
        );

        let mut b = body("aws", ISS, ROLE);
        b.insert("subject".into(), json!("s".repeat(601)));
        assert!(check_new(&b, &[], "i".into()).is_err());
        b.insert("subject".into(), json!("s".repeat(600)));
        assert!(check_new(&b, &[], "i".into()).is_ok());

        let mut b = body("aws", ISS, ROLE);
        b.insert("id".into(), json!("mine"));
        let e = check_new(&b, &[], "i".into()).unwrap_err().message();
        assert!(e.contains("'id'"), "{e}");

        let e = check_new(&body("a b", ISS, ROLE), &[], "i".into())
            .unwrap_err()
            .message();
        assert!(e.contains("name 'a b' is invalid"), "{e}");
    }

    #[test]
    fn names_and_issuer_subject_pairs_are_unique_and_twenty_is_the_most() {
        let existing = vec![fic("aws", ISS, ROLE, AUD)];
        assert_eq!(
            check_new(&body("AWS", ISS, "other"), &existing, "i".into()),
            Err(Refusal::DuplicateName("AWS".into())),
            "names are unique ignoring case"
        );
        assert_eq!(
            check_new(&body("aws2", ISS, ROLE), &existing, "i".into()),
            Err(Refusal::DuplicateIssuerSubject {
                issuer: ISS.into(),
                subject: ROLE.into()
            })
        );
        // The pair is compared exactly: another case is another subject.
        assert!(
            check_new(
                &body("aws2", ISS, &ROLE.to_uppercase()),
                &existing,
                "i".into()
            )
            .is_ok()
        );

        let full: Vec<FederatedCredential> = (0..MAX_PER_APPLICATION)
            .map(|i| fic(&format!("fic{i}"), ISS, &format!("{ROLE}{i}"), AUD))
            .collect();
        assert_eq!(
            check_new(&body("one-more", ISS, ROLE), &full, "i".into()),
            Err(Refusal::TooMany)
        );
        assert!(check_new(&body("one-more", ISS, ROLE), &full[1..], "i".into()).is_ok());
    }

    #[test]
    fn matching_checks_issuer_then_subject_then_audience_exactly() {
        let other = "https://token.actions.githubusercontent.com";
        let fics = vec![
            fic("gh", other, "repo:o/r:ref:refs/heads/main", AUD),
            fic("aws", ISS, ROLE, AUD),
            fic(
                "aws-cn",
                ISS,
                "arn:aws:iam::111111111111:role/cn",
                "api://AzureADTokenExchangeChina",
            ),
        ];
        assert_eq!(
            find_match(&fics, ISS, ROLE, &auds(&[AUD])).unwrap().name,
            "aws"
        );
        assert_eq!(
            find_match(&fics, ISS, ROLE, &auds(&["api://x", AUD]))
                .unwrap()
                .name,
            "aws",
            "one of several audiences is enough"
        );
        assert_eq!(
            find_match(&fics, "https://elsewhere", ROLE, &auds(&[AUD])),
            Err(Mismatch::Issuer)
        );
        assert_eq!(
            find_match(&fics, &format!("{ISS}/"), ROLE, &auds(&[AUD])),
            Err(Mismatch::Issuer),
            "a trailing slash is another issuer"
        );
        assert_eq!(
            find_match(&fics, &ISS.to_uppercase(), ROLE, &auds(&[AUD])),
            Err(Mismatch::Issuer)
        );
        assert_eq!(
            find_match(&fics, &format!(" {ISS}"), ROLE, &auds(&[AUD])),
            Err(Mismatch::Issuer)
        );
        assert_eq!(
            find_match(
                &fics,
                ISS,
                &ROLE.replace("fedsync", "FedSync"),
                &auds(&[AUD])
            ),
            Err(Mismatch::Subject),
            "subjects match case-sensitively"
        );
        assert_eq!(
            find_match(&fics, ISS, "repo:o/r:ref:refs/heads/main", &auds(&[AUD])),
            Err(Mismatch::Subject),
            "the subject must be on a credential of the same issuer"
        );
        assert_eq!(
            find_match(
                &fics,
                ISS,
                ROLE,
                &auds(&["api://AzureADTokenExchangeChina"])
            ),
            Err(Mismatch::Audience)
        );
        assert_eq!(find_match(&fics, ISS, ROLE, &[]), Err(Mismatch::Audience));
        assert_eq!(
            find_match(
                &[fic("w", ISS, "arn:aws:iam::111111111111:role/*", AUD)],
                ISS,
                ROLE,
                &auds(&[AUD])
            ),
            Err(Mismatch::Subject),
            "no wildcards"
        );
        assert_eq!(
            find_match(&[], ISS, ROLE, &auds(&[AUD])),
            Err(Mismatch::Issuer)
        );
    }
}
