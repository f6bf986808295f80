//! Tests of carrying out a plan: the steps against the in-memory [`Directory`] and [`Store`],
//! their order, the records of removed assignments and their restore, squatted groups, and a
//! failure injected at every write followed by reruns that must converge on the state an
//! uninterrupted run reaches (property).

use std::collections::BTreeSet;

use proptest::prelude::*;
use time::macros::datetime;

use super::*;
use crate::directory::memory::{MemoryDirectory, World};
use crate::model::{
    AccountInventory, AppRole, AppRoleId, Assignment, AssignmentId, AwsRoleValue, Group, IamRole,
    PrincipalType, ProviderVerdict, SamlProvider, Trust, TrustVerdict,
};
use crate::store::memory::MemoryStore;

const ACCOUNT: &str = "111111111111";
const SP: &str = "sp-aws";
const ROLES: [&str; 4] = ["Admin", "Dev", "Ops", "ReadOnly"];

fn owner() -> ObjectId {
    "sync-app".parse().unwrap()
}

fn value(role: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/{role},arn:aws:iam::{ACCOUNT}:saml-provider/AzureAD")
}

fn id_of(role: &str) -> AppRoleId {
    AppRoleId::for_value(&value(role))
}

fn app_role(role: &str, enabled: bool) -> AppRole {
    let v: AwsRoleValue = value(role).parse().unwrap();
    let mut r = AppRole::new_user_role(&v, format!("AWS {ACCOUNT} - {role}"), plan_description(&v));
    r.is_enabled = enabled;
    r
}

fn plan_description(v: &AwsRoleValue) -> String {
    format!(
        "IAM role {} via SAML provider {}",
        v.role(),
        v.provider().name()
    )
}

/// An inventory of the one account in which `trusted` roles trust our provider.
fn inventory(trusted: &[&str]) -> Inventory {
    let provider = format!("arn:aws:iam::{ACCOUNT}:saml-provider/AzureAD");
    Inventory::new(
        Listing::Organization,
        vec![AccountInventory {
            id: ACCOUNT.parse().unwrap(),
            name: "prod".into(),
            outcome: AccountOutcome::Read {
                providers: vec![SamlProvider {
                    arn: provider.parse().unwrap(),
                    verdict: ProviderVerdict::Ours,
                    reason: String::new(),
                    certificates: Vec::new(),
                }],
                roles: trusted
                    .iter()
                    .map(|r| IamRole {
                        arn: format!("arn:aws:iam::{ACCOUNT}:role/{r}").parse().unwrap(),
                        trust: vec![Trust {
                            provider: provider.parse().unwrap(),
                            verdict: TrustVerdict::Yes,
                            reason: String::new(),
                        }],
                        notes: Vec::new(),
                    })
                    .collect(),
            },
        }],
    )
}

fn assignment(n: u64, principal: &str, kind: PrincipalType, role: &str) -> Assignment {
    Assignment {
        id: AssignmentId(format!("seeded-{n}")),
        principal_id: principal.parse().unwrap(),
        principal_type: kind,
        principal_display_name: Some(principal.to_owned()),
        app_role_id: id_of(role),
        resource_id: SP.parse().unwrap(),
    }
}

fn group(id: &str, role: &str, owner: &str) -> Group {
    Group {
        id: id.parse().unwrap(),
        display_name: format!("AWS {ACCOUNT} - {role}"),
        mail_nickname: None,
        owners: Some(vec![owner.parse().unwrap()]),
    }
}

fn settings(assign_groups: bool) -> (PlanSettings, ApplySettings) {
    let plan = PlanSettings {
        assign_groups,
        ..PlanSettings::default()
    };
    let apply = ApplySettings {
        service_principal_id: SP.into(),
        client_id: "client".into(),
        guardrails: Guardrails {
            max_removals: "100%".parse().unwrap(),
            ..Guardrails::default()
        },
        saml_certificates: Vec::new(),
        certificate_warn_days: 60,
    };
    (plan, apply)
}

fn now() -> OffsetDateTime {
    datetime!(2026-12-02 10:00 UTC)
}

/// A writer to memory with an hour before its deadline.
fn writer<'a>(
    directory: &'a MemoryDirectory,
    store: &'a MemoryStore,
    run_id: &'a str,
) -> Writer<'a, MemoryDirectory, MemoryStore> {
    Writer {
        directory,
        store,
        run_id,
        now,
        verify_waits: &[],
        deadline: Deadline::after(std::time::Duration::from_secs(3600)),
    }
}

/// One run against memory: read, plan, carry out. Returns the report or the error.
async fn one_run(
    directory: &MemoryDirectory,
    store: &MemoryStore,
    inv: &Inventory,
    assign_groups: bool,
) -> Result<SyncReport, SyncError> {
    let (plan_settings, apply) = settings(assign_groups);
    let query = CurrentQuery {
        service_principal_id: SP.into(),
        group_names: group_names(inv, &plan_settings),
        owner: OwnerQuery::Given(owner()),
        assignments: true,
        known_groups: None,
    };
    let current = directory
        .read_current(&query)
        .await
        .map_err(SyncError::Current)?;
    let state = store.read_state(SP).await.map_err(SyncError::State)?;
    let plan = plan::plan(inv, &current, &state, &plan_settings).map_err(SyncError::Plan)?;
    let writer = writer(directory, store, "test-run");
    let planned = Planned {
        inventory: inv.clone(),
        plan,
        current,
        state,
        query,
        restored_from: None,
    };
    carry_out(&apply, &writer, planned, false).await
}

/// Runs until a run writes nothing (at most `max`), returning how many runs wrote.
async fn converge(
    directory: &MemoryDirectory,
    store: &MemoryStore,
    inv: &Inventory,
    assign_groups: bool,
    max: usize,
) -> usize {
    for run in 0..max {
        let report = one_run(directory, store, inv, assign_groups)
            .await
            .unwrap_or_else(|e| panic!("run {run}: {e}"));
        if !report.wrote() {
            return run;
        }
    }
    panic!("did not converge in {max} runs");
}

fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
        .block_on(f)
}

/// What a person sees of a directory: roles (value, enabled), assignments (principal, role),
/// group names.
type Seen = (
    BTreeSet<(String, bool)>,
    BTreeSet<(String, String)>,
    Vec<String>,
);

fn seen(world: &World) -> Seen {
    let roles = world
        .app_roles
        .iter()
        .map(|r| (r.value().unwrap_or("-").to_owned(), r.is_enabled))
        .collect();
    let assignments = world
        .assignments
        .iter()
        .map(|a| (a.principal_id.to_string(), a.app_role_id.to_string()))
        .collect();
    let mut groups: Vec<String> = world
        .groups
        .iter()
        .map(|g| g.display_name.to_lowercase())
        .collect();
    groups.sort();
    (roles, assignments, groups)
}

fn world() -> World {
    World {
        sp_id: SP.into(),
        app_roles: vec![app_role("Admin", true), app_role("Dev", true)],
        groups: vec![group("g-admin", "Admin", "sync-app")],
        assignments: vec![
            assignment(1, "alice", PrincipalType::User, "Admin"),
            assignment(2, "g-admin", PrincipalType::Group, "Admin"),
            assignment(3, "bob", PrincipalType::User, "Dev"),
        ],
        users: vec!["alice".parse().unwrap(), "bob".parse().unwrap()],
        owner: Some(owner()),
        next: 100,
    }
}

#[test]
fn a_role_gone_then_back_loses_and_regains_its_people_through_the_record() {
    block_on(async {
        let directory = MemoryDirectory::new(world());
        let store = MemoryStore::default();
        // Admin is gone from AWS: disabled, its two assignments removed and recorded.
        let gone = one_run(&directory, &store, &inventory(&["Dev"]), true)
            .await
            .unwrap();
        assert_eq!(gone.plan.count(plan::Action::Disable), 1);
        assert_eq!(gone.assignments_removed, 2);
        let w = directory.world();
        assert!(
            w.assignments
                .iter()
                .all(|a| a.app_role_id != id_of("Admin"))
        );
        let state = store.state();
        assert_eq!(state.removed_assignments.len(), 2);
        assert!(
            state
                .removed_assignments
                .iter()
                .all(|r| r.run == "test-run")
        );
        // The backup held the assignments before the write.
        let backup = store.inner.lock().unwrap().backups[0].clone();
        assert_eq!(backup["appRoleAssignedTo"].as_array().unwrap().len(), 3);

        // Back in AWS (CloudFormation recreated it): enabled, the same people again.
        let back = one_run(&directory, &store, &inventory(&["Admin", "Dev"]), true)
            .await
            .unwrap();
        assert_eq!(back.plan.count(plan::Action::Enable), 1);
        assert_eq!(back.assignments_restored, 2);
        let w = directory.world();
        let admins: BTreeSet<String> = w
            .assignments
            .iter()
            .filter(|a| a.app_role_id == id_of("Admin"))
            .map(|a| a.principal_id.to_string())
            .collect();
        assert_eq!(admins, BTreeSet::from(["alice".into(), "g-admin".into()]));
        assert!(
            store.state().removed_assignments.is_empty(),
            "record cleared"
        );
    });
}

#[test]
fn the_steps_run_in_the_safe_order() {
    block_on(async {
        let directory = MemoryDirectory::new(World {
            app_roles: vec![
                app_role("Admin", true),
                app_role("Dev", true),
                app_role("Ops", false),
            ],
            ..world()
        });
        let store = MemoryStore::default();
        one_run(&directory, &store, &inventory(&["Dev", "ReadOnly"]), true)
            .await
            .unwrap();
        let writes = directory.writes.lock().unwrap().clone();
        let at = |prefix: &str| writes.iter().position(|w| w.starts_with(prefix)).unwrap();
        // PATCH (disable Admin, add ReadOnly) → unassign Admin's → PATCH drops Ops → groups →
        // assignments.
        assert!(writes[0].starts_with("PATCH"), "{writes:?}");
        assert!(at("DELETE assignment") > 0);
        let second_patch = writes.iter().rposition(|w| w.starts_with("PATCH")).unwrap();
        assert!(second_patch > at("DELETE assignment"), "{writes:?}");
        assert!(at("POST group") > second_patch, "{writes:?}");
        assert!(at("POST assignment") > at("POST group"), "{writes:?}");
    });
}

#[test]
fn a_run_whose_lease_is_taken_over_stops_before_its_next_write_and_says_what_it_wrote() {
    block_on(async {
        let directory = MemoryDirectory::new(World {
            app_roles: vec![app_role("Admin", true), app_role("Dev", true)],
            ..world()
        });
        let store = MemoryStore::default();
        // Confirmed before the backup and before the first PATCH; lost before the next step.
        store.inner.lock().unwrap().lose_lease_after = Some(2);
        let err = one_run(&directory, &store, &inventory(&["Dev", "ReadOnly"]), true)
            .await
            .unwrap_err();
        let SyncError::Stopped {
            step,
            written,
            cause,
        } = &err
        else {
            panic!("{err}");
        };
        assert_eq!(*step, "recording the assignments of disabled roles");
        assert_eq!(written.steps, ["the appRoles PATCH"]);
        assert!(matches!(cause, StopCause::Lease(LeaseError::Lost { .. })));
        let text = err.to_string();
        assert!(
            text.contains("written before stopping: the appRoles PATCH;"),
            "{text}"
        );
        assert!(text.contains("backup-1"), "{text}");
        assert!(!text.contains("nothing was written"), "{text}");
        let writes = directory.writes.lock().unwrap().clone();
        assert_eq!(writes.len(), 1, "only the first PATCH: {writes:?}");
        assert!(store.state().removed_assignments.is_empty());

        // The runs after it converge to where uninterrupted runs would be.
        store.inner.lock().unwrap().lose_lease_after = None;
        converge(
            &directory,
            &store,
            &inventory(&["Dev", "ReadOnly"]),
            true,
            3,
        )
        .await;
        let whole = MemoryDirectory::new(World {
            app_roles: vec![app_role("Admin", true), app_role("Dev", true)],
            ..world()
        });
        let whole_store = MemoryStore::default();
        converge(
            &whole,
            &whole_store,
            &inventory(&["Dev", "ReadOnly"]),
            true,
            3,
        )
        .await;
        assert_eq!(seen(&directory.world()), seen(&whole.world()));
    });
}

#[test]
fn a_run_past_its_deadline_writes_nothing() {
    block_on(async {
        let directory = MemoryDirectory::new(world());
        let store = MemoryStore::default();
        let (plan_settings, apply) = settings(true);
        let inv = inventory(&["Dev"]);
        let query = CurrentQuery {
            service_principal_id: SP.into(),
            group_names: group_names(&inv, &plan_settings),
            owner: OwnerQuery::Given(owner()),
            assignments: true,
            known_groups: None,
        };
        let current = directory.read_current(&query).await.unwrap();
        let plan = plan::plan(&inv, &current, &SyncState::default(), &plan_settings).unwrap();
        let late = Writer {
            deadline: Deadline::after(std::time::Duration::ZERO),
            ..writer(&directory, &store, "late")
        };
        let planned = Planned {
            inventory: inv,
            plan,
            current,
            state: SyncState::default(),
            query,
            restored_from: None,
        };
        let err = carry_out(&apply, &late, planned, false).await.unwrap_err();
        assert!(
            matches!(
                &err,
                SyncError::Stopped {
                    step: "the backup",
                    cause: StopCause::Deadline(_),
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().ends_with("nothing was written"), "{err}");
        assert!(directory.writes.lock().unwrap().is_empty());
        assert!(store.inner.lock().unwrap().backups.is_empty());
    });
}

#[test]
fn a_group_of_the_right_name_owned_by_someone_else_is_never_assigned() {
    block_on(async {
        let directory = MemoryDirectory::new(World {
            groups: vec![
                group("g-admin", "Admin", "sync-app"),
                group("g-squat", "Dev", "mallory"),
            ],
            assignments: Vec::new(),
            ..world()
        });
        let store = MemoryStore::default();
        let report = one_run(&directory, &store, &inventory(&["Admin", "Dev"]), true)
            .await
            .unwrap();
        let dev = report
            .plan
            .groups
            .iter()
            .find(|g| g.display_name.ends_with("Dev"))
            .unwrap();
        assert_eq!(dev.action, GroupAction::Refused);
        assert_eq!(
            dev.refused[0].owners,
            ["mallory".parse::<ObjectId>().unwrap()]
        );
        let w = directory.world();
        assert!(
            !w.assignments
                .iter()
                .any(|a| a.principal_id.as_str() == "g-squat"),
            "the squatted group gets nothing"
        );
        let dev_groups = w
            .groups
            .iter()
            .filter(|g| g.display_name.ends_with("Dev"))
            .count();
        assert_eq!(dev_groups, 1, "no second group of that name either");
        // Admin's group (ours) is reused and assigned.
        assert!(
            w.assignments
                .iter()
                .any(|a| a.principal_id.as_str() == "g-admin")
        );
    });
}

#[test]
fn without_an_owner_no_group_is_created_and_nothing_is_written() {
    block_on(async {
        let directory = MemoryDirectory::new(World {
            groups: Vec::new(),
            owner: None,
            ..world()
        });
        let store = MemoryStore::default();
        let (plan_settings, apply) = settings(true);
        let inv = inventory(&["Admin", "Dev"]);
        let query = CurrentQuery {
            service_principal_id: SP.into(),
            group_names: group_names(&inv, &plan_settings),
            owner: OwnerQuery::SyncApp {
                client_id: "client".into(),
            },
            assignments: true,
            known_groups: None,
        };
        let current = directory.read_current(&query).await.unwrap();
        let plan = plan::plan(&inv, &current, &SyncState::default(), &plan_settings).unwrap();
        let writer = writer(&directory, &store, "r");
        let err = carry_out(
            &apply,
            &writer,
            Planned {
                inventory: inv,
                plan,
                current,
                state: SyncState::default(),
                query,
                restored_from: None,
            },
            false,
        )
        .await
        .unwrap_err();
        assert!(matches!(err, SyncError::NoGroupOwner { .. }), "{err}");
        assert!(directory.writes.lock().unwrap().is_empty());
        assert!(store.inner.lock().unwrap().backups.is_empty());
    });
}

/// A starting directory and the AWS side it is synced towards.
#[derive(Clone, Debug)]
struct Scenario {
    /// (role, enabled) app roles that exist.
    roles: Vec<(usize, bool)>,
    /// (user index, role) assignments.
    assigned: Vec<(usize, usize)>,
    /// Roles trusted in AWS.
    trusted: Vec<usize>,
    assign_groups: bool,
    /// Where to fail: in the directory (else the store), after this many writes.
    fail_in_directory: bool,
    fail_after: usize,
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        proptest::sample::subsequence(vec![0usize, 1, 2, 3], 0..=4),
        proptest::collection::vec(any::<bool>(), 4),
        proptest::collection::vec((0usize..2, 0usize..4), 0..6),
        proptest::sample::subsequence(vec![0usize, 1, 2, 3], 0..=4),
        any::<bool>(),
        any::<bool>(),
        0usize..6,
    )
        .prop_map(
            |(
                present,
                enabled,
                assigned,
                trusted,
                assign_groups,
                fail_in_directory,
                fail_after,
            )| {
                Scenario {
                    roles: present.iter().map(|&r| (r, enabled[r])).collect(),
                    assigned: assigned
                        .into_iter()
                        .filter(|(_, r)| present.contains(r) && enabled[*r])
                        .collect(),
                    trusted,
                    assign_groups,
                    fail_in_directory,
                    fail_after,
                }
            },
        )
}

fn start(s: &Scenario) -> World {
    let users = ["alice", "bob"];
    let mut seen = BTreeSet::new();
    World {
        sp_id: SP.into(),
        app_roles: s
            .roles
            .iter()
            .map(|&(r, enabled)| app_role(ROLES[r], enabled))
            .collect(),
        groups: Vec::new(),
        assignments: s
            .assigned
            .iter()
            .filter(|pair| seen.insert(**pair))
            .enumerate()
            .map(|(n, &(u, r))| assignment(n as u64, users[u], PrincipalType::User, ROLES[r]))
            .collect(),
        users: users.iter().map(|u| u.parse().unwrap()).collect(),
        owner: Some(owner()),
        next: 100,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_run_stopped_at_any_write_is_finished_by_the_next_ones(s in scenario()) {
        let trusted: Vec<&str> = s.trusted.iter().map(|&r| ROLES[r]).collect();
        let inv = inventory(&trusted);
        let (whole, whole_state) = block_on(async {
            let directory = MemoryDirectory::new(start(&s));
            let store = MemoryStore::default();
            converge(&directory, &store, &inv, s.assign_groups, 4).await;
            (directory.world(), store.state())
        });
        let (broken, broken_state) = block_on(async {
            let directory = MemoryDirectory::new(start(&s));
            let store = MemoryStore::default();
            if s.fail_in_directory {
                *directory.fail_after.lock().unwrap() = Some(s.fail_after);
            } else {
                store.inner.lock().unwrap().fail_after = Some(s.fail_after);
            }
            let _ = one_run(&directory, &store, &inv, s.assign_groups).await;
            *directory.fail_after.lock().unwrap() = None;
            store.inner.lock().unwrap().fail_after = None;
            converge(&directory, &store, &inv, s.assign_groups, 5).await;
            (directory.world(), store.state())
        });
        prop_assert_eq!(seen(&broken), seen(&whole));
        let keys = |state: &SyncState| state.removed_assignments.iter()
            .map(|r| (r.app_role_id, r.principal_id.clone()))
            .collect::<BTreeSet<_>>();
        prop_assert_eq!(keys(&broken_state), keys(&whole_state));
        // Never two groups of one name.
        let (_, _, groups) = seen(&broken);
        let unique: BTreeSet<&String> = groups.iter().collect();
        prop_assert_eq!(unique.len(), groups.len());
    }
}
