//! The simulated companies' data and the rules BC applies to writes: GUID ids, numbers from
//! number series (manual numbers refused on documents), etags that change on every write,
//! `If-Match` checks, field kinds and lengths, required fields, references (payment terms,
//! customers, items, variants, locations, categories), duplicate keys, document lines with
//! amounts and totals, posting with item ledger entries, pictures, contacts linked to
//! customers. Inventory is computed from the ledger, so stock moves never touch an item's
//! etag or `lastModifiedDateTime` (SPEC "What breaks" 3). No HTTP, no clock: callers pass the
//! API time in. Every committed change is queued in `changes` for the webhook service.

use std::collections::BTreeMap;

use base64::Engine as _;
use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::errors::{BcFault, Outcome};
use super::schema::{BLANK_DATE, Entity, Kind, NIL_GUID, enum_member, unescape_member};

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
}

/// Everything the simulator stores.
#[derive(Debug, Clone)]
pub(crate) struct Store {
    pub(crate) companies: Vec<CompanyData>,
    version: u64,
    seq: u64,
    pub(crate) changes: Vec<Change>,
    pub(crate) settings: StoreSettings,
}

/// A number series: prefix, first number, digits, increment.
struct Series {
    code: &'static str,
    prefix: &'static str,
    start: u64,
    width: usize,
    step: u64,
}

// Chosen to look like a new BC company's series (fixture manual-nos error names S-ORD; the
// posted invoice in salesInvoice.create.request.json is PS-INV103001).
const CUSTOMERS: Series = Series {
    code: "CUST",
    prefix: "C",
    start: 10,
    width: 5,
    step: 10,
};
const ITEMS: Series = Series {
    code: "ITEM",
    prefix: "I",
    start: 10,
    width: 5,
    step: 10,
};
const CONTACTS: Series = Series {
    code: "CONT",
    prefix: "CT",
    start: 1,
    width: 6,
    step: 1,
};
const ORDERS: Series = Series {
    code: "S-ORD",
    prefix: "S-ORD",
    start: 101_001,
    width: 6,
    step: 1,
};
const INVOICES: Series = Series {
    code: "S-INV",
    prefix: "S-INV",
    start: 102_001,
    width: 6,
    step: 1,
};
const POSTED_INVOICES: Series = Series {
    code: "S-INV+",
    prefix: "PS-INV",
    start: 103_001,
    width: 6,
    step: 1,
};
const CREDIT_MEMOS: Series = Series {
    code: "S-CR",
    prefix: "S-CR",
    start: 104_001,
    width: 6,
    step: 1,
};
const POSTED_CREDIT_MEMOS: Series = Series {
    code: "S-CR+",
    prefix: "PS-CR",
    start: 104_001,
    width: 6,
    step: 1,
};
const SHIPMENTS: Series = Series {
    code: "S-SHPT",
    prefix: "S-SHPT",
    start: 102_001,
    width: 6,
    step: 1,
};

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

    fn next_number(&mut self, series: &Series) -> String {
        let next = self.series.entry(series.code).or_insert(series.start);
        let value = *next;
        *next += series.step;
        format!("{}{:0width$}", series.prefix, value, width = series.width)
    }

    fn code_id(&mut self, code: &str) -> Uuid {
        *self
            .code_ids
            .entry(code.to_owned())
            .or_insert_with(Uuid::new_v4)
    }

    /// Inventory per item number, from one pass over the ledger.
    fn inventories(&self) -> std::collections::HashMap<String, f64> {
        let mut sums = std::collections::HashMap::new();
        for (_, r) in self.table(Entity::ItemLedgerEntry) {
            *sums.entry(text(&r.fields, "itemNumber")).or_insert(0.0) += num(&r.fields["quantity"]);
        }
        sums
    }

    fn inventory_of(&self, item_number: &str) -> f64 {
        round2(
            self.table(Entity::ItemLedgerEntry)
                .filter(|(_, r)| text(&r.fields, "itemNumber") == item_number)
                .map(|(_, r)| num(&r.fields["quantity"]))
                .sum(),
        )
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
        let parent_field = match entity {
            Entity::ItemVariant => "itemId",
            _ => "documentId",
        };
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
        rows
    }

    pub(crate) fn get(&self, company: Uuid, entity: Entity, id: Uuid) -> Option<Row> {
        let data = self.company(company)?;
        let mut row = data.row(entity, id)?.clone();
        Self::fill_computed(data, entity, &mut row.fields);
        Some(row)
    }

    fn fill_computed(data: &CompanyData, entity: Entity, fields: &mut Map<String, Value>) {
        if entity == Entity::Item {
            let inventory = data.inventory_of(&text(fields, "number"));
            fields.insert("inventory".to_owned(), number(inventory));
        }
    }

    /// A picture entity (`items({id})/picture`), present even when empty (InsertAllowed =
    /// false, api-notes §2 "picture").
    pub(crate) fn picture(
        &self,
        company: Uuid,
        parent: Entity,
        parent_id: Uuid,
        base: &str,
    ) -> Option<Value> {
        let data = self.company(company)?;
        let parent_row = data.row(parent, parent_id)?;
        let picture = data.pictures.get(&parent_id);
        let link = format!(
            "{base}/companies({company})/{}({parent_id})/picture/pictureContent",
            parent.set_name()
        );
        Some(json!({
            "@odata.etag": etag_of(picture.map_or(parent_row.version, |p| p.version)),
            "id": parent_id.to_string(),
            "parentType": match parent { Entity::Customer => "Customer", _ => "Item" },
            "width": picture.map_or(0, |p| p.width),
            "height": picture.map_or(0, |p| p.height),
            "contentType": picture.map_or("", |p| p.content_type.as_str()),
            "pictureContent@odata.mediaEditLink": link,
            "pictureContent@odata.mediaReadLink": link,
        }))
    }

    pub(crate) fn picture_content(
        &self,
        company: Uuid,
        parent_id: Uuid,
    ) -> Option<(Vec<u8>, String)> {
        let picture = self.company(company)?.pictures.get(&parent_id)?;
        Some((picture.content.clone(), picture.content_type.clone()))
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

    /// Location codes of ledger entries (kept internally; v2.0 does not show them).
    pub(crate) fn ledger_location(&self, company: Uuid, entry: Uuid) -> Option<String> {
        self.company(company)?
            .ledger_locations
            .get(&entry)
            .cloned()
            .flatten()
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
        if entity == Entity::ItemLedgerEntry {
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
        let given = apply_fields(entity, &mut fields, body, skip, true, origin)?;
        let id = match guid(&fields, "id") {
            Some(id) => {
                let data = self.company_mut(company)?;
                if data.row(entity, id).is_some() {
                    return Err(BcFault::new(
                        400,
                        "Internal_EntityWithSameKeyExists",
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
        if entity == Entity::ItemLedgerEntry {
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
        if entity == Entity::ItemLedgerEntry {
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

    /// Recomputes a document's lines and totals and gives it a new etag.
    fn touch_document(
        &mut self,
        company: Uuid,
        document: Entity,
        id: Uuid,
        now: Timestamp,
    ) -> Outcome<()> {
        let Some(line_entity) = document.lines() else {
            return Ok(());
        };
        let rates = self.settings.tax_rates.clone();
        let (version, _) = self.bump();
        let data = self.company_mut(company)?;
        let Some(header) = data.row(document, id) else {
            return Ok(());
        };
        let discount = num(&header.fields["discountAmount"]);
        let mut line_ids: Vec<(Uuid, f64)> = data
            .table(line_entity)
            .filter(|(_, r)| guid(&r.fields, "documentId") == Some(id))
            .map(|(lid, r)| (*lid, num(&r.fields["amountExcludingTax"])))
            .collect();
        line_ids.sort_by_key(|(lid, _)| *lid);
        let gross: f64 = line_ids.iter().map(|(_, a)| a).sum();
        let mut allocated = 0.0;
        let mut totals = (0.0, 0.0, 0.0);
        let count = line_ids.len();
        for (i, (line_id, amount)) in line_ids.into_iter().enumerate() {
            let share = if gross.abs() < f64::EPSILON {
                0.0
            } else if i + 1 == count {
                round2(discount - allocated)
            } else {
                round2(discount * amount / gross)
            };
            allocated += share;
            if let Some(line) = data.row_mut(line_entity, line_id) {
                let rate = rates
                    .get(&text(&line.fields, "taxCode"))
                    .copied()
                    .unwrap_or(0.0);
                let net = round2(amount - share);
                let net_tax = round2(net * rate / 100.0);
                line.fields
                    .insert("invoiceDiscountAllocation".to_owned(), number(share));
                line.fields.insert("netAmount".to_owned(), number(net));
                line.fields
                    .insert("netTaxAmount".to_owned(), number(net_tax));
                line.fields.insert(
                    "netAmountIncludingTax".to_owned(),
                    number(round2(net + net_tax)),
                );
                totals.0 += net;
                totals.1 += net_tax;
                totals.2 += net + net_tax;
            }
        }
        if let Some(header) = data.row_mut(document, id) {
            header.fields.insert(
                "totalAmountExcludingTax".to_owned(),
                number(round2(totals.0)),
            );
            header
                .fields
                .insert("totalTaxAmount".to_owned(), number(round2(totals.1)));
            header.fields.insert(
                "totalAmountIncludingTax".to_owned(),
                number(round2(totals.2)),
            );
            header
                .fields
                .insert("lastModifiedDateTime".to_owned(), stamp(now));
            header.version = version;
        }
        Ok(())
    }

    /// Uploads a picture (PATCH …/picture/pictureContent).
    pub(crate) fn set_picture(
        &mut self,
        company: Uuid,
        parent: Entity,
        parent_id: Uuid,
        if_match: Option<&str>,
        content: Vec<u8>,
        now: Timestamp,
    ) -> Outcome<()> {
        let (version, _) = self.bump();
        let data = self.company_mut(company)?;
        let row = data
            .row(parent, parent_id)
            .ok_or_else(|| BcFault::record_not_found(parent.set_name(), &parent_id.to_string()))?;
        let current = data
            .pictures
            .get(&parent_id)
            .map_or(row.version, |p| p.version);
        check_if_match(if_match, current)?;
        let (content_type, width, height) = sniff_image(&content);
        data.pictures.insert(
            parent_id,
            PictureData {
                content,
                content_type,
                width,
                height,
                version,
            },
        );
        self.record_change(company, parent, parent_id, ChangeKind::Updated, now);
        Ok(())
    }

    /// Posts a stock movement; returns the entry number.
    pub(crate) fn post_ledger(
        &mut self,
        company: Uuid,
        post: &LedgerPost,
        now: Timestamp,
    ) -> Outcome<i64> {
        let (version, seq) = self.bump();
        let data = self.company_mut(company)?;
        let (_, item) = data
            .find(Entity::Item, "number", &post.item_number)
            .ok_or_else(|| {
                BcFault::new(
                    400,
                    "Internal_RecordNotFound",
                    format!(
                        "The Item does not exist. Identification fields and values: No.='{}'",
                        post.item_number
                    ),
                )
            })?;
        let unit_cost = num(&item.fields["unitCost"]);
        let description = text(&item.fields, "displayName");
        let entry_number =
            i64::try_from(data.table(Entity::ItemLedgerEntry).count()).unwrap_or(i64::MAX - 1) + 1;
        let id = Uuid::new_v4();
        let mut fields = Map::new();
        fields.insert("id".into(), json!(id.to_string()));
        fields.insert("entryNumber".into(), json!(entry_number));
        fields.insert("itemNumber".into(), json!(post.item_number));
        fields.insert("postingDate".into(), json!(post.posting_date.to_string()));
        fields.insert("entryType".into(), json!(post.entry_type));
        fields.insert("sourceNumber".into(), json!(post.source_number));
        fields.insert("sourceType".into(), json!(post.source_type));
        fields.insert("documentNumber".into(), json!(post.document_number));
        fields.insert("documentType".into(), json!(post.document_type));
        fields.insert(
            "description".into(),
            json!(if post.entry_type == "Sale" {
                description
            } else {
                String::new()
            }),
        );
        fields.insert("quantity".into(), number(post.quantity));
        fields.insert(
            "salesAmountActual".into(),
            number(round2(post.sales_amount)),
        );
        fields.insert(
            "costAmountActual".into(),
            number(round2(post.quantity * unit_cost)),
        );
        fields.insert("lastModifiedDateTime".into(), stamp(now));
        data.tables
            .entry(Entity::ItemLedgerEntry)
            .or_default()
            .insert(
                id,
                Row {
                    fields,
                    version,
                    seq,
                },
            );
        data.ledger_locations.insert(id, post.location.clone());
        Ok(entry_number)
    }

    fn location_code(data: &CompanyData, id: Option<Uuid>) -> Option<String> {
        id.and_then(|id| data.row(Entity::Location, id))
            .map(|r| text(&r.fields, "code"))
    }

    /// `Microsoft.NAV.post` on a draft invoice or credit memo: posted number, status Open,
    /// ledger entries for item lines; the id stays (api-notes §2 "salesInvoices").
    pub(crate) fn post_document(
        &mut self,
        company: Uuid,
        entity: Entity,
        id: Uuid,
        now: Timestamp,
    ) -> Outcome<()> {
        let (posted_series, document_type, sign) = match entity {
            Entity::SalesInvoice => (&POSTED_INVOICES, "Sales_x0020_Invoice", -1.0),
            Entity::SalesCreditMemo => (&POSTED_CREDIT_MEMOS, "Sales_x0020_Credit_x0020_Memo", 1.0),
            _ => return Err(BcFault::segment_not_found("Microsoft.NAV.post")),
        };
        let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
        let data = self.company_mut(company)?;
        let header = data
            .row(entity, id)
            .ok_or_else(|| BcFault::record_not_found(entity.set_name(), &id.to_string()))?
            .clone();
        if data.is_posted(id) {
            return Err(BcFault::dialog("The document has already been posted."));
        }
        let lines = self.rows(company, entity.lines().unwrap_or(entity), Some(id));
        if lines.is_empty() {
            return Err(BcFault::dialog("There is nothing to post."));
        }
        let data = self.company_mut(company)?;
        let posted_number = data.next_number(posted_series);
        let customer_number = text(&header.fields, "customerNumber");
        let posting_date = text(&header.fields, "postingDate").parse().unwrap_or(today);
        let mut posts = Vec::new();
        for (_, line) in &lines {
            if text(&line.fields, "lineType") != "Item" {
                continue;
            }
            let location = Self::location_code(data, guid(&line.fields, "locationId"));
            posts.push(LedgerPost {
                item_number: text(&line.fields, "lineObjectNumber"),
                entry_type: "Sale",
                quantity: sign * num(&line.fields["quantity"]),
                document_type,
                document_number: posted_number.clone(),
                source_type: "Customer",
                source_number: customer_number.clone(),
                sales_amount: -sign * num(&line.fields["netAmount"]),
                location,
                posting_date,
            });
        }
        for post in &posts {
            self.post_ledger(company, post, now)?;
        }
        let (version, _) = self.bump();
        let data = self.company_mut(company)?;
        data.posted.insert(id, true);
        if let Some(row) = data.row_mut(entity, id) {
            row.fields.insert("number".into(), json!(posted_number));
            row.fields.insert("status".into(), json!("Open"));
            if entity == Entity::SalesInvoice {
                let total = row.fields["totalAmountIncludingTax"].clone();
                row.fields.insert("remainingAmount".into(), total);
            }
            row.fields.insert("lastModifiedDateTime".into(), stamp(now));
            row.version = version;
        }
        self.record_change(company, entity, id, ChangeKind::Updated, now);
        Ok(())
    }

    /// `Microsoft.NAV.shipAndInvoice`: posts shipment and invoice; the fully invoiced order
    /// is deleted and a posted invoice with `orderNumber` appears.
    pub(crate) fn ship_and_invoice(
        &mut self,
        company: Uuid,
        id: Uuid,
        now: Timestamp,
    ) -> Outcome<Uuid> {
        let order = self
            .get(company, Entity::SalesOrder, id)
            .ok_or_else(|| BcFault::record_not_found("salesOrders", &id.to_string()))?;
        let lines = self.rows(company, Entity::SalesOrderLine, Some(id));
        if lines.is_empty() {
            return Err(BcFault::dialog("There is nothing to post."));
        }
        let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
        let data = self.company_mut(company)?;
        let shipment = data.next_number(&SHIPMENTS);
        let invoice_number = data.next_number(&POSTED_INVOICES);
        let customer_number = text(&order.fields, "customerNumber");
        let posting_date = text(&order.fields, "postingDate").parse().unwrap_or(today);
        let mut posts = Vec::new();
        for (_, line) in &lines {
            if text(&line.fields, "lineType") != "Item" {
                continue;
            }
            posts.push(LedgerPost {
                item_number: text(&line.fields, "lineObjectNumber"),
                entry_type: "Sale",
                quantity: -num(&line.fields["quantity"]),
                document_type: "Sales_x0020_Shipment",
                document_number: shipment.clone(),
                source_type: "Customer",
                source_number: customer_number.clone(),
                sales_amount: num(&line.fields["netAmount"]),
                location: Self::location_code(data, guid(&line.fields, "locationId")),
                posting_date,
            });
        }
        for post in &posts {
            self.post_ledger(company, post, now)?;
        }
        // The posted invoice: header fields shared with the order, lines copied.
        let invoice_id = Uuid::new_v4();
        let mut fields = Map::new();
        for field in Entity::SalesInvoice.fields() {
            let value = order
                .fields
                .get(field.name)
                .cloned()
                .unwrap_or_else(|| field.kind.blank());
            fields.insert(field.name.to_owned(), value);
        }
        fields.insert("id".into(), json!(invoice_id.to_string()));
        fields.insert("number".into(), json!(invoice_number));
        fields.insert("invoiceDate".into(), json!(today.to_string()));
        fields.insert("dueDate".into(), json!(today.to_string()));
        fields.insert("orderId".into(), json!(id.to_string()));
        fields.insert("orderNumber".into(), order.fields["number"].clone());
        fields.insert("status".into(), json!("Open"));
        fields.insert(
            "remainingAmount".into(),
            order.fields["totalAmountIncludingTax"].clone(),
        );
        fields.insert("lastModifiedDateTime".into(), stamp(now));
        let (version, seq) = self.bump();
        let data = self.company_mut(company)?;
        data.tables.entry(Entity::SalesInvoice).or_default().insert(
            invoice_id,
            Row {
                fields,
                version,
                seq,
            },
        );
        data.posted.insert(invoice_id, true);
        for (_, line) in &lines {
            let line_id = Uuid::new_v4();
            let mut copy = Map::new();
            for field in Entity::SalesInvoiceLine.fields() {
                copy.insert(
                    field.name.to_owned(),
                    line.fields
                        .get(field.name)
                        .cloned()
                        .unwrap_or_else(|| field.kind.blank()),
                );
            }
            copy.insert("id".into(), json!(line_id.to_string()));
            copy.insert("documentId".into(), json!(invoice_id.to_string()));
            data.tables
                .entry(Entity::SalesInvoiceLine)
                .or_default()
                .insert(
                    line_id,
                    Row {
                        fields: copy,
                        version,
                        seq,
                    },
                );
        }
        if let Some(t) = data.tables.get_mut(&Entity::SalesOrder) {
            t.remove(&id);
        }
        if let Some(t) = data.tables.get_mut(&Entity::SalesOrderLine) {
            t.retain(|_, r| guid(&r.fields, "documentId") != Some(id));
        }
        self.record_change(company, Entity::SalesOrder, id, ChangeKind::Deleted, now);
        self.record_change(
            company,
            Entity::SalesInvoice,
            invoice_id,
            ChangeKind::Created,
            now,
        );
        Ok(invoice_id)
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

/// Checks and copies the given fields into `fields`; returns the names set.
fn apply_fields(
    entity: Entity,
    fields: &mut Map<String, Value>,
    body: &Map<String, Value>,
    skip: Option<&str>,
    creating: bool,
    origin: Origin,
) -> Outcome<Vec<String>> {
    let mut given = Vec::new();
    for (key, value) in body {
        if key.starts_with("@odata.") || Some(key.as_str()) == skip {
            continue;
        }
        let Some(field) = entity.field(key) else {
            return Err(BcFault::unknown_property(key, entity.type_name()));
        };
        if key == "id" && !creating {
            if value.as_str().map(str::to_ascii_lowercase)
                != fields.get("id").and_then(Value::as_str).map(str::to_owned)
            {
                return Err(BcFault::dialog("The \"id\" cannot be changed."));
            }
            continue;
        }
        let special = (entity.is_document() && key == "number")
            || (entity == Entity::Item && key == "inventory");
        if field.read_only && origin == Origin::Api && !special {
            return Err(BcFault::read_only(key));
        }
        if entity == Entity::Item && key == "inventory" {
            if creating {
                // A: APIV2Items.Page.al, InventoryCannotBeChangedInAPostRequestErr.
                return Err(BcFault::dialog(
                    "Inventory cannot be changed during on insert.",
                ));
            }
            if !value.is_number() {
                return Err(BcFault::wrong_type("Edm.Decimal"));
            }
            continue;
        }
        let stored = coerce(field.kind, value)?;
        fields.insert(key.clone(), stored);
        given.push(key.clone());
    }
    Ok(given)
}

fn coerce(kind: Kind, value: &Value) -> Outcome<Value> {
    match kind {
        Kind::Text(max) | Kind::Code(max) => {
            let text = value
                .as_str()
                .ok_or_else(|| BcFault::wrong_type("Edm.String"))?;
            if text.chars().count() > max {
                return Err(BcFault::too_long(max, text));
            }
            Ok(Value::String(if matches!(kind, Kind::Code(_)) {
                text.to_uppercase()
            } else {
                text.to_owned()
            }))
        }
        Kind::Guid => {
            let text = value
                .as_str()
                .ok_or_else(|| BcFault::wrong_type("Edm.Guid"))?;
            let id = (text.len() == 36)
                .then(|| text.parse::<Uuid>().ok())
                .flatten()
                .ok_or_else(|| BcFault::wrong_type("Edm.Guid"))?;
            Ok(Value::String(id.to_string()))
        }
        Kind::Bool => value
            .as_bool()
            .map(Value::Bool)
            .ok_or_else(|| BcFault::wrong_type("Edm.Boolean")),
        Kind::Decimal => value
            .is_number()
            .then(|| value.clone())
            .ok_or_else(|| BcFault::wrong_type("Edm.Decimal")),
        Kind::Int => value
            .as_i64()
            .map(Value::from)
            .ok_or_else(|| BcFault::wrong_type("Edm.Int32")),
        Kind::Date => {
            let text = value
                .as_str()
                .ok_or_else(|| BcFault::wrong_type("Edm.Date"))?;
            text.parse::<Date>()
                .map_err(|_| BcFault::wrong_type("Edm.Date"))?;
            Ok(Value::String(text.to_owned()))
        }
        Kind::DateTime => {
            let text = value
                .as_str()
                .ok_or_else(|| BcFault::wrong_type("Edm.DateTimeOffset"))?;
            let at: Timestamp = text
                .parse()
                .map_err(|_| BcFault::wrong_type("Edm.DateTimeOffset"))?;
            Ok(stamp(at))
        }
        Kind::Enum(members) => {
            let text = value
                .as_str()
                .ok_or_else(|| BcFault::wrong_type("Microsoft.NAV.enum"))?;
            enum_member(members, text)
                .map(Value::String)
                .ok_or_else(|| {
                    // Fixture error.batch-inner.unknown.json.
                    let options: Vec<String> = members.iter().map(|m| unescape_member(m)).collect();
                    BcFault::new(
                        400,
                        "Unknown",
                        format!(
                            "'{text}' is not an option. The existing options are: {}",
                            options.join(",")
                        ),
                    )
                })
        }
    }
}

fn required_name(fields: &Map<String, Value>, given: &[String], creating: bool) -> Outcome<()> {
    let blank = text(fields, "displayName").trim().is_empty();
    if creating && blank {
        // A: APIV2Customers.Page.al NotProvidedCustomerNameErr (same label on items, contacts).
        return Err(BcFault::dialog("A \"displayName\" must be provided."));
    }
    if !creating && blank && given.iter().any(|g| g == "displayName") {
        return Err(BcFault::dialog("The blank \"displayName\" is not allowed."));
    }
    Ok(())
}

fn unique(
    data: &CompanyData,
    entity: Entity,
    id: Uuid,
    field: &str,
    caption: &str,
    value: &str,
) -> Outcome<()> {
    if data
        .table(entity)
        .any(|(other, r)| *other != id && text(&r.fields, field) == value)
    {
        return Err(BcFault::duplicate(entity.table_caption(), caption, value));
    }
    Ok(())
}

fn reference(
    data: &CompanyData,
    entity: Entity,
    fields: &Map<String, Value>,
    key: &str,
    message: &str,
) -> Outcome<()> {
    if let Some(id) = guid(fields, key)
        && data.row(entity, id).is_none()
    {
        return Err(BcFault::dialog(message));
    }
    Ok(())
}

/// The rules BC runs on insert/modify of each entity.
#[allow(clippy::too_many_arguments)]
fn on_write(
    data: &mut CompanyData,
    settings: &StoreSettings,
    entity: Entity,
    id: Uuid,
    parent: Option<Uuid>,
    fields: &mut Map<String, Value>,
    given: &[String],
    creating: bool,
    now: Timestamp,
    origin: Origin,
) -> Outcome<()> {
    let today = now.to_zoned(jiff::tz::TimeZone::UTC).date().to_string();
    let given_has = |k: &str| given.iter().any(|g| g == k);
    match entity {
        Entity::Customer => {
            required_name(fields, given, creating)?;
            if text(fields, "number").is_empty() {
                fields.insert("number".into(), json!(data.next_number(&CUSTOMERS)));
            }
            unique(data, entity, id, "number", "No.", &text(fields, "number"))?;
            reference(
                data,
                Entity::PaymentTerm,
                fields,
                "paymentTermsId",
                "The \"paymentTermsId\" does not match to a Payment Terms.",
            )?;
            reference(
                data,
                Entity::PaymentMethod,
                fields,
                "paymentMethodId",
                "The \"paymentMethodId\" does not match to a Payment Method.",
            )?;
            if creating && text(fields, "currencyCode").is_empty() {
                fields.insert("currencyCode".into(), json!(settings.lcy));
            }
        }
        Entity::Contact => {
            required_name(fields, given, creating)?;
            if text(fields, "number").is_empty() {
                fields.insert("number".into(), json!(data.next_number(&CONTACTS)));
            }
            unique(data, entity, id, "number", "No.", &text(fields, "number"))?;
            let company_number = text(fields, "companyNumber");
            if text(fields, "type") == "Company" {
                fields.insert("companyNumber".into(), fields["number"].clone());
                fields.insert("companyName".into(), fields["displayName"].clone());
            } else if !company_number.is_empty() {
                let company = data
                    .find(Entity::Contact, "number", &company_number)
                    .filter(|(_, r)| text(&r.fields, "type") == "Company")
                    .map(|(_, r)| text(&r.fields, "displayName"))
                    .ok_or_else(|| {
                        BcFault::new(400, "Internal_InvalidTableRelation", format!("The field Company No. of table Contact contains a value ({company_number}) that cannot be found in the related table (Contact)."))
                    })?;
                fields.insert("companyName".into(), json!(company));
            }
            if text(fields, "searchName").is_empty() {
                fields.insert(
                    "searchName".into(),
                    json!(text(fields, "displayName").to_uppercase()),
                );
            }
        }
        Entity::Item => {
            required_name(fields, given, creating)?;
            if text(fields, "number").is_empty() {
                fields.insert("number".into(), json!(data.next_number(&ITEMS)));
            }
            unique(data, entity, id, "number", "No.", &text(fields, "number"))?;
            if given_has("itemCategoryId") && guid(fields, "itemCategoryId").is_some() {
                let category = guid(fields, "itemCategoryId")
                    .and_then(|c| data.row(Entity::ItemCategory, c))
                    .map(|r| text(&r.fields, "code"))
                    .ok_or_else(|| {
                        BcFault::dialog("The \"itemCategoryId\" does not match to a Item Category.")
                    })?;
                if given_has("itemCategoryCode") && text(fields, "itemCategoryCode") != category {
                    return Err(BcFault::dialog(
                        "The item categories values do not match to a specific item category.",
                    ));
                }
                fields.insert("itemCategoryCode".into(), json!(category));
            } else if given_has("itemCategoryCode") {
                let code = text(fields, "itemCategoryCode");
                if code.is_empty() {
                    fields.insert("itemCategoryId".into(), json!(NIL_GUID));
                } else {
                    let (category, _) =
                        data.find(Entity::ItemCategory, "code", &code)
                            .ok_or_else(|| {
                                BcFault::dialog(
                                    "The \"itemCategoryCode\" does not match to a Item Category.",
                                )
                            })?;
                    fields.insert("itemCategoryId".into(), json!(category.to_string()));
                }
            }
            for (code_field, id_field, default) in [
                ("baseUnitOfMeasureCode", "baseUnitOfMeasureId", "PCS"),
                (
                    "generalProductPostingGroupCode",
                    "generalProductPostingGroupId",
                    "RETAIL",
                ),
                (
                    "inventoryPostingGroupCode",
                    "inventoryPostingGroupId",
                    "RESALE",
                ),
                ("taxGroupCode", "taxGroupId", ""),
            ] {
                if creating && text(fields, code_field).is_empty() && !default.is_empty() {
                    fields.insert(code_field.into(), json!(default));
                }
                let code = text(fields, code_field);
                if !code.is_empty() && guid(fields, id_field).is_none() {
                    fields.insert(
                        id_field.into(),
                        json!(data.code_id(&format!("{code_field}:{code}")).to_string()),
                    );
                }
            }
        }
        Entity::ItemVariant => {
            let item = match (
                parent.or_else(|| guid(fields, "itemId")),
                text(fields, "itemNumber"),
            ) {
                (Some(item_id), _) => data
                    .row(Entity::Item, item_id)
                    .map(|r| (item_id, text(&r.fields, "number")))
                    .ok_or_else(|| BcFault::dialog("The \"itemId\" does not match to an Item."))?,
                (None, number) if !number.is_empty() => data
                    .find(Entity::Item, "number", &number)
                    .map(|(i, _)| (i, number.clone()))
                    .ok_or_else(|| {
                        BcFault::dialog("The \"itemNumber\" does not match to an Item.")
                    })?,
                _ => return Err(BcFault::dialog("The \"itemId\" does not match to an Item.")),
            };
            fields.insert("itemId".into(), json!(item.0.to_string()));
            fields.insert("itemNumber".into(), json!(item.1));
            let code = text(fields, "code");
            if code.is_empty() {
                return Err(BcFault::dialog(format!(
                    "Code must have a value in Item Variant: Item No.={}, Code=. It cannot be zero or empty.",
                    item.1
                )));
            }
            if data.table(Entity::ItemVariant).any(|(other, r)| {
                *other != id
                    && text(&r.fields, "itemId") == item.0.to_string()
                    && text(&r.fields, "code") == code
            }) {
                return Err(BcFault::new(
                    400,
                    "Internal_EntityWithSameKeyExists",
                    format!(
                        "The Item Variant already exists. Identification fields and values: Item No.='{}',Code='{code}'",
                        item.1
                    ),
                ));
            }
        }
        Entity::ItemCategory | Entity::PaymentTerm | Entity::PaymentMethod | Entity::Location => {
            let code = text(fields, "code");
            if code.is_empty() {
                return Err(BcFault::dialog(format!(
                    "Code must have a value in {}: Code=. It cannot be zero or empty.",
                    entity.table_caption()
                )));
            }
            unique(data, entity, id, "code", "Code", &code)?;
        }
        Entity::SalesOrder | Entity::SalesInvoice | Entity::SalesCreditMemo => {
            document_rules(
                data, settings, entity, id, fields, given, creating, &today, origin,
            )?;
        }
        Entity::SalesOrderLine | Entity::SalesInvoiceLine | Entity::SalesCreditMemoLine => {
            line_rules(data, settings, entity, parent, fields, given, creating)?;
        }
        Entity::ItemLedgerEntry => {}
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn document_rules(
    data: &mut CompanyData,
    settings: &StoreSettings,
    entity: Entity,
    id: Uuid,
    fields: &mut Map<String, Value>,
    given: &[String],
    creating: bool,
    today: &str,
    origin: Origin,
) -> Outcome<()> {
    let given_has = |k: &str| given.iter().any(|g| g == k);
    let (series, date_field) = match entity {
        Entity::SalesOrder => (&ORDERS, "orderDate"),
        Entity::SalesInvoice => (&INVOICES, "invoiceDate"),
        _ => (&CREDIT_MEMOS, "creditMemoDate"),
    };
    if given_has("number") && origin == Origin::Api {
        // Fixture error.application-dialogexception.manual-nos.json.
        return Err(BcFault::dialog(format!(
            "You may not enter numbers manually. If you want to enter numbers manually, please activate Manual Nos. in No. Series {}.",
            series.code
        )));
    }
    if creating || given_has("customerId") || given_has("customerNumber") {
        let by_id = given_has("customerId")
            .then(|| guid(fields, "customerId"))
            .flatten();
        let by_number = given_has("customerNumber")
            .then(|| text(fields, "customerNumber"))
            .filter(|n| !n.is_empty());
        let customer = match (by_id, by_number) {
            (None, None) => {
                // A: APIV2SalesCreditMemos.Page.al SellToCustomerNotProvidedErr.
                return Err(BcFault::dialog(
                    "A \"customerNumber\" or a \"customerId\" must be provided.",
                ));
            }
            (Some(cid), number) => {
                let row = data
                    .row(Entity::Customer, cid)
                    .ok_or_else(|| BcFault::dialog("The sell-to customer cannot be found."))?;
                if number.is_some_and(|n| n != text(&row.fields, "number")) {
                    return Err(BcFault::dialog(
                        "The sell-to customer values do not match to a specific Customer.",
                    ));
                }
                (cid, row.fields.clone())
            }
            (None, Some(number)) => data
                .find(Entity::Customer, "number", &number)
                .map(|(cid, r)| (cid, r.fields.clone()))
                .ok_or_else(|| BcFault::dialog("The sell-to customer cannot be found."))?,
        };
        let (customer_id, customer) = customer;
        if text(&customer, "blocked") == "All" {
            return Err(BcFault::dialog(format!(
                "You cannot create this type of document when Customer {} is blocked with type All",
                text(&customer, "number")
            )));
        }
        fields.insert("customerId".into(), json!(customer_id.to_string()));
        fields.insert("customerNumber".into(), customer["number"].clone());
        fields.insert("customerName".into(), customer["displayName"].clone());
        fields.insert("billToName".into(), customer["displayName"].clone());
        if !given_has("billToCustomerId") && !given_has("billToCustomerNumber") {
            fields.insert("billToCustomerId".into(), json!(customer_id.to_string()));
            fields.insert("billToCustomerNumber".into(), customer["number"].clone());
        }
        let address = [
            ("AddressLine1", "addressLine1"),
            ("AddressLine2", "addressLine2"),
            ("City", "city"),
            ("Country", "country"),
            ("State", "state"),
            ("PostCode", "postalCode"),
        ];
        for prefix in ["sellTo", "billTo", "shipTo"] {
            for (suffix, source) in address {
                let key = format!("{prefix}{suffix}");
                if fields.contains_key(&key) && (prefix == "billTo" || !given_has(&key)) {
                    fields.insert(key, customer.get(source).cloned().unwrap_or(json!("")));
                }
            }
        }
        if fields.contains_key("shipToName") && !given_has("shipToName") {
            fields.insert("shipToName".into(), customer["displayName"].clone());
        }
        for (key, source) in [
            ("email", "email"),
            ("phoneNumber", "phoneNumber"),
            ("currencyCode", "currencyCode"),
            ("paymentTermsId", "paymentTermsId"),
            ("shipmentMethodId", "shipmentMethodId"),
            ("salesperson", "salespersonCode"),
        ] {
            if fields.contains_key(key) && !given_has(key) {
                fields.insert(
                    key.into(),
                    customer.get(source).cloned().unwrap_or(json!("")),
                );
            }
        }
    }
    if text(fields, "currencyCode").is_empty() {
        fields.insert("currencyCode".into(), json!(settings.lcy));
    }
    reference(
        data,
        Entity::PaymentTerm,
        fields,
        "paymentTermsId",
        "The \"paymentTermsId\" does not match to a Payment Terms.",
    )?;
    if creating {
        if text(fields, "number").is_empty() {
            fields.insert("number".into(), json!(data.next_number(series)));
        }
        fields.insert("status".into(), json!("Draft"));
        if text(fields, date_field) == BLANK_DATE {
            fields.insert(date_field.into(), json!(today));
        }
        if text(fields, "postingDate") == BLANK_DATE {
            fields.insert("postingDate".into(), json!(today));
        }
        if fields.contains_key("dueDate") && text(fields, "dueDate") == BLANK_DATE {
            let due = due_date(data, fields, &text(fields, date_field));
            fields.insert("dueDate".into(), json!(due));
        }
        if entity == Entity::SalesOrder && !given_has("partialShipping") {
            fields.insert("partialShipping".into(), json!(true));
        }
    }
    unique(data, entity, id, "number", "No.", &text(fields, "number"))
}

/// Document date plus the payment terms' `nD` due date calculation.
fn due_date(data: &CompanyData, fields: &Map<String, Value>, start: &str) -> String {
    let days = guid(fields, "paymentTermsId")
        .and_then(|t| data.row(Entity::PaymentTerm, t))
        .map(|r| text(&r.fields, "dueDateCalculation"))
        .and_then(|calc| calc.strip_suffix('D').and_then(|n| n.parse::<i64>().ok()))
        .unwrap_or(0);
    start
        .parse::<Date>()
        .ok()
        .and_then(|d| d.checked_add(jiff::Span::new().days(days)).ok())
        .map_or_else(|| start.to_owned(), |d| d.to_string())
}

#[allow(clippy::too_many_arguments)]
fn line_rules(
    data: &mut CompanyData,
    settings: &StoreSettings,
    entity: Entity,
    parent: Option<Uuid>,
    fields: &mut Map<String, Value>,
    given: &[String],
    creating: bool,
) -> Outcome<()> {
    let given_has = |k: &str| given.iter().any(|g| g == k);
    let document = entity.document().unwrap_or(entity);
    let doc_id = parent
        .or_else(|| guid(fields, "documentId"))
        .ok_or_else(|| BcFault::dialog("The \"documentId\" must be provided."))?;
    let header = data
        .row(document, doc_id)
        .ok_or_else(|| BcFault::record_not_found(document.set_name(), &doc_id.to_string()))?
        .fields
        .clone();
    if data.is_posted(doc_id) {
        return Err(BcFault::dialog(
            "The document has been posted and can no longer be changed.",
        ));
    }
    fields.insert("documentId".into(), json!(doc_id.to_string()));
    if creating && !given_has("lineType") {
        let item_like = given_has("itemId") || given_has("lineObjectNumber");
        fields.insert(
            "lineType".into(),
            json!(if item_like { "Item" } else { "Comment" }),
        );
    }
    if creating && !given_has("sequence") {
        let next = data
            .table(entity)
            .filter(|(_, r)| guid(&r.fields, "documentId") == Some(doc_id))
            .map(|(_, r)| r.fields["sequence"].as_i64().unwrap_or(0))
            .max()
            .unwrap_or(0)
            + 10_000;
        fields.insert("sequence".into(), json!(next));
    }
    let date_field = match document {
        Entity::SalesOrder => "orderDate",
        Entity::SalesInvoice => "invoiceDate",
        _ => "creditMemoDate",
    };
    if creating && text(fields, "shipmentDate") == BLANK_DATE {
        fields.insert(
            "shipmentDate".into(),
            header.get(date_field).cloned().unwrap_or(json!(BLANK_DATE)),
        );
    }
    if text(fields, "lineType") == "Item" {
        let by_id = guid(fields, "itemId");
        let by_number = Some(text(fields, "lineObjectNumber")).filter(|n| !n.is_empty());
        let (item_id, item) = match (by_id, by_number) {
            (Some(item_id), number) => {
                let row = data.row(Entity::Item, item_id).ok_or_else(|| BcFault::dialog("The \"itemId\" does not match to an Item."))?;
                if number.is_some_and(|n| given_has("lineObjectNumber") && n != text(&row.fields, "number")) {
                    return Err(BcFault::dialog("The item values do not match to a specific Item."));
                }
                (item_id, row.fields.clone())
            }
            (None, Some(number)) => data
                .find(Entity::Item, "number", &number)
                .map(|(i, r)| (i, r.fields.clone()))
                .ok_or_else(|| {
                    // Standard table-relation error (text inferred).
                    BcFault::new(400, "Internal_InvalidTableRelation", format!("The field No. of table Sales Line contains a value ({number}) that cannot be found in the related table (Item)."))
                })?,
            (None, None) => return Err(BcFault::dialog("The \"itemId\" or \"lineObjectNumber\" must be provided for an item line.")),
        };
        if item.get("blocked") == Some(&Value::Bool(true)) {
            // Standard TestField error (text inferred).
            return Err(BcFault::dialog(format!(
                "Blocked must be equal to 'No'  in Item: No.={}. Current value is 'Yes'.",
                text(&item, "number")
            )));
        }
        fields.insert("itemId".into(), json!(item_id.to_string()));
        fields.insert("lineObjectNumber".into(), item["number"].clone());
        if creating && !given_has("description") {
            fields.insert("description".into(), item["displayName"].clone());
        }
        if creating && !given_has("unitPrice") {
            fields.insert("unitPrice".into(), item["unitPrice"].clone());
        }
        if creating && !given_has("unitOfMeasureCode") {
            fields.insert(
                "unitOfMeasureCode".into(),
                item["baseUnitOfMeasureCode"].clone(),
            );
            fields.insert(
                "unitOfMeasureId".into(),
                item["baseUnitOfMeasureId"].clone(),
            );
        }
        if creating && !given_has("taxCode") {
            fields.insert("taxCode".into(), item["taxGroupCode"].clone());
        }
        if let Some(variant) = guid(fields, "itemVariantId") {
            let ok = data
                .row(Entity::ItemVariant, variant)
                .is_some_and(|v| guid(&v.fields, "itemId") == Some(item_id));
            if !ok {
                return Err(BcFault::dialog(
                    "The \"itemVariantId\" does not match to a Variant of the Item.",
                ));
            }
        }
    }
    reference(
        data,
        Entity::Location,
        fields,
        "locationId",
        "The \"locationId\" does not match to a Location.",
    )?;
    // Amounts.
    let quantity = num(&fields["quantity"]);
    let price = num(&fields["unitPrice"]);
    let gross = round2(quantity * price);
    let discount = if given_has("discountPercent")
        || (!given_has("discountAmount") && num(&fields["discountPercent"]) > 0.0)
    {
        round2(gross * num(&fields["discountPercent"]) / 100.0)
    } else {
        let amount = num(&fields["discountAmount"]);
        let percent = if gross.abs() > f64::EPSILON {
            amount / gross * 100.0
        } else {
            0.0
        };
        fields.insert(
            "discountPercent".into(),
            number((percent * 100_000.0).round() / 100_000.0),
        );
        amount
    };
    fields.insert("discountAmount".into(), number(discount));
    let rate = settings
        .tax_rates
        .get(&text(fields, "taxCode"))
        .copied()
        .unwrap_or(0.0);
    let excl = round2(gross - discount);
    let tax = round2(excl * rate / 100.0);
    fields.insert("amountExcludingTax".into(), number(excl));
    fields.insert("taxPercent".into(), number(rate));
    fields.insert("totalTaxAmount".into(), number(tax));
    fields.insert("amountIncludingTax".into(), number(round2(excl + tax)));
    fields.insert("netAmount".into(), number(excl));
    fields.insert("netTaxAmount".into(), number(tax));
    fields.insert("netAmountIncludingTax".into(), number(round2(excl + tax)));
    if entity == Entity::SalesOrderLine {
        for key in ["shipQuantity", "invoiceQuantity"] {
            if !given_has(key) {
                fields.insert(key.into(), number(quantity));
            }
        }
    }
    Ok(())
}

/// Content type and size of PNG, JPEG or GIF bytes (zeros otherwise).
fn sniff_image(bytes: &[u8]) -> (String, u32, u32) {
    let be32 = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    if bytes.len() >= 24 && bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return (
            "image/png".into(),
            be32(&bytes[16..20]),
            be32(&bytes[20..24]),
        );
    }
    if bytes.len() >= 10 && bytes.starts_with(b"GIF8") {
        let w = u32::from(u16::from_le_bytes([bytes[6], bytes[7]]));
        let h = u32::from(u16::from_le_bytes([bytes[8], bytes[9]]));
        return ("image/gif".into(), w, h);
    }
    if bytes.starts_with(&[0xFF, 0xD8]) {
        let mut i = 2;
        while i + 9 < bytes.len() {
            if bytes[i] != 0xFF {
                break;
            }
            let marker = bytes[i + 1];
            let len = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
            if (0xC0..=0xC3).contains(&marker) {
                let h = u32::from(u16::from_be_bytes([bytes[i + 5], bytes[i + 6]]));
                let w = u32::from(u16::from_be_bytes([bytes[i + 7], bytes[i + 8]]));
                return ("image/jpeg".into(), w, h);
            }
            i += 2 + len;
        }
        return ("image/jpeg".into(), 0, 0);
    }
    ("application/octet-stream".into(), 0, 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn store() -> (Store, Uuid, Timestamp) {
        let now: Timestamp = "2026-03-02T10:00:00Z".parse().unwrap();
        let mut store = Store::new(StoreSettings {
            lcy: "USD".into(),
            tax_rates: BTreeMap::from([("STANDARD".to_owned(), 10.0)]),
            customer_contacts: true,
        });
        let company = Uuid::new_v4();
        store
            .companies
            .push(CompanyData::new(company, "CRONUS", "CRONUS USA, Inc.", now));
        (store, company, now)
    }

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(map) => map,
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn etags_look_like_bc_and_change_per_version() {
        let a = etag_of(1);
        assert!(a.starts_with("W/\"Jz") && a.ends_with('"'), "{a}");
        assert_ne!(a, etag_of(2));
    }

    #[test]
    fn numbers_come_from_series_and_manual_document_numbers_are_refused() {
        let (mut s, c, now) = store();
        let id = s
            .create(
                c,
                Entity::Customer,
                None,
                &obj(json!({"displayName": "Adatum"})),
                now,
                Origin::Api,
            )
            .unwrap();
        assert_eq!(
            s.get(c, Entity::Customer, id).unwrap().fields["number"],
            "C00010"
        );
        let err = s
            .create(
                c,
                Entity::SalesOrder,
                None,
                &obj(json!({"customerNumber": "C00010", "number": "X1"})),
                now,
                Origin::Api,
            )
            .unwrap_err();
        assert_eq!(err.code, "Application_DialogException");
        assert!(err.message.contains("No. Series S-ORD"));
        let order = s
            .create(
                c,
                Entity::SalesOrder,
                None,
                &obj(json!({"customerNumber": "c00010"})),
                now,
                Origin::Api,
            )
            .unwrap();
        let row = s.get(c, Entity::SalesOrder, order).unwrap();
        assert_eq!(row.fields["number"], "S-ORD101001");
        assert_eq!(row.fields["customerName"], "Adatum");
        assert_eq!(row.fields["requestedDeliveryDate"], "0001-01-01");
    }

    #[test]
    fn deep_insert_is_all_or_nothing_and_computes_totals() {
        let (mut s, c, now) = store();
        s.create(
            c,
            Entity::Customer,
            None,
            &obj(json!({"displayName": "Adatum"})),
            now,
            Origin::Api,
        )
        .unwrap();
        s.create(c, Entity::Item, None, &obj(json!({"number": "1000", "displayName": "Desk", "unitPrice": 12.5, "taxGroupCode": "STANDARD"})), now, Origin::Api).unwrap();
        let err = s
            .create(
                c,
                Entity::SalesOrder,
                None,
                &obj(json!({"customerNumber": "C00010", "salesOrderLines": [
                    {"lineType": "Item", "lineObjectNumber": "1000", "quantity": 2},
                    {"lineType": "Item", "lineObjectNumber": "NOPE", "quantity": 1}
                ]})),
                now,
                Origin::Api,
            )
            .unwrap_err();
        assert_eq!(err.code, "Internal_InvalidTableRelation");
        assert!(s.rows(c, Entity::SalesOrder, None).is_empty());
        assert!(s.rows(c, Entity::SalesOrderLine, None).is_empty());
        let id = s.create(c, Entity::SalesOrder, None, &obj(json!({"customerNumber": "C00010", "salesOrderLines": [
            {"lineType": "Item", "lineObjectNumber": "1000", "quantity": 2},
            {"itemId": s.rows(c, Entity::Item, None)[0].0.to_string(), "quantity": 1, "unitPrice": 10}
        ]})), now, Origin::Api).unwrap();
        let header = s.get(c, Entity::SalesOrder, id).unwrap();
        assert_eq!(header.fields["totalAmountExcludingTax"], json!(35.0));
        assert_eq!(header.fields["totalTaxAmount"], json!(3.5));
        assert_eq!(header.fields["totalAmountIncludingTax"], json!(38.5));
        let lines = s.rows(c, Entity::SalesOrderLine, Some(id));
        assert_eq!(lines[1].1.fields["sequence"], json!(20000));
        // The order number came from the series once: the failed insert rolled it back.
        assert_eq!(header.fields["number"], "S-ORD101001");
    }

    #[test]
    fn if_match_is_required_and_checked() {
        let (mut s, c, now) = store();
        let id = s
            .create(
                c,
                Entity::Item,
                None,
                &obj(json!({"displayName": "Desk"})),
                now,
                Origin::Api,
            )
            .unwrap();
        let tag = etag_of(s.get(c, Entity::Item, id).unwrap().version);
        let patch = obj(json!({"displayName": "Desk 2"}));
        assert_eq!(
            s.update(c, Entity::Item, id, None, &patch, now, Origin::Api)
                .unwrap_err()
                .code,
            "BadRequest_InvalidToken"
        );
        s.update(c, Entity::Item, id, Some(&tag), &patch, now, Origin::Api)
            .unwrap();
        assert_eq!(
            s.update(c, Entity::Item, id, Some(&tag), &patch, now, Origin::Api)
                .unwrap_err()
                .status,
            409
        );
        s.update(c, Entity::Item, id, Some("*"), &patch, now, Origin::Api)
            .unwrap();
    }

    #[test]
    fn inventory_comes_from_the_ledger_without_touching_the_item() {
        let (mut s, c, now) = store();
        let id = s
            .create(
                c,
                Entity::Item,
                None,
                &obj(json!({"number": "1000", "displayName": "Desk"})),
                now,
                Origin::Api,
            )
            .unwrap();
        let before = s.get(c, Entity::Item, id).unwrap();
        s.post_ledger(
            c,
            &LedgerPost {
                item_number: "1000".into(),
                entry_type: "Positive_x0020_Adjmt_x002E_",
                quantity: 7.0,
                document_type: "_x0020_",
                document_number: "ADJ".into(),
                source_type: "_x0020_",
                source_number: String::new(),
                sales_amount: 0.0,
                location: Some("EAST".into()),
                posting_date: Date::constant(2026, 3, 2),
            },
            now,
        )
        .unwrap();
        let after = s.get(c, Entity::Item, id).unwrap();
        assert_eq!(after.fields["inventory"], json!(7.0));
        assert_eq!(after.version, before.version);
        assert_eq!(
            after.fields["lastModifiedDateTime"],
            before.fields["lastModifiedDateTime"]
        );
        let tag = etag_of(after.version);
        s.update(
            c,
            Entity::Item,
            id,
            Some(&tag),
            &obj(json!({"inventory": 5})),
            now,
            Origin::Api,
        )
        .unwrap();
        let entries = s.rows(c, Entity::ItemLedgerEntry, None);
        assert_eq!(entries.len(), 2);
        assert_eq!(
            entries[1].1.fields["entryType"],
            "Negative_x0020_Adjmt_x002E_"
        );
        assert_eq!(
            s.get(c, Entity::Item, id).unwrap().fields["inventory"],
            json!(5.0)
        );
    }

    #[test]
    fn a_renamed_item_takes_its_variants_ledger_and_lines_along() {
        let (mut s, c, now) = store();
        for (entity, body) in [
            (Entity::Customer, json!({"displayName": "Adatum"})),
            (
                Entity::Item,
                json!({"number": "OLD", "displayName": "Desk"}),
            ),
            (
                Entity::Item,
                json!({"number": "TAKEN", "displayName": "Chair"}),
            ),
            (
                Entity::ItemVariant,
                json!({"itemNumber": "OLD", "code": "RED"}),
            ),
        ] {
            s.create(c, entity, None, &obj(body), now, Origin::Api)
                .unwrap();
        }
        let order = s
            .create(
                c,
                Entity::SalesOrder,
                None,
                &obj(json!({"customerNumber": "C00010", "salesOrderLines": [
                    {"lineType": "Item", "lineObjectNumber": "OLD", "quantity": 2}
                ]})),
                now,
                Origin::Api,
            )
            .unwrap();
        let id = s
            .rows(c, Entity::Item, None)
            .into_iter()
            .find(|(_, r)| r.fields["number"] == "OLD")
            .unwrap()
            .0;
        s.update(
            c,
            Entity::Item,
            id,
            Some("*"),
            &obj(json!({"inventory": 3})),
            now,
            Origin::Api,
        )
        .unwrap();
        let variant_before = s.rows(c, Entity::ItemVariant, None)[0].1.version;

        let err = s
            .update(
                c,
                Entity::Item,
                id,
                Some("*"),
                &obj(json!({"number": "TAKEN"})),
                now,
                Origin::Api,
            )
            .unwrap_err();
        assert_eq!(err.code, "Internal_EntityWithSameKeyExists");
        s.update(
            c,
            Entity::Item,
            id,
            Some("*"),
            &obj(json!({"number": "NEW"})),
            now,
            Origin::Api,
        )
        .unwrap();
        let item = s.get(c, Entity::Item, id).unwrap();
        assert_eq!(item.fields["number"], "NEW");
        assert_eq!(item.fields["inventory"], json!(3.0), "the ledger followed");
        let variant = &s.rows(c, Entity::ItemVariant, None)[0].1;
        assert_eq!(variant.fields["itemNumber"], "NEW");
        assert_ne!(variant.version, variant_before, "a new ETag");
        let entries = s.rows(c, Entity::ItemLedgerEntry, None);
        assert!(entries.iter().all(|(_, e)| e.fields["itemNumber"] == "NEW"));
        let lines = s.rows(c, Entity::SalesOrderLine, Some(order));
        assert_eq!(lines[0].1.fields["lineObjectNumber"], "NEW");
    }

    #[test]
    fn field_rules() {
        let (mut s, c, now) = store();
        let long = "x".repeat(31);
        let e = s
            .create(
                c,
                Entity::Customer,
                None,
                &obj(json!({"displayName": "A", "city": long})),
                now,
                Origin::Api,
            )
            .unwrap_err();
        assert_eq!(e.code, "Application_StringExceededLength");
        let e = s
            .create(
                c,
                Entity::Customer,
                None,
                &obj(json!({"city": "X"})),
                now,
                Origin::Api,
            )
            .unwrap_err();
        assert_eq!(e.message, "A \"displayName\" must be provided.");
        let e = s
            .create(
                c,
                Entity::Customer,
                None,
                &obj(json!({"displayName": "A", "taxAreaDisplayName": "X"})),
                now,
                Origin::Api,
            )
            .unwrap_err();
        assert_eq!(e.message, "Control 'taxAreaDisplayName' is read-only.");
        let e = s
            .create(
                c,
                Entity::Customer,
                None,
                &obj(json!({"displayName": "A", "paymentTermsId": Uuid::new_v4().to_string()})),
                now,
                Origin::Api,
            )
            .unwrap_err();
        assert_eq!(
            e.message,
            "The \"paymentTermsId\" does not match to a Payment Terms."
        );
        let e = s
            .create(
                c,
                Entity::Item,
                None,
                &obj(json!({"displayName": "A", "type": "Invalid Type"})),
                now,
                Origin::Api,
            )
            .unwrap_err();
        assert_eq!(
            e.message,
            "'Invalid Type' is not an option. The existing options are: Inventory,Service,Non-Inventory"
        );
        s.create(
            c,
            Entity::Item,
            None,
            &obj(json!({"number": "1000", "displayName": "A"})),
            now,
            Origin::Api,
        )
        .unwrap();
        let e = s
            .create(
                c,
                Entity::Item,
                None,
                &obj(json!({"number": "1000", "displayName": "B"})),
                now,
                Origin::Api,
            )
            .unwrap_err();
        assert_eq!(e.code, "Internal_EntityWithSameKeyExists");
        let e = s
            .create(
                c,
                Entity::Item,
                None,
                &obj(json!({"displayName": "A", "inventory": 3})),
                now,
                Origin::Api,
            )
            .unwrap_err();
        assert_eq!(e.message, "Inventory cannot be changed during on insert.");
        let e = s
            .create(
                c,
                Entity::SalesOrder,
                None,
                &obj(json!({"externalDocumentNumber": "1"})),
                now,
                Origin::Api,
            )
            .unwrap_err();
        assert_eq!(
            e.message,
            "A \"customerNumber\" or a \"customerId\" must be provided."
        );
    }

    #[test]
    fn customers_get_a_contact_and_contacts_information() {
        let (mut s, c, now) = store();
        let customer = s
            .create(
                c,
                Entity::Customer,
                None,
                &obj(json!({"displayName": "Adatum Corporation"})),
                now,
                Origin::Api,
            )
            .unwrap();
        let company_contact = s.rows(c, Entity::Contact, None)[0].1.fields["number"].clone();
        s.create(c, Entity::Contact, None, &obj(json!({"displayName": "Robert Townes", "type": "Person", "companyNumber": company_contact})), now, Origin::Api).unwrap();
        let info = s.contacts_information(c, customer);
        assert_eq!(info.len(), 2);
        assert_eq!(info[1]["contactName"], "Robert Townes");
        assert_eq!(info[1]["contactType"], "Person");
    }

    #[test]
    fn images_are_sniffed() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        png.extend_from_slice(&400_u32.to_be_bytes());
        png.extend_from_slice(&300_u32.to_be_bytes());
        assert_eq!(sniff_image(&png), ("image/png".into(), 400, 300));
    }
}
