//! The OAuth endpoints (api-notes/LIGHTSPEED.md §2.1): the authorize URL with `state` and a
//! PKCE S256 challenge, the authorization-code exchange and the refresh grant against
//! `{auth_base}/auth/oauth/token`. Bodies are form-encoded and the refresh grant sends no
//! `scope` (a JSON body with `scope` is what broke refreshes for one PHP client:
//! timothydc/laravel-lightspeed-retail-api#36). Transient failures are retried with the
//! shared policy; the refresh grant may be repeated because revocation of the old token is
//! deferred until the new access token is used (changelog 2026-01-15: "retries allowed").

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::{SignedDuration, Timestamp};
use rand::Rng;
use rand::distr::Alphanumeric;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use url::Url;

use super::tokens::TokenSet;
use crate::error::{ApiErrorBody, AuthError};
use crate::retry::{self, Attempt, Failure, RetryDecision, RetryPolicy, TransportKind};

/// Settings of the OAuth client.
#[derive(Debug, Clone)]
pub struct OAuthConfig {
    /// `https://cloud.lightspeedapp.com` by default.
    pub auth_base: Url,
    pub client_id: String,
    pub client_secret: SecretString,
    /// Requested scope (docs: `employee:all` or granular `employee:…` scopes).
    pub scope: String,
    /// Redirect URI registered for the client; sent when set.
    pub redirect_uri: Option<String>,
}

/// A PKCE code verifier (RFC 7636: 43–128 unreserved characters).
#[derive(Debug, Clone)]
pub struct PkceVerifier(SecretString);

impl PkceVerifier {
    /// A new random verifier of 64 characters.
    pub fn generate() -> Self {
        let text: String = rand::rng()
            .sample_iter(&Alphanumeric)
            .take(64)
            .map(char::from)
            .collect();
        Self(SecretString::from(text))
    }

    /// A verifier kept from an earlier step (e.g. across a CLI restart).
    pub fn from_secret(verifier: SecretString) -> Self {
        Self(verifier)
    }

    /// The S256 challenge: BASE64URL-NOPAD(SHA-256(verifier)).
    pub fn challenge(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.0.expose_secret().as_bytes()))
    }

    /// The verifier itself (to send at the code exchange or to persist).
    pub fn secret(&self) -> &SecretString {
        &self.0
    }
}

/// The first step of connecting an account: send the user to `url`, then check the `state`
/// that comes back with the code.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    pub url: Url,
    pub state: String,
    pub verifier: PkceVerifier,
}

impl AuthorizationRequest {
    /// Checks the `state` returned to the redirect URI.
    pub fn check_state(&self, returned: &str) -> Result<(), AuthError> {
        if returned == self.state {
            Ok(())
        } else {
            Err(AuthError::StateMismatch)
        }
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

/// The OAuth client of one Lightspeed API client registration.
#[derive(Debug, Clone)]
pub struct OAuthClient {
    http: reqwest::Client,
    config: OAuthConfig,
    retry: RetryPolicy,
    timeout: Duration,
}

impl OAuthClient {
    /// An OAuth client.
    pub fn new(
        http: reqwest::Client,
        config: OAuthConfig,
        retry: RetryPolicy,
        timeout: Duration,
    ) -> Self {
        Self {
            http,
            config,
            retry,
            timeout,
        }
    }

    fn endpoint(&self, path: &str) -> Result<Url, AuthError> {
        let base = self.config.auth_base.as_str().trim_end_matches('/');
        Url::parse(&format!("{base}{path}"))
            .map_err(|e| AuthError::InvalidTokenResponse(format!("bad auth base URL: {e}")))
    }

    /// Builds the authorize URL (`response_type=code`, `client_id`, `scope`, `state`,
    /// `code_challenge`, `code_challenge_method=S256`, and `redirect_uri` when configured).
    pub fn authorization_request(&self) -> Result<AuthorizationRequest, AuthError> {
        let verifier = PkceVerifier::generate();
        let state: String = rand::rng()
            .sample_iter(&Alphanumeric)
            .take(32)
            .map(char::from)
            .collect();
        let mut url = self.endpoint("/auth/oauth/authorize")?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", &self.config.client_id)
                .append_pair("scope", &self.config.scope)
                .append_pair("state", &state)
                .append_pair("code_challenge", &verifier.challenge())
                .append_pair("code_challenge_method", "S256");
            if let Some(r) = &self.config.redirect_uri {
                q.append_pair("redirect_uri", r);
            }
        }
        Ok(AuthorizationRequest {
            url,
            state,
            verifier,
        })
    }

    /// Exchanges an authorization code (+ the PKCE verifier) for tokens. A code is single
    /// use, so a timed-out exchange is not repeated.
    pub async fn exchange_code(
        &self,
        code: &str,
        verifier: &PkceVerifier,
    ) -> Result<TokenSet, AuthError> {
        let mut form = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("client_id", self.config.client_id.clone()),
            (
                "client_secret",
                self.config.client_secret.expose_secret().to_owned(),
            ),
            ("code", code.to_owned()),
            (
                "code_verifier",
                verifier.secret().expose_secret().to_owned(),
            ),
        ];
        if let Some(r) = &self.config.redirect_uri {
            form.push(("redirect_uri", r.clone()));
        }
        let tokens = self
            .token_request("authorization_code", &form, false)
            .await?;
        tokens.1.ok_or_else(|| {
            AuthError::InvalidTokenResponse("no refresh_token in the code exchange".into())
        })
    }

    /// Runs the refresh grant. The answer carries a new refresh token (rotation).
    pub async fn refresh(&self, refresh_token: &SecretString) -> Result<TokenSet, AuthError> {
        let form = vec![
            ("grant_type", "refresh_token".to_owned()),
            ("client_id", self.config.client_id.clone()),
            (
                "client_secret",
                self.config.client_secret.expose_secret().to_owned(),
            ),
            ("refresh_token", refresh_token.expose_secret().to_owned()),
        ];
        let (partial, full) = self.token_request("refresh_token", &form, true).await?;
        Ok(full.unwrap_or_else(|| {
            // No new refresh token in the answer: keep using the one we have.
            tracing::warn!(
                "Lightspeed refresh answer carried no refresh_token; keeping the old one."
            );
            TokenSet {
                refresh_token: refresh_token.clone(),
                ..partial
            }
        }))
    }

    /// Posts to the token endpoint; returns the pair with a placeholder refresh token and,
    /// when the answer had one, the full pair.
    async fn token_request(
        &self,
        grant: &'static str,
        form: &[(&str, String)],
        idempotent: bool,
    ) -> Result<(TokenSet, Option<TokenSet>), AuthError> {
        let url = self.endpoint("/auth/oauth/token")?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let sent = self
                .http
                .post(url.clone())
                .header(reqwest::header::ACCEPT, "application/json")
                .form(form)
                .timeout(self.timeout)
                .send()
                .await;
            let failure_kind;
            match sent {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let headers = resp.headers().clone();
                    match resp.text().await {
                        Ok(body) if (200..300).contains(&status) => {
                            return Self::parse_tokens(&body);
                        }
                        Ok(body) => {
                            let decision = retry::decide(
                                &self.retry,
                                Attempt {
                                    number: attempt,
                                    idempotent,
                                    refreshed: true,
                                },
                                &Failure::Status {
                                    status,
                                    headers: &headers,
                                    body: &body,
                                },
                            );
                            if let RetryDecision::Retry { after, .. } = decision {
                                tokio::time::sleep(after).await;
                                continue;
                            }
                            let parsed = ApiErrorBody::parse(&body);
                            return Err(if (400..500).contains(&status) && status != 429 {
                                AuthError::Refused {
                                    grant,
                                    status,
                                    body: parsed,
                                }
                            } else {
                                AuthError::Unavailable {
                                    grant,
                                    status: Some(status),
                                    message: parsed.to_string(),
                                    retry_after: retry::retry_after(&headers),
                                }
                            });
                        }
                        Err(e) => failure_kind = (TransportKind::Interrupted, e),
                    }
                }
                Err(e) => failure_kind = (TransportKind::of(&e), e),
            }
            let (kind, error) = failure_kind;
            let decision = retry::decide(
                &self.retry,
                Attempt {
                    number: attempt,
                    idempotent,
                    refreshed: true,
                },
                &Failure::Transport(kind),
            );
            if let RetryDecision::Retry { after, .. } = decision {
                tokio::time::sleep(after).await;
                continue;
            }
            return Err(AuthError::Unavailable {
                grant,
                status: None,
                message: error.without_url().to_string(),
                retry_after: None,
            });
        }
    }

    fn parse_tokens(body: &str) -> Result<(TokenSet, Option<TokenSet>), AuthError> {
        let r: TokenResponse = serde_json::from_str(body).map_err(|e| {
            AuthError::InvalidTokenResponse(format!("not the documented token JSON: {e}"))
        })?;
        // `expires_in` is seconds (docs show 3600 and 1800); accept a string too.
        let expires_in = match &r.expires_in {
            Some(serde_json::Value::Number(n)) => n.as_f64(),
            Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        }
        .filter(|s| s.is_finite() && *s > 0.0)
        .unwrap_or(1800.0);
        let now = Timestamp::now();
        let expires_at = now
            .checked_add(SignedDuration::from_secs_f64(expires_in))
            .unwrap_or(now);
        let partial = TokenSet {
            access_token: SecretString::from(r.access_token.clone()),
            refresh_token: SecretString::from(String::new()),
            issued_at: now,
            expires_at,
        };
        let full = r
            .refresh_token
            .filter(|t| !t.is_empty())
            .map(|refresh| TokenSet {
                refresh_token: SecretString::from(refresh),
                ..partial.clone()
            });
        Ok((partial, full))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_s256_challenge_matches_rfc_7636_appendix_b() {
        let v = PkceVerifier::from_secret(SecretString::from(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".to_owned(),
        ));
        assert_eq!(v.challenge(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        let g = PkceVerifier::generate();
        assert_eq!(g.secret().expose_secret().len(), 64);
        assert_ne!(
            g.secret().expose_secret(),
            PkceVerifier::generate().secret().expose_secret()
        );
    }

    #[test]
    fn the_authorize_url_carries_state_and_challenge() {
        let client = OAuthClient::new(
            reqwest::Client::new(),
            OAuthConfig {
                auth_base: Url::parse("https://cloud.lightspeedapp.com").unwrap(),
                client_id: "cid".into(),
                client_secret: SecretString::from("s".to_owned()),
                scope: "employee:all".into(),
                redirect_uri: Some("https://example.com/cb".into()),
            },
            RetryPolicy::default(),
            Duration::from_secs(5),
        );
        let req = client.authorization_request().unwrap();
        let q: std::collections::BTreeMap<String, String> =
            req.url.query_pairs().into_owned().collect();
        assert_eq!(req.url.path(), "/auth/oauth/authorize");
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["client_id"], "cid");
        assert_eq!(q["scope"], "employee:all");
        assert_eq!(q["state"], req.state);
        assert_eq!(q["code_challenge"], req.verifier.challenge());
        assert_eq!(q["code_challenge_method"], "S256");
        assert!(req.check_state(&req.state).is_ok());
        assert!(matches!(
            req.check_state("forged"),
            Err(AuthError::StateMismatch)
        ));
        assert!(!format!("{req:?}").contains(req.verifier.secret().expose_secret()));
    }
}
