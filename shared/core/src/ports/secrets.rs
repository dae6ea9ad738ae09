//! The secret store port: credentials, read with a cache and written back when an OAuth
//! refresh token rotates.

use async_trait::async_trait;
use secrecy::SecretString;

use crate::error::StoreError;

/// Whether a read may come from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// A cached value is fine (the adapter's cache lifetime applies).
    Cached,
    /// Read through to the store (e.g. after another process may have rotated a token).
    Fresh,
}

/// Reads and writes secrets by name. Values are opaque strings (JSON documents in practice).
#[async_trait]
pub trait SecretStore: Send + Sync {
    /// The secret's current value; [`StoreError::NotFound`] if it doesn't exist.
    async fn get(&self, name: &str, freshness: Freshness) -> Result<SecretString, StoreError>;

    /// Stores a new current value (creating the secret if needed); the cache is updated too.
    async fn put(&self, name: &str, value: &SecretString) -> Result<(), StoreError>;
}
