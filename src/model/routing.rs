//! routing: one inventory shared out among several Entra apps by signing certificate, in one
//! pass over the inventory for all of them.
//!
//! A role belongs to the app whose certificate is on the provider it trusts. So a provider that
//! is ours (our entity id and a known certificate) stays ours for an app only when it carries
//! one of the app's certificates; one that carries only other apps' certificates is not ours
//! for it, says why, and the roles' verdicts for it go (a role left with none is not listed),
//! which is evidence: this app's users cannot sign in through it. A provider recorded as ours
//! without its certificates (a version 1 snapshot) cannot be routed and becomes can't tell, so
//! every app holds its roles; so does every provider for an app with no certificate (it can
//! decide nothing). Everything else — failed and skipped accounts, providers with an unknown
//! certificate or undecided — stays as it is, in every app's share.
//!
//! An app's share ([`Routing::share`]) copies only the accounts that concern it: those not read,
//! and those with a role some provider may let in for this app. Every other account was read
//! and holds nothing of the app's; the share counts it as read and keeps a handle on the whole
//! inventory, so when the app's plan asks about one of them (an app role of this app in an
//! account whose providers now carry another app's certificate) it is routed then, and the
//! answer is the one a full copy would give. Routing 200 apps over 10,000 accounts so costs
//! about one copy of the inventory, not 200. Pure: no I/O.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use super::{
    AccountId, AccountInventory, AccountOutcome, Inventory, ProviderVerdict, SamlProvider,
    Thumbprint, TrustVerdict,
};

/// One inventory, routed to each of several apps (given by their signing certificates).
pub struct Routing {
    inventory: Arc<Inventory>,
    index: Arc<HashMap<AccountId, usize>>,
    apps: Vec<Arc<BTreeSet<Thumbprint>>>,
    /// Per app, the accounts (indexes into the inventory, ascending) its share copies.
    shares: Vec<Arc<[usize]>>,
    read: usize,
}

impl Routing {
    /// Routes `inventory` to the apps signing with `apps` (one set of certificates per app).
    pub fn new(inventory: Arc<Inventory>, apps: Vec<BTreeSet<Thumbprint>>) -> Routing {
        let mut by_certificate: HashMap<&Thumbprint, Vec<usize>> = HashMap::new();
        for (app, certificates) in apps.iter().enumerate() {
            for certificate in certificates {
                by_certificate.entry(certificate).or_default().push(app);
            }
        }
        // An app with no certificate cannot route anything: every role is its to hold.
        let uncertified: Vec<usize> = (0..apps.len()).filter(|&a| apps[a].is_empty()).collect();
        let mut shares = vec![Vec::new(); apps.len()];
        let mut concerned = Vec::new();
        for (i, account) in inventory.accounts.iter().enumerate() {
            concerned.clear();
            if concerns_every_app(account, &by_certificate, &mut concerned) {
                shares.iter_mut().for_each(|share| share.push(i));
                continue;
            }
            concerned.extend_from_slice(&uncertified);
            concerned.sort_unstable();
            concerned.dedup();
            for &app in &concerned {
                shares[app].push(i);
            }
        }
        let index = inventory
            .accounts
            .iter()
            .enumerate()
            .map(|(i, a)| (a.id, i))
            .collect();
        Routing {
            read: inventory.read(),
            index: Arc::new(index),
            apps: apps.into_iter().map(Arc::new).collect(),
            shares: shares.into_iter().map(Arc::from).collect(),
            inventory,
        }
    }

    /// The inventory as app `app` (its index in [`Routing::new`]'s `apps`) sees it.
    pub fn share(&self, app: usize) -> Inventory {
        let certificates = &self.apps[app];
        let accounts: Vec<AccountInventory> = self.shares[app]
            .iter()
            .map(|&i| route(&self.inventory.accounts[i], certificates))
            .collect();
        let read_here = accounts
            .iter()
            .filter(|a| matches!(a.outcome, AccountOutcome::Read { .. }))
            .count();
        let mut share = Inventory::new(self.inventory.listing, accounts);
        share.version = self.inventory.version;
        share.elsewhere = (self.read > read_here).then(|| Elsewhere {
            inventory: Arc::clone(&self.inventory),
            index: Arc::clone(&self.index),
            certificates: Arc::clone(certificates),
            share: Arc::clone(&self.shares[app]),
            read: self.read - read_here,
        });
        share
    }
}

/// Whether `account` concerns every app; else, in `concerned`, the apps whose certificates
/// the providers of its roles carry.
fn concerns_every_app(
    account: &AccountInventory,
    by_certificate: &HashMap<&Thumbprint, Vec<usize>>,
    concerned: &mut Vec<usize>,
) -> bool {
    let AccountOutcome::Read { providers, roles } = &account.outcome else {
        return true;
    };
    for trust in roles.iter().flat_map(|r| &r.trust) {
        match providers.iter().find(|p| p.arn == trust.provider) {
            Some(p) if p.verdict == ProviderVerdict::Ours && !p.certificates.is_empty() => {
                for certificate in &p.certificates {
                    if let Some(apps) = by_certificate.get(&certificate.sha256) {
                        concerned.extend_from_slice(apps);
                    }
                }
            }
            // Not routed by certificate: stays as it is for every app.
            _ => return true,
        }
    }
    false
}

/// The accounts of a share that hold nothing of its app's: read, and routed on demand.
#[derive(Clone, PartialEq, Eq)]
pub(super) struct Elsewhere {
    inventory: Arc<Inventory>,
    index: Arc<HashMap<AccountId, usize>>,
    certificates: Arc<BTreeSet<Thumbprint>>,
    /// The accounts the share copies (ascending indexes into the inventory).
    share: Arc<[usize]>,
    /// How many accounts read are not in the share.
    pub(super) read: usize,
}

impl Elsewhere {
    /// The account `id`, routed to the share's app, when the share leaves it out.
    pub(super) fn account(&self, id: &AccountId) -> Option<AccountInventory> {
        let &i = self.index.get(id)?;
        if self.share.binary_search(&i).is_ok() {
            return None;
        }
        Some(route(&self.inventory.accounts[i], &self.certificates))
    }
}

impl std::fmt::Debug for Elsewhere {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Elsewhere")
            .field("read", &self.read)
            .finish_non_exhaustive()
    }
}

/// The account as the app signing with `certificates` sees it. Only what the app keeps is
/// copied: a role trusting only other apps' providers is never cloned.
fn route(account: &AccountInventory, certificates: &BTreeSet<Thumbprint>) -> AccountInventory {
    let AccountOutcome::Read { providers, roles } = &account.outcome else {
        return account.clone();
    };
    let mut foreign = BTreeSet::new();
    let mut unroutable = BTreeSet::new();
    let providers = providers
        .iter()
        .map(|provider| {
            let mut provider = provider.clone();
            if provider.verdict != ProviderVerdict::Ours {
                return provider;
            }
            if provider.certificates.is_empty() || certificates.is_empty() {
                provider.verdict = ProviderVerdict::CantTell;
                provider.reason = if certificates.is_empty() {
                    format!(
                        "{}; but this app has no signing certificate to route it by",
                        provider.reason
                    )
                } else {
                    format!(
                        "{}; its certificates are not recorded, so fedsync cannot tell which app it signs for",
                        provider.reason
                    )
                };
                unroutable.insert(provider.arn.clone());
            } else if !carries_one_of(&provider, certificates) {
                let carried: Vec<String> = provider
                    .certificates
                    .iter()
                    .map(|c| c.sha256.to_string())
                    .collect();
                provider.verdict = ProviderVerdict::NotOurs;
                provider.reason = format!(
                    "it carries another app's signing certificate ({}), none of this app's",
                    carried.join(", ")
                );
                foreign.insert(provider.arn.clone());
            }
            provider
        })
        .collect();
    let roles = roles
        .iter()
        .filter(|role| role.trust.iter().any(|t| !foreign.contains(&t.provider)))
        .map(|role| {
            let mut role = role.clone();
            role.trust.retain(|t| !foreign.contains(&t.provider));
            for trust in role
                .trust
                .iter_mut()
                .filter(|t| unroutable.contains(&t.provider) && t.verdict == TrustVerdict::Yes)
            {
                trust.verdict = TrustVerdict::CantTell;
                trust.reason = format!(
                    "{}; but which app the provider is for cannot be told",
                    trust.reason
                );
            }
            role
        })
        .collect();
    AccountInventory {
        id: account.id,
        name: account.name.clone(),
        outcome: AccountOutcome::Read { providers, roles },
    }
}

fn carries_one_of(provider: &SamlProvider, certificates: &BTreeSet<Thumbprint>) -> bool {
    provider
        .certificates
        .iter()
        .any(|c| certificates.contains(&c.sha256))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::model::{Certificate, IamRole, Listing, SamlProviderArn, Trust};

    /// One account with a provider per app (certificates `aa…` and `bb…`) and roles trusting
    /// one of them or both.
    const TWO_APPS: &str = r#"{
      "version": 2, "listing": "organization",
      "accounts": [
        { "id": "111111111111", "name": "prod", "outcome": "read",
          "providers": [
            { "arn": "arn:aws:iam::111111111111:saml-provider/AppA", "verdict": "ours",
              "certificates": [{ "sha256": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" }] },
            { "arn": "arn:aws:iam::111111111111:saml-provider/AppB", "verdict": "ours",
              "certificates": [{ "sha256": "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" }] },
            { "arn": "arn:aws:iam::111111111111:saml-provider/New", "verdict": "unknown-certificate",
              "certificates": [{ "sha256": "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc" }] }],
          "roles": [
            { "arn": "arn:aws:iam::111111111111:role/OnlyA",
              "trust": [{ "provider": "arn:aws:iam::111111111111:saml-provider/AppA", "verdict": "yes" }] },
            { "arn": "arn:aws:iam::111111111111:role/OnlyB",
              "trust": [{ "provider": "arn:aws:iam::111111111111:saml-provider/AppB", "verdict": "yes" }] },
            { "arn": "arn:aws:iam::111111111111:role/Both",
              "trust": [{ "provider": "arn:aws:iam::111111111111:saml-provider/AppA", "verdict": "yes" },
                        { "provider": "arn:aws:iam::111111111111:saml-provider/AppB", "verdict": "yes" }] },
            { "arn": "arn:aws:iam::111111111111:role/Rotating",
              "trust": [{ "provider": "arn:aws:iam::111111111111:saml-provider/New", "verdict": "unknown-certificate" }] }] },
        { "id": "222222222222", "name": "dev", "outcome": "failed",
          "stage": "assume-role", "reason": "AccessDenied: not authorized" }
      ]
    }"#;

    fn certs(hex: &[char]) -> BTreeSet<Thumbprint> {
        hex.iter()
            .map(|c| c.to_string().repeat(64).parse().unwrap())
            .collect()
    }

    /// Each role's name with the providers it keeps a verdict for; each provider's verdict.
    type Routed = (Vec<(String, Vec<String>)>, Vec<(String, ProviderVerdict)>);

    fn routed(inv: &Inventory) -> Routed {
        let AccountOutcome::Read { providers, roles } = &inv.accounts[0].outcome else {
            panic!("read");
        };
        let name = |arn: String| arn.rsplit('/').next().unwrap().to_owned();
        (
            roles
                .iter()
                .map(|r| {
                    let kept = r
                        .trust
                        .iter()
                        .map(|t| name(t.provider.to_string()))
                        .collect();
                    (name(r.arn.to_string()), kept)
                })
                .collect(),
            providers
                .iter()
                .map(|p| (name(p.arn.to_string()), p.verdict))
                .collect(),
        )
    }

    #[test]
    fn each_app_sees_the_roles_of_the_providers_that_carry_its_certificate() {
        let inv = Inventory::from_json(TWO_APPS).unwrap();
        let a = share_of(&inv, certs(&['a']));
        a.check().unwrap();
        let (roles, providers) = routed(&a);
        let owned = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            roles,
            [
                ("OnlyA".to_owned(), owned(&["AppA"])),
                ("Both".to_owned(), owned(&["AppA"])),
                ("Rotating".to_owned(), owned(&["New"])),
            ]
        );
        assert_eq!(
            providers,
            [
                ("AppA".to_owned(), ProviderVerdict::Ours),
                ("AppB".to_owned(), ProviderVerdict::NotOurs),
                ("New".to_owned(), ProviderVerdict::UnknownCertificate),
            ]
        );
        let AccountOutcome::Read { providers, .. } = &a.accounts[0].outcome else {
            unreachable!()
        };
        assert!(
            providers[1]
                .reason
                .starts_with("it carries another app's signing certificate (bbbb"),
            "{}",
            providers[1].reason
        );
        // The failed account stays failed: its roles are held in every app.
        assert_eq!(a.accounts[1], inv.accounts[1]);

        let (roles, _) = routed(&share_of(&inv, certs(&['b'])));
        let names: Vec<&str> = roles.iter().map(|(r, _)| r.as_str()).collect();
        assert_eq!(names, ["OnlyB", "Both", "Rotating"]);
        // An app holding both certificates (a rotation) sees everything.
        assert_eq!(share_of(&inv, certs(&['a', 'b'])), inv);
    }

    #[test]
    fn a_provider_whose_certificates_are_not_recorded_cannot_be_routed() {
        let inv = Inventory::from_json(super::super::inventory::tests::V1).unwrap();
        let routed = share_of(&inv, certs(&['a']));
        routed.check().unwrap();
        let AccountOutcome::Read { providers, roles } = &routed.accounts[0].outcome else {
            panic!("read");
        };
        assert_eq!(providers[0].verdict, ProviderVerdict::CantTell);
        assert_eq!(roles[0].trust[0].verdict, TrustVerdict::CantTell);
    }

    #[test]
    fn an_app_without_certificates_holds_everything_and_disables_nothing() {
        let inv = Inventory::from_json(TWO_APPS).unwrap();
        let routed = share_of(&inv, BTreeSet::new());
        routed.check().unwrap();
        let AccountOutcome::Read { providers, roles } = &routed.accounts[0].outcome else {
            panic!("read");
        };
        // Every role is still listed, none with a definite no: the plan holds them all.
        assert_eq!(roles.len(), 4);
        assert!(
            roles
                .iter()
                .flat_map(|r| &r.trust)
                .all(|t| t.verdict != TrustVerdict::No && t.verdict != TrustVerdict::Yes)
        );
        assert!(
            providers
                .iter()
                .all(|p| p.verdict != ProviderVerdict::NotOurs)
        );
    }

    /// `inv` as the one app signing with `certificates` sees it.
    fn share_of(inv: &Inventory, certificates: BTreeSet<Thumbprint>) -> Inventory {
        Routing::new(Arc::new(inv.clone()), vec![certificates]).share(0)
    }

    /// One account per app (certificates `aa…` and `bb…`), one that failed, one read with
    /// nothing of ours.
    const SPLIT: &str = r#"{
      "version": 2, "listing": "organization",
      "accounts": [
        { "id": "111111111111", "name": "a", "outcome": "read",
          "providers": [
            { "arn": "arn:aws:iam::111111111111:saml-provider/Entra", "verdict": "ours",
              "certificates": [{ "sha256": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" }] }],
          "roles": [
            { "arn": "arn:aws:iam::111111111111:role/Admin",
              "trust": [{ "provider": "arn:aws:iam::111111111111:saml-provider/Entra", "verdict": "yes" }] }] },
        { "id": "222222222222", "name": "b", "outcome": "read",
          "providers": [
            { "arn": "arn:aws:iam::222222222222:saml-provider/Entra", "verdict": "ours",
              "certificates": [{ "sha256": "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" }] }],
          "roles": [
            { "arn": "arn:aws:iam::222222222222:role/Admin",
              "trust": [{ "provider": "arn:aws:iam::222222222222:saml-provider/Entra", "verdict": "yes" }] }] },
        { "id": "333333333333", "name": "dev", "outcome": "failed",
          "stage": "assume-role", "reason": "AccessDenied: not authorized" },
        { "id": "444444444444", "name": "empty", "outcome": "read", "providers": [], "roles": [] }
      ]
    }"#;

    #[test]
    fn a_share_copies_only_the_accounts_of_its_app_and_routes_the_others_when_asked() {
        let inv = Arc::new(Inventory::from_json(SPLIT).unwrap());
        let routing = Routing::new(Arc::clone(&inv), vec![certs(&['a']), certs(&['b'])]);
        let a = routing.share(0);
        let ids: Vec<String> = a.accounts.iter().map(|x| x.id.to_string()).collect();
        assert_eq!(ids, ["111111111111", "333333333333"]);
        // Every account read is counted, those left out too; the failed one stays failed.
        assert_eq!((a.read(), a.failed()), (3, 1));
        // Left out, account b is still evidence for app a: read, its provider not a's.
        let b_for_a = a
            .routed_elsewhere(&"222222222222".parse().unwrap())
            .unwrap();
        let AccountOutcome::Read { providers, roles } = &b_for_a.outcome else {
            panic!("read");
        };
        assert!(roles.is_empty());
        assert_eq!(providers[0].verdict, ProviderVerdict::NotOurs);
        assert!(
            providers[0]
                .reason
                .starts_with("it carries another app's signing certificate (bbbb"),
            "{}",
            providers[0].reason
        );
        assert_eq!(a.routed_elsewhere(&"111111111111".parse().unwrap()), None);
        assert_eq!(a.routed_elsewhere(&"555555555555".parse().unwrap()), None);
        let ids: Vec<String> = routing
            .share(1)
            .accounts
            .iter()
            .map(|x| x.id.to_string())
            .collect();
        assert_eq!(ids, ["222222222222", "333333333333"]);
        // A share is not a snapshot: written as one, its left-out accounts would read as gone.
        let written = serde_json::to_string(&a).unwrap_err().to_string();
        assert!(written.contains("not a snapshot"), "{written}");
        serde_json::to_string(&*inv).unwrap();
    }

    const PROVIDERS: [&str; 3] = ["P0", "P1", "P2"];

    /// A provider: ours with certificate `a`, `b` or both; ours without a recorded
    /// certificate; with an unknown certificate; or not ours.
    fn provider(account: &str, name: &str, kind: usize) -> SamlProvider {
        let certificates = |hex: &[char]| {
            hex.iter()
                .map(|c| Certificate {
                    sha256: c.to_string().repeat(64).parse().unwrap(),
                    not_after: None,
                })
                .collect()
        };
        let (verdict, certificates) = match kind {
            0 => (ProviderVerdict::Ours, certificates(&['a'])),
            1 => (ProviderVerdict::Ours, certificates(&['b'])),
            2 => (ProviderVerdict::Ours, certificates(&['a', 'b'])),
            3 => (ProviderVerdict::Ours, Vec::new()),
            4 => (ProviderVerdict::UnknownCertificate, certificates(&['c'])),
            _ => (ProviderVerdict::NotOurs, Vec::new()),
        };
        SamlProvider {
            arn: format!("arn:aws:iam::{account}:saml-provider/{name}")
                .parse::<SamlProviderArn>()
                .unwrap(),
            verdict,
            reason: String::new(),
            certificates,
        }
    }

    fn account_strategy(id: &'static str) -> impl Strategy<Value = AccountInventory> {
        (
            0..3usize,
            proptest::collection::vec(0..5usize, PROVIDERS.len()),
            proptest::collection::vec(proptest::collection::vec(0..PROVIDERS.len(), 1..3), 0..4),
        )
            .prop_map(move |(kind, providers, roles)| {
                let outcome = match kind {
                    0 => AccountOutcome::Failed {
                        stage: crate::model::FailureStage::ListRoles,
                        reason: "throttled".into(),
                    },
                    _ => {
                        // The roles trust some of PROVIDERS; a provider not ours is beside them.
                        let mut providers: Vec<SamlProvider> = PROVIDERS
                            .iter()
                            .zip(providers)
                            .map(|(name, kind)| provider(id, name, kind))
                            .collect();
                        providers.push(provider(id, "Okta", 5));
                        let roles = roles
                            .into_iter()
                            .enumerate()
                            .map(|(i, trusted)| IamRole {
                                arn: format!("arn:aws:iam::{id}:role/R{i}").parse().unwrap(),
                                trust: trusted
                                    .into_iter()
                                    .collect::<BTreeSet<_>>()
                                    .into_iter()
                                    .map(|p| Trust {
                                        provider: providers[p].arn.clone(),
                                        verdict: TrustVerdict::Yes,
                                        reason: String::new(),
                                    })
                                    .collect(),
                                notes: Vec::new(),
                            })
                            .collect();
                        AccountOutcome::Read { providers, roles }
                    }
                };
                AccountInventory {
                    id: id.parse().unwrap(),
                    name: id.into(),
                    outcome,
                }
            })
    }

    proptest! {
        /// Each app's share, with its left-out accounts routed on demand, is the whole
        /// inventory routed to the app: the share leaves out only accounts read that hold no
        /// role of the app's, and counts them.
        #[test]
        fn a_share_is_the_whole_inventory_routed_to_its_app(
            accounts in (
                account_strategy("111111111111"),
                account_strategy("222222222222"),
                account_strategy("333333333333"),
            ),
            apps in proptest::collection::vec(
                proptest::sample::subsequence(vec!['a', 'b', 'c'], 0..=3),
                1..4,
            ),
        ) {
            let (x, y, z) = accounts;
            let inv = Arc::new(Inventory::new(Listing::Organization, vec![x, y, z]));
            inv.check().unwrap();
            let apps: Vec<BTreeSet<Thumbprint>> = apps.iter().map(|a| certs(a)).collect();
            let routing = Routing::new(Arc::clone(&inv), apps.clone());
            for (app, certificates) in apps.iter().enumerate() {
                let share = routing.share(app);
                share.check().unwrap();
                prop_assert_eq!(share.read(), inv.read());
                prop_assert_eq!(share.failed(), inv.failed());
                let mut copied = share.accounts.iter();
                for account in &inv.accounts {
                    let whole = route(account, certificates);
                    match share.routed_elsewhere(&account.id) {
                        Some(elsewhere) => {
                            let AccountOutcome::Read { roles, .. } = &elsewhere.outcome else {
                                panic!("only accounts read are left out");
                            };
                            prop_assert!(roles.is_empty());
                            prop_assert_eq!(elsewhere, whole);
                        }
                        None => prop_assert_eq!(copied.next(), Some(&whole)),
                    }
                }
                prop_assert_eq!(copied.next(), None);
            }
        }
    }
}
