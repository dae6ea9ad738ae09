//! The attempt store port: how often a queued message really failed. A queue's own receive
//! count also rises when a message comes back without being tried (held behind a failing
//! one in its FIFO group) or when the API only asked to wait (429), so it can't say when
//! to give up; this count can.

use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;

use crate::error::StoreError;

/// Counts failed attempts per message.
#[async_trait]
pub trait AttemptStore: Send + Sync {
    /// Counts one more failed attempt of the message `id` of `queue` and returns the count
    /// (1 the first time). A count is kept at least `keep` after its last attempt.
    async fn count_failure(
        &self,
        queue: &str,
        id: &str,
        now: Timestamp,
        keep: Duration,
    ) -> Result<u32, StoreError>;
}
