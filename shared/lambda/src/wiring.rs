//! Cold-start wiring shared by the functions: the connector context on the AWS home, and
//! the start-up of a function that serves one flow.

use std::sync::Arc;

use lsbc_connectors::{ConnectorContext, Connectors};
use lsbc_core::ports::SystemClock;
use lsbc_core::{Flow, QueueName};

use crate::aws::AwsHome;
use crate::config::{CommonConfig, SecretNames, process_env};

/// The context connectors are built in, on the AWS adapters.
pub fn connector_context(home: &AwsHome, secrets: &SecretNames) -> ConnectorContext {
    ConnectorContext {
        secrets: Arc::new(home.secrets.clone()),
        claims: Arc::new(home.store.clone()),
        budgets: Arc::new(home.store.clone()),
        config: Arc::new(home.store.clone()),
        links: Arc::new(home.store.clone()),
        cursors: Arc::new(home.store.clone()),
        states: Arc::new(home.store.clone()),
        clock: Arc::new(SystemClock),
        lightspeed_secret: secrets.lightspeed.clone(),
        business_central_secret: secrets.business_central.clone(),
    }
}

/// What a function of one flow (`LSBC_FLOW`) starts with.
#[derive(Debug)]
pub struct FlowFunction {
    /// The flow it serves.
    pub flow: Flow,
    /// The common configuration.
    pub common: CommonConfig,
    /// The AWS adapters.
    pub home: AwsHome,
    /// Builds the connector parts it uses (each API connected on first need).
    pub connectors: Connectors,
}

/// Reads `LSBC_FLOW` and the common configuration (with the queues `queues` names for the
/// flow), connects the AWS adapters and prepares the flow's connectors. Every missing or
/// bad variable is reported at once.
pub async fn flow_function(
    queues: impl Fn(Flow) -> Vec<QueueName>,
) -> Result<FlowFunction, lambda_runtime::Error> {
    let mut env = process_env();
    let flow: Option<Flow> = env.required("LSBC_FLOW");
    let common = CommonConfig::read(&mut env, &flow.map(&queues).unwrap_or_default());
    let secrets = SecretNames::read(&mut env);
    env.finish()?;
    let flow = flow.ok_or("LSBC_FLOW is not set")?;
    let home = AwsHome::connect(&common).await;
    let connectors = Connectors::new(&connector_context(&home, &secrets))?;
    Ok(FlowFunction {
        flow,
        common,
        home,
        connectors,
    })
}
