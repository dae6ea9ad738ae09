//! Reads claims from a Lightspeed access token: it is a JWT whose `acct` claim is the
//! account id (api-notes §2.1: "the token response no longer returns … account id; the
//! access token is a JWT with claims acct, sub, scope, exp"). The signature is not checked —
//! the token is only ever sent back to the server that issued it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use crate::model::AccountId;

/// The claims of a JWT-shaped token, if it is one.
pub(crate) fn claims(token: &str) -> Option<Value> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The `acct` claim (a string or a number) of an access token.
pub fn account_from_token(token: &str) -> Option<AccountId> {
    match claims(token)?.get("acct")? {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64().map(AccountId::new),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(payload: &str) -> String {
        format!(
            "{}.{}.sig",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256"}"#),
            URL_SAFE_NO_PAD.encode(payload)
        )
    }

    #[test]
    fn acct_claim_as_string_or_number() {
        assert_eq!(
            account_from_token(&token(r#"{"acct":"123"}"#)),
            Some(AccountId::new(123))
        );
        assert_eq!(
            account_from_token(&token(r#"{"acct":77}"#)),
            Some(AccountId::new(77))
        );
        assert_eq!(account_from_token(&token(r#"{"sub":"1"}"#)), None);
        assert_eq!(account_from_token("opaque-token"), None);
    }
}
