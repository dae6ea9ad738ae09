//! Logging: JSON lines through the Lambda runtime's own subscriber, which follows Lambda's
//! advanced logging controls (`AWS_LAMBDA_LOG_FORMAT`, `AWS_LAMBDA_LOG_LEVEL`) — SAM's
//! `LoggingConfig` decides format and level. Span fields (flow, record key, message id) are
//! part of every line logged inside a message's span.
//!
//! Log lines name records and fields but not their values: BC's error messages (which may
//! quote a value) and invalid values stay in the activity log, unless `LSBC_LOG_DETAILS=true`.

/// Installs the subscriber. Call once, first thing in `main`.
pub fn init() {
    lambda_runtime::tracing::init_default_subscriber();
    lsbc_core::error::log_details_from_env();
}
