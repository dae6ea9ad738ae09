//! Writing records into Business Central the way every sink does: read by id (absent is
//! `None`), find by filter, create idempotently with a SystemId the sync derives (a
//! duplicate-key refusal means an earlier attempt created it: read it back), update with
//! only the fields that differ (none: no request) under the record's ETag, re-reading once
//! on a conflict — and keep what was sent for the activity log.
//!
//! Whether BC keeps that SystemId is found per company and entity set (see `client_ids`):
//! where it is refused, creates go without it; where it is refused or ignored, the sinks
//! find a record again after a lost answer by a key BC keeps, never by the SystemId.

use std::sync::Arc;

use lsbc_business_central::{BusinessCentral, ETag, EntityPath, EntitySet, Filter, Query, Record};
use lsbc_core::ports::Action;
use lsbc_core::{Flow, RecordKey, StageError};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::client_ids::{ClientIds, FoundBy, IdAnswer, may_refuse_id};
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
    ids: Arc<ClientIds>,
}

impl Writer {
    /// Writes through `bc`, finding how it answers a client-chosen `id` by itself (kept in
    /// memory only).
    pub fn new(bc: BusinessCentral) -> Self {
        Self {
            bc,
            ids: Arc::new(ClientIds::in_memory()),
        }
    }

    /// Reads and keeps how BC answers a client-chosen `id` in `ids`.
    #[must_use]
    pub fn with_client_ids(mut self, ids: Arc<ClientIds>) -> Self {
        self.ids = ids;
        self
    }

    /// Whether BC is known to keep the SystemId the sync chooses for records of `set` (until
    /// the first create of the set, it is not known).
    pub async fn honours_ids(&self, key: &RecordKey, set: EntitySet) -> Result<bool, StageError> {
        let company = self
            .bc
            .company_id()
            .await
            .map_err(|e| external(Some(key), e))?;
        Ok(self.ids.answer(company, set).await? == Some(IdAnswer::Honoured))
    }

    /// The sales document of `set` (`salesOrders`, `salesInvoices`, …) whose
    /// `externalDocumentNumber` is `number`: how a document is found again after a lost
    /// answer where BC does not keep the SystemId the sync chose.
    pub async fn find_document(
        &self,
        key: &RecordKey,
        set: EntitySet,
        number: &str,
    ) -> Result<Option<Record>, StageError> {
        self.find(key, set, Filter::eq("externalDocumentNumber", number))
            .await
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

    /// Creates `body` under `path` with SystemId `id` (sent unless BC refuses it), or — when
    /// an earlier attempt did — reads it back from `lookup` (then the action is
    /// `Unchanged`). The answer to the `id` is noted on the way: kept (honoured), replaced
    /// (ignored), or a 400 that the same body without `id` does not get (refused).
    pub async fn create(
        &self,
        key: &RecordKey,
        path: EntityPath,
        lookup: EntityPath,
        id: Uuid,
        body: Map<String, Value>,
        trail: &mut Trail,
    ) -> Result<Written, StageError> {
        let set = path.set();
        let company = self
            .bc
            .company_id()
            .await
            .map_err(|e| external(Some(key), e))?;
        let answer = self.ids.answer(company, set).await?;
        if answer == Some(IdAnswer::Refused) {
            return self.create_without_id(key, path, body, trail).await;
        }
        let mut with_id = body.clone();
        with_id.insert("id".into(), Value::String(id.to_string()));
        trail
            .sent
            .push(json!({"method": "POST", "path": path.collection_url(), "body": with_id}));
        match self.bc.create(path.clone(), with_id).await {
            Ok(record) => {
                let found = if record.id() == Some(id) {
                    IdAnswer::Honoured
                } else {
                    IdAnswer::Ignored
                };
                self.ids.note(company, set, found, FoundBy::Create).await?;
                Ok(Written {
                    record,
                    action: Action::Created,
                })
            }
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
            Err(e) if may_refuse_id(&e) => {
                // Nothing was created: the same body without `id` settles whether the
                // `id` was the reason.
                let written = self.create_without_id(key, path, body, trail).await?;
                self.ids
                    .note(company, set, IdAnswer::Refused, FoundBy::Create)
                    .await?;
                Ok(written)
            }
            Err(e) => Err(external(Some(key), e)),
        }
    }

    async fn create_without_id(
        &self,
        key: &RecordKey,
        path: EntityPath,
        body: Map<String, Value>,
        trail: &mut Trail,
    ) -> Result<Written, StageError> {
        trail
            .sent
            .push(json!({"method": "POST", "path": path.collection_url(), "body": body}));
        let record = self
            .bc
            .create(path, body)
            .await
            .map_err(|e| external(Some(key), e))?;
        Ok(Written {
            record,
            action: Action::Created,
        })
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
