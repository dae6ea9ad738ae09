//! The orders flow: Lightspeed sales → Business Central sales documents, to the cent,
//! never twice.
//!
//! - **Streams.** `Sale` by `updatetime` (the main one; voids move it) and `SaleWaiting`,
//!   the sales waiting for their items, read again on every poll (see `source`).
//! - **Match key.** The document reference `LS-<saleID>` (`document_prefix` + sale id),
//!   sent as `externalDocumentNumber`: how a sale's document is found again without a
//!   link or state.
//! - **Command.** One [`OrderCommand`] per sale: its documents (an invoice, an order, a
//!   credit memo, or a credit memo and an invoice for an exchange), customer, tenders.
//! - **State.** Each sale's state is kept in the state store ([`sink::states`]), shown by
//!   `lsbc orders show` and listed by `lsbc orders list`.
//! - **Idempotent creates.** Every document gets a SystemId derived from the sale id
//!   ([`document_system_id`]) and is looked for by its reference before any create.

mod command;
mod keys;
mod moves;
mod settings;
pub mod sink;
mod source;
mod transform;

use std::sync::Arc;

use async_trait::async_trait;
use jiff::SignedDuration;
use lsbc_core::ports::{Sink, Source, Transformer};
use lsbc_core::{Flow, StageError};
use lsbc_mapping::MappingError;
use serde_json::Value;

pub use command::{
    CustomerRef, DocumentCommand, DocumentKind, ItemRef, LineCommand, LineKind, OrderCommand,
    SaleStatus, Tender,
};
pub use keys::{REFERENCE_MAX, document_reference, document_system_id};
pub use moves::{BoxSingle, Boxes, STOCK, StockMove, box_single, sold_boxes, stock_moves};
pub use settings::{DimensionTable, DocumentType, OrderSettings, ShopSettings};
pub use sink::{LineTarget, OrderSink, line_body, states};
pub use source::{
    DISCOVERED, HELD, POSTING, REFUNDS_SALES, RELATIONS, RELINK, SALE_STAMPS, SaleSource,
    UPDATE_TIME, WAITING, WAITING_PER_POLL, WaitingSaleSource,
};
pub use transform::{OrderTransformer, business_date, command, map};

use crate::Connectors;
use crate::customers::CustomerSink;
use crate::kit::{Direction, FlowKit, FlowSettings, LogAlarm, Nouns};

/// How far back every sales poll re-reads before its cursor (late commits).
pub const OVERLAP: SignedDuration = SignedDuration::from_mins(5);

/// The orders flow's kit.
#[derive(Debug)]
pub struct Kit;

/// The kit the registry lists.
pub static KIT: Kit = Kit;

#[async_trait]
impl FlowKit for Kit {
    fn flow(&self) -> Flow {
        Flow::Orders
    }

    fn direction(&self) -> Direction {
        Direction::TO_BUSINESS_CENTRAL
    }

    fn nouns(&self) -> Nouns {
        Nouns {
            one: "sale",
            source_records: "sales",
            target_records: "sales invoices, orders and credit memos",
        }
    }

    fn streams(&self) -> &'static [&'static str] {
        &["Sale", "SaleWaiting"]
    }

    fn match_key_rule(&self) -> &'static str {
        "the document reference LS-<saleID> (setting document_prefix), sent as externalDocumentNumber"
    }

    fn default_mapping(&self) -> Option<&'static str> {
        Some(include_str!("mapping.json"))
    }

    fn log_alarms(&self) -> &'static [LogAlarm] {
        &[
            LogAlarm {
                name: "order_held",
                description: "A sale is held - its document's total differs from Lightspeed's beyond the tolerance, or Business Central refused to post or cancel it; lsbc orders list --state held says which and why.",
            },
            LogAlarm {
                name: "order_waiting",
                description: "A sale has waited for its items longer than waiting_alarm_hours; lsbc orders list --state waiting names the missing SKUs.",
            },
            LogAlarm {
                name: "order_posting",
                description: "A sale's invoice is still a draft long after posting was asked for; see the job queue log in Business Central and lsbc orders list --state posting.",
            },
        ]
    }

    fn check_settings(&self, body: &Value) -> Result<Value, MappingError> {
        OrderSettings::check(body)
    }

    async fn sources(&self, c: &Connectors) -> Result<Vec<Arc<dyn Source>>, StageError> {
        let client = c.lightspeed().await?;
        Ok(vec![
            Arc::new(SaleSource::new(client.clone(), OVERLAP, c.states())),
            Arc::new(WaitingSaleSource::new(client, c.states())),
        ])
    }

    fn transformer(&self, c: &Connectors) -> Arc<dyn Transformer> {
        Arc::new(OrderTransformer::new(c.config()))
    }

    async fn sink(&self, c: &Connectors) -> Result<Arc<dyn Sink>, StageError> {
        let bc = c.business_central().await?;
        let writer =
            crate::business_central::Writer::new(bc.clone()).with_client_ids(c.client_ids());
        let customers = CustomerSink::new(bc, c.links()).with_client_ids(c.client_ids());
        Ok(Arc::new(
            OrderSink::new(
                writer,
                c.links(),
                c.states(),
                c.clock(),
                c.config(),
                customers,
            )
            .with_scopes(c.scopes()),
        ))
    }
}
