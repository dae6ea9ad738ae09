//! Errors of the Lightspeed client, kept apart by what they are — transport, the API's own
//! error body, authentication, decoding, paging — with one classifier,
//! [`LightspeedError::class`], saying what the caller should do next. Messages never
//! contain tokens or secrets.

use std::time::Duration;

use serde::Deserialize;

use crate::json::DecodeError;
use crate::retry::{TransportKind, says_try_again};

/// What the caller should do about an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Try again later (network, 5xx, store or lease hiccups).
    Transient,
    /// Throttled: wait this long (when known), then try again.
    RateLimited { wait: Option<Duration> },
    /// Credentials are missing, revoked or lack the scope: an operator must reconnect.
    Auth,
    /// The request or record is wrong and will fail the same way again (4xx, decode).
    Rejected,
}

impl ErrorClass {
    /// A short, stable name for logs and metrics (`error_category`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Transient => "transient",
            ErrorClass::RateLimited { .. } => "rate_limited",
            ErrorClass::Auth => "auth",
            ErrorClass::Rejected => "rejected",
        }
    }
}

/// Lightspeed's API error body: `{"httpCode","httpMessage","message","errorClass"}`
/// (fixture `rseries_error_400.vcr.json`, served as `text/html`), or an OAuth-style body
/// `{"error","error_description","hint"}` (docs 401 examples). Unparseable bodies keep a
/// truncated copy of the text as the message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiErrorBody {
    pub http_code: Option<u16>,
    pub http_message: Option<String>,
    pub message: String,
    pub error_class: Option<String>,
    /// OAuth `error` code (`access_denied`, `invalid_grant`, …).
    pub error: Option<String>,
    pub hint: Option<String>,
}

#[derive(Deserialize)]
struct WireError {
    #[serde(rename = "httpCode", default, deserialize_with = "crate::json::text")]
    http_code: String,
    #[serde(
        rename = "httpMessage",
        default,
        deserialize_with = "crate::json::text"
    )]
    http_message: String,
    #[serde(default, deserialize_with = "crate::json::text")]
    message: String,
    #[serde(rename = "errorClass", default, deserialize_with = "crate::json::text")]
    error_class: String,
    #[serde(default, deserialize_with = "crate::json::text")]
    error: String,
    #[serde(default, deserialize_with = "crate::json::text")]
    error_description: String,
    #[serde(default, deserialize_with = "crate::json::text")]
    hint: String,
}

fn non_empty(s: String) -> Option<String> {
    (!s.trim().is_empty()).then_some(s)
}

impl ApiErrorBody {
    /// Parses an error body whatever its content type.
    pub fn parse(body: &str) -> Self {
        match serde_json::from_str::<WireError>(body.trim()) {
            Ok(w) => {
                let message = if w.message.is_empty() {
                    [w.error_description.as_str(), w.hint.as_str()]
                        .iter()
                        .filter(|s| !s.is_empty())
                        .copied()
                        .collect::<Vec<_>>()
                        .join(" — ")
                } else {
                    w.message
                };
                Self {
                    http_code: w.http_code.trim().parse().ok(),
                    http_message: non_empty(w.http_message),
                    message,
                    error_class: non_empty(w.error_class),
                    error: non_empty(w.error),
                    hint: non_empty(w.hint),
                }
            }
            Err(_) => Self {
                message: body.chars().take(300).collect(),
                ..Self::default()
            },
        }
    }
}

impl std::fmt::Display for ApiErrorBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.error_class, &self.error) {
            (Some(class), _) => write!(f, "{} ({class})", self.message),
            (None, Some(code)) => write!(f, "{} ({code})", self.message),
            (None, None) => f.write_str(&self.message),
        }
    }
}

/// A failure of the caller-provided token store or lease.
pub type PortError = Box<dyn std::error::Error + Send + Sync>;

/// Authentication failures.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The token store holds no tokens: run the first connection (authorization code).
    #[error("no Lightspeed tokens stored; connect the account first")]
    NotConnected,
    /// The OAuth server refused the grant (e.g. `invalid_grant` for a revoked refresh
    /// token): the connection must be re-authorised.
    #[error("Lightspeed OAuth refused the {grant} grant ({status}): {body}")]
    Refused {
        grant: &'static str,
        status: u16,
        body: ApiErrorBody,
    },
    /// The token endpoint failed in a way that may pass (5xx, 429, network).
    #[error("Lightspeed OAuth {grant} grant failed ({status:?}): {message}")]
    Unavailable {
        grant: &'static str,
        status: Option<u16>,
        message: String,
        retry_after: Option<Duration>,
    },
    /// The token response was not what the docs describe.
    #[error("unexpected Lightspeed token response: {0}")]
    InvalidTokenResponse(String),
    /// The `state` returned to the redirect URI is not the one sent.
    #[error("OAuth state mismatch: the redirect does not belong to this authorization request")]
    StateMismatch,
    /// Reading or writing the token store failed.
    #[error("token store failed: {0}")]
    Store(#[source] PortError),
    /// Taking or releasing the refresh lease failed.
    #[error("refresh lease failed: {0}")]
    Lease(#[source] PortError),
    /// Another process held the refresh lease and no new token appeared in time.
    #[error("waited {0:?} for another process to refresh the Lightspeed token")]
    LeaseWaitTimedOut(Duration),
}

/// Everything the client can fail with.
#[derive(Debug, thiserror::Error)]
pub enum LightspeedError {
    /// No usable HTTP answer.
    #[error("Lightspeed {method} {endpoint} failed ({kind:?}): {source}")]
    Transport {
        method: &'static str,
        endpoint: String,
        kind: TransportKind,
        #[source]
        source: reqwest::Error,
    },
    /// The API answered with an error status.
    #[error("Lightspeed {method} {endpoint} answered {status}: {body}")]
    Api {
        method: &'static str,
        endpoint: String,
        status: u16,
        body: ApiErrorBody,
        retry_after: Option<Duration>,
    },
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// A response (or record) did not match the model.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The `next` link repeated a URL already fetched: following it would loop.
    #[error("Lightspeed paging did not advance: {url} was returned twice")]
    PagingStalled { url: String },
    /// A `next` link pointed to another host than the API base (the token is not sent there).
    #[error("Lightspeed next link {url} is not on the API base")]
    ForeignLink { url: String },
    /// A URL could not be built.
    #[error("invalid Lightspeed URL: {0}")]
    Url(#[from] url::ParseError),
    /// The HTTP client could not be built (TLS backend, invalid settings).
    #[error("cannot build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
}

impl LightspeedError {
    /// What the caller should do next.
    pub fn class(&self) -> ErrorClass {
        match self {
            LightspeedError::Transport { .. } => ErrorClass::Transient,
            LightspeedError::Api {
                status,
                body,
                retry_after,
                ..
            } => match *status {
                429 => ErrorClass::RateLimited { wait: *retry_after },
                400 if says_try_again(&body.message) => ErrorClass::Transient,
                401 | 403 => ErrorClass::Auth,
                // An edit conflict passes once the record is read again.
                408 | 409 | 500..=599 => ErrorClass::Transient,
                _ => ErrorClass::Rejected,
            },
            LightspeedError::Auth(e) => match e {
                AuthError::NotConnected | AuthError::Refused { .. } | AuthError::StateMismatch => {
                    ErrorClass::Auth
                }
                AuthError::Unavailable {
                    status: Some(429),
                    retry_after,
                    ..
                } => ErrorClass::RateLimited { wait: *retry_after },
                AuthError::Unavailable { .. }
                | AuthError::Store(_)
                | AuthError::Lease(_)
                | AuthError::LeaseWaitTimedOut(_)
                | AuthError::InvalidTokenResponse(_) => ErrorClass::Transient,
            },
            LightspeedError::Decode(_)
            | LightspeedError::PagingStalled { .. }
            | LightspeedError::ForeignLink { .. }
            | LightspeedError::Url(_)
            | LightspeedError::Client(_) => ErrorClass::Rejected,
        }
    }

    /// The HTTP status, when the API answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            LightspeedError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recorded_error_body_parses() {
        let raw = include_str!("../../../tests/fixtures/lightspeed/rseries_error_400.vcr.json");
        let b = ApiErrorBody::parse(raw);
        assert_eq!(b.http_code, Some(400));
        assert_eq!(b.message, "name cannot be blank.");
        assert_eq!(b.error_class.as_deref(), Some("Exception"));
    }

    #[test]
    fn oauth_bodies_and_html_parse() {
        let b = ApiErrorBody::parse(
            r#"{"error":"access_denied","error_description":"The resource owner or authorization server denied the request.","hint":"Access token could not be verified"}"#,
        );
        assert_eq!(b.error.as_deref(), Some("access_denied"));
        assert!(b.message.ends_with("Access token could not be verified"));
        let html = ApiErrorBody::parse("<html><body>Bad gateway</body></html>");
        assert!(html.message.contains("Bad gateway"));
    }

    #[test]
    fn classes() {
        let api = |status, message: &str, retry_after| LightspeedError::Api {
            method: "GET",
            endpoint: "Item".into(),
            status,
            body: ApiErrorBody {
                message: message.into(),
                ..ApiErrorBody::default()
            },
            retry_after,
        };
        let wait = Some(Duration::from_secs(2));
        assert_eq!(api(429, "", wait).class(), ErrorClass::RateLimited { wait });
        assert_eq!(api(503, "", None).class(), ErrorClass::Transient);
        assert_eq!(api(409, "", None).class(), ErrorClass::Transient);
        assert_eq!(
            api(400, "Please try again later.", None).class(),
            ErrorClass::Transient
        );
        assert_eq!(
            api(400, "name cannot be blank.", None).class(),
            ErrorClass::Rejected
        );
        assert_eq!(api(401, "", None).class(), ErrorClass::Auth);
        assert_eq!(api(403, "", None).class(), ErrorClass::Auth);
        assert_eq!(api(404, "", None).class(), ErrorClass::Rejected);
        assert_eq!(
            LightspeedError::from(AuthError::NotConnected).class(),
            ErrorClass::Auth
        );
        assert_eq!(
            LightspeedError::from(AuthError::LeaseWaitTimedOut(Duration::from_secs(1))).class(),
            ErrorClass::Transient
        );
        assert_eq!(ErrorClass::Auth.as_str(), "auth");
    }
}
