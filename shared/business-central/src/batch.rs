//! JSON `$batch` (D: dev-itpro/webservices/use-odata-batch.md; fixtures
//! batch.request.isolation-snapshot.json, fixture.rebelpl.batch.json): operations, the
//! request body, the per-operation answers, and splitting into requests of at most 100
//! operations (D: operational-limits-online.md). It must not send anything.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::entity::{EntityPath, Record};
use crate::error::ApiError;
use crate::error::ValidationError;
use crate::odata::ETag;
use crate::validate::{self, Operation};

/// Most operations BC online takes in one `$batch`.
pub const MAX_BATCH_OPERATIONS: usize = 100;

/// Whether a `$batch` must succeed or fail as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Atomicity {
    /// Each operation stands alone; larger sets are split into requests of 100.
    Independent,
    /// All or nothing (`Isolation: snapshot`, BC 17.1+); more than 100 operations are refused
    /// before sending, because two requests cannot share one transaction.
    All,
    /// Split into requests of 100, each all-or-nothing on its own.
    PerRequest,
}

/// One operation of a batch, targeting the configured company.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchOperation {
    pub(crate) method: &'static str,
    pub(crate) path: EntityPath,
    pub(crate) id: Option<Uuid>,
    pub(crate) suffix: Option<String>,
    pub(crate) etag: Option<ETag>,
    pub(crate) body: Option<Map<String, Value>>,
}

impl BatchOperation {
    /// POST a new entity.
    pub fn create(path: impl Into<EntityPath>, body: Map<String, Value>) -> Self {
        Self {
            method: "POST",
            path: path.into(),
            id: None,
            suffix: None,
            etag: None,
            body: Some(body),
        }
    }

    /// PATCH an entity with its etag.
    pub fn update(
        path: impl Into<EntityPath>,
        id: Uuid,
        etag: ETag,
        changes: Map<String, Value>,
    ) -> Self {
        Self {
            method: "PATCH",
            path: path.into(),
            id: Some(id),
            suffix: None,
            etag: Some(etag),
            body: Some(changes),
        }
    }

    /// DELETE an entity with its etag.
    pub fn delete(path: impl Into<EntityPath>, id: Uuid, etag: ETag) -> Self {
        Self {
            method: "DELETE",
            path: path.into(),
            id: Some(id),
            suffix: None,
            etag: Some(etag),
            body: None,
        }
    }

    /// GET one entity.
    pub fn get(path: impl Into<EntityPath>, id: Uuid) -> Self {
        Self {
            method: "GET",
            path: path.into(),
            id: Some(id),
            suffix: None,
            etag: None,
            body: None,
        }
    }

    /// POST a bound action (`Microsoft.NAV.post`).
    pub fn action(path: impl Into<EntityPath>, id: Uuid, action: &str) -> Self {
        Self {
            method: "POST",
            path: path.into(),
            id: Some(id),
            suffix: Some(format!("Microsoft.NAV.{action}")),
            etag: None,
            body: None,
        }
    }

    pub(crate) fn validate(&self) -> Result<(), ValidationError> {
        let operation = match (self.method, self.id) {
            ("POST", None) => Operation::Create,
            ("PATCH", _) => Operation::Update,
            _ => return Ok(()),
        };
        match &self.body {
            Some(body) => {
                validate::validate_under(self.path.parent_set(), self.path.set(), operation, body)
            }
            None => Ok(()),
        }
    }

    pub(crate) fn is_idempotent(&self) -> bool {
        matches!(self.method, "GET" | "PATCH" | "DELETE")
    }

    pub(crate) fn relative_url(&self, company: Uuid) -> String {
        let mut url = format!("companies({company})/");
        match self.id {
            Some(id) => url.push_str(&self.path.entity_url(id)),
            None => url.push_str(&self.path.collection_url()),
        }
        if let Some(suffix) = &self.suffix {
            url.push('/');
            url.push_str(suffix);
        }
        url
    }
}

#[derive(Serialize)]
pub(crate) struct WireRequest<'a> {
    pub(crate) method: &'a str,
    pub(crate) id: String,
    pub(crate) url: String,
    pub(crate) headers: BTreeMap<&'static str, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) body: Option<&'a Map<String, Value>>,
}

#[derive(Serialize)]
pub(crate) struct WireBatch<'a> {
    pub(crate) requests: Vec<WireRequest<'a>>,
}

#[derive(Deserialize)]
pub(crate) struct WireAnswer {
    #[serde(default)]
    pub(crate) responses: Vec<WireResponse>,
}

#[derive(Deserialize)]
pub(crate) struct WireResponse {
    /// `null` in the docs sample (batch.response.normalized.json).
    #[serde(default)]
    pub(crate) id: Option<String>,
    pub(crate) status: u16,
    #[serde(default)]
    pub(crate) headers: BTreeMap<String, String>,
    #[serde(default)]
    pub(crate) body: Option<Value>,
}

/// The answer to one operation.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchResponse {
    /// The operation's position in the caller's list.
    pub index: usize,
    /// Its HTTP status.
    pub status: u16,
    /// Its headers (lower-case names).
    pub headers: BTreeMap<String, String>,
    /// Its body, if any.
    pub body: Option<Value>,
    /// True when the operation succeeded on its own but its atomic request failed elsewhere,
    /// so BC rolled it back.
    pub rolled_back: bool,
}

impl BatchResponse {
    /// 2xx and not rolled back.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status) && !self.rolled_back
    }

    /// BC's error, for a failed operation.
    pub fn error(&self) -> Option<ApiError> {
        if (200..300).contains(&self.status) {
            return None;
        }
        let bytes = self
            .body
            .as_ref()
            .and_then(|b| serde_json::to_vec(b).ok())
            .unwrap_or_default();
        Some(ApiError::from_body(self.status, &bytes, None))
    }

    /// The entity in the body, for a successful create/update/get.
    pub fn record(&self) -> Option<Record> {
        match &self.body {
            Some(Value::Object(object)) if self.is_success() => {
                Some(Record::from_object(object.clone()))
            }
            _ => None,
        }
    }
}

/// Splits operations into requests for `atomicity`.
pub(crate) fn chunks(
    count: usize,
    atomicity: Atomicity,
) -> Result<Vec<std::ops::Range<usize>>, ValidationError> {
    if atomicity == Atomicity::All && count > MAX_BATCH_OPERATIONS {
        return Err(ValidationError::new(
            "$batch",
            "requests",
            validate::Rule::BatchTooLarge {
                max: MAX_BATCH_OPERATIONS,
                actual: count,
            },
        ));
    }
    Ok((0..count)
        .step_by(MAX_BATCH_OPERATIONS)
        .map(|start| start..(start + MAX_BATCH_OPERATIONS).min(count))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::EntitySet;

    #[test]
    fn sets_split_into_requests_of_at_most_100() {
        let sizes = |n, a| {
            chunks(n, a)
                .unwrap()
                .into_iter()
                .map(|r| r.len())
                .collect::<Vec<_>>()
        };
        assert_eq!(sizes(100, Atomicity::All), vec![100]);
        assert_eq!(sizes(250, Atomicity::Independent), vec![100, 100, 50]);
        assert_eq!(sizes(101, Atomicity::PerRequest), vec![100, 1]);
        assert!(sizes(0, Atomicity::Independent).is_empty());
        let err = chunks(101, Atomicity::All).unwrap_err();
        assert_eq!(
            err.rule,
            validate::Rule::BatchTooLarge {
                max: 100,
                actual: 101
            }
        );
    }

    #[test]
    fn fixture_answers_decode() {
        for name in [
            "fixture.rebelpl.batch.json",
            "batch.response.normalized.json",
        ] {
            let path = format!(
                "{}/../../tests/fixtures/business-central/{name}",
                env!("CARGO_MANIFEST_DIR")
            );
            let answer: WireAnswer =
                serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
            assert!(!answer.responses.is_empty());
        }
    }

    #[test]
    fn the_wire_request_has_the_documented_shape() {
        // D: use-odata-batch.md; fixture batch.salesInvoiceLines.request.json.
        let company: Uuid = "3ab5c248-e72b-f011-9a4a-7c1e5275406f".parse().unwrap();
        let item: Uuid = "7ce0af2e-0963-460f-9b1f-0014aea3e117".parse().unwrap();
        let mut body = Map::new();
        body.insert("displayName".into(), "Touring Bicycle v2".into());
        let ops = [
            BatchOperation::update(EntitySet::Items, item, ETag::any(), body),
            BatchOperation::delete(EntitySet::Items, item, ETag::new("W/\"x\"")),
        ];
        let requests = ops
            .iter()
            .enumerate()
            .map(|(i, op)| {
                let mut headers = BTreeMap::new();
                if op.body.is_some() {
                    headers.insert("Content-Type", "application/json".to_owned());
                }
                if let Some(tag) = &op.etag {
                    headers.insert("If-Match", tag.to_string());
                }
                WireRequest {
                    method: op.method,
                    id: i.to_string(),
                    url: op.relative_url(company),
                    headers,
                    body: op.body.as_ref(),
                }
            })
            .collect();
        let wire = serde_json::to_value(WireBatch { requests }).unwrap();
        assert_eq!(
            wire,
            serde_json::json!({"requests": [
                {"method": "PATCH", "id": "0",
                 "url": "companies(3ab5c248-e72b-f011-9a4a-7c1e5275406f)/items(7ce0af2e-0963-460f-9b1f-0014aea3e117)",
                 "headers": {"Content-Type": "application/json", "If-Match": "*"},
                 "body": {"displayName": "Touring Bicycle v2"}},
                {"method": "DELETE", "id": "1",
                 "url": "companies(3ab5c248-e72b-f011-9a4a-7c1e5275406f)/items(7ce0af2e-0963-460f-9b1f-0014aea3e117)",
                 "headers": {"If-Match": "W/\"x\""}}
            ]})
        );
    }

    #[test]
    fn urls_are_relative_to_the_api_root() {
        let company: Uuid = "3ab5c248-e72b-f011-9a4a-7c1e5275406f".parse().unwrap();
        let id: Uuid = "a417d159-d936-f011-9a4a-7c1e5271c536".parse().unwrap();
        let op = BatchOperation::create(
            EntityPath::nested(EntitySet::SalesOrders, id, EntitySet::SalesOrderLines),
            Map::new(),
        );
        assert_eq!(
            op.relative_url(company),
            "companies(3ab5c248-e72b-f011-9a4a-7c1e5275406f)/salesOrders(a417d159-d936-f011-9a4a-7c1e5271c536)/salesOrderLines"
        );
        let op = BatchOperation::action(EntitySet::SalesInvoices, id, "post");
        assert!(
            op.relative_url(company).ends_with(
                "salesInvoices(a417d159-d936-f011-9a4a-7c1e5271c536)/Microsoft.NAV.post"
            )
        );
    }
}
