//! cli: the command line as clap sees it — raw flags, kept as the text the user typed.
//!
//! It only describes and parses. Settings flags are strings here: [`crate::settings`] merges them
//! with the environment, SSM and the config file, and parses and validates them all at once, so
//! a bad flag is reported like a bad value from any other source. Each settings flag's help
//! names its environment variable, config key and default from the settings table ([`command`]).

use std::path::PathBuf;

use clap::{
    ArgAction, ArgGroup, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum,
};

pub use crate::logging::LogFormat;
use crate::settings::Flags;
use crate::settings::table::{self, DefaultValue};

/// Keep Microsoft Entra ID single sign-on into AWS in step with IAM across an AWS Organization.
///
/// fedsync finds the IAM roles of every account that trust your Entra ID SAML provider and turns
/// them into app roles (and groups) of the AWS enterprise app in Entra ID.
///
/// Exit codes: 0 in sync or planned, 1 failed, 2 invalid input or settings (nothing written),
/// 3 refused by a guardrail (nothing written), 4 some accounts or roles could not be read or
/// decided (they were held, untouched).
#[derive(Debug, Parser)]
#[command(name = "fedsync", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Log format on stderr: `text` for people, `json` (one object per line) for CloudWatch.
    ///
    /// Default: text when stderr is a terminal, json otherwise. `RUST_LOG` sets the level.
    #[arg(long, global = true, value_enum, display_order = 1000)]
    pub log_format: Option<LogFormat>,

    /// A TOML file of settings: `setting-name = value`, the names of the SSM parameters.
    ///
    /// Flags, environment variables and SSM parameters beat it; an unknown key is an error.
    #[arg(
        long,
        global = true,
        env = "FEDSYNC_CONFIG",
        value_name = "FILE",
        display_order = 1001
    )]
    pub config: Option<PathBuf>,

    /// Read settings from the SSM parameters under this path, like `/fedsync/prod/`.
    ///
    /// Reads every parameter below it (`GetParametersByPath`, recursive, SecureString
    /// decrypted); each must be named after a setting. Flags and environment variables beat
    /// them; they beat the config file. Not set: SSM is not read.
    #[arg(
        long,
        global = true,
        env = "FEDSYNC_SSM_PREFIX",
        value_name = "PREFIX",
        display_order = 1002
    )]
    pub ssm_prefix: Option<String>,
}

impl Cli {
    /// Parses the process's arguments with [`command`]; exits on a usage error (code 2).
    pub fn parse_args() -> Cli {
        let matches = command().get_matches();
        Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
    }
}

/// The clap command, each settings flag's help completed from the settings table with its
/// environment variable, config key (also its SSM name) and default.
pub fn command() -> clap::Command {
    annotate(Cli::command())
}

fn annotate(command: clap::Command) -> clap::Command {
    command
        .mut_args(|arg| {
            let Some(setting) = arg.get_long().and_then(table::get) else {
                return arg;
            };
            let mut notes = format!("[env: {}]", setting.env);
            if setting.stored {
                notes.push_str(&format!(" [config/SSM: {}]", setting.name));
            }
            match setting.default {
                DefaultValue::Value(v) => notes.push_str(&format!(" [default: {v}]")),
                DefaultValue::Required => notes.push_str(" [required]"),
                DefaultValue::Unset(_) => {}
            }
            let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
            let long = arg.get_long_help().map(ToString::to_string);
            let arg = arg.help(format!("{help} {notes}"));
            match long {
                Some(long) => arg.long_help(format!("{long}\n\n{notes}")),
                None => arg,
            }
        })
        .mut_subcommands(annotate)
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
    /// Each provider is ours, ours by entity id with an unknown certificate, not ours, or can't
    /// tell; each role gets a verdict per provider: yes, no or can't tell, decided as IAM
    /// evaluates its trust policy (conditions on SAML:aud at saml-audiences).
    ///
    /// `--output json` prints the inventory snapshot (version 2) `fedsync plan --inventory`
    /// reads. Exits 0 when every account was read and every role decided, 4 when some could not
    /// be (each is listed with the reason), 1 when the accounts could not be listed at all, 2 on
    /// invalid settings.
    Inventory(InventoryArgs),

    /// Plan the app role changes from an inventory snapshot and a service principal file.
    ///
    /// Works offline: reads an inventory snapshot (the JSON `fedsync inventory --output json`
    /// writes; see README) and the AWS app's service principal as Graph returns it, and prints
    /// what a sync would change. Nothing is written anywhere.
    ///
    /// Exits 0 when the plan was made, 2 when a file or setting is invalid, 3 when a guardrail
    /// would refuse the plan, 4 when the inventory has accounts that could not be read.
    Plan(Box<PlanArgs>),

    /// Propose which OUs go to which Entra app when one app cannot hold every role.
    ///
    /// Run by an administrator in the management account (or a delegated administrator):
    /// reads the OU tree (ListRoots, ListOrganizationalUnitsForParent, ListAccountsForParent) and
    /// the inventory (live, or --inventory FILE), and assigns whole OUs (splitting one only when
    /// it alone is too big) to apps so that each holds at most --target-fill of max-app-roles,
    /// keeping as many accounts as fit in the app they live in today (`default`). Prints the
    /// table, the StackSet commands that deploy each app's metadata to its OUs, and how many
    /// apps a growth by --growth would need. Writes nothing.
    ///
    /// Exits 0 with a split, 4 when some accounts could not be read (their roles are not
    /// counted), 1 when no split fits (the error names the account and the numbers), 2 on
    /// invalid input.
    ShardPlan(ShardPlanArgs),

    /// Sync the AWS app's roles (and groups) in Entra ID with IAM: the job the schedule runs.
    ///
    /// Reads the inventory, the service principal, its groups and assignments; plans; checks the
    /// guardrails; takes a run lease and a backup of the service principal in S3 before the
    /// first write; applies in the safe order (remove assignments of roles being disabled, PATCH
    /// adds/updates/disables, PATCH drops roles disabled earlier, create groups, assign groups);
    /// reads back and verifies. `--dry-run` stops after the plan and writes nothing.
    ///
    /// A role is disabled only on evidence (its account was read and the role is gone or
    /// definitely not trusted, or the account is closed or gone from the Organization); whatever
    /// cannot be decided is held, untouched, and listed with why.
    ///
    /// Exits 0 in sync (changes applied or none needed), 1 failed (the error says whether
    /// anything was written), 2 invalid settings, 3 refused by a guardrail (nothing written),
    /// 4 applied, but some accounts or roles could not be read or decided (held, untouched).
    Sync(Box<SyncArgs>),

    /// Restore the AWS app's roles from a backup `sync` took.
    ///
    /// Plans with the backup's appRoles as the target: roles keep their ids, missing roles come
    /// back, changed ones take the backup's properties, and roles the backup does not hold are
    /// disabled (their assignments removed), then dropped by a second restore of the same key.
    /// The same guardrails, run lease, fresh backup of the state it replaces, safe apply order
    /// and verify as `sync`. `--dry-run` stops after the plan and writes nothing. The next
    /// `sync` plans from AWS again. Exits as `sync` does.
    Restore(Box<RestoreArgs>),

    /// Why fedsync decides what it decides about one role, or every SAML role of an account.
    ///
    /// Shows where the account stands (read by sync, or held: excluded, suspended…), each SAML
    /// provider (ours or not, and why: entity id, certificates, expiry), and per role and
    /// provider the verdict, the statement that decided it, and how each statement and
    /// condition was read. Reads AWS with the inventory's settings; writes nothing.
    ///
    /// Exits 0 when explained, 1 when the account cannot be read, 2 on an invalid target or
    /// settings, or a role that does not exist.
    Explain(Box<ExplainArgs>),

    /// Every account's SAML providers as a certificate rotation sees them.
    ///
    /// Reads AWS as `inventory` does. Per account, each SAML provider: ours (which app), ours
    /// by entity id with an unknown certificate, not ours, or can't tell; for each of ours, its
    /// certificates (SHA-256 thumbprint, expiry, days left) and the app's configured
    /// certificates (saml-certificates) it lacks. Then the accounts ready for the configured
    /// certificates, those that would be locked out if Entra switched to an app's newest
    /// certificate today, and the earliest day a provider of ours holds no valid configured
    /// certificate. Writes nothing.
    ///
    /// `--output json` prints the `fedsync.providers/v1` report. Exits 0 when every account was
    /// read, 4 when some could not be (nothing is claimed about their providers), 1 when the
    /// accounts could not be listed, 2 on invalid settings.
    Providers(ProvidersArgs),

    /// Put new SAML federation metadata on every account's provider of the app, safely.
    ///
    /// Run by an administrator in the management account, as the role the writer role trusts
    /// (cfn/provider-writer-role.yaml). Checks the new metadata (--metadata: Entra's federation
    /// metadata XML, which carries the active and the new certificate during a rotation): our
    /// entity id, and at least one of the app's saml-certificates. Reads AWS as `providers`
    /// does and prints, per account, what changes; a provider not the app's is never touched.
    /// A provider is refused (and with it the whole rotation) when the document lacks a
    /// certificate it holds that is still valid, unless --drop-certificate names it. Then, in
    /// each account, assumes provider-writer-role, reads the provider again, updates it with
    /// the document (iam:UpdateSAMLProvider) and reads it back; 8 accounts at a time. A
    /// provider that already carries the document's certificates is skipped, so a rerun
    /// resumes. Ends with the `providers` table and the command that sets saml-certificates.
    ///
    /// Exits 0 when every provider of the app carries the document's certificates (or would,
    /// with --dry-run), 4 when some accounts could not be read or written (the others were), 3
    /// when refused (nothing written), 2 on invalid input (nothing written), 1 when a write
    /// could not be confirmed by its read-back.
    Rotate(RotateArgs),

    /// Who can assume which synced AWS role; grant or revoke it without the portal.
    ///
    /// Reads the AWS app's service principal, its app role assignments, the groups sync made
    /// and their members in Entra ID; needs the Graph settings (tenant, sync app, credential,
    /// service principal) and the group naming convention, not the AWS ones.
    #[command(subcommand)]
    Access(AccessCommand),

    /// List and show the backups of the service principal in S3.
    #[command(subcommand)]
    Backups(BackupsCommand),

    /// Show and check the settings.
    #[command(subcommand)]
    Config(ConfigCommand),

    /// First-time configuration: ask, check and prove the answers, then store the settings.
    ///
    /// On a terminal it asks each answer (current stored values are the defaults); with --yes,
    /// or when stdin is no terminal, every answer comes from flags and FEDSYNC_* variables, and
    /// a missing one exits 2 listing them all. Before writing it gets a token, reads the AWS
    /// app's service principal, lists the Organization's accounts and reaches the bucket. Then
    /// it writes the credential to Secrets Manager, the settings under --ssm-prefix, and
    /// cfn/saml-roles.yaml (with the SAML metadata) and the child account list to
    /// s3://<backup-bucket>/setup/. --dry-run lists the writes, secrets as ****, and writes nothing.
    Setup(Box<SetupArgs>),

    /// Print a shell completion script to stdout.
    ///
    /// For example: `fedsync completions bash > /etc/bash_completion.d/fedsync`.
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
pub struct SetupArgs {
    /// The AWS app's federation metadata XML file (Entra portal: Single sign-on, SAML
    /// certificates, Federation Metadata XML). Gives saml-entity-id and saml-certificates.
    #[arg(long, env = "FEDSYNC_SAML_METADATA", value_name = "FILE")]
    pub saml_metadata: Option<PathBuf>,

    /// The AWS app's manifest JSON (App registrations, Manifest, Download), instead of
    /// --service-principal-id: its appId finds the service principal.
    #[arg(long, env = "FEDSYNC_APP_MANIFEST", value_name = "FILE")]
    pub app_manifest: Option<PathBuf>,

    /// The sync app's certificate (PEM), with --private-key-pem, instead of a client secret
    /// (FEDSYNC_CLIENT_SECRET).
    #[arg(
        long,
        env = "FEDSYNC_CERTIFICATE_PEM",
        value_name = "FILE",
        requires = "private_key_pem"
    )]
    pub certificate_pem: Option<PathBuf>,

    /// The certificate's RSA private key (PEM file).
    #[arg(
        long,
        env = "FEDSYNC_PRIVATE_KEY_PEM",
        value_name = "FILE",
        requires = "certificate_pem"
    )]
    pub private_key_pem: Option<PathBuf>,

    /// With --credential aws-federation: let setup enable AWS outbound identity federation in
    /// the account it runs in when it is off (iam:EnableOutboundWebIdentityFederation, once per
    /// account; listed with the other writes).
    #[arg(long)]
    pub enable_outbound_federation: bool,

    /// With --credential aws-federation: the IAM role the Fargate task runs as, which the sync
    /// app's federated credential names as its subject [default: the role fedsync-task of the
    /// account setup runs in, as cfn/environment.yaml names it].
    #[arg(long, env = "FEDSYNC_TASK_ROLE_ARN", value_name = "ARN")]
    pub task_role_arn: Option<String>,

    /// Take every answer from flags and variables and write without asking.
    #[arg(long)]
    pub yes: bool,

    /// Check and prove the answers, list what would be written (secrets as ****), write nothing.
    #[arg(long)]
    pub dry_run: bool,

    #[command(flatten)]
    pub settings: SettingsArgs,
}

/// How to print data on stdout.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// For people: a table (for plans, like a Terraform plan).
    #[default]
    Text,
    /// For programs: one JSON document (schema `fedsync.plan/v1` for plans; see README).
    Json,
}

#[derive(Debug, Subcommand)]
pub enum BackupsCommand {
    /// List the backups, newest first, with their time and role count.
    ///
    /// Reads `backup-bucket` and `backup-prefix` like `fedsync sync` does. Writes nothing.
    List {
        /// Show at most this many (each costs one S3 read for its role count).
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
        /// Only the backups of this app (by its service-principal-id).
        #[arg(long, value_name = "NAME")]
        app: Option<String>,
        #[command(flatten)]
        backup: BackupArgs,
    },
    /// Print one backup's JSON: a key from `backups list`, or `latest`.
    Show {
        /// The backup's S3 key, or `latest`.
        key: String,
        /// With `latest`: this app's newest backup (needed when the settings name several).
        #[arg(long, value_name = "NAME")]
        app: Option<String>,
        #[command(flatten)]
        backup: BackupArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum AccessCommand {
    /// Every synced role with the users and groups that hold it, and how each user holds it.
    ///
    /// A user holds a role through a direct app role assignment, or as a member of an assigned
    /// group, nested groups included (`via` shows the path: `group A > group B`). Disabled
    /// roles (their IAM role is gone from AWS or no longer trusts our provider) are flagged, and
    /// so are assignments to app roles the app no longer has. Reads only.
    ///
    /// `--output json` prints `{"schema": "fedsync.access/v1", "roles": [...],
    /// "orphaned_assignments": [...]}`; `--output csv` one row per user, role and path, for
    /// access reviews.
    List(Box<AccessListArgs>),

    /// Let a user or group assume a role: add them to the role's synced group.
    ///
    /// Membership stays the one source of truth; `--direct` makes a direct app role assignment
    /// instead. The role is named by its display name, its ARN, or `account:role`. An unknown
    /// role, user or group exits 2 with the closest matches; granting what is already granted
    /// writes nothing and says so.
    Grant(Box<AccessChangeArgs>),

    /// Take a role away: remove the user or group from the role's synced group (or, with
    /// `--direct`, remove their direct assignment).
    ///
    /// Revoking what is not granted writes nothing and says so, and points at a direct
    /// assignment that still grants the role.
    Revoke(Box<AccessChangeArgs>),
}

/// How `fedsync access list` prints.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum AccessOutput {
    /// For people: each role, its synced group, and its holders.
    #[default]
    Text,
    /// For programs: schema `fedsync.access/v1`.
    Json,
    /// For access reviews: one row per (user, account, role, via), with a header.
    Csv,
}

#[derive(Debug, Args)]
pub struct AccessListArgs {
    /// Only the roles of this AWS account.
    #[arg(long, value_name = "ID")]
    pub account: Option<String>,

    /// Only roles matching this pattern (`*` and `?`; case ignored), tried against the display
    /// name, the role name, the role ARN and `account:role`.
    #[arg(long, value_name = "PATTERN")]
    pub role: Option<String>,

    /// Only what this user (user principal name) holds, or what is held through this group
    /// (display name).
    #[arg(long, value_name = "UPN|GROUP")]
    pub principal: Option<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = AccessOutput::Text)]
    pub output: AccessOutput,

    #[command(flatten)]
    pub settings: AccessSettingsArgs,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("principal").required(true).args(["user", "group"])))]
pub struct AccessChangeArgs {
    /// The role: its display name, its role ARN, or `account:role`.
    #[arg(long, value_name = "ROLE")]
    pub role: String,

    /// The user, by user principal name (or object id).
    #[arg(long, value_name = "UPN")]
    pub user: Option<String>,

    /// The group, by display name.
    #[arg(long, value_name = "NAME")]
    pub group: Option<String>,

    /// A direct app role assignment instead of membership of the role's synced group.
    #[arg(long)]
    pub direct: bool,

    /// Print what would change; write nothing.
    #[arg(long)]
    pub dry_run: bool,

    #[command(flatten)]
    pub settings: AccessSettingsArgs,
}

/// The settings `fedsync access` reads: Entra's, and the group naming convention.
#[derive(Debug, Args)]
pub struct AccessSettingsArgs {
    #[command(flatten)]
    pub entra: EntraArgs,

    /// Group display names, with the placeholders of the naming convention. Default: the
    /// role's display name.
    #[arg(long, value_name = "CONVENTION")]
    pub group_naming_convention: Option<String>,
}

impl AccessSettingsArgs {
    pub fn flags(&self) -> Flags {
        let mut flags = Flags::default();
        self.entra.add_to(&mut flags);
        flags.set(
            "group-naming-convention",
            self.group_naming_convention.as_deref(),
        );
        flags
    }
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print every setting's effective value and where it came from; check them all.
    ///
    /// Reads the settings like `fedsync sync` does (flags, environment, SSM parameters under
    /// --ssm-prefix, the --config file, defaults) and the credential (FEDSYNC_CLIENT_SECRET, or
    /// the Secrets Manager secret credentials-secret names). Secrets print as `****`, unset
    /// settings as `-`. `--output json` prints an array of
    /// `{"name", "value", "source", "problem"}` (`value` and `problem` may be null).
    ///
    /// Exits 0 when every setting `fedsync sync` needs is valid, 2 otherwise: the table is
    /// printed first, bad rows marked `!`, then each problem on stderr. Writes nothing.
    Show(Box<ConfigShowArgs>),
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Plan and print, write nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Accept a plan that disables more roles than max-removals, for this run only.
    #[arg(long)]
    pub allow_removals: bool,

    /// Let go of the held roles of these accounts (comma-separated ids), for this run only.
    ///
    /// Their app roles are disabled (already disabled ones dropped) whatever held them —
    /// excluded, suspended, can't tell, unknown certificate, not made by fedsync — except a
    /// failed read. Counted by max-removals.
    #[arg(long, value_name = "ID,...", value_delimiter = ',')]
    pub release_held: Vec<String>,

    /// Report format: a table for people, or one JSON summary line (the default when stdout is
    /// not a terminal, as in a container).
    #[arg(long, value_enum)]
    pub output: Option<OutputFormat>,

    #[command(flatten)]
    pub settings: SettingsArgs,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A role ARN (`arn:aws:iam::123456789012:role/Admin`) or an account id.
    pub target: String,

    /// Output format (JSON: schema `fedsync.explain/v1`).
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup's key (as `fedsync backups list` prints it), or `latest`.
    pub key: String,

    #[command(flatten)]
    pub run: SyncArgs,
}

/// Every settings flag: what `sync` reads and `config show` prints.
#[derive(Debug, Args)]
pub struct SettingsArgs {
    #[command(flatten)]
    pub entra: EntraArgs,

    #[command(flatten)]
    pub aws: AwsArgs,

    #[command(flatten)]
    pub plan: PlanSettingsArgs,

    #[command(flatten)]
    pub backup: BackupArgs,

    #[command(flatten)]
    pub certificates: CertificateArgs,
}

impl SettingsArgs {
    pub fn flags(&self) -> Flags {
        let mut flags = Flags::default();
        self.entra.add_to(&mut flags);
        self.aws.add_to(&mut flags);
        self.plan.add_to(&mut flags);
        self.backup.add_to(&mut flags);
        self.certificates.add_to(&mut flags);
        flags
    }
}

/// The SAML signing certificates: when a sync warns, and how `rotate` writes.
#[derive(Debug, Args)]
pub struct CertificateArgs {
    /// Warn this many days before a SAML provider of ours is left with no valid configured
    /// certificate (0-3650).
    #[arg(long, value_name = "DAYS")]
    pub certificate_warn_days: Option<String>,

    /// The role `fedsync rotate` assumes in each account to update its SAML provider
    /// (cfn/provider-writer-role.yaml).
    #[arg(long, value_name = "NAME")]
    pub provider_writer_role: Option<String>,
}

impl CertificateArgs {
    pub fn add_to(&self, flags: &mut Flags) {
        flags.set(
            "certificate-warn-days",
            self.certificate_warn_days.as_deref(),
        );
        flags.set("provider-writer-role", self.provider_writer_role.as_deref());
    }
}

#[derive(Debug, Args)]
pub struct ConfigShowArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    #[command(flatten)]
    pub settings: SettingsArgs,
}

#[derive(Debug, Args)]
pub struct InventoryArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Args)]
pub struct ProvidersArgs {
    /// Count only this app's providers (the settings' app name); every app by default.
    #[arg(long, value_name = "NAME")]
    pub app: Option<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Args)]
pub struct RotateArgs {
    /// The new federation metadata XML, as Entra publishes it for the app.
    #[arg(long, value_name = "FILE")]
    pub metadata: std::path::PathBuf,

    /// The app to rotate (the settings' app name); needed when the settings name several.
    #[arg(long, value_name = "NAME")]
    pub app: Option<String>,

    /// Print what would change and write nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// A certificate (SHA-256) providers may lose although it is still valid; repeatable.
    ///
    /// Only once Entra no longer signs with it: whoever signs in with it is locked out.
    #[arg(long, value_name = "SHA256")]
    pub drop_certificate: Vec<String>,

    /// The role assumed in each account to update its SAML provider.
    #[arg(long, value_name = "NAME")]
    pub provider_writer_role: Option<String>,

    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Settings of the Entra side: tenant, cloud, the sync app and the AWS app.
#[derive(Debug, Args)]
pub struct EntraArgs {
    /// The Entra tenant: its id (a GUID) or its domain name.
    #[arg(long, value_name = "TENANT")]
    pub tenant_id: Option<String>,

    /// The Microsoft cloud: global, usgov or china.
    #[arg(long, value_name = "CLOUD")]
    pub cloud: Option<String>,

    /// Token authority base URL (default: the cloud's).
    #[arg(long, value_name = "URL")]
    pub authority_url: Option<String>,

    /// Microsoft Graph base URL (default: the cloud's).
    #[arg(long, value_name = "URL")]
    pub graph_url: Option<String>,

    /// The sync app's application (client) id.
    #[arg(long, value_name = "GUID")]
    pub client_id: Option<String>,

    /// The Secrets Manager secret (name or ARN) holding the sync app's credential.
    ///
    /// JSON: `{"client_secret": "..."}` or `{"certificate_pem": "...", "private_key_pem":
    /// "..."}`. FEDSYNC_CLIENT_SECRET, for local use, beats it.
    #[arg(long, value_name = "SECRET")]
    pub credentials_secret: Option<String>,

    /// How the sync app signs in: secret, certificate or aws-federation (recommended: no secret;
    /// a JWT from AWS STS GetWebIdentityToken that the app's federated credential trusts).
    #[arg(long, value_name = "KIND")]
    pub credential: Option<String>,

    /// With aws-federation: the JWT's audience (default: the cloud's, api://AzureADTokenExchange).
    #[arg(long, value_name = "AUDIENCE")]
    pub federation_audience: Option<String>,

    /// Object id of the AWS app's service principal.
    #[arg(long, value_name = "GUID")]
    pub service_principal_id: Option<String>,

    /// Only this app of the settings' apps (`[apps.NAME]`; `default` is the one outside them).
    ///
    /// Without it, sync and plan take every app; restore, access and setup need it when the
    /// settings name more than one.
    #[arg(long, value_name = "NAME")]
    pub app: Option<String>,

    /// Assign each group to its app role: true or false.
    #[arg(long, value_name = "BOOL")]
    pub assign_groups: Option<String>,

    /// Owner (object id) of created groups (default: the sync app's own service principal).
    #[arg(long, value_name = "GUID")]
    pub group_owner_id: Option<String>,
}

impl EntraArgs {
    pub fn add_to(&self, flags: &mut Flags) {
        flags.set("tenant-id", self.tenant_id.as_deref());
        flags.set("cloud", self.cloud.as_deref());
        flags.set("authority-url", self.authority_url.as_deref());
        flags.set("graph-url", self.graph_url.as_deref());
        flags.set("client-id", self.client_id.as_deref());
        flags.set("credentials-secret", self.credentials_secret.as_deref());
        flags.set("credential", self.credential.as_deref());
        flags.set("federation-audience", self.federation_audience.as_deref());
        flags.set("service-principal-id", self.service_principal_id.as_deref());
        flags.set("assign-groups", self.assign_groups.as_deref());
        flags.set("group-owner-id", self.group_owner_id.as_deref());
    }
}

#[derive(Debug, Args)]
pub struct ShardPlanArgs {
    /// Inventory snapshot JSON (`fedsync inventory --output json`) instead of reading AWS; `-`
    /// reads standard input.
    #[arg(long, value_name = "FILE")]
    pub inventory: Option<PathBuf>,

    /// Split into exactly this many apps (default: as many as needed).
    #[arg(long, value_name = "N")]
    pub apps: Option<usize>,

    /// Fill each app up to this share of max-app-roles, leaving room to grow (0 < F ≤ 1).
    #[arg(long, value_name = "F", default_value = "0.8")]
    pub target_fill: String,

    /// Also say how many apps the Organization would need if its roles grew by this factor.
    #[arg(long, value_name = "F", default_value = "1.5")]
    pub growth: String,

    /// Most manifest entries one app holds (app roles and the collections sharing the cap).
    #[arg(long, value_name = "N")]
    pub max_app_roles: Option<String>,

    /// Output format: a table and the StackSet commands, or JSON (schema
    /// fedsync.shard-plan/v1).
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    #[command(flatten)]
    pub aws: AwsArgs,
}

/// Settings that decide which accounts, providers and roles an inventory reads.
#[derive(Debug, Args)]
pub struct AwsArgs {
    /// The SAML issuer of our Entra app: its metadata's entityID, `https://sts.windows.net/<tenant>/`.
    #[arg(long, value_name = "URL")]
    pub saml_entity_id: Option<String>,

    /// SHA-256 thumbprints of our app's SAML signing certificates, comma-separated.
    ///
    /// A SAML provider matches when its metadata has our entity id and one of these
    /// certificates; give the old and the new one during a certificate rotation.
    #[arg(long, value_name = "SHA256,...", value_delimiter = ',')]
    pub saml_certificates: Vec<String>,

    /// The SAML:aud values a sign-in through our Entra app carries (its reply URLs),
    /// comma-separated; `*` matches any run of characters.
    ///
    /// Trust policy conditions on SAML:aud are evaluated at these: an Allow that holds at none
    /// of them lets nobody in, a Deny that holds at none of them shuts nobody out.
    #[arg(long, value_name = "URL,...", value_delimiter = ',')]
    pub saml_audiences: Vec<String>,

    /// The read-only role fedsync assumes in each account.
    ///
    /// The PowerShell original named it `AWS_IAM_AAD_UpdateTask_CrossAccountRole`.
    #[arg(long, value_name = "ROLE NAME")]
    pub cross_account_role: Option<String>,

    /// External id for AssumeRole, when the reader roles require one.
    #[arg(long, value_name = "ID")]
    pub external_id: Option<String>,

    /// Read only these accounts, comma-separated (default: every active account).
    #[arg(long, value_name = "ID,...", value_delimiter = ',')]
    pub include_accounts: Vec<String>,

    /// Never read these accounts, comma-separated.
    #[arg(long, value_name = "ID,...", value_delimiter = ',')]
    pub exclude_accounts: Vec<String>,

    /// Accounts read at once, 1 to 256.
    #[arg(long, value_name = "N")]
    pub concurrency: Option<String>,
}

impl AwsArgs {
    pub fn add_to(&self, flags: &mut Flags) {
        flags.set("saml-entity-id", self.saml_entity_id.as_deref());
        flags.set_list("saml-certificates", &self.saml_certificates);
        flags.set_list("saml-audiences", &self.saml_audiences);
        flags.set("cross-account-role", self.cross_account_role.as_deref());
        flags.set("external-id", self.external_id.as_deref());
        flags.set_list("include-accounts", &self.include_accounts);
        flags.set_list("exclude-accounts", &self.exclude_accounts);
        flags.set("concurrency", self.concurrency.as_deref());
    }
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Inventory snapshot JSON: per account its federated roles, or why it could not be read.
    ///
    /// `-` reads standard input. Without --inventory and --manifest, plan reads AWS and Graph
    /// live, as `sync --dry-run` does.
    #[arg(long, value_name = "FILE", requires = "manifest")]
    pub inventory: Option<PathBuf>,

    /// The AWS app's service principal JSON, as `GET /servicePrincipals/{id}` returns it.
    ///
    /// `-` reads standard input. With several apps, once per app as `NAME=FILE`: each plans the
    /// roles whose providers carry its certificates.
    #[arg(long, value_name = "[NAME=]FILE", requires = "inventory")]
    pub manifest: Vec<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    /// Accept a plan that disables more roles than --max-removals, for this run only.
    #[arg(long)]
    pub allow_removals: bool,

    /// Plan to let go of the held roles of these accounts, as `sync --release-held` would.
    #[arg(long, value_name = "ID,...", value_delimiter = ',')]
    pub release_held: Vec<String>,

    #[command(flatten)]
    pub settings: SettingsArgs,
}

/// Settings that shape a plan.
#[derive(Debug, Args)]
pub struct PlanSettingsArgs {
    /// App role display names: `{0}`/`{account_id}`, `{1}`/`{role_name}`, `{account_name}`,
    /// `{role_path}`; `{{` and `}}` for literal braces.
    ///
    /// Must name the role and the account, so two roles never share a name.
    #[arg(long, value_name = "CONVENTION")]
    pub naming_convention: Option<String>,

    /// Group display names, with the same placeholders. Default: the role's display name.
    #[arg(long, value_name = "CONVENTION")]
    pub group_naming_convention: Option<String>,

    /// Plan one security group per role: true or false.
    #[arg(long, value_name = "BOOL", action = ArgAction::Set)]
    pub create_groups: Option<String>,

    /// Most roles one run may disable: a count (`5`) or a share of the enabled roles (`10%`,
    /// rounded up).
    ///
    /// A plan over it is refused (exit 3) unless --allow-removals is given.
    #[arg(long, value_name = "N|P%")]
    pub max_removals: Option<String>,

    /// Most manifest entries the service principal may hold: app roles plus the collections
    /// that share Graph's cap of 1200 (keyCredentials, oauth2PermissionScopes, replyUrls,
    /// servicePrincipalNames).
    #[arg(long, value_name = "N")]
    pub max_app_roles: Option<String>,
}

impl PlanSettingsArgs {
    pub fn add_to(&self, flags: &mut Flags) {
        flags.set("naming-convention", self.naming_convention.as_deref());
        flags.set(
            "group-naming-convention",
            self.group_naming_convention.as_deref(),
        );
        flags.set("create-groups", self.create_groups.as_deref());
        flags.set("max-removals", self.max_removals.as_deref());
        flags.set("max-app-roles", self.max_app_roles.as_deref());
    }
}

/// Where the service principal backups go.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// S3 bucket for the backups of the service principal, taken before every write.
    #[arg(long, value_name = "BUCKET")]
    pub backup_bucket: Option<String>,

    /// Key prefix of the backups.
    #[arg(long, value_name = "PREFIX")]
    pub backup_prefix: Option<String>,

    /// KMS key id or ARN for SSE-KMS (default: the bucket's default encryption).
    #[arg(long, value_name = "KEY")]
    pub backup_kms_key: Option<String>,
}

impl BackupArgs {
    pub fn add_to(&self, flags: &mut Flags) {
        flags.set("backup-bucket", self.backup_bucket.as_deref());
        flags.set("backup-prefix", self.backup_prefix.as_deref());
        flags.set("backup-kms-key", self.backup_kms_key.as_deref());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::table::SETTINGS;

    /// Every long flag of every subcommand.
    fn all_args(command: &clap::Command) -> Vec<clap::Arg> {
        let mut args: Vec<clap::Arg> = command.get_arguments().cloned().collect();
        for sub in command.get_subcommands() {
            args.extend(all_args(sub));
        }
        args
    }

    #[test]
    fn the_command_line_is_well_formed() {
        command().debug_assert();
    }

    #[test]
    fn every_settings_flag_is_on_config_show_and_its_help_names_the_env_var() {
        let command = command();
        let show = command
            .find_subcommand("config")
            .and_then(|c| c.find_subcommand("show"))
            .unwrap();
        let show_flags: Vec<&str> = show.get_arguments().filter_map(|a| a.get_long()).collect();
        let args = all_args(&command);
        for setting in SETTINGS {
            let Some(flag) = setting.flag else { continue };
            let long = &flag[2..];
            assert!(
                show_flags.contains(&long) || setting.name == "log-format",
                "config show has no {flag}"
            );
            for arg in args.iter().filter(|a| a.get_long() == Some(long)) {
                let help = arg.get_help().unwrap().to_string();
                assert!(help.contains(setting.env), "{flag}: {help}");
            }
        }
    }

    #[test]
    fn config_show_passes_every_settings_flag_through_under_its_setting_name() {
        let mut argv = vec!["fedsync".to_owned(), "config".into(), "show".into()];
        for setting in SETTINGS {
            if let Some(flag) = setting.flag.filter(|_| setting.name != "log-format") {
                argv.push(flag.to_owned());
                argv.push(format!("v-{}", setting.name));
            }
        }
        let cli = Cli::from_arg_matches(&command().get_matches_from(argv)).unwrap();
        let Command::Config(ConfigCommand::Show(args)) = cli.command else {
            panic!("not config show")
        };
        for entry in args.settings.flags().entries() {
            assert_eq!(entry.value.expose(), format!("v-{}", entry.key));
        }
        let given = SETTINGS.iter().filter(|s| s.flag.is_some()).count() - 1;
        assert_eq!(args.settings.flags().entries().len(), given);
    }
}
