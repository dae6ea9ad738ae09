//! The simulated account's records: the rows of string fields seeds become, and the
//! lookups every part of the store shares. Loading seeds (`load`), rendering records with
//! their relations (`render`), list queries (`list`) and writes (`write`) each live in a
//! submodule. No HTTP, no clock: callers pass the current API time in.

mod list;
mod load;
mod render;
mod write;

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Value, json};

use super::query::{Cursor, Entity};
use super::render::{Row, flag, format_time, id_of, money, object, time};
use super::seed::AddressSeed;
use super::settings::Behaviour;

/// A write a client made through the API, kept for inspection.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WriteRecord {
    pub method: String,
    pub path: String,
    pub body: Value,
    /// API time of the write.
    pub at: Timestamp,
}

/// Why the store refused something: HTTP status and message.
pub(crate) type Refusal = (u16, String);

#[derive(Debug, Clone)]
struct ContactRec {
    flags: Row,
    addresses: Vec<Row>,
    phones: Vec<Row>,
    emails: Vec<Row>,
    websites: Vec<Row>,
}

#[derive(Debug, Clone)]
struct CustomerRec {
    row: Row,
    contact: ContactRec,
    custom_fields: Vec<Row>,
}

#[derive(Debug, Clone)]
struct ItemRec {
    row: Row,
    prices: Vec<Row>,
    attributes: Option<Row>,
    custom_fields: Vec<Row>,
    ecommerce: Option<Row>,
}

#[derive(Debug, Clone)]
struct MatrixRec {
    row: Row,
    prices: Vec<Row>,
    attribute1: Vec<String>,
    attribute2: Vec<String>,
    ecommerce: Option<Row>,
}

#[derive(Debug, Clone)]
struct SaleRec {
    row: Row,
    ship_to: Option<(Row, ContactRec)>,
    /// The stock moves the sale has made, so a void can put them back.
    moves: Vec<StockMove>,
    /// Its lines that pick up a layaway.
    pickups: BTreeSet<u64>,
}

/// A change of stock one sale line caused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct StockMove {
    item: u64,
    shop: u64,
    /// Change of `qoh`.
    qoh: i64,
    /// Change of `onLayaway`.
    layaway: i64,
    /// Whether the line refunded units (its void is a `VoidRefund`).
    refund: bool,
}

#[derive(Debug, Clone)]
struct TaxCategoryRec {
    row: Row,
    /// `TaxCategoryClass` rows: custom rates per tax class.
    classes: Vec<Row>,
}

/// One page of a list query.
#[derive(Debug, Clone)]
pub(crate) struct ListPage {
    pub(crate) records: Vec<Value>,
    pub(crate) next: Option<Cursor>,
    pub(crate) previous: Option<Cursor>,
}

/// All records of one simulated account.
#[derive(Debug, Default)]
pub(crate) struct Store {
    behaviour: Behaviour,
    seq: BTreeMap<Entity, u64>,
    tax_classes: BTreeMap<u64, Row>,
    tax_categories: BTreeMap<u64, TaxCategoryRec>,
    registers: BTreeMap<u64, Row>,
    employees: BTreeMap<u64, Row>,
    discounts: BTreeMap<u64, Row>,
    sale_voids: BTreeMap<u64, Row>,
    inventory_logs: BTreeMap<u64, Row>,
    shops: BTreeMap<u64, Row>,
    payment_types: BTreeMap<u64, Row>,
    customer_types: BTreeMap<u64, Row>,
    categories: BTreeMap<u64, Row>,
    customers: BTreeMap<u64, CustomerRec>,
    matrices: BTreeMap<u64, MatrixRec>,
    items: BTreeMap<u64, ItemRec>,
    item_shops: BTreeMap<u64, Row>,
    /// `ItemComponent` rows (the singles of a box, the parts of an assembly), by id.
    item_components: BTreeMap<u64, Row>,
    images: BTreeMap<u64, Row>,
    sales: BTreeMap<u64, SaleRec>,
    sale_lines: BTreeMap<u64, Row>,
    line_notes: BTreeMap<u64, String>,
    sale_payments: BTreeMap<u64, Row>,
    ecommerce_seq: u64,
    writes: Vec<WriteRecord>,
}

/// The key under which a payment keeps the time `sort=timeStamp` orders by: the docs list
/// `timeStamp` as sortable on SalePayment, yet no sample shows the field, so it is kept but
/// never rendered (inferred: it moves when the payment is taken or archived).
const PAYMENT_TIME: &str = "timeStamp";

const IMAGE_BASE: &str = "https://res.cloudinary.com/lightspeed-retail/image/upload/";

fn bad(message: impl Into<String>) -> Refusal {
    (400, message.into())
}

fn contact_rec(
    emails: Vec<Row>,
    phones: Vec<Row>,
    addresses: &[AddressSeed],
    websites: &[String],
    no_email: bool,
    now: Timestamp,
) -> ContactRec {
    let address_row = |a: &AddressSeed| {
        object(json!({
            "address1": a.address1, "address2": a.address2, "city": a.city, "state": a.state,
            "stateCode": a.state_code, "zip": a.zip, "country": a.country,
            "countryCode": a.country_code,
        }))
    };
    // A contact always carries one (possibly blank) address, as in the create response.
    let addresses = if addresses.is_empty() {
        vec![address_row(&AddressSeed::default())]
    } else {
        addresses.iter().map(address_row).collect()
    };
    ContactRec {
        flags: object(json!({
            "custom": "", "noEmail": flag(no_email), "noPhone": "false", "noMail": "false",
            "timeStamp": time(now),
        })),
        addresses,
        phones,
        emails,
        websites: websites
            .iter()
            .map(|u| object(json!({ "url": u })))
            .collect(),
    }
}

fn price_rows(price: i64, msrp: i64) -> Vec<Row> {
    vec![
        object(json!({"amount": money(price), "useTypeID": "1", "useType": "Default"})),
        object(json!({"amount": money(msrp), "useTypeID": "2", "useType": "MSRP"})),
        object(json!({"amount": money(price), "useTypeID": "3", "useType": "Online"})),
    ]
}

fn rows_value(rows: &[Row]) -> Vec<Value> {
    rows.iter().cloned().map(Value::Object).collect()
}

/// The rows of `map` whose `key` field holds `id` (a record's children), in id order.
fn child_rows<'a>(
    map: &'a BTreeMap<u64, Row>,
    key: &'a str,
    id: u64,
) -> impl Iterator<Item = &'a Row> + 'a {
    map.values().filter(move |r| id_of(r, key) == id)
}

/// A record's children as they go into a to-many relation.
fn children(map: &BTreeMap<u64, Row>, key: &str, id: u64) -> Vec<Value> {
    child_rows(map, key, id)
        .cloned()
        .map(Value::Object)
        .collect()
}

impl Store {
    /// An empty account that behaves as `behaviour` says.
    pub(crate) fn new(behaviour: Behaviour) -> Store {
        Store {
            behaviour,
            ..Store::default()
        }
    }

    pub(super) fn next_id(&mut self, entity: Entity, wanted: Option<u64>) -> u64 {
        let seq = self.seq.entry(entity).or_insert(0);
        match wanted {
            Some(id) if id > 0 => {
                *seq = (*seq).max(id);
                id
            }
            _ => {
                *seq += 1;
                *seq
            }
        }
    }

    pub(super) fn row_mut(&mut self, entity: Entity, id: u64) -> Option<&mut Row> {
        match entity {
            Entity::Item => self.items.get_mut(&id).map(|r| &mut r.row),
            Entity::ItemMatrix => self.matrices.get_mut(&id).map(|r| &mut r.row),
            Entity::Category => self.categories.get_mut(&id),
            Entity::Customer => self.customers.get_mut(&id).map(|r| &mut r.row),
            Entity::CustomerType => self.customer_types.get_mut(&id),
            Entity::Sale => self.sales.get_mut(&id).map(|r| &mut r.row),
            Entity::SaleLine => self.sale_lines.get_mut(&id),
            Entity::ItemShop => self.item_shops.get_mut(&id),
            Entity::Image => self.images.get_mut(&id),
            Entity::Shop => self.shops.get_mut(&id),
            Entity::PaymentType => self.payment_types.get_mut(&id),
            Entity::SalePayment => self.sale_payments.get_mut(&id),
            Entity::SaleVoid => self.sale_voids.get_mut(&id),
            Entity::Register => self.registers.get_mut(&id),
            Entity::TaxCategory => self.tax_categories.get_mut(&id).map(|r| &mut r.row),
            Entity::TaxClass => self.tax_classes.get_mut(&id),
            Entity::Discount => self.discounts.get_mut(&id),
            Entity::Employee => self.employees.get_mut(&id),
            Entity::InventoryLog => self.inventory_logs.get_mut(&id),
        }
    }

    pub(super) fn row(&self, entity: Entity, id: u64) -> Option<&Row> {
        match entity {
            Entity::Item => self.items.get(&id).map(|r| &r.row),
            Entity::ItemMatrix => self.matrices.get(&id).map(|r| &r.row),
            Entity::Category => self.categories.get(&id),
            Entity::Customer => self.customers.get(&id).map(|r| &r.row),
            Entity::CustomerType => self.customer_types.get(&id),
            Entity::Sale => self.sales.get(&id).map(|r| &r.row),
            Entity::SaleLine => self.sale_lines.get(&id),
            Entity::ItemShop => self.item_shops.get(&id),
            Entity::Image => self.images.get(&id),
            Entity::Shop => self.shops.get(&id),
            Entity::PaymentType => self.payment_types.get(&id),
            Entity::SalePayment => self.sale_payments.get(&id),
            Entity::SaleVoid => self.sale_voids.get(&id),
            Entity::Register => self.registers.get(&id),
            Entity::TaxCategory => self.tax_categories.get(&id).map(|r| &r.row),
            Entity::TaxClass => self.tax_classes.get(&id),
            Entity::Discount => self.discounts.get(&id),
            Entity::Employee => self.employees.get(&id),
            Entity::InventoryLog => self.inventory_logs.get(&id),
        }
    }

    pub(super) fn ids(&self, entity: Entity) -> Vec<u64> {
        match entity {
            Entity::Item => self.items.keys().copied().collect(),
            Entity::ItemMatrix => self.matrices.keys().copied().collect(),
            Entity::Category => self.categories.keys().copied().collect(),
            Entity::Customer => self.customers.keys().copied().collect(),
            Entity::CustomerType => self.customer_types.keys().copied().collect(),
            Entity::Sale => self.sales.keys().copied().collect(),
            Entity::SaleLine => self.sale_lines.keys().copied().collect(),
            Entity::ItemShop => self.item_shops.keys().copied().collect(),
            Entity::Image => self.images.keys().copied().collect(),
            Entity::Shop => self.shops.keys().copied().collect(),
            Entity::PaymentType => self.payment_types.keys().copied().collect(),
            Entity::SalePayment => self.sale_payments.keys().copied().collect(),
            Entity::SaleVoid => self.sale_voids.keys().copied().collect(),
            Entity::Register => self.registers.keys().copied().collect(),
            Entity::TaxCategory => self.tax_categories.keys().copied().collect(),
            Entity::TaxClass => self.tax_classes.keys().copied().collect(),
            Entity::Discount => self.discounts.keys().copied().collect(),
            Entity::Employee => self.employees.keys().copied().collect(),
            Entity::InventoryLog => self.inventory_logs.keys().copied().collect(),
        }
    }

    /// Number of records of an entity.
    pub(crate) fn count(&self, entity: Entity) -> usize {
        self.ids(entity).len()
    }

    /// Writes a client made, oldest first.
    pub(crate) fn writes(&self) -> &[WriteRecord] {
        &self.writes
    }

    pub(crate) fn log_write(&mut self, record: WriteRecord) {
        self.writes.push(record);
    }
}

/// Formats a time for messages.
pub(crate) fn show(ts: Timestamp) -> String {
    format_time(ts)
}
