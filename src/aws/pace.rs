//! pace: how many accounts the inventory reads at once, adapted to AWS throttling — slow start,
//! then additive increase and multiplicative decrease (AIMD), as TCP's congestion control.
//!
//! The inventory reports each finished account to [`Pace`]: throttled (some call of it was
//! answered `Throttling`, retried or not) or not. Until the first throttling, the limit grows by
//! one per account finished (it doubles per round of reads: slow start). After it, it grows by
//! one per round (`1 / limit` per account). On throttling it halves, at most once per round, so
//! the reads that were in flight together when AWS pushed back count once. It never leaves
//! `1 ..= ceiling`. Pure: no clock, no I/O; property-tested below.

/// The adaptive limit on accounts read at once.
#[derive(Clone, Debug)]
pub struct Pace {
    limit: f64,
    ceiling: usize,
    /// Slow start: no throttling seen yet.
    starting: bool,
    /// Accounts finished since the last decrease; a decrease waits for a round of them.
    since_decrease: usize,
    /// The highest limit reached.
    peak: usize,
    /// Decreases so far.
    decreases: usize,
}

/// Where fedsync starts when the ceiling is higher.
pub const START: usize = 16;

impl Pace {
    /// Starts at `min(START, ceiling)`; `ceiling` is at least 1.
    pub fn new(ceiling: usize) -> Pace {
        let ceiling = ceiling.max(1);
        let start = START.min(ceiling);
        Pace {
            limit: start as f64,
            ceiling,
            starting: true,
            since_decrease: start,
            peak: start,
            decreases: 0,
        }
    }

    /// Accounts that may be read at once now.
    pub fn limit(&self) -> usize {
        (self.limit.floor() as usize).clamp(1, self.ceiling)
    }

    /// The highest limit reached so far.
    pub fn peak(&self) -> usize {
        self.peak
    }

    /// How often throttling halved the limit.
    pub fn decreases(&self) -> usize {
        self.decreases
    }

    /// One account finished; `throttled` when AWS answered any of its calls with throttling.
    pub fn finished(&mut self, throttled: bool) {
        self.since_decrease = self.since_decrease.saturating_add(1);
        if throttled {
            self.starting = false;
            if self.since_decrease > self.limit() {
                self.limit = (self.limit / 2.0).max(1.0);
                self.since_decrease = 0;
                self.decreases += 1;
            }
        } else {
            let step = if self.starting { 1.0 } else { 1.0 / self.limit };
            self.limit = (self.limit + step).min(self.ceiling as f64);
        }
        self.peak = self.peak.max(self.limit());
    }
}

/// Counts the AWS answers that were throttling, on every attempt (the SDK retries them, so the
/// caller never sees most): an interceptor on the STS and IAM clients of an inventory.
#[derive(Clone, Debug, Default)]
pub struct ThrottleCounter {
    seen: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl ThrottleCounter {
    /// Throttling answers since the last call, and starts counting afresh.
    pub fn take(&self) -> usize {
        self.seen.swap(0, std::sync::atomic::Ordering::Relaxed)
    }

    /// One more throttling answer.
    fn add(&self) {
        self.seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Whether an AWS answer is throttling: HTTP 429, or a 400/503 whose error code is one the AWS
/// SDKs retry as throttling (`Throttling`, `ThrottlingException`, `RequestLimitExceeded`,
/// `TooManyRequestsException`, `SlowDown`…). Both the query protocol (`<Code>Throttling</Code>`,
/// STS and IAM) and the JSON one (`"__type": "…ThrottlingException"`) carry the code in the body.
pub fn is_throttling(status: u16, body: &[u8]) -> bool {
    const CODES: [&[u8]; 4] = [
        b"Throttl",
        b"TooManyRequests",
        b"RequestLimitExceeded",
        b"SlowDown",
    ];
    status == 429
        || (matches!(status, 400 | 503)
            && CODES
                .iter()
                .any(|code| body.windows(code.len()).any(|w| w == *code)))
}

impl aws_sdk_iam::config::Intercept for ThrottleCounter {
    fn name(&self) -> &'static str {
        "fedsync-throttle-counter"
    }

    fn read_after_attempt(
        &self,
        context: &aws_sdk_iam::config::interceptors::FinalizerInterceptorContextRef<'_>,
        _runtime_components: &aws_sdk_iam::config::RuntimeComponents,
        _cfg: &mut aws_sdk_iam::config::ConfigBag,
    ) -> Result<(), aws_sdk_iam::error::BoxError> {
        if let Some(response) = context.response()
            && is_throttling(
                response.status().as_u16(),
                response.body().bytes().unwrap_or_default(),
            )
        {
            self.add();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn without_throttling_it_climbs_to_the_ceiling_within_a_few_rounds() {
        let mut pace = Pace::new(64);
        assert_eq!(pace.limit(), 16);
        for _ in 0..48 {
            pace.finished(false);
        }
        assert_eq!(pace.limit(), 64, "16 → 32 → 64 in two rounds");
        pace.finished(false);
        assert_eq!(pace.limit(), 64);
    }

    #[test]
    fn a_burst_of_throttling_halves_once_per_round() {
        let mut pace = Pace::new(64);
        for _ in 0..48 {
            pace.finished(false);
        }
        for _ in 0..10 {
            pace.finished(true);
        }
        assert_eq!(
            pace.limit(),
            32,
            "ten throttled reads in flight together halve once"
        );
        assert_eq!(pace.decreases(), 1);
        // After a round (32 more accounts), throttling halves again.
        for _ in 0..32 {
            pace.finished(true);
        }
        assert_eq!(pace.limit(), 16);
        // Past slow start, it grows by one per round: 17 accounts at 16 to 17 at once.
        for _ in 0..17 {
            pace.finished(false);
        }
        assert_eq!(pace.limit(), 17);
    }

    #[test]
    fn a_ceiling_below_the_start_is_where_it_starts_and_stays() {
        let mut pace = Pace::new(1);
        assert_eq!(pace.limit(), 1);
        pace.finished(false);
        pace.finished(true);
        assert_eq!(pace.limit(), 1);
        assert_eq!(Pace::new(0).limit(), 1);
    }

    #[test]
    fn throttling_answers_are_told_from_other_errors() {
        let query = b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>";
        assert!(is_throttling(400, query));
        assert!(is_throttling(
            400,
            br#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#
        ));
        assert!(is_throttling(429, b""));
        assert!(is_throttling(503, b"<Error><Code>SlowDown</Code></Error>"));
        assert!(!is_throttling(403, b"<Code>AccessDenied</Code>"));
        assert!(!is_throttling(400, b"<Code>NoSuchEntity</Code>"));
        assert!(!is_throttling(200, b"<RoleName>Throttling</RoleName>"));
    }

    proptest! {
        #[test]
        fn the_limit_stays_within_one_and_the_ceiling_and_throttling_never_raises_it(
            ceiling in 1usize..300,
            outcomes in proptest::collection::vec(any::<bool>(), 0..2000),
        ) {
            let mut pace = Pace::new(ceiling);
            for throttled in outcomes {
                let before = pace.limit();
                pace.finished(throttled);
                let after = pace.limit();
                prop_assert!((1..=ceiling).contains(&after));
                prop_assert!(pace.peak() >= after);
                if throttled {
                    prop_assert!(after <= before);
                    prop_assert!(after == before || after * 2 <= before + 1);
                } else {
                    prop_assert!(after >= before);
                }
            }
        }

        #[test]
        fn after_any_history_a_long_unthrottled_run_reaches_the_ceiling(
            ceiling in 1usize..300,
            outcomes in proptest::collection::vec(any::<bool>(), 0..500),
        ) {
            let mut pace = Pace::new(ceiling);
            for throttled in outcomes {
                pace.finished(throttled);
            }
            // Additive increase: at most `ceiling` accounts per step of one.
            for _ in 0..ceiling * ceiling + ceiling {
                pace.finished(false);
            }
            prop_assert_eq!(pace.limit(), ceiling);
        }
    }
}
