//! `lsbc orders`: where each Lightspeed sale stands in the orders flow, as the state store
//! keeps it (`show`, `list`), and asking for a sale's documents to be made again
//! (`relink`). Reads and writes the state store only; the flow does the rest on its next
//! poll.

use std::process::ExitCode;

use jiff::Timestamp;
use lsbc_connectors::FlowSettings;
use lsbc_connectors::orders::{OrderSettings, states};
use lsbc_core::ports::{ConfigKind, ConfigStore, RecordState, StateStore};
use lsbc_core::{Flow, RecordKey};
use serde_json::{Value, json};

use crate::args::{HomeArgs, OrdersAction};
use crate::{CliError, print_json};

/// The states `list` shows when none is asked for: the ones that need someone.
const NEEDING_ATTENTION: [&str; 6] = [
    states::WAITING,
    states::HELD,
    states::CONFLICT,
    states::FAILED,
    states::POSTING,
    states::RELINK,
];

/// Runs `lsbc orders …`.
pub async fn run(action: OrdersAction, home: &HomeArgs) -> Result<ExitCode, CliError> {
    let state = home.choice().open().await?;
    let now = Timestamp::now();
    match action {
        OrdersAction::Show { sale_id } => {
            let Some(found) = show(state.states.as_ref(), sale_id).await? else {
                eprintln!(
                    "lsbc: sale {sale_id} has no state yet (not polled, or skipped before its documents: see `lsbc logs --flow orders --key {sale_id}`)"
                );
                return Ok(ExitCode::FAILURE);
            };
            let alarm = alarm_hours(state.config.as_ref()).await?;
            print_json(&describe(&found, now, alarm));
        }
        OrdersAction::List {
            state: wanted,
            limit,
        } => {
            let alarm = alarm_hours(state.config.as_ref()).await?;
            let names: Vec<String> = match wanted {
                Some(name) if states::ALL.contains(&name.as_str()) => vec![name],
                Some(name) => {
                    return Err(CliError::Usage(format!(
                        "unknown state `{name}`: one of {}",
                        states::ALL.join(", ")
                    )));
                }
                None => NEEDING_ATTENTION.iter().map(|s| (*s).to_owned()).collect(),
            };
            let listed = list(state.states.as_ref(), &names, limit).await?;
            print_json(&Value::Array(
                listed.iter().map(|s| describe(s, now, alarm)).collect(),
            ));
        }
        OrdersAction::Relink { sale_id } => {
            let moved = relink(state.states.as_ref(), sale_id, now).await?;
            println!(
                "sale {sale_id}: {moved} → relink; its draft documents are replaced on the next poll"
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn key(sale_id: u64) -> Result<RecordKey, CliError> {
    RecordKey::parse(sale_id.to_string()).map_err(|e| CliError::Usage(e.to_string()))
}

/// The most sales `summary` counts per state.
const COUNTED: usize = 1_000;

/// Where the orders flow's sales that need someone stand, per state: how many, since when
/// the oldest, and (waiting) how many are past `waiting_alarm_hours` — for `lsbc status`.
pub async fn summary(
    states: &dyn StateStore,
    config: &dyn ConfigStore,
    now: Timestamp,
) -> Result<Value, CliError> {
    let alarm = alarm_hours(config).await?;
    let mut out = serde_json::Map::new();
    for name in NEEDING_ATTENTION {
        let listed = states.list_states(Flow::Orders, name, COUNTED).await?;
        let Some(oldest) = listed.first() else {
            continue;
        };
        let mut entry = json!({
            "sales": if listed.len() >= COUNTED { json!(format!("{COUNTED}+")) } else { json!(listed.len()) },
            "oldest": {"sale": oldest.key.as_str(), "since": oldest.since.to_string(), "reason": oldest.reason},
        });
        if name == states::WAITING {
            let past = listed
                .iter()
                .filter(|s| now.duration_since(s.since).as_hours() >= i64::from(alarm))
                .count();
            entry["past_waiting_alarm_hours"] = json!(past);
        }
        out.insert(name.to_owned(), entry);
    }
    Ok(Value::Object(out))
}

/// The state of sale `sale_id`.
pub async fn show(states: &dyn StateStore, sale_id: u64) -> Result<Option<RecordState>, CliError> {
    Ok(states.get_state(Flow::Orders, &key(sale_id)?).await?)
}

/// The sales in each of `names`, longest in it first.
pub async fn list(
    states: &dyn StateStore,
    names: &[String],
    limit: usize,
) -> Result<Vec<RecordState>, CliError> {
    let mut out = Vec::new();
    for name in names {
        out.extend(states.list_states(Flow::Orders, name, limit).await?);
    }
    Ok(out)
}

/// Moves a sale in conflict (or held) to `relink`; returns the state it left.
pub async fn relink(
    states: &dyn StateStore,
    sale_id: u64,
    now: Timestamp,
) -> Result<String, CliError> {
    let current = states
        .get_state(Flow::Orders, &key(sale_id)?)
        .await?
        .ok_or_else(|| CliError::Usage(format!("sale {sale_id} has no state")))?;
    if ![states::CONFLICT, states::HELD].contains(&current.state.as_str()) {
        return Err(CliError::Usage(format!(
            "sale {sale_id} is {} ({}): only a sale in conflict or held is made again",
            current.state, current.reason
        )));
    }
    let mut next = current.moved(states::RELINK, now);
    next.reason = format!(
        "asked to be made again (was {}: {})",
        current.state, current.reason
    );
    states.put_state(&next).await?;
    Ok(current.state)
}

/// The alarm threshold of waiting sales, from the stored settings.
async fn alarm_hours(config: &dyn ConfigStore) -> Result<u32, CliError> {
    let stored = config.current(Flow::Orders, ConfigKind::Settings).await?;
    let settings = OrderSettings::from_stored(stored.as_ref().map(|d| &d.body))?;
    Ok(settings.waiting_alarm_hours)
}

/// A state as `show` and `list` print it.
pub fn describe(state: &RecordState, now: Timestamp, alarm_hours: u32) -> Value {
    let hours = now.duration_since(state.since).as_hours();
    let mut out = json!({
        "sale": state.key.as_str(),
        "state": state.state,
        "reason": state.reason,
        "since": state.since.to_string(),
        "hours_in_state": hours,
        "updated_at": state.updated_at.to_string(),
        "detail": state.detail,
    });
    if state.state == states::WAITING && hours >= i64::from(alarm_hours) {
        out["alarm"] = json!(format!(
            "waiting longer than waiting_alarm_hours ({alarm_hours})"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use lsbc_core::memory::MemoryStore;

    use super::*;

    #[tokio::test]
    async fn relink_only_what_is_in_conflict_or_held_and_list_marks_old_waits() {
        let store = MemoryStore::new();
        let then: Timestamp = "2026-03-01T08:00:00Z".parse().unwrap();
        let now: Timestamp = "2026-03-02T09:00:00Z".parse().unwrap();
        for (sale, state) in [(1, "conflict"), (2, "created"), (3, "waiting")] {
            let mut s = RecordState::new(Flow::Orders, key(sale).unwrap(), state, then);
            s.reason = format!("reason {sale}");
            store.put_state(&s).await.unwrap();
        }
        assert_eq!(relink(&store, 1, now).await.unwrap(), "conflict");
        assert_eq!(show(&store, 1).await.unwrap().unwrap().state, "relink");
        let err = relink(&store, 2, now).await.unwrap_err().to_string();
        assert!(err.contains("only a sale in conflict or held"), "{err}");
        assert!(relink(&store, 9, now).await.is_err());

        let listed = list(&store, &["waiting".to_owned()], 10).await.unwrap();
        let shown = describe(&listed[0], now, 24);
        assert_eq!(shown["sale"], "3");
        assert_eq!(shown["hours_in_state"], 25);
        assert!(shown["alarm"].as_str().unwrap().contains("24"));
        assert!(describe(&listed[0], now, 48).get("alarm").is_none());

        let shown = summary(&store, &store, now).await.unwrap();
        assert_eq!(shown["waiting"]["sales"], 1, "{shown}");
        assert_eq!(shown["waiting"]["oldest"]["sale"], "3");
        assert_eq!(shown["waiting"]["past_waiting_alarm_hours"], 1);
        assert_eq!(shown["relink"]["sales"], 1);
        assert!(
            shown.get("created").is_none(),
            "settled sales are not listed"
        );
    }
}
