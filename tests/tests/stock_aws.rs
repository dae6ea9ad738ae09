//! The stock flow end to end on the AWS home (the emulator's DynamoDB, SQS and Secrets
//! Manager; the Lambda handlers under the emulated event source mapping), beside the orders
//! flow on the same state table: Business Central's ledger and sales orders reach
//! Lightspeed's shops, a sale Business Central does not know yet is subtracted, and an
//! entry that commits late is still read.

// Test code: helpers outside `#[test]` fns too must stop the test with their message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use lsbc_core::Flow;
use lsbc_sandbox::business_central::LedgerSequence;
use lsbc_tests::orders::{AMS, CASH, NYC, line, payment, sale, settings, world_now};
use lsbc_tests::pipeline::{AwsHome, Setup};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ledger_entries_and_sales_reach_lightspeed_through_the_lambda_handlers() {
    let s = world_now().await;
    let bc = &s.business_central;
    let (a, b) = (10, 11);
    bc.post_purchase("A", 10.0, Some("AMS")).unwrap();
    bc.post_purchase("A", 4.0, Some("NYC")).unwrap();
    s.lightspeed.set_stock(a, AMS, 10).unwrap();
    s.lightspeed
        .add_sale(&sale(
            801,
            AMS,
            vec![line(a, 2, 1210)],
            vec![payment(CASH, 2420)],
        ))
        .unwrap();
    let home = AwsHome::with_flows(
        &s,
        vec![
            (
                Flow::Orders,
                Setup {
                    settings: Some(settings(json!({"document_type": "invoice"}))),
                    ..Setup::default()
                },
            ),
            (
                Flow::Stock,
                Setup {
                    settings: Some(json!({
                        "shops": {AMS.to_string(): {"locations": ["AMS"]},
                                  NYC.to_string(): {"locations": ["NYC"]}},
                        "formula": "inventory",
                        "wait_for_orders_seconds": 1,
                    })),
                    ..Setup::default()
                },
            ),
        ],
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    home.sync_flow(Flow::Orders).await;
    home.sync_flow(Flow::Stock).await;
    // 10 − 2 sold in Lightspeed and still a draft invoice in BC: Lightspeed's 8 stands.
    assert_eq!(s.lightspeed.stock(a, AMS), Some(8));
    assert_eq!(s.lightspeed.stock(a, NYC), Some(4));

    // A long posting's entry commits below the numbers already read.
    bc.set_ledger_sequence(LedgerSequence {
        gap_every: 3,
        hold_commits: true,
    });
    bc.post_purchase("B", 5.0, Some("NYC")).unwrap();
    bc.set_ledger_sequence(LedgerSequence {
        gap_every: 3,
        hold_commits: false,
    });
    bc.post_adjustment("A", -1.0, Some("NYC")).unwrap();
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    home.sync_flow(Flow::Orders).await;
    home.sync_flow(Flow::Stock).await;
    assert_eq!(s.lightspeed.stock(a, NYC), Some(3));
    assert_ne!(s.lightspeed.stock(b, NYC), Some(5));
    assert_eq!(bc.commit_ledger().len(), 1);
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    home.sync_flow(Flow::Orders).await;
    home.sync_flow(Flow::Stock).await;
    assert_eq!(s.lightspeed.stock(b, NYC), Some(5));
}
