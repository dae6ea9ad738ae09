//! Failed attempts per queued message on the state table: one item per message, its
//! `count` raised by an atomic `ADD` that returns the new value, expired by the table's TTL.
//! Must not read the system clock: `now` comes from the caller.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;
use jiff::Timestamp;
use lsbc_core::StoreError;
use lsbc_core::ports::{AttemptStore, ClaimStore};

use super::{DynamoStore, Item, n, s, store_error};

fn pk(queue: &str, id: &str) -> String {
    format!("attempts#{queue}#{id}")
}

#[async_trait]
impl AttemptStore for DynamoStore {
    async fn count_failure(
        &self,
        queue: &str,
        id: &str,
        now: Timestamp,
        keep: Duration,
    ) -> Result<u32, StoreError> {
        let key = pk(queue, id);
        let expires = Self::lease_until(now, keep).as_second();
        let out = self
            .client
            .update_item()
            .table_name(&self.tables.state)
            .key("pk", s(&key))
            .key("sk", s("attempts"))
            .update_expression("ADD #count :one SET #ttl = :ttl")
            .expression_attribute_names("#count", "count")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":ttl", n(expires))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| store_error(format!("attempts {queue}/{id}"), e))?;
        let item = Item::new(key, out.attributes.unwrap_or_default());
        item.number("count")
    }
}
