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
use lsbc_business_central::BusinessCentral;
use lsbc_core::ports::{
    ClaimStore, Clock, ConfigStore, FlowParts, LinkStore, SecretStore, Sink, Source, Transformer,
};
use lsbc_core::{Flow, StageError};
use lsbc_lightspeed::LightspeedClient;
use lsbc_mapping::default_mapper;
use tokio::sync::OnceCell;

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

/// The flows this build has connectors for.
pub const AVAILABLE_FLOWS: [Flow; 2] = [Flow::Customers, Flow::Products];

/// Builds the parts of `flow`: its source on Lightspeed, its transformer on the mapping,
/// its sink on Business Central. No request is made here.
pub async fn build_flow(flow: Flow, ctx: &ConnectorContext) -> Result<FlowParts, StageError> {
    Connectors::new(ctx)?.flow(flow).await
}

/// Builds connector parts on demand, each API client connected once (on first need) and
/// shared by every part and flow built here. A function that only polls never reads the
/// Business Central secret, and one that only pushes never needs Lightspeed connected.
pub struct Connectors {
    ctx: ConnectorContext,
    config: Arc<ConfigCache>,
    lightspeed: OnceCell<LightspeedClient>,
    business_central: OnceCell<BusinessCentral>,
}

impl std::fmt::Debug for Connectors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connectors")
            .field("ctx", &self.ctx)
            .finish_non_exhaustive()
    }
}

impl Connectors {
    /// Connectors on `ctx`, with the shipped default mapping.
    pub fn new(ctx: &ConnectorContext) -> Result<Self, StageError> {
        let mapper = Arc::new(default_mapper().map_err(|e| StageError::Config(e.to_string()))?);
        Ok(Self {
            ctx: ctx.clone(),
            config: Arc::new(ConfigCache::new(ctx.config.clone(), mapper)),
            lightspeed: OnceCell::new(),
            business_central: OnceCell::new(),
        })
    }

    fn available(flow: Flow) -> Result<(), StageError> {
        if AVAILABLE_FLOWS.contains(&flow) {
            Ok(())
        } else {
            Err(StageError::Config(format!(
                "flow {flow} is not available in this build"
            )))
        }
    }

    async fn lightspeed(&self) -> Result<LightspeedClient, StageError> {
        let ctx = &self.ctx;
        self.lightspeed
            .get_or_try_init(|| {
                lightspeed::connect(
                    ctx.secrets.clone(),
                    ctx.claims.clone(),
                    ctx.clock.clone(),
                    &ctx.lightspeed_secret,
                )
            })
            .await
            .cloned()
    }

    async fn business_central(&self) -> Result<BusinessCentral, StageError> {
        let ctx = &self.ctx;
        self.business_central
            .get_or_try_init(|| {
                business_central::connect(&ctx.secrets, &ctx.business_central_secret)
            })
            .await
            .cloned()
    }

    /// Every stream of `flow` on Lightspeed, the main one first.
    pub async fn sources(&self, flow: Flow) -> Result<Vec<Arc<dyn Source>>, StageError> {
        Self::available(flow)?;
        let ls = self.lightspeed().await?;
        Ok(match flow {
            Flow::Products => vec![
                Arc::new(products::ProductSource::items(
                    ls.clone(),
                    products::OVERLAP,
                    self.config.clone(),
                )),
                Arc::new(products::ProductSource::matrices(
                    ls,
                    products::OVERLAP,
                    self.config.clone(),
                )),
            ],
            _ => vec![Arc::new(customers::CustomerSource::new(
                ls,
                CUSTOMER_OVERLAP,
            ))],
        })
    }

    /// The transformer of `flow` (mapping and settings only: no API).
    pub fn transformer(&self, flow: Flow) -> Result<Arc<dyn Transformer>, StageError> {
        Self::available(flow)?;
        Ok(match flow {
            Flow::Products => Arc::new(products::ProductTransformer::new(self.config.clone())),
            _ => Arc::new(customers::CustomerTransformer::new(self.config.clone())),
        })
    }

    /// The sink of `flow` on Business Central.
    pub async fn sink(&self, flow: Flow) -> Result<Arc<dyn Sink>, StageError> {
        Self::available(flow)?;
        let bc = self.business_central().await?;
        Ok(match flow {
            Flow::Products => Arc::new(products::ProductSink::new(
                bc,
                self.ctx.links.clone(),
                Arc::new(products::HttpImages::new()?),
            )),
            _ => Arc::new(customers::CustomerSink::new(bc, self.ctx.links.clone())),
        })
    }

    /// All parts of `flow`.
    pub async fn flow(&self, flow: Flow) -> Result<FlowParts, StageError> {
        let mut sources = self.sources(flow).await?.into_iter();
        let source = sources
            .next()
            .ok_or_else(|| StageError::Config(format!("flow {flow} has no source")))?;
        Ok(FlowParts {
            source,
            more_sources: sources.collect(),
            transformer: self.transformer(flow)?,
            sink: self.sink(flow).await?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lsbc_core::memory::MemoryStore;
    use lsbc_core::ports::SystemClock;
    use secrecy::SecretString;

    fn context(store: &MemoryStore) -> ConnectorContext {
        let store = Arc::new(store.clone());
        ConnectorContext {
            secrets: store.clone(),
            claims: store.clone(),
            config: store.clone(),
            links: store,
            clock: Arc::new(SystemClock),
            lightspeed_secret: "ls".into(),
            business_central_secret: "bc".into(),
        }
    }

    async fn put(store: &MemoryStore, name: &str, value: &str) {
        SecretStore::put(store, name, &SecretString::from(value.to_owned()))
            .await
            .unwrap();
    }

    const BC: &str = r#"{"deployment": "online", "tenant": "contoso.onmicrosoft.com",
        "environment": "Production", "principals": [{"client_id": "app", "client_secret": "s"}],
        "company": {"name": "CRONUS"}}"#;
    const LS: &str = r#"{"client_id": "c", "client_secret": "s", "account_id": "1",
        "tokens": {"access_token": "a", "refresh_token": "r",
                   "issued_at": "2026-01-01T00:00:00Z", "expires_at": "2026-01-01T01:00:00Z"}}"#;

    #[tokio::test]
    async fn each_part_needs_only_its_own_connection() {
        // Only Business Central configured: the sinks build, the sources say why not.
        let store = MemoryStore::new();
        put(&store, "bc", BC).await;
        put(&store, "ls", r#"{"client_id": "c", "client_secret": "s"}"#).await;
        let connectors = Connectors::new(&context(&store)).unwrap();
        for flow in AVAILABLE_FLOWS {
            assert_eq!(connectors.sink(flow).await.unwrap().flow(), flow);
            assert!(connectors.transformer(flow).is_ok());
            let err = connectors.sources(flow).await.err().unwrap().to_string();
            assert!(err.contains("not connected yet"), "{err}");
        }

        // Only Lightspeed: the sources build (both product streams), the sinks don't.
        let store = MemoryStore::new();
        put(&store, "ls", LS).await;
        let connectors = Connectors::new(&context(&store)).unwrap();
        let sources = connectors.sources(Flow::Products).await.unwrap();
        let streams: Vec<_> = sources.iter().map(|s| s.stream()).collect();
        assert_eq!(streams, ["Item", "ItemMatrix"]);
        assert!(connectors.sink(Flow::Customers).await.is_err());

        for flow in [Flow::Orders, Flow::Stock] {
            let err = connectors.sources(flow).await.err().unwrap().to_string();
            assert!(err.contains("not available in this build"), "{err}");
        }
    }
}
