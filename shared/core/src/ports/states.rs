//! The record state port: where a record of a flow with a life of its own stands (a sale:
//! discovered, waiting for its items, created, posted, voided, conflict, …), why, and
//! since when. Flows whose records are simply upserted (customers, products) need none:
//! their link says everything.

use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::StoreError;
use crate::flow::Flow;
use crate::record::RecordKey;

/// The state of one record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordState {
    /// The flow.
    pub flow: Flow,
    /// The source record.
    pub key: RecordKey,
    /// The state's name, a lower-case word the flow defines (`waiting`, `created`, …).
    pub state: String,
    /// Why it is in this state, for people (`missing items: TEE-1, MUG-2`).
    #[serde(default)]
    pub reason: String,
    /// Flow-specific details (document ids and numbers, figures compared, …).
    #[serde(default)]
    pub detail: Map<String, Value>,
    /// When the record entered this state (kept while the state stays the same).
    pub since: Timestamp,
    /// When the state was last written.
    pub updated_at: Timestamp,
    /// Write counter: 1 for the first write, one more each write. Conditional writes
    /// compare it.
    #[serde(default)]
    pub version: u64,
}

impl RecordState {
    /// A first state of `key`, entered `now`.
    pub fn new(flow: Flow, key: RecordKey, state: &str, now: Timestamp) -> Self {
        Self {
            flow,
            key,
            state: state.to_owned(),
            reason: String::new(),
            detail: Map::new(),
            since: now,
            updated_at: now,
            version: 0,
        }
    }

    /// The same record moved to `state` at `now` (`since` kept when the state is the same).
    #[must_use]
    pub fn moved(&self, state: &str, now: Timestamp) -> Self {
        Self {
            state: state.to_owned(),
            since: if self.state == state { self.since } else { now },
            updated_at: now,
            ..self.clone()
        }
    }
}

/// Keeps record states.
#[async_trait]
pub trait StateStore: Send + Sync {
    /// The state of a record, if it has one.
    async fn get_state(
        &self,
        flow: Flow,
        key: &RecordKey,
    ) -> Result<Option<RecordState>, StoreError>;

    /// Writes `state` if the stored version is still `state.version` (0: none stored), and
    /// returns the state as stored (version one more). A lost race is
    /// [`StoreError::Conflict`].
    async fn put_state(&self, state: &RecordState) -> Result<RecordState, StoreError>;

    /// Up to `limit` records of `flow` in `state`, longest in it first (oldest `since`).
    async fn list_states(
        &self,
        flow: Flow,
        state: &str,
        limit: usize,
    ) -> Result<Vec<RecordState>, StoreError>;
}
