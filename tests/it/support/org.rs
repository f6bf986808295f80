//! org: seeding an AWS Organization in moto through the AWS SDK — accounts, SAML providers from
//! the metadata fixtures, and roles with trust policies.

use std::path::Path;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_iam::config::{Credentials, Region};

/// moto's default account: the management account of the Organization the tests create.
pub const MANAGEMENT: &str = "123456789012";

/// The entity id of the metadata fixtures (`tests/fixtures/metadata/entra.xml`).
pub const ENTITY_ID: &str = "https://sts.windows.net/3f1c6a52-8d0b-4c7e-9a21-5e6b7d8c9f10/";
/// SHA-256 of `idp-signing.pem`, as `openssl x509 -noout -fingerprint -sha256` prints it.
pub const OUR_CERT_SHA256: &str = "9C:F7:39:01:B6:AB:47:10:D8:44:86:F6:6A:85:B0:BD:3F:82:63:26:F3:68:4D:3D:59:E0:DD:B2:48:B6:89:67";

/// A file of `tests/fixtures/metadata/`.
pub fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/metadata")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn pem_body(pem: &str) -> String {
    pem.lines().filter(|l| !l.starts_with("-----")).collect()
}

/// Our Entra app's federation metadata.
pub fn our_metadata() -> String {
    fixture("entra.xml")
}

/// Another tenant's app: another entity id and another signing certificate.
pub fn other_tenant_metadata() -> String {
    let ours = pem_body(&fixture("idp-signing.pem"));
    let theirs = pem_body(&fixture("role-descriptor.pem"));
    let xml = our_metadata();
    assert!(xml.contains(&ours), "the fixture holds our certificate");
    xml.replace(&ours, &theirs).replace(
        "3f1c6a52-8d0b-4c7e-9a21-5e6b7d8c9f10",
        "0d9e8f7a-1111-4222-8333-944455566677",
    )
}

/// A self-signed certificate that expires `days` (and 12 hours) from now: its base64 DER and
/// its SHA-256 thumbprint as fedsync prints it.
pub fn certificate(days: i64) -> (String, String) {
    use time::{Duration, OffsetDateTime};
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("RSA key generation");
    let mut params =
        rcgen::CertificateParams::new(vec!["Microsoft Azure Federated SSO Certificate".to_owned()])
            .expect("certificate parameters");
    let not_after = OffsetDateTime::now_utc() + Duration::days(days) + Duration::hours(12);
    params.not_before = not_after - Duration::days(3 * 365);
    params.not_after = not_after;
    let cert = params.self_signed(&key).expect("self-signed certificate");
    let body = pem_body(&cert.pem());
    let metadata = fedsync::metadata::parse(&metadata_with(&[&body])).expect("metadata parses");
    (body, metadata.signing_certificates[0].sha256.to_string())
}

/// Our tenant's metadata, its IdP signing certificate replaced by `bodies` (one
/// `KeyDescriptor` each).
pub fn metadata_with(bodies: &[&str]) -> String {
    let ours = pem_body(&fixture("idp-signing.pem"));
    let between = "</X509Certificate></X509Data></KeyInfo></KeyDescriptor><KeyDescriptor use=\"signing\"><KeyInfo xmlns=\"http://www.w3.org/2000/09/xmldsig#\"><X509Data><X509Certificate>";
    our_metadata().replace(&ours, &bodies.join(between))
}

/// An SDK config for moto (or a proxy in front of it) with moto's test credentials.
pub async fn sdk(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .load()
        .await
}

/// The environment the `fedsync` binary needs to reach `endpoint` as the management account.
pub fn aws_env(endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", endpoint.to_owned()),
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ("AWS_CONFIG_FILE", "/dev/null".to_owned()),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".to_owned()),
        ("FEDSYNC_SAML_ENTITY_ID", ENTITY_ID.to_owned()),
        ("FEDSYNC_SAML_CERTIFICATES", OUR_CERT_SHA256.to_owned()),
    ]
}

/// An S3 client for moto (path-style addressing, as moto on `127.0.0.1` needs).
pub fn s3(sdk: &SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(true)
            .build(),
    )
}

/// The Organization the end-to-end sync tests share: the management account with our SAML
/// provider and roles Admin and ReadOnly, and one member account with role Dev. Returns the
/// member account's id.
pub async fn seed_two_accounts(sdk: &SdkConfig) -> String {
    create_organization(sdk).await;
    let member = create_account(sdk, "member").await;
    for (account, roles) in [
        (MANAGEMENT.to_owned(), vec!["Admin", "ReadOnly"]),
        (member.clone(), vec!["Dev"]),
    ] {
        let iam = iam_in(sdk, &account).await;
        let idp = saml_provider(&iam, "AzureAD", &our_metadata()).await;
        for role in roles {
            self::role(&iam, "/", role, &saml_trust(&[&idp])).await;
        }
    }
    member
}

pub async fn create_organization(sdk: &SdkConfig) {
    aws_sdk_organizations::Client::new(sdk)
        .create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .expect("create organization");
}

/// Creates a member account and returns its id.
pub async fn create_account(sdk: &SdkConfig, name: &str) -> String {
    let out = aws_sdk_organizations::Client::new(sdk)
        .create_account()
        .account_name(name)
        .email(format!("{name}@example.com"))
        .send()
        .await
        .expect("create account");
    out.create_account_status()
        .and_then(|s| s.account_id())
        .expect("an account id")
        .to_owned()
}

pub async fn close_account(sdk: &SdkConfig, id: &str) {
    aws_sdk_organizations::Client::new(sdk)
        .close_account()
        .account_id(id)
        .send()
        .await
        .expect("close account");
}

/// An IAM client acting in `account` (moto hands out credentials for any role).
pub async fn iam_in(sdk: &SdkConfig, account: &str) -> aws_sdk_iam::Client {
    if account == MANAGEMENT {
        return aws_sdk_iam::Client::new(sdk);
    }
    let out = aws_sdk_sts::Client::new(sdk)
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account}:role/seeder"))
        .role_session_name("seeder")
        .send()
        .await
        .expect("assume role");
    let c = out.credentials().expect("credentials");
    let creds = Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_owned()),
        None,
        "seed",
    );
    aws_sdk_iam::Client::from_conf(
        aws_sdk_iam::config::Builder::from(sdk)
            .credentials_provider(creds)
            .build(),
    )
}

/// Creates a SAML provider and returns its ARN.
pub async fn saml_provider(iam: &aws_sdk_iam::Client, name: &str, metadata: &str) -> String {
    let out = iam
        .create_saml_provider()
        .name(name)
        .saml_metadata_document(metadata)
        .send()
        .await
        .expect("create SAML provider");
    out.saml_provider_arn().expect("provider ARN").to_owned()
}

/// Creates a role with this trust policy and returns its ARN.
pub async fn role(iam: &aws_sdk_iam::Client, path: &str, name: &str, trust: &str) -> String {
    let out = iam
        .create_role()
        .path(path)
        .role_name(name)
        .assume_role_policy_document(trust)
        .send()
        .await
        .expect("create role");
    out.role().expect("role").arn().to_owned()
}

/// A trust policy letting these SAML providers in, as the AWS console writes it.
pub fn saml_trust(providers: &[&str]) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": providers},
            "Action": "sts:AssumeRoleWithSAML",
            "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}}
        }]
    })
    .to_string()
}

/// A trust policy for an AWS service.
pub fn service_trust(service: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]
    })
    .to_string()
}

/// Inventory settings matching the fixtures: our entity id and certificate, the default reader
/// role, every account, four at a time.
pub fn inventory_settings() -> fedsync::aws::InventorySettings {
    fedsync::aws::InventorySettings {
        saml_entity_id: ENTITY_ID.to_owned(),
        saml_certificates: vec![OUR_CERT_SHA256.parse().unwrap()],
        saml_audiences: Default::default(),
        cross_account_role: "fedsync-reader".parse().unwrap(),
        external_id: None,
        include_accounts: Vec::new(),
        exclude_accounts: Vec::new(),
        concurrency: 4,
    }
}
