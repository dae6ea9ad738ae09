//! Lightspeed sales, two streams:
//!
//! - **`Sale`**: sales whose `updatetime` moved since the cursor, oldest first, with the
//!   relations the flow needs in the same request (never a request per sale). Polled by
//!   `updatetime`, not the legacy `timeStamp`: a void does not move `timeStamp`
//!   (api-notes ORDERS-STOCK §6), so voids are seen whenever they happen.
//! - **`SaleWaiting`**: the sales the state store says are `waiting` (for their items) or
//!   `held` (a total BC disagrees with, a posting BC refused), posted in the background
//!   (`posting`) or to be made again (`relink`), read again by id, up to 100
//!   in one request, on every poll — so a waiting sale is
//!   tried once per poll: no busy loop, no dead letter, and nothing else held back. Their
//!   records carry the time of the read under `lsbcWaitingPoll`, so each poll hands them
//!   on again (the transform ignores it; the command is the same).

use std::sync::Arc;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use lsbc_core::StoreError;
use lsbc_core::ports::{PageToken, ReadRange, RecordState, Source, SourcePage, StateStore};
use lsbc_core::{Flow, Overlap, Record, RecordKey, SourceVersion, StageError};
use lsbc_lightspeed::query::{Condition, FilterValue};
use lsbc_lightspeed::{Archived, LightspeedClient, PageRequest, Query};
use serde_json::Value;

use super::moves::{Boxes, STOCK, box_single, sold_boxes, stock_moves};
use crate::lightspeed::{
    changed_since_by, external, keyed_by, read_page_by, rejected_error, signpost,
};

/// Relations every sale is read with.
pub const RELATIONS: [&str; 10] = [
    "SaleLines",
    "SaleLines.Item",
    "SaleLines.Note",
    "SalePayments",
    "SalePayments.PaymentType",
    "Customer",
    "Customer.Contact",
    "ShipTo",
    "ShipTo.Contact",
    "Shop",
];

/// The field `Sale` is polled by (and sorted on: the API's sortable-field list spells it
/// in lower case).
pub const UPDATE_TIME: &str = "updatetime";

/// Where a sale's version is read: `updatetime`, as an older docs sample spells it
/// `updateTime`, and the legacy `timeStamp` for a sale that has neither.
pub const SALE_STAMPS: &[&str] = &["updatetime", "updateTime", "timeStamp"];

/// The state of sales waiting for their items.
pub const WAITING: &str = "waiting";

/// The state of sales whose documents BC disagrees with (checked again on every poll).
pub const HELD: &str = "held";

/// The state of sales whose invoice BC posts in the background (checked on every poll).
pub const POSTING: &str = "posting";

/// The state of sales an operator asked to be made again (`lsbc orders relink`).
pub const RELINK: &str = "relink";

/// The most sales the waiting stream reads again per poll (one request: `IN` takes 100).
pub const WAITING_PER_POLL: usize = 100;

/// The Lightspeed sale stream.
#[derive(Clone)]
pub struct SaleSource {
    client: LightspeedClient,
    overlap: SignedDuration,
    states: Arc<dyn StateStore>,
}

impl std::fmt::Debug for SaleSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaleSource")
            .field("overlap", &self.overlap)
            .finish_non_exhaustive()
    }
}

impl SaleSource {
    /// The stream on `client`, re-reading `overlap` before the cursor on every poll; a
    /// completed sale read for the first time gets a `discovered` state in `states` with
    /// its stock moves.
    pub fn new(
        client: LightspeedClient,
        overlap: SignedDuration,
        states: Arc<dyn StateStore>,
    ) -> Self {
        Self {
            client,
            overlap,
            states,
        }
    }

    /// Gives each completed sale of the page that has no state yet a `discovered` one with
    /// its stock moves, before the page is handed on: once the cursor passed a sale, the
    /// stock flow knows what it took from Lightspeed's shelves. A state written meanwhile
    /// by the push stage wins (the write is conditional on there being none).
    async fn discover(&self, records: &[Record]) -> Result<(), StageError> {
        let now = Timestamp::now();
        let sales: Vec<(&Record, lsbc_lightspeed::model::Sale)> = records
            .iter()
            .filter_map(|r| Some((r, lsbc_lightspeed::model::Sale::from_json(&r.payload).ok()?)))
            .collect();
        let boxes = self
            .box_singles(&sold_boxes(sales.iter().map(|(_, s)| s)))
            .await?;
        for (record, sale) in sales {
            let moves = stock_moves(&sale, &boxes);
            if moves.is_empty() {
                continue;
            }
            let mut state = RecordState::new(Flow::Orders, record.key.clone(), DISCOVERED, now);
            state.reason = format!("sale {} seen in Lightspeed", sale.sale_id);
            state.detail.insert(
                STOCK.to_owned(),
                serde_json::to_value(moves).unwrap_or_default(),
            );
            match self.states.put_state(&state).await {
                Ok(_) | Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// The singles of the box items `boxes` (their `ItemComponents`), one request per 100
    /// boxes and none when no box was sold. A box without components is left out: its sale
    /// then moves the box itself.
    async fn box_singles(&self, boxes: &[u64]) -> Result<Boxes, StageError> {
        let mut out = Boxes::new();
        for chunk in boxes.chunks(100) {
            let query = Query::new()
                .filter(
                    "itemID",
                    Condition::In(chunk.iter().copied().map(FilterValue::from).collect()),
                )
                .relations(["ItemComponents"])
                .limit(100);
            let page = self
                .client
                .page_raw("Item", PageRequest::First(query))
                .await
                .map_err(external)?;
            for raw in &page.records {
                let id = raw
                    .get("itemID")
                    .and_then(Value::as_str)
                    .and_then(|t| t.parse::<u64>().ok());
                match (id, box_single(raw)) {
                    (Some(id), Some(single)) => {
                        out.insert(id, single);
                    }
                    (id, _) => tracing::warn!(
                        flow = %Flow::Orders, lightspeed_item = ?id,
                        "A box item sold has no single (ItemComponents): its sale is counted against the box itself."
                    ),
                }
            }
        }
        Ok(out)
    }
}

/// The state of a sale read by the poll and not pushed yet.
pub const DISCOVERED: &str = "discovered";

/// The field a sale's record gains when it refunds lines of earlier sales: their `saleID`s
/// and the `createTime` of the lines refunded, read in one `SaleLine` request per page (a
/// refund line names only its parent line).
pub const REFUNDS_SALES: &str = "lsbcRefundsSales";

/// Adds [`REFUNDS_SALES`] to the records that refund earlier sales' lines: one request for
/// all the parent lines of the page (up to 100; more in further requests).
async fn annotate_refunds(
    client: &LightspeedClient,
    records: &mut [Record],
) -> Result<(), StageError> {
    let mut wanted: Vec<(usize, u64)> = Vec::new();
    for (n, record) in records.iter().enumerate() {
        let Ok(sale) = lsbc_lightspeed::model::Sale::from_json(&record.payload) else {
            continue;
        };
        for line in &sale.sale_lines {
            if line.unit_quantity.is_sign_negative()
                && let Some(parent) = line.parent_sale_line_id
            {
                wanted.push((n, parent.get()));
            }
        }
    }
    if wanted.is_empty() {
        return Ok(());
    }
    let mut ids: Vec<u64> = wanted.iter().map(|(_, id)| *id).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut sale_of = std::collections::HashMap::new();
    for chunk in ids.chunks(100) {
        let query = Query::new()
            .filter(
                "saleLineID",
                Condition::In(chunk.iter().copied().map(FilterValue::from).collect()),
            )
            .limit(100);
        let page = client
            .page_raw("SaleLine", PageRequest::First(query))
            .await
            .map_err(external)?;
        for line in page.records {
            if let (Some(id), Some(sale)) = (
                line.get("saleLineID").and_then(Value::as_str),
                line.get("saleID").and_then(Value::as_str),
            ) {
                let at = line.get("createTime").cloned().unwrap_or(Value::Null);
                sale_of.insert(id.to_owned(), (sale.to_owned(), at));
            }
        }
    }
    for (n, parent) in wanted {
        let Some((sale, at)) = sale_of.get(&parent.to_string()) else {
            continue;
        };
        if let Value::Object(o) = &mut records[n].payload {
            let list = o
                .entry(REFUNDS_SALES)
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(items) = list
                && !items
                    .iter()
                    .any(|v| v["saleID"].as_str() == Some(sale.as_str()))
            {
                items.push(serde_json::json!({"saleID": sale, "createTime": at}));
            }
        }
    }
    Ok(())
}

/// Reads one sale again by id (`None` when Lightspeed has none).
async fn fetch_sale(
    client: &LightspeedClient,
    key: &RecordKey,
) -> Result<Option<Record>, StageError> {
    let id: u64 = key
        .as_str()
        .parse()
        .map_err(|_| StageError::InvalidRecord {
            key: key.clone(),
            field: "saleID".into(),
            reason: "not a Lightspeed sale id".into(),
        })?;
    let query = Query::new()
        .eq("saleID", id)
        .relations(RELATIONS)
        .archived(Archived::Include)
        .limit(1);
    let page = client
        .page_raw("Sale", PageRequest::First(query))
        .await
        .map_err(external)?;
    let Some(payload) = page.records.into_iter().next() else {
        return Ok(None);
    };
    let record = keyed_by(Flow::Orders, "Sale", "saleID", SALE_STAMPS, payload)
        .map_err(|r| rejected_error(&r))?;
    let mut records = [record];
    annotate_refunds(client, &mut records).await?;
    let [record] = records;
    Ok(Some(record))
}

#[async_trait]
impl Source for SaleSource {
    fn flow(&self) -> Flow {
        Flow::Orders
    }

    fn stream(&self) -> &'static str {
        "Sale"
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
        // Archived (voided) sales too: a void must reach Business Central.
        let query = changed_since_by(UPDATE_TIME, range, &RELATIONS, Archived::Include);
        let mut out = read_page_by(
            &self.client,
            Flow::Orders,
            "Sale",
            "saleID",
            SALE_STAMPS,
            query,
            page,
        )
        .await?;
        annotate_refunds(&self.client, &mut out.records).await?;
        self.discover(&out.records).await?;
        Ok(out)
    }

    async fn fetch(&self, key: &RecordKey) -> Result<Option<Record>, StageError> {
        fetch_sale(&self.client, key).await
    }
}

/// The stream of sales waiting for their items.
#[derive(Clone)]
pub struct WaitingSaleSource {
    client: LightspeedClient,
    states: Arc<dyn StateStore>,
}

impl std::fmt::Debug for WaitingSaleSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaitingSaleSource").finish_non_exhaustive()
    }
}

impl WaitingSaleSource {
    /// The stream on `client`, listing waiting sales in `states`.
    pub fn new(client: LightspeedClient, states: Arc<dyn StateStore>) -> Self {
        Self { client, states }
    }
}

#[async_trait]
impl Source for WaitingSaleSource {
    fn flow(&self) -> Flow {
        Flow::Orders
    }

    fn stream(&self) -> &'static str {
        "SaleWaiting"
    }

    fn overlap(&self) -> Overlap {
        Overlap::Time(SignedDuration::ZERO)
    }

    async fn signpost(&self, now: Timestamp) -> Result<SourceVersion, StageError> {
        Ok(signpost(now))
    }

    async fn read_page(
        &self,
        range: &ReadRange,
        _page: Option<&PageToken>,
    ) -> Result<SourcePage, StageError> {
        let mut waiting = self
            .states
            .list_states(Flow::Orders, WAITING, WAITING_PER_POLL)
            .await?;
        for state in [HELD, POSTING, RELINK] {
            let room = WAITING_PER_POLL.saturating_sub(waiting.len());
            if room > 0 {
                waiting.extend(self.states.list_states(Flow::Orders, state, room).await?);
            }
        }
        if waiting.is_empty() {
            return Ok(SourcePage::default());
        }
        let ids: Vec<FilterValue> = waiting
            .iter()
            .filter_map(|s| s.key.as_str().parse::<u64>().ok())
            .map(FilterValue::from)
            .collect();
        let query = Query::new()
            .filter("saleID", Condition::In(ids))
            .relations(RELATIONS)
            .archived(Archived::Include)
            .limit(100);
        let raw = self
            .client
            .page_raw("Sale", PageRequest::First(query))
            .await
            .map_err(external)?;
        let mut out = SourcePage::default();
        let read_at = Timestamp::now().to_string();
        for mut payload in raw.records {
            if let Value::Object(o) = &mut payload {
                o.insert("lsbcWaitingPoll".into(), Value::String(read_at.clone()));
            }
            match keyed_by(Flow::Orders, "Sale", "saleID", SALE_STAMPS, payload) {
                Ok(mut record) => {
                    // Handed on at the poll's signpost: the cursor of this stream is only
                    // where the last poll stood.
                    record.version = range.to.clone();
                    out.records.push(record);
                }
                Err(rejected) => out.rejected.push(*rejected),
            }
        }
        annotate_refunds(&self.client, &mut out.records).await?;
        Ok(out)
    }

    async fn fetch(&self, key: &RecordKey) -> Result<Option<Record>, StageError> {
        fetch_sale(&self.client, key).await
    }
}
