//! The stock flow's keys: a ledger entry is its entry number, a sales order its SystemId;
//! a command is the Business Central item number, as record key (one link and one claim per
//! item) and as match key (one FIFO group per item: its recomputes never overlap).

use lsbc_core::{MatchKey, RecordKey, StageError};

/// The command key and match key of item `item`; `record` names the record it came from
/// in the error when the number can't be a key.
pub fn item_keys(record: &RecordKey, item: &str) -> Result<(RecordKey, MatchKey), StageError> {
    let bad = |e: String| StageError::InvalidRecord {
        key: record.clone(),
        field: "itemNumber".into(),
        reason: format!("`{item}` can't be a key: {e}"),
    };
    let key = RecordKey::parse(item).map_err(|e| bad(e.to_string()))?;
    let match_key = MatchKey::parse(item).map_err(|e| bad(e.to_string()))?;
    Ok((key, match_key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_number_is_both_keys_and_a_bad_one_names_the_field() {
        let record = RecordKey::parse("4711").unwrap();
        let (key, group) = item_keys(&record, "1896-S").unwrap();
        assert_eq!((key.as_str(), group.as_str()), ("1896-S", "1896-S"));
        let err = item_keys(&record, "").unwrap_err().to_string();
        assert!(err.contains("itemNumber"), "{err}");
    }
}
