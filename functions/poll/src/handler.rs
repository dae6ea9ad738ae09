//! Translates the poll function's events into poll-stage calls: a schedule's event
//! (`{"flow": "customers"}` as the EventBridge target input) polls one flow; an SQS batch
//! from the poll queue carries poll requests (from webhooks, operators, or a poll that ran
//! out of budget and asked to be continued).

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::Diagnostic;
use lsbc_core::envelope::PollRequest;
use lsbc_core::ports::{ActivityLog, ClaimStore, Clock, CursorStore, Queue, Source};
use lsbc_core::stages::{ActivityPolicy, PollBudget, PollReport, PollStage, Settler, poll};
use lsbc_core::{Flow, QueueName, StageError, classify};
use lsbc_lambda::run_batch;
use serde_json::{Value, json};

/// What the poll function was invoked with.
#[derive(Debug, Clone, PartialEq)]
pub enum PollEvent {
    /// A schedule (or an operator's direct invoke) for these flows.
    Scheduled(Vec<Flow>),
    /// Poll requests from the poll queue.
    Requests(SqsEvent),
}

/// Reads the invocation payload.
pub fn parse_event(payload: Value) -> Result<PollEvent, Diagnostic> {
    let bad = |message: String| Diagnostic {
        error_type: "fatal".into(),
        error_message: message,
    };
    if payload.get("Records").is_some() {
        return serde_json::from_value(payload)
            .map(PollEvent::Requests)
            .map_err(|e| bad(format!("unreadable SQS event: {e}")));
    }
    // An EventBridge event carries the input in `detail`; a target input is the object itself.
    let input = payload.get("detail").cloned().unwrap_or(payload);
    let mut flows = Vec::new();
    if let Some(flow) = input.get("flow") {
        flows.push(flow.clone());
    }
    if let Some(Value::Array(list)) = input.get("flows") {
        flows.extend(list.iter().cloned());
    }
    if flows.is_empty() {
        return Err(bad(
            "the event names no flow: expected {\"flow\": \"customers\"}".into(),
        ));
    }
    flows
        .into_iter()
        .map(|f| {
            serde_json::from_value::<Flow>(f.clone()).map_err(|e| bad(format!("flow {f}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(PollEvent::Scheduled)
}

/// Time kept back from the function's deadline: a page started before it finishes (a page
/// is bounded in records and the enrichment of one page's matrices), checkpoints and sends.
pub const POLL_RESERVE: std::time::Duration = std::time::Duration::from_mins(1);

/// What the poll function needs.
#[derive(Debug, Clone, Copy)]
pub struct PollHandler<'a> {
    /// The sources of the flows this deployment runs (each flow's streams, main first).
    pub sources: &'a BTreeMap<Flow, Vec<Arc<dyn Source>>>,
    /// Cursors.
    pub cursors: &'a dyn CursorStore,
    /// Claims (one poll per flow at a time).
    pub claims: &'a dyn ClaimStore,
    /// The queues.
    pub queue: &'a dyn Queue,
    /// The activity log (failed poll requests).
    pub activity: &'a dyn ActivityLog,
    /// The time.
    pub clock: &'a dyn Clock,
    /// Work per poll.
    pub budget: PollBudget,
    /// How activity is kept.
    pub policy: ActivityPolicy,
    /// Deliveries after which a failing poll request is dead-lettered.
    pub max_receives: u32,
    /// The queue's own redrive limit (`LSBC_QUEUE_REDRIVE`).
    pub redrive: u32,
    /// Failed attempts per message.
    pub attempts: &'a dyn lsbc_core::ports::AttemptStore,
}

fn diagnostic(error: &StageError) -> Diagnostic {
    Diagnostic {
        error_type: classify(error).category().into(),
        error_message: error.for_log().to_string(),
    }
}

impl PollHandler<'_> {
    /// Polls every stream of one flow once; asks for a continuation when a budget ran out.
    pub async fn poll_flow(&self, flow: Flow) -> Result<PollReport, StageError> {
        let sources = self.sources.get(&flow).ok_or_else(|| {
            StageError::Config(format!("flow {flow} is not enabled in this deployment"))
        })?;
        let (source, more_sources) = sources.split_first().ok_or_else(|| {
            StageError::Config(format!("flow {flow} has no source in this deployment"))
        })?;
        let report = poll(&PollStage {
            source: source.as_ref(),
            more_sources,
            cursors: self.cursors,
            claims: self.claims,
            queue: self.queue,
            clock: self.clock,
            budget: self.budget,
        })
        .await?;
        if report.more {
            let request = PollRequest::new(flow, "continue");
            let message = request.continuation().map_err(StageError::from)?;
            self.queue.send(QueueName::Poll, vec![message]).await?;
        }
        Ok(report)
    }

    /// Handles one invocation that must answer before `deadline`: no page starts within
    /// [`POLL_RESERVE`] of it (the poll checkpoints and asks to be continued).
    pub async fn handle_until(
        &self,
        event: PollEvent,
        deadline: Option<std::time::Instant>,
    ) -> Result<Value, Diagnostic> {
        let mut handler = *self;
        handler.budget.until = deadline.and_then(|d| d.checked_sub(POLL_RESERVE));
        handler.handle(event).await
    }

    /// Handles one invocation.
    pub async fn handle(&self, event: PollEvent) -> Result<Value, Diagnostic> {
        match event {
            PollEvent::Scheduled(flows) => {
                let mut out = serde_json::Map::new();
                for flow in flows {
                    let report = self.poll_flow(flow).await.map_err(|e| {
                        tracing::error!(%flow, error = %e.for_log(), error_category = classify(&e).category(), "Poll failed.");
                        diagnostic(&e)
                    })?;
                    out.insert(
                        flow.to_string(),
                        json!({"read": report.read, "sent": report.sent, "more": report.more}),
                    );
                }
                Ok(Value::Object(out))
            }
            PollEvent::Requests(event) => {
                let settler = Settler {
                    queue: self.queue,
                    activity: self.activity,
                    clock: self.clock,
                    policy: self.policy,
                    max_receives: self.max_receives,
                    redrive: self.redrive,
                    attempts: self.attempts,
                    delete_acked: false,
                };
                let settler = &settler;
                let (response, summary) = run_batch(event, 1, |message| async move {
                    let result = match PollRequest::decode(&message.body) {
                        Ok(request) => {
                            tracing::info!(flow = %request.flow, reason = %request.reason, trace_id = %request.trace_id, "Poll requested.");
                            self.poll_flow(request.flow).await.map(|_| None)
                        }
                        Err(e) => Err(e.into()),
                    };
                    settler.settle(QueueName::Poll, &message, None, "poll", result).await
                })
                .await;
                tracing::info!(
                    done = summary.done,
                    retrying = summary.retrying,
                    dead_lettered = summary.dead_lettered,
                    "Poll requests handled."
                );
                serde_json::to_value(response).map_err(|e| Diagnostic {
                    error_type: "fatal".into(),
                    error_message: e.to_string(),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_recognised() {
        assert_eq!(
            parse_event(json!({"flow": "customers"})).unwrap(),
            PollEvent::Scheduled(vec![Flow::Customers])
        );
        assert_eq!(
            parse_event(
                json!({"detail-type": "Scheduled Event", "detail": {"flows": ["stock", "orders"]}})
            )
            .unwrap(),
            PollEvent::Scheduled(vec![Flow::Stock, Flow::Orders])
        );
        assert!(matches!(
            parse_event(json!({"Records": []})).unwrap(),
            PollEvent::Requests(_)
        ));
        let err = parse_event(json!({"flow": "invoices"})).unwrap_err();
        assert!(
            err.error_message.contains("invoices"),
            "{}",
            err.error_message
        );
        assert!(parse_event(json!({})).is_err());
    }
}
