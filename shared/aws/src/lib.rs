//! The AWS home of the ports: DynamoDB, SQS and Secrets Manager adapters, and provisioning
//! of their tables and queues for local stacks and tests. No business rules live here, and
//! nothing here knows Lightspeed or Business Central.
//!
//! - [`DynamoStore`] keeps cursors, configuration, links, claims ([`TableNames::state`]) and
//!   the activity log ([`TableNames::activity`]); the item schema is in [`dynamo`].
//! - [`SqsQueue`] is the [`Queue`](lsbc_core::ports::Queue) on FIFO queues, each with a
//!   FIFO dead-letter queue ([`QueueUrls`]).
//! - [`SecretsManagerStore`] reads credentials through an in-process cache and writes
//!   rotated tokens back.
//! - [`AwsClients`] builds every client once from the environment ([`load_sdk_config`]):
//!   `AWS_ENDPOINT_URL` alone points them all at an emulator, so tests need no other hook.
//! - [`provision`] creates the tables and queues idempotently (the SAM template does the
//!   same in production).

mod clients;
pub mod dynamo;
pub mod provision;
mod secrets;
mod sqs;

pub use clients::{AwsClients, load_sdk_config};
pub use dynamo::{DynamoStore, TableNames};
pub use provision::{ProvisionError, Stack, StackSpec, provision};
pub use secrets::{DEFAULT_SECRET_CACHE_TTL, SecretsManagerStore};
pub use sqs::{MAX_REASON_BYTES, MESSAGE_ID_ATTRIBUTE, QueueUrls, REASON_ATTRIBUTE, SqsQueue};

use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};

/// Error codes AWS services use when they throttle a caller.
const THROTTLING_CODES: [&str; 5] = [
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "Throttling",
];

/// Whether an AWS error code means "slow down".
fn is_throttling(code: Option<&str>) -> bool {
    code.is_some_and(|c| THROTTLING_CODES.contains(&c))
}

/// A failed SDK call as the crate's errors carry it: the message with every cause
/// ([`DisplayErrorContext`]) and the error itself, boxed as the source. The same for every
/// service: their `SdkError` and `DisplayErrorContext` are the smithy runtime's.
fn sdk_failure<E, R>(err: SdkError<E, R>) -> (String, Box<dyn std::error::Error + Send + Sync>)
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    (DisplayErrorContext(&err).to_string(), Box::new(err))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_codes_are_recognised() {
        for code in [
            "ProvisionedThroughputExceededException",
            "ThrottlingException",
            "RequestLimitExceeded",
        ] {
            assert!(is_throttling(Some(code)), "{code}");
        }
        for code in [
            "ConditionalCheckFailedException",
            "ValidationException",
            "InternalServerError",
        ] {
            assert!(!is_throttling(Some(code)), "{code}");
        }
        assert!(!is_throttling(None));
    }
}
