//! The cursor store port: each flow's stream position, saved conditionally.

use async_trait::async_trait;

use crate::cursor::{Cursor, StoredCursor};
use crate::error::StoreError;
use crate::flow::Flow;

/// Keeps one cursor per (flow, stream).
#[async_trait]
pub trait CursorStore: Send + Sync {
    /// The stored cursor, or `None` before the first checkpoint.
    async fn load(&self, flow: Flow, stream: &str) -> Result<Option<StoredCursor>, StoreError>;

    /// Saves `cursor` if the stored revision is still `expected_revision` (`0` = nothing
    /// stored yet); returns the new revision. A lost race is [`StoreError::Conflict`].
    async fn save(
        &self,
        flow: Flow,
        stream: &str,
        cursor: &Cursor,
        expected_revision: u64,
    ) -> Result<u64, StoreError>;
}
