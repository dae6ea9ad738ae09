//! The claim store port: short leases that let exactly one worker do a thing — create the
//! target record for a match key, or refresh a rotating OAuth token.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};

use crate::error::StoreError;
use crate::flow::Flow;

/// What a claim is on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClaimKey(String);

impl ClaimKey {
    /// The claim on a source record (serialises every push of it).
    pub fn record(flow: Flow, key: &str) -> Self {
        Self(format!("record#{flow}#{key}"))
    }

    /// The claim on a match key (serialises creates racing for one e-mail or SKU).
    pub fn match_key(flow: Flow, key: &str) -> Self {
        Self(format!("match#{flow}#{key}"))
    }

    /// Any other named lease, e.g. `token-refresh#lightspeed`.
    pub fn named(name: &str) -> Self {
        Self(format!("lease#{name}"))
    }

    /// The key as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClaimKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Grants leases.
#[async_trait]
pub trait ClaimStore: Send + Sync {
    /// Takes the claim for `owner` until `now + ttl` if it is free, expired, or already
    /// `owner`'s. Returns whether `owner` holds it now. Of two concurrent callers, one wins.
    async fn acquire(
        &self,
        key: &ClaimKey,
        owner: &str,
        ttl: Duration,
        now: Timestamp,
    ) -> Result<bool, StoreError>;

    /// Gives the claim up if `owner` holds it; otherwise does nothing.
    async fn release(&self, key: &ClaimKey, owner: &str) -> Result<(), StoreError>;

    /// The end of a lease taken at `now` for `ttl`: `now + ttl`, saturating at
    /// [`Timestamp::MAX`] (so an endless `ttl` is a lease that never expires). Every adapter
    /// computes the end with this; it is not meant to be overridden.
    fn lease_until(now: Timestamp, ttl: Duration) -> Timestamp
    where
        Self: Sized,
    {
        now.checked_add(SignedDuration::try_from(ttl).unwrap_or(SignedDuration::MAX))
            .unwrap_or(Timestamp::MAX)
    }
}
