//! Client-side pacing per principal (app registration or on-prem user): at most N requests in
//! flight and at most M requests in a sliding window, the limits BC applies per user
//! (api-notes §4: 5 concurrent, 6,000 per 5 minutes). Requests are spread over the principals
//! so k registrations give k times the rate. Counters (requests, 429s, retries) live here.
//! It must not know about HTTP or BC's URLs; it only hands out and takes back slots.
//!
//! The window here counts one process's requests. Where several processes use one principal
//! (Lambda instances of several functions), a [`SharedBudget`] books each request on one
//! schedule per principal as well, at [`Limits::shared_rate`].

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Notify;
use tokio::time::Instant;

/// The limits of one principal.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Requests in flight at once (BC online: 5 per user; more are queued, then refused).
    pub max_concurrent: usize,
    /// Length of the sliding window (BC online: 5 minutes).
    pub window: Duration,
    /// Requests allowed per window (BC online: 6,000). `None` disables the window
    /// (on-premises has no fixed request rate, api-notes §4).
    pub window_requests: Option<u32>,
    /// How many window slots a `$batch` takes: `true` counts each operation, `false` counts
    /// the batch as one request. BC's docs are silent; counting operations never overruns.
    pub batch_counts_as_operations: bool,
}

impl Limits {
    /// BC online, per user: 5 concurrent, 6,000 per 5-minute sliding window.
    pub fn online() -> Self {
        Self {
            max_concurrent: 5,
            window: Duration::from_mins(5),
            window_requests: Some(6000),
            batch_counts_as_operations: true,
        }
    }

    /// BC on-premises defaults (`ODataV4MaxConcurrentRequests` 5, no rate window).
    pub fn on_premises() -> Self {
        Self {
            max_concurrent: 5,
            window: Duration::from_mins(5),
            window_requests: None,
            batch_counts_as_operations: false,
        }
    }

    /// The same rate with the window shrunk by `factor` (tests and benchmarks running BC's
    /// time faster): window / factor, same count.
    #[must_use]
    pub fn time_scaled(mut self, factor: f64) -> Self {
        if factor > 0.0 && factor.is_finite() {
            self.window = self.window.div_f64(factor);
        }
        self
    }
}

impl Limits {
    /// The rate a schedule shared by many processes keeps to: `(per_second, burst)` with
    /// `per_second · window + burst = window_requests`, so that no sliding window holds more
    /// than BC allows; the burst is the concurrency. `None` without a window (on-premises).
    pub fn shared_rate(&self) -> Option<(f64, f64)> {
        let count = f64::from(self.window_requests?);
        let seconds = self.window.as_secs_f64();
        let burst = (self.max_concurrent.max(1) as f64).min(count / 2.0);
        (seconds > 0.0).then(|| ((count - burst) / seconds, burst))
    }
}

/// A request budget per principal shared by every process using it (BC counts requests per
/// user, api-notes/BUSINESS-CENTRAL.md §4).
#[async_trait]
pub trait SharedBudget: Send + Sync + std::fmt::Debug {
    /// Books `units` requests for `principal` (its label) on a schedule draining `per_second`
    /// that may run `burst` ahead, and returns how long to wait before sending. An error is
    /// logged and the request goes on under the client's own window.
    async fn reserve(
        &self,
        principal: &str,
        units: f64,
        per_second: f64,
        burst: f64,
    ) -> Result<Duration, String>;
}

impl Default for Limits {
    fn default() -> Self {
        Self::online()
    }
}

/// Counters of one principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalStats {
    /// The principal's label (client id or user name; never a secret).
    pub principal: String,
    /// Requests sent (each attempt counts).
    pub requests: u64,
    /// Answers with status 429.
    pub throttled: u64,
    /// Attempts that were retries.
    pub retries: u64,
}

#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    throttled: AtomicU64,
    retries: AtomicU64,
}

#[derive(Debug, Default)]
struct SlotState {
    in_flight: usize,
    /// Window units held by requests still in flight.
    reserved: u64,
    /// When each finished request's window unit frees up, oldest first.
    expiries: VecDeque<Instant>,
    blocked_until: Option<Instant>,
}

#[derive(Debug)]
struct Slot {
    label: String,
    state: Mutex<SlotState>,
    counters: Counters,
}

/// The principals of one connection with their pacing state.
#[derive(Debug)]
pub(crate) struct Pool {
    slots: Vec<Slot>,
    limits: Limits,
    notify: Notify,
    next: AtomicUsize,
}

/// A granted slot: the request may go out. Dropping it (or [`Lease::finish`]) returns the
/// concurrency slot and starts the window clock of its units.
#[derive(Debug)]
pub(crate) struct Lease {
    pool: Arc<Pool>,
    index: usize,
    weight: u64,
    finished: bool,
}

impl Pool {
    pub(crate) fn new(labels: Vec<String>, limits: Limits) -> Arc<Self> {
        Arc::new(Self {
            slots: labels
                .into_iter()
                .map(|label| Slot {
                    label,
                    state: Mutex::new(SlotState::default()),
                    counters: Counters::default(),
                })
                .collect(),
            limits,
            notify: Notify::new(),
            next: AtomicUsize::new(0),
        })
    }

    pub(crate) fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Waits for a principal with a free concurrency slot and `weight` free window units.
    /// Principals are tried round-robin so load spreads evenly.
    pub(crate) async fn acquire(self: &Arc<Self>, weight: u32) -> Lease {
        let count = self.slots.len().max(1);
        let capacity = self.limits.window_requests.map(u64::from);
        // A batch heavier than the whole window still has to go out some time.
        let weight = capacity.map_or(u64::from(weight), |cap| u64::from(weight).min(cap).max(1));
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();

            let now = Instant::now();
            let start = self.next.fetch_add(1, Ordering::Relaxed);
            let mut wake_at: Option<Instant> = None;
            for k in 0..count {
                let index = (start + k) % count;
                let Some(slot) = self.slots.get(index) else {
                    continue;
                };
                let mut state = lock(&slot.state);
                while state.expiries.front().is_some_and(|t| *t <= now) {
                    state.expiries.pop_front();
                }
                if let Some(until) = state.blocked_until {
                    if until > now {
                        wake_at = Some(wake_at.map_or(until, |w| w.min(until)));
                        continue;
                    }
                    state.blocked_until = None;
                }
                if state.in_flight >= self.limits.max_concurrent.max(1) {
                    continue;
                }
                if let Some(cap) = capacity {
                    let used = state.reserved + state.expiries.len() as u64;
                    if used + weight > cap {
                        // The unit that frees enough room: the (used + weight − cap)-th expiry.
                        let needed = (used + weight - cap) as usize;
                        if let Some(at) = state.expiries.get(needed.saturating_sub(1)) {
                            wake_at = Some(wake_at.map_or(*at, |w| w.min(*at)));
                        }
                        continue;
                    }
                }
                state.in_flight += 1;
                state.reserved += weight;
                slot.counters.requests.fetch_add(1, Ordering::Relaxed);
                return Lease {
                    pool: Arc::clone(self),
                    index,
                    weight,
                    finished: false,
                };
            }
            match wake_at {
                Some(at) => {
                    tokio::select! {
                        () = &mut notified => {}
                        () = tokio::time::sleep_until(at) => {}
                    }
                }
                None => notified.await,
            }
        }
    }

    /// Keeps a principal out of rotation until `until` (after a 429).
    fn block(&self, index: usize, until: Instant) {
        if let Some(slot) = self.slots.get(index) {
            let mut state = lock(&slot.state);
            state.blocked_until = Some(state.blocked_until.map_or(until, |u| u.max(until)));
        }
    }

    /// Returns a slot; `sent`: the request reached BC and its units count in the window.
    fn release(&self, index: usize, weight: u64, sent: bool) {
        if let Some(slot) = self.slots.get(index) {
            let mut state = lock(&slot.state);
            state.in_flight = state.in_flight.saturating_sub(1);
            state.reserved = state.reserved.saturating_sub(weight);
            if !sent {
                slot.counters.requests.fetch_sub(1, Ordering::Relaxed);
            } else if self.limits.window_requests.is_some() {
                // The window clock starts when the answer is in: BC counted the request when it
                // arrived, which is earlier, so our view frees a unit only after BC's did.
                let expiry = Instant::now() + self.limits.window;
                for _ in 0..weight {
                    state.expiries.push_back(expiry);
                }
            }
        }
        self.notify.notify_waiters();
    }

    pub(crate) fn stats(&self) -> Vec<PrincipalStats> {
        self.slots
            .iter()
            .map(|slot| PrincipalStats {
                principal: slot.label.clone(),
                requests: slot.counters.requests.load(Ordering::Relaxed),
                throttled: slot.counters.throttled.load(Ordering::Relaxed),
                retries: slot.counters.retries.load(Ordering::Relaxed),
            })
            .collect()
    }

    pub(crate) fn principal_count(&self) -> usize {
        self.slots.len()
    }
}

impl Lease {
    /// The window units this request takes.
    pub(crate) fn weight(&self) -> u32 {
        u32::try_from(self.weight).unwrap_or(u32::MAX)
    }

    /// Which principal holds the slot (index into the connection's principals).
    pub(crate) fn principal(&self) -> usize {
        self.index
    }

    /// Records that the answer was a 429 and rests the principal for `wait`.
    pub(crate) fn throttled(&self, wait: Duration) {
        if let Some(slot) = self.pool.slots.get(self.index) {
            slot.counters.throttled.fetch_add(1, Ordering::Relaxed);
        }
        self.pool.block(self.index, Instant::now() + wait);
    }

    /// Records that this attempt is a retry.
    pub(crate) fn mark_retry(&self) {
        if let Some(slot) = self.pool.slots.get(self.index) {
            slot.counters.retries.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Returns the slot now.
    pub(crate) fn finish(mut self) {
        self.finished = true;
        self.pool.release(self.index, self.weight, true);
    }

    /// Returns the slot of a request that never went out (no token): it uses no window
    /// units and is not counted as a request.
    pub(crate) fn abandon(mut self) {
        self.finished = true;
        self.pool.release(self.index, self.weight, false);
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if !self.finished {
            self.pool.release(self.index, self.weight, true);
        }
    }
}

/// A jitter sample in `[0, 1)` for back-offs, from the thread-local generator. Spreading
/// concurrent retries needs no cryptographic quality.
pub(crate) fn jitter() -> f64 {
    rand::random_range(0.0..1.0)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(concurrent: usize, window_ms: u64, count: u32) -> Limits {
        Limits {
            max_concurrent: concurrent,
            window: Duration::from_millis(window_ms),
            window_requests: Some(count),
            batch_counts_as_operations: true,
        }
    }

    #[test]
    fn the_shared_rate_never_fills_more_than_one_window() {
        let (per_second, burst) = Limits::online().shared_rate().unwrap();
        assert!((burst - 5.0).abs() < f64::EPSILON);
        assert!((per_second * 300.0 + burst - 6000.0).abs() < 1e-9);
        assert_eq!(Limits::on_premises().shared_rate(), None);
        let scaled = Limits::online().time_scaled(10.0).shared_rate().unwrap();
        assert!((scaled.0 - per_second * 10.0).abs() < 1e-9);
    }

    #[tokio::test(start_paused = true)]
    async fn window_caps_requests_per_principal() {
        let pool = Pool::new(vec!["a".into()], limits(5, 1000, 10));
        let start = Instant::now();
        for _ in 0..25 {
            pool.acquire(1).await.finish();
        }
        // 10 at once, 10 more after one window, the last 5 after two.
        assert!(start.elapsed() >= Duration::from_secs(2));
        assert!(start.elapsed() < Duration::from_millis(2100));
        assert_eq!(pool.stats()[0].requests, 25);
    }

    #[tokio::test(start_paused = true)]
    async fn an_abandoned_attempt_costs_no_window_unit() {
        let pool = Pool::new(vec!["a".into()], limits(5, 60_000, 1));
        pool.acquire(1).await.abandon();
        let start = Instant::now();
        pool.acquire(1).await.finish();
        assert_eq!(
            start.elapsed(),
            Duration::ZERO,
            "the one unit was still free"
        );
        assert_eq!(
            pool.stats()[0].requests,
            1,
            "only the request that went out"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn concurrency_is_bounded_and_freed_on_drop() {
        let pool = Pool::new(vec!["a".into()], limits(2, 10, 1000));
        let first = pool.acquire(1).await;
        let _second = pool.acquire(1).await;
        let waiter = {
            let pool = Arc::clone(&pool);
            tokio::spawn(async move { pool.acquire(1).await.principal() })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiter.is_finished());
        drop(first);
        assert_eq!(waiter.await.unwrap(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn principals_multiply_the_rate() {
        let pool = Pool::new(
            vec!["a".into(), "b".into(), "c".into()],
            limits(5, 1000, 10),
        );
        let start = Instant::now();
        for _ in 0..30 {
            pool.acquire(1).await.finish();
        }
        assert!(start.elapsed() < Duration::from_millis(10));
        let stats = pool.stats();
        assert!(stats.iter().all(|s| s.requests == 10), "{stats:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttled_principal_rests_while_others_serve() {
        let pool = Pool::new(vec!["a".into(), "b".into()], limits(5, 1000, 100));
        let lease = pool.acquire(1).await;
        let throttled = lease.principal();
        lease.throttled(Duration::from_secs(5));
        lease.finish();
        for _ in 0..10 {
            let lease = pool.acquire(1).await;
            assert_ne!(lease.principal(), throttled);
            lease.finish();
        }
        assert_eq!(pool.stats()[throttled].throttled, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn batch_weight_takes_window_units() {
        let pool = Pool::new(vec!["a".into()], limits(5, 1000, 100));
        pool.acquire(100).await.finish();
        let start = Instant::now();
        pool.acquire(1).await.finish();
        assert!(start.elapsed() >= Duration::from_secs(1));
        // Heavier than the whole window: capped, so it still goes out.
        pool.acquire(500).await.finish();
    }
}
