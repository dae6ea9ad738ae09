//! Settings per flow: what Lightspeed doesn't know but Business Central needs (payment
//! terms, currency, VAT …), and the rules a retailer chooses (match key, what happens to
//! records without e-mail or archived). Typed, with defaults for everything; unknown keys
//! are refused so a typo doesn't silently do nothing. Expressions see the settings, with
//! defaults filled in, as `$settings`.

use std::collections::BTreeMap;

use lsbc_core::Flow;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::MappingError;

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

/// Checks a settings document of `flow` and returns it with every default filled in.
pub fn check(flow: Flow, body: &Value) -> Result<Value, MappingError> {
    let problem = |e: serde_json::Error| MappingError {
        problems: vec![format!("settings of {flow}: {e}")],
    };
    let body = if body.is_null() {
        Value::Object(Map::new())
    } else {
        body.clone()
    };
    match flow {
        Flow::Customers => {
            let typed: CustomerSettings = serde_json::from_value(body).map_err(problem)?;
            serde_json::to_value(typed).map_err(problem)
        }
        Flow::Orders | Flow::Products | Flow::Stock => Ok(body),
    }
}

/// The customers flow's settings from a stored document (defaults when none).
pub fn customers(body: Option<&Value>) -> Result<CustomerSettings, MappingError> {
    match body {
        None => Ok(CustomerSettings::default()),
        Some(v) => serde_json::from_value(v.clone()).map_err(|e| MappingError {
            problems: vec![format!("settings of customers: {e}")],
        }),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn defaults_are_filled_and_typos_refused() {
        let filled = check(Flow::Customers, &json!({"currency_code": "EUR"})).unwrap();
        assert_eq!(filled["match_key"], "email");
        assert_eq!(filled["without_email"], "create");
        assert_eq!(filled["archived"], "skip");
        assert_eq!(filled["currency_code"], "EUR");
        let err = check(Flow::Customers, &json!({"curency_code": "EUR"})).unwrap_err();
        assert!(err.to_string().contains("curency_code"), "{err}");
        let err = check(Flow::Customers, &json!({"match_key": "phone"})).unwrap_err();
        assert!(err.to_string().contains("phone"), "{err}");
        assert_eq!(customers(None).unwrap(), CustomerSettings::default());
    }
}
