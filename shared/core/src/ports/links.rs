//! The link store port: which target record a source record became.

use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::StoreError;
use crate::flow::Flow;
use crate::record::{ContentHash, MatchKey, RecordKey, SourceVersion};

/// Source record → target record, with what was last written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Link {
    /// The flow.
    pub flow: Flow,
    /// The source record (or command) key.
    pub key: RecordKey,
    /// The target record's id (BC `id` GUID, Lightspeed `itemID`).
    pub target_id: String,
    /// The target record's ETag after our last write, if the target has ETags.
    #[serde(default)]
    pub etag: Option<String>,
    /// The source version last written.
    pub source_version: SourceVersion,
    /// Hash of the command last written.
    pub content_hash: ContentHash,
    /// The match key the target record was found or created by.
    #[serde(default)]
    pub match_key: Option<MatchKey>,
    /// Flow-specific details (e.g. the contact id of a company customer, variant ids).
    #[serde(default)]
    pub extra: Map<String, Value>,
    /// When the link was written.
    pub updated_at: Timestamp,
}

/// The result of a conditional link write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkWrite {
    /// Written.
    Written,
    /// Not written: the stored link has a newer source version.
    Stale,
}

/// Keeps links.
#[async_trait]
pub trait LinkStore: Send + Sync {
    /// The link of a source record.
    async fn get(&self, flow: Flow, key: &RecordKey) -> Result<Option<Link>, StoreError>;

    /// Writes `link` unless the stored one has a newer source version.
    async fn put(&self, link: &Link) -> Result<LinkWrite, StoreError>;

    /// The links pointing at a target record (the reverse direction, e.g. BC item → the
    /// Lightspeed item it came from).
    async fn find_by_target(&self, flow: Flow, target_id: &str) -> Result<Vec<Link>, StoreError>;
}
