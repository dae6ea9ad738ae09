//! Stage tests over the in-memory adapters, with an in-memory paged source and a recording
//! sink.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::*;
use crate::cursor::Overlap;
use crate::envelope::{Body, Envelope};
use crate::error::{ExternalError, ExternalKind, StageError, System};
use crate::flow::{Flow, QueueName};
use crate::memory::{MemoryQueue, MemoryStore};
use crate::ports::{
    Action, ActivityLog, ActivityQuery, Clock, CursorStore, LinkStore, ManualClock, Outcome,
    PageToken, PushRequest, Queue, ReadRange, ReceivedMessage, Rejected, Sink, SinkOutcome, Source,
    SourcePage, Transformed, Transformer,
};
use crate::record::{MatchKey, Record, RecordKey, SourceVersion, TraceId};

/// Records in memory, served in (version, key) order, `page_size` at a time.
#[derive(Debug, Default)]
struct PagedSource {
    records: Mutex<Vec<Record>>,
    /// Records the source can't track, served with the first page.
    rejected: Mutex<Vec<Rejected>>,
    /// A page link the source refuses (as an expired Lightspeed cursor is refused).
    refused_link: Mutex<Option<String>>,
    page_size: usize,
    reads: Mutex<usize>,
    stream: &'static str,
}

impl PagedSource {
    fn new(page_size: usize) -> Self {
        Self::named(page_size, "Customer")
    }

    /// A source of another stream of the same flow.
    fn named(page_size: usize, stream: &'static str) -> Self {
        Self {
            page_size,
            stream,
            ..Self::default()
        }
    }

    fn upsert(&self, key: &str, at: &str, body: Value) {
        let mut records = self.records.lock().unwrap();
        records.retain(|r| r.key.as_str() != key);
        records.push(Record {
            flow: Flow::Customers,
            key: RecordKey::parse(key).unwrap(),
            version: at.parse().unwrap(),
            payload: body,
        });
    }
}

#[async_trait]
impl Source for PagedSource {
    fn flow(&self) -> Flow {
        Flow::Customers
    }

    fn stream(&self) -> &'static str {
        self.stream
    }

    fn overlap(&self) -> Overlap {
        Overlap::Time(SignedDuration::from_mins(2))
    }

    async fn signpost(&self, now: Timestamp) -> Result<SourceVersion, StageError> {
        Ok(SourceVersion::Timestamp(now))
    }

    async fn read_page(
        &self,
        range: &ReadRange,
        page: Option<&PageToken>,
    ) -> Result<SourcePage, StageError> {
        *self.reads.lock().unwrap() += 1;
        if let Some(p) = page
            && self.refused_link.lock().unwrap().as_deref() == Some(p.0.as_str())
        {
            return Err(crate::error::ExternalError::new(
                crate::error::System::Lightspeed,
                crate::error::ExternalKind::Rejected,
                "400: the cursor has expired",
            )
            .into());
        }
        let mut matching: Vec<Record> = self
            .records
            .lock()
            .unwrap()
            .iter()
            .filter(|r| {
                range
                    .from
                    .as_ref()
                    .is_none_or(|f| !f.is_newer_than(&r.version))
            })
            .filter(|r| !r.version.is_newer_than(&range.to))
            .cloned()
            .collect();
        matching.sort_by(|a, b| {
            a.version
                .partial_cmp(&b.version)
                .unwrap()
                .then_with(|| a.key.cmp(&b.key))
        });
        let start: usize = page.map_or(0, |p| p.0.parse().unwrap());
        let end = (start + self.page_size).min(matching.len());
        Ok(SourcePage {
            records: matching[start..end].to_vec(),
            next: (end < matching.len()).then(|| PageToken(end.to_string())),
            rejected: if page.is_none() {
                self.rejected.lock().unwrap().clone()
            } else {
                Vec::new()
            },
        })
    }

    async fn fetch(&self, key: &RecordKey) -> Result<Option<Record>, StageError> {
        Ok(self
            .records
            .lock()
            .unwrap()
            .iter()
            .find(|r| &r.key == key)
            .cloned())
    }
}

/// Maps `{"email": …, "name": …}` to a command; records named "skip" are skipped, records
/// without e-mail are invalid.
#[derive(Debug)]
struct EmailTransformer;

#[async_trait]
impl Transformer for EmailTransformer {
    fn flow(&self) -> Flow {
        Flow::Customers
    }

    async fn transform(&self, record: &Record) -> Result<Vec<Transformed>, StageError> {
        if record.payload["name"] == "skip" {
            return Err(StageError::Skipped {
                key: record.key.clone(),
                rule: "name is skip".into(),
            });
        }
        let email = record.payload["email"]
            .as_str()
            .ok_or_else(|| StageError::InvalidRecord {
                key: record.key.clone(),
                field: "email".into(),
                reason: "missing".into(),
            })?;
        Ok(vec![Transformed {
            key: record.key.clone(),
            match_key: MatchKey::parse(email.to_lowercase()).unwrap(),
            command: json!({"displayName": record.payload["name"], "email": email}),
            warnings: vec![],
        }])
    }
}

/// A target in memory: records by match key; counts calls.
#[derive(Debug, Default)]
struct RecordingSink {
    target: Mutex<Vec<(String, Value)>>,
    calls: Mutex<usize>,
    fail_with: Mutex<Option<ExternalKind>>,
}

#[async_trait]
impl Sink for RecordingSink {
    fn flow(&self) -> Flow {
        Flow::Customers
    }

    async fn upsert(&self, request: PushRequest<'_>) -> Result<SinkOutcome, StageError> {
        *self.calls.lock().unwrap() += 1;
        if let Some(kind) = self.fail_with.lock().unwrap().clone() {
            return Err(ExternalError::new(System::BusinessCentral, kind, "injected").into());
        }
        let mut target = self.target.lock().unwrap();
        let found = target
            .iter_mut()
            .find(|(k, _)| k == request.match_key.as_str());
        let action = if let Some((_, body)) = found {
            *body = request.command.clone();
            Action::Updated
        } else {
            target.push((
                request.match_key.as_str().to_owned(),
                request.command.clone(),
            ));
            Action::Created
        };
        Ok(SinkOutcome {
            action,
            target_id: format!("bc-{}", request.match_key),
            etag: Some("W/\"1\"".into()),
            extra: serde_json::Map::new(),
            sent: vec![request.command.clone()],
        })
    }
}

struct World {
    store: MemoryStore,
    queue: MemoryQueue,
    clock: ManualClock,
    source: PagedSource,
    sink: RecordingSink,
}

impl World {
    fn new(page_size: usize) -> Self {
        Self {
            store: MemoryStore::new(),
            queue: MemoryQueue::new(Duration::from_secs(30)),
            clock: ManualClock::new("2024-06-01T12:00:00Z".parse().unwrap()),
            source: PagedSource::new(page_size),
            sink: RecordingSink::default(),
        }
    }

    fn poll_stage(&self, max_pages: usize) -> PollStage<'_> {
        PollStage {
            source: &self.source,
            more_sources: &[],
            cursors: &self.store,
            claims: &self.store,
            queue: &self.queue,
            clock: &self.clock,
            budget: PollBudget {
                max_pages,
                ..PollBudget::default()
            },
        }
    }

    fn settler(&self) -> Settler<'_> {
        Settler {
            queue: &self.queue,
            activity: &self.store,
            clock: &self.clock,
            policy: ActivityPolicy::default(),
            max_receives: 3,
            redrive: 10,
            attempts: &self.store,
            delete_acked: true,
        }
    }

    async fn drain(&self, queue: QueueName) -> Vec<Envelope> {
        let mut out = Vec::new();
        loop {
            let batch = self.queue.receive(queue, 10, Duration::ZERO).await.unwrap();
            if batch.is_empty() {
                return out;
            }
            for m in batch {
                out.push(Envelope::decode(&m.body).unwrap());
                self.queue.delete(queue, &m.receipt).await.unwrap();
            }
        }
    }

    /// Runs transform then push over everything queued.
    async fn run_pipeline(&self) -> Vec<Settled> {
        let mut settled = Vec::new();
        let transform_stage = TransformStage {
            source: &self.source,
            transformer: &EmailTransformer,
            queue: &self.queue,
        };
        let push_stage = PushStage {
            sink: &self.sink,
            links: &self.store,
            claims: &self.store,
            activity: &self.store,
            clock: &self.clock,
            policy: ActivityPolicy::default(),
            claim_ttl: crate::stages::PUSH_CLAIM_TTL,
        };
        let settler = self.settler();
        for (queue, is_push) in [
            (QueueName::Transform(Flow::Customers), false),
            (QueueName::Push(Flow::Customers), true),
        ] {
            loop {
                let batch = self.queue.receive(queue, 10, Duration::ZERO).await.unwrap();
                if batch.is_empty() {
                    break;
                }
                let results = process_batch(batch, 4, |m| async {
                    handle_envelope(&settler, queue, m, |env| async move {
                        if is_push {
                            push(&push_stage, &env).await.map(Some)
                        } else {
                            transform(&transform_stage, &env).await.map(|_| None)
                        }
                    })
                    .await
                })
                .await;
                settled.extend(results.into_iter().map(|(_, s)| s));
            }
        }
        settled
    }
}

fn customer(name: &str, email: &str) -> Value {
    json!({"name": name, "email": email})
}

#[tokio::test]
async fn poll_hands_on_every_record_once_and_checkpoints() {
    let w = World::new(3);
    for i in 0..10 {
        w.source.upsert(
            &format!("c{i:02}"),
            "2024-06-01T11:59:00Z",
            customer("n", "a@x.test"),
        );
    }
    let report = poll(&w.poll_stage(50)).await.unwrap();
    assert_eq!((report.read, report.sent, report.pages), (10, 10, 4));
    assert_eq!(
        report.position,
        Some("2024-06-01T11:59:00Z".parse().unwrap())
    );
    let keys: Vec<String> = w
        .drain(QueueName::Transform(Flow::Customers))
        .await
        .iter()
        .map(|e| e.key.to_string())
        .collect();
    assert_eq!(keys.len(), 10);

    // A second poll re-reads the boundary but hands on nothing new.
    let again = poll(&w.poll_stage(50)).await.unwrap();
    assert_eq!((again.read, again.sent, again.duplicates), (10, 0, 10));

    // A changed record is handed on again, even with the same timestamp.
    w.source.upsert(
        "c03",
        "2024-06-01T11:59:00Z",
        customer("changed", "a@x.test"),
    );
    let third = poll(&w.poll_stage(50)).await.unwrap();
    assert_eq!(third.sent, 1);
}

#[tokio::test]
async fn many_records_sharing_a_timestamp_across_pages_are_neither_missed_nor_repeated() {
    let w = World::new(100);
    for i in 0..1_050 {
        let at = if i < 700 {
            "2024-06-01T10:00:00Z"
        } else {
            "2024-06-01T10:00:01Z"
        };
        w.source
            .upsert(&format!("k{i:05}"), at, customer("n", "a@x.test"));
    }
    // A small budget forces several polls, each resuming from the checkpoint.
    let mut polls = 0;
    loop {
        polls += 1;
        let report = poll(&w.poll_stage(3)).await.unwrap();
        if !report.more {
            break;
        }
        assert!(polls < 20, "the poll makes no progress");
    }
    assert!(polls > 1);
    let mut keys: Vec<String> = w
        .drain(QueueName::Transform(Flow::Customers))
        .await
        .iter()
        .map(|e| e.key.to_string())
        .collect();
    let total = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 1_050, "every record handed on");
    assert_eq!(total, 1_050, "none handed on twice");
}

#[tokio::test]
async fn a_bulk_edit_is_not_sent_again_by_later_polls() {
    let w = World::new(100);
    // More records at one time than the cursor remembers: a bulk edit of the whole catalogue.
    let bulk = crate::cursor::MAX_SEEN + 500;
    for i in 0..bulk {
        w.source.upsert(
            &format!("k{i:05}"),
            "2024-06-01T11:59:00Z",
            customer("n", "a@x.test"),
        );
    }
    let first = poll(&w.poll_stage(1_000)).await.unwrap();
    assert_eq!((first.sent, first.more), (bulk, false));
    // While a finished read is less than two windows past it, a poll a minute re-reads the
    // bulk and sends again only the records the cursor could not keep marks for; then the
    // bulk is neither read nor sent again, though nothing newer moved the position.
    let mut resending = 0;
    loop {
        w.clock.advance(SignedDuration::from_secs(60));
        let report = poll(&w.poll_stage(1_000)).await.unwrap();
        if report.read == 0 {
            break;
        }
        assert_eq!(report.sent, 500, "the marks beyond the limit");
        resending += 1;
        assert!(resending <= 4, "two 2-minute windows of polls a minute");
    }
    w.clock.advance(SignedDuration::from_secs(60));
    assert_eq!(poll(&w.poll_stage(1_000)).await.unwrap().read, 0);
    w.source.upsert(
        "k00001",
        "2024-06-01T12:06:30Z",
        customer("changed", "a@x.test"),
    );
    w.clock.advance(SignedDuration::from_secs(60));
    assert_eq!(poll(&w.poll_stage(1_000)).await.unwrap().sent, 1);
}

#[tokio::test]
async fn records_sharing_one_time_beyond_the_old_mark_limit_are_sent_once() {
    let w = World::new(100);
    for i in 0..2_500 {
        w.source.upsert(
            &format!("k{i:05}"),
            "2024-06-01T11:59:00Z",
            customer("n", "a@x.test"),
        );
    }
    assert_eq!(poll(&w.poll_stage(100)).await.unwrap().sent, 2_500);
    w.clock.advance(SignedDuration::from_secs(60));
    let again = poll(&w.poll_stage(100)).await.unwrap();
    assert_eq!((again.read, again.sent), (2_500, 0));
}

#[tokio::test]
async fn a_flows_streams_share_one_poll_and_one_budget() {
    let w = World::new(2);
    let second = Arc::new(PagedSource::named(2, "CustomerNotes"));
    for i in 0..6 {
        let at = format!("2024-06-01T10:00:{i:02}Z");
        w.source
            .upsert(&format!("a{i}"), &at, customer("n", "a@x.test"));
        second.upsert(&format!("b{i}"), &at, customer("n", "b@x.test"));
    }
    let more: Vec<Arc<dyn Source>> = vec![second.clone()];
    let stage = PollStage {
        more_sources: &more,
        ..w.poll_stage(4)
    };

    // Another poll of the flow holds its lease: neither stream is read.
    let lease = crate::ports::ClaimKey::named("poll#customers");
    let at = w.clock.now();
    let claims: &dyn crate::ports::ClaimStore = &w.store;
    assert!(
        claims
            .acquire(&lease, "other", Duration::from_mins(1), at)
            .await
            .unwrap()
    );
    assert!(poll(&stage).await.unwrap().already_running);
    assert_eq!(*second.reads.lock().unwrap(), 0);
    claims.release(&lease, "other").await.unwrap();

    // Three pages of the first stream and one of the second fill the budget of four.
    let first = poll(&stage).await.unwrap();
    assert_eq!((first.pages, first.more), (4, true));
    assert_eq!(*second.reads.lock().unwrap(), 1);
    let mut polls = 1;
    while poll(&stage).await.unwrap().more {
        polls += 1;
        assert!(polls < 10, "the poll makes no progress");
    }
    let mut keys: Vec<String> = w
        .drain(QueueName::Transform(Flow::Customers))
        .await
        .iter()
        .map(|e| e.key.to_string())
        .collect();
    let total = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!(
        (keys.len(), total),
        (12, 12),
        "every record of both streams, once"
    );
}

#[tokio::test]
async fn the_signpost_leaves_newer_records_for_the_next_poll() {
    let w = World::new(10);
    w.source
        .upsert("old", "2024-06-01T11:59:00Z", customer("n", "a@x.test"));
    w.source
        .upsert("future", "2024-06-01T12:00:05Z", customer("n", "b@x.test"));
    let report = poll(&w.poll_stage(10)).await.unwrap();
    assert_eq!(report.sent, 1);
    assert_eq!(
        report.position,
        Some("2024-06-01T11:59:00Z".parse().unwrap())
    );
    w.clock.advance(SignedDuration::from_secs(10));
    let next = poll(&w.poll_stage(10)).await.unwrap();
    assert_eq!(next.sent, 1);
    assert_eq!(next.position, Some("2024-06-01T12:00:05Z".parse().unwrap()));
}

/// A queue that refuses everything: the cursor must not move.
#[derive(Debug)]
struct DownQueue;

#[async_trait]
impl Queue for DownQueue {
    async fn send(
        &self,
        queue: QueueName,
        _: Vec<crate::ports::OutboundMessage>,
    ) -> Result<(), crate::error::QueueError> {
        Err(crate::error::QueueError::Unavailable {
            queue: queue.to_string(),
            message: "down".into(),
            source: None,
        })
    }
    async fn receive(
        &self,
        _: QueueName,
        _: usize,
        _: Duration,
    ) -> Result<Vec<ReceivedMessage>, crate::error::QueueError> {
        Ok(vec![])
    }
    async fn delete(&self, _: QueueName, _: &str) -> Result<(), crate::error::QueueError> {
        Ok(())
    }
    async fn change_visibility(
        &self,
        _: QueueName,
        _: &str,
        _: Duration,
    ) -> Result<(), crate::error::QueueError> {
        Ok(())
    }
    async fn dead_letter(
        &self,
        _: QueueName,
        _: &ReceivedMessage,
        _: &str,
    ) -> Result<(), crate::error::QueueError> {
        Ok(())
    }
    async fn receive_dead_letters(
        &self,
        _: QueueName,
        _: usize,
    ) -> Result<Vec<(ReceivedMessage, Option<String>)>, crate::error::QueueError> {
        Ok(vec![])
    }
    async fn delete_dead_letter(
        &self,
        _: QueueName,
        _: &str,
    ) -> Result<(), crate::error::QueueError> {
        Ok(())
    }
}

#[tokio::test]
async fn the_cursor_moves_only_after_the_queue_accepted_the_records() {
    let w = World::new(10);
    w.source
        .upsert("a", "2024-06-01T11:00:00Z", customer("n", "a@x.test"));
    let mut stage = w.poll_stage(10);
    stage.queue = &DownQueue;
    assert!(poll(&stage).await.is_err());
    assert!(
        w.store
            .load(Flow::Customers, "Customer")
            .await
            .unwrap()
            .is_none()
    );
    // With the queue back, the record is handed on.
    assert_eq!(poll(&w.poll_stage(10)).await.unwrap().sent, 1);
}

#[tokio::test]
async fn a_second_poll_of_a_flow_waits_for_the_first() {
    let w = World::new(10);
    let lease = crate::ports::ClaimKey::named("poll#customers");
    crate::ports::ClaimStore::acquire(
        &w.store,
        &lease,
        "other",
        Duration::from_mins(1),
        w.clock.now(),
    )
    .await
    .unwrap();
    let report = poll(&w.poll_stage(10)).await.unwrap();
    assert!(report.already_running);
}

#[tokio::test]
async fn pipeline_creates_then_skips_unchanged_content_without_a_target_request() {
    let w = World::new(10);
    w.source
        .upsert("1", "2024-06-01T11:57:00Z", customer("Zoë", "zoe@x.test"));
    poll(&w.poll_stage(10)).await.unwrap();
    let settled = w.run_pipeline().await;
    assert!(
        settled.contains(&Settled::Done(Some(Outcome::Created))),
        "{settled:?}"
    );
    assert_eq!(*w.sink.calls.lock().unwrap(), 1);
    let link = w
        .store
        .get(Flow::Customers, &RecordKey::parse("1").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(link.target_id, "bc-zoe@x.test");
    w.clock.advance(SignedDuration::from_secs(1));

    // Same content, newer timestamp: the poll's boundary marks don't send it again…
    w.source
        .upsert("1", "2024-06-01T11:57:30Z", customer("Zoë", "zoe@x.test"));
    assert_eq!(poll(&w.poll_stage(10)).await.unwrap().sent, 0);
    // …and when it arrives anyway (an operator replay, a lost cursor), the push stage makes
    // no target request and moves the link's version.
    let replay = Record {
        flow: Flow::Customers,
        key: RecordKey::parse("1").unwrap(),
        version: "2024-06-01T11:57:30Z".parse().unwrap(),
        payload: customer("Zoë", "zoe@x.test"),
    };
    let env = Envelope::record(&replay, TraceId::new());
    w.queue
        .send(
            QueueName::Transform(Flow::Customers),
            vec![crate::ports::OutboundMessage {
                body: env.encode().unwrap(),
                group_id: env.group_id(),
                dedup_id: "replay".into(),
            }],
        )
        .await
        .unwrap();
    let settled = w.run_pipeline().await;
    assert!(
        settled.contains(&Settled::Done(Some(Outcome::Unchanged))),
        "{settled:?}"
    );
    assert_eq!(*w.sink.calls.lock().unwrap(), 1);
    let link = w
        .store
        .get(Flow::Customers, &RecordKey::parse("1").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(link.source_version, "2024-06-01T11:57:30Z".parse().unwrap());
    w.clock.advance(SignedDuration::from_secs(1));

    // Changed content: updated.
    w.source
        .upsert("1", "2024-06-01T11:58:00Z", customer("Zoé", "zoe@x.test"));
    poll(&w.poll_stage(10)).await.unwrap();
    assert!(
        w.run_pipeline()
            .await
            .contains(&Settled::Done(Some(Outcome::Updated)))
    );
    let activity = w
        .store
        .query(&ActivityQuery {
            flow: Some(Flow::Customers),
            ..ActivityQuery::default()
        })
        .await
        .unwrap();
    let outcomes: Vec<Outcome> = activity.iter().map(|e| e.outcome).collect();
    assert_eq!(
        outcomes,
        [Outcome::Updated, Outcome::Unchanged, Outcome::Created]
    );
    assert_eq!(activity[2].source, Some(customer("Zoë", "zoe@x.test")));
}

#[tokio::test]
async fn an_older_version_never_overwrites_a_newer_one() {
    let w = World::new(10);
    let push_stage = PushStage {
        sink: &w.sink,
        links: &w.store,
        claims: &w.store,
        activity: &w.store,
        clock: &w.clock,
        policy: ActivityPolicy::default(),
        claim_ttl: crate::stages::PUSH_CLAIM_TTL,
    };
    let command = |name: &str, at: &str| {
        Envelope::command(
            Flow::Customers,
            RecordKey::parse("9").unwrap(),
            at.parse().unwrap(),
            TraceId::new(),
            MatchKey::parse("n@x.test").unwrap(),
            json!({"displayName": name}),
            vec![],
        )
    };
    let newer = command("new", "2024-06-01T11:00:00Z");
    let older = command("old", "2024-06-01T10:00:00Z");
    assert_eq!(push(&push_stage, &newer).await.unwrap(), Outcome::Created);
    assert_eq!(push(&push_stage, &older).await.unwrap(), Outcome::Skipped);
    assert_eq!(
        w.sink.target.lock().unwrap()[0].1,
        json!({"displayName": "new"})
    );
    assert_eq!(*w.sink.calls.lock().unwrap(), 1);
}

#[tokio::test]
async fn an_older_version_with_the_same_content_is_unchanged_not_stale() {
    let w = World::new(10);
    let push_stage = PushStage {
        sink: &w.sink,
        links: &w.store,
        claims: &w.store,
        activity: &w.store,
        clock: &w.clock,
        policy: ActivityPolicy::default(),
        claim_ttl: crate::stages::PUSH_CLAIM_TTL,
    };
    let command = |at: &str| {
        Envelope::command(
            Flow::Customers,
            RecordKey::parse("9").unwrap(),
            at.parse().unwrap(),
            TraceId::new(),
            MatchKey::parse("n@x.test").unwrap(),
            json!({"displayName": "same"}),
            vec![],
        )
    };
    let newer = command("2024-06-01T11:00:00Z");
    let older = command("2024-06-01T10:00:00Z");
    assert_eq!(push(&push_stage, &newer).await.unwrap(), Outcome::Created);
    assert_eq!(push(&push_stage, &older).await.unwrap(), Outcome::Unchanged);
    let link = w
        .store
        .get(Flow::Customers, &RecordKey::parse("9").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        link.source_version, newer.source_version,
        "the version stays the newest"
    );
    assert_eq!(*w.sink.calls.lock().unwrap(), 1);
}

#[tokio::test]
async fn a_held_match_key_claim_makes_the_push_wait() {
    let w = World::new(10);
    let push_stage = PushStage {
        sink: &w.sink,
        links: &w.store,
        claims: &w.store,
        activity: &w.store,
        clock: &w.clock,
        policy: ActivityPolicy::default(),
        claim_ttl: crate::stages::PUSH_CLAIM_TTL,
    };
    let claim = crate::ports::ClaimKey::match_key(Flow::Customers, "n@x.test");
    crate::ports::ClaimStore::acquire(
        &w.store,
        &claim,
        "other",
        Duration::from_mins(1),
        w.clock.now(),
    )
    .await
    .unwrap();
    let env = Envelope::command(
        Flow::Customers,
        RecordKey::parse("9").unwrap(),
        "2024-06-01T11:00:00Z".parse().unwrap(),
        TraceId::new(),
        MatchKey::parse("n@x.test").unwrap(),
        json!({}),
        vec![],
    );
    let err = push(&push_stage, &env).await.unwrap_err();
    assert!(matches!(err, StageError::Busy(_)), "{err}");
    assert_eq!(*w.sink.calls.lock().unwrap(), 0);
    // The record claim was given back, so the retry can take it.
    let record_claim = crate::ports::ClaimKey::record(Flow::Customers, "9");
    assert!(
        crate::ports::ClaimStore::acquire(
            &w.store,
            &record_claim,
            "x",
            Duration::from_secs(1),
            w.clock.now()
        )
        .await
        .unwrap()
    );
}

#[tokio::test]
async fn a_resume_link_the_source_refuses_falls_back_to_the_cursor_position() {
    let w = World::new(3);
    for i in 0..7 {
        w.source.upsert(
            &format!("c{i}"),
            &format!("2024-06-01T11:00:0{i}Z"),
            customer("n", "a@x.test"),
        );
    }
    // One page per poll: the cursor keeps the source's `next` link.
    let first = poll(&w.poll_stage(1)).await.unwrap();
    assert!(first.more);
    let stored = w
        .store
        .load(Flow::Customers, "Customer")
        .await
        .unwrap()
        .unwrap();
    let link = stored.cursor.resume.clone().expect("a resume link").page;
    *w.source.refused_link.lock().unwrap() = Some(link);

    // The refused link is dropped (not retried for ever) ...
    let refused = poll(&w.poll_stage(1)).await.unwrap();
    assert!(refused.more);
    let stored = w
        .store
        .load(Flow::Customers, "Customer")
        .await
        .unwrap()
        .unwrap();
    assert!(stored.cursor.resume.is_none());

    // ... and the next polls read on from the position with fresh links (this source's
    // links are offsets, so the refused one would come back: new links are accepted).
    *w.source.refused_link.lock().unwrap() = None;
    while poll(&w.poll_stage(50)).await.unwrap().more {}
    let mut keys: Vec<String> = w
        .drain(QueueName::Transform(Flow::Customers))
        .await
        .iter()
        .map(|e| e.key.to_string())
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys, ["c0", "c1", "c2", "c3", "c4", "c5", "c6"]);
}

#[tokio::test]
async fn a_record_the_source_cant_track_is_parked_with_its_reason_once() {
    let w = World::new(10);
    w.source
        .upsert("good", "2024-06-01T11:00:00Z", customer("A", "a@x.test"));
    w.source.rejected.lock().unwrap().push(Rejected {
        key: RecordKey::parse("7").unwrap(),
        field: "timeStamp".into(),
        reason: "Customer 7: `timeStamp` 2024-06-01 10:00:00: no offset".into(),
        payload: json!({"customerID": "7", "timeStamp": "2024-06-01 10:00:00"}),
    });
    let report = poll(&w.poll_stage(10)).await.unwrap();
    assert_eq!((report.read, report.rejected, report.sent), (2, 1, 2));
    let settled = w.run_pipeline().await;
    assert!(settled.contains(&Settled::DeadLettered));
    assert!(settled.contains(&Settled::Done(Some(Outcome::Created))));
    let queue = QueueName::Transform(Flow::Customers);
    let dead = w.queue.receive_dead_letters(queue, 10).await.unwrap();
    assert_eq!(dead.len(), 1);
    let reason = dead[0].1.as_deref().unwrap_or_default();
    assert!(reason.contains("record 7: field `timeStamp`"), "{reason}");
    let failed = w
        .store
        .query(&ActivityQuery {
            outcome: Some(Outcome::Failed),
            ..ActivityQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].key.as_str(), "7");
    assert!(failed[0].source.is_some(), "the record is kept in the log");

    // Re-read in the overlap window, it is not parked a second time.
    let again = poll(&w.poll_stage(10)).await.unwrap();
    assert_eq!((again.rejected, again.sent), (0, 0));
}

#[tokio::test]
async fn a_bad_record_goes_to_the_dead_letter_queue_alone_with_its_reason() {
    let w = World::new(10);
    w.source
        .upsert("good", "2024-06-01T11:00:00Z", customer("A", "a@x.test"));
    w.source
        .upsert("bad", "2024-06-01T11:00:00Z", json!({"name": "no mail"}));
    w.source
        .upsert("rule", "2024-06-01T11:00:00Z", customer("skip", "s@x.test"));
    poll(&w.poll_stage(10)).await.unwrap();
    let settled = w.run_pipeline().await;
    assert!(settled.contains(&Settled::DeadLettered));
    assert!(settled.contains(&Settled::Skipped));
    assert!(settled.contains(&Settled::Done(Some(Outcome::Created))));
    let queue = QueueName::Transform(Flow::Customers);
    let dead = w.queue.receive_dead_letters(queue, 10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(
        dead[0].1.as_deref(),
        Some("record bad: field `email`: missing")
    );
    assert_eq!(w.queue.depth(queue), 0, "nothing left behind");
    let failed = w
        .store
        .query(&ActivityQuery {
            outcome: Some(Outcome::Failed),
            ..ActivityQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].key.as_str(), "bad");
}

#[tokio::test]
async fn transient_failures_retry_then_give_up_into_the_dead_letter_queue() {
    // Zero visibility timeout: a message comes back as soon as it is left unacknowledged.
    let mut w = World::new(10);
    w.queue = MemoryQueue::new(Duration::ZERO);
    *w.sink.fail_with.lock().unwrap() = Some(ExternalKind::Transient);
    w.source
        .upsert("1", "2024-06-01T11:00:00Z", customer("A", "a@x.test"));
    poll(&w.poll_stage(10)).await.unwrap();
    let settled = w.run_pipeline().await;
    assert_eq!(
        settled,
        [
            Settled::Done(None),
            Settled::Retrying,
            Settled::Retrying,
            Settled::DeadLettered
        ]
    );
    let queue = QueueName::Push(Flow::Customers);
    assert_eq!(w.queue.depth(queue), 0);
    let dead = w.queue.receive_dead_letters(queue, 10).await.unwrap();
    assert!(
        dead[0]
            .1
            .as_deref()
            .unwrap()
            .starts_with("gave up after 3 attempts: Business Central: injected"),
        "{:?}",
        dead[0].1
    );
    assert_eq!(*w.sink.calls.lock().unwrap(), 3);
}

#[tokio::test]
async fn verdicts_follow_the_classifier_the_attempts_and_the_redrive() {
    let transient: StageError =
        ExternalError::new(System::Lightspeed, ExternalKind::Transient, "x").into();
    assert_eq!(verdict(&transient, 1, 1, 3, 10), Verdict::RetryLater(None));
    assert!(
        matches!(verdict(&transient, 3, 3, 3, 10), Verdict::DeadLetter(r) if r.starts_with("gave up after 3 attempts"))
    );
    // Deliveries spent behind other messages are not attempts.
    assert_eq!(verdict(&transient, 1, 7, 3, 10), Verdict::RetryLater(None));
    // The delivery before the queue's own redrive parks it with its reason.
    assert!(matches!(
        verdict(&transient, 1, 9, 3, 10),
        Verdict::DeadLetter(_)
    ));
    let limited: StageError = ExternalError::new(
        System::Lightspeed,
        ExternalKind::RateLimited {
            retry_after: Some(Duration::from_secs(4)),
        },
        "x",
    )
    .into();
    // A 429 is no failed attempt, however often it comes.
    assert_eq!(
        verdict(&limited, 0, 8, 3, 10),
        Verdict::RetryLater(Some(Duration::from_secs(4)))
    );
    assert!(
        matches!(verdict(&limited, 0, 9, 3, 10), Verdict::DeadLetter(r) if r.starts_with("still rate-limited"))
    );
    let skipped = StageError::Skipped {
        key: RecordKey::parse("1").unwrap(),
        rule: "archived".into(),
    };
    assert_eq!(verdict(&skipped, 9, 9, 3, 10), Verdict::Ack);
}

#[tokio::test]
async fn a_retrying_message_holds_back_the_rest_of_its_group_only() {
    let msg = |id: &str, group: &str| ReceivedMessage {
        message_id: id.into(),
        receipt: id.into(),
        body: String::new(),
        receive_count: 1,
        group_id: Some(group.into()),
    };
    let batch = vec![
        msg("a1", "A"),
        msg("b1", "B"),
        msg("a2", "A"),
        msg("b2", "B"),
    ];
    let seen = Arc::new(Mutex::new(Vec::new()));
    let results = process_batch(batch, 2, |m| {
        let seen = seen.clone();
        async move {
            seen.lock().unwrap().push(m.message_id.clone());
            if m.message_id == "a1" {
                Settled::Retrying
            } else {
                Settled::Done(None)
            }
        }
    })
    .await;
    let ids: Vec<&str> = results.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["a1", "b1", "a2", "b2"], "batch order kept");
    assert_eq!(results[2].1, Settled::NotAttempted);
    assert_eq!(results[3].1, Settled::Done(None));
    assert!(!seen.lock().unwrap().contains(&"a2".to_owned()));
}

#[tokio::test]
async fn an_oversized_record_travels_as_a_reference_and_is_read_again() {
    let w = World::new(10);
    let big = "é".repeat(crate::envelope::MAX_BODY_BYTES / 2 + 10);
    w.source.upsert(
        "big",
        "2024-06-01T11:00:00Z",
        json!({"name": "B", "email": "b@x.test", "notes": big}),
    );
    let report = poll(&w.poll_stage(10)).await.unwrap();
    assert_eq!(report.references, 1);
    let queued = w
        .queue
        .receive(QueueName::Transform(Flow::Customers), 1, Duration::ZERO)
        .await
        .unwrap();
    assert!(matches!(
        Envelope::decode(&queued[0].body).unwrap().body,
        Body::Reference
    ));
    w.queue
        .change_visibility(
            QueueName::Transform(Flow::Customers),
            &queued[0].receipt,
            Duration::ZERO,
        )
        .await
        .unwrap();
    let settled = w.run_pipeline().await;
    assert!(
        settled.contains(&Settled::Done(Some(Outcome::Created))),
        "{settled:?}"
    );
    // The command travelled without the (too large) source; the activity entry says so.
    let entries = w.store.query(&ActivityQuery::default()).await.unwrap();
    assert_eq!(entries[0].source, None);
}

/// A target whose first write waits at a gate: says when it got there, writes when opened.
#[derive(Debug, Default)]
struct GatedSink {
    inner: RecordingSink,
    entered: tokio::sync::Notify,
    gate: tokio::sync::Notify,
    first: Mutex<bool>,
}

#[async_trait]
impl Sink for GatedSink {
    fn flow(&self) -> Flow {
        Flow::Customers
    }

    async fn upsert(&self, request: PushRequest<'_>) -> Result<SinkOutcome, StageError> {
        let first = !std::mem::replace(&mut *self.first.lock().unwrap(), true);
        if first {
            self.entered.notify_one();
            self.gate.notified().await;
        }
        self.inner.upsert(request).await
    }
}

/// Review finding 2: a push slower than its claims' time to live keeps them while it works,
/// so a newer version of the record is not written in between and then overwritten by the
/// older one; the newer one waits (Busy) and lands last.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_push_keeps_its_claims_and_the_newer_version_lands_last() {
    let store = MemoryStore::new();
    let sink = GatedSink::default();
    let clock = crate::ports::SystemClock;
    let stage = PushStage {
        sink: &sink,
        links: &store,
        claims: &store,
        activity: &store,
        clock: &clock,
        policy: ActivityPolicy::default(),
        claim_ttl: Duration::from_millis(300),
    };
    let command = |name: &str, at: &str| {
        Envelope::command(
            Flow::Customers,
            RecordKey::parse("9").unwrap(),
            at.parse().unwrap(),
            TraceId::new(),
            MatchKey::parse("n@x.test").unwrap(),
            json!({"displayName": name}),
            vec![],
        )
    };
    let older = command("old", "2024-06-01T10:00:00Z");
    let newer = command("new", "2024-06-01T11:00:00Z");
    let slow = push(&stage, &older);
    let meanwhile = async {
        sink.entered.notified().await;
        // Well past the claims' time to live while the older write hangs.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let attempt = push(&stage, &newer).await;
        sink.gate.notify_one();
        attempt
    };
    let (first, second) = tokio::join!(slow, meanwhile);
    assert_eq!(first.unwrap(), Outcome::Created);
    assert!(
        matches!(second, Err(StageError::Busy(_))),
        "the newer version must wait: {second:?}"
    );
    assert_eq!(push(&stage, &newer).await.unwrap(), Outcome::Updated);
    assert_eq!(
        sink.inner.target.lock().unwrap()[0].1,
        json!({"displayName": "new"})
    );
}

/// Review finding 15: refused credentials pause a record (it comes back after a wait,
/// spending no attempt), not park it; only the delivery before the queue's own redrive
/// parks it, with the reason.
#[tokio::test]
async fn refused_credentials_pause_the_record_instead_of_parking_it() {
    let w = World::new(10);
    let queue = QueueName::Push(Flow::Customers);
    let record = Record {
        flow: Flow::Customers,
        key: RecordKey::parse("7").unwrap(),
        version: "2024-06-01T11:00:00Z".parse().unwrap(),
        payload: customer("A", "a@x.test"),
    };
    let body = Envelope::record(&record, TraceId::new()).encode().unwrap();
    w.queue
        .send(
            queue,
            vec![crate::ports::OutboundMessage {
                body: body.clone(),
                group_id: "g".into(),
                dedup_id: "d".into(),
            }],
        )
        .await
        .unwrap();
    let received = w.queue.receive(queue, 1, Duration::ZERO).await.unwrap();
    let settler = w.settler();
    let refused = || -> Result<Option<Outcome>, StageError> {
        Err(ExternalError::new(
            System::BusinessCentral,
            ExternalKind::Unauthorized,
            "401 Unauthorized",
        )
        .into())
    };
    for delivery in 1..=8 {
        let message = ReceivedMessage {
            receive_count: delivery,
            ..received[0].clone()
        };
        let settled = settler
            .settle(queue, &message, None, "push", refused())
            .await;
        assert_eq!(settled, Settled::Retrying, "delivery {delivery}");
    }
    assert_eq!(
        crate::ports::AttemptStore::count_failure(
            &w.store,
            &queue.to_string(),
            &received[0].message_id,
            w.clock.now(),
            Duration::ZERO
        )
        .await
        .unwrap(),
        1,
        "no attempt was spent"
    );
    let last = ReceivedMessage {
        receive_count: 9,
        ..received[0].clone()
    };
    let settled = settler.settle(queue, &last, None, "push", refused()).await;
    assert_eq!(settled, Settled::DeadLettered);
    let dead = w.queue.receive_dead_letters(queue, 10).await.unwrap();
    assert!(
        dead[0]
            .1
            .as_deref()
            .unwrap()
            .starts_with("credentials still refused after 9 deliveries"),
        "{dead:?}"
    );
}

/// A transformer that warns about the e-mail it was given.
#[derive(Debug)]
struct WarningTransformer;

#[async_trait]
impl Transformer for WarningTransformer {
    fn flow(&self) -> Flow {
        Flow::Customers
    }

    async fn transform(&self, record: &Record) -> Result<Vec<Transformed>, StageError> {
        let email = record.payload["email"].as_str().unwrap_or_default();
        Ok(vec![Transformed {
            key: record.key.clone(),
            match_key: MatchKey::parse("n@x.test").unwrap(),
            command: json!({"displayName": "N"}),
            warnings: vec![format!("email `{email}` is not a valid address; left out")],
        }])
    }
}

/// A `MakeWriter` into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Collects this thread's log lines until the guard is dropped.
fn capture_logs() -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    (captured, tracing::subscriber::set_default(subscriber))
}

/// Review finding 10: a warning that names a value (an invalid e-mail) reaches the activity
/// log through the command, not the logs.
#[tokio::test]
async fn transform_warnings_keep_values_out_of_the_logs() {
    let w = World::new(10);
    let (captured, _guard) = capture_logs();
    let record = Record {
        flow: Flow::Customers,
        key: RecordKey::parse("7").unwrap(),
        version: "2024-06-01T11:00:00Z".parse().unwrap(),
        payload: json!({"email": "bad@@x.test"}),
    };
    let stage = TransformStage {
        source: &w.source,
        transformer: &WarningTransformer,
        queue: &w.queue,
    };
    let env = Envelope::record(&record, TraceId::new());
    assert_eq!(transform(&stage, &env).await.unwrap(), 1);
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("warnings=1"), "{logs}");
    assert!(!logs.contains("bad@@x.test"), "{logs}");
    let queued = w
        .queue
        .receive(QueueName::Push(Flow::Customers), 10, Duration::ZERO)
        .await
        .unwrap();
    let command = Envelope::decode(&queued[0].body).unwrap();
    let Body::Command { warnings, .. } = command.body else {
        panic!("a command");
    };
    assert!(
        warnings[0].contains("bad@@x.test"),
        "the activity log gets it"
    );
}

/// Review finding 10: a failure whose text quotes a value (BC's message, an invalid field's
/// reason) is logged without it; the activity log keeps the whole text.
#[tokio::test]
async fn failures_keep_quoted_values_out_of_the_logs() {
    let w = World::new(10);
    let (captured, _guard) = capture_logs();
    let queue = QueueName::Push(Flow::Customers);
    let failures = [
        StageError::External(
            ExternalError::new(
                System::BusinessCentral,
                ExternalKind::Rejected,
                "400 BadRequest",
            )
            .with_detail("Email 'zoe.private@x.test' is not a valid e-mail address."),
        ),
        StageError::InvalidRecord {
            key: RecordKey::parse("8").unwrap(),
            field: "email".into(),
            reason: "'zoe.private@x.test' has no domain".into(),
        },
    ];
    for (i, error) in failures.into_iter().enumerate() {
        let record = Record {
            flow: Flow::Customers,
            key: RecordKey::parse(format!("{}", 7 + i)).unwrap(),
            version: "2024-06-01T11:00:00Z".parse().unwrap(),
            payload: customer("Zoë", "zoe.private@x.test"),
        };
        let env = Envelope::record(&record, TraceId::new());
        w.queue
            .send(
                queue,
                vec![crate::ports::OutboundMessage {
                    body: env.encode().unwrap(),
                    group_id: env.group_id(),
                    dedup_id: format!("m{i}"),
                }],
            )
            .await
            .unwrap();
        let message = w.queue.receive(queue, 1, Duration::ZERO).await.unwrap();
        let settled = w
            .settler()
            .settle(queue, &message[0], Some(&env), "push", Err(error))
            .await;
        assert_eq!(settled, Settled::DeadLettered);
    }
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("Record parked"), "{logs}");
    assert!(logs.contains("400 BadRequest"), "{logs}");
    assert!(logs.contains("field `email`"), "{logs}");
    assert!(!logs.contains("zoe.private"), "{logs}");
    let activity = w.store.query(&ActivityQuery::default()).await.unwrap();
    assert_eq!(activity.len(), 2);
    assert!(
        activity.iter().all(|e| e.message.contains("zoe.private")),
        "{activity:?}"
    );
}

/// The number of cases a property test runs: `PROPTEST_CASES` when set (a long fuzz run),
/// else `default` (CI).
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(cases(48)))]

    /// The cursor loses nothing: whatever the page size, the poll budget, how many records
    /// share one second and how late (within the overlap window) a change is committed,
    /// every record's latest content is handed on after its last change.
    #[test]
    fn no_change_is_lost_across_page_cuts_budgets_resumes_and_equal_times(
        page_size in 1usize..25,
        budget in 1usize..5,
        rounds in proptest::collection::vec(
            (
                proptest::collection::vec((0u8..40, 0i64..100), 0..25),
                0i64..90,
            ),
            1..6,
        ),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let w = World::new(page_size);
            let mut current: std::collections::BTreeMap<String, (Timestamp, u64)> =
                std::collections::BTreeMap::new();
            let mut sent: std::collections::BTreeSet<(String, u64)> =
                std::collections::BTreeSet::new();
            let mut counter = 0u64;
            for (changes, pause) in rounds {
                let now = w.clock.now();
                for (key, late) in changes {
                    counter += 1;
                    let key = format!("k{key:02}");
                    // A change is stamped up to 100 s before it is visible (within the
                    // 2-minute overlap), never before the record's previous stamp.
                    let at = now - SignedDuration::from_secs(late);
                    let at = current.get(&key).map_or(at, |(prev, _)| at.max(*prev));
                    w.source.upsert(&key, &at.to_string(), json!({"v": counter}));
                    current.insert(key, (at, counter));
                }
                w.clock.advance(SignedDuration::from_secs(pause));
                for _ in 0..200 {
                    if !poll(&w.poll_stage(budget)).await.unwrap().more {
                        break;
                    }
                }
                for envelope in w.drain(QueueName::Transform(Flow::Customers)).await {
                    if let Body::Record { payload, .. } = &envelope.body {
                        sent.insert((envelope.key.to_string(), payload["v"].as_u64().unwrap()));
                    }
                }
            }
            for (key, (_, content)) in &current {
                assert!(
                    sent.contains(&(key.clone(), *content)),
                    "{key}'s latest content {content} was never handed on"
                );
            }
        });
    }

    /// Any text at all decodes to an envelope or an error, never a panic.
    #[test]
    fn any_text_decodes_or_is_refused(text in ".{0,400}") {
        let _ = Envelope::decode(&text);
    }
}
