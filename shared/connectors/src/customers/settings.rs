//! Settings of the customers flow: what Lightspeed doesn't know but Business Central needs
//! for a new customer (payment terms, currency, VAT, …) and the rules a retailer chooses
//! (match key, customers without e-mail, archived customers). Typed, with defaults for
//! everything; unknown keys are refused so a typo doesn't silently do nothing. Expressions
//! see them, with defaults filled in, as `$settings`.

use std::collections::BTreeMap;

use lsbc_core::Flow;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::kit::FlowSettings;

/// How a Lightspeed customer finds its Business Central customer when there is no link yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomerMatch {
    /// The primary e-mail address (case-insensitive).
    #[default]
    Email,
    /// Only the link (and the Business Central id the sync derives from the Lightspeed id).
    LightspeedId,
    /// The Business Central customer number given by the mapping's `customer.number`.
    CustomerNumber,
}

/// What happens to a Lightspeed customer without a (valid) e-mail address when matching by
/// e-mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WithoutEmail {
    /// Created without matching (found again by its link and Lightspeed id).
    #[default]
    Create,
    /// Not synced (a warning in the activity log).
    Skip,
}

/// What happens to an archived Lightspeed customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArchivedCustomers {
    /// Not synced (a warning in the activity log); an existing BC customer is left as is.
    #[default]
    Skip,
    /// Synced, and the Business Central customer is blocked (`blocked: All`).
    Block,
}

/// Settings of the customers flow.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CustomerSettings {
    /// How customers are matched.
    pub match_key: CustomerMatch,
    /// Customers without e-mail.
    pub without_email: WithoutEmail,
    /// Archived customers.
    pub archived: ArchivedCustomers,
    /// `paymentTermsId` (GUID of a BC payment term) for new customers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_terms_id: Option<String>,
    /// `paymentMethodId` (GUID) for new customers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_method_id: Option<String>,
    /// `shipmentMethodId` (GUID) for new customers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipment_method_id: Option<String>,
    /// `currencyCode` for new customers (empty: the company's local currency).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency_code: Option<String>,
    /// `taxAreaId` (GUID): in VAT countries the VAT business posting group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tax_area_id: Option<String>,
    /// `taxLiable` for new customers (sales-tax countries).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tax_liable: Option<bool>,
    /// Country code used when an address has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_country: Option<String>,
    /// Customer classification: Lightspeed `customerTypeID` → Business Central customer
    /// fields set on create (e.g. `{"3": {"salespersonCode": "WS"}}`); combine with BC's
    /// API template selection rules on those fields to choose posting groups.
    pub classification: BTreeMap<String, Map<String, Value>>,
}

impl FlowSettings for CustomerSettings {
    const FLOW: Flow = Flow::Customers;
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn defaults_are_filled_and_typos_refused() {
        let filled = CustomerSettings::check(&json!({"currency_code": "EUR"})).unwrap();
        assert_eq!(filled["match_key"], "email");
        assert_eq!(filled["without_email"], "create");
        assert_eq!(filled["archived"], "skip");
        assert_eq!(filled["currency_code"], "EUR");
        let err = CustomerSettings::check(&json!({"curency_code": "EUR"})).unwrap_err();
        assert!(err.to_string().contains("curency_code"), "{err}");
        let err = CustomerSettings::check(&json!({"match_key": "phone"})).unwrap_err();
        assert!(err.to_string().contains("phone"), "{err}");
        assert_eq!(
            CustomerSettings::from_stored(None).unwrap(),
            CustomerSettings::default()
        );
    }
}
