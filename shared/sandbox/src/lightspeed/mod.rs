//! The Lightspeed Retail (R-Series) API V3 simulator: OAuth with rotating refresh tokens,
//! the leaky bucket with its headers and 429s, cursor paging, the API's JSON quirks, fault
//! injection, a seeded data generator and an in-process and HTTP control surface.
//! Built from api-notes/LIGHTSPEED.md and the recorded payloads only; it must not use the
//! client crate's types (a simulator sharing the client's model would only test itself).
//!
//! Units: API time runs `time_scale` × faster than wall time. Every duration or rate the
//! simulator *reports* is in wall-clock units — `X-LS-Api-Drip-Rate` (drips per wall
//! second = drip rate × scale), `Retry-After` (wall seconds, decimals when compressed) and
//! `expires_in` (wall seconds) — so a client that honours them behaves correctly without
//! knowing the scale. Record times (`timeStamp`, …) are API time.

mod bucket;
pub mod contract;
mod generate;
mod money;
mod oauth;
mod query;
mod render;
mod routes;
mod seed;
mod settings;
mod store;

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;

pub use generate::{generate, generate_at};
pub use oauth::{OAuthCounters, TokenGrant};
pub use query::Entity;
pub use seed::{
    AddressSeed, AttributeSet, CategorySeed, CustomFieldSeed, CustomerSeed, CustomerTypeSeed,
    Dataset, DiscountSeed, EcommerceSeed, EmailSeed, EmployeeSeed, ImageSeed, ItemSeed, LineOf,
    MatrixSeed, PaymentTypeSeed, PhoneSeed, RegisterSeed, SaleLineSeed, SalePaymentSeed, SaleSeed,
    ShipToSeed, ShopSeed, Sizes, StockSeed, TaxCategorySeed, TaxClassRateSeed, TaxClassSeed,
};
pub use settings::{
    Behaviour, BoxSaleStock, InclusiveAmounts, LayawayStock, NonInventoryStock, SerializedStock,
    UpdateTimeKey,
};
pub use store::WriteRecord;

use crate::common::{Faults, RequestStats, RunningServer, SimClock, StatsSnapshot, spawn};
use bucket::Bucket;
use oauth::{OAuth, OAuthSettings};
use query::Loads;
use routes::{Shared, lock};
use store::Store;

/// How to run one simulated Lightspeed account.
#[derive(Debug, Clone)]
pub struct LightspeedSandboxConfig {
    /// Port on 127.0.0.1 (0 = any free port).
    pub port: u16,
    pub account_id: u64,
    pub account_name: String,
    /// Seed of the token generator (data come from [`generate`] with their own seed).
    pub seed: u64,
    /// API time runs this many times faster than wall time.
    pub time_scale: f64,
    /// API time at start.
    pub epoch: Timestamp,
    /// Bucket size in drips (docs: 90 base).
    pub bucket_size: f64,
    /// Drips leaked per API second (docs: 1 base, +0.5 per extra register).
    pub drip_rate: f64,
    /// Burst limiter: requests per API second (off when `None`). The real API always has
    /// one, in 1-second windows ("a fraction of the allowed bucket size"; the docs' example
    /// header says `1/20`, developers.lightspeedhq.com/retail/introduction/rate-limiting/).
    pub burst_limit: Option<u32>,
    /// Whether the leaky bucket is enforced at all.
    pub rate_limit: bool,
    /// Access-token lifetime in API time (docs: "generally 60 minutes").
    pub token_ttl: Duration,
    /// Largest page a list request returns (docs: 100).
    pub page_size_cap: usize,
    pub client_id: String,
    pub client_secret: String,
    /// Redirect URI registered for the client (used when the request gives none).
    pub redirect_uri: String,
    /// The behaviours the docs leave open (see [`Behaviour`]).
    pub behaviour: Behaviour,
}

impl Default for LightspeedSandboxConfig {
    fn default() -> Self {
        Self {
            port: 0,
            account_id: 123_456,
            account_name: "Sandbox Retail".into(),
            seed: 1,
            time_scale: 1.0,
            epoch: Timestamp::from_second(1_767_225_600).unwrap_or(Timestamp::UNIX_EPOCH),
            bucket_size: 90.0,
            drip_rate: 1.0,
            burst_limit: None,
            rate_limit: true,
            token_ttl: Duration::from_hours(1),
            page_size_cap: 100,
            client_id: "lsbc-sandbox-client".into(),
            client_secret: "lsbc-sandbox-secret".into(),
            redirect_uri: "https://localhost/callback".into(),
            behaviour: Behaviour::default(),
        }
    }
}

/// Counters of one simulator.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LightspeedStats {
    /// Requests by status (429s in `throttled`; injected resets/timeouts as status 0).
    pub requests: StatsSnapshot,
    /// Token endpoint and authentication counters.
    pub oauth: OAuthCounters,
    /// Drips charged to the bucket since the start.
    pub drips_used: f64,
    pub bucket_level: f64,
    pub bucket_size: f64,
    /// The rate `X-LS-Api-Drip-Rate` reports: drips per wall-clock second.
    pub drip_rate_per_wall_second: f64,
}

/// A running simulator.
#[derive(Debug)]
pub struct LightspeedSandbox {
    server: RunningServer,
    shared: Arc<Shared>,
}

/// Why an in-process seed or change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("sandbox refused ({status}): {message}")]
pub struct SandboxError {
    pub status: u16,
    pub message: String,
}

fn refused((status, message): (u16, String)) -> SandboxError {
    SandboxError { status, message }
}

pub(crate) fn records_of(shared: &Shared, entity: Entity) -> Vec<Value> {
    let store = lock(&shared.store);
    let q = query::ListQuery {
        limit: usize::MAX,
        archived: query::Archived::Include,
        loads: Loads::everything(),
        ..query::ListQuery::default()
    };
    store
        .list(entity, &q)
        .map(|p| p.records)
        .unwrap_or_default()
}

impl LightspeedSandbox {
    /// Starts a simulator on 127.0.0.1.
    pub async fn start(config: LightspeedSandboxConfig) -> std::io::Result<Self> {
        let clock = SimClock::new(config.epoch, config.time_scale);
        let oauth = OAuth::new(OAuthSettings {
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.clone(),
            redirect_uri: config.redirect_uri.clone(),
            account_id: config.account_id,
            token_ttl: config.token_ttl.as_secs_f64(),
            scale: clock.scale(),
            seed: config.seed,
        });
        let behaviour = config.behaviour;
        let shared = Arc::new(Shared {
            bucket: Mutex::new(Bucket::new(
                config.bucket_size,
                config.drip_rate,
                config.burst_limit,
            )),
            config,
            clock,
            faults: Faults::default(),
            stats: RequestStats::default(),
            store: Mutex::new(Store::new(behaviour)),
            oauth: Mutex::new(oauth),
            base_url: OnceLock::new(),
        });
        let server = spawn(routes::router(shared.clone()), shared.config.port).await?;
        let _ = shared.base_url.set(server.base_url());
        Ok(Self { server, shared })
    }

    /// `http://127.0.0.1:<port>`: both the API base and the OAuth base.
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    pub fn account_id(&self) -> u64 {
        self.shared.config.account_id
    }

    pub fn config(&self) -> &LightspeedSandboxConfig {
        &self.shared.config
    }

    /// The simulated clock (API time).
    pub fn clock(&self) -> &SimClock {
        &self.shared.clock
    }

    /// Fault injection for every route except `/_sandbox/…`.
    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// Counters: requests, 429s, refreshes, drips.
    pub fn stats(&self) -> LightspeedStats {
        self.shared.stats()
    }

    /// Loads a dataset (see [`generate`]).
    pub fn load(&self, dataset: &Dataset) -> Result<(), SandboxError> {
        let now = self.shared.now();
        lock(&self.shared.store).load(dataset, now).map_err(refused)
    }

    pub fn add_shop(&self, seed: &ShopSeed) -> u64 {
        let now = self.shared.now();
        lock(&self.shared.store).add_shop(seed, now)
    }

    pub fn add_payment_type(&self, seed: &PaymentTypeSeed) -> u64 {
        lock(&self.shared.store).add_payment_type(seed)
    }

    pub fn add_customer_type(&self, seed: &CustomerTypeSeed) -> u64 {
        lock(&self.shared.store).add_customer_type(seed)
    }

    pub fn add_category(&self, seed: &CategorySeed) -> Result<u64, SandboxError> {
        let now = self.shared.now();
        lock(&self.shared.store)
            .add_category(seed, now)
            .map_err(refused)
    }

    /// Adds a customer; `timeStamp` is `seed.time_stamp` or now (API time, whole seconds).
    pub fn add_customer(&self, seed: &CustomerSeed) -> u64 {
        let now = self.shared.now();
        lock(&self.shared.store).add_customer(seed, now)
    }

    /// Replaces a customer's data as an edit in the back office would (bumps `timeStamp`).
    pub fn update_customer(&self, id: u64, seed: &CustomerSeed) -> Result<(), SandboxError> {
        let now = self.shared.now();
        lock(&self.shared.store)
            .replace_customer(id, seed, now)
            .map_err(refused)
    }

    /// Changes only a customer's contact (e-mail, phone, address) to `seed`'s, as an edit
    /// of those fields in the back office would; the customer's own fields stay.
    pub fn edit_contact(&self, id: u64, seed: &CustomerSeed) -> Result<(), SandboxError> {
        let now = self.shared.now();
        lock(&self.shared.store)
            .edit_contact(id, seed, now)
            .map_err(refused)
    }

    pub fn add_matrix(&self, seed: &MatrixSeed) -> Result<u64, SandboxError> {
        let now = self.shared.now();
        lock(&self.shared.store)
            .add_matrix(seed, now)
            .map_err(refused)
    }

    pub fn add_item(&self, seed: &ItemSeed) -> Result<u64, SandboxError> {
        let now = self.shared.now();
        lock(&self.shared.store)
            .add_item(seed, now)
            .map_err(refused)
    }

    /// Makes `quantity` of item `component` one `assembly`: a box's single (a six-pack
    /// holds 6 cans) or an assembly's part, read back as the box's `ItemComponents`.
    /// Returns the `itemComponentID`.
    pub fn add_item_component(
        &self,
        assembly: u64,
        component: u64,
        quantity: i64,
    ) -> Result<u64, SandboxError> {
        lock(&self.shared.store)
            .add_item_component(assembly, component, quantity)
            .map_err(refused)
    }

    pub fn add_sale(&self, seed: &SaleSeed) -> Result<u64, SandboxError> {
        let now = self.shared.now();
        lock(&self.shared.store)
            .add_sale(seed, now)
            .map_err(refused)
    }

    pub fn add_tax_class(&self, seed: &TaxClassSeed) -> u64 {
        let now = self.shared.now();
        lock(&self.shared.store).add_tax_class(seed, now)
    }

    pub fn add_tax_category(&self, seed: &TaxCategorySeed) -> Result<u64, SandboxError> {
        let now = self.shared.now();
        lock(&self.shared.store)
            .add_tax_category(seed, now)
            .map_err(refused)
    }

    pub fn add_register(&self, seed: &RegisterSeed) -> Result<u64, SandboxError> {
        let now = self.shared.now();
        lock(&self.shared.store)
            .add_register(seed, now)
            .map_err(refused)
    }

    pub fn add_employee(&self, seed: &EmployeeSeed) -> u64 {
        let now = self.shared.now();
        lock(&self.shared.store).add_employee(seed, now)
    }

    pub fn add_discount(&self, seed: &DiscountSeed) -> Result<u64, SandboxError> {
        let now = self.shared.now();
        lock(&self.shared.store)
            .add_discount(seed, now)
            .map_err(refused)
    }

    /// Completes an open sale with these payments, as the register would now: it sets
    /// `completeTime`, moves `timeStamp` and `updatetime`, and takes the units off stock.
    /// Refused unless the payments (tips included) balance the sale.
    pub fn complete_sale(&self, id: u64, payments: &[SalePaymentSeed]) -> Result<(), SandboxError> {
        let now = self.shared.now();
        lock(&self.shared.store)
            .complete_sale(id, payments, now)
            .map_err(refused)
    }

    /// Voids a sale now: payments archived, stock put back, a `SaleVoid` recorded and
    /// `updatetime` moved (a completed sale's `timeStamp` stays, see [`Behaviour`]). Returns
    /// the `saleVoidID`.
    pub fn void_sale(&self, id: u64, reason: &str) -> Result<u64, SandboxError> {
        let now = self.shared.now();
        lock(&self.shared.store)
            .void_sale(id, reason, None, now)
            .map_err(refused)
    }

    /// Sets a plain field of a record and bumps its `timeStamp` (for a sale or sale line:
    /// `updatetime`, and `timeStamp` only while the sale is open).
    pub fn set_field(
        &self,
        entity: Entity,
        id: u64,
        field: &str,
        value: &str,
    ) -> Result<(), SandboxError> {
        let now = self.shared.now();
        lock(&self.shared.store)
            .set_field(entity, id, field, value, now)
            .map_err(refused)
    }

    /// Sets stock as a back-office count would: the ItemShop's `timeStamp` moves, the
    /// Item's does not.
    pub fn set_stock(&self, item_id: u64, shop_id: u64, qoh: i64) -> Result<(), SandboxError> {
        let now = self.shared.now();
        lock(&self.shared.store)
            .set_stock(item_id, shop_id, qoh, now)
            .map_err(refused)
    }

    /// Quantity on hand of an item in a shop (shop 0 = the all-shops summary).
    pub fn stock(&self, item_id: u64, shop_id: u64) -> Option<i64> {
        lock(&self.shared.store).stock(item_id, shop_id)
    }

    /// One record as the API renders it, with every relation loaded.
    pub fn record(&self, entity: Entity, id: u64) -> Option<Value> {
        lock(&self.shared.store).render(entity, id, &Loads::everything())
    }

    /// All records of an entity (archived included), every relation loaded, by id.
    pub fn records(&self, entity: Entity) -> Vec<Value> {
        records_of(&self.shared, entity)
    }

    /// Writes clients made through the API, oldest first.
    pub fn writes(&self) -> Vec<WriteRecord> {
        lock(&self.shared.store).writes().to_vec()
    }

    /// Issues a token pair without the authorization step.
    pub fn issue_tokens(&self) -> TokenGrant {
        lock(&self.shared.oauth).issue_direct(self.shared.clock.api_seconds())
    }

    /// Every credential a log must never show: the client secret and every code, access
    /// token and refresh token issued so far.
    pub fn secrets_issued(&self) -> Vec<String> {
        lock(&self.shared.oauth).secrets_issued()
    }

    /// Expires every access token issued so far (refresh tokens stay valid).
    pub fn expire_access_tokens(&self) {
        lock(&self.shared.oauth).expire_access_tokens();
    }

    /// Whether this access token has been presented on an API request.
    pub fn access_token_used(&self, token: &str) -> bool {
        lock(&self.shared.oauth).access_token_used(token)
    }

    /// Whether this refresh token would still be accepted.
    pub fn refresh_token_valid(&self, token: &str) -> bool {
        lock(&self.shared.oauth).refresh_token_valid(token, self.shared.clock.api_seconds())
    }

    /// Stops the server.
    pub async fn stop(self) {
        self.server.stop().await;
    }
}
