//! Compiling and evaluating a flow's mapping (defaults merged with overrides), with compiled
//! mappings cached per overrides version.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use lsbc_core::Flow;
use serde_json::{Map, Value};

use crate::MappingError;
use crate::doc::{MappingDoc, Policy, ValueSpec};
use crate::expr::Expr;

enum Eval {
    Const(Value),
    Expr(Expr),
    Lookup {
        table: String,
        expr: Expr,
        default: Option<Value>,
    },
}

struct Field {
    object: String,
    name: String,
    eval: Eval,
    policy: Policy,
}

/// A flow's mapping, compiled.
pub struct CompiledMapping {
    fields: Vec<Field>,
    tables: Value,
}

impl std::fmt::Debug for CompiledMapping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledMapping")
            .field("fields", &self.fields.len())
            .finish_non_exhaustive()
    }
}

/// A field whose value could not be computed for a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("mapping of `{field}`: {message}")]
pub struct FieldError {
    /// The target field.
    pub field: String,
    /// What went wrong.
    pub message: String,
}

/// The mapped values of a record, per target object.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Evaluated {
    /// Object → field → value (`null` results are left out: "not set").
    pub objects: BTreeMap<String, Map<String, Value>>,
    /// `<object>.<field>` → policy, for fields not sent always.
    pub policies: BTreeMap<String, Policy>,
}

impl Evaluated {
    /// The fields of `object`.
    pub fn object(&self, object: &str) -> Map<String, Value> {
        self.objects.get(object).cloned().unwrap_or_default()
    }

    /// The policy of `<object>.<field>`.
    pub fn policy(&self, object: &str, field: &str) -> Policy {
        self.policies
            .get(&format!("{object}.{field}"))
            .copied()
            .unwrap_or_default()
    }

    /// The `<object>.<field>` names of the fields of `objects` that have a value and policy
    /// `policy` (as commands carry them: `create_only`, `update_only`).
    pub fn fields_with(&self, objects: &[&str], policy: Policy) -> Vec<String> {
        objects
            .iter()
            .flat_map(|object| {
                self.objects
                    .get(*object)
                    .into_iter()
                    .flat_map(|fields| fields.keys())
                    .filter(move |field| self.policy(object, field) == policy)
                    .map(move |field| format!("{object}.{field}"))
            })
            .collect()
    }
}

/// Whether `<object>.<field>` is sent when creating (`true`) or updating, by the
/// create-only and update-only names a command carries (any other field: always).
pub fn is_sent(
    create_only: &[String],
    update_only: &[String],
    object: &str,
    field: &str,
    creating: bool,
) -> bool {
    let name = format!("{object}.{field}");
    let policy = if create_only.contains(&name) {
        Policy::CreateOnly
    } else if update_only.contains(&name) {
        Policy::UpdateOnly
    } else {
        Policy::Always
    };
    policy.applies(creating)
}

impl CompiledMapping {
    /// Compiles a complete document (defaults already merged with overrides), reporting every
    /// broken field with its position.
    pub fn compile(doc: &MappingDoc) -> Result<Self, MappingError> {
        let mut problems = Vec::new();
        let mut fields = Vec::new();
        for (target, spec) in &doc.fields {
            let Some((object, name)) = target.split_once('.') else {
                problems.push(format!("field `{target}` is not <object>.<field>"));
                continue;
            };
            let compile = |code: &str, problems: &mut Vec<String>| match Expr::compile(code) {
                Ok(e) => Some(e),
                Err(e) => {
                    problems.push(format!("field {target}: {e}"));
                    None
                }
            };
            let eval = match &spec.value {
                None => {
                    problems.push(format!(
                        "field {target} has a policy but no value (give `expr`, `const` or `lookup`)"
                    ));
                    continue;
                }
                Some(ValueSpec::Const(v)) => Eval::Const(v.clone()),
                Some(ValueSpec::Expr(code)) => match compile(code, &mut problems) {
                    Some(e) => Eval::Expr(e),
                    None => continue,
                },
                Some(ValueSpec::Lookup {
                    table,
                    expr,
                    default,
                }) => {
                    if !doc.tables.contains_key(table) {
                        problems.push(format!("field {target}: no table named `{table}`"));
                        continue;
                    }
                    match compile(expr, &mut problems) {
                        Some(e) => Eval::Lookup {
                            table: table.clone(),
                            expr: e,
                            default: default.clone(),
                        },
                        None => continue,
                    }
                }
            };
            fields.push(Field {
                object: object.to_owned(),
                name: name.to_owned(),
                eval,
                policy: spec.policy.unwrap_or_default(),
            });
        }
        if !problems.is_empty() {
            return Err(MappingError { problems });
        }
        let tables = Value::Object(
            doc.tables
                .iter()
                .map(|(k, v)| (k.clone(), Value::Object(v.clone())))
                .collect(),
        );
        Ok(Self { fields, tables })
    }

    /// Maps one (normalised) source record with the flow's settings.
    pub fn evaluate(&self, record: &Value, settings: &Value) -> Result<Evaluated, FieldError> {
        let mut out = Evaluated::default();
        for field in &self.fields {
            let target = || format!("{}.{}", field.object, field.name);
            if field.policy == Policy::Never {
                continue;
            }
            let value = match &field.eval {
                Eval::Const(v) => v.clone(),
                Eval::Expr(e) => {
                    e.eval(record, settings, &self.tables)
                        .map_err(|message| FieldError {
                            field: target(),
                            message,
                        })?
                }
                Eval::Lookup {
                    table,
                    expr,
                    default,
                } => {
                    let key = expr
                        .eval(record, settings, &self.tables)
                        .map_err(|message| FieldError {
                            field: target(),
                            message,
                        })?;
                    let key_text = match &key {
                        Value::String(s) => s.clone(),
                        Value::Null => String::new(),
                        other => other.to_string(),
                    };
                    // Exact key first, then trimmed and upper-cased (tables list names in
                    // capitals, e.g. `BELGIË`).
                    let found = self.tables[table].get(&key_text).or_else(|| {
                        self.tables[table].get(key_text.trim().to_uppercase().as_str())
                    });
                    match found {
                        Some(v) => v.clone(),
                        None => match default {
                            Some(d) => d.clone(),
                            None => {
                                return Err(FieldError {
                                    field: target(),
                                    message: format!("`{key_text}` is not in table `{table}`"),
                                });
                            }
                        },
                    }
                }
            };
            if field.policy != Policy::Always {
                out.policies.insert(target(), field.policy);
            }
            if !value.is_null() {
                out.objects
                    .entry(field.object.clone())
                    .or_default()
                    .insert(field.name.clone(), value);
            }
        }
        Ok(out)
    }
}

/// Compiles mappings for the flows it has defaults for, caching them per overrides version.
pub struct Mapper {
    defaults: BTreeMap<Flow, MappingDoc>,
    cache: Mutex<HashMap<(Flow, u64), Arc<CompiledMapping>>>,
}

impl std::fmt::Debug for Mapper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mapper")
            .field("flows", &self.defaults.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Mapper {
    /// A mapper with these default documents.
    pub fn new(defaults: BTreeMap<Flow, MappingDoc>) -> Self {
        Self {
            defaults,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The default document of `flow`.
    pub fn defaults(&self, flow: Flow) -> Option<&MappingDoc> {
        self.defaults.get(&flow)
    }

    /// Checks overrides before they are saved: they must read and compile on top of the
    /// defaults. Every problem is reported, with positions.
    pub fn check(&self, flow: Flow, overrides: &Value) -> Result<MappingDoc, MappingError> {
        let defaults = self.defaults.get(&flow).ok_or_else(|| MappingError {
            problems: vec![format!("flow {flow} has no mapping")],
        })?;
        let overrides = MappingDoc::from_json(overrides)?;
        let merged = defaults.merged(&overrides);
        CompiledMapping::compile(&merged)?;
        Ok(overrides)
    }

    /// The compiled mapping of `flow` with the overrides of `version` (0 = none), compiled once
    /// per version.
    pub fn compiled(
        &self,
        flow: Flow,
        version: u64,
        overrides: &Value,
    ) -> Result<Arc<CompiledMapping>, MappingError> {
        let key = (flow, version);
        if let Some(hit) = self
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&key)
        {
            return Ok(hit.clone());
        }
        let defaults = self.defaults.get(&flow).ok_or_else(|| MappingError {
            problems: vec![format!("flow {flow} has no mapping")],
        })?;
        let merged = if version == 0 {
            defaults.clone()
        } else {
            defaults.merged(&MappingDoc::from_json(overrides)?)
        };
        let compiled = Arc::new(CompiledMapping::compile(&merged)?);
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(key, compiled.clone());
        Ok(compiled)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn mapper() -> Mapper {
        let defaults = MappingDoc::from_json(&json!({
            "fields": {
                "customer.displayName": {"expr": "[.firstName, .lastName] | map(select(. != \"\")) | join(\" \")"},
                "customer.currencyCode": {"expr": "$settings.currency"},
                "customer.country": {"lookup": {"table": "country", "expr": ".country", "default": ""}},
                "customer.website": {"expr": ".web", "policy": "create_only"}
            },
            "tables": {"country": {"France": "FR"}}
        }))
        .unwrap();
        Mapper::new(BTreeMap::from([(Flow::Customers, defaults)]))
    }

    #[test]
    fn defaults_evaluate_with_settings_and_tables() {
        let m = mapper().compiled(Flow::Customers, 0, &Value::Null).unwrap();
        let out = m
            .evaluate(
                &json!({"firstName": "Zoë", "lastName": "", "country": "France", "web": null}),
                &json!({"currency": "EUR"}),
            )
            .unwrap();
        assert_eq!(
            Value::Object(out.object("customer")),
            json!({"displayName": "Zoë", "currencyCode": "EUR", "country": "FR"})
        );
        assert_eq!(out.policy("customer", "website"), Policy::CreateOnly);
        assert_eq!(out.policy("customer", "displayName"), Policy::Always);
    }

    #[test]
    fn overrides_are_checked_with_positions_before_saving() {
        let m = mapper();
        let err = m
            .check(
                Flow::Customers,
                &json!({"fields": {"customer.displayName": {"expr": ".firstName |"}, "customer.country": {"lookup": {"table": "nope", "expr": "."}}}}),
            )
            .unwrap_err();
        assert_eq!(err.problems.len(), 2, "{err}");
        assert!(err.problems[0].contains("customer.country") && err.problems[0].contains("nope"));
        assert!(
            err.problems[1].contains("customer.displayName")
                && err.problems[1].contains("column 13"),
            "{err}"
        );
        assert!(
            m.check(
                Flow::Customers,
                &json!({"fields": {"customer.phoneNumber": {"expr": ".phone"}}})
            )
            .is_ok()
        );
        assert!(m.check(Flow::Orders, &json!({})).is_err());
    }

    #[test]
    fn compiled_mappings_are_cached_per_version() {
        let m = mapper();
        let over = json!({"fields": {"customer.displayName": {"expr": ".lastName"}}});
        let a = m.compiled(Flow::Customers, 3, &over).unwrap();
        let b = m
            .compiled(Flow::Customers, 3, &json!("ignored: cached"))
            .unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        let out = a
            .evaluate(&json!({"firstName": "A", "lastName": "B"}), &json!({}))
            .unwrap();
        assert_eq!(out.object("customer")["displayName"], json!("B"));
        let v0 = m.compiled(Flow::Customers, 0, &Value::Null).unwrap();
        assert!(!Arc::ptr_eq(&a, &v0));
    }

    #[test]
    fn a_failing_field_names_itself() {
        let m = mapper();
        let over = json!({"fields": {"customer.country": {"lookup": {"table": "country", "expr": ".country"}}}});
        let c = m.compiled(Flow::Customers, 1, &over).unwrap();
        let err = c
            .evaluate(&json!({"country": "Atlantis"}), &json!({}))
            .unwrap_err();
        assert_eq!(err.field, "customer.country");
        assert!(err.message.contains("Atlantis"));
    }
}
