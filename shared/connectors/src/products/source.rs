//! Lightspeed items and item matrices changed since the cursor, as products records.
//!
//! - The **`Item`** stream reads items by `timeStamp`. A simple item is the record
//!   `item:<itemID>` (the item as the API returned it). A variant item (`itemMatrixID` ≠ 0)
//!   stands for its matrix: the page's variants of one matrix become one record
//!   `matrix:<itemMatrixID>`, at the place of the last of them, with its `timeStamp` as
//!   version (so a page stays in ascending order and the cursor never jumps).
//! - The **`ItemMatrix`** stream reads matrices by `timeStamp`: a change made on the matrix
//!   itself (description, price, category) is caught even when Lightspeed does not move its
//!   variants' `timeStamp`.
//! - A **matrix record** is the matrix as `GET ItemMatrix/{id}` returns it, with `Items`
//!   replaced by all its variant items (archived ones included), each read with the item
//!   relations, in `itemID` order.
//! - `Item.timeStamp` does not move when stock changes (which the flow ignores) nor, as far
//!   as Lightspeed documents, when only an image is added: an image change is picked up
//!   with the item's next change.
//! - Archived items are read too: the settings decide what happens to them.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use lsbc_core::ports::{PageToken, ReadRange, Rejected, Source, SourcePage};
use lsbc_core::{Flow, Overlap, Record, RecordKey, SourceVersion, StageError};
use lsbc_lightspeed::model::{Item, ItemMatrix};
use lsbc_lightspeed::query::{Condition, FilterValue};
use lsbc_lightspeed::{Archived, Direction, LightspeedClient, LightspeedError, PageRequest, Query};
use serde_json::Value;

use super::aggregate::aggregate;
use super::keys::ProductKey;
use super::settings::ProductSettings;
use crate::config::ConfigCache;
use crate::kit::FlowSettings;
use crate::lightspeed::{changed_since, external, keyed, read_page, rejected_error, signpost};

/// Relations every item is read with (`ItemShops` is added when the settings filter by
/// shop).
pub const ITEM_RELATIONS: [&str; 6] = [
    "Category",
    "TaxClass",
    "ItemAttributes",
    "Images",
    "ItemECommerce",
    "CustomFieldValues",
];

/// Relations every matrix is read with (its variants are read as items).
pub const MATRIX_RELATIONS: [&str; 6] = [
    "Category",
    "TaxClass",
    "ItemAttributeSet",
    "Images",
    "ItemECommerce",
    "CustomFieldValues",
];

/// A guard against a `next` link that never ends.
const MAX_VARIANT_PAGES: usize = 1_000;

/// Which stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// `Item`: simple items, and matrices through their variants.
    Items,
    /// `ItemMatrix`: matrices.
    Matrices,
}

/// One Lightspeed stream of the products flow.
#[derive(Debug, Clone)]
pub struct ProductSource {
    client: LightspeedClient,
    overlap: SignedDuration,
    stream: Stream,
    config: Arc<ConfigCache>,
}

/// What a page of items becomes, in page order.
#[derive(Debug, Clone, PartialEq)]
enum Planned {
    /// A simple item.
    Item(Record),
    /// A matrix, for one or more of its variants in the page; `version` is the last one's.
    Matrix { id: u64, version: SourceVersion },
}

fn matrix_id(payload: &Value) -> Option<u64> {
    payload
        .get("itemMatrixID")
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<u64>().ok())
        .filter(|id| *id > 0)
}

fn prefixed(record: Record, key: ProductKey) -> Result<Record, StageError> {
    Ok(Record {
        key: key.record_key()?,
        ..record
    })
}

/// Plans a page of raw items: simple items as themselves, the variants of one matrix as
/// that matrix once, where its last variant of the page stands. Items without a usable id
/// or `timeStamp` come back rejected, with the field at fault.
fn plan_page(records: Vec<Value>) -> Result<(Vec<Planned>, Vec<Rejected>), StageError> {
    let mut keyed_records = Vec::with_capacity(records.len());
    let mut rejected = Vec::new();
    for payload in records {
        match keyed(Flow::Products, "Item", "itemID", payload) {
            Ok(record) => keyed_records.push(record),
            Err(r) => rejected.push(*r),
        }
    }
    let mut last: BTreeMap<u64, usize> = BTreeMap::new();
    for (i, record) in keyed_records.iter().enumerate() {
        if let Some(m) = matrix_id(&record.payload) {
            last.insert(m, i);
        }
    }
    let mut out = Vec::with_capacity(keyed_records.len());
    for (i, record) in keyed_records.into_iter().enumerate() {
        match matrix_id(&record.payload) {
            Some(m) if last.get(&m) == Some(&i) => out.push(Planned::Matrix {
                id: m,
                version: record.version,
            }),
            Some(_) => {}
            None => match record.key.as_str().parse::<u64>() {
                Ok(id) => out.push(Planned::Item(prefixed(record, ProductKey::Item(id))?)),
                Err(_) => rejected.push(Rejected {
                    key: record.key.clone(),
                    field: "itemID".into(),
                    reason: format!("item id `{}` is not a number", record.key),
                    payload: record.payload,
                }),
            },
        }
    }
    Ok((out, rejected))
}

fn version_of(payload: &Value) -> Option<SourceVersion> {
    payload
        .get("timeStamp")
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<Timestamp>().ok())
        .map(SourceVersion::Timestamp)
}

impl ProductSource {
    /// The `Item` stream (the flow's main source: its `fetch` re-reads any products record).
    pub fn items(
        client: LightspeedClient,
        overlap: SignedDuration,
        config: Arc<ConfigCache>,
    ) -> Self {
        Self {
            client,
            overlap,
            stream: Stream::Items,
            config,
        }
    }

    /// The `ItemMatrix` stream.
    pub fn matrices(
        client: LightspeedClient,
        overlap: SignedDuration,
        config: Arc<ConfigCache>,
    ) -> Self {
        Self {
            client,
            overlap,
            stream: Stream::Matrices,
            config,
        }
    }

    /// The relations items are read with under the current settings.
    async fn item_relations(&self) -> Result<Vec<&'static str>, StageError> {
        let config = self.config.get(Flow::Products).await?;
        let settings = ProductSettings::from_stored(Some(&config.settings))
            .map_err(|e| StageError::Config(e.to_string()))?;
        let mut relations = ITEM_RELATIONS.to_vec();
        if !settings.only_shops.is_empty() {
            relations.push("ItemShops");
        }
        Ok(relations)
    }

    /// Every variant item of matrix `id`, archived ones included, in `itemID` order.
    async fn variants_of(&self, id: u64, relations: &[&str]) -> Result<Vec<Value>, StageError> {
        let query = Query::new()
            .eq("itemMatrixID", id)
            .relations(relations.iter().copied())
            .archived(Archived::Include)
            .sort("itemID", Direction::Asc)
            .limit(100);
        let mut request = PageRequest::First(query);
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for _ in 0..MAX_VARIANT_PAGES {
            let page = self
                .client
                .page_raw("Item", request)
                .await
                .map_err(external)?;
            out.extend(page.records);
            match page.next {
                Some(next) if seen.insert(next.clone()) => request = PageRequest::Link(next),
                _ => return Ok(out),
            }
        }
        Err(StageError::External(lsbc_core::ExternalError::new(
            lsbc_core::System::Lightspeed,
            lsbc_core::ExternalKind::Transient,
            format!("the variants of matrix {id} did not end after {MAX_VARIANT_PAGES} pages"),
        )))
    }

    /// Every variant item of the matrices `ids` (at most 100), archived ones included, by
    /// matrix, in `itemID` order: one `IN` query for all of them, page after page, instead
    /// of one query per matrix.
    async fn variants_of_all(
        &self,
        ids: &[u64],
        relations: &[&str],
    ) -> Result<BTreeMap<u64, Vec<Value>>, StageError> {
        let mut out: BTreeMap<u64, Vec<Value>> = ids.iter().map(|id| (*id, Vec::new())).collect();
        if ids.is_empty() {
            return Ok(out);
        }
        let query = Query::new()
            .filter(
                "itemMatrixID",
                Condition::In(ids.iter().copied().map(FilterValue::from).collect()),
            )
            .relations(relations.iter().copied())
            .archived(Archived::Include)
            .sort("itemID", Direction::Asc)
            .limit(100);
        let mut request = PageRequest::First(query);
        let mut seen = HashSet::new();
        for _ in 0..MAX_VARIANT_PAGES {
            let page = self
                .client
                .page_raw("Item", request)
                .await
                .map_err(external)?;
            for item in page.records {
                if let Some(m) = matrix_id(&item) {
                    out.entry(m).or_default().push(item);
                }
            }
            match page.next {
                Some(next) if seen.insert(next.clone()) => request = PageRequest::Link(next),
                _ => return Ok(out),
            }
        }
        Err(StageError::External(lsbc_core::ExternalError::new(
            lsbc_core::System::Lightspeed,
            lsbc_core::ExternalKind::Transient,
            format!(
                "the variants of {} matrices did not end after {MAX_VARIANT_PAGES} pages",
                ids.len()
            ),
        )))
    }

    /// The matrices `ids` (at most 100) as the API returns them, by id, in one `IN` query;
    /// one that no longer exists is absent.
    async fn matrices_by_id(&self, ids: &[u64]) -> Result<BTreeMap<u64, Value>, StageError> {
        if ids.is_empty() {
            return Ok(BTreeMap::new());
        }
        let query = Query::new()
            .filter(
                "itemMatrixID",
                Condition::In(ids.iter().copied().map(FilterValue::from).collect()),
            )
            .relations(MATRIX_RELATIONS)
            .archived(Archived::Include)
            .limit(100);
        let page = self
            .client
            .page_raw("ItemMatrix", PageRequest::First(query))
            .await
            .map_err(external)?;
        Ok(page
            .records
            .into_iter()
            .filter_map(|m| {
                let id = m.get("itemMatrixID")?.as_str()?.parse::<u64>().ok()?;
                Some((id, m))
            })
            .collect())
    }

    /// The record of matrix `id` from its raw matrix; `version` = the given one, or the
    /// latest `timeStamp` of the matrix and its variants.
    async fn matrix_record(
        &self,
        id: u64,
        matrix: Value,
        version: Option<SourceVersion>,
        relations: &[&str],
    ) -> Result<Record, StageError> {
        let key = ProductKey::Matrix(id).record_key()?;
        let variants = self.variants_of(id, relations).await?;
        let version = match version {
            Some(v) => v,
            None => std::iter::once(&matrix)
                .chain(variants.iter())
                .filter_map(version_of)
                .reduce(|a, b| if b.is_newer_than(&a) { b } else { a })
                .ok_or_else(|| StageError::InvalidRecord {
                    key: key.clone(),
                    field: "timeStamp".into(),
                    reason: "the matrix has no timeStamp".into(),
                })?,
        };
        Ok(Record {
            flow: Flow::Products,
            key,
            version,
            payload: aggregate(matrix, variants),
        })
    }

    /// Reads matrix `id` and its variants (`None` if the matrix no longer exists).
    async fn read_matrix(
        &self,
        id: u64,
        version: Option<SourceVersion>,
        relations: &[&str],
    ) -> Result<Option<Record>, StageError> {
        match self.client.get::<ItemMatrix>(id, &MATRIX_RELATIONS).await {
            Ok(found) => Ok(Some(
                self.matrix_record(id, found.raw, version, relations)
                    .await?,
            )),
            Err(LightspeedError::Api { status: 404, .. }) => Ok(None),
            Err(e) => Err(external(e)),
        }
    }

    async fn read_items_page(
        &self,
        range: &ReadRange,
        page: Option<&PageToken>,
    ) -> Result<SourcePage, StageError> {
        let relations = self.item_relations().await?;
        let request = match page {
            Some(token) => PageRequest::Link(token.0.clone()),
            None => PageRequest::First(changed_since(range, &relations, Archived::Include)),
        };
        let raw = self
            .client
            .page_raw("Item", request)
            .await
            .map_err(external)?;
        let (planned, rejected) = plan_page(raw.records)?;
        // The page's matrices and all their variants: two requests, whatever their number.
        let ids: Vec<u64> = planned
            .iter()
            .filter_map(|p| match p {
                Planned::Matrix { id, .. } => Some(*id),
                Planned::Item(_) => None,
            })
            .collect();
        let mut matrices = self.matrices_by_id(&ids).await?;
        let mut variants = self.variants_of_all(&ids, &relations).await?;
        let mut records = Vec::with_capacity(planned.len());
        for planned in planned {
            match planned {
                Planned::Item(record) => records.push(record),
                Planned::Matrix { id, version } => {
                    if let Some(matrix) = matrices.remove(&id) {
                        records.push(Record {
                            flow: Flow::Products,
                            key: ProductKey::Matrix(id).record_key()?,
                            version,
                            payload: aggregate(matrix, variants.remove(&id).unwrap_or_default()),
                        });
                    } else {
                        tracing::warn!(
                            flow = %Flow::Products,
                            matrix = id,
                            "A variant's matrix no longer exists; left out."
                        );
                    }
                }
            }
        }
        Ok(SourcePage {
            records,
            next: raw.next.map(PageToken),
            rejected,
        })
    }

    async fn read_matrices_page(
        &self,
        range: &ReadRange,
        page: Option<&PageToken>,
    ) -> Result<SourcePage, StageError> {
        let relations = self.item_relations().await?;
        let query = changed_since(range, &MATRIX_RELATIONS, Archived::Include);
        let matrices = read_page(
            &self.client,
            Flow::Products,
            "ItemMatrix",
            "itemMatrixID",
            query,
            page,
        )
        .await?;
        let mut records = Vec::with_capacity(matrices.records.len());
        let mut rejected = matrices.rejected;
        let mut numbered = Vec::with_capacity(matrices.records.len());
        for record in matrices.records {
            let Ok(id) = record.key.as_str().parse::<u64>() else {
                rejected.push(Rejected {
                    key: record.key.clone(),
                    field: "itemMatrixID".into(),
                    reason: format!("matrix id `{}` is not a number", record.key),
                    payload: record.payload,
                });
                continue;
            };
            numbered.push((id, record));
        }
        // All their variants in one query (and its pages), not one query per matrix.
        let ids: Vec<u64> = numbered.iter().map(|(id, _)| *id).collect();
        let mut variants = self.variants_of_all(&ids, &relations).await?;
        for (id, record) in numbered {
            records.push(Record {
                flow: Flow::Products,
                key: ProductKey::Matrix(id).record_key()?,
                version: record.version,
                payload: aggregate(record.payload, variants.remove(&id).unwrap_or_default()),
            });
        }
        Ok(SourcePage {
            records,
            next: matrices.next,
            rejected,
        })
    }
}

#[async_trait]
impl Source for ProductSource {
    fn flow(&self) -> Flow {
        Flow::Products
    }

    fn stream(&self) -> &'static str {
        match self.stream {
            Stream::Items => "Item",
            Stream::Matrices => "ItemMatrix",
        }
    }

    fn overlap(&self) -> Overlap {
        Overlap::Time(self.overlap)
    }

    async fn signpost(&self, now: Timestamp) -> Result<SourceVersion, StageError> {
        Ok(signpost(now))
    }

    async fn read_page(
        &self,
        range: &ReadRange,
        page: Option<&PageToken>,
    ) -> Result<SourcePage, StageError> {
        match self.stream {
            Stream::Items => self.read_items_page(range, page).await,
            Stream::Matrices => self.read_matrices_page(range, page).await,
        }
    }

    async fn fetch(&self, key: &RecordKey) -> Result<Option<Record>, StageError> {
        let relations = self.item_relations().await?;
        match ProductKey::parse(key.as_str()) {
            Some(ProductKey::Item(id)) => match self.client.get::<Item>(id, &relations).await {
                Ok(found) => match matrix_id(&found.raw) {
                    Some(m) => self.read_matrix(m, None, &relations).await,
                    None => keyed(Flow::Products, "Item", "itemID", found.raw)
                        .map_err(|r| rejected_error(&r))
                        .and_then(|r| prefixed(r, ProductKey::Item(id)))
                        .map(Some),
                },
                Err(LightspeedError::Api { status: 404, .. }) => Ok(None),
                Err(e) => Err(external(e)),
            },
            Some(ProductKey::Matrix(id)) => self.read_matrix(id, None, &relations).await,
            Some(ProductKey::Variants { .. }) | None => Err(StageError::InvalidRecord {
                key: key.clone(),
                field: "(key)".into(),
                reason: "not a products record key (item:<itemID> or matrix:<itemMatrixID>)".into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn item(id: u64, matrix: u64, ts: &str) -> Value {
        json!({"itemID": id.to_string(), "itemMatrixID": matrix.to_string(), "timeStamp": ts})
    }

    #[test]
    fn a_page_plans_each_matrix_once_where_its_last_variant_stands() {
        let plan = plan_page(vec![
            item(1, 0, "2026-01-01T00:00:01+00:00"),
            item(5, 9, "2026-01-01T00:00:02+00:00"),
            item(2, 0, "2026-01-01T00:00:03+00:00"),
            item(6, 9, "2026-01-01T00:00:04+00:00"),
            json!({"itemID": "7"}),
            item(3, 0, "2026-01-01T00:00:05+00:00"),
        ])
        .unwrap();
        let (plan, rejected) = plan;
        let summary: Vec<String> = plan
            .iter()
            .map(|p| match p {
                Planned::Item(r) => format!("{}@{}", r.key, r.version),
                Planned::Matrix { id, version } => format!("matrix {id}@{version}"),
            })
            .collect();
        assert_eq!(
            summary,
            [
                "item:1@2026-01-01T00:00:01Z",
                "item:2@2026-01-01T00:00:03Z",
                "matrix 9@2026-01-01T00:00:04Z",
                "item:3@2026-01-01T00:00:05Z",
            ]
        );
        // The item without a time stamp is parked by the poll, naming the field.
        assert_eq!(rejected.len(), 1);
        assert_eq!(
            (rejected[0].key.as_str(), rejected[0].field.as_str()),
            ("7", "timeStamp")
        );
    }
}
