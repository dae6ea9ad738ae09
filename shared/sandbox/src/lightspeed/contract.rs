//! Structural comparison of a simulator response with a real or documented payload: same
//! keys, same value types (strings everywhere), and the same one-vs-many behaviour
//! (a wrapper with one element is an object, with several an array, empty is `""`). Used by
//! the contract tests; it compares shapes only, never values.

use serde_json::Value;

/// Keys of the expected payload the comparison may skip (relations the simulator does not
/// model), as paths like `Item.ItemShops.ItemShop.m` or bare key names.
#[derive(Debug, Clone, Default)]
pub struct ShapeOptions {
    pub ignore: Vec<String>,
}

fn is_relation(key: &str) -> bool {
    key.starts_with(|c: char| c.is_ascii_uppercase())
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Every place where `actual` differs in shape from `expected`. Empty means compatible.
pub fn shape_mismatches(expected: &Value, actual: &Value, options: &ShapeOptions) -> Vec<String> {
    let mut out = Vec::new();
    compare(expected, actual, "", false, options, &mut out);
    out.extend(quirk_violations(actual));
    out
}

fn ignored(path: &str, key: &str, options: &ShapeOptions) -> bool {
    let full = if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    };
    options.ignore.iter().any(|i| i == key || *i == full)
}

fn compare(
    expected: &Value,
    actual: &Value,
    path: &str,
    in_wrapper: bool,
    options: &ShapeOptions,
    out: &mut Vec<String>,
) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (key, ev) in e {
                if ignored(path, key, options) {
                    continue;
                }
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                let Some(av) = a.get(key) else {
                    out.push(format!("missing key {child}"));
                    continue;
                };
                if is_relation(key) && (ev == "" || av == "") {
                    // An empty relation is "" on either side; the data differ, not the shape.
                    if !(av.is_string() || av.is_object()) || !(ev.is_string() || ev.is_object()) {
                        out.push(format!(
                            "{child}: relation is {} (expected \"\" or an object)",
                            kind(av)
                        ));
                    }
                    continue;
                }
                let one_or_many = in_wrapper_key(key, e) || key.ends_with("Values");
                compare(ev, av, &child, one_or_many, options, out);
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if let (Some(ef), Some(af)) = (e.first(), a.first()) {
                compare(ef, af, &format!("{path}[0]"), false, options, out);
            }
        }
        (Value::Object(_), Value::Array(a)) | (Value::Array(a), Value::Object(_)) if in_wrapper => {
            // One-vs-many: the data hold a different number of elements. Compare one element.
            let (e_first, a_first) = match (expected, actual) {
                (Value::Array(e), Value::Object(_)) => (e.first().cloned(), Some(actual.clone())),
                _ => (Some(expected.clone()), a.first().cloned()),
            };
            if let (Some(ef), Some(af)) = (e_first, a_first) {
                compare(&ef, &af, &format!("{path}[0]"), false, options, out);
            }
        }
        (Value::String(_), Value::Array(_)) | (Value::Array(_), Value::String(_)) if in_wrapper => {
            // `attribute1Values`: a string for one value, an array for several.
        }
        (e, a) if kind(e) == kind(a) => {}
        (e, a) => out.push(format!(
            "{}: expected {}, got {}",
            if path.is_empty() { "(root)" } else { path },
            kind(e),
            kind(a)
        )),
    }
}

/// Whether `key` sits where one-or-many applies: the only key of a wrapper object, or the
/// entity key of a list response (next to `@attributes`).
fn in_wrapper_key(key: &str, parent: &serde_json::Map<String, Value>) -> bool {
    is_relation(key) && (parent.len() == 1 || parent.contains_key("@attributes"))
}

/// Places where a value breaks the API's own rules: a non-string scalar, an empty array, or
/// an array of exactly one element (the API sends an object then).
pub fn quirk_violations(value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(value, "", &mut out);
    out
}

fn walk(value: &Value, path: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(m) => {
            for (k, v) in m {
                let child = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk(v, &child, out);
            }
        }
        Value::Array(a) => {
            if a.is_empty() {
                out.push(format!("{path}: empty array (the API sends \"\")"));
            }
            if a.len() == 1 {
                out.push(format!("{path}: array of one (the API sends an object)"));
            }
            for (n, v) in a.iter().enumerate() {
                walk(v, &format!("{path}[{n}]"), out);
            }
        }
        Value::String(_) => {}
        other => out.push(format!(
            "{path}: {} scalar (the API sends strings)",
            kind(other)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn one_vs_many_is_compatible_but_wrong_types_are_not() {
        let expected = json!({"Sale": {"saleID": "1", "SaleLines": {"SaleLine": {"a": "1"}}}});
        let actual =
            json!({"Sale": {"saleID": "2", "SaleLines": {"SaleLine": [{"a": "1"}, {"a": "2"}]}}});
        assert!(shape_mismatches(&expected, &actual, &ShapeOptions::default()).is_empty());
        let wrong =
            json!({"Sale": {"saleID": 2, "SaleLines": {"SaleLine": [{"b": "1"}, {"b": "2"}]}}});
        let m = shape_mismatches(&expected, &wrong, &ShapeOptions::default());
        assert!(m.iter().any(|x| x.contains("Sale.saleID")), "{m:?}");
        assert!(
            m.iter()
                .any(|x| x.contains("missing key Sale.SaleLines.SaleLine[0].a")),
            "{m:?}"
        );
    }

    #[test]
    fn arrays_of_one_and_empty_arrays_are_violations() {
        let v = json!({"X": {"Y": [{"a": "1"}]}, "Z": []});
        assert_eq!(quirk_violations(&v).len(), 2);
    }

    #[test]
    fn empty_relations_match_any_content() {
        let expected = json!({"Phones": ""});
        let actual = json!({"Phones": {"ContactPhone": {"number": "1"}}});
        assert!(shape_mismatches(&expected, &actual, &ShapeOptions::default()).is_empty());
    }
}
