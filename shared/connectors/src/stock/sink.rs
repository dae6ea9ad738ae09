//! Recomputes one item's stock in every mapped Lightspeed shop and writes only what
//! differs — never overwriting a sale:
//!
//! 1. Business Central: the item (an item that is not `Inventory` is skipped), its
//!    quantities per variant and location (page 38 open entries' `Remaining_Quantity`, or
//!    API v2.0's company-wide `inventory`), and what the formula deducts (open sales order
//!    lines' outstanding quantity, or reservations from inventory).
//! 2. Lightspeed: the item's variants (the products flow's links, else the SKU), their
//!    `ItemShop` rows, read in one request right before the write.
//! 3. In flight: units of sales Lightspeed made that Business Central does not know yet
//!    (the orders flow's sales not posted, kept in their states from the poll that read
//!    them) are subtracted, so a push never brings sold units back (ORDERS-STOCK case 13).
//! 4. Guard: an `ItemShop` whose `timeStamp` is newer than the orders flow's last full read
//!    of sales may hold a sale nobody knows yet: the recompute waits for the next orders
//!    poll. After a write, the item's `InventoryLog` must show our change exactly as
//!    computed; a sale that landed between the read and the write shows as a different
//!    change, and the item is recomputed (the guard then waits for that sale).
//! 5. Audit: each shop's figures (inventory, deducted, in flight, safety, target, before,
//!    after) go to the activity log with the request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use lsbc_business_central::odata::{Filter, Query};
use lsbc_business_central::{BusinessCentral, EntitySet, Record as BcRecord};
use lsbc_core::ports::{
    Action, Clock, CursorStore, LinkStore, PushRequest, Sink, SinkOutcome, StateStore,
};
use lsbc_core::{Flow, RecordKey, SourceVersion, StageError};
use lsbc_lightspeed::Query as LsQuery;
use lsbc_lightspeed::model::{Item, ItemId, ItemShop, ItemType, ShopId};
use lsbc_lightspeed::query::{Condition, FilterValue};
use lsbc_lightspeed::{LightspeedClient, PageRequest, StockTarget, StockUpdate};
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::command::StockCommand;
use super::formula::{ANY_LOCATION, Figures, PerLocation, at_locations, figures};
use super::settings::{Formula, Quantities, StockSettings};
use crate::business_central::external;
use crate::config::ConfigCache;
use crate::kit::FlowSettings;
use crate::orders::{STOCK, StockMove, states};
use crate::products::{ProductSettings, SkuField};

/// The orders flow's states whose sales Business Central's inventory does not hold yet.
const IN_FLIGHT: [&str; 7] = [
    states::DISCOVERED,
    states::WAITING,
    states::HELD,
    states::POSTING,
    states::FAILED,
    states::RELINK,
    states::CREATED,
];

/// The most sales read per state for the in-flight sum.
const IN_FLIGHT_PER_STATE: usize = 1_000;

/// One Lightspeed item that shows a Business Central item (or one of its variants).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    /// The BC variant code (`""`: the item itself).
    variant: String,
    /// The Lightspeed item.
    item: u64,
}

/// The stock flow's sink.
#[derive(Clone)]
pub struct StockSink {
    bc: BusinessCentral,
    ls: LightspeedClient,
    links: Arc<dyn LinkStore>,
    states: Arc<dyn StateStore>,
    cursors: Arc<dyn CursorStore>,
    config: Arc<ConfigCache>,
    clock: Arc<dyn Clock>,
    /// Location codes by id (read once per sink).
    locations: Arc<Mutex<Option<HashMap<Uuid, String>>>>,
}

impl std::fmt::Debug for StockSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StockSink").finish_non_exhaustive()
    }
}

impl StockSink {
    /// A sink reading `bc` and writing `ls`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        bc: BusinessCentral,
        ls: LightspeedClient,
        links: Arc<dyn LinkStore>,
        states: Arc<dyn StateStore>,
        cursors: Arc<dyn CursorStore>,
        config: Arc<ConfigCache>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            bc,
            ls,
            links,
            states,
            cursors,
            config,
            clock,
            locations: Arc::new(Mutex::new(None)),
        }
    }

    /// The Lightspeed items showing BC item `id` (number `number`): the products flow's
    /// links, else the Lightspeed item whose SKU is the number.
    async fn targets(&self, id: Uuid, number: &str) -> Result<Vec<Target>, StageError> {
        let mut out = Vec::new();
        for link in self
            .links
            .find_by_target(Flow::Products, &id.to_string())
            .await?
        {
            let key = link.key.as_str();
            if let Some(item) = key.strip_prefix("item:").and_then(|n| n.parse().ok()) {
                out.push(Target {
                    variant: String::new(),
                    item,
                });
            } else if key.contains(":variants:")
                && let Some(variants) = link.extra.get("variants").and_then(Value::as_object)
            {
                for (ls_id, v) in variants {
                    if let (Ok(item), Some(code)) =
                        (ls_id.parse(), v.get("code").and_then(Value::as_str))
                    {
                        out.push(Target {
                            variant: code.to_owned(),
                            item,
                        });
                    }
                }
            }
        }
        if !out.is_empty() {
            out.sort_by_key(|t| t.item);
            out.dedup();
            return Ok(out);
        }
        let products = self.config.get(Flow::Products).await?;
        let sku = ProductSettings::from_stored(Some(&products.settings))
            .map_err(|e| StageError::Config(e.to_string()))?
            .sku_field;
        let field = match sku {
            SkuField::CustomSku => "customSku",
            SkuField::SystemSku => "systemSku",
            SkuField::ManufacturerSku => "manufacturerSku",
        };
        let query = LsQuery::new().eq(field, number).limit(2);
        let page = self
            .ls
            .page_raw("Item", PageRequest::First(query))
            .await
            .map_err(crate::lightspeed::external)?;
        for raw in page.records {
            if let Ok(item) = Item::from_json(&raw)
                && item.item_matrix_id.is_none_or(|m| m.get() == 0)
            {
                out.push(Target {
                    variant: String::new(),
                    item: item.item_id.get(),
                });
            }
        }
        Ok(out)
    }

    /// Quantities of item `number` per variant and location: the open entries of page 38.
    async fn ledger(&self, service: &str, number: &str) -> Result<PerLocation, StageError> {
        let query = Query::new()
            .filter(Filter::eq("Item_No", number).and(Filter::eq("Open", true)))
            .select(["Variant_Code", "Location_Code", "Remaining_Quantity"]);
        let missing = format!("publish page 38 \"Item Ledger Entries\" under the name `{service}`");
        let rows = self.web_service(service, query, &missing).await?;
        Ok(per_location(&rows, "Remaining_Quantity", |_| true))
    }

    /// Every row of web service `service` for `query`; an unpublished service is a
    /// configuration error saying what to publish (`missing`).
    async fn web_service(
        &self,
        service: &str,
        query: Query,
        missing: &str,
    ) -> Result<Vec<BcRecord>, StageError> {
        self.bc.web_service_all(service, query).await.map_err(|e| {
            if crate::business_central::is_not_found(&e) {
                StageError::Config(format!(
                    "Business Central has no web service `{service}`: {missing} ({e})"
                ))
            } else {
                external(None, e)
            }
        })
    }

    /// Location codes by id.
    async fn location_codes(&self) -> Result<HashMap<Uuid, String>, StageError> {
        if let Some(known) = self
            .locations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
        {
            return Ok(known);
        }
        let rows = self
            .bc
            .list_all(EntitySet::Locations, Query::new().select(["id", "code"]))
            .await
            .map_err(|e| external(None, e))?;
        let map: HashMap<Uuid, String> = rows
            .iter()
            .filter_map(|r| Some((r.id()?, r.str("code")?.to_owned())))
            .collect();
        *self
            .locations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(map.clone());
        Ok(map)
    }

    /// Outstanding quantities of item `number` (`id`) on open sales order lines, in base
    /// units, per variant and location (one request: API v2.0 reads lines only under their
    /// order), and warnings.
    ///
    /// A line in another unit of measure than the item's base one (`base`): API v2.0 has no
    /// per-item unit conversion (its pages have the company's `unitsOfMeasure` only, BCApps
    /// `APIV2UnitsofMeasure.Page.al`) and no base quantity on sales order lines (page
    /// "APIV2 - Sales Order Lines", `APIV2SalesOrderLines.Page.al`, shows `quantity`,
    /// `unitOfMeasureId`/`unitOfMeasureCode`, `shippedQuantity`, `invoicedQuantity`,
    /// `shipQuantity`, `invoiceQuantity`, but not the Sales Line's `Quantity (Base)` or
    /// `Qty. per Unit of Measure`). With `units` (setting `units_service`) the line's
    /// outstanding quantity is multiplied by the unit's `Qty_per_Unit_of_Measure` from page
    /// 5404 "Item Units of Measure" (read once, when a line needs it); without it, with the
    /// page not published or the unit not on it, the line counts as that many base units
    /// with a warning naming the order, line, item and unit.
    async fn outstanding(
        &self,
        number: &str,
        id: Uuid,
        base: &str,
        units: Option<&str>,
    ) -> Result<(PerLocation, Vec<String>), StageError> {
        let orders = self
            .bc
            .list_all(
                EntitySet::SalesOrders,
                Query::new().select(["id", "number"]).expand(
                    "salesOrderLines($select=sequence,lineType,itemId,itemVariantId,locationId,quantity,shippedQuantity,unitOfMeasureCode)",
                ),
            )
            .await
            .map_err(|e| external(None, e))?;
        let lines: Vec<(String, BcRecord)> = orders
            .iter()
            .flat_map(|o| {
                let order = o.str("number").unwrap_or_default().to_owned();
                o.expanded("salesOrderLines")
                    .into_iter()
                    .map(move |l| (order.clone(), l))
            })
            .filter(|(_, l)| l.str("itemId").and_then(|s| s.parse::<Uuid>().ok()) == Some(id))
            .collect();
        let mut out = PerLocation::new();
        let mut warnings = Vec::new();
        if lines.is_empty() {
            return Ok((out, warnings));
        }
        let locations = self.location_codes().await?;
        let mut variants: HashMap<Uuid, String> = HashMap::new();
        let blank = Uuid::nil();
        if lines.iter().any(|(_, l)| {
            l.str("itemVariantId")
                .and_then(|s| s.parse::<Uuid>().ok())
                .is_some_and(|v| v != blank)
        }) {
            let rows = self
                .bc
                .list_all(
                    EntitySet::ItemVariants,
                    Query::new()
                        .filter(Filter::eq("itemId", id))
                        .select(["id", "code"]),
                )
                .await
                .map_err(|e| external(None, e))?;
            variants = rows
                .iter()
                .filter_map(|r| Some((r.id()?, r.str("code")?.to_owned())))
                .collect();
        }
        // Page 5404's units of the item, read at the first line in another unit.
        let mut per_unit: Option<Result<HashMap<String, Decimal>, String>> = None;
        for (order, line) in lines {
            let left = decimal(line.get("quantity")) - decimal(line.get("shippedQuantity"));
            if left <= Decimal::ZERO {
                continue;
            }
            let unit = line.str("unitOfMeasureCode").unwrap_or_default();
            let mut base_left = left;
            if !unit.is_empty() && !base.is_empty() && !unit.eq_ignore_ascii_case(base) {
                let what = format!(
                    "sales order {order} line {} has {left} {unit} of item {number}, not the base unit {base}",
                    line.get("sequence")
                        .map(Value::to_string)
                        .unwrap_or_default()
                );
                let known = match units {
                    None => Err("set units_service to the name page 5404 \"Item Units of Measure\" is published under to convert it".to_owned()),
                    Some(service) => {
                        let table = match per_unit.take() {
                            Some(table) => table,
                            None => self.item_units(service, number).await?,
                        };
                        let qty = match &table {
                            Ok(table) => table.get(&unit.to_uppercase()).copied().ok_or_else(|| {
                                format!("unit {unit} is not among item {number}'s units on page 5404 (`{service}`)")
                            }),
                            Err(why) => Err(why.clone()),
                        };
                        per_unit = Some(table);
                        qty
                    }
                };
                match known {
                    Ok(qty) => base_left = left * qty,
                    Err(why) => {
                        warnings.push(format!("{what}: counted as {left} base units ({why})"));
                    }
                }
            }
            let code = |field: &str, names: &HashMap<Uuid, String>| {
                line.str(field)
                    .and_then(|s| s.parse::<Uuid>().ok())
                    .and_then(|u| names.get(&u).cloned())
                    .unwrap_or_default()
            };
            *out.entry((
                code("itemVariantId", &variants),
                code("locationId", &locations),
            ))
            .or_default() += base_left;
        }
        Ok((out, warnings))
    }

    /// Qty. per Unit of Measure of item `number`'s units (uppercase code → base units),
    /// from page 5404 "Item Units of Measure" published under `service` (controls `Item No.`,
    /// `Code`, `Qty. per Unit of Measure`, BCApps `ItemUnitsofMeasure.Page.al`, named as
    /// OData V4 names page controls: `Item_No`, `Code`, `Qty_per_Unit_of_Measure`). The page
    /// not published (BC answers not found) is `Err` with the reason, for a warning.
    async fn item_units(
        &self,
        service: &str,
        number: &str,
    ) -> Result<Result<HashMap<String, Decimal>, String>, StageError> {
        let query = Query::new()
            .filter(Filter::eq("Item_No", number))
            .select(["Code", "Qty_per_Unit_of_Measure"]);
        match self.bc.web_service_all(service, query).await {
            Ok(rows) => Ok(Ok(rows
                .iter()
                .filter_map(|r| {
                    let qty = decimal(r.get("Qty_per_Unit_of_Measure"));
                    (qty > Decimal::ZERO)
                        .then(|| Some((r.str("Code")?.to_uppercase(), qty)))
                        .flatten()
                })
                .collect())),
            Err(e) if crate::business_central::is_not_found(&e) => Ok(Err(format!(
                "Business Central has no web service `{service}` (setting units_service): publish page 5404 \"Item Units of Measure\" under that name ({e})"
            ))),
            Err(e) => Err(external(None, e)),
        }
    }

    /// Quantities reserved from inventory, per variant and location: page 497
    /// "Reservation Entries" under `service` — `Quantity_Base` of the entries with status
    /// Reservation against item ledger entries (source type 32, subtype 0), the sum BC's
    /// "Reserved Qty. on Inventory" is (`Item.Table.al` field 101's CalcFormula). Control
    /// names as OData V4 spells the page's (`ReservationEntries.Page.al`); how it renders the
    /// option `Source Subtype` is not confirmed, both spellings are taken.
    async fn reserved(&self, service: &str, number: &str) -> Result<PerLocation, StageError> {
        let query = Query::new().filter(Filter::eq("Item_No", number));
        let missing = format!(
            "formula inventory_minus_reserved needs page 497 \"Reservation Entries\" published under the name `{service}` (or choose inventory_minus_outstanding)"
        );
        let rows = self.web_service(service, query, &missing).await?;
        Ok(per_location(&rows, "Quantity_Base", |row| {
            let text = |f: &str| {
                row.get(f)
                    .map(|v| v.to_string().trim_matches('"').to_owned())
                    .unwrap_or_default()
            };
            // Option values as OData V4 may render them: `0` or `_x0030_`.
            text("Reservation_Status") == "Reservation"
                && text("Source_Type") == "32"
                && matches!(text("Source_Subtype").as_str(), "0" | "_x0030_")
        }))
    }

    /// Units of `items` sold in Lightspeed that Business Central's inventory does not hold
    /// yet, per (item, shop).
    async fn in_flight(
        &self,
        settings: &StockSettings,
        items: &[u64],
    ) -> Result<HashMap<(u64, u64), Decimal>, StageError> {
        let now = self.clock.now();
        let grace = SignedDuration::from_mins(i64::from(settings.discovered_grace_minutes));
        let mut out: HashMap<(u64, u64), Decimal> = HashMap::new();
        for state in IN_FLIGHT {
            for sale in self
                .states
                .list_states(Flow::Orders, state, IN_FLIGHT_PER_STATE)
                .await?
            {
                if state == states::DISCOVERED && now.duration_since(sale.since) > grace {
                    continue;
                }
                if state == states::CREATED && made_as_orders(&sale.detail) {
                    // A sales order: BC counts it (outstanding), never subtracted twice.
                    continue;
                }
                let Some(moves) = sale.detail.get(STOCK) else {
                    continue;
                };
                let moves: Vec<StockMove> =
                    serde_json::from_value(moves.clone()).unwrap_or_default();
                for m in moves.into_iter().filter(|m| items.contains(&m.item)) {
                    *out.entry((m.item, m.shop)).or_default() += m.quantity;
                }
            }
        }
        Ok(out)
    }

    /// The orders flow's last full read of sales, or why there is none.
    async fn orders_read_to(
        &self,
        settings: &StockSettings,
    ) -> Result<Option<Timestamp>, StageError> {
        let stored = self.cursors.load(Flow::Orders, "Sale").await?;
        match stored.and_then(|s| s.cursor.read_to) {
            Some(SourceVersion::Timestamp(t)) => Ok(Some(t)),
            _ if settings.accept_overwrite_risk => Ok(None),
            _ => Err(StageError::Config(
                "the orders flow has not read Lightspeed's sales yet: run it (it tells the stock flow what was sold), or set accept_overwrite_risk to let Business Central's figure overwrite sales it does not know yet".into(),
            )),
        }
    }

    /// The item's `ItemShop` rows per Lightspeed item (one request).
    async fn item_shops(
        &self,
        key: &RecordKey,
        items: &[u64],
    ) -> Result<HashMap<u64, (ItemType, Vec<ItemShop>)>, StageError> {
        let mut out: HashMap<u64, (ItemType, Vec<ItemShop>)> = HashMap::new();
        for chunk in items.chunks(100) {
            let query = LsQuery::new()
                .filter(
                    "itemID",
                    Condition::In(chunk.iter().copied().map(FilterValue::from).collect()),
                )
                .relations(["ItemShops"])
                .limit(100);
            let page = self
                .ls
                .page_raw("Item", PageRequest::First(query))
                .await
                .map_err(crate::lightspeed::external)?;
            for raw in page.records {
                let item = Item::from_json(&raw).map_err(|e| StageError::InvalidRecord {
                    key: key.clone(),
                    field: format!("Lightspeed Item {}", e.path),
                    reason: e.message,
                })?;
                out.insert(item.item_id.get(), (item.item_type, item.item_shops));
            }
        }
        Ok(out)
    }

    /// Movements made in Lightspeed itself (counts, receipts, transfers: log rows without a
    /// sale) of `item` in `shop` after `since` (the stamp our last write left): what the
    /// write about to happen overwrites.
    async fn own_movements(
        &self,
        item: u64,
        shop: u64,
        since: Timestamp,
    ) -> Result<Vec<String>, StageError> {
        let query = LsQuery::new()
            .eq("itemID", item)
            .eq("shopID", shop)
            .filter("createTime", Condition::Gt(FilterValue::from(since)))
            .limit(100);
        let page = self
            .ls
            .page_raw("InventoryLog", PageRequest::First(query))
            .await
            .map_err(crate::lightspeed::external)?;
        Ok(page
            .records
            .iter()
            .filter(|l| l.get("saleID").and_then(Value::as_str).unwrap_or("0") == "0")
            .map(|l| {
                let field = |f: &str| l.get(f).and_then(Value::as_str).unwrap_or_default();
                format!(
                    "{} {} at {}",
                    field("reason"),
                    field("qohChange"),
                    field("createTime")
                )
            })
            .collect())
    }

    /// Whether Lightspeed's log shows each write of `item` exactly as computed: the newest
    /// change of each shop since the read moved qoh from `before` to the target. Anything
    /// else means a sale (or a count) landed between the read and the write.
    async fn writes_landed(
        &self,
        item: u64,
        since: Timestamp,
        written: &[(u64, i64, i64)],
    ) -> Result<Result<(), String>, StageError> {
        let query = LsQuery::new()
            .eq("itemID", item)
            .filter("createTime", Condition::Ge(FilterValue::from(since)))
            .limit(100);
        let page = self
            .ls
            .page_raw("InventoryLog", PageRequest::First(query))
            .await
            .map_err(crate::lightspeed::external)?;
        let id = |v: &Value, f: &str| -> u64 {
            v.get(f)
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0)
        };
        for (shop, before, target) in written {
            let ours = page
                .records
                .iter()
                .filter(|l| id(l, "shopID") == *shop && id(l, "saleID") == 0)
                .max_by_key(|l| id(l, "inventoryLogID"));
            let change = ours
                .and_then(|l| l.get("qohChange").and_then(Value::as_str))
                .and_then(|s| s.parse::<i64>().ok());
            if change != Some(target - before) {
                return Ok(Err(format!(
                    "item {item} in shop {shop}: Lightspeed moved from {before} before our write to {target} by {change:?} - something else changed it in between; recomputing",
                )));
            }
        }
        Ok(Ok(()))
    }
}

/// Whether a sale's documents are all sales orders (BC counts them as outstanding).
fn made_as_orders(detail: &Map<String, Value>) -> bool {
    detail
        .get("documents")
        .and_then(Value::as_array)
        .is_some_and(|docs| {
            !docs.is_empty()
                && docs
                    .iter()
                    .all(|d| d.get("kind").and_then(Value::as_str) == Some("order"))
        })
}

/// `quantity` of the rows `keep` accepts, summed per (variant, location).
fn per_location(
    rows: &[BcRecord],
    quantity: &str,
    keep: impl Fn(&BcRecord) -> bool,
) -> PerLocation {
    let mut out = PerLocation::new();
    for row in rows.iter().filter(|r| keep(r)) {
        let variant = row.str("Variant_Code").unwrap_or_default().to_owned();
        let location = row.str("Location_Code").unwrap_or_default().to_owned();
        *out.entry((variant, location)).or_default() += decimal(row.get(quantity));
    }
    out
}

fn decimal(v: Option<&Value>) -> Decimal {
    match v {
        Some(Value::Number(n)) => n.to_string().parse().unwrap_or_default(),
        Some(Value::String(s)) => s.parse().unwrap_or_default(),
        _ => Decimal::ZERO,
    }
}

#[async_trait]
impl Sink for StockSink {
    fn flow(&self) -> Flow {
        Flow::Stock
    }

    fn recomputes(&self) -> bool {
        true
    }

    #[allow(clippy::too_many_lines)]
    async fn upsert(&self, request: PushRequest<'_>) -> Result<SinkOutcome, StageError> {
        let key = request.key;
        let cmd: StockCommand = serde_json::from_value(request.command.clone()).map_err(|e| {
            StageError::InvalidRecord {
                key: key.clone(),
                field: "(command)".into(),
                reason: format!("not a stock command: {e}"),
            }
        })?;
        let skipped = |rule: String| StageError::Skipped {
            key: key.clone(),
            rule,
        };
        let config = self.config.get(Flow::Stock).await?;
        let settings = StockSettings::from_stored(Some(&config.settings))
            .map_err(|e| StageError::Config(e.to_string()))?;
        if settings.shops.is_empty() {
            return Err(skipped(
                "no Lightspeed shop is mapped to Business Central locations (setting shops)".into(),
            ));
        }
        let read_to = self.orders_read_to(&settings).await?;
        let wait = Duration::from_secs(u64::from(settings.wait_for_orders_seconds));

        // Business Central.
        let item = self
            .bc
            .find_first(EntitySet::Items, Filter::eq("number", cmd.item.as_str()))
            .await
            .map_err(|e| external(Some(key), e))?
            .ok_or_else(|| skipped(format!("item {} is not in Business Central", cmd.item)))?;
        let item_id = item
            .id()
            .ok_or_else(|| skipped(format!("item {} has no id", cmd.item)))?;
        let kind = item.str("type").unwrap_or_default();
        if kind != "Inventory" {
            return Err(skipped(format!(
                "item {} is a {kind} item: Business Central keeps no stock of it",
                cmd.item
            )));
        }
        let targets = self.targets(item_id, &cmd.item).await?;
        if targets.is_empty() {
            return Err(skipped(format!(
                "item {} is not in Lightspeed (no products link, no Lightspeed item with that SKU)",
                cmd.item
            )));
        }
        let inventory = match settings.quantities {
            Quantities::LedgerPage => self.ledger(&settings.ledger_service, &cmd.item).await?,
            Quantities::ApiInventory => PerLocation::from([(
                (String::new(), ANY_LOCATION.to_owned()),
                decimal(item.get("inventory")),
            )]),
        };
        let formulas: Vec<Formula> = settings
            .shops
            .values()
            .map(|s| settings.formula_of(s))
            .collect();
        let (outstanding, unit_warnings) = if formulas.contains(&Formula::InventoryMinusOutstanding)
        {
            self.outstanding(
                &cmd.item,
                item_id,
                item.str("baseUnitOfMeasureCode").unwrap_or_default(),
                settings.units_service.as_deref(),
            )
            .await?
        } else {
            (PerLocation::new(), Vec::new())
        };
        let reserved = match (
            &settings.reserved_service,
            formulas.contains(&Formula::InventoryMinusReserved),
        ) {
            (Some(service), true) => self.reserved(service, &cmd.item).await?,
            _ => PerLocation::new(),
        };

        // Lightspeed, read right before the writes.
        let ls_ids: Vec<u64> = targets.iter().map(|t| t.item).collect();
        let in_flight = self.in_flight(&settings, &ls_ids).await?;
        let shops_of = self.item_shops(key, &ls_ids).await?;
        let mut audit = Vec::new();
        let mut sent = Vec::new();
        // A BC location no shop shows, holding some of the item: a warning, not a failure.
        let mapped: Vec<&String> = settings.shops.values().flat_map(|s| &s.locations).collect();
        let mut warnings: Vec<String> = inventory
            .iter()
            .filter(|((_, location), q)| {
                !q.is_zero() && location != ANY_LOCATION && !mapped.contains(&location)
            })
            .map(|((variant, location), q)| {
                let variant = if variant.is_empty() { String::new() } else { format!(" (variant {variant})") };
                format!("location `{location}` holds {q} of item {}{variant} but no shop shows it (setting shops)", cmd.item)
            })
            .collect();
        // `ItemShop.timeStamp`s our last writes left, per `item:shop` (kept on the link).
        let mut ours: Map<String, Value> = request
            .link
            .and_then(|l| l.extra.get("written"))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        warnings.extend(unit_warnings);
        let mut extra = Map::new();
        let mut wrote = false;
        for target in &targets {
            let Some((item_type, rows)) = shops_of.get(&target.item) else {
                warnings.push(format!("Lightspeed item {} no longer exists", target.item));
                continue;
            };
            // Lightspeed breaks boxes down and builds them from their singles at checkout
            // ("shared inventory is automatically broken down or built up when you check
            // out", retail-support "Creating boxes"; developers.lightspeedhq.com Item page:
            // "ItemComponents are the singles"), and builds assemblies from their parts in
            // the back office ("Building and breaking apart assemblies"): a figure written
            // onto one would count the same units twice. Business Central's units are shown
            // on the single (a box sold moves its singles, orders/moves.rs).
            if matches!(
                item_type,
                ItemType::Box | ItemType::Assembly | ItemType::SerializedAssembly
            ) {
                let kind = match item_type {
                    ItemType::Box => {
                        "a box (its stock is its singles', built up and broken down at checkout)"
                    }
                    _ => "an assembly (built from its parts in Lightspeed)",
                };
                warnings.push(format!(
                    "Lightspeed item {} is {kind}: no figure of BC's item {} is written onto it (Business Central's units are shown on its single or part items)",
                    target.item, cmd.item
                ));
                continue;
            }
            if *item_type == ItemType::NonInventory {
                if !settings.force_tracking {
                    warnings.push(format!(
                        "Lightspeed item {} keeps no stock (itemType non_inventory) while BC's item {} is an inventory item: left alone (setting force_tracking makes it track)",
                        target.item, cmd.item
                    ));
                    continue;
                }
                self.ls
                    .set_item_type(ItemId::new(target.item), "default")
                    .await
                    .map_err(crate::lightspeed::external)?;
                sent.push(json!({"lightspeedItem": target.item, "itemType": "default"}));
                wrote = true;
            }
            for row in rows.iter().filter(|r| !r.is_summary()) {
                let shop = row.shop_id.get();
                if !settings.shops.contains_key(&shop.to_string()) {
                    warnings.push(format!(
                        "Lightspeed shop {shop} is not mapped (setting shops): its stock of item {} is left as it is",
                        target.item
                    ));
                }
            }
            let mut updates = Vec::new();
            let mut written = Vec::new();
            let mut since: Option<Timestamp> = None;
            for (shop_text, shop) in &settings.shops {
                let Ok(shop_id) = shop_text.parse::<u64>() else {
                    continue;
                };
                let row = rows.iter().find(|r| r.shop_id.get() == shop_id);
                let formula = settings.formula_of(shop);
                let deductible = match formula {
                    Formula::InventoryMinusReserved => {
                        at_locations(&reserved, &target.variant, &shop.locations)
                    }
                    _ => at_locations(&outstanding, &target.variant, &shop.locations),
                };
                // Units Lightspeed holds for layaways and work orders not completed yet.
                let held = if settings.layaway_takes_stock {
                    row.map_or(0, |r| {
                        r.on_layaway.unwrap_or(0) + r.on_workorder.unwrap_or(0)
                    })
                } else {
                    0
                };
                let f: Figures = figures(
                    formula,
                    at_locations(&inventory, &target.variant, &shop.locations),
                    deductible,
                    in_flight
                        .get(&(target.item, shop_id))
                        .copied()
                        .unwrap_or_default()
                        + Decimal::from(held),
                    settings.safety_of(shop),
                    settings.negative,
                );
                let before = row.map_or(0, |r| r.qoh);
                audit.push(json!({
                    "lightspeedItem": target.item, "variant": target.variant, "shop": shop_id,
                    "figures": f, "held_for_layaways": held, "before": before, "after": f.target,
                }));
                if f.target == before {
                    continue;
                }
                // Lightspeed moved since our last write and not by a sale: say what the
                // write overwrites (a count, a receipt, a transfer made in Lightspeed).
                let last = ours.get(&format!("{}:{shop_id}", target.item));
                if let (Some(last), Some(r)) = (last, row)
                    && last["qoh"].as_i64() != Some(r.qoh)
                    && let Some(since) = last["timeStamp"]
                        .as_str()
                        .and_then(|t| t.parse::<Timestamp>().ok())
                {
                    let moved = self.own_movements(target.item, shop_id, since).await?;
                    if !moved.is_empty() {
                        let note = format!(
                            "overwrites Lightspeed-side changes of item {} in shop {shop_id} ({}): Business Central keeps the stock",
                            target.item,
                            moved.join("; ")
                        );
                        tracing::warn!(flow = %Flow::Stock, record_key = %key, "{note}");
                        warnings.push(note);
                    }
                }
                // Unmoved since our own write: same stamp and the quantity we left (a sale in
                // the same second would have changed it).
                let own = |r: &ItemShop, stamp: Timestamp| {
                    ours.get(&format!("{}:{shop_id}", target.item))
                        .is_some_and(|w| {
                            w["timeStamp"]
                                .as_str()
                                .and_then(|s| s.parse::<Timestamp>().ok())
                                == Some(stamp)
                                && w["qoh"].as_i64() == Some(r.qoh)
                        })
                };
                if let (Some(read_to), Some(r), Some(stamp)) =
                    (read_to, row, row.and_then(|r| r.time_stamp))
                    && stamp > read_to
                    && !own(r, stamp)
                {
                    return Err(StageError::NotReady {
                        key: key.clone(),
                        reason: format!(
                            "Lightspeed's stock of item {} in shop {shop_id} moved at {stamp}, after the orders flow last read sales ({read_to}): waiting for it to read them",
                            target.item
                        ),
                        retry_after: wait,
                    });
                }
                if let Some(stamp) = row.and_then(|r| r.time_stamp) {
                    since = Some(since.map_or(stamp, |s: Timestamp| s.min(stamp)));
                }
                updates.push(StockUpdate {
                    target: row.map_or(StockTarget::Shop(ShopId::new(shop_id)), |r| {
                        StockTarget::ItemShop(r.item_shop_id)
                    }),
                    qoh: f.target,
                });
                written.push((shop_id, before, f.target));
            }
            if updates.is_empty() {
                continue;
            }
            let started = self.clock.now();
            let answer = self
                .ls
                .set_stock(ItemId::new(target.item), &updates)
                .await
                .map_err(crate::lightspeed::external)?;
            wrote = true;
            if cmd.cause.starts_with("reconciliation sweep") {
                tracing::warn!(
                    flow = %Flow::Stock, record_key = %key, lightspeed_item = target.item,
                    corrected = ?written,
                    "The reconciliation sweep corrected Lightspeed's stock (shop, before, after): no change BC notified or logged explained it."
                );
            }
            // The stamps our write left: the next recompute does not wait for them.
            if let Ok(item) = &answer.value {
                for row in &item.item_shops {
                    if let Some(stamp) = row.time_stamp
                        && written.iter().any(|(shop, ..)| *shop == row.shop_id.get())
                    {
                        ours.insert(
                            format!("{}:{}", target.item, row.shop_id.get()),
                            json!({"timeStamp": stamp.to_string(), "qoh": row.qoh}),
                        );
                    }
                }
            }
            sent.push(json!({"lightspeedItem": target.item, "qoh": written
                .iter().map(|(shop, _, q)| json!({"shop": shop, "qoh": q})).collect::<Vec<_>>()}));
            if !settings.verify_writes {
                continue;
            }
            let since = since.unwrap_or(started) - SignedDuration::from_secs(1);
            if let Err(reason) = self.writes_landed(target.item, since, &written).await? {
                tracing::warn!(flow = %Flow::Stock, record_key = %key, %reason, "A Lightspeed stock write overlapped another change.");
                return Err(StageError::NotReady {
                    key: key.clone(),
                    reason,
                    retry_after: wait,
                });
            }
        }
        extra.insert("audit".into(), Value::Array(audit.clone()));
        extra.insert("cause".into(), Value::String(cmd.cause.clone()));
        extra.insert("written".into(), Value::Object(ours));
        if !warnings.is_empty() {
            tracing::warn!(flow = %Flow::Stock, record_key = %key, warnings = ?warnings, "Stock recomputed with warnings.");
            extra.insert("warnings".into(), json!(warnings));
        }
        let mut sent_all = vec![json!({"audit": audit, "cause": cmd.cause, "warnings": warnings})];
        sent_all.extend(sent);
        Ok(SinkOutcome {
            action: if wrote {
                Action::Updated
            } else {
                Action::Unchanged
            },
            target_id: targets
                .iter()
                .map(|t| t.item.to_string())
                .collect::<Vec<_>>()
                .join(","),
            etag: None,
            extra,
            sent: sent_all,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sale_made_as_an_order_is_not_in_flight() {
        let orders = Map::from_iter([("documents".to_owned(), json!([{"kind": "order"}]))]);
        assert!(made_as_orders(&orders));
        let invoice = Map::from_iter([("documents".to_owned(), json!([{"kind": "invoice"}]))]);
        assert!(!made_as_orders(&invoice));
        assert!(!made_as_orders(&Map::new()));
    }
}
