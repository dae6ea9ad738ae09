//! Property tests of the mapping (the fuzz targets that run on stable Rust, review T5): the
//! documented Lightspeed customers, items, matrices and sales, with up to three of their
//! values replaced by anything (another type, an empty relation, a huge or odd text), go
//! through the customers, products and orders transformers to commands or to an outcome
//! naming the record — never a panic. `PROPTEST_CASES` sets the number of cases (a long
//! run: README "Testing").

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use lsbc_connectors::config::ConfigCache;
use lsbc_connectors::customers::CustomerTransformer;
use lsbc_connectors::default_mapper;
use lsbc_connectors::orders::OrderTransformer;
use lsbc_connectors::products::ProductTransformer;
use lsbc_core::memory::MemoryStore;
use lsbc_core::ports::Transformer;
use lsbc_core::{Flow, Record, RecordKey, SourceVersion, StageError};
use proptest::prelude::*;
use serde_json::{Value, json};

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn first(name: &str, entity: &str) -> Value {
    let path = format!(
        "{}/../../tests/fixtures/lightspeed/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    match &doc[entity] {
        Value::Array(list) => list[0].clone(),
        one => one.clone(),
    }
}

/// Every path to a value inside `value` (object members and array items).
fn paths(value: &Value, at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                at.push(k.clone());
                out.push(at.clone());
                paths(v, at, out);
                at.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                at.push(i.to_string());
                out.push(at.clone());
                paths(v, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

fn replace(value: &mut Value, path: &[String], with: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut node = value;
    for step in parents {
        node = match node {
            Value::Object(map) => match map.get_mut(step) {
                Some(next) => next,
                None => return,
            },
            Value::Array(items) => {
                match step.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                    Some(next) => next,
                    None => return,
                }
            }
            _ => return,
        };
    }
    match node {
        Value::Object(map) => {
            map.insert(last.clone(), with);
        }
        Value::Array(items) => {
            if let Some(slot) = last.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                *slot = with;
            }
        }
        _ => {}
    }
}

/// What a value may become: another type, an empty relation in each of its forms, numbers
/// as strings and strings as numbers, odd and long texts.
fn hostile() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        Just(json!("")),
        Just(json!({})),
        Just(json!([])),
        Just(json!("0")),
        Just(json!("-1")),
        Just(json!("1.5")),
        Just(json!("true")),
        Just(json!("2026-13-45T99:99:99")),
        Just(json!("2026-01-01 10:00:00")),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        "\\PC{0,40}".prop_map(Value::String),
        "[\\u{0}\\u{fffe}\\u{ffff}<>&\"'\\u{202e}🙂]{0,20}".prop_map(Value::String),
        (1usize..5000).prop_map(|n| json!("x".repeat(n))),
        prop::collection::vec("\\PC{0,8}", 0..4).prop_map(|v| json!(v)),
    ]
}

fn mutated(seed: Value) -> impl Strategy<Value = Value> {
    let mut all = Vec::new();
    paths(&seed, &mut Vec::new(), &mut all);
    let count = all.len().max(1);
    prop::collection::vec((0..count, hostile()), 1..4).prop_map(move |changes| {
        let mut value = seed.clone();
        for (i, with) in changes {
            if let Some(path) = all.get(i) {
                replace(&mut value, path, with);
            }
        }
        value
    })
}

fn config() -> Arc<ConfigCache> {
    Arc::new(ConfigCache::new(
        Arc::new(MemoryStore::new()),
        Arc::new(default_mapper().unwrap()),
    ))
}

/// Runs `transformer` on `payload` as record `key`: commands, or an outcome that names the
/// record (or the configuration, which no record can break).
fn check(transformer: &dyn Transformer, flow: Flow, key: &str, payload: Value) {
    let record = Record {
        flow,
        key: RecordKey::parse(key).unwrap(),
        version: SourceVersion::Timestamp("2026-01-01T00:00:00Z".parse().unwrap()),
        payload,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    match runtime.block_on(transformer.transform(&record)) {
        Ok(_) | Err(StageError::Config(_)) => {}
        Err(
            StageError::InvalidRecord { key: named, .. }
            | StageError::Skipped { key: named, .. }
            | StageError::NotReady { key: named, .. },
        ) => assert_eq!(named.as_str(), key),
        Err(other) => panic!("{key}: an outcome that names no record: {other}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(256)))]

    #[test]
    fn any_customer_maps_or_is_refused_by_name(
        payload in mutated(first("rseries_customer_list_with_contact.docs.json", "Customer"))
    ) {
        check(&CustomerTransformer::new(config()), Flow::Customers, "1", payload);
    }

    #[test]
    fn any_item_maps_or_is_refused_by_name(
        payload in mutated(first("rseries_item_show_load_relations_all.vcr.json", "Item"))
    ) {
        check(&ProductTransformer::new(config()), Flow::Products, "item:1", payload);
    }

    #[test]
    fn any_matrix_maps_or_is_refused_by_name(
        payload in mutated(first("rseries_itemmatrix_show_load_relations_all.vcr.json", "ItemMatrix"))
    ) {
        check(&ProductTransformer::new(config()), Flow::Products, "matrix:1", payload);
    }

    #[test]
    fn any_sale_maps_or_is_refused_by_name(
        payload in mutated(first("rseries_sale_create_response_with_lines_payments.docs.json", "Sale"))
    ) {
        check(&OrderTransformer::new(config()), Flow::Orders, "277", payload);
    }
}
