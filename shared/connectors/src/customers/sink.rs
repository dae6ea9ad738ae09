//! The Business Central side of the customers flow: find the customer (by link, by match
//! key), then create or update it, and for a company the person contact under it.
//!
//! Idempotent by construction: a customer the sync creates gets a SystemId derived from the
//! Lightspeed customer id, so where BC keeps a client-chosen `id` on POST a create retried
//! after a crash finds the first one — BC refuses the second with
//! `Internal_EntityWithSameKeyExists` — and never makes a duplicate, with or without an
//! e-mail to match on. Where BC refuses or ignores that id (see `client_ids`), or before
//! the sync knows, the first record is found again by a key BC keeps: the match key (the
//! e-mail address, or the customer number), and for a customer without one its **number**
//! `LS-<Lightspeed id>`, which the sync then gives it on create (the customer series must
//! allow manual numbers; BC's refusal names the series otherwise). A person contact is
//! found by e-mail within its company, and one without an e-mail by its number
//! `LSC-<Lightspeed id>`. Numbers are exact keys: never a guess that could link another
//! customer.

use std::sync::Arc;

use async_trait::async_trait;
use lsbc_business_central::enums::PartyType;
use lsbc_business_central::models::ContactInformation;
use lsbc_business_central::{BusinessCentral, EntitySet, Filter, Record};
use lsbc_core::ports::{Action, LinkStore, PushRequest, Sink, SinkOutcome};
use lsbc_core::{Flow, RecordKey, StageError};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::command::CustomerCommand;
use super::keys::{contact_marker, contact_system_id, customer_marker, customer_system_id};
use crate::business_central::{ClientIds, Trail, Writer, Written, external};
use crate::ids::{IdScope, IdScopes};

/// The customers flow's sink.
#[derive(Clone)]
pub struct CustomerSink {
    writer: Writer,
    links: Arc<dyn LinkStore>,
    scopes: Arc<IdScopes>,
}

impl std::fmt::Debug for CustomerSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomerSink").finish_non_exhaustive()
    }
}

impl CustomerSink {
    /// A sink writing through `bc`, reading links to recognise shared e-mail addresses.
    pub fn new(bc: BusinessCentral, links: Arc<dyn LinkStore>) -> Self {
        Self {
            writer: Writer::new(bc),
            links,
            scopes: Arc::new(IdScopes::unscoped()),
        }
    }

    /// Derives the ids it gives BC records with the account the deployment recorded
    /// in `scopes` (without it, from the Lightspeed id alone).
    #[must_use]
    pub fn with_scopes(mut self, scopes: Arc<IdScopes>) -> Self {
        self.scopes = scopes;
        self
    }

    async fn scope(&self) -> Result<IdScope, StageError> {
        Ok(self.scopes.of().await?)
    }

    /// Reads and keeps how BC answers a client-chosen `id` in `ids` (shared by every sink
    /// of the process and kept in the state store); without it, found in memory.
    #[must_use]
    pub fn with_client_ids(mut self, ids: Arc<ClientIds>) -> Self {
        self.writer = self.writer.with_client_ids(ids);
        self
    }

    /// The number to give a new record without a natural key, where BC does not (yet
    /// provably) keep the SystemId the sync chooses.
    async fn marker_for(
        &self,
        key: &RecordKey,
        entity: EntitySet,
        marker: Option<String>,
    ) -> Result<Option<String>, StageError> {
        match marker {
            Some(m) if !self.writer.honours_ids(key, entity).await? => Ok(Some(m)),
            _ => Ok(None),
        }
    }

    /// Updates `found`, or creates the record with SystemId `id` (and number `marker` when
    /// given) — and when an earlier attempt created it already, brings that one up to date.
    #[allow(clippy::too_many_arguments)]
    async fn upsert_one(
        &self,
        key: &RecordKey,
        cmd: &CustomerCommand,
        object: &str,
        entity: EntitySet,
        found: Option<Record>,
        id: Uuid,
        marker: Option<String>,
        desired: &Map<String, Value>,
        trail: &mut Trail,
    ) -> Result<Written, StageError> {
        let update = Self::fields_for(cmd, object, desired, false);
        let Some(current) = found else {
            let mut fields = Self::fields_for(cmd, object, desired, true);
            if !fields.contains_key("number")
                && let Some(number) = self.marker_for(key, entity, marker).await?
            {
                fields.insert("number".into(), Value::String(number));
            }
            let created = self
                .writer
                .create(key, entity.into(), entity.into(), id, fields, trail)
                .await?;
            return self
                .writer
                .catch_up(key, entity.into(), created, &update, trail)
                .await;
        };
        self.writer
            .update(key, entity.into(), current, &update, trail)
            .await
    }

    /// The BC customer this command is about, if it exists, and whether it is ours (found
    /// by link or by the id the sync gave it) rather than matched by e-mail or number.
    async fn find_customer(
        &self,
        key: &RecordKey,
        cmd: &CustomerCommand,
        link_target: Option<&str>,
    ) -> Result<Option<(Record, bool)>, StageError> {
        if let Some(id) = link_target.and_then(|t| t.parse::<Uuid>().ok())
            && let Some(r) = self.writer.get(key, EntitySet::Customers, id).await?
        {
            return Ok(Some((r, true)));
        }
        if let Some(email) = &cmd.match_email {
            if let Some(r) = self
                .writer
                .find(
                    key,
                    EntitySet::Customers,
                    Filter::eq("email", email.as_str()),
                )
                .await?
            {
                return Ok(Some((r, false)));
            }
            // BC keeps the address as typed: try it as Lightspeed has it, too.
            if let Some(typed) = cmd.customer.get("email").and_then(Value::as_str)
                && typed != email
                && let Some(r) = self
                    .writer
                    .find(key, EntitySet::Customers, Filter::eq("email", typed))
                    .await?
            {
                return Ok(Some((r, false)));
            }
        }
        if let Some(number) = &cmd.match_number
            && let Some(r) = self
                .writer
                .find(
                    key,
                    EntitySet::Customers,
                    Filter::eq("number", number.as_str()),
                )
                .await?
        {
            return Ok(Some((r, false)));
        }
        // Where BC keeps the id the sync chose, the SystemId below finds every customer
        // the sync made (the number too, given before that was known): no extra request.
        if let Some(marker) = Self::customer_marker_of(&self.scope().await?, cmd)
            && !self.writer.honours_ids(key, EntitySet::Customers).await?
            && let Some(r) = self
                .writer
                .find(
                    key,
                    EntitySet::Customers,
                    Filter::eq("number", marker.as_str()),
                )
                .await?
        {
            return Ok(Some((r, true)));
        }
        // Not found by a key BC keeps: no look-up by the SystemId the sync gives its
        // customers. Where BC keeps that id, a create of a customer an earlier attempt made
        // is refused as a duplicate and the writer reads the first one back (and brings it up
        // to date); where BC does not keep it, no look-up by it could find anything. One
        // request less per new customer.
        Ok(None)
    }

    /// The number marking a customer without a match key and without a mapped number.
    fn customer_marker_of(scope: &IdScope, cmd: &CustomerCommand) -> Option<String> {
        (cmd.match_email.is_none()
            && cmd.match_number.is_none()
            && !cmd.customer.contains_key("number"))
        .then(|| customer_marker(scope, &cmd.lightspeed_id))
    }

    fn fields_for(
        cmd: &CustomerCommand,
        object: &str,
        fields: &Map<String, Value>,
        creating: bool,
    ) -> Map<String, Value> {
        fields
            .iter()
            .filter(|(name, _)| cmd.sends(object, name, creating))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// The person contact of a company customer.
    async fn push_contact(
        &self,
        key: &RecordKey,
        cmd: &CustomerCommand,
        contact: &Map<String, Value>,
        customer_id: Uuid,
        known: Option<&str>,
        trail: &mut Trail,
    ) -> Result<Action, StageError> {
        let scope = self.scope().await?;
        let linked: Vec<ContactInformation> = self
            .writer
            .client()
            .contacts_information(customer_id)
            .await
            .map_err(|e| external(Some(key), e))?;
        let Some(company) = linked
            .iter()
            .find(|c| c.contact_type == Some(PartyType::Company))
        else {
            trail.extra.insert(
                "contact".into(),
                Value::String(
                    "not created: the customer has no company contact in Business Central (Marketing Setup needs a business relation code for customers)".into(),
                ),
            );
            return Ok(Action::Unchanged);
        };
        let mut desired = contact.clone();
        desired.insert(
            "companyNumber".into(),
            Value::String(company.contact_number.clone()),
        );
        let mut found = match known.and_then(|t| t.parse::<Uuid>().ok()) {
            Some(id) => self.writer.get(key, EntitySet::Contacts, id).await?,
            None => None,
        };
        if found.is_none()
            && let Some(email) = desired.get("email").and_then(Value::as_str)
        {
            found = self
                .writer
                .find(
                    key,
                    EntitySet::Contacts,
                    // The company's own contact carries the same e-mail and company number.
                    Filter::eq("email", email)
                        .and(Filter::eq("companyNumber", company.contact_number.as_str()))
                        .and(Filter::eq("type", "Person")),
                )
                .await?;
        }
        let has_email = desired
            .get("email")
            .and_then(Value::as_str)
            .is_some_and(|e| !e.is_empty());
        let marker = (!has_email && !desired.contains_key("number"))
            .then(|| contact_marker(&scope, &cmd.lightspeed_id));
        if found.is_none()
            && let Some(number) = &marker
            && !self.writer.honours_ids(key, EntitySet::Contacts).await?
        {
            found = self
                .writer
                .find(
                    key,
                    EntitySet::Contacts,
                    Filter::eq("number", number.as_str()),
                )
                .await?;
        }
        if found.is_none() {
            found = self
                .writer
                .get(
                    key,
                    EntitySet::Contacts,
                    contact_system_id(&scope, &cmd.lightspeed_id),
                )
                .await?;
        }
        let written = self
            .upsert_one(
                key,
                cmd,
                "contact",
                EntitySet::Contacts,
                found,
                contact_system_id(&scope, &cmd.lightspeed_id),
                marker,
                &desired,
                trail,
            )
            .await?;
        if let Some(id) = written.record.id() {
            trail
                .extra
                .insert("contact_id".into(), Value::String(id.to_string()));
        }
        Ok(written.action)
    }
}

#[async_trait]
impl Sink for CustomerSink {
    fn flow(&self) -> Flow {
        Flow::Customers
    }

    async fn upsert(&self, request: PushRequest<'_>) -> Result<SinkOutcome, StageError> {
        let key = request.key;
        let cmd: CustomerCommand =
            serde_json::from_value(request.command.clone()).map_err(|e| {
                StageError::InvalidRecord {
                    key: key.clone(),
                    field: "(command)".into(),
                    reason: format!("not a customer command: {e}"),
                }
            })?;
        let mut trail = Trail::default();
        let scope = self.scope().await?;
        let found = self
            .find_customer(key, &cmd, request.link.map(|l| l.target_id.as_str()))
            .await?;
        if let Some((record, false)) = &found
            && let Some(id) = record.id()
        {
            let others: Vec<RecordKey> = self
                .links
                .find_by_target(Flow::Customers, &id.to_string())
                .await?
                .into_iter()
                .map(|l| l.key)
                .filter(|k| k != key)
                .collect();
            if let Some(other) = others.first() {
                return Err(StageError::Skipped {
                    key: key.clone(),
                    rule: format!(
                        "its e-mail is shared with Lightspeed customer {other}, which keeps Business Central customer {} in step",
                        record.str("number").unwrap_or("?")
                    ),
                });
            }
        }
        let customer = self
            .upsert_one(
                key,
                &cmd,
                "customer",
                EntitySet::Customers,
                found.map(|(record, _)| record),
                customer_system_id(&scope, &cmd.lightspeed_id),
                Self::customer_marker_of(&scope, &cmd),
                &cmd.customer,
                &mut trail,
            )
            .await?;
        let customer_id = customer
            .record
            .id()
            .ok_or_else(|| StageError::InvalidRecord {
                key: key.clone(),
                field: "customers.id".into(),
                reason: "Business Central returned a customer without id".into(),
            })?;
        if let Some(number) = customer.record.str("number") {
            trail
                .extra
                .insert("number".into(), Value::String(number.to_owned()));
        }
        let mut action = customer.action;
        if let Some(contact) = &cmd.contact {
            let known = request
                .link
                .and_then(|l| l.extra.get("contact_id"))
                .and_then(Value::as_str);
            let contact_action = self
                .push_contact(key, &cmd, contact, customer_id, known, &mut trail)
                .await?;
            if action == Action::Unchanged && contact_action != Action::Unchanged {
                action = Action::Updated;
            }
        }
        Ok(SinkOutcome {
            action,
            target_id: customer_id.to_string(),
            etag: customer.record.etag().map(|e| e.as_str().to_owned()),
            extra: trail.extra,
            sent: trail.sent,
        })
    }
}
