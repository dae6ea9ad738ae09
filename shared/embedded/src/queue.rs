//! The durable FIFO queue on SQLite, with SQS's semantics: message groups (one group's
//! messages are handed out in order, none while another of the group is in flight),
//! de-duplication ids within a window, visibility timeouts, a receive count, redrive to the
//! dead letters after `max_receives` deliveries, and dead letters with a reason.
//!
//! Time comes from the store's clock, so tests can expire visibility by moving the clock.

use std::collections::HashSet;
use std::time::Duration;

use async_trait::async_trait;
use lsbc_core::ports::{OutboundMessage, Queue, ReceivedMessage};
use lsbc_core::{QueueError, QueueName};
use rusqlite::{TransactionBehavior, params};

use crate::Embedded;

/// How the embedded queues behave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueOptions {
    /// How long a received message stays invisible.
    pub visibility: Duration,
    /// Deliveries after which a message moves to the dead letters by itself (SQS's
    /// `maxReceiveCount`).
    pub max_receives: u32,
    /// How long a de-duplication id suppresses repeats (SQS FIFO: 5 minutes).
    pub dedup_window: Duration,
}

impl Default for QueueOptions {
    fn default() -> Self {
        Self {
            visibility: Duration::from_secs(30),
            max_receives: 30,
            dedup_window: Duration::from_mins(5),
        }
    }
}

fn unavailable(queue: QueueName, error: rusqlite::Error) -> QueueError {
    QueueError::Unavailable {
        queue: queue.to_string(),
        message: error.to_string(),
        source: Some(Box::new(error)),
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Embedded {
    /// Messages waiting or in flight on `queue` (not dead).
    pub fn queue_depth(&self, queue: QueueName) -> Result<usize, QueueError> {
        let n: i64 = self
            .db()
            .query_row(
                "SELECT COUNT(*) FROM messages WHERE queue = ?1 AND dead = 0",
                params![queue.to_string()],
                |r| r.get(0),
            )
            .map_err(|e| unavailable(queue, e))?;
        Ok(n.unsigned_abs() as usize)
    }

    /// Messages in `queue`'s dead letters.
    pub fn dead_letter_depth(&self, queue: QueueName) -> Result<usize, QueueError> {
        let n: i64 = self
            .db()
            .query_row(
                "SELECT COUNT(*) FROM messages WHERE queue = ?1 AND dead = 1",
                params![queue.to_string()],
                |r| r.get(0),
            )
            .map_err(|e| unavailable(queue, e))?;
        Ok(n.unsigned_abs() as usize)
    }

    fn receive_now(
        &self,
        queue: QueueName,
        max: usize,
    ) -> Result<Vec<ReceivedMessage>, QueueError> {
        let name = queue.to_string();
        let now = self.now_ms();
        let options = self.queues;
        let mut db = self.db();
        let tx = db
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| unavailable(queue, e))?;
        let candidates: Vec<(i64, String, String, i64, i64)> = {
            let mut stmt = tx
                .prepare(
                    "SELECT id, group_id, body, receives, visible_at_ms FROM messages
                     WHERE queue = ?1 AND dead = 0 ORDER BY id",
                )
                .map_err(|e| unavailable(queue, e))?;
            stmt.query_map(params![name], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .map_err(|e| unavailable(queue, e))?
            .collect::<Result<_, _>>()
            .map_err(|e| unavailable(queue, e))?
        };
        // A group with a message in flight (or waiting out a delay) is blocked.
        let blocked: HashSet<String> = candidates
            .iter()
            .filter(|c| c.4 > now)
            .map(|c| c.1.clone())
            .collect();
        let mut out = Vec::new();
        for (id, group, body, receives, _) in candidates {
            if out.len() >= max {
                break;
            }
            if blocked.contains(&group) {
                continue;
            }
            let receives = u32::try_from(receives).unwrap_or(u32::MAX);
            if receives >= options.max_receives {
                tx.execute(
                    "UPDATE messages SET dead = 1, receipt = NULL, reason = ?2 WHERE id = ?1",
                    params![
                        id,
                        format!(
                            "received {receives} times without being handled (redrive after {})",
                            options.max_receives
                        )
                    ],
                )
                .map_err(|e| unavailable(queue, e))?;
                // As with SQS, the rest of the group goes on once this one is parked.
                continue;
            }
            let receipt = uuid::Uuid::new_v4().simple().to_string();
            tx.execute(
                "UPDATE messages SET receives = receives + 1, visible_at_ms = ?2, receipt = ?3 WHERE id = ?1",
                params![id, now.saturating_add(millis(options.visibility)), receipt],
            )
            .map_err(|e| unavailable(queue, e))?;
            out.push(ReceivedMessage {
                message_id: id.to_string(),
                receipt,
                body,
                receive_count: receives + 1,
                group_id: Some(group),
            });
        }
        tx.commit().map_err(|e| unavailable(queue, e))?;
        Ok(out)
    }
}

#[async_trait]
impl Queue for Embedded {
    async fn send(
        &self,
        queue: QueueName,
        messages: Vec<OutboundMessage>,
    ) -> Result<(), QueueError> {
        let name = queue.to_string();
        let now = self.now_ms();
        let mut db = self.db();
        let tx = db
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| unavailable(queue, e))?;
        tx.execute(
            "DELETE FROM dedup WHERE at_ms <= ?1",
            params![now.saturating_sub(millis(self.queues.dedup_window))],
        )
        .map_err(|e| unavailable(queue, e))?;
        for m in messages {
            let fresh = tx
                .execute(
                    "INSERT OR IGNORE INTO dedup (queue, dedup_id, at_ms) VALUES (?1, ?2, ?3)",
                    params![name, m.dedup_id, now],
                )
                .map_err(|e| unavailable(queue, e))?;
            if fresh == 0 {
                continue;
            }
            tx.execute(
                "INSERT INTO messages (queue, group_id, body, visible_at_ms) VALUES (?1, ?2, ?3, ?4)",
                params![name, m.group_id, m.body, now],
            )
            .map_err(|e| unavailable(queue, e))?;
        }
        tx.commit().map_err(|e| unavailable(queue, e))
    }

    async fn receive(
        &self,
        queue: QueueName,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let got = self.receive_now(queue, max)?;
            if !got.is_empty() || tokio::time::Instant::now() >= deadline {
                return Ok(got);
            }
            tokio::time::sleep(Duration::from_millis(25).min(wait)).await;
        }
    }

    async fn delete(&self, queue: QueueName, receipt: &str) -> Result<(), QueueError> {
        self.db()
            .execute(
                "DELETE FROM messages WHERE queue = ?1 AND receipt = ?2 AND dead = 0",
                params![queue.to_string(), receipt],
            )
            .map_err(|e| unavailable(queue, e))?;
        Ok(())
    }

    async fn change_visibility(
        &self,
        queue: QueueName,
        receipt: &str,
        timeout: Duration,
    ) -> Result<(), QueueError> {
        let at = self.now_ms().saturating_add(millis(timeout));
        self.db()
            .execute(
                "UPDATE messages SET visible_at_ms = ?3 WHERE queue = ?1 AND receipt = ?2 AND dead = 0",
                params![queue.to_string(), receipt, at],
            )
            .map_err(|e| unavailable(queue, e))?;
        Ok(())
    }

    async fn dead_letter(
        &self,
        queue: QueueName,
        message: &ReceivedMessage,
        reason: &str,
    ) -> Result<(), QueueError> {
        self.db()
            .execute(
                "INSERT INTO messages (queue, group_id, body, receives, visible_at_ms, dead, reason)
                 VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6)",
                params![
                    queue.to_string(),
                    message.group_id.clone().unwrap_or_default(),
                    message.body,
                    message.receive_count,
                    self.now_ms(),
                    reason
                ],
            )
            .map_err(|e| unavailable(queue, e))?;
        Ok(())
    }

    async fn receive_dead_letters(
        &self,
        queue: QueueName,
        max: usize,
    ) -> Result<Vec<(ReceivedMessage, Option<String>)>, QueueError> {
        let db = self.db();
        let mut stmt = db
            .prepare(
                "SELECT id, group_id, body, receives, reason FROM messages
                 WHERE queue = ?1 AND dead = 1 ORDER BY id LIMIT ?2",
            )
            .map_err(|e| unavailable(queue, e))?;
        let rows = stmt
            .query_map(
                params![queue.to_string(), i64::try_from(max).unwrap_or(i64::MAX)],
                |r| {
                    let id: i64 = r.get(0)?;
                    Ok((
                        ReceivedMessage {
                            message_id: id.to_string(),
                            receipt: format!("dead-{id}"),
                            body: r.get(2)?,
                            receive_count: r.get(3)?,
                            group_id: Some(r.get(1)?),
                        },
                        r.get::<_, Option<String>>(4)?,
                    ))
                },
            )
            .map_err(|e| unavailable(queue, e))?;
        rows.collect::<Result<_, _>>()
            .map_err(|e| unavailable(queue, e))
    }

    async fn delete_dead_letter(&self, queue: QueueName, receipt: &str) -> Result<(), QueueError> {
        let Some(id) = receipt
            .strip_prefix("dead-")
            .and_then(|s| s.parse::<i64>().ok())
        else {
            return Ok(());
        };
        self.db()
            .execute(
                "DELETE FROM messages WHERE queue = ?1 AND id = ?2 AND dead = 1",
                params![queue.to_string(), id],
            )
            .map_err(|e| unavailable(queue, e))?;
        Ok(())
    }
}
