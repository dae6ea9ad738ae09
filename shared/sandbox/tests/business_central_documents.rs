//! Sales documents as Business Central computes them, through the HTTP API: VAT from the VAT
//! Posting Setup (customer × item), prices including VAT from the customer, and totals rounded
//! per VAT identifier on the document. The amounts are the worked examples of the orders notes
//! (Dutch VAT 21 % / 9 %, a Canadian stacked 14.975 %).

// Helpers fail loudly like the tests they serve; clippy exempts only `#[test]` bodies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use lsbc_sandbox::business_central::{
    BusinessCentralSandbox, BusinessCentralSandboxConfig, CustomerVat, LedgerSequence,
    PostingSetup, VatPostingSetup, VatRounding, VatSetup,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

struct Api {
    http: reqwest::Client,
    root: String,
    company: String,
    token: String,
    sandbox: BusinessCentralSandbox,
}

impl Api {
    async fn start(tweak: impl FnOnce(&mut BusinessCentralSandboxConfig)) -> Self {
        let mut config = BusinessCentralSandboxConfig {
            lcy: "EUR".into(),
            ..BusinessCentralSandboxConfig::default()
        };
        tweak(&mut config);
        let sandbox = BusinessCentralSandbox::start(config).await.unwrap();
        let http = reqwest::Client::new();
        let token: Value = http
            .post(format!(
                "{}/{}/oauth2/v2.0/token",
                sandbox.base_url(),
                sandbox.tenant()
            ))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "lsbc-app-1"),
                ("client_secret", "secret-1"),
                ("scope", "https://api.businesscentral.dynamics.com/.default"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Self {
            root: sandbox.api_root(),
            company: format!("companies({})", sandbox.company_id()),
            token: token["access_token"].as_str().unwrap().to_owned(),
            http,
            sandbox,
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.call_if(method, path, body, None).await
    }

    async fn call_if(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        if_match: Option<&str>,
    ) -> (StatusCode, Value) {
        let url = format!("{}/{}/{path}", self.root, self.company);
        let mut request = self.http.request(method, url).bearer_auth(&self.token);
        if let Some(tag) = if_match {
            request = request.header("If-Match", tag);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> Value {
        let (status, body) = self.call(reqwest::Method::GET, path, None).await;
        assert!(status.is_success(), "GET {path}: {status} {body}");
        body
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let (status, answer) = self.call(reqwest::Method::POST, path, Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "POST {path}: {answer}");
        answer
    }

    /// A draft invoice for `customer` with `lines`; answers the header as read back.
    async fn invoice(&self, customer: &str, lines: &[Value]) -> Value {
        let header = self
            .post("salesInvoices", json!({"customerNumber": customer}))
            .await;
        let id = header["id"].as_str().unwrap().to_owned();
        for line in lines {
            self.post(
                &format!("salesInvoices({id})/salesInvoiceLines"),
                line.clone(),
            )
            .await;
        }
        self.get(&format!("salesInvoices({id})")).await
    }

    async fn lines(&self, invoice: &Value) -> Vec<Value> {
        let id = invoice["id"].as_str().unwrap();
        let body = self
            .get(&format!("salesInvoices({id})/salesInvoiceLines"))
            .await;
        let mut lines = body["value"].as_array().unwrap().clone();
        lines.sort_by_key(|l| l["sequence"].as_i64());
        lines
    }
}

/// A Dutch tenant: VAT21 and VAT9 under the NL business group; the walk-in customer C-POS
/// has Prices Including VAT, B2B customer 10000 does not, EXPORT has no setup.
fn dutch(rounding: VatRounding) -> impl FnOnce(&mut BusinessCentralSandboxConfig) {
    move |c| {
        c.vat = VatSetup {
            posting_setup: vec![
                VatPostingSetup::new("NL", "VAT21", 21.0).identified_as("HIGH"),
                VatPostingSetup::new("NL", "VAT9", 9.0).identified_as("LOW"),
                VatPostingSetup::new("CA", "GST-QST", 14.975),
            ],
            default_business_group: "NL".into(),
            rounding,
            ..VatSetup::default()
        };
        c.vat.customers.insert(
            "C-POS".into(),
            CustomerVat {
                business_group: "NL".into(),
                prices_including_vat: true,
            },
        );
        c.vat.customers.insert(
            "QC-1".into(),
            CustomerVat {
                business_group: "CA".into(),
                prices_including_vat: false,
            },
        );
        c.vat.customers.insert(
            "EXPORT".into(),
            CustomerVat {
                business_group: "EXPORT".into(),
                prices_including_vat: false,
            },
        );
        c.behaviour.gl_accounts.insert(
            "8000".into(),
            lsbc_sandbox::business_central::GlAccount::new("Invoice rounding", ""),
        );
    }
}

async fn seeded(rounding: VatRounding) -> Api {
    let api = Api::start(dutch(rounding)).await;
    for (number, name) in [
        ("C-POS", "Walk-in"),
        ("10000", "Trey Research"),
        ("QC-1", "Montreal shop"),
        ("EXPORT", "Export customer"),
    ] {
        api.sandbox
            .add_customer(json!({"number": number, "displayName": name}))
            .unwrap();
    }
    for (number, price, group) in [
        ("A", 10.0, "VAT21"),
        ("B", 5.0, "VAT9"),
        ("C", 16.53, "VAT21"),
        ("Q", 29.99, "GST-QST"),
    ] {
        api.sandbox
            .add_item(json!({"number": number, "displayName": number, "unitPrice": price, "taxGroupCode": group}))
            .unwrap();
    }
    api
}

fn item(number: &str, quantity: f64, price: f64, discount: f64) -> Value {
    json!({"lineType": "Item", "lineObjectNumber": number, "quantity": quantity, "unitPrice": price, "discountAmount": discount})
}

#[tokio::test]
async fn a_tax_inclusive_sale_with_two_rates_totals_as_the_receipt() {
    // Orders notes §9 case 1: A 2 × 12.10 less 4.82 = 19.38 (VAT 3.36), B 5.45 less 0.60 =
    // 4.85 (VAT 0.40); total 24.23, VAT 3.76.
    let api = seeded(VatRounding::Nearest).await;
    let invoice = api
        .invoice(
            "C-POS",
            &[item("A", 2.0, 12.10, 4.82), item("B", 1.0, 5.45, 0.60)],
        )
        .await;
    assert_eq!(invoice["pricesIncludeTax"], true);
    assert_eq!(invoice["totalAmountIncludingTax"], 24.23);
    assert_eq!(invoice["totalTaxAmount"], 3.76);
    assert_eq!(invoice["totalAmountExcludingTax"], 20.47);
    let lines = api.lines(&invoice).await;
    assert_eq!(lines[0]["taxPercent"], 21.0);
    assert_eq!(lines[0]["amountIncludingTax"], 19.38);
    assert_eq!(lines[0]["netTaxAmount"], 3.36);
    assert_eq!(lines[0]["netAmount"], 16.02);
    assert_eq!(lines[1]["taxPercent"], 9.0);
    assert_eq!(lines[1]["amountIncludingTax"], 4.85);
    assert_eq!(lines[1]["netTaxAmount"], 0.40);
}

#[tokio::test]
async fn inclusive_single_lines_split_as_the_worked_examples() {
    // Orders notes §9 cases 4, 6 and 7.
    let api = seeded(VatRounding::Nearest).await;
    for (gross, net, vat) in [
        (20.0, 16.53, 3.47),
        (100.0, 82.64, 17.36),
        (80.0, 66.12, 13.88),
    ] {
        let invoice = api.invoice("C-POS", &[item("A", 1.0, gross, 0.0)]).await;
        assert_eq!(invoice["totalAmountIncludingTax"], gross, "{gross}");
        assert_eq!(invoice["totalAmountExcludingTax"], net, "{gross}");
        assert_eq!(invoice["totalTaxAmount"], vat, "{gross}");
    }
}

#[tokio::test]
async fn vat_is_rounded_once_per_identifier_not_per_line() {
    // Three lines of 0.07 at 21 % for a customer without prices including VAT: each alone
    // is 0.0147 → 0.01, but BC rounds the identifier's 0.0441 to 0.04.
    let api = seeded(VatRounding::Nearest).await;
    let line = item("A", 1.0, 0.07, 0.0);
    let invoice = api
        .invoice("10000", &[line.clone(), line.clone(), line])
        .await;
    assert_eq!(invoice["pricesIncludeTax"], false);
    assert_eq!(invoice["totalAmountExcludingTax"], 0.21);
    assert_eq!(invoice["totalTaxAmount"], 0.04);
    assert_eq!(invoice["totalAmountIncludingTax"], 0.25);
    let lines = api.lines(&invoice).await;
    let spread: Vec<f64> = lines
        .iter()
        .map(|l| l["netTaxAmount"].as_f64().unwrap())
        .collect();
    let cents: f64 = spread.iter().map(|v| v * 100.0).sum();
    assert_eq!(cents.round() as i64, 4, "{spread:?}");
    // A line on its own still shows its own rounding.
    assert_eq!(lines[0]["totalTaxAmount"], 0.01);
}

#[tokio::test]
async fn two_identifiers_round_apart() {
    // 0.07 at 21 % (identifier HIGH) and 0.07 at 9 % (LOW): 0.0147 → 0.01 and 0.0063 → 0.01.
    let api = seeded(VatRounding::Nearest).await;
    let invoice = api
        .invoice(
            "10000",
            &[item("A", 1.0, 0.07, 0.0), item("B", 1.0, 0.07, 0.0)],
        )
        .await;
    assert_eq!(invoice["totalTaxAmount"], 0.02);
}

#[tokio::test]
async fn a_stacked_rate_rounds_to_the_cent_of_the_total() {
    // Orders notes §9 case 2: 29.99 × 14.975 % = 4.491 → 4.49 (34.48); 10.10 → 1.512475 →
    // 1.51 (11.61).
    let api = seeded(VatRounding::Nearest).await;
    let invoice = api.invoice("QC-1", &[item("Q", 1.0, 29.99, 0.0)]).await;
    assert_eq!(invoice["totalTaxAmount"], 4.49);
    assert_eq!(invoice["totalAmountIncludingTax"], 34.48);
    let invoice = api.invoice("QC-1", &[item("Q", 1.0, 10.10, 0.0)]).await;
    assert_eq!(invoice["totalTaxAmount"], 1.51);
    assert_eq!(invoice["totalAmountIncludingTax"], 11.61);
}

#[tokio::test]
async fn the_vat_rounding_type_is_a_tenant_setting() {
    let api = seeded(VatRounding::Up).await;
    let invoice = api.invoice("QC-1", &[item("Q", 1.0, 10.10, 0.0)]).await;
    assert_eq!(invoice["totalTaxAmount"], 1.52);
    let api = seeded(VatRounding::Down).await;
    let invoice = api.invoice("QC-1", &[item("Q", 1.0, 29.99, 0.0)]).await;
    assert_eq!(invoice["totalTaxAmount"], 4.49);
    let invoice = api.invoice("10000", &[item("A", 1.0, 10.10, 0.0)]).await;
    assert_eq!(invoice["totalTaxAmount"], 2.12);
}

#[tokio::test]
async fn an_item_price_is_converted_for_a_customer_with_prices_including_vat() {
    let api = seeded(VatRounding::Nearest).await;
    let line = json!({"lineType": "Item", "lineObjectNumber": "A", "quantity": 1});
    let inclusive = api.invoice("C-POS", std::slice::from_ref(&line)).await;
    let lines = api.lines(&inclusive).await;
    assert_eq!(lines[0]["unitPrice"], 12.1);
    assert_eq!(inclusive["totalAmountIncludingTax"], 12.1);
    assert_eq!(inclusive["totalAmountExcludingTax"], 10.0);
    let exclusive = api.invoice("10000", &[line]).await;
    let lines = api.lines(&exclusive).await;
    assert_eq!(lines[0]["unitPrice"], 10.0);
    assert_eq!(exclusive["totalAmountIncludingTax"], 12.1);
}

#[tokio::test]
async fn the_header_follows_a_customer_changed_at_run_time() {
    let api = seeded(VatRounding::Nearest).await;
    api.sandbox.set_customer_vat(
        "10000",
        CustomerVat {
            business_group: "NL".into(),
            prices_including_vat: true,
        },
    );
    let invoice = api.invoice("10000", &[item("C", 1.0, 20.0, 0.0)]).await;
    assert_eq!(invoice["pricesIncludeTax"], true);
    assert_eq!(invoice["totalTaxAmount"], 3.47);
}

#[tokio::test]
async fn a_line_without_vat_posting_setup_is_refused_naming_both_groups() {
    let api = seeded(VatRounding::Nearest).await;
    let header = api
        .post("salesInvoices", json!({"customerNumber": "EXPORT"}))
        .await;
    let id = header["id"].as_str().unwrap();
    let (status, body) = api
        .call(
            reqwest::Method::POST,
            &format!("salesInvoices({id})/salesInvoiceLines"),
            Some(item("A", 1.0, 10.0, 0.0)),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"]["code"], "Internal_RecordNotFound");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("VAT Bus. Posting Group='EXPORT'"),
        "{message}"
    );
    assert!(
        message.contains("VAT Prod. Posting Group='VAT21'"),
        "{message}"
    );
    let lines = api.lines(&header).await;
    assert!(lines.is_empty(), "{lines:?}");
    // A comment line needs no setup.
    api.post(
        &format!("salesInvoices({id})/salesInvoiceLines"),
        json!({"lineType": "Comment", "description": "Thank you"}),
    )
    .await;
}

#[tokio::test]
async fn a_posted_invoice_keeps_the_computed_totals() {
    let api = seeded(VatRounding::Nearest).await;
    let invoice = api
        .invoice(
            "C-POS",
            &[item("A", 2.0, 12.10, 4.82), item("B", 1.0, 5.45, 0.60)],
        )
        .await;
    let id = invoice["id"].as_str().unwrap();
    let (status, body) = api
        .call(
            reqwest::Method::POST,
            &format!("salesInvoices({id})/Microsoft.NAV.post"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let posted = api.get(&format!("salesInvoices({id})")).await;
    assert_eq!(posted["status"], "Open");
    assert_eq!(posted["totalAmountIncludingTax"], 24.23);
    assert_eq!(posted["remainingAmount"], 24.23);
}

#[tokio::test]
async fn flat_line_sets_need_an_id_or_a_document_id() {
    let api = seeded(VatRounding::Nearest).await;
    let invoice = api.invoice("10000", &[item("A", 1.0, 10.0, 0.0)]).await;
    let id = invoice["id"].as_str().unwrap();
    let (status, body) = api
        .call(reqwest::Method::GET, "salesInvoiceLines", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("You must specify an Id or a Document Id to get the lines."),
        "{message}"
    );
    let found = api
        .get(&format!("salesInvoiceLines?$filter=documentId eq {id}"))
        .await;
    assert_eq!(found["value"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_line_keeps_its_document_sequence_and_object_number() {
    let api = seeded(VatRounding::Nearest).await;
    let invoice = api.invoice("10000", &[item("A", 1.0, 10.0, 0.0)]).await;
    let other = api.invoice("10000", &[]).await;
    let line = api.lines(&invoice).await.remove(0);
    let path = format!(
        "salesInvoices({})/salesInvoiceLines({})",
        invoice["id"].as_str().unwrap(),
        line["id"].as_str().unwrap()
    );
    let tag = line["@odata.etag"].as_str().unwrap();
    for (body, message) in [
        (
            json!({"sequence": 20000}),
            "The value for sequence cannot be modified. Delete and insert the line again.",
        ),
        (
            json!({"lineObjectNumber": "B"}),
            "The value for \"lineObjectNumber\" cannot be modified.",
        ),
        (
            json!({"documentId": other["id"]}),
            "The value for \"documentId\" cannot be modified.",
        ),
    ] {
        let (status, answer) = api
            .call_if(reqwest::Method::PATCH, &path, Some(body.clone()), Some(tag))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        let got = answer["error"]["message"].as_str().unwrap();
        assert!(got.starts_with(message), "{body}: {got}");
    }
    // The same values, and other fields, are no change to those keys.
    let (status, answer) = api
        .call_if(
            reqwest::Method::PATCH,
            &path,
            Some(json!({"sequence": line["sequence"], "lineObjectNumber": "A", "quantity": 3})),
            Some(tag),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["quantity"], 3.0);
}

impl Api {
    /// `Microsoft.NAV.post` on an invoice: status and body.
    async fn post_invoice(&self, invoice: &Value) -> (StatusCode, Value) {
        let id = invoice["id"].as_str().unwrap();
        self.call(
            reqwest::Method::POST,
            &format!("salesInvoices({id})/Microsoft.NAV.post"),
            None,
        )
        .await
    }

    async fn status(&self, invoice: &Value) -> Value {
        let id = invoice["id"].as_str().unwrap();
        self.get(&format!("salesInvoices({id})")).await["status"].clone()
    }
}

fn refused(status: StatusCode, body: &Value, code: &str, message: &str) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    let got = body["error"]["message"].as_str().unwrap();
    assert!(got.starts_with(message), "{got}");
}

#[tokio::test]
async fn a_posted_invoice_is_no_longer_a_draft() {
    let api = seeded(VatRounding::Nearest).await;
    let invoice = api.invoice("10000", &[item("A", 1.0, 10.0, 0.0)]).await;
    assert_eq!(api.post_invoice(&invoice).await.0, StatusCode::NO_CONTENT);
    let (status, body) = api.post_invoice(&invoice).await;
    refused(
        status,
        &body,
        "Application_DialogException",
        "The action can be applied to a draft invoice only.",
    );
}

#[tokio::test]
async fn posting_outside_the_allowed_dates_is_refused_until_the_range_allows_it() {
    let api = seeded(VatRounding::Nearest).await;
    let header = api
        .post(
            "salesInvoices",
            json!({"customerNumber": "10000", "postingDate": "2026-01-31"}),
        )
        .await;
    let id = header["id"].as_str().unwrap();
    api.post(
        &format!("salesInvoices({id})/salesInvoiceLines"),
        item("A", 1.0, 10.0, 0.0),
    )
    .await;
    let from = "2026-02-01".parse().unwrap();
    let to = "2026-02-28".parse().unwrap();
    api.sandbox.set_posting(PostingSetup {
        allowed_posting_dates: Some((from, to)),
        ..PostingSetup::default()
    });
    let (status, body) = api.post_invoice(&header).await;
    refused(
        status,
        &body,
        "Application_DialogException",
        "Posting Date is not within your range of allowed posting dates.",
    );
    assert_eq!(api.status(&header).await, "Draft");
    api.sandbox.set_posting(PostingSetup {
        allowed_posting_dates: Some(("2026-01-01".parse().unwrap(), to)),
        ..PostingSetup::default()
    });
    assert_eq!(api.post_invoice(&header).await.0, StatusCode::NO_CONTENT);
    assert_eq!(api.status(&header).await, "Open");
}

#[tokio::test]
async fn a_customer_without_posting_group_cannot_be_invoiced() {
    let api = Api::start(|c| {
        dutch(VatRounding::Nearest)(c);
        c.posting
            .customers_without_posting_group
            .insert("10000".into());
    })
    .await;
    api.sandbox
        .add_customer(json!({"number": "10000", "displayName": "No template"}))
        .unwrap();
    api.sandbox
        .add_item(
            json!({"number": "A", "displayName": "A", "unitPrice": 10.0, "taxGroupCode": "VAT21"}),
        )
        .unwrap();
    let invoice = api.invoice("10000", &[item("A", 1.0, 10.0, 0.0)]).await;
    let (status, body) = api.post_invoice(&invoice).await;
    let number = invoice["number"].as_str().unwrap();
    refused(
        status,
        &body,
        "Application_FieldValidationException",
        &format!(
            "Customer Posting Group must have a value in Sales Header: Document Type=Invoice, No.={number}. It cannot be zero or empty."
        ),
    );
    assert_eq!(api.status(&invoice).await, "Draft");
}

#[tokio::test]
async fn a_customer_blocked_for_invoicing_cannot_be_posted_to() {
    let api = seeded(VatRounding::Nearest).await;
    let invoice = api.invoice("10000", &[item("A", 1.0, 10.0, 0.0)]).await;
    let customer = api.get("customers?$filter=number eq '10000'").await["value"][0].clone();
    let (status, body) = api
        .call_if(
            reqwest::Method::PATCH,
            &format!("customers({})", customer["id"].as_str().unwrap()),
            Some(json!({"blocked": "Invoice"})),
            customer["@odata.etag"].as_str(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = api.post_invoice(&invoice).await;
    refused(
        status,
        &body,
        "Application_DialogException",
        "You cannot post this type of document when Customer 10000 is blocked with type Invoice",
    );
}

#[tokio::test]
async fn a_mandatory_external_document_number_is_checked_at_posting() {
    let api = Api::start(|c| {
        dutch(VatRounding::Nearest)(c);
        c.posting.external_document_number_mandatory = true;
    })
    .await;
    api.sandbox
        .add_customer(json!({"number": "10000", "displayName": "Trey"}))
        .unwrap();
    api.sandbox
        .add_item(
            json!({"number": "A", "displayName": "A", "unitPrice": 10.0, "taxGroupCode": "VAT21"}),
        )
        .unwrap();
    let invoice = api.invoice("10000", &[item("A", 1.0, 10.0, 0.0)]).await;
    let (status, body) = api.post_invoice(&invoice).await;
    refused(
        status,
        &body,
        "Application_FieldValidationException",
        "External Document No. must have a value in Sales Header: Document Type=Invoice",
    );
    let header = api
        .post(
            "salesInvoices",
            json!({"customerNumber": "10000", "externalDocumentNumber": "LS-1001"}),
        )
        .await;
    let id = header["id"].as_str().unwrap();
    api.post(
        &format!("salesInvoices({id})/salesInvoiceLines"),
        item("A", 1.0, 10.0, 0.0),
    )
    .await;
    assert_eq!(api.post_invoice(&header).await.0, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn with_the_job_queue_a_post_answers_at_once_and_posts_later() {
    let api = Api::start(|c| {
        dutch(VatRounding::Nearest)(c);
        c.posting.post_with_job_queue = true;
    })
    .await;
    api.sandbox
        .add_customer(json!({"number": "10000", "displayName": "Trey"}))
        .unwrap();
    api.sandbox
        .add_item(
            json!({"number": "A", "displayName": "A", "unitPrice": 10.0, "taxGroupCode": "VAT21"}),
        )
        .unwrap();
    let good = api.invoice("10000", &[item("A", 1.0, 10.0, 0.0)]).await;
    let late = api.invoice("10000", &[item("A", 1.0, 10.0, 0.0)]).await;
    assert_eq!(api.post_invoice(&good).await.0, StatusCode::NO_CONTENT);
    assert_eq!(api.post_invoice(&late).await.0, StatusCode::NO_CONTENT);
    // Scheduled, not posted: still a draft, and a second post is refused.
    assert_eq!(api.status(&good).await, "Draft");
    let (status, body) = api.post_invoice(&good).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("has already been scheduled for posting."),
        "{message}"
    );
    // The tenant closes the period before the queue runs: both stay drafts.
    api.sandbox.set_posting(PostingSetup {
        post_with_job_queue: true,
        allowed_posting_dates: Some(("2000-01-01".parse().unwrap(), "2000-12-31".parse().unwrap())),
        ..PostingSetup::default()
    });
    let outcomes = api.sandbox.run_job_queue();
    assert_eq!(outcomes.len(), 2);
    assert!(outcomes.iter().all(|o| o.error.as_deref()
        == Some("Posting Date is not within your range of allowed posting dates.")));
    assert_eq!(api.status(&good).await, "Draft");
    assert!(api.sandbox.run_job_queue().is_empty());
    // Scheduled again under an open period, both post.
    api.sandbox.set_posting(PostingSetup {
        post_with_job_queue: true,
        ..PostingSetup::default()
    });
    assert_eq!(api.post_invoice(&good).await.0, StatusCode::NO_CONTENT);
    assert_eq!(api.post_invoice(&late).await.0, StatusCode::NO_CONTENT);
    let outcomes = api.sandbox.run_job_queue();
    assert!(outcomes.iter().all(|o| o.error.is_none()), "{outcomes:?}");
    assert_eq!(api.status(&good).await, "Open");
    assert_eq!(api.status(&late).await, "Open");
}

impl Api {
    /// A JSON `$batch` with `Isolation: snapshot`; answers the per-operation statuses.
    async fn atomic_batch(&self, requests: &[Value]) -> Vec<u64> {
        let body = json!({"requests": requests
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let mut r = r.clone();
                r["id"] = json!(i.to_string());
                r["url"] = json!(format!("{}/{}", self.company, r["url"].as_str().unwrap()));
                r["headers"] = json!({"Content-Type": "application/json"});
                r
            })
            .collect::<Vec<_>>()});
        let response = self
            .http
            .post(format!("{}/$batch", self.root))
            .bearer_auth(&self.token)
            .header("Isolation", "snapshot")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let answer: Value = response.json().await.unwrap();
        answer["responses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["status"].as_u64().unwrap())
            .collect()
    }
}

#[tokio::test]
async fn a_post_inside_an_atomic_batch_is_a_commit_point() {
    let api = seeded(VatRounding::Nearest).await;
    let invoice = api.invoice("10000", &[]).await;
    let id = invoice["id"].as_str().unwrap();
    let missing = "00000000-0000-0000-0000-00000000dead";
    // Without a post, a failure rolls the new line back.
    let statuses = api
        .atomic_batch(&[
            json!({"method": "POST", "url": format!("salesInvoices({id})/salesInvoiceLines"), "body": item("A", 1.0, 10.0, 0.0)}),
            json!({"method": "GET", "url": format!("salesInvoices({missing})")}),
        ])
        .await;
    assert_eq!(statuses, vec![201, 404]);
    assert!(api.lines(&invoice).await.is_empty());
    // With a post, what came before it and the posting itself stay; only what follows a
    // commit point rolls back.
    let statuses = api
        .atomic_batch(&[
            json!({"method": "POST", "url": format!("salesInvoices({id})/salesInvoiceLines"), "body": item("A", 1.0, 10.0, 0.0)}),
            json!({"method": "POST", "url": format!("salesInvoices({id})/Microsoft.NAV.post")}),
            json!({"method": "POST", "url": "salesInvoices", "body": {"customerNumber": "10000", "externalDocumentNumber": "AFTER"}}),
            json!({"method": "GET", "url": format!("salesInvoices({missing})")}),
        ])
        .await;
    assert_eq!(statuses, vec![201, 204, 201, 404]);
    assert_eq!(api.status(&invoice).await, "Open");
    assert_eq!(api.lines(&invoice).await.len(), 1);
    let after = api
        .get("salesInvoices?$filter=externalDocumentNumber eq 'AFTER'")
        .await;
    assert!(after["value"].as_array().unwrap().is_empty(), "{after}");
}

async fn entry_numbers(api: &Api) -> Vec<i64> {
    let body = api.get("itemLedgerEntries").await;
    let mut numbers: Vec<i64> = body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["entryNumber"].as_i64().unwrap())
        .collect();
    numbers.sort_unstable();
    numbers
}

async fn inventory_of(api: &Api, number: &str) -> Value {
    api.get(&format!("items?$filter=number eq '{number}'"))
        .await["value"][0]["inventory"]
        .clone()
}

#[tokio::test]
async fn ledger_entry_numbers_are_gapless_by_default_and_lose_numbers_from_a_sequence() {
    let api = seeded(VatRounding::Nearest).await;
    for _ in 0..3 {
        api.sandbox.post_adjustment("A", 1.0, None).unwrap();
    }
    assert_eq!(entry_numbers(&api).await, vec![1, 2, 3]);
    api.sandbox.set_ledger_sequence(LedgerSequence {
        gap_every: 3,
        hold_commits: false,
    });
    for _ in 0..4 {
        api.sandbox.post_adjustment("A", 1.0, None).unwrap();
    }
    assert_eq!(entry_numbers(&api).await, vec![1, 2, 3, 4, 5, 7, 8]);
}

#[tokio::test]
async fn a_late_commit_shows_a_lower_entry_number_after_a_higher_one() {
    let api = seeded(VatRounding::Nearest).await;
    api.sandbox.post_adjustment("A", 10.0, None).unwrap();
    // A long posting draws number 2 and has not committed yet.
    api.sandbox.set_ledger_sequence(LedgerSequence {
        gap_every: 0,
        hold_commits: true,
    });
    assert_eq!(api.sandbox.post_adjustment("A", -4.0, None).unwrap(), 2);
    api.sandbox.set_ledger_sequence(LedgerSequence::default());
    assert_eq!(api.sandbox.post_adjustment("A", 1.0, None).unwrap(), 3);
    assert_eq!(entry_numbers(&api).await, vec![1, 3]);
    assert_eq!(inventory_of(&api, "A").await, 11.0);
    // A reader that moved its watermark to 3 would never ask for 2 again.
    assert_eq!(api.sandbox.commit_ledger(), vec![2]);
    assert_eq!(entry_numbers(&api).await, vec![1, 2, 3]);
    assert_eq!(inventory_of(&api, "A").await, 7.0);
    let late = api
        .get("itemLedgerEntries?$filter=entryNumber gt 1 and entryNumber lt 3")
        .await;
    assert_eq!(late["value"][0]["quantity"], -4.0);
}

#[tokio::test]
async fn with_the_job_queue_the_post_call_may_answer_the_lookup_error_yet_the_posting_runs() {
    let api = Api::start(|c| {
        dutch(VatRounding::Nearest)(c);
        c.posting.post_with_job_queue = true;
        c.posting.job_queue_lookup_fails = true;
    })
    .await;
    api.sandbox
        .add_customer(json!({"number": "10000", "displayName": "Trey"}))
        .unwrap();
    api.sandbox
        .add_item(
            json!({"number": "A", "displayName": "A", "unitPrice": 10.0, "taxGroupCode": "VAT21"}),
        )
        .unwrap();
    let invoice = api.invoice("10000", &[item("A", 1.0, 10.0, 0.0)]).await;
    let (status, body) = api.post_invoice(&invoice).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"]["code"], "Internal_RecordNotFound");
    assert_eq!(api.status(&invoice).await, "Draft");
    let outcomes = api.sandbox.run_job_queue();
    assert_eq!(outcomes.len(), 1);
    assert_eq!(outcomes[0].error, None);
    assert_eq!(api.status(&invoice).await, "Open");
}

impl Api {
    async fn invoice_action(&self, invoice: &Value, action: &str) -> (StatusCode, Value) {
        let id = invoice["id"].as_str().unwrap();
        self.call(
            reqwest::Method::POST,
            &format!("salesInvoices({id})/Microsoft.NAV.{action}"),
            None,
        )
        .await
    }

    async fn credit_memos_of(&self, invoice: &Value) -> Vec<Value> {
        let id = invoice["id"].as_str().unwrap();
        self.get(&format!("salesCreditMemos?$filter=invoiceId eq {id}"))
            .await["value"]
            .as_array()
            .unwrap()
            .clone()
    }
}

#[tokio::test]
async fn cancel_posts_a_corrective_credit_memo_and_cancels_the_invoice() {
    let api = seeded(VatRounding::Nearest).await;
    api.sandbox.post_adjustment("A", 10.0, None).unwrap();
    let invoice = api
        .invoice(
            "C-POS",
            &[item("A", 2.0, 12.10, 4.82), item("B", 1.0, 5.45, 0.60)],
        )
        .await;
    // A draft cannot be canceled.
    let (status, body) = api.invoice_action(&invoice, "cancel").await;
    refused(
        status,
        &body,
        "Application_DialogException",
        "The action can be applied to a posted invoice only.",
    );
    assert_eq!(api.post_invoice(&invoice).await.0, StatusCode::NO_CONTENT);
    assert_eq!(inventory_of(&api, "A").await, 8.0);
    let (status, body) = api.invoice_action(&invoice, "cancel").await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let id = invoice["id"].as_str().unwrap();
    let canceled = api.get(&format!("salesInvoices({id})")).await;
    assert_eq!(canceled["status"], "Canceled");
    assert_eq!(canceled["remainingAmount"], 0.0);
    let memos = api.credit_memos_of(&invoice).await;
    assert_eq!(memos.len(), 1);
    assert_eq!(memos[0]["status"], "Corrective");
    assert_eq!(memos[0]["invoiceNumber"], canceled["number"]);
    assert_eq!(memos[0]["totalAmountIncludingTax"], 24.23);
    assert_eq!(memos[0]["totalTaxAmount"], 3.76);
    assert_eq!(inventory_of(&api, "A").await, 10.0);
    let (status, body) = api.invoice_action(&invoice, "cancel").await;
    refused(
        status,
        &body,
        "Application_DialogException",
        "The invoice cannot be canceled because it has already been canceled.",
    );
}

#[tokio::test]
async fn make_corrective_credit_memo_leaves_a_draft_applied_to_the_invoice() {
    let api = seeded(VatRounding::Nearest).await;
    let invoice = api.invoice("10000", &[item("A", 3.0, 20.0, 0.0)]).await;
    let (status, body) = api
        .invoice_action(&invoice, "makeCorrectiveCreditMemo")
        .await;
    refused(
        status,
        &body,
        "Application_DialogException",
        "The action can be applied to a posted invoice only.",
    );
    assert_eq!(api.post_invoice(&invoice).await.0, StatusCode::NO_CONTENT);
    let (status, body) = api
        .invoice_action(&invoice, "makeCorrectiveCreditMemo")
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let memos = api.credit_memos_of(&invoice).await;
    assert_eq!(memos.len(), 1);
    assert_eq!(memos[0]["status"], "Draft");
    assert_eq!(memos[0]["totalAmountExcludingTax"], 60.0);
    let memo_id = memos[0]["id"].as_str().unwrap();
    let lines = api
        .get(&format!("salesCreditMemos({memo_id})/salesCreditMemoLines"))
        .await;
    assert_eq!(lines["value"][0]["quantity"], 3.0);
    assert_eq!(lines["value"][0]["lineObjectNumber"], "A");
    // The invoice stays open until the credit memo is posted.
    assert_eq!(api.status(&invoice).await, "Open");
}

/// Sales orders have no `release` action in API v2.0: the standard page's only bound action
/// is `shipAndInvoice` (microsoft/BCApps, APIV2 `APIV2SalesOrders.Page.al`, `ShipAndInvoice`
/// only; Sales-Post releases an open order itself). `Microsoft.NAV.release` is answered as
/// any unknown segment; `shipAndInvoice` posts the open order and it is gone, its posted
/// invoice carrying the order number.
#[tokio::test]
async fn a_sales_order_is_shipped_and_invoiced_without_a_release_action() {
    let api = seeded(VatRounding::Nearest).await;
    api.sandbox.post_adjustment("A", 10.0, None).unwrap();
    let order = api
        .post("salesOrders", json!({"customerNumber": "C-POS"}))
        .await;
    let id = order["id"].as_str().unwrap().to_owned();
    api.post(
        &format!("salesOrders({id})/salesOrderLines"),
        item("A", 1.0, 12.10, 0.0),
    )
    .await;
    let (status, body) = api
        .call(
            reqwest::Method::POST,
            &format!("salesOrders({id})/Microsoft.NAV.release"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"]["code"], "BadRequest_NotFound", "{body}");
    let (status, body) = api
        .call(
            reqwest::Method::POST,
            &format!("salesOrders({id})/Microsoft.NAV.shipAndInvoice"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let invoices = api
        .get(&format!(
            "salesInvoices?$filter=orderNumber eq '{}'",
            order["number"].as_str().unwrap()
        ))
        .await;
    assert_eq!(invoices["value"].as_array().unwrap().len(), 1, "{invoices}");
}

/// API v2.0 `accounts` is read-only ([MS] api-reference/v2.0/resources/dynamics_account:
/// GET only): the tenant's chart of accounts, by number, with the VAT product group the
/// account gives a sales line of type `Account` (not on the wire); a POST is refused.
#[tokio::test]
async fn the_chart_of_accounts_is_read_only() {
    let api = seeded(VatRounding::Nearest).await;
    let accounts = api.get("accounts").await;
    let numbers: Vec<&str> = accounts["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["number"].as_str())
        .collect();
    assert!(!numbers.is_empty(), "{accounts}");
    let found = api
        .get(&format!("accounts?$filter=number eq '{}'", numbers[0]))
        .await;
    assert_eq!(found["value"].as_array().unwrap().len(), 1, "{found}");
    let (status, body) = api
        .call(
            reqwest::Method::POST,
            "accounts",
            Some(json!({"number": "9999", "displayName": "New"})),
        )
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{body}");
}

/// FIDELITY #15: BC posts with `Microsoft.NAV.Post` as with `post` (a live report; OData
/// names are case-sensitive, so the other answer is a setting); a `$batch` over 100
/// operations is a server error; posting a blocked item is a field validation error.
#[tokio::test]
async fn minor_differences_follow_bc() {
    let api = seeded(VatRounding::Nearest).await;
    let invoice = api.invoice("10000", &[item("A", 1.0, 10.0, 0.0)]).await;
    let id = invoice["id"].as_str().unwrap();
    let (status, body) = api
        .call(
            reqwest::Method::POST,
            &format!("salesInvoices({id})/Microsoft.NAV.Post"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(api.status(&invoice).await, "Open");

    let strict = Api::start(|c| {
        dutch(VatRounding::Nearest)(c);
        c.behaviour.action_names_ignore_case = false;
    })
    .await;
    strict
        .sandbox
        .add_customer(json!({"number": "10000", "displayName": "Trey Research"}))
        .unwrap();
    strict
        .sandbox
        .add_item(
            json!({"number": "A", "displayName": "A", "unitPrice": 10.0, "taxGroupCode": "VAT21"}),
        )
        .unwrap();
    let draft = strict.invoice("10000", &[item("A", 1.0, 10.0, 0.0)]).await;
    let id = draft["id"].as_str().unwrap();
    let (status, _) = strict
        .call(
            reqwest::Method::POST,
            &format!("salesInvoices({id})/Microsoft.NAV.Post"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(strict.status(&draft).await, "Draft");

    let requests: Vec<Value> = (0..101)
        .map(|i| {
            json!({"id": i.to_string(), "method": "GET",
            "url": format!("{}/items", api.company), "headers": {}})
        })
        .collect();
    let response = api
        .http
        .post(format!("{}/$batch", api.root))
        .bearer_auth(&api.token)
        .json(&json!({"requests": requests}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);

    api.sandbox
        .add_item(
            json!({"number": "OLD", "displayName": "Old", "unitPrice": 1.0,
            "taxGroupCode": "VAT21", "blocked": true}),
        )
        .unwrap();
    let draft = api.invoice("10000", &[]).await;
    let id = draft["id"].as_str().unwrap();
    let (status, body) = api
        .call(
            reqwest::Method::POST,
            &format!("salesInvoices({id})/salesInvoiceLines"),
            Some(item("OLD", 1.0, 1.0, 0.0)),
        )
        .await;
    refused(
        status,
        &body,
        "Application_FieldValidationException",
        "Blocked must be equal to 'No'",
    );
}
