//! What the Business Central sandbox enforces, over HTTP with a plain client: concurrency
//! tokens, read-only numbers, pictures, deep updates, OData filter quirks, paging, `$batch`
//! (atomicity and both ways of counting it), rate limits, tokens, on-premises auth, webhooks,
//! inventory and fault injection.

// Helpers fail loudly like the tests they serve; clippy exempts only `#[test]` bodies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use lsbc_sandbox::business_central::{
    BusinessCentralSandbox, BusinessCentralSandboxConfig, RateLimit, WebhookSettings,
};
use lsbc_sandbox::common::{FaultKind, FaultRule};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

struct Api {
    http: reqwest::Client,
    root: String,
    company: String,
    token: String,
    sandbox: BusinessCentralSandbox,
}

async fn token(
    http: &reqwest::Client,
    sandbox: &BusinessCentralSandbox,
    id: &str,
    secret: &str,
) -> reqwest::Response {
    http.post(format!(
        "{}/{}/oauth2/v2.0/token",
        sandbox.base_url(),
        sandbox.tenant()
    ))
    .form(&[
        ("grant_type", "client_credentials"),
        ("client_id", id),
        ("client_secret", secret),
        ("scope", "https://api.businesscentral.dynamics.com/.default"),
    ])
    .send()
    .await
    .unwrap()
}

impl Api {
    async fn start(tweak: impl FnOnce(&mut BusinessCentralSandboxConfig)) -> Self {
        let mut config = BusinessCentralSandboxConfig::default();
        tweak(&mut config);
        let sandbox = BusinessCentralSandbox::start(config).await.unwrap();
        let http = reqwest::Client::new();
        let answer: Value = token(&http, &sandbox, "lsbc-app-1", "secret-1")
            .await
            .json()
            .await
            .unwrap();
        Self {
            root: sandbox.api_root(),
            company: format!("companies({})", sandbox.company_id()),
            token: answer["access_token"].as_str().unwrap().to_owned(),
            http,
            sandbox,
        }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else if path.starts_with("$batch") || path.starts_with("subscriptions") {
            format!("{}/{path}", self.root)
        } else {
            format!("{}/{}/{path}", self.root, self.company)
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut request = self
            .http
            .request(method, self.url(path))
            .bearer_auth(&self.token);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        (
            status,
            headers,
            serde_json::from_str(&text).unwrap_or(Value::Null),
        )
    }

    async fn ok(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Value {
        let (status, _, body) = self.send(method.clone(), path, body, headers).await;
        assert!(status.is_success(), "{method} {path}: {status} {body}");
        body
    }

    async fn fails(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (u16, String, String) {
        let (status, _, body) = self.send(method.clone(), path, body, headers).await;
        assert!(!status.is_success(), "{method} {path} should fail: {body}");
        let message = body["error"]["message"].as_str().unwrap_or("").to_owned();
        assert!(message.contains("CorrelationId:"), "{message}");
        (
            status.as_u16(),
            body["error"]["code"].as_str().unwrap_or("").to_owned(),
            message,
        )
    }
}

#[tokio::test]
async fn if_match_is_required_stale_etags_conflict_and_star_matches() {
    let api = Api::start(|_| {}).await;
    let item = api
        .ok(
            Method::POST,
            "items",
            Some(json!({"displayName": "Desk"})),
            &[],
        )
        .await;
    let path = format!("items({})", item["id"].as_str().unwrap());
    let tag = item["@odata.etag"].as_str().unwrap().to_owned();
    let (status, code, _) = api
        .fails(Method::PATCH, &path, Some(json!({"displayName": "x"})), &[])
        .await;
    assert_eq!((status, code.as_str()), (400, "BadRequest_InvalidToken"));
    let updated = api
        .ok(
            Method::PATCH,
            &path,
            Some(json!({"displayName": "Desk 2"})),
            &[("If-Match", &tag)],
        )
        .await;
    assert_ne!(
        updated["@odata.etag"].as_str().unwrap(),
        tag,
        "every write changes the etag"
    );
    let (status, code, _) = api
        .fails(
            Method::PATCH,
            &path,
            Some(json!({"displayName": "x"})),
            &[("If-Match", &tag)],
        )
        .await;
    assert_eq!((status, code.as_str()), (409, "Request_EntityChanged"));
    api.ok(
        Method::PATCH,
        &path,
        Some(json!({"displayName": "Desk 3"})),
        &[("If-Match", "*")],
    )
    .await;
    let (status, code, _) = api.fails(Method::DELETE, &path, None, &[]).await;
    assert_eq!((status, code.as_str()), (400, "BadRequest_InvalidToken"));
    let (status, ..) = api
        .send(Method::DELETE, &path, None, &[("If-Match", "*")])
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, code, _) = api.fails(Method::GET, &path, None, &[]).await;
    assert_eq!((status, code.as_str()), (404, "BadRequest_NotFound"));
}

#[tokio::test]
async fn documents_refuse_manual_numbers_deep_updates_and_unknown_references() {
    let api = Api::start(|_| {}).await;
    api.sandbox
        .add_customer(json!({"displayName": "Adatum"}))
        .unwrap();
    api.sandbox
        .add_item(json!({"number": "1000", "displayName": "Desk"}))
        .unwrap();
    api.sandbox
        .add_item(json!({"number": "2000", "displayName": "Old desk", "blocked": true}))
        .unwrap();
    let (_, code, message) = api
        .fails(
            Method::POST,
            "salesOrders",
            Some(json!({"customerNumber": "C00010", "number": "SO-1"})),
            &[],
        )
        .await;
    assert_eq!(code, "Application_DialogException");
    assert!(message.starts_with("You may not enter numbers manually."));
    let (_, _, message) = api
        .fails(
            Method::POST,
            "salesOrders",
            Some(json!({"externalDocumentNumber": "1"})),
            &[],
        )
        .await;
    assert!(message.starts_with("A \"customerNumber\" or a \"customerId\" must be provided."));
    let (_, _, message) = api.fails(Method::POST, "salesOrders", Some(json!({"customerNumber": "C00010", "paymentTermsId": "00000000-0000-0000-0000-0000000000aa"})), &[]).await;
    assert!(message.starts_with("The \"paymentTermsId\" does not match to a Payment Terms."));
    let (_, _, message) = api.fails(Method::POST, "salesOrders", Some(json!({"customerNumber": "C00010", "salesOrderLines": [{"lineType": "Item", "lineObjectNumber": "2000", "quantity": 1}]})), &[]).await;
    assert!(message.contains("Blocked"), "{message}");
    assert!(
        api.sandbox.sales_orders().is_empty(),
        "failed deep inserts leave nothing"
    );

    let order = api.ok(Method::POST, "salesOrders?$expand=salesOrderLines", Some(json!({"customerNumber": "C00010", "salesOrderLines": [{"lineObjectNumber": "1000", "quantity": 1}]})), &[]).await;
    assert_eq!(order["number"], "S-ORD101001");
    assert_eq!(order["salesOrderLines"][0]["sequence"], 10000);
    assert_eq!(order["status"], "Draft");
    let path = format!("salesOrders({})", order["id"].as_str().unwrap());
    let (status, code, _) = api
        .fails(
            Method::PATCH,
            &path,
            Some(json!({"salesOrderLines": []})),
            &[("If-Match", "*")],
        )
        .await;
    assert_eq!(
        (status, code.as_str()),
        (405, "BadRequest_MethodNotAllowed")
    );
    let (status, code, _) = api
        .fails(
            Method::PATCH,
            &path,
            Some(json!({"customerName": "x"})),
            &[("If-Match", "*")],
        )
        .await;
    assert_eq!(
        (status, code.as_str()),
        (400, "BadRequest_InvalidOperation")
    );
    let (_, code, _) = api
        .fails(
            Method::POST,
            "customers",
            Some(json!({"displayName": "A", "addressLine2": "x".repeat(51)})),
            &[],
        )
        .await;
    assert_eq!(code, "Application_StringExceededLength");
    let (_, code, _) = api
        .fails(
            Method::POST,
            "items",
            Some(json!({"number": "1000", "displayName": "dup"})),
            &[],
        )
        .await;
    assert_eq!(code, "Internal_EntityWithSameKeyExists");

    // shipAndInvoice: stock leaves through a shipment, the order becomes a posted invoice.
    api.sandbox.post_purchase("1000", 5.0, None).unwrap();
    let (status, ..) = api
        .send(
            Method::POST,
            &format!("{path}/Microsoft.NAV.shipAndInvoice"),
            None,
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(api.sandbox.sales_orders().is_empty());
    let invoice = &api.sandbox.sales_invoices()[0];
    assert_eq!(invoice["orderNumber"], "S-ORD101001");
    assert!(invoice["number"].as_str().unwrap().starts_with("PS-INV"));
    let ledger = api.sandbox.ledger_entries();
    assert_eq!(ledger.last().unwrap().document_type, "Sales_x0020_Shipment");
    assert_eq!(api.sandbox.items()[0]["inventory"], json!(4.0));
}

#[tokio::test]
async fn enums_are_escaped_and_inventory_patches_post_adjustments() {
    let api = Api::start(|_| {}).await;
    let item = api
        .ok(
            Method::POST,
            "items",
            Some(json!({"displayName": "Gift card", "type": "Non-Inventory"})),
            &[],
        )
        .await;
    assert_eq!(item["type"], "Non_x002D_Inventory");
    assert_eq!(item["number"], "I00010");
    let (_, _, message) = api
        .fails(
            Method::POST,
            "items",
            Some(json!({"displayName": "x", "inventory": 3})),
            &[],
        )
        .await;
    assert!(message.starts_with("Inventory cannot be changed during on insert."));
    let path = format!("items({})", item["id"].as_str().unwrap());
    let after = api
        .ok(
            Method::PATCH,
            &path,
            Some(json!({"inventory": 12})),
            &[("If-Match", "*")],
        )
        .await;
    assert_eq!(after["inventory"], json!(12.0));
    let entries = api
        .ok(
            Method::GET,
            "itemLedgerEntries?$filter=entryNumber gt 0",
            None,
            &[],
        )
        .await;
    assert_eq!(
        entries["value"][0]["entryType"],
        "Positive_x0020_Adjmt_x002E_"
    );
    let customer = api
        .ok(
            Method::POST,
            "customers",
            Some(json!({"displayName": "A", "blocked": " "})),
            &[],
        )
        .await;
    assert_eq!(customer["blocked"], "_x0020_");
    assert_eq!(customer["number"], "C00010");
}

#[tokio::test]
async fn pictures_are_patched_as_octets_and_never_posted() {
    let api = Api::start(|_| {}).await;
    let item = api
        .ok(
            Method::POST,
            "items",
            Some(json!({"displayName": "Lamp"})),
            &[],
        )
        .await;
    let content = format!(
        "items({})/picture/pictureContent",
        item["id"].as_str().unwrap()
    );
    let jpeg = [
        0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0x00, 0x20, 0x00, 0x40, 0x03, 0, 0, 0, 0, 0,
    ];
    let upload = |if_match: Option<&'static str>| {
        let mut r = api
            .http
            .patch(api.url(&content))
            .bearer_auth(&api.token)
            .header("Content-Type", "application/octet-stream")
            .body(jpeg.to_vec());
        if let Some(tag) = if_match {
            r = r.header("If-Match", tag);
        }
        r.send()
    };
    assert_eq!(
        upload(None).await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        upload(Some("*")).await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    let picture = api
        .ok(
            Method::GET,
            &format!("items({})/picture", item["id"].as_str().unwrap()),
            None,
            &[],
        )
        .await;
    assert_eq!(
        (picture["width"].as_u64(), picture["height"].as_u64()),
        (Some(64), Some(32))
    );
    assert_eq!(picture["contentType"], "image/jpeg");
    let (status, code, _) = api
        .fails(Method::POST, &content, Some(json!({})), &[])
        .await;
    assert_eq!(
        (status, code.as_str()),
        (405, "BadRequest_MethodNotAllowed")
    );
    let bytes = api
        .http
        .get(api.url(&content))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(bytes.as_ref(), &jpeg);
}

#[tokio::test]
async fn filters_behave_like_bc() {
    let api = Api::start(|_| {}).await;
    for (n, name) in [("1000", "Desk"), ("1001", "Chair"), ("1002", "Lamp")] {
        api.sandbox
            .add_item(json!({"number": n, "displayName": name, "unitPrice": 10}))
            .unwrap();
    }
    let count = |v: &Value| v["value"].as_array().map_or(0, Vec::len);
    // `in` is ignored without schema 2.1: the whole table comes back.
    let all = api
        .ok(
            Method::GET,
            "items?$filter=number in ('1000','1001')",
            None,
            &[],
        )
        .await;
    assert_eq!(count(&all), 3);
    let two = api
        .ok(
            Method::GET,
            "items?$filter=number in ('1000','1001')&$schemaversion=2.1",
            None,
            &[],
        )
        .await;
    assert_eq!(count(&two), 2);
    let two = api
        .ok(
            Method::GET,
            "items?$filter=number eq '1000' or number eq '1002'",
            None,
            &[],
        )
        .await;
    assert_eq!(count(&two), 2);
    let (status, ..) = api
        .fails(
            Method::GET,
            "items?$filter=number eq '1000' or displayName eq 'Lamp'",
            None,
            &[],
        )
        .await;
    assert_eq!(status, 400);
    let one = api
        .ok(
            Method::GET,
            "items?$filter=startswith(displayName,'La') and unitPrice ge 10",
            None,
            &[],
        )
        .await;
    assert_eq!(count(&one), 1);
    let (status, ..) = api
        .fails(
            Method::GET,
            &format!("items?$filter=id eq '{}'", uuid::Uuid::new_v4()),
            None,
            &[],
        )
        .await;
    assert_eq!(status, 400, "quoted GUIDs are a type error");
    let selected = api.ok(Method::GET, "items?$select=number", None, &[]).await;
    let keys: Vec<_> = selected["value"][0]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(keys, vec!["@odata.etag", "number"]);
}

#[tokio::test]
async fn paging_uses_next_links_and_top_suppresses_them() {
    let api = Api::start(|c| c.page_size = 4).await;
    for i in 0..10 {
        api.sandbox
            .add_customer(json!({"displayName": format!("Customer {i}")}))
            .unwrap();
    }
    let mut url = "customers?$filter=contains(displayName,'Customer')".to_owned();
    let mut seen = Vec::new();
    loop {
        let page = api.ok(Method::GET, &url, None, &[]).await;
        seen.extend(
            page["value"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["number"].as_str().unwrap().to_owned()),
        );
        match page["@odata.nextLink"].as_str() {
            Some(next) => {
                assert!(next.starts_with("http://") && next.contains("$skiptoken="));
                url = next.to_owned();
            }
            None => break,
        }
    }
    assert_eq!(seen.len(), 10);
    assert_eq!(seen.first().map(String::as_str), Some("C00010"));
    let top = api.ok(Method::GET, "customers?$top=3", None, &[]).await;
    assert_eq!(top["value"].as_array().unwrap().len(), 3);
    assert!(top.get("@odata.nextLink").is_none());
    let (_, headers, small) = api
        .send(
            Method::GET,
            "customers",
            None,
            &[("Prefer", "odata.maxpagesize=2")],
        )
        .await;
    assert_eq!(small["value"].as_array().unwrap().len(), 2);
    assert_eq!(headers["preference-applied"], "odata.maxpagesize=2");
}

fn batch_of(n: usize) -> Value {
    json!({"requests": (0..n).map(|i| json!({
        "method": "POST", "id": i.to_string(), "url": "companies(COMPANY)/items",
        "headers": {"Content-Type": "application/json"},
        "body": {"displayName": format!("Item {i}")}
    })).collect::<Vec<_>>()})
}

fn with_company(batch: &Value, company: &str) -> Value {
    serde_json::from_str(&batch.to_string().replace("companies(COMPANY)", company)).unwrap()
}

#[tokio::test]
async fn a_batch_counts_as_one_request_or_as_its_operations_by_setting() {
    for per_operation in [false, true] {
        let api = Api::start(|c| {
            c.batch_counts_as_operations = per_operation;
            c.rate_limit = RateLimit {
                requests: 10,
                window: Duration::from_mins(1),
                ..RateLimit::default()
            };
        })
        .await;
        let answer = api
            .ok(
                Method::POST,
                "$batch",
                Some(with_company(&batch_of(8), &api.company)),
                &[],
            )
            .await;
        assert_eq!(answer["responses"].as_array().unwrap().len(), 8);
        let units = api.sandbox.stats().principals["lsbc-app-1"].units;
        assert_eq!(units, if per_operation { 8 } else { 1 });
        let (status, headers, _) = api
            .send(
                Method::POST,
                "$batch",
                Some(with_company(&batch_of(5), &api.company)),
                &[],
            )
            .await;
        if per_operation {
            assert_eq!(
                status,
                StatusCode::TOO_MANY_REQUESTS,
                "8 + 5 operations exceed 10"
            );
            assert!(headers.contains_key("retry-after"));
        } else {
            assert_eq!(status, StatusCode::OK, "two requests of 10");
        }
    }
}

#[tokio::test]
async fn snapshot_batches_roll_back_and_large_batches_are_refused() {
    let api = Api::start(|_| {}).await;
    let mut batch = with_company(&batch_of(3), &api.company);
    batch["requests"][2]["body"] = json!({"displayName": "x", "type": "Gadget"});
    let answer = api
        .ok(
            Method::POST,
            "$batch",
            Some(batch.clone()),
            &[("Isolation", "snapshot")],
        )
        .await;
    let statuses: Vec<_> = answer["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, vec![201, 201, 400]);
    assert!(api.sandbox.items().is_empty(), "rolled back");
    api.ok(Method::POST, "$batch", Some(batch), &[]).await;
    assert_eq!(
        api.sandbox.items().len(),
        2,
        "without isolation each operation stands alone"
    );
    let (status, ..) = api
        .fails(
            Method::POST,
            "$batch",
            Some(with_company(&batch_of(101), &api.company)),
            &[],
        )
        .await;
    // A server error in BC (FIDELITY #15).
    assert_eq!(status, 500);
}

/// Waits until `what` holds (polling; fails after a generous 10 s).
async fn eventually(what: &str, condition: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Waits until the sandbox has counted `n` API requests of `lsbc-app-1`: the limiter counts
/// a request when it admits it (or refuses it), so the `n`-th holds its slot from then on.
async fn admitted(sandbox: &BusinessCentralSandbox, n: u64) {
    eventually(&format!("{n} request(s) of lsbc-app-1 counted"), || {
        sandbox
            .stats()
            .principals
            .get("lsbc-app-1")
            .is_some_and(|c| c.requests == n)
    })
    .await;
}

#[tokio::test]
async fn the_window_and_the_queue_answer_429_per_principal() {
    let api = Api::start(|c| {
        c.rate_limit = RateLimit {
            requests: 3,
            window: Duration::from_secs(2),
            max_concurrent: 1,
            max_queue: 0,
            ..RateLimit::default()
        };
    })
    .await;
    for _ in 0..3 {
        api.ok(Method::GET, "items", None, &[]).await;
    }
    let (status, headers, body) = api.send(Method::GET, "items", None, &[]).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let wait: f64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(wait > 0.0 && wait <= 2.0, "{wait}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("CorrelationId")
    );
    tokio::time::sleep(Duration::from_secs_f64(wait + 0.05)).await;
    api.ok(Method::GET, "items", None, &[]).await;

    // One at a time, no queue: a second concurrent request is refused.
    let other = Api::start(|c| {
        c.rate_limit = RateLimit {
            requests: 100,
            window: Duration::from_secs(2),
            max_concurrent: 1,
            max_queue: 0,
            ..RateLimit::default()
        };
    })
    .await;
    other
        .sandbox
        .faults()
        .add(FaultRule::always(FaultKind::Latency { millis: 1000 }).on_path("/items"));
    let slow = other.send(Method::GET, "items", None, &[]);
    let fast = async {
        // Counted means admitted: the slow request holds the only slot for its latency.
        admitted(&other.sandbox, 1).await;
        other.sandbox.faults().clear();
        other.send(Method::GET, "paymentTerms", None, &[]).await
    };
    let (first, second) = tokio::join!(slow, fast);
    assert_eq!(first.0, StatusCode::OK);
    assert_eq!(second.0, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(other.sandbox.stats().principals["lsbc-app-1"].throttled, 1);

    // With a queue, a request waits; past the queue timeout (BC: 8 min) it gets 503.
    let queued = Api::start(|c| {
        c.rate_limit = RateLimit {
            max_concurrent: 1,
            max_queue: 5,
            queue_timeout: Duration::from_millis(150),
            ..RateLimit::default()
        };
    })
    .await;
    queued
        .sandbox
        .faults()
        .add(FaultRule::always(FaultKind::Latency { millis: 1000 }).on_path("/items"));
    let slow = queued.send(Method::GET, "items", None, &[]);
    let waiting = async {
        admitted(&queued.sandbox, 1).await;
        queued.send(Method::GET, "paymentTerms", None, &[]).await
    };
    let (first, second) = tokio::join!(slow, waiting);
    assert_eq!(first.0, StatusCode::OK);
    assert_eq!(second.0, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn tokens_and_on_premises_credentials_are_checked() {
    let api = Api::start(|_| {}).await;
    let refused = token(&api.http, &api.sandbox, "lsbc-app-1", "wrong").await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        refused.json::<Value>().await.unwrap()["error"],
        "invalid_client"
    );
    let (status, ..) = {
        let r = api
            .http
            .get(format!("{}/{}/items", api.root, api.company))
            .bearer_auth("forged")
            .send()
            .await
            .unwrap();
        (r.status(), ())
    };
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let on_prem = format!("{}/api/v2.0/companies", api.sandbox.on_premises_url());
    let r = api
        .http
        .get(&on_prem)
        .basic_auth("ADMIN", Some("access-key-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = api
        .http
        .get(&on_prem)
        .basic_auth("ADMIN", Some("nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // The token expires in API time.
    api.sandbox.clock().advance(Duration::from_hours(1));
    let (status, ..) = api.send(Method::GET, "items", None, &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn injected_faults_render_bc_bodies() {
    let api = Api::start(|_| {}).await;
    api.sandbox.faults().add(
        FaultRule::always(FaultKind::Status { status: 503 })
            .on_path("/items")
            .times(1),
    );
    let (status, headers, body) = api.send(Method::GET, "items", None, &[]).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(headers.contains_key("retry-after"));
    assert!(body["error"]["code"].is_string());
    api.sandbox.faults().add(
        FaultRule::always(FaultKind::Reset)
            .on_path("/items")
            .times(1),
    );
    let failed = api
        .http
        .get(api.url("items"))
        .bearer_auth(&api.token)
        .send()
        .await;
    let broken = match failed {
        Err(_) => true,
        Ok(r) => r.bytes().await.is_err(),
    };
    assert!(broken, "connection dropped mid-answer");
    api.ok(Method::GET, "items", None, &[]).await;
}

/// A notification receiver answering with the given statuses in turn (then 200).
async fn receiver(statuses: Vec<u16>) -> (String, tokio::sync::mpsc::UnboundedReceiver<Value>) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let statuses = std::sync::Arc::new(std::sync::Mutex::new(statuses.into_iter()));
    let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let tx = tx.clone();
        let statuses = statuses.clone();
        async move {
            let query = request.uri().query().unwrap_or("").to_owned();
            if let Some(token) = query.strip_prefix("validationToken=") {
                return (axum::http::StatusCode::OK, token.to_owned());
            }
            let bytes = axum::body::to_bytes(request.into_body(), 1 << 20)
                .await
                .unwrap();
            let _ = tx.send(serde_json::from_slice::<Value>(&bytes).unwrap());
            let status = statuses.lock().unwrap().next().unwrap_or(200);
            (
                axum::http::StatusCode::from_u16(status).unwrap(),
                String::new(),
            )
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook"), rx)
}

async fn subscribe(api: &Api, url: &str, set: &str) -> Value {
    api.ok(
        Method::POST,
        "subscriptions",
        Some(json!({"notificationUrl": url, "resource": format!("/api/v2.0/{}/{set}", api.company), "clientState": "state"})),
        &[],
    )
    .await
}

fn hooks(c: &mut BusinessCentralSandboxConfig) {
    c.time_scale = 100.0;
    c.webhooks = WebhookSettings {
        collection_threshold: 3,
        retry_backoff: Duration::from_secs(10),
        ..WebhookSettings::default()
    };
}

#[tokio::test]
async fn many_changes_in_one_window_make_one_collection_notification() {
    let api = Api::start(hooks).await;
    let (url, mut rx) = receiver(vec![]).await;
    subscribe(&api, &url, "items").await;
    for i in 0..5 {
        api.sandbox
            .add_item(json!({"displayName": format!("Item {i}")}))
            .unwrap();
    }
    let body = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .unwrap()
        .unwrap();
    let value = body["value"].as_array().unwrap();
    assert_eq!(value.len(), 1);
    assert_eq!(value[0]["changeType"], "collection");
    let resource = value[0]["resource"].as_str().unwrap();
    assert!(
        resource.contains("/items?$filter=lastModifiedDateTime"),
        "{resource}"
    );
    // Few changes: one notification per change, after the delay.
    api.sandbox
        .add_item(json!({"displayName": "One more"}))
        .unwrap();
    let body = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(body["value"][0]["changeType"], "created");
}

#[tokio::test]
async fn deliveries_retry_on_5xx_and_a_4xx_deletes_the_subscription() {
    let api = Api::start(hooks).await;
    let (url, mut rx) = receiver(vec![503]).await;
    subscribe(&api, &url, "customers").await;
    api.sandbox
        .add_customer(json!({"displayName": "A"}))
        .unwrap();
    for _ in 0..2 {
        tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .unwrap()
            .unwrap();
    }
    // The sandbox logs an attempt once the receiver's answer is in.
    eventually("both attempts logged", || {
        api.sandbox.deliveries().len() >= 2
    })
    .await;
    let attempts: Vec<_> = api
        .sandbox
        .deliveries()
        .iter()
        .map(|d| (d.attempt, d.status))
        .collect();
    assert_eq!(attempts, vec![(1, Some(503)), (2, Some(200))]);
    assert_eq!(api.sandbox.subscriptions().len(), 1);

    let (gone, mut gone_rx) = receiver(vec![404]).await;
    subscribe(&api, &gone, "items").await;
    api.sandbox.add_item(json!({"displayName": "A"})).unwrap();
    tokio::time::timeout(Duration::from_secs(5), gone_rx.recv())
        .await
        .unwrap()
        .unwrap();
    // The sandbox deletes the subscription once the receiver's 404 is in.
    eventually("the subscription answered 404 is deleted", || {
        api.sandbox.subscriptions().len() == 1
    })
    .await;
    let left: Vec<_> = api
        .sandbox
        .subscriptions()
        .iter()
        .map(|s| s["resource"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(left.len(), 1);
    assert!(left[0].ends_with("/customers"));
    // A document subscription fires on the header when a line changes.
    let (doc_url, mut doc_rx) = receiver(vec![]).await;
    subscribe(&api, &doc_url, "salesOrders").await;
    let order = api
        .sandbox
        .add_sales_order(json!({"customerNumber": "C00010"}))
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), doc_rx.recv())
        .await
        .unwrap()
        .unwrap();
    api.ok(
        Method::POST,
        &format!(
            "salesOrders({})/salesOrderLines",
            order["id"].as_str().unwrap()
        ),
        Some(json!({"lineType": "Comment", "description": "note"})),
        &[],
    )
    .await;
    let body = tokio::time::timeout(Duration::from_secs(5), doc_rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(body["value"][0]["changeType"], "updated");
    assert!(
        body["value"][0]["resource"]
            .as_str()
            .unwrap()
            .contains(order["id"].as_str().unwrap())
    );
}

#[tokio::test]
async fn the_control_api_seeds_and_inspects() {
    let api = Api::start(|_| {}).await;
    let base = api.sandbox.base_url();
    let seeded: Value = api
        .http
        .post(format!("{base}/_sandbox/records/items"))
        .json(&json!([{"number": "A1", "displayName": "Desk"}]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(seeded[0]["number"], "A1");
    let r = api
        .http
        .post(format!("{base}/_sandbox/ledger"))
        .json(&json!({"itemNumber": "A1", "quantity": 4, "locationCode": "east"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let ledger: Value = api
        .http
        .get(format!("{base}/_sandbox/ledger"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ledger[0]["location_code"], "EAST");
    api.ok(Method::GET, "items", None, &[]).await;
    let counters: Value = api
        .http
        .get(format!("{base}/_sandbox/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(counters["principals"]["lsbc-app-1"]["requests"], 1);
    let r = api.http.post(format!("{base}/_sandbox/faults")).json(&json!({"seed": 1, "rules": [{"kind": "status", "status": 502, "path_contains": "/items"}]})).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (status, ..) = api.send(Method::GET, "items", None, &[]).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    api.http
        .delete(format!("{base}/_sandbox/faults"))
        .send()
        .await
        .unwrap();
    api.ok(Method::GET, "items", None, &[]).await;
    let writes: Value = api
        .http
        .get(format!("{base}/_sandbox/writes"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        writes.as_array().unwrap().is_empty(),
        "seeds are not client writes"
    );
}
