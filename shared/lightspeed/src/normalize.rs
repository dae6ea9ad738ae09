//! `normalize`: turns a raw R-Series record (or a whole response) into a predictable shape
//! for operators' jq expressions — every to-many relation wrapper becomes a plain array of
//! objects (`"ItemShops": {"ItemShop": {…}}` → `"ItemShops": [{…}]`), `""` and absent
//! to-many relations become `[]`, an empty to-one relation (`""`) becomes `null`, and the
//! one-string-or-array `attribute*Values` become arrays. Scalars stay as the API sent them
//! (strings). Pure; it never fails.

use serde_json::{Map, Value};

/// Relations that hold many records, with the entity of their elements.
const TO_MANY: &[(&str, Kind)] = &[
    ("ItemShops", Kind::ItemShop),
    ("Prices", Kind::Other),
    ("ItemPrices", Kind::Other),
    ("Images", Kind::Image),
    ("CustomFieldValues", Kind::Other),
    ("SaleLines", Kind::SaleLine),
    ("SalePayments", Kind::SalePayment),
    ("Phones", Kind::Other),
    ("Emails", Kind::Other),
    ("Addresses", Kind::Other),
    ("Websites", Kind::Other),
    ("Items", Kind::Item),
    ("ItemComponents", Kind::Other),
    ("ItemVendorNums", Kind::Other),
    ("TagRelations", Kind::Other),
    ("Tags", Kind::Other),
    ("TaxCategoryClasses", Kind::Other),
    ("SalesAccounts", Kind::Other),
    ("SaleAccounts", Kind::Other),
    ("SaleNotes", Kind::Other),
];

/// Relations that hold one record, with its entity when it has relations of its own.
const TO_ONE: &[(&str, Kind)] = &[
    ("Contact", Kind::Contact),
    ("Customer", Kind::Customer),
    ("ShipTo", Kind::ShipTo),
    ("Item", Kind::Item),
    ("ItemMatrix", Kind::ItemMatrix),
    ("Sale", Kind::Sale),
    ("Category", Kind::Other),
    ("Parent", Kind::Other),
    ("PaymentType", Kind::Other),
    ("Note", Kind::Other),
    ("TaxClass", Kind::Other),
    ("TaxCategory", Kind::Other),
    ("ItemAttributes", Kind::Other),
    ("ItemAttributeSet", Kind::Other),
    ("Shop", Kind::Other),
    ("Discount", Kind::Other),
    ("CreditAccount", Kind::Other),
    ("ItemECommerce", Kind::Other),
    ("Manufacturer", Kind::Other),
    ("ItemFee", Kind::Other),
    ("CustomerType", Kind::Other),
    ("Quote", Kind::Other),
    ("CCCharge", Kind::Other),
];

/// The kind of a record, for adding its absent to-many relations as `[]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Item,
    ItemMatrix,
    Category,
    Customer,
    Contact,
    Sale,
    SaleLine,
    SalePayment,
    ShipTo,
    ItemShop,
    Image,
    Shop,
    PaymentType,
    /// Unknown: only the relations present are normalized.
    Other,
}

impl Kind {
    /// The kind for a top-level entity key (`Item`, `Sale`, …).
    pub fn from_entity(name: &str) -> Kind {
        match name {
            "Item" => Kind::Item,
            "ItemMatrix" => Kind::ItemMatrix,
            "Category" => Kind::Category,
            "Customer" => Kind::Customer,
            "Sale" => Kind::Sale,
            "SaleLine" => Kind::SaleLine,
            "SalePayment" => Kind::SalePayment,
            "ItemShop" => Kind::ItemShop,
            "Image" => Kind::Image,
            "Shop" => Kind::Shop,
            "PaymentType" => Kind::PaymentType,
            _ => Kind::Other,
        }
    }

    /// Guesses the kind of a bare record from its primary key.
    fn guess(record: &Map<String, Value>) -> Kind {
        let has = |k: &str| record.contains_key(k);
        if has("saleLineID") {
            Kind::SaleLine
        } else if has("salePaymentID") {
            Kind::SalePayment
        } else if has("itemShopID") {
            Kind::ItemShop
        } else if has("imageID") {
            Kind::Image
        } else if has("saleID") && (has("ticketNumber") || has("calcTotal") || has("completed")) {
            Kind::Sale
        } else if has("itemID") && (has("systemSku") || has("itemType")) {
            Kind::Item
        } else if has("itemMatrixID") && !has("itemID") && has("itemAttributeSetID") {
            Kind::ItemMatrix
        } else if has("customerID") && has("firstName") {
            Kind::Customer
        } else if has("categoryID") && has("fullPathName") {
            Kind::Category
        } else if has("Emails") || has("Phones") || has("Addresses") {
            Kind::Contact
        } else if has("shipToID") {
            Kind::ShipTo
        } else if has("paymentTypeID") && has("type") {
            Kind::PaymentType
        } else if has("shopID") && has("timeZone") {
            Kind::Shop
        } else {
            Kind::Other
        }
    }

    /// To-many relations a record of this kind always has after normalization.
    fn expected(self) -> &'static [&'static str] {
        match self {
            Kind::Item => &["Prices", "ItemShops", "Images", "CustomFieldValues"],
            Kind::ItemMatrix => &["Prices", "Items", "Images", "CustomFieldValues"],
            Kind::Customer => &["CustomFieldValues"],
            Kind::Contact => &["Addresses", "Phones", "Emails", "Websites"],
            Kind::Sale => &["SaleLines", "SalePayments"],
            _ => &[],
        }
    }
}

/// Normalizes a record or a whole response (an object with `@attributes`), guessing the
/// record's kind from its primary key.
pub fn normalize(value: &Value) -> Value {
    match value {
        Value::Object(m) if m.contains_key("@attributes") => normalize_response(m),
        Value::Object(m) => Value::Object(record(m, Kind::guess(m))),
        Value::Array(a) => Value::Array(a.iter().map(normalize).collect()),
        other => other.clone(),
    }
}

/// Normalizes a record whose kind is known.
pub fn normalize_as(kind: Kind, value: &Value) -> Value {
    match value {
        Value::Object(m) => Value::Object(record(m, kind)),
        other => normalize(other),
    }
}

fn normalize_response(m: &Map<String, Value>) -> Value {
    let mut out = Map::new();
    for (k, v) in m {
        if k == "@attributes" {
            out.insert(k.clone(), v.clone());
            continue;
        }
        let kind = Kind::from_entity(k);
        let items: Vec<Value> = match v {
            Value::Array(a) => a.iter().map(|x| normalize_as(kind, x)).collect(),
            Value::Object(_) => vec![normalize_as(kind, v)],
            _ => Vec::new(),
        };
        out.insert(k.clone(), Value::Array(items));
    }
    Value::Object(out)
}

fn is_relation_key(key: &str) -> bool {
    key.starts_with(|c: char| c.is_ascii_uppercase())
}

fn lookup(table: &[(&str, Kind)], key: &str) -> Option<Kind> {
    table.iter().find(|(k, _)| *k == key).map(|(_, kind)| *kind)
}

/// A wrapper object: exactly one capitalised key holding an object or an array.
fn wrapper_inner(v: &Value) -> Option<&Value> {
    match v {
        Value::Object(m) if m.len() == 1 => m
            .iter()
            .next()
            .filter(|(k, inner)| is_relation_key(k) && (inner.is_object() || inner.is_array()))
            .map(|(_, inner)| inner),
        _ => None,
    }
}

/// Normalizes one element of a known kind, or guesses the kind when it is `Other`.
fn element(kind: Kind, x: &Value) -> Value {
    if kind == Kind::Other {
        normalize(x)
    } else {
        normalize_as(kind, x)
    }
}

fn to_list(inner: &Value, kind: Kind) -> Vec<Value> {
    let norm = |x: &Value| element(kind, x);
    match inner {
        Value::Array(a) => a.iter().map(norm).collect(),
        Value::Object(_) => vec![norm(inner)],
        _ => Vec::new(),
    }
}

fn record(m: &Map<String, Value>, kind: Kind) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, value) in m {
        let normalized = if let Some(element_kind) = lookup(TO_MANY, key) {
            match value {
                Value::Array(a) => Value::Array(to_list(&Value::Array(a.clone()), element_kind)),
                _ => Value::Array(
                    wrapper_inner(value)
                        .map_or_else(Vec::new, |inner| to_list(inner, element_kind)),
                ),
            }
        } else if let Some(one_kind) = lookup(TO_ONE, key) {
            match value {
                Value::Object(_) => element(one_kind, value),
                Value::String(s) if s.is_empty() => Value::Null,
                other => other.clone(),
            }
        } else if key.starts_with("attribute") && key.ends_with("Values") {
            match value {
                Value::String(s) if s.is_empty() => Value::Array(Vec::new()),
                Value::String(_) => Value::Array(vec![value.clone()]),
                other => other.clone(),
            }
        } else if is_relation_key(key) {
            // An unknown relation: unwrap a wrapper to an array, "" to [], recurse otherwise.
            match value {
                Value::String(s) if s.is_empty() => Value::Array(Vec::new()),
                v if wrapper_inner(v).is_some() => Value::Array(
                    wrapper_inner(v).map_or_else(Vec::new, |inner| to_list(inner, Kind::Other)),
                ),
                Value::Object(_) => normalize(value),
                other => other.clone(),
            }
        } else {
            value.clone()
        };
        out.insert(key.clone(), normalized);
    }
    for expected in kind.expected() {
        out.entry((*expected).to_owned())
            .or_insert_with(|| Value::Array(Vec::new()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wrappers_become_arrays_and_empties_become_empty_arrays() {
        let raw = json!({
            "saleID": "1", "completed": "true", "timeStamp": "2020-01-01T00:00:00+00:00",
            "SaleLines": {"SaleLine": {"saleLineID": "5", "Item": {"itemID": "3", "systemSku": "1", "Prices": {"ItemPrice": {"amount": "1"}}}}},
            "Customer": {"customerID": "2", "firstName": "Zoë", "Contact": {"Emails": "", "Phones": {"ContactPhone": [{"number": "1"}, {"number": "2"}]}}},
            "ShipTo": ""
        });
        let n = normalize(&raw);
        assert_eq!(n["SaleLines"].as_array().unwrap().len(), 1);
        assert_eq!(n["SaleLines"][0]["Item"]["Prices"][0]["amount"], "1");
        assert_eq!(n["SaleLines"][0]["Item"]["ItemShops"], json!([]));
        assert_eq!(n["SalePayments"], json!([]), "absent to-many → []");
        assert_eq!(n["Customer"]["Contact"]["Emails"], json!([]));
        assert_eq!(n["Customer"]["Contact"]["Phones"][1]["number"], "2");
        assert_eq!(n["Customer"]["Contact"]["Addresses"], json!([]));
        assert_eq!(n["ShipTo"], Value::Null);
    }

    #[test]
    fn responses_always_list_their_records() {
        let one = json!({"@attributes": {"next": ""}, "Category": {"categoryID": "1", "fullPathName": "A"}});
        assert_eq!(normalize(&one)["Category"].as_array().unwrap().len(), 1);
        let many =
            json!({"@attributes": {}, "Category": [{"categoryID": "1"}, {"categoryID": "2"}]});
        assert_eq!(normalize(&many)["Category"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn attribute_values_are_lists() {
        let m = json!({"itemMatrixID": "1", "itemAttributeSetID": "1", "attribute1Values": "White", "attribute2Values": ["S", "M"], "attribute3Values": ""});
        let n = normalize(&m);
        assert_eq!(n["attribute1Values"], json!(["White"]));
        assert_eq!(n["attribute2Values"], json!(["S", "M"]));
        assert_eq!(n["attribute3Values"], json!([]));
        assert_eq!(n["Items"], json!([]));
    }

    #[test]
    fn normalizing_twice_changes_nothing() {
        let raw = json!({"itemID": "1", "systemSku": "2", "ItemShops": {"ItemShop": {"itemShopID": "9", "qoh": "3"}}});
        let once = normalize(&raw);
        assert_eq!(normalize(&once), once);
    }
}
