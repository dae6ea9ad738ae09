//! `lsbc connect`: the first connection of each API.
//!
//! - **Lightspeed**: OAuth authorization code with PKCE. The CLI stores the client's part of
//!   the connection secret with a pending `state` and PKCE verifier, and prints the
//!   authorize URL; the operator signs in and approves; Lightspeed redirects to the
//!   registered HTTPS redirect URI with `code` and `state`. Either that URI is the deployed
//!   callback function's `/lightspeed/callback` route, which finishes the connection by
//!   itself (the CLI waits for the tokens to appear), or the operator pastes the redirected
//!   URL back into the CLI. Either way the state is checked, the code exchanged with the
//!   verifier, and the token pair stored in the connection secret.
//! - **Business Central**: checks the client credentials (or on-premises access key) by
//!   listing the companies, picks the one asked for (or the only one), stores the
//!   connection, and probes how the company answers a client-chosen `id` on POST (with an
//!   item category it deletes at once; see `lsbc_connectors::business_central::client_ids`), keeping the
//!   answer for `lsbc status`.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use lsbc_business_central::BusinessCentral;
use lsbc_connectors::business_central::client_ids::{ClientIds, probe};
use lsbc_connectors::business_central::{BusinessCentralSecret, CompanySecret, Credential};
use lsbc_connectors::lightspeed::{LightspeedSecret, begin_connection, complete_connection};
use lsbc_core::ports::{ConfigStore, Freshness, SecretStore, SystemClock};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::args::{BusinessCentralArgs, ConnectTarget, HomeArgs, LightspeedArgs};
use crate::{CliError, print_json};

/// `lsbc connect …`: connects one API and prints what was stored.
pub async fn run(target: ConnectTarget, home: &HomeArgs) -> Result<ExitCode, CliError> {
    let state = home.choice().open().await?;
    let out = match target {
        ConnectTarget::Lightspeed(args) => lightspeed(state.secrets, args).await?,
        ConnectTarget::BusinessCentral(args) => {
            business_central(state.secrets, state.config, args).await?
        }
    };
    print_json(&out);
    Ok(ExitCode::SUCCESS)
}

/// `lsbc connect lightspeed`: prints the authorize URL, then finishes with the redirected
/// URL read from standard input, or waits for the webhook's callback route. With
/// `--redirected-url`, finishes the attempt started before instead (when standard input
/// was closed, or the person came back later).
async fn lightspeed(
    secrets: Arc<dyn SecretStore>,
    args: LightspeedArgs,
) -> Result<Value, CliError> {
    let secret = args.secret;
    if let Some(redirected) = args.redirected_url {
        return finish_lightspeed(secrets, &secret, &redirected).await;
    }
    let missing = |option: &str| CliError::Usage(format!("{option} is needed to start connecting"));
    let url = start_lightspeed(
        secrets.clone(),
        &secret,
        LightspeedSecret {
            client_id: args.client_id.ok_or_else(|| missing("--client-id"))?,
            client_secret: args
                .client_secret
                .ok_or_else(|| missing("--client-secret"))?,
            account_id: None,
            api_base: args.api_base,
            auth_base: args.auth_base,
            redirect_uri: Some(args.redirect_uri.ok_or_else(|| missing("--redirect-uri"))?),
            tokens: None,
            pending: None,
            burst_window_seconds: None,
        },
    )
    .await?;
    eprintln!("Open this URL, sign in and approve:\n\n  {url}\n");
    if args.wait_for_callback {
        eprintln!("Waiting for the redirect to reach the webhook's callback route…");
        return wait_for_callback(secrets, &secret, Duration::from_mins(15)).await;
    }
    eprintln!("Then paste the full URL you were redirected to:");
    let mut line = String::new();
    let read = std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| CliError::io("stdin", e))?;
    if read == 0 {
        // Nothing to read (standard input closed): the attempt stays open.
        let finish = format!(
            "lsbc connect lightspeed --redirected-url '<the URL>'{}",
            secret_option(&secret)
        );
        eprintln!("No URL read. Once approved, finish with:\n\n  {finish}\n");
        return Ok(
            json!({"connected": null, "waiting_for": "the redirected URL", "finish_with": finish}),
        );
    }
    finish_lightspeed(secrets, &secret, &line).await
}

/// ` --secret NAME` when the secret is not the default one.
fn secret_option(secret: &str) -> String {
    if secret == crate::home::LIGHTSPEED_SECRET {
        String::new()
    } else {
        format!(" --secret {secret}")
    }
}

/// `lsbc connect business-central`: the connection document from the options, checked and
/// stored.
async fn business_central(
    secrets: Arc<dyn SecretStore>,
    config: Arc<dyn ConfigStore>,
    args: BusinessCentralArgs,
) -> Result<Value, CliError> {
    let on_premises = args.base_url.is_some();
    let company_given = args.company.is_some();
    let company = match args.company {
        Some(c) => match c.parse::<uuid::Uuid>() {
            Ok(id) => CompanySecret::Id(id),
            Err(_) => CompanySecret::Name(c),
        },
        None => CompanySecret::Name(String::new()),
    };
    let (principals, users) = if on_premises {
        let user = Credential {
            client_id: None,
            client_secret: None,
            user: args.user,
            access_key: args.access_key,
        };
        (vec![], vec![user])
    } else {
        let principal = Credential {
            client_id: args.client_id,
            client_secret: args.client_secret,
            user: None,
            access_key: None,
        };
        (vec![principal], vec![])
    };
    let doc = BusinessCentralSecret {
        deployment: if on_premises { "on_premises" } else { "online" }.into(),
        tenant: args.tenant,
        environment: (!on_premises).then_some(args.environment),
        base_url: args.base_url,
        principals,
        users,
        company,
        api_base: args.api_base,
        login_base: args.login_base,
        limits: None,
    };
    connect_business_central(secrets, config, &args.secret, doc, company_given).await
}

/// Starts connecting Lightspeed; returns the authorize URL to open.
pub async fn start_lightspeed(
    secrets: Arc<dyn SecretStore>,
    secret_name: &str,
    secret: LightspeedSecret,
) -> Result<String, CliError> {
    Ok(begin_connection(secrets, secret_name, secret, Timestamp::now()).await?)
}

/// Finishes connecting Lightspeed with the URL Lightspeed redirected to. Returns the
/// account id.
pub async fn finish_lightspeed(
    secrets: Arc<dyn SecretStore>,
    secret_name: &str,
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
    let account = complete_connection(secrets, secret_name, &state, &code, Timestamp::now())
        .await
        .map_err(|e| CliError::Usage(format!("connecting Lightspeed: {e}")))?;
    Ok(json!({"connected": "lightspeed", "account_id": account, "secret": secret_name}))
}

/// Waits until the webhook function's callback route finished the connection (the secret
/// holds tokens and no pending attempt), for at most `limit`.
pub async fn wait_for_callback(
    secrets: Arc<dyn SecretStore>,
    secret_name: &str,
    limit: Duration,
) -> Result<Value, CliError> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let value = secrets.get(secret_name, Freshness::Fresh).await?;
        let secret = LightspeedSecret::parse(secret_name, &value)?;
        if secret.pending.is_none() && secret.tokens.is_some() {
            return Ok(json!({
                "connected": "lightspeed",
                "account_id": secret.account_id,
                "secret": secret_name,
            }));
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(CliError::Usage(
                "no redirect reached the callback within the time allowed; start again".into(),
            ));
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Checks a Business Central connection, chooses the company and stores the secret.
/// Without a company in `secret`… the only company is taken, or the list is returned in
/// the error.
pub async fn connect_business_central(
    secrets: Arc<dyn SecretStore>,
    config: Arc<dyn ConfigStore>,
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
    // The probe needs the company chosen: a client on the stored connection.
    let client = BusinessCentral::new(secret.config()?)
        .map_err(|e| lsbc_connectors::business_central::external(None, e))?;
    let ids = ClientIds::stored(config, Arc::new(SystemClock));
    let client_ids = match probe(&client, &ids).await {
        Ok(probed) => json!(probed),
        Err(e) => json!({"error": e.to_string()}),
    };
    Ok(json!({
        "connected": "business-central",
        "company": {"id": chosen.id.to_string(), "name": chosen.name},
        "companies": names,
        "secret": secret_name,
        "client_ids": client_ids,
    }))
}
