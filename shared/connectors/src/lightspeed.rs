//! The Lightspeed connection: its secret (OAuth client and the rotating token pair), the
//! client's token store and refresh lease on the sync's own ports, and the translation of
//! client errors into the sync's error classes.
//!
//! The secret is one JSON document (Secrets Manager, or the local credentials file):
//!
//! ```json
//! {
//!   "client_id": "…", "client_secret": "…",
//!   "account_id": "123456",                       // optional: else from the token's `acct`
//!   "api_base": "https://api.lightspeedapp.com",  // optional
//!   "auth_base": "https://cloud.lightspeedapp.com", // optional
//!   "redirect_uri": "https://…/lightspeed/callback", // optional (first connection)
//!   "tokens": { "access_token": "…", "refresh_token": "…",
//!               "issued_at": "2026-…Z", "expires_at": "2026-…Z" }
//! }
//! ```
//!
//! Refresh tokens rotate on every refresh: the new pair is written back into the secret
//! before the new access token is used, under a lease in the claim store so only one
//! process refreshes at a time.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use lsbc_core::ports::{ClaimKey, ClaimStore, Clock, Freshness, SecretStore};
use lsbc_core::{ExternalError, ExternalKind, StageError, StoreError, System};
use lsbc_lightspeed::{
    ClientConfig, ErrorClass, LeaseGuard, LightspeedClient, LightspeedError, PortError,
    RefreshLease, TokenSet, TokenStore,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// The stored token pair.
#[derive(Clone, Serialize, Deserialize)]
pub struct StoredTokens {
    /// The access token.
    pub access_token: String,
    /// The refresh token (rotates).
    pub refresh_token: String,
    /// When the access token was obtained.
    pub issued_at: Timestamp,
    /// When it expires.
    pub expires_at: Timestamp,
}

impl std::fmt::Debug for StoredTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredTokens")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// The Lightspeed connection secret.
#[derive(Clone, Serialize, Deserialize)]
pub struct LightspeedSecret {
    /// OAuth client id.
    pub client_id: String,
    /// OAuth client secret.
    pub client_secret: String,
    /// The account, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// API host (default `https://api.lightspeedapp.com`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_base: Option<String>,
    /// OAuth host (default `https://cloud.lightspeedapp.com`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_base: Option<String>,
    /// Redirect URI registered for the client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    /// The token pair, once connected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<StoredTokens>,
}

impl std::fmt::Debug for LightspeedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LightspeedSecret")
            .field("client_id", &self.client_id)
            .field("account_id", &self.account_id)
            .field("connected", &self.tokens.is_some())
            .finish_non_exhaustive()
    }
}

impl LightspeedSecret {
    /// Reads the secret document.
    pub fn parse(name: &str, value: &SecretString) -> Result<Self, StoreError> {
        serde_json::from_str(value.expose_secret()).map_err(|e| StoreError::Corrupt {
            key: format!("secret {name}"),
            message: format!("not a Lightspeed connection document: {e}"),
        })
    }

    /// The document, for writing back.
    pub fn to_secret(&self) -> Result<SecretString, StoreError> {
        serde_json::to_string(self)
            .map(SecretString::from)
            .map_err(|e| StoreError::Corrupt {
                key: "lightspeed secret".into(),
                message: e.to_string(),
            })
    }

    /// The client configuration this secret describes.
    pub fn client_config(&self) -> Result<ClientConfig, StageError> {
        let mut config = ClientConfig::new(
            self.client_id.clone(),
            SecretString::from(self.client_secret.clone()),
        );
        let parse = |what: &str, url: &str| {
            url::Url::parse(url).map_err(|e| {
                StageError::Config(format!(
                    "Lightspeed secret: {what} `{url}` is not a URL: {e}"
                ))
            })
        };
        if let Some(base) = &self.api_base {
            config.api_base = parse("api_base", base)?;
        }
        if let Some(base) = &self.auth_base {
            config.auth_base = parse("auth_base", base)?;
        }
        config.redirect_uri.clone_from(&self.redirect_uri);
        if let Some(account) = &self.account_id {
            config.account_id = Some(account.parse().map_err(|_| {
                StageError::Config(format!(
                    "Lightspeed secret: account_id `{account}` is not a number"
                ))
            })?);
        }
        Ok(config)
    }
}

/// The client's token store on the sync's secret store: the pair lives inside the
/// connection secret.
#[derive(Clone)]
pub struct SecretTokenStore {
    secrets: Arc<dyn SecretStore>,
    name: String,
}

impl std::fmt::Debug for SecretTokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretTokenStore")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl SecretTokenStore {
    /// The token store inside secret `name`.
    pub fn new(secrets: Arc<dyn SecretStore>, name: impl Into<String>) -> Self {
        Self {
            secrets,
            name: name.into(),
        }
    }

    async fn read(&self) -> Result<LightspeedSecret, StoreError> {
        let value = self.secrets.get(&self.name, Freshness::Fresh).await?;
        LightspeedSecret::parse(&self.name, &value)
    }
}

#[async_trait]
impl TokenStore for SecretTokenStore {
    async fn load(&self) -> Result<Option<TokenSet>, PortError> {
        let secret = self.read().await?;
        Ok(secret
            .tokens
            .map(|t| TokenSet::new(t.access_token, t.refresh_token, t.issued_at, t.expires_at)))
    }

    async fn save(&self, tokens: &TokenSet) -> Result<(), PortError> {
        let mut secret = self.read().await?;
        secret.tokens = Some(StoredTokens {
            access_token: tokens.access_token.expose_secret().to_owned(),
            refresh_token: tokens.refresh_token.expose_secret().to_owned(),
            issued_at: tokens.issued_at,
            expires_at: tokens.expires_at,
        });
        self.secrets.put(&self.name, &secret.to_secret()?).await?;
        Ok(())
    }
}

/// The refresh lease on the sync's claim store: one refresher across every process.
#[derive(Clone)]
pub struct ClaimLease {
    claims: Arc<dyn ClaimStore>,
    clock: Arc<dyn Clock>,
    key: ClaimKey,
}

impl std::fmt::Debug for ClaimLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClaimLease")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl ClaimLease {
    /// The lease named `lightspeed-token-refresh#<secret name>`.
    pub fn new(claims: Arc<dyn ClaimStore>, clock: Arc<dyn Clock>, secret_name: &str) -> Self {
        Self {
            claims,
            clock,
            key: ClaimKey::named(&format!("lightspeed-token-refresh#{secret_name}")),
        }
    }
}

#[async_trait]
impl RefreshLease for ClaimLease {
    async fn try_acquire(&self, ttl: Duration) -> Result<Option<LeaseGuard>, PortError> {
        let owner = uuid::Uuid::new_v4().simple().to_string();
        let got = self
            .claims
            .acquire(&self.key, &owner, ttl, self.clock.now())
            .await?;
        Ok(got.then(|| LeaseGuard::new(owner)))
    }

    async fn release(&self, guard: LeaseGuard) -> Result<(), PortError> {
        self.claims.release(&self.key, guard.owner()).await?;
        Ok(())
    }
}

/// Builds the client from the connection secret `name`.
pub async fn connect(
    secrets: Arc<dyn SecretStore>,
    claims: Arc<dyn ClaimStore>,
    clock: Arc<dyn Clock>,
    name: &str,
) -> Result<LightspeedClient, StageError> {
    let value = secrets.get(name, Freshness::Cached).await?;
    let secret = LightspeedSecret::parse(name, &value)?;
    if secret.tokens.is_none() {
        return Err(StageError::Config(format!(
            "Lightspeed is not connected yet (secret {name} has no tokens): run `lsbc connect lightspeed`"
        )));
    }
    let config = secret.client_config()?;
    LightspeedClient::builder(
        config,
        Arc::new(SecretTokenStore::new(secrets, name)),
        Arc::new(ClaimLease::new(claims, clock, name)),
    )
    .build()
    .map_err(external)
}

/// A client error as the sync classifies it (the client's error kept as the source).
pub fn external(error: LightspeedError) -> StageError {
    let kind = match error.class() {
        ErrorClass::Transient => ExternalKind::Transient,
        ErrorClass::RateLimited { wait } => ExternalKind::RateLimited { retry_after: wait },
        ErrorClass::Auth => ExternalKind::Unauthorized,
        ErrorClass::Rejected => ExternalKind::Rejected,
    };
    let message = error.to_string();
    StageError::External(ExternalError::new(System::Lightspeed, kind, message).with_source(error))
}
