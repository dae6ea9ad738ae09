//! Seeds become records: shops, payment and customer types, categories (with their
//! nested-set bounds), customers, matrices, items with their stock rows and images, and
//! sales with their lines and payments, each checked against what it references.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::json;

use super::{
    CustomerRec, IMAGE_BASE, ItemRec, MatrixRec, Refusal, SaleRec, Store, bad, contact_rec,
    price_rows,
};
use crate::lightspeed::query::Entity;
use crate::lightspeed::render::{
    Row, decimal, flag, id_of, money, object, parse_decimal, s, text, time,
};
use crate::lightspeed::seed::{
    CategorySeed, CustomerSeed, CustomerTypeSeed, Dataset, EcommerceSeed, ItemSeed, MatrixSeed,
    PaymentTypeSeed, SaleSeed, ShopSeed,
};

impl Store {
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
    pub(super) fn renumber_categories(&mut self) {
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

    pub(super) fn customer_rec(
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
    pub(super) fn ecommerce_row(&mut self, seed: &EcommerceSeed) -> Row {
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
}
