//! Contract of `StateStore`: states round-trip exactly, a write must name the version it
//! read (also when writers race: one wins), and states are listed by name, longest in the
//! state first, up to a limit. Must not depend on an adapter.

use std::sync::Arc;

use jiff::SignedDuration;
use lsbc_core::ports::{RecordState, StateStore};
use lsbc_core::{Flow, StoreError};
use serde_json::json;

use super::{Contender, an_hour_ago, key, race, unique};

fn waiting(record: &str, minutes_later: i64) -> RecordState {
    let mut state = RecordState::new(
        Flow::Orders,
        key(record),
        "waiting",
        an_hour_ago() + SignedDuration::from_mins(minutes_later),
    );
    state.reason = "missing items: TEE-1, MUG-2".into();
    state
        .detail
        .insert("missing".into(), json!(["TEE-1", "MUG-2"]));
    state
}

/// A record never given a state has none.
pub async fn missing_state_is_none(store: &dyn StateStore) {
    let got = store.get_state(Flow::Orders, &key(&unique())).await;
    assert_eq!(got.expect("get_state"), None);
}

/// A written state reads back exactly (reason, detail, times), at version 1, then 2.
pub async fn put_then_get_round_trips(store: &dyn StateStore) {
    let record = unique();
    let first = waiting(&record, 0);
    let written = store.put_state(&first).await.expect("first put");
    assert_eq!(written.version, 1);
    assert_eq!(
        written,
        RecordState {
            version: 1,
            ..first.clone()
        }
    );
    let read = store.get_state(Flow::Orders, &first.key).await.unwrap();
    assert_eq!(read.as_ref(), Some(&written));

    let moved = written.moved("created", an_hour_ago() + SignedDuration::from_mins(5));
    let again = store.put_state(&moved).await.expect("second put");
    assert_eq!(again.version, 2);
    assert_eq!(again.state, "created");
    assert_eq!(
        store.get_state(Flow::Orders, &first.key).await.unwrap(),
        Some(again)
    );
    // Another flow's record of the same key is another record.
    assert_eq!(
        store.get_state(Flow::Stock, &first.key).await.unwrap(),
        None
    );
}

/// A write naming a version that is not the stored one is a conflict and changes nothing.
pub async fn stale_version_conflicts(store: &dyn StateStore) {
    let first = waiting(&unique(), 0);
    let stored = store.put_state(&first).await.unwrap();
    // Written as if nothing were stored.
    let err = store.put_state(&first).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    // Written from a version that was never stored.
    let ahead = RecordState {
        version: 7,
        ..stored.moved("created", an_hour_ago())
    };
    let err = store.put_state(&ahead).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(
        store.get_state(Flow::Orders, &first.key).await.unwrap(),
        Some(stored)
    );
}

/// `list_states` gives a state's records, oldest `since` first, up to the limit; records
/// that left the state are not listed.
pub async fn listed_by_state_oldest_first(store: &dyn StateStore) {
    let names: Vec<String> = (0..4).map(|_| unique()).collect();
    // Entered out of order: 2 first, then 0, 3, 1.
    for (name, minutes) in names.iter().zip([10, 30, 0, 20]) {
        store.put_state(&waiting(name, minutes)).await.unwrap();
    }
    let left = store
        .get_state(Flow::Orders, &key(&names[3]))
        .await
        .unwrap()
        .unwrap();
    store
        .put_state(&left.moved("created", an_hour_ago()))
        .await
        .unwrap();

    let keys = |states: Vec<RecordState>| -> Vec<String> {
        states.into_iter().map(|s| s.key.to_string()).collect()
    };
    let all = store
        .list_states(Flow::Orders, "waiting", 10)
        .await
        .unwrap();
    assert_eq!(
        keys(all),
        [names[2].clone(), names[0].clone(), names[1].clone()]
    );
    let two = store.list_states(Flow::Orders, "waiting", 2).await.unwrap();
    assert_eq!(keys(two), [names[2].clone(), names[0].clone()]);
    let created = store
        .list_states(Flow::Orders, "created", 10)
        .await
        .unwrap();
    assert_eq!(keys(created), [names[3].clone()]);
    assert!(
        store
            .list_states(Flow::Stock, "waiting", 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Writers that read the same version race to write it: exactly one wins each round.
pub async fn concurrent_puts_one_wins(store: Arc<dyn StateStore>, rounds: usize) {
    for _ in 0..rounds {
        let base = store.put_state(&waiting(&unique(), 0)).await.unwrap();
        let contenders: Vec<Contender<Result<RecordState, StoreError>>> = (0..4)
            .map(|i| {
                let store = Arc::clone(&store);
                let mut next = base.moved("created", an_hour_ago());
                next.reason = format!("writer {i}");
                Box::pin(async move { store.put_state(&next).await }) as Contender<_>
            })
            .collect();
        let results = race(contenders).await;
        let won: Vec<&RecordState> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(won.len(), 1, "exactly one writer wins: {results:?}");
        for lost in results.iter().filter_map(|r| r.as_ref().err()) {
            assert!(matches!(lost, StoreError::Conflict(_)), "{lost:?}");
        }
        let stored = store
            .get_state(Flow::Orders, &base.key)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&stored, won[0]);
        assert_eq!(stored.version, 2);
    }
}
