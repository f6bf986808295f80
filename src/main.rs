//! The `fedsync` binary: parses the command line, runs the command, prints errors to stderr and
//! maps the outcome to DESIGN.md's exit codes.

use std::process::ExitCode;

use fedsync::cli::Cli;
use fedsync::exit::{ExitStatus, Failure};

fn main() -> ExitCode {
    let cli = Cli::parse_args();
    // The log format is a setting like any other, but logging starts before the others are
    // read, so only the flag and FEDSYNC_LOG_FORMAT can set it.
    let format = match fedsync::settings::log_format(
        cli.log_format,
        &fedsync::settings::Env::from_process(),
    ) {
        Ok(format) => format.unwrap_or_else(fedsync::logging::default_format),
        Err(problems) => return report(Failure::invalid(problems)),
    };
    fedsync::logging::init(format);
    match fedsync::commands::run(cli) {
        Ok(status) => status.into(),
        Err(failure) => report(failure),
    }
}

fn report(failure: Failure) -> ExitCode {
    eprintln!("error: {}", failure.error);
    for cause in failure.error.chain().skip(1) {
        eprintln!("  Caused by: {cause}");
    }
    let status: ExitStatus = failure.status;
    status.into()
}
