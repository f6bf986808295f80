//! bench: fedsync at scale, measured on its real code path, and checked against issue 8's
//! targets. Prints the table `BENCHMARKS.md` shows.
//!
//! ```text
//! cargo build --release && cargo run --release --example bench -- [--accounts 1000] [--latency-ms 20]
//! ```
//!
//! - Inventory: `fedsync::aws::read_inventory` with the SDK config the binary loads
//!   (`fedsync::aws::load_config`, endpoint from `AWS_ENDPOINT_URL`), against a purpose-built
//!   fake AWS endpoint (`fake_aws.rs`, in a child process) that answers every call after a fixed
//!   latency; at concurrency 1 and at the default. CPU is this process's own (`getrusage`),
//!   which runs nothing but fedsync while it reads: the fake is another process.
//! - Plan: `fedsync::plan::plan` of `plan-accounts × plan-roles` roles against a full manifest,
//!   in a child process whose peak RSS is its own.
//! - Apply and steady state: `fedsync::sync::run` against the fake (AWS, S3 lease and backup)
//!   and the project's Graph emulator (a child process, `graph_host.rs`, same latency),
//!   requests counted at both; then the `$batch` apply path the report proposes.
//! - Several apps: `fedsync::sync::run_apps` syncing `apps-accounts × roles` roles into `apps`
//!   Entra apps in one run, each account's provider carrying one app's certificate.
//! - Release binary size: `target/release/fedsync`, when built.
//!
//! Child processes are this same executable run with a hidden subcommand; they are killed when
//! the benchmark ends.

#[allow(dead_code)]
#[path = "../graph-emulator/emulator.rs"]
mod emulator;
mod fake_aws;
mod graph_host;
mod plan_scale;
mod scenarios;
mod usage;

use std::io::{BufRead, BufReader, Write as _};
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use serde_json::Value;

use scenarios::Endpoints;

/// Measures fedsync at scale against a fake AWS endpoint and the Graph emulator.
#[derive(Parser)]
#[command(name = "bench", args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    child: Option<ChildRole>,
    #[command(flatten)]
    args: Args,
}

#[derive(clap::Args, Clone)]
struct Args {
    /// Accounts in the Organization for the inventory figure (the management account included).
    #[arg(long, default_value_t = 1000)]
    accounts: usize,
    /// Federated roles per account (trusting our SAML provider).
    #[arg(long, default_value_t = 10)]
    roles: usize,
    /// Other roles per account (trusting an AWS service), listed but not kept.
    #[arg(long, default_value_t = 5)]
    other_roles: usize,
    /// Latency of every AWS call, in milliseconds.
    #[arg(long, default_value_t = 20)]
    latency_ms: u64,
    /// Latency of every Graph request; the AWS latency when not given.
    #[arg(long)]
    graph_latency_ms: Option<u64>,
    /// Most accounts read at once in the default run (fedsync's default `concurrency`, 128).
    #[arg(long, default_value_t = 128)]
    concurrency: usize,
    /// `concurrency` of the run at the ceiling (the setting's highest value, 256); 0 skips it.
    #[arg(long, default_value_t = 256)]
    ceiling: usize,
    /// Accounts of the large inventory run at the default concurrency; 0 skips it.
    #[arg(long, default_value_t = 10_000)]
    large_accounts: usize,
    /// Skip the concurrency-1 inventory run (then no speed-up is reported).
    #[arg(long)]
    skip_serial: bool,
    /// Accounts of the plan-at-scale figure.
    #[arg(long, default_value_t = 10_000)]
    plan_accounts: usize,
    /// Roles per account of the plan-at-scale figure.
    #[arg(long, default_value_t = 20)]
    plan_roles: usize,
    /// Entries of the manifest the plan starts from (Graph's cap is 1200).
    #[arg(long, default_value_t = 1200)]
    manifest: usize,
    /// Apps the plan-at-scale roles are spread over in its several-apps figure.
    #[arg(long, default_value_t = 200)]
    plan_apps: usize,
    /// Accounts of the apply and steady-state figures; with `--roles` this many × roles app
    /// roles and groups are created.
    #[arg(long, default_value_t = 100)]
    sync_accounts: usize,
    /// Entra apps of the several-apps figure (at most 10); account `i`'s provider carries app
    /// `i % apps`'s certificate.
    #[arg(long, default_value_t = 10)]
    apps: usize,
    /// Accounts of the several-apps figure; with `--roles` this many × roles app roles are spread
    /// over the apps.
    #[arg(long, default_value_t = 1000)]
    apps_accounts: usize,
}

#[derive(Subcommand)]
enum ChildRole {
    /// Serve the fake AWS endpoint (prints its URL on stdout).
    #[command(hide = true)]
    ServeAws {
        #[arg(long)]
        accounts: usize,
        #[arg(long)]
        roles: usize,
        #[arg(long)]
        other_roles: usize,
        #[arg(long)]
        latency_ms: u64,
    },
    /// Serve the Graph emulator with latency and request counts (prints its URL on stdout).
    #[command(hide = true)]
    ServeGraph {
        #[arg(long)]
        seed: PathBuf,
        #[arg(long)]
        latency_ms: u64,
    },
    /// Plan at scale and print the figures as one JSON line.
    #[command(hide = true)]
    Plan {
        #[arg(long)]
        accounts: usize,
        #[arg(long)]
        roles: usize,
        #[arg(long)]
        manifest: usize,
        /// Spread the roles over this many apps instead (then `manifest` is not used).
        #[arg(long, default_value_t = 1)]
        apps: usize,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.child {
        Some(role) => child(role),
        None => bench(&cli.args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    // The runtime `fedsync` itself builds (`commands::block_on`).
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

async fn listen_and_announce() -> anyhow::Result<tokio::net::TcpListener> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("listening on http://{}", listener.local_addr()?);
    std::io::stdout().flush()?;
    Ok(listener)
}

fn child(role: ChildRole) -> anyhow::Result<()> {
    match role {
        ChildRole::ServeAws {
            accounts,
            roles,
            other_roles,
            latency_ms,
        } => runtime()?.block_on(async {
            let spec = fake_aws::OrgSpec {
                accounts,
                federated_roles: roles,
                other_roles,
                latency: Duration::from_millis(latency_ms),
                metadata: std::sync::Arc::new(vec![fake_aws::OUR_METADATA.to_owned()]),
            };
            fake_aws::serve(spec, listen_and_announce().await?).await?;
            Ok(())
        }),
        ChildRole::ServeGraph { seed, latency_ms } => {
            let text = std::fs::read_to_string(&seed)
                .with_context(|| format!("reading {}", seed.display()))?;
            let seed = emulator::Seed::from_json(&text)?;
            runtime()?.block_on(async {
                graph_host::serve(
                    seed,
                    Duration::from_millis(latency_ms),
                    listen_and_announce().await?,
                )
                .await?;
                Ok(())
            })
        }
        ChildRole::Plan {
            accounts,
            roles,
            manifest,
            apps,
        } => {
            let figures = match apps {
                1 => plan_scale::run(accounts, roles, manifest)?,
                _ => plan_scale::run_apps(accounts, roles, apps)?,
            };
            println!("{figures}");
            Ok(())
        }
    }
}

/// A child process of this executable; killed when dropped.
struct Server {
    process: Child,
    url: String,
}

impl Server {
    fn start(args: &[String], log: &std::path::Path) -> anyhow::Result<Server> {
        let mut process = Command::new(std::env::current_exe()?)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log)?)
            .spawn()
            .context("starting a child process")?;
        let stdout = process.stdout.take().context("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let Some(url) = line.trim().strip_prefix("listening on ") else {
            let _ = process.kill();
            bail!(
                "{} did not start; see {}",
                args.first().map_or("", String::as_str),
                log.display()
            );
        };
        Ok(Server {
            url: url.to_owned(),
            process,
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn bench(args: &Args) -> anyhow::Result<()> {
    let logs = tempfile::tempdir()?;
    let aws = Server::start(
        &[
            "serve-aws".into(),
            format!("--accounts={}", args.accounts),
            format!("--roles={}", args.roles),
            format!("--other-roles={}", args.other_roles),
            format!("--latency-ms={}", args.latency_ms),
        ],
        &logs.path().join("fake-aws.log"),
    )?;
    let seed_path = logs.path().join("graph-seed.json");
    std::fs::write(&seed_path, scenarios::graph_seed().to_string())?;
    let graph = Server::start(
        &[
            "serve-graph".into(),
            format!("--seed={}", seed_path.display()),
            format!(
                "--latency-ms={}",
                args.graph_latency_ms.unwrap_or(args.latency_ms)
            ),
        ],
        &logs.path().join("graph-emulator.log"),
    )?;
    // The standard AWS chain, as `fedsync` on a laptop would see it; set before any thread.
    for (name, value) in [
        ("AWS_ENDPOINT_URL", aws.url.as_str()),
        ("AWS_ACCESS_KEY_ID", "bench-management"),
        ("AWS_SECRET_ACCESS_KEY", "bench-secret"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_CONFIG_FILE", "/dev/null"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
    ] {
        // SAFETY: no other thread runs yet: the runtime starts below.
        unsafe { std::env::set_var(name, value) };
    }
    let figures = runtime()?.block_on(measure(args, &aws.url, &graph.url))?;
    let plan = plan_child(args, 1)?;
    let plan_apps = plan_child(args, args.plan_apps)?;
    print!("{}", report(args, &figures, &plan, &plan_apps));
    Ok(())
}

struct Figures {
    serial: Option<scenarios::InventoryRun>,
    fast: scenarios::InventoryRun,
    ceiling: Option<scenarios::InventoryRun>,
    large: Option<scenarios::InventoryRun>,
    throttled: scenarios::InventoryRun,
    apply: scenarios::SyncRun,
    steady: scenarios::SyncRun,
    batched: scenarios::BatchedApply,
    apps: scenarios::AppsRun,
}

async fn measure(args: &Args, aws_url: &str, graph_url: &str) -> anyhow::Result<Figures> {
    fedsync::graph::client::install_crypto_provider();
    let endpoints = Endpoints {
        aws: aws_url.to_owned(),
        graph: graph_url.to_owned(),
        http: reqwest::Client::new(),
    };
    let sdk = fedsync::aws::load_config(&fedsync::aws::AwsOptions::default()).await;

    let serial = if args.skip_serial {
        None
    } else {
        eprintln!(
            "bench: inventory of {} accounts at concurrency 1…",
            args.accounts
        );
        Some(scenarios::inventory(&endpoints, &sdk, 1, args.accounts, args.roles, false).await?)
    };
    eprintln!(
        "bench: inventory of {} accounts at concurrency {}…",
        args.accounts, args.concurrency
    );
    let fast = scenarios::inventory(
        &endpoints,
        &sdk,
        args.concurrency,
        args.accounts,
        args.roles,
        false,
    )
    .await?;
    let ceiling = match args.ceiling {
        0 => None,
        c => {
            eprintln!(
                "bench: inventory of {} accounts at concurrency {c}…",
                args.accounts
            );
            Some(scenarios::inventory(&endpoints, &sdk, c, args.accounts, args.roles, false).await?)
        }
    };
    let large = match args.large_accounts {
        0 => None,
        n => {
            eprintln!(
                "bench: inventory of {n} accounts at concurrency {}…",
                args.concurrency
            );
            Some(
                scenarios::inventory(&endpoints, &sdk, args.concurrency, n, args.roles, false)
                    .await?,
            )
        }
    };
    eprintln!(
        "bench: inventory of {} accounts at concurrency {}, AWS rate-limited…",
        args.accounts, args.concurrency
    );
    let throttled = scenarios::inventory(
        &endpoints,
        &sdk,
        args.concurrency,
        args.accounts,
        args.roles,
        true,
    )
    .await?;

    endpoints.set_accounts(args.sync_accounts).await?;
    let settings = scenarios::sync_settings(graph_url)?;
    eprintln!(
        "bench: sync applying {} roles and groups…",
        args.sync_accounts * args.roles
    );
    let apply = scenarios::sync_run(&endpoints, &sdk, &settings).await?;
    eprintln!("bench: resync with nothing changed…");
    let steady = scenarios::sync_run(&endpoints, &sdk, &settings).await?;
    eprintln!("bench: apply with $batch group creation…");
    let batched = scenarios::batched_apply(&endpoints, &settings, &apply.report.inventory).await?;
    eprintln!(
        "bench: sync of {} roles into {} apps in one run…",
        args.apps_accounts * args.roles,
        args.apps
    );
    let apps = scenarios::apps_sync(
        &endpoints,
        &sdk,
        graph_url,
        args.apps,
        args.apps_accounts,
        args.roles,
    )
    .await?;
    Ok(Figures {
        serial,
        fast,
        ceiling,
        large,
        throttled,
        apply,
        steady,
        batched,
        apps,
    })
}

fn plan_child(args: &Args, apps: usize) -> anyhow::Result<Value> {
    eprintln!(
        "bench: plan of {} × {} roles against {} manifest entries, {apps} app(s)…",
        args.plan_accounts, args.plan_roles, args.manifest
    );
    let out = Command::new(std::env::current_exe()?)
        .args([
            "plan".to_owned(),
            format!("--accounts={}", args.plan_accounts),
            format!("--roles={}", args.plan_roles),
            format!("--manifest={}", args.manifest),
            format!("--apps={apps}"),
        ])
        .stderr(Stdio::inherit())
        .output()?;
    if !out.status.success() {
        bail!("the plan child failed: {}", out.status);
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// The release binary, when built: `<target>/release/fedsync`, this example being
/// `<target>/<profile>/examples/bench`.
fn release_binary() -> Option<(PathBuf, u64)> {
    let exe = std::env::current_exe().ok()?;
    let path = exe.parent()?.parent()?.parent()?.join("release/fedsync");
    let size = std::fs::metadata(&path).ok()?.len();
    Some((path, size))
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name")?.split(':').nth(1))
        .map_or("unknown CPU", str::trim)
        .to_owned();
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cpus} CPUs available ({model}), {}", std::env::consts::OS)
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn yes(met: bool) -> &'static str {
    if met { "yes" } else { "**no**" }
}

fn report(args: &Args, f: &Figures, plan: &Value, plan_apps: &Value) -> String {
    use std::fmt::Write as _;
    let latency = Duration::from_millis(args.latency_ms);
    let mut out = String::new();
    let _ = writeln!(out, "machine: {}", machine());
    if cfg!(debug_assertions) {
        let _ = writeln!(
            out,
            "**a debug build: run with `cargo run --release --example bench` for figures that count**"
        );
    }
    let _ = writeln!(
        out,
        "AWS latency {} ms, Graph latency {} ms; inventory {} accounts × ({} federated + {} other) roles\n",
        args.latency_ms,
        args.graph_latency_ms.unwrap_or(args.latency_ms),
        args.accounts,
        args.roles,
        args.other_roles
    );
    let _ = writeln!(out, "| figure | measured | target | met |");
    let _ = writeln!(out, "|---|---|---|---|");

    // Inventory.
    let fast = &f.fast;
    // The floor of one read: GetCallerIdentity and the ListAccounts pages one after another,
    // then the last account's four dependent calls; or every call spread over the concurrency.
    let floor = |run: &scenarios::InventoryRun| {
        let critical = latency.mul_f64((run.calls_setup() + 4) as f64);
        let spread = latency.mul_f64(run.calls_total() as f64 / run.concurrency as f64);
        (critical, spread, critical.max(spread))
    };
    let wall_row = |out: &mut String, what: &str, run: &scenarios::InventoryRun| {
        let (critical, spread, ideal) = floor(run);
        let _ = writeln!(
            out,
            "| inventory of {} accounts, {what} (concurrency {}): wall / floor max(critical path {}, calls × latency / concurrency {}) | {} / {:.2}× ({} calls, {} TCP connections) | | |",
            run.accounts,
            run.concurrency,
            secs(critical),
            secs(spread),
            secs(run.wall),
            run.wall.as_secs_f64() / ideal.as_secs_f64(),
            run.calls_total(),
            run.connections
        );
    };
    if let Some(serial) = &f.serial {
        wall_row(&mut out, "the serial walk", serial);
    }
    wall_row(&mut out, "default settings", fast);
    let (_, _, ideal) = floor(fast);
    let efficiency = fast.wall.as_secs_f64() / ideal.as_secs_f64();
    let _ = writeln!(
        out,
        "| inventory at the defaults vs its floor | {efficiency:.2}× | ≤ 1.25× | {} |",
        yes(efficiency <= 1.25)
    );
    if let Some(serial) = &f.serial {
        let speedup = serial.wall.as_secs_f64() / fast.wall.as_secs_f64();
        let _ = writeln!(
            out,
            "| inventory speed-up, defaults vs the serial walk | {speedup:.1}× | ≥ 60× | {} |",
            yes(speedup >= 60.0)
        );
    }
    if let Some(ceiling) = &f.ceiling {
        wall_row(&mut out, "the ceiling", ceiling);
    }
    if let Some(large) = &f.large {
        wall_row(&mut out, "default settings", large);
    }
    let t = &f.throttled;
    let assume = t.calls.get("AssumeRole").copied().unwrap_or(0) as f64;
    // The rate limit's floor: AssumeRole calls past the first second's burst, at the rate.
    let (_, _, unlimited) = floor(t);
    let rate_floor = Duration::from_secs_f64((assume - 100.0).max(0.0) / 100.0);
    let limited_ideal = unlimited.max(rate_floor);
    let ratio = t.wall.as_secs_f64() / limited_ideal.as_secs_f64();
    let _ = writeln!(
        out,
        "| inventory rate-limited (AssumeRole 100/s per caller, ListRoles 20/s per account): wall / ideal {} | {} / {ratio:.2}× | ≤ 1.3× | {} |",
        secs(limited_ideal),
        secs(t.wall),
        yes(ratio <= 1.3)
    );
    let _ = writeln!(
        out,
        "| rate-limited: failed accounts / throttled answers / concurrency settled (peak, halvings) | {} / {} / {} ({}, {}) | 0 failed | {} |",
        t.failed,
        t.calls_throttled(),
        t.paced.settled,
        t.paced.peak,
        t.paced.decreases,
        yes(t.failed == 0)
    );
    let per_1000 =
        |run: &scenarios::InventoryRun| run.cpu.as_secs_f64() * 1000.0 / run.accounts as f64;
    let _ = writeln!(
        out,
        "| fedsync CPU per 1,000 accounts, default settings | {:.2} s | < 0.5 s | {} |",
        per_1000(fast),
        yes(per_1000(fast) < 0.5)
    );
    if let Some(serial) = &f.serial {
        let _ = writeln!(
            out,
            "| fedsync CPU per 1,000 accounts, concurrency 1 | {:.2} s | | |",
            per_1000(serial)
        );
    }

    // Plan.
    let plan_ms = plan["plan_ms"].as_f64().unwrap_or(f64::NAN);
    let peak_mib = plan["peak_rss_kib"].as_f64().unwrap_or(f64::NAN) / 1024.0;
    let inputs_mib = plan["rss_inputs_kib"].as_f64().unwrap_or(f64::NAN) / 1024.0;
    let _ = writeln!(
        out,
        "| plan of {} roles vs {} entries: time | {plan_ms:.0} ms | < 0.3 s | {} |",
        plan["candidate_roles"],
        plan["manifest_entries"],
        yes(plan_ms < 300.0)
    );
    let _ = writeln!(
        out,
        "| plan: peak RSS of the process (inputs alone {inputs_mib:.0} MiB) | {peak_mib:.0} MiB | < 64 MiB | {} |",
        yes(peak_mib < 64.0)
    );
    let _ = writeln!(
        out,
        "| plan: refused as over the cap / app roles it counted to add | {} / {} | | |",
        !plan["refusals"].as_array().is_none_or(Vec::is_empty),
        plan["counted_adds"]
    );
    let apps_ms = plan_apps["plan_ms"].as_f64().unwrap_or(f64::NAN);
    let _ = writeln!(
        out,
        "| the same {} roles over {} apps, a first run (every role new): routing and plans, one app after another | {apps_ms:.0} ms (routing {:.0} ms; {} adds, fullest app {} entries, {} refusals) | < 1 s | {} |",
        plan_apps["candidate_roles"],
        plan_apps["apps"],
        plan_apps["routing_ms"].as_f64().unwrap_or(f64::NAN),
        plan_apps["adds"],
        plan_apps["fullest_app_entries"],
        plan_apps["refusals"],
        yes(apps_ms < 1000.0)
    );

    // Apply and steady state.
    let apply = &f.apply;
    let roles = args.sync_accounts * args.roles;
    let _ = writeln!(
        out,
        "| apply {roles} roles + groups, `sync`: Graph requests | {} ({} reads, {} writes) | ≤ 60 | {} |",
        apply.graph.total(),
        apply.graph.reads(),
        apply.graph.writes(),
        yes(apply.graph.total() <= 60)
    );
    let _ = writeln!(
        out,
        "| apply, `sync`: wall of the whole run / first to last write | {} / {} | | |",
        secs(apply.wall),
        apply.graph.write_span.map_or("-".into(), secs)
    );
    let b = &f.batched;
    let _ = writeln!(
        out,
        "| apply {} roles + {} groups, `$batch` path: Graph requests | {} ({} reads, {} writes) | | |",
        b.roles_added,
        b.groups_created,
        b.graph.total(),
        b.graph.reads(),
        b.graph.writes()
    );
    let _ = writeln!(
        out,
        "| apply, `$batch` path: wall (Graph only) / first to last write | {} / {} | | |",
        secs(b.wall),
        b.graph.write_span.map_or("-".into(), secs)
    );
    let s = &f.steady;
    let _ = writeln!(
        out,
        "| steady state ({} accounts, {roles} roles): Graph writes | {} | 0 | {} |",
        args.sync_accounts,
        s.graph.writes(),
        yes(s.graph.writes() == 0 && !s.report.wrote())
    );
    let _ = writeln!(
        out,
        "| steady state: Graph reads | {} | ≤ 12 | {} |",
        s.graph.reads(),
        yes(s.graph.reads() <= 12)
    );
    let _ = writeln!(
        out,
        "| steady state: AWS calls per account (+ once per run) | {:.1} (+ {} inventory, {} S3 lease) | | |",
        s.aws_per_account_calls() as f64 / args.sync_accounts as f64,
        s.aws.get("GetCallerIdentity").copied().unwrap_or(0)
            + s.aws.get("ListAccounts").copied().unwrap_or(0),
        s.s3_calls()
    );
    let _ = writeln!(
        out,
        "| steady state: wall of the whole run | {} | | |",
        secs(s.wall)
    );

    let a = &f.apps;
    let applied: usize = a.per_app.iter().map(|(_, added, _)| added).sum();
    let fullest = a
        .per_app
        .iter()
        .map(|(_, _, fill)| *fill)
        .fold(0.0, f64::max);
    let _ = writeln!(
        out,
        "| {} roles of {} accounts into {} apps in one run: roles added (each app holds its own accounts' roles only) | {applied} (fullest app {:.0}%) | {} | {} |",
        a.accounts * args.roles,
        a.accounts,
        a.apps,
        fullest * 100.0,
        a.accounts * args.roles,
        yes(applied == a.accounts * args.roles)
    );
    let _ = writeln!(
        out,
        "| several apps: wall of the whole run / Graph requests / AssumeRole calls | {} / {} ({} writes) / {} | | |",
        secs(a.wall),
        a.graph.total(),
        a.graph.writes(),
        a.aws.get("AssumeRole").copied().unwrap_or(0)
    );
    // The apply scenario syncs `sync_accounts × roles` roles into one app; an app here gets
    // `apps_accounts × roles / apps` of them.
    let per_app = a.graph.total() as f64 / a.apps as f64;
    let single = apply.graph.total() as f64;
    let comparable = a.accounts / a.apps == args.sync_accounts;
    let _ = writeln!(
        out,
        "| several apps: Graph requests per app / one app's apply of as many roles | {per_app:.1} / {single:.0} = {:.2}× | the same (≤ 1.05×) | {} |",
        per_app / single,
        if comparable {
            yes(per_app / single <= 1.05)
        } else {
            "- (not the same roles per app)"
        }
    );

    match release_binary() {
        Some((path, size)) => {
            let mib = size as f64 / (1024.0 * 1024.0);
            let _ = writeln!(
                out,
                "| release binary `{}` | {mib:.1} MiB ({size} bytes) | < 20 MB | {} |",
                path.file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or("fedsync"),
                yes(size < 20_000_000)
            );
        }
        None => {
            let _ = writeln!(
                out,
                "| release binary | not built: run `cargo build --release` first | < 20 MB | - |"
            );
        }
    }

    let _ = writeln!(
        out,
        "\nAWS calls by operation (concurrency {}):",
        fast.concurrency
    );
    for (op, n) in &fast.calls {
        let _ = writeln!(out, "- {op}: {n}");
    }
    let _ = writeln!(out, "\nGraph requests, `sync` applying:");
    for (kind, n) in &apply.graph.by_kind {
        let _ = writeln!(out, "- {kind}: {n}");
    }
    let _ = writeln!(out, "\nGraph requests, `$batch` path:");
    for (kind, n) in &b.graph.by_kind {
        let _ = writeln!(out, "- {kind}: {n}");
    }
    let _ = writeln!(out, "\nGraph requests, steady state:");
    for (kind, n) in &s.graph.by_kind {
        let _ = writeln!(out, "- {kind}: {n}");
    }
    let _ = writeln!(
        out,
        "\nplan: {} adds, {} unchanged, {} groups, target {} entries, refusals: {}",
        plan["adds"], plan["unchanged"], plan["groups"], plan["target_entries"], plan["refusals"]
    );
    out
}
