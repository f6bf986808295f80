//! account: AWS account ids and partitions.
//!
//! Owns the two values every ARN starts from. Parsing validates; `Display` prints the canonical
//! form. Pure: no I/O.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::ParseError;

/// A 12-digit AWS account id, such as `123456789012`.
///
/// Held inline (twelve ASCII digits, no allocation): every role and provider ARN of an
/// Organization-wide inventory carries one. Ordered and hashed as its text is.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccountId([u8; 12]);

impl AccountId {
    pub fn as_str(&self) -> &str {
        // Only `from_str` builds one, from twelve ASCII digits.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Debug for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AccountId").field(&self.as_str()).finish()
    }
}

impl FromStr for AccountId {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match <[u8; 12]>::try_from(s.as_bytes()) {
            Ok(digits) if digits.iter().all(u8::is_ascii_digit) => Ok(AccountId(digits)),
            _ => Err(ParseError::new(
                "account id",
                s,
                "expected exactly 12 digits",
            )),
        }
    }
}

impl TryFrom<String> for AccountId {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<AccountId> for String {
    fn from(id: AccountId) -> String {
        id.as_str().to_owned()
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An AWS partition: the commercial regions, GovCloud (US) or China.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Partition {
    Aws,
    AwsUsGov,
    AwsCn,
}

impl Partition {
    pub const ALL: [Partition; 3] = [Partition::Aws, Partition::AwsUsGov, Partition::AwsCn];

    pub fn as_str(self) -> &'static str {
        match self {
            Partition::Aws => "aws",
            Partition::AwsUsGov => "aws-us-gov",
            Partition::AwsCn => "aws-cn",
        }
    }
}

impl FromStr for Partition {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Partition::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| ParseError::new("partition", s, "expected aws, aws-us-gov or aws-cn"))
    }
}

impl TryFrom<String> for Partition {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Partition> for String {
    fn from(p: Partition) -> String {
        p.as_str().to_owned()
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_id_takes_twelve_digits_only() {
        assert_eq!(
            "012345678901".parse::<AccountId>().unwrap().as_str(),
            "012345678901"
        );
        for bad in [
            "",
            "12345678901",
            "1234567890123",
            "12345678901a",
            " 123456789012",
            "١٢٣٤٥٦٧٨٩٠١٢",
        ] {
            let err = bad.parse::<AccountId>().unwrap_err();
            assert!(err.to_string().contains("12 digits"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn account_id_deserialises_through_the_validator() {
        let err = serde_json::from_str::<AccountId>("\"42\"").unwrap_err();
        assert!(err.to_string().contains("account id"), "{err}");
    }

    #[test]
    fn partitions_round_trip() {
        for p in Partition::ALL {
            assert_eq!(p.to_string().parse::<Partition>().unwrap(), p);
        }
        assert!("aws-eu".parse::<Partition>().is_err());
    }
}
