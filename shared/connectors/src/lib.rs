//! The flows' connectors: for each flow, the [`Source`](lsbc_core::ports::Source) it polls,
//! the [`Transformer`](lsbc_core::ports::Transformer) that maps its records and the
//! [`Sink`](lsbc_core::ports::Sink) that upserts into the target — built on the Lightspeed
//! and Business Central clients with credentials from the secret store.
//!
//! This is the only crate that knows both APIs and the sync; the clients know their API
//! only, and the stages know neither.

pub mod business_central;
pub mod config;
pub mod customers;
pub mod diff;
pub mod lightspeed;
pub mod products;
pub mod source;
pub mod writer;

use std::sync::Arc;

use jiff::SignedDuration;
use lsbc_core::ports::{ClaimStore, Clock, ConfigStore, FlowParts, LinkStore, SecretStore};
use lsbc_core::{Flow, StageError};
use lsbc_mapping::default_mapper;

use crate::config::ConfigCache;

/// What building a flow needs from its home (AWS or embedded).
#[derive(Clone)]
pub struct ConnectorContext {
    /// Where credentials are read and rotated tokens written back.
    pub secrets: Arc<dyn SecretStore>,
    /// Leases (the single token refresher, create races).
    pub claims: Arc<dyn ClaimStore>,
    /// Mapping overrides and settings.
    pub config: Arc<dyn ConfigStore>,
    /// Links (a sink recognises a target record another source record already owns).
    pub links: Arc<dyn LinkStore>,
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

/// How far back every customers poll re-reads before its cursor (late commits).
pub const CUSTOMER_OVERLAP: SignedDuration = SignedDuration::from_mins(5);

/// Builds the parts of `flow`: its source on Lightspeed, its transformer on the mapping,
/// its sink on Business Central. No request is made here.
pub async fn build_flow(flow: Flow, ctx: &ConnectorContext) -> Result<FlowParts, StageError> {
    let mapper = Arc::new(default_mapper().map_err(|e| StageError::Config(e.to_string()))?);
    let config = Arc::new(ConfigCache::new(ctx.config.clone(), mapper));
    match flow {
        Flow::Customers => {
            let ls = lightspeed::connect(
                ctx.secrets.clone(),
                ctx.claims.clone(),
                ctx.clock.clone(),
                &ctx.lightspeed_secret,
            )
            .await?;
            let bc = business_central::connect(&ctx.secrets, &ctx.business_central_secret).await?;
            Ok(FlowParts {
                source: Arc::new(customers::CustomerSource::new(ls, CUSTOMER_OVERLAP)),
                more_sources: Vec::new(),
                transformer: Arc::new(customers::CustomerTransformer::new(config)),
                sink: Arc::new(customers::CustomerSink::new(bc, ctx.links.clone())),
            })
        }
        Flow::Products => {
            let ls = lightspeed::connect(
                ctx.secrets.clone(),
                ctx.claims.clone(),
                ctx.clock.clone(),
                &ctx.lightspeed_secret,
            )
            .await?;
            let bc = business_central::connect(&ctx.secrets, &ctx.business_central_secret).await?;
            let images = Arc::new(products::HttpImages::new()?);
            Ok(FlowParts {
                source: Arc::new(products::ProductSource::items(
                    ls.clone(),
                    products::OVERLAP,
                    config.clone(),
                )),
                more_sources: vec![Arc::new(products::ProductSource::matrices(
                    ls,
                    products::OVERLAP,
                    config.clone(),
                ))],
                transformer: Arc::new(products::ProductTransformer::new(config)),
                sink: Arc::new(products::ProductSink::new(bc, ctx.links.clone(), images)),
            })
        }
        Flow::Orders | Flow::Stock => Err(StageError::Config(format!(
            "flow {flow} is not available in this build"
        ))),
    }
}
