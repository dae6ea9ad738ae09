//! Links on the state table, written only when not older than the stored one (by `vorder`)
//! and found again by target. Must not decide what a link means.
//!
//! "Which records link to this target" must be strongly consistent: a sink asks it right
//! after another record's link was written (two customers sharing an e-mail), and a
//! secondary index answers only eventually. So each link write is a transaction that also
//! adds the record key to the target's `owners` item (a string set), and `find_by_target`
//! reads that item and each named link with consistent reads, keeping the links that still
//! point at the target. A target without an `owners` item (links written before it
//! existed) is looked up through `gsi1`.

use std::collections::HashMap;

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use lsbc_core::ports::{Link, LinkStore, LinkWrite};
use lsbc_core::{Flow, RecordKey, SourceVersion, StoreError};

use super::{DynamoStore, Item, STATE_INDEX, n, s, store_error, to_json};

fn pk(flow: Flow) -> String {
    format!("link#{flow}")
}

fn target_pk(flow: Flow, target_id: &str) -> String {
    format!("target#{flow}#{target_id}")
}

/// A number that orders source versions of one kind: epoch nanoseconds for timestamps, the
/// sequence itself for sequences.
fn vorder(version: &SourceVersion) -> String {
    match version {
        SourceVersion::Timestamp(t) => t.as_nanosecond().to_string(),
        SourceVersion::Sequence(seq) => seq.to_string(),
    }
}

fn decode(flow: Flow, attrs: HashMap<String, AttributeValue>) -> Result<Link, StoreError> {
    let item = Item::new(format!("{}/?", pk(flow)), attrs);
    let key: String = item.str("sk")?.to_owned();
    let item = Item {
        key: format!("{}/{key}", pk(flow)),
        ..item
    };
    Ok(Link {
        flow,
        key: RecordKey::parse(key).map_err(|e| item.corrupt(format!("record key: {e}")))?,
        target_id: item.str("target_id")?.to_owned(),
        etag: item.opt_str("etag")?.map(str::to_owned),
        source_version: item.parse("source_version")?,
        content_hash: item.string_as("content_hash")?,
        match_key: item.opt_parse("match_key")?,
        extra: item.json("extra")?,
        updated_at: item.timestamp("updated_at")?,
    })
}

#[async_trait]
impl LinkStore for DynamoStore {
    async fn get(&self, flow: Flow, key: &RecordKey) -> Result<Option<Link>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tables.state)
            .key("pk", s(pk(flow)))
            .key("sk", s(key.as_str()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error(format!("link {flow}/{key}"), e))?;
        out.item.map(|attrs| decode(flow, attrs)).transpose()
    }

    async fn put(&self, link: &Link) -> Result<LinkWrite, StoreError> {
        let name = format!("link {}/{}", link.flow, link.key);
        let build = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Corrupt {
            key: name.clone(),
            message: e.to_string(),
        };
        let mut item = HashMap::from([
            ("pk".to_owned(), s(pk(link.flow))),
            ("sk".to_owned(), s(link.key.as_str())),
            ("target_id".to_owned(), s(&link.target_id)),
            (
                "source_version".to_owned(),
                s(link.source_version.to_string()),
            ),
            ("content_hash".to_owned(), s(link.content_hash.to_hex())),
            ("extra".to_owned(), s(to_json(&name, &link.extra)?)),
            ("updated_at".to_owned(), s(link.updated_at.to_string())),
            ("vorder".to_owned(), n(vorder(&link.source_version))),
            (
                "gsi1pk".to_owned(),
                s(target_pk(link.flow, &link.target_id)),
            ),
            ("gsi1sk".to_owned(), s(link.key.as_str())),
        ]);
        if let Some(etag) = &link.etag {
            item.insert("etag".to_owned(), s(etag));
        }
        if let Some(match_key) = &link.match_key {
            item.insert("match_key".to_owned(), s(match_key.as_str()));
        }
        let put = Put::builder()
            .table_name(&self.tables.state)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR #vorder <= :vorder")
            .expression_attribute_names("#vorder", "vorder")
            .expression_attribute_values(":vorder", n(vorder(&link.source_version)))
            .build()
            .map_err(build)?;
        let owners = Update::builder()
            .table_name(&self.tables.state)
            .key("pk", s(target_pk(link.flow, &link.target_id)))
            .key("sk", s(OWNERS))
            .update_expression("ADD #keys :key")
            .expression_attribute_names("#keys", "keys")
            .expression_attribute_values(":key", AttributeValue::Ss(vec![link.key.to_string()]))
            .build()
            .map_err(build)?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = self
                .client
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().put(put.clone()).build())
                .transact_items(TransactWriteItem::builder().update(owners.clone()).build())
                .send()
                .await;
            let Err(e) = result else {
                return Ok(LinkWrite::Written);
            };
            if e.code() != Some("TransactionCanceledException") {
                return Err(store_error(name, e));
            }
            // The reasons come in the message, in item order: "[ConditionalCheckFailed, None]".
            let message = e.message().unwrap_or_default();
            if message.contains("ConditionalCheckFailed") {
                return Ok(LinkWrite::Stale);
            }
            // Another transaction on one of the two items (a record racing for the same
            // target): try again shortly, a few times.
            if attempt >= 5 {
                return Err(StoreError::Conflict(format!("{name}: {message}")));
            }
            tokio::time::sleep(Duration::from_millis(20 * attempt)).await;
        }
    }

    async fn find_by_target(&self, flow: Flow, target_id: &str) -> Result<Vec<Link>, StoreError> {
        let what = || format!("links of {flow} target {target_id}");
        let out = self
            .client
            .get_item()
            .table_name(&self.tables.state)
            .key("pk", s(target_pk(flow, target_id)))
            .key("sk", s(OWNERS))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error(what(), e))?;
        let Some(attrs) = out.item else {
            return self.find_by_target_in_index(flow, target_id).await;
        };
        let keys = match attrs.get("keys") {
            Some(AttributeValue::Ss(keys)) => keys.clone(),
            _ => Vec::new(),
        };
        let mut found = Vec::new();
        for key in keys {
            let key = RecordKey::parse(key).map_err(|e| StoreError::Corrupt {
                key: what(),
                message: format!("record key: {e}"),
            })?;
            if let Some(link) = self.get(flow, &key).await?
                && link.target_id == target_id
            {
                found.push(link);
            }
        }
        found.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(found)
    }
}

/// The sort key of a target's `owners` item.
const OWNERS: &str = "owners";

impl DynamoStore {
    /// Links of a target through `gsi1` (eventually consistent), for targets whose links were
    /// written before the `owners` item existed.
    async fn find_by_target_in_index(
        &self,
        flow: Flow,
        target_id: &str,
    ) -> Result<Vec<Link>, StoreError> {
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.tables.state)
                .index_name(STATE_INDEX)
                .key_condition_expression("gsi1pk = :t")
                .expression_attribute_values(":t", s(target_pk(flow, target_id)))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| store_error(format!("links of {flow} target {target_id}"), e))?;
            for attrs in out.items.unwrap_or_default() {
                found.push(decode(flow, attrs)?);
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(found);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vorder_orders_versions_within_their_kind() {
        let older: SourceVersion = "2024-01-01T10:00:00.000000001Z".parse().unwrap();
        let newer: SourceVersion = "2024-01-01T10:00:00.000000002Z".parse().unwrap();
        let (a, b) = (vorder(&older), vorder(&newer));
        assert!(a.parse::<i128>().unwrap() < b.parse::<i128>().unwrap());
        assert_eq!(vorder(&SourceVersion::Sequence(42)), "42");
        assert_eq!(
            vorder(&"1970-01-01T00:00:01Z".parse().unwrap()),
            "1000000000"
        );
    }
}
