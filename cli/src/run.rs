//! `lsbc run --config lsbc.toml [--once|--watch]`: the pipeline on the embedded home against
//! real Lightspeed and Business Central accounts (credentials from the local credentials file,
//! never printed).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use lsbc_connectors::build_flow;
use lsbc_core::Flow;
use lsbc_embedded::{LocalRunner, RunReport, RunnerOptions};
use serde::Deserialize;

use crate::args::RunArgs;
use crate::home::{BUSINESS_CENTRAL_SECRET, EmbeddedHome, LIGHTSPEED_SECRET};
use crate::{CliError, print_json};

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

/// `lsbc run`: reads the configuration, syncs, prints the report.
pub async fn run(args: RunArgs) -> Result<ExitCode, CliError> {
    let config = RunConfig::read(&args.config)?;
    let report = sync(&config, args.watch).await?;
    print_json(&serde_json::to_value(&report).unwrap_or_default());
    Ok(ExitCode::SUCCESS)
}

/// Syncs once, or until Ctrl-C with `watch`.
pub async fn sync(config: &RunConfig, watch: bool) -> Result<RunReport, CliError> {
    let home = EmbeddedHome::open(&config.state, &config.credentials)?;
    let context = home.context(&config.lightspeed_secret, &config.business_central_secret);
    let mut runner = LocalRunner::new(home.store.clone(), RunnerOptions::default());
    for flow in &config.flows {
        runner.add_flow(build_flow(*flow, &context).await?);
    }
    if watch {
        let interval = Duration::from_secs(config.interval_seconds.max(1));
        let stop = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        Ok(runner.watch(interval, stop).await?)
    } else {
        Ok(runner.run_once().await?)
    }
}
