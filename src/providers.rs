//! providers: the SAML providers of every account as a certificate rotation sees them, decided
//! from an inventory and each app's configured certificates (`saml-certificates`) at a given
//! time. Behind `fedsync providers` and the certificate figures of a sync's report.
//!
//! A provider is one app's when it carries one of that app's certificates (as
//! [`crate::model::Routing`] routes it); ours by entity id with an unknown certificate; not
//! ours; or can't tell. For a provider of an app: each certificate it holds, with its expiry,
//! and which of the app's configured certificates it lacks. A provider **lasts** until the
//! last of the app's certificates it holds expires: that is the day its account locks out if
//! nothing changes, and the earliest such day over every provider is the run's
//! `certificate_expires_in_days`.
//!
//! An account is **ready** when every provider of ours there carries every configured
//! certificate of its app. It **would be locked out** if Entra switched to the app's newest
//! configured certificate today when it has a provider of the app but none there carries that
//! certificate. The newest is the configured certificate with the latest expiry seen on any
//! provider; a configured certificate seen on no provider has no known expiry, and when no
//! configured certificate of an app is seen anywhere its newest cannot be told, so no account is
//! said to be locked out by it (the report says which apps these are). Failed and skipped
//! accounts are listed as such: nothing is claimed about their providers. Pure: no I/O, no
//! clock.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use time::OffsetDateTime;

use crate::model::{
    AccountId, AccountOutcome, AppName, Certificate, Inventory, ProviderVerdict, SamlProvider,
    SamlProviderArn, Thumbprint,
};

/// The JSON schema of the report.
pub const PROVIDERS_SCHEMA: &str = "fedsync.providers/v1";

/// One app and the signing certificates it is configured with.
#[derive(Clone, Debug)]
pub struct AppCertificates {
    pub name: AppName,
    pub certificates: BTreeSet<Thumbprint>,
}

/// Every account's providers, and what a rotation needs to know of them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProvidersReport {
    pub accounts: Vec<AccountProviders>,
    pub summary: Summary,
}

/// One account of the inventory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AccountProviders {
    pub account: AccountId,
    pub name: String,
    #[serde(flatten)]
    pub state: AccountState,
}

/// What is known of an account's providers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum AccountState {
    Read {
        providers: Vec<ProviderStatus>,
    },
    /// Not read (failed or skipped): nothing is known of its providers.
    NotRead {
        reason: String,
    },
}

/// One SAML provider.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProviderStatus {
    pub arn: SamlProviderArn,
    #[serde(flatten)]
    pub kind: ProviderKind,
    pub certificates: Vec<CertificateStatus>,
}

/// Whose a provider is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ProviderKind {
    /// It carries a certificate of these apps; `missing` are their configured certificates it
    /// lacks, `lasts_until` the expiry of the last of them it holds (none when no expiry is
    /// known).
    Ours {
        apps: Vec<AppName>,
        missing: Vec<Thumbprint>,
        #[serde(with = "time::serde::rfc3339::option")]
        lasts_until: Option<OffsetDateTime>,
    },
    /// Our entity id, but none of the configured certificates.
    UnknownCertificate,
    NotOurs,
    CantTell {
        reason: String,
    },
}

/// A certificate a provider holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CertificateStatus {
    pub sha256: Thumbprint,
    #[serde(with = "time::serde::rfc3339::option")]
    pub not_after: Option<OffsetDateTime>,
    /// Whole days from now to `not_after`; negative once expired.
    pub days_left: Option<i64>,
    /// Configured for one of the apps.
    pub configured: bool,
}

/// The figures a rotation is planned by.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Accounts with a provider of ours, each carrying every configured certificate of its app.
    pub accounts_ready: usize,
    /// Accounts with a provider of ours that lacks a configured certificate of its app.
    pub accounts_missing_certificate: Vec<AccountId>,
    /// Accounts that would be locked out if Entra switched to the newest configured
    /// certificate today, per app.
    pub locked_out_if_switched: BTreeMap<AppName, Vec<AccountId>>,
    /// Apps none of whose configured certificates is seen with an expiry on any provider.
    pub newest_unknown: Vec<AppName>,
    /// The earliest day a provider of ours holds no valid configured certificate any more.
    #[serde(with = "time::serde::rfc3339::option")]
    pub earliest_expiry: Option<OffsetDateTime>,
    /// Whole days from now to `earliest_expiry`; negative once passed.
    pub certificate_expires_in_days: Option<i64>,
    /// Accounts not read: nothing is claimed about them.
    pub accounts_not_read: usize,
}

/// The report of `inventory` for `apps` (every configured app, so that each provider is told
/// whose it is) at `now`. With `only`, the summary counts that app's providers alone, and the
/// accounts listed are those where it has a provider, or that were not read.
pub fn report(
    inventory: &Inventory,
    apps: &[AppCertificates],
    only: Option<&AppName>,
    now: OffsetDateTime,
) -> ProvidersReport {
    let in_scope = |of: &[AppName]| only.is_none_or(|app| of.contains(app));
    let configured: BTreeSet<&Thumbprint> = apps.iter().flat_map(|a| &a.certificates).collect();
    let newest = newest_certificates(inventory, apps);
    let mut summary = Summary {
        accounts_ready: 0,
        accounts_missing_certificate: Vec::new(),
        locked_out_if_switched: BTreeMap::new(),
        newest_unknown: apps
            .iter()
            .filter(|app| only.is_none_or(|o| *o == app.name) && !newest.contains_key(&app.name))
            .map(|app| app.name.clone())
            .collect(),
        earliest_expiry: None,
        certificate_expires_in_days: None,
        accounts_not_read: 0,
    };
    let mut accounts = Vec::new();
    for account in &inventory.accounts {
        let providers = match &account.outcome {
            AccountOutcome::Read { providers, .. } => providers,
            AccountOutcome::Failed { stage, reason } => {
                summary.accounts_not_read += 1;
                accounts.push(AccountProviders {
                    account: account.id,
                    name: account.name.clone(),
                    state: AccountState::NotRead {
                        reason: format!("could not be read at {stage}: {reason}"),
                    },
                });
                continue;
            }
            AccountOutcome::Skipped { reason, .. } => {
                summary.accounts_not_read += 1;
                accounts.push(AccountProviders {
                    account: account.id,
                    name: account.name.clone(),
                    state: AccountState::NotRead {
                        reason: format!("not read: {}", reason.describe()),
                    },
                });
                continue;
            }
        };
        let statuses: Vec<ProviderStatus> = providers
            .iter()
            .map(|p| provider_status(p, apps, &configured, now))
            .collect();
        let ours: Vec<(&Vec<AppName>, &Vec<Thumbprint>)> = statuses
            .iter()
            .filter_map(|s| match &s.kind {
                ProviderKind::Ours { apps, missing, .. } if in_scope(apps) => Some((apps, missing)),
                _ => None,
            })
            .collect();
        if only.is_some() && ours.is_empty() {
            continue;
        }
        if !ours.is_empty() {
            match ours.iter().all(|(_, missing)| missing.is_empty()) {
                true => summary.accounts_ready += 1,
                false => summary.accounts_missing_certificate.push(account.id),
            }
        }
        for (app, newest) in newest
            .iter()
            .filter(|(app, _)| only.is_none_or(|o| o == *app))
        {
            let of_app: Vec<&ProviderStatus> = statuses
                .iter()
                .filter(
                    |s| matches!(&s.kind, ProviderKind::Ours { apps, .. } if apps.contains(app)),
                )
                .collect();
            let carries_newest = of_app
                .iter()
                .any(|s| s.certificates.iter().any(|c| &c.sha256 == *newest));
            if !of_app.is_empty() && !carries_newest {
                summary
                    .locked_out_if_switched
                    .entry(app.clone())
                    .or_default()
                    .push(account.id);
            }
        }
        for status in &statuses {
            if let ProviderKind::Ours {
                apps,
                lasts_until: Some(until),
                ..
            } = &status.kind
                && in_scope(apps)
                && summary.earliest_expiry.is_none_or(|e| until < &e)
            {
                summary.earliest_expiry = Some(*until);
            }
        }
        accounts.push(AccountProviders {
            account: account.id,
            name: account.name.clone(),
            state: AccountState::Read {
                providers: statuses,
            },
        });
    }
    summary.certificate_expires_in_days = summary.earliest_expiry.map(|e| days_between(now, e));
    ProvidersReport { accounts, summary }
}

impl ProvidersReport {
    /// The report as `fedsync.providers/v1` JSON: `schema`, `summary`, `accounts`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "schema": PROVIDERS_SCHEMA,
            "summary": self.summary,
            "accounts": self.accounts,
        })
    }
}

/// The certificate figures of one app a sync reports: how soon a provider of the app is left
/// with no valid configured certificate, and which accounts lack one, turned into warnings
/// from `certificate-warn-days` before the earliest expiry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CertificateFigures {
    /// The earliest day a provider of the app holds no valid configured certificate any more.
    pub earliest_expiry: Option<OffsetDateTime>,
    /// Whole days from now to `earliest_expiry`; negative once passed.
    pub expires_in_days: Option<i64>,
    /// Accounts with a provider of the app that lacks one of its configured certificates.
    pub accounts_missing_certificate: Vec<AccountId>,
    /// `certificate-warn-days`.
    pub warn_days: u32,
}

/// Account ids a warning names before it says how many more there are.
const NAMED_IN_A_WARNING: usize = 10;

impl CertificateFigures {
    /// The figures of the app with `certificates` in `inventory` (its share, when routed) at
    /// `now`.
    pub fn of(
        inventory: &Inventory,
        certificates: &[Thumbprint],
        warn_days: u32,
        now: OffsetDateTime,
    ) -> CertificateFigures {
        let app = AppCertificates {
            name: AppName::default_app(),
            certificates: certificates.iter().cloned().collect(),
        };
        let summary = report(inventory, std::slice::from_ref(&app), Some(&app.name), now).summary;
        CertificateFigures {
            earliest_expiry: summary.earliest_expiry,
            expires_in_days: summary.certificate_expires_in_days,
            accounts_missing_certificate: summary.accounts_missing_certificate,
            warn_days,
        }
    }

    /// One line per thing to act on: an expiry within `warn_days` (or passed), accounts whose
    /// providers lack a configured certificate.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if let (Some(days), Some(when)) = (self.expires_in_days, self.earliest_expiry)
            && days <= i64::from(self.warn_days)
        {
            warnings.push(match days {
                ..0 => format!(
                    "a SAML provider of ours has held no valid configured certificate since {} ({} days): nobody can sign in through it; run `fedsync providers`, then `fedsync rotate`",
                    when.date(),
                    -days
                ),
                _ => format!(
                    "a SAML provider of ours holds no valid configured certificate from {} ({days} days, within certificate-warn-days {}): rotate before then (`fedsync providers`, `fedsync rotate`)",
                    when.date(),
                    self.warn_days
                ),
            });
        }
        let missing = &self.accounts_missing_certificate;
        if !missing.is_empty() {
            let mut named: Vec<String> = missing
                .iter()
                .take(NAMED_IN_A_WARNING)
                .map(ToString::to_string)
                .collect();
            if missing.len() > NAMED_IN_A_WARNING {
                named.push(format!("and {} more", missing.len() - NAMED_IN_A_WARNING));
            }
            warnings.push(format!(
                "{} {} a SAML provider of ours that lacks a configured certificate ({}): `fedsync providers` says which, `fedsync rotate` adds it",
                missing.len(),
                match missing.len() {
                    1 => "account has",
                    _ => "accounts have",
                },
                named.join(", ")
            ));
        }
        warnings
    }
}

/// Per app, its configured certificate with the latest expiry seen on any provider.
fn newest_certificates<'a>(
    inventory: &'a Inventory,
    apps: &'a [AppCertificates],
) -> BTreeMap<AppName, &'a Thumbprint> {
    let mut expiry: BTreeMap<&Thumbprint, OffsetDateTime> = BTreeMap::new();
    for account in &inventory.accounts {
        let AccountOutcome::Read { providers, .. } = &account.outcome else {
            continue;
        };
        for c in providers.iter().flat_map(|p| &p.certificates) {
            if let Some(not_after) = c.not_after {
                let seen = expiry.entry(&c.sha256).or_insert(not_after);
                *seen = (*seen).max(not_after);
            }
        }
    }
    apps.iter()
        .filter_map(|app| {
            let newest = app
                .certificates
                .iter()
                .filter_map(|t| expiry.get(t).map(|e| (*e, t)))
                .max()?;
            Some((app.name.clone(), newest.1))
        })
        .collect()
}

fn provider_status(
    provider: &SamlProvider,
    apps: &[AppCertificates],
    configured: &BTreeSet<&Thumbprint>,
    now: OffsetDateTime,
) -> ProviderStatus {
    let certificates = provider
        .certificates
        .iter()
        .map(|c| certificate_status(c, configured, now))
        .collect();
    let kind = match provider.verdict {
        ProviderVerdict::NotOurs => ProviderKind::NotOurs,
        ProviderVerdict::CantTell => ProviderKind::CantTell {
            reason: provider.reason.clone(),
        },
        ProviderVerdict::UnknownCertificate => ProviderKind::UnknownCertificate,
        ProviderVerdict::Ours => {
            let held: BTreeSet<&Thumbprint> =
                provider.certificates.iter().map(|c| &c.sha256).collect();
            let of: Vec<&AppCertificates> = apps
                .iter()
                .filter(|app| app.certificates.iter().any(|t| held.contains(t)))
                .collect();
            if of.is_empty() {
                // Ours when read, with none of these apps' certificates (settings changed since).
                ProviderKind::UnknownCertificate
            } else {
                let wanted: BTreeSet<&Thumbprint> =
                    of.iter().flat_map(|a| &a.certificates).collect();
                ProviderKind::Ours {
                    apps: of.iter().map(|a| a.name.clone()).collect(),
                    missing: wanted
                        .iter()
                        .filter(|t| !held.contains(*t))
                        .map(|t| (*t).clone())
                        .collect(),
                    lasts_until: provider
                        .certificates
                        .iter()
                        .filter(|c| wanted.contains(&c.sha256))
                        .filter_map(|c| c.not_after)
                        .max(),
                }
            }
        }
    };
    ProviderStatus {
        arn: provider.arn.clone(),
        kind,
        certificates,
    }
}

fn certificate_status(
    certificate: &Certificate,
    configured: &BTreeSet<&Thumbprint>,
    now: OffsetDateTime,
) -> CertificateStatus {
    CertificateStatus {
        sha256: certificate.sha256.clone(),
        not_after: certificate.not_after,
        days_left: certificate.not_after.map(|e| days_between(now, e)),
        configured: configured.contains(&certificate.sha256),
    }
}

/// Whole days from `now` to `then`, rounded towards the past (a certificate that expires in 23
/// hours has 0 days left; one that expired an hour ago, -1).
fn days_between(now: OffsetDateTime, then: OffsetDateTime) -> i64 {
    (then - now).as_seconds_f64().div_euclid(86_400.0) as i64
}

#[cfg(test)]
mod tests {
    use time::Duration;
    use time::macros::datetime;

    use super::*;
    use crate::model::{AccountInventory, FailureStage, Listing};

    const NOW: OffsetDateTime = datetime!(2026-12-03 12:00 UTC);

    fn thumb(c: char) -> Thumbprint {
        c.to_string().repeat(64).parse().unwrap()
    }

    /// A provider in `account` with `verdict`, holding certificate `c` expiring in `days` for
    /// each `(c, days)`.
    fn provider(
        account: &str,
        name: &str,
        verdict: ProviderVerdict,
        certs: &[(char, i64)],
    ) -> SamlProvider {
        SamlProvider {
            arn: format!("arn:aws:iam::{account}:saml-provider/{name}")
                .parse()
                .unwrap(),
            verdict,
            reason: "metadata unreadable".into(),
            certificates: certs
                .iter()
                .map(|&(c, days)| Certificate {
                    sha256: thumb(c),
                    not_after: Some(NOW + Duration::days(days)),
                })
                .collect(),
        }
    }

    fn read(account: &str, providers: Vec<SamlProvider>) -> AccountInventory {
        AccountInventory {
            id: account.parse().unwrap(),
            name: format!("acct-{account}"),
            outcome: AccountOutcome::Read {
                providers,
                roles: Vec::new(),
            },
        }
    }

    fn app(name: &str, certs: &[char]) -> AppCertificates {
        AppCertificates {
            name: name.parse().unwrap(),
            certificates: certs.iter().map(|&c| thumb(c)).collect(),
        }
    }

    /// A rotation half done for app `default` (old `a`, 30 days left; new `b`, 1,000 days):
    /// one account with the old only, one with both, one with the new only, one with a foreign
    /// provider, one with an expired old certificate, one not read.
    fn rotation() -> Inventory {
        use ProviderVerdict::*;
        Inventory::new(
            Listing::Organization,
            vec![
                read(
                    "111111111111",
                    vec![provider("111111111111", "Entra", Ours, &[('a', 30)])],
                ),
                read(
                    "222222222222",
                    vec![provider(
                        "222222222222",
                        "Entra",
                        Ours,
                        &[('a', 30), ('b', 1000)],
                    )],
                ),
                read(
                    "333333333333",
                    vec![provider("333333333333", "Entra", Ours, &[('b', 1000)])],
                ),
                read(
                    "444444444444",
                    vec![provider("444444444444", "Okta", NotOurs, &[])],
                ),
                read(
                    "555555555555",
                    vec![provider(
                        "555555555555",
                        "Entra",
                        Ours,
                        &[('a', -2), ('b', 1000)],
                    )],
                ),
                AccountInventory {
                    id: "666666666666".parse().unwrap(),
                    name: "dev".into(),
                    outcome: AccountOutcome::Failed {
                        stage: FailureStage::AssumeRole,
                        reason: "AccessDenied".into(),
                    },
                },
            ],
        )
    }

    fn id(s: &str) -> AccountId {
        s.parse().unwrap()
    }

    #[test]
    fn a_rotation_half_done_shows_which_accounts_a_switch_would_lock_out() {
        let r = report(&rotation(), &[app("default", &['a', 'b'])], None, NOW);
        let s = &r.summary;
        assert_eq!(s.accounts_ready, 2, "both certificates: 222 and 555");
        assert_eq!(
            s.accounts_missing_certificate,
            [id("111111111111"), id("333333333333")]
        );
        let default: AppName = "default".parse().unwrap();
        assert_eq!(s.locked_out_if_switched[&default], [id("111111111111")]);
        assert!(s.newest_unknown.is_empty());
        // 111 lasts until its old certificate expires: the earliest lockout, in 30 days.
        assert_eq!(s.certificate_expires_in_days, Some(30));
        assert_eq!(s.accounts_not_read, 1);
        let AccountState::Read { providers } = &r.accounts[0].state else {
            panic!("read")
        };
        let ProviderKind::Ours { missing, .. } = &providers[0].kind else {
            panic!("ours")
        };
        assert_eq!(missing, &[thumb('b')]);
        assert_eq!(providers[0].certificates[0].days_left, Some(30));
        // The foreign provider is reported as such, and counts for nothing.
        let AccountState::Read { providers } = &r.accounts[3].state else {
            panic!("read")
        };
        assert_eq!(providers[0].kind, ProviderKind::NotOurs);
    }

    #[test]
    fn an_expired_certificate_beside_a_valid_one_does_not_end_the_provider() {
        let r = report(&rotation(), &[app("default", &['a', 'b'])], None, NOW);
        let AccountState::Read { providers } = &r.accounts[4].state else {
            panic!("read")
        };
        assert_eq!(providers[0].certificates[0].days_left, Some(-2));
        let ProviderKind::Ours { lasts_until, .. } = &providers[0].kind else {
            panic!("ours")
        };
        assert_eq!(*lasts_until, Some(NOW + Duration::days(1000)));
    }

    #[test]
    fn an_app_whose_certificates_are_seen_nowhere_locks_nobody_out_and_says_so() {
        // Configured with `c` only: every provider carries certificates of no app.
        let r = report(&rotation(), &[app("default", &['c'])], None, NOW);
        let default: AppName = "default".parse().unwrap();
        assert_eq!(r.summary.newest_unknown, [default]);
        assert!(r.summary.locked_out_if_switched.is_empty());
        assert_eq!(r.summary.accounts_ready, 0);
        assert_eq!(r.summary.certificate_expires_in_days, None);
        let AccountState::Read { providers } = &r.accounts[0].state else {
            panic!("read")
        };
        assert_eq!(providers[0].kind, ProviderKind::UnknownCertificate);
    }

    #[test]
    fn with_two_apps_each_provider_is_its_apps_and_lacks_only_its_apps_certificates() {
        use ProviderVerdict::*;
        let inventory = Inventory::new(
            Listing::Organization,
            vec![
                read(
                    "111111111111",
                    vec![provider("111111111111", "A", Ours, &[('a', 100)])],
                ),
                read(
                    "222222222222",
                    vec![provider("222222222222", "B", Ours, &[('b', 50)])],
                ),
            ],
        );
        let configured = [app("a", &['a']), app("b", &['b', 'c'])];
        let r = report(&inventory, &configured, None, NOW);
        // b's newest seen is `b` (no expiry seen for `c`): nobody is locked out by it.
        assert!(r.summary.locked_out_if_switched.is_empty());
        assert_eq!(r.summary.accounts_missing_certificate, [id("222222222222")]);
        assert_eq!(r.summary.accounts_ready, 1);
        assert_eq!(r.summary.certificate_expires_in_days, Some(50));
        let AccountState::Read { providers } = &r.accounts[1].state else {
            panic!("read")
        };
        let ProviderKind::Ours { apps, missing, .. } = &providers[0].kind else {
            panic!("ours")
        };
        assert_eq!(apps, &["b".parse::<AppName>().unwrap()]);
        assert_eq!(missing, &[thumb('c')]);

        // With --app a: a's account only, and a's figures.
        let a: AppName = "a".parse().unwrap();
        let r = report(&inventory, &configured, Some(&a), NOW);
        assert_eq!(r.accounts.len(), 1);
        assert_eq!(r.accounts[0].account, id("111111111111"));
        assert_eq!(r.summary.accounts_ready, 1);
        assert!(r.summary.accounts_missing_certificate.is_empty());
        assert_eq!(r.summary.certificate_expires_in_days, Some(100));
    }

    #[test]
    fn the_json_names_each_providers_kind_and_each_certificates_expiry() {
        let v = report(&rotation(), &[app("default", &['a', 'b'])], None, NOW).to_json();
        assert_eq!(v["schema"], "fedsync.providers/v1");
        assert_eq!(v["summary"]["certificate_expires_in_days"], 30);
        assert_eq!(
            v["summary"]["locked_out_if_switched"]["default"][0],
            "111111111111"
        );
        let first = &v["accounts"][0];
        assert_eq!(first["outcome"], "read");
        let entra = &first["providers"][0];
        assert_eq!(entra["kind"], "ours");
        assert_eq!(entra["apps"][0], "default");
        assert_eq!(entra["missing"][0], "b".repeat(64));
        assert_eq!(entra["certificates"][0]["days_left"], 30);
        assert_eq!(
            entra["certificates"][0]["not_after"],
            "2027-01-02T12:00:00Z"
        );
        assert_eq!(v["accounts"][3]["providers"][0]["kind"], "not-ours");
        assert_eq!(v["accounts"][5]["outcome"], "not_read");
    }

    #[test]
    fn a_sync_warns_from_certificate_warn_days_before_the_earliest_expiry_and_names_accounts_missing_one()
     {
        let certificates = [thumb('a'), thumb('b')];
        // The earliest expiry is 30 days away: within 60 days, a warning; within 29, none.
        let figures = CertificateFigures::of(&rotation(), &certificates, 60, NOW);
        assert_eq!(figures.expires_in_days, Some(30));
        assert_eq!(
            figures.accounts_missing_certificate,
            [id("111111111111"), id("333333333333")]
        );
        let warnings = figures.warnings();
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(
            warnings[0].contains("from 2027-01-02 (30 days, within certificate-warn-days 60)"),
            "{warnings:?}"
        );
        assert!(
            warnings[1].starts_with("2 accounts have a SAML provider of ours that lacks a configured certificate (111111111111, 333333333333)"),
            "{warnings:?}"
        );
        let later = CertificateFigures::of(&rotation(), &certificates, 29, NOW).warnings();
        assert_eq!(later.len(), 1, "only the missing certificates: {later:?}");

        // Once passed, it says nobody can sign in; every provider ready: no warning at all.
        let passed =
            CertificateFigures::of(&rotation(), &certificates, 0, NOW + Duration::days(32));
        assert_eq!(passed.expires_in_days, Some(-2));
        assert!(
            passed.warnings()[0].contains("since 2027-01-02 (2 days): nobody can sign in"),
            "{:?}",
            passed.warnings()
        );
        let ready = Inventory::new(
            Listing::Organization,
            vec![read(
                "222222222222",
                vec![provider(
                    "222222222222",
                    "Entra",
                    ProviderVerdict::Ours,
                    &[('a', 300), ('b', 1000)],
                )],
            )],
        );
        let figures = CertificateFigures::of(&ready, &certificates, 60, NOW);
        assert_eq!(figures.expires_in_days, Some(1000));
        assert!(figures.warnings().is_empty(), "{:?}", figures.warnings());
    }

    #[test]
    fn days_left_round_towards_the_past() {
        assert_eq!(days_between(NOW, NOW + Duration::hours(23)), 0);
        assert_eq!(days_between(NOW, NOW + Duration::hours(25)), 1);
        assert_eq!(days_between(NOW, NOW - Duration::hours(1)), -1);
    }
}
