//! Changes to records after loading: stock per shop (the ItemShop rows and the shopID 0
//! summary; `Item.timeStamp` does not move, api-notes §2.3), back-office field edits, and
//! the API writes `PUT Item` and `DELETE Item`.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::{Refusal, Store, bad, child_rows};
use crate::lightspeed::query::Entity;
use crate::lightspeed::render::{decimal, flag, id_of, object, parse_decimal, s, text, time};
use crate::lightspeed::seed::EcommerceSeed;

impl Store {
    pub(super) fn insert_item_shop(&mut self, item: u64, shop: u64, qoh: i64, now: Timestamp) {
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

    pub(super) fn item_shop_id(&self, item: u64, shop: u64) -> Option<u64> {
        self.item_shops
            .iter()
            .find(|(_, r)| id_of(r, "itemID") == item && id_of(r, "shopID") == shop)
            .map(|(id, _)| *id)
    }

    /// Keeps the shopID 0 summary equal to the sum over shops.
    pub(super) fn refresh_summary(&mut self, item: u64, now: Timestamp) {
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
    pub(super) fn set_ecommerce_field(
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
