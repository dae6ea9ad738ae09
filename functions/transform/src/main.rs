//! The transform Lambda of one flow (`LSBC_FLOW`): wires telemetry, configuration, the AWS
//! adapters and the flow's connector once, then serves SQS batches from the flow's
//! transform queue.

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{LambdaEvent, service_fn};
use lsbc_core::QueueName;
use lsbc_core::ports::SystemClock;
use lsbc_lambda::telemetry;
use lsbc_lambda::wiring::flow_function;
use lsbc_transform::handler::TransformHandler;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let f = flow_function(|flow| vec![QueueName::Transform(flow), QueueName::Push(flow)]).await?;
    // The main source (re-reads records sent by reference) and the transformer; no BC.
    let source = f
        .connectors
        .sources(f.flow)
        .await?
        .into_iter()
        .next()
        .ok_or("the flow has no source")?;
    let transformer = f.connectors.transformer(f.flow)?;
    let handler = TransformHandler {
        flow: f.flow,
        source: source.as_ref(),
        transformer: transformer.as_ref(),
        queue: &f.home.queue,
        activity: &f.home.store,
        clock: &SystemClock,
        policy: f.common.policy,
        max_receives: f.common.max_receives,
        redrive: f.common.queue_redrive,
        attempts: &f.home.store,
        concurrency: f.common.concurrency,
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let deadline = lsbc_lambda::batch::deadline_of(&event.context);
        let handler = &handler;
        async move {
            Ok::<_, lambda_runtime::Error>(handler.handle_until(event.payload, deadline).await)
        }
    }))
    .await
}
