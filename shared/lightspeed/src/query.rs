//! Query builder for R-Series list requests (api-notes/LIGHTSPEED.md §2.4): filters as
//! `field=OP,value` with the operator and value percent-encoded (`>=` → `%3E%3D%2C`, a time
//! zone's `+` → `%2B`, because a raw `+` decodes as a space), `load_relations` as a JSON
//! array, `sort`, `archived` and `limit` (≤ 100). Owned values; it only builds strings.

use std::fmt::Write as _;

use jiff::{Timestamp, Zoned};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use rust_decimal::Decimal;

/// Everything but `A-Za-z0-9-._~` is percent-encoded, as in Lightspeed's own `next` links
/// (`timeStamp=%3E%3D%2C2021-10-05T14%3A18%3A46%2B00%3A00`, docs parameters page).
const STRICT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes one query component strictly.
pub fn encode(text: &str) -> String {
    utf8_percent_encode(text, STRICT).to_string()
}

/// The largest page the API returns (docs: `limit` 0–100, default and max 100).
pub const MAX_LIMIT: u8 = 100;

/// A filter operand, formatted as the API expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterValue(String);

impl FilterValue {
    /// The formatted text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for FilterValue {
    fn from(v: &str) -> Self {
        Self(v.to_owned())
    }
}

impl From<String> for FilterValue {
    fn from(v: String) -> Self {
        Self(v)
    }
}

impl From<u64> for FilterValue {
    fn from(v: u64) -> Self {
        Self(v.to_string())
    }
}

impl From<i64> for FilterValue {
    fn from(v: i64) -> Self {
        Self(v.to_string())
    }
}

impl From<bool> for FilterValue {
    fn from(v: bool) -> Self {
        Self(v.to_string())
    }
}

impl From<Decimal> for FilterValue {
    fn from(v: Decimal) -> Self {
        Self(v.normalize().to_string())
    }
}

/// A UTC instant, written with an explicit `+00:00` offset (seconds precision, as stored).
impl From<Timestamp> for FilterValue {
    fn from(v: Timestamp) -> Self {
        Self(v.strftime("%Y-%m-%dT%H:%M:%S+00:00").to_string())
    }
}

/// A zoned time, written with its own offset (e.g. `-04:00`).
impl From<&Zoned> for FilterValue {
    fn from(v: &Zoned) -> Self {
        Self(v.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string())
    }
}

macro_rules! id_filter_values {
    ($($t:ty),*) => {$(
        impl From<$t> for FilterValue {
            fn from(v: $t) -> Self {
                Self(v.get().to_string())
            }
        }
    )*};
}
id_filter_values!(
    crate::model::ItemId,
    crate::model::ItemMatrixId,
    crate::model::CategoryId,
    crate::model::CustomerId,
    crate::model::SaleId,
    crate::model::ShopId,
    crate::model::ItemShopId
);

/// A filter condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// `field=value`
    Eq(FilterValue),
    /// `!=`
    Ne(FilterValue),
    /// `>`
    Gt(FilterValue),
    /// `>=`
    Ge(FilterValue),
    /// `<`
    Lt(FilterValue),
    /// `<=`
    Le(FilterValue),
    /// `><` between, inclusive.
    Between(FilterValue, FilterValue),
    /// `~` like, with `%` wildcards.
    Like(String),
    /// `!~`
    NotLike(String),
    /// `IN,[a,b,…]` (at most 100 values).
    In(Vec<FilterValue>),
}

impl Condition {
    /// The decoded parameter value (`>=,2021-…`), before percent-encoding.
    pub fn raw_value(&self) -> String {
        match self {
            Condition::Eq(v) => v.0.clone(),
            Condition::Ne(v) => format!("!=,{}", v.0),
            Condition::Gt(v) => format!(">,{}", v.0),
            Condition::Ge(v) => format!(">=,{}", v.0),
            Condition::Lt(v) => format!("<,{}", v.0),
            Condition::Le(v) => format!("<=,{}", v.0),
            Condition::Between(a, b) => format!("><,{},{}", a.0, b.0),
            Condition::Like(p) => format!("~,{p}"),
            Condition::NotLike(p) => format!("!~,{p}"),
            Condition::In(vs) => format!(
                "IN,[{}]",
                vs.iter()
                    .map(|v| v.0.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        }
    }
}

/// `archived=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Archived {
    /// Only active records (the API's default).
    Exclude,
    /// Active and archived.
    Include,
    /// Archived only.
    Only,
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Asc,
    Desc,
}

/// `load_relations`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Relations {
    /// Named relations (`["ItemShops","Images"]`).
    Named(Vec<String>),
    /// `all` (the docs advise it for development only; it excludes CustomFieldValues).
    All,
}

impl Relations {
    /// How many relations this loads, for the request-cost estimate: `all` counts as 5.
    pub(crate) fn count(&self) -> usize {
        match self {
            Relations::Named(names) => names.len(),
            Relations::All => 5,
        }
    }

    /// The relation count of a `load_relations` value as sent (`all` or a JSON array);
    /// 1 when it is neither.
    pub(crate) fn count_in_param(value: &str) -> usize {
        if value == "all" {
            Relations::All.count()
        } else {
            serde_json::from_str::<Vec<String>>(value).map_or(1, |names| names.len())
        }
    }
}

/// A list query; build it with the chained methods, render it with [`Query::to_query_string`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    filters: Vec<(String, Condition)>,
    relations: Option<Relations>,
    sort: Option<(String, Direction)>,
    archived: Option<Archived>,
    limit: Option<u8>,
    extra: Vec<(String, String)>,
}

impl Query {
    /// An empty query (all active records, by primary key).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a filter on `field` (relation fields like `Contact.email` too).
    #[must_use]
    pub fn filter(mut self, field: impl Into<String>, condition: Condition) -> Self {
        self.filters.push((field.into(), condition));
        self
    }

    /// `field=value`.
    #[must_use]
    pub fn eq(self, field: impl Into<String>, value: impl Into<FilterValue>) -> Self {
        self.filter(field, Condition::Eq(value.into()))
    }

    /// `field >= value`.
    #[must_use]
    pub fn ge(self, field: impl Into<String>, value: impl Into<FilterValue>) -> Self {
        self.filter(field, Condition::Ge(value.into()))
    }

    /// `field` between `from` and `to`, inclusive.
    #[must_use]
    pub fn between(
        self,
        field: impl Into<String>,
        from: impl Into<FilterValue>,
        to: impl Into<FilterValue>,
    ) -> Self {
        self.filter(field, Condition::Between(from.into(), to.into()))
    }

    /// `field ~ pattern` (`%` wildcards).
    #[must_use]
    pub fn like(self, field: impl Into<String>, pattern: impl Into<String>) -> Self {
        self.filter(field, Condition::Like(pattern.into()))
    }

    /// Loads the named relations.
    #[must_use]
    pub fn relations<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.relations = Some(Relations::Named(
            names.into_iter().map(Into::into).collect(),
        ));
        self
    }

    /// Loads every relation (`load_relations=all`).
    #[must_use]
    pub fn all_relations(mut self) -> Self {
        self.relations = Some(Relations::All);
        self
    }

    /// Sorts by one field (only the endpoint's sortable fields are accepted by the API).
    #[must_use]
    pub fn sort(mut self, field: impl Into<String>, direction: Direction) -> Self {
        self.sort = Some((field.into(), direction));
        self
    }

    /// Which archived records to include.
    #[must_use]
    pub fn archived(mut self, archived: Archived) -> Self {
        self.archived = Some(archived);
        self
    }

    /// Page size, clamped to 1..=100.
    #[must_use]
    pub fn limit(mut self, limit: u8) -> Self {
        self.limit = Some(limit.clamp(1, MAX_LIMIT));
        self
    }

    /// Any other parameter (e.g. `itemCode`), sent percent-encoded.
    #[must_use]
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra.push((name.into(), value.into()));
        self
    }

    /// The number of relations requested (for the request-cost estimate).
    pub(crate) fn relation_count(&self) -> usize {
        self.relations.as_ref().map_or(0, Relations::count)
    }

    /// The encoded query string, without the leading `?`.
    pub fn to_query_string(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        for (field, cond) in &self.filters {
            parts.push(format!("{}={}", encode(field), encode(&cond.raw_value())));
        }
        match &self.relations {
            Some(Relations::All) => parts.push("load_relations=all".to_owned()),
            Some(Relations::Named(names)) => {
                let json = serde_json::to_string(names).unwrap_or_else(|_| "[]".to_owned());
                parts.push(format!("load_relations={}", encode(&json)));
            }
            None => {}
        }
        if let Some((field, dir)) = &self.sort {
            let sign = if *dir == Direction::Desc { "-" } else { "" };
            parts.push(format!("sort={}", encode(&format!("{sign}{field}"))));
        }
        if let Some(a) = self.archived {
            let v = match a {
                Archived::Exclude => "false",
                Archived::Include => "true",
                Archived::Only => "only",
            };
            parts.push(format!("archived={v}"));
        }
        if let Some(limit) = self.limit {
            parts.push(format!("limit={limit}"));
        }
        for (k, v) in &self.extra {
            let mut p = encode(k);
            let _ = write!(p, "={}", encode(v));
            parts.push(p);
        }
        parts.join("&")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_and_offsets_are_percent_encoded() {
        let ts: Timestamp = "2021-10-05T14:18:46Z".parse().unwrap();
        let q = Query::new().ge("timeStamp", ts);
        // Exactly the docs' example.
        assert_eq!(
            q.to_query_string(),
            "timeStamp=%3E%3D%2C2021-10-05T14%3A18%3A46%2B00%3A00"
        );
        let zoned = ts.in_tz("America/New_York").unwrap();
        let q = Query::new().filter("timeStamp", Condition::Gt((&zoned).into()));
        assert_eq!(
            q.to_query_string(),
            "timeStamp=%3E%2C2021-10-05T10%3A18%3A46-04%3A00"
        );
    }

    #[test]
    fn every_operator_renders() {
        let cases: Vec<(Condition, &str)> = vec![
            (Condition::Eq("5".into()), "5"),
            (Condition::Ne("5".into()), "%21%3D%2C5"),
            (Condition::Gt(5u64.into()), "%3E%2C5"),
            (Condition::Ge(5u64.into()), "%3E%3D%2C5"),
            (Condition::Lt(5u64.into()), "%3C%2C5"),
            (Condition::Le(5u64.into()), "%3C%3D%2C5"),
            (
                Condition::Between(1u64.into(), 9u64.into()),
                "%3E%3C%2C1%2C9",
            ),
            (Condition::Like("%shirt%".into()), "~%2C%25shirt%25"),
            (Condition::NotLike("a%".into()), "%21~%2Ca%25"),
            (
                Condition::In(vec![1u64.into(), 2u64.into(), 3u64.into()]),
                "IN%2C%5B1%2C2%2C3%5D",
            ),
        ];
        for (cond, expected) in cases {
            let q = Query::new().filter("f", cond.clone());
            assert_eq!(q.to_query_string(), format!("f={expected}"), "{cond:?}");
        }
    }

    #[test]
    fn relations_sort_archived_and_limit() {
        let q = Query::new()
            .relations(["ItemShops", "Images"])
            .sort("timeStamp", Direction::Desc)
            .archived(Archived::Only)
            .limit(250);
        assert_eq!(
            q.to_query_string(),
            "load_relations=%5B%22ItemShops%22%2C%22Images%22%5D&sort=-timeStamp&archived=only&limit=100"
        );
        assert_eq!(
            Query::new().all_relations().to_query_string(),
            "load_relations=all"
        );
        assert_eq!(
            Query::new()
                .eq("Contact.email", "zoë+1@example.com")
                .to_query_string(),
            "Contact.email=zo%C3%AB%2B1%40example.com"
        );
    }
}
