//! Client-side pacing against Lightspeed's leaky bucket (api-notes/LIGHTSPEED.md §2.5): keep
//! a local estimate of the bucket from the headers of every response
//! (`X-LS-Api-Bucket-Level: level/size`, `X-LS-Api-Drip-Rate`, `X-LS-Api-Request-Cost`,
//! `X-LS-Api-Burst-Level: used/max`), let it drain at the drip rate, and hold a request
//! until its cost fits under the brim. In steady state requests go out exactly as fast as
//! the bucket drains: no 429s and no idle capacity. Also the request counters.
//!
//! Not `governor`: its GCRA limiter has a fixed quota, while this bucket is shared with
//! other clients of the account and must be re-synchronised from every response.
//!
//! One process sees only its own requests until the answers come back. Where several run
//! at once (Lambda instances, a CLI beside the runner), a [`SharedBucket`] books every
//! request on one schedule for the account first; this pacer then only corrects for what
//! the headers show (other applications using the account).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::HeaderMap;
use tokio::time::Instant;

/// Pacing settings.
#[derive(Debug, Clone, PartialEq)]
pub struct PacingOptions {
    /// Whether to pace at all (429s are still honoured when off).
    pub enabled: bool,
    /// Drips kept free below the brim, to absorb other clients and clock skew.
    pub margin: f64,
    /// Bucket size assumed before the first response (docs: 90 base).
    pub initial_bucket_size: f64,
    /// Drip rate assumed before the first response (docs: 1/s base).
    pub initial_drip_rate: f64,
    /// Pause after a response shows the burst window full (docs: "wait ≥ 1 s").
    pub burst_pause: Duration,
    /// The burst limiter's fixed window (docs: 1 s; shorter against a simulator whose time
    /// runs faster).
    pub burst_window: Duration,
}

impl Default for PacingOptions {
    fn default() -> Self {
        Self {
            enabled: true,
            margin: 1.0,
            initial_bucket_size: 90.0,
            initial_drip_rate: 1.0,
            burst_pause: Duration::from_secs(1),
            burst_window: Duration::from_secs(1),
        }
    }
}

/// A budget shared by every client of one Lightspeed account, wherever they run
/// (api-notes/LIGHTSPEED.md §2.5: the bucket and the burst limiter are per account and API
/// client). Two lanes: `bucket` (drips) and `burst` (requests).
#[async_trait]
pub trait SharedBucket: Send + Sync + std::fmt::Debug {
    /// Books `units` on the lane `lane`, a schedule draining `per_second` that may run
    /// `room` units ahead, and returns how long to wait before sending. An error is logged
    /// and the request goes on under this client's own pacer and the server's 429s.
    async fn reserve(
        &self,
        lane: &str,
        units: f64,
        per_second: f64,
        room: f64,
    ) -> Result<Duration, String>;
}

/// One lane of a shared booking: units, rate and room.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Lane {
    pub(crate) name: &'static str,
    pub(crate) units: f64,
    pub(crate) per_second: f64,
    pub(crate) room: f64,
}

/// The bucket headers of one response.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BucketHeaders {
    pub level: f64,
    pub size: f64,
    pub drip_rate: Option<f64>,
    pub cost: Option<f64>,
    pub burst: Option<(f64, f64)>,
}

impl BucketHeaders {
    /// Reads the headers; `None` when the bucket level is absent or malformed.
    pub fn parse(headers: &HeaderMap) -> Option<Self> {
        let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let pair = |text: &str| -> Option<(f64, f64)> {
            let (a, b) = text.split_once('/')?;
            Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
        };
        let (level, size) = pair(get("x-ls-api-bucket-level")?)?;
        let positive = |v: f64| (v.is_finite() && v > 0.0).then_some(v);
        Some(Self {
            level,
            size: positive(size)?,
            drip_rate: get("x-ls-api-drip-rate")
                .and_then(|t| t.trim().parse().ok())
                .and_then(positive),
            cost: get("x-ls-api-request-cost").and_then(|t| t.trim().parse().ok()),
            burst: get("x-ls-api-burst-level").and_then(pair),
        })
    }

    /// Time until a request of this response's cost (1 when not given) fits in the bucket
    /// again, by [`wait_needed`] with no margin: the wait a 429 implies (api-notes §2.5).
    /// `None` without a drip rate.
    pub fn room_wait(&self) -> Option<Duration> {
        let drip = self.drip_rate?;
        let cost = self.cost.unwrap_or(1.0);
        Some(wait_needed(self.level, self.size, drip, 0.0, cost, 0.0))
    }
}

/// How long a request of `cost` must wait: the estimated level (`level` drained for
/// `elapsed` seconds at `drip`) plus the cost must fit under `size − margin`. An empty
/// bucket always admits (a request bigger than the bucket is allowed to overflow it once).
pub fn wait_needed(
    level: f64,
    size: f64,
    drip: f64,
    elapsed: f64,
    cost: f64,
    margin: f64,
) -> Duration {
    let now_level = (level - drip * elapsed.max(0.0)).max(0.0);
    if now_level <= 0.0 {
        return Duration::ZERO;
    }
    let excess = now_level + cost - (size - margin);
    if excess <= 0.0 || drip <= 0.0 {
        return Duration::ZERO;
    }
    // Waiting for the excess, but never longer than it takes to empty the bucket.
    Duration::from_secs_f64((excess.min(now_level) / drip).max(0.0))
}

#[derive(Debug)]
struct State {
    level: f64,
    size: f64,
    drip: f64,
    at: Instant,
    in_flight: f64,
    blocked_until: Option<Instant>,
    /// The burst limiter's requests per window, once a response showed it.
    burst_max: Option<f64>,
    /// Whether a response's bucket headers were seen (the drip rate is known).
    observed: bool,
}

/// The shared pacer of one client.
#[derive(Debug)]
pub(crate) struct Pacer {
    options: PacingOptions,
    state: Mutex<State>,
}

/// A reservation for one request in flight.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Permit {
    cost: f64,
}

impl Pacer {
    pub(crate) fn new(options: PacingOptions) -> Self {
        let state = State {
            level: 0.0,
            size: options.initial_bucket_size,
            drip: options.initial_drip_rate,
            at: Instant::now(),
            in_flight: 0.0,
            blocked_until: None,
            burst_max: None,
            observed: false,
        };
        Self {
            options,
            state: Mutex::new(state),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits until a request of `cost` drips fits, then reserves it. Returns the permit and
    /// the time spent waiting.
    pub(crate) async fn acquire(&self, cost: f64) -> (Permit, Duration) {
        let started = Instant::now();
        let mut slept = false;
        loop {
            let wait = {
                let mut s = self.lock();
                let now = Instant::now();
                let blocked = s
                    .blocked_until
                    .filter(|until| *until > now)
                    .map(|until| until - now);
                let wait = match blocked {
                    Some(w) => w,
                    None if !self.options.enabled => Duration::ZERO,
                    None => wait_needed(
                        s.level,
                        s.size,
                        s.drip,
                        (now - s.at).as_secs_f64(),
                        cost,
                        self.options.margin,
                    ),
                };
                if wait.is_zero() {
                    let elapsed = (now - s.at).as_secs_f64();
                    s.level = (s.level - s.drip * elapsed).max(0.0) + cost;
                    s.at = now;
                    s.in_flight += cost;
                    let waited = if slept {
                        started.elapsed()
                    } else {
                        Duration::ZERO
                    };
                    return (Permit { cost }, waited);
                }
                wait
            };
            tokio::time::sleep(wait).await;
            slept = true;
        }
    }

    /// Re-synchronises the estimate from a response's headers and ends the reservation.
    /// Returns the parsed bucket headers, for the caller to reuse (cost, 429 wait).
    pub(crate) fn observe(&self, permit: Permit, headers: &HeaderMap) -> Option<BucketHeaders> {
        let mut s = self.lock();
        s.in_flight = (s.in_flight - permit.cost).max(0.0);
        let h = BucketHeaders::parse(headers)?;
        let now = Instant::now();
        // Requests still in flight may not be counted by the server yet: keep them.
        s.level = h.level.max(0.0) + s.in_flight;
        s.size = h.size;
        if let Some(d) = h.drip_rate {
            s.drip = d;
            s.observed = true;
        }
        s.at = now;
        if let Some((_, max)) = h.burst
            && max > 0.0
        {
            s.burst_max = Some(max);
        }
        if let Some((used, max)) = h.burst
            && max > 0.0
            && used >= max
        {
            let until = now + self.options.burst_pause;
            s.blocked_until = Some(s.blocked_until.map_or(until, |b| b.max(until)));
        }
        Some(h)
    }

    /// Whether a response has shown the bucket's drip rate yet.
    pub(crate) fn observed(&self) -> bool {
        self.lock().observed
    }

    /// The lanes a request of `cost` drips books on a shared budget. The bucket: its size
    /// less the margin and one drip more for the clocks of several instances. The burst
    /// limiter, once a response showed it: `max` requests per fixed window `w` hold when the
    /// schedule runs at `max / 2w` with a room of `max / 2 − 1` (at most `room + rate · w`
    /// in any window); far above any drip rate, so it only spreads a first burst.
    pub(crate) fn shared_lanes(&self, cost: f64) -> Vec<Lane> {
        let s = self.lock();
        let mut lanes = vec![Lane {
            name: "bucket",
            units: cost,
            per_second: s.drip,
            room: (s.size - self.options.margin - 1.0).max(1.0),
        }];
        let window = self.options.burst_window.as_secs_f64();
        if let Some(max) = s.burst_max
            && window > 0.0
        {
            lanes.push(Lane {
                name: "burst",
                units: 1.0,
                per_second: max / (2.0 * window),
                room: (max / 2.0 - 1.0).floor().max(1.0),
            });
        }
        lanes
    }

    /// Ends a reservation that got no response headers (transport failure).
    pub(crate) fn abandon(&self, permit: Permit) {
        let mut s = self.lock();
        s.in_flight = (s.in_flight - permit.cost).max(0.0);
    }

    /// Holds every request for `wait` (after a 429 with `Retry-After`).
    pub(crate) fn hold(&self, wait: Duration) {
        let mut s = self.lock();
        let until = Instant::now() + wait;
        s.blocked_until = Some(s.blocked_until.map_or(until, |b| b.max(until)));
    }
}

/// Counters of one client, for callers to report.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) requests: AtomicU64,
    pub(crate) throttled: AtomicU64,
    pub(crate) retries: AtomicU64,
    pub(crate) paced_waits: AtomicU64,
    pub(crate) paced_micros: AtomicU64,
    pub(crate) milli_drips: AtomicU64,
}

/// A snapshot of a client's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ClientStats {
    /// HTTP requests sent to the API (retries included; token requests excluded).
    pub requests: u64,
    /// 429 answers seen.
    pub throttled: u64,
    /// Requests sent again after a failure.
    pub retries: u64,
    /// Refresh grants this process performed.
    pub token_refreshes: u64,
    /// Requests that waited for the bucket, and the total wait.
    pub pacing_waits: u64,
    pub pacing_wait: Duration,
    /// Sum of `X-LS-Api-Request-Cost` over the answers (drips used).
    pub drips_used: f64,
}

impl Counters {
    /// The counters, with the token manager's refresh count (kept there, not here).
    pub(crate) fn snapshot(&self, token_refreshes: u64) -> ClientStats {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ClientStats {
            requests: get(&self.requests),
            throttled: get(&self.throttled),
            retries: get(&self.retries),
            token_refreshes,
            pacing_waits: get(&self.paced_waits),
            pacing_wait: Duration::from_micros(get(&self.paced_micros)),
            drips_used: get(&self.milli_drips) as f64 / 1000.0,
        }
    }

    pub(crate) fn bump(counter: &AtomicU64, by: u64) {
        counter.fetch_add(by, Ordering::Relaxed);
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
    fn waits_for_exactly_the_excess_at_the_drip_rate() {
        assert_eq!(wait_needed(10.0, 90.0, 1.0, 0.0, 1.0, 1.0), Duration::ZERO);
        // 89 + 1 must fit under 89: wait one drip.
        assert_eq!(
            wait_needed(89.0, 90.0, 1.0, 0.0, 1.0, 1.0),
            Duration::from_secs(1)
        );
        // Already drained for half a second at 2/s.
        assert_eq!(wait_needed(89.0, 90.0, 2.0, 0.5, 1.0, 1.0), Duration::ZERO);
        assert_eq!(
            wait_needed(95.0, 90.0, 2.0, 0.0, 2.0, 0.0),
            Duration::from_millis(3500)
        );
        // A request bigger than the bucket waits for it to empty, not forever.
        assert_eq!(
            wait_needed(5.0, 10.0, 1.0, 0.0, 50.0, 0.0),
            Duration::from_secs(5)
        );
    }

    #[test]
    fn headers_parse_with_floats() {
        let h = BucketHeaders::parse(&headers(&[
            ("x-ls-api-bucket-level", "37.46/90"),
            ("x-ls-api-drip-rate", "1.5"),
            ("x-ls-api-request-cost", "1.2"),
            ("x-ls-api-burst-level", "3/20"),
        ]))
        .unwrap();
        assert!((h.level - 37.46).abs() < 1e-9);
        assert!((h.size - 90.0).abs() < 1e-9);
        assert_eq!(h.drip_rate, Some(1.5));
        assert_eq!(h.cost, Some(1.2));
        assert_eq!(h.burst, Some((3.0, 20.0)));
        assert!(BucketHeaders::parse(&headers(&[("x-ls-api-bucket-level", "full")])).is_none());
    }

    #[test]
    fn room_wait_is_the_excess_over_the_brim_at_the_drip_rate() {
        let h = |pairs: &[(&'static str, &str)]| BucketHeaders::parse(&headers(pairs)).unwrap();
        let full = h(&[
            ("x-ls-api-bucket-level", "91.5/90"),
            ("x-ls-api-drip-rate", "2"),
            ("x-ls-api-request-cost", "1.5"),
        ]);
        assert_eq!(full.room_wait(), Some(Duration::from_millis(1500)));
        // No cost header: one drip.
        let no_cost = h(&[
            ("x-ls-api-bucket-level", "90/90"),
            ("x-ls-api-drip-rate", "4"),
        ]);
        assert_eq!(no_cost.room_wait(), Some(Duration::from_millis(250)));
        let room = h(&[
            ("x-ls-api-bucket-level", "10/90"),
            ("x-ls-api-drip-rate", "1"),
        ]);
        assert_eq!(room.room_wait(), Some(Duration::ZERO));
        assert_eq!(h(&[("x-ls-api-bucket-level", "95/90")]).room_wait(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_bucket_makes_the_next_request_wait_for_its_cost() {
        let pacer = Pacer::new(PacingOptions::default());
        let (p, waited) = pacer.acquire(1.0).await;
        assert!(waited.is_zero());
        pacer.observe(
            p,
            &headers(&[
                ("x-ls-api-bucket-level", "89/90"),
                ("x-ls-api-drip-rate", "4"),
            ]),
        );
        let (_p, waited) = pacer.acquire(1.0).await;
        // 89 + 1 ≤ 89 needs one drip gone: 0.25 s at 4/s.
        assert_eq!(waited, Duration::from_millis(250));
    }

    #[test]
    fn shared_lanes_keep_under_the_brim_and_the_burst_limiter() {
        let pacer = Pacer::new(PacingOptions::default());
        let lanes = pacer.shared_lanes(1.2);
        assert_eq!(lanes.len(), 1, "no burst lane before the limiter is seen");
        assert_eq!((lanes[0].units, lanes[0].room), (1.2, 88.0));
        pacer.observe(
            Permit { cost: 1.0 },
            &headers(&[
                ("x-ls-api-bucket-level", "3/90"),
                ("x-ls-api-drip-rate", "1.5"),
                ("x-ls-api-burst-level", "1/20"),
            ]),
        );
        let lanes = pacer.shared_lanes(1.0);
        assert!((lanes[0].per_second - 1.5).abs() < f64::EPSILON);
        let burst = lanes[1];
        assert_eq!((burst.name, burst.units), ("burst", 1.0));
        // At most 9 at once and 10 a second: never more than 20 in one window.
        assert_eq!((burst.per_second, burst.room), (10.0, 9.0));
        assert!(burst.room + burst.per_second * 1.0 < 20.0);
    }

    #[tokio::test(start_paused = true)]
    async fn hold_blocks_everyone() {
        let pacer = Pacer::new(PacingOptions::default());
        pacer.hold(Duration::from_secs(2));
        let (_p, waited) = pacer.acquire(1.0).await;
        assert_eq!(waited, Duration::from_secs(2));
    }
}
