//! Runs every port contract suite against the embedded adapters of `lsbc_embedded` (SQLite
//! store and queue, local credentials file), each check on a fresh database. Owns no checks
//! of its own.

// Test code: a failed expectation is a failed test.
#![allow(clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use lsbc_core::ports::{ActivityEntry, ActivityLog, ActivityQuery, Outcome, SystemClock};
use lsbc_core::{Flow, QueueName};
use lsbc_embedded::{Embedded, FileSecretStore, QueueOptions};
use lsbc_tests::contract::{activity, an_hour_ago, queue, secrets};

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

lsbc_tests::for_each_store_check!(store_checks);

lsbc_tests::for_each_race_check!(race_checks);

/// Reads the expiry column the embedded store deletes by, and ages entries in it to see
/// that the store really honours it.
struct SqliteExpiry {
    path: std::path::PathBuf,
    /// The store under test (a handle on the same database).
    log: Embedded,
}

impl SqliteExpiry {
    fn db(&self) -> rusqlite::Connection {
        let conn = rusqlite::Connection::open(&self.path).expect("open the database");
        conn.busy_timeout(Duration::from_secs(5))
            .expect("set a busy timeout");
        conn
    }

    fn row_exists(&self, entry: &ActivityEntry) -> bool {
        self.db()
            .query_row(
                "SELECT COUNT(*) FROM activity WHERE id = ?1",
                [&entry.id],
                |r| r.get::<_, i64>(0),
            )
            .expect("count rows")
            > 0
    }

    async fn found(&self, entry: &ActivityEntry) -> bool {
        self.log
            .query(&ActivityQuery {
                flow: Some(entry.flow),
                key: Some(entry.key.clone()),
                ..ActivityQuery::default()
            })
            .await
            .expect("query the activity log")
            .iter()
            .any(|e| e.id == entry.id)
    }

    /// Expired entries are never returned by queries and are deleted by the next write;
    /// `Err` says which of that doesn't hold.
    async fn expiry_works(&self) -> Result<(), String> {
        let at = an_hour_ago();
        // Recorded while live, then aged past its expiry (as if the time had passed).
        let aged = activity::entry(Flow::Stock, "expiry-probe-aged", Outcome::Updated, at);
        self.log.record(&aged).await.map_err(|e| format!("{e:?}"))?;
        if !self.found(&aged).await {
            return Err("a live entry is not returned".into());
        }
        let now = Timestamp::now().as_second();
        let changed = self
            .db()
            .execute(
                "UPDATE activity SET expires_at = ?1 WHERE id = ?2",
                rusqlite::params![now - 1, aged.id],
            )
            .expect("age the entry");
        if changed != 1 {
            return Err(format!("the entry's row wasn't found ({changed} updated)"));
        }
        if self.found(&aged).await {
            return Err("a query returns an entry past its expiry".into());
        }
        // Recorded already expired: the write that stores it deletes what is past.
        let expired = ActivityEntry {
            expires_at: at,
            ..activity::entry(Flow::Stock, "expiry-probe-expired", Outcome::Failed, at)
        };
        self.log
            .record(&expired)
            .await
            .map_err(|e| format!("{e:?}"))?;
        if self.found(&expired).await {
            return Err("a query returns an entry recorded already expired".into());
        }
        for (entry, what) in [(&aged, "aged"), (&expired, "already expired")] {
            if self.row_exists(entry) {
                return Err(format!("the {what} entry is kept after a write"));
            }
        }
        Ok(())
    }
}

#[async_trait]
impl activity::ExpiryProbe for SqliteExpiry {
    async fn stored_expiry(&self, entry: &ActivityEntry) -> Option<i64> {
        let conn = rusqlite::Connection::open(&self.path).ok()?;
        conn.query_row(
            "SELECT expires_at FROM activity WHERE id = ?1",
            [&entry.id],
            |r| r.get(0),
        )
        .ok()
    }

    async fn expiry_enabled(&self) -> bool {
        match self.expiry_works().await {
            Ok(()) => true,
            Err(why) => {
                eprintln!("the embedded activity log doesn't expire entries: {why}");
                false
            }
        }
    }
}

#[tokio::test]
async fn activity_expiry_is_stored() {
    let (s, dir) = store();
    let probe = SqliteExpiry {
        path: dir.path().join("state.sqlite"),
        log: s.clone(),
    };
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
