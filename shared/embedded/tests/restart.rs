//! Killing the local runner mid-batch and starting it again finishes the work with nothing
//! lost and nothing done twice.
//!
//! The test runs itself again as a child process (the same test binary, filtered to
//! `child_runner`, with `LSBC_RESTART_CHILD` set). The child runs the local runner over a
//! fixed set of records into a target kept in its own SQLite file, slowly enough to be
//! killed mid-batch; the parent kills it with SIGKILL once part of the work is done, then
//! runs a fresh runner on the same state file to the end and checks the target.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::cast_possible_wrap)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use lsbc_core::ports::FlowParts;
use lsbc_core::ports::{
    Action, PageToken, PushRequest, ReadRange, Sink, SinkOutcome, Source, SourcePage, SystemClock,
    Transformed, Transformer,
};
use lsbc_core::stages::PollBudget;
use lsbc_core::{Flow, MatchKey, Overlap, QueueName, Record, RecordKey, SourceVersion, StageError};
use lsbc_embedded::{Embedded, LocalRunner, QueueOptions, RunnerOptions};
use rusqlite::{OptionalExtension, params};
use serde_json::json;

const RECORDS: usize = 120;
const CHILD_ENV: &str = "LSBC_RESTART_CHILD";

/// A fixed stream of customers, 7 per timestamp, in pages of 10.
#[derive(Debug)]
struct FixedSource;

fn record(i: usize) -> Record {
    let at = Timestamp::from_second(1_700_000_000 + (i / 7) as i64).unwrap();
    Record {
        flow: Flow::Customers,
        key: RecordKey::parse(format!("c{i:04}")).unwrap(),
        version: SourceVersion::Timestamp(at),
        payload: json!({"name": format!("Customer {i}"), "email": format!("c{i}@shop.test")}),
    }
}

#[async_trait]
impl Source for FixedSource {
    fn flow(&self) -> Flow {
        Flow::Customers
    }
    fn stream(&self) -> &'static str {
        "Customer"
    }
    fn overlap(&self) -> Overlap {
        Overlap::Time(SignedDuration::from_secs(5))
    }
    async fn signpost(&self, now: Timestamp) -> Result<SourceVersion, StageError> {
        Ok(SourceVersion::Timestamp(now))
    }
    async fn read_page(
        &self,
        range: &ReadRange,
        page: Option<&PageToken>,
    ) -> Result<SourcePage, StageError> {
        let all: Vec<Record> = (0..RECORDS)
            .map(record)
            .filter(|r| {
                range
                    .from
                    .as_ref()
                    .is_none_or(|f| !f.is_newer_than(&r.version))
            })
            .collect();
        let start: usize = page.map_or(0, |p| p.0.parse().unwrap());
        let end = (start + 10).min(all.len());
        Ok(SourcePage::of(
            all[start..end].to_vec(),
            (end < all.len()).then(|| PageToken(end.to_string())),
        ))
    }
    async fn fetch(&self, key: &RecordKey) -> Result<Option<Record>, StageError> {
        Ok((0..RECORDS).map(record).find(|r| &r.key == key))
    }
}

#[derive(Debug)]
struct CopyTransformer;

#[async_trait]
impl Transformer for CopyTransformer {
    fn flow(&self) -> Flow {
        Flow::Customers
    }
    async fn transform(&self, record: &Record) -> Result<Vec<Transformed>, StageError> {
        Ok(vec![Transformed {
            key: record.key.clone(),
            match_key: MatchKey::parse(record.payload["email"].as_str().unwrap()).unwrap(),
            command: record.payload.clone(),
            warnings: vec![],
        }])
    }
}

/// The target: a table in its own SQLite file. Every write is logged, so a record written
/// twice shows.
struct FileTarget {
    conn: Mutex<rusqlite::Connection>,
    /// Delay after a write, before answering: widens the window between the target write
    /// and the link write, where a crash hurts most.
    delay: Duration,
}

impl std::fmt::Debug for FileTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FileTarget")
    }
}

impl FileTarget {
    fn open(path: &Path, delay: Duration) -> Self {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.busy_timeout(Duration::from_secs(10)).unwrap();
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS customers (email TEXT PRIMARY KEY, id TEXT NOT NULL, body TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS writes (email TEXT NOT NULL, kind TEXT NOT NULL);",
        )
        .unwrap();
        Self {
            conn: Mutex::new(conn),
            delay,
        }
    }
}

#[async_trait]
impl Sink for FileTarget {
    fn flow(&self) -> Flow {
        Flow::Customers
    }
    async fn upsert(&self, request: PushRequest<'_>) -> Result<SinkOutcome, StageError> {
        let email = request.match_key.as_str();
        let body = request.command.to_string();
        let (action, id) = {
            let conn = self.conn.lock().unwrap();
            let found: Option<(String, String)> = conn
                .query_row(
                    "SELECT id, body FROM customers WHERE email = ?1",
                    params![email],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .unwrap();
            match found {
                Some((id, existing)) if existing == body => (Action::Unchanged, id),
                Some((id, _)) => {
                    conn.execute(
                        "UPDATE customers SET body = ?2 WHERE email = ?1",
                        params![email, body],
                    )
                    .unwrap();
                    conn.execute("INSERT INTO writes VALUES (?1, 'update')", params![email])
                        .unwrap();
                    (Action::Updated, id)
                }
                None => {
                    let id = format!("T-{email}");
                    conn.execute(
                        "INSERT INTO customers VALUES (?1, ?2, ?3)",
                        params![email, id, body],
                    )
                    .unwrap();
                    conn.execute("INSERT INTO writes VALUES (?1, 'create')", params![email])
                        .unwrap();
                    (Action::Created, id)
                }
            }
        };
        tokio::time::sleep(self.delay).await;
        Ok(SinkOutcome {
            action,
            target_id: id,
            etag: None,
            extra: serde_json::Map::new(),
            sent: vec![request.command.clone()],
        })
    }
}

fn runner(dir: &Path, delay: Duration) -> LocalRunner {
    let store = Embedded::open_with(
        &dir.join("state.sqlite"),
        Arc::new(SystemClock),
        QueueOptions {
            visibility: Duration::from_millis(500),
            ..QueueOptions::default()
        },
    )
    .unwrap();
    let mut runner = LocalRunner::new(
        store,
        RunnerOptions {
            concurrency: 3,
            batch_size: 10,
            poll_budget: PollBudget {
                max_pages: 2,
                lease: Duration::from_millis(500),
                until: None,
            },
            ..RunnerOptions::default()
        },
    );
    runner.add_flow(FlowParts {
        source: Arc::new(FixedSource),
        more_sources: Vec::new(),
        transformer: Arc::new(CopyTransformer),
        sink: Arc::new(FileTarget::open(&dir.join("target.sqlite"), delay)),
    });
    runner
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_runner() {
    // Only does something when started by the parent test.
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let runner = runner(Path::new(&dir), Duration::from_millis(15));
    loop {
        runner.run_once().await.unwrap();
    }
}

fn count(conn: &rusqlite::Connection, sql: &str) -> usize {
    conn.query_row(sql, [], |r| r.get::<_, i64>(0))
        .unwrap()
        .unsigned_abs() as usize
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_runner_mid_batch_loses_nothing_and_does_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let path: PathBuf = dir.path().to_owned();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_runner",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CHILD_ENV, &path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    // Wait until the child has written part of the target, then kill it mid-work.
    let target = path.join("target.sqlite");
    let started = Instant::now();
    loop {
        assert!(
            started.elapsed() < Duration::from_mins(1),
            "the child made no progress"
        );
        if target.exists() {
            let conn = rusqlite::Connection::open(&target).unwrap();
            conn.busy_timeout(Duration::from_secs(5)).unwrap();
            let written = conn
                .query_row("SELECT COUNT(*) FROM customers", [], |r| r.get::<_, i64>(0))
                .unwrap_or(0);
            if written >= (RECORDS / 3) as i64 {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let before = {
        let conn = rusqlite::Connection::open(&target).unwrap();
        count(&conn, "SELECT COUNT(*) FROM customers")
    };
    assert!(before < RECORDS, "the child was killed before it finished");

    // Start again on the same files and run until the queues are empty.
    let runner = runner(&path, Duration::ZERO);
    let started = Instant::now();
    loop {
        assert!(
            started.elapsed() < Duration::from_mins(1),
            "the restarted runner did not finish"
        );
        runner.run_once().await.unwrap();
        let store = runner.store();
        let waiting = store
            .queue_depth(QueueName::Transform(Flow::Customers))
            .unwrap()
            + store.queue_depth(QueueName::Push(Flow::Customers)).unwrap();
        let conn = rusqlite::Connection::open(&target).unwrap();
        if waiting == 0 && count(&conn, "SELECT COUNT(*) FROM customers") == RECORDS {
            break;
        }
        // In-flight messages of the killed process come back after their visibility timeout.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let conn = rusqlite::Connection::open(&target).unwrap();
    assert_eq!(
        count(&conn, "SELECT COUNT(*) FROM customers"),
        RECORDS,
        "nothing lost"
    );
    assert_eq!(
        count(&conn, "SELECT COUNT(*) FROM writes WHERE kind = 'create'"),
        RECORDS,
        "each record created exactly once"
    );
    assert_eq!(
        count(&conn, "SELECT COUNT(*) FROM writes WHERE kind = 'update'"),
        0,
        "no record written twice"
    );
    let store = runner.store();
    for q in [
        QueueName::Transform(Flow::Customers),
        QueueName::Push(Flow::Customers),
    ] {
        assert_eq!(
            store.dead_letter_depth(q).unwrap(),
            0,
            "nothing dead-lettered on {q}"
        );
    }
    for i in 0..RECORDS {
        let link = lsbc_core::ports::LinkStore::get(store, Flow::Customers, &record(i).key)
            .await
            .unwrap();
        assert!(link.is_some(), "record {i} linked");
    }
}
