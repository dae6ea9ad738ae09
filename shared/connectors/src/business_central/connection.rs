//! The Business Central connection: its secret, the client built from it, and the
//! translation of client errors into the sync's error classes.
//!
//! The secret is one JSON document:
//!
//! ```json
//! { "deployment": "online", "tenant": "contoso.onmicrosoft.com", "environment": "Production",
//!   "principals": [ { "client_id": "…", "client_secret": "…" } ],
//!   "company": { "name": "CRONUS" } }
//! ```
//! or, on-premises (BC 17+, API v2.0):
//! ```json
//! { "deployment": "on_premises", "base_url": "https://bc.contoso.com:7048/BC",
//!   "tenant": "default", "users": [ { "user": "SYNC", "access_key": "…" } ],
//!   "company": { "id": "5f2c…" } }
//! ```
//! `api_base` and `login_base` may point the online client elsewhere (a proxy, the sandbox).
//! Several principals (app registrations, or users with keys) spread the load: BC's limits
//! are per user.

use std::sync::Arc;

use crate::budgets::PrincipalBudgets;
use lsbc_business_central::{
    BcError, BusinessCentral, BusinessCentralConfig, CompanyRef, Deployment, ErrorClass,
    OnPremisesUser, Principal,
};
use lsbc_core::ports::{BudgetStore, Freshness, SecretStore};
use lsbc_core::{ExternalError, ExternalKind, RecordKey, StageError, StoreError, System};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

/// An app registration or an on-premises user.
#[derive(Clone, Serialize, Deserialize)]
pub struct Credential {
    /// App registration client id (online).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Its secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// User name (on-premises).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Web service access key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key: Option<String>,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("client_id", &self.client_id)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// Which company.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompanySecret {
    /// By SystemId.
    Id(uuid::Uuid),
    /// By name.
    Name(String),
}

/// The Business Central connection secret.
#[derive(Clone, Serialize, Deserialize)]
pub struct BusinessCentralSecret {
    /// `online` or `on_premises`.
    pub deployment: String,
    /// Entra tenant (online) or `?tenant=` (on-premises, optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Environment name (online).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Service URL up to the server instance (on-premises).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// App registrations (online).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub principals: Vec<Credential>,
    /// Users with access keys (on-premises).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<Credential>,
    /// The company.
    pub company: CompanySecret,
    /// API host override (online).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_base: Option<String>,
    /// Token host override (online).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_base: Option<String>,
    /// Overrides of BC's published limits per principal (only when an administrator agreed
    /// other limits, or for a simulator running BC's time faster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<LimitsOverride>,
}

/// Overrides of the request limits per principal.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsOverride {
    /// Requests in flight at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrent: Option<usize>,
    /// Length of the sliding window, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_seconds: Option<f64>,
    /// Requests per window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_requests: Option<u32>,
}

impl std::fmt::Debug for BusinessCentralSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BusinessCentralSecret")
            .field("deployment", &self.deployment)
            .field("tenant", &self.tenant)
            .field("environment", &self.environment)
            .field("company", &self.company)
            .finish_non_exhaustive()
    }
}

impl BusinessCentralSecret {
    /// Reads the secret document.
    pub fn parse(name: &str, text: &str) -> Result<Self, StoreError> {
        serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
            key: format!("secret {name}"),
            message: format!("not a Business Central connection document: {e}"),
        })
    }

    /// The client configuration.
    pub fn config(&self) -> Result<BusinessCentralConfig, StageError> {
        let company = match &self.company {
            CompanySecret::Id(id) => CompanyRef::Id(*id),
            CompanySecret::Name(name) => CompanyRef::Name(name.clone()),
        };
        let missing =
            |what: &str| StageError::Config(format!("Business Central secret: {what} is missing"));
        let mut config = match self.deployment.as_str() {
            "online" => {
                let principals = self
                    .principals
                    .iter()
                    .map(|p| match (&p.client_id, &p.client_secret) {
                        (Some(id), Some(secret)) => Ok(Principal::new(id.clone(), secret.clone())),
                        _ => Err(missing("a principal's client_id or client_secret")),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                if principals.is_empty() {
                    return Err(missing("principals"));
                }
                BusinessCentralConfig::online(
                    self.tenant.clone().ok_or_else(|| missing("tenant"))?,
                    self.environment
                        .clone()
                        .ok_or_else(|| missing("environment"))?,
                    principals,
                    company,
                )
            }
            "on_premises" => {
                let users = self
                    .users
                    .iter()
                    .map(|u| match (&u.user, &u.access_key) {
                        (Some(user), Some(key)) => {
                            Ok(OnPremisesUser::new(user.clone(), key.clone()))
                        }
                        _ => Err(missing("a user's user or access_key")),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let first = users.first().cloned().ok_or_else(|| missing("users"))?;
                let mut config = BusinessCentralConfig::on_premises(
                    self.base_url.clone().ok_or_else(|| missing("base_url"))?,
                    first,
                    company,
                );
                if let Deployment::OnPremises {
                    tenant, users: all, ..
                } = &mut config.deployment
                {
                    tenant.clone_from(&self.tenant);
                    *all = users;
                }
                config
            }
            other => {
                return Err(StageError::Config(format!(
                    "Business Central secret: deployment `{other}` is not online or on_premises"
                )));
            }
        };
        if let Some(base) = &self.api_base {
            config = config.with_api_base(base.clone());
        }
        if let Some(base) = &self.login_base {
            config = config.with_login_base(base.clone());
        }
        if let Some(o) = &self.limits {
            let mut limits = config.limits.clone();
            if let Some(n) = o.max_concurrent {
                limits.max_concurrent = n.max(1);
            }
            if let Some(s) = o.window_seconds.filter(|s| s.is_finite() && *s > 0.0) {
                limits.window = std::time::Duration::from_secs_f64(s);
            }
            if let Some(n) = o.window_requests {
                limits.window_requests = Some(n.max(1));
            }
            config = config.with_limits(limits);
        }
        Ok(config)
    }
}

/// Builds the client from the connection secret `name`.
pub async fn connect(
    secrets: &Arc<dyn SecretStore>,
    budgets: Arc<dyn BudgetStore>,
    name: &str,
) -> Result<BusinessCentral, StageError> {
    let value = secrets.get(name, Freshness::Cached).await?;
    let secret = BusinessCentralSecret::parse(name, value.expose_secret())?;
    let config = secret.config()?;
    let shared = PrincipalBudgets::new(budgets, &config.deployment);
    BusinessCentral::new(config.with_shared_budget(Arc::new(shared))).map_err(|e| external(None, e))
}

/// A client error as the sync classifies it. A body refused before sending names the
/// record (`key`) and the field.
pub fn external(key: Option<&RecordKey>, error: BcError) -> StageError {
    if let (Some(key), BcError::Invalid(invalid)) = (key, &error) {
        return StageError::InvalidRecord {
            key: key.clone(),
            field: format!("{}.{}", invalid.entity, invalid.field),
            reason: invalid.rule.to_string(),
        };
    }
    let kind = match error.class() {
        ErrorClass::Transient => ExternalKind::Transient,
        ErrorClass::RateLimited { retry_after } => ExternalKind::RateLimited { retry_after },
        ErrorClass::Auth => ExternalKind::Unauthorized,
        ErrorClass::Conflict => ExternalKind::Conflict,
        ErrorClass::Rejected => ExternalKind::Rejected,
    };
    // BC's message may quote the value it refused: it is the error's detail, kept out of
    // log lines by default (the status and code say what happened).
    let (message, detail) = match &error {
        BcError::Api(api) => (
            match &api.correlation_id {
                Some(id) => format!("{} {:?} (correlation id {id})", api.status, api.code),
                None => format!("{} {:?}", api.status, api.code),
            },
            api.message.clone(),
        ),
        other => (other.to_string(), String::new()),
    };
    StageError::External(
        ExternalError::new(System::BusinessCentral, kind, message)
            .with_detail(detail)
            .with_source(error),
    )
}

/// Whether `error` is BC's "a record with this key exists" (a create that already happened).
pub fn is_duplicate(error: &BcError) -> bool {
    matches!(error, BcError::Api(api) if api.code == lsbc_business_central::ErrorCode::EntityWithSameKeyExists)
}

/// Whether `error` is BC's "not found" (404 or one of BC's not-found codes).
pub fn is_not_found(error: &BcError) -> bool {
    error.is_not_found()
}

#[cfg(test)]
mod tests {
    use lsbc_business_central::ApiError;

    use super::*;
    use crate::business_central::client_ids::may_refuse_id;

    fn answer(status: u16, code: &str) -> BcError {
        let body = format!(r#"{{"error":{{"code":"{code}","message":"x"}}}}"#);
        BcError::Api(ApiError::from_body(status, body.as_bytes(), None))
    }

    #[test]
    fn a_duplicate_key_is_recognised_as_400_and_as_409() {
        for status in [400, 409] {
            let duplicate = answer(status, "Internal_EntityWithSameKeyExists");
            assert!(is_duplicate(&duplicate), "{status}");
            assert!(!may_refuse_id(&duplicate), "{status}");
            assert!(
                matches!(
                    external(None, duplicate),
                    StageError::External(e) if e.kind == ExternalKind::Conflict
                ),
                "{status}"
            );
        }
        assert!(!is_duplicate(&answer(409, "Request_EntityChanged")));
    }
}
