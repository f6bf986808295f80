//! query: the OData query options the emulator understands — `$filter`, `$select`, `$top`,
//! `$skiptoken`, and on groups `$expand=owners` (optionally `owners($select=…)`) — parsed from
//! the raw query string.
//!
//! `$filter` takes exactly three forms: `displayName eq '…'`, `startswith(displayName,'…')` and
//! (service principals) `appId eq '…'`. String literals are in single quotes with `''` for a literal
//! quote, and the whole query is percent-decoded first (`+` is a space), as Graph does. Like the
//! directory, matching is case-insensitive. Anything else is refused with a `400 BadRequest`
//! naming the problem, never guessed at. Pure: no I/O.

use std::fmt;

use super::errors::GraphError;

/// A parsed `$filter`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Filter {
    DisplayNameEq(String),
    DisplayNameStartsWith(String),
    AppIdEq(String),
}

impl Filter {
    /// Whether a group with this display name passes. Case-insensitive, like Entra.
    pub fn matches(&self, display_name: &str) -> bool {
        let name = display_name.to_lowercase();
        match self {
            Filter::DisplayNameEq(v) => name == v.to_lowercase(),
            Filter::DisplayNameStartsWith(p) => name.starts_with(&p.to_lowercase()),
            Filter::AppIdEq(_) => false,
        }
    }
}

/// The query options of one request. `pairs` keeps every decoded parameter except `$skiptoken`,
/// in order, to build the next page's link.
#[derive(Clone, Debug, Default)]
pub struct Query {
    pub filter: Option<Filter>,
    pub select: Option<Vec<String>>,
    pub top: Option<usize>,
    pub skiptoken: Option<String>,
    /// `$expand=owners` (`Some(None)`) or `owners($select=a,b)` (`Some(Some([a, b]))`).
    pub expand_owners: Option<Option<Vec<String>>>,
    pub pairs: Vec<(String, String)>,
}

/// The largest `$top` Graph accepts for directory objects.
pub const MAX_TOP: usize = 999;
/// The most items Graph puts on one page of a listing with `$expand`.
pub const MAX_EXPANDED_PAGE: usize = 100;

/// Parses a raw query string, accepting only the `$` options in `allowed`. Parameters without a
/// `$` are ignored, as Graph ignores them.
pub fn parse(raw: Option<&str>, allowed: &[&str]) -> Result<Query, GraphError> {
    let mut query = Query::default();
    let mut seen: Vec<String> = Vec::new();
    for (key, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        let (key, value) = (key.into_owned(), value.into_owned());
        if key.starts_with('$') {
            if !allowed.contains(&key.as_str()) {
                return Err(bad(format!(
                    "Query option '{key}' is not supported here by the Graph emulator; supported: {}.",
                    if allowed.is_empty() {
                        "none".to_owned()
                    } else {
                        allowed.join(", ")
                    }
                )));
            }
            if seen.contains(&key) {
                return Err(bad(format!(
                    "Query option '{key}' was specified more than once, but it must be specified at most once."
                )));
            }
            seen.push(key.clone());
            match key.as_str() {
                "$filter" => {
                    query.filter = Some(parse_filter(&value).map_err(|e| {
                        bad(format!("Invalid filter clause: {e} (in $filter={value})"))
                    })?);
                }
                "$select" => query.select = Some(parse_select(&value)?),
                "$top" => {
                    let top = value
                        .parse::<usize>()
                        .ok()
                        .filter(|t| (1..=MAX_TOP).contains(t))
                        .ok_or_else(|| {
                            bad(format!(
                                "Invalid page size specified: '{value}'. Must be between 1 and {MAX_TOP} inclusive."
                            ))
                        })?;
                    query.top = Some(top);
                }
                "$skiptoken" => {
                    query.skiptoken = Some(value);
                    continue;
                }
                "$expand" => query.expand_owners = Some(parse_expand(&value)?),
                _ => {}
            }
        }
        query.pairs.push((key, value));
    }
    Ok(query)
}

fn bad(message: String) -> GraphError {
    GraphError::bad_request("BadRequest", message)
}

/// `$expand=owners` or `owners($select=…)`: the one relationship the emulator expands.
fn parse_expand(value: &str) -> Result<Option<Vec<String>>, GraphError> {
    let value = value.trim();
    if value == "owners" {
        return Ok(None);
    }
    match value
        .strip_prefix("owners($select=")
        .and_then(|rest| rest.strip_suffix(')'))
    {
        Some(select) => parse_select(select).map(Some),
        None => Err(bad(format!(
            "Parsing OData Select and Expand failed: the Graph emulator expands only 'owners' or 'owners($select=…)', not '{value}'."
        ))),
    }
}

/// `$select=a,b`: property names, trimmed, none empty.
fn parse_select(value: &str) -> Result<Vec<String>, GraphError> {
    let names: Vec<String> = value.split(',').map(|s| s.trim().to_owned()).collect();
    if names.iter().any(|n| {
        n.is_empty()
            || !n
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '@' || c == '.')
    }) {
        return Err(bad(format!(
            "Invalid $select '{value}': expected a comma-separated list of property names."
        )));
    }
    Ok(names)
}

/// Why a `$filter` does not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterError(String);

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses the (already percent-decoded) `$filter` text.
pub fn parse_filter(text: &str) -> Result<Filter, FilterError> {
    let mut p = Parser { text, pos: 0 };
    p.skip_ws();
    let filter = if p.eat_keyword("startswith") {
        p.skip_ws();
        p.expect('(')?;
        p.skip_ws();
        if p.expect_property()? != Property::DisplayName {
            return Err(p.error("startswith takes displayName only"));
        }
        p.skip_ws();
        p.expect(',')?;
        p.skip_ws();
        let prefix = p.string()?;
        p.skip_ws();
        p.expect(')')?;
        Filter::DisplayNameStartsWith(prefix)
    } else {
        let property = p.expect_property()?;
        if !p.skip_ws() {
            return Err(p.error("expected ' eq ' after the property"));
        }
        if !p.eat_keyword("eq") {
            return Err(p.error("expected the operator 'eq'; only eq and startswith are supported"));
        }
        if !p.skip_ws() {
            return Err(p.error("expected a space after 'eq'"));
        }
        match property {
            Property::DisplayName => Filter::DisplayNameEq(p.string()?),
            Property::AppId => Filter::AppIdEq(p.string()?),
        }
    };
    p.skip_ws();
    if p.pos != text.len() {
        return Err(p.error("unexpected text after the expression"));
    }
    Ok(filter)
}

/// The properties a filter may name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Property {
    DisplayName,
    AppId,
}

struct Parser<'a> {
    text: &'a str,
    /// Byte offset into `text`, always on a char boundary.
    pos: usize,
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        &self.text[self.pos..]
    }

    fn error(&self, what: &str) -> FilterError {
        FilterError(format!("{what} at character {}", self.pos + 1))
    }

    /// Skips spaces; says whether there were any.
    fn skip_ws(&mut self) -> bool {
        let start = self.pos;
        let trimmed = self.rest().trim_start_matches(' ');
        self.pos = self.text.len() - trimmed.len();
        self.pos > start
    }

    /// Consumes `word` if the text continues with it as a whole word.
    fn eat_keyword(&mut self, word: &str) -> bool {
        let rest = self.rest();
        let whole = rest.starts_with(word)
            && !rest[word.len()..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        if whole {
            self.pos += word.len();
        }
        whole
    }

    fn expect(&mut self, c: char) -> Result<(), FilterError> {
        if self.rest().starts_with(c) {
            self.pos += c.len_utf8();
            Ok(())
        } else {
            Err(self.error(&format!("expected '{c}'")))
        }
    }

    /// A property filters may name. Property names are case-insensitive in Graph.
    fn expect_property(&mut self) -> Result<Property, FilterError> {
        let end = self
            .rest()
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(self.rest().len());
        let name = &self.rest()[..end];
        if name.eq_ignore_ascii_case("displayName") {
            self.pos += end;
            Ok(Property::DisplayName)
        } else if name.eq_ignore_ascii_case("appId") {
            self.pos += end;
            Ok(Property::AppId)
        } else if name.is_empty() {
            Err(self.error("expected the property displayName"))
        } else {
            Err(self.error(&format!(
                "the emulator filters on displayName and appId only, not '{name}'"
            )))
        }
    }

    /// A string literal: `'…'` with `''` for one `'`.
    fn string(&mut self) -> Result<String, FilterError> {
        let start = self.pos;
        self.expect('\'')
            .map_err(|_| self.error("expected a string literal in single quotes"))?;
        let mut out = String::new();
        let mut chars = self.rest().char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c == '\'' {
                if chars.next_if(|&(_, n)| n == '\'').is_some() {
                    out.push('\'');
                } else {
                    self.pos += i + 1;
                    return Ok(out);
                }
            } else {
                out.push(c);
            }
        }
        self.pos = start;
        Err(self.error("unterminated string literal (a ' inside a value is written '')"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eq_with_doubled_quotes() {
        assert_eq!(
            parse_filter("displayName eq 'O''Brien'"),
            Ok(Filter::DisplayNameEq("O'Brien".into()))
        );
        assert_eq!(
            parse_filter("  displayname  eq  ''''  "),
            Ok(Filter::DisplayNameEq("'".into()))
        );
        assert_eq!(
            parse_filter("displayName eq ''"),
            Ok(Filter::DisplayNameEq(String::new()))
        );
    }

    #[test]
    fn startswith() {
        assert_eq!(
            parse_filter("startswith(displayName,'AWS 1')"),
            Ok(Filter::DisplayNameStartsWith("AWS 1".into()))
        );
        assert_eq!(
            parse_filter("startswith( displayName , 'a''b' )"),
            Ok(Filter::DisplayNameStartsWith("a'b".into()))
        );
    }

    #[test]
    fn malformed_filters_are_refused_with_a_reason() {
        for bad in [
            "",
            "displayName eq 'O'Brien'",
            "displayName eq 'open",
            "displayName eq O'Brien",
            "displayName ne 'x'",
            "displayNameeq 'x'",
            "displayName eq'x'",
            "mailNickname eq 'x'",
            "startswith(displayName,'x'",
            "startswith(displayName 'x')",
            "startswith(mail,'x')",
            "displayName eq 'x' or displayName eq 'y'",
            "displayName eq 'x' and",
            "startswithx(displayName,'x')",
            "é",
        ] {
            assert!(parse_filter(bad).is_err(), "{bad:?}");
        }
        let err = parse_filter("displayName eq 'O'Brien'").unwrap_err();
        assert!(err.to_string().contains("character 19"), "{err}");
    }

    #[test]
    fn matching_is_case_insensitive() {
        assert!(Filter::DisplayNameEq("aws x".into()).matches("AWS X"));
        assert!(!Filter::DisplayNameEq("aws x".into()).matches("AWS X2"));
        assert!(Filter::DisplayNameStartsWith("aws ".into()).matches("AWS 1"));
        assert_eq!(
            parse_filter("appId eq 'ab-12'"),
            Ok(Filter::AppIdEq("ab-12".into()))
        );
        assert!(parse_filter("startswith(appId,'ab')").is_err());
    }

    #[test]
    fn query_options() {
        let q = parse(
            Some("%24filter=displayName+eq+%27R%26D%27&%24top=5&x=1&$skiptoken=abc"),
            &["$filter", "$top", "$skiptoken"],
        )
        .unwrap();
        assert_eq!(q.filter, Some(Filter::DisplayNameEq("R&D".into())));
        assert_eq!(q.top, Some(5));
        assert_eq!(q.skiptoken.as_deref(), Some("abc"));
        assert_eq!(q.pairs.len(), 3, "everything but $skiptoken is kept");

        for (raw, why) in [
            ("$orderby=displayName", "not supported"),
            ("$top=0", "page size"),
            ("$top=1000", "page size"),
            (
                "$filter=displayName eq 'a'&$filter=displayName eq 'b'",
                "more than once",
            ),
            ("$select=id,,appRoles", "$select"),
        ] {
            let err = parse(Some(raw), &["$filter", "$top", "$select"]).unwrap_err();
            assert_eq!(err.code, "BadRequest");
            assert!(err.message.contains(why), "{raw}: {}", err.message);
        }
    }
}
