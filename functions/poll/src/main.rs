//! The poll Lambda: wires telemetry, configuration, the AWS adapters and the sources of the
//! enabled flows (`LSBC_FLOWS`) once, then serves schedules and poll requests.

use std::collections::BTreeMap;

use lambda_runtime::{LambdaEvent, service_fn};
use lsbc_connectors::Connectors;
use lsbc_connectors::business_central::subscriptions;
use lsbc_core::ports::{Freshness, SecretStore, SystemClock};
use lsbc_core::stages::PollBudget;
use lsbc_core::{QueueName, StageError};
use lsbc_lambda::wiring::connector_context;
use lsbc_lambda::{AwsHome, CommonConfig, FlowList, SecretNames, process_env, telemetry};
use lsbc_poll::handler::{PollHandler, parse_event};
use secrecy::ExposeSecret;
use serde_json::Value;

/// Keeps the webhook subscriptions once an hour (never in the way of the poll: a failure is
/// logged, and tried again an hour later).
struct Keeper<'a> {
    url: &'a str,
    secret: &'a str,
    connectors: &'a Connectors,
    home: &'a AwsHome,
}

impl Keeper<'_> {
    async fn keep(&self) {
        if self.url.is_empty() || self.secret.is_empty() {
            return;
        }
        if let Err(error) = self.try_keep().await {
            tracing::error!(%error, alarm = "webhook_subscriptions", "The webhook subscriptions could not be kept; the schedule still polls.");
        }
    }

    async fn try_keep(&self) -> Result<(), StageError> {
        let now = jiff::Timestamp::now();
        if !subscriptions::due(&self.home.store, now).await? {
            return Ok(());
        }
        let bc = self.connectors.business_central().await?;
        let state = self
            .home
            .secrets
            .get(self.secret, Freshness::Cached)
            .await?;
        for s in subscriptions::ensure(&bc, self.url, state.expose_secret(), now).await? {
            if s.action == "failed" {
                tracing::error!(entity_set = %s.entity_set, detail = %s.detail, alarm = "webhook_subscriptions", "A webhook subscription could not be made or renewed.");
            } else {
                tracing::info!(entity_set = %s.entity_set, action = s.action, expires = ?s.expires, "Webhook subscription.");
            }
        }
        Ok(())
    }
}

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
    // The poll function of the flows that read Business Central keeps their webhook
    // subscriptions (the template gives it the webhook's URL and secret).
    let webhook_url = env.optional("LSBC_WEBHOOK_URL", String::new());
    let webhook_secret = env.optional("LSBC_WEBHOOK_SECRET", String::new());
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
        redrive: common.queue_redrive,
        attempts: &home.store,
    };
    let keeper = Keeper {
        url: &webhook_url,
        secret: &webhook_secret,
        connectors: &connectors,
        home: &home,
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let deadline = lsbc_lambda::batch::deadline_of(&event.context);
        let (handler, keeper) = (&handler, &keeper);
        async move {
            let event = parse_event(event.payload)?;
            keeper.keep().await;
            handler.handle_until(event, deadline).await
        }
    }))
    .await
}
