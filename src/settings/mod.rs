//! settings: every setting of DESIGN.md's table, from every source — flag > `FEDSYNC_*`
//! environment > SSM parameter under `FEDSYNC_SSM_PREFIX` > TOML file (`--config`) > default —
//! validated before anything is written, each problem named with its setting and source.
//!
//! The typed results below are what the commands consume; how they are loaded lives beside them.

use crate::aws::InventorySettings;
use crate::graph::{Cloud, Credential};
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
    /// Assign each group to its app role.
    pub assign_groups: bool,
    /// Owner of created groups (object id); none means the sync app's own service principal.
    pub group_owner_id: Option<String>,
    pub backup: BackupSettings,
}
