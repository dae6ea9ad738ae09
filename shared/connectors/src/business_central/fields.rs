//! Business Central's field rules as the transforms apply them before a command travels:
//! text cut to the length BC holds, with a warning naming the field.

use lsbc_business_central::EntitySet;
use lsbc_business_central::validate::max_length;
use serde_json::{Map, Value};

/// Cuts text fields to BC's lengths for `set`, with a warning naming `object.field`.
pub fn truncate_to_bc(
    set: EntitySet,
    object: &str,
    fields: &mut Map<String, Value>,
    warnings: &mut Vec<String>,
) {
    for (name, value) in fields.iter_mut() {
        let (Some(max), Some(text)) = (max_length(set, name), value.as_str()) else {
            continue;
        };
        let count = text.chars().count();
        if count > max {
            let cut: String = text.chars().take(max).collect();
            warnings.push(format!(
                "{object}.{name} truncated to {max} characters (was {count})"
            ));
            *value = Value::String(cut);
        }
    }
}
