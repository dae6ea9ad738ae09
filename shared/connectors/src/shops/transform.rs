//! Lightspeed shop → the Business Central location command: pure, wrapped by a thin async
//! layer that reads the mapping and settings.

use std::sync::Arc;

use async_trait::async_trait;
use lsbc_core::ports::{Transformed, Transformer};
use lsbc_core::{Flow, MatchKey, Record, StageError};
use serde_json::Value;

use super::command::ShopCommand;
use super::keys::location_code;
use super::settings::ShopSettings;
use crate::config::{ConfigCache, FlowConfig};
use crate::kit::FlowSettings;

/// The shops flow's transformer.
#[derive(Debug)]
pub struct ShopTransformer {
    config: Arc<ConfigCache>,
}

impl ShopTransformer {
    /// A transformer reading its settings through `config`.
    pub fn new(config: Arc<ConfigCache>) -> Self {
        Self { config }
    }
}

#[async_trait]
impl Transformer for ShopTransformer {
    fn flow(&self) -> Flow {
        Flow::Shops
    }

    async fn transform(&self, record: &Record) -> Result<Vec<Transformed>, StageError> {
        let config = self.config.get(Flow::Shops).await?;
        map(record, &config)
    }
}

/// The command for `record` under `config`.
pub fn map(record: &Record, config: &FlowConfig) -> Result<Vec<Transformed>, StageError> {
    let settings = ShopSettings::from_stored(Some(&config.settings))
        .map_err(|e| StageError::Config(e.to_string()))?;
    let invalid = |field: &str, reason: String| StageError::InvalidRecord {
        key: record.key.clone(),
        field: field.into(),
        reason,
    };
    let shop_id: u64 = record
        .key
        .as_str()
        .parse()
        .map_err(|_| invalid("shopID", format!("`{}` is not a shop id", record.key)))?;
    let fields = config
        .mapping
        .evaluate(&record.payload, &config.settings)
        .map_err(|e| invalid(&e.field, e.message))?
        .object("location");
    let name = fields
        .get("displayName")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut warnings = Vec::new();
    let display_name = if name.is_empty() {
        warnings.push("shop without a name".to_owned());
        format!("Lightspeed shop {shop_id}")
    } else {
        name.chars().take(100).collect()
    };
    let code = location_code(&settings.code_prefix, shop_id);
    if code.chars().count() > 10 {
        return Err(invalid(
            "shopID",
            format!("location code `{code}` is longer than 10 characters"),
        ));
    }
    let command = ShopCommand {
        shop_id,
        code: code.clone(),
        display_name,
    };
    Ok(vec![Transformed {
        key: record.key.clone(),
        match_key: MatchKey::parse(code).map_err(|e| invalid("shopID", e.to_string()))?,
        command: serde_json::to_value(&command)
            .map_err(|e| StageError::Config(format!("shop command not encodable: {e}")))?,
        warnings,
    }])
}
