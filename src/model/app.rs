//! app: the name of one Entra enterprise app fedsync syncs — `default` for the settings outside
//! `[apps]`, else the name under `[apps.<name>]` (SSM `<prefix>apps/<name>/…`), such as `shard-2`.

use std::fmt;
use std::str::FromStr;

use super::ParseError;

/// The name of an Entra enterprise app that holds one shard of the Organization's roles.
///
/// It is a TOML key and an SSM path segment, so it is 1 to 64 of `A-Z a-z 0-9 - _ .`, starting
/// with a letter or digit.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct AppName(String);

/// The longest app name.
pub const MAX_APP_NAME: usize = 64;

impl AppName {
    /// The app the settings outside `[apps]` describe.
    pub const DEFAULT: &'static str = "default";

    pub fn default_app() -> AppName {
        AppName(AppName::DEFAULT.to_owned())
    }

    /// `{prefix}{n}`, such as `shard-2`; `prefix` is a valid name's start (a fedsync constant).
    pub fn numbered(prefix: &str, n: usize) -> AppName {
        AppName(format!("{prefix}{n}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for AppName {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let valid = s.len() <= MAX_APP_NAME
            && s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if valid {
            Ok(AppName(s.to_owned()))
        } else {
            Err(ParseError::new(
                "app name",
                s,
                "expected 1 to 64 letters, digits, '-', '_' or '.', starting with a letter or digit",
            ))
        }
    }
}

impl fmt::Display for AppName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_a_path_segment_and_a_toml_key() {
        for good in ["default", "shard-2", "AWS_prod.eu", "a"] {
            assert_eq!(good.parse::<AppName>().unwrap().as_str(), good);
        }
        for bad in ["", "-x", "a/b", "a b", "é", &"x".repeat(65)] {
            let err = bad.parse::<AppName>().unwrap_err().to_string();
            assert!(err.starts_with("invalid app name"), "{bad}: {err}");
        }
    }
}
