//! cloud: which Microsoft cloud fedsync talks to, and its token authority and Graph base URLs.
//! Both URLs are settings of their own too, so tests can point them at the local emulator; a base
//! URL is `https://`, or `http://` to a loopback host only ([`base_url`]), so the secret and the
//! tokens never travel in clear text.

use std::fmt;
use std::str::FromStr;

/// `s` as a base URL without a trailing `/`: `https://`, or `http://` to a loopback host
/// (127.0.0.0/8, `::1`, `localhost`); no user or password in it.
pub fn base_url(s: &str) -> Result<String, String> {
    let s = s.trim();
    let url = reqwest::Url::parse(s).map_err(|e| format!("{s:?} is not a URL ({e})"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "{:?} holds a user or password; credentials are settings of their own",
            redacted(&url)
        ));
    }
    let Some(host) = url.host_str() else {
        return Err(format!("{s:?} has no host"));
    };
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(format!(
                "{s:?} is http:// to a host that is not this machine; the secret and tokens would travel in clear text: use https:// (http:// is for 127.0.0.1, ::1 or localhost)"
            ));
        }
        other => return Err(format!("{s:?} is {other}://, not an https:// URL")),
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "{s:?} has a query or fragment; give the base URL only"
        ));
    }
    Ok(s.trim_end_matches('/').to_owned())
}

/// `url` with any user and password taken out, for a message.
fn redacted(url: &reqwest::Url) -> String {
    let mut url = url.clone();
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.to_string()
}

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

    /// The audience Entra expects in a federated assertion (workload identity federation).
    pub fn federation_audience(self) -> &'static str {
        match self {
            Cloud::Global => "api://AzureADTokenExchange",
            Cloud::UsGov => "api://AzureADTokenExchangeUSGov",
            Cloud::China => "api://AzureADTokenExchangeChina",
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

#[cfg(test)]
mod url_tests {
    use super::base_url;

    #[test]
    fn https_anywhere_and_http_only_to_this_machine() {
        for ok in [
            "https://graph.microsoft.com",
            "https://graph.microsoft.com/",
            "https://proxy.example.com:8443/graph",
            "http://127.0.0.1:8080",
            "http://127.8.9.10",
            "http://[::1]:9000/",
            "http://localhost:8080",
            "http://LOCALHOST",
        ] {
            assert!(base_url(ok).is_ok(), "{ok}: {:?}", base_url(ok));
        }
        assert_eq!(
            base_url("http://127.0.0.1:8080/").unwrap(),
            "http://127.0.0.1:8080"
        );
        for (bad, why) in [
            ("http://graph.microsoft.com", "clear text"),
            ("http://10.0.0.5:8080", "clear text"),
            ("http://localhost.evil.example", "clear text"),
            ("http://[::2]", "clear text"),
            ("ftp://graph.microsoft.com", "ftp://"),
            ("graph.microsoft.com", "not a URL"),
            ("https://", "not a URL"),
            (
                "https://user:hunter2@graph.microsoft.com",
                "user or password",
            ),
            ("https://graph.microsoft.com/?x=1", "query"),
        ] {
            let err = base_url(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
    }
}
