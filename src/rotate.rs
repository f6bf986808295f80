//! rotate: the plan of a SAML signing certificate rotation, and the checks every write of it
//! must pass. Pure: no I/O, no clock. `fedsync rotate` ([`crate::commands::rotate`]) reads the
//! inventory and the new metadata, plans here, and writes through [`crate::aws::rotate`].
//!
//! **The new document** ([`check_metadata`]) is the app's federation metadata as Entra publishes
//! it during a rotation (the active and the new certificate). It must parse strictly, name our
//! entity id (`saml-entity-id`), and carry at least one of the app's configured certificates:
//! every app of a tenant has the same entity id, so a document of another app would pass the
//! first check and lock this app's users out.
//!
//! **Whose provider** ([`plan`]): a provider is the app's when it has our entity id and carries
//! a certificate of the app, configured or in the new document. Every other provider (not ours,
//! another app's, one fedsync cannot read) is left alone and listed with the reason.
//!
//! **What changes** ([`change_for`]), from the certificates a provider holds now:
//! - exactly the document's: up to date, nothing written (so a rerun resumes where it stopped);
//! - one it holds that is still valid (or of unknown expiry) and that the document lacks: the
//!   update would take it away from the people signing in with it, so it is **refused**, unless
//!   `--drop-certificate` names it; a refusal anywhere refuses the whole rotation;
//! - else: updated to the document; the certificates it loses are expired or named to drop.
//!
//! The same rule runs again on the metadata read just before each write ([`recheck`]), so a
//! provider changed since the inventory was read is never overwritten on old evidence, and the
//! metadata read after the write must carry exactly the document's certificates
//! ([`read_back`]).

use std::collections::BTreeSet;

use time::OffsetDateTime;

use crate::metadata::{self, FederationMetadata, MetadataError};
use crate::model::{
    AccountId, AccountOutcome, Certificate, Inventory, ProviderVerdict, SamlProvider,
    SamlProviderArn, Thumbprint,
};

/// The new metadata, checked: the document as given and what it carries.
#[derive(Clone, Debug)]
pub struct NewMetadata {
    /// Written to each provider as it is.
    pub xml: String,
    pub metadata: FederationMetadata,
}

impl NewMetadata {
    /// The SHA-256 thumbprints of its signing certificates, in document order.
    pub fn thumbprints(&self) -> Vec<Thumbprint> {
        self.metadata
            .signing_certificates
            .iter()
            .map(|c| c.sha256.clone())
            .collect()
    }

    fn carries(&self, thumbprint: &Thumbprint) -> bool {
        self.metadata
            .signing_certificates
            .iter()
            .any(|c| &c.sha256 == thumbprint)
    }
}

/// What a rotation is asked to do, besides the document.
#[derive(Clone, Debug)]
pub struct Rotation<'a> {
    /// `saml-entity-id`.
    pub entity_id: &'a str,
    /// The app's `saml-certificates`.
    pub configured: &'a [Thumbprint],
    /// `--drop-certificate`: certificates a provider may lose although still valid.
    pub drop: &'a [Thumbprint],
    pub now: OffsetDateTime,
}

/// Why the new metadata cannot be used; nothing is written.
#[derive(Debug, thiserror::Error)]
pub enum MetadataProblem {
    #[error(transparent)]
    Unreadable(#[from] MetadataError),

    #[error("its entity id is {found}, not saml-entity-id {expected}")]
    NotOurEntity { found: String, expected: String },

    #[error(
        "it carries none of the app's saml-certificates ({configured}); its certificates are {carried}. Is it this app's metadata? If Entra already signs with a new certificate, add its SHA-256 to saml-certificates first"
    )]
    NoConfiguredCertificate { configured: String, carried: String },

    #[error(
        "--drop-certificate {0} names a certificate the document carries: a provider cannot both keep and drop it"
    )]
    DropInDocument(Thumbprint),

    #[error("every certificate it carries has expired ({0}): nobody could sign in with it")]
    AllExpired(String),
}

/// Parses and checks the new metadata against the app.
pub fn check_metadata(xml: &str, rotation: &Rotation<'_>) -> Result<NewMetadata, MetadataProblem> {
    let metadata = metadata::parse(xml)?;
    if metadata.entity_id != rotation.entity_id {
        return Err(MetadataProblem::NotOurEntity {
            found: metadata.entity_id,
            expected: rotation.entity_id.to_owned(),
        });
    }
    let new = NewMetadata {
        xml: xml.to_owned(),
        metadata,
    };
    let list = |thumbprints: &mut dyn Iterator<Item = &Thumbprint>| {
        thumbprints
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !rotation.configured.iter().any(|t| new.carries(t)) {
        return Err(MetadataProblem::NoConfiguredCertificate {
            configured: list(&mut rotation.configured.iter()),
            carried: list(&mut new.thumbprints().iter()),
        });
    }
    if let Some(dropped) = rotation.drop.iter().find(|t| new.carries(t)) {
        return Err(MetadataProblem::DropInDocument(dropped.clone()));
    }
    if new
        .metadata
        .signing_certificates
        .iter()
        .all(|c| c.not_after <= rotation.now)
    {
        return Err(MetadataProblem::AllExpired(list(
            &mut new.thumbprints().iter(),
        )));
    }
    Ok(new)
}

/// What a rotation does to one provider of the app.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// It holds exactly the document's certificates: nothing to write.
    UpToDate,
    /// Written with the document: it gains `adds` and loses `drops`.
    Update {
        adds: Vec<Thumbprint>,
        drops: Vec<Dropped>,
    },
    /// The document lacks certificates it holds that are still valid (or of unknown expiry):
    /// writing it would take them away. Refuses the rotation.
    Refused { would_lose: Vec<Thumbprint> },
}

/// A certificate a provider loses, and why it may.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dropped {
    pub sha256: Thumbprint,
    /// Expired (else named by `--drop-certificate`).
    pub expired: bool,
}

/// The change the document makes to a provider holding `held`.
pub fn change_for(held: &[Certificate], new: &NewMetadata, rotation: &Rotation<'_>) -> Change {
    let held_set: BTreeSet<&Thumbprint> = held.iter().map(|c| &c.sha256).collect();
    let doc = new.thumbprints();
    let doc_set: BTreeSet<&Thumbprint> = doc.iter().collect();
    if held_set == doc_set {
        return Change::UpToDate;
    }
    let mut would_lose = Vec::new();
    let mut drops = Vec::new();
    for certificate in held.iter().filter(|c| !doc_set.contains(&c.sha256)) {
        let expired = certificate.not_after.is_some_and(|e| e <= rotation.now);
        if expired || rotation.drop.contains(&certificate.sha256) {
            drops.push(Dropped {
                sha256: certificate.sha256.clone(),
                expired,
            });
        } else {
            would_lose.push(certificate.sha256.clone());
        }
    }
    if !would_lose.is_empty() {
        return Change::Refused { would_lose };
    }
    Change::Update {
        adds: doc
            .iter()
            .filter(|t| !held_set.contains(t))
            .cloned()
            .collect(),
        drops,
    }
}

/// The rotation of every account of an inventory.
#[derive(Clone, Debug)]
pub struct RotationPlan {
    /// The app's providers, each with its change, in inventory order.
    pub providers: Vec<PlannedProvider>,
    /// Providers that are not the app's: never touched.
    pub left_alone: Vec<LeftAlone>,
    /// Accounts not read: nothing is known of their providers, nothing is written there.
    pub not_read: Vec<NotRead>,
}

/// One provider of the app and what the rotation does to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedProvider {
    pub account: AccountId,
    pub account_name: String,
    pub arn: SamlProviderArn,
    pub change: Change,
}

/// A provider that is not the app's, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeftAlone {
    pub account: AccountId,
    pub arn: SamlProviderArn,
    pub why: String,
}

/// An account that was not read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotRead {
    pub account: AccountId,
    pub account_name: String,
    pub reason: String,
}

impl RotationPlan {
    /// The providers to write.
    pub fn updates(&self) -> impl Iterator<Item = &PlannedProvider> {
        self.providers
            .iter()
            .filter(|p| matches!(p.change, Change::Update { .. }))
    }

    /// The providers whose change is refused: any refuses the whole rotation.
    pub fn refused(&self) -> impl Iterator<Item = &PlannedProvider> {
        self.providers
            .iter()
            .filter(|p| matches!(p.change, Change::Refused { .. }))
    }

    pub fn up_to_date(&self) -> usize {
        self.providers
            .iter()
            .filter(|p| p.change == Change::UpToDate)
            .count()
    }
}

/// The certificates that make a provider the app's: its configured ones and the document's.
fn app_certificates(new: &NewMetadata, rotation: &Rotation<'_>) -> BTreeSet<Thumbprint> {
    rotation
        .configured
        .iter()
        .cloned()
        .chain(new.thumbprints())
        .collect()
}

/// Why a provider is not the app's; none when it is.
fn not_the_apps(provider: &SamlProvider, app: &BTreeSet<Thumbprint>) -> Option<String> {
    match provider.verdict {
        ProviderVerdict::NotOurs => Some(format!("not ours: {}", provider.reason)),
        ProviderVerdict::CantTell => Some(format!("can't tell whose it is: {}", provider.reason)),
        ProviderVerdict::Ours | ProviderVerdict::UnknownCertificate => {
            match provider.certificates.iter().any(|c| app.contains(&c.sha256)) {
                true => None,
                false => Some(
                    "our entity id, but none of this app's certificates (another app of the tenant?)"
                        .to_owned(),
                ),
            }
        }
    }
}

/// The rotation of `inventory` to `new`.
pub fn plan(inventory: &Inventory, new: &NewMetadata, rotation: &Rotation<'_>) -> RotationPlan {
    let app = app_certificates(new, rotation);
    let mut plan = RotationPlan {
        providers: Vec::new(),
        left_alone: Vec::new(),
        not_read: Vec::new(),
    };
    for account in &inventory.accounts {
        let providers = match &account.outcome {
            AccountOutcome::Read { providers, .. } => providers,
            AccountOutcome::Failed { stage, reason } => {
                plan.not_read.push(NotRead {
                    account: account.id,
                    account_name: account.name.clone(),
                    reason: format!("could not be read at {stage}: {reason}"),
                });
                continue;
            }
            AccountOutcome::Skipped { reason, .. } => {
                plan.not_read.push(NotRead {
                    account: account.id,
                    account_name: account.name.clone(),
                    reason: format!("not read: {}", reason.describe()),
                });
                continue;
            }
        };
        for provider in providers {
            match not_the_apps(provider, &app) {
                Some(why) => plan.left_alone.push(LeftAlone {
                    account: account.id,
                    arn: provider.arn.clone(),
                    why,
                }),
                None => plan.providers.push(PlannedProvider {
                    account: account.id,
                    account_name: account.name.clone(),
                    arn: provider.arn.clone(),
                    change: change_for(&provider.certificates, new, rotation),
                }),
            }
        }
    }
    plan
}

/// The certificates of our entity in `xml` (as IAM holds it), if the provider is the app's;
/// else why not.
fn held_by_the_app(
    xml: &str,
    new: &NewMetadata,
    rotation: &Rotation<'_>,
) -> Result<Vec<Certificate>, String> {
    let app: Vec<Thumbprint> = app_certificates(new, rotation).into_iter().collect();
    let matched = metadata::classify(xml, rotation.entity_id, &app);
    if matched.verdict != ProviderVerdict::Ours {
        return Err(matched.reason);
    }
    Ok(matched
        .certificates
        .into_iter()
        .filter_map(|c| {
            Some(Certificate {
                sha256: c.sha256?,
                not_after: c.not_after,
            })
        })
        .collect())
}

/// The change to make, decided again on the metadata read just before the write; an error
/// (with why) when the provider is no longer the app's.
pub fn recheck(
    current: &str,
    new: &NewMetadata,
    rotation: &Rotation<'_>,
) -> Result<Change, String> {
    let held = held_by_the_app(current, new, rotation)
        .map_err(|why| format!("no longer this app's provider ({why})"))?;
    Ok(change_for(&held, new, rotation))
}

/// Whether the metadata read after the write carries exactly the document's certificates;
/// else what differs.
pub fn read_back(after: &str, new: &NewMetadata, rotation: &Rotation<'_>) -> Result<(), String> {
    let held = held_by_the_app(after, new, rotation)
        .map_err(|why| format!("reads back as not this app's provider ({why})"))?;
    let held: BTreeSet<Thumbprint> = held.into_iter().map(|c| c.sha256).collect();
    let doc: BTreeSet<Thumbprint> = new.thumbprints().into_iter().collect();
    if held == doc {
        return Ok(());
    }
    let names = |set: &BTreeSet<Thumbprint>| {
        set.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    Err(format!(
        "reads back with certificates {}, not the document's {}",
        names(&held),
        names(&doc)
    ))
}

/// The app's `saml-certificates` once the rotation is done: the configured ones and the
/// document's, less those dropped, in that order.
pub fn certificates_after(new: &NewMetadata, rotation: &Rotation<'_>) -> Vec<Thumbprint> {
    let mut after: Vec<Thumbprint> = Vec::new();
    for thumbprint in rotation.configured.iter().cloned().chain(new.thumbprints()) {
        if !rotation.drop.contains(&thumbprint) && !after.contains(&thumbprint) {
            after.push(thumbprint);
        }
    }
    after
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::model::{AccountInventory, FailureStage, Listing};

    /// One signing certificate (the app's current one, until 2036).
    const ENTRA: &str = include_str!("../tests/fixtures/metadata/entra.xml");
    /// The current certificate and the next one (until 2029).
    const ROTATION: &str = include_str!("../tests/fixtures/metadata/rotation.xml");
    const KEYCLOAK: &str = include_str!("../tests/fixtures/metadata/keycloak.xml");
    const ENTITY: &str = "https://sts.windows.net/3f1c6a52-8d0b-4c7e-9a21-5e6b7d8c9f10/";
    const NOW: OffsetDateTime = datetime!(2026-12-03 12:00 UTC);

    fn tp(s: &str) -> Thumbprint {
        s.parse().unwrap()
    }
    fn current() -> Thumbprint {
        tp(
            "9C:F7:39:01:B6:AB:47:10:D8:44:86:F6:6A:85:B0:BD:3F:82:63:26:F3:68:4D:3D:59:E0:DD:B2:48:B6:89:67",
        )
    }
    fn next() -> Thumbprint {
        tp(
            "3E:0C:51:E0:1C:68:26:4A:39:18:52:80:19:74:7F:34:BD:ED:B6:A6:62:AB:D2:EE:35:A2:04:89:6B:65:2B:60",
        )
    }
    /// A certificate of another app (`role-descriptor.pem`).
    fn other() -> Thumbprint {
        tp(
            "5B:10:D7:5D:3C:B7:A4:9F:88:62:4E:73:2C:57:3B:E1:92:B9:1E:AE:33:36:26:94:C7:5F:1B:C6:E1:C2:A0:38",
        )
    }

    fn rotation<'a>(configured: &'a [Thumbprint], drop: &'a [Thumbprint]) -> Rotation<'a> {
        Rotation {
            entity_id: ENTITY,
            configured,
            drop,
            now: NOW,
        }
    }

    fn held(certificates: &[(Thumbprint, i64)]) -> Vec<Certificate> {
        certificates
            .iter()
            .map(|(sha256, days)| Certificate {
                sha256: sha256.clone(),
                not_after: Some(NOW + time::Duration::days(*days)),
            })
            .collect()
    }

    #[test]
    fn the_new_metadata_must_be_this_apps_and_name_our_entity() {
        let configured = [current()];
        let new = check_metadata(ROTATION, &rotation(&configured, &[])).unwrap();
        assert_eq!(new.thumbprints(), [current(), next()]);
        assert_eq!(new.xml, ROTATION, "written as given");

        let wrong = check_metadata(KEYCLOAK, &rotation(&configured, &[])).unwrap_err();
        assert!(matches!(wrong, MetadataProblem::Unreadable(_)), "{wrong}");
        let elsewhere = ENTRA.replace(ENTITY, "https://sts.windows.net/another-tenant/");
        let wrong = check_metadata(&elsewhere, &rotation(&configured, &[])).unwrap_err();
        assert_eq!(
            wrong.to_string(),
            format!(
                "its entity id is https://sts.windows.net/another-tenant/, not saml-entity-id {ENTITY}"
            )
        );
        // Another app of the tenant: our entity id, none of the app's certificates.
        let another_app = [other()];
        let wrong = check_metadata(ROTATION, &rotation(&another_app, &[])).unwrap_err();
        assert!(
            wrong.to_string().starts_with(&format!(
                "it carries none of the app's saml-certificates ({}); its certificates are {}, {}",
                other(),
                current(),
                next()
            )),
            "{wrong}"
        );
        let both = [current()];
        let wrong = check_metadata(ROTATION, &rotation(&both, &[next()])).unwrap_err();
        assert!(matches!(wrong, MetadataProblem::DropInDocument(t) if t == next()));
        let late = Rotation {
            now: datetime!(2037-01-01 0:00 UTC),
            ..rotation(&configured, &[])
        };
        assert!(matches!(
            check_metadata(ROTATION, &late).unwrap_err(),
            MetadataProblem::AllExpired(_)
        ));
        assert!(matches!(
            check_metadata("<nope", &rotation(&configured, &[])).unwrap_err(),
            MetadataProblem::Unreadable(_)
        ));
    }

    #[test]
    fn a_provider_never_loses_a_valid_certificate_unless_told_to() {
        let configured = [current()];
        let r = rotation(&configured, &[]);
        let new = check_metadata(ROTATION, &r).unwrap();
        // Old only: gains the next one.
        assert_eq!(
            change_for(&held(&[(current(), 3000)]), &new, &r),
            Change::Update {
                adds: vec![next()],
                drops: vec![]
            }
        );
        // Both, in any order: up to date.
        assert_eq!(
            change_for(&held(&[(next(), 1000), (current(), 3000)]), &new, &r),
            Change::UpToDate
        );
        // A valid certificate the document lacks: refused...
        let with_other = held(&[(current(), 3000), (other(), 10)]);
        assert_eq!(
            change_for(&with_other, &new, &r),
            Change::Refused {
                would_lose: vec![other()]
            }
        );
        // ...unless --drop-certificate names it.
        let drop = [other()];
        assert_eq!(
            change_for(&with_other, &new, &rotation(&configured, &drop)),
            Change::Update {
                adds: vec![next()],
                drops: vec![Dropped {
                    sha256: other(),
                    expired: false
                }]
            }
        );
        // An expired one may go; one of unknown expiry may not.
        let expired = held(&[(current(), 3000), (other(), -1)]);
        assert_eq!(
            change_for(&expired, &new, &r),
            Change::Update {
                adds: vec![next()],
                drops: vec![Dropped {
                    sha256: other(),
                    expired: true
                }]
            }
        );
        let unknown = vec![
            held(&[(current(), 3000)]).remove(0),
            Certificate {
                sha256: other(),
                not_after: None,
            },
        ];
        assert!(matches!(
            change_for(&unknown, &new, &r),
            Change::Refused { .. }
        ));
    }

    fn provider(
        account: &str,
        verdict: ProviderVerdict,
        certs: &[(Thumbprint, i64)],
    ) -> SamlProvider {
        SamlProvider {
            arn: format!("arn:aws:iam::{account}:saml-provider/AzureAD")
                .parse()
                .unwrap(),
            verdict,
            reason: "why".into(),
            certificates: held(certs),
        }
    }

    fn account(id: &str, outcome: AccountOutcome) -> AccountInventory {
        AccountInventory {
            id: id.parse().unwrap(),
            name: format!("acct-{id}"),
            outcome,
        }
    }

    fn read(id: &str, providers: Vec<SamlProvider>) -> AccountInventory {
        account(
            id,
            AccountOutcome::Read {
                providers,
                roles: Vec::new(),
            },
        )
    }

    #[test]
    fn the_plan_touches_the_apps_providers_only() {
        use ProviderVerdict::*;
        let inventory = Inventory::new(
            Listing::Organization,
            vec![
                read(
                    "111111111111",
                    vec![provider("111111111111", Ours, &[(current(), 3000)])],
                ),
                read(
                    "222222222222",
                    vec![provider(
                        "222222222222",
                        Ours,
                        &[(current(), 3000), (next(), 1000)],
                    )],
                ),
                // Someone put the next certificate alone there: still the app's.
                read(
                    "333333333333",
                    vec![provider(
                        "333333333333",
                        UnknownCertificate,
                        &[(next(), 1000)],
                    )],
                ),
                read(
                    "444444444444",
                    vec![
                        provider("444444444444", NotOurs, &[]),
                        provider("444444444444", UnknownCertificate, &[(other(), 1000)]),
                        provider("444444444444", CantTell, &[]),
                    ],
                ),
                account(
                    "555555555555",
                    AccountOutcome::Failed {
                        stage: FailureStage::AssumeRole,
                        reason: "AccessDenied".into(),
                    },
                ),
            ],
        );
        let configured = [current()];
        let r = rotation(&configured, &[]);
        let new = check_metadata(ROTATION, &r).unwrap();
        let plan = plan(&inventory, &new, &r);
        let changes: Vec<(String, &Change)> = plan
            .providers
            .iter()
            .map(|p| (p.arn.to_string(), &p.change))
            .collect();
        assert_eq!(
            changes,
            [
                (
                    "arn:aws:iam::111111111111:saml-provider/AzureAD".to_owned(),
                    &Change::Update {
                        adds: vec![next()],
                        drops: vec![]
                    }
                ),
                (
                    "arn:aws:iam::222222222222:saml-provider/AzureAD".to_owned(),
                    &Change::UpToDate
                ),
                (
                    "arn:aws:iam::333333333333:saml-provider/AzureAD".to_owned(),
                    &Change::Update {
                        adds: vec![current()],
                        drops: vec![]
                    }
                ),
            ]
        );
        assert_eq!(plan.updates().count(), 2);
        assert_eq!(plan.up_to_date(), 1);
        assert_eq!(plan.refused().count(), 0);
        let why: Vec<&str> = plan.left_alone.iter().map(|l| l.why.as_str()).collect();
        assert_eq!(
            why,
            [
                "not ours: why",
                "our entity id, but none of this app's certificates (another app of the tenant?)",
                "can't tell whose it is: why"
            ]
        );
        assert_eq!(plan.not_read.len(), 1);
        assert!(plan.not_read[0].reason.contains("AccessDenied"));
    }

    #[test]
    fn each_write_is_decided_again_on_fresh_metadata_and_read_back() {
        let configured = [current()];
        let r = rotation(&configured, &[]);
        let new = check_metadata(ROTATION, &r).unwrap();
        assert_eq!(
            recheck(ENTRA, &new, &r),
            Ok(Change::Update {
                adds: vec![next()],
                drops: vec![]
            })
        );
        assert_eq!(recheck(ROTATION, &new, &r), Ok(Change::UpToDate));
        let foreign = recheck(KEYCLOAK, &new, &r).unwrap_err();
        assert!(
            foreign.starts_with("no longer this app's provider (entity id"),
            "{foreign}"
        );

        assert_eq!(read_back(ROTATION, &new, &r), Ok(()));
        let short = read_back(ENTRA, &new, &r).unwrap_err();
        assert_eq!(
            short,
            format!(
                "reads back with certificates {}, not the document's {}, {}",
                current(),
                next(),
                current()
            )
        );
    }

    #[test]
    fn the_certificates_to_configure_after_are_the_configured_and_the_documents_less_the_dropped() {
        let configured = [other(), current()];
        let drop = [other()];
        let r = rotation(&configured, &drop);
        let new = check_metadata(ROTATION, &r).unwrap();
        assert_eq!(certificates_after(&new, &r), [current(), next()]);
    }
}
