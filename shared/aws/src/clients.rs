//! The AWS SDK configuration and clients, built once from the environment and cloned; no
//! test-only paths, no per-call client construction.

use aws_config::{BehaviorVersion, SdkConfig};

/// Loads the SDK configuration the standard way: region, credentials and endpoint from the
/// environment (Lambda sets them), so `AWS_ENDPOINT_URL` alone points every client at an
/// emulator.
pub async fn load_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// Every AWS client the adapters use. Cloning is cheap (the clients share their
/// connection pools), so build this once per process.
#[derive(Debug, Clone)]
pub struct AwsClients {
    /// DynamoDB: state and activity tables.
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// SQS: the stage queues and their dead-letter queues.
    pub sqs: aws_sdk_sqs::Client,
    /// Secrets Manager: credentials.
    pub secrets: aws_sdk_secretsmanager::Client,
}

impl AwsClients {
    /// Clients on `config`.
    pub fn new(config: &SdkConfig) -> Self {
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(config),
            sqs: aws_sdk_sqs::Client::new(config),
            secrets: aws_sdk_secretsmanager::Client::new(config),
        }
    }

    /// Clients on the configuration from the environment ([`load_sdk_config`]).
    pub async fn from_env() -> Self {
        Self::new(&load_sdk_config().await)
    }
}
