//! OData query options as BC evaluates them: `$filter` parsed and applied to rows (`eq ne gt
//! ge lt le`, `and`, `not`, `or` only on one field, `contains`/`startswith`/`endswith`;
//! `in (...)` ignored — the condition counts as true — unless `$schemaversion=2.1`, GH
//! ALAppExtensions#25734), `$select`, `$expand`, `$top`, `$skip`, `$orderby`, `$skiptoken`.
//! Type mismatches (a quoted GUID, a string against a number) are refused the way the OData
//! library does. Text compares exactly, except `email` when the tenant's setting says
//! otherwise (`BcBehaviour::email_filter`). It must not know about HTTP or storage.

use std::cmp::Ordering;

use jiff::Timestamp;
use serde_json::{Map, Value};

use super::behaviour::EmailFilter;
use super::errors::{BcFault, Outcome};
use super::schema::{Entity, Field, Kind, enum_member};

/// The parsed query string of one request.
#[derive(Debug, Clone, Default)]
pub(crate) struct QueryOptions {
    pub(crate) filter: Option<String>,
    pub(crate) select: Option<Vec<String>>,
    pub(crate) expand: Vec<String>,
    pub(crate) top: Option<usize>,
    pub(crate) skip: Option<usize>,
    pub(crate) order_by: Option<(String, bool)>,
    pub(crate) skip_token: Option<String>,
    pub(crate) schema_21: bool,
    pub(crate) company: Option<String>,
    /// The pairs as received, for building `@odata.nextLink`.
    pub(crate) raw: Vec<(String, String)>,
}

/// Decodes a query value the way .NET does: `%XX` escapes and `+` as space.
pub(crate) fn decode_component(text: &str) -> String {
    let plus = text.replace('+', " ");
    percent_encoding::percent_decode_str(&plus)
        .decode_utf8_lossy()
        .into_owned()
}

impl QueryOptions {
    pub(crate) fn parse(raw_query: Option<&str>) -> Outcome<Self> {
        let mut options = Self::default();
        for pair in raw_query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let key = decode_component(key);
            let value = decode_component(value);
            options.raw.push((key.clone(), value.clone()));
            match key.as_str() {
                "$filter" => options.filter = Some(value),
                "$select" => {
                    options.select = Some(
                        value
                            .split(',')
                            .map(|s| s.trim().to_owned())
                            .filter(|s| !s.is_empty())
                            .collect(),
                    );
                }
                "$expand" => options.expand = split_expand(&value),
                "$top" => options.top = Some(parse_count("$top", &value)?),
                "$skip" => options.skip = Some(parse_count("$skip", &value)?),
                "$skiptoken" => options.skip_token = Some(value),
                "$schemaversion" => options.schema_21 = value.trim() == "2.1",
                "$orderby" => {
                    let mut parts = value.split_whitespace();
                    let field = parts.next().unwrap_or("").to_owned();
                    let descending = matches!(parts.next(), Some("desc"));
                    options.order_by = Some((field, descending));
                }
                "company" => options.company = Some(value),
                _ => {}
            }
        }
        Ok(options)
    }
}

fn parse_count(name: &str, value: &str) -> Outcome<usize> {
    value
        .trim()
        .parse()
        .map_err(|_| BcFault::bad_query(format!("Invalid value '{value}' for {name}.")))
}

/// Splits `$expand` at top-level commas and drops nested options (`lines($select=…)`).
fn split_expand(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0_i32;
    let mut current = String::new();
    for ch in value.chars() {
        match ch {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        if depth == 0 && ch != ')' {
            current.push(ch);
        }
    }
    out.push(current);
    out.into_iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

// ---- $filter ------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    Num(f64),
    Guid(String),
    Date(String),
    DateTime(Timestamp),
    Bool(bool),
    Null,
    LParen,
    RParen,
    Comma,
}

#[derive(Debug, Clone, PartialEq)]
enum Literal {
    Str(String),
    Num(f64),
    Guid(String),
    Date(String),
    DateTime(Timestamp),
    Bool(bool),
    Null,
}

impl Literal {
    fn edm(&self) -> &'static str {
        match self {
            Self::Str(_) => "Edm.String",
            Self::Num(_) => "Edm.Decimal",
            Self::Guid(_) => "Edm.Guid",
            Self::Date(_) => "Edm.Date",
            Self::DateTime(_) => "Edm.DateTimeOffset",
            Self::Bool(_) => "Edm.Boolean",
            Self::Null => "null",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CmpOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Not(Box<Expr>),
    Cmp(String, CmpOp, Literal),
    Func(String, String, String),
    In(String, Vec<Literal>),
}

/// What a `$filter` names fields of: an API v2.0 entity type, or the fields of a page
/// published as an OData V4 web service (its type name, e.g. `NAV.ItemLedgerEntries`).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Fields {
    Entity(Entity),
    Page(&'static str, &'static [Field]),
}

impl Fields {
    fn kind(self, name: &str) -> Option<Kind> {
        match self {
            Self::Entity(entity) => entity.field(name).map(|f| f.kind),
            Self::Page(_, fields) => fields.iter().find(|f| f.name == name).map(|f| f.kind),
        }
    }

    /// The type an unknown property is reported on.
    pub(crate) fn type_name(self) -> String {
        match self {
            Self::Entity(entity) => format!("Microsoft.NAV.{}", entity.type_name()),
            Self::Page(name, _) => name.to_owned(),
        }
    }
}

/// A parsed, type-checked `$filter`.
#[derive(Debug, Clone)]
pub(crate) struct Filter {
    expr: Expr,
    schema_21: bool,
    /// `email eq`, `ne` and `in` ignore case (see `BcBehaviour::email_filter`).
    email_ignores_case: bool,
}

fn tokenize(text: &str) -> Outcome<Vec<Token>> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' => i += 1,
            '(' => {
                tokens.push(Token::LParen);
                i += 1;
            }
            ')' => {
                tokens.push(Token::RParen);
                i += 1;
            }
            ',' => {
                tokens.push(Token::Comma);
                i += 1;
            }
            '\'' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => {
                            return Err(BcFault::bad_query(
                                "Unterminated string literal in $filter.",
                            ));
                        }
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            s.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(ch) => {
                            s.push(*ch);
                            i += 1;
                        }
                    }
                }
                tokens.push(Token::Str(s));
            }
            _ => {
                let start = i;
                while i < chars.len() && !matches!(chars[i], ' ' | '\t' | '(' | ')' | ',' | '\'') {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                tokens.push(classify(&word)?);
            }
        }
    }
    Ok(tokens)
}

fn is_guid(word: &str) -> bool {
    let parts: Vec<&str> = word.split('-').collect();
    parts.len() == 5
        && [8, 4, 4, 4, 12]
            .iter()
            .zip(&parts)
            .all(|(n, p)| p.len() == *n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

fn classify(word: &str) -> Outcome<Token> {
    if is_guid(word) {
        return Ok(Token::Guid(word.to_ascii_lowercase()));
    }
    match word {
        "true" => return Ok(Token::Bool(true)),
        "false" => return Ok(Token::Bool(false)),
        "null" => return Ok(Token::Null),
        _ => {}
    }
    let first = word.chars().next().unwrap_or(' ');
    if first.is_ascii_digit() || first == '-' {
        if word.len() == 10
            && word.as_bytes().get(4) == Some(&b'-')
            && word.parse::<jiff::civil::Date>().is_ok()
        {
            return Ok(Token::Date(word.to_owned()));
        }
        if word.contains('T') && word.contains(':') {
            return word
                .parse::<Timestamp>()
                .map(Token::DateTime)
                .map_err(|_| BcFault::bad_query(format!("Invalid date-time literal '{word}'.")));
        }
        return word
            .parse::<f64>()
            .map(Token::Num)
            .map_err(|_| BcFault::bad_query(format!("Syntax error at '{word}' in $filter.")));
    }
    if word
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '/' || c == '.')
    {
        return Ok(Token::Ident(word.to_owned()));
    }
    Err(BcFault::bad_query(format!(
        "Syntax error at '{word}' in $filter."
    )))
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }
    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }
    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Ident(w)) if w == word)
    }
    fn expect(&mut self, token: &Token) -> Outcome<()> {
        if self.next().as_ref() == Some(token) {
            Ok(())
        } else {
            Err(BcFault::bad_query("Syntax error in $filter."))
        }
    }

    fn or(&mut self) -> Outcome<Expr> {
        let mut parts = vec![self.and()?];
        while self.keyword("or") {
            self.at += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::Or(parts)
        })
    }

    fn and(&mut self) -> Outcome<Expr> {
        let mut parts = vec![self.unary()?];
        while self.keyword("and") {
            self.at += 1;
            parts.push(self.unary()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::And(parts)
        })
    }

    fn unary(&mut self) -> Outcome<Expr> {
        if self.keyword("not") {
            self.at += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.peek() == Some(&Token::LParen) {
            self.at += 1;
            let inner = self.or()?;
            self.expect(&Token::RParen)?;
            return Ok(inner);
        }
        let Some(Token::Ident(name)) = self.next() else {
            return Err(BcFault::bad_query(
                "Syntax error in $filter: expected a property.",
            ));
        };
        if self.peek() == Some(&Token::LParen)
            && matches!(name.as_str(), "contains" | "startswith" | "endswith")
        {
            self.at += 1;
            let Some(Token::Ident(field)) = self.next() else {
                return Err(BcFault::bad_query(format!("Syntax error in {name}().")));
            };
            self.expect(&Token::Comma)?;
            let Some(Token::Str(arg)) = self.next() else {
                return Err(BcFault::bad_query(format!(
                    "{name}() needs a string literal."
                )));
            };
            self.expect(&Token::RParen)?;
            return Ok(Expr::Func(name, field, arg));
        }
        let Some(Token::Ident(op)) = self.next() else {
            return Err(BcFault::bad_query(
                "Syntax error in $filter: expected an operator.",
            ));
        };
        if op == "in" {
            self.expect(&Token::LParen)?;
            let mut values = Vec::new();
            loop {
                values.push(self.literal()?);
                match self.next() {
                    Some(Token::Comma) => {}
                    Some(Token::RParen) => break,
                    _ => return Err(BcFault::bad_query("Syntax error in 'in' list.")),
                }
            }
            return Ok(Expr::In(name, values));
        }
        let op = match op.as_str() {
            "eq" => CmpOp::Eq,
            "ne" => CmpOp::Ne,
            "gt" => CmpOp::Gt,
            "ge" => CmpOp::Ge,
            "lt" => CmpOp::Lt,
            "le" => CmpOp::Le,
            other => {
                return Err(BcFault::bad_query(format!(
                    "Unknown operator '{other}' in $filter."
                )));
            }
        };
        let value = self.literal()?;
        Ok(Expr::Cmp(name, op, value))
    }

    fn literal(&mut self) -> Outcome<Literal> {
        match self.next() {
            Some(Token::Str(s)) => Ok(Literal::Str(s)),
            Some(Token::Num(n)) => Ok(Literal::Num(n)),
            Some(Token::Guid(g)) => Ok(Literal::Guid(g)),
            Some(Token::Date(d)) => Ok(Literal::Date(d)),
            Some(Token::DateTime(t)) => Ok(Literal::DateTime(t)),
            Some(Token::Bool(b)) => Ok(Literal::Bool(b)),
            Some(Token::Null) => Ok(Literal::Null),
            _ => Err(BcFault::bad_query(
                "Syntax error in $filter: expected a literal.",
            )),
        }
    }
}

fn fields_of(expr: &Expr, out: &mut Vec<String>) {
    match expr {
        Expr::Or(parts) | Expr::And(parts) => parts.iter().for_each(|p| fields_of(p, out)),
        Expr::Not(inner) => fields_of(inner, out),
        Expr::Cmp(field, ..) | Expr::Func(_, field, _) | Expr::In(field, _) => {
            out.push(field.clone());
        }
    }
}

fn check_or(expr: &Expr) -> Outcome<()> {
    match expr {
        Expr::Or(parts) => {
            let mut fields = Vec::new();
            fields_of(expr, &mut fields);
            fields.dedup();
            if fields.iter().any(|f| f != &fields[0]) {
                // api-notes §3: `or` across different fields is refused (wording inferred).
                return Err(BcFault::new(
                    400,
                    "BadRequest_NotSupported",
                    "The filter is not supported: 'or' is only supported between conditions on the same field.",
                ));
            }
            parts.iter().try_for_each(check_or)
        }
        Expr::And(parts) => parts.iter().try_for_each(check_or),
        Expr::Not(inner) => check_or(inner),
        _ => Ok(()),
    }
}

fn check_types(expr: &Expr, fields: Fields) -> Outcome<()> {
    match expr {
        Expr::Or(parts) | Expr::And(parts) => parts.iter().try_for_each(|p| check_types(p, fields)),
        Expr::Not(inner) => check_types(inner, fields),
        Expr::Func(name, field, _) => {
            let kind = field_kind(fields, field)?;
            match kind {
                Kind::Text(_) | Kind::Code(_) => Ok(()),
                other => Err(BcFault::bad_query(format!(
                    "No function signature for the function with name '{name}' matches the specified arguments ({}).",
                    other.edm()
                ))),
            }
        }
        Expr::Cmp(field, _, value) => {
            let kind = field_kind(fields, field)?;
            compatible(kind, value).then_some(()).ok_or_else(|| {
                BcFault::bad_query(format!(
                    "A binary operator with incompatible types was detected. Found operand types '{}' and '{}'.",
                    kind.edm(),
                    value.edm()
                ))
            })
        }
        Expr::In(field, _) => field_kind(fields, field).map(drop),
    }
}

fn field_kind(fields: Fields, field: &str) -> Outcome<Kind> {
    fields.kind(field).ok_or_else(|| {
        BcFault::bad_query(format!(
            "Could not find a property named '{field}' on type '{}'.",
            fields.type_name()
        ))
    })
}

fn compatible(kind: Kind, value: &Literal) -> bool {
    matches!(
        (kind, value),
        (_, Literal::Null)
            | (
                Kind::Text(_) | Kind::Code(_) | Kind::Enum(_),
                Literal::Str(_)
            )
            | (Kind::Guid, Literal::Guid(_))
            | (Kind::Decimal | Kind::Int, Literal::Num(_))
            | (Kind::Bool, Literal::Bool(_))
            | (Kind::Date, Literal::Date(_))
            | (Kind::DateTime, Literal::DateTime(_) | Literal::Date(_))
    )
}

impl Filter {
    /// Parses and type-checks a `$filter` against an entity type.
    pub(crate) fn parse(text: &str, entity: Entity, schema_21: bool) -> Outcome<Self> {
        Self::parse_over(text, Fields::Entity(entity), schema_21)
    }

    /// Parses and type-checks a `$filter` against any field source.
    pub(crate) fn parse_over(text: &str, fields: Fields, schema_21: bool) -> Outcome<Self> {
        let tokens = tokenize(text)?;
        let mut parser = Parser { tokens, at: 0 };
        let expr = parser.or()?;
        if parser.at != parser.tokens.len() {
            return Err(BcFault::bad_query("Syntax error at the end of $filter."));
        }
        check_or(&expr)?;
        check_types(&expr, fields)?;
        Ok(Self {
            expr,
            schema_21,
            email_ignores_case: false,
        })
    }

    /// The same filter, comparing `email` as the tenant does.
    pub(crate) fn with_email_filter(mut self, filter: EmailFilter) -> Self {
        self.email_ignores_case = filter == EmailFilter::CaseInsensitive;
        self
    }

    /// Whether a row matches.
    pub(crate) fn matches(&self, row: &Map<String, Value>, entity: Entity) -> bool {
        eval(&self.expr, row, Fields::Entity(entity), self)
    }

    /// Whether a row of any field source matches.
    pub(crate) fn matches_over(&self, row: &Map<String, Value>, fields: Fields) -> bool {
        eval(&self.expr, row, fields, self)
    }

    /// Whether comparisons on `field` ignore case.
    fn folds(&self, field: &str) -> bool {
        self.email_ignores_case && field == "email"
    }
}

fn eval(expr: &Expr, row: &Map<String, Value>, fields: Fields, filter: &Filter) -> bool {
    let schema_21 = filter.schema_21;
    match expr {
        Expr::Or(parts) => parts.iter().any(|p| eval(p, row, fields, filter)),
        Expr::And(parts) => parts.iter().all(|p| eval(p, row, fields, filter)),
        Expr::Not(inner) => !eval(inner, row, fields, filter),
        Expr::Func(name, field, arg) => {
            let text = row.get(field).and_then(Value::as_str).unwrap_or("");
            match name.as_str() {
                "contains" => text.contains(arg.as_str()),
                "startswith" => text.starts_with(arg.as_str()),
                _ => text.ends_with(arg.as_str()),
            }
        }
        // Without schema 2.1 BC ignores `in` and returns everything (GH ALAppExtensions#25734).
        Expr::In(field, values) => {
            let fold = filter.folds(field);
            !schema_21
                || values.iter().any(|v| {
                    compare(row.get(field), v, fields, field, fold) == Some(Ordering::Equal)
                })
        }
        Expr::Cmp(field, op, value) => {
            let ordering = compare(row.get(field), value, fields, field, filter.folds(field));
            match (op, ordering) {
                (CmpOp::Eq, Some(o)) => o == Ordering::Equal,
                (CmpOp::Ne, Some(o)) => o != Ordering::Equal,
                (CmpOp::Ne, None) => true,
                (CmpOp::Gt, Some(o)) => o == Ordering::Greater,
                (CmpOp::Ge, Some(o)) => o != Ordering::Less,
                (CmpOp::Lt, Some(o)) => o == Ordering::Less,
                (CmpOp::Le, Some(o)) => o != Ordering::Greater,
                _ => false,
            }
        }
    }
}

fn compare(
    value: Option<&Value>,
    literal: &Literal,
    fields: Fields,
    field: &str,
    fold_case: bool,
) -> Option<Ordering> {
    let value = value?;
    let kind = fields.kind(field);
    match literal {
        Literal::Null => Some(if value.is_null() {
            Ordering::Equal
        } else {
            Ordering::Greater
        }),
        Literal::Str(text) => {
            let actual = value.as_str()?;
            match kind {
                Some(Kind::Enum(members)) => {
                    let wanted = enum_member(members, text)?;
                    Some(actual.cmp(wanted.as_str()))
                }
                _ if fold_case => Some(actual.to_lowercase().cmp(&text.to_lowercase())),
                _ => Some(actual.cmp(text.as_str())),
            }
        }
        Literal::Guid(g) => Some(value.as_str()?.to_ascii_lowercase().cmp(g)),
        Literal::Num(n) => value.as_f64()?.partial_cmp(n),
        Literal::Bool(b) => Some(value.as_bool()?.cmp(b)),
        Literal::Date(d) => match kind {
            Some(Kind::DateTime) => {
                let actual: Timestamp = value.as_str()?.parse().ok()?;
                let wanted: Timestamp = format!("{d}T00:00:00Z").parse().ok()?;
                Some(actual.cmp(&wanted))
            }
            _ => Some(value.as_str()?.cmp(d.as_str())),
        },
        Literal::DateTime(t) => {
            let actual: Timestamp = value.as_str()?.parse().ok()?;
            Some(actual.cmp(t))
        }
    }
}

/// Orders rows by a field value (numbers numerically, text as text).
pub(crate) fn order_values(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => x
            .as_f64()
            .unwrap_or(0.0)
            .partial_cmp(&y.as_f64().unwrap_or(0.0))
            .unwrap_or(Ordering::Equal),
        (Some(Value::String(x)), Some(Value::String(y))) => x.cmp(y),
        (Some(Value::Bool(x)), Some(Value::Bool(y))) => x.cmp(y),
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        _ => Ordering::Equal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(map) => map,
            other => panic!("not an object: {other}"),
        }
    }

    fn matches(filter: &str, v: Value) -> bool {
        Filter::parse(filter, Entity::Item, false)
            .unwrap()
            .matches(&row(v), Entity::Item)
    }

    #[test]
    fn comparisons_and_functions() {
        let item = json!({"number": "1896-S", "displayName": "O'Neil desk", "unitPrice": 10.5,
            "blocked": false, "type": "Non_x002D_Inventory",
            "id": "fca5738a-44e3-ea11-bb43-000d3a2feca1",
            "lastModifiedDateTime": "2020-08-21T00:24:19.347Z"});
        assert!(matches("number eq '1896-S'", item.clone()));
        assert!(!matches("number eq '1896-s'", item.clone()));
        assert!(matches("displayName eq 'O''Neil desk'", item.clone()));
        assert!(matches(
            "unitPrice gt 10 and unitPrice le 10.5",
            item.clone()
        ));
        assert!(matches("blocked eq false", item.clone()));
        assert!(matches("type eq 'Non-Inventory'", item.clone()));
        assert!(matches("type eq 'Non_x002D_Inventory'", item.clone()));
        assert!(matches(
            "id eq FCA5738A-44E3-EA11-BB43-000D3A2FECA1",
            item.clone()
        ));
        assert!(matches(
            "lastModifiedDateTime gt 2020-08-21T00:00:00Z",
            item.clone()
        ));
        assert!(matches(
            "contains(displayName,'Neil') and startswith(number,'18')",
            item.clone()
        ));
        assert!(matches("number eq 'A' or number eq '1896-S'", item.clone()));
        assert!(matches("not (number eq 'A')", item.clone()));
    }

    #[test]
    fn in_is_ignored_without_schema_21() {
        let item = json!({"number": "9999"});
        assert!(matches("number in ('1000','1001')", item.clone()));
        let f = Filter::parse("number in ('1000','1001')", Entity::Item, true).unwrap();
        assert!(!f.matches(&row(item), Entity::Item));
    }

    #[test]
    fn or_across_fields_and_type_mismatches_are_refused() {
        let e =
            Filter::parse("number eq 'A' or displayName eq 'B'", Entity::Item, false).unwrap_err();
        assert_eq!(e.status, 400);
        let e = Filter::parse(
            "id eq 'fca5738a-44e3-ea11-bb43-000d3a2feca1'",
            Entity::Item,
            false,
        )
        .unwrap_err();
        assert!(e.message.contains("incompatible types"), "{e}");
        assert!(Filter::parse("colour eq 'red'", Entity::Item, false).is_err());
        assert!(Filter::parse("number eq", Entity::Item, false).is_err());
    }

    #[test]
    fn email_eq_ignores_case_only_when_the_tenant_does() {
        let customer = row(json!({"email": "Zoe@Example.com", "displayName": "Zoe"}));
        let parse = |text: &str, filter: EmailFilter| {
            Filter::parse(text, Entity::Customer, true)
                .unwrap()
                .with_email_filter(filter)
        };
        let lower = "email eq 'zoe@example.com'";
        assert!(!parse(lower, EmailFilter::CaseSensitive).matches(&customer, Entity::Customer));
        assert!(parse(lower, EmailFilter::CaseInsensitive).matches(&customer, Entity::Customer));
        assert!(
            parse("email in ('zoe@example.com')", EmailFilter::CaseInsensitive)
                .matches(&customer, Entity::Customer)
        );
        // Only `email`: other text still compares exactly.
        assert!(
            !parse("displayName eq 'zoe'", EmailFilter::CaseInsensitive)
                .matches(&customer, Entity::Customer)
        );
    }

    #[test]
    fn query_strings_decode_like_dotnet() {
        let q = QueryOptions::parse(Some(
            "$filter=email%20eq%20'a%2Bb@x.io'&$select=id,number&$expand=salesOrderLines($select=id),customer&$top=5",
        ))
        .unwrap();
        assert_eq!(q.filter.as_deref(), Some("email eq 'a+b@x.io'"));
        assert_eq!(q.select.unwrap(), vec!["id", "number"]);
        assert_eq!(q.expand, vec!["salesOrderLines", "customer"]);
        assert_eq!(q.top, Some(5));
        let q = QueryOptions::parse(Some("$filter=email+eq+'a+b'")).unwrap();
        assert_eq!(q.filter.as_deref(), Some("email eq 'a b'"));
    }
}
