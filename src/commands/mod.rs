//! commands: one function per subcommand; each turns parsed flags into an [`ExitStatus`].
//!
//! Commands read their inputs, call the pure core and print through [`crate::printer`].

mod inventory;
mod plan;

use clap::CommandFactory;

use crate::cli::{Cli, Command};
use crate::exit::{ExitStatus, Failure};

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<ExitStatus, Failure> {
    match cli.command {
        Command::Inventory(args) => inventory::run(&args),
        Command::Plan(args) => plan::run(&args),
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "fedsync", &mut out);
            crate::printer::stdout(&String::from_utf8_lossy(&out))?;
            Ok(ExitStatus::Success)
        }
    }
}

/// Runs async work on a runtime made for this command.
fn block_on<F: std::future::Future>(future: F) -> Result<F::Output, Failure> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            Failure::from(anyhow::Error::new(e).context("cannot start the async runtime"))
        })?;
    Ok(runtime.block_on(future))
}
