//! The example flow's command: the Business Central location as it should be.

use serde::{Deserialize, Serialize};

/// What the push stage receives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShopCommand {
    /// The Lightspeed shop id.
    pub shop_id: u64,
    /// The location code.
    pub code: String,
    /// The location's name.
    pub display_name: String,
}
