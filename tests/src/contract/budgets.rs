//! Contract of `BudgetStore`: a booking moves a schedule to `max(schedule, now) + spend` and
//! returns it; an idle schedule restarts from `now`; keys are independent; of concurrent
//! bookers each gets its own slice (no two end at the same instant, none is lost). Must not
//! depend on an adapter. Stores keep at least microseconds.

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use lsbc_core::StoreError;
use lsbc_core::ports::BudgetStore;

use super::{Contender, race, unique};

fn now_ms() -> Timestamp {
    Timestamp::from_millisecond(Timestamp::now().as_millisecond()).expect("in range")
}

fn ms(n: i64) -> SignedDuration {
    SignedDuration::from_millis(n)
}

/// Bookings add up; a schedule in the past restarts from now.
pub async fn bookings_add_up_and_restart_when_idle(store: &dyn BudgetStore) {
    let key = format!("lightspeed#{}", unique());
    let now = now_ms();
    let spend = Duration::from_millis(250);
    assert_eq!(store.book(&key, now, spend).await.unwrap(), now + ms(250));
    assert_eq!(store.book(&key, now, spend).await.unwrap(), now + ms(500));
    assert_eq!(
        store.book(&key, now + ms(100), spend).await.unwrap(),
        now + ms(750),
        "a schedule ahead of the clock goes on from its end"
    );
    let later = now + ms(10_000);
    assert_eq!(
        store.book(&key, later, spend).await.unwrap(),
        later + ms(250),
        "an idle schedule restarts from now"
    );
    assert_eq!(
        store
            .book(&key, later, Duration::from_micros(1500))
            .await
            .unwrap(),
        later + ms(250) + SignedDuration::from_micros(1500),
        "microseconds are kept"
    );
}

/// One key's bookings don't move another's.
pub async fn budget_keys_are_independent(store: &dyn BudgetStore) {
    let (a, b) = (format!("bc#{}", unique()), format!("bc#{}", unique()));
    let now = now_ms();
    let second = Duration::from_secs(1);
    store.book(&a, now, second).await.unwrap();
    store.book(&a, now, second).await.unwrap();
    assert_eq!(store.book(&b, now, second).await.unwrap(), now + ms(1000));
}

/// Concurrent bookers each get their own slice: the schedules they get back are all
/// different and the last one is the sum of every booking.
pub async fn concurrent_bookings_each_get_a_slice(store: Arc<dyn BudgetStore>, rounds: usize) {
    const BOOKERS: usize = 6;
    for round in 0..rounds {
        let key = format!("race#{}", unique());
        let now = now_ms();
        let contenders: Vec<Contender<Result<Timestamp, StoreError>>> = (0..BOOKERS)
            .map(|_| {
                let (store, key) = (Arc::clone(&store), key.clone());
                Box::pin(async move { store.book(&key, now, Duration::from_millis(100)).await })
                    as Contender<_>
            })
            .collect();
        let mut ends: Vec<Timestamp> = race(contenders)
            .await
            .into_iter()
            .map(|r| r.unwrap_or_else(|e| panic!("round {round}: unexpected error {e:?}")))
            .collect();
        ends.sort();
        let expected: Vec<Timestamp> = (1..=i64::try_from(BOOKERS).unwrap())
            .map(|i| now + ms(100 * i))
            .collect();
        assert_eq!(ends, expected, "round {round}: one slice each, none lost");
    }
}
