//! The token pair and the two ports the caller implements: [`TokenStore`] (where the
//! rotating refresh token lives — Secrets Manager, DynamoDB, a local file) and
//! [`RefreshLease`] (at most one refresher across processes). In-memory implementations are
//! included for single-process use and tests. Secrets are `SecretString`s, never printed.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use jiff::Timestamp;
use secrecy::{ExposeSecret, SecretString};

use crate::error::PortError;

/// An access token with the refresh token that renews it.
#[derive(Debug, Clone)]
pub struct TokenSet {
    pub access_token: SecretString,
    /// Rotates on every refresh; store it before the new access token is used.
    pub refresh_token: SecretString,
    /// When the access token was obtained.
    pub issued_at: Timestamp,
    /// `issued_at + expires_in`.
    pub expires_at: Timestamp,
}

impl TokenSet {
    /// A token pair.
    pub fn new(
        access_token: impl Into<String>,
        refresh_token: impl Into<String>,
        issued_at: Timestamp,
        expires_at: Timestamp,
    ) -> Self {
        Self {
            access_token: SecretString::from(access_token.into()),
            refresh_token: SecretString::from(refresh_token.into()),
            issued_at,
            expires_at,
        }
    }

    /// Whether the access token is still good at `now`, keeping `margin` in hand (capped at
    /// a quarter of its lifetime, so short-lived tokens are still used).
    pub fn is_fresh(&self, now: Timestamp, margin: Duration) -> bool {
        let lifetime = self
            .expires_at
            .duration_since(self.issued_at)
            .unsigned_abs();
        let margin = margin.min(lifetime / 4);
        let Ok(margin) = jiff::SignedDuration::try_from(margin) else {
            return false;
        };
        self.expires_at
            .checked_sub(margin)
            .is_ok_and(|deadline| now < deadline)
    }

    /// Whether both tokens are the same as `other`'s.
    pub fn same_tokens(&self, other: &TokenSet) -> bool {
        self.access_token.expose_secret() == other.access_token.expose_secret()
            && self.refresh_token.expose_secret() == other.refresh_token.expose_secret()
    }
}

/// Where the current token pair lives, shared by every process of the connection.
#[async_trait]
pub trait TokenStore: Send + Sync + std::fmt::Debug {
    /// The stored pair, if the account was connected.
    async fn load(&self) -> Result<Option<TokenSet>, PortError>;
    /// Replaces the stored pair (durably: the old refresh token dies once the new access
    /// token is used).
    async fn save(&self, tokens: &TokenSet) -> Result<(), PortError>;
}

/// Proof of holding the refresh lease; give it back with [`RefreshLease::release`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseGuard {
    owner: String,
}

impl LeaseGuard {
    /// A guard for the holder `owner` (an id the implementation uses for a conditional
    /// release, e.g. a DynamoDB condition on the owner attribute).
    pub fn new(owner: impl Into<String>) -> Self {
        Self {
            owner: owner.into(),
        }
    }

    /// The holder id.
    pub fn owner(&self) -> &str {
        &self.owner
    }
}

/// A lease that lets at most one process refresh the token at a time.
#[async_trait]
pub trait RefreshLease: Send + Sync + std::fmt::Debug {
    /// Takes the lease for `ttl` if nobody holds it (or the holder's lease expired).
    async fn try_acquire(&self, ttl: Duration) -> Result<Option<LeaseGuard>, PortError>;
    /// Gives the lease back (only if `guard` still holds it).
    async fn release(&self, guard: LeaseGuard) -> Result<(), PortError>;
    /// Extends the lease `guard` holds to `ttl` from now; `false` when it was lost.
    async fn renew(&self, guard: &LeaseGuard, ttl: Duration) -> Result<bool, PortError>;
}

/// A token store in memory (single process, tests).
#[derive(Debug, Default)]
pub struct MemoryTokenStore {
    tokens: Mutex<Option<TokenSet>>,
}

impl MemoryTokenStore {
    /// A store holding `tokens`.
    pub fn new(tokens: Option<TokenSet>) -> Self {
        Self {
            tokens: Mutex::new(tokens),
        }
    }

    /// The stored pair.
    pub fn current(&self) -> Option<TokenSet> {
        self.tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

#[async_trait]
impl TokenStore for MemoryTokenStore {
    async fn load(&self) -> Result<Option<TokenSet>, PortError> {
        Ok(self.current())
    }

    async fn save(&self, tokens: &TokenSet) -> Result<(), PortError> {
        *self
            .tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(tokens.clone());
        Ok(())
    }
}

/// A lease in memory: enough when every refresher lives in this process.
#[derive(Debug, Default)]
pub struct LocalLease {
    holder: Mutex<Option<(String, Instant)>>,
}

#[async_trait]
impl RefreshLease for LocalLease {
    async fn try_acquire(&self, ttl: Duration) -> Result<Option<LeaseGuard>, PortError> {
        let mut holder = self
            .holder
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        if holder.as_ref().is_some_and(|(_, until)| *until > now) {
            return Ok(None);
        }
        let owner = format!("{:032x}", rand::random::<u128>());
        *holder = Some((owner.clone(), now + ttl));
        Ok(Some(LeaseGuard::new(owner)))
    }

    async fn release(&self, guard: LeaseGuard) -> Result<(), PortError> {
        let mut holder = self
            .holder
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if holder.as_ref().is_some_and(|(o, _)| *o == guard.owner) {
            *holder = None;
        }
        Ok(())
    }

    async fn renew(&self, guard: &LeaseGuard, ttl: Duration) -> Result<bool, PortError> {
        let mut holder = self
            .holder
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match holder.as_mut() {
            Some((owner, until)) if *owner == guard.owner => {
                *until = Instant::now() + ttl;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freshness_keeps_a_margin_capped_by_the_lifetime() {
        let t0: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let hour = TokenSet::new("a", "r", t0, t0 + jiff::SignedDuration::from_hours(1));
        let margin = Duration::from_mins(1);
        assert!(hour.is_fresh(t0 + jiff::SignedDuration::from_mins(58), margin));
        assert!(!hour.is_fresh(t0 + jiff::SignedDuration::from_secs(3541), margin));
        // A 20-second token refreshes 5 s before its end, not 60 s.
        let short = TokenSet::new("a", "r", t0, t0 + jiff::SignedDuration::from_secs(20));
        assert!(short.is_fresh(t0 + jiff::SignedDuration::from_secs(14), margin));
        assert!(!short.is_fresh(t0 + jiff::SignedDuration::from_secs(16), margin));
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let t0: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let tokens = TokenSet::new("sekrit-access", "sekrit-refresh", t0, t0);
        let config = crate::ClientConfig::new("id", SecretString::from("sekrit-client".to_owned()));
        for text in [format!("{tokens:?}"), format!("{config:?}")] {
            assert!(!text.contains("sekrit"), "{text}");
        }
    }

    #[tokio::test]
    async fn the_local_lease_admits_one_holder_until_released_or_expired() {
        let lease = LocalLease::default();
        let g = lease
            .try_acquire(Duration::from_secs(30))
            .await
            .unwrap()
            .unwrap();
        assert!(
            lease
                .try_acquire(Duration::from_secs(30))
                .await
                .unwrap()
                .is_none()
        );
        lease.release(g).await.unwrap();
        let g2 = lease.try_acquire(Duration::ZERO).await.unwrap();
        assert!(g2.is_some());
        // A zero-length lease has already expired.
        assert!(
            lease
                .try_acquire(Duration::from_secs(1))
                .await
                .unwrap()
                .is_some()
        );
    }
}
