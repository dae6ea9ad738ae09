//! `lsbc run --config lsbc.toml [--once|--watch] [--json]`: the pipeline on the embedded home
//! against real Lightspeed and Business Central accounts (credentials from the local
//! credentials file, never printed). Each run reports, per flow, what happened to the records
//! and how many requests each API answered (and how many were 429s), then what was parked in
//! a dead-letter queue and why: a table, one line per run with `--watch`, or JSON.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use lsbc_connectors::Connectors;
use lsbc_core::Flow;
use lsbc_core::ports::{ActivityLog, ActivityQuery, Outcome};
use lsbc_embedded::{FlowReport, LocalRunner, RunnerOptions};
use serde::{Deserialize, Serialize};

use crate::CliError;
use crate::args::RunArgs;
use crate::home::{BUSINESS_CENTRAL_SECRET, EmbeddedHome, LIGHTSPEED_SECRET};
use crate::summary::{ApiRequests, FlowSummary, notes, table};

/// `lsbc.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// The SQLite state (default `.lsbc/state.sqlite`, relative to the config file).
    #[serde(default = "default_state")]
    pub state: PathBuf,
    /// The credentials file (default `.lsbc/credentials.json`), mode 0600.
    #[serde(default = "default_credentials")]
    pub credentials: PathBuf,
    /// Flows to run (default: every flow of this build).
    #[serde(default)]
    pub flows: Vec<Flow>,
    /// Seconds between runs with `--watch` (default 300).
    #[serde(default = "default_interval")]
    pub interval_seconds: u64,
    /// Secret name of the Lightspeed connection in the credentials file.
    #[serde(default = "default_lightspeed")]
    pub lightspeed_secret: String,
    /// Secret name of the Business Central connection.
    #[serde(default = "default_business_central")]
    pub business_central_secret: String,
}

fn default_state() -> PathBuf {
    PathBuf::from(".lsbc/state.sqlite")
}
fn default_credentials() -> PathBuf {
    PathBuf::from(".lsbc/credentials.json")
}
fn default_interval() -> u64 {
    300
}
fn default_lightspeed() -> String {
    LIGHTSPEED_SECRET.to_owned()
}
fn default_business_central() -> String {
    BUSINESS_CENTRAL_SECRET.to_owned()
}

impl RunConfig {
    /// Reads `path`; relative paths in it are relative to its directory.
    pub fn read(path: &Path) -> Result<Self, CliError> {
        let text = std::fs::read_to_string(path).map_err(|e| CliError::io(path, e))?;
        let mut config: RunConfig = toml::from_str(&text)
            .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?;
        let base = path.parent().unwrap_or_else(|| Path::new("."));
        for p in [&mut config.state, &mut config.credentials] {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        if config.flows.is_empty() {
            config.flows = lsbc_connectors::available_flows();
        }
        Ok(config)
    }
}

/// What one run did: per flow, the records and each API's requests; what was parked and
/// why; where the activity log is.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RunSummary {
    /// When the run started.
    pub started_at: Option<Timestamp>,
    /// Every flow, in the configured order (the pass is `run`).
    pub flows: Vec<FlowSummary>,
    /// Records parked in a dead-letter queue during the run, with their reasons.
    pub failures: Vec<String>,
    /// Where the activity log is, and how to read it.
    pub activity_log: String,
    /// Wall time of the run.
    pub elapsed_seconds: f64,
}

impl RunSummary {
    /// The counts of one flow (zero when it did not run).
    pub fn flow(&self, flow: Flow) -> FlowReport {
        self.flows
            .iter()
            .find(|f| f.flow == flow)
            .map(|f| f.records.clone())
            .unwrap_or_default()
    }

    /// The table, then what was parked and where the activity log is (`lsbc run`).
    pub fn text(&self) -> String {
        format!(
            "{}\n{}",
            table(&self.flows),
            notes(&self.flows, &self.failures, &self.activity_log)
        )
    }

    /// One line (`lsbc run --watch`): the time, each flow's counts, requests, 429s and
    /// what was parked.
    pub fn line(&self) -> String {
        let at = self
            .started_at
            .map(|t| t.strftime("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_default();
        let mut parts = vec![at];
        let (mut ls, mut bc, mut throttled) = (0, 0, 0);
        for f in &self.flows {
            let r = &f.records;
            parts.push(format!(
                "{}: read {}, created {}, updated {}, unchanged {}, skipped {}, failed {}{}",
                f.flow,
                r.read,
                r.created,
                r.updated,
                r.unchanged,
                r.skipped,
                r.failed,
                if r.waiting > 0 {
                    format!(", waiting {}", r.waiting)
                } else {
                    String::new()
                }
            ));
            ls += f.lightspeed.requests;
            bc += f.business_central.requests;
            throttled += f.lightspeed.throttled + f.business_central.throttled;
        }
        parts.push(format!(
            "requests: Lightspeed {ls}, BC {bc}, 429s {throttled}"
        ));
        parts.extend(self.failures.iter().map(|f| format!("parked: {f}")));
        parts.join(" | ")
    }
}

/// How `lsbc run` reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunOutput {
    /// Run every `interval_seconds` until Ctrl-C, one report per run.
    pub watch: bool,
    /// JSON (one document per run) instead of text.
    pub json: bool,
}

/// `lsbc run`: reads the configuration and syncs, printing each run's report.
pub async fn run(args: RunArgs) -> Result<ExitCode, CliError> {
    let config = RunConfig::read(&args.config)?;
    let output = RunOutput {
        watch: args.watch,
        json: args.json,
    };
    sync(&config, output, |summary| {
        let text = match (output.json, output.watch) {
            (true, true) => serde_json::to_string(summary).unwrap_or_default(),
            (true, false) => serde_json::to_string_pretty(summary).unwrap_or_default(),
            (false, true) => summary.line(),
            (false, false) => summary.text(),
        };
        println!("{text}");
    })
    .await?;
    Ok(ExitCode::SUCCESS)
}

/// Syncs once, or (with `output.watch`) every `interval_seconds` until Ctrl-C; hands each
/// run's summary to `report` and returns the last one.
pub async fn sync(
    config: &RunConfig,
    output: RunOutput,
    mut report: impl FnMut(&RunSummary),
) -> Result<RunSummary, CliError> {
    let home = EmbeddedHome::open(&config.state, &config.credentials)?;
    let context = home.context(&config.lightspeed_secret, &config.business_central_secret);
    let connectors = Connectors::new(&context)?;
    let mut runner = LocalRunner::new(home.store.clone(), RunnerOptions::default());
    for flow in &config.flows {
        runner.add_flow(connectors.flow(*flow).await?);
    }
    let log = config.state.display();
    let activity_log = format!("{log} (read it with: lsbc logs --state {log})");
    let interval = Duration::from_secs(config.interval_seconds.max(1));
    let stop = tokio::signal::ctrl_c();
    tokio::pin!(stop);
    loop {
        let summary = once(config, &runner, &connectors, &home, &activity_log).await?;
        report(&summary);
        if !output.watch {
            return Ok(summary);
        }
        tokio::select! {
            _ = &mut stop => return Ok(summary),
            () = tokio::time::sleep(interval) => {}
        }
    }
}

/// One run of every configured flow.
async fn once(
    config: &RunConfig,
    runner: &LocalRunner,
    connectors: &Connectors,
    home: &EmbeddedHome,
    activity_log: &str,
) -> Result<RunSummary, CliError> {
    let started = Instant::now();
    let started_at = Timestamp::now();
    let mut summary = RunSummary {
        started_at: Some(started_at),
        activity_log: activity_log.to_owned(),
        ..RunSummary::default()
    };
    for flow in &config.flows {
        let before = connectors.requests();
        let records = runner.run_flow(*flow).await?;
        let used = connectors.requests().since(before);
        summary.flows.push(FlowSummary {
            pass: "run".into(),
            flow: *flow,
            records,
            lightspeed: ApiRequests {
                requests: used.lightspeed.requests,
                throttled: used.lightspeed.throttled,
            },
            business_central: ApiRequests {
                requests: used.business_central.requests,
                throttled: used.business_central.throttled,
            },
        });
    }
    summary.failures = home
        .store
        .query(&ActivityQuery {
            outcome: Some(Outcome::Failed),
            since: Some(started_at),
            limit: 1000,
            ..ActivityQuery::default()
        })
        .await?
        .into_iter()
        .rev()
        .map(|e| format!("{} {}: {}", e.flow, e.key, e.message))
        .collect();
    summary.elapsed_seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}
