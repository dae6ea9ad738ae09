//! The activity log on its own table: one item per entry, sorted by time within a flow,
//! found by record through `by_record`, expired by the table's TTL. Must not decide what
//! is logged or whether payloads are kept (the stages and settings do).

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use futures::future::try_join_all;
use jiff::Timestamp;
use lsbc_core::ports::{ActivityEntry, ActivityLog, ActivityQuery};
use lsbc_core::{Flow, StoreError};

use super::{ACTIVITY_INDEX, DynamoStore, Item, n, s, store_error, to_json};

/// Payloads larger than this together are dropped (DynamoDB refuses items over 400 KB).
const MAX_PAYLOAD_BYTES: usize = 350 * 1024;

/// A page of a query never asks for more than this many items.
const PAGE: usize = 500;

/// `at` as RFC 3339 in UTC with exactly nine fraction digits, so the text sorts as the time.
fn sortable(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
}

fn sort_key(entry: &ActivityEntry) -> String {
    format!("{}#{}", sortable(entry.at), entry.id)
}

fn record_pk(flow: Flow, key: &str) -> String {
    format!("{flow}#{key}")
}

fn decode(attrs: HashMap<String, AttributeValue>) -> Result<ActivityEntry, StoreError> {
    let item = Item::new("activity entry", attrs);
    let item = Item {
        key: format!(
            "activity {}/{}",
            item.str("pk").unwrap_or("?"),
            item.str("sk").unwrap_or("?")
        ),
        ..item
    };
    Ok(ActivityEntry {
        id: item.str("id")?.to_owned(),
        flow: item.parse("pk")?,
        key: item.parse("key")?,
        trace_id: item.string_as("trace_id")?,
        stage: item.str("stage")?.to_owned(),
        outcome: item.parse("outcome")?,
        message: item.str("message")?.to_owned(),
        at: item.timestamp("at")?,
        expires_at: item.timestamp("expires_at")?,
        source: item.opt_json("source")?,
        target: item.opt_json("target")?,
    })
}

impl DynamoStore {
    /// Up to `limit` entries of one flow matching `query`, newest first.
    async fn query_flow(
        &self,
        flow: Flow,
        query: &ActivityQuery,
        limit: usize,
    ) -> Result<Vec<ActivityEntry>, StoreError> {
        let mut condition = String::new();
        let mut values = HashMap::new();
        let mut names = HashMap::new();
        let mut request = self.client.query().table_name(&self.tables.activity);
        if let Some(key) = &query.key {
            request = request.index_name(ACTIVITY_INDEX);
            condition.push_str("rpk = :pk");
            values.insert(":pk".to_owned(), s(record_pk(flow, key.as_str())));
        } else {
            condition.push_str("pk = :pk");
            values.insert(":pk".to_owned(), s(flow.as_str()));
        }
        match (query.since, query.until) {
            (Some(since), Some(until)) => {
                // `sk` is `<at>#<id>`: `<until>` sorts before every `<until>#…`, so the
                // inclusive BETWEEN still leaves out entries at `until` itself.
                condition.push_str(" AND sk BETWEEN :since AND :until");
                values.insert(":since".to_owned(), s(sortable(since)));
                values.insert(":until".to_owned(), s(sortable(until)));
            }
            (Some(since), None) => {
                condition.push_str(" AND sk >= :since");
                values.insert(":since".to_owned(), s(sortable(since)));
            }
            (None, Some(until)) => {
                condition.push_str(" AND sk < :until");
                values.insert(":until".to_owned(), s(sortable(until)));
            }
            (None, None) => {}
        }
        if let Some(outcome) = query.outcome {
            // A filter applies after DynamoDB's page limit, so pages are not limited then.
            request = request.filter_expression("#outcome = :outcome");
            names.insert("#outcome".to_owned(), "outcome".to_owned());
            values.insert(":outcome".to_owned(), s(outcome.as_str()));
        } else {
            request = request.limit(i32::try_from(limit.min(PAGE)).unwrap_or(i32::MAX));
        }
        let request = request
            .key_condition_expression(condition)
            .set_expression_attribute_values(Some(values))
            .set_expression_attribute_names((!names.is_empty()).then_some(names))
            .scan_index_forward(false);

        let mut found = Vec::new();
        let mut start = None;
        while found.len() < limit {
            let out = request
                .clone()
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| store_error(format!("activity of {flow}"), e))?;
            for attrs in out.items.unwrap_or_default() {
                found.push(decode(attrs)?);
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

#[async_trait]
impl ActivityLog for DynamoStore {
    async fn record(&self, entry: &ActivityEntry) -> Result<(), StoreError> {
        let name = format!("activity {}/{}", entry.flow, sort_key(entry));
        let source = entry
            .source
            .as_ref()
            .map(|v| to_json(&name, v))
            .transpose()?;
        let target = entry
            .target
            .as_ref()
            .map(|v| to_json(&name, v))
            .transpose()?;
        let size = source.as_ref().map_or(0, String::len) + target.as_ref().map_or(0, String::len);
        let (source, target) = if size > MAX_PAYLOAD_BYTES {
            tracing::warn!(
                flow = %entry.flow,
                record_key = %entry.key,
                bytes = size,
                "activity payloads too large for DynamoDB; logged without them"
            );
            (None, None)
        } else {
            (source, target)
        };
        let mut request = self
            .client
            .put_item()
            .table_name(&self.tables.activity)
            .item("pk", s(entry.flow.as_str()))
            .item("sk", s(sort_key(entry)))
            .item("rpk", s(record_pk(entry.flow, entry.key.as_str())))
            .item("id", s(&entry.id))
            .item("key", s(entry.key.as_str()))
            .item("trace_id", s(entry.trace_id.as_str()))
            .item("stage", s(&entry.stage))
            .item("outcome", s(entry.outcome.as_str()))
            .item("message", s(&entry.message))
            .item("at", s(entry.at.to_string()))
            .item("expires_at", s(entry.expires_at.to_string()))
            .item("ttl", n(entry.expires_at.as_second()));
        if let Some(source) = source {
            request = request.item("source", s(source));
        }
        if let Some(target) = target {
            request = request.item("target", s(target));
        }
        request
            .send()
            .await
            .map(|_| ())
            .map_err(|e| store_error(name, e))
    }

    async fn query(&self, query: &ActivityQuery) -> Result<Vec<ActivityEntry>, StoreError> {
        let limit = query.effective_limit();
        if let (Some(since), Some(until)) = (query.since, query.until)
            && since >= until
        {
            return Ok(Vec::new());
        }
        let flows = query.flow.map_or_else(|| Flow::ALL.to_vec(), |f| vec![f]);
        let per_flow = try_join_all(
            flows
                .into_iter()
                .map(|flow| self.query_flow(flow, query, limit)),
        )
        .await?;
        Ok(query.newest_first(per_flow.into_iter().flatten().collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_keys_have_a_fixed_width_and_sort_as_time() {
        let times = [
            "2024-01-01T10:00:00Z",
            "2024-01-01T10:00:00.5Z",
            "2024-01-01T10:00:00.000000001Z",
            "2024-01-01T09:59:59.999999999Z",
            "2024-12-31T23:00:00+02:00",
        ];
        let mut stamps: Vec<Timestamp> = times.iter().map(|t| t.parse().unwrap()).collect();
        let mut texts: Vec<String> = stamps.iter().copied().map(sortable).collect();
        assert!(texts.iter().all(|t| t.len() == 30), "{texts:?}");
        assert_eq!(texts[0], "2024-01-01T10:00:00.000000000Z");
        assert_eq!(texts[4], "2024-12-31T21:00:00.000000000Z");
        stamps.sort();
        texts.sort();
        let resorted: Vec<String> = stamps.into_iter().map(sortable).collect();
        assert_eq!(texts, resorted);
    }
}
