//! Translates an SQS batch from a flow's push queue into push-stage calls and answers with a
//! partial batch response.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lsbc_core::ports::{ActivityLog, ClaimStore, Clock, LinkStore, Queue, Sink};
use lsbc_core::stages::{ActivityPolicy, PushStage, Settler, push};
use lsbc_core::{Flow, QueueName};
use lsbc_lambda::run_stage;

/// What the push function needs.
#[derive(Debug, Clone, Copy)]
pub struct PushHandler<'a> {
    /// The flow this function serves.
    pub flow: Flow,
    /// The flow's sink.
    pub sink: &'a dyn Sink,
    /// Links.
    pub links: &'a dyn LinkStore,
    /// Claims.
    pub claims: &'a dyn ClaimStore,
    /// The queues (for dead letters and retry delays).
    pub queue: &'a dyn Queue,
    /// The activity log.
    pub activity: &'a dyn ActivityLog,
    /// The time.
    pub clock: &'a dyn Clock,
    /// How activity is kept.
    pub policy: ActivityPolicy,
    /// Deliveries after which a failing message is dead-lettered.
    pub max_receives: u32,
    /// The queue's own redrive limit (`LSBC_QUEUE_REDRIVE`).
    pub redrive: u32,
    /// Failed attempts per message.
    pub attempts: &'a dyn lsbc_core::ports::AttemptStore,
    /// Messages handled at once (bounded: the target API allows few concurrent requests).
    pub concurrency: usize,
}

impl PushHandler<'_> {
    /// Handles one batch with no deadline.
    pub async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        self.handle_until(event, None).await
    }

    /// Handles one batch, answering before `deadline` (see [`run_stage`]).
    pub async fn handle_until(
        &self,
        event: SqsEvent,
        deadline: Option<std::time::Instant>,
    ) -> SqsBatchResponse {
        let queue = QueueName::Push(self.flow);
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
        let stage = PushStage {
            sink: self.sink,
            links: self.links,
            claims: self.claims,
            activity: self.activity,
            clock: self.clock,
            policy: self.policy,
            claim_ttl: lsbc_core::stages::PUSH_CLAIM_TTL,
        };
        let stage = &stage;
        run_stage(
            event,
            queue,
            &settler,
            self.concurrency,
            deadline,
            |env| async move { push(stage, &env).await.map(Some) },
        )
        .await
    }
}
