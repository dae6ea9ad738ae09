//! The webhook Lambdas (function URLs): wire telemetry, configuration and the AWS adapters
//! once, then answer Business Central's handshake and notifications, or finish a Lightspeed
//! connection (the callback function).

use std::sync::Arc;

use aws_lambda_events::event::lambda_function_urls::LambdaFunctionUrlRequest;
use lambda_runtime::{LambdaEvent, service_fn};
use lsbc_core::QueueName;
use lsbc_core::ports::SystemClock;
use lsbc_lambda::{AwsHome, CommonConfig, SecretNames, process_env, telemetry};
use lsbc_webhook::handler::Webhook;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let mut env = process_env();
    // Two functions run this binary: the Business Central webhook (the client state secret
    // named, the poll queue to wake) and the Lightspeed OAuth callback (the connection
    // secret named); each role reaches only the secrets of its routes.
    let client_state_secret =
        Some(env.optional("LSBC_WEBHOOK_SECRET", String::new())).filter(|s| !s.is_empty());
    let queues: &[QueueName] = if client_state_secret.is_some() {
        &[QueueName::Poll]
    } else {
        &[]
    };
    let common = CommonConfig::read(&mut env, queues);
    let lightspeed_secret = SecretNames::read_lightspeed(&mut env);
    if client_state_secret.is_none() && lightspeed_secret.is_none() {
        env.problem("neither LSBC_WEBHOOK_SECRET nor LSBC_LIGHTSPEED_SECRET is set: the function would serve no route");
    }
    env.finish()?;
    let home = AwsHome::connect(&common).await;
    let webhook = Webhook {
        queue: &home.queue,
        secrets: Arc::new(home.secrets.clone()),
        client_state_secret: client_state_secret.as_deref(),
        lightspeed_secret: lightspeed_secret.as_deref(),
        clock: &SystemClock,
    };
    let webhook = &webhook;
    lambda_runtime::run(service_fn(
        |event: LambdaEvent<LambdaFunctionUrlRequest>| async move {
            Ok::<_, lambda_runtime::Error>(webhook.handle(&event.payload).await)
        },
    ))
    .await
}
