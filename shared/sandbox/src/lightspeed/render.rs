//! The JSON quirks of the R-Series API, as helpers: every scalar a string, decimals without
//! trailing zeros, times with a `+00:00` offset, and relations that are `""` when empty, an
//! object when they hold one element and an array when they hold several
//! (api-notes/LIGHTSPEED.md §2.2, §2.7; fixtures `rseries_*`). No state, no HTTP.

use jiff::Timestamp;
use serde_json::{Map, Value};

/// One stored record: field name → JSON string value.
pub(crate) type Row = Map<String, Value>;

/// A string value.
#[expect(
    clippy::needless_pass_by_value,
    reason = "owned arguments keep the many row literals short"
)]
pub(crate) fn s(v: impl ToString) -> Value {
    Value::String(v.to_string())
}

/// `"true"` / `"false"`, as the API writes booleans.
pub(crate) fn flag(b: bool) -> Value {
    s(if b { "true" } else { "false" })
}

/// A fixed-point number `units × 10^-scale` without trailing zeros: `(1999, 2)` → `19.99`,
/// `(2000, 2)` → `20`, `(-50, 2)` → `-0.5` (the fixtures show `"20"`, `"0.5"`, `"11.4860025"`).
pub(crate) fn decimal(units: i128, scale: u32) -> String {
    let negative = units < 0;
    let abs = units.unsigned_abs();
    let div = 10u128.pow(scale);
    let int = abs / div;
    let mut frac = format!("{:0width$}", abs % div, width = scale as usize);
    while frac.ends_with('0') {
        frac.pop();
    }
    let sign = if negative && (int > 0 || !frac.is_empty()) {
        "-"
    } else {
        ""
    };
    if frac.is_empty() {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    }
}

/// Cents as a decimal string value.
pub(crate) fn money(cents: i64) -> Value {
    s(decimal(i128::from(cents), 2))
}

/// A time as the API writes it: `2016-02-12T06:02:35+00:00`.
pub(crate) fn time(ts: Timestamp) -> Value {
    s(format_time(ts))
}

/// The text of [`time`].
pub(crate) fn format_time(ts: Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%S+00:00").to_string()
}

/// A time truncated to whole seconds (the API's resolution).
pub(crate) fn whole_seconds(ts: Timestamp) -> Timestamp {
    Timestamp::from_second(ts.as_second()).unwrap_or(ts)
}

/// A to-many relation wrapper: `""` when empty, `{singular: {…}}` for one element,
/// `{singular: […]}` for several.
pub(crate) fn many(singular: &str, mut items: Vec<Value>) -> Value {
    match items.len() {
        0 => s(""),
        1 => {
            let mut m = Map::new();
            m.insert(singular.to_owned(), items.pop().unwrap_or(Value::Null));
            Value::Object(m)
        }
        _ => {
            let mut m = Map::new();
            m.insert(singular.to_owned(), Value::Array(items));
            Value::Object(m)
        }
    }
}

/// A string list that is a plain string for one value and an array for several
/// (`attribute1Values`: `"White"` in one docs sample, `["Black","White"]` in another).
pub(crate) fn string_or_list(values: &[String]) -> Value {
    match values {
        [] => s(""),
        [one] => s(one),
        _ => Value::Array(values.iter().map(s).collect()),
    }
}

/// Unwraps a JSON object.
pub(crate) fn object(v: Value) -> Row {
    match v {
        Value::Object(m) => m,
        _ => Row::new(),
    }
}

/// A field of a row as text (`""` when absent or not a string).
pub(crate) fn text<'a>(row: &'a Row, key: &str) -> &'a str {
    row.get(key).and_then(Value::as_str).unwrap_or("")
}

/// A field of a row as an unsigned id (`0` when absent or not numeric).
pub(crate) fn id_of(row: &Row, key: &str) -> u64 {
    text(row, key).parse().unwrap_or(0)
}

/// Parses a decimal string into units of `10^-scale`, exactly (no floats).
pub(crate) fn parse_decimal(text: &str, scale: u32) -> Option<i128> {
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if frac.len() > scale as usize {
        return None;
    }
    let int: i128 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let frac_units: i128 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<width$}", width = scale as usize)
            .parse()
            .ok()?
    };
    let units = int
        .checked_mul(10i128.pow(scale))?
        .checked_add(frac_units)?;
    Some(if negative { -units } else { units })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_drop_trailing_zeros() {
        assert_eq!(decimal(1999, 2), "19.99");
        assert_eq!(decimal(2000, 2), "20");
        assert_eq!(decimal(50, 2), "0.5");
        assert_eq!(decimal(-50, 2), "-0.5");
        assert_eq!(decimal(0, 2), "0");
        assert_eq!(decimal(114_860_025, 7), "11.4860025");
    }

    #[test]
    fn decimals_parse_exactly() {
        assert_eq!(parse_decimal("19.99", 2), Some(1999));
        assert_eq!(parse_decimal("-3", 2), Some(-300));
        assert_eq!(parse_decimal(".5", 2), Some(50));
        assert_eq!(parse_decimal("1.234", 2), None);
        assert_eq!(parse_decimal("abc", 2), None);
        assert_eq!(parse_decimal("", 2), None);
    }

    #[test]
    fn relations_are_empty_string_object_or_array() {
        assert_eq!(many("X", vec![]), s(""));
        assert_eq!(
            many("X", vec![serde_json::json!({"a":"1"})]),
            serde_json::json!({"X":{"a":"1"}})
        );
        assert_eq!(
            many(
                "X",
                vec![serde_json::json!({"a":"1"}), serde_json::json!({"a":"2"})]
            ),
            serde_json::json!({"X":[{"a":"1"},{"a":"2"}]})
        );
    }

    #[test]
    fn times_use_a_numeric_utc_offset() {
        let ts: Timestamp = "2016-02-12T06:02:35Z".parse().unwrap();
        assert_eq!(format_time(ts), "2016-02-12T06:02:35+00:00");
    }
}
