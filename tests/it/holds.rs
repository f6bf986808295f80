//! Issue 13, through the binary against moto and the Graph emulator: fedsync changes only what it
//! can decide. Odd roles and providers never fail an account; a conditional `Deny` keeps its
//! role; a certificate rotation half done holds and warns; excluded and suspended accounts keep
//! their roles run after run until `--release-held` lets them go; `fedsync explain` says why.

use serde_json::{Value, json};

use crate::support::org::{self, MANAGEMENT};
use crate::support::{stderr, stdout};
use crate::sync_run::{World, fedsync_cmd, values, world};

/// SHA-256 of `tests/fixtures/metadata/role-descriptor.pem`: a certificate that is not ours.
const OTHER_CERT_SHA256: &str = "5B:10:D7:5D:3C:B7:A4:9F:88:62:4E:73:2C:57:3B:E1:92:B9:1E:AE:33:36:26:94:C7:5F:1B:C6:E1:C2:A0:38";

fn sync(w: &World, args: &[&str]) -> std::process::Output {
    fedsync_cmd(w, &w.moto.url, "sync", args)
}

/// `fedsync sync` and its JSON summary line, asserting the exit code.
fn synced(w: &World, args: &[&str], exit: i32) -> Value {
    let out = sync(w, args);
    assert_eq!(
        out.status.code(),
        Some(exit),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    serde_json::from_str(stdout(&out).trim()).expect("one JSON summary line")
}

/// `fedsync plan --output json` against the world.
fn planned(w: &World, args: &[&str]) -> Value {
    let mut all = vec!["--output", "json"];
    all.extend_from_slice(args);
    let out = fedsync_cmd(w, &w.moto.url, "plan", &all);
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)))
}

fn value_of(account: &str, role: &str) -> String {
    format!("arn:aws:iam::{account}:role/{role},arn:aws:iam::{account}:saml-provider/AzureAD")
}

fn provider_of(account: &str) -> String {
    format!("arn:aws:iam::{account}:saml-provider/AzureAD")
}

async fn trust(w: &World, account: &str, role: &str, policy: &Value) {
    let iam = org::iam_in(&w.sdk, account).await;
    iam.update_assume_role_policy()
        .role_name(role)
        .policy_document(policy.to_string())
        .send()
        .await
        .unwrap();
}

async fn enabled_of(w: &World, value: &str) -> Option<bool> {
    values(&w.app_roles().await)
        .into_iter()
        .find(|(v, _)| v == value)
        .map(|(_, enabled)| enabled)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_undecidable_role_and_odd_providers_hold_alone_while_the_account_syncs() {
    let w = world().await;
    let iam = org::iam_in(&w.sdk, &w.member).await;
    org::saml_provider(&iam, "Keycloak", &org::fixture("keycloak.xml")).await;
    org::saml_provider(&iam, "Legacy", &org::fixture("bare-key.xml")).await;
    let idp = provider_of(&w.member);
    org::role(&iam, "/", "Odd", &org::saml_trust(&[&idp])).await;
    synced(&w, &[], 0);
    let odd = value_of(&w.member, "Odd");
    assert_eq!(enabled_of(&w, &odd).await, Some(true));

    // Odd becomes undecidable; a new role arrives beside it.
    let undecidable = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Federated": idp}, "Action": "sts:AssumeRoleWithSAML"},
        {"Effect": "Deny", "NotPrincipal": {"Federated": idp}, "Action": "sts:AssumeRoleWithSAML"}
    ]});
    trust(&w, &w.member, "Odd", &undecidable).await;
    org::role(&iam, "/", "Fresh", &org::saml_trust(&[&idp])).await;
    let summary = synced(&w, &[], 4);
    assert_eq!(summary["accounts_failed"], 0, "{summary}");
    assert_eq!(summary["roles_added"], 1, "{summary}");
    assert_eq!(summary["roles_disabled"], 0, "{summary}");
    assert_eq!(summary["roles_needing_attention"], 1, "{summary}");
    assert_eq!(enabled_of(&w, &odd).await, Some(true), "held, untouched");
    assert_eq!(
        enabled_of(&w, &value_of(&w.member, "Fresh")).await,
        Some(true)
    );
    assert_eq!(enabled_of(&w, &w.dev_value()).await, Some(true));

    let plan = planned(&w, &[]);
    let held = &plan["held"][0];
    assert_eq!(held["value"], odd);
    assert_eq!(held["reason"], "cant-tell");
    assert!(
        held["detail"].as_str().unwrap().contains("NotPrincipal"),
        "{held}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_conditional_deny_on_the_audience_keeps_the_role_and_another_audience_is_a_no() {
    let w = world().await;
    let iam = org::iam_in(&w.sdk, &w.member).await;
    let idp = provider_of(&w.member);
    let hardened = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Federated": idp}, "Action": "sts:AssumeRoleWithSAML"},
        {"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRoleWithSAML",
         "Condition": {"StringNotEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}}}
    ]});
    org::role(&iam, "/", "Hardened", &hardened.to_string()).await;
    let elsewhere = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Federated": idp}, "Action": "sts:AssumeRoleWithSAML",
         "Condition": {"StringEquals": {"SAML:aud": "https://example.com/saml"}}}
    ]});
    org::role(&iam, "/", "Elsewhere", &org::saml_trust(&[&idp])).await;
    synced(&w, &[], 0);
    trust(&w, &w.member, "Elsewhere", &elsewhere).await;
    for run in 0..2 {
        let summary = synced(&w, &[], 0);
        assert_eq!(
            enabled_of(&w, &value_of(&w.member, "Hardened")).await,
            Some(true),
            "run {run}: {summary}"
        );
    }
    assert_eq!(
        enabled_of(&w, &value_of(&w.member, "Elsewhere")).await,
        None,
        "restricted to another audience: disabled, then dropped"
    );
    // The plan had said why.
    let explained = fedsync_cmd(
        &w,
        &w.moto.url,
        "explain",
        &[&format!("arn:aws:iam::{}:role/Elsewhere", w.member)],
    );
    crate::support::assert_exit(&explained, 0);
    let text = stdout(&explained);
    assert!(text.contains("via AzureAD: no"), "{text}");
    assert!(
        text.contains(
            "StringEquals SAML:aud \"https://example.com/saml\" does not hold at any of saml-audiences"
        ),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotation_half_done_holds_the_roles_and_warns_until_the_certificate_is_added() {
    let w = world().await;
    // The first run disables the seed's role of a vanished account, the second drops it.
    synced(&w, &[], 0);
    synced(&w, &[], 0);
    // The member account's provider is re-issued with a certificate not in saml-certificates.
    let rotated = org::our_metadata().replace(
        &org::pem_body(&org::fixture("idp-signing.pem")),
        &org::pem_body(&org::fixture("role-descriptor.pem")),
    );
    let iam = org::iam_in(&w.sdk, &w.member).await;
    iam.update_saml_provider()
        .saml_provider_arn(provider_of(&w.member))
        .saml_metadata_document(rotated)
        .send()
        .await
        .unwrap();
    let writes = w.writes().await;
    let out = sync(&w, &[]);
    crate::support::assert_exit(&out, 4);
    let summary: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(summary["roles_disabled"], 0, "{summary}");
    assert_eq!(summary["roles_held"], 1, "{summary}");
    assert_eq!(w.writes().await, writes, "nothing written");
    assert_eq!(enabled_of(&w, &w.dev_value()).await, Some(true));
    let err = stderr(&out);
    let other = OTHER_CERT_SHA256.replace(':', "").to_lowercase();
    assert!(
        err.contains("certificate not in saml-certificates") && err.contains(&other),
        "{err}"
    );
    assert!(
        err.contains("add it to saml-certificates if this is a rotation"),
        "{err}"
    );

    // The admin adds the new certificate: in sync again.
    let both = format!("{},{OTHER_CERT_SHA256}", org::OUR_CERT_SHA256);
    let summary = synced(&w, &["--saml-certificates", &both], 0);
    assert_eq!(summary["roles_held"], 0, "{summary}");
    assert_eq!(summary["outcome"], "in-sync", "{summary}");

    // With both certificates configured, the member's provider lacks the old one and the
    // management account's the new one: the summary counts both, and warns with their ids,
    // whatever certificate-warn-days says.
    assert_eq!(summary["accounts_missing_certificate"], 2, "{summary}");
    let warnings = summary["warnings"].to_string();
    assert!(
        warnings.contains(
            "2 accounts have a SAML provider of ours that lacks a configured certificate"
        ) && warnings.contains(&w.member)
            && warnings.contains(MANAGEMENT),
        "{summary}"
    );
    // The expiry warns from certificate-warn-days before it, not a day earlier.
    let days = summary["certificate_expires_in_days"]
        .as_i64()
        .unwrap_or_else(|| panic!("a number of days: {summary}"));
    assert!(days > 0, "{summary}");
    assert!(!warnings.contains("certificate-warn-days"), "{summary}");
    let at = days.to_string();
    let summary = synced(
        &w,
        &["--saml-certificates", &both, "--certificate-warn-days", &at],
        0,
    );
    assert!(
        summary["warnings"].to_string().contains(&format!(
            "({days} days, within certificate-warn-days {days})"
        )),
        "{summary}"
    );
    let before = (days - 1).to_string();
    let summary = synced(
        &w,
        &[
            "--saml-certificates",
            &both,
            "--certificate-warn-days",
            &before,
        ],
        0,
    );
    assert!(
        !summary["warnings"]
            .to_string()
            .contains("certificate-warn-days"),
        "{summary}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn excluded_and_suspended_accounts_keep_their_roles_until_released() {
    let w = world().await;
    let old = org::create_account(&w.sdk, "old").await;
    let iam = org::iam_in(&w.sdk, &old).await;
    let idp = org::saml_provider(&iam, "AzureAD", &org::our_metadata()).await;
    org::role(&iam, "/", "Admin", &org::saml_trust(&[&idp])).await;
    synced(&w, &[], 0);
    synced(&w, &[], 0);
    let old_admin = value_of(&old, "Admin");
    assert_eq!(enabled_of(&w, &old_admin).await, Some(true));

    org::close_account(&w.sdk, &old).await; // moto: SUSPENDED
    let exclude = ["--exclude-accounts", w.member.as_str()];
    let writes = w.writes().await;
    for run in 0..3 {
        let summary = synced(&w, &exclude, 0);
        assert_eq!(summary["roles_disabled"], 0, "run {run}: {summary}");
        assert_eq!(summary["roles_held"], 2, "run {run}: {summary}");
        assert_eq!(summary["roles_needing_attention"], 0, "held by choice");
    }
    assert_eq!(w.writes().await, writes, "three runs, no write");
    assert_eq!(enabled_of(&w, &w.dev_value()).await, Some(true));
    assert_eq!(enabled_of(&w, &old_admin).await, Some(true));
    let text = fedsync_cmd(&w, &w.moto.url, "plan", &exclude);
    let text = stdout(&text);
    assert!(text.contains("(account excluded by settings)"), "{text}");
    assert!(text.contains("(account suspended)"), "{text}");

    // The admin means it: released, the held roles are disabled, then dropped.
    let release = [exclude[0], exclude[1], "--release-held", old.as_str()];
    let summary = synced(&w, &release, 0);
    assert_eq!(summary["roles_disabled"], 1, "{summary}");
    assert_eq!(enabled_of(&w, &old_admin).await, Some(false));
    assert_eq!(
        enabled_of(&w, &w.dev_value()).await,
        Some(true),
        "not released"
    );
    let summary = synced(&w, &release, 0);
    assert_eq!(summary["roles_removed"], 1, "{summary}");
    assert_eq!(enabled_of(&w, &old_admin).await, None);
    // Without --release-held nothing more happens to the excluded account.
    let summary = synced(&w, &exclude, 0);
    assert_eq!(summary["outcome"], "in-sync", "{summary}");
}

#[tokio::test(flavor = "multi_thread")]
async fn explain_shows_providers_and_verdicts_and_refuses_bad_targets() {
    let w = world().await;
    let iam = org::iam_in(&w.sdk, MANAGEMENT).await;
    org::saml_provider(&iam, "OtherTenant", &org::other_tenant_metadata()).await;
    let json = fedsync_cmd(
        &w,
        &w.moto.url,
        "explain",
        &[MANAGEMENT, "--output", "json"],
    );
    crate::support::assert_exit(&json, 0);
    let e: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(e["schema"], "fedsync.explain/v1");
    assert_eq!(e["standing"]["kind"], "read");
    let verdicts: Vec<(&str, &str)> = e["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["arn"].as_str().unwrap(), p["verdict"].as_str().unwrap()))
        .collect();
    assert!(
        verdicts.contains(&(provider_of(MANAGEMENT).as_str(), "ours")),
        "{verdicts:?}"
    );
    assert!(
        verdicts
            .iter()
            .any(|(arn, v)| arn.ends_with("/OtherTenant") && *v == "not-ours")
    );
    let roles: Vec<&str> = e["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["arn"].as_str().unwrap())
        .collect();
    assert_eq!(
        roles,
        [
            format!("arn:aws:iam::{MANAGEMENT}:role/Admin"),
            format!("arn:aws:iam::{MANAGEMENT}:role/ReadOnly")
        ]
    );
    assert_eq!(e["roles"][0]["providers"][0]["verdict"], "yes");

    let text = stdout(&fedsync_cmd(&w, &w.moto.url, "explain", &[MANAGEMENT]));
    assert!(text.contains("OtherTenant: not ours"), "{text}");
    assert!(
        text.contains("is not ours (https://sts.windows.net/"),
        "{text}"
    );
    assert!(text.contains(", in saml-certificates"), "{text}");

    for (target, expected) in [
        ("prod", "neither a role ARN"),
        ("arn:aws:iam::12:role/x", "12 digits"),
        (
            &format!("arn:aws:iam::{MANAGEMENT}:role/Nobody") as &str,
            "has no role",
        ),
    ] {
        let out = fedsync_cmd(&w, &w.moto.url, "explain", &[target]);
        assert_eq!(out.status.code(), Some(2), "{target}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(expected),
            "{target}: {}",
            stderr(&out)
        );
    }
    assert_eq!(w.writes().await, 0);
}
