//! The example flow: Lightspeed shops → Business Central locations. Built only with the
//! `example-flow` feature and never deployed; it exists to prove that a flow is added by
//! the documented steps (a folder with the same files as every flow, one registry line,
//! the template part) and runs between the two simulators.
//!
//! - **Stream.** `Shop`, by `timeStamp`.
//! - **Match key.** The location code `LS-<shopID>`.
//! - **Command.** One [`ShopCommand`] per shop: the location's code and name.
//! - **Idempotent creates.** A location the flow creates gets a SystemId derived from the
//!   shop id ([`location_system_id`]).

mod command;
mod keys;
mod settings;
mod sink;
mod source;
mod transform;

use std::sync::Arc;

use async_trait::async_trait;
use jiff::SignedDuration;
use lsbc_core::ports::{Sink, Source, Transformer};
use lsbc_core::{Flow, StageError};
use lsbc_mapping::MappingError;
use serde_json::Value;

pub use command::ShopCommand;
pub use keys::{location_code, location_system_id};
pub use settings::ShopSettings;
pub use sink::ShopSink;
pub use source::ShopSource;
pub use transform::{ShopTransformer, map};

use crate::Connectors;
use crate::kit::{Direction, FlowKit, FlowSettings, Nouns};

/// How far back every shops poll re-reads before its cursor.
pub const OVERLAP: SignedDuration = SignedDuration::from_mins(5);

/// The example flow's kit.
#[derive(Debug)]
pub struct Kit;

/// The kit the registry lists.
pub static KIT: Kit = Kit;

#[async_trait]
impl FlowKit for Kit {
    fn flow(&self) -> Flow {
        Flow::Shops
    }

    fn direction(&self) -> Direction {
        Direction::TO_BUSINESS_CENTRAL
    }

    fn nouns(&self) -> Nouns {
        Nouns {
            one: "shop",
            source_records: "shops",
            target_records: "locations",
        }
    }

    fn streams(&self) -> &'static [&'static str] {
        &["Shop"]
    }

    fn match_key_rule(&self) -> &'static str {
        "the location code: the setting code_prefix and the shop id (LS-1)"
    }

    fn default_mapping(&self) -> Option<&'static str> {
        Some(include_str!("mapping.json"))
    }

    fn check_settings(&self, body: &Value) -> Result<Value, MappingError> {
        ShopSettings::check(body)
    }

    async fn sources(&self, c: &Connectors) -> Result<Vec<Arc<dyn Source>>, StageError> {
        Ok(vec![Arc::new(ShopSource::new(c.lightspeed().await?))])
    }

    fn transformer(&self, c: &Connectors) -> Arc<dyn Transformer> {
        Arc::new(ShopTransformer::new(c.config()))
    }

    async fn sink(&self, c: &Connectors) -> Result<Arc<dyn Sink>, StageError> {
        Ok(Arc::new(ShopSink::new(c.business_central().await?)))
    }
}
