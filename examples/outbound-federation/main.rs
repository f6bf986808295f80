//! outbound-federation: AWS IAM outbound identity federation on loopback, in front of moto, for
//! the try-out (`setup/try-out.sh --credential aws-federation`) and for anyone who wants to see
//! fedsync sign in to the Graph emulator with no secret. What it serves and how is in `fake.rs`.
//!
//! ```text
//! outbound-federation --upstream http://127.0.0.1:5000 [--enabled]
//! ```
//! Prints `outbound-federation listening on http://127.0.0.1:PORT`; point `AWS_ENDPOINT_URL` at
//! it. Each account's issuer is `http://127.0.0.1:PORT/<issuer id>`, as
//! `EnableOutboundWebIdentityFederation` answers. Runs until killed.

// What the tests read of the fake (the tokens it issued, each issuer) the example never asks.
#[allow(dead_code)]
mod fake;

use std::io::Write as _;

const USAGE: &str = "usage: outbound-federation --upstream URL [--enabled]
  --upstream URL  moto (or any AWS endpoint) that answers everything else
  --enabled       federation is on in every account from the start (otherwise each account
                  enables it with iam:EnableOutboundWebIdentityFederation)";

fn main() {
    let mut upstream = None;
    let mut enabled = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--upstream" => upstream = args.next(),
            "--enabled" => enabled = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return;
            }
            other => {
                eprintln!("outbound-federation: unknown argument {other:?}\n{USAGE}");
                std::process::exit(2);
            }
        }
    }
    let Some(upstream) = upstream.filter(|u| u.starts_with("http://") || u.starts_with("https://"))
    else {
        eprintln!("outbound-federation: --upstream needs an http(s):// URL\n{USAGE}");
        std::process::exit(2);
    };
    let running = fake::OutboundFederation::start(&upstream, enabled);
    println!("outbound-federation listening on {}", running.url);
    let _ = std::io::stdout().flush();
    loop {
        std::thread::park();
    }
}
