//! Settling queue messages — shared by the Lambda batch runner and the embedded runner.
//!
//! After a stage ran on a message, the message is acknowledged (done or skipped), left to
//! come back later (retry, rate limit, not ready), or parked in the dead-letter queue with
//! its reason (fatal, or retries used up). Within one FIFO group, a message that will come
//! back stops the messages behind it, so a group's order is kept; other groups go on.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use futures::StreamExt;
use tracing::{Instrument, field};

use crate::envelope::{Envelope, EnvelopeError};
use crate::error::{Disposition, StageError, classify};
use crate::flow::QueueName;
use crate::ports::{ActivityLog, AttemptStore, Clock, Outcome, Queue, ReceivedMessage};
use crate::stages::activity::ActivityPolicy;

/// What to do with a message whose stage failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Acknowledge it (deliberate skip).
    Ack,
    /// Let it come back, after the given time when known.
    RetryLater(Option<Duration>),
    /// Park it in the dead-letter queue with this reason.
    DeadLetter(String),
}

/// Decides a failed message's fate from the error, its failed attempts and its deliveries.
/// `attempts` counts real failures only (this one included; [`AttemptStore`]), so a
/// message held behind another of its FIFO group or told to wait by a 429 spends none;
/// after `max_attempts` a retried message is parked with its last error. `receive_count`
/// is the queue's own count: one delivery before the queue's redrive limit (`redrive`) a
/// message is parked whatever its attempts, so its reason reaches the dead letter (the
/// queue would move it there by itself, without one).
pub fn verdict(
    error: &StageError,
    attempts: u32,
    receive_count: u32,
    max_attempts: u32,
    redrive: u32,
) -> Verdict {
    let last_delivery = receive_count.saturating_add(1) >= redrive;
    match classify(error) {
        Disposition::Skip => Verdict::Ack,
        Disposition::Fatal => Verdict::DeadLetter(error.to_string()),
        Disposition::Retry { .. } if attempts >= max_attempts || last_delivery => {
            Verdict::DeadLetter(format!("gave up after {attempts} attempts: {error}"))
        }
        Disposition::RateLimited { .. } if last_delivery => Verdict::DeadLetter(format!(
            "still rate-limited after {receive_count} deliveries: {error}"
        )),
        Disposition::Paused { .. } if last_delivery => Verdict::DeadLetter(format!(
            "credentials still refused after {receive_count} deliveries: {error}"
        )),
        Disposition::Retry { after } => Verdict::RetryLater(after),
        Disposition::RateLimited { wait } | Disposition::Paused { wait } => {
            Verdict::RetryLater(Some(wait))
        }
    }
}

/// How long a message's failed attempts are remembered: as long as a queue keeps it.
pub(crate) const ATTEMPTS_KEPT: Duration = Duration::from_hours(14 * 24);

/// What became of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// Handled; the outcome when the stage has one.
    Done(Option<Outcome>),
    /// Deliberately skipped.
    Skipped,
    /// Will come back.
    Retrying,
    /// Parked in the dead-letter queue.
    DeadLettered,
    /// Not attempted: a message before it in its FIFO group will come back first.
    NotAttempted,
}

impl Settled {
    /// Whether the message must be reported as failed to the queue (it comes back).
    pub fn comes_back(&self) -> bool {
        matches!(self, Settled::Retrying | Settled::NotAttempted)
    }
}

/// Settles messages on one queue.
#[derive(Debug, Clone, Copy)]
pub struct Settler<'a> {
    /// The queues.
    pub queue: &'a dyn Queue,
    /// The activity log (skips, retries and failures are written here).
    pub activity: &'a dyn ActivityLog,
    /// The time.
    pub clock: &'a dyn Clock,
    /// How activity is kept.
    pub policy: ActivityPolicy,
    /// Failed attempts after which retries are given up (`LSBC_MAX_RECEIVES`).
    pub max_receives: u32,
    /// The queue's own redrive limit: the delivery before it parks a message with its
    /// reason whatever its attempts.
    pub redrive: u32,
    /// Failed attempts per message.
    pub attempts: &'a dyn AttemptStore,
    /// Delete acknowledged messages here (the embedded runner); `false` when the Lambda
    /// event source mapping deletes what the batch response doesn't list.
    pub delete_acked: bool,
}

impl Settler<'_> {
    /// Settles `message` from `queue` after its stage returned `result`. `subject` is the
    /// decoded envelope, when the body could be decoded.
    pub async fn settle(
        &self,
        queue: QueueName,
        message: &ReceivedMessage,
        subject: Option<&Envelope>,
        stage: &str,
        result: Result<Option<Outcome>, StageError>,
    ) -> Settled {
        let error = match result {
            Ok(outcome) => {
                self.ack(queue, message).await;
                return Settled::Done(outcome);
            }
            Err(error) => error,
        };
        let disposition = classify(&error);
        let category = disposition.category();
        // Waiting for another worker's claim is not a failed attempt.
        let attempts = match (&error, disposition) {
            (StageError::Busy(_), _) => 0,
            (_, Disposition::Retry { .. }) => self.count_attempt(queue, message).await,
            _ => 0,
        };
        match verdict(
            &error,
            attempts,
            message.receive_count,
            self.max_receives,
            self.redrive,
        ) {
            Verdict::Ack => {
                tracing::warn!(error_category = category, error = %error.for_log(), "Record skipped.");
                self.log(subject, stage, Outcome::Skipped, error.to_string())
                    .await;
                self.ack(queue, message).await;
                Settled::Skipped
            }
            Verdict::RetryLater(after) => {
                if category == "paused" {
                    // At ERROR, once per waiting message: the flow's credentials alarm counts them.
                    tracing::error!(
                        error_category = category,
                        error = %error.for_log(),
                        "The API refused the credentials; the record waits until they are fixed (lsbc connect)."
                    );
                } else {
                    tracing::warn!(
                        error_category = category,
                        error = %error.for_log(),
                        receive_count = message.receive_count,
                        attempts,
                        retry_after_secs = after.map(|d| d.as_secs_f64()),
                        "Record will be retried."
                    );
                }
                self.log(subject, stage, Outcome::Retrying, error.to_string())
                    .await;
                if let Some(after) = after
                    && let Err(e) = self
                        .queue
                        .change_visibility(queue, &message.receipt, after)
                        .await
                {
                    tracing::warn!(error = %e, "Visibility not changed; the queue's timeout applies.");
                }
                Settled::Retrying
            }
            Verdict::DeadLetter(reason) => {
                match self.queue.dead_letter(queue, message, &reason).await {
                    Ok(()) => {
                        tracing::error!(
                            error_category = category,
                            error = %error.for_log(),
                            attempts,
                            queue = %queue,
                            "Record parked in the dead-letter queue."
                        );
                        self.log(subject, stage, Outcome::Failed, reason).await;
                        self.ack(queue, message).await;
                        Settled::DeadLettered
                    }
                    Err(e) => {
                        tracing::error!(
                            error_category = category,
                            error = %error.for_log(),
                            queue_error = %e,
                            "Record failed and could not be dead-lettered; it will come back."
                        );
                        Settled::Retrying
                    }
                }
            }
        }
    }

    /// Counts a failed attempt of `message`; when the store can't say, the queue's receive
    /// count stands in (it is never lower).
    async fn count_attempt(&self, queue: QueueName, message: &ReceivedMessage) -> u32 {
        let name = queue.to_string();
        match self
            .attempts
            .count_failure(&name, &message.message_id, self.clock.now(), ATTEMPTS_KEPT)
            .await
        {
            Ok(count) => count,
            Err(error) => {
                tracing::warn!(%error, "Attempts not counted; the queue's receive count stands in.");
                message.receive_count
            }
        }
    }

    /// Lets a message that was not attempted (held behind one that comes back in its FIFO
    /// group) come back with it, rather than after the queue's whole visibility timeout:
    /// the group stays closed while any of its messages is in flight.
    pub async fn release_held(&self, queue: QueueName, receipt: &str) {
        if let Err(error) = self
            .queue
            .change_visibility(queue, receipt, Duration::ZERO)
            .await
        {
            tracing::warn!(%error, "A held message keeps its visibility timeout.");
        }
    }

    async fn ack(&self, queue: QueueName, message: &ReceivedMessage) {
        if self.delete_acked
            && let Err(error) = self.queue.delete(queue, &message.receipt).await
        {
            tracing::warn!(%error, "Handled message not deleted; it will be handled again, harmlessly.");
        }
    }

    async fn log(
        &self,
        subject: Option<&Envelope>,
        stage: &str,
        outcome: Outcome,
        message: String,
    ) {
        if let Some(env) = subject {
            let source = match &env.body {
                crate::envelope::Body::Record { payload }
                | crate::envelope::Body::Rejected { payload, .. } => Some(payload.clone()),
                crate::envelope::Body::Command { source, .. } => source.clone(),
                crate::envelope::Body::Reference => None,
            };
            self.policy
                .record(
                    self.activity,
                    self.clock,
                    env,
                    stage,
                    outcome,
                    message,
                    source,
                    None,
                )
                .await;
        }
    }
}

/// Decodes an envelope message from `queue`, refuses one of another flow than the queue's,
/// runs `run` on it inside a span naming the stage, flow, record key and message id, and
/// settles the message.
pub async fn handle_envelope<F, Fut>(
    settler: &Settler<'_>,
    queue: QueueName,
    message: ReceivedMessage,
    run: F,
) -> Settled
where
    F: FnOnce(Envelope) -> Fut,
    Fut: Future<Output = Result<Option<Outcome>, StageError>>,
{
    let stage = queue.stage();
    let span = tracing::info_span!(
        "message",
        stage,
        message_id = %message.message_id,
        flow = field::Empty,
        record_key = field::Empty,
        trace_id = field::Empty,
    );
    let inner = span.clone();
    async move {
        match Envelope::decode(&message.body) {
            Err(error) => {
                settler
                    .settle(queue, &message, None, stage, Err(error.into()))
                    .await
            }
            Ok(env) => {
                inner.record("flow", env.flow.as_str());
                inner.record("record_key", env.key.as_str());
                inner.record("trace_id", env.trace_id.as_str());
                let result = match queue.flow() {
                    Some(flow) if flow != env.flow => {
                        Err(StageError::Envelope(EnvelopeError::Malformed {
                            path: "flow".into(),
                            message: format!("a {} message reached the {queue} queue", env.flow),
                        }))
                    }
                    _ => run(env.clone()).await,
                };
                settler
                    .settle(queue, &message, Some(&env), stage, result)
                    .await
            }
        }
    }
    .instrument(span)
    .await
}

/// Handles a batch: FIFO groups run concurrently (at most `concurrency` at a time), the
/// messages of one group one after the other, in order; once a message of a group will come
/// back, the rest of its group is not attempted. Results come back in the batch's order.
pub async fn process_batch<F, Fut>(
    messages: Vec<ReceivedMessage>,
    concurrency: usize,
    handle: F,
) -> Vec<(String, Settled)>
where
    F: Fn(ReceivedMessage) -> Fut,
    Fut: Future<Output = Settled>,
{
    let order: Vec<String> = messages.iter().map(|m| m.message_id.clone()).collect();
    let mut groups: Vec<Vec<ReceivedMessage>> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for message in messages {
        match message.group_id.clone() {
            Some(group) => {
                let i = *index.entry(group).or_insert_with(|| {
                    groups.push(Vec::new());
                    groups.len() - 1
                });
                groups[i].push(message);
            }
            None => groups.push(vec![message]),
        }
    }
    let handle = &handle;
    let settled: Vec<(String, Settled)> = futures::stream::iter(groups)
        .map(|group| async move {
            let mut out = Vec::with_capacity(group.len());
            let mut blocked = false;
            for message in group {
                let id = message.message_id.clone();
                if blocked {
                    out.push((id, Settled::NotAttempted));
                    continue;
                }
                let result = handle(message).await;
                blocked = result.comes_back();
                out.push((id, result));
            }
            out
        })
        .buffer_unordered(concurrency.max(1))
        .flat_map(futures::stream::iter)
        .collect()
        .await;
    let mut by_id: HashMap<String, Settled> = settled.into_iter().collect();
    order
        .into_iter()
        .filter_map(|id| by_id.remove(&id).map(|s| (id, s)))
        .collect()
}
