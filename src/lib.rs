//! fedsync keeps the Microsoft Entra ID enterprise application for AWS in step with the IAM
//! roles of every account of an AWS Organization.
//!
//! Layout (functional core, imperative shell; see DESIGN.md). The pure core — no I/O, no clock,
//! no async — decides everything:
//! - [`model`]: ids, ARNs, app roles, the service principal manifest, the inventory snapshot,
//!   directory objects (groups, assignments, users) and [`model::Current`], the state record.
//! - [`naming`]: naming conventions for app roles and groups, group mail nicknames.
//! - [`trust`]: whether a role's trust policy lets a user of our Entra app in through each
//!   SAML provider: yes, no or can't tell, decided as IAM evaluates it.
//! - [`metadata`]: SAML federation metadata: entity id, signing certificates, and whether a
//!   provider is our Entra app's.
//! - [`plan`]: inventory and current state → a [`plan::Plan`]: app roles, holds, groups
//!   ([`plan::groups`], group identity for sync and access), assignments, records; its
//!   guardrails, its [`plan::steps`] in the safe order, and its renderings.
//! - [`explain`]: why a role or provider got its verdict, as text and JSON.
//! - [`providers`]: every account's SAML providers as a certificate rotation sees them: whose,
//!   which configured certificates they lack, when they expire, who a switch would lock out.
//! - [`rotate`]: a SAML certificate rotation: the new metadata checked against the app, which
//!   providers it updates, and the rule no write may break (never take a valid certificate
//!   away unless told to), decided again before each write and checked on the read-back.
//! - [`access`]: who holds which synced role, and what a grant or revoke changes.
//! - [`shard`]: which OUs go to which Entra app when one app cannot hold every role, each app
//!   within its target, accounts kept where they live: the split behind `shard-plan`.
//!
//! The shell carries the decisions out. The binary (`src/main.rs`, [`cli`], [`commands`])
//! parses and prints through [`printer`]; [`exit`] maps outcomes to exit codes; [`logging`] sets
//! up tracing. [`settings`] loads and checks every setting before a command acts. [`aws`] reads
//! the inventory and writes a rotation's SAML providers ([`aws::rotate`], through the opt-in
//! writer role); [`graph`] talks to Microsoft Graph. [`directory`] (the Graph side of a run)
//! and [`store`] (lease, [`backup`]s and the state record in S3, with [`lease`]) are the two
//! seams, each a trait with an in-memory twin for tests. [`sync`] runs one sync or restore:
//! lease → inventory → current state → plan → guardrails → backup → steps → verify → report.
//! [`setup`] is the first-time configuration that writes the settings sync reads.

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
pub mod providers;
pub mod rotate;
pub mod settings;
pub mod setup;
pub mod shard;
pub mod store;
pub mod sync;
#[cfg(test)]
mod test_support;
pub mod trust;
