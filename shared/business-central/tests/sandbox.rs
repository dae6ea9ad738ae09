//! The client against the Business Central sandbox (a stateful simulator built from the docs
//! and fixtures, not from this crate): paging, conflicts, deep inserts, `$batch`, pictures,
//! webhooks, validation before sending, limits and several principals.

// Helpers fail loudly like the tests they serve; clippy exempts only `#[test]` bodies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::TryStreamExt;
use lsbc_business_central::models::{Item, ItemLedgerEntry, SalesDocument};
use lsbc_business_central::webhook::{ChangeType, Target, parse_notifications, validation_token};
use lsbc_business_central::{
    Atomicity, BatchOperation, BcError, BusinessCentral, BusinessCentralConfig, CompanyRef, ETag,
    EntityPath, EntitySet, ErrorClass, ErrorCode, Filter, Limits, OnPremisesUser, Principal, Query,
    RetryPolicy, Rule,
};
use lsbc_sandbox::business_central::{
    BusinessCentralSandbox, BusinessCentralSandboxConfig, RateLimit, SandboxPrincipal,
};
use lsbc_sandbox::common::{FaultKind, FaultRule};
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;
use uuid::Uuid;

fn obj(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

fn principals(n: usize) -> Vec<SandboxPrincipal> {
    (1..=n)
        .map(|i| SandboxPrincipal::new(&format!("app-{i}"), &format!("secret-{i}")))
        .collect()
}

async fn sandbox(tweak: impl FnOnce(&mut BusinessCentralSandboxConfig)) -> BusinessCentralSandbox {
    let mut config = BusinessCentralSandboxConfig {
        principals: principals(3),
        ..BusinessCentralSandboxConfig::default()
    };
    tweak(&mut config);
    BusinessCentralSandbox::start(config).await.unwrap()
}

fn config(sb: &BusinessCentralSandbox, apps: usize) -> BusinessCentralConfig {
    BusinessCentralConfig::online(
        sb.tenant(),
        sb.environment(),
        (1..=apps)
            .map(|i| Principal::new(format!("app-{i}"), format!("secret-{i}")))
            .collect(),
        CompanyRef::Id(sb.company_id()),
    )
    .with_api_base(sb.base_url())
    .with_login_base(sb.base_url())
    .with_retry(RetryPolicy {
        max_attempts: 5,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(200),
        max_retry_after: Duration::from_secs(5),
    })
}

fn client(sb: &BusinessCentralSandbox, apps: usize) -> BusinessCentral {
    BusinessCentral::new(config(sb, apps)).unwrap()
}

#[tokio::test]
async fn paging_follows_next_links_over_more_records_than_a_page() {
    let sb = sandbox(|c| c.page_size = 7).await;
    for i in 0..50 {
        sb.add_item(json!({"number": format!("SKU-{i:03}"), "displayName": format!("Item {i}")}))
            .unwrap();
    }
    let bc = client(&sb, 1);
    let items: Vec<_> = bc
        .list(EntitySet::Items, Query::new())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(items.len(), 50);
    let mut numbers: Vec<_> = items
        .iter()
        .map(|r| r.str("number").unwrap().to_owned())
        .collect();
    numbers.dedup();
    assert_eq!(numbers.len(), 50, "no record twice");
    assert_eq!(sb.api_requests(), 8, "ceil(50 / 7) pages");

    // A filter travels inside the next link.
    let filtered = bc
        .list_all(
            EntitySet::Items,
            Query::new().filter(Filter::starts_with("number", "SKU-01")),
        )
        .await
        .unwrap();
    assert_eq!(filtered.len(), 10);

    // `$top` is one page without a link.
    let page = bc
        .list_page(EntitySet::Items, &Query::new().top(20))
        .await
        .unwrap();
    assert_eq!(page.records.len(), 7);
    assert!(page.next_link.is_none());
    // A smaller page on request.
    let page = bc
        .list_page(EntitySet::Items, &Query::new().max_page_size(3))
        .await
        .unwrap();
    assert_eq!(page.records.len(), 3);
    let next = bc
        .next_page(page.next_link.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(next.records[0].str("number"), Some("SKU-003"));
}

#[tokio::test]
async fn the_company_is_resolved_by_name_once() {
    let sb = sandbox(|_| {}).await;
    let mut cfg = config(&sb, 1);
    cfg.company = CompanyRef::Name("CRONUS".into());
    let bc = BusinessCentral::new(cfg).unwrap();
    assert_eq!(bc.company_id().await.unwrap(), sb.company_id());
    bc.list_page(EntitySet::Customers, &Query::new())
        .await
        .unwrap();
    assert_eq!(sb.api_requests(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_etag_conflicts_then_one_re_read_and_retry_succeeds() {
    let sb = sandbox(|_| {}).await;
    let bc = client(&sb, 1);
    let created = bc
        .create(
            EntitySet::Items,
            obj(json!({"number": "1896-S", "displayName": "ATHENS Desk", "unitPrice": 100})),
        )
        .await
        .unwrap();
    let id = created.id().unwrap();
    let stale = created.etag().unwrap().clone();
    // Someone else changes the record: our etag is stale now.
    bc.update(EntitySet::Items, id, &stale, obj(json!({"unitPrice": 120})))
        .await
        .unwrap();

    let mut calls = 0;
    let updated = bc
        .update_with(
            EntitySet::Items,
            id,
            &stale,
            obj(json!({"displayName": "ATHENS Desk v2"})),
            |fresh| {
                calls += 1;
                assert_eq!(fresh.get("unitPrice"), Some(&json!(120)));
                Some(obj(json!({"displayName": "ATHENS Desk v2"})))
            },
        )
        .await
        .unwrap();
    assert_eq!(calls, 1);
    let item: Item = updated.decode().unwrap();
    assert_eq!(item.display_name, "ATHENS Desk v2");
    assert_ne!(updated.etag(), Some(&stale));
    let statuses: Vec<_> = sb
        .writes()
        .iter()
        .map(|w| (w.method.clone(), w.status))
        .collect();
    assert_eq!(
        statuses,
        vec![
            ("POST".into(), 201),
            ("PATCH".into(), 200),
            ("PATCH".into(), 409),
            ("PATCH".into(), 200)
        ]
    );

    // Nothing left to change: the fresh record comes back without a second PATCH.
    let before = sb.writes().len();
    let fresh = bc
        .update_with(
            EntitySet::Items,
            id,
            &stale,
            obj(json!({"displayName": "x"})),
            |_| None,
        )
        .await
        .unwrap();
    assert_eq!(fresh.str("displayName"), Some("ATHENS Desk v2"));
    assert_eq!(sb.writes().len(), before + 1);

    // A second conflict is the caller's.
    let other = client(&sb, 1);
    let current = bc.get(EntitySet::Items, id, &Query::new()).await.unwrap();
    let err = bc
        .update_with(
            EntitySet::Items,
            id,
            &stale,
            obj(json!({"gtin": "1"})),
            |fresh| {
                let tag = fresh.etag().unwrap().clone();
                let other = other.clone();
                // Race: the record moves again between our re-read and our retry.
                tokio::task::block_in_place(|| {
                    tokio::runtime::Handle::current().block_on(async move {
                        other
                            .update(EntitySet::Items, id, &tag, obj(json!({"gtin": "2"})))
                            .await
                            .unwrap();
                    });
                });
                Some(obj(json!({"gtin": "1"})))
            },
        )
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Conflict);
    assert_eq!(err.code(), Some(&ErrorCode::EntityChanged));
    assert!(current.etag().is_some());
}

#[tokio::test]
async fn patch_and_delete_carry_if_match() {
    let sb = sandbox(|_| {}).await;
    let bc = client(&sb, 1);
    let c = bc
        .create(EntitySet::Customers, obj(json!({"displayName": "Adatum"})))
        .await
        .unwrap();
    let err = bc
        .delete(
            EntitySet::Customers,
            c.id().unwrap(),
            &ETag::new("W/\"JzE5OzE7MDA7Jw==\""),
        )
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Conflict);
    bc.delete(EntitySet::Customers, c.id().unwrap(), c.etag().unwrap())
        .await
        .unwrap();
    assert!(
        bc.get(EntitySet::Customers, c.id().unwrap(), &Query::new())
            .await
            .unwrap_err()
            .is_not_found()
    );
}

#[tokio::test]
async fn a_sales_order_with_lines_is_one_deep_insert() {
    let sb = sandbox(|c| {
        c.tax_rates.insert("STANDARD".into(), 20.0);
    })
    .await;
    sb.add_customer(json!({"displayName": "Adatum Corporation", "email": "a@adatum.test"}))
        .unwrap();
    sb.add_item(json!({"number": "1000", "displayName": "Bicycle", "unitPrice": 100, "taxGroupCode": "STANDARD"})).unwrap();
    sb.add_item(json!({"number": "1100", "displayName": "Wheel", "unitPrice": 10, "taxGroupCode": "STANDARD"})).unwrap();
    let bc = client(&sb, 1);
    let body = obj(json!({
        "customerNumber": "C00010",
        "externalDocumentNumber": "LS-4711",
        "salesOrderLines": [
            {"lineType": "Item", "lineObjectNumber": "1000", "quantity": 2},
            {"lineType": "Item", "lineObjectNumber": "1100", "quantity": 3, "unitPrice": 9.5, "discountPercent": 10}
        ]
    }));
    let record = bc.create(EntitySet::SalesOrders, body).await.unwrap();
    assert_eq!(sb.api_requests(), 1);
    let order: SalesDocument = record.decode().unwrap();
    assert!(order.number.starts_with("S-ORD"));
    assert_eq!(order.external_document_number, "LS-4711");
    assert_eq!(order.lines.len(), 2);
    assert!(
        order
            .lines
            .iter()
            .all(|l| !l.id.is_nil() && l.document_id == order.id)
    );
    assert_eq!(order.total_amount_excluding_tax.to_string(), "225.65");
    assert_eq!(order.total_amount_including_tax.to_string(), "270.78");

    // Found again by external document number.
    let found = bc
        .find_first(
            EntitySet::SalesOrders,
            Filter::eq("externalDocumentNumber", "LS-4711"),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id(), Some(order.id));

    // The order number is the series'; a manual one is refused as BC does.
    let err = bc
        .create(
            EntitySet::SalesOrders,
            obj(json!({"customerNumber": "C00010", "number": "X-1"})),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::DialogException));
    assert!(err.api().unwrap().message.contains("Manual Nos."));

    // A line for an unknown item fails the whole insert.
    let err = bc
        .create(
            EntitySet::SalesOrders,
            obj(json!({"customerNumber": "C00010", "salesOrderLines": [{"lineObjectNumber": "1000", "quantity": 1}, {"lineObjectNumber": "GONE", "quantity": 1}]})),
        )
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Rejected);
    assert_eq!(sb.sales_orders().len(), 1);
}

#[tokio::test]
async fn posting_an_invoice_moves_stock_through_the_ledger() {
    let sb = sandbox(|_| {}).await;
    sb.add_customer(json!({"displayName": "Walk-in"})).unwrap();
    sb.add_item(
        json!({"number": "1000", "displayName": "Bicycle", "unitPrice": 100, "unitCost": 60}),
    )
    .unwrap();
    sb.add_location(json!({"code": "EAST", "displayName": "East store"}))
        .unwrap();
    sb.post_adjustment("1000", 10.0, Some("EAST")).unwrap();
    let bc = client(&sb, 1);
    let invoice = bc
        .create(
            EntitySet::SalesInvoices,
            obj(json!({"customerNumber": "C00010", "salesInvoiceLines": [{"lineObjectNumber": "1000", "quantity": 3}]})),
        )
        .await
        .unwrap();
    bc.post_sales_invoice(invoice.id().unwrap()).await.unwrap();
    let posted: SalesDocument = bc
        .get(
            EntitySet::SalesInvoices,
            invoice.id().unwrap(),
            &Query::new(),
        )
        .await
        .unwrap()
        .decode()
        .unwrap();
    assert!(posted.number.starts_with("PS-INV"));

    let entries: Vec<ItemLedgerEntry> =
        bc.item_ledger_entries_after(1).try_collect().await.unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].entry_number, 2);
    assert_eq!(entries[0].quantity.to_string(), "-3");
    let item = bc
        .find_first(EntitySet::Items, Filter::eq("number", "1000"))
        .await
        .unwrap()
        .unwrap()
        .decode::<Item>()
        .unwrap();
    assert_eq!(item.inventory.to_string(), "7");
    assert_eq!(
        sb.ledger_entries()[0].location_code.as_deref(),
        Some("EAST")
    );
}

#[tokio::test]
async fn a_batch_of_100_is_one_request_and_atomic_batches_roll_back() {
    let sb = sandbox(|_| {}).await;
    let bc = client(&sb, 1);
    let ops: Vec<_> = (0..100)
        .map(|i| {
            BatchOperation::create(
                EntitySet::Items,
                obj(json!({"number": format!("B{i:03}"), "displayName": format!("Batch {i}")})),
            )
        })
        .collect();
    let answers = bc.batch(ops, Atomicity::Independent).await.unwrap();
    assert_eq!(answers.len(), 100);
    assert!(answers.iter().all(|a| a.status == 201 && a.is_success()));
    assert_eq!(answers[42].record().unwrap().str("number"), Some("B042"));
    assert_eq!(sb.api_requests(), 1);
    assert_eq!(sb.items().len(), 100);

    // Atomic: the duplicate fails, everything is rolled back.
    let ops = vec![
        BatchOperation::create(
            EntitySet::Items,
            obj(json!({"number": "NEW-1", "displayName": "New"})),
        ),
        BatchOperation::create(
            EntitySet::Items,
            obj(json!({"number": "B000", "displayName": "Duplicate"})),
        ),
    ];
    let answers = bc.batch(ops, Atomicity::All).await.unwrap();
    assert!(answers[0].rolled_back);
    assert_eq!(
        answers[1].error().unwrap().code,
        ErrorCode::EntityWithSameKeyExists
    );
    assert_eq!(sb.items().len(), 100);

    // Too many for one atomic request: refused before sending.
    let before = sb.api_requests();
    let ops: Vec<_> = (0..101)
        .map(|i| {
            BatchOperation::create(
                EntitySet::Items,
                obj(json!({"displayName": format!("x{i}")})),
            )
        })
        .collect();
    let err = bc.batch(ops.clone(), Atomicity::All).await.unwrap_err();
    assert!(matches!(err, BcError::Invalid(ref v) if matches!(v.rule, Rule::BatchTooLarge { .. })));
    assert_eq!(sb.api_requests(), before);
    // Split when atomicity is not asked for.
    let answers = bc.batch(ops, Atomicity::Independent).await.unwrap();
    assert_eq!(answers.len(), 101);
    assert_eq!(sb.api_requests(), before + 2);
}

#[tokio::test]
async fn an_item_picture_upload_is_a_patch_of_raw_bytes() {
    let sb = sandbox(|_| {}).await;
    let bc = client(&sb, 1);
    let item = bc
        .create(EntitySet::Items, obj(json!({"displayName": "Lamp"})))
        .await
        .unwrap();
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.extend_from_slice(&640_u32.to_be_bytes());
    png.extend_from_slice(&480_u32.to_be_bytes());
    png.extend_from_slice(&[0; 32]);
    let before = bc.item_picture(item.id().unwrap()).await.unwrap();
    assert_eq!(before.width, 0);
    bc.upload_item_picture(item.id().unwrap(), Bytes::from(png), before.etag.as_ref())
        .await
        .unwrap();
    let after = bc.item_picture(item.id().unwrap()).await.unwrap();
    assert_eq!(
        (after.width, after.height, after.content_type.as_str()),
        (640, 480, "image/png")
    );
    // The old picture etag is stale now.
    let err = bc
        .upload_item_picture(
            item.id().unwrap(),
            Bytes::from_static(b"GIF89a\x01\0\x01\0"),
            before.etag.as_ref(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Conflict);
}

/// A webhook receiver: echoes the validation token, forwards notification bodies.
async fn receiver(echo: bool) -> (String, mpsc::UnboundedReceiver<Vec<u8>>, Arc<AtomicUsize>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let handshakes = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&handshakes);
    let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let tx = tx.clone();
        let counter = Arc::clone(&counter);
        async move {
            if let Some(token) = request.uri().query().and_then(validation_token) {
                counter.fetch_add(1, Ordering::SeqCst);
                let body = if echo { token } else { "nope".to_owned() };
                return axum::response::Response::builder()
                    .header("content-type", "text/plain")
                    .body(axum::body::Body::from(body))
                    .unwrap();
            }
            let bytes = axum::body::to_bytes(request.into_body(), 1 << 20)
                .await
                .unwrap();
            let _ = tx.send(bytes.to_vec());
            axum::response::Response::new(axum::body::Body::empty())
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook"), rx, handshakes)
}

#[tokio::test]
async fn a_webhook_subscription_handshakes_notifies_renews_and_deletes() {
    let sb = sandbox(|c| {
        c.time_scale = 100.0;
    })
    .await;
    let bc = client(&sb, 1);
    let (url, mut notifications, handshakes) = receiver(true).await;
    let resource = bc
        .subscription_resource(EntitySet::Customers)
        .await
        .unwrap();
    let subscription = bc
        .create_subscription(&url, &resource, "s3cret-state")
        .await
        .unwrap();
    assert_eq!(handshakes.load(Ordering::SeqCst), 1);
    assert_eq!(subscription.subscription_id.len(), 32);
    let expires = subscription.expiration_date_time.unwrap();
    assert_eq!(
        expires.duration_since(sb.clock().now()).as_secs() / 3600,
        71,
        "3 days of API time"
    );

    let created = bc
        .create(
            EntitySet::Customers,
            obj(json!({"displayName": "Fabrikam"})),
        )
        .await
        .unwrap();
    // 30 s of API time at scale 100 is 0.3 s.
    let body = tokio::time::timeout(Duration::from_secs(5), notifications.recv())
        .await
        .unwrap()
        .unwrap();
    let parsed = parse_notifications(&body).unwrap();
    assert_eq!(parsed.len(), 1);
    assert_eq!(parsed[0].client_state, "s3cret-state");
    assert_eq!(parsed[0].change_type, ChangeType::Created);
    assert!(
        matches!(&parsed[0].target, Target::Entity { set, id, .. } if set == "customers" && Some(*id) == created.id())
    );

    let renewed = bc.renew_subscription(&subscription).await.unwrap();
    assert_eq!(handshakes.load(Ordering::SeqCst), 2);
    assert!(renewed.expiration_date_time.unwrap() > expires);
    assert_eq!(bc.subscriptions().await.unwrap().len(), 1);
    // The old etag is stale after the renewal.
    assert_eq!(
        bc.delete_subscription(&subscription)
            .await
            .unwrap_err()
            .class(),
        ErrorClass::Conflict
    );
    bc.delete_subscription(&renewed).await.unwrap();
    assert!(bc.subscriptions().await.unwrap().is_empty());

    // A receiver that does not echo the token gets no subscription.
    let (bad_url, _rx, bad_handshakes) = receiver(false).await;
    let err = bc
        .create_subscription(&bad_url, &resource, "x")
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Rejected);
    assert_eq!(bad_handshakes.load(Ordering::SeqCst), 1);
    assert!(bc.subscriptions().await.unwrap().is_empty());
}

#[tokio::test]
async fn invalid_input_is_refused_before_any_request() {
    let sb = sandbox(|_| {}).await;
    let bc = client(&sb, 1);
    let order_line_too_long = json!({"customerNumber": "C00010", "salesOrderLines": [{"lineObjectNumber": "1000", "description": "d".repeat(101)}]});
    let cases: Vec<(EntitySet, Value, &str)> = vec![
        (
            EntitySet::Customers,
            json!({"email": "x@y.z"}),
            "displayName",
        ),
        (
            EntitySet::Customers,
            json!({"displayName": "A", "city": "c".repeat(31)}),
            "city",
        ),
        (
            EntitySet::Customers,
            json!({"displayName": "A", "paymentTermsId": "10 DAYS"}),
            "paymentTermsId",
        ),
        (
            EntitySet::Customers,
            json!({"displayName": "A", "blocked": "Sometimes"}),
            "blocked",
        ),
        (
            EntitySet::Customers,
            json!({"displayName": "A", "balanceDue": 5}),
            "balanceDue",
        ),
        (
            EntitySet::Items,
            json!({"displayName": "A", "gtin": "123456789012345"}),
            "gtin",
        ),
        (
            EntitySet::Items,
            json!({"displayName": "A", "inventory": 5}),
            "inventory",
        ),
        (
            EntitySet::ItemVariants,
            json!({"itemNumber": "1000", "code": "TOO-LONG-CODE"}),
            "code",
        ),
        (
            EntitySet::ItemCategories,
            json!({"code": "c".repeat(21)}),
            "code",
        ),
        (
            EntitySet::SalesOrders,
            json!({"externalDocumentNumber": "1"}),
            "customerNumber",
        ),
        (
            EntitySet::SalesOrders,
            json!({"customerNumber": "C1", "externalDocumentNumber": "e".repeat(36)}),
            "externalDocumentNumber",
        ),
        (
            EntitySet::SalesOrders,
            order_line_too_long,
            "salesOrderLines[0].description",
        ),
        (EntitySet::ItemLedgerEntries, json!({}), ""),
    ];
    for (set, body, field) in cases {
        match bc.create(set, obj(body)).await {
            Err(BcError::Invalid(e)) => assert_eq!(e.field, field, "{set}"),
            other => panic!("{set}: {other:?}"),
        }
    }
    let id = Uuid::new_v4();
    let err = bc
        .update(
            EntitySet::SalesOrders,
            id,
            &ETag::any(),
            obj(json!({"salesOrderLines": []})),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, BcError::Invalid(ref e) if e.rule == Rule::DeepUpdate));
    let err = bc
        .list_page(
            EntitySet::Items,
            &Query::new().filter(Filter::eq("number; drop", "x")),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, BcError::Invalid(_)));
    assert_eq!(sb.api_requests(), 0, "the sandbox saw no request");
    assert_eq!(sb.stats().totals.requests, 0, "not even a token request");
}

#[tokio::test]
async fn throttling_with_retry_after_is_waited_out_and_counted() {
    // At time scale 20 the injected 429's `Retry-After` of one API second is 0.05 s.
    let sb = sandbox(|c| c.time_scale = 20.0).await;
    sb.faults().add(
        FaultRule::always(FaultKind::TooManyRequests)
            .on_path("/items")
            .times(2),
    );
    let bc = client(&sb, 1);
    let page = bc.list_page(EntitySet::Items, &Query::new()).await.unwrap();
    assert!(page.records.is_empty());
    let stats = &bc.stats()[0];
    assert_eq!((stats.requests, stats.throttled, stats.retries), (3, 2, 2));
    assert_eq!(sb.stats().principals["app-1"].throttled, 2);

    // 503 is retried; 500 is not.
    sb.faults().add(
        FaultRule::always(FaultKind::Status { status: 503 })
            .on_path("/customers")
            .times(1),
    );
    bc.list_page(EntitySet::Customers, &Query::new())
        .await
        .unwrap();
    sb.faults().add(
        FaultRule::always(FaultKind::Status { status: 500 })
            .on_path("/customers")
            .times(1),
    );
    let err = bc
        .list_page(EntitySet::Customers, &Query::new())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::ServerError));
    // A dropped connection on a GET is retried.
    sb.faults().add(
        FaultRule::always(FaultKind::Reset)
            .on_path("/customers")
            .times(1),
    );
    bc.list_page(EntitySet::Customers, &Query::new())
        .await
        .unwrap();
}

#[tokio::test]
async fn throttling_without_retry_after_backs_off_and_is_counted() {
    // BC documents no `Retry-After` on 429 (FIDELITY #13): the sandbox set to omit it, the
    // client falls back to its own exponential backoff and still gets through.
    let sb = sandbox(|c| {
        c.time_scale = 20.0;
        c.behaviour.retry_after_on_429 = false;
    })
    .await;
    sb.faults().add(
        FaultRule::always(FaultKind::TooManyRequests)
            .on_path("/items")
            .times(3),
    );
    let bc = client(&sb, 1);
    let page = bc.list_page(EntitySet::Items, &Query::new()).await.unwrap();
    assert!(page.records.is_empty());
    let stats = &bc.stats()[0];
    assert_eq!((stats.requests, stats.throttled, stats.retries), (4, 3, 3));
    assert_eq!(sb.stats().principals["app-1"].throttled, 3);

    // Beyond the retry budget the 429 surfaces as throttling, not as a success.
    sb.faults().add(
        FaultRule::always(FaultKind::TooManyRequests)
            .on_path("/customers")
            .times(10),
    );
    let err = bc
        .list_page(EntitySet::Customers, &Query::new())
        .await
        .unwrap_err();
    assert_eq!(err.api().map(|api| api.status), Some(429), "{err}");
    assert!(
        matches!(err.class(), ErrorClass::RateLimited { retry_after: None }),
        "{err}"
    );
}

#[tokio::test]
async fn pacing_keeps_a_principal_under_the_window() {
    // 20 requests per 0.5 s window per principal; 50 requests take two window turns.
    let sb = sandbox(|c| {
        c.rate_limit = RateLimit {
            requests: 20,
            window: Duration::from_millis(500),
            ..RateLimit::default()
        };
    })
    .await;
    let mut cfg = config(&sb, 1);
    cfg.limits = Limits {
        window: Duration::from_millis(500),
        window_requests: Some(20),
        ..Limits::online()
    };
    let bc = BusinessCentral::new(cfg).unwrap();
    let started = Instant::now();
    run_parallel(&bc, 50).await;
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(sb.stats().totals.throttled, 0);
}

#[tokio::test]
async fn several_principals_multiply_throughput() {
    // A window far longer than the test: one principal could send 20 of the 60 requests and
    // would then wait out two whole windows for the rest; three send all 60 at once.
    let window = Duration::from_mins(10);
    let sb = sandbox(|c| {
        c.rate_limit = RateLimit {
            requests: 20,
            window,
            ..RateLimit::default()
        };
    })
    .await;
    let mut cfg = config(&sb, 3);
    cfg.limits = Limits {
        window,
        window_requests: Some(20),
        ..Limits::online()
    };
    let bc = BusinessCentral::new(cfg).unwrap();
    assert_eq!(bc.principal_count(), 3);
    // Only a guard against hanging: the 60 requests need no wait at all with three
    // principals, and two 10-minute windows with one.
    tokio::time::timeout(Duration::from_mins(1), run_parallel(&bc, 60))
        .await
        .expect("60 requests over three principals need no window turn");
    let per: Vec<u64> = sb
        .stats()
        .principals
        .iter()
        .filter(|(name, _)| name.starts_with("app-"))
        .map(|(_, c)| c.requests)
        .collect();
    assert_eq!(per, vec![20, 20, 20]);
    assert_eq!(sb.stats().totals.throttled, 0);
    assert!(
        bc.stats()
            .iter()
            .all(|s| s.requests == 20 && s.throttled == 0)
    );
}

async fn run_parallel(bc: &BusinessCentral, n: usize) {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let bc = bc.clone();
            tokio::spawn(async move {
                bc.list_page(EntitySet::PaymentTerms, &Query::new())
                    .await
                    .unwrap()
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
}

#[tokio::test]
async fn an_expired_token_is_replaced_once() {
    let sb = sandbox(|_| {}).await;
    let bc = client(&sb, 1);
    bc.list_page(EntitySet::Items, &Query::new()).await.unwrap();
    // Everything answered minus API requests of known principals minus 401s: token requests.
    let token_requests = || {
        let stats = sb.stats();
        stats.totals.requests
            - sb.api_requests()
            - stats.totals.by_status.get(&401).copied().unwrap_or(0)
    };
    assert_eq!(token_requests(), 1);
    bc.list_page(EntitySet::Items, &Query::new()).await.unwrap();
    assert_eq!(token_requests(), 1, "cached");
    sb.clock().advance(Duration::from_hours(1));
    bc.list_page(EntitySet::Items, &Query::new()).await.unwrap();
    assert_eq!(token_requests(), 2);
    assert_eq!(sb.stats().totals.by_status.get(&401), Some(&1));

    let mut cfg = config(&sb, 1);
    cfg.deployment = lsbc_business_central::Deployment::Online {
        tenant: sb.tenant().to_owned(),
        environment: sb.environment().to_owned(),
        principals: vec![Principal::new("app-1", "wrong")],
    };
    let err = BusinessCentral::new(cfg)
        .unwrap()
        .list_page(EntitySet::Items, &Query::new())
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Auth);
    assert!(!format!("{err:?}").contains("wrong"));
}

#[tokio::test]
async fn on_premises_uses_basic_auth_with_the_access_key() {
    let sb = sandbox(|_| {}).await;
    sb.add_item(json!({"displayName": "Desk"})).unwrap();
    let cfg = BusinessCentralConfig::on_premises(
        sb.on_premises_url(),
        OnPremisesUser::new("ADMIN", "access-key-1"),
        CompanyRef::Name("CRONUS".into()),
    );
    let bc = BusinessCentral::new(cfg).unwrap();
    let items = bc.list_all(EntitySet::Items, Query::new()).await.unwrap();
    assert_eq!(items.len(), 1);
    let bad = BusinessCentral::new(BusinessCentralConfig::on_premises(
        sb.on_premises_url(),
        OnPremisesUser::new("ADMIN", "nope"),
        CompanyRef::Id(sb.company_id()),
    ))
    .unwrap();
    let err = bad
        .list_page(EntitySet::Items, &Query::new())
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Auth);
}

#[tokio::test]
async fn variants_contacts_and_lookups_by_one_field_or() {
    let sb = sandbox(|_| {}).await;
    let bc = client(&sb, 1);
    let item = bc
        .create(
            EntitySet::Items,
            obj(json!({"number": "TSHIRT", "displayName": "T-shirt"})),
        )
        .await
        .unwrap();
    for code in ["S", "M", "L"] {
        bc.create(
            EntityPath::nested(
                EntitySet::Items,
                item.id().unwrap(),
                EntitySet::ItemVariants,
            ),
            obj(json!({"code": code, "description": format!("Size {code}")})),
        )
        .await
        .unwrap();
    }
    let variants = bc
        .list_all(
            EntityPath::nested(
                EntitySet::Items,
                item.id().unwrap(),
                EntitySet::ItemVariants,
            ),
            Query::new(),
        )
        .await
        .unwrap();
    assert_eq!(variants.len(), 3);
    let some = bc
        .list_all(
            EntitySet::ItemVariants,
            Query::new().filter(Filter::any_of("code", ["S", "L"]).unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(some.len(), 2);

    let customer = bc
        .create(
            EntitySet::Customers,
            obj(json!({"displayName": "Adatum Corporation", "type": "Company"})),
        )
        .await
        .unwrap();
    let company_contact = bc
        .contacts_information(customer.id().unwrap())
        .await
        .unwrap();
    assert_eq!(company_contact.len(), 1);
    bc.create(
        EntitySet::Contacts,
        obj(json!({"displayName": "Robert Townes", "type": "Person", "companyNumber": company_contact[0].contact_number, "email": "robert@adatum.test"})),
    )
    .await
    .unwrap();
    let info = bc
        .contacts_information(customer.id().unwrap())
        .await
        .unwrap();
    assert_eq!(info.len(), 2);
    assert_eq!(info[1].contact_name, "Robert Townes");
}
