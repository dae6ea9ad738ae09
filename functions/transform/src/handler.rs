//! Translates an SQS batch from a flow's transform queue into transform-stage calls and
//! answers with a partial batch response.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lsbc_core::ports::{ActivityLog, Clock, Queue, Source, Transformer};
use lsbc_core::stages::{ActivityPolicy, Settler, TransformStage, transform};
use lsbc_core::{Flow, QueueName};
use lsbc_lambda::run_stage;

/// What the transform function needs.
#[derive(Debug, Clone, Copy)]
pub struct TransformHandler<'a> {
    /// The flow this function serves.
    pub flow: Flow,
    /// The flow's source (to re-read records that travelled as references).
    pub source: &'a dyn Source,
    /// The flow's mapping.
    pub transformer: &'a dyn Transformer,
    /// The queues.
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
    /// Messages handled at once.
    pub concurrency: usize,
}

impl TransformHandler<'_> {
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
        let queue = QueueName::Transform(self.flow);
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
        let stage = TransformStage {
            source: self.source,
            transformer: self.transformer,
            queue: self.queue,
        };
        let stage = &stage;
        run_stage(
            event,
            queue,
            &settler,
            self.concurrency,
            deadline,
            |env| async move { transform(stage, &env).await.map(|_| None) },
        )
        .await
    }
}
