//! The flow-facing ports: a [`Source`] to read records from, a [`Transformer`] that turns a
//! record into target commands, and a [`Sink`] that applies a command to the target.
//! The connectors implement all three, one kit per flow (the mapping engine is what the
//! transformers evaluate).

use async_trait::async_trait;
use jiff::Timestamp;
use serde_json::{Map, Value};

use crate::cursor::Overlap;
use crate::error::StageError;
use crate::flow::Flow;
use crate::ports::links::Link;
use crate::record::{MatchKey, Record, RecordKey, SourceVersion};

/// An opaque position in a paged read (for Lightspeed: the `next` URL, verbatim).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageToken(pub String);

/// Which versions to read: `from` (inclusive; `None` = from the start) up to the signpost
/// `to` (inclusive).
#[derive(Debug, Clone, PartialEq)]
pub struct ReadRange {
    /// Lower bound.
    pub from: Option<SourceVersion>,
    /// Upper bound: the signpost.
    pub to: SourceVersion,
}

/// One page of records, in ascending version order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SourcePage {
    /// The records.
    pub records: Vec<Record>,
    /// Where the next page starts, if there is one.
    pub next: Option<PageToken>,
    /// Records of the page that can't be tracked (no id, an unreadable version): the poll
    /// stage parks each in the dead-letter queue with its reason, so nothing is dropped
    /// silently.
    pub rejected: Vec<Rejected>,
}

impl SourcePage {
    /// A page of `records` (no rejected ones).
    pub fn of(records: Vec<Record>, next: Option<PageToken>) -> Self {
        Self {
            records,
            next,
            rejected: Vec::new(),
        }
    }
}

/// A source record that can't be tracked, with why.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    /// Its id, or `unidentified-<hash of the payload>` when it has none.
    pub key: RecordKey,
    /// The field at fault.
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
    /// The record as the source gave it.
    pub payload: Value,
}

/// Reads one stream of records in ascending version order.
#[async_trait]
pub trait Source: Send + Sync {
    /// The flow it feeds.
    fn flow(&self) -> Flow;

    /// The stream's name (the cursor is kept per stream), e.g. `Customer`.
    fn stream(&self) -> &str;

    /// How far before the cursor each poll re-reads.
    fn overlap(&self) -> Overlap;

    /// The signpost for a poll starting at `now`: the highest version this poll may read.
    async fn signpost(&self, now: Timestamp) -> Result<SourceVersion, StageError>;

    /// One page of records within `range`; `page` is `None` for the first page.
    async fn read_page(
        &self,
        range: &ReadRange,
        page: Option<&PageToken>,
    ) -> Result<SourcePage, StageError>;

    /// Reads one record again by key (`None` if it no longer exists).
    async fn fetch(&self, key: &RecordKey) -> Result<Option<Record>, StageError>;
}

/// One thing the target should look like, made from a source record.
#[derive(Debug, Clone, PartialEq)]
pub struct Transformed {
    /// The command's own key (the record key, or a part of an aggregate).
    pub key: RecordKey,
    /// How to find the target record without a link.
    pub match_key: MatchKey,
    /// The command for the sink.
    pub command: Value,
    /// Non-fatal problems (e.g. a truncated name), logged and kept in the activity log.
    pub warnings: Vec<String>,
}

/// Turns a source record into target commands. Pure apart from cached configuration reads.
#[async_trait]
pub trait Transformer: Send + Sync {
    /// The flow it serves.
    fn flow(&self) -> Flow;

    /// The commands for `record`, in the order they must be pushed. A record the rules skip
    /// is [`StageError::Skipped`]; a record that can't be mapped is
    /// [`StageError::InvalidRecord`] naming the field.
    async fn transform(&self, record: &Record) -> Result<Vec<Transformed>, StageError>;
}

/// What a sink did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Created the target record.
    Created,
    /// Updated it.
    Updated,
    /// Found it already as the command says: nothing written.
    Unchanged,
}

/// The result of applying a command.
#[derive(Debug, Clone, PartialEq)]
pub struct SinkOutcome {
    /// What the sink did.
    pub action: Action,
    /// The target record's id.
    pub target_id: String,
    /// Its ETag after the write, if the target has ETags.
    pub etag: Option<String>,
    /// Flow-specific details to keep on the link.
    pub extra: Map<String, Value>,
    /// The request bodies sent, for the activity log.
    pub sent: Vec<Value>,
}

/// A command to apply, with what is known about its target record.
#[derive(Debug, Clone, Copy)]
pub struct PushRequest<'a> {
    /// The command's key.
    pub key: &'a RecordKey,
    /// The source version it was made from.
    pub version: &'a SourceVersion,
    /// How to find the target record without a link.
    pub match_key: &'a MatchKey,
    /// The command.
    pub command: &'a Value,
    /// The link from an earlier push, if any.
    pub link: Option<&'a Link>,
}

/// Applies commands to the target: idempotent upserts by link, then by match key.
#[async_trait]
pub trait Sink: Send + Sync {
    /// The flow it serves.
    fn flow(&self) -> Flow;

    /// Whether every command makes the sink recompute the target from both systems' state
    /// as it is now (stock): an older command is then as good as a newer one, so the push
    /// stage never skips one as stale — a ledger entry that became visible late still
    /// triggers its recompute.
    fn recomputes(&self) -> bool {
        false
    }

    /// Finds the target record (by the link, else by the match key), then creates or
    /// updates it. Must be safe to call again with the same request after a crash.
    async fn upsert(&self, request: PushRequest<'_>) -> Result<SinkOutcome, StageError>;
}

/// The connector and mapping parts of one flow, as the runners need them.
#[derive(Clone)]
pub struct FlowParts {
    /// Where records come from (its `fetch` re-reads any record of the flow).
    pub source: std::sync::Arc<dyn Source>,
    /// Further streams of the same flow, polled after `source`, each with its own cursor
    /// (e.g. item matrices beside items).
    pub more_sources: Vec<std::sync::Arc<dyn Source>>,
    /// How they become target commands.
    pub transformer: std::sync::Arc<dyn Transformer>,
    /// Where commands go.
    pub sink: std::sync::Arc<dyn Sink>,
}

impl FlowParts {
    /// Every stream of the flow, the main one first.
    pub fn sources(&self) -> impl Iterator<Item = &std::sync::Arc<dyn Source>> {
        std::iter::once(&self.source).chain(self.more_sources.iter())
    }
}

impl std::fmt::Debug for FlowParts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlowParts")
            .field("flow", &self.source.flow())
            .finish_non_exhaustive()
    }
}
