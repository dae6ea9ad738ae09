//! The simulated clock: API time runs `scale` times faster than wall time, so a test can
//! spend hours of API time (bucket drips, rate windows, token lifetimes, webhook delays) in
//! seconds. It can also be moved forward by hand for deterministic tests.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};

/// A clock shared by every part of one simulator.
#[derive(Debug, Clone)]
pub struct SimClock {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    scale: f64,
    started: Instant,
    epoch: Timestamp,
    advanced: Mutex<SignedDuration>,
}

impl SimClock {
    /// A clock starting at `epoch` (API time) that runs `scale` times faster than the wall
    /// clock. A scale of `1.0` is real time; a scale below `0.001` is treated as `0.001`.
    pub fn new(epoch: Timestamp, scale: f64) -> Self {
        Self {
            inner: Arc::new(Inner {
                scale: scale.max(0.001),
                started: Instant::now(),
                epoch,
                advanced: Mutex::new(SignedDuration::ZERO),
            }),
        }
    }

    /// Real time from now on, starting at the current wall-clock time.
    pub fn real_time() -> Self {
        Self::new(Timestamp::now(), 1.0)
    }

    /// The time-scale factor.
    pub fn scale(&self) -> f64 {
        self.inner.scale
    }

    /// The current API time.
    pub fn now(&self) -> Timestamp {
        let elapsed = self.inner.started.elapsed().as_secs_f64() * self.inner.scale;
        let advanced = *self
            .inner
            .advanced
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let offset = SignedDuration::from_secs_f64(elapsed) + advanced;
        self.inner
            .epoch
            .checked_add(offset)
            .unwrap_or(self.inner.epoch)
    }

    /// Seconds of API time since the clock started (monotonic, fractional).
    pub fn api_seconds(&self) -> f64 {
        let advanced = self
            .inner
            .advanced
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_secs_f64();
        self.inner.started.elapsed().as_secs_f64() * self.inner.scale + advanced
    }

    /// Moves API time forward without waiting.
    pub fn advance(&self, by: Duration) {
        let mut advanced = self
            .inner
            .advanced
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *advanced += SignedDuration::try_from(by).unwrap_or(SignedDuration::MAX);
    }

    /// The wall-clock duration that `api` of API time takes at this scale.
    pub fn to_real(&self, api: Duration) -> Duration {
        api.div_f64(self.inner.scale)
    }

    /// Waits `api` of API time (i.e. `api / scale` of wall time).
    pub async fn sleep(&self, api: Duration) {
        tokio::time::sleep(self.to_real(api)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_moves_api_time_forward() {
        let epoch: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let clock = SimClock::new(epoch, 1.0);
        clock.advance(Duration::from_hours(1));
        let now = clock.now();
        assert!(now >= "2026-01-01T01:00:00Z".parse().unwrap());
        assert!(now < "2026-01-01T01:00:05Z".parse().unwrap());
        assert!(clock.api_seconds() >= 3600.0);
    }

    #[test]
    fn scale_shrinks_real_waits() {
        let clock = SimClock::new(Timestamp::UNIX_EPOCH, 60.0);
        assert_eq!(
            clock.to_real(Duration::from_mins(1)),
            Duration::from_secs(1)
        );
    }
}
