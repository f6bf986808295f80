//! naming: naming conventions for app roles and groups, and group mail nicknames.
//!
//! Owns the template language of the naming settings (`AWS {0} - {1}` and the named
//! placeholders), its validation at load time, rendering a role's name from it, and turning
//! group display names into Graph `mailNickname`s that are valid and unique.
//!
//! Returns plain strings. It never checks a rendered name against Graph's length limits and
//! never truncates one: whoever builds the plan reports names that are too long. Pure: no I/O,
//! no clock, no async, no printing.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::model::{AccountId, RoleArn};

/// The original PowerShell tool's convention: `{0}` is the account id, `{1}` the role name.
pub const DEFAULT_CONVENTION: &str = "AWS {0} - {1}";

/// Longest `displayName` Graph takes for a group.
pub const MAX_GROUP_DISPLAY_NAME: usize = 256;

/// Longest `mailNickname` Graph takes for a group.
pub const MAX_MAIL_NICKNAME: usize = 64;

/// Every placeholder a convention may use, for error hints.
const KNOWN_PLACEHOLDERS: &str = "{0}, {1}, {account_id}, {account_name}, {role_name}, {role_path}";

/// Why a naming convention cannot be used. Each variant carries the convention as written.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum NamingError {
    #[error(
        "naming convention {convention:?} is empty: leave the setting unset for the default {default:?}",
        default = DEFAULT_CONVENTION
    )]
    Empty { convention: String },

    #[error(
        "naming convention {convention:?} has an unknown placeholder {{{name}}}: use one of {known}, or {{{{ and }}}} for literal braces",
        known = KNOWN_PLACEHOLDERS
    )]
    UnknownPlaceholder { convention: String, name: String },

    #[error(
        "naming convention {convention:?} has an empty placeholder {{}} at character {position}: name one of {known}, or use {{{{}}}} for literal braces",
        known = KNOWN_PLACEHOLDERS
    )]
    EmptyPlaceholder { convention: String, position: usize },

    #[error(
        "naming convention {convention:?} has an unclosed {{ at character {position}: close it with }} or use {{{{ for a literal brace"
    )]
    UnclosedBrace { convention: String, position: usize },

    #[error(
        "naming convention {convention:?} has a lone }} at character {position}: use }}}} for a literal brace"
    )]
    LoneClosingBrace { convention: String, position: usize },

    #[error(
        "naming convention {convention:?} has no role placeholder, so every role of an account would get the same name: add {{1}} or {{role_name}}"
    )]
    NoRolePlaceholder { convention: String },

    #[error(
        "naming convention {convention:?} has no account placeholder, so roles of the same name in different accounts would get the same name: add {{0}}, {{account_id}} or {{account_name}}"
    )]
    NoAccountPlaceholder { convention: String },
}

/// What a placeholder stands for. `{0}` and `{account_id}` are the same thing, as are `{1}` and
/// `{role_name}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Placeholder {
    AccountId,
    AccountName,
    RoleName,
    RolePath,
}

impl Placeholder {
    fn from_name(name: &str) -> Option<Placeholder> {
        match name {
            "0" | "account_id" => Some(Placeholder::AccountId),
            "1" | "role_name" => Some(Placeholder::RoleName),
            "account_name" => Some(Placeholder::AccountName),
            "role_path" => Some(Placeholder::RolePath),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    /// Text copied as is; `{{` and `}}` are already unescaped.
    Literal(String),
    Placeholder(Placeholder),
}

/// A parsed naming convention such as `AWS {0} - {1}` or `{account_name} {role_path}{role_name}`.
///
/// Parsing validates: a convention that parses can name every role, and it tells apart roles of
/// one account (it has a role placeholder) and of different accounts (it has an account
/// placeholder). `Display` prints the template as it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamingConvention {
    source: String,
    segments: Vec<Segment>,
}

/// The values a convention can put into a name.
#[derive(Clone, Copy, Debug)]
pub struct NamingInput<'a> {
    pub account_id: &'a AccountId,
    /// The account's name in AWS Organizations.
    pub account_name: &'a str,
    pub role: &'a RoleArn,
}

impl NamingConvention {
    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Fills in the placeholders. The result may be longer than Graph allows (see
    /// [`MAX_GROUP_DISPLAY_NAME`]); checking that is the caller's job.
    ///
    /// ```
    /// use fedsync::naming::{NamingConvention, NamingInput};
    /// let account = "123456789012".parse().unwrap();
    /// let role = "arn:aws:iam::123456789012:role/team/Admin".parse().unwrap();
    /// let input = NamingInput { account_id: &account, account_name: "prod", role: &role };
    /// let default = NamingConvention::default();
    /// assert_eq!(default.render(&input), "AWS 123456789012 - Admin");
    /// let named: NamingConvention = "{account_name}{role_path}{role_name} {{{0}}}".parse().unwrap();
    /// assert_eq!(named.render(&input), "prod/team/Admin {123456789012}");
    /// ```
    pub fn render(&self, input: &NamingInput<'_>) -> String {
        let mut out = String::with_capacity(self.source.len() + 64);
        self.render_into(input, &mut out);
        out
    }

    /// [`NamingConvention::render`], appended to `out` (a buffer kept from name to name).
    pub fn render_into(&self, input: &NamingInput<'_>, out: &mut String) {
        for segment in &self.segments {
            out.push_str(match segment {
                Segment::Literal(text) => text,
                Segment::Placeholder(Placeholder::AccountId) => input.account_id.as_str(),
                Segment::Placeholder(Placeholder::AccountName) => input.account_name,
                Segment::Placeholder(Placeholder::RoleName) => input.role.name(),
                Segment::Placeholder(Placeholder::RolePath) => input.role.path(),
            });
        }
    }

    fn has(&self, wanted: &[Placeholder]) -> bool {
        self.segments
            .iter()
            .any(|s| matches!(s, Segment::Placeholder(p) if wanted.contains(p)))
    }
}

/// Splits a template into segments, checking only the syntax.
fn parse_segments(source: &str) -> Result<Vec<Segment>, NamingError> {
    let err_source = || source.to_owned();
    let mut segments = Vec::new();
    let mut literal = String::new();
    // 1-based character positions, for the error messages.
    let mut chars = source.chars().zip(1usize..).peekable();
    while let Some((c, position)) = chars.next() {
        match c {
            '{' if chars.next_if(|&(n, _)| n == '{').is_some() => literal.push('{'),
            '}' if chars.next_if(|&(n, _)| n == '}').is_some() => literal.push('}'),
            '}' => {
                return Err(NamingError::LoneClosingBrace {
                    convention: err_source(),
                    position,
                });
            }
            '{' => {
                let mut name = String::new();
                loop {
                    match chars.next() {
                        Some(('}', _)) => break,
                        // Another `{` before any `}`: the first one was never closed.
                        Some(('{', _)) | None => {
                            return Err(NamingError::UnclosedBrace {
                                convention: err_source(),
                                position,
                            });
                        }
                        Some((n, _)) => name.push(n),
                    }
                }
                if name.is_empty() {
                    return Err(NamingError::EmptyPlaceholder {
                        convention: err_source(),
                        position,
                    });
                }
                let Some(placeholder) = Placeholder::from_name(&name) else {
                    return Err(NamingError::UnknownPlaceholder {
                        convention: err_source(),
                        name,
                    });
                };
                if !literal.is_empty() {
                    segments.push(Segment::Literal(std::mem::take(&mut literal)));
                }
                segments.push(Segment::Placeholder(placeholder));
            }
            _ => literal.push(c),
        }
    }
    if !literal.is_empty() {
        segments.push(Segment::Literal(literal));
    }
    Ok(segments)
}

impl FromStr for NamingConvention {
    type Err = NamingError;

    fn from_str(source: &str) -> Result<Self, Self::Err> {
        if source.is_empty() {
            return Err(NamingError::Empty {
                convention: String::new(),
            });
        }
        let convention = NamingConvention {
            source: source.to_owned(),
            segments: parse_segments(source)?,
        };
        // IAM role names are unique within an account, so a role placeholder plus an account
        // placeholder is what it takes for two roles to get two names.
        if !convention.has(&[Placeholder::RoleName]) {
            return Err(NamingError::NoRolePlaceholder {
                convention: convention.source,
            });
        }
        if !convention.has(&[Placeholder::AccountId, Placeholder::AccountName]) {
            return Err(NamingError::NoAccountPlaceholder {
                convention: convention.source,
            });
        }
        Ok(convention)
    }
}

impl fmt::Display for NamingConvention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl Default for NamingConvention {
    /// [`DEFAULT_CONVENTION`], built directly so that no parse can fail here.
    fn default() -> Self {
        NamingConvention {
            source: DEFAULT_CONVENTION.to_owned(),
            segments: vec![
                Segment::Literal("AWS ".to_owned()),
                Segment::Placeholder(Placeholder::AccountId),
                Segment::Literal(" - ".to_owned()),
                Segment::Placeholder(Placeholder::RoleName),
            ],
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Mail nicknames
// ---------------------------------------------------------------------------------------------

/// Characters Graph refuses in a `mailNickname` even though they are printable ASCII.
const FORBIDDEN_IN_NICKNAME: &str = "@()\\[]\";:.<>,";

/// What a nickname falls back to when nothing of the display name survives.
const EMPTY_NICKNAME_BASE: &str = "group";

/// How many hex digits of SHA-256 a colliding nickname gets, step by step. Eight is the rule;
/// the longer steps only come into play when eight are not enough (a nickname that already
/// ends in another name's suffix, or a truncated 32-bit hash collision), so that distinct
/// display names keep distinct nicknames.
const HASH_LENGTHS: [usize; 4] = [0, 8, 16, 32];

/// Whether Graph takes `c` in a `mailNickname`.
fn is_nickname_char(c: char) -> bool {
    ('\u{21}'..='\u{7e}').contains(&c) && !FORBIDDEN_IN_NICKNAME.contains(c)
}

/// The display name with every character Graph refuses removed, before any length limit.
///
/// Whitespace and the forbidden punctuation separate words, so each run of them becomes one
/// `-` (`AWS 123456789012 - Admin` reads as `AWS-123456789012-Admin`, not
/// `AWS123456789012-Admin`). Other characters outside printable ASCII (accented letters, control
/// characters) are dropped, because a `-` would split the word they sit in. Runs of `-` collapse
/// into one and none is kept at either end. Information lost here is recovered by the hash
/// suffix [`mail_nicknames`] adds on a collision.
fn sanitise_base(display_name: &str) -> String {
    let mut out = String::with_capacity(display_name.len());
    for c in display_name.chars() {
        let mapped = if is_nickname_char(c) {
            c
        } else if c.is_whitespace() || FORBIDDEN_IN_NICKNAME.contains(c) {
            '-'
        } else {
            continue;
        };
        if mapped == '-' && (out.is_empty() || out.ends_with('-')) {
            continue;
        }
        out.push(mapped);
    }
    trim_trailing_dashes(&mut out);
    out
}

fn trim_trailing_dashes(s: &mut String) {
    let kept = s.trim_end_matches('-').len();
    s.truncate(kept);
}

/// Lowercase hex of SHA-256 of the display name.
fn sha256_hex(display_name: &str) -> String {
    Sha256::digest(display_name.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The nickname for one display name, given its sanitised base and how many hex digits of its
/// hash it carries (0: none).
fn nickname(display_name: &str, base: &str, hash_len: usize) -> String {
    let (base, hash_len) = if base.is_empty() {
        (EMPTY_NICKNAME_BASE, hash_len.max(HASH_LENGTHS[1]))
    } else {
        (base, hash_len)
    };
    if hash_len == 0 {
        // All ASCII, so bytes are characters.
        let mut plain = base[..base.len().min(MAX_MAIL_NICKNAME)].to_owned();
        trim_trailing_dashes(&mut plain);
        return plain;
    }
    let hash = sha256_hex(display_name);
    let room = MAX_MAIL_NICKNAME - 1 - hash_len;
    let mut out = base[..base.len().min(room)].to_owned();
    trim_trailing_dashes(&mut out);
    out.push('-');
    out.push_str(&hash[..hash_len]);
    out
}

/// The nickname `display_name` gets when no other name competes for it: the sanitised name, or
/// `group-<hash8>` when nothing printable is left.
pub fn sanitise_mail_nickname(display_name: &str) -> String {
    nickname(display_name, &sanitise_base(display_name), 0)
}

/// One valid, unique `mailNickname` per display name, in the order given.
///
/// Each name is sanitised as in [`sanitise_mail_nickname`]. Where different display names end
/// up with the same nickname (compared case-insensitively, as Entra does), each of them gets
/// `-` and the first 8 hex digits of the SHA-256 of its display name, the name shortened to
/// keep within [`MAX_MAIL_NICKNAME`]; names that do not collide stay plain. The result depends
/// only on the set of names, not their order, and a name given twice gets the same nickname
/// twice.
pub fn mail_nicknames(display_names: &[&str]) -> Vec<String> {
    let mut distinct: Vec<&str> = display_names.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    let bases: Vec<String> = distinct.iter().map(|name| sanitise_base(name)).collect();
    // Index into HASH_LENGTHS per distinct name. Levels only rise, and only up to the last one,
    // so the loop ends; each round depends on the set of names alone (a name is in one group
    // of holders, and each group is decided on its own), so the result does not depend on the
    // input order. A name with nothing left starts hashed (`group-<hash8>`).
    let mut level: Vec<usize> = bases
        .iter()
        .map(|base| usize::from(base.is_empty()))
        .collect();
    let last = HASH_LENGTHS.len() - 1;
    let mut current: Vec<String> = (0..distinct.len())
        .map(|i| nickname(distinct[i], &bases[i], HASH_LENGTHS[level[i]]))
        .collect();
    loop {
        // The names by nickname, compared as Entra does (ignoring case): runs of equal ones.
        let folded: Vec<String> = current.iter().map(|n| n.to_ascii_lowercase()).collect();
        let mut by_nickname: Vec<usize> = (0..distinct.len()).collect();
        by_nickname.sort_unstable_by(|&a, &b| folded[a].cmp(&folded[b]));
        let mut raised = Vec::new();
        for holders in by_nickname.chunk_by(|&a, &b| folded[a] == folded[b]) {
            if holders.len() < 2 {
                continue;
            }
            // Only the names at the lowest level move on: a plain nickname that happens to
            // equal another's hashed one gets a hash; the hashed one keeps its eight digits.
            let lowest = holders.iter().map(|&i| level[i]).min().unwrap_or(last);
            if lowest == last {
                continue;
            }
            raised.extend(holders.iter().copied().filter(|&i| level[i] == lowest));
        }
        if raised.is_empty() {
            break;
        }
        for i in raised {
            level[i] += 1;
            current[i] = nickname(distinct[i], &bases[i], HASH_LENGTHS[level[i]]);
        }
    }
    display_names
        .iter()
        .map(|name| {
            distinct
                .binary_search(name)
                .map(|i| current[i].clone())
                .unwrap_or_default()
        })
        .collect()
}

/// The longest prefix every name shares (on character boundaries).
pub fn common_prefix<'a>(names: &[&'a str]) -> &'a str {
    let Some((first, rest)) = names.split_first() else {
        return "";
    };
    let mut end = first.len();
    for name in rest {
        end = first
            .char_indices()
            .zip(name.chars())
            .take_while(|((_, a), b)| a == b)
            .last()
            .map_or(0, |((i, a), _)| i + a.len_utf8())
            .min(end);
    }
    &first[..end]
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use proptest::prelude::*;

    fn account(id: &str) -> AccountId {
        id.parse().unwrap()
    }

    fn role(arn: &str) -> RoleArn {
        arn.parse().unwrap()
    }

    fn render(convention: &str, account_name: &str, arn: &str) -> String {
        let convention: NamingConvention = convention.parse().unwrap();
        let role = role(arn);
        convention.render(&NamingInput {
            account_id: role.account(),
            account_name,
            role: &role,
        })
    }

    fn is_valid_nickname(nick: &str) -> bool {
        !nick.is_empty()
            && nick.len() <= MAX_MAIL_NICKNAME
            && nick.chars().all(is_nickname_char)
            && !nick.contains(' ')
    }

    #[test]
    fn default_convention_renders_like_the_original() {
        let convention = NamingConvention::default();
        assert_eq!(convention, DEFAULT_CONVENTION.parse().unwrap());
        assert_eq!(convention.to_string(), "AWS {0} - {1}");
        let role = role("arn:aws:iam::123456789012:role/Admin");
        let name = convention.render(&NamingInput {
            account_id: &account("123456789012"),
            account_name: "Prod",
            role: &role,
        });
        assert_eq!(name, "AWS 123456789012 - Admin");
    }

    #[test]
    fn named_placeholders_render() {
        assert_eq!(
            render(
                "{account_name} ({account_id}) {role_path}{role_name}",
                "Prod",
                "arn:aws:iam::123456789012:role/team/ops/Admin"
            ),
            "Prod (123456789012) /team/ops/Admin"
        );
        assert_eq!(
            render(
                "{account_name}:{role_path}{1}",
                "Dev",
                "arn:aws:iam::123456789012:role/ReadOnly"
            ),
            "Dev:/ReadOnly"
        );
        // Positional and named forms can be mixed and repeated.
        assert_eq!(
            render(
                "{0}/{account_id}/{1}/{role_name}",
                "x",
                "arn:aws:iam::210987654321:role/R"
            ),
            "210987654321/210987654321/R/R"
        );
    }

    #[test]
    fn doubled_braces_are_literal() {
        assert_eq!(
            render(
                "{{AWS}} {0} {{{1}}} }}{{",
                "",
                "arn:aws:iam::123456789012:role/Admin"
            ),
            "{AWS} 123456789012 {Admin} }{"
        );
        let convention: NamingConvention = "{{{0}}} {1}".parse().unwrap();
        assert_eq!(
            convention.to_string(),
            "{{{0}}} {1}",
            "Display keeps escapes"
        );
    }

    /// The error for `convention`, with its message checked to be one clean line.
    fn rejection(convention: &str) -> (NamingError, String) {
        let err = convention.parse::<NamingConvention>().unwrap_err();
        let msg = err.to_string();
        assert!(!msg.contains('\n'), "{msg}");
        assert!(!msg.ends_with('.'), "{msg}");
        assert!(msg.starts_with("naming convention "), "{msg}");
        assert!(
            msg.contains(&format!("{convention:?}")),
            "names the input: {msg}"
        );
        (err, msg)
    }

    #[test]
    fn rejects_unknown_placeholder_naming_it_and_the_known_ones() {
        let (err, msg) = rejection("AWS {account} - {1}");
        assert_eq!(
            err,
            NamingError::UnknownPlaceholder {
                convention: "AWS {account} - {1}".into(),
                name: "account".into()
            }
        );
        assert_eq!(
            msg,
            "naming convention \"AWS {account} - {1}\" has an unknown placeholder {account}: \
             use one of {0}, {1}, {account_id}, {account_name}, {role_name}, {role_path}, \
             or {{ and }} for literal braces"
        );
        for other in ["{2} {0} {1}", "{ 0} {1}", "{0:x} {1}", "{Role_Name} {0}"] {
            let (err, _) = rejection(other);
            assert!(
                matches!(err, NamingError::UnknownPlaceholder { .. }),
                "{other}: {err:?}"
            );
        }
    }

    #[test]
    fn rejects_unclosed_brace() {
        let (err, msg) = rejection("AWS {0 - {1}");
        assert_eq!(
            err,
            NamingError::UnclosedBrace {
                convention: "AWS {0 - {1}".into(),
                position: 5
            }
        );
        assert_eq!(
            msg,
            "naming convention \"AWS {0 - {1}\" has an unclosed { at character 5: \
             close it with } or use {{ for a literal brace"
        );
        let (err, _) = rejection("{0} {1} {");
        assert!(matches!(
            err,
            NamingError::UnclosedBrace { position: 9, .. }
        ));
    }

    #[test]
    fn rejects_lone_closing_brace() {
        let (err, msg) = rejection("AWS {0} } {1}");
        assert_eq!(
            err,
            NamingError::LoneClosingBrace {
                convention: "AWS {0} } {1}".into(),
                position: 9
            }
        );
        assert_eq!(
            msg,
            "naming convention \"AWS {0} } {1}\" has a lone } at character 9: \
             use }} for a literal brace"
        );
        // `}}}` is an escaped brace and then a lone one.
        assert!(matches!(
            rejection("{0}{1}}}}").0,
            NamingError::LoneClosingBrace { position: 9, .. }
        ));
    }

    #[test]
    fn rejects_empty_placeholder() {
        let (err, msg) = rejection("AWS {0} - {}");
        assert_eq!(
            err,
            NamingError::EmptyPlaceholder {
                convention: "AWS {0} - {}".into(),
                position: 11
            }
        );
        assert_eq!(
            msg,
            "naming convention \"AWS {0} - {}\" has an empty placeholder {} at character 11: \
             name one of {0}, {1}, {account_id}, {account_name}, {role_name}, {role_path}, \
             or use {{}} for literal braces"
        );
    }

    #[test]
    fn rejects_empty_convention() {
        let (err, msg) = rejection("");
        assert_eq!(
            err,
            NamingError::Empty {
                convention: String::new()
            }
        );
        assert_eq!(
            msg,
            "naming convention \"\" is empty: leave the setting unset for the default \"AWS {0} - {1}\""
        );
    }

    #[test]
    fn rejects_convention_without_role() {
        for convention in ["AWS {0}", "{account_name} {role_path}", "AWS", "{{1}} {0}"] {
            let (err, msg) = rejection(convention);
            assert_eq!(
                err,
                NamingError::NoRolePlaceholder {
                    convention: convention.into()
                }
            );
            assert!(msg.ends_with("add {1} or {role_name}"), "{msg}");
        }
    }

    #[test]
    fn rejects_convention_without_account() {
        for convention in ["AWS {1}", "{role_path}{role_name}", "{{0}} {1}"] {
            let (err, msg) = rejection(convention);
            assert_eq!(
                err,
                NamingError::NoAccountPlaceholder {
                    convention: convention.into()
                }
            );
            assert!(
                msg.ends_with("add {0}, {account_id} or {account_name}"),
                "{msg}"
            );
        }
        // The account name is enough on its own.
        assert!(
            "{account_name} {role_name}"
                .parse::<NamingConvention>()
                .is_ok()
        );
    }

    #[test]
    fn nickname_drops_forbidden_characters_and_spaces() {
        assert_eq!(
            sanitise_mail_nickname("AWS 123456789012 - Admin"),
            "AWS-123456789012-Admin"
        );
        assert_eq!(
            sanitise_mail_nickname("a@b(c)d\\e[f]g\"h;i:j.k<l>m,n o\tp"),
            "a-b-c-d-e-f-g-h-i-j-k-l-m-n-o-p"
        );
        // Other printable ASCII stays; separators at the ends go.
        assert_eq!(
            sanitise_mail_nickname("  (x!#$%&'*+/=?^_`{|}~y) "),
            "x!#$%&'*+/=?^_`{|}~y"
        );
        // Runs of separators and dashes collapse into one dash.
        assert_eq!(sanitise_mail_nickname("a - . - b--c"), "a-b-c");
    }

    #[test]
    fn nickname_drops_non_ascii_and_controls() {
        assert_eq!(sanitise_mail_nickname("Zürich\u{7}Admins"), "ZrichAdmins");
        assert_eq!(sanitise_mail_nickname("Ops\u{a0}Team"), "Ops-Team");
        let hash = sha256_hex("日本");
        assert_eq!(
            sanitise_mail_nickname("日本"),
            format!("group-{}", &hash[..8])
        );
        assert_eq!(
            sanitise_mail_nickname(" @ "),
            format!("group-{}", &sha256_hex(" @ ")[..8])
        );
    }

    #[test]
    fn nickname_is_cut_to_64() {
        let exact = "a".repeat(64);
        assert_eq!(sanitise_mail_nickname(&exact), exact);
        let long = format!("{} tail", "b".repeat(70));
        assert_eq!(sanitise_mail_nickname(&long), "b".repeat(64));
        // A cut that ends on a separator does not leave a dangling dash.
        let cut_at_dash = format!("{} x", "c".repeat(63));
        assert_eq!(sanitise_mail_nickname(&cut_at_dash), "c".repeat(63));
    }

    #[test]
    fn colliding_names_both_get_their_hash() {
        let names = ["AWS 1 - Admin", "AWS 1 . Admin", "AWS 2 - Admin"];
        let nicks = mail_nicknames(&names);
        assert_eq!(
            nicks[0],
            format!("AWS-1-Admin-{}", &sha256_hex(names[0])[..8])
        );
        assert_eq!(
            nicks[1],
            format!("AWS-1-Admin-{}", &sha256_hex(names[1])[..8])
        );
        assert_ne!(nicks[0], nicks[1]);
        assert_eq!(
            nicks[2], "AWS-2-Admin",
            "a name that does not collide stays plain"
        );
    }

    #[test]
    fn names_differing_only_in_case_collide() {
        let nicks = mail_nicknames(&["Admins", "admins"]);
        assert_eq!(nicks[0], format!("Admins-{}", &sha256_hex("Admins")[..8]));
        assert_eq!(nicks[1], format!("admins-{}", &sha256_hex("admins")[..8]));
    }

    #[test]
    fn hashed_nickname_is_cut_to_fit() {
        let a = format!("{} x", "a".repeat(80));
        let b = format!("{}.x", "a".repeat(80));
        let nicks = mail_nicknames(&[&a, &b]);
        for (nick, name) in nicks.iter().zip([&a, &b]) {
            assert_eq!(nick.len(), 64, "{nick}");
            assert_eq!(
                nick,
                &format!("{}-{}", "a".repeat(55), &sha256_hex(name)[..8])
            );
        }
    }

    #[test]
    fn same_name_twice_gets_the_same_nickname() {
        let nicks = mail_nicknames(&["AWS 1 - Admin", "AWS 1 - Admin"]);
        assert_eq!(nicks, vec!["AWS-1-Admin", "AWS-1-Admin"]);
    }

    #[test]
    fn nicknames_do_not_depend_on_order() {
        let names = ["b c", "b.c", "x", "B-C", "x"];
        let forward = mail_nicknames(&names);
        let mut reversed_names = names;
        reversed_names.reverse();
        let mut backward = mail_nicknames(&reversed_names);
        backward.reverse();
        assert_eq!(forward, backward);
    }

    #[test]
    fn plain_name_equal_to_another_hashed_nickname_gets_a_hash_too() {
        let hashed = format!("a-b-{}", &sha256_hex("a b")[..8]);
        let nicks = mail_nicknames(&["a b", "a.b", &hashed]);
        assert_eq!(nicks[0], hashed, "the hashed name keeps its eight digits");
        assert_eq!(nicks[2], format!("{hashed}-{}", &sha256_hex(&hashed)[..8]));
        let distinct: BTreeSet<_> = nicks.iter().map(|n| n.to_ascii_lowercase()).collect();
        assert_eq!(distinct.len(), 3, "{nicks:?}");
    }

    #[test]
    fn names_whose_eight_hex_digits_collide_get_more() {
        // Found by search: both sanitise to "Admin" and their SHA-256 starts with d2a038f6.
        let (a, b) = ("Adminãççê", "Adminëëêæ");
        assert_eq!(sha256_hex(a)[..8], sha256_hex(b)[..8]);
        let nicks = mail_nicknames(&[a, b]);
        assert_eq!(nicks[0], format!("Admin-{}", &sha256_hex(a)[..16]));
        assert_eq!(nicks[1], format!("Admin-{}", &sha256_hex(b)[..16]));
    }

    fn role_name() -> impl Strategy<Value = String> {
        "[A-Za-z0-9_+=,.@-]{1,64}"
    }

    fn account_id() -> impl Strategy<Value = String> {
        "[0-9]{12}"
    }

    /// A convention with both an account id and a role placeholder, among arbitrary literals
    /// and the other placeholders.
    fn identifying_convention() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            "[^{}]{0,6}",
            Just("{{".to_owned()),
            Just("}}".to_owned()),
            Just("{0}".to_owned()),
            Just("{1}".to_owned()),
            Just("{account_id}".to_owned()),
            Just("{role_name}".to_owned()),
            Just("{account_name}".to_owned()),
            Just("{role_path}".to_owned()),
        ];
        (
            prop::collection::vec(piece, 0..8),
            prop_oneof![Just("{0}"), Just("{account_id}")],
            prop_oneof![Just("{1}"), Just("{role_name}")],
            any::<prop::sample::Index>(),
            any::<prop::sample::Index>(),
        )
            .prop_map(|(mut pieces, acct, role, i, j)| {
                pieces.insert(i.index(pieces.len() + 1), acct.to_owned());
                pieces.insert(j.index(pieces.len() + 1), role.to_owned());
                pieces.concat()
            })
    }

    proptest! {
        #[test]
        fn parsing_never_panics(s in any::<String>(), t in "[{}01a-z_ ]*") {
            let _ = s.parse::<NamingConvention>();
            if let Ok(c) = t.parse::<NamingConvention>() {
                prop_assert_eq!(c.to_string(), t);
            }
        }

        #[test]
        // The narrow alphabet makes collisions (and so hash suffixes) common.
        fn nicknames_are_valid_and_distinct(
            names in prop::collection::vec(prop_oneof!["[a-bA-B .@-]{0,4}", ".{0,80}", "\\PC{60,90}"], 0..12),
        ) {
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            let nicks = mail_nicknames(&refs);
            prop_assert_eq!(nicks.len(), names.len());
            for nick in &nicks {
                prop_assert!(is_valid_nickname(nick), "{:?}", nick);
            }
            for (i, a) in names.iter().enumerate() {
                for (j, b) in names.iter().enumerate() {
                    let same_nick = nicks[i].eq_ignore_ascii_case(&nicks[j]);
                    prop_assert_eq!(a == b, same_nick, "{:?} {:?} -> {:?} {:?}", a, b, nicks[i], nicks[j]);
                }
            }
        }

        #[test]
        fn nicknames_ignore_order(
            names in prop::collection::vec(prop_oneof!["[a-c .@-]{0,4}", ".{0,8}"], 0..10),
            seed in any::<u64>(),
        ) {
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            let nicks = mail_nicknames(&refs);
            // Rotate and reverse: a different order of the same names.
            let mut order: Vec<usize> = (0..names.len()).collect();
            if !order.is_empty() {
                let len = order.len();
                order.rotate_left((seed as usize) % len);
            }
            order.reverse();
            let shuffled: Vec<&str> = order.iter().map(|&i| refs[i]).collect();
            let again = mail_nicknames(&shuffled);
            for (k, &i) in order.iter().enumerate() {
                prop_assert_eq!(&again[k], &nicks[i]);
            }
        }

        #[test]
        fn identifying_conventions_tell_roles_apart(
            convention in identifying_convention(),
            (acct_a, name_a) in (account_id(), role_name()),
            (acct_b, name_b) in (account_id(), role_name()),
            same_account in any::<bool>(),
        ) {
            let convention: NamingConvention = convention.parse().map_err(|e: NamingError| {
                TestCaseError::fail(e.to_string())
            })?;
            let acct_b = if same_account { acct_a.clone() } else { acct_b };
            prop_assume!((&acct_a, &name_a) != (&acct_b, &name_b));
            // Account name and path are held equal: they are not what tells these roles apart.
            let role_a = role(&format!("arn:aws:iam::{acct_a}:role/team/{name_a}"));
            let role_b = role(&format!("arn:aws:iam::{acct_b}:role/team/{name_b}"));
            let name = |r: &RoleArn| convention.render(&NamingInput {
                account_id: r.account(),
                account_name: "Prod",
                role: r,
            });
            prop_assert_ne!(name(&role_a), name(&role_b));
        }
    }

    #[test]
    fn common_prefixes_end_on_character_boundaries() {
        assert_eq!(common_prefix(&["AWS 1 - a", "AWS 2 - a"]), "AWS ");
        assert_eq!(common_prefix(&["Zürich a", "Zürich b"]), "Zürich ");
        assert_eq!(common_prefix(&["Zü", "Zu"]), "Z");
        assert_eq!(common_prefix(&["same", "same"]), "same");
        assert_eq!(common_prefix(&["a", "b"]), "");
        assert_eq!(common_prefix(&[]), "");
    }
}
