//! Settings of the orders flow: which sales are sent, as which Business Central document,
//! to which customer when the sale has none, and the tables that turn Lightspeed's shops,
//! employees, tax classes and payment types into Business Central's locations,
//! salespeople, tax codes and payment terms. Typed, with defaults for everything; unknown
//! keys are refused. Per-shop overrides sit under `shops_settings`, keyed by `shopID`.

use std::collections::BTreeMap;

use jiff::Timestamp;
use lsbc_core::Flow;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::kit::FlowSettings;

/// The Business Central document a completed sale becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentType {
    /// A draft sales invoice (an accountant posts it).
    #[default]
    Invoice,
    /// A sales invoice, posted by the sync (`Microsoft.NAV.post`).
    PostedInvoice,
    /// A sales order (shipped and invoiced in Business Central).
    Order,
}

impl DocumentType {
    /// As written in settings and states.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invoice => "invoice",
            Self::PostedInvoice => "posted_invoice",
            Self::Order => "order",
        }
    }
}

/// What one shop does differently.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShopSettings {
    /// The document type of this shop's sales.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document_type: Option<DocumentType>,
    /// The customer of this shop's walk-in sales.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_customer_number: Option<String>,
}

/// Dimension values by a Lightspeed id (`shopID`, `registerID`), sent on a global
/// dimension of the header.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DimensionTable {
    /// Which global dimension: 1 (`shortcutDimension1Code`) or 2.
    pub dimension: u8,
    /// The dimension value code by Lightspeed id.
    pub values: BTreeMap<String, String>,
}

impl DimensionTable {
    /// The header field and value for Lightspeed id `id`, if the table has one.
    pub fn field_for(&self, id: u64) -> Option<(String, String)> {
        let value = self.values.get(&id.to_string())?;
        Some((
            format!("shortcutDimension{}Code", self.dimension),
            value.clone(),
        ))
    }
}

/// The default of [`OrderSettings::completed_only`].
fn yes() -> bool {
    true
}

fn default_prefix() -> String {
    "LS-".into()
}

fn default_tolerance() -> Decimal {
    Decimal::new(2, 2)
}

fn default_alarm_hours() -> u32 {
    24
}

/// Settings of the orders flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OrderSettings {
    /// The document a sale becomes (per shop: `shops_settings`).
    pub document_type: DocumentType,
    /// The BC customer number of walk-in sales (sales without a customer). Without one, a
    /// walk-in sale fails, naming this setting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_customer_number: Option<String>,
    /// Only these shops' sales (`shopID`s; empty: every shop).
    pub shops: Vec<u64>,
    /// Only these registers' sales (`registerID`s; empty: every register).
    pub registers: Vec<u64>,
    /// Only completed sales (the default); open sales are left until they complete.
    #[serde(default = "yes")]
    pub completed_only: bool,
    /// The cut-over: sales completed before it are never sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<Timestamp>,
    /// What a shop does differently, by `shopID`.
    pub shops_settings: BTreeMap<String, ShopSettings>,
    /// The BC location code of each shop's lines, by `shopID` (the stock flow reads the same
    /// table); a shop not listed sends no location.
    pub locations: BTreeMap<String, String>,
    /// What every document's `externalDocumentNumber` starts with, before the sale id
    /// (`LS-` gives `LS-1042`): a second Lightspeed account writing to the same company
    /// takes another prefix. At most 12 characters.
    #[serde(default = "default_prefix")]
    pub document_prefix: String,
    /// The G/L account of rounding lines (a difference up to `rounding_tolerance` between
    /// BC's total and Lightspeed's). Without one, any difference holds the sale.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rounding_account: Option<String>,
    /// The largest difference a rounding line may make up.
    #[serde(default = "default_tolerance")]
    pub rounding_tolerance: Decimal,
    /// The G/L account of lines without an item (item fees, shipping); without one such a
    /// line fails the sale, naming this setting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fee_account: Option<String>,
    /// A sale waiting longer than this many hours raises the alarm.
    #[serde(default = "default_alarm_hours")]
    pub waiting_alarm_hours: u32,
    /// Sales completed before this hour (0–23, shop time) count as the previous business
    /// day (a bar open past midnight); none: the calendar day.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business_day_end_hour: Option<u8>,
    /// BC `paymentTermsId` (GUID) by Lightspeed `paymentTypeID`, set when a sale has one
    /// tender.
    pub payment_terms: BTreeMap<String, String>,
    /// BC salesperson code by Lightspeed `employeeID`.
    pub salespeople: BTreeMap<String, String>,
    /// BC tax code (VAT product posting group, or tax group) by Lightspeed `taxClassID`;
    /// a class not listed leaves the item's own.
    pub tax_codes: BTreeMap<String, String>,
    /// The shop as a dimension of invoices and orders (a global dimension's value by
    /// `shopID`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shop_dimension: Option<DimensionTable>,
    /// The currency of the Lightspeed account's sales (e.g. `EUR`): a document Business
    /// Central makes in another currency (the customer's) is deleted and the sale fails,
    /// naming both. Empty: not checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency_code: Option<String>,
    /// The register as a dimension of invoices and orders (by `registerID`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub register_dimension: Option<DimensionTable>,
}

impl Default for OrderSettings {
    fn default() -> Self {
        Self {
            document_type: DocumentType::Invoice,
            default_customer_number: None,
            shops: Vec::new(),
            registers: Vec::new(),
            completed_only: true,
            since: None,
            shops_settings: BTreeMap::new(),
            locations: BTreeMap::new(),
            document_prefix: default_prefix(),
            rounding_account: None,
            rounding_tolerance: default_tolerance(),
            fee_account: None,
            waiting_alarm_hours: default_alarm_hours(),
            business_day_end_hour: None,
            payment_terms: BTreeMap::new(),
            salespeople: BTreeMap::new(),
            tax_codes: BTreeMap::new(),
            shop_dimension: None,
            currency_code: None,
            register_dimension: None,
        }
    }
}

impl OrderSettings {
    /// The document type of `shop`'s sales.
    pub fn document_type_of(&self, shop: u64) -> DocumentType {
        self.shops_settings
            .get(&shop.to_string())
            .and_then(|s| s.document_type)
            .unwrap_or(self.document_type)
    }

    /// The walk-in customer of `shop`'s sales.
    pub fn default_customer_of(&self, shop: u64) -> Option<&str> {
        self.shops_settings
            .get(&shop.to_string())
            .and_then(|s| s.default_customer_number.as_deref())
            .or(self.default_customer_number.as_deref())
            .filter(|n| !n.trim().is_empty())
    }
}

impl FlowSettings for OrderSettings {
    const FLOW: Flow = Flow::Orders;

    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.document_prefix.chars().count() > 12 {
            problems.push(format!(
                "settings of orders: document_prefix `{}` is longer than 12 characters (externalDocumentNumber holds 35, the sale id up to 20)",
                self.document_prefix
            ));
        }
        if self.rounding_tolerance.is_sign_negative() {
            problems.push("settings of orders: rounding_tolerance must not be negative".into());
        }
        for (name, table) in [
            ("shop_dimension", &self.shop_dimension),
            ("register_dimension", &self.register_dimension),
        ] {
            if let Some(t) = table
                && !matches!(t.dimension, 1 | 2)
            {
                problems.push(format!(
                    "settings of orders: {name}.dimension must be 1 or 2 (the global dimensions the API exposes)"
                ));
            }
            if let (Some(a), Some(b)) = (&self.shop_dimension, &self.register_dimension)
                && a.dimension == b.dimension
                && name == "register_dimension"
            {
                problems.push(
                    "settings of orders: shop_dimension and register_dimension name the same dimension"
                        .into(),
                );
            }
        }
        if self.business_day_end_hour.is_some_and(|h| h > 23) {
            problems.push("settings of orders: business_day_end_hour must be 0–23".into());
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn defaults_are_filled_and_typos_refused() {
        let filled = OrderSettings::check(&json!({"default_customer_number": "C-POS"})).unwrap();
        assert_eq!(filled["document_type"], "invoice");
        assert_eq!(filled["completed_only"], true);
        assert_eq!(filled["document_prefix"], "LS-");
        assert_eq!(filled["rounding_tolerance"], "0.02");
        assert_eq!(filled["waiting_alarm_hours"], 24);
        let err = OrderSettings::check(&json!({"documnet_type": "order"})).unwrap_err();
        assert!(err.to_string().contains("documnet_type"), "{err}");
        let err = OrderSettings::check(&json!({"document_prefix": "X".repeat(13)})).unwrap_err();
        assert!(err.to_string().contains("document_prefix"), "{err}");
    }

    #[test]
    fn a_shop_may_override_the_document_type_and_walk_in_customer() {
        let s: OrderSettings = serde_json::from_value(json!({
            "default_customer_number": "C-POS",
            "shops_settings": {"2": {"document_type": "posted_invoice", "default_customer_number": "C-AMS"}}
        }))
        .unwrap();
        assert_eq!(s.document_type_of(1), DocumentType::Invoice);
        assert_eq!(s.document_type_of(2), DocumentType::PostedInvoice);
        assert_eq!(s.default_customer_of(1), Some("C-POS"));
        assert_eq!(s.default_customer_of(2), Some("C-AMS"));
    }
}
