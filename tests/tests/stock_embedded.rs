//! The stock flow end to end on the embedded home, with the orders flow beside it (one
//! store): Business Central's ledger and sales orders against both simulators, each case
//! checked on Lightspeed's quantities on hand.

// Test code: helpers outside `#[test]` fns too must stop the test with their message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use lsbc_cli::sandboxes::Sandboxes;
use lsbc_core::ports::{ActivityLog, ActivityQuery, LinkStore, Outcome};
use lsbc_core::{Flow, RecordKey};
use lsbc_sandbox::business_central::LedgerSequence;
use lsbc_sandbox::lightspeed::{Behaviour, LayawayStock};
use lsbc_tests::orders::{
    AMS, CASH, NYC, line, payment, sale, settings, world_now as world, world_now_behaving,
};
use lsbc_tests::pipeline::{EmbeddedHome, Home, Setup};
use serde_json::{Value, json};

/// Lightspeed item `A` (Business Central item number `A`).
const A: u64 = 10;
/// Lightspeed item `B`.
const B: u64 = 11;

fn stock_settings(extra: Value) -> Value {
    let mut base = json!({
        "shops": {
            AMS.to_string(): {"locations": ["AMS"]},
            NYC.to_string(): {"locations": ["NYC"]},
        },
        "wait_for_orders_seconds": 1,
    });
    if let (Value::Object(b), Value::Object(e)) = (&mut base, extra) {
        for (k, v) in e {
            b.insert(k, v);
        }
    }
    base
}

/// Orders and stock on one embedded home.
async fn home(s: &Arc<Sandboxes>, orders: Value, stock: Value) -> EmbeddedHome {
    EmbeddedHome::with_flows(
        s,
        vec![
            (
                Flow::Orders,
                Setup {
                    settings: Some(settings(orders)),
                    ..Setup::default()
                },
            ),
            (
                Flow::Stock,
                Setup {
                    settings: Some(stock_settings(stock)),
                    ..Setup::default()
                },
            ),
        ],
    )
    .await
}

/// Lets a second pass (Lightspeed's times have whole seconds; the orders flow's read ends
/// a second before its poll), then syncs the orders flow and the stock flow.
async fn sync_both(h: &EmbeddedHome) {
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    h.sync_flow(Flow::Orders).await;
    h.sync_flow(Flow::Stock).await;
}

/// Lightspeed writes to item `item` so far.
fn writes_of(s: &Sandboxes, item: u64) -> usize {
    let path = format!("/Item/{item}.json");
    s.lightspeed
        .writes()
        .iter()
        .filter(|w| w.path.ends_with(&path))
        .count()
}

fn qoh(s: &Sandboxes, item: u64, shop: u64) -> i64 {
    s.lightspeed.stock(item, shop).unwrap_or(0)
}

fn location_id(s: &Sandboxes, code: &str) -> Value {
    s.business_central
        .records("locations")
        .into_iter()
        .find(|l| l["code"] == code)
        .expect("location")["id"]
        .clone()
}

#[tokio::test]
async fn every_entry_type_reaches_each_shop_from_its_own_locations() {
    every_entry_type_case(world().await).await;
}

/// The same where the stock writes move `Item.timeStamp` too (the docs leave it open:
/// README "Lightspeed simulator assumptions"): the stock flow reads `ItemShop`, so nothing
/// changes for it.
#[tokio::test]
async fn every_entry_type_reaches_each_shop_when_stock_writes_move_the_item() {
    every_entry_type_case(
        world_now_behaving(Behaviour {
            stock_moves_item_timestamp: true,
            ..Behaviour::default()
        })
        .await,
    )
    .await;
}

async fn every_entry_type_case(s: Arc<Sandboxes>) {
    let bc = &s.business_central;
    bc.post_purchase("A", 10.0, Some("AMS")).unwrap();
    bc.post_purchase("A", 4.0, Some("NYC")).unwrap();
    bc.post_adjustment("A", -1.0, Some("AMS")).unwrap();
    // A transfer AMS → NYC: one entry out, one in.
    bc.post_adjustment("A", -2.0, Some("AMS")).unwrap();
    bc.post_adjustment("A", 2.0, Some("NYC")).unwrap();
    bc.post_purchase("B", 3.5, Some("MTL")).unwrap();
    bc.post_purchase("B", 2.5, Some("AMS")).unwrap();
    let h = home(&s, json!({}), json!({"formula": "inventory"})).await;
    sync_both(&h).await;
    assert_eq!(qoh(&s, A, AMS), 7);
    assert_eq!(qoh(&s, A, NYC), 6);
    assert_eq!(qoh(&s, B, AMS), 2, "2.5 floored; MTL is not mapped");
    assert_eq!(qoh(&s, B, NYC), 0);
    // Unmapped locations and shops are warnings, kept with the item's audit.
    let link = LinkStore::get(h.store(), Flow::Stock, &RecordKey::parse("B").unwrap())
        .await
        .unwrap()
        .expect("B's link");
    let warnings = link.extra["warnings"].to_string();
    assert!(warnings.contains("location `MTL` holds 3.5"), "{warnings}");
    assert!(
        warnings.contains("Lightspeed shop 2 is not mapped"),
        "{warnings}"
    );

    // Nothing new: nothing read twice, nothing written.
    let writes = writes_of(&s, A);
    let report = h.run_once(Flow::Stock).await.unwrap();
    assert_eq!(report.sent, 0, "{report:?}");
    assert_eq!(writes_of(&s, A), writes);

    // One more movement: that item only, one write.
    bc.post_adjustment("A", -3.0, Some("NYC")).unwrap();
    sync_both(&h).await;
    assert_eq!(qoh(&s, A, NYC), 3);
    assert_eq!(writes_of(&s, A), writes + 1);
}

#[tokio::test]
async fn case_13_sales_bc_does_not_know_yet_are_subtracted_once() {
    let s = world().await;
    let bc = &s.business_central;
    bc.post_purchase("A", 10.0, Some("AMS")).unwrap();
    // An open sales order of 3 at AMS.
    bc.add_sales_order(json!({
        "customerNumber": "C-POS",
        "salesOrderLines": [{"lineType": "Item", "lineObjectNumber": "A", "quantity": 3,
                              "locationId": location_id(&s, "AMS")}],
    }))
    .unwrap();
    s.lightspeed.set_stock(A, AMS, 10).unwrap();
    // Two units sold in Lightspeed: draft invoices in BC (not posted: not in the ledger).
    s.lightspeed
        .add_sale(&sale(
            501,
            AMS,
            vec![line(A, 1, 1210)],
            vec![payment(CASH, 1210)],
        ))
        .unwrap();
    s.lightspeed
        .add_sale(&sale(
            502,
            AMS,
            vec![line(A, 1, 1210)],
            vec![payment(CASH, 1210)],
        ))
        .unwrap();
    assert_eq!(qoh(&s, A, AMS), 8, "Lightspeed took the sold units off");

    let h = home(&s, json!({"document_type": "invoice"}), json!({})).await;
    sync_both(&h).await;
    // inventory − outstanding − in flight: 10 − 3 − 2.
    assert_eq!(qoh(&s, A, AMS), 5);

    // Inventory alone: 10 − 2 in flight = 8 (what Lightspeed shows after the sales).
    let s = world().await;
    s.business_central
        .post_purchase("A", 10.0, Some("AMS"))
        .unwrap();
    s.lightspeed.set_stock(A, AMS, 10).unwrap();
    s.lightspeed.set_stock(A, NYC, 0).unwrap();
    s.lightspeed
        .add_sale(&sale(
            501,
            AMS,
            vec![line(A, 2, 1210)],
            vec![payment(CASH, 2420)],
        ))
        .unwrap();
    let h = home(
        &s,
        json!({"document_type": "invoice"}),
        json!({"formula": "inventory"}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    h.sync_flow(Flow::Orders).await;
    let writes = writes_of(&s, A);
    h.sync_flow(Flow::Stock).await;
    assert_eq!(qoh(&s, A, AMS), 8);
    assert_eq!(writes_of(&s, A), writes, "no write: already right");

    // Posted: the sale is in BC's ledger now, and no longer in flight.
    let h2 = home(
        &s,
        json!({"document_type": "posted_invoice"}),
        json!({"formula": "inventory"}),
    )
    .await;
    sync_both(&h2).await;
    assert_eq!(qoh(&s, A, AMS), 8);
}

#[tokio::test]
async fn entries_that_commit_late_or_leave_gaps_are_not_missed() {
    let s = world().await;
    let bc = &s.business_central;
    let h = home(&s, json!({}), json!({"formula": "inventory"})).await;
    h.sync_flow(Flow::Orders).await;
    bc.set_ledger_sequence(LedgerSequence {
        gap_every: 2,
        hold_commits: true,
    });
    // A long posting draws its number first and commits last.
    bc.post_purchase("B", 4.0, Some("AMS")).unwrap();
    bc.set_ledger_sequence(LedgerSequence {
        gap_every: 2,
        hold_commits: false,
    });
    bc.post_purchase("A", 6.0, Some("AMS")).unwrap();
    bc.post_purchase("A", 1.0, Some("NYC")).unwrap();
    sync_both(&h).await;
    assert_eq!(qoh(&s, A, AMS), 6);
    assert_eq!(qoh(&s, A, NYC), 1);
    let before = qoh(&s, B, AMS);
    assert_ne!(before, 4, "B's entry is not visible yet");

    // It commits below the numbers already read: the window reads it.
    assert_eq!(bc.commit_ledger().len(), 1);
    sync_both(&h).await;
    assert_eq!(qoh(&s, B, AMS), 4);
}

#[tokio::test]
async fn a_sale_made_after_the_orders_poll_holds_the_write_until_orders_reads_it() {
    let s = world().await;
    let bc = &s.business_central;
    bc.post_purchase("A", 10.0, Some("AMS")).unwrap();
    s.lightspeed.set_stock(A, AMS, 10).unwrap();
    let h = home(
        &s,
        json!({"document_type": "invoice"}),
        json!({"formula": "inventory"}),
    )
    .await;
    sync_both(&h).await;
    assert_eq!(qoh(&s, A, AMS), 10);

    // Lightspeed sells one after the orders flow's last read; BC receives 5 more.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    s.lightspeed
        .add_sale(&sale(
            601,
            AMS,
            vec![line(A, 1, 1210)],
            vec![payment(CASH, 1210)],
        ))
        .unwrap();
    bc.post_purchase("A", 5.0, Some("AMS")).unwrap();
    let report = h.run_once(Flow::Stock).await.unwrap();
    assert_eq!(report.updated, 0, "{report:?}");
    assert_eq!(
        qoh(&s, A, AMS),
        9,
        "the sale stands; BC's 15 is not written over it"
    );

    // Once the orders flow has read the sale, the write counts it: 15 − 1.
    sync_both(&h).await;
    assert_eq!(qoh(&s, A, AMS), 14);
}

#[tokio::test]
async fn the_stock_flow_does_not_start_before_the_orders_flow_and_skips_what_lightspeed_lacks() {
    let s = world().await;
    let bc = &s.business_central;
    bc.post_purchase("A", 2.0, Some("AMS")).unwrap();
    let h = home(&s, json!({}), json!({})).await;
    let err = h.run_once(Flow::Stock).await.unwrap_err().to_string();
    assert!(err.contains("orders flow"), "{err}");

    // An item Lightspeed does not have: skipped with its reason, the others go on.
    bc.add_item(
        json!({"number": "BC-ONLY", "displayName": "Only in BC", "taxGroupCode": "STANDARD"}),
    )
    .unwrap();
    bc.post_purchase("BC-ONLY", 3.0, Some("AMS")).unwrap();
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    h.sync_flow(Flow::Orders).await;
    let report = h.run_once(Flow::Stock).await.unwrap();
    assert_eq!(report.failed, 0, "{report:?}");
    assert!(report.skipped >= 1, "{report:?}");
    assert_eq!(qoh(&s, A, AMS), 2);
}

#[tokio::test]
async fn case_13_under_the_reserved_formula_reads_page_497_and_says_when_it_is_not_published() {
    let s = world().await;
    let bc = &s.business_central;
    bc.post_purchase("A", 10.0, Some("AMS")).unwrap();
    // Reserved 2 from inventory for an order; 3 outstanding in all (the LS-made order of 1
    // among them is BC's, never subtracted as in flight).
    bc.reserve_from_inventory("A", "", "AMS", 2.0, "101005")
        .unwrap();
    bc.add_sales_order(json!({
        "customerNumber": "C-POS",
        "salesOrderLines": [{"lineType": "Item", "lineObjectNumber": "A", "quantity": 3,
                              "locationId": location_id(&s, "AMS")}],
    }))
    .unwrap();
    s.lightspeed.set_stock(A, AMS, 8).unwrap();
    s.lightspeed.set_stock(A, NYC, 0).unwrap();
    for id in [701, 702] {
        s.lightspeed
            .add_sale(&sale(
                id,
                AMS,
                vec![line(A, 1, 1210)],
                vec![payment(CASH, 1210)],
            ))
            .unwrap();
    }
    let reserved = json!({"formula": "inventory_minus_reserved",
        "reserved_service": "ReservationEntries"});

    // Not published: every recompute of the item fails naming the page to publish.
    let h = home(&s, json!({"document_type": "invoice"}), reserved.clone()).await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    h.sync_flow(Flow::Orders).await;
    let report = h.run_once(Flow::Stock).await.unwrap();
    assert!(report.failed >= 1, "{report:?}");
    let failures = h
        .store()
        .query(&ActivityQuery {
            flow: Some(Flow::Stock),
            outcome: Some(Outcome::Failed),
            ..ActivityQuery::default()
        })
        .await
        .unwrap();
    assert!(
        failures.iter().any(|e| e.message.contains("page 497")),
        "{failures:?}"
    );

    // Published: 10 − 2 reserved − 2 in flight = 6, what Lightspeed shows: no write.
    bc.publish_reservation_entries(Some("ReservationEntries"));
    let h = home(&s, json!({"document_type": "invoice"}), reserved).await;
    let writes = writes_of(&s, A);
    sync_both(&h).await;
    assert_eq!(qoh(&s, A, AMS), 6);
    assert_eq!(
        writes_of(&s, A),
        writes,
        "no PUT: Lightspeed already shows 6"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sale_landing_between_the_read_and_the_write_is_found_in_the_log_and_counted() {
    use lsbc_sandbox::common::{FaultKind, FaultRule};
    let s = world().await;
    let bc = &s.business_central;
    bc.post_purchase("A", 10.0, Some("AMS")).unwrap();
    s.lightspeed.set_stock(A, AMS, 10).unwrap();
    s.lightspeed.set_stock(A, NYC, 0).unwrap();
    let h = home(
        &s,
        json!({"document_type": "invoice"}),
        json!({"formula": "inventory"}),
    )
    .await;
    sync_both(&h).await;
    assert_eq!(qoh(&s, A, AMS), 10);

    // BC receives 5; the write to Lightspeed is slow, and a sale lands while it waits.
    bc.post_purchase("A", 5.0, Some("AMS")).unwrap();
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    h.sync_flow(Flow::Orders).await;
    s.lightspeed.faults().add(
        FaultRule::always(FaultKind::Latency { millis: 1_500 })
            .on_method("PUT")
            .on_path(format!("Item/{A}")),
    );
    let sell = async {
        tokio::time::sleep(Duration::from_millis(700)).await;
        s.lightspeed
            .add_sale(&sale(
                901,
                AMS,
                vec![line(A, 1, 1210)],
                vec![payment(CASH, 1210)],
            ))
            .unwrap();
    };
    let (report, ()) = tokio::join!(h.run_once(Flow::Stock), sell);
    s.lightspeed.faults().clear();
    let report = report.unwrap();
    assert_eq!(
        report.updated, 0,
        "the overlapped write is not taken as done: {report:?}"
    );
    assert_eq!(qoh(&s, A, AMS), 15, "the slow write landed over the sale");

    // Once the orders flow has read the sale, the recompute counts it: 15 − 1.
    sync_both(&h).await;
    assert_eq!(qoh(&s, A, AMS), 14);
}

#[tokio::test]
async fn the_daily_sweep_corrects_what_no_change_explains() {
    use lsbc_core::Cursor;
    use lsbc_core::ports::CursorStore;
    let s = world().await;
    s.business_central
        .post_purchase("A", 10.0, Some("AMS"))
        .unwrap();
    let h = home(&s, json!({}), json!({"formula": "inventory"})).await;
    sync_both(&h).await;
    assert_eq!(qoh(&s, A, AMS), 10);
    assert_eq!(
        qoh(&s, B, AMS),
        0,
        "the first poll's sweep sets what BC does not stock"
    );

    // A count in Lightspeed: nothing in BC moved, so no poll recomputes A…
    s.lightspeed.set_stock(A, AMS, 99).unwrap();
    sync_both(&h).await;
    assert_eq!(qoh(&s, A, AMS), 99);
    // …until the next sweep (an operator starts one by resetting its cursor).
    let stored = h
        .store()
        .load(Flow::Stock, "StockSweep")
        .await
        .unwrap()
        .unwrap();
    h.store()
        .save(
            Flow::Stock,
            "StockSweep",
            &Cursor::default(),
            stored.revision,
        )
        .await
        .unwrap();
    sync_both(&h).await;
    assert_eq!(qoh(&s, A, AMS), 10);
    let link = LinkStore::get(h.store(), Flow::Stock, &RecordKey::parse("A").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(
        link.extra["cause"]
            .as_str()
            .unwrap()
            .starts_with("reconciliation sweep"),
        "{:?}",
        link.extra
    );
}

#[tokio::test]
async fn each_matrix_variant_shows_its_own_variant_code() {
    use lsbc_core::ports::Link;
    let s = world().await;
    let bc = &s.business_central;
    // BC item A as the products flow makes a matrix: variants RED and BLUE, each a
    // Lightspeed variant item (10 and 11); the link is the one the products flow keeps.
    let item = bc.items().into_iter().find(|i| i["number"] == "A").unwrap();
    for code in ["RED", "BLUE"] {
        bc.add_item_variant(json!({"itemId": item["id"], "code": code, "description": code}))
            .unwrap();
    }
    bc.post_variant_adjustment("A", "RED", 5.0, Some("AMS"))
        .unwrap();
    bc.post_variant_adjustment("A", "BLUE", 2.0, Some("AMS"))
        .unwrap();
    bc.post_variant_adjustment("A", "BLUE", 4.0, Some("NYC"))
        .unwrap();
    let h = home(
        &s,
        json!({}),
        json!({"formula": "inventory", "sweep_hour_utc": null}),
    )
    .await;
    let now = jiff::Timestamp::now();
    LinkStore::put(
        h.store(),
        &Link {
            flow: Flow::Products,
            key: RecordKey::parse("matrix:1:variants:1").unwrap(),
            target_id: item["id"].as_str().unwrap().to_owned(),
            etag: None,
            source_version: lsbc_core::SourceVersion::Timestamp(now),
            content_hash: lsbc_core::ContentHash::of_json(&json!(1)),
            match_key: None,
            extra: serde_json::from_value(json!({"variants": {
                "10": {"id": "00000000-0000-0000-0000-000000000001", "code": "RED"},
                "11": {"id": "00000000-0000-0000-0000-000000000002", "code": "BLUE"},
            }}))
            .unwrap(),
            updated_at: now,
        },
    )
    .await
    .unwrap();
    sync_both(&h).await;
    assert_eq!(qoh(&s, A, AMS), 5, "RED at AMS");
    assert_eq!(qoh(&s, A, NYC), 0, "RED at NYC");
    assert_eq!(qoh(&s, B, AMS), 2, "BLUE at AMS");
    assert_eq!(qoh(&s, B, NYC), 4, "BLUE at NYC");
}

#[tokio::test]
async fn an_item_lightspeed_keeps_no_stock_of_is_left_alone_unless_tracking_is_forced() {
    use lsbc_sandbox::lightspeed::Entity;
    const C: u64 = 12;
    let s = world().await;
    s.lightspeed
        .set_field(Entity::Item, C, "itemType", "non_inventory")
        .unwrap();
    s.business_central
        .post_purchase("C", 4.0, Some("AMS"))
        .unwrap();
    let settings = |force: bool| json!({"formula": "inventory", "sweep_hour_utc": null, "force_tracking": force});
    let h = home(&s, json!({}), settings(false)).await;
    sync_both(&h).await;
    assert_eq!(writes_of(&s, C), 0, "left alone");
    let link = LinkStore::get(h.store(), Flow::Stock, &RecordKey::parse("C").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(
        link.extra["warnings"]
            .to_string()
            .contains("keeps no stock"),
        "{:?}",
        link.extra
    );

    let h = home(&s, json!({}), settings(true)).await;
    sync_both(&h).await;
    let item = s.lightspeed.record(Entity::Item, C).unwrap();
    assert_eq!(item["itemType"], "default");
    assert_eq!(qoh(&s, C, AMS), 4);
}

#[tokio::test]
async fn units_on_layaway_are_not_brought_back() {
    // Lightspeed takes a layaway's units at creation (the default answer): subtracted.
    layaway_case(LayawayStock::AtCreation, true, 8).await;
    // Lightspeed takes them at pick-up: qoh keeps them, and so does the figure.
    layaway_case(LayawayStock::AtPickup, false, 10).await;
}

async fn layaway_case(when: LayawayStock, takes_stock: bool, shown: i64) {
    use lsbc_sandbox::lightspeed::SaleLineSeed;
    let s = world_now_behaving(Behaviour {
        layaway_stock: when,
        ..Behaviour::default()
    })
    .await;
    s.business_central
        .post_purchase("A", 10.0, Some("AMS"))
        .unwrap();
    s.lightspeed.set_stock(A, AMS, 10).unwrap();
    s.lightspeed.set_stock(A, NYC, 0).unwrap();
    // A layaway of 2; BC hears of it when it is picked up.
    let mut layaway = sale(
        950,
        AMS,
        vec![SaleLineSeed {
            layaway: true,
            ..line(A, 2, 1210)
        }],
        vec![],
    );
    let customer = s
        .lightspeed
        .add_customer(&lsbc_sandbox::lightspeed::CustomerSeed {
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            ..Default::default()
        });
    layaway.customer_id = Some(customer);
    s.lightspeed.add_sale(&layaway).unwrap();
    assert_eq!(qoh(&s, A, AMS), shown);
    let h = home(
        &s,
        json!({}),
        json!({"formula": "inventory", "sweep_hour_utc": null, "layaway_takes_stock": takes_stock}),
    )
    .await;
    sync_both(&h).await;
    assert_eq!(qoh(&s, A, AMS), shown, "{when:?}: 10 in BC, 2 on layaway");
    assert_eq!(writes_of(&s, A), 0, "{when:?}");
}

/// The warnings on the stock link of item `number`.
async fn warnings_of(h: &EmbeddedHome, number: &str) -> String {
    LinkStore::get(h.store(), Flow::Stock, &RecordKey::parse(number).unwrap())
        .await
        .unwrap()
        .unwrap()
        .extra["warnings"]
        .to_string()
}

/// An open order line of 2 BOX, a BOX of item A holding 12 (page 5404 "Item Units of
/// Measure"): without `units_service`, or with page 5404 not published, it counts as 2
/// base units with a warning naming the order line, item and unit; published, as 24.
#[tokio::test]
async fn an_order_line_in_another_unit_is_converted_by_page_5404() {
    let s = world().await;
    let bc = &s.business_central;
    bc.post_purchase("A", 30.0, Some("AMS")).unwrap();
    bc.set_item_unit_of_measure("A", "BOX", 12.0).unwrap();
    bc.add_sales_order(json!({
        "customerNumber": "C-POS",
        "salesOrderLines": [{"lineType": "Item", "lineObjectNumber": "A", "quantity": 2,
                              "unitOfMeasureCode": "BOX", "locationId": location_id(&s, "AMS")}],
    }))
    .unwrap();
    let units = |service: Option<&str>| match service {
        Some(name) => json!({"sweep_hour_utc": null, "units_service": name}),
        None => json!({"sweep_hour_utc": null}),
    };

    // No setting: 30 − 2, with a warning.
    let h = home(&s, json!({}), units(None)).await;
    sync_both(&h).await;
    assert_eq!(qoh(&s, A, AMS), 28);
    let warnings = warnings_of(&h, "A").await;
    assert!(
        warnings.contains("has 2 BOX of item A") && warnings.contains("units_service"),
        "{warnings}"
    );

    // The setting, page 5404 not published: the same figure, BC's not-found named.
    let h = home(&s, json!({}), units(Some("ItemUnitsofMeasure"))).await;
    sync_both(&h).await;
    assert_eq!(qoh(&s, A, AMS), 28);
    let warnings = warnings_of(&h, "A").await;
    assert!(
        warnings.contains("no web service `ItemUnitsofMeasure`"),
        "{warnings}"
    );
    let report = h.run_once(Flow::Stock).await.unwrap();
    assert_eq!(report.failed, 0, "never a failure: {report:?}");

    // Published: 30 − 2 × 12.
    bc.publish_item_units_of_measure(Some("ItemUnitsofMeasure"));
    let h = home(&s, json!({}), units(Some("ItemUnitsofMeasure"))).await;
    sync_both(&h).await;
    assert_eq!(qoh(&s, A, AMS), 6);
    let warnings = warnings_of(&h, "A").await;
    assert!(!warnings.contains("BOX"), "{warnings}");
}

/// A Lightspeed box (a six-pack of A: `ItemComponents`) sold, not posted in BC yet: the
/// six-pack was built from 12 singles at checkout, and the stock flow subtracts those 12
/// from A's figure while the sale is in flight; the box item itself gets no figure.
#[tokio::test]
async fn a_box_sold_in_lightspeed_is_subtracted_from_its_singles_while_in_flight() {
    use lsbc_sandbox::lightspeed::{ItemSeed, StockSeed};
    const SIX_PACK: u64 = 40;
    let s = world().await;
    let bc = &s.business_central;
    bc.post_purchase("A", 30.0, Some("AMS")).unwrap();
    bc.add_item(json!({"number": "A-6", "displayName": "Item A six-pack",
        "unitPrice": 60.0, "taxGroupCode": "STANDARD"}))
        .unwrap();
    // BC keeps a box item of its own (the products flow makes a Lightspeed box an
    // inventory item): its entry makes the stock flow look at the box.
    bc.post_purchase("A-6", 1.0, Some("AMS")).unwrap();
    s.lightspeed
        .add_item(&ItemSeed {
            id: Some(SIX_PACK),
            description: "Item A six-pack".into(),
            custom_sku: "A-6".into(),
            item_type: "box".into(),
            price_cents: 6000,
            tax: true,
            tax_class_id: Some(1),
            stock: vec![StockSeed {
                shop_id: AMS,
                qoh: 0,
            }],
            ..ItemSeed::default()
        })
        .unwrap();
    s.lightspeed.add_item_component(SIX_PACK, A, 6).unwrap();
    s.lightspeed.set_stock(A, AMS, 30).unwrap();
    s.lightspeed.set_stock(A, NYC, 0).unwrap();
    s.lightspeed
        .add_sale(&sale(
            801,
            AMS,
            vec![line(SIX_PACK, 2, 6000)],
            vec![payment(CASH, 12_000)],
        ))
        .unwrap();
    assert_eq!(qoh(&s, A, AMS), 18, "two boxes built from 12 singles");

    let h = home(&s, json!({"document_type": "invoice"}), json!({})).await;
    sync_both(&h).await;
    // 30 in BC − 12 in flight: what Lightspeed shows, no write.
    assert_eq!(qoh(&s, A, AMS), 18);
    assert_eq!(writes_of(&s, A), 0);
    assert_eq!(writes_of(&s, SIX_PACK), 0, "no figure onto the box");
    let warnings = warnings_of(&h, "A-6").await;
    assert!(warnings.contains("is a box"), "{warnings}");
}

#[tokio::test]
async fn a_count_made_in_lightspeed_is_named_when_a_write_overwrites_it() {
    let s = world().await;
    s.business_central
        .post_purchase("A", 10.0, Some("AMS"))
        .unwrap();
    s.lightspeed.set_stock(A, AMS, 3).unwrap();
    let h = home(
        &s,
        json!({}),
        json!({"formula": "inventory", "sweep_hour_utc": null}),
    )
    .await;
    sync_both(&h).await;
    assert_eq!(qoh(&s, A, AMS), 10);
    // Someone counts 12 in the shop; later BC posts a shrinkage of 1.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    s.lightspeed.set_stock(A, AMS, 12).unwrap();
    s.business_central
        .post_adjustment("A", -1.0, Some("AMS"))
        .unwrap();
    sync_both(&h).await;
    assert_eq!(qoh(&s, A, AMS), 9, "Business Central keeps the stock");
    let link = LinkStore::get(h.store(), Flow::Stock, &RecordKey::parse("A").unwrap())
        .await
        .unwrap()
        .unwrap();
    let warnings = link.extra["warnings"].to_string();
    assert!(
        warnings.contains("overwrites Lightspeed-side changes")
            && warnings.contains("Adjustment 2"),
        "{warnings}"
    );
}

/// A serialized item's figure (the docs don't say whether Lightspeed takes a `qoh` for it:
/// README "Lightspeed simulator assumptions"): stored, it is written like any item's;
/// refused, that item alone waits in the dead-letter queue with Lightspeed's reason while
/// the others are written.
#[tokio::test]
async fn a_serialized_item_is_written_or_waits_alone_with_the_reason() {
    for answer in [
        lsbc_sandbox::lightspeed::SerializedStock::Stored,
        lsbc_sandbox::lightspeed::SerializedStock::Refused,
    ] {
        let s = world_now_behaving(Behaviour {
            serialized_stock: answer,
            ..Behaviour::default()
        })
        .await;
        s.lightspeed
            .set_field(
                lsbc_sandbox::lightspeed::Entity::Item,
                B,
                "serialized",
                "true",
            )
            .unwrap();
        let bc = &s.business_central;
        bc.post_purchase("A", 6.0, Some("AMS")).unwrap();
        bc.post_purchase("B", 4.0, Some("AMS")).unwrap();
        let before = qoh(&s, B, AMS);
        let h = home(&s, json!({}), json!({"formula": "inventory"})).await;
        sync_both(&h).await;
        assert_eq!(qoh(&s, A, AMS), 6, "{answer:?}");
        let parked = h
            .queue()
            .receive_dead_letters(lsbc_core::QueueName::Push(Flow::Stock), 10)
            .await
            .unwrap();
        if answer == lsbc_sandbox::lightspeed::SerializedStock::Stored {
            assert_eq!(qoh(&s, B, AMS), 4);
            assert!(parked.is_empty(), "{parked:?}");
        } else {
            assert_eq!(qoh(&s, B, AMS), before, "left as it was");
            // The ledger entry's push and the first poll's sweep of B, nothing else.
            assert!(!parked.is_empty());
            for (message, reason) in &parked {
                assert!(message.body.contains(r#""key":"B""#), "{}", message.body);
                let reason = reason.clone().unwrap_or_default();
                assert!(reason.contains("Item 11 is serialized"), "{reason}");
            }
        }
    }
}
