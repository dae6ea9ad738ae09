//! The activity log port: for each record, what came from the source, what was sent to the
//! target, and the outcome. Entries expire (GDPR): the store deletes them after
//! `expires_at`.

use std::fmt;
use std::str::FromStr;

use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::StoreError;
use crate::flow::Flow;
use crate::record::{RecordKey, TraceId};

/// What happened to a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Created in the target.
    Created,
    /// Updated in the target.
    Updated,
    /// Same content as last time: no request made.
    Unchanged,
    /// Deliberately not synced (the message says by which rule).
    Skipped,
    /// Failed for good: parked in the dead-letter queue.
    Failed,
    /// Failed for now: will be retried.
    Retrying,
}

impl Outcome {
    /// Every outcome.
    pub const ALL: [Outcome; 6] = [
        Outcome::Created,
        Outcome::Updated,
        Outcome::Unchanged,
        Outcome::Skipped,
        Outcome::Failed,
        Outcome::Retrying,
    ];

    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Updated => "updated",
            Outcome::Unchanged => "unchanged",
            Outcome::Skipped => "skipped",
            Outcome::Failed => "failed",
            Outcome::Retrying => "retrying",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Outcome {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Outcome::ALL
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| format!("unknown outcome `{s}`"))
    }
}

/// One line of the activity log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityEntry {
    /// Unique id of the entry.
    pub id: String,
    /// The flow.
    pub flow: Flow,
    /// The record.
    pub key: RecordKey,
    /// The change's trace id.
    pub trace_id: TraceId,
    /// Which stage wrote it (`transform`, `push`, …).
    pub stage: String,
    /// What happened.
    pub outcome: Outcome,
    /// Why, for an operator (the rule that skipped it, the reason it failed, …).
    pub message: String,
    /// When.
    pub at: Timestamp,
    /// When the store may delete it.
    pub expires_at: Timestamp,
    /// What came from the source (omitted in ids-only mode).
    #[serde(default)]
    pub source: Option<Value>,
    /// What was sent to the target (omitted in ids-only mode).
    #[serde(default)]
    pub target: Option<Value>,
}

/// A search of the activity log. Unset fields don't filter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActivityQuery {
    /// Only this flow.
    pub flow: Option<Flow>,
    /// Only this record (needs `flow`).
    pub key: Option<RecordKey>,
    /// Only this outcome.
    pub outcome: Option<Outcome>,
    /// Only entries at or after this time.
    pub since: Option<Timestamp>,
    /// Only entries before this time.
    pub until: Option<Timestamp>,
    /// At most this many entries, newest first (`0` = a default of 100).
    pub limit: usize,
}

impl ActivityQuery {
    /// The limit to apply.
    pub fn effective_limit(&self) -> usize {
        if self.limit == 0 { 100 } else { self.limit }
    }

    /// `entries` newest first (by time, then id), at most [`Self::effective_limit`] of them:
    /// the answer to this query from entries that pass its filters.
    pub fn newest_first(&self, mut entries: Vec<ActivityEntry>) -> Vec<ActivityEntry> {
        entries.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| b.id.cmp(&a.id)));
        entries.truncate(self.effective_limit());
        entries
    }

    /// Whether `entry` passes every filter.
    pub fn matches(&self, entry: &ActivityEntry) -> bool {
        self.flow.is_none_or(|f| f == entry.flow)
            && self.key.as_ref().is_none_or(|k| k == &entry.key)
            && self.outcome.is_none_or(|o| o == entry.outcome)
            && self.since.is_none_or(|t| entry.at >= t)
            && self.until.is_none_or(|t| entry.at < t)
    }
}

/// Keeps the activity log.
#[async_trait]
pub trait ActivityLog: Send + Sync {
    /// Appends an entry.
    async fn record(&self, entry: &ActivityEntry) -> Result<(), StoreError>;

    /// Entries matching `query`, newest first.
    async fn query(&self, query: &ActivityQuery) -> Result<Vec<ActivityEntry>, StoreError>;
}
