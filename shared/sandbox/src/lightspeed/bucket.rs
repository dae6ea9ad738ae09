//! The leaky bucket of the R-Series API (api-notes/LIGHTSPEED.md §2.5, rate-limit page and
//! changelog 2026-03-17): a bucket of `size` drips that leaks `drip_rate` drips per second;
//! each request adds its cost; a request arriving while the bucket is not yet over the brim
//! is admitted even if it overflows ("the first request that overflows is allowed"), later
//! ones get 429 until the level is back under the size. An optional burst limiter counts
//! requests in fixed one-second windows. Time is API seconds from the simulated clock; the
//! header values are converted to wall-clock units by the caller. No HTTP here.

/// What the bucket says about one request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Admission {
    /// Served; the level after adding the cost.
    Allowed,
    /// Refused by the leaky bucket; API seconds until a request would be admitted.
    Bucket { retry_after: f64 },
    /// Refused by the burst limiter; API seconds until the window ends.
    Burst { retry_after: f64 },
}

/// Bucket state.
#[derive(Debug, Clone)]
pub(crate) struct Bucket {
    size: f64,
    drip_rate: f64,
    level: f64,
    at: f64,
    burst_limit: Option<u32>,
    burst_window: i64,
    burst_count: u32,
    drips_used: f64,
}

impl Bucket {
    /// An empty bucket.
    pub(crate) fn new(size: f64, drip_rate: f64, burst_limit: Option<u32>) -> Self {
        Self {
            size: size.max(1.0),
            drip_rate: drip_rate.max(0.001),
            level: 0.0,
            at: 0.0,
            burst_limit,
            burst_window: -1,
            burst_count: 0,
            drips_used: 0.0,
        }
    }

    fn drain(&mut self, now: f64) {
        if now > self.at {
            self.level = (self.level - (now - self.at) * self.drip_rate).max(0.0);
            self.at = now;
        }
    }

    /// Decides one request of `cost` drips at API time `now`.
    pub(crate) fn admit(&mut self, now: f64, cost: f64) -> Admission {
        self.drain(now);
        if let Some(limit) = self.burst_limit {
            let window = now.floor() as i64;
            if window != self.burst_window {
                self.burst_window = window;
                self.burst_count = 0;
            }
            if self.burst_count >= limit {
                return Admission::Burst {
                    retry_after: (window as f64 + 1.0 - now).max(0.001),
                };
            }
        }
        if self.level > self.size {
            return Admission::Bucket {
                retry_after: (self.level - self.size) / self.drip_rate,
            };
        }
        self.level += cost;
        self.drips_used += cost;
        if self.burst_limit.is_some() {
            self.burst_count += 1;
        }
        Admission::Allowed
    }

    /// The level at API time `now`.
    pub(crate) fn level(&mut self, now: f64) -> f64 {
        self.drain(now);
        self.level
    }

    /// Bucket size in drips.
    pub(crate) fn size(&self) -> f64 {
        self.size
    }

    /// Drips per API second.
    pub(crate) fn drip_rate(&self) -> f64 {
        self.drip_rate
    }

    /// `(used, limit)` of the burst window, when the burst limiter is on.
    pub(crate) fn burst(&self) -> Option<(u32, u32)> {
        self.burst_limit.map(|l| (self.burst_count, l))
    }

    /// Drips charged since the start.
    pub(crate) fn drips_used(&self) -> f64 {
        self.drips_used
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_overflowing_request_is_allowed_then_429_until_it_drains() {
        let mut b = Bucket::new(10.0, 1.0, None);
        for _ in 0..10 {
            assert_eq!(b.admit(0.0, 1.0), Admission::Allowed);
        }
        // Level 10 = size: not over the brim yet, so this one is allowed and overflows.
        assert_eq!(b.admit(0.0, 1.0), Admission::Allowed);
        match b.admit(0.0, 1.0) {
            Admission::Bucket { retry_after } => assert!((retry_after - 1.0).abs() < 1e-9),
            other => panic!("expected 429, got {other:?}"),
        }
        // After the advertised wait it is admitted again.
        assert_eq!(b.admit(1.0, 1.0), Admission::Allowed);
        assert!((b.level(1.0) - 11.0).abs() < 1e-9);
    }

    #[test]
    fn the_bucket_leaks_at_the_drip_rate() {
        let mut b = Bucket::new(90.0, 2.0, None);
        assert_eq!(b.admit(0.0, 50.0), Admission::Allowed);
        assert!((b.level(10.0) - 30.0).abs() < 1e-9);
        assert!(b.level(100.0).abs() < 1e-9);
        assert!((b.drips_used() - 50.0).abs() < 1e-9);
    }

    #[test]
    fn the_burst_limiter_counts_per_second() {
        let mut b = Bucket::new(1000.0, 1.0, Some(3));
        for _ in 0..3 {
            assert_eq!(b.admit(5.2, 1.0), Admission::Allowed);
        }
        match b.admit(5.5, 1.0) {
            Admission::Burst { retry_after } => assert!((retry_after - 0.5).abs() < 1e-9),
            other => panic!("expected burst 429, got {other:?}"),
        }
        assert_eq!(b.admit(6.0, 1.0), Admission::Allowed);
        assert_eq!(b.burst(), Some((1, 3)));
    }
}
