//! Contract of `LinkStore`: links round-trip exactly, an older source version never
//! overwrites a newer one (also when writers race), and links are found again by target.
//! Must not depend on an adapter.

use std::sync::Arc;

use jiff::SignedDuration;
use lsbc_core::ports::{Link, LinkStore, LinkWrite};
use lsbc_core::{ContentHash, Flow, MatchKey, SourceVersion, StoreError};
use serde_json::{Map, json};

use super::{Contender, an_hour_ago, key, race};

fn link(flow: Flow, record: &str, target: &str, version: SourceVersion) -> Link {
    let mut extra = Map::new();
    extra.insert(
        "contactId".into(),
        json!("c0ffee00-0000-0000-0000-000000000001"),
    );
    extra.insert("variants".into(), json!([{"code": "RED-M", "id": "v1"}]));
    Link {
        flow,
        key: key(record),
        target_id: target.to_owned(),
        etag: Some(format!("W/\"JzQ0O0{record}{version}\"")),
        content_hash: ContentHash::of_json(
            &json!({"record": record, "version": version.to_string()}),
        ),
        source_version: version,
        match_key: Some(MatchKey::parse(format!("{record}@example.com")).unwrap()),
        extra,
        updated_at: an_hour_ago(),
    }
}

fn at(offset_ms: i64) -> SourceVersion {
    SourceVersion::Timestamp(an_hour_ago() + SignedDuration::from_millis(offset_ms))
}

/// A record never pushed has no link.
pub async fn missing_link_is_none(store: &dyn LinkStore) {
    assert_eq!(store.get(Flow::Customers, &key("1")).await.unwrap(), None);
    assert!(
        store
            .find_by_target(Flow::Customers, "nobody")
            .await
            .unwrap()
            .is_empty()
    );
}

/// A written link reads back exactly, optional fields set or not.
pub async fn put_then_get_round_trips(store: &dyn LinkStore) {
    let full = link(Flow::Customers, "42", "bc-guid-42", at(0));
    assert_eq!(store.put(&full).await.unwrap(), LinkWrite::Written);
    assert_eq!(
        store.get(Flow::Customers, &full.key).await.unwrap(),
        Some(full.clone())
    );
    let bare = Link {
        etag: None,
        match_key: None,
        extra: Map::new(),
        ..link(
            Flow::Stock,
            "ledger:1",
            "item-1",
            SourceVersion::Sequence(17),
        )
    };
    assert_eq!(store.put(&bare).await.unwrap(), LinkWrite::Written);
    assert_eq!(store.get(Flow::Stock, &bare.key).await.unwrap(), Some(bare));
    assert_eq!(
        store.get(Flow::Orders, &full.key).await.unwrap(),
        None,
        "links are kept per flow"
    );
}

async fn staleness(store: &dyn LinkStore, flow: Flow, versions: [SourceVersion; 3]) {
    let [old, mid, new] = versions;
    let record = "item:9";
    assert_eq!(
        store
            .put(&link(flow, record, "t", mid.clone()))
            .await
            .unwrap(),
        LinkWrite::Written
    );
    let stale = link(flow, record, "t-older", old);
    assert_eq!(store.put(&stale).await.unwrap(), LinkWrite::Stale);
    let kept = store.get(flow, &key(record)).await.unwrap().unwrap();
    assert_eq!(
        (kept.source_version, kept.target_id.as_str()),
        (mid.clone(), "t"),
        "a stale write changes nothing"
    );
    let same = Link {
        etag: Some("W/\"again\"".into()),
        ..link(flow, record, "t", mid)
    };
    assert_eq!(
        store.put(&same).await.unwrap(),
        LinkWrite::Written,
        "the same version may be written again (a retried push)"
    );
    assert_eq!(store.get(flow, &key(record)).await.unwrap(), Some(same));
    let newer = link(flow, record, "t-new", new);
    assert_eq!(store.put(&newer).await.unwrap(), LinkWrite::Written);
    assert_eq!(store.get(flow, &key(record)).await.unwrap(), Some(newer));
}

/// With timestamp versions (1 ms apart): older is stale, equal and newer are written.
pub async fn older_timestamps_are_stale(store: &dyn LinkStore) {
    staleness(store, Flow::Products, [at(-1), at(0), at(1)]).await;
}

/// With sequence versions: older is stale, equal and newer are written.
pub async fn older_sequences_are_stale(store: &dyn LinkStore) {
    staleness(
        store,
        Flow::Stock,
        [
            SourceVersion::Sequence(99),
            SourceVersion::Sequence(100),
            SourceVersion::Sequence(1_000_000_000_000),
        ],
    )
    .await;
}

fn sorted_keys(links: &[Link]) -> Vec<String> {
    let mut keys: Vec<String> = links.iter().map(|l| l.key.to_string()).collect();
    keys.sort();
    keys
}

/// `find_by_target` returns every link of the flow pointing at the target, and follows a
/// link that moves to another target.
pub async fn find_by_target_follows_the_link(store: &dyn LinkStore) {
    let a = link(Flow::Products, "item:1", "bc-item-A", at(0));
    let b = link(Flow::Products, "matrix:1", "bc-item-A", at(0));
    let c = link(Flow::Products, "item:2", "bc-item-C", at(0));
    let other_flow = link(Flow::Customers, "item:1", "bc-item-A", at(0));
    for l in [&a, &b, &c, &other_flow] {
        store.put(l).await.unwrap();
    }
    let found = store
        .find_by_target(Flow::Products, "bc-item-A")
        .await
        .unwrap();
    assert_eq!(sorted_keys(&found), ["item:1", "matrix:1"]);
    assert!(
        found.contains(&a) && found.contains(&b),
        "whole links come back"
    );
    assert_eq!(
        store
            .find_by_target(Flow::Products, "bc-item-C")
            .await
            .unwrap(),
        vec![c]
    );

    let moved = link(Flow::Products, "matrix:1", "bc-item-C", at(5));
    assert_eq!(store.put(&moved).await.unwrap(), LinkWrite::Written);
    assert_eq!(
        sorted_keys(
            &store
                .find_by_target(Flow::Products, "bc-item-A")
                .await
                .unwrap()
        ),
        ["item:1"]
    );
    assert_eq!(
        sorted_keys(
            &store
                .find_by_target(Flow::Products, "bc-item-C")
                .await
                .unwrap()
        ),
        ["item:2", "matrix:1"]
    );
    assert!(
        store
            .find_by_target(Flow::Orders, "bc-item-A")
            .await
            .unwrap()
            .is_empty()
    );
}

/// Pushes of several versions of one record racing: whatever the order, the newest version
/// is written and stays; nothing older replaces it. Repeated `rounds` times, each on a new
/// record, with four writers.
pub async fn concurrent_versioned_puts_keep_the_newest(store: Arc<dyn LinkStore>, rounds: usize) {
    const WRITERS: i64 = 4;
    for round in 0..rounds {
        let record = format!("race:{round}");
        let links: Vec<Link> = (0..WRITERS)
            .map(|v| link(Flow::Orders, &record, &format!("target-{v}"), at(v)))
            .collect();
        let contenders: Vec<Contender<Result<LinkWrite, StoreError>>> = links
            .iter()
            .cloned()
            .map(|l| {
                let store = Arc::clone(&store);
                Box::pin(async move { store.put(&l).await }) as Contender<_>
            })
            .collect();
        let results = race(contenders).await;
        let newest = links.last().unwrap();
        assert_eq!(
            results.last().unwrap().as_ref().unwrap(),
            &LinkWrite::Written,
            "round {round}: the newest version is never stale"
        );
        for r in &results {
            assert!(r.is_ok(), "round {round}: {r:?}");
        }
        assert_eq!(
            store.get(Flow::Orders, &newest.key).await.unwrap().as_ref(),
            Some(newest),
            "round {round}: the newest version stays, got {results:?}"
        );
    }
}
