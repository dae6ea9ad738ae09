//! The default customer mapping over the recorded and documented Lightspeed customers
//! (`tests/fixtures/lightspeed/`), pinned by snapshots: what each becomes in Business Central.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use lsbc_connectors::config::ConfigCache;
use lsbc_connectors::customers::CustomerTransformer;
use lsbc_connectors::default_mapper;
use lsbc_core::memory::MemoryStore;
use lsbc_core::ports::Transformer;
use lsbc_core::{Flow, Record, RecordKey, SourceVersion, StageError};
use serde_json::{Value, json};

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/lightspeed"
);

fn customers_in(file: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(format!("{FIXTURES}/{file}")).unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    match &body["Customer"] {
        Value::Array(list) => list.clone(),
        one @ Value::Object(_) => vec![one.clone()],
        other => panic!("{file}: no Customer: {other}"),
    }
}

async fn transform(raw: &Value) -> Value {
    let transformer = CustomerTransformer::new(Arc::new(ConfigCache::new(
        Arc::new(MemoryStore::new()),
        Arc::new(default_mapper().unwrap()),
    )));
    let record = Record {
        flow: Flow::Customers,
        key: RecordKey::parse(raw["customerID"].as_str().unwrap()).unwrap(),
        version: SourceVersion::Timestamp(raw["timeStamp"].as_str().unwrap().parse().unwrap()),
        payload: raw.clone(),
    };
    match transformer.transform(&record).await {
        Ok(commands) => json!(
            commands
                .into_iter()
                .map(|t| json!({"match_key": t.match_key, "command": t.command, "warnings": t.warnings}))
                .collect::<Vec<_>>()
        ),
        Err(StageError::Skipped { rule, .. }) => json!({"skipped": rule}),
        Err(StageError::InvalidRecord { field, reason, .. }) => json!({"invalid": field, "reason": reason}),
        Err(other) => panic!("{other}"),
    }
}

#[tokio::test]
async fn documented_customers_with_contact() {
    let mut out = Vec::new();
    for raw in customers_in("rseries_customer_list_with_contact.docs.json") {
        out.push(transform(&raw).await);
    }
    insta::assert_json_snapshot!(out);
}

#[tokio::test]
async fn documented_customer_create_response() {
    let raw = &customers_in("rseries_customer_post_response.docs.json")[0];
    insta::assert_json_snapshot!(transform(raw).await);
}

#[tokio::test]
async fn recorded_customer_with_empty_relations() {
    let raw = &customers_in("rseries_customer_show_load_relations_all.vcr.json")[0];
    insta::assert_json_snapshot!(transform(raw).await);
}
