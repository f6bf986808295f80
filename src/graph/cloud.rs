//! cloud: which Microsoft cloud fedsync talks to, and its token authority and Graph base URLs.
//! Both URLs are settings of their own too, so tests can point them at the local emulator.

use std::fmt;
use std::str::FromStr;

/// A Microsoft cloud.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Cloud {
    /// `login.microsoftonline.com`, `graph.microsoft.com`.
    #[default]
    Global,
    /// US Government: `login.microsoftonline.us`, `graph.microsoft.us`.
    UsGov,
    /// China (21Vianet): `login.chinacloudapi.cn`, `microsoftgraph.chinacloudapi.cn`.
    China,
}

impl Cloud {
    pub fn authority_url(self) -> &'static str {
        match self {
            Cloud::Global => "https://login.microsoftonline.com",
            Cloud::UsGov => "https://login.microsoftonline.us",
            Cloud::China => "https://login.chinacloudapi.cn",
        }
    }

    pub fn graph_url(self) -> &'static str {
        match self {
            Cloud::Global => "https://graph.microsoft.com",
            Cloud::UsGov => "https://graph.microsoft.us",
            Cloud::China => "https://microsoftgraph.chinacloudapi.cn",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Cloud::Global => "global",
            Cloud::UsGov => "usgov",
            Cloud::China => "china",
        }
    }
}

impl FromStr for Cloud {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Cloud::Global, Cloud::UsGov, Cloud::China]
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| format!("{s:?} is not a cloud: use global, usgov or china"))
    }
}

impl fmt::Display for Cloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cloud_has_its_own_endpoints() {
        assert_eq!(
            "usgov".parse::<Cloud>().unwrap().graph_url(),
            "https://graph.microsoft.us"
        );
        assert_eq!(
            "china".parse::<Cloud>().unwrap().authority_url(),
            "https://login.chinacloudapi.cn"
        );
        assert_eq!(Cloud::default().to_string(), "global");
        assert!(
            "azure"
                .parse::<Cloud>()
                .unwrap_err()
                .contains("global, usgov or china")
        );
    }
}
