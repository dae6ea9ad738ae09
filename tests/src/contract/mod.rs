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
//!
//! | module | port |
//! |---|---|
//! | [`cursors`] | `CursorStore` |
//! | [`config`] | `ConfigStore` (and its `MappingStore` / `SettingsStore` views) |
//! | [`links`] | `LinkStore` |
//! | [`claims`] | `ClaimStore` |
//! | [`activity`] | `ActivityLog` (+ an adapter-specific [`activity::ExpiryProbe`]) |
//! | [`secrets`] | `SecretStore` |
//! | [`queue`] | `Queue` |

pub mod activity;
pub mod claims;
pub mod config;
pub mod cursors;
pub mod links;
pub mod queue;
pub mod secrets;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use lsbc_core::RecordKey;
use tokio::sync::Barrier;
use tokio::task::JoinSet;

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
