//! Lightspeed Retail (R-Series) API V3 client: OAuth2 with rotating refresh tokens (one
//! refresher at a time, new token stored before use), pacing by the leaky-bucket headers,
//! retries by one pure policy, cursor paging that follows `next` links verbatim, and
//! tolerant decoding of the API's JSON quirks into exact typed models — with the raw JSON of
//! every record kept alongside. It knows Lightspeed and nothing about the sync: no cursors
//! of ours, no mapping, no queues, no AWS. Facts come from `api-notes/LIGHTSPEED.md` and the
//! recorded payloads in `tests/fixtures/lightspeed/`.

pub mod auth;
mod client;
mod error;
mod json;
pub mod model;
mod normalize;
mod paging;
pub mod query;
mod rate;
pub mod retry;

pub use auth::{
    AuthorizationRequest, LeaseGuard, LocalLease, MemoryTokenStore, OAuthClient, OAuthConfig,
    PkceVerifier, RefreshLease, TokenManager, TokenOptions, TokenSet, TokenStore,
};
pub use client::{
    ClientBuilder, ClientConfig, DEFAULT_API_BASE, DEFAULT_AUTH_BASE, LightspeedClient,
    StockTarget, StockUpdate,
};
pub use error::{ApiErrorBody, AuthError, ErrorClass, LightspeedError, PortError};
pub use json::{DecodeError, decode};
pub use normalize::{Kind, normalize, normalize_as};
pub use paging::{Page, PageRequest, RawPage, Record, split_list, split_one};
pub use query::{Archived, Condition, Direction, FilterValue, Query};
pub use rate::{BucketHeaders, ClientStats, PacingOptions, SharedBucket, wait_needed};
pub use retry::{RetryDecision, RetryPolicy};
