//! Integration tests: the `fedsync` binary (and the library's shell) as a user runs them, against
//! moto and the Graph emulator. One test binary; `support` holds what the modules share.
//!
//! - `inventory`, `plan_command`, `sync_run`, `access`, `config`, `setup`, `completions`: one
//!   command each (`sync_run` also restore and backups).
//! - `holds`: what fedsync cannot decide is held (issue 13); `assignments`: groups and
//!   assignments planned and brought back (issue 14).
//! - `backup_lease`: the backup and the run lease in S3; `lease`: runs excluding each other
//!   through the binary (two at once, an overrun, a deadline); `policy`: the IAM grants in `cfn/`
//!   against the calls `src/` makes; `grants`: their resources and conditions against what the
//!   code addresses, and the StackSet execution role against what the templates create.
//! - `graph_client`, `graph_batch`: the Graph client against the emulator; `graph_emulator`:
//!   the emulator's own rules, and the harness that runs it in-process; `graph_emulator_fic`:
//!   its federated identity credentials and how it checks a federated JWT (issue 19).
//! - `federation`: `credential = aws-federation` through the binary (issue 19): what STS is
//!   asked, its refusals and Entra's, nothing written, the JWT never printed; a sync with no
//!   secret, through the fake outbound federation; `outbound_federation`: that fake itself.
//! - `shard_plan`: the split of a seeded OU tree across Entra apps (issue 16).
//! - `providers`: the SAML providers of a rotation half done, account by account (issue 18);
//!   `rotate`: the rotation that updates them through the writer role, and its guardrails.

mod support;

mod access;
mod apps;
mod assignments;
mod backup_lease;
mod completions;
mod config;
mod federation;
mod grants;
mod graph_batch;
mod graph_client;
mod graph_emulator;
mod graph_emulator_fic;
mod holds;
mod inventory;
mod lease;
mod outbound_federation;
mod plan_command;
mod policy;
mod providers;
mod rotate;
mod setup;
mod shard_plan;
mod sync_run;
