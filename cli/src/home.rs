//! Where the CLI keeps state: the embedded home (one SQLite file and a 0600 credentials
//! file, the default) or the AWS home of a deployed stack (`--aws`: the stack's DynamoDB
//! tables and Secrets Manager).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use lsbc_aws::{AwsClients, DynamoStore, SecretsManagerStore, TableNames};
use lsbc_aws::{QueueUrls, SqsQueue};
use lsbc_connectors::ConnectorContext;
use lsbc_core::QueueName;
use lsbc_core::ports::{
    ActivityLog, BudgetStore, ConfigStore, CursorStore, Queue, SecretStore, StateStore,
};
use lsbc_embedded::{Embedded, FileSecretStore};

use crate::CliError;

/// Default secret names in the local credentials file.
pub const LIGHTSPEED_SECRET: &str = "lightspeed";
/// Default secret name of the Business Central connection in the local credentials file.
pub const BUSINESS_CENTRAL_SECRET: &str = "business-central";

/// The embedded home.
#[derive(Debug, Clone)]
pub struct EmbeddedHome {
    /// State and queues.
    pub store: Embedded,
    /// Credentials.
    pub secrets: Arc<FileSecretStore>,
    /// Where the state lives.
    pub state_path: PathBuf,
}

impl EmbeddedHome {
    /// Opens (creating) the state database and the credentials file.
    pub fn open(state: &Path, credentials: &Path) -> Result<Self, CliError> {
        Self::open_with(state, credentials, lsbc_embedded::QueueOptions::default())
    }

    /// [`open`](Self::open) with its queues behaving as `queues` says (a shorter visibility
    /// timeout brings retries back sooner).
    pub fn open_with(
        state: &Path,
        credentials: &Path,
        queues: lsbc_embedded::QueueOptions,
    ) -> Result<Self, CliError> {
        if let Some(dir) = state.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| CliError::io(dir, e))?;
        }
        Ok(Self {
            store: Embedded::open_with(state, Arc::new(lsbc_core::ports::SystemClock), queues)?,
            secrets: Arc::new(FileSecretStore::new(credentials)),
            state_path: state.to_owned(),
        })
    }

    /// The context connectors are built in.
    pub fn context(&self, lightspeed: &str, business_central: &str) -> ConnectorContext {
        ConnectorContext {
            secrets: self.secrets.clone(),
            claims: Arc::new(self.store.clone()),
            budgets: Arc::new(self.store.clone()),
            config: Arc::new(self.store.clone()),
            links: Arc::new(self.store.clone()),
            cursors: Arc::new(self.store.clone()),
            states: Arc::new(self.store.clone()),
            clock: self.store.clock(),
            lightspeed_secret: lightspeed.to_owned(),
            business_central_secret: business_central.to_owned(),
        }
    }
}

/// Where configuration and activity are read and written by the CLI's commands.
#[derive(Clone)]
pub struct StateHandle {
    /// Cursors.
    pub cursors: Arc<dyn CursorStore>,
    /// The queues (for the AWS home: the ones whose URLs were given).
    pub queue: Arc<dyn Queue>,
    /// Mapping overrides and settings.
    pub config: Arc<dyn ConfigStore>,
    /// The activity log.
    pub activity: Arc<dyn ActivityLog>,
    /// Record states (the orders flow's sales).
    pub states: Arc<dyn StateStore>,
    /// The API clients' shared request budgets.
    pub budgets: Arc<dyn BudgetStore>,
    /// Credentials.
    pub secrets: Arc<dyn SecretStore>,
    /// What it is, for messages.
    pub describe: String,
}

impl std::fmt::Debug for StateHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe)
    }
}

/// Which home a command works on.
#[derive(Debug, Clone)]
pub enum HomeChoice {
    /// The embedded files.
    Embedded {
        /// SQLite state.
        state: PathBuf,
        /// Credentials file.
        credentials: PathBuf,
    },
    /// A deployed stack's tables (names as the SAM template gives them).
    Aws {
        /// The state table.
        state_table: String,
        /// The activity table.
        activity_table: String,
        /// Queue URLs the command may use.
        queues: Vec<(QueueName, QueueUrls)>,
    },
}

impl HomeChoice {
    /// Opens the chosen home.
    pub async fn open(&self) -> Result<StateHandle, CliError> {
        match self {
            HomeChoice::Embedded { state, credentials } => {
                let home = EmbeddedHome::open(state, credentials)?;
                Ok(StateHandle {
                    cursors: Arc::new(home.store.clone()),
                    queue: Arc::new(home.store.clone()),
                    config: Arc::new(home.store.clone()),
                    activity: Arc::new(home.store.clone()),
                    states: Arc::new(home.store.clone()),
                    budgets: Arc::new(home.store.clone()),
                    secrets: home.secrets.clone(),
                    describe: format!("embedded state {}", state.display()),
                })
            }
            HomeChoice::Aws {
                state_table,
                activity_table,
                queues,
            } => {
                let clients = AwsClients::from_env().await;
                let store = DynamoStore::new(
                    clients.dynamodb.clone(),
                    TableNames {
                        state: state_table.clone(),
                        activity: activity_table.clone(),
                    },
                );
                Ok(StateHandle {
                    cursors: Arc::new(store.clone()),
                    queue: Arc::new(SqsQueue::new(clients.sqs.clone(), queues.clone())),
                    config: Arc::new(store.clone()),
                    states: Arc::new(store.clone()),
                    budgets: Arc::new(store.clone()),
                    activity: Arc::new(store),
                    secrets: Arc::new(SecretsManagerStore::new(clients.secrets.clone())),
                    describe: format!("DynamoDB tables {state_table} and {activity_table}"),
                })
            }
        }
    }
}
