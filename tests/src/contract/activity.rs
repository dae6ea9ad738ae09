//! Contract of `ActivityLog`: entries round-trip exactly and queries by flow, record,
//! outcome and time come back newest first within their limit; the expiry reaches the
//! store's own expiry mechanism (checked through an adapter-specific [`ExpiryProbe`]). Must
//! not depend on an adapter.

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use lsbc_core::ports::{ActivityEntry, ActivityLog, ActivityQuery, Outcome};
use lsbc_core::{Flow, TraceId};
use serde_json::json;

use super::{an_hour_ago, key, unique};

/// How an adapter's own expiry of activity entries is seen from outside the port.
#[async_trait]
pub trait ExpiryProbe: Send + Sync {
    /// The expiry the store keeps for `entry`, in epoch seconds (for DynamoDB: the item's
    /// TTL attribute), or `None` if the entry or its expiry isn't there.
    async fn stored_expiry(&self, entry: &ActivityEntry) -> Option<i64>;

    /// Whether the store deletes expired entries by itself (for DynamoDB: the table's TTL
    /// is enabled on the attribute the adapter writes).
    async fn expiry_enabled(&self) -> bool;
}

/// An entry of `flow`/`record` at `at` (+ 14 days to expire), with payloads.
pub fn entry(flow: Flow, record: &str, outcome: Outcome, at: Timestamp) -> ActivityEntry {
    ActivityEntry {
        id: unique(),
        flow,
        key: key(record),
        trace_id: TraceId::new(),
        stage: "push".into(),
        outcome,
        message: format!("{outcome} {record}"),
        at,
        expires_at: at + SignedDuration::from_hours(14 * 24),
        source: Some(json!({"customerID": record, "firstName": "Zoë", "archived": "false"})),
        target: Some(json!({"displayName": "Zoë", "email": "zoe@example.com"})),
    }
}

fn ms(n: i64) -> SignedDuration {
    SignedDuration::from_millis(n)
}

async fn record_all(log: &dyn ActivityLog, entries: &[ActivityEntry]) {
    for e in entries {
        log.record(e).await.unwrap();
    }
}

fn newest_first(entries: &[ActivityEntry]) -> Vec<ActivityEntry> {
    let mut sorted = entries.to_vec();
    sorted.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| b.id.cmp(&a.id)));
    sorted
}

fn ids(entries: &[ActivityEntry]) -> Vec<String> {
    entries
        .iter()
        .map(|e| format!("{}@{}", e.key, e.at))
        .collect()
}

async fn assert_query(log: &dyn ActivityLog, query: ActivityQuery, expected: &[ActivityEntry]) {
    let found = log.query(&query).await.unwrap();
    assert_eq!(
        ids(&found),
        ids(expected),
        "query {query:?}: wrong entries or order"
    );
    assert_eq!(found, expected, "query {query:?}: entries not kept exactly");
}

/// Every field comes back exactly: sub-second times, unicode, payloads present or absent
/// (ids-only mode), an empty message.
pub async fn entries_round_trip(log: &dyn ActivityLog) {
    let at = an_hour_ago();
    let full = entry(Flow::Customers, "42", Outcome::Created, at);
    let ids_only = ActivityEntry {
        source: None,
        target: None,
        message: String::new(),
        stage: "transform".into(),
        ..entry(Flow::Customers, "43", Outcome::Skipped, at + ms(1))
    };
    let failed = ActivityEntry {
        message: "BC refused: 400 Name is longer than 100 — « ü »".into(),
        source: Some(json!([1, 2.5, null, {"nested": {"deep": true}}])),
        target: None,
        ..entry(Flow::Orders, "sale:7", Outcome::Failed, at + ms(2))
    };
    record_all(log, &[full.clone(), ids_only.clone(), failed.clone()]).await;
    assert_query(log, ActivityQuery::default(), &[failed, ids_only, full]).await;
}

/// By flow, newest first, with the limit taking the newest; without a flow, every flow
/// merged newest first; ties in time ordered by id, descending.
pub async fn query_by_flow_newest_first(log: &dyn ActivityLog) {
    let t = an_hour_ago();
    let offsets_customers = [5, 1, 9, 3, 7];
    let offsets_orders = [2, 8, 4];
    let customers: Vec<ActivityEntry> = offsets_customers
        .iter()
        .map(|&o| {
            entry(
                Flow::Customers,
                &format!("c{o}"),
                Outcome::Created,
                t + ms(o * 1000),
            )
        })
        .collect();
    let orders: Vec<ActivityEntry> = offsets_orders
        .iter()
        .map(|&o| {
            entry(
                Flow::Orders,
                &format!("o{o}"),
                Outcome::Updated,
                t + ms(o * 1000),
            )
        })
        .collect();
    // Two entries at the very same time.
    let tie_a = ActivityEntry {
        id: "tie-a".into(),
        ..entry(Flow::Products, "p1", Outcome::Unchanged, t + ms(6000))
    };
    let tie_b = ActivityEntry {
        id: "tie-b".into(),
        ..entry(Flow::Products, "p2", Outcome::Unchanged, t + ms(6000))
    };
    let all: Vec<ActivityEntry> = customers
        .iter()
        .chain(&orders)
        .chain([&tie_a, &tie_b])
        .cloned()
        .collect();
    record_all(log, &all).await;

    let by_flow = |flow, limit| ActivityQuery {
        flow: Some(flow),
        limit,
        ..ActivityQuery::default()
    };
    assert_query(log, by_flow(Flow::Customers, 0), &newest_first(&customers)).await;
    assert_query(
        log,
        by_flow(Flow::Customers, 2),
        &newest_first(&customers)[..2],
    )
    .await;
    assert_query(log, by_flow(Flow::Orders, 10), &newest_first(&orders)).await;
    assert_query(log, by_flow(Flow::Stock, 10), &[]).await;
    assert_query(
        log,
        by_flow(Flow::Products, 10),
        &[tie_b.clone(), tie_a.clone()],
    )
    .await;
    assert_query(log, ActivityQuery::default(), &newest_first(&all)).await;
    assert_query(
        log,
        ActivityQuery {
            limit: 4,
            ..ActivityQuery::default()
        },
        &newest_first(&all)[..4],
    )
    .await;
}

/// Without a limit, at most 100 entries (the newest) come back.
pub async fn default_limit_is_100(log: &dyn ActivityLog) {
    let t = an_hour_ago();
    let all: Vec<ActivityEntry> = (0..105)
        .map(|i| entry(Flow::Stock, &format!("s{i}"), Outcome::Updated, t + ms(i)))
        .collect();
    record_all(log, &all).await;
    assert_query(
        log,
        ActivityQuery {
            flow: Some(Flow::Stock),
            ..ActivityQuery::default()
        },
        &newest_first(&all)[..100],
    )
    .await;
}

/// By record: only that record's entries, newest first; with or without its flow.
pub async fn query_by_record(log: &dyn ActivityLog) {
    let t = an_hour_ago();
    let mine: Vec<ActivityEntry> = (0..4)
        .map(|i| {
            let outcome = if i == 0 {
                Outcome::Created
            } else {
                Outcome::Updated
            };
            entry(Flow::Customers, "k1", outcome, t + ms(i * 10))
        })
        .collect();
    let others = [
        entry(Flow::Customers, "k2", Outcome::Created, t + ms(5)),
        entry(Flow::Customers, "k10", Outcome::Created, t + ms(15)),
        entry(Flow::Orders, "k1", Outcome::Created, t + ms(25)),
    ];
    record_all(log, &mine).await;
    record_all(log, &others).await;
    let by_record = |flow, limit| ActivityQuery {
        flow,
        key: Some(key("k1")),
        limit,
        ..ActivityQuery::default()
    };
    assert_query(
        log,
        by_record(Some(Flow::Customers), 0),
        &newest_first(&mine),
    )
    .await;
    assert_query(
        log,
        by_record(Some(Flow::Customers), 3),
        &newest_first(&mine)[..3],
    )
    .await;
    let mut both_flows = mine.clone();
    both_flows.push(others[2].clone());
    assert_query(log, by_record(None, 0), &newest_first(&both_flows)).await;
    assert_query(
        log,
        ActivityQuery {
            flow: Some(Flow::Products),
            key: Some(key("k1")),
            ..ActivityQuery::default()
        },
        &[],
    )
    .await;
}

/// By outcome, alone and with flow, record and limit: the limit counts matching entries
/// only (the oldest entries are the only failures here).
pub async fn query_by_outcome(log: &dyn ActivityLog) {
    let t = an_hour_ago();
    let all: Vec<ActivityEntry> = (0..30)
        .map(|i| {
            let outcome = if i < 3 {
                Outcome::Failed
            } else {
                Outcome::Updated
            };
            let record = if i % 2 == 0 { "even" } else { "odd" };
            entry(Flow::Products, record, outcome, t + ms(i * 1000))
        })
        .collect();
    let other_flow = entry(Flow::Orders, "even", Outcome::Failed, t + ms(100_000));
    record_all(log, &all).await;
    log.record(&other_flow).await.unwrap();
    let failed: Vec<ActivityEntry> = newest_first(&all[..3]);
    let q = |flow, record: Option<&str>, limit| ActivityQuery {
        flow,
        key: record.map(key),
        outcome: Some(Outcome::Failed),
        limit,
        ..ActivityQuery::default()
    };
    assert_query(log, q(Some(Flow::Products), None, 0), &failed).await;
    assert_query(log, q(Some(Flow::Products), None, 2), &failed[..2]).await;
    assert_query(
        log,
        q(Some(Flow::Products), Some("even"), 0),
        &[failed[0].clone(), failed[2].clone()],
    )
    .await;
    let mut everywhere = vec![other_flow];
    everywhere.extend(failed.iter().cloned());
    assert_query(log, q(None, None, 0), &everywhere).await;
    assert_query(
        log,
        ActivityQuery {
            flow: Some(Flow::Products),
            outcome: Some(Outcome::Skipped),
            ..ActivityQuery::default()
        },
        &[],
    )
    .await;
}

/// By time: `since` is inclusive, `until` exclusive, alone or together, with a record
/// and with a limit; an empty range finds nothing.
pub async fn query_by_time_range(log: &dyn ActivityLog) {
    let t = an_hour_ago();
    let offsets = [0, 1000, 2000, 2500, 3000, 4000];
    let all: Vec<ActivityEntry> = offsets
        .iter()
        .map(|&o| {
            entry(
                Flow::Orders,
                &format!("sale:{}", o % 2000),
                Outcome::Created,
                t + ms(o),
            )
        })
        .collect();
    record_all(log, &all).await;
    let range = |since: Option<i64>, until: Option<i64>| ActivityQuery {
        flow: Some(Flow::Orders),
        since: since.map(|s| t + ms(s)),
        until: until.map(|u| t + ms(u)),
        ..ActivityQuery::default()
    };
    let pick = |wanted: &[i64]| -> Vec<ActivityEntry> {
        newest_first(
            &all.iter()
                .zip(offsets)
                .filter(|(_, o)| wanted.contains(o))
                .map(|(e, _)| e.clone())
                .collect::<Vec<_>>(),
        )
    };
    assert_query(
        log,
        range(Some(1000), Some(3000)),
        &pick(&[1000, 2000, 2500]),
    )
    .await;
    assert_query(log, range(Some(2500), None), &pick(&[2500, 3000, 4000])).await;
    assert_query(log, range(None, Some(2000)), &pick(&[0, 1000])).await;
    assert_query(log, range(Some(1001), Some(1999)), &[]).await;
    assert_query(log, range(Some(3000), Some(3000)), &[]).await;
    assert_query(log, range(Some(3000), Some(1000)), &[]).await;
    assert_query(
        log,
        ActivityQuery {
            key: Some(key("sale:0")),
            ..range(Some(1), None)
        },
        &pick(&[2000, 4000]),
    )
    .await;
    assert_query(
        log,
        ActivityQuery {
            limit: 2,
            ..range(Some(0), Some(4000))
        },
        &pick(&[3000, 2500]),
    )
    .await;
    assert_query(
        log,
        ActivityQuery {
            flow: None,
            ..range(Some(4000), Some(4001))
        },
        &pick(&[4000]),
    )
    .await;
}

/// `expires_at` comes back exactly, sub-second part included.
pub async fn expiry_round_trips(log: &dyn ActivityLog) {
    let e = ActivityEntry {
        expires_at: an_hour_ago() + SignedDuration::from_hours(24) + ms(750),
        ..entry(Flow::Customers, "ttl", Outcome::Created, an_hour_ago())
    };
    log.record(&e).await.unwrap();
    let found = log
        .query(&ActivityQuery {
            flow: Some(Flow::Customers),
            ..ActivityQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(found, vec![e]);
}

/// The store's own expiry is on, and each entry carries its `expires_at` (in whole epoch
/// seconds) where that expiry looks for it.
pub async fn expiry_is_stored(log: &dyn ActivityLog, probe: &dyn ExpiryProbe) {
    assert!(
        probe.expiry_enabled().await,
        "the store must delete expired entries by itself (TTL enabled)"
    );
    let t = an_hour_ago();
    let entries = [
        entry(Flow::Customers, "a", Outcome::Created, t),
        ActivityEntry {
            expires_at: t + SignedDuration::from_hours(1) + ms(999),
            ..entry(Flow::Orders, "b", Outcome::Failed, t + ms(1))
        },
    ];
    record_all(log, &entries).await;
    for e in &entries {
        assert_eq!(
            probe.stored_expiry(e).await,
            Some(e.expires_at.as_second()),
            "stored expiry of {}",
            e.key
        );
    }
}
