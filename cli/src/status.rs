//! `lsbc status`: what the sync has found out about the systems it connects, as the state
//! store keeps it. For now: per Business Central company and entity set, how BC answers a
//! client-chosen `id` on POST (honoured, refused or ignored), how and when that was found
//! (the probe at `lsbc connect business-central`, or a first create), and what the sync
//! does under it. Entity sets not listed are found on their first create. And where the
//! orders flow's sales that need someone stand (waiting, held, conflict, failed, posting,
//! relink): how many, the oldest, and the waits past the alarm.

use std::process::ExitCode;

use lsbc_connectors::business_central::client_ids::{describe, findings};
use lsbc_core::ports::ConfigStore;
use serde_json::{Value, json};

use crate::args::HomeArgs;
use crate::{CliError, print_json};

/// `lsbc status`: prints the status document.
pub async fn run(home: &HomeArgs) -> Result<ExitCode, CliError> {
    let state = home.choice().open().await?;
    let mut document = status(state.config.as_ref()).await?;
    document["orders"] = crate::orders::summary(
        state.states.as_ref(),
        state.config.as_ref(),
        jiff::Timestamp::now(),
    )
    .await?;
    print_json(&document);
    Ok(ExitCode::SUCCESS)
}

/// The status document.
pub async fn status(config: &dyn ConfigStore) -> Result<Value, CliError> {
    let found = findings(config).await?;
    let note = if found.is_empty() {
        "nothing found yet: run `lsbc connect business-central` (it probes with an item category it deletes at once) or sync once"
    } else {
        "entity sets not listed are found on their first create"
    };
    Ok(json!({
        "business_central": {
            "client_ids": describe(&found),
            "note": note,
        }
    }))
}
