//! Settings of the example flow: the prefix of the location codes.

use lsbc_core::Flow;
use serde::{Deserialize, Serialize};

use crate::kit::FlowSettings;

/// Settings of the shops flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShopSettings {
    /// Prefix of the location codes (default `LS-`).
    pub code_prefix: String,
}

impl Default for ShopSettings {
    fn default() -> Self {
        Self {
            code_prefix: "LS-".into(),
        }
    }
}

impl FlowSettings for ShopSettings {
    const FLOW: Flow = Flow::Shops;

    fn problems(&self) -> Vec<String> {
        // Location codes hold 10 characters; shop ids in the example have up to 4 digits.
        if self.code_prefix.chars().count() > 6 {
            vec![format!(
                "settings of shops: code_prefix `{}` is longer than 6 characters",
                self.code_prefix
            )]
        } else {
            Vec::new()
        }
    }
}
