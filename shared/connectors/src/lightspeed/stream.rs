//! A Lightspeed list as a [`Source`](lsbc_core::ports::Source) stream: records changed since
//! the cursor, by `timeStamp`, ascending, following the API's `next` links verbatim.

use jiff::{SignedDuration, Timestamp};
use lsbc_core::ports::{PageToken, ReadRange, Rejected, SourcePage};
use lsbc_core::{ContentHash, Flow, Record, RecordKey, SourceVersion, StageError};
use lsbc_lightspeed::{Archived, Direction, LightspeedClient, PageRequest, Query};
use serde_json::Value;

use super::connection::external;

/// The signpost of a poll starting at `now`: a second back (records stamped in the current
/// second may still be committing), truncated to whole seconds as Lightspeed stores them.
pub fn signpost(now: Timestamp) -> SourceVersion {
    let back = now.checked_sub(SignedDuration::from_secs(1)).unwrap_or(now);
    SourceVersion::Timestamp(Timestamp::from_second(back.as_second()).unwrap_or(back))
}

/// The query for one entity's records with `timeStamp` in `range`, oldest first.
pub fn changed_since(range: &ReadRange, relations: &[&str], archived: Archived) -> Query {
    changed_since_by("timeStamp", range, relations, archived)
}

/// The query for one entity's records with `stamp` (`timeStamp`, `updatetime`) in
/// `range`, oldest first.
pub fn changed_since_by(
    stamp: &str,
    range: &ReadRange,
    relations: &[&str],
    archived: Archived,
) -> Query {
    let to = match &range.to {
        SourceVersion::Timestamp(t) => *t,
        SourceVersion::Sequence(_) => Timestamp::MAX,
    };
    let query = match &range.from {
        Some(SourceVersion::Timestamp(from)) => Query::new().between(stamp, *from, to),
        _ => Query::new().between(stamp, Timestamp::UNIX_EPOCH, to),
    };
    let query = if relations.is_empty() {
        query
    } else {
        query.relations(relations.iter().copied())
    };
    query
        .sort(stamp, Direction::Asc)
        .archived(archived)
        .limit(100)
}

/// Reads one page of `entity` (`Customer`, `Item`, …) as records keyed by `id_field`.
/// A record without a usable id or `timeStamp` can't be tracked: it comes back among the
/// page's rejected records (the poll parks it with its reason), so it blocks nothing.
pub async fn read_page(
    client: &LightspeedClient,
    flow: Flow,
    entity: &str,
    id_field: &str,
    first: Query,
    page: Option<&PageToken>,
) -> Result<SourcePage, StageError> {
    read_page_by(client, flow, entity, id_field, TIME_STAMP, first, page).await
}

/// The version field of most entities.
pub const TIME_STAMP: &[&str] = &["timeStamp"];

/// Like [`read_page`], with the version read from the first of `stamps` the record has
/// (a sale's `updatetime`, which the API also spells `updateTime`).
pub async fn read_page_by(
    client: &LightspeedClient,
    flow: Flow,
    entity: &str,
    id_field: &str,
    stamps: &[&str],
    first: Query,
    page: Option<&PageToken>,
) -> Result<SourcePage, StageError> {
    let request = match page {
        Some(token) => PageRequest::Link(token.0.clone()),
        None => PageRequest::First(first),
    };
    let raw = client.page_raw(entity, request).await.map_err(external)?;
    let mut out = SourcePage::of(
        Vec::with_capacity(raw.records.len()),
        raw.next.map(PageToken),
    );
    for payload in raw.records {
        match keyed_by(flow, entity, id_field, stamps, payload) {
            Ok(record) => out.records.push(record),
            Err(rejected) => out.rejected.push(*rejected),
        }
    }
    Ok(out)
}

/// The record for a raw Lightspeed entity: key from `id_field`, version from `timeStamp`;
/// or, when either can't be read, the rejected record naming the field.
pub fn keyed(
    flow: Flow,
    entity: &str,
    id_field: &str,
    payload: Value,
) -> Result<Record, Box<Rejected>> {
    keyed_by(flow, entity, id_field, TIME_STAMP, payload)
}

/// Like [`keyed`], with the version read from the first of `stamps` the record has.
pub fn keyed_by(
    flow: Flow,
    entity: &str,
    id_field: &str,
    stamps: &[&str],
    payload: Value,
) -> Result<Record, Box<Rejected>> {
    let id = payload
        .get(id_field)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    let reject = |key: RecordKey, field: &str, reason: String, payload: Value| {
        Box::new(Rejected {
            key,
            field: field.to_owned(),
            reason,
            payload,
        })
    };
    let Some(id) = id else {
        let key = unidentified(&payload);
        return Err(reject(
            key,
            id_field,
            format!("{entity} without `{id_field}`"),
            payload,
        ));
    };
    let key = match RecordKey::parse(id.as_str()) {
        Ok(key) => key,
        Err(e) => {
            let key = unidentified(&payload);
            return Err(reject(
                key,
                id_field,
                format!("{entity} {id}: {e}"),
                payload,
            ));
        }
    };
    let field = stamps
        .iter()
        .copied()
        .find(|f| payload.get(*f).is_some_and(|v| !v.is_null()))
        .unwrap_or(stamps.first().copied().unwrap_or("timeStamp"));
    let stamp = payload.get(field).and_then(Value::as_str);
    let version = match stamp.map(|s| (s, s.parse::<Timestamp>())) {
        Some((_, Ok(t))) => SourceVersion::Timestamp(t),
        Some((text, Err(e))) => {
            let reason = format!("{entity} {id}: `{field}` {text}: {e}");
            return Err(reject(key, field, reason, payload));
        }
        None => {
            let reason = format!("{entity} {id} without `{field}`");
            return Err(reject(key, field, reason, payload));
        }
    };
    Ok(Record {
        flow,
        key,
        version,
        payload,
    })
}

/// The key of a record without a usable id: `unidentified-` and a hash of its content.
fn unidentified(payload: &Value) -> RecordKey {
    RecordKey::unidentified(&ContentHash::of_json(payload))
}

/// A rejected record as the error of a re-read by key.
pub fn rejected_error(rejected: &Rejected) -> StageError {
    StageError::InvalidRecord {
        key: rejected.key.clone(),
        field: rejected.field.clone(),
        reason: rejected.reason.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_signpost_is_a_whole_second_behind() {
        let now: Timestamp = "2026-03-01T10:00:05.750Z".parse().unwrap();
        assert_eq!(
            signpost(now),
            SourceVersion::Timestamp("2026-03-01T10:00:04Z".parse().unwrap())
        );
    }

    #[test]
    fn records_are_keyed_by_id_and_time_stamp() {
        let r = keyed(
            Flow::Customers,
            "Customer",
            "customerID",
            json!({"customerID": "42", "timeStamp": "2021-03-21T20:03:58+00:00"}),
        )
        .unwrap();
        assert_eq!(r.key.as_str(), "42");
        assert_eq!(
            r.version,
            SourceVersion::Timestamp("2021-03-21T20:03:58Z".parse().unwrap())
        );
        let e = keyed(
            Flow::Customers,
            "Customer",
            "customerID",
            json!({"timeStamp": "x"}),
        )
        .unwrap_err();
        assert_eq!(e.field, "customerID");
        assert!(e.key.as_str().starts_with("unidentified-"), "{}", e.key);
        let e = keyed(
            Flow::Customers,
            "Customer",
            "customerID",
            json!({"customerID": "1", "timeStamp": "soon"}),
        )
        .unwrap_err();
        assert_eq!((e.key.as_str(), e.field.as_str()), ("1", "timeStamp"));
        assert!(e.reason.contains("soon"), "{}", e.reason);
    }
}
