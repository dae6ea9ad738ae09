//! The DynamoDB adapter of the state ports ([`CursorStore`](lsbc_core::ports::CursorStore),
//! [`ConfigStore`](lsbc_core::ports::ConfigStore) and so the mapping and settings views,
//! [`LinkStore`](lsbc_core::ports::LinkStore), [`ClaimStore`](lsbc_core::ports::ClaimStore),
//! [`BudgetStore`](lsbc_core::ports::BudgetStore), [`AttemptStore`](lsbc_core::ports::AttemptStore),
//! [`ActivityLog`](lsbc_core::ports::ActivityLog)). It owns the item schema below, which the
//! SAM template and [`crate::provision`] create; it must not hold business rules.
//!
//! # Schema
//!
//! **State table** — keys `pk` (S, hash) and `sk` (S, range); global secondary index `gsi1`
//! on `gsi1pk` (S, hash) and `gsi1sk` (S, range), projecting all attributes;
//! `PAY_PER_REQUEST`; TTL on the attribute `ttl` (claims expire).
//!
//! | item | `pk` | `sk` | other attributes |
//! |---|---|---|---|
//! | cursor | `cursor#<flow>` | `<stream>` | `body` (S, the `Cursor` as JSON), `revision` (N) |
//! | config version | `config#<flow>#<kind>` | `v#<version, 12 digits>` | `body` (S, JSON), `author` (S), `saved_at` (S, RFC 3339), `comment` (S, optional) |
//! | link | `link#<flow>` | `<record key>` | `target_id`, `etag`?, `source_version` (S: RFC 3339 or the sequence), `content_hash` (S, hex), `match_key`?, `extra` (S, JSON object), `updated_at` (S), `vorder` (N), `gsi1pk` = `target#<flow>#<target_id>`, `gsi1sk` = `<record key>` |
//! | link owners | `target#<flow>#<target_id>` | `owners` | `keys` (SS, the record keys whose links were written with this target; a key whose link moved on stays until ignored) |
//! | claim | `claim#<claim key>` | `claim` | `owner` (S), `until` (N, epoch ms), `ttl` (N, epoch s, a minute after `until`) |
//! | attempts | `attempts#<queue>#<message id>` | `attempts` | `count` (N, failed attempts), `ttl` (N, epoch s: kept as long as the queue keeps a message) |
//! | budget | `budget#<key>` | `budget` | `until` (N, epoch µs: the schedule), `ttl` (N, epoch s, a day after the last booking) |
//! | record state | `state#<flow>` | `<record key>` | `state` (S), `version` (N), `body` (S, the `RecordState` as JSON), `gsi1pk` = `states#<flow>#<state>`, `gsi1sk` = `<since, epoch ms, 20 digits>#<record key>` |
//!
//! - A cursor save is conditional: `attribute_not_exists(pk)` when the expected revision is
//!   0, else `revision = :expected`; a lost race is `StoreError::Conflict`.
//! - A configuration save puts version `expected + 1` under `attribute_not_exists(pk)`;
//!   versions are contiguous, so of two writers expecting the same version one fails. A
//!   save expecting a version that was never written fails too (checked by a consistent
//!   read of that version first; versions are never deleted, so the check cannot go stale).
//!   The current version is a descending query with limit 1; history a descending query.
//! - `vorder` orders source versions as a number: epoch nanoseconds for timestamps, the
//!   sequence for sequences. A link put is conditional,
//!   `attribute_not_exists(pk) OR vorder <= :vorder`; a failed condition is
//!   `LinkWrite::Stale`; it is one transaction with an `ADD keys :key` on the target's
//!   `owners` item. `find_by_target` reads the `owners` item and each named link with
//!   consistent reads and keeps the links still pointing at the target; only a target
//!   without an `owners` item (links written before it existed) is looked up in `gsi1`.
//! - A record state put is conditional: `attribute_not_exists(pk)` when the expected
//!   version is 0, else `version = :expected`; a lost race is `StoreError::Conflict`.
//!   `list_states` queries `gsi1` (eventually consistent: items whose body has moved to
//!   another state are left out).
//! - A budget booking is `ADD until :spend` under `until >= :now` while the schedule is
//!   ahead of the clock, else `SET until = :now + :spend` under
//!   `attribute_not_exists(pk) OR until < :now`; it returns the new `until`.
//! - A claim is acquired by a conditional put,
//!   `attribute_not_exists(pk) OR owner = :owner OR until <= :now`, and released by a
//!   conditional delete, `owner = :owner` (a failed condition is not an error).
//!
//! **Activity table** — keys `pk` (S: `<flow>`) and `sk` (S:
//! `<at, RFC 3339 UTC with 9 fraction digits>#<entry id>`, so it sorts by time); global
//! secondary index `by_record` on `rpk` (S: `<flow>#<record key>`) and `sk`, projecting all
//! attributes; TTL on `ttl` (N, epoch seconds of `expires_at`). Other attributes: `id`,
//! `key`, `trace_id`, `stage`, `outcome`, `message`, `at`, `expires_at` (S, RFC 3339), and
//! `source`, `target` (S, JSON; absent in ids-only mode, and dropped with a warning when
//! together they would push the item past DynamoDB's 400 KB limit). A query reads one flow
//! (or every flow, merged) newest first, by the table or by `by_record`, with the time range
//! on `sk` and the outcome as a filter expression.
//!
//! # Errors
//!
//! Throttling (`ProvisionedThroughputExceededException`, `ThrottlingException`,
//! `RequestLimitExceeded`) is `StoreError::Throttled`; a request DynamoDB refuses for its
//! content (`ValidationException`, e.g. an item over 400 KB) is `StoreError::Corrupt` naming
//! the key, since retrying it can't help; every other service or transport error is
//! `StoreError::Unavailable` with the SDK error as its source. An item that can't be decoded
//! is `StoreError::Corrupt` naming its key.

mod activity;
mod attempts;
mod budgets;
mod claims;
mod config;
mod cursors;
mod links;
mod states;

use std::collections::HashMap;
use std::fmt::{self, Display};
use std::str::FromStr;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use jiff::Timestamp;
use lsbc_core::StoreError;
use serde::de::DeserializeOwned;

/// The name of the state table's secondary index (links by target).
pub const STATE_INDEX: &str = "gsi1";
/// The name of the activity table's secondary index (entries by record).
pub const ACTIVITY_INDEX: &str = "by_record";
/// The TTL attribute of both tables.
pub const TTL_ATTRIBUTE: &str = "ttl";

/// The names of the two tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableNames {
    /// Cursors, configuration, links and claims.
    pub state: String,
    /// The activity log.
    pub activity: String,
}

impl TableNames {
    /// `<prefix>-state` and `<prefix>-activity`.
    pub fn with_prefix(prefix: &str) -> Self {
        Self {
            state: format!("{prefix}-state"),
            activity: format!("{prefix}-activity"),
        }
    }
}

/// Every state port on two DynamoDB tables. Clone it freely: clones share the client.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    tables: TableNames,
}

impl DynamoStore {
    /// A store on `tables`, which must exist with the schema above.
    pub fn new(client: Client, tables: TableNames) -> Self {
        Self { client, tables }
    }

    /// The tables it uses.
    pub fn tables(&self) -> &TableNames {
        &self.tables
    }
}

/// Whether the service refused a conditional write because its condition was false.
fn condition_failed<E, R>(err: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata,
{
    err.code() == Some("ConditionalCheckFailedException")
}

/// Turns an SDK error into the store error that says what happens next. `key` names the
/// item (or query) concerned.
fn store_error<E, R>(key: impl Display, err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: fmt::Debug + Send + Sync + 'static,
{
    let code = err.code().map(str::to_owned);
    if crate::is_throttling(code.as_deref()) {
        return StoreError::Throttled {
            message: format!(
                "DynamoDB throttled the request for {key}: {}",
                code.unwrap_or_default()
            ),
        };
    }
    if code.as_deref() == Some("ValidationException") {
        return StoreError::Corrupt {
            key: key.to_string(),
            message: format!(
                "DynamoDB refused the request: {}",
                err.message().unwrap_or("validation failed")
            ),
        };
    }
    let (message, source) = crate::sdk_failure(err);
    StoreError::Unavailable {
        message: format!("DynamoDB request for {key} failed: {message}"),
        source: Some(source),
    }
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl Display) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// A JSON encoding that can't fail in practice (derived `Serialize` of plain data); should
/// it, the item is refused as unwritable rather than written half-formed.
fn to_json(key: impl Display, value: &impl serde::Serialize) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt {
        key: key.to_string(),
        message: format!("can't encode as JSON: {e}"),
    })
}

/// A read item, with the key used to name it in errors.
struct Item {
    key: String,
    attrs: HashMap<String, AttributeValue>,
}

impl Item {
    fn new(key: impl Into<String>, attrs: HashMap<String, AttributeValue>) -> Self {
        Self {
            key: key.into(),
            attrs,
        }
    }

    fn corrupt(&self, message: impl Into<String>) -> StoreError {
        StoreError::Corrupt {
            key: self.key.clone(),
            message: message.into(),
        }
    }

    fn opt_str(&self, name: &str) -> Result<Option<&str>, StoreError> {
        match self.attrs.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::S(v)) => Ok(Some(v)),
            Some(_) => Err(self.corrupt(format!("attribute `{name}` is not a string"))),
        }
    }

    fn str(&self, name: &str) -> Result<&str, StoreError> {
        self.opt_str(name)?
            .ok_or_else(|| self.corrupt(format!("attribute `{name}` is missing")))
    }

    fn parse<T>(&self, name: &str) -> Result<T, StoreError>
    where
        T: FromStr,
        T::Err: Display,
    {
        self.str(name)?
            .parse()
            .map_err(|e| self.corrupt(format!("attribute `{name}`: {e}")))
    }

    fn opt_parse<T>(&self, name: &str) -> Result<Option<T>, StoreError>
    where
        T: FromStr,
        T::Err: Display,
    {
        self.opt_str(name)?
            .map(|v| {
                v.parse()
                    .map_err(|e| self.corrupt(format!("attribute `{name}`: {e}")))
            })
            .transpose()
    }

    fn number<T>(&self, name: &str) -> Result<T, StoreError>
    where
        T: FromStr,
        T::Err: Display,
    {
        match self.attrs.get(name) {
            Some(AttributeValue::N(v)) => v
                .parse()
                .map_err(|e| self.corrupt(format!("attribute `{name}`: {e}"))),
            Some(_) => Err(self.corrupt(format!("attribute `{name}` is not a number"))),
            None => Err(self.corrupt(format!("attribute `{name}` is missing"))),
        }
    }

    fn timestamp(&self, name: &str) -> Result<Timestamp, StoreError> {
        self.parse(name)
    }

    fn json<T: DeserializeOwned>(&self, name: &str) -> Result<T, StoreError> {
        let text = self.str(name)?;
        self.decode_json(name, text)
    }

    fn opt_json<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, StoreError> {
        self.opt_str(name)?
            .map(|text| self.decode_json(name, text))
            .transpose()
    }

    /// A string attribute read through `T`'s `Deserialize` (for types without `FromStr`).
    fn string_as<T: DeserializeOwned>(&self, name: &str) -> Result<T, StoreError> {
        let text = self.str(name)?.to_owned();
        serde_json::from_value(serde_json::Value::String(text))
            .map_err(|e| self.corrupt(format!("attribute `{name}`: {e}")))
    }

    fn decode_json<T: DeserializeOwned>(&self, name: &str, text: &str) -> Result<T, StoreError> {
        serde_json::from_str(text)
            .map_err(|e| self.corrupt(format!("attribute `{name}` is not the expected JSON: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(attrs: &[(&str, AttributeValue)]) -> Item {
        Item::new(
            "cursor#customers/Customer",
            attrs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn undecodable_attributes_name_the_item_and_the_attribute() {
        let it = item(&[
            ("body", s("{not json")),
            ("revision", s("1")),
            ("at", s("yesterday")),
        ]);
        let cases = [
            it.json::<serde_json::Value>("body").unwrap_err(),
            it.number::<u64>("revision").unwrap_err(),
            it.timestamp("at").unwrap_err(),
            it.str("missing").unwrap_err(),
        ];
        for (err, attr) in cases.iter().zip(["body", "revision", "at", "missing"]) {
            let StoreError::Corrupt { key, message } = err else {
                panic!("expected Corrupt, got {err:?}");
            };
            assert_eq!(key, "cursor#customers/Customer");
            assert!(message.contains(attr), "{message}");
        }
    }

    #[test]
    fn optional_attributes_may_be_absent_or_null() {
        let it = item(&[("etag", AttributeValue::Null(true))]);
        assert_eq!(it.opt_str("etag").unwrap(), None);
        assert_eq!(it.opt_str("absent").unwrap(), None);
        assert!(item(&[("etag", n(1))]).opt_str("etag").is_err());
    }

    #[test]
    fn table_names_take_the_prefix() {
        let t = TableNames::with_prefix("lsbc-dev");
        assert_eq!(t.state, "lsbc-dev-state");
        assert_eq!(t.activity, "lsbc-dev-activity");
    }
}
