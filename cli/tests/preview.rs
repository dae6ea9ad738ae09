//! `lsbc preview`: a record's Business Central requests, warnings and validation, without
//! network; and the binary's exit codes.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use lsbc_cli::preview::preview;
use lsbc_core::Flow;
use serde_json::{Value, json};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/lightspeed");

#[tokio::test]
async fn a_company_customer_becomes_a_customer_and_a_contact() {
    let input: Value = serde_json::from_str(
        &std::fs::read_to_string(format!(
            "{FIXTURES}/rseries_customer_list_with_contact.docs.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let out = preview(Flow::Customers, &input, None).await.unwrap();
    assert!(out.ok, "{}", out.report);
    let command = &out.report["commands"][0];
    assert_eq!(command["requests"][0]["create"]["type"], "Company");
    assert_eq!(command["requests"][1]["entitySet"], "contacts");
    assert!(
        command["warnings"][0]
            .as_str()
            .unwrap()
            .contains("not a valid address")
    );
}

#[tokio::test]
async fn an_unplaceable_country_is_reported_with_its_field() {
    let input = json!({"Customer": {
        "customerID": "9", "firstName": "A", "lastName": "B", "timeStamp": "2026-01-01T00:00:00+00:00",
        "Contact": {"Addresses": {"ContactAddress": {"address1": "x", "city": "Ys", "country": "Atlantis", "countryCode": ""}}}
    }});
    let out = preview(Flow::Customers, &input, None).await.unwrap();
    assert!(!out.ok);
    assert_eq!(out.report["outcome"], "invalid");
    assert_eq!(out.report["field"], "customer.country");
}

/// A sale as the API returns it (docs sample 277: two lines at GST 5 % + QST 9.975 %, a
/// named customer, its shop): one invoice, its header and lines as sent, the total BC
/// should reach.
#[tokio::test]
async fn a_sale_becomes_an_invoice_with_its_lines_and_total() {
    let input: Value = serde_json::from_str(
        &std::fs::read_to_string(format!(
            "{FIXTURES}/rseries_sale_create_response_with_lines_payments.docs.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let out = preview(Flow::Orders, &input, None).await.unwrap();
    assert!(out.ok, "{:#}", out.report);
    assert_eq!(out.report["outcome"], "ok");
    let command = &out.report["commands"][0];
    assert_eq!(command["match_key"], "LS-277");
    assert_eq!(command["sale_total"], "34.48");
    let request = &command["requests"][0];
    assert_eq!(request["entitySet"], "salesInvoices");
    assert_eq!(request["header"]["externalDocumentNumber"], "LS-277");
    assert!(
        request["header"]["customerId"]
            .as_str()
            .unwrap()
            .contains("Lightspeed customer 8")
    );
    assert_eq!(request["total"], "34.48");
    let lines = request["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert_eq!(lines[0]["lineType"], "Item");
    assert!(lines[0]["quantity"].as_f64().unwrap() > 0.0);
    assert!(lines[0].get("unitPrice").is_some() && lines[0].get("discountAmount").is_some());
    assert_eq!(command["validation_errors"], json!([]));
}

/// A walk-in sale without a default customer is invalid, naming the setting.
#[tokio::test]
async fn a_walk_in_sale_needs_the_default_customer() {
    let mut input: Value = serde_json::from_str(
        &std::fs::read_to_string(format!(
            "{FIXTURES}/rseries_sale_create_response_with_lines_payments.docs.json"
        ))
        .unwrap(),
    )
    .unwrap();
    input["Sale"]["customerID"] = json!("0");
    input["Sale"].as_object_mut().unwrap().remove("Customer");
    let out = preview(Flow::Orders, &input, None).await.unwrap();
    assert!(!out.ok);
    assert_eq!(out.report["outcome"], "invalid");
    assert_eq!(out.report["field"], "default_customer_number");
}

#[test]
fn the_binary_prints_json_and_exits_by_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let good = format!("{FIXTURES}/rseries_customer_post_response.docs.json");
    let out = Command::new(env!("CARGO_BIN_EXE_lsbc"))
        .args(["preview", "customers", "--input", &good])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["outcome"], "ok");

    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"customerID":"9","firstName":"A","timeStamp":"2026-01-01T00:00:00+00:00","Contact":{"Addresses":{"ContactAddress":{"country":"Atlantis"}}}}"#,
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lsbc"))
        .args(["preview", "customers", "--input", bad.to_str().unwrap()])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));

    let out = Command::new(env!("CARGO_BIN_EXE_lsbc"))
        .args(["preview", "customers", "--input", "missing.json"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.json"));
}

#[tokio::test]
async fn a_matrix_previews_as_its_item_then_its_variants() {
    let input: Value = serde_json::from_str(
        &std::fs::read_to_string(format!(
            "{FIXTURES}/rseries_itemmatrix_show_load_relations_all.vcr.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let out = preview(Flow::Products, &input, None).await.unwrap();
    assert!(out.ok, "{}", out.report);
    let commands = out.report["commands"].as_array().unwrap();
    assert_eq!(commands[0]["command"]["kind"], "item");
    assert_eq!(commands[0]["match_key"], "MATRIX-1");
    assert_eq!(commands[1]["command"]["kind"], "variants");
    assert_eq!(
        commands[1]["match_key"], "MATRIX-1",
        "same FIFO group, in order"
    );
}

#[tokio::test]
async fn an_item_previews_with_its_sku_as_the_number() {
    let input: Value = serde_json::from_str(
        &std::fs::read_to_string(format!(
            "{FIXTURES}/rseries_item_show_load_relations_all.vcr.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let out = preview(Flow::Products, &input, None).await.unwrap();
    assert!(out.ok, "{}", out.report);
    let item = &out.report["commands"][0]["command"]["item"];
    assert_eq!(item["number"], out.report["commands"][0]["match_key"]);
    assert_eq!(item["type"], "Inventory");
}
