//! `fedsync providers` through the binary against moto: a certificate rotation half done across
//! an Organization — providers with the old certificate only, both, the new only, a foreign
//! one, an expired one — each reported as it stands, with who a switch would lock out. Test
//! certificates are generated here with chosen expiry dates.

use serde_json::Value;

use crate::support::moto::Moto;
use crate::support::org::{self, MANAGEMENT, certificate, metadata_with};
use crate::support::{assert_exit, fedsync, stdout};

#[tokio::test(flavor = "multi_thread")]
async fn a_rotation_half_done_is_reported_account_by_account_with_who_a_switch_locks_out() {
    let moto = Moto::start();
    let sdk = org::sdk(&moto.url).await;
    org::create_organization(&sdk).await;
    let (old, old_sha) = certificate(30);
    let (new, new_sha) = certificate(1000);
    let (expired, expired_sha) = certificate(-5);
    let mut accounts = Vec::new();
    for (name, metadata) in [
        ("old-only", metadata_with(&[&old])),
        ("both", metadata_with(&[&old, &new])),
        ("new-only", metadata_with(&[&new])),
        ("foreign", org::other_tenant_metadata()),
        ("expired", metadata_with(&[&expired])),
    ] {
        let id = org::create_account(&sdk, name).await;
        let iam = org::iam_in(&sdk, &id).await;
        org::saml_provider(&iam, "AzureAD", &metadata).await;
        accounts.push(id);
    }
    let [old_only, both, new_only, foreign, expired_account] = accounts.as_slice() else {
        unreachable!()
    };

    let run = |args: &[&str]| {
        let mut cmd = fedsync();
        cmd.arg("providers").args(args);
        for (key, value) in org::aws_env(&moto.url) {
            cmd.env(key, value);
        }
        cmd.env("FEDSYNC_SAML_CERTIFICATES", format!("{old_sha},{new_sha}"));
        cmd.output().unwrap()
    };
    let out = run(&["--output", "json"]);
    assert_exit(&out, 0);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["schema"], "fedsync.providers/v1");
    let account = |id: &str| -> &Value {
        v["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["account"] == id)
            .unwrap_or_else(|| panic!("account {id} in {v:#}"))
    };
    let provider = |id: &str| &account(id)["providers"][0];

    // Old only: ours, lacks the new certificate, lasts until the old one expires.
    assert_eq!(provider(old_only)["kind"], "ours");
    assert_eq!(provider(old_only)["missing"][0], new_sha);
    assert_eq!(provider(old_only)["certificates"][0]["days_left"], 30);
    // Both: lacks nothing. New only: lacks the old one.
    assert_eq!(provider(both)["missing"], Value::Array(vec![]));
    assert_eq!(provider(both)["certificates"].as_array().unwrap().len(), 2);
    assert_eq!(provider(new_only)["missing"][0], old_sha);
    // Foreign: not ours, and nothing else is said of it.
    assert_eq!(provider(foreign)["kind"], "not-ours");
    // Expired, and not configured: our entity id with an unknown certificate, expired 5 days ago.
    assert_eq!(provider(expired_account)["kind"], "unknown-certificate");
    assert_eq!(
        provider(expired_account)["certificates"][0]["sha256"],
        expired_sha
    );
    assert_eq!(
        provider(expired_account)["certificates"][0]["days_left"],
        -5
    );
    // The management account has no provider.
    assert_eq!(account(MANAGEMENT)["providers"], Value::Array(vec![]));

    let s = &v["summary"];
    assert_eq!(s["accounts_ready"], 1);
    let ids = |value: &Value| -> Vec<String> {
        value
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_owned())
            .collect()
    };
    let mut missing = vec![old_only.clone(), new_only.clone()];
    missing.sort();
    let mut reported = ids(&s["accounts_missing_certificate"]);
    reported.sort();
    assert_eq!(reported, missing);
    // Were Entra to sign with the new certificate today, the old-only account is locked out.
    assert_eq!(
        ids(&s["locked_out_if_switched"]["default"]),
        [old_only.as_str()]
    );
    assert_eq!(s["certificate_expires_in_days"], 30);

    let out = run(&[]);
    let text = assert_exit(&out, 0);
    assert!(
        text.contains(&format!(
            "locked out if Entra switched app default to its newest certificate today: 1 account ({old_only})"
        )),
        "{text}"
    );
    assert!(text.contains("(30 days)"), "{text}");
    assert!(text.contains("expired "), "{text}");
}
