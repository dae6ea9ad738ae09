//! Writing records into Business Central the way every sink does: read by id (absent is
//! `None`), find by filter, create idempotently with a SystemId the sync derives (a
//! duplicate-key refusal means an earlier attempt created it: read it back), update with
//! only the fields that differ (none: no request) under the record's ETag, re-reading once
//! on a conflict — and keep what was sent for the activity log.

use lsbc_business_central::{BusinessCentral, ETag, EntityPath, EntitySet, Filter, Query, Record};
use lsbc_core::ports::Action;
use lsbc_core::{Flow, RecordKey, StageError};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::connection::{external, is_duplicate, is_not_found};
use super::diff::changes;

/// What happened to one BC record.
#[derive(Debug)]
pub struct Written {
    /// The record as BC holds it now.
    pub record: Record,
    /// Created, updated, or neither (found as it should be, or created by an earlier attempt).
    pub action: Action,
}

/// What one push sent and noticed, for the activity log and the link.
#[derive(Debug, Default)]
pub struct Trail {
    /// The requests sent (and the sink's warnings).
    pub sent: Vec<Value>,
    /// Details kept on the link.
    pub extra: Map<String, Value>,
}

impl Trail {
    /// Logs a warning and keeps it among what was sent.
    pub fn warn(&mut self, flow: Flow, key: &RecordKey, warning: &str) {
        tracing::warn!(%flow, record_key = %key, %warning, "Record pushed with a warning.");
        self.sent.push(json!({ "warning": warning }));
    }
}

/// Business Central, as the sinks write it.
#[derive(Debug, Clone)]
pub struct Writer {
    bc: BusinessCentral,
}

impl Writer {
    /// Writes through `bc`.
    pub fn new(bc: BusinessCentral) -> Self {
        Self { bc }
    }

    /// The client.
    pub fn client(&self) -> &BusinessCentral {
        &self.bc
    }

    /// The record `id` under `path`, `None` when BC has none.
    pub async fn get(
        &self,
        key: &RecordKey,
        path: impl Into<EntityPath>,
        id: Uuid,
    ) -> Result<Option<Record>, StageError> {
        match self.bc.get(path, id, &Query::new()).await {
            Ok(r) => Ok(Some(r)),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(external(Some(key), e)),
        }
    }

    /// The first record of `set` matching `filter`.
    pub async fn find(
        &self,
        key: &RecordKey,
        set: EntitySet,
        filter: Filter,
    ) -> Result<Option<Record>, StageError> {
        self.bc
            .find_first(set, filter)
            .await
            .map_err(|e| external(Some(key), e))
    }

    /// Creates `body` under `path` with SystemId `id`, or — when an earlier attempt did —
    /// reads it back from `lookup` (then the action is `Unchanged`).
    pub async fn create(
        &self,
        key: &RecordKey,
        path: EntityPath,
        lookup: EntityPath,
        id: Uuid,
        mut body: Map<String, Value>,
        trail: &mut Trail,
    ) -> Result<Written, StageError> {
        body.insert("id".into(), Value::String(id.to_string()));
        trail
            .sent
            .push(json!({"method": "POST", "path": path.collection_url(), "body": body}));
        match self.bc.create(path, body).await {
            Ok(record) => Ok(Written {
                record,
                action: Action::Created,
            }),
            Err(e) if is_duplicate(&e) => {
                let record = self
                    .get(key, lookup, id)
                    .await?
                    .ok_or_else(|| external(Some(key), e))?;
                Ok(Written {
                    record,
                    action: Action::Unchanged,
                })
            }
            Err(e) => Err(external(Some(key), e)),
        }
    }

    /// After [`create`](Self::create): when it found the record an earlier attempt made (and
    /// never got to record), brings that record up to `desired` under `path`. The record
    /// is new to the sync either way, so the action is `Created`.
    pub async fn catch_up(
        &self,
        key: &RecordKey,
        path: EntityPath,
        created: Written,
        desired: &Map<String, Value>,
        trail: &mut Trail,
    ) -> Result<Written, StageError> {
        if created.action == Action::Created {
            return Ok(created);
        }
        let mut written = self
            .update(key, path, created.record, desired, trail)
            .await?;
        written.action = Action::Created;
        Ok(written)
    }

    /// Sends the fields of `desired` that differ from `current` (none: no request).
    pub async fn update(
        &self,
        key: &RecordKey,
        path: EntityPath,
        current: Record,
        desired: &Map<String, Value>,
        trail: &mut Trail,
    ) -> Result<Written, StageError> {
        let diff = changes(current.fields(), desired);
        if diff.is_empty() {
            return Ok(Written {
                record: current,
                action: Action::Unchanged,
            });
        }
        let id = current.id().ok_or_else(|| StageError::InvalidRecord {
            key: key.clone(),
            field: format!("{}.id", path.set()),
            reason: "Business Central returned a record without id".into(),
        })?;
        let etag = current.etag().cloned().unwrap_or_else(ETag::any);
        trail
            .sent
            .push(json!({"method": "PATCH", "path": path.entity_url(id), "body": diff}));
        let record = self
            .bc
            .update_with(path, id, &etag, diff, |fresh| {
                let again = changes(fresh.fields(), desired);
                (!again.is_empty()).then_some(again)
            })
            .await
            .map_err(|e| external(Some(key), e))?;
        Ok(Written {
            record,
            action: Action::Updated,
        })
    }
}
