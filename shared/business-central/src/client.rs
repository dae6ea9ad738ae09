//! The Business Central client: builds URLs for the configured company, signs, paces and
//! retries each request, decodes answers, and offers the generic record path (JSON in, JSON
//! out, etag kept) plus the typed helpers the sync needs (paging streams, conflict re-read,
//! `$batch`, pictures, bound actions, item ledger entries, webhook subscriptions). It must not
//! know about the sync's flows, mappings or storage.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use percent_encoding::utf8_percent_encode;
use reqwest::Method;
use reqwest::header::{self, HeaderMap, HeaderValue};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tokio::sync::OnceCell;
use uuid::Uuid;

use crate::auth::Credential;
use crate::batch::{self, Atomicity, BatchOperation, BatchResponse};
use crate::config::{BusinessCentralConfig, CompanyRef, Deployment};
use crate::entity::{EntityPath, EntitySet, Record};
use crate::error::{ApiError, BcError, ErrorCode};
use crate::models::{Company, ContactInformation, ItemLedgerEntry, Picture};
use crate::odata::{ETag, Filter, PATH_VALUE, Query, encode};
use crate::pacing::{Pool, PrincipalStats, SharedBudget};
use crate::retry::{self, Decision, Outcome, RetryPolicy, TransportFailure};
use crate::validate::{self, Operation};
use crate::webhook::Subscription;

/// One page of a collection and the link to the next, verbatim.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The records of this page.
    pub records: Vec<Record>,
    /// `@odata.nextLink`, to be followed as is.
    pub next_link: Option<String>,
}

/// A client for one BC company. Cheap to clone; clones share tokens, pacing and counters.
#[derive(Clone)]
pub struct BusinessCentral {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    /// `…/api/v2.0` without trailing slash.
    root: String,
    /// `tenant=…` for multitenant on-premises servers.
    tenant_query: Option<String>,
    company: CompanyRef,
    company_id: OnceCell<Uuid>,
    company_name: OnceCell<String>,
    credentials: Vec<Credential>,
    pool: Arc<Pool>,
    /// The budget shared with other processes, and the rate it keeps to.
    shared: Option<(Arc<dyn SharedBudget>, (f64, f64))>,
    retry: RetryPolicy,
    token_margin: Duration,
}

impl fmt::Debug for BusinessCentral {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BusinessCentral")
            .field("root", &self.inner.root)
            .field("company", &self.inner.company)
            .field("principals", &self.inner.credentials)
            .finish_non_exhaustive()
    }
}

/// What goes over the wire for one call.
struct Call {
    method: Method,
    url: String,
    body: Option<(Bytes, &'static str)>,
    if_match: Option<ETag>,
    extra: Vec<(&'static str, String)>,
    idempotent: bool,
    weight: u32,
}

struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Bytes,
}

impl BusinessCentral {
    /// Builds the client; no request is made until the first call.
    pub fn new(config: BusinessCentralConfig) -> Result<Self, BcError> {
        let trim = |s: &str| s.trim_end_matches('/').to_owned();
        let (root, tenant_query, credentials) = match &config.deployment {
            Deployment::Online {
                tenant,
                environment,
                principals,
            } => {
                if principals.is_empty() {
                    return Err(BcError::Config("no app registration given".to_owned()));
                }
                if tenant.is_empty() || environment.is_empty() {
                    return Err(BcError::Config(
                        "tenant and environment are required".to_owned(),
                    ));
                }
                let seg = |s: &str| utf8_percent_encode(s, PATH_VALUE).to_string();
                let root = format!(
                    "{}/v2.0/{}/{}/api/v2.0",
                    trim(&config.api_base),
                    seg(tenant),
                    seg(environment)
                );
                let token_url = format!(
                    "{}/{}/oauth2/v2.0/token",
                    trim(&config.login_base),
                    seg(tenant)
                );
                let credentials = principals
                    .iter()
                    .map(|p| {
                        Credential::oauth(
                            p.client_id.clone(),
                            p.client_secret.clone(),
                            token_url.clone(),
                        )
                    })
                    .collect::<Vec<Credential>>();
                (root, None, credentials)
            }
            Deployment::OnPremises {
                base_url,
                tenant,
                users,
            } => {
                if users.is_empty() {
                    return Err(BcError::Config("no on-premises user given".to_owned()));
                }
                let root = format!("{}/api/v2.0", trim(base_url));
                let credentials = users
                    .iter()
                    .map(|u| Credential::basic(&u.user, &u.access_key))
                    .collect::<Vec<Credential>>();
                (
                    root,
                    tenant.as_ref().map(|t| format!("tenant={}", encode(t))),
                    credentials,
                )
            }
        };
        if !(root.starts_with("http://") || root.starts_with("https://")) {
            return Err(BcError::Config(format!("not an http(s) URL: {root}")));
        }
        let http = match config.http {
            Some(client) => client,
            None => reqwest::Client::builder()
                .timeout(Duration::from_mins(1))
                .build()
                .map_err(|e| BcError::Config(e.to_string()))?,
        };
        let labels = credentials
            .iter()
            .map(|c: &Credential| c.label().to_owned())
            .collect();
        let company_id = OnceCell::new();
        let company_name = OnceCell::new();
        match &config.company {
            CompanyRef::Id(id) => {
                let _ = company_id.set(*id);
            }
            CompanyRef::Name(name) => {
                let _ = company_name.set(name.clone());
            }
        }
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                root,
                tenant_query,
                company: config.company,
                company_id,
                company_name,
                shared: config
                    .shared
                    .and_then(|budget| Some((budget, config.limits.shared_rate()?))),
                pool: Pool::new(labels, config.limits),
                credentials,
                retry: config.retry,
                token_margin: config.token_refresh_margin,
            }),
        })
    }

    /// Request counters per principal (requests, 429s, retries).
    pub fn stats(&self) -> Vec<PrincipalStats> {
        self.inner.pool.stats()
    }

    /// How many principals requests are spread over.
    pub fn principal_count(&self) -> usize {
        self.inner.pool.principal_count()
    }

    // ---- companies -------------------------------------------------------------------

    /// All companies of the environment (`GET companies`).
    pub async fn companies(&self) -> Result<Vec<Company>, BcError> {
        let url = self.with_tenant(format!("{}/companies", self.inner.root));
        let records: Vec<Record> = self.pages(url, None).try_collect().await?;
        records.iter().map(Record::decode).collect()
    }

    /// The configured company's SystemId, resolving a name once.
    pub async fn company_id(&self) -> Result<Uuid, BcError> {
        self.inner
            .company_id
            .get_or_try_init(|| async {
                match &self.inner.company {
                    CompanyRef::Id(id) => Ok(*id),
                    CompanyRef::Name(name) => self
                        .companies()
                        .await?
                        .into_iter()
                        .find(|c| &c.name == name)
                        .map(|c| c.id)
                        .ok_or_else(|| BcError::CompanyNotFound(name.clone())),
                }
            })
            .await
            .copied()
    }

    // ---- generic record path -----------------------------------------------------------

    /// GET one entity.
    pub async fn get(
        &self,
        path: impl Into<EntityPath>,
        id: Uuid,
        query: &Query,
    ) -> Result<Record, BcError> {
        let path = path.into();
        let url = self.url(&path.entity_url(id), Some(query)).await?;
        let answer = self
            .send(Call::get(url, query.page_size_preference()))
            .await?;
        decode_record(&answer.body)
    }

    /// One page of a collection.
    pub async fn list_page(
        &self,
        path: impl Into<EntityPath>,
        query: &Query,
    ) -> Result<Page, BcError> {
        let path = path.into();
        let url = self.url(&path.collection_url(), Some(query)).await?;
        self.page(url, query.page_size_preference()).await
    }

    /// The page behind an `@odata.nextLink`, followed verbatim.
    pub async fn next_page(&self, next_link: &str) -> Result<Page, BcError> {
        self.page(next_link.to_owned(), None).await
    }

    /// Every record of a collection, page by page along `@odata.nextLink` (never `$skip`).
    /// Ends with [`BcError::PagingStalled`] if BC repeats a link.
    pub fn list(
        &self,
        path: impl Into<EntityPath>,
        query: Query,
    ) -> BoxStream<'static, Result<Record, BcError>> {
        let this = self.clone();
        let path = path.into();
        stream::once(async move {
            let url = this.url(&path.collection_url(), Some(&query)).await?;
            Ok::<_, BcError>(this.pages(url, query.page_size_preference()))
        })
        .try_flatten()
        .boxed()
    }

    /// Every record of a collection, collected.
    pub async fn list_all(
        &self,
        path: impl Into<EntityPath>,
        query: Query,
    ) -> Result<Vec<Record>, BcError> {
        self.list(path, query).try_collect().await
    }

    /// The first record matching `filter`, if any (`$top=1`: one page, no link).
    pub async fn find_first(
        &self,
        path: impl Into<EntityPath>,
        filter: Filter,
    ) -> Result<Option<Record>, BcError> {
        let page = self
            .list_page(path, &Query::new().filter(filter).top(1))
            .await?;
        Ok(page.records.into_iter().next())
    }

    /// POST a new entity (deep insert when the body carries the document's lines; the
    /// answer then includes them). Validated before sending.
    pub async fn create(
        &self,
        path: impl Into<EntityPath>,
        body: Map<String, Value>,
    ) -> Result<Record, BcError> {
        let path = path.into();
        validate::validate_under(path.parent_set(), path.set(), Operation::Create, &body)?;
        let mut query = Query::new();
        if let Some(lines) = path.set().lines()
            && body.contains_key(lines.as_str())
        {
            query = query.expand(lines.as_str());
        }
        let url = self.url(&path.collection_url(), Some(&query)).await?;
        let answer = self
            .send(Call::json(
                Method::POST,
                url,
                &Value::Object(body),
                None,
                false,
            ))
            .await?;
        decode_record(&answer.body)
    }

    /// PATCH an entity with `If-Match: etag`. Validated before sending.
    pub async fn update(
        &self,
        path: impl Into<EntityPath>,
        id: Uuid,
        etag: &ETag,
        changes: Map<String, Value>,
    ) -> Result<Record, BcError> {
        let path = path.into();
        validate::validate_under(path.parent_set(), path.set(), Operation::Update, &changes)?;
        let url = self.url(&path.entity_url(id), None).await?;
        let answer = self
            .send(Call::json(
                Method::PATCH,
                url,
                &Value::Object(changes),
                Some(etag.clone()),
                true,
            ))
            .await?;
        decode_record(&answer.body)
    }

    /// PATCH with one conflict retry: on `409 Request_EntityChanged` the entity is read
    /// again and `recompute` turns the fresh record into a new patch (`None`: nothing left
    /// to change, the fresh record is returned). The second PATCH uses the fresh etag; a
    /// second conflict is returned to the caller.
    pub async fn update_with<F>(
        &self,
        path: impl Into<EntityPath>,
        id: Uuid,
        etag: &ETag,
        changes: Map<String, Value>,
        mut recompute: F,
    ) -> Result<Record, BcError>
    where
        F: FnMut(&Record) -> Option<Map<String, Value>>,
    {
        let path = path.into();
        match self.update(path.clone(), id, etag, changes).await {
            Err(BcError::Api(api)) if is_entity_changed(&api) => {
                tracing::debug!(set = %path.set(), %id, "Record changed under us; re-reading once.");
                let fresh = self.get(path.clone(), id, &Query::new()).await?;
                let Some(again) = recompute(&fresh) else {
                    return Ok(fresh);
                };
                let fresh_tag = fresh.etag().cloned().unwrap_or_else(ETag::any);
                self.update(path, id, &fresh_tag, again).await
            }
            other => other,
        }
    }

    /// DELETE an entity with `If-Match: etag`.
    pub async fn delete(
        &self,
        path: impl Into<EntityPath>,
        id: Uuid,
        etag: &ETag,
    ) -> Result<(), BcError> {
        let path = path.into();
        let url = self.url(&path.entity_url(id), None).await?;
        let mut call = Call::new(Method::DELETE, url, true);
        call.if_match = Some(etag.clone());
        self.send(call).await.map(drop)
    }

    /// POST a bound action, `…/{set}({id})/Microsoft.NAV.{action}` (204).
    pub async fn action(
        &self,
        path: impl Into<EntityPath>,
        id: Uuid,
        action: &str,
    ) -> Result<(), BcError> {
        if !action.chars().all(|c| c.is_ascii_alphanumeric()) || action.is_empty() {
            return Err(BcError::Config(format!("not an action name: {action}")));
        }
        let path = path.into();
        let url = self
            .url(
                &format!("{}/Microsoft.NAV.{action}", path.entity_url(id)),
                None,
            )
            .await?;
        self.send(Call::new(Method::POST, url, false))
            .await
            .map(drop)
    }

    // ---- typed helpers -------------------------------------------------------------------

    /// Posts a draft sales invoice (`Microsoft.NAV.post`). The posted invoice keeps the id.
    pub async fn post_sales_invoice(&self, id: Uuid) -> Result<(), BcError> {
        self.action(EntitySet::SalesInvoices, id, "post").await
    }

    /// The contacts linked to a customer (`customers({id})/contactsInformation`).
    pub async fn contacts_information(
        &self,
        customer_id: Uuid,
    ) -> Result<Vec<ContactInformation>, BcError> {
        let path = EntityPath::nested(
            EntitySet::Customers,
            customer_id,
            EntitySet::ContactsInformation,
        );
        self.list_all(path, Query::new())
            .await?
            .iter()
            .map(Record::decode)
            .collect()
    }

    /// The configured company's key name (what OData V4 web services address it by),
    /// resolving an id once.
    pub async fn company_name(&self) -> Result<String, BcError> {
        self.inner
            .company_name
            .get_or_try_init(|| async {
                let id = self.company_id().await?;
                self.companies()
                    .await?
                    .into_iter()
                    .find(|c| c.id == id)
                    .map(|c| c.name)
                    .ok_or_else(|| BcError::CompanyNotFound(id.to_string()))
            })
            .await
            .cloned()
    }

    /// The first page of rows of a page published as an OData V4 web service (Web
    /// Services in BC: object type Page, a service name, Published):
    /// `…/ODataV4/Company('{name}')/{service}?{query}` ([MS] `webservices/odata-web-services`).
    /// The rows carry the page's control names (`Entry_No`, `Location_Code`) and no `id`;
    /// further pages come from [`next_page`](Self::next_page). An unpublished service is
    /// BC's not-found error.
    pub async fn web_service_page(&self, service: &str, query: &Query) -> Result<Page, BcError> {
        let url = self.web_service_url(service, query).await?;
        self.page(url, query.page_size_preference()).await
    }

    /// Every row of a published OData V4 web service, page by page along `@odata.nextLink`.
    pub fn web_service(
        &self,
        service: &str,
        query: Query,
    ) -> BoxStream<'static, Result<Record, BcError>> {
        let this = self.clone();
        let service = service.to_owned();
        stream::once(async move {
            let url = this.web_service_url(&service, &query).await?;
            Ok::<_, BcError>(this.pages(url, query.page_size_preference()))
        })
        .try_flatten()
        .boxed()
    }

    /// Every row of a published OData V4 web service, collected.
    pub async fn web_service_all(
        &self,
        service: &str,
        query: Query,
    ) -> Result<Vec<Record>, BcError> {
        self.web_service(service, query).try_collect().await
    }

    async fn web_service_url(&self, service: &str, query: &Query) -> Result<String, BcError> {
        let name = self.company_name().await?;
        let name = utf8_percent_encode(&name.replace('\'', "''"), PATH_VALUE).to_string();
        let service = utf8_percent_encode(service, PATH_VALUE).to_string();
        let root = self
            .inner
            .root
            .strip_suffix("/api/v2.0")
            .unwrap_or(&self.inner.root);
        let mut url = format!("{root}/ODataV4/Company('{name}')/{service}");
        let rendered = query.to_query_string()?;
        if !rendered.is_empty() {
            url.push('?');
            url.push_str(&rendered);
        }
        Ok(self.with_tenant(url))
    }

    /// Item ledger entries with `entryNumber` greater than `after`, oldest first: the stock
    /// cursor (entry numbers only grow).
    pub fn item_ledger_entries_after(
        &self,
        after: i64,
    ) -> BoxStream<'static, Result<ItemLedgerEntry, BcError>> {
        self.list(
            EntitySet::ItemLedgerEntries,
            Query::new().filter(Filter::gt("entryNumber", after)),
        )
        .and_then(|record| async move { record.decode::<ItemLedgerEntry>() })
        .boxed()
    }

    /// The item's picture metadata (with the etag an upload may use).
    pub async fn item_picture(&self, item_id: Uuid) -> Result<Picture, BcError> {
        let url = self.url(&format!("items({item_id})/picture"), None).await?;
        let answer = self.send(Call::get(url, None)).await?;
        decode_record(&answer.body)?.decode()
    }

    /// Uploads an item picture: `PATCH items({id})/picture/pictureContent` with the raw
    /// bytes, `Content-Type: application/octet-stream` and `If-Match` (the picture's etag, or
    /// `*` when `None`, as the docs do; D: .../api/dynamics_item_create_picture.md). 204.
    pub async fn upload_item_picture(
        &self,
        item_id: Uuid,
        content: Bytes,
        etag: Option<&ETag>,
    ) -> Result<(), BcError> {
        let url = self
            .url(&format!("items({item_id})/picture/pictureContent"), None)
            .await?;
        let mut call = Call::new(Method::PATCH, url, true);
        call.body = Some((content, "application/octet-stream"));
        call.if_match = Some(etag.cloned().unwrap_or_else(ETag::any));
        self.send(call).await.map(drop)
    }

    // ---- $batch ----------------------------------------------------------------------------

    /// Runs operations as JSON `$batch` requests of at most 100, in order. Every operation
    /// is validated before the first request goes out. With [`Atomicity::All`] or
    /// [`Atomicity::PerRequest`] each request carries `Isolation: snapshot`; when one of its
    /// operations fails BC rolls the others back, and their answers say `rolled_back`.
    pub async fn batch(
        &self,
        operations: Vec<BatchOperation>,
        atomicity: Atomicity,
    ) -> Result<Vec<BatchResponse>, BcError> {
        for op in &operations {
            op.validate()?;
        }
        let ranges = batch::chunks(operations.len(), atomicity)?;
        let company = self.company_id().await?;
        let url = self.with_tenant(format!("{}/$batch", self.inner.root));
        let mut out = Vec::with_capacity(operations.len());
        for range in ranges {
            let ops = &operations[range.clone()];
            let requests = ops
                .iter()
                .enumerate()
                .map(|(i, op)| {
                    let mut headers = std::collections::BTreeMap::new();
                    if op.body.is_some() {
                        headers.insert("Content-Type", "application/json".to_owned());
                    }
                    if let Some(tag) = &op.etag {
                        headers.insert("If-Match", tag.to_string());
                    }
                    batch::WireRequest {
                        method: op.method,
                        id: (range.start + i).to_string(),
                        url: op.relative_url(company),
                        headers,
                        body: op.body.as_ref(),
                    }
                })
                .collect();
            let body = serde_json::to_vec(&batch::WireBatch { requests })
                .map_err(|e| BcError::Config(e.to_string()))?;
            let weight = if self.inner.pool.limits().batch_counts_as_operations {
                ops.len() as u32
            } else {
                1
            };
            let mut call = Call::new(
                Method::POST,
                url.clone(),
                ops.iter().all(BatchOperation::is_idempotent),
            );
            call.body = Some((Bytes::from(body), "application/json"));
            call.weight = weight;
            let atomic = atomicity != Atomicity::Independent;
            if atomic {
                call.extra.push(("Isolation", "snapshot".to_owned()));
            }
            let answer = self.send(call).await?;
            let mut de = serde_json::Deserializer::from_slice(&answer.body);
            let wire: batch::WireAnswer = serde_path_to_error::deserialize(&mut de)
                .map_err(|e| BcError::decode("$batch answer", e))?;
            let any_failed = wire
                .responses
                .iter()
                .any(|r| !(200..300).contains(&r.status));
            let mut chunk: Vec<BatchResponse> = wire
                .responses
                .into_iter()
                .enumerate()
                .map(|(position, r)| {
                    let index =
                        r.id.as_deref()
                            .and_then(|id| id.parse().ok())
                            .unwrap_or(range.start + position);
                    BatchResponse {
                        index,
                        rolled_back: atomic && any_failed && (200..300).contains(&r.status),
                        status: r.status,
                        headers: r
                            .headers
                            .into_iter()
                            .map(|(k, v)| (k.to_ascii_lowercase(), v))
                            .collect(),
                        body: r.body,
                    }
                })
                .collect();
            chunk.sort_by_key(|r| r.index);
            out.extend(chunk);
        }
        Ok(out)
    }

    // ---- webhook subscriptions -------------------------------------------------------------

    /// The `resource` of a subscription to a collection of this company.
    pub async fn subscription_resource(&self, set: EntitySet) -> Result<String, BcError> {
        Ok(format!(
            "/api/v2.0/companies({})/{set}",
            self.company_id().await?
        ))
    }

    /// Creates a subscription (`POST …/api/v2.0/subscriptions`, not under companies). BC
    /// first calls `notification_url` with `validationToken`; the receiver must echo it.
    pub async fn create_subscription(
        &self,
        notification_url: &str,
        resource: &str,
        client_state: &str,
    ) -> Result<Subscription, BcError> {
        if client_state.len() > 2048 {
            return Err(validate::ValidationError::new(
                "subscriptions",
                "clientState",
                validate::Rule::TooLong {
                    max: 2048,
                    actual: client_state.len(),
                },
            )
            .into());
        }
        let url = self.with_tenant(format!("{}/subscriptions", self.inner.root));
        let body = json!({
            "notificationUrl": notification_url,
            "resource": resource,
            "clientState": client_state,
        });
        let answer = self
            .send(Call::json(Method::POST, url, &body, None, false))
            .await?;
        decode_record(&answer.body)?.decode()
    }

    /// Renews a subscription for another 3 days (PATCH with its etag; the handshake repeats).
    pub async fn renew_subscription(
        &self,
        subscription: &Subscription,
    ) -> Result<Subscription, BcError> {
        let url = self.subscription_url(&subscription.subscription_id);
        let body = json!({
            "notificationUrl": subscription.notification_url,
            "resource": subscription.resource,
            "clientState": subscription.client_state,
        });
        let tag = subscription.etag.clone().unwrap_or_else(ETag::any);
        let answer = self
            .send(Call::json(Method::PATCH, url, &body, Some(tag), true))
            .await?;
        decode_record(&answer.body)?.decode()
    }

    /// Deletes a subscription.
    pub async fn delete_subscription(&self, subscription: &Subscription) -> Result<(), BcError> {
        let url = self.subscription_url(&subscription.subscription_id);
        let mut call = Call::new(Method::DELETE, url, true);
        call.if_match = Some(subscription.etag.clone().unwrap_or_else(ETag::any));
        self.send(call).await.map(drop)
    }

    /// All subscriptions of the environment.
    pub async fn subscriptions(&self) -> Result<Vec<Subscription>, BcError> {
        let url = self.with_tenant(format!("{}/subscriptions", self.inner.root));
        let records: Vec<Record> = self.pages(url, None).try_collect().await?;
        records.iter().map(Record::decode).collect()
    }

    // ---- plumbing --------------------------------------------------------------------------

    fn subscription_url(&self, id: &str) -> String {
        // The key is a string: subscriptions('…') (api-notes §5).
        let key = utf8_percent_encode(id, PATH_VALUE);
        self.with_tenant(format!("{}/subscriptions('{key}')", self.inner.root))
    }

    fn with_tenant(&self, url: String) -> String {
        match &self.inner.tenant_query {
            Some(tenant) if url.contains('?') => format!("{url}&{tenant}"),
            Some(tenant) => format!("{url}?{tenant}"),
            None => url,
        }
    }

    async fn url(&self, relative: &str, query: Option<&Query>) -> Result<String, BcError> {
        let query = match query {
            Some(q) => q.to_query_string()?,
            None => String::new(),
        };
        let company = self.company_id().await?;
        let mut url = format!("{}/companies({company})/{relative}", self.inner.root);
        if !query.is_empty() {
            url.push('?');
            url.push_str(&query);
        }
        Ok(self.with_tenant(url))
    }

    async fn page(&self, url: String, page_size: Option<u32>) -> Result<Page, BcError> {
        #[derive(Deserialize)]
        struct Wire {
            value: Vec<Value>,
            #[serde(rename = "@odata.nextLink")]
            next_link: Option<String>,
        }
        let answer = self.send(Call::get(url, page_size)).await?;
        let mut de = serde_json::Deserializer::from_slice(&answer.body);
        let wire: Wire = serde_path_to_error::deserialize(&mut de)
            .map_err(|e| BcError::decode("collection page", e))?;
        let records = wire
            .value
            .into_iter()
            .map(|v| Record::from_value(v, "collection entry"))
            .collect::<Result<_, _>>()?;
        Ok(Page {
            records,
            next_link: wire.next_link,
        })
    }

    /// Pages from `first` along the next links, as a stream of records.
    fn pages(
        &self,
        first: String,
        page_size: Option<u32>,
    ) -> BoxStream<'static, Result<Record, BcError>> {
        struct State {
            client: BusinessCentral,
            next: Option<String>,
            seen: HashSet<String>,
            page_size: Option<u32>,
        }
        let state = State {
            client: self.clone(),
            next: Some(first),
            seen: HashSet::new(),
            page_size,
        };
        stream::try_unfold(state, |mut state| async move {
            let Some(url) = state.next.take() else {
                return Ok(None);
            };
            state.seen.insert(url.clone());
            let page = state.client.page(url, state.page_size).await?;
            if let Some(link) = page.next_link {
                if state.seen.contains(&link) {
                    return Err(BcError::PagingStalled { link });
                }
                state.next = Some(link);
            }
            Ok(Some((
                stream::iter(page.records.into_iter().map(Ok::<_, BcError>)),
                state,
            )))
        })
        .try_flatten()
        .boxed()
    }

    /// Sends one call: pace, sign, retry by [`retry::decide`], refresh a rejected token once.
    async fn send(&self, call: Call) -> Result<Answer, BcError> {
        let inner = &*self.inner;
        let mut attempt: u32 = 1;
        let mut refreshed = false;
        loop {
            let lease = inner.pool.acquire(call.weight).await;
            if attempt > 1 {
                lease.mark_retry();
            }
            let credential = inner
                .credentials
                .get(lease.principal())
                .ok_or_else(|| BcError::Config("principal index out of range".to_owned()))?;
            let auth = match credential
                .header(&inner.http, &inner.retry, inner.token_margin)
                .await
            {
                Ok(auth) => auth,
                Err(error) => {
                    // Nothing reached BC: the attempt costs no window units.
                    lease.abandon();
                    return Err(error);
                }
            };
            if let Some((budget, (per_second, burst))) = &inner.shared {
                let units = f64::from(lease.weight());
                match budget
                    .reserve(credential.label(), units, *per_second, *burst)
                    .await
                {
                    Ok(wait) if !wait.is_zero() => tokio::time::sleep(wait).await,
                    Ok(_) => {}
                    Err(message) => tracing::warn!(
                        %message,
                        "The shared Business Central budget is unavailable; pacing locally."
                    ),
                }
            }
            let mut request = inner
                .http
                .request(call.method.clone(), &call.url)
                .header(header::ACCEPT, "application/json");
            let mut auth_value = HeaderValue::from_str(auth.expose_secret())
                .map_err(|_| BcError::Config("token is not a valid header value".to_owned()))?;
            auth_value.set_sensitive(true);
            request = request.header(header::AUTHORIZATION, auth_value);
            if let Some(tag) = &call.if_match {
                request = request.header(header::IF_MATCH, tag.as_str());
            }
            for (name, value) in &call.extra {
                request = request.header(*name, value);
            }
            if let Some((body, content_type)) = &call.body {
                request = request
                    .header(header::CONTENT_TYPE, *content_type)
                    .body(body.clone());
            }
            let result = match request.send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let headers = response.headers().clone();
                    match response.bytes().await {
                        Ok(body) => Ok(Answer {
                            status,
                            headers,
                            body,
                        }),
                        Err(error) => Err(error),
                    }
                }
                Err(error) => Err(error),
            };
            let jitter = crate::pacing::jitter();
            let (outcome, answer) = match result {
                Ok(answer) => (
                    Outcome::Status {
                        status: answer.status,
                        retry_after: retry::retry_after(&answer.headers),
                    },
                    Ok(answer),
                ),
                Err(error) => (
                    Outcome::Transport(TransportFailure::of(&error)),
                    Err(BcError::Transport(error)),
                ),
            };
            if let Outcome::Status {
                status: 429,
                retry_after,
            } = outcome
            {
                let rest =
                    retry_after.unwrap_or_else(|| retry::backoff(&inner.retry, attempt, jitter));
                lease.throttled(rest);
            }
            lease.finish();

            if let Ok(answer) = &answer
                && answer.status == 401
                && credential.is_oauth()
                && !refreshed
            {
                tracing::debug!(
                    principal = credential.label(),
                    "Token refused; fetching a new one."
                );
                credential.invalidate().await;
                refreshed = true;
                continue;
            }
            let decision = retry::decide(&inner.retry, attempt, call.idempotent, outcome, jitter);
            match (decision, answer) {
                (Decision::Stop, Ok(answer)) if (200..300).contains(&answer.status) => {
                    return Ok(answer);
                }
                (Decision::Stop, Ok(answer)) => {
                    let retry_after = match outcome {
                        Outcome::Status { retry_after, .. } => retry_after,
                        Outcome::Transport(_) => None,
                    };
                    return Err(BcError::Api(ApiError::from_body(
                        answer.status,
                        &answer.body,
                        retry_after,
                    )));
                }
                (Decision::Stop, Err(error)) => return Err(error),
                (Decision::Retry { after, .. }, _) => {
                    tracing::debug!(url = %call.url, attempt, ?after, ?outcome, "Retrying a Business Central request.");
                    // A throttled principal is rested by the pool; another may serve at once.
                    let throttled = matches!(outcome, Outcome::Status { status: 429, .. });
                    if !throttled || inner.pool.principal_count() == 1 {
                        tokio::time::sleep(after).await;
                    }
                    attempt += 1;
                }
            }
        }
    }
}

impl Call {
    fn new(method: Method, url: String, idempotent: bool) -> Self {
        Self {
            method,
            url,
            body: None,
            if_match: None,
            extra: Vec::new(),
            idempotent,
            weight: 1,
        }
    }

    fn get(url: String, page_size: Option<u32>) -> Self {
        let mut call = Self::new(Method::GET, url, true);
        if let Some(n) = page_size {
            call.extra
                .push(("Prefer", format!("odata.maxpagesize={n}")));
        }
        call
    }

    fn json(
        method: Method,
        url: String,
        body: &Value,
        if_match: Option<ETag>,
        idempotent: bool,
    ) -> Self {
        let mut call = Self::new(method, url, idempotent);
        call.body = Some((
            Bytes::from(serde_json::to_vec(body).unwrap_or_default()),
            "application/json",
        ));
        call.if_match = if_match;
        call
    }
}

/// A stale `If-Match`: `Request_EntityChanged`, or a 409 BC gave no other code. A
/// duplicate key is not one, whichever status it comes with (BC answers it 400 or 409).
fn is_entity_changed(api: &ApiError) -> bool {
    api.code == ErrorCode::EntityChanged
        || (api.status == 409 && api.code != ErrorCode::EntityWithSameKeyExists)
}

fn decode_record(body: &[u8]) -> Result<Record, BcError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value: Value =
        serde_path_to_error::deserialize(&mut de).map_err(|e| BcError::decode("entity", e))?;
    Record::from_value(value, "entity")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, code: &str) -> ApiError {
        ApiError {
            status,
            code: ErrorCode::parse(code),
            message: String::new(),
            correlation_id: None,
            retry_after: None,
        }
    }

    #[test]
    fn a_duplicate_key_is_never_read_as_a_stale_etag_whatever_its_status() {
        assert!(is_entity_changed(&api(409, "Request_EntityChanged")));
        assert!(is_entity_changed(&api(409, "")));
        assert!(!is_entity_changed(&api(
            409,
            "Internal_EntityWithSameKeyExists"
        )));
        assert!(!is_entity_changed(&api(
            400,
            "Internal_EntityWithSameKeyExists"
        )));
    }
}
