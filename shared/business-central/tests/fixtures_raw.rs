//! The client against BC's documented and captured payloads, served byte for byte by a tiny
//! axum server (never re-serialised), so decoding is tested on what BC sends.

// Helpers fail loudly like the tests they serve; clippy exempts only `#[test]` bodies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::Response;
use futures::TryStreamExt;
use lsbc_business_central::models::{
    ContactInformation, Customer, ItemLedgerEntry, Picture, SalesDocument,
};
use lsbc_business_central::{
    Atomicity, BatchOperation, BcError, BusinessCentral, BusinessCentralConfig, CompanyRef,
    EntitySet, ErrorClass, ErrorCode, Principal, Query, RetryPolicy,
};
use serde_json::Map;
use uuid::Uuid;

const TENANT: &str = "t1";
const ENV: &str = "Production";
const REBEL: &str = "3ab5c248-e72b-f011-9a4a-7c1e5275406f";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../../tests/fixtures/business-central/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// (method, path suffix after `api/v2.0/`) → (status, raw bytes).
type Answers = HashMap<(String, String), (u16, Vec<u8>)>;

/// Canned answers and a count of API hits.
#[derive(Clone, Default)]
struct Routes {
    map: Arc<Mutex<Answers>>,
    api_hits: Arc<AtomicUsize>,
}

impl Routes {
    fn on(&self, method: &str, path: &str, status: u16, body: Vec<u8>) -> &Self {
        self.map
            .lock()
            .unwrap()
            .insert((method.to_owned(), path.to_owned()), (status, body));
        self
    }
}

async fn serve(routes: Routes) -> String {
    let app = Router::new().fallback(move |request: Request| {
        let routes = routes.clone();
        async move {
            let path = request.uri().path().to_owned();
            if path.ends_with("/oauth2/v2.0/token") {
                return Response::new(Body::from(
                    r#"{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"fixture-token"}"#,
                ));
            }
            routes.api_hits.fetch_add(1, Ordering::SeqCst);
            let key = path
                .split_once("/api/v2.0/")
                .map(|(_, rest)| rest.to_owned())
                .unwrap_or_default();
            let found = routes
                .map
                .lock()
                .unwrap()
                .get(&(request.method().to_string(), key.clone()))
                .cloned();
            match found {
                Some((status, bytes)) => Response::builder()
                    .status(StatusCode::from_u16(status).unwrap())
                    .header("content-type", "application/json; odata.metadata=minimal")
                    .body(Body::from(bytes))
                    .unwrap(),
                None => Response::builder()
                    .status(404)
                    .body(Body::from(format!("no fixture for {key}")))
                    .unwrap(),
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn client(base: &str, company: CompanyRef) -> BusinessCentral {
    BusinessCentral::new(
        BusinessCentralConfig::online(TENANT, ENV, vec![Principal::new("app", "secret")], company)
            .with_api_base(base)
            .with_login_base(base)
            .with_retry(RetryPolicy {
                max_attempts: 3,
                base_delay: std::time::Duration::from_millis(5),
                ..RetryPolicy::default()
            }),
    )
    .unwrap()
}

#[tokio::test]
async fn companies_resolve_by_name_and_sales_orders_decode() {
    let routes = Routes::default();
    routes
        .on(
            "GET",
            "companies",
            200,
            fixture("fixture.rebelpl.companies.json"),
        )
        .on(
            "GET",
            &format!("companies({REBEL})/salesOrders"),
            200,
            fixture("fixture.rebelpl.salesOrders.json"),
        );
    let base = serve(routes.clone()).await;
    let bc = client(&base, CompanyRef::Name("Rebel".into()));
    assert_eq!(bc.company_id().await.unwrap().to_string(), REBEL);

    let orders: Vec<_> = bc
        .list(EntitySet::SalesOrders, Query::new())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(orders.len(), 3);
    assert!(orders.iter().all(|o| o.etag().is_some()));
    let order: SalesDocument = orders[2].decode().unwrap();
    assert_eq!(order.number, "SZA/25/000044");
    assert_eq!(order.lines.len(), 2);
    assert!(order.order_date.is_some());
    // `requestedDeliveryDate: "0001-01-01"` is blank; the typed model has no such field but
    // the record keeps it verbatim.
    assert_eq!(orders[0].str("requestedDeliveryDate"), Some("0001-01-01"));
    // Company lookup once, one page.
    assert_eq!(routes.api_hits.load(Ordering::SeqCst), 2);

    let unknown = client(&base, CompanyRef::Name("Nope".into()));
    assert!(matches!(
        unknown.company_id().await,
        Err(BcError::CompanyNotFound(_))
    ));
}

#[tokio::test]
async fn single_entities_decode_from_doc_samples() {
    let company = Uuid::new_v4();
    let customer = "f2a5738a-44e3-ea11-bb43-000d3a2feca1";
    let entry = "44a76d24-52ff-eb11-bb76-000d3a220646";
    let routes = Routes::default();
    routes
        .on(
            "GET",
            &format!("companies({company})/customers({customer})"),
            200,
            fixture("customer.get.response.json"),
        )
        .on(
            "GET",
            &format!("companies({company})/itemLedgerEntries({entry})"),
            200,
            fixture("itemLedgerEntry.get.response.json"),
        )
        .on(
            "GET",
            &format!("companies({company})/items({customer})/picture"),
            200,
            fixture("picture.get.response.json"),
        )
        .on(
            "GET",
            &format!("companies({company})/customers({customer})/contactsInformation"),
            200,
            fixture("contactsInformation.get.response.normalized.json"),
        );
    let bc = client(&serve(routes).await, CompanyRef::Id(company));
    let record = bc
        .get(
            EntitySet::Customers,
            customer.parse().unwrap(),
            &Query::new(),
        )
        .await
        .unwrap();
    let c: Customer = record.decode().unwrap();
    assert_eq!(
        (c.number.as_str(), c.email.as_str()),
        ("10000", "robert.townes@contoso.com")
    );

    let e: ItemLedgerEntry = bc
        .get(
            EntitySet::ItemLedgerEntries,
            entry.parse().unwrap(),
            &Query::new(),
        )
        .await
        .unwrap()
        .decode()
        .unwrap();
    assert_eq!(e.entry_number, 1);
    assert_eq!(e.document_number, "START-MANF");

    let p: Picture = bc.item_picture(customer.parse().unwrap()).await.unwrap();
    assert_eq!((p.width, p.content_type.as_str()), (400, "image/jpeg"));

    let info: Vec<ContactInformation> = bc
        .contacts_information(customer.parse().unwrap())
        .await
        .unwrap();
    assert_eq!(info.len(), 2);
    assert_eq!(info[1].contact_name, "Robert Townes");
}

#[tokio::test]
async fn error_fixtures_decode_to_typed_codes_and_classes() {
    let company = Uuid::new_v4();
    let cases = [
        (
            "error.application-dialogexception.manual-nos.json",
            400,
            ErrorCode::DialogException,
            ErrorClass::Rejected,
        ),
        (
            "error.badrequest-methodnotallowed.picture-post.json",
            405,
            ErrorCode::MethodNotAllowed,
            ErrorClass::Rejected,
        ),
        (
            "error.badrequest-notfound.wrong-segment.json",
            404,
            ErrorCode::NotFound,
            ErrorClass::Rejected,
        ),
        (
            "error.internal-companynotfound.json",
            400,
            ErrorCode::CompanyNotFound,
            ErrorClass::Rejected,
        ),
        (
            "error.internal-servererror.systemid.json",
            500,
            ErrorCode::ServerError,
            ErrorClass::Transient,
        ),
        (
            "error.requestdatainvalid.json",
            400,
            ErrorCode::RequestDataInvalid,
            ErrorClass::Rejected,
        ),
        (
            "error.batch-inner.unknown.json",
            400,
            ErrorCode::Unknown,
            ErrorClass::Rejected,
        ),
    ];
    for (file, status, code, class) in cases {
        let routes = Routes::default();
        routes.on(
            "POST",
            &format!("companies({company})/salesOrders"),
            status,
            fixture(file),
        );
        let bc = client(&serve(routes.clone()).await, CompanyRef::Id(company));
        let mut body = Map::new();
        body.insert("customerNumber".into(), "10000".into());
        let err = bc.create(EntitySet::SalesOrders, body).await.unwrap_err();
        assert_eq!(err.code(), Some(&code), "{file}");
        assert_eq!(err.class(), class, "{file}");
        // POSTs are never retried on these answers (500 included: AL errors repeat).
        assert_eq!(routes.api_hits.load(Ordering::SeqCst), 1, "{file}");
    }
    let routes = Routes::default();
    routes.on(
        "GET",
        &format!("companies({company})/salesOrders"),
        404,
        fixture("error.badrequest-notfound.wrong-segment.json"),
    );
    let bc = client(&serve(routes).await, CompanyRef::Id(company));
    let err = bc
        .list_page(EntitySet::SalesOrders, &Query::new())
        .await
        .unwrap_err();
    assert!(err.is_not_found());
    let api = err.api().unwrap();
    assert_eq!(
        api.message,
        "Resource not found for the segment 'CRONUS USA, Inc.'."
    );
}

#[tokio::test]
async fn batch_answers_decode_and_failed_atomic_batches_report_rollback() {
    let company: Uuid = REBEL.parse().unwrap();
    let routes = Routes::default();
    routes.on("POST", "$batch", 200, fixture("fixture.rebelpl.batch.json"));
    let bc = client(&serve(routes).await, CompanyRef::Id(company));
    let order: Uuid = "a417d159-d936-f011-9a4a-7c1e5271c536".parse().unwrap();
    let line = |n: &str| {
        let mut b = Map::new();
        b.insert("lineType".into(), "Item".into());
        b.insert("lineObjectNumber".into(), n.into());
        b.insert("quantity".into(), 2.into());
        BatchOperation::create(
            lsbc_business_central::EntityPath::nested(
                EntitySet::SalesOrders,
                order,
                EntitySet::SalesOrderLines,
            ),
            b,
        )
    };
    let answers = bc
        .batch(vec![line("1150"), line("1160")], Atomicity::All)
        .await
        .unwrap();
    assert_eq!(answers.len(), 2);
    assert!(
        answers
            .iter()
            .all(lsbc_business_central::BatchResponse::is_success)
    );
    let created = answers[1].record().unwrap();
    assert_eq!(created.str("lineObjectNumber"), Some("1160"));
    assert!(created.etag().is_some());
    assert!(answers[0].headers["location"].contains("salesOrderLines(32d80403"));

    let routes = Routes::default();
    routes.on(
        "POST",
        "$batch",
        200,
        fixture("batch.response.normalized.json"),
    );
    let bc = client(&serve(routes).await, CompanyRef::Id(company));
    let item: Uuid = "7ce0af2e-0963-460f-9b1f-0014aea3e117".parse().unwrap();
    let patch = |k: &str, v: &str| {
        let mut b = Map::new();
        b.insert(k.into(), v.into());
        BatchOperation::update(
            EntitySet::Items,
            item,
            lsbc_business_central::ETag::any(),
            b,
        )
    };
    let answers = bc
        .batch(
            vec![
                patch("displayName", "Touring Bicycle v2"),
                patch("displayName", "x"),
                patch("gtin", "1"),
            ],
            Atomicity::All,
        )
        .await
        .unwrap();
    assert!(answers[0].rolled_back && !answers[0].is_success());
    assert_eq!(answers[2].status, 400);
    assert_eq!(answers[2].error().unwrap().code, ErrorCode::Unknown);
}

#[tokio::test]
async fn subscription_answer_decodes() {
    let routes = Routes::default();
    routes.on(
        "POST",
        "subscriptions",
        201,
        fixture("fixture.rebelpl.subscription.json"),
    );
    let bc = client(&serve(routes).await, CompanyRef::Id(Uuid::new_v4()));
    let s = bc
        .create_subscription(
            "https://test.url/test/webhook",
            "api/v2.0/companies(a7f1d29f-b084-f011-a708-6045bd956d8a)/items",
            "testClientState",
        )
        .await
        .unwrap();
    assert_eq!(s.subscription_id, "270135334a7d433e9009dde078e9e29c");
    assert!(s.etag.is_some());
}

#[tokio::test]
async fn a_next_link_that_does_not_advance_ends_the_stream_with_an_error() {
    let company = Uuid::new_v4();
    let routes = Routes::default();
    let base = serve(routes.clone()).await;
    let self_link = format!("{base}/v2.0/{TENANT}/{ENV}/api/v2.0/companies({company})/items");
    let page = format!(
        r#"{{"value":[{{"@odata.etag":"W/\"a\"","id":"{}","number":"1"}}],"@odata.nextLink":"{self_link}"}}"#,
        Uuid::new_v4()
    );
    routes.on(
        "GET",
        &format!("companies({company})/items"),
        200,
        page.into_bytes(),
    );
    let bc = client(&base, CompanyRef::Id(company));
    let result: Result<Vec<_>, _> = bc.list(EntitySet::Items, Query::new()).try_collect().await;
    assert!(
        matches!(result, Err(BcError::PagingStalled { .. })),
        "{result:?}"
    );
    assert_eq!(routes.api_hits.load(Ordering::SeqCst), 1);
}
