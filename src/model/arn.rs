//! arn: IAM role ARNs (with their path) and SAML provider ARNs.
//!
//! Each ARN is a newtype with private fields: the one constructor (`FromStr`) validates the
//! partition, the account id, the path and the name against IAM's rules, and `Display` prints the
//! canonical form again. Pure: no I/O.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{AccountId, ParseError, Partition};

/// Longest IAM role name.
pub const MAX_ROLE_NAME: usize = 64;
/// Longest IAM path.
pub const MAX_ROLE_PATH: usize = 512;
/// Longest SAML provider name.
pub const MAX_PROVIDER_NAME: usize = 128;

/// `arn:<partition>:iam::<account>:role<path><name>`, e.g. `arn:aws:iam::123456789012:role/team/Admin`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RoleArn {
    partition: Partition,
    account: AccountId,
    /// Starts and ends with `/`; `/` (not allocated) for roles without a path.
    path: Cow<'static, str>,
    name: Box<str>,
}

impl RoleArn {
    pub fn partition(&self) -> Partition {
        self.partition
    }
    pub fn account(&self) -> &AccountId {
        &self.account
    }
    /// The role's path, `/` when it has none, else like `/team/`.
    pub fn path(&self) -> &str {
        &self.path
    }
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// A bare IAM role name such as `fedsync-reader`: `[\w+=,.@-]{1,64}`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RoleName(String);

impl RoleName {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The ARN of the role of this name, at the root path, in `account`.
    pub fn arn_in(&self, partition: Partition, account: &AccountId) -> RoleArn {
        RoleArn {
            partition,
            account: *account,
            path: Cow::Borrowed("/"),
            name: self.0.as_str().into(),
        }
    }
}

impl FromStr for RoleName {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        check_name("role name", s, s, MAX_ROLE_NAME)?;
        Ok(RoleName(s.to_owned()))
    }
}

impl fmt::Display for RoleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `arn:<partition>:iam::<account>:saml-provider/<name>`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SamlProviderArn {
    partition: Partition,
    account: AccountId,
    /// Shared by its clones: every role of an account carries its provider's ARN.
    name: Arc<str>,
}

impl SamlProviderArn {
    pub fn partition(&self) -> Partition {
        self.partition
    }
    pub fn account(&self) -> &AccountId {
        &self.account
    }
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// IAM's name alphabet: `[\w+=,.@-]` with ASCII `\w`.
fn is_iam_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
}

fn check_name(what: &'static str, input: &str, name: &str, max: usize) -> Result<(), ParseError> {
    if name.is_empty() || name.len() > max {
        return Err(ParseError::new(
            what,
            input,
            format!(
                "the name must be 1 to {max} characters, it has {}",
                name.chars().count()
            ),
        ));
    }
    if let Some(c) = name.chars().find(|&c| !is_iam_name_char(c)) {
        return Err(ParseError::new(
            what,
            input,
            format!("the name may hold only letters, digits and _+=,.@- but has {c:?}"),
        ));
    }
    Ok(())
}

/// Splits `arn:<partition>:iam::<account>:<resource>` and checks the fixed parts.
fn split_iam_arn<'a>(
    what: &'static str,
    input: &'a str,
) -> Result<(Partition, AccountId, &'a str), ParseError> {
    let mut parts = input.splitn(6, ':');
    let (Some("arn"), Some(partition), Some(service), Some(region), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(ParseError::new(
            what,
            input,
            "expected arn:<partition>:iam::<account id>:<resource>",
        ));
    };
    let partition: Partition = partition.parse().map_err(|e: ParseError| {
        ParseError::new(what, input, format!("partition: {}", e.problem))
    })?;
    if service != "iam" {
        return Err(ParseError::new(
            what,
            input,
            format!("the service is {service:?}, expected \"iam\""),
        ));
    }
    if !region.is_empty() {
        return Err(ParseError::new(
            what,
            input,
            "IAM ARNs have an empty region",
        ));
    }
    let account: AccountId = account.parse().map_err(|e: ParseError| {
        ParseError::new(what, input, format!("account id: {}", e.problem))
    })?;
    Ok((partition, account, resource))
}

impl FromStr for RoleArn {
    type Err = ParseError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        const WHAT: &str = "role ARN";
        let (partition, account, resource) = split_iam_arn(WHAT, input)?;
        let Some(rest) = resource.strip_prefix("role/") else {
            return Err(ParseError::new(
                WHAT,
                input,
                "the resource must start with role/",
            ));
        };
        let (path, name) = match rest.rfind('/') {
            Some(i) => (Cow::Owned(format!("/{}", &rest[..=i])), &rest[i + 1..]),
            None => (Cow::Borrowed("/"), rest),
        };
        if path.len() > MAX_ROLE_PATH
            || path.contains("//")
            || !path.chars().all(|c| ('\u{21}'..='\u{7e}').contains(&c))
        {
            return Err(ParseError::new(
                WHAT,
                input,
                format!(
                    "the path {path:?} must be printable ASCII without empty segments, at most {MAX_ROLE_PATH} characters"
                ),
            ));
        }
        check_name(WHAT, input, name, MAX_ROLE_NAME)?;
        Ok(RoleArn {
            partition,
            account,
            path,
            name: name.into(),
        })
    }
}

impl FromStr for SamlProviderArn {
    type Err = ParseError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        const WHAT: &str = "SAML provider ARN";
        let (partition, account, resource) = split_iam_arn(WHAT, input)?;
        let Some(name) = resource.strip_prefix("saml-provider/") else {
            return Err(ParseError::new(
                WHAT,
                input,
                "the resource must start with saml-provider/",
            ));
        };
        check_name(WHAT, input, name, MAX_PROVIDER_NAME)?;
        Ok(SamlProviderArn {
            partition,
            account,
            name: name.into(),
        })
    }
}

impl fmt::Display for RoleArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:iam::{}:role{}{}",
            self.partition, self.account, self.path, self.name
        )
    }
}

impl fmt::Display for SamlProviderArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:iam::{}:saml-provider/{}",
            self.partition, self.account, self.name
        )
    }
}

macro_rules! string_conversions {
    ($t:ty) => {
        impl TryFrom<String> for $t {
            type Error = ParseError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                s.parse()
            }
        }
        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.to_string()
            }
        }
    };
}
string_conversions!(RoleArn);
string_conversions!(SamlProviderArn);
string_conversions!(RoleName);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arn_with_and_without_path_round_trips() {
        let plain: RoleArn = "arn:aws:iam::123456789012:role/Admin".parse().unwrap();
        assert_eq!((plain.path(), plain.name()), ("/", "Admin"));
        let pathed: RoleArn = "arn:aws-us-gov:iam::123456789012:role/team/ops/Read.Only@x"
            .parse()
            .unwrap();
        assert_eq!(pathed.partition(), Partition::AwsUsGov);
        assert_eq!(
            (pathed.path(), pathed.name()),
            ("/team/ops/", "Read.Only@x")
        );
        for s in [
            "arn:aws:iam::123456789012:role/Admin",
            "arn:aws-cn:iam::123456789012:role/a/b/c",
            "arn:aws:iam::123456789012:role/team/Admin",
        ] {
            assert_eq!(s.parse::<RoleArn>().unwrap().to_string(), s);
        }
    }

    #[test]
    fn role_arn_rejections_name_the_problem() {
        let cases = [
            ("arn:aws:iam::123456789012:user/Admin", "role/"),
            ("arn:aws:sts::123456789012:role/Admin", "service"),
            (
                "arn:aws:iam:us-east-1:123456789012:role/Admin",
                "empty region",
            ),
            ("arn:aws:iam::12345:role/Admin", "12 digits"),
            ("arn:aws-xx:iam::123456789012:role/Admin", "partition"),
            ("arn:aws:iam::123456789012:role/", "1 to 64"),
            (
                "arn:aws:iam::123456789012:role/has space",
                "letters, digits",
            ),
            ("arn:aws:iam::123456789012:role/a//b", "path"),
            ("arn:aws:iam::123456789012", "expected arn:"),
        ];
        for (input, needle) in cases {
            let err = input.parse::<RoleArn>().unwrap_err().to_string();
            assert!(
                err.contains(needle) && err.contains(input),
                "{input}: {err}"
            );
        }
        let long = format!("arn:aws:iam::123456789012:role/{}", "a".repeat(65));
        assert!(long.parse::<RoleArn>().is_err());
    }

    #[test]
    fn role_names_are_checked_and_placed_in_an_account() {
        let name: RoleName = "AWS_IAM_AAD_UpdateTask_CrossAccountRole".parse().unwrap();
        let account: AccountId = "123456789012".parse().unwrap();
        assert_eq!(
            name.arn_in(Partition::AwsUsGov, &account).to_string(),
            "arn:aws-us-gov:iam::123456789012:role/AWS_IAM_AAD_UpdateTask_CrossAccountRole"
        );
        assert!("a/b".parse::<RoleName>().is_err());
        assert!("".parse::<RoleName>().is_err());
        assert!("x".repeat(65).parse::<RoleName>().is_err());
    }

    #[test]
    fn saml_provider_arn_round_trips_and_rejects() {
        let arn: SamlProviderArn = "arn:aws:iam::123456789012:saml-provider/AzureAD"
            .parse()
            .unwrap();
        assert_eq!(arn.name(), "AzureAD");
        assert_eq!(
            arn.to_string(),
            "arn:aws:iam::123456789012:saml-provider/AzureAD"
        );
        assert!(
            "arn:aws:iam::123456789012:saml-provider/a/b"
                .parse::<SamlProviderArn>()
                .is_err()
        );
        assert!(
            "arn:aws:iam::123456789012:oidc-provider/x"
                .parse::<SamlProviderArn>()
                .is_err()
        );
        let long = format!(
            "arn:aws:iam::123456789012:saml-provider/{}",
            "p".repeat(129)
        );
        assert!(long.parse::<SamlProviderArn>().is_err());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in ".{0,120}") {
            let _ = text.parse::<RoleArn>();
            let _ = text.parse::<SamlProviderArn>();
        }

        #[test]
        fn valid_role_arns_round_trip(
            partition in proptest::sample::select(Partition::ALL.to_vec()),
            account in "[0-9]{12}",
            path in proptest::collection::vec("[A-Za-z0-9_+=,.@-]{1,8}", 0..3),
            name in "[A-Za-z0-9_+=,.@-]{1,64}",
        ) {
            let path: String = path.iter().map(|p| format!("{p}/")).collect();
            let text = format!("arn:{partition}:iam::{account}:role/{path}{name}");
            let arn: RoleArn = text.parse().unwrap();
            proptest::prop_assert_eq!(arn.to_string(), text);
            proptest::prop_assert_eq!(arn.name(), name.as_str());
            proptest::prop_assert_eq!(arn.path(), format!("/{path}"));
        }
    }
}
