//! Item ledger entries as a tenant exposes them without code: page 38 "Item Ledger Entries"
//! published as an OData V4 web service. URL `…/v2.0/{tenant}/{environment}/ODataV4/
//! Company('{name}')/{service}` ([MS] training module "work-with-web-services"), fields named
//! like the page's controls (`Entry_No`, … — BCApps `ItemLedgerEntries.Page.al`; naming as in
//! [MS] `webservices/use-filter-expressions-in-odata-uris`), `$filter=Entry_No gt N`,
//! `$orderby`, server-driven paging with `@odata.nextLink` ([MS]
//! `webservices/Server-Driven-Paging-in-OData-Web-Services`), an unknown service name answered
//! like an unknown segment (fixture error.badrequest-notfound.wrong-segment.json).

// Helpers fail loudly like the tests they serve; clippy exempts only `#[test]` bodies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use lsbc_sandbox::business_central::{
    BusinessCentralSandbox, BusinessCentralSandboxConfig, LedgerSequence, SandboxCompany,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

const COMPANY: &str = "CRONUS USA, Inc.";

struct OData {
    http: reqwest::Client,
    token: String,
    sandbox: BusinessCentralSandbox,
}

impl OData {
    async fn start(tweak: impl FnOnce(&mut BusinessCentralSandboxConfig)) -> Self {
        let mut config = BusinessCentralSandboxConfig {
            companies: vec![SandboxCompany::named(COMPANY, COMPANY)],
            page_size: 3,
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
            http,
            token: token["access_token"].as_str().unwrap().to_owned(),
            sandbox,
        }
    }

    /// `…/ODataV4/Company('CRONUS%20USA%2C%20Inc.')/{service}?{query}`.
    fn url(&self, service: &str, query: &str) -> String {
        format!(
            "{}/Company('CRONUS%20USA%2C%20Inc.')/{service}?{query}",
            self.sandbox.odata_v4_root()
        )
    }

    async fn call(&self, url: &str, token: Option<&str>) -> (StatusCode, Value) {
        let mut request = self.http.get(url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, url: &str) -> Value {
        let (status, body) = self.call(url, Some(&self.token)).await;
        assert_eq!(status, StatusCode::OK, "GET {url}: {body}");
        body
    }

    /// Every row from `url`, following `@odata.nextLink`; also the number of pages.
    async fn all(&self, url: &str) -> (Vec<Value>, usize) {
        let mut rows = Vec::new();
        let mut next = Some(url.to_owned());
        let mut pages = 0;
        while let Some(url) = next {
            let body = self.get(&url).await;
            pages += 1;
            rows.extend(body["value"].as_array().unwrap().iter().cloned());
            next = body["@odata.nextLink"].as_str().map(str::to_owned);
        }
        (rows, pages)
    }
}

fn entry_numbers(rows: &[Value]) -> Vec<i64> {
    rows.iter()
        .map(|r| r["Entry_No"].as_i64().unwrap())
        .collect()
}

/// One item at two locations, with a variant: the entries read back through the web
/// service with a filter on `Entry_No`, ordered and paged.
#[tokio::test]
async fn ledger_entries_read_through_the_odata_v4_page() {
    let odata = OData::start(|_| {}).await;
    let sb = &odata.sandbox;
    for (code, name) in [("MAIN", "Main"), ("EAST", "East")] {
        sb.add_location(json!({"code": code, "displayName": name}))
            .unwrap();
    }
    let item = sb.add_item(json!({"displayName": "Desk"})).unwrap();
    let number = item["number"].as_str().unwrap();
    sb.add_item_variant(json!({"itemNumber": number, "code": "OAK", "description": "Oak"}))
        .unwrap();

    assert_eq!(sb.post_purchase(number, 10.0, Some("MAIN")).unwrap(), 1);
    assert_eq!(sb.post_purchase(number, 4.0, Some("EAST")).unwrap(), 2);
    assert_eq!(sb.post_adjustment(number, -3.0, Some("MAIN")).unwrap(), 3);
    assert_eq!(
        sb.post_variant_adjustment(number, "oak", 5.0, Some("MAIN"))
            .unwrap(),
        4
    );
    assert_eq!(
        sb.post_variant_adjustment(number, "OAK", -2.0, Some("MAIN"))
            .unwrap(),
        5
    );
    assert_eq!(sb.post_adjustment(number, -1.0, Some("EAST")).unwrap(), 6);
    // A variant the item does not have is refused (the variant code relates to Item Variant).
    assert!(
        sb.post_variant_adjustment(number, "PINE", 1.0, None)
            .is_err()
    );

    // After a watermark of 1, ascending, three to a page.
    let url = odata.url(
        "ItemLedgerEntries",
        "$filter=Entry_No%20gt%201&$orderby=Entry_No%20asc",
    );
    let first = odata.get(&url).await;
    let context = first["@odata.context"].as_str().unwrap();
    assert!(
        context.contains("/ODataV4/$metadata#Company('CRONUS%20USA")
            && context.ends_with("')/ItemLedgerEntries"),
        "{context}"
    );
    assert_eq!(entry_numbers(first["value"].as_array().unwrap()), [2, 3, 4]);
    let next = first["@odata.nextLink"].as_str().unwrap();
    assert!(next.contains("$skiptoken="), "{next}");
    assert!(next.contains("$filter=Entry_No%20gt%201"), "{next}");
    let (rows, pages) = odata.all(&url).await;
    assert_eq!(pages, 2);
    assert_eq!(entry_numbers(&rows), [2, 3, 4, 5, 6]);

    let (rows, _) = odata
        .all(&odata.url("ItemLedgerEntries", "$orderby=Entry_No%20asc"))
        .await;
    let pick = |n: i64| rows.iter().find(|r| r["Entry_No"] == n).unwrap().clone();
    let one = pick(1);
    assert_eq!(one["Item_No"], number);
    assert_eq!(one["Location_Code"], "MAIN");
    assert_eq!(one["Variant_Code"], "");
    assert_eq!(one["Entry_Type"], "Purchase");
    assert_eq!(one["Quantity"].as_f64(), Some(10.0));
    assert!(one["Posting_Date"].as_str().unwrap().len() == 10);
    assert!(one["@odata.etag"].as_str().unwrap().starts_with("W/"));
    // Entry 3 (−3 at MAIN) applied to entry 1; entry 6 (−1 at EAST) to entry 2; the
    // variant's −2 only to the variant's +5 (same item, variant and location).
    assert_eq!(one["Remaining_Quantity"].as_f64(), Some(7.0));
    assert_eq!(one["Open"], true);
    assert_eq!(pick(2)["Remaining_Quantity"].as_f64(), Some(3.0));
    assert_eq!(pick(3)["Remaining_Quantity"].as_f64(), Some(0.0));
    assert_eq!(pick(3)["Open"], false);
    assert_eq!(pick(3)["Entry_Type"], "Negative_x0020_Adjmt_x002E_");
    assert_eq!(pick(4)["Variant_Code"], "OAK");
    assert_eq!(pick(4)["Remaining_Quantity"].as_f64(), Some(3.0));
    assert_eq!(pick(5)["Variant_Code"], "OAK");
    assert_eq!(pick(5)["Open"], false);
    assert_eq!(pick(6)["Location_Code"], "EAST");
    assert_eq!(pick(6)["Remaining_Quantity"].as_f64(), Some(0.0));

    // Filters on the page's fields; descending order pages too.
    let (rows, _) = odata
        .all(&odata.url(
            "ItemLedgerEntries",
            "$filter=Location_Code%20eq%20'MAIN'%20and%20Variant_Code%20eq%20'OAK'",
        ))
        .await;
    assert_eq!(rows.len(), 2);
    let (rows, pages) = odata
        .all(&odata.url("ItemLedgerEntries", "$orderby=Entry_No%20desc"))
        .await;
    assert_eq!((entry_numbers(&rows), pages), (vec![6, 5, 4, 3, 2, 1], 2));
    // Without `$orderby`: the page's SourceTableView, Entry No. descending (a setting).
    let (rows, _) = odata.all(&odata.url("ItemLedgerEntries", "")).await;
    assert_eq!(entry_numbers(&rows), [6, 5, 4, 3, 2, 1]);
    // `Prefer: odata.maxpagesize` shrinks the page.
    let answer = odata
        .http
        .get(odata.url("ItemLedgerEntries", "$orderby=Entry_No%20asc"))
        .bearer_auth(&odata.token)
        .header("Prefer", "odata.maxpagesize=2")
        .send()
        .await
        .unwrap();
    assert_eq!(
        answer.headers()["Preference-Applied"],
        "odata.maxpagesize=2"
    );
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["value"].as_array().unwrap().len(), 2);

    // API v2.0 shows the same entries, without location or variant.
    let api = format!(
        "{}/companies({})/itemLedgerEntries?$filter=entryNumber%20gt%201",
        sb.api_root(),
        sb.company_id()
    );
    let v2 = odata.get(&api).await;
    assert_eq!(v2["value"].as_array().unwrap().len(), 3);
    assert!(v2["value"][0].get("Variant_Code").is_none());
}

/// Gaps and late commits reach the web service as they reach API v2.0: an `Entry_No`
/// watermark misses an entry that commits after a higher one.
#[tokio::test]
async fn a_late_commit_appears_below_the_watermark() {
    let odata = OData::start(|c| {
        c.ledger = LedgerSequence {
            gap_every: 3,
            hold_commits: false,
        };
    })
    .await;
    let sb = &odata.sandbox;
    let item = sb.add_item(json!({"displayName": "Lamp"})).unwrap();
    let number = item["number"].as_str().unwrap();
    assert_eq!(sb.post_purchase(number, 1.0, None).unwrap(), 1);
    assert_eq!(sb.post_purchase(number, 1.0, None).unwrap(), 2);
    // 3 is lost.
    assert_eq!(sb.post_purchase(number, 1.0, None).unwrap(), 4);
    sb.set_ledger_sequence(LedgerSequence {
        gap_every: 3,
        hold_commits: true,
    });
    assert_eq!(sb.post_purchase(number, 1.0, None).unwrap(), 5);
    sb.set_ledger_sequence(LedgerSequence {
        gap_every: 3,
        hold_commits: false,
    });
    assert_eq!(sb.post_purchase(number, 1.0, None).unwrap(), 7);
    let url = odata.url(
        "ItemLedgerEntries",
        "$filter=Entry_No%20gt%202&$orderby=Entry_No",
    );
    let (rows, _) = odata.all(&url).await;
    assert_eq!(entry_numbers(&rows), [4, 7]);
    assert_eq!(sb.commit_ledger(), [5]);
    let (rows, _) = odata.all(&url).await;
    assert_eq!(entry_numbers(&rows), [4, 5, 7]);
}

/// A service name the tenant did not publish answers as an unknown segment does; the web
/// service takes the same bearer tokens as API v2.0 and refuses a request without one.
#[tokio::test]
async fn unpublished_services_and_missing_tokens_are_refused() {
    let odata = OData::start(|_| {}).await;
    let (status, body) = odata
        .call(&odata.url("ItemLedgerEntriez", ""), Some(&odata.token))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "BadRequest_NotFound");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Resource not found for the segment 'ItemLedgerEntriez'."),
        "{body}"
    );
    let (status, body) = odata.call(&odata.url("ItemLedgerEntries", ""), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, _) = odata
        .call(&odata.url("ItemLedgerEntries", ""), Some(&odata.token))
        .await;
    assert_eq!(status, StatusCode::OK);

    // Published under another name (or not at all), the default name is unknown.
    let renamed = OData::start(|c| {
        c.behaviour.item_ledger_web_service = Some("ILE".to_owned());
    })
    .await;
    let (status, _) = renamed
        .call(&renamed.url("ItemLedgerEntries", ""), Some(&renamed.token))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = renamed
        .call(&renamed.url("ILE", ""), Some(&renamed.token))
        .await;
    assert_eq!(status, StatusCode::OK);
    let unpublished = OData::start(|c| c.behaviour.item_ledger_web_service = None).await;
    let (status, _) = unpublished
        .call(
            &unpublished.url("ItemLedgerEntries", ""),
            Some(&unpublished.token),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// A posted sales invoice's line carries its variant to the item ledger entry (Sales-Post
/// copies the line's `Variant Code`), so page 38 shows the sale per variant and location.
#[tokio::test]
async fn a_posted_sale_of_a_variant_is_a_ledger_entry_of_that_variant() {
    let o = OData::start(|_| {}).await;
    let bc = &o.sandbox;
    let item = bc
        .add_item(json!({"number": "TEE", "displayName": "Tee"}))
        .unwrap();
    let red = bc
        .add_item_variant(json!({"itemId": item["id"], "code": "RED"}))
        .unwrap();
    bc.add_location(json!({"code": "AMS", "displayName": "Amsterdam"}))
        .unwrap();
    let location = bc.records("locations")[0]["id"].clone();
    bc.add_customer(json!({"number": "C1", "displayName": "Ann"}))
        .unwrap();
    let api = format!("{}/companies({})", bc.api_root(), bc.company_id());
    let invoice: Value = o
        .http
        .post(format!("{api}/salesInvoices"))
        .bearer_auth(&o.token)
        .json(&json!({"customerNumber": "C1", "salesInvoiceLines": [
            {"lineType": "Item", "itemId": item["id"], "itemVariantId": red["id"],
             "locationId": location, "quantity": 2, "unitPrice": 10}
        ]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = invoice["id"].as_str().unwrap();
    let posted = o
        .http
        .post(format!("{api}/salesInvoices({id})/Microsoft.NAV.post"))
        .bearer_auth(&o.token)
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), StatusCode::NO_CONTENT);
    let (rows, _) = o.all(&o.url("ItemLedgerEntries", "")).await;
    let sale: Vec<&Value> = rows.iter().filter(|r| r["Quantity"] == -2.0).collect();
    assert_eq!(sale.len(), 1, "{rows:#?}");
    assert_eq!(sale[0]["Variant_Code"], "RED");
    assert_eq!(sale[0]["Location_Code"], "AMS");
    assert_eq!(sale[0]["Item_No"], "TEE");
}

/// Page 497 "Reservation Entries" published as a web service: a reservation from inventory
/// for a sales order is a pair of entries (BCApps `ReservationEntries.Page.al` controls);
/// "Reserved Qty. on Inventory" is the sum of `Quantity_Base` over status Reservation,
/// source type 32, subtype 0 (`Item.Table.al` field 101). Unpublished (a new tenant's
/// state), it is an unknown segment.
#[tokio::test]
async fn reservations_read_through_page_497_once_it_is_published() {
    let odata = OData::start(|_| {}).await;
    let bc = &odata.sandbox;
    bc.add_item(json!({"number": "1000", "displayName": "Bicycle"}))
        .unwrap();
    bc.add_location(json!({"code": "AMS", "displayName": "Amsterdam"}))
        .unwrap();
    bc.post_purchase("1000", 10.0, Some("AMS")).unwrap();
    bc.reserve_from_inventory("1000", "", "AMS", 2.0, "101005")
        .unwrap();
    let (status, body) = odata
        .call(&odata.url("ReservationEntries", ""), Some(&odata.token))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    bc.publish_reservation_entries(Some("ReservationEntries"));
    let (rows, _) = odata
        .all(&odata.url(
            "ReservationEntries",
            "$filter=Item_No%20eq%20'1000'%20and%20Source_Type%20eq%2032",
        ))
        .await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert_eq!(row["Reservation_Status"], "Reservation");
    assert_eq!(row["Location_Code"], "AMS");
    assert_eq!(row["Quantity_Base"], 2.0);
    assert_eq!(row["Source_Subtype"], "0");
    let (all, _) = odata.all(&odata.url("ReservationEntries", "")).await;
    let sum: f64 = all
        .iter()
        .map(|r| r["Quantity_Base"].as_f64().unwrap())
        .sum();
    assert_eq!(all.len(), 2);
    assert!(sum.abs() < 1e-9, "the pair balances: {all:?}");
    assert!(
        all.iter()
            .any(|r| r["Source_Type"] == 37 && r["Source_ID"] == "101005")
    );
    assert!(
        bc.reserve_from_inventory("NOPE", "", "AMS", 1.0, "101005")
            .is_err()
    );
}

/// Page 5404 "Item Units of Measure" published as a web service: each item's base unit (1)
/// and its other units with how many base units they hold (BCApps
/// `ItemUnitsofMeasure.Page.al` controls `Item No.`, `Code`, `Qty. per Unit of Measure`),
/// filterable by `Item_No`, paged by its key (Item No., Code). Unpublished (a new tenant's
/// state), it is an unknown segment.
#[tokio::test]
async fn item_units_read_through_page_5404_once_it_is_published() {
    let odata = OData::start(|_| {}).await;
    let bc = &odata.sandbox;
    for (number, name) in [("1000", "Bicycle"), ("1001", "Bell")] {
        bc.add_item(json!({"number": number, "displayName": name, "baseUnitOfMeasureCode": "PCS"}))
            .unwrap();
    }
    bc.set_item_unit_of_measure("1000", "BOX", 12.0).unwrap();
    bc.set_item_unit_of_measure("1001", "BOX", 6.0).unwrap();
    bc.set_item_unit_of_measure("1001", "PALLET", 480.0)
        .unwrap();
    let (status, body) = odata
        .call(&odata.url("ItemUnitsofMeasure", ""), Some(&odata.token))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"]["code"], "BadRequest_NotFound", "{body}");

    bc.publish_item_units_of_measure(Some("ItemUnitsofMeasure"));
    let (rows, _) = odata
        .all(&odata.url("ItemUnitsofMeasure", "$filter=Item_No%20eq%20'1000'"))
        .await;
    let units: Vec<(String, f64)> = rows
        .iter()
        .map(|r| {
            (
                r["Code"].as_str().unwrap().to_owned(),
                r["Qty_per_Unit_of_Measure"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(units, [("BOX".to_owned(), 12.0), ("PCS".to_owned(), 1.0)]);
    // Five rows over pages of three, in key order, none twice.
    let (all, pages) = odata.all(&odata.url("ItemUnitsofMeasure", "")).await;
    assert_eq!(pages, 2);
    let keys: Vec<String> = all
        .iter()
        .map(|r| {
            format!(
                "{}/{}",
                r["Item_No"].as_str().unwrap(),
                r["Code"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        keys,
        [
            "1000/BOX",
            "1000/PCS",
            "1001/BOX",
            "1001/PALLET",
            "1001/PCS"
        ]
    );
    // Another name than the published one is still unknown.
    let (status, _) = odata
        .call(&odata.url("ItemUnits", ""), Some(&odata.token))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(bc.set_item_unit_of_measure("NOPE", "BOX", 12.0).is_err());
    assert!(bc.set_item_unit_of_measure("1000", "BOX", 0.0).is_err());
    bc.publish_item_units_of_measure(None);
    let (status, _) = odata
        .call(&odata.url("ItemUnitsofMeasure", ""), Some(&odata.token))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
