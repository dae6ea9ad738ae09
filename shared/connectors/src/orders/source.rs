//! Lightspeed sales, two streams:
//!
//! - **`Sale`**: sales whose `updatetime` moved since the cursor, oldest first, with the
//!   relations the flow needs in the same request (never a request per sale). Polled by
//!   `updatetime`, not the legacy `timeStamp`: a void does not move `timeStamp`
//!   (api-notes ORDERS-STOCK §6), so voids are seen whenever they happen.
//! - **`SaleWaiting`**: the sales the state store says are `waiting` (for their items) or
//!   `held` (a total BC disagrees with, a posting BC refused) or to be made again
//!   (`relink`), read again by id, up to 100
//!   in one request, on every poll — so a waiting sale is
//!   tried once per poll: no busy loop, no dead letter, and nothing else held back. Their
//!   records carry the time of the read under `lsbcWaitingPoll`, so each poll hands them
//!   on again (the transform ignores it; the command is the same).

use std::sync::Arc;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use lsbc_core::ports::{PageToken, ReadRange, Source, SourcePage, StateStore};
use lsbc_core::{Flow, Overlap, Record, RecordKey, SourceVersion, StageError};
use lsbc_lightspeed::query::{Condition, FilterValue};
use lsbc_lightspeed::{Archived, LightspeedClient, PageRequest, Query};
use serde_json::Value;

use crate::lightspeed::{
    changed_since_by, external, keyed_by, read_page_by, rejected_error, signpost,
};

/// Relations every sale is read with.
pub const RELATIONS: [&str; 8] = [
    "SaleLines",
    "SaleLines.Item",
    "SaleLines.Note",
    "SalePayments",
    "SalePayments.PaymentType",
    "Customer.Contact",
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

/// The state of sales an operator asked to be made again (`lsbc orders relink`).
pub const RELINK: &str = "relink";

/// The most sales the waiting stream reads again per poll (one request: `IN` takes 100).
pub const WAITING_PER_POLL: usize = 100;

/// The Lightspeed sale stream.
#[derive(Debug, Clone)]
pub struct SaleSource {
    client: LightspeedClient,
    overlap: SignedDuration,
}

impl SaleSource {
    /// The stream on `client`, re-reading `overlap` before the cursor on every poll.
    pub fn new(client: LightspeedClient, overlap: SignedDuration) -> Self {
        Self { client, overlap }
    }
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
    match page.records.into_iter().next() {
        Some(payload) => keyed_by(Flow::Orders, "Sale", "saleID", SALE_STAMPS, payload)
            .map(Some)
            .map_err(|r| rejected_error(&r)),
        None => Ok(None),
    }
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
        read_page_by(
            &self.client,
            Flow::Orders,
            "Sale",
            "saleID",
            SALE_STAMPS,
            query,
            page,
        )
        .await
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
        for state in [HELD, RELINK] {
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
        Ok(out)
    }

    async fn fetch(&self, key: &RecordKey) -> Result<Option<Record>, StageError> {
        fetch_sale(&self.client, key).await
    }
}
