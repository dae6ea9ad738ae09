//! The queue port: FIFO queues between stages, each with a dead-letter queue.
//!
//! Messages carry a group id (one message of a group is in flight at a time, in order) and
//! a de-duplication id. A message not deleted within its visibility timeout is delivered
//! again; after the queue's maximum receive count the queue moves it to its dead-letter
//! queue by itself, and a stage can park it there at once with a reason.

use std::time::Duration;

use async_trait::async_trait;

use crate::error::QueueError;
use crate::flow::QueueName;

/// A message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundMessage {
    /// The body (an encoded envelope or poll request).
    pub body: String,
    /// FIFO group.
    pub group_id: String,
    /// FIFO de-duplication id.
    pub dedup_id: String,
}

/// A message received from a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    /// The queue's id for the message.
    pub message_id: String,
    /// The handle to delete it or change its visibility with.
    pub receipt: String,
    /// The body.
    pub body: String,
    /// How many times it was received, this time included.
    pub receive_count: u32,
    /// Its FIFO group.
    pub group_id: Option<String>,
}

/// Sends, receives and settles messages.
#[async_trait]
pub trait Queue: Send + Sync {
    /// Sends messages; when it returns `Ok`, every message is durably queued.
    async fn send(
        &self,
        queue: QueueName,
        messages: Vec<OutboundMessage>,
    ) -> Result<(), QueueError>;

    /// Receives up to `max` visible messages, waiting up to `wait` for the first one.
    async fn receive(
        &self,
        queue: QueueName,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<ReceivedMessage>, QueueError>;

    /// Deletes a handled message.
    async fn delete(&self, queue: QueueName, receipt: &str) -> Result<(), QueueError>;

    /// Makes a message visible again after `timeout` (zero: at once).
    async fn change_visibility(
        &self,
        queue: QueueName,
        receipt: &str,
        timeout: Duration,
    ) -> Result<(), QueueError>;

    /// Copies a message into `queue`'s dead-letter queue with the reason it failed. The
    /// caller then deletes the original (or lets the Lambda event source delete it).
    async fn dead_letter(
        &self,
        queue: QueueName,
        message: &ReceivedMessage,
        reason: &str,
    ) -> Result<(), QueueError>;

    /// Receives up to `max` messages from `queue`'s dead-letter queue (for inspection and
    /// replay), with the reason each was parked, when known.
    async fn receive_dead_letters(
        &self,
        queue: QueueName,
        max: usize,
    ) -> Result<Vec<(ReceivedMessage, Option<String>)>, QueueError>;

    /// Deletes a message from `queue`'s dead-letter queue (after a replay).
    async fn delete_dead_letter(&self, queue: QueueName, receipt: &str) -> Result<(), QueueError>;
}
