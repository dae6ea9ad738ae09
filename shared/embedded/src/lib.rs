//! The embedded home: every port on one SQLite file, and the local runner.
//!
//! `lsbc run` and `lsbc demo` use this instead of DynamoDB and SQS: cursors, configuration,
//! links, claims, the activity log and the FIFO queues (with visibility timeouts, redrive and
//! dead letters) live in one SQLite database, so a restarted process picks up exactly where
//! the last one stopped. Credentials live in a local file ([`FileSecretStore`]).
//!
//! Nothing here knows Lightspeed or Business Central; the runner drives the stage functions
//! of `lsbc-core` with whatever sources, transformers and sinks it is given.

mod queue;
mod runner;
mod secrets;
mod state;

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use lsbc_core::StoreError;
use lsbc_core::ports::{Clock, SystemClock};
use rusqlite::Connection;

pub use queue::QueueOptions;
pub use runner::{FlowReport, LocalRunner, RunReport, RunnerOptions};
pub use secrets::FileSecretStore;

/// Schema version written to `PRAGMA user_version`.
const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS cursors (
    flow TEXT NOT NULL,
    stream TEXT NOT NULL,
    body TEXT NOT NULL,
    revision INTEGER NOT NULL,
    PRIMARY KEY (flow, stream)
);
CREATE TABLE IF NOT EXISTS configs (
    flow TEXT NOT NULL,
    kind TEXT NOT NULL,
    version INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (flow, kind, version)
);
CREATE TABLE IF NOT EXISTS links (
    flow TEXT NOT NULL,
    key TEXT NOT NULL,
    target_id TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (flow, key)
);
CREATE INDEX IF NOT EXISTS links_by_target ON links (flow, target_id);
CREATE TABLE IF NOT EXISTS record_states (
    flow TEXT NOT NULL,
    key TEXT NOT NULL,
    state TEXT NOT NULL,
    since_ms INTEGER NOT NULL,
    version INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (flow, key)
);
CREATE INDEX IF NOT EXISTS record_states_by_state ON record_states (flow, state, since_ms, key);
CREATE TABLE IF NOT EXISTS claims (
    key TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    until_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS attempts (
    queue TEXT NOT NULL,
    id TEXT NOT NULL,
    count INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL,
    PRIMARY KEY (queue, id)
);
CREATE TABLE IF NOT EXISTS budgets (
    key TEXT PRIMARY KEY,
    until_us INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS activity (
    id TEXT PRIMARY KEY,
    flow TEXT NOT NULL,
    key TEXT NOT NULL,
    outcome TEXT NOT NULL,
    at TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS activity_by_flow ON activity (flow, at);
CREATE INDEX IF NOT EXISTS activity_by_record ON activity (flow, key, at);
CREATE INDEX IF NOT EXISTS activity_by_expiry ON activity (expires_at);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    group_id TEXT NOT NULL,
    body TEXT NOT NULL,
    receives INTEGER NOT NULL DEFAULT 0,
    visible_at_ms INTEGER NOT NULL,
    receipt TEXT,
    dead INTEGER NOT NULL DEFAULT 0,
    reason TEXT
);
CREATE INDEX IF NOT EXISTS messages_by_queue ON messages (queue, dead, id);
CREATE TABLE IF NOT EXISTS dedup (
    queue TEXT NOT NULL,
    dedup_id TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    PRIMARY KEY (queue, dedup_id)
);
";

/// Every port of the sync on one SQLite database.
#[derive(Clone)]
pub struct Embedded {
    conn: Arc<Mutex<Connection>>,
    clock: Arc<dyn Clock>,
    queues: QueueOptions,
}

impl std::fmt::Debug for Embedded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedded")
            .field("queues", &self.queues)
            .finish_non_exhaustive()
    }
}

fn sqlite(error: rusqlite::Error) -> StoreError {
    match error {
        rusqlite::Error::SqliteFailure(e, _)
            if matches!(
                e.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ) =>
        {
            StoreError::Throttled {
                message: e.to_string(),
            }
        }
        other => StoreError::unavailable(other),
    }
}

impl Embedded {
    /// Opens (creating if needed) the database at `path`, with the system clock.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path).map_err(sqlite)?;
        Self::init(conn, Arc::new(SystemClock), QueueOptions::default())
    }

    /// How its queues behave.
    pub fn queue_options(&self) -> QueueOptions {
        self.queues
    }

    /// A database in memory (gone with the process), with the given clock and queue options.
    pub fn in_memory(clock: Arc<dyn Clock>, queues: QueueOptions) -> Result<Self, StoreError> {
        let conn = Connection::open_in_memory().map_err(sqlite)?;
        Self::init(conn, clock, queues)
    }

    /// Opens the database at `path` with the given clock and queue options.
    pub fn open_with(
        path: &Path,
        clock: Arc<dyn Clock>,
        queues: QueueOptions,
    ) -> Result<Self, StoreError> {
        let conn = Connection::open(path).map_err(sqlite)?;
        Self::init(conn, clock, queues)
    }

    fn init(
        conn: Connection,
        clock: Arc<dyn Clock>,
        queues: QueueOptions,
    ) -> Result<Self, StoreError> {
        conn.busy_timeout(Duration::from_secs(10)).map_err(sqlite)?;
        // WAL: readers don't block the writer, and a crash never leaves a half-written page.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sqlite)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(sqlite)?;
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(sqlite)?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::Corrupt {
                key: "user_version".into(),
                message: format!(
                    "database schema {version} is newer than this build's {SCHEMA_VERSION}"
                ),
            });
        }
        conn.execute_batch(SCHEMA).map_err(sqlite)?;
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(sqlite)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            clock,
            queues,
        })
    }

    /// The clock the adapters use.
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    fn db(&self) -> MutexGuard<'_, Connection> {
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn now_ms(&self) -> i64 {
        self.clock.now().as_millisecond()
    }
}
