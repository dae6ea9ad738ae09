//! Changes to records after loading: stock per shop (the ItemShop rows, the shopID 0
//! summary and the `InventoryLog`), sales that complete and void and the stock they move,
//! back-office field edits, and the API writes `PUT Item` and `DELETE Item`.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::{PAYMENT_TIME, Refusal, StockMove, Store, bad, child_rows};
use crate::lightspeed::query::Entity;
use crate::lightspeed::render::{
    decimal, flag, id_of, money, object, parse_decimal, s, text, time,
};
use crate::lightspeed::seed::{EcommerceSeed, SalePaymentSeed};
use crate::lightspeed::settings::{BoxSaleStock, LayawayStock};

/// One change of stock, with what caused it (for the `InventoryLog`).
struct StockChange<'a> {
    item: u64,
    shop: u64,
    qoh: i64,
    layaway: i64,
    /// An `InventoryLog` reason from the docs' list (`RemoveForTransactionLine`, …).
    reason: &'a str,
    sale: u64,
    employee: u64,
    customer: u64,
}

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

    /// Keeps the shopID 0 summary equal to the sum over shops (`qoh` and `onLayaway`).
    pub(super) fn refresh_summary(&mut self, item: u64, now: Timestamp) {
        let sum = |field: &str| -> i64 {
            child_rows(&self.item_shops, "itemID", item)
                .filter(|r| id_of(r, "shopID") != 0)
                .map(|r| text(r, field).parse::<i64>().unwrap_or(0))
                .sum()
        };
        let (total, layaway) = (sum("qoh"), sum("onLayaway"));
        if let Some(id) = self.item_shop_id(item, 0)
            && let Some(row) = self.item_shops.get_mut(&id)
            && (text(row, "qoh") != total.to_string()
                || text(row, "onLayaway") != layaway.to_string())
        {
            row.insert("qoh".into(), s(total));
            row.insert("sellable".into(), s(total.max(0)));
            row.insert("onLayaway".into(), s(layaway));
            row.insert("timeStamp".into(), time(now));
        }
    }

    /// The ItemShop row of an item in a shop, made when missing ("ItemShops are created by
    /// Retail POS as needed", developers.lightspeedhq.com/retail/tutorials/inventory/).
    fn item_shop_row(&mut self, item: u64, shop: u64, now: Timestamp) -> u64 {
        if let Some(id) = self.item_shop_id(item, shop) {
            return id;
        }
        self.insert_item_shop(item, shop, 0, now);
        self.item_shop_id(item, shop).unwrap_or(0)
    }

    /// Changes the stock of an item in a shop by `qoh` and `layaway` units: the ItemShop's
    /// `timeStamp` moves, the summary follows, an `InventoryLog` row records the change and
    /// `Item.timeStamp` moves only if [`Behaviour::stock_moves_item_timestamp`] says so.
    fn change_stock(&mut self, change: &StockChange<'_>, now: Timestamp) {
        let id = self.item_shop_row(change.item, change.shop, now);
        let Some(row) = self.item_shops.get_mut(&id) else {
            return;
        };
        let qoh = text(row, "qoh").parse::<i64>().unwrap_or(0) + change.qoh;
        let layaway = text(row, "onLayaway").parse::<i64>().unwrap_or(0) + change.layaway;
        if change.qoh == 0 && change.layaway == 0 {
            return;
        }
        row.insert("qoh".into(), s(qoh));
        row.insert("sellable".into(), s(qoh.max(0)));
        row.insert("onLayaway".into(), s(layaway));
        row.insert("timeStamp".into(), time(now));
        self.refresh_summary(change.item, now);
        if change.qoh != 0 {
            let log = self.next_id(Entity::InventoryLog, None);
            let row = object(json!({
                "inventoryLogID": s(log), "shopID": s(change.shop),
                "employeeID": s(change.employee), "itemID": s(change.item),
                "qohChange": s(change.qoh), "costChange": "0", "createTime": time(now),
                "automated": flag(change.sale > 0), "causedNegative": flag(qoh < 0 && qoh - change.qoh >= 0),
                "reason": change.reason, "customerID": s(change.customer),
                "inventoryCountID": "0", "itemImportID": "0", "orderID": "0",
                "saleID": s(change.sale), "transferID": "0", "vendorReturnID": "0",
            }));
            self.inventory_logs.insert(log, row);
            if self.behaviour.stock_moves_item_timestamp
                && let Some(rec) = self.items.get_mut(&change.item)
            {
                rec.row.insert("timeStamp".into(), time(now));
            }
        }
    }

    /// Sets the quantity on hand of an item in a shop, as a count in the back office or
    /// `PUT Item` does. The ItemShop's `timeStamp` moves; the Item's only under
    /// [`Behaviour::stock_moves_item_timestamp`] (default off, api-notes §2.3: "Item.timeStamp
    /// excludes changes to related records").
    pub(crate) fn set_stock(
        &mut self,
        item: u64,
        shop: u64,
        qoh: i64,
        now: Timestamp,
    ) -> Result<(), Refusal> {
        self.set_stock_for(item, shop, qoh, "ManualQuantityAdjustment", now)
    }

    /// [`Store::set_stock`] with the `InventoryLog` reason of the change.
    fn set_stock_for(
        &mut self,
        item: u64,
        shop: u64,
        qoh: i64,
        reason: &str,
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
        let id = self.item_shop_row(item, shop, now);
        let old = self
            .item_shops
            .get(&id)
            .and_then(|r| text(r, "qoh").parse::<i64>().ok())
            .unwrap_or(0);
        self.change_stock(
            &StockChange {
                item,
                shop,
                qoh: qoh - old,
                layaway: 0,
                reason,
                sale: 0,
                employee: 0,
                customer: 0,
            },
            now,
        );
        self.refresh_summary(item, now);
        Ok(())
    }

    /// Whether an item's units are counted (`non_inventory` items have no stock).
    fn counts_stock(&self, item: u64) -> bool {
        self.items
            .get(&item)
            .is_some_and(|i| text(&i.row, "itemType") != "non_inventory")
    }

    /// A completed sale takes its units: sold lines off `qoh`, refund lines back on,
    /// layaway lines into `onLayaway` (and off `qoh` when [`LayawayStock::AtCreation`]),
    /// pick-ups out of `onLayaway` (docs Sale page: "If the sale is completed the inventory
    /// will have been removed"). The moves are kept so a void can put them back.
    pub(super) fn take_sale_stock(&mut self, sale: u64, now: Timestamp) {
        let Some(rec) = self.sales.get(&sale) else {
            return;
        };
        let (shop, employee, customer) = (
            id_of(&rec.row, "shopID"),
            id_of(&rec.row, "employeeID"),
            id_of(&rec.row, "customerID"),
        );
        let pickups = rec.pickups.clone();
        let lines: Vec<(u64, u64, i64, bool)> = child_rows(&self.sale_lines, "saleID", sale)
            .map(|r| {
                (
                    id_of(r, "saleLineID"),
                    id_of(r, "itemID"),
                    text(r, "unitQuantity").parse::<i64>().unwrap_or(0),
                    text(r, "isLayaway") == "true",
                )
            })
            .collect();
        let at_creation = self.behaviour.layaway_stock == LayawayStock::AtCreation;
        let mut moves = Vec::new();
        for (line, item, qty, layaway) in lines {
            if item == 0 || !self.counts_stock(item) {
                continue;
            }
            let (qoh, held, reason) = if layaway {
                (if at_creation { -qty } else { 0 }, qty, "RemoveForLayaway")
            } else if pickups.contains(&line) {
                (
                    if at_creation { 0 } else { -qty },
                    -qty,
                    "RemoveForTransactionLine",
                )
            } else if qty < 0 {
                (-qty, 0, "RefundAddInventory")
            } else {
                (-qty, 0, "RemoveForTransactionLine")
            };
            // A box sold: what its own stock lacks is built from its single at checkout.
            let mut parts = vec![(item, qoh)];
            if !layaway
                && !pickups.contains(&line)
                && qty > 0
                && self.behaviour.box_sale_stock == BoxSaleStock::BuildFromSingles
                && let Some((single, per_box)) = self.box_single(item)
            {
                let in_stock = self.stock(item, shop).unwrap_or(0).max(0);
                let from_box = qty.min(in_stock);
                let lacking = qty - from_box;
                parts = vec![(item, -from_box), (single, -lacking * per_box)];
            }
            for (item, qoh) in parts {
                if qoh == 0 && held == 0 {
                    continue;
                }
                let mv = StockMove {
                    item,
                    shop,
                    qoh,
                    layaway: held,
                    refund: qty < 0,
                };
                self.change_stock(
                    &StockChange {
                        item,
                        shop,
                        qoh,
                        layaway: held,
                        reason,
                        sale,
                        employee,
                        customer,
                    },
                    now,
                );
                moves.push(mv);
            }
        }
        if let Some(rec) = self.sales.get_mut(&sale) {
            rec.moves = moves;
        }
    }

    /// The single a box is built from and how many of it one box holds: the box's
    /// `ItemComponent` of the lowest `componentGroup` (docs Item page: "Box relationships
    /// will have a unique componentGroup for each single component"). None for any other
    /// item, or a box without singles.
    fn box_single(&self, item: u64) -> Option<(u64, i64)> {
        let rec = self.items.get(&item)?;
        if text(&rec.row, "itemType") != "box" {
            return None;
        }
        child_rows(&self.item_components, "assemblyItemID", item)
            .min_by_key(|r| text(r, "componentGroup").parse::<u64>().unwrap_or(u64::MAX))
            .map(|r| {
                (
                    id_of(r, "componentItemID"),
                    text(r, "quantity").parse::<i64>().unwrap_or(1),
                )
            })
    }

    /// Records that `quantity` of item `component` make one `assembly` (a box's single, or
    /// an assembly's part), as the item's *Box* or *Assembly* tab does: an `ItemComponent`
    /// with `componentGroup` 0 for an assembly and a new group per single for a box (docs
    /// Item page, "ItemComponent Fields"). Refused unless both items exist, `assembly` is a
    /// box or an assembly and `quantity` is at least 1 (texts inferred).
    pub(crate) fn add_item_component(
        &mut self,
        assembly: u64,
        component: u64,
        quantity: i64,
    ) -> Result<u64, Refusal> {
        let kind = self
            .items
            .get(&assembly)
            .map(|r| text(&r.row, "itemType").to_owned())
            .ok_or_else(|| (404, format!("Item {assembly} not found")))?;
        if !self.items.contains_key(&component) {
            return Err((404, format!("Item {component} not found")));
        }
        if quantity < 1 {
            return Err(bad("ItemComponent quantity must be at least 1"));
        }
        let group = match kind.as_str() {
            "box" => {
                child_rows(&self.item_components, "assemblyItemID", assembly)
                    .map(|r| text(r, "componentGroup").parse::<u64>().unwrap_or(0))
                    .max()
                    .unwrap_or(0)
                    + 1
            }
            "assembly" | "serialized_assembly" => 0,
            other => {
                return Err(bad(format!(
                    "Item {assembly} is of itemType {other}: only a box or an assembly has components"
                )));
            }
        };
        let id = self.item_components.keys().max().copied().unwrap_or(0) + 1;
        let row = object(json!({
            "itemComponentID": s(id), "quantity": s(quantity), "componentGroup": s(group),
            "assemblyItemID": s(assembly), "componentItemID": s(component),
        }));
        self.item_components.insert(id, row);
        Ok(id)
    }

    /// A void restocks what the sale took ("All inventory is restocked", docs Sale page).
    fn put_back_sale_stock(&mut self, sale: u64, now: Timestamp) {
        let Some(rec) = self.sales.get_mut(&sale) else {
            return;
        };
        let moves = std::mem::take(&mut rec.moves);
        let (employee, customer) = (id_of(&rec.row, "employeeID"), id_of(&rec.row, "customerID"));
        for mv in moves.iter().rev() {
            self.change_stock(
                &StockChange {
                    item: mv.item,
                    shop: mv.shop,
                    qoh: -mv.qoh,
                    layaway: -mv.layaway,
                    reason: if mv.refund {
                        "VoidRefund"
                    } else {
                        "PutBackForTransaction"
                    },
                    sale,
                    employee,
                    customer,
                },
                now,
            );
        }
    }

    /// Sets the time a payment sorts by (`sort=timeStamp` on SalePayment; not rendered).
    pub(super) fn touch_payment(&mut self, payment: u64, now: Timestamp) {
        if let Some(row) = self.sale_payments.get_mut(&payment) {
            row.insert(PAYMENT_TIME.into(), time(now));
        }
    }

    /// Recomputes a sale's payment sums from its payments that are not archived:
    /// `calcPayments` (tips included), `calcTips`, `balance` (total + tips − payments: a
    /// completed sale balances), `totalDue` (total minus credit-account and gift-card moves)
    /// and `displayableTotal` (total plus gift-card deposits), as the Sale page defines them.
    pub(super) fn refresh_payment_sums(&mut self, sale: u64) {
        let (mut paid, mut tips, mut accounts, mut gift_deposits) = (0i128, 0i128, 0i128, 0i128);
        for p in child_rows(&self.sale_payments, "saleID", sale) {
            if text(p, "archived") == "true" {
                continue;
            }
            let amount = parse_decimal(text(p, "amount"), 2).unwrap_or(0);
            paid += amount;
            tips += parse_decimal(text(p, "tipAmount"), 2).unwrap_or(0);
            let kind = self
                .payment_types
                .get(&id_of(p, "paymentTypeID"))
                .map_or("", |t| text(t, "type"));
            if matches!(kind, "credit account" | "gift card") {
                accounts += amount;
                if kind == "gift card" && amount < 0 {
                    gift_deposits -= amount;
                }
            }
        }
        let Some(rec) = self.sales.get_mut(&sale) else {
            return;
        };
        let total = parse_decimal(text(&rec.row, "total"), 2).unwrap_or(0);
        let dec = |v: i128| s(decimal(v, 2));
        rec.row.insert("calcPayments".into(), dec(paid));
        rec.row.insert("calcTips".into(), dec(tips));
        rec.row.insert("balance".into(), dec(total + tips - paid));
        rec.row.insert("totalDue".into(), dec(total - accounts));
        rec.row
            .insert("displayableTotal".into(), dec(total + gift_deposits));
    }

    /// Moves a sale's `updatetime`, and its legacy `timeStamp` unless it is completed (then
    /// `timeStamp` stays the completion time, docs Sale page).
    fn touch_sale(&mut self, sale: u64, now: Timestamp) {
        let key = self.behaviour.update_time_key.key();
        if let Some(rec) = self.sales.get_mut(&sale) {
            rec.row.insert(key.into(), time(now));
            if text(&rec.row, "completed") != "true" {
                rec.row.insert("timeStamp".into(), time(now));
            }
        }
    }

    /// Completes an open sale with its payments: `completed`, `completeTime`, `timeStamp`
    /// and `updatetime` become now and the stock moves. Refused when voided, completed
    /// already, or when the payments do not cover the total (a completed sale balances).
    pub(crate) fn complete_sale(
        &mut self,
        sale: u64,
        payments: &[SalePaymentSeed],
        now: Timestamp,
    ) -> Result<(), Refusal> {
        let rec = self
            .sales
            .get(&sale)
            .ok_or_else(|| (404, format!("Sale {sale} not found")))?;
        if text(&rec.row, "voided") == "true" {
            return Err(bad(format!(
                "Sale {sale} is voided and cannot be completed"
            )));
        }
        if text(&rec.row, "completed") == "true" {
            return Err(bad(format!("Sale {sale} is already completed")));
        }
        let (register, employee) = (id_of(&rec.row, "registerID"), id_of(&rec.row, "employeeID"));
        let total = parse_decimal(text(&rec.row, "total"), 2).unwrap_or(0);
        let live = |p: &&SalePaymentSeed| !p.archived;
        let mut paid = parse_decimal(text(&rec.row, "calcPayments"), 2).unwrap_or(0);
        let mut tips = parse_decimal(text(&rec.row, "calcTips"), 2).unwrap_or(0);
        for (n, p) in payments.iter().enumerate() {
            if !self.payment_types.contains_key(&p.payment_type_id) {
                return Err(bad(format!(
                    "Sale {sale} payment {}: PaymentType {} does not exist",
                    n + 1,
                    p.payment_type_id
                )));
            }
        }
        for p in payments.iter().filter(live) {
            paid += i128::from(p.amount_cents);
            tips += i128::from(p.tip_cents);
        }
        if total + tips != paid {
            return Err(bad(format!(
                "Sale {sale} cannot be completed: total {}, tips {}, payments {}",
                decimal(total, 2),
                decimal(tips, 2),
                decimal(paid, 2)
            )));
        }
        for p in payments {
            let id = self.next_id(Entity::SalePayment, None);
            let row = object(json!({
                "salePaymentID": s(id), "amount": money(p.amount_cents),
                "tipAmount": money(p.tip_cents), "createTime": time(p.create_time.unwrap_or(now)),
                "archived": flag(p.archived), "remoteReference": "", "paymentID": "",
                "saleID": s(sale), "paymentTypeID": s(p.payment_type_id), "ccChargeID": "0",
                "refPaymentID": "0", "registerID": s(register), "employeeID": s(employee),
                "creditAccountID": s(p.credit_account_id.unwrap_or(0)),
            }));
            self.sale_payments.insert(id, row);
            self.touch_payment(id, now);
        }
        let key = self.behaviour.update_time_key.key();
        if let Some(rec) = self.sales.get_mut(&sale) {
            for field in ["completeTime", "timeStamp", key] {
                rec.row.insert(field.into(), time(now));
            }
            rec.row.insert("completed".into(), flag(true));
        }
        self.refresh_payment_sums(sale);
        self.take_sale_stock(sale, now);
        Ok(())
    }

    /// Voids a sale: `voided`, its payments archived ("essentially voided", docs SalePayment
    /// page), a `SaleVoid` record, the stock put back, `updatetime` now. A completed sale's
    /// `timeStamp` stays its completion time unless [`Behaviour::void_moves_timestamp`];
    /// [`Behaviour::void_archives_sale`] also archives it. Returns the `saleVoidID`.
    pub(crate) fn void_sale(
        &mut self,
        sale: u64,
        reason: &str,
        employee: Option<u64>,
        now: Timestamp,
    ) -> Result<u64, Refusal> {
        let rec = self
            .sales
            .get(&sale)
            .ok_or_else(|| (404, format!("Sale {sale} not found")))?;
        if text(&rec.row, "voided") == "true" {
            return Err(bad(format!("Sale {sale} is already voided")));
        }
        let completed = text(&rec.row, "completed") == "true";
        let shop = id_of(&rec.row, "shopID");
        let employee = employee.unwrap_or_else(|| id_of(&rec.row, "employeeID"));
        if completed {
            self.put_back_sale_stock(sale, now);
        }
        let payments: Vec<u64> = child_rows(&self.sale_payments, "saleID", sale)
            .filter(|p| text(p, "archived") != "true")
            .map(|p| id_of(p, "salePaymentID"))
            .collect();
        for p in payments {
            if let Some(row) = self.sale_payments.get_mut(&p) {
                row.insert("archived".into(), flag(true));
            }
            self.touch_payment(p, now);
        }
        let void = self.next_id(Entity::SaleVoid, None);
        // Fields and reason text as in the docs' SaleVoid sample.
        let reason = if reason.is_empty() {
            "Lightspeed Retail System Administrator Void: "
        } else {
            reason
        };
        let row = object(json!({
            "saleVoidID": s(void), "createTime": time(now), "reason": reason,
            "saleID": s(sale), "employeeID": s(employee), "shopID": s(shop),
        }));
        self.sale_voids.insert(void, row);
        self.touch_sale(sale, now);
        let (moves_stamp, archives) = (
            self.behaviour.void_moves_timestamp,
            self.behaviour.void_archives_sale,
        );
        if let Some(rec) = self.sales.get_mut(&sale) {
            rec.row.insert("voided".into(), flag(true));
            if moves_stamp {
                rec.row.insert("timeStamp".into(), time(now));
            }
            if archives {
                rec.row.insert("archived".into(), flag(true));
            }
        }
        self.refresh_payment_sums(sale);
        Ok(void)
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
        if matches!(entity, Entity::Sale | Entity::SaleLine) {
            return self.edit_sale(entity, id, field, value, now);
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

    /// An edit of a sale or of one of its lines: the line's `timeStamp` and the sale's
    /// `updatetime` move, the sale's `timeStamp` only while it is open. Completing and
    /// voiding have their own calls (they move stock and payments); a new `completeTime`
    /// ("Can be changed", docs Sale page) carries `timeStamp` with it.
    fn edit_sale(
        &mut self,
        entity: Entity,
        id: u64,
        field: &str,
        value: &str,
        now: Timestamp,
    ) -> Result<(), Refusal> {
        if matches!(field, "completed" | "voided") {
            return Err(bad(format!(
                "{field} changes through completing or voiding the sale, not as a field"
            )));
        }
        let row = self
            .row_mut(entity, id)
            .ok_or_else(|| (404, format!("{} {id} not found", entity.name())))?;
        row.insert(field.to_owned(), s(value));
        let sale = if entity == Entity::SaleLine {
            row.insert("timeStamp".into(), time(now));
            id_of(row, "saleID")
        } else {
            id
        };
        let key = self.behaviour.update_time_key.key();
        if field == "timeStamp" || field.eq_ignore_ascii_case(key) {
            return Ok(());
        }
        self.touch_sale(sale, now);
        if entity == Entity::Sale
            && field == "completeTime"
            && let Some(rec) = self.sales.get_mut(&sale)
            && text(&rec.row, "completed") == "true"
        {
            rec.row.insert("timeStamp".into(), s(value));
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

    /// The item types the docs' Item page lists.
    const ITEM_TYPES: [&'static str; 6] = [
        "default",
        "non_inventory",
        "serialized",
        "box",
        "serialized_assembly",
        "assembly",
    ];

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
            "itemType",
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
        let new_type = changed
            .iter()
            .find(|(k, _)| k == "itemType")
            .map(|(_, v)| v.clone());
        if let Some(t) = &new_type
            && !Self::ITEM_TYPES.contains(&t.as_str())
        {
            return Err(bad(format!(
                "itemType must be one of {}",
                Self::ITEM_TYPES.join(", ")
            )));
        }
        let item_type = new_type.unwrap_or_else(|| {
            self.items
                .get(&id)
                .map(|r| text(&r.row, "itemType").to_owned())
                .unwrap_or_default()
        });
        if !stock.is_empty()
            && item_type == "non_inventory"
            && self.behaviour.non_inventory_stock == crate::lightspeed::NonInventoryStock::Refused
        {
            return Err(bad(format!(
                "Item {id} is a non-inventory item: it has no quantity on hand"
            )));
        }
        let serialized = self
            .items
            .get(&id)
            .is_some_and(|r| text(&r.row, "serialized") == "true");
        if !stock.is_empty()
            && serialized
            && self.behaviour.serialized_stock == crate::lightspeed::SerializedStock::Refused
        {
            return Err(bad(format!(
                "Item {id} is serialized: its quantity on hand follows its serial numbers"
            )));
        }
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
            self.set_stock_for(id, shop, 0, "RemoveForArchiveItem", now)?;
        }
        Ok(())
    }
}
