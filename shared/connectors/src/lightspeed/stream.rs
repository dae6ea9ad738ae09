//! A Lightspeed list as a [`Source`](lsbc_core::ports::Source) stream: records changed since
//! the cursor, by `timeStamp`, ascending, following the API's `next` links verbatim.

use jiff::{SignedDuration, Timestamp};
use lsbc_core::ports::{PageToken, ReadRange, SourcePage};
use lsbc_core::{Flow, Record, RecordKey, SourceVersion, StageError};
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
    let to = match &range.to {
        SourceVersion::Timestamp(t) => *t,
        SourceVersion::Sequence(_) => Timestamp::MAX,
    };
    let query = match &range.from {
        Some(SourceVersion::Timestamp(from)) => Query::new().between("timeStamp", *from, to),
        _ => Query::new().between("timeStamp", Timestamp::UNIX_EPOCH, to),
    };
    let query = if relations.is_empty() {
        query
    } else {
        query.relations(relations.iter().copied())
    };
    query
        .sort("timeStamp", Direction::Asc)
        .archived(archived)
        .limit(100)
}

/// Reads one page of `entity` (`Customer`, `Item`, …) as records keyed by `id_field`.
/// A record without a usable id or `timeStamp` can't be tracked: it is logged and left out,
/// so it blocks nothing.
pub async fn read_page(
    client: &LightspeedClient,
    flow: Flow,
    entity: &str,
    id_field: &str,
    first: Query,
    page: Option<&PageToken>,
) -> Result<SourcePage, StageError> {
    let request = match page {
        Some(token) => PageRequest::Link(token.0.clone()),
        None => PageRequest::First(first),
    };
    let raw = client.page_raw(entity, request).await.map_err(external)?;
    let mut records = Vec::with_capacity(raw.records.len());
    for payload in raw.records {
        match keyed(flow, entity, id_field, payload) {
            Ok(record) => records.push(record),
            Err(problem) => tracing::error!(%flow, entity, %problem, "Lightspeed record left out."),
        }
    }
    Ok(SourcePage {
        records,
        next: raw.next.map(PageToken),
    })
}

/// The record for a raw Lightspeed entity: key from `id_field`, version from `timeStamp`.
pub fn keyed(flow: Flow, entity: &str, id_field: &str, payload: Value) -> Result<Record, String> {
    let id = payload
        .get(id_field)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("{entity} without `{id_field}`"))?;
    let key = RecordKey::parse(id).map_err(|e| format!("{entity} {id}: {e}"))?;
    let stamp = payload
        .get("timeStamp")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{entity} {id} without `timeStamp`"))?;
    let version = stamp
        .parse::<Timestamp>()
        .map(SourceVersion::Timestamp)
        .map_err(|e| format!("{entity} {id}: `timeStamp` {stamp}: {e}"))?;
    Ok(Record {
        flow,
        key,
        version,
        payload,
    })
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
        assert!(e.contains("customerID"), "{e}");
        let e = keyed(
            Flow::Customers,
            "Customer",
            "customerID",
            json!({"customerID": "1", "timeStamp": "soon"}),
        )
        .unwrap_err();
        assert!(e.contains("timeStamp"), "{e}");
    }
}
