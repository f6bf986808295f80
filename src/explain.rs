//! explain: why fedsync decides what it decides about one role, or about every role of an
//! account that concerns SAML — the account's standing, each SAML provider (ours or not, and
//! why: entity id, certificates), and per role and provider the verdict, the statement that
//! decided it and how each statement and condition was read.
//!
//! Builds an [`Explanation`] from what [`crate::aws::account`] read and what
//! [`crate::metadata::classify`] and [`crate::trust::judge`] decided, and renders it as text or
//! as JSON (schema `fedsync.explain/v1`, fields only ever added). Pure: no I/O, never prints.

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

use crate::metadata::ProviderMatch;
use crate::model::{
    AccountId, AppName, ProviderVerdict, RoleArn, SamlProviderArn, SkipReason, Thumbprint,
    TrustVerdict,
};
use crate::trust::{Evaluation, ProviderTrust};

/// The schema name of [`to_json`]'s output.
pub const SCHEMA: &str = "fedsync.explain/v1";

/// What `fedsync sync` does with the account, by the Organization's listing and the settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Standing {
    /// Listed, active and selected: sync reads it.
    Read,
    /// Listed but not read: its app roles are held (or, closed, disabled).
    Skipped { reason: SkipReason, state: String },
    /// Not in the Organization's listing.
    NotListed,
    /// fedsync runs outside an Organization: only its own account is read.
    OutsideOrganization,
}

impl Standing {
    fn describe(&self) -> String {
        match self {
            Standing::Read => "read by fedsync sync".to_owned(),
            Standing::Skipped {
                reason: SkipReason::Closed,
                state,
            } => format!(
                "closed (state {state}): fedsync sync disables, then drops, its app roles"
            ),
            Standing::Skipped { reason, state } => format!(
                "not read by fedsync sync: {} (state {state}); its app roles are held as they are",
                reason.describe()
            ),
            Standing::NotListed => "not in the Organization: fedsync sync disables the app roles fedsync made for it and holds the others".to_owned(),
            Standing::OutsideOrganization => {
                "fedsync runs outside an AWS Organization and reads only its own account".to_owned()
            }
        }
    }
}

/// The whole explanation.
#[derive(Clone, Debug, Serialize)]
pub struct Explanation {
    pub account: AccountId,
    pub name: Option<String>,
    pub standing: Standing,
    pub providers: Vec<ProviderExplained>,
    pub roles: Vec<RoleExplained>,
}

/// One SAML provider and why it is ours or not.
#[derive(Clone, Debug, Serialize)]
pub struct ProviderExplained {
    pub arn: SamlProviderArn,
    pub verdict: ProviderVerdict,
    pub reason: String,
    pub entity_ids: Vec<String>,
    pub certificates: Vec<CertificateExplained>,
    /// With several apps configured: the apps whose signing certificates it carries, so the
    /// apps its roles live in ([`name_apps`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub apps: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct CertificateExplained {
    pub sha256: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub not_after: Option<OffsetDateTime>,
    /// In `saml-certificates`.
    pub ours: bool,
    pub problem: Option<String>,
}

impl ProviderExplained {
    pub fn new(arn: &SamlProviderArn, matched: &ProviderMatch) -> ProviderExplained {
        ProviderExplained {
            arn: arn.clone(),
            verdict: matched.verdict,
            reason: matched.reason.clone(),
            entity_ids: matched.entity_ids.clone(),
            certificates: matched
                .certificates
                .iter()
                .map(|c| CertificateExplained {
                    sha256: c.sha256.as_ref().map(ToString::to_string),
                    not_after: c.not_after,
                    ours: c.ours,
                    problem: c.problem.clone(),
                })
                .collect(),
            apps: Vec::new(),
        }
    }
}

/// Names, on each provider, the apps whose certificates (`apps`: each app's
/// `saml-certificates`) it carries: a role it lets in lives in those apps.
pub fn name_apps(e: &mut Explanation, apps: &[(AppName, Vec<Thumbprint>)]) {
    for provider in &mut e.providers {
        provider.apps = apps
            .iter()
            .filter(|(_, certificates)| {
                provider.certificates.iter().any(|c| {
                    certificates
                        .iter()
                        .any(|t| c.sha256.as_deref() == Some(t.to_string().as_str()))
                })
            })
            .map(|(name, _)| name.to_string())
            .collect();
    }
}

/// `" (app a)"`, `" (apps a, b)"`, or nothing.
fn apps_text(apps: &[String]) -> String {
    match apps {
        [] => String::new(),
        [one] => format!(" (app {one})"),
        many => format!(" (apps {})", many.join(", ")),
    }
}

/// One role: per provider asked about, the verdict and the steps that led to it.
#[derive(Clone, Debug, Serialize)]
pub struct RoleExplained {
    pub arn: RoleArn,
    /// The inventory lists it (it concerns one of our providers).
    pub in_inventory: bool,
    pub providers: Vec<PairExplained>,
    pub notes: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct PairExplained {
    pub provider: SamlProviderArn,
    /// The joined verdict, as the inventory records it.
    pub verdict: TrustVerdict,
    pub reason: String,
    /// What the trust policy alone says.
    pub policy_answer: crate::trust::Answer,
    pub steps: Vec<String>,
}

impl RoleExplained {
    /// A role from its inventory record (none: it concerns no provider of ours) and the
    /// evaluation behind it.
    pub fn new(
        arn: &RoleArn,
        record: Option<&crate::model::IamRole>,
        evaluation: &Evaluation,
    ) -> RoleExplained {
        let providers = evaluation
            .providers
            .iter()
            .map(|p: &ProviderTrust| {
                let joined = record.and_then(|r| r.trust.iter().find(|t| t.provider == p.provider));
                PairExplained {
                    provider: p.provider.clone(),
                    verdict: joined.map_or(TrustVerdict::No, |t| t.verdict),
                    reason: joined.map_or_else(|| p.reason.clone(), |t| t.reason.clone()),
                    policy_answer: p.answer,
                    steps: p.steps.clone(),
                }
            })
            .collect();
        RoleExplained {
            arn: arn.clone(),
            in_inventory: record.is_some(),
            providers,
            notes: evaluation.notes.clone(),
        }
    }
}

fn verdict_text(verdict: TrustVerdict) -> &'static str {
    match verdict {
        TrustVerdict::Yes => "yes",
        TrustVerdict::No => "no",
        TrustVerdict::CantTell => "can't tell (held)",
        TrustVerdict::UnknownCertificate => "unknown certificate (held)",
    }
}

/// The explanation for a terminal.
pub fn to_text(e: &Explanation) -> String {
    let mut out = String::new();
    let name = e
        .name
        .as_deref()
        .filter(|n| !n.is_empty())
        .map(|n| format!(" ({n})"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "account {}{name}: {}",
        e.account,
        e.standing.describe()
    );
    out.push_str("\nSAML providers:\n");
    if e.providers.is_empty() {
        out.push_str("  none\n");
    }
    for p in &e.providers {
        let _ = writeln!(
            out,
            "  {}{}: {}",
            p.arn,
            apps_text(&p.apps),
            p.verdict.describe()
        );
        let _ = writeln!(out, "    {}", p.reason);
        for c in &p.certificates {
            let sha = c.sha256.as_deref().unwrap_or("(not base64)");
            let expiry = c
                .not_after
                .map(|t| format!(", expires {}", t.date()))
                .unwrap_or_default();
            let ours = if c.ours {
                ", in saml-certificates"
            } else {
                ", not in saml-certificates"
            };
            let problem = c
                .problem
                .as_deref()
                .map(|p| format!(" ({p})"))
                .unwrap_or_default();
            let _ = writeln!(out, "    certificate {sha}{expiry}{ours}{problem}");
        }
    }
    if e.roles.is_empty() {
        out.push_str("\nNo role of this account concerns SAML.\n");
    }
    for role in &e.roles {
        let _ = writeln!(out, "\nrole {}", role.arn);
        if role.providers.is_empty() {
            out.push_str("  no SAML provider of ours in the account to let anyone in\n");
        }
        for pair in &role.providers {
            let apps = e
                .providers
                .iter()
                .find(|p| p.arn == pair.provider)
                .map(|p| apps_text(&p.apps))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  via {}{apps}: {}",
                pair.provider.name(),
                verdict_text(pair.verdict)
            );
            let _ = writeln!(out, "    {}", pair.reason);
            for step in &pair.steps {
                let _ = writeln!(out, "    - {step}");
            }
        }
        for note in &role.notes {
            let _ = writeln!(out, "  note: {note}");
        }
    }
    out
}

/// The explanation as JSON, schema [`SCHEMA`].
pub fn to_json(e: &Explanation) -> Value {
    let mut value = serde_json::to_value(e).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        map.insert("schema".to_owned(), Value::String(SCHEMA.to_owned()));
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trust::{AskedProvider, Audiences, judge};

    const AZURE: &str = "arn:aws:iam::123456789012:saml-provider/AzureAD";

    fn explanation() -> Explanation {
        let arn: RoleArn = "arn:aws:iam::123456789012:role/Admin".parse().unwrap();
        let asked = [AskedProvider {
            arn: AZURE.parse().unwrap(),
            verdict: ProviderVerdict::Ours,
            reason: "ours".into(),
        }];
        let policy = serde_json::json!({"Statement": [
            {"Effect": "Allow", "Principal": {"Federated": AZURE}, "Action": "sts:AssumeRoleWithSAML",
             "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}},
            {"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRoleWithSAML",
             "Condition": {"StringNotEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}}}
        ]});
        let (record, evaluation) = judge(
            &arn,
            Some(&policy.to_string()),
            &asked,
            &Audiences::default(),
            true,
        );
        Explanation {
            account: "123456789012".parse().unwrap(),
            name: Some("prod".into()),
            standing: Standing::Read,
            providers: vec![ProviderExplained {
                arn: AZURE.parse().unwrap(),
                verdict: ProviderVerdict::Ours,
                reason: "entity id x and signing certificate y are ours".into(),
                entity_ids: vec!["x".into()],
                certificates: Vec::new(),
                apps: Vec::new(),
            }],
            roles: vec![RoleExplained::new(&arn, record.as_ref(), &evaluation)],
        }
    }

    #[test]
    fn the_text_names_the_verdict_the_deciding_statement_and_each_step() {
        let text = to_text(&explanation());
        assert!(
            text.starts_with("account 123456789012 (prod): read by fedsync sync\n"),
            "{text}"
        );
        assert!(text.contains("  via AzureAD: yes\n"), "{text}");
        assert!(
            text.contains("statement 0 allows sts:AssumeRoleWithSAML"),
            "{text}"
        );
        assert!(text.contains("- statement 1 (Deny): applies at"), "{text}");
        assert!(
            text.contains(
                "note: statement 0 (Allow) lets in only sessions for which IpAddress aws:SourceIp"
            ),
            "{text}"
        );
    }

    #[test]
    fn the_json_carries_the_schema_and_the_verdicts() {
        let json = to_json(&explanation());
        assert_eq!(json["schema"], SCHEMA);
        assert_eq!(json["standing"]["kind"], "read");
        assert_eq!(json["roles"][0]["providers"][0]["verdict"], "yes");
        assert_eq!(json["roles"][0]["in_inventory"], true);
        assert_eq!(json["providers"][0]["verdict"], "ours");
    }
}
