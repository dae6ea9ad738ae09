//! Credentials per principal: OAuth2 client-credentials tokens from Entra (one fetch at a
//! time per principal, cached until shortly before expiry) or the on-premises basic-auth
//! header. It must not pace or retry BC API calls, and never lets a secret reach a log or
//! an error message.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::error::BcError;
use crate::retry::{self, Decision, Outcome, RetryPolicy, TransportFailure};

pub(crate) struct CachedToken {
    header: SecretString,
    refresh_at: Instant,
}

/// How one principal signs its requests.
pub(crate) enum Credential {
    OAuth {
        client_id: String,
        secret: SecretString,
        token_url: String,
        cached: Mutex<Option<CachedToken>>,
    },
    Basic {
        user: String,
        header: SecretString,
    },
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OAuth { client_id, .. } => f
                .debug_struct("OAuth")
                .field("client_id", client_id)
                .finish_non_exhaustive(),
            Self::Basic { user, .. } => f
                .debug_struct("Basic")
                .field("user", user)
                .finish_non_exhaustive(),
        }
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    /// Entra v2 sends a number; older endpoints sent a string.
    expires_in: serde_json::Value,
}

#[derive(Deserialize, Default)]
struct TokenRefusal {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
}

impl Credential {
    pub(crate) fn oauth(client_id: String, secret: SecretString, token_url: String) -> Self {
        Self::OAuth {
            client_id,
            secret,
            token_url,
            cached: Mutex::new(None),
        }
    }

    pub(crate) fn basic(user: &str, key: &SecretString) -> Self {
        let raw = format!("{user}:{}", key.expose_secret());
        let header = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        );
        Self::Basic {
            user: user.to_owned(),
            header: header.into(),
        }
    }

    /// A label for counters and logs: client id or user name.
    pub(crate) fn label(&self) -> &str {
        match self {
            Self::OAuth { client_id, .. } => client_id,
            Self::Basic { user, .. } => user,
        }
    }

    pub(crate) fn is_oauth(&self) -> bool {
        matches!(self, Self::OAuth { .. })
    }

    /// Forgets a cached token (after a 401).
    pub(crate) async fn invalidate(&self) {
        if let Self::OAuth { cached, .. } = self {
            *cached.lock().await = None;
        }
    }

    /// The `Authorization` header value, fetching a token when needed.
    pub(crate) async fn header(
        &self,
        http: &reqwest::Client,
        retry: &RetryPolicy,
        margin: Duration,
    ) -> Result<SecretString, BcError> {
        match self {
            Self::Basic { header, .. } => Ok(header.clone()),
            Self::OAuth {
                client_id,
                secret,
                token_url,
                cached,
            } => {
                // Holding the lock across the fetch: concurrent requests of this principal
                // wait for one token instead of each asking for their own.
                let mut guard = cached.lock().await;
                if let Some(token) = guard.as_ref()
                    && Instant::now() < token.refresh_at
                {
                    return Ok(token.header.clone());
                }
                let (header, lifetime) =
                    fetch_token(http, retry, token_url, client_id, secret).await?;
                // Refresh `margin` early, but never later than half-way through a short token.
                let early = margin.min(lifetime / 2);
                *guard = Some(CachedToken {
                    header: header.clone(),
                    refresh_at: Instant::now() + lifetime.saturating_sub(early),
                });
                Ok(header)
            }
        }
    }
}

async fn fetch_token(
    http: &reqwest::Client,
    retry_policy: &RetryPolicy,
    token_url: &str,
    client_id: &str,
    secret: &SecretString,
) -> Result<(SecretString, Duration), BcError> {
    let refused = |status: Option<u16>, error: String, description: String| BcError::Token {
        client_id: client_id.to_owned(),
        status,
        error,
        description,
    };
    let mut attempt = 1;
    loop {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret.expose_secret()),
            ("scope", crate::config::SCOPE),
        ];
        let sent = http.post(token_url).form(&form).send().await;
        let (outcome, result) = match sent {
            Err(error) => (
                Outcome::Transport(TransportFailure::of(&error)),
                Err(refused(None, "transport".to_owned(), error.to_string())),
            ),
            Ok(response) => {
                let status = response.status().as_u16();
                let retry_after = retry::retry_after(response.headers());
                let body = response.bytes().await.unwrap_or_default();
                let result = if (200..300).contains(&status) {
                    decode_token(&body).ok_or_else(|| {
                        refused(
                            Some(status),
                            "invalid_response".to_owned(),
                            "no access_token/expires_in in the answer".to_owned(),
                        )
                    })
                } else {
                    let refusal: TokenRefusal = serde_json::from_slice(&body).unwrap_or_default();
                    Err(refused(
                        Some(status),
                        refusal.error,
                        refusal.error_description,
                    ))
                };
                (
                    Outcome::Status {
                        status,
                        retry_after,
                    },
                    result,
                )
            }
        };
        if result.is_ok() {
            return result;
        }
        let jitter = crate::pacing::jitter();
        match retry::decide(retry_policy, attempt, true, outcome, jitter) {
            Decision::Stop => return result,
            Decision::Retry { after, .. } => {
                tokio::time::sleep(after).await;
                attempt += 1;
            }
        }
    }
}

fn decode_token(body: &[u8]) -> Option<(SecretString, Duration)> {
    let answer: TokenAnswer = serde_json::from_slice(body).ok()?;
    let seconds = match &answer.expires_in {
        serde_json::Value::Number(n) => n.as_f64()?,
        serde_json::Value::String(s) => s.parse().ok()?,
        _ => return None,
    };
    if !(seconds.is_finite() && seconds > 0.0) {
        return None;
    }
    let kind = answer.token_type.as_deref().unwrap_or("Bearer");
    let header = format!("{kind} {}", answer.access_token);
    Some((header.into(), Duration::from_secs_f64(seconds)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_answers_decode_numbers_and_strings() {
        let (header, life) = decode_token(
            br#"{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"abc"}"#,
        )
        .unwrap();
        assert_eq!(header.expose_secret(), "Bearer abc");
        assert_eq!(life, Duration::from_secs(3599));
        let (_, life) = decode_token(br#"{"expires_in":"60","access_token":"x"}"#).unwrap();
        assert_eq!(life, Duration::from_mins(1));
        assert!(decode_token(br#"{"access_token":"x","expires_in":0}"#).is_none());
    }

    #[test]
    fn debug_never_shows_secrets() {
        let c = Credential::oauth("app-1".into(), "s3cr3t".into(), "http://x".into());
        let b = Credential::basic("ADMIN", &SecretString::from("k3y"));
        let text = format!("{c:?} {b:?}");
        assert!(text.contains("app-1") && text.contains("ADMIN"));
        assert!(!text.contains("s3cr3t") && !text.contains("k3y") && !text.contains("QURN"));
    }
}
