//! In-memory adapters of every state port and of the queue: for unit tests of the stages
//! and for commands that need no durability (`lsbc preview`). They pass the same contract
//! suites as the AWS and SQLite adapters; nothing survives the process.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use jiff::Timestamp;
use secrecy::{ExposeSecret, SecretString};

use crate::cursor::{Cursor, StoredCursor};
use crate::error::{QueueError, StoreError};
use crate::flow::{Flow, QueueName};
use crate::ports::{
    ActivityEntry, ActivityLog, ActivityQuery, AttemptStore, BudgetStore, ClaimKey, ClaimStore,
    ConfigDoc, ConfigKind, ConfigStore, CursorStore, Freshness, Link, LinkStore, LinkWrite,
    OutboundMessage, Queue, ReceivedMessage, RecordState, SecretStore, StateStore,
};
use crate::record::RecordKey;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[derive(Debug, Default)]
struct State {
    cursors: HashMap<(Flow, String), StoredCursor>,
    configs: HashMap<(Flow, ConfigKind), Vec<ConfigDoc>>,
    links: HashMap<(Flow, RecordKey), Link>,
    states: HashMap<(Flow, RecordKey), RecordState>,
    claims: HashMap<String, (String, Timestamp)>,
    budgets: HashMap<String, Timestamp>,
    attempts: HashMap<(String, String), u32>,
    activity: Vec<ActivityEntry>,
    secrets: HashMap<String, String>,
}

/// Every state port in memory.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl CursorStore for MemoryStore {
    async fn load(&self, flow: Flow, stream: &str) -> Result<Option<StoredCursor>, StoreError> {
        Ok(lock(&self.state)
            .cursors
            .get(&(flow, stream.to_owned()))
            .cloned())
    }

    async fn save(
        &self,
        flow: Flow,
        stream: &str,
        cursor: &Cursor,
        expected_revision: u64,
    ) -> Result<u64, StoreError> {
        let mut state = lock(&self.state);
        let slot = state.cursors.entry((flow, stream.to_owned()));
        let current = match &slot {
            std::collections::hash_map::Entry::Occupied(o) => o.get().revision,
            std::collections::hash_map::Entry::Vacant(_) => 0,
        };
        if current != expected_revision {
            return Err(StoreError::Conflict(format!(
                "cursor {flow}/{stream} is at revision {current}, not {expected_revision}"
            )));
        }
        let stored = StoredCursor {
            cursor: cursor.clone(),
            revision: current + 1,
        };
        slot.insert_entry(stored);
        Ok(current + 1)
    }
}

#[async_trait]
impl ConfigStore for MemoryStore {
    async fn current(&self, flow: Flow, kind: ConfigKind) -> Result<Option<ConfigDoc>, StoreError> {
        Ok(lock(&self.state)
            .configs
            .get(&(flow, kind))
            .and_then(|v| v.last().cloned()))
    }

    async fn save(&self, doc: &ConfigDoc, expected_version: u64) -> Result<(), StoreError> {
        let mut state = lock(&self.state);
        let versions = state.configs.entry((doc.flow, doc.kind)).or_default();
        let current = versions.last().map_or(0, |d| d.version);
        if current != expected_version || doc.version != expected_version + 1 {
            return Err(StoreError::Conflict(format!(
                "{} of {} is at version {current}, not {expected_version}",
                doc.kind.as_str(),
                doc.flow
            )));
        }
        versions.push(doc.clone());
        Ok(())
    }

    async fn history(
        &self,
        flow: Flow,
        kind: ConfigKind,
        limit: usize,
    ) -> Result<Vec<ConfigDoc>, StoreError> {
        Ok(lock(&self.state)
            .configs
            .get(&(flow, kind))
            .map(|v| v.iter().rev().take(limit).cloned().collect())
            .unwrap_or_default())
    }
}

#[async_trait]
impl LinkStore for MemoryStore {
    async fn get(&self, flow: Flow, key: &RecordKey) -> Result<Option<Link>, StoreError> {
        Ok(lock(&self.state).links.get(&(flow, key.clone())).cloned())
    }

    async fn put(&self, link: &Link) -> Result<LinkWrite, StoreError> {
        let mut state = lock(&self.state);
        if let Some(existing) = state.links.get(&(link.flow, link.key.clone()))
            && existing.source_version.is_newer_than(&link.source_version)
        {
            return Ok(LinkWrite::Stale);
        }
        state
            .links
            .insert((link.flow, link.key.clone()), link.clone());
        Ok(LinkWrite::Written)
    }

    async fn find_by_target(&self, flow: Flow, target_id: &str) -> Result<Vec<Link>, StoreError> {
        Ok(lock(&self.state)
            .links
            .values()
            .filter(|l| l.flow == flow && l.target_id == target_id)
            .cloned()
            .collect())
    }
}

#[async_trait]
impl StateStore for MemoryStore {
    async fn get_state(
        &self,
        flow: Flow,
        key: &RecordKey,
    ) -> Result<Option<RecordState>, StoreError> {
        Ok(lock(&self.state).states.get(&(flow, key.clone())).cloned())
    }

    async fn put_state(&self, state: &RecordState) -> Result<RecordState, StoreError> {
        let mut all = lock(&self.state);
        let slot = (state.flow, state.key.clone());
        let stored = all.states.get(&slot).map_or(0, |s| s.version);
        if stored != state.version {
            return Err(StoreError::Conflict(format!(
                "state of {}/{} is at version {stored}, not {}",
                state.flow, state.key, state.version
            )));
        }
        let written = RecordState {
            version: stored + 1,
            ..state.clone()
        };
        all.states.insert(slot, written.clone());
        Ok(written)
    }

    async fn list_states(
        &self,
        flow: Flow,
        state: &str,
        limit: usize,
    ) -> Result<Vec<RecordState>, StoreError> {
        let mut found: Vec<RecordState> = lock(&self.state)
            .states
            .values()
            .filter(|s| s.flow == flow && s.state == state)
            .cloned()
            .collect();
        found.sort_by(|a, b| a.since.cmp(&b.since).then_with(|| a.key.cmp(&b.key)));
        found.truncate(limit);
        Ok(found)
    }
}

#[async_trait]
impl AttemptStore for MemoryStore {
    async fn count_failure(
        &self,
        queue: &str,
        id: &str,
        _now: Timestamp,
        _keep: Duration,
    ) -> Result<u32, StoreError> {
        let mut state = lock(&self.state);
        let count = state
            .attempts
            .entry((queue.to_owned(), id.to_owned()))
            .or_default();
        *count = count.saturating_add(1);
        Ok(*count)
    }
}

#[async_trait]
impl BudgetStore for MemoryStore {
    async fn book(
        &self,
        key: &str,
        now: Timestamp,
        spend: Duration,
    ) -> Result<Timestamp, StoreError> {
        let mut state = lock(&self.state);
        let next = crate::ports::booked(state.budgets.get(key).copied(), now, spend);
        state.budgets.insert(key.to_owned(), next);
        Ok(next)
    }
}

#[async_trait]
impl ClaimStore for MemoryStore {
    async fn acquire(
        &self,
        key: &ClaimKey,
        owner: &str,
        ttl: Duration,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut state = lock(&self.state);
        let free = match state.claims.get(key.as_str()) {
            None => true,
            Some((holder, until)) => holder == owner || *until <= now,
        };
        if free {
            let until = Self::lease_until(now, ttl);
            state
                .claims
                .insert(key.as_str().to_owned(), (owner.to_owned(), until));
        }
        Ok(free)
    }

    async fn release(&self, key: &ClaimKey, owner: &str) -> Result<(), StoreError> {
        let mut state = lock(&self.state);
        if state
            .claims
            .get(key.as_str())
            .is_some_and(|(holder, _)| holder == owner)
        {
            state.claims.remove(key.as_str());
        }
        Ok(())
    }
}

#[async_trait]
impl ActivityLog for MemoryStore {
    async fn record(&self, entry: &ActivityEntry) -> Result<(), StoreError> {
        lock(&self.state).activity.push(entry.clone());
        Ok(())
    }

    async fn query(&self, query: &ActivityQuery) -> Result<Vec<ActivityEntry>, StoreError> {
        let state = lock(&self.state);
        let found = state
            .activity
            .iter()
            .filter(|e| query.matches(e))
            .cloned()
            .collect();
        Ok(query.newest_first(found))
    }
}

#[async_trait]
impl SecretStore for MemoryStore {
    async fn get(&self, name: &str, _freshness: Freshness) -> Result<SecretString, StoreError> {
        lock(&self.state)
            .secrets
            .get(name)
            .map(|s| SecretString::from(s.clone()))
            .ok_or_else(|| StoreError::NotFound(format!("secret {name}")))
    }

    async fn put(&self, name: &str, value: &SecretString) -> Result<(), StoreError> {
        lock(&self.state)
            .secrets
            .insert(name.to_owned(), value.expose_secret().to_owned());
        Ok(())
    }
}

#[derive(Debug, Clone)]
struct Stored {
    id: String,
    body: String,
    group: String,
    receives: u32,
    visible_at: Instant,
    receipt: Option<String>,
    reason: Option<String>,
}

#[derive(Debug, Default)]
struct Queues {
    live: BTreeMap<QueueName, VecDeque<Stored>>,
    dead: BTreeMap<QueueName, VecDeque<Stored>>,
    dedup: HashMap<(QueueName, String), Instant>,
    next: u64,
}

/// FIFO queues in memory, with visibility timeouts, groups, de-duplication and dead letters.
#[derive(Debug, Clone)]
pub struct MemoryQueue {
    state: Arc<Mutex<Queues>>,
    visibility: Duration,
    max_receives: u32,
}

impl Default for MemoryQueue {
    fn default() -> Self {
        Self::new(Duration::from_secs(30))
    }
}

/// How long a de-duplication id suppresses repeats (SQS FIFO: 5 minutes).
const DEDUP_WINDOW: Duration = Duration::from_mins(5);

impl MemoryQueue {
    /// Queues whose received messages stay invisible for `visibility`.
    pub fn new(visibility: Duration) -> Self {
        Self {
            state: Arc::new(Mutex::new(Queues::default())),
            visibility,
            max_receives: 8,
        }
    }

    /// Moves a message to the dead letters once it was received `n` times without being
    /// deleted (SQS's `maxReceiveCount`; 8 by default).
    #[must_use]
    pub fn with_max_receives(mut self, n: u32) -> Self {
        self.max_receives = n.max(1);
        self
    }

    /// Messages waiting or in flight on `queue`.
    pub fn depth(&self, queue: QueueName) -> usize {
        lock(&self.state).live.get(&queue).map_or(0, VecDeque::len)
    }

    /// Messages in `queue`'s dead-letter queue.
    pub fn dead_depth(&self, queue: QueueName) -> usize {
        lock(&self.state).dead.get(&queue).map_or(0, VecDeque::len)
    }
}

#[async_trait]
impl Queue for MemoryQueue {
    async fn send(
        &self,
        queue: QueueName,
        messages: Vec<OutboundMessage>,
    ) -> Result<(), QueueError> {
        let mut state = lock(&self.state);
        let now = Instant::now();
        state
            .dedup
            .retain(|_, at| now.duration_since(*at) < DEDUP_WINDOW);
        for m in messages {
            if state.dedup.contains_key(&(queue, m.dedup_id.clone())) {
                continue;
            }
            state.dedup.insert((queue, m.dedup_id), now);
            state.next += 1;
            let id = format!("m{}", state.next);
            state.live.entry(queue).or_default().push_back(Stored {
                id,
                body: m.body,
                group: m.group_id,
                receives: 0,
                visible_at: now,
                receipt: None,
                reason: None,
            });
        }
        Ok(())
    }

    async fn receive(
        &self,
        queue: QueueName,
        max: usize,
        _wait: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError> {
        let mut state = lock(&self.state);
        let now = Instant::now();
        let visibility = self.visibility;
        state.next += 1;
        let batch = state.next;
        let Some(messages) = state.live.get_mut(&queue) else {
            return Ok(Vec::new());
        };
        // A group with a message in flight (or waiting out a retry delay) is blocked, so
        // its messages are handled one after the other, in order.
        let blocked: std::collections::HashSet<String> = messages
            .iter()
            .filter(|m| m.visible_at > now)
            .map(|m| m.group.clone())
            .collect();
        let mut out = Vec::new();
        // Positions (ascending) of the messages to move to the dead-letter queue.
        let mut redriven = Vec::new();
        for (index, m) in messages.iter_mut().enumerate() {
            if out.len() >= max {
                break;
            }
            if blocked.contains(&m.group) {
                continue;
            }
            if m.receives >= self.max_receives {
                redriven.push(index);
                continue;
            }
            m.receives += 1;
            m.visible_at = now + visibility;
            let receipt = format!("{}-{}-{batch}", m.id, m.receives);
            m.receipt = Some(receipt.clone());
            out.push(ReceivedMessage {
                message_id: m.id.clone(),
                receipt,
                body: m.body.clone(),
                receive_count: m.receives,
                group_id: Some(m.group.clone()),
            });
        }
        if redriven.is_empty() {
            return Ok(out);
        }
        // One pass splits the queue, keeping the order of both the remaining messages and
        // the parked ones.
        let mut parked = Vec::with_capacity(redriven.len());
        let mut redriven = redriven.into_iter().peekable();
        for (index, mut m) in std::mem::take(messages).into_iter().enumerate() {
            if redriven.next_if_eq(&index).is_some() {
                m.reason = Some(format!(
                    "received {} times without being handled (redrive after {})",
                    m.receives, self.max_receives
                ));
                m.receipt = None;
                parked.push(m);
            } else {
                messages.push_back(m);
            }
        }
        state.dead.entry(queue).or_default().extend(parked);
        Ok(out)
    }

    async fn delete(&self, queue: QueueName, receipt: &str) -> Result<(), QueueError> {
        let mut state = lock(&self.state);
        if let Some(messages) = state.live.get_mut(&queue) {
            messages.retain(|m| m.receipt.as_deref() != Some(receipt));
        }
        Ok(())
    }

    async fn change_visibility(
        &self,
        queue: QueueName,
        receipt: &str,
        timeout: Duration,
    ) -> Result<(), QueueError> {
        let mut state = lock(&self.state);
        if let Some(m) = state.live.get_mut(&queue).and_then(|ms| {
            ms.iter_mut()
                .find(|m| m.receipt.as_deref() == Some(receipt))
        }) {
            m.visible_at = Instant::now() + timeout;
        }
        Ok(())
    }

    async fn dead_letter(
        &self,
        queue: QueueName,
        message: &ReceivedMessage,
        reason: &str,
    ) -> Result<(), QueueError> {
        let mut state = lock(&self.state);
        let origin = format!("d-{}", message.message_id);
        if state
            .dead
            .get(&queue)
            .is_some_and(|ms| ms.iter().any(|m| m.id == origin))
        {
            // Parked already (SQS de-duplicates by the original message id).
            return Ok(());
        }
        let id = origin;
        state.dead.entry(queue).or_default().push_back(Stored {
            id,
            body: message.body.clone(),
            group: message.group_id.clone().unwrap_or_default(),
            receives: 0,
            visible_at: Instant::now(),
            receipt: None,
            reason: Some(reason.to_owned()),
        });
        Ok(())
    }

    async fn receive_dead_letters(
        &self,
        queue: QueueName,
        max: usize,
    ) -> Result<Vec<(ReceivedMessage, Option<String>)>, QueueError> {
        let state = lock(&self.state);
        Ok(state
            .dead
            .get(&queue)
            .map(|ms| {
                ms.iter()
                    .take(max)
                    .map(|m| {
                        (
                            ReceivedMessage {
                                message_id: m.id.clone(),
                                receipt: m.id.clone(),
                                body: m.body.clone(),
                                receive_count: 1,
                                group_id: Some(m.group.clone()),
                            },
                            m.reason.clone(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn delete_dead_letter(&self, queue: QueueName, receipt: &str) -> Result<(), QueueError> {
        let mut state = lock(&self.state);
        if let Some(ms) = state.dead.get_mut(&queue) {
            ms.retain(|m| m.id != receipt);
        }
        Ok(())
    }
}
