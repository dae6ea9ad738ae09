//! Contract of `CursorStore`: cursors round-trip exactly, saves are conditional on the
//! revision, and of two racing savers exactly one wins. Must not depend on an adapter.

use std::sync::Arc;

use jiff::SignedDuration;
use lsbc_core::cursor::StoredCursor;
use lsbc_core::ports::CursorStore;
use lsbc_core::{Cursor, Flow, Resume, SeenMark, SourceVersion, StoreError};

use super::{Contender, an_hour_ago, key, race};

fn rich_cursor() -> Cursor {
    let at = an_hour_ago();
    Cursor {
        position: Some(SourceVersion::Timestamp(at)),
        seen: vec![
            SeenMark {
                key: key("42"),
                version: SourceVersion::Timestamp(at),
                hash: "0123456789abcdef".into(),
            },
            SeenMark {
                key: key("item:7"),
                version: SourceVersion::Timestamp(at - SignedDuration::from_secs(30)),
                hash: "fedcba9876543210".into(),
            },
        ],
        resume: Some(Resume {
            from: Some(SourceVersion::Timestamp(at - SignedDuration::from_mins(5))),
            to: SourceVersion::Timestamp(at + SignedDuration::from_mins(1)),
            page: "https://api.lightspeedapp.com/API/V3/Account/1/Customer.json?after=abc".into(),
        }),
        read_to: Some(SourceVersion::Timestamp(at - SignedDuration::from_mins(1))),
    }
}

fn sequence_cursor(n: u64) -> Cursor {
    Cursor::at(SourceVersion::Sequence(n))
}

/// Nothing is stored before the first checkpoint.
pub async fn missing_cursor_is_none(store: &dyn CursorStore) {
    assert_eq!(store.load(Flow::Customers, "Customer").await.unwrap(), None);
}

/// A saved cursor loads back exactly, with revision 1, then 2, …
pub async fn save_then_load_round_trips(store: &dyn CursorStore) {
    let cursor = rich_cursor();
    assert_eq!(
        store
            .save(Flow::Customers, "Customer", &cursor, 0)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store.load(Flow::Customers, "Customer").await.unwrap(),
        Some(StoredCursor {
            cursor: cursor.clone(),
            revision: 1
        })
    );
    let moved = Cursor::default();
    assert_eq!(
        store
            .save(Flow::Customers, "Customer", &moved, 1)
            .await
            .unwrap(),
        2
    );
    let loaded = store
        .load(Flow::Customers, "Customer")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((loaded.cursor, loaded.revision), (moved, 2));

    let seq = sequence_cursor(9_007_199_254_740_993);
    store
        .save(Flow::Stock, "ItemLedgerEntry", &seq, 0)
        .await
        .unwrap();
    let loaded = store
        .load(Flow::Stock, "ItemLedgerEntry")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        loaded.cursor, seq,
        "a sequence beyond 2^53 survives the store"
    );
}

/// A save that expects the wrong revision is a conflict and changes nothing.
pub async fn stale_revision_conflicts(store: &dyn CursorStore) {
    let first = sequence_cursor(1);
    store.save(Flow::Orders, "Sale", &first, 0).await.unwrap();
    for expected in [0, 2, 7] {
        let result = store
            .save(Flow::Orders, "Sale", &sequence_cursor(99), expected)
            .await;
        assert!(
            matches!(result, Err(StoreError::Conflict(_))),
            "save expecting revision {expected} while at 1 must conflict, got {result:?}"
        );
    }
    let loaded = store.load(Flow::Orders, "Sale").await.unwrap().unwrap();
    assert_eq!((loaded.cursor, loaded.revision), (first, 1));
}

/// Each (flow, stream) has its own cursor and revision.
pub async fn streams_and_flows_are_independent(store: &dyn CursorStore) {
    store
        .save(Flow::Products, "Item", &sequence_cursor(1), 0)
        .await
        .unwrap();
    store
        .save(Flow::Products, "ItemMatrix", &sequence_cursor(2), 0)
        .await
        .unwrap();
    store
        .save(Flow::Customers, "Item", &sequence_cursor(3), 0)
        .await
        .unwrap();
    store
        .save(Flow::Products, "Item", &sequence_cursor(4), 1)
        .await
        .unwrap();
    let load = |flow, stream: &'static str| async move {
        store.load(flow, stream).await.unwrap().unwrap()
    };
    let item = load(Flow::Products, "Item").await;
    assert_eq!((item.cursor, item.revision), (sequence_cursor(4), 2));
    let matrix = load(Flow::Products, "ItemMatrix").await;
    assert_eq!((matrix.cursor, matrix.revision), (sequence_cursor(2), 1));
    let other = load(Flow::Customers, "Item").await;
    assert_eq!((other.cursor, other.revision), (sequence_cursor(3), 1));
    assert_eq!(store.load(Flow::Orders, "Item").await.unwrap(), None);
}

/// Two pollers checkpointing the same revision at the same moment: exactly one wins, the
/// other gets a conflict, and the stored cursor is the winner's. Repeated `rounds` times
/// (the first round races the very first save).
pub async fn concurrent_saves_one_wins(store: Arc<dyn CursorStore>, rounds: usize) {
    for round in 0..rounds {
        let revision = store
            .load(Flow::Customers, "Customer")
            .await
            .unwrap()
            .map_or(0, |c| c.revision);
        assert_eq!(revision, round as u64, "one save per round");
        let contenders: Vec<Contender<(Cursor, Result<u64, StoreError>)>> = (0..2u64)
            .map(|writer| {
                let store = Arc::clone(&store);
                let cursor = sequence_cursor(round as u64 * 10 + writer);
                Box::pin(async move {
                    let result = store
                        .save(Flow::Customers, "Customer", &cursor, revision)
                        .await;
                    (cursor, result)
                }) as Contender<_>
            })
            .collect();
        let results = race(contenders).await;
        let winners: Vec<&Cursor> = results
            .iter()
            .filter_map(|(cursor, result)| match result {
                Ok(new) => {
                    assert_eq!(*new, revision + 1);
                    Some(cursor)
                }
                Err(StoreError::Conflict(_)) => None,
                Err(e) => panic!("round {round}: unexpected error {e:?}"),
            })
            .collect();
        assert_eq!(
            winners.len(),
            1,
            "round {round}: exactly one saver wins, got {results:?}"
        );
        let stored = store
            .load(Flow::Customers, "Customer")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&stored.cursor, winners[0], "round {round}");
        assert_eq!(stored.revision, revision + 1);
    }
}
