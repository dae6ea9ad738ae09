//! The products flow's keys: record and command keys ([`ProductKey`]) and the SystemIds
//! it gives the Business Central records it creates, derived from Lightspeed ids (so a
//! retried create finds the first).

use std::fmt;

use lsbc_core::{RecordKey, StageError};
use uuid::Uuid;

use super::codes;
use crate::ids::IdScope;

/// The namespace of the SystemIds the products flow gives the records it creates.
const NAMESPACE: Uuid = Uuid::from_u128(0x6c73_6263_2d70_726f_6475_6374_7321_0001);

/// The SystemId of the BC item made from Lightspeed item `item_id` (of the account
/// `scope` names).
pub fn item_system_id(scope: &IdScope, item_id: u64) -> Uuid {
    Uuid::new_v5(
        &NAMESPACE,
        format!("lightspeed-item:{}", scope.qualify(item_id)).as_bytes(),
    )
}

/// The SystemId of the BC item made from Lightspeed matrix `matrix_id`.
pub fn matrix_system_id(scope: &IdScope, matrix_id: u64) -> Uuid {
    Uuid::new_v5(
        &NAMESPACE,
        format!("lightspeed-matrix:{}", scope.qualify(matrix_id)).as_bytes(),
    )
}

/// The SystemId of the BC item variant made from Lightspeed variant item `item_id` (what
/// an order line of that item sends as `itemVariantId`, when the sync created the variant).
pub fn variant_system_id(scope: &IdScope, item_id: u64) -> Uuid {
    Uuid::new_v5(
        &NAMESPACE,
        format!("lightspeed-variant:{}", scope.qualify(item_id)).as_bytes(),
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
    pub fn item_system_id(self, scope: &IdScope) -> Uuid {
        match self.owner() {
            Self::Item(id) => item_system_id(scope, id),
            Self::Matrix(id) | Self::Variants { matrix: id, .. } => matrix_system_id(scope, id),
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
        let u = IdScope::Unscoped;
        assert_eq!(part.item_system_id(&u), matrix_system_id(&u, 3));
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
        let u = IdScope::Unscoped;
        assert_eq!(item_system_id(&u, 7), item_system_id(&u, 7));
        assert_ne!(item_system_id(&u, 7), matrix_system_id(&u, 7));
        assert_ne!(item_system_id(&u, 7), variant_system_id(&u, 7));
        let (a, b) = (IdScope::Account("1".into()), IdScope::Account("2".into()));
        assert_ne!(item_system_id(&a, 7), item_system_id(&b, 7), "two accounts");
        assert_ne!(item_system_id(&a, 7), item_system_id(&u, 7));
        assert_eq!(
            item_system_id(&u, 7).to_string(),
            Uuid::new_v5(&NAMESPACE, b"lightspeed-item:7").to_string(),
            "unscoped ids are the first version's"
        );
        assert_eq!(
            category_system_id("Apparel / Shirts"),
            category_system_id("apparel/shirts")
        );
        assert_eq!(
            item_system_id(&u, 7).get_version(),
            Some(uuid::Version::Sha1),
            "v5: told apart from the SystemIds Business Central makes"
        );
    }
}
