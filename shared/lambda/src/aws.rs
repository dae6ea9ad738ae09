//! The AWS home of a Lambda: the adapters of every port, built once at cold start from the
//! typed configuration and the environment's AWS settings.

use lsbc_aws::{AwsClients, DynamoStore, SecretsManagerStore, SqsQueue, Stack};

use crate::config::CommonConfig;

/// The ports on DynamoDB, SQS and Secrets Manager.
#[derive(Debug, Clone)]
pub struct AwsHome {
    /// Cursors, configuration, links, claims and the activity log.
    pub store: DynamoStore,
    /// The function's queues.
    pub queue: SqsQueue,
    /// Credentials.
    pub secrets: SecretsManagerStore,
}

impl AwsHome {
    /// Builds the adapters on clients configured from the environment (`AWS_ENDPOINT_URL`
    /// included).
    pub async fn connect(config: &CommonConfig) -> Self {
        let clients = AwsClients::from_env().await;
        let stack = Stack {
            tables: config.tables.clone(),
            queues: config.queues.clone(),
        };
        Self {
            store: stack.store(&clients),
            queue: stack.queue(&clients),
            secrets: SecretsManagerStore::new(clients.secrets.clone()),
        }
    }
}
