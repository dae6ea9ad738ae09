//! The simulated account's records and how they look on the wire: seeds become rows of
//! string fields, relations are assembled at render time (one-vs-many, `""` when empty),
//! list queries filter, sort stably (ties by id) and cut keyset pages, and `PUT Item` sets
//! stock per shop without touching `Item.timeStamp` (api-notes §2.3). No HTTP, no clock:
//! callers pass the current API time in.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Value, json};

use super::query::{Archived, Comparable, Condition, Cursor, Entity, ListQuery, Loads};
use super::render::{
    Row, decimal, flag, format_time, id_of, many, money, object, parse_decimal, s, string_or_list,
    text, time,
};
use super::seed::{
    AddressSeed, CategorySeed, CustomerSeed, CustomerTypeSeed, Dataset, EcommerceSeed, ItemSeed,
    MatrixSeed, PaymentTypeSeed, SaleSeed, ShopSeed,
};

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
    seq: BTreeMap<Entity, u64>,
    shops: BTreeMap<u64, Row>,
    payment_types: BTreeMap<u64, Row>,
    customer_types: BTreeMap<u64, Row>,
    categories: BTreeMap<u64, Row>,
    customers: BTreeMap<u64, CustomerRec>,
    matrices: BTreeMap<u64, MatrixRec>,
    items: BTreeMap<u64, ItemRec>,
    item_shops: BTreeMap<u64, Row>,
    images: BTreeMap<u64, Row>,
    sales: BTreeMap<u64, SaleRec>,
    sale_lines: BTreeMap<u64, Row>,
    line_notes: BTreeMap<u64, String>,
    sale_payments: BTreeMap<u64, Row>,
    payment_seq: u64,
    ecommerce_seq: u64,
    writes: Vec<WriteRecord>,
}

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

fn render_contact(c: &ContactRec) -> Value {
    let mut o = c.flags.clone();
    let rows = |v: &[Row]| v.iter().cloned().map(Value::Object).collect::<Vec<_>>();
    o.insert(
        "Addresses".into(),
        many("ContactAddress", rows(&c.addresses)),
    );
    o.insert("Phones".into(), many("ContactPhone", rows(&c.phones)));
    o.insert("Emails".into(), many("ContactEmail", rows(&c.emails)));
    o.insert("Websites".into(), many("ContactWebsite", rows(&c.websites)));
    Value::Object(o)
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
    fn next_id(&mut self, entity: Entity, wanted: Option<u64>) -> u64 {
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

    /// Loads a whole dataset in reference order.
    pub(crate) fn load(&mut self, data: &Dataset, now: Timestamp) -> Result<(), Refusal> {
        for s in &data.shops {
            self.add_shop(s, now);
        }
        for p in &data.payment_types {
            self.add_payment_type(p);
        }
        for t in &data.customer_types {
            self.add_customer_type(t);
        }
        for c in &data.categories {
            self.add_category(c, now)?;
        }
        for c in &data.customers {
            self.add_customer(c, now);
        }
        for m in &data.matrices {
            self.add_matrix(m, now)?;
        }
        for i in &data.items {
            self.add_item(i, now)?;
        }
        for s in &data.sales {
            self.add_sale(s, now)?;
        }
        Ok(())
    }

    pub(crate) fn add_shop(&mut self, seed: &ShopSeed, now: Timestamp) -> u64 {
        let id = self.next_id(Entity::Shop, seed.id);
        let row = object(json!({
            "shopID": s(id), "name": seed.name, "serviceRate": "0", "timeZone": seed.time_zone,
            "taxLabor": "false", "labelTitle": "Shop Name", "labelMsrp": "false",
            "archived": flag(seed.archived), "timeStamp": time(now),
            "companyRegistrationNumber": "", "vatNumber": "", "zebraBrowserPrint": "false",
            "contactID": "0", "taxCategoryID": "1", "receiptSetupID": "1", "vendorID": "0",
            "ccGatewayID": "0", "gatewayConfigID": "0", "priceLevelID": "1",
        }));
        self.shops.insert(id, row);
        let item_ids: Vec<u64> = self.items.keys().copied().collect();
        for item in item_ids {
            if self.item_shop_id(item, id).is_none() {
                self.insert_item_shop(item, id, 0, now);
            }
        }
        id
    }

    pub(crate) fn add_payment_type(&mut self, seed: &PaymentTypeSeed) -> u64 {
        let id = self.next_id(Entity::PaymentType, seed.id);
        let reserved = matches!(
            seed.kind.as_str(),
            "cash" | "credit card" | "credit account"
        );
        let row = object(json!({
            "paymentTypeID": s(id), "name": seed.name,
            "requireCustomer": flag(seed.kind == "credit account"),
            "archived": flag(seed.archived), "internalReserved": flag(reserved),
            "type": seed.kind, "refundAsPaymentTypeID": "0",
        }));
        self.payment_types.insert(id, row);
        id
    }

    pub(crate) fn add_customer_type(&mut self, seed: &CustomerTypeSeed) -> u64 {
        let id = self.next_id(Entity::CustomerType, seed.id);
        // Shape inferred: the docs list the endpoint but show no sample.
        let row = object(json!({
            "customerTypeID": s(id), "name": seed.name, "discountID": "0", "taxCategoryID": "0",
        }));
        self.customer_types.insert(id, row);
        id
    }

    pub(crate) fn add_category(
        &mut self,
        seed: &CategorySeed,
        now: Timestamp,
    ) -> Result<u64, Refusal> {
        let parent = match seed.parent_id {
            Some(p) if p > 0 => Some(
                self.categories
                    .get(&p)
                    .cloned()
                    .ok_or_else(|| bad(format!("Parent category {p} does not exist")))?,
            ),
            _ => None,
        };
        let id = self.next_id(Entity::Category, seed.id);
        let (depth, path) = match &parent {
            Some(p) => (
                id_of(p, "nodeDepth") + 1,
                format!("{}/{}", text(p, "fullPathName"), seed.name),
            ),
            None => (0, seed.name.clone()),
        };
        let ts = seed.time_stamp.unwrap_or(now);
        let row = object(json!({
            "categoryID": s(id), "name": seed.name, "nodeDepth": s(depth),
            "fullPathName": path, "leftNode": "0", "rightNode": "0",
            "createTime": time(ts), "timeStamp": time(ts),
            "parentID": s(seed.parent_id.unwrap_or(0)),
        }));
        self.categories.insert(id, row);
        self.renumber_categories();
        Ok(id)
    }

    /// Recomputes the nested-set bounds (`leftNode`/`rightNode`) of the category tree.
    fn renumber_categories(&mut self) {
        let mut children: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
        for (id, row) in &self.categories {
            children
                .entry(id_of(row, "parentID"))
                .or_default()
                .push(*id);
        }
        let mut bounds: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
        let mut counter = 1;
        // Iterative depth-first walk: (node, entered?).
        let mut stack: Vec<(u64, bool)> = children
            .get(&0)
            .map(|v| v.iter().rev().map(|id| (*id, false)).collect())
            .unwrap_or_default();
        while let Some((id, entered)) = stack.pop() {
            if entered {
                if let Some(b) = bounds.get_mut(&id) {
                    b.1 = counter;
                }
                counter += 1;
            } else {
                bounds.insert(id, (counter, 0));
                counter += 1;
                stack.push((id, true));
                if let Some(kids) = children.get(&id) {
                    stack.extend(kids.iter().rev().map(|k| (*k, false)));
                }
            }
        }
        for (id, (left, right)) in bounds {
            if let Some(row) = self.categories.get_mut(&id) {
                row.insert("leftNode".into(), s(left));
                row.insert("rightNode".into(), s(right));
            }
        }
    }

    fn customer_rec(
        id: u64,
        seed: &CustomerSeed,
        created: Timestamp,
        ts: Timestamp,
    ) -> CustomerRec {
        let mut row = object(json!({
            "customerID": s(id), "firstName": seed.first_name, "lastName": seed.last_name,
            "title": seed.title, "company": seed.company, "companyRegistrationNumber": "",
            "vatNumber": seed.vat_number, "creditAccountID": "0",
            "customerTypeID": s(seed.customer_type_id), "discountID": "0", "taxCategoryID": "0",
            "createTime": time(created), "timeStamp": time(ts),
            "archived": flag(seed.archived), "contactID": s(id), "noteID": "0",
            "employeeID": "0",
        }));
        if let Some(dob) = &seed.dob {
            row.insert("dob".into(), s(format!("{dob}T00:00:00+00:00")));
        }
        let emails = seed
            .emails
            .iter()
            .map(|e| object(json!({"address": e.address, "useType": e.use_type})))
            .collect();
        let phones = seed
            .phones
            .iter()
            .map(|p| object(json!({"number": p.number, "useType": p.use_type})))
            .collect();
        let custom_fields = seed
            .custom_fields
            .iter()
            .enumerate()
            .map(|(n, f)| {
                object(json!({
                    "customFieldValueID": s(id * 100 + n as u64 + 1),
                    "customFieldID": s(n + 1), "name": f.name, "type": f.kind, "value": f.value,
                }))
            })
            .collect();
        CustomerRec {
            row,
            contact: contact_rec(
                emails,
                phones,
                &seed.addresses,
                &seed.websites,
                seed.no_email,
                ts,
            ),
            custom_fields,
        }
    }

    pub(crate) fn add_customer(&mut self, seed: &CustomerSeed, now: Timestamp) -> u64 {
        let id = self.next_id(Entity::Customer, seed.id);
        let ts = seed.time_stamp.unwrap_or(now);
        let created = seed.create_time.unwrap_or(ts);
        self.customers
            .insert(id, Self::customer_rec(id, seed, created, ts));
        id
    }

    /// Replaces a customer's data (keeping its id and creation time) and bumps `timeStamp`.
    pub(crate) fn replace_customer(
        &mut self,
        id: u64,
        seed: &CustomerSeed,
        now: Timestamp,
    ) -> Result<(), Refusal> {
        let created = self
            .customers
            .get(&id)
            .and_then(|c| text(&c.row, "createTime").parse().ok())
            .ok_or_else(|| (404, format!("Customer {id} not found")))?;
        let ts = seed.time_stamp.unwrap_or(now);
        self.customers
            .insert(id, Self::customer_rec(id, seed, created, ts));
        Ok(())
    }

    pub(crate) fn add_matrix(&mut self, seed: &MatrixSeed, now: Timestamp) -> Result<u64, Refusal> {
        if let Some(c) = seed.category_id.filter(|c| *c > 0)
            && !self.categories.contains_key(&c)
        {
            return Err(bad(format!("Category {c} does not exist")));
        }
        let id = self.next_id(Entity::ItemMatrix, seed.id);
        let ts = seed.time_stamp.unwrap_or(now);
        let ecommerce = seed.ecommerce.as_ref().map(|e| self.ecommerce_row(e));
        let mut row = object(json!({
            "itemMatrixID": s(id), "description": seed.description, "tax": "true",
            "defaultCost": money(seed.cost_cents), "itemType": "default", "serialized": "false",
            "modelYear": "0", "archived": flag(seed.archived), "timeStamp": time(ts),
            "itemAttributeSetID": s(seed.attribute_set.id()), "manufacturerID": "0",
            "categoryID": s(seed.category_id.unwrap_or(0)), "defaultVendorID": "0",
            "taxClassID": "1", "seasonID": "0", "departmentID": "0", "itemECommerceID": "0",
        }));
        if let Some(e) = &ecommerce {
            row.insert("itemECommerceID".into(), e["itemECommerceID"].clone());
        }
        self.matrices.insert(
            id,
            MatrixRec {
                row,
                prices: price_rows(seed.price_cents, seed.price_cents),
                attribute1: seed.attribute1_values.clone(),
                attribute2: seed.attribute2_values.clone(),
                ecommerce,
            },
        );
        Ok(id)
    }

    pub(crate) fn add_item(&mut self, seed: &ItemSeed, now: Timestamp) -> Result<u64, Refusal> {
        if let Some(c) = seed.category_id.filter(|c| *c > 0)
            && !self.categories.contains_key(&c)
        {
            return Err(bad(format!("Category {c} does not exist")));
        }
        let matrix = match seed.matrix_id.filter(|m| *m > 0) {
            Some(m) => Some(
                self.matrices
                    .get(&m)
                    .cloned()
                    .ok_or_else(|| bad(format!("ItemMatrix {m} does not exist")))?,
            ),
            None => None,
        };
        for st in &seed.stock {
            if !self.shops.contains_key(&st.shop_id) {
                return Err(bad(format!("Shop {} does not exist", st.shop_id)));
            }
        }
        let id = self.next_id(Entity::Item, seed.id);
        let ts = seed.time_stamp.unwrap_or(now);
        let created = seed.create_time.unwrap_or(ts);
        let ecommerce = seed.ecommerce.as_ref().map(|e| self.ecommerce_row(e));
        let item_type = if seed.item_type.is_empty() {
            "default"
        } else {
            seed.item_type.as_str()
        };
        let mut row = object(json!({
            "itemID": s(id), "systemSku": format!("21{id:010}"),
            "defaultCost": money(seed.cost_cents), "avgCost": money(seed.cost_cents),
            "discountable": "true", "tax": flag(seed.tax), "archived": flag(seed.archived),
            "itemType": item_type, "serialized": "false", "description": seed.description,
            "modelYear": "0", "upc": seed.upc, "ean": seed.ean, "customSku": seed.custom_sku,
            "manufacturerSku": seed.manufacturer_sku, "createTime": time(created),
            "timeStamp": time(ts), "publishToEcom": "false",
            "categoryID": s(seed.category_id.unwrap_or(0)), "taxClassID": "1",
            "departmentID": "0", "itemMatrixID": s(seed.matrix_id.unwrap_or(0)),
            "manufacturerID": "0", "seasonID": "0", "defaultVendorID": "0",
            "itemECommerceID": "0",
        }));
        if let Some(e) = &ecommerce {
            row.insert("itemECommerceID".into(), e["itemECommerceID"].clone());
        }
        let attributes = matrix.as_ref().map(|m| {
            let attr = |n: usize| seed.attributes.get(n).cloned().unwrap_or_default();
            object(json!({
                "attribute1": attr(0), "attribute2": attr(1), "attribute3": attr(2),
                "itemAttributeSetID": text(&m.row, "itemAttributeSetID"),
            }))
        });
        let custom_fields = seed
            .custom_fields
            .iter()
            .enumerate()
            .map(|(n, f)| {
                object(json!({
                    "customFieldValueID": s(id * 100 + n as u64 + 1),
                    "customFieldID": s(n + 1), "name": f.name, "type": f.kind, "value": f.value,
                }))
            })
            .collect();
        self.items.insert(
            id,
            ItemRec {
                row,
                prices: price_rows(seed.price_cents, seed.msrp_cents),
                attributes,
                custom_fields,
                ecommerce,
            },
        );
        let shops: Vec<u64> = self.shops.keys().copied().collect();
        for shop in shops {
            let qoh = seed
                .stock
                .iter()
                .filter(|st| st.shop_id == shop)
                .map(|st| st.qoh)
                .sum();
            self.insert_item_shop(id, shop, qoh, ts);
        }
        self.insert_item_shop(id, 0, 0, ts);
        self.refresh_summary(id, ts);
        for (n, image) in seed.images.iter().enumerate() {
            let image_id = self.next_id(Entity::Image, None);
            let row = object(json!({
                "imageID": s(image_id), "description": image.description,
                "filename": image.filename, "ordering": s(n + 1), "publicID": image.public_id,
                "baseImageURL": IMAGE_BASE, "size": s(40_000 + image_id * 37 % 90_000),
                "createTime": time(ts), "timeStamp": time(ts), "itemID": s(id),
                "itemMatrixID": "0",
            }));
            self.images.insert(image_id, row);
        }
        Ok(id)
    }

    /// A new `ItemECommerce` row. Its fields (itemECommerceID, longDescription,
    /// shortDescription, weight, width, height, length, listOnStore) are those public
    /// schemas of the API list; no recorded payload has the relation loaded.
    fn ecommerce_row(&mut self, seed: &EcommerceSeed) -> Row {
        self.ecommerce_seq += 1;
        let weight = if seed.weight.is_empty() {
            "0"
        } else {
            seed.weight.as_str()
        };
        object(json!({
            "itemECommerceID": s(self.ecommerce_seq), "longDescription": seed.long_description,
            "shortDescription": seed.short_description, "weight": weight, "width": "0",
            "height": "0", "length": "0", "listOnStore": flag(seed.list_on_store),
        }))
    }

    fn insert_item_shop(&mut self, item: u64, shop: u64, qoh: i64, now: Timestamp) {
        let id = self.next_id(Entity::ItemShop, None);
        let cost = self
            .items
            .get(&item)
            .and_then(|i| parse_decimal(text(&i.row, "defaultCost"), 2))
            .unwrap_or(0);
        let mut row = object(json!({
            "itemShopID": s(id), "qoh": s(qoh), "sellable": s(qoh.max(0)), "backorder": "0",
            "componentQoh": "0", "componentBackorder": "0", "onLayaway": "0",
            "onSpecialOrder": "0", "onWorkorder": "0", "onTransferOut": "0",
            "onTransferIn": "0", "nextFifoLotID": "0", "nextFifoLotCost": "0",
            "lastReceivedLotID": "0", "lastReceivedCost": "0",
            "totalValueFifo": s(decimal(cost * i128::from(qoh), 2)),
            "totalValueAvgCost": s(decimal(cost * i128::from(qoh), 2)),
            "totalValueNegativeInventory": "0", "reorderPoint": "0", "reorderLevel": "0",
            "timeStamp": time(now), "itemID": s(item), "shopID": s(shop),
        }));
        if shop == 0 {
            // averageCost is only on the all-shops summary row (docs ItemShop page).
            row.insert("averageCost".into(), s(decimal(cost, 2)));
        }
        self.item_shops.insert(id, row);
    }

    fn item_shop_id(&self, item: u64, shop: u64) -> Option<u64> {
        self.item_shops
            .iter()
            .find(|(_, r)| id_of(r, "itemID") == item && id_of(r, "shopID") == shop)
            .map(|(id, _)| *id)
    }

    /// Keeps the shopID 0 summary equal to the sum over shops.
    fn refresh_summary(&mut self, item: u64, now: Timestamp) {
        let total: i64 = child_rows(&self.item_shops, "itemID", item)
            .filter(|r| id_of(r, "shopID") != 0)
            .map(|r| text(r, "qoh").parse::<i64>().unwrap_or(0))
            .sum();
        if let Some(id) = self.item_shop_id(item, 0)
            && let Some(row) = self.item_shops.get_mut(&id)
            && text(row, "qoh") != total.to_string()
        {
            row.insert("qoh".into(), s(total));
            row.insert("sellable".into(), s(total.max(0)));
            row.insert("timeStamp".into(), time(now));
        }
    }

    /// Sets the quantity on hand of an item in a shop. `Item.timeStamp` does not move; the
    /// ItemShop's does (api-notes §2.3: "Item.timeStamp excludes changes to related records").
    pub(crate) fn set_stock(
        &mut self,
        item: u64,
        shop: u64,
        qoh: i64,
        now: Timestamp,
    ) -> Result<(), Refusal> {
        if !self.items.contains_key(&item) {
            return Err((404, format!("Item {item} not found")));
        }
        if shop == 0 {
            return Err(bad("The shopID 0 row is a summary and cannot be set"));
        }
        if !self.shops.contains_key(&shop) {
            return Err(bad(format!("Shop {shop} does not exist")));
        }
        let id = if let Some(id) = self.item_shop_id(item, shop) {
            id
        } else {
            self.insert_item_shop(item, shop, 0, now);
            self.item_shop_id(item, shop).unwrap_or(0)
        };
        if let Some(row) = self.item_shops.get_mut(&id)
            && text(row, "qoh") != qoh.to_string()
        {
            row.insert("qoh".into(), s(qoh));
            row.insert("sellable".into(), s(qoh.max(0)));
            row.insert("timeStamp".into(), time(now));
        }
        self.refresh_summary(item, now);
        Ok(())
    }

    /// The quantity on hand of an item in a shop (`0` = the summary row).
    pub(crate) fn stock(&self, item: u64, shop: u64) -> Option<i64> {
        self.item_shop_id(item, shop)
            .and_then(|id| self.item_shops.get(&id))
            .and_then(|r| text(r, "qoh").parse().ok())
    }

    pub(crate) fn add_sale(&mut self, seed: &SaleSeed, now: Timestamp) -> Result<u64, Refusal> {
        if !self.shops.contains_key(&seed.shop_id) {
            return Err(bad(format!("Shop {} does not exist", seed.shop_id)));
        }
        if let Some(c) = seed.customer_id.filter(|c| *c > 0)
            && !self.customers.contains_key(&c)
        {
            return Err(bad(format!("Customer {c} does not exist")));
        }
        for line in &seed.lines {
            if let Some(i) = line.item_id.filter(|i| *i > 0)
                && !self.items.contains_key(&i)
            {
                return Err(bad(format!("Item {i} does not exist")));
            }
        }
        for p in &seed.payments {
            if !self.payment_types.contains_key(&p.payment_type_id) {
                return Err(bad(format!(
                    "PaymentType {} does not exist",
                    p.payment_type_id
                )));
            }
        }
        let id = self.next_id(Entity::Sale, seed.id);
        let ts = seed.time_stamp.or(seed.complete_time).unwrap_or(now);
        let created = seed.create_time.unwrap_or(ts);
        let customer = seed.customer_id.unwrap_or(0);
        let rate_e7 = i128::from(seed.tax1_basis_points) * 1000; // basis points → 1e-7 units
        let (mut subtotal, mut taxable, mut tax_e7, mut cost_cents) = (0i128, 0i128, 0i128, 0i128);
        for line in &seed.lines {
            let line_id = self.next_id(Entity::SaleLine, None);
            let sub = i128::from(line.quantity) * i128::from(line.unit_price_cents);
            let line_tax_e7 = if line.tax { sub * rate_e7 / 100 } else { 0 };
            subtotal += sub;
            if line.tax {
                taxable += sub;
            }
            tax_e7 += line_tax_e7;
            let item_cost = line
                .item_id
                .and_then(|i| self.items.get(&i))
                .and_then(|i| parse_decimal(text(&i.row, "defaultCost"), 2))
                .unwrap_or(0);
            cost_cents += item_cost * i128::from(line.quantity);
            let note_id = if line.note.is_empty() {
                0
            } else {
                self.line_notes.insert(line_id, line.note.clone());
                line_id
            };
            let row = object(json!({
                "saleLineID": s(line_id), "createTime": time(created), "timeStamp": time(ts),
                "unitQuantity": s(line.quantity), "unitPrice": money(line.unit_price_cents),
                "normalUnitPrice": "0", "discountAmount": "0", "discountPercent": "0",
                "avgCost": s(decimal(item_cost, 2)), "fifoCost": s(decimal(item_cost, 2)),
                "tax": flag(line.tax),
                "tax1Rate": s(decimal(if line.tax { rate_e7 } else { 0 }, 7)),
                "tax2Rate": "0", "isLayaway": "false", "isWorkorder": "false",
                "isSpecialOrder": "false", "displayableSubtotal": s(decimal(sub, 2)),
                "displayableUnitPrice": money(line.unit_price_cents),
                "calcLineDiscount": "0", "calcTransactionDiscount": "0",
                "calcTotal": s(decimal(sub * 100_000 + line_tax_e7, 7)),
                "calcSubtotal": s(decimal(sub, 2)),
                "calcTax1": s(decimal(line_tax_e7, 7)), "calcTax2": "0",
                "taxClassID": "1", "customerID": s(customer), "discountID": "0",
                "employeeID": s(seed.employee_id), "itemID": s(line.item_id.unwrap_or(0)),
                "noteID": s(note_id), "parentSaleLineID": "0", "shopID": s(seed.shop_id),
                "taxCategoryID": "1", "saleID": s(id),
            }));
            self.sale_lines.insert(line_id, row);
        }
        // Sale-level tax is rounded half away from zero to cents (the create-response sample
        // shows lines 0.4995 + 1 → sale 1.5).
        let tax_cents = {
            let half = if tax_e7 >= 0 { 50_000 } else { -50_000 };
            (tax_e7 + half) / 100_000
        };
        let total = subtotal + tax_cents;
        let mut paid = 0i128;
        for p in &seed.payments {
            self.payment_seq += 1;
            let pay_id = self.payment_seq;
            paid += i128::from(p.amount_cents);
            let row = object(json!({
                "salePaymentID": s(pay_id), "amount": money(p.amount_cents), "tipAmount": "0",
                "createTime": time(ts), "archived": flag(seed.voided), "remoteReference": "",
                "paymentID": "", "saleID": s(id), "paymentTypeID": s(p.payment_type_id),
                "ccChargeID": "0", "refPaymentID": "0", "registerID": s(seed.register_id),
                "employeeID": s(seed.employee_id), "creditAccountID": "0",
            }));
            self.sale_payments.insert(pay_id, row);
        }
        let dec = |v: i128| s(decimal(v, 2));
        let mut row = object(json!({
            "saleID": s(id), "timeStamp": time(ts), "discountPercent": "0",
            "completed": flag(seed.completed), "archived": flag(seed.archived),
            "voided": flag(seed.voided), "enablePromotions": "true", "isTaxInclusive": "false",
            "createTime": time(created), "updateTime": time(ts),
            "referenceNumber": seed.reference_number, "referenceNumberSource": "",
            "tax1Rate": s(decimal(rate_e7, 7)), "tax2Rate": "0", "change": "0",
            "tipEnabled": "false", "receiptPreference": "printed",
            "displayableSubtotal": dec(subtotal), "ticketNumber": format!("22{id:010}"),
        }));
        // Split in two: one `json!` this long exceeds the macro recursion limit.
        row.extend(object(json!({
            "calcDiscount": "0", "calcTotal": dec(total), "calcSubtotal": dec(subtotal),
            "calcTaxable": dec(taxable), "calcNonTaxable": dec(subtotal - taxable),
            "calcAvgCost": dec(cost_cents), "calcFIFOCost": dec(cost_cents),
            "calcTax1": dec(tax_cents), "calcTax2": "0", "calcPayments": dec(paid),
            "calcTips": "0", "total": dec(total), "totalDue": dec(total),
            "displayableTotal": dec(total), "balance": dec(total - paid),
            "customerID": s(customer), "discountID": "0", "employeeID": s(seed.employee_id),
            "tipEmployeeID": "0", "quoteID": "0", "registerID": s(seed.register_id),
            "shipToID": s(if seed.ship_to.is_some() { id } else { 0 }),
            "shopID": s(seed.shop_id), "taxCategoryID": "1", "taxTotal": dec(tax_cents),
        })));
        if seed.completed {
            row.insert(
                "completeTime".into(),
                time(seed.complete_time.unwrap_or(ts)),
            );
        }
        let ship_to = seed.ship_to.as_ref().map(|st| {
            let row = object(json!({
                "shipToID": s(id), "saleID": s(id), "firstName": st.first_name,
                "lastName": st.last_name, "company": st.company, "title": "",
                "shipNote": "", "timeStamp": time(ts),
            }));
            let phones = if st.phone.is_empty() {
                vec![]
            } else {
                vec![object(json!({"number": st.phone, "useType": "Home"}))]
            };
            (
                row,
                contact_rec(
                    vec![],
                    phones,
                    std::slice::from_ref(&st.address),
                    &[],
                    false,
                    ts,
                ),
            )
        });
        self.sales.insert(id, SaleRec { row, ship_to });
        Ok(id)
    }

    /// Sets one plain field of a record and bumps its `timeStamp` (a write in the back office).
    pub(crate) fn set_field(
        &mut self,
        entity: Entity,
        id: u64,
        field: &str,
        value: &str,
        now: Timestamp,
    ) -> Result<(), Refusal> {
        if field == entity.id_field() {
            return Err(bad("The primary key cannot be changed"));
        }
        if let Some(inner) = field.strip_prefix("ItemECommerce.") {
            return self.set_ecommerce_field(entity, id, inner, value, now);
        }
        let row = self
            .row_mut(entity, id)
            .ok_or_else(|| (404, format!("{} {id} not found", entity.name())))?;
        row.insert(field.to_owned(), s(value));
        if row.contains_key("timeStamp") {
            row.insert("timeStamp".into(), time(now));
        }
        Ok(())
    }

    /// Changes a field of an item's or matrix's `ItemECommerce` (made when missing). The
    /// back office edits it on the item's page and saves the item, so the item's `timeStamp`
    /// moves (inferred: the relation has no `timeStamp` of its own).
    fn set_ecommerce_field(
        &mut self,
        entity: Entity,
        id: u64,
        field: &str,
        value: &str,
        now: Timestamp,
    ) -> Result<(), Refusal> {
        const FIELDS: [&str; 7] = [
            "longDescription",
            "shortDescription",
            "weight",
            "width",
            "height",
            "length",
            "listOnStore",
        ];
        if !FIELDS.contains(&field) {
            return Err(bad(format!("ItemECommerce has no field {field}")));
        }
        let exists = match entity {
            Entity::Item => self.items.contains_key(&id),
            Entity::ItemMatrix => self.matrices.contains_key(&id),
            _ => return Err(bad(format!("{} has no ItemECommerce", entity.name()))),
        };
        if !exists {
            return Err((404, format!("{} {id} not found", entity.name())));
        }
        let fresh = self.ecommerce_row(&EcommerceSeed::default());
        let (row, ecommerce) = match entity {
            Entity::Item => self
                .items
                .get_mut(&id)
                .map(|r| (&mut r.row, &mut r.ecommerce)),
            _ => self
                .matrices
                .get_mut(&id)
                .map(|r| (&mut r.row, &mut r.ecommerce)),
        }
        .ok_or_else(|| (404, format!("{} {id} not found", entity.name())))?;
        let e = ecommerce.get_or_insert(fresh);
        e.insert(field.to_owned(), s(value));
        row.insert("itemECommerceID".into(), e["itemECommerceID"].clone());
        row.insert("timeStamp".into(), time(now));
        Ok(())
    }

    fn row_mut(&mut self, entity: Entity, id: u64) -> Option<&mut Row> {
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
        }
    }

    fn row(&self, entity: Entity, id: u64) -> Option<&Row> {
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
        }
    }

    fn ids(&self, entity: Entity) -> Vec<u64> {
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

    /// Renders one record as the API would, with the requested relations.
    pub(crate) fn render(&self, entity: Entity, id: u64, loads: &Loads) -> Option<Value> {
        match entity {
            Entity::Item => self.render_item(id, loads),
            Entity::ItemMatrix => self.render_matrix(id, loads),
            Entity::Category => {
                let mut o = self.categories.get(&id)?.clone();
                if loads.has("Parent")
                    && let Some(p) = self.categories.get(&id_of(&o, "parentID"))
                {
                    o.insert("Parent".into(), Value::Object(p.clone()));
                }
                Some(Value::Object(o))
            }
            Entity::Customer => self.render_customer(id, loads),
            Entity::Sale => self.render_sale(id, loads),
            Entity::SaleLine => self.render_line(id, loads),
            Entity::ItemShop => {
                let mut o = self.item_shops.get(&id)?.clone();
                if loads.has("Item")
                    && let Some(item) = self.render_item(id_of(&o, "itemID"), &Loads::default())
                {
                    o.insert("Item".into(), item);
                }
                if loads.has("Shop")
                    && let Some(shop) = self.shops.get(&id_of(&o, "shopID"))
                {
                    o.insert("Shop".into(), Value::Object(shop.clone()));
                }
                Some(Value::Object(o))
            }
            Entity::Image | Entity::Shop | Entity::PaymentType | Entity::CustomerType => {
                self.row(entity, id).cloned().map(Value::Object)
            }
        }
    }

    fn tax_class() -> Value {
        json!({"taxClassID": "1", "name": "Item", "timeStamp": "2015-11-04T18:41:22+00:00"})
    }

    fn render_item(&self, id: u64, loads: &Loads) -> Option<Value> {
        let rec = self.items.get(&id)?;
        let mut o = rec.row.clone();
        o.insert("Prices".into(), many("ItemPrice", rows_value(&rec.prices)));
        if loads.has("ItemShops") {
            let shops = children(&self.item_shops, "itemID", id);
            o.insert("ItemShops".into(), many("ItemShop", shops));
        }
        if loads.has("Images") {
            let images = children(&self.images, "itemID", id);
            o.insert("Images".into(), many("Image", images));
        }
        if loads.has("ItemAttributes")
            && let Some(a) = &rec.attributes
        {
            o.insert("ItemAttributes".into(), Value::Object(a.clone()));
        }
        if loads.has("Category")
            && let Some(c) = self.categories.get(&id_of(&rec.row, "categoryID"))
        {
            o.insert("Category".into(), Value::Object(c.clone()));
        }
        if loads.has("ItemMatrix")
            && let Some(m) = self.render_matrix(id_of(&rec.row, "itemMatrixID"), &Loads::default())
        {
            o.insert("ItemMatrix".into(), m);
        }
        if loads.has("TaxClass") {
            o.insert("TaxClass".into(), Self::tax_class());
        }
        if loads.has("Note") {
            o.insert(
                "Note".into(),
                json!({"note": "", "isPublic": "false", "timeStamp": text(&rec.row, "createTime")}),
            );
        }
        if loads.explicit("CustomFieldValues") {
            o.insert(
                "CustomFieldValues".into(),
                many("CustomFieldValue", rows_value(&rec.custom_fields)),
            );
        }
        if loads.has("ItemECommerce")
            && let Some(e) = &rec.ecommerce
        {
            o.insert("ItemECommerce".into(), Value::Object(e.clone()));
        }
        Some(Value::Object(o))
    }

    fn render_matrix(&self, id: u64, loads: &Loads) -> Option<Value> {
        let rec = self.matrices.get(&id)?;
        let mut o = rec.row.clone();
        o.insert("Prices".into(), many("ItemPrice", rows_value(&rec.prices)));
        o.insert("attribute1Values".into(), string_or_list(&rec.attribute1));
        o.insert("attribute2Values".into(), string_or_list(&rec.attribute2));
        if loads.has("ItemAttributeSet") {
            let set = id_of(&rec.row, "itemAttributeSetID");
            let (name, [a1, a2, a3]) = match set {
                2 => ("Size", ["", "Size", ""]),
                3 => ("Color", ["Color", "", ""]),
                _ => ("Color/Size", ["Color", "Size", ""]),
            };
            o.insert(
                "ItemAttributeSet".into(),
                json!({"itemAttributeSetID": s(set), "name": name, "attributeName1": a1,
                       "attributeName2": a2, "attributeName3": a3}),
            );
        }
        if loads.has("TaxClass") {
            o.insert("TaxClass".into(), Self::tax_class());
        }
        if loads.has("Category")
            && let Some(c) = self.categories.get(&id_of(&rec.row, "categoryID"))
        {
            o.insert("Category".into(), Value::Object(c.clone()));
        }
        if loads.has("Items") {
            let items: Vec<Value> = self
                .items
                .iter()
                .filter(|(_, r)| id_of(&r.row, "itemMatrixID") == id)
                .filter_map(|(item, _)| self.render_item(*item, &Loads::default()))
                .collect();
            o.insert("Items".into(), many("Item", items));
        }
        if loads.has("Images") {
            let images = children(&self.images, "itemMatrixID", id);
            o.insert("Images".into(), many("Image", images));
        }
        if loads.has("ItemECommerce")
            && let Some(e) = &rec.ecommerce
        {
            o.insert("ItemECommerce".into(), Value::Object(e.clone()));
        }
        Some(Value::Object(o))
    }

    fn render_customer(&self, id: u64, loads: &Loads) -> Option<Value> {
        let rec = self.customers.get(&id)?;
        let mut o = rec.row.clone();
        if loads.has("Contact") {
            o.insert("Contact".into(), render_contact(&rec.contact));
        }
        if loads.has("CustomerType")
            && let Some(t) = self.customer_types.get(&id_of(&rec.row, "customerTypeID"))
        {
            o.insert("CustomerType".into(), Value::Object(t.clone()));
        }
        if loads.has("Note") {
            o.insert(
                "Note".into(),
                json!({"note": "", "isPublic": "false", "timeStamp": text(&rec.row, "createTime")}),
            );
        }
        if loads.has("Tags") {
            o.insert("Tags".into(), s(""));
        }
        if loads.explicit("CustomFieldValues") {
            o.insert(
                "CustomFieldValues".into(),
                many("CustomFieldValue", rows_value(&rec.custom_fields)),
            );
        }
        Some(Value::Object(o))
    }

    fn render_line(&self, id: u64, loads: &Loads) -> Option<Value> {
        let mut o = self.sale_lines.get(&id)?.clone();
        if loads.has("Item")
            && let Some(item) = self.render_item(id_of(&o, "itemID"), &Loads::default())
        {
            o.insert("Item".into(), item);
        }
        if loads.has("Note")
            && let Some(note) = self.line_notes.get(&id)
        {
            o.insert(
                "Note".into(),
                json!({"noteID": s(id), "note": note, "isPublic": "false",
                       "timeStamp": text(&o, "createTime")}),
            );
        }
        if loads.has("TaxClass") {
            o.insert("TaxClass".into(), Self::tax_class());
        }
        Some(Value::Object(o))
    }

    fn render_sale(&self, id: u64, loads: &Loads) -> Option<Value> {
        let rec = self.sales.get(&id)?;
        let mut o = rec.row.clone();
        if loads.has("SaleLines") {
            let line_loads = Loads {
                all: false,
                names: ["Item", "Note"]
                    .into_iter()
                    .filter(|n| loads.has(&format!("SaleLines.{n}")))
                    .map(String::from)
                    .collect(),
            };
            let lines: Vec<Value> = self
                .sale_lines
                .iter()
                .filter(|(_, r)| id_of(r, "saleID") == id)
                .filter_map(|(line, _)| self.render_line(*line, &line_loads))
                .collect();
            o.insert("SaleLines".into(), many("SaleLine", lines));
        }
        if loads.has("SalePayments") {
            // The samples always show the PaymentType inside each SalePayment.
            let payments: Vec<Value> = child_rows(&self.sale_payments, "saleID", id)
                .map(|r| {
                    let mut p = r.clone();
                    if let Some(t) = self.payment_types.get(&id_of(r, "paymentTypeID")) {
                        p.insert("PaymentType".into(), Value::Object(t.clone()));
                    }
                    Value::Object(p)
                })
                .collect();
            o.insert("SalePayments".into(), many("SalePayment", payments));
        }
        let customer_loads = if loads.has("Customer.Contact") {
            Loads::only("Contact")
        } else {
            Loads::default()
        };
        if loads.has("Customer")
            && let Some(c) = self.render_customer(id_of(&rec.row, "customerID"), &customer_loads)
        {
            o.insert("Customer".into(), c);
        }
        if loads.has("ShipTo")
            && let Some((row, contact)) = &rec.ship_to
        {
            let mut st = row.clone();
            st.insert("Contact".into(), render_contact(contact));
            o.insert("ShipTo".into(), Value::Object(st));
        }
        if loads.has("Shop")
            && let Some(shop) = self.shops.get(&id_of(&rec.row, "shopID"))
        {
            o.insert("Shop".into(), Value::Object(shop.clone()));
        }
        if loads.has("TaxCategory") {
            o.insert(
                "TaxCategory".into(),
                json!({"taxCategoryID": "1", "isTaxInclusive": "false", "tax1Name": "Sales Tax",
                       "tax2Name": "", "tax1Rate": text(&rec.row, "tax1Rate"), "tax2Rate": "0",
                       "timeStamp": "2015-11-04T18:42:42+00:00", "TaxCategoryClasses": ""}),
            );
        }
        Some(Value::Object(o))
    }

    /// The values a filter on `field` sees for one record (several for relation paths).
    fn field_values(&self, entity: Entity, id: u64, field: &str) -> Option<Vec<String>> {
        if entity == Entity::Customer && field.eq_ignore_ascii_case("Contact.email") {
            let rec = self.customers.get(&id)?;
            return Some(
                rec.contact
                    .emails
                    .iter()
                    .map(|e| text(e, "address").to_owned())
                    .collect(),
            );
        }
        if let Some((relation, sub)) = field.split_once('.') {
            let rendered = self.render(entity, id, &Loads::only(relation))?;
            let rel = rendered.get(relation)?;
            let elements: Vec<&Value> = match rel {
                Value::Object(m)
                    if m.len() == 1 && m.values().all(|v| v.is_array() || v.is_object()) =>
                {
                    match m.values().next() {
                        Some(Value::Array(a)) => a.iter().collect(),
                        Some(other) => vec![other],
                        None => vec![],
                    }
                }
                Value::Object(_) => vec![rel],
                _ => vec![],
            };
            return Some(
                elements
                    .iter()
                    .filter_map(|e| e.get(sub).and_then(Value::as_str).map(str::to_owned))
                    .collect(),
            );
        }
        let row = self.row(entity, id)?;
        let key = if entity == Entity::Sale && field.eq_ignore_ascii_case("updatetime") {
            "updateTime"
        } else {
            field
        };
        row.get(key)
            .and_then(Value::as_str)
            .map(|v| vec![v.to_owned()])
    }

    /// Whether `field` is something a filter can use on `entity`, with a sample value (from
    /// the first record that has the field) for validating the operands.
    fn probe_field(&self, entity: Entity, field: &str, ids: &[u64]) -> Option<String> {
        if field.contains('.') {
            let relation = field.split('.').next().unwrap_or("");
            let known = (entity == Entity::Customer && field.eq_ignore_ascii_case("Contact.email"))
                || entity.relations().iter().any(|(n, _)| *n == relation);
            return known.then(String::new);
        }
        if ids.is_empty() {
            return Some(String::new());
        }
        // Some fields exist only on some records (`completeTime` on completed sales).
        ids.iter().find_map(|id| {
            self.field_values(entity, *id, field)
                .and_then(|v| v.into_iter().next())
        })
    }

    /// Runs a list query.
    pub(crate) fn list(&self, entity: Entity, q: &ListQuery) -> Result<ListPage, Refusal> {
        let all_ids = self.ids(entity);
        for (field, cond) in &q.filters {
            let Some(sample_value) = self.probe_field(entity, field, &all_ids) else {
                return Err(bad(format!(
                    "Invalid field '{field}' for {}",
                    entity.name()
                )));
            };
            cond.validate(field, &sample_value).map_err(bad)?;
        }
        let sort_field = q.sort_field(entity);
        let mut rows: Vec<(Comparable, u64)> = Vec::new();
        for id in all_ids {
            let Some(row) = self.row(entity, id) else {
                continue;
            };
            let archived = text(row, "archived") == "true";
            let keep = match q.archived {
                Archived::Exclude => !archived,
                Archived::Include => true,
                Archived::Only => archived,
            };
            if !keep {
                continue;
            }
            let pass = q.filters.iter().all(|(field, cond)| {
                let values = self.field_values(entity, id, field).unwrap_or_default();
                match cond {
                    Condition::Ne(_) | Condition::NotLike(_) => {
                        values.iter().all(|v| cond.matches(v))
                    }
                    _ => values.iter().any(|v| cond.matches(v)),
                }
            });
            if !pass {
                continue;
            }
            let key = self
                .field_values(entity, id, &sort_field)
                .and_then(|v| v.into_iter().next())
                .unwrap_or_default();
            // Decorated once here, so sorting and paging never parse a value again.
            rows.push((Comparable::new(key), id));
        }
        let order = |a: &(Comparable, u64), b: &(Comparable, u64)| {
            let o = a.0.cmp_to(&b.0).then(a.1.cmp(&b.1));
            if q.descending { o.reverse() } else { o }
        };
        rows.sort_by(order);
        let boundary = |c: &Cursor| (Comparable::new(c.v.clone()), c.i);
        let start = q.after.as_ref().map(boundary).map_or(0, |b| {
            rows.partition_point(|r| order(r, &b) != Ordering::Greater)
        });
        let end = q.before.as_ref().map(boundary).map_or(rows.len(), |b| {
            rows.partition_point(|r| order(r, &b) == Ordering::Less)
        });
        let window = &rows[start.min(end)..end];
        let page: &[(Comparable, u64)] = if q.before.is_some() && q.after.is_none() {
            &window[window.len().saturating_sub(q.limit)..]
        } else {
            &window[..window.len().min(q.limit)]
        };
        let cursor = |r: &(Comparable, u64)| Cursor {
            f: sort_field.clone(),
            d: q.descending,
            v: r.0.as_str().to_owned(),
            i: r.1,
        };
        // Mixed kinds of values need not order transitively, so the links come from a scan
        // rather than from the page's position.
        let next = page.last().and_then(|last| {
            rows.iter()
                .any(|r| order(r, last) == Ordering::Greater)
                .then(|| cursor(last))
        });
        let previous = page.first().and_then(|first| {
            rows.iter()
                .any(|r| order(r, first) == Ordering::Less)
                .then(|| cursor(first))
        });
        let records = page
            .iter()
            .filter_map(|(_, id)| self.render(entity, *id, &q.loads))
            .collect();
        Ok(ListPage {
            records,
            next,
            previous,
        })
    }

    /// Applies `PUT Item/{id}.json`: `ItemShops` entries set stock (by `itemShopID` or
    /// `shopID`); a few plain fields may change (and then `timeStamp` moves).
    pub(crate) fn put_item(
        &mut self,
        id: u64,
        body: &Value,
        now: Timestamp,
    ) -> Result<(), Refusal> {
        if !self.items.contains_key(&id) {
            return Err((404, format!("Item {id} not found")));
        }
        let Value::Object(body) = body else {
            return Err(bad("The request body must be a JSON object"));
        };
        if body.contains_key("archived") {
            // Docs: "you cannot archive via PUT archived"; DELETE archives.
            return Err(bad(
                "archived cannot be set with PUT; use DELETE to archive",
            ));
        }
        let mut stock: Vec<(u64, i64)> = Vec::new();
        if let Some(shops) = body.get("ItemShops") {
            let entries: Vec<&Value> = match shops.get("ItemShop") {
                Some(Value::Array(a)) => a.iter().collect(),
                Some(v @ Value::Object(_)) => vec![v],
                _ => return Err(bad("ItemShops must hold ItemShop")),
            };
            for entry in entries {
                let field = |name: &str| match entry.get(name) {
                    Some(Value::String(t)) => Some(t.clone()),
                    Some(Value::Number(n)) => Some(n.to_string()),
                    _ => None,
                };
                let qoh: i64 = field("qoh")
                    .ok_or_else(|| bad("ItemShop needs qoh"))?
                    .parse()
                    .map_err(|_| bad("qoh must be an integer"))?;
                let shop = if let Some(item_shop) = field("itemShopID") {
                    let item_shop: u64 = item_shop
                        .parse()
                        .map_err(|_| bad("itemShopID must be an integer"))?;
                    let row = self
                        .item_shops
                        .get(&item_shop)
                        .filter(|r| id_of(r, "itemID") == id)
                        .ok_or_else(|| {
                            bad(format!("ItemShop {item_shop} does not belong to Item {id}"))
                        })?;
                    id_of(row, "shopID")
                } else {
                    field("shopID")
                        .ok_or_else(|| bad("ItemShop needs itemShopID or shopID"))?
                        .parse()
                        .map_err(|_| bad("shopID must be an integer"))?
                };
                stock.push((shop, qoh));
            }
        }
        let editable = [
            "description",
            "customSku",
            "manufacturerSku",
            "upc",
            "ean",
            "defaultCost",
            "tax",
            "discountable",
        ];
        let mut changed = Vec::new();
        for (k, v) in body {
            if editable.contains(&k.as_str()) {
                let value = match v {
                    Value::String(t) => t.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => return Err(bad(format!("{k} must be a scalar"))),
                };
                changed.push((k.clone(), value));
            }
        }
        // Validate all stock entries before applying any (a rejected request changes nothing).
        for (shop, _) in &stock {
            if *shop == 0 || !self.shops.contains_key(shop) {
                return Err(bad(format!("Shop {shop} cannot hold stock")));
            }
        }
        for (shop, qoh) in stock {
            self.set_stock(id, shop, qoh, now)?;
        }
        if !changed.is_empty()
            && let Some(rec) = self.items.get_mut(&id)
        {
            for (k, v) in changed {
                rec.row.insert(k, s(v));
            }
            rec.row.insert("timeStamp".into(), time(now));
        }
        Ok(())
    }

    /// `DELETE Item/{id}.json`: archives the item and zeroes its inventory (docs).
    pub(crate) fn archive_item(&mut self, id: u64, now: Timestamp) -> Result<(), Refusal> {
        let shops: Vec<u64> = child_rows(&self.item_shops, "itemID", id)
            .map(|r| id_of(r, "shopID"))
            .filter(|shop| *shop != 0)
            .collect();
        let rec = self
            .items
            .get_mut(&id)
            .ok_or_else(|| (404, format!("Item {id} not found")))?;
        rec.row.insert("archived".into(), flag(true));
        rec.row.insert("timeStamp".into(), time(now));
        for shop in shops {
            self.set_stock(id, shop, 0, now)?;
        }
        Ok(())
    }
}

/// Formats a time for messages.
pub(crate) fn show(ts: Timestamp) -> String {
    format_time(ts)
}
