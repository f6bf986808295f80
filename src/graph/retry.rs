//! retry: whether a failed Graph call is tried again, and after how long. Pure: the caller
//! sleeps, in one place, and passes the jitter in.
//!
//! `429` waits what `Retry-After` says (seconds); `500`, `502`, `503`, `504` and transport errors
//! (timeouts, refused connections) back off exponentially with jitter, or wait `Retry-After`
//! when the service gives one. Anything else is final. Every call has a ceiling of attempts.

use std::time::Duration;

/// How hard the client tries.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Attempts per call, the first included.
    pub max_attempts: u32,
    /// Backoff before the second attempt; doubles each time.
    pub base_delay: Duration,
    /// Longest backoff.
    pub max_delay: Duration,
    /// Longest `Retry-After` honoured; a longer one is cut to this.
    pub max_retry_after: Duration,
    /// Time one HTTP request may take.
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(120),
            request_timeout: Duration::from_secs(60),
        }
    }
}

/// How an attempt ended, as far as retrying cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attempt<'a> {
    /// Graph answered with this status and maybe a `Retry-After` header.
    Status {
        status: u16,
        retry_after: Option<&'a str>,
    },
    /// No answer: timeout, refused or reset connection.
    Transport,
}

/// What to do next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Wait this long, then try again.
    RetryAfter(Duration),
    /// Stop: success, a final error, or the ceiling reached.
    Stop,
}

/// Decides after attempt number `attempt` (1 for the first) ended as `outcome`. `jitter` in
/// `[0, 1)` spreads backoffs so many clients do not retry in step.
pub fn decide(policy: &RetryPolicy, attempt: u32, outcome: Attempt<'_>, jitter: f64) -> Decision {
    if attempt >= policy.max_attempts {
        return Decision::Stop;
    }
    let backoff = || {
        let exponent = attempt.saturating_sub(1).min(16);
        let full = policy
            .base_delay
            .saturating_mul(1 << exponent)
            .min(policy.max_delay);
        // "Equal jitter": half fixed, half random, so waits still grow.
        full / 2 + full.mul_f64(jitter.clamp(0.0, 1.0) / 2.0)
    };
    let retry_after = |header: Option<&str>| {
        header
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|secs| Duration::from_secs(secs).min(policy.max_retry_after))
    };
    match outcome {
        Attempt::Status {
            status: 429,
            retry_after: header,
        } => Decision::RetryAfter(retry_after(header).unwrap_or_else(backoff)),
        Attempt::Status {
            status: 500 | 502 | 503 | 504,
            retry_after: header,
        } => Decision::RetryAfter(retry_after(header).unwrap_or_else(backoff)),
        Attempt::Status { .. } => Decision::Stop,
        Attempt::Transport => Decision::RetryAfter(backoff()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(60),
            request_timeout: Duration::from_secs(10),
        }
    }

    fn status(status: u16, retry_after: Option<&str>) -> Attempt<'_> {
        Attempt::Status {
            status,
            retry_after,
        }
    }

    #[test]
    fn throttling_waits_what_retry_after_says() {
        assert_eq!(
            decide(&policy(), 1, status(429, Some("7")), 0.9),
            Decision::RetryAfter(Duration::from_secs(7))
        );
        assert_eq!(
            decide(&policy(), 1, status(429, Some("3600")), 0.0),
            Decision::RetryAfter(Duration::from_secs(60))
        );
        // No or unreadable Retry-After: back off instead.
        assert_eq!(
            decide(&policy(), 1, status(429, None), 0.0),
            Decision::RetryAfter(Duration::from_millis(500))
        );
        assert_eq!(
            decide(
                &policy(),
                1,
                status(429, Some("Wed, 21 Oct 2015 07:28:00 GMT")),
                0.0
            ),
            Decision::RetryAfter(Duration::from_millis(500))
        );
    }

    #[test]
    fn transient_errors_back_off_exponentially_with_jitter_and_a_cap() {
        for s in [500, 502, 503, 504] {
            assert!(
                matches!(
                    decide(&policy(), 1, status(s, None), 0.0),
                    Decision::RetryAfter(_)
                ),
                "{s}"
            );
        }
        let waits: Vec<Decision> = (1..4)
            .map(|a| decide(&policy(), a, Attempt::Transport, 0.0))
            .collect();
        assert_eq!(
            waits,
            [
                Decision::RetryAfter(Duration::from_millis(500)),
                Decision::RetryAfter(Duration::from_secs(1)),
                Decision::RetryAfter(Duration::from_secs(2)),
            ]
        );
        let capped = RetryPolicy {
            max_attempts: 20,
            ..policy()
        };
        let Decision::RetryAfter(wait) = decide(&capped, 10, Attempt::Transport, 0.999_999) else {
            panic!("retried")
        };
        assert!(
            wait > Duration::from_millis(4990) && wait <= Duration::from_secs(5),
            "{wait:?}"
        );
        assert_eq!(
            decide(&policy(), 1, status(503, Some("2")), 0.5),
            Decision::RetryAfter(Duration::from_secs(2))
        );
    }

    #[test]
    fn every_other_status_is_final() {
        for s in [200, 201, 204, 400, 401, 403, 404, 409, 412, 501] {
            assert_eq!(
                decide(&policy(), 1, status(s, Some("1")), 0.0),
                Decision::Stop,
                "{s}"
            );
        }
    }

    #[test]
    fn the_ceiling_stops_everything() {
        assert_eq!(
            decide(&policy(), 4, status(429, Some("1")), 0.0),
            Decision::Stop
        );
        assert_eq!(
            decide(&policy(), 4, Attempt::Transport, 0.0),
            Decision::Stop
        );
        assert!(matches!(
            decide(&policy(), 3, Attempt::Transport, 0.0),
            Decision::RetryAfter(_)
        ));
    }
}
