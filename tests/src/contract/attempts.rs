//! Contract of `AttemptStore`: a message's failed attempts count up from 1, per queue and
//! message id, and concurrent counts are all kept. Must not depend on an adapter.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use lsbc_core::StoreError;
use lsbc_core::ports::AttemptStore;

use super::{Contender, race, unique};

const KEEP: Duration = Duration::from_hours(1);

/// Counts start at 1 and rise by one; other messages and queues have their own.
pub async fn attempts_count_up_per_message(store: &dyn AttemptStore) {
    let id = unique();
    let now = Timestamp::now();
    for expected in 1..=3 {
        assert_eq!(
            store
                .count_failure("push-orders", &id, now, KEEP)
                .await
                .unwrap(),
            expected
        );
    }
    assert_eq!(
        store
            .count_failure("push-orders", &unique(), now, KEEP)
            .await
            .unwrap(),
        1,
        "another message"
    );
    assert_eq!(
        store
            .count_failure("push-stock", &id, now, KEEP)
            .await
            .unwrap(),
        1,
        "the same id on another queue"
    );
}

/// Concurrent failures of one message are all counted.
pub async fn concurrent_attempts_are_all_counted(store: Arc<dyn AttemptStore>, rounds: usize) {
    const FAILURES: u32 = 5;
    for round in 0..rounds {
        let id = unique();
        let now = Timestamp::now();
        let contenders: Vec<Contender<Result<u32, StoreError>>> = (0..FAILURES)
            .map(|_| {
                let (store, id) = (Arc::clone(&store), id.clone());
                Box::pin(async move { store.count_failure("q", &id, now, KEEP).await })
                    as Contender<_>
            })
            .collect();
        let mut counts: Vec<u32> = race(contenders)
            .await
            .into_iter()
            .map(|r| r.unwrap_or_else(|e| panic!("round {round}: unexpected error {e:?}")))
            .collect();
        counts.sort_unstable();
        assert_eq!(counts, (1..=FAILURES).collect::<Vec<_>>(), "round {round}");
    }
}
