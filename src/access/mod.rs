//! access: who can assume which synced AWS role, and granting or revoking it — the pure part of
//! `fedsync access list | grant | revoke`.
//!
//! - [`roles`]: the synced roles, their groups' names, naming a role (display name, ARN or
//!   `account:role`) and the closest matches for a name that names nothing.
//! - [`join`]: assignments, groups and members into holders, each with the path by which they
//!   hold the role; the list filters.
//! - [`change`]: what a grant or revoke writes, or why it writes nothing.
//! - [`render`]: text, JSON (`fedsync.access/v1`) and CSV.
//!
//! The settings `access` needs (Graph, not the AWS inventory) are built by
//! [`crate::settings::Settings::access`].
//!
//! "Gone from AWS" is judged from the app role being disabled: sync disables a role whose IAM
//! role is deleted or no longer trusts our provider. Nothing here does I/O; the Graph calls live
//! in `commands/access.rs`.

pub mod change;
pub mod join;
pub mod render;
pub mod roles;

pub use join::{AccessReport, Directory, Filter, Holder, RoleAccess};
pub use roles::{GroupName, SyncedRole, closest, group_name, resolve_role, synced_roles};
