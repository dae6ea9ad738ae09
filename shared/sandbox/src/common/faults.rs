//! Fault injection: error statuses, latency, hangs past the client's timeout, connection
//! resets and bursts of 429s, per endpoint, drawn from a seeded RNG so a failing run can be
//! replayed. Each simulator renders the error bodies of its own API; resets and hangs are
//! the same everywhere and are built here.

use std::sync::Mutex;
use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// What a matching rule does to a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// Answer with this HTTP status and the API's own error body for it.
    Status { status: u16 },
    /// Answer `429 Too Many Requests` the way the API does when it throttles.
    TooManyRequests,
    /// Delay the request by this many milliseconds of wall time, then serve it normally.
    Latency { millis: u64 },
    /// Hold the request this many milliseconds, then drop the connection without an answer.
    Timeout { millis: u64 },
    /// Drop the connection in the middle of the response.
    Reset,
}

/// One rule: which requests it matches, what it does, how often.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRule {
    /// HTTP method to match (any when absent).
    #[serde(default)]
    pub method: Option<String>,
    /// Substring of the request path to match (any when absent).
    #[serde(default)]
    pub path_contains: Option<String>,
    /// The fault.
    #[serde(flatten)]
    pub fault: FaultKind,
    /// Probability in `[0, 1]` that a matching request gets the fault.
    #[serde(default = "always")]
    pub probability: f64,
    /// Fire at most this many times, then the rule retires (unlimited when absent).
    #[serde(default)]
    pub times: Option<u32>,
}

fn always() -> f64 {
    1.0
}

impl FaultRule {
    /// A rule for every request with this fault, always.
    pub fn always(fault: FaultKind) -> Self {
        Self {
            method: None,
            path_contains: None,
            fault,
            probability: 1.0,
            times: None,
        }
    }

    /// Restricts the rule to paths containing `needle`.
    #[must_use]
    pub fn on_path(mut self, needle: impl Into<String>) -> Self {
        self.path_contains = Some(needle.into());
        self
    }

    /// Restricts the rule to one HTTP method.
    #[must_use]
    pub fn on_method(mut self, method: impl Into<String>) -> Self {
        self.method = Some(method.into());
        self
    }

    /// Sets the probability of the fault for a matching request.
    #[must_use]
    pub fn with_probability(mut self, probability: f64) -> Self {
        self.probability = probability.clamp(0.0, 1.0);
        self
    }

    /// Lets the rule fire at most `n` times.
    #[must_use]
    pub fn times(mut self, n: u32) -> Self {
        self.times = Some(n);
        self
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self
                .path_contains
                .as_deref()
                .is_none_or(|p| path.contains(p))
    }
}

/// A whole fault configuration, as posted to a simulator's control API.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultPlan {
    /// Seed of the RNG that decides probabilistic faults.
    #[serde(default)]
    pub seed: u64,
    /// Rules, tried in order; every matching rule that fires applies
    /// (latency adds up, the first terminal fault wins).
    #[serde(default)]
    pub rules: Vec<FaultRule>,
}

/// The decision for one request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FaultDecision {
    /// Extra wall-clock latency before anything else happens.
    pub delay: Duration,
    /// A terminal fault replacing the normal answer, if any.
    pub terminal: Option<FaultKind>,
}

/// The live fault state of one simulator.
#[derive(Debug)]
pub struct Faults {
    state: Mutex<(Vec<FaultRule>, ChaCha8Rng)>,
}

impl Default for Faults {
    fn default() -> Self {
        Self::new(FaultPlan::default())
    }
}

impl Faults {
    /// Fault state from a plan.
    pub fn new(plan: FaultPlan) -> Self {
        Self {
            state: Mutex::new((plan.rules, ChaCha8Rng::seed_from_u64(plan.seed))),
        }
    }

    /// Replaces the plan (rules and seed).
    pub fn set(&self, plan: FaultPlan) {
        *self.lock() = (plan.rules, ChaCha8Rng::seed_from_u64(plan.seed));
    }

    /// Adds one rule to the current plan.
    pub fn add(&self, rule: FaultRule) {
        self.lock().0.push(rule);
    }

    /// Removes every rule.
    pub fn clear(&self) {
        self.lock().0.clear();
    }

    /// Decides what happens to one request.
    pub fn decide(&self, method: &str, path: &str) -> FaultDecision {
        let mut guard = self.lock();
        let (rules, rng) = &mut *guard;
        let mut decision = FaultDecision::default();
        for rule in rules.iter_mut() {
            if rule.times == Some(0) || !rule.matches(method, path) {
                continue;
            }
            if rule.probability < 1.0 && !rng.random_bool(rule.probability) {
                continue;
            }
            if let Some(n) = rule.times.as_mut() {
                *n -= 1;
            }
            match &rule.fault {
                FaultKind::Latency { millis } => decision.delay += Duration::from_millis(*millis),
                other => {
                    if decision.terminal.is_none() {
                        decision.terminal = Some(other.clone());
                    }
                }
            }
        }
        rules.retain(|r| r.times != Some(0));
        decision
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (Vec<FaultRule>, ChaCha8Rng)> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A response whose body fails after the headers went out: the client sees the connection
/// drop mid-answer.
pub fn reset_response() -> Response {
    let stream = futures::stream::once(async {
        Err::<bytes::Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "injected connection reset",
        ))
    });
    Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(Body::from_stream(stream))
        .unwrap_or_default()
}

/// Applies the API-independent terminal faults: a hang ends in a dropped connection, a reset
/// drops it at once. Returns `None` for the faults the simulator renders itself.
pub async fn generic_fault_response(kind: &FaultKind) -> Option<Response> {
    match kind {
        FaultKind::Timeout { millis } => {
            tokio::time::sleep(Duration::from_millis(*millis)).await;
            Some(reset_response())
        }
        FaultKind::Reset => Some(reset_response()),
        FaultKind::Status { .. } | FaultKind::TooManyRequests | FaultKind::Latency { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_match_by_method_and_path_and_retire_after_times() {
        let faults = Faults::default();
        faults.add(
            FaultRule::always(FaultKind::Status { status: 503 })
                .on_path("/Item")
                .on_method("GET")
                .times(2),
        );
        assert_eq!(faults.decide("GET", "/Customer.json").terminal, None);
        assert_eq!(faults.decide("PUT", "/Item/1.json").terminal, None);
        for _ in 0..2 {
            assert_eq!(
                faults.decide("GET", "/Item.json").terminal,
                Some(FaultKind::Status { status: 503 })
            );
        }
        assert_eq!(faults.decide("GET", "/Item.json").terminal, None);
    }

    #[test]
    fn latency_adds_up_and_first_terminal_fault_wins() {
        let faults = Faults::default();
        faults.add(FaultRule::always(FaultKind::Latency { millis: 5 }));
        faults.add(FaultRule::always(FaultKind::Latency { millis: 7 }));
        faults.add(FaultRule::always(FaultKind::Reset));
        faults.add(FaultRule::always(FaultKind::TooManyRequests));
        let d = faults.decide("GET", "/x");
        assert_eq!(d.delay, Duration::from_millis(12));
        assert_eq!(d.terminal, Some(FaultKind::Reset));
    }

    #[test]
    fn probabilistic_faults_are_reproducible_from_the_seed() {
        let plan = FaultPlan {
            seed: 7,
            rules: vec![FaultRule::always(FaultKind::Status { status: 500 }).with_probability(0.3)],
        };
        let run = || {
            let f = Faults::new(plan.clone());
            (0..200)
                .map(|_| f.decide("GET", "/").terminal.is_some())
                .collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run());
        let hits = a.iter().filter(|h| **h).count();
        assert!((30..90).contains(&hits), "{hits} hits of 200 at p=0.3");
    }

    #[test]
    fn plan_reads_from_json() {
        let plan: FaultPlan = serde_json::from_str(
            r#"{"seed":1,"rules":[{"kind":"status","status":502,"path_contains":"Sale","probability":0.5},{"kind":"timeout","millis":100,"times":1}]}"#,
        )
        .unwrap();
        assert_eq!(plan.rules.len(), 2);
        assert_eq!(plan.rules[0].fault, FaultKind::Status { status: 502 });
        assert_eq!(plan.rules[1].times, Some(1));
    }
}
