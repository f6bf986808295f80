//! settings: what `fedsync access` needs from the settings — the Graph ones (tenant, URLs, the
//! sync app and its credential, the AWS app's service principal) and the group naming
//! convention — and not the AWS inventory, backup or guardrail settings a sync needs.
//!
//! Built from the same merged [`Settings`] every command loads, every problem at once like the
//! other builders. The parsers mirror `settings/build.rs` (whose checker is private to it); when
//! `access` settles, this belongs there as `Settings::access`. Pure.

use crate::graph::GraphSettings;
use crate::naming::NamingConvention;
use crate::settings::{Problem, Problems, ResolvedCredential, Settings};

/// Everything `fedsync access` needs, validated.
#[derive(Clone, Debug)]
pub struct AccessSettings {
    pub graph: GraphSettings,
    /// The AWS app's service principal object id.
    pub service_principal_id: String,
    /// Group display names; `None` gives each group its role's display name.
    pub group_naming: Option<NamingConvention>,
}

/// The access settings, or every problem with them (the sources' own included).
pub fn access_settings(
    settings: &Settings,
    credential: &Result<Option<ResolvedCredential>, Problem>,
) -> Result<AccessSettings, Problems> {
    let mut problems: Vec<Problem> = settings.source_problems().to_vec();
    let mut value = |name: &str, required: bool, parse: fn(&str) -> Result<String, String>| {
        let resolved = settings.get(name)?;
        match &resolved.value {
            None => {
                if required {
                    problems.push(Problem::new(
                        name,
                        None,
                        format!(
                            "required, but not set ({})",
                            resolved.setting.where_to_set(settings.ssm_prefix())
                        ),
                    ));
                }
                None
            }
            Some(raw) => match parse(raw.expose()) {
                Ok(v) => Some(v),
                Err(message) => {
                    problems.push(Problem::new(name, Some(resolved.source.clone()), message));
                    None
                }
            },
        }
    };
    let tenant_id = value("tenant-id", true, tenant);
    let authority_url = value("authority-url", true, url);
    let graph_url = value("graph-url", true, url);
    let client_id = value("client-id", true, guid);
    let service_principal_id = value("service-principal-id", true, guid);
    let group_naming_text = value("group-naming-convention", false, |s| Ok(s.to_owned()));
    let group_naming = match group_naming_text.map(|t| t.parse::<NamingConvention>()) {
        None => Some(None),
        Some(Ok(c)) => Some(Some(c)),
        Some(Err(e)) => {
            let source = settings
                .get("group-naming-convention")
                .map(|r| r.source.clone());
            problems.push(Problem::new(
                "group-naming-convention",
                source,
                e.to_string(),
            ));
            None
        }
    };
    let credential = match credential {
        Ok(Some(resolved)) => Some(resolved.credential.clone()),
        Ok(None) => {
            problems.push(Problem::new(
                "credential",
                None,
                "required, but not set: set FEDSYNC_CLIENT_SECRET, or credentials-secret",
            ));
            None
        }
        Err(problem) => {
            problems.push(problem.clone());
            None
        }
    };
    match (
        tenant_id,
        authority_url,
        graph_url,
        client_id,
        service_principal_id,
        group_naming,
        credential,
    ) {
        (
            Some(tenant_id),
            Some(authority_url),
            Some(graph_url),
            Some(client_id),
            Some(service_principal_id),
            Some(group_naming),
            Some(credential),
        ) if problems.is_empty() => Ok(AccessSettings {
            graph: GraphSettings {
                tenant_id,
                client_id,
                credential,
                authority_url,
                graph_url,
            },
            service_principal_id,
            group_naming,
        }),
        _ => {
            if problems.is_empty() {
                problems.push(Problem::new(
                    "settings",
                    None,
                    "incomplete, but no problem was named (a fedsync bug)",
                ));
            }
            Err(Problems(problems))
        }
    }
}

fn guid(s: &str) -> Result<String, String> {
    let s = s.trim();
    uuid::Uuid::parse_str(s)
        .map(|_| s.to_owned())
        .map_err(|_| format!("{s:?} is not a GUID (like 72f988bf-86f1-41af-91ab-2d7cd011db47)"))
}

/// A tenant id: a GUID, or a domain name like `contoso.onmicrosoft.com`.
fn tenant(s: &str) -> Result<String, String> {
    let s = s.trim();
    let domain = s.contains('.')
        && s.split('.').all(|label| {
            !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if uuid::Uuid::parse_str(s).is_ok() || domain {
        Ok(s.to_owned())
    } else {
        Err(format!(
            "{s:?} is neither a GUID nor a domain name like contoso.onmicrosoft.com"
        ))
    }
}

/// An `http(s)://` base URL, without a trailing `/`.
fn url(s: &str) -> Result<String, String> {
    let s = s.trim();
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.contains(char::is_whitespace) => {
            Ok(s.trim_end_matches('/').to_owned())
        }
        _ => Err(format!("{s:?} is not an http:// or https:// URL")),
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;
    use crate::graph::Credential;
    use crate::settings::{Env, Source};

    fn from_env(pairs: &[(&str, &str)]) -> Settings {
        let env = Env::from_pairs(pairs.iter().copied());
        Settings::from_layers(vec![], env.entries(), vec![], vec![], vec![], None)
    }

    fn secret() -> Result<Option<ResolvedCredential>, Problem> {
        Ok(Some(ResolvedCredential {
            credential: Credential::Secret(SecretString::from("s3cr3t-value")),
            source: Source::Env("FEDSYNC_CLIENT_SECRET"),
        }))
    }

    #[test]
    fn access_needs_graph_settings_but_no_inventory_or_backup() {
        let s = from_env(&[
            ("FEDSYNC_TENANT_ID", "contoso.onmicrosoft.com"),
            ("FEDSYNC_CLIENT_ID", "5b1e1f7a-0000-4000-8000-00000000c001"),
            (
                "FEDSYNC_SERVICE_PRINCIPAL_ID",
                "5f0b5a8e-3c1d-4d0e-9a57-6a3b2f1e0c11",
            ),
            ("FEDSYNC_GROUP_NAMING_CONVENTION", "grp {0} {1}"),
        ]);
        let built = access_settings(&s, &secret()).unwrap();
        assert_eq!(built.graph.graph_url, "https://graph.microsoft.com");
        assert_eq!(built.group_naming.unwrap().as_str(), "grp {0} {1}");
    }

    #[test]
    fn every_problem_is_named_at_once_and_the_secret_is_not_shown() {
        let s = from_env(&[
            ("FEDSYNC_CLIENT_ID", "nope"),
            ("FEDSYNC_GROUP_NAMING_CONVENTION", "grp {1}"),
        ]);
        let err = access_settings(&s, &Ok(None)).unwrap_err().to_string();
        for name in [
            "tenant-id: required",
            "client-id (from env FEDSYNC_CLIENT_ID): \"nope\" is not a GUID",
            "service-principal-id: required",
            "group-naming-convention (from env FEDSYNC_GROUP_NAMING_CONVENTION)",
            "credential: required",
        ] {
            assert!(err.contains(name), "{name} in {err}");
        }
        assert!(!err.contains("saml"), "{err}");
        assert!(!err.contains("backup"), "{err}");
    }
}
