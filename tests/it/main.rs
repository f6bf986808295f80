//! Integration tests: the `fedsync` binary as a user runs it. One test binary; each module
//! covers one command, `support` holds what they share.

mod support;

mod completions;
mod inventory;
mod plan_command;
