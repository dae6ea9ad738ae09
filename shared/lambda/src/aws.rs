//! The AWS home of a Lambda: the adapters of every port, built once at cold start from the
//! typed configuration and the environment's AWS settings.

use lsbc_aws::{AwsClients, DynamoStore, SecretsManagerStore, SqsQueue, TableNames};

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
        Self::with_clients(&clients, config)
    }

    /// Builds the adapters on existing clients.
    pub fn with_clients(clients: &AwsClients, config: &CommonConfig) -> Self {
        Self {
            store: DynamoStore::new(
                clients.dynamodb.clone(),
                TableNames {
                    state: config.state_table.clone(),
                    activity: config.activity_table.clone(),
                },
            ),
            queue: SqsQueue::new(clients.sqs.clone(), config.queues.clone()),
            secrets: SecretsManagerStore::new(clients.secrets.clone()),
        }
    }
}
