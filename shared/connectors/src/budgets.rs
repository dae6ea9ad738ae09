//! The API clients' shared budgets on the state store: one schedule per Lightspeed account
//! and per Business Central principal, booked by every process that uses it (every Lambda
//! instance of every function; the runner and a CLI command beside it on the embedded home).
//!
//! The time is the system clock, not the context's: the schedule is shared by processes on
//! different machines and paired with real sleeps (Lambda instances keep their clocks by
//! NTP; a skew of a few milliseconds costs a fraction of a drip).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use lsbc_business_central::{Deployment, SharedBudget};
use lsbc_core::ports::{BudgetStore, Rate, reserve};
use lsbc_lightspeed::SharedBucket;

/// The schedule of one Lightspeed account (its bucket is per account and API client).
pub struct AccountBucket {
    store: Arc<dyn BudgetStore>,
    key: String,
}

impl AccountBucket {
    /// The bucket of `account` (the account id, or the connection's name before it is
    /// known) seen through the API client `client_id`.
    pub fn new(store: Arc<dyn BudgetStore>, client_id: &str, account: &str) -> Self {
        Self {
            store,
            key: format!("lightspeed#{client_id}#{account}"),
        }
    }
}

impl std::fmt::Debug for AccountBucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountBucket")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl SharedBucket for AccountBucket {
    async fn reserve(
        &self,
        lane: &str,
        units: f64,
        per_second: f64,
        room: f64,
    ) -> Result<Duration, String> {
        let rate = Rate {
            per_second,
            burst: room,
        };
        let key = format!("{}#{lane}", self.key);
        reserve(&*self.store, &key, units, rate, Timestamp::now())
            .await
            .map_err(|e| e.to_string())
    }
}

/// The schedules of one Business Central environment's principals (BC counts per user).
pub struct PrincipalBudgets {
    store: Arc<dyn BudgetStore>,
    prefix: String,
}

impl PrincipalBudgets {
    /// The budgets of the principals of `deployment`'s environment.
    pub fn new(store: Arc<dyn BudgetStore>, deployment: &Deployment) -> Self {
        let place = match deployment {
            Deployment::Online {
                tenant,
                environment,
                ..
            } => format!("{tenant}/{environment}"),
            Deployment::OnPremises { base_url, .. } => base_url.clone(),
        };
        Self {
            store,
            prefix: format!("business-central#{place}"),
        }
    }
}

impl std::fmt::Debug for PrincipalBudgets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrincipalBudgets")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl SharedBudget for PrincipalBudgets {
    async fn reserve(
        &self,
        principal: &str,
        units: f64,
        per_second: f64,
        burst: f64,
    ) -> Result<Duration, String> {
        let key = format!("{}#{principal}", self.prefix);
        let rate = Rate { per_second, burst };
        reserve(&*self.store, &key, units, rate, Timestamp::now())
            .await
            .map_err(|e| e.to_string())
    }
}
