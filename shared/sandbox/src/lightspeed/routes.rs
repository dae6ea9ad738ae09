//! HTTP face of the Lightspeed simulator: the API under `/API/V3/…`, OAuth under
//! `/auth/oauth/…` and the control API under `/_sandbox/…`, all on one port. It translates
//! requests into store, bucket and OAuth calls, applies injected faults first, and renders
//! Lightspeed's headers and error bodies. Business of the records lives in `store`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};

use super::bucket::{Admission, Bucket};
use super::generate::generate_at;
use super::oauth::{OAuth, OAuthError};
use super::query::{Entity, ListQuery, Loads, decode_pairs, encode_component};
use super::render::whole_seconds;
use super::seed::{Dataset, SalePaymentSeed, Sizes};
use super::store::{Refusal, Store, WriteRecord};
use super::{LightspeedSandboxConfig, LightspeedStats};
use crate::common::{FaultKind, FaultPlan, Faults, RequestStats, SimClock, generic_fault_response};

/// State shared by every handler of one simulator.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: LightspeedSandboxConfig,
    pub(crate) clock: SimClock,
    pub(crate) faults: Faults,
    pub(crate) stats: RequestStats,
    pub(crate) store: Mutex<Store>,
    pub(crate) oauth: Mutex<OAuth>,
    pub(crate) bucket: Mutex<Bucket>,
    pub(crate) base_url: OnceLock<String>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// API time now, whole seconds (the API's resolution).
    pub(crate) fn now(&self) -> Timestamp {
        whole_seconds(self.clock.now())
    }

    pub(crate) fn stats(&self) -> LightspeedStats {
        let now = self.clock.api_seconds();
        let mut bucket = lock(&self.bucket);
        LightspeedStats {
            requests: self.stats.snapshot(),
            oauth: lock(&self.oauth).counters,
            drips_used: bucket.drips_used(),
            bucket_level: bucket.level(now),
            bucket_size: bucket.size(),
            drip_rate_per_wall_second: bucket.drip_rate() * self.clock.scale(),
        }
    }

    fn base(&self) -> String {
        self.base_url.get().cloned().unwrap_or_default()
    }
}

/// The router of one simulator.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/_sandbox/stats", get(control_stats))
        .route("/_sandbox/seed", post(control_seed))
        .route("/_sandbox/generate", post(control_generate))
        .route("/_sandbox/records/{entity}", get(control_records))
        .route("/_sandbox/records/{entity}/{id}", get(control_record))
        .route(
            "/_sandbox/stock/{item}/{shop}",
            get(control_stock).put(control_set_stock),
        )
        .route("/_sandbox/sales/{id}/complete", post(control_complete_sale))
        .route("/_sandbox/sales/{id}/void", post(control_void_sale))
        .route("/_sandbox/writes", get(control_writes))
        .route(
            "/_sandbox/faults",
            put(control_set_faults).delete(control_clear_faults),
        )
        .route("/_sandbox/tokens", post(control_issue_tokens))
        .route("/_sandbox/tokens/expire", post(control_expire_tokens))
        .route("/_sandbox/clock/advance", post(control_advance))
        .route("/_sandbox/images/{name}", get(control_image))
        .fallback(dispatch)
        .with_state(shared)
}

/// An image host for offline use: any name answers a small PNG whose size follows from the
/// name (the real images live on Lightspeed's image CDN). Point an image's `baseImageURL`
/// at `{base}/_sandbox/images/` to use it.
async fn control_image(Path(name): Path<String>) -> Response {
    let bytes = image_for(&name);
    Response::builder()
        .status(200)
        .header(header::CONTENT_TYPE, "image/png")
        .body(Body::from(bytes))
        .unwrap_or_default()
}

/// The image served for `name`: a PNG signature and header chunk (width and height, 64–575
/// pixels, from the name's hash) — enough for a picture upload to be told apart and sized.
pub(crate) fn image_for(name: &str) -> Vec<u8> {
    let digest = <sha2::Sha256 as sha2::Digest>::digest(name.as_bytes());
    let side = |i: usize| 64 + (u32::from(digest[i]) << 1 | u32::from(digest[i + 1] & 1));
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend([0, 0, 0, 13]);
    png.extend(b"IHDR");
    png.extend(side(0).to_be_bytes());
    png.extend(side(2).to_be_bytes());
    png.extend([8, 6, 0, 0, 0]);
    png
}

fn json_response(status: u16, body: &Value) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap_or_default()
}

/// Lightspeed's API error body (`rseries_error_400.vcr.json`); the recording was served as
/// `text/html`, so store errors go out that way too.
fn api_error_body(status: u16, message: &str) -> Value {
    let reason = StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    let class = match status {
        404 => "NotFoundException",
        429 => "RateLimitException",
        500..=599 => "ServerException",
        _ => "Exception",
    };
    json!({"httpCode": status.to_string(), "httpMessage": reason, "message": message,
           "errorClass": class})
}

fn api_error(status: u16, message: &str, content_type: &str) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(api_error_body(status, message).to_string()))
        .unwrap_or_default()
}

fn oauth_error(e: &OAuthError) -> Response {
    json_response(e.status, &e.body())
}

/// A number for a header: up to three decimals, no trailing zeros.
fn num(v: f64) -> String {
    let t = format!("{v:.3}");
    let t = t.trim_end_matches('0').trim_end_matches('.');
    if t.is_empty() || t == "-0" {
        "0".to_owned()
    } else {
        t.to_owned()
    }
}

/// `Retry-After` in wall-clock seconds: an integer at real time, decimals when compressed.
fn retry_after_header(api_seconds: f64, scale: f64) -> String {
    let wall = api_seconds / scale;
    if (scale - 1.0).abs() < f64::EPSILON {
        format!("{}", wall.ceil().max(1.0) as u64)
    } else {
        num(((wall * 1000.0).ceil() / 1000.0).max(0.001))
    }
}

fn add_rate_headers(shared: &Shared, resp: &mut Response, cost: f64) {
    let now = shared.clock.api_seconds();
    let mut bucket = lock(&shared.bucket);
    let level = bucket.level(now);
    let h = resp.headers_mut();
    let mut put = |name: &'static str, value: String| {
        if let Ok(v) = value.parse() {
            h.insert(name, v);
        }
    };
    put("X-LS-Acct-Id", shared.config.account_id.to_string());
    put("X-LS-Oauth-Client-Id", shared.config.client_id.clone());
    put(
        "X-LS-Api-Bucket-Level",
        format!("{}/{}", num(level), num(bucket.size())),
    );
    // Drip rate in drips per wall-clock second (API rate × time scale), so a client pacing
    // by these headers needs no knowledge of the scale.
    put(
        "X-LS-Api-Drip-Rate",
        num(bucket.drip_rate() * shared.clock.scale()),
    );
    put("X-LS-Api-Request-Cost", num(cost));
    if let Some((used, limit)) = bucket.burst() {
        put("X-LS-Api-Burst-Level", format!("{used}/{limit}"));
    }
}

fn too_many(shared: &Shared, api_seconds: f64, kind: &str, cost: f64) -> Response {
    let mut resp = api_error(
        429,
        if kind == "api-burst-limiter" {
            "Burst rate limit exceeded. Please try again later."
        } else {
            "Rate limit exceeded. Please try again later."
        },
        "application/json",
    );
    add_rate_headers(shared, &mut resp, cost);
    let h = resp.headers_mut();
    if let Ok(v) = retry_after_header(api_seconds, shared.clock.scale()).parse() {
        h.insert(header::RETRY_AFTER, v);
    }
    if let Ok(v) = kind.parse() {
        h.insert("X-LS-API-RateLimit-Type", v);
    }
    resp
}

async fn dispatch(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let decision = shared.faults.decide(method.as_str(), &path);
    if !decision.delay.is_zero() {
        tokio::time::sleep(decision.delay).await;
    }
    if let Some(kind) = decision.terminal {
        if let Some(resp) = generic_fault_response(&kind).await {
            shared.stats.record(0);
            return resp;
        }
        let resp = match kind {
            FaultKind::TooManyRequests => too_many(&shared, 1.0, "api-leaky-bucket", 1.0),
            FaultKind::Status { status } => {
                let mut r = api_error(
                    status,
                    "Injected failure. Please try again later.",
                    "application/json",
                );
                if path.starts_with("/API/") {
                    add_rate_headers(&shared, &mut r, 0.0);
                }
                r
            }
            _ => api_error(500, "Unexpected fault", "application/json"),
        };
        shared.stats.record(resp.status().as_u16());
        return resp;
    }
    let resp = if path.starts_with("/auth/oauth/") {
        oauth_route(
            &shared,
            &method,
            &path,
            uri.query().unwrap_or(""),
            &headers,
            &body,
        )
    } else if path.starts_with("/API/V3/") {
        api_route(
            &shared,
            &method,
            &path,
            uri.query().unwrap_or(""),
            &headers,
            &body,
        )
    } else {
        api_error(404, "Not found", "text/html; charset=UTF-8")
    };
    shared.stats.record(resp.status().as_u16());
    resp
}

fn oauth_route(
    shared: &Shared,
    method: &Method,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let now = shared.clock.api_seconds();
    match (method.as_str(), path) {
        ("GET", "/auth/oauth/authorize") => {
            let params: BTreeMap<String, String> = decode_pairs(query).into_iter().collect();
            match lock(&shared.oauth).authorize(&params, now) {
                Ok(location) => Response::builder()
                    .status(302)
                    .header(header::LOCATION, location)
                    .body(Body::empty())
                    .unwrap_or_default(),
                Err(e) => oauth_error(&e),
            }
        }
        ("POST", "/auth/oauth/token") => {
            let content_type = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let mut params: BTreeMap<String, String> = if content_type.contains("json") {
                match serde_json::from_slice::<BTreeMap<String, Value>>(body) {
                    Ok(m) => m
                        .into_iter()
                        .map(|(k, v)| {
                            let v = match v {
                                Value::String(s) => s,
                                other => other.to_string(),
                            };
                            (k, v)
                        })
                        .collect(),
                    Err(_) => {
                        return oauth_error(&OAuthError {
                            status: 400,
                            error: "invalid_request",
                            description: "The request is malformed.",
                            hint: "Body is not valid JSON".into(),
                        });
                    }
                }
            } else {
                decode_pairs(&String::from_utf8_lossy(body))
                    .into_iter()
                    .collect()
            };
            if let Some((id, secret)) = basic_auth(headers) {
                params.entry("client_id".into()).or_insert(id);
                params.entry("client_secret".into()).or_insert(secret);
            }
            match lock(&shared.oauth).token(&params, now) {
                Ok(grant) => json_response(200, &json!(grant)),
                Err(e) => oauth_error(&e),
            }
        }
        _ => api_error(404, "Not found", "text/html; charset=UTF-8"),
    }
}

fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    use base64::Engine as _;
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

/// What an API path asks for.
enum Target {
    AccountIndex,
    List(Entity),
    One(Entity, u64),
    Images(Entity, u64),
}

fn parse_target(path: &str, account_id: u64) -> Result<Target, Refusal> {
    if path == "/API/V3/Account.json" {
        return Ok(Target::AccountIndex);
    }
    let rest = path
        .strip_prefix("/API/V3/Account/")
        .ok_or((404, "Not found".to_owned()))?;
    let (acct, rest) = rest.split_once('/').ok_or((404, "Not found".to_owned()))?;
    if acct.parse::<u64>().ok() != Some(account_id) {
        return Err((403, format!("Not authorized for account {acct}")));
    }
    let rest = rest
        .strip_suffix(".json")
        .ok_or((404, "Only the .json format is simulated".to_owned()))?;
    let parts: Vec<&str> = rest.split('/').collect();
    let entity =
        |name: &str| Entity::from_name(name).ok_or((404, format!("Unknown endpoint {name}")));
    let id = |text: &str| {
        text.parse::<u64>()
            .map_err(|_| (404, format!("Invalid id {text}")))
    };
    match parts.as_slice() {
        [name] => Ok(Target::List(entity(name)?)),
        [name, n] => Ok(Target::One(entity(name)?, id(n)?)),
        [name, n, "Image"] if matches!(*name, "Item" | "ItemMatrix") => {
            Ok(Target::Images(entity(name)?, id(n)?))
        }
        _ => Err((404, format!("Unknown endpoint {rest}"))),
    }
}

/// Nested relation entities in a write body, each costing half a drip (api-notes §2.5).
fn nested_entities(body: &Value) -> u32 {
    let Value::Object(m) = body else { return 0 };
    m.iter()
        .filter(|(k, _)| k.starts_with(|c: char| c.is_ascii_uppercase()))
        .map(|(_, v)| match v {
            Value::Object(inner) => inner
                .values()
                .map(|x| match x {
                    Value::Array(a) => a.len() as u32,
                    Value::Object(_) => 1,
                    _ => 0,
                })
                .sum(),
            _ => 0,
        })
        .sum()
}

fn request_cost(method: &Method, target: &Target, loads: &Loads, body: &Value) -> f64 {
    let tenths = match (method.as_str(), target) {
        ("GET", Target::List(e)) => 10 + loads.cost_tenths(*e, true),
        ("GET", Target::One(e, _)) => 10 + loads.cost_tenths(*e, false),
        ("GET", _) => 10,
        (_, Target::One(Entity::Sale | Entity::SaleLine, _)) => {
            let completing = body
                .get("completed")
                .is_some_and(|c| c == &Value::Bool(true) || c.as_str() == Some("true"));
            20 + if completing { 30 } else { 0 } + nested_entities(body) * 5
        }
        (_, Target::One(Entity::Category, _) | Target::List(Entity::Category)) => 100,
        _ => 10 + nested_entities(body) * 5,
    };
    f64::from(tenths) / 10.0
}

fn api_route(
    shared: &Shared,
    method: &Method,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let html = "text/html; charset=UTF-8";
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if let Err(e) = lock(&shared.oauth).authenticate(authorization, shared.clock.api_seconds()) {
        let mut r = oauth_error(&e);
        add_rate_headers(shared, &mut r, 0.0);
        return r;
    }
    let target = match parse_target(path, shared.config.account_id) {
        Ok(t) => t,
        Err((status, message)) => {
            let mut r = api_error(status, &message, html);
            add_rate_headers(shared, &mut r, 0.0);
            return r;
        }
    };
    let pairs = decode_pairs(query);
    let body_json: Value = if body.is_empty() {
        Value::Null
    } else {
        let Ok(v) = serde_json::from_slice(body) else {
            let mut r = api_error(400, "The request body is not valid JSON.", html);
            add_rate_headers(shared, &mut r, 0.0);
            return r;
        };
        v
    };
    let entity_of = |t: &Target| match t {
        Target::List(e) | Target::One(e, _) => Some(*e),
        Target::Images(..) => Some(Entity::Image),
        Target::AccountIndex => None,
    };
    let load_param = pairs
        .iter()
        .rev()
        .find(|(k, _)| k == "load_relations")
        .map(|(_, v)| v.as_str());
    let loads = match entity_of(&target) {
        Some(e) => match Loads::parse(e, load_param) {
            Ok(l) => l,
            Err(m) => {
                let mut r = api_error(400, &m, html);
                add_rate_headers(shared, &mut r, 0.0);
                return r;
            }
        },
        None => Loads::default(),
    };
    let cost = request_cost(method, &target, &loads, &body_json);
    if shared.config.rate_limit {
        let now = shared.clock.api_seconds();
        let admission = lock(&shared.bucket).admit(now, cost);
        match admission {
            Admission::Allowed => {}
            Admission::Bucket { retry_after } => {
                return too_many(shared, retry_after, "api-leaky-bucket", cost);
            }
            Admission::Burst { retry_after } => {
                return too_many(shared, retry_after, "api-burst-limiter", cost);
            }
        }
    }
    let result = execute(shared, method, path, &target, &pairs, &loads, &body_json);
    let mut resp = match result {
        Ok(v) => json_response(200, &v),
        Err((status, message)) => api_error(status, &message, html),
    };
    add_rate_headers(shared, &mut resp, cost);
    resp
}

fn execute(
    shared: &Shared,
    method: &Method,
    path: &str,
    target: &Target,
    pairs: &[(String, String)],
    loads: &Loads,
    body: &Value,
) -> Result<Value, Refusal> {
    let account = shared.config.account_id;
    match (method.as_str(), target) {
        ("GET", Target::AccountIndex) => Ok(json!({
            "@attributes": {"count": "1"},
            // `link` shape inferred from the docs' field list {accountID, name, link}.
            "Account": {"accountID": account.to_string(), "name": shared.config.account_name,
                        "link": {"@attributes": {"href": format!("/API/V3/Account/{account}")}}},
        })),
        ("GET", Target::List(entity)) => list(shared, *entity, pairs, None),
        ("GET", Target::Images(owner, id)) => {
            let field = if *owner == Entity::Item {
                "itemID"
            } else {
                "itemMatrixID"
            };
            list(shared, Entity::Image, pairs, Some((field, *id)))
        }
        ("GET", Target::One(entity, id)) => {
            let store = lock(&shared.store);
            let record = store
                .render(*entity, *id, loads)
                .ok_or_else(|| (404, format!("{} {id} not found.", entity.name())))?;
            let mut out = serde_json::Map::new();
            out.insert("@attributes".into(), json!({"count": "1"}));
            out.insert(entity.name().into(), record);
            Ok(Value::Object(out))
        }
        ("PUT", Target::One(Entity::Item, id)) => write_item(
            shared,
            "PUT",
            path,
            *id,
            body.clone(),
            &Loads::only("ItemShops"),
            |store, now| store.put_item(*id, body, now),
        ),
        ("DELETE", Target::One(Entity::Item, id)) => write_item(
            shared,
            "DELETE",
            path,
            *id,
            Value::Null,
            &Loads::default(),
            |store, now| store.archive_item(*id, now),
        ),
        _ => Err((
            405,
            format!("{method} is not supported on this endpoint by the sandbox."),
        )),
    }
}

/// A write to one item: applies it at the current API time (a refusal changes and logs
/// nothing), logs it for inspection and answers with the item as it now is.
fn write_item(
    shared: &Shared,
    method: &str,
    path: &str,
    id: u64,
    logged_body: Value,
    loads: &Loads,
    apply: impl FnOnce(&mut Store, Timestamp) -> Result<(), Refusal>,
) -> Result<Value, Refusal> {
    let now = shared.now();
    let mut store = lock(&shared.store);
    apply(&mut store, now)?;
    store.log_write(WriteRecord {
        method: method.to_owned(),
        path: path.to_owned(),
        body: logged_body,
        at: now,
    });
    let record = store.render(Entity::Item, id, loads).unwrap_or(Value::Null);
    Ok(json!({"@attributes": {"count": "1"}, "Item": record}))
}

fn list(
    shared: &Shared,
    entity: Entity,
    pairs: &[(String, String)],
    owner: Option<(&str, u64)>,
) -> Result<Value, Refusal> {
    let mut pairs = pairs.to_vec();
    if let Some((field, id)) = owner {
        pairs.push((field.to_owned(), id.to_string()));
    }
    let q = ListQuery::parse(entity, &pairs, shared.config.page_size_cap.max(1))
        .map_err(|m| (400, m))?;
    let page = lock(&shared.store).list(entity, &q)?;
    let link = |param: &str, cursor: Option<&super::query::Cursor>| -> String {
        let Some(cursor) = cursor else {
            return String::new();
        };
        let mut parts: Vec<String> = q
            .passthrough
            .iter()
            .filter(|(k, _)| owner.is_none_or(|(f, _)| f != k))
            .map(|(k, v)| format!("{}={}", encode_component(k), encode_component(v)))
            .collect();
        if let Some(sort) = pairs.iter().rev().find(|(k, _)| k == "sort") {
            parts.push(format!("sort={}", encode_component(&sort.1)));
        }
        parts.push(format!("limit={}", q.limit));
        parts.push(format!("{param}={}", cursor.encode()));
        let path = match owner {
            Some((field, id)) => {
                let owner_name = if field == "itemID" {
                    "Item"
                } else {
                    "ItemMatrix"
                };
                format!("{owner_name}/{id}/Image")
            }
            None => entity.name().to_owned(),
        };
        format!(
            "{}/API/V3/Account/{}/{path}.json?{}",
            shared.base(),
            shared.config.account_id,
            parts.join("&")
        )
    };
    let mut out = serde_json::Map::new();
    out.insert(
        "@attributes".into(),
        json!({"next": link("after", page.next.as_ref()),
               "previous": link("before", page.previous.as_ref())}),
    );
    // One record → an object, several → an array, none → no key at all (api-notes §2.7).
    let mut records = page.records;
    match records.len() {
        0 => {}
        1 => {
            out.insert(entity.name().into(), records.pop().unwrap_or(Value::Null));
        }
        _ => {
            out.insert(entity.name().into(), Value::Array(records));
        }
    }
    Ok(Value::Object(out))
}

// ---- control API ------------------------------------------------------------------------

async fn control_stats(State(shared): State<Arc<Shared>>) -> Response {
    json_response(200, &json!(shared.stats()))
}

async fn control_seed(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let dataset: Dataset = match serde_json::from_slice(&body) {
        Ok(d) => d,
        Err(e) => return json_response(400, &json!({"error": e.to_string()})),
    };
    load(&shared, &dataset)
}

fn load(shared: &Shared, dataset: &Dataset) -> Response {
    let now = shared.now();
    let mut store = lock(&shared.store);
    match store.load(dataset, now) {
        Ok(()) => {
            let counts: serde_json::Map<String, Value> = Entity::ALL
                .iter()
                .map(|e| (e.name().to_owned(), json!(store.count(*e))))
                .collect();
            json_response(200, &Value::Object(counts))
        }
        Err((status, message)) => json_response(status, &json!({"error": message})),
    }
}

#[derive(Deserialize)]
struct GenerateRequest {
    #[serde(default)]
    seed: u64,
    #[serde(default)]
    sizes: Option<Sizes>,
}

async fn control_generate(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let req: GenerateRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return json_response(400, &json!({"error": e.to_string()})),
    };
    let dataset = generate_at(req.seed, req.sizes.unwrap_or_default(), shared.now());
    load(&shared, &dataset)
}

async fn control_records(
    State(shared): State<Arc<Shared>>,
    Path(entity): Path<String>,
) -> Response {
    let Some(entity) = Entity::from_name(&entity) else {
        return json_response(404, &json!({"error": "unknown entity"}));
    };
    json_response(200, &Value::Array(super::records_of(&shared, entity)))
}

async fn control_record(
    State(shared): State<Arc<Shared>>,
    Path((entity, id)): Path<(String, u64)>,
) -> Response {
    let Some(entity) = Entity::from_name(&entity) else {
        return json_response(404, &json!({"error": "unknown entity"}));
    };
    match lock(&shared.store).render(entity, id, &Loads::everything()) {
        Some(v) => json_response(200, &v),
        None => json_response(404, &json!({"error": "not found"})),
    }
}

async fn control_stock(
    State(shared): State<Arc<Shared>>,
    Path((item, shop)): Path<(u64, u64)>,
) -> Response {
    match lock(&shared.store).stock(item, shop) {
        Some(qoh) => json_response(200, &json!({"qoh": qoh})),
        None => json_response(404, &json!({"error": "no such stock row"})),
    }
}

#[derive(Deserialize)]
struct StockBody {
    qoh: i64,
}

async fn control_set_stock(
    State(shared): State<Arc<Shared>>,
    Path((item, shop)): Path<(u64, u64)>,
    body: Bytes,
) -> Response {
    let Ok(b) = serde_json::from_slice::<StockBody>(&body) else {
        return json_response(400, &json!({"error": "body must be {\"qoh\": n}"}));
    };
    let now = shared.now();
    match lock(&shared.store).set_stock(item, shop, b.qoh, now) {
        Ok(()) => json_response(200, &json!({"qoh": b.qoh})),
        Err((status, message)) => json_response(status, &json!({"error": message})),
    }
}

#[derive(Deserialize)]
struct CompleteBody {
    #[serde(default)]
    payments: Vec<SalePaymentSeed>,
}

/// Completes an open sale now with `{"payments": [...]}` (see `LightspeedSandbox::complete_sale`).
async fn control_complete_sale(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<u64>,
    body: Bytes,
) -> Response {
    let Ok(b) = serde_json::from_slice::<CompleteBody>(&body) else {
        return json_response(400, &json!({"error": "body must be {\"payments\": [...]}"}));
    };
    let now = shared.now();
    match lock(&shared.store).complete_sale(id, &b.payments, now) {
        Ok(()) => json_response(200, &json!({"ok": true})),
        Err((status, message)) => json_response(status, &json!({"error": message})),
    }
}

#[derive(Deserialize)]
struct VoidBody {
    #[serde(default)]
    reason: String,
}

/// Voids a sale now with `{"reason": "..."}` (see `LightspeedSandbox::void_sale`).
async fn control_void_sale(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<u64>,
    body: Bytes,
) -> Response {
    let reason = serde_json::from_slice::<VoidBody>(&body)
        .map(|b| b.reason)
        .unwrap_or_default();
    let now = shared.now();
    match lock(&shared.store).void_sale(id, &reason, None, now) {
        Ok(void) => json_response(200, &json!({"saleVoidID": void})),
        Err((status, message)) => json_response(status, &json!({"error": message})),
    }
}

async fn control_writes(State(shared): State<Arc<Shared>>) -> Response {
    json_response(200, &json!(lock(&shared.store).writes()))
}

async fn control_set_faults(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    match serde_json::from_slice::<FaultPlan>(&body) {
        Ok(plan) => {
            shared.faults.set(plan);
            json_response(200, &json!({"ok": true}))
        }
        Err(e) => json_response(400, &json!({"error": e.to_string()})),
    }
}

async fn control_clear_faults(State(shared): State<Arc<Shared>>) -> Response {
    shared.faults.clear();
    json_response(200, &json!({"ok": true}))
}

async fn control_issue_tokens(State(shared): State<Arc<Shared>>) -> Response {
    let grant = lock(&shared.oauth).issue_direct(shared.clock.api_seconds());
    json_response(200, &json!(grant))
}

async fn control_expire_tokens(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    lock(&shared.oauth).expire_access_tokens();
    json_response(200, &json!({"ok": true}))
}

#[derive(Deserialize)]
struct AdvanceBody {
    seconds: f64,
}

async fn control_advance(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let Ok(b) = serde_json::from_slice::<AdvanceBody>(&body) else {
        return json_response(400, &json!({"error": "body must be {\"seconds\": n}"}));
    };
    if !(b.seconds.is_finite() && b.seconds >= 0.0) {
        return json_response(400, &json!({"error": "seconds must be ≥ 0"}));
    }
    shared.clock.advance(Duration::from_secs_f64(b.seconds));
    json_response(200, &json!({"now": super::store::show(shared.now())}))
}
