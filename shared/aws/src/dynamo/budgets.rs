//! Request budgets on the state table: one item per budget key, its schedule `until` (N,
//! epoch microseconds). A booking never reads first: while the schedule is ahead of the
//! clock it is an atomic `ADD` under the condition `until >= now`; when the budget is idle
//! (or new) it is a `SET` to `now + spend` under `attribute_not_exists(pk) OR until < now`.
//! One of the two holds at any moment, so a booking takes one write, two when it races the
//! idle edge, and a few more only under a lost race on that edge. Must not read the system
//! clock: `now` comes from the caller.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;
use jiff::Timestamp;
use lsbc_core::StoreError;
use lsbc_core::ports::BudgetStore;

use super::{DynamoStore, Item, condition_failed, n, s, store_error};

/// A budget's item expires a day after its last booking (only housekeeping: an idle budget
/// restarts from `now` whether or not its item is still there).
const TTL_SECONDS: i64 = 86_400;

/// Conditional attempts before giving up (each lost one means another booker moved on).
const ATTEMPTS: usize = 8;

fn pk(key: &str) -> String {
    format!("budget#{key}")
}

fn micros(spend: Duration) -> i64 {
    i64::try_from(spend.as_micros()).unwrap_or(i64::MAX)
}

#[async_trait]
impl BudgetStore for DynamoStore {
    async fn book(
        &self,
        key: &str,
        now: Timestamp,
        spend: Duration,
    ) -> Result<Timestamp, StoreError> {
        let id = pk(key);
        let now_us = now.as_microsecond();
        let spend_us = micros(spend);
        let ttl = now.as_second().saturating_add(TTL_SECONDS);
        for _ in 0..ATTEMPTS {
            let busy = self
                .client
                .update_item()
                .table_name(&self.tables.state)
                .key("pk", s(&id))
                .key("sk", s("budget"))
                .update_expression("ADD #until :spend SET #ttl = :ttl")
                .condition_expression("#until >= :now")
                .expression_attribute_names("#until", "until")
                .expression_attribute_names("#ttl", "ttl")
                .expression_attribute_values(":spend", n(spend_us))
                .expression_attribute_values(":now", n(now_us))
                .expression_attribute_values(":ttl", n(ttl))
                .return_values(ReturnValue::UpdatedNew)
                .send()
                .await;
            match busy {
                Ok(out) => {
                    let item = Item::new(&id, out.attributes.unwrap_or_default());
                    return schedule(&item);
                }
                Err(e) if condition_failed(&e) => {}
                Err(e) => return Err(store_error(format!("budget {key}"), e)),
            }
            let idle = self
                .client
                .update_item()
                .table_name(&self.tables.state)
                .key("pk", s(&id))
                .key("sk", s("budget"))
                .update_expression("SET #until = :next, #ttl = :ttl")
                .condition_expression("attribute_not_exists(pk) OR #until < :now")
                .expression_attribute_names("#until", "until")
                .expression_attribute_names("#ttl", "ttl")
                .expression_attribute_values(":next", n(now_us.saturating_add(spend_us)))
                .expression_attribute_values(":now", n(now_us))
                .expression_attribute_values(":ttl", n(ttl))
                .return_values(ReturnValue::UpdatedNew)
                .send()
                .await;
            match idle {
                Ok(out) => {
                    let item = Item::new(&id, out.attributes.unwrap_or_default());
                    return schedule(&item);
                }
                Err(e) if condition_failed(&e) => {}
                Err(e) => return Err(store_error(format!("budget {key}"), e)),
            }
        }
        Err(StoreError::Conflict(format!(
            "budget {key}: {ATTEMPTS} bookings lost their race"
        )))
    }
}

fn schedule(item: &Item) -> Result<Timestamp, StoreError> {
    let us: i64 = item.number("until")?;
    Timestamp::from_microsecond(us).map_err(|e| item.corrupt(format!("attribute `until`: {e}")))
}
