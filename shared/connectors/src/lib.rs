//! The flows' connectors: for each flow, the [`Source`](lsbc_core::ports::Source) it polls,
//! the [`Transformer`](lsbc_core::ports::Transformer) that maps its records and the
//! [`Sink`](lsbc_core::ports::Sink) that upserts into the target — built on the Lightspeed
//! and Business Central clients with credentials from the secret store.
//!
//! Each flow is a kit in its own folder ([`kit`] holds the registry); the API helpers
//! every kit shares sit in [`lightspeed`] and [`business_central`]. The clients know their
//! API only, and the stages know neither; this crate is where they meet the sync.

pub mod budgets;
pub mod business_central;
pub mod config;
pub mod customers;
pub mod ids;
pub mod kit;
pub mod lightspeed;
pub mod orders;
pub mod products;
mod requests;
#[cfg(feature = "example-flow")]
pub mod shops;
pub mod stock;

use std::sync::Arc;

use lsbc_business_central::BusinessCentral;
use lsbc_core::ports::{
    BudgetStore, ClaimStore, Clock, ConfigStore, CursorStore, FlowParts, LinkStore, SecretStore,
    Sink, Source, StateStore, Transformer,
};
use lsbc_core::{Flow, StageError};
use lsbc_lightspeed::LightspeedClient;
use tokio::sync::OnceCell;

use crate::config::ConfigCache;
pub use crate::kit::{
    Api, Direction, FlowKit, FlowSettings, LogAlarm, Registered, available_flows, check_settings,
    default_mapper, default_mapping, kit, registered, woken_by,
};
pub use crate::requests::{Answered, RequestCounts};

/// What building a flow needs from its home (AWS or embedded).
#[derive(Clone)]
pub struct ConnectorContext {
    /// Where credentials are read and rotated tokens written back.
    pub secrets: Arc<dyn SecretStore>,
    /// Leases (the single token refresher, create races).
    pub claims: Arc<dyn ClaimStore>,
    /// The API clients' request budgets, shared by every process of the home.
    pub budgets: Arc<dyn BudgetStore>,
    /// Mapping overrides and settings.
    pub config: Arc<dyn ConfigStore>,
    /// Links (a sink recognises a target record another source record already owns).
    pub links: Arc<dyn LinkStore>,
    /// Record states (flows whose records have a life of their own: a sale waiting for
    /// its items, created, posted, voided, …).
    pub states: Arc<dyn StateStore>,
    /// The flows' cursors (read only here: the stock flow asks how far the orders flow has
    /// read Lightspeed's sales).
    pub cursors: Arc<dyn CursorStore>,
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

/// Builds the parts of `flow`: its source on the API it reads, its transformer on the
/// mapping, its sink on the API it writes. No request is made here.
pub async fn build_flow(flow: Flow, ctx: &ConnectorContext) -> Result<FlowParts, StageError> {
    Connectors::new(ctx)?.flow(flow).await
}

/// Builds connector parts on demand, each API client connected once (on first need) and
/// shared by every part and flow built here. A function that only polls never reads the
/// Business Central secret, and one that only pushes never needs Lightspeed connected.
pub struct Connectors {
    ctx: ConnectorContext,
    config: Arc<ConfigCache>,
    client_ids: Arc<business_central::ClientIds>,
    scopes: Arc<ids::IdScopes>,
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
            client_ids: Arc::new(business_central::ClientIds::stored(
                ctx.config.clone(),
                ctx.clock.clone(),
            )),
            scopes: Arc::new(ids::IdScopes::stored(ctx.config.clone(), ctx.clock.clone())),
            lightspeed: OnceCell::new(),
            business_central: OnceCell::new(),
        })
    }

    /// The Lightspeed client, connected on first need.
    pub async fn lightspeed(&self) -> Result<LightspeedClient, StageError> {
        let ctx = &self.ctx;
        self.lightspeed
            .get_or_try_init(|| {
                lightspeed::connect(
                    ctx.secrets.clone(),
                    ctx.claims.clone(),
                    ctx.budgets.clone(),
                    ctx.clock.clone(),
                    &ctx.lightspeed_secret,
                )
            })
            .await
            .cloned()
    }

    /// The Business Central client, connected on first need.
    pub async fn business_central(&self) -> Result<BusinessCentral, StageError> {
        let ctx = &self.ctx;
        self.business_central
            .get_or_try_init(|| {
                business_central::connect(
                    &ctx.secrets,
                    ctx.budgets.clone(),
                    &ctx.business_central_secret,
                )
            })
            .await
            .cloned()
    }

    /// How Business Central answers a client-chosen `id`, per company and entity set, as
    /// found so far (kept in the state store; shared by every sink built here).
    pub fn client_ids(&self) -> Arc<business_central::ClientIds> {
        self.client_ids.clone()
    }

    /// How the ids the sync gives Business Central records carry the Lightspeed account
    /// (recorded by the first poll; shared by every sink built here).
    pub fn scopes(&self) -> Arc<ids::IdScopes> {
        self.scopes.clone()
    }

    /// The flows' configuration (mapping and settings), cached.
    pub fn config(&self) -> Arc<ConfigCache> {
        self.config.clone()
    }

    /// The link store.
    pub fn links(&self) -> Arc<dyn LinkStore> {
        self.ctx.links.clone()
    }

    /// The record state store.
    pub fn states(&self) -> Arc<dyn StateStore> {
        self.ctx.states.clone()
    }

    /// The cursor store.
    pub fn cursors(&self) -> Arc<dyn CursorStore> {
        self.ctx.cursors.clone()
    }

    /// The clock.
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.ctx.clock.clone()
    }

    /// Every stream of `flow`, the main one first (connects the API the flow reads). A
    /// Lightspeed stream records the account for the deployment's ids at its first poll
    /// (see [`ids`]).
    pub async fn sources(&self, flow: Flow) -> Result<Vec<Arc<dyn Source>>, StageError> {
        let kit = kit(flow)?;
        let sources = kit.sources(self).await?;
        if kit.direction().reads != kit::Api::Lightspeed {
            return Ok(sources);
        }
        let recorder = Arc::new(ids::AccountRecorder {
            scopes: self.scopes.clone(),
            lightspeed: self.lightspeed().await?,
            cursors: self.ctx.cursors.clone(),
            streams: available_flows()
                .into_iter()
                .filter_map(|f| kit::kit(f).ok().map(|k| (f, k)))
                .flat_map(|(f, k)| k.streams().iter().map(move |s| (f, *s)))
                .collect(),
        });
        Ok(sources
            .into_iter()
            .map(|source| ids::RecordingSource::wrap(source, recorder.clone()))
            .collect())
    }

    /// The transformer of `flow` (mapping and settings only: no API).
    pub fn transformer(&self, flow: Flow) -> Result<Arc<dyn Transformer>, StageError> {
        Ok(kit(flow)?.transformer(self))
    }

    /// The sink of `flow` (connects the API the flow writes).
    pub async fn sink(&self, flow: Flow) -> Result<Arc<dyn Sink>, StageError> {
        kit(flow)?.sink(self).await
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
            budgets: store.clone(),
            config: store.clone(),
            links: store.clone(),
            cursors: store.clone(),
            states: store,
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
        // Only Business Central configured: the sinks into it build, the sources on
        // Lightspeed say why not; the stock flow (BC → Lightspeed) the other way round.
        let store = MemoryStore::new();
        put(&store, "bc", BC).await;
        put(&store, "ls", r#"{"client_id": "c", "client_secret": "s"}"#).await;
        let connectors = Connectors::new(&context(&store)).unwrap();
        for flow in available_flows() {
            assert!(connectors.transformer(flow).is_ok());
            if flow == Flow::Stock {
                let err = connectors.sink(flow).await.err().unwrap().to_string();
                assert!(err.contains("not connected yet"), "{err}");
                // Its sources read BC (they refuse to poll before the orders flow did).
                assert_eq!(connectors.sources(flow).await.unwrap().len(), 3);
                continue;
            }
            assert_eq!(connectors.sink(flow).await.unwrap().flow(), flow);
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
        assert!(connectors.sink(Flow::Stock).await.is_err());
    }
}
