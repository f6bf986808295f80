//! metadata: Entra ID SAML federation metadata XML -> [`FederationMetadata`]: the entity id,
//! the identity provider's signing certificates (DER, SHA-256 and SHA-1 thumbprints, expiry) and
//! its single sign-on endpoints.
//!
//! Owns reading the document Entra publishes for an enterprise app ([`parse`], strict: what
//! `setup` reads from the admin) and deciding whether a SAML provider IAM holds belongs to that
//! app ([`classify`], lenient: any identity provider's metadata, an `EntitiesDescriptor` root
//! too, answered ours / ours by entity id with an unknown certificate / not ours / can't tell,
//! never an error). Every tenant shares one entity id, so the certificate is what tells apps
//! apart.
//!
//! Elements are matched by namespace URI and local name, never by prefix. Only certificates at
//! `IDPSSODescriptor/KeyDescriptor/KeyInfo/X509Data/X509Certificate` count, where the
//! `KeyDescriptor` has `use="signing"` or no `use`: the certificate in the document's own
//! `Signature` and those in the WS-Federation `RoleDescriptor`s are not the SAML signing keys.
//!
//! Pure: no I/O, no clock, no async. It never verifies the document's XML signature (callers must
//! not treat a parsed document as authentic), never expands DTD entities, and never panics,
//! whatever the input.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_PAD_INDIFFERENT;
use quick_xml::NsReader;
use quick_xml::XmlVersion;
use quick_xml::errors::IllFormedError;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{Namespace, ResolveResult};
use time::OffsetDateTime;
use x509_parser::error::X509Error;

use crate::model::ProviderVerdict;
pub use crate::model::Thumbprint;

/// Namespace of SAML 2.0 metadata (`EntityDescriptor`, `IDPSSODescriptor`, `KeyDescriptor`, …).
pub const SAML_METADATA_NS: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
/// Namespace of XML-DSig (`Signature`, `KeyInfo`, `X509Data`, `X509Certificate`).
pub const XMLDSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";

/// What fedsync needs from one identity provider's federation metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FederationMetadata {
    /// `EntityDescriptor@entityID`; for Entra `https://sts.windows.net/{tenant}/`.
    pub entity_id: String,
    /// Distinct signing certificates of the `IDPSSODescriptor`, in document order; never empty.
    pub signing_certificates: Vec<SigningCertificate>,
    /// `IDPSSODescriptor/SingleSignOnService` endpoints, in document order; may be empty.
    pub sso_services: Vec<SsoService>,
}

impl FederationMetadata {
    /// True when the entity id is `entity_id` exactly and at least one signing certificate has
    /// a SHA-256 thumbprint in `sha256_thumbprints`.
    ///
    /// Several thumbprints are allowed so that a certificate rotation in progress (old and new
    /// certificate) still matches. A SHA-1 thumbprint in the list never matches.
    pub fn matches(&self, entity_id: &str, sha256_thumbprints: &[Thumbprint]) -> bool {
        self.entity_id == entity_id
            && self
                .signing_certificates
                .iter()
                .any(|cert| sha256_thumbprints.contains(&cert.sha256))
    }
}

/// One X.509 signing certificate of the identity provider.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningCertificate {
    /// SHA-256 over the DER bytes (what `openssl x509 -fingerprint -sha256` prints).
    pub sha256: Thumbprint,
    /// SHA-1 over the DER bytes (the "thumbprint" the Entra portal shows).
    pub sha1: Thumbprint,
    /// End of the validity period (`notAfter`).
    pub not_after: OffsetDateTime,
    /// The certificate, DER-encoded.
    pub der: Vec<u8>,
}

impl fmt::Debug for SigningCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningCertificate")
            .field("sha256", &self.sha256)
            .field("sha1", &self.sha1)
            .field("not_after", &self.not_after)
            .field("der", &format_args!("<{} bytes>", self.der.len()))
            .finish()
    }
}

/// A `SingleSignOnService` endpoint: SAML binding URI and URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SsoService {
    pub binding: String,
    pub location: String,
}

/// Why federation metadata was rejected. Certificate indexes count from 1, in document order,
/// over the `X509Certificate`s of the `IDPSSODescriptor`'s signing `KeyDescriptor`s (so #1 is
/// the first signing certificate, whatever sits under `Signature` or `RoleDescriptor`).
#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    #[error("federation metadata is not well-formed XML at byte {position}")]
    MalformedXml {
        position: u64,
        #[source]
        source: quick_xml::Error,
    },

    #[error(
        "federation metadata has no EntityDescriptor root element (namespace {SAML_METADATA_NS}); found {found}"
    )]
    NoEntityDescriptor { found: String },

    #[error(
        "federation metadata has a second root element <{element}> at byte {position} after EntityDescriptor"
    )]
    TrailingElement { element: String, position: u64 },

    #[error("no entityID attribute on EntityDescriptor, or it is empty")]
    NoEntityId,

    #[error(
        "no IDPSSODescriptor in EntityDescriptor {entity_id}; is this identity provider metadata?"
    )]
    NoIdpSsoDescriptor { entity_id: String },

    #[error(
        "no signing certificate in IDPSSODescriptor of {entity_id}: expected KeyDescriptor (use=\"signing\" or no use) with KeyInfo/X509Data/X509Certificate"
    )]
    NoSigningCertificate { entity_id: String },

    #[error("signing certificate #{index} (IDPSSODescriptor X509Certificate) is not base64")]
    CertificateNotBase64 {
        index: usize,
        #[source]
        source: base64::DecodeError,
    },

    #[error(
        "signing certificate #{index} (IDPSSODescriptor X509Certificate) is not a valid X.509 DER certificate"
    )]
    CertificateNotX509 {
        index: usize,
        #[source]
        source: X509Error,
    },

    #[error(
        "signing certificate #{index} (IDPSSODescriptor X509Certificate) has {extra} bytes after the end of its DER encoding"
    )]
    CertificateTrailingData { index: usize, extra: usize },

    #[error("no {attribute} attribute on SingleSignOnService #{index} in IDPSSODescriptor")]
    SsoServiceIncomplete {
        index: usize,
        attribute: &'static str,
    },
}

/// Parses Entra ID (or any SAML 2.0 IdP) federation metadata: one `EntityDescriptor` root, as
/// Entra publishes it. A leading byte order mark is accepted; the XML signature is not checked.
pub fn parse(xml: &str) -> Result<FederationMetadata, MetadataError> {
    let xml = xml.strip_prefix('\u{feff}').unwrap_or(xml);
    let scan = Scan::run(xml, false)?;
    let entity = scan.entities.into_iter().next();
    let Some(EntityScan {
        entity_id: Some(entity_id),
        saw_idp_sso,
        certificate_texts,
        sso_services,
    }) = entity
    else {
        return Err(MetadataError::NoEntityDescriptor {
            found: "no element".to_owned(),
        });
    };
    if !saw_idp_sso {
        return Err(MetadataError::NoIdpSsoDescriptor { entity_id });
    }

    let mut signing_certificates: Vec<SigningCertificate> = Vec::new();
    for (i, text) in certificate_texts.iter().enumerate() {
        let cert = certificate(i + 1, text)?;
        if !signing_certificates.iter().any(|c| c.der == cert.der) {
            signing_certificates.push(cert);
        }
    }
    if signing_certificates.is_empty() {
        return Err(MetadataError::NoSigningCertificate { entity_id });
    }

    Ok(FederationMetadata {
        entity_id,
        signing_certificates,
        sso_services,
    })
}

/// Whether a SAML provider's metadata is our Entra app's, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderMatch {
    pub verdict: ProviderVerdict,
    /// The entity ids the document holds (one per `EntityDescriptor`), as far as it was read.
    pub entity_ids: Vec<String>,
    /// The signing certificates of the entity with our entity id (none when it is not ours).
    pub certificates: Vec<CertificateSeen>,
    /// One line: why.
    pub reason: String,
}

/// One signing certificate of a provider with our entity id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateSeen {
    /// SHA-256 of the decoded bytes; none when the text is not base64.
    pub sha256: Option<Thumbprint>,
    /// `notAfter`, when the bytes are an X.509 certificate.
    pub not_after: Option<OffsetDateTime>,
    /// In `saml-certificates`.
    pub ours: bool,
    /// Why the bytes are not a certificate, when they are not.
    pub problem: Option<String>,
}

/// Decides whether a SAML provider belongs to our Entra app, from the metadata IAM holds for it.
///
/// - An entity id that is not `entity_id` (the `EntityDescriptor` root's, or every one inside
///   an `EntitiesDescriptor`): **not ours**, decided as soon as the root is read; the
///   certificates of a foreign provider are never parsed, so nothing in them can fail anything.
/// - Our entity id and a signing certificate whose SHA-256 is in `ours`: **ours**.
/// - Our entity id, certificates that parse, none of them ours: **ours by entity id, unknown
///   certificate** (another app of the tenant, or a rotation half done).
/// - Our entity id and no certificate that parses, or a document that cannot be read: **can't
///   tell**.
pub fn classify(xml: &str, entity_id: &str, ours: &[Thumbprint]) -> ProviderMatch {
    let xml = xml.strip_prefix('\u{feff}').unwrap_or(xml);
    let (scan, result) = match Scan::run(xml, true) {
        Ok(scan) => (scan, Ok(())),
        Err(failed) => (failed.scan, Err(failed.error)),
    };
    let entity_ids: Vec<String> = scan
        .entities
        .iter()
        .filter_map(|e| e.entity_id.clone())
        .collect();
    let not_ours = |entity_ids: Vec<String>| ProviderMatch {
        verdict: ProviderVerdict::NotOurs,
        reason: format!(
            "entity id {} is not ours ({entity_id})",
            entity_ids.join(", ")
        ),
        entity_ids,
        certificates: Vec::new(),
    };
    let cant_tell = |entity_ids: Vec<String>, certificates, reason| ProviderMatch {
        verdict: ProviderVerdict::CantTell,
        entity_ids,
        certificates,
        reason,
    };
    // One EntityDescriptor root: its entity id decides, whatever follows.
    if !scan.grouped
        && let Some(first) = entity_ids.first()
        && first != entity_id
    {
        return not_ours(entity_ids);
    }
    if let Err(error) = result {
        // quick-xml quotes the document in its errors: keep the reason on one line.
        let cause = crate::error_text::chain(&error);
        let reason = format!(
            "its metadata cannot be read: {}",
            cause.split_whitespace().collect::<Vec<_>>().join(" ")
        );
        return cant_tell(entity_ids, Vec::new(), reason);
    }
    let mine: Vec<&EntityScan> = scan
        .entities
        .iter()
        .filter(|e| e.entity_id.as_deref() == Some(entity_id))
        .collect();
    if mine.is_empty() {
        if entity_ids.is_empty() {
            return cant_tell(
                entity_ids,
                Vec::new(),
                "its metadata holds no EntityDescriptor".to_owned(),
            );
        }
        return not_ours(entity_ids);
    }
    if !mine.iter().any(|e| e.saw_idp_sso) {
        return cant_tell(
            entity_ids,
            Vec::new(),
            format!("entity id {entity_id} is ours, but its metadata has no IDPSSODescriptor"),
        );
    }
    let mut certificates: Vec<CertificateSeen> = Vec::new();
    for text in mine.iter().flat_map(|e| &e.certificate_texts) {
        let seen = certificate_seen(text, ours);
        if !certificates.contains(&seen) {
            certificates.push(seen);
        }
    }
    let described = describe_certificates(&certificates);
    if let Some(cert) = certificates.iter().find(|c| c.ours) {
        let sha256 = cert.sha256.as_ref().map(ToString::to_string);
        return ProviderMatch {
            verdict: ProviderVerdict::Ours,
            reason: format!(
                "entity id {entity_id} and signing certificate {} are ours",
                sha256.unwrap_or_default()
            ),
            entity_ids,
            certificates,
        };
    }
    if certificates.iter().any(|c| c.problem.is_none()) {
        return ProviderMatch {
            verdict: ProviderVerdict::UnknownCertificate,
            reason: format!(
                "entity id {entity_id} is ours, but no signing certificate is in saml-certificates ({described}); add it to saml-certificates if this is a rotation"
            ),
            entity_ids,
            certificates,
        };
    }
    let reason = if certificates.is_empty() {
        format!("entity id {entity_id} is ours, but its metadata has no signing certificate")
    } else {
        format!("entity id {entity_id} is ours, but no signing certificate parses ({described})")
    };
    cant_tell(entity_ids, certificates, reason)
}

/// One certificate text as seen: its digest, expiry, and whether it is ours.
fn certificate_seen(text: &str, ours: &[Thumbprint]) -> CertificateSeen {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let der = match STANDARD_PAD_INDIFFERENT.decode(compact.as_bytes()) {
        Ok(der) => der,
        Err(e) => {
            return CertificateSeen {
                sha256: None,
                not_after: None,
                ours: false,
                problem: Some(format!("not base64: {e}")),
            };
        }
    };
    // The digest names the certificate even when the parser below does not take it.
    let sha256 = Thumbprint::sha256_of(&der);
    let (not_after, problem) = match x509_parser::parse_x509_certificate(&der) {
        Ok((rest, _)) if !rest.is_empty() => (
            None,
            Some(format!("{} bytes after the certificate", rest.len())),
        ),
        Ok((_, cert)) => (Some(cert.validity().not_after.to_datetime()), None),
        Err(e) => (
            None,
            Some(format!("not an X.509 certificate: {}", X509Error::from(e))),
        ),
    };
    CertificateSeen {
        ours: ours.contains(&sha256),
        sha256: Some(sha256),
        not_after,
        problem,
    }
}

/// `sha256 (expires 2029-11-27), …`, for a reason line.
fn describe_certificates(certificates: &[CertificateSeen]) -> String {
    let parts: Vec<String> = certificates
        .iter()
        .map(|c| {
            let name = c
                .sha256
                .as_ref()
                .map_or_else(|| "a certificate".to_owned(), ToString::to_string);
            match (&c.not_after, &c.problem) {
                (Some(not_after), _) => format!("{name}, expires {}", not_after.date()),
                (None, Some(problem)) => format!("{name}: {problem}"),
                (None, None) => name,
            }
        })
        .collect();
    parts.join("; ")
}

/// Decodes one certificate's base64 text (any whitespace) and reads its DER.
fn certificate(index: usize, text: &str) -> Result<SigningCertificate, MetadataError> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let der = STANDARD_PAD_INDIFFERENT
        .decode(compact.as_bytes())
        .map_err(|source| MetadataError::CertificateNotBase64 { index, source })?;
    let not_after = match x509_parser::parse_x509_certificate(&der) {
        Ok((rest, _)) if !rest.is_empty() => {
            return Err(MetadataError::CertificateTrailingData {
                index,
                extra: rest.len(),
            });
        }
        Ok((_, cert)) => cert.validity().not_after.to_datetime(),
        Err(e) => {
            return Err(MetadataError::CertificateNotX509 {
                index,
                source: X509Error::from(e),
            });
        }
    };
    Ok(SigningCertificate {
        sha256: Thumbprint::sha256_of(&der),
        sha1: Thumbprint::sha1_of(&der),
        not_after,
        der,
    })
}

/// Where an open element sits, as far as this module cares. Anything outside the one path to
/// the signing certificates is `Ignored`, and so is everything below it: that is what keeps
/// `Signature` and `RoleDescriptor` certificates out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Node {
    /// `EntitiesDescriptor` (only when grouping is allowed), at the root or inside another.
    Entities,
    EntityDescriptor,
    IdpSso,
    SigningKey,
    KeyInfo,
    X509Data,
    Certificate,
    Ignored,
}

struct Open {
    node: Node,
    /// The qualified name as written, to report an element left open at the end.
    name: String,
}

/// What one `EntityDescriptor` holds.
#[derive(Default)]
struct EntityScan {
    entity_id: Option<String>,
    saw_idp_sso: bool,
    certificate_texts: Vec<String>,
    sso_services: Vec<SsoService>,
}

/// One pass over the document, collecting raw pieces; certificates are decoded afterwards so
/// that an XML error anywhere wins over a certificate error.
#[derive(Default)]
struct Scan {
    /// An `EntitiesDescriptor` root may group several entities (SAML metadata §2.3.1), and an
    /// incomplete `SingleSignOnService` is passed over: how [`classify`] reads a provider.
    lenient: bool,
    /// The root is an `EntitiesDescriptor`.
    grouped: bool,
    entities: Vec<EntityScan>,
    root_closed: bool,
}

/// A scan that stopped at an error, with what it had read by then.
struct Failed {
    scan: Scan,
    error: MetadataError,
}

impl From<Failed> for MetadataError {
    fn from(failed: Failed) -> MetadataError {
        failed.error
    }
}

impl Scan {
    fn run(xml: &str, lenient: bool) -> Result<Scan, Failed> {
        let mut scan = Scan {
            lenient,
            ..Scan::default()
        };
        match scan.read(xml) {
            Ok(()) => Ok(scan),
            Err(error) => Err(Failed { scan, error }),
        }
    }

    fn read(&mut self, xml: &str) -> Result<(), MetadataError> {
        let mut reader = NsReader::from_str(xml);
        let mut stack: Vec<Open> = Vec::new();
        loop {
            let event = reader
                .read_event()
                .map_err(|source| MetadataError::MalformedXml {
                    position: reader.error_position(),
                    source,
                })?;
            let in_certificate = stack.last().is_some_and(|o| o.node == Node::Certificate);
            match event {
                Event::Start(e) => {
                    let node = self.open(&reader, &e, &stack)?;
                    self.entered(node);
                    stack.push(Open {
                        node,
                        name: e.name().as_ref().to_owned(),
                    });
                }
                Event::Empty(e) => {
                    let node = self.open(&reader, &e, &stack)?;
                    self.entered(node);
                    if stack.is_empty() {
                        self.root_closed = true;
                    }
                }
                Event::End(_) => {
                    // quick-xml has already checked that the end tag matches the start tag.
                    stack.pop();
                    self.root_closed |= stack.is_empty();
                }
                Event::Text(t) if in_certificate => self.push_text(&t.xml10_content()),
                Event::CData(c) if in_certificate => self.push_text(&c.into_inner()),
                Event::GeneralRef(r) if in_certificate => {
                    let resolved =
                        r.resolve_char_ref()
                            .map_err(|source| MetadataError::MalformedXml {
                                position: reader.buffer_position(),
                                source,
                            })?;
                    match resolved {
                        Some(c) => self.push_text(c.encode_utf8(&mut [0; 4])),
                        None => match resolve_predefined_entity(&r) {
                            Some(s) => self.push_text(s),
                            // Not base64 either way; keep it so the base64 error shows up.
                            None => self.push_text(&format!("&{};", &*r)),
                        },
                    }
                }
                Event::Eof => {
                    if let Some(open) = stack.pop() {
                        return Err(MetadataError::MalformedXml {
                            position: reader.buffer_position(),
                            source: IllFormedError::MissingEndTag(open.name).into(),
                        });
                    }
                    return Ok(());
                }
                _ => {}
            }
        }
    }

    /// Records an element that starts a certificate.
    fn entered(&mut self, node: Node) {
        if node == Node::Certificate
            && let Some(entity) = self.entities.last_mut()
        {
            entity.certificate_texts.push(String::new());
        }
    }

    fn push_text(&mut self, text: &str) {
        if let Some(current) = self
            .entities
            .last_mut()
            .and_then(|e| e.certificate_texts.last_mut())
        {
            current.push_str(text);
        }
    }

    /// Classifies a start (or empty) element and records what it carries.
    fn open(
        &mut self,
        reader: &NsReader<&[u8]>,
        e: &BytesStart<'_>,
        stack: &[Open],
    ) -> Result<Node, MetadataError> {
        // quick-xml reads attributes lazily; check them all (duplicates included) so that a
        // second `entityID` or `use` cannot slip past the one this module reads.
        for attr in e.attributes() {
            attr.map_err(|source| MetadataError::MalformedXml {
                position: reader.buffer_position(),
                source: source.into(),
            })?;
        }
        let (ns, local) = reader.resolver().resolve_element(e.name());
        let ns = match ns {
            ResolveResult::Bound(Namespace(uri)) => Some(uri),
            ResolveResult::Unbound | ResolveResult::Unknown(_) => None,
        };
        let md = |name: &str| ns == Some(SAML_METADATA_NS) && local.as_ref() == name;
        let ds = |name: &str| ns == Some(XMLDSIG_NS) && local.as_ref() == name;

        let Some(parent) = stack.last() else {
            return self.open_root(
                reader,
                e,
                ns,
                md("EntityDescriptor"),
                md("EntitiesDescriptor"),
            );
        };
        let node = match parent.node {
            Node::Entities if md("EntitiesDescriptor") => Node::Entities,
            Node::Entities if md("EntityDescriptor") => self.open_entity(reader, e)?,
            Node::EntityDescriptor if md("IDPSSODescriptor") => {
                if let Some(entity) = self.entities.last_mut() {
                    entity.saw_idp_sso = true;
                }
                Node::IdpSso
            }
            Node::IdpSso if md("KeyDescriptor") => match attribute(reader, e, "use")? {
                None => Node::SigningKey,
                Some(usage) if usage.trim() == "signing" => Node::SigningKey,
                Some(_) => Node::Ignored,
            },
            Node::IdpSso if md("SingleSignOnService") => {
                self.sso_service(reader, e)?;
                Node::Ignored
            }
            Node::SigningKey if ds("KeyInfo") => Node::KeyInfo,
            Node::KeyInfo if ds("X509Data") => Node::X509Data,
            Node::X509Data if ds("X509Certificate") => Node::Certificate,
            _ => Node::Ignored,
        };
        Ok(node)
    }

    fn sso_service(
        &mut self,
        reader: &NsReader<&[u8]>,
        e: &BytesStart<'_>,
    ) -> Result<(), MetadataError> {
        let Some(entity) = self.entities.last_mut() else {
            return Ok(());
        };
        let index = entity.sso_services.len() + 1;
        let missing = |attribute| MetadataError::SsoServiceIncomplete { index, attribute };
        let binding = attribute(reader, e, "Binding")?;
        let location = attribute(reader, e, "Location")?;
        match (binding, location) {
            (Some(binding), Some(location)) => {
                entity.sso_services.push(SsoService { binding, location });
                Ok(())
            }
            _ if self.lenient => Ok(()),
            (None, _) => Err(missing("Binding")),
            (Some(_), None) => Err(missing("Location")),
        }
    }

    fn open_root(
        &mut self,
        reader: &NsReader<&[u8]>,
        e: &BytesStart<'_>,
        ns: Option<&str>,
        is_entity_descriptor: bool,
        is_entities_descriptor: bool,
    ) -> Result<Node, MetadataError> {
        let name = e.name().as_ref().to_owned();
        if self.root_closed {
            return Err(MetadataError::TrailingElement {
                element: name,
                position: reader.buffer_position(),
            });
        }
        if is_entities_descriptor && self.lenient {
            self.grouped = true;
            return Ok(Node::Entities);
        }
        if !is_entity_descriptor {
            let found = match ns {
                Some(uri) => format!("<{name}> in namespace {uri}"),
                None => format!("<{name}> in no (or an undeclared) namespace"),
            };
            return Err(MetadataError::NoEntityDescriptor { found });
        }
        self.open_entity(reader, e)
    }

    /// An `EntityDescriptor`: a new entity, which must have an `entityID`.
    fn open_entity(
        &mut self,
        reader: &NsReader<&[u8]>,
        e: &BytesStart<'_>,
    ) -> Result<Node, MetadataError> {
        match attribute(reader, e, "entityID")? {
            Some(id) if !id.is_empty() => {
                self.entities.push(EntityScan {
                    entity_id: Some(id),
                    ..EntityScan::default()
                });
                Ok(Node::EntityDescriptor)
            }
            _ => Err(MetadataError::NoEntityId),
        }
    }
}

/// The value of the unqualified attribute `name` of `e`, if present. [`Scan::open`] has
/// already checked the attributes are well-formed and distinct.
fn attribute(
    reader: &NsReader<&[u8]>,
    e: &BytesStart<'_>,
    name: &str,
) -> Result<Option<String>, MetadataError> {
    let malformed = |source: quick_xml::Error| MetadataError::MalformedXml {
        position: reader.buffer_position(),
        source,
    };
    for attr in e.attributes() {
        let attr = attr.map_err(|e| malformed(e.into()))?;
        let (ns, local) = reader.resolver().resolve_attribute(attr.key);
        if ns == ResolveResult::Unbound && local.as_ref() == name {
            let value = attr
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(malformed)?;
            return Ok(Some(value.into_owned()));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    use proptest::prelude::*;
    use time::format_description::well_known::Rfc3339;

    const ENTRA: &str = include_str!("../tests/fixtures/metadata/entra.xml");
    const PREFIXED: &str = include_str!("../tests/fixtures/metadata/prefixed.xml");
    const ROTATION: &str = include_str!("../tests/fixtures/metadata/rotation.xml");
    const IDP_PEM: &str = include_str!("../tests/fixtures/metadata/idp-signing.pem");
    const NEXT_PEM: &str = include_str!("../tests/fixtures/metadata/idp-signing-next.pem");
    const SIGNATURE_PEM: &str = include_str!("../tests/fixtures/metadata/metadata-signature.pem");
    const ROLE_PEM: &str = include_str!("../tests/fixtures/metadata/role-descriptor.pem");

    const TENANT_ENTITY_ID: &str = "https://sts.windows.net/3f1c6a52-8d0b-4c7e-9a21-5e6b7d8c9f10/";
    const SAML2_URL: &str =
        "https://login.microsoftonline.com/3f1c6a52-8d0b-4c7e-9a21-5e6b7d8c9f10/saml2";

    // Printed by `openssl x509 -noout -fingerprint -sha256 | -sha1 | -enddate` for each PEM.
    const IDP_SHA256: &str = "9C:F7:39:01:B6:AB:47:10:D8:44:86:F6:6A:85:B0:BD:3F:82:63:26:F3:68:4D:3D:59:E0:DD:B2:48:B6:89:67";
    const IDP_SHA1: &str = "AE:62:36:7B:06:DA:9C:74:37:21:7D:E7:28:8D:32:84:67:AE:00:2C";
    const IDP_NOT_AFTER: &str = "2036-11-25T09:39:26Z"; // notAfter=Nov 25 09:39:26 2036 GMT
    const NEXT_SHA256: &str = "3E:0C:51:E0:1C:68:26:4A:39:18:52:80:19:74:7F:34:BD:ED:B6:A6:62:AB:D2:EE:35:A2:04:89:6B:65:2B:60";
    const NEXT_SHA1: &str = "19:61:E2:A2:47:E9:38:48:8A:9B:AE:19:BA:B6:84:35:83:EE:29:B9";
    const NEXT_NOT_AFTER: &str = "2029-11-27T09:39:27Z"; // notAfter=Nov 27 09:39:27 2029 GMT
    const SIGNATURE_SHA256: &str = "52:71:E9:63:8F:D1:32:DB:32:39:77:6E:B9:C3:2D:5A:F8:FF:D4:FB:CE:EE:51:DA:32:F7:4B:D5:22:3E:37:4E";
    const ROLE_SHA256: &str = "5B:10:D7:5D:3C:B7:A4:9F:88:62:4E:73:2C:57:3B:E1:92:B9:1E:AE:33:36:26:94:C7:5F:1B:C6:E1:C2:A0:38";

    fn tp(s: &str) -> Thumbprint {
        s.parse().unwrap()
    }

    fn sha256s(m: &FederationMetadata) -> Vec<Thumbprint> {
        m.signing_certificates
            .iter()
            .map(|c| c.sha256.clone())
            .collect()
    }

    /// The base64 body of a PEM file, on one line, as Entra writes it.
    fn base64_of(pem: &str) -> String {
        pem.lines().filter(|l| !l.starts_with("-----")).collect()
    }

    fn key_descriptor(use_attr: &str, certificate: &str) -> String {
        format!(
            r#"<KeyDescriptor{use_attr}><KeyInfo xmlns="{XMLDSIG_NS}"><X509Data><X509Certificate>{certificate}</X509Certificate></X509Data></KeyInfo></KeyDescriptor>"#
        )
    }

    /// A small metadata document whose `IDPSSODescriptor` holds `idp_children`.
    fn with_idp(idp_children: &str) -> String {
        format!(
            r#"<EntityDescriptor entityID="{TENANT_ENTITY_ID}" xmlns="{SAML_METADATA_NS}"><IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">{idp_children}</IDPSSODescriptor></EntityDescriptor>"#
        )
    }

    fn rename_prefix(xml: &str, from: &str, to: &str) -> String {
        xml.replace(&format!("<{from}:"), &format!("<{to}:"))
            .replace(&format!("</{from}:"), &format!("</{to}:"))
            .replace(&format!("xmlns:{from}="), &format!("xmlns:{to}="))
    }

    #[test]
    fn reads_entity_id_and_sso_services() {
        let m = parse(ENTRA).unwrap();
        assert_eq!(m.entity_id, TENANT_ENTITY_ID);
        assert_eq!(
            m.sso_services,
            [
                SsoService {
                    binding: "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect".to_owned(),
                    location: SAML2_URL.to_owned(),
                },
                SsoService {
                    binding: "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST".to_owned(),
                    location: SAML2_URL.to_owned(),
                },
            ]
        );
    }

    #[test]
    fn returns_only_the_idp_signing_certificate() {
        let m = parse(ENTRA).unwrap();
        let found = sha256s(&m);
        assert_eq!(found, [tp(IDP_SHA256)]);
        // The fixture does carry these, under Signature and the two RoleDescriptors.
        assert!(ENTRA.contains(&base64_of(SIGNATURE_PEM)));
        assert!(ENTRA.contains(&base64_of(ROLE_PEM)));
        assert!(!found.contains(&tp(SIGNATURE_SHA256)));
        assert!(!found.contains(&tp(ROLE_SHA256)));
    }

    #[test]
    fn thumbprints_and_expiry_match_openssl() {
        let m = parse(ENTRA).unwrap();
        let cert = &m.signing_certificates[0];
        assert_eq!(cert.sha256, tp(IDP_SHA256));
        assert_eq!(cert.sha1, tp(IDP_SHA1));
        assert_eq!(
            cert.not_after,
            OffsetDateTime::parse(IDP_NOT_AFTER, &Rfc3339).unwrap()
        );
        assert_eq!(
            cert.sha256.to_string(),
            IDP_SHA256.replace(':', "").to_lowercase()
        );
        assert_eq!(cert.der.len(), 845, "DER size of the fixture certificate");
    }

    #[test]
    fn prefixes_do_not_change_the_result() {
        let expected = parse(ENTRA).unwrap();
        assert_eq!(parse(PREFIXED).unwrap(), expected, "md:/ds: prefixes");

        let ns0 = rename_prefix(&rename_prefix(PREFIXED, "md", "ns0"), "ds", "ns1");
        assert!(ns0.contains("<ns0:IDPSSODescriptor"));
        assert_eq!(parse(&ns0).unwrap(), expected, "ns0:/ns1: prefixes");

        // md bound to XML-DSig and ds to SAML metadata: only the URIs may decide.
        let swapped = rename_prefix(
            &rename_prefix(&rename_prefix(PREFIXED, "md", "x"), "ds", "md"),
            "x",
            "ds",
        );
        assert!(swapped.contains(&format!(r#"xmlns:ds="{SAML_METADATA_NS}""#)));
        assert_eq!(parse(&swapped).unwrap(), expected, "swapped prefixes");
    }

    #[test]
    fn elements_in_another_namespace_do_not_count() {
        // The IDPSSODescriptor's KeyInfo is the last one in the document.
        let at = ENTRA.rfind("<KeyInfo xmlns=").unwrap();
        let xml = format!(
            "{}{}",
            &ENTRA[..at],
            ENTRA[at..].replacen(XMLDSIG_NS, "http://example.com/not-dsig#", 1)
        );
        assert!(matches!(
            parse(&xml),
            Err(MetadataError::NoSigningCertificate { .. })
        ));
    }

    #[test]
    fn rotation_returns_both_signing_certificates_not_the_encryption_one() {
        let m = parse(ROTATION).unwrap();
        assert_eq!(sha256s(&m), [tp(IDP_SHA256), tp(NEXT_SHA256)]);
        let next = &m.signing_certificates[1];
        assert_eq!(next.sha1, tp(NEXT_SHA1));
        assert_eq!(
            next.not_after,
            OffsetDateTime::parse(NEXT_NOT_AFTER, &Rfc3339).unwrap()
        );
        assert!(ROTATION.contains(r#"<KeyDescriptor use="encryption">"#));
        assert!(!sha256s(&m).contains(&tp(ROLE_SHA256)));
    }

    #[test]
    fn encryption_key_alone_is_no_signing_certificate() {
        let xml = with_idp(&key_descriptor(r#" use="encryption""#, &base64_of(IDP_PEM)));
        let err = parse(&xml).unwrap_err();
        assert!(matches!(err, MetadataError::NoSigningCertificate { .. }));
        assert!(err.to_string().contains("IDPSSODescriptor"), "{err}");
    }

    #[test]
    fn identical_certificates_are_listed_once() {
        let a = base64_of(IDP_PEM);
        // Same DER, wrapped differently the second time.
        let wrapped = a
            .as_bytes()
            .chunks(64)
            .map(|c| String::from_utf8_lossy(c))
            .collect::<Vec<_>>()
            .join("\r\n  ");
        let xml = with_idp(&format!(
            "{}{}{}",
            key_descriptor(r#" use="signing""#, &a),
            key_descriptor("", &wrapped),
            key_descriptor("", &base64_of(NEXT_PEM)),
        ));
        assert_eq!(
            sha256s(&parse(&xml).unwrap()),
            [tp(IDP_SHA256), tp(NEXT_SHA256)]
        );
    }

    #[test]
    fn certificate_text_may_use_references_and_cdata() {
        let a = base64_of(IDP_PEM);
        let (head, tail) = a.split_at(100);
        let xml = with_idp(&key_descriptor(
            "",
            &format!("{head}&#13;&#xA;<![CDATA[{tail}]]>"),
        ));
        assert_eq!(sha256s(&parse(&xml).unwrap()), [tp(IDP_SHA256)]);
    }

    #[test]
    fn byte_order_mark_is_accepted() {
        assert_eq!(
            parse(&format!("\u{feff}{ENTRA}")).unwrap(),
            parse(ENTRA).unwrap()
        );
    }

    #[test]
    fn certificate_debug_shows_der_length_only() {
        let m = parse(ENTRA).unwrap();
        let debug = format!("{:?}", m.signing_certificates[0]);
        assert!(debug.contains("der: <845 bytes>"), "{debug}");
        assert!(
            debug.contains(&IDP_SHA256.replace(':', "").to_lowercase()),
            "{debug}"
        );
    }

    /// Asserts the error's variant via `check` and that its message names `names`.
    fn assert_error(xml: &str, check: fn(&MetadataError) -> bool, names: &str) {
        let err = parse(xml).unwrap_err();
        assert!(check(&err), "unexpected error: {err:?}");
        let message = err.to_string();
        assert!(message.contains(names), "{message:?} should name {names}");
        assert!(
            !message.ends_with('.') && !message.contains('\n'),
            "{message:?}"
        );
        assert!(
            message.starts_with(|c: char| c.is_lowercase()),
            "{message:?}"
        );
    }

    #[test]
    fn missing_root_is_named() {
        use MetadataError::NoEntityDescriptor as E;
        assert_error("", |e| matches!(e, E { .. }), "EntityDescriptor");
        assert_error(
            "<?xml version=\"1.0\"?>\n<!-- nothing -->",
            |e| matches!(e, E { .. }),
            "no element",
        );
        assert_error(
            &format!(r#"<md:EntitiesDescriptor xmlns:md="{SAML_METADATA_NS}"/>"#),
            |e| matches!(e, E { .. }),
            "<md:EntitiesDescriptor>",
        );
        // Right local name, no namespace.
        assert_error(
            &format!(r#"<EntityDescriptor entityID="{TENANT_ENTITY_ID}"/>"#),
            |e| matches!(e, E { .. }),
            "no (or an undeclared) namespace",
        );
        // Prefix never declared.
        assert_error(
            &format!(r#"<md:EntityDescriptor entityID="{TENANT_ENTITY_ID}"/>"#),
            |e| matches!(e, E { .. }),
            "<md:EntityDescriptor>",
        );
    }

    #[test]
    fn missing_entity_id_is_named() {
        let check: fn(&MetadataError) -> bool = |e| matches!(e, MetadataError::NoEntityId);
        assert_error(
            &ENTRA.replacen(" entityID=", " entityid=", 1),
            check,
            "entityID",
        );
        assert_error(
            &ENTRA.replacen(
                &format!(r#"entityID="{TENANT_ENTITY_ID}""#),
                r#"entityID="""#,
                1,
            ),
            check,
            "entityID",
        );
        // A namespaced entityID is a different attribute.
        assert_error(
            &format!(
                r#"<EntityDescriptor xmlns="{SAML_METADATA_NS}" xmlns:x="urn:x" x:entityID="a"/>"#
            ),
            check,
            "entityID",
        );
    }

    #[test]
    fn missing_idp_sso_descriptor_is_named() {
        let start = ENTRA.find("<IDPSSODescriptor").unwrap();
        let end = ENTRA.find("</EntityDescriptor>").unwrap();
        let xml = format!("{}{}", &ENTRA[..start], &ENTRA[end..]);
        assert_error(
            &xml,
            |e| matches!(e, MetadataError::NoIdpSsoDescriptor { entity_id } if entity_id == TENANT_ENTITY_ID),
            "IDPSSODescriptor",
        );
    }

    #[test]
    fn missing_signing_certificate_is_named() {
        assert_error(
            &with_idp(""),
            |e| matches!(e, MetadataError::NoSigningCertificate { .. }),
            "IDPSSODescriptor",
        );
        // A signing KeyDescriptor with a KeyName only.
        assert_error(
            &with_idp(&format!(
                r#"<KeyDescriptor use="signing"><KeyInfo xmlns="{XMLDSIG_NS}"><KeyName>k</KeyName></KeyInfo></KeyDescriptor>"#
            )),
            |e| matches!(e, MetadataError::NoSigningCertificate { .. }),
            "X509Certificate",
        );
    }

    #[test]
    fn bad_certificates_are_named_by_index() {
        let good = key_descriptor("", &base64_of(IDP_PEM));
        assert_error(
            &with_idp(&format!("{good}{}", key_descriptor("", "not*base64"))),
            |e| matches!(e, MetadataError::CertificateNotBase64 { index: 2, .. }),
            "signing certificate #2",
        );
        // Base64 of "hello": not DER.
        assert_error(
            &with_idp(&key_descriptor("", "aGVsbG8=")),
            |e| matches!(e, MetadataError::CertificateNotX509 { index: 1, .. }),
            "signing certificate #1",
        );
        assert_error(
            &with_idp(&format!(
                r#"<KeyDescriptor><KeyInfo xmlns="{XMLDSIG_NS}"><X509Data><X509Certificate/></X509Data></KeyInfo></KeyDescriptor>"#
            )),
            |e| matches!(e, MetadataError::CertificateNotX509 { index: 1, .. }),
            "not a valid X.509",
        );
        let mut der = STANDARD_PAD_INDIFFERENT.decode(base64_of(IDP_PEM)).unwrap();
        der.extend_from_slice(b"junk");
        assert_error(
            &with_idp(&key_descriptor("", &STANDARD_PAD_INDIFFERENT.encode(&der))),
            |e| {
                matches!(
                    e,
                    MetadataError::CertificateTrailingData { index: 1, extra: 4 }
                )
            },
            "signing certificate #1",
        );
        // A bad certificate in the document Signature is none of our business.
        let xml = ENTRA.replacen(&base64_of(SIGNATURE_PEM), "not*base64", 1);
        assert_eq!(parse(&xml).unwrap(), parse(ENTRA).unwrap());
    }

    #[test]
    fn incomplete_sso_service_is_named() {
        let xml = ENTRA.replacen(
            r#"Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="#,
            r#"Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Where="#,
            1,
        );
        assert_error(
            &xml,
            |e| {
                matches!(
                    e,
                    MetadataError::SsoServiceIncomplete {
                        index: 2,
                        attribute: "Location"
                    }
                )
            },
            "Location",
        );
    }

    #[test]
    fn malformed_xml_reports_position_and_cause() {
        use std::error::Error as _;
        for xml in [
            &ENTRA[..ENTRA.len() / 2],
            "<EntityDescriptor",
            &ENTRA.replacen("</IDPSSODescriptor>", "</IDPSSODescriptr>", 1),
            &ENTRA.replacen(" ID=", " entityID=", 1),
            &ENTRA.replacen("HTTP-POST\"", "HTTP-POST", 1),
        ] {
            let err = parse(xml).unwrap_err();
            assert!(matches!(err, MetadataError::MalformedXml { .. }), "{err:?}");
            assert!(
                err.to_string().contains("not well-formed XML at byte"),
                "{err}"
            );
            assert!(err.source().is_some());
        }
        let xml = format!(
            r#"<EntityDescriptor xmlns="{SAML_METADATA_NS}" entityID="e"><b></EntityDescriptor>"#
        );
        let err = parse(&xml).unwrap_err();
        let at = xml.find("</EntityDescriptor>").unwrap() as u64;
        assert!(
            matches!(&err, MetadataError::MalformedXml { position, .. } if *position == at),
            "{err:?} at {at}"
        );
        let cause = err.source().unwrap().to_string();
        assert!(
            cause.contains("EntityDescriptor") && cause.contains('b'),
            "{cause}"
        );
    }

    #[test]
    fn a_second_root_element_is_rejected() {
        let err = parse(&format!("{ENTRA}{ENTRA}")).unwrap_err();
        assert!(
            matches!(
                err,
                MetadataError::MalformedXml { .. } | MetadataError::TrailingElement { .. }
            ),
            "{err:?}"
        );
        let trimmed = ENTRA
            .trim_start_matches(|c| c != '>')
            .trim_start_matches('>');
        let err = parse(&format!("{ENTRA}{trimmed}")).unwrap_err();
        assert!(
            matches!(&err, MetadataError::TrailingElement { element, .. } if element == "EntityDescriptor"),
            "{err:?}"
        );
    }

    #[test]
    fn every_truncation_is_an_error() {
        let end = ENTRA.find("</EntityDescriptor>").unwrap() + "</EntityDescriptor>".len();
        for cut in (0..end).filter(|&i| ENTRA.is_char_boundary(i)) {
            assert!(
                parse(&ENTRA[..cut]).is_err(),
                "prefix of {cut} bytes parsed"
            );
        }
        assert!(parse(&ENTRA[..end]).is_ok());
    }

    #[test]
    fn matches_needs_entity_id_and_a_listed_certificate() {
        let m = parse(ENTRA).unwrap();
        assert!(m.matches(TENANT_ENTITY_ID, &[tp(IDP_SHA256)]));
        assert!(m.matches(TENANT_ENTITY_ID, &[tp(NEXT_SHA256), tp(IDP_SHA256)]));
        assert!(!m.matches(TENANT_ENTITY_ID, &[]));
        assert!(!m.matches(TENANT_ENTITY_ID, &[tp(NEXT_SHA256)]));
        // Same tenant's other certificates are not this app's.
        assert!(!m.matches(TENANT_ENTITY_ID, &[tp(SIGNATURE_SHA256), tp(ROLE_SHA256)]));
        // SHA-1 thumbprint of the right certificate: not accepted.
        assert!(!m.matches(TENANT_ENTITY_ID, &[tp(IDP_SHA1)]));
        // Right certificate, other tenant; and no trailing slash.
        assert!(!m.matches(
            "https://sts.windows.net/00000000-0000-0000-0000-000000000000/",
            &[tp(IDP_SHA256)]
        ));
        assert!(!m.matches(TENANT_ENTITY_ID.trim_end_matches('/'), &[tp(IDP_SHA256)]));
    }

    #[test]
    fn matches_during_rotation() {
        let m = parse(ROTATION).unwrap();
        assert!(
            m.matches(TENANT_ENTITY_ID, &[tp(IDP_SHA256)]),
            "old certificate configured"
        );
        assert!(
            m.matches(TENANT_ENTITY_ID, &[tp(NEXT_SHA256)]),
            "new certificate configured"
        );
        assert!(
            !m.matches(TENANT_ENTITY_ID, &[tp(ROLE_SHA256)]),
            "encryption certificate"
        );
    }

    const KEYCLOAK: &str = include_str!("../tests/fixtures/metadata/keycloak.xml");
    const ADFS: &str = include_str!("../tests/fixtures/metadata/adfs.xml");
    const SHIBBOLETH: &str = include_str!("../tests/fixtures/metadata/shibboleth.xml");
    const GOOGLE: &str = include_str!("../tests/fixtures/metadata/google.xml");
    const BARE_KEY: &str = include_str!("../tests/fixtures/metadata/bare-key.xml");
    const FOREIGN: [&str; 5] = [KEYCLOAK, ADFS, SHIBBOLETH, GOOGLE, BARE_KEY];

    fn ours() -> Vec<Thumbprint> {
        vec![tp(IDP_SHA256)]
    }

    #[test]
    fn our_entity_id_and_certificate_are_ours() {
        for xml in [ENTRA, PREFIXED, ROTATION] {
            let m = classify(xml, TENANT_ENTITY_ID, &ours());
            assert_eq!(m.verdict, ProviderVerdict::Ours, "{}", m.reason);
            assert_eq!(m.entity_ids, [TENANT_ENTITY_ID]);
            assert!(m.certificates.iter().any(|c| c.ours));
        }
        // The next certificate alone also matches rotation.xml.
        let m = classify(ROTATION, TENANT_ENTITY_ID, &[tp(NEXT_SHA256)]);
        assert_eq!(m.verdict, ProviderVerdict::Ours);
    }

    #[test]
    fn our_entity_id_with_another_certificate_is_unknown_certificate_naming_it() {
        let m = classify(ENTRA, TENANT_ENTITY_ID, &[tp(NEXT_SHA256)]);
        assert_eq!(m.verdict, ProviderVerdict::UnknownCertificate);
        let canonical = tp(IDP_SHA256).to_string();
        assert!(
            m.reason.contains(&canonical) && m.reason.contains("expires 2036-11-25"),
            "{}",
            m.reason
        );
        assert!(
            m.reason.contains("add it to saml-certificates"),
            "{}",
            m.reason
        );
    }

    #[test]
    fn other_identity_providers_are_not_ours_whatever_their_certificates() {
        for xml in FOREIGN {
            let m = classify(xml, TENANT_ENTITY_ID, &ours());
            assert_eq!(m.verdict, ProviderVerdict::NotOurs, "{xml}");
            assert!(m.certificates.is_empty(), "certificates are never parsed");
            assert!(m.reason.contains("is not ours"), "{}", m.reason);
        }
        let keycloak = classify(KEYCLOAK, TENANT_ENTITY_ID, &ours());
        assert_eq!(
            keycloak.entity_ids,
            ["https://keycloak.example.com/realms/corp"]
        );
        // Broken XML after a foreign root is still not ours: nothing about it matters.
        let broken = &GOOGLE[..GOOGLE.len() / 2];
        assert_eq!(
            classify(broken, TENANT_ENTITY_ID, &ours()).verdict,
            ProviderVerdict::NotOurs
        );
    }

    #[test]
    fn a_group_holding_our_entity_is_read_inside_the_group() {
        let ours_inside = KEYCLOAK
            .replace("https://keycloak.example.com/realms/corp", TENANT_ENTITY_ID)
            .replace(&base64_of(ROLE_PEM), &base64_of(IDP_PEM));
        let m = classify(&ours_inside, TENANT_ENTITY_ID, &ours());
        assert_eq!(m.verdict, ProviderVerdict::Ours, "{}", m.reason);
        // A broken group cannot be read: can't tell.
        let m = classify(
            &ours_inside[..ours_inside.len() - 30],
            TENANT_ENTITY_ID,
            &ours(),
        );
        assert_eq!(m.verdict, ProviderVerdict::CantTell);
        assert!(m.reason.contains("cannot be read"), "{}", m.reason);
    }

    #[test]
    fn our_entity_id_without_a_certificate_that_parses_is_cant_tell() {
        let bare_ours = BARE_KEY.replace("https://idp.legacy.example.net/saml", TENANT_ENTITY_ID);
        let m = classify(&bare_ours, TENANT_ENTITY_ID, &ours());
        assert_eq!(m.verdict, ProviderVerdict::CantTell, "{}", m.reason);
        assert!(
            m.reason.contains("no signing certificate parses"),
            "{}",
            m.reason
        );
        let m = classify(&with_idp(""), TENANT_ENTITY_ID, &ours());
        assert_eq!(m.verdict, ProviderVerdict::CantTell);
        let m = classify("<EntityDescriptor", TENANT_ENTITY_ID, &ours());
        assert_eq!(m.verdict, ProviderVerdict::CantTell);
        let m = classify("", TENANT_ENTITY_ID, &ours());
        assert_eq!(m.verdict, ProviderVerdict::CantTell);
        // The digest names a certificate even when the X.509 parser refuses it.
        let m = classify(
            &with_idp(&key_descriptor("", "aGVsbG8=")),
            TENANT_ENTITY_ID,
            &[Thumbprint::sha256_of(b"hello")],
        );
        assert_eq!(m.verdict, ProviderVerdict::Ours, "{}", m.reason);
    }

    #[test]
    fn strict_parse_still_wants_one_entity_descriptor() {
        assert!(matches!(
            parse(KEYCLOAK),
            Err(MetadataError::NoEntityDescriptor { .. })
        ));
        assert!(parse(GOOGLE).is_ok());
    }

    /// A byte-level change to a document: overwrite, insert or delete at a position.
    #[derive(Clone, Debug)]
    enum Mutation {
        Overwrite(usize, u8),
        Insert(usize, u8),
        Delete(usize),
    }

    fn mutation() -> impl Strategy<Value = Mutation> {
        prop_oneof![
            (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Overwrite(i, b)),
            (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
            any::<usize>().prop_map(Mutation::Delete),
        ]
    }

    fn mutate(xml: &str, mutations: &[Mutation], truncate: Option<usize>) -> String {
        let mut bytes = xml.as_bytes().to_vec();
        for m in mutations {
            let len = bytes.len();
            match *m {
                Mutation::Overwrite(i, b) if len > 0 => bytes[i % len] = b,
                Mutation::Insert(i, b) => bytes.insert(i % (len + 1), b),
                Mutation::Delete(i) if len > 0 => {
                    bytes.remove(i % len);
                }
                _ => {}
            }
        }
        if let Some(cut) = truncate {
            bytes.truncate(cut % (bytes.len() + 1));
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// What any successful parse must satisfy.
    fn check_invariants(
        result: &Result<FederationMetadata, MetadataError>,
    ) -> Result<(), TestCaseError> {
        if let Ok(m) = result {
            prop_assert!(!m.entity_id.is_empty());
            prop_assert!(!m.signing_certificates.is_empty());
            for c in &m.signing_certificates {
                prop_assert!(c.sha256.is_sha256() && !c.sha1.is_sha256());
            }
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn parse_never_panics_on_any_string(s in any::<String>()) {
            check_invariants(&parse(&s))?;
        }

        #[test]
        fn parse_never_panics_on_xml_like_strings(
            s in r#"(<[a-zA-Z:]{1,6}( [a-zA-Z:]{1,4}="[^"<]{0,6}")*/?>|</[a-zA-Z:]{1,6}>|[^<]{0,6}|&#?[a-z0-9]{0,4};?){0,24}"#
        ) {
            check_invariants(&parse(&s))?;
        }

        #[test]
        fn classify_never_panics_and_a_foreign_root_is_never_ours(
            fixture in prop_oneof![Just(ENTRA), Just(ROTATION), Just(KEYCLOAK), Just(ADFS), Just(BARE_KEY)],
            mutations in prop::collection::vec(mutation(), 0..=5),
            truncate in prop::option::of(any::<usize>()),
        ) {
            let xml = mutate(fixture, &mutations, truncate);
            let m = classify(&xml, TENANT_ENTITY_ID, &[tp(IDP_SHA256)]);
            prop_assert!(!m.reason.contains('\n'), "{}", m.reason);
            if m.verdict == ProviderVerdict::Ours {
                prop_assert!(m.entity_ids.iter().any(|e| e == TENANT_ENTITY_ID));
            }
        }

        #[test]
        fn parse_never_panics_on_mutated_fixtures(
            fixture in prop_oneof![Just(ENTRA), Just(PREFIXED), Just(ROTATION)],
            mutations in prop::collection::vec(mutation(), 0..=5),
            truncate in prop::option::of(any::<usize>()),
        ) {
            let xml = mutate(fixture, &mutations, truncate);
            let result = parse(&xml);
            check_invariants(&result)?;
            // Renaming RoleDescriptor or Signature into IDPSSODescriptor takes more than five
            // byte edits, so their certificates must never come out. (Not so for rotation.xml:
            // one edit to `use="encryption"` rightly makes that key a signing key.)
            if let (Ok(m), false) = (&result, fixture == ROTATION) {
                for c in &m.signing_certificates {
                    prop_assert!(c.sha256 != tp(SIGNATURE_SHA256) && c.sha256 != tp(ROLE_SHA256));
                }
            }
        }
    }
}
