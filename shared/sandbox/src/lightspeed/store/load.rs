//! Seeds become records: tax classes and categories, shops, registers, employees,
//! discounts, payment and customer types, categories (with their nested-set bounds),
//! customers, matrices, items with their stock rows and images, and sales with their lines,
//! payments, voids and stock moves, each checked against what it references.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde_json::json;

use super::{
    CustomerRec, IMAGE_BASE, ItemRec, MatrixRec, Refusal, SaleRec, Store, TaxCategoryRec, bad,
    child_rows, contact_rec, price_rows,
};
use crate::lightspeed::money as sums;
use crate::lightspeed::query::Entity;
use crate::lightspeed::render::{
    Row, decimal, flag, id_of, money, object, parse_decimal, s, text, time,
};
use crate::lightspeed::seed::{
    CategorySeed, CustomerSeed, CustomerTypeSeed, Dataset, DiscountSeed, EcommerceSeed,
    EmployeeSeed, ItemSeed, LineOf, MatrixSeed, PaymentTypeSeed, RegisterSeed, SaleLineSeed,
    SaleSeed, ShopSeed, TaxCategorySeed, TaxClassSeed,
};
use crate::lightspeed::settings::InclusiveAmounts;

impl Store {
    /// Loads a whole dataset in reference order.
    pub(crate) fn load(&mut self, data: &Dataset, now: Timestamp) -> Result<(), Refusal> {
        for c in &data.tax_classes {
            self.add_tax_class(c, now);
        }
        for c in &data.tax_categories {
            self.add_tax_category(c, now)?;
        }
        for s in &data.shops {
            self.add_shop(s, now);
        }
        for r in &data.registers {
            self.add_register(r, now)?;
        }
        for e in &data.employees {
            self.add_employee(e, now);
        }
        for d in &data.discounts {
            self.add_discount(d, now)?;
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
            "contactID": "0", "taxCategoryID": s(seed.tax_category_id.unwrap_or(1)),
            "receiptSetupID": "1", "vendorID": "0",
            "ccGatewayID": "0", "gatewayConfigID": "0", "priceLevelID": "1",
        }));
        self.shops.insert(id, row);
        if self.behaviour.item_shops_for_new_shops {
            let item_ids: Vec<u64> = self.items.keys().copied().collect();
            for item in item_ids {
                if self.item_shop_id(item, id).is_none() {
                    self.insert_item_shop(item, id, 0, now);
                }
            }
        }
        id
    }

    pub(crate) fn add_tax_class(&mut self, seed: &TaxClassSeed, now: Timestamp) -> u64 {
        let id = self.next_id(Entity::TaxClass, seed.id);
        let row = object(json!({"taxClassID": s(id), "name": seed.name, "timeStamp": time(now)}));
        self.tax_classes.insert(id, row);
        id
    }

    pub(crate) fn add_tax_category(
        &mut self,
        seed: &TaxCategorySeed,
        now: Timestamp,
    ) -> Result<u64, Refusal> {
        let rate = |ppm: i64, what: &str| {
            if (0..=1_000_000).contains(&ppm) {
                Ok(s(decimal(i128::from(ppm), 6)))
            } else {
                Err(bad(format!(
                    "TaxCategory {}: {what} must be a fraction between 0 and 1, got {ppm} ppm",
                    seed.tax1_name
                )))
            }
        };
        let (tax1, tax2) = (
            rate(seed.tax1_ppm, "tax1Rate")?,
            rate(seed.tax2_ppm, "tax2Rate")?,
        );
        for class in &seed.classes {
            if !self.tax_classes.contains_key(&class.tax_class_id) {
                return Err(bad(format!(
                    "TaxCategory {}: TaxClass {} does not exist",
                    seed.tax1_name, class.tax_class_id
                )));
            }
            rate(class.tax1_ppm, "a class's tax1Rate")?;
            rate(class.tax2_ppm, "a class's tax2Rate")?;
        }
        let id = self.next_id(Entity::TaxCategory, seed.id);
        let row = object(json!({
            "taxCategoryID": s(id), "isTaxInclusive": flag(seed.inclusive),
            "tax1Name": seed.tax1_name, "tax2Name": seed.tax2_name, "tax1Rate": tax1,
            "tax2Rate": tax2, "timeStamp": time(now),
        }));
        let classes = seed
            .classes
            .iter()
            .enumerate()
            .map(|(n, c)| {
                object(json!({
                    "taxCategoryClassID": s(id * 100 + n as u64 + 1),
                    "tax1Rate": s(decimal(i128::from(c.tax1_ppm), 6)),
                    "tax2Rate": s(decimal(i128::from(c.tax2_ppm), 6)),
                    "timeStamp": time(now), "taxCategoryID": s(id),
                    "taxClassID": s(c.tax_class_id),
                }))
            })
            .collect();
        self.tax_categories
            .insert(id, TaxCategoryRec { row, classes });
        Ok(id)
    }

    pub(crate) fn add_register(
        &mut self,
        seed: &RegisterSeed,
        now: Timestamp,
    ) -> Result<u64, Refusal> {
        if !self.shops.contains_key(&seed.shop_id) {
            return Err(bad(format!(
                "Register {}: Shop {} does not exist",
                seed.name, seed.shop_id
            )));
        }
        let id = self.next_id(Entity::Register, seed.id);
        let row = object(json!({
            "registerID": s(id), "name": seed.name, "open": "true", "openTime": time(now),
            "archived": "false", "tipEnabled": flag(seed.tip_enabled), "openEmployeeID": "1",
            "shopID": s(seed.shop_id), "ccTerminalID": "0",
        }));
        self.registers.insert(id, row);
        Ok(id)
    }

    pub(crate) fn add_employee(&mut self, seed: &EmployeeSeed, now: Timestamp) -> u64 {
        let id = self.next_id(Entity::Employee, seed.id);
        let row = object(json!({
            "employeeID": s(id), "firstName": seed.first_name, "lastName": seed.last_name,
            "lockOut": "false", "archived": flag(seed.archived), "timeStamp": time(now),
            "contactID": "0", "clockInEmployeeHoursID": "0", "employeeRoleID": "1",
            "limitToShopID": "0", "lastShopID": "0", "lastSaleID": "0", "lastRegisterID": "0",
        }));
        self.employees.insert(id, row);
        id
    }

    pub(crate) fn add_discount(
        &mut self,
        seed: &DiscountSeed,
        now: Timestamp,
    ) -> Result<u64, Refusal> {
        // Docs Discount page: an amount or a fraction, not both; "Must be <=1.00 (100%)".
        if seed.amount_cents != 0 && seed.percent_ppm != 0 {
            return Err(bad(format!(
                "Discount {}: discountAmount and discountPercent cannot both be set",
                seed.name
            )));
        }
        if !(0..=1_000_000).contains(&seed.percent_ppm) || seed.amount_cents < 0 {
            return Err(bad(format!(
                "Discount {}: discountPercent must be <= 1.00 (100%) and discountAmount >= 0",
                seed.name
            )));
        }
        let id = self.next_id(Entity::Discount, seed.id);
        let row = object(json!({
            "discountID": s(id), "name": seed.name, "discountAmount": money(seed.amount_cents),
            "discountPercent": s(decimal(i128::from(seed.percent_ppm), 6)),
            "requireCustomer": flag(seed.require_customer), "archived": flag(seed.archived),
            "sourceID": "2", "createTime": time(now), "timeStamp": time(now),
        }));
        self.discounts.insert(id, row);
        Ok(id)
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

    /// A person changes only the customer's contact (e-mail, phone, address) to the seed's:
    /// the contact's `timeStamp` moves, the customer's as
    /// [`Behaviour::contact_edit_moves_customer`](crate::lightspeed::Behaviour) says.
    pub(crate) fn edit_contact(
        &mut self,
        id: u64,
        seed: &CustomerSeed,
        now: Timestamp,
    ) -> Result<(), Refusal> {
        let moves = self.behaviour.contact_edit_moves_customer;
        let created = self
            .customers
            .get(&id)
            .and_then(|c| text(&c.row, "createTime").parse().ok())
            .ok_or_else(|| (404, format!("Customer {id} not found")))?;
        let edited = Self::customer_rec(id, seed, created, now);
        if let Some(rec) = self.customers.get_mut(&id) {
            rec.contact = edited.contact;
            if moves {
                rec.row.insert("timeStamp".into(), time(now));
            }
        }
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
            "categoryID": s(seed.category_id.unwrap_or(0)),
            "taxClassID": s(seed.tax_class_id.filter(|c| *c > 0).unwrap_or(1)),
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

    /// Adds a sale as the POS saved it: lines priced and taxed through the sale's tax
    /// category (class overrides, inclusive or on top), the sale discount shared over the
    /// lines, payments, and for a completed sale the stock its lines took. A seeded void
    /// then puts the stock back and leaves a `SaleVoid`.
    pub(crate) fn add_sale(&mut self, seed: &SaleSeed, now: Timestamp) -> Result<u64, Refusal> {
        let name = seed
            .id
            .map_or_else(|| "Sale".to_owned(), |id| format!("Sale {id}"));
        let shop = self
            .shops
            .get(&seed.shop_id)
            .ok_or_else(|| bad(format!("{name}: Shop {} does not exist", seed.shop_id)))?;
        let shop_category = id_of(shop, "taxCategoryID");
        if let Some(c) = seed.customer_id.filter(|c| *c > 0)
            && !self.customers.contains_key(&c)
        {
            return Err(bad(format!("{name}: Customer {c} does not exist")));
        }
        if !self.registers.is_empty() && !self.registers.contains_key(&seed.register_id) {
            return Err(bad(format!(
                "{name}: Register {} does not exist",
                seed.register_id
            )));
        }
        if !self.employees.is_empty()
            && seed.employee_id > 0
            && !self.employees.contains_key(&seed.employee_id)
        {
            return Err(bad(format!(
                "{name}: Employee {} does not exist",
                seed.employee_id
            )));
        }
        let sale_discount = self.sale_discount(&name, seed)?;
        if let Some(c) = seed.tax_category_id
            && !self.tax_categories.contains_key(&c)
        {
            return Err(bad(format!("{name}: TaxCategory {c} does not exist")));
        }
        let category_id = seed.tax_category_id.unwrap_or(shop_category);
        let category = self.tax_categories.get(&category_id);
        let inclusive = category.is_some_and(|c| text(&c.row, "isTaxInclusive") == "true");
        let default_rates = category.map_or(
            sums::Rates {
                tax1_ppm: seed.tax1_basis_points * 100,
                tax2_ppm: 0,
            },
            |c| rates_of(&c.row),
        );
        let mut inputs = Vec::with_capacity(seed.lines.len());
        let mut plans = Vec::with_capacity(seed.lines.len());
        let mut refunding: BTreeMap<u64, i64> = BTreeMap::new();
        for (n, line) in seed.lines.iter().enumerate() {
            let at = format!("{name} line {}", n + 1);
            let plan = self.line_plan(&at, line, category, default_rates, &mut refunding)?;
            inputs.push(plan.input);
            plans.push(plan);
        }
        for (n, p) in seed.payments.iter().enumerate() {
            if !self.payment_types.contains_key(&p.payment_type_id) {
                return Err(bad(format!(
                    "{name} payment {}: PaymentType {} does not exist",
                    n + 1,
                    p.payment_type_id
                )));
            }
            if p.tip_cents != 0 && p.tip_cents.signum() != p.amount_cents.signum() {
                return Err(bad(format!(
                    "{name} payment {}: tipAmount must have the sign of amount",
                    n + 1
                )));
            }
        }
        let m = sums::sale(&inputs, sale_discount, inclusive);
        if seed.completed && !seed.voided {
            let live = seed.payments.iter().filter(|p| !p.archived);
            let paid: i128 = live.clone().map(|p| i128::from(p.amount_cents)).sum();
            let tips: i128 = live.map(|p| i128::from(p.tip_cents)).sum();
            if m.total + tips != paid {
                return Err(bad(format!(
                    "{name}: a completed sale must balance: total {}, tips {}, payments {}",
                    decimal(m.total, 2),
                    decimal(tips, 2),
                    decimal(paid, 2)
                )));
            }
        }
        let id = self.next_id(Entity::Sale, seed.id);
        let ts = seed.time_stamp.or(seed.complete_time).unwrap_or(now);
        let completed_at = seed.complete_time.unwrap_or(ts);
        let created = seed.create_time.unwrap_or(ts);
        let customer = seed.customer_id.unwrap_or(0);
        let mut pickups = BTreeSet::new();
        let mut cost_cents = 0i128;
        for ((line, plan), money_line) in seed.lines.iter().zip(&plans).zip(&m.lines) {
            let (input, class) = (&plan.input, plan.class);
            let line_id = self.next_id(Entity::SaleLine, None);
            let item_cost = line
                .item_id
                .and_then(|i| self.items.get(&i))
                .and_then(|i| parse_decimal(text(&i.row, "defaultCost"), 2))
                .unwrap_or(0);
            if input.counts {
                cost_cents += item_cost * i128::from(line.quantity);
            }
            let note_id = if line.note.is_empty() {
                0
            } else {
                self.line_notes.insert(line_id, line.note.clone());
                line_id
            };
            if plan.pickup.is_some() {
                pickups.insert(line_id);
            }
            let rate = |ppm: i64| s(decimal(i128::from(ppm), 6));
            let mut row = object(json!({
                "saleLineID": s(line_id), "createTime": time(created), "timeStamp": time(ts),
                "unitQuantity": s(line.quantity), "unitPrice": money(line.unit_price_cents),
                "normalUnitPrice": "0", "discountAmount": money(input.discount_amount_cents),
                "discountPercent": rate(input.discount_percent_ppm),
                "avgCost": s(decimal(item_cost, 2)), "fifoCost": s(decimal(item_cost, 2)),
                "tax": flag(line.tax), "tax1Rate": rate(input.rates.tax1_ppm),
                "tax2Rate": rate(input.rates.tax2_ppm), "isLayaway": flag(line.layaway),
                "isWorkorder": "false", "isSpecialOrder": "false",
                "displayableSubtotal": s(decimal(money_line.subtotal - money_line.line_discount, 2)),
                "displayableUnitPrice": money(line.unit_price_cents),
            }));
            // Split in two: one `json!` this long exceeds the macro recursion limit.
            row.extend(object(json!({
                "calcLineDiscount": s(decimal(money_line.line_discount, 2)),
                "calcTransactionDiscount": s(decimal(money_line.transaction_discount, 2)),
                "calcTotal": s(decimal(money_line.total_e8, 8)),
                "calcSubtotal": s(decimal(money_line.subtotal, 2)),
                "calcTax1": s(decimal(money_line.tax1_e8, 8)),
                "calcTax2": s(decimal(money_line.tax2_e8, 8)),
                "taxClassID": s(class),
                // Docs SaleLine page: the customer "if this is a layaway, special order, or
                // workorder line" (fixture sale 277's lines say 0 on a sale with a customer).
                "customerID": s(if line.layaway { customer } else { 0 }),
                "discountID": s(line.discount_id.unwrap_or(0)),
                "employeeID": s(seed.employee_id), "itemID": s(line.item_id.unwrap_or(0)),
                "noteID": s(note_id), "parentSaleLineID": s(plan.parent.unwrap_or(0)),
                "shopID": s(seed.shop_id), "taxCategoryID": s(category_id), "saleID": s(id),
                "itemFeeID": s(line.item_fee_id.unwrap_or(0)),
            })));
            if !line.line_type.is_empty() {
                row.insert("lineType".into(), s(&line.line_type));
            }
            self.sale_lines.insert(line_id, row);
        }
        for p in &seed.payments {
            let pay_id = self.next_id(Entity::SalePayment, None);
            let taken = p.create_time.unwrap_or(completed_at);
            let row = object(json!({
                "salePaymentID": s(pay_id), "amount": money(p.amount_cents),
                "tipAmount": money(p.tip_cents), "createTime": time(taken),
                "archived": flag(p.archived), "remoteReference": "", "paymentID": "",
                "saleID": s(id), "paymentTypeID": s(p.payment_type_id), "ccChargeID": "0",
                "refPaymentID": "0", "registerID": s(seed.register_id),
                "employeeID": s(seed.employee_id),
                "creditAccountID": s(p.credit_account_id.unwrap_or(0)),
            }));
            self.sale_payments.insert(pay_id, row);
            self.touch_payment(pay_id, taken);
        }
        let tip_enabled = self
            .registers
            .get(&seed.register_id)
            .map_or("false", |r| text(r, "tipEnabled"));
        let (discount_id, discount_percent) = match seed.discount_id {
            Some(d) => (
                d,
                self.discounts
                    .get(&d)
                    .map_or("0", |r| text(r, "discountPercent"))
                    .to_owned(),
            ),
            None => (0, "0".to_owned()),
        };
        let dec = |v: i128| s(decimal(v, 2));
        let (subtotal, discount, taxable) =
            if inclusive && self.behaviour.inclusive_amounts == InclusiveAmounts::Net {
                sums::net_of_tax(&m, &inputs)
            } else {
                (m.subtotal, m.discount, m.taxable)
            };
        let mut row = object(json!({
            "saleID": s(id), "timeStamp": time(ts), "discountPercent": discount_percent,
            "completed": flag(seed.completed), "archived": flag(seed.archived),
            "voided": "false", "enablePromotions": "true", "isTaxInclusive": flag(inclusive),
            "createTime": time(created),
            "referenceNumber": seed.reference_number, "referenceNumberSource": "",
            "tax1Rate": s(decimal(i128::from(default_rates.tax1_ppm), 6)),
            "tax2Rate": s(decimal(i128::from(default_rates.tax2_ppm), 6)), "change": "0",
            "tipEnabled": tip_enabled, "receiptPreference": "printed",
            "displayableSubtotal": dec(m.subtotal - m.lines.iter().map(|l| l.line_discount).sum::<i128>()),
            "ticketNumber": format!("22{id:010}"),
        }));
        // Split in two: one `json!` this long exceeds the macro recursion limit.
        row.extend(object(json!({
            "calcDiscount": dec(discount), "calcTotal": dec(m.total),
            "calcSubtotal": dec(subtotal), "calcTaxable": dec(taxable),
            "calcNonTaxable": dec(subtotal - discount - taxable),
            "calcAvgCost": dec(cost_cents), "calcFIFOCost": dec(cost_cents),
            "calcTax1": dec(m.tax1), "calcTax2": dec(m.tax2), "calcPayments": "0",
            "calcTips": "0", "total": dec(m.total), "totalDue": dec(m.total),
            "displayableTotal": dec(m.total), "balance": dec(m.total),
            "customerID": s(customer), "discountID": s(discount_id),
            "employeeID": s(seed.employee_id), "tipEmployeeID": s(seed.employee_id),
            "quoteID": "0", "registerID": s(seed.register_id),
            "shipToID": s(if seed.ship_to.is_some() { id } else { 0 }),
            "shopID": s(seed.shop_id), "taxCategoryID": s(category_id),
            "taxTotal": dec(m.tax1 + m.tax2),
        })));
        row.insert(self.behaviour.update_time_key.key().into(), time(ts));
        if seed.completed {
            row.insert("completeTime".into(), time(completed_at));
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
        self.sales.insert(
            id,
            SaleRec {
                row,
                ship_to,
                moves: Vec::new(),
                pickups,
            },
        );
        self.refresh_payment_sums(id);
        if seed.completed {
            self.take_sale_stock(id, completed_at);
        }
        if seed.voided {
            let at = seed.void_time.unwrap_or(ts);
            self.void_sale(id, &seed.void_reason, None, at)?;
        }
        Ok(id)
    }

    /// The sale-wide discount of a seed: a discount record (amount or fraction) or a fixed
    /// amount.
    fn sale_discount(&self, name: &str, seed: &SaleSeed) -> Result<sums::SaleDiscount, Refusal> {
        if seed.discount_cents < 0 {
            return Err(bad(format!("{name}: a sale discount cannot be negative")));
        }
        match seed.discount_id.filter(|d| *d > 0) {
            Some(d) => {
                let row = self
                    .discounts
                    .get(&d)
                    .ok_or_else(|| bad(format!("{name}: Discount {d} does not exist")))?;
                let (amount, percent) = discount_values(row);
                Ok(if percent > 0 {
                    sums::SaleDiscount::Percent(percent)
                } else {
                    sums::SaleDiscount::Amount(amount)
                })
            }
            None if seed.discount_cents > 0 => Ok(sums::SaleDiscount::Amount(seed.discount_cents)),
            None => Ok(sums::SaleDiscount::None),
        }
    }

    /// The `saleLineID` a seed names directly or by sale and position.
    fn resolve_line(
        &self,
        at: &str,
        direct: Option<u64>,
        of: Option<LineOf>,
    ) -> Result<Option<u64>, Refusal> {
        let Some(of) = of else {
            return Ok(direct.filter(|d| *d > 0));
        };
        child_rows(&self.sale_lines, "saleID", of.sale_id)
            .nth(of.line)
            .map(|r| Some(id_of(r, "saleLineID")))
            .ok_or_else(|| {
                bad(format!(
                    "{at}: Sale {} has no line {} to refer to",
                    of.sale_id,
                    of.line + 1
                ))
            })
    }

    /// Checks one line of a seed and says what the arithmetic needs of it, its tax class
    /// and the lines it refers to. `refunding` collects the units this sale refunds per
    /// parent line.
    fn line_plan(
        &self,
        at: &str,
        line: &SaleLineSeed,
        category: Option<&TaxCategoryRec>,
        default_rates: sums::Rates,
        refunding: &mut BTreeMap<u64, i64>,
    ) -> Result<LinePlan, Refusal> {
        let item = match line.item_id.filter(|i| *i > 0) {
            Some(i) => Some(
                self.items
                    .get(&i)
                    .ok_or_else(|| bad(format!("{at}: Item {i} does not exist")))?,
            ),
            None => None,
        };
        if line.quantity == 0 {
            return Err(bad(format!("{at}: unitQuantity cannot be 0")));
        }
        // Docs SaleLine page: unitPrice "can be negative for rebates … but not for refunds".
        if line.quantity < 0 && line.unit_price_cents < 0 {
            return Err(bad(format!(
                "{at}: a refund line has a negative unitQuantity, not a negative unitPrice"
            )));
        }
        let parent = self.resolve_line(at, line.parent_line_id, line.refunds)?;
        if let Some(parent) = parent {
            self.check_refund(at, line, parent, refunding)?;
        }
        let pickup = self.resolve_line(at, None, line.picks_up)?;
        if let Some(layaway) = pickup {
            let row = self
                .sale_lines
                .get(&layaway)
                .ok_or_else(|| bad(format!("{at}: layaway line {layaway} does not exist")))?;
            if text(row, "isLayaway") != "true" || id_of(row, "itemID") != line.item_id.unwrap_or(0)
            {
                return Err(bad(format!(
                    "{at}: line {layaway} is not a layaway of the same item"
                )));
            }
        }
        let class = line
            .tax_class_id
            .or_else(|| item.map(|i| id_of(&i.row, "taxClassID")))
            .filter(|c| *c > 0)
            .unwrap_or(1);
        if line.tax_class_id.is_some()
            && !self.tax_classes.is_empty()
            && !self.tax_classes.contains_key(&class)
        {
            return Err(bad(format!("{at}: TaxClass {class} does not exist")));
        }
        let rates = if line.tax {
            category
                .and_then(|c| c.classes.iter().find(|r| id_of(r, "taxClassID") == class))
                .map_or(default_rates, rates_of)
        } else {
            sums::Rates::default()
        };
        let (mut amount, mut percent) = (line.discount_amount_cents, line.discount_percent_ppm);
        if amount < 0 || !(0..=1_000_000).contains(&percent) {
            return Err(bad(format!(
                "{at}: discountAmount must be >= 0 and discountPercent <= 1.00 (100%)"
            )));
        }
        if amount != 0 && percent != 0 {
            return Err(bad(format!(
                "{at}: a line has a discountAmount or a discountPercent, not both"
            )));
        }
        if let Some(d) = line.discount_id.filter(|d| *d > 0) {
            let row = self
                .discounts
                .get(&d)
                .ok_or_else(|| bad(format!("{at}: Discount {d} does not exist")))?;
            if amount == 0 && percent == 0 {
                (amount, percent) = discount_values(row);
            }
        }
        Ok(LinePlan {
            input: sums::LineInput {
                quantity: line.quantity,
                unit_price_cents: line.unit_price_cents,
                discount_amount_cents: amount,
                discount_percent_ppm: percent,
                rates,
                counts: !line.layaway,
            },
            class,
            parent,
            pickup,
        })
    }

    /// A refund line must point at a line of the same item and, with earlier refunds, give
    /// back no more units than it sold (docs SaleLine: `parentSaleLineID` "makes sure refunds
    /// of a line don't exceed the original lines quantity").
    fn check_refund(
        &self,
        at: &str,
        line: &SaleLineSeed,
        parent: u64,
        refunding: &mut BTreeMap<u64, i64>,
    ) -> Result<(), Refusal> {
        if line.quantity >= 0 {
            return Err(bad(format!(
                "{at}: parentSaleLineID is only for refund lines (negative unitQuantity)"
            )));
        }
        let row = self
            .sale_lines
            .get(&parent)
            .ok_or_else(|| bad(format!("{at}: parentSaleLineID {parent} does not exist")))?;
        if id_of(row, "itemID") != line.item_id.unwrap_or(0) {
            return Err(bad(format!(
                "{at}: refunds Item {} but line {parent} sold Item {}",
                line.item_id.unwrap_or(0),
                id_of(row, "itemID")
            )));
        }
        let sold: i64 = text(row, "unitQuantity").parse().unwrap_or(0);
        let earlier: i64 = self
            .sale_lines
            .values()
            .filter(|r| id_of(r, "parentSaleLineID") == parent)
            .filter(|r| {
                self.sales
                    .get(&id_of(r, "saleID"))
                    .is_some_and(|s| text(&s.row, "voided") != "true")
            })
            .map(|r| -text(r, "unitQuantity").parse::<i64>().unwrap_or(0))
            .sum();
        let now = refunding.entry(parent).or_insert(0);
        *now -= line.quantity;
        if earlier + *now > sold {
            return Err(bad(format!(
                "{at}: refunds {} units of line {parent}, which sold {sold} ({earlier} already refunded)",
                -line.quantity
            )));
        }
        Ok(())
    }
}

/// What a checked seed line becomes.
struct LinePlan {
    input: sums::LineInput,
    class: u64,
    /// The line it refunds (`parentSaleLineID`).
    parent: Option<u64>,
    /// The layaway line it picks up.
    pickup: Option<u64>,
}

/// The two rates of a tax category or of one of its class overrides, in ppm.
fn rates_of(row: &Row) -> sums::Rates {
    let ppm = |key: &str| {
        parse_decimal(text(row, key), 6)
            .and_then(|v| i64::try_from(v).ok())
            .unwrap_or(0)
    };
    sums::Rates {
        tax1_ppm: ppm("tax1Rate"),
        tax2_ppm: ppm("tax2Rate"),
    }
}

/// A discount record's amount (cents) and fraction (ppm).
fn discount_values(row: &Row) -> (i64, i64) {
    let read = |key: &str, scale: u32| {
        parse_decimal(text(row, key), scale)
            .and_then(|v| i64::try_from(v).ok())
            .unwrap_or(0)
    };
    (read("discountAmount", 2), read("discountPercent", 6))
}
