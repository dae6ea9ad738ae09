//! What every lsbc Lambda shares: JSON telemetry with one span per message and EMF metrics,
//! typed configuration read from the environment (every missing or bad variable reported
//! at once), and the SQS batch runner that answers with exactly the failed message ids.
//!
//! No business rule lives here: handlers call the stage functions of `lsbc-core`.

pub mod aws;
pub mod batch;
pub mod config;
pub mod metrics;
pub mod telemetry;
pub mod wiring;

pub use aws::AwsHome;
pub use batch::{BatchSummary, run_batch, run_stage, to_received};
pub use config::{CommonConfig, ConfigError, Env, FlowList, SecretNames, process_env};
pub use metrics::{Metric, MetricLine, Unit};
