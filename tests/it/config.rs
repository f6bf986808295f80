//! Settings through the binary: `fedsync config show` with values from every source — flags,
//! environment, SSM parameters (String, StringList, SecureString) and the Secrets Manager
//! credential in moto, the config file, defaults — the problems that exit 2, and `inventory` and
//! `plan` taking their settings from SSM and the config file.

use std::path::Path;

use aws_config::SdkConfig;
use aws_sdk_ssm::types::ParameterType;
use serde_json::Value;

use crate::support::moto::Moto;
use crate::support::org::{self, MANAGEMENT};
use crate::support::{fedsync, stderr, stdout};

/// A client secret that must never be printed.
const SECRET: &str = "s3cr3t-Client-Value-7f2a";
/// A SecureString parameter's value that must never be printed.
const SECURE: &str = "ext-id-secure-9k";
const TENANT: &str = "72f988bf-0000-4000-8000-00000000a001";
const CLIENT: &str = "5b1e1f7a-0000-4000-8000-00000000c001";
const SP: &str = "5f0b5a8e-3c1d-4d0e-9a57-6a3b2f1e0c11";
const OTHER_SHA256: &str = "0000000000000000000000000000000000000000000000000000000000000001";

async fn put_parameter(sdk: &SdkConfig, name: &str, value: &str, kind: ParameterType) {
    aws_sdk_ssm::Client::new(sdk)
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(kind)
        .send()
        .await
        .expect("put parameter");
}

async fn put_secret(sdk: &SdkConfig, name: &str, text: &str) {
    aws_sdk_secretsmanager::Client::new(sdk)
        .create_secret()
        .name(name)
        .secret_string(text)
        .send()
        .await
        .expect("create secret");
}

/// `fedsync` with the AWS environment for moto at `endpoint`, and no fedsync setting.
fn with_aws(endpoint: &str) -> assert_cmd::Command {
    let mut cmd = fedsync();
    for (key, value) in org::aws_env(endpoint) {
        if !key.starts_with("FEDSYNC_") {
            cmd.env(key, value);
        }
    }
    cmd
}

/// Every setting the sync needs, by environment variable, with the secret as the credential.
fn sync_env(cmd: &mut assert_cmd::Command) -> &mut assert_cmd::Command {
    cmd.env("FEDSYNC_TENANT_ID", TENANT)
        .env("FEDSYNC_CLIENT_ID", CLIENT)
        .env("FEDSYNC_SERVICE_PRINCIPAL_ID", SP)
        .env("FEDSYNC_SAML_ENTITY_ID", org::ENTITY_ID)
        .env("FEDSYNC_SAML_CERTIFICATES", org::OUR_CERT_SHA256)
        .env("FEDSYNC_BACKUP_BUCKET", "fedsync-backups")
}

fn json_rows(out: &std::process::Output) -> Vec<Value> {
    serde_json::from_str::<Value>(&stdout(out))
        .unwrap_or_else(|e| panic!("stdout is JSON ({e}): {}", stdout(out)))
        .as_array()
        .expect("an array")
        .clone()
}

/// (value, source) of the row `name`; the value is `None` when unset.
fn row(rows: &[Value], name: &str) -> (Option<String>, String) {
    let row = rows
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no row {name}"));
    (
        row["value"].as_str().map(str::to_owned),
        row["source"].as_str().unwrap().to_owned(),
    )
}

/// The text row of `name`, its columns joined by single spaces.
fn text_row(out: &std::process::Output, name: &str) -> String {
    let text = stdout(out);
    text.lines()
        .find(|l| {
            l.get(2..)
                .is_some_and(|l| l.starts_with(&format!("{name} ")))
        })
        .unwrap_or_else(|| panic!("no row {name} in\n{text}"))
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn assert_no_secret(out: &std::process::Output, secrets: &[&str]) {
    for secret in secrets {
        assert!(!stdout(out).contains(secret), "stdout shows {secret}");
        assert!(!stderr(out).contains(secret), "stderr shows {secret}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn config_show_tells_each_value_and_its_source_and_hides_secrets() {
    let moto = Moto::start();
    let sdk = org::sdk(&moto.url).await;
    let p = |name: &str| format!("/fedsync/prod/{name}");
    use ParameterType::{SecureString, String as Plain, StringList};
    for (name, value, kind) in [
        ("tenant-id", "11111111-1111-4111-8111-111111111111", Plain),
        ("client-id", CLIENT, Plain),
        ("service-principal-id", SP, Plain),
        ("saml-entity-id", org::ENTITY_ID, Plain),
        (
            "saml-certificates",
            &format!("{},{OTHER_SHA256}", org::OUR_CERT_SHA256),
            StringList,
        ),
        ("external-id", SECURE, SecureString),
        ("credentials-secret", "fedsync/entra", Plain),
        ("backup-bucket", "from-ssm-bucket", Plain),
    ] {
        put_parameter(&sdk, &p(name), value, kind).await;
    }
    put_secret(
        &sdk,
        "fedsync/entra",
        &serde_json::json!({ "client_secret": SECRET }).to_string(),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fedsync.toml");
    std::fs::write(
        &file,
        r#"
backup-bucket = "from-file-bucket"
max-removals = "5%"
naming-convention = "{account_name}/{role_name}"
include-accounts = ["111111111111", "222222222222"]
concurrency = 2
"#,
    )
    .unwrap();

    let run = |output: &str| {
        with_aws(&moto.url)
            .env("FEDSYNC_TENANT_ID", TENANT)
            .env("FEDSYNC_CONCURRENCY", "4")
            .args(["config", "show", "--output", output, "--concurrency", "8"])
            .args(["--ssm-prefix", "/fedsync/prod", "--config"])
            .arg(&file)
            .output()
            .unwrap()
    };
    let out = run("json");
    crate::support::assert_exit(&out, 0);
    assert_no_secret(&out, &[SECRET, SECURE]);
    let rows = json_rows(&out);
    let file_source = format!("config file {}", file.display());
    let s = |v: &str| Some(v.to_owned());
    for (name, value, source) in [
        ("concurrency", s("8"), "flag --concurrency".to_owned()),
        ("tenant-id", s(TENANT), "env FEDSYNC_TENANT_ID".to_owned()),
        ("client-id", s(CLIENT), format!("ssm {}", p("client-id"))),
        (
            "backup-bucket",
            s("from-ssm-bucket"),
            format!("ssm {}", p("backup-bucket")),
        ),
        (
            "saml-certificates",
            s(&format!("{},{OTHER_SHA256}", org::OUR_CERT_SHA256)),
            format!("ssm {}", p("saml-certificates")),
        ),
        (
            "external-id",
            s("****"),
            format!("ssm {}", p("external-id")),
        ),
        ("max-removals", s("5%"), file_source.clone()),
        (
            "include-accounts",
            s("111111111111,222222222222"),
            file_source.clone(),
        ),
        ("cloud", s("global"), "default".to_owned()),
        ("create-groups", s("true"), "default".to_owned()),
        (
            "graph-url",
            s("https://graph.microsoft.com"),
            "default".to_owned(),
        ),
        ("client-secret", None, "default".to_owned()),
        ("group-owner-id", None, "default".to_owned()),
        (
            "credential",
            s("client secret ****"),
            "secrets manager fedsync/entra".to_owned(),
        ),
    ] {
        assert_eq!(row(&rows, name), (value, source), "{name}");
    }
    assert!(rows.iter().all(|r| r["problem"].is_null()), "{rows:#?}");

    let text = run("text");
    crate::support::assert_exit(&text, 0);
    assert_no_secret(&text, &[SECRET, SECURE]);
    assert!(stdout(&text).starts_with("  SETTING"), "{}", stdout(&text));
    assert_eq!(
        text_row(&text, "concurrency"),
        "concurrency 8 flag --concurrency"
    );
    assert_eq!(
        text_row(&text, "external-id"),
        "external-id **** ssm /fedsync/prod/external-id"
    );
    assert_eq!(
        text_row(&text, "naming-convention"),
        format!("naming-convention {{account_name}}/{{role_name}} {file_source}")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_credentials_secret_exits_2_naming_the_secret_but_not_its_content() {
    let moto = Moto::start();
    let sdk = org::sdk(&moto.url).await;
    put_secret(
        &sdk,
        "fedsync/renamed-key",
        &serde_json::json!({ "clientSecret": SECRET }).to_string(),
    )
    .await;
    put_secret(&sdk, "fedsync/not-json", &format!("client_secret={SECRET}")).await;

    for (secret, what) in [
        (
            "fedsync/renamed-key",
            "secret fedsync/renamed-key has 1 key(s) other than client_secret, certificate_pem and private_key_pem",
        ),
        (
            "fedsync/not-json",
            "secret fedsync/not-json is not JSON (syntax error at line 1, column 1)",
        ),
        (
            "fedsync/missing",
            "cannot read secret fedsync/missing: ResourceNotFoundException",
        ),
    ] {
        let out = sync_env(&mut with_aws(&moto.url))
            .env("FEDSYNC_CREDENTIALS_SECRET", secret)
            .args(["config", "show"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{secret}: {}", stderr(&out));
        assert_no_secret(&out, &[SECRET]);
        let err = stderr(&out);
        assert!(err.starts_with("error: invalid settings\n"), "{err}");
        assert!(
            err.contains(&format!(
                "credentials-secret (from env FEDSYNC_CREDENTIALS_SECRET): {what}"
            )),
            "{err}"
        );
        // The table still comes first, the bad row marked.
        assert_eq!(
            text_row(&out, "credentials-secret"),
            format!("! credentials-secret {secret} env FEDSYNC_CREDENTIALS_SECRET")
        );
        assert_eq!(text_row(&out, "credential"), "credential - -");
    }
}

#[test]
fn invalid_values_from_every_source_exit_2_with_every_problem_listed() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fedsync.toml");
    std::fs::write(&file, "concurrency = 0\nmax-removal = \"5\"\n").unwrap();
    let out = sync_env(&mut fedsync())
        .env_remove("FEDSYNC_TENANT_ID")
        .env("FEDSYNC_CLIENT_SECRET", SECRET)
        .env("FEDSYNC_CREATE_GROUPS", "yes")
        .env(
            "FEDSYNC_SAML_CERTIFICATES",
            "da39a3ee5e6b4b0d3255bfef95601890afd80709",
        )
        .args([
            "config",
            "show",
            "--naming-convention",
            "AWS {0}",
            "--config",
        ])
        .arg(&file)
        .output()
        .unwrap();
    crate::support::assert_exit(&out, 2);
    assert_no_secret(&out, &[SECRET]);
    let file_source = format!("config file {}", file.display());
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines[0], "error: invalid settings", "{err}");
    for expected in [
        format!("max-removal (from {file_source}): unknown setting; did you mean max-removals?"),
        "tenant-id: required, but not set (flag --tenant-id, FEDSYNC_TENANT_ID, SSM <prefix>tenant-id, or tenant-id in the config file)".to_owned(),
        "saml-certificates (from env FEDSYNC_SAML_CERTIFICATES): \"da39a3ee5e6b4b0d3255bfef95601890afd80709\" is not a SHA-256 thumbprint (64 hex digits); SHA-1 thumbprints are not accepted".to_owned(),
        format!("concurrency (from {file_source}): \"0\" is not a number from 1 to 256"),
        "naming-convention (from flag --naming-convention): naming convention \"AWS {0}\" has no role placeholder".to_owned(),
        "create-groups (from env FEDSYNC_CREATE_GROUPS): \"yes\" is not a boolean: use true or false".to_owned(),
    ] {
        assert!(
            lines.iter().any(|l| l.trim_start().starts_with(&expected)),
            "missing {expected:?} in\n{err}"
        );
    }
    assert_eq!(lines.len(), 7, "one line per problem:\n{err}");
    for bad in [
        "tenant-id",
        "saml-certificates",
        "concurrency",
        "naming-convention",
        "create-groups",
    ] {
        assert!(
            text_row(&out, bad).starts_with(&format!("! {bad} ")),
            "{bad}"
        );
    }
    assert_eq!(
        text_row(&out, "client-id"),
        format!("client-id {CLIENT} env FEDSYNC_CLIENT_ID")
    );
    assert_eq!(
        text_row(&out, "client-secret"),
        "client-secret **** env FEDSYNC_CLIENT_SECRET"
    );
    assert_eq!(
        text_row(&out, "credential"),
        "credential client secret **** env FEDSYNC_CLIENT_SECRET"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_and_bad_ssm_parameters_are_problems_and_secure_values_stay_hidden() {
    let moto = Moto::start();
    let sdk = org::sdk(&moto.url).await;
    put_parameter(
        &sdk,
        "/fedsync/prod/tenant-idd",
        TENANT,
        ParameterType::String,
    )
    .await;
    put_parameter(
        &sdk,
        "/fedsync/prod/concurrency",
        SECURE,
        ParameterType::SecureString,
    )
    .await;
    let out = sync_env(&mut with_aws(&moto.url))
        .env("FEDSYNC_CLIENT_SECRET", SECRET)
        .args([
            "config",
            "show",
            "--output",
            "json",
            "--ssm-prefix",
            "/fedsync/prod/",
        ])
        .output()
        .unwrap();
    crate::support::assert_exit(&out, 2);
    assert_no_secret(&out, &[SECRET, SECURE]);
    let err = stderr(&out);
    assert!(
        err.contains("tenant-idd (from ssm /fedsync/prod/tenant-idd): unknown setting; did you mean tenant-id?"),
        "{err}"
    );
    assert!(
        err.contains("concurrency (from ssm /fedsync/prod/concurrency): \"****\" is not a number from 1 to 256"),
        "{err}"
    );
    let rows = json_rows(&out);
    assert_eq!(
        row(&rows, "concurrency"),
        (
            Some("****".to_owned()),
            "ssm /fedsync/prod/concurrency".to_owned()
        )
    );
    let concurrency = rows.iter().find(|r| r["name"] == "concurrency").unwrap();
    assert_eq!(
        concurrency["problem"],
        "\"****\" is not a number from 1 to 256"
    );
}

/// One account with our SAML provider and one role that trusts it.
async fn seed_one_role(sdk: &SdkConfig) -> String {
    org::create_organization(sdk).await;
    let iam = org::iam_in(sdk, MANAGEMENT).await;
    let idp = org::saml_provider(&iam, "AzureAD", &org::our_metadata()).await;
    org::role(&iam, "/", "Admin", &org::saml_trust(&[&idp])).await
}

#[tokio::test(flavor = "multi_thread")]
async fn inventory_reads_its_saml_settings_from_ssm() {
    let moto = Moto::start();
    let sdk = org::sdk(&moto.url).await;
    let arn = seed_one_role(&sdk).await;
    put_parameter(
        &sdk,
        "/fedsync/prod/saml-entity-id",
        org::ENTITY_ID,
        ParameterType::String,
    )
    .await;
    put_parameter(
        &sdk,
        "/fedsync/prod/saml-certificates",
        org::OUR_CERT_SHA256,
        ParameterType::SecureString,
    )
    .await;

    let out = with_aws(&moto.url)
        .env("FEDSYNC_SSM_PREFIX", "/fedsync/prod/")
        .args(["inventory", "--output", "json"])
        .output()
        .unwrap();
    crate::support::assert_exit(&out, 0);
    assert!(stdout(&out).contains(&arn), "{}", stdout(&out));

    // Without the prefix the same settings are missing, and the problem says where to set them.
    let out = with_aws(&moto.url).arg("inventory").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("saml-entity-id: required, but not set (flag --saml-entity-id, FEDSYNC_SAML_ENTITY_ID, SSM <prefix>saml-entity-id, or saml-entity-id in the config file)"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty());

    // A bad value in SSM is named with its parameter; the flag beats it.
    put_parameter(
        &sdk,
        "/fedsync/prod/cross-account-role",
        "a/b",
        ParameterType::String,
    )
    .await;
    let out = with_aws(&moto.url)
        .args(["inventory", "--ssm-prefix", "/fedsync/prod"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cross-account-role (from ssm /fedsync/prod/cross-account-role): invalid role name \"a/b\""),
        "{}",
        stderr(&out)
    );
    let out = with_aws(&moto.url)
        .args(["inventory", "--ssm-prefix", "/fedsync/prod"])
        .args(["--cross-account-role", "fedsync-reader"])
        .output()
        .unwrap();
    crate::support::assert_exit(&out, 0);
}

fn plan_with_config(config: &Path) -> assert_cmd::Command {
    let mut cmd = fedsync();
    cmd.args([
        "plan",
        "--inventory",
        "examples/inventory.json",
        "--manifest",
        "examples/service-principal.json",
        "--output",
        "json",
        "--config",
    ])
    .arg(config);
    cmd
}

#[test]
fn plan_reads_its_settings_from_the_config_file_and_the_environment_beats_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fedsync.toml");
    std::fs::write(
        &file,
        "naming-convention = \"{account_name}:{role_name}\"\ncreate-groups = false\n",
    )
    .unwrap();
    let out = plan_with_config(&file).output().unwrap();
    crate::support::assert_exit(&out, 4);
    let plan: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(stdout(&out).contains("\"production:Analyst\""), "{plan:#}");
    assert_eq!(
        plan["groups"],
        Value::Array(vec![]),
        "create-groups = false"
    );

    let out = plan_with_config(&file)
        .env("FEDSYNC_NAMING_CONVENTION", "{account_id}+{role_name}")
        .output()
        .unwrap();
    crate::support::assert_exit(&out, 4);
    assert!(!stdout(&out).contains("\"production:Analyst\""));
    assert!(stdout(&out).contains("+Analyst\""), "{}", stdout(&out));

    std::fs::write(
        &file,
        "naming-convention = \"AWS {0} - {1}\"\nmax_removals = 3\n",
    )
    .unwrap();
    let out = plan_with_config(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stdout(&out).is_empty(),
        "nothing is planned on bad settings"
    );
    assert!(
        stderr(&out).contains(&format!(
            "max_removals (from config file {}): unknown setting; did you mean max-removals?",
            file.display()
        )),
        "{}",
        stderr(&out)
    );
}
