//! trust: can a user of our Entra app, signing in through one SAML provider at one of our
//! audiences, assume this role? An IAM role's trust policy (raw JSON from moto, percent-encoded
//! from real IAM) answered per provider as **yes**, **no** or **can't tell**, with the reason.
//!
//! Decided as the IAM User Guide says IAM evaluates a request:
//! - *Policy evaluation logic* and *The difference between explicit and implicit denies*
//!   (`reference_policies_evaluation-logic*`): a request is allowed only when an `Allow`
//!   statement applies and no `Deny` statement applies; an explicit deny wins over any allow;
//!   the order of statements does not matter.
//! - *Action* / *NotAction*: `*` and `?` wildcards, case-insensitive; `NotAction` covers every
//!   action but those it lists.
//! - *Principal*: `"*"` is every principal, `Federated` values are OR-ed. Some services read
//!   `{"AWS": "*"}` differently from `"*"`, so for a SAML sign-in it is ambiguous: can't tell.
//! - *NotPrincipal*: "You cannot use the NotPrincipal element … in an IAM role trust policy": a
//!   statement with it that concerns `sts:AssumeRoleWithSAML` is can't tell.
//! - *Condition operators*: a key's values are OR-ed, a negated operator's values AND-ed (the key
//!   equals none of them); every operator and key of a block must hold; `…IfExists` and `Null`
//!   test presence; `ForAnyValue:`/`ForAllValues:` over the one value a single-valued key has.
//! - *SAML condition keys*: `SAML:aud` is "an endpoint URL to which SAML assertions are
//!   presented" — for our sign-ins one of the app's reply URLs, [`Audiences`].
//!
//! `SAML:aud` (any case) is the one key whose value is fixed for our sign-ins, so it is
//! evaluated, at each audience fedsync considers ([`Audiences::candidates`]). Every other key
//! (`aws:SourceIp`, `aws:MultiFactorAuthPresent`, `saml:sub`, tags, …) varies per sign-in: it
//! narrows *which* sessions get in, not *whether* anyone can, so an `Allow` with it still says
//! yes and a `Deny` with it never makes the role a no; both are listed as notes. An operator
//! this module does not know, or a policy variable, on `SAML:aud` is can't tell.
//!
//! Three-valued throughout: yes ∧ can't-tell is can't-tell, no wins an ∧, yes wins an ∨. A
//! provider is *yes* when at some audience an `Allow` applies and no `Deny` does. Pure: no I/O,
//! no clock, no async; never panics, whatever the document.

use std::fmt;

use percent_encoding::percent_decode_str;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::model::{IamRole, ProviderVerdict, RoleArn, SamlProviderArn, Trust, TrustVerdict};

/// The one action fedsync cares about.
const ASSUME_ROLE_WITH_SAML: &str = "sts:AssumeRoleWithSAML";
/// The one condition key whose value is fixed for our sign-ins.
const AUDIENCE_KEY: &str = "SAML:aud";
/// Stands in for `*` in an audience pattern: a value no policy names.
const UNNAMED: &str = "fedsync-unnamed";

/// Longest excerpt of the document a message quotes, in characters.
const EXCERPT_CHARS: usize = 120;

/// The AWS sign-in endpoints of every partition, global and regional: the default of
/// `saml-audiences`, comma-separated as the setting takes it.
pub const DEFAULT_AUDIENCES: &str = "https://signin.aws.amazon.com/saml,https://*.signin.aws.amazon.com/saml,https://signin.amazonaws-us-gov.com/saml,https://*.signin.amazonaws-us-gov.com/saml,https://signin.amazonaws.cn/saml,https://*.signin.amazonaws.cn/saml";

/// The `SAML:aud` values our sign-ins can carry: the Entra app's reply URLs. An entry with `*`
/// stands for every URL it matches (`*` matches any run of characters), such as every regional
/// endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Audiences(Vec<String>);

impl Default for Audiences {
    fn default() -> Self {
        Audiences(DEFAULT_AUDIENCES.split(',').map(str::to_owned).collect())
    }
}

impl Audiences {
    /// Checks each entry: an `http://` or `https://` URL without spaces or commas; at least one.
    pub fn new(entries: Vec<String>) -> Result<Audiences, String> {
        if entries.is_empty() {
            return Err("lists no audience; give the Entra app's reply URLs".to_owned());
        }
        for entry in &entries {
            let rest = entry
                .strip_prefix("https://")
                .or_else(|| entry.strip_prefix("http://"));
            match rest {
                Some(rest) if !rest.is_empty() && !rest.contains(char::is_whitespace) => {}
                _ => return Err(format!("{entry:?} is not an https:// URL")),
            }
        }
        Ok(Audiences(entries))
    }

    pub fn entries(&self) -> &[String] {
        &self.0
    }

    /// The audiences a policy is tried at: each entry without `*` as it is; for an entry with
    /// `*`, every value the policy names under `SAML:aud` that the entry matches (wildcards of
    /// `StringLike` values filled in), and one value the policy names nowhere, standing for all
    /// the others.
    fn candidates(&self, named: &[&str]) -> Vec<Candidate> {
        let mut out: Vec<Candidate> = Vec::new();
        let mut push = |value: String, label: String| {
            if !out.iter().any(|c| c.value == value) {
                out.push(Candidate { value, label });
            }
        };
        for entry in &self.0 {
            if !entry.contains('*') {
                push(entry.clone(), entry.clone());
                continue;
            }
            for value in named {
                for variant in [value.to_string(), value.to_lowercase()] {
                    for fill in ["", "x"] {
                        let instance = variant.replace(['*', '?'], fill);
                        if glob(entry, &instance, false) {
                            push(instance.clone(), instance);
                        }
                    }
                }
            }
            push(
                entry.replace('*', UNNAMED),
                format!("{entry} (any value the policy does not name)"),
            );
        }
        out
    }
}

impl fmt::Display for Audiences {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(","))
    }
}

/// One audience a policy is tried at, and how to show it.
#[derive(Clone, Debug)]
struct Candidate {
    value: String,
    label: String,
}

/// The answer for one provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Answer {
    Yes,
    No,
    CantTell,
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Answer::Yes => "yes",
            Answer::No => "no",
            Answer::CantTell => "can't tell",
        })
    }
}

/// What a trust policy says about one SAML provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderTrust {
    pub provider: SamlProviderArn,
    pub answer: Answer,
    /// One line: which statement decided, and how.
    pub reason: String,
    /// Each statement's part in the answer, for `fedsync explain` (empty unless asked for).
    pub steps: Vec<String>,
    /// A statement about `sts:AssumeRoleWithSAML` names this provider (or every provider), so
    /// the policy was written with it in mind, whatever the answer.
    pub named: bool,
}

/// A trust policy decided for each provider asked about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evaluation {
    /// One per provider asked about, in the order asked.
    pub providers: Vec<ProviderTrust>,
    /// Conditions on keys that vary per sign-in, which narrow who gets in.
    pub notes: Vec<String>,
    /// Some statement may concern `sts:AssumeRoleWithSAML` by a SAML provider, or the policy
    /// cannot be read.
    pub mentions_saml: bool,
}

impl Evaluation {
    /// The answer for `provider`, when it was asked about.
    pub fn get(&self, provider: &SamlProviderArn) -> Option<&ProviderTrust> {
        self.providers.iter().find(|p| &p.provider == provider)
    }
}

/// Where in the policy a statement sits: its position in `Statement` (0-based; a lone
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

/// Why a trust policy, or one statement of it, cannot be read.
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
        element: String,
        found: String,
        expected: &'static str,
    },
}

/// Decides `document` for each of `providers`, at `audiences`.
///
/// ```
/// use fedsync::trust::{evaluate, Answer, Audiences};
/// let policy = r#"{"Version": "2012-10-17", "Statement": {
///     "Effect": "Allow",
///     "Principal": {"Federated": "arn:aws:iam::123456789012:saml-provider/AzureAD"},
///     "Action": "sts:AssumeRoleWithSAML",
///     "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}}}}"#;
/// let azure = "arn:aws:iam::123456789012:saml-provider/AzureAD".parse().unwrap();
/// let okta = "arn:aws:iam::123456789012:saml-provider/Okta".parse().unwrap();
/// let got = evaluate(policy, &[azure, okta], &Audiences::default());
/// assert_eq!(got.providers[0].answer, Answer::Yes);
/// assert_eq!(got.providers[1].answer, Answer::No);
///
/// // Real IAM returns the document percent-encoded: the answer is the same.
/// let encoded = "%7B%22Statement%22%3A%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Federated%22%3A%22arn%3Aaws%3Aiam%3A%3A123456789012%3Asaml-provider%2FAzureAD%22%7D%2C%22Action%22%3A%22sts%3AAssumeRoleWithSAML%22%7D%7D";
/// let again = evaluate(encoded, &[got.providers[0].provider.clone()], &Audiences::default());
/// assert_eq!(again.providers[0].answer, Answer::Yes);
/// ```
pub fn evaluate(
    document: &str,
    providers: &[SamlProviderArn],
    audiences: &Audiences,
) -> Evaluation {
    evaluate_with(document, providers, audiences, true)
}

/// [`evaluate`], with each provider's `steps` only when `explained` (the inventory of a large
/// Organization decides many roles and prints none of that).
fn evaluate_with(
    document: &str,
    providers: &[SamlProviderArn],
    audiences: &Audiences,
    explained: bool,
) -> Evaluation {
    let statements = match read_policy(document) {
        Ok(statements) => statements,
        Err(e) => {
            return evaluate_unreadable(
                providers,
                &format!("the trust policy cannot be read: {e}"),
            );
        }
    };
    let named: Vec<&str> = statements
        .iter()
        .flat_map(|s| s.audience_values())
        .collect();
    let candidates = audiences.candidates(&named);
    let notes = statements
        .iter()
        .filter(|s| !matches!(s.action, Tri::No(_)))
        .flat_map(Statement::notes)
        .collect();
    let mentions_saml = statements.iter().any(Statement::may_concern_saml);
    Evaluation {
        providers: providers
            .iter()
            .map(|p| decide(&statements, p, &candidates, explained))
            .collect(),
        notes,
        mentions_saml,
    }
}

/// A provider asked about, with its verdict and why (from [`crate::metadata::classify`]).
#[derive(Clone, Debug)]
pub struct AskedProvider {
    pub arn: SamlProviderArn,
    pub verdict: ProviderVerdict,
    pub reason: String,
}

/// The inventory's record of a role: the trust policy's answer for each provider asked about,
/// joined with that provider's verdict; none when the role concerns none of them (every answer
/// no, and no statement names one). `document` is none when IAM gave no trust policy.
///
/// The join: a yes through a provider that is ours is yes; through a provider with our entity
/// id and an unknown certificate, unknown-certificate; through an undecided provider, can't
/// tell. A no is a no and a can't-tell a can't-tell, whatever the provider. With `explained`,
/// the evaluation carries each statement's part (for `fedsync explain`).
pub fn judge(
    arn: &RoleArn,
    document: Option<&str>,
    providers: &[AskedProvider],
    audiences: &Audiences,
    explained: bool,
) -> (Option<IamRole>, Evaluation) {
    let arns: Vec<SamlProviderArn> = providers.iter().map(|p| p.arn.clone()).collect();
    let evaluation = match document {
        Some(document) => evaluate_with(document, &arns, audiences, explained),
        None => evaluate_unreadable(&arns, "IAM listed the role without a trust policy"),
    };
    let trust: Vec<Trust> = providers
        .iter()
        .zip(&evaluation.providers)
        .map(|(provider, answer)| {
            let (verdict, reason) = match (answer.answer, provider.verdict) {
                (Answer::No, _) => (TrustVerdict::No, answer.reason.clone()),
                (Answer::CantTell, _) => (TrustVerdict::CantTell, answer.reason.clone()),
                (Answer::Yes, ProviderVerdict::Ours) => (TrustVerdict::Yes, answer.reason.clone()),
                (Answer::Yes, ProviderVerdict::UnknownCertificate) => (
                    TrustVerdict::UnknownCertificate,
                    format!("the trust policy lets {} in, but {}", provider.arn, provider.reason),
                ),
                (Answer::Yes, ProviderVerdict::CantTell | ProviderVerdict::NotOurs) => (
                    TrustVerdict::CantTell,
                    format!(
                        "the trust policy lets {} in, but whether the provider is ours cannot be told: {}",
                        provider.arn, provider.reason
                    ),
                ),
            };
            Trust {
                provider: provider.arn.clone(),
                verdict,
                reason,
            }
        })
        .collect();
    let concerns = trust.iter().any(|t| t.verdict != TrustVerdict::No)
        || evaluation.providers.iter().any(|p| p.named);
    let role = concerns.then(|| IamRole {
        arn: arn.clone(),
        trust,
        notes: evaluation.notes.clone(),
    });
    (role, evaluation)
}

/// Can't tell for every provider, for one reason.
fn evaluate_unreadable(providers: &[SamlProviderArn], reason: &str) -> Evaluation {
    Evaluation {
        providers: providers
            .iter()
            .map(|p| ProviderTrust {
                provider: p.clone(),
                answer: Answer::CantTell,
                reason: reason.to_owned(),
                steps: vec![reason.to_owned()],
                named: true,
            })
            .collect(),
        notes: Vec::new(),
        mentions_saml: true,
    }
}

/// A three-valued truth, with the reason when it is not plainly true.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Tri {
    Yes,
    No(String),
    Unknown(String),
}

impl Tri {
    /// Kleene ∧: a no wins, then can't tell.
    fn and(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::No(r), _) | (_, Tri::No(r)) => Tri::No(r),
            (Tri::Unknown(r), _) | (_, Tri::Unknown(r)) => Tri::Unknown(r),
            (Tri::Yes, Tri::Yes) => Tri::Yes,
        }
    }

    /// Kleene ∨ over many: a yes wins, then can't tell; `none` when there is nothing.
    fn any(terms: impl IntoIterator<Item = Tri>, none: &str) -> Tri {
        let mut unknown = None;
        let mut no = None;
        for term in terms {
            match term {
                Tri::Yes => return Tri::Yes,
                Tri::Unknown(r) => {
                    unknown.get_or_insert(r);
                }
                Tri::No(r) => {
                    no.get_or_insert(r);
                }
            }
        }
        match (unknown, no) {
            (Some(r), _) => Tri::Unknown(r),
            (None, Some(r)) => Tri::No(r),
            (None, None) => Tri::No(none.to_owned()),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Effect {
    Allow,
    Deny,
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        })
    }
}

/// Who a statement's `Principal` (or `NotPrincipal`) element names, as far as SAML goes.
enum Principal {
    /// `"*"`.
    Everyone,
    Named {
        /// `Federated` values.
        federated: Vec<String>,
        /// `{"AWS": "*"}`: ambiguous for a SAML sign-in.
        aws_everyone: bool,
        /// Principal types IAM does not have (a typo), which make the statement unreadable.
        unknown_types: Vec<String>,
    },
    /// `NotPrincipal`, which a role trust policy may not use; its JSON.
    Not(String),
}

/// One `Condition` test: operator, key, values.
struct Test {
    operator: String,
    key: String,
    values: Value,
}

/// One statement, each element read on its own, so that a broken element makes only what
/// depends on it unknown.
struct Statement {
    at: StatementRef,
    effect: Result<Effect, String>,
    /// Covers `sts:AssumeRoleWithSAML`.
    action: Tri,
    principal: Result<Principal, String>,
    conditions: Result<Vec<Test>, String>,
}

/// The statements of a readable policy; an error when the document itself cannot be read.
fn read_policy(document: &str) -> Result<Vec<Statement>, TrustError> {
    let policy = parse(document)?;
    let Value::Object(policy) = policy else {
        return Err(TrustError::NotAnObject {
            found: kind(&policy),
        });
    };
    let entries: Vec<&Value> = match policy.get("Statement") {
        None => return Err(TrustError::MissingStatement),
        Some(one @ Value::Object(_)) => vec![one],
        Some(Value::Array(many)) => many.iter().collect(),
        Some(other) => {
            return Err(TrustError::StatementType {
                found: describe(other),
            });
        }
    };
    Ok(entries
        .into_iter()
        .enumerate()
        .map(|(index, entry)| Statement::read(index, entry))
        .collect())
}

impl Statement {
    fn read(index: usize, entry: &Value) -> Statement {
        let Value::Object(statement) = entry else {
            let problem = TrustError::StatementEntryType {
                index,
                found: describe(entry),
            }
            .to_string();
            return Statement {
                at: StatementRef { index, sid: None },
                effect: Err(problem.clone()),
                action: Tri::Unknown(problem.clone()),
                principal: Err(problem.clone()),
                conditions: Err(problem),
            };
        };
        let at = StatementRef {
            index,
            sid: statement
                .get("Sid")
                .and_then(Value::as_str)
                .map(|s| truncate(s.to_owned())),
        };
        Statement {
            effect: read_effect(&at, statement),
            action: read_action(&at, statement),
            principal: read_principal(&at, statement),
            conditions: read_conditions(&at, statement),
            at,
        }
    }

    fn effect_name(&self) -> String {
        match &self.effect {
            Ok(effect) => effect.to_string(),
            Err(_) => "unreadable Effect".to_owned(),
        }
    }

    /// The `SAML:aud` values this statement names, for the audiences to try.
    fn audience_values(&self) -> Vec<&str> {
        let Ok(tests) = &self.conditions else {
            return Vec::new();
        };
        tests
            .iter()
            .filter(|t| is_audience_key(&t.key))
            .flat_map(|t| match &t.values {
                Value::String(s) => vec![s.as_str()],
                Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            })
            .collect()
    }

    /// A note for each condition on a key that varies per sign-in.
    fn notes(&self) -> Vec<String> {
        let Ok(tests) = &self.conditions else {
            return Vec::new();
        };
        tests
            .iter()
            .filter(|t| !is_audience_key(&t.key))
            .map(|t| match self.effect {
                Ok(Effect::Deny) => format!(
                    "{} (Deny) denies sessions for which {} {} {} holds; that narrows who gets in, it does not make the role a no",
                    self.at,
                    t.operator,
                    t.key,
                    excerpt(&t.values)
                ),
                _ => format!(
                    "{} ({}) lets in only sessions for which {} {} {} holds",
                    self.at,
                    self.effect_name(),
                    t.operator,
                    t.key,
                    excerpt(&t.values)
                ),
            })
            .collect()
    }

    fn may_concern_saml(&self) -> bool {
        if matches!(self.action, Tri::No(_)) {
            return false;
        }
        match &self.principal {
            Ok(Principal::Everyone | Principal::Not(_)) | Err(_) => true,
            Ok(Principal::Named {
                federated,
                aws_everyone,
                unknown_types,
            }) => {
                *aws_everyone
                    || !unknown_types.is_empty()
                    || federated
                        .iter()
                        .any(|f| f.contains('*') || f.to_ascii_lowercase().contains("saml"))
            }
        }
    }

    /// Whether the principal element covers `provider`.
    fn covers(&self, provider: &SamlProviderArn) -> Tri {
        let at = &self.at;
        match &self.principal {
            Err(problem) => Tri::Unknown(problem.clone()),
            Ok(Principal::Everyone) => Tri::Yes,
            Ok(Principal::Not(json)) => Tri::Unknown(format!(
                "{at}: NotPrincipal {json} cannot be used in a role trust policy (IAM User Guide, NotPrincipal), so what IAM does with it is undefined"
            )),
            Ok(Principal::Named {
                federated,
                aws_everyone,
                unknown_types,
            }) => {
                let arn = provider.to_string();
                let mut terms = Vec::new();
                for value in federated {
                    terms.push(if value == "*" || glob(value, &arn, false) {
                        Tri::Yes
                    } else if glob(value, &arn, true) {
                        Tri::Unknown(format!(
                            "{at}: Federated {value:?} matches {arn} only when case is ignored"
                        ))
                    } else {
                        Tri::No(String::new())
                    });
                }
                if *aws_everyone {
                    terms.push(Tri::Unknown(format!(
                        "{at}: Principal {{\"AWS\": \"*\"}} is read differently by different services; whether it covers a SAML sign-in is undocumented"
                    )));
                }
                for kind in unknown_types {
                    terms.push(Tri::Unknown(format!(
                        "{at}: Principal type {kind:?} is not one IAM has (AWS, Federated, Service, CanonicalUser)"
                    )));
                }
                Tri::any(terms, "").or_no(|| format!("{at}: its Principal does not name {arn}"))
            }
        }
    }

    /// Whether the statement's conditions hold at `audience`. Conditions on keys that vary per
    /// sign-in hold for an `Allow` (some sessions get in) and not for a `Deny` (some sessions
    /// are not denied).
    fn condition_holds(&self, audience: &str) -> Tri {
        let at = &self.at;
        let tests = match &self.conditions {
            Ok(tests) => tests,
            Err(problem) => return Tri::Unknown(problem.clone()),
        };
        let mut result = Tri::Yes;
        for test in tests {
            let term = if is_audience_key(&test.key) {
                match audience_test(&test.operator, &test.values, audience) {
                    Ok(true) => Tri::Yes,
                    Ok(false) => Tri::No(format!(
                        "{at}: {} {} {} does not hold",
                        test.operator,
                        test.key,
                        excerpt(&test.values)
                    )),
                    Err(problem) => Tri::Unknown(format!(
                        "{at}: {} {} {}: {problem}",
                        test.operator,
                        test.key,
                        excerpt(&test.values)
                    )),
                }
            } else if self.effect == Ok(Effect::Deny) {
                Tri::No(format!(
                    "{at}: denies only sessions for which {} {} holds",
                    test.operator, test.key
                ))
            } else {
                Tri::Yes
            };
            result = result.and(term);
        }
        result
    }

    /// Whether the statement applies to a sign-in through `provider` at `audience`, leaving
    /// out its effect.
    fn applies(&self, provider: &SamlProviderArn, audience: &str) -> Tri {
        self.action
            .clone()
            .and(self.covers(provider))
            .and(self.condition_holds(audience))
    }
}

impl Tri {
    /// A no with an empty reason gets `reason`.
    fn or_no(self, reason: impl FnOnce() -> String) -> Tri {
        match self {
            Tri::No(r) if r.is_empty() => Tri::No(reason()),
            other => other,
        }
    }
}

fn read_effect(at: &StatementRef, statement: &Map<String, Value>) -> Result<Effect, String> {
    match statement.get("Effect") {
        Some(Value::String(s)) if s == "Allow" => Ok(Effect::Allow),
        Some(Value::String(s)) if s == "Deny" => Ok(Effect::Deny),
        Some(other) => Err(TrustError::Effect {
            at: at.clone(),
            found: excerpt(other),
        }
        .to_string()),
        None => Err(TrustError::MissingElement {
            at: at.clone(),
            element: "Effect",
        }
        .to_string()),
    }
}

fn read_action(at: &StatementRef, statement: &Map<String, Value>) -> Tri {
    let not_covered = || {
        Tri::No(format!(
            "{at}: its actions do not cover {ASSUME_ROLE_WITH_SAML}"
        ))
    };
    match (statement.get("Action"), statement.get("NotAction")) {
        (Some(_), Some(_)) => Tri::Unknown(
            TrustError::ConflictingElements {
                at: at.clone(),
                first: "Action",
                second: "NotAction",
            }
            .to_string(),
        ),
        (None, None) => Tri::Unknown(
            TrustError::MissingElement {
                at: at.clone(),
                element: "Action or NotAction",
            }
            .to_string(),
        ),
        (Some(action), None) => match strings(at, "Action", action) {
            Err(e) => Tri::Unknown(e.to_string()),
            Ok(list) if list.iter().any(|p| glob(p, ASSUME_ROLE_WITH_SAML, true)) => Tri::Yes,
            Ok(_) => not_covered(),
        },
        (None, Some(not_action)) => match strings(at, "NotAction", not_action) {
            Err(e) => Tri::Unknown(e.to_string()),
            Ok(list) if list.iter().any(|p| glob(p, ASSUME_ROLE_WITH_SAML, true)) => not_covered(),
            Ok(_) => Tri::Yes,
        },
    }
}

fn read_principal(at: &StatementRef, statement: &Map<String, Value>) -> Result<Principal, String> {
    let value = match (statement.get("Principal"), statement.get("NotPrincipal")) {
        (Some(_), Some(_)) => {
            return Err(TrustError::ConflictingElements {
                at: at.clone(),
                first: "Principal",
                second: "NotPrincipal",
            }
            .to_string());
        }
        (None, None) => {
            return Err(TrustError::MissingElement {
                at: at.clone(),
                element: "Principal or NotPrincipal",
            }
            .to_string());
        }
        (None, Some(not)) => return Ok(Principal::Not(excerpt(not))),
        (Some(value), None) => value,
    };
    let map = match value {
        Value::String(s) if s == "*" => return Ok(Principal::Everyone),
        Value::Object(map) => map,
        other => {
            return Err(TrustError::ElementType {
                at: at.clone(),
                element: "Principal".to_owned(),
                found: describe(other),
                expected: "\"*\" or an object",
            }
            .to_string());
        }
    };
    let mut federated = Vec::new();
    let mut aws_everyone = false;
    let mut unknown_types = Vec::new();
    for (kind, values) in map {
        let element = format!("Principal.{kind}");
        let list = strings(at, &element, values).map_err(|e| e.to_string())?;
        match kind.as_str() {
            "Federated" => federated.extend(list.into_iter().map(str::to_owned)),
            "AWS" => aws_everyone |= list.contains(&"*"),
            "Service" | "CanonicalUser" => {}
            other => unknown_types.push(truncate(other.to_owned())),
        }
    }
    Ok(Principal::Named {
        federated,
        aws_everyone,
        unknown_types,
    })
}

fn read_conditions(at: &StatementRef, statement: &Map<String, Value>) -> Result<Vec<Test>, String> {
    let Some(condition) = statement.get("Condition") else {
        return Ok(Vec::new());
    };
    let wrong = |element: String, found: &Value| {
        TrustError::ElementType {
            at: at.clone(),
            element,
            found: describe(found),
            expected: "an object",
        }
        .to_string()
    };
    let Value::Object(operators) = condition else {
        return Err(wrong("Condition".to_owned(), condition));
    };
    let mut tests = Vec::new();
    for (operator, block) in operators {
        let Value::Object(keys) = block else {
            return Err(wrong(format!("Condition.{operator}"), block));
        };
        for (key, values) in keys {
            tests.push(Test {
                operator: truncate(operator.clone()),
                key: truncate(key.clone()),
                values: values.clone(),
            });
        }
    }
    Ok(tests)
}

fn is_audience_key(key: &str) -> bool {
    key.eq_ignore_ascii_case(AUDIENCE_KEY)
}

/// One test of the single-valued, always present key `SAML:aud` against `audience`; an error
/// when the operator or the values cannot be decided.
fn audience_test(operator: &str, values: &Value, audience: &str) -> Result<bool, String> {
    let (set, rest) = match operator.split_once(':') {
        Some((set @ ("ForAnyValue" | "ForAllValues"), rest)) => (Some(set), rest),
        Some(_) => return Err("is not a condition operator fedsync knows".to_owned()),
        None => (None, operator),
    };
    let (base, if_exists) = match rest.strip_suffix("IfExists") {
        Some(base) => (base, true),
        None => (rest, false),
    };
    if base == "Null" {
        if set.is_some() || if_exists {
            return Err("Null takes no set operator and no IfExists".to_owned());
        }
        // SAML:aud is always in a SAML sign-in's request context.
        return match values {
            Value::Bool(b) => Ok(!b),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(false),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(true),
            _ => Err("Null takes true or false".to_owned()),
        };
    }
    let list: Vec<&str> = match values {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|v| v.as_str().ok_or("values must be strings"))
            .collect::<Result<_, _>>()?,
        _ => return Err("values must be a string or a non-empty list of strings".to_owned()),
    };
    if list.iter().any(|v| v.contains("${")) {
        return Err("a policy variable in the value cannot be decided before sign-in".to_owned());
    }
    let lower = audience.to_lowercase();
    // With one value in the request, ForAnyValue and ForAllValues ask the same as the plain
    // operator; IfExists changes nothing for a key that is present.
    let result = match base {
        "StringEquals" => list.contains(&audience),
        "StringNotEquals" => list.iter().all(|v| *v != audience),
        "StringEqualsIgnoreCase" => list.iter().any(|v| v.to_lowercase() == lower),
        "StringNotEqualsIgnoreCase" => list.iter().all(|v| v.to_lowercase() != lower),
        "StringLike" => list.iter().any(|v| glob(v, audience, false)),
        "StringNotLike" => list.iter().all(|v| !glob(v, audience, false)),
        _ => return Err("is not a string condition operator fedsync knows".to_owned()),
    };
    Ok(result)
}

/// A statement's part for one provider, over every audience tried.
struct Part<'a> {
    statement: &'a Statement,
    /// Per candidate: whether it applies.
    terms: Vec<Tri>,
}

/// The answer for one provider.
fn decide(
    statements: &[Statement],
    provider: &SamlProviderArn,
    candidates: &[Candidate],
    explained: bool,
) -> ProviderTrust {
    let unreadable_effect = |s: &Statement| s.effect.clone().err();
    let parts: Vec<Part> = statements
        .iter()
        .map(|statement| Part {
            statement,
            terms: candidates
                .iter()
                .map(|c| {
                    let applies = statement.applies(provider, &c.value);
                    match unreadable_effect(statement) {
                        // Either effect could follow: unknown unless it does not apply.
                        Some(problem) => applies.and(Tri::Unknown(problem)),
                        None => applies,
                    }
                })
                .collect(),
        })
        .collect();
    let named = statements
        .iter()
        .any(|s| !matches!(s.action, Tri::No(_)) && !matches!(s.covers(provider), Tri::No(_)));
    let is = |part: &Part, effect: Effect| match part.statement.effect {
        Ok(e) => e == effect,
        Err(_) => true,
    };
    let arn = provider.to_string();
    let mut reach = Vec::new();
    for (i, _) in candidates.iter().enumerate() {
        let allowed = Tri::any(
            parts
                .iter()
                .filter(|p| is(p, Effect::Allow))
                .map(|p| p.terms[i].clone()),
            "",
        );
        let denied = Tri::any(
            parts
                .iter()
                .filter(|p| is(p, Effect::Deny))
                .map(|p| p.terms[i].clone()),
            "",
        );
        let not_denied = match denied {
            Tri::Yes => Tri::No("denied".to_owned()),
            Tri::No(_) => Tri::Yes,
            unknown => unknown,
        };
        reach.push(allowed.and(not_denied));
    }

    let (answer, reason) = if let Some(i) = reach.iter().position(|r| *r == Tri::Yes) {
        let by = parts
            .iter()
            .find(|p| is(p, Effect::Allow) && p.terms[i] == Tri::Yes)
            .map(|p| p.statement.at.to_string())
            .unwrap_or_default();
        (
            Answer::Yes,
            format!(
                "{by} allows {ASSUME_ROLE_WITH_SAML} by {arn} at {}, and no statement denies it there",
                candidates[i].label
            ),
        )
    } else if let Some(Tri::Unknown(why)) = reach.iter().find(|r| matches!(r, Tri::Unknown(_))) {
        (Answer::CantTell, why.clone())
    } else {
        (Answer::No, why_not(&parts, candidates, provider))
    };
    let steps = if explained {
        parts.iter().map(|part| step(part, candidates)).collect()
    } else {
        Vec::new()
    };
    ProviderTrust {
        provider: provider.clone(),
        answer,
        reason,
        steps,
        named,
    }
}

/// Why no audience lets `arn` in: no allow covers it, its audience condition holds nowhere,
/// or a deny applies wherever it is allowed.
fn why_not(parts: &[Part], candidates: &[Candidate], provider: &SamlProviderArn) -> String {
    let arn = provider.to_string();
    let allows: Vec<&Part> = parts
        .iter()
        .filter(|p| p.statement.effect == Ok(Effect::Allow))
        .collect();
    let allowed_somewhere = |part: &&Part| part.terms.contains(&Tri::Yes);
    if !allows.iter().any(allowed_somewhere) {
        // An allow that names the provider but whose audience condition never holds.
        let restricted = allows.iter().find(|p| {
            !matches!(p.statement.action, Tri::No(_))
                && matches!(p.statement.covers(provider), Tri::Yes)
        });
        return match restricted.and_then(|p| p.terms.first()) {
            Some(Tri::No(why)) => format!("{why} at any of saml-audiences"),
            _ => format!("no statement allows {ASSUME_ROLE_WITH_SAML} by {arn}"),
        };
    }
    for part in parts
        .iter()
        .filter(|p| p.statement.effect == Ok(Effect::Deny))
    {
        if let Some(i) = part.terms.iter().position(|t| *t == Tri::Yes) {
            return format!(
                "{} denies {ASSUME_ROLE_WITH_SAML} by {arn} (at {}, and wherever it is allowed)",
                part.statement.at, candidates[i].label
            );
        }
    }
    format!("no statement allows {ASSUME_ROLE_WITH_SAML} by {arn}")
}

/// One line on what a statement does for the provider, over the audiences tried.
fn step(part: &Part, candidates: &[Candidate]) -> String {
    let at = &part.statement.at;
    let effect = part.statement.effect_name();
    let applies_at: Vec<&str> = part
        .terms
        .iter()
        .zip(candidates)
        .filter(|(t, _)| **t == Tri::Yes)
        .map(|(_, c)| c.label.as_str())
        .collect();
    let first_other = part.terms.iter().find(|t| **t != Tri::Yes);
    match (applies_at.len(), first_other) {
        (_, None) => format!("{at} ({effect}): applies at every audience"),
        (0, Some(Tri::No(why))) => format!("{at} ({effect}): does not apply: {}", strip(why, at)),
        (0, Some(Tri::Unknown(why))) => format!("{at} ({effect}): can't tell: {}", strip(why, at)),
        (_, Some(Tri::No(why) | Tri::Unknown(why))) => format!(
            "{at} ({effect}): applies at {}; elsewhere: {}",
            applies_at.join(", "),
            strip(why, at)
        ),
        (_, Some(Tri::Yes)) => format!("{at} ({effect}): applies"),
    }
}

/// `why` without its leading `statement N: `, when the step names the statement already.
fn strip<'a>(why: &'a str, at: &StatementRef) -> &'a str {
    why.strip_prefix(&format!("{at}: ")).unwrap_or(why)
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

/// A string or a list of strings, as IAM takes for Action, NotAction and principal values.
fn strings<'a>(
    at: &StatementRef,
    element: &str,
    value: &'a Value,
) -> Result<Vec<&'a str>, TrustError> {
    const EXPECTED: &str = "a string or a list of strings";
    let wrong = |found: &Value| TrustError::ElementType {
        at: at.clone(),
        element: element.to_owned(),
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

/// IAM wildcard matching: `*` matches any run of characters (also none), `?` exactly one;
/// ASCII case ignored when `ignore_case` (actions), not otherwise (ARNs, string conditions).
/// ASCII text (nearly all of it) is matched byte by byte, without allocating.
fn glob(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let same = |a: char, b: char| a == b || (ignore_case && a.eq_ignore_ascii_case(&b));
    if pattern.is_ascii() && text.is_ascii() {
        let same = |a: u8, b: u8| same(char::from(a), char::from(b));
        return glob_units(pattern.as_bytes(), text.as_bytes(), (b'*', b'?'), same);
    }
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    glob_units(&pattern, &text, ('*', '?'), same)
}

/// [`glob`] over characters (or bytes of ASCII text); `(any, one)` are the `*` and the `?`.
fn glob_units<T: Copy + PartialEq>(
    pattern: &[T],
    text: &[T],
    (any, one): (T, T),
    same: impl Fn(T, T) -> bool,
) -> bool {
    let (mut p, mut t) = (0, 0);
    // Where the last `*` was, and the text position it currently swallows up to.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(&c) if c == any => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == one || same(c, text[t]) => {
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
    pattern[p..].iter().all(|&c| c == any)
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

/// The value as compact, one-line JSON, shortened for a message.
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
mod tests;
