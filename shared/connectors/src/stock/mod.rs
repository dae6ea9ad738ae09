//! The stock flow: Business Central → Lightspeed quantities on hand per shop, driven by
//! every item ledger entry and sales order change, never overwriting a sale.
//!
//! - **Streams.** `ItemLedgerEntry` by entry number with a trailing re-read window,
//!   `SalesOrder` by `lastModifiedDateTime`, and `StockSweep`, the daily reconciliation of
//!   every inventory item (see `source`).
//! - **Match key.** The Business Central item number: commands of one item are pushed one
//!   at a time (FIFO group and claims), each a recompute of the whole item.
//! - **Command.** [`StockCommand`]: the item and what changed.
//! - **Sink.** Reads both systems, subtracts what Lightspeed sold that Business Central
//!   does not know yet, writes only what differs and checks Lightspeed's log (see `sink`).

mod command;
mod formula;
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

pub use command::StockCommand;
pub use formula::{ANY_LOCATION, Figures, PerLocation, at_locations, figures};
pub use keys::item_keys;
pub use settings::{Formula, Negative, Quantities, ShopStock, StockSettings};
pub use sink::StockSink;
pub use source::{
    LEDGER_STREAM, LedgerSource, ORDER_STREAM, SWEEP, SWEEP_STREAM, SalesOrderSource, SweepSource,
};
pub use transform::{StockTransformer, map};

use crate::Connectors;
use crate::kit::{Direction, FlowKit, FlowSettings, Nouns};

/// How far back every sales order poll re-reads before its cursor.
pub const ORDER_OVERLAP: SignedDuration = SignedDuration::from_mins(5);

/// The stock flow's kit.
#[derive(Debug)]
pub struct Kit;

/// The kit the registry lists.
pub static KIT: Kit = Kit;

#[async_trait]
impl FlowKit for Kit {
    fn flow(&self) -> Flow {
        Flow::Stock
    }

    fn direction(&self) -> Direction {
        Direction::TO_LIGHTSPEED
    }

    fn nouns(&self) -> Nouns {
        Nouns {
            one: "item",
            source_records: "item ledger entries and sales orders",
            target_records: "quantities on hand per shop",
        }
    }

    fn streams(&self) -> &'static [&'static str] {
        &[LEDGER_STREAM, ORDER_STREAM, SWEEP_STREAM]
    }

    fn match_key_rule(&self) -> &'static str {
        "the Business Central item number; its Lightspeed items through the products flow's links, else the SKU"
    }

    fn default_mapping(&self) -> Option<&'static str> {
        Some(include_str!("mapping.json"))
    }

    /// Only changes that move stock wake it: posted documents, purchases and sales
    /// orders. Only entities on the documented list of webhook-supported entities
    /// (api-reference/v2.0/dynamics-subscriptions) can be subscribed to; item ledger
    /// entries, shipments and receipts are not on it, so the flow also polls on a schedule
    /// (adjustments and transfers arrive that way).
    fn wakes_on(&self) -> &'static [&'static str] {
        &[
            "items",
            "salesInvoices",
            "salesOrders",
            "salesCreditMemos",
            "purchaseInvoices",
        ]
    }

    fn sink_reads_source(&self) -> bool {
        true
    }

    fn check_settings(&self, body: &Value) -> Result<Value, MappingError> {
        StockSettings::check(body)
    }

    async fn sources(&self, c: &Connectors) -> Result<Vec<Arc<dyn Source>>, StageError> {
        let config = c.config().get(Flow::Stock).await?;
        let settings = StockSettings::from_stored(Some(&config.settings))
            .map_err(|e| StageError::Config(e.to_string()))?;
        let bc = c.business_central().await?;
        Ok(vec![
            Arc::new(
                LedgerSource::new(
                    bc.clone(),
                    settings.quantities,
                    &settings.ledger_service,
                    settings.ledger_window,
                )
                .waiting_for_orders((!settings.accept_overwrite_risk).then(|| c.cursors())),
            ),
            Arc::new(SalesOrderSource::new(bc.clone(), ORDER_OVERLAP)),
            Arc::new(SweepSource::new(bc, settings.sweep_hour_utc)),
        ])
    }

    fn transformer(&self, _c: &Connectors) -> Arc<dyn Transformer> {
        Arc::new(StockTransformer)
    }

    async fn sink(&self, c: &Connectors) -> Result<Arc<dyn Sink>, StageError> {
        Ok(Arc::new(StockSink::new(
            c.business_central().await?,
            c.lightspeed().await?,
            c.links(),
            c.states(),
            c.cursors(),
            c.config(),
            c.clock(),
        )))
    }
}
