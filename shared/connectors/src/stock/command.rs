//! The stock flow's command: recompute one Business Central item everywhere it shows.

use serde::{Deserialize, Serialize};

/// What the push stage receives: recompute the stock of one Business Central item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockCommand {
    /// The Business Central item number.
    pub item: String,
    /// What changed (`entry 4711 (Sale, AMS)`, `sales order 101005`): also what makes two
    /// commands of one item differ.
    pub cause: String,
}
