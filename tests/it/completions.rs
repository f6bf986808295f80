//! `fedsync completions <shell>`.

use crate::support::{fedsync, stdout};

#[test]
fn bash_completions_know_the_subcommands_and_flags() {
    let out = fedsync().args(["completions", "bash"]).output().unwrap();
    assert!(out.status.success());
    let script = stdout(&out);
    assert!(
        script.contains("complete -F _fedsync"),
        "not a bash completion script"
    );
    assert!(script.contains("--inventory") && script.contains("--max-removals"));
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let out = fedsync().args(["completions", "cmd.exe"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}
