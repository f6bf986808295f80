//! show: what `fedsync config show` prints — every setting's effective value and its source, then
//! each named app's own settings (`apps.<name>.<setting>`), as an aligned table or a JSON
//! array, bad rows marked.
//!
//! Pure: renders what it is given. Secret values print as `****`, unset ones as `-`; it never
//! exposes a secret.

use std::fmt::Write as _;

use serde::Serialize;

use super::build::ResolvedCredential;
use super::load::Settings;
use super::problem::Problem;
use crate::graph::Credential;

/// One row of `config show`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Row {
    pub name: String,
    /// As given (`****` for a secret); `None` when unset.
    pub value: Option<String>,
    /// `flag --x`, `env FEDSYNC_X`, `ssm /prefix/x`, `config file PATH`, `default`.
    pub source: String,
    /// What is wrong with it, when something is (several problems joined by `; `).
    pub problem: Option<String>,
}

/// One row per setting of the table, then the credential actually in use.
pub fn rows(
    settings: &Settings,
    credential: Option<&ResolvedCredential>,
    problems: &[Problem],
) -> Vec<Row> {
    let problem_of = |name: &str| {
        let found: Vec<&str> = problems
            .iter()
            .filter(|p| p.setting == name)
            .map(|p| p.message.as_str())
            .collect();
        (!found.is_empty()).then(|| found.join("; "))
    };
    // The `credential` setting (its kind) shows in the one `credential` row at the end.
    let kind = settings
        .resolved()
        .iter()
        .find(|r| r.setting.name == "credential" && r.value.is_some());
    let mut rows: Vec<Row> = settings
        .resolved()
        .iter()
        .filter(|r| r.setting.name != "credential")
        .map(|r| Row {
            name: r.setting.name.to_owned(),
            value: r.value.as_ref().map(|v| v.shown().to_owned()),
            source: r.source.to_string(),
            problem: problem_of(r.setting.name),
        })
        .collect();
    // Each app under [apps]: its per-app settings, its own values or the shared ones.
    for name in settings.app_names() {
        let view = settings.view_of(&name);
        if view.named_app().is_none() {
            continue;
        }
        for r in view
            .resolved()
            .iter()
            .filter(|r| super::table::is_per_app(r.setting.name))
        {
            let row_name = format!("apps.{name}.{}", r.setting.name);
            let source = match view.is_own(r.setting.name) || r.value.is_none() {
                true => r.source.to_string(),
                false => format!("shared: {}", r.source),
            };
            rows.push(Row {
                problem: problem_of(&row_name),
                name: row_name,
                value: r.value.as_ref().map(|v| v.shown().to_owned()),
                source,
            });
        }
    }
    let (value, source) = match (credential, kind) {
        (Some(c), _) => (
            Some(match &c.credential {
                Credential::Secret(_) => "client secret ****".to_owned(),
                Credential::Certificate(cert) => {
                    format!("certificate x5t#S256={}", cert.thumbprint())
                }
                Credential::Federated(tokens) => format!("aws-federation: {}", tokens.describe()),
            }),
            c.source.to_string(),
        ),
        (None, Some(kind)) => (
            kind.value.as_ref().map(|v| v.shown().to_owned()),
            kind.source.to_string(),
        ),
        (None, None) => (None, "-".to_owned()),
    };
    rows.push(Row {
        name: "credential".to_owned(),
        value,
        source,
        problem: problem_of("credential"),
    });
    rows
}

/// An aligned table: `!` in the first column marks a row with a problem.
pub fn to_text(rows: &[Row]) -> String {
    let width = |f: &dyn Fn(&Row) -> usize, header: &str| {
        rows.iter().map(f).chain([header.len()]).max().unwrap_or(0)
    };
    let name_width = width(&|r| r.name.chars().count(), "SETTING");
    let value_width = width(&|r| value_text(r).chars().count(), "VALUE");
    let mut out = String::new();
    let mut line = |mark: &str, name: &str, value: &str, source: &str| {
        let _ = writeln!(
            out,
            "{mark} {name:<name_width$}  {value:<value_width$}  {source}"
        );
    };
    line(" ", "SETTING", "VALUE", "SOURCE");
    for row in rows {
        let mark = if row.problem.is_some() { "!" } else { " " };
        line(mark, &row.name, value_text(row), &row.source);
    }
    out.lines()
        .map(str::trim_end)
        .fold(String::new(), |mut s, l| {
            s.push_str(l);
            s.push('\n');
            s
        })
}

fn value_text(row: &Row) -> &str {
    row.value.as_deref().unwrap_or("-")
}

/// A JSON array of `{name, value, source, problem}`; `value` and `problem` may be null.
pub fn to_json(rows: &[Row]) -> serde_json::Value {
    serde_json::to_value(rows).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::layers::Env;

    fn settings() -> Settings {
        let env = Env::from_pairs([
            ("FEDSYNC_CLIENT_SECRET", "hunter2-local-secret"),
            ("FEDSYNC_CONCURRENCY", "0"),
        ]);
        Settings::from_layers(vec![], env.entries(), vec![], vec![], vec![], None)
    }

    #[tokio::test]
    async fn the_table_shows_values_sources_and_marks_bad_rows_without_secrets() {
        let s = settings();
        let credential = s.credential(None).await.unwrap();
        let problems = s.inventory().unwrap_err().0;
        let rows = rows(&s, credential.as_ref(), &problems);
        let text = to_text(&rows);
        assert!(!text.contains("hunter2"), "{text}");
        let line = |name: &str| {
            text.lines()
                .find(|l| l[2..].starts_with(&format!("{name} ")))
                .unwrap_or_else(|| panic!("no row {name} in\n{text}"))
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(
            line("client-secret"),
            "client-secret **** env FEDSYNC_CLIENT_SECRET"
        );
        assert_eq!(
            line("concurrency"),
            "! concurrency 0 env FEDSYNC_CONCURRENCY"
        );
        assert_eq!(line("tenant-id"), "tenant-id - default");
        assert_eq!(line("saml-entity-id"), "! saml-entity-id - default");
        assert_eq!(line("cloud"), "cloud global default");
        assert_eq!(
            line("credential"),
            "credential client secret **** env FEDSYNC_CLIENT_SECRET"
        );
        assert!(text.starts_with("  SETTING "), "{text}");

        let json = to_json(&rows);
        assert!(!json.to_string().contains("hunter2"));
        let concurrency = json
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "concurrency")
            .unwrap();
        assert_eq!(concurrency["value"], "0");
        assert_eq!(concurrency["source"], "env FEDSYNC_CONCURRENCY");
        assert_eq!(
            concurrency["problem"],
            "\"0\" is not a number from 1 to 256"
        );
    }
}
