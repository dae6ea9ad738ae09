//! The budget store port: request budgets shared by every process that talks to one API
//! principal, so that many Lambda instances together stay within the API's rate.
//!
//! A budget is a schedule, the "theoretical arrival time" of the generic cell rate
//! algorithm (GCRA, ITU-T I.371): the instant at which everything booked so far would have
//! drained at the API's rate. Booking `units` moves it to `max(schedule, now) + units/rate`
//! in one atomic step, so concurrent bookers each get their own slice without reading
//! first. A booking may go out once the schedule it left is no more than `burst` units
//! ahead of the clock: the API's bucket then holds at most `burst` units.

use std::time::Duration;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};

use crate::error::StoreError;

/// Keeps the shared schedules.
#[async_trait]
pub trait BudgetStore: Send + Sync {
    /// Moves the schedule `key` to `max(schedule, now) + spend`, atomically, and returns it.
    /// A key never booked starts at `now`.
    async fn book(
        &self,
        key: &str,
        now: Timestamp,
        spend: Duration,
    ) -> Result<Timestamp, StoreError>;
}

/// The shape of one API limit: `per_second` units drain, at most `burst` may be ahead.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Units per second the API lets through in the long run.
    pub per_second: f64,
    /// Units that may go out at once (the bucket's room).
    pub burst: f64,
}

impl Rate {
    /// The time `units` take at this rate.
    pub fn spend(&self, units: f64) -> Duration {
        if self.per_second > 0.0 && units.is_finite() && units > 0.0 {
            Duration::try_from_secs_f64(units / self.per_second).unwrap_or(Duration::MAX)
        } else {
            Duration::ZERO
        }
    }

    /// How long a booking that moved the schedule to `schedule` waits at `now`: until the
    /// schedule is no more than `burst` units ahead.
    pub fn wait(&self, schedule: Timestamp, now: Timestamp) -> Duration {
        let ahead = SignedDuration::try_from(self.spend(self.burst.max(0.0)))
            .unwrap_or(SignedDuration::MAX);
        let go = schedule.checked_sub(ahead).unwrap_or(Timestamp::MIN);
        Duration::try_from(go.duration_since(now)).unwrap_or(Duration::ZERO)
    }
}

/// Books `units` of `key` at `rate` and returns how long to wait before sending them.
pub async fn reserve(
    store: &dyn BudgetStore,
    key: &str,
    units: f64,
    rate: Rate,
    now: Timestamp,
) -> Result<Duration, StoreError> {
    let schedule = store.book(key, now, rate.spend(units)).await?;
    Ok(rate.wait(schedule, now))
}

/// The schedule after a booking, as every adapter computes it.
pub fn booked(current: Option<Timestamp>, now: Timestamp, spend: Duration) -> Timestamp {
    let from = current.map_or(now, |c| c.max(now));
    from.checked_add(SignedDuration::try_from(spend).unwrap_or(SignedDuration::MAX))
        .unwrap_or(Timestamp::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn a_burst_goes_at_once_and_the_rest_at_the_rate() {
        let rate = Rate {
            per_second: 2.0,
            burst: 4.0,
        };
        let now = at("2026-01-01T00:00:00Z");
        let mut schedule = None;
        let mut waits = Vec::new();
        for _ in 0..6 {
            let s = booked(schedule, now, rate.spend(1.0));
            waits.push(rate.wait(s, now).as_millis());
            schedule = Some(s);
        }
        assert_eq!(waits, [0, 0, 0, 0, 500, 1000]);
    }

    #[test]
    fn an_idle_budget_restarts_from_now() {
        let spend = Duration::from_secs(1);
        let old = at("2026-01-01T00:00:00Z");
        let now = at("2026-01-01T00:01:00Z");
        assert_eq!(booked(Some(old), now, spend), at("2026-01-01T00:01:01Z"));
        assert_eq!(booked(None, now, spend), at("2026-01-01T00:01:01Z"));
    }

    #[test]
    fn a_zero_rate_books_nothing() {
        let rate = Rate {
            per_second: 0.0,
            burst: 1.0,
        };
        assert_eq!(rate.spend(5.0), Duration::ZERO);
    }
}
