//! The webhook Lambda (function URL): wires telemetry, configuration and the AWS adapters
//! once, then answers Business Central's handshake and notifications.

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
    let common = CommonConfig::read(&mut env, &[QueueName::Poll]);
    let client_state_secret: Option<String> = env.required("LSBC_WEBHOOK_SECRET");
    // The Lightspeed OAuth callback route is on when the connection secret is named.
    let lightspeed_secret = SecretNames::read_lightspeed(&mut env);
    env.finish()?;
    let client_state_secret = client_state_secret.unwrap_or_default();
    let home = AwsHome::connect(&common).await;
    let webhook = Webhook {
        queue: &home.queue,
        secrets: Arc::new(home.secrets.clone()),
        client_state_secret: &client_state_secret,
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
