//! Validation of request bodies before anything is sent: unknown and read-only properties,
//! field types and lengths, GUID references, enum members, required fields and deep inserts,
//! per entity set, as api-notes §2 lists them (MaxLengths from the captured v2.0 `$metadata`,
//! R: tests/files/metadata.xml; editability from A: APIV2*.Page.al). A failure names entity,
//! field and rule. It must not do IO or change the body.

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::entity::EntitySet;
use crate::enums::unescape;
pub use crate::error::{Rule, ValidationError};

mod fields;

use fields::{Access, Kind, field};

/// Create (POST) or update (PATCH).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// POST.
    Create,
    /// PATCH.
    Update,
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
