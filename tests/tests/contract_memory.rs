//! Runs every port contract suite against the in-memory adapters of `lsbc_core::memory`,
//! each check on a fresh store or queue. Owns no checks of its own.

use std::sync::Arc;
use std::time::Duration;

use lsbc_core::memory::{MemoryQueue, MemoryStore};
use lsbc_core::{Flow, QueueName};
use lsbc_tests::contract::{queue, secrets};

/// Rounds of each race: the memory store is fast, so many.
const ROUNDS: usize = 200;
/// The memory queues' visibility timeout (real time: keep it short).
const VISIBILITY: Duration = Duration::from_secs(1);
const Q: QueueName = QueueName::Transform(Flow::Customers);

/// One `#[tokio::test]` per check, each on a fresh `MemoryStore`.
macro_rules! store_checks {
    ($($name:ident => $check:path),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $name() {
            $check(&MemoryStore::new()).await;
        }
    )*};
}

/// One `#[tokio::test]` per race, each on a fresh `MemoryStore`.
macro_rules! race_checks {
    ($($name:ident => $check:path),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $name() {
            $check(Arc::new(MemoryStore::new()), ROUNDS).await;
        }
    )*};
}

lsbc_tests::for_each_store_check!(store_checks);

// What the memory store is besides: a `SecretStore` without a cache of its own.
store_checks! {
    secret_missing_is_not_found => secrets::missing_secret_is_not_found,
    secret_put_creates_then_replaces => secrets::put_creates_then_replaces,
}

lsbc_tests::for_each_race_check!(race_checks);

#[tokio::test]
async fn secret_write_back_is_seen_by_other_instances() {
    // Two handles on one store: the memory adapter has no per-instance cache.
    let store = MemoryStore::new();
    secrets::write_back_is_seen_by_other_instances(&store, &store.clone()).await;
}

#[tokio::test]
async fn secret_cached_reads() {
    let store = MemoryStore::new();
    secrets::cached_reads_are_served_from_the_cache(
        &store,
        &store.clone(),
        secrets::Caching::ReadsThrough,
    )
    .await;
}

/// One `#[tokio::test]` per queue check, each on a fresh `MemoryQueue`.
macro_rules! queue_checks {
    ($($name:ident => $check:path $(, $arg:expr)?);* $(;)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            $check(&MemoryQueue::new(VISIBILITY), Q $(, $arg)?).await;
        }
    )*};
}

queue_checks! {
    queue_fifo_order => queue::fifo_order_per_group;
    queue_group_blocked => queue::group_blocked_while_in_flight;
    queue_visibility_redelivers => queue::visibility_timeout_redelivers, VISIBILITY;
    queue_change_visibility => queue::change_visibility_releases_at_once, VISIBILITY;
    queue_dedup => queue::duplicates_are_dropped_by_dedup_id;
    queue_dead_letter => queue::dead_letter_keeps_the_reason;
}

#[tokio::test]
async fn queue_redrive() {
    queue::redrive_after_max_receives(&MemoryQueue::new(VISIBILITY).with_max_receives(3), Q, 3)
        .await;
}

#[tokio::test]
async fn queue_independent() {
    queue::queues_are_independent(
        &MemoryQueue::new(VISIBILITY),
        Q,
        QueueName::Push(Flow::Customers),
    )
    .await;
}
