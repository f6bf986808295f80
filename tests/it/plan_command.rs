//! `fedsync plan --inventory FILE --manifest FILE`: the offline plan, its exit codes and its
//! errors for bad files and settings.

use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::support::{example, fedsync, stderr, stdout, transcript};

/// `fedsync plan` on these two files.
fn plan(inventory: impl AsRef<Path>, manifest: impl AsRef<Path>) -> assert_cmd::Command {
    let mut cmd = fedsync();
    cmd.arg("plan")
        .arg("--inventory")
        .arg(inventory.as_ref())
        .arg("--manifest")
        .arg(manifest.as_ref());
    cmd
}

fn plan_examples() -> assert_cmd::Command {
    plan(example("inventory.json"), example("service-principal.json"))
}

#[test]
fn the_example_plan_reads_like_a_terraform_plan() {
    let out = plan("examples/inventory.json", "examples/service-principal.json")
        .output()
        .unwrap();
    // Exit 4: the example inventory has an account that could not be read, and a role whose
    // trust policy cannot be decided.
    insta::assert_snapshot!(transcript(&out));
}

#[test]
fn json_output_is_the_documented_schema() {
    let out = plan_examples().args(["--output", "json"]).output().unwrap();
    crate::support::assert_exit(&out, 4);
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["schema"], "fedsync.plan/v1");
    assert_eq!(plan["summary"]["add"], 2);
    assert_eq!(plan["summary"]["disable"], 1);
    assert_eq!(plan["summary"]["remove"], 1);
    assert_eq!(plan["failed_accounts"][0]["account"], "333333333333");
    assert_eq!(plan["summary"]["held"], 3);
    let held: Vec<(&str, &str, bool)> = plan["held"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["value"].as_str().unwrap(),
                h["reason"].as_str().unwrap(),
                h["needs_attention"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        held,
        [
            (
                "arn:aws:iam::111111111111:role/BreakGlass,arn:aws:iam::111111111111:saml-provider/AzureAD",
                "cant-tell",
                true
            ),
            (
                "arn:aws:iam::333333333333:role/Admin,arn:aws:iam::333333333333:saml-provider/AzureAD",
                "account-unreadable",
                true
            ),
            (
                "arn:aws:iam::444444444444:role/Admin,arn:aws:iam::444444444444:saml-provider/AzureAD",
                "account-suspended",
                false
            ),
        ]
    );
    assert!(
        plan["held"][0]["id"].is_null(),
        "a role not added has no id"
    );
    let manifest: Value =
        serde_json::from_str(&fs::read_to_string(example("service-principal.json")).unwrap())
            .unwrap();
    assert_eq!(
        plan["target"][0], manifest["appRoles"][0],
        "msiam_access comes through unchanged"
    );
}

/// Writes the plan's target into the manifest, as applying it would.
fn applied(manifest: &Value, plan: &Value) -> Value {
    let mut next = manifest.clone();
    next["appRoles"] = plan["target"].clone();
    next
}

#[test]
fn rerunning_on_the_applied_target_converges_to_no_changes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sp.json");
    let mut manifest: Value =
        serde_json::from_str(&fs::read_to_string(example("service-principal.json")).unwrap())
            .unwrap();
    let mut summaries = Vec::new();
    for _ in 0..3 {
        fs::write(&path, manifest.to_string()).unwrap();
        let out = plan(example("inventory.json"), &path)
            .args(["--output", "json"])
            .output()
            .unwrap();
        let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
        summaries.push(plan["summary"].clone());
        manifest = applied(&manifest, &plan);
    }
    // Run 2 drops the role run 1 disabled; run 3 has nothing left to do.
    assert_eq!(summaries[1]["remove"], 1);
    assert_eq!(summaries[1]["add"], 0);
    for key in ["add", "update", "enable", "disable", "remove"] {
        assert_eq!(summaries[2][key], 0, "{key} in {}", summaries[2]);
    }
}

#[test]
fn the_inventory_can_come_from_standard_input() {
    let out = plan("-", "examples/service-principal.json")
        .pipe_stdin(example("inventory.json"))
        .unwrap()
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert!(stdout(&out).contains("2 to add"));
}

#[test]
fn a_missing_file_exits_2_naming_it() {
    let out = plan("nope.json", "examples/service-principal.json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout(&out).is_empty(), "nothing is printed on stdout");
    let err = stderr(&out);
    assert!(
        err.starts_with("error: cannot read inventory nope.json"),
        "{err}"
    );
}

#[test]
fn a_malformed_inventory_exits_2_naming_the_file_and_the_place() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("inv.json");
    let text = fs::read_to_string(example("inventory.json"))
        .unwrap()
        .replacen("222222222222", "22222", 1);
    fs::write(&bad, text).unwrap();
    let out = plan(&bad, example("service-principal.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout(&out).is_empty());
    let err = stderr(&out);
    assert!(
        err.contains(&format!("inventory {} is not valid", bad.display())),
        "{err}"
    );
    assert!(
        err.contains("accounts[1]") && err.contains("\"22222\"") && err.contains("12 digits"),
        "{err}"
    );
}

#[test]
fn a_manifest_that_is_not_a_service_principal_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("sp.json");
    fs::write(&bad, r#"{"id": "x", "appRoles": [{"id": "not-a-guid"}]}"#).unwrap();
    let out = plan("examples/inventory.json", &bad).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    // The file, then each cause once, innermost last (issue 15: they printed two and three
    // times).
    let chain = crate::support::error_chain(&out);
    assert_eq!(
        chain[..3],
        [
            format!("manifest {} is not valid", bad.display()),
            "not a service principal".to_owned(),
            "the value at appRoles[0].id does not fit".to_owned(),
        ],
        "{chain:#?}"
    );
    assert!(chain[3].starts_with("UUID parsing failed"), "{chain:#?}");
    assert_eq!(chain.len(), 4, "{chain:#?}");
}

#[test]
fn an_inventory_that_is_not_a_snapshot_prints_each_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("inventory.json");
    fs::write(&bad, r#"{"accounts": []}"#).unwrap();
    let out = plan(&bad, example("service-principal.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let chain = crate::support::error_chain(&out);
    assert_eq!(
        chain,
        [
            format!("inventory {} is not valid", bad.display()),
            "not an inventory snapshot".to_owned(),
            "the document does not fit".to_owned(),
            "missing field `version` at line 1 column 16".to_owned(),
        ],
    );
}

#[test]
fn a_naming_convention_that_cannot_tell_roles_apart_exits_2_from_flag_or_environment() {
    let flag = plan_examples()
        .args(["--naming-convention", "AWS {0}"])
        .output()
        .unwrap();
    assert_eq!(flag.status.code(), Some(2));
    assert!(
        stderr(&flag).contains("--naming-convention"),
        "{}",
        stderr(&flag)
    );
    assert!(
        stderr(&flag).contains("no role placeholder"),
        "{}",
        stderr(&flag)
    );

    let env = plan_examples()
        .env("FEDSYNC_NAMING_CONVENTION", "AWS {role}")
        .output()
        .unwrap();
    assert_eq!(env.status.code(), Some(2));
    assert!(
        stderr(&env).contains("unknown placeholder {role}"),
        "{}",
        stderr(&env)
    );
    assert!(stdout(&env).is_empty());
}

#[test]
fn the_naming_convention_flag_beats_the_environment() {
    let out = plan_examples()
        .env("FEDSYNC_NAMING_CONVENTION", "AWS {role}")
        .args([
            "--naming-convention",
            "{account_name}:{role_name}",
            "--output",
            "json",
        ])
        .output()
        .unwrap();
    crate::support::assert_exit(&out, 4);
    assert!(stdout(&out).contains("\"production:Analyst\""));
}

#[test]
fn too_many_removals_exit_3_and_allow_removals_lifts_it() {
    let refused = plan_examples()
        .args(["--max-removals", "0"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(3));
    let err = stderr(&refused);
    assert!(
        err.contains("plan refused") && err.contains("max-removals 0"),
        "{err}"
    );
    assert!(stdout(&refused).contains("Refused (nothing will be written)"));

    let allowed = plan_examples()
        .args(["--max-removals", "0", "--allow-removals"])
        .output()
        .unwrap();
    assert_eq!(allowed.status.code(), Some(4));
}

#[test]
fn a_bad_max_removals_value_exits_2() {
    let out = plan_examples()
        .env("FEDSYNC_MAX_REMOVALS", "lots")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("lots"), "{}", stderr(&out));
}

#[test]
fn over_the_entry_cap_exits_3_with_the_counts() {
    let out = plan_examples()
        .args(["--max-app-roles", "8"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).contains("needs 10 entries (8 now, 2 app roles to add), over max-app-roles 8"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_plan_near_the_entry_cap_says_how_full_the_app_is_and_warns() {
    // The example plan leaves 9 entries (10 while a removal waits for its second PATCH).
    let near = plan_examples()
        .args(["--max-app-roles", "10", "--output", "json"])
        .output()
        .unwrap();
    crate::support::assert_exit(&near, 4);
    let v: Value = serde_json::from_slice(&near.stdout).unwrap();
    assert_eq!(
        (
            &v["summary"]["entries"],
            &v["summary"]["entry_cap"],
            &v["summary"]["entry_fill_percent"]
        ),
        (&Value::from(9), &Value::from(10), &Value::from(90))
    );
    assert!(
        stderr(&near).contains("the app is 90% full (9 of max-app-roles 10 entries)"),
        "{}",
        stderr(&near)
    );
    let text = plan_examples()
        .args(["--max-app-roles", "10"])
        .output()
        .unwrap();
    assert!(
        stdout(&text)
            .contains("Entries: 9 of max-app-roles 10 (90% full).\n  ! the app is 90% full"),
        "{}",
        stdout(&text)
    );
    // Below 90%: the fill, and no warning.
    let roomy = plan_examples()
        .args(["--max-app-roles", "11"])
        .output()
        .unwrap();
    assert!(stdout(&roomy).contains("Entries: 9 of max-app-roles 11 (81% full)."));
    assert!(!stdout(&roomy).contains("% full ("), "{}", stdout(&roomy));
    assert!(!stderr(&roomy).contains("% full"), "{}", stderr(&roomy));
}

#[test]
fn an_inventory_without_failures_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let inv = dir.path().join("inv.json");
    let mut v: Value =
        serde_json::from_str(&fs::read_to_string(example("inventory.json")).unwrap()).unwrap();
    // Keep production and development only, without the undecidable BreakGlass role.
    v["accounts"].as_array_mut().unwrap().truncate(2);
    v["accounts"][0]["roles"]
        .as_array_mut()
        .unwrap()
        .retain(|r| !r["arn"].as_str().unwrap().ends_with("BreakGlass"));
    fs::write(&inv, v.to_string()).unwrap();
    let out = plan(&inv, "examples/service-principal.json")
        .args(["--max-removals", "100%"])
        .output()
        .unwrap();
    crate::support::assert_exit(&out, 0);
    // Legacy and sandbox are gone from the Organization, but their app roles' ids are not the
    // ones fedsync derives: someone else made them, so they are held, and exit stays 0.
    let text = stdout(&out);
    assert!(
        text.contains("= held: AWS 333333333333 - Admin (not made by fedsync)"),
        "{text}"
    );
    assert!(
        text.contains("--release-held 333333333333 lets it go"),
        "{text}"
    );

    // ... and --release-held lets them go.
    let out = plan(&inv, "examples/service-principal.json")
        .args([
            "--max-removals",
            "100%",
            "--release-held",
            "333333333333,444444444444",
        ])
        .output()
        .unwrap();
    crate::support::assert_exit(&out, 0);
    let text = stdout(&out);
    assert!(
        text.contains("- disable AWS 333333333333 - Admin"),
        "{text}"
    );
    assert!(
        text.contains("- disable AWS 444444444444 - Admin"),
        "{text}"
    );
    assert!(
        text.contains("held, and released with --release-held"),
        "{text}"
    );
}

#[test]
fn a_bad_release_held_account_exits_2_naming_it() {
    let out = plan_examples()
        .args(["--release-held", "111111111111,prod"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("--release-held") && err.contains("\"prod\"") && err.contains("12 digits"),
        "{err}"
    );
    assert!(stdout(&out).is_empty());
}

#[test]
fn a_version_1_inventory_is_still_read_and_an_account_it_lacks_is_held() {
    let v1 = "tests/fixtures/inventory/v1.json";
    let out = plan(v1, "examples/service-principal.json")
        .args(["--output", "json"])
        .output()
        .unwrap();
    crate::support::assert_exit(&out, 4);
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["summary"]["add"], 2);
    assert_eq!(plan["summary"]["disable"], 1);
    // The v1 snapshot does not list 444444444444 and cannot say why: held, needs a person.
    let held = plan["held"].as_array().unwrap();
    let sandbox = held
        .iter()
        .find(|h| h["account"] == "444444444444")
        .expect("the sandbox role is held");
    assert_eq!(sandbox["reason"], "account-not-listed");
    assert_eq!(sandbox["needs_attention"], true);
}
