//! A ledger entry or a sales order → one recompute command per item it touches. Pure: no
//! API, no clock. The command names the item and why it is recomputed; the sink reads
//! both systems as they are now, so any command of an item is as good as the newest.

use async_trait::async_trait;
use lsbc_core::ports::{Transformed, Transformer};
use lsbc_core::{Flow, Record, StageError};
use serde_json::Value;

use super::command::StockCommand;
use super::keys::item_keys;

/// The stock flow's transformer.
#[derive(Debug, Clone, Copy, Default)]
pub struct StockTransformer;

#[async_trait]
impl Transformer for StockTransformer {
    fn flow(&self) -> Flow {
        Flow::Stock
    }

    async fn transform(&self, record: &Record) -> Result<Vec<Transformed>, StageError> {
        map(record)
    }
}

fn text<'a>(v: &'a Value, field: &str) -> &'a str {
    v.get(field).and_then(Value::as_str).unwrap_or_default()
}

/// The commands of `record`: an entry's item, or every item on an order's lines.
pub fn map(record: &Record) -> Result<Vec<Transformed>, StageError> {
    let p = &record.payload;
    let mut items: Vec<(String, String)> = Vec::new();
    if let Some(sweep) = p.get("sweep").and_then(Value::as_str) {
        items.push((
            text(p, "itemNumber").to_owned(),
            format!("reconciliation sweep due {sweep}, read {}", text(p, "read")),
        ));
    } else if p.get("entryNumber").is_some() {
        let location = text(p, "locationCode");
        items.push((
            text(p, "itemNumber").to_owned(),
            format!(
                "ledger entry {} ({}{})",
                p["entryNumber"],
                text(p, "entryType"),
                if location.is_empty() {
                    String::new()
                } else {
                    format!(", {location}")
                }
            ),
        ));
    } else {
        let number = text(p, "number");
        for line in p
            .get("salesOrderLines")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let item = text(line, "lineObjectNumber");
            if text(line, "lineType") == "Item"
                && !item.is_empty()
                && !items.iter().any(|(i, _)| i == item)
            {
                items.push((
                    item.to_owned(),
                    format!(
                        "sales order {number} at {}",
                        text(p, "lastModifiedDateTime")
                    ),
                ));
            }
        }
        if items.is_empty() {
            return Err(StageError::Skipped {
                key: record.key.clone(),
                rule: format!("sales order {number} has no item lines"),
            });
        }
    }
    items
        .into_iter()
        .map(|(item, cause)| {
            let (key, match_key) = item_keys(&record.key, &item)?;
            let command = serde_json::to_value(StockCommand {
                item: item.clone(),
                cause,
            })
            .map_err(|e| StageError::Config(e.to_string()))?;
            Ok(Transformed {
                key,
                match_key,
                command,
                warnings: Vec::new(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use lsbc_core::{RecordKey, SourceVersion};
    use serde_json::json;

    use super::*;

    fn record(payload: Value) -> Record {
        Record {
            flow: Flow::Stock,
            key: RecordKey::parse("1").unwrap(),
            version: SourceVersion::Sequence(1),
            payload,
        }
    }

    #[test]
    fn an_entry_recomputes_its_item_and_an_order_each_of_its_items_once() {
        let out = map(&record(json!({"entryNumber": 7, "itemNumber": "1000",
            "entryType": "Negative_x0020_Adjmt_x002E_", "locationCode": "AMS"})))
        .unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].key.as_str(), "1000");
        assert!(
            out[0].command["cause"]
                .as_str()
                .unwrap()
                .contains("entry 7")
        );
        let out = map(&record(
            json!({"id": "x", "number": "S-1", "lastModifiedDateTime": "2026-01-01T00:00:00Z",
            "salesOrderLines": [
                {"lineType": "Item", "lineObjectNumber": "A"},
                {"lineType": "Item", "lineObjectNumber": "A"},
                {"lineType": "Comment", "lineObjectNumber": ""},
                {"lineType": "Item", "lineObjectNumber": "B"}]}),
        ))
        .unwrap();
        let keys: Vec<_> = out.iter().map(|t| t.key.as_str().to_owned()).collect();
        assert_eq!(keys, ["A", "B"]);
        let err = map(&record(json!({"number": "S-2", "salesOrderLines": []}))).unwrap_err();
        assert!(matches!(err, StageError::Skipped { .. }));
    }
}
