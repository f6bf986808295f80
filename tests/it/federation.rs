//! `credential = aws-federation` through the binary (issue 19): what `sts:GetWebIdentityToken`
//! is asked for, and what a user sees when AWS refuses it or Entra refuses the JWT — one clear
//! error, nothing written to Graph or S3, and the JWT nowhere in the output, even at
//! `RUST_LOG=trace`. STS is answered by the fault proxy in front of moto (moto does not serve
//! outbound identity federation).
//!
//! Not here yet: a sync that Entra accepts — the Graph emulator does not check federated
//! identity credentials yet.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::support::proxy::{Fault, Proxy, Rule, query_error};
use crate::sync_run::{backup_keys, fedsync_process, world};

const AUDIENCE: &str = "api://AzureADTokenExchange";

/// `fedsync sync` with `credential = aws-federation` and no secret, AWS reached through `proxy`.
fn federated_sync(
    w: &crate::sync_run::World,
    proxy: &Proxy,
    extra: &[(&str, &str)],
) -> std::process::Output {
    let mut cmd = fedsync_process(w, &proxy.url, "sync", &[]);
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

async fn assert_nothing_written(w: &crate::sync_run::World) {
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
    let out = federated_sync(&w, &proxy, &[]);
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
    let out = federated_sync(&w, &proxy, &[]);
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
    let out = federated_sync(&w, &proxy, &[("RUST_LOG", "trace")]);
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
