//! The run lease through the binary: two runs started together (one writes, one exits 1); a run
//! that overran its lease (frozen while another took the lease over) stops before writing; runs
//! with other backup prefixes still exclude each other; a run past its deadline writes nothing;
//! a lease that cannot be released after the writes is only a warning.

use std::process::{Child, Output};
use std::time::{Duration, Instant};

use crate::graph_emulator::SP;
use crate::support::proxy::{Fault, Proxy, Rule};
use crate::support::{assert_exit, stderr};
use crate::sync_run::{World, backup_keys, deny_in_bucket, fedsync_process, world};

/// `fedsync sync` with AWS at `aws_endpoint` and these extra variables, started.
fn start_sync(w: &World, aws_endpoint: &str, env: &[(&str, &str)]) -> Child {
    let mut cmd = fedsync_process(w, aws_endpoint, "sync", &["--output", "json"]);
    cmd.envs(env.iter().copied());
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    cmd.spawn().expect("fedsync starts")
}

fn finish(child: Child) -> Output {
    child.wait_with_output().expect("fedsync ends")
}

/// A proxy in front of moto that answers `ListAccounts` only after `delay`: the run holds its
/// lease meanwhile.
fn slow_inventory(w: &World, delay: Duration) -> Proxy {
    let proxy = Proxy::start(&w.moto.url);
    proxy.add(Rule {
        action: "ListAccounts",
        body_contains: None,
        times: None,
        fault: Fault::Delay(delay),
    });
    proxy
}

/// The holder of the lease on [`SP`], when there is one.
async fn lease_holder(w: &World) -> Option<String> {
    w.lease_holder(SP).await
}

async fn wait_for_lease(w: &World) -> String {
    let until = Instant::now() + Duration::from_secs(30);
    while Instant::now() < until {
        if let Some(holder) = lease_holder(w).await {
            return holder;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no run took the lease");
}

fn signal(child: &Child, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill {signal}");
}

#[tokio::test(flavor = "multi_thread")]
async fn of_two_runs_started_together_one_writes_and_the_other_exits_1() {
    let w = world().await;
    let proxy = slow_inventory(&w, Duration::from_millis(1500));
    let a = start_sync(&w, &proxy.url, &[]);
    let b = start_sync(&w, &proxy.url, &[]);
    let (a, b) = (finish(a), finish(b));
    let mut codes = [a.status.code(), b.status.code()];
    codes.sort();
    assert_eq!(
        codes,
        [Some(0), Some(1)],
        "a: {}\nb: {}",
        stderr(&a),
        stderr(&b)
    );
    let loser = if a.status.code() == Some(1) { &a } else { &b };
    let err = stderr(loser);
    assert!(err.contains("another fedsync run holds the lease"), "{err}");
    assert!(err.contains("nothing was written"), "{err}");
    assert_eq!(
        backup_keys(&w).await.len(),
        1,
        "one run backed up and wrote"
    );
    assert_eq!(
        lease_holder(&w).await,
        None,
        "the winner released the lease"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_that_overran_its_lease_stops_before_writing_once_another_took_it_over() {
    let w = world().await;
    // Run A: a two-second lease (renewed every half second) and a slow inventory. It wants other
    // role names than run B, so it has something to write whenever it plans.
    let proxy = slow_inventory(&w, Duration::from_secs(3));
    let a = start_sync(
        &w,
        &proxy.url,
        &[
            ("FEDSYNC_TEST_LEASE_SECONDS", "2"),
            ("FEDSYNC_NAMING_CONVENTION", "stale-{0}-{role_name}"),
        ],
    );
    let a_holder = wait_for_lease(&w).await;
    // A freezes (a paused task, a stalled host): it cannot renew, and its lease expires.
    signal(&a, "-STOP");
    tokio::time::sleep(Duration::from_secs(3)).await;
    // B takes the expired lease over and syncs.
    let b = fedsync_process(&w, &w.moto.url, "sync", &["--output", "json"])
        .output()
        .unwrap();
    assert_exit(&b, 0);
    assert!(
        stderr(&b).contains("taking over an expired lease"),
        "{}",
        stderr(&b)
    );
    let after_b = w.app_roles().await;
    let backups_after_b = backup_keys(&w).await;
    // A wakes up, plans from what it read, and must not write over B.
    signal(&a, "-CONT");
    let a = finish(a);
    assert_exit(&a, 1);
    let err = stderr(&a);
    assert!(err.contains("stopped before the backup"), "{err}");
    assert!(err.contains("no longer this run's"), "{err}");
    assert!(err.contains("nothing was written"), "{err}");
    assert!(!err.contains("not a fedsync setting"), "{err}");
    assert_eq!(w.app_roles().await, after_b, "A changed no app role");
    assert!(
        w.app_roles().await.iter().all(|r| !r["displayName"]
            .as_str()
            .unwrap_or("")
            .starts_with("stale-")),
        "B's names stand"
    );
    assert_eq!(backup_keys(&w).await, backups_after_b, "A took no backup");
    assert_ne!(lease_holder(&w).await.as_deref(), Some(a_holder.as_str()));
}

#[tokio::test(flavor = "multi_thread")]
async fn runs_with_other_backup_prefixes_still_exclude_each_other() {
    let w = world().await;
    w.hold_lease(SP, "the-scheduled-run").await;
    let out = fedsync_process(&w, &w.moto.url, "sync", &[])
        .env("FEDSYNC_BACKUP_PREFIX", "by-hand/")
        .output()
        .unwrap();
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(err.contains("the-scheduled-run"), "{err}");
    assert!(err.contains(&format!("fedsync/leases/{SP}.json")), "{err}");
    assert_eq!(w.writes().await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_past_its_deadline_writes_nothing_and_exits_1() {
    let w = world().await;
    let proxy = slow_inventory(&w, Duration::from_millis(1500));
    let out = finish(start_sync(
        &w,
        &proxy.url,
        &[("FEDSYNC_TEST_DEADLINE_SECONDS", "1")],
    ));
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(err.contains("stopped before the backup"), "{err}");
    assert!(err.contains("deadline"), "{err}");
    assert!(err.contains("nothing was written"), "{err}");
    assert_eq!(w.writes().await, 0);
    assert!(backup_keys(&w).await.is_empty());
    assert_eq!(lease_holder(&w).await, None, "released");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lease_that_cannot_be_released_after_the_writes_is_a_warning_not_nothing_written() {
    let w = world().await;
    deny_in_bucket(&w, "s3:DeleteObject", "fedsync/leases/*").await;
    let out = fedsync_process(&w, &w.moto.url, "sync", &["--output", "json"])
        .output()
        .unwrap();
    assert_exit(&out, 0);
    let err = stderr(&out);
    assert!(err.contains("cannot release the lease"), "{err}");
    assert!(err.contains("it expires by itself"), "{err}");
    assert!(!err.contains("nothing was written"), "{err}");
    assert!(w.writes().await > 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn test_lease_times_that_are_not_seconds_exit_2_and_write_nothing() {
    let w = world().await;
    let out = fedsync_process(&w, &w.moto.url, "sync", &[])
        .env("FEDSYNC_TEST_LEASE_SECONDS", "soon")
        .output()
        .unwrap();
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert!(err.contains("FEDSYNC_TEST_LEASE_SECONDS"), "{err}");
    assert_eq!(w.writes().await, 0);
}
