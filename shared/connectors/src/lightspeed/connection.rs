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

use crate::budgets::AccountBucket;
use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use lsbc_core::ports::{BudgetStore, ClaimKey, ClaimStore, Clock, Freshness, SecretStore};
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
    /// A first connection waiting for the authorization code (state and PKCE verifier),
    /// so whoever receives the redirect — the CLI, or the webhook function's callback
    /// route — can finish it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingConnection>,
    /// The burst limiter's window in seconds, when not the documented 1 s (a simulator whose
    /// time runs faster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst_window_seconds: Option<f64>,
}

/// A first connection in progress.
#[derive(Clone, Serialize, Deserialize)]
pub struct PendingConnection {
    /// The `state` sent to the authorize endpoint.
    pub state: String,
    /// The PKCE code verifier.
    pub verifier: String,
    /// The authorization code lives 60 s; the whole attempt may take until then.
    pub expires_at: Timestamp,
}

impl std::fmt::Debug for PendingConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingConnection")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for LightspeedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LightspeedSecret")
            .field("client_id", &self.client_id)
            .field("account_id", &self.account_id)
            .field("connected", &self.tokens.is_some())
            .field("pending", &self.pending.is_some())
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
        if let Some(window) = self
            .burst_window_seconds
            .filter(|s| s.is_finite() && *s > 0.0)
        {
            config.pacing.burst_window = Duration::from_secs_f64(window);
        }
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

    async fn renew(&self, guard: &LeaseGuard, ttl: Duration) -> Result<bool, PortError> {
        // Taking a claim one already holds extends it.
        Ok(self
            .claims
            .acquire(&self.key, guard.owner(), ttl, self.clock.now())
            .await?)
    }
}

/// Builds the client from the connection secret `name`.
pub async fn connect(
    secrets: Arc<dyn SecretStore>,
    claims: Arc<dyn ClaimStore>,
    budgets: Arc<dyn BudgetStore>,
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
    let account = config
        .account_id
        .as_ref()
        .map_or_else(|| name.to_owned(), ToString::to_string);
    let bucket = AccountBucket::new(budgets, &config.client_id, &account);
    LightspeedClient::builder(
        config,
        Arc::new(SecretTokenStore::new(secrets, name)),
        Arc::new(ClaimLease::new(claims, clock, name)),
    )
    .shared_bucket(Arc::new(bucket))
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
    // An API error's body and the request's query (a filter may hold an e-mail) are its
    // detail, kept out of log lines by default.
    let (message, detail) = match &error {
        LightspeedError::Api {
            method,
            endpoint,
            status,
            body,
            ..
        } => {
            let path = endpoint.split('?').next().unwrap_or_default();
            (
                format!("Lightspeed {method} {path} answered {status}"),
                format!("{endpoint}: {body}"),
            )
        }
        other => (other.to_string(), String::new()),
    };
    StageError::External(
        ExternalError::new(System::Lightspeed, kind, message)
            .with_detail(detail)
            .with_source(error),
    )
}

/// How long a first connection may wait for its redirect.
pub const CONNECTION_WINDOW: SignedDuration = SignedDuration::from_mins(15);

fn client_for(
    secrets: Arc<dyn SecretStore>,
    name: &str,
    secret: &LightspeedSecret,
) -> Result<LightspeedClient, StageError> {
    LightspeedClient::builder(
        secret.client_config()?,
        Arc::new(SecretTokenStore::new(secrets, name)),
        Arc::new(lsbc_lightspeed::LocalLease::default()),
    )
    .build()
    .map_err(external)
}

/// Starts a connection: stores the client's part of the secret with a pending `state` and
/// PKCE verifier (keeping the working tokens of the same client, if any, until the new ones
/// arrive), and returns the authorize URL the operator opens.
pub async fn begin_connection(
    secrets: Arc<dyn SecretStore>,
    name: &str,
    mut secret: LightspeedSecret,
    now: Timestamp,
) -> Result<String, StageError> {
    if secret.redirect_uri.is_none() {
        return Err(StageError::Config(
            "Lightspeed needs the client's registered HTTPS redirect URI".into(),
        ));
    }
    let client = client_for(secrets.clone(), name, &secret)?;
    let request = client
        .tokens()
        .oauth()
        .authorization_request()
        .map_err(|e| StageError::Config(format!("authorize URL: {e}")))?;
    // A reconnection keeps the working tokens until the new ones are stored: the flows go
    // on meanwhile, and an abandoned attempt disconnects nothing. Tokens of another client
    // are of no use to this one.
    secret.tokens = None;
    if let Ok(value) = secrets.get(name, Freshness::Fresh).await
        && let Ok(current) = LightspeedSecret::parse(name, &value)
        && current.client_id == secret.client_id
    {
        secret.tokens = current.tokens;
        if secret.account_id.is_none() {
            secret.account_id = current.account_id;
        }
    }
    secret.pending = Some(PendingConnection {
        state: request.state.clone(),
        verifier: request.verifier.secret().expose_secret().to_owned(),
        expires_at: now.checked_add(CONNECTION_WINDOW).unwrap_or(now),
    });
    secrets.put(name, &secret.to_secret()?).await?;
    Ok(request.url.to_string())
}

/// Why a first connection could not be finished.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// No connection was started, or it was finished already.
    #[error("no Lightspeed connection is waiting (start one with `lsbc connect lightspeed`)")]
    NotPending,
    /// The `state` is not the one sent: not our redirect.
    #[error("the redirect's state does not match the connection started")]
    WrongState,
    /// Started too long ago.
    #[error("the connection attempt expired; start again")]
    Expired,
    /// Lightspeed refused the code, or the secret could not be written.
    #[error(transparent)]
    Failed(#[from] StageError),
}

/// Finishes a first connection with the `code` and `state` Lightspeed redirected with:
/// checks the state (in constant time) and the deadline, exchanges the code with the PKCE
/// verifier, stores the token pair and the account id, and clears the pending attempt.
/// Returns the account id.
pub async fn complete_connection(
    secrets: Arc<dyn SecretStore>,
    name: &str,
    state: &str,
    code: &str,
    now: Timestamp,
) -> Result<String, ConnectionError> {
    let value = secrets
        .get(name, Freshness::Fresh)
        .await
        .map_err(StageError::from)?;
    let secret = LightspeedSecret::parse(name, &value).map_err(StageError::from)?;
    let pending = secret.pending.clone().ok_or(ConnectionError::NotPending)?;
    if !bool::from(subtle::ConstantTimeEq::ct_eq(
        pending.state.as_bytes(),
        state.as_bytes(),
    )) {
        return Err(ConnectionError::WrongState);
    }
    if now > pending.expires_at {
        return Err(ConnectionError::Expired);
    }
    let client = client_for(secrets.clone(), name, &secret)?;
    let request = lsbc_lightspeed::AuthorizationRequest {
        url: secret.client_config()?.auth_base,
        state: pending.state.clone(),
        verifier: lsbc_lightspeed::PkceVerifier::from_secret(SecretString::from(pending.verifier)),
    };
    client
        .tokens()
        .connect(&request, state, code)
        .await
        .map_err(|e| {
            StageError::External(ExternalError::new(
                System::Lightspeed,
                ExternalKind::Rejected,
                e.to_string(),
            ))
        })?;
    let account = client.account_id().await.map_err(external)?.to_string();
    let value = secrets
        .get(name, Freshness::Fresh)
        .await
        .map_err(StageError::from)?;
    let mut connected = LightspeedSecret::parse(name, &value).map_err(StageError::from)?;
    connected.pending = None;
    connected.account_id = Some(account.clone());
    secrets
        .put(name, &connected.to_secret().map_err(StageError::from)?)
        .await
        .map_err(StageError::from)?;
    Ok(account)
}
