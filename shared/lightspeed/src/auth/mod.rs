//! Lightspeed OAuth: the first connection (authorization code with PKCE S256), the refresh
//! grant with rotating refresh tokens, and the token manager that caches the access token,
//! lets one refresher run at a time (single-flight inside the process, a caller-provided
//! lease across processes) and writes the new refresh token back before it is used.
//! The caller owns storage: it implements [`TokenStore`] and [`RefreshLease`].

mod jwt;
mod manager;
mod oauth;
mod tokens;

pub use jwt::account_from_token;
pub use manager::{TokenManager, TokenOptions};
pub use oauth::{AuthorizationRequest, OAuthClient, OAuthConfig, PkceVerifier};
pub use tokens::{LeaseGuard, LocalLease, MemoryTokenStore, RefreshLease, TokenSet, TokenStore};
