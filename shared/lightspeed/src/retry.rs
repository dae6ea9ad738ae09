//! The retry policy as one pure function: given the attempt number, whether the request is
//! safe to repeat, and what went wrong (an HTTP status with its headers and body, or a
//! transport failure), decide: retry after a delay, refresh the token then retry, or give
//! up. Server headers come first (`Retry-After`, then the bucket headers), then capped
//! exponential backoff. No IO, no clock, no randomness (jitter is the caller's).

use std::time::Duration;

use reqwest::header::HeaderMap;

use crate::rate::BucketHeaders;

/// Bounds of the retry loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all (first try included) for server errors and transport failures.
    pub max_attempts: u32,
    /// Attempts in all when throttled (429 / "try again later"), which are expected under
    /// load and cheap to wait out.
    pub max_throttled_attempts: u32,
    /// First backoff; doubles per attempt.
    pub base_delay: Duration,
    /// Backoff cap.
    pub max_delay: Duration,
    /// A `Retry-After` longer than this is not waited out (the error is returned instead).
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            max_throttled_attempts: 10,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_mins(5),
        }
    }
}

/// How a request failed without an HTTP answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// The connection could not be made: the request was never sent.
    Connect,
    /// No answer in time: the server may or may not have acted.
    Timeout,
    /// The connection broke while sending or reading: the server may have acted.
    Interrupted,
}

impl TransportKind {
    /// How `reqwest` failed: could not connect, timed out, or broke off.
    pub fn of(error: &reqwest::Error) -> Self {
        if error.is_connect() {
            Self::Connect
        } else if error.is_timeout() {
            Self::Timeout
        } else {
            Self::Interrupted
        }
    }
}

/// What went wrong with one attempt.
#[derive(Debug, Clone, Copy)]
pub enum Failure<'a> {
    /// The server answered with a non-success status.
    Status {
        status: u16,
        headers: &'a HeaderMap,
        body: &'a str,
    },
    /// No usable answer.
    Transport(TransportKind),
}

/// What to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Wait, then send the same request again. `server` is true when the delay came from
    /// the server (honour it exactly; don't add jitter).
    Retry { after: Duration, server: bool },
    /// The token was refused: refresh it once, then send again.
    RefreshThenRetry,
    /// Stop and return the error.
    GiveUp,
}

/// The inputs of [`decide`] besides the failure.
#[derive(Debug, Clone, Copy)]
pub struct Attempt {
    /// Attempts made so far, this one included (1 after the first try).
    pub number: u32,
    /// Whether repeating the request cannot do harm (GET, PUT of absolute values, the
    /// refresh grant under deferred revocation). A POST that may have been applied is not.
    pub idempotent: bool,
    /// Whether the token was already refreshed for this request.
    pub refreshed: bool,
}

/// Parses `Retry-After` as integer or decimal seconds (the sandbox sends decimals when its
/// time scale is compressed). HTTP dates are not used by this API.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    let secs: f64 = text.parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
}

/// The wait a 429 asks for: `Retry-After`, else the time until the bucket has room again
/// by its headers (`bucket`: the response's parsed [`BucketHeaders`], api-notes §2.5).
/// `None` when the response says neither.
pub fn throttle_wait(headers: &HeaderMap, bucket: Option<&BucketHeaders>) -> Option<Duration> {
    retry_after(headers).or_else(|| bucket.and_then(BucketHeaders::room_wait))
}

/// Whether an error message says the request should be repeated later (a Singer tap for
/// this API treats a 400 "Please try again later." as retriable: api-notes §2.6).
pub(crate) fn says_try_again(message: &str) -> bool {
    message.to_ascii_lowercase().contains("try again later")
}

fn backoff(policy: &RetryPolicy, attempt: u32) -> Duration {
    let exp = attempt.saturating_sub(1).min(20);
    policy
        .base_delay
        .saturating_mul(1u32 << exp)
        .min(policy.max_delay)
}

/// Decides what to do after a failed attempt.
pub fn decide(policy: &RetryPolicy, attempt: Attempt, failure: &Failure<'_>) -> RetryDecision {
    let more = attempt.number < policy.max_attempts;
    let more_throttled = attempt.number < policy.max_throttled_attempts;
    let server_wait = |after: Duration| {
        if after > policy.max_retry_after {
            RetryDecision::GiveUp
        } else {
            RetryDecision::Retry {
                after,
                server: true,
            }
        }
    };
    let backoff_retry = || RetryDecision::Retry {
        after: backoff(policy, attempt.number),
        server: false,
    };
    match *failure {
        Failure::Status { status: 401, .. } => {
            if attempt.refreshed {
                RetryDecision::GiveUp
            } else {
                RetryDecision::RefreshThenRetry
            }
        }
        Failure::Status {
            status: 429,
            headers,
            ..
        } => {
            if !more_throttled {
                return RetryDecision::GiveUp;
            }
            // The request was refused, not applied: safe to repeat even if not idempotent.
            let bucket = BucketHeaders::parse(headers);
            let after = throttle_wait(headers, bucket.as_ref()).unwrap_or(Duration::from_secs(1));
            server_wait(after)
        }
        Failure::Status {
            status: 400, body, ..
        } if says_try_again(body) => {
            if more_throttled {
                backoff_retry()
            } else {
                RetryDecision::GiveUp
            }
        }
        Failure::Status {
            status: 503,
            headers,
            ..
        } => {
            // Unavailable: not processed, so a POST may be repeated too.
            if !more {
                return RetryDecision::GiveUp;
            }
            retry_after(headers).map_or_else(backoff_retry, server_wait)
        }
        Failure::Status {
            status: 500 | 502 | 504,
            ..
        } => {
            if more && attempt.idempotent {
                backoff_retry()
            } else {
                RetryDecision::GiveUp
            }
        }
        Failure::Status { .. } => RetryDecision::GiveUp,
        Failure::Transport(TransportKind::Connect) => {
            if more {
                backoff_retry()
            } else {
                RetryDecision::GiveUp
            }
        }
        Failure::Transport(TransportKind::Timeout | TransportKind::Interrupted) => {
            // The server may have applied it: only repeat what is safe to repeat.
            if more && attempt.idempotent {
                backoff_retry()
            } else {
                RetryDecision::GiveUp
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn decision_table() {
        use RetryDecision::{GiveUp, RefreshThenRetry};
        let p = RetryPolicy::default();
        let none = HeaderMap::new();
        let ra_int = headers(&[("retry-after", "3")]);
        let ra_dec = headers(&[("retry-after", "0.25")]);
        let ra_huge = headers(&[("retry-after", "3600")]);
        let bucket = headers(&[
            ("x-ls-api-bucket-level", "91.5/90"),
            ("x-ls-api-drip-rate", "2"),
            ("x-ls-api-request-cost", "1.5"),
        ]);
        let get = |n| Attempt {
            number: n,
            idempotent: true,
            refreshed: false,
        };
        let post = |n| Attempt {
            number: n,
            idempotent: false,
            refreshed: false,
        };
        let refreshed = Attempt {
            number: 1,
            idempotent: true,
            refreshed: true,
        };
        let status = |status, headers, body| Failure::Status {
            status,
            headers,
            body,
        };
        let server = |ms| RetryDecision::Retry {
            after: Duration::from_millis(ms),
            server: true,
        };
        let backoff = |ms| RetryDecision::Retry {
            after: Duration::from_millis(ms),
            server: false,
        };
        let table: Vec<(&str, Attempt, Failure<'_>, RetryDecision)> = vec![
            (
                "401 refreshes once",
                get(1),
                status(401, &none, ""),
                RefreshThenRetry,
            ),
            (
                "401 after refresh gives up",
                refreshed,
                status(401, &none, ""),
                GiveUp,
            ),
            (
                "429 integer Retry-After",
                get(1),
                status(429, &ra_int, ""),
                server(3000),
            ),
            (
                "429 decimal Retry-After",
                get(1),
                status(429, &ra_dec, ""),
                server(250),
            ),
            (
                "429 from bucket headers",
                get(1),
                status(429, &bucket, ""),
                server(1500),
            ),
            (
                "429 without headers",
                get(1),
                status(429, &none, ""),
                server(1000),
            ),
            (
                "429 on POST still retries",
                post(1),
                status(429, &ra_int, ""),
                server(3000),
            ),
            (
                "429 too long to wait",
                get(1),
                status(429, &ra_huge, ""),
                GiveUp,
            ),
            (
                "429 budget exhausted",
                get(10),
                status(429, &ra_int, ""),
                GiveUp,
            ),
            (
                "400 try again later",
                get(1),
                status(400, &none, "{\"message\":\"Please try again later.\"}"),
                backoff(500),
            ),
            (
                "400 validation error",
                get(1),
                status(400, &none, "name cannot be blank."),
                GiveUp,
            ),
            (
                "500 GET backs off",
                get(2),
                status(500, &none, ""),
                backoff(1000),
            ),
            (
                "502 GET backs off",
                get(3),
                status(502, &none, ""),
                backoff(2000),
            ),
            ("500 POST gives up", post(1), status(500, &none, ""), GiveUp),
            (
                "503 honours Retry-After",
                post(1),
                status(503, &ra_int, ""),
                server(3000),
            ),
            (
                "503 without header backs off",
                get(1),
                status(503, &none, ""),
                backoff(500),
            ),
            (
                "5xx budget exhausted",
                get(5),
                status(500, &none, ""),
                GiveUp,
            ),
            ("404 gives up", get(1), status(404, &none, ""), GiveUp),
            ("403 gives up", get(1), status(403, &none, ""), GiveUp),
            ("409 gives up", get(1), status(409, &none, ""), GiveUp),
            (
                "timeout GET retries",
                get(1),
                Failure::Transport(TransportKind::Timeout),
                backoff(500),
            ),
            (
                "timeout POST never blindly",
                post(1),
                Failure::Transport(TransportKind::Timeout),
                GiveUp,
            ),
            (
                "reset POST never blindly",
                post(1),
                Failure::Transport(TransportKind::Interrupted),
                GiveUp,
            ),
            (
                "connect error POST retries",
                post(1),
                Failure::Transport(TransportKind::Connect),
                backoff(500),
            ),
            (
                "backoff is capped",
                get(4),
                Failure::Transport(TransportKind::Connect),
                backoff(4000),
            ),
            (
                "transport budget exhausted",
                get(5),
                Failure::Transport(TransportKind::Timeout),
                GiveUp,
            ),
        ];
        for (name, attempt, failure, expected) in table {
            assert_eq!(decide(&p, attempt, &failure), expected, "{name}");
        }
        let capped = RetryPolicy {
            max_attempts: 30,
            ..RetryPolicy::default()
        };
        assert_eq!(
            decide(
                &capped,
                get(20),
                &Failure::Transport(TransportKind::Connect)
            ),
            backoff(30_000)
        );
    }

    #[test]
    fn retry_after_parses_integers_and_decimals_only() {
        assert_eq!(
            retry_after(&headers(&[("retry-after", "2")])),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            retry_after(&headers(&[("retry-after", " 0.125 ")])),
            Some(Duration::from_millis(125))
        );
        assert_eq!(retry_after(&headers(&[("retry-after", "-1")])), None);
        assert_eq!(retry_after(&headers(&[("retry-after", "soon")])), None);
        assert_eq!(retry_after(&HeaderMap::new()), None);
    }
}
