//! Errors, classified by what happens next.
//!
//! Every failure of a stage is a [`StageError`]; [`classify`] — the one classifier — turns it
//! into a [`Disposition`]: retry, wait for a rate limit, park in the dead-letter queue and
//! alarm, or skip with a warning. The disposition's [`Disposition::category`] is the
//! `error_category` of log lines and the `error_type` Lambda reports.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::envelope::EnvelopeError;
use crate::record::RecordKey;

type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// An outside system the sync talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum System {
    /// Lightspeed Retail.
    Lightspeed,
    /// Business Central.
    BusinessCentral,
}

impl fmt::Display for System {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            System::Lightspeed => "Lightspeed",
            System::BusinessCentral => "Business Central",
        })
    }
}

/// What an outside system's failure means for the sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExternalKind {
    /// Unavailable for now (5xx, timeout, connection dropped): try again.
    Transient,
    /// Throttled: try again after the wait, when the system said how long.
    RateLimited {
        /// The system's `Retry-After`, if it sent one.
        retry_after: Option<Duration>,
    },
    /// Credentials refused or revoked: an operator must reconnect.
    Unauthorized,
    /// The request was refused for its content: retrying the same request won't help.
    Rejected,
    /// Someone else changed the record meanwhile (stale ETag) and one re-read did not settle it.
    Conflict,
}

/// A failure of Lightspeed or Business Central, as the connectors report it.
#[derive(Debug, thiserror::Error)]
#[error("{system}: {message}{}", .detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
pub struct ExternalError {
    /// Which system.
    pub system: System,
    /// What it means.
    pub kind: ExternalKind,
    /// What happened, for an operator (never containing credentials or a record's values).
    pub message: String,
    /// The system's own words, which may quote a record's values (BC's "Email 'x' is not
    /// valid"): in the activity log and the dead-letter reason, in logs only when
    /// [`log_details`] allows it.
    pub detail: Option<String>,
    /// The client's own error.
    #[source]
    pub source: Option<Source>,
}

impl ExternalError {
    /// A failure without an underlying error value.
    pub fn new(system: System, kind: ExternalKind, message: impl Into<String>) -> Self {
        Self {
            system,
            kind,
            message: message.into(),
            detail: None,
            source: None,
        }
    }

    /// Adds the system's own words (see [`ExternalError::detail`]); empty words add nothing.
    #[must_use]
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        self.detail = (!detail.trim().is_empty()).then_some(detail);
        self
    }

    /// Keeps the client's error as the source.
    #[must_use]
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }
}

/// A failure of a state store (cursors, links, claims, configuration, activity, secrets).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store can't be reached or answered with a server error: try again.
    #[error("state store unavailable: {message}")]
    Unavailable {
        /// What happened.
        message: String,
        /// The adapter's error.
        #[source]
        source: Option<Source>,
    },
    /// The store throttled the request.
    #[error("state store throttled: {message}")]
    Throttled {
        /// What happened.
        message: String,
    },
    /// A conditional write lost: someone else wrote first.
    #[error("conflicting write: {0}")]
    Conflict(String),
    /// An item that should exist doesn't (e.g. a secret that was never stored).
    #[error("not found: {0}")]
    NotFound(String),
    /// An item can't be read back (corrupt or written by an incompatible version).
    #[error("stored item {key} is unreadable: {message}")]
    Corrupt {
        /// Which item.
        key: String,
        /// What was wrong.
        message: String,
    },
}

impl StoreError {
    /// An unavailable store, keeping the adapter's error.
    pub fn unavailable(source: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Unavailable {
            message: source.to_string(),
            source: Some(Box::new(source)),
        }
    }
}

/// A failure of a queue.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The queue can't be reached or answered with a server error: try again.
    #[error("queue {queue} unavailable: {message}")]
    Unavailable {
        /// Which queue.
        queue: String,
        /// What happened.
        message: String,
        /// The adapter's error.
        #[source]
        source: Option<Source>,
    },
    /// The queue refused some messages of a batch after retries.
    #[error("queue {queue} refused {failed} of {sent} messages: {message}")]
    Refused {
        /// Which queue.
        queue: String,
        /// How many were refused.
        failed: usize,
        /// How many were sent.
        sent: usize,
        /// The first refusal's reason.
        message: String,
    },
    /// No queue of that name is configured.
    #[error("no queue configured for {0}")]
    NotConfigured(String),
    /// A message can't be encoded or decoded.
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
}

/// Every way a stage can fail.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// An outside API failed.
    #[error(transparent)]
    External(#[from] ExternalError),
    /// The record can't be synced as it is: an operator must fix the source or the mapping.
    #[error("record {key}: field `{field}`: {reason}")]
    InvalidRecord {
        /// The record.
        key: RecordKey,
        /// The field at fault (JSON path or target field name).
        field: String,
        /// What's wrong with it.
        reason: String,
    },
    /// The record is deliberately not synced, by a rule.
    #[error("record {key} skipped: {rule}")]
    Skipped {
        /// The record.
        key: RecordKey,
        /// The rule that skipped it.
        rule: String,
    },
    /// The record can't be synced yet (e.g. an order whose products aren't in BC yet).
    #[error("record {key} waits: {reason}")]
    NotReady {
        /// The record.
        key: RecordKey,
        /// What it waits for.
        reason: String,
        /// When to look again.
        retry_after: Duration,
    },
    /// Another worker holds the claim on this record or match key right now.
    #[error("claim {0} is held by another worker")]
    Busy(String),
    /// The function's time ran out before the message was finished; it comes back.
    #[error("the function's time ran out after {0:?} on this message")]
    OutOfTime(Duration),
    /// A state store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A queue failed.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// A message is unreadable or too large.
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    /// The sync is misconfigured (missing setting, mapping that doesn't compile, …).
    #[error("configuration: {0}")]
    Config(String),
}

static LOG_DETAILS: AtomicBool = AtomicBool::new(false);

/// Lets log lines carry the texts that may quote a record's values (BC's error messages, a
/// record's invalid value); off by default, as logs outlive nothing and are read by more
/// people than the activity log (`LSBC_LOG_DETAILS=true` turns it on).
pub fn log_details(on: bool) {
    LOG_DETAILS.store(on, Ordering::Relaxed);
}

/// Sets [`log_details`] from `LSBC_LOG_DETAILS` (`true`, `1` or `yes` turn it on); every
/// binary calls it once at start.
pub fn log_details_from_env() {
    let wanted = std::env::var("LSBC_LOG_DETAILS")
        .is_ok_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "true" | "1" | "yes"));
    log_details(wanted);
}

/// A failure as a log line may show it: see [`StageError::for_log`].
#[derive(Debug, Clone, Copy)]
pub struct ForLog<'a>(&'a StageError);

impl fmt::Display for ForLog<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if LOG_DETAILS.load(Ordering::Relaxed) {
            return fmt::Display::fmt(self.0, f);
        }
        match self.0 {
            StageError::External(e) if e.detail.is_some() => write!(
                f,
                "{}: {} (its message is in the activity log)",
                e.system, e.message
            ),
            StageError::InvalidRecord { key, field, .. } => write!(
                f,
                "record {key}: field `{field}` is invalid (the reason is in the activity log)"
            ),
            other => fmt::Display::fmt(other, f),
        }
    }
}

impl StageError {
    /// The failure without the texts that may quote a record's values, unless
    /// [`log_details`] allows them: what log lines show. The activity log and the
    /// dead-letter reason keep the whole text (both expire).
    pub fn for_log(&self) -> ForLog<'_> {
        ForLog(self)
    }
}

/// What happens next after a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Try again; after `after` when known, else after the queue's visibility timeout.
    Retry {
        /// When to try again, if the cause says.
        after: Option<Duration>,
    },
    /// The API is throttling us: wait at least this long.
    RateLimited {
        /// How long.
        wait: Duration,
    },
    /// The API refused the credentials (expired, revoked, rotated): the flow waits for a
    /// person to fix them, every message coming back after `wait` without spending an
    /// attempt; one alarm says so, instead of a dead letter per record.
    Paused {
        /// How long each message waits before it is tried again.
        wait: Duration,
    },
    /// Retrying won't help: park the message in the dead-letter queue and alarm.
    Fatal,
    /// Deliberately not synced: log a warning and move on.
    Skip,
}

/// How long to wait on a rate limit that came without `Retry-After`.
pub const DEFAULT_RATE_LIMIT_WAIT: Duration = Duration::from_secs(30);
/// How long a message waits while the credentials are refused.
pub const CREDENTIALS_WAIT: Duration = Duration::from_mins(5);
/// How long to wait for a claim another worker holds.
pub const BUSY_WAIT: Duration = Duration::from_secs(5);

impl Disposition {
    /// The name logged as `error_category` and reported as Lambda's `error_type`.
    pub fn category(&self) -> &'static str {
        match self {
            Disposition::Retry { .. } => "retry",
            Disposition::RateLimited { .. } => "rate_limited",
            Disposition::Paused { .. } => "paused",
            Disposition::Fatal => "fatal",
            Disposition::Skip => "skip",
        }
    }
}

/// The one classifier: what happens after `error`.
pub fn classify(error: &StageError) -> Disposition {
    match error {
        StageError::External(e) => match &e.kind {
            ExternalKind::Transient | ExternalKind::Conflict => Disposition::Retry { after: None },
            ExternalKind::RateLimited { retry_after } => Disposition::RateLimited {
                wait: retry_after.unwrap_or(DEFAULT_RATE_LIMIT_WAIT),
            },
            ExternalKind::Unauthorized => Disposition::Paused {
                wait: CREDENTIALS_WAIT,
            },
            ExternalKind::Rejected => Disposition::Fatal,
        },
        StageError::InvalidRecord { .. } | StageError::Envelope(_) | StageError::Config(_) => {
            Disposition::Fatal
        }
        StageError::Skipped { .. } => Disposition::Skip,
        StageError::NotReady { retry_after, .. } => Disposition::Retry {
            after: Some(*retry_after),
        },
        StageError::Busy(_) => Disposition::Retry {
            after: Some(BUSY_WAIT),
        },
        StageError::OutOfTime(_) => Disposition::Retry { after: None },
        StageError::Store(e) => match e {
            StoreError::Unavailable { .. } | StoreError::Conflict(_) => {
                Disposition::Retry { after: None }
            }
            StoreError::Throttled { .. } => Disposition::RateLimited {
                wait: Duration::from_secs(1),
            },
            StoreError::NotFound(_) | StoreError::Corrupt { .. } => Disposition::Fatal,
        },
        StageError::Queue(e) => match e {
            QueueError::Unavailable { .. } | QueueError::Refused { .. } => {
                Disposition::Retry { after: None }
            }
            QueueError::NotConfigured(_) | QueueError::Envelope(_) => Disposition::Fatal,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> RecordKey {
        RecordKey::parse("7").unwrap()
    }

    fn external(kind: ExternalKind) -> StageError {
        ExternalError::new(System::BusinessCentral, kind, "boom").into()
    }

    #[test]
    fn classification_table() {
        let secs = Duration::from_secs;
        let cases: Vec<(StageError, Disposition)> = vec![
            (
                external(ExternalKind::Transient),
                Disposition::Retry { after: None },
            ),
            (
                external(ExternalKind::Conflict),
                Disposition::Retry { after: None },
            ),
            (
                external(ExternalKind::RateLimited {
                    retry_after: Some(secs(7)),
                }),
                Disposition::RateLimited { wait: secs(7) },
            ),
            (
                external(ExternalKind::RateLimited { retry_after: None }),
                Disposition::RateLimited {
                    wait: DEFAULT_RATE_LIMIT_WAIT,
                },
            ),
            (
                external(ExternalKind::Unauthorized),
                Disposition::Paused {
                    wait: CREDENTIALS_WAIT,
                },
            ),
            (external(ExternalKind::Rejected), Disposition::Fatal),
            (
                StageError::InvalidRecord {
                    key: key(),
                    field: "email".into(),
                    reason: "x".into(),
                },
                Disposition::Fatal,
            ),
            (
                StageError::Skipped {
                    key: key(),
                    rule: "archived".into(),
                },
                Disposition::Skip,
            ),
            (
                StageError::NotReady {
                    key: key(),
                    reason: "item".into(),
                    retry_after: secs(60),
                },
                Disposition::Retry {
                    after: Some(secs(60)),
                },
            ),
            (
                StageError::Busy("c".into()),
                Disposition::Retry {
                    after: Some(BUSY_WAIT),
                },
            ),
            (
                StoreError::Unavailable {
                    message: "x".into(),
                    source: None,
                }
                .into(),
                Disposition::Retry { after: None },
            ),
            (
                StoreError::Throttled {
                    message: "x".into(),
                }
                .into(),
                Disposition::RateLimited { wait: secs(1) },
            ),
            (
                StoreError::Corrupt {
                    key: "k".into(),
                    message: "x".into(),
                }
                .into(),
                Disposition::Fatal,
            ),
            (
                QueueError::NotConfigured("poll".into()).into(),
                Disposition::Fatal,
            ),
            (StageError::Config("missing".into()), Disposition::Fatal),
        ];
        for (error, expected) in cases {
            assert_eq!(classify(&error), expected, "{error}");
        }
    }

    #[test]
    fn categories_are_stable_names() {
        assert_eq!(Disposition::Retry { after: None }.category(), "retry");
        assert_eq!(
            Disposition::RateLimited {
                wait: Duration::ZERO
            }
            .category(),
            "rate_limited"
        );
        assert_eq!(Disposition::Fatal.category(), "fatal");
        assert_eq!(Disposition::Skip.category(), "skip");
    }

    #[test]
    fn invalid_record_message_names_record_and_field() {
        let e = StageError::InvalidRecord {
            key: key(),
            field: "Contact.Emails[0].address".into(),
            reason: "not an e-mail address".into(),
        };
        assert_eq!(
            e.to_string(),
            "record 7: field `Contact.Emails[0].address`: not an e-mail address"
        );
    }
}
