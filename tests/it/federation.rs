//! `credential = aws-federation` through the binary (issue 19): a sync with no secret anywhere,
//! signed in by a JWT from the fake AWS outbound identity federation in front of moto
//! (`examples/outbound-federation/fake.rs`) that the Graph emulator verifies as Entra does; a
//! federated credential naming another subject, audience or issuer, each refused with its error;
//! what `sts:GetWebIdentityToken` is asked for, and what a user sees when AWS refuses it (the
//! fault proxy answers for STS there) — one clear error, nothing written to Graph or S3, and the
//! JWT nowhere in the output, even at `RUST_LOG=trace`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use serde_json::{Value, json};

use crate::graph_emulator::{CLIENT_ID, seed};
use crate::support::moto::Moto;
use crate::support::org::MANAGEMENT;
use crate::support::outbound_federation::OutboundFederation;
use crate::support::proxy::{Fault, Proxy, Rule, query_error};
use crate::sync_run::{World, backup_keys, fedsync_process, world, world_on};

const AUDIENCE: &str = "api://AzureADTokenExchange";
/// The role the Fargate task runs as, in moto's management account.
pub(crate) const TASK_ROLE: &str = "arn:aws:iam::123456789012:role/fedsync-task";

/// `fedsync sync` with `credential = aws-federation` and no secret, AWS reached at `endpoint`.
fn federated_sync(w: &World, endpoint: &str, extra: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = fedsync_process(w, endpoint, "sync", &[]);
    cmd.env_remove("FEDSYNC_CLIENT_SECRET")
        .env("FEDSYNC_CREDENTIAL", "aws-federation");
    for (key, value) in extra {
        cmd.env(key, value);
    }
    cmd.output().unwrap()
}

/// A JWT-shaped token with the claims STS would put in it (its signature is not real).
fn token_with_claims(marker: &str) -> String {
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","typ":"JWT","kid":"k1"}"#);
    let claims = URL_SAFE_NO_PAD.encode(format!(
        r#"{{"iss":"https://abc123.tokens.sts.global.api.aws","sub":"arn:aws:iam::123456789012:role/fedsync-task","aud":"{AUDIENCE}","jti":"{marker}"}}"#
    ));
    format!("{header}.{claims}.c2lnbmF0dXJlLW5vdC1yZWFs{marker}")
}

fn sts_answers(proxy: &Proxy, status: u16, body: String) {
    proxy.add(Rule {
        action: "GetWebIdentityToken",
        body_contains: None,
        times: None,
        fault: Fault::Respond { status, body },
    });
}

async fn assert_nothing_written(w: &World) {
    assert_eq!(w.writes().await, 0, "nothing is written to Graph");
    assert!(backup_keys(w).await.is_empty(), "no backup is taken");
}

#[tokio::test(flavor = "multi_thread")]
async fn outbound_federation_not_enabled_fails_saying_how_to_enable_it_and_writes_nothing() {
    let w = world().await;
    let proxy = Proxy::start(&w.moto.url);
    sts_answers(
        &proxy,
        403,
        query_error(
            "OutboundWebIdentityFederationDisabledException",
            "Outbound web identity federation is disabled for this account",
        ),
    );
    let out = federated_sync(&w, &proxy.url, &[]);
    assert_ne!(out.status.code(), Some(0));
    let err = crate::support::stderr(&out);
    assert!(
        err.contains("AWS outbound identity federation is not enabled")
            && err.contains("aws iam enable-outbound-web-identity-federation"),
        "{err}"
    );
    let asked = proxy.seen("GetWebIdentityToken");
    assert!(!asked.is_empty(), "fedsync asked STS for a token");
    let form: Vec<(String, String)> = form_urlencoded::parse(asked[0].body.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    for (key, value) in [
        ("Audience.member.1", AUDIENCE),
        ("SigningAlgorithm", "RS256"),
        ("DurationSeconds", "300"),
    ] {
        assert!(
            form.iter().any(|(k, v)| k == key && v == value),
            "{key}={value} in {form:?}"
        );
    }
    assert_nothing_written(&w).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_task_role_without_get_web_identity_token_fails_naming_what_to_grant() {
    let w = world().await;
    let proxy = Proxy::start(&w.moto.url);
    sts_answers(
        &proxy,
        403,
        query_error(
            "AccessDenied",
            "User is not authorized to perform: sts:GetWebIdentityToken",
        ),
    );
    let out = federated_sync(&w, &proxy.url, &[]);
    assert_ne!(out.status.code(), Some(0));
    let err = crate::support::stderr(&out);
    assert!(
        err.contains(&format!(
            "may not call sts:GetWebIdentityToken for audience {AUDIENCE} and 300 s"
        )),
        "{err}"
    );
    assert_nothing_written(&w).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_jwt_entra_refuses_writes_nothing_and_never_reaches_the_output_at_trace() {
    let w = world().await;
    let proxy = Proxy::start(&w.moto.url);
    let marker = "Zq7marker0jwt0never0printed";
    let jwt = token_with_claims(marker);
    sts_answers(
        &proxy,
        200,
        format!(
            r#"<GetWebIdentityTokenResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetWebIdentityTokenResult><WebIdentityToken>{jwt}</WebIdentityToken><Expiration>2030-01-01T00:00:00Z</Expiration></GetWebIdentityTokenResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></GetWebIdentityTokenResponse>"#
        ),
    );
    let out = federated_sync(&w, &proxy.url, &[("RUST_LOG", "trace")]);
    assert_ne!(out.status.code(), Some(0));
    let all = format!(
        "{}{}",
        crate::support::stdout(&out),
        crate::support::stderr(&out)
    );
    assert!(
        all.contains("refused the credential"),
        "Entra's refusal is reported: {}",
        crate::support::stderr(&out)
    );
    assert!(!all.contains(marker), "the JWT never reaches the output");
    assert!(!all.contains(&jwt[..40]), "no part of the JWT either");
    assert_nothing_written(&w).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn aws_federation_with_a_client_secret_set_exits_2_before_any_call() {
    let w = world().await;
    let proxy = Proxy::start(&w.moto.url);
    let mut cmd = fedsync_process(&w, &proxy.url, "sync", &[]);
    cmd.env("FEDSYNC_CREDENTIAL", "aws-federation");
    let out = cmd.output().unwrap();
    crate::support::assert_exit(&out, 2);
    let err = crate::support::stderr(&out);
    assert!(
        err.contains("client-secret (from env FEDSYNC_CLIENT_SECRET): is set, but credential is aws-federation"),
        "{err}"
    );
    assert!(proxy.seen("GetWebIdentityToken").is_empty());
    assert_nothing_written(&w).await;
}

/// The keys of a session of the task role, as ECS would give them to the task.
pub(crate) struct RoleSession {
    credentials: aws_sdk_sts::types::Credentials,
}

impl RoleSession {
    /// The environment that makes the AWS SDK (and `fedsync`) run as this session.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let c = &self.credentials;
        vec![
            ("AWS_ACCESS_KEY_ID", c.access_key_id().to_owned()),
            ("AWS_SECRET_ACCESS_KEY", c.secret_access_key().to_owned()),
            ("AWS_SESSION_TOKEN", c.session_token().to_owned()),
        ]
    }

    /// An SDK config that calls `endpoint` as this session.
    pub async fn sdk(&self, endpoint: &str) -> aws_config::SdkConfig {
        let c = &self.credentials;
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_sts::config::Credentials::new(
                c.access_key_id(),
                c.secret_access_key(),
                Some(c.session_token().to_owned()),
                None,
                "task-role",
            ))
            .load()
            .await
    }
}

/// Creates [`TASK_ROLE`] (trusted by ECS tasks) through `sdk` and assumes it.
pub(crate) async fn task_role_session(sdk: &aws_config::SdkConfig) -> RoleSession {
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    aws_sdk_iam::Client::new(sdk)
        .create_role()
        .role_name("fedsync-task")
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .unwrap();
    let assumed = aws_sdk_sts::Client::new(sdk)
        .assume_role()
        .role_arn(TASK_ROLE)
        .role_session_name("ecs-task")
        .send()
        .await
        .unwrap();
    RoleSession {
        credentials: assumed.credentials.expect("moto's session keys"),
    }
}

/// A world whose sync app has no secret, only a federated identity credential naming
/// `issuer` (by default the management account's at the fake), `subject` and `audience`;
/// fedsync runs as a session of the task role and reaches AWS through the fake.
struct Federated {
    w: World,
    fake: OutboundFederation,
    role: RoleSession,
}

async fn federated_world(issuer: Option<&str>, subject: &str, audience: &str) -> Federated {
    let moto = Moto::start();
    let fake = OutboundFederation::start(&moto.url, true);
    let issuer = issuer.map_or_else(|| fake.issuer(MANAGEMENT), str::to_owned);
    let mut graph_seed = seed();
    let client = graph_seed["clients"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|c| c["client_id"] == CLIENT_ID)
        .unwrap();
    client.as_object_mut().unwrap().remove("client_secret");
    client["federated_identity_credentials"] = json!([{
        "name": "fedsync-task", "issuer": issuer, "subject": subject, "audiences": [audience],
    }]);
    let w = world_on(moto, graph_seed).await;
    let role = task_role_session(&w.sdk).await;
    Federated { w, fake, role }
}

impl Federated {
    /// `fedsync sync` as the task role through the fake, with `extra` settings.
    fn sync(&self, extra: &[(&str, &str)]) -> std::process::Output {
        let mut env: Vec<(&str, String)> = self.role.env();
        env.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        federated_sync(&self.w, &self.fake.url, &env)
    }

    /// Asserts that no JWT the fake issued, nor its signature, is in `out`.
    fn assert_no_jwt_in(&self, out: &std::process::Output) {
        let all = format!(
            "{}{}",
            crate::support::stdout(out),
            crate::support::stderr(out)
        );
        let issued = self.fake.issued();
        assert!(!issued.is_empty(), "fedsync asked the fake for a token");
        for token in issued {
            let signature = token.jwt.rsplit('.').next().unwrap();
            assert!(
                !all.contains(&token.jwt),
                "the JWT never reaches the output"
            );
            assert!(!all.contains(signature), "nor its signature");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sync_with_no_secret_anywhere_signs_in_by_federation_and_applies() {
    let f = federated_world(None, TASK_ROLE, AUDIENCE).await;
    let out = f.sync(&[("RUST_LOG", "trace")]);
    crate::support::assert_exit(&out, 0);
    let summary: Value = serde_json::from_str(
        crate::support::stdout(&out)
            .lines()
            .rfind(|l| l.starts_with('{'))
            .expect("the summary line"),
    )
    .unwrap();
    assert_eq!(summary["outcome"], "applied", "{summary}");
    assert_eq!(summary["roles_added"], 3, "{summary}");
    assert!(f.w.writes().await > 0, "the sync wrote to Graph");
    assert!(!backup_keys(&f.w).await.is_empty(), "after a backup");

    let issued = f.fake.issued();
    assert_eq!(issued[0].issuer, f.fake.issuer(MANAGEMENT));
    assert_eq!(issued[0].subject, TASK_ROLE);
    assert_eq!(issued[0].audiences, [AUDIENCE]);
    assert_eq!(issued[0].duration_seconds, 300);
    f.assert_no_jwt_in(&out);

    // The next run asks for a new JWT of its own.
    let before = f.fake.issued().len();
    let again = f.sync(&[]);
    crate::support::assert_exit(&again, 0);
    assert!(f.fake.issued().len() > before, "a new JWT for the new run");
}

/// Runs a sync Entra must refuse; asserts one error naming `check` and the value fedsync sent,
/// nothing written and no JWT printed.
async fn refused(f: &Federated, extra: &[(&str, &str)], aadsts: &str, check: &str, sent: &str) {
    let out = f.sync(extra);
    assert_ne!(out.status.code(), Some(0));
    let err = crate::support::stderr(&out);
    assert!(
        err.contains(&format!(
            "found no federated identity credential on the sync app matching the {check} fedsync sent ({aadsts})"
        )),
        "{err}"
    );
    assert!(
        err.contains(sent),
        "the {check} sent, {sent}, is printed: {err}"
    );
    assert_nothing_written(&f.w).await;
    f.assert_no_jwt_in(&out);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_federated_credential_for_another_role_is_refused_naming_the_subject_sent() {
    let other = "arn:aws:iam::123456789012:role/someone-else";
    let f = federated_world(None, other, AUDIENCE).await;
    refused(
        &f,
        &[],
        "AADSTS700213",
        "subject",
        &format!("subject {TASK_ROLE}"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn another_audience_than_the_credential_s_is_refused_naming_the_audience_sent() {
    let f = federated_world(None, TASK_ROLE, AUDIENCE).await;
    let other = "api://fedsync-elsewhere";
    refused(
        &f,
        &[("FEDSYNC_FEDERATION_AUDIENCE", other)],
        "AADSTS700212",
        "audience",
        &format!("audience {other}"),
    )
    .await;
    assert_eq!(f.fake.issued()[0].audiences, [other]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_issuer_the_sync_app_does_not_trust_is_refused_naming_the_issuer_sent() {
    let another_issuer = "https://0f3a9c2e-5b7d-4e1f-8a6c-3d2b1e0f9a87.tokens.sts.global.api.aws";
    let f = federated_world(Some(another_issuer), TASK_ROLE, AUDIENCE).await;
    let sent = format!("issuer {}", f.fake.issuer(MANAGEMENT));
    refused(&f, &[], "AADSTS700211", "issuer", &sent).await;
}
