//! Writing activity-log entries: retention and the ids-only privacy switch.

use jiff::SignedDuration;
use serde_json::Value;

use crate::envelope::Envelope;
use crate::ports::{ActivityEntry, ActivityLog, Clock, Outcome};

/// How activity entries are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActivityPolicy {
    /// How long entries live before the store deletes them.
    pub retention: SignedDuration,
    /// Keep only ids and outcomes, no payloads.
    pub ids_only: bool,
}

impl Default for ActivityPolicy {
    /// 14 days, with payloads.
    fn default() -> Self {
        Self {
            retention: SignedDuration::from_hours(14 * 24),
            ids_only: false,
        }
    }
}

impl ActivityPolicy {
    /// Writes one entry about `env`. A failure to log is itself only logged: the activity
    /// log must never make a record fail.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn record(
        &self,
        log: &dyn ActivityLog,
        clock: &dyn Clock,
        env: &Envelope,
        stage: &str,
        outcome: Outcome,
        message: String,
        source: Option<Value>,
        target: Option<Value>,
    ) {
        let at = clock.now();
        let entry = ActivityEntry {
            id: uuid::Uuid::new_v4().simple().to_string(),
            flow: env.flow,
            key: env.key.clone(),
            trace_id: env.trace_id.clone(),
            stage: stage.to_owned(),
            outcome,
            message,
            at,
            expires_at: at.checked_add(self.retention).unwrap_or(at),
            source: if self.ids_only { None } else { source },
            target: if self.ids_only { None } else { target },
        };
        if let Err(error) = log.record(&entry).await {
            tracing::warn!(%error, flow = %env.flow, record_key = %env.key, "Activity log entry not written.");
        }
    }
}
