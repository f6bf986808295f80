//! printer: the one place that writes to stdout. stdout carries data only (plans, JSON,
//! completions); logs, warnings and errors go to stderr.

use std::io::{self, Write};

/// Writes `text` to stdout. A closed pipe (`fedsync plan | head`) is not an error.
pub fn stdout(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}
