//! Request statistics of one simulator: how many requests it served, by status, so tests,
//! benchmarks and the demo can report requests made and 429s seen.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::Serialize;

/// Counters, safe to share between request handlers.
#[derive(Debug, Default)]
pub struct RequestStats {
    inner: Mutex<StatsSnapshot>,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StatsSnapshot {
    /// Requests answered (including errors and injected faults).
    pub requests: u64,
    /// Requests answered with 429.
    pub throttled: u64,
    /// Answers by HTTP status.
    pub by_status: BTreeMap<u16, u64>,
}

impl StatsSnapshot {
    /// The counts accumulated between `earlier` and `self`.
    #[must_use]
    pub fn since(&self, earlier: &StatsSnapshot) -> StatsSnapshot {
        let by_status = self
            .by_status
            .iter()
            .map(|(s, n)| (*s, n - earlier.by_status.get(s).copied().unwrap_or(0)))
            .filter(|(_, n)| *n > 0)
            .collect();
        StatsSnapshot {
            requests: self.requests - earlier.requests,
            throttled: self.throttled - earlier.throttled,
            by_status,
        }
    }
}

impl RequestStats {
    /// Counts one answered request.
    pub fn record(&self, status: u16) {
        let mut s = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        s.requests += 1;
        if status == 429 {
            s.throttled += 1;
        }
        *s.by_status.entry(status).or_default() += 1;
    }

    /// The counters now.
    pub fn snapshot(&self) -> StatsSnapshot {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_subtracts_per_status() {
        let stats = RequestStats::default();
        stats.record(200);
        let before = stats.snapshot();
        stats.record(200);
        stats.record(429);
        let delta = stats.snapshot().since(&before);
        assert_eq!(delta.requests, 2);
        assert_eq!(delta.throttled, 1);
        assert_eq!(delta.by_status.get(&200), Some(&1));
        assert_eq!(delta.by_status.get(&429), Some(&1));
    }
}
