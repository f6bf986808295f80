//! settings: every setting of DESIGN.md's table, from every source — flag > `FEDSYNC_*`
//! environment > SSM parameter under `FEDSYNC_SSM_PREFIX` > TOML file (`--config`) > default —
//! validated before anything is written, each problem named with its setting and source.
//!
//! - [`table`]: the one list of settings (name, flag, env, SSM/file, default, secret, meaning).
//! - [`layers`]: raw values with their [`Source`], and the merge by precedence (pure).
//! - [`sources`]: the readers: the TOML file, SSM parameters, the credential's secret.
//! - [`load`]: all sources into [`Settings`] (raw values, not yet parsed).
//! - [`build`]: the typed settings below, every problem at once ([`Problems`]).
//! - [`show`]: `fedsync config show`'s table and JSON.
//!
//! Secret values live in `SecretString` from the moment they are read; `Debug`, problems and
//! `config show` print `****`. Nothing here writes anywhere.
//!
//! ```no_run
//! # async fn example(sdk: &aws_config::SdkConfig) -> anyhow::Result<()> {
//! use fedsync::settings::{Env, Inputs, Settings};
//! let inputs = Inputs { env: Env::from_process(), ..Inputs::default() };
//! let settings = Settings::load(&inputs, Some(sdk)).await?;
//! let inventory = settings.inventory()?; // or every problem, each on its own line
//! # Ok(()) }
//! ```

pub mod build;
pub mod layers;
pub mod load;
pub mod problem;
pub mod show;
pub mod sources;
pub mod table;

pub use build::{CredentialKind, ResolvedCredential, log_format};
pub use layers::{Env, Flags, RawValue, Resolved, Source};
pub use load::{Inputs, Settings};
pub use problem::{Problem, Problems};
pub use sources::LoadError;

use crate::aws::InventorySettings;
use crate::graph::{Cloud, Credential, GraphSettings};
use crate::naming::NamingConvention;
use crate::plan::PlanSettings;
use crate::plan::guardrail::Guardrails;

/// Where the S3 backups (and the run lease) go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupSettings {
    pub bucket: String,
    /// Key prefix, `manifests/` by default; ends with `/` or is empty.
    pub prefix: String,
    /// KMS key id or ARN for SSE-KMS; none means the bucket's default encryption.
    pub kms_key: Option<String>,
}

/// Everything `fedsync access` needs, validated.
#[derive(Clone, Debug)]
pub struct AccessSettings {
    pub graph: GraphSettings,
    /// The AWS app's service principal object id.
    pub service_principal_id: String,
    /// Group display names; `None` gives each group its role's display name.
    pub group_naming: Option<NamingConvention>,
    /// Who owns the groups fedsync stands behind; none means the sync app's own service
    /// principal.
    pub group_owner_id: Option<crate::model::ObjectId>,
}

/// Everything `fedsync sync` needs, validated.
#[derive(Clone, Debug)]
pub struct SyncSettings {
    pub tenant_id: String,
    pub cloud: Cloud,
    pub authority_url: String,
    pub graph_url: String,
    pub client_id: String,
    /// From `FEDSYNC_CLIENT_SECRET` or the Secrets Manager secret; never printed.
    pub credential: Credential,
    /// The AWS app's service principal object id.
    pub service_principal_id: String,
    pub inventory: InventorySettings,
    pub plan: PlanSettings,
    pub guardrails: Guardrails,
    /// Owner of created groups (object id); none means the sync app's own service principal,
    /// looked up by its client id before the first group is created.
    pub group_owner_id: Option<crate::model::ObjectId>,
    pub backup: BackupSettings,
    /// `certificate-warn-days`: how long before the earliest SAML certificate expiry a sync
    /// warns.
    pub certificate_warn_days: u32,
}

impl SyncSettings {
    /// What the Graph client needs.
    pub fn graph(&self) -> GraphSettings {
        GraphSettings {
            tenant_id: self.tenant_id.clone(),
            client_id: self.client_id.clone(),
            credential: self.credential.clone(),
            authority_url: self.authority_url.clone(),
            graph_url: self.graph_url.clone(),
        }
    }
}
