//! The flows' connectors: for each flow, the [`Source`](lsbc_core::ports::Source) it polls,
//! the [`Transformer`](lsbc_core::ports::Transformer) that maps its records and the
//! [`Sink`](lsbc_core::ports::Sink) that upserts into the target — built on the Lightspeed
//! and Business Central clients with credentials from the secret store.
//!
//! This is the only crate that knows both APIs and the sync; the clients know their API
//! only, and the stages know neither.

use std::sync::Arc;

use lsbc_core::Flow;
use lsbc_core::ports::{ClaimStore, Clock, ConfigStore, FlowParts, SecretStore};

/// What building a flow needs from its home (AWS or embedded).
#[derive(Clone)]
pub struct ConnectorContext {
    /// Where credentials are read and rotated tokens written back.
    pub secrets: Arc<dyn SecretStore>,
    /// Leases (the single token refresher, create races).
    pub claims: Arc<dyn ClaimStore>,
    /// Mapping overrides and settings.
    pub config: Arc<dyn ConfigStore>,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// Name of the secret holding the Lightspeed connection.
    pub lightspeed_secret: String,
    /// Name of the secret holding the Business Central connection.
    pub business_central_secret: String,
}

impl std::fmt::Debug for ConnectorContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectorContext")
            .field("lightspeed_secret", &self.lightspeed_secret)
            .field("business_central_secret", &self.business_central_secret)
            .finish_non_exhaustive()
    }
}

/// Why a flow can't be built.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    /// This build has no connector for the flow yet.
    #[error("flow {0} is not available in this build")]
    NotAvailable(Flow),
}

/// Builds the parts of `flow`.
#[allow(clippy::unused_async)] // connectors read credentials and settings when they build
pub async fn build_flow(flow: Flow, ctx: &ConnectorContext) -> Result<FlowParts, ConnectorError> {
    let _ = ctx;
    Err(ConnectorError::NotAvailable(flow))
}
