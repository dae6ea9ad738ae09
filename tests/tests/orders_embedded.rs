//! The orders flow on the embedded home, against both simulators: the hard cases of
//! ORDERS-STOCK §9 (1, 2, 4, 5, 9, 10, 11, 12) with their numbers, each checked on what
//! Business Central holds afterwards.

// Test code: helpers outside `#[test]` fns too must stop the test with their message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use jiff::Timestamp;
use lsbc_core::ports::Outcome;
use lsbc_sandbox::lightspeed::SaleSeed;
use lsbc_tests::orders::{
    AMS, CARD, CASH, MTL, NYC, OrdersHome, ROUNDING, UTR, add_bc_item, line, payment, sale,
    settings, world,
};
use lsbc_tests::pipeline::LosesTheFirstAnswer;
use serde_json::{Value, json};

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn cents(v: &Value) -> i64 {
    (num(v) * 100.0).round() as i64
}

/// §9 case 1: mixed tax, a line discount and a sale discount; Lightspeed's shares of the
/// sale discount are taken as they are. A walk-in customer with prices including VAT gets
/// exactly Lightspeed's total; one with prices excluding VAT gets it too, or a rounding
/// line of at most 0.02.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn case_1_mixed_tax_and_discounts_to_the_cent() {
    let s = world().await;
    let mut a = line(10, 2, 1210);
    a.discount_percent_ppm = 100_000;
    for (id, shop) in [(100, AMS), (101, UTR)] {
        s.lightspeed
            .add_sale(&SaleSeed {
                discount_cents: 300,
                ..sale(
                    id,
                    shop,
                    vec![a.clone(), line(11, 1, 545)],
                    vec![payment(CARD, 2423)],
                )
            })
            .unwrap();
    }
    let h = OrdersHome::new(s.clone(), settings(json!({})), None).await;
    h.sync().await;

    let docs = h.documents("salesInvoices", 100);
    assert_eq!(
        docs.len(),
        1,
        "{:#?} {:?}",
        h.activity(100).await,
        h.state(100).await
    );
    let doc = &docs[0];
    assert_eq!(doc["customerNumber"], "C-POS");
    assert_eq!(doc["status"], "Draft");
    assert_eq!(
        cents(&doc["totalAmountIncludingTax"]),
        2423,
        "{doc:#} {:?} {:#?}",
        h.state(100).await,
        h.activity(100)
            .await
            .iter()
            .map(|e| (&e.message, &e.target))
            .collect::<Vec<_>>()
    );
    assert_eq!(cents(&doc["totalTaxAmount"]), 376);
    let lines = h.lines("salesInvoiceLines", &doc["id"]);
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert_eq!(lines[0]["lineObjectNumber"], "A");
    assert_eq!(cents(&lines[0]["quantity"]), 200);
    assert_eq!(cents(&lines[0]["unitPrice"]), 1210);
    assert_eq!(cents(&lines[0]["discountAmount"]), 482);
    assert_eq!(cents(&lines[1]["discountAmount"]), 60);
    assert_eq!(lines[0]["taxCode"], "STANDARD");
    assert_eq!(lines[1]["taxCode"], "REDUCED");
    let state = h.state(100).await.unwrap();
    assert_eq!(state.state, "created");

    // Net prices: the same total, a rounding line of at most 0.02 allowed.
    let docs = h.documents("salesInvoices", 101);
    assert_eq!(
        docs.len(),
        1,
        "one document: the first, made in the other basis, deleted"
    );
    let doc = &docs[0];
    assert_eq!(doc["customerNumber"], "C-NET");
    assert_eq!(doc["pricesIncludeTax"], false);
    assert_eq!(cents(&doc["totalAmountIncludingTax"]), 2423);
    let lines = h.lines("salesInvoiceLines", &doc["id"]);
    let rounding: Vec<&Value> = lines
        .iter()
        .filter(|l| l["lineObjectNumber"] == ROUNDING)
        .collect();
    assert!(rounding.len() <= 1);
    for r in rounding {
        assert!(cents(&r["unitPrice"]).abs() <= 2, "{r}");
    }
}

/// §9 case 2: stacked taxes. 29.99 at 5 % + 9.975 % is 34.48 in both; one 10.10 line is
/// 11.62 in Lightspeed (0.51 + 1.01) and 11.61 in BC (14.975 % at once): a rounding line of
/// 0.01, logged.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn case_2_stacked_taxes_and_a_rounding_line() {
    let s = world().await;
    s.lightspeed
        .add_sale(&sale(
            277,
            MTL,
            vec![line(16, 1, 999), line(17, 1, 2000)],
            vec![payment(CASH, 3448)],
        ))
        .unwrap();
    s.lightspeed
        .add_sale(&sale(
            278,
            MTL,
            vec![line(18, 1, 1010)],
            vec![payment(CASH, 1162)],
        ))
        .unwrap();
    let h = OrdersHome::new(s.clone(), settings(json!({})), None).await;
    h.sync().await;

    let doc = &h.documents("salesInvoices", 277)[0];
    assert_eq!(cents(&doc["totalAmountIncludingTax"]), 3448);
    assert_eq!(h.lines("salesInvoiceLines", &doc["id"]).len(), 2);

    let doc = &h.documents("salesInvoices", 278)[0];
    assert_eq!(cents(&doc["totalAmountIncludingTax"]), 1162);
    let lines = h.lines("salesInvoiceLines", &doc["id"]);
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert_eq!(lines[1]["lineType"], "Account");
    assert_eq!(lines[1]["lineObjectNumber"], ROUNDING);
    assert_eq!(cents(&lines[1]["unitPrice"]), 1);
    let log = h.activity(278).await;
    // The difference is in the activity log, among what the push sent.
    assert!(
        log.iter().any(|e| e
            .target
            .as_ref()
            .is_some_and(|t| t.to_string().contains("rounding line of 0.01"))),
        "{log:#?}"
    );
}

/// A difference beyond the tolerance holds the sale with both figures; the draft stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_difference_beyond_the_tolerance_holds_the_sale() {
    let s = world().await;
    s.lightspeed
        .add_sale(&sale(
            279,
            MTL,
            vec![line(18, 1, 1010)],
            vec![payment(CASH, 1162)],
        ))
        .unwrap();
    let h = OrdersHome::new(
        s.clone(),
        settings(json!({"rounding_tolerance": "0.00"})),
        None,
    )
    .await;
    h.sync().await;
    let state = h.state(279).await.unwrap();
    assert_eq!(state.state, "held", "{state:?}");
    assert!(
        state.reason.contains("11.61") && state.reason.contains("11.62"),
        "{}",
        state.reason
    );
    assert_eq!(h.documents("salesInvoices", 279).len(), 1);
    // Checked again on the next poll: still one draft, still held.
    h.sync().await;
    assert_eq!(h.documents("salesInvoices", 279).len(), 1);
    assert_eq!(h.state(279).await.unwrap().state, "held");
}

/// §9 case 9: the document date is the completion's day in the shop's time zone.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn case_9_dates_in_the_shop_s_time_zone() {
    let s = world().await;
    let at = |t: &str| Some(t.parse::<Timestamp>().unwrap());
    for (id, shop, completed) in [
        (900, NYC, "2026-02-01T04:30:00Z"),
        (901, NYC, "2026-08-01T03:30:00Z"),
        (902, AMS, "2026-01-31T23:30:00Z"),
    ] {
        s.lightspeed
            .add_sale(&SaleSeed {
                create_time: at(completed),
                complete_time: at(completed),
                time_stamp: at(completed),
                ..sale(id, shop, vec![line(12, 1, 2000)], vec![payment(CARD, 2000)])
            })
            .unwrap();
    }
    let h = OrdersHome::new(s.clone(), settings(json!({})), None).await;
    h.sync().await;
    for (id, day) in [
        (900, "2026-01-31"),
        (901, "2026-07-31"),
        (902, "2026-02-01"),
    ] {
        let doc = &h.documents("salesInvoices", id)[0];
        assert_eq!(doc["invoiceDate"], day, "sale {id}");
        assert_eq!(doc["postingDate"], day, "sale {id}");
    }
}

/// §9 case 12: a sale whose item is not in BC waits, naming it, while the others go on;
/// once the item exists it is made once, with its original date.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn case_12_a_missing_item_holds_only_its_sale() {
    let s = world().await;
    let completed = Some("2026-03-02T10:00:00Z".parse::<Timestamp>().unwrap());
    s.lightspeed
        .add_sale(&SaleSeed {
            complete_time: completed,
            ..sale(
                1200,
                AMS,
                vec![line(19, 1, 1500), line(12, 1, 2000)],
                vec![payment(CARD, 3500)],
            )
        })
        .unwrap();
    s.lightspeed
        .add_sale(&sale(
            1201,
            AMS,
            vec![line(12, 1, 2000)],
            vec![payment(CARD, 2000)],
        ))
        .unwrap();
    let h = OrdersHome::new(s.clone(), settings(json!({})), None).await;
    h.sync().await;
    assert!(h.documents("salesInvoices", 1200).is_empty());
    assert_eq!(h.documents("salesInvoices", 1201).len(), 1);
    let state = h.state(1200).await.unwrap();
    assert_eq!(state.state, "waiting");
    assert_eq!(state.reason, "missing items: X");
    let since = state.since;

    // Another poll: still waiting, tried once, nothing written, `since` kept.
    h.sync().await;
    let state = h.state(1200).await.unwrap();
    assert_eq!((state.state.as_str(), state.since), ("waiting", since));
    assert!(h.documents("salesInvoices", 1200).is_empty());

    add_bc_item(&s, "X");
    h.sync().await;
    let docs = h.documents("salesInvoices", 1200);
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0]["invoiceDate"], "2026-03-02");
    assert_eq!(cents(&docs[0]["totalAmountIncludingTax"]), 3500);
    assert_eq!(h.state(1200).await.unwrap().state, "created");
    h.sync().await;
    assert_eq!(h.documents("salesInvoices", 1200).len(), 1);
}

/// §9 case 11: the answer of the create is lost (BC committed, no link written), then the
/// state store is lost too: exactly one document, and later runs change nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn case_11_never_a_second_document() {
    let s = world().await;
    s.lightspeed
        .add_sale(&sale(
            1100,
            AMS,
            vec![line(12, 2, 2000)],
            vec![payment(CARD, 4000)],
        ))
        .unwrap();
    let h = OrdersHome::new(
        s.clone(),
        settings(json!({})),
        Some(LosesTheFirstAnswer::wrapper()),
    )
    .await;
    h.sync().await;
    assert_eq!(h.documents("salesInvoices", 1100).len(), 1);
    assert_eq!(h.state(1100).await.unwrap().state, "created");

    // The state store wiped: a new home on the same simulators.
    let writes = s.business_central.writes().len();
    let fresh = OrdersHome::new(s.clone(), settings(json!({})), None).await;
    fresh.sync().await;
    fresh.sync().await;
    assert_eq!(fresh.documents("salesInvoices", 1100).len(), 1);
    assert_eq!(s.business_central.writes().len(), writes, "no write at all");
    assert_eq!(fresh.state(1100).await.unwrap().state, "created");
}

/// §9 case 10: voids. Voided before the first poll → skipped and logged; a draft at void
/// time → deleted; a posted invoice → cancelled by a corrective credit memo.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn case_10_voids_before_and_after_sync() {
    let s = world().await;
    for id in [1000, 1001, 1002] {
        s.lightspeed
            .add_sale(&sale(
                id,
                AMS,
                vec![line(12, 1, 2000)],
                vec![payment(CARD, 2000)],
            ))
            .unwrap();
    }
    s.lightspeed.void_sale(1000, "mistake").unwrap();
    let drafts = OrdersHome::new(s.clone(), settings(json!({})), None).await;
    drafts.sync().await;
    assert!(drafts.documents("salesInvoices", 1000).is_empty());
    let state = drafts.state(1000).await.unwrap();
    assert_eq!(state.state, "voided");
    assert!(
        state.reason.contains("before it reached"),
        "{}",
        state.reason
    );
    let log = drafts.activity(1000).await;
    assert_eq!(log[0].outcome, Outcome::Skipped, "{log:#?}");

    assert_eq!(drafts.documents("salesInvoices", 1001).len(), 1);
    s.lightspeed.void_sale(1001, "wrong card").unwrap();
    drafts.sync().await;
    assert!(
        drafts.documents("salesInvoices", 1001).is_empty(),
        "draft deleted"
    );
    assert_eq!(drafts.state(1001).await.unwrap().state, "voided");

    // Posted invoices, on a home that posts.
    s.lightspeed
        .add_sale(&sale(
            1003,
            AMS,
            vec![line(12, 1, 2000)],
            vec![payment(CARD, 2000)],
        ))
        .unwrap();
    let posting = OrdersHome::new(
        s.clone(),
        settings(json!({"document_type": "posted_invoice"})),
        None,
    )
    .await;
    posting.sync().await;
    let doc = &posting.documents("salesInvoices", 1003)[0];
    assert_ne!(doc["status"], "Draft");
    assert_eq!(posting.state(1003).await.unwrap().state, "posted");
    s.lightspeed.void_sale(1003, "returned at once").unwrap();
    posting.sync().await;
    let doc = &posting.documents("salesInvoices", 1003)[0];
    assert_eq!(doc["status"], "Canceled");
    assert_eq!(posting.state(1003).await.unwrap().state, "credited");
    let memos: Vec<Value> = s
        .business_central
        .records("salesCreditMemos")
        .into_iter()
        .filter(|m| m["invoiceId"] == doc["id"])
        .collect();
    assert_eq!(memos.len(), 1, "one corrective credit memo");
}

/// §9 cases 4 and 5: a refund is a credit memo of the returned units; an exchange with a
/// total of at least zero is one invoice with a negative line; one below zero is a credit
/// memo and an invoice (never a negative invoice).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cases_4_and_5_refunds_and_exchanges() {
    let seed = |s: &lsbc_cli::sandboxes::Sandboxes| {
        s.lightspeed
            .add_sale(&sale(
                400,
                AMS,
                vec![line(12, 3, 2000)],
                vec![payment(CARD, 6000)],
            ))
            .unwrap();
        let refund = |sale_id: u64| {
            let mut l = line(12, -1, 2000);
            l.refunds = Some(lsbc_sandbox::lightspeed::LineOf { sale_id, line: 0 });
            l
        };
        s.lightspeed
            .add_sale(&sale(
                401,
                AMS,
                vec![refund(400)],
                vec![payment(CARD, -2000)],
            ))
            .unwrap();
        // Exchange, net +15: C returned, D taken.
        s.lightspeed
            .add_sale(&sale(
                500,
                AMS,
                vec![refund(400), line(13, 1, 3500)],
                vec![payment(CASH, 1500)],
            ))
            .unwrap();
    };

    // Drafts: the refund waits for the invoice it returns units of to be posted.
    let s = world().await;
    seed(&s);
    let drafts = OrdersHome::new(s.clone(), settings(json!({})), None).await;
    // A refund handled before its original sale waits for that sale's invoice, and is
    // tried again on the next poll.
    drafts.sync().await;
    drafts.sync().await;
    assert!(drafts.documents("salesCreditMemos", 401).is_empty());
    let state = drafts.state(401).await.unwrap();
    assert_eq!(state.state, "waiting");
    assert!(state.reason.contains("still a draft"), "{}", state.reason);

    // Posted invoices: the credit memo applies to the invoice of sale 400.
    let s = world().await;
    seed(&s);
    let h = OrdersHome::new(
        s.clone(),
        settings(json!({"document_type": "posted_invoice"})),
        None,
    )
    .await;
    h.sync().await;
    h.sync().await;
    let invoice = &h.documents("salesInvoices", 400)[0];
    assert_ne!(invoice["status"], "Draft");
    let memos = h.documents("salesCreditMemos", 401);
    assert_eq!(memos.len(), 1, "{memos:#?}");
    assert_eq!(memos[0]["invoiceId"], invoice["id"]);
    assert_eq!(cents(&memos[0]["totalAmountIncludingTax"]), 2000);
    let lines = h.lines("salesCreditMemoLines", &memos[0]["id"]);
    assert_eq!(
        (
            lines[0]["lineObjectNumber"].as_str(),
            cents(&lines[0]["quantity"])
        ),
        (Some("C"), 100)
    );
    assert_eq!(lines[0]["locationId"].as_str().map(str::len), Some(36));
    assert!(h.documents("salesInvoices", 401).is_empty());

    let inv = h.documents("salesInvoices", 500);
    assert_eq!(inv.len(), 1);
    assert_eq!(cents(&inv[0]["totalAmountIncludingTax"]), 1500);
    let lines = h.lines("salesInvoiceLines", &inv[0]["id"]);
    let quantities: Vec<i64> = lines.iter().map(|l| cents(&l["quantity"])).collect();
    assert_eq!(quantities, [-100, 100]);
}

/// §9 case 5, the other way: D 12.00 for C 20.00 back is a credit memo of C and an invoice
/// of D, both found again by their references.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn case_5_an_exchange_below_zero_is_a_credit_memo_and_an_invoice() {
    let s = world().await;
    s.lightspeed
        .add_sale(&sale(
            510,
            AMS,
            vec![line(12, 1, 2000)],
            vec![payment(CARD, 2000)],
        ))
        .unwrap();
    let mut back = line(12, -1, 2000);
    back.refunds = Some(lsbc_sandbox::lightspeed::LineOf {
        sale_id: 510,
        line: 0,
    });
    s.lightspeed
        .add_sale(&sale(
            511,
            AMS,
            vec![back, line(13, 1, 1200)],
            vec![payment(CASH, -800)],
        ))
        .unwrap();
    let h = OrdersHome::new(
        s.clone(),
        settings(json!({"document_type": "posted_invoice"})),
        None,
    )
    .await;
    h.sync().await;
    h.sync().await;
    let memos = h.documents("salesCreditMemos", 511);
    assert_eq!(memos.len(), 1);
    assert_eq!(cents(&memos[0]["totalAmountIncludingTax"]), 2000);
    let second: Vec<Value> = s
        .business_central
        .records("salesInvoices")
        .into_iter()
        .filter(|d| d["externalDocumentNumber"] == "LS-511-I")
        .collect();
    assert_eq!(second.len(), 1);
    assert_eq!(cents(&second[0]["totalAmountIncludingTax"]), 1200);
    assert_eq!(h.state(511).await.unwrap().state, "posted");
}

/// A sale edited after its document exists is a conflict, never overwritten; `lsbc orders
/// relink` replaces its draft with one from the sale as it is now.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_edit_after_the_document_is_a_conflict_until_relinked() {
    let s = world().await;
    s.lightspeed
        .add_sale(&sale(
            1300,
            AMS,
            vec![line(12, 1, 2000)],
            vec![payment(CARD, 2000)],
        ))
        .unwrap();
    let h = OrdersHome::new(s.clone(), settings(json!({})), None).await;
    h.sync().await;
    let first = h.documents("salesInvoices", 1300);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0]["customerPurchaseOrderReference"], "");

    s.lightspeed
        .set_field(
            lsbc_sandbox::lightspeed::Entity::Sale,
            1300,
            "referenceNumber",
            "WEB-77",
        )
        .unwrap();
    h.sync().await;
    let state = h.state(1300).await.unwrap();
    assert_eq!(state.state, "conflict", "{state:?}");
    let now = h.documents("salesInvoices", 1300);
    assert_eq!(now, first, "left as it was");

    let moved = lsbc_cli::orders::relink(h.states(), 1300, Timestamp::now())
        .await
        .unwrap();
    assert_eq!(moved, "conflict");
    h.sync().await;
    let again = h.documents("salesInvoices", 1300);
    assert_eq!(again.len(), 1, "{again:#?}");
    assert_eq!(again[0]["customerPurchaseOrderReference"], "WEB-77");
    assert_eq!(h.state(1300).await.unwrap().state, "created");
}

/// Where Lightspeed's docs leave a choice (a void moving `timeStamp` or archiving the sale,
/// `updateTime` spelt either way, inclusive amounts net or gross of tax), the flow does the
/// same: the discounted sale to the cent, and a void after sync deleting its draft.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_under_each_lightspeed_behaviour() {
    use lsbc_sandbox::lightspeed::{Behaviour, InclusiveAmounts, UpdateTimeKey};
    let behaviours = [
        Behaviour::default(),
        Behaviour {
            void_moves_timestamp: true,
            void_archives_sale: true,
            ..Behaviour::default()
        },
        Behaviour {
            update_time_key: UpdateTimeKey::Camel,
            inclusive_amounts: InclusiveAmounts::Gross,
            ..Behaviour::default()
        },
    ];
    for behaviour in behaviours {
        let s = lsbc_tests::orders::world_with(behaviour).await;
        let mut a = line(10, 2, 1210);
        a.discount_percent_ppm = 100_000;
        s.lightspeed
            .add_sale(&SaleSeed {
                discount_cents: 300,
                ..sale(
                    1400,
                    AMS,
                    vec![a, line(11, 1, 545)],
                    vec![payment(CARD, 2423)],
                )
            })
            .unwrap();
        s.lightspeed
            .add_sale(&sale(
                1401,
                AMS,
                vec![line(12, 1, 2000)],
                vec![payment(CARD, 2000)],
            ))
            .unwrap();
        let h = OrdersHome::new(s.clone(), settings(json!({})), None).await;
        h.sync().await;
        let doc = &h.documents("salesInvoices", 1400)[0];
        assert_eq!(
            cents(&doc["totalAmountIncludingTax"]),
            2423,
            "{behaviour:?}"
        );
        assert_eq!(h.documents("salesInvoices", 1401).len(), 1, "{behaviour:?}");
        s.lightspeed.void_sale(1401, "mistake").unwrap();
        h.sync().await;
        assert!(
            h.documents("salesInvoices", 1401).is_empty(),
            "{behaviour:?}"
        );
        assert_eq!(
            h.state(1401).await.unwrap().state,
            "voided",
            "{behaviour:?}"
        );
    }
}

/// The header's other sources: the shop and register as dimensions, the salesperson from
/// the employee, payment terms from the one tender; and a sale whose BC customer invoices
/// in another currency fails, naming both, leaving no document.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dimensions_salesperson_payment_terms_and_currency() {
    let s = world().await;
    let terms = s
        .business_central
        .add_payment_term(
            json!({"code": "CARD", "displayName": "Card", "dueDateCalculation": "0D"}),
        )
        .unwrap();
    s.business_central
        .add_customer(
            json!({"number": "C-USD", "displayName": "US walk-ins", "currencyCode": "USD"}),
        )
        .unwrap();
    s.lightspeed
        .add_sale(&sale(
            1500,
            AMS,
            vec![line(12, 1, 2000)],
            vec![payment(CARD, 2000)],
        ))
        .unwrap();
    s.lightspeed
        .add_sale(&sale(
            1501,
            UTR,
            vec![line(12, 1, 2000)],
            vec![payment(CARD, 2000)],
        ))
        .unwrap();
    let h = OrdersHome::new(
        s.clone(),
        settings(json!({
            "shop_dimension": {"dimension": 1, "values": {"1": "SALES"}},
            "register_dimension": {"dimension": 2, "values": {"1": "SMALL"}},
            "salespeople": {"1": "PS"},
            "payment_terms": {"2": terms["id"]},
            "currency_code": "EUR",
            "shops_settings": {UTR.to_string(): {"default_customer_number": "C-USD"}},
        })),
        None,
    )
    .await;
    h.sync().await;
    let doc = &h.documents("salesInvoices", 1500)[0];
    assert_eq!(doc["shortcutDimension1Code"], "SALES");
    assert_eq!(doc["shortcutDimension2Code"], "SMALL");
    assert_eq!(doc["salesperson"], "PS");
    assert_eq!(doc["paymentTermsId"], terms["id"]);

    assert!(
        h.documents("salesInvoices", 1501).is_empty(),
        "deleted again"
    );
    let log = h.activity(1501).await;
    assert_eq!(log[0].outcome, Outcome::Failed, "{log:#?}");
    assert!(
        log[0].message.contains("currency_code") && log[0].message.contains("USD"),
        "{}",
        log[0].message
    );
    let state = h.state(1501).await.unwrap();
    assert_eq!(state.state, "failed");
    assert!(
        state.reason.starts_with("currency_code:"),
        "{}",
        state.reason
    );
}

/// `document_type = order`: a sales order with its lines at the shop's location; voided,
/// the open order is deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn orders_as_sales_orders_and_their_void() {
    let s = world().await;
    s.lightspeed
        .add_sale(&sale(
            1600,
            AMS,
            vec![line(12, 2, 2000)],
            vec![payment(CARD, 4000)],
        ))
        .unwrap();
    let h = OrdersHome::new(s.clone(), settings(json!({"document_type": "order"})), None).await;
    h.sync().await;
    let orders = h.documents("salesOrders", 1600);
    assert_eq!(orders.len(), 1);
    assert_eq!(cents(&orders[0]["totalAmountIncludingTax"]), 4000);
    let lines = h.lines("salesOrderLines", &orders[0]["id"]);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["locationId"].as_str().map(str::len), Some(36));
    assert!(h.documents("salesInvoices", 1600).is_empty());
    s.lightspeed.void_sale(1600, "changed mind").unwrap();
    h.sync().await;
    assert!(h.documents("salesOrders", 1600).is_empty());
    assert_eq!(h.state(1600).await.unwrap().state, "voided");

    // Shipped and invoiced in Business Central, then voided: its posted invoice (a new
    // record carrying the order's number and our reference) is the sale's, and is cancelled.
    s.lightspeed
        .add_sale(&sale(
            1601,
            AMS,
            vec![line(12, 1, 2000)],
            vec![payment(CARD, 2000)],
        ))
        .unwrap();
    h.sync().await;
    let order = h.documents("salesOrders", 1601).remove(0);
    let bc =
        lsbc_business_central::BusinessCentral::new(s.business_central_secret().config().unwrap())
            .unwrap();
    bc.action(
        lsbc_business_central::EntitySet::SalesOrders,
        order["id"].as_str().unwrap().parse().unwrap(),
        "shipAndInvoice",
    )
    .await
    .unwrap();
    let invoice = h.documents("salesInvoices", 1601).remove(0);
    assert_eq!(invoice["orderNumber"], order["number"]);
    s.lightspeed.void_sale(1601, "returned").unwrap();
    h.sync().await;
    assert_eq!(h.documents("salesInvoices", 1601)[0]["status"], "Canceled");
    assert_eq!(h.state(1601).await.unwrap().state, "credited");
}

/// A posting Business Central refuses holds the sale with BC's message; once the setup is
/// fixed, the next poll posts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refused_posting_holds_the_sale_until_the_setup_is_fixed() {
    use lsbc_sandbox::business_central::PostingSetup;
    let s = world().await;
    let far = "2030-01-01".parse().unwrap();
    s.business_central.set_posting(PostingSetup {
        allowed_posting_dates: Some((far, far)),
        ..PostingSetup::default()
    });
    s.lightspeed
        .add_sale(&sale(
            1700,
            AMS,
            vec![line(12, 1, 2000)],
            vec![payment(CARD, 2000)],
        ))
        .unwrap();
    let h = OrdersHome::new(
        s.clone(),
        settings(json!({"document_type": "posted_invoice"})),
        None,
    )
    .await;
    h.sync().await;
    let state = h.state(1700).await.unwrap();
    assert_eq!(state.state, "held", "{state:?}");
    assert!(
        state.reason.contains("allowed posting dates"),
        "{}",
        state.reason
    );
    assert_eq!(h.documents("salesInvoices", 1700)[0]["status"], "Draft");

    s.business_central.set_posting(PostingSetup::default());
    h.sync().await;
    let docs = h.documents("salesInvoices", 1700);
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0]["status"], "Open");
    assert_eq!(h.state(1700).await.unwrap().state, "posted");
}

/// A document someone else made with the sale's reference: where BC keeps the ids the sync
/// chooses (so ours can be told apart), it is left alone and the sale skipped with an error
/// in the log; where it does not, it cannot be told apart and is linked as the sale's.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_document_someone_else_made_with_our_reference() {
    use lsbc_cli::sandboxes::SandboxOptions;
    use lsbc_sandbox::business_central::ClientIdAnswer;
    let s = world().await;
    let theirs = s
        .business_central
        .add_sales_invoice(json!({"customerNumber": "C-POS", "externalDocumentNumber": "LS-1800"}))
        .unwrap();
    s.lightspeed
        .add_sale(&sale(
            1800,
            AMS,
            vec![line(12, 1, 2000)],
            vec![payment(CARD, 2000)],
        ))
        .unwrap();
    // A first create teaches the sink how BC answers ids for invoices.
    s.lightspeed
        .add_sale(&sale(
            1801,
            AMS,
            vec![line(12, 1, 2000)],
            vec![payment(CARD, 2000)],
        ))
        .unwrap();
    let h = OrdersHome::new(s.clone(), settings(json!({})), None).await;
    h.sync().await;
    h.sync().await;
    let docs = h.documents("salesInvoices", 1800);
    assert_eq!(docs.len(), 1, "never a second document");
    assert_eq!(docs[0]["id"], theirs["id"]);
    if SandboxOptions::default().business_central_ids == ClientIdAnswer::Honoured {
        assert!(
            h.lines("salesInvoiceLines", &theirs["id"]).is_empty(),
            "left alone"
        );
        let log = h.activity(1800).await;
        assert!(
            log.iter().any(
                |e| e.outcome == Outcome::Skipped && e.message.contains("not made by the sync")
            ),
            "{log:#?}"
        );
    }
}

/// "Post with Job Queue": the invoice stays a draft after `post` (and the page may answer
/// 404 while the posting stays scheduled); the sale is `posting`, never asked to post twice,
/// and `posted` once the job queue has run.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn posting_in_the_background_is_waited_for() {
    use lsbc_sandbox::business_central::PostingSetup;
    for lookup_fails in [false, true] {
        let s = world().await;
        s.business_central.set_posting(PostingSetup {
            post_with_job_queue: true,
            job_queue_lookup_fails: lookup_fails,
            ..PostingSetup::default()
        });
        s.lightspeed
            .add_sale(&sale(
                1900,
                AMS,
                vec![line(12, 1, 2000)],
                vec![payment(CARD, 2000)],
            ))
            .unwrap();
        let h = OrdersHome::new(
            s.clone(),
            settings(json!({"document_type": "posted_invoice"})),
            None,
        )
        .await;
        h.sync().await;
        assert_eq!(
            h.state(1900).await.unwrap().state,
            "posting",
            "{lookup_fails}"
        );
        h.sync().await;
        assert_eq!(
            h.state(1900).await.unwrap().state,
            "posting",
            "{lookup_fails}"
        );
        assert_eq!(h.documents("salesInvoices", 1900)[0]["status"], "Draft");

        let ran = s.business_central.run_job_queue();
        assert_eq!(ran.len(), 1, "posting asked for once: {ran:?}");
        h.sync().await;
        let docs = h.documents("salesInvoices", 1900);
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0]["status"], "Open");
        assert_eq!(
            h.state(1900).await.unwrap().state,
            "posted",
            "{lookup_fails}"
        );
    }
}

/// The other line and customer rules: a named customer not synced yet is found or created
/// by the customers flow's own rules; a matrix variant is the BC item with its variant; a
/// line without an item goes to the fee account; a line note is a comment line.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn named_customers_variants_fees_and_notes() {
    use lsbc_connectors::products::{matrix_system_id, variant_system_id};
    use lsbc_sandbox::lightspeed::{AttributeSet, CustomerSeed, EmailSeed, ItemSeed, MatrixSeed};
    let s = world().await;
    let ls = &s.lightspeed;
    let customer = ls.add_customer(&CustomerSeed {
        first_name: "Fleur".into(),
        last_name: "de Vries".into(),
        emails: vec![EmailSeed {
            address: "fleur@example.nl".into(),
            use_type: "Primary".into(),
        }],
        ..CustomerSeed::default()
    });
    let matrix = ls
        .add_matrix(&MatrixSeed {
            description: "Tee".into(),
            attribute_set: AttributeSet::ColorSize,
            price_cents: 2500,
            attribute1_values: vec!["Red".into()],
            attribute2_values: vec!["M".into()],
            ..MatrixSeed::default()
        })
        .unwrap();
    let variant = ls
        .add_item(&ItemSeed {
            description: "Tee Red M".into(),
            matrix_id: Some(matrix),
            attributes: vec!["Red".into(), "M".into()],
            price_cents: 2500,
            tax: true,
            ..ItemSeed::default()
        })
        .unwrap();
    // As the products flow of a deployment on this account made them (SystemIds derived
    // from the account and the Lightspeed ids).
    let scope = lsbc_connectors::ids::IdScope::Account(ls.account_id().to_string());
    let bc = &s.business_central;
    let item = bc
        .add_item(
            json!({"id": matrix_system_id(&scope, matrix).to_string(), "number": "MATRIX-1",
            "displayName": "Tee", "taxGroupCode": "STANDARD"}),
        )
        .unwrap();
    let bc_variant = bc
        .add_item_variant(json!({"id": variant_system_id(&scope, variant).to_string(),
            "itemId": item["id"], "code": "RED-M"}))
        .unwrap();
    let mut noted = line(12, 1, 2000);
    noted.note = "Gift wrap, please".into();
    let fee = lsbc_sandbox::lightspeed::SaleLineSeed {
        quantity: 1,
        unit_price_cents: 1050,
        tax: true,
        note: "Environmental Fee".into(),
        line_type: "item_fee".into(),
        item_fee_id: Some(1),
        ..Default::default()
    };
    ls.add_sale(&SaleSeed {
        customer_id: Some(customer),
        ship_to: Some(lsbc_sandbox::lightspeed::ShipToSeed {
            first_name: "Fleur".into(),
            last_name: "de Vries".into(),
            address: lsbc_sandbox::lightspeed::AddressSeed {
                address1: "Prinsengracht 263".into(),
                city: "Amsterdam".into(),
                zip: "1016 GV".into(),
                country: "Netherlands".into(),
                country_code: "NL".into(),
                ..Default::default()
            },
            ..Default::default()
        }),
        ..sale(
            2100,
            AMS,
            vec![
                lsbc_sandbox::lightspeed::SaleLineSeed {
                    item_id: Some(variant),
                    quantity: 1,
                    unit_price_cents: 2500,
                    tax: true,
                    ..Default::default()
                },
                noted,
                fee,
            ],
            vec![payment(CARD, 5550)],
        )
    })
    .unwrap();
    let h = OrdersHome::new(s.clone(), settings(json!({})), None).await;
    h.sync().await;

    let docs = h.documents("salesInvoices", 2100);
    assert_eq!(docs.len(), 1, "{:#?}", h.activity(2100).await);
    let doc = &docs[0];
    let made: Vec<Value> = bc
        .customers()
        .into_iter()
        .filter(|c| c["email"] == "fleur@example.nl")
        .collect();
    assert_eq!(
        made.len(),
        1,
        "the customer, made by the customers flow's rules"
    );
    assert_eq!(doc["customerId"], made[0]["id"]);
    assert_eq!(cents(&doc["totalAmountIncludingTax"]), 5550);
    let lines = h.lines("salesInvoiceLines", &doc["id"]);
    let kinds: Vec<(&str, &str)> = lines
        .iter()
        .map(|l| {
            (
                l["lineType"].as_str().unwrap(),
                l["lineObjectNumber"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("Item", "MATRIX-1"),
            ("Item", "C"),
            ("Comment", ""),
            ("Account", "8100")
        ],
        "{lines:#?}"
    );
    assert_eq!(lines[0]["itemVariantId"], bc_variant["id"]);
    assert_eq!(lines[2]["description"], "Gift wrap, please");
    assert_eq!(doc["shipToName"], "Fleur de Vries");
    assert_eq!(doc["shipToAddressLine1"], "Prinsengracht 263");
    assert_eq!(doc["shipToCity"], "Amsterdam");
    assert_eq!(doc["shipToCountry"], "NL");
}

/// FIDELITY #10: what one poll of sales costs in Lightspeed's bucket, pinned. A list GET is
/// one drip, and each relation adds 0.1 (to-one) or 0.2 (to-many), doubled on a list or
/// under a to-many (docs introduction/relations, changelog 2026.03.17): `SaleLines` and
/// `SalePayments` 0.4 each, the eight others 0.2 each — 3.4 drips per page of up to 100
/// sales, whatever the page holds. With nothing waiting, the waiting stream costs nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_poll_of_sales_costs_what_the_docs_say() {
    let s = lsbc_tests::orders::world_metered(lsbc_sandbox::lightspeed::Behaviour::default(), true)
        .await;
    for id in 2200..2230 {
        s.lightspeed
            .add_sale(&sale(
                id,
                AMS,
                vec![line(12, 1, 2000)],
                vec![payment(CARD, 2000)],
            ))
            .unwrap();
    }
    let h = OrdersHome::new(s.clone(), settings(json!({})), None).await;
    let before = s.lightspeed.stats();
    h.sync().await;
    let after = s.lightspeed.stats();
    let requests = after.requests.requests - before.requests.requests;
    let drips = after.drips_used - before.drips_used;
    assert_eq!(requests, 1, "one request for the page");
    assert!((drips - 3.4).abs() < 1e-9, "{drips} drips");
}
