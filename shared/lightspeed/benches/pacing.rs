//! Pacing benchmark (not a test): drives 600 requests of mixed cost from 4 concurrent
//! callers through the client against the simulator's leaky bucket at a compressed time
//! scale, and reports the 429s seen (goal 0) and how much of the drip rate was used in
//! steady state (goal ≥ 0.9). Run: `cargo bench -p lsbc-lightspeed --bench pacing`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use lsbc_lightspeed::model::{Item, Shop};
use lsbc_lightspeed::{
    ClientConfig, LightspeedClient, LocalLease, MemoryTokenStore, Query, TokenSet,
};
use lsbc_sandbox::lightspeed::{
    ItemSeed, LightspeedSandbox, LightspeedSandboxConfig, ShopSeed, StockSeed,
};
use secrecy::SecretString;
use tokio::sync::Mutex;

const REQUESTS: usize = 600;
const WORKERS: usize = 4;
const TIME_SCALE: f64 = 50.0;

/// The moment the bucket first made a caller wait, with the drips used until then.
#[derive(Debug, Default)]
struct SteadyStart {
    at: Option<(Instant, f64)>,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sandbox = LightspeedSandbox::start(LightspeedSandboxConfig {
        time_scale: TIME_SCALE,
        bucket_size: 90.0,
        drip_rate: 1.0,
        ..LightspeedSandboxConfig::default()
    })
    .await?;
    for (name, tz) in [
        ("Amsterdam", "Europe/Amsterdam"),
        ("Antwerpen", "Europe/Brussels"),
    ] {
        sandbox.add_shop(&ShopSeed {
            name: name.into(),
            time_zone: tz.into(),
            ..ShopSeed::default()
        });
    }
    for n in 0..40 {
        sandbox.add_item(&ItemSeed {
            description: format!("Item {n}"),
            price_cents: 995,
            stock: vec![StockSeed { shop_id: 1, qoh: 5 }],
            ..ItemSeed::default()
        })?;
    }
    let grant = sandbox.issue_tokens();
    let now = Timestamp::now();
    let tokens = TokenSet::new(
        grant.access_token,
        grant.refresh_token,
        now,
        now + SignedDuration::from_hours(1),
    );
    let cfg = sandbox.config();
    let config = ClientConfig::new(
        cfg.client_id.clone(),
        SecretString::from(cfg.client_secret.clone()),
    )
    .with_base(&sandbox.base_url())?;
    let client = LightspeedClient::builder(
        config,
        Arc::new(MemoryTokenStore::new(Some(tokens))),
        Arc::new(LocalLease::default()),
    )
    .build()?;

    let next = Arc::new(AtomicUsize::new(0));
    let steady = Arc::new(Mutex::new(SteadyStart::default()));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..WORKERS {
        let client = client.clone();
        let next = next.clone();
        let steady = steady.clone();
        workers.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= REQUESTS {
                    return Ok::<(), lsbc_lightspeed::LightspeedError>(());
                }
                // Costs 1 (plain list), 1.4 (list + one relation) and 1.2 (single + one).
                match n % 3 {
                    0 => {
                        client.page::<Shop>(Query::new()).await?;
                    }
                    1 => {
                        client
                            .page::<Item>(Query::new().relations(["ItemShops"]).limit(10))
                            .await?;
                    }
                    _ => {
                        client
                            .get::<Item>(1 + (n as u64 % 40), &["ItemShops"])
                            .await?;
                    }
                }
                let stats = client.stats();
                if stats.pacing_waits > 0 {
                    let mut s = steady.lock().await;
                    if s.at.is_none() {
                        s.at = Some((Instant::now(), stats.drips_used));
                    }
                }
            }
        }));
    }
    for w in workers {
        w.await??;
    }
    let elapsed = started.elapsed();
    let stats = client.stats();
    let server = sandbox.stats();
    let drip_wall = server.drip_rate_per_wall_second;
    let (steady_at, steady_drips) = steady.lock().await.at.unwrap_or((started, 0.0));
    let window = elapsed
        .saturating_sub(steady_at - started)
        .max(Duration::from_millis(1));
    let steady_rate = (stats.drips_used - steady_drips) / window.as_secs_f64();
    let overall_rate = stats.drips_used / elapsed.as_secs_f64();
    println!(
        "pacing: {REQUESTS} requests, {WORKERS} concurrent callers, time scale {TIME_SCALE}× \
         (drip rate {drip_wall:.1} drips/s wall = 1/s API, bucket {:.0})",
        server.bucket_size
    );
    println!(
        "elapsed {:.2} s; requests sent {}; drips used {:.1}; pacing waits {}",
        elapsed.as_secs_f64(),
        stats.requests,
        stats.drips_used,
        stats.pacing_waits
    );
    println!(
        "429s seen: {} (sandbox answered {} × 429)",
        stats.throttled, server.requests.throttled
    );
    println!(
        "steady state: {steady_rate:.1} drips/s over {:.2} s = {:.3} of the drip rate (goal ≥ 0.9)",
        window.as_secs_f64(),
        steady_rate / drip_wall
    );
    println!(
        "overall incl. the initial bucket headroom: {overall_rate:.1} drips/s = {:.3} of the drip rate",
        overall_rate / drip_wall
    );
    sandbox.stop().await;
    Ok(())
}
