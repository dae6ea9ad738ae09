//! The configuration ports: mapping overrides and settings per flow, both versioned JSON
//! documents with history (who, when). A reset to defaults is a new version with an empty
//! document, so history is never lost.

use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::StoreError;
use crate::flow::Flow;

/// Which document of a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConfigKind {
    /// Field mapping overrides.
    Mapping,
    /// Settings.
    Settings,
    /// What the sync found out about the target system by itself (for example, per
    /// company and entity set, whether Business Central keeps an `id` chosen on POST);
    /// written by the sync, shown by `lsbc status`, never edited by hand.
    Findings,
}

impl ConfigKind {
    /// `mapping`, `settings` or `findings`.
    pub fn as_str(self) -> &'static str {
        match self {
            ConfigKind::Mapping => "mapping",
            ConfigKind::Settings => "settings",
            ConfigKind::Findings => "findings",
        }
    }
}

/// One version of a configuration document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigDoc {
    /// The flow.
    pub flow: Flow,
    /// Which document.
    pub kind: ConfigKind,
    /// 1 for the first saved version, then +1 per save.
    pub version: u64,
    /// The document.
    pub body: Value,
    /// Who saved it.
    pub author: String,
    /// When.
    pub saved_at: Timestamp,
    /// Why, if they said.
    #[serde(default)]
    pub comment: Option<String>,
}

/// Stores versioned configuration documents. Adapters implement this once; the
/// [`MappingStore`] and [`SettingsStore`] ports are views of it.
#[async_trait]
pub trait ConfigStore: Send + Sync {
    /// The latest version, or `None` if never saved.
    async fn current(&self, flow: Flow, kind: ConfigKind) -> Result<Option<ConfigDoc>, StoreError>;

    /// Saves a new version if the latest is still `expected_version` (`0` = never saved).
    /// A lost race is [`StoreError::Conflict`].
    async fn save(&self, doc: &ConfigDoc, expected_version: u64) -> Result<(), StoreError>;

    /// Up to `limit` versions, newest first.
    async fn history(
        &self,
        flow: Flow,
        kind: ConfigKind,
        limit: usize,
    ) -> Result<Vec<ConfigDoc>, StoreError>;
}

/// Mapping overrides per flow.
#[async_trait]
pub trait MappingStore: Send + Sync {
    /// The current overrides, if any were ever saved.
    async fn mapping(&self, flow: Flow) -> Result<Option<ConfigDoc>, StoreError>;
    /// Saves new overrides as the next version after `expected_version`.
    async fn save_mapping(
        &self,
        flow: Flow,
        body: Value,
        expected_version: u64,
        author: &str,
        at: Timestamp,
    ) -> Result<ConfigDoc, StoreError>;
    /// Versions, newest first.
    async fn mapping_history(&self, flow: Flow, limit: usize)
    -> Result<Vec<ConfigDoc>, StoreError>;
}

/// Settings per flow.
#[async_trait]
pub trait SettingsStore: Send + Sync {
    /// The current settings, if any were ever saved.
    async fn settings(&self, flow: Flow) -> Result<Option<ConfigDoc>, StoreError>;
    /// Saves new settings as the next version after `expected_version`.
    async fn save_settings(
        &self,
        flow: Flow,
        body: Value,
        expected_version: u64,
        author: &str,
        at: Timestamp,
    ) -> Result<ConfigDoc, StoreError>;
    /// Versions, newest first.
    async fn settings_history(
        &self,
        flow: Flow,
        limit: usize,
    ) -> Result<Vec<ConfigDoc>, StoreError>;
}

async fn save_next<S: ConfigStore + ?Sized>(
    store: &S,
    flow: Flow,
    kind: ConfigKind,
    body: Value,
    expected_version: u64,
    author: &str,
    at: Timestamp,
) -> Result<ConfigDoc, StoreError> {
    let doc = ConfigDoc {
        flow,
        kind,
        version: expected_version + 1,
        body,
        author: author.to_owned(),
        saved_at: at,
        comment: None,
    };
    store.save(&doc, expected_version).await?;
    Ok(doc)
}

#[async_trait]
impl<T: ConfigStore + ?Sized> MappingStore for T {
    async fn mapping(&self, flow: Flow) -> Result<Option<ConfigDoc>, StoreError> {
        self.current(flow, ConfigKind::Mapping).await
    }

    async fn save_mapping(
        &self,
        flow: Flow,
        body: Value,
        expected_version: u64,
        author: &str,
        at: Timestamp,
    ) -> Result<ConfigDoc, StoreError> {
        save_next(
            self,
            flow,
            ConfigKind::Mapping,
            body,
            expected_version,
            author,
            at,
        )
        .await
    }

    async fn mapping_history(
        &self,
        flow: Flow,
        limit: usize,
    ) -> Result<Vec<ConfigDoc>, StoreError> {
        self.history(flow, ConfigKind::Mapping, limit).await
    }
}

#[async_trait]
impl<T: ConfigStore + ?Sized> SettingsStore for T {
    async fn settings(&self, flow: Flow) -> Result<Option<ConfigDoc>, StoreError> {
        self.current(flow, ConfigKind::Settings).await
    }

    async fn save_settings(
        &self,
        flow: Flow,
        body: Value,
        expected_version: u64,
        author: &str,
        at: Timestamp,
    ) -> Result<ConfigDoc, StoreError> {
        save_next(
            self,
            flow,
            ConfigKind::Settings,
            body,
            expected_version,
            author,
            at,
        )
        .await
    }

    async fn settings_history(
        &self,
        flow: Flow,
        limit: usize,
    ) -> Result<Vec<ConfigDoc>, StoreError> {
        self.history(flow, ConfigKind::Settings, limit).await
    }
}
