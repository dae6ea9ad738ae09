//! The SQS adapter of the [`Queue`] port, on FIFO queues each with a FIFO dead-letter queue.
//! It owns the mapping of queue names to URLs and the dead-letter message attributes; it
//! must not decode message bodies (the stages do).
//!
//! A message parked by [`Queue::dead_letter`] goes to the dead-letter queue with its body
//! unchanged, in the same message group, de-duplicated by the original message id, and two
//! message attributes: [`REASON_ATTRIBUTE`] (the reason, truncated to
//! [`MAX_REASON_BYTES`]) and [`MESSAGE_ID_ATTRIBUTE`] (the original message id). Messages
//! SQS moved there itself after the queue's `maxReceiveCount` have neither, so their
//! reason is unknown.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::SdkError;
use aws_sdk_sqs::types::{
    Message, MessageAttributeValue, MessageSystemAttributeName, SendMessageBatchRequestEntry,
};
use lsbc_core::ports::{OutboundMessage, Queue, ReceivedMessage};
use lsbc_core::{QueueError, QueueName};

/// The message attribute holding the reason a message was parked.
pub const REASON_ATTRIBUTE: &str = "lsbc-reason";
/// The message attribute holding the id the message had on its own queue.
pub const MESSAGE_ID_ATTRIBUTE: &str = "lsbc-message-id";
/// Reasons are truncated to this many bytes (on a character boundary).
pub const MAX_REASON_BYTES: usize = 2_048;

/// SQS's largest batch.
const BATCH: usize = 10;
/// SendMessageBatch refuses a batch whose bodies (and attributes) add up to more than the
/// queue's maximum message size, 256 KiB (`BatchRequestTooLong`): batches are cut by bytes
/// too, with room for the attributes.
const BATCH_BYTES: usize = 256 * 1024 - 6 * 1024;
/// SQS's longest long poll, in seconds.
const MAX_WAIT_SECONDS: u64 = 20;
/// SQS's longest visibility timeout, in seconds.
const MAX_VISIBILITY_SECONDS: u64 = 43_200;
/// Attempts at sending the entries of a batch SQS failed (the first one included).
const SEND_ATTEMPTS: u32 = 3;
/// Pause before the second attempt; doubled for each further one.
const SEND_BACKOFF: Duration = Duration::from_millis(100);
/// Long poll when reading a dead-letter queue (short polls may miss messages).
const DEAD_LETTER_WAIT: Duration = Duration::from_secs(1);

/// A queue's URL and its dead-letter queue's URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueUrls {
    /// The queue.
    pub url: String,
    /// Its dead-letter queue.
    pub dlq_url: String,
}

/// The [`Queue`] on SQS FIFO queues. Clone it freely: clones share the client.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: Client,
    urls: BTreeMap<QueueName, QueueUrls>,
}

impl SqsQueue {
    /// A queue adapter for the queues in `urls`; any other queue is
    /// [`QueueError::NotConfigured`].
    pub fn new(client: Client, urls: impl IntoIterator<Item = (QueueName, QueueUrls)>) -> Self {
        Self {
            client,
            urls: urls.into_iter().collect(),
        }
    }

    /// The URLs of a configured queue.
    pub fn urls(&self, queue: QueueName) -> Result<&QueueUrls, QueueError> {
        self.urls
            .get(&queue)
            .ok_or_else(|| QueueError::NotConfigured(queue.to_string()))
    }

    async fn receive_from(
        &self,
        queue: QueueName,
        url: &str,
        max: usize,
        wait: Duration,
        with_reason: bool,
    ) -> Result<Vec<(ReceivedMessage, Option<String>)>, QueueError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let mut request = self
            .client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(i32::try_from(max.min(BATCH)).unwrap_or(1))
            .wait_time_seconds(i32::try_from(whole_seconds(wait, MAX_WAIT_SECONDS)).unwrap_or(0))
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .message_system_attribute_names(MessageSystemAttributeName::MessageGroupId);
        if with_reason {
            request = request
                .message_attribute_names(REASON_ATTRIBUTE)
                .message_attribute_names(MESSAGE_ID_ATTRIBUTE);
        }
        let out = request
            .send()
            .await
            .map_err(|e| unavailable(queue, "receive", e))?;
        out.messages
            .unwrap_or_default()
            .into_iter()
            .map(|m| decode(queue, m))
            .collect()
    }
}

/// `d` in whole seconds, rounded up, at most `max`.
fn whole_seconds(d: Duration, max: u64) -> u64 {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    secs.min(max)
}

/// A reason SQS accepts as a string attribute: not empty, only characters SQS allows,
/// at most [`MAX_REASON_BYTES`] bytes.
fn clean_reason(reason: &str) -> String {
    let allowed = |c: char| {
        matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
            || c >= '\u{10000}'
    };
    let mut out = String::new();
    for c in reason.chars().map(|c| if allowed(c) { c } else { '?' }) {
        if out.len() + c.len_utf8() > MAX_REASON_BYTES {
            break;
        }
        out.push(c);
    }
    if out.trim().is_empty() {
        "(no reason given)".to_owned()
    } else {
        out
    }
}

fn unavailable<E, R>(queue: QueueName, what: &str, err: SdkError<E, R>) -> QueueError
where
    E: std::error::Error + Send + Sync + 'static,
    R: fmt::Debug + Send + Sync + 'static,
{
    let (message, source) = crate::sdk_failure(err);
    QueueError::Unavailable {
        queue: queue.to_string(),
        message: format!("{what} failed: {message}"),
        source: Some(source),
    }
}

fn malformed(queue: QueueName, what: &str) -> QueueError {
    QueueError::Unavailable {
        queue: queue.to_string(),
        message: format!("SQS answered without {what}"),
        source: None,
    }
}

fn decode(
    queue: QueueName,
    message: Message,
) -> Result<(ReceivedMessage, Option<String>), QueueError> {
    let system = message.attributes.unwrap_or_default();
    let mut custom = message.message_attributes.unwrap_or_default();
    let reason = custom.remove(REASON_ATTRIBUTE).and_then(|v| v.string_value);
    let received = ReceivedMessage {
        message_id: message
            .message_id
            .ok_or_else(|| malformed(queue, "a message id"))?,
        receipt: message
            .receipt_handle
            .ok_or_else(|| malformed(queue, "a receipt handle"))?,
        body: message.body.unwrap_or_default(),
        receive_count: system
            .get(&MessageSystemAttributeName::ApproximateReceiveCount)
            .and_then(|c| c.parse().ok())
            .unwrap_or(1),
        group_id: system
            .get(&MessageSystemAttributeName::MessageGroupId)
            .cloned(),
    };
    Ok((received, reason))
}

fn entry(id: usize, m: &OutboundMessage) -> Result<SendMessageBatchRequestEntry, String> {
    SendMessageBatchRequestEntry::builder()
        .id(id.to_string())
        .message_body(&m.body)
        .message_group_id(&m.group_id)
        .message_deduplication_id(&m.dedup_id)
        .build()
        .map_err(|e| e.to_string())
}

fn string_attribute(value: String) -> Result<MessageAttributeValue, String> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| e.to_string())
}

#[async_trait]
impl Queue for SqsQueue {
    async fn send(
        &self,
        queue: QueueName,
        messages: Vec<OutboundMessage>,
    ) -> Result<(), QueueError> {
        let url = &self.urls(queue)?.url;
        let total = messages.len();
        let refused = |failed: usize, message: String| QueueError::Refused {
            queue: queue.to_string(),
            failed,
            sent: total,
            message,
        };
        let mut done = 0;
        for chunk in batches(&messages) {
            done += chunk.len();
            // Later chunks were not sent at all: they count as refused too.
            let unsent_after = total - done;
            let mut pending: Vec<(usize, &OutboundMessage)> = chunk.iter().enumerate().collect();
            let mut backoff = SEND_BACKOFF;
            let mut last_failure = String::new();
            for attempt in 0..SEND_ATTEMPTS {
                if attempt > 0 {
                    tracing::warn!(
                        queue = %queue,
                        failed = pending.len(),
                        reason = %last_failure,
                        "SQS failed some entries of a batch; sending them again"
                    );
                    tokio::time::sleep(backoff).await;
                    backoff = backoff.saturating_mul(2);
                }
                let entries = pending
                    .iter()
                    .map(|(id, m)| entry(*id, m))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| refused(pending.len() + unsent_after, e))?;
                let out = self
                    .client
                    .send_message_batch()
                    .queue_url(url)
                    .set_entries(Some(entries))
                    .send()
                    .await
                    .map_err(|e| unavailable(queue, "send", e))?;
                if out.failed.is_empty() {
                    pending.clear();
                    break;
                }
                let failed: HashMap<String, _> =
                    out.failed.into_iter().map(|f| (f.id.clone(), f)).collect();
                pending.retain(|(id, _)| failed.contains_key(&id.to_string()));
                if let Some(first) = failed.values().next() {
                    last_failure = format!(
                        "{}: {}",
                        first.code,
                        first.message.as_deref().unwrap_or("no message")
                    );
                }
                if failed.values().all(|f| f.sender_fault) {
                    // The request itself is wrong: sending it again can't help.
                    break;
                }
            }
            if !pending.is_empty() {
                return Err(refused(pending.len() + unsent_after, last_failure));
            }
        }
        Ok(())
    }

    async fn receive(
        &self,
        queue: QueueName,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError> {
        let url = &self.urls(queue)?.url;
        Ok(self
            .receive_from(queue, url, max, wait, false)
            .await?
            .into_iter()
            .map(|(m, _)| m)
            .collect())
    }

    async fn delete(&self, queue: QueueName, receipt: &str) -> Result<(), QueueError> {
        let url = &self.urls(queue)?.url;
        self.client
            .delete_message()
            .queue_url(url)
            .receipt_handle(receipt)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| unavailable(queue, "delete", e))
    }

    async fn change_visibility(
        &self,
        queue: QueueName,
        receipt: &str,
        timeout: Duration,
    ) -> Result<(), QueueError> {
        let url = &self.urls(queue)?.url;
        let seconds = whole_seconds(timeout, MAX_VISIBILITY_SECONDS);
        self.client
            .change_message_visibility()
            .queue_url(url)
            .receipt_handle(receipt)
            .visibility_timeout(i32::try_from(seconds).unwrap_or(0))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| unavailable(queue, "change visibility", e))
    }

    async fn dead_letter(
        &self,
        queue: QueueName,
        message: &ReceivedMessage,
        reason: &str,
    ) -> Result<(), QueueError> {
        let url = &self.urls(queue)?.dlq_url;
        let attribute = |value: String| {
            string_attribute(value).map_err(|e| QueueError::Refused {
                queue: format!("{queue} dead letters"),
                failed: 1,
                sent: 1,
                message: e,
            })
        };
        self.client
            .send_message()
            .queue_url(url)
            .message_body(&message.body)
            .message_group_id(
                message
                    .group_id
                    .clone()
                    .unwrap_or_else(|| message.message_id.clone()),
            )
            .message_deduplication_id(&message.message_id)
            .message_attributes(REASON_ATTRIBUTE, attribute(clean_reason(reason))?)
            .message_attributes(MESSAGE_ID_ATTRIBUTE, attribute(message.message_id.clone())?)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| unavailable(queue, "dead-letter", e))
    }

    async fn receive_dead_letters(
        &self,
        queue: QueueName,
        max: usize,
    ) -> Result<Vec<(ReceivedMessage, Option<String>)>, QueueError> {
        let url = &self.urls(queue)?.dlq_url;
        self.receive_from(queue, url, max, DEAD_LETTER_WAIT, true)
            .await
    }

    async fn delete_dead_letter(&self, queue: QueueName, receipt: &str) -> Result<(), QueueError> {
        let url = &self.urls(queue)?.dlq_url;
        self.client
            .delete_message()
            .queue_url(url)
            .receipt_handle(receipt)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| unavailable(queue, "delete dead letter", e))
    }
}

/// Cuts `messages` into batches SendMessageBatch accepts, in order: at most [`BATCH`]
/// messages and [`BATCH_BYTES`] of bodies each (a body alone over it goes alone, for SQS to
/// refuse on its own).
fn batches(messages: &[OutboundMessage]) -> Vec<&[OutboundMessage]> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, m) in messages.iter().enumerate() {
        let full = i - start == BATCH || (i > start && bytes + m.body.len() > BATCH_BYTES);
        if full {
            out.push(&messages[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += m.body.len();
    }
    if start < messages.len() {
        out.push(&messages[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use aws_sdk_sqs::config::{BehaviorVersion, Credentials, Region};
    use lsbc_core::Flow;

    use super::*;

    #[test]
    fn waits_and_timeouts_round_up_and_clamp() {
        assert_eq!(whole_seconds(Duration::ZERO, 20), 0);
        assert_eq!(whole_seconds(Duration::from_millis(1), 20), 1);
        assert_eq!(whole_seconds(Duration::from_millis(1500), 20), 2);
        assert_eq!(whole_seconds(Duration::from_secs(45), 20), 20);
        assert_eq!(
            whole_seconds(Duration::from_secs(50_000), MAX_VISIBILITY_SECONDS),
            43_200
        );
    }

    #[test]
    fn reasons_are_made_acceptable_to_sqs() {
        assert_eq!(clean_reason("BC refused: 400"), "BC refused: 400");
        assert_eq!(clean_reason("bad\u{1}byte"), "bad?byte");
        assert_eq!(clean_reason(""), "(no reason given)");
        let long = "é".repeat(MAX_REASON_BYTES);
        let cut = clean_reason(&long);
        assert!(cut.len() <= MAX_REASON_BYTES && cut.len() >= MAX_REASON_BYTES - 1);
        assert!(long.starts_with(&cut));
    }

    #[tokio::test]
    async fn an_unknown_queue_is_not_configured() {
        let config = aws_sdk_sqs::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "static"))
            .endpoint_url("http://127.0.0.1:9")
            .build();
        let queue = SqsQueue::new(
            Client::from_conf(config),
            [(
                QueueName::Poll,
                QueueUrls {
                    url: "http://127.0.0.1:9/q".into(),
                    dlq_url: "http://127.0.0.1:9/d".into(),
                },
            )],
        );
        let err = queue
            .receive(QueueName::Push(Flow::Orders), 1, Duration::ZERO)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, QueueError::NotConfigured(q) if q == "orders-push"),
            "{err:?}"
        );
        let err = queue
            .send(QueueName::Transform(Flow::Stock), Vec::new())
            .await
            .unwrap_err();
        assert!(matches!(err, QueueError::NotConfigured(_)), "{err:?}");
    }

    #[test]
    fn batches_are_cut_by_count_and_by_bytes() {
        let m = |size: usize| OutboundMessage {
            body: "x".repeat(size),
            group_id: "g".into(),
            dedup_id: "d".into(),
        };
        let sizes = |ms: &[OutboundMessage]| -> Vec<Vec<usize>> {
            batches(ms)
                .iter()
                .map(|b| b.iter().map(|m| m.body.len()).collect())
                .collect()
        };
        let small: Vec<_> = (0..23).map(|_| m(10)).collect();
        assert_eq!(
            batches(&small).iter().map(|b| b.len()).collect::<Vec<_>>(),
            [10, 10, 3]
        );
        let k = 1024;
        let large = [m(100 * k), m(100 * k), m(100 * k), m(5), m(249 * k)];
        assert_eq!(
            sizes(&large),
            [vec![100 * k, 100 * k], vec![100 * k, 5], vec![249 * k]]
        );
        for batch in batches(&large) {
            let total: usize = batch.iter().map(|m| m.body.len()).sum();
            assert!(total <= BATCH_BYTES || batch.len() == 1);
        }
        assert!(batches(&[]).is_empty());
    }
}
