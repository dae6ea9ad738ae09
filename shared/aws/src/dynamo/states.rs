//! Record states on the state table, written under a version condition and listed by state
//! through `gsi1`, longest in the state first. Must not decide what a state means.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use lsbc_core::ports::{RecordState, StateStore};
use lsbc_core::{Flow, RecordKey, StoreError};

use super::{DynamoStore, Item, STATE_INDEX, condition_failed, n, s, store_error, to_json};

fn pk(flow: Flow) -> String {
    format!("state#{flow}")
}

fn by_state_pk(flow: Flow, state: &str) -> String {
    format!("states#{flow}#{state}")
}

/// Sorts by the time the record entered its state (epoch milliseconds, zero-padded so the
/// string order is the time order), then by key.
fn by_state_sk(state: &RecordState) -> String {
    format!(
        "{:020}#{}",
        state.since.as_millisecond().max(0),
        state.key.as_str()
    )
}

fn decode(
    flow: Flow,
    key: &str,
    attrs: HashMap<String, AttributeValue>,
) -> Result<RecordState, StoreError> {
    Item::new(format!("{}/{key}", pk(flow)), attrs).json("body")
}

#[async_trait]
impl StateStore for DynamoStore {
    async fn get_state(
        &self,
        flow: Flow,
        key: &RecordKey,
    ) -> Result<Option<RecordState>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tables.state)
            .key("pk", s(pk(flow)))
            .key("sk", s(key.as_str()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error(format!("state {flow}/{key}"), e))?;
        out.item
            .map(|attrs| decode(flow, key.as_str(), attrs))
            .transpose()
    }

    async fn put_state(&self, state: &RecordState) -> Result<RecordState, StoreError> {
        let name = format!("state {}/{}", state.flow, state.key);
        let written = RecordState {
            version: state.version + 1,
            ..state.clone()
        };
        let request = self
            .client
            .put_item()
            .table_name(&self.tables.state)
            .item("pk", s(pk(state.flow)))
            .item("sk", s(state.key.as_str()))
            .item("state", s(&state.state))
            .item("version", n(written.version))
            .item("body", s(to_json(&name, &written)?))
            .item("gsi1pk", s(by_state_pk(state.flow, &state.state)))
            .item("gsi1sk", s(by_state_sk(state)));
        let request = if state.version == 0 {
            request.condition_expression("attribute_not_exists(pk)")
        } else {
            request
                .condition_expression("#version = :expected")
                .expression_attribute_names("#version", "version")
                .expression_attribute_values(":expected", n(state.version))
        };
        match request.send().await {
            Ok(_) => Ok(written),
            Err(e) if condition_failed(&e) => Err(StoreError::Conflict(format!(
                "{name} is no longer at version {}",
                state.version
            ))),
            Err(e) => Err(store_error(name, e)),
        }
    }

    async fn list_states(
        &self,
        flow: Flow,
        state: &str,
        limit: usize,
    ) -> Result<Vec<RecordState>, StoreError> {
        let mut found = Vec::new();
        let mut start = None;
        while found.len() < limit {
            let page = i32::try_from(limit - found.len()).unwrap_or(i32::MAX);
            let out = self
                .client
                .query()
                .table_name(&self.tables.state)
                .index_name(STATE_INDEX)
                .key_condition_expression("gsi1pk = :p")
                .expression_attribute_values(":p", s(by_state_pk(flow, state)))
                .limit(page)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| store_error(format!("states {state} of {flow}"), e))?;
            for attrs in out.items.unwrap_or_default() {
                let key = match attrs.get("sk") {
                    Some(AttributeValue::S(sk)) => sk.clone(),
                    _ => String::from("?"),
                };
                let record = decode(flow, &key, attrs)?;
                // The index is eventually consistent: an item that has moved on since is
                // left out.
                if record.state == state {
                    found.push(record);
                }
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        found.truncate(limit);
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;

    use super::*;

    #[test]
    fn states_sort_by_the_time_they_were_entered() {
        let at = |t: &str| {
            RecordState::new(
                Flow::Orders,
                RecordKey::parse("9").unwrap(),
                "waiting",
                t.parse::<Timestamp>().unwrap(),
            )
        };
        let (early, late) = (
            by_state_sk(&at("2026-01-01T00:00:00Z")),
            by_state_sk(&at("2026-01-02T00:00:00Z")),
        );
        assert!(early < late, "{early} {late}");
        assert!(early.ends_with("#9"));
    }
}
