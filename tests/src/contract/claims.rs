//! Contract of `ClaimStore`: a claim has one holder until it expires or is released, its
//! holder may take it again (extending it), and of racing claimants exactly one wins. Must
//! not depend on an adapter.

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use lsbc_core::ports::{ClaimKey, ClaimStore};
use lsbc_core::{Flow, StoreError};

use super::{Contender, race, unique};

const TEN_S: Duration = Duration::from_secs(10);

fn secs(n: i64) -> SignedDuration {
    SignedDuration::from_secs(n)
}

fn fresh_key() -> ClaimKey {
    ClaimKey::match_key(Flow::Customers, &format!("{}@example.com", unique()))
}

/// A free claim goes to the first asker; others are refused while it lasts.
pub async fn free_claim_is_granted_once(store: &dyn ClaimStore) {
    let key = fresh_key();
    let now = Timestamp::now();
    assert!(store.acquire(&key, "worker-a", TEN_S, now).await.unwrap());
    assert!(
        !store
            .acquire(&key, "worker-b", TEN_S, now + secs(1))
            .await
            .unwrap()
    );
    assert!(
        !store
            .acquire(&key, "worker-b", TEN_S, now + secs(9))
            .await
            .unwrap(),
        "still held a moment before it ends"
    );
}

/// From the moment a claim ends, someone else may take it; then its old holder can't.
pub async fn expired_claim_can_be_taken_over(store: &dyn ClaimStore) {
    let key = fresh_key();
    let now = Timestamp::now();
    assert!(store.acquire(&key, "worker-a", TEN_S, now).await.unwrap());
    assert!(
        store
            .acquire(&key, "worker-b", TEN_S, now + secs(10))
            .await
            .unwrap(),
        "a claim is free from its end on"
    );
    assert!(
        !store
            .acquire(&key, "worker-a", TEN_S, now + secs(11))
            .await
            .unwrap(),
        "the old holder lost it"
    );
}

/// The holder may take its claim again before it ends, which extends it.
pub async fn owner_reacquires_and_extends(store: &dyn ClaimStore) {
    let key = ClaimKey::named(&format!("token-refresh#{}", unique()));
    let now = Timestamp::now();
    assert!(store.acquire(&key, "refresher", TEN_S, now).await.unwrap());
    assert!(
        store
            .acquire(&key, "refresher", TEN_S, now + secs(8))
            .await
            .unwrap()
    );
    assert!(
        !store
            .acquire(&key, "other", TEN_S, now + secs(12))
            .await
            .unwrap(),
        "held until 8 s + 10 s"
    );
    assert!(
        store
            .acquire(&key, "other", TEN_S, now + secs(18))
            .await
            .unwrap()
    );
}

/// Only the holder's release frees a claim; releasing a claim one doesn't hold (or that
/// doesn't exist) does nothing and is no error.
pub async fn release_only_by_owner(store: &dyn ClaimStore) {
    let key = ClaimKey::record(Flow::Orders, &unique());
    let now = Timestamp::now();
    store.release(&key, "nobody").await.unwrap();
    assert!(store.acquire(&key, "worker-a", TEN_S, now).await.unwrap());
    store.release(&key, "worker-b").await.unwrap();
    assert!(
        !store
            .acquire(&key, "worker-b", TEN_S, now + secs(1))
            .await
            .unwrap(),
        "someone else's release changes nothing"
    );
    store.release(&key, "worker-a").await.unwrap();
    assert!(
        store
            .acquire(&key, "worker-b", TEN_S, now + secs(1))
            .await
            .unwrap(),
        "free once released"
    );
    store.release(&key, "worker-b").await.unwrap();
    store.release(&key, "worker-b").await.unwrap();
}

/// Claims on different keys (record, match key, named; other flows) don't interfere.
pub async fn keys_are_independent(store: &dyn ClaimStore) {
    let id = unique();
    let now = Timestamp::now();
    let keys = [
        ClaimKey::record(Flow::Customers, &id),
        ClaimKey::match_key(Flow::Customers, &id),
        ClaimKey::record(Flow::Orders, &id),
        ClaimKey::named(&id),
    ];
    for (i, key) in keys.iter().enumerate() {
        assert!(
            store
                .acquire(key, &format!("worker-{i}"), TEN_S, now)
                .await
                .unwrap(),
            "{key}"
        );
    }
}

/// Claimants racing for a free claim, then for an expired one: exactly one wins each time.
/// Repeated `rounds` times with three claimants.
pub async fn concurrent_acquire_one_wins(store: Arc<dyn ClaimStore>, rounds: usize) {
    const CLAIMANTS: usize = 3;
    for round in 0..rounds {
        let key = fresh_key();
        let now = Timestamp::now();
        for (phase, at) in [("free", now), ("expired", now + secs(60))] {
            let contenders: Vec<Contender<Result<bool, StoreError>>> = (0..CLAIMANTS)
                .map(|i| {
                    let (store, key) = (Arc::clone(&store), key.clone());
                    let owner = format!("{phase}-{i}");
                    Box::pin(async move { store.acquire(&key, &owner, TEN_S, at).await })
                        as Contender<_>
                })
                .collect();
            let results = race(contenders).await;
            let winners: Vec<usize> = results
                .iter()
                .enumerate()
                .filter_map(|(i, r)| match r {
                    Ok(true) => Some(i),
                    Ok(false) => None,
                    Err(e) => panic!("round {round}: unexpected error {e:?}"),
                })
                .collect();
            assert_eq!(
                winners.len(),
                1,
                "round {round}, {phase} claim: exactly one claimant wins"
            );
            let winner = format!("{phase}-{}", winners[0]);
            assert!(
                store
                    .acquire(&key, &winner, TEN_S, at + secs(1))
                    .await
                    .unwrap(),
                "round {round}: the winner holds it"
            );
            assert!(
                !store
                    .acquire(&key, "late", TEN_S, at + secs(1))
                    .await
                    .unwrap(),
                "round {round}: nobody else does"
            );
        }
    }
}
