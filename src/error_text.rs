//! error_text: an error and its causes as one line, `outer: cause: root cause`, skipping a cause
//! whose text the line already holds (many libraries repeat their source in their message).

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
