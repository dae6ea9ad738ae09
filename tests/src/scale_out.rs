//! Several processes, each wired as a Lambda instance is — its own process, its own clients
//! built by the connectors from the secrets, the shared state table on the AWS emulator —
//! against one simulated Lightspeed account and one Business Central principal. The parent
//! starts the simulators and the workers; each worker hammers both APIs from several tasks
//! for a fixed time and reports what its clients saw. The simulators' own counters say how
//! many requests arrived and how many were refused with 429.
//!
//! Used by `cargo bench -p lsbc-tests --bench scale_out` (the figure in the README) and by a
//! small test (`tests/tests/scale_out.rs`) that asserts no 429.

use std::fmt::Write as _;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lsbc_aws::{SecretsManagerStore, StackSpec, TableNames, provision};
use lsbc_business_central::{EntitySet, Query as BcQuery};
use lsbc_cli::sandboxes::{SandboxOptions, Sandboxes};
use lsbc_connectors::{ConnectorContext, Connectors};
use lsbc_core::ports::{SecretStore, SystemClock};
use lsbc_lightspeed::{PageRequest, Query as LsQuery};
use serde::{Deserialize, Serialize};
use tokio::process::Command;

/// The environment variable that makes a process a worker: its value is the spec as JSON.
pub const WORKER_VAR: &str = "LSBC_SCALE_OUT_WORKER";

/// What one worker does.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkerSpec {
    /// The state table's prefix.
    pub prefix: String,
    /// The connection secrets' names.
    pub lightspeed_secret: String,
    pub business_central_secret: String,
    /// How long to send, in seconds.
    pub seconds: f64,
    /// Concurrent callers per API.
    pub callers: usize,
}

/// What one worker's clients saw.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WorkerReport {
    pub bc_requests: u64,
    pub bc_throttled: u64,
    pub ls_requests: u64,
    pub ls_throttled: u64,
    pub ls_drips: f64,
    pub failures: u64,
    pub first_failure: Option<String>,
    /// When its callers started and stopped (epoch ms).
    pub started_ms: i64,
    pub ended_ms: i64,
}

/// The run's settings.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    pub workers: usize,
    pub callers: usize,
    pub seconds: f64,
    pub lightspeed_time_scale: f64,
    pub business_central_time_scale: f64,
}

/// The run's figures.
#[derive(Debug, Clone)]
pub struct ScaleOutReport {
    pub options: RunOptions,
    pub wall: Duration,
    pub workers: Vec<WorkerReport>,
    /// Requests and 429s as the simulators counted them.
    pub bc_requests: u64,
    pub bc_throttled: u64,
    pub ls_requests: u64,
    pub ls_throttled: u64,
    pub ls_drips: f64,
    /// Business Central's limit in requests per wall second (6,000 / 5 min, time-scaled).
    pub bc_limit: f64,
    /// Lightspeed's drip rate and bucket size (wall).
    pub ls_drip_rate: f64,
    pub ls_bucket: f64,
}

impl ScaleOutReport {
    /// Seconds from the first worker's start to the last one's end (workers start a little
    /// apart; the rates are over the time any of them was sending).
    pub fn span(&self) -> f64 {
        let start = self.workers.iter().map(|w| w.started_ms).min().unwrap_or(0);
        let end = self.workers.iter().map(|w| w.ended_ms).max().unwrap_or(0);
        let span = (end - start) as f64 / 1000.0;
        if span > 0.0 {
            span
        } else {
            self.options.seconds
        }
    }

    /// BC requests per second over the limit (the 5 a first burst may send left out).
    pub fn bc_utilisation(&self) -> f64 {
        (self.bc_requests as f64 - 5.0).max(0.0) / self.span() / self.bc_limit
    }

    /// Lightspeed drips beyond the first bucket, per second, over the drip rate.
    pub fn ls_utilisation(&self) -> f64 {
        (self.ls_drips - self.ls_bucket).max(0.0) / self.span() / self.ls_drip_rate
    }

    /// The report as the README shows it.
    pub fn render(&self) -> String {
        let o = &self.options;
        let mut out = format!(
            "scale-out: {} worker processes x {} callers per API, {:.0} s each ({:.1} s from the first start to the last end); shared state on the AWS emulator\n",
            o.workers,
            o.callers,
            o.seconds,
            self.span()
        );
        let _ = writeln!(
            out,
            "business central: {} requests, {} x 429 (simulator's count); limit {:.1} req/s wall (20/s API at {}x); utilisation {:.3} (goal >= 0.9)",
            self.bc_requests,
            self.bc_throttled,
            self.bc_limit,
            o.business_central_time_scale,
            self.bc_utilisation()
        );
        let _ = writeln!(
            out,
            "lightspeed: {} requests, {:.1} drips, {} x 429 (simulator's count); drip rate {:.1}/s wall, bucket {:.0}; utilisation after the first bucket {:.3} (goal >= 0.9)",
            self.ls_requests,
            self.ls_drips,
            self.ls_throttled,
            self.ls_drip_rate,
            self.ls_bucket,
            self.ls_utilisation()
        );
        for (i, w) in self.workers.iter().enumerate() {
            let _ = writeln!(
                out,
                "  worker {i}: bc {} requests ({} x 429 seen), lightspeed {} requests ({} x 429 seen), {} failures{}",
                w.bc_requests,
                w.bc_throttled,
                w.ls_requests,
                w.ls_throttled,
                w.failures,
                w.first_failure
                    .as_ref()
                    .map(|f| format!(" (first: {f})"))
                    .unwrap_or_default()
            );
        }
        let _ = writeln!(out, "wall time {:.1} s", self.wall.as_secs_f64());
        out
    }
}

/// Runs the workers: `spawn` makes the command that starts one (this executable, with
/// whatever arguments make it call [`worker_main`]).
pub async fn run(
    options: RunOptions,
    spawn: impl Fn() -> Command,
) -> Result<ScaleOutReport, String> {
    let clients = crate::aws::emulator_clients().await;
    let prefix = format!("so{}", crate::contract::unique());
    let spec = StackSpec {
        queues: Vec::new(),
        ..StackSpec::new(prefix.clone())
    };
    provision(&clients, &spec)
        .await
        .map_err(|e| format!("provision: {e}"))?;
    let sandboxes = Sandboxes::start(SandboxOptions {
        seed: 5,
        lightspeed_time_scale: options.lightspeed_time_scale,
        business_central_time_scale: options.business_central_time_scale,
        ..SandboxOptions::default()
    })
    .await
    .map_err(|e| format!("simulators: {e}"))?;
    let secrets = SecretsManagerStore::new(clients.secrets.clone());
    let (ls, bc) = (
        format!("{prefix}/lightspeed"),
        format!("{prefix}/business-central"),
    );
    sandboxes
        .store_secrets(&secrets, &ls, &bc)
        .await
        .map_err(|e| format!("secrets: {e}"))?;
    let worker = WorkerSpec {
        prefix,
        lightspeed_secret: ls,
        business_central_secret: bc,
        seconds: options.seconds,
        callers: options.callers,
    };
    let spec_json = serde_json::to_string(&worker).map_err(|e| e.to_string())?;
    let ls_before = sandboxes.lightspeed.stats();
    let bc_before = sandboxes.business_central.stats();
    let started = Instant::now();
    let mut children = Vec::new();
    for _ in 0..options.workers {
        let mut command = spawn();
        command
            .env(WORKER_VAR, &spec_json)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        children.push(command.spawn().map_err(|e| format!("spawn: {e}"))?);
    }
    let mut reports = Vec::new();
    for child in children {
        let out = child
            .wait_with_output()
            .await
            .map_err(|e| format!("worker: {e}"))?;
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text
            .lines()
            .rev()
            .find_map(|l| l.split_once("scale-out-report ").map(|(_, json)| json))
            .ok_or_else(|| format!("a worker ended without a report ({}): {text}", out.status))?;
        reports.push(serde_json::from_str::<WorkerReport>(line).map_err(|e| e.to_string())?);
    }
    let wall = started.elapsed();
    let ls_stats = sandboxes.lightspeed.stats();
    let bc_stats = sandboxes.business_central.stats();
    let ls_delta = ls_stats.requests.since(&ls_before.requests);
    let bc_delta = bc_stats.totals.since(&bc_before.totals);
    let bc_requests: u64 = bc_stats
        .principals
        .values()
        .map(|c| c.requests)
        .sum::<u64>()
        - bc_before
            .principals
            .values()
            .map(|c| c.requests)
            .sum::<u64>();
    let report = ScaleOutReport {
        options,
        wall,
        workers: reports,
        bc_requests,
        bc_throttled: bc_delta.throttled,
        ls_requests: ls_delta.requests,
        ls_throttled: ls_delta.throttled,
        ls_drips: ls_stats.drips_used - ls_before.drips_used,
        bc_limit: 6000.0 / 300.0 * options.business_central_time_scale,
        ls_drip_rate: ls_stats.drip_rate_per_wall_second,
        ls_bucket: ls_stats.bucket_size,
    };
    sandboxes.stop().await;
    Ok(report)
}

/// A worker's whole life, when `LSBC_SCALE_OUT_WORKER` is set: prints its report on stdout
/// as one `scale-out-report {json}` line. Returns whether this process was a worker.
pub async fn worker_main() -> bool {
    let Ok(text) = std::env::var(WORKER_VAR) else {
        return false;
    };
    let report = match serde_json::from_str::<WorkerSpec>(&text) {
        Ok(spec) => worker(&spec).await,
        Err(e) => WorkerReport {
            failures: 1,
            first_failure: Some(format!("bad spec: {e}")),
            ..WorkerReport::default()
        },
    };
    let json = serde_json::to_string(&report).unwrap_or_default();
    println!("scale-out-report {json}");
    true
}

/// One worker: its own clients, built as a Lambda instance builds them.
async fn worker(spec: &WorkerSpec) -> WorkerReport {
    let clients = crate::aws::emulator_clients().await;
    let store = Arc::new(lsbc_aws::DynamoStore::new(
        clients.dynamodb.clone(),
        TableNames::with_prefix(&spec.prefix),
    ));
    let secrets: Arc<dyn SecretStore> = Arc::new(SecretsManagerStore::new(clients.secrets));
    let context = ConnectorContext {
        secrets,
        claims: store.clone(),
        budgets: store.clone(),
        config: store.clone(),
        links: store.clone(),
        cursors: store.clone(),
        states: store.clone(),
        clock: Arc::new(SystemClock),
        lightspeed_secret: spec.lightspeed_secret.clone(),
        business_central_secret: spec.business_central_secret.clone(),
    };
    let mut report = WorkerReport::default();
    let connectors = match Connectors::new(&context) {
        Ok(c) => c,
        Err(e) => return failed(report, e.to_string()),
    };
    let (ls, bc) = match (
        connectors.lightspeed().await,
        connectors.business_central().await,
    ) {
        (Ok(ls), Ok(bc)) => (ls, bc),
        (Err(e), _) | (_, Err(e)) => return failed(report, e.to_string()),
    };
    report.started_ms = jiff::Timestamp::now().as_millisecond();
    let until = Instant::now() + Duration::from_secs_f64(spec.seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..spec.callers {
        let bc = bc.clone();
        tasks.spawn(async move {
            let query = BcQuery::new().top(1);
            let mut failures = Vec::new();
            while Instant::now() < until {
                if let Err(e) = bc.list_page(EntitySet::Items, &query).await {
                    failures.push(e.to_string());
                }
            }
            failures
        });
        let ls = ls.clone();
        tasks.spawn(async move {
            let mut failures = Vec::new();
            while Instant::now() < until {
                let page = PageRequest::First(LsQuery::new().limit(1));
                if let Err(e) = ls.page_raw("Shop", page).await {
                    failures.push(e.to_string());
                }
            }
            failures
        });
    }
    while let Some(done) = tasks.join_next().await {
        let failures = done.unwrap_or_else(|e| vec![e.to_string()]);
        report.failures += failures.len() as u64;
        if report.first_failure.is_none() {
            report.first_failure = failures.into_iter().next();
        }
    }
    report.ended_ms = jiff::Timestamp::now().as_millisecond();
    let ls_stats = ls.stats();
    report.ls_requests = ls_stats.requests;
    report.ls_throttled = ls_stats.throttled;
    report.ls_drips = ls_stats.drips_used;
    for principal in bc.stats() {
        report.bc_requests += principal.requests;
        report.bc_throttled += principal.throttled;
    }
    report
}

fn failed(mut report: WorkerReport, message: String) -> WorkerReport {
    report.failures += 1;
    report.first_failure = Some(message);
    report
}
