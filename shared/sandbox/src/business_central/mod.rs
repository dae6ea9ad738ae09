//! The Business Central simulator: API v2.0 under `/v2.0/{tenant}/{environment}/api/v2.0/…`
//! (bearer tokens from a simulated Entra endpoint at `/{tenant}/oauth2/v2.0/token`), an
//! on-premises route `/{instance}/api/v2.0/…` with basic auth, and a control API under
//! `/_sandbox/…`. It keeps companies in memory, enforces what BC enforces (see `store`),
//! speaks OData the way BC does (see `odata`), limits each principal like BC (see `limits`),
//! and runs webhooks (see `webhooks`). Built from the api-notes and fixtures only: it must not
//! depend on the client crate.

mod behaviour;
mod client_ids;
mod errors;
mod http;
mod limits;
mod odata;
mod schema;
mod store;
mod webhooks;

use std::collections::BTreeMap;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::common::{FaultPlan, Faults, RequestStats, RunningServer, SimClock, StatsSnapshot};

pub use behaviour::{
    BcBehaviour, CodeTable, DuplicateKeyStatus, EmailFilter, GlAccount, KnownCodes,
    PostingChangeType, UnknownChoice,
};
pub use client_ids::{ClientIdAnswer, ClientIds, UnknownAnswer};
pub use limits::{PrincipalCounters, RateLimit};
pub use store::ledger::LedgerSequence;
pub use store::payments::PaymentJournalSetup;
pub use store::posting::{JobQueueOutcome, PostingSetup};
pub use store::sales_tax::{SalesTaxArea, SalesTaxSetup, TaxJurisdiction};
pub use store::vat::{CustomerVat, VatPostingSetup, VatRounding, VatSetup};
pub use webhooks::{Delivery, WebhookSettings};

use errors::BcFault;
use schema::Entity;
use store::{CompanyData, LedgerPost, Origin, Store, StoreSettings};

/// A company to create at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxCompany {
    /// Fixed SystemId (a random one when `None`).
    pub id: Option<Uuid>,
    /// The company's `name` (what clients resolve).
    pub name: String,
    /// Its display name.
    pub display_name: String,
}

impl SandboxCompany {
    /// A company with a random id.
    pub fn named(name: &str, display_name: &str) -> Self {
        Self {
            id: None,
            name: name.to_owned(),
            display_name: display_name.to_owned(),
        }
    }
}

/// An app registration the token endpoint accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxPrincipal {
    /// Client id.
    pub client_id: String,
    /// Client secret.
    pub client_secret: String,
}

impl SandboxPrincipal {
    /// A registration.
    pub fn new(client_id: &str, client_secret: &str) -> Self {
        Self {
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
        }
    }
}

/// Everything a sandbox starts with.
#[derive(Debug, Clone)]
pub struct BusinessCentralSandboxConfig {
    /// Port on 127.0.0.1 (0: any free port).
    pub port: u16,
    /// Tenant id in URLs and the token endpoint.
    pub tenant: String,
    /// Environment name in URLs.
    pub environment: String,
    /// Server instance of the on-premises route.
    pub server_instance: String,
    /// Companies.
    pub companies: Vec<SandboxCompany>,
    /// Seed of every random choice (tokens, user ids, faults).
    pub seed: u64,
    /// API time runs this many times faster than wall time.
    pub time_scale: f64,
    /// API time at start (now when `None`).
    pub epoch: Option<Timestamp>,
    /// Server page size (BC: 20,000; smaller makes paging visible).
    pub page_size: usize,
    /// App registrations (online).
    pub principals: Vec<SandboxPrincipal>,
    /// On-premises users and their web-service access keys.
    pub on_premises_users: Vec<(String, String)>,
    /// Per-principal limits.
    pub rate_limit: RateLimit,
    /// Whether a `$batch` uses one window unit per operation (`true`) or one per request.
    /// BC's docs are silent (api-notes §4); both are simulated.
    pub batch_counts_as_operations: bool,
    /// Webhook timings.
    pub webhooks: WebhookSettings,
    /// Token lifetime in API time (Entra: 3,599 s).
    pub token_lifetime: Duration,
    /// Local currency code shown for blank currency.
    pub lcy: String,
    /// Tax group code → percent, for line amounts.
    pub tax_rates: BTreeMap<String, f64>,
    /// Whether creating a customer creates its contact.
    pub customer_contacts: bool,
    /// How POST answers a client-chosen `id`, per entity set (see `client_ids`).
    pub client_ids: ClientIds,
    /// VAT Posting Setup, customers' VAT profiles (which API v2.0 cannot set) and the VAT
    /// rounding type. Empty: a line's rate is `tax_rates[taxCode]`.
    pub vat: VatSetup,
    /// Why posting fails on this tenant (allowed posting dates, customers without a posting
    /// group, mandatory external document numbers) and whether it runs on the job queue.
    pub posting: PostingSetup,
    /// How item ledger entry numbers are drawn: gapless by default, or from a sequence
    /// that loses numbers and commits late (see [`LedgerSequence`]).
    pub ledger: LedgerSequence,
    /// The customer payment journal (and general journal batch) each company starts with,
    /// its balancing account and document numbers (see [`PaymentJournalSetup`]).
    pub payments: PaymentJournalSetup,
    /// Sales tax areas, jurisdictions and rates of a US-style tenant. Empty (the default):
    /// the tenant uses VAT (see [`SalesTaxSetup`]).
    pub sales_tax: SalesTaxSetup,
    /// Initial faults.
    pub faults: FaultPlan,
    /// The tenant's setup and its answers where BC's docs leave a choice (known codes,
    /// manual numbers, `Retry-After` on 429, `email eq` case, duplicate-key status, the
    /// `changeType` of a posting).
    pub behaviour: BcBehaviour,
}

impl Default for BusinessCentralSandboxConfig {
    fn default() -> Self {
        Self {
            port: 0,
            tenant: "00000000-0000-0000-0000-00000000c0de".to_owned(),
            environment: "Production".to_owned(),
            server_instance: "BC".to_owned(),
            companies: vec![SandboxCompany::named("CRONUS", "CRONUS USA, Inc.")],
            seed: 1,
            time_scale: 1.0,
            epoch: None,
            page_size: 20_000,
            principals: vec![SandboxPrincipal::new("lsbc-app-1", "secret-1")],
            on_premises_users: vec![("ADMIN".to_owned(), "access-key-1".to_owned())],
            rate_limit: RateLimit::default(),
            batch_counts_as_operations: false,
            webhooks: WebhookSettings::default(),
            token_lifetime: Duration::from_secs(3599),
            lcy: "USD".to_owned(),
            tax_rates: BTreeMap::new(),
            customer_contacts: true,
            client_ids: ClientIds::default(),
            vat: VatSetup::default(),
            posting: PostingSetup::default(),
            ledger: LedgerSequence::default(),
            payments: PaymentJournalSetup::default(),
            sales_tax: SalesTaxSetup::default(),
            faults: FaultPlan::default(),
            behaviour: BcBehaviour::default(),
        }
    }
}

/// A write a client made through the API, kept for inspection.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WriteRecord {
    /// Who (client id or user).
    pub principal: String,
    /// HTTP method.
    pub method: String,
    /// Path below `api/v2.0/`.
    pub path: String,
    /// JSON body (`null` for none or binary).
    pub body: Value,
    /// Status answered.
    pub status: u16,
    /// API time.
    pub at: Timestamp,
}

/// Request counters: all answers by status, and per principal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SandboxStats {
    /// Every answer (token endpoint included).
    pub totals: StatsSnapshot,
    /// Per principal (API requests only).
    pub principals: BTreeMap<String, PrincipalCounters>,
}

/// An item ledger entry with what v2.0 does not show (the location code).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LedgerEntryView {
    /// `entryNumber`.
    pub entry_number: i64,
    /// `itemNumber`.
    pub item_number: String,
    /// `entryType` as on the wire (`Positive_x0020_Adjmt_x002E_`).
    pub entry_type: String,
    /// `quantity`.
    pub quantity: f64,
    /// `documentType` as on the wire.
    pub document_type: String,
    /// `documentNumber`.
    pub document_number: String,
    /// Location code, if the movement had one.
    pub location_code: Option<String>,
}

/// A refusal of a seed or inspect call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SandboxError {
    /// The store refused, as the API would.
    #[error("{status} {code}: {message}")]
    Refused {
        /// HTTP status the API would answer.
        status: u16,
        /// BC error code.
        code: String,
        /// Message.
        message: String,
    },
    /// Not a simulated entity set.
    #[error("unknown entity set {0}")]
    UnknownSet(String),
}

impl From<BcFault> for SandboxError {
    fn from(fault: BcFault) -> Self {
        Self::Refused {
            status: fault.status,
            code: fault.code.to_owned(),
            message: fault.message,
        }
    }
}

/// State shared by the handlers.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: BusinessCentralSandboxConfig,
    pub(crate) clock: SimClock,
    pub(crate) store: Mutex<Store>,
    pub(crate) limiter: limits::Limiter,
    pub(crate) faults: Faults,
    pub(crate) stats: RequestStats,
    pub(crate) webhooks: Arc<webhooks::Webhooks>,
    pub(crate) writes: Mutex<Vec<WriteRecord>>,
    /// Atomic batches take it exclusively; other requests share it.
    pub(crate) gate: tokio::sync::RwLock<()>,
}

impl Shared {
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Hands committed changes to the webhook service.
    pub(crate) fn publish_changes(&self) {
        let changes = std::mem::take(&mut self.store().changes);
        self.webhooks.on_changes(&changes);
    }
}

/// A running Business Central simulator.
#[derive(Debug)]
pub struct BusinessCentralSandbox {
    server: RunningServer,
    shared: Arc<Shared>,
}

impl BusinessCentralSandbox {
    /// Starts the simulator on 127.0.0.1.
    pub async fn start(config: BusinessCentralSandboxConfig) -> io::Result<Self> {
        let epoch = config.epoch.unwrap_or_else(Timestamp::now);
        let clock = SimClock::new(epoch, config.time_scale);
        let limiter = limits::Limiter::new(config.rate_limit.clone(), clock.scale(), config.seed)
            .with_retry_after(config.behaviour.retry_after_on_429);
        for p in &config.principals {
            limiter.register(&p.client_id, &p.client_secret, false);
        }
        for (user, key) in &config.on_premises_users {
            limiter.register(user, key, true);
        }
        let mut store = Store::new(StoreSettings {
            lcy: config.lcy.clone(),
            tax_rates: config.tax_rates.clone(),
            customer_contacts: config.customer_contacts,
            client_ids: config.client_ids.clone(),
            vat: config.vat.clone(),
            posting: config.posting.clone(),
            ledger: config.ledger,
            payments: config.payments.clone(),
            sales_tax: config.sales_tax.clone(),
            behaviour: {
                // A tax group given a rate exists in the tenant, and so does each VAT
                // product posting group of the VAT Posting Setup (in VAT countries an
                // item's `taxGroupCode` is its VAT Prod. Posting Group).
                let mut behaviour = config.behaviour.clone();
                for group in config.tax_rates.keys() {
                    behaviour.codes.insert(CodeTable::TaxGroup, group);
                }
                for setup in &config.vat.posting_setup {
                    behaviour
                        .codes
                        .insert(CodeTable::TaxGroup, &setup.product_group);
                }
                // So does each tax group a sales tax jurisdiction has a rate for.
                for group in config.sales_tax.tax_groups() {
                    behaviour.codes.insert(CodeTable::TaxGroup, group);
                }
                behaviour
            },
        });
        for company in &config.companies {
            store.companies.push(CompanyData::new(
                company.id.unwrap_or_else(Uuid::new_v4),
                &company.name,
                &company.display_name,
                epoch,
            ));
        }
        store.seed_accounts(epoch);
        store.seed_journals(epoch);
        let shared = Arc::new(Shared {
            faults: Faults::new(config.faults.clone()),
            webhooks: Arc::new(webhooks::Webhooks::new(
                clock.clone(),
                config.webhooks.clone(),
            )),
            config,
            clock,
            store: Mutex::new(store),
            limiter,
            stats: RequestStats::default(),
            writes: Mutex::new(Vec::new()),
            gate: tokio::sync::RwLock::new(()),
        });
        let server =
            crate::common::spawn(http::router(Arc::clone(&shared)), shared.config.port).await?;
        Ok(Self { server, shared })
    }

    /// The configuration it was started with.
    pub fn config(&self) -> &BusinessCentralSandboxConfig {
        &self.shared.config
    }

    /// `http://127.0.0.1:<port>`: the API host and the token host.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// The API root online: `{base}/v2.0/{tenant}/{environment}/api/v2.0`.
    pub fn api_root(&self) -> String {
        format!(
            "{}/v2.0/{}/{}/api/v2.0",
            self.base_url(),
            self.shared.config.tenant,
            self.shared.config.environment
        )
    }

    /// The on-premises service URL up to the server instance: `{base}/{instance}`.
    pub fn on_premises_url(&self) -> String {
        format!("{}/{}", self.base_url(), self.shared.config.server_instance)
    }

    /// The tenant id.
    pub fn tenant(&self) -> &str {
        &self.shared.config.tenant
    }

    /// The environment name.
    pub fn environment(&self) -> &str {
        &self.shared.config.environment
    }

    /// The simulated clock.
    pub fn clock(&self) -> &SimClock {
        &self.shared.clock
    }

    /// Live fault injection.
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// Replaces the fault plan.
    pub fn set_faults(&self, plan: FaultPlan) {
        self.shared.faults.set(plan);
    }

    /// How POST answers a client-chosen `id` from now on (see [`ClientIds`]).
    pub fn set_client_ids(&self, ids: ClientIds) {
        self.shared.store().settings.client_ids = ids;
    }

    /// Sets what a customer card holds that API v2.0 cannot: VAT Bus. Posting Group and Prices
    /// Including VAT. Documents created afterwards for customer `number` follow it.
    pub fn set_customer_vat(&self, number: &str, vat: CustomerVat) {
        self.shared
            .store()
            .settings
            .vat
            .customers
            .insert(number.to_owned(), vat);
    }

    /// Replaces the posting setup from now on (see [`PostingSetup`]).
    pub fn set_posting(&self, posting: PostingSetup) {
        self.shared.store().settings.posting = posting;
    }

    /// Runs every posting scheduled on the job queue (with "Post with Job Queue"), oldest
    /// first, and says what each did. A refused posting leaves its document a draft.
    pub fn run_job_queue(&self) -> Vec<JobQueueOutcome> {
        let now = self.shared.clock.now();
        self.shared.store().run_job_queue(now)
    }

    /// Replaces the ledger numbering from now on; entries already held stay held.
    pub fn set_ledger_sequence(&self, ledger: LedgerSequence) {
        self.shared.store().settings.ledger = ledger;
    }

    /// Commits the item ledger entries held by [`LedgerSequence::hold_commits`], oldest
    /// first; answers their entry numbers.
    pub fn commit_ledger(&self) -> Vec<i64> {
        let now = self.shared.clock.now();
        let numbers = self.shared.store().commit_held_entries(now);
        self.shared.publish_changes();
        numbers
    }

    /// Company ids, in configuration order.
    pub fn company_ids(&self) -> Vec<Uuid> {
        self.shared.store().companies.iter().map(|c| c.id).collect()
    }

    /// The first company's id.
    pub fn company_id(&self) -> Uuid {
        self.company_ids().first().copied().unwrap_or_default()
    }

    /// Every credential a log must never show: each principal's secret or access key and
    /// every token issued so far.
    pub fn secrets_issued(&self) -> Vec<String> {
        self.shared.limiter.secrets_issued()
    }

    /// Counters.
    pub fn stats(&self) -> SandboxStats {
        SandboxStats {
            totals: self.shared.stats.snapshot(),
            principals: self.shared.limiter.counters(),
        }
    }

    /// API requests received so far (all principals; token requests excluded).
    pub fn api_requests(&self) -> u64 {
        self.shared
            .limiter
            .counters()
            .values()
            .map(|c| c.requests)
            .sum()
    }

    /// Writes clients made, oldest first.
    pub fn writes(&self) -> Vec<WriteRecord> {
        self.shared
            .writes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Webhook deliveries attempted, oldest first.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.shared.webhooks.deliveries()
    }

    /// Live subscriptions as the API renders them.
    pub fn subscriptions(&self) -> Vec<Value> {
        self.shared.webhooks.list(&self.api_root())
    }

    fn view(&self) -> BusinessCentralSandboxView<'_> {
        BusinessCentralSandboxView {
            shared: &self.shared,
        }
    }

    /// Inserts a record into a set of the first company as the back office would (same rules
    /// as the API, but document numbers may be given). Returns it as the API renders it.
    pub fn insert(&self, set: &str, fields: Value) -> Result<Value, SandboxError> {
        self.view().insert(set, fields)
    }
    /// [`insert`](Self::insert) into a given company.
    pub fn insert_in(
        &self,
        company: Uuid,
        set: &str,
        fields: Value,
    ) -> Result<Value, SandboxError> {
        self.view().insert_in(company, set, fields)
    }
    /// Adds a customer (`displayName` required).
    pub fn add_customer(&self, fields: Value) -> Result<Value, SandboxError> {
        self.insert("customers", fields)
    }
    /// Adds a contact.
    pub fn add_contact(&self, fields: Value) -> Result<Value, SandboxError> {
        self.insert("contacts", fields)
    }
    /// Adds an item.
    pub fn add_item(&self, fields: Value) -> Result<Value, SandboxError> {
        self.insert("items", fields)
    }
    /// Adds an item variant (`itemId` or `itemNumber`, and `code`).
    pub fn add_item_variant(&self, fields: Value) -> Result<Value, SandboxError> {
        self.insert("itemVariants", fields)
    }
    /// Adds an item category.
    pub fn add_item_category(&self, fields: Value) -> Result<Value, SandboxError> {
        self.insert("itemCategories", fields)
    }
    /// Adds payment terms.
    pub fn add_payment_term(&self, fields: Value) -> Result<Value, SandboxError> {
        self.insert("paymentTerms", fields)
    }
    /// Adds a payment method.
    pub fn add_payment_method(&self, fields: Value) -> Result<Value, SandboxError> {
        self.insert("paymentMethods", fields)
    }
    /// Adds a location.
    pub fn add_location(&self, fields: Value) -> Result<Value, SandboxError> {
        self.insert("locations", fields)
    }
    /// Adds a sales order (lines under `salesOrderLines`).
    pub fn add_sales_order(&self, fields: Value) -> Result<Value, SandboxError> {
        self.insert("salesOrders", fields)
    }
    /// Adds a draft sales invoice (lines under `salesInvoiceLines`).
    pub fn add_sales_invoice(&self, fields: Value) -> Result<Value, SandboxError> {
        self.insert("salesInvoices", fields)
    }
    /// Adds a customer payment (a line of the customer payment journal `journalId`; the
    /// first company's seeded journal when `journalId` is absent), with the API's rules.
    pub fn add_customer_payment(&self, fields: Value) -> Result<Value, SandboxError> {
        let mut fields = match fields {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        if !fields.contains_key("journalId")
            && let Some(journal) = self
                .customer_payment_journals()
                .first()
                .and_then(|j| j["id"].as_str().map(str::to_owned))
        {
            fields.insert("journalId".into(), Value::String(journal));
        }
        self.insert("customerPayments", Value::Object(fields))
    }
    /// Posts a journal batch (a customer payment journal or a general journal) by id, as
    /// `journals({id})/Microsoft.NAV.post` does.
    pub fn post_journal(&self, journal: Uuid) -> Result<(), SandboxError> {
        let now = self.shared.clock.now();
        let company = self.company_id();
        self.shared.store().post_journal(company, journal, now)?;
        self.shared.publish_changes();
        Ok(())
    }
    /// Adds a code to a related table (a unit of measure, posting group, country, …), so
    /// records may refer to it.
    pub fn add_code(&self, table: CodeTable, code: &str) {
        self.shared
            .store()
            .settings
            .behaviour
            .codes
            .insert(table, code);
    }
    /// Sets whether a number series (`CUST`, `ITEM`, …) takes manual numbers.
    pub fn set_manual_nos(&self, series: &str, allowed: bool) {
        self.shared
            .store()
            .settings
            .behaviour
            .manual_nos
            .insert(series.to_owned(), allowed);
    }
    /// How `email eq '…'` compares from now on (see [`BcBehaviour::email_filter`]).
    pub fn set_email_filter(&self, filter: EmailFilter) {
        self.shared.store().settings.behaviour.email_filter = filter;
    }
    /// The status of a duplicate key from now on (see
    /// [`BcBehaviour::duplicate_key_status`]).
    pub fn set_duplicate_key_status(&self, status: DuplicateKeyStatus) {
        self.shared.store().settings.behaviour.duplicate_key_status = status;
    }
    /// The `changeType` postings notify from now on (see
    /// [`BcBehaviour::posting_change_type`]).
    pub fn set_posting_change_type(&self, kind: PostingChangeType) {
        self.shared.store().settings.behaviour.posting_change_type = kind;
    }
    /// Links a contact to a customer (a contact business relation).
    pub fn link_contact(&self, contact: Uuid, customer: Uuid) -> Result<(), SandboxError> {
        self.view().link_contact(contact, customer)
    }
    /// Posts an inventory adjustment (positive or negative by the sign), optionally at a
    /// location; returns the new entry number. The item's etag does not change.
    pub fn post_adjustment(
        &self,
        item_number: &str,
        quantity: f64,
        location_code: Option<&str>,
    ) -> Result<i64, SandboxError> {
        self.view()
            .post_adjustment(item_number, quantity, location_code)
    }
    /// Posts a purchase receipt of `quantity`.
    pub fn post_purchase(
        &self,
        item_number: &str,
        quantity: f64,
        location_code: Option<&str>,
    ) -> Result<i64, SandboxError> {
        self.view()
            .post_purchase(item_number, quantity, location_code)
    }
    /// Posts an inventory adjustment of an item variant (by its code), optionally at a
    /// location; returns the new entry number. The variant code shows on the OData V4 page
    /// of item ledger entries, not through API v2.0.
    pub fn post_variant_adjustment(
        &self,
        item_number: &str,
        variant_code: &str,
        quantity: f64,
        location_code: Option<&str>,
    ) -> Result<i64, SandboxError> {
        self.view()
            .post_variant_adjustment(item_number, variant_code, quantity, location_code)
    }
    /// Publishes page 497 "Reservation Entries" as an OData V4 web service under `name`
    /// (`None` unpublishes it), as an administrator does on the Web Services page.
    pub fn publish_reservation_entries(&self, name: Option<&str>) {
        self.shared
            .store()
            .settings
            .behaviour
            .reservation_web_service = name.map(str::to_owned);
    }

    /// Publishes page 5404 "Item Units of Measure" as an OData V4 web service under `name`
    /// (`None` unpublishes it), as an administrator does on the Web Services page.
    pub fn publish_item_units_of_measure(&self, name: Option<&str>) {
        self.shared
            .store()
            .settings
            .behaviour
            .item_units_web_service = name.map(str::to_owned);
    }

    /// Gives item `item_number` the unit of measure `code` holding `qty_per_unit` base units
    /// (a row of page 5404, e.g. `BOX` of 12), as a user does on the item's *Units of
    /// Measure* page.
    pub fn set_item_unit_of_measure(
        &self,
        item_number: &str,
        code: &str,
        qty_per_unit: f64,
    ) -> Result<(), SandboxError> {
        let company = self.company_id();
        self.shared
            .store()
            .set_item_unit(company, item_number, code, qty_per_unit)?;
        Ok(())
    }

    /// Reserves `quantity` of an item's inventory at `location_code` for sales order
    /// `order_number` (a reservation entry pair, page 497's rows); returns its entry number.
    pub fn reserve_from_inventory(
        &self,
        item_number: &str,
        variant_code: &str,
        location_code: &str,
        quantity: f64,
        order_number: &str,
    ) -> Result<i64, SandboxError> {
        let company = self.company_id();
        let number = self.shared.store().reserve(
            company,
            item_number,
            variant_code,
            location_code,
            quantity,
            order_number,
        )?;
        Ok(number)
    }

    /// The OData V4 web services root online: `{base}/v2.0/{tenant}/{environment}/ODataV4`.
    pub fn odata_v4_root(&self) -> String {
        format!(
            "{}/v2.0/{}/{}/ODataV4",
            self.base_url(),
            self.shared.config.tenant,
            self.shared.config.environment
        )
    }
    /// Every record of a set (first company), as the API renders them, in key order.
    pub fn records(&self, set: &str) -> Vec<Value> {
        self.view().records(set)
    }
    /// One record by id.
    pub fn record(&self, company: Uuid, set: &str, id: Uuid) -> Option<Value> {
        self.view().record(company, set, id)
    }
    /// Customers.
    pub fn customers(&self) -> Vec<Value> {
        self.records("customers")
    }
    /// Contacts.
    pub fn contacts(&self) -> Vec<Value> {
        self.records("contacts")
    }
    /// Items (with computed `inventory`).
    pub fn items(&self) -> Vec<Value> {
        self.records("items")
    }
    /// Item variants.
    pub fn item_variants(&self) -> Vec<Value> {
        self.records("itemVariants")
    }
    /// Item categories.
    pub fn item_categories(&self) -> Vec<Value> {
        self.records("itemCategories")
    }
    /// Sales orders (headers).
    pub fn sales_orders(&self) -> Vec<Value> {
        self.records("salesOrders")
    }
    /// Sales invoices (draft and posted).
    pub fn sales_invoices(&self) -> Vec<Value> {
        self.records("salesInvoices")
    }
    /// Item ledger entries with their location codes.
    pub fn ledger_entries(&self) -> Vec<LedgerEntryView> {
        self.view().ledger_entries()
    }
    /// Customer payment journals (the seeded one first by code order).
    pub fn customer_payment_journals(&self) -> Vec<Value> {
        self.records("customerPaymentJournals")
    }
    /// Customer payments not yet posted, of every journal, by line number.
    pub fn customer_payments(&self) -> Vec<Value> {
        self.records("customerPayments")
    }
    /// General journal batches (`journals`).
    pub fn journals(&self) -> Vec<Value> {
        self.records("journals")
    }
    /// Tax areas (`taxAreas`).
    pub fn tax_areas(&self) -> Vec<Value> {
        self.records("taxAreas")
    }

    /// Stops the server.
    pub async fn stop(self) {
        self.server.stop().await;
    }
}

/// Seeding and inspection on the shared state, used by the public type and the control API.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BusinessCentralSandboxView<'a> {
    pub(crate) shared: &'a Arc<Shared>,
}

impl BusinessCentralSandboxView<'_> {
    fn company_id(self) -> Uuid {
        self.shared
            .store()
            .companies
            .first()
            .map(|c| c.id)
            .unwrap_or_default()
    }

    // ---- seeding ------------------------------------------------------------------------------

    /// Inserts a record into a set of the first company as the back office would (same rules
    /// as the API, but document numbers may be given). Returns it as the API renders it.
    pub(crate) fn insert(self, set: &str, fields: Value) -> Result<Value, SandboxError> {
        self.insert_in(self.company_id(), set, fields)
    }

    /// [`insert`](Self::insert) into a given company.
    pub(crate) fn insert_in(
        self,
        company: Uuid,
        set: &str,
        fields: Value,
    ) -> Result<Value, SandboxError> {
        let entity =
            Entity::from_set(set).ok_or_else(|| SandboxError::UnknownSet(set.to_owned()))?;
        let body = match fields {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        let now = self.shared.clock.now();
        let id = {
            let mut store = self.shared.store();
            let parent = match entity.parent() {
                Some((_, field)) if entity != Entity::ItemVariant => body
                    .get(field)
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse().ok()),
                _ => None,
            };
            store.create(company, entity, parent, &body, now, Origin::Seed)?
        };
        self.shared.publish_changes();
        self.record(company, set, id)
            .ok_or_else(|| SandboxError::UnknownSet(set.to_owned()))
    }

    /// Links a contact to a customer (a contact business relation).
    pub(crate) fn link_contact(self, contact: Uuid, customer: Uuid) -> Result<(), SandboxError> {
        let company = self.company_id();
        self.shared
            .store()
            .link_contact(company, contact, customer)?;
        Ok(())
    }

    fn post_movement(
        self,
        item_number: &str,
        quantity: f64,
        (entry_type, document_type): (&'static str, &'static str),
        location_code: Option<&str>,
        variant_code: Option<&str>,
    ) -> Result<i64, SandboxError> {
        let now = self.shared.clock.now();
        let company = self.company_id();
        let post = LedgerPost {
            item_number: item_number.to_uppercase(),
            entry_type,
            quantity,
            document_type,
            document_number: format!("SBX-{}", now.as_second()),
            source_type: if entry_type == "Purchase" {
                "Vendor"
            } else {
                "_x0020_"
            },
            source_number: String::new(),
            sales_amount: 0.0,
            location: location_code.map(str::to_uppercase),
            posting_date: now.to_zoned(jiff::tz::TimeZone::UTC).date(),
        };
        let number = match variant_code {
            Some(code) => self
                .shared
                .store()
                .post_ledger_variant(company, &post, code, now)?,
            None => self.shared.store().post_ledger(company, &post, now)?,
        };
        self.shared.publish_changes();
        Ok(number)
    }

    /// Posts an inventory adjustment (positive or negative by the sign), optionally at a
    /// location; returns the new entry number. The item's etag does not change.
    pub(crate) fn post_adjustment(
        self,
        item_number: &str,
        quantity: f64,
        location_code: Option<&str>,
    ) -> Result<i64, SandboxError> {
        let entry_type = if quantity >= 0.0 {
            "Positive_x0020_Adjmt_x002E_"
        } else {
            "Negative_x0020_Adjmt_x002E_"
        };
        self.post_movement(
            item_number,
            quantity,
            (entry_type, "_x0020_"),
            location_code,
            None,
        )
    }

    /// Posts an inventory adjustment of an item variant.
    pub(crate) fn post_variant_adjustment(
        self,
        item_number: &str,
        variant_code: &str,
        quantity: f64,
        location_code: Option<&str>,
    ) -> Result<i64, SandboxError> {
        let entry_type = if quantity >= 0.0 {
            "Positive_x0020_Adjmt_x002E_"
        } else {
            "Negative_x0020_Adjmt_x002E_"
        };
        self.post_movement(
            item_number,
            quantity,
            (entry_type, "_x0020_"),
            location_code,
            Some(variant_code),
        )
    }

    /// Posts a purchase receipt of `quantity`.
    pub(crate) fn post_purchase(
        self,
        item_number: &str,
        quantity: f64,
        location_code: Option<&str>,
    ) -> Result<i64, SandboxError> {
        self.post_movement(
            item_number,
            quantity,
            ("Purchase", "Purchase_x0020_Receipt"),
            location_code,
            None,
        )
    }

    // ---- inspecting -----------------------------------------------------------------------------

    /// Every record of a set (first company), as the API renders them, in key order.
    pub(crate) fn records(self, set: &str) -> Vec<Value> {
        let Some(entity) = Entity::from_set(set) else {
            return Vec::new();
        };
        let company = self.company_id();
        let store = self.shared.store();
        store
            .rows(company, entity, None)
            .into_iter()
            .map(|(_, row)| http::render_plain(entity, &row))
            .collect()
    }

    /// One record by id.
    pub(crate) fn record(self, company: Uuid, set: &str, id: Uuid) -> Option<Value> {
        let entity = Entity::from_set(set)?;
        let store = self.shared.store();
        store
            .get(company, entity, id)
            .map(|row| http::render_plain(entity, &row))
    }

    /// Item ledger entries with their location codes.
    pub(crate) fn ledger_entries(self) -> Vec<LedgerEntryView> {
        let company = self.company_id();
        let store = self.shared.store();
        store
            .rows(company, Entity::ItemLedgerEntry, None)
            .into_iter()
            .map(|(id, row)| {
                let f = &row.fields;
                let text = |k: &str| f.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
                LedgerEntryView {
                    entry_number: f.get("entryNumber").and_then(Value::as_i64).unwrap_or(0),
                    item_number: text("itemNumber"),
                    entry_type: text("entryType"),
                    quantity: f.get("quantity").and_then(Value::as_f64).unwrap_or(0.0),
                    document_type: text("documentType"),
                    document_number: text("documentNumber"),
                    location_code: store.ledger_location(company, id),
                }
            })
            .collect()
    }
}
