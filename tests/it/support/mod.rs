//! support: running the `fedsync` binary, checking its exit code and formatting what it did for
//! snapshots; the AWS emulator (`moto`), a fault-injecting proxy in front of it (`proxy`), AWS
//! outbound identity federation in front of it (`outbound_federation`, the try-out's fake),
//! seeding (`org`), a Graph client sleeper that records its waits (`sleep`), and reading the
//! CloudFormation templates (`cfn`).

pub mod cfn;
pub mod moto;
pub mod org;
#[path = "../../../examples/outbound-federation/fake.rs"]
pub mod outbound_federation;
pub mod proxy;
pub mod sleep;

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

/// A directory object id from a test constant.
pub fn oid(id: &str) -> fedsync::model::ObjectId {
    id.parse().expect("a test object id")
}

/// The repository's `examples/` folder.
pub fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
}

/// `fedsync` with a clean environment: no `FEDSYNC_*` variable leaks in from the caller.
pub fn fedsync() -> Command {
    Command::from_std(fedsync_process())
}

/// [`fedsync`] as a `std::process::Command`, for a run the test starts and waits for itself.
pub fn fedsync_process() -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin!("fedsync"));
    for (key, _) in std::env::vars() {
        if key.starts_with("FEDSYNC_") {
            cmd.env_remove(key);
        }
    }
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd
}

/// Exit code, stdout and stderr together, for `insta::assert_snapshot!`.
pub fn transcript(output: &Output) -> String {
    format!(
        "exit code: {}\n----- stdout -----\n{}----- stderr -----\n{}",
        output
            .status
            .code()
            .map_or("signal".to_owned(), |c| c.to_string()),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    )
}

/// Asserts the exit code, showing stdout and stderr when it is another; returns stdout.
#[track_caller]
pub fn assert_exit(output: &Output, code: i32) -> String {
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(output),
        stderr(output)
    );
    stdout(output)
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The error `main` printed: its `error:` line and each `Caused by:` line, in order. Asserts that
/// there is one error and that no line repeats a later cause's text (each cause printed once).
pub fn error_chain(output: &Output) -> Vec<String> {
    let err = stderr(output);
    let starts = err.lines().filter(|l| l.starts_with("error: ")).count();
    assert_eq!(starts, 1, "one error:\n{err}");
    let lines: Vec<String> = err
        .lines()
        .skip_while(|l| !l.starts_with("error: "))
        .map(|l| {
            l.strip_prefix("error: ")
                .or_else(|| l.strip_prefix("  Caused by: "))
                .unwrap_or_else(|| panic!("{l:?} is neither error: nor Caused by:\n{err}"))
                .to_owned()
        })
        .collect();
    for (i, line) in lines.iter().enumerate() {
        for later in &lines[i + 1..] {
            assert!(
                !line.contains(later.as_str()),
                "{line:?} repeats its cause {later:?}:\n{err}"
            );
        }
    }
    lines
}
