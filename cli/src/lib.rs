//! `lsbc`, the operator CLI, as a library: the binary (`main.rs`) parses arguments
//! ([`args`]) and hands each command to its module's `run`; tests call the commands directly.
//!
//! - [`demo`]: both simulators, a realistic dataset, every flow end to end on the embedded
//!   home, a summary and a self-check;
//! - [`run`]: the same pipeline against real accounts, once or continuously;
//! - [`preview`]: what a record would become, without network;
//! - [`configure`]: mapping overrides and settings (show, set, unset, reset, history);
//! - [`connect`]: first connection of Lightspeed (OAuth with PKCE) and Business Central;
//! - [`logs`]: the activity log;
//! - [`operate`]: replaying dead letters, showing and moving cursors.

pub mod args;
pub mod configure;
pub mod connect;
pub mod demo;
pub mod demo_orders;
pub mod demo_stock;
pub mod home;
pub mod logs;
pub mod operate;
pub mod orders;
pub mod preview;
pub mod run;
pub mod sandboxes;
pub mod status;
pub mod summary;
pub mod template;
pub mod webhooks;

/// A command's failure, for the operator.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad arguments or files.
    #[error("{0}")]
    Usage(String),
    /// A stage, store or connector failed.
    #[error(transparent)]
    Stage(#[from] lsbc_core::StageError),
    /// A store failed.
    #[error(transparent)]
    Store(#[from] lsbc_core::StoreError),
    /// A mapping or settings document is invalid.
    #[error(transparent)]
    Mapping(#[from] lsbc_mapping::MappingError),
    /// Reading or writing a local file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The demo's self-check found differences.
    #[error("self-check failed: {0} problem(s) (listed above)")]
    Check(usize),
}

impl CliError {
    /// An IO error about `path`.
    pub fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }
}

/// Prints `value` as pretty JSON on standard output.
pub(crate) fn print_json(value: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}
