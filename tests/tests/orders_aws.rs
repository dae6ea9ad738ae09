//! The orders flow end to end on the AWS home (the emulator's DynamoDB, SQS and Secrets
//! Manager; the Lambda handlers under the emulated event source mapping): posted invoices,
//! a lost answer after BC committed, a sale waiting for its item, a void before the first
//! poll — each sale's state in DynamoDB.

// Test code: helpers outside `#[test]` fns too must stop the test with their message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use lsbc_core::{Flow, RecordKey};
use lsbc_tests::orders::{AMS, CARD, add_bc_item, line, payment, sale, settings, world};
use lsbc_tests::pipeline::{AwsHome, Home, LosesTheFirstAnswer, Setup};
use serde_json::{Value, json};

fn documents(s: &lsbc_cli::sandboxes::Sandboxes, set: &str, reference: &str) -> Vec<Value> {
    s.business_central
        .records(set)
        .into_iter()
        .filter(|d| d["externalDocumentNumber"] == reference)
        .collect()
}

async fn state(home: &AwsHome, sale: u64) -> String {
    home.states()
        .get_state(Flow::Orders, &RecordKey::parse(sale.to_string()).unwrap())
        .await
        .unwrap()
        .map(|s| s.state)
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sales_become_posted_invoices_once() {
    let s = world().await;
    s.lightspeed
        .add_sale(&sale(
            2000,
            AMS,
            vec![line(10, 2, 1210), line(11, 1, 545)],
            vec![payment(CARD, 2965)],
        ))
        .unwrap();
    s.lightspeed
        .add_sale(&sale(
            2001,
            AMS,
            vec![line(19, 1, 1500)],
            vec![payment(CARD, 1500)],
        ))
        .unwrap();
    s.lightspeed
        .add_sale(&sale(
            2002,
            AMS,
            vec![line(12, 1, 2000)],
            vec![payment(CARD, 2000)],
        ))
        .unwrap();
    s.lightspeed.void_sale(2002, "mistake").unwrap();
    let home = AwsHome::new(
        &s,
        Flow::Orders,
        Setup {
            settings: Some(settings(json!({"document_type": "posted_invoice"}))),
            wrap: Some(LosesTheFirstAnswer::wrapper()),
            ..Setup::default()
        },
    )
    .await;
    home.sync().await;

    let docs = documents(&s, "salesInvoices", "LS-2000");
    assert_eq!(docs.len(), 1, "{docs:#?}");
    assert_eq!(docs[0]["status"], "Open", "posted");
    let total = docs[0]["totalAmountIncludingTax"].as_f64().unwrap();
    assert_eq!((total * 100.0).round() as i64, 2965);
    assert_eq!(state(&home, 2000).await, "posted");
    assert!(documents(&s, "salesInvoices", "LS-2001").is_empty());
    assert_eq!(state(&home, 2001).await, "waiting");
    assert!(documents(&s, "salesInvoices", "LS-2002").is_empty());
    assert_eq!(state(&home, 2002).await, "voided");

    add_bc_item(&s, "X");
    home.sync().await;
    assert_eq!(documents(&s, "salesInvoices", "LS-2001").len(), 1);
    assert_eq!(state(&home, 2001).await, "posted");
    assert_eq!(documents(&s, "salesInvoices", "LS-2000").len(), 1);
}
