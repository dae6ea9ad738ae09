//! The in-client retry policy as one pure function: given what one attempt ended with, say
//! whether to try again and after how long. Server headers come first (`Retry-After`), then
//! bounded exponential back-off with jitter. No IO, no clock, no randomness of its own (the
//! caller passes the jitter sample), so it is table-tested. It must not decide anything about
//! conflicts (409) or tokens: those are handled by the client around it.

use std::time::Duration;

/// Bounds of the in-client retries.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included (at least 1).
    pub max_attempts: u32,
    /// Back-off before the second attempt; doubles each time.
    pub base_delay: Duration,
    /// Ceiling of one back-off.
    pub max_delay: Duration,
    /// Ceiling of a server-requested wait: a longer `Retry-After` ends the retries and
    /// surfaces as [`ErrorClass::RateLimited`](crate::ErrorClass) for the caller to schedule.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_mins(2),
        }
    }
}

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// An HTTP answer.
    Status {
        /// Its status.
        status: u16,
        /// Its `Retry-After`, parsed.
        retry_after: Option<Duration>,
    },
    /// No answer.
    Transport(TransportFailure),
}

/// Why an attempt got no answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportFailure {
    /// The connection could not be made: the request never reached BC.
    Connect,
    /// The request went out but no answer came in time.
    Timeout,
    /// Anything else after sending (reset mid-answer, broken body).
    Other,
}

impl TransportFailure {
    /// Classifies a request that got no answer.
    pub fn of(error: &reqwest::Error) -> Self {
        if error.is_connect() {
            Self::Connect
        } else if error.is_timeout() {
            Self::Timeout
        } else {
            Self::Other
        }
    }
}

/// What to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Stop: hand the outcome to the caller (success or final error).
    Stop,
    /// Try again after this wait.
    Retry {
        /// How long to wait first.
        after: Duration,
        /// True when the wait came from the server (`Retry-After`).
        from_server: bool,
    },
}

/// Decides about one attempt.
///
/// * `attempt`: 1 for the first try.
/// * `idempotent`: true for GET, and for PATCH/DELETE carrying `If-Match` (a repeated write
///   that already landed meets a 409 instead of applying twice). POST and actions are not:
///   after a gateway timeout BC may have committed (api-notes §9), so only answers that prove
///   the request was not processed (429, 503, connect failure) are retried for them.
/// * `jitter`: a sample in `[0, 1)`, spreading back-offs of concurrent callers.
///
/// Retried: 429 and 503 (throttled or queue timeout, api-notes §4), for idempotent requests
/// also 502, 504, 408 and lost answers. Never retried: 500 (AL errors are deterministic, e.g.
/// fixture error.internal-servererror.systemid.json) and other 4xx.
pub fn decide(
    policy: &RetryPolicy,
    attempt: u32,
    idempotent: bool,
    outcome: Outcome,
    jitter: f64,
) -> Decision {
    if attempt >= policy.max_attempts.max(1) {
        return Decision::Stop;
    }
    let (retryable, retry_after) = match outcome {
        Outcome::Status {
            status,
            retry_after,
        } => match status {
            429 | 503 => (true, retry_after),
            408 | 502 | 504 => (idempotent, retry_after),
            _ => (false, None),
        },
        Outcome::Transport(TransportFailure::Connect) => (true, None),
        Outcome::Transport(TransportFailure::Timeout | TransportFailure::Other) => {
            (idempotent, None)
        }
    };
    if !retryable {
        return Decision::Stop;
    }
    match retry_after {
        Some(wait) if wait > policy.max_retry_after => Decision::Stop,
        Some(wait) => Decision::Retry {
            after: wait,
            from_server: true,
        },
        None => Decision::Retry {
            after: backoff(policy, attempt, jitter),
            from_server: false,
        },
    }
}

/// Exponential back-off with "equal jitter": half the step fixed, half random, capped.
pub fn backoff(policy: &RetryPolicy, attempt: u32, jitter: f64) -> Duration {
    let exponent = attempt.saturating_sub(1).min(20);
    let step = policy
        .base_delay
        .saturating_mul(1_u32 << exponent)
        .min(policy.max_delay);
    let half = step / 2;
    half + half.mul_f64(jitter.clamp(0.0, 1.0))
}

/// Parses `Retry-After` given in seconds, integer or decimal (`"2"`, `"0.25"`). HTTP dates
/// and nonsense give `None` (the caller backs off instead).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let seconds: f64 = value.trim().parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds.min(86_400.0)))
}

/// An answer's `Retry-After`, parsed by [`parse_retry_after`].
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16, retry_after: Option<f64>) -> Outcome {
        Outcome::Status {
            status,
            retry_after: retry_after.map(Duration::from_secs_f64),
        }
    }

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(800),
            max_retry_after: Duration::from_secs(10),
        }
    }

    #[test]
    fn retry_after_is_read_from_the_headers() {
        use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(RETRY_AFTER, HeaderValue::from_static("0.25"));
        assert_eq!(retry_after(&headers), Some(Duration::from_millis(250)));
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn decision_table() {
        let p = policy();
        let retry = |ms: u64, from_server: bool| Decision::Retry {
            after: Duration::from_millis(ms),
            from_server,
        };
        // (attempt, idempotent, outcome, jitter, expected)
        let cases = [
            (1, true, status(200, None), 0.0, Decision::Stop),
            (1, false, status(201, None), 0.0, Decision::Stop),
            (1, false, status(429, Some(2.0)), 0.0, retry(2000, true)),
            (1, false, status(429, Some(0.25)), 0.0, retry(250, true)),
            (1, false, status(429, None), 0.0, retry(50, false)),
            (1, false, status(429, None), 1.0, retry(100, false)),
            (2, true, status(503, None), 0.0, retry(100, false)),
            (3, true, status(503, None), 0.5, retry(300, false)),
            (1, false, status(503, Some(1.0)), 0.0, retry(1000, true)),
            (1, true, status(504, None), 0.0, retry(50, false)),
            (1, false, status(504, None), 0.0, Decision::Stop),
            (1, true, status(502, Some(3.0)), 0.0, retry(3000, true)),
            (1, false, status(502, None), 0.0, Decision::Stop),
            (1, true, status(408, None), 0.0, retry(50, false)),
            (1, true, status(500, None), 0.0, Decision::Stop),
            (1, true, status(400, None), 0.0, Decision::Stop),
            (1, true, status(409, None), 0.0, Decision::Stop),
            (1, true, status(401, None), 0.0, Decision::Stop),
            (
                1,
                false,
                Outcome::Transport(TransportFailure::Connect),
                0.0,
                retry(50, false),
            ),
            (
                1,
                false,
                Outcome::Transport(TransportFailure::Timeout),
                0.0,
                Decision::Stop,
            ),
            (
                1,
                true,
                Outcome::Transport(TransportFailure::Timeout),
                0.0,
                retry(50, false),
            ),
            (
                1,
                true,
                Outcome::Transport(TransportFailure::Other),
                0.0,
                retry(50, false),
            ),
            // Attempts are bounded.
            (4, true, status(429, Some(1.0)), 0.0, Decision::Stop),
            // A wait beyond the ceiling is the caller's to schedule.
            (1, true, status(429, Some(60.0)), 0.0, Decision::Stop),
            // Back-off is capped.
            (3, true, status(503, None), 1.0, retry(400, false)),
        ];
        for (i, (attempt, idempotent, outcome, jitter, expected)) in cases.into_iter().enumerate() {
            assert_eq!(
                decide(&p, attempt, idempotent, outcome, jitter),
                expected,
                "case {i}: attempt {attempt}, idempotent {idempotent}, {outcome:?}"
            );
        }
    }

    #[test]
    fn backoff_grows_then_caps() {
        let p = policy();
        let full: Vec<_> = (1..=6).map(|a| backoff(&p, a, 1.0).as_millis()).collect();
        assert_eq!(full, vec![100, 200, 400, 800, 800, 800]);
        assert_eq!(backoff(&p, 1, 0.0).as_millis(), 50);
    }

    #[test]
    fn retry_after_parses_integers_and_decimals() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after(" 0.5 "), Some(Duration::from_millis(500)));
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("NaN"), None);
    }
}
