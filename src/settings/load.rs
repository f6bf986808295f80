//! load: gathers every source — flags, the environment, SSM parameters under the prefix (only
//! when one is set), the config file — into [`Settings`]: one raw value and its source per
//! setting, plus the problems the sources themselves have (unknown keys, an unreadable file).
//!
//! It reads and merges; it does not parse values (see `build`) and never prints one.

use std::collections::BTreeMap;
use std::path::PathBuf;

use aws_config::SdkConfig;
use tracing::warn;

use super::layers::{self, Env, Flags, RawValue, Resolved, Source};
use super::problem::Problem;
use super::sources::{self, LoadError};
use super::table;
use crate::graph::Cloud;
use crate::model::AppName;

/// What to load the settings from.
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    /// The command's settings flags.
    pub flags: Flags,
    pub env: Env,
    /// `--config` / `FEDSYNC_CONFIG`.
    pub config_file: Option<PathBuf>,
    /// `--ssm-prefix` / `FEDSYNC_SSM_PREFIX`, as given.
    pub ssm_prefix: Option<String>,
}

impl Inputs {
    /// Whether loading reads SSM, and so needs the AWS config.
    pub fn reads_ssm(&self) -> bool {
        self.ssm_prefix.as_deref().is_some_and(|p| !p.is_empty())
    }
}

/// Every setting's raw value and source, merged by precedence; not yet parsed.
///
/// `Debug` prints secret values as `****`.
#[derive(Clone, Debug)]
pub struct Settings {
    resolved: Vec<Resolved>,
    /// Each named app's own entries (`apps/<name>/<setting>`, keyed by the setting), highest
    /// source first.
    apps: BTreeMap<AppName, Vec<layers::Entry>>,
    /// For the settings of one app ([`Settings::for_app`]): which, `default` included.
    view: Option<AppName>,
    /// Problems of the sources themselves: unknown keys, an unreadable config file.
    problems: Vec<Problem>,
    /// The SSM prefix, ending with `/`, when one was set and is valid.
    ssm_prefix: Option<String>,
}

impl Settings {
    /// Loads every source. SSM is read only when `inputs` has a prefix; then `sdk` is used, or,
    /// when none is given, the standard AWS config is loaded.
    pub async fn load(inputs: &Inputs, sdk: Option<&SdkConfig>) -> Result<Settings, LoadError> {
        for (variable, guess) in inputs.env.unknown() {
            match guess {
                Some(guess) => warn!(%variable, did_you_mean = guess, "not a fedsync setting"),
                None => warn!(%variable, "not a fedsync setting"),
            }
        }
        let mut problems = Vec::new();
        let prefix = match inputs.ssm_prefix.as_deref() {
            None | Some("") => None,
            Some(p) if !p.starts_with('/') => {
                problems.push(Problem::new(
                    "ssm-prefix",
                    None,
                    format!("{p:?} must start with \"/\", like /fedsync/prod/"),
                ));
                None
            }
            Some(p) if p.ends_with('/') => Some(p.to_owned()),
            Some(p) => Some(format!("{p}/")),
        };
        let ssm = match &prefix {
            None => Vec::new(),
            Some(prefix) => match sdk {
                Some(sdk) => sources::ssm_entries(sdk, prefix).await?,
                None => {
                    let sdk = crate::aws::load_config(&crate::aws::AwsOptions::default()).await;
                    sources::ssm_entries(&sdk, prefix).await?
                }
            },
        };
        let file = match &inputs.config_file {
            None => Vec::new(),
            Some(path) => {
                let (entries, file_problems) = sources::read_config_file(path);
                problems.extend(file_problems);
                entries
            }
        };
        Ok(Settings::from_layers(
            inputs.flags.entries(),
            inputs.env.entries(),
            ssm,
            file,
            problems,
            prefix,
        ))
    }

    /// Merges layers already read (highest first: flags, environment, SSM, config file).
    pub fn from_layers(
        flags: Vec<layers::Entry>,
        env: Vec<layers::Entry>,
        ssm: Vec<layers::Entry>,
        file: Vec<layers::Entry>,
        mut problems: Vec<Problem>,
        ssm_prefix: Option<String>,
    ) -> Settings {
        let mut apps: BTreeMap<AppName, Vec<layers::Entry>> = BTreeMap::new();
        for entry in ssm.iter().chain(&file) {
            let Some(rest) = entry.key.strip_prefix(layers::APPS_PREFIX) else {
                continue;
            };
            if let Some((app, setting)) = layers::split_app_key(rest)
                && table::is_per_app(setting)
            {
                apps.entry(app).or_default().push(layers::Entry {
                    key: setting.to_owned(),
                    ..entry.clone()
                });
            }
        }
        let (mut resolved, merge_problems) = layers::merge(&[flags, env, ssm, file]);
        problems.extend(merge_problems);
        derive_urls(&mut resolved);
        let mut settings = Settings {
            resolved,
            apps,
            view: None,
            problems,
            ssm_prefix,
        };
        settings.problems.extend(settings.app_problems());
        settings
    }

    /// With apps named, the settings outside them are the app `default` only when
    /// `service-principal-id` is set there, and then `[apps.default]` may not be named too.
    fn app_problems(&self) -> Vec<Problem> {
        if self.apps.is_empty() {
            return Vec::new();
        }
        let set = |name| self.get(name).filter(|r| r.value.is_some());
        let mut problems = Vec::new();
        match (set("service-principal-id"), set("saml-certificates")) {
            (Some(sp), _) if self.apps.contains_key(&AppName::default_app()) => {
                problems.push(Problem::new(
                    "service-principal-id",
                    Some(sp.source.clone()),
                    format!(
                        "makes the settings outside the apps the app {0}, and apps/{0}/ names it too; keep one",
                        AppName::DEFAULT
                    ),
                ))
            }
            (None, Some(certificates)) => problems.push(Problem::new(
                "saml-certificates",
                Some(certificates.source.clone()),
                format!(
                    "is set outside the apps, but service-principal-id is not: with apps named, set both under apps/<name>/, or both outside them for the app {}",
                    AppName::DEFAULT
                ),
            )),
            _ => {}
        }
        problems
    }

    /// The apps these settings describe, by name: each under `[apps]`, and `default` — the
    /// settings outside them — when no app is named or `service-principal-id` is set outside
    /// them.
    pub fn app_names(&self) -> Vec<AppName> {
        let outside = self
            .get("service-principal-id")
            .is_some_and(|r| r.value.is_some());
        let mut names: Vec<AppName> = self.apps.keys().cloned().collect();
        if (outside || names.is_empty()) && !self.apps.contains_key(&AppName::default_app()) {
            names.push(AppName::default_app());
            names.sort();
        }
        names
    }

    /// Whether any app is named under `[apps]`.
    pub fn has_named_apps(&self) -> bool {
        !self.apps.is_empty()
    }

    /// The settings of the app `name`: its own values where it has them, the shared ones
    /// elsewhere. A problem when these settings describe no such app.
    pub fn for_app(&self, name: &AppName) -> Result<Settings, Problem> {
        if !self.app_names().contains(name) {
            let known: Vec<String> = self.app_names().iter().map(ToString::to_string).collect();
            return Err(Problem::new(
                "app",
                None,
                format!("no app is named {name}; the apps are: {}", known.join(", ")),
            ));
        }
        Ok(self.view_of(name))
    }

    /// The settings of the app `name`, which need not be named yet (`setup --app` adds one):
    /// its own values where it has them, the shared ones elsewhere.
    pub fn view_of(&self, name: &AppName) -> Settings {
        let own = self.apps.get(name);
        let named = own.is_some() || *name != AppName::default_app();
        Settings {
            resolved: layers::merge_app(&self.resolved, own.map_or(&[][..], Vec::as_slice), named),
            apps: self.apps.clone(),
            view: Some(name.clone()),
            problems: self.problems.clone(),
            ssm_prefix: self.ssm_prefix.clone(),
        }
    }

    /// Whether, in the settings of a named app, `setting` is the app's own value (not the
    /// shared one).
    pub fn is_own(&self, setting: &str) -> bool {
        self.view
            .as_ref()
            .and_then(|app| self.apps.get(app))
            .is_some_and(|entries| entries.iter().any(|e| e.key == setting))
    }

    /// Each app's `service-principal-id` as set (not validated), for commands that only need
    /// to tell the apps' backups apart; apps without one are left out.
    pub fn service_principals(&self) -> Vec<(AppName, String)> {
        self.app_names()
            .into_iter()
            .filter_map(|name| {
                let view = self.for_app(&name).ok()?;
                let id = view.get("service-principal-id")?.value.as_ref()?;
                Some((name, id.expose().trim().to_owned()))
            })
            .collect()
    }

    /// The app these settings are of, for a view made by [`Settings::for_app`] or
    /// [`Settings::view_of`]; `default` included.
    pub fn app(&self) -> Option<&AppName> {
        self.view.as_ref()
    }

    /// The app these settings are of when it lives under `[apps]` (or is being added there):
    /// every app but the `default` of the settings outside them.
    pub fn named_app(&self) -> Option<&AppName> {
        self.view
            .as_ref()
            .filter(|name| **name != AppName::default_app() || self.apps.contains_key(*name))
    }

    /// Every setting, in the table's order.
    pub fn resolved(&self) -> &[Resolved] {
        &self.resolved
    }

    /// The setting called `name`; `None` only for a name the table does not have.
    pub fn get(&self, name: &str) -> Option<&Resolved> {
        self.resolved.iter().find(|r| r.setting.name == name)
    }

    /// Problems of the sources themselves (unknown keys, an unreadable config file), which
    /// every command reports along with its own.
    pub fn source_problems(&self) -> &[Problem] {
        &self.problems
    }

    /// The SSM prefix in use, ending with `/`.
    pub fn ssm_prefix(&self) -> Option<&str> {
        self.ssm_prefix.as_deref()
    }
}

/// `authority-url`, `graph-url` and `federation-audience` default from `cloud` when it is valid.
fn derive_urls(resolved: &mut [Resolved]) {
    let cloud = resolved
        .iter()
        .find(|r| r.setting.name == "cloud")
        .and_then(|r| r.value.as_ref())
        .and_then(|v| v.expose().parse::<Cloud>().ok());
    let Some(cloud) = cloud else { return };
    for r in resolved.iter_mut().filter(|r| r.value.is_none()) {
        let url = match r.setting.name {
            "authority-url" => cloud.authority_url(),
            "graph-url" => cloud.graph_url(),
            "federation-audience" => cloud.federation_audience(),
            _ => continue,
        };
        r.value = Some(RawValue::Plain(url.to_owned()));
        r.source = Source::Default;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_follow_the_cloud_unless_set() {
        let env = Env::from_pairs([
            ("FEDSYNC_CLOUD", "china"),
            ("FEDSYNC_GRAPH_URL", "http://127.0.0.1:8080"),
        ]);
        let s = Settings::from_layers(vec![], env.entries(), vec![], vec![], vec![], None);
        let value = |name| {
            s.get(name)
                .unwrap()
                .value
                .as_ref()
                .unwrap()
                .expose()
                .to_owned()
        };
        assert_eq!(value("authority-url"), "https://login.chinacloudapi.cn");
        assert_eq!(s.get("authority-url").unwrap().source, Source::Default);
        assert_eq!(value("graph-url"), "http://127.0.0.1:8080");
    }

    #[tokio::test]
    async fn a_prefix_must_be_a_path() {
        let inputs = Inputs {
            ssm_prefix: Some("fedsync/prod".into()),
            ..Inputs::default()
        };
        let s = Settings::load(&inputs, None).await.unwrap();
        assert_eq!(
            s.source_problems()[0].to_string(),
            "ssm-prefix: \"fedsync/prod\" must start with \"/\", like /fedsync/prod/"
        );
        assert_eq!(s.ssm_prefix(), None);
    }
}
