//! The OAuth server of the simulator (api-notes/LIGHTSPEED.md §2.1): authorization codes
//! (valid 60 s of API time, PKCE S256 checked at exchange), JWT-shaped access tokens with an
//! `acct` claim, and rotating refresh tokens with deferred revocation: a refresh issues a new
//! pair; the old refresh token stays usable until the new access token is first used, then it
//! is revoked. Reusing a refresh token whose successor is still unused is allowed (a retry)
//! but counted and it cancels that unused successor, so a double refresh is visible.
//! No HTTP here: the routes translate requests into these calls.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

/// A token pair as the token endpoint returns it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenGrant {
    pub access_token: String,
    pub refresh_token: String,
    /// Lifetime in wall-clock seconds (API lifetime ÷ time scale, at least 1).
    pub expires_in: u64,
    pub token_type: String,
}

/// An OAuth error: HTTP status and the `{error, error_description, hint}` body.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OAuthError {
    pub(crate) status: u16,
    pub(crate) error: &'static str,
    pub(crate) description: &'static str,
    pub(crate) hint: String,
}

impl OAuthError {
    pub(crate) fn body(&self) -> serde_json::Value {
        json!({"error": self.error, "error_description": self.description, "hint": self.hint})
    }

    // Wording follows the OAuth server the new endpoints run on (league/oauth2-server style
    // bodies with `hint`, as quoted in the docs' 401 examples); the exact descriptions are
    // inferred.
    fn invalid_grant(hint: impl Into<String>) -> Self {
        Self {
            status: 400,
            error: "invalid_grant",
            description: "The provided authorization grant (e.g., authorization code, resource owner credentials) or refresh token is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.",
            hint: hint.into(),
        }
    }

    fn invalid_client() -> Self {
        Self {
            status: 401,
            error: "invalid_client",
            description: "Client authentication failed",
            hint: String::new(),
        }
    }

    fn invalid_request(hint: impl Into<String>) -> Self {
        Self {
            status: 400,
            error: "invalid_request",
            description: "The request is missing a required parameter, includes an invalid parameter value, includes a parameter more than once, or is otherwise malformed.",
            hint: hint.into(),
        }
    }

    fn access_denied(hint: &str) -> Self {
        Self {
            status: 401,
            error: "access_denied",
            description: "The resource owner or authorization server denied the request.",
            hint: hint.to_owned(),
        }
    }
}

#[derive(Debug, Clone)]
struct CodeRec {
    expires_at: f64,
    redirect_uri: Option<String>,
    challenge: Option<String>,
    used: bool,
}

#[derive(Debug, Clone)]
struct AccessRec {
    expires_at: f64,
    parent: Option<String>,
    used: bool,
    revoked: bool,
}

#[derive(Debug, Clone)]
struct RefreshRec {
    expires_at: f64,
    revoked: bool,
    child: Option<(String, String)>,
}

/// Counters the tests read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OAuthCounters {
    /// Successful refresh grants.
    pub refreshes: u64,
    /// Refresh grants refused (revoked, unknown or expired refresh token).
    pub refresh_rejections: u64,
    /// Refresh grants that reused a refresh token whose successor had not been used yet
    /// (a retry, or two refreshers racing).
    pub refresh_reuses: u64,
    /// Authorization codes exchanged.
    pub codes_exchanged: u64,
    /// API requests refused for a missing, unknown, expired or revoked access token.
    pub unauthorized: u64,
}

/// OAuth state of one simulator.
#[derive(Debug)]
pub(crate) struct OAuth {
    client_id: String,
    client_secret: String,
    redirect_uri: String,
    account_id: u64,
    token_ttl: f64,
    scale: f64,
    rng: ChaCha8Rng,
    codes: BTreeMap<String, CodeRec>,
    access: BTreeMap<String, AccessRec>,
    refresh: BTreeMap<String, RefreshRec>,
    pub(crate) counters: OAuthCounters,
}

/// Unused refresh tokens expire after 30 days (docs).
const REFRESH_TTL: f64 = 30.0 * 86_400.0;
/// Authorization codes are valid 60 s (docs).
const CODE_TTL: f64 = 60.0;

/// Client credentials and timing the OAuth server needs.
#[derive(Debug, Clone)]
pub(crate) struct OAuthSettings {
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
    pub(crate) redirect_uri: String,
    pub(crate) account_id: u64,
    pub(crate) token_ttl: f64,
    pub(crate) scale: f64,
    pub(crate) seed: u64,
}

impl OAuth {
    pub(crate) fn new(s: OAuthSettings) -> Self {
        Self {
            client_id: s.client_id,
            client_secret: s.client_secret,
            redirect_uri: s.redirect_uri,
            account_id: s.account_id,
            token_ttl: s.token_ttl,
            scale: s.scale,
            rng: ChaCha8Rng::seed_from_u64(s.seed ^ 0x5eed_0a07),
            codes: BTreeMap::new(),
            access: BTreeMap::new(),
            refresh: BTreeMap::new(),
            counters: OAuthCounters::default(),
        }
    }

    /// Every credential of this simulator a log must never show: the client secret and
    /// every code, access token and refresh token issued so far.
    pub(crate) fn secrets_issued(&self) -> Vec<String> {
        std::iter::once(self.client_secret.clone())
            .chain(self.codes.keys().cloned())
            .chain(self.access.keys().cloned())
            .chain(self.refresh.keys().cloned())
            .collect()
    }

    fn random(&mut self, bytes: usize) -> String {
        let mut buf = vec![0u8; bytes];
        self.rng.fill(&mut buf[..]);
        URL_SAFE_NO_PAD.encode(buf)
    }

    /// Handles the authorize step (auto-approved): returns the redirect location.
    pub(crate) fn authorize(
        &mut self,
        params: &BTreeMap<String, String>,
        now: f64,
    ) -> Result<String, OAuthError> {
        if params.get("response_type").map(String::as_str) != Some("code") {
            return Err(OAuthError::invalid_request("response_type must be code"));
        }
        if params.get("client_id") != Some(&self.client_id) {
            return Err(OAuthError::invalid_client());
        }
        let challenge = match (
            params.get("code_challenge"),
            params.get("code_challenge_method").map(String::as_str),
        ) {
            (Some(c), Some("S256")) => Some(c.clone()),
            (Some(_), _) => {
                return Err(OAuthError::invalid_request(
                    "Only code_challenge_method=S256 is supported",
                ));
            }
            (None, _) => None,
        };
        let redirect = params
            .get("redirect_uri")
            .cloned()
            .unwrap_or_else(|| self.redirect_uri.clone());
        let code = self.random(32);
        self.codes.insert(
            code.clone(),
            CodeRec {
                expires_at: now + CODE_TTL,
                redirect_uri: params.get("redirect_uri").cloned(),
                challenge,
                used: false,
            },
        );
        let mut location = url::Url::parse(&redirect)
            .map_err(|_| OAuthError::invalid_request("redirect_uri is not a URL"))?;
        location.query_pairs_mut().append_pair("code", &code);
        if let Some(state) = params.get("state") {
            location.query_pairs_mut().append_pair("state", state);
        }
        Ok(location.to_string())
    }

    fn check_client(&self, params: &BTreeMap<String, String>) -> Result<(), OAuthError> {
        if params.get("client_id") == Some(&self.client_id)
            && params.get("client_secret") == Some(&self.client_secret)
        {
            Ok(())
        } else {
            Err(OAuthError::invalid_client())
        }
    }

    /// Handles `POST /auth/oauth/token` (client credentials already merged into `params`).
    pub(crate) fn token(
        &mut self,
        params: &BTreeMap<String, String>,
        now: f64,
    ) -> Result<TokenGrant, OAuthError> {
        self.check_client(params)?;
        match params.get("grant_type").map(String::as_str) {
            Some("authorization_code") => self.exchange_code(params, now),
            Some("refresh_token") => self.refresh_grant(params, now),
            _ => Err(OAuthError {
                status: 400,
                error: "unsupported_grant_type",
                description: "The authorization grant type is not supported by the authorization server.",
                hint: "Check that all required parameters have been provided".into(),
            }),
        }
    }

    fn exchange_code(
        &mut self,
        params: &BTreeMap<String, String>,
        now: f64,
    ) -> Result<TokenGrant, OAuthError> {
        let code = params
            .get("code")
            .ok_or_else(|| OAuthError::invalid_request("Check the `code` parameter"))?;
        let rec = self
            .codes
            .get_mut(code)
            .ok_or_else(|| OAuthError::invalid_grant("Cannot decrypt the authorization code"))?;
        if rec.used {
            return Err(OAuthError::invalid_grant(
                "Authorization code has been revoked",
            ));
        }
        if now > rec.expires_at {
            return Err(OAuthError::invalid_grant("Authorization code has expired"));
        }
        if let Some(expected) = &rec.redirect_uri
            && params.get("redirect_uri") != Some(expected)
        {
            return Err(OAuthError::invalid_request("Invalid redirect URI"));
        }
        if let Some(challenge) = rec.challenge.clone() {
            let verifier = params.get("code_verifier").ok_or_else(|| {
                OAuthError::invalid_request("Check the `code_verifier` parameter")
            })?;
            let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
            if computed != challenge {
                return Err(OAuthError::invalid_grant(
                    "Failed to verify `code_verifier`.",
                ));
            }
        }
        rec.used = true;
        self.counters.codes_exchanged += 1;
        Ok(self.issue(None, now))
    }

    fn refresh_grant(
        &mut self,
        params: &BTreeMap<String, String>,
        now: f64,
    ) -> Result<TokenGrant, OAuthError> {
        let token = params
            .get("refresh_token")
            .ok_or_else(|| OAuthError::invalid_request("Check the `refresh_token` parameter"))?
            .clone();
        let Some(rec) = self.refresh.get(&token).cloned() else {
            self.counters.refresh_rejections += 1;
            return Err(OAuthError::invalid_grant(
                "Cannot decrypt the refresh token",
            ));
        };
        if rec.revoked {
            self.counters.refresh_rejections += 1;
            return Err(OAuthError::invalid_grant("Token has been revoked"));
        }
        if now > rec.expires_at {
            self.counters.refresh_rejections += 1;
            return Err(OAuthError::invalid_grant("Token has expired"));
        }
        if let Some((access, refresh)) = rec.child {
            // A retry (or a racing second refresher) before the successor was used: allowed
            // by deferred revocation, but the unused successor pair is cancelled.
            self.counters.refresh_reuses += 1;
            if let Some(a) = self.access.get_mut(&access) {
                a.revoked = true;
            }
            if let Some(r) = self.refresh.get_mut(&refresh) {
                r.revoked = true;
            }
        }
        self.counters.refreshes += 1;
        Ok(self.issue(Some(token), now))
    }

    fn issue(&mut self, parent: Option<String>, now: f64) -> TokenGrant {
        let jti = self.random(16);
        let exp = now + self.token_ttl;
        let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"RS256"}"#);
        let claims = json!({
            "aud": self.client_id,
            "jti": jti,
            "iat": now as i64,
            "nbf": now as i64,
            "exp": exp as i64,
            "sub": "1",
            "scope": "employee:all",
            "acct": self.account_id.to_string(),
        });
        let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        let signature = self.random(64);
        let access_token = format!("{header}.{payload}.{signature}");
        let refresh_token = format!("def50200{}", self.random(96));
        self.access.insert(
            access_token.clone(),
            AccessRec {
                expires_at: exp,
                parent: parent.clone(),
                used: false,
                revoked: false,
            },
        );
        self.refresh.insert(
            refresh_token.clone(),
            RefreshRec {
                expires_at: now + REFRESH_TTL,
                revoked: false,
                child: None,
            },
        );
        if let Some(p) = parent
            && let Some(rec) = self.refresh.get_mut(&p)
        {
            rec.child = Some((access_token.clone(), refresh_token.clone()));
        }
        TokenGrant {
            access_token,
            refresh_token,
            expires_in: (self.token_ttl / self.scale).round().max(1.0) as u64,
            token_type: "Bearer".into(),
        }
    }

    /// Issues a pair without the authorization step (for seeding clients in tests).
    pub(crate) fn issue_direct(&mut self, now: f64) -> TokenGrant {
        self.issue(None, now)
    }

    /// Checks an access token for an API request; the first successful use revokes the
    /// refresh token it was issued from (deferred revocation).
    pub(crate) fn authenticate(
        &mut self,
        authorization: Option<&str>,
        now: f64,
    ) -> Result<(), OAuthError> {
        let token = authorization
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim);
        let Some(token) = token else {
            self.counters.unauthorized += 1;
            return Err(OAuthError::access_denied(
                "Missing \"Authorization\" header",
            ));
        };
        let Some(rec) = self.access.get_mut(token) else {
            self.counters.unauthorized += 1;
            return Err(OAuthError::access_denied(
                "Access token could not be verified",
            ));
        };
        if rec.revoked {
            self.counters.unauthorized += 1;
            return Err(OAuthError::access_denied("Access token has been revoked"));
        }
        if now > rec.expires_at {
            self.counters.unauthorized += 1;
            return Err(OAuthError::access_denied(
                "Access token could not be verified",
            ));
        }
        if !rec.used {
            rec.used = true;
            if let Some(parent) = rec.parent.clone()
                && let Some(p) = self.refresh.get_mut(&parent)
            {
                p.revoked = true;
            }
        }
        Ok(())
    }

    /// Makes every access token issued so far expired (as if its lifetime had passed).
    pub(crate) fn expire_access_tokens(&mut self) {
        for rec in self.access.values_mut() {
            rec.expires_at = f64::MIN;
        }
    }

    /// Whether an access token has been used for an API request.
    pub(crate) fn access_token_used(&self, token: &str) -> bool {
        self.access.get(token).is_some_and(|r| r.used)
    }

    /// Whether a refresh token is still usable.
    pub(crate) fn refresh_token_valid(&self, token: &str, now: f64) -> bool {
        self.refresh
            .get(token)
            .is_some_and(|r| !r.revoked && now <= r.expires_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server() -> OAuth {
        OAuth::new(OAuthSettings {
            client_id: "c".into(),
            client_secret: "s".into(),
            redirect_uri: "https://localhost/cb".into(),
            account_id: 42,
            token_ttl: 3600.0,
            scale: 1.0,
            seed: 1,
        })
    }

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn refresh(o: &mut OAuth, token: &str) -> Result<TokenGrant, OAuthError> {
        o.token(
            &params(&[
                ("client_id", "c"),
                ("client_secret", "s"),
                ("grant_type", "refresh_token"),
                ("refresh_token", token),
            ]),
            10.0,
        )
    }

    #[test]
    fn old_refresh_token_dies_once_the_new_access_token_is_used() {
        let mut o = server();
        let first = o.issue_direct(0.0);
        let second = refresh(&mut o, &first.refresh_token).unwrap();
        assert!(o.refresh_token_valid(&first.refresh_token, 10.0));
        o.authenticate(Some(&format!("Bearer {}", second.access_token)), 11.0)
            .unwrap();
        assert!(!o.refresh_token_valid(&first.refresh_token, 11.0));
        let err = refresh(&mut o, &first.refresh_token).unwrap_err();
        assert_eq!((err.status, err.error), (400, "invalid_grant"));
        assert_eq!(o.counters.refreshes, 1);
        assert_eq!(o.counters.refresh_rejections, 1);
    }

    #[test]
    fn a_second_refresh_before_use_is_counted_and_cancels_the_first_successor() {
        let mut o = server();
        let first = o.issue_direct(0.0);
        let a = refresh(&mut o, &first.refresh_token).unwrap();
        let b = refresh(&mut o, &first.refresh_token).unwrap();
        assert_eq!(o.counters.refresh_reuses, 1);
        let err = o
            .authenticate(Some(&format!("Bearer {}", a.access_token)), 12.0)
            .unwrap_err();
        assert_eq!(err.hint, "Access token has been revoked");
        o.authenticate(Some(&format!("Bearer {}", b.access_token)), 12.0)
            .unwrap();
    }

    #[test]
    fn pkce_is_verified_at_exchange() {
        let mut o = server();
        let verifier = "a".repeat(50);
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let location = o
            .authorize(
                &params(&[
                    ("response_type", "code"),
                    ("client_id", "c"),
                    ("state", "xyz"),
                    ("code_challenge", &challenge),
                    ("code_challenge_method", "S256"),
                ]),
                0.0,
            )
            .unwrap();
        let url = url::Url::parse(&location).unwrap();
        let q: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
        assert_eq!(q["state"], "xyz");
        let exchange = |o: &mut OAuth, verifier: &str, now: f64| {
            o.token(
                &params(&[
                    ("client_id", "c"),
                    ("client_secret", "s"),
                    ("grant_type", "authorization_code"),
                    ("code", &q["code"]),
                    ("code_verifier", verifier),
                ]),
                now,
            )
        };
        assert_eq!(
            exchange(&mut o, "wrong", 1.0).unwrap_err().error,
            "invalid_grant"
        );
        assert!(
            exchange(&mut o, &verifier, 61.0).is_err(),
            "code expired after 60 s"
        );
        let mut o2 = server();
        let location = o2
            .authorize(
                &params(&[
                    ("response_type", "code"),
                    ("client_id", "c"),
                    ("code_challenge", &challenge),
                    ("code_challenge_method", "S256"),
                ]),
                0.0,
            )
            .unwrap();
        let url = url::Url::parse(&location).unwrap();
        let code = url
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .unwrap();
        let grant = o2
            .token(
                &params(&[
                    ("client_id", "c"),
                    ("client_secret", "s"),
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("code_verifier", &verifier),
                ]),
                30.0,
            )
            .unwrap();
        assert_eq!(grant.expires_in, 3600);
        assert_eq!(o2.counters.codes_exchanged, 1);
    }

    #[test]
    fn expired_access_tokens_are_refused() {
        let mut o = server();
        let grant = o.issue_direct(0.0);
        let header = format!("Bearer {}", grant.access_token);
        o.authenticate(Some(&header), 10.0).unwrap();
        let err = o.authenticate(Some(&header), 4000.0).unwrap_err();
        assert_eq!(err.status, 401);
        assert_eq!(err.hint, "Access token could not be verified");
    }
}
