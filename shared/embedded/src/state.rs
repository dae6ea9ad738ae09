//! SQLite adapters of the state ports: cursors, configuration, links, claims, budgets and the
//! activity log. Conditional writes run inside immediate transactions, so two writers —
//! threads or processes — can't both win.

use std::fmt::Write as _;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use lsbc_core::cursor::StoredCursor;
use lsbc_core::ports::{
    ActivityEntry, ActivityLog, ActivityQuery, AttemptStore, BudgetStore, ClaimKey, ClaimStore,
    ConfigDoc, ConfigKind, ConfigStore, CursorStore, Link, LinkStore, LinkWrite, RecordState,
    StateStore,
};
use lsbc_core::{Cursor, Flow, RecordKey, StoreError};
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use crate::{Embedded, sqlite};

fn corrupt(key: impl Into<String>, error: &serde_json::Error) -> StoreError {
    StoreError::Corrupt {
        key: key.into(),
        message: error.to_string(),
    }
}

fn to_json<T: serde::Serialize>(key: &str, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| corrupt(key, &e))
}

#[async_trait]
impl CursorStore for Embedded {
    async fn load(&self, flow: Flow, stream: &str) -> Result<Option<StoredCursor>, StoreError> {
        let row: Option<(String, i64)> = self
            .db()
            .query_row(
                "SELECT body, revision FROM cursors WHERE flow = ?1 AND stream = ?2",
                params![flow.as_str(), stream],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(sqlite)?;
        row.map(|(body, revision)| {
            let cursor: Cursor = serde_json::from_str(&body)
                .map_err(|e| corrupt(format!("cursor {flow}/{stream}"), &e))?;
            Ok(StoredCursor {
                cursor,
                revision: revision.unsigned_abs(),
            })
        })
        .transpose()
    }

    async fn save(
        &self,
        flow: Flow,
        stream: &str,
        cursor: &Cursor,
        expected_revision: u64,
    ) -> Result<u64, StoreError> {
        let body = to_json("cursor", cursor)?;
        let mut db = self.db();
        let tx = db
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sqlite)?;
        let current: i64 = tx
            .query_row(
                "SELECT revision FROM cursors WHERE flow = ?1 AND stream = ?2",
                params![flow.as_str(), stream],
                |r| r.get(0),
            )
            .optional()
            .map_err(sqlite)?
            .unwrap_or(0);
        if current.unsigned_abs() != expected_revision {
            return Err(StoreError::Conflict(format!(
                "cursor {flow}/{stream} is at revision {current}, not {expected_revision}"
            )));
        }
        let next = current + 1;
        tx.execute(
            "INSERT INTO cursors (flow, stream, body, revision) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (flow, stream) DO UPDATE SET body = excluded.body, revision = excluded.revision",
            params![flow.as_str(), stream, body, next],
        )
        .map_err(sqlite)?;
        tx.commit().map_err(sqlite)?;
        Ok(next.unsigned_abs())
    }
}

#[async_trait]
impl ConfigStore for Embedded {
    async fn current(&self, flow: Flow, kind: ConfigKind) -> Result<Option<ConfigDoc>, StoreError> {
        Ok(self.history(flow, kind, 1).await?.into_iter().next())
    }

    async fn save(&self, doc: &ConfigDoc, expected_version: u64) -> Result<(), StoreError> {
        let body = to_json("config", doc)?;
        let mut db = self.db();
        let tx = db
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sqlite)?;
        let current: i64 = tx
            .query_row(
                "SELECT COALESCE(MAX(version), 0) FROM configs WHERE flow = ?1 AND kind = ?2",
                params![doc.flow.as_str(), doc.kind.as_str()],
                |r| r.get(0),
            )
            .map_err(sqlite)?;
        if current.unsigned_abs() != expected_version || doc.version != expected_version + 1 {
            return Err(StoreError::Conflict(format!(
                "{} of {} is at version {current}, not {expected_version}",
                doc.kind.as_str(),
                doc.flow
            )));
        }
        tx.execute(
            "INSERT INTO configs (flow, kind, version, body) VALUES (?1, ?2, ?3, ?4)",
            params![
                doc.flow.as_str(),
                doc.kind.as_str(),
                i64::try_from(doc.version).unwrap_or(i64::MAX),
                body
            ],
        )
        .map_err(sqlite)?;
        tx.commit().map_err(sqlite)
    }

    async fn history(
        &self,
        flow: Flow,
        kind: ConfigKind,
        limit: usize,
    ) -> Result<Vec<ConfigDoc>, StoreError> {
        let db = self.db();
        let mut stmt = db
            .prepare(
                "SELECT body FROM configs WHERE flow = ?1 AND kind = ?2 ORDER BY version DESC LIMIT ?3",
            )
            .map_err(sqlite)?;
        let rows = stmt
            .query_map(
                params![
                    flow.as_str(),
                    kind.as_str(),
                    i64::try_from(limit).unwrap_or(i64::MAX)
                ],
                |r| r.get::<_, String>(0),
            )
            .map_err(sqlite)?;
        rows.map(|row| {
            let body = row.map_err(sqlite)?;
            serde_json::from_str(&body)
                .map_err(|e| corrupt(format!("{} of {flow}", kind.as_str()), &e))
        })
        .collect()
    }
}

fn decode_link(body: &str, flow: Flow, key: &str) -> Result<Link, StoreError> {
    serde_json::from_str(body).map_err(|e| corrupt(format!("link {flow}/{key}"), &e))
}

#[async_trait]
impl LinkStore for Embedded {
    async fn get(&self, flow: Flow, key: &RecordKey) -> Result<Option<Link>, StoreError> {
        let body: Option<String> = self
            .db()
            .query_row(
                "SELECT body FROM links WHERE flow = ?1 AND key = ?2",
                params![flow.as_str(), key.as_str()],
                |r| r.get(0),
            )
            .optional()
            .map_err(sqlite)?;
        body.map(|b| decode_link(&b, flow, key.as_str()))
            .transpose()
    }

    async fn put(&self, link: &Link) -> Result<LinkWrite, StoreError> {
        let body = to_json("link", link)?;
        let mut db = self.db();
        let tx = db
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sqlite)?;
        let existing: Option<String> = tx
            .query_row(
                "SELECT body FROM links WHERE flow = ?1 AND key = ?2",
                params![link.flow.as_str(), link.key.as_str()],
                |r| r.get(0),
            )
            .optional()
            .map_err(sqlite)?;
        if let Some(existing) = existing {
            let existing = decode_link(&existing, link.flow, link.key.as_str())?;
            if existing.source_version.is_newer_than(&link.source_version) {
                return Ok(LinkWrite::Stale);
            }
        }
        tx.execute(
            "INSERT INTO links (flow, key, target_id, body) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (flow, key) DO UPDATE SET target_id = excluded.target_id, body = excluded.body",
            params![link.flow.as_str(), link.key.as_str(), link.target_id, body],
        )
        .map_err(sqlite)?;
        tx.commit().map_err(sqlite)?;
        Ok(LinkWrite::Written)
    }

    async fn find_by_target(&self, flow: Flow, target_id: &str) -> Result<Vec<Link>, StoreError> {
        let db = self.db();
        let mut stmt = db
            .prepare("SELECT key, body FROM links WHERE flow = ?1 AND target_id = ?2 ORDER BY key")
            .map_err(sqlite)?;
        let rows = stmt
            .query_map(params![flow.as_str(), target_id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(sqlite)?;
        rows.map(|row| {
            let (key, body) = row.map_err(sqlite)?;
            decode_link(&body, flow, &key)
        })
        .collect()
    }
}

fn decode_state(body: &str, flow: Flow, key: &str) -> Result<RecordState, StoreError> {
    serde_json::from_str(body).map_err(|e| corrupt(format!("state {flow}/{key}"), &e))
}

#[async_trait]
impl StateStore for Embedded {
    async fn get_state(
        &self,
        flow: Flow,
        key: &RecordKey,
    ) -> Result<Option<RecordState>, StoreError> {
        let body: Option<String> = self
            .db()
            .query_row(
                "SELECT body FROM record_states WHERE flow = ?1 AND key = ?2",
                params![flow.as_str(), key.as_str()],
                |r| r.get(0),
            )
            .optional()
            .map_err(sqlite)?;
        body.map(|b| decode_state(&b, flow, key.as_str()))
            .transpose()
    }

    async fn put_state(&self, state: &RecordState) -> Result<RecordState, StoreError> {
        let written = RecordState {
            version: state.version + 1,
            ..state.clone()
        };
        let body = to_json("state", &written)?;
        let mut db = self.db();
        let tx = db
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sqlite)?;
        let stored: i64 = tx
            .query_row(
                "SELECT version FROM record_states WHERE flow = ?1 AND key = ?2",
                params![state.flow.as_str(), state.key.as_str()],
                |r| r.get(0),
            )
            .optional()
            .map_err(sqlite)?
            .unwrap_or(0);
        if stored.unsigned_abs() != state.version {
            return Err(StoreError::Conflict(format!(
                "state of {}/{} is at version {stored}, not {}",
                state.flow, state.key, state.version
            )));
        }
        let version = i64::try_from(written.version).map_err(|_| StoreError::Corrupt {
            key: format!("state {}/{}", state.flow, state.key),
            message: "version out of range".into(),
        })?;
        tx.execute(
            "INSERT INTO record_states (flow, key, state, since_ms, version, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (flow, key) DO UPDATE SET state = excluded.state,
                 since_ms = excluded.since_ms, version = excluded.version, body = excluded.body",
            params![
                state.flow.as_str(),
                state.key.as_str(),
                state.state,
                state.since.as_millisecond(),
                version,
                body
            ],
        )
        .map_err(sqlite)?;
        tx.commit().map_err(sqlite)?;
        Ok(written)
    }

    async fn list_states(
        &self,
        flow: Flow,
        state: &str,
        limit: usize,
    ) -> Result<Vec<RecordState>, StoreError> {
        let db = self.db();
        let mut stmt = db
            .prepare(
                "SELECT key, body FROM record_states WHERE flow = ?1 AND state = ?2
                 ORDER BY since_ms, key LIMIT ?3",
            )
            .map_err(sqlite)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt
            .query_map(params![flow.as_str(), state, limit], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(sqlite)?;
        rows.map(|row| {
            let (key, body) = row.map_err(sqlite)?;
            decode_state(&body, flow, &key)
        })
        .collect()
    }
}

#[async_trait]
impl AttemptStore for Embedded {
    async fn count_failure(
        &self,
        queue: &str,
        id: &str,
        now: Timestamp,
        keep: Duration,
    ) -> Result<u32, StoreError> {
        let now_ms = now.as_millisecond();
        let expires = Self::lease_until(now, keep).as_millisecond();
        let db = self.db();
        db.execute(
            "DELETE FROM attempts WHERE expires_ms < ?1",
            params![now_ms],
        )
        .map_err(sqlite)?;
        let count: i64 = db
            .query_row(
                "INSERT INTO attempts (queue, id, count, expires_ms) VALUES (?1, ?2, 1, ?3)
                 ON CONFLICT (queue, id) DO UPDATE SET count = attempts.count + 1, expires_ms = ?3
                 RETURNING count",
                params![queue, id, expires],
                |row| row.get(0),
            )
            .map_err(sqlite)?;
        Ok(u32::try_from(count).unwrap_or(u32::MAX))
    }
}

#[async_trait]
impl BudgetStore for Embedded {
    async fn book(
        &self,
        key: &str,
        now: Timestamp,
        spend: Duration,
    ) -> Result<Timestamp, StoreError> {
        let spend_us = i64::try_from(spend.as_micros()).unwrap_or(i64::MAX);
        let until: i64 = self
            .db()
            .query_row(
                "INSERT INTO budgets (key, until_us) VALUES (?1, ?2 + ?3)
                 ON CONFLICT (key) DO UPDATE SET until_us = MAX(budgets.until_us, ?2) + ?3
                 RETURNING until_us",
                params![key, now.as_microsecond(), spend_us],
                |row| row.get(0),
            )
            .map_err(sqlite)?;
        Timestamp::from_microsecond(until).map_err(|e| StoreError::Corrupt {
            key: format!("budget {key}"),
            message: e.to_string(),
        })
    }
}

#[async_trait]
impl ClaimStore for Embedded {
    async fn acquire(
        &self,
        key: &ClaimKey,
        owner: &str,
        ttl: Duration,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let now_ms = now.as_millisecond();
        let until = Self::lease_until(now, ttl).as_millisecond();
        let changed = self
            .db()
            .execute(
                "INSERT INTO claims (key, owner, until_ms) VALUES (?1, ?2, ?3)
                 ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, until_ms = excluded.until_ms
                 WHERE claims.owner = excluded.owner OR claims.until_ms <= ?4",
                params![key.as_str(), owner, until, now_ms],
            )
            .map_err(sqlite)?;
        Ok(changed == 1)
    }

    async fn release(&self, key: &ClaimKey, owner: &str) -> Result<(), StoreError> {
        self.db()
            .execute(
                "DELETE FROM claims WHERE key = ?1 AND owner = ?2",
                params![key.as_str(), owner],
            )
            .map_err(sqlite)?;
        Ok(())
    }
}

/// Fixed-width UTC time, so text order is time order.
fn sortable(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
}

#[async_trait]
impl ActivityLog for Embedded {
    async fn record(&self, entry: &ActivityEntry) -> Result<(), StoreError> {
        let body = to_json("activity", entry)?;
        let db = self.db();
        db.execute(
            "INSERT OR REPLACE INTO activity (id, flow, key, outcome, at, expires_at, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                entry.id,
                entry.flow.as_str(),
                entry.key.as_str(),
                entry.outcome.as_str(),
                sortable(entry.at),
                entry.expires_at.as_second(),
                body
            ],
        )
        .map_err(sqlite)?;
        // Expiry, as DynamoDB's TTL does it: entries past their time are deleted.
        db.execute(
            "DELETE FROM activity WHERE expires_at <= ?1",
            params![self.clock.now().as_second()],
        )
        .map_err(sqlite)?;
        Ok(())
    }

    async fn query(&self, query: &ActivityQuery) -> Result<Vec<ActivityEntry>, StoreError> {
        let mut sql = String::from("SELECT body FROM activity WHERE expires_at > ?1");
        let mut args: Vec<rusqlite::types::Value> = vec![self.clock.now().as_second().into()];
        let mut push = |clause: &str, value: rusqlite::types::Value| {
            args.push(value);
            let _ = write!(sql, " AND {clause} ?{}", args.len());
        };
        if let Some(flow) = query.flow {
            push("flow =", flow.as_str().to_owned().into());
        }
        if let Some(key) = &query.key {
            push("key =", key.as_str().to_owned().into());
        }
        if let Some(outcome) = query.outcome {
            push("outcome =", outcome.as_str().to_owned().into());
        }
        if let Some(since) = query.since {
            push("at >=", sortable(since).into());
        }
        if let Some(until) = query.until {
            push("at <", sortable(until).into());
        }
        let _ = write!(
            sql,
            " ORDER BY at DESC, id DESC LIMIT {}",
            query.effective_limit()
        );
        let db = self.db();
        let mut stmt = db.prepare(&sql).map_err(sqlite)?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(args), |r| r.get::<_, String>(0))
            .map_err(sqlite)?;
        rows.map(|row| {
            let body = row.map_err(sqlite)?;
            serde_json::from_str(&body).map_err(|e| corrupt("activity entry", &e))
        })
        .collect()
    }
}
