//! `lsbc webhooks`: the Business Central webhook subscriptions that wake the flows reading
//! Business Central — listed (`list`), or renewed, made again and pruned (`renew`), as the
//! poll function does every hour.

use std::process::ExitCode;

use jiff::Timestamp;
use lsbc_connectors::business_central::{connect, subscriptions};
use lsbc_core::ports::Freshness;
use secrecy::ExposeSecret;
use serde_json::Value;

use crate::args::{HomeArgs, WebhookArgs, WebhooksAction};
use crate::{CliError, print_json};

/// Runs `lsbc webhooks …`.
pub async fn run(
    action: WebhooksAction,
    webhook: &WebhookArgs,
    home: &HomeArgs,
) -> Result<ExitCode, CliError> {
    let state = home.choice().open().await?;
    let bc = connect(
        &state.secrets,
        state.budgets.clone(),
        &webhook.business_central_secret,
    )
    .await?;
    let statuses = match action {
        WebhooksAction::List => subscriptions::list(&bc, &webhook.url).await?,
        WebhooksAction::Renew {
            client_state_secret,
        } => {
            let client_state = state
                .secrets
                .get(&client_state_secret, Freshness::Fresh)
                .await?;
            subscriptions::ensure(
                &bc,
                &webhook.url,
                client_state.expose_secret(),
                Timestamp::now(),
            )
            .await?
        }
    };
    let failed = statuses
        .iter()
        .any(|s| matches!(s.action, "failed" | "missing"));
    print_json(&serde_json::to_value(&statuses).unwrap_or(Value::Null));
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
