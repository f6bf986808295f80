//! model: the values fedsync reasons about — ids, ARNs, app roles, the service principal
//! manifest, the inventory snapshot, and the directory objects around them (groups,
//! assignments, users).
//!
//! Every id or ARN is a newtype whose one constructor validates; `Display` prints it back in
//! canonical form. Pure: no I/O, no clock, no async.

mod account;
mod app;
mod app_role;
mod arn;
mod directory;
mod inventory;
mod manifest;
mod routing;
mod state;
mod thumbprint;

use std::fmt;

pub use account::{AccountId, Partition};
pub use app::{AppName, MAX_APP_NAME};
pub use app_role::{
    AppRole, AppRoleId, AwsRoleValue, GRAPH_MAX_VALUE_LEN, ValueProblem, check_graph_value,
};
pub use arn::{MAX_PROVIDER_NAME, MAX_ROLE_NAME, RoleArn, RoleName, SamlProviderArn};
pub use directory::{
    Assignment, AssignmentId, Current, Group, Member, MembershipChange, NewGroup, ObjectId,
    PrincipalType, User,
};
pub use inventory::{
    AccountInventory, AccountOutcome, Certificate, FailureStage, IamRole, Inventory,
    InventoryError, Listing, ProviderVerdict, SamlProvider, SkipReason, Trust, TrustVerdict,
};
pub use manifest::{COLLECTIONS_SHARING_THE_CAP, ManifestError, ServicePrincipal};
pub use routing::Routing;
pub use state::{RemovedAssignment, STATE_SCHEMA, StateError, SyncState};
pub use thumbprint::Thumbprint;

/// A value that does not parse: what it should have been, the input, and why not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    what: &'static str,
    input: String,
    problem: String,
}

impl ParseError {
    pub(crate) fn new(what: &'static str, input: &str, problem: impl Into<String>) -> Self {
        ParseError {
            what,
            input: input.to_owned(),
            problem: problem.into(),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid {} {:?}: {}",
            self.what, self.input, self.problem
        )
    }
}

impl std::error::Error for ParseError {}

/// A JSON document that does not fit its type, with the path to the place that broke.
#[derive(Debug, thiserror::Error)]
#[error("{}", if path == "." { "the document does not fit".to_owned() } else { format!("the value at {path} does not fit") })]
pub struct JsonError {
    pub path: String,
    #[source]
    pub source: serde_json::Error,
}

/// Deserialises `text`, naming the path (`appRoles[2].id`) of the first value that does not fit.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, JsonError> {
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| JsonError {
        path: e.path().to_string(),
        source: e.into_inner(),
    })
}
