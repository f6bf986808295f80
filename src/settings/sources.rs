//! sources: the readers behind the layers — the TOML config file, SSM parameters under the prefix
//! (`GetParametersByPath`, recursive, SecureString decrypted, paginated with a page ceiling) and
//! the credential's Secrets Manager secret.
//!
//! Readers only turn what they read into [`Entry`]s or a [`Credential`]; merging and parsing live
//! elsewhere. They never log a value, and a problem with the secret says what is wrong with it,
//! never what it holds.

use std::path::Path;

use aws_config::SdkConfig;
use aws_sdk_ssm::types::ParameterType;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use tracing::debug;

use super::layers::{Entry, RawValue, Source};
use super::problem::Problem;
use crate::aws::error::{Cause, cause};
use crate::graph::{CertificateCredential, Credential};

/// `MaxResults` of a `GetParametersByPath` page (SSM allows at most 10).
const SSM_PAGE_SIZE: i32 = 10;
/// Pages read at most: 500 parameters is far more than fedsync has settings.
pub const SSM_MAX_PAGES: usize = 50;

/// Reading the settings' sources failed (not a bad value: that is a [`Problem`]).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read the SSM parameters under {prefix}")]
    Ssm { prefix: String, source: Cause },
    #[error(
        "more than {} SSM parameters under {prefix}: is the prefix right?",
        SSM_MAX_PAGES * SSM_PAGE_SIZE as usize
    )]
    TooManyParameters { prefix: String },
}

/// The config file's entries: a TOML table of `setting-name = value`. Strings, integers,
/// booleans and lists (joined with `,`) are taken; anything else is a problem.
pub fn config_file_entries(path: &Path, text: &str) -> (Vec<Entry>, Vec<Problem>) {
    let file_problem =
        |message: String| Problem::new(format!("config file {}", path.display()), None, message);
    let table: toml::Table = match toml::from_str(text) {
        Ok(table) => table,
        Err(e) => {
            let place = e
                .span()
                .map(|span| {
                    let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                    format!("line {line}: ")
                })
                .unwrap_or_default();
            let message = e.message().lines().next().unwrap_or("not TOML").trim();
            return (
                Vec::new(),
                vec![file_problem(format!("{place}not valid TOML: {message}"))],
            );
        }
    };
    let source = Source::ConfigFile {
        path: path.to_owned(),
    };
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    for (key, value) in table {
        if key == APPS_TABLE {
            app_tables(&value, &source, &mut entries, &mut problems);
            continue;
        }
        match toml_text(&value) {
            Some(text) => entries.push(Entry {
                key,
                value: RawValue::Plain(text),
                source: source.clone(),
            }),
            None => problems.push(Problem::new(
                key,
                Some(source.clone()),
                format!(
                    "expected a string, number, boolean or list of them, not {}",
                    value.type_str()
                ),
            )),
        }
    }
    (entries, problems)
}

/// The config file's table of apps, `[apps.<name>]`.
const APPS_TABLE: &str = "apps";

/// The entries of `[apps.<name>]` tables, keyed `apps/<name>/<setting>` as SSM keys them.
fn app_tables(
    value: &toml::Value,
    source: &Source,
    entries: &mut Vec<Entry>,
    problems: &mut Vec<Problem>,
) {
    let not_a_table = |key: String, value: &toml::Value, what: &str| {
        Problem::new(
            key,
            Some(source.clone()),
            format!("expected {what}, not {}", value.type_str()),
        )
    };
    let toml::Value::Table(apps) = value else {
        problems.push(not_a_table(
            APPS_TABLE.to_owned(),
            value,
            "a table of apps, [apps.<name>]",
        ));
        return;
    };
    for (app, settings) in apps {
        let toml::Value::Table(settings) = settings else {
            problems.push(not_a_table(
                format!("apps.{app}"),
                settings,
                "a table of the app's settings, [apps.<name>]",
            ));
            continue;
        };
        for (key, value) in settings {
            match toml_text(value) {
                Some(text) => entries.push(Entry {
                    key: format!("{}{app}/{key}", super::layers::APPS_PREFIX),
                    value: RawValue::Plain(text),
                    source: source.clone(),
                }),
                None => problems.push(not_a_table(
                    format!("apps.{app}.{key}"),
                    value,
                    "a string, number, boolean or list of them",
                )),
            }
        }
    }
}

fn toml_text(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        toml::Value::Array(items) => items
            .iter()
            .map(|item| match item {
                toml::Value::Array(_) | toml::Value::Table(_) => None,
                scalar => toml_text(scalar),
            })
            .collect::<Option<Vec<_>>>()
            .map(|items| items.join(",")),
        toml::Value::Table(_) | toml::Value::Datetime(_) => None,
    }
}

/// Reads the config file; a file that cannot be read is a problem, not a failure.
pub fn read_config_file(path: &Path) -> (Vec<Entry>, Vec<Problem>) {
    match std::fs::read_to_string(path) {
        Ok(text) => config_file_entries(path, &text),
        Err(e) => (
            Vec::new(),
            vec![Problem::new(
                format!("config file {}", path.display()),
                None,
                format!("cannot read it: {e}"),
            )],
        ),
    }
}

/// Every parameter under `prefix` (which ends with `/`), keyed by its name below the prefix.
/// SecureString values are decrypted and stay secret.
pub async fn ssm_entries(sdk: &SdkConfig, prefix: &str) -> Result<Vec<Entry>, LoadError> {
    let client = aws_sdk_ssm::Client::new(sdk);
    let path = match prefix.trim_end_matches('/') {
        "" => "/",
        path => path,
    };
    let mut pages = client
        .get_parameters_by_path()
        .path(path)
        .recursive(true)
        .with_decryption(true)
        .max_results(SSM_PAGE_SIZE)
        .into_paginator()
        .send();
    let mut entries = Vec::new();
    let mut read = 0;
    while let Some(page) = pages.next().await {
        read += 1;
        if read > SSM_MAX_PAGES {
            return Err(LoadError::TooManyParameters {
                prefix: prefix.to_owned(),
            });
        }
        let page = page.map_err(|e| LoadError::Ssm {
            prefix: prefix.to_owned(),
            source: cause(&e),
        })?;
        for parameter in page.parameters() {
            let (Some(name), Some(value)) = (parameter.name(), parameter.value()) else {
                continue;
            };
            let key = name.strip_prefix(prefix).unwrap_or(name);
            let secure = parameter.r#type() == Some(&ParameterType::SecureString);
            entries.push(Entry {
                key: key.to_owned(),
                value: RawValue::new(value.to_owned(), secure),
                source: Source::Ssm {
                    parameter: name.to_owned(),
                },
            });
        }
    }
    debug!(prefix, parameters = entries.len(), "read SSM parameters");
    Ok(entries)
}

/// The sync app's credential from the Secrets Manager secret `secret`; the error says what is
/// wrong (and names the secret), never what the secret holds.
pub async fn secret_credential(sdk: &SdkConfig, secret: &str) -> Result<Credential, String> {
    let client = aws_sdk_secretsmanager::Client::new(sdk);
    let out = client
        .get_secret_value()
        .secret_id(secret)
        .send()
        .await
        .map_err(|e| {
            format!(
                "cannot read secret {secret}: {}",
                crate::aws::error::describe(&e)
            )
        })?;
    let Some(text) = out.secret_string() else {
        return Err(format!(
            "secret {secret} holds binary data; store the credential as JSON text"
        ));
    };
    let text = SecretString::from(text.to_owned());
    drop(out);
    credential_from_json(&text).map_err(|what| format!("secret {secret} {what}"))
}

const SHAPES: &str =
    r#"expected {"client_secret": "..."} or {"certificate_pem": "...", "private_key_pem": "..."}"#;

/// A credential from the secret's JSON text. The error completes "secret NAME …" and holds
/// nothing of the text (not even a key it does not know, which could be a pasted value).
pub fn credential_from_json(text: &SecretString) -> Result<Credential, String> {
    let value: Value = serde_json::from_str(text.expose_secret()).map_err(|e| {
        format!(
            "is not JSON (syntax error at line {}, column {}); {SHAPES}",
            e.line(),
            e.column()
        )
    })?;
    let Value::Object(map) = value else {
        return Err(format!("holds JSON that is not an object; {SHAPES}"));
    };
    const KNOWN: [&str; 3] = ["client_secret", "certificate_pem", "private_key_pem"];
    let unknown = map.keys().filter(|k| !KNOWN.contains(&k.as_str())).count();
    if unknown > 0 {
        return Err(format!(
            "has {unknown} key(s) other than client_secret, certificate_pem and private_key_pem; {SHAPES}"
        ));
    }
    let field = |name: &str| -> Result<Option<SecretString>, String> {
        match map.get(name) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Err(format!("has an empty {name}")),
            Some(Value::String(s)) => Ok(Some(SecretString::from(s.clone()))),
            Some(_) => Err(format!("has a {name} that is not a string")),
        }
    };
    match (
        field("client_secret")?,
        field("certificate_pem")?,
        field("private_key_pem")?,
    ) {
        (Some(secret), None, None) => Ok(Credential::Secret(secret)),
        (None, Some(certificate), Some(key)) => {
            CertificateCredential::from_pem(certificate.expose_secret(), &key)
                .map(Credential::Certificate)
                .map_err(|e| format!("holds a certificate that cannot be used: {e}"))
        }
        (Some(_), _, _) => Err(format!(
            "holds both client_secret and a certificate; keep one: {SHAPES}"
        )),
        (None, Some(_), None) => Err("has certificate_pem but no private_key_pem".to_owned()),
        (None, None, Some(_)) => Err("has private_key_pem but no certificate_pem".to_owned()),
        (None, None, None) => Err(format!("holds an empty object; {SHAPES}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Credential, String> {
        credential_from_json(&SecretString::from(json.to_owned()))
    }

    #[test]
    fn a_client_secret_is_read_and_stays_secret() {
        let credential = parse(r#"{"client_secret": "s3cr3t-value"}"#).unwrap();
        assert!(
            matches!(&credential, Credential::Secret(s) if s.expose_secret() == "s3cr3t-value")
        );
        assert!(!format!("{credential:?}").contains("s3cr3t"));
    }

    #[test]
    fn every_malformed_shape_is_named_without_its_content() {
        for (json, expected) in [
            (
                "s3cr3t-value",
                "is not JSON (syntax error at line 1, column 1)",
            ),
            (r#"{"client_secret": "s3cr3t-value""#, "is not JSON"),
            (r#""s3cr3t-value""#, "not an object"),
            (r#"{"clientSecret": "s3cr3t-value"}"#, "1 key(s) other than"),
            (r#"{"s3cr3t-value": "x"}"#, "1 key(s) other than"),
            (
                r#"{"client_secret": 5}"#,
                "client_secret that is not a string",
            ),
            (r#"{"client_secret": " "}"#, "an empty client_secret"),
            (r#"{}"#, "an empty object"),
            (
                r#"{"client_secret": "s3cr3t-value", "certificate_pem": "a", "private_key_pem": "b"}"#,
                "both client_secret and a certificate",
            ),
            (
                r#"{"certificate_pem": "s3cr3t-value"}"#,
                "certificate_pem but no private_key_pem",
            ),
            (
                r#"{"certificate_pem": "s3cr3t-value", "private_key_pem": "s3cr3t-value"}"#,
                "certificate that cannot be used",
            ),
        ] {
            let err = parse(json).unwrap_err();
            assert!(err.contains(expected), "{json}: {err}");
            assert!(!err.contains("s3cr3t"), "{json}: {err}");
        }
    }

    #[test]
    fn the_config_file_takes_strings_numbers_booleans_and_lists() {
        let text = r#"
            tenant-id = "t"
            concurrency = 8
            create-groups = false
            saml-certificates = ["aa", "bb"]
            nested = { a = 1 }
        "#;
        let (entries, problems) = config_file_entries(Path::new("f.toml"), text);
        let got: Vec<(String, &str)> = entries
            .iter()
            .map(|e| (e.key.clone(), e.value.expose()))
            .collect();
        assert_eq!(
            got,
            [
                ("concurrency".to_owned(), "8"),
                ("create-groups".to_owned(), "false"),
                ("saml-certificates".to_owned(), "aa,bb"),
                ("tenant-id".to_owned(), "t"),
            ]
        );
        assert_eq!(
            problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
            [
                "nested (from config file f.toml): expected a string, number, boolean or list of them, not table"
            ]
        );
    }

    #[test]
    fn app_tables_become_entries_keyed_as_ssm_keys_them() {
        let text = r#"
            tenant-id = "t"
            [apps.shard-2]
            service-principal-id = "x"
            saml-certificates = ["aa", "bb"]
            deep = { a = 1 }
            [apps]
            flat = 3
        "#;
        let (entries, problems) = config_file_entries(Path::new("f.toml"), text);
        let got: Vec<(String, &str)> = entries
            .iter()
            .map(|e| (e.key.clone(), e.value.expose()))
            .collect();
        assert_eq!(
            got,
            [
                ("apps/shard-2/saml-certificates".to_owned(), "aa,bb"),
                ("apps/shard-2/service-principal-id".to_owned(), "x"),
                ("tenant-id".to_owned(), "t"),
            ]
        );
        assert_eq!(
            problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
            [
                "apps.flat (from config file f.toml): expected a table of the app's settings, [apps.<name>], not integer",
                "apps.shard-2.deep (from config file f.toml): expected a string, number, boolean or list of them, not table",
            ]
        );
    }

    #[test]
    fn a_config_file_that_is_not_toml_names_the_file_and_line() {
        let (entries, problems) = config_file_entries(
            Path::new("f.toml"),
            "tenant-id = \"t\"\nconcurrency = = 3\n",
        );
        assert!(entries.is_empty());
        let line = problems[0].to_string();
        assert!(
            line.starts_with("config file f.toml: line 2: not valid TOML: "),
            "{line}"
        );
        let (_, problems) = read_config_file(Path::new("/nonexistent/fedsync.toml"));
        assert!(
            problems[0]
                .to_string()
                .starts_with("config file /nonexistent/fedsync.toml: cannot read it: "),
            "{}",
            problems[0]
        );
    }
}
