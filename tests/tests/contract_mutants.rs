//! Proves the contract suites can fail: each test runs a suite against an adapter broken in
//! one way (on top of the in-memory adapters) and expects the suite to reject it, for the
//! right reason. Owns only these deliberately broken adapters; no production code.

// Test code: helpers outside `#[test]` fns too must stop the test with their message,
// which is what `unwrap`, `expect` and `panic!` do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use lsbc_core::cursor::StoredCursor;
use lsbc_core::memory::{MemoryQueue, MemoryStore};
use lsbc_core::ports::{
    ActivityEntry, ActivityLog, ActivityQuery, ClaimKey, ClaimStore, CursorStore, Freshness, Link,
    LinkStore, LinkWrite, OutboundMessage, Queue, ReceivedMessage, RecordState, SecretStore,
    StateStore,
};
use lsbc_core::{Cursor, Flow, QueueError, QueueName, RecordKey, StoreError};
use lsbc_tests::contract::{activity, claims, cursors, links, queue, secrets, states};
use secrecy::SecretString;

const Q: QueueName = QueueName::Poll;

/// Saves whatever the expected revision (last writer wins).
struct UnconditionalCursors(MemoryStore);

#[async_trait]
impl CursorStore for UnconditionalCursors {
    async fn load(&self, flow: Flow, stream: &str) -> Result<Option<StoredCursor>, StoreError> {
        self.0.load(flow, stream).await
    }

    async fn save(
        &self,
        flow: Flow,
        stream: &str,
        cursor: &Cursor,
        _: u64,
    ) -> Result<u64, StoreError> {
        let current = self.0.load(flow, stream).await?.map_or(0, |c| c.revision);
        self.0.save(flow, stream, cursor, current).await
    }
}

#[tokio::test]
#[should_panic(expected = "while at 1")]
async fn cursor_suite_rejects_unconditional_saves() {
    cursors::stale_revision_conflicts(&UnconditionalCursors(MemoryStore::new())).await;
}

/// Checks, then writes: two claimants can both see the claim free.
#[derive(Default)]
struct RacyClaims(Mutex<HashMap<String, (String, Timestamp)>>);

#[async_trait]
impl ClaimStore for RacyClaims {
    async fn acquire(
        &self,
        key: &ClaimKey,
        owner: &str,
        ttl: Duration,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let free = self
            .0
            .lock()
            .unwrap()
            .get(key.as_str())
            .is_none_or(|(holder, until)| holder == owner || *until <= now);
        tokio::time::sleep(Duration::from_millis(2)).await;
        if free {
            let until = now + jiff::SignedDuration::try_from(ttl).unwrap();
            self.0
                .lock()
                .unwrap()
                .insert(key.as_str().to_owned(), (owner.to_owned(), until));
        }
        Ok(free)
    }

    async fn release(&self, key: &ClaimKey, owner: &str) -> Result<(), StoreError> {
        let mut claims = self.0.lock().unwrap();
        if claims.get(key.as_str()).is_some_and(|(h, _)| h == owner) {
            claims.remove(key.as_str());
        }
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[should_panic(expected = "exactly one claimant wins")]
async fn claim_suite_rejects_a_check_then_write_race() {
    claims::concurrent_acquire_one_wins(Arc::new(RacyClaims::default()), 20).await;
}

#[tokio::test]
async fn claim_suite_accepts_the_racy_store_when_nobody_races() {
    // The same broken store passes the sequential checks: only the race check catches it.
    claims::free_claim_is_granted_once(&RacyClaims::default()).await;
}

/// Links: `stale_check` false ignores versions; true checks, pauses, then writes.
#[derive(Default)]
struct BrokenLinks {
    links: Mutex<HashMap<(Flow, RecordKey), Link>>,
    stale_check: bool,
}

#[async_trait]
impl LinkStore for BrokenLinks {
    async fn get(&self, flow: Flow, key: &RecordKey) -> Result<Option<Link>, StoreError> {
        Ok(self
            .links
            .lock()
            .unwrap()
            .get(&(flow, key.clone()))
            .cloned())
    }

    async fn put(&self, link: &Link) -> Result<LinkWrite, StoreError> {
        if self.stale_check {
            let existing = self.get(link.flow, &link.key).await?;
            if existing.is_some_and(|e| e.source_version.is_newer_than(&link.source_version)) {
                return Ok(LinkWrite::Stale);
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        self.links
            .lock()
            .unwrap()
            .insert((link.flow, link.key.clone()), link.clone());
        Ok(LinkWrite::Written)
    }

    async fn find_by_target(&self, flow: Flow, target_id: &str) -> Result<Vec<Link>, StoreError> {
        Ok(self
            .links
            .lock()
            .unwrap()
            .values()
            .filter(|l| l.flow == flow && l.target_id == target_id)
            .cloned()
            .collect())
    }
}

#[tokio::test]
#[should_panic(expected = "Stale")]
async fn link_suite_rejects_ignoring_versions() {
    let store = BrokenLinks::default();
    links::older_timestamps_are_stale(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[should_panic(expected = "the newest version stays")]
async fn link_suite_rejects_a_check_then_write_race() {
    let store = BrokenLinks {
        stale_check: true,
        ..BrokenLinks::default()
    };
    links::concurrent_versioned_puts_keep_the_newest(Arc::new(store), 20).await;
}

/// States: checks the version, pauses, then writes (two writers can both pass the check).
#[derive(Default)]
struct RacyStates(Mutex<HashMap<(Flow, RecordKey), RecordState>>);

#[async_trait]
impl StateStore for RacyStates {
    async fn get_state(
        &self,
        flow: Flow,
        key: &RecordKey,
    ) -> Result<Option<RecordState>, StoreError> {
        Ok(self.0.lock().unwrap().get(&(flow, key.clone())).cloned())
    }

    async fn put_state(&self, state: &RecordState) -> Result<RecordState, StoreError> {
        let stored = self
            .get_state(state.flow, &state.key)
            .await?
            .map_or(0, |s| s.version);
        if stored != state.version {
            return Err(StoreError::Conflict("stale".into()));
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
        let written = RecordState {
            version: state.version + 1,
            ..state.clone()
        };
        self.0
            .lock()
            .unwrap()
            .insert((state.flow, state.key.clone()), written.clone());
        Ok(written)
    }

    async fn list_states(
        &self,
        flow: Flow,
        state: &str,
        limit: usize,
    ) -> Result<Vec<RecordState>, StoreError> {
        let mut found: Vec<RecordState> = self
            .0
            .lock()
            .unwrap()
            .values()
            .filter(|s| s.flow == flow && s.state == state)
            .cloned()
            .collect();
        found.sort_by_key(|s| s.since);
        found.truncate(limit);
        Ok(found)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[should_panic(expected = "exactly one writer wins")]
async fn state_suite_rejects_a_check_then_write_race() {
    states::concurrent_puts_one_wins(Arc::new(RacyStates::default()), 20).await;
}

#[tokio::test]
async fn state_suite_accepts_the_racy_store_when_nobody_races() {
    states::stale_version_conflicts(&RacyStates::default()).await;
    states::listed_by_state_oldest_first(&RacyStates::default()).await;
}

/// Returns the oldest entries first.
struct OldestFirst(MemoryStore);

#[async_trait]
impl ActivityLog for OldestFirst {
    async fn record(&self, entry: &ActivityEntry) -> Result<(), StoreError> {
        self.0.record(entry).await
    }

    async fn query(&self, query: &ActivityQuery) -> Result<Vec<ActivityEntry>, StoreError> {
        let mut all = self
            .0
            .query(&ActivityQuery {
                limit: usize::MAX,
                ..query.clone()
            })
            .await?;
        all.reverse();
        all.truncate(query.effective_limit());
        Ok(all)
    }
}

#[tokio::test]
#[should_panic(expected = "wrong entries or order")]
async fn activity_suite_rejects_oldest_first() {
    activity::query_by_flow_newest_first(&OldestFirst(MemoryStore::new())).await;
}

/// Keeps the first value it read forever, even for fresh reads.
struct StuckCache {
    inner: MemoryStore,
    seen: Mutex<HashMap<String, SecretString>>,
}

#[async_trait]
impl SecretStore for StuckCache {
    async fn get(&self, name: &str, freshness: Freshness) -> Result<SecretString, StoreError> {
        if let Some(v) = self.seen.lock().unwrap().get(name) {
            return Ok(v.clone());
        }
        let v = SecretStore::get(&self.inner, name, freshness).await?;
        self.seen.lock().unwrap().insert(name.to_owned(), v.clone());
        Ok(v)
    }

    async fn put(&self, name: &str, value: &SecretString) -> Result<(), StoreError> {
        SecretStore::put(&self.inner, name, value).await
    }
}

#[tokio::test]
#[should_panic(expected = "a fresh read sees another instance's write-back")]
async fn secret_suite_rejects_a_cache_that_never_refreshes() {
    let inner = MemoryStore::new();
    let stuck = StuckCache {
        inner: inner.clone(),
        seen: Mutex::default(),
    };
    secrets::write_back_is_seen_by_other_instances(&inner, &stuck).await;
}

/// The broken queues' visibility timeout and redrive limit.
const VISIBILITY: Duration = Duration::from_secs(1);
const MAX_RECEIVES: u32 = 3;

/// How a [`BrokenQueue`] is broken.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Breakage {
    /// Nothing: the wrapper passes everything through.
    None,
    /// Every dedup id is made unique.
    Dedup,
    /// Dead-letter reasons are dropped.
    Reasons,
    /// Every delivery is reported as the first.
    Counts,
    /// `change_visibility` does nothing at all.
    Visibility,
    /// A visibility change to zero does nothing (other changes still work).
    Release,
}

/// A queue broken in one way (on top of a memory queue).
struct BrokenQueue {
    inner: MemoryQueue,
    broken: Breakage,
}

impl BrokenQueue {
    fn new(broken: Breakage) -> Self {
        Self {
            inner: MemoryQueue::new(VISIBILITY).with_max_receives(MAX_RECEIVES),
            broken,
        }
    }
}

#[async_trait]
impl Queue for BrokenQueue {
    async fn send(
        &self,
        queue: QueueName,
        messages: Vec<OutboundMessage>,
    ) -> Result<(), QueueError> {
        let messages = if self.broken == Breakage::Dedup {
            messages
                .into_iter()
                .map(|m| OutboundMessage {
                    dedup_id: lsbc_tests::contract::unique(),
                    ..m
                })
                .collect()
        } else {
            messages
        };
        self.inner.send(queue, messages).await
    }

    async fn receive(
        &self,
        queue: QueueName,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError> {
        let mut got = self.inner.receive(queue, max, wait).await?;
        if self.broken == Breakage::Counts {
            for m in &mut got {
                m.receive_count = 1;
            }
        }
        Ok(got)
    }

    async fn delete(&self, queue: QueueName, receipt: &str) -> Result<(), QueueError> {
        self.inner.delete(queue, receipt).await
    }

    async fn change_visibility(
        &self,
        queue: QueueName,
        receipt: &str,
        timeout: Duration,
    ) -> Result<(), QueueError> {
        if self.broken == Breakage::Visibility
            || (self.broken == Breakage::Release && timeout.is_zero())
        {
            return Ok(());
        }
        self.inner.change_visibility(queue, receipt, timeout).await
    }

    async fn dead_letter(
        &self,
        queue: QueueName,
        message: &ReceivedMessage,
        reason: &str,
    ) -> Result<(), QueueError> {
        self.inner.dead_letter(queue, message, reason).await
    }

    async fn receive_dead_letters(
        &self,
        queue: QueueName,
        max: usize,
    ) -> Result<Vec<(ReceivedMessage, Option<String>)>, QueueError> {
        let mut got = self.inner.receive_dead_letters(queue, max).await?;
        if self.broken == Breakage::Reasons {
            for (_, reason) in &mut got {
                *reason = None;
            }
        }
        Ok(got)
    }

    async fn delete_dead_letter(&self, queue: QueueName, receipt: &str) -> Result<(), QueueError> {
        self.inner.delete_dead_letter(queue, receipt).await
    }
}

#[tokio::test]
#[should_panic(expected = "first again")]
async fn queue_suite_rejects_missing_deduplication() {
    let q = BrokenQueue::new(Breakage::Dedup);
    queue::duplicates_are_dropped_by_dedup_id(&q, Q).await;
}

#[tokio::test]
#[should_panic(expected = "the reason is kept")]
async fn queue_suite_rejects_lost_reasons() {
    let q = BrokenQueue::new(Breakage::Reasons);
    queue::dead_letter_keeps_the_reason(&q, Q).await;
}

#[tokio::test]
#[should_panic(expected = "left: 1")]
async fn queue_suite_rejects_a_receive_count_that_never_grows() {
    let q = BrokenQueue::new(Breakage::Counts);
    queue::visibility_timeout_redelivers(&q, Q, VISIBILITY).await;
}

#[tokio::test]
#[should_panic(expected = "stays away past the visibility timeout")]
async fn queue_suite_rejects_a_change_visibility_that_does_nothing() {
    let q = BrokenQueue::new(Breakage::Visibility);
    queue::change_visibility_releases_at_once(&q, Q, VISIBILITY).await;
}

#[tokio::test]
#[should_panic(expected = "released by the change to zero")]
async fn queue_suite_rejects_a_release_that_does_nothing() {
    let q = BrokenQueue::new(Breakage::Release);
    queue::change_visibility_releases_at_once(&q, Q, VISIBILITY).await;
}

#[tokio::test]
#[should_panic(expected = "receive 2")]
async fn redrive_check_rejects_a_release_that_does_nothing() {
    let q = BrokenQueue::new(Breakage::Release);
    queue::redrive_after_max_receives(&q, Q, MAX_RECEIVES).await;
}

#[tokio::test]
async fn queue_suite_accepts_the_unbroken_wrapper() {
    // The wrapper with nothing broken passes, so each failure above is the breakage's.
    let q = BrokenQueue::new(Breakage::None);
    queue::duplicates_are_dropped_by_dedup_id(&q, Q).await;
    queue::dead_letter_keeps_the_reason(&q, Q).await;
    queue::change_visibility_releases_at_once(&q, Q, VISIBILITY).await;
    queue::redrive_after_max_receives(&q, Q, MAX_RECEIVES).await;
}
