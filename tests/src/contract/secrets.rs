//! Contract of `SecretStore`: a missing secret is `NotFound`, a written value is read back
//! fresh by this and any other instance (write-back of rotated tokens), and a cached read
//! is served without asking the store again. Must not depend on an adapter.

use lsbc_core::StoreError;
use lsbc_core::ports::{Freshness, SecretStore};
use secrecy::{ExposeSecret, SecretString};

use super::unique;

/// Whether the adapter under test caches reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caching {
    /// Every read goes to the store (the in-memory adapter).
    ReadsThrough,
    /// Cached reads are served from the instance's cache for longer than the check runs.
    Caches,
}

fn name() -> String {
    format!("lsbc-test/{}/lightspeed", unique())
}

fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_owned())
}

async fn read(store: &dyn SecretStore, name: &str, freshness: Freshness) -> String {
    store
        .get(name, freshness)
        .await
        .unwrap_or_else(|e| panic!("reading {name} ({freshness:?}): {e:?}"))
        .expose_secret()
        .to_owned()
}

/// A secret never written is `NotFound`, cached or fresh.
pub async fn missing_secret_is_not_found(store: &dyn SecretStore) {
    let missing = name();
    for freshness in [Freshness::Cached, Freshness::Fresh] {
        let result = store.get(&missing, freshness).await.map(|_| "a value");
        assert!(
            matches!(result, Err(StoreError::NotFound(_))),
            "reading a secret never written ({freshness:?}) must be NotFound, got {result:?}"
        );
    }
}

/// `put` creates a missing secret, then replaces its value; reads see the latest.
pub async fn put_creates_then_replaces(store: &dyn SecretStore) {
    let n = name();
    let first = r#"{"refresh_token":"r1","access_token":"a1","note":"ünïcode ✓"}"#;
    store.put(&n, &secret(first)).await.unwrap();
    assert_eq!(read(store, &n, Freshness::Fresh).await, first);
    assert_eq!(read(store, &n, Freshness::Cached).await, first);
    let second = r#"{"refresh_token":"r2","access_token":"a2"}"#;
    store.put(&n, &secret(second)).await.unwrap();
    assert_eq!(
        read(store, &n, Freshness::Cached).await,
        second,
        "put updates the cache"
    );
    assert_eq!(read(store, &n, Freshness::Fresh).await, second);
}

/// A rotated token written back by one instance is what a fresh read of any instance
/// sees, and a second instance starting cold sees it even with a cached read.
pub async fn write_back_is_seen_by_other_instances(
    store: &dyn SecretStore,
    other: &dyn SecretStore,
) {
    let n = name();
    store.put(&n, &secret("token-1")).await.unwrap();
    assert_eq!(
        read(other, &n, Freshness::Cached).await,
        "token-1",
        "a cold instance reads the store"
    );
    store.put(&n, &secret("token-2")).await.unwrap();
    assert_eq!(read(store, &n, Freshness::Fresh).await, "token-2");
    assert_eq!(
        read(other, &n, Freshness::Fresh).await,
        "token-2",
        "a fresh read sees another instance's write-back"
    );
    other.put(&n, &secret("token-3")).await.unwrap();
    assert_eq!(read(store, &n, Freshness::Fresh).await, "token-3");
    assert_eq!(
        read(store, &n, Freshness::Cached).await,
        "token-3",
        "the fresh read refreshed the cache"
    );
}

/// A cached read after a read doesn't ask the store again (so it doesn't see another
/// instance's write until a fresh read); an adapter without a cache always sees the latest.
pub async fn cached_reads_are_served_from_the_cache(
    store: &dyn SecretStore,
    other: &dyn SecretStore,
    caching: Caching,
) {
    let n = name();
    other.put(&n, &secret("v1")).await.unwrap();
    assert_eq!(read(store, &n, Freshness::Cached).await, "v1");
    other.put(&n, &secret("v2")).await.unwrap();
    let cached = read(store, &n, Freshness::Cached).await;
    match caching {
        Caching::Caches => assert_eq!(cached, "v1", "the second read came from the cache"),
        Caching::ReadsThrough => assert_eq!(cached, "v2"),
    }
    assert_eq!(read(store, &n, Freshness::Fresh).await, "v2");
    assert_eq!(read(store, &n, Freshness::Cached).await, "v2");
}
