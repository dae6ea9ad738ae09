//! The products flow: Lightspeed items and item matrices → Business Central items, item
//! variants, item categories and item pictures.
//!
//! - **Streams.** Two Lightspeed streams, each with its own cursor: `Item` (the main one)
//!   and `ItemMatrix` (in [`FlowParts::more_sources`](lsbc_core::ports::FlowParts)). A
//!   simple item is the record `item:<itemID>`. A matrix travels with all its variant items
//!   as one aggregate, the record `matrix:<itemMatrixID>`: a change of the matrix (seen by
//!   the `ItemMatrix` stream) or of any of its variants (seen by the `Item` stream) produces
//!   it. Both may produce it for one change; the copies carry the same content, and the
//!   push stage makes no target request for content it already pushed.
//! - **Match key.** The SKU, which is the Business Central item number (upper-case). A
//!   matrix, which has no SKU in Lightspeed, is numbered by the setting
//!   `matrix_number_prefix` and its id (`MATRIX-42`).
//! - **Commands.** One item command per record (key = the record key); a matrix adds its
//!   variants in commands of at most [`VARIANTS_PER_COMMAND`] (`matrix:<id>:variants:<n>`),
//!   and an item with an image its picture (`item:<id>:picture`, `matrix:<id>:picture`, see
//!   `picture`), pushed after the item command in the same FIFO group, since they share the
//!   match key.
//! - **Idempotent creates.** Everything the sync creates gets a SystemId derived from the
//!   Lightspeed id ([`item_system_id`], [`matrix_system_id`], [`variant_system_id`],
//!   [`category_system_id`]); a create retried after a crash finds the first one.
//!
//! The codes Business Central needs (variant codes of 10 characters, category codes of 20)
//! are derived in [`codes`]; the outcomes per rule are listed in `transform` and `sink`.

mod aggregate;
pub mod codes;
mod command;
mod images;
mod keys;
mod picture;
mod settings;
mod sink;
mod source;
mod transform;
mod variants;

use std::sync::Arc;

use async_trait::async_trait;
use jiff::SignedDuration;
use lsbc_core::ports::{Sink, Source, Transformer};
use lsbc_core::{Flow, StageError};
use lsbc_mapping::MappingError;
use serde_json::Value;

pub use command::{
    CategoryTarget, ImageRef, ItemCommand, PictureCommand, ProductCommand, VariantTarget,
    VariantsCommand,
};
pub use images::{HttpImages, ImageError, ImageFetcher, MAX_IMAGE_BYTES};
pub use keys::{
    ProductKey, category_system_id, item_system_id, matrix_system_id, variant_system_id,
};
pub use picture::PICTURE_ATTEMPTS;
pub use settings::{
    ArchivedItems, CategorySync, ImageSync, ProductSettings, Publish, SkuField, VirtualItemType,
};
pub use sink::ProductSink;
pub use source::{ITEM_RELATIONS, MATRIX_RELATIONS, ProductSource, Stream};
pub use transform::ProductTransformer;

use crate::Connectors;
use crate::kit::{Direction, FlowKit, FlowSettings, Nouns};

/// How far back every products poll re-reads before its cursor (late commits).
pub const OVERLAP: SignedDuration = SignedDuration::from_mins(5);

/// At most this many variants travel in one command (a few hundred bytes each, far below
/// the queue's message limit, and small enough that one push stays short).
pub const VARIANTS_PER_COMMAND: usize = 100;

/// The products flow's kit.
#[derive(Debug)]
pub struct Kit;

/// The kit the registry lists.
pub static KIT: Kit = Kit;

#[async_trait]
impl FlowKit for Kit {
    fn flow(&self) -> Flow {
        Flow::Products
    }

    fn direction(&self) -> Direction {
        Direction::TO_BUSINESS_CENTRAL
    }

    fn nouns(&self) -> Nouns {
        Nouns {
            one: "product",
            source_records: "items and matrices",
            target_records: "items, variants, categories and pictures",
        }
    }

    fn streams(&self) -> &'static [&'static str] {
        &["Item", "ItemMatrix"]
    }

    fn match_key_rule(&self) -> &'static str {
        "the SKU (setting sku_field) as the Business Central item number, upper-case; a matrix by matrix_number_prefix and its id"
    }

    fn default_mapping(&self) -> Option<&'static str> {
        Some(include_str!("mapping.json"))
    }

    fn check_settings(&self, body: &Value) -> Result<Value, MappingError> {
        ProductSettings::check(body)
    }

    async fn sources(&self, c: &Connectors) -> Result<Vec<Arc<dyn Source>>, StageError> {
        let ls = c.lightspeed().await?;
        Ok(vec![
            Arc::new(ProductSource::items(ls.clone(), OVERLAP, c.config())),
            Arc::new(ProductSource::matrices(ls, OVERLAP, c.config())),
        ])
    }

    fn transformer(&self, c: &Connectors) -> Arc<dyn Transformer> {
        Arc::new(ProductTransformer::new(c.config()))
    }

    async fn sink(&self, c: &Connectors) -> Result<Arc<dyn Sink>, StageError> {
        Ok(Arc::new(
            ProductSink::new(
                c.business_central().await?,
                c.links(),
                Arc::new(HttpImages::new()?),
            )
            .with_client_ids(c.client_ids())
            .with_scopes(c.scopes()),
        ))
    }
}
