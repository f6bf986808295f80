//! `fedsync setup` against moto and the Graph emulator: non-interactive end to end (the SSM
//! parameters, the secret, the rendered template and the account list, then a sync that reads
//! only the prefix), missing and wrong answers (exit 2, nothing written), the dry run.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::graph_emulator::{CLIENT_ID, CLIENT_SECRET, Running, SP, TENANT, seed, start};
use crate::support::moto::Moto;
use crate::support::org::{self, ENTITY_ID, MANAGEMENT};

const BUCKET: &str = "fedsync-setup";
const PREFIX: &str = "/fedsync/test/";
const AWS_APP_ID: &str = "8adf8e6e-67b2-4cf2-a259-e3dc5476c621";

struct World {
    moto: Moto,
    emu: Running,
    sdk: aws_config::SdkConfig,
    s3: aws_sdk_s3::Client,
    member: String,
    kms_key: String,
    dir: tempfile::TempDir,
}

/// An Organization (management account with our provider and role Admin, one member account
/// with role Dev), a bucket and a KMS key in moto; the emulator's seed in Graph; the metadata
/// and an app manifest as files.
async fn world() -> World {
    world_seeded(seed()).await
}

/// [`world`], with `graph_seed` in the emulator.
async fn world_seeded(graph_seed: Value) -> World {
    let moto = Moto::start();
    let sdk = org::sdk(&moto.url).await;
    org::create_organization(&sdk).await;
    let member = org::create_account(&sdk, "member").await;
    for (account, role) in [(MANAGEMENT.to_owned(), "Admin"), (member.clone(), "Dev")] {
        let iam = org::iam_in(&sdk, &account).await;
        let idp = org::saml_provider(&iam, "AzureAD", &org::our_metadata()).await;
        org::role(&iam, "/", role, &org::saml_trust(&[&idp])).await;
    }
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    let kms_key = aws_sdk_kms::Client::new(&sdk)
        .create_key()
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("metadata.xml"), org::our_metadata()).unwrap();
    std::fs::write(
        dir.path().join("manifest.json"),
        serde_json::json!({
            "id": "0a0a0a0a-0000-4000-8000-000000000001",
            "appId": AWS_APP_ID,
            "displayName": "AWS Single-Account Access",
            "appRoles": [{"displayName": "msiam_access", "value": null, "isEnabled": true}],
        })
        .to_string(),
    )
    .unwrap();
    World {
        moto,
        emu: start(graph_seed).await,
        sdk,
        s3,
        member,
        kms_key,
        dir,
    }
}

impl World {
    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `fedsync ARGS` with the AWS environment, the emulator's URLs (local settings, never
    /// stored) and `vars`.
    fn run(&self, args: &[&str], vars: &[(&str, &str)]) -> Output {
        let mut cmd = crate::support::fedsync();
        cmd.args(args);
        for (key, value) in org::aws_env(&self.moto.url) {
            if !key.starts_with("FEDSYNC_") {
                cmd.env(key, value);
            }
        }
        cmd.env("FEDSYNC_AUTHORITY_URL", &self.emu.base);
        cmd.env("FEDSYNC_GRAPH_URL", &self.emu.base);
        for (key, value) in vars {
            cmd.env(key, value);
        }
        cmd.output().unwrap()
    }

    /// Every answer, as a pipeline gives them.
    fn answers(&self) -> Vec<(&'static str, String)> {
        vec![
            ("FEDSYNC_SSM_PREFIX", PREFIX.to_owned()),
            ("FEDSYNC_TENANT_ID", TENANT.to_owned()),
            ("FEDSYNC_CLIENT_ID", CLIENT_ID.to_owned()),
            ("FEDSYNC_CLIENT_SECRET", CLIENT_SECRET.to_owned()),
            (
                "FEDSYNC_SAML_METADATA",
                path_str(&self.file("metadata.xml")),
            ),
            (
                "FEDSYNC_APP_MANIFEST",
                path_str(&self.file("manifest.json")),
            ),
            ("FEDSYNC_BACKUP_BUCKET", BUCKET.to_owned()),
            ("FEDSYNC_BACKUP_KMS_KEY", self.kms_key.clone()),
            ("FEDSYNC_MAX_REMOVALS", "100%".to_owned()),
        ]
    }

    fn setup(&self, extra: &[&str], answers: &[(&'static str, String)]) -> Output {
        let vars: Vec<(&str, &str)> = answers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut args = vec!["setup"];
        args.extend_from_slice(extra);
        self.run(&args, &vars)
    }

    /// `fedsync setup` for a terminal (rexpect), AWS at `aws_endpoint`, only the prefix given.
    fn interactive_setup(&self, aws_endpoint: &str) -> std::process::Command {
        let mut cmd = crate::support::fedsync_process();
        for (key, value) in org::aws_env(aws_endpoint) {
            if !key.starts_with("FEDSYNC_") {
                cmd.env(key, value);
            }
        }
        cmd.env("FEDSYNC_AUTHORITY_URL", &self.emu.base)
            .env("FEDSYNC_GRAPH_URL", &self.emu.base)
            .env("FEDSYNC_SSM_PREFIX", PREFIX)
            .env("FEDSYNC_LOG_FORMAT", "text")
            .env("NO_COLOR", "1")
            .arg("setup");
        cmd
    }

    async fn parameters(&self) -> Vec<(String, String)> {
        let ssm = aws_sdk_ssm::Client::new(&self.sdk);
        let mut out = Vec::new();
        let mut pages = ssm
            .get_parameters_by_path()
            .path(PREFIX)
            .recursive(true)
            .with_decryption(true)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for p in page.unwrap().parameters() {
                out.push((
                    p.name().unwrap().trim_start_matches(PREFIX).to_owned(),
                    p.value().unwrap().to_owned(),
                ));
            }
        }
        out.sort();
        out
    }

    async fn object(&self, key: &str) -> Option<String> {
        let got = self
            .s3
            .get_object()
            .bucket(BUCKET)
            .key(key)
            .send()
            .await
            .ok()?;
        let bytes = got.body.collect().await.unwrap().into_bytes();
        Some(String::from_utf8(bytes.to_vec()).unwrap())
    }

    async fn secret(&self, name: &str) -> Option<String> {
        aws_sdk_secretsmanager::Client::new(&self.sdk)
            .get_secret_value()
            .secret_id(name)
            .send()
            .await
            .ok()
            .and_then(|s| s.secret_string().map(str::to_owned))
    }
}

/// At the terminal: the tenant and the default cloud, up to the metadata file's question.
fn answer_the_tenant_questions(p: &mut rexpect::session::PtySession) {
    p.exp_string("Entra tenant id").unwrap();
    p.send_line(TENANT).unwrap();
    p.exp_string("Microsoft cloud").unwrap();
    p.send_line("").unwrap();
    p.exp_string("Federation metadata XML file").unwrap();
}

/// At the terminal, after the naming convention: the default reader role, the bucket, no KMS
/// key, and the default group answers.
fn answer_the_aws_questions(p: &mut rexpect::session::PtySession) {
    p.exp_string("Cross-account read role name").unwrap();
    p.send_line("").unwrap();
    p.exp_string("S3 bucket").unwrap();
    p.send_line(BUCKET).unwrap();
    p.exp_string("KMS key").unwrap();
    p.send_line("").unwrap();
    p.exp_string("Create one security group").unwrap();
    p.send_line("").unwrap();
    p.exp_string("Assign each group").unwrap();
    p.send_line("").unwrap();
}

fn path_str(path: &Path) -> String {
    path.to_str().unwrap().to_owned()
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\n{}{}",
        out.status.code(),
        crate::support::stdout(out),
        crate::support::stderr(out)
    )
}

/// `SamlMetadataDocument`'s default in a rendered template, read by a YAML parser.
fn metadata_default(template: &str) -> String {
    use saphyr::{LoadableYamlNode, Yaml};
    let docs = Yaml::load_from_str(template).expect("the rendered template is YAML");
    let doc = &docs[0];
    let default = &doc["Parameters"]["SamlMetadataDocument"]["Default"];
    default
        .as_str()
        .expect("SamlMetadataDocument has a string default")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn setup_with_yes_stores_proves_renders_and_a_sync_then_runs_from_the_prefix_alone() {
    let w = world().await;
    let out = w.setup(&["--yes"], &w.answers());
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(
        !all.contains(CLIENT_SECRET),
        "the secret is never printed: {all}"
    );
    assert!(
        all.contains("naming preview: AWS 123456789012 - Admin"),
        "{all}"
    );
    assert!(
        all.contains("signing certificate SHA-256 9cf73901"),
        "{all}"
    );

    // The settings, as sync reads them.
    let params = w.parameters().await;
    let get = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("{name} stored: {params:?}"))
    };
    assert_eq!(get("tenant-id"), TENANT);
    assert_eq!(get("client-id"), CLIENT_ID);
    assert_eq!(
        get("service-principal-id"),
        SP,
        "found by the manifest's appId"
    );
    assert_eq!(get("saml-entity-id"), ENTITY_ID);
    assert_eq!(
        get("saml-certificates"),
        org::OUR_CERT_SHA256.replace(':', "").to_lowercase()
    );
    assert_eq!(get("credentials-secret"), "fedsync/entra-credentials");
    assert_eq!(get("backup-bucket"), BUCKET);
    assert_eq!(get("naming-convention"), "AWS {0} - {1}");
    assert!(
        !params
            .iter()
            .any(|(n, _)| n == "authority-url" || n == "client-secret"),
        "local settings and secrets are not stored: {params:?}"
    );

    // The credential, in the secret.
    let secret: Value =
        serde_json::from_str(&w.secret("fedsync/entra-credentials").await.unwrap()).unwrap();
    assert_eq!(secret["client_secret"], CLIENT_SECRET);

    // The template: YAML whose default is a metadata document with our entity and certificate.
    let template = w
        .object("setup/saml-roles.yaml")
        .await
        .expect("template uploaded");
    let document = metadata_default(&template);
    assert!(document.len() <= 4096);
    let parsed = fedsync::metadata::parse(&document).expect("the embedded metadata parses");
    assert!(parsed.matches(ENTITY_ID, &[org::OUR_CERT_SHA256.parse().unwrap()]));
    cfn_lint(&template, w.dir.path());

    // The child accounts: the member, not the management account.
    let accounts: Vec<String> =
        serde_json::from_str(&w.object("setup/accounts.json").await.unwrap()).unwrap();
    assert_eq!(accounts, vec![w.member.clone()]);

    // A sync with only the prefix (and the emulator's URLs, which are local settings).
    let sync = w.run(&["sync"], &[("FEDSYNC_SSM_PREFIX", PREFIX)]);
    assert_eq!(sync.status.code(), Some(0), "{}", text(&sync));

    // A rerun with no answer but the prefix and --yes keeps everything (stored values are the
    // defaults, the secret is kept) and still needs the metadata file.
    let rerun = w.setup(
        &["--yes"],
        &[
            ("FEDSYNC_SSM_PREFIX", PREFIX.to_owned()),
            ("FEDSYNC_SAML_METADATA", path_str(&w.file("metadata.xml"))),
        ],
    );
    assert_eq!(rerun.status.code(), Some(0), "{}", text(&rerun));
    assert_eq!(w.parameters().await, params);
}

/// `setup --app b` after a first setup: app b's own settings under `apps/b/`, its StackSet
/// files under `setup/apps/b/`, the shared settings and the credential as they were; then a sync
/// from the prefix alone runs both apps.
#[tokio::test(flavor = "multi_thread")]
async fn setup_app_adds_a_second_app_under_its_own_parameters_and_files() {
    const SP_B: &str = "b0b0b0b0-3c1d-4d0e-9a57-6a3b2f1e0c22";
    let mut graph_seed = seed();
    let mut b = graph_seed["service_principal"].clone();
    b["id"] = serde_json::json!(SP_B);
    b["appId"] = serde_json::json!("b0b0b0b0-67b2-4cf2-a259-e3dc5476c622");
    b["appRoles"] = serde_json::json!([b["appRoles"][0].clone()]);
    graph_seed["service_principals"] = serde_json::json!([b]);
    let w = world_seeded(graph_seed).await;
    let first = w.setup(&["--yes"], &w.answers());
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    let shared = w.parameters().await;

    // App b's metadata: our entity id, signed with another certificate.
    let ours = org::pem_body(&org::fixture("idp-signing.pem"));
    let theirs = org::pem_body(&org::fixture("role-descriptor.pem"));
    std::fs::write(
        w.file("metadata-b.xml"),
        org::our_metadata().replace(&ours, &theirs),
    )
    .unwrap();
    let b_cert = fedsync::metadata::parse(&org::our_metadata().replace(&ours, &theirs))
        .unwrap()
        .signing_certificates[0]
        .sha256
        .to_string();
    let out = w.setup(
        &["--app", "b", "--yes"],
        &[
            ("FEDSYNC_SSM_PREFIX", PREFIX.to_owned()),
            ("FEDSYNC_SAML_METADATA", path_str(&w.file("metadata-b.xml"))),
            ("FEDSYNC_SERVICE_PRINCIPAL_ID", SP_B.to_owned()),
            ("FEDSYNC_MAX_REMOVALS", "3".to_owned()),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let params = w.parameters().await;
    let get = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(get("apps/b/service-principal-id").as_deref(), Some(SP_B));
    assert_eq!(get("apps/b/saml-certificates"), Some(b_cert.clone()));
    assert_eq!(get("apps/b/max-removals").as_deref(), Some("3"));
    assert_eq!(
        get("apps/b/naming-convention"),
        None,
        "an inherited value is not stored for the app: {params:?}"
    );
    let unchanged: Vec<&(String, String)> = params
        .iter()
        .filter(|(n, _)| !n.starts_with("apps/"))
        .collect();
    assert_eq!(
        unchanged,
        shared.iter().collect::<Vec<_>>(),
        "the shared settings (and the default app's) are as the first setup left them"
    );
    let template = w
        .object("setup/apps/b/saml-roles.yaml")
        .await
        .expect("app b's template uploaded");
    let document = metadata_default(&template);
    let parsed = fedsync::metadata::parse(&document).expect("the embedded metadata parses");
    assert_eq!(parsed.signing_certificates[0].sha256.to_string(), b_cert);
    assert!(w.object("setup/apps/b/accounts.json").await.is_some());
    let default_template = w.object("setup/saml-roles.yaml").await.unwrap();
    assert!(
        fedsync::metadata::parse(&metadata_default(&default_template))
            .unwrap()
            .matches(ENTITY_ID, &[org::OUR_CERT_SHA256.parse().unwrap()]),
        "the first app's template is its own still"
    );

    // A sync from the prefix alone runs both apps.
    let sync = w.run(
        &["sync", "--output", "json"],
        &[("FEDSYNC_SSM_PREFIX", PREFIX)],
    );
    assert_eq!(sync.status.code(), Some(0), "{}", text(&sync));
    let apps: Vec<String> = crate::support::stdout(&sync)
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["app"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(apps, ["b", "default"]);
}

/// cfn-lint on the rendered template, when `.venv/bin/cfn-lint` exists.
fn cfn_lint(template: &str, dir: &Path) {
    let lint = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/cfn-lint");
    if !lint.exists() {
        eprintln!("cfn-lint is absent from .venv (setup/dev-env.sh installs it): lint skipped");
        return;
    }
    let path = dir.join("saml-roles.yaml");
    std::fs::write(&path, template).unwrap();
    let out = std::process::Command::new(lint)
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "cfn-lint: {}", text(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_answers_exit_2_listing_each_and_nothing_is_written() {
    let w = world().await;
    let out = w.setup(&["--yes"], &[("FEDSYNC_SSM_PREFIX", PREFIX.to_owned())]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = crate::support::stderr(&out);
    for answer in [
        "tenant-id",
        "saml-metadata",
        "service-principal-id",
        "client-id",
        "credential",
        "backup-bucket",
    ] {
        assert!(
            err.contains(&format!("{answer}: required")),
            "{answer} in: {err}"
        );
    }
    assert!(w.parameters().await.is_empty());

    let no_tty = w.setup(&[], &w.answers());
    assert_eq!(no_tty.status.code(), Some(2));
    assert!(crate::support::stderr(&no_tty).contains("pass --yes"));
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_answers_are_named_and_nothing_is_written() {
    let w = world().await;
    std::fs::write(w.file("bad.xml"), "<EntityDescriptor><unclosed>").unwrap();
    // Each change replaces one answer; an empty value removes it.
    let with = |changes: &[(&'static str, String)]| {
        let mut answers = w.answers();
        for (k, v) in changes {
            answers.retain(|(key, _)| key != k);
            if !v.is_empty() {
                answers.push((k, v.clone()));
            }
        }
        w.setup(&["--yes"], &answers)
    };
    let cases: Vec<(Vec<(&'static str, String)>, &str)> = vec![
        (
            vec![("FEDSYNC_SAML_METADATA", path_str(&w.file("bad.xml")))],
            "saml-metadata: ",
        ),
        (
            vec![("FEDSYNC_CLIENT_SECRET", "wrong-secret".into())],
            "credential: no token for the sync app",
        ),
        (
            vec![
                ("FEDSYNC_APP_MANIFEST", String::new()),
                (
                    "FEDSYNC_SERVICE_PRINCIPAL_ID",
                    "11111111-2222-4333-8444-555555555555".into(),
                ),
            ],
            "service-principal-id: not found",
        ),
        (
            vec![("FEDSYNC_NAMING_CONVENTION", "AWS {1}".into())],
            "naming-convention",
        ),
        (
            vec![("FEDSYNC_BACKUP_BUCKET", "no-such-bucket".into())],
            "backup-bucket: cannot reach s3://no-such-bucket",
        ),
    ];
    for (changes, expected) in cases {
        let out = with(&changes);
        let err = crate::support::stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{changes:?}: {}", text(&out));
        assert!(
            err.contains(expected),
            "{changes:?}: expected {expected:?} in {err}"
        );
        assert!(!err.contains("wrong-secret"), "{err}");
    }
    assert!(w.parameters().await.is_empty(), "nothing stored");
    assert!(w.secret("fedsync/entra-credentials").await.is_none());
    assert!(w.object("setup/saml-roles.yaml").await.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_lists_the_writes_with_the_secret_redacted_and_writes_nothing() {
    let w = world().await;
    let out = w.setup(&["--dry-run"], &w.answers());
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(
        all.contains("would write (dry run; nothing written)"),
        "{all}"
    );
    assert!(
        all.contains("secret   fedsync/entra-credentials = ****"),
        "{all}"
    );
    assert!(
        all.contains(&format!("ssm      {PREFIX}tenant-id = {TENANT}")),
        "{all}"
    );
    assert!(
        all.contains(&format!("s3       s3://{BUCKET}/setup/saml-roles.yaml")),
        "{all}"
    );
    assert!(!all.contains(CLIENT_SECRET));
    assert!(w.parameters().await.is_empty());
    assert!(w.secret("fedsync/entra-credentials").await.is_none());
}

/// The whole interactive run through a pseudo-terminal: a bad metadata file, a wrong secret and
/// a malformed naming convention are each rejected at their prompt, then the right answers are
/// stored.
#[tokio::test(flavor = "multi_thread")]
async fn interactive_setup_through_a_pty_rejects_bad_answers_at_the_prompt_then_stores() {
    let w = world().await;
    std::fs::write(w.file("bad.xml"), "<EntityDescriptor><unclosed>").unwrap();
    let cmd = w.interactive_setup(&w.moto.url);
    let bad = path_str(&w.file("bad.xml"));
    let good = path_str(&w.file("metadata.xml"));
    let transcript = tokio::task::spawn_blocking(move || {
        let mut p = rexpect::session::spawn_command(cmd, Some(20_000)).unwrap();
        answer_the_tenant_questions(&mut p);
        p.send_line(&bad).unwrap();
        p.exp_string("has no EntityDescriptor root element")
            .unwrap();
        p.send_line(&good).unwrap();
        p.exp_string("entity id https://sts.windows.net/").unwrap();
        p.exp_string("client) id").unwrap();
        p.send_line(CLIENT_ID).unwrap();
        p.exp_string("Sync app credential").unwrap();
        p.send_line("").unwrap();
        p.exp_string("Client secret (hidden)").unwrap();
        p.send_line("wrong-secret").unwrap();
        p.exp_string("no token for the sync app").unwrap();
        p.exp_string("Sync app credential").unwrap();
        p.send_line("").unwrap();
        p.exp_string("Client secret (hidden)").unwrap();
        p.send_line(CLIENT_SECRET).unwrap();
        p.exp_string("Secrets Manager secret").unwrap();
        p.send_line("").unwrap();
        p.exp_string("service principal").unwrap();
        p.send_line(SP).unwrap();
        p.exp_string("naming convention").unwrap();
        p.send_line("AWS {1}").unwrap();
        p.exp_string("account").unwrap();
        p.send_line("").unwrap();
        p.exp_string("preview: AWS 123456789012 - Admin").unwrap();
        p.exp_string("Use this convention? [Y/n]").unwrap();
        p.send_line("").unwrap();
        answer_the_aws_questions(&mut p);
        p.exp_string("Write these now? [y/N]").unwrap();
        p.send_line("y").unwrap();
        p.exp_eof().unwrap()
    })
    .await
    .unwrap();
    assert!(transcript.contains("fedsync setup wrote:"), "{transcript}");
    assert!(
        !transcript.contains(CLIENT_SECRET),
        "the secret is never echoed"
    );
    let params = w.parameters().await;
    assert!(
        params.contains(&("service-principal-id".to_owned(), SP.to_owned())),
        "{params:?}"
    );
    assert!(params.contains(&("naming-convention".to_owned(), "AWS {0} - {1}".to_owned())));
    assert!(w.secret("fedsync/entra-credentials").await.is_some());
}

/// `setup --credential aws-federation` after a setup with a secret (issue 19), through the fake
/// outbound identity federation in front of moto: without consent it refuses while federation is
/// off; with `--enable-outbound-federation` it enables it first, stores `credential` and no
/// secret (the old `credentials-secret` parameter deleted, the secret itself left), and prints the
/// federated credential — not proved, since setup runs as the admin. With that credential on the
/// sync app, setup as the task role proves it by signing in, and a sync from the prefix alone
/// runs as the task role with no secret anywhere.
#[tokio::test(flavor = "multi_thread")]
async fn setup_with_aws_federation_enables_it_stores_no_secret_and_prints_the_federated_credential()
{
    use crate::support::outbound_federation::OutboundFederation;
    let w = world().await;
    let first = w.setup(&["--yes"], &w.answers());
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    let fake = OutboundFederation::start(&w.moto.url, false);
    let federated: Vec<(&'static str, String)> = w
        .answers()
        .into_iter()
        .filter(|(k, _)| !matches!(*k, "FEDSYNC_CLIENT_SECRET" | "FEDSYNC_APP_MANIFEST"))
        .chain([
            ("FEDSYNC_SERVICE_PRINCIPAL_ID", SP.to_owned()),
            ("FEDSYNC_CREDENTIAL", "aws-federation".to_owned()),
            ("AWS_ENDPOINT_URL", fake.url.clone()),
        ])
        .collect();
    let before = w.parameters().await;

    let refused = w.setup(&["--yes"], &federated);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    let err = crate::support::stderr(&refused);
    assert!(
        err.contains(&format!(
            "AWS outbound identity federation is off in account {MANAGEMENT}"
        )) && err.contains("--enable-outbound-federation")
            && err.contains("aws iam enable-outbound-web-identity-federation"),
        "{err}"
    );
    assert_eq!(w.parameters().await, before, "nothing written");

    let out = w.setup(&["--yes", "--enable-outbound-federation"], &federated);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    let issuer = fake.issuer(MANAGEMENT);
    let subject = format!("arn:aws:iam::{MANAGEMENT}:role/fedsync-task");
    for expected in [
        format!("iam      enable outbound identity federation in account {MANAGEMENT}"),
        format!("ssm      {PREFIX}credential = aws-federation"),
        format!("ssm      {PREFIX}credentials-secret deleted"),
        format!("  issuer   {issuer}\n"),
        format!("  subject  {subject}\n"),
        "  audience api://AzureADTokenExchange\n".to_owned(),
        format!("az ad app federated-credential create --id {CLIENT_ID} --parameters"),
        "not proved yet: setup runs as".to_owned(),
    ] {
        assert!(all.contains(&expected), "{expected:?} in:\n{all}");
    }
    assert!(!all.contains("secret   "), "no secret is written: {all}");
    let params = w.parameters().await;
    let stored = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(stored("credential").as_deref(), Some("aws-federation"));
    assert_eq!(stored("credentials-secret"), None, "{params:?}");
    assert!(
        w.secret("fedsync/entra-credentials").await.is_some(),
        "the old secret is left for its owner to delete"
    );
    let info = aws_sdk_iam::Client::new(&org::sdk(&fake.url).await)
        .get_outbound_web_identity_federation_info()
        .send()
        .await
        .expect("federation is on now");
    assert_eq!(info.issuer_identifier(), Some(issuer.as_str()));

    // The admin adds the federated credential; setup as the task role proves it.
    let reply = w
        .emu
        .graph(
            reqwest::Method::POST,
            &format!("/v1.0/applications(appId='{CLIENT_ID}')/federatedIdentityCredentials"),
            Some(serde_json::json!({"name": "fedsync-task", "issuer": issuer,
                "subject": subject, "audiences": ["api://AzureADTokenExchange"]})),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let role = crate::federation::task_role_session(&w.sdk).await;
    let as_task: Vec<(&'static str, String)> =
        federated.iter().cloned().chain(role.env()).collect();
    let proved = w.setup(&["--yes"], &as_task);
    let all = text(&proved);
    assert_eq!(proved.status.code(), Some(0), "{all}");
    assert!(
        all.contains("proved: setup runs as the task role and signed in to Entra"),
        "{all}"
    );
    assert!(!all.contains("iam      enable"), "already on: {all}");

    let mut sync_env: Vec<(&str, &str)> = vec![
        ("FEDSYNC_SSM_PREFIX", PREFIX),
        ("AWS_ENDPOINT_URL", fake.url.as_str()),
    ];
    let keys = role.env();
    sync_env.extend(keys.iter().map(|(k, v)| (*k, v.as_str())));
    let sync = w.run(&["sync"], &sync_env);
    assert_eq!(sync.status.code(), Some(0), "{}", text(&sync));
    assert!(!fake.issued().is_empty(), "the sync signed in with a JWT");
}

/// On a terminal, the credential question offers AWS outbound identity federation: chosen, setup
/// asks whether it may enable it, asks no secret and no secret name, takes the service
/// principal by id, lists the enabling first among the writes, and prints the federated
/// credential.
#[tokio::test(flavor = "multi_thread")]
async fn interactive_setup_offers_aws_federation_and_asks_before_enabling_it() {
    use crate::support::outbound_federation::OutboundFederation;
    let w = world().await;
    let fake = OutboundFederation::start(&w.moto.url, false);
    let cmd = w.interactive_setup(&fake.url);
    let good = path_str(&w.file("metadata.xml"));
    let transcript = tokio::task::spawn_blocking(move || {
        let mut p = rexpect::session::spawn_command(cmd, Some(20_000)).unwrap();
        answer_the_tenant_questions(&mut p);
        p.send_line(&good).unwrap();
        p.exp_string("client) id").unwrap();
        p.send_line(CLIENT_ID).unwrap();
        p.exp_string("AWS outbound identity federation (no secret; recommended)")
            .unwrap();
        // Down twice to the third choice, then Enter.
        p.send("\x1b[B\x1b[B").unwrap();
        p.send_line("").unwrap();
        p.exp_string("may setup enable it? [y/N]").unwrap();
        p.send_line("y").unwrap();
        p.exp_string("service principal").unwrap();
        p.send_line(SP).unwrap();
        p.exp_string("not read: the task's first run signs in and reads it")
            .unwrap();
        p.exp_string("naming convention").unwrap();
        p.send_line("").unwrap();
        p.exp_string("Use this convention? [Y/n]").unwrap();
        p.send_line("").unwrap();
        answer_the_aws_questions(&mut p);
        p.exp_string("enable outbound identity federation in account")
            .unwrap();
        p.exp_string("Write these now? [y/N]").unwrap();
        p.send_line("y").unwrap();
        p.exp_eof().unwrap()
    })
    .await
    .unwrap();
    assert!(
        !transcript.contains("Secrets Manager secret"),
        "{transcript}"
    );
    assert!(transcript.contains("fedsync setup wrote:"), "{transcript}");
    assert!(
        transcript.contains(&format!("issuer   {}", fake.issuer(MANAGEMENT))),
        "{transcript}"
    );
    let params = w.parameters().await;
    assert!(
        params.contains(&("credential".to_owned(), "aws-federation".to_owned())),
        "{params:?}"
    );
    assert!(
        !params.iter().any(|(n, _)| n == "credentials-secret"),
        "{params:?}"
    );
    assert!(w.secret("fedsync/entra-credentials").await.is_none());
}
