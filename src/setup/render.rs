//! render: what `fedsync setup` uploads for the StackSets — the SAML metadata trimmed to what IAM
//! needs, `cfn/saml-roles.yaml` with that document as `SamlMetadataDocument`'s default, and the
//! list of active child accounts.
//!
//! Every value is written by a serializer: the XML by `quick-xml`'s writer (attribute and text
//! escaping), the YAML default as a JSON string (`serde_json`; a JSON string is a valid YAML
//! double-quoted scalar, so no quote is escaped by hand), the account list by `serde_json`.
//! The template is otherwise kept byte for byte, comments and `!Ref` tags included. Pure: no I/O.

use quick_xml::Writer;
use quick_xml::events::{BytesEnd, BytesStart, BytesText, Event};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::metadata::{FederationMetadata, SAML_METADATA_NS, XMLDSIG_NS};
use crate::model::AccountId;

/// The template setup renders, as this build of fedsync ships it.
pub const SAML_ROLES_TEMPLATE: &str = include_str!("../../cfn/saml-roles.yaml");
/// The parameter that holds the metadata document.
pub const METADATA_PARAMETER: &str = "SamlMetadataDocument";
/// CloudFormation's limit on a parameter value (and the template's `MaxLength`).
pub const MAX_PARAMETER_BYTES: usize = 4096;

/// Rendering failed; nothing was uploaded.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(
        "the trimmed SAML metadata is {bytes} bytes, over CloudFormation's {MAX_PARAMETER_BYTES}-byte parameter limit; does it list many signing certificates?"
    )]
    TooLarge { bytes: usize },
    #[error(
        "cfn/saml-roles.yaml has no `Default: \"\"` line under parameter {METADATA_PARAMETER} (a fedsync bug)"
    )]
    NoDefaultLine,
}

/// The metadata document IAM needs: `EntityDescriptor` with the entity id, and one
/// `IDPSSODescriptor` holding the signing certificates and the single sign-on endpoints. Entra's
/// document also has a `Signature`, WS-Federation `RoleDescriptor`s and more, which push it past
/// the 4 KB a CloudFormation parameter may hold.
pub fn trimmed_metadata(metadata: &FederationMetadata) -> Result<String, RenderError> {
    let mut writer = Writer::new(Vec::new());
    let write = |writer: &mut Writer<Vec<u8>>, event: Event<'_>| {
        writer
            .write_event(event)
            .expect("writing XML to a Vec cannot fail");
    };
    let mut root = BytesStart::new("EntityDescriptor");
    root.push_attribute(("xmlns", SAML_METADATA_NS));
    root.push_attribute(("entityID", metadata.entity_id.as_str()));
    write(&mut writer, Event::Start(root));
    let mut idp = BytesStart::new("IDPSSODescriptor");
    idp.push_attribute((
        "protocolSupportEnumeration",
        "urn:oasis:names:tc:SAML:2.0:protocol",
    ));
    write(&mut writer, Event::Start(idp));
    for cert in &metadata.signing_certificates {
        let mut key = BytesStart::new("KeyDescriptor");
        key.push_attribute(("use", "signing"));
        write(&mut writer, Event::Start(key));
        let mut info = BytesStart::new("KeyInfo");
        info.push_attribute(("xmlns", XMLDSIG_NS));
        write(&mut writer, Event::Start(info));
        write(&mut writer, Event::Start(BytesStart::new("X509Data")));
        write(
            &mut writer,
            Event::Start(BytesStart::new("X509Certificate")),
        );
        let text = STANDARD.encode(&cert.der);
        write(&mut writer, Event::Text(BytesText::new(&text)));
        for end in ["X509Certificate", "X509Data", "KeyInfo", "KeyDescriptor"] {
            write(&mut writer, Event::End(BytesEnd::new(end)));
        }
    }
    for sso in &metadata.sso_services {
        let mut service = BytesStart::new("SingleSignOnService");
        service.push_attribute(("Binding", sso.binding.as_str()));
        service.push_attribute(("Location", sso.location.as_str()));
        write(&mut writer, Event::Empty(service));
    }
    write(&mut writer, Event::End(BytesEnd::new("IDPSSODescriptor")));
    write(&mut writer, Event::End(BytesEnd::new("EntityDescriptor")));
    let xml = String::from_utf8(writer.into_inner()).expect("the XML writer writes UTF-8");
    if xml.len() > MAX_PARAMETER_BYTES {
        return Err(RenderError::TooLarge { bytes: xml.len() });
    }
    Ok(xml)
}

/// `template` with `SamlMetadataDocument`'s `Default: ""` replaced by `document`, serialized as
/// a JSON string (a YAML double-quoted scalar). Everything else stays as it was.
pub fn render_template(template: &str, document: &str) -> Result<String, RenderError> {
    let lines: Vec<&str> = template.split_inclusive('\n').collect();
    let start = lines
        .iter()
        .position(|l| l.trim_end() == format!("  {METADATA_PARAMETER}:"))
        .ok_or(RenderError::NoDefaultLine)?;
    // The parameter's own lines: deeper than its two-space indent.
    let default = lines[start + 1..]
        .iter()
        .take_while(|l| l.starts_with("   ") || l.trim().is_empty())
        .position(|l| l.trim_end() == "    Default: \"\"")
        .map(|i| start + 1 + i)
        .ok_or(RenderError::NoDefaultLine)?;
    let value = serde_json::to_string(document).expect("a string serializes");
    let mut out = String::with_capacity(template.len() + value.len());
    for (i, line) in lines.iter().enumerate() {
        if i == default {
            out.push_str(&format!("    Default: {value}\n"));
        } else {
            out.push_str(line);
        }
    }
    Ok(out)
}

/// The active child accounts (every active account but `management`), as the JSON array
/// `aws cloudformation create-stack-instances --accounts file://accounts.json` reads.
pub fn accounts_json(active: &[AccountId], management: Option<&AccountId>) -> String {
    let ids: Vec<&str> = active
        .iter()
        .filter(|id| Some(*id) != management)
        .map(AccountId::as_str)
        .collect();
    let mut text = serde_json::to_string_pretty(&ids).expect("strings serialize");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::parse;

    fn fixture() -> String {
        std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/metadata/entra.xml"
        ))
        .unwrap()
    }

    #[test]
    fn the_trimmed_document_parses_to_the_same_entity_certificates_and_endpoints() {
        let full = parse(&fixture()).unwrap();
        let trimmed = trimmed_metadata(&full).unwrap();
        assert!(trimmed.len() <= MAX_PARAMETER_BYTES);
        assert!(!trimmed.contains("Signature"));
        assert_eq!(parse(&trimmed).unwrap(), full);
    }

    #[test]
    fn attribute_values_are_escaped_by_the_writer() {
        let mut metadata = parse(&fixture()).unwrap();
        metadata.entity_id = r#"https://example.test/?a="1"&b=<2>"#.into();
        let trimmed = trimmed_metadata(&metadata).unwrap();
        assert_eq!(parse(&trimmed).unwrap().entity_id, metadata.entity_id);
    }

    #[test]
    fn the_template_gets_the_document_as_its_default_and_nothing_else_changes() {
        let doc = "<a x=\"1\">it's \\ \"quoted\"\n</a>";
        let rendered = render_template(SAML_ROLES_TEMPLATE, doc).unwrap();
        let before: Vec<&str> = SAML_ROLES_TEMPLATE.lines().collect();
        let after: Vec<&str> = rendered.lines().collect();
        assert_eq!(before.len(), after.len());
        let changed: Vec<(&&str, &&str)> =
            before.iter().zip(&after).filter(|(a, b)| a != b).collect();
        assert_eq!(changed.len(), 1, "{changed:?}");
        assert_eq!(
            *changed[0].1,
            r#"    Default: "<a x=\"1\">it's \\ \"quoted\"\n</a>""#
        );
    }

    #[test]
    fn a_template_without_the_placeholder_default_is_refused() {
        let template =
            "Parameters:\n  SamlMetadataDocument:\n    Type: String\n  Other:\n    Default: \"\"\n";
        assert!(matches!(
            render_template(template, "x"),
            Err(RenderError::NoDefaultLine)
        ));
    }

    #[test]
    fn the_account_list_leaves_out_the_management_account() {
        let a: AccountId = "111111111111".parse().unwrap();
        let b: AccountId = "222222222222".parse().unwrap();
        let list: Vec<String> = serde_json::from_str(&accounts_json(&[a, b], Some(&a))).unwrap();
        assert_eq!(list, vec!["222222222222"]);
    }
}
