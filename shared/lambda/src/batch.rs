//! The SQS batch runner: turns the event source mapping's batch into queue messages, runs
//! them through the core's FIFO-aware batch processing, and answers with a partial batch
//! response listing exactly the messages that must come back. Everything else is deleted by
//! the event source mapping (the function needs `ReportBatchItemFailures` on its trigger).

use std::future::Future;
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use lsbc_core::envelope::Envelope;
use lsbc_core::ports::Outcome;
use lsbc_core::ports::ReceivedMessage;
use lsbc_core::stages::{Settled, Settler, handle_envelope, process_batch};
use lsbc_core::{QueueName, StageError};

/// What happened to a batch, for metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchSummary {
    /// Messages handled.
    pub done: usize,
    /// Messages skipped by a rule.
    pub skipped: usize,
    /// Messages that will come back (retry, or held behind one in their FIFO group).
    pub retrying: usize,
    /// Messages parked in the dead-letter queue.
    pub dead_lettered: usize,
    /// Receipts of the messages not attempted (held behind one that comes back).
    pub held: Vec<String>,
}

impl BatchSummary {
    /// Writes the counts as one EMF line with the flow and stage as dimensions.
    pub fn emit(&self, flow: lsbc_core::Flow, stage: &str) {
        crate::metrics::MetricLine::new(&[("flow", flow.as_str()), ("stage", stage)])
            .with(crate::metrics::Metric::count("MessagesDone", self.done))
            .with(crate::metrics::Metric::count(
                "MessagesSkipped",
                self.skipped,
            ))
            .with(crate::metrics::Metric::count(
                "MessagesRetrying",
                self.retrying,
            ))
            .with(crate::metrics::Metric::count(
                "MessagesDeadLettered",
                self.dead_lettered,
            ))
            .emit();
    }
}

/// A queue message from an SQS event record. `None` for a record without a message id or
/// receipt handle (SQS always sends both).
pub fn to_received(m: &SqsMessage) -> Option<ReceivedMessage> {
    Some(ReceivedMessage {
        message_id: m.message_id.clone()?,
        receipt: m.receipt_handle.clone()?,
        body: m.body.clone().unwrap_or_default(),
        receive_count: m
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|n| n.parse().ok())
            .unwrap_or(1),
        group_id: m.attributes.get("MessageGroupId").cloned(),
    })
}

/// Runs `handle` over the batch (FIFO groups in parallel up to `concurrency`, each group in
/// order) and answers with the messages to retry.
pub async fn run_batch<F, Fut>(
    event: SqsEvent,
    concurrency: usize,
    handle: F,
) -> (SqsBatchResponse, BatchSummary)
where
    F: Fn(ReceivedMessage) -> Fut,
    Fut: Future<Output = Settled>,
{
    let mut messages = Vec::with_capacity(event.records.len());
    for record in &event.records {
        if let Some(m) = to_received(record) {
            messages.push(m);
        } else {
            tracing::error!(
                message_id = record.message_id.as_deref().unwrap_or(""),
                "SQS record without message id or receipt handle; it can't be settled."
            );
        }
    }
    let receipts: std::collections::HashMap<String, String> = messages
        .iter()
        .map(|m| (m.message_id.clone(), m.receipt.clone()))
        .collect();
    let settled = process_batch(messages, concurrency, handle).await;
    let mut summary = BatchSummary::default();
    let mut response = SqsBatchResponse::default();
    for (id, s) in settled {
        match s {
            Settled::Done(_) => summary.done += 1,
            Settled::Skipped => summary.skipped += 1,
            Settled::DeadLettered => summary.dead_lettered += 1,
            Settled::Retrying | Settled::NotAttempted => {
                if matches!(s, Settled::NotAttempted)
                    && let Some(receipt) = receipts.get(&id)
                {
                    summary.held.push(receipt.clone());
                }
                summary.retrying += 1;
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = id;
                response.batch_item_failures.push(failure);
            }
        }
    }
    (response, summary)
}

/// Time kept back from the function's deadline to settle the batch and answer.
pub const RESERVE: Duration = Duration::from_secs(3);

/// When the invocation must have answered: the Lambda context's deadline (epoch
/// milliseconds) as an instant of this process.
pub fn deadline_of(context: &lambda_runtime::Context) -> Option<Instant> {
    let now_ms = u64::try_from(jiff::Timestamp::now().as_millisecond()).ok()?;
    let left = context.deadline.checked_sub(now_ms)?;
    Instant::now().checked_add(Duration::from_millis(left))
}

/// Runs a stage over a batch from one flow's stage queue: each message decoded and checked
/// against the queue's flow by [`handle_envelope`], run by `run`, settled; the counts go out
/// as metrics; the answer lists the messages that must come back.
///
/// With a `deadline`, no message starts within [`RESERVE`] of it (it comes back, not
/// attempted) and one still running then is cut short and settled as a retry: the batch
/// always answers before the function times out, so what it finished is not redone.
pub async fn run_stage<F, Fut>(
    event: SqsEvent,
    queue: QueueName,
    settler: &Settler<'_>,
    concurrency: usize,
    deadline: Option<Instant>,
    run: F,
) -> SqsBatchResponse
where
    F: Fn(Envelope) -> Fut + Copy,
    Fut: Future<Output = Result<Option<Outcome>, StageError>>,
{
    let (response, summary) = run_batch(event, concurrency, |message| async move {
        let Some(deadline) = deadline else {
            return handle_envelope(settler, queue, message, run).await;
        };
        let left = deadline
            .saturating_duration_since(Instant::now())
            .saturating_sub(RESERVE);
        if left.is_zero() {
            return Settled::NotAttempted;
        }
        let copy = message.clone();
        let started = Instant::now();
        if let Ok(settled) =
            tokio::time::timeout(left, handle_envelope(settler, queue, message, run)).await
        {
            settled
        } else {
            let error = StageError::OutOfTime(started.elapsed());
            settler
                .settle(queue, &copy, None, queue.stage(), Err(error))
                .await
        }
    })
    .await;
    for receipt in &summary.held {
        settler.release_held(queue, receipt).await;
    }
    if let Some(flow) = queue.flow() {
        summary.emit(flow, queue.stage());
    }
    response
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn record(id: &str, group: &str, body: &str) -> SqsMessage {
        let mut m = SqsMessage::default();
        m.message_id = Some(id.into());
        m.receipt_handle = Some(format!("r-{id}"));
        m.body = Some(body.into());
        m.attributes = HashMap::from([
            ("ApproximateReceiveCount".to_owned(), "2".to_owned()),
            ("MessageGroupId".to_owned(), group.to_owned()),
        ]);
        m
    }

    #[tokio::test]
    async fn the_response_lists_exactly_the_messages_that_come_back() {
        let mut event = SqsEvent::default();
        event.records = vec![
            record("1", "a", "ok"),
            record("2", "a", "retry"),
            record("3", "a", "ok"),
            record("4", "b", "dead"),
            record("5", "c", "skip"),
        ];
        let (response, summary) = run_batch(event, 2, |m| async move {
            assert_eq!(m.receive_count, 2);
            match m.body.as_str() {
                "retry" => Settled::Retrying,
                "dead" => Settled::DeadLettered,
                "skip" => Settled::Skipped,
                _ => Settled::Done(None),
            }
        })
        .await;
        let failed: Vec<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        // 3 is behind 2 in group a: not attempted, so it must come back too.
        assert_eq!(failed, ["2", "3"]);
        assert_eq!(
            summary,
            BatchSummary {
                done: 1,
                skipped: 1,
                retrying: 2,
                dead_lettered: 1,
                held: vec!["r-3".to_owned()],
            }
        );
    }
}
