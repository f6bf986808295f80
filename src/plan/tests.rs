//! Tests of the planning rules, one or more per rule of the module doc, and property tests over
//! generated inventories and manifests.

use proptest::prelude::*;
use serde_json::json;

use super::guardrail::{self, Guardrails, MaxRemovals, Refusal};
use super::*;
use crate::model::{
    AccountInventory, AccountOutcome, Assignment, AssignmentId, Current, FailureStage, Group,
    IamRole, Inventory, Listing, ObjectId, PrincipalType, ProviderVerdict, RemovedAssignment,
    SamlProvider, SkipReason, SyncState, Trust, TrustVerdict,
};

const A: &str = "111111111111";
const B: &str = "222222222222";
const C: &str = "333333333333";

fn role_arn(account: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:role/{name}")
}
fn idp(account: &str) -> String {
    format!("arn:aws:iam::{account}:saml-provider/AzureAD")
}
fn value(account: &str, name: &str) -> String {
    format!("{},{}", role_arn(account, name), idp(account))
}

fn provider(arn: &str, verdict: ProviderVerdict) -> SamlProvider {
    SamlProvider {
        arn: arn.parse().unwrap(),
        verdict,
        reason: format!("provider is {verdict:?}"),
        certificates: Vec::new(),
    }
}

/// A read account whose AzureAD provider is ours and whose `roles` trust it.
fn read(account: &str, roles: &[&str]) -> AccountInventory {
    let roles: Vec<(&str, TrustVerdict)> = roles.iter().map(|r| (*r, TrustVerdict::Yes)).collect();
    read_with(account, ProviderVerdict::Ours, &roles)
}

/// A read account whose AzureAD provider has `verdict`, and roles with their verdict for it.
fn read_with(
    account: &str,
    verdict: ProviderVerdict,
    roles: &[(&str, TrustVerdict)],
) -> AccountInventory {
    AccountInventory {
        id: account.parse().unwrap(),
        name: format!("acct-{account}"),
        outcome: AccountOutcome::Read {
            providers: vec![provider(&idp(account), verdict)],
            roles: roles
                .iter()
                .map(|(r, verdict)| IamRole {
                    arn: role_arn(account, r).parse().unwrap(),
                    trust: vec![Trust {
                        provider: idp(account).parse().unwrap(),
                        verdict: *verdict,
                        reason: format!("verdict {verdict:?} for {r}"),
                    }],
                    notes: Vec::new(),
                })
                .collect(),
        },
    }
}

fn skipped(account: &str, reason: SkipReason) -> AccountInventory {
    AccountInventory {
        id: account.parse().unwrap(),
        name: format!("acct-{account}"),
        outcome: AccountOutcome::Skipped {
            reason,
            state: "SOMETHING".into(),
        },
    }
}

/// An app role with the id fedsync derives from its value.
fn derived(value: &str, enabled: bool) -> AppRole {
    let mut role = app_role(0, Some(value), "derived", enabled);
    role.id = AppRoleId::for_value(value);
    role
}

fn failed(account: &str) -> AccountInventory {
    AccountInventory {
        id: account.parse().unwrap(),
        name: format!("acct-{account}"),
        outcome: AccountOutcome::Failed {
            stage: FailureStage::AssumeRole,
            reason: "AccessDenied".into(),
        },
    }
}

fn app_role(id: u128, value: Option<&str>, display_name: &str, enabled: bool) -> AppRole {
    serde_json::from_value(json!({
        "allowedMemberTypes": ["User"],
        "description": value.map(|v| describe(&v.parse().unwrap())),
        "displayName": display_name,
        "id": uuid::Uuid::from_u128(id).to_string(),
        "isEnabled": enabled,
        "origin": "ServicePrincipal",
        "value": value,
    }))
    .unwrap()
}

fn msiam_access() -> AppRole {
    serde_json::from_value(json!({
        "allowedMemberTypes": ["User"], "description": "msiam_access", "displayName": "msiam_access",
        "id": "7dfd756e-8c27-4472-b2b7-38c17fc5de5e", "isEnabled": true, "origin": "Application",
        "value": null, "isPreAuthorizationRequired": false
    }))
    .unwrap()
}

/// [`super::plan`] of these app roles alone (no groups, assignments or records).
fn plan(
    inventory: &Inventory,
    current: &[AppRole],
    settings: &PlanSettings,
) -> Result<Plan, PlanError> {
    super::plan(
        inventory,
        &Current::of_app_roles("sp", current.to_vec()),
        &SyncState::default(),
        settings,
    )
}

fn inventory(accounts: Vec<AccountInventory>) -> Inventory {
    Inventory::new(Listing::Organization, accounts)
}

fn plan_of(accounts: Vec<AccountInventory>, current: &[AppRole]) -> Plan {
    plan(&inventory(accounts), current, &PlanSettings::default()).unwrap()
}

fn released(accounts: Vec<AccountInventory>, current: &[AppRole], release: &[&str]) -> Plan {
    let settings = PlanSettings {
        release_held: release.iter().map(|a| a.parse().unwrap()).collect(),
        ..PlanSettings::default()
    };
    plan(&inventory(accounts), current, &settings).unwrap()
}

fn by_value<'a>(plan: &'a Plan, v: &str) -> &'a AppRole {
    plan.target.iter().find(|r| r.value() == Some(v)).unwrap()
}

#[test]
fn a_new_role_is_added_enabled_with_a_uuid_v5_id_and_the_naming_convention() {
    let p = plan_of(vec![read(A, &["Admin"])], &[msiam_access()]);
    assert_eq!(p.count(Action::Add), 1);
    let added = by_value(&p, &value(A, "Admin"));
    assert_eq!(added.id, AppRoleId::for_value(&value(A, "Admin")));
    assert_eq!(added.display_name(), Some("AWS 111111111111 - Admin"));
    assert!(added.is_enabled);
    assert_eq!(added.origin, None);
    assert_eq!(p.changes[0].reason, Reason::NewRole);
}

#[test]
fn unmanaged_roles_reach_the_target_exactly_as_they_came() {
    let custom = app_role(9, None, "Custom", true);
    let mut other_tool = app_role(8, None, "Billing", false);
    other_tool.value = Some(Some("billing.viewer".into()));
    let current = [msiam_access(), custom.clone(), other_tool.clone()];
    let p = plan_of(vec![read(A, &[])], &current);
    assert_eq!(p.unmanaged, 3);
    assert!(p.is_empty());
    for (before, after) in current.iter().zip(&p.target) {
        assert_eq!(
            serde_json::to_value(before).unwrap(),
            serde_json::to_value(after).unwrap()
        );
    }
}

#[test]
fn an_existing_role_keeps_its_id_and_is_renamed_when_the_convention_changes() {
    let v = value(A, "Admin");
    let current = [app_role(1, Some(&v), "AWS 111111111111 - Admin", true)];
    let same = plan_of(vec![read(A, &["Admin"])], &current);
    assert!(same.is_empty(), "{:?}", same.changes);
    assert_eq!(same.unchanged, 1);

    let settings = PlanSettings {
        naming: "{account_name}/{role_name}".parse().unwrap(),
        ..PlanSettings::default()
    };
    let renamed = plan(&inventory(vec![read(A, &["Admin"])]), &current, &settings).unwrap();
    assert_eq!(renamed.count(Action::Update), 1);
    let change = &renamed.changes[0];
    assert_eq!(change.reason, Reason::NamingChanged);
    assert_eq!(change.fields[0].field, "displayName");
    assert_eq!(
        change.fields[0].after.as_deref(),
        Some("acct-111111111111/Admin")
    );
    let role = by_value(&renamed, &v);
    assert_eq!(
        role.id, current[0].id,
        "assignments hang on the id: it must survive"
    );
    assert_eq!(role.origin, current[0].origin);
}

#[test]
fn a_disabled_role_that_is_back_in_aws_is_enabled_again() {
    let v = value(A, "Admin");
    let p = plan_of(
        vec![read(A, &["Admin"])],
        &[app_role(1, Some(&v), "AWS 111111111111 - Admin", false)],
    );
    assert_eq!(p.count(Action::Enable), 1);
    assert_eq!(p.changes[0].reason, Reason::BackInAws);
    assert!(by_value(&p, &v).is_enabled);
    assert_eq!(
        by_value(&p, &v).id.to_string(),
        uuid::Uuid::from_u128(1).to_string()
    );
}

/// `account` read, its AzureAD provider ours with the certificate `hex` repeated.
fn read_signed(account: &str, hex: char, roles: &[&str]) -> AccountInventory {
    let mut account = read(account, roles);
    if let AccountOutcome::Read { providers, .. } = &mut account.outcome {
        providers[0].certificates = vec![crate::model::Certificate {
            sha256: hex.to_string().repeat(64).parse().unwrap(),
            not_after: None,
        }];
    }
    account
}

#[test]
fn an_app_role_in_an_account_another_app_signs_for_is_disabled_on_that_evidence() {
    // Account B moved to the app signing with `b`: app `a`'s share leaves it out, and its plan
    // looks it up when its app role there asks.
    let inventory = Inventory::new(
        Listing::Organization,
        vec![
            read_signed(A, 'a', &["Admin"]),
            read_signed(B, 'b', &["Admin"]),
            failed(C),
        ],
    );
    let certificates = |hex: char| [hex.to_string().repeat(64).parse().unwrap()].into();
    let routing = crate::model::Routing::new(
        std::sync::Arc::new(inventory),
        vec![certificates('a'), certificates('b')],
    );
    let share = routing.share(0);
    assert_eq!(share.accounts.len(), 2, "A and the failed C: B is left out");
    let current = [
        msiam_access(),
        derived(&value(A, "Admin"), true),
        derived(&value(B, "Admin"), true),
    ];
    let p = plan(&share, &current, &PlanSettings::default()).unwrap();
    assert_eq!(p.count(Action::Disable), 1);
    let disable = p
        .changes
        .iter()
        .find(|c| c.action == Action::Disable)
        .unwrap();
    assert_eq!(disable.value, value(B, "Admin"));
    assert_eq!(disable.reason, Reason::GoneFromAws);
    let detail = disable.detail.as_deref().unwrap_or_default();
    assert!(
        detail
            .contains("is not our Entra app's: it carries another app's signing certificate (bbbb"),
        "{detail}"
    );
    assert_eq!(p.failed_accounts.len(), 1);
}

#[test]
fn a_role_gone_from_aws_is_disabled_first_then_removed_by_the_next_run() {
    let v = value(A, "Gone");
    let current = [
        msiam_access(),
        app_role(1, Some(&v), "AWS 111111111111 - Gone", true),
    ];
    let first = plan_of(vec![read(A, &[])], &current);
    assert_eq!(first.count(Action::Disable), 1);
    assert_eq!(first.changes[0].reason, Reason::GoneFromAws);
    assert!(!by_value(&first, &v).is_enabled);
    assert_eq!(first.first_patch, None, "disabling needs one PATCH");

    let second = plan_of(vec![read(A, &[])], &first.target);
    assert_eq!(second.count(Action::Remove), 1);
    assert_eq!(second.changes[0].reason, Reason::DisabledEarlier);
    assert!(second.target.iter().all(|r| r.value() != Some(v.as_str())));
    let first_patch = second
        .first_patch
        .as_ref()
        .expect("removal needs a first PATCH");
    assert!(
        first_patch
            .iter()
            .any(|r| r.value() == Some(v.as_str()) && !r.is_enabled)
    );
    assert_eq!(second.peak_entries(), 2);

    let third = plan_of(vec![read(A, &[])], &second.target);
    assert!(third.is_empty());
}

#[test]
fn roles_fedsync_made_for_an_account_gone_from_the_organization_are_disabled() {
    let v = value(B, "Admin");
    let p = plan_of(vec![read(A, &[])], &[derived(&v, true)]);
    assert_eq!(p.changes[0].action, Action::Disable);
    assert_eq!(p.changes[0].reason, Reason::AccountGone);
    assert!(
        p.changes[0]
            .detail
            .as_deref()
            .unwrap()
            .contains("no longer in the Organization"),
        "{:?}",
        p.changes[0]
    );
    assert!(!p.needs_attention());
}

#[test]
fn roles_fedsync_did_not_make_for_a_vanished_account_are_held() {
    let v = value(B, "Admin");
    let hand_made = app_role(1, Some(&v), "x", true);
    let p = plan_of(vec![read(A, &[])], std::slice::from_ref(&hand_made));
    assert!(p.is_empty(), "{:?}", p.changes);
    assert_eq!(p.target, std::slice::from_ref(&hand_made));
    assert_eq!(p.held[0].reason, HoldReason::NotMadeByFedsync);
    assert!(!p.held[0].needs_attention, "held by choice: no exit 4");
    assert!(p.held[0].detail.contains("--release-held 222222222222"));
}

#[test]
fn without_a_complete_listing_absent_accounts_are_held_even_when_fedsync_made_them() {
    let v = value(B, "Admin");
    for listing in [Listing::ThisAccountOnly, Listing::Unknown] {
        let inv = Inventory::new(listing, vec![read(A, &[])]);
        let p = plan(&inv, &[derived(&v, true)], &PlanSettings::default()).unwrap();
        assert!(p.is_empty(), "{listing:?}: {:?}", p.changes);
        assert_eq!(p.held[0].reason, HoldReason::AccountNotListed);
        assert!(p.needs_attention());
    }
}

#[test]
fn accounts_left_out_or_not_active_hold_their_roles_and_closed_ones_lose_them() {
    let v = value(B, "Admin");
    let current = [derived(&v, true)];
    for (reason, hold, attention) in [
        (SkipReason::Excluded, HoldReason::AccountExcluded, false),
        (
            SkipReason::NotIncluded,
            HoldReason::AccountNotIncluded,
            false,
        ),
        (SkipReason::Suspended, HoldReason::AccountSuspended, false),
        (
            SkipReason::PendingClosure,
            HoldReason::AccountPendingClosure,
            false,
        ),
        (
            SkipReason::UnknownState,
            HoldReason::AccountStateUnknown,
            true,
        ),
    ] {
        let p = plan_of(vec![read(A, &[]), skipped(B, reason)], &current);
        assert!(p.is_empty(), "{reason:?}: {:?}", p.changes);
        assert_eq!(p.target, current);
        assert_eq!(p.held.len(), 1);
        assert_eq!(p.held[0].reason, hold);
        assert_eq!(p.held[0].needs_attention, attention, "{reason:?}");
        assert_eq!(p.needs_attention(), attention);
    }
    // Closed: gone, even for a role fedsync did not make.
    let hand_made = app_role(1, Some(&v), "x", true);
    let p = plan_of(vec![skipped(B, SkipReason::Closed)], &[hand_made]);
    assert_eq!(p.count(Action::Disable), 1);
    assert_eq!(p.changes[0].reason, Reason::AccountGone);
}

#[test]
fn undecided_pairs_hold_their_app_roles_and_a_no_disables_with_its_evidence() {
    let cant = value(A, "Odd");
    let unknown = value(A, "Rotating");
    let no = value(A, "Elsewhere");
    let current = [
        derived(&cant, true),
        derived(&unknown, false),
        derived(&no, true),
    ];
    let account = read_with(
        A,
        ProviderVerdict::Ours,
        &[
            ("Odd", TrustVerdict::CantTell),
            ("Rotating", TrustVerdict::UnknownCertificate),
            ("Elsewhere", TrustVerdict::No),
        ],
    );
    let p = plan_of(vec![account], &current);
    assert_eq!(p.count(Action::Disable), 1);
    assert_eq!(p.changes[0].value, no);
    assert_eq!(p.changes[0].reason, Reason::GoneFromAws);
    assert_eq!(
        p.changes[0].detail.as_deref(),
        Some("verdict No for Elsewhere")
    );
    let held: Vec<(&str, HoldReason)> = p
        .held
        .iter()
        .map(|h| (h.value.as_str(), h.reason))
        .collect();
    assert_eq!(
        held,
        [
            (cant.as_str(), HoldReason::CantTell),
            (unknown.as_str(), HoldReason::UnknownCertificate)
        ]
    );
    assert!(p.needs_attention());
    assert!(
        !by_value(&p, &unknown).is_enabled,
        "held as it was: disabled"
    );
}

#[test]
fn a_provider_gone_or_not_ours_is_evidence() {
    let v = value(A, "Admin");
    let not_ours = read_with(A, ProviderVerdict::NotOurs, &[]);
    let p = plan_of(vec![not_ours], &[derived(&v, true)]);
    assert_eq!(p.count(Action::Disable), 1);
    assert!(
        p.changes[0]
            .detail
            .as_deref()
            .unwrap()
            .contains("is not our Entra app's")
    );
    let mut gone = read(A, &[]);
    if let AccountOutcome::Read { providers, .. } = &mut gone.outcome {
        providers.clear();
    }
    let p = plan_of(vec![gone], &[derived(&v, true)]);
    assert!(p.changes[0].detail.as_deref().unwrap().contains("is gone"));
}

#[test]
fn a_new_role_that_only_an_undecided_verdict_would_add_is_not_added_and_is_listed() {
    let account = read_with(
        A,
        ProviderVerdict::UnknownCertificate,
        &[
            ("New", TrustVerdict::UnknownCertificate),
            ("Odd", TrustVerdict::CantTell),
            ("Other", TrustVerdict::No),
        ],
    );
    let p = plan_of(vec![account], &[]);
    assert!(p.is_empty(), "{:?}", p.changes);
    assert!(p.groups.is_empty());
    assert_eq!(p.held.len(), 2);
    assert!(p.held.iter().all(|h| h.id.is_none() && h.needs_attention));
    assert_eq!(p.held[0].detail, "verdict UnknownCertificate for New");
}

#[test]
fn release_held_lets_held_roles_go_but_never_a_failed_accounts() {
    let excluded = value(B, "Admin");
    let excluded_off = value(B, "Old");
    let unread = value(C, "Admin");
    let current = [
        derived(&excluded, true),
        derived(&excluded_off, false),
        derived(&unread, true),
    ];
    let accounts = || vec![skipped(B, SkipReason::Excluded), failed(C), read(A, &[])];
    let p = released(accounts(), &current, &[B, C, A]);
    let actions: Vec<(Action, &str, Reason)> = p
        .changes
        .iter()
        .map(|c| (c.action, c.value.as_str(), c.reason))
        .collect();
    assert_eq!(
        actions,
        [
            (Action::Disable, excluded.as_str(), Reason::Released),
            (Action::Remove, excluded_off.as_str(), Reason::Released)
        ]
    );
    assert_eq!(p.held.len(), 1, "the failed account's role stays held");
    assert_eq!(p.held[0].reason, HoldReason::AccountUnreadable);
    let nothing: Vec<String> = p.released_nothing.iter().map(ToString::to_string).collect();
    assert_eq!(nothing, [A, C]);
    // Released disables count against max-removals like any other.
    assert_eq!(p.count(Action::Disable), 1);
}

#[test]
fn roles_of_a_failed_account_are_never_touched() {
    let enabled = app_role(1, Some(&value(B, "Admin")), "stale name", true);
    let disabled = app_role(2, Some(&value(B, "Old")), "AWS 222222222222 - Old", false);
    let current = [enabled.clone(), disabled.clone()];
    let p = plan_of(vec![read(A, &[]), failed(B)], &current);
    assert!(p.is_empty(), "{:?}", p.changes);
    assert_eq!(p.target, current);
    assert_eq!(p.failed_accounts.len(), 1);
    assert_eq!(p.failed_accounts[0].held_roles, 2);
}

#[test]
fn a_value_graph_would_refuse_is_skipped_and_listed_never_truncated() {
    let long_name = "R".repeat(64);
    let p = plan_of(vec![read(A, &["Admin", &long_name])], &[]);
    assert_eq!(p.count(Action::Add), 1);
    assert_eq!(p.skipped.len(), 1);
    assert_eq!(p.skipped[0].role, role_arn(A, &long_name));
    assert!(
        p.skipped[0].reason.contains("over Graph's limit of 120"),
        "{}",
        p.skipped[0].reason
    );
    assert!(
        p.target
            .iter()
            .all(|r| r.value().is_none_or(|v| v.len() <= 120))
    );

    // The same role, already present (say from a laxer limit), is left alone rather than disabled.
    let long_value = value(A, &long_name);
    let current = [app_role(1, Some(&long_value), "x", true)];
    let p = plan_of(vec![read(A, &[&long_name])], &current);
    assert!(p.is_empty());
    assert_eq!(p.target, current);
}

#[test]
fn of_two_trusted_providers_every_existing_pair_is_kept_else_the_first_is_added() {
    let other = format!("arn:aws:iam::{A}:saml-provider/Entra");
    let trust = |p: &str| Trust {
        provider: p.parse().unwrap(),
        verdict: TrustVerdict::Yes,
        reason: String::new(),
    };
    let account = AccountInventory {
        id: A.parse().unwrap(),
        name: "a".into(),
        outcome: AccountOutcome::Read {
            providers: vec![
                provider(&idp(A), ProviderVerdict::Ours),
                provider(&other, ProviderVerdict::Ours),
            ],
            roles: vec![IamRole {
                arn: role_arn(A, "Admin").parse().unwrap(),
                trust: vec![trust(&other), trust(&idp(A))],
                notes: Vec::new(),
            }],
        },
    };
    let fresh = plan_of(vec![account.clone()], &[]);
    assert_eq!(fresh.target.len(), 1, "one app role per IAM role");
    assert_eq!(
        fresh.target[0].value(),
        Some(value(A, "Admin").as_str()),
        "AzureAD sorts first"
    );

    let existing_value = format!("{},{other}", role_arn(A, "Admin"));
    let current = [app_role(
        1,
        Some(&existing_value),
        "AWS 111111111111 - Admin",
        true,
    )];
    let kept = plan_of(vec![account.clone()], &current);
    assert!(kept.is_empty(), "{:?}", kept.changes);

    // Both pairs exist: the role trusts both, so neither is disabled (one comes back).
    let both = [
        current[0].clone(),
        app_role(
            2,
            Some(&value(A, "Admin")),
            "AWS 111111111111 - Admin",
            false,
        ),
    ];
    let p = plan_of(vec![account], &both);
    assert_eq!(p.count(Action::Disable), 0);
    assert_eq!(p.count(Action::Enable), 1);
}

#[test]
fn a_foreign_role_taking_our_derived_id_is_an_error() {
    let v = value(A, "Admin");
    let mut squatter = app_role(0, None, "squatter", true);
    squatter.id = AppRoleId::for_value(&v);
    squatter.value = Some(Some("something.else".into()));
    let err = plan(
        &inventory(vec![read(A, &["Admin"])]),
        &[squatter],
        &PlanSettings::default(),
    )
    .unwrap_err();
    assert!(matches!(err, PlanError::IdTaken { .. }));
    assert!(err.to_string().contains("something.else"), "{err}");
}

#[test]
fn groups_follow_the_role_names_or_their_own_convention() {
    let p = plan_of(vec![read(A, &["Admin", "Dev"])], &[]);
    let names: Vec<_> = p.groups.iter().map(|g| g.display_name.as_str()).collect();
    assert_eq!(
        names,
        ["AWS 111111111111 - Admin", "AWS 111111111111 - Dev"]
    );
    assert_eq!(
        p.groups[0].app_role_id,
        AppRoleId::for_value(&value(A, "Admin"))
    );
    assert!(
        p.groups
            .iter()
            .all(|g| g.mail_nickname.len() <= 64 && !g.mail_nickname.contains(' '))
    );

    let settings = PlanSettings {
        group_naming: Some("grp-{0}-{role_name}".parse().unwrap()),
        ..PlanSettings::default()
    };
    let p = plan(&inventory(vec![read(A, &["Admin"])]), &[], &settings).unwrap();
    assert_eq!(p.groups[0].display_name, "grp-111111111111-Admin");

    let off = PlanSettings {
        create_groups: false,
        ..PlanSettings::default()
    };
    assert!(
        plan(&inventory(vec![read(A, &["Admin"])]), &[], &off)
            .unwrap()
            .groups
            .is_empty()
    );
}

#[test]
fn roles_whose_names_collide_are_skipped_one_by_one_and_the_rest_planned() {
    let mut a = read(A, &["Admin", "Dev"]);
    let mut b = read(B, &["Admin"]);
    a.name = "Same".into();
    b.name = "same".into();
    let settings = PlanSettings {
        naming: "{account_name} {role_name} {account_id}".parse().unwrap(),
        group_naming: Some("{account_name} {role_name}".parse().unwrap()),
        ..PlanSettings::default()
    };
    // The two Admin roles would share a group name: both skipped; Dev is planned.
    let existing = app_role(1, Some(&value(A, "Admin")), "x", true);
    let p = plan(
        &inventory(vec![a, b]),
        std::slice::from_ref(&existing),
        &settings,
    )
    .unwrap();
    let skipped: Vec<&str> = p.skipped.iter().map(|s| s.value.as_str()).collect();
    assert_eq!(skipped, [value(A, "Admin"), value(B, "Admin")]);
    assert!(
        p.skipped[0].reason.contains("group name"),
        "{}",
        p.skipped[0].reason
    );
    assert_eq!(p.count(Action::Add), 1);
    assert_eq!(p.changes[0].value, value(A, "Dev"));
    assert_eq!(by_value(&p, &value(A, "Admin")), &existing, "left as it is");
    // Display names that collide are skipped the same way.
    let mut a = read(A, &["Admin"]);
    let mut b = read(B, &["Admin"]);
    a.name = "Same".into();
    b.name = "Same".into();
    let settings = PlanSettings {
        naming: "{account_name} {role_name}".parse().unwrap(),
        create_groups: false,
        ..PlanSettings::default()
    };
    let p = plan(&inventory(vec![a, b]), &[], &settings).unwrap();
    assert_eq!(p.skipped.len(), 2);
    assert!(p.skipped[0].reason.contains("app role display name"));
    assert!(p.is_empty());
}

#[test]
fn a_group_name_over_256_characters_is_listed_not_truncated() {
    let settings = PlanSettings {
        group_naming: Some(format!("{}{{0}}{{1}}", "g".repeat(250)).parse().unwrap()),
        ..PlanSettings::default()
    };
    let p = plan(&inventory(vec![read(A, &["Admin"])]), &[], &settings).unwrap();
    assert!(p.groups.is_empty());
    assert_eq!(p.skipped_groups.len(), 1);
    assert_eq!(
        p.count(Action::Add),
        1,
        "the app role itself is still planned"
    );
}

fn enabled_roles(account: &str, n: usize) -> Vec<AppRole> {
    (0..n)
        .map(|i| {
            app_role(
                i as u128 + 1,
                Some(&value(account, &format!("R{i}"))),
                "n",
                true,
            )
        })
        .collect()
}

#[test]
fn removals_over_max_removals_are_refused_unless_allowed() {
    let current = enabled_roles(A, 20);
    // 10% of 20 = 2: two disables pass, three are refused.
    let keep: Vec<String> = (2..20).map(|i| format!("R{i}")).collect();
    let keep: Vec<&str> = keep.iter().map(String::as_str).collect();
    let two = plan_of(vec![read(A, &keep)], &current);
    assert_eq!(two.count(Action::Disable), 2);
    assert!(guardrail::check(&two, &Guardrails::default()).is_empty());

    let three = plan_of(vec![read(A, &keep[1..])], &current);
    let refusals = guardrail::check(&three, &Guardrails::default());
    assert_eq!(
        refusals,
        [Refusal::TooManyRemovals {
            disabling: 3,
            enabled: 20,
            limit: 2,
            max_removals: MaxRemovals::Percent(10)
        }]
    );
    assert!(refusals[0].to_string().contains("--allow-removals"));
    let allowed = Guardrails {
        allow_removals: true,
        ..Guardrails::default()
    };
    assert!(guardrail::check(&three, &allowed).is_empty());
    let by_count = Guardrails {
        max_removals: MaxRemovals::Count(3),
        ..Guardrails::default()
    };
    assert!(guardrail::check(&three, &by_count).is_empty());
}

#[test]
fn removing_already_disabled_roles_is_not_limited() {
    let current: Vec<AppRole> = enabled_roles(A, 5)
        .into_iter()
        .map(|mut r| {
            r.is_enabled = false;
            r
        })
        .collect();
    let p = plan_of(vec![read(A, &[])], &current);
    assert_eq!(p.count(Action::Remove), 5);
    assert!(guardrail::check(&p, &Guardrails::default()).is_empty());
}

#[test]
fn max_removals_parses_counts_and_percentages_and_rounds_up() {
    assert_eq!("5".parse(), Ok(MaxRemovals::Count(5)));
    assert_eq!("10%".parse(), Ok(MaxRemovals::Percent(10)));
    assert!("101%".parse::<MaxRemovals>().is_err());
    assert!("ten".parse::<MaxRemovals>().unwrap_err().contains("ten"));
    assert_eq!(MaxRemovals::Percent(10).limit(5), 1);
    assert_eq!(MaxRemovals::Percent(10).limit(0), 0);
    assert_eq!(MaxRemovals::Percent(0).limit(100), 0);
}

#[test]
fn a_plan_over_the_entry_cap_is_refused_with_the_counts() {
    let names: Vec<String> = (0..5).map(|i| format!("R{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let p = plan_of(vec![read(A, &names)], &[msiam_access()]);
    let cap = Guardrails {
        max_app_roles: 5,
        ..Guardrails::default()
    };
    let refusals = guardrail::check(&p, &cap);
    assert_eq!(
        refusals,
        [Refusal::OverEntryCap {
            peak: 6,
            current: 1,
            adding: 5,
            beside_app_roles: 0,
            cap: 5
        }]
    );
    assert!(refusals[0].to_string().contains("needs 6 entries"));
    assert!(
        guardrail::check(
            &p,
            &Guardrails {
                max_app_roles: 6,
                ..cap
            }
        )
        .is_empty()
    );
}

#[test]
fn a_plan_counted_over_the_entry_cap_is_not_built_changes_nothing_and_is_refused_alike() {
    let names: Vec<String> = (0..5).map(|i| format!("R{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let accounts = vec![read(A, &names), failed(B)];
    let current = [msiam_access(), derived(&value(A, "R0"), true)];
    let cap = Guardrails {
        max_app_roles: 5,
        ..Guardrails::default()
    };
    let counted = plan(
        &inventory(accounts.clone()),
        &current,
        &PlanSettings {
            entry_cap: cap.max_app_roles,
            ..PlanSettings::default()
        },
    )
    .unwrap();
    let built = plan_of(accounts, &current);

    assert_eq!(counted.not_built, Some(NotBuilt { adding: 4 }));
    assert_eq!(built.not_built, None);
    assert!(counted.changes.is_empty() && counted.groups.is_empty());
    assert!(counted.writes_nothing(), "{:?}", steps::steps(&counted));
    assert_eq!(counted.target, current);
    assert_eq!(counted.failed_accounts.len(), 1, "still reported");
    assert_eq!(counted.adding(), built.adding());
    assert_eq!(counted.peak_entries(), built.peak_entries());
    // Refused with the very counts the built plan is refused with.
    let refusals = guardrail::check(&counted, &cap);
    assert_eq!(refusals, guardrail::check(&built, &cap));
    assert!(
        refusals[0]
            .to_string()
            .contains("needs 6 entries (2 now, 4 app roles to add), over max-app-roles 5"),
        "{refusals:?}"
    );
}

#[test]
fn roles_whose_names_collide_are_not_counted_so_a_plan_that_fits_is_built() {
    // By role name alone, Admin of A and of B share a name: both are skipped, as in the built
    // plan, which then adds Dev only and fits a cap of two.
    let (mut a, mut b) = (read(A, &["Admin", "Dev"]), read(B, &["Admin"]));
    a.name = "Same".into();
    b.name = "same".into();
    let accounts = vec![a, b];
    let settings = PlanSettings {
        naming: "{account_name} {role_name}".parse().unwrap(),
        entry_cap: 2,
        ..PlanSettings::default()
    };
    let p = plan(&inventory(accounts), &[msiam_access()], &settings).unwrap();
    assert_eq!(p.not_built, None);
    assert_eq!(p.count(Action::Add), 1);
    assert_eq!(p.skipped.len(), 2, "{:?}", p.skipped);
    assert!(
        guardrail::check(
            &p,
            &Guardrails {
                max_app_roles: 2,
                ..Guardrails::default()
            }
        )
        .is_empty()
    );
}

#[test]
fn the_entry_cap_counts_roles_still_waiting_for_removal() {
    let mut current = enabled_roles(A, 2);
    current[0].is_enabled = false; // R0 will be removed, after the first PATCH adds New
    let p = plan_of(vec![read(A, &["R1", "New"])], &current);
    assert_eq!(p.target.len(), 2);
    assert_eq!(p.peak_entries(), 3);
    let refusals = guardrail::check(
        &p,
        &Guardrails {
            max_app_roles: 2,
            ..Guardrails::default()
        },
    );
    assert!(matches!(
        refusals[..],
        [Refusal::OverEntryCap { peak: 3, .. }]
    ));
}

/// A service principal with `roles` and `per_collection` entries in each collection that shares
/// the entry cap.
fn with_shared_collections(roles: &[AppRole], per_collection: usize) -> Current {
    let mut current = Current::of_app_roles("sp", roles.to_vec());
    for name in crate::model::COLLECTIONS_SHARING_THE_CAP {
        let entries: Vec<serde_json::Value> = (0..per_collection)
            .map(|i| format!("{name}-{i}").into())
            .collect();
        current
            .service_principal
            .extra
            .insert(name.to_owned(), entries.into());
    }
    current
}

#[test]
fn the_entry_cap_counts_the_collections_that_share_it() {
    // 2 app roles after the plan, and 4 × 3 entries in keyCredentials, oauth2PermissionScopes,
    // replyUrls and servicePrincipalNames: 14 entries against the cap.
    let current = with_shared_collections(&[msiam_access()], 3);
    let p = super::plan(
        &inventory(vec![read(A, &["Admin"])]),
        &current,
        &SyncState::default(),
        &PlanSettings::default(),
    )
    .unwrap();
    assert_eq!(p.entries_beside_app_roles, 12);
    assert_eq!(p.peak_entries(), 14);
    let at = |max_app_roles| Guardrails {
        max_app_roles,
        ..Guardrails::default()
    };
    let refusals = guardrail::check(&p, &at(13));
    assert_eq!(
        refusals,
        [Refusal::OverEntryCap {
            peak: 14,
            current: 13,
            adding: 1,
            beside_app_roles: 12,
            cap: 13
        }]
    );
    let text = refusals[0].to_string();
    assert!(
        text.contains("needs 14 entries")
            && text.contains("12 of them in keyCredentials, oauth2PermissionScopes, replyUrls, servicePrincipalNames"),
        "{text}"
    );
    assert!(guardrail::check(&p, &at(14)).is_empty());
}

#[test]
fn a_plan_at_ninety_percent_of_the_cap_warns_and_below_does_not() {
    let current = with_shared_collections(&[msiam_access()], 2); // 8 beside the app roles
    let p = super::plan(
        &inventory(vec![read(A, &["Admin"])]),
        &current,
        &SyncState::default(),
        &PlanSettings::default(),
    )
    .unwrap();
    let fill = |max_app_roles| {
        guardrail::fill(
            &p,
            &Guardrails {
                max_app_roles,
                ..Guardrails::default()
            },
        )
    };
    // 10 entries: 100% of 10, 90% of 11 (rounded down), 83% of 12.
    assert_eq!(fill(10).percent, 100);
    assert!(fill(10).near_cap());
    assert_eq!(fill(11).percent, 90);
    let warning = fill(11).warning().expect("90% warns");
    assert!(
        warning.contains("90% full (10 of max-app-roles 11 entries)"),
        "{warning}"
    );
    assert_eq!(fill(12).percent, 83);
    assert_eq!(fill(12).warning(), None);
}

#[test]
fn json_rendering_follows_the_documented_schema() {
    let p = plan_of(vec![read(A, &["Admin"]), failed(B)], &[msiam_access()]);
    let v = render::to_json(&p, &[], &guardrail::fill(&p, &Guardrails::default()));
    assert_eq!(v["schema"], "fedsync.plan/v1");
    assert_eq!(v["summary"]["add"], 1);
    assert_eq!(v["summary"]["unmanaged"], 1);
    assert_eq!(v["summary"]["failed_accounts"], 1);
    assert_eq!(v["changes"][0]["action"], "add");
    assert_eq!(v["changes"][0]["reason"], "new-role");
    assert_eq!(v["changes"][0]["value"], value(A, "Admin"));
    assert_eq!(v["failed_accounts"][0]["stage"], "assume-role");
    assert_eq!(v["groups"][0]["display_name"], "AWS 111111111111 - Admin");
    assert_eq!(v["target"].as_array().unwrap().len(), 2);
    assert_eq!(
        v["target"][0],
        serde_json::to_value(msiam_access()).unwrap()
    );
}

// ---- properties ----------------------------------------------------------------------------

const ACCOUNTS: [&str; 3] = ["111111111111", "222222222222", "333333333333"];
const ROLES: [&str; 4] = ["Admin", "Dev", "ReadOnly", "team/Ops"];

const VERDICTS: [TrustVerdict; 4] = [
    TrustVerdict::Yes,
    TrustVerdict::No,
    TrustVerdict::CantTell,
    TrustVerdict::UnknownCertificate,
];
const SKIPS: [SkipReason; 6] = [
    SkipReason::Excluded,
    SkipReason::NotIncluded,
    SkipReason::Suspended,
    SkipReason::PendingClosure,
    SkipReason::Closed,
    SkipReason::UnknownState,
];

/// An account: read with some of ROLES (each with a verdict), failed, or skipped.
fn account_strategy(account: &'static str) -> impl Strategy<Value = AccountInventory> {
    (
        0..4usize,
        proptest::collection::vec((0..ROLES.len(), 0..VERDICTS.len()), 0..=ROLES.len()),
        0..SKIPS.len(),
    )
        .prop_map(move |(kind, roles, skip)| {
            let mut seen = std::collections::HashSet::new();
            let roles: Vec<(&str, TrustVerdict)> = roles
                .into_iter()
                .filter(|(r, _)| seen.insert(*r))
                .map(|(r, v)| (ROLES[r], VERDICTS[v]))
                .collect();
            match kind {
                0 | 1 => read_with(account, ProviderVerdict::Ours, &roles),
                2 => failed(account),
                _ => skipped(account, SKIPS[skip]),
            }
        })
}

fn inventory_strategy() -> impl Strategy<Value = Inventory> {
    (
        proptest::sample::subsequence(ACCOUNTS.to_vec(), 0..=ACCOUNTS.len()),
        account_strategy(ACCOUNTS[0]),
        account_strategy(ACCOUNTS[1]),
        account_strategy(ACCOUNTS[2]),
        0..3usize,
    )
        .prop_map(|(present, a, b, c, listing)| {
            Inventory::new(
                [
                    Listing::Organization,
                    Listing::ThisAccountOnly,
                    Listing::Unknown,
                ][listing],
                [a, b, c]
                    .into_iter()
                    .filter(|acc| present.contains(&acc.id.as_str()))
                    .collect(),
            )
        })
}

/// The verdict the inventory gives `value`'s pair, when its account was read and lists it.
fn pair_verdict(inventory: &Inventory, value: &AwsRoleValue) -> Option<TrustVerdict> {
    let account = inventory.account(value.role().account())?;
    let AccountOutcome::Read { roles, .. } = &account.outcome else {
        return None;
    };
    roles
        .iter()
        .find(|r| &r.arn == value.role())?
        .trust
        .iter()
        .find(|t| &t.provider == value.provider())
        .map(|t| t.verdict)
}

/// Whether the inventory holds evidence that `role` lets nobody in: the one ground to disable.
fn has_evidence(inventory: &Inventory, role: &AppRole, value: &AwsRoleValue) -> bool {
    match inventory
        .account(value.role().account())
        .map(|a| &a.outcome)
    {
        None => {
            inventory.listing == Listing::Organization
                && role.id == AppRoleId::for_value(&value.to_string())
        }
        Some(AccountOutcome::Skipped { reason, .. }) => *reason == SkipReason::Closed,
        Some(AccountOutcome::Failed { .. }) => false,
        Some(AccountOutcome::Read { .. }) => matches!(
            pair_verdict(inventory, value),
            None | Some(TrustVerdict::No)
        ),
    }
}

/// Current app roles: some managed (any account, any role, enabled or not, any name), some not.
fn current_strategy() -> impl Strategy<Value = Vec<AppRole>> {
    let managed = proptest::collection::vec(
        (
            0..ACCOUNTS.len(),
            0..ROLES.len(),
            any::<bool>(),
            "[a-z ]{0,8}",
        ),
        0..8,
    );
    (managed, any::<bool>(), any::<bool>()).prop_map(|(managed, with_msiam, with_custom)| {
        let mut roles = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (i, (a, r, enabled, name)) in managed.into_iter().enumerate() {
            let v = value(ACCOUNTS[a], ROLES[r]);
            if seen.insert(v.clone()) {
                // Some made by fedsync (the derived id), some by hand.
                let mut role = app_role(1000 + i as u128, Some(&v), &name, enabled);
                if i % 2 == 0 {
                    role.id = AppRoleId::for_value(&v);
                }
                roles.push(role);
            }
        }
        if with_msiam {
            roles.insert(0, msiam_access());
        }
        if with_custom {
            let mut custom = app_role(7, None, "Custom", false);
            custom.value = Some(Some("custom.role".into()));
            roles.push(custom);
        }
        roles
    })
}

fn shuffled<T: Clone>(items: &[T], seed: u64) -> Vec<T> {
    let mut out = items.to_vec();
    let n = out.len();
    for i in (1..n).rev() {
        let j = (seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(i as u64)
            >> 33) as usize
            % (i + 1);
        out.swap(i, j);
    }
    out
}

proptest! {
    #[test]
    fn planning_against_the_plans_own_target_changes_nothing(
        inventory in inventory_strategy(), current in current_strategy()
    ) {
        let first = plan(&inventory, &current, &PlanSettings::default()).unwrap();
        // A second run may still drop what the first one disabled; after that, nothing moves.
        let second = plan(&inventory, &first.target, &PlanSettings::default()).unwrap();
        prop_assert!(second.changes.iter().all(|c| c.action == Action::Remove), "{:?}", second.changes);
        let third = plan(&inventory, &second.target, &PlanSettings::default()).unwrap();
        prop_assert!(third.is_empty(), "{:?}", third.changes);
        prop_assert_eq!(third.target, second.target);
    }

    #[test]
    fn no_unmanaged_role_is_ever_changed(inventory in inventory_strategy(), current in current_strategy()) {
        let p = plan(&inventory, &current, &PlanSettings::default()).unwrap();
        let unmanaged: Vec<_> = current.iter().filter(|r| r.aws_value().is_none()).collect();
        let kept: Vec<_> = p.target.iter().filter(|r| r.aws_value().is_none()).collect();
        prop_assert_eq!(unmanaged, kept);
    }

    #[test]
    fn no_role_of_a_failed_account_is_ever_changed(inventory in inventory_strategy(), current in current_strategy()) {
        let p = plan(&inventory, &current, &PlanSettings::default()).unwrap();
        let failed: Vec<&AccountId> = inventory.accounts.iter()
            .filter(|a| matches!(a.outcome, AccountOutcome::Failed { .. }))
            .map(|a| &a.id)
            .collect();
        let of_failed = |r: &&AppRole| r.aws_value().is_some_and(|v| failed.contains(&v.role().account()));
        let before: Vec<_> = current.iter().filter(of_failed).collect();
        let after: Vec<_> = p.target.iter().filter(of_failed).collect();
        prop_assert_eq!(before, after);
        let touches_failed = p.changes.iter().any(|c| {
            let v: AwsRoleValue = c.value.parse().unwrap();
            failed.contains(&v.role().account())
        });
        prop_assert!(!touches_failed);
    }

    #[test]
    fn a_role_is_disabled_or_removed_only_on_evidence(
        inventory in inventory_strategy(), current in current_strategy()
    ) {
        let p = plan(&inventory, &current, &PlanSettings::default()).unwrap();
        for c in p.changes.iter().filter(|c| matches!(c.action, Action::Disable | Action::Remove)) {
            let role = current.iter().find(|r| r.id == c.id).unwrap();
            let v: AwsRoleValue = c.value.parse().unwrap();
            prop_assert!(has_evidence(&inventory, role, &v), "{c:?} without evidence in {inventory:?}");
            prop_assert!(c.detail.is_some());
        }
    }

    #[test]
    fn an_undecided_or_held_role_never_changes_state_whatever_else_is_in_the_account(
        inventory in inventory_strategy(), current in current_strategy()
    ) {
        let p = plan(&inventory, &current, &PlanSettings::default()).unwrap();
        for role in &current {
            let Some(v) = role.aws_value() else { continue };
            let undecided = matches!(
                pair_verdict(&inventory, &v),
                Some(TrustVerdict::CantTell | TrustVerdict::UnknownCertificate)
            );
            if undecided || !has_evidence(&inventory, role, &v) && pair_verdict(&inventory, &v) != Some(TrustVerdict::Yes) {
                let after = p.target.iter().find(|r| r.id == role.id);
                prop_assert_eq!(after, Some(role), "{:?}", role);
                prop_assert!(p.held.iter().any(|h| h.id == Some(role.id)));
            }
        }
    }

    #[test]
    fn ids_are_stable_across_runs_and_input_order(
        inventory in inventory_strategy(), current in current_strategy(), seed in any::<u64>()
    ) {
        let p1 = plan(&inventory, &current, &PlanSettings::default()).unwrap();
        let mut reordered = inventory.clone();
        reordered.accounts = shuffled(&inventory.accounts, seed);
        for account in &mut reordered.accounts {
            if let AccountOutcome::Read { roles, .. } = &mut account.outcome {
                *roles = shuffled(roles, seed ^ 0x5555);
            }
        }
        let p2 = plan(&reordered, &shuffled(&current, seed ^ 0xaaaa), &PlanSettings::default()).unwrap();
        prop_assert_eq!(&p1.changes, &p2.changes);
        let ids = |p: &Plan| {
            let mut v: Vec<(String, AppRoleId, bool)> = p.target.iter()
                .map(|r| (r.value().unwrap_or_default().to_owned(), r.id, r.is_enabled))
                .collect();
            v.sort();
            v
        };
        prop_assert_eq!(ids(&p1), ids(&p2));
        // A role added by the plan gets the id a fresh plan of that value would give it.
        for c in p1.changes.iter().filter(|c| c.action == Action::Add) {
            prop_assert_eq!(c.id, AppRoleId::for_value(&c.value));
        }
    }
}

// Assignments and the steps: what a plan removes, records, restores and forgets, in which order.

fn oid(id: &str) -> ObjectId {
    id.parse().unwrap()
}

fn assigned(n: u64, principal: &str, kind: PrincipalType, value: &str) -> Assignment {
    Assignment {
        id: AssignmentId(format!("assignment-{n}")),
        principal_id: oid(principal),
        principal_type: kind,
        principal_display_name: Some(format!("name of {principal}")),
        app_role_id: AppRoleId::for_value(value),
        resource_id: oid("sp"),
    }
}

fn recorded(principal: &str, kind: PrincipalType, value: &str) -> RemovedAssignment {
    RemovedAssignment {
        app_role_id: AppRoleId::for_value(value),
        principal_id: oid(principal),
        principal_type: kind,
        principal_display_name: None,
        removed_at: time::macros::datetime!(2026-12-01 10:00 UTC),
        run: "earlier-run".into(),
    }
}

/// A plan (groups off) from these app roles, assignments and records.
fn plan_from(
    accounts: Vec<AccountInventory>,
    roles: &[AppRole],
    assignments: Vec<Assignment>,
    state: &SyncState,
) -> Plan {
    let mut current = Current::of_app_roles("sp", roles.to_vec());
    current.assignments = assignments;
    let no_groups = PlanSettings {
        create_groups: false,
        ..PlanSettings::default()
    };
    super::plan(&inventory(accounts), &current, state, &no_groups).unwrap()
}

fn actions(plan: &Plan) -> Vec<(AssignmentAction, String, bool)> {
    plan.assignments
        .iter()
        .map(|a| (a.action, a.principal_label(), a.record))
        .collect()
}

#[test]
fn a_disabled_role_loses_its_assignments_recorded_first_and_its_groups_are_listed() {
    let (admin, dev) = (value(A, "Admin"), value(A, "Dev"));
    let p = plan_from(
        vec![read(A, &["Dev"])],
        &[derived(&admin, true), derived(&dev, true)],
        vec![
            assigned(1, "u1", PrincipalType::User, &admin),
            assigned(2, "g1", PrincipalType::Group, &admin),
            assigned(3, "u2", PrincipalType::User, &dev),
        ],
        &SyncState::default(),
    );
    assert_eq!(
        actions(&p),
        [
            (AssignmentAction::Remove, "user name of u1".into(), true),
            (AssignmentAction::Remove, "group name of g1".into(), true),
        ]
    );
    assert!(
        p.assignments
            .iter()
            .all(|a| a.reason == AssignmentReason::RoleDisabled && a.assignment_id.is_some())
    );
    let orphans: Vec<_> = p.orphan_groups.iter().map(|g| g.id.to_string()).collect();
    assert_eq!(orphans, ["g1"]);
    assert_eq!(p.principals_losing_and_regaining(), ((1, 1), (0, 0)));
    let names: Vec<_> = steps::steps(&p).iter().map(steps::Step::name).collect();
    assert_eq!(
        names,
        [
            "the appRoles PATCH",
            "recording the assignments of disabled roles",
            "removing the assignments of disabled roles",
        ]
    );
}

#[test]
fn a_role_back_in_aws_gets_back_what_was_recorded_and_not_there_and_the_records_go() {
    let admin = value(A, "Admin");
    let state = SyncState {
        removed_assignments: vec![
            recorded("u1", PrincipalType::User, &admin),
            recorded("g1", PrincipalType::Group, &admin),
        ],
        ..SyncState::default()
    };
    // g1 was assigned again by hand meanwhile: only u1 comes back.
    let p = plan_from(
        vec![read(A, &["Admin"])],
        &[derived(&admin, false)],
        vec![assigned(1, "g1", PrincipalType::Group, &admin)],
        &state,
    );
    assert_eq!(p.changes[0].action, Action::Enable);
    let restored: Vec<_> = p
        .assignments
        .iter()
        .map(|a| (a.action, a.principal_id.as_ref().unwrap().to_string()))
        .collect();
    assert_eq!(restored, [(AssignmentAction::Restore, "u1".to_owned())]);
    assert_eq!(p.forget.len(), 2, "both records are let go: {:?}", p.forget);
    assert_eq!(p.principals_losing_and_regaining(), ((0, 0), (1, 0)));
    let names: Vec<_> = steps::steps(&p).iter().map(steps::Step::name).collect();
    assert_eq!(
        names,
        [
            "the appRoles PATCH",
            "assigning groups and restoring assignments",
            "forgetting restored assignments",
        ]
    );
}

#[test]
fn a_dropped_role_forgets_its_records_and_a_held_role_keeps_its_people_and_records() {
    let (admin, ops) = (value(A, "Admin"), value(B, "Ops"));
    let state = SyncState {
        removed_assignments: vec![
            recorded("u1", PrincipalType::User, &admin),
            recorded("u2", PrincipalType::User, &ops),
        ],
        ..SyncState::default()
    };
    let p = plan_from(
        vec![read(A, &[]), skipped(B, SkipReason::Excluded)],
        &[derived(&admin, false), derived(&ops, false)],
        vec![assigned(1, "g9", PrincipalType::Group, &admin)],
        &state,
    );
    assert_eq!(p.changes.len(), 1, "{:?}", p.changes);
    assert_eq!(p.changes[0].action, Action::Remove);
    // What is left on a dropped role goes, unrecorded; its record is let go.
    assert_eq!(
        actions(&p),
        [(AssignmentAction::Remove, "group name of g9".into(), false)]
    );
    assert_eq!(
        p.forget,
        [Forget {
            app_role_id: AppRoleId::for_value(&admin),
            principal_id: oid("u1"),
        }]
    );
    // The drop runs after the assignments are gone, in a PATCH of its own.
    let names: Vec<_> = steps::steps(&p).iter().map(steps::Step::name).collect();
    assert_eq!(
        names,
        [
            "removing the assignments of disabled roles",
            "dropping disabled roles",
            "forgetting restored assignments",
        ]
    );
}

#[test]
fn with_assign_groups_a_group_fedsync_stands_behind_is_assigned_and_a_squatted_one_never() {
    let (admin, dev) = (value(A, "Admin"), value(A, "Dev"));
    let mut current = Current::of_app_roles("sp", Vec::new());
    current.group_owner = Some(oid("sync-app"));
    let group = |id: &str, role: &str, owner: &str| Group {
        id: oid(id),
        display_name: format!("AWS {A} - {role}"),
        mail_nickname: None,
        owners: Some(vec![oid(owner)]),
    };
    current.groups = vec![
        group("ours", "Admin", "sync-app"),
        group("squat", "Dev", "someone"),
    ];
    let settings = PlanSettings {
        assign_groups: true,
        ..PlanSettings::default()
    };
    let p = super::plan(
        &inventory(vec![read(A, &["Admin", "Dev", "Ops"])]),
        &current,
        &SyncState::default(),
        &settings,
    )
    .unwrap();
    let groups: Vec<_> = p
        .groups
        .iter()
        .map(|g| (g.display_name.as_str(), g.action))
        .collect();
    assert_eq!(
        groups,
        [
            ("AWS 111111111111 - Admin", GroupAction::Reuse),
            ("AWS 111111111111 - Dev", GroupAction::Refused),
            ("AWS 111111111111 - Ops", GroupAction::Create),
        ]
    );
    let adds: Vec<_> = p
        .assignments
        .iter()
        .map(|a| {
            (
                a.action,
                a.app_role_id,
                a.principal_id.as_ref().map(ToString::to_string),
                a.group_to_create.clone(),
            )
        })
        .collect();
    assert_eq!(
        adds,
        [
            (
                AssignmentAction::Add,
                AppRoleId::for_value(&admin),
                Some("ours".to_owned()),
                None
            ),
            (
                AssignmentAction::Add,
                AppRoleId::for_value(&value(A, "Ops")),
                None,
                Some("AWS 111111111111 - Ops".to_owned())
            ),
        ]
    );
    assert!(
        !p.assignments
            .iter()
            .any(|a| a.app_role_id == AppRoleId::for_value(&dev))
    );
    let names: Vec<_> = steps::steps(&p).iter().map(steps::Step::name).collect();
    assert_eq!(
        names,
        [
            "the appRoles PATCH",
            "creating groups",
            "assigning groups and restoring assignments",
        ]
    );
}

proptest! {
    // The cases that tell a wrong count apart (two accounts named alike, the right naming, a
    // cap just below) are rare among random inventories: 4,096 cases find each of them.
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn a_plan_counted_over_the_cap_is_refused_exactly_as_the_built_plan_and_else_is_built_alike(
        inventory in inventory_strategy(),
        current in current_strategy(),
        cap in 0..12usize,
        account_names in 0..3usize,
        group_naming in 0..3usize,
    ) {
        // With every account named alike (but for case: Greek final sigma lowers by its
        // neighbours), roles of the same name in two accounts collide, and are skipped by the
        // plan and not counted.
        let mut inventory = inventory;
        let alike = [None, Some(["Same", "same"]), Some(["ΟΔΟΣ", "οδος"])][account_names];
        if let Some(alike) = alike {
            for (i, account) in inventory.accounts.iter_mut().enumerate() {
                account.name = alike[i % 2].to_owned();
            }
        }
        // Groups named as their app role (by account name); or app roles by account id and
        // groups by account name (so only groups collide); or both by account id.
        let (naming, group_naming) = [
            ("{account_name} {role_name}", None),
            ("{0} {role_name}", Some("{account_name} {role_name}")),
            ("{0} {role_name}", Some("g {0}-{role_path}{role_name}")),
        ][group_naming];
        let group_naming = group_naming.map(|c| c.parse().unwrap());
        let settings = |entry_cap| PlanSettings {
            naming: naming.parse().unwrap(),
            group_naming: group_naming.clone(),
            entry_cap,
            ..PlanSettings::default()
        };
        let Ok(built) = plan(&inventory, &current, &settings(usize::MAX)) else {
            return Ok(());
        };
        let counted = plan(&inventory, &current, &settings(cap)).unwrap();
        let guardrails = Guardrails { max_app_roles: cap, ..Guardrails::default() };
        let over_cap = |p: &Plan| -> Vec<Refusal> {
            guardrail::check(p, &guardrails)
                .into_iter()
                .filter(|r| matches!(r, Refusal::OverEntryCap { .. }))
                .collect()
        };
        prop_assert_eq!(over_cap(&counted), over_cap(&built));
        match counted.not_built {
            None => prop_assert_eq!(&counted, &built),
            Some(_) => {
                prop_assert!(!over_cap(&counted).is_empty());
                prop_assert!(counted.writes_nothing());
                prop_assert_eq!(&counted.target, &current);
            }
        }
    }
}
