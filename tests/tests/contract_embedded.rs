//! Runs every port contract suite against the embedded adapters of `lsbc_embedded` (SQLite
//! store and queue, local credentials file), each check on a fresh database. Owns no checks
//! of its own.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use lsbc_core::ports::{ActivityEntry, SystemClock};
use lsbc_core::{Flow, QueueName};
use lsbc_embedded::{Embedded, FileSecretStore, QueueOptions};
use lsbc_tests::contract::{activity, claims, config, cursors, links, queue, secrets};

const ROUNDS: usize = 100;
/// The embedded queues' visibility timeout (real time: keep it short).
const VISIBILITY: Duration = Duration::from_secs(1);
const MAX_RECEIVES: u32 = 3;
const Q: QueueName = QueueName::Transform(Flow::Customers);

/// A fresh database in a temporary directory (a real file: WAL, locking and all).
fn store() -> (Embedded, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = Embedded::open_with(
        &dir.path().join("state.sqlite"),
        Arc::new(SystemClock),
        QueueOptions {
            visibility: VISIBILITY,
            max_receives: MAX_RECEIVES,
            ..QueueOptions::default()
        },
    )
    .expect("open the embedded store");
    (store, dir)
}

macro_rules! store_checks {
    ($($name:ident => $check:path),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $name() {
            let (s, _dir) = store();
            $check(&s).await;
        }
    )*};
}

macro_rules! race_checks {
    ($($name:ident => $check:path),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $name() {
            let (s, _dir) = store();
            $check(Arc::new(s), ROUNDS).await;
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
}

race_checks! {
    cursor_concurrent_saves => cursors::concurrent_saves_one_wins,
    config_concurrent_saves => config::concurrent_saves_one_wins,
    link_concurrent_puts => links::concurrent_versioned_puts_keep_the_newest,
    claim_concurrent_acquires => claims::concurrent_acquire_one_wins,
}

/// Reads the expiry column the embedded store deletes by.
struct SqliteExpiry(std::path::PathBuf);

#[async_trait]
impl activity::ExpiryProbe for SqliteExpiry {
    async fn stored_expiry(&self, entry: &ActivityEntry) -> Option<i64> {
        let conn = rusqlite::Connection::open(&self.0).ok()?;
        conn.query_row(
            "SELECT expires_at FROM activity WHERE id = ?1",
            [&entry.id],
            |r| r.get(0),
        )
        .ok()
    }

    async fn expiry_enabled(&self) -> bool {
        // Expired entries are deleted on every write and never returned by queries.
        true
    }
}

#[tokio::test]
async fn activity_expiry_is_stored() {
    let (s, dir) = store();
    let probe = SqliteExpiry(dir.path().join("state.sqlite"));
    activity::expiry_is_stored(&s, &probe).await;
}

fn secrets_file() -> (FileSecretStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temporary directory");
    (
        FileSecretStore::new(dir.path().join("credentials.json")),
        dir,
    )
}

#[tokio::test]
async fn secret_missing_is_not_found() {
    let (s, _dir) = secrets_file();
    secrets::missing_secret_is_not_found(&s).await;
}

#[tokio::test]
async fn secret_put_creates_then_replaces() {
    let (s, _dir) = secrets_file();
    secrets::put_creates_then_replaces(&s).await;
}

#[tokio::test]
async fn secret_write_back_is_seen_by_other_instances() {
    let (s, dir) = secrets_file();
    let other = FileSecretStore::new(s.path());
    secrets::write_back_is_seen_by_other_instances(&s, &other).await;
    drop(dir);
}

#[tokio::test]
async fn secret_reads_go_to_the_file() {
    let (s, _dir) = secrets_file();
    let other = FileSecretStore::new(s.path());
    secrets::cached_reads_are_served_from_the_cache(&s, &other, secrets::Caching::ReadsThrough)
        .await;
}

macro_rules! queue_checks {
    ($($name:ident => $check:path $(, $arg:expr)?);* $(;)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let (s, _dir) = store();
            $check(&s, Q $(, $arg)?).await;
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
    queue_redrive => queue::redrive_after_max_receives, MAX_RECEIVES;
}

#[tokio::test]
async fn queue_independent() {
    let (s, _dir) = store();
    queue::queues_are_independent(&s, Q, QueueName::Push(Flow::Customers)).await;
}
