//! Integration tests: the `fedsync` binary as a user runs it. One test binary; each module
//! covers one command, `support` holds what they share. `graph_emulator` tests the Graph
//! emulator example and exports the harness that runs it in-process.

mod support;

mod access;
mod backup_lease;
mod completions;
mod config;
mod graph_batch;
mod graph_client;
mod graph_emulator;
mod holds;
mod inventory;
mod plan_command;
mod policy;
mod setup;
mod sync_run;
