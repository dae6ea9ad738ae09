//! The Business Central side of the orders flow: a sale's documents, made once.
//!
//! - **Never twice.** Every document carries `externalDocumentNumber` = the sale's
//!   reference (`LS-<saleID>`) and a SystemId derived from the sale id. Before a create the
//!   sink looks for the reference among the documents of its kind (drafts and posted
//!   invoices alike: BC lists both in `salesInvoices`, and a posted invoice keeps its id).
//!   One found that the sync made (its id is the derived one, or BC does not keep the ids
//!   the sync chooses, so none can be told apart) is linked again and the sale goes on;
//!   one someone else made (BC keeps our ids, and it has another) is an error, and the sale
//!   is skipped — never overwritten.
//! - **All or nothing.** A document is created with its lines in one deep insert; a
//!   document BC made with another price basis than the lines were sent in is deleted and
//!   made again in the right one (the basis is remembered per customer).
//! - **Items must exist.** Every item line's item (and variant) is found first: by the
//!   products flow's link, by the SystemId that flow gives items, by the SKU as item
//!   number. One missing → the sale waits (state `waiting`, naming the SKUs) and nothing
//!   is written; the `SaleWaiting` stream brings it back on every poll.
//! - **To the cent.** BC's `totalAmountIncludingTax` is compared with Lightspeed's: equal
//!   → done; within the tolerance → a rounding line to the rounding account, checked
//!   again; beyond (or no rounding account) → the draft stays, the sale is `held` with
//!   both figures, and it is checked again on every poll (an accountant may fix it).
//! - **Voids.** Nothing in BC → skipped and logged; a draft → deleted; a posted invoice →
//!   cancelled (`Microsoft.NAV.cancel`: a corrective credit memo, posted).
//! - **Edits.** A sale changed after its documents exist is a `conflict`: never
//!   overwritten; `lsbc orders relink SALE_ID` makes it again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use lsbc_business_central::{BcError, ETag, EntityPath, EntitySet, Filter, Record};
use lsbc_core::ports::{
    Action, Clock, LinkStore, PushRequest, RecordState, Sink, SinkOutcome, StateStore,
};
use lsbc_core::{Flow, RecordKey, SourceVersion, StageError};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::command::{
    CustomerRef, DocumentCommand, DocumentKind, ItemRef, LineCommand, LineKind, OrderCommand,
    SaleStatus,
};
use super::keys::document_system_id;
use super::source::{DISCOVERED, HELD, POSTING, RELINK, WAITING};
use crate::business_central::{Trail, Writer, external, is_not_found};
use crate::config::ConfigCache;
use crate::customers::CustomerSink;
use crate::ids::{IdScope, IdScopes};
use crate::products::{ProductKey, item_system_id, matrix_system_id, variant_system_id};

/// The states a sale goes through (`lsbc orders list --state …`).
pub mod states {
    /// Its items are not all in Business Central yet.
    pub const WAITING: &str = super::WAITING;
    /// Its documents exist as drafts (or an open order).
    pub const CREATED: &str = "created";
    /// Its invoice is posted.
    pub const POSTED: &str = "posted";
    /// Posting was asked for and BC posts in the background: checked again on every poll.
    pub const POSTING: &str = super::POSTING;
    /// Its documents disagree with Lightspeed's total beyond the tolerance, or BC refused
    /// to post: the draft stays, checked again on every poll.
    pub const HELD: &str = super::HELD;
    /// Voided in Lightspeed: its draft deleted, or nothing had reached BC.
    pub const VOIDED: &str = "voided";
    /// Voided after posting: its invoice cancelled by a corrective credit memo.
    pub const CREDITED: &str = "credited";
    /// Changed in Lightspeed after its documents were made: left as they are.
    pub const CONFLICT: &str = "conflict";
    /// Asked by `lsbc orders relink` to be made again (its drafts replaced on the next
    /// poll).
    pub const RELINK: &str = super::RELINK;
    /// Seen, not settled yet (in the queues).
    pub const DISCOVERED: &str = super::DISCOVERED;
    /// It cannot be made as it is (a walk-in sale without a default customer, a customer in
    /// another currency, …): parked in the dead-letter queue with the reason.
    pub const FAILED: &str = "failed";
    /// Every state, for the CLI.
    pub const ALL: [&str; 11] = [
        DISCOVERED, WAITING, CREATED, POSTED, POSTING, HELD, VOIDED, CREDITED, CONFLICT, RELINK,
        FAILED,
    ];
}

/// One document as BC holds it after the sink's work.
#[derive(Debug, Clone)]
struct Made {
    kind: DocumentKind,
    reference: String,
    record: Record,
    action: Action,
}

impl Made {
    fn id(&self) -> Option<Uuid> {
        self.record.id()
    }

    fn summary(&self) -> Value {
        json!({
            "kind": self.kind.as_str(),
            "id": self.record.str("id"),
            "number": self.record.str("number"),
            "reference": self.reference,
            "status": self.record.str("status"),
            "total": self.record.get("totalAmountIncludingTax"),
            "made": self.action == Action::Created,
        })
    }
}

/// The orders flow's sink.
#[derive(Clone)]
pub struct OrderSink {
    writer: Writer,
    links: Arc<dyn LinkStore>,
    states: Arc<dyn StateStore>,
    clock: Arc<dyn Clock>,
    config: Arc<ConfigCache>,
    customers: CustomerSink,
    /// BC's price basis (`pricesIncludeTax`) of each customer's documents, as learned.
    bases: Arc<Mutex<HashMap<String, bool>>>,
    /// Location ids by code.
    locations: Arc<Mutex<HashMap<String, Uuid>>>,
    /// How the ids the sync gives BC records carry the Lightspeed account.
    scopes: Arc<IdScopes>,
}

impl std::fmt::Debug for OrderSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderSink").finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn amount(value: Decimal) -> Value {
    value
        .to_f64()
        .and_then(serde_json::Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

fn decimal_of(record: &Record, field: &str) -> Decimal {
    match record.get(field) {
        Some(Value::Number(n)) => n
            .as_f64()
            .and_then(Decimal::from_f64_retain)
            .map(|d| d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero))
            .unwrap_or_default(),
        Some(Value::String(s)) => s.parse().unwrap_or_default(),
        _ => Decimal::ZERO,
    }
}

fn is_draft(record: &Record) -> bool {
    record.str("status") == Some("Draft")
}

impl OrderSink {
    /// A sink writing through `writer`; links find customers and items the other flows
    /// made, states keep where each sale stands, `config` gives the customers flow's rules
    /// for a sale's customer not synced yet.
    pub fn new(
        writer: Writer,
        links: Arc<dyn LinkStore>,
        states: Arc<dyn StateStore>,
        clock: Arc<dyn Clock>,
        config: Arc<ConfigCache>,
        customers: CustomerSink,
    ) -> Self {
        Self {
            writer,
            links,
            states,
            clock,
            config,
            customers,
            bases: Arc::default(),
            locations: Arc::default(),
            scopes: Arc::new(IdScopes::unscoped()),
        }
    }

    /// Derives ids with the account the deployment recorded in `scopes` (its documents',
    /// and the items' and customers' the other flows made); without it, from the
    /// Lightspeed id alone.
    #[must_use]
    pub fn with_scopes(mut self, scopes: Arc<IdScopes>) -> Self {
        self.customers = self.customers.with_scopes(scopes.clone());
        self.scopes = scopes;
        self
    }

    async fn scope(&self) -> Result<IdScope, StageError> {
        Ok(self.scopes.of().await?)
    }

    /// Moves the sale's state from `current` (read once at the start of the push) to `name`
    /// with `reason` and `detail`, and keeps what was stored in `current` (a lost race with
    /// another writer of the same sale is a conflict, retried by the queue).
    async fn set_state(
        &self,
        current: &mut Option<RecordState>,
        key: &RecordKey,
        name: &str,
        reason: String,
        detail: Map<String, Value>,
    ) -> Result<RecordState, StageError> {
        let now = self.clock.now();
        let mut next = match current.as_ref() {
            Some(current) => current.moved(name, now),
            None => RecordState::new(Flow::Orders, key.clone(), name, now),
        };
        next.reason = reason;
        for (k, v) in detail {
            next.detail.insert(k, v);
        }
        let stored = self.states.put_state(&next).await?;
        *current = Some(stored.clone());
        Ok(stored)
    }

    /// The BC customer of the sale: `customerId` or `customerNumber` for the header.
    async fn customer(
        &self,
        key: &RecordKey,
        cmd: &OrderCommand,
        version: &SourceVersion,
    ) -> Result<(String, Value), StageError> {
        match &cmd.customer {
            CustomerRef::Default { number } => Ok(("customerNumber".into(), json!(number))),
            CustomerRef::Lightspeed {
                customer_id,
                record,
            } => {
                let customer_key = RecordKey::parse(customer_id.as_str()).map_err(|e| {
                    StageError::InvalidRecord {
                        key: key.clone(),
                        field: "customerID".into(),
                        reason: e.to_string(),
                    }
                })?;
                if let Some(link) = self.links.get(Flow::Customers, &customer_key).await?
                    && link.target_id.parse::<Uuid>().is_ok()
                {
                    return Ok(("customerId".into(), json!(link.target_id)));
                }
                // Not synced yet: found or created by the customers flow's own rules.
                let config = self.config.get(Flow::Customers).await?;
                let record = lsbc_core::Record {
                    flow: Flow::Customers,
                    key: customer_key.clone(),
                    version: version.clone(),
                    payload: record.clone(),
                };
                let commands = crate::customers::map(&record, &config).map_err(|e| match e {
                    StageError::Skipped { rule, .. } => StageError::InvalidRecord {
                        key: key.clone(),
                        field: "customerID".into(),
                        reason: format!(
                            "its customer {customer_id} is not synced by the customers flow: {rule}"
                        ),
                    },
                    other => other,
                })?;
                let first = commands.first().ok_or_else(|| StageError::InvalidRecord {
                    key: key.clone(),
                    field: "customerID".into(),
                    reason: format!("its customer {customer_id} maps to nothing"),
                })?;
                let outcome = self
                    .customers
                    .upsert(PushRequest {
                        key: &customer_key,
                        version,
                        match_key: &first.match_key,
                        command: &first.command,
                        link: None,
                    })
                    .await?;
                Ok(("customerId".into(), json!(outcome.target_id)))
            }
        }
    }

    /// The BC item (and variant) of a Lightspeed item, if it exists.
    async fn item(
        &self,
        key: &RecordKey,
        item: &ItemRef,
    ) -> Result<Option<(Uuid, Option<Uuid>)>, StageError> {
        let Some(matrix) = item.matrix_id else {
            let record_key = ProductKey::Item(item.item_id).record_key()?;
            if let Some(link) = self.links.get(Flow::Products, &record_key).await?
                && let Ok(id) = link.target_id.parse::<Uuid>()
            {
                return Ok(Some((id, None)));
            }
            if let Some(r) = self
                .writer
                .get(
                    key,
                    EntitySet::Items,
                    item_system_id(&self.scope().await?, item.item_id),
                )
                .await?
            {
                return Ok(r.id().map(|id| (id, None)));
            }
            if item.sku.is_empty() {
                return Ok(None);
            }
            let found = self
                .writer
                .find(
                    key,
                    EntitySet::Items,
                    Filter::eq("number", item.sku.as_str()),
                )
                .await?;
            return Ok(found.and_then(|r| r.id()).map(|id| (id, None)));
        };
        let matrix_key = ProductKey::Matrix(matrix).record_key()?;
        let parent = match self.links.get(Flow::Products, &matrix_key).await? {
            Some(link) => link.target_id.parse::<Uuid>().ok(),
            None => self
                .writer
                .get(
                    key,
                    EntitySet::Items,
                    matrix_system_id(&self.scope().await?, matrix),
                )
                .await?
                .and_then(|r| r.id()),
        };
        let Some(parent) = parent else {
            return Ok(None);
        };
        let wanted = item.item_id.to_string();
        for part in 1.. {
            let part_key = ProductKey::Variants { matrix, part }.record_key()?;
            let Some(link) = self.links.get(Flow::Products, &part_key).await? else {
                break;
            };
            if let Some(id) = link
                .extra
                .get("variants")
                .and_then(|v| v.get(&wanted))
                .and_then(|v| v.get("id"))
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<Uuid>().ok())
            {
                return Ok(Some((parent, Some(id))));
            }
        }
        let variant = self
            .writer
            .get(
                key,
                EntitySet::ItemVariants,
                variant_system_id(&self.scope().await?, item.item_id),
            )
            .await?;
        Ok(variant.and_then(|v| v.id()).map(|v| (parent, Some(v))))
    }

    /// The posted invoice of sale `sale` (reference `reference`): `Err` with the reason to
    /// wait while it is a draft or not made yet; `None` when BC has it under an id the sync
    /// cannot read.
    async fn original_invoice(
        &self,
        key: &RecordKey,
        sale: u64,
        reference: &str,
    ) -> Result<Option<Result<Uuid, String>>, StageError> {
        let Ok(original) = RecordKey::parse(sale.to_string()) else {
            return Ok(None);
        };
        let linked = self
            .links
            .get(Flow::Orders, &original)
            .await?
            .and_then(|link| {
                link.extra
                    .get("documents")
                    .and_then(Value::as_array)
                    .and_then(|docs| {
                        docs.iter()
                            .find(|d| d.get("kind").and_then(Value::as_str) == Some("invoice"))
                    })
                    .and_then(|d| d.get("id").and_then(Value::as_str))
                    .and_then(|id| id.parse::<Uuid>().ok())
            });
        let record = match linked {
            Some(id) => self.writer.get(key, EntitySet::SalesInvoices, id).await?,
            // Not linked (yet): the original may be on its way, or made before a lost state.
            None => {
                self.writer
                    .find_document(key, EntitySet::SalesInvoices, reference)
                    .await?
            }
        };
        let Some(record) = record else {
            return Ok(Some(Err(format!(
                "sale {sale}, whose units it returns, has no invoice in Business Central yet: the credit memo waits for it"
            ))));
        };
        let Some(id) = record.id() else {
            return Ok(None);
        };
        if is_draft(&record) {
            return Ok(Some(Err(format!(
                "the invoice {} of sale {sale}, whose units it returns, is still a draft: the credit memo waits until it is posted",
                record.str("number").unwrap_or("?")
            ))));
        }
        Ok(Some(Ok(id)))
    }

    /// The id of location `code`, read once.
    async fn location(&self, key: &RecordKey, code: &str) -> Result<Uuid, StageError> {
        if let Some(id) = lock(&self.locations).get(code) {
            return Ok(*id);
        }
        let found = self
            .writer
            .find(key, EntitySet::Locations, Filter::eq("code", code))
            .await?
            .and_then(|r| r.id())
            .ok_or_else(|| StageError::InvalidRecord {
                key: key.clone(),
                field: "locations".into(),
                reason: format!("Business Central has no location `{code}` (setting locations)"),
            })?;
        lock(&self.locations).insert(code.to_owned(), found);
        Ok(found)
    }

    /// The line bodies of `doc`, in the price basis `gross` (tax included) or not.
    async fn line_bodies(
        &self,
        key: &RecordKey,
        doc: &DocumentCommand,
        items: &HashMap<u64, (Uuid, Option<Uuid>)>,
        sale_gross: bool,
        gross: bool,
    ) -> Result<Vec<Value>, StageError> {
        let mut out = Vec::with_capacity(doc.lines.len());
        for line in &doc.lines {
            let target = match (&line.kind, &line.item) {
                (LineKind::Item, Some(item)) => {
                    let Some((item_id, variant)) = items.get(&item.item_id) else {
                        return Err(StageError::InvalidRecord {
                            key: key.clone(),
                            field: "SaleLines.itemID".into(),
                            reason: format!("item {} was not found", item.sku),
                        });
                    };
                    let location = match &line.location {
                        Some(code) => Some(self.location(key, code).await?),
                        None => None,
                    };
                    LineTarget::Found {
                        item: *item_id,
                        variant: *variant,
                        location,
                    }
                }
                _ => LineTarget::Preview,
            };
            out.push(Value::Object(line_body(line, sale_gross, gross, &target)));
        }
        Ok(out)
    }

    /// The document of `doc` the sale already has in BC, if any; an error when the one
    /// found carries our reference but was not made by the sync.
    async fn existing(
        &self,
        key: &RecordKey,
        cmd: &OrderCommand,
        doc: &DocumentCommand,
    ) -> Result<Option<Record>, StageError> {
        let mine = document_system_id(&self.scope().await?, cmd.sale_id, doc.kind, doc.second);
        let mut sets = vec![doc.kind.entity_set()];
        if doc.kind == DocumentKind::Order {
            // A shipped and invoiced order is gone; its posted invoice carries the reference.
            sets.push(EntitySet::SalesInvoices);
        }
        for set in sets {
            let Some(found) = self.writer.find_document(key, set, &doc.reference).await? else {
                continue;
            };
            // An order of ours shipped and invoiced in BC is gone; its posted invoice, a new
            // record with its own id, carries the order's number and our reference.
            let from_our_order = doc.kind == DocumentKind::Order
                && set == EntitySet::SalesInvoices
                && found.str("orderNumber").is_some_and(|n| !n.is_empty());
            let ours = found.id() == Some(mine)
                || from_our_order
                || !self.writer.honours_ids(key, set).await?;
            if !ours {
                tracing::error!(
                    flow = %Flow::Orders, record_key = %key, reference = %doc.reference,
                    number = found.str("number").unwrap_or("?"),
                    "A document with this sale's reference exists that the sync did not make; the sale is skipped."
                );
                return Err(StageError::Skipped {
                    key: key.clone(),
                    rule: format!(
                        "Business Central {} {} already carries the reference {} and was not made by the sync: left as it is",
                        set,
                        found.str("number").unwrap_or("?"),
                        doc.reference
                    ),
                });
            }
            return Ok(Some(found));
        }
        Ok(None)
    }

    /// Creates `doc` with its lines in one deep insert, in the customer's price basis.
    #[allow(clippy::too_many_arguments)]
    async fn create(
        &self,
        key: &RecordKey,
        cmd: &OrderCommand,
        doc: &DocumentCommand,
        customer: &(String, Value),
        items: &HashMap<u64, (Uuid, Option<Uuid>)>,
        trail: &mut Trail,
    ) -> Result<Record, StageError> {
        let set = doc.kind.entity_set();
        let lines_nav = set
            .lines()
            .ok_or_else(|| StageError::Config(format!("{set} has no lines")))?;
        let basis_key = customer.1.to_string();
        let mut gross = lock(&self.bases)
            .get(&basis_key)
            .copied()
            .unwrap_or(cmd.prices_include_tax);
        for _ in 0..2 {
            let mut body = doc.header.clone();
            body.insert(customer.0.clone(), customer.1.clone());
            body.insert(
                lines_nav.as_str().to_owned(),
                Value::Array(
                    self.line_bodies(key, doc, items, cmd.prices_include_tax, gross)
                        .await?,
                ),
            );
            let created = self
                .writer
                .create(
                    key,
                    set.into(),
                    set.into(),
                    document_system_id(&self.scope().await?, cmd.sale_id, doc.kind, doc.second),
                    body,
                    trail,
                )
                .await?
                .record;
            if let Some(wanted) = &cmd.currency_code
                && let Some(made) = created.str("currencyCode")
                && !made.is_empty()
                && !made.eq_ignore_ascii_case(wanted)
            {
                // The customer's currency is not the sale's: no document rather than one in
                // the wrong money.
                self.delete(key, set, &created, trail).await?;
                return Err(StageError::InvalidRecord {
                    key: key.clone(),
                    field: "currency_code".into(),
                    reason: format!(
                        "the sale is in {wanted}; Business Central customer {} invoices in {made}",
                        created.str("customerNumber").unwrap_or("?")
                    ),
                });
            }
            let basis = created.get("pricesIncludeTax").and_then(Value::as_bool);
            lock(&self.bases).insert(basis_key.clone(), basis.unwrap_or(gross));
            match basis {
                Some(b) if b != gross => {
                    // Made in the other basis: its lines' prices mean something else. Made
                    // again in BC's.
                    self.delete(key, set, &created, trail).await?;
                    gross = b;
                }
                _ => return Ok(created),
            }
        }
        Err(StageError::InvalidRecord {
            key: key.clone(),
            field: "pricesIncludeTax".into(),
            reason: "Business Central changed the document's price basis twice".into(),
        })
    }

    async fn delete(
        &self,
        key: &RecordKey,
        set: EntitySet,
        record: &Record,
        trail: &mut Trail,
    ) -> Result<(), StageError> {
        let Some(id) = record.id() else {
            return Ok(());
        };
        let etag = record.etag().cloned().unwrap_or_else(ETag::any);
        trail
            .sent
            .push(json!({"method": "DELETE", "path": EntityPath::from(set).entity_url(id)}));
        match self.writer.client().delete(set, id, &etag).await {
            Ok(()) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(external(Some(key), e)),
        }
    }

    async fn reread(
        &self,
        key: &RecordKey,
        set: EntitySet,
        id: Uuid,
    ) -> Result<Record, StageError> {
        self.writer
            .get(key, set, id)
            .await?
            .ok_or_else(|| StageError::InvalidRecord {
                key: key.clone(),
                field: format!("{set}.id"),
                reason: format!("document {id} disappeared from Business Central"),
            })
    }

    /// Checks the document's total against Lightspeed's, adding a rounding line within the
    /// tolerance. `Err(reason)`: the sale is held.
    async fn settle_total(
        &self,
        key: &RecordKey,
        cmd: &OrderCommand,
        doc: &DocumentCommand,
        record: Record,
        trail: &mut Trail,
    ) -> Result<Result<Record, String>, StageError> {
        let set = doc.kind.entity_set();
        let total = decimal_of(&record, "totalAmountIncludingTax");
        let diff = doc.expected_total - total;
        if diff.is_zero() {
            return Ok(Ok(record));
        }
        let reason = format!(
            "Business Central's total {total} differs from Lightspeed's {} by {diff}",
            doc.expected_total
        );
        let Some(account) = cmd
            .rounding_account
            .as_ref()
            .filter(|_| diff.abs() <= cmd.rounding_tolerance)
        else {
            return Ok(Err(reason));
        };
        if !is_draft(&record) {
            return Ok(Err(reason));
        }
        let id = record.id().ok_or_else(|| StageError::InvalidRecord {
            key: key.clone(),
            field: format!("{set}.id"),
            reason: "Business Central returned a document without id".into(),
        })?;
        let lines = set
            .lines()
            .ok_or_else(|| StageError::Config(format!("{set} has no lines")))?;
        let path = EntityPath::nested(set, id, lines);
        let mut body = Map::new();
        body.insert("lineType".into(), json!("Account"));
        body.insert("lineObjectNumber".into(), json!(account));
        body.insert(
            "description".into(),
            json!("Rounding to Lightspeed's total"),
        );
        body.insert("quantity".into(), json!(1));
        body.insert("unitPrice".into(), amount(diff));
        trail
            .sent
            .push(json!({"method": "POST", "path": path.collection_url(), "body": body}));
        self.writer
            .client()
            .create(path, body)
            .await
            .map_err(|e| external(Some(key), e))?;
        trail.warn(
            Flow::Orders,
            key,
            &format!("{reason}: a rounding line of {diff} to account {account}"),
        );
        let again = self.reread(key, set, id).await?;
        let now = decimal_of(&again, "totalAmountIncludingTax");
        if now == doc.expected_total {
            Ok(Ok(again))
        } else {
            Ok(Err(format!(
                "after a rounding line of {diff}, Business Central's total {now} still differs from Lightspeed's {}",
                doc.expected_total
            )))
        }
    }

    /// Posts `record` when the document asks for it. `Ok(None)`: BC posts in the background
    /// (checked on the next try).
    async fn post(
        &self,
        key: &RecordKey,
        doc: &DocumentCommand,
        record: Record,
        scheduled: bool,
        trail: &mut Trail,
    ) -> Result<Result<Option<Record>, String>, StageError> {
        if !doc.post || !is_draft(&record) {
            return Ok(Ok(Some(record)));
        }
        if scheduled {
            // Posting was asked for and runs on BC's job queue: asking again would be
            // refused ("already scheduled"). Still a draft: still posting.
            return Ok(Ok(None));
        }
        let set = doc.kind.entity_set();
        let Some(id) = record.id() else {
            return Ok(Ok(Some(record)));
        };
        trail.sent.push(json!({"method": "POST", "path": format!("{}/Microsoft.NAV.post", EntityPath::from(set).entity_url(id))}));
        match self.writer.client().action(set, id, "post").await {
            Ok(()) => {}
            // With "Post with Job Queue" the page may look the posted document up at once
            // and not find it, while the posting stays scheduled: read as "maybe scheduled".
            Err(BcError::Api(api)) if api.status == 404 => return Ok(Ok(None)),
            Err(BcError::Api(api)) if api.status == 400 => {
                return Ok(Err(format!(
                    "Business Central refused to post: {}",
                    api.message
                )));
            }
            Err(e) => return Err(external(Some(key), e)),
        }
        let after = self.reread(key, set, id).await?;
        Ok(Ok((!is_draft(&after)).then_some(after)))
    }

    async fn upsert_completed(
        &self,
        request: PushRequest<'_>,
        cmd: &OrderCommand,
        current: &mut Option<RecordState>,
    ) -> Result<SinkOutcome, StageError> {
        let key = request.key;
        let mut trail = Trail::default();
        let in_state = |name: &str| current.as_ref().is_some_and(|s| s.state == name);
        let scheduled = in_state(states::POSTING);
        let relinking = request.link.is_some() && in_state(states::RELINK);
        if relinking {
            // `lsbc orders relink`: the documents made from the earlier version go (drafts
            // only: a posted invoice is the accountant's), then the sale is made again.
            for doc in &cmd.documents {
                let Some(found) = self.existing(key, cmd, doc).await? else {
                    continue;
                };
                if !is_draft(&found) {
                    let reason = format!(
                        "cannot be made again: {} {} is posted (reverse it in Business Central first)",
                        doc.kind.entity_set(),
                        found.str("number").unwrap_or("?")
                    );
                    self.set_state(current, key, states::CONFLICT, reason.clone(), Map::new())
                        .await?;
                    return Err(StageError::Skipped {
                        key: key.clone(),
                        rule: reason,
                    });
                }
                self.delete(key, doc.kind.entity_set(), &found, &mut trail)
                    .await?;
            }
        } else if request.link.is_some() {
            let documents = current
                .as_ref()
                .and_then(|s| s.detail.get("documents").cloned());
            self.set_state(
                current,
                key,
                states::CONFLICT,
                "changed in Lightspeed after its documents were made; left as they are (`lsbc orders relink` makes them again)".into(),
                Map::from_iter([("documents".to_owned(), documents.unwrap_or(Value::Null))]),
            )
            .await?;
            return Err(StageError::Skipped {
                key: key.clone(),
                rule: "changed in Lightspeed after its documents were made: a conflict, left as it is (`lsbc orders relink` makes them again)".into(),
            });
        }
        // What exists already (a crash, a lost state, an earlier try that waited).
        let mut found = Vec::with_capacity(cmd.documents.len());
        for doc in &cmd.documents {
            found.push(self.existing(key, cmd, doc).await?);
        }
        let mut items = HashMap::new();
        if found.iter().any(Option::is_none) {
            let mut missing = Vec::new();
            for line in cmd.documents.iter().flat_map(|d| &d.lines) {
                let Some(item) = &line.item else { continue };
                if items.contains_key(&item.item_id) {
                    continue;
                }
                if let Some(found) = self.item(key, item).await? {
                    items.insert(item.item_id, found);
                } else {
                    let name = if item.sku.is_empty() {
                        format!("item {}", item.item_id)
                    } else {
                        item.sku.clone()
                    };
                    if !missing.contains(&name) {
                        missing.push(name);
                    }
                }
            }
            if !missing.is_empty() {
                let reason = format!("missing items: {}", missing.join(", "));
                let state = self
                    .set_state(
                        current,
                        key,
                        states::WAITING,
                        reason.clone(),
                        Map::from_iter([("missing".to_owned(), json!(missing))]),
                    )
                    .await?;
                let waited = self.clock.now().duration_since(state.since);
                let alarm = jiff::SignedDuration::from_hours(i64::from(cmd.waiting_alarm_hours));
                if waited > alarm {
                    tracing::error!(
                        flow = %Flow::Orders, record_key = %key, alarm = "order_waiting",
                        hours = waited.as_hours(), %reason,
                        "A sale has waited longer than waiting_alarm_hours."
                    );
                }
                return Err(StageError::Skipped {
                    key: key.clone(),
                    rule: format!("waits: {reason} (tried again on every poll)"),
                });
            }
        }
        // A credit memo of returned units applies to the invoice of the sale they came from,
        // once that invoice is posted.
        let mut documents = cmd.documents.clone();
        for (doc, existing) in documents.iter_mut().zip(&found) {
            if doc.kind != DocumentKind::CreditMemo || existing.is_some() {
                continue;
            }
            let Some(&original) = doc.refunds_sales.first() else {
                continue;
            };
            let reference = super::keys::document_reference(&cmd.document_prefix, original, false);
            match self.original_invoice(key, original, &reference).await? {
                None => {}
                Some(Ok(id)) => {
                    doc.header.insert("invoiceId".into(), json!(id.to_string()));
                }
                Some(Err(reason)) => {
                    self.set_state(current, key, states::WAITING, reason.clone(), Map::new())
                        .await?;
                    return Err(StageError::Skipped {
                        key: key.clone(),
                        rule: format!("waits: {reason} (tried again on every poll)"),
                    });
                }
            }
        }
        let customer = if found.iter().any(Option::is_none) {
            Some(self.customer(key, cmd, request.version).await?)
        } else {
            None
        };
        let mut made = Vec::new();
        let mut held = Vec::new();
        let mut posting = false;
        for (doc, existing) in documents.iter().zip(found) {
            let (record, action) = if let Some(r) = existing {
                (r, Action::Unchanged)
            } else {
                let customer = customer.as_ref().ok_or_else(|| {
                    StageError::Config("a document to create without its customer".into())
                })?;
                let r = self
                    .create(key, cmd, doc, customer, &items, &mut trail)
                    .await?;
                (r, Action::Created)
            };
            let record = if is_draft(&record) {
                match self
                    .settle_total(key, cmd, doc, record.clone(), &mut trail)
                    .await?
                {
                    Ok(r) => r,
                    Err(reason) => {
                        held.push(reason);
                        made.push(Made {
                            kind: doc.kind,
                            reference: doc.reference.clone(),
                            record,
                            action,
                        });
                        continue;
                    }
                }
            } else {
                record
            };
            let record = match self
                .post(key, doc, record.clone(), scheduled, &mut trail)
                .await?
            {
                Ok(Some(r)) => r,
                Ok(None) => {
                    posting = true;
                    record
                }
                Err(reason) => {
                    held.push(reason);
                    record
                }
            };
            made.push(Made {
                kind: doc.kind,
                reference: doc.reference.clone(),
                record,
                action,
            });
        }
        let documents: Vec<Value> = made.iter().map(Made::summary).collect();
        let detail = Map::from_iter([
            ("documents".to_owned(), Value::Array(documents.clone())),
            ("tenders".to_owned(), json!(cmd.tenders)),
            ("total".to_owned(), json!(cmd.total.to_string())),
            ("date".to_owned(), json!(cmd.date)),
        ]);
        if !held.is_empty() {
            let reason = held.join("; ");
            tracing::error!(flow = %Flow::Orders, record_key = %key, alarm = "order_held", %reason, "A sale is held: its documents disagree with Lightspeed or BC refused them.");
            self.set_state(current, key, states::HELD, reason.clone(), detail)
                .await?;
            return Err(StageError::Skipped {
                key: key.clone(),
                rule: format!("held: {reason} (checked again on every poll)"),
            });
        }
        if posting {
            let state = self
                .set_state(
                    current,
                    key,
                    states::POSTING,
                    "Business Central posts it in the background (job queue)".into(),
                    detail,
                )
                .await?;
            let waited = self.clock.now().duration_since(state.since);
            if waited > jiff::SignedDuration::from_hours(i64::from(cmd.waiting_alarm_hours)) {
                tracing::error!(
                    flow = %Flow::Orders, record_key = %key, alarm = "order_posting",
                    hours = waited.as_hours(),
                    "A sale's invoice is still a draft long after posting was asked for: see the job queue's log in Business Central."
                );
            }
            return Err(StageError::Skipped {
                key: key.clone(),
                rule: "posting in the background: checked again on every poll".into(),
            });
        }
        let posted = made
            .iter()
            .any(|m| !is_draft(&m.record) && m.kind != DocumentKind::Order);
        let state = if posted {
            states::POSTED
        } else {
            states::CREATED
        };
        let numbers: Vec<&str> = made.iter().filter_map(|m| m.record.str("number")).collect();
        self.set_state(
            current,
            key,
            state,
            format!("documents {}", numbers.join(", ")),
            detail,
        )
        .await?;
        // Documents found again after a lost state or link are new to the sync all the same.
        let action = Action::Created;
        let first = made.first().ok_or_else(|| StageError::InvalidRecord {
            key: key.clone(),
            field: "SaleLines".into(),
            reason: "a sale without documents".into(),
        })?;
        Ok(SinkOutcome {
            action,
            target_id: first.id().map(|i| i.to_string()).unwrap_or_default(),
            etag: first.record.etag().map(|e| e.as_str().to_owned()),
            extra: Map::from_iter([("documents".to_owned(), Value::Array(documents))]),
            sent: trail.sent,
        })
    }

    async fn upsert_voided(
        &self,
        request: PushRequest<'_>,
        cmd: &OrderCommand,
        current: &mut Option<RecordState>,
    ) -> Result<SinkOutcome, StageError> {
        let key = request.key;
        let mut trail = Trail::default();
        let mut undone = Vec::new();
        let mut first_id = None;
        let mut credited = false;
        for doc in &cmd.documents {
            let Some(found) = self.existing(key, cmd, doc).await? else {
                continue;
            };
            let set = if doc.kind == DocumentKind::Order && found.get("orderNumber").is_some() {
                EntitySet::SalesInvoices
            } else {
                doc.kind.entity_set()
            };
            first_id = first_id.or(found.id());
            if is_draft(&found) || set == EntitySet::SalesOrders {
                self.delete(key, set, &found, &mut trail).await?;
                undone.push(format!("{} deleted", found.str("number").unwrap_or("?")));
            } else if set == EntitySet::SalesInvoices && found.str("status") != Some("Canceled") {
                let id = found.id().ok_or_else(|| StageError::InvalidRecord {
                    key: key.clone(),
                    field: "salesInvoices.id".into(),
                    reason: "a posted invoice without id".into(),
                })?;
                trail.sent.push(json!({"method": "POST", "path": format!("salesInvoices({id})/Microsoft.NAV.cancel")}));
                match self.writer.client().action(set, id, "cancel").await {
                    Ok(()) => {}
                    Err(BcError::Api(api)) if api.status == 400 => {
                        let reason = format!(
                            "voided in Lightspeed; Business Central refused to cancel invoice {}: {}",
                            found.str("number").unwrap_or("?"),
                            api.message
                        );
                        tracing::error!(flow = %Flow::Orders, record_key = %key, alarm = "order_held", %reason, "A voided sale's invoice could not be cancelled.");
                        tracing::error!(flow = %Flow::Orders, record_key = %key, alarm = "order_held", %reason, "A voided sale's posted document must be reversed by hand.");
                        self.set_state(current, key, states::HELD, reason.clone(), Map::new())
                            .await?;
                        return Err(StageError::Skipped {
                            key: key.clone(),
                            rule: reason,
                        });
                    }
                    Err(e) => return Err(external(Some(key), e)),
                }
                credited = true;
                undone.push(format!("{} cancelled", found.str("number").unwrap_or("?")));
            } else if found.str("status") == Some("Canceled") {
                credited = true;
            } else {
                let reason = format!(
                    "voided in Lightspeed; posted {} {} must be reversed by hand",
                    set,
                    found.str("number").unwrap_or("?")
                );
                self.set_state(current, key, states::HELD, reason.clone(), Map::new())
                    .await?;
                return Err(StageError::Skipped {
                    key: key.clone(),
                    rule: reason,
                });
            }
        }
        let voided_on = json!(cmd.voided_on);
        if undone.is_empty() && first_id.is_none() {
            self.set_state(
                current,
                key,
                states::VOIDED,
                "voided before it reached Business Central".into(),
                Map::from_iter([("voided_on".to_owned(), voided_on)]),
            )
            .await?;
            return Err(StageError::Skipped {
                key: key.clone(),
                rule: "voided before it reached Business Central: nothing to undo".into(),
            });
        }
        let state = if credited {
            states::CREDITED
        } else {
            states::VOIDED
        };
        self.set_state(
            current,
            key,
            state,
            format!("voided in Lightspeed: {}", undone.join(", ")),
            Map::from_iter([("voided_on".to_owned(), voided_on)]),
        )
        .await?;
        Ok(SinkOutcome {
            action: Action::Updated,
            target_id: first_id.map(|i| i.to_string()).unwrap_or_default(),
            etag: None,
            extra: Map::from_iter([("voided".to_owned(), json!(undone))]),
            sent: trail.sent,
        })
    }
}

/// Where an item line's item, variant and location are in Business Central.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineTarget {
    /// Found: sent as `itemId`, `itemVariantId`, `locationId`.
    Found {
        /// The BC item.
        item: Uuid,
        /// Its variant.
        variant: Option<Uuid>,
        /// The location of the line's shop.
        location: Option<Uuid>,
    },
    /// Not looked up (a preview): the item by its SKU as `lineObjectNumber`, no location.
    Preview,
}

/// The body of one document line as sent, in the document's price basis (`gross`: tax
/// included) when the sale's is `sale_gross`.
pub fn line_body(
    line: &LineCommand,
    sale_gross: bool,
    gross: bool,
    target: &LineTarget,
) -> Map<String, Value> {
    let (unit_price, discount) = convert(line, sale_gross, gross);
    let mut body = Map::new();
    match line.kind {
        LineKind::Comment => {
            body.insert("lineType".into(), json!("Comment"));
            body.insert("description".into(), json!(line.description));
            return body;
        }
        LineKind::Account => {
            body.insert("lineType".into(), json!("Account"));
            body.insert("lineObjectNumber".into(), json!(line.account));
            if !line.description.is_empty() {
                body.insert("description".into(), json!(line.description));
            }
        }
        LineKind::Item => {
            body.insert("lineType".into(), json!("Item"));
            match target {
                LineTarget::Found {
                    item,
                    variant,
                    location,
                } => {
                    body.insert("itemId".into(), json!(item.to_string()));
                    if let Some(v) = variant {
                        body.insert("itemVariantId".into(), json!(v.to_string()));
                    }
                    if let Some(l) = location {
                        body.insert("locationId".into(), json!(l.to_string()));
                    }
                }
                LineTarget::Preview => {
                    if let Some(item) = line.item.as_ref().filter(|i| !i.sku.is_empty()) {
                        body.insert("lineObjectNumber".into(), json!(item.sku));
                    }
                }
            }
        }
    }
    if let Some(code) = &line.tax_code {
        body.insert("taxCode".into(), json!(code));
    }
    body.insert("quantity".into(), amount(line.quantity));
    body.insert("unitPrice".into(), amount(unit_price));
    body.insert("discountAmount".into(), amount(discount));
    body
}

/// A line's unit price and discount in the document's basis.
fn convert(line: &LineCommand, sale_gross: bool, gross: bool) -> (Decimal, Decimal) {
    if sale_gross == gross || line.tax_percent.is_zero() {
        return (line.unit_price, line.discount);
    }
    let factor = Decimal::ONE + line.tax_percent / Decimal::ONE_HUNDRED;
    let (price, discount) = if sale_gross {
        (line.unit_price / factor, line.discount / factor)
    } else {
        (line.unit_price * factor, line.discount * factor)
    };
    (
        price.round_dp_with_strategy(5, RoundingStrategy::MidpointAwayFromZero),
        discount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero),
    )
}

#[async_trait]
impl Sink for OrderSink {
    fn flow(&self) -> Flow {
        Flow::Orders
    }

    async fn upsert(&self, request: PushRequest<'_>) -> Result<SinkOutcome, StageError> {
        let cmd: OrderCommand = serde_json::from_value(request.command.clone()).map_err(|e| {
            StageError::InvalidRecord {
                key: request.key.clone(),
                field: "(command)".into(),
                reason: format!("not an order command: {e}"),
            }
        })?;
        let key = request.key;
        // Read once per push; every move below writes on top of what was read.
        let mut state = self.states.get_state(Flow::Orders, key).await?;
        let current = &mut state;
        if current.is_none() {
            self.set_state(
                current,
                key,
                states::DISCOVERED,
                format!("sale {} seen in Lightspeed", cmd.sale_id),
                Map::new(),
            )
            .await?;
        }
        let result = match cmd.status {
            SaleStatus::Completed => self.upsert_completed(request, &cmd, current).await,
            SaleStatus::Voided => self.upsert_voided(request, &cmd, current).await,
        };
        if let Err(StageError::InvalidRecord { field, reason, .. }) = &result {
            // Parked in the dead-letter queue: its state says why until it is replayed.
            self.set_state(
                current,
                key,
                states::FAILED,
                format!("{field}: {reason}"),
                Map::new(),
            )
            .await?;
        }
        result
    }
}
