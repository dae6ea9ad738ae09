//! Claims (leases) on the state table: taken by a conditional put, given up by a conditional
//! delete, expired by the caller's clock and cleaned up by the table's TTL. Must not read
//! the system clock: `now` comes from the caller.

use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use lsbc_core::StoreError;
use lsbc_core::ports::{ClaimKey, ClaimStore};

use super::{DynamoStore, condition_failed, n, s, store_error};

/// How long after a claim's end the table's TTL may delete its item. Only housekeeping:
/// a claim is free from `until` on, whether or not its item is gone.
const TTL_GRACE_SECONDS: i64 = 60;

fn pk(key: &ClaimKey) -> String {
    format!("claim#{key}")
}

/// The item's TTL (epoch seconds) for a claim held until `until`.
fn expiry_seconds(until: Timestamp) -> i64 {
    let whole = until.as_second();
    let rounded_up = if until.subsec_nanosecond() > 0 {
        whole + 1
    } else {
        whole
    };
    rounded_up.saturating_add(TTL_GRACE_SECONDS)
}

#[async_trait]
impl ClaimStore for DynamoStore {
    async fn acquire(
        &self,
        key: &ClaimKey,
        owner: &str,
        ttl: Duration,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let until = Self::lease_until(now, ttl);
        let result = self
            .client
            .put_item()
            .table_name(&self.tables.state)
            .item("pk", s(pk(key)))
            .item("sk", s("claim"))
            .item("owner", s(owner))
            .item("until", n(until.as_millisecond()))
            .item("ttl", n(expiry_seconds(until)))
            .condition_expression("attribute_not_exists(pk) OR #owner = :owner OR #until <= :now")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_names("#until", "until")
            .expression_attribute_values(":owner", s(owner))
            .expression_attribute_values(":now", n(now.as_millisecond()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if condition_failed(&e) => Ok(false),
            Err(e) => Err(store_error(format!("claim {key}"), e)),
        }
    }

    async fn release(&self, key: &ClaimKey, owner: &str) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.tables.state)
            .key("pk", s(pk(key)))
            .key("sk", s("claim"))
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":owner", s(owner))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Ok(()),
            Err(e) => Err(store_error(format!("claim {key}"), e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use jiff::SignedDuration;

    use super::*;

    #[test]
    fn the_item_expires_a_little_after_the_claim() {
        let t: Timestamp = "2024-01-01T10:00:00.1Z".parse().unwrap();
        assert_eq!(expiry_seconds(t), t.as_second() + 1 + TTL_GRACE_SECONDS);
        let whole: Timestamp = "2024-01-01T10:00:00Z".parse().unwrap();
        assert_eq!(expiry_seconds(whole), whole.as_second() + TTL_GRACE_SECONDS);
    }

    #[test]
    fn an_endless_claim_saturates() {
        let now = Timestamp::now();
        assert_eq!(DynamoStore::lease_until(now, Duration::MAX), Timestamp::MAX);
        assert_eq!(
            DynamoStore::lease_until(now, Duration::from_secs(5)),
            now + SignedDuration::from_secs(5)
        );
    }
}
