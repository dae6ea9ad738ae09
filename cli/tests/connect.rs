//! `lsbc connect` against the simulators: the Lightspeed OAuth code flow with PKCE and a
//! state check, and the Business Central company choice with the probe of how it answers
//! a client-chosen id.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use lsbc_cli::connect::{connect_business_central, finish_lightspeed, start_lightspeed};
use lsbc_cli::sandboxes::{SandboxOptions, Sandboxes};
use lsbc_connectors::business_central::CompanySecret;
use lsbc_connectors::lightspeed::LightspeedSecret;
use lsbc_core::memory::MemoryStore;
use lsbc_core::ports::{ConfigStore, Freshness, SecretStore};
use lsbc_sandbox::business_central::ClientIdAnswer;

/// What the browser does: follows the authorize URL, which the simulator approves at once,
/// and stops at the redirect to the registered URI.
async fn approve(authorize_url: &str) -> String {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let answer = http.get(authorize_url).send().await.unwrap();
    assert!(answer.status().is_redirection(), "{}", answer.status());
    answer.headers()["location"].to_str().unwrap().to_owned()
}

fn client_part(s: &Sandboxes) -> LightspeedSecret {
    let mut secret = s.lightspeed_secret();
    secret.tokens = None;
    secret.account_id = None;
    secret.pending = None;
    secret
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lightspeed_code_flow_stores_the_tokens() {
    let s = Sandboxes::start(SandboxOptions::default()).await.unwrap();
    let store: Arc<dyn SecretStore> = Arc::new(MemoryStore::new());
    let url = start_lightspeed(store.clone(), "lightspeed", client_part(&s))
        .await
        .unwrap();
    assert!(url.contains("code_challenge_method=S256"), "{url}");
    let redirected = approve(&url).await;
    let out = finish_lightspeed(store.clone(), "lightspeed", &redirected)
        .await
        .unwrap();
    assert_eq!(out["account_id"], s.lightspeed.account_id().to_string());
    let secret = LightspeedSecret::parse(
        "lightspeed",
        &store.get("lightspeed", Freshness::Fresh).await.unwrap(),
    )
    .unwrap();
    assert!(secret.pending.is_none(), "the pending attempt is cleared");
    let tokens = secret.tokens.expect("tokens stored");
    assert!(s.lightspeed.refresh_token_valid(&tokens.refresh_token));
    assert_eq!(
        secret.account_id.as_deref(),
        Some(s.lightspeed.account_id().to_string().as_str())
    );
}

/// Review finding 7: starting a reconnection (and never finishing it) keeps the working
/// tokens, so the flows go on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_reconnection_keeps_the_working_tokens() {
    let s = Sandboxes::start(SandboxOptions::default()).await.unwrap();
    let store: Arc<dyn SecretStore> = Arc::new(MemoryStore::new());
    let url = start_lightspeed(store.clone(), "lightspeed", client_part(&s))
        .await
        .unwrap();
    let redirected = approve(&url).await;
    finish_lightspeed(store.clone(), "lightspeed", &redirected)
        .await
        .unwrap();
    // Again, and the operator closes the browser.
    start_lightspeed(store.clone(), "lightspeed", client_part(&s))
        .await
        .unwrap();
    let secret = LightspeedSecret::parse(
        "lightspeed",
        &store.get("lightspeed", Freshness::Fresh).await.unwrap(),
    )
    .unwrap();
    assert!(secret.pending.is_some(), "the new attempt waits");
    let tokens = secret.tokens.expect("the working tokens are kept");
    assert!(s.lightspeed.refresh_token_valid(&tokens.refresh_token));
    assert_eq!(
        secret.account_id.as_deref(),
        Some(s.lightspeed.account_id().to_string().as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lightspeed_refuses_a_foreign_state() {
    let s = Sandboxes::start(SandboxOptions::default()).await.unwrap();
    let store: Arc<dyn SecretStore> = Arc::new(MemoryStore::new());
    let url = start_lightspeed(store.clone(), "lightspeed", client_part(&s))
        .await
        .unwrap();
    let redirected = approve(&url).await;
    let forged = redirected.replace("state=", "state=x");
    let err = finish_lightspeed(store.clone(), "lightspeed", &forged)
        .await
        .unwrap_err();
    assert!(err.to_string().to_lowercase().contains("state"), "{err}");
    let secret = LightspeedSecret::parse(
        "lightspeed",
        &store.get("lightspeed", Freshness::Fresh).await.unwrap(),
    )
    .unwrap();
    assert!(secret.tokens.is_none(), "nothing stored");
    // The genuine redirect still completes it; a second use of it does not.
    finish_lightspeed(store.clone(), "lightspeed", &redirected)
        .await
        .unwrap();
    let again = finish_lightspeed(store.clone(), "lightspeed", &redirected)
        .await
        .unwrap_err();
    assert!(
        again
            .to_string()
            .contains("no Lightspeed connection is waiting"),
        "{again}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn business_central_checks_credentials_and_picks_the_company() {
    let s = Sandboxes::start(SandboxOptions::default()).await.unwrap();
    let store: Arc<dyn SecretStore> = Arc::new(MemoryStore::new());
    let mut secret = s.business_central_secret();
    secret.company = CompanySecret::Name(String::new());
    let config: Arc<dyn ConfigStore> = Arc::new(MemoryStore::new());
    let out = connect_business_central(store.clone(), config.clone(), "bc", secret.clone(), false)
        .await
        .unwrap();
    assert_eq!(out["company"]["name"], "CRONUS");
    let stored = store.get("bc", Freshness::Fresh).await.unwrap();
    assert!(secrecy::ExposeSecret::expose_secret(&stored).contains("\"id\""));

    secret.company = CompanySecret::Name("Fabrikam".into());
    let err = connect_business_central(store.clone(), config.clone(), "bc2", secret.clone(), true)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("CRONUS"), "{err}");

    secret.company = CompanySecret::Name("CRONUS".into());
    if let Some(p) = secret.principals.first_mut() {
        p.client_secret = Some("wrong".into());
    }
    assert!(
        connect_business_central(store, config, "bc3", secret, true)
            .await
            .is_err()
    );
}

/// The probe finds each of the three answers, keeps it for `lsbc status`, and leaves no
/// item category behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn business_central_probe_finds_how_ids_are_answered_and_leaves_nothing() {
    for answer in [
        ClientIdAnswer::Honoured,
        ClientIdAnswer::Refused,
        ClientIdAnswer::Ignored,
    ] {
        let s = Sandboxes::start(SandboxOptions {
            business_central_ids: answer,
            ..SandboxOptions::default()
        })
        .await
        .unwrap();
        let secrets: Arc<dyn SecretStore> = Arc::new(MemoryStore::new());
        let config: Arc<dyn ConfigStore> = Arc::new(MemoryStore::new());
        let out = connect_business_central(
            secrets,
            config.clone(),
            "bc",
            s.business_central_secret(),
            true,
        )
        .await
        .unwrap();
        assert_eq!(out["client_ids"]["answer"], answer.as_str(), "{out}");
        assert_eq!(out["client_ids"]["entity_set"], "itemCategories");
        assert_eq!(
            s.business_central.item_categories(),
            Vec::<serde_json::Value>::new(),
            "the probe is deleted"
        );
        let status = lsbc_cli::status::status(config.as_ref()).await.unwrap();
        let rows = status["business_central"]["client_ids"].as_array().unwrap();
        assert_eq!(rows.len(), 1, "{status}");
        assert_eq!(rows[0]["answer"], answer.as_str());
        assert_eq!(rows[0]["entity_set"], "itemCategories");
        assert_eq!(rows[0]["found_by"], "probe at connect");
        assert_eq!(
            rows[0]["company"],
            s.business_central.company_id().to_string()
        );
    }
}
