//! error_text: fedsync's one error strategy. An error names the input that failed and carries
//! its cause as `#[source]`, never pasted into its own text; `main` prints `error: …` and one
//! `Caused by:` line per cause. [`Cause`] is the innermost cause when it is only text (an AWS
//! service's `Code: message`, a check fedsync made). [`chain`] joins an error and its causes as
//! one line, `outer: cause: root cause`, for logs and reports, skipping a cause whose text the
//! line already holds (some libraries repeat their source in their message).

/// The innermost cause of a failure, as text: what a service answered (with its error code when
/// it gave one) or what went wrong on the way.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{text}")]
pub struct Cause {
    /// The service's error code (`AccessDenied`, `PreconditionFailed`), when it answered with one.
    pub code: Option<String>,
    text: String,
}

impl Cause {
    pub fn new(text: impl Into<String>) -> Cause {
        Cause {
            code: None,
            text: text.into(),
        }
    }

    pub fn with_code(code: Option<String>, text: impl Into<String>) -> Cause {
        Cause {
            code,
            text: text.into(),
        }
    }
}

impl From<String> for Cause {
    fn from(text: String) -> Cause {
        Cause::new(text)
    }
}

impl From<&str> for Cause {
    fn from(text: &str) -> Cause {
        Cause::new(text)
    }
}

/// The error and each of its causes, joined by `: `.
pub fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] Middle);
    #[derive(Debug, thiserror::Error)]
    #[error("middle: root")]
    struct Middle(#[source] Root);
    #[derive(Debug, thiserror::Error)]
    #[error("root")]
    struct Root;

    #[test]
    fn causes_are_joined_once_each() {
        assert_eq!(super::chain(&Outer(Middle(Root))), "outer: middle: root");
    }
}
