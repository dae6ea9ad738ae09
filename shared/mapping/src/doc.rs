//! Mapping documents: the defaults shipped per flow and the operator's overrides, as JSON.
//!
//! ```json
//! {
//!   "fields": {
//!     "customer.displayName": { "expr": ".firstName + \" \" + .lastName" },
//!     "customer.currencyCode": { "const": "EUR", "policy": "create_only" },
//!     "customer.country": { "lookup": { "table": "country", "expr": ".country", "default": "" } },
//!     "item.description": { "policy": "create_only" }
//!   },
//!   "tables": { "country": { "France": "FR", "Belgique": "BE" } }
//! }
//! ```
//!
//! A field is `<object>.<name>` (the target object and its API field). An override replaces
//! the default's value spec, its policy, or both; a table override adds or replaces entries
//! (an entry set to `null` removes it).

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::MappingError;

/// When a field is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Policy {
    /// On create and on update.
    #[default]
    Always,
    /// Only when the target record is created (enrichment done in the target survives).
    CreateOnly,
    /// Only when an existing target record is updated.
    UpdateOnly,
    /// Never (switches a default field off).
    Never,
}

impl Policy {
    /// The name used in documents.
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Always => "always",
            Policy::CreateOnly => "create_only",
            Policy::UpdateOnly => "update_only",
            Policy::Never => "never",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [
            Policy::Always,
            Policy::CreateOnly,
            Policy::UpdateOnly,
            Policy::Never,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
    }

    /// Whether the field is sent when creating (`true`) or updating (`false`).
    pub fn applies(self, creating: bool) -> bool {
        match self {
            Policy::Always => true,
            Policy::CreateOnly => creating,
            Policy::UpdateOnly => !creating,
            Policy::Never => false,
        }
    }
}

/// Where a field's value comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueSpec {
    /// A jq expression over the source record.
    Expr(String),
    /// A constant.
    Const(Value),
    /// A jq expression whose result is looked up in a value table.
    Lookup {
        /// The table's name.
        table: String,
        /// The key expression.
        expr: String,
        /// The value when the key is not in the table (an error when absent).
        default: Option<Value>,
    },
}

/// One field of a mapping document (a default, or an override of some of its parts).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FieldSpec {
    /// The value, if this document says.
    pub value: Option<ValueSpec>,
    /// The policy, if this document says.
    pub policy: Option<Policy>,
}

/// A mapping document.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MappingDoc {
    /// Fields by `<object>.<name>`.
    pub fields: BTreeMap<String, FieldSpec>,
    /// Value tables by name; a `null` entry removes a default entry.
    pub tables: BTreeMap<String, Map<String, Value>>,
}

fn field_spec(name: &str, v: &Value, problems: &mut Vec<String>) -> FieldSpec {
    let Some(obj) = v.as_object() else {
        problems.push(format!(
            "field {name}: expected an object like {{\"expr\": \"…\"}}"
        ));
        return FieldSpec::default();
    };
    let mut spec = FieldSpec::default();
    let mut kinds = 0;
    for (key, value) in obj {
        match key.as_str() {
            "expr" => {
                kinds += 1;
                match value.as_str() {
                    Some(s) => spec.value = Some(ValueSpec::Expr(s.to_owned())),
                    None => problems.push(format!("field {name}: `expr` must be a string")),
                }
            }
            "const" => {
                kinds += 1;
                spec.value = Some(ValueSpec::Const(value.clone()));
            }
            "lookup" => {
                kinds += 1;
                let table = value.get("table").and_then(Value::as_str);
                let expr = value.get("expr").and_then(Value::as_str);
                match (table, expr) {
                    (Some(table), Some(expr)) => {
                        spec.value = Some(ValueSpec::Lookup {
                            table: table.to_owned(),
                            expr: expr.to_owned(),
                            default: value.get("default").cloned(),
                        });
                    }
                    _ => problems.push(format!(
                        "field {name}: `lookup` needs a `table` and an `expr` (strings)"
                    )),
                }
            }
            "policy" => match value.as_str().and_then(Policy::parse) {
                Some(p) => spec.policy = Some(p),
                None => problems.push(format!(
                    "field {name}: `policy` must be one of always, create_only, update_only, never"
                )),
            },
            other => problems.push(format!("field {name}: unknown key `{other}`")),
        }
    }
    if kinds > 1 {
        problems.push(format!(
            "field {name}: give one of `expr`, `const` or `lookup`"
        ));
    }
    spec
}

impl MappingDoc {
    /// Reads a document, reporting every problem.
    pub fn from_json(doc: &Value) -> Result<Self, MappingError> {
        let mut problems = Vec::new();
        let mut out = MappingDoc::default();
        let Some(root) = doc.as_object() else {
            return Err(MappingError {
                problems: vec![
                    "a mapping document is a JSON object with `fields` and `tables`".into(),
                ],
            });
        };
        for (key, value) in root {
            match key.as_str() {
                "fields" => match value.as_object() {
                    Some(fields) => {
                        for (name, spec) in fields {
                            if !valid_field_name(name) {
                                problems.push(format!(
                                    "field `{name}`: names are <object>.<field>, e.g. customer.displayName"
                                ));
                                continue;
                            }
                            out.fields
                                .insert(name.clone(), field_spec(name, spec, &mut problems));
                        }
                    }
                    None => problems.push("`fields` must be an object".into()),
                },
                "tables" => match value.as_object() {
                    Some(tables) => {
                        for (name, table) in tables {
                            match table.as_object() {
                                Some(t) => {
                                    out.tables.insert(name.clone(), t.clone());
                                }
                                None => problems
                                    .push(format!("table {name} must be an object of key → value")),
                            }
                        }
                    }
                    None => problems.push("`tables` must be an object".into()),
                },
                other => problems.push(format!("unknown key `{other}` (expected fields, tables)")),
            }
        }
        if problems.is_empty() {
            Ok(out)
        } else {
            Err(MappingError { problems })
        }
    }

    /// The document as JSON (the form stored and shown).
    pub fn to_json(&self) -> Value {
        let fields: Map<String, Value> = self
            .fields
            .iter()
            .map(|(name, spec)| {
                let mut o = Map::new();
                match &spec.value {
                    Some(ValueSpec::Expr(e)) => {
                        o.insert("expr".into(), json!(e));
                    }
                    Some(ValueSpec::Const(c)) => {
                        o.insert("const".into(), c.clone());
                    }
                    Some(ValueSpec::Lookup {
                        table,
                        expr,
                        default,
                    }) => {
                        let mut l = Map::new();
                        l.insert("table".into(), json!(table));
                        l.insert("expr".into(), json!(expr));
                        if let Some(d) = default {
                            l.insert("default".into(), d.clone());
                        }
                        o.insert("lookup".into(), Value::Object(l));
                    }
                    None => {}
                }
                if let Some(p) = spec.policy {
                    o.insert("policy".into(), json!(p.as_str()));
                }
                (name.clone(), Value::Object(o))
            })
            .collect();
        let tables: Map<String, Value> = self
            .tables
            .iter()
            .map(|(k, v)| (k.clone(), Value::Object(v.clone())))
            .collect();
        json!({"fields": fields, "tables": tables})
    }

    /// `self` with `overrides` applied on top.
    #[must_use]
    pub fn merged(&self, overrides: &MappingDoc) -> MappingDoc {
        let mut out = self.clone();
        for (name, spec) in &overrides.fields {
            let entry = out.fields.entry(name.clone()).or_default();
            if spec.value.is_some() {
                entry.value.clone_from(&spec.value);
            }
            if spec.policy.is_some() {
                entry.policy = spec.policy;
            }
        }
        for (name, entries) in &overrides.tables {
            let table = out.tables.entry(name.clone()).or_default();
            for (k, v) in entries {
                if v.is_null() {
                    table.remove(k);
                } else {
                    table.insert(k.clone(), v.clone());
                }
            }
        }
        out
    }
}

fn valid_field_name(name: &str) -> bool {
    let mut parts = name.split('.');
    let (Some(object), Some(field), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let ident = |s: &str| {
        !s.is_empty()
            && s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    ident(object) && ident(field)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_round_trip_and_report_every_problem() {
        let doc = json!({
            "fields": {
                "customer.displayName": {"expr": ".name"},
                "customer.currencyCode": {"const": "EUR", "policy": "create_only"},
                "customer.country": {"lookup": {"table": "country", "expr": ".c", "default": ""}},
                "item.description": {"policy": "never"}
            },
            "tables": {"country": {"France": "FR"}}
        });
        let parsed = MappingDoc::from_json(&doc).unwrap();
        assert_eq!(parsed.to_json(), doc);

        let bad = json!({
            "fields": {
                "displayName": {"expr": ".x"},
                "customer.a": {"expr": 5},
                "customer.b": {"policy": "sometimes"},
                "customer.c": {"expr": ".x", "const": 1},
                "customer.d": {"lookup": {"table": "t"}},
                "customer.e": {"exp": ".x"}
            },
            "extra": 1
        });
        let err = MappingDoc::from_json(&bad).unwrap_err();
        assert_eq!(err.problems.len(), 7, "{:#?}", err.problems);
    }

    #[test]
    fn overrides_replace_parts_and_table_entries() {
        let defaults = MappingDoc::from_json(&json!({
            "fields": {"item.description": {"expr": ".d"}, "item.gtin": {"expr": ".ean", "policy": "always"}},
            "tables": {"country": {"France": "FR", "Belgique": "BE"}}
        }))
        .unwrap();
        let overrides = MappingDoc::from_json(&json!({
            "fields": {"item.description": {"policy": "create_only"}, "item.gtin": {"expr": ".upc"}},
            "tables": {"country": {"Belgique": null, "België": "BE"}}
        }))
        .unwrap();
        let m = defaults.merged(&overrides);
        assert_eq!(
            m.fields["item.description"].value,
            Some(ValueSpec::Expr(".d".into()))
        );
        assert_eq!(
            m.fields["item.description"].policy,
            Some(Policy::CreateOnly)
        );
        assert_eq!(
            m.fields["item.gtin"].value,
            Some(ValueSpec::Expr(".upc".into()))
        );
        assert_eq!(m.fields["item.gtin"].policy, Some(Policy::Always));
        let t = &m.tables["country"];
        assert_eq!(t.get("België"), Some(&json!("BE")));
        assert!(t.get("Belgique").is_none());
    }
}
