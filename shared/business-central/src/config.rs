//! How to reach one BC company: online (tenant, environment, one or more app registrations)
//! or on-premises (server instance URL, user + web-service access key), the company by id
//! or name, injectable base URLs and HTTP client, limits and retry bounds. Secrets are
//! `SecretString`s and never printed. It must not do IO.

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;
use uuid::Uuid;

use crate::pacing::{Limits, SharedBudget};
use crate::retry::RetryPolicy;

/// BC online's API host (D: dev-itpro/webservices/api-endpoint-structure.md).
pub const DEFAULT_API_BASE: &str = "https://api.businesscentral.dynamics.com";
/// Microsoft Entra's token host (D: .../automation-apis-using-s2s-authentication.md).
pub const DEFAULT_LOGIN_BASE: &str = "https://login.microsoftonline.com";
/// The OAuth scope for BC's APIs (same source).
pub const SCOPE: &str = "https://api.businesscentral.dynamics.com/.default";

/// One Entra app registration (client credentials). BC's limits are per user, and each
/// registration is its own user, so several registrations multiply throughput (api-notes §4).
#[derive(Debug, Clone)]
pub struct Principal {
    /// Application (client) id.
    pub client_id: String,
    /// Client secret.
    pub client_secret: SecretString,
}

impl Principal {
    /// A registration from its id and secret.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<SecretString>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
        }
    }
}

/// One on-premises BC user with a web-service access key (basic auth).
#[derive(Debug, Clone)]
pub struct OnPremisesUser {
    /// BC user name.
    pub user: String,
    /// Web-service access key (used as the password).
    pub access_key: SecretString,
}

impl OnPremisesUser {
    /// A user from name and access key.
    pub fn new(user: impl Into<String>, access_key: impl Into<SecretString>) -> Self {
        Self {
            user: user.into(),
            access_key: access_key.into(),
        }
    }
}

/// Where BC runs and how to sign in.
#[derive(Debug, Clone)]
pub enum Deployment {
    /// BC online: `{api_base}/v2.0/{tenant}/{environment}/api/v2.0/…`.
    Online {
        /// Entra tenant id or domain.
        tenant: String,
        /// Environment name (`Production`, `Sandbox`, …).
        environment: String,
        /// App registrations; requests are spread over all of them.
        principals: Vec<Principal>,
    },
    /// BC on-premises 17+ (v2.0): `{base_url}/api/v2.0/…` where `base_url` ends with the
    /// server instance (`https://bc.contoso.com:7048/BC`).
    OnPremises {
        /// Service URL up to and including the server instance.
        base_url: String,
        /// `?tenant=` for multitenant servers.
        tenant: Option<String>,
        /// Users with access keys; requests are spread over all of them.
        users: Vec<OnPremisesUser>,
    },
}

/// Which company the client works in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompanyRef {
    /// The company's SystemId.
    Id(Uuid),
    /// The company's `name`, resolved once through `GET companies`.
    Name(String),
}

/// Everything the client needs.
#[derive(Debug, Clone)]
pub struct BusinessCentralConfig {
    /// Where and how.
    pub deployment: Deployment,
    /// Which company.
    pub company: CompanyRef,
    /// API host for online (tests point it at the sandbox).
    pub api_base: String,
    /// Token host for online (tests point it at the sandbox).
    pub login_base: String,
    /// Pacing per principal.
    pub limits: Limits,
    /// In-client retries.
    pub retry: RetryPolicy,
    /// A cached token is replaced this long before it expires.
    pub token_refresh_margin: Duration,
    /// A prepared HTTP client (timeouts, proxies); one with a 60 s timeout otherwise.
    pub http: Option<reqwest::Client>,
    /// A budget per principal shared with other processes (see [`SharedBudget`]).
    pub shared: Option<Arc<dyn SharedBudget>>,
}

impl BusinessCentralConfig {
    /// BC online with one or more app registrations.
    pub fn online(
        tenant: impl Into<String>,
        environment: impl Into<String>,
        principals: Vec<Principal>,
        company: CompanyRef,
    ) -> Self {
        Self {
            deployment: Deployment::Online {
                tenant: tenant.into(),
                environment: environment.into(),
                principals,
            },
            company,
            api_base: DEFAULT_API_BASE.to_owned(),
            login_base: DEFAULT_LOGIN_BASE.to_owned(),
            limits: Limits::online(),
            retry: RetryPolicy::default(),
            token_refresh_margin: Duration::from_mins(5),
            http: None,
            shared: None,
        }
    }

    /// BC on-premises with one user and access key.
    pub fn on_premises(
        base_url: impl Into<String>,
        user: OnPremisesUser,
        company: CompanyRef,
    ) -> Self {
        Self {
            deployment: Deployment::OnPremises {
                base_url: base_url.into(),
                tenant: None,
                users: vec![user],
            },
            company,
            api_base: DEFAULT_API_BASE.to_owned(),
            login_base: DEFAULT_LOGIN_BASE.to_owned(),
            limits: Limits::on_premises(),
            retry: RetryPolicy::default(),
            token_refresh_margin: Duration::from_mins(5),
            http: None,
            shared: None,
        }
    }

    /// Points the API host elsewhere (the sandbox, a proxy).
    #[must_use]
    pub fn with_api_base(mut self, base: impl Into<String>) -> Self {
        self.api_base = base.into();
        self
    }

    /// Points the token host elsewhere.
    #[must_use]
    pub fn with_login_base(mut self, base: impl Into<String>) -> Self {
        self.login_base = base.into();
        self
    }

    /// Sets the pacing limits.
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Books every request on this budget shared with other processes too.
    #[must_use]
    pub fn with_shared_budget(mut self, budget: Arc<dyn SharedBudget>) -> Self {
        self.shared = Some(budget);
        self
    }

    /// Sets the retry bounds.
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }
}
