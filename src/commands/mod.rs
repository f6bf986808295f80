//! commands: one function per subcommand; each turns parsed flags into an [`ExitStatus`].
//!
//! Commands load their settings through [`crate::settings`] (every source, all problems at once,
//! exit 2 before anything else happens), call the pure core and print through
//! [`crate::printer`].

mod access;
mod backups;
mod config;
mod explain;
mod inventory;
mod plan;
mod providers;
mod rotate;
mod setup;
mod shard_plan;
mod sync;

use aws_config::SdkConfig;

use crate::cli::{AccessCommand, Cli, Command, ConfigCommand};
use crate::exit::{ExitStatus, Failure};
use crate::model::AppName;
use crate::settings::{Env, Flags, Inputs, Settings};

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<ExitStatus, Failure> {
    let global = Global {
        config: cli.config,
        ssm_prefix: cli.ssm_prefix,
        log_format: cli.log_format,
    };
    match cli.command {
        Command::Inventory(args) => inventory::run(&args, &global),
        Command::Plan(args) => plan::run(&args, &global),
        Command::ShardPlan(args) => shard_plan::run(&args, &global),
        Command::Sync(args) => sync::run(&args, &global, None),
        Command::Restore(args) => sync::run(&args.run, &global, Some(&args.key)),
        Command::Explain(args) => explain::run(&args, &global),
        Command::Providers(args) => providers::run(&args, &global),
        Command::Rotate(args) => rotate::run(&args, &global),
        Command::Access(AccessCommand::List(args)) => access::list(&args, &global),
        Command::Access(AccessCommand::Grant(args)) => access::change(&args, &global, true),
        Command::Access(AccessCommand::Revoke(args)) => access::change(&args, &global, false),
        Command::Backups(command) => backups::run(&command, &global),
        Command::Config(ConfigCommand::Show(args)) => config::show(&args, &global),
        Command::Setup(args) => setup::run(&args, &global),
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut crate::cli::command(), "fedsync", &mut out);
            crate::printer::stdout(&String::from_utf8_lossy(&out))?;
            Ok(ExitStatus::Success)
        }
    }
}

/// The global flags that say where settings come from.
struct Global {
    config: Option<std::path::PathBuf>,
    ssm_prefix: Option<String>,
    log_format: Option<crate::cli::LogFormat>,
}

impl Global {
    /// What to load the settings from: the command's `flags`, the process environment, SSM
    /// and the config file.
    fn inputs(&self, mut flags: Flags) -> Inputs {
        if let Some(format) = self.log_format {
            use clap::ValueEnum;
            let name = format.to_possible_value().map(|v| v.get_name().to_owned());
            flags.set("log-format", name.as_deref());
        }
        Inputs {
            flags,
            env: Env::from_process(),
            config_file: self.config.clone(),
            ssm_prefix: self.ssm_prefix.clone(),
        }
    }
}

/// Loads the settings; SSM through `sdk` when a prefix is set (loading the AWS config when
/// `sdk` is none). A source that cannot be read at all fails the command (exit 1).
async fn load_settings(inputs: &Inputs, sdk: Option<&SdkConfig>) -> Result<Settings, Failure> {
    Settings::load(inputs, sdk)
        .await
        .map_err(|e| Failure::from(anyhow::Error::new(e).context("cannot read the settings")))
}

/// The apps a command takes: the one `--app` names, else every app of the settings.
fn chosen_apps(settings: &Settings, app: Option<&str>) -> Result<Vec<AppName>, Failure> {
    let Some(app) = app else {
        return Ok(settings.app_names());
    };
    let name: AppName = app
        .parse()
        .map_err(|e| Failure::invalid(anyhow::anyhow!("--app: {e}")))?;
    settings
        .for_app(&name)
        .map_err(|problem| Failure::invalid(anyhow::anyhow!("--app: {}", problem.message)))?;
    Ok(vec![name])
}

/// The settings of the one app a command works on: the one `--app` names, or the only app.
/// Exit 2 when the settings name several and `--app` says none.
fn one_app(settings: &Settings, app: Option<&str>) -> Result<(AppName, Settings), Failure> {
    let mut names = chosen_apps(settings, app)?;
    if names.len() > 1 {
        let listed: Vec<String> = names.iter().map(ToString::to_string).collect();
        return Err(Failure::invalid(anyhow::anyhow!(
            "the settings name {} apps ({}); say which with --app NAME",
            names.len(),
            listed.join(", ")
        )));
    }
    let name = names.pop().unwrap_or_else(AppName::default_app);
    let view = settings
        .for_app(&name)
        .map_err(|problem| Failure::invalid(anyhow::anyhow!("--app: {}", problem.message)))?;
    Ok((name, view))
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
