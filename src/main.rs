//! The `fedsync` binary: parses the command line, runs the command, prints errors to stderr and
//! maps the outcome to DESIGN.md's exit codes.

use std::process::ExitCode;

use clap::Parser;
use fedsync::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    fedsync::logging::init(
        cli.log_format
            .unwrap_or_else(fedsync::logging::default_format),
    );
    match fedsync::commands::run(cli) {
        Ok(status) => status.into(),
        Err(failure) => {
            eprintln!("error: {}", failure.error);
            for cause in failure.error.chain().skip(1) {
                eprintln!("  Caused by: {cause}");
            }
            failure.status.into()
        }
    }
}
