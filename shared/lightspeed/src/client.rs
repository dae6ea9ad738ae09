//! The Lightspeed R-Series API client: one HTTP layer per connection that authenticates
//! (refreshing on expiry or 401), paces requests by the leaky-bucket headers, retries by the
//! pure policy in `retry`, and decodes responses; on top of it the resource calls (get, one
//! page, a stream of pages, setting stock). It knows Lightspeed only — nothing of the sync.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures::{Stream, TryStreamExt, stream};
use reqwest::Method;
use reqwest::header::ACCEPT;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use url::Url;

use crate::auth::{OAuthClient, OAuthConfig, RefreshLease, TokenManager, TokenOptions, TokenStore};
use crate::error::{ApiErrorBody, LightspeedError};
use crate::json::DecodeError;
use crate::model::{Account, AccountId, Item, ItemId, ItemShopId, Resource, ShopId};
use crate::paging::{Page, PageRequest, RawPage, Record, split_list, split_one};
use crate::query::{Query, Relations};
use crate::rate::{ClientStats, Counters, Pacer, PacingOptions, SharedBucket};
use crate::retry::{self, Attempt, Failure, RetryDecision, RetryPolicy, TransportKind};

/// Production API base.
pub const DEFAULT_API_BASE: &str = "https://api.lightspeedapp.com";
/// Production OAuth base.
pub const DEFAULT_AUTH_BASE: &str = "https://cloud.lightspeedapp.com";

/// Settings of one Lightspeed connection.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub api_base: Url,
    pub auth_base: Url,
    pub client_id: String,
    pub client_secret: SecretString,
    /// OAuth scope requested at the first connection.
    pub scope: String,
    /// Redirect URI registered for the client (sent at authorize and exchange when set).
    pub redirect_uri: Option<String>,
    /// Known account id; otherwise taken from the token's `acct` claim or `Account.json`.
    pub account_id: Option<AccountId>,
    /// Per-request timeout (the whole request, body included).
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    pub retry: RetryPolicy,
    pub pacing: PacingOptions,
    pub tokens: TokenOptions,
}

impl ClientConfig {
    /// Defaults for production with these client credentials.
    pub fn new(client_id: impl Into<String>, client_secret: SecretString) -> Self {
        Self {
            api_base: constant_url(DEFAULT_API_BASE),
            auth_base: constant_url(DEFAULT_AUTH_BASE),
            client_id: client_id.into(),
            client_secret,
            scope: "employee:all".into(),
            redirect_uri: None,
            account_id: None,
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            pacing: PacingOptions::default(),
            tokens: TokenOptions::default(),
        }
    }

    /// Both bases on one URL (the sandbox serves API and OAuth on one port).
    pub fn with_base(mut self, base: &str) -> Result<Self, url::ParseError> {
        let url = Url::parse(base)?;
        self.api_base = url.clone();
        self.auth_base = url;
        Ok(self)
    }
}

#[expect(
    clippy::expect_used,
    reason = "only called with the two constant, valid base URLs above"
)]
fn constant_url(text: &str) -> Url {
    Url::parse(text).expect("constant URL parses")
}

/// Builds a [`LightspeedClient`].
#[derive(Debug)]
pub struct ClientBuilder {
    config: ClientConfig,
    store: Arc<dyn TokenStore>,
    lease: Arc<dyn RefreshLease>,
    http: Option<reqwest::Client>,
    shared: Option<Arc<dyn SharedBucket>>,
}

impl ClientBuilder {
    /// Books every request on this budget of the account first (see [`SharedBucket`]).
    #[must_use]
    pub fn shared_bucket(mut self, bucket: Arc<dyn SharedBucket>) -> Self {
        self.shared = Some(bucket);
        self
    }

    /// Uses this `reqwest::Client` (shared connection pool; per-request timeouts still apply).
    #[must_use]
    pub fn http(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<LightspeedClient, LightspeedError> {
        let http = match self.http {
            Some(h) => h,
            None => reqwest::Client::builder()
                .connect_timeout(self.config.connect_timeout)
                .timeout(self.config.request_timeout)
                .user_agent(concat!("lsbc-lightspeed/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(LightspeedError::Client)?,
        };
        let oauth = OAuthClient::new(
            http.clone(),
            OAuthConfig {
                auth_base: self.config.auth_base.clone(),
                client_id: self.config.client_id.clone(),
                client_secret: self.config.client_secret.clone(),
                scope: self.config.scope.clone(),
                redirect_uri: self.config.redirect_uri.clone(),
            },
            self.config.retry.clone(),
            self.config.request_timeout,
        );
        let tokens = TokenManager::new(oauth, self.store, self.lease, self.config.tokens.clone());
        Ok(LightspeedClient {
            inner: Arc::new(Inner {
                pacer: Pacer::new(self.config.pacing.clone()),
                shared: self.shared,
                probe: tokio::sync::Mutex::new(()),
                http,
                tokens,
                counters: Counters::default(),
                account: tokio::sync::OnceCell::new(),
                config: self.config,
            }),
        })
    }
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    config: ClientConfig,
    tokens: TokenManager,
    pacer: Pacer,
    shared: Option<Arc<dyn SharedBucket>>,
    /// Held by the first request while the drip rate is unknown: a shared schedule booked
    /// at a guessed rate would be off for every instance, so the others wait for its answer.
    probe: tokio::sync::Mutex<()>,
    counters: Counters,
    account: tokio::sync::OnceCell<AccountId>,
}

/// Where a stock level goes: an existing ItemShop row, or a shop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StockTarget {
    ItemShop(ItemShopId),
    Shop(ShopId),
}

/// A quantity on hand to set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StockUpdate {
    pub target: StockTarget,
    pub qoh: i64,
}

/// The client of one Lightspeed connection. Cheap to clone; clones share the token cache,
/// the pacer and the counters.
#[derive(Debug, Clone)]
pub struct LightspeedClient {
    inner: Arc<Inner>,
}

/// One HTTP call to make.
struct Call<'a> {
    method: Method,
    url: Url,
    body: Option<&'a Value>,
    idempotent: bool,
    cost: f64,
}

impl Call<'_> {
    /// A GET of `url` (safe to repeat) estimated at `cost` drips.
    fn get(url: Url, cost: f64) -> Self {
        Self {
            method: Method::GET,
            url,
            body: None,
            idempotent: true,
            cost,
        }
    }
}

fn method_name(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::PUT => "PUT",
        Method::POST => "POST",
        Method::DELETE => "DELETE",
        _ => "OTHER",
    }
}

/// Spreads client-chosen backoffs over [½·d, d] so retrying callers don't move in step.
fn jitter(d: Duration) -> Duration {
    let f: f64 = rand::random_range(0.5..=1.0);
    d.mul_f64(f)
}

/// Estimated cost of a read: 1 drip, plus up to 0.2 per relation, doubled on lists
/// (api-notes §2.5); the real cost comes back in `X-LS-Api-Request-Cost`.
fn read_cost(relations: usize, list: bool) -> f64 {
    let per = 0.2 * relations as f64;
    1.0 + if list { per * 2.0 } else { per }
}

/// Relations named in a link's `load_relations`, for its cost estimate.
fn relations_in_link(url: &Url) -> usize {
    url.query_pairs()
        .find(|(k, _)| k == "load_relations")
        .map_or(0, |(_, v)| Relations::count_in_param(&v))
}

impl LightspeedClient {
    /// Starts building a client over the caller's token store and refresh lease.
    pub fn builder(
        config: ClientConfig,
        store: Arc<dyn TokenStore>,
        lease: Arc<dyn RefreshLease>,
    ) -> ClientBuilder {
        ClientBuilder {
            config,
            store,
            lease,
            http: None,
            shared: None,
        }
    }

    /// The token manager (first connection, account id, invalidation).
    pub fn tokens(&self) -> &TokenManager {
        &self.inner.tokens
    }

    /// Requests sent, 429s seen, retries, refreshes, pacing waits, drips used.
    pub fn stats(&self) -> ClientStats {
        self.inner.counters.snapshot(self.inner.tokens.refreshes())
    }

    fn api_url(&self, path: &str) -> Result<Url, LightspeedError> {
        let base = self.inner.config.api_base.as_str().trim_end_matches('/');
        Ok(Url::parse(&format!("{base}{path}"))?)
    }

    /// The account id: configured, else the token's `acct` claim, else `Account.json`.
    pub async fn account_id(&self) -> Result<AccountId, LightspeedError> {
        self.inner
            .account
            .get_or_try_init(|| async {
                if let Some(id) = self.inner.config.account_id {
                    return Ok(id);
                }
                if let Some(id) = self.inner.tokens.account_id().await? {
                    return Ok(id);
                }
                Ok(self.account().await?.account_id)
            })
            .await
            .copied()
    }

    /// `GET /API/V3/Account.json`.
    pub async fn account(&self) -> Result<Account, LightspeedError> {
        let url = self.api_url("/API/V3/Account.json")?;
        let body = self.execute(Call::get(url, 1.0)).await?;
        let raw = split_one("Account", body)?;
        Ok(Account::from_json(&raw)?)
    }

    async fn entity_url(&self, tail: &str, query: &str) -> Result<Url, LightspeedError> {
        let account = self.account_id().await?;
        let q = if query.is_empty() {
            String::new()
        } else {
            format!("?{query}")
        };
        self.api_url(&format!("/API/V3/Account/{account}/{tail}.json{q}"))
    }

    /// One record by id, with the named relations.
    pub async fn get<R: Resource>(
        &self,
        id: u64,
        relations: &[&str],
    ) -> Result<Record<R>, LightspeedError> {
        let query = if relations.is_empty() {
            Query::new()
        } else {
            Query::new().relations(relations.iter().copied())
        };
        let url = self
            .entity_url(&format!("{}/{id}", R::ENTITY), &query.to_query_string())
            .await?;
        let body = self
            .execute(Call::get(url, read_cost(relations.len(), false)))
            .await?;
        Ok(Record::from_raw(split_one(R::ENTITY, body)?))
    }

    /// One page of raw records of `entity` (`Item`, `Sale`, …): the first page of a query or
    /// a `next` link followed verbatim. Checkpoint between pages with the returned `next`.
    pub async fn page_raw(
        &self,
        entity: &str,
        request: PageRequest,
    ) -> Result<RawPage, LightspeedError> {
        let (url, relations) = match request {
            PageRequest::First(query) => (
                self.entity_url(entity, &query.to_query_string()).await?,
                query.relation_count(),
            ),
            PageRequest::Link(link) => {
                let url = Url::parse(&link)?;
                let base = &self.inner.config.api_base;
                if url.origin() != base.origin() {
                    return Err(LightspeedError::ForeignLink { url: link });
                }
                let relations = relations_in_link(&url);
                (url, relations)
            }
        };
        let body = self
            .execute(Call::get(url, read_cost(relations, true)))
            .await?;
        Ok(split_list(entity, body)?)
    }

    /// One page of records of `R`.
    pub async fn page<R: Resource>(
        &self,
        request: impl Into<PageRequest>,
    ) -> Result<Page<R>, LightspeedError> {
        Ok(Page::from_raw(
            self.page_raw(R::ENTITY, request.into()).await?,
        ))
    }

    /// All pages of a query, following `next` until it is empty. Ends with
    /// [`LightspeedError::PagingStalled`] if a `next` link repeats.
    pub fn pages<R: Resource>(
        &self,
        query: Query,
    ) -> impl Stream<Item = Result<Page<R>, LightspeedError>> + Send + 'static {
        struct State {
            client: LightspeedClient,
            next: Option<PageRequest>,
            seen: HashSet<String>,
            stalled: Option<String>,
        }
        let state = State {
            client: self.clone(),
            next: Some(PageRequest::First(query)),
            seen: HashSet::new(),
            stalled: None,
        };
        stream::unfold(state, |mut st| async move {
            if let Some(url) = st.stalled.take() {
                return Some((Err(LightspeedError::PagingStalled { url }), st));
            }
            let request = st.next.take()?;
            if let PageRequest::Link(url) = &request {
                st.seen.insert(url.clone());
            }
            match st.client.page::<R>(request).await {
                Ok(page) => {
                    if let Some(next) = &page.next {
                        if st.seen.contains(next) {
                            st.stalled = Some(next.clone());
                        } else {
                            st.next = Some(PageRequest::Link(next.clone()));
                        }
                    }
                    Some((Ok(page), st))
                }
                Err(e) => Some((Err(e), st)),
            }
        })
    }

    /// All records of a query, page after page.
    pub fn records<R: Resource>(
        &self,
        query: Query,
    ) -> impl Stream<Item = Result<Record<R>, LightspeedError>> + Send + 'static {
        self.pages::<R>(query)
            .map_ok(|page| stream::iter(page.records.into_iter().map(Ok)))
            .try_flatten()
    }

    /// Sets quantities on hand of one item (`PUT Item/{id}.json` with
    /// `{"ItemShops":{"ItemShop":[{"itemShopID"|"shopID","qoh"}]}}`, docs inventory-levels
    /// tutorial; one entry is sent as an object). Absolute values: safe to repeat.
    /// `Item.timeStamp` does not move.
    pub async fn set_stock(
        &self,
        item: ItemId,
        updates: &[StockUpdate],
    ) -> Result<Record<Item>, LightspeedError> {
        let entries: Vec<Value> = updates
            .iter()
            .map(|u| match u.target {
                StockTarget::ItemShop(id) => json!({"itemShopID": id.get(), "qoh": u.qoh}),
                StockTarget::Shop(id) => json!({"shopID": id.get(), "qoh": u.qoh}),
            })
            .collect();
        // One entry as an object, several as an array: the docs tutorial's shape.
        let entries = match <[Value; 1]>::try_from(entries) {
            Ok([one]) => one,
            Err(many) => Value::Array(many),
        };
        let body = json!({"ItemShops": {"ItemShop": entries}});
        let url = self.entity_url(&format!("Item/{item}"), "").await?;
        let answer = self
            .execute(Call {
                method: Method::PUT,
                url,
                body: Some(&body),
                idempotent: true,
                cost: 1.0 + 0.5 * updates.len() as f64,
            })
            .await?;
        Ok(Record::from_raw(split_one(Item::ENTITY, answer)?))
    }

    /// Sets an item's `itemType` (`PUT Item/{id}.json` with `{"itemType": …}`; docs Item
    /// page: `default`, `non_inventory`, `serialized`, `box`, …). `Item.timeStamp` moves.
    pub async fn set_item_type(
        &self,
        item: ItemId,
        item_type: &str,
    ) -> Result<Record<Item>, LightspeedError> {
        let body = json!({"itemType": item_type});
        let url = self.entity_url(&format!("Item/{item}"), "").await?;
        let answer = self
            .execute(Call {
                method: Method::PUT,
                url,
                body: Some(&body),
                idempotent: true,
                cost: 1.0,
            })
            .await?;
        Ok(Record::from_raw(split_one(Item::ENTITY, answer)?))
    }

    /// Books `cost` on the account's shared budget, when there is one, and waits the
    /// longest time its lanes say. Returns the wait.
    async fn book_shared(&self, cost: f64) -> Duration {
        let Some(shared) = &self.inner.shared else {
            return Duration::ZERO;
        };
        let mut wait = Duration::ZERO;
        for lane in self.inner.pacer.shared_lanes(cost) {
            match shared
                .reserve(lane.name, lane.units, lane.per_second, lane.room)
                .await
            {
                Ok(w) => wait = wait.max(w),
                Err(message) => {
                    tracing::warn!(%message, "The shared Lightspeed budget is unavailable; pacing locally.");
                }
            }
        }
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        wait
    }

    /// Books drips a request was charged beyond what it booked before going out (the
    /// next requests of every instance wait for them; this one has gone).
    async fn book_charged(&self, extra: f64) {
        let Some(shared) = &self.inner.shared else {
            return;
        };
        let Some(bucket) = self
            .inner
            .pacer
            .shared_lanes(extra)
            .into_iter()
            .find(|lane| lane.name == "bucket")
        else {
            return;
        };
        if let Err(message) = shared
            .reserve(bucket.name, bucket.units, bucket.per_second, bucket.room)
            .await
        {
            tracing::warn!(%message, "The shared Lightspeed budget is unavailable; pacing locally.");
        }
    }

    /// Sends one call with authentication, pacing and retries; returns the JSON body.
    async fn execute(&self, call: Call<'_>) -> Result<Value, LightspeedError> {
        let inner = &self.inner;
        let method = method_name(&call.method);
        let endpoint = call.url.path().to_owned();
        let mut attempt = 0;
        let mut refreshed = false;
        loop {
            attempt += 1;
            let token: SecretString = inner.tokens.access_token().await?;
            let probe = if inner.shared.is_some() && !inner.pacer.observed() {
                Some(inner.probe.lock().await)
            } else {
                None
            };
            // Every request costs at least a drip; what more it costs (relations, nested
            // writes) is booked from the answer's `X-LS-Api-Request-Cost`, not from the
            // estimate, which runs high and would hold every instance back.
            let upfront = call.cost.min(1.0);
            let booked = self.book_shared(upfront).await;
            let (permit, mut waited) = inner.pacer.acquire(call.cost).await;
            waited += booked;
            if !waited.is_zero() {
                Counters::bump(&inner.counters.paced_waits, 1);
                Counters::bump(
                    &inner.counters.paced_micros,
                    waited.as_micros().try_into().unwrap_or(u64::MAX),
                );
            }
            let mut request = inner
                .http
                .request(call.method.clone(), call.url.clone())
                .bearer_auth(token.expose_secret())
                .header(ACCEPT, "application/json")
                .timeout(inner.config.request_timeout);
            if let Some(body) = call.body {
                request = request.json(body);
            }
            Counters::bump(&inner.counters.requests, 1);
            let answer = match request.send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let headers = resp.headers().clone();
                    resp.bytes().await.map(|b| (status, headers, b))
                }
                Err(e) => Err(e),
            };
            let (status, headers, bytes) = match answer {
                Ok(a) => a,
                Err(error) => {
                    inner.pacer.abandon(permit);
                    let kind = TransportKind::of(&error);
                    let decision = retry::decide(
                        &inner.config.retry,
                        Attempt {
                            number: attempt,
                            idempotent: call.idempotent,
                            refreshed,
                        },
                        &Failure::Transport(kind),
                    );
                    if let RetryDecision::Retry { after, .. } = decision {
                        tracing::debug!(method, %endpoint, ?kind, attempt, "Retrying Lightspeed request.");
                        Counters::bump(&inner.counters.retries, 1);
                        tokio::time::sleep(jitter(after)).await;
                        continue;
                    }
                    return Err(LightspeedError::Transport {
                        method,
                        endpoint,
                        kind,
                        source: error.without_url(),
                    });
                }
            };
            // The bucket headers are parsed here, once, and reused below.
            let bucket = inner.pacer.observe(permit, &headers);
            if let Some(extra) = bucket
                .and_then(|h| h.cost)
                .map(|cost| cost - upfront)
                .filter(|extra| *extra > 0.0)
            {
                self.book_charged(extra).await;
            }
            drop(probe);
            if status == 429 {
                Counters::bump(&inner.counters.throttled, 1);
            } else if let Some(cost) = bucket.and_then(|h| h.cost) {
                Counters::bump(&inner.counters.milli_drips, (cost * 1000.0).round() as u64);
            }
            if (200..300).contains(&status) {
                return serde_json::from_slice(&bytes).map_err(|e| {
                    LightspeedError::Decode(DecodeError {
                        entity: "response",
                        path: ".".into(),
                        message: format!("body is not JSON: {e}"),
                    })
                });
            }
            let text = String::from_utf8_lossy(&bytes);
            let decision = retry::decide(
                &inner.config.retry,
                Attempt {
                    number: attempt,
                    idempotent: call.idempotent,
                    refreshed,
                },
                &Failure::Status {
                    status,
                    headers: &headers,
                    body: &text,
                },
            );
            match decision {
                RetryDecision::Retry { after, server } => {
                    if status == 429 {
                        inner.pacer.hold(after);
                    }
                    tracing::debug!(method, %endpoint, status, attempt, ?after, "Retrying Lightspeed request.");
                    Counters::bump(&inner.counters.retries, 1);
                    tokio::time::sleep(if server { after } else { jitter(after) }).await;
                }
                RetryDecision::RefreshThenRetry => {
                    inner.tokens.invalidate(&token);
                    refreshed = true;
                    Counters::bump(&inner.counters.retries, 1);
                }
                RetryDecision::GiveUp => {
                    return Err(LightspeedError::Api {
                        method,
                        endpoint,
                        status,
                        body: ApiErrorBody::parse(&text),
                        retry_after: if status == 429 {
                            retry::throttle_wait(&headers, bucket.as_ref())
                        } else {
                            retry::retry_after(&headers)
                        },
                    });
                }
            }
        }
    }
}
