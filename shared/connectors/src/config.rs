//! A flow's mapping and settings as the transform stage uses them: read from the
//! configuration store, compiled once per overrides version, re-read at most every few
//! seconds so a change made by an operator applies within that time everywhere.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lsbc_core::ports::{ConfigKind, ConfigStore};
use lsbc_core::{Flow, StageError};
use lsbc_mapping::{CompiledMapping, Mapper};
use serde_json::Value;

/// How long a read of the stored configuration is reused.
pub const CONFIG_TTL: Duration = Duration::from_secs(15);

/// A flow's mapping and settings, ready to use.
#[derive(Debug)]
pub struct FlowConfig {
    /// Defaults merged with the stored overrides, compiled.
    pub mapping: Arc<CompiledMapping>,
    /// The stored overrides' version (0 = defaults only).
    pub mapping_version: u64,
    /// The settings with every default filled in (`$settings` in expressions).
    pub settings: Value,
}

/// Reads and caches flow configurations.
pub struct ConfigCache {
    store: Arc<dyn ConfigStore>,
    mapper: Arc<Mapper>,
    ttl: Duration,
    entries: Mutex<HashMap<Flow, (Instant, Arc<FlowConfig>)>>,
}

impl std::fmt::Debug for ConfigCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigCache")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl ConfigCache {
    /// A cache over `store` compiling with `mapper`.
    pub fn new(store: Arc<dyn ConfigStore>, mapper: Arc<Mapper>) -> Self {
        Self::with_ttl(store, mapper, CONFIG_TTL)
    }

    /// The same, reusing reads for `ttl` (zero: read every time).
    pub fn with_ttl(store: Arc<dyn ConfigStore>, mapper: Arc<Mapper>, ttl: Duration) -> Self {
        Self {
            store,
            mapper,
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The configuration of `flow`.
    pub async fn get(&self, flow: Flow) -> Result<Arc<FlowConfig>, StageError> {
        if let Some((at, config)) = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&flow)
            && at.elapsed() < self.ttl
        {
            return Ok(config.clone());
        }
        let overrides = self.store.current(flow, ConfigKind::Mapping).await?;
        let stored_settings = self.store.current(flow, ConfigKind::Settings).await?;
        let (version, body) = overrides.map_or((0, Value::Null), |d| (d.version, d.body));
        let mapping = self.mapper.compiled(flow, version, &body).map_err(|e| {
            StageError::Config(format!("stored mapping of {flow} (version {version}): {e}"))
        })?;
        let settings =
            crate::kit::check_settings(flow, &stored_settings.map_or(Value::Null, |d| d.body))
                .map_err(|e| StageError::Config(e.to_string()))?;
        let config = Arc::new(FlowConfig {
            mapping,
            mapping_version: version,
            settings,
        });
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(flow, (Instant::now(), config.clone()));
        Ok(config)
    }
}
