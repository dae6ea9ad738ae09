//! Versioned configuration documents on the state table: one item per version, never
//! updated or deleted, so history is complete. Must not validate the documents' content
//! (the mapping crate does).

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use lsbc_core::ports::{ConfigDoc, ConfigKind, ConfigStore};
use lsbc_core::{Flow, StoreError};

use super::{DynamoStore, Item, condition_failed, s, store_error, to_json};

/// A page of history never asks for more than this many versions at once.
const PAGE: usize = 100;

fn pk(flow: Flow, kind: ConfigKind) -> String {
    format!("config#{flow}#{}", kind.as_str())
}

fn sk(version: u64) -> String {
    format!("v#{version:012}")
}

fn name(flow: Flow, kind: ConfigKind) -> String {
    format!("{} of {flow}", kind.as_str())
}

fn decode(
    flow: Flow,
    kind: ConfigKind,
    attrs: HashMap<String, AttributeValue>,
) -> Result<ConfigDoc, StoreError> {
    let item = Item::new(format!("{}#unknown version", pk(flow, kind)), attrs);
    let sort = item.str("sk")?.to_owned();
    let item = Item {
        key: format!("{}/{sort}", pk(flow, kind)),
        ..item
    };
    let version = sort
        .strip_prefix("v#")
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or_else(|| item.corrupt("sort key is not `v#<version>`"))?;
    Ok(ConfigDoc {
        flow,
        kind,
        version,
        body: item.json("body")?,
        author: item.str("author")?.to_owned(),
        saved_at: item.timestamp("saved_at")?,
        comment: item.opt_str("comment")?.map(str::to_owned),
    })
}

impl DynamoStore {
    /// Up to `limit` versions, newest first (consistent reads).
    async fn versions(
        &self,
        flow: Flow,
        kind: ConfigKind,
        limit: usize,
    ) -> Result<Vec<ConfigDoc>, StoreError> {
        let mut found = Vec::new();
        let mut start = None;
        while found.len() < limit {
            let page = (limit - found.len()).min(PAGE);
            let out = self
                .client
                .query()
                .table_name(&self.tables.state)
                .key_condition_expression("pk = :pk AND begins_with(sk, :v)")
                .expression_attribute_values(":pk", s(pk(flow, kind)))
                .expression_attribute_values(":v", s("v#"))
                .scan_index_forward(false)
                .consistent_read(true)
                .limit(i32::try_from(page).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| store_error(name(flow, kind), e))?;
            for attrs in out.items.unwrap_or_default() {
                found.push(decode(flow, kind, attrs)?);
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
impl ConfigStore for DynamoStore {
    async fn current(&self, flow: Flow, kind: ConfigKind) -> Result<Option<ConfigDoc>, StoreError> {
        Ok(self.versions(flow, kind, 1).await?.into_iter().next())
    }

    async fn save(&self, doc: &ConfigDoc, expected_version: u64) -> Result<(), StoreError> {
        let (flow, kind) = (doc.flow, doc.kind);
        let what = name(flow, kind);
        let conflict =
            || StoreError::Conflict(format!("{what} is no longer at version {expected_version}"));
        if doc.version != expected_version + 1 {
            return Err(StoreError::Conflict(format!(
                "{what}: version {} does not follow {expected_version}",
                doc.version
            )));
        }
        if expected_version > 0 {
            // Versions are contiguous and never deleted: if the expected one exists and the
            // next one doesn't (the put's condition), the expected one is the latest.
            let out = self
                .client
                .get_item()
                .table_name(&self.tables.state)
                .key("pk", s(pk(flow, kind)))
                .key("sk", s(sk(expected_version)))
                .projection_expression("pk")
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| store_error(&what, e))?;
            if out.item.is_none() {
                return Err(conflict());
            }
        }
        let key = format!("{}/{}", pk(flow, kind), sk(doc.version));
        let mut request = self
            .client
            .put_item()
            .table_name(&self.tables.state)
            .item("pk", s(pk(flow, kind)))
            .item("sk", s(sk(doc.version)))
            .item("body", s(to_json(&key, &doc.body)?))
            .item("author", s(&doc.author))
            .item("saved_at", s(doc.saved_at.to_string()))
            .condition_expression("attribute_not_exists(pk)");
        if let Some(comment) = &doc.comment {
            request = request.item("comment", s(comment));
        }
        match request.send().await {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Err(conflict()),
            Err(e) => Err(store_error(key, e)),
        }
    }

    async fn history(
        &self,
        flow: Flow,
        kind: ConfigKind,
        limit: usize,
    ) -> Result<Vec<ConfigDoc>, StoreError> {
        self.versions(flow, kind, limit).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_sort_keys_sort_numerically() {
        assert_eq!(sk(7), "v#000000000007");
        let mut keys: Vec<String> = [10, 9, 100, 1].into_iter().map(sk).collect();
        keys.sort();
        assert_eq!(keys, [sk(1), sk(9), sk(10), sk(100)]);
    }

    #[test]
    fn a_version_item_decodes_and_a_bad_sort_key_is_corrupt() {
        let mut attrs = HashMap::from([
            ("pk".to_owned(), s("config#orders#mapping")),
            ("sk".to_owned(), s(sk(3))),
            ("body".to_owned(), s(r#"{"a":1}"#)),
            ("author".to_owned(), s("ops")),
            ("saved_at".to_owned(), s("2024-01-01T10:00:00.5Z")),
        ]);
        let doc = decode(Flow::Orders, ConfigKind::Mapping, attrs.clone()).unwrap();
        assert_eq!(doc.version, 3);
        assert_eq!(doc.body, serde_json::json!({"a": 1}));
        assert_eq!(doc.comment, None);
        attrs.insert("sk".to_owned(), s("v#x"));
        let err = decode(Flow::Orders, ConfigKind::Mapping, attrs).unwrap_err();
        assert!(
            matches!(&err, StoreError::Corrupt { key, .. } if key == "config#orders#mapping/v#x"),
            "{err:?}"
        );
    }
}
