//! The field tables behind validation: per entity set, each property's kind (text and its
//! MaxLength, GUID, enum members, deep-insert lines) and whether BC takes it on POST, PATCH,
//! both or neither (api-notes §2; MaxLengths from the captured v2.0 `$metadata`, editability
//! from the APIV2*.Page.al sources). Data only: the checker lives in the parent module.

use crate::entity::EntitySet;
use crate::enums::{CustomerBlocked, DocumentStatus, ItemType, LineType, PartyType};

#[derive(Debug, Clone, Copy)]
pub(super) enum Kind {
    Text(usize),
    Guid,
    Bool,
    Number,
    Date,
    DateTime,
    Enum(&'static [&'static str]),
    /// Deep-insert lines of a document.
    Lines(EntitySet),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Access {
    Write,
    ReadOnly,
    /// `Editable = false` in the page, yet BC takes the value and lets the No. Series decide
    /// (fixture error.application-dialogexception.manual-nos.json): passed through.
    ServerDecides,
    /// Accepted on PATCH only (`items.inventory`, A: APIV2Items.Page.al `UpdateInventory`).
    UpdateOnly,
}

type Field = (&'static str, Kind, Access);

use Access::{ReadOnly as RO, ServerDecides as SD, UpdateOnly as UO, Write as W};
use Kind::{Bool, Date, DateTime, Enum, Guid, Lines, Number, Text};

const CUSTOMER_TYPE: &[&str] = PartyType::CAPTIONS;
const CUSTOMER_BLOCKED: &[&str] = CustomerBlocked::CAPTIONS;
const ITEM_TYPE: &[&str] = ItemType::CAPTIONS;
const CONTACT_RELATION: &[&str] = &[
    " ",
    "Customer",
    "Vendor",
    "Bank Account",
    "Employee",
    "None",
    "Other",
    "Multiple",
];
const LINE_TYPE: &[&str] = LineType::CAPTIONS;
const ORDER_STATUS: &[&str] = &["Draft", "In Review", "Open"];
const INVOICE_STATUS: &[&str] = DocumentStatus::CAPTIONS;

// api-notes §2 "customers".
const CUSTOMERS: &[Field] = &[
    ("id", Guid, W),
    ("number", Text(20), W),
    ("displayName", Text(100), W),
    ("type", Enum(CUSTOMER_TYPE), W),
    ("addressLine1", Text(100), W),
    ("addressLine2", Text(50), W),
    ("city", Text(30), W),
    ("state", Text(30), W),
    ("country", Text(10), W),
    ("postalCode", Text(20), W),
    ("phoneNumber", Text(30), W),
    ("email", Text(80), W),
    ("website", Text(80), W),
    ("salespersonCode", Text(20), W),
    ("balanceDue", Number, RO),
    ("creditLimit", Number, W),
    ("taxLiable", Bool, W),
    ("taxAreaId", Guid, W),
    ("taxAreaDisplayName", Text(100), RO),
    ("taxRegistrationNumber", Text(20), W),
    ("currencyId", Guid, W),
    ("currencyCode", Text(10), W),
    ("paymentTermsId", Guid, W),
    ("shipmentMethodId", Guid, W),
    ("paymentMethodId", Guid, W),
    ("blocked", Enum(CUSTOMER_BLOCKED), W),
    ("lastModifiedDateTime", DateTime, RO),
];

// api-notes §2 "contacts" (lengths as on the customer table fields they mirror).
const CONTACTS: &[Field] = &[
    ("id", Guid, W),
    ("number", Text(20), W),
    ("type", Enum(CUSTOMER_TYPE), W),
    ("displayName", Text(100), W),
    ("jobTitle", Text(30), W),
    ("companyNumber", Text(20), W),
    ("companyName", Text(100), W),
    ("contactBusinessRelation", Enum(CONTACT_RELATION), RO),
    ("addressLine1", Text(100), W),
    ("addressLine2", Text(50), W),
    ("city", Text(30), W),
    ("state", Text(30), W),
    ("country", Text(10), W),
    ("postalCode", Text(20), W),
    ("phoneNumber", Text(30), W),
    ("mobilePhoneNumber", Text(30), W),
    ("email", Text(80), W),
    ("website", Text(80), W),
    ("searchName", Text(100), W),
    ("privacyBlocked", Bool, W),
    ("taxRegistrationNumber", Text(20), W),
    ("lastInteractionDate", Date, RO),
    ("lastModifiedDateTime", DateTime, RO),
];

// api-notes §2 "items".
const ITEMS: &[Field] = &[
    ("id", Guid, W),
    ("number", Text(20), W),
    ("displayName", Text(100), W),
    ("displayName2", Text(50), W),
    ("type", Enum(ITEM_TYPE), W),
    ("itemCategoryId", Guid, W),
    ("itemCategoryCode", Text(20), W),
    ("blocked", Bool, W),
    ("gtin", Text(14), W),
    ("inventory", Number, UO),
    ("unitPrice", Number, W),
    ("priceIncludesTax", Bool, W),
    ("unitCost", Number, W),
    ("taxGroupId", Guid, W),
    ("taxGroupCode", Text(20), W),
    ("baseUnitOfMeasureId", Guid, W),
    ("baseUnitOfMeasureCode", Text(10), W),
    ("generalProductPostingGroupId", Guid, W),
    ("generalProductPostingGroupCode", Text(20), W),
    ("inventoryPostingGroupId", Guid, W),
    ("inventoryPostingGroupCode", Text(20), W),
    ("lastModifiedDateTime", DateTime, RO),
];

// api-notes §2 "itemVariants".
const ITEM_VARIANTS: &[Field] = &[
    ("id", Guid, W),
    ("itemId", Guid, W),
    ("itemNumber", Text(20), W),
    ("code", Text(10), W),
    ("description", Text(100), W),
    ("lastModifiedDateTime", DateTime, RO),
];

// api-notes §2 "itemCategories".
const ITEM_CATEGORIES: &[Field] = &[
    ("id", Guid, W),
    ("code", Text(20), W),
    ("displayName", Text(100), W),
    ("lastModifiedDateTime", DateTime, RO),
];

const PAYMENT_TERMS: &[Field] = &[
    ("id", Guid, W),
    ("code", Text(10), W),
    ("displayName", Text(100), W),
    ("dueDateCalculation", Text(32), W),
    ("discountDateCalculation", Text(32), W),
    ("discountPercent", Number, W),
    ("calculateDiscountOnCreditMemos", Bool, W),
    ("lastModifiedDateTime", DateTime, RO),
];

const PAYMENT_METHODS: &[Field] = &[
    ("id", Guid, W),
    ("code", Text(10), W),
    ("displayName", Text(100), W),
    ("lastModifiedDateTime", DateTime, RO),
];

const LOCATIONS: &[Field] = &[
    ("id", Guid, W),
    ("code", Text(10), W),
    ("displayName", Text(100), W),
    ("contact", Text(100), W),
    ("addressLine1", Text(100), W),
    ("addressLine2", Text(50), W),
    ("city", Text(30), W),
    ("state", Text(30), W),
    ("country", Text(10), W),
    ("postalCode", Text(20), W),
    ("phoneNumber", Text(30), W),
    ("email", Text(80), W),
    ("website", Text(80), W),
    ("lastModifiedDateTime", DateTime, RO),
];

/// Header fields shared by orders, invoices and credit memos (api-notes §2 "salesOrders",
/// A: APIV2SalesCreditMemos.Page.al for the credit memo).
const DOCUMENT_COMMON: &[Field] = &[
    ("id", Guid, W),
    ("number", Text(20), SD),
    ("externalDocumentNumber", Text(35), W),
    ("postingDate", Date, W),
    ("customerId", Guid, W),
    ("customerNumber", Text(20), W),
    ("customerName", Text(100), RO),
    ("billToName", Text(100), RO),
    ("billToCustomerId", Guid, W),
    ("billToCustomerNumber", Text(20), W),
    ("sellToAddressLine1", Text(100), W),
    ("sellToAddressLine2", Text(50), W),
    ("sellToCity", Text(30), W),
    ("sellToCountry", Text(10), W),
    ("sellToState", Text(30), W),
    ("sellToPostCode", Text(20), W),
    ("billToAddressLine1", Text(100), RO),
    ("billToAddressLine2", Text(50), RO),
    ("billToCity", Text(30), RO),
    ("billToCountry", Text(10), RO),
    ("billToState", Text(30), RO),
    ("billToPostCode", Text(20), RO),
    ("shortcutDimension1Code", Text(20), W),
    ("shortcutDimension2Code", Text(20), W),
    ("currencyId", Guid, W),
    ("currencyCode", Text(10), W),
    ("paymentTermsId", Guid, W),
    ("shipmentMethodId", Guid, W),
    ("salesperson", Text(20), W),
    ("pricesIncludeTax", Bool, RO),
    ("discountAmount", Number, W),
    ("discountAppliedBeforeTax", Bool, RO),
    ("totalAmountExcludingTax", Number, RO),
    ("totalTaxAmount", Number, RO),
    ("totalAmountIncludingTax", Number, RO),
    ("lastModifiedDateTime", DateTime, RO),
    ("phoneNumber", Text(30), W),
    ("email", Text(80), W),
];

const SALES_ORDER_EXTRA: &[Field] = &[
    ("orderDate", Date, W),
    ("shipToName", Text(100), W),
    ("shipToContact", Text(100), W),
    ("shipToAddressLine1", Text(100), W),
    ("shipToAddressLine2", Text(50), W),
    ("shipToCity", Text(30), W),
    ("shipToCountry", Text(10), W),
    ("shipToState", Text(30), W),
    ("shipToPostCode", Text(20), W),
    ("partialShipping", Bool, W),
    ("requestedDeliveryDate", Date, W),
    ("fullyShipped", Bool, RO),
    ("status", Enum(ORDER_STATUS), RO),
    ("salesOrderLines", Lines(EntitySet::SalesOrderLines), W),
];

const SALES_INVOICE_EXTRA: &[Field] = &[
    ("invoiceDate", Date, W),
    ("dueDate", Date, W),
    ("promisedPayDate", Date, W),
    ("customerPurchaseOrderReference", Text(35), W),
    ("shipToName", Text(100), W),
    ("shipToContact", Text(100), W),
    ("shipToAddressLine1", Text(100), W),
    ("shipToAddressLine2", Text(50), W),
    ("shipToCity", Text(30), W),
    ("shipToCountry", Text(10), W),
    ("shipToState", Text(30), W),
    ("shipToPostCode", Text(20), W),
    ("orderId", Guid, RO),
    ("orderNumber", Text(20), RO),
    ("disputeStatusId", Guid, W),
    ("disputeStatus", Text(100), W),
    ("remainingAmount", Number, RO),
    ("status", Enum(INVOICE_STATUS), RO),
    ("salesInvoiceLines", Lines(EntitySet::SalesInvoiceLines), W),
];

const SALES_CREDIT_MEMO_EXTRA: &[Field] = &[
    ("creditMemoDate", Date, W),
    ("dueDate", Date, W),
    ("invoiceId", Guid, W),
    ("invoiceNumber", Text(20), W),
    ("customerReturnReasonId", Guid, W),
    ("status", Enum(INVOICE_STATUS), RO),
    (
        "salesCreditMemoLines",
        Lines(EntitySet::SalesCreditMemoLines),
        W,
    ),
];

/// Line fields shared by the three line sets (api-notes §2 "salesOrderLines").
const LINE_COMMON: &[Field] = &[
    ("id", Guid, W),
    ("documentId", Guid, W),
    ("sequence", Number, W),
    ("itemId", Guid, W),
    ("accountId", Guid, W),
    ("lineType", Enum(LINE_TYPE), W),
    ("lineObjectNumber", Text(20), W),
    ("description", Text(100), W),
    ("description2", Text(50), W),
    ("unitOfMeasureId", Guid, W),
    ("unitOfMeasureCode", Text(10), W),
    ("quantity", Number, W),
    ("unitPrice", Number, W),
    ("discountAmount", Number, W),
    ("discountPercent", Number, W),
    ("discountAppliedBeforeTax", Bool, RO),
    ("amountExcludingTax", Number, RO),
    ("taxCode", Text(20), W),
    ("taxPercent", Number, RO),
    ("totalTaxAmount", Number, RO),
    ("amountIncludingTax", Number, RO),
    ("invoiceDiscountAllocation", Number, RO),
    ("netAmount", Number, RO),
    ("netTaxAmount", Number, RO),
    ("netAmountIncludingTax", Number, RO),
    ("shipmentDate", Date, W),
    ("itemVariantId", Guid, W),
    ("locationId", Guid, W),
];

const ORDER_LINE_EXTRA: &[Field] = &[
    ("shippedQuantity", Number, RO),
    ("invoicedQuantity", Number, RO),
    ("invoiceQuantity", Number, W),
    ("shipQuantity", Number, W),
];

fn tables(set: EntitySet) -> [&'static [Field]; 2] {
    match set {
        EntitySet::Customers => [CUSTOMERS, &[]],
        EntitySet::Contacts => [CONTACTS, &[]],
        EntitySet::Items => [ITEMS, &[]],
        EntitySet::ItemVariants => [ITEM_VARIANTS, &[]],
        EntitySet::ItemCategories => [ITEM_CATEGORIES, &[]],
        EntitySet::PaymentTerms => [PAYMENT_TERMS, &[]],
        EntitySet::PaymentMethods => [PAYMENT_METHODS, &[]],
        EntitySet::Locations => [LOCATIONS, &[]],
        EntitySet::SalesOrders => [DOCUMENT_COMMON, SALES_ORDER_EXTRA],
        EntitySet::SalesInvoices => [DOCUMENT_COMMON, SALES_INVOICE_EXTRA],
        EntitySet::SalesCreditMemos => [DOCUMENT_COMMON, SALES_CREDIT_MEMO_EXTRA],
        EntitySet::SalesOrderLines => [LINE_COMMON, ORDER_LINE_EXTRA],
        EntitySet::SalesInvoiceLines | EntitySet::SalesCreditMemoLines => [LINE_COMMON, &[]],
        EntitySet::ItemLedgerEntries | EntitySet::ContactsInformation => [&[], &[]],
    }
}

pub(super) fn field(set: EntitySet, name: &str) -> Option<(Kind, Access)> {
    tables(set)
        .into_iter()
        .flatten()
        .find(|(n, ..)| *n == name)
        .map(|(_, kind, access)| (*kind, *access))
}
