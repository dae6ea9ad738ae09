//! The default products mapping over the recorded Lightspeed items and matrices
//! (`tests/fixtures/lightspeed/`), pinned by snapshots: what each becomes as Business
//! Central commands. Nothing is served: the raw fixture JSON goes straight through the
//! transformer, as it would arrive in a queue message.

// Test code: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use jiff::Timestamp;
use lsbc_connectors::config::ConfigCache;
use lsbc_connectors::default_mapper;
use lsbc_connectors::products::ProductTransformer;
use lsbc_core::memory::MemoryStore;
use lsbc_core::ports::{SettingsStore, Transformed, Transformer};
use lsbc_core::{Flow, Record, RecordKey, SourceVersion};
use serde_json::{Value, json};

fn fixture(name: &str, entity: &str) -> Value {
    let path = format!(
        "{}/../../tests/fixtures/lightspeed/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let doc: Value = serde_json::from_str(&text).unwrap();
    doc[entity].clone()
}

fn record(key: &str, payload: Value) -> Record {
    let stamp = payload["timeStamp"].as_str().unwrap();
    Record {
        flow: Flow::Products,
        key: RecordKey::parse(key).unwrap(),
        version: SourceVersion::Timestamp(stamp.parse().unwrap()),
        payload,
    }
}

async fn transformer(settings: Option<Value>) -> ProductTransformer {
    let store = Arc::new(MemoryStore::new());
    if let Some(settings) = settings {
        store
            .save_settings(Flow::Products, settings, 0, "test", Timestamp::UNIX_EPOCH)
            .await
            .unwrap();
    }
    let mapper = Arc::new(default_mapper().unwrap());
    ProductTransformer::new(Arc::new(ConfigCache::new(store, mapper)))
}

fn shown(commands: Vec<Transformed>) -> Value {
    Value::Array(
        commands
            .into_iter()
            .map(|t| {
                json!({
                    "key": t.key.as_str(),
                    "match_key": t.match_key.as_str(),
                    "command": t.command,
                    "warnings": t.warnings,
                })
            })
            .collect(),
    )
}

async fn mapped(key: &str, payload: Value, settings: Option<Value>) -> Value {
    let t = transformer(settings).await;
    shown(t.transform(&record(key, payload)).await.unwrap())
}

#[tokio::test]
async fn simple_item_from_the_docs() {
    let item = fixture("rseries_item_get_single.docs.json", "Item");
    insta::assert_json_snapshot!(mapped("item:22", item, None).await);
}

#[tokio::test]
async fn recorded_item_with_every_relation() {
    let item = fixture("rseries_item_show_load_relations_all.vcr.json", "Item");
    insta::assert_json_snapshot!(mapped("item:417", item, None).await);
}

#[tokio::test]
async fn recorded_box_item() {
    let item = fixture("rseries_item_box_show_load_relations_all.vcr.json", "Item");
    insta::assert_json_snapshot!(mapped("item:177", item, None).await);
}

#[tokio::test]
async fn recorded_box_item_with_other_settings() {
    let item = fixture("rseries_item_box_show_load_relations_all.vcr.json", "Item");
    let settings = json!({
        "sku_field": "system_sku",
        "publish": "draft",
        "price_includes_tax": true,
        "price_use_type": "MSRP",
        "base_unit_of_measure_code": "PCS",
        "general_product_posting_group_code": "RETAIL",
        "inventory_posting_group_code": "RESALE"
    });
    insta::assert_json_snapshot!(mapped("item:177", item, Some(settings)).await);
}

#[tokio::test]
async fn recorded_matrix_with_its_variant() {
    let matrix = fixture(
        "rseries_itemmatrix_show_load_relations_all.vcr.json",
        "ItemMatrix",
    );
    insta::assert_json_snapshot!(mapped("matrix:1", matrix, None).await);
}

#[tokio::test]
async fn matrix_from_the_docs_without_variants() {
    let matrix = fixture("rseries_itemmatrix_get_single.docs.json", "ItemMatrix");
    insta::assert_json_snapshot!(mapped("matrix:2", matrix, None).await);
}

#[tokio::test]
async fn variant_item_from_the_docs_with_its_matrix() {
    // The docs' variant item embeds its matrix; the source sends the matrix with its
    // variants under `Items`.
    let mut variant = fixture(
        "rseries_item_in_matrix_with_itemattributes_itemshops.docs.json",
        "Item",
    );
    let mut matrix = variant["ItemMatrix"].clone();
    variant.as_object_mut().unwrap().remove("ItemMatrix");
    matrix["Items"] = json!({ "Item": [variant] });
    insta::assert_json_snapshot!(mapped("matrix:20", matrix, None).await);
}
