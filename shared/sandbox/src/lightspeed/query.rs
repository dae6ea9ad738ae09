//! The query language of the R-Series API as the simulator understands it: `field=OP,value`
//! filters, `sort`, `archived`, `limit`, `load_relations` and the opaque `after`/`before`
//! cursors (api-notes/LIGHTSPEED.md §2.4). It parses and compares; it holds no records.
//!
//! Query strings are decoded the way a PHP server decodes them (`+` is a space), so a client
//! that forgets to percent-encode a time-zone offset gets the error it would get for real.

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The entities the simulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Entity {
    Item,
    ItemMatrix,
    Category,
    Customer,
    CustomerType,
    Sale,
    SaleLine,
    ItemShop,
    Image,
    Shop,
    PaymentType,
    SalePayment,
    SaleVoid,
    Register,
    TaxCategory,
    TaxClass,
    Discount,
    Employee,
    InventoryLog,
}

/// A relation an entity may load: its name and whether it holds many records.
pub(crate) type RelationSpec = (&'static str, bool);

impl Entity {
    /// All entities, for listing and inspection.
    pub const ALL: [Entity; 19] = [
        Entity::Item,
        Entity::ItemMatrix,
        Entity::Category,
        Entity::Customer,
        Entity::CustomerType,
        Entity::Sale,
        Entity::SaleLine,
        Entity::ItemShop,
        Entity::Image,
        Entity::Shop,
        Entity::PaymentType,
        Entity::SalePayment,
        Entity::SaleVoid,
        Entity::Register,
        Entity::TaxCategory,
        Entity::TaxClass,
        Entity::Discount,
        Entity::Employee,
        Entity::InventoryLog,
    ];

    /// The path segment and JSON key (`Item`, `ItemShop`, …).
    pub fn name(self) -> &'static str {
        match self {
            Entity::Item => "Item",
            Entity::ItemMatrix => "ItemMatrix",
            Entity::Category => "Category",
            Entity::Customer => "Customer",
            Entity::CustomerType => "CustomerType",
            Entity::Sale => "Sale",
            Entity::SaleLine => "SaleLine",
            Entity::ItemShop => "ItemShop",
            Entity::Image => "Image",
            Entity::Shop => "Shop",
            Entity::PaymentType => "PaymentType",
            Entity::SalePayment => "SalePayment",
            Entity::SaleVoid => "SaleVoid",
            Entity::Register => "Register",
            Entity::TaxCategory => "TaxCategory",
            Entity::TaxClass => "TaxClass",
            Entity::Discount => "Discount",
            Entity::Employee => "Employee",
            Entity::InventoryLog => "InventoryLog",
        }
    }

    /// Parses a path segment (exact, as the API's routes are case-sensitive).
    pub fn from_name(name: &str) -> Option<Entity> {
        Entity::ALL.into_iter().find(|e| e.name() == name)
    }

    /// The primary key field.
    pub fn id_field(self) -> &'static str {
        match self {
            Entity::Item => "itemID",
            Entity::ItemMatrix => "itemMatrixID",
            Entity::Category => "categoryID",
            Entity::Customer => "customerID",
            Entity::CustomerType => "customerTypeID",
            Entity::Sale => "saleID",
            Entity::SaleLine => "saleLineID",
            Entity::ItemShop => "itemShopID",
            Entity::Image => "imageID",
            Entity::Shop => "shopID",
            Entity::PaymentType => "paymentTypeID",
            Entity::SalePayment => "salePaymentID",
            Entity::SaleVoid => "saleVoidID",
            Entity::Register => "registerID",
            Entity::TaxCategory => "taxCategoryID",
            Entity::TaxClass => "taxClassID",
            Entity::Discount => "discountID",
            Entity::Employee => "employeeID",
            Entity::InventoryLog => "inventoryLogID",
        }
    }

    /// Fields `sort=` accepts (the documented lists; "error lists allowed ones").
    pub(crate) fn sortable(self) -> &'static [&'static str] {
        match self {
            Entity::Item => &["itemID", "timeStamp", "description"],
            Entity::ItemMatrix => &["itemMatrixID", "timeStamp", "description"],
            Entity::Category => &["categoryID", "timeStamp", "leftNode", "rightNode"],
            Entity::Customer => &["customerID", "timeStamp", "firstName", "lastName"],
            Entity::Sale => &["saleID", "timeStamp", "completeTime", "updatetime"],
            Entity::SaleLine => &["saleLineID", "timeStamp"],
            Entity::ItemShop => &["itemShopID", "timeStamp"],
            Entity::Image => &["imageID", "timeStamp"],
            Entity::Shop => &["shopID", "timeStamp"],
            Entity::PaymentType => &["paymentTypeID"],
            Entity::CustomerType => &["customerTypeID"],
            Entity::SalePayment => &["salePaymentID", "timeStamp", "saleID"],
            Entity::SaleVoid => &["saleVoidID", "saleID"],
            Entity::Register => &["registerID"],
            Entity::TaxCategory => &["taxCategoryID", "timeStamp"],
            Entity::TaxClass => &["taxClassID", "timeStamp"],
            Entity::Discount => &["discountID", "timeStamp"],
            Entity::Employee => &["employeeID", "timeStamp"],
            Entity::InventoryLog => &["inventoryLogID", "itemID"],
        }
    }

    /// Relations `load_relations` accepts, with their cardinality (docs endpoint pages).
    pub(crate) fn relations(self) -> &'static [RelationSpec] {
        match self {
            Entity::Item => &[
                ("Category", false),
                ("TaxClass", false),
                ("ItemAttributes", false),
                ("ItemAttributes.ItemAttributeSet", false),
                ("Manufacturer", false),
                ("Note", false),
                ("Images", true),
                ("ItemShops", true),
                ("ItemVendorNums", true),
                ("ItemComponents", true),
                ("ItemECommerce", false),
                ("TagRelations", true),
                ("TagRelations.Tag", false),
                ("CustomFieldValues", true),
                ("CustomFieldValues.value", false),
                ("ItemPrices", true),
                ("ItemMatrix", false),
            ],
            Entity::ItemMatrix => &[
                ("Category", false),
                ("TaxClass", false),
                ("ItemAttributeSet", false),
                ("Manufacturer", false),
                ("Items", true),
                ("Images", true),
                ("ItemECommerce", false),
                ("CustomFieldValues", true),
            ],
            Entity::Category => &[("Parent", false)],
            Entity::Customer => &[
                ("Contact", false),
                ("CustomerType", false),
                ("CreditAccount", false),
                ("Discount", false),
                ("Note", false),
                ("TaxCategory", false),
                ("Tags", true),
                ("CustomFieldValues", true),
            ],
            Entity::Sale => &[
                ("SaleLines", true),
                ("SaleLines.Item", false),
                ("SaleLines.Note", false),
                ("SaleLines.Discount", false),
                ("SaleLines.TaxClass", false),
                ("SalePayments", true),
                ("SalePayments.PaymentType", false),
                ("SalePayments.CCCharge", false),
                ("SalePayments.SaleAccounts", true),
                ("Customer", false),
                ("Customer.Contact", false),
                ("ShipTo", false),
                ("ShipTo.Contact", false),
                ("Discount", false),
                ("TaxCategory", false),
                ("Shop", false),
                ("Quote", false),
                ("SaleNotes", true),
            ],
            Entity::SaleLine => &[
                ("Item", false),
                ("Note", false),
                ("Discount", false),
                ("TaxClass", false),
                ("Sale", false),
            ],
            Entity::SalePayment => &[
                ("PaymentType", false),
                ("CCCharge", false),
                ("SaleAccounts", true),
            ],
            Entity::TaxCategory => &[("TaxCategoryClasses", true)],
            Entity::ItemShop => &[("Item", false), ("Shop", false)],
            Entity::Image
            | Entity::PaymentType
            | Entity::CustomerType
            | Entity::SaleVoid
            | Entity::Register
            | Entity::TaxClass
            | Entity::Discount
            | Entity::InventoryLog => &[],
            Entity::Shop | Entity::Employee => &[("Contact", false)],
        }
    }
}

/// Which relations a request loads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Loads {
    pub(crate) all: bool,
    pub(crate) names: BTreeSet<String>,
}

impl Loads {
    /// Parses `load_relations`: `all` or a JSON array of names.
    pub(crate) fn parse(entity: Entity, raw: Option<&str>) -> Result<Loads, String> {
        let Some(raw) = raw else {
            return Ok(Loads::default());
        };
        if raw == "all" {
            return Ok(Loads {
                all: true,
                names: BTreeSet::new(),
            });
        }
        let names: Vec<String> = serde_json::from_str(raw).map_err(|_| {
            format!("load_relations must be 'all' or a JSON array of relation names, got {raw:?}")
        })?;
        let allowed = entity.relations();
        for name in &names {
            if !allowed.iter().any(|(n, _)| n == name) {
                return Err(format!(
                    "Invalid relation '{name}' for {}. Valid relations: {}",
                    entity.name(),
                    allowed
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        Ok(Loads {
            all: false,
            names: names.into_iter().collect(),
        })
    }

    /// Exactly one relation, by name.
    pub(crate) fn only(name: &str) -> Loads {
        Loads {
            all: false,
            names: std::iter::once(name.to_owned()).collect(),
        }
    }

    /// Whether `name` is loaded (by name or by `all`).
    pub(crate) fn has(&self, name: &str) -> bool {
        self.all || self.names.contains(name)
    }

    /// Whether `name` was asked for by name (`all` excludes CustomFieldValues — docs).
    pub(crate) fn explicit(&self, name: &str) -> bool {
        self.names.contains(name)
    }

    /// Everything loaded, for inspection.
    pub(crate) fn everything() -> Loads {
        Loads {
            all: true,
            names: ["CustomFieldValues", "SaleLines.Item", "Customer.Contact"]
                .into_iter()
                .map(String::from)
                .collect(),
        }
    }

    /// The request cost of the loaded relations in tenths of a drip: +0.1 per to-one and
    /// +0.2 per to-many relation, doubled "when potentially loading for multiple records,
    /// such as for query endpoints or on nested relations of an X-to-Many relation"; `all`
    /// "will sum the costs of all available relations for the entity", nested ones and
    /// CustomFieldValues included (developers.lightspeedhq.com/retail/introduction/relations/,
    /// changelog 2026.03.17). The doubling is applied once, not per reason (inferred).
    pub(crate) fn cost_tenths(&self, entity: Entity, list: bool) -> u32 {
        let relations = entity.relations();
        let to_many = |name: &str| relations.iter().any(|(n, many)| *n == name && *many);
        relations
            .iter()
            .filter(|(name, _)| self.all || self.names.contains(*name))
            .map(|(name, many)| {
                let base = if *many { 2 } else { 1 };
                let nested_under_many = name
                    .split_once('.')
                    .is_some_and(|(parent, _)| to_many(parent));
                if list || nested_under_many {
                    base * 2
                } else {
                    base
                }
            })
            .sum()
    }
}

/// Builds a condition from its operand.
type MakeCondition = fn(Comparable) -> Condition;

/// One filter condition. Its operands are read (as number, as time) once, when parsed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Condition {
    Eq(Comparable),
    Ne(Comparable),
    Gt(Comparable),
    Ge(Comparable),
    Lt(Comparable),
    Le(Comparable),
    Between(Comparable, Comparable),
    Like(Comparable),
    NotLike(Comparable),
    In(Vec<Comparable>),
}

impl Condition {
    /// Parses the decoded value of `field=OP,value`.
    pub(crate) fn parse(raw: &str) -> Result<Condition, String> {
        let ops: [(&str, MakeCondition); 8] = [
            (">=,", Condition::Ge),
            ("<=,", Condition::Le),
            ("!=,", Condition::Ne),
            ("!~,", Condition::NotLike),
            (">,", Condition::Gt),
            ("<,", Condition::Lt),
            ("~,", Condition::Like),
            ("=,", Condition::Eq),
        ];
        if let Some(rest) = raw.strip_prefix("><,") {
            let (a, b) = rest
                .split_once(',')
                .ok_or_else(|| format!("'><' needs two values: {raw:?}"))?;
            return Ok(Condition::Between(a.into(), b.into()));
        }
        if raw.len() >= 3 && raw[..3].eq_ignore_ascii_case("IN,") {
            let list = raw[3..].trim();
            let inner = list
                .strip_prefix('[')
                .and_then(|l| l.strip_suffix(']'))
                .ok_or_else(|| format!("IN needs a [list]: {raw:?}"))?;
            let values: Vec<Comparable> = inner
                .split(',')
                .map(|v| v.trim().trim_matches('"'))
                .filter(|v| !v.is_empty())
                .map(Comparable::from)
                .collect();
            if values.len() > 100 {
                return Err("IN accepts at most 100 values".to_owned());
            }
            return Ok(Condition::In(values));
        }
        for (prefix, make) in ops {
            if let Some(rest) = raw.strip_prefix(prefix) {
                return Ok(make(rest.into()));
            }
        }
        Ok(Condition::Eq(raw.into()))
    }

    /// The operand values, for validation.
    fn operands(&self) -> Vec<&Comparable> {
        match self {
            Condition::Eq(v)
            | Condition::Ne(v)
            | Condition::Gt(v)
            | Condition::Ge(v)
            | Condition::Lt(v)
            | Condition::Le(v)
            | Condition::Like(v)
            | Condition::NotLike(v) => vec![v],
            Condition::Between(a, b) => vec![a, b],
            Condition::In(vs) => vs.iter().collect(),
        }
    }

    /// Checks operands against the kind of field: a time field needs times with an offset.
    pub(crate) fn validate(&self, field: &str, sample: &str) -> Result<(), String> {
        let is_time =
            parse_time(sample).is_some() || field.ends_with("Time") || field == "timeStamp";
        if is_time && !matches!(self, Condition::Like(_) | Condition::NotLike(_)) {
            for v in self.operands() {
                if v.readings.time.is_none() {
                    let v = v.as_str();
                    return Err(format!(
                        "Invalid date '{v}' for field {field}: use ISO 8601 with an offset (percent-encode '+' as %2B)"
                    ));
                }
            }
        }
        Ok(())
    }

    /// Whether a field value satisfies the condition (the value is read once per call).
    pub(crate) fn matches(&self, value: &str) -> bool {
        let readings = Readings::of(value);
        let vs = |operand: &Comparable| order(value, readings, operand.as_str(), operand.readings);
        match self {
            Condition::Eq(v) => vs(v) == Ordering::Equal,
            Condition::Ne(v) => vs(v) != Ordering::Equal,
            Condition::Gt(v) => vs(v) == Ordering::Greater,
            Condition::Ge(v) => vs(v) != Ordering::Less,
            Condition::Lt(v) => vs(v) == Ordering::Less,
            Condition::Le(v) => vs(v) != Ordering::Greater,
            Condition::Between(a, b) => vs(a) != Ordering::Less && vs(b) != Ordering::Greater,
            Condition::Like(p) => like(value, p.as_str()),
            Condition::NotLike(p) => !like(value, p.as_str()),
            Condition::In(operands) => operands.iter().any(|v| vs(v) == Ordering::Equal),
        }
    }
}

/// A time as the API accepts it in filters: RFC 3339 with `Z`, `±HH:MM` or `±HHMM`.
pub(crate) fn parse_time(text: &str) -> Option<Timestamp> {
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Some(ts);
    }
    // `2016-11-01T00:00:00-0400` (the docs' searching tutorial): insert the colon.
    let bytes = text.as_bytes();
    if bytes.len() > 5 {
        let (head, tail) = text.split_at(text.len() - 5);
        if (tail.starts_with('+') || tail.starts_with('-'))
            && tail[1..].chars().all(|c| c.is_ascii_digit())
        {
            return format!("{head}{}:{}", &tail[..3], &tail[3..]).parse().ok();
        }
    }
    None
}

/// Orders two field values: numerically when both are numbers, by instant when both are
/// times, else as text.
#[cfg(test)]
pub(crate) fn compare(a: &str, b: &str) -> Ordering {
    order(a, Readings::of(a), b, Readings::of(b))
}

/// What a field value reads as besides text: a number, a time (both parsed once).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Readings {
    number: Option<f64>,
    time: Option<Timestamp>,
}

impl Readings {
    fn of(text: &str) -> Readings {
        Readings {
            number: text.parse::<f64>().ok(),
            time: parse_time(text),
        }
    }
}

/// The order of `compare`, on values whose readings are already parsed.
fn order(a: &str, ra: Readings, b: &str, rb: Readings) -> Ordering {
    if let (Some(x), Some(y)) = (ra.number, rb.number) {
        return x.partial_cmp(&y).unwrap_or(Ordering::Equal);
    }
    if let (Some(x), Some(y)) = (ra.time, rb.time) {
        return x.cmp(&y);
    }
    a.cmp(b)
}

/// A field value with its readings parsed once, for comparing it many times (sort keys,
/// filter operands, cursors). Equality is by text; readings follow from it.
#[derive(Clone)]
pub(crate) struct Comparable {
    text: String,
    readings: Readings,
}

impl Comparable {
    pub(crate) fn new(text: String) -> Comparable {
        let readings = Readings::of(&text);
        Comparable { text, readings }
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    /// Orders two values exactly as `compare` orders their texts.
    pub(crate) fn cmp_to(&self, other: &Comparable) -> Ordering {
        order(&self.text, self.readings, &other.text, other.readings)
    }
}

impl From<&str> for Comparable {
    fn from(text: &str) -> Comparable {
        Comparable::new(text.to_owned())
    }
}

impl PartialEq for Comparable {
    fn eq(&self, other: &Comparable) -> bool {
        self.text == other.text
    }
}

/// Shows the text only, as the `String` operands it replaced did.
impl fmt::Debug for Comparable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.text, f)
    }
}

/// SQL `LIKE` with `%` wildcards, case-insensitive.
fn like(value: &str, pattern: &str) -> bool {
    let value = value.to_lowercase();
    let pattern = pattern.to_lowercase();
    let parts: Vec<&str> = pattern.split('%').collect();
    if parts.len() == 1 {
        return value == pattern;
    }
    let mut rest = value.as_str();
    for (i, part) in parts.iter().enumerate() {
        if part.is_empty() {
            continue;
        }
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(pos) => rest = &rest[pos + part.len()..],
                None => return false,
            }
        }
    }
    true
}

/// `archived=false|true|only`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Archived {
    #[default]
    Exclude,
    Include,
    Only,
}

/// A keyset position: the sort value and id of a boundary record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Cursor {
    /// Sort field the cursor belongs to.
    pub(crate) f: String,
    /// Descending?
    pub(crate) d: bool,
    /// Sort value of the boundary record.
    pub(crate) v: String,
    /// Id of the boundary record (ties on the sort value are broken by id).
    pub(crate) i: u64,
}

impl Cursor {
    /// The opaque text put in `after=`/`before=`.
    pub(crate) fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// Reads a cursor back; `None` when it is not one of ours.
    pub(crate) fn decode(text: &str) -> Option<Cursor> {
        let bytes = URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

/// A parsed list request.
#[derive(Debug, Clone, Default)]
pub(crate) struct ListQuery {
    pub(crate) filters: Vec<(String, Condition)>,
    pub(crate) sort_field: Option<String>,
    pub(crate) descending: bool,
    pub(crate) archived: Archived,
    pub(crate) limit: usize,
    pub(crate) after: Option<Cursor>,
    pub(crate) before: Option<Cursor>,
    pub(crate) loads: Loads,
    /// The decoded pairs as given, minus paging ones, to rebuild `next`/`previous`.
    pub(crate) passthrough: Vec<(String, String)>,
}

/// Parameters that are not filters.
const RESERVED: [&str; 9] = [
    "load_relations",
    "sort",
    "limit",
    "archived",
    "after",
    "before",
    "count",
    "offset",
    "or",
];

impl ListQuery {
    /// Parses decoded query pairs for a list request on `entity`.
    pub(crate) fn parse(
        entity: Entity,
        pairs: &[(String, String)],
        page_cap: usize,
    ) -> Result<ListQuery, String> {
        let get = |name: &str| {
            pairs
                .iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let mut q = ListQuery {
            limit: page_cap,
            ..ListQuery::default()
        };
        q.loads = Loads::parse(entity, get("load_relations"))?;
        if let Some(sort) = get("sort") {
            let (desc, field) = match sort.strip_prefix('-') {
                Some(f) => (true, f),
                None => (false, sort),
            };
            // The sale's update time is spelled two ways in the docs; both sort.
            let canonical = entity.sortable().iter().find(|f| {
                **f == field
                    || (f.eq_ignore_ascii_case("updatetime") && field.eq_ignore_ascii_case(f))
            });
            let Some(canonical) = canonical else {
                return Err(format!(
                    "Invalid sort field '{field}' for {}. Sortable fields: {}",
                    entity.name(),
                    entity.sortable().join(", ")
                ));
            };
            q.sort_field = Some((*canonical).to_owned());
            q.descending = desc;
        }
        if let Some(limit) = get("limit") {
            let n: usize = limit
                .parse()
                .map_err(|_| format!("Invalid limit '{limit}'"))?;
            q.limit = if n == 0 { page_cap } else { n.min(page_cap) };
        }
        q.archived = match get("archived") {
            None | Some("false" | "0") => Archived::Exclude,
            Some("true" | "1") => Archived::Include,
            Some("only") => Archived::Only,
            Some(other) => return Err(format!("Invalid archived value '{other}'")),
        };
        if get("offset").is_some() {
            return Err("offset is not supported in V3; follow @attributes.next".to_owned());
        }
        if get("or").is_some() {
            return Err("The sandbox does not implement 'or' queries".to_owned());
        }
        let sort_field = q
            .sort_field
            .clone()
            .unwrap_or_else(|| entity.id_field().to_owned());
        for (name, slot) in [("after", &mut q.after), ("before", &mut q.before)] {
            if let Some(raw) = get(name) {
                let cursor = Cursor::decode(raw).ok_or_else(|| format!("Invalid {name} cursor"))?;
                if cursor.f != sort_field || cursor.d != q.descending {
                    return Err(format!(
                        "The {name} cursor belongs to another sort; follow the next/previous URLs as given"
                    ));
                }
                *slot = Some(cursor);
            }
        }
        for (k, v) in pairs {
            if RESERVED.contains(&k.as_str()) {
                continue;
            }
            q.filters.push((k.clone(), Condition::parse(v)?));
        }
        q.passthrough = pairs
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "after" | "before" | "limit" | "sort"))
            .cloned()
            .collect();
        Ok(q)
    }

    /// The effective sort field.
    pub(crate) fn sort_field(&self, entity: Entity) -> String {
        self.sort_field
            .clone()
            .unwrap_or_else(|| entity.id_field().to_owned())
    }
}

/// Decodes a raw query string the way the API's PHP front end does (`+` → space).
pub(crate) fn decode_pairs(raw: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Percent-encodes a query component strictly (everything but `A-Za-z0-9-._~`), as the
/// API's own `next` links do (`%3E%3D%2C…%2B00%3A00`).
pub(crate) fn encode_component(text: &str) -> String {
    const STRICT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(text, STRICT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_parse() {
        assert_eq!(
            Condition::parse(">=,2021-10-05T14:18:46+00:00").unwrap(),
            Condition::Ge("2021-10-05T14:18:46+00:00".into())
        );
        assert_eq!(
            Condition::parse("><,1,5").unwrap(),
            Condition::Between("1".into(), "5".into())
        );
        assert_eq!(
            Condition::parse("IN,[1,2,3]").unwrap(),
            Condition::In(vec!["1".into(), "2".into(), "3".into()])
        );
        assert_eq!(
            Condition::parse("~,%shirt%").unwrap(),
            Condition::Like("%shirt%".into())
        );
        assert_eq!(Condition::parse("42").unwrap(), Condition::Eq("42".into()));
    }

    #[test]
    fn comparisons_are_numeric_then_temporal_then_textual() {
        assert_eq!(compare("9", "10"), Ordering::Less);
        assert_eq!(
            compare("2021-01-01T00:00:00+01:00", "2020-12-31T23:30:00+00:00"),
            Ordering::Less
        );
        assert_eq!(compare("b", "a"), Ordering::Greater);
    }

    #[test]
    fn parsed_once_values_order_as_their_texts() {
        // 9 < 10 as numbers, but "10" < "1a" < "9" as text: comparisons across kinds need
        // not be transitive, so paging links are decided by scanning, not by position.
        let (nine, ten, text) = ("9".into(), "10".into(), "1a".into());
        let c = |a: &Comparable, b: &Comparable| a.cmp_to(b);
        assert_eq!(c(&nine, &ten), Ordering::Less);
        assert_eq!(c(&ten, &text), Ordering::Less);
        assert_eq!(c(&text, &nine), Ordering::Less);
        assert!(Condition::parse("><,9,10").unwrap().matches("9.5"));
    }

    #[test]
    fn like_matches_wildcards() {
        assert!(like("T-Shirt White", "%shirt%"));
        assert!(like("T-Shirt White", "t-%"));
        assert!(!like("Jeans", "%shirt%"));
        assert!(like("abc", "abc"));
    }

    #[test]
    fn offsets_without_colon_parse() {
        let a = parse_time("2016-11-01T00:00:00-0400").unwrap();
        let b = parse_time("2016-11-01T04:00:00+00:00").unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn a_raw_plus_decodes_to_a_space_and_is_rejected() {
        let pairs = decode_pairs("timeStamp=%3E%3D%2C2021-10-05T14%3A18%3A46+00%3A00");
        let cond = Condition::parse(&pairs[0].1).unwrap();
        assert!(
            cond.validate("timeStamp", "2021-01-01T00:00:00+00:00")
                .is_err()
        );
        let pairs = decode_pairs("timeStamp=%3E%3D%2C2021-10-05T14%3A18%3A46%2B00%3A00");
        let cond = Condition::parse(&pairs[0].1).unwrap();
        assert!(
            cond.validate("timeStamp", "2021-01-01T00:00:00+00:00")
                .is_ok()
        );
    }

    #[test]
    fn cursors_round_trip() {
        let c = Cursor {
            f: "timeStamp".into(),
            d: false,
            v: "2021-01-01T00:00:00+00:00".into(),
            i: 7,
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        assert_eq!(Cursor::decode("not a cursor"), None);
    }

    #[test]
    fn loads_cost_doubles_on_lists() {
        let loads = Loads::parse(Entity::Item, Some(r#"["ItemShops","Category"]"#)).unwrap();
        assert_eq!(loads.cost_tenths(Entity::Item, false), 3);
        assert_eq!(loads.cost_tenths(Entity::Item, true), 6);
        assert!(Loads::parse(Entity::Item, Some("ItemShops")).is_err());
        // A to-one nested under a to-many costs double on a single record; `all` sums every
        // relation, nested ones included.
        let nested = Loads::parse(Entity::Sale, Some(r#"["SaleLines","SaleLines.Item"]"#)).unwrap();
        assert_eq!(nested.cost_tenths(Entity::Sale, false), 4);
        let all = Loads::parse(Entity::Sale, Some("all")).unwrap();
        let every: Vec<&str> = Entity::Sale.relations().iter().map(|(n, _)| *n).collect();
        let named =
            Loads::parse(Entity::Sale, Some(&serde_json::to_string(&every).unwrap())).unwrap();
        assert_eq!(
            all.cost_tenths(Entity::Sale, true),
            named.cost_tenths(Entity::Sale, true)
        );
        assert_eq!(all.cost_tenths(Entity::Item, false), 26);
        assert!(Loads::parse(Entity::Item, Some(r#"["Nope"]"#)).is_err());
    }
}
