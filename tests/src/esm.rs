//! An emulation of Lambda's SQS event source mapping, for tests against the AWS emulator
//! (which can't run Lambdas): receive a real batch from SQS, hand it to a handler as an
//! `SqsEvent`, delete the messages the handler's partial batch response doesn't list, and
//! leave the listed ones to come back after their visibility timeout — as the real event
//! source mapping does with `ReportBatchItemFailures`.
//!
//! On a FIFO queue SQS hands a group's messages out in order: one that comes back after a
//! failure comes back before the messages sent after it. The emulator (moto 5.2) can get
//! this wrong when several messages of one group come back at once — it returns the last
//! one first. The mapping keeps, per group, the messages it left in the queue, in order,
//! and holds back (visible again at once, not delivered) any message of the group that
//! arrives before them, so handlers see the order SQS guarantees.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};

/// What one delivery did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Messages received and handed to the handler.
    pub received: usize,
    /// Messages the handler reported as failed (left in the queue).
    pub failed: usize,
    /// Messages deleted after the handler returned.
    pub deleted: usize,
    /// Messages held back: they arrived before a message of their FIFO group that came
    /// back after a failure.
    pub held: usize,
}

/// An event source mapping on one queue.
#[derive(Debug, Clone)]
pub struct EventSourceMapping {
    client: aws_sdk_sqs::Client,
    queue_url: String,
    batch_size: i32,
    /// Per FIFO group, the ids of the messages left in the queue after a failure, in the
    /// group's order.
    outstanding: Arc<Mutex<HashMap<String, Vec<String>>>>,
}

impl EventSourceMapping {
    /// A mapping that delivers batches of up to `batch_size` (1–10) from `queue_url`.
    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>, batch_size: i32) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
            batch_size: batch_size.clamp(1, 10),
            outstanding: Arc::default(),
        }
    }

    async fn receive(&self) -> Vec<SqsMessage> {
        let out = self
            .client
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(self.batch_size)
            .wait_time_seconds(0)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .expect("receive from the emulator");
        out.messages()
            .iter()
            .map(|m| {
                let attributes: HashMap<String, String> = m
                    .attributes()
                    .map(|a| {
                        a.iter()
                            .map(|(k, v)| (k.as_str().to_owned(), v.clone()))
                            .collect()
                    })
                    .unwrap_or_default();
                let mut record = SqsMessage::default();
                record.message_id = m.message_id().map(str::to_owned);
                record.receipt_handle = m.receipt_handle().map(str::to_owned);
                record.body = m.body().map(str::to_owned);
                record.md5_of_body = m.md5_of_body().map(str::to_owned);
                record.attributes = attributes;
                record.event_source = Some("aws:sqs".into());
                record.event_source_arn = Some(format!(
                    "arn:aws:sqs:us-east-1:123456789012:{}",
                    self.queue_name()
                ));
                record.aws_region = Some("us-east-1".into());
                record
            })
            .collect()
    }

    fn queue_name(&self) -> &str {
        self.queue_url.rsplit('/').next().unwrap_or_default()
    }

    /// Delivers one batch (if any message is visible) to `handler` and settles it by the
    /// handler's response.
    pub async fn deliver<F, Fut>(&self, handler: F) -> Delivery
    where
        F: FnOnce(SqsEvent) -> Fut,
        Fut: Future<Output = SqsBatchResponse>,
    {
        let records = self.receive().await;
        let (records, held) = self.restore_order(records).await;
        if records.is_empty() {
            return Delivery {
                held,
                ..Delivery::default()
            };
        }
        let groups: Vec<(String, Option<String>)> = records
            .iter()
            .filter_map(|r| {
                Some((
                    r.message_id.clone()?,
                    r.attributes.get("MessageGroupId").cloned(),
                ))
            })
            .collect();
        let receipts: Vec<(String, String)> = records
            .iter()
            .filter_map(|r| Some((r.message_id.clone()?, r.receipt_handle.clone()?)))
            .collect();
        let mut event = SqsEvent::default();
        event.records = records;
        let response = handler(event).await;
        let failed: HashSet<String> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.clone())
            .collect();
        let to_delete: Vec<DeleteMessageBatchRequestEntry> = receipts
            .iter()
            .filter(|(id, _)| !failed.contains(id))
            .enumerate()
            .map(|(i, (_, receipt))| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(format!("d{i}"))
                    .receipt_handle(receipt)
                    .build()
                    .expect("delete entry")
            })
            .collect();
        let deleted = to_delete.len();
        if !to_delete.is_empty() {
            let out = self
                .client
                .delete_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(to_delete))
                .send()
                .await
                .expect("delete from the emulator");
            assert!(
                out.failed().is_empty(),
                "deletes refused: {:?}",
                out.failed()
            );
        }
        self.remember(&groups, &failed);
        Delivery {
            received: receipts.len(),
            failed: failed.len(),
            deleted,
            held,
        }
    }

    /// Splits a received batch into the messages to deliver and those to hold back (made
    /// visible again at once): a message of a FIFO group is delivered only after the
    /// group's messages left in the queue before it.
    async fn restore_order(&self, records: Vec<SqsMessage>) -> (Vec<SqsMessage>, usize) {
        let outstanding = self.outstanding.lock().expect("not poisoned").clone();
        let mut next: HashMap<String, usize> = HashMap::new();
        let mut blocked: HashSet<String> = HashSet::new();
        let mut deliver = Vec::with_capacity(records.len());
        let mut hold = Vec::new();
        for record in records {
            let Some(group) = record.attributes.get("MessageGroupId").cloned() else {
                deliver.push(record);
                continue;
            };
            let waiting = outstanding.get(&group).map_or(&[][..], Vec::as_slice);
            let at = next.entry(group.clone()).or_default();
            let in_order = !blocked.contains(&group)
                && (*at >= waiting.len() || record.message_id.as_deref() == Some(&waiting[*at]));
            if in_order {
                *at += 1;
                deliver.push(record);
            } else {
                blocked.insert(group);
                hold.push(record);
            }
        }
        for record in &hold {
            if let Some(receipt) = &record.receipt_handle {
                self.client
                    .change_message_visibility()
                    .queue_url(&self.queue_url)
                    .receipt_handle(receipt)
                    .visibility_timeout(0)
                    .send()
                    .await
                    .expect("release a held message");
            }
        }
        (deliver, hold.len())
    }

    /// Records which messages of each FIFO group were left in the queue, in order.
    fn remember(&self, delivered: &[(String, Option<String>)], failed: &HashSet<String>) {
        let mut outstanding = self.outstanding.lock().expect("not poisoned");
        for (id, group) in delivered {
            let Some(group) = group else { continue };
            let waiting = outstanding.entry(group.clone()).or_default();
            if failed.contains(id) {
                if !waiting.contains(id) {
                    waiting.push(id.clone());
                }
            } else {
                waiting.retain(|w| w != id);
            }
        }
        outstanding.retain(|_, waiting| !waiting.is_empty());
    }

    /// Delivers batches until the queue stays empty for `quiet` (failed messages come back
    /// after their visibility timeout, so `quiet` must be longer than it). Returns every
    /// delivery.
    pub async fn drain<F, Fut>(&self, quiet: Duration, handler: F) -> Vec<Delivery>
    where
        F: Fn(SqsEvent) -> Fut,
        Fut: Future<Output = SqsBatchResponse>,
    {
        self.drain_with(quiet, 1, handler).await
    }

    /// Like [`drain`](Self::drain) with `workers` invocations running at once, as Lambda
    /// scales a function out over a queue's FIFO groups (SQS, and the emulator, hand a
    /// group's messages to one invocation at a time). Returns every worker's deliveries.
    pub async fn drain_with<F, Fut>(
        &self,
        quiet: Duration,
        workers: usize,
        handler: F,
    ) -> Vec<Delivery>
    where
        F: Fn(SqsEvent) -> Fut,
        Fut: Future<Output = SqsBatchResponse>,
    {
        let handler = &handler;
        let runs = (0..workers.max(1)).map(|_| self.drain_one(quiet, handler));
        futures::future::join_all(runs)
            .await
            .into_iter()
            .flatten()
            .collect()
    }

    async fn drain_one<F, Fut>(&self, quiet: Duration, handler: &F) -> Vec<Delivery>
    where
        F: Fn(SqsEvent) -> Fut,
        Fut: Future<Output = SqsBatchResponse>,
    {
        let mut deliveries = Vec::new();
        let mut idle_since = tokio::time::Instant::now();
        loop {
            let d = self.deliver(handler).await;
            if d.received == 0 && d.held == 0 {
                if idle_since.elapsed() >= quiet {
                    return deliveries;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            } else {
                idle_since = tokio::time::Instant::now();
                if d.received > 0 {
                    deliveries.push(d);
                }
            }
        }
    }
}
