//! The token manager: hands out a valid access token, refreshing it when it is about to
//! expire or the API refused it. Refresh tokens rotate (api-notes §2.1), so a refresh is a
//! one-at-a-time affair: callers in this process share one refresh (single-flight), other
//! processes are kept out by the caller's [`RefreshLease`], and the new pair is written to
//! the [`TokenStore`] *before* the new access token is handed out — the old refresh token
//! stays valid until that first use, so a crash before the write loses nothing. A process
//! that loses the lease waits, re-reads the store and uses the winner's token.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use super::oauth::{AuthorizationRequest, OAuthClient};
use super::tokens::{LeaseGuard, RefreshLease, TokenSet, TokenStore};
use crate::error::AuthError;
use crate::model::AccountId;

/// Timing of refreshes and of the cross-process lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenOptions {
    /// Refresh this long before expiry (capped at a quarter of the token's lifetime).
    pub refresh_margin: Duration,
    /// How long a refresher holds the lease at most.
    pub lease_ttl: Duration,
    /// How often a waiting process re-reads the store.
    pub lease_poll: Duration,
    /// How long a process waits for another's refresh before giving up.
    pub lease_wait: Duration,
}

impl Default for TokenOptions {
    fn default() -> Self {
        Self {
            refresh_margin: Duration::from_mins(1),
            lease_ttl: Duration::from_secs(30),
            lease_poll: Duration::from_millis(100),
            lease_wait: Duration::from_secs(45),
        }
    }
}

#[derive(Debug, Default)]
struct Cache {
    current: Option<TokenSet>,
    /// Hashes of access tokens the API refused (never adopted again).
    rejected: Vec<[u8; 32]>,
}

fn digest(token: &SecretString) -> [u8; 32] {
    Sha256::digest(token.expose_secret().as_bytes()).into()
}

/// Hands out access tokens for one Lightspeed connection.
#[derive(Debug)]
pub struct TokenManager {
    oauth: OAuthClient,
    store: Arc<dyn TokenStore>,
    lease: Arc<dyn RefreshLease>,
    options: TokenOptions,
    cache: Mutex<Cache>,
    gate: tokio::sync::Mutex<()>,
    refreshes: AtomicU64,
}

impl TokenManager {
    /// A manager over the caller's store and lease.
    pub fn new(
        oauth: OAuthClient,
        store: Arc<dyn TokenStore>,
        lease: Arc<dyn RefreshLease>,
        options: TokenOptions,
    ) -> Self {
        Self {
            oauth,
            store,
            lease,
            options,
            cache: Mutex::new(Cache::default()),
            gate: tokio::sync::Mutex::new(()),
            refreshes: AtomicU64::new(0),
        }
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The OAuth client (for the first connection).
    pub fn oauth(&self) -> &OAuthClient {
        &self.oauth
    }

    /// Refresh grants this manager performed.
    pub fn refreshes(&self) -> u64 {
        self.refreshes.load(Ordering::Relaxed)
    }

    fn usable(&self, tokens: &TokenSet, cache: &Cache) -> bool {
        tokens.is_fresh(jiff::Timestamp::now(), self.options.refresh_margin)
            && !cache.rejected.contains(&digest(&tokens.access_token))
    }

    fn cached(&self) -> Option<SecretString> {
        let cache = self.cache();
        cache
            .current
            .as_ref()
            .filter(|t| self.usable(t, &cache))
            .map(|t| t.access_token.clone())
    }

    /// Adopts `tokens` if usable; returns its access token.
    fn adopt_if_usable(&self, tokens: TokenSet) -> Option<SecretString> {
        let mut cache = self.cache();
        if self.usable(&tokens, &cache) {
            let access = tokens.access_token.clone();
            cache.current = Some(tokens);
            Some(access)
        } else {
            None
        }
    }

    async fn load(&self) -> Result<Option<TokenSet>, AuthError> {
        self.store.load().await.map_err(AuthError::Store)
    }

    /// A valid access token: the cached one, one another process stored, or a fresh one.
    pub async fn access_token(&self) -> Result<SecretString, AuthError> {
        if let Some(token) = self.cached() {
            return Ok(token);
        }
        // Single-flight: the first caller refreshes, the others find its token afterwards.
        let _gate = self.gate.lock().await;
        if let Some(token) = self.cached() {
            return Ok(token);
        }
        let stored = self.load().await?.ok_or(AuthError::NotConnected)?;
        if let Some(token) = self.adopt_if_usable(stored.clone()) {
            return Ok(token);
        }
        self.refresh_with_lease(&stored).await
    }

    /// Marks an access token the API refused with 401, so the next call refreshes.
    pub fn invalidate(&self, refused: &SecretString) {
        let hash = digest(refused);
        let mut cache = self.cache();
        if !cache.rejected.contains(&hash) {
            cache.rejected.push(hash);
            if cache.rejected.len() > 16 {
                cache.rejected.remove(0);
            }
        }
        if cache
            .current
            .as_ref()
            .is_some_and(|t| digest(&t.access_token) == hash)
        {
            cache.current = None;
        }
    }

    async fn refresh_with_lease(&self, seen: &TokenSet) -> Result<SecretString, AuthError> {
        let deadline = tokio::time::Instant::now() + self.options.lease_wait;
        loop {
            let guard = self
                .lease
                .try_acquire(self.options.lease_ttl)
                .await
                .map_err(AuthError::Lease)?;
            if let Some(guard) = guard {
                let result = self.renewing(&guard, self.refresh_holding_lease()).await;
                if let Err(error) = self.lease.release(guard).await {
                    // The lease expires on its own; the refresh itself succeeded or failed.
                    tracing::warn!(%error, "Could not release the Lightspeed refresh lease.");
                }
                return result;
            }
            // Another process is refreshing: wait for its token to appear in the store.
            tokio::time::sleep(self.options.lease_poll).await;
            if let Some(stored) = self.load().await?
                && !stored.same_tokens(seen)
                && let Some(token) = self.adopt_if_usable(stored)
            {
                return Ok(token);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(AuthError::LeaseWaitTimedOut(self.options.lease_wait));
            }
        }
    }

    /// Runs `work` while renewing the refresh lease every third of its time to live: a
    /// refresh slowed by Lightspeed (retries, a `Retry-After` of minutes) keeps the lease, so
    /// no second process refreshes with the same refresh token meanwhile.
    async fn renewing<T>(
        &self,
        guard: &LeaseGuard,
        work: impl std::future::Future<Output = T>,
    ) -> T {
        let ttl = self.options.lease_ttl;
        tokio::pin!(work);
        loop {
            tokio::select! {
                done = &mut work => return done,
                () = tokio::time::sleep(ttl / 3) => {
                    match self.lease.renew(guard, ttl).await {
                        Ok(true) => {}
                        Ok(false) => tracing::warn!("The Lightspeed refresh lease was lost during a refresh."),
                        Err(error) => tracing::warn!(%error, "The Lightspeed refresh lease was not renewed."),
                    }
                }
            }
        }
    }

    async fn refresh_holding_lease(&self) -> Result<SecretString, AuthError> {
        // Re-read under the lease: the previous holder may have just stored a new pair.
        let stored = self.load().await?.ok_or(AuthError::NotConnected)?;
        if let Some(token) = self.adopt_if_usable(stored.clone()) {
            return Ok(token);
        }
        let fresh = match self.oauth.refresh(&stored.refresh_token).await {
            Ok(fresh) => fresh,
            Err(error @ AuthError::Refused { .. }) => {
                // A pair rotated behind our back (an expired lease) is still worth a look.
                if let Some(again) = self.load().await?
                    && again.refresh_token.expose_secret() != stored.refresh_token.expose_secret()
                    && let Some(token) = self.adopt_if_usable(again)
                {
                    return Ok(token);
                }
                return Err(error);
            }
            Err(error) => return Err(error),
        };
        // Write back before first use: if this fails, the new access token is never used,
        // so the old refresh token stays valid and nothing is lost.
        self.store.save(&fresh).await.map_err(AuthError::Store)?;
        self.refreshes.fetch_add(1, Ordering::Relaxed);
        tracing::info!("Refreshed the Lightspeed access token.");
        let access = fresh.access_token.clone();
        self.cache().current = Some(fresh);
        Ok(access)
    }

    /// Completes the first connection: checks `state`, exchanges the code, stores the pair.
    pub async fn connect(
        &self,
        request: &AuthorizationRequest,
        returned_state: &str,
        code: &str,
    ) -> Result<TokenSet, AuthError> {
        request.check_state(returned_state)?;
        let tokens = self.oauth.exchange_code(code, &request.verifier).await?;
        self.store.save(&tokens).await.map_err(AuthError::Store)?;
        self.cache().current = Some(tokens.clone());
        Ok(tokens)
    }

    /// The account id from the current access token's `acct` claim.
    pub async fn account_id(&self) -> Result<Option<AccountId>, AuthError> {
        let token = self.access_token().await?;
        Ok(super::jwt::account_from_token(token.expose_secret()))
    }
}
