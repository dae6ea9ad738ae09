//! Business Central's stock changes, two streams:
//!
//! - **`ItemLedgerEntry`**: every item ledger entry (sales, purchases, transfers,
//!   adjustments, corrections: all entry types), by entry number, oldest first. Entry
//!   numbers come from a SQL sequence: they have gaps, and a long posting's entries become
//!   visible after higher ones (api-notes FIDELITY #2). So each poll reads again from
//!   `ledger_window` numbers below the highest one it has read (the cursor's overlap), and
//!   the cursor's marks keep entries already handed on from going again: an entry that
//!   appears late inside the window is handed on, one seen before is not. Read from page 38
//!   "Item Ledger Entries" published as an OData V4 web service (per location and
//!   variant), or from API v2.0 `itemLedgerEntries` with `quantities: api_inventory`.
//! - **`SalesOrder`**: sales orders changed since the cursor (`lastModifiedDateTime`),
//!   with their lines: an order's outstanding quantity is deducted by the default formula.
//!
//! Records are entries and orders; the transform turns each into a recompute of its items.

use std::sync::Arc;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use lsbc_business_central::odata::{Filter, Query};
use lsbc_business_central::{BusinessCentral, EntitySet, Page, Record as BcRecord};
use lsbc_core::ports::{CursorStore, PageToken, ReadRange, Rejected, Source, SourcePage};
use lsbc_core::{Flow, Overlap, Record, RecordKey, SourceVersion, StageError};
use serde_json::{Value, json};

use super::settings::Quantities;
use crate::business_central::external;

/// The ledger stream's name.
pub const LEDGER_STREAM: &str = "ItemLedgerEntry";
/// The sales order stream's name.
pub const ORDER_STREAM: &str = "SalesOrder";

/// Rows per ledger page asked for (`Prefer: odata.maxpagesize`).
const LEDGER_PAGE: u32 = 1_000;

/// Page 38's controls the stream reads.
const LEDGER_FIELDS: [&str; 7] = [
    "Entry_No",
    "Item_No",
    "Variant_Code",
    "Location_Code",
    "Quantity",
    "Entry_Type",
    "Posting_Date",
];

/// The item ledger stream.
#[derive(Clone)]
pub struct LedgerSource {
    bc: BusinessCentral,
    quantities: Quantities,
    service: String,
    window: u64,
    orders: Option<Arc<dyn CursorStore>>,
}

impl std::fmt::Debug for LedgerSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerSource")
            .field("quantities", &self.quantities)
            .field("service", &self.service)
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}

impl LedgerSource {
    /// The stream on `bc`, reading `quantities`' source (page 38 under `service`, or API
    /// v2.0), `window` entry numbers again on every poll.
    pub fn new(bc: BusinessCentral, quantities: Quantities, service: &str, window: u64) -> Self {
        Self {
            bc,
            quantities,
            service: service.to_owned(),
            window,
            orders: None,
        }
    }

    /// Refuses to poll until the orders flow (its cursors in `cursors`) has read
    /// Lightspeed's sales once: the sink subtracts what they took.
    #[must_use]
    pub fn waiting_for_orders(mut self, cursors: Option<Arc<dyn CursorStore>>) -> Self {
        self.orders = cursors;
        self
    }

    fn first_page_query(&self, from: Option<u64>) -> Query {
        let (number, fields): (&str, Vec<&str>) = match self.quantities {
            Quantities::LedgerPage => ("Entry_No", LEDGER_FIELDS.to_vec()),
            Quantities::ApiInventory => (
                "entryNumber",
                vec![
                    "entryNumber",
                    "itemNumber",
                    "quantity",
                    "entryType",
                    "postingDate",
                ],
            ),
        };
        let mut query = Query::new()
            .select(fields)
            .order_by(number, false)
            .max_page_size(LEDGER_PAGE);
        if let Some(from) = from {
            query = query.filter(Filter::ge(number, i64::try_from(from).unwrap_or(i64::MAX)));
        }
        query
    }

    async fn page(&self, query: Query, token: Option<&PageToken>) -> Result<Page, StageError> {
        let page = match (token, self.quantities) {
            (Some(token), _) => self.bc.next_page(&token.0).await,
            (None, Quantities::LedgerPage) => self.bc.web_service_page(&self.service, &query).await,
            (None, Quantities::ApiInventory) => {
                self.bc
                    .list_page(EntitySet::ItemLedgerEntries, &query)
                    .await
            }
        };
        page.map_err(|e| match e {
            e if crate::business_central::is_not_found(&e)
                && self.quantities == Quantities::LedgerPage =>
            {
                StageError::Config(format!(
                    "Business Central has no web service `{}`: publish page 38 \"Item Ledger Entries\" (Web Services → New → Object Type Page, Object ID 38, Service Name {}, Published), or set quantities to api_inventory for one shop ({e})",
                    self.service, self.service
                ))
            }
            e => external(None, e),
        })
    }

    /// A ledger row as the flow's record (one shape whichever source it came from).
    fn record(&self, row: &BcRecord) -> Result<Record, Rejected> {
        let f = |page: &str, api: &str| -> Value {
            let name = match self.quantities {
                Quantities::LedgerPage => page,
                Quantities::ApiInventory => api,
            };
            row.get(name).cloned().unwrap_or(Value::Null)
        };
        let entry = f("Entry_No", "entryNumber");
        let payload = json!({
            "entryNumber": entry,
            "itemNumber": f("Item_No", "itemNumber"),
            "variantCode": f("Variant_Code", "variantCode"),
            "locationCode": f("Location_Code", "locationCode"),
            "quantity": f("Quantity", "quantity"),
            "entryType": f("Entry_Type", "entryType"),
            "postingDate": f("Posting_Date", "postingDate"),
        });
        let rejected = |field: &str, reason: &str| Rejected {
            key: RecordKey::unidentified(&lsbc_core::ContentHash::of_json(&payload)),
            field: field.to_owned(),
            reason: reason.to_owned(),
            payload: payload.clone(),
        };
        let Some(number) = entry.as_u64() else {
            return Err(rejected("Entry_No", "not a positive entry number"));
        };
        if payload["itemNumber"].as_str().is_none_or(str::is_empty) {
            return Err(rejected("Item_No", "no item number"));
        }
        let key = RecordKey::parse(number.to_string())
            .map_err(|e| rejected("Entry_No", &e.to_string()))?;
        Ok(Record {
            flow: Flow::Stock,
            key,
            version: SourceVersion::Sequence(number),
            payload,
        })
    }
}

/// The newest entry of each item of a page, in entry order: one recompute per item and page
/// (a first poll over a whole ledger makes one per item, not one per entry). An entry left
/// out here and still inside the next poll's window is handed on then: one more recompute,
/// never one less.
fn last_per_item(records: Vec<Record>) -> Vec<Record> {
    let mut last: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (n, r) in records.iter().enumerate() {
        let item = r.payload["itemNumber"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        last.insert(item, n);
    }
    records
        .into_iter()
        .enumerate()
        .filter(|(n, r)| last.get(r.payload["itemNumber"].as_str().unwrap_or_default()) == Some(n))
        .map(|(_, r)| r)
        .collect()
}

fn sequence(version: Option<&SourceVersion>) -> Option<u64> {
    match version {
        Some(SourceVersion::Sequence(n)) => Some(*n),
        _ => None,
    }
}

#[async_trait]
impl Source for LedgerSource {
    fn flow(&self) -> Flow {
        Flow::Stock
    }

    fn stream(&self) -> &'static str {
        LEDGER_STREAM
    }

    fn overlap(&self) -> Overlap {
        Overlap::Count(self.window)
    }

    /// No signpost: entries that become visible during the poll are read by it or by the
    /// next one's window alike. Refused until the orders flow has read the sales.
    async fn signpost(&self, _now: Timestamp) -> Result<SourceVersion, StageError> {
        if let Some(cursors) = &self.orders
            && cursors
                .load(Flow::Orders, "Sale")
                .await?
                .and_then(|s| s.cursor.read_to)
                .is_none()
        {
            return Err(StageError::Config(
                "the stock flow does not start before the orders flow has read Lightspeed's sales: it subtracts the sales Business Central does not know yet. Run the orders flow, or set accept_overwrite_risk".into(),
            ));
        }
        Ok(SourceVersion::Sequence(u64::MAX))
    }

    async fn read_page(
        &self,
        range: &ReadRange,
        page: Option<&PageToken>,
    ) -> Result<SourcePage, StageError> {
        let query = self.first_page_query(sequence(range.from.as_ref()));
        let page = self.page(query, page).await?;
        let mut out = SourcePage::default();
        for row in &page.records {
            match self.record(row) {
                Ok(record) => out.records.push(record),
                Err(rejected) => out.rejected.push(rejected),
            }
        }
        out.records = last_per_item(out.records);
        out.next = page.next_link.map(PageToken);
        Ok(out)
    }

    async fn fetch(&self, key: &RecordKey) -> Result<Option<Record>, StageError> {
        let Ok(number) = key.as_str().parse::<i64>() else {
            return Ok(None);
        };
        let field = match self.quantities {
            Quantities::LedgerPage => "Entry_No",
            Quantities::ApiInventory => "entryNumber",
        };
        let query = self
            .first_page_query(None)
            .filter(Filter::eq(field, number));
        let page = self.page(query, None).await?;
        Ok(page.records.first().and_then(|r| self.record(r).ok()))
    }
}

/// The sales order stream.
#[derive(Debug, Clone)]
pub struct SalesOrderSource {
    bc: BusinessCentral,
    overlap: SignedDuration,
}

impl SalesOrderSource {
    /// The stream on `bc`, re-reading `overlap` before the cursor.
    pub fn new(bc: BusinessCentral, overlap: SignedDuration) -> Self {
        Self { bc, overlap }
    }

    fn query(from: Option<&SourceVersion>) -> Query {
        let mut query = Query::new()
            .select(["id", "number", "lastModifiedDateTime"])
            .expand("salesOrderLines($select=lineType,lineObjectNumber)");
        if let Some(SourceVersion::Timestamp(t)) = from {
            query = query.filter(Filter::ge("lastModifiedDateTime", *t));
        }
        query
    }

    fn record(row: &BcRecord) -> Result<Record, Rejected> {
        let payload = Value::Object(row.fields().clone());
        let rejected = |field: &str, reason: String| Rejected {
            key: RecordKey::unidentified(&lsbc_core::ContentHash::of_json(&payload)),
            field: field.to_owned(),
            reason,
            payload: payload.clone(),
        };
        let id = row.id().ok_or_else(|| rejected("id", "no id".to_owned()))?;
        let at = row
            .str("lastModifiedDateTime")
            .and_then(|s| s.parse::<Timestamp>().ok())
            .ok_or_else(|| rejected("lastModifiedDateTime", "not a time".to_owned()))?;
        let key = RecordKey::parse(id.to_string()).map_err(|e| rejected("id", e.to_string()))?;
        Ok(Record {
            flow: Flow::Stock,
            key,
            version: SourceVersion::Timestamp(at),
            payload,
        })
    }
}

#[async_trait]
impl Source for SalesOrderSource {
    fn flow(&self) -> Flow {
        Flow::Stock
    }

    fn stream(&self) -> &'static str {
        ORDER_STREAM
    }

    fn overlap(&self) -> Overlap {
        Overlap::Time(self.overlap)
    }

    async fn signpost(&self, now: Timestamp) -> Result<SourceVersion, StageError> {
        Ok(crate::lightspeed::signpost(now))
    }

    async fn read_page(
        &self,
        range: &ReadRange,
        page: Option<&PageToken>,
    ) -> Result<SourcePage, StageError> {
        let page = match page {
            Some(token) => self.bc.next_page(&token.0).await,
            None => {
                self.bc
                    .list_page(EntitySet::SalesOrders, &Self::query(range.from.as_ref()))
                    .await
            }
        }
        .map_err(|e| external(None, e))?;
        let mut out = SourcePage::default();
        let mut records: Vec<Record> = Vec::new();
        for row in &page.records {
            match Self::record(row) {
                Ok(record) => records.push(record),
                Err(rejected) => out.rejected.push(rejected),
            }
        }
        // BC pages sales orders by key, not by time: sorted here, so each page ascends.
        records.sort_by(|a, b| {
            a.version
                .partial_cmp(&b.version)
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        out.records = records;
        out.next = page.next_link.map(PageToken);
        Ok(out)
    }

    async fn fetch(&self, key: &RecordKey) -> Result<Option<Record>, StageError> {
        let Ok(id) = key.as_str().parse::<uuid::Uuid>() else {
            return Ok(None);
        };
        match self
            .bc
            .get(EntitySet::SalesOrders, id, &Self::query(None))
            .await
        {
            Ok(row) => Ok(Self::record(&row).ok()),
            Err(e) if crate::business_central::is_not_found(&e) => Ok(None),
            Err(e) => Err(external(Some(key), e)),
        }
    }
}

/// The reconciliation sweep's stream name.
pub const SWEEP_STREAM: &str = "StockSweep";

/// The payload field that makes a record a sweep's (its due instant).
pub const SWEEP: &str = "sweep";

/// The reconciliation sweep: once a day at `hour` (UTC), every Business Central inventory
/// item is recomputed — what no ledger entry or order says (a sales order deleted unshipped,
/// a count made in Lightspeed, a lost notification) is corrected there. Its records carry
/// the sweep's due instant as their version and in their payload, so each sweep hands every
/// item on once; an operator starts one at once by resetting its cursor (`lsbc cursor stock
/// --stream StockSweep --to start`).
#[derive(Debug, Clone)]
pub struct SweepSource {
    bc: BusinessCentral,
    hour: Option<u8>,
}

impl SweepSource {
    /// The sweep on `bc`, due daily at `hour` UTC (`None`: never).
    pub fn new(bc: BusinessCentral, hour: Option<u8>) -> Self {
        Self { bc, hour }
    }

    /// The last instant a sweep was due at or before `now`.
    fn due(hour: u8, now: Timestamp) -> Timestamp {
        let day = now.to_zoned(jiff::tz::TimeZone::UTC).date();
        let at = |d: jiff::civil::Date| {
            d.at(i8::try_from(hour).unwrap_or(0), 0, 0, 0)
                .to_zoned(jiff::tz::TimeZone::UTC)
                .map_or(now, |z| z.timestamp())
        };
        let today = at(day);
        if today <= now {
            today
        } else {
            day.yesterday().map_or(today, at)
        }
    }
}

#[async_trait]
impl Source for SweepSource {
    fn flow(&self) -> Flow {
        Flow::Stock
    }

    fn stream(&self) -> &'static str {
        SWEEP_STREAM
    }

    fn overlap(&self) -> Overlap {
        Overlap::Time(SignedDuration::ZERO)
    }

    async fn signpost(&self, now: Timestamp) -> Result<SourceVersion, StageError> {
        Ok(SourceVersion::Timestamp(match self.hour {
            Some(hour) => Self::due(hour, now),
            None => Timestamp::UNIX_EPOCH,
        }))
    }

    async fn read_page(
        &self,
        range: &ReadRange,
        page: Option<&PageToken>,
    ) -> Result<SourcePage, StageError> {
        let due = &range.to;
        let swept = range
            .from
            .as_ref()
            .is_some_and(|from| !due.is_newer_than(from));
        if self.hour.is_none() || (page.is_none() && swept) {
            return Ok(SourcePage::default());
        }
        let query = Query::new()
            .select(["number", "type"])
            .filter(Filter::eq("type", "Inventory"))
            .max_page_size(LEDGER_PAGE);
        let page = match page {
            Some(token) => self.bc.next_page(&token.0).await,
            None => self.bc.list_page(EntitySet::Items, &query).await,
        }
        .map_err(|e| external(None, e))?;
        let read_at = Timestamp::now().to_string();
        let mut out = SourcePage::default();
        for row in &page.records {
            let Some(number) = row.str("number").filter(|n| !n.is_empty()) else {
                continue;
            };
            // The read's time too: a sweep started again by an operator recomputes again
            // (the push stage takes a command identical to the last one as done).
            let payload = json!({"itemNumber": number, SWEEP: due.to_string(), "read": read_at});
            match RecordKey::parse(number) {
                Ok(key) => out.records.push(Record {
                    flow: Flow::Stock,
                    key,
                    version: due.clone(),
                    payload,
                }),
                Err(e) => out.rejected.push(Rejected {
                    key: RecordKey::unidentified(&lsbc_core::ContentHash::of_json(&payload)),
                    field: "number".into(),
                    reason: e.to_string(),
                    payload,
                }),
            }
        }
        out.next = page.next_link.map(PageToken);
        Ok(out)
    }

    async fn fetch(&self, key: &RecordKey) -> Result<Option<Record>, StageError> {
        Ok(Some(Record {
            flow: Flow::Stock,
            key: key.clone(),
            version: SourceVersion::Timestamp(Timestamp::now()),
            payload: json!({"itemNumber": key.as_str(), SWEEP: "on request"}),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sweep_is_due_at_its_hour_today_or_else_yesterday() {
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        assert_eq!(
            SweepSource::due(2, at("2026-12-07T18:00:00Z")),
            at("2026-12-07T02:00:00Z")
        );
        assert_eq!(
            SweepSource::due(2, at("2026-12-07T01:59:59Z")),
            at("2026-12-06T02:00:00Z")
        );
        assert_eq!(
            SweepSource::due(2, at("2026-12-07T02:00:00Z")),
            at("2026-12-07T02:00:00Z")
        );
    }
}
