//! Runs every port contract suite against the in-memory adapters of `lsbc_core::memory`,
//! each check on a fresh store or queue. Owns no checks of its own.

use std::sync::Arc;
use std::time::Duration;

use lsbc_core::memory::{MemoryQueue, MemoryStore};
use lsbc_core::{Flow, QueueName};
use lsbc_tests::contract::{activity, claims, config, cursors, links, queue, secrets};

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

store_checks! {
    cursor_missing_is_none => cursors::missing_cursor_is_none,
    cursor_round_trips => cursors::save_then_load_round_trips,
    cursor_stale_revision_conflicts => cursors::stale_revision_conflicts,
    cursor_streams_are_independent => cursors::streams_and_flows_are_independent,
    config_unsaved_is_none => config::unsaved_config_is_none,
    config_versions_and_history => config::versions_and_history,
    config_reset_is_a_new_version => config::reset_is_a_new_version,
    config_stale_version_conflicts => config::stale_version_conflicts,
    config_kinds_are_independent => config::kinds_and_flows_are_independent,
    link_missing_is_none => links::missing_link_is_none,
    link_round_trips => links::put_then_get_round_trips,
    link_older_timestamps_are_stale => links::older_timestamps_are_stale,
    link_older_sequences_are_stale => links::older_sequences_are_stale,
    link_find_by_target => links::find_by_target_follows_the_link,
    claim_granted_once => claims::free_claim_is_granted_once,
    claim_expired_taken_over => claims::expired_claim_can_be_taken_over,
    claim_reacquire_extends => claims::owner_reacquires_and_extends,
    claim_release_only_by_owner => claims::release_only_by_owner,
    claim_keys_are_independent => claims::keys_are_independent,
    activity_round_trips => activity::entries_round_trip,
    activity_by_flow => activity::query_by_flow_newest_first,
    activity_default_limit => activity::default_limit_is_100,
    activity_by_record => activity::query_by_record,
    activity_by_outcome => activity::query_by_outcome,
    activity_by_time => activity::query_by_time_range,
    activity_expiry_round_trips => activity::expiry_round_trips,
    secret_missing_is_not_found => secrets::missing_secret_is_not_found,
    secret_put_creates_then_replaces => secrets::put_creates_then_replaces,
}

race_checks! {
    cursor_concurrent_saves => cursors::concurrent_saves_one_wins,
    config_concurrent_saves => config::concurrent_saves_one_wins,
    link_concurrent_puts => links::concurrent_versioned_puts_keep_the_newest,
    claim_concurrent_acquires => claims::concurrent_acquire_one_wins,
}

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
