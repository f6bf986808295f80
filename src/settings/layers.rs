//! layers: raw setting values from each source, each with its [`Source`], and the merge that
//! picks per setting the value of the highest source — flag > environment > SSM > config file >
//! default.
//!
//! Values stay strings here; `build` parses them. Pure: reads nothing itself (the environment
//! comes in as an [`Env`] snapshot). Secret values are `SecretString` from the moment they enter
//! and print as `****`; this module never exposes one.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};

use super::problem::Problem;
use super::table::{self, DefaultValue, SETTINGS, Setting};
use crate::model::AppName;

/// Where a value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// The command line; holds the setting's name (the flag is `--<name>`).
    Flag(&'static str),
    /// An environment variable.
    Env(&'static str),
    /// An SSM parameter, by its full name.
    Ssm { parameter: String },
    /// The TOML file given with `--config`.
    ConfigFile { path: PathBuf },
    /// The built-in default.
    Default,
    /// A Secrets Manager secret (the credential only).
    SecretsManager { secret: String },
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag(name) => write!(f, "flag --{name}"),
            Source::Env(var) => write!(f, "env {var}"),
            Source::Ssm { parameter } => write!(f, "ssm {parameter}"),
            Source::ConfigFile { path } => write!(f, "config file {}", path.display()),
            Source::Default => f.write_str("default"),
            Source::SecretsManager { secret } => write!(f, "secrets manager {secret}"),
        }
    }
}

/// A value as its source gave it. A secret one prints as `****` in `Debug` and [`shown`].
///
/// [`shown`]: RawValue::shown
#[derive(Clone)]
pub enum RawValue {
    Plain(String),
    Secret(SecretString),
}

impl RawValue {
    pub fn new(text: String, secret: bool) -> RawValue {
        if secret {
            RawValue::Secret(SecretString::from(text))
        } else {
            RawValue::Plain(text)
        }
    }

    pub fn is_secret(&self) -> bool {
        matches!(self, RawValue::Secret(_))
    }

    /// The value to print: the text, or `****` for a secret.
    pub fn shown(&self) -> &str {
        match self {
            RawValue::Plain(text) => text,
            RawValue::Secret(_) => "****",
        }
    }

    /// The text itself, secret or not; only parsing and the credential may call this.
    pub fn expose(&self) -> &str {
        match self {
            RawValue::Plain(text) => text,
            RawValue::Secret(secret) => secret.expose_secret(),
        }
    }

    fn into_secret(self) -> RawValue {
        match self {
            RawValue::Plain(text) => RawValue::Secret(SecretString::from(text)),
            secret => secret,
        }
    }
}

impl fmt::Debug for RawValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RawValue::Plain(text) => write!(f, "{text:?}"),
            RawValue::Secret(_) => f.write_str("****"),
        }
    }
}

/// One value a source holds, under the key it used (which may be no setting's name).
#[derive(Clone, Debug)]
pub struct Entry {
    pub key: String,
    pub value: RawValue,
    pub source: Source,
}

/// The settings given on the command line, by setting name.
#[derive(Clone, Debug, Default)]
pub struct Flags(Vec<(&'static str, String)>);

impl Flags {
    /// Records `--<name> value` when the flag was given.
    pub fn set(&mut self, name: &'static str, value: Option<&str>) {
        if let Some(value) = value {
            self.0.push((name, value.to_owned()));
        }
    }

    /// Records a list flag (`--x a,b --x c`) as one comma-separated value, when given.
    pub fn set_list(&mut self, name: &'static str, values: &[String]) {
        if !values.is_empty() {
            self.0.push((name, values.join(",")));
        }
    }

    pub fn entries(&self) -> Vec<Entry> {
        self.0
            .iter()
            .map(|(name, value)| Entry {
                key: (*name).to_owned(),
                value: RawValue::Plain(value.clone()),
                source: Source::Flag(name),
            })
            .collect()
    }
}

/// A snapshot of the `FEDSYNC_*` environment variables.
#[derive(Clone, Default)]
pub struct Env(BTreeMap<String, String>);

/// Variables that are not settings but belong to fedsync (global flags, the dev tools).
const OTHER_VARIABLES: &[&str] = &[
    "FEDSYNC_CONFIG",
    "FEDSYNC_SSM_PREFIX",
    "FEDSYNC_VENV",
    "FEDSYNC_MOTO_SERVER",
    // `fedsync setup`'s answers that are files, not settings.
    "FEDSYNC_SAML_METADATA",
    "FEDSYNC_APP_MANIFEST",
    "FEDSYNC_CERTIFICATE_PEM",
    "FEDSYNC_PRIVATE_KEY_PEM",
    // Test-only lease times (`commands/sync.rs`): they let a test make a run overrun its lease.
    "FEDSYNC_TEST_LEASE_SECONDS",
    "FEDSYNC_TEST_DEADLINE_SECONDS",
];

impl Env {
    /// The process environment's `FEDSYNC_*` variables.
    pub fn from_process() -> Env {
        Env(std::env::vars_os()
            .filter_map(|(k, v)| {
                let k = k.into_string().ok()?;
                k.starts_with("FEDSYNC_")
                    .then(|| (k, v.to_string_lossy().into_owned()))
            })
            .collect())
    }

    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Env {
        Env(pairs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect())
    }

    /// One entry per setting whose variable is set; an empty variable counts as unset.
    pub fn entries(&self) -> Vec<Entry> {
        SETTINGS
            .iter()
            .filter_map(|s| {
                let value = self.0.get(s.env).filter(|v| !v.is_empty())?;
                Some(Entry {
                    key: s.name.to_owned(),
                    value: RawValue::new(value.clone(), s.secret),
                    source: Source::Env(s.env),
                })
            })
            .collect()
    }

    /// `FEDSYNC_*` variables that are no setting, each with the variable it likely meant.
    pub fn unknown(&self) -> Vec<(String, Option<&'static str>)> {
        self.0
            .keys()
            .filter(|k| {
                !OTHER_VARIABLES.contains(&k.as_str()) && !SETTINGS.iter().any(|s| s.env == *k)
            })
            .map(|k| {
                let guess = table::closest(k.trim_start_matches("FEDSYNC_"))
                    .and_then(table::get)
                    .map(|s| s.env);
                (k.clone(), guess)
            })
            .collect()
    }
}

impl fmt::Debug for Env {
    /// Names only: a variable may hold a secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// A setting's effective value and where it came from. `None` when no source sets it and it has
/// no default value.
#[derive(Clone, Debug)]
pub struct Resolved {
    pub setting: &'static Setting,
    pub value: Option<RawValue>,
    pub source: Source,
}

/// Merges the layers, highest first, into one [`Resolved`] per setting of the table (in its
/// order), and a problem for each entry that is no setting or may not come from its source.
pub fn merge(layers: &[Vec<Entry>]) -> (Vec<Resolved>, Vec<Problem>) {
    let resolved = SETTINGS
        .iter()
        .map(|setting| {
            let found = layers
                .iter()
                .flatten()
                .find(|e| e.key == setting.name && allowed(setting, &e.source));
            match found {
                Some(entry) => Resolved {
                    setting,
                    value: Some(if setting.secret {
                        entry.value.clone().into_secret()
                    } else {
                        entry.value.clone()
                    }),
                    source: entry.source.clone(),
                },
                None => Resolved {
                    setting,
                    value: match setting.default {
                        DefaultValue::Value(v) => Some(RawValue::Plain(v.to_owned())),
                        DefaultValue::Required | DefaultValue::Unset(_) => None,
                    },
                    source: Source::Default,
                },
            }
        })
        .collect();

    let mut problems = Vec::new();
    for entry in layers.iter().flatten() {
        if let Some(rest) = entry.key.strip_prefix(APPS_PREFIX) {
            problems.extend(app_entry_problem(entry, rest));
            continue;
        }
        match table::get(&entry.key) {
            None => {
                let hint = match table::closest(&entry.key) {
                    Some(name) => format!("; did you mean {name}?"),
                    None => String::new(),
                };
                problems.push(Problem::new(
                    entry.key.clone(),
                    Some(entry.source.clone()),
                    format!("unknown setting{hint}"),
                ));
            }
            Some(setting) if !allowed(setting, &entry.source) => {
                problems.push(Problem::new(
                    entry.key.clone(),
                    Some(entry.source.clone()),
                    format!(
                        "cannot be set here; set it with {}",
                        setting.where_to_set(None)
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    (resolved, problems)
}

/// Where an app's own settings are keyed: `apps/<name>/<setting>` (SSM, and the config file's
/// `[apps.<name>]` tables).
pub const APPS_PREFIX: &str = "apps/";

/// The app and the setting of an `apps/<name>/<setting>` key (given without `apps/`), when it
/// has that shape and the name is valid.
pub fn split_app_key(rest: &str) -> Option<(AppName, &str)> {
    let (app, setting) = rest.split_once('/')?;
    Some((app.parse().ok()?, setting))
}

/// What is wrong with an entry keyed `apps/<rest>`: a bad app name, no setting, an unknown
/// setting, or one every app shares.
fn app_entry_problem(entry: &Entry, rest: &str) -> Option<Problem> {
    let problem =
        |message: String| Problem::new(entry.key.clone(), Some(entry.source.clone()), message);
    let Some((app, setting)) = rest.split_once('/') else {
        return Some(problem(
            "is not an app's setting: expected apps/<name>/<setting>".to_owned(),
        ));
    };
    if let Err(e) = app.parse::<AppName>() {
        return Some(problem(e.to_string()));
    }
    if table::is_per_app(setting) {
        return None;
    }
    Some(match table::get(setting) {
        Some(_) => problem(format!(
            "{setting} is shared by every app; set it once, outside the apps (each app may set {})",
            table::PER_APP.join(", ")
        )),
        None => {
            let hint = table::closest(setting)
                .filter(|name| table::is_per_app(name))
                .map(|name| format!("; did you mean {name}?"))
                .unwrap_or_default();
            problem(format!("unknown setting {setting:?}{hint}"))
        }
    })
}

/// The settings of one app: every per-app setting takes the app's own value when it has one
/// (from `app_entries`, highest source first) — it beats the shared value from any source, flags
/// and environment included, since it is that app's. Else a setting of [`table::APP_OWN`] is
/// unset for a named app (`named`), and the others keep the shared value.
pub fn merge_app(shared: &[Resolved], app_entries: &[Entry], named: bool) -> Vec<Resolved> {
    shared
        .iter()
        .map(|r| {
            if !table::is_per_app(r.setting.name) {
                return r.clone();
            }
            let own = app_entries
                .iter()
                .find(|e| e.key == r.setting.name && allowed(r.setting, &e.source));
            match own {
                Some(entry) => Resolved {
                    setting: r.setting,
                    value: Some(entry.value.clone()),
                    source: entry.source.clone(),
                },
                None if named && table::APP_OWN.contains(&r.setting.name) => Resolved {
                    setting: r.setting,
                    value: None,
                    source: Source::Default,
                },
                None => r.clone(),
            }
        })
        .collect()
}

/// Whether `setting` may take its value from `source`.
fn allowed(setting: &Setting, source: &Source) -> bool {
    match source {
        Source::Flag(_) => setting.flag.is_some(),
        Source::Env(_) | Source::Default => true,
        Source::Ssm { .. } | Source::ConfigFile { .. } => setting.stored,
        Source::SecretsManager { .. } => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, value: &str, source: Source) -> Entry {
        Entry {
            key: key.to_owned(),
            value: RawValue::Plain(value.to_owned()),
            source,
        }
    }

    fn ssm(key: &str, value: &str) -> Entry {
        entry(
            key,
            value,
            Source::Ssm {
                parameter: format!("/fedsync/prod/{key}"),
            },
        )
    }

    fn file(key: &str, value: &str) -> Entry {
        entry(
            key,
            value,
            Source::ConfigFile {
                path: "fedsync.toml".into(),
            },
        )
    }

    fn get<'a>(resolved: &'a [Resolved], name: &str) -> (Option<&'a str>, &'a Source) {
        let r = resolved.iter().find(|r| r.setting.name == name).unwrap();
        (r.value.as_ref().map(RawValue::expose), &r.source)
    }

    /// `concurrency` set in every layer from `layers` on; the highest one wins.
    fn concurrency_from(layers: usize) -> (String, Source) {
        let mut flags = Flags::default();
        flags.set("concurrency", Some("1"));
        let env = Env::from_pairs([("FEDSYNC_CONCURRENCY", "2")]);
        let all = [
            flags.entries(),
            env.entries(),
            vec![ssm("concurrency", "3")],
            vec![file("concurrency", "4")],
        ];
        let (resolved, problems) = merge(&all[layers..]);
        assert!(problems.is_empty(), "{problems:?}");
        let (value, source) = get(&resolved, "concurrency");
        (value.unwrap().to_owned(), source.clone())
    }

    #[test]
    fn flag_beats_env_beats_ssm_beats_config_file_beats_default() {
        assert_eq!(
            concurrency_from(0),
            ("1".into(), Source::Flag("concurrency"))
        );
        assert_eq!(
            concurrency_from(1),
            ("2".into(), Source::Env("FEDSYNC_CONCURRENCY"))
        );
        assert_eq!(
            concurrency_from(2),
            (
                "3".into(),
                Source::Ssm {
                    parameter: "/fedsync/prod/concurrency".into()
                }
            )
        );
        assert_eq!(
            concurrency_from(3),
            (
                "4".into(),
                Source::ConfigFile {
                    path: "fedsync.toml".into()
                }
            )
        );
        assert_eq!(concurrency_from(4), ("128".into(), Source::Default));
    }

    #[test]
    fn sources_print_as_config_show_names_them() {
        assert_eq!(Source::Flag("tenant-id").to_string(), "flag --tenant-id");
        assert_eq!(
            Source::Env("FEDSYNC_TENANT_ID").to_string(),
            "env FEDSYNC_TENANT_ID"
        );
        assert_eq!(
            Source::Ssm {
                parameter: "/fedsync/prod/tenant-id".into()
            }
            .to_string(),
            "ssm /fedsync/prod/tenant-id"
        );
        assert_eq!(
            Source::ConfigFile {
                path: "fedsync.toml".into()
            }
            .to_string(),
            "config file fedsync.toml"
        );
        assert_eq!(Source::Default.to_string(), "default");
    }

    #[test]
    fn an_unset_setting_without_default_has_no_value() {
        let (resolved, _) = merge(&[]);
        assert_eq!(get(&resolved, "tenant-id"), (None, &Source::Default));
        assert_eq!(
            get(&resolved, "naming-convention"),
            (Some("AWS {0} - {1}"), &Source::Default)
        );
    }

    #[test]
    fn an_empty_environment_variable_counts_as_unset() {
        let env = Env::from_pairs([("FEDSYNC_EXTERNAL_ID", ""), ("FEDSYNC_CLOUD", "usgov")]);
        let (resolved, _) = merge(&[env.entries(), vec![file("external-id", "abc")]]);
        assert_eq!(get(&resolved, "external-id").0, Some("abc"));
        assert_eq!(get(&resolved, "cloud").0, Some("usgov"));
    }

    #[test]
    fn unknown_keys_are_problems_with_a_suggestion() {
        let (_, problems) = merge(&[
            vec![ssm("tenant-idd", "x"), ssm("team/tenant-id", "x")],
            vec![file("max_removals", "5"), file("verbosity", "high")],
        ]);
        let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "tenant-idd (from ssm /fedsync/prod/tenant-idd): unknown setting; did you mean tenant-id?",
                "team/tenant-id (from ssm /fedsync/prod/team/tenant-id): unknown setting",
                "max_removals (from config file fedsync.toml): unknown setting; did you mean max-removals?",
                "verbosity (from config file fedsync.toml): unknown setting",
            ]
        );
    }

    #[test]
    fn flag_and_environment_only_settings_are_refused_from_ssm_and_the_file() {
        let (resolved, problems) = merge(&[
            vec![ssm("client-secret", "hunter2")],
            vec![file("graph-url", "http://x")],
        ]);
        assert_eq!(get(&resolved, "client-secret").0, None);
        assert_eq!(get(&resolved, "graph-url").0, None);
        let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "client-secret (from ssm /fedsync/prod/client-secret): cannot be set here; set it with FEDSYNC_CLIENT_SECRET",
                "graph-url (from config file fedsync.toml): cannot be set here; set it with flag --graph-url, or FEDSYNC_GRAPH_URL",
            ]
        );
    }

    #[test]
    fn app_keys_must_name_an_app_and_one_of_its_settings() {
        let (_, problems) = merge(&[vec![
            ssm("apps/b/service-principal-id", "x"),
            ssm("apps/b/tenant-id", "x"),
            ssm("apps/b/max-removal", "x"),
            ssm("apps/b a/max-removals", "x"),
            ssm("apps/b", "x"),
        ]]);
        let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(lines.len(), 4, "{lines:#?}");
        assert!(lines[0].starts_with("apps/b/tenant-id (from ssm /fedsync/prod/apps/b/tenant-id): tenant-id is shared by every app; set it once, outside the apps (each app may set service-principal-id, saml-certificates,"), "{}", lines[0]);
        assert_eq!(
            lines[1],
            "apps/b/max-removal (from ssm /fedsync/prod/apps/b/max-removal): unknown setting \"max-removal\"; did you mean max-removals?"
        );
        assert!(
            lines[2].contains("invalid app name \"b a\""),
            "{}",
            lines[2]
        );
        assert!(
            lines[3].ends_with("is not an app's setting: expected apps/<name>/<setting>"),
            "{}",
            lines[3]
        );
    }

    #[test]
    fn an_apps_own_value_beats_the_shared_one_from_any_source() {
        let env = Env::from_pairs([
            ("FEDSYNC_NAMING_CONVENTION", "{account_id} {role_name}"),
            ("FEDSYNC_SERVICE_PRINCIPAL_ID", "top"),
        ]);
        let (shared, _) = merge(&[env.entries(), vec![file("max-removals", "5")]]);
        let own = [
            ssm("naming-convention", "B {0} {1}"),
            file("naming-convention", "C {0} {1}"),
        ];
        let app = merge_app(&shared, &own, true);
        assert_eq!(get(&app, "naming-convention").0, Some("B {0} {1}"));
        assert_eq!(get(&app, "max-removals").0, Some("5"));
        assert_eq!(get(&app, "service-principal-id"), (None, &Source::Default));
        let default = merge_app(&shared, &[], false);
        assert_eq!(get(&default, "service-principal-id").0, Some("top"));
    }

    #[test]
    fn secret_values_print_as_stars() {
        let env = Env::from_pairs([("FEDSYNC_CLIENT_SECRET", "hunter2-value")]);
        let (resolved, _) = merge(&[env.entries()]);
        let r = resolved
            .iter()
            .find(|r| r.setting.name == "client-secret")
            .unwrap();
        let value = r.value.as_ref().unwrap();
        assert!(value.is_secret());
        assert_eq!(value.shown(), "****");
        assert!(!format!("{r:?} {resolved:?} {env:?}").contains("hunter2"));
        // A value from a SecureString parameter is secret too, whatever the setting.
        assert_eq!(format!("{:?}", RawValue::new("abc".into(), true)), "****");
    }

    #[test]
    fn unknown_environment_variables_are_found_with_a_guess() {
        let env = Env::from_pairs([
            ("FEDSYNC_TENANTID", "x"),
            ("FEDSYNC_CONFIG", "f.toml"),
            ("FEDSYNC_TENANT_ID", "x"),
        ]);
        assert_eq!(
            env.unknown(),
            [("FEDSYNC_TENANTID".to_owned(), Some("FEDSYNC_TENANT_ID"))]
        );
    }
}
