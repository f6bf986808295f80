//! `fedsync rotate` through the binary against moto, behind the fault-injecting proxy that
//! counts (and can deny) calls: a dry run writes nothing; a rotation updates exactly the
//! providers that lack the new certificate and leaves foreign ones and another app's alone; a
//! rerun writes nothing; a provider that would lose a valid certificate refuses the whole
//! rotation; an account whose writer role cannot be assumed is reported while the others are
//! written. Test certificates are generated here with chosen expiry dates.

use std::path::PathBuf;

use crate::support::org::{self, certificate, metadata_with};
use crate::support::proxy::{Fault, Proxy, Rule, query_error};
use crate::support::{assert_exit, fedsync, moto::Moto, stderr};

/// An Organization mid-rotation: the app is configured with `old`; Entra's metadata now carries
/// `old` and `new`.
struct World {
    moto: Moto,
    proxy: Proxy,
    sdk: aws_config::SdkConfig,
    old_sha: String,
    new_sha: String,
    /// The new certificate's base64 DER.
    new: String,
    /// The document `rotate` is given.
    metadata: PathBuf,
    _dir: tempfile::TempDir,
    /// Providers with the old certificate only: to update.
    old_only: Vec<String>,
    /// A provider with both: up to date.
    both: String,
    /// Another identity provider, and another app of the tenant (our entity id, its own
    /// certificate): never touched.
    foreign: String,
    other_app: String,
}

const PROVIDER: &str = "AzureAD";

async fn world() -> World {
    let moto = Moto::start();
    let sdk = org::sdk(&moto.url).await;
    org::create_organization(&sdk).await;
    let (old, old_sha) = certificate(40);
    let (new, new_sha) = certificate(1000);
    let (other, _) = certificate(500);
    let mut ids = Vec::new();
    for (name, metadata) in [
        ("old-a", metadata_with(&[&old])),
        ("old-b", metadata_with(&[&old])),
        ("both", metadata_with(&[&old, &new])),
        ("foreign", org::other_tenant_metadata()),
        ("other-app", metadata_with(&[&other])),
    ] {
        let id = org::create_account(&sdk, name).await;
        let iam = org::iam_in(&sdk, &id).await;
        org::saml_provider(&iam, PROVIDER, &metadata).await;
        ids.push(id);
    }
    let dir = tempfile::tempdir().unwrap();
    let metadata = dir.path().join("federationmetadata.xml");
    std::fs::write(&metadata, metadata_with(&[&old, &new])).unwrap();
    let proxy = Proxy::start(&moto.url);
    World {
        proxy,
        sdk,
        old_sha,
        new_sha,
        new,
        metadata,
        _dir: dir,
        old_only: vec![ids[0].clone(), ids[1].clone()],
        both: ids[2].clone(),
        foreign: ids[3].clone(),
        other_app: ids[4].clone(),
        moto,
    }
}

impl World {
    /// `fedsync rotate --metadata <the document> ARGS`, configured with the old certificate.
    fn rotate(&self, args: &[&str]) -> std::process::Output {
        self.rotate_configured(&self.old_sha, args)
    }

    /// The same, with `saml-certificates` set to `certificates`.
    fn rotate_configured(&self, certificates: &str, args: &[&str]) -> std::process::Output {
        let mut cmd = fedsync();
        cmd.arg("rotate")
            .arg("--metadata")
            .arg(&self.metadata)
            .args(args);
        for (key, value) in org::aws_env(&self.proxy.url) {
            cmd.env(key, value);
        }
        cmd.env("FEDSYNC_SAML_CERTIFICATES", certificates);
        cmd.output().unwrap()
    }

    /// The metadata document IAM holds for the provider of `account`.
    async fn document(&self, account: &str) -> String {
        let iam = org::iam_in(&self.sdk, account).await;
        iam.get_saml_provider()
            .saml_provider_arn(arn(account))
            .send()
            .await
            .unwrap()
            .saml_metadata_document()
            .unwrap()
            .to_owned()
    }

    async fn documents(&self) -> Vec<String> {
        let mut all = Vec::new();
        for account in self
            .old_only
            .iter()
            .chain([&self.both, &self.foreign, &self.other_app])
        {
            all.push(self.document(account).await);
        }
        all
    }

    /// The providers `UpdateSAMLProvider` was sent for, through the proxy.
    fn updated(&self) -> Vec<String> {
        self.proxy
            .seen("UpdateSAMLProvider")
            .iter()
            .map(|s| s.body.clone())
            .collect()
    }

    /// `AssumeRole` calls into the writer role.
    fn writer_sessions(&self) -> usize {
        self.proxy
            .seen("AssumeRole")
            .iter()
            .filter(|s| s.body.contains("fedsync-provider-writer"))
            .count()
    }
}

fn arn(account: &str) -> String {
    format!("arn:aws:iam::{account}:saml-provider/{PROVIDER}")
}

/// `arn` as a form body carries it.
fn encoded(arn: &str) -> String {
    arn.replace(':', "%3A").replace('/', "%2F")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_writes_nothing_and_shows_what_each_account_would_get() {
    let w = world().await;
    let before = w.documents().await;
    let out = w.rotate(&["--dry-run"]);
    let text = assert_exit(&out, 0);
    for account in &w.old_only {
        assert!(
            text.contains(&format!("{}: update: adds {}", arn(account), w.new_sha)),
            "{text}"
        );
    }
    assert!(
        text.contains(&format!("{}: up to date", arn(&w.both))),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{} {}: left alone, not ours",
            w.foreign,
            arn(&w.foreign)
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{} {}: left alone, our entity id, but none of this app's certificates",
            w.other_app,
            arn(&w.other_app)
        )),
        "{text}"
    );
    assert!(
        text.contains("2 providers to update, 1 up to date, 2 left alone"),
        "{text}"
    );
    assert!(text.contains("Dry run: nothing written."), "{text}");
    assert!(w.updated().is_empty(), "no UpdateSAMLProvider");
    assert_eq!(
        w.writer_sessions(),
        0,
        "the writer role is not even assumed"
    );
    assert_eq!(w.documents().await, before);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotation_updates_exactly_the_providers_that_need_it_and_a_rerun_writes_nothing() {
    let w = world().await;
    let before = w.documents().await;
    let out = w.rotate(&[]);
    let text = assert_exit(&out, 0);

    let updated = w.updated();
    assert_eq!(updated.len(), 2, "{updated:?}");
    for account in &w.old_only {
        let sent = updated
            .iter()
            .filter(|body| body.contains(&encoded(&arn(account))))
            .count();
        assert_eq!(sent, 1, "one UpdateSAMLProvider for {account}");
    }
    let document = std::fs::read_to_string(&w.metadata).unwrap();
    for account in &w.old_only {
        assert_eq!(w.document(account).await, document, "{account}");
        assert!(
            text.contains(&format!("{}: updated, read back as written", arn(account))),
            "{text}"
        );
    }
    // Up to date, foreign and another app's providers: exactly as they were.
    let after = w.documents().await;
    assert_eq!(after[2..], before[2..]);
    // The providers table counts every account ready for both certificates, and the command
    // that configures them both is printed.
    assert!(
        text.contains("ready for the configured certificates: 3 accounts"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "FEDSYNC_SAML_CERTIFICATES={},{}",
            w.old_sha, w.new_sha
        )),
        "{text}"
    );

    // A rerun: every provider is read again and none written.
    let out = w.rotate(&[]);
    let text = assert_exit(&out, 0);
    assert!(
        text.contains("0 providers to update, 3 up to date"),
        "{text}"
    );
    assert_eq!(w.updated().len(), 2, "nothing more written");
    // Once saml-certificates has both, the same document changes nothing either.
    let both = format!("{},{}", w.old_sha, w.new_sha);
    let text = assert_exit(&w.rotate_configured(&both, &[]), 0);
    assert!(!text.contains("Then set saml-certificates"), "{text}");
    assert_eq!(w.updated().len(), 2);
    drop(w.moto);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_provider_that_would_lose_a_valid_certificate_refuses_the_rotation_until_dropped() {
    let w = world().await;
    // Entra's metadata once the old certificate is gone from the app: the new one only.
    let new_only = metadata_with(&[&w.new]);
    std::fs::write(&w.metadata, &new_only).unwrap();
    let before = w.documents().await;
    // Configured with both (the admin added the new one first, as the README says).
    let both = format!("{},{}", w.old_sha, w.new_sha);
    let run = |args: &[&str]| w.rotate_configured(&both, args);
    let out = run(&[]);
    let text = assert_exit(&out, 3);
    assert!(
        text.contains(&format!(
            "REFUSED: it holds {}, still valid, which the document lacks",
            w.old_sha
        )),
        "{text}"
    );
    let err = stderr(&out);
    assert!(
        err.contains("refused: 3 providers would lose a certificate that is still valid")
            && err.contains("--drop-certificate"),
        "{err}"
    );
    assert!(w.updated().is_empty());
    assert_eq!(w.documents().await, before, "nothing written");

    // A certificate the document carries cannot be dropped: exit 2, nothing written.
    let out = run(&["--drop-certificate", &w.new_sha]);
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert!(
        err.contains("names a certificate the document carries"),
        "{err}"
    );

    // Named: every provider of the app gets the new certificate alone.
    let out = run(&["--drop-certificate", &w.old_sha]);
    let text = assert_exit(&out, 0);
    assert_eq!(w.updated().len(), 3, "{text}");
    for account in w.old_only.iter().chain([&w.both]) {
        assert_eq!(w.document(account).await, new_only, "{account}");
    }
    assert!(
        text.contains(&format!("FEDSYNC_SAML_CERTIFICATES={} ", w.new_sha)),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_writer_role_denied_in_one_account_is_reported_and_the_others_are_written() {
    let w = world().await;
    let denied = &w.old_only[0];
    w.proxy.add(Rule {
        action: "AssumeRole",
        body_contains: Some(format!("{denied}%3Arole%2Ffedsync-provider-writer")),
        times: None,
        fault: Fault::Respond {
            status: 403,
            body: query_error(
                "AccessDenied",
                "User is not authorized to perform: sts:AssumeRole",
            ),
        },
    });
    let before = w.document(denied).await;
    let out = w.rotate(&[]);
    let text = assert_exit(&out, 4);
    assert!(
        text.contains(&format!(
            "{}: NOT written: cannot assume arn:aws:iam::{denied}:role/fedsync-provider-writer: AccessDenied",
            arn(denied)
        )),
        "{text}"
    );
    let other = &w.old_only[1];
    assert!(
        text.contains(&format!("{}: updated, read back as written", arn(other))),
        "{text}"
    );
    assert_eq!(w.document(denied).await, before, "nothing written there");
    assert_eq!(
        w.document(other).await,
        std::fs::read_to_string(&w.metadata).unwrap()
    );
    assert_eq!(w.updated().len(), 1);
    assert!(
        text.contains("run the same command again; it writes only what is left"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn metadata_of_another_app_or_another_tenant_is_refused_before_anything_is_read() {
    let w = world().await;
    let (other, _) = certificate(700);
    let cases = [
        (
            metadata_with(&[&other]),
            "carries none of the app's saml-certificates",
        ),
        (org::other_tenant_metadata(), "not saml-entity-id"),
        ("<EntityDescriptor".to_owned(), "not well-formed XML"),
    ];
    for (xml, expected) in cases {
        std::fs::write(&w.metadata, xml).unwrap();
        let out = w.rotate(&[]);
        assert_exit(&out, 2);
        let err = stderr(&out);
        assert!(
            err.contains(&format!("--metadata {}: ", w.metadata.display()))
                && err.contains(expected),
            "{err}"
        );
    }
    assert!(w.proxy.seen("ListAccounts").is_empty(), "nothing read");
    assert!(w.updated().is_empty());
}
