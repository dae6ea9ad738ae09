//! The customers flow: Lightspeed customers → Business Central customers (and, for a
//! company, the person as a contact of it).
//!
//! - **Stream.** `Customer`, by `timeStamp`, with contact details and custom fields.
//! - **Match key.** The primary e-mail address (lower-case) by default; the settings may
//!   choose the Lightspeed id only or the BC customer number instead.
//! - **Command.** One [`CustomerCommand`] per customer.
//! - **Idempotent creates.** Everything created gets a SystemId derived from the Lightspeed
//!   id ([`customer_system_id`], [`contact_system_id`]).

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

pub use command::{CustomerCommand, is_valid_email};
pub use keys::{contact_marker, contact_system_id, customer_marker, customer_system_id};
pub use settings::{ArchivedCustomers, CustomerMatch, CustomerSettings, WithoutEmail};
pub use sink::CustomerSink;
pub use source::{CustomerSource, RELATIONS};
pub use transform::{CustomerTransformer, map};

use crate::Connectors;
use crate::kit::{Direction, FlowKit, FlowSettings, Nouns};

/// How far back every customers poll re-reads before its cursor (late commits).
pub const OVERLAP: SignedDuration = SignedDuration::from_mins(5);

/// The customers flow's kit.
#[derive(Debug)]
pub struct Kit;

/// The kit the registry lists.
pub static KIT: Kit = Kit;

#[async_trait]
impl FlowKit for Kit {
    fn flow(&self) -> Flow {
        Flow::Customers
    }

    fn direction(&self) -> Direction {
        Direction::TO_BUSINESS_CENTRAL
    }

    fn nouns(&self) -> Nouns {
        Nouns {
            one: "customer",
            source_records: "customers",
            target_records: "customers",
        }
    }

    fn streams(&self) -> &'static [&'static str] {
        &["Customer"]
    }

    fn match_key_rule(&self) -> &'static str {
        "the primary e-mail address, lower-case (setting match_key: email, lightspeed_id or customer_number)"
    }

    fn default_mapping(&self) -> Option<&'static str> {
        Some(include_str!("mapping.json"))
    }

    fn check_settings(&self, body: &Value) -> Result<Value, MappingError> {
        CustomerSettings::check(body)
    }

    async fn sources(&self, c: &Connectors) -> Result<Vec<Arc<dyn Source>>, StageError> {
        Ok(vec![Arc::new(CustomerSource::new(
            c.lightspeed().await?,
            OVERLAP,
        ))])
    }

    fn transformer(&self, c: &Connectors) -> Arc<dyn Transformer> {
        Arc::new(CustomerTransformer::new(c.config()))
    }

    async fn sink(&self, c: &Connectors) -> Result<Arc<dyn Sink>, StageError> {
        Ok(Arc::new(
            CustomerSink::new(c.business_central().await?, c.links())
                .with_client_ids(c.client_ids())
                .with_scopes(c.scopes()),
        ))
    }
}
