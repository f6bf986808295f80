//! graph-emulator: a local stand-in for Microsoft Entra ID's token endpoint and the few
//! Microsoft Graph v1.0 calls fedsync makes, enforcing the rules DESIGN.md documents.
//!
//! Microsoft publishes no Graph emulator, so the project owns one. It is a cargo example, so its
//! dependencies (axum, tokio, jsonwebtoken, …) are dev-dependencies and stay out of the release
//! binary. This file is only the command line; the emulator itself is `emulator.rs` and the
//! modules it declares, which integration tests include with one `#[path]`.
//!
//! ```text
//! cargo run --example graph-emulator -- --seed examples/graph-emulator/seed.example.json \
//!     [--listen 127.0.0.1:0]
//! ```
//!
//! Once ready it prints exactly one line to stdout, `graph-emulator listening on
//! http://127.0.0.1:PORT`, which scripts and tests read for the port. Logs (one line per request,
//! path and status only, never a secret or a token) go to stderr. It exits on SIGTERM or ctrl-c.
//!
//! Seed file (see `seed.example.json` and `seed.rs`):
//! - `tenant_id`: the tenant the token endpoint answers for (`/{tenant_id}/oauth2/v2.0/token`).
//! - `clients`: `[{client_id, client_secret?, certificate_pem?, service_principal_id,
//!   display_name?}]`, the sync app (at least one credential) and its own service principal.
//! - `service_principal`: the AWS app's service principal, `{id, appId, displayName, appRoles:
//!   [msiam_access, …], …}`; other properties are kept and returned as they are.
//! - `service_principals`: optional further AWS service principals of the same shape, each
//!   with its own app roles, entry cap and assignments.
//! - `users`, `groups`, `assignments`: optional users, pre-existing security groups (`owners`
//!   and `members` as object ids) and app role assignments of those groups and users (each on
//!   its `resourceId`, by default `service_principal`).
//! - `page_size` (default 3, so clients must page; Graph's is 100), `max_page_size` (the largest
//!   page `$top` gets, default `page_size`; Graph's is 999), `token_lifetime_secs` (default 3600),
//!   `faults` (fault rules active from the start, see `faults.rs`).
//!
//! Control endpoints (no token needed): `GET /_emulator/state`, `POST /_emulator/reset`,
//! `GET|POST|DELETE /_emulator/faults`, `POST /_emulator/expire-tokens`.

mod emulator;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use emulator::{Seed, serve};

/// A local Microsoft Entra token endpoint and Microsoft Graph emulator for fedsync's tests.
#[derive(Parser)]
#[command(name = "graph-emulator")]
struct Args {
    /// The seed file: tenant, clients, the AWS app's service principal, optional groups,
    /// assignments, page size, token lifetime and fault rules (JSON).
    #[arg(long, value_name = "FILE")]
    seed: PathBuf,

    /// Address to listen on; port 0 picks a free port, printed on stdout once ready.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    listen: SocketAddr,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let text = match std::fs::read_to_string(&args.seed) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("error: cannot read seed file {}: {e}", args.seed.display());
            return ExitCode::from(2);
        }
    };
    let seed = match Seed::from_json(&text) {
        Ok(seed) => seed,
        Err(e) => {
            eprintln!("error: {}: {e}", args.seed.display());
            return ExitCode::from(2);
        }
    };
    let sps: Vec<String> = seed
        .service_principals
        .iter()
        .map(|sp| {
            format!(
                "{} with {} app role(s)",
                sp.get("id").and_then(|v| v.as_str()).unwrap_or_default(),
                sp.get("appRoles")
                    .and_then(|v| v.as_array())
                    .map_or(0, Vec::len),
            )
        })
        .collect();
    eprintln!(
        "graph-emulator: tenant {}, {} client(s), service principal(s) {}, {} group(s), page size {}",
        seed.tenant_id,
        seed.clients.len(),
        sps.join(", "),
        seed.groups.len(),
        seed.paging.default,
    );
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("error: cannot listen on {}: {e}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    let address = match listener.local_addr() {
        Ok(address) => address,
        Err(e) => {
            eprintln!("error: cannot read the listening address: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The one line on stdout; Rust's stdout is line-buffered, so it leaves with the newline.
    println!("graph-emulator listening on http://{address}");

    tokio::select! {
        result = serve(seed, listener) => match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: the server stopped: {e}");
                ExitCode::FAILURE
            }
        },
        () = shutdown_signal() => {
            eprintln!("graph-emulator: shutting down");
            ExitCode::SUCCESS
        }
    }
}

/// Resolves on ctrl-c, or SIGTERM on Unix.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
