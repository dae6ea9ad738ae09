//! Cursors on the state table: one item per (flow, stream), saved conditionally on its
//! revision. Must not interpret the cursor beyond storing its JSON.

use async_trait::async_trait;
use lsbc_core::cursor::StoredCursor;
use lsbc_core::ports::CursorStore;
use lsbc_core::{Cursor, Flow, StoreError};

use super::{DynamoStore, Item, condition_failed, n, s, store_error, to_json};

fn pk(flow: Flow) -> String {
    format!("cursor#{flow}")
}

#[async_trait]
impl CursorStore for DynamoStore {
    async fn load(&self, flow: Flow, stream: &str) -> Result<Option<StoredCursor>, StoreError> {
        let name = format!("cursor {flow}/{stream}");
        let out = self
            .client
            .get_item()
            .table_name(&self.tables.state)
            .key("pk", s(pk(flow)))
            .key("sk", s(stream))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error(&name, e))?;
        let Some(attrs) = out.item else {
            return Ok(None);
        };
        let item = Item::new(name, attrs);
        Ok(Some(StoredCursor {
            cursor: item.json("body")?,
            revision: item.number("revision")?,
        }))
    }

    async fn save(
        &self,
        flow: Flow,
        stream: &str,
        cursor: &Cursor,
        expected_revision: u64,
    ) -> Result<u64, StoreError> {
        let name = format!("cursor {flow}/{stream}");
        let next = expected_revision + 1;
        let request = self
            .client
            .put_item()
            .table_name(&self.tables.state)
            .item("pk", s(pk(flow)))
            .item("sk", s(stream))
            .item("body", s(to_json(&name, cursor)?))
            .item("revision", n(next));
        let request = if expected_revision == 0 {
            request.condition_expression("attribute_not_exists(pk)")
        } else {
            request
                .condition_expression("#revision = :expected")
                .expression_attribute_names("#revision", "revision")
                .expression_attribute_values(":expected", n(expected_revision))
        };
        match request.send().await {
            Ok(_) => Ok(next),
            Err(e) if condition_failed(&e) => Err(StoreError::Conflict(format!(
                "{name} is no longer at revision {expected_revision}"
            ))),
            Err(e) => Err(store_error(&name, e)),
        }
    }
}
