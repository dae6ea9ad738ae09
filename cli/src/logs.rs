//! `lsbc logs`: the activity log, searched by flow, record, outcome and time.

use std::process::ExitCode;

use jiff::{SignedDuration, Timestamp};
use lsbc_core::ports::{ActivityQuery, Outcome};
use lsbc_core::{Flow, RecordKey};
use serde_json::{Value, json};

use crate::args::LogsArgs;
use crate::home::StateHandle;
use crate::{CliError, print_json};

/// A search.
#[derive(Debug, Clone, Default)]
pub struct LogQuery {
    /// Only this flow.
    pub flow: Option<Flow>,
    /// Only this record.
    pub key: Option<String>,
    /// Only this outcome.
    pub outcome: Option<Outcome>,
    /// Only the last … (e.g. `2h`, `30m`, `7d`).
    pub since: Option<String>,
    /// At most this many.
    pub limit: usize,
    /// Include the source and target payloads.
    pub payloads: bool,
}

/// Parses `30m`, `2h`, `7d`, `45s`.
pub fn parse_age(text: &str) -> Result<SignedDuration, CliError> {
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let n: i64 = number
        .parse()
        .map_err(|_| CliError::Usage(format!("`{text}` is not an age like 30m, 2h or 7d")))?;
    match unit {
        "s" => Ok(SignedDuration::from_secs(n)),
        "m" => Ok(SignedDuration::from_mins(n)),
        "h" => Ok(SignedDuration::from_hours(n)),
        "d" => Ok(SignedDuration::from_hours(n * 24)),
        _ => Err(CliError::Usage(format!(
            "`{text}`: the unit is s, m, h or d"
        ))),
    }
}

/// `lsbc logs`: prints the entries matching the options.
pub async fn run(args: LogsArgs) -> Result<ExitCode, CliError> {
    let state = args.home.choice().open().await?;
    let out = logs(
        &state,
        &LogQuery {
            flow: args.flow,
            key: args.key,
            outcome: args.outcome,
            since: args.since,
            limit: args.limit,
            payloads: args.payloads,
        },
    )
    .await?;
    print_json(&out);
    Ok(ExitCode::SUCCESS)
}

/// The matching entries, newest first.
pub async fn logs(state: &StateHandle, q: &LogQuery) -> Result<Value, CliError> {
    let since = match &q.since {
        Some(age) => Some(
            Timestamp::now()
                .checked_sub(parse_age(age)?)
                .map_err(|e| CliError::Usage(e.to_string()))?,
        ),
        None => None,
    };
    let key = match &q.key {
        Some(k) => {
            if q.flow.is_none() {
                return Err(CliError::Usage("--key needs --flow".into()));
            }
            Some(RecordKey::parse(k.clone()).map_err(|e| CliError::Usage(e.to_string()))?)
        }
        None => None,
    };
    let entries = state
        .activity
        .query(&ActivityQuery {
            flow: q.flow,
            key,
            outcome: q.outcome,
            since,
            until: None,
            limit: q.limit,
        })
        .await?;
    Ok(Value::Array(
        entries
            .into_iter()
            .map(|e| {
                let mut v = json!({
                    "at": e.at.to_string(),
                    "flow": e.flow,
                    "key": e.key,
                    "stage": e.stage,
                    "outcome": e.outcome,
                    "message": e.message,
                    "trace_id": e.trace_id,
                });
                if q.payloads {
                    v["source"] = e.source.unwrap_or(Value::Null);
                    v["target"] = e.target.unwrap_or(Value::Null);
                }
                v
            })
            .collect(),
    ))
}
