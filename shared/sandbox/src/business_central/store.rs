//! The simulated companies' data and the rules BC applies to writes: GUID ids, numbers from
//! number series (manual numbers refused on documents), etags that change on every write,
//! `If-Match` checks, field kinds and lengths, required fields, references (payment terms,
//! customers, items, variants, locations, categories), duplicate keys, document lines with
//! amounts and totals, posting with item ledger entries, pictures, contacts linked to
//! customers. Inventory is computed from the ledger, so stock moves never touch an item's
//! etag or `lastModifiedDateTime` (SPEC "What breaks" 3). No HTTP, no clock: callers pass the
//! API time in. Every committed change is queued in `changes` for the webhook service.

mod documents;
mod fields;
pub(crate) mod ledger;
pub(crate) mod payments;
mod pictures;
pub(crate) mod posting;
pub(crate) mod sales_tax;
mod series;
#[cfg(test)]
mod tests;
pub(crate) mod vat;
mod writes;

use std::collections::BTreeMap;

use base64::Engine as _;
use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::behaviour::BcBehaviour;
use super::client_ids::{ClientIdAnswer, ClientIds};
use super::errors::{BcFault, DUPLICATE_KEY, Outcome};
use super::schema::Entity;
use fields::apply_fields;
use writes::on_write;

/// One stored entity.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) fields: Map<String, Value>,
    pub(crate) version: u64,
    pub(crate) seq: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct PictureData {
    pub(crate) content: Vec<u8>,
    pub(crate) content_type: String,
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) version: u64,
}

/// A committed change, for webhooks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Change {
    pub(crate) company: Uuid,
    pub(crate) entity: Entity,
    pub(crate) id: Uuid,
    pub(crate) kind: ChangeKind,
    pub(crate) at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChangeKind {
    Created,
    Updated,
    Deleted,
}

impl ChangeKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Updated => "updated",
            Self::Deleted => "deleted",
        }
    }
}

/// Who is writing: the API enforces read-only fields and number series; seeds (the back
/// office) may set numbers on documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    Api,
    Seed,
}

/// A stock movement to post.
#[derive(Debug, Clone)]
pub(crate) struct LedgerPost {
    pub(crate) item_number: String,
    pub(crate) entry_type: &'static str,
    pub(crate) quantity: f64,
    pub(crate) document_type: &'static str,
    pub(crate) document_number: String,
    pub(crate) source_type: &'static str,
    pub(crate) source_number: String,
    pub(crate) sales_amount: f64,
    pub(crate) location: Option<String>,
    pub(crate) posting_date: Date,
}

/// The chart of accounts' rows of a new company (read-only through the API).
pub(crate) fn account_rows(
    accounts: &BTreeMap<String, super::behaviour::GlAccount>,
    at: Timestamp,
) -> Vec<(Uuid, Map<String, Value>)> {
    accounts
        .iter()
        .map(|(number, account)| {
            let id = Uuid::new_v5(
                &Uuid::NAMESPACE_OID,
                format!("gl-account:{number}").as_bytes(),
            );
            let fields = serde_json::json!({
                "id": id.to_string(), "number": number, "displayName": account.name,
                "category": "", "subCategory": "", "blocked": false, "accountType": "Posting",
                "directPosting": true, "netChange": 0, "lastModifiedDateTime": at.to_string(),
            });
            (id, fields.as_object().cloned().unwrap_or_default())
        })
        .collect()
}

/// One company's tables.
#[derive(Debug, Clone)]
pub(crate) struct CompanyData {
    pub(crate) id: Uuid,
    pub(crate) name: String,
    pub(crate) display_name: String,
    pub(crate) created: Timestamp,
    tables: BTreeMap<Entity, BTreeMap<Uuid, Row>>,
    series: BTreeMap<&'static str, u64>,
    pictures: BTreeMap<Uuid, PictureData>,
    /// Codes of units of measure and posting groups → their SystemIds.
    code_ids: BTreeMap<String, Uuid>,
    /// (contact, customer) business relations.
    relations: Vec<(Uuid, Uuid)>,
    /// Location code per ledger entry (not on the v2.0 wire; api-notes §2 "itemLedgerEntries").
    ledger_locations: BTreeMap<Uuid, Option<String>>,
    posted: BTreeMap<Uuid, bool>,
    /// Reservation entries (page 497's rows), in entry order.
    pub(crate) reservations: Vec<Map<String, Value>>,
    /// Item units of measure other than the base one (page 5404's rows), by (item, code):
    /// Qty. per Unit of Measure.
    pub(crate) item_units: BTreeMap<(String, String), f64>,
}

/// Settings of the simulated tenant.
#[derive(Debug, Clone)]
pub(crate) struct StoreSettings {
    pub(crate) lcy: String,
    /// Tax group code → percent.
    pub(crate) tax_rates: BTreeMap<String, f64>,
    /// Creating a customer creates its contact (Marketing Setup with a customer business
    /// relation, api-notes §2 "contacts").
    pub(crate) customer_contacts: bool,
    /// How POST answers a client-chosen `id`, per entity set.
    pub(crate) client_ids: ClientIds,
    /// VAT Posting Setup, customers' VAT profiles and the VAT rounding type.
    pub(crate) vat: vat::VatSetup,
    /// Why posting fails, and whether it runs on the job queue.
    pub(crate) posting: posting::PostingSetup,
    /// How item ledger entry numbers are drawn and committed.
    pub(crate) ledger: ledger::LedgerSequence,
    /// The customer payment journal and general journal every company starts with.
    pub(crate) payments: payments::PaymentJournalSetup,
    /// Sales tax areas, jurisdictions and rates (empty: a VAT tenant).
    pub(crate) sales_tax: sales_tax::SalesTaxSetup,
    /// Known codes, manual numbers and other setup.
    pub(crate) behaviour: BcBehaviour,
}

/// Everything the simulator stores.
#[derive(Debug, Clone)]
pub(crate) struct Store {
    pub(crate) companies: Vec<CompanyData>,
    version: u64,
    seq: u64,
    pub(crate) changes: Vec<Change>,
    pub(crate) settings: StoreSettings,
    /// Postings scheduled with "Post with Job Queue", oldest first.
    pub(crate) job_queue: Vec<posting::QueuedPost>,
    /// Item ledger entries numbered but not yet committed (invisible), oldest first.
    pub(crate) held_entries: Vec<ledger::HeldEntry>,
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or(0.0)
}

fn text(fields: &Map<String, Value>, key: &str) -> String {
    fields
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned()
}

fn guid(fields: &Map<String, Value>, key: &str) -> Option<Uuid> {
    fields
        .get(key)
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<Uuid>().ok())
        .filter(|id| !id.is_nil())
}

fn number(x: f64) -> Value {
    serde_json::Number::from_f64(x).map_or(Value::from(0), Value::Number)
}

fn stamp(at: Timestamp) -> Value {
    Value::String(at.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
}

/// `W/"…"` in BC's shape: base64 of `'<len>;<rowversion>;00;'` (fixture.rebelpl.*.json).
pub(crate) fn etag_of(version: u64) -> String {
    let n = 17_000_000_000_000_000_000_u128 + u128::from(version) * 104_729;
    let digits = n.to_string();
    let raw = format!("'{};{digits};00;'", digits.len());
    format!(
        "W/\"{}\"",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

impl CompanyData {
    pub(crate) fn new(id: Uuid, name: &str, display_name: &str, created: Timestamp) -> Self {
        Self {
            id,
            name: name.to_owned(),
            display_name: display_name.to_owned(),
            created,
            tables: BTreeMap::new(),
            series: BTreeMap::new(),
            pictures: BTreeMap::new(),
            code_ids: BTreeMap::new(),
            relations: Vec::new(),
            ledger_locations: BTreeMap::new(),
            reservations: Vec::new(),
            item_units: BTreeMap::new(),
            posted: BTreeMap::new(),
        }
    }

    fn table(&self, entity: Entity) -> impl Iterator<Item = (&Uuid, &Row)> {
        self.tables.get(&entity).into_iter().flatten()
    }

    fn row(&self, entity: Entity, id: Uuid) -> Option<&Row> {
        self.tables.get(&entity).and_then(|t| t.get(&id))
    }

    fn row_mut(&mut self, entity: Entity, id: Uuid) -> Option<&mut Row> {
        self.tables.get_mut(&entity).and_then(|t| t.get_mut(&id))
    }

    fn find(&self, entity: Entity, field: &str, value: &str) -> Option<(Uuid, &Row)> {
        self.table(entity)
            .find(|(_, r)| r.fields.get(field).and_then(Value::as_str) == Some(value))
            .map(|(id, r)| (*id, r))
    }

    fn code_id(&mut self, code: &str) -> Uuid {
        *self
            .code_ids
            .entry(code.to_owned())
            .or_insert_with(Uuid::new_v4)
    }

    pub(crate) fn is_posted(&self, id: Uuid) -> bool {
        self.posted.get(&id).copied().unwrap_or(false)
    }
}

impl Store {
    pub(crate) fn new(settings: StoreSettings) -> Self {
        Self {
            companies: Vec::new(),
            version: 0,
            seq: 0,
            changes: Vec::new(),
            settings,
            job_queue: Vec::new(),
            held_entries: Vec::new(),
        }
    }

    /// Gives every company the tenant's chart of accounts (`BcBehaviour::gl_accounts`),
    /// readable at `accounts`.
    pub(crate) fn seed_accounts(&mut self, at: Timestamp) {
        let rows = account_rows(&self.settings.behaviour.gl_accounts, at);
        for n in 0..self.companies.len() {
            for (id, fields) in &rows {
                let (version, seq) = self.bump();
                self.companies[n]
                    .tables
                    .entry(Entity::Account)
                    .or_default()
                    .insert(
                        *id,
                        Row {
                            fields: fields.clone(),
                            version,
                            seq,
                        },
                    );
            }
        }
    }

    pub(crate) fn company(&self, id: Uuid) -> Option<&CompanyData> {
        self.companies.iter().find(|c| c.id == id)
    }

    fn company_mut(&mut self, id: Uuid) -> Outcome<&mut CompanyData> {
        self.companies
            .iter_mut()
            .find(|c| c.id == id)
            .ok_or_else(|| BcFault::segment_not_found(&format!("companies({id})")))
    }

    /// Resolves `?company=` / `Company:` (id or name).
    pub(crate) fn company_by_key(&self, key: &str) -> Option<Uuid> {
        let key = key.trim_matches('\'');
        self.companies
            .iter()
            .find(|c| {
                c.name == key
                    || c.display_name == key
                    || c.id.to_string() == key.to_ascii_lowercase()
            })
            .map(|c| c.id)
    }

    fn bump(&mut self) -> (u64, u64) {
        self.version += 1;
        self.seq += 1;
        (self.version, self.seq)
    }

    fn record_change(
        &mut self,
        company: Uuid,
        entity: Entity,
        id: Uuid,
        kind: ChangeKind,
        at: Timestamp,
    ) {
        self.changes.push(Change {
            company,
            entity,
            id,
            kind,
            at,
        });
    }

    // ---- reads ------------------------------------------------------------------------------

    /// Rows of a set in key order, optionally under a parent (document lines, item variants).
    pub(crate) fn rows(
        &self,
        company: Uuid,
        entity: Entity,
        parent: Option<Uuid>,
    ) -> Vec<(Uuid, Row)> {
        let Some(data) = self.company(company) else {
            return Vec::new();
        };
        let parent_field = entity.parent().map_or("documentId", |(_, field)| field);
        let mut rows: Vec<(Uuid, Row)> = data
            .table(entity)
            .filter(|(_, r)| parent.is_none_or(|p| guid(&r.fields, parent_field) == Some(p)))
            .map(|(id, r)| (*id, r.clone()))
            .collect();
        let key = entity.key_field();
        rows.sort_by(|a, b| {
            super::odata::order_values(a.1.fields.get(key), b.1.fields.get(key))
                .then(a.1.seq.cmp(&b.1.seq))
        });
        if entity == Entity::Item {
            let inventories = data.inventories();
            for (_, row) in &mut rows {
                let on_hand = inventories
                    .get(&text(&row.fields, "number"))
                    .copied()
                    .unwrap_or(0.0);
                row.fields
                    .insert("inventory".to_owned(), number(round2(on_hand)));
            }
        }
        if entity == Entity::Customer {
            for (_, row) in &mut rows {
                Self::fill_computed(data, entity, &mut row.fields);
            }
        }
        rows
    }

    pub(crate) fn get(&self, company: Uuid, entity: Entity, id: Uuid) -> Option<Row> {
        let data = self.company(company)?;
        if entity == Entity::Journal && data.row(entity, id).is_none() {
            // [AL] APIV2Journals.Page.al OnFindRecord: by SystemId, any template's batch.
            let mut row = data.row(Entity::CustomerPaymentJournal, id)?.clone();
            row.fields.insert(
                "templateDisplayName".to_owned(),
                Value::String(self.settings.payments.template.clone()),
            );
            return Some(row);
        }
        let mut row = data.row(entity, id)?.clone();
        Self::fill_computed(data, entity, &mut row.fields);
        Some(row)
    }

    fn fill_computed(data: &CompanyData, entity: Entity, fields: &mut Map<String, Value>) {
        if entity == Entity::Item {
            let inventory = data.inventory_of(&text(fields, "number"));
            fields.insert("inventory".to_owned(), number(inventory));
        }
        if entity == Entity::Customer {
            // APIV2Customers.Page.al: `TaxAreaBuffer.GetTaxAreaDisplayName("Tax Area ID")`,
            // read each time (blank when the id names no tax area).
            let name = guid(fields, "taxAreaId")
                .and_then(|area| data.row(Entity::TaxArea, area))
                .map_or_else(
                    || Value::String(String::new()),
                    |r| r.fields["displayName"].clone(),
                );
            fields.insert("taxAreaDisplayName".to_owned(), name);
        }
    }

    pub(crate) fn contacts_information(&self, company: Uuid, customer: Uuid) -> Vec<Value> {
        let Some(data) = self.company(company) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (contact_id, customer_id) in &data.relations {
            if *customer_id != customer {
                continue;
            }
            let Some(company_contact) = data.row(Entity::Contact, *contact_id) else {
                continue;
            };
            let company_number = text(&company_contact.fields, "number");
            let mut linked = vec![(*contact_id, company_contact)];
            linked.extend(
                data.table(Entity::Contact)
                    .filter(|(id, r)| {
                        **id != *contact_id && text(&r.fields, "companyNumber") == company_number
                    })
                    .map(|(id, r)| (*id, r)),
            );
            for (id, row) in linked {
                out.push(json!({
                    "contactId": id.to_string(),
                    "contactNumber": text(&row.fields, "number"),
                    "contactName": text(&row.fields, "displayName"),
                    "contactType": text(&row.fields, "type"),
                    "relatedId": customer.to_string(),
                    "relatedType": "Customer",
                }));
            }
        }
        out
    }

    // ---- writes -----------------------------------------------------------------------------

    /// POST: creates an entity (and a document's lines in a deep insert).
    pub(crate) fn create(
        &mut self,
        company: Uuid,
        entity: Entity,
        parent: Option<Uuid>,
        body: &Map<String, Value>,
        now: Timestamp,
        origin: Origin,
    ) -> Outcome<Uuid> {
        if matches!(entity, Entity::ItemLedgerEntry | Entity::Account) {
            return Err(BcFault::method_not_allowed(
                "POST",
                entity.set_name(),
                "Collection",
            ));
        }
        let lines_key = entity.lines().map(Entity::set_name);
        let lines: Vec<Map<String, Value>> = match lines_key.and_then(|k| body.get(k)) {
            None => Vec::new(),
            Some(Value::Array(lines)) => lines
                .iter()
                .map(|l| {
                    l.as_object()
                        .cloned()
                        .ok_or_else(|| BcFault::wrong_type("Collection"))
                })
                .collect::<Outcome<_>>()?,
            Some(_) => return Err(BcFault::wrong_type("Collection")),
        };
        // A deep insert is one transaction: restore everything if a line fails.
        let saved = (!lines.is_empty()).then(|| {
            (
                self.companies.clone(),
                self.changes.len(),
                self.version,
                self.seq,
            )
        });
        let result = self
            .create_one(company, entity, parent, body, lines_key, now, origin)
            .and_then(|id| {
                for line in &lines {
                    let line_entity = entity.lines().unwrap_or(entity);
                    self.create_one(company, line_entity, Some(id), line, None, now, origin)?;
                }
                Ok(id)
            });
        if result.is_err()
            && let Some((companies, changes, version, seq)) = saved
        {
            self.companies = companies;
            self.changes.truncate(changes);
            self.version = version;
            self.seq = seq;
        }
        result
    }

    #[allow(clippy::too_many_arguments)]
    fn create_one(
        &mut self,
        company: Uuid,
        entity: Entity,
        parent: Option<Uuid>,
        body: &Map<String, Value>,
        skip: Option<&str>,
        now: Timestamp,
        origin: Origin,
    ) -> Outcome<Uuid> {
        let mut fields = Map::new();
        for field in entity.fields() {
            fields.insert(field.name.to_owned(), field.kind.blank());
        }
        let answer = match origin {
            Origin::Api => self.settings.client_ids.answer(entity.set_name()),
            Origin::Seed => ClientIdAnswer::Honoured,
        };
        if answer == ClientIdAnswer::Refused && body.contains_key("id") {
            return Err(BcFault::read_only("id"));
        }
        let given = apply_fields(entity, &mut fields, body, skip, true, origin)?;
        let chosen = match answer {
            ClientIdAnswer::Ignored => None,
            _ => guid(&fields, "id"),
        };
        let id = match chosen {
            Some(id) => {
                let data = self.company_mut(company)?;
                if data.row(entity, id).is_some() {
                    return Err(BcFault::new(
                        400,
                        DUPLICATE_KEY,
                        format!("The record with id {id} already exists."),
                    ));
                }
                id
            }
            None => Uuid::new_v4(),
        };
        fields.insert("id".to_owned(), Value::String(id.to_string()));
        let settings = self.settings.clone();
        let data = self.company_mut(company)?;
        on_write(
            data,
            &settings,
            entity,
            id,
            parent,
            &mut fields,
            &given,
            true,
            now,
            origin,
        )?;
        fields.insert("lastModifiedDateTime".to_owned(), stamp(now));
        let (version, seq) = self.bump();
        let data = self.company_mut(company)?;
        data.tables.entry(entity).or_default().insert(
            id,
            Row {
                fields: fields.clone(),
                version,
                seq,
            },
        );
        let mut follow: Vec<(Entity, Uuid, ChangeKind)> = vec![(entity, id, ChangeKind::Created)];
        if let Some(document) = entity.document()
            && let Some(doc_id) = parent.or_else(|| guid(&fields, "documentId"))
        {
            self.touch_document(company, document, doc_id, now)?;
            follow = vec![(document, doc_id, ChangeKind::Updated)];
        }
        if entity == Entity::Customer && self.settings.customer_contacts {
            self.create_customer_contact(company, id, &fields, now)?;
        }
        for (e, i, k) in follow {
            self.record_change(company, e, i, k, now);
        }
        Ok(id)
    }

    fn create_customer_contact(
        &mut self,
        company: Uuid,
        customer: Uuid,
        fields: &Map<String, Value>,
        now: Timestamp,
    ) -> Outcome<()> {
        let mut body = Map::new();
        for key in [
            "displayName",
            "type",
            "addressLine1",
            "addressLine2",
            "city",
            "state",
            "country",
            "postalCode",
            "phoneNumber",
            "email",
            "website",
        ] {
            if let Some(v) = fields.get(key) {
                body.insert(key.to_owned(), v.clone());
            }
        }
        let contact = self.create_one(
            company,
            Entity::Contact,
            None,
            &body,
            None,
            now,
            Origin::Seed,
        )?;
        let data = self.company_mut(company)?;
        data.relations.push((contact, customer));
        if let Some(row) = data.row_mut(Entity::Contact, contact) {
            row.fields
                .insert("contactBusinessRelation".to_owned(), json!("Customer"));
        }
        Ok(())
    }

    /// Links an existing contact to a customer (seed).
    pub(crate) fn link_contact(
        &mut self,
        company: Uuid,
        contact: Uuid,
        customer: Uuid,
    ) -> Outcome<()> {
        let data = self.company_mut(company)?;
        if data.row(Entity::Contact, contact).is_none()
            || data.row(Entity::Customer, customer).is_none()
        {
            return Err(BcFault::record_not_found("contacts", &contact.to_string()));
        }
        data.relations.push((contact, customer));
        Ok(())
    }

    /// PATCH with `If-Match`.
    // The arguments mirror one HTTP call (where, what, which version, the body, when, who).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn update(
        &mut self,
        company: Uuid,
        entity: Entity,
        id: Uuid,
        if_match: Option<&str>,
        body: &Map<String, Value>,
        now: Timestamp,
        origin: Origin,
    ) -> Outcome<()> {
        if matches!(entity, Entity::ItemLedgerEntry | Entity::Account) {
            return Err(BcFault::method_not_allowed(
                "PATCH",
                entity.set_name(),
                "Entity",
            ));
        }
        if let Some(lines) = entity.lines()
            && body.contains_key(lines.set_name())
        {
            // No deep update (api-notes §3).
            return Err(BcFault::method_not_allowed(
                "PATCH",
                lines.set_name(),
                "Collection",
            ));
        }
        let settings = self.settings.clone();
        let data = self.company_mut(company)?;
        let row = data
            .row(entity, id)
            .ok_or_else(|| BcFault::record_not_found(entity.set_name(), &id.to_string()))?;
        check_if_match(if_match, row.version)?;
        let doc_id = entity
            .document()
            .and_then(|_| guid(&row.fields, "documentId"));
        if data.is_posted(id) || doc_id.is_some_and(|d| data.is_posted(d)) {
            return Err(BcFault::dialog(
                "The document has been posted and can no longer be changed.",
            ));
        }
        let mut fields = row.fields.clone();
        let old_number = text(&fields, "number");
        let wanted_inventory = if entity == Entity::Item {
            body.get("inventory").map(num)
        } else {
            None
        };
        let given = apply_fields(entity, &mut fields, body, None, false, origin)?;
        on_write(
            data,
            &settings,
            entity,
            id,
            doc_id,
            &mut fields,
            &given,
            false,
            now,
            origin,
        )?;
        if let Some(target) = wanted_inventory {
            // A.: UpdateInventory posts an item journal line for the difference.
            let item_number = text(&fields, "number");
            let difference = round2(target - data.inventory_of(&item_number));
            if difference.abs() > f64::EPSILON {
                self.post_ledger(
                    company,
                    &LedgerPost {
                        item_number: item_number.clone(),
                        entry_type: if difference > 0.0 {
                            "Positive_x0020_Adjmt_x002E_"
                        } else {
                            "Negative_x0020_Adjmt_x002E_"
                        },
                        quantity: difference,
                        document_type: "_x0020_",
                        document_number: item_number,
                        source_type: "_x0020_",
                        source_number: String::new(),
                        sales_amount: 0.0,
                        location: None,
                        posting_date: now.to_zoned(jiff::tz::TimeZone::UTC).date(),
                    },
                    now,
                )?;
            }
        }
        fields.insert("lastModifiedDateTime".to_owned(), stamp(now));
        let (version, _) = self.bump();
        let data = self.company_mut(company)?;
        let renamed = (entity == Entity::Item && text(&fields, "number") != old_number)
            .then(|| text(&fields, "number"));
        if let Some(row) = data.row_mut(entity, id) {
            row.fields = fields;
            row.version = version;
        }
        if let Some(new_number) = renamed {
            self.rename_item(company, id, &old_number, &new_number, now)?;
        }
        if let (Some(document), Some(doc)) = (entity.document(), doc_id) {
            self.touch_document(company, document, doc, now)?;
            self.record_change(company, document, doc, ChangeKind::Updated, now);
        } else {
            if entity.is_document() {
                self.touch_document(company, entity, id, now)?;
            }
            self.record_change(company, entity, id, ChangeKind::Updated, now);
        }
        Ok(())
    }

    /// A renamed item (its `number` changed): like BC's `Rename`, the new number reaches
    /// every record that refers to the item by number — its variants, its ledger entries
    /// and the item lines of open documents. Variants and lines are modified by it (new
    /// ETags); ledger entries only carry the number.
    fn rename_item(
        &mut self,
        company: Uuid,
        item: Uuid,
        old: &str,
        new: &str,
        now: Timestamp,
    ) -> Outcome<()> {
        let item_text = item.to_string();
        let data = self.company_mut(company)?;
        let variants: Vec<Uuid> = data
            .table(Entity::ItemVariant)
            .filter(|(_, r)| text(&r.fields, "itemId") == item_text)
            .map(|(id, _)| *id)
            .collect();
        let lines: Vec<(Entity, Uuid)> = data
            .tables
            .iter()
            .filter(|(entity, _)| entity.document().is_some())
            .flat_map(|(entity, rows)| {
                rows.iter()
                    .filter(|(_, r)| {
                        text(&r.fields, "itemId") == item_text
                            && text(&r.fields, "lineObjectNumber") == old
                    })
                    .map(|(id, _)| (*entity, *id))
            })
            .collect();
        if let Some(entries) = data.tables.get_mut(&Entity::ItemLedgerEntry) {
            for row in entries.values_mut() {
                if text(&row.fields, "itemNumber") == old {
                    row.fields.insert("itemNumber".into(), json!(new));
                }
            }
        }
        let changed = variants
            .into_iter()
            .map(|id| (Entity::ItemVariant, id, "itemNumber"))
            .chain(
                lines
                    .into_iter()
                    .map(|(entity, id)| (entity, id, "lineObjectNumber")),
            );
        for (entity, id, field) in changed.collect::<Vec<_>>() {
            let (version, _) = self.bump();
            let data = self.company_mut(company)?;
            if let Some(row) = data.row_mut(entity, id) {
                row.fields.insert(field.into(), json!(new));
                row.fields
                    .insert("lastModifiedDateTime".to_owned(), stamp(now));
                row.version = version;
            }
        }
        Ok(())
    }

    /// DELETE with `If-Match`.
    pub(crate) fn delete(
        &mut self,
        company: Uuid,
        entity: Entity,
        id: Uuid,
        if_match: Option<&str>,
        now: Timestamp,
    ) -> Outcome<()> {
        if matches!(entity, Entity::ItemLedgerEntry | Entity::Account) {
            return Err(BcFault::method_not_allowed(
                "DELETE",
                entity.set_name(),
                "Entity",
            ));
        }
        let data = self.company_mut(company)?;
        let row = data
            .row(entity, id)
            .ok_or_else(|| BcFault::record_not_found(entity.set_name(), &id.to_string()))?;
        check_if_match(if_match, row.version)?;
        let doc_id = entity
            .document()
            .and_then(|_| guid(&row.fields, "documentId"));
        if data.is_posted(id) || doc_id.is_some_and(|d| data.is_posted(d)) {
            return Err(BcFault::dialog(
                "The document has been posted and can no longer be changed.",
            ));
        }
        if let Some(t) = data.tables.get_mut(&entity) {
            t.remove(&id);
        }
        if let Some(lines) = entity.lines()
            && let Some(t) = data.tables.get_mut(&lines)
        {
            t.retain(|_, r| guid(&r.fields, "documentId") != Some(id));
        }
        if entity == Entity::CustomerPaymentJournal
            && let Some(t) = data.tables.get_mut(&Entity::CustomerPayment)
        {
            // Gen. Journal Batch OnDelete deletes its lines.
            t.retain(|_, r| guid(&r.fields, "journalId") != Some(id));
        }
        data.relations
            .retain(|(contact, customer)| *contact != id && *customer != id);
        match (entity.document(), doc_id) {
            (Some(document), Some(doc)) => {
                self.touch_document(company, document, doc, now)?;
                self.record_change(company, document, doc, ChangeKind::Updated, now);
            }
            _ => self.record_change(company, entity, id, ChangeKind::Deleted, now),
        }
        Ok(())
    }
}

pub(crate) fn check_if_match(if_match: Option<&str>, version: u64) -> Outcome<()> {
    match if_match.map(str::trim) {
        None | Some("") => Err(BcFault::missing_if_match()),
        Some("*") => Ok(()),
        Some(tag) if tag == etag_of(version) => Ok(()),
        Some(_) => Err(BcFault::entity_changed()),
    }
}
