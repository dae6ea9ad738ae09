//! OData query building for BC: a `$filter` builder that escapes and formats literals and
//! can only express what BC evaluates (comparisons, `and`, `or` on one field, `contains`,
//! `startswith`, `endswith`; never `in (...)`, which BC ignores without `$schemaversion=2.1`
//! and answers with the whole table — api-notes §3, GH ALAppExtensions#25734), `$select`,
//! `$expand`, `$top` and the page-size preference; and the opaque `@odata.etag`. It must not
//! do IO or know entity field lists.

use std::fmt::{self, Write as _};

use jiff::Timestamp;
use jiff::civil::Date;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Rule, ValidationError};

/// An entity's `@odata.etag` (weak, e.g. `W/"JzQ0O…"`), sent back verbatim as `If-Match`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ETag(String);

impl ETag {
    /// Wraps an etag exactly as BC sent it.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// `*`: matches any version (overwrites blindly; use only where the docs do, e.g. pictures).
    pub fn any() -> Self {
        Self("*".to_owned())
    }

    /// The header value.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ETag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A typed literal on the right of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// A string: quoted, single quotes doubled (`'O''Brien'`).
    Text(String),
    /// A GUID: bare (`id eq 8f253caa-82de-ed11-884e-6045bdac97e2`).
    Guid(Uuid),
    /// A date: bare ISO (`postingDate ge 2024-01-31`).
    Date(Date),
    /// A point in time: bare RFC 3339 UTC (`lastModifiedDateTime gt 2019-08-18T20:05:51.603Z`,
    /// D: .../v2.0/dynamics-rate-limits.md).
    DateTime(Timestamp),
    /// An integer.
    Int(i64),
    /// A decimal, plain notation.
    Decimal(Decimal),
    /// `true` / `false`.
    Bool(bool),
    /// An enum member, quoted as its JSON member name (`'Non_x002D_Inventory'`).
    Enum(String),
}

impl Literal {
    fn render(&self, out: &mut String) {
        // Writing to a String cannot fail.
        let _ = match self {
            Self::Text(text) | Self::Enum(text) => {
                write!(out, "'{}'", text.replace('\'', "''"))
            }
            Self::Guid(id) => write!(out, "{}", id.hyphenated()),
            Self::Date(date) => write!(out, "{date}"),
            Self::DateTime(ts) => write!(out, "{}", ts.strftime("%Y-%m-%dT%H:%M:%S%.fZ")),
            Self::Int(n) => write!(out, "{n}"),
            Self::Decimal(d) => write!(out, "{}", d.normalize()),
            Self::Bool(b) => write!(out, "{b}"),
        };
    }
}

impl From<&str> for Literal {
    fn from(value: &str) -> Self {
        Self::Text(value.to_owned())
    }
}
impl From<String> for Literal {
    fn from(value: String) -> Self {
        Self::Text(value)
    }
}
impl From<Uuid> for Literal {
    fn from(value: Uuid) -> Self {
        Self::Guid(value)
    }
}
impl From<Date> for Literal {
    fn from(value: Date) -> Self {
        Self::Date(value)
    }
}
impl From<Timestamp> for Literal {
    fn from(value: Timestamp) -> Self {
        Self::DateTime(value)
    }
}
impl From<i64> for Literal {
    fn from(value: i64) -> Self {
        Self::Int(value)
    }
}
impl From<i32> for Literal {
    fn from(value: i32) -> Self {
        Self::Int(value.into())
    }
}
impl From<u32> for Literal {
    fn from(value: u32) -> Self {
        Self::Int(value.into())
    }
}
impl From<Decimal> for Literal {
    fn from(value: Decimal) -> Self {
        Self::Decimal(value)
    }
}
impl From<bool> for Literal {
    fn from(value: bool) -> Self {
        Self::Bool(value)
    }
}

/// Comparison operators BC supports (D: use-filter-expressions-in-odata-uris.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `eq`
    Eq,
    /// `ne`
    Ne,
    /// `gt`
    Gt,
    /// `ge`
    Ge,
    /// `lt`
    Lt,
    /// `le`
    Le,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "eq",
            Self::Ne => "ne",
            Self::Gt => "gt",
            Self::Ge => "ge",
            Self::Lt => "lt",
            Self::Le => "le",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Compare(String, Op, Literal),
    Function(&'static str, String, String),
    And(Vec<Node>),
    Or(Vec<Node>),
}

impl Node {
    /// The single field a node filters on, if it filters on exactly one.
    fn single_field(&self) -> Option<&str> {
        match self {
            Self::Compare(field, ..) | Self::Function(_, field, _) => Some(field),
            Self::And(nodes) | Self::Or(nodes) => {
                let first = nodes.first()?.single_field()?;
                nodes
                    .iter()
                    .all(|n| n.single_field() == Some(first))
                    .then_some(first)
            }
        }
    }

    fn render(&self, out: &mut String, nested: bool) -> Result<(), String> {
        match self {
            Self::Compare(field, op, literal) => {
                check_field(field)?;
                out.push_str(field);
                out.push(' ');
                out.push_str(op.as_str());
                out.push(' ');
                literal.render(out);
            }
            Self::Function(name, field, text) => {
                check_field(field)?;
                let _ = write!(out, "{name}({field},'{}')", text.replace('\'', "''"));
            }
            Self::And(nodes) | Self::Or(nodes) => {
                let joiner = if matches!(self, Self::And(_)) {
                    " and "
                } else {
                    " or "
                };
                if nested && nodes.len() > 1 {
                    out.push('(');
                }
                for (i, node) in nodes.iter().enumerate() {
                    if i > 0 {
                        out.push_str(joiner);
                    }
                    node.render(out, true)?;
                }
                if nested && nodes.len() > 1 {
                    out.push(')');
                }
            }
        }
        Ok(())
    }
}

fn check_field(field: &str) -> Result<(), String> {
    let ok = !field.is_empty()
        && field.len() <= 80
        && field
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
        && field
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '/');
    if ok { Ok(()) } else { Err(field.to_owned()) }
}

/// A `$filter` expression BC evaluates as written.
///
/// `or` is only possible between conditions on the same field (BC refuses `or` across fields,
/// api-notes §3); there is no `in`. Field names are checked when the filter is rendered.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter(Node);

impl Filter {
    /// `field op literal`.
    pub fn compare(field: &str, op: Op, value: impl Into<Literal>) -> Self {
        Self(Node::Compare(field.to_owned(), op, value.into()))
    }
    /// `field eq literal`.
    pub fn eq(field: &str, value: impl Into<Literal>) -> Self {
        Self::compare(field, Op::Eq, value)
    }
    /// `field ne literal`.
    pub fn ne(field: &str, value: impl Into<Literal>) -> Self {
        Self::compare(field, Op::Ne, value)
    }
    /// `field gt literal`.
    pub fn gt(field: &str, value: impl Into<Literal>) -> Self {
        Self::compare(field, Op::Gt, value)
    }
    /// `field ge literal`.
    pub fn ge(field: &str, value: impl Into<Literal>) -> Self {
        Self::compare(field, Op::Ge, value)
    }
    /// `field lt literal`.
    pub fn lt(field: &str, value: impl Into<Literal>) -> Self {
        Self::compare(field, Op::Lt, value)
    }
    /// `field le literal`.
    pub fn le(field: &str, value: impl Into<Literal>) -> Self {
        Self::compare(field, Op::Le, value)
    }
    /// `contains(field,'text')`.
    pub fn contains(field: &str, text: &str) -> Self {
        Self(Node::Function(
            "contains",
            field.to_owned(),
            text.to_owned(),
        ))
    }
    /// `startswith(field,'text')`.
    pub fn starts_with(field: &str, text: &str) -> Self {
        Self(Node::Function(
            "startswith",
            field.to_owned(),
            text.to_owned(),
        ))
    }
    /// `endswith(field,'text')`.
    pub fn ends_with(field: &str, text: &str) -> Self {
        Self(Node::Function(
            "endswith",
            field.to_owned(),
            text.to_owned(),
        ))
    }

    /// `field eq v1 or field eq v2 …` — the portable spelling of `field in (…)`.
    /// `None` for an empty list (nothing can match; the caller should not ask).
    pub fn any_of<L: Into<Literal>>(
        field: &str,
        values: impl IntoIterator<Item = L>,
    ) -> Option<Self> {
        let nodes: Vec<Node> = values
            .into_iter()
            .map(|v| Node::Compare(field.to_owned(), Op::Eq, v.into()))
            .collect();
        match nodes.len() {
            0 => None,
            1 => nodes.into_iter().next().map(Self),
            _ => Some(Self(Node::Or(nodes))),
        }
    }

    /// Both conditions.
    #[must_use]
    pub fn and(self, other: Filter) -> Self {
        let mut nodes = match self.0 {
            Node::And(nodes) => nodes,
            node => vec![node],
        };
        match other.0 {
            Node::And(more) => nodes.extend(more),
            node => nodes.push(node),
        }
        Self(Node::And(nodes))
    }

    /// Either condition — only when both sides filter on the same single field.
    pub fn or(self, other: Filter) -> Result<Self, ValidationError> {
        let same = match (self.0.single_field(), other.0.single_field()) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        };
        if !same {
            return Err(ValidationError::new(
                "$filter",
                "or",
                Rule::Other("BC evaluates `or` only between conditions on one field".to_owned()),
            ));
        }
        let mut nodes = match self.0 {
            Node::Or(nodes) => nodes,
            node => vec![node],
        };
        match other.0 {
            Node::Or(more) => nodes.extend(more),
            node => nodes.push(node),
        }
        Ok(Self(Node::Or(nodes)))
    }

    /// The expression text, or a validation error naming a malformed field name.
    pub fn render(&self) -> Result<String, ValidationError> {
        let mut out = String::new();
        self.0.render(&mut out, false).map_err(|field| {
            ValidationError::new(
                "$filter",
                &field,
                Rule::Other("not a field name".to_owned()),
            )
        })?;
        Ok(out)
    }
}

/// Query options of a read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    filter: Option<Filter>,
    select: Vec<String>,
    expand: Vec<String>,
    order_by: Vec<String>,
    top: Option<u32>,
    max_page_size: Option<u32>,
}

impl Query {
    /// No options: the whole set, server-paged.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `$filter`.
    #[must_use]
    pub fn filter(mut self, filter: Filter) -> Self {
        self.filter = Some(filter);
        self
    }

    /// Adds fields to `$select`.
    #[must_use]
    pub fn select<S: Into<String>>(mut self, fields: impl IntoIterator<Item = S>) -> Self {
        self.select.extend(fields.into_iter().map(Into::into));
        self
    }

    /// Adds a navigation property to `$expand` (e.g. `salesOrderLines`).
    #[must_use]
    pub fn expand(mut self, navigation: impl Into<String>) -> Self {
        self.expand.push(navigation.into());
        self
    }

    /// Adds a sort key to `$orderby` (`Entry_No asc`): a page's own sort order otherwise
    /// applies (page 38 "Item Ledger Entries" lists the newest entry first).
    #[must_use]
    pub fn order_by(mut self, field: impl Into<String>, descending: bool) -> Self {
        let dir = if descending { "desc" } else { "asc" };
        self.order_by.push(format!("{} {dir}", field.into()));
        self
    }

    /// Sets `$top`. BC then sends no `@odata.nextLink` (GH microsoft/AL#6858): the answer is
    /// one page, cut at `n`. Use it for "the first few" lookups, never for paging.
    #[must_use]
    pub fn top(mut self, n: u32) -> Self {
        self.top = Some(n);
        self
    }

    /// Asks for smaller pages (`Prefer: odata.maxpagesize=n`, D: Server-Driven-Paging…md).
    #[must_use]
    pub fn max_page_size(mut self, n: u32) -> Self {
        self.max_page_size = Some(n);
        self
    }

    pub(crate) fn page_size_preference(&self) -> Option<u32> {
        self.max_page_size
    }

    /// The query string (without `?`), percent-encoded, `%20` for spaces.
    pub fn to_query_string(&self) -> Result<String, ValidationError> {
        let mut parts: Vec<String> = Vec::new();
        if let Some(filter) = &self.filter {
            parts.push(format!("$filter={}", encode(&filter.render()?)));
        }
        for (key, list) in [
            ("$select", &self.select),
            ("$expand", &self.expand),
            ("$orderby", &self.order_by),
        ] {
            if list.is_empty() {
                continue;
            }
            for item in list {
                if item.is_empty()
                    || !item
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_/(),=;$ ".contains(c))
                {
                    return Err(ValidationError::new(
                        key,
                        item,
                        Rule::Other("not a property name".to_owned()),
                    ));
                }
            }
            parts.push(format!("{key}={}", encode(&list.join(","))));
        }
        if let Some(top) = self.top {
            parts.push(format!("$top={top}"));
        }
        Ok(parts.join("&"))
    }
}

/// Characters escaped in query values: controls, space and everything that would end or
/// alter the value (`&`, `+` which some servers read as a space, `#`, `%`, …).
const QUERY_VALUE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'+')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// Characters escaped inside a key segment (`subscriptions('…')`, company names).
pub(crate) const PATH_VALUE: &AsciiSet = &QUERY_VALUE.add(b'/').add(b'\'');

pub(crate) fn encode(value: &str) -> String {
    utf8_percent_encode(value, QUERY_VALUE).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_formatted_and_escaped() {
        let id: Uuid = "8f253caa-82de-ed11-884e-6045bdac97e2".parse().unwrap();
        let cases = [
            (
                Filter::eq("displayName", "O'Brien & Sons"),
                "displayName eq 'O''Brien & Sons'",
            ),
            (
                Filter::eq("id", id),
                "id eq 8f253caa-82de-ed11-884e-6045bdac97e2",
            ),
            (
                Filter::ge("postingDate", Date::constant(2024, 1, 31)),
                "postingDate ge 2024-01-31",
            ),
            (
                Filter::gt(
                    "lastModifiedDateTime",
                    "2019-08-18T20:05:51.603Z".parse::<Timestamp>().unwrap(),
                ),
                "lastModifiedDateTime gt 2019-08-18T20:05:51.603Z",
            ),
            (
                Filter::gt(
                    "lastModifiedDateTime",
                    "2019-08-18T20:05:51Z".parse::<Timestamp>().unwrap(),
                ),
                "lastModifiedDateTime gt 2019-08-18T20:05:51Z",
            ),
            (Filter::gt("entryNumber", 1234_i64), "entryNumber gt 1234"),
            (
                Filter::le("unitPrice", Decimal::new(10050, 2)),
                "unitPrice le 100.5",
            ),
            (Filter::eq("blocked", false), "blocked eq false"),
            (
                Filter::eq("type", Literal::Enum("Non_x002D_Inventory".into())),
                "type eq 'Non_x002D_Inventory'",
            ),
            (Filter::contains("email", "o'b"), "contains(email,'o''b')"),
            (
                Filter::starts_with("number", "C0"),
                "startswith(number,'C0')",
            ),
        ];
        for (filter, expected) in cases {
            assert_eq!(filter.render().unwrap(), expected);
        }
    }

    #[test]
    fn and_or_compose_with_parentheses() {
        let f = Filter::any_of("number", ["A", "B"])
            .unwrap()
            .and(Filter::eq("blocked", false));
        assert_eq!(
            f.render().unwrap(),
            "(number eq 'A' or number eq 'B') and blocked eq false"
        );
        let f = Filter::eq("email", "a@x.io")
            .or(Filter::eq("email", "b@x.io"))
            .unwrap();
        assert_eq!(
            f.render().unwrap(),
            "email eq 'a@x.io' or email eq 'b@x.io'"
        );
    }

    #[test]
    fn or_across_fields_is_refused() {
        let err = Filter::eq("email", "a@x.io")
            .or(Filter::eq("number", "C00010"))
            .unwrap_err();
        assert_eq!(err.field, "or");
        assert!(Filter::any_of::<&str>("number", []).is_none());
    }

    #[test]
    fn no_in_operator_is_ever_rendered() {
        let f = Filter::any_of("number", ["1000", "1001", "1002"]).unwrap();
        let text = f.render().unwrap();
        assert!(!text.contains(" in "), "{text}");
    }

    #[test]
    fn malformed_field_names_are_refused() {
        assert!(Filter::eq("number eq 'x' or 1", "y").render().is_err());
        assert!(Filter::eq("", "y").render().is_err());
    }

    #[test]
    fn query_string_encodes_values() {
        let q = Query::new()
            .filter(Filter::eq("email", "a+b@x.io"))
            .select(["id", "number"])
            .expand("salesOrderLines")
            .top(1);
        assert_eq!(
            q.to_query_string().unwrap(),
            "$filter=email%20eq%20'a%2Bb@x.io'&$select=id,number&$expand=salesOrderLines&$top=1"
        );
    }
}
