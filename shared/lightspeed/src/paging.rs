//! Pages of R-Series list responses: the records (raw JSON exactly as returned, plus the
//! decoded model or its decode error), and the `@attributes.next` link to follow verbatim
//! (api-notes §2.4). A page with one record has it as an object, an empty page has no entity
//! key at all (§2.7); both come out as plain lists here. Pure: the fetching is the client's.

use serde_json::Value;

use crate::json::DecodeError;
use crate::model::Resource;

/// Where a page comes from: the first page of a query, or a `next` link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageRequest {
    /// The first page of a query.
    First(crate::query::Query),
    /// A `next` (or `previous`) URL, used exactly as the API gave it.
    Link(String),
}

impl From<crate::query::Query> for PageRequest {
    fn from(q: crate::query::Query) -> Self {
        PageRequest::First(q)
    }
}

/// One record: the raw JSON object as the API returned it, and its decoded form.
#[derive(Debug, Clone)]
pub struct Record<T> {
    /// The record exactly as received (carry this through queues).
    pub raw: Value,
    /// The decoded model, or why it did not decode (one bad record does not fail the page).
    pub value: Result<T, DecodeError>,
}

impl<T: Resource> Record<T> {
    /// Decodes a raw record.
    pub fn from_raw(raw: Value) -> Self {
        let value = T::from_json(&raw);
        Self { raw, value }
    }
}

/// A page of raw records.
#[derive(Debug, Clone, PartialEq)]
pub struct RawPage {
    pub records: Vec<Value>,
    /// The `next` link (`None` when `""` or absent: no more pages).
    pub next: Option<String>,
    /// The `previous` link.
    pub previous: Option<String>,
}

/// A page of records of one entity.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub records: Vec<Record<T>>,
    pub next: Option<String>,
    pub previous: Option<String>,
}

impl<T: Resource> Page<T> {
    /// Decodes every record of a raw page.
    pub fn from_raw(raw: RawPage) -> Self {
        Self {
            records: raw.records.into_iter().map(Record::from_raw).collect(),
            next: raw.next,
            previous: raw.previous,
        }
    }

    /// The decoded records, or the first decode error.
    pub fn into_values(self) -> Result<Vec<T>, DecodeError> {
        self.records.into_iter().map(|r| r.value).collect()
    }
}

fn link(attributes: Option<&Value>, name: &str) -> Option<String> {
    attributes?
        .get(name)?
        .as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Splits a list response into its records and links. `key` is the entity key (`Item`).
pub fn split_list(key: &str, mut body: Value) -> Result<RawPage, DecodeError> {
    let Value::Object(map) = &mut body else {
        return Err(DecodeError {
            entity: "response",
            path: ".".into(),
            message: "expected a JSON object".into(),
        });
    };
    let attributes = map.remove("@attributes");
    let records = match map.remove(key) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) if s.is_empty() => Vec::new(),
        Some(Value::Array(a)) => a,
        Some(one @ Value::Object(_)) => vec![one],
        Some(other) => {
            return Err(DecodeError {
                entity: "response",
                path: key.into(),
                message: format!("expected an object or an array of {key}, got {other}"),
            });
        }
    };
    Ok(RawPage {
        records,
        next: link(attributes.as_ref(), "next"),
        previous: link(attributes.as_ref(), "previous"),
    })
}

/// The single record of a `GET {Entity}/{id}.json` response.
pub fn split_one(key: &str, body: Value) -> Result<Value, DecodeError> {
    let page = split_list(key, body)?;
    let count = page.records.len();
    let mut records = page.records.into_iter();
    match (records.next(), count) {
        (Some(one), 1) => Ok(one),
        _ => Err(DecodeError {
            entity: "response",
            path: key.into(),
            message: format!("expected exactly one {key}, got {count}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn one_many_and_none() {
        let one = split_list(
            "Sale",
            json!({"@attributes": {"next": "", "previous": ""}, "Sale": {"saleID": "1"}}),
        )
        .unwrap();
        assert_eq!(one.records.len(), 1);
        assert_eq!(one.next, None);
        let many = split_list("Sale", json!({"@attributes": {"next": "https://x/y?after=abc"}, "Sale": [{"saleID": "1"}, {"saleID": "2"}]})).unwrap();
        assert_eq!(many.records.len(), 2);
        assert_eq!(many.next.as_deref(), Some("https://x/y?after=abc"));
        let none =
            split_list("Sale", json!({"@attributes": {"next": "", "previous": ""}})).unwrap();
        assert!(none.records.is_empty());
        assert!(split_list("Sale", json!({"Sale": "oops"})).is_err());
        assert!(split_one("Sale", json!({"@attributes": {"count": "1"}})).is_err());
    }
}
