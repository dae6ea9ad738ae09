//! The client against the recorded and documented payloads, served byte for byte by a tiny
//! axum server (never a re-serialisation of our models): every quirk in them — strings for
//! numbers, one-vs-many relations, `""` relations, a single query result as an object, V2
//! `@attributes`, an HTML-typed error body — must decode, and the raw JSON of each record
//! must come back exactly as served.

// Helpers fail loudly like the tests they serve; clippy exempts only `#[test]` bodies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use futures::StreamExt;
use jiff::Timestamp;
use lsbc_lightspeed::model::{
    AccountId, Category, Customer, Image, Item, ItemMatrix, ItemShop, ItemType, PaymentKind, Sale,
    SaleLine, ShopId,
};
use lsbc_lightspeed::{
    ClientConfig, ErrorClass, LightspeedClient, LightspeedError, LocalLease, MemoryTokenStore,
    Query, TokenSet, normalize,
};
use rust_decimal::Decimal;
use secrecy::SecretString;
use serde_json::Value;

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/lightspeed")
        .join(name)
}

fn fixture(name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(fixture_path(name)).unwrap()).unwrap()
}

/// Which fixture answers which request.
fn route(path: &str, query: &str) -> Option<(&'static str, u16, &'static str)> {
    let json = "application/json";
    let file = match path.strip_prefix("/API/V3/Account/1/")? {
        "Item/22.json" => "rseries_item_get_single.docs.json",
        "Item/47.json" => "rseries_item_post_response_with_itemshops.docs.json",
        "Item/133.json" => "rseries_item_in_matrix_with_itemattributes_itemshops.docs.json",
        "Item/417.json" => "rseries_item_show_load_relations_all.vcr.json",
        "Item/177.json" => "rseries_item_box_show_load_relations_all.vcr.json",
        "ItemMatrix/2.json" => "rseries_itemmatrix_get_single.docs.json",
        "ItemMatrix/1.json" => "rseries_itemmatrix_show_load_relations_all.vcr.json",
        "Category.json" if query.contains("archived") => "rseries_category_index.vcr.json",
        "Category.json" => "rseries_category_list.docs.json",
        "Customer.json" => "rseries_customer_list_with_contact.docs.json",
        "Customer/11.json" => "rseries_customer_post_response.docs.json",
        "Customer/1.json" => "rseries_customer_show_load_relations_all.vcr.json",
        "Sale.json" if query.contains("timeStamp") => {
            "rseries_sale_query_timestamp_single_result_as_object.docs.json"
        }
        "Sale.json" => "rseries_sale_page_saleline_object_vs_array.vcr.json",
        "Sale/277.json" => "rseries_sale_create_response_with_lines_payments.docs.json",
        "Sale/4.json" => "rseries_sale_show_open_sale.vcr.json",
        "SaleLine.json" => "rseries_saleline_list.docs.json",
        "ItemShop/897.json" => "rseries_itemshop_get_single.docs.json",
        "Image/68.json" => "rseries_image_upload_response.docs.json",
        // The real error recording was served as text/html.
        "Category/999.json" => {
            return Some((
                "rseries_error_400.vcr.json",
                400,
                "text/html; charset=UTF-8",
            ));
        }
        _ => return None,
    };
    Some((file, 200, json))
}

async fn serve_fixture(uri: Uri) -> Response {
    match route(uri.path(), uri.query().unwrap_or("")) {
        Some((file, status, content_type)) => Response::builder()
            .status(status)
            .header("content-type", content_type)
            .body(Body::from(std::fs::read(fixture_path(file)).unwrap()))
            .unwrap(),
        None => Response::builder()
            .status(StatusCode::NOT_FOUND)
            .body(Body::from(format!("no fixture for {uri}")))
            .unwrap(),
    }
}

async fn start(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

fn client(base: &str) -> LightspeedClient {
    let now = Timestamp::now();
    let tokens = TokenSet::new(
        "fixture-token",
        "fixture-refresh",
        now,
        now + jiff::SignedDuration::from_hours(1),
    );
    let mut config = ClientConfig::new("client", SecretString::from("secret".to_owned()))
        .with_base(base)
        .unwrap();
    config.account_id = Some(AccountId::new(1));
    LightspeedClient::builder(
        config,
        Arc::new(MemoryTokenStore::new(Some(tokens))),
        Arc::new(LocalLease::default()),
    )
    .build()
    .unwrap()
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

#[tokio::test]
async fn items_decode_from_every_item_fixture() {
    let base = start(Router::new().fallback(serve_fixture)).await;
    let c = client(&base);

    let r = c.get::<Item>(22, &[]).await.unwrap();
    assert_eq!(
        r.raw,
        fixture("rseries_item_get_single.docs.json")["Item"],
        "raw kept verbatim"
    );
    let item = r.value.unwrap();
    assert_eq!(item.description, "Dell Screen 27 \"");
    assert_eq!(item.default_price(), Some(dec("500")));
    assert_eq!(item.price("msrp"), Some(dec("10")));
    assert_eq!(item.prices.len(), 3);
    assert_eq!(item.category_id.map(u64::from), Some(1));
    assert_eq!(item.item_matrix_id, None, "itemMatrixID 0 means none");
    assert!(item.tax && !item.archived && item.publish_to_ecom);
    assert_eq!(item.time_stamp, ts("2021-03-29T17:43:20Z"));

    let item = c
        .get::<Item>(47, &["ItemShops"])
        .await
        .unwrap()
        .value
        .unwrap();
    assert_eq!(item.item_shops.len(), 4);
    assert_eq!(item.item_shops.iter().filter(|s| s.is_summary()).count(), 1);
    assert_eq!(item.stock_in(ShopId::new(2)), Some(0));

    let item = c.get::<Item>(133, &[]).await.unwrap().value.unwrap();
    assert_eq!(item.item_matrix_id.map(u64::from), Some(20));
    assert_eq!(
        item.item_attributes.as_ref().unwrap().values(),
        vec!["White", "Small"]
    );
    let matrix = item.item_matrix.as_ref().unwrap();
    assert_eq!(
        matrix.attribute1_values,
        vec!["White"],
        "one value as a plain string"
    );
    assert_eq!(matrix.default_price(), Some(dec("20")));

    let item = c.get::<Item>(417, &[]).await.unwrap().value.unwrap();
    assert_eq!(item.upc, "0614121182479", "leading zero kept");
    assert_eq!(
        item.custom_field_values.len(),
        1,
        "single CustomFieldValue object"
    );
    assert_eq!(item.custom_field_values[0].kind, "url");
    assert_eq!(item.default_price(), Some(dec("4.39")));
    assert_eq!(
        item.item_shops.iter().map(|s| s.qoh).collect::<Vec<_>>(),
        vec![45, 45]
    );

    let item = c.get::<Item>(177, &[]).await.unwrap().value.unwrap();
    assert_eq!(item.item_type, ItemType::Box);
    assert_eq!(item.stock_in(ShopId::new(1)), Some(1045));
}

#[tokio::test]
async fn matrices_and_categories_decode() {
    let base = start(Router::new().fallback(serve_fixture)).await;
    let c = client(&base);
    let m = c.get::<ItemMatrix>(2, &[]).await.unwrap().value.unwrap();
    assert_eq!(m.attribute1_values, vec!["Black", "White"]);
    assert_eq!(m.attribute2_values, vec!["Small", "Medium", "Large"]);
    let m = c.get::<ItemMatrix>(1, &[]).await.unwrap().value.unwrap();
    assert_eq!(m.items.len(), 1, "Items.Item as a single object");
    assert_eq!(
        m.item_attribute_set.as_ref().unwrap().attribute_name2,
        "Size"
    );

    let page = c.page::<Category>(Query::new()).await.unwrap();
    assert_eq!(page.next, None, "empty next = last page");
    let cats = page.into_values().unwrap();
    assert_eq!(cats.len(), 3);
    assert_eq!(cats[2].path(), vec!["Misc", "Home"]);
    assert_eq!(cats[2].parent_id.map(u64::from), Some(2));
    assert_eq!(cats[0].parent_id, None);
    assert_eq!(
        cats[0].create_time, None,
        "the sample's 2021-02-29 is not a date"
    );
    assert!(cats[0].time_stamp.is_some());
    // The V2 recording (count/offset/limit attributes) decodes too.
    let old = c
        .page::<Category>(Query::new().archived(lsbc_lightspeed::Archived::Include))
        .await
        .unwrap();
    assert_eq!(old.records.len(), 7);
    assert!(old.records.iter().all(|r| r.value.is_ok()));
}

#[tokio::test]
async fn customers_decode_with_contacts_and_empty_relations() {
    let base = start(Router::new().fallback(serve_fixture)).await;
    let c = client(&base);
    let list = c
        .page::<Customer>(Query::new().relations(["Contact"]))
        .await
        .unwrap();
    let customers = list.into_values().unwrap();
    assert_eq!(customers.len(), 2);
    let t = &customers[0];
    assert_eq!(t.company, "Minotaurs R Us");
    assert!(t.is_company());
    assert_eq!(t.customer_type_id.map(u64::from), Some(2));
    // The docs sample has Cloudflare's obfuscated text (with a no-break space) as address.
    let sample = fixture("rseries_customer_list_with_contact.docs.json");
    let address = sample["Customer"][0]["Contact"]["Emails"]["ContactEmail"]["address"].as_str();
    assert_eq!(t.primary_email(), address);
    let contact = t.contact.as_ref().unwrap();
    assert_eq!(contact.phones[0].number, "360 555 2453");
    assert_eq!(contact.addresses[0].country_code, "CA");
    assert_eq!(contact.websites.len(), 1);
    assert_eq!(t.dob, Some(ts("2011-08-05T04:00:00Z")));

    let created = c
        .get::<Customer>(11, &["Contact"])
        .await
        .unwrap()
        .value
        .unwrap();
    assert!(created.emails().is_empty(), "\"Emails\": \"\"");
    assert_eq!(created.primary_email(), None);
    let contact = created.contact.unwrap();
    assert!(contact.phones.is_empty() && contact.websites.is_empty());
    assert_eq!(contact.addresses.len(), 1);
    assert!(contact.addresses[0].is_blank());
    assert_eq!(
        created.customer_type_id, None,
        "customerTypeID 0 means none"
    );

    let real = c.get::<Customer>(1, &[]).await.unwrap().value.unwrap();
    assert!(real.contact.as_ref().unwrap().no_email);
    assert_eq!(real.full_name(), "cust first cust last");
}

#[tokio::test]
async fn sales_decode_with_one_or_many_lines_and_payments() {
    let base = start(Router::new().fallback(serve_fixture)).await;
    let c = client(&base);
    // A query with one result answers with an object, not an array.
    let one = c
        .page::<Sale>(Query::new().ge("timeStamp", ts("2016-11-01T04:00:00Z")))
        .await
        .unwrap();
    assert_eq!(one.records.len(), 1);
    let sale = one.records[0].value.as_ref().unwrap();
    assert_eq!(sale.sale_id.get(), 248);
    assert_eq!(sale.calc_total, dec("11.49"));
    assert!(sale.sale_lines.is_empty() && sale.completed);

    let r = c
        .get::<Sale>(277, &["SaleLines", "SalePayments", "Customer"])
        .await
        .unwrap();
    assert_eq!(
        r.raw,
        fixture("rseries_sale_create_response_with_lines_payments.docs.json")["Sale"]
    );
    let sale = r.value.unwrap();
    assert_eq!(sale.sale_lines.len(), 2);
    assert_eq!(
        sale.sale_lines[0].calc_total,
        dec("11.4860025"),
        "exact, no float"
    );
    assert_eq!(sale.sale_payments.len(), 1, "single SalePayment object");
    let payment = &sale.sale_payments[0];
    assert_eq!(payment.amount, dec("34.48"));
    assert_eq!(
        payment.payment_type.as_ref().unwrap().kind,
        PaymentKind::Cash
    );
    assert_eq!(sale.paid(), sale.calc_total);
    assert_eq!(sale.customer.as_ref().unwrap().first_name, "Bramberson");
    assert_eq!(sale.update_time, Some(ts("2016-11-10T13:51:54Z")));
    assert!(
        sale.shop.as_ref().unwrap().tz().is_some(),
        "US/Eastern is a known zone"
    );
    assert!(!sale.is_refund());

    let page = c.page::<Sale>(Query::new()).await.unwrap();
    let sales = page.into_values().unwrap();
    assert_eq!(sales.len(), 3);
    assert_eq!(sales[0].sale_lines.len(), 1, "SaleLine as an object");
    assert_eq!(
        sales[0].sale_lines[0].item_id, None,
        "itemID 0: a line without an item"
    );
    assert_eq!(sales[0].sale_lines[0].note.as_ref().unwrap().note, "SKU-2");
    assert_eq!(sales[1].sale_lines.len(), 2, "SaleLine as an array");
    let nested = sales[1].sale_lines[1].item.as_ref().unwrap();
    assert_eq!(nested.custom_sku, "SKU-WHATEVER");
    assert!(sales[2].sale_payments.is_empty(), "absent SalePayments");

    let open = c.get::<Sale>(4, &[]).await.unwrap().value.unwrap();
    assert!(!open.completed && open.complete_time.is_none());

    let lines = c
        .page::<SaleLine>(Query::new())
        .await
        .unwrap()
        .into_values()
        .unwrap();
    assert_eq!(lines[0].unit_quantity, dec("2"));
    assert_eq!(lines[0].discount_percent, Some(dec("0.5")));
    assert_eq!(lines[0].calc_total, dec("51.73875"));
}

#[tokio::test]
async fn item_shops_images_and_errors() {
    let base = start(Router::new().fallback(serve_fixture)).await;
    let c = client(&base);
    let shop = c.get::<ItemShop>(897, &[]).await.unwrap().value.unwrap();
    assert!(shop.is_summary());
    assert_eq!(shop.qoh, 33);
    assert_eq!(shop.average_cost, Some(dec("17")));

    let image = c.get::<Image>(68, &[]).await.unwrap().value.unwrap();
    assert_eq!(
        image.url(None),
        "https://res.cloudinary.com/lightspeed-retail/image/upload/dsxcqjwl1s4j6ppmnmec.jpg"
    );
    assert_eq!(
        image.url(Some("w_300,h_200,c_limit")),
        "https://res.cloudinary.com/lightspeed-retail/image/upload/w_300,h_200,c_limit/dsxcqjwl1s4j6ppmnmec.jpg"
    );
    assert_eq!(image.item_id.map(u64::from), Some(835));

    let err = c.get::<Category>(999, &[]).await.unwrap_err();
    match &err {
        LightspeedError::Api { status, body, .. } => {
            assert_eq!(*status, 400);
            assert_eq!(body.message, "name cannot be blank.");
            assert_eq!(body.error_class.as_deref(), Some("Exception"));
        }
        other => panic!("expected an API error, got {other:?}"),
    }
    assert_eq!(err.class(), ErrorClass::Rejected);
    assert_eq!(c.stats().retries, 0, "a validation error is not retried");
}

#[tokio::test]
async fn decoding_is_a_pure_function_of_the_raw_json() {
    // What a later process does with the raw JSON it got from the queue.
    let raw = fixture("rseries_sale_page_saleline_object_vs_array.vcr.json");
    let second = &raw["Sale"][1];
    let sale = Sale::from_json(second).unwrap();
    assert_eq!(sale.sale_lines.len(), 2);
    let mut broken = second.clone();
    broken["SaleLines"]["SaleLine"][1]["unitPrice"] = Value::String("19,99".into());
    let err = Sale::from_json(&broken).unwrap_err();
    assert_eq!(err.path, "SaleLines.SaleLine[1].unitPrice");
    assert_eq!(err.entity, "Sale");
}

#[tokio::test]
async fn normalized_shapes_are_stable() {
    insta::assert_json_snapshot!(
        "customer_post_response_normalized",
        normalize(&fixture("rseries_customer_post_response.docs.json"))
    );
    insta::assert_json_snapshot!(
        "sale_page_normalized",
        normalize(&fixture(
            "rseries_sale_page_saleline_object_vs_array.vcr.json"
        ))
    );
}

/// Serves crafted pages whose `next` link repeats or leaves the API host.
async fn bad_links(uri: Uri) -> Response {
    let body = match uri.query().unwrap_or("") {
        q if q.contains("foreign") => {
            r#"{"@attributes":{"next":"http://elsewhere.invalid/API/V3/Account/1/Shop.json?after=x","previous":""},"Shop":{"shopID":"1","name":"A"}}"#
                .to_owned()
        }
        _ => format!(
            r#"{{"@attributes":{{"next":"{}/API/V3/Account/1/Shop.json?after=same","previous":""}},"Shop":{{"shopID":"1","name":"A"}}}}"#,
            BASE.get().unwrap()
        ),
    };
    Response::builder()
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap()
}

static BASE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

#[tokio::test]
async fn a_next_link_that_does_not_advance_or_leaves_the_host_stops_the_stream() {
    let base = start(Router::new().fallback(bad_links)).await;
    BASE.set(base.clone()).unwrap();
    let c = client(&base);
    let results: Vec<_> = c
        .pages::<lsbc_lightspeed::model::Shop>(Query::new())
        .collect()
        .await;
    assert_eq!(results.len(), 3, "two pages, then the error");
    assert!(results[0].is_ok() && results[1].is_ok());
    assert!(matches!(
        results[2],
        Err(LightspeedError::PagingStalled { .. })
    ));

    let results: Vec<_> = c
        .pages::<lsbc_lightspeed::model::Shop>(Query::new().param("foreign", "1"))
        .collect()
        .await;
    assert_eq!(results.len(), 2);
    assert!(matches!(
        results[1],
        Err(LightspeedError::ForeignLink { .. })
    ));
    assert_eq!(
        c.stats().requests,
        3,
        "the foreign link was never requested"
    );
}
