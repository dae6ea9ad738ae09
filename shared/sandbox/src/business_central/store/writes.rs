//! The rules BC runs on insert and modify of each entity (defaults, numbers, links between
//! records), per entity.

use jiff::Timestamp;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::documents::{document_rules, line_rules};
use super::fields::{email, known_code, reference, required_name, unique};
use super::payments::{batch_rules, payment_rules};
use super::series::{CONTACTS, CUSTOMERS, ITEMS, test_manual};
use super::{CompanyData, Origin, StoreSettings, guid, text};
use crate::business_central::behaviour::CodeTable;
use crate::business_central::errors::{BcFault, DUPLICATE_KEY, Outcome};
use crate::business_central::schema::{Entity, NIL_GUID};

/// The rules BC runs on insert/modify of each entity.
#[allow(clippy::too_many_arguments)]
pub(super) fn on_write(
    data: &mut CompanyData,
    settings: &StoreSettings,
    entity: Entity,
    id: Uuid,
    parent: Option<Uuid>,
    fields: &mut Map<String, Value>,
    given: &[String],
    creating: bool,
    now: Timestamp,
    origin: Origin,
) -> Outcome<()> {
    let today = now.to_zoned(jiff::tz::TimeZone::UTC).date().to_string();
    let given_has = |k: &str| given.iter().any(|g| g == k);
    match entity {
        Entity::Customer => {
            required_name(fields, given, creating)?;
            test_manual(
                data, settings, entity, id, fields, given, origin, &CUSTOMERS,
            )?;
            email(fields, given)?;
            for (key, related, caption) in [
                ("country", CodeTable::CountryRegion, "Country/Region Code"),
                ("currencyCode", CodeTable::Currency, "Currency Code"),
                (
                    "salespersonCode",
                    CodeTable::Salesperson,
                    "Salesperson Code",
                ),
            ] {
                known_code(settings, fields, key, related, caption, "Customer")?;
            }
            if text(fields, "number").is_empty() {
                fields.insert("number".into(), json!(data.next_number(&CUSTOMERS)));
            }
            unique(data, entity, id, "number", "No.", &text(fields, "number"))?;
            reference(
                data,
                Entity::PaymentTerm,
                fields,
                "paymentTermsId",
                "The \"paymentTermsId\" does not match to a Payment Terms.",
            )?;
            reference(
                data,
                Entity::PaymentMethod,
                fields,
                "paymentMethodId",
                "The \"paymentMethodId\" does not match to a Payment Method.",
            )?;
            // Customer."Tax Area ID" OnValidate → `UpdateTaxAreaCode`: `TaxArea.GetBySystemId`
            // in a sales-tax tenant (BCApps `Customer.Table.al`). In a VAT tenant the id
            // names a VAT Business Posting Group, which the simulator does not check.
            if given_has("taxAreaId")
                && settings.sales_tax.is_active()
                && let Some(area) = guid(fields, "taxAreaId")
                && data.row(Entity::TaxArea, area).is_none()
            {
                // The platform's GetBySystemId error (text and code inferred).
                return Err(BcFault::new(
                    404,
                    "Internal_RecordNotFound",
                    format!(
                        "The Tax Area does not exist. Identification fields and values: SystemId='{area}'"
                    ),
                ));
            }
            if creating && text(fields, "currencyCode").is_empty() {
                fields.insert("currencyCode".into(), json!(settings.lcy));
            }
        }
        Entity::Contact => {
            required_name(fields, given, creating)?;
            test_manual(data, settings, entity, id, fields, given, origin, &CONTACTS)?;
            email(fields, given)?;
            known_code(
                settings,
                fields,
                "country",
                CodeTable::CountryRegion,
                "Country/Region Code",
                "Contact",
            )?;
            if text(fields, "number").is_empty() {
                fields.insert("number".into(), json!(data.next_number(&CONTACTS)));
            }
            unique(data, entity, id, "number", "No.", &text(fields, "number"))?;
            let company_number = text(fields, "companyNumber");
            if text(fields, "type") == "Company" {
                fields.insert("companyNumber".into(), fields["number"].clone());
                fields.insert("companyName".into(), fields["displayName"].clone());
            } else if !company_number.is_empty() {
                let company = data
                    .find(Entity::Contact, "number", &company_number)
                    .filter(|(_, r)| text(&r.fields, "type") == "Company")
                    .map(|(_, r)| text(&r.fields, "displayName"))
                    .ok_or_else(|| {
                        BcFault::new(400, "Internal_InvalidTableRelation", format!("The field Company No. of table Contact contains a value ({company_number}) that cannot be found in the related table (Contact)."))
                    })?;
                fields.insert("companyName".into(), json!(company));
            }
            if text(fields, "searchName").is_empty() {
                fields.insert(
                    "searchName".into(),
                    json!(text(fields, "displayName").to_uppercase()),
                );
            }
        }
        Entity::Item => {
            required_name(fields, given, creating)?;
            test_manual(data, settings, entity, id, fields, given, origin, &ITEMS)?;
            if text(fields, "number").is_empty() {
                fields.insert("number".into(), json!(data.next_number(&ITEMS)));
            }
            unique(data, entity, id, "number", "No.", &text(fields, "number"))?;
            if given_has("itemCategoryId") && guid(fields, "itemCategoryId").is_some() {
                let category = guid(fields, "itemCategoryId")
                    .and_then(|c| data.row(Entity::ItemCategory, c))
                    .map(|r| text(&r.fields, "code"))
                    .ok_or_else(|| {
                        BcFault::dialog("The \"itemCategoryId\" does not match to a Item Category.")
                    })?;
                if given_has("itemCategoryCode") && text(fields, "itemCategoryCode") != category {
                    return Err(BcFault::dialog(
                        "The item categories values do not match to a specific item category.",
                    ));
                }
                fields.insert("itemCategoryCode".into(), json!(category));
            } else if given_has("itemCategoryCode") {
                let code = text(fields, "itemCategoryCode");
                if code.is_empty() {
                    fields.insert("itemCategoryId".into(), json!(NIL_GUID));
                } else {
                    let (category, _) =
                        data.find(Entity::ItemCategory, "code", &code)
                            .ok_or_else(|| {
                                BcFault::dialog(
                                    "The \"itemCategoryCode\" does not match to a Item Category.",
                                )
                            })?;
                    fields.insert("itemCategoryId".into(), json!(category.to_string()));
                }
            }
            for (code_field, id_field, default, related, caption) in [
                (
                    "baseUnitOfMeasureCode",
                    "baseUnitOfMeasureId",
                    "PCS",
                    CodeTable::UnitOfMeasure,
                    "Base Unit of Measure",
                ),
                (
                    "generalProductPostingGroupCode",
                    "generalProductPostingGroupId",
                    "RETAIL",
                    CodeTable::GenProductPostingGroup,
                    "Gen. Prod. Posting Group",
                ),
                (
                    "inventoryPostingGroupCode",
                    "inventoryPostingGroupId",
                    "RESALE",
                    CodeTable::InventoryPostingGroup,
                    "Inventory Posting Group",
                ),
                (
                    "taxGroupCode",
                    "taxGroupId",
                    "",
                    CodeTable::TaxGroup,
                    "Tax Group Code",
                ),
            ] {
                if creating && text(fields, code_field).is_empty() && !default.is_empty() {
                    fields.insert(code_field.into(), json!(default));
                }
                if given_has(code_field) {
                    known_code(settings, fields, code_field, related, caption, "Item")?;
                }
                let code = text(fields, code_field);
                if !code.is_empty() && guid(fields, id_field).is_none() {
                    fields.insert(
                        id_field.into(),
                        json!(data.code_id(&format!("{code_field}:{code}")).to_string()),
                    );
                }
            }
        }
        Entity::ItemVariant => {
            let item = match (
                parent.or_else(|| guid(fields, "itemId")),
                text(fields, "itemNumber"),
            ) {
                (Some(item_id), _) => data
                    .row(Entity::Item, item_id)
                    .map(|r| (item_id, text(&r.fields, "number")))
                    .ok_or_else(|| BcFault::dialog("The \"itemId\" does not match to an Item."))?,
                (None, number) if !number.is_empty() => data
                    .find(Entity::Item, "number", &number)
                    .map(|(i, _)| (i, number.clone()))
                    .ok_or_else(|| {
                        BcFault::dialog("The \"itemNumber\" does not match to an Item.")
                    })?,
                _ => return Err(BcFault::dialog("The \"itemId\" does not match to an Item.")),
            };
            fields.insert("itemId".into(), json!(item.0.to_string()));
            fields.insert("itemNumber".into(), json!(item.1));
            let code = text(fields, "code");
            if code.is_empty() {
                return Err(BcFault::dialog(format!(
                    "Code must have a value in Item Variant: Item No.={}, Code=. It cannot be zero or empty.",
                    item.1
                )));
            }
            if data.table(Entity::ItemVariant).any(|(other, r)| {
                *other != id
                    && text(&r.fields, "itemId") == item.0.to_string()
                    && text(&r.fields, "code") == code
            }) {
                return Err(BcFault::new(
                    400,
                    DUPLICATE_KEY,
                    format!(
                        "The Item Variant already exists. Identification fields and values: Item No.='{}',Code='{code}'",
                        item.1
                    ),
                ));
            }
        }
        Entity::ItemCategory | Entity::PaymentTerm | Entity::PaymentMethod | Entity::Location => {
            let code = text(fields, "code");
            if code.is_empty() {
                return Err(BcFault::dialog(format!(
                    "Code must have a value in {}: Code=. It cannot be zero or empty.",
                    entity.table_caption()
                )));
            }
            unique(data, entity, id, "code", "Code", &code)?;
        }
        Entity::SalesOrder | Entity::SalesInvoice | Entity::SalesCreditMemo => {
            document_rules(
                data, settings, entity, id, fields, given, creating, &today, origin,
            )?;
        }
        Entity::SalesOrderLine | Entity::SalesInvoiceLine | Entity::SalesCreditMemoLine => {
            line_rules(data, settings, entity, parent, fields, given, creating)?;
        }
        Entity::CustomerPaymentJournal | Entity::Journal => {
            batch_rules(data, entity, id, fields, given, creating, settings)?;
        }
        Entity::CustomerPayment => {
            payment_rules(data, settings, id, parent, fields, given, creating, &today)?;
        }
        Entity::TaxArea => {
            let code = text(fields, "code");
            if code.is_empty() {
                return Err(BcFault::dialog(
                    "Code must have a value in Tax Area: Code=. It cannot be zero or empty.",
                ));
            }
            unique(data, entity, id, "code", "Code", &code)?;
            if creating {
                // TaxAreaBuffer.PropagateInsert: a Tax Area, or a VAT Business Posting Group
                // where the tenant uses VAT.
                let kind = if settings.sales_tax.is_active() {
                    "Sales_x0020_Tax"
                } else {
                    "VAT"
                };
                fields.insert("taxType".into(), json!(kind));
            }
        }
        Entity::ItemLedgerEntry | Entity::Account => {}
    }
    Ok(())
}
