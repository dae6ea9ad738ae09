//! The poll Lambda: wires telemetry, configuration, the AWS adapters and the sources of the
//! enabled flows (`LSBC_FLOWS`) once, then serves schedules and poll requests.

use std::collections::BTreeMap;

use lambda_runtime::{LambdaEvent, service_fn};
use lsbc_connectors::Connectors;
use lsbc_core::QueueName;
use lsbc_core::ports::SystemClock;
use lsbc_core::stages::PollBudget;
use lsbc_lambda::wiring::connector_context;
use lsbc_lambda::{AwsHome, CommonConfig, FlowList, SecretNames, process_env, telemetry};
use lsbc_poll::handler::{PollHandler, parse_event};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let mut env = process_env();
    let flows = env.optional("LSBC_FLOWS", FlowList(lsbc_connectors::available_flows()));
    let mut queues = vec![QueueName::Poll];
    queues.extend(flows.0.iter().map(|f| QueueName::Transform(*f)));
    let common = CommonConfig::read(&mut env, &queues);
    let secrets = SecretNames::read(&mut env);
    let max_pages = env.optional("LSBC_POLL_MAX_PAGES", PollBudget::default().max_pages);
    env.finish()?;
    let home = AwsHome::connect(&common).await;
    // Sources only: one Lightspeed client (one pacer) for every flow; no BC secret read.
    let connectors = Connectors::new(&connector_context(&home, &secrets))?;
    let mut sources = BTreeMap::new();
    for flow in &flows.0 {
        sources.insert(*flow, connectors.sources(*flow).await?);
    }
    let handler = PollHandler {
        sources: &sources,
        cursors: &home.store,
        claims: &home.store,
        queue: &home.queue,
        activity: &home.store,
        clock: &SystemClock,
        budget: PollBudget {
            max_pages,
            ..PollBudget::default()
        },
        policy: common.policy,
        max_receives: common.max_receives,
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async {
        handler.handle(parse_event(event.payload)?).await
    }))
    .await
}
