//! `lsbc connect`: the first connection of each API.
//!
//! - **Lightspeed**: OAuth authorization code with PKCE. The CLI prints the authorize URL;
//!   the operator signs in and approves; Lightspeed redirects to the registered HTTPS
//!   redirect URI with `code` and `state`; the operator pastes that redirected URL back (or
//!   passes it with `--redirected-url`). The CLI checks `state`, exchanges the code with the
//!   PKCE verifier and stores the token pair in the connection secret.
//! - **Business Central**: checks the client credentials (or on-premises access key) by
//!   listing the companies, picks the one asked for (or the only one), and stores the
//!   connection.

use std::sync::Arc;

use lsbc_business_central::BusinessCentral;
use lsbc_connectors::business_central::{BusinessCentralSecret, CompanySecret};
use lsbc_connectors::lightspeed::{LightspeedSecret, SecretTokenStore};
use lsbc_core::ports::SecretStore;
use lsbc_lightspeed::{AuthorizationRequest, LightspeedClient, LocalLease};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::CliError;

/// A Lightspeed connection in progress: the authorize URL to open, and what finishing needs.
#[derive(Debug)]
pub struct PendingLightspeed {
    client: LightspeedClient,
    request: AuthorizationRequest,
    secret_name: String,
}

impl PendingLightspeed {
    /// The URL the operator opens to approve the connection.
    pub fn authorize_url(&self) -> String {
        self.request.url.to_string()
    }
}

/// Starts connecting Lightspeed: stores the client's part of the secret (no tokens yet) and
/// prepares the authorize URL with a fresh `state` and PKCE challenge.
pub async fn start_lightspeed(
    secrets: Arc<dyn SecretStore>,
    secret_name: &str,
    secret: LightspeedSecret,
) -> Result<PendingLightspeed, CliError> {
    if secret.redirect_uri.is_none() {
        return Err(CliError::Usage(
            "Lightspeed needs the client's registered HTTPS redirect URI (--redirect-uri)".into(),
        ));
    }
    let mut without_tokens = secret.clone();
    without_tokens.tokens = None;
    secrets
        .put(secret_name, &without_tokens.to_secret()?)
        .await?;
    let config = secret.client_config()?;
    let client = LightspeedClient::builder(
        config,
        Arc::new(SecretTokenStore::new(secrets.clone(), secret_name)),
        Arc::new(LocalLease::default()),
    )
    .build()
    .map_err(lsbc_connectors::lightspeed::external)?;
    let request = client
        .tokens()
        .oauth()
        .authorization_request()
        .map_err(|e| CliError::Usage(format!("authorize URL: {e}")))?;
    Ok(PendingLightspeed {
        client,
        request,
        secret_name: secret_name.to_owned(),
    })
}

/// Finishes connecting Lightspeed with the URL Lightspeed redirected to. Returns the
/// account id.
pub async fn finish_lightspeed(
    pending: PendingLightspeed,
    secrets: Arc<dyn SecretStore>,
    redirected_url: &str,
) -> Result<Value, CliError> {
    let url = url::Url::parse(redirected_url.trim())
        .map_err(|e| CliError::Usage(format!("not a URL: {e}")))?;
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    if let Some(error) = param("error") {
        return Err(CliError::Usage(format!(
            "Lightspeed refused the connection: {error} {}",
            param("error_description").unwrap_or_default()
        )));
    }
    let code = param("code").ok_or_else(|| CliError::Usage("the URL has no `code`".into()))?;
    let state = param("state").ok_or_else(|| CliError::Usage("the URL has no `state`".into()))?;
    pending
        .client
        .tokens()
        .connect(&pending.request, &state, &code)
        .await
        .map_err(|e| CliError::Usage(format!("connecting Lightspeed: {e}")))?;
    let account = pending
        .client
        .account_id()
        .await
        .map_err(lsbc_connectors::lightspeed::external)?;
    let value = secrets
        .get(&pending.secret_name, lsbc_core::ports::Freshness::Fresh)
        .await?;
    let mut secret = LightspeedSecret::parse(&pending.secret_name, &value)?;
    secret.account_id = Some(account.to_string());
    secrets
        .put(&pending.secret_name, &secret.to_secret()?)
        .await?;
    Ok(
        json!({"connected": "lightspeed", "account_id": account.to_string(), "secret": pending.secret_name}),
    )
}

/// Checks a Business Central connection, chooses the company and stores the secret.
/// Without a company in `secret`… the only company is taken, or the list is returned in
/// the error.
pub async fn connect_business_central(
    secrets: Arc<dyn SecretStore>,
    secret_name: &str,
    mut secret: BusinessCentralSecret,
    company_given: bool,
) -> Result<Value, CliError> {
    let client = BusinessCentral::new(secret.config()?)
        .map_err(|e| lsbc_connectors::business_central::external(None, e))?;
    let companies = client
        .companies()
        .await
        .map_err(|e| lsbc_connectors::business_central::external(None, e))?;
    let names: Vec<String> = companies.iter().map(|c| c.name.clone()).collect();
    let chosen = if company_given {
        let found = companies.iter().find(|c| match &secret.company {
            CompanySecret::Id(id) => c.id == *id,
            CompanySecret::Name(name) => &c.name == name,
        });
        found.ok_or_else(|| {
            CliError::Usage(format!(
                "no such company; Business Central has: {}",
                names.join(", ")
            ))
        })?
    } else {
        match companies.as_slice() {
            [only] => only,
            _ => {
                return Err(CliError::Usage(format!(
                    "choose a company with --company; Business Central has: {}",
                    names.join(", ")
                )));
            }
        }
    };
    secret.company = CompanySecret::Id(chosen.id);
    let text = serde_json::to_string(&secret).map_err(|e| CliError::Usage(e.to_string()))?;
    secrets.put(secret_name, &SecretString::from(text)).await?;
    Ok(json!({
        "connected": "business-central",
        "company": {"id": chosen.id.to_string(), "name": chosen.name},
        "companies": names,
        "secret": secret_name,
    }))
}
