//! `lsbc mapping …` and `lsbc settings …`: read and change a flow's mapping overrides and
//! settings. Every change is checked before it is saved (a broken expression is refused with
//! its position), saved as a new version with who and when, and can be undone by resetting a
//! field or the whole flow.

use std::path::Path;
use std::process::ExitCode;

use jiff::Timestamp;
use lsbc_connectors::{check_settings, default_mapper};
use lsbc_core::Flow;
use lsbc_core::ports::{MappingStore, SettingsStore};
use lsbc_mapping::{FieldSpec, MappingDoc, Policy, ValueSpec};
use serde_json::{Map, Value, json};

use crate::args::{HomeArgs, MappingAction, SettingsAction};
use crate::home::StateHandle;
use crate::{CliError, print_json};

/// `lsbc mapping …`: shows or changes the mapping and prints the result.
pub async fn run_mapping(action: MappingAction, home: &HomeArgs) -> Result<ExitCode, CliError> {
    let state = home.choice().open().await?;
    let out = match action {
        MappingAction::Show {
            flow,
            field,
            tables,
        } => show_mapping(&state, flow, field.as_deref(), tables).await?,
        MappingAction::Set {
            flow,
            field,
            expr,
            constant,
            lookup,
            default,
            policy,
            author,
        } => {
            let value = match (expr, constant, lookup) {
                (Some(e), _, _) => Some(ValueSpec::Expr(e)),
                (_, Some(c), _) => Some(ValueSpec::Const(json_arg(&c))),
                (_, _, Some(l)) => {
                    let (table, expr) = l
                        .split_once(':')
                        .ok_or_else(|| CliError::Usage("--lookup is table:expression".into()))?;
                    Some(ValueSpec::Lookup {
                        table: table.to_owned(),
                        expr: expr.to_owned(),
                        default: default.as_deref().map(json_arg),
                    })
                }
                _ => None,
            };
            let policy = policy.as_deref().map(parse_policy).transpose()?;
            let change = MappingChange::Field {
                field,
                value,
                policy,
            };
            change_mapping(&state, flow, change, &author).await?
        }
        MappingAction::Unset {
            flow,
            field,
            author,
        } => change_mapping(&state, flow, MappingChange::Unset { field }, &author).await?,
        MappingAction::Table {
            flow,
            table,
            key,
            value,
            remove,
            author,
        } => {
            let value = if remove {
                None
            } else {
                let text =
                    value.ok_or_else(|| CliError::Usage("give a value or --remove".into()))?;
                Some(json_arg(&text))
            };
            let change = MappingChange::TableEntry { table, key, value };
            change_mapping(&state, flow, change, &author).await?
        }
        MappingAction::Load { flow, file, author } => {
            let doc = read_json(&file)?;
            change_mapping(&state, flow, MappingChange::Replace(doc), &author).await?
        }
        MappingAction::Reset { flow, author } => {
            change_mapping(&state, flow, MappingChange::Reset, &author).await?
        }
        MappingAction::History { flow, limit } => mapping_history(&state, flow, limit).await?,
    };
    print_json(&out);
    Ok(ExitCode::SUCCESS)
}

/// `lsbc settings …`: shows or changes the settings and prints the result.
pub async fn run_settings(action: SettingsAction, home: &HomeArgs) -> Result<ExitCode, CliError> {
    let state = home.choice().open().await?;
    let out = match action {
        SettingsAction::Show { flow } => show_settings(&state, flow).await?,
        SettingsAction::Set {
            flow,
            pairs,
            file,
            author,
        } => {
            let pairs = pairs
                .iter()
                .map(|p| parse_pair(p))
                .collect::<Result<Vec<_>, _>>()?;
            let replace = file.as_deref().map(read_json).transpose()?;
            change_settings(&state, flow, &pairs, replace, &author).await?
        }
    };
    print_json(&out);
    Ok(ExitCode::SUCCESS)
}

/// A command-line value: JSON when it parses, else the text as a string.
fn json_arg(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

/// A JSON document from a file.
fn read_json(path: &Path) -> Result<Value, CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| CliError::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))
}

/// A change to a flow's mapping.
#[derive(Debug, Clone, PartialEq)]
pub enum MappingChange {
    /// Set (part of) one field.
    Field {
        /// `<object>.<field>`.
        field: String,
        /// The new value spec, if any.
        value: Option<ValueSpec>,
        /// The new policy, if any.
        policy: Option<Policy>,
    },
    /// Back to the default for one field.
    Unset {
        /// `<object>.<field>`.
        field: String,
    },
    /// Set (or with `None`, remove) one entry of a value table.
    TableEntry {
        /// The table.
        table: String,
        /// The key.
        key: String,
        /// The value (`None`: removes the entry, default or not).
        value: Option<Value>,
    },
    /// Replace every override with a document.
    Replace(Value),
    /// Back to the defaults for the whole flow.
    Reset,
}

/// Parses a policy name (`always`, `create_only`, `update_only`, `never`).
pub fn parse_policy(s: &str) -> Result<Policy, CliError> {
    match s {
        "always" => Ok(Policy::Always),
        "create_only" | "create-only" => Ok(Policy::CreateOnly),
        "update_only" | "update-only" => Ok(Policy::UpdateOnly),
        "never" => Ok(Policy::Never),
        other => Err(CliError::Usage(format!(
            "unknown policy `{other}` (always, create_only, update_only, never)"
        ))),
    }
}

async fn current_overrides(state: &StateHandle, flow: Flow) -> Result<(u64, MappingDoc), CliError> {
    match state.config.mapping(flow).await? {
        Some(doc) => Ok((doc.version, MappingDoc::from_json(&doc.body)?)),
        None => Ok((0, MappingDoc::default())),
    }
}

/// The flow's mapping: every field (defaults merged with overrides), which ones are
/// overridden, the overrides' version, and the value tables (with their sizes unless
/// `tables` is set).
pub async fn show_mapping(
    state: &StateHandle,
    flow: Flow,
    field: Option<&str>,
    tables: bool,
) -> Result<Value, CliError> {
    let mapper = default_mapper()?;
    let defaults = mapper
        .defaults(flow)
        .ok_or_else(|| CliError::Usage(format!("flow {flow} has no mapping")))?;
    let (version, overrides) = current_overrides(state, flow).await?;
    let merged = defaults.merged(&overrides).to_json();
    let mut fields = Map::new();
    for (name, spec) in merged["fields"].as_object().into_iter().flatten() {
        if field.is_some_and(|f| f != name) {
            continue;
        }
        let mut spec = spec.clone();
        spec["overridden"] = json!(overrides.fields.contains_key(name));
        fields.insert(name.clone(), spec);
    }
    if let Some(f) = field
        && fields.is_empty()
    {
        return Err(CliError::Usage(format!("{flow} has no field {f}")));
    }
    let tables: Map<String, Value> = merged["tables"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            let shown = if tables {
                v.clone()
            } else {
                json!(format!("{} entries", v.as_object().map_or(0, Map::len)))
            };
            (k.clone(), shown)
        })
        .collect();
    Ok(json!({"flow": flow, "version": version, "fields": fields, "tables": tables}))
}

/// Applies a change, checks it and saves it as the next version. Returns the saved
/// overrides with their version.
pub async fn change_mapping(
    state: &StateHandle,
    flow: Flow,
    change: MappingChange,
    author: &str,
) -> Result<Value, CliError> {
    let mapper = default_mapper()?;
    let (version, mut overrides) = current_overrides(state, flow).await?;
    match change {
        MappingChange::Field {
            field,
            value,
            policy,
        } => {
            if value.is_none() && policy.is_none() {
                return Err(CliError::Usage(
                    "give a value (--expr, --const or --lookup) or a --policy".into(),
                ));
            }
            let entry = overrides
                .fields
                .entry(field)
                .or_insert_with(FieldSpec::default);
            if value.is_some() {
                entry.value = value;
            }
            if policy.is_some() {
                entry.policy = policy;
            }
        }
        MappingChange::Unset { field } => {
            if overrides.fields.remove(&field).is_none() {
                return Err(CliError::Usage(format!("{field} is not overridden")));
            }
        }
        MappingChange::TableEntry { table, key, value } => {
            overrides
                .tables
                .entry(table)
                .or_default()
                .insert(key, value.unwrap_or(Value::Null));
        }
        MappingChange::Replace(doc) => overrides = MappingDoc::from_json(&doc)?,
        MappingChange::Reset => overrides = MappingDoc::default(),
    }
    let body = overrides.to_json();
    mapper.check(flow, &body)?;
    let saved = state
        .config
        .save_mapping(flow, body, version, author, Timestamp::now())
        .await?;
    Ok(json!({"flow": flow, "version": saved.version, "overrides": saved.body}))
}

/// Versions of the flow's overrides, newest first.
pub async fn mapping_history(
    state: &StateHandle,
    flow: Flow,
    limit: usize,
) -> Result<Value, CliError> {
    let versions = state.config.mapping_history(flow, limit).await?;
    Ok(Value::Array(
        versions
            .into_iter()
            .map(|d| {
                json!({
                    "version": d.version,
                    "author": d.author,
                    "saved_at": d.saved_at.to_string(),
                    "fields_overridden": d.body.get("fields").and_then(Value::as_object).map_or(0, Map::len),
                    "overrides": d.body,
                })
            })
            .collect(),
    ))
}

/// The flow's settings with every default filled in, and their version.
pub async fn show_settings(state: &StateHandle, flow: Flow) -> Result<Value, CliError> {
    let stored = state.config.settings(flow).await?;
    let (version, body) = stored.map_or((0, Value::Null), |d| (d.version, d.body));
    let filled = check_settings(flow, &body)?;
    Ok(json!({"flow": flow, "version": version, "settings": filled}))
}

/// Sets settings (`key` → JSON value; `null` removes a key, back to its default), or
/// replaces them all with `replace`; checked before saving.
pub async fn change_settings(
    state: &StateHandle,
    flow: Flow,
    pairs: &[(String, Value)],
    replace: Option<Value>,
    author: &str,
) -> Result<Value, CliError> {
    let stored = state.config.settings(flow).await?;
    let (version, body) = stored.map_or((0, Value::Null), |d| (d.version, d.body));
    let mut body = match (replace, body) {
        (Some(doc), _) => doc,
        (None, Value::Object(m)) => Value::Object(m),
        (None, _) => Value::Object(Map::new()),
    };
    if let Value::Object(map) = &mut body {
        for (key, value) in pairs {
            if value.is_null() {
                map.remove(key);
            } else {
                map.insert(key.clone(), value.clone());
            }
        }
    }
    check_settings(flow, &body)?;
    let saved = state
        .config
        .save_settings(flow, body, version, author, Timestamp::now())
        .await?;
    Ok(json!({"flow": flow, "version": saved.version, "settings": saved.body}))
}

/// Reads `key=value`: the value as JSON when it parses, else as a string.
pub fn parse_pair(text: &str) -> Result<(String, Value), CliError> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| CliError::Usage(format!("`{text}` is not key=value")))?;
    let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()));
    Ok((key.trim().to_owned(), value))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use lsbc_core::memory::MemoryStore;

    use super::*;

    fn state() -> StateHandle {
        let store = MemoryStore::new();
        StateHandle {
            cursors: Arc::new(store.clone()),
            queue: Arc::new(lsbc_core::memory::MemoryQueue::default()),
            config: Arc::new(store.clone()),
            activity: Arc::new(store.clone()),
            states: Arc::new(store.clone()),
            budgets: Arc::new(store.clone()),
            secrets: Arc::new(store),
            describe: "memory".into(),
        }
    }

    #[tokio::test]
    async fn set_unset_reset_and_history() {
        let s = state();
        let flow = Flow::Customers;
        let set = change_mapping(
            &s,
            flow,
            MappingChange::Field {
                field: "customer.displayName".into(),
                value: Some(ValueSpec::Expr(".lastName | ascii_upcase".into())),
                policy: Some(Policy::CreateOnly),
            },
            "ops",
        )
        .await
        .unwrap();
        assert_eq!(set["version"], 1);
        let shown = show_mapping(&s, flow, Some("customer.displayName"), false)
            .await
            .unwrap();
        assert_eq!(shown["fields"]["customer.displayName"]["overridden"], true);
        assert_eq!(
            shown["fields"]["customer.displayName"]["policy"],
            "create_only"
        );

        // A broken expression is refused with its position and nothing is saved.
        let err = change_mapping(
            &s,
            flow,
            MappingChange::Field {
                field: "customer.city".into(),
                value: Some(ValueSpec::Expr(".Contact.Addresses[0].city |".into())),
                policy: None,
            },
            "ops",
        )
        .await
        .unwrap_err();
        assert!(
            err.to_string().contains("customer.city") && err.to_string().contains("column"),
            "{err}"
        );

        change_mapping(
            &s,
            flow,
            MappingChange::Unset {
                field: "customer.displayName".into(),
            },
            "ops",
        )
        .await
        .unwrap();
        let shown = show_mapping(&s, flow, Some("customer.displayName"), false)
            .await
            .unwrap();
        assert_eq!(shown["fields"]["customer.displayName"]["overridden"], false);
        change_mapping(
            &s,
            flow,
            MappingChange::TableEntry {
                table: "country".into(),
                key: "ATLANTIS".into(),
                value: Some(json!("AT")),
            },
            "ops",
        )
        .await
        .unwrap();
        change_mapping(&s, flow, MappingChange::Reset, "ops")
            .await
            .unwrap();
        let history = mapping_history(&s, flow, 10).await.unwrap();
        let versions: Vec<u64> = history
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["version"].as_u64().unwrap())
            .collect();
        assert_eq!(versions, [4, 3, 2, 1]);
        assert_eq!(history[0]["fields_overridden"], 0);
        assert_eq!(history[3]["author"], "ops");
    }

    #[tokio::test]
    async fn settings_are_checked_and_merged() {
        let s = state();
        change_settings(
            &s,
            Flow::Customers,
            &[parse_pair("currency_code=EUR").unwrap()],
            None,
            "ops",
        )
        .await
        .unwrap();
        change_settings(
            &s,
            Flow::Customers,
            &[parse_pair("archived=\"block\"").unwrap()],
            None,
            "ops",
        )
        .await
        .unwrap();
        let shown = show_settings(&s, Flow::Customers).await.unwrap();
        assert_eq!(shown["version"], 2);
        assert_eq!(shown["settings"]["currency_code"], "EUR");
        assert_eq!(shown["settings"]["archived"], "block");
        let err = change_settings(
            &s,
            Flow::Customers,
            &[parse_pair("archive=block").unwrap()],
            None,
            "ops",
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("archive"), "{err}");
        assert_eq!(
            show_settings(&s, Flow::Customers).await.unwrap()["version"],
            2
        );
    }
}
