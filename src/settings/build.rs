//! build: the typed settings each command consumes — [`InventorySettings`], [`PlanSettings`] and
//! [`Guardrails`], [`BackupSettings`], [`SyncSettings`] — parsed from the merged raw values with
//! the domain types' own parsers.
//!
//! Every builder checks every setting it needs and reports all problems at once, each naming
//! the setting and its source, together with the sources' own problems (unknown keys…). A
//! problem about a secret value never repeats it. Building is pure, except reading the
//! credential's Secrets Manager secret (or, for `aws-federation`, loading the AWS config the
//! token source calls STS through).

use std::str::FromStr;

use aws_config::SdkConfig;
use clap::ValueEnum;
use secrecy::SecretString;

use super::layers::{Env, Flags, Resolved, Source};
use super::load::Settings;
use super::problem::{Problem, Problems};
use super::sources;
use super::table::{self, Setting};
use super::{AccessSettings, BackupSettings, SyncSettings};
use crate::aws::InventorySettings;
use crate::graph::{Cloud, Credential, GraphSettings};
use crate::logging::LogFormat;
use crate::metadata::Thumbprint;
use crate::model::{AccountId, AppName, RoleName};
use crate::naming::NamingConvention;
use crate::plan::PlanSettings;
use crate::plan::guardrail::{Guardrails, MaxRemovals};
use crate::trust::Audiences;

/// The sync app's credential and where it came from.
#[derive(Clone, Debug)]
pub struct ResolvedCredential {
    /// Prints as `****` in `Debug`.
    pub credential: Credential,
    /// `env FEDSYNC_CLIENT_SECRET` or `secrets manager <secret>`.
    pub source: Source,
}

/// How the sync app signs in to Entra: the `credential` setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialKind {
    Secret,
    Certificate,
    AwsFederation,
}

impl CredentialKind {
    fn noun(self) -> &'static str {
        match self {
            CredentialKind::Secret => "client secret",
            CredentialKind::Certificate => "certificate",
            CredentialKind::AwsFederation => "federated credential",
        }
    }
}

impl std::fmt::Display for CredentialKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CredentialKind::Secret => "secret",
            CredentialKind::Certificate => "certificate",
            CredentialKind::AwsFederation => "aws-federation",
        })
    }
}

impl FromStr for CredentialKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "secret" => Ok(CredentialKind::Secret),
            "certificate" => Ok(CredentialKind::Certificate),
            "aws-federation" => Ok(CredentialKind::AwsFederation),
            _ => Err(format!(
                "{s:?} is not a credential kind: secret, certificate or aws-federation"
            )),
        }
    }
}

impl Settings {
    /// What `fedsync inventory` needs: the SAML match and which accounts to read, how. For the
    /// settings of one app, that app's certificates; else, with apps named, every app's: the
    /// inventory is read once for all.
    pub fn inventory(&self) -> Result<InventorySettings, Problems> {
        if self.app().is_some() || !self.has_named_apps() {
            return self.finish(|c| c.inventory());
        }
        let apps = self.per_app(|app| app.finish(|c| c.inventory()))?;
        let mut certificates: Vec<Thumbprint> = apps
            .iter()
            .flat_map(|(_, i)| i.saml_certificates.iter().cloned())
            .collect();
        certificates.sort();
        certificates.dedup();
        let (_, first) = apps.into_iter().next().ok_or_else(|| {
            Problems(vec![Problem::new(
                "apps",
                None,
                "names no app (a fedsync bug)",
            )])
        })?;
        Ok(InventorySettings {
            saml_certificates: certificates,
            ..first
        })
    }

    /// `build` run on the settings of every app ([`Settings::for_app`]), in name order; every
    /// app's problems at once, each named once.
    pub fn per_app<T>(
        &self,
        build: impl Fn(&Settings) -> Result<T, Problems>,
    ) -> Result<Vec<(AppName, T)>, Problems> {
        let mut built = Vec::new();
        let mut problems: Vec<Problem> = Vec::new();
        let mut note = |more: Vec<Problem>| {
            for problem in more {
                if !problems.contains(&problem) {
                    problems.push(problem);
                }
            }
        };
        for name in self.app_names() {
            match self
                .for_app(&name)
                .map_err(|p| Problems(vec![p]))
                .and_then(|app| build(&app))
            {
                Ok(value) => built.push((name, value)),
                Err(Problems(more)) => note(more),
            }
        }
        if problems.is_empty() {
            Ok(built)
        } else {
            Err(Problems(problems))
        }
    }

    /// [`Settings::sync_from`] for every app, and what no app may share with another: its
    /// service principal (the lease, state and backups are keyed by it) and its signing
    /// certificates (they decide which app a role lives in).
    pub fn sync_apps(
        &self,
        credential: &Result<Option<ResolvedCredential>, Problem>,
    ) -> Result<Vec<(AppName, SyncSettings)>, Problems> {
        let apps = self.per_app(|app| app.sync_from(credential))?;
        let mut problems = Vec::new();
        for (i, (name, app)) in apps.iter().enumerate() {
            for (other, earlier) in &apps[..i] {
                if earlier
                    .service_principal_id
                    .eq_ignore_ascii_case(&app.service_principal_id)
                {
                    problems.push(Problem::new(
                        format!("apps.{name}.service-principal-id"),
                        None,
                        format!(
                            "{} is the service principal of app {other} too; each app is its own Entra app",
                            app.service_principal_id
                        ),
                    ));
                }
                let shared: Vec<String> = app
                    .inventory
                    .saml_certificates
                    .iter()
                    .filter(|t| earlier.inventory.saml_certificates.contains(t))
                    .map(ToString::to_string)
                    .collect();
                if !shared.is_empty() {
                    problems.push(Problem::new(
                        format!("apps.{name}.saml-certificates"),
                        None,
                        format!(
                            "{} also in app {other}'s: each Entra app signs with its own certificate, and the certificate decides which app a role lives in",
                            shared.join(", ")
                        ),
                    ));
                }
            }
        }
        if problems.is_empty() {
            Ok(apps)
        } else {
            Err(Problems(problems))
        }
    }

    /// What `fedsync plan` needs: naming and groups, and the guardrails (`allow_removals` off;
    /// it is a flag of the run, not a setting).
    pub fn plan_settings(&self) -> Result<(PlanSettings, Guardrails), Problems> {
        self.finish(|c| {
            let plan = c.plan();
            let guardrails = c.guardrails()?;
            Some((
                PlanSettings {
                    entry_cap: guardrails.max_app_roles,
                    ..plan?
                },
                guardrails,
            ))
        })
    }

    /// Where backups go; the bucket is required.
    pub fn backup(&self) -> Result<BackupSettings, Problems> {
        self.finish(|c| c.backup())
    }

    /// `log-format`, when set.
    pub fn log_format(&self) -> Result<Option<LogFormat>, Problems> {
        self.finish(|c| c.optional("log-format", log_format_name))
    }

    /// Everything `fedsync sync` needs, the credential read (from `FEDSYNC_CLIENT_SECRET`, else
    /// the `credentials-secret` secret, through `sdk` or the standard AWS config).
    pub async fn sync(&self, sdk: Option<&SdkConfig>) -> Result<SyncSettings, Problems> {
        let credential = self.credential(sdk).await;
        self.sync_from(&credential)
    }

    /// [`Settings::sync`] with the credential already read by [`Settings::credential`].
    pub fn sync_from(
        &self,
        credential: &Result<Option<ResolvedCredential>, Problem>,
    ) -> Result<SyncSettings, Problems> {
        self.finish(|c| {
            let credential = c.credential(credential);
            let cloud = c.required("cloud", parse::<Cloud>);
            let tenant_id = c.required("tenant-id", tenant);
            let authority_url = c.required("authority-url", url);
            let graph_url = c.required("graph-url", url);
            let client_id = c.required("client-id", guid);
            let service_principal_id = c.required("service-principal-id", guid);
            let inventory = c.inventory();
            let plan = c.plan();
            let guardrails = c.guardrails();
            let group_owner_id = c.optional("group-owner-id", object_id);
            let backup = c.backup();
            let certificate_warn_days = c.required("certificate-warn-days", warn_days);
            Some(SyncSettings {
                tenant_id: tenant_id?,
                cloud: cloud?,
                authority_url: authority_url?,
                graph_url: graph_url?,
                client_id: client_id?,
                credential: credential?,
                service_principal_id: service_principal_id?,
                inventory: inventory?,
                plan: PlanSettings {
                    entry_cap: guardrails.as_ref()?.max_app_roles,
                    ..plan?
                },
                guardrails: guardrails?,
                group_owner_id: group_owner_id?,
                backup: backup?,
                certificate_warn_days: certificate_warn_days?,
            })
        })
    }

    /// What `fedsync access` needs: the Graph settings, the AWS app's service principal and the
    /// group naming convention; nothing of AWS.
    pub fn access(
        &self,
        credential: &Result<Option<ResolvedCredential>, Problem>,
    ) -> Result<AccessSettings, Problems> {
        self.finish(|c| {
            let credential = c.credential(credential);
            let tenant_id = c.required("tenant-id", tenant);
            let authority_url = c.required("authority-url", url);
            let graph_url = c.required("graph-url", url);
            let client_id = c.required("client-id", guid);
            let service_principal_id = c.required("service-principal-id", guid);
            let group_naming = c.optional("group-naming-convention", parse::<NamingConvention>);
            let group_owner_id = c.optional("group-owner-id", object_id);
            Some(AccessSettings {
                graph: GraphSettings {
                    tenant_id: tenant_id?,
                    client_id: client_id?,
                    credential: credential?,
                    authority_url: authority_url?,
                    graph_url: graph_url?,
                },
                service_principal_id: service_principal_id?,
                group_naming: group_naming?,
                group_owner_id: group_owner_id?,
            })
        })
    }

    /// What `fedsync rotate` needs besides the inventory: the role it writes providers through.
    pub fn provider_writer_role(&self) -> Result<RoleName, Problems> {
        self.finish(|c| c.required("provider-writer-role", parse::<RoleName>))
    }

    /// Whether reading the credential calls AWS (Secrets Manager, or STS for aws-federation) and
    /// so needs the AWS config.
    pub fn credential_reads_aws(&self) -> bool {
        let set = |name| self.get(name).is_some_and(|r| r.value.is_some());
        self.credential_kind()
            .is_ok_and(|k| k == Some(CredentialKind::AwsFederation))
            || (!set("client-secret") && set("credentials-secret"))
    }

    /// The `credential` setting, when set.
    fn credential_kind(&self) -> Result<Option<CredentialKind>, Problem> {
        match self.get("credential") {
            Some(Resolved {
                value: Some(value),
                source,
                ..
            }) => value
                .expose()
                .parse()
                .map(Some)
                .map_err(|e: String| Problem::new("credential", Some(source.clone()), e)),
            _ => Ok(None),
        }
    }

    /// The sync app's credential. With `credential` = `aws-federation`: JWTs from STS, through
    /// `sdk` (or the standard AWS config), and neither secret setting may be set. Else
    /// `FEDSYNC_CLIENT_SECRET` when set, else the Secrets Manager secret `credentials-secret`
    /// names, of the kind `credential` names when it names one; `None` when neither is set.
    pub async fn credential(
        &self,
        sdk: Option<&SdkConfig>,
    ) -> Result<Option<ResolvedCredential>, Problem> {
        let kind = self.credential_kind()?;
        let kind_source = || self.get("credential").map(|r| r.source.clone());
        if kind == Some(CredentialKind::AwsFederation) {
            return self.federated_credential(sdk).await.map(Some);
        }
        let read = self.secret_credential(sdk).await?;
        if let (Some(kind), Some(read)) = (kind, &read) {
            let holds = match read.credential {
                Credential::Secret(_) => CredentialKind::Secret,
                Credential::Certificate(_) => CredentialKind::Certificate,
                Credential::Federated(_) => CredentialKind::AwsFederation,
            };
            if holds != kind {
                return Err(Problem::new(
                    "credential",
                    kind_source(),
                    format!(
                        "is {kind}, but {} holds a {}; set credential to what it holds, or store the other",
                        read.source,
                        holds.noun()
                    ),
                ));
            }
        }
        Ok(read)
    }

    /// `credential` = `aws-federation`: a token source for `federation-audience`.
    async fn federated_credential(
        &self,
        sdk: Option<&SdkConfig>,
    ) -> Result<ResolvedCredential, Problem> {
        let source = self
            .get("credential")
            .map(|r| r.source.clone())
            .unwrap_or(Source::Default);
        for secret in ["client-secret", "credentials-secret"] {
            if let Some(Resolved {
                value: Some(_),
                source: secret_source,
                ..
            }) = self.get(secret)
            {
                return Err(Problem::new(
                    secret,
                    Some(secret_source.clone()),
                    format!(
                        "is set, but credential is aws-federation ({source}), which uses no secret: unset {secret} (or set credential to secret or certificate)"
                    ),
                ));
            }
        }
        let audience = match self.get("federation-audience") {
            Some(Resolved {
                value: Some(value),
                source,
                ..
            }) => crate::aws::federation::audience(value.expose())
                .map_err(|e| Problem::new("federation-audience", Some(source.clone()), e))?,
            _ => crate::graph::Cloud::default()
                .federation_audience()
                .to_owned(),
        };
        let loaded;
        let sdk = match sdk {
            Some(sdk) => sdk,
            None => {
                loaded = crate::aws::load_config(&crate::aws::AwsOptions::default()).await;
                &loaded
            }
        };
        let tokens = crate::aws::federation::WebIdentityTokens::new(sdk, &audience)
            .map_err(|e| Problem::new("credential", Some(source.clone()), e))?;
        Ok(ResolvedCredential {
            credential: Credential::Federated(std::sync::Arc::new(tokens)),
            source,
        })
    }

    /// `FEDSYNC_CLIENT_SECRET` when set, else the Secrets Manager secret `credentials-secret`
    /// names (read through `sdk`, or the standard AWS config when none is given); `None` when
    /// neither is set.
    async fn secret_credential(
        &self,
        sdk: Option<&SdkConfig>,
    ) -> Result<Option<ResolvedCredential>, Problem> {
        if let Some(Resolved {
            value: Some(value),
            source,
            ..
        }) = self.get("client-secret")
        {
            return Ok(Some(ResolvedCredential {
                credential: Credential::Secret(SecretString::from(value.expose().to_owned())),
                source: source.clone(),
            }));
        }
        let Some(Resolved {
            value: Some(value),
            source,
            ..
        }) = self.get("credentials-secret")
        else {
            return Ok(None);
        };
        let problem =
            |message: String| Problem::new("credentials-secret", Some(source.clone()), message);
        let secret = value.expose().trim();
        if secret.is_empty() {
            return Err(problem(
                "is empty; name a Secrets Manager secret".to_owned(),
            ));
        }
        let read = match sdk {
            Some(sdk) => sources::secret_credential(sdk, secret).await,
            None => {
                let sdk = crate::aws::load_config(&crate::aws::AwsOptions::default()).await;
                sources::secret_credential(&sdk, secret).await
            }
        };
        let credential = read.map_err(problem)?;
        Ok(Some(ResolvedCredential {
            credential,
            source: Source::SecretsManager {
                secret: secret.to_owned(),
            },
        }))
    }

    /// Runs a builder with a fresh [`Check`]; its result if nothing (the sources included) had
    /// a problem, else every problem.
    fn finish<T>(&self, build: impl FnOnce(&mut Check<'_>) -> Option<T>) -> Result<T, Problems> {
        let mut check = Check {
            settings: self,
            problems: self.source_problems().to_vec(),
        };
        let built = build(&mut check);
        match built {
            Some(value) if check.problems.is_empty() => Ok(value),
            _ => {
                if check.problems.is_empty() {
                    check.problems.push(Problem::new(
                        "settings",
                        None,
                        "incomplete, but no problem was named (a fedsync bug)",
                    ));
                }
                Err(Problems(check.problems))
            }
        }
    }
}

/// The `log-format` from the flag and the environment only (it is needed before logging
/// starts, so before SSM or the config file are read).
pub fn log_format(flag: Option<LogFormat>, env: &Env) -> Result<Option<LogFormat>, Problems> {
    let mut flags = Flags::default();
    let name = flag.and_then(|f| f.to_possible_value().map(|v| v.get_name().to_owned()));
    flags.set("log-format", name.as_deref());
    Settings::from_layers(flags.entries(), env.entries(), vec![], vec![], vec![], None).log_format()
}

/// Parses settings one by one, collecting a problem for each that is missing or invalid.
/// Each method returns `None` when it recorded a problem.
struct Check<'a> {
    settings: &'a Settings,
    problems: Vec<Problem>,
}

impl<'a> Check<'a> {
    fn get(&mut self, name: &str) -> Option<&'a Resolved> {
        let found = self.settings.get(name);
        if found.is_none() {
            self.problems.push(Problem::new(
                name,
                None,
                "not in the settings table (a fedsync bug)",
            ));
        }
        found
    }

    /// How a problem names `setting`: `apps.<name>.<setting>` for an app's own setting in the
    /// settings of a named app.
    fn label(&self, setting: &Setting) -> String {
        match self.settings.named_app() {
            Some(app) if table::is_per_app(setting.name) => format!("apps.{app}.{}", setting.name),
            _ => setting.name.to_owned(),
        }
    }

    /// Where `setting` can be set, for the "required, but not set" problem.
    fn where_to_set(&self, setting: &Setting) -> String {
        let prefix = self.settings.ssm_prefix().unwrap_or("<prefix>");
        match self.settings.named_app() {
            Some(app) if table::is_per_app(setting.name) => format!(
                "SSM {prefix}apps/{app}/{0}, or {0} under [apps.{app}] in the config file",
                setting.name
            ),
            _ => setting.where_to_set(self.settings.ssm_prefix()),
        }
    }

    /// The parsed value; `Some(None)` when it is unset.
    fn optional<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<Option<T>> {
        let resolved = self.get(name)?;
        let Some(value) = &resolved.value else {
            return Some(None);
        };
        match parse(value.expose()) {
            Ok(parsed) => Some(Some(parsed)),
            Err(message) => {
                let message = if value.is_secret() {
                    redact(&message, value.expose())
                } else {
                    message
                };
                self.problems.push(Problem::new(
                    self.label(resolved.setting),
                    Some(resolved.source.clone()),
                    message,
                ));
                None
            }
        }
    }

    /// The parsed value; a problem when it is unset.
    fn required<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        match self.optional(name, parse)? {
            Some(value) => Some(value),
            None => {
                let setting = self.get(name)?.setting;
                self.problems.push(Problem::new(
                    self.label(setting),
                    None,
                    format!("required, but not set ({})", self.where_to_set(setting)),
                ));
                None
            }
        }
    }

    /// The credential [`Settings::credential`] read, or a problem saying how to set one.
    fn credential(
        &mut self,
        credential: &Result<Option<ResolvedCredential>, Problem>,
    ) -> Option<Credential> {
        match credential {
            Ok(Some(resolved)) => Some(resolved.credential.clone()),
            Ok(None) => {
                let secret = self.get("credentials-secret").map(|r| r.setting);
                let places = secret
                    .map(|s| s.where_to_set(self.settings.ssm_prefix()))
                    .unwrap_or_default();
                self.problems.push(Problem::new(
                "credential",
                None,
                format!(
                    "required, but not set: set credential to aws-federation (no secret), FEDSYNC_CLIENT_SECRET, or credentials-secret ({places})"
                ),
                ));
                None
            }
            Err(problem) => {
                self.problems.push(problem.clone());
                None
            }
        }
    }

    fn inventory(&mut self) -> Option<InventorySettings> {
        let saml_entity_id = self.required("saml-entity-id", non_empty);
        let saml_certificates = self.required("saml-certificates", thumbprints);
        let saml_audiences = self.required("saml-audiences", audiences);
        let cross_account_role = self.required("cross-account-role", parse::<RoleName>);
        let external_id = self.optional("external-id", external_id);
        let include_accounts = self.optional("include-accounts", accounts);
        let exclude_accounts = self.optional("exclude-accounts", accounts);
        let concurrency = self.required("concurrency", concurrency);
        Some(InventorySettings {
            saml_entity_id: saml_entity_id?,
            saml_certificates: saml_certificates?,
            saml_audiences: saml_audiences?,
            cross_account_role: cross_account_role?,
            external_id: external_id?,
            include_accounts: include_accounts?.unwrap_or_default(),
            exclude_accounts: exclude_accounts?.unwrap_or_default(),
            concurrency: concurrency?,
        })
    }

    fn plan(&mut self) -> Option<PlanSettings> {
        let naming = self.required("naming-convention", parse::<NamingConvention>);
        let group_naming = self.optional("group-naming-convention", parse::<NamingConvention>);
        let create_groups = self.required("create-groups", boolean);
        let assign_groups = self.required("assign-groups", boolean);
        Some(PlanSettings {
            naming: naming?,
            group_naming: group_naming?,
            create_groups: create_groups?,
            assign_groups: assign_groups?,
            ..PlanSettings::default()
        })
    }

    fn guardrails(&mut self) -> Option<Guardrails> {
        let max_removals = self.required("max-removals", parse::<MaxRemovals>);
        let max_app_roles = self.required("max-app-roles", count);
        Some(Guardrails {
            max_removals: max_removals?,
            allow_removals: false,
            max_app_roles: max_app_roles?,
        })
    }

    fn backup(&mut self) -> Option<BackupSettings> {
        let bucket = self.required("backup-bucket", bucket);
        let prefix = self.required("backup-prefix", key_prefix);
        let kms_key = self.optional("backup-kms-key", non_empty);
        Some(BackupSettings {
            bucket: bucket?,
            prefix: prefix?,
            kms_key: kms_key?,
        })
    }
}

/// `message` with every occurrence of the secret `value` (and of each of its comma-separated
/// parts) replaced by `****`.
fn redact(message: &str, value: &str) -> String {
    let mut parts: Vec<&str> = std::iter::once(value)
        .chain(value.split(','))
        .map(str::trim)
        .enumerate()
        // The whole value always; its parts when long enough to mean something.
        .filter(|(i, p)| !p.is_empty() && (*i == 0 || p.len() >= 3))
        .map(|(_, p)| p)
        .collect();
    // Longest first, so a part inside the whole value does not leave the rest behind.
    parts.sort_by_key(|p| std::cmp::Reverse(p.len()));
    parts
        .into_iter()
        .fold(message.to_owned(), |m, part| m.replace(part, "****"))
}

// The parsers: each takes the raw text and says, in one line, what is wrong with it.

fn parse<T: FromStr>(s: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    s.trim().parse().map_err(|e: T::Err| e.to_string())
}

fn non_empty(s: &str) -> Result<String, String> {
    match s.trim() {
        "" => Err("is empty".to_owned()),
        s => Ok(s.to_owned()),
    }
}

fn boolean(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(format!("{s:?} is not a boolean: use true or false")),
    }
}

fn warn_days(s: &str) -> Result<u32, String> {
    match s.trim().parse::<u32>() {
        Ok(n) if n <= 3650 => Ok(n),
        _ => Err(format!("{s:?} is not a number of days from 0 to 3650")),
    }
}

fn concurrency(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=256).contains(&n) => Ok(n),
        _ => Err(format!("{s:?} is not a number from 1 to 256")),
    }
}

fn count(s: &str) -> Result<usize, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a whole number"))
}

fn log_format_name(s: &str) -> Result<LogFormat, String> {
    LogFormat::from_str(s.trim(), true)
        .map_err(|_| format!("{s:?} is not a log format: use text or json"))
}

/// A comma-separated list; empty items are skipped.
fn list<T>(s: &str, item: impl Fn(&str) -> Result<T, String>) -> Result<Vec<T>, String> {
    let mut values = Vec::new();
    let mut errors = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match item(part) {
            Ok(v) => values.push(v),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(values)
    } else {
        Err(errors.join("; "))
    }
}

fn accounts(s: &str) -> Result<Vec<AccountId>, String> {
    list(s, parse::<AccountId>)
}

/// SHA-256 thumbprints, at least one.
fn thumbprints(s: &str) -> Result<Vec<Thumbprint>, String> {
    let thumbprints = list(s, sha256_thumbprint)?;
    if thumbprints.is_empty() {
        Err(
            "lists no thumbprint; give the SHA-256 thumbprint of the app's signing certificate"
                .to_owned(),
        )
    } else {
        Ok(thumbprints)
    }
}

/// The `SAML:aud` values our sign-ins carry, at least one.
fn audiences(s: &str) -> Result<Audiences, String> {
    Audiences::new(list(s, |a| Ok(a.to_owned()))?)
}

/// A SHA-256 certificate thumbprint: 64 hex digits, `:` or spaces allowed between bytes.
fn sha256_thumbprint(s: &str) -> Result<Thumbprint, String> {
    let thumbprint: Thumbprint = parse(s)?;
    if thumbprint.is_sha256() {
        Ok(thumbprint)
    } else {
        Err(format!(
            "{s:?} is not a SHA-256 thumbprint (64 hex digits); SHA-1 thumbprints are not accepted"
        ))
    }
}

/// A directory object id, given as a GUID.
fn object_id(s: &str) -> Result<crate::model::ObjectId, String> {
    guid(s).and_then(|g| {
        g.parse()
            .map_err(|e: crate::model::ParseError| e.to_string())
    })
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

/// A Graph or token base URL, without a trailing `/`: `https://`, or `http://` to a loopback
/// host only ([`crate::graph::cloud::base_url`]).
fn url(s: &str) -> Result<String, String> {
    crate::graph::cloud::base_url(s)
}

/// `ExternalId`: 2 to 1224 of `A-Za-z0-9+=,.@:/-` and `_`, as STS allows.
fn external_id(s: &str) -> Result<String, String> {
    let s = s.trim();
    let ok_char = |c: char| c.is_ascii_alphanumeric() || "_+=,.@:/-".contains(c);
    if !(2..=1224).contains(&s.len()) {
        Err(format!(
            "is {} characters long; STS takes 2 to 1224",
            s.len()
        ))
    } else if let Some(bad) = s.chars().find(|c| !ok_char(*c)) {
        Err(format!(
            "has {bad:?}, which STS does not take; use letters, digits and _+=,.@:/-"
        ))
    } else {
        Ok(s.to_owned())
    }
}

/// An S3 bucket name: 3 to 63 lowercase letters, digits, `.` and `-`, starting and ending
/// with a letter or digit.
fn bucket(s: &str) -> Result<String, String> {
    let s = s.trim();
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let valid = (3..=63).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && edge(s.chars().next())
        && edge(s.chars().last());
    if valid {
        Ok(s.to_owned())
    } else {
        Err(format!(
            "{s:?} is not an S3 bucket name (3 to 63 lowercase letters, digits, . and -)"
        ))
    }
}

/// A key prefix: empty, or ending with `/` (added when missing).
fn key_prefix(s: &str) -> Result<String, String> {
    let s = s.trim();
    if s.is_empty() || s.ends_with('/') {
        Ok(s.to_owned())
    } else {
        Ok(format!("{s}/"))
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;
    use crate::settings::layers::{Entry, RawValue};
    use crate::settings::show;

    const SHA256: &str = "9C:F7:39:01:B6:AB:47:10:D8:44:86:F6:6A:85:B0:BD:3F:82:63:26:F3:68:4D:3D:59:E0:DD:B2:48:B6:89:67";

    fn from_env(pairs: &[(&str, &str)]) -> Settings {
        let env = Env::from_pairs(pairs.iter().copied());
        Settings::from_layers(vec![], env.entries(), vec![], vec![], vec![], None)
    }

    fn lines(problems: &Problems) -> Vec<String> {
        problems.0.iter().map(ToString::to_string).collect()
    }

    fn secret() -> Result<Option<ResolvedCredential>, Problem> {
        Ok(Some(ResolvedCredential {
            credential: Credential::Secret(SecretString::from("s3cr3t-value")),
            source: Source::Env("FEDSYNC_CLIENT_SECRET"),
        }))
    }

    fn regional_sdk() -> SdkConfig {
        SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("eu-west-1"))
            .build()
    }

    #[tokio::test]
    async fn aws_federation_needs_no_secret_and_takes_the_clouds_audience() {
        let s = from_env(&[
            ("FEDSYNC_CREDENTIAL", "aws-federation"),
            ("FEDSYNC_CLOUD", "usgov"),
        ]);
        assert!(s.credential_reads_aws());
        let resolved = s.credential(Some(&regional_sdk())).await.unwrap().unwrap();
        assert_eq!(resolved.source.to_string(), "env FEDSYNC_CREDENTIAL");
        assert_eq!(
            format!("{:?}", resolved.credential),
            "Federated(AWS outbound identity federation, audience api://AzureADTokenExchangeUSGov, STS in eu-west-1)"
        );
        let rows = show::rows(&s, Some(&resolved), &[]);
        let row = rows.iter().find(|r| r.name == "credential").unwrap();
        assert_eq!(
            row.value.as_deref(),
            Some(
                "aws-federation: AWS outbound identity federation, audience api://AzureADTokenExchangeUSGov, STS in eu-west-1"
            )
        );
        assert_eq!(
            rows.iter().filter(|r| r.name == "credential").count(),
            1,
            "the kind and the credential in use share one row"
        );
    }

    #[tokio::test]
    async fn aws_federation_with_a_secret_set_or_a_bad_audience_is_refused() {
        let both = from_env(&[
            ("FEDSYNC_CREDENTIAL", "aws-federation"),
            ("FEDSYNC_CLIENT_SECRET", "hunter2-local-secret"),
        ]);
        let problem = both.credential(Some(&regional_sdk())).await.unwrap_err();
        assert_eq!(
            problem.to_string(),
            "client-secret (from env FEDSYNC_CLIENT_SECRET): is set, but credential is aws-federation (env FEDSYNC_CREDENTIAL), which uses no secret: unset client-secret (or set credential to secret or certificate)"
        );
        let audience = from_env(&[
            ("FEDSYNC_CREDENTIAL", "aws-federation"),
            ("FEDSYNC_FEDERATION_AUDIENCE", "api://a b"),
        ]);
        let problem = audience
            .credential(Some(&regional_sdk()))
            .await
            .unwrap_err();
        assert_eq!(problem.setting, "federation-audience");
        let kind = from_env(&[("FEDSYNC_CREDENTIAL", "password")]);
        let problem = kind.credential(None).await.unwrap_err();
        assert!(
            problem
                .to_string()
                .contains("secret, certificate or aws-federation"),
            "{problem}"
        );
    }

    #[tokio::test]
    async fn a_credential_kind_must_be_what_the_secret_holds() {
        let s = from_env(&[
            ("FEDSYNC_CREDENTIAL", "certificate"),
            ("FEDSYNC_CLIENT_SECRET", "hunter2-local-secret"),
        ]);
        let problem = s.credential(None).await.unwrap_err();
        assert_eq!(
            problem.to_string(),
            "credential (from env FEDSYNC_CREDENTIAL): is certificate, but env FEDSYNC_CLIENT_SECRET holds a client secret; set credential to what it holds, or store the other"
        );
        assert!(!problem.to_string().contains("hunter2"));
        let agreed = from_env(&[
            ("FEDSYNC_CREDENTIAL", "secret"),
            ("FEDSYNC_CLIENT_SECRET", "hunter2-local-secret"),
        ]);
        assert!(matches!(
            agreed.credential(None).await,
            Ok(Some(ResolvedCredential {
                credential: Credential::Secret(_),
                ..
            }))
        ));
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
        let built = s.access(&secret()).unwrap();
        assert_eq!(built.graph.graph_url, "https://graph.microsoft.com");
        assert_eq!(built.group_naming.unwrap().as_str(), "grp {0} {1}");
    }

    #[test]
    fn access_names_every_problem_at_once_and_not_the_secret() {
        let s = from_env(&[
            ("FEDSYNC_CLIENT_ID", "nope"),
            ("FEDSYNC_GROUP_NAMING_CONVENTION", "grp {1}"),
        ]);
        let err = lines(&s.access(&Ok(None)).unwrap_err()).join("\n");
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

    const SYNC_ENV: &[(&str, &str)] = &[
        ("FEDSYNC_TENANT_ID", "72f988bf-0000-4000-8000-00000000a001"),
        ("FEDSYNC_CLIENT_ID", "5b1e1f7a-0000-4000-8000-00000000c001"),
        ("FEDSYNC_CLIENT_SECRET", "hunter2-local-secret"),
        (
            "FEDSYNC_SERVICE_PRINCIPAL_ID",
            "5f0b5a8e-3c1d-4d0e-9a57-6a3b2f1e0c11",
        ),
        ("FEDSYNC_SAML_ENTITY_ID", "https://sts.windows.net/t/"),
        ("FEDSYNC_SAML_CERTIFICATES", SHA256),
        ("FEDSYNC_BACKUP_BUCKET", "fedsync-backups"),
    ];

    #[tokio::test]
    async fn sync_settings_from_the_environment_with_defaults() {
        let s = from_env(SYNC_ENV);
        let sync = s.sync(None).await.unwrap();
        assert_eq!(sync.cloud, Cloud::Global);
        assert_eq!(sync.authority_url, "https://login.microsoftonline.com");
        assert_eq!(sync.inventory.concurrency, 128);
        assert_eq!(
            sync.inventory.cross_account_role.to_string(),
            "fedsync-reader"
        );
        assert_eq!(sync.backup.prefix, "manifests/");
        assert!(sync.plan.create_groups);
        assert!(!sync.plan.assign_groups);
        assert_eq!(sync.guardrails.max_removals, MaxRemovals::Percent(10));
        assert!(
            matches!(&sync.credential, Credential::Secret(s) if s.expose_secret() == "hunter2-local-secret")
        );
    }

    const SHA256_B: &str = "1111111111111111111111111111111111111111111111111111111111111111";
    const SHA256_C: &str = "2222222222222222222222222222222222222222222222222222222222222222";
    const SP_B: &str = "00000000-0000-4000-8000-0000000000bb";
    const SP_C: &str = "00000000-0000-4000-8000-0000000000cc";

    /// `SYNC_ENV` without the AWS app, and a config file of apps.
    fn with_apps(file: &str, keep_default: bool) -> Settings {
        let env: Vec<(&str, &str)> = SYNC_ENV
            .iter()
            .copied()
            .filter(|(k, _)| {
                keep_default
                    || !matches!(
                        *k,
                        "FEDSYNC_SERVICE_PRINCIPAL_ID" | "FEDSYNC_SAML_CERTIFICATES"
                    )
            })
            .collect();
        let env = Env::from_pairs(env);
        let (entries, problems) =
            super::sources::config_file_entries(std::path::Path::new("f.toml"), file);
        assert!(problems.is_empty(), "{problems:?}");
        Settings::from_layers(vec![], env.entries(), vec![], entries, vec![], None)
    }

    fn names(settings: &Settings) -> Vec<String> {
        settings
            .app_names()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn without_apps_the_settings_are_one_app_named_default() {
        let s = from_env(SYNC_ENV);
        assert_eq!(names(&s), ["default"]);
        let apps = s.sync_apps(&secret()).unwrap();
        assert_eq!(apps.len(), 1);
        assert_eq!(
            apps[0].1.service_principal_id,
            "5f0b5a8e-3c1d-4d0e-9a57-6a3b2f1e0c11"
        );
    }

    #[test]
    fn each_app_has_its_own_service_principal_and_certificates_and_may_override_the_rest() {
        let file = format!(
            r#"
            max-removals = "5"
            [apps.b]
            service-principal-id = "{SP_B}"
            saml-certificates = ["{SHA256_B}"]
            naming-convention = "B {{0}} {{1}}"
            [apps.c]
            service-principal-id = "{SP_C}"
            saml-certificates = "{SHA256_C}"
            max-removals = 1
        "#
        );
        let s = with_apps(&file, true);
        assert_eq!(names(&s), ["b", "c", "default"]);
        let apps = s.sync_apps(&secret()).unwrap();
        let app = |n: &str| &apps.iter().find(|(name, _)| name.as_str() == n).unwrap().1;
        assert_eq!(app("b").service_principal_id, SP_B);
        assert_eq!(app("b").plan.naming.as_str(), "B {0} {1}");
        assert_eq!(app("b").guardrails.max_removals, MaxRemovals::Count(5));
        assert_eq!(app("c").guardrails.max_removals, MaxRemovals::Count(1));
        assert_eq!(app("c").plan.naming.as_str(), "AWS {0} - {1}");
        assert_eq!(app("default").inventory.saml_certificates.len(), 1);
        assert_ne!(
            app("b").inventory.saml_certificates,
            app("c").inventory.saml_certificates
        );
        // The inventory is read once, for every app's certificates; each app's view has its own.
        assert_eq!(s.inventory().unwrap().saml_certificates.len(), 3);
        for (name, app) in &apps {
            let view = s.for_app(name).unwrap().inventory().unwrap();
            assert_eq!(
                view.saml_certificates, app.inventory.saml_certificates,
                "{name}"
            );
        }
        let shown: Vec<String> = show::rows(&s, None, &[])
            .iter()
            .filter(|r| r.name.starts_with("apps.b."))
            .map(|r| {
                format!(
                    "{} {} {}",
                    r.name,
                    r.value.clone().unwrap_or_default(),
                    r.source
                )
            })
            .collect();
        assert!(
            shown.contains(&"apps.b.max-removals 5 shared: config file f.toml".to_owned()),
            "{shown:#?}"
        );
        assert!(
            shown.contains(&format!(
                "apps.b.service-principal-id {SP_B} config file f.toml"
            )),
            "{shown:#?}"
        );
    }

    #[test]
    fn a_named_app_never_takes_the_shared_service_principal_or_certificates() {
        let s = with_apps(
            &format!("[apps.b]\nservice-principal-id = \"{SP_B}\"\n"),
            false,
        );
        assert_eq!(names(&s), ["b"]);
        let err = lines(&s.sync_apps(&secret()).unwrap_err()).join("\n");
        assert_eq!(
            err,
            "apps.b.saml-certificates: required, but not set (SSM <prefix>apps/b/saml-certificates, or saml-certificates under [apps.b] in the config file)"
        );
    }

    #[test]
    fn apps_may_share_neither_a_service_principal_nor_a_certificate() {
        let file = format!(
            r#"
            [apps.b]
            service-principal-id = "{SP_B}"
            saml-certificates = ["{SHA256_B}", "{SHA256_C}"]
            [apps.c]
            service-principal-id = "{}"
            saml-certificates = "{SHA256_C}"
        "#,
            SP_B.to_uppercase()
        );
        let s = with_apps(&file, false);
        let err = lines(&s.sync_apps(&secret()).unwrap_err());
        assert_eq!(err.len(), 2, "{err:#?}");
        assert!(
            err[0].starts_with("apps.c.service-principal-id: ")
                && err[0].ends_with(
                    "is the service principal of app b too; each app is its own Entra app"
                ),
            "{}",
            err[0]
        );
        assert!(
            err[1].starts_with(&format!(
                "apps.c.saml-certificates: {}",
                SHA256_C.to_ascii_lowercase()
            )) || err[1].starts_with("apps.c.saml-certificates: "),
            "{}",
            err[1]
        );
        assert!(err[1].contains("also in app b's"), "{}", err[1]);
    }

    #[test]
    fn the_app_default_is_defined_once() {
        let file = format!(
            "[apps.default]\nservice-principal-id = \"{SP_B}\"\nsaml-certificates = \"{SHA256_B}\"\n"
        );
        let err = lines(&with_apps(&file, true).sync_apps(&secret()).unwrap_err()).join("\n");
        assert!(
            err.contains("service-principal-id (from env FEDSYNC_SERVICE_PRINCIPAL_ID): makes the settings outside the apps the app default, and apps/default/ names it too; keep one"),
            "{err}"
        );
        let only_certificates = Settings::from_layers(
            vec![],
            Env::from_pairs([("FEDSYNC_SAML_CERTIFICATES", SHA256)]).entries(),
            vec![],
            super::sources::config_file_entries(
                std::path::Path::new("f.toml"),
                &format!("[apps.b]\nservice-principal-id = \"{SP_B}\"\n"),
            )
            .0,
            vec![],
            None,
        );
        let err = only_certificates.source_problems()[0].to_string();
        assert!(
            err.starts_with("saml-certificates (from env FEDSYNC_SAML_CERTIFICATES): is set outside the apps, but service-principal-id is not"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn debug_of_loaded_settings_never_shows_a_secret() {
        let s = from_env(SYNC_ENV);
        let sync = s.sync(None).await.unwrap();
        let credential = s.credential(None).await.unwrap();
        for debug in [
            format!("{s:?}"),
            format!("{sync:?}"),
            format!("{credential:?}"),
        ] {
            assert!(!debug.contains("hunter2"), "{debug}");
        }
        assert!(format!("{s:?}").contains("****"));
    }

    #[tokio::test]
    async fn sync_reports_every_missing_setting_at_once() {
        let s = from_env(&[]);
        let problems = s.sync(None).await.unwrap_err();
        assert_eq!(
            lines(&problems),
            [
                "credential: required, but not set: set credential to aws-federation (no secret), FEDSYNC_CLIENT_SECRET, or credentials-secret (flag --credentials-secret, FEDSYNC_CREDENTIALS_SECRET, SSM <prefix>credentials-secret, or credentials-secret in the config file)",
                "tenant-id: required, but not set (flag --tenant-id, FEDSYNC_TENANT_ID, SSM <prefix>tenant-id, or tenant-id in the config file)",
                "client-id: required, but not set (flag --client-id, FEDSYNC_CLIENT_ID, SSM <prefix>client-id, or client-id in the config file)",
                "service-principal-id: required, but not set (flag --service-principal-id, FEDSYNC_SERVICE_PRINCIPAL_ID, SSM <prefix>service-principal-id, or service-principal-id in the config file)",
                "saml-entity-id: required, but not set (flag --saml-entity-id, FEDSYNC_SAML_ENTITY_ID, SSM <prefix>saml-entity-id, or saml-entity-id in the config file)",
                "saml-certificates: required, but not set (flag --saml-certificates, FEDSYNC_SAML_CERTIFICATES, SSM <prefix>saml-certificates, or saml-certificates in the config file)",
                "backup-bucket: required, but not set (flag --backup-bucket, FEDSYNC_BACKUP_BUCKET, SSM <prefix>backup-bucket, or backup-bucket in the config file)",
            ]
        );
    }

    #[test]
    fn every_parse_error_names_the_setting_and_its_source_and_all_come_at_once() {
        let flags = {
            let mut f = Flags::default();
            f.set("naming-convention", Some("AWS {0}"));
            f.entries()
        };
        let env = Env::from_pairs([
            ("FEDSYNC_SAML_ENTITY_ID", "https://sts.windows.net/t/"),
            (
                "FEDSYNC_SAML_CERTIFICATES",
                "da39a3ee5e6b4b0d3255bfef95601890afd80709",
            ),
            ("FEDSYNC_CROSS_ACCOUNT_ROLE", "a/b"),
            ("FEDSYNC_CREATE_GROUPS", "yes"),
        ]);
        let ssm = vec![Entry {
            key: "concurrency".into(),
            value: RawValue::Plain("0".into()),
            source: Source::Ssm {
                parameter: "/fedsync/prod/concurrency".into(),
            },
        }];
        let file = vec![
            Entry {
                key: "include-accounts".into(),
                value: RawValue::Plain("111111111111,22".into()),
                source: Source::ConfigFile {
                    path: "f.toml".into(),
                },
            },
            Entry {
                key: "max-removals".into(),
                value: RawValue::Plain("lots".into()),
                source: Source::ConfigFile {
                    path: "f.toml".into(),
                },
            },
            Entry {
                key: "max-removal".into(),
                value: RawValue::Plain("5".into()),
                source: Source::ConfigFile {
                    path: "f.toml".into(),
                },
            },
        ];
        let s = Settings::from_layers(flags, env.entries(), ssm, file, vec![], None);
        let inventory = lines(&s.inventory().unwrap_err());
        assert_eq!(
            inventory,
            [
                "max-removal (from config file f.toml): unknown setting; did you mean max-removals?",
                "saml-certificates (from env FEDSYNC_SAML_CERTIFICATES): \"da39a3ee5e6b4b0d3255bfef95601890afd80709\" is not a SHA-256 thumbprint (64 hex digits); SHA-1 thumbprints are not accepted",
                "cross-account-role (from env FEDSYNC_CROSS_ACCOUNT_ROLE): invalid role name \"a/b\": the name may hold only letters, digits and _+=,.@- but has '/'",
                "include-accounts (from config file f.toml): invalid account id \"22\": expected exactly 12 digits",
                "concurrency (from ssm /fedsync/prod/concurrency): \"0\" is not a number from 1 to 256",
            ]
        );
        let plan = lines(&s.plan_settings().unwrap_err());
        assert_eq!(plan.len(), 4, "{plan:#?}");
        assert!(plan[1].starts_with("naming-convention (from flag --naming-convention): naming convention \"AWS {0}\" has no role placeholder"), "{}", plan[1]);
        assert_eq!(
            plan[2],
            "create-groups (from env FEDSYNC_CREATE_GROUPS): \"yes\" is not a boolean: use true or false"
        );
        assert!(
            plan[3].starts_with("max-removals (from config file f.toml): \"lots\" is neither"),
            "{}",
            plan[3]
        );
    }

    #[test]
    fn booleans_are_true_or_false_in_any_case() {
        for (text, expected) in [
            ("true", true),
            ("FALSE", false),
            ("True", true),
            (" false ", false),
        ] {
            assert_eq!(boolean(text), Ok(expected), "{text}");
        }
        for text in ["yes", "1", "", "on"] {
            assert!(boolean(text).is_err(), "{text}");
        }
        let s = from_env(&[
            ("FEDSYNC_ASSIGN_GROUPS", "TRUE"),
            ("FEDSYNC_CREATE_GROUPS", "False"),
        ]);
        assert!(!s.plan_settings().unwrap().0.create_groups);
    }

    #[test]
    fn a_bad_secret_value_is_redacted_in_its_problem() {
        // A SecureString parameter is secret whatever the setting; its parse error must not
        // repeat it.
        let ssm = vec![Entry {
            key: "external-id".into(),
            value: RawValue::new("sekret value!".into(), true),
            source: Source::Ssm {
                parameter: "/p/external-id".into(),
            },
        }];
        let s = Settings::from_layers(vec![], vec![], ssm, vec![], vec![], None);
        let problems = lines(&s.inventory().unwrap_err());
        let line = problems
            .iter()
            .find(|l| l.starts_with("external-id"))
            .unwrap();
        assert!(!line.contains("sekret"), "{line}");
        assert_eq!(
            redact("bad \"abc,defg\": \"defg\" at 1", "abc,defg"),
            "bad \"****\": \"****\" at 1"
        );
    }

    #[test]
    fn concurrency_is_1_to_256() {
        assert_eq!(concurrency("1"), Ok(1));
        assert_eq!(concurrency("256"), Ok(256));
        assert!(concurrency("0").is_err());
        assert!(concurrency("257").is_err());
        assert!(concurrency("many").is_err());
    }

    #[test]
    fn values_are_checked_as_graph_s3_and_sts_want_them() {
        assert!(guid("5f0b5a8e-3c1d-4d0e-9a57-6a3b2f1e0c11").is_ok());
        assert!(guid("sp-1").is_err());
        assert!(tenant("contoso.onmicrosoft.com").is_ok());
        assert!(tenant("contoso").is_err());
        assert_eq!(
            url("http://127.0.0.1:8080/"),
            Ok("http://127.0.0.1:8080".into())
        );
        assert!(url("graph.microsoft.com").is_err());
        assert!(bucket("fedsync-backups").is_ok());
        assert!(bucket("Fedsync_Backups").is_err());
        assert_eq!(key_prefix("fedsync"), Ok("fedsync/".into()));
        assert_eq!(key_prefix(""), Ok(String::new()));
        assert!(external_id("x").is_err());
        assert!(external_id("abc def").is_err());
        assert!(thumbprints(" , ").is_err());
    }

    #[test]
    fn log_format_comes_from_flag_or_environment() {
        let env = Env::from_pairs([("FEDSYNC_LOG_FORMAT", "JSON")]);
        assert_eq!(log_format_setting(None, &env), Ok(Some(LogFormat::Json)));
        assert_eq!(
            log_format_setting(Some(LogFormat::Text), &env),
            Ok(Some(LogFormat::Text))
        );
        let bad = Env::from_pairs([("FEDSYNC_LOG_FORMAT", "xml")]);
        assert_eq!(
            lines(&log_format_setting(None, &bad).unwrap_err()),
            [
                "log-format (from env FEDSYNC_LOG_FORMAT): \"xml\" is not a log format: use text or json"
            ]
        );
    }

    fn log_format_setting(
        flag: Option<LogFormat>,
        env: &Env,
    ) -> Result<Option<LogFormat>, Problems> {
        super::log_format(flag, env)
    }
}
