//! draft: the answers as they stand — one raw value per setting, the metadata, the app manifest
//! and the credential — before they are proved and stored.
//!
//! A draft starts from the loaded settings (flags > `FEDSYNC_*` > the values already stored under
//! the SSM prefix > defaults), so a rerun offers the stored values. [`Draft::missing`] lists what
//! is still unanswered and [`Draft::check`] validates it all with the same parsers `fedsync sync`
//! uses, so what setup stores is what sync accepts. Pure: a federated credential is only a
//! token source until the proofs use it.

use std::collections::BTreeMap;

use super::answers::{ASKED, AppManifest, MetadataAnswer, NewCredential};
use crate::graph::Credential;
use crate::model::AppName;
use crate::settings::layers::Entry;
use crate::settings::table::{self, SETTINGS};
use crate::settings::{
    CredentialKind, Problem, Problems, RawValue, ResolvedCredential, Settings, Source, SyncSettings,
};

/// The credential setup will use: a new one to store, or the one already in the secret.
#[derive(Clone, Debug)]
pub enum CredentialAnswer {
    New(NewCredential),
    Existing(Credential),
}

impl CredentialAnswer {
    pub fn credential(&self) -> &Credential {
        match self {
            CredentialAnswer::New(c) => &c.credential,
            CredentialAnswer::Existing(c) => c,
        }
    }
}

/// `credential aws-federation`: what the sync app's federated credential names, and what
/// setup may do about outbound identity federation.
#[derive(Clone, Debug, Default)]
pub struct FederationAnswer {
    /// `--task-role-arn`: the role the Fargate task runs as, the credential's subject (by
    /// default the account's `fedsync-task`, as `cfn/environment.yaml` names it).
    pub task_role: Option<String>,
    /// `--enable-outbound-federation`: the admin agrees that setup enables outbound identity
    /// federation in the account when it is off.
    pub may_enable: bool,
}

/// Every answer so far.
#[derive(Clone, Debug, Default)]
pub struct Draft {
    /// Raw values by setting name (stored settings, and the local `authority-url`/`graph-url`).
    pub values: BTreeMap<&'static str, String>,
    pub metadata: Option<MetadataAnswer>,
    pub manifest: Option<AppManifest>,
    pub credential: Option<CredentialAnswer>,
    pub federation: FederationAnswer,
    /// Stored settings this run deletes (`credentials-secret` when setup switches to
    /// `credential aws-federation`).
    pub retired: Vec<&'static str>,
    /// The SSM prefix, ending with `/`.
    pub ssm_prefix: Option<String>,
    /// `setup --app NAME` for an app under `[apps]`: its own settings go under
    /// `<prefix>apps/<name>/`.
    pub app: Option<AppName>,
    /// Per-app settings whose value the app takes from the shared one: not stored for it
    /// unless this run changes them.
    pub inherited: BTreeMap<&'static str, String>,
}

impl Draft {
    /// Starts from the loaded settings: every value a source set, and the defaults of the
    /// settings setup asks for. Secrets are not taken (the credential is its own answer).
    pub fn from_settings(settings: &Settings) -> Draft {
        let mut values = BTreeMap::new();
        for r in settings.resolved() {
            let Some(value) = &r.value else { continue };
            let keep = r.setting.stored
                && (r.source != Source::Default || ASKED.contains(&r.setting.name))
                || matches!(r.setting.name, "authority-url" | "graph-url");
            if keep && !r.setting.secret {
                values.insert(r.setting.name, value.expose().to_owned());
            }
        }
        let app = settings.named_app().cloned();
        let inherited = values
            .iter()
            .filter(|(name, _)| app.is_some() && table::is_per_app(name) && !settings.is_own(name))
            .map(|(name, value)| (*name, value.clone()))
            .collect();
        Draft {
            values,
            ssm_prefix: settings.ssm_prefix().map(str::to_owned),
            app,
            inherited,
            ..Draft::default()
        }
    }

    /// `setup --app`: this run's flags and `FEDSYNC_*` variables answer for the app, as they
    /// answer for the only app without `--app` — also for `service-principal-id` and
    /// `saml-certificates`, which a named app never takes from the shared settings.
    pub fn take_app_answers(&mut self, given: &Settings) {
        for r in given.resolved() {
            if !table::is_per_app(r.setting.name)
                || r.setting.secret
                || !matches!(r.source, Source::Flag(_) | Source::Env(_))
            {
                continue;
            }
            if let Some(value) = &r.value {
                self.values
                    .insert(r.setting.name, value.expose().to_owned());
                self.inherited.remove(r.setting.name);
            }
        }
    }

    /// The SSM parameter name of `setting` below the prefix: `apps/<name>/<setting>` for an
    /// app's own setting, else the setting's name.
    pub fn parameter_name(&self, setting: &str) -> String {
        match &self.app {
            Some(app) if table::is_per_app(setting) => format!("apps/{app}/{setting}"),
            _ => setting.to_owned(),
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    pub fn set(&mut self, name: &'static str, value: impl Into<String>) {
        self.values.insert(name, value.into());
    }

    /// `credential` is `aws-federation`: no secret to ask for or store.
    pub fn federated(&self) -> bool {
        self.get("credential")
            .is_some_and(|c| c.parse() == Ok(CredentialKind::AwsFederation))
    }

    /// Takes the metadata's entity id and certificate thumbprints as the SAML settings.
    pub fn set_metadata(&mut self, metadata: MetadataAnswer) {
        self.set("saml-entity-id", metadata.metadata.entity_id.clone());
        self.set("saml-certificates", metadata.thumbprints());
        self.metadata = Some(metadata);
    }

    /// The audience of the task's JWTs: `federation-audience`, else the cloud's.
    pub fn federation_audience(&self) -> Result<String, Problem> {
        match self.get("federation-audience") {
            Some(a) => crate::aws::federation::audience(a)
                .map_err(|e| Problem::new("federation-audience", None, e)),
            None => Ok(self
                .get("cloud")
                .and_then(|c| c.parse::<crate::graph::Cloud>().ok())
                .unwrap_or_default()
                .federation_audience()
                .to_owned()),
        }
    }

    /// Takes JWTs from AWS STS for [`Draft::federation_audience`] as the credential (through
    /// `sdk`'s regional endpoint; no call is made yet).
    pub fn use_federated_credential(&mut self, sdk: &aws_config::SdkConfig) -> Result<(), Problem> {
        let audience = self.federation_audience()?;
        let tokens = crate::aws::federation::WebIdentityTokens::new(sdk, &audience)
            .map_err(|e| Problem::new("credential", None, e))?;
        self.credential = Some(CredentialAnswer::Existing(Credential::Federated(
            std::sync::Arc::new(tokens),
        )));
        Ok(())
    }

    /// What is still unanswered, each with where to give it.
    pub fn missing(&self) -> Vec<Problem> {
        let mut missing = Vec::new();
        let mut need = |name: &str, how: &str| {
            missing.push(Problem::new(
                name,
                None,
                format!("required, but not given ({how})"),
            ))
        };
        if self.ssm_prefix.is_none() {
            need(
                "ssm-prefix",
                "flag --ssm-prefix or FEDSYNC_SSM_PREFIX, like /fedsync/prod/",
            );
        }
        if self.get("tenant-id").is_none() {
            need("tenant-id", "flag --tenant-id or FEDSYNC_TENANT_ID");
        }
        if self.metadata.is_none() {
            need(
                "saml-metadata",
                "flag --saml-metadata or FEDSYNC_SAML_METADATA: the federation metadata XML file of the AWS app",
            );
        }
        if self.get("service-principal-id").is_none() && self.manifest.is_none() {
            need(
                "service-principal-id",
                "flag --service-principal-id or FEDSYNC_SERVICE_PRINCIPAL_ID, or the app manifest with --app-manifest or FEDSYNC_APP_MANIFEST",
            );
        }
        if self.get("client-id").is_none() {
            need("client-id", "flag --client-id or FEDSYNC_CLIENT_ID");
        }
        if self.credential.is_none() {
            need(
                "credential",
                "--credential aws-federation (no secret), FEDSYNC_CLIENT_SECRET, or --certificate-pem and --private-key-pem (or FEDSYNC_CERTIFICATE_PEM and FEDSYNC_PRIVATE_KEY_PEM)",
            );
        }
        if self.get("backup-bucket").is_none() {
            need(
                "backup-bucket",
                "flag --backup-bucket or FEDSYNC_BACKUP_BUCKET",
            );
        }
        missing
    }

    /// The draft read back as `fedsync sync` would read the stored settings: every problem at
    /// once, or the settings sync will run with. `service-principal-id` must be known by now.
    pub fn check(&self) -> Result<SyncSettings, Problems> {
        let (own, shared): (Vec<Entry>, Vec<Entry>) = SETTINGS
            .iter()
            .filter_map(|s| {
                Some(Entry {
                    key: self.parameter_name(s.name),
                    value: RawValue::Plain(self.values.get(s.name)?.clone()),
                    source: Source::Env(s.env),
                })
            })
            .partition(|e| e.key.starts_with("apps/"));
        let own = own
            .into_iter()
            .map(|e| Entry {
                source: Source::Ssm {
                    parameter: format!(
                        "{}{}",
                        self.ssm_prefix.as_deref().unwrap_or_default(),
                        e.key
                    ),
                },
                ..e
            })
            .collect();
        let all =
            Settings::from_layers(vec![], shared, own, vec![], vec![], self.ssm_prefix.clone());
        let settings = match &self.app {
            Some(app) => all.view_of(app),
            None => all,
        };
        let credential = self.credential.as_ref().map(|c| ResolvedCredential {
            credential: c.credential().clone(),
            source: match self.federated() {
                true => Source::Env("FEDSYNC_CREDENTIAL"),
                false => Source::SecretsManager {
                    secret: self
                        .get("credentials-secret")
                        .unwrap_or_default()
                        .to_owned(),
                },
            },
        });
        settings.sync_from(&Ok(credential))
    }

    /// The values to store, by setting name: every stored setting the draft has.
    pub fn stored(&self) -> Vec<(&'static str, &str)> {
        SETTINGS
            .iter()
            .filter(|s| s.stored)
            .filter_map(|s| Some((s.name, self.values.get(s.name)?.as_str())))
            .filter(|(name, value)| self.inherited.get(name).is_none_or(|v| v != value))
            .collect()
    }
}
