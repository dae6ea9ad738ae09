//! The simulated API v2.0 entity types: for each entity set its fields in wire order (as the
//! fixtures show them), their EDM kinds, MaxLengths and editability (A: APIV2*.Page.al as
//! summarised in api-notes §2; lengths from the captured `$metadata`), enum members as JSON
//! member names, and the navigation properties it can expand. Written from the docs and
//! fixtures, independently of the client crate. It must not hold data.

use std::fmt::Write as _;

use serde_json::Value;

/// The EDM kind of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `Edm.String` with a MaxLength.
    Text(usize),
    /// A Code field: `Edm.String`, stored upper-case.
    Code(usize),
    Guid,
    Bool,
    /// `Edm.Decimal`.
    Decimal,
    /// `Edm.Int32`/`Int64`.
    Int,
    Date,
    DateTime,
    /// An enum, by JSON member names (escaped).
    Enum(&'static [&'static str]),
}

impl Kind {
    pub(crate) fn edm(self) -> &'static str {
        match self {
            Self::Text(_) | Self::Code(_) => "Edm.String",
            Self::Guid => "Edm.Guid",
            Self::Bool => "Edm.Boolean",
            Self::Decimal => "Edm.Decimal",
            Self::Int => "Edm.Int32",
            Self::Date => "Edm.Date",
            Self::DateTime => "Edm.DateTimeOffset",
            Self::Enum(_) => "Microsoft.NAV.enum",
        }
    }

    /// The value of a field nobody set.
    pub(crate) fn blank(self) -> Value {
        match self {
            Self::Text(_) | Self::Code(_) => Value::String(String::new()),
            Self::Guid => Value::String(NIL_GUID.to_owned()),
            Self::Bool => Value::Bool(false),
            Self::Decimal | Self::Int => Value::from(0),
            Self::Date => Value::String(BLANK_DATE.to_owned()),
            Self::DateTime => Value::String("0001-01-01T00:00:00Z".to_owned()),
            Self::Enum(members) => Value::String(members.first().copied().unwrap_or("").to_owned()),
        }
    }
}

pub(crate) const NIL_GUID: &str = "00000000-0000-0000-0000-000000000000";
/// BC's blank date (fixtures salesOrder.create.response.json, fixture.rebelpl.salesOrders.json).
pub(crate) const BLANK_DATE: &str = "0001-01-01";

/// One field.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field {
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
    pub(crate) read_only: bool,
}

const fn w(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        read_only: false,
    }
}

const fn r(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        read_only: true,
    }
}

use Kind::{Bool, Code, Date, DateTime, Decimal, Enum, Guid, Int, Text};

// Enum members as the JSON carries them (R: metadata.xml; fixtures).
pub(crate) const PARTY_TYPE: &[&str] = &["Company", "Person"];
pub(crate) const CUSTOMER_BLOCKED: &[&str] = &["_x0020_", "Ship", "Invoice", "All"];
pub(crate) const ITEM_TYPE: &[&str] = &["Inventory", "Service", "Non_x002D_Inventory"];
pub(crate) const CONTACT_RELATION: &[&str] = &[
    "_x0020_",
    "Customer",
    "Vendor",
    "Bank_x0020_Account",
    "Employee",
    "None",
    "Other",
    "Multiple",
];
pub(crate) const LINE_TYPE: &[&str] = &[
    "Comment",
    "Account",
    "Item",
    "Resource",
    "Fixed_x0020_Asset",
    "Charge",
    "Allocation_x0020_Account",
];
pub(crate) const ORDER_STATUS: &[&str] = &["Draft", "In_x0020_Review", "Open"];
pub(crate) const INVOICE_STATUS: &[&str] = &[
    "_x0020_",
    "Draft",
    "In_x0020_Review",
    "Open",
    "Paid",
    "Canceled",
    "Corrective",
];
pub(crate) const ENTRY_TYPE: &[&str] = &[
    "Purchase",
    "Sale",
    "Positive_x0020_Adjmt_x002E_",
    "Negative_x0020_Adjmt_x002E_",
    "Transfer",
    "Consumption",
    "Output",
    "_x0020_",
    "Assembly_x0020_Consumption",
    "Assembly_x0020_Output",
];
pub(crate) const DOCUMENT_TYPE: &[&str] = &[
    "_x0020_",
    "Sales_x0020_Shipment",
    "Sales_x0020_Invoice",
    "Sales_x0020_Return_x0020_Receipt",
    "Sales_x0020_Credit_x0020_Memo",
    "Purchase_x0020_Receipt",
    "Purchase_x0020_Invoice",
];
pub(crate) const SOURCE_TYPE: &[&str] = &["_x0020_", "Customer", "Vendor", "Item"];
/// `taxAreas.taxType`: enum "Tax Buffer Type" (BCApps `TaxAreaBuffer.Table.al` sets
/// `Type::"Sales Tax"` from a Tax Area and `Type::VAT` from a VAT Business Posting Group).
pub(crate) const TAX_TYPE: &[&str] = &["Sales_x0020_Tax", "VAT"];

const CUSTOMER: &[Field] = &[
    w("id", Guid),
    w("number", Code(20)),
    w("displayName", Text(100)),
    w("type", Enum(PARTY_TYPE)),
    w("addressLine1", Text(100)),
    w("addressLine2", Text(50)),
    w("city", Text(30)),
    w("state", Text(30)),
    w("country", Code(10)),
    w("postalCode", Code(20)),
    w("phoneNumber", Text(30)),
    w("email", Text(80)),
    w("website", Text(80)),
    w("salespersonCode", Code(20)),
    r("balanceDue", Decimal),
    w("creditLimit", Decimal),
    w("taxLiable", Bool),
    w("taxAreaId", Guid),
    r("taxAreaDisplayName", Text(100)),
    w("taxRegistrationNumber", Text(20)),
    w("currencyId", Guid),
    w("currencyCode", Code(10)),
    w("paymentTermsId", Guid),
    w("shipmentMethodId", Guid),
    w("paymentMethodId", Guid),
    w("blocked", Enum(CUSTOMER_BLOCKED)),
    r("lastModifiedDateTime", DateTime),
];

const CONTACT: &[Field] = &[
    w("id", Guid),
    w("number", Code(20)),
    w("type", Enum(PARTY_TYPE)),
    w("displayName", Text(100)),
    w("jobTitle", Text(30)),
    w("companyNumber", Code(20)),
    w("companyName", Text(100)),
    r("contactBusinessRelation", Enum(CONTACT_RELATION)),
    w("addressLine1", Text(100)),
    w("addressLine2", Text(50)),
    w("city", Text(30)),
    w("state", Text(30)),
    w("country", Code(10)),
    w("postalCode", Code(20)),
    w("phoneNumber", Text(30)),
    w("mobilePhoneNumber", Text(30)),
    w("email", Text(80)),
    w("website", Text(80)),
    w("searchName", Code(100)),
    w("privacyBlocked", Bool),
    w("taxRegistrationNumber", Text(20)),
    r("lastInteractionDate", Date),
    r("lastModifiedDateTime", DateTime),
];

const ITEM: &[Field] = &[
    w("id", Guid),
    w("number", Code(20)),
    w("displayName", Text(100)),
    w("displayName2", Text(50)),
    w("type", Enum(ITEM_TYPE)),
    w("itemCategoryId", Guid),
    w("itemCategoryCode", Code(20)),
    w("blocked", Bool),
    w("gtin", Code(14)),
    // Documented read-only, accepted on PATCH (api-notes §2 "items"): handled by the store.
    r("inventory", Decimal),
    w("unitPrice", Decimal),
    w("priceIncludesTax", Bool),
    w("unitCost", Decimal),
    w("taxGroupId", Guid),
    w("taxGroupCode", Code(20)),
    w("baseUnitOfMeasureId", Guid),
    w("baseUnitOfMeasureCode", Code(10)),
    w("generalProductPostingGroupId", Guid),
    w("generalProductPostingGroupCode", Code(20)),
    w("inventoryPostingGroupId", Guid),
    w("inventoryPostingGroupCode", Code(20)),
    r("lastModifiedDateTime", DateTime),
];

const ITEM_VARIANT: &[Field] = &[
    w("id", Guid),
    w("itemId", Guid),
    w("itemNumber", Code(20)),
    w("code", Code(10)),
    w("description", Text(100)),
    r("lastModifiedDateTime", DateTime),
];

const ITEM_CATEGORY: &[Field] = &[
    w("id", Guid),
    w("code", Code(20)),
    w("displayName", Text(100)),
    r("lastModifiedDateTime", DateTime),
];

const PAYMENT_TERM: &[Field] = &[
    w("id", Guid),
    w("code", Code(10)),
    w("displayName", Text(100)),
    w("dueDateCalculation", Text(32)),
    w("discountDateCalculation", Text(32)),
    w("discountPercent", Decimal),
    w("calculateDiscountOnCreditMemos", Bool),
    r("lastModifiedDateTime", DateTime),
];

const PAYMENT_METHOD: &[Field] = &[
    w("id", Guid),
    w("code", Code(10)),
    w("displayName", Text(100)),
    r("lastModifiedDateTime", DateTime),
];

const LOCATION: &[Field] = &[
    w("id", Guid),
    w("code", Code(10)),
    w("displayName", Text(100)),
    w("contact", Text(100)),
    w("addressLine1", Text(100)),
    w("addressLine2", Text(50)),
    w("city", Text(30)),
    w("state", Text(30)),
    w("country", Code(10)),
    w("postalCode", Code(20)),
    w("phoneNumber", Text(30)),
    w("email", Text(80)),
    w("website", Text(80)),
    r("lastModifiedDateTime", DateTime),
];

// Order header in the wire order of fixture.rebelpl.salesOrders.json.
const SALES_ORDER: &[Field] = &[
    w("id", Guid),
    r("number", Code(20)),
    w("externalDocumentNumber", Code(35)),
    w("orderDate", Date),
    w("postingDate", Date),
    w("customerId", Guid),
    w("customerNumber", Code(20)),
    r("customerName", Text(100)),
    r("billToName", Text(100)),
    w("billToCustomerId", Guid),
    w("billToCustomerNumber", Code(20)),
    w("shipToName", Text(100)),
    w("shipToContact", Text(100)),
    w("sellToAddressLine1", Text(100)),
    w("sellToAddressLine2", Text(50)),
    w("sellToCity", Text(30)),
    w("sellToCountry", Code(10)),
    w("sellToState", Text(30)),
    w("sellToPostCode", Code(20)),
    r("billToAddressLine1", Text(100)),
    r("billToAddressLine2", Text(50)),
    r("billToCity", Text(30)),
    r("billToCountry", Code(10)),
    r("billToState", Text(30)),
    r("billToPostCode", Code(20)),
    w("shipToAddressLine1", Text(100)),
    w("shipToAddressLine2", Text(50)),
    w("shipToCity", Text(30)),
    w("shipToCountry", Code(10)),
    w("shipToState", Text(30)),
    w("shipToPostCode", Code(20)),
    w("shortcutDimension1Code", Code(20)),
    w("shortcutDimension2Code", Code(20)),
    w("currencyId", Guid),
    w("currencyCode", Code(10)),
    r("pricesIncludeTax", Bool),
    w("paymentTermsId", Guid),
    w("shipmentMethodId", Guid),
    w("salesperson", Code(20)),
    w("partialShipping", Bool),
    w("requestedDeliveryDate", Date),
    w("discountAmount", Decimal),
    r("discountAppliedBeforeTax", Bool),
    r("totalAmountExcludingTax", Decimal),
    r("totalTaxAmount", Decimal),
    r("totalAmountIncludingTax", Decimal),
    r("fullyShipped", Bool),
    r("status", Enum(ORDER_STATUS)),
    r("lastModifiedDateTime", DateTime),
    w("phoneNumber", Text(30)),
    w("email", Text(80)),
];

// Invoice header in the wire order of fixture salesInvoice.create.response.json, plus the
// fields api-notes §2 lists beyond it.
const SALES_INVOICE: &[Field] = &[
    w("id", Guid),
    r("number", Code(20)),
    w("externalDocumentNumber", Code(35)),
    w("invoiceDate", Date),
    w("postingDate", Date),
    w("dueDate", Date),
    w("promisedPayDate", Date),
    w("customerPurchaseOrderReference", Text(35)),
    w("customerId", Guid),
    w("customerNumber", Code(20)),
    r("customerName", Text(100)),
    r("billToName", Text(100)),
    w("billToCustomerId", Guid),
    w("billToCustomerNumber", Code(20)),
    w("shipToName", Text(100)),
    w("shipToContact", Text(100)),
    w("sellToAddressLine1", Text(100)),
    w("sellToAddressLine2", Text(50)),
    w("sellToCity", Text(30)),
    w("sellToCountry", Code(10)),
    w("sellToState", Text(30)),
    w("sellToPostCode", Code(20)),
    r("billToAddressLine1", Text(100)),
    r("billToAddressLine2", Text(50)),
    r("billToCity", Text(30)),
    r("billToCountry", Code(10)),
    r("billToState", Text(30)),
    r("billToPostCode", Code(20)),
    w("shipToAddressLine1", Text(100)),
    w("shipToAddressLine2", Text(50)),
    w("shipToCity", Text(30)),
    w("shipToCountry", Code(10)),
    w("shipToState", Text(30)),
    w("shipToPostCode", Code(20)),
    w("shortcutDimension1Code", Code(20)),
    w("shortcutDimension2Code", Code(20)),
    w("currencyId", Guid),
    w("currencyCode", Code(10)),
    r("orderId", Guid),
    r("orderNumber", Code(20)),
    w("paymentTermsId", Guid),
    w("shipmentMethodId", Guid),
    w("salesperson", Code(20)),
    r("pricesIncludeTax", Bool),
    r("remainingAmount", Decimal),
    w("discountAmount", Decimal),
    r("discountAppliedBeforeTax", Bool),
    r("totalAmountExcludingTax", Decimal),
    r("totalTaxAmount", Decimal),
    r("totalAmountIncludingTax", Decimal),
    r("status", Enum(INVOICE_STATUS)),
    r("lastModifiedDateTime", DateTime),
    w("phoneNumber", Text(30)),
    w("email", Text(80)),
];

// Credit memo header (A: APIV2SalesCreditMemos.Page.al).
const SALES_CREDIT_MEMO: &[Field] = &[
    w("id", Guid),
    r("number", Code(20)),
    w("externalDocumentNumber", Code(35)),
    w("creditMemoDate", Date),
    w("postingDate", Date),
    w("dueDate", Date),
    w("customerId", Guid),
    w("customerNumber", Code(20)),
    r("customerName", Text(100)),
    r("billToName", Text(100)),
    w("billToCustomerId", Guid),
    w("billToCustomerNumber", Code(20)),
    w("sellToAddressLine1", Text(100)),
    w("sellToAddressLine2", Text(50)),
    w("sellToCity", Text(30)),
    w("sellToCountry", Code(10)),
    w("sellToState", Text(30)),
    w("sellToPostCode", Code(20)),
    r("billToAddressLine1", Text(100)),
    r("billToAddressLine2", Text(50)),
    r("billToCity", Text(30)),
    r("billToCountry", Code(10)),
    r("billToState", Text(30)),
    r("billToPostCode", Code(20)),
    w("currencyId", Guid),
    w("currencyCode", Code(10)),
    w("paymentTermsId", Guid),
    w("shipmentMethodId", Guid),
    w("salesperson", Code(20)),
    r("pricesIncludeTax", Bool),
    w("discountAmount", Decimal),
    r("discountAppliedBeforeTax", Bool),
    r("totalAmountExcludingTax", Decimal),
    r("totalTaxAmount", Decimal),
    r("totalAmountIncludingTax", Decimal),
    r("status", Enum(INVOICE_STATUS)),
    r("lastModifiedDateTime", DateTime),
    w("invoiceId", Guid),
    w("invoiceNumber", Code(20)),
    w("phoneNumber", Text(30)),
    w("email", Text(80)),
    w("customerReturnReasonId", Guid),
];

// Lines in the wire order of fixture.rebelpl.batch.json (order lines).
const ORDER_LINE: &[Field] = &[
    w("id", Guid),
    w("documentId", Guid),
    w("sequence", Int),
    w("itemId", Guid),
    w("accountId", Guid),
    w("lineType", Enum(LINE_TYPE)),
    w("lineObjectNumber", Code(20)),
    w("description", Text(100)),
    w("description2", Text(50)),
    w("unitOfMeasureId", Guid),
    w("unitOfMeasureCode", Code(10)),
    w("quantity", Decimal),
    w("unitPrice", Decimal),
    w("discountAmount", Decimal),
    w("discountPercent", Decimal),
    r("discountAppliedBeforeTax", Bool),
    r("amountExcludingTax", Decimal),
    w("taxCode", Code(20)),
    r("taxPercent", Decimal),
    r("totalTaxAmount", Decimal),
    r("amountIncludingTax", Decimal),
    r("invoiceDiscountAllocation", Decimal),
    r("netAmount", Decimal),
    r("netTaxAmount", Decimal),
    r("netAmountIncludingTax", Decimal),
    w("shipmentDate", Date),
    r("shippedQuantity", Decimal),
    r("invoicedQuantity", Decimal),
    w("invoiceQuantity", Decimal),
    w("shipQuantity", Decimal),
    w("itemVariantId", Guid),
    w("locationId", Guid),
];

// Invoice and credit memo lines (fixture salesInvoiceLine.create.response.json).
const INVOICE_LINE: &[Field] = &[
    w("id", Guid),
    w("documentId", Guid),
    w("sequence", Int),
    w("itemId", Guid),
    w("accountId", Guid),
    w("lineType", Enum(LINE_TYPE)),
    w("lineObjectNumber", Code(20)),
    w("description", Text(100)),
    w("description2", Text(50)),
    w("unitOfMeasureId", Guid),
    w("unitOfMeasureCode", Code(10)),
    w("unitPrice", Decimal),
    w("quantity", Decimal),
    w("discountAmount", Decimal),
    w("discountPercent", Decimal),
    r("discountAppliedBeforeTax", Bool),
    r("amountExcludingTax", Decimal),
    w("taxCode", Code(20)),
    r("taxPercent", Decimal),
    r("totalTaxAmount", Decimal),
    r("amountIncludingTax", Decimal),
    r("invoiceDiscountAllocation", Decimal),
    r("netAmount", Decimal),
    r("netTaxAmount", Decimal),
    r("netAmountIncludingTax", Decimal),
    w("shipmentDate", Date),
    w("itemVariantId", Guid),
    w("locationId", Guid),
];

/// API v2.0 `customerPaymentJournals` (BCApps `APIV2CustPaymJournals.Page.al`, page 30013 on
/// table "Gen. Journal Batch": `code` = Name Code[10], `displayName` = Description,
/// `balancingAccountId` = BalAccountId, `balancingAccountNumber` = "Bal. Account No."
/// (`Editable = false`); field order of the page and of [MS] `dynamics_customerpaymentjournal_get`).
const CUSTOMER_PAYMENT_JOURNAL: &[Field] = &[
    w("id", Guid),
    w("code", Code(10)),
    w("displayName", Text(100)),
    r("lastModifiedDateTime", DateTime),
    w("balancingAccountId", Guid),
    r("balancingAccountNumber", Code(20)),
];

/// API v2.0 `journals` (BCApps `APIV2Journals.Page.al`, page 30016 on "Gen. Journal Batch";
/// `templateDisplayName` = "Journal Template Name" Code[10]).
const JOURNAL: &[Field] = &[
    w("id", Guid),
    w("code", Code(10)),
    w("displayName", Text(100)),
    w("templateDisplayName", Code(10)),
    r("lastModifiedDateTime", DateTime),
    w("balancingAccountId", Guid),
    r("balancingAccountNumber", Code(20)),
];

/// API v2.0 `customerPayments` (BCApps `APIV2CustomerPayments.Page.al`, page 30055 on table
/// "Gen. Journal Line", in the page's field order): `journalId` = "Journal Batch Id",
/// `journalDisplayName` = "Journal Batch Name" Code[10], `lineNumber` = "Line No.",
/// `customerNumber` = "Account No." Code[20], `documentNumber` Code[20],
/// `externalDocumentNumber` Code[35], `appliesToInvoiceNumber` Code[20] (the page's
/// `AppliesToInvoiceNumberText`), `description` Text[100], `comment` Text[250].
const CUSTOMER_PAYMENT: &[Field] = &[
    w("id", Guid),
    w("journalId", Guid),
    w("journalDisplayName", Code(10)),
    w("lineNumber", Int),
    w("customerId", Guid),
    w("customerNumber", Code(20)),
    w("postingDate", Date),
    w("documentNumber", Code(20)),
    w("externalDocumentNumber", Code(35)),
    w("amount", Decimal),
    w("appliesToInvoiceId", Guid),
    w("appliesToInvoiceNumber", Code(20)),
    w("description", Text(100)),
    w("comment", Text(250)),
    r("lastModifiedDateTime", DateTime),
];

/// API v2.0 `taxAreas` (BCApps `APIV2TaxAreas.Page.al`, page 30036 on the temporary "Tax Area
/// Buffer": `code` Code[20], `displayName` = Description Text[100], `taxType` and
/// `lastModifiedDateTime` `Editable = false`).
const TAX_AREA: &[Field] = &[
    w("id", Guid),
    w("code", Code(20)),
    w("displayName", Text(100)),
    r("taxType", Enum(TAX_TYPE)),
    r("lastModifiedDateTime", DateTime),
];

// fixture itemLedgerEntry.get.response.json.
/// API v2.0 `accounts` (read-only: GET only; [MS] api-reference/v2.0/resources/
/// dynamics_account: id, number, displayName, category, subCategory, blocked, accountType,
/// directPosting, netChange, lastModifiedDateTime). The chart of accounts is the tenant's
/// (`BcBehaviour::gl_accounts`).
const ACCOUNT: &[Field] = &[
    r("id", Guid),
    r("number", Code(20)),
    r("displayName", Text(100)),
    r("category", Text(30)),
    r("subCategory", Text(80)),
    r("blocked", Bool),
    r("accountType", Text(30)),
    r("directPosting", Bool),
    r("netChange", Decimal),
    r("lastModifiedDateTime", DateTime),
];

const LEDGER_ENTRY: &[Field] = &[
    r("id", Guid),
    r("entryNumber", Int),
    r("itemNumber", Code(20)),
    r("postingDate", Date),
    r("entryType", Enum(ENTRY_TYPE)),
    r("sourceNumber", Code(20)),
    r("sourceType", Enum(SOURCE_TYPE)),
    r("documentNumber", Code(20)),
    r("documentType", Enum(DOCUMENT_TYPE)),
    r("description", Text(100)),
    r("quantity", Decimal),
    r("salesAmountActual", Decimal),
    r("costAmountActual", Decimal),
    r("lastModifiedDateTime", DateTime),
];

/// Page 38 "Item Ledger Entries" published as an OData V4 web service: the controls a stock
/// reader needs, named as OData V4 names page controls (the control name with spaces and
/// periods turned into `_`: `Entry No.` → `Entry_No`, [MS] `webservices/use-filter-expressions-in-odata-uris`
/// `$filter=Entry_No gt 610` on page 20, `VAT_Bus_Posting_Group` on page 21). Controls from
/// BCApps `ItemLedgerEntries.Page.al` (`field("Entry No."; Rec."Entry No.")`, …); lengths
/// from `ItemLedgerEntry.Table.al` (`Location Code`/`Variant Code` Code[10]). Enum values
/// are rendered as API v2.0 renders them (`Positive_x0020_Adjmt_x002E_`): not confirmed
/// for OData V4 pages.
pub(crate) const ITEM_LEDGER_PAGE: &[Field] = &[
    r("Entry_No", Int),
    r("Posting_Date", Date),
    r("Entry_Type", Enum(ENTRY_TYPE)),
    r("Document_Type", Enum(DOCUMENT_TYPE)),
    r("Document_No", Code(20)),
    r("Item_No", Code(20)),
    r("Variant_Code", Code(10)),
    r("Description", Text(100)),
    r("Location_Code", Code(10)),
    r("Quantity", Decimal),
    r("Remaining_Quantity", Decimal),
    r("Open", Bool),
];

/// `Reservation Status` as OData V4 renders the option (BCApps `ReservationStatus.Enum.al`).
pub(crate) const RESERVATION_STATUS: &[&str] = &["Reservation", "Tracking", "Surplus", "Prospect"];

/// Page 497 "Reservation Entries" published as an OData V4 web service: the controls a
/// stock reader needs (BCApps `ReservationEntries.Page.al`: `Reservation Status`, `Item No.`,
/// `Variant Code`, `Location Code`, `Quantity (Base)`, `Source Type`, `Source Subtype`,
/// `Source ID`, `Entry No.`), named as OData V4 names page controls. `Source_Type` is the
/// table number (32: Item Ledger Entry, 37: Sales Line); `Source_Subtype` an option shown
/// here as its number (how OData V4 renders it is not confirmed).
pub(crate) const RESERVATION_PAGE: &[Field] = &[
    r("Reservation_Status", Enum(RESERVATION_STATUS)),
    r("Item_No", Code(20)),
    r("Variant_Code", Code(10)),
    r("Location_Code", Code(10)),
    r("Quantity_Base", Decimal),
    r("Source_Type", Int),
    r("Source_Subtype", Text(10)),
    r("Source_ID", Code(20)),
    r("Entry_No", Int),
];

/// Page 5404 "Item Units of Measure" published as an OData V4 web service: its controls
/// (BCApps `ItemUnitsofMeasure.Page.al`: `Item No.`, `Code`, `Qty. per Unit of Measure`,
/// `Height`, `Width`, `Length`, `Cubage`, `Weight`) named as OData V4 names page controls;
/// lengths from `ItemUnitofMeasure.Table.al` (`Item No.` Code[20], `Code` Code[10]). Its
/// key is (`Item_No`, `Code`).
pub(crate) const ITEM_UNITS_PAGE: &[Field] = &[
    r("Item_No", Code(20)),
    r("Code", Code(10)),
    r("Qty_per_Unit_of_Measure", Decimal),
    r("Height", Decimal),
    r("Width", Decimal),
    r("Length", Decimal),
    r("Cubage", Decimal),
    r("Weight", Decimal),
];

/// The simulated entity sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Entity {
    Customer,
    Contact,
    Item,
    ItemVariant,
    ItemCategory,
    PaymentTerm,
    PaymentMethod,
    Location,
    SalesOrder,
    SalesOrderLine,
    SalesInvoice,
    SalesInvoiceLine,
    SalesCreditMemo,
    SalesCreditMemoLine,
    ItemLedgerEntry,
    Account,
    CustomerPaymentJournal,
    CustomerPayment,
    Journal,
    TaxArea,
}

impl Entity {
    pub(crate) const ALL: [Entity; 20] = [
        Self::Customer,
        Self::Contact,
        Self::Item,
        Self::ItemVariant,
        Self::ItemCategory,
        Self::PaymentTerm,
        Self::PaymentMethod,
        Self::Location,
        Self::SalesOrder,
        Self::SalesOrderLine,
        Self::SalesInvoice,
        Self::SalesInvoiceLine,
        Self::SalesCreditMemo,
        Self::SalesCreditMemoLine,
        Self::ItemLedgerEntry,
        Self::Account,
        Self::CustomerPaymentJournal,
        Self::CustomerPayment,
        Self::Journal,
        Self::TaxArea,
    ];

    pub(crate) fn set_name(self) -> &'static str {
        match self {
            Self::Customer => "customers",
            Self::Contact => "contacts",
            Self::Item => "items",
            Self::ItemVariant => "itemVariants",
            Self::ItemCategory => "itemCategories",
            Self::PaymentTerm => "paymentTerms",
            Self::PaymentMethod => "paymentMethods",
            Self::Location => "locations",
            Self::SalesOrder => "salesOrders",
            Self::SalesOrderLine => "salesOrderLines",
            Self::SalesInvoice => "salesInvoices",
            Self::SalesInvoiceLine => "salesInvoiceLines",
            Self::SalesCreditMemo => "salesCreditMemos",
            Self::SalesCreditMemoLine => "salesCreditMemoLines",
            Self::ItemLedgerEntry => "itemLedgerEntries",
            Self::Account => "accounts",
            Self::CustomerPaymentJournal => "customerPaymentJournals",
            Self::CustomerPayment => "customerPayments",
            Self::Journal => "journals",
            Self::TaxArea => "taxAreas",
        }
    }

    /// The OData entity type name (`Microsoft.NAV.customer`).
    pub(crate) fn type_name(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::Contact => "contact",
            Self::Item => "item",
            Self::ItemVariant => "itemVariant",
            Self::ItemCategory => "itemCategory",
            Self::PaymentTerm => "paymentTerm",
            Self::PaymentMethod => "paymentMethod",
            Self::Location => "location",
            Self::SalesOrder => "salesOrder",
            Self::SalesOrderLine => "salesOrderLine",
            Self::SalesInvoice => "salesInvoice",
            Self::SalesInvoiceLine => "salesInvoiceLine",
            Self::SalesCreditMemo => "salesCreditMemo",
            Self::SalesCreditMemoLine => "salesCreditMemoLine",
            Self::ItemLedgerEntry => "itemLedgerEntry",
            Self::Account => "account",
            Self::CustomerPaymentJournal => "customerPaymentJournal",
            Self::CustomerPayment => "customerPayment",
            Self::Journal => "journal",
            Self::TaxArea => "taxArea",
        }
    }

    /// The base table's caption, for "already exists" errors.
    pub(crate) fn table_caption(self) -> &'static str {
        match self {
            Self::Customer => "Customer",
            Self::Contact => "Contact",
            Self::Item => "Item",
            Self::ItemVariant => "Item Variant",
            Self::ItemCategory => "Item Category",
            Self::PaymentTerm => "Payment Terms",
            Self::PaymentMethod => "Payment Method",
            Self::Location => "Location",
            Self::SalesOrder | Self::SalesInvoice | Self::SalesCreditMemo => "Sales Header",
            Self::SalesOrderLine | Self::SalesInvoiceLine | Self::SalesCreditMemoLine => {
                "Sales Line"
            }
            Self::ItemLedgerEntry => "Item Ledger Entry",
            Self::Account => "G/L Account",
            Self::CustomerPaymentJournal | Self::Journal => "Gen. Journal Batch",
            Self::CustomerPayment => "Gen. Journal Line",
            Self::TaxArea => "Tax Area",
        }
    }

    pub(crate) fn from_set(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.set_name() == name)
    }

    pub(crate) fn fields(self) -> &'static [Field] {
        match self {
            Self::Customer => CUSTOMER,
            Self::Contact => CONTACT,
            Self::Item => ITEM,
            Self::ItemVariant => ITEM_VARIANT,
            Self::ItemCategory => ITEM_CATEGORY,
            Self::PaymentTerm => PAYMENT_TERM,
            Self::PaymentMethod => PAYMENT_METHOD,
            Self::Location => LOCATION,
            Self::SalesOrder => SALES_ORDER,
            Self::SalesInvoice => SALES_INVOICE,
            Self::SalesCreditMemo => SALES_CREDIT_MEMO,
            Self::SalesOrderLine => ORDER_LINE,
            Self::SalesInvoiceLine | Self::SalesCreditMemoLine => INVOICE_LINE,
            Self::ItemLedgerEntry => LEDGER_ENTRY,
            Self::Account => ACCOUNT,
            Self::CustomerPaymentJournal => CUSTOMER_PAYMENT_JOURNAL,
            Self::CustomerPayment => CUSTOMER_PAYMENT,
            Self::Journal => JOURNAL,
            Self::TaxArea => TAX_AREA,
        }
    }

    pub(crate) fn field(self, name: &str) -> Option<Field> {
        self.fields().iter().find(|f| f.name == name).copied()
    }

    /// The line set of a document.
    pub(crate) fn lines(self) -> Option<Entity> {
        match self {
            Self::SalesOrder => Some(Self::SalesOrderLine),
            Self::SalesInvoice => Some(Self::SalesInvoiceLine),
            Self::SalesCreditMemo => Some(Self::SalesCreditMemoLine),
            _ => None,
        }
    }

    /// The document a line set belongs to.
    pub(crate) fn document(self) -> Option<Entity> {
        match self {
            Self::SalesOrderLine => Some(Self::SalesOrder),
            Self::SalesInvoiceLine => Some(Self::SalesInvoice),
            Self::SalesCreditMemoLine => Some(Self::SalesCreditMemo),
            _ => None,
        }
    }

    pub(crate) fn is_document(self) -> bool {
        self.lines().is_some()
    }

    /// The set a nested set is reached under, and the field of its rows naming the parent:
    /// document lines under their document, variants under their item, customer payments
    /// under their journal (`part(customerPayments; …) SubPageLink = "Journal Batch Id" =
    /// field(SystemId)`, BCApps `APIV2CustPaymJournals.Page.al`).
    pub(crate) fn parent(self) -> Option<(Entity, &'static str)> {
        match self {
            Self::ItemVariant => Some((Self::Item, "itemId")),
            Self::CustomerPayment => Some((Self::CustomerPaymentJournal, "journalId")),
            _ => self.document().map(|d| (d, "documentId")),
        }
    }

    /// The field that orders the table (its primary key on the wire).
    pub(crate) fn key_field(self) -> &'static str {
        match self {
            Self::ItemCategory
            | Self::PaymentTerm
            | Self::PaymentMethod
            | Self::Location
            | Self::ItemVariant
            | Self::CustomerPaymentJournal
            | Self::Journal
            | Self::TaxArea => "code",
            Self::CustomerPayment => "lineNumber",
            Self::SalesOrderLine | Self::SalesInvoiceLine | Self::SalesCreditMemoLine => "sequence",
            Self::ItemLedgerEntry => "entryNumber",
            _ => "number",
        }
    }

    /// Whether the set is on the documented "List of supported entities" of API v2.0 webhooks
    /// ([MS] `api-reference/v2.0/dynamics-subscriptions` § Supported entities: accounts,
    /// companyInformation, …, customers, …, itemCategories, items, …, paymentMethods,
    /// paymentTerms, …, salesCreditMemos, salesInvoices, salesOrders, …). Of this
    /// simulator's sets, contacts, itemVariants, locations, itemLedgerEntries and the line
    /// sets are not on it; customerPaymentJournals and journals are, customerPayments and
    /// taxAreas are not.
    pub(crate) fn webhooks_supported(self) -> bool {
        matches!(
            self,
            Self::Account
                | Self::CustomerPaymentJournal
                | Self::Journal
                | Self::Customer
                | Self::Item
                | Self::ItemCategory
                | Self::PaymentMethod
                | Self::PaymentTerm
                | Self::SalesCreditMemo
                | Self::SalesInvoice
                | Self::SalesOrder
        )
    }

    /// Whether the set's API page passes the rules the same docs page gives for when webhooks
    /// are not supported (temporary source table, composite key, system table, API query, Job
    /// Queue Entry), which a tenant's `webhookSupportedResources` reflects: the listed sets,
    /// and also contacts, itemVariants, locations and itemLedgerEntries (BCApps
    /// `APIV2Contacts`/`APIV2ItemVariants`/`APIV2Locations`/`APIV2ItemLedgerEntries.Page.al`:
    /// a real source table, `ODataKeyFields = SystemId`). Never the line sets: their pages
    /// have `SourceTableTemporary = true` (`APIV2SalesOrderLines.Page.al`,
    /// `APIV2SalesInvoiceLines.Page.al`, source "Sales Invoice Line Aggregate"); a line's
    /// change notifies its header instead (same docs page). customerPayments passes
    /// (`APIV2CustomerPayments.Page.al`: table "Gen. Journal Line", `ODataKeyFields =
    /// SystemId`); taxAreas does not (`SourceTableTemporary = true`).
    pub(crate) fn webhooks_supported_by_page_rules(self) -> bool {
        self.webhooks_supported()
            || matches!(
                self,
                Self::Contact
                    | Self::ItemVariant
                    | Self::Location
                    | Self::ItemLedgerEntry
                    | Self::CustomerPayment
            )
    }
}

/// Escapes a caption into a JSON member name (`Non-Inventory` → `Non_x002D_Inventory`).
pub(crate) fn escape_member(caption: &str) -> String {
    let mut out = String::new();
    for ch in caption.chars() {
        if ch.is_ascii_alphanumeric() || ch == '_' {
            out.push(ch);
        } else {
            let _ = write!(out, "_x{:04X}_", u32::from(ch));
        }
    }
    out
}

/// Decodes `_xHHHH_` escapes back to the caption.
pub(crate) fn unescape_member(member: &str) -> String {
    let mut out = String::new();
    let mut rest = member;
    while let Some(at) = rest.find("_x") {
        let code = rest
            .get(at + 2..at + 7)
            .filter(|c| c.ends_with('_'))
            .and_then(|c| u32::from_str_radix(&c[..4], 16).ok())
            .and_then(char::from_u32);
        out.push_str(&rest[..at]);
        if let Some(ch) = code {
            out.push(ch);
            rest = &rest[at + 7..];
        } else {
            out.push_str("_x");
            rest = &rest[at + 2..];
        }
    }
    out.push_str(rest);
    out
}

/// Normalises an input enum value (escaped member or plain caption) to the member name.
pub(crate) fn enum_member(members: &[&str], input: &str) -> Option<String> {
    let candidate = if input.contains("_x") {
        input.to_owned()
    } else {
        escape_member(input)
    };
    members
        .iter()
        .find(|m| **m == candidate)
        .map(|m| (*m).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_accept_escaped_and_plain_input() {
        assert_eq!(
            enum_member(ITEM_TYPE, "Non-Inventory").as_deref(),
            Some("Non_x002D_Inventory")
        );
        assert_eq!(
            enum_member(ITEM_TYPE, "Non_x002D_Inventory").as_deref(),
            Some("Non_x002D_Inventory")
        );
        assert_eq!(
            enum_member(CUSTOMER_BLOCKED, " ").as_deref(),
            Some("_x0020_")
        );
        assert_eq!(enum_member(ITEM_TYPE, "Gadget"), None);
        assert_eq!(
            unescape_member("Positive_x0020_Adjmt_x002E_"),
            "Positive Adjmt."
        );
    }

    #[test]
    fn every_set_has_an_id_and_a_key_field() {
        for e in Entity::ALL {
            assert!(e.field("id").is_some(), "{e:?}");
            assert!(e.field(e.key_field()).is_some(), "{e:?}");
            assert_eq!(Entity::from_set(e.set_name()), Some(e));
        }
    }
}
