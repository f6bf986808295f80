//! fedsync keeps the Microsoft Entra ID enterprise application for AWS in step with the IAM
//! roles of every account of an AWS Organization.
//!
//! Layout (functional core, imperative shell; see DESIGN.md):
//! - [`model`]: ids, ARNs, app roles, the service principal manifest, the inventory snapshot.
//! - [`naming`]: naming conventions for app roles and groups, group mail nicknames.
//! - [`trust`]: whether a role's trust policy lets a user of our Entra app in through each
//!   SAML provider: yes, no or can't tell, decided as IAM evaluates it.
//! - [`metadata`]: SAML federation metadata: entity id, signing certificates, and whether a
//!   provider is our Entra app's.
//! - [`explain`]: why a role or provider got its verdict, as text and JSON.
//! - [`plan`]: desired vs current app roles → a [`plan::Plan`] (changes and holds), its
//!   guardrails and renderings.
//! - [`access`]: who holds which synced role, and what a grant or revoke changes.
//!
//! The modules above are pure: no I/O, no clock, no async. The binary (`src/main.rs` and
//! [`cli`]) reads files and prints; [`exit`] maps outcomes to exit codes. [`settings`] loads
//! every setting from flags, environment, SSM and the config file, and validates them all before
//! a command acts; [`aws`] and [`graph`] are the adapters to the two clouds. [`sync`] wires one
//! run (lease → inventory → current state → plan → guardrails → [`backup`] → apply → verify →
//! report); [`lease`] keeps runs from overlapping. [`setup`] is the first-time configuration
//! that writes the settings sync reads.

pub mod access;
pub mod aws;
pub mod backup;
pub mod cli;
pub mod commands;
pub mod directory;
pub mod error_text;
pub mod exit;
pub mod explain;
pub mod graph;
pub mod lease;
pub mod logging;
pub mod metadata;
pub mod model;
pub mod naming;
pub mod plan;
pub mod printer;
pub mod settings;
pub mod setup;
pub mod store;
pub mod sync;
#[cfg(test)]
mod test_support;
pub mod trust;
