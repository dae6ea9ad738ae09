//! The demo's orders: about fifty sales over three shops in three time zones (Amsterdam,
//! prices including NL VAT at 21 % and 9 %; Montréal, GST and QST on top; New York, sales
//! tax on top), walk-in and named customers, line and sale discounts, a refund, an
//! exchange, a sale completed at 23:30 in New York, a void before and one after the first
//! sync, and a sale of an item the products flow only creates in the second pass; the
//! Business Central company setup they need (VAT, walk-in customers, locations, G/L
//! accounts); and the self-check of every document against its sale, computed from the
//! simulators' data alone (never with the flow's code).

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use lsbc_core::ports::LinkStore;
use lsbc_core::{Flow, RecordKey};
use lsbc_sandbox::business_central::{
    BusinessCentralSandboxConfig, CustomerVat, GlAccount, VatPostingSetup, VatSetup,
};
use lsbc_sandbox::lightspeed::{
    CustomerSeed, Dataset, Entity, ItemSeed, LineOf, SaleLineSeed, SalePaymentSeed, SaleSeed,
};
use serde_json::{Value, json};

use crate::CliError;
use crate::home::EmbeddedHome;
use crate::sandboxes::Sandboxes;

/// The generator's first three shops.
const SHOPS: [(u64, &str, &str, &str); 3] = [
    (1, "C-AMS", "AMS", "NL"),
    (2, "C-MTL", "MTL", "CA"),
    (3, "C-NYC", "NYC", "US"),
];
/// The generator's card payment type.
const CARD: u64 = 2;
/// Sales the demo makes.
const SALES: u64 = 44;
/// The first sale id of the demo (the generator makes none).
const FIRST_SALE: u64 = 7000;
/// The rounding account.
const ROUNDING: &str = "8900";
/// The account of lines without an item.
const FEES: &str = "8100";

fn usage(what: &str, e: impl std::fmt::Display) -> CliError {
    CliError::Usage(format!("{what}: {e}"))
}

/// The company setup the sales need: VAT by the customer's business group (NL, CA, US) and
/// the line's product group (`STANDARD`, `REDUCED`), at the rates the shops charge; named
/// customers in the NL group with prices excluding VAT; G/L accounts for rounding and fees.
pub fn company(bc: &mut BusinessCentralSandboxConfig) {
    bc.lcy = "EUR".into();
    bc.vat = VatSetup {
        posting_setup: vec![
            VatPostingSetup::new("NL", "STANDARD", 21.0),
            VatPostingSetup::new("NL", "REDUCED", 9.0),
            VatPostingSetup::new("CA", "STANDARD", 14.975),
            VatPostingSetup::new("CA", "REDUCED", 14.975),
            VatPostingSetup::new("US", "STANDARD", 8.875),
            VatPostingSetup::new("US", "REDUCED", 8.875),
        ],
        customers: SHOPS
            .iter()
            .map(|(shop, number, _, group)| {
                (
                    (*number).to_owned(),
                    CustomerVat {
                        business_group: (*group).to_owned(),
                        // Amsterdam's shelf prices include VAT; the others add tax on top.
                        prices_including_vat: *shop == 1,
                    },
                )
            })
            .collect(),
        default_business_group: "NL".into(),
        default_prices_including_vat: false,
        ..VatSetup::default()
    };
    bc.behaviour.gl_accounts = BTreeMap::from([
        (ROUNDING.to_owned(), GlAccount::new("Invoice rounding", "")),
        (
            FEES.to_owned(),
            GlAccount::new("Fees and charges", "STANDARD"),
        ),
    ]);
}

/// The orders flow's settings in the demo.
pub fn settings() -> Value {
    json!({
        "default_customer_number": "C-AMS",
        "shops_settings": {
            // Amsterdam posts its invoices; the others leave drafts for the accountant.
            "1": {"document_type": "posted_invoice"},
            "2": {"default_customer_number": "C-MTL"},
            "3": {"default_customer_number": "C-NYC"},
        },
        "locations": {"1": "AMS", "2": "MTL", "3": "NYC"},
        "rounding_account": ROUNDING,
        "fee_account": FEES,
        "tax_codes": {"1": "STANDARD", "2": "REDUCED"},
    })
}

/// What the later passes do to the sales.
#[derive(Debug, Clone)]
pub struct DemoSales {
    /// The walk-in customers' BC ids (entered in BC before the sync, not by it).
    pub walk_in_customers: Vec<String>,
    /// Voided in Lightspeed before the second pass (its draft must go).
    pub void_after: u64,
    /// The archived item the waiting sale sold; restored before the second pass.
    pub waiting_item: u64,
    /// The sale of it.
    pub waiting_sale: u64,
}

fn line(item: &ItemSeed, quantity: i64) -> SaleLineSeed {
    SaleLineSeed {
        item_id: item.id,
        quantity,
        unit_price_cents: item.price_cents,
        tax: true,
        ..SaleLineSeed::default()
    }
}

/// A walk-in sale of `lines` at `shop`'s first register, rung up by employee 1.
fn walk_in(id: u64, shop: u64, lines: Vec<SaleLineSeed>) -> SaleSeed {
    SaleSeed {
        id: Some(id),
        shop_id: shop,
        register_id: shop,
        employee_id: 1,
        lines,
        ..SaleSeed::default()
    }
}

/// Adds `seed` as an open sale, then completes it with one card payment of its total (as a
/// till does: the total is Lightspeed's).
fn ring_up(sandboxes: &Sandboxes, seed: SaleSeed) -> Result<u64, CliError> {
    let ls = &sandboxes.lightspeed;
    let id = ls
        .add_sale(&SaleSeed {
            completed: false,
            ..seed
        })
        .map_err(|e| usage("seeding a sale", e))?;
    let total = ls
        .record(Entity::Sale, id)
        .and_then(|s| s["total"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let cents = total
        .parse::<f64>()
        .map(|t| (t * 100.0).round() as i64)
        .map_err(|e| usage(&format!("sale {id} total `{total}`"), e))?;
    ls.complete_sale(
        id,
        &[SalePaymentSeed {
            payment_type_id: CARD,
            amount_cents: cents,
            ..SalePaymentSeed::default()
        }],
    )
    .map_err(|e| usage(&format!("completing sale {id}"), e))?;
    Ok(id)
}

/// Seeds the sales and the Business Central side they need; run before the first pass.
pub fn seed(sandboxes: &Sandboxes, dataset: &Dataset) -> Result<DemoSales, CliError> {
    let bc = &sandboxes.business_central;
    let mut walk_in_customers = Vec::new();
    for (_, number, location, _) in SHOPS {
        let added = bc
            .add_customer(
                json!({"number": number, "displayName": format!("Walk-in customers {location}")}),
            )
            .map_err(|e| usage("seeding Business Central", e))?;
        walk_in_customers.push(text(&added, "id").to_owned());
        bc.add_location(json!({"code": location, "displayName": location}))
            .map_err(|e| usage("seeding Business Central", e))?;
    }
    let mut sellable: Vec<&ItemSeed> = dataset
        .items
        .iter()
        .filter(|i| {
            i.matrix_id.is_none()
                && !i.archived
                && i.item_type == "default"
                && !i.custom_sku.is_empty()
                && i.price_cents > 0
                && i.id.is_some()
        })
        .skip(2) // the two the demo enters in BC first, under another name
        .take(13)
        .collect();
    // The last one is archived once sold, so the products flow skips it until it is
    // restored.
    let (Some(archived), true) = (sellable.pop(), sellable.len() >= 4) else {
        return Err(CliError::Usage(
            "the dataset has too few sellable items for the orders demo".into(),
        ));
    };
    let named: Vec<&CustomerSeed> = dataset
        .customers
        .iter()
        .filter(|c| {
            !c.archived
                && c.company.is_empty()
                && !c.first_name.is_empty()
                && c.emails.first().is_some_and(|e| {
                    lsbc_connectors::customers::is_valid_email(&e.address)
                        && dataset
                            .customers
                            .iter()
                            .filter(|o| o.emails.first().is_some_and(|x| x.address == e.address))
                            .count()
                            == 1
                })
        })
        .take(6)
        .collect();
    let mut next = FIRST_SALE;
    let mut take_id = || {
        next += 1;
        next
    };
    let mut sold = Vec::new();
    for i in 0..SALES {
        let (shop, ..) = SHOPS[(i % 3) as usize];
        let customer = (shop == 1 && i % 4 == 0 && !named.is_empty())
            .then(|| named[(i as usize / 4) % named.len()].id)
            .flatten();
        let count = 1 + (i % 3) as usize;
        let mut lines: Vec<SaleLineSeed> = (0..count)
            .map(|k| {
                let item = sellable[(i as usize * 5 + k * 3) % sellable.len()];
                line(
                    item,
                    if (i as usize + k).is_multiple_of(2) {
                        1
                    } else {
                        2
                    },
                )
            })
            .collect();
        let mut seed = SaleSeed {
            id: Some(take_id()),
            shop_id: shop,
            register_id: shop,
            employee_id: 1,
            customer_id: customer,
            ..SaleSeed::default()
        };
        match i % 5 {
            1 => lines[0].discount_percent_ppm = 100_000,
            3 => seed.discount_cents = 300,
            _ => {}
        }
        seed.lines = lines;
        let id = ring_up(sandboxes, seed)?;
        if shop == 1 {
            sold.push(id);
        }
    }
    let ls = &sandboxes.lightspeed;
    // Completed at 23:30 in New York in winter: the document date is that day, not UTC's.
    let late = ring_up(sandboxes, walk_in(take_id(), 3, vec![line(sellable[0], 1)]))?;
    ls.set_field(
        Entity::Sale,
        late,
        "completeTime",
        "2026-02-01T04:30:00+00:00",
    )
    .map_err(|e| usage("dating a sale", e))?;
    // A refund of one unit of an Amsterdam sale, and an exchange of another (net ≥ 0).
    let refunds = |sale: u64| SaleLineSeed {
        quantity: -1,
        refunds: Some(LineOf {
            sale_id: sale,
            line: 0,
        }),
        ..line(first_item(ls, sale, &sellable), -1)
    };
    if let (Some(a), Some(b)) = (sold.first().copied(), sold.get(1).copied()) {
        ring_up(sandboxes, walk_in(take_id(), 1, vec![refunds(a)]))?;
        let dearest = sellable
            .iter()
            .max_by_key(|i| i.price_cents)
            .copied()
            .unwrap_or(sellable[0]);
        ring_up(
            sandboxes,
            walk_in(take_id(), 1, vec![refunds(b), line(dearest, 2)]),
        )?;
    }
    // Voided before the first poll: nothing reaches Business Central.
    let void_before = ring_up(sandboxes, walk_in(take_id(), 1, vec![line(sellable[1], 1)]))?;
    ls.void_sale(void_before, "Rang up twice")
        .map_err(|e| usage("voiding a sale", e))?;
    // Voided after the first sync: its draft is deleted.
    let void_after = ring_up(sandboxes, walk_in(take_id(), 2, vec![line(sellable[2], 1)]))?;
    // An item sold, then archived: the products flow skips it until it is restored.
    let waiting_sale = ring_up(
        sandboxes,
        walk_in(take_id(), 1, vec![line(archived, 1), line(sellable[3], 1)]),
    )?;
    let waiting_item = archived.id.unwrap_or_default();
    ls.set_field(Entity::Item, waiting_item, "archived", "true")
        .map_err(|e| usage("archiving an item", e))?;
    Ok(DemoSales {
        walk_in_customers,
        void_after,
        waiting_item,
        waiting_sale,
    })
}

/// The item of a sale's first line.
fn first_item<'a>(
    ls: &lsbc_sandbox::lightspeed::LightspeedSandbox,
    sale: u64,
    items: &[&'a ItemSeed],
) -> &'a ItemSeed {
    let item_id = ls
        .records(Entity::SaleLine)
        .into_iter()
        .filter(|l| l["saleID"] == sale.to_string().as_str())
        .find_map(|l| l["itemID"].as_str().and_then(|i| i.parse::<u64>().ok()));
    items
        .iter()
        .copied()
        .find(|i| i.id == item_id)
        .unwrap_or(items[0])
}

/// Before the second pass: the void after sync, and the archived item restored.
pub fn change(sandboxes: &Sandboxes, sales: &DemoSales) -> Result<(), CliError> {
    let ls = &sandboxes.lightspeed;
    ls.void_sale(sales.void_after, "Wrong card")
        .map_err(|e| usage("voiding a sale", e))?;
    ls.set_field(Entity::Item, sales.waiting_item, "archived", "false")
        .map_err(|e| usage("restoring an item", e))?;
    Ok(())
}

fn text<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field].as_str().unwrap_or("")
}

fn cents(text: &str) -> Option<i64> {
    text.parse::<f64>().ok().map(|v| (v * 100.0).round() as i64)
}

fn number_cents(v: &Value) -> i64 {
    v.as_f64().map_or(0, |v| (v * 100.0).round() as i64)
}

/// Every Lightspeed sale against Business Central: one document per completed sale (none
/// for a voided or open one) carrying its reference, its total to the cent against
/// Lightspeed's own `total`, its date in the shop's time zone, its customer, its item
/// lines. Returns the sales compared, the problems, and the sales documents made.
pub async fn check(
    sandboxes: &Sandboxes,
    home: &EmbeddedHome,
) -> Result<(usize, Vec<String>, usize), CliError> {
    let ls = &sandboxes.lightspeed;
    let bc = &sandboxes.business_central;
    let mut problems = Vec::new();
    let shops: BTreeMap<String, String> = ls
        .records(Entity::Shop)
        .iter()
        .map(|s| (text(s, "shopID").to_owned(), text(s, "timeZone").to_owned()))
        .collect();
    let invoices = bc.records("salesInvoices");
    let memos = bc.records("salesCreditMemos");
    let customers = bc.customers();
    let lines_of = |set: &str, id: &Value| -> Vec<Value> {
        bc.records(set)
            .into_iter()
            .filter(|l| &l["documentId"] == id)
            .collect()
    };
    let mut compared = 0;
    let mut made = 0;
    for sale in ls.records(Entity::Sale) {
        let id = text(&sale, "saleID").to_owned();
        let Ok(n) = id.parse::<u64>() else { continue };
        if n <= FIRST_SALE {
            continue;
        }
        compared += 1;
        let reference = format!("LS-{id}");
        let mine = |d: &&Value| d["externalDocumentNumber"] == reference.as_str();
        let found: Vec<(&str, &Value)> = invoices
            .iter()
            .filter(mine)
            .map(|d| ("salesInvoices", d))
            .chain(memos.iter().filter(mine).map(|d| ("salesCreditMemos", d)))
            .collect();
        let completed = text(&sale, "completed") == "true";
        let voided = text(&sale, "voided") == "true";
        if voided || !completed {
            if !found.is_empty() {
                problems.push(format!(
                    "sale {id} is voided or open, yet Business Central has {reference}"
                ));
            }
            continue;
        }
        let [(set, doc)] = found.as_slice() else {
            problems.push(format!(
                "sale {id}: {} documents {reference} (one expected)",
                found.len()
            ));
            continue;
        };
        made += 1;
        let total = cents(text(&sale, "total")).unwrap_or(0);
        let expected_set = if total < 0 {
            "salesCreditMemos"
        } else {
            "salesInvoices"
        };
        if *set != expected_set {
            problems.push(format!(
                "sale {id}: a document in {set}, {expected_set} expected"
            ));
        }
        if number_cents(&doc["totalAmountIncludingTax"]) != total.abs() {
            problems.push(format!(
                "sale {id}: Business Central's total {} is not Lightspeed's {}",
                doc["totalAmountIncludingTax"],
                text(&sale, "total")
            ));
        }
        let zone = shops
            .get(text(&sale, "shopID"))
            .and_then(|z| TimeZone::get(z).ok())
            .unwrap_or(TimeZone::UTC);
        let day = text(&sale, "completeTime")
            .parse::<Timestamp>()
            .map(|t| t.to_zoned(zone).date().to_string())
            .unwrap_or_default();
        let date_field = if *set == "salesCreditMemos" {
            "creditMemoDate"
        } else {
            "invoiceDate"
        };
        if text(doc, date_field) != day {
            problems.push(format!(
                "sale {id}: dated {}, completed on {day} in its shop",
                text(doc, date_field)
            ));
        }
        let customer_id = text(&sale, "customerID");
        if customer_id.is_empty() || customer_id == "0" {
            let walk_in = SHOPS
                .iter()
                .find(|s| s.0.to_string() == text(&sale, "shopID"))
                .map_or("", |s| s.1);
            if text(doc, "customerNumber") != walk_in {
                problems.push(format!(
                    "sale {id}: customer {}, walk-in {walk_in} expected",
                    text(doc, "customerNumber")
                ));
            }
        } else {
            let key = RecordKey::parse(customer_id).map_err(|e| usage("customer key", e))?;
            let linked = home.store.get(Flow::Customers, &key).await?;
            let expected = linked.map(|l| l.target_id).unwrap_or_default();
            if text(doc, "customerId") != expected {
                problems.push(format!(
                    "sale {id}: Business Central customer {}, not Lightspeed customer {customer_id}'s",
                    text(doc, "customerNumber")
                ));
            }
            if !customers.iter().any(|c| c["id"] == doc["customerId"]) {
                problems.push(format!(
                    "sale {id}: its customer is not in Business Central"
                ));
            }
        }
        let line_set = if *set == "salesCreditMemos" {
            "salesCreditMemoLines"
        } else {
            "salesInvoiceLines"
        };
        let item_lines = lines_of(line_set, &doc["id"])
            .iter()
            .filter(|l| l["lineType"] == "Item")
            .count();
        let sold = ls
            .records(Entity::SaleLine)
            .iter()
            .filter(|l| text(l, "saleID") == id && !matches!(text(l, "itemID"), "" | "0"))
            .count();
        if item_lines != sold {
            problems.push(format!(
                "sale {id}: {item_lines} item lines in Business Central, {sold} in Lightspeed"
            ));
        }
    }
    Ok((compared, problems, made))
}
