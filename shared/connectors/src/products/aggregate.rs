//! The matrix aggregate: a Lightspeed matrix travels with all its variant items as one
//! record (`matrix:<itemMatrixID>`), the matrix with its `Items` replaced by its variants.
//! The source builds it, the transform reads it.

use serde_json::{Map, Value};

/// The matrix record: the matrix with `Items` replaced by its variants.
pub(super) fn aggregate(mut matrix: Value, variants: Vec<Value>) -> Value {
    if let Value::Object(m) = &mut matrix {
        let items = Map::from_iter([("Item".to_owned(), Value::Array(variants))]);
        m.insert("Items".into(), Value::Object(items));
    }
    matrix
}

/// The raw variants of a matrix record, for tests and the transformer.
pub(super) fn variants_in(payload: &Value) -> Vec<Map<String, Value>> {
    match payload.get("Items").and_then(|i| i.get("Item")) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_object().cloned())
            .collect(),
        Some(Value::Object(one)) => vec![one.clone()],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_matrix_record_carries_its_variants_as_items() {
        let payload = aggregate(
            json!({"itemMatrixID": "9", "Items": {"Item": {"itemID": "0"}}}),
            vec![
                json!({"itemID": "5", "itemMatrixID": "9"}),
                json!({"itemID": "6", "itemMatrixID": "9"}),
            ],
        );
        let variants = variants_in(&payload);
        assert_eq!(variants.len(), 2);
        assert_eq!(variants[1]["itemID"], "6");
        assert!(variants_in(&json!({"Items": ""})).is_empty());
    }
}
