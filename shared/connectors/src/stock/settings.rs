//! Settings of the stock flow: which Business Central locations each Lightspeed shop
//! shows, where per-location quantities are read, the formula per shop, safety stock and
//! what a negative figure becomes. Typed, defaults for everything, unknown keys refused.

use std::collections::BTreeMap;

use lsbc_core::Flow;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::kit::FlowSettings;

/// Where Business Central's quantities are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quantities {
    /// Page 38 "Item Ledger Entries" published as an OData V4 web service (service name
    /// `ledger_service`): per location and variant. Needed for more than one shop.
    #[default]
    LedgerPage,
    /// API v2.0 alone: the item's company-wide `inventory` and `itemLedgerEntries` (no
    /// location, no variant), for a retailer with one shop.
    ApiInventory,
}

/// How a shop's figure is computed from Business Central's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Formula {
    /// Inventory minus the outstanding quantity of open sales order lines at the shop's
    /// locations (API v2.0 sales order lines).
    #[default]
    InventoryMinusOutstanding,
    /// Inventory minus the quantity reserved from inventory (page 497 "Reservation
    /// Entries" published as an OData V4 web service, `reserved_service`).
    InventoryMinusReserved,
    /// Inventory alone.
    Inventory,
}

impl Formula {
    /// As written in settings and audit entries.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InventoryMinusOutstanding => "inventory_minus_outstanding",
            Self::InventoryMinusReserved => "inventory_minus_reserved",
            Self::Inventory => "inventory",
        }
    }
}

/// What a figure below zero becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Negative {
    /// Sent as 0.
    #[default]
    Zero,
    /// Sent as it is.
    Keep,
}

/// One Lightspeed shop.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShopStock {
    /// The Business Central location codes whose quantities it shows, summed (`AMS`,
    /// `AMS-BACK`); `""` is the blank location.
    pub locations: Vec<String>,
    /// Its formula (the flow's `formula` when none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub formula: Option<Formula>,
    /// Units kept back from what it shows (the flow's `safety_stock` when none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub safety_stock: Option<Decimal>,
}

fn default_service() -> String {
    "ItemLedgerEntries".into()
}

fn default_window() -> u64 {
    1_000
}

fn default_grace() -> u32 {
    60
}

fn default_wait() -> u32 {
    60
}

fn yes() -> bool {
    true
}

#[allow(clippy::unnecessary_wraps)] // serde's default for an optional setting
fn night() -> Option<u8> {
    Some(2)
}

/// The stock flow's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "each flag is one independent setting"
)]
#[serde(default, deny_unknown_fields)]
pub struct StockSettings {
    /// Lightspeed `shopID` → what it shows. A shop not listed is left alone (a warning
    /// names it once per item).
    pub shops: BTreeMap<String, ShopStock>,
    /// Where Business Central's quantities come from.
    pub quantities: Quantities,
    /// The service name page 38 "Item Ledger Entries" is published under.
    #[serde(default = "default_service")]
    pub ledger_service: String,
    /// The service name page 497 "Reservation Entries" is published under (needed by
    /// `inventory_minus_reserved`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reserved_service: Option<String>,
    /// The service name page 5404 "Item Units of Measure" is published under: an open
    /// sales order line in another unit than the item's base one is then converted by the
    /// unit's Qty. per Unit of Measure (API v2.0 has no per-item conversion). None: such a
    /// line is counted as that many base units, with a warning.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub units_service: Option<String>,
    /// The formula of every shop without its own.
    pub formula: Formula,
    /// Units kept back in every shop without its own.
    pub safety_stock: Decimal,
    /// What a figure below zero becomes.
    pub negative: Negative,
    /// How many entry numbers below the highest one read each poll reads again: entry
    /// numbers have gaps and can become visible late.
    #[serde(default = "default_window")]
    pub ledger_window: u64,
    /// A sale the orders flow has read but not pushed yet counts as sold for this many
    /// minutes; after that it is taken as one the orders rules skip.
    #[serde(default = "default_grace")]
    pub discovered_grace_minutes: u32,
    /// How long a recompute waits, when Lightspeed's stock moved after the orders flow's
    /// last full read of sales, before it tries again (about one orders poll).
    #[serde(default = "default_wait")]
    pub wait_for_orders_seconds: u32,
    /// After each write, reads the item's `InventoryLog` to find a sale that landed between
    /// the read and the write (one Lightspeed request per written item). Off: such a sale
    /// is corrected when BC posts it.
    #[serde(default = "yes")]
    pub verify_writes: bool,
    /// The hour (UTC, 0–23) of the daily reconciliation sweep, which recomputes every
    /// inventory item; none: no sweep.
    #[serde(default = "night")]
    pub sweep_hour_utc: Option<u8>,
    /// Makes a Lightspeed item that keeps no stock (`itemType` `non_inventory`) track it
    /// (`default`) when its Business Central item is an inventory item. Off: such an item
    /// is left alone with a warning.
    pub force_tracking: bool,
    /// Whether a layaway or work order in Lightspeed takes its units off `qoh` when it is
    /// made (users report it does; the docs don't say): its units (`ItemShop.onLayaway`,
    /// `onWorkorder`) are then subtracted — Business Central learns of them only when the
    /// sale completes. Off: they stay in `qoh` until picked up, and nothing is subtracted.
    #[serde(default = "yes")]
    pub layaway_takes_stock: bool,
    /// Runs without the orders flow: sales Lightspeed made that Business Central does not
    /// know yet are then overwritten by Business Central's figure until they reach it.
    pub accept_overwrite_risk: bool,
}

impl Default for StockSettings {
    fn default() -> Self {
        Self {
            shops: BTreeMap::new(),
            quantities: Quantities::default(),
            ledger_service: default_service(),
            reserved_service: None,
            units_service: None,
            formula: Formula::default(),
            safety_stock: Decimal::ZERO,
            negative: Negative::default(),
            ledger_window: default_window(),
            discovered_grace_minutes: default_grace(),
            wait_for_orders_seconds: default_wait(),
            verify_writes: true,
            sweep_hour_utc: night(),
            force_tracking: false,
            layaway_takes_stock: true,
            accept_overwrite_risk: false,
        }
    }
}

impl StockSettings {
    /// The formula of shop `shop`.
    pub fn formula_of(&self, shop: &ShopStock) -> Formula {
        shop.formula.unwrap_or(self.formula)
    }

    /// The safety stock of shop `shop`.
    pub fn safety_of(&self, shop: &ShopStock) -> Decimal {
        shop.safety_stock.unwrap_or(self.safety_stock)
    }
}

impl FlowSettings for StockSettings {
    const FLOW: Flow = Flow::Stock;

    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let p = |s: String| format!("settings of stock: {s}");
        for (id, shop) in &self.shops {
            if id.parse::<u64>().map_or(true, |n| n == 0) {
                problems.push(p(format!("shops: `{id}` is not a Lightspeed shopID")));
            }
            if self.quantities == Quantities::LedgerPage && shop.locations.is_empty() {
                problems.push(p(format!(
                    "shops.{id}.locations is empty: name the Business Central location codes it shows"
                )));
            }
            if self.formula_of(shop) == Formula::InventoryMinusReserved
                && self.reserved_service.is_none()
            {
                problems.push(p(format!(
                    "shop {id} uses inventory_minus_reserved but reserved_service is not set: publish page 497 \"Reservation Entries\" as an OData V4 web service and give its service name, or choose inventory_minus_outstanding"
                )));
            }
            if self.safety_of(shop).is_sign_negative() {
                problems.push(p(format!("shops.{id}.safety_stock must not be negative")));
            }
        }
        if self.quantities == Quantities::ApiInventory && self.shops.len() > 1 {
            problems.push(p(
                "quantities api_inventory has no locations: it serves one shop; publish page 38 \"Item Ledger Entries\" and use ledger_page for several".into(),
            ));
        }
        if self.safety_stock.is_sign_negative() {
            problems.push(p("safety_stock must not be negative".into()));
        }
        if self.sweep_hour_utc.is_some_and(|h| h > 23) {
            problems.push(p("sweep_hour_utc must be an hour, 0 to 23".into()));
        }
        if self
            .units_service
            .as_deref()
            .is_some_and(|s| s.trim().is_empty())
        {
            problems.push(p(
                "units_service is empty: give the service name page 5404 \"Item Units of Measure\" is published under, or leave it out".into(),
            ));
        }
        if self.ledger_window == 0 {
            problems.push(p(
                "ledger_window must be at least 1 (entries that commit late are read again within it)".into(),
            ));
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn defaults_fill_in_and_impossible_settings_are_refused_by_name() {
        let checked = StockSettings::check(&json!(null)).unwrap();
        assert_eq!(checked["formula"], "inventory_minus_outstanding");
        assert_eq!(checked["ledger_window"], 1000);
        let err = StockSettings::check(&json!({"shops": {"1": {"locations": []}}}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("shops.1.locations"), "{err}");
        let err = StockSettings::check(
            &json!({"shops": {"1": {"locations": ["AMS"], "formula": "inventory_minus_reserved"}}}),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("reserved_service"), "{err}");
        let err = StockSettings::check(&json!({"quantities": "api_inventory",
            "shops": {"1": {}, "2": {}}}))
        .unwrap_err()
        .to_string();
        assert!(err.contains("one shop"), "{err}");
        assert!(StockSettings::check(&json!({"shop": {}})).is_err());
        assert!(checked.get("units_service").is_none());
        let err = StockSettings::check(&json!({"units_service": " "}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("units_service"), "{err}");
        let units = StockSettings::check(&json!({"units_service": "ItemUnitsofMeasure"})).unwrap();
        assert_eq!(units["units_service"], "ItemUnitsofMeasure");
    }
}
