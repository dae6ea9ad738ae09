//! The port contract suites: what every adapter of a port must do, written once and run
//! unchanged against the in-memory, AWS and embedded adapters. Each check asserts the
//! semantics of the port's docs and of `lsbc_core::memory`; it must not know which adapter
//! it runs against.
//!
//! How to run them:
//! - Each check is a `pub async fn` taking the port as `&dyn Trait`. Checks in which writers
//!   race take `Arc<dyn Trait>` instead, because they spawn the writers as separate tasks
//!   (`JoinSet`): run them on a multi-thread runtime
//!   (`#[tokio::test(flavor = "multi_thread")]`) so the writers really run at once.
//! - Give every check a fresh, empty store or queue: the activity and queue checks count
//!   what they find.
//! - A check panics (fails the test) with a message saying what went wrong.
//! - The checks every store runs are listed once, in [`for_each_store_check!`](crate::for_each_store_check) and
//!   [`for_each_race_check!`](crate::for_each_race_check): each home's test file defines a
//!   macro that makes one test of a check on its own fresh store, and hands it to these.
//!
//! | module | port |
//! |---|---|
//! | [`cursors`] | `CursorStore` |
//! | [`config`] | `ConfigStore` (and its `MappingStore` / `SettingsStore` views) |
//! | [`links`] | `LinkStore` |
//! | [`claims`] | `ClaimStore` |
//! | [`budgets`] | `BudgetStore` |
//! | [`attempts`] | `AttemptStore` |
//! | [`states`] | `StateStore` |
//! | [`activity`] | `ActivityLog` (+ an adapter-specific [`activity::ExpiryProbe`]) |
//! | [`secrets`] | `SecretStore` |
//! | [`queue`] | `Queue` |

pub mod activity;
pub mod attempts;
pub mod budgets;
pub mod claims;
pub mod config;
pub mod cursors;
pub mod links;
pub mod queue;
pub mod secrets;
pub mod states;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use lsbc_core::RecordKey;
use tokio::sync::Barrier;
use tokio::task::JoinSet;

/// Invokes `$m! { name => check, ... }` with every store check that takes the store as
/// `&dyn Trait` (cursors, config, links, claims, states, activity): the one list each home runs.
/// `name` is the test's name, `check` the path of the check.
///
/// ```ignore
/// macro_rules! store_checks {
///     ($($name:ident => $check:path),* $(,)?) => {$(
///         #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
///         async fn $name() { $check(&fresh_store()).await; }
///     )*};
/// }
/// lsbc_tests::for_each_store_check!(store_checks);
/// ```
#[macro_export]
macro_rules! for_each_store_check {
    ($m:ident) => {
        $m! {
            cursor_missing_is_none => $crate::contract::cursors::missing_cursor_is_none,
            cursor_round_trips => $crate::contract::cursors::save_then_load_round_trips,
            cursor_stale_revision_conflicts => $crate::contract::cursors::stale_revision_conflicts,
            cursor_streams_are_independent => $crate::contract::cursors::streams_and_flows_are_independent,
            config_unsaved_is_none => $crate::contract::config::unsaved_config_is_none,
            config_versions_and_history => $crate::contract::config::versions_and_history,
            config_reset_is_a_new_version => $crate::contract::config::reset_is_a_new_version,
            config_stale_version_conflicts => $crate::contract::config::stale_version_conflicts,
            config_kinds_are_independent => $crate::contract::config::kinds_and_flows_are_independent,
            link_missing_is_none => $crate::contract::links::missing_link_is_none,
            link_round_trips => $crate::contract::links::put_then_get_round_trips,
            link_older_timestamps_are_stale => $crate::contract::links::older_timestamps_are_stale,
            link_older_sequences_are_stale => $crate::contract::links::older_sequences_are_stale,
            link_find_by_target => $crate::contract::links::find_by_target_follows_the_link,
            claim_granted_once => $crate::contract::claims::free_claim_is_granted_once,
            claim_expired_taken_over => $crate::contract::claims::expired_claim_can_be_taken_over,
            claim_reacquire_extends => $crate::contract::claims::owner_reacquires_and_extends,
            claim_release_only_by_owner => $crate::contract::claims::release_only_by_owner,
            claim_keys_are_independent => $crate::contract::claims::keys_are_independent,
            budget_bookings_add_up => $crate::contract::budgets::bookings_add_up_and_restart_when_idle,
            budget_keys_are_independent => $crate::contract::budgets::budget_keys_are_independent,
            attempts_count_up => $crate::contract::attempts::attempts_count_up_per_message,
            state_missing_is_none => $crate::contract::states::missing_state_is_none,
            state_round_trips => $crate::contract::states::put_then_get_round_trips,
            state_stale_version_conflicts => $crate::contract::states::stale_version_conflicts,
            state_listed_oldest_first => $crate::contract::states::listed_by_state_oldest_first,
            activity_round_trips => $crate::contract::activity::entries_round_trip,
            activity_by_flow => $crate::contract::activity::query_by_flow_newest_first,
            activity_default_limit => $crate::contract::activity::default_limit_is_100,
            activity_by_record => $crate::contract::activity::query_by_record,
            activity_by_outcome => $crate::contract::activity::query_by_outcome,
            activity_by_time => $crate::contract::activity::query_by_time_range,
            activity_expiry_round_trips => $crate::contract::activity::expiry_round_trips,
        }
    };
}

/// Invokes `$m! { name => check, ... }` with every race check: each takes the store as
/// `Arc<dyn Trait>` and a number of rounds (see the module docs for the runtime they need).
#[macro_export]
macro_rules! for_each_race_check {
    ($m:ident) => {
        $m! {
            cursor_concurrent_saves => $crate::contract::cursors::concurrent_saves_one_wins,
            config_concurrent_saves => $crate::contract::config::concurrent_saves_one_wins,
            link_concurrent_puts => $crate::contract::links::concurrent_versioned_puts_keep_the_newest,
            claim_concurrent_acquires => $crate::contract::claims::concurrent_acquire_one_wins,
            budget_concurrent_bookings => $crate::contract::budgets::concurrent_bookings_each_get_a_slice,
            attempts_concurrent => $crate::contract::attempts::concurrent_attempts_are_all_counted,
            state_concurrent_puts => $crate::contract::states::concurrent_puts_one_wins,
        }
    };
}

/// One contender of a race.
pub type Contender<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Runs every contender as its own task, all released at the same moment by a barrier, and
/// returns their results in the order given.
pub async fn race<T: Send + 'static>(contenders: Vec<Contender<T>>) -> Vec<T> {
    let barrier = Arc::new(Barrier::new(contenders.len()));
    let mut tasks = JoinSet::new();
    let count = contenders.len();
    for (i, contender) in contenders.into_iter().enumerate() {
        let barrier = Arc::clone(&barrier);
        tasks.spawn(async move {
            barrier.wait().await;
            (i, contender.await)
        });
    }
    let mut results: Vec<Option<T>> = (0..count).map(|_| None).collect();
    while let Some(joined) = tasks.join_next().await {
        let (i, result) = joined.expect("a racing writer panicked");
        results[i] = Some(result);
    }
    results
        .into_iter()
        .map(|r| r.expect("every writer finished"))
        .collect()
}

/// A record key.
pub fn key(s: &str) -> RecordKey {
    RecordKey::parse(s).expect("valid record key")
}

/// A short unique text, to keep names apart within one store.
pub fn unique() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}

/// A time an hour ago, with a fraction of a second (stores must keep it exactly).
pub fn an_hour_ago() -> Timestamp {
    let now = Timestamp::now();
    let whole = Timestamp::from_second(now.as_second()).expect("in range");
    whole - SignedDuration::from_hours(1) + SignedDuration::from_nanos(123_456_789)
}
