//! The push Lambda of one flow (`LSBC_FLOW`): wires telemetry, configuration, the AWS
//! adapters and the flow's connector once, then serves SQS batches from the flow's push
//! queue.

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{LambdaEvent, service_fn};
use lsbc_connectors::Connectors;
use lsbc_core::ports::SystemClock;
use lsbc_core::{Flow, QueueName};
use lsbc_lambda::wiring::connector_context;
use lsbc_lambda::{AwsHome, CommonConfig, SecretNames, process_env, telemetry};
use lsbc_push::handler::PushHandler;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let mut env = process_env();
    let flow: Option<Flow> = env.required("LSBC_FLOW");
    let queues: Vec<QueueName> = flow.map(|f| vec![QueueName::Push(f)]).unwrap_or_default();
    let common = CommonConfig::read(&mut env, &queues);
    let secrets = SecretNames::read(&mut env);
    env.finish()?;
    let flow = flow.ok_or("LSBC_FLOW is not set")?;
    let home = AwsHome::connect(&common).await;
    // The sink only: Business Central; Lightspeed need not be connected for pushing.
    let sink = Connectors::new(&connector_context(&home, &secrets))?
        .sink(flow)
        .await?;
    let handler = PushHandler {
        flow,
        sink: sink.as_ref(),
        links: &home.store,
        claims: &home.store,
        queue: &home.queue,
        activity: &home.store,
        clock: &SystemClock,
        policy: common.policy,
        max_receives: common.max_receives,
        concurrency: common.concurrency,
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| async {
        Ok::<_, lambda_runtime::Error>(handler.handle(event.payload).await)
    }))
    .await
}
