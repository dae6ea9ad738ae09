//! The demo's stock: Business Central receives stock of the synced simple items at the
//! three shops' locations before the first stock pass, transfers and adjusts some before the
//! second; the stock flow brings each Lightspeed shop to its figure. The check computes
//! every figure again from the simulators' own ledger, sales orders and sales — not with
//! the flow's code — and compares it with Lightspeed's quantities on hand.

use std::collections::BTreeMap;

use lsbc_sandbox::lightspeed::Entity;
use serde_json::{Value, json};

use crate::CliError;
use crate::sandboxes::Sandboxes;

/// Lightspeed shop → its Business Central location.
const SHOPS: [(u64, &str); 3] = [(1, "AMS"), (2, "MTL"), (3, "NYC")];

/// How many simple items Business Central stocks.
const STOCKED: usize = 12;

/// The stock flow's settings in the demo: each shop shows its own location, less what open
/// sales orders there still have to ship (the default formula). No daily sweep: its first
/// run would recompute every item the ledger's first read already did (the test suite runs
/// it).
pub fn settings() -> Value {
    let shops: serde_json::Map<String, Value> = SHOPS
        .iter()
        .map(|(shop, code)| (shop.to_string(), json!({"locations": [code]})))
        .collect();
    json!({"shops": shops, "sweep_hour_utc": null})
}

fn text<'a>(v: &'a Value, field: &str) -> &'a str {
    v.get(field).and_then(Value::as_str).unwrap_or_default()
}

/// The simple Lightspeed items Business Central stocks: (Lightspeed id, BC item number),
/// those whose SKU is the number of a BC inventory item, in SKU order. A SKU two Lightspeed items share is
/// left out (the products flow links one of them, and says so).
fn stocked(sandboxes: &Sandboxes) -> Vec<(u64, String)> {
    // Only inventory items have stock (Service and Non-Inventory items are skipped).
    let numbers: Vec<String> = sandboxes
        .business_central
        .items()
        .iter()
        .filter(|i| text(i, "type") == "Inventory")
        .map(|i| text(i, "number").to_owned())
        .collect();
    let mut items: Vec<(u64, String)> = sandboxes
        .lightspeed
        .records(Entity::Item)
        .iter()
        .filter(|i| text(i, "itemMatrixID") == "0" && text(i, "archived") != "true")
        .filter_map(|i| {
            let sku = text(i, "customSku").to_uppercase();
            let id = text(i, "itemID").parse().ok()?;
            numbers.contains(&sku).then_some((id, sku))
        })
        .collect();
    let all = sandboxes.lightspeed.records(Entity::Item);
    items.retain(|(_, sku)| {
        all.iter()
            .filter(|i| text(i, "customSku").eq_ignore_ascii_case(sku))
            .count()
            == 1
    });
    items.sort_by(|a, b| a.1.cmp(&b.1));
    items.truncate(STOCKED);
    items
}

fn seeding(e: impl std::fmt::Display) -> CliError {
    CliError::Usage(format!("moving stock in Business Central: {e}"))
}

/// What Business Central posts before the stock pass of `pass`: receipts at every location
/// first, then a transfer from Amsterdam to New York and a shrinkage in Montréal.
pub fn move_stock(sandboxes: &Sandboxes, pass: &str) -> Result<(), CliError> {
    let bc = &sandboxes.business_central;
    let items = stocked(sandboxes);
    match pass {
        "initial sync" => {
            for (n, (_, number)) in items.iter().enumerate() {
                let extra = n as f64;
                bc.post_purchase(number, 20.0 + extra, Some("AMS"))
                    .map_err(seeding)?;
                bc.post_purchase(number, 8.0, Some("MTL"))
                    .map_err(seeding)?;
                bc.post_purchase(number, 5.0, Some("NYC"))
                    .map_err(seeding)?;
            }
        }
        "after changes" => {
            for (_, number) in items.iter().take(STOCKED / 2) {
                // A transfer AMS → NYC (the simulator posts its two sides as adjustments).
                bc.post_adjustment(number, -3.0, Some("AMS"))
                    .map_err(seeding)?;
                bc.post_adjustment(number, 3.0, Some("NYC"))
                    .map_err(seeding)?;
                bc.post_adjustment(number, -1.0, Some("MTL"))
                    .map_err(seeding)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Checks every stocked item × shop against the formula computed from the simulators' own
/// data: inventory at the shop's location (the ledger), less the outstanding quantity of
/// open sales order lines there, less the units of Lightspeed sales whose invoice BC has not
/// posted yet, floored, never below zero. Returns (figures checked, problems).
pub fn check(sandboxes: &Sandboxes) -> (usize, Vec<String>) {
    let bc = &sandboxes.business_central;
    let ls = &sandboxes.lightspeed;
    let items = stocked(sandboxes);
    let mut problems = Vec::new();
    let ledger = bc.ledger_entries();
    let location_ids: BTreeMap<String, String> = bc
        .records("locations")
        .iter()
        .map(|l| (text(l, "id").to_owned(), text(l, "code").to_owned()))
        .collect();
    let order_lines = bc.records("salesOrderLines");
    let mut documents = bc.records("salesInvoices");
    documents.extend(bc.records("salesCreditMemos"));
    let orders = bc.records("salesOrders");
    // Lightspeed sales BC does not hold in its ledger yet: completed, not voided, and not
    // posted (a draft invoice or credit memo, or no document yet); a sale made as a sales
    // order is BC's outstanding quantity.
    let pending: Vec<(String, String)> = ls
        .records(Entity::Sale)
        .iter()
        .filter(|s| text(s, "completed") == "true" && text(s, "voided") != "true")
        .filter_map(|s| {
            let id = text(s, "saleID");
            let reference = format!("LS-{id}");
            let posted = documents.iter().any(|d| {
                let number = text(d, "externalDocumentNumber");
                (number == reference || number == format!("{reference}-I"))
                    && text(d, "status") != "Draft"
            });
            let ordered = orders
                .iter()
                .any(|o| text(o, "externalDocumentNumber") == reference);
            (!posted && !ordered).then(|| (id.to_owned(), text(s, "shopID").to_owned()))
        })
        .collect();
    let lines = ls.records(Entity::SaleLine);
    let mut checked = 0;
    for (ls_id, number) in &items {
        for (shop, code) in SHOPS {
            let inventory: f64 = ledger
                .iter()
                .filter(|e| &e.item_number == number && e.location_code.as_deref() == Some(code))
                .map(|e| e.quantity)
                .sum();
            let outstanding: f64 = order_lines
                .iter()
                .filter(|l| {
                    text(l, "lineObjectNumber") == number
                        && location_ids.get(text(l, "locationId")).map(String::as_str) == Some(code)
                })
                .map(|l| {
                    l["quantity"].as_f64().unwrap_or(0.0)
                        - l["shippedQuantity"].as_f64().unwrap_or(0.0)
                })
                .filter(|q| *q > 0.0)
                .sum();
            let in_flight: f64 = lines
                .iter()
                .filter(|l| text(l, "itemID") == ls_id.to_string())
                .filter(|l| {
                    pending
                        .iter()
                        .any(|(sale, s)| sale == text(l, "saleID") && *s == shop.to_string())
                })
                .map(|l| text(l, "unitQuantity").parse::<f64>().unwrap_or(0.0))
                .sum();
            let expected = (inventory - outstanding - in_flight).floor().max(0.0);
            let actual = ls.stock(*ls_id, shop).unwrap_or(0);
            checked += 1;
            #[allow(clippy::cast_possible_truncation)]
            if actual != expected as i64 {
                problems.push(format!(
                    "item {number} in shop {shop}: Lightspeed shows {actual}, expected {expected} (inventory {inventory}, outstanding {outstanding}, in flight {in_flight})"
                ));
            }
        }
    }
    if items.is_empty() {
        problems.push("no simple item is stocked in Business Central".into());
    }
    (checked, problems)
}
