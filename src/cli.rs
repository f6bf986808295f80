//! cli: the command line as clap sees it — raw flags and their environment variables.
//!
//! It only describes and parses; the commands in `commands/` turn these into settings and act.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

use crate::metadata::Thumbprint;
use crate::model::{AccountId, RoleName};
use crate::naming::NamingConvention;
use crate::plan::guardrail::MaxRemovals;

/// Keep Microsoft Entra ID single sign-on into AWS in step with IAM across an AWS Organization.
///
/// fedsync finds the IAM roles of every account that trust your Entra ID SAML provider and turns
/// them into app roles (and groups) of the AWS enterprise app in Entra ID.
///
/// Exit codes: 0 in sync or planned, 1 failed, 2 invalid input or settings (nothing written),
/// 3 refused by a guardrail (nothing written), 4 some accounts could not be read.
#[derive(Debug, Parser)]
#[command(name = "fedsync", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Log format on stderr: `text` for people, `json` (one object per line) for CloudWatch.
    ///
    /// Default: text when stderr is a terminal, json otherwise. `RUST_LOG` sets the level.
    #[arg(long, global = true, env = "FEDSYNC_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
}

/// How log lines are written on stderr.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read every account of the Organization and list the IAM roles that trust our SAML provider.
    ///
    /// Lists the Organization's active accounts, assumes the reader role in each (the account
    /// fedsync runs in uses its own credentials), keeps the SAML providers whose metadata has our
    /// entity id and one of our signing certificates, and the roles whose trust policy lets one
    /// of them call sts:AssumeRoleWithSAML. AWS credentials, region and endpoints come from the
    /// standard AWS chain. Reads only; writes nothing.
    ///
    /// `--output json` prints the inventory snapshot `fedsync plan --inventory` reads. Exits 0
    /// when every account was read, 4 when some could not be (each is listed with the reason),
    /// 1 when the accounts could not be listed at all, 2 on invalid settings.
    Inventory(InventoryArgs),

    /// Plan the app role changes from an inventory snapshot and a service principal file.
    ///
    /// Works offline: reads an inventory snapshot (the JSON `fedsync inventory --output json`
    /// writes; see README) and the AWS app's service principal as Graph returns it, and prints
    /// what a sync would change. Nothing is written anywhere.
    ///
    /// Exits 0 when the plan was made, 2 when a file or setting is invalid, 3 when a guardrail
    /// would refuse the plan, 4 when the inventory has accounts that could not be read.
    Plan(PlanArgs),

    /// Print a shell completion script to stdout.
    ///
    /// For example: `fedsync completions bash > /etc/bash_completion.d/fedsync`.
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
}

/// How to print data on stdout.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// For people: a table like a Terraform plan.
    #[default]
    Text,
    /// For programs: one JSON document (schema `fedsync.plan/v1` for plans, see README).
    Json,
}

#[derive(Debug, Args)]
pub struct InventoryArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Settings that decide which accounts, providers and roles an inventory reads.
#[derive(Debug, Args)]
pub struct AwsArgs {
    /// The SAML issuer of our Entra app: its metadata's entityID, `https://sts.windows.net/<tenant>/`.
    #[arg(
        long,
        env = "FEDSYNC_SAML_ENTITY_ID",
        value_name = "URL",
        required = true
    )]
    pub saml_entity_id: String,

    /// SHA-256 thumbprints of our app's SAML signing certificates, comma-separated.
    ///
    /// A SAML provider matches when its metadata has our entity id and one of these
    /// certificates; give the old and the new one during a certificate rotation.
    #[arg(long, env = "FEDSYNC_SAML_CERTIFICATES", value_name = "SHA256,...", value_delimiter = ',', required = true, value_parser = sha256_thumbprint)]
    pub saml_certificates: Vec<Thumbprint>,

    /// The read-only role fedsync assumes in each account.
    ///
    /// The PowerShell original named it `AWS_IAM_AAD_UpdateTask_CrossAccountRole`.
    #[arg(
        long,
        env = "FEDSYNC_CROSS_ACCOUNT_ROLE",
        value_name = "ROLE NAME",
        default_value = "fedsync-reader"
    )]
    pub cross_account_role: RoleName,

    /// External id for AssumeRole, when the reader roles require one.
    #[arg(long, env = "FEDSYNC_EXTERNAL_ID", value_name = "ID")]
    pub external_id: Option<String>,

    /// Read only these accounts, comma-separated (default: every active account).
    #[arg(
        long,
        env = "FEDSYNC_INCLUDE_ACCOUNTS",
        value_name = "ID,...",
        value_delimiter = ','
    )]
    pub include_accounts: Vec<AccountId>,

    /// Never read these accounts, comma-separated.
    #[arg(
        long,
        env = "FEDSYNC_EXCLUDE_ACCOUNTS",
        value_name = "ID,...",
        value_delimiter = ','
    )]
    pub exclude_accounts: Vec<AccountId>,

    /// Accounts read at once.
    #[arg(long, env = "FEDSYNC_CONCURRENCY", value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
}

/// A SHA-256 certificate thumbprint: 64 hex digits, `:` or spaces allowed between bytes.
fn sha256_thumbprint(s: &str) -> Result<Thumbprint, String> {
    let thumbprint: Thumbprint = s
        .trim()
        .parse()
        .map_err(|e: crate::model::ParseError| e.to_string())?;
    if thumbprint.is_sha256() {
        Ok(thumbprint)
    } else {
        Err(format!(
            "{s:?} is not a SHA-256 thumbprint (64 hex digits); SHA-1 thumbprints are not accepted"
        ))
    }
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Inventory snapshot JSON: per account its federated roles, or why it could not be read.
    ///
    /// `-` reads standard input.
    #[arg(long, value_name = "FILE")]
    pub inventory: PathBuf,

    /// The AWS app's service principal JSON, as `GET /servicePrincipals/{id}` returns it.
    ///
    /// `-` reads standard input.
    #[arg(long, value_name = "FILE")]
    pub manifest: PathBuf,

    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    #[command(flatten)]
    pub plan: PlanSettingsArgs,
}

/// Settings that shape a plan; each also reads its `FEDSYNC_*` environment variable.
#[derive(Debug, Args)]
pub struct PlanSettingsArgs {
    /// App role display names: `{0}`/`{account_id}`, `{1}`/`{role_name}`, `{account_name}`,
    /// `{role_path}`; `{{` and `}}` for literal braces.
    ///
    /// Must name the role and the account, so two roles never share a name.
    #[arg(long, env = "FEDSYNC_NAMING_CONVENTION", value_name = "CONVENTION", default_value = crate::naming::DEFAULT_CONVENTION)]
    pub naming_convention: NamingConvention,

    /// Group display names, with the same placeholders. Default: the role's display name.
    #[arg(
        long,
        env = "FEDSYNC_GROUP_NAMING_CONVENTION",
        value_name = "CONVENTION"
    )]
    pub group_naming_convention: Option<NamingConvention>,

    /// Plan one security group per role.
    #[arg(long, env = "FEDSYNC_CREATE_GROUPS", value_name = "BOOL", default_value_t = true, action = ArgAction::Set)]
    pub create_groups: bool,

    /// Most roles one run may disable: a count (`5`) or a share of the enabled roles (`10%`,
    /// rounded up).
    ///
    /// A plan over it is refused (exit 3) unless --allow-removals is given.
    #[arg(
        long,
        env = "FEDSYNC_MAX_REMOVALS",
        value_name = "N|P%",
        default_value = "10%"
    )]
    pub max_removals: MaxRemovals,

    /// Accept a plan that disables more roles than --max-removals, for this run only.
    #[arg(long)]
    pub allow_removals: bool,

    /// Most entries the app roles collection may hold; Graph refuses a manifest over 1200.
    #[arg(long, env = "FEDSYNC_MAX_APP_ROLES", value_name = "N", default_value_t = crate::plan::guardrail::DEFAULT_MAX_APP_ROLES)]
    pub max_app_roles: usize,
}
