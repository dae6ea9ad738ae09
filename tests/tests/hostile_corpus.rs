//! The hostile-input corpus (`tests/fixtures/hostile/corpus.json`, made by
//! `make_corpus.py` beside it): documented Lightspeed customers and sales and Business
//! Central ledger entries and webhook notifications, each with one
//! deliberate change — wrong types, numbers as strings and strings as numbers, NUL, U+FFFE
//! and U+FFFF, 1 MiB texts, deep nesting, empty relations in every form, dates without an
//! offset or out of range, HTML and script, right-to-left text, emoji — and pages no JSON
//! parser reads. Each goes the way the poll and the transform take it, on a page with a
//! sound record after it, and must end as the corpus says: a command, a record the poll
//! parks naming the field, a record the transform refuses naming the field, or a page that
//! is an error as a whole. Never a panic; the sound record after it always goes through.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use lsbc_business_central::Record;
use lsbc_business_central::models::ItemLedgerEntry;
use lsbc_business_central::webhook::parse_notifications;
use lsbc_connectors::config::ConfigCache;
use lsbc_connectors::customers::CustomerTransformer;
use lsbc_connectors::default_mapper;
use lsbc_connectors::lightspeed::{TIME_STAMP, keyed_by};
use lsbc_connectors::orders::{OrderTransformer, SALE_STAMPS};
use lsbc_core::memory::MemoryStore;
use lsbc_core::ports::Transformer;
use lsbc_core::{Flow, StageError};
use lsbc_lightspeed::split_list;
use serde_json::{Value, json};

const MARKER: &str = "<<1 MiB of x>>";

/// The corpus's marker for a 1 MiB text, expanded wherever it stands.
fn expand(value: &mut Value) {
    match value {
        Value::String(s) if s.contains(MARKER) => *s = s.replace(MARKER, &"x".repeat(1 << 20)),
        Value::Array(items) => items.iter_mut().for_each(expand),
        Value::Object(map) => map.values_mut().for_each(expand),
        _ => {}
    }
}

/// How a record ended: the outcome's name and the field it names, if any.
fn outcome(
    runtime: &tokio::runtime::Runtime,
    transformer: &dyn Transformer,
    flow: Flow,
    entity: &str,
    id_field: &str,
    stamps: &[&str],
    payload: Value,
) -> (String, String) {
    let record = match keyed_by(flow, entity, id_field, stamps, payload) {
        Ok(record) => record,
        Err(rejected) => return ("rejected".into(), rejected.field.clone()),
    };
    let key = record.key.clone();
    match runtime.block_on(transformer.transform(&record)) {
        Ok(commands) if !commands.is_empty() => ("command".into(), String::new()),
        Ok(_) => ("nothing".into(), String::new()),
        Err(StageError::InvalidRecord {
            key: named,
            field,
            reason,
        }) => {
            assert_eq!(named, key, "the refusal names the record");
            ("invalid".into(), format!("{field}: {reason}"))
        }
        Err(StageError::Skipped { key: named, .. }) => {
            assert_eq!(named, key);
            ("skipped".into(), String::new())
        }
        Err(other) => ("error".into(), other.to_string()),
    }
}

#[test]
fn every_hostile_record_ends_as_the_corpus_says_and_the_next_goes_through() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/hostile/corpus.json");
    let cases: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(cases.len() >= 100, "{} cases", cases.len());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let config = || {
        Arc::new(ConfigCache::new(
            Arc::new(MemoryStore::new()),
            Arc::new(default_mapper().unwrap()),
        ))
    };
    let customers = CustomerTransformer::new(config());
    let orders = OrderTransformer::new(config());
    let mut wrong = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let expect = &case["expect"];
        if let Some(got) = business_central(&case) {
            let (outcome, field) = got;
            if outcome != expect["outcome"].as_str().unwrap()
                || expect["field"].as_str().is_some_and(|f| !field.contains(f))
            {
                wrong.push(format!("{name}: {outcome} {field:?}, expected {expect}"));
            }
            continue;
        }
        let (flow, entity, id_field, stamps, transformer): (_, _, _, &[&str], &dyn Transformer) =
            match case["flow"].as_str().unwrap() {
                "customers" => (
                    Flow::Customers,
                    "Customer",
                    "customerID",
                    TIME_STAMP,
                    &customers,
                ),
                "orders" => (Flow::Orders, "Sale", "saleID", SALE_STAMPS, &orders),
                other => panic!("{name}: flow {other}"),
            };
        // The page: the hostile record, then a sound one (the corpus's base record under
        // another id).
        let text = match (&case["raw"], case.get("record")) {
            (Value::String(raw), _) => raw.clone(),
            (_, Some(record)) => {
                let mut record = record.clone();
                expand(&mut record);
                let mut sound = sound_record(&case, id_field);
                expand(&mut sound);
                json!({"@attributes": {"next": "", "previous": ""}, entity: [record, sound]})
                    .to_string()
            }
            _ => panic!("{name}: neither raw nor record"),
        };
        let page = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|body| split_list(entity, body).ok());
        let Some(page) = page else {
            if expect["outcome"] != "unreadable" {
                wrong.push(format!("{name}: the page could not be read"));
            }
            continue;
        };
        let mut records = page.records.into_iter();
        let hostile = records.next().unwrap();
        let (got, field) = outcome(
            &runtime,
            transformer,
            flow,
            entity,
            id_field,
            stamps,
            hostile,
        );
        if got != expect["outcome"].as_str().unwrap()
            || expect["field"].as_str().is_some_and(|f| !field.contains(f))
        {
            wrong.push(format!("{name}: {got} {field:?}, expected {expect}"));
        }
        let sound = records.next().expect("the sound record");
        let (next, why) = outcome(&runtime, transformer, flow, entity, id_field, stamps, sound);
        if next != "command" {
            wrong.push(format!("{name}: the record after it: {next} {why}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} cases:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// How a Business Central case ends: a ledger entry decoded or refused naming the field,
/// a notification body accepted or refused; `None` for a Lightspeed case.
fn business_central(case: &Value) -> Option<(String, String)> {
    let flow = case["flow"].as_str()?;
    let body = |case: &Value| -> String {
        match (&case["raw"], case.get("record")) {
            (Value::String(raw), _) => raw.clone(),
            (_, Some(record)) => {
                let mut record = record.clone();
                expand(&mut record);
                record.to_string()
            }
            _ => String::new(),
        }
    };
    match flow {
        "ledger_entries" => {
            let mut record = case["record"].clone();
            expand(&mut record);
            let Value::Object(fields) = record else {
                return Some(("invalid".into(), "not an object".into()));
            };
            Some(
                match Record::from_object(fields).decode::<ItemLedgerEntry>() {
                    Ok(_) => ("decoded".into(), String::new()),
                    Err(e) => ("invalid".into(), e.to_string()),
                },
            )
        }
        "notifications" => Some(match parse_notifications(body(case).as_bytes()) {
            Ok(_) => ("accepted".into(), String::new()),
            Err(e) => ("refused".into(), e.to_string()),
        }),
        _ => None,
    }
}

/// The case's base record (its first version in the corpus is the documented one, under
/// its own id) as a sound record under another id.
fn sound_record(case: &Value, id_field: &str) -> Value {
    let base = match case["flow"].as_str() {
        Some("customers") => SOUND_CUSTOMER,
        _ => SOUND_SALE,
    };
    let path = format!("{}/fixtures/lightspeed/{base}", env!("CARGO_MANIFEST_DIR"));
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let entity = if base == SOUND_CUSTOMER {
        "Customer"
    } else {
        "Sale"
    };
    let mut record = match &doc[entity] {
        Value::Array(list) => list[0].clone(),
        one => one.clone(),
    };
    record[id_field] = json!("999");
    if base == SOUND_CUSTOMER {
        record["Contact"]["Emails"]["ContactEmail"]["address"] = json!("sound@example.com");
    }
    record
}

const SOUND_CUSTOMER: &str = "rseries_customer_list_with_contact.docs.json";
const SOUND_SALE: &str = "rseries_sale_create_response_with_lines_payments.docs.json";
