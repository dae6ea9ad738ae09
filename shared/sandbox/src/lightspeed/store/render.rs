//! Records as the API renders them: relations are assembled on request (one-vs-many, `""`
//! when empty), from the rows the store keeps.

use serde_json::{Value, json};

use super::{ContactRec, PAYMENT_TIME, Store, child_rows, children, rows_value};
use crate::lightspeed::query::{Entity, Loads};
use crate::lightspeed::render::{Row, id_of, many, s, string_or_list, text};

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

impl Store {
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
            Entity::SalePayment => self.render_payment(id, loads),
            Entity::TaxCategory => self.render_tax_category(id, loads.has("TaxCategoryClasses")),
            Entity::Image
            | Entity::Shop
            | Entity::PaymentType
            | Entity::CustomerType
            | Entity::SaleVoid
            | Entity::Register
            | Entity::TaxClass
            | Entity::Discount
            | Entity::Employee
            | Entity::InventoryLog => self.row(entity, id).cloned().map(Value::Object),
        }
    }

    /// A payment as the API shows it (without the time it sorts by), with its
    /// `PaymentType` when asked for.
    pub(super) fn render_payment(&self, id: u64, loads: &Loads) -> Option<Value> {
        let mut p = self.sale_payments.get(&id)?.clone();
        p.remove(PAYMENT_TIME);
        if loads.has("PaymentType")
            && let Some(t) = self.payment_types.get(&id_of(&p, "paymentTypeID"))
        {
            p.insert("PaymentType".into(), Value::Object(t.clone()));
        }
        Some(Value::Object(p))
    }

    /// A tax category; its `TaxCategoryClasses` when asked for and any exist (the recorded
    /// open sale's category has no such key, the documented one with overrides has them).
    pub(super) fn render_tax_category(&self, id: u64, classes: bool) -> Option<Value> {
        let rec = self.tax_categories.get(&id)?;
        let mut o = rec.row.clone();
        if classes && !rec.classes.is_empty() {
            o.insert(
                "TaxCategoryClasses".into(),
                many("TaxCategoryClass", rows_value(&rec.classes)),
            );
        }
        Some(Value::Object(o))
    }

    /// A tax class record, or the default `Item` class when none was seeded.
    fn render_tax_class(&self, id: u64) -> Value {
        self.tax_classes
            .get(&id)
            .map_or_else(Self::tax_class, |r| Value::Object(r.clone()))
    }

    pub(super) fn tax_class() -> Value {
        json!({"taxClassID": "1", "name": "Item", "timeStamp": "2015-11-04T18:41:22+00:00"})
    }

    pub(super) fn render_item(&self, id: u64, loads: &Loads) -> Option<Value> {
        let rec = self.items.get(&id)?;
        let mut o = rec.row.clone();
        o.insert("Prices".into(), many("ItemPrice", rows_value(&rec.prices)));
        if loads.has("ItemShops") {
            let shops = children(&self.item_shops, "itemID", id);
            o.insert("ItemShops".into(), many("ItemShop", shops));
        }
        if loads.has("ItemComponents") {
            let parts = children(&self.item_components, "assemblyItemID", id);
            o.insert("ItemComponents".into(), many("ItemComponent", parts));
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

    pub(super) fn render_matrix(&self, id: u64, loads: &Loads) -> Option<Value> {
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

    pub(super) fn render_customer(&self, id: u64, loads: &Loads) -> Option<Value> {
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

    pub(super) fn render_line(&self, id: u64, loads: &Loads) -> Option<Value> {
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
            o.insert(
                "TaxClass".into(),
                self.render_tax_class(id_of(&o, "taxClassID")),
            );
        }
        if loads.has("Discount")
            && let Some(d) = self.discounts.get(&id_of(&o, "discountID"))
        {
            o.insert("Discount".into(), Value::Object(d.clone()));
        }
        Some(Value::Object(o))
    }

    pub(super) fn render_sale(&self, id: u64, loads: &Loads) -> Option<Value> {
        let rec = self.sales.get(&id)?;
        let mut o = rec.row.clone();
        if loads.has("SaleLines") {
            let line_loads = Loads {
                all: false,
                names: ["Item", "Note", "Discount", "TaxClass"]
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
            // PaymentType is its own relation, `SalePayments.PaymentType` (docs Sale page);
            // a sale without payments has no `SalePayments` key at all (recorded open sale
            // 103 in `rseries_sale_page_saleline_object_vs_array.vcr.json`).
            let payment_loads = if loads.has("SalePayments.PaymentType") {
                Loads::only("PaymentType")
            } else {
                Loads::default()
            };
            let payments: Vec<Value> = child_rows(&self.sale_payments, "saleID", id)
                .filter_map(|r| self.render_payment(id_of(r, "salePaymentID"), &payment_loads))
                .collect();
            if !payments.is_empty() {
                o.insert("SalePayments".into(), many("SalePayment", payments));
            }
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
        if loads.has("Discount")
            && let Some(d) = self.discounts.get(&id_of(&rec.row, "discountID"))
        {
            o.insert("Discount".into(), Value::Object(d.clone()));
        }
        if loads.has("TaxCategory")
            && let Some(c) = self.render_tax_category(id_of(&rec.row, "taxCategoryID"), true)
        {
            o.insert("TaxCategory".into(), c);
        } else if loads.has("TaxCategory") {
            // No category seeded: the one rate the sale was given.
            o.insert(
                "TaxCategory".into(),
                json!({"taxCategoryID": "1", "isTaxInclusive": "false", "tax1Name": "Sales Tax",
                       "tax2Name": "", "tax1Rate": text(&rec.row, "tax1Rate"), "tax2Rate": "0",
                       "timeStamp": "2015-11-04T18:42:42+00:00", "TaxCategoryClasses": ""}),
            );
        }
        Some(Value::Object(o))
    }
}
