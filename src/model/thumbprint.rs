//! thumbprint: a certificate's SHA-256 or SHA-1 thumbprint, as settings name it and metadata
//! carries it. Parsing validates; `Display` prints lowercase hex. Pure: no I/O.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::ParseError;

/// A certificate thumbprint: the SHA-1 (20 bytes) or SHA-256 (32 bytes) digest of its DER form.
///
/// Parses hex in any case, bare or with one `:` or ` ` between bytes (`AB:CD:…`, `ab cd …`);
/// prints lowercase hex without separators, which is also its serde form.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Thumbprint(Vec<u8>);

impl Thumbprint {
    const SHA1_LEN: usize = 20;
    const SHA256_LEN: usize = 32;

    /// The SHA-256 thumbprint of `der` (what `openssl x509 -fingerprint -sha256` prints).
    pub fn sha256_of(der: &[u8]) -> Thumbprint {
        Thumbprint(Sha256::digest(der).to_vec())
    }

    /// The SHA-1 thumbprint of `der` (the "thumbprint" the Entra portal shows).
    pub fn sha1_of(der: &[u8]) -> Thumbprint {
        Thumbprint(Sha1::digest(der).to_vec())
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// True for a SHA-256 thumbprint, false for a SHA-1 one.
    pub fn is_sha256(&self) -> bool {
        self.0.len() == Self::SHA256_LEN
    }
}

impl FromStr for Thumbprint {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = |problem: String| ParseError::new("thumbprint", s, problem);
        let trimmed = s.trim();
        let wrong_length = |n: usize| {
            invalid(format!(
                "expected 32 bytes (SHA-256) or 20 bytes (SHA-1), got {n}"
            ))
        };
        if trimmed.is_empty() {
            return Err(wrong_length(0));
        }
        if let Some(bad) = trimmed
            .chars()
            .find(|c| !(c.is_ascii_hexdigit() || *c == ':' || *c == ' '))
        {
            return Err(invalid(format!(
                "{bad:?} is not a hex digit; expected hex, optionally with ':' or ' ' between bytes"
            )));
        }
        let mut bytes = Vec::with_capacity(Self::SHA256_LEN);
        for group in trimmed.split([':', ' ']) {
            if group.is_empty() || group.len() % 2 != 0 {
                return Err(invalid(
                    "separators must stand alone between whole bytes (two hex digits)".to_owned(),
                ));
            }
            for pair in group.as_bytes().chunks_exact(2) {
                if let [hi, lo] = pair {
                    bytes.push((hex_value(*hi) << 4) | hex_value(*lo));
                }
            }
        }
        match bytes.len() {
            Self::SHA1_LEN | Self::SHA256_LEN => Ok(Thumbprint(bytes)),
            n => Err(wrong_length(n)),
        }
    }
}

/// Value of one ASCII hex digit; callers have checked `digit.is_ascii_hexdigit()`.
fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        b'A'..=b'F' => digit - b'A' + 10,
        _ => 0,
    }
}

impl TryFrom<String> for Thumbprint {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Thumbprint> for String {
    fn from(t: Thumbprint) -> String {
        t.to_string()
    }
}

impl fmt::Display for Thumbprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for Thumbprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Thumbprint({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Printed by `openssl x509 -noout -fingerprint -sha256 | -sha1` for
    // tests/fixtures/metadata/idp-signing.pem.
    const IDP_SHA256: &str = "9C:F7:39:01:B6:AB:47:10:D8:44:86:F6:6A:85:B0:BD:3F:82:63:26:F3:68:4D:3D:59:E0:DD:B2:48:B6:89:67";
    const IDP_SHA1: &str = "AE:62:36:7B:06:DA:9C:74:37:21:7D:E7:28:8D:32:84:67:AE:00:2C";
    const IDP_PEM: &str = include_str!("../../tests/fixtures/metadata/idp-signing.pem");

    fn tp(s: &str) -> Thumbprint {
        s.parse().unwrap()
    }

    #[test]
    fn digests_of_der_match_openssl() {
        use base64::Engine as _;
        let body: String = IDP_PEM
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap();
        assert_eq!(Thumbprint::sha256_of(&der), tp(IDP_SHA256));
        assert_eq!(Thumbprint::sha1_of(&der), tp(IDP_SHA1));
    }

    #[test]
    fn thumbprint_parses_common_spellings() {
        let canonical = "9cf73901b6ab4710d84486f66a85b0bd3f826326f3684d3d59e0ddb248b68967";
        for spelling in [
            IDP_SHA256,
            canonical,
            &canonical.to_uppercase(),
            &IDP_SHA256.replace(':', " "),
            &format!("  {IDP_SHA256}\n"),
        ] {
            let t: Thumbprint = spelling.parse().unwrap();
            assert_eq!(t.to_string(), canonical, "{spelling}");
            assert!(t.is_sha256());
        }
        let sha1: Thumbprint = "ae62367b06da9c7437217de7288d328467ae002c".parse().unwrap();
        assert_eq!(sha1, tp(IDP_SHA1));
        assert!(!sha1.is_sha256());
        assert_eq!(sha1.as_bytes().len(), 20);
    }

    #[test]
    fn thumbprint_rejects_wrong_length_and_non_hex() {
        let canonical = "9cf73901b6ab4710d84486f66a85b0bd3f826326f3684d3d59e0ddb248b68967";
        for (bad, why) in [
            ("", "got 0"),
            (&canonical[..62], "got 31"),
            (&canonical[..63], "between whole bytes"),
            (&format!("{canonical}00"), "got 33"),
            (&format!("{}zz", &canonical[..62]), "'z' is not a hex digit"),
            (
                "0x9cf73901b6ab4710d84486f66a85b0bd3f826326",
                "'x' is not a hex digit",
            ),
            ("AB::CD", "between whole bytes"),
            (":AB:CD", "between whole bytes"),
            ("A:BC", "between whole bytes"),
            (
                "9C-F7-39-01-B6-AB-47-10-D8-44-86-F6-6A-85-B0-BD-3F-82-63-26",
                "'-' is not a hex digit",
            ),
        ] {
            let err = bad.parse::<Thumbprint>().unwrap_err().to_string();
            assert!(err.contains(why), "{bad:?}: {err}");
            assert!(err.starts_with("invalid thumbprint"), "{err}");
        }
    }

    #[test]
    fn thumbprint_serde_is_the_canonical_string() {
        let t = tp(IDP_SHA256);
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, format!("\"{t}\""));
        assert_eq!(
            serde_json::from_str::<Thumbprint>(&format!("\"{IDP_SHA256}\"")).unwrap(),
            t
        );
        assert!(serde_json::from_str::<Thumbprint>("\"abcd\"").is_err());
    }
}
