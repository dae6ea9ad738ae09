//! Benchmark (not a test): 1,000 item upserts against the Business Central sandbox at a
//! compressed time scale. Prints requests per record, 429s (goal 0) and the achieved request
//! rate as a share of BC's per-user limit (6,000 per 5 minutes = 20 requests/s of API time,
//! times the time scale; goal >= 0.9). The window is compressed with the same rate (20
//! requests per 1 s of API time) so the run spans many windows and the share measures pacing,
//! not one initial burst.
//!
//! Run: `cargo bench -p lsbc-business-central --bench upserts`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use lsbc_business_central::{
    BusinessCentral, BusinessCentralConfig, CompanyRef, ETag, EntitySet, Filter, Limits, Principal,
    Query, RetryPolicy,
};
use lsbc_sandbox::business_central::{
    BusinessCentralSandbox, BusinessCentralSandboxConfig, RateLimit, SandboxPrincipal,
};
use serde_json::{Map, Value, json};
use uuid::Uuid;

const RECORDS: usize = 1000;
const EXISTING: usize = 500;
const TIME_SCALE: f64 = 10.0;
const LIMIT_PER_API_SECOND: f64 = 20.0;
/// Numbers per lookup request (`number eq 'a' or number eq 'b' …`).
const LOOKUP_CHUNK: usize = 25;

/// What the mapping stage would produce for record `i`.
fn mapped(i: usize) -> Map<String, Value> {
    let Value::Object(map) = json!({
        "number": format!("LS-{i:05}"),
        "displayName": format!("Product {i}"),
        "unitPrice": 10 + (i % 90),
        "gtin": format!("{:013}", 4_000_000_000_000_u64 + i as u64),
    }) else {
        unreachable!("a JSON object literal")
    };
    map
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let window_api = Duration::from_secs(1);
    let sandbox = BusinessCentralSandbox::start(BusinessCentralSandboxConfig {
        time_scale: TIME_SCALE,
        principals: vec![SandboxPrincipal::new("bench-app", "bench-secret")],
        rate_limit: RateLimit {
            requests: LIMIT_PER_API_SECOND as u64,
            window: window_api,
            ..RateLimit::default()
        },
        ..BusinessCentralSandboxConfig::default()
    })
    .await?;
    for i in 0..EXISTING {
        let mut seed = mapped(i * 2);
        seed.insert("unitPrice".into(), json!(1));
        sandbox.add_item(Value::Object(seed))?;
    }

    let bc = BusinessCentral::new(
        BusinessCentralConfig::online(
            sandbox.tenant(),
            sandbox.environment(),
            vec![Principal::new("bench-app", "bench-secret")],
            CompanyRef::Id(sandbox.company_id()),
        )
        .with_api_base(sandbox.base_url())
        .with_login_base(sandbox.base_url())
        .with_limits(
            Limits {
                window: window_api,
                window_requests: Some(LIMIT_PER_API_SECOND as u32),
                ..Limits::online()
            }
            .time_scaled(TIME_SCALE),
        )
        .with_retry(RetryPolicy::default()),
    )?;
    // Warm the token cache outside the measurement.
    bc.list_page(EntitySet::Items, &Query::new().top(1)).await?;
    let before = sandbox.api_requests();
    let started = Instant::now();

    // 1. Look the records up by number, 25 per request.
    let records: Vec<Map<String, Value>> = (0..RECORDS).map(mapped).collect();
    let numbers: Vec<String> = records
        .iter()
        .map(|r| r["number"].as_str().unwrap_or_default().to_owned())
        .collect();
    let lookups = numbers.chunks(LOOKUP_CHUNK).map(|chunk| {
        let bc = bc.clone();
        let filter = Filter::any_of("number", chunk.iter().map(String::as_str));
        async move {
            let Some(filter) = filter else {
                return Ok(Vec::new());
            };
            bc.list_all(
                EntitySet::Items,
                Query::new().filter(filter).select([
                    "id",
                    "number",
                    "displayName",
                    "unitPrice",
                    "gtin",
                ]),
            )
            .await
        }
    });
    let found: Vec<_> = futures::stream::iter(lookups)
        .buffer_unordered(8)
        .try_collect::<Vec<_>>()
        .await?
        .into_iter()
        .flatten()
        .collect();
    let existing: HashMap<String, (Uuid, ETag, Map<String, Value>)> = found
        .into_iter()
        .filter_map(|r| {
            Some((
                r.str("number")?.to_owned(),
                (r.id()?, r.etag()?.clone(), r.fields().clone()),
            ))
        })
        .collect();

    // 2. Create or update each, sending only what differs.
    let writes = records.into_iter().filter_map(|body| {
        let bc = bc.clone();
        let number = body["number"].as_str().unwrap_or_default().to_owned();
        match existing.get(&number) {
            Some((id, etag, current)) => {
                let patch: Map<String, Value> = body
                    .into_iter()
                    .filter(|(k, v)| k != "number" && current.get(k) != Some(v))
                    .collect();
                if patch.is_empty() {
                    return None;
                }
                let (id, etag) = (*id, etag.clone());
                Some(futures::future::Either::Left(async move {
                    bc.update(EntitySet::Items, id, &etag, patch)
                        .await
                        .map(drop)
                }))
            }
            None => Some(futures::future::Either::Right(async move {
                bc.create(EntitySet::Items, body).await.map(drop)
            })),
        }
    });
    let results: Vec<_> = futures::stream::iter(writes)
        .buffer_unordered(16)
        .collect()
        .await;
    let failures = results.iter().filter(|r| r.is_err()).count();
    let elapsed = started.elapsed();

    let requests = sandbox.api_requests() - before;
    let throttled = sandbox.stats().totals.throttled;
    let rate = requests as f64 / elapsed.as_secs_f64();
    let limit = LIMIT_PER_API_SECOND * TIME_SCALE;
    println!(
        "business-central upserts: {RECORDS} items ({EXISTING} existing), time scale {TIME_SCALE}"
    );
    println!(
        "  limit: {LIMIT_PER_API_SECOND} requests per 1 s API window (6,000 / 5 min), {limit:.0} req/s wall"
    );
    println!("  wall time:            {:.2} s", elapsed.as_secs_f64());
    println!("  requests:             {requests}");
    println!(
        "  requests per record:  {:.3}",
        requests as f64 / RECORDS as f64
    );
    println!("  429s:                 {throttled} (goal 0)");
    println!("  failed upserts:       {failures}");
    println!("  achieved rate:        {rate:.1} req/s");
    println!("  rate / scaled limit:  {:.3} (goal >= 0.9)", rate / limit);
    println!("  client counters:      {:?}", bc.stats());
    sandbox.stop().await;
    Ok(())
}
