//! The transform stage: turn one source record into target commands and hand them to the
//! flow's push queue. It writes no activity of its own: a record shows in the activity log
//! once pushed, or when its message is settled as skipped or failed.

use crate::envelope::{Body, Envelope, EnvelopeError};
use crate::error::StageError;
use crate::flow::QueueName;
use crate::ports::{Queue, Source, Transformer};
use crate::record::Record;

/// What the transform stage needs.
#[derive(Debug, Clone, Copy)]
pub struct TransformStage<'a> {
    /// The flow's source, to re-read records that travelled as references.
    pub source: &'a dyn Source,
    /// The flow's mapping.
    pub transformer: &'a dyn Transformer,
    /// The queues.
    pub queue: &'a dyn Queue,
}

/// Transforms one record message; returns how many commands were queued.
pub async fn transform(stage: &TransformStage<'_>, env: &Envelope) -> Result<usize, StageError> {
    let record = match &env.body {
        Body::Record { payload } => Record {
            flow: env.flow,
            key: env.key.clone(),
            version: env.source_version.clone(),
            payload: payload.clone(),
        },
        Body::Reference => {
            stage
                .source
                .fetch(&env.key)
                .await?
                .ok_or_else(|| StageError::Skipped {
                    key: env.key.clone(),
                    rule: "the record no longer exists in the source".into(),
                })?
        }
        Body::Rejected { field, reason, .. } => {
            return Err(StageError::InvalidRecord {
                key: env.key.clone(),
                field: field.clone(),
                reason: reason.clone(),
            });
        }
        Body::Command { .. } => {
            return Err(EnvelopeError::Malformed {
                path: "kind".into(),
                message: "a command reached the transform stage".into(),
            }
            .into());
        }
    };
    let commands = stage.transformer.transform(&record).await?;
    let mut messages = Vec::with_capacity(commands.len());
    for command in commands {
        if !command.warnings.is_empty() {
            // Warnings name field values (an e-mail in a wrong form): they go to the activity
            // log, which expires with its retention, and only their count to the logs.
            tracing::warn!(
                flow = %env.flow,
                record_key = %command.key,
                warnings = command.warnings.len(),
                "Record transformed with warnings; the activity log names them."
            );
        }
        let out = Envelope::command(
            env.flow,
            command.key,
            record.version.clone(),
            env.trace_id.clone(),
            command.match_key,
            command.command,
            command.warnings,
        );
        // The source travels once, with the first command: a batch of SQS messages is
        // limited in bytes as a whole.
        let out = if messages.is_empty() {
            out.with_source(record.payload.clone())
        } else {
            out
        };
        let (_, message) = out
            .to_message()
            .map_err(|e| match e {
                EnvelopeError::TooLarge { key, size } => StageError::InvalidRecord {
                    key,
                    field: "(whole record)".into(),
                    reason: format!(
                        "the command is {size} bytes, over the queue's message limit; the transformer must split it"
                    ),
                },
                other => other.into(),
            })?;
        messages.push(message);
    }
    let count = messages.len();
    if count > 0 {
        stage
            .queue
            .send(QueueName::Push(env.flow), messages)
            .await?;
    }
    tracing::debug!(flow = %env.flow, record_key = %env.key, commands = count, "Record transformed.");
    Ok(count)
}
