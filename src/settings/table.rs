//! table: the one list of fedsync's settings — name, flag, environment variable, whether SSM and
//! the config file may hold it, default, whether it is secret, and what it means.
//!
//! Loading, validation, `fedsync config show` and the README's settings table all follow this
//! list, so they cannot drift apart (tests below hold the README and the CLI to it). It holds no
//! values and never reads anything.

/// One setting.
#[derive(Debug, PartialEq, Eq)]
pub struct Setting {
    /// kebab-case: the SSM parameter name under the prefix and the config file key.
    pub name: &'static str,
    /// The command-line flag, on the commands that use the setting; none for secrets.
    pub flag: Option<&'static str>,
    /// The environment variable.
    pub env: &'static str,
    /// Whether an SSM parameter or the config file may hold it (else: flag and environment only).
    pub stored: bool,
    pub default: DefaultValue,
    /// Secret: its value is held in a `SecretString` and printed as `****`.
    pub secret: bool,
    /// What it means, for `config show --help` and the README.
    pub about: &'static str,
}

/// What a setting is when no source sets it.
#[derive(Debug, PartialEq, Eq)]
pub enum DefaultValue {
    /// This value, parsed like any other.
    Value(&'static str),
    /// No value; the commands that need one say so.
    Required,
    /// No value; the text says what that means (`none`, `from cloud`).
    Unset(&'static str),
}

impl Setting {
    /// Where a value can come from, for the "required, but not set" problem:
    /// `flag --tenant-id, FEDSYNC_TENANT_ID, SSM /fedsync/prod/tenant-id, or tenant-id in the
    /// config file`.
    pub fn where_to_set(&self, ssm_prefix: Option<&str>) -> String {
        let mut places = Vec::new();
        if let Some(flag) = self.flag {
            places.push(format!("flag {flag}"));
        }
        places.push(self.env.to_owned());
        if self.stored {
            let prefix = ssm_prefix.unwrap_or("<prefix>");
            places.push(format!("SSM {prefix}{}", self.name));
            places.push(format!("{} in the config file", self.name));
        }
        match places.len() {
            1 => places.remove(0),
            _ => {
                let last = places.pop().unwrap_or_default();
                format!("{}, or {last}", places.join(", "))
            }
        }
    }
}

const fn setting(
    name: &'static str,
    env: &'static str,
    default: DefaultValue,
    about: &'static str,
) -> Setting {
    Setting {
        name,
        flag: None,
        env,
        stored: true,
        default,
        secret: false,
        about,
    }
}

/// A stored setting with a flag `--<name>`; the flag is spelled out so `grep` finds it.
const fn flagged(
    name: &'static str,
    flag: &'static str,
    env: &'static str,
    default: DefaultValue,
    about: &'static str,
) -> Setting {
    Setting {
        flag: Some(flag),
        ..setting(name, env, default, about)
    }
}

/// A flagged setting that SSM and the config file may not hold.
const fn local(
    name: &'static str,
    flag: &'static str,
    env: &'static str,
    default: DefaultValue,
    about: &'static str,
) -> Setting {
    Setting {
        stored: false,
        ..flagged(name, flag, env, default, about)
    }
}

/// Every setting, in the order `config show` prints them.
pub static SETTINGS: &[Setting] = &[
    flagged(
        "tenant-id",
        "--tenant-id",
        "FEDSYNC_TENANT_ID",
        DefaultValue::Required,
        "Entra tenant id (a GUID, or the tenant's domain name)",
    ),
    flagged(
        "cloud",
        "--cloud",
        "FEDSYNC_CLOUD",
        DefaultValue::Value("global"),
        "Microsoft cloud: global, usgov or china",
    ),
    local(
        "authority-url",
        "--authority-url",
        "FEDSYNC_AUTHORITY_URL",
        DefaultValue::Unset("from cloud"),
        "token authority base URL (tokens from {authority}/{tenant}/oauth2/v2.0/token)",
    ),
    local(
        "graph-url",
        "--graph-url",
        "FEDSYNC_GRAPH_URL",
        DefaultValue::Unset("from cloud"),
        "Microsoft Graph base URL",
    ),
    flagged(
        "client-id",
        "--client-id",
        "FEDSYNC_CLIENT_ID",
        DefaultValue::Required,
        "application (client) id of the sync app",
    ),
    flagged(
        "credential",
        "--credential",
        "FEDSYNC_CREDENTIAL",
        DefaultValue::Unset("what credentials-secret holds"),
        "how the sync app signs in to Entra: secret, certificate (both from credentials-secret or client-secret), or aws-federation (a JWT from AWS STS GetWebIdentityToken; no secret at all; recommended)",
    ),
    flagged(
        "federation-audience",
        "--federation-audience",
        "FEDSYNC_FEDERATION_AUDIENCE",
        DefaultValue::Unset("from cloud"),
        "with credential aws-federation: the JWT's audience, as the app's federated credential names it (api://AzureADTokenExchange; api://AzureADTokenExchangeUSGov, api://AzureADTokenExchangeChina)",
    ),
    Setting {
        name: "client-secret",
        flag: None,
        env: "FEDSYNC_CLIENT_SECRET",
        stored: false,
        default: DefaultValue::Unset("none"),
        secret: true,
        about: "the sync app's client secret, for local use (beats credentials-secret)",
    },
    flagged(
        "credentials-secret",
        "--credentials-secret",
        "FEDSYNC_CREDENTIALS_SECRET",
        DefaultValue::Unset("none"),
        "Secrets Manager secret (name or ARN) holding the sync app's credential as JSON",
    ),
    flagged(
        "service-principal-id",
        "--service-principal-id",
        "FEDSYNC_SERVICE_PRINCIPAL_ID",
        DefaultValue::Required,
        "object id of the AWS app's service principal",
    ),
    flagged(
        "saml-entity-id",
        "--saml-entity-id",
        "FEDSYNC_SAML_ENTITY_ID",
        DefaultValue::Required,
        "our Entra app's SAML issuer, https://sts.windows.net/<tenant>/",
    ),
    flagged(
        "saml-certificates",
        "--saml-certificates",
        "FEDSYNC_SAML_CERTIFICATES",
        DefaultValue::Required,
        "SHA-256 thumbprints of the app's SAML signing certificates, comma-separated",
    ),
    flagged(
        "saml-audiences",
        "--saml-audiences",
        "FEDSYNC_SAML_AUDIENCES",
        DefaultValue::Value(crate::trust::DEFAULT_AUDIENCES),
        "the SAML:aud values our sign-ins carry (the Entra app's reply URLs), comma-separated; * matches any run of characters",
    ),
    flagged(
        "naming-convention",
        "--naming-convention",
        "FEDSYNC_NAMING_CONVENTION",
        DefaultValue::Value(crate::naming::DEFAULT_CONVENTION),
        "app role display names",
    ),
    flagged(
        "group-naming-convention",
        "--group-naming-convention",
        "FEDSYNC_GROUP_NAMING_CONVENTION",
        DefaultValue::Unset("the role's display name"),
        "group display names",
    ),
    flagged(
        "create-groups",
        "--create-groups",
        "FEDSYNC_CREATE_GROUPS",
        DefaultValue::Value("true"),
        "create one security group per role",
    ),
    flagged(
        "assign-groups",
        "--assign-groups",
        "FEDSYNC_ASSIGN_GROUPS",
        DefaultValue::Value("false"),
        "assign each group to its app role",
    ),
    flagged(
        "group-owner-id",
        "--group-owner-id",
        "FEDSYNC_GROUP_OWNER_ID",
        DefaultValue::Unset("the sync app's own service principal"),
        "owner (object id) of the groups fedsync creates",
    ),
    flagged(
        "cross-account-role",
        "--cross-account-role",
        "FEDSYNC_CROSS_ACCOUNT_ROLE",
        DefaultValue::Value("fedsync-reader"),
        "the read-only role assumed in each account",
    ),
    flagged(
        "external-id",
        "--external-id",
        "FEDSYNC_EXTERNAL_ID",
        DefaultValue::Unset("none"),
        "ExternalId for AssumeRole",
    ),
    flagged(
        "include-accounts",
        "--include-accounts",
        "FEDSYNC_INCLUDE_ACCOUNTS",
        DefaultValue::Unset("all active"),
        "read only these accounts, comma-separated",
    ),
    flagged(
        "exclude-accounts",
        "--exclude-accounts",
        "FEDSYNC_EXCLUDE_ACCOUNTS",
        DefaultValue::Unset("none"),
        "never read these accounts, comma-separated",
    ),
    flagged(
        "backup-bucket",
        "--backup-bucket",
        "FEDSYNC_BACKUP_BUCKET",
        DefaultValue::Required,
        "S3 bucket for the service principal backups",
    ),
    flagged(
        "backup-prefix",
        "--backup-prefix",
        "FEDSYNC_BACKUP_PREFIX",
        DefaultValue::Value("manifests/"),
        "key prefix of the backups (a `/` is added when missing)",
    ),
    flagged(
        "backup-kms-key",
        "--backup-kms-key",
        "FEDSYNC_BACKUP_KMS_KEY",
        DefaultValue::Unset("the bucket's default encryption"),
        "KMS key id or ARN for SSE-KMS on the backups",
    ),
    flagged(
        "max-removals",
        "--max-removals",
        "FEDSYNC_MAX_REMOVALS",
        DefaultValue::Value("10%"),
        "most roles one run may disable: a count or a percentage of the enabled managed roles",
    ),
    flagged(
        "max-app-roles",
        "--max-app-roles",
        "FEDSYNC_MAX_APP_ROLES",
        DefaultValue::Value("1200"),
        "most entries the app roles collection may hold",
    ),
    flagged(
        "certificate-warn-days",
        "--certificate-warn-days",
        "FEDSYNC_CERTIFICATE_WARN_DAYS",
        DefaultValue::Value("60"),
        "warn this many days before a SAML provider of ours holds no valid configured certificate (0-3650)",
    ),
    flagged(
        "provider-writer-role",
        "--provider-writer-role",
        "FEDSYNC_PROVIDER_WRITER_ROLE",
        DefaultValue::Value("fedsync-provider-writer"),
        "the role `fedsync rotate` assumes in each account to update its SAML provider",
    ),
    flagged(
        "concurrency",
        "--concurrency",
        "FEDSYNC_CONCURRENCY",
        DefaultValue::Value("128"),
        "most accounts read at once (1-256); reads start at 16 and adapt to AWS throttling",
    ),
    local(
        "log-format",
        "--log-format",
        "FEDSYNC_LOG_FORMAT",
        DefaultValue::Unset("text on a terminal, json otherwise"),
        "log lines on stderr: text or json",
    ),
];

/// The settings each app has its own value of: `[apps.<name>]` in the config file, SSM
/// `<prefix>apps/<name>/<setting>`. Every other setting is shared by every app.
pub static PER_APP: &[&str] = &[
    "service-principal-id",
    "saml-certificates",
    "naming-convention",
    "group-naming-convention",
    "max-removals",
    "max-app-roles",
    "create-groups",
    "assign-groups",
];

/// Of [`PER_APP`], the ones an app under `[apps]` must set itself: it never takes the shared
/// value, because each Entra app has its own service principal and signs with its own
/// certificate.
pub static APP_OWN: &[&str] = &["service-principal-id", "saml-certificates"];

/// Whether each app may set `name` for itself.
pub fn is_per_app(name: &str) -> bool {
    PER_APP.contains(&name)
}

/// The setting of this name.
pub fn get(name: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.name == name)
}

/// The known name closest to `name`, when it is close enough to be a likely typo.
pub fn closest(name: &str) -> Option<&'static str> {
    let name = name.to_ascii_lowercase().replace('_', "-");
    SETTINGS
        .iter()
        .map(|s| (edit_distance(&name, s.name), s.name))
        .filter(|(d, known)| *d <= 2.max(known.len() / 5))
        .min_by_key(|(d, _)| *d)
        .map(|(_, known)| known)
}

/// Levenshtein distance, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            current.push(substitute.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::guardrail::{DEFAULT_MAX_APP_ROLES, DEFAULT_MAX_REMOVALS, MaxRemovals};

    #[test]
    fn names_env_vars_and_flags_follow_one_pattern() {
        for s in SETTINGS {
            let env = format!("FEDSYNC_{}", s.name.to_uppercase().replace('-', "_"));
            assert_eq!(s.env, env, "{}", s.name);
            if let Some(flag) = s.flag {
                assert_eq!(flag, format!("--{}", s.name));
            }
            assert!(
                !(s.secret && s.flag.is_some()),
                "{}: no secret on a command line",
                s.name
            );
            assert!(
                !(s.secret && s.stored),
                "{}: secrets come from Secrets Manager",
                s.name
            );
            assert_eq!(get(s.name), Some(s), "{} is listed once", s.name);
        }
    }

    #[test]
    fn defaults_agree_with_the_constants_the_core_uses() {
        let value = |name| match get(name).map(|s| &s.default) {
            Some(DefaultValue::Value(v)) => *v,
            other => panic!("{name}: {other:?}"),
        };
        assert_eq!(
            value("max-removals").parse::<MaxRemovals>(),
            Ok(DEFAULT_MAX_REMOVALS)
        );
        assert_eq!(value("max-app-roles"), DEFAULT_MAX_APP_ROLES.to_string());
        assert_eq!(
            crate::trust::Audiences::new(
                value("saml-audiences")
                    .split(',')
                    .map(str::to_owned)
                    .collect()
            ),
            Ok(crate::trust::Audiences::default())
        );
    }

    #[test]
    fn the_readme_settings_table_lists_every_setting() {
        let readme = include_str!("../../README.md");
        for s in SETTINGS {
            let row = readme
                .lines()
                .find(|l| l.starts_with(&format!("| `{}` |", s.name)))
                .unwrap_or_else(|| panic!("README has no settings row for {}", s.name));
            assert!(row.contains(&format!("`{}`", s.env)), "{row}");
            if let Some(flag) = s.flag {
                assert!(row.contains(&format!("`{flag}`")), "{row}");
            }
        }
    }

    #[test]
    fn where_to_set_names_every_source_the_setting_has() {
        let tenant = get("tenant-id").unwrap();
        assert_eq!(
            tenant.where_to_set(Some("/fedsync/prod/")),
            "flag --tenant-id, FEDSYNC_TENANT_ID, SSM /fedsync/prod/tenant-id, or tenant-id in the config file"
        );
        assert_eq!(
            tenant.where_to_set(None),
            "flag --tenant-id, FEDSYNC_TENANT_ID, SSM <prefix>tenant-id, or tenant-id in the config file"
        );
        assert_eq!(
            get("authority-url").unwrap().where_to_set(None),
            "flag --authority-url, or FEDSYNC_AUTHORITY_URL"
        );
        assert_eq!(
            get("client-secret").unwrap().where_to_set(None),
            "FEDSYNC_CLIENT_SECRET"
        );
    }

    #[test]
    fn every_per_app_setting_is_a_stored_setting() {
        for name in PER_APP {
            let setting = get(name).unwrap_or_else(|| panic!("{name} is no setting"));
            assert!(setting.stored && !setting.secret, "{name}");
        }
        assert!(APP_OWN.iter().all(|name| is_per_app(name)));
    }

    #[test]
    fn typos_suggest_the_closest_name() {
        assert_eq!(closest("tennant-id"), Some("tenant-id"));
        assert_eq!(closest("max_removals"), Some("max-removals"));
        assert_eq!(closest("saml-certificate"), Some("saml-certificates"));
        assert_eq!(closest("something-else-entirely"), None);
    }
}
