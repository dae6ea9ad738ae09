//! Validation of request bodies before anything is sent: unknown and read-only properties,
//! field types and lengths, GUID references, enum members, required fields and deep inserts,
//! per entity set, as api-notes §2 lists them (MaxLengths from the captured v2.0 `$metadata`,
//! R: tests/files/metadata.xml; editability from A: APIV2*.Page.al). A failure names entity,
//! field and rule. It must not do IO or change the body.

use std::fmt;

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::entity::EntitySet;
use crate::enums::{CustomerBlocked, DocumentStatus, ItemType, LineType, PartyType, unescape};

/// Why a body was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rule {
    /// Longer than BC's MaxLength.
    TooLong {
        /// BC's limit, in characters.
        max: usize,
        /// The value's length.
        actual: usize,
    },
    /// A required field is missing or blank.
    Required,
    /// One of several fields is required (`customerNumber` or `customerId`).
    RequiredOneOf(&'static [&'static str]),
    /// Not a property of the entity.
    UnknownProperty,
    /// BC does not accept this property in this operation.
    ReadOnly,
    /// A GUID reference that is not a GUID.
    NotAGuid,
    /// Not a member of the enum.
    NotAnOption(&'static [&'static str]),
    /// Wrong JSON type.
    WrongType(&'static str),
    /// A nested collection in a PATCH: BC has no deep update (api-notes §3).
    DeepUpdate,
    /// The entity set is read-only.
    ReadOnlySet,
    /// A `$batch` beyond what one request may carry.
    BatchTooLarge {
        /// BC's limit.
        max: usize,
        /// Operations asked for.
        actual: usize,
    },
    /// Anything else, spelled out.
    Other(String),
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLong { max, actual } => {
                write!(f, "is {actual} characters long, BC allows at most {max}")
            }
            Self::Required => f.write_str("is required and must not be blank"),
            Self::RequiredOneOf(fields) => write!(f, "one of {} is required", fields.join(", ")),
            Self::UnknownProperty => f.write_str("is not a property of this entity"),
            Self::ReadOnly => f.write_str("is read-only in this operation"),
            Self::NotAGuid => f.write_str("is not a GUID"),
            Self::NotAnOption(options) => write!(f, "is not one of {}", options.join(", ")),
            Self::WrongType(expected) => write!(f, "must be {expected}"),
            Self::DeepUpdate => f.write_str("cannot be patched: BC has no deep update"),
            Self::ReadOnlySet => f.write_str("cannot be written: the entity set is read-only"),
            Self::BatchTooLarge { max, actual } => {
                write!(
                    f,
                    "has {actual} operations, one atomic $batch allows at most {max}"
                )
            }
            Self::Other(text) => f.write_str(text),
        }
    }
}

/// A body refused before sending.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{entity}.{field} {rule}")]
pub struct ValidationError {
    /// The entity set (or `$filter`, `$batch`).
    pub entity: String,
    /// The field, as a path for nested lines (`salesOrderLines[2].description`).
    pub field: String,
    /// What is wrong.
    pub rule: Rule,
}

impl ValidationError {
    pub(crate) fn new(entity: &str, field: &str, rule: Rule) -> Self {
        Self {
            entity: entity.to_owned(),
            field: field.to_owned(),
            rule,
        }
    }
}

/// Create (POST) or update (PATCH).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// POST.
    Create,
    /// PATCH.
    Update,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
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
enum Access {
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

fn field(set: EntitySet, name: &str) -> Option<(Kind, Access)> {
    tables(set)
        .into_iter()
        .flatten()
        .find(|(n, ..)| *n == name)
        .map(|(_, kind, access)| (*kind, *access))
}

/// The BC MaxLength of a text field, when it has one (for callers that truncate on purpose).
pub fn max_length(set: EntitySet, name: &str) -> Option<usize> {
    match field(set, name) {
        Some((Kind::Text(max), _)) => Some(max),
        _ => None,
    }
}

/// Checks a create or update body against BC's rules for the set.
pub fn validate(
    set: EntitySet,
    operation: Operation,
    body: &Map<String, Value>,
) -> Result<(), ValidationError> {
    check(set, operation, body, "", None)
}

/// Like [`validate`], for a collection below a parent entity (`items({id})/itemVariants`):
/// the parent supplies its own reference.
pub fn validate_under(
    parent: Option<EntitySet>,
    set: EntitySet,
    operation: Operation,
    body: &Map<String, Value>,
) -> Result<(), ValidationError> {
    check(set, operation, body, "", parent)
}

fn check(
    set: EntitySet,
    operation: Operation,
    body: &Map<String, Value>,
    prefix: &str,
    parent: Option<EntitySet>,
) -> Result<(), ValidationError> {
    let fail = |name: &str, rule: Rule| {
        Err(ValidationError::new(
            set.as_str(),
            &format!("{prefix}{name}"),
            rule,
        ))
    };
    if set.is_read_only() {
        return fail("", Rule::ReadOnlySet);
    }
    for (name, value) in body {
        if name.starts_with("@odata.") {
            continue;
        }
        let Some((kind, access)) = field(set, name) else {
            return fail(name, Rule::UnknownProperty);
        };
        match (access, operation) {
            (Access::ReadOnly, _) | (Access::UpdateOnly, Operation::Create) => {
                return fail(name, Rule::ReadOnly);
            }
            _ => {}
        }
        if name == "id" && operation == Operation::Update {
            // A.: 'The "id" cannot be changed.'
            return fail(name, Rule::ReadOnly);
        }
        if let Err(rule) = check_value(kind, value) {
            return fail(name, rule);
        }
        if let (Kind::Lines(line_set), Value::Array(lines)) = (kind, value) {
            if operation == Operation::Update {
                return fail(name, Rule::DeepUpdate);
            }
            for (i, line) in lines.iter().enumerate() {
                let Some(line) = line.as_object() else {
                    return fail(&format!("{name}[{i}]"), Rule::WrongType("an object"));
                };
                check(
                    line_set,
                    Operation::Create,
                    line,
                    &format!("{prefix}{name}[{i}]."),
                    Some(set),
                )
                .map_err(|mut e| {
                    set.as_str().clone_into(&mut e.entity);
                    e
                })?;
            }
        }
    }
    check_required(set, operation, body, parent).or_else(|(name, rule)| fail(name, rule))
}

fn check_value(kind: Kind, value: &Value) -> Result<(), Rule> {
    match kind {
        Kind::Text(max) => {
            let text = value.as_str().ok_or(Rule::WrongType("a string"))?;
            let actual = text.chars().count();
            if actual > max {
                return Err(Rule::TooLong { max, actual });
            }
        }
        Kind::Guid => {
            let text = value.as_str().ok_or(Rule::WrongType("a GUID string"))?;
            if text.len() != 36 || Uuid::parse_str(text).is_err() {
                return Err(Rule::NotAGuid);
            }
        }
        Kind::Bool => {
            value.as_bool().ok_or(Rule::WrongType("true or false"))?;
        }
        Kind::Number => {
            value.as_f64().ok_or(Rule::WrongType("a number"))?;
        }
        Kind::Date => {
            let text = value.as_str().ok_or(Rule::WrongType("a date string"))?;
            text.parse::<jiff::civil::Date>()
                .map_err(|_| Rule::WrongType("a date (YYYY-MM-DD)"))?;
        }
        Kind::DateTime => {
            let text = value
                .as_str()
                .ok_or(Rule::WrongType("a date-time string"))?;
            text.parse::<jiff::Timestamp>()
                .map_err(|_| Rule::WrongType("an RFC 3339 date-time"))?;
        }
        Kind::Enum(options) => {
            let text = value
                .as_str()
                .ok_or(Rule::WrongType("an enum member string"))?;
            let plain = unescape(text);
            if !options.contains(&plain.as_ref()) {
                return Err(Rule::NotAnOption(options));
            }
        }
        Kind::Lines(_) => {
            value
                .as_array()
                .ok_or(Rule::WrongType("an array of lines"))?;
        }
    }
    Ok(())
}

fn is_blank(body: &Map<String, Value>, name: &str) -> bool {
    match body.get(name) {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => {
            s.trim().is_empty() || s == "00000000-0000-0000-0000-000000000000"
        }
        Some(_) => false,
    }
}

fn check_required(
    set: EntitySet,
    operation: Operation,
    body: &Map<String, Value>,
    parent: Option<EntitySet>,
) -> Result<(), (&'static str, Rule)> {
    // 'The blank "displayName" is not allowed.' also applies to PATCH (A: APIV2Customers).
    if matches!(
        set,
        EntitySet::Customers | EntitySet::Items | EntitySet::Contacts
    ) && (operation == Operation::Create || body.contains_key("displayName"))
        && is_blank(body, "displayName")
    {
        return Err(("displayName", Rule::Required));
    }
    if operation == Operation::Update {
        return Ok(());
    }
    match set {
        EntitySet::SalesOrders | EntitySet::SalesInvoices | EntitySet::SalesCreditMemos
            if is_blank(body, "customerNumber") && is_blank(body, "customerId") =>
        {
            // 'A "customerNumber" or a "customerId" must be provided.' (A: APIV2SalesCreditMemos)
            Err((
                "customerNumber",
                Rule::RequiredOneOf(&["customerNumber", "customerId"]),
            ))
        }
        EntitySet::ItemVariants if is_blank(body, "code") => Err(("code", Rule::Required)),
        EntitySet::ItemVariants
            if parent != Some(EntitySet::Items)
                && is_blank(body, "itemId")
                && is_blank(body, "itemNumber") =>
        {
            Err(("itemId", Rule::RequiredOneOf(&["itemId", "itemNumber"])))
        }
        EntitySet::ItemCategories
        | EntitySet::PaymentTerms
        | EntitySet::PaymentMethods
        | EntitySet::Locations
            if is_blank(body, "code") =>
        {
            Err(("code", Rule::Required))
        }
        EntitySet::SalesOrderLines
        | EntitySet::SalesInvoiceLines
        | EntitySet::SalesCreditMemoLines => {
            let line_type = body.get("lineType").and_then(Value::as_str).map(unescape);
            let is_item = line_type.as_deref().is_none_or(|t| t == "Item");
            if is_item && is_blank(body, "itemId") && is_blank(body, "lineObjectNumber") {
                Err((
                    "lineObjectNumber",
                    Rule::RequiredOneOf(&["itemId", "lineObjectNumber"]),
                ))
            } else {
                Ok(())
            }
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            other => panic!("not an object: {other}"),
        }
    }

    fn err(set: EntitySet, op: Operation, value: Value) -> ValidationError {
        validate(set, op, &body(value)).unwrap_err()
    }

    #[test]
    fn fixture_requests_pass() {
        for (set, file) in [
            (EntitySet::Customers, "customer.create.request.json"),
            (EntitySet::Items, "item.create.request.json"),
            (EntitySet::ItemVariants, "itemVariant.create.request.json"),
            (
                EntitySet::ItemCategories,
                "itemCategory.create.request.json",
            ),
            (EntitySet::SalesOrders, "salesOrder.create.request.json"),
            (
                EntitySet::SalesOrders,
                "salesOrder.deepInsert.request.issue23150.json",
            ),
            (
                EntitySet::SalesInvoices,
                "salesInvoice.deepInsert.request.json",
            ),
            (
                EntitySet::SalesOrderLines,
                "salesOrderLine.create.request.json",
            ),
            (
                EntitySet::SalesInvoiceLines,
                "salesInvoiceLine.create.request.json",
            ),
        ] {
            let path = format!(
                "{}/../../tests/fixtures/business-central/{file}",
                env!("CARGO_MANIFEST_DIR")
            );
            let value: Value =
                serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
            validate(set, Operation::Create, &body(value))
                .unwrap_or_else(|e| panic!("{file}: {e}"));
        }
        validate(
            EntitySet::Customers,
            Operation::Update,
            &body(json!({"displayName": "Coho Winery Inc.", "phoneNumber": "(555) 555-1234"})),
        )
        .unwrap();
        // The real payload of GH ALAppExtensions#23028 sends the read-only `pricesIncludeTax`
        // ("Control '…' is read-only", GH dynamics365smb-devitpro-pb#618).
        let path = format!(
            "{}/../../tests/fixtures/business-central/salesOrder.deepInsert.request.issue23028.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let value: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let e = validate(EntitySet::SalesOrders, Operation::Create, &body(value)).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.rule),
            ("pricesIncludeTax", Rule::ReadOnly)
        );
    }

    #[test]
    fn lengths_from_the_api_notes() {
        let cases = [
            (EntitySet::Customers, "displayName", 100),
            (EntitySet::Customers, "addressLine1", 100),
            (EntitySet::Customers, "addressLine2", 50),
            (EntitySet::Customers, "city", 30),
            (EntitySet::Customers, "state", 30),
            (EntitySet::Customers, "country", 10),
            (EntitySet::Customers, "postalCode", 20),
            (EntitySet::Customers, "phoneNumber", 30),
            (EntitySet::Customers, "email", 80),
            (EntitySet::Customers, "website", 80),
            (EntitySet::Customers, "number", 20),
            (EntitySet::Items, "displayName", 100),
            (EntitySet::Items, "displayName2", 50),
            (EntitySet::Items, "gtin", 14),
            (EntitySet::Items, "itemCategoryCode", 20),
            (EntitySet::ItemVariants, "code", 10),
            (EntitySet::ItemVariants, "description", 100),
            (EntitySet::ItemCategories, "code", 20),
            (EntitySet::SalesOrders, "externalDocumentNumber", 35),
            (EntitySet::SalesInvoices, "externalDocumentNumber", 35),
            (EntitySet::SalesCreditMemos, "externalDocumentNumber", 35),
        ];
        for (set, name, max) in cases {
            assert_eq!(max_length(set, name), Some(max), "{set}.{name}");
            let mut b = Map::new();
            b.insert(name.to_owned(), Value::String("x".repeat(max + 1)));
            let e = validate(set, Operation::Update, &b).unwrap_err();
            assert_eq!(e.field, name);
            assert_eq!(
                e.rule,
                Rule::TooLong {
                    max,
                    actual: max + 1
                }
            );
            b.insert(name.to_owned(), Value::String("é".repeat(max)));
            if name != "displayName" {
                validate(set, Operation::Update, &b).unwrap();
            }
        }
    }

    #[test]
    fn rules_name_entity_field_and_rule() {
        let e = err(
            EntitySet::Customers,
            Operation::Create,
            json!({"email": "a@b.c"}),
        );
        assert_eq!(
            (e.entity.as_str(), e.field.as_str(), &e.rule),
            ("customers", "displayName", &Rule::Required)
        );
        assert_eq!(
            e.to_string(),
            "customers.displayName is required and must not be blank"
        );

        let e = err(
            EntitySet::Items,
            Operation::Update,
            json!({"displayName": "  "}),
        );
        assert_eq!(e.rule, Rule::Required);

        let e = err(
            EntitySet::SalesOrders,
            Operation::Create,
            json!({"externalDocumentNumber": "1"}),
        );
        assert_eq!(
            e.rule,
            Rule::RequiredOneOf(&["customerNumber", "customerId"])
        );

        let e = err(
            EntitySet::Customers,
            Operation::Update,
            json!({"paymentTermsId": "not-a-guid"}),
        );
        assert_eq!(
            (e.field.as_str(), e.rule),
            ("paymentTermsId", Rule::NotAGuid)
        );

        let e = err(
            EntitySet::Items,
            Operation::Update,
            json!({"type": "Gadget"}),
        );
        assert!(matches!(e.rule, Rule::NotAnOption(_)));
        validate(
            EntitySet::Items,
            Operation::Update,
            &body(json!({"type": "Non_x002D_Inventory"})),
        )
        .unwrap();
        validate(
            EntitySet::Items,
            Operation::Update,
            &body(json!({"type": "Non-Inventory"})),
        )
        .unwrap();
        validate(
            EntitySet::Customers,
            Operation::Update,
            &body(json!({"blocked": "_x0020_"})),
        )
        .unwrap();

        let e = err(
            EntitySet::Customers,
            Operation::Update,
            json!({"balanceDue": 3}),
        );
        assert_eq!(e.rule, Rule::ReadOnly);
        let e = err(
            EntitySet::Customers,
            Operation::Update,
            json!({"favouriteColour": "red"}),
        );
        assert_eq!(e.rule, Rule::UnknownProperty);
        let e = err(
            EntitySet::Items,
            Operation::Create,
            json!({"displayName": "x", "inventory": 3}),
        );
        assert_eq!((e.field.as_str(), e.rule), ("inventory", Rule::ReadOnly));
        validate(
            EntitySet::Items,
            Operation::Update,
            &body(json!({"inventory": 3})),
        )
        .unwrap();
        let e = err(
            EntitySet::Items,
            Operation::Update,
            json!({"unitPrice": "12.5"}),
        );
        assert_eq!(e.rule, Rule::WrongType("a number"));
        let e = err(EntitySet::ItemLedgerEntries, Operation::Create, json!({}));
        assert_eq!(e.rule, Rule::ReadOnlySet);
    }

    #[test]
    fn deep_inserts_are_checked_line_by_line_and_deep_updates_refused() {
        let e = err(
            EntitySet::SalesOrders,
            Operation::Create,
            json!({"customerNumber": "C00010", "salesOrderLines": [
                {"lineType": "Item", "lineObjectNumber": "1000", "quantity": 1},
                {"lineType": "Item", "quantity": 1}
            ]}),
        );
        assert_eq!(e.entity, "salesOrders");
        assert_eq!(e.field, "salesOrderLines[1].lineObjectNumber");
        let e = err(
            EntitySet::SalesOrders,
            Operation::Create,
            json!({"customerNumber": "C00010", "salesOrderLines": [
                {"lineObjectNumber": "1000", "description": "x".repeat(101)}
            ]}),
        );
        assert_eq!(e.field, "salesOrderLines[0].description");
        let e = err(
            EntitySet::SalesOrders,
            Operation::Update,
            json!({"salesOrderLines": []}),
        );
        assert_eq!(e.rule, Rule::DeepUpdate);
        let e = err(
            EntitySet::SalesInvoices,
            Operation::Create,
            json!({"customerId": "f3a5738a-44e3-ea11-bb43-000d3a2feca1", "salesOrderLines": []}),
        );
        assert_eq!(e.rule, Rule::UnknownProperty);
    }
}
