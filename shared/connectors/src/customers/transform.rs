//! Lightspeed customer → the Business Central customer command.
//!
//! Outcomes, by rule (each one tested, and listed in the README):
//! - **archived** in Lightspeed: skipped with a warning (setting `archived = skip`, the
//!   default), or synced with the BC customer blocked (`archived = block`);
//! - **no e-mail** or an **invalid e-mail** (matching by e-mail): created without matching,
//!   found again by its link and its Lightspeed id (`without_email = create`, the default),
//!   or skipped with a warning (`without_email = skip`); an invalid address is never sent;
//! - **company name**: a `Company` customer plus the person as a contact of it; none: a
//!   `Person` customer;
//! - **too long** for BC (e.g. `displayName` over 100 characters): truncated, with a
//!   warning naming the field;
//! - **no name at all**: named `Lightspeed customer <id>`, with a warning;
//! - **country** that maps to no country code: the record fails with the field and value
//!   (an operator adds it to the mapping's `country` table);
//! - two Lightspeed customers with **one e-mail**: decided by the sink (the first one linked
//!   keeps the BC customer; the other is skipped with a warning naming both).

use std::sync::Arc;

use async_trait::async_trait;
use lsbc_business_central::EntitySet;
use lsbc_core::ports::{Transformed, Transformer};
use lsbc_core::{Flow, MatchKey, Record, StageError};
use lsbc_lightspeed::model::Customer;
use lsbc_lightspeed::{Kind, normalize_as};
use lsbc_mapping::Policy;
use serde_json::Value;

use super::command::{CustomerCommand, is_valid_email};
use super::settings::{ArchivedCustomers, CustomerMatch, CustomerSettings, WithoutEmail};
use crate::business_central::truncate_to_bc;
use crate::config::{ConfigCache, FlowConfig};
use crate::kit::FlowSettings;

/// The customers flow's transformer.
#[derive(Debug)]
pub struct CustomerTransformer {
    config: Arc<ConfigCache>,
}

impl CustomerTransformer {
    /// A transformer reading its mapping and settings through `config`.
    pub fn new(config: Arc<ConfigCache>) -> Self {
        Self { config }
    }
}

#[async_trait]
impl Transformer for CustomerTransformer {
    fn flow(&self) -> Flow {
        Flow::Customers
    }

    async fn transform(&self, record: &Record) -> Result<Vec<Transformed>, StageError> {
        let config = self.config.get(Flow::Customers).await?;
        map(record, &config)
    }
}

/// The command for `record` under `config`: pure (no IO, no clock).
pub fn map(record: &Record, config: &FlowConfig) -> Result<Vec<Transformed>, StageError> {
    let settings = CustomerSettings::from_stored(Some(&config.settings))
        .map_err(|e| StageError::Config(e.to_string()))?;

    let invalid = |field: String, reason: String| StageError::InvalidRecord {
        key: record.key.clone(),
        field,
        reason,
    };
    let customer = Customer::from_json(&record.payload)
        .map_err(|e| invalid(e.path.clone(), e.message.clone()))?;
    if customer.archived && settings.archived == ArchivedCustomers::Skip {
        return Err(StageError::Skipped {
            key: record.key.clone(),
            rule: "archived in Lightspeed (setting archived = skip)".into(),
        });
    }
    let input = normalize_as(Kind::Customer, &record.payload);
    let eval = config
        .mapping
        .evaluate(&input, &config.settings)
        .map_err(|e| invalid(e.field, e.message))?;
    let mut warnings = Vec::new();
    let mut create_only = eval.fields_with(&["customer", "contact"], Policy::CreateOnly);
    let update_only = eval.fields_with(&["customer", "contact"], Policy::UpdateOnly);
    let mut fields = eval.object("customer");

    // Classification: the customer type's fields, on create, where the mapping set none.
    let type_id = customer
        .customer_type_id
        .map(|t| t.get().to_string())
        .unwrap_or_default();
    if let Some(extra) = settings.classification.get(&type_id) {
        for (name, value) in extra {
            if !fields.contains_key(name) {
                fields.insert(name.clone(), value.clone());
                create_only.push(format!("customer.{name}"));
            }
        }
    }
    if customer.archived {
        fields.insert("blocked".into(), Value::String("All".into()));
    }

    // The e-mail: sent only when plausible.
    let email = fields
        .get("email")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(str::to_owned);
    let valid_email = match email {
        Some(e) if is_valid_email(&e) => Some(e),
        Some(e) => {
            warnings.push(format!(
                "e-mail `{e}` is not a valid address; not sent to Business Central"
            ));
            fields.remove("email");
            None
        }
        None => None,
    };

    if fields
        .get("displayName")
        .and_then(Value::as_str)
        .is_none_or(|n| n.trim().is_empty())
    {
        let name = format!("Lightspeed customer {}", record.key);
        warnings.push(format!("no name in Lightspeed; named `{name}`"));
        fields.insert("displayName".into(), Value::String(name));
    }
    truncate_to_bc(EntitySet::Customers, "customer", &mut fields, &mut warnings);

    let company = fields.get("type").and_then(Value::as_str) == Some("Company");
    let contact = if company {
        let mut contact = eval.object("contact");
        if !contact
            .get("email")
            .and_then(Value::as_str)
            .is_some_and(is_valid_email)
        {
            contact.remove("email");
        }
        let named = contact
            .get("displayName")
            .and_then(Value::as_str)
            .is_some_and(|n| !n.trim().is_empty());
        if named {
            contact.insert("type".into(), Value::String("Person".into()));
            truncate_to_bc(EntitySet::Contacts, "contact", &mut contact, &mut warnings);
            Some(contact)
        } else {
            warnings.push("company without a person's name: no contact created".into());
            None
        }
    } else {
        None
    };

    let lightspeed_id = record.key.to_string();
    let (match_key, match_email, match_number) = match settings.match_key {
        CustomerMatch::Email => match &valid_email {
            Some(e) => (e.to_lowercase(), Some(e.to_lowercase()), None),
            None if settings.without_email == WithoutEmail::Skip => {
                return Err(StageError::Skipped {
                    key: record.key.clone(),
                    rule: "no valid e-mail address to match on (setting without_email = skip)"
                        .into(),
                });
            }
            None => (format!("ls:{lightspeed_id}"), None, None),
        },
        CustomerMatch::LightspeedId => (format!("ls:{lightspeed_id}"), None, None),
        CustomerMatch::CustomerNumber => {
            let number = fields
                .get("number")
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| {
                    invalid(
                        "customer.number".into(),
                        "matching by customer number needs a mapping for customer.number".into(),
                    )
                })?;
            (format!("number:{number}"), None, Some(number))
        }
    };
    let command = CustomerCommand {
        lightspeed_id,
        customer: fields,
        contact,
        match_email,
        match_number,
        create_only,
        update_only,
    };
    let command = serde_json::to_value(&command)
        .map_err(|e| StageError::Config(format!("customer command not encodable: {e}")))?;
    Ok(vec![Transformed {
        key: record.key.clone(),
        match_key: MatchKey::parse(match_key)
            .map_err(|e| invalid("match key".into(), e.to_string()))?,
        command,
        warnings,
    }])
}
