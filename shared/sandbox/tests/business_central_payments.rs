//! Customer payments and sales tax through the simulated API v2.0.
//!
//! Payments: BCApps `src/Apps/W1/APIV2/app/src/pages/APIV2CustPaymJournals.Page.al`,
//! `APIV2CustomerPayments.Page.al`, `APIV2Journals.Page.al` and their E2E tests
//! (`src/Apps/W1/APIV2/test/src/APIV2CustomerPaymentsE2E.Codeunit.al`), with the docs example
//! of [MS] `api-reference/v2.0/api/dynamics_customerpaymentjournal_get`. Posting:
//! `GenJnlCheckLine.Codeunit.al`, `GenJnlPostLine.Codeunit.al`, `SalesInvoiceAggregator.Codeunit.al`.
//!
//! Sales tax: `APIV2TaxAreas.Page.al`, `TaxAreaBuffer.Table.al`, and codeunit 398 "Sales Tax
//! Calculate" of the NA localisation (`src/Layers/NA/BaseApp/Finance/SalesTax/
//! SalesTaxCalculate.Codeunit.al`, `DistTaxOverSalesLines`).

// Helpers fail loudly like the tests they serve; clippy exempts only `#[test]` bodies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use lsbc_sandbox::business_central::{
    BusinessCentralSandbox, BusinessCentralSandboxConfig, SalesTaxSetup, TaxJurisdiction,
};
use reqwest::{Method, StatusCode};
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
        let mut config = BusinessCentralSandboxConfig::default();
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

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let url = format!("{}/{}/{path}", self.root, self.company);
        let mut request = self
            .http
            .request(method.clone(), url)
            .bearer_auth(&self.token);
        if matches!(method, Method::PATCH | Method::DELETE) {
            request = request.header("If-Match", "*");
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
        let (status, body) = self.call(Method::GET, path, None).await;
        assert!(status.is_success(), "GET {path}: {status} {body}");
        body
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let (status, answer) = self.call(Method::POST, path, Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "POST {path}: {answer}");
        answer
    }

    async fn action(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::POST, path, None).await
    }

    /// The seeded customer payment journal.
    async fn journal(&self) -> Value {
        let body = self.get("customerPaymentJournals").await;
        body["value"][0].clone()
    }

    async fn customer(&self, name: &str) -> Value {
        self.post("customers", json!({"displayName": name})).await
    }

    /// A posted invoice of one line of `amount` for `customer`.
    async fn posted_invoice(&self, customer: &str, amount: f64) -> Value {
        let header = self
            .post("salesInvoices", json!({"customerNumber": customer}))
            .await;
        let id = header["id"].as_str().unwrap().to_owned();
        self.post(
            &format!("salesInvoices({id})/salesInvoiceLines"),
            json!({"lineType": "Item", "lineObjectNumber": "WIDGET", "quantity": 1, "unitPrice": amount}),
        )
        .await;
        let (status, body) = self
            .action(&format!("salesInvoices({id})/Microsoft.NAV.post"))
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        self.get(&format!("salesInvoices({id})")).await
    }
}

fn refused(status: StatusCode, body: &Value, code: &str, message: &str) {
    assert!(status.is_client_error(), "{status} {body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    let text = body["error"]["message"].as_str().unwrap_or("");
    assert!(text.contains(message), "{text:?} lacks {message:?}");
}

/// The members of an entity (annotations aside), sorted: the simulator's JSON objects do
/// not keep member order, so the page's field order is held by `schema.rs`, and a test can
/// only hold the set.
fn keys(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .filter(|k| !k.starts_with('@'))
        .collect()
}

fn sorted<'a>(names: &[&'a str]) -> Vec<&'a str> {
    let mut names = names.to_vec();
    names.sort_unstable();
    names
}

async fn with_widget() -> Api {
    let api = Api::start(|_| {}).await;
    api.sandbox
        .add_item(json!({"number": "WIDGET", "displayName": "Widget", "unitPrice": 100}))
        .unwrap();
    api
}

// ---- customer payment journals and payments ---------------------------------------------------

#[tokio::test]
async fn a_company_has_a_customer_payment_journal_shaped_as_the_docs_example() {
    // [MS] dynamics_customerpaymentjournal_get: code/displayName "GENERAL",
    // balancingAccountNumber "10100"; fields of APIV2CustPaymJournals.Page.al in order.
    let api = Api::start(|_| {}).await;
    let journal = api.journal().await;
    let id = journal["id"].as_str().unwrap();
    assert_eq!(
        keys(&journal),
        sorted(&[
            "id",
            "code",
            "displayName",
            "lastModifiedDateTime",
            "balancingAccountId",
            "balancingAccountNumber"
        ])
    );
    assert_eq!(journal["code"], "GENERAL");
    assert_eq!(journal["displayName"], "GENERAL");
    assert_eq!(journal["balancingAccountNumber"], "10100");
    let one = api.get(&format!("customerPaymentJournals({id})")).await;
    assert_eq!(one["code"], "GENERAL");
    // balancingAccountNumber is Editable = false.
    let (status, body) = api
        .call(
            Method::PATCH,
            &format!("customerPaymentJournals({id})"),
            Some(json!({"balancingAccountNumber": "2910"})),
        )
        .await;
    refused(status, &body, "BadRequest_InvalidOperation", "read-only");
}

#[tokio::test]
async fn a_payment_applied_by_invoice_number_fills_the_customer_and_the_invoice_id() {
    // APIV2CustomerPaymentsE2E TestCustomerAutofillWhenGivingInvoiceNumber and
    // TestAppliesToInvoiceNoAndIdSync; fields of APIV2CustomerPayments.Page.al in order.
    let api = with_widget().await;
    let customer = api.customer("Trey Research").await;
    let number = customer["number"].as_str().unwrap();
    let invoice = api.posted_invoice(number, 100.0).await;
    let journal = api.journal().await;
    let jid = journal["id"].as_str().unwrap();
    let payment = api
        .post(
            &format!("customerPaymentJournals({jid})/customerPayments"),
            json!({"appliesToInvoiceNumber": invoice["number"], "amount": -100, "externalDocumentNumber": "LS-SALE-7"}),
        )
        .await;
    assert_eq!(
        keys(&payment),
        sorted(&[
            "id",
            "journalId",
            "journalDisplayName",
            "lineNumber",
            "customerId",
            "customerNumber",
            "postingDate",
            "documentNumber",
            "externalDocumentNumber",
            "amount",
            "appliesToInvoiceId",
            "appliesToInvoiceNumber",
            "description",
            "comment",
            "lastModifiedDateTime"
        ])
    );
    assert_eq!(payment["journalId"], journal["id"]);
    assert_eq!(payment["journalDisplayName"], "GENERAL");
    assert_eq!(payment["lineNumber"], 10000);
    assert_eq!(payment["customerNumber"], customer["number"]);
    assert_eq!(payment["customerId"], customer["id"]);
    assert_eq!(payment["appliesToInvoiceId"], invoice["id"]);
    assert_eq!(payment["externalDocumentNumber"], "LS-SALE-7");
    // TestCreateCustomerPaymentWithoutDocNo: a document number is given.
    assert_ne!(payment["documentNumber"], "");
    // By id: the number follows (TestCreateCustomerPaymentWithInvoiceId).
    let second = api
        .post(
            &format!("customerPaymentJournals({jid})/customerPayments"),
            json!({"appliesToInvoiceId": invoice["id"]}),
        )
        .await;
    assert_eq!(second["appliesToInvoiceNumber"], invoice["number"]);
    assert_eq!(second["lineNumber"], 20000);
    assert_eq!(api.sandbox.customer_payments().len(), 2);
}

#[tokio::test]
async fn the_page_refuses_what_its_labels_say() {
    let api = with_widget().await;
    let customer = api.customer("Trey Research").await;
    let other = api.customer("Fabrikam").await;
    let jid = api.journal().await["id"].as_str().unwrap().to_owned();
    let path = format!("customerPaymentJournals({jid})/customerPayments");
    // TestCreateCustomerPaymentWithIdThatIsNotFromSalesInvoice: a customer's id.
    let (status, body) = api
        .call(
            Method::POST,
            &path,
            Some(json!({"appliesToInvoiceId": customer["id"]})),
        )
        .await;
    refused(
        status,
        &body,
        "Application_DialogException",
        "The \"appliesToInvoiceId\" should be the ID of an Open, Paid, Corrective, or Canceled Invoice.",
    );
    // A draft invoice is not a Sales Invoice Header.
    let draft = api
        .post(
            "salesInvoices",
            json!({"customerNumber": customer["number"]}),
        )
        .await;
    let (status, body) = api
        .call(
            Method::POST,
            &path,
            Some(json!({"appliesToInvoiceId": draft["id"]})),
        )
        .await;
    refused(
        status,
        &body,
        "Application_DialogException",
        "appliesToInvoiceId",
    );
    // TestCustomerNoAndIdSyncErrors.
    let (status, body) = api
        .call(
            Method::POST,
            &path,
            Some(json!({"customerNumber": "NOBODY"})),
        )
        .await;
    refused(
        status,
        &body,
        "Application_DialogException",
        "The \"customerNumber\" does not match to a Customer.",
    );
    let (status, body) = api
        .call(
            Method::POST,
            &path,
            Some(json!({"customerId": customer["id"], "customerNumber": other["number"]})),
        )
        .await;
    refused(
        status,
        &body,
        "Application_DialogException",
        "The customer values do not match to a specific Customer.",
    );
    // A line's journal cannot be changed.
    let line = api
        .post(&path, json!({"customerNumber": customer["number"]}))
        .await;
    let lid = line["id"].as_str().unwrap();
    let (status, body) = api
        .call(
            Method::PATCH,
            &format!("customerPayments({lid})"),
            Some(json!({"journalDisplayName": "OTHER"})),
        )
        .await;
    refused(
        status,
        &body,
        "Application_DialogException",
        "The Journal Batch Display Name cannot be changed.",
    );
    // TestModifyCustomerPaymentWithRandomDocNo: an unknown number is kept, its id blank.
    let (status, body) = api
        .call(
            Method::PATCH,
            &format!("{path}({lid})"),
            Some(json!({"appliesToInvoiceNumber": "NO-SUCH-INV"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["appliesToInvoiceNumber"], "NO-SUCH-INV");
    assert_eq!(
        body["appliesToInvoiceId"],
        "00000000-0000-0000-0000-000000000000"
    );
    // TestDeleteCustomerPayment.
    let (status, _) = api
        .call(Method::DELETE, &format!("{path}({lid})"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(api.sandbox.customer_payments().is_empty());
}

#[tokio::test]
async fn company_level_payments_need_a_journal() {
    // APIV2CustomerPayments.Page.al CheckFilters and OnInsertRecord: FiltersNotSpecifiedErr.
    let api = with_widget().await;
    let customer = api.customer("Trey Research").await;
    let (status, body) = api.call(Method::GET, "customerPayments", None).await;
    refused(
        status,
        &body,
        "Application_DialogException",
        "You must specify a journal batch ID or a journal ID to get a journal line.",
    );
    let (status, body) = api
        .call(
            Method::POST,
            "customerPayments",
            Some(json!({"customerNumber": customer["number"]})),
        )
        .await;
    refused(
        status,
        &body,
        "Application_DialogException",
        "You must specify a journal batch ID or a journal ID",
    );
    let jid = api.journal().await["id"].as_str().unwrap().to_owned();
    let created = api
        .post(
            "customerPayments",
            json!({"journalId": jid, "customerNumber": customer["number"], "amount": -5}),
        )
        .await;
    let listed = api
        .get(&format!("customerPayments?$filter=journalId eq {jid}"))
        .await;
    assert_eq!(listed["value"][0]["id"], created["id"]);
    let id = created["id"].as_str().unwrap();
    let one = api.get(&format!("customerPayments({id})")).await;
    assert_eq!(one["amount"], -5);
}

#[tokio::test]
async fn customer_payment_journals_have_no_post_action() {
    // APIV2CustPaymJournals.Page.al: `actions { }`. An unknown bound action is an unknown
    // segment (fixture error.badrequest-notfound.wrong-segment.json).
    let api = Api::start(|_| {}).await;
    let jid = api.journal().await["id"].as_str().unwrap().to_owned();
    let (status, body) = api
        .action(&format!(
            "customerPaymentJournals({jid})/Microsoft.NAV.post"
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    refused(
        status,
        &body,
        "BadRequest_NotFound",
        "Resource not found for the segment 'Microsoft.NAV.post'.",
    );
}

#[tokio::test]
async fn posting_through_journals_pays_the_invoice_partly_then_fully() {
    // APIV2Journals.Page.al `post` finds the batch by SystemId whatever its template;
    // SalesInvoiceAggregator: Closed → Paid; APIV2SalesInvoices GetRemainingAmount.
    let api = with_widget().await;
    let customer = api.customer("Trey Research").await;
    let number = customer["number"].as_str().unwrap();
    let invoice = api.posted_invoice(number, 100.0).await;
    assert_eq!(invoice["status"], "Open");
    assert_eq!(invoice["remainingAmount"], 100.0);
    let iid = invoice["id"].as_str().unwrap();
    let jid = api.journal().await["id"].as_str().unwrap().to_owned();
    let path = format!("customerPaymentJournals({jid})/customerPayments");
    // The journal is reachable as a journal by its id.
    let as_journal = api.get(&format!("journals({jid})")).await;
    assert_eq!(as_journal["templateDisplayName"], "CASHRCPT");

    api.post(
        &path,
        json!({"customerNumber": number, "appliesToInvoiceNumber": invoice["number"], "amount": -40}),
    )
    .await;
    let (status, body) = api
        .action(&format!("journals({jid})/Microsoft.NAV.post"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let after = api.get(&format!("salesInvoices({iid})")).await;
    assert_eq!(after["remainingAmount"], 60.0);
    assert_eq!(after["status"], "Open");
    assert_ne!(after["@odata.etag"], invoice["@odata.etag"]);
    // Posted lines leave the journal.
    let lines = api.get(&path).await;
    assert_eq!(lines["value"].as_array().unwrap().len(), 0);

    api.post(&path, json!({"appliesToInvoiceId": iid, "amount": -60}))
        .await;
    let (status, body) = api
        .action(&format!("journals({jid})/Microsoft.NAV.post"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let paid = api.get(&format!("salesInvoices({iid})")).await;
    assert_eq!(paid["remainingAmount"], 0.0);
    assert_eq!(paid["status"], "Paid");
    // A closed invoice has no open entry left to apply to.
    api.post(
        &path,
        json!({"customerNumber": number, "appliesToInvoiceNumber": invoice["number"], "amount": -1}),
    )
    .await;
    let (status, body) = api
        .action(&format!("journals({jid})/Microsoft.NAV.post"))
        .await;
    refused(
        status,
        &body,
        "Internal_RecordNotFound",
        "There is no Cust. Ledger Entry within the filter.",
    );
}

#[tokio::test]
async fn posting_checks_every_line_and_posts_nothing_on_a_refusal() {
    // GenJnlCheckLine CheckDocType → ErrorIfPositiveAmt ("must be negative") for a customer
    // payment; PrepareTempCustLedgEntry filters on the payment's customer, so another
    // customer's invoice, accepted on insert (TestCustomerAutofillDoesNotOverwrite), is
    // refused at posting.
    let api = with_widget().await;
    let trey = api.customer("Trey Research").await;
    let fabrikam = api.customer("Fabrikam").await;
    let invoice = api
        .posted_invoice(trey["number"].as_str().unwrap(), 100.0)
        .await;
    let iid = invoice["id"].as_str().unwrap().to_owned();
    let jid = api.journal().await["id"].as_str().unwrap().to_owned();
    let path = format!("customerPaymentJournals({jid})/customerPayments");
    let post = format!("journals({jid})/Microsoft.NAV.post");

    let (status, body) = api.action(&post).await;
    refused(
        status,
        &body,
        "Application_DialogException",
        "There is nothing to post.",
    );

    // The docs' v2.0 create example sends a positive 1500: accepted, but it cannot post.
    let positive = api
        .post(
            &path,
            json!({"customerNumber": trey["number"], "appliesToInvoiceNumber": invoice["number"], "amount": 1500}),
        )
        .await;
    let (status, body) = api.action(&post).await;
    refused(
        status,
        &body,
        "Application_FieldValidationException",
        "Amount must be negative in Gen. Journal Line",
    );
    let pid = positive["id"].as_str().unwrap();
    api.call(Method::DELETE, &format!("customerPayments({pid})"), None)
        .await;

    let foreign = api
        .post(
            &path,
            json!({"customerNumber": fabrikam["number"], "appliesToInvoiceNumber": invoice["number"], "amount": -100}),
        )
        .await;
    assert_eq!(foreign["customerNumber"], fabrikam["number"]);
    api.post(
        &path,
        json!({"customerNumber": trey["number"], "appliesToInvoiceNumber": invoice["number"], "amount": -10}),
    )
    .await;
    let (status, body) = api.action(&post).await;
    refused(status, &body, "Internal_RecordNotFound", "Customer No.: ");
    // Nothing posted: the invoice is untouched and both lines wait in the journal.
    let untouched = api.get(&format!("salesInvoices({iid})")).await;
    assert_eq!(untouched["remainingAmount"], 100.0);
    assert_eq!(api.sandbox.customer_payments().len(), 2);
}

#[tokio::test]
async fn a_journal_without_balancing_account_is_out_of_balance() {
    // GenJnlPostBatch CheckBalance, Text012 + Text013 (template forcing document balance).
    let api = Api::start(|c| c.payments.balancing_account = String::new()).await;
    let customer = api.customer("Trey Research").await;
    let journal = api.journal().await;
    assert_eq!(journal["balancingAccountNumber"], "");
    let jid = journal["id"].as_str().unwrap();
    api.post(
        &format!("customerPaymentJournals({jid})/customerPayments"),
        json!({"customerNumber": customer["number"], "amount": -25}),
    )
    .await;
    let (status, body) = api
        .action(&format!("journals({jid})/Microsoft.NAV.post"))
        .await;
    refused(
        status,
        &body,
        "Application_DialogException",
        "is out of balance by -25.00",
    );
}

// ---- sales tax ------------------------------------------------------------------------------

/// A US tenant: Atlanta = Georgia 4 % + Atlanta 4.9 % on TAXABLE goods; NONTAXABLE has no rate.
fn atlanta(c: &mut BusinessCentralSandboxConfig) {
    c.sales_tax = SalesTaxSetup::default().with_area(
        "ATLANTA, GA",
        "Atlanta, Georgia",
        vec![
            TaxJurisdiction::new("GA", &[("TAXABLE", 4.0)]),
            TaxJurisdiction::new("GAATL", &[("TAXABLE", 4.9)]),
        ],
    );
}

async fn us_tenant() -> (Api, String) {
    let api = Api::start(atlanta).await;
    for (number, price, group) in [("TAXED", 10.15, "TAXABLE"), ("FOOD", 20.0, "NONTAXABLE")] {
        api.sandbox
            .add_item(json!({"number": number, "displayName": number, "unitPrice": price, "taxGroupCode": group}))
            .unwrap();
    }
    let areas = api.get("taxAreas").await;
    let area = areas["value"][0]["id"].as_str().unwrap().to_owned();
    (api, area)
}

#[tokio::test]
async fn tax_areas_are_listed_with_their_tax_type() {
    // APIV2TaxAreas.Page.al fields; TaxAreaBuffer.LoadRecords: Tax Areas as "Sales Tax" when
    // the tenant does not use VAT.
    let (api, _) = us_tenant().await;
    let areas = api.get("taxAreas").await;
    let area = &areas["value"][0];
    assert_eq!(
        keys(area),
        sorted(&[
            "id",
            "code",
            "displayName",
            "taxType",
            "lastModifiedDateTime"
        ])
    );
    assert_eq!(area["code"], "ATLANTA, GA");
    assert_eq!(area["displayName"], "Atlanta, Georgia");
    assert_eq!(area["taxType"], "Sales_x0020_Tax");
    // A VAT tenant by default: no tax areas seeded.
    let vat = Api::start(|_| {}).await;
    assert!(vat.sandbox.tax_areas().is_empty());
}

#[tokio::test]
async fn a_customer_names_its_tax_area_by_id() {
    // APIV2Customers.Page.al: taxAreaId, taxAreaDisplayName (GetTaxAreaDisplayName), taxLiable;
    // Customer.Table.al UpdateTaxAreaCode: TaxArea.GetBySystemId.
    let (api, area) = us_tenant().await;
    let customer = api
        .post(
            "customers",
            json!({"displayName": "Peachtree Deli", "taxLiable": true, "taxAreaId": area}),
        )
        .await;
    assert_eq!(customer["taxAreaDisplayName"], "Atlanta, Georgia");
    assert_eq!(customer["taxLiable"], true);
    let (status, body) = api
        .call(
            Method::POST,
            "customers",
            Some(json!({"displayName": "Nowhere", "taxAreaId": "11111111-2222-3333-4444-555555555555"})),
        )
        .await;
    refused(status, &body, "Internal_RecordNotFound", "Tax Area");
}

#[tokio::test]
async fn sales_tax_is_rounded_per_jurisdiction_with_the_remainder_carried() {
    // DistTaxOverSalesLines: per jurisdiction (GA, then GAATL), lines smallest first,
    // Round(TaxAmount + TotalTaxAmountRounding). Two lines of 10.15: GA 0.41 + 0.40, GAATL
    // 0.50 + 0.50 → lines 0.91 and 0.90, 1.81 in all (8.9 % of each line rounded alone
    // would give 0.90 + 0.90).
    let (api, area) = us_tenant().await;
    let customer = api
        .post(
            "customers",
            json!({"displayName": "Peachtree Deli", "taxLiable": true, "taxAreaId": area}),
        )
        .await;
    let header = api
        .post(
            "salesInvoices",
            json!({"customerNumber": customer["number"]}),
        )
        .await;
    let id = header["id"].as_str().unwrap().to_owned();
    for number in ["TAXED", "TAXED", "FOOD"] {
        api.post(
            &format!("salesInvoices({id})/salesInvoiceLines"),
            json!({"lineType": "Item", "lineObjectNumber": number, "quantity": 1}),
        )
        .await;
    }
    let invoice = api.get(&format!("salesInvoices({id})")).await;
    assert_eq!(invoice["totalAmountExcludingTax"], 40.3);
    assert_eq!(invoice["totalTaxAmount"], 1.81);
    assert_eq!(invoice["totalAmountIncludingTax"], 42.11);
    let lines = api
        .get(&format!("salesInvoices({id})/salesInvoiceLines"))
        .await;
    let lines = lines["value"].as_array().unwrap();
    let taxes: Vec<f64> = lines
        .iter()
        .map(|l| l["totalTaxAmount"].as_f64().unwrap())
        .collect();
    let mut positive: Vec<f64> = taxes.iter().copied().filter(|t| *t > 0.0).collect();
    positive.sort_by(f64::total_cmp);
    assert_eq!(positive, vec![0.90, 0.91]);
    let food = lines
        .iter()
        .find(|l| l["lineObjectNumber"] == "FOOD")
        .unwrap();
    assert_eq!(food["totalTaxAmount"], 0.0);
    assert_eq!(food["taxCode"], "NONTAXABLE");
    let taxed_line = lines
        .iter()
        .find(|l| l["lineObjectNumber"] == "TAXED")
        .unwrap();
    assert!((taxed_line["taxPercent"].as_f64().unwrap() - 8.9).abs() < 1e-9);
}

#[tokio::test]
async fn a_customer_not_liable_for_tax_pays_none() {
    // EndSalesTaxCalculation: not Tax Liable → no tax added.
    let (api, area) = us_tenant().await;
    let exempt = api
        .post(
            "customers",
            json!({"displayName": "School district", "taxLiable": false, "taxAreaId": area}),
        )
        .await;
    let header = api
        .post("salesInvoices", json!({"customerNumber": exempt["number"]}))
        .await;
    let id = header["id"].as_str().unwrap().to_owned();
    api.post(
        &format!("salesInvoices({id})/salesInvoiceLines"),
        json!({"lineType": "Item", "lineObjectNumber": "TAXED", "quantity": 3}),
    )
    .await;
    let invoice = api.get(&format!("salesInvoices({id})")).await;
    assert_eq!(invoice["totalTaxAmount"], 0.0);
    assert_eq!(invoice["totalAmountIncludingTax"], 30.45);
    // Made liable, the same document is taxed: 30.45 × 4 % = 1.218 → 1.22 (carry -0.002);
    // × 4.9 % = 1.49205 - 0.002 → 1.49.
    let cid = exempt["id"].as_str().unwrap();
    let (status, body) = api
        .call(
            Method::PATCH,
            &format!("customers({cid})"),
            Some(json!({"taxLiable": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    api.post(
        &format!("salesInvoices({id})/salesInvoiceLines"),
        json!({"lineType": "Comment", "description": "recalculate"}),
    )
    .await;
    let taxed = api.get(&format!("salesInvoices({id})")).await;
    assert_eq!(taxed["totalTaxAmount"], 2.71);
}
