//! Both simulators side by side, for the demo and the end-to-end tests: started on
//! 127.0.0.1, with the connection secrets that point the sync at them.

use std::time::Duration;

use jiff::Timestamp;
use lsbc_connectors::business_central::{
    BusinessCentralSecret, CompanySecret, Credential, LimitsOverride,
};
use lsbc_connectors::lightspeed::{LightspeedSecret, StoredTokens};
use lsbc_core::StoreError;
use lsbc_core::ports::SecretStore;
use lsbc_sandbox::business_central::{
    BusinessCentralSandbox, BusinessCentralSandboxConfig, ClientIdAnswer, ClientIds,
};
use lsbc_sandbox::lightspeed::{LightspeedSandbox, LightspeedSandboxConfig};

/// How the simulators run.
#[derive(Debug, Clone, Copy)]
pub struct SandboxOptions {
    /// Seed of their random choices (data, faults).
    pub seed: u64,
    /// Lightspeed's time scale: its leaky bucket drips this many times faster.
    pub lightspeed_time_scale: f64,
    /// Business Central's time scale: its 5-minute window is this many times shorter.
    pub business_central_time_scale: f64,
    /// How Business Central answers a client-chosen `id` on POST (every entity set).
    /// Defaults to `LSBC_SANDBOX_BC_IDS` (`honoured`, `refused` or `ignored`), else
    /// honoured, so every suite and the demo can run under each.
    pub business_central_ids: ClientIdAnswer,
}

/// Requests per second Lightspeed's burst limiter admits in the demo and the suites (the
/// docs' example burst header reads `1/20`).
pub const LIGHTSPEED_BURST_LIMIT: u32 = 20;

/// The environment variable that picks how the simulated Business Central answers a
/// client-chosen `id`.
pub const BC_IDS_VAR: &str = "LSBC_SANDBOX_BC_IDS";

/// `LSBC_SANDBOX_BC_IDS`, or honoured when unset or misspelt ([`Sandboxes::start`] refuses
/// a misspelt value: a suite must not pass under a setting it did not run).
fn ids_from_env() -> ClientIdAnswer {
    std::env::var(BC_IDS_VAR)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_default()
}

impl Default for SandboxOptions {
    fn default() -> Self {
        Self {
            seed: 7,
            lightspeed_time_scale: 10.0,
            business_central_time_scale: 30.0,
            business_central_ids: ids_from_env(),
        }
    }
}

/// The two simulators.
#[derive(Debug)]
pub struct Sandboxes {
    /// Lightspeed Retail.
    pub lightspeed: LightspeedSandbox,
    /// Business Central.
    pub business_central: BusinessCentralSandbox,
    options: SandboxOptions,
}

impl Sandboxes {
    /// Starts both on free ports.
    pub async fn start(options: SandboxOptions) -> std::io::Result<Self> {
        let (lightspeed, business_central) = Self::configs(options)?;
        Self::start_with(lightspeed, business_central).await
    }

    /// The configurations [`start`](Self::start) uses, for a caller that changes the
    /// company's setup first (the demo's VAT and G/L accounts). Refuses a misspelt
    /// `LSBC_SANDBOX_BC_IDS`.
    pub fn configs(
        options: SandboxOptions,
    ) -> std::io::Result<(LightspeedSandboxConfig, BusinessCentralSandboxConfig)> {
        if let Ok(value) = std::env::var(BC_IDS_VAR)
            && let Err(e) = value.parse::<ClientIdAnswer>()
        {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{BC_IDS_VAR}: {e}"),
            ));
        }
        Ok((
            LightspeedSandboxConfig {
                seed: options.seed,
                time_scale: options.lightspeed_time_scale,
                // Lightspeed's burst limiter is always on (its docs' example header is
                // `1/20`, api-notes/LIGHTSPEED.md rate limits), so the demo and every
                // end-to-end suite run under it.
                burst_limit: Some(LIGHTSPEED_BURST_LIMIT),
                ..LightspeedSandboxConfig::default()
            },
            BusinessCentralSandboxConfig {
                seed: options.seed,
                time_scale: options.business_central_time_scale,
                client_ids: ClientIds::all(options.business_central_ids),
                ..BusinessCentralSandboxConfig::default()
            },
        ))
    }

    /// Starts both on free ports with their full configurations (e.g. without
    /// Lightspeed's rate limit).
    pub async fn start_with(
        lightspeed: LightspeedSandboxConfig,
        business_central: BusinessCentralSandboxConfig,
    ) -> std::io::Result<Self> {
        let options = SandboxOptions {
            seed: lightspeed.seed,
            lightspeed_time_scale: lightspeed.time_scale,
            business_central_time_scale: business_central.time_scale,
            business_central_ids: business_central.client_ids.default,
        };
        Ok(Self {
            lightspeed: LightspeedSandbox::start(lightspeed).await?,
            business_central: BusinessCentralSandbox::start(business_central).await?,
            options,
        })
    }

    /// The Lightspeed connection to the simulator, with a fresh token pair.
    pub fn lightspeed_secret(&self) -> LightspeedSecret {
        let config = self.lightspeed.config();
        let grant = self.lightspeed.issue_tokens();
        let now = Timestamp::now();
        let expires = now
            .checked_add(Duration::from_secs(grant.expires_in))
            .unwrap_or(now);
        LightspeedSecret {
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.clone(),
            account_id: Some(self.lightspeed.account_id().to_string()),
            api_base: Some(self.lightspeed.base_url()),
            auth_base: Some(self.lightspeed.base_url()),
            redirect_uri: Some(config.redirect_uri.clone()),
            tokens: Some(StoredTokens {
                access_token: grant.access_token,
                refresh_token: grant.refresh_token,
                issued_at: now,
                expires_at: expires,
            }),
            pending: None,
            // The burst limiter's 1 s window is API time.
            burst_window_seconds: Some(1.0 / self.options.lightspeed_time_scale),
        }
    }

    /// The Business Central connection to the simulator (its first company, its first app
    /// registration, its limits at its time scale).
    pub fn business_central_secret(&self) -> BusinessCentralSecret {
        let config = self.business_central.config();
        let principal = config.principals.first();
        BusinessCentralSecret {
            deployment: "online".into(),
            tenant: Some(config.tenant.clone()),
            environment: Some(config.environment.clone()),
            base_url: None,
            principals: vec![Credential {
                client_id: principal.map(|p| p.client_id.clone()),
                client_secret: principal.map(|p| p.client_secret.clone()),
                user: None,
                access_key: None,
            }],
            users: Vec::new(),
            company: CompanySecret::Name(
                config
                    .companies
                    .first()
                    .map_or_else(|| "CRONUS".to_owned(), |c| c.name.clone()),
            ),
            api_base: Some(self.business_central.base_url()),
            login_base: Some(self.business_central.base_url()),
            limits: Some(LimitsOverride {
                max_concurrent: None,
                window_seconds: Some(300.0 / self.options.business_central_time_scale),
                window_requests: None,
            }),
        }
    }

    /// Stores both connection secrets under `lightspeed` and `business_central`.
    pub async fn store_secrets(
        &self,
        secrets: &dyn SecretStore,
        lightspeed: &str,
        business_central: &str,
    ) -> Result<(), StoreError> {
        secrets
            .put(lightspeed, &self.lightspeed_secret().to_secret()?)
            .await?;
        let bc = serde_json::to_string(&self.business_central_secret()).map_err(|e| {
            StoreError::Corrupt {
                key: business_central.to_owned(),
                message: e.to_string(),
            }
        })?;
        secrets
            .put(business_central, &secrecy::SecretString::from(bc))
            .await
    }

    /// Stops both.
    pub async fn stop(self) {
        self.lightspeed.stop().await;
        self.business_central.stop().await;
    }
}
