//! An emulation of Lambda's SQS event source mapping, for tests against the AWS emulator
//! (which can't run Lambdas): receive a real batch from SQS, hand it to a handler as an
//! `SqsEvent`, delete the messages the handler's partial batch response doesn't list, and
//! leave the listed ones to come back after their visibility timeout — as the real event
//! source mapping does with `ReportBatchItemFailures`.

use std::collections::{HashMap, HashSet};
use std::future::Future;
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
}

/// An event source mapping on one queue.
#[derive(Debug, Clone)]
pub struct EventSourceMapping {
    client: aws_sdk_sqs::Client,
    queue_url: String,
    batch_size: i32,
}

impl EventSourceMapping {
    /// A mapping that delivers batches of up to `batch_size` (1–10) from `queue_url`.
    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>, batch_size: i32) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
            batch_size: batch_size.clamp(1, 10),
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
        if records.is_empty() {
            return Delivery::default();
        }
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
        Delivery {
            received: receipts.len(),
            failed: failed.len(),
            deleted,
        }
    }

    /// Delivers batches until the queue stays empty for `quiet` (failed messages come back
    /// after their visibility timeout, so `quiet` must be longer than it). Returns every
    /// delivery.
    pub async fn drain<F, Fut>(&self, quiet: Duration, handler: F) -> Vec<Delivery>
    where
        F: Fn(SqsEvent) -> Fut,
        Fut: Future<Output = SqsBatchResponse>,
    {
        let mut deliveries = Vec::new();
        let mut idle_since = tokio::time::Instant::now();
        loop {
            let d = self.deliver(&handler).await;
            if d.received == 0 {
                if idle_since.elapsed() >= quiet {
                    return deliveries;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            } else {
                idle_since = tokio::time::Instant::now();
                deliveries.push(d);
            }
        }
    }
}
