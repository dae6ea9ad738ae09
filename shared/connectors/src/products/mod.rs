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
//!   pushed after the item command in the same FIFO group, since they share the match key.
//! - **Idempotent creates.** Everything the sync creates gets a SystemId derived from the
//!   Lightspeed id ([`item_system_id`], [`matrix_system_id`], [`variant_system_id`],
//!   [`category_system_id`]); a create retried after a crash finds the first one.
//!
//! The codes Business Central needs (variant codes of 10 characters, category codes of 20)
//! are derived in [`codes`]; the outcomes per rule are listed in `transform` and `sink`.

pub mod codes;
mod images;
mod sink;
mod source;
mod transform;
mod variants;

use std::fmt;

use jiff::SignedDuration;
use lsbc_core::{RecordKey, StageError};
use uuid::Uuid;

pub use images::{HttpImages, ImageError, ImageFetcher, MAX_IMAGE_BYTES};
pub use sink::ProductSink;
pub use source::{ITEM_RELATIONS, MATRIX_RELATIONS, ProductSource, Stream};
pub use transform::{
    CategoryTarget, ImageRef, ItemCommand, ProductCommand, ProductTransformer, VariantTarget,
    VariantsCommand,
};

/// How far back every products poll re-reads before its cursor (late commits).
pub const OVERLAP: SignedDuration = SignedDuration::from_mins(5);

/// At most this many variants travel in one command (a few hundred bytes each, far below
/// the queue's message limit, and small enough that one push stays short).
pub const VARIANTS_PER_COMMAND: usize = 100;

/// The namespace of the SystemIds the products flow gives the records it creates.
const NAMESPACE: Uuid = Uuid::from_u128(0x6c73_6263_2d70_726f_6475_6374_7321_0001);

/// The SystemId of the BC item made from Lightspeed item `item_id`.
pub fn item_system_id(item_id: u64) -> Uuid {
    Uuid::new_v5(&NAMESPACE, format!("lightspeed-item:{item_id}").as_bytes())
}

/// The SystemId of the BC item made from Lightspeed matrix `matrix_id`.
pub fn matrix_system_id(matrix_id: u64) -> Uuid {
    Uuid::new_v5(
        &NAMESPACE,
        format!("lightspeed-matrix:{matrix_id}").as_bytes(),
    )
}

/// The SystemId of the BC item variant made from Lightspeed variant item `item_id` (what
/// an order line of that item sends as `itemVariantId`, when the sync created the variant).
pub fn variant_system_id(item_id: u64) -> Uuid {
    Uuid::new_v5(
        &NAMESPACE,
        format!("lightspeed-variant:{item_id}").as_bytes(),
    )
}

/// The SystemId of the BC item category made from Lightspeed category path `path`.
pub fn category_system_id(path: &str) -> Uuid {
    Uuid::new_v5(
        &NAMESPACE,
        format!("lightspeed-category:{}", codes::normalized_path(path)).as_bytes(),
    )
}

/// The key of a products record or command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProductKey {
    /// `item:<itemID>`: a simple item (not in a matrix).
    Item(u64),
    /// `matrix:<itemMatrixID>`: a matrix with its variants (record), or its BC item
    /// (command).
    Matrix(u64),
    /// `matrix:<itemMatrixID>:variants:<part>`: one command of a matrix's variants.
    Variants {
        /// The matrix.
        matrix: u64,
        /// 1-based.
        part: usize,
    },
}

impl ProductKey {
    /// Reads a key; `None` for anything else.
    pub fn parse(key: &str) -> Option<Self> {
        let mut parts = key.split(':');
        let kind = parts.next()?;
        let id: u64 = parts.next()?.parse().ok()?;
        match (kind, parts.next(), parts.next(), parts.next()) {
            ("item", None, None, None) => Some(Self::Item(id)),
            ("matrix", None, None, None) => Some(Self::Matrix(id)),
            ("matrix", Some("variants"), Some(part), None) => {
                let part: usize = part.parse().ok().filter(|p| *p > 0)?;
                Some(Self::Variants { matrix: id, part })
            }
            _ => None,
        }
    }

    /// The record or item command a key belongs to (variants belong to their matrix).
    #[must_use]
    pub fn owner(self) -> Self {
        match self {
            Self::Variants { matrix, .. } => Self::Matrix(matrix),
            other => other,
        }
    }

    /// The key as a record key.
    pub fn record_key(self) -> Result<RecordKey, StageError> {
        RecordKey::parse(self.to_string())
            .map_err(|e| StageError::Config(format!("product key {self}: {e}")))
    }

    /// For messages: `item 12`, `matrix 3`.
    pub fn describe(self) -> String {
        match self.owner() {
            Self::Item(id) => format!("item {id}"),
            Self::Matrix(id) | Self::Variants { matrix: id, .. } => format!("matrix {id}"),
        }
    }

    /// The SystemId of the BC item of this key's owner.
    pub fn item_system_id(self) -> Uuid {
        match self.owner() {
            Self::Item(id) => item_system_id(id),
            Self::Matrix(id) | Self::Variants { matrix: id, .. } => matrix_system_id(id),
        }
    }
}

impl fmt::Display for ProductKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Item(id) => write!(f, "item:{id}"),
            Self::Matrix(id) => write!(f, "matrix:{id}"),
            Self::Variants { matrix, part } => write!(f, "matrix:{matrix}:variants:{part}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_know_their_owner() {
        for text in ["item:12", "matrix:3", "matrix:3:variants:2"] {
            let key = ProductKey::parse(text).unwrap();
            assert_eq!(key.to_string(), text);
            assert_eq!(key.record_key().unwrap().as_str(), text);
        }
        let part = ProductKey::parse("matrix:3:variants:2").unwrap();
        assert_eq!(part.owner(), ProductKey::Matrix(3));
        assert_eq!(part.describe(), "matrix 3");
        assert_eq!(part.item_system_id(), matrix_system_id(3));
        for bad in [
            "12",
            "item:",
            "item:x",
            "item:1:2",
            "matrix:3:variants:0",
            "sale:1",
            "matrix:3:lines:1",
        ] {
            assert_eq!(ProductKey::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn system_ids_are_stable_and_distinct() {
        assert_eq!(item_system_id(7), item_system_id(7));
        assert_ne!(item_system_id(7), matrix_system_id(7));
        assert_ne!(item_system_id(7), variant_system_id(7));
        assert_eq!(
            category_system_id("Apparel / Shirts"),
            category_system_id("apparel/shirts")
        );
        assert_eq!(
            item_system_id(7).get_version(),
            Some(uuid::Version::Sha1),
            "v5: told apart from the SystemIds Business Central makes"
        );
    }
}
