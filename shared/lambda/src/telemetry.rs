//! Logging: JSON lines through the Lambda runtime's own subscriber, which follows Lambda's
//! advanced logging controls (`AWS_LAMBDA_LOG_FORMAT`, `AWS_LAMBDA_LOG_LEVEL`) — SAM's
//! `LoggingConfig` decides format and level. Span fields (flow, record key, message id) are
//! part of every line logged inside a message's span.

/// Installs the subscriber. Call once, first thing in `main`.
pub fn init() {
    lambda_runtime::tracing::init_default_subscriber();
}
