//! Typed views of the entities the sync inspects (ids, numbers, e-mails, etags, totals,
//! stock): decoded from [`Record`](crate::Record)s with JSON-path errors. Fields follow the
//! v2.0 pages (A: APIV2*.Page.al) and the fixtures; every field is optional on the wire
//! (`$select` drops them), so absent fields take their blank value. Writes go through the
//! generic JSON path. It must not do IO.

use jiff::Timestamp;
use jiff::civil::Date;
use rust_decimal::Decimal;
use serde::Deserialize;
use uuid::Uuid;

use crate::enums::{
    CustomerBlocked, DocumentStatus, EntryType, EnumText, ItemType, LineType, PartyType,
    blank_date, blank_datetime,
};
use crate::odata::ETag;

/// `companies` (fixture company.get.response.json, fixture.rebelpl.companies.json).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Company {
    /// SystemId.
    pub id: Uuid,
    /// Key name (what `CompanyRef::Name` matches).
    pub name: String,
    /// Display name.
    pub display_name: String,
    /// BC build, e.g. `26.0.30643.32100`.
    pub system_version: String,
}

/// `customers`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Customer {
    /// `@odata.etag`.
    #[serde(rename = "@odata.etag")]
    pub etag: Option<ETag>,
    /// SystemId.
    pub id: Uuid,
    /// No.
    pub number: String,
    /// Name.
    pub display_name: String,
    /// Company or Person.
    #[serde(rename = "type")]
    pub party_type: Option<PartyType>,
    /// Address.
    pub address_line1: String,
    /// Address 2.
    pub address_line2: String,
    /// City.
    pub city: String,
    /// County.
    pub state: String,
    /// Country/Region Code.
    pub country: String,
    /// Post Code.
    pub postal_code: String,
    /// Phone No.
    pub phone_number: String,
    /// E-Mail.
    pub email: String,
    /// Home Page.
    pub website: String,
    /// Currency code (LCY shown as the LCY code).
    pub currency_code: String,
    /// Payment Terms SystemId (nil when blank).
    pub payment_terms_id: Uuid,
    /// Payment Method SystemId (nil when blank).
    pub payment_method_id: Uuid,
    /// Blocked.
    pub blocked: Option<CustomerBlocked>,
    /// SystemModifiedAt.
    #[serde(deserialize_with = "blank_datetime::deserialize")]
    pub last_modified_date_time: Option<Timestamp>,
}

/// `contacts` (fixture contact.get.response.json).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Contact {
    /// `@odata.etag`.
    #[serde(rename = "@odata.etag")]
    pub etag: Option<ETag>,
    /// SystemId.
    pub id: Uuid,
    /// No.
    pub number: String,
    /// Company or Person.
    #[serde(rename = "type")]
    pub party_type: Option<PartyType>,
    /// Name.
    pub display_name: String,
    /// The company contact's number, for a person.
    pub company_number: String,
    /// The company contact's name.
    pub company_name: String,
    /// E-Mail.
    pub email: String,
    /// Phone No.
    pub phone_number: String,
    /// SystemModifiedAt.
    #[serde(deserialize_with = "blank_datetime::deserialize")]
    pub last_modified_date_time: Option<Timestamp>,
}

/// `customers({id})/contactsInformation` (fixture contactsInformation.get.response.normalized.json).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ContactInformation {
    /// The contact's SystemId.
    pub contact_id: Uuid,
    /// The contact's No.
    pub contact_number: String,
    /// The contact's name.
    pub contact_name: String,
    /// Company or Person.
    pub contact_type: Option<PartyType>,
    /// The related record (the customer).
    pub related_id: Uuid,
    /// `Customer`, `Vendor`, …
    pub related_type: EnumText,
}

/// `items`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Item {
    /// `@odata.etag`.
    #[serde(rename = "@odata.etag")]
    pub etag: Option<ETag>,
    /// SystemId.
    pub id: Uuid,
    /// No. (the sync's SKU).
    pub number: String,
    /// Description.
    pub display_name: String,
    /// Description 2.
    pub display_name2: String,
    /// Inventory / Service / Non-Inventory.
    #[serde(rename = "type")]
    pub item_type: Option<ItemType>,
    /// Item category code.
    pub item_category_code: String,
    /// Blocked.
    pub blocked: bool,
    /// GTIN.
    pub gtin: String,
    /// Company-wide inventory (not per location, api-notes §2).
    pub inventory: Decimal,
    /// Unit price.
    pub unit_price: Decimal,
    /// Whether `unit_price` includes tax.
    pub price_includes_tax: bool,
    /// Unit cost.
    pub unit_cost: Decimal,
    /// Base unit of measure code.
    pub base_unit_of_measure_code: String,
    /// SystemModifiedAt (does not move when stock moves, SPEC "What breaks" 3).
    #[serde(deserialize_with = "blank_datetime::deserialize")]
    pub last_modified_date_time: Option<Timestamp>,
}

/// `itemVariants`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ItemVariant {
    /// `@odata.etag`.
    #[serde(rename = "@odata.etag")]
    pub etag: Option<ETag>,
    /// SystemId.
    pub id: Uuid,
    /// The item's SystemId.
    pub item_id: Uuid,
    /// The item's No.
    pub item_number: String,
    /// Variant code (10).
    pub code: String,
    /// Description.
    pub description: String,
}

/// `itemCategories`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ItemCategory {
    /// `@odata.etag`.
    #[serde(rename = "@odata.etag")]
    pub etag: Option<ETag>,
    /// SystemId.
    pub id: Uuid,
    /// Code (20).
    pub code: String,
    /// Description.
    pub display_name: String,
}

/// `paymentTerms`, `paymentMethods` and `locations`: the code lookups the mapping needs.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CodeEntity {
    /// SystemId (what documents and customers reference).
    pub id: Uuid,
    /// Code.
    pub code: String,
    /// Description.
    pub display_name: String,
}

/// Header of `salesOrders`, `salesInvoices` and `salesCreditMemos`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SalesDocument {
    /// `@odata.etag`.
    #[serde(rename = "@odata.etag")]
    pub etag: Option<ETag>,
    /// SystemId (a posted invoice keeps its draft's id, api-notes §2).
    pub id: Uuid,
    /// No. (from the No. Series).
    pub number: String,
    /// External Document No. (the sync's sale id).
    pub external_document_number: String,
    /// Sell-to customer SystemId.
    pub customer_id: Uuid,
    /// Sell-to customer No.
    pub customer_number: String,
    /// Order date (orders).
    #[serde(deserialize_with = "blank_date::deserialize")]
    pub order_date: Option<Date>,
    /// Invoice date (invoices).
    #[serde(deserialize_with = "blank_date::deserialize")]
    pub invoice_date: Option<Date>,
    /// Posting date.
    #[serde(deserialize_with = "blank_date::deserialize")]
    pub posting_date: Option<Date>,
    /// Currency code.
    pub currency_code: String,
    /// Whether prices include tax.
    pub prices_include_tax: bool,
    /// Invoice discount amount.
    pub discount_amount: Decimal,
    /// Total excluding tax.
    pub total_amount_excluding_tax: Decimal,
    /// Total tax.
    pub total_tax_amount: Decimal,
    /// Total including tax (what must agree to the cent with the sale).
    pub total_amount_including_tax: Decimal,
    /// Status.
    pub status: Option<DocumentStatus>,
    /// Lines, when expanded.
    #[serde(
        alias = "salesOrderLines",
        alias = "salesInvoiceLines",
        alias = "salesCreditMemoLines"
    )]
    pub lines: Vec<SalesLine>,
    /// SystemModifiedAt.
    #[serde(deserialize_with = "blank_datetime::deserialize")]
    pub last_modified_date_time: Option<Timestamp>,
}

/// A line of any sales document.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SalesLine {
    /// `@odata.etag`.
    #[serde(rename = "@odata.etag")]
    pub etag: Option<ETag>,
    /// SystemId.
    pub id: Uuid,
    /// The document's SystemId.
    pub document_id: Uuid,
    /// Line No.
    pub sequence: i64,
    /// Item / Comment / Account …
    pub line_type: Option<LineType>,
    /// Item SystemId (nil when not an item line).
    pub item_id: Uuid,
    /// No. (item number for item lines).
    pub line_object_number: String,
    /// Description.
    pub description: String,
    /// Quantity.
    pub quantity: Decimal,
    /// Unit price.
    pub unit_price: Decimal,
    /// Line discount amount.
    pub discount_amount: Decimal,
    /// Line discount percent.
    pub discount_percent: Decimal,
    /// Amount excluding tax.
    pub amount_excluding_tax: Decimal,
    /// Tax percent.
    pub tax_percent: Decimal,
    /// Amount including tax.
    pub amount_including_tax: Decimal,
    /// Variant SystemId (nil when none).
    pub item_variant_id: Uuid,
    /// Location SystemId (nil when none).
    pub location_id: Uuid,
}

/// `itemLedgerEntries` (fixture itemLedgerEntry.get.response.json).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ItemLedgerEntry {
    /// SystemId.
    pub id: Uuid,
    /// Entry No.: increases monotonically (the stock cursor).
    pub entry_number: i64,
    /// Item No.
    pub item_number: String,
    /// Posting date.
    #[serde(deserialize_with = "blank_date::deserialize")]
    pub posting_date: Option<Date>,
    /// Sale, Purchase, Positive Adjmt. …
    pub entry_type: Option<EntryType>,
    /// Source No.
    pub source_number: String,
    /// Source type.
    pub source_type: EnumText,
    /// Document No.
    pub document_number: String,
    /// Document type.
    pub document_type: EnumText,
    /// Description.
    pub description: String,
    /// Quantity (negative for outbound).
    pub quantity: Decimal,
    /// Sales amount (actual).
    pub sales_amount_actual: Decimal,
    /// Cost amount (actual).
    pub cost_amount_actual: Decimal,
}

/// `items({id})/picture` (fixture picture.get.response.json).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Picture {
    /// `@odata.etag` (what an upload's `If-Match` wants).
    #[serde(rename = "@odata.etag")]
    pub etag: Option<ETag>,
    /// The parent's SystemId.
    pub id: Uuid,
    /// Width in pixels (0 without picture).
    pub width: i64,
    /// Height in pixels.
    pub height: i64,
    /// MIME type (empty without picture).
    pub content_type: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::Record;
    use serde_json::Value;

    fn fixture(name: &str) -> Value {
        let path = format!(
            "{}/../../tests/fixtures/business-central/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn record(value: Value) -> Record {
        match value {
            Value::Object(map) => Record::from_object(map),
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn fixtures_decode_into_models() {
        let customer: Customer = record(fixture("customer.get.response.json"))
            .decode()
            .unwrap();
        assert_eq!(customer.number, "10000");
        assert_eq!(customer.blocked, Some(CustomerBlocked::No));
        assert_eq!(customer.party_type, Some(PartyType::Company));

        let item: Item = record(fixture("item.create.response.json"))
            .decode()
            .unwrap();
        assert_eq!(item.unit_price, Decimal::new(10008, 1));
        assert_eq!(item.item_type, Some(ItemType::Inventory));

        let entry: ItemLedgerEntry = record(fixture("itemLedgerEntry.get.response.json"))
            .decode()
            .unwrap();
        assert_eq!(entry.entry_type, Some(EntryType::PositiveAdjustment));
        assert!(entry.source_type.is_blank());

        let order: SalesDocument = record(fixture("salesOrder.create.response.json"))
            .decode()
            .unwrap();
        assert_eq!(order.number, "101005");
        assert_eq!(order.status, Some(DocumentStatus::Draft));

        let all = fixture("fixture.rebelpl.salesOrders.json");
        let first = record(all["value"][2].clone());
        assert!(first.etag().is_some());
        let listed: SalesDocument = first.decode().unwrap();
        assert_eq!(listed.lines.len(), 2);
        assert_eq!(listed.lines[0].line_type, Some(LineType::Item));

        let contact: Contact = record(fixture("contact.get.response.json"))
            .decode()
            .unwrap();
        assert_eq!(contact.number, "108001");
        let picture: Picture = record(fixture("picture.get.response.json"))
            .decode()
            .unwrap();
        assert_eq!(picture.width, 400);
    }

    #[test]
    fn decode_errors_name_the_json_path() {
        let mut value = fixture("item.get.response.json");
        value["inventory"] = Value::String("lots".into());
        let err = record(value).decode::<Item>().unwrap_err();
        match err {
            crate::BcError::Decode { path, .. } => assert_eq!(path, "inventory"),
            other => panic!("{other:?}"),
        }
    }
}
