//! The simulator's HTTP face: routes (online API, on-premises API, the OData V4 web service of
//! item ledger entries, token endpoint, control API), authentication, fault injection,
//! per-principal admission, OData URL parsing, the entity/collection/action/picture/
//! subscription handlers, server-driven paging with
//! `@odata.nextLink` (suppressed by `$top`), JSON `$batch` with `Isolation: snapshot`, and the
//! wire rendering (`@odata.context`, `@odata.etag`, `$select`, `$expand`). Business rules live
//! in the store; this module must not decide what BC accepts.

use std::collections::BTreeMap;
use std::sync::{Arc, PoisonError};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::errors::{BcFault, Outcome};
use super::odata::{Fields, Filter, QueryOptions, decode_component, order_values};
use super::schema::Entity;
use super::store::{Origin, Row, Store, etag_of};
use super::{LedgerEntryView, Shared, WriteRecord};
use crate::common::{FaultKind, FaultPlan, generic_fault_response};

/// Most operations in one `$batch` (D: operational-limits-online.md).
const MAX_BATCH: usize = 100;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/_sandbox/stats", get(control_stats))
        .route(
            "/_sandbox/faults",
            post(control_set_faults).delete(control_clear_faults),
        )
        .route("/_sandbox/companies", get(control_companies))
        .route(
            "/_sandbox/records/{set}",
            get(control_records).post(control_seed),
        )
        .route(
            "/_sandbox/ledger",
            get(control_ledger).post(control_post_ledger),
        )
        .route("/_sandbox/writes", get(control_writes))
        .route("/_sandbox/subscriptions", get(control_subscriptions))
        .route("/_sandbox/deliveries", get(control_deliveries))
        .route("/_sandbox/clock/advance", post(control_advance))
        .fallback(api)
        .with_state(shared)
}

// ---- control API ----------------------------------------------------------------------------

fn sandbox(shared: &Arc<Shared>) -> super::BusinessCentralSandboxView<'_> {
    super::BusinessCentralSandboxView { shared }
}

async fn control_stats(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(json!({
        "totals": shared.stats.snapshot(),
        "principals": shared.limiter.counters(),
    }))
    .into_response()
}

async fn control_set_faults(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    match serde_json::from_slice::<FaultPlan>(&body) {
        Ok(plan) => {
            shared.faults.set(plan);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    }
}

async fn control_clear_faults(State(shared): State<Arc<Shared>>) -> Response {
    shared.faults.clear();
    StatusCode::NO_CONTENT.into_response()
}

async fn control_companies(State(shared): State<Arc<Shared>>) -> Response {
    let companies: Vec<Value> = shared
        .store()
        .companies
        .iter()
        .map(|c| json!({"id": c.id.to_string(), "name": c.name, "displayName": c.display_name}))
        .collect();
    axum::Json(companies).into_response()
}

async fn control_records(State(shared): State<Arc<Shared>>, Path(set): Path<String>) -> Response {
    axum::Json(sandbox(&shared).records(&set)).into_response()
}

async fn control_seed(
    State(shared): State<Arc<Shared>>,
    Path(set): Path<String>,
    body: Bytes,
) -> Response {
    let fields: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let items = match fields {
        Value::Array(items) => items,
        other => vec![other],
    };
    let mut out = Vec::new();
    for item in items {
        match sandbox(&shared).insert(&set, item) {
            Ok(v) => out.push(v),
            Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
        }
    }
    (StatusCode::CREATED, axum::Json(out)).into_response()
}

async fn control_ledger(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json::<Vec<LedgerEntryView>>(sandbox(&shared).ledger_entries()).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LedgerRequest {
    item_number: String,
    quantity: f64,
    #[serde(default)]
    location_code: Option<String>,
    #[serde(default)]
    purchase: bool,
}

async fn control_post_ledger(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let Ok(request) = serde_json::from_slice::<LedgerRequest>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            "expected {itemNumber, quantity, locationCode?, purchase?}",
        )
            .into_response();
    };
    let view = sandbox(&shared);
    let result = if request.purchase {
        view.post_purchase(
            &request.item_number,
            request.quantity,
            request.location_code.as_deref(),
        )
    } else {
        view.post_adjustment(
            &request.item_number,
            request.quantity,
            request.location_code.as_deref(),
        )
    };
    match result {
        Ok(entry) => (
            StatusCode::CREATED,
            axum::Json(json!({"entryNumber": entry})),
        )
            .into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    }
}

async fn control_writes(State(shared): State<Arc<Shared>>) -> Response {
    let writes = shared
        .writes
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    axum::Json(writes).into_response()
}

async fn control_subscriptions(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let base = api_base(&shared, &headers);
    axum::Json(shared.webhooks.list(&base)).into_response()
}

async fn control_deliveries(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(shared.webhooks.deliveries()).into_response()
}

#[derive(Deserialize)]
struct Advance {
    seconds: f64,
}

async fn control_advance(
    State(shared): State<Arc<Shared>>,
    Query(advance): Query<Advance>,
) -> Response {
    shared
        .clock
        .advance(std::time::Duration::from_secs_f64(advance.seconds.max(0.0)));
    axum::Json(json!({"now": shared.clock.now().to_string()})).into_response()
}

// ---- the API ------------------------------------------------------------------------------

/// One answer before it becomes an HTTP response (also the unit of `$batch` answers).
#[derive(Debug)]
pub(crate) struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: ReplyBody,
}

#[derive(Debug)]
enum ReplyBody {
    Empty,
    Json(Value),
    Bytes(Vec<u8>, String),
}

impl Reply {
    fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: ReplyBody::Json(body),
        }
    }

    fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: ReplyBody::Empty,
        }
    }

    fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::OK);
        let mut builder = Response::builder()
            .status(status)
            .header("OData-Version", "4.0");
        for (name, value) in &self.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let response = match self.body {
            ReplyBody::Empty => builder.body(Body::empty()),
            ReplyBody::Json(value) => builder
                .header(
                    header::CONTENT_TYPE,
                    "application/json; odata.metadata=minimal; odata.streaming=true",
                )
                .body(Body::from(serde_json::to_vec(&value).unwrap_or_default())),
            ReplyBody::Bytes(bytes, content_type) => builder
                .header(header::CONTENT_TYPE, content_type)
                .body(Body::from(bytes)),
        };
        response.unwrap_or_default()
    }
}

impl From<BcFault> for Reply {
    fn from(fault: BcFault) -> Self {
        let mut reply = Reply::json(fault.status, fault.body());
        if let Some(seconds) = fault.retry_after {
            reply = reply.header("Retry-After", super::errors::format_seconds(seconds));
        }
        reply
    }
}

/// Where a request is going.
enum Target {
    Token,
    Api {
        rest: String,
        base: String,
        online: bool,
        /// An OData V4 web service request (`…/ODataV4/…`) rather than API v2.0.
        odata_v4: bool,
    },
    NotFound(String),
}

fn host(headers: &HeaderMap) -> String {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_owned()
}

fn api_base(shared: &Shared, headers: &HeaderMap) -> String {
    format!(
        "http://{}/v2.0/{}/{}/api/v2.0",
        host(headers),
        shared.config.tenant,
        shared.config.environment
    )
}

fn route(shared: &Shared, path: &str, headers: &HeaderMap) -> Target {
    let parts: Vec<&str> = path.trim_start_matches('/').splitn(6, '/').collect();
    let cfg = &shared.config;
    let host = host(headers);
    match parts.as_slice() {
        [tenant, "oauth2", "v2.0", "token"] if *tenant == cfg.tenant => Target::Token,
        ["v2.0", tenant, env, "api", "v2.0", rest @ ..] => {
            if *tenant != cfg.tenant {
                return Target::NotFound((*tenant).to_owned());
            }
            if *env != cfg.environment {
                return Target::NotFound((*env).to_owned());
            }
            Target::Api {
                rest: rest.first().copied().unwrap_or("").to_owned(),
                base: format!("http://{host}/v2.0/{tenant}/{env}/api/v2.0"),
                online: true,
                odata_v4: false,
            }
        }
        // OData V4 web services online: `https://api.businesscentral.dynamics.com/v2.0/
        // {tenant}/{environment}/ODataV4/Company('{name}')/{service}` ([MS] training module
        // "work-with-web-services", request records with OData).
        ["v2.0", tenant, env, "ODataV4", rest @ ..] => {
            if *tenant != cfg.tenant {
                return Target::NotFound((*tenant).to_owned());
            }
            if *env != cfg.environment {
                return Target::NotFound((*env).to_owned());
            }
            Target::Api {
                rest: rest.join("/"),
                base: format!("http://{host}/v2.0/{tenant}/{env}/ODataV4"),
                online: true,
                odata_v4: true,
            }
        }
        [instance, "ODataV4", rest @ ..] if *instance == cfg.server_instance => Target::Api {
            rest: rest.join("/"),
            base: format!("http://{host}/{instance}/ODataV4"),
            online: false,
            odata_v4: true,
        },
        [instance, "api", "v2.0", rest @ ..] if *instance == cfg.server_instance => {
            let rest = rest.join("/");
            Target::Api {
                rest,
                base: format!("http://{host}/{instance}/api/v2.0"),
                online: false,
                odata_v4: false,
            }
        }
        [first, ..] => Target::NotFound((*first).to_owned()),
        [] => Target::NotFound(String::new()),
    }
}

async fn api(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let target = route(&shared, &path, &headers);
    let response = match target {
        Target::Token => match inject(&shared, method.as_str(), &path, None).await {
            Err(response) => response,
            Ok(delay) => {
                tokio::time::sleep(delay).await;
                token(&shared, &body)
            }
        },
        Target::NotFound(segment) => BcFault::segment_not_found(&segment).into_response(),
        Target::Api {
            rest,
            base,
            online,
            odata_v4,
        } => {
            api_request(
                &shared,
                method,
                &rest,
                uri.query(),
                &headers,
                body,
                (&base, online, odata_v4),
            )
            .await
        }
    };
    shared.stats.record(response.status().as_u16());
    response
}

/// Decides injected faults: `Err` is the answer that replaces the normal one, `Ok` the extra
/// latency to spend while the request holds its concurrency slot.
async fn inject(
    shared: &Shared,
    method: &str,
    path: &str,
    principal: Option<&str>,
) -> Result<std::time::Duration, Response> {
    let decision = shared.faults.decide(method, path);
    let Some(kind) = decision.terminal else {
        return Ok(decision.delay);
    };
    if !decision.delay.is_zero() {
        tokio::time::sleep(decision.delay).await;
    }
    let response = match generic_fault_response(&kind).await {
        Some(response) => response,
        None => match kind {
            FaultKind::TooManyRequests => {
                let mut fault = BcFault::too_many_requests(0, 0, 1.0 / shared.clock.scale());
                if !shared.config.behaviour.retry_after_on_429 {
                    fault.retry_after = None;
                }
                fault.into_response()
            }
            FaultKind::Status { status } => {
                let mut fault = BcFault::for_status(status);
                // `Retry-After` is wall time: one API second shrinks with the time scale.
                fault.retry_after = fault.retry_after.map(|s| s / shared.clock.scale());
                fault.into_response()
            }
            _ => return Ok(decision.delay),
        },
    };
    if let Some(p) = principal {
        shared.limiter.count_refused(p, response.status().as_u16());
    }
    Err(response)
}

/// The simulated Entra token endpoint (client credentials only).
fn token(shared: &Shared, body: &[u8]) -> Response {
    let form: BTreeMap<String, String> = std::str::from_utf8(body)
        .unwrap_or("")
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (decode_component(k), decode_component(v)))
        .collect();
    let refuse = |status: StatusCode, error: &str, description: &str| {
        (
            status,
            axum::Json(json!({"error": error, "error_description": description})),
        )
            .into_response()
    };
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return refuse(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "AADSTS70003: The app requested an unsupported grant type.",
        );
    }
    if form.get("scope").map(String::as_str)
        != Some("https://api.businesscentral.dynamics.com/.default")
    {
        return refuse(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "AADSTS70011: The provided value for the input parameter 'scope' is not valid.",
        );
    }
    let client = form.get("client_id").cloned().unwrap_or_default();
    let secret = form.get("client_secret").cloned().unwrap_or_default();
    let lifetime = shared.config.token_lifetime;
    match shared
        .limiter
        .issue_token(&client, &secret, shared.clock.api_seconds(), lifetime)
    {
        Some(token) => axum::Json(json!({
            "token_type": "Bearer",
            "expires_in": lifetime.as_secs(),
            "ext_expires_in": lifetime.as_secs(),
            "access_token": token,
        }))
        .into_response(),
        None => refuse(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "AADSTS7000215: Invalid client secret provided, or the application was not found.",
        ),
    }
}

#[allow(clippy::too_many_arguments)]
async fn api_request(
    shared: &Arc<Shared>,
    method: Method,
    rest: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: Bytes,
    (base, online, odata_v4): (&str, bool, bool),
) -> Response {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let principal = if online {
        auth.strip_prefix("Bearer ")
            .and_then(|t| shared.limiter.bearer(t.trim(), shared.clock.api_seconds()))
    } else {
        shared.limiter.basic(auth)
    };
    let Some(principal) = principal else {
        return BcFault::unauthorized().into_response();
    };
    let path = format!("/{rest}");
    let delay = match inject(shared, method.as_str(), &path, Some(&principal)).await {
        Ok(delay) => delay,
        Err(response) => return response,
    };
    let rest = decode_path(rest);
    let is_batch = rest == "$batch";
    let batch_requests = if is_batch {
        match parse_batch(&body, headers) {
            Ok(requests) => Some(requests),
            Err(fault) => {
                shared.limiter.count_refused(&principal, fault.status);
                return fault.into_response();
            }
        }
    } else {
        None
    };
    let units = match &batch_requests {
        Some(requests) if shared.config.batch_counts_as_operations => requests.len().max(1) as u64,
        _ => 1,
    };
    let _admission = match shared
        .limiter
        .admit(&principal, units, shared.clock.api_seconds())
        .await
    {
        Ok(admission) => admission,
        Err(fault) => return fault.into_response(),
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let ctx = Ctx {
        shared: Arc::clone(shared),
        principal,
        base: base.to_owned(),
        odata_v4,
    };
    let reply = if let Some(requests) = batch_requests {
        let atomic = headers
            .get("Isolation")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("snapshot"));
        run_batch(&ctx, requests, atomic).await
    } else {
        let _gate = shared.gate.read().await;
        let request = Request {
            method: method.as_str().to_owned(),
            rest,
            query: QueryOptions::parse(query),
            if_match: header_text(headers, "If-Match"),
            company: header_text(headers, "Company"),
            prefer: header_text(headers, "Prefer"),
            content_type: header_text(headers, "Content-Type"),
            body: body.to_vec(),
        };
        let reply = handle(&ctx, request).await;
        ctx.shared.publish_changes();
        reply
    };
    reply.into_response()
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn decode_path(rest: &str) -> String {
    percent_encoding::percent_decode_str(rest)
        .decode_utf8_lossy()
        .into_owned()
}

struct Ctx {
    shared: Arc<Shared>,
    principal: String,
    base: String,
    /// Requests go to the OData V4 web services, not API v2.0.
    odata_v4: bool,
}

struct Request {
    method: String,
    rest: String,
    query: Outcome<QueryOptions>,
    if_match: Option<String>,
    company: Option<String>,
    prefer: Option<String>,
    content_type: Option<String>,
    body: Vec<u8>,
}

/// A path segment: `name` or `name(key)`.
#[derive(Debug, Clone, PartialEq)]
struct Segment {
    name: String,
    key: Option<String>,
}

fn segments(rest: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut depth = 0_i32;
    let mut quoted = false;
    let mut current = String::new();
    for ch in rest.chars() {
        match ch {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth -= 1,
            '/' if depth == 0 && !quoted => {
                out.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(ch);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out.into_iter()
        .filter(|s| !s.is_empty())
        .map(|s| match s.split_once('(') {
            Some((name, key)) => Segment {
                name: name.to_owned(),
                key: Some(key.trim_end_matches(')').to_owned()),
            },
            None => Segment { name: s, key: None },
        })
        .collect()
}

fn parse_key(segment: &Segment) -> Outcome<Uuid> {
    let key = segment.key.as_deref().unwrap_or("");
    key.trim_matches('\'')
        .parse::<Uuid>()
        .map_err(|_| BcFault::segment_not_found(&format!("{}({key})", segment.name)))
}

fn json_body(request: &Request) -> Outcome<Map<String, Value>> {
    if request.body.is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(&request.body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(BcFault::new(
            400,
            "BadRequest",
            "The request body is not a valid JSON object.",
        )),
    }
}

async fn handle(ctx: &Ctx, request: Request) -> Reply {
    let method = request.method.clone();
    let path = request.rest.clone();
    let body_for_log = if method == "GET" {
        None
    } else {
        Some(serde_json::from_slice::<Value>(&request.body).unwrap_or(Value::Null))
    };
    let reply = match dispatch(ctx, request).await {
        Ok(reply) => reply,
        Err(fault) => {
            let duplicate = ctx.shared.store().settings.behaviour.duplicate_key_status;
            Reply::from(fault.with_duplicate_key_status(duplicate))
        }
    };
    if let Some(body) = body_for_log {
        ctx.shared
            .writes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(WriteRecord {
                principal: ctx.principal.clone(),
                method,
                path,
                body,
                status: reply.status,
                at: ctx.shared.clock.now(),
            });
    }
    reply
}

async fn dispatch(ctx: &Ctx, request: Request) -> Outcome<Reply> {
    let segs = segments(&request.rest);
    let query = request.query.clone()?;
    let Some(first) = segs.first() else {
        return Err(BcFault::segment_not_found(""));
    };
    if ctx.odata_v4 {
        return web_service(ctx, &request, &query, &segs);
    }
    match first.name.as_str() {
        "$batch" => Err(BcFault::new(
            400,
            "BadRequest",
            "A $batch request cannot contain another $batch request.",
        )),
        "subscriptions" => subscriptions(ctx, &request, first).await,
        "companies" => {
            let company = match &first.key {
                None if segs.len() == 1 => return companies(ctx, &request, None),
                None => return Err(BcFault::segment_not_found("companies")),
                Some(_) => parse_key(first)?,
            };
            if ctx.shared.store().company(company).is_none() {
                return Err(BcFault::segment_not_found(&format!("companies({company})")));
            }
            if segs.len() == 1 {
                return companies(ctx, &request, Some(company));
            }
            entity_request(ctx, &request, &query, company, &segs[1..])
        }
        name if Entity::from_set(name).is_none() => Err(BcFault::segment_not_found(name)),
        _ => {
            let key = query.company.clone().or_else(|| request.company.clone());
            let company = key
                .as_deref()
                .and_then(|k| ctx.shared.store().company_by_key(k));
            match company {
                Some(company) => entity_request(ctx, &request, &query, company, &segs),
                // Fixture error.internal-companynotfound.json.
                None => Err(BcFault::new(
                    400,
                    "Internal_CompanyNotFound",
                    "Cannot process the request because the default company cannot be found. You can specify a default company in the service configuration file, or specify one for each tenant, or you can add a query string in the form of \"company=[name]\". You can see the available companies by accessing the default OData web service, Company. For more information, see \"OData Web Services\" in Help.",
                )),
            }
        }
    }
}

/// The bound actions the simulated pages have.
const ACTIONS: [&str; 4] = [
    "post",
    "shipAndInvoice",
    "cancel",
    "makeCorrectiveCreditMemo",
];

/// `action` as the page names it when BC takes any casing (a live report: `Microsoft.NAV.Post`
/// posts), else as sent (then only the exact name is found).
fn canonical_action(action: &str, ignore_case: bool) -> String {
    if ignore_case && let Some(known) = ACTIONS.iter().find(|a| a.eq_ignore_ascii_case(action)) {
        return (*known).to_owned();
    }
    action.to_owned()
}

/// The pages the simulated tenant can publish as OData V4 web services.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WebServicePage {
    /// Page 38 "Item Ledger Entries".
    ItemLedger,
    /// Page 497 "Reservation Entries".
    Reservations,
    /// Page 5404 "Item Units of Measure".
    ItemUnits,
}

/// An OData V4 web service request: `Company('{name}')/{service}` (or `{service}?company=`).
/// Page 38 "Item Ledger Entries" is published under
/// [`BcBehaviour::item_ledger_web_service`](super::BcBehaviour), pages 497 and 5404 when
/// their service names are set; any other service name answers like an unknown segment
/// (fixture error.badrequest-notfound.wrong-segment.json).
/// `$filter` (as for API v2.0, [MS] `webservices/use-filter-expressions-in-odata-uris`),
/// `$orderby` on one field, `$top`, `$skip`, and server-driven paging with
/// `@odata.nextLink` at the configured page size or `Prefer: odata.maxpagesize` ([MS]
/// `webservices/Server-Driven-Paging-in-OData-Web-Services`: 20,000 online).
fn web_service(
    ctx: &Ctx,
    request: &Request,
    query: &QueryOptions,
    segs: &[Segment],
) -> Outcome<Reply> {
    let (company_key, service) = match segs {
        [company, service] if company.name == "Company" && company.key.is_some() => {
            (company.key.clone(), service)
        }
        [service] => (
            query.company.clone().or_else(|| request.company.clone()),
            service,
        ),
        [first, ..] => return Err(BcFault::segment_not_found(&first.name)),
        [] => return Err(BcFault::segment_not_found("")),
    };
    // Page 38 (newest first by its own sort) or page 497 (by its key), whichever is
    // published under this name.
    let page = {
        let store = ctx.shared.store();
        let behaviour = &store.settings.behaviour;
        if behaviour.item_ledger_web_service.as_deref() == Some(service.name.as_str()) {
            Some((
                WebServicePage::ItemLedger,
                behaviour.item_ledger_web_service_descending,
            ))
        } else if behaviour.reservation_web_service.as_deref() == Some(service.name.as_str()) {
            Some((WebServicePage::Reservations, false))
        } else if behaviour.item_units_web_service.as_deref() == Some(service.name.as_str()) {
            Some((WebServicePage::ItemUnits, false))
        } else {
            None
        }
    };
    let Some((page_kind, descending_default)) = page.filter(|_| service.key.is_none()) else {
        return Err(BcFault::segment_not_found(&service.name));
    };
    let store = ctx.shared.store();
    let Some(company) = company_key.as_deref().and_then(|k| store.company_by_key(k)) else {
        return Err(match company_key {
            // An unknown company names a missing `Company` entity (inferred).
            Some(key) => BcFault::segment_not_found(&format!("Company({key})")),
            // Fixture error.internal-companynotfound.json.
            None => BcFault::new(
                400,
                "Internal_CompanyNotFound",
                "Cannot process the request because the default company cannot be found. You can specify a default company in the service configuration file, or specify one for each tenant, or you can add a query string in the form of \"company=[name]\". You can see the available companies by accessing the default OData web service, Company. For more information, see \"OData Web Services\" in Help.",
            ),
        });
    };
    if request.method != "GET" {
        // Pages 38 and 497 are read-only (page 38 `Editable = false`; page 497 allows no
        // insert, delete or change of its controls); page 5404 is editable in BC, but the
        // simulator serves its reads only.
        return Err(BcFault::method_not_allowed(
            &request.method,
            &service.name,
            "Collection",
        ));
    }
    let (fields, page_fields) = match page_kind {
        WebServicePage::ItemLedger => (
            Fields::Page("NAV.ItemLedgerEntries", super::schema::ITEM_LEDGER_PAGE),
            super::schema::ITEM_LEDGER_PAGE,
        ),
        WebServicePage::Reservations => (
            Fields::Page("NAV.ReservationEntries", super::schema::RESERVATION_PAGE),
            super::schema::RESERVATION_PAGE,
        ),
        WebServicePage::ItemUnits => (
            Fields::Page("NAV.ItemUnitsofMeasure", super::schema::ITEM_UNITS_PAGE),
            super::schema::ITEM_UNITS_PAGE,
        ),
    };
    let company_name = store
        .company(company)
        .map(|c| c.name.clone())
        .unwrap_or_default();
    let mut rows = match page_kind {
        WebServicePage::ItemLedger => store.item_ledger_page(company),
        WebServicePage::Reservations => store.reservation_page(company),
        WebServicePage::ItemUnits => store.item_units_page(company),
    };
    drop(store);
    if let Some(text) = &query.filter {
        let filter = Filter::parse_over(text, fields, query.schema_21)?;
        rows.retain(|(row, _)| filter.matches_over(row, fields));
    }
    let (order_field, descending) = match &query.order_by {
        Some((field, descending)) => {
            if !page_fields.iter().any(|f| f.name == field) {
                return Err(BcFault::bad_query(format!(
                    "Could not find a property named '{field}' on type '{}'.",
                    fields.type_name()
                )));
            }
            (field.clone(), *descending)
        }
        None if page_kind == WebServicePage::ItemUnits => ("Item_No".to_owned(), false),
        None => ("Entry_No".to_owned(), descending_default),
    };
    // Ties broken by the key, in the same direction (page 5404's key is Item No., Code).
    let position = |row: &Map<String, Value>| {
        let key = match page_kind {
            WebServicePage::ItemUnits => json!(format!(
                "{}\u{1}{}",
                row.get("Item_No")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
                row.get("Code").and_then(Value::as_str).unwrap_or_default()
            )),
            _ => row.get("Entry_No").cloned().unwrap_or(Value::Null),
        };
        json!([row.get(&order_field).cloned().unwrap_or(Value::Null), key])
    };
    let compare = |a: &Value, b: &Value| {
        let o = order_values(a.get(0), b.get(0)).then_with(|| order_values(a.get(1), b.get(1)));
        if descending { o.reverse() } else { o }
    };
    rows.sort_by(|a, b| compare(&position(&a.0), &position(&b.0)));
    if let Some(token) = &query.skip_token {
        let last: Value = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or_else(|| BcFault::bad_query("The skip token is not valid."))?;
        rows.retain(|(row, _)| compare(&position(row), &last) == std::cmp::Ordering::Greater);
    }
    if let Some(skip) = query.skip {
        rows = rows.into_iter().skip(skip).collect();
    }
    let preferred = request
        .prefer
        .as_deref()
        .and_then(|p| {
            p.split(',')
                .find_map(|part| part.trim().strip_prefix("odata.maxpagesize="))
        })
        .and_then(|n| n.trim().parse::<usize>().ok());
    let page_size = preferred
        .unwrap_or(ctx.shared.config.page_size)
        .min(ctx.shared.config.page_size)
        .max(1);
    // `$top` cuts the answer and suppresses the next link, as in API v2.0.
    let more = query.top.is_none() && rows.len() > page_size;
    let take = query.top.map_or(page_size, |top| top.min(page_size));
    let page: Vec<_> = rows.into_iter().take(take).collect();
    let mut value = Vec::with_capacity(page.len());
    for (row, version) in &page {
        let mut out = Map::new();
        out.insert("@odata.etag".into(), json!(etag_of(*version)));
        for (key, field) in row {
            if query
                .select
                .as_ref()
                .is_none_or(|select| select.iter().any(|s| s == key))
            {
                out.insert(key.clone(), field.clone());
            }
        }
        value.push(Value::Object(out));
    }
    let company_segment = format!("Company('{}')", company_name.replace('\'', "''"));
    let mut out = Map::new();
    out.insert(
        "@odata.context".into(),
        json!(format!(
            "{}/$metadata#{}/{}",
            ctx.base,
            encode_query_value(&company_segment),
            service.name
        )),
    );
    out.insert("value".into(), Value::Array(value));
    if more && let Some((last, _)) = page.last() {
        let mut pairs: Vec<String> = query
            .raw
            .iter()
            .filter(|(k, _)| k != "$skiptoken")
            .map(|(k, v)| format!("{k}={}", encode_query_value(v)))
            .collect();
        let token =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(position(last).to_string());
        pairs.push(format!("$skiptoken={token}"));
        let path = segs
            .iter()
            .map(|s| match &s.key {
                Some(key) => encode_query_value(&format!("{}({key})", s.name)),
                None => s.name.clone(),
            })
            .collect::<Vec<_>>()
            .join("/");
        out.insert(
            "@odata.nextLink".into(),
            json!(format!("{}/{path}?{}", ctx.base, pairs.join("&"))),
        );
    }
    let mut reply = Reply::json(200, Value::Object(out));
    if preferred.is_some() {
        reply = reply.header(
            "Preference-Applied",
            format!("odata.maxpagesize={page_size}"),
        );
    }
    Ok(reply)
}

fn companies(ctx: &Ctx, request: &Request, one: Option<Uuid>) -> Outcome<Reply> {
    if request.method != "GET" {
        return Err(BcFault::method_not_allowed(
            &request.method,
            "companies",
            "Collection",
        ));
    }
    let store = ctx.shared.store();
    let render = |c: &super::store::CompanyData| {
        let created = c.created.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
        json!({
            "id": c.id.to_string(),
            "systemVersion": "26.0.30643.32100",
            "timestamp": 4006,
            "name": c.name,
            "displayName": c.display_name,
            "businessProfileId": "",
            "systemCreatedAt": created,
            "systemCreatedBy": "00000000-0000-0000-0000-000000000001",
            "systemModifiedAt": created,
            "systemModifiedBy": "00000000-0000-0000-0000-000000000001",
        })
    };
    match one {
        Some(id) => {
            let company = store
                .company(id)
                .ok_or_else(|| BcFault::segment_not_found("companies"))?;
            let mut value = render(company);
            if let Some(map) = value.as_object_mut() {
                map.insert(
                    "@odata.context".into(),
                    json!(format!("{}/$metadata#companies/$entity", ctx.base)),
                );
            }
            Ok(Reply::json(200, value))
        }
        None => Ok(Reply::json(
            200,
            json!({
                "@odata.context": format!("{}/$metadata#companies", ctx.base),
                "value": store.companies.iter().map(render).collect::<Vec<_>>(),
            }),
        )),
    }
}

async fn subscriptions(ctx: &Ctx, request: &Request, first: &Segment) -> Outcome<Reply> {
    let hooks = &ctx.shared.webhooks;
    match (&first.key, request.method.as_str()) {
        (None, "GET") => Ok(Reply::json(
            200,
            json!({
                "@odata.context": format!("{}/$metadata#subscriptions", ctx.base),
                "value": hooks.list(&ctx.base),
            }),
        )),
        (None, "POST") => {
            let body = json_body(request)?;
            let user = ctx.shared.limiter.user_id(&ctx.principal);
            let shared = Arc::clone(&ctx.shared);
            let created = hooks
                .create(
                    &body,
                    user,
                    move |c| shared.store().company(c).is_some(),
                    &ctx.base,
                )
                .await?;
            Ok(Reply::json(201, created))
        }
        (Some(key), method) => {
            let id = key.trim_matches('\'');
            match method {
                "GET" => Ok(Reply::json(200, hooks.get(id, &ctx.base)?)),
                "PATCH" => {
                    let body = json_body(request)?;
                    Ok(Reply::json(
                        200,
                        hooks
                            .renew(id, request.if_match.as_deref(), &body, &ctx.base)
                            .await?,
                    ))
                }
                "DELETE" => {
                    hooks.delete(id, request.if_match.as_deref())?;
                    Ok(Reply::empty(204))
                }
                other => Err(BcFault::method_not_allowed(
                    other,
                    "subscriptions",
                    "Entity",
                )),
            }
        }
        (None, other) => Err(BcFault::method_not_allowed(
            other,
            "subscriptions",
            "Collection",
        )),
    }
}

/// What a path under a company names.
enum Resource {
    Collection {
        entity: Entity,
        parent: Option<Uuid>,
    },
    Entity {
        entity: Entity,
        id: Uuid,
    },
    Action {
        entity: Entity,
        id: Uuid,
        action: String,
    },
    ContactsInformation {
        customer: Uuid,
    },
    Picture {
        parent: Entity,
        id: Uuid,
    },
    PictureContent {
        parent: Entity,
        id: Uuid,
    },
}

fn resolve(segs: &[Segment]) -> Outcome<Resource> {
    let entity_of =
        |s: &Segment| Entity::from_set(&s.name).ok_or_else(|| BcFault::segment_not_found(&s.name));
    match segs {
        [s] if s.key.is_none() => Ok(Resource::Collection {
            entity: entity_of(s)?,
            parent: None,
        }),
        [s] => Ok(Resource::Entity {
            entity: entity_of(s)?,
            id: parse_key(s)?,
        }),
        [p, child, rest @ ..] => {
            let parent = entity_of(p)?;
            let parent_id = parse_key(p)?;
            if let Some(action) = child.name.strip_prefix("Microsoft.NAV.")
                && rest.is_empty()
            {
                return Ok(Resource::Action {
                    entity: parent,
                    id: parent_id,
                    action: action.to_owned(),
                });
            }
            match (parent, child.name.as_str(), rest) {
                (Entity::Customer, "contactsInformation", []) => {
                    Ok(Resource::ContactsInformation {
                        customer: parent_id,
                    })
                }
                (Entity::Item | Entity::Customer, "picture", []) => Ok(Resource::Picture {
                    parent,
                    id: parent_id,
                }),
                (Entity::Item | Entity::Customer, "picture", [content])
                    if content.name == "pictureContent" =>
                {
                    Ok(Resource::PictureContent {
                        parent,
                        id: parent_id,
                    })
                }
                (_, name, []) => {
                    let nested =
                        Entity::from_set(name).ok_or_else(|| BcFault::segment_not_found(name))?;
                    let allowed = nested.parent().map(|(p, _)| p) == Some(parent);
                    if !allowed {
                        return Err(BcFault::segment_not_found(name));
                    }
                    match &child.key {
                        None => Ok(Resource::Collection {
                            entity: nested,
                            parent: Some(parent_id),
                        }),
                        Some(_) => Ok(Resource::Entity {
                            entity: nested,
                            id: parse_key(child)?,
                        }),
                    }
                }
                _ => Err(BcFault::segment_not_found(&child.name)),
            }
        }
        [] => Err(BcFault::segment_not_found("")),
    }
}

fn entity_request(
    ctx: &Ctx,
    request: &Request,
    query: &QueryOptions,
    company: Uuid,
    segs: &[Segment],
) -> Outcome<Reply> {
    let now = ctx.shared.clock.now();
    let resource = resolve(segs)?;
    let self_url = format!(
        "{}/companies({company})/{}",
        ctx.base,
        segs.iter()
            .map(|s| match &s.key {
                Some(k) => format!("{}({k})", s.name),
                None => s.name.clone(),
            })
            .collect::<Vec<_>>()
            .join("/")
    );
    let method = request.method.as_str();
    match resource {
        Resource::Collection { entity, parent } => match method {
            "GET" => list(ctx, request, query, company, entity, parent, &self_url),
            "POST" => {
                let body = json_body(request)?;
                let id =
                    ctx.shared
                        .store()
                        .create(company, entity, parent, &body, now, Origin::Api)?;
                let store = ctx.shared.store();
                let row = store
                    .get(company, entity, id)
                    .ok_or_else(|| BcFault::record_not_found(entity.set_name(), &id.to_string()))?;
                let mut value = render(&store, company, entity, &row, query, &ctx.base)?;
                add_context(&mut value, &ctx.base, company, entity, true);
                Ok(Reply::json(201, value)
                    .header("Location", format!("{self_url}({id})"))
                    .header("ETag", etag_of(row.version)))
            }
            other => Err(BcFault::method_not_allowed(
                other,
                entity.set_name(),
                "Collection",
            )),
        },
        Resource::Entity { entity, id } => match method {
            "GET" => {
                let store = ctx.shared.store();
                let row = store
                    .get(company, entity, id)
                    .ok_or_else(|| BcFault::record_not_found(entity.set_name(), &id.to_string()))?;
                let mut value = render(&store, company, entity, &row, query, &ctx.base)?;
                add_context(&mut value, &ctx.base, company, entity, true);
                Ok(Reply::json(200, value).header("ETag", etag_of(row.version)))
            }
            "PATCH" => {
                let body = json_body(request)?;
                let mut store = ctx.shared.store();
                store.update(
                    company,
                    entity,
                    id,
                    request.if_match.as_deref(),
                    &body,
                    now,
                    Origin::Api,
                )?;
                let row = store
                    .get(company, entity, id)
                    .ok_or_else(|| BcFault::record_not_found(entity.set_name(), &id.to_string()))?;
                let mut value = render(&store, company, entity, &row, query, &ctx.base)?;
                add_context(&mut value, &ctx.base, company, entity, true);
                Ok(Reply::json(200, value).header("ETag", etag_of(row.version)))
            }
            "DELETE" => {
                ctx.shared
                    .store()
                    .delete(company, entity, id, request.if_match.as_deref(), now)?;
                Ok(Reply::empty(204))
            }
            other => Err(BcFault::method_not_allowed(
                other,
                entity.set_name(),
                "Entity",
            )),
        },
        Resource::Action { entity, id, action } => {
            let ignore_case = ctx
                .shared
                .store()
                .settings
                .behaviour
                .action_names_ignore_case;
            let action = canonical_action(&action, ignore_case);
            if method != "POST" {
                return Err(BcFault::method_not_allowed(
                    method,
                    &format!("Microsoft.NAV.{action}"),
                    "Action",
                ));
            }
            let mut store = ctx.shared.store();
            match (entity, action.as_str()) {
                (Entity::SalesInvoice | Entity::SalesCreditMemo, "post")
                | (Entity::SalesOrder, "shipAndInvoice") => {
                    store.post_action(company, entity, id, now)?;
                }
                // Both answer 204 (the page sets result code Deleted); the credit memo is
                // found by its `invoiceId`.
                (Entity::SalesInvoice, "cancel") => {
                    store.cancel_invoice(company, id, now)?;
                }
                (Entity::SalesInvoice, "makeCorrectiveCreditMemo") => {
                    store.make_corrective_credit_memo(company, id, now)?;
                }
                // [AL] APIV2Journals.Page.al `post`: the batch found by SystemId, whatever
                // its template (customerPaymentJournals has no action of its own).
                (Entity::Journal, "post") => {
                    store.post_journal(company, id, now)?;
                }
                _ => {
                    return Err(BcFault::segment_not_found(&format!(
                        "Microsoft.NAV.{action}"
                    )));
                }
            }
            Ok(Reply::empty(204))
        }
        Resource::ContactsInformation { customer } => {
            if method != "GET" {
                return Err(BcFault::method_not_allowed(
                    method,
                    "contactsInformation",
                    "Collection",
                ));
            }
            let store = ctx.shared.store();
            if store.get(company, Entity::Customer, customer).is_none() {
                return Err(BcFault::record_not_found(
                    "customers",
                    &customer.to_string(),
                ));
            }
            Ok(Reply::json(
                200,
                json!({
                    "@odata.context": format!("{}/$metadata#companies({company})/customers({customer})/contactsInformation", ctx.base),
                    "value": store.contacts_information(company, customer),
                }),
            ))
        }
        Resource::Picture { parent, id } => match method {
            "GET" => {
                let store = ctx.shared.store();
                let value = store
                    .picture(company, parent, id, &ctx.base)
                    .ok_or_else(|| BcFault::record_not_found(parent.set_name(), &id.to_string()))?;
                Ok(Reply::json(200, value))
            }
            other => Err(BcFault::method_not_allowed(other, "picture", "Entity")),
        },
        Resource::PictureContent { parent, id } => match method {
            "GET" => {
                let store = ctx.shared.store();
                let (bytes, content_type) = store
                    .picture_content(company, id)
                    .ok_or_else(|| BcFault::record_not_found("picture", &id.to_string()))?;
                Ok(Reply {
                    status: 200,
                    headers: Vec::new(),
                    body: ReplyBody::Bytes(bytes, content_type),
                })
            }
            "PATCH" | "PUT" => {
                let octets = request.content_type.as_deref().is_some_and(|c| {
                    c.starts_with("application/octet-stream") || c.starts_with("image/")
                });
                if !octets {
                    return Err(BcFault::new(
                        415,
                        "BadRequest",
                        "The content type must be application/octet-stream.",
                    ));
                }
                ctx.shared.store().set_picture(
                    company,
                    parent,
                    id,
                    request.if_match.as_deref(),
                    request.body.clone(),
                    now,
                )?;
                Ok(Reply::empty(204))
            }
            // Fixture error.badrequest-methodnotallowed.picture-post.json (v2.0 segment name).
            other => Err(BcFault::method_not_allowed(
                other,
                "pictureContent",
                "Primitive",
            )),
        },
    }
}

fn add_context(value: &mut Value, base: &str, company: Uuid, entity: Entity, single: bool) {
    if let Value::Object(map) = value {
        let context = format!(
            "{base}/$metadata#companies({company})/{}{}",
            entity.set_name(),
            if single { "/$entity" } else { "" }
        );
        let mut out = Map::new();
        out.insert("@odata.context".into(), Value::String(context));
        out.extend(std::mem::take(map));
        *map = out;
    }
}

fn encode_query_value(value: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
        .add(b' ')
        .add(b'"')
        .add(b'#')
        .add(b'%')
        .add(b'&')
        .add(b'+')
        .add(b'<')
        .add(b'>')
        .add(b'?');
    percent_encoding::utf8_percent_encode(value, SET).to_string()
}

fn skip_token(row: &Row, key: &str) -> String {
    let payload = json!([row.fields.get(key).cloned().unwrap_or(Value::Null), row.seq]);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(payload.to_string())
}

fn after_token(token: &str, key: &str, row: &Row) -> Outcome<bool> {
    let invalid = || BcFault::bad_query("The skip token is not valid.");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| invalid())?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    let last_key = value.get(0);
    let last_seq = value.get(1).and_then(Value::as_u64).ok_or_else(invalid)?;
    Ok(match order_values(row.fields.get(key), last_key) {
        std::cmp::Ordering::Greater => true,
        std::cmp::Ordering::Less => false,
        std::cmp::Ordering::Equal => row.seq > last_seq,
    })
}

#[allow(clippy::too_many_arguments)]
fn list(
    ctx: &Ctx,
    request: &Request,
    query: &QueryOptions,
    company: Uuid,
    entity: Entity,
    parent: Option<Uuid>,
    self_url: &str,
) -> Outcome<Reply> {
    if parent.is_none() && entity == Entity::CustomerPayment {
        // [AL] APIV2CustomerPayments.Page.al CheckFilters: a journal batch id or an id.
        let named = query.filter.as_deref().is_some_and(|f| {
            f.split(|c: char| !c.is_ascii_alphanumeric())
                .any(|w| w == "journalId" || w == "id")
        });
        if !named {
            return Err(super::store::payments::filters_not_specified());
        }
    }
    if parent.is_none() && entity.document().is_some() {
        // [AL] APIV2SalesOrderLines.Page.al OnFindRecord: the flat line sets need an id or a
        // document id in the filter.
        let named = query.filter.as_deref().is_some_and(|f| {
            f.split(|c: char| !c.is_ascii_alphanumeric())
                .any(|w| w == "documentId" || w == "id")
        });
        if !named {
            return Err(BcFault::dialog(
                "You must specify an Id or a Document Id to get the lines.",
            ));
        }
    }
    let store = ctx.shared.store();
    if let Some(parent_id) = parent {
        let parent_entity = entity.parent().map_or(Entity::Item, |(p, _)| p);
        if store.get(company, parent_entity, parent_id).is_none() {
            return Err(BcFault::record_not_found(
                parent_entity.set_name(),
                &parent_id.to_string(),
            ));
        }
    }
    let mut rows = store.rows(company, entity, parent);
    if let Some(text) = &query.filter {
        let filter = Filter::parse(text, entity, query.schema_21)?
            .with_email_filter(store.settings.behaviour.email_filter);
        rows.retain(|(_, row)| filter.matches(&row.fields, entity));
    }
    if let Some((field, descending)) = &query.order_by {
        if entity.field(field).is_none() {
            return Err(BcFault::bad_query(format!(
                "Could not find a property named '{field}' on type 'Microsoft.NAV.{}'.",
                entity.type_name()
            )));
        }
        rows.sort_by(|a, b| {
            let o = order_values(a.1.fields.get(field), b.1.fields.get(field));
            if *descending { o.reverse() } else { o }
        });
    }
    let key = entity.key_field();
    if let Some(token) = &query.skip_token {
        let mut kept = Vec::with_capacity(rows.len());
        for (id, row) in rows {
            if after_token(token, key, &row)? {
                kept.push((id, row));
            }
        }
        rows = kept;
    }
    if let Some(skip) = query.skip {
        rows = rows.into_iter().skip(skip).collect();
    }
    let preferred = request
        .prefer
        .as_deref()
        .and_then(|p| {
            p.split(',')
                .find_map(|part| part.trim().strip_prefix("odata.maxpagesize="))
        })
        .and_then(|n| n.trim().parse::<usize>().ok());
    let page_size = preferred
        .unwrap_or(ctx.shared.config.page_size)
        .min(ctx.shared.config.page_size)
        .max(1);
    // `$top` cuts the answer and suppresses the next link (GH microsoft/AL#6858).
    let (page, more) = if let Some(top) = query.top {
        (
            rows.into_iter()
                .take(top.min(page_size))
                .collect::<Vec<_>>(),
            false,
        )
    } else {
        let more = rows.len() > page_size;
        (rows.into_iter().take(page_size).collect(), more)
    };
    let mut value = Vec::with_capacity(page.len());
    for (_, row) in &page {
        value.push(render(&store, company, entity, row, query, &ctx.base)?);
    }
    let mut out = Map::new();
    out.insert(
        "@odata.context".into(),
        json!(format!(
            "{}/$metadata#companies({company})/{}",
            ctx.base,
            entity.set_name()
        )),
    );
    out.insert("value".into(), Value::Array(value));
    if more && let Some((_, last)) = page.last() {
        let mut pairs: Vec<String> = query
            .raw
            .iter()
            .filter(|(k, _)| k != "$skiptoken")
            .map(|(k, v)| format!("{k}={}", encode_query_value(v)))
            .collect();
        pairs.push(format!("$skiptoken={}", skip_token(last, key)));
        out.insert(
            "@odata.nextLink".into(),
            json!(format!("{self_url}?{}", pairs.join("&"))),
        );
    }
    let mut reply = Reply::json(200, Value::Object(out));
    if preferred.is_some() {
        reply = reply.header(
            "Preference-Applied",
            format!("odata.maxpagesize={page_size}"),
        );
    }
    Ok(reply)
}

/// An entity with its etag, every field, no annotations beyond the etag.
pub(crate) fn render_plain(entity: Entity, row: &Row) -> Value {
    let mut out = Map::new();
    out.insert("@odata.etag".into(), Value::String(etag_of(row.version)));
    for field in entity.fields() {
        out.insert(
            field.name.to_owned(),
            row.fields
                .get(field.name)
                .cloned()
                .unwrap_or_else(|| field.kind.blank()),
        );
    }
    Value::Object(out)
}

/// An entity as a response shows it, honouring `$select` and `$expand`.
fn render(
    store: &Store,
    company: Uuid,
    entity: Entity,
    row: &Row,
    query: &QueryOptions,
    base: &str,
) -> Outcome<Value> {
    let unknown = |name: &str| {
        BcFault::bad_query(format!(
            "Could not find a property named '{name}' on type 'Microsoft.NAV.{}'.",
            entity.type_name()
        ))
    };
    let Value::Object(mut out) = render_plain(entity, row) else {
        return Ok(Value::Null);
    };
    if let Some(select) = &query.select {
        for name in select {
            if entity.field(name).is_none() {
                return Err(unknown(name));
            }
        }
        out.retain(|k, _| k == "@odata.etag" || select.iter().any(|s| s == k));
    }
    let id: Uuid = row
        .fields
        .get("id")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .unwrap_or_default();
    for nav in &query.expand {
        let value = match (entity, nav.as_str()) {
            (_, name) if entity.lines().is_some_and(|l| l.set_name() == name) => {
                let lines = entity.lines().unwrap_or(entity);
                Value::Array(
                    store
                        .rows(company, lines, Some(id))
                        .iter()
                        .map(|(_, r)| render_plain(lines, r))
                        .collect(),
                )
            }
            (Entity::SalesOrder | Entity::SalesInvoice | Entity::SalesCreditMemo, "customer") => {
                let customer = row
                    .fields
                    .get("customerId")
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse().ok());
                customer
                    .and_then(|c| store.get(company, Entity::Customer, c))
                    .map_or(Value::Null, |r| render_plain(Entity::Customer, &r))
            }
            (Entity::Item, "itemVariants") => Value::Array(
                store
                    .rows(company, Entity::ItemVariant, Some(id))
                    .iter()
                    .map(|(_, r)| render_plain(Entity::ItemVariant, r))
                    .collect(),
            ),
            (Entity::Item, "itemCategory") => {
                let category = row
                    .fields
                    .get("itemCategoryId")
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse().ok());
                category
                    .and_then(|c| store.get(company, Entity::ItemCategory, c))
                    .map_or(Value::Null, |r| render_plain(Entity::ItemCategory, &r))
            }
            (Entity::Item | Entity::Customer, "picture") => store
                .picture(company, entity, id, base)
                .unwrap_or(Value::Null),
            (Entity::Customer, "contactsInformation") => {
                Value::Array(store.contacts_information(company, id))
            }
            (_, name) => return Err(unknown(name)),
        };
        out.insert(nav.clone(), value);
    }
    Ok(Value::Object(out))
}

// ---- $batch ------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
struct BatchRequest {
    method: String,
    #[serde(default)]
    id: Option<Value>,
    url: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    body: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct BatchBody {
    requests: Vec<BatchRequest>,
}

fn parse_batch(body: &[u8], headers: &HeaderMap) -> Outcome<Vec<BatchRequest>> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json {
        return Err(BcFault::new(
            400,
            "BadRequest",
            "Only JSON $batch requests (Content-Type: application/json) are simulated.",
        ));
    }
    let batch: BatchBody = serde_json::from_slice(body).map_err(|e| {
        BcFault::new(
            400,
            "BadRequest",
            format!("The $batch body is not valid: {e}"),
        )
    })?;
    if batch.requests.len() > MAX_BATCH {
        // Limit from D: operational-limits-online.md; wording inferred.
        // BC answers HTTP 500 here (FIDELITY #15, a live report); code and text inferred.
        return Err(BcFault::new(
            500,
            "InternalServerError",
            format!(
                "The number of operations in the batch ({}) exceeds the maximum ({MAX_BATCH}).",
                batch.requests.len()
            ),
        ));
    }
    Ok(batch.requests)
}

async fn run_batch(ctx: &Ctx, requests: Vec<BatchRequest>, atomic: bool) -> Reply {
    // An atomic batch runs alone, so rolling back cannot undo other clients' writes.
    let _gate = if atomic {
        Gate::Exclusive(ctx.shared.gate.write().await)
    } else {
        Gate::Shared(ctx.shared.gate.read().await)
    };
    let mut snapshot = atomic.then(|| ctx.shared.store().clone());
    let mut answers = Vec::with_capacity(requests.len());
    let mut failed = false;
    for request in requests {
        let (path, query) = match request.url.split_once("/api/v2.0/") {
            Some((_, rest)) => rest.to_owned(),
            None => request.url.trim_start_matches('/').to_owned(),
        }
        .split_once('?')
        .map_or_else(
            || (request.url_path_only(), None),
            |(p, q)| (p.to_owned(), Some(q.to_owned())),
        );
        let header = |name: &str| {
            request
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        let body = request
            .body
            .as_ref()
            .map(|b| serde_json::to_vec(b).unwrap_or_default())
            .unwrap_or_default();
        // Sales-Post commits: "for each commit, the transaction is committed" (D:
        // use-odata-batch.md), so a later failure cannot roll a posting back.
        let commits = request.method.eq_ignore_ascii_case("POST") && {
            let last = path.rsplit('/').next().unwrap_or("").to_ascii_lowercase();
            last == "microsoft.nav.post" || last == "microsoft.nav.shipandinvoice"
        };
        let inner = Request {
            method: request.method.to_ascii_uppercase(),
            rest: decode_path(&path),
            query: QueryOptions::parse(query.as_deref()),
            if_match: header("If-Match"),
            company: header("Company"),
            prefer: header("Prefer"),
            content_type: header("Content-Type").or_else(|| Some("application/json".to_owned())),
            body,
        };
        let reply = handle(ctx, inner).await;
        failed |= reply.status >= 400;
        if commits && reply.status < 400 && snapshot.is_some() {
            snapshot = Some(ctx.shared.store().clone());
        }
        let mut headers = Map::new();
        for (k, v) in &reply.headers {
            headers.insert(k.to_ascii_lowercase(), Value::String(v.clone()));
        }
        let mut answer = Map::new();
        answer.insert("id".into(), request.id.clone().unwrap_or(Value::Null));
        answer.insert("status".into(), json!(reply.status));
        if let ReplyBody::Json(value) = reply.body {
            headers.insert(
                "content-type".into(),
                json!("application/json; odata.metadata=minimal; odata.streaming=true"),
            );
            headers.insert("odata-version".into(), json!("4.0"));
            answer.insert("headers".into(), Value::Object(headers));
            answer.insert("body".into(), value);
        } else {
            answer.insert("headers".into(), Value::Object(headers));
        }
        answers.push(Value::Object(answer));
    }
    if let (Some(snapshot), true) = (snapshot, failed) {
        // Isolation: snapshot — one failure rolls back every change of the batch since its
        // start or its last commit point (D: use-odata-batch.md).
        *ctx.shared.store() = snapshot;
    }
    ctx.shared.publish_changes();
    Reply::json(200, json!({ "responses": answers }))
}

/// Holds the batch gate for the batch's duration.
enum Gate<'a> {
    Shared(#[allow(dead_code)] tokio::sync::RwLockReadGuard<'a, ()>),
    Exclusive(#[allow(dead_code)] tokio::sync::RwLockWriteGuard<'a, ()>),
}

impl BatchRequest {
    fn url_path_only(&self) -> String {
        match self.url.split_once("/api/v2.0/") {
            Some((_, rest)) => rest.to_owned(),
            None => self.url.trim_start_matches('/').to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_split_outside_parentheses_and_quotes() {
        let s = segments(
            "companies(0b5e4a44-0000-0000-0000-000000000000)/items(fca5738a-44e3-ea11-bb43-000d3a2feca1)/picture/pictureContent",
        );
        assert_eq!(s.len(), 4);
        assert_eq!(s[1].name, "items");
        assert_eq!(s[3].name, "pictureContent");
        let s = segments("subscriptions('a/b')");
        assert_eq!(
            s,
            vec![Segment {
                name: "subscriptions".into(),
                key: Some("'a/b'".into())
            }]
        );
    }
}
