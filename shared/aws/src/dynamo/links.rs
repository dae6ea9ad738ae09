//! Links on the state table, written only when not older than the stored one (by `vorder`)
//! and found again by target through `gsi1`. Must not decide what a link means.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use lsbc_core::ports::{Link, LinkStore, LinkWrite};
use lsbc_core::{Flow, RecordKey, SourceVersion, StoreError};

use super::{DynamoStore, Item, STATE_INDEX, condition_failed, n, s, store_error, to_json};

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
        let mut request = self
            .client
            .put_item()
            .table_name(&self.tables.state)
            .item("pk", s(pk(link.flow)))
            .item("sk", s(link.key.as_str()))
            .item("target_id", s(&link.target_id))
            .item("source_version", s(link.source_version.to_string()))
            .item("content_hash", s(link.content_hash.to_hex()))
            .item("extra", s(to_json(&name, &link.extra)?))
            .item("updated_at", s(link.updated_at.to_string()))
            .item("vorder", n(vorder(&link.source_version)))
            .item("gsi1pk", s(target_pk(link.flow, &link.target_id)))
            .item("gsi1sk", s(link.key.as_str()))
            .condition_expression("attribute_not_exists(pk) OR #vorder <= :vorder")
            .expression_attribute_names("#vorder", "vorder")
            .expression_attribute_values(":vorder", n(vorder(&link.source_version)));
        if let Some(etag) = &link.etag {
            request = request.item("etag", s(etag));
        }
        if let Some(match_key) = &link.match_key {
            request = request.item("match_key", s(match_key.as_str()));
        }
        match request.send().await {
            Ok(_) => Ok(LinkWrite::Written),
            Err(e) if condition_failed(&e) => Ok(LinkWrite::Stale),
            Err(e) => Err(store_error(name, e)),
        }
    }

    async fn find_by_target(&self, flow: Flow, target_id: &str) -> Result<Vec<Link>, StoreError> {
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
