//! Comparing what a target record should be with what it is, field by field, the way
//! Business Central stores values: Code fields upper-cased, enums escaped
//! (`Non_x002D_Inventory`), GUIDs in any case, numbers as numbers. Only fields that differ
//! are sent, and nothing at all when none does.

use lsbc_business_central::enums::unescape;
use serde_json::{Map, Value};

/// Fields BC stores as Code (upper-cased on write).
const CODE_FIELDS: [&str; 13] = [
    "country",
    "currencyCode",
    "postalCode",
    "number",
    "salespersonCode",
    "itemCategoryCode",
    "baseUnitOfMeasureCode",
    "code",
    "taxGroupCode",
    "generalProductPostingGroupCode",
    "inventoryPostingGroupCode",
    "companyNumber",
    "shipToCode",
];

/// Whether `current` (from BC) already holds `desired` for field `name`.
pub fn same(name: &str, current: Option<&Value>, desired: &Value) -> bool {
    let Some(current) = current else {
        return desired.is_null() || desired.as_str() == Some("");
    };
    match (current, desired) {
        (Value::String(c), Value::String(d)) => {
            let c = unescape(c);
            let (c, d) = (c.trim(), d.trim());
            c == d
                || (CODE_FIELDS.contains(&name) || name.ends_with("Id"))
                    && c.eq_ignore_ascii_case(d)
        }
        (Value::Number(c), Value::Number(d)) => match (c.as_f64(), d.as_f64()) {
            (Some(c), Some(d)) => (c - d).abs() < 1e-9,
            _ => c == d,
        },
        (Value::Null, Value::String(d)) => d.is_empty(),
        (c, d) => c == d,
    }
}

/// The fields of `desired` whose values differ from `current`.
pub fn changes(current: &Map<String, Value>, desired: &Map<String, Value>) -> Map<String, Value> {
    desired
        .iter()
        .filter(|(name, value)| !same(name, current.get(*name), value))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn values_compare_as_bc_stores_them() {
        assert!(same("country", Some(&json!("BE")), &json!("be")));
        assert!(!same("displayName", Some(&json!("zoë")), &json!("Zoë")));
        assert!(same(
            "type",
            Some(&json!("Non_x002D_Inventory")),
            &json!("Non-Inventory")
        ));
        assert!(same(
            "paymentTermsId",
            Some(&json!("5F2C0000-0000-0000-0000-000000000001")),
            &json!("5f2c0000-0000-0000-0000-000000000001")
        ));
        assert!(same("unitPrice", Some(&json!(10.5)), &json!(10.50)));
        assert!(same("addressLine2", None, &json!("")));
        assert!(!same("addressLine2", None, &json!("Bus 3")));
        assert!(same("city", Some(&json!("Gent ")), &json!("Gent")));
    }

    #[test]
    fn only_differing_fields_are_kept() {
        let current = json!({"displayName": "A", "city": "Gent", "country": "BE"});
        let desired = json!({"displayName": "A", "city": "Brugge", "country": "be"});
        let c = changes(current.as_object().unwrap(), desired.as_object().unwrap());
        assert_eq!(Value::Object(c), json!({"city": "Brugge"}));
    }
}
