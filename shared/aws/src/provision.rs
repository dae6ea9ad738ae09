//! Creates the two tables and the FIFO queues with their dead-letter queues, idempotently,
//! for local stacks (the emulator), tests and a future `lsbc` command. Production is
//! provisioned by the SAM template, which must match what this module creates; this module
//! must not be called from a Lambda.
//!
//! Names take a prefix: tables `<prefix>-state` and `<prefix>-activity`, queues
//! `<prefix>-<queue>.fifo` with dead-letter queues `<prefix>-<queue>-dlq.fifo` (e.g.
//! `lsbc-orders-push.fifo`), so every test can have its own.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, IndexStatus, KeySchemaElement, KeyType,
    Projection, ProjectionType, ScalarAttributeType, TableStatus, TimeToLiveSpecification,
    TimeToLiveStatus,
};
use aws_sdk_sqs::types::QueueAttributeName;
use lsbc_core::QueueName;

use crate::clients::AwsClients;
use crate::dynamo::{ACTIVITY_INDEX, DynamoStore, STATE_INDEX, TTL_ATTRIBUTE, TableNames};
use crate::sqs::{QueueUrls, SqsQueue};

/// How long dead letters are kept: 14 days, SQS's maximum.
const DLQ_RETENTION_SECONDS: u32 = 14 * 24 * 3600;
/// How many times to look at a table still being created (1 s apart) before giving up.
const TABLE_WAIT_ATTEMPTS: u32 = 120;
/// SQS's longest queue name.
const MAX_QUEUE_NAME: usize = 80;

/// A failure to create the stack.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// An AWS call failed.
    #[error("{what}: {message}")]
    Aws {
        /// What was being done.
        what: String,
        /// What AWS said.
        message: String,
        /// The SDK's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The request can't be made as asked (bad prefix, a table that never became active).
    #[error("{0}")]
    Invalid(String),
}

fn aws_error<E, R>(what: impl Into<String>, err: SdkError<E, R>) -> ProvisionError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let (message, source) = crate::sdk_failure(err);
    ProvisionError::Aws {
        what: what.into(),
        message,
        source,
    }
}

fn invalid(what: &str, err: impl std::fmt::Display) -> ProvisionError {
    ProvisionError::Invalid(format!("{what}: {err}"))
}

/// What to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackSpec {
    /// Prefix of every table and queue name (letters, digits, `-`, `_`).
    pub prefix: String,
    /// The queues (each gets a dead-letter queue).
    pub queues: Vec<QueueName>,
    /// Receives before SQS moves a message to the dead-letter queue by itself.
    pub max_receive_count: u32,
    /// The queues' visibility timeout (whole seconds; the Lambda timeout or more in
    /// production).
    pub visibility_timeout: Duration,
}

impl StackSpec {
    /// Every queue of the pipeline, 5 receives, 30 s visibility.
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
            queues: QueueName::all(),
            max_receive_count: 5,
            visibility_timeout: Duration::from_secs(30),
        }
    }

    /// The queue's name: `<prefix>-<queue>.fifo`.
    pub fn queue_name(&self, queue: QueueName) -> String {
        format!("{}-{queue}.fifo", self.prefix)
    }

    /// Its dead-letter queue's name: `<prefix>-<queue>-dlq.fifo`.
    pub fn dead_letter_queue_name(&self, queue: QueueName) -> String {
        format!("{}-{queue}-dlq.fifo", self.prefix)
    }

    /// The tables' names.
    pub fn tables(&self) -> TableNames {
        TableNames::with_prefix(&self.prefix)
    }

    fn check(&self) -> Result<(), ProvisionError> {
        let ok = !self.prefix.is_empty()
            && self
                .prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok {
            return Err(ProvisionError::Invalid(format!(
                "prefix `{}` must be letters, digits, `-` and `_` only",
                self.prefix
            )));
        }
        if let Some(long) = self
            .queues
            .iter()
            .map(|q| self.dead_letter_queue_name(*q))
            .find(|n| n.len() > MAX_QUEUE_NAME)
        {
            return Err(ProvisionError::Invalid(format!(
                "queue name `{long}` is longer than SQS's {MAX_QUEUE_NAME} characters"
            )));
        }
        if !(1..=1000).contains(&self.max_receive_count) {
            return Err(ProvisionError::Invalid(format!(
                "maxReceiveCount {} is outside SQS's 1..=1000",
                self.max_receive_count
            )));
        }
        Ok(())
    }
}

/// A stack's tables and queues (what [`provision`] created, or what a Lambda's configuration
/// names): the names and URLs to build the adapters with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stack {
    /// The tables.
    pub tables: TableNames,
    /// Every queue's URL and its dead-letter queue's URL.
    pub queues: BTreeMap<QueueName, QueueUrls>,
}

impl Stack {
    /// The state adapter on these tables.
    pub fn store(&self, clients: &AwsClients) -> DynamoStore {
        DynamoStore::new(clients.dynamodb.clone(), self.tables.clone())
    }

    /// The queue adapter on these queues.
    pub fn queue(&self, clients: &AwsClients) -> SqsQueue {
        SqsQueue::new(clients.sqs.clone(), self.queues.clone())
    }
}

/// Creates (or finds) the tables and queues of `spec`.
pub async fn provision(clients: &AwsClients, spec: &StackSpec) -> Result<Stack, ProvisionError> {
    spec.check()?;
    let tables = spec.tables();
    create_tables(&clients.dynamodb, &tables).await?;
    let queues = create_queues(&clients.sqs, spec).await?;
    Ok(Stack { tables, queues })
}

fn key(name: &str, key_type: KeyType) -> Result<KeySchemaElement, ProvisionError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key_type)
        .build()
        .map_err(|e| invalid("key schema", e))
}

fn string_attribute(name: &str) -> Result<AttributeDefinition, ProvisionError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(|e| invalid("attribute definition", e))
}

/// A table keyed `pk`/`sk` with one all-projecting index on `(index_hash, index_range)`.
async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    index: &str,
    index_hash: &str,
    index_range: &str,
) -> Result<(), ProvisionError> {
    let mut attributes = vec![string_attribute("pk")?, string_attribute("sk")?];
    for name in [index_hash, index_range] {
        if name != "pk" && name != "sk" {
            attributes.push(string_attribute(name)?);
        }
    }
    let gsi = GlobalSecondaryIndex::builder()
        .index_name(index)
        .key_schema(key(index_hash, KeyType::Hash)?)
        .key_schema(key(index_range, KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .map_err(|e| invalid("index", e))?;
    let created = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(attributes))
        .key_schema(key("pk", KeyType::Hash)?)
        .key_schema(key("sk", KeyType::Range)?)
        .global_secondary_indexes(gsi)
        .send()
        .await;
    match created {
        Ok(_) => {}
        Err(e) if e.code() == Some("ResourceInUseException") => {
            tracing::debug!(table, "table exists already");
        }
        Err(e) => return Err(aws_error(format!("creating table {table}"), e)),
    }
    wait_until_active(client, table).await?;
    enable_ttl(client, table).await
}

async fn wait_until_active(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Result<(), ProvisionError> {
    for _ in 0..TABLE_WAIT_ATTEMPTS {
        let out = client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| aws_error(format!("describing table {table}"), e))?;
        let description = out.table;
        let table_active = description.as_ref().and_then(|t| t.table_status.as_ref())
            == Some(&TableStatus::Active);
        let indexes_active = description
            .as_ref()
            .and_then(|t| t.global_secondary_indexes.as_ref())
            .is_none_or(|ixs| {
                ixs.iter().all(|ix| {
                    ix.index_status
                        .as_ref()
                        .is_none_or(|s| *s == IndexStatus::Active)
                })
            });
        if table_active && indexes_active {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Err(ProvisionError::Invalid(format!(
        "table {table} did not become active in {TABLE_WAIT_ATTEMPTS} s"
    )))
}

async fn enable_ttl(client: &aws_sdk_dynamodb::Client, table: &str) -> Result<(), ProvisionError> {
    let out = client
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
        .map_err(|e| aws_error(format!("describing TTL of {table}"), e))?;
    let status = out
        .time_to_live_description
        .and_then(|d| d.time_to_live_status);
    if matches!(
        status,
        Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
    ) {
        return Ok(());
    }
    let spec = TimeToLiveSpecification::builder()
        .enabled(true)
        .attribute_name(TTL_ATTRIBUTE)
        .build()
        .map_err(|e| invalid("TTL specification", e))?;
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(spec)
        .send()
        .await
        .map_err(|e| aws_error(format!("enabling TTL on {table}"), e))?;
    Ok(())
}

/// Creates the state and activity tables, with their indexes and TTL.
pub async fn create_tables(
    client: &aws_sdk_dynamodb::Client,
    tables: &TableNames,
) -> Result<(), ProvisionError> {
    create_table(client, &tables.state, STATE_INDEX, "gsi1pk", "gsi1sk").await?;
    create_table(client, &tables.activity, ACTIVITY_INDEX, "rpk", "sk").await
}

/// Creates a FIFO queue with `attributes`, or updates the attributes of the existing one.
async fn create_fifo_queue(
    client: &aws_sdk_sqs::Client,
    name: &str,
    attributes: Vec<(QueueAttributeName, String)>,
) -> Result<String, ProvisionError> {
    let mut request = client
        .create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::FifoQueue, "true");
    for (k, v) in &attributes {
        request = request.attributes(k.clone(), v);
    }
    let url = match request.send().await {
        Ok(out) => out.queue_url,
        Err(e) if matches!(e.code(), Some("QueueAlreadyExists" | "QueueNameExists")) => {
            // Same name, other attributes: keep the queue, bring its attributes up to date.
            let url = client
                .get_queue_url()
                .queue_name(name)
                .send()
                .await
                .map_err(|e| aws_error(format!("finding queue {name}"), e))?
                .queue_url;
            if let Some(url) = &url {
                client
                    .set_queue_attributes()
                    .queue_url(url)
                    .set_attributes(Some(attributes.into_iter().collect()))
                    .send()
                    .await
                    .map_err(|e| aws_error(format!("updating queue {name}"), e))?;
            }
            url
        }
        Err(e) => return Err(aws_error(format!("creating queue {name}"), e)),
    };
    url.ok_or_else(|| ProvisionError::Invalid(format!("SQS returned no URL for queue {name}")))
}

/// Creates every queue of `spec` with its dead-letter queue and redrive policy; returns
/// their URLs.
pub async fn create_queues(
    client: &aws_sdk_sqs::Client,
    spec: &StackSpec,
) -> Result<BTreeMap<QueueName, QueueUrls>, ProvisionError> {
    spec.check()?;
    let visibility = spec.visibility_timeout.as_secs().to_string();
    let mut urls = BTreeMap::new();
    for &queue in &spec.queues {
        let dlq_name = spec.dead_letter_queue_name(queue);
        let dlq_url = create_fifo_queue(
            client,
            &dlq_name,
            vec![
                (
                    QueueAttributeName::MessageRetentionPeriod,
                    DLQ_RETENTION_SECONDS.to_string(),
                ),
                (QueueAttributeName::VisibilityTimeout, "30".to_owned()),
            ],
        )
        .await?;
        let dlq_arn = client
            .get_queue_attributes()
            .queue_url(&dlq_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(|e| aws_error(format!("reading the ARN of {dlq_name}"), e))?
            .attributes
            .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
            .ok_or_else(|| {
                ProvisionError::Invalid(format!("SQS returned no ARN for queue {dlq_name}"))
            })?;
        let redrive = serde_json::json!({
            "deadLetterTargetArn": dlq_arn,
            "maxReceiveCount": spec.max_receive_count,
        });
        let url = create_fifo_queue(
            client,
            &spec.queue_name(queue),
            vec![
                (QueueAttributeName::VisibilityTimeout, visibility.clone()),
                (QueueAttributeName::RedrivePolicy, redrive.to_string()),
            ],
        )
        .await?;
        urls.insert(queue, QueueUrls { url, dlq_url });
    }
    Ok(urls)
}

#[cfg(test)]
mod tests {
    use lsbc_core::Flow;

    use super::*;

    #[test]
    fn names_follow_the_prefix() {
        let spec = StackSpec::new("lsbc");
        assert_eq!(
            spec.queue_name(QueueName::Push(Flow::Orders)),
            "lsbc-orders-push.fifo"
        );
        assert_eq!(
            spec.dead_letter_queue_name(QueueName::Poll),
            "lsbc-poll-dlq.fifo"
        );
        assert_eq!(spec.tables(), TableNames::with_prefix("lsbc"));
        assert_eq!(spec.queues.len(), 9);
        spec.check().unwrap();
    }

    #[test]
    fn bad_specs_are_refused_before_any_call() {
        for prefix in ["", "has space", "dots.no", &"x".repeat(60)] {
            assert!(StackSpec::new(prefix).check().is_err(), "{prefix:?}");
        }
        let mut spec = StackSpec::new("ok");
        spec.max_receive_count = 0;
        assert!(spec.check().is_err());
    }
}
