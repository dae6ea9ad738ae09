//! The Secrets Manager adapter of the [`SecretStore`] port: `SecretString` values only, read
//! through an in-process cache, written back with `PutSecretValue` (creating the secret when
//! missing). It must never log, format or return a secret value anywhere but to the caller.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use lsbc_core::StoreError;
use lsbc_core::ports::{Freshness, SecretStore};
use secrecy::{ExposeSecret, SecretString};

/// How long a read value is served from the cache unless [`Freshness::Fresh`] is asked for.
pub const DEFAULT_SECRET_CACHE_TTL: Duration = Duration::from_mins(5);

/// Values read or written, with when.
#[derive(Default)]
struct Cache {
    entries: HashMap<String, (SecretString, Instant)>,
}

impl Cache {
    fn get(&self, name: &str, ttl: Duration, now: Instant) -> Option<SecretString> {
        self.entries
            .get(name)
            .filter(|(_, at)| now.saturating_duration_since(*at) < ttl)
            .map(|(value, _)| value.clone())
    }

    fn insert(&mut self, name: &str, value: SecretString, now: Instant) {
        self.entries.insert(name.to_owned(), (value, now));
    }
}

/// The [`SecretStore`] on AWS Secrets Manager. Clones share the client and the cache.
#[derive(Clone)]
pub struct SecretsManagerStore {
    client: Client,
    ttl: Duration,
    cache: Arc<Mutex<Cache>>,
}

impl fmt::Debug for SecretsManagerStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretsManagerStore")
            .field("cache_ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl SecretsManagerStore {
    /// A store caching reads for [`DEFAULT_SECRET_CACHE_TTL`].
    pub fn new(client: Client) -> Self {
        Self {
            client,
            ttl: DEFAULT_SECRET_CACHE_TTL,
            cache: Arc::default(),
        }
    }

    /// Caches reads for `ttl` instead (zero: every read goes to Secrets Manager).
    #[must_use]
    pub fn with_cache_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    fn cache(&self) -> MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn store_error<E, R>(name: &str, err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: fmt::Debug + Send + Sync + 'static,
{
    match err.code() {
        Some("ResourceNotFoundException") => StoreError::NotFound(format!("secret {name}")),
        c if crate::is_throttling(c) => StoreError::Throttled {
            message: format!("Secrets Manager throttled the request for secret {name}"),
        },
        _ => {
            let (message, source) = crate::sdk_failure(err);
            StoreError::Unavailable {
                message: format!("Secrets Manager request for secret {name} failed: {message}"),
                source: Some(source),
            }
        }
    }
}

#[async_trait]
impl SecretStore for SecretsManagerStore {
    async fn get(&self, name: &str, freshness: Freshness) -> Result<SecretString, StoreError> {
        if freshness == Freshness::Cached
            && let Some(value) = self.cache().get(name, self.ttl, Instant::now())
        {
            return Ok(value);
        }
        let out = self
            .client
            .get_secret_value()
            .secret_id(name)
            .send()
            .await
            .map_err(|e| store_error(name, e))?;
        let value = SecretString::from(out.secret_string.ok_or_else(|| StoreError::Corrupt {
            key: format!("secret {name}"),
            message: "it has no SecretString (binary secrets are not supported)".to_owned(),
        })?);
        tracing::debug!(secret = name, "secret read from Secrets Manager");
        self.cache().insert(name, value.clone(), Instant::now());
        Ok(value)
    }

    async fn put(&self, name: &str, value: &SecretString) -> Result<(), StoreError> {
        let put = || {
            self.client
                .put_secret_value()
                .secret_id(name)
                .secret_string(value.expose_secret())
                .send()
        };
        match put().await {
            Ok(_) => {}
            Err(e) if e.code() == Some("ResourceNotFoundException") => {
                let created = self
                    .client
                    .create_secret()
                    .name(name)
                    .secret_string(value.expose_secret())
                    .send()
                    .await;
                match created {
                    Ok(_) => {}
                    // Someone else created it meanwhile: write our value over theirs.
                    Err(e) if e.code() == Some("ResourceExistsException") => {
                        put().await.map_err(|e| store_error(name, e))?;
                    }
                    Err(e) => return Err(store_error(name, e)),
                }
            }
            Err(e) => return Err(store_error(name, e)),
        }
        tracing::debug!(secret = name, "secret written to Secrets Manager");
        self.cache().insert(name, value.clone(), Instant::now());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_values_expire_after_the_ttl() {
        let mut cache = Cache::default();
        let t0 = Instant::now();
        let ttl = Duration::from_mins(5);
        cache.insert("ls", SecretString::from("v1"), t0);
        let read = |now| {
            cache
                .get("ls", ttl, now)
                .map(|v| v.expose_secret().to_owned())
        };
        assert_eq!(read(t0).as_deref(), Some("v1"));
        assert_eq!(read(t0 + Duration::from_secs(299)).as_deref(), Some("v1"));
        assert_eq!(read(t0 + ttl), None);
        assert_eq!(cache.get("other", ttl, t0).map(|_| ()), None);
        assert!(
            cache.get("ls", Duration::ZERO, t0).is_none(),
            "a zero TTL never serves"
        );
    }

    #[test]
    fn debug_output_shows_no_values() {
        let config = aws_sdk_secretsmanager::Config::builder()
            .behavior_version(aws_sdk_secretsmanager::config::BehaviorVersion::latest())
            .build();
        let store = SecretsManagerStore::new(Client::from_conf(config));
        store
            .cache()
            .insert("ls", SecretString::from("hunter2"), Instant::now());
        let shown = format!("{store:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
