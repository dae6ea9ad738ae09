//! The item ledger: stock movements posted as entries, the inventory computed from them
//! (never stored on the item), and the location of each entry.
//!
//! Entry numbers: BC draws them from a SQL number sequence
//! (`ItemLedgerEntry.Table.al` `GetNextEntryNo` → codeunit 9500 "Sequence No. Mgt."), so
//! numbers "can be skipped … gaps … when transactions are rolled back" ([MS]
//! `developer/devenv-number-sequences`), and a number drawn by a long posting becomes visible
//! only when that posting commits, possibly after higher numbers. [`LedgerSequence`] chooses
//! between the gapless numbering and that behaviour.

use jiff::Timestamp;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::{ChangeKind, CompanyData, LedgerPost, Row, Store, num, number, round2, stamp, text};
use crate::business_central::errors::{BcFault, Outcome};
use crate::business_central::schema::Entity;
#[cfg(doc)]
use crate::business_central::schema::ITEM_LEDGER_PAGE;

/// How item ledger entry numbers are drawn and committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LedgerSequence {
    /// Every `gap_every`-th number is lost, as a rolled-back transaction loses its drawn
    /// number; 0 numbers without gaps.
    pub gap_every: u32,
    /// Entries posted while this is set keep their numbers but stay invisible (and out of
    /// the inventory) until `commit_ledger`, as a long posting's entries do.
    pub hold_commits: bool,
}

/// An entry numbered but not yet committed.
#[derive(Debug, Clone)]
pub(crate) struct HeldEntry {
    company: Uuid,
    id: Uuid,
    row: Row,
    location: Option<String>,
}

impl CompanyData {
    /// Inventory per item number, from one pass over the ledger.
    pub(super) fn inventories(&self) -> std::collections::HashMap<String, f64> {
        let mut sums = std::collections::HashMap::new();
        for (_, r) in self.table(Entity::ItemLedgerEntry) {
            *sums.entry(text(&r.fields, "itemNumber")).or_insert(0.0) += num(&r.fields["quantity"]);
        }
        sums
    }

    pub(super) fn inventory_of(&self, item_number: &str) -> f64 {
        round2(
            self.table(Entity::ItemLedgerEntry)
                .filter(|(_, r)| text(&r.fields, "itemNumber") == item_number)
                .map(|(_, r)| num(&r.fields["quantity"]))
                .sum(),
        )
    }
}

impl Store {
    /// Location codes of ledger entries (kept internally; v2.0 does not show them).
    pub(crate) fn ledger_location(&self, company: Uuid, entry: Uuid) -> Option<String> {
        self.company(company)?
            .ledger_locations
            .get(&entry)
            .cloned()
            .flatten()
    }

    /// Posts a stock movement; returns the entry number.
    pub(crate) fn post_ledger(
        &mut self,
        company: Uuid,
        post: &LedgerPost,
        now: Timestamp,
    ) -> Outcome<i64> {
        let (version, seq) = self.bump();
        let data = self.company_mut(company)?;
        let (_, item) = data
            .find(Entity::Item, "number", &post.item_number)
            .ok_or_else(|| {
                BcFault::new(
                    400,
                    "Internal_RecordNotFound",
                    format!(
                        "The Item does not exist. Identification fields and values: No.='{}'",
                        post.item_number
                    ),
                )
            })?;
        let unit_cost = num(&item.fields["unitCost"]);
        let description = text(&item.fields, "displayName");
        let visible = data
            .table(Entity::ItemLedgerEntry)
            .map(|(_, r)| r.fields["entryNumber"].as_i64().unwrap_or(0))
            .max()
            .unwrap_or(0);
        let held = self
            .held_entries
            .iter()
            .filter(|h| h.company == company)
            .map(|h| h.row.fields["entryNumber"].as_i64().unwrap_or(0))
            .max()
            .unwrap_or(0);
        let mut entry_number = visible.max(held) + 1;
        let gap_every = i64::from(self.settings.ledger.gap_every);
        if gap_every > 0 && entry_number % gap_every == 0 {
            // This number went to a transaction that rolled back.
            entry_number += 1;
        }
        let keep_uncommitted = self.settings.ledger.hold_commits;
        let data = self.company_mut(company)?;
        let id = Uuid::new_v4();
        let mut fields = Map::new();
        fields.insert("id".into(), json!(id.to_string()));
        fields.insert("entryNumber".into(), json!(entry_number));
        fields.insert("itemNumber".into(), json!(post.item_number));
        fields.insert("postingDate".into(), json!(post.posting_date.to_string()));
        fields.insert("entryType".into(), json!(post.entry_type));
        fields.insert("sourceNumber".into(), json!(post.source_number));
        fields.insert("sourceType".into(), json!(post.source_type));
        fields.insert("documentNumber".into(), json!(post.document_number));
        fields.insert("documentType".into(), json!(post.document_type));
        fields.insert(
            "description".into(),
            json!(if post.entry_type == "Sale" {
                description
            } else {
                String::new()
            }),
        );
        fields.insert("quantity".into(), number(post.quantity));
        fields.insert(
            "salesAmountActual".into(),
            number(round2(post.sales_amount)),
        );
        fields.insert(
            "costAmountActual".into(),
            number(round2(post.quantity * unit_cost)),
        );
        fields.insert("lastModifiedDateTime".into(), stamp(now));
        let row = Row {
            fields,
            version,
            seq,
        };
        if keep_uncommitted {
            self.held_entries.push(HeldEntry {
                company,
                id,
                row,
                location: post.location.clone(),
            });
            return Ok(entry_number);
        }
        data.tables
            .entry(Entity::ItemLedgerEntry)
            .or_default()
            .insert(id, row);
        data.ledger_locations.insert(id, post.location.clone());
        // An inserted entry is a `created` change; only a subscription to itemLedgerEntries
        // hears of it, and the docs' list does not have that set (`Entity::webhooks_supported`).
        self.record_change(
            company,
            Entity::ItemLedgerEntry,
            id,
            ChangeKind::Created,
            now,
        );
        Ok(entry_number)
    }

    /// Commits the held entries, oldest first; answers their entry numbers.
    pub(crate) fn commit_held_entries(&mut self, now: Timestamp) -> Vec<i64> {
        let held = std::mem::take(&mut self.held_entries);
        let mut numbers = Vec::with_capacity(held.len());
        for entry in held {
            let (version, seq) = self.bump();
            self.record_change(
                entry.company,
                Entity::ItemLedgerEntry,
                entry.id,
                ChangeKind::Created,
                now,
            );
            if let Ok(data) = self.company_mut(entry.company) {
                numbers.push(entry.row.fields["entryNumber"].as_i64().unwrap_or(0));
                let row = Row {
                    version,
                    seq,
                    ..entry.row
                };
                data.tables
                    .entry(Entity::ItemLedgerEntry)
                    .or_default()
                    .insert(entry.id, row);
                data.ledger_locations.insert(entry.id, entry.location);
            }
        }
        numbers
    }

    pub(super) fn location_code(data: &CompanyData, id: Option<Uuid>) -> Option<String> {
        id.and_then(|id| data.row(Entity::Location, id))
            .map(|r| text(&r.fields, "code"))
    }

    /// Posts a stock movement of an item variant: the variant must exist for the item (a
    /// ledger entry's `Variant Code` relates to "Item Variant", `ItemLedgerEntry.Table.al`).
    /// API v2.0 does not show the code; the OData V4 page does.
    pub(crate) fn post_ledger_variant(
        &mut self,
        company: Uuid,
        post: &LedgerPost,
        variant_code: &str,
        now: Timestamp,
    ) -> Outcome<i64> {
        let code = variant_code.to_uppercase();
        let known = self.company(company).is_some_and(|data| {
            data.table(Entity::ItemVariant).any(|(_, r)| {
                text(&r.fields, "itemNumber") == post.item_number && text(&r.fields, "code") == code
            })
        });
        if !known {
            // Text of a missing related record (the Internal_RecordNotFound form above).
            return Err(BcFault::new(
                400,
                "Internal_RecordNotFound",
                format!(
                    "The Item Variant does not exist. Identification fields and values: Item No.='{}',Code='{code}'",
                    post.item_number
                ),
            ));
        }
        let entry_number = self.post_ledger(company, post, now)?;
        let is_entry = |row: &Row| row.fields["entryNumber"].as_i64() == Some(entry_number);
        if let Some(held) = self
            .held_entries
            .iter_mut()
            .find(|h| h.company == company && is_entry(&h.row))
        {
            held.row.fields.insert(VARIANT_KEY.into(), json!(code));
        } else if let Some(row) = self
            .company_mut(company)?
            .tables
            .get_mut(&Entity::ItemLedgerEntry)
            .and_then(|t| t.values_mut().find(|r| is_entry(r)))
        {
            row.fields.insert(VARIANT_KEY.into(), json!(code));
        }
        Ok(entry_number)
    }

    /// The committed entries as page 38 "Item Ledger Entries" shows them through an OData V4
    /// web service (fields [`ITEM_LEDGER_PAGE`]), ascending by `Entry_No`, with each row's
    /// version for its etag.
    ///
    /// `Remaining_Quantity` and `Open` follow how posting applies entries
    /// (`ItemJnlPostLine.Codeunit.al` `ApplyItemLedgEntrySetFilters`: an entry is applied to
    /// open entries of the opposite sign with the same item, variant and location), oldest
    /// first (FIFO). The simulator applies in entry-number order over the committed entries;
    /// BC applies in posting order, which differs only for entries committed late.
    pub(crate) fn item_ledger_page(&self, company: Uuid) -> Vec<(Map<String, Value>, u64)> {
        let rows = self.rows(company, Entity::ItemLedgerEntry, None);
        let mut remaining: Vec<f64> = rows
            .iter()
            .map(|(_, r)| num(&r.fields["quantity"]))
            .collect();
        let bucket = |i: usize| {
            let f = &rows[i].1.fields;
            (
                text(f, "itemNumber"),
                text(f, VARIANT_KEY),
                self.ledger_location(company, rows[i].0).unwrap_or_default(),
            )
        };
        for i in 0..rows.len() {
            for j in 0..i {
                if remaining[i].abs() < 1e-9 {
                    break;
                }
                let opposite = remaining[j] * remaining[i] < 0.0;
                if opposite && bucket(j) == bucket(i) {
                    let applied = remaining[i].abs().min(remaining[j].abs());
                    remaining[i] -= applied * remaining[i].signum();
                    remaining[j] -= applied * remaining[j].signum();
                }
            }
        }
        rows.iter()
            .enumerate()
            .map(|(i, (id, row))| {
                let f = &row.fields;
                let (_, variant, location) = bucket(i);
                let left = round2(remaining[i]);
                let mut out = Map::new();
                out.insert("Entry_No".into(), f["entryNumber"].clone());
                out.insert("Posting_Date".into(), f["postingDate"].clone());
                out.insert("Entry_Type".into(), f["entryType"].clone());
                out.insert("Document_Type".into(), f["documentType"].clone());
                out.insert("Document_No".into(), f["documentNumber"].clone());
                out.insert("Item_No".into(), f["itemNumber"].clone());
                out.insert("Variant_Code".into(), json!(variant));
                out.insert("Description".into(), f["description"].clone());
                out.insert(
                    "Location_Code".into(),
                    json!(self.ledger_location(company, *id).unwrap_or(location)),
                );
                out.insert("Quantity".into(), f["quantity"].clone());
                out.insert("Remaining_Quantity".into(), number(left));
                out.insert("Open".into(), json!(left.abs() > f64::EPSILON));
                (out, row.version)
            })
            .collect()
    }
}

/// Where a ledger row keeps its variant code: not a v2.0 field, so never rendered or
/// filterable through API v2.0.
const VARIANT_KEY: &str = "\u{0}variantCode";

impl Store {
    /// Reserves `quantity` of an item's inventory at a location for sales order `order`:
    /// the pair of reservation entries BC writes (one entry number; the positive side
    /// against item ledger entries, source type 32 subtype 0, the negative side against the
    /// sales line, type 37 subtype 1 = Order). Answers the entry number.
    pub(crate) fn reserve(
        &mut self,
        company: Uuid,
        item_number: &str,
        variant: &str,
        location: &str,
        quantity: f64,
        order: &str,
    ) -> Outcome<i64> {
        let data = self.company_mut(company)?;
        let item = item_number.to_uppercase();
        if data.find(Entity::Item, "number", &item).is_none() {
            return Err(BcFault::new(
                400,
                "Internal_RecordNotFound",
                format!("The Item does not exist. Identification fields and values: No.='{item}'"),
            ));
        }
        let entry = data
            .reservations
            .iter()
            .filter_map(|r| r["Entry_No"].as_i64())
            .max()
            .unwrap_or(0)
            + 1;
        for (sign, source_type, subtype, source) in [(1.0, 32, "0", ""), (-1.0, 37, "1", order)] {
            let row = json!({
                "Reservation_Status": "Reservation", "Item_No": item,
                "Variant_Code": variant.to_uppercase(), "Location_Code": location.to_uppercase(),
                "Quantity_Base": number(sign * quantity), "Source_Type": source_type,
                "Source_Subtype": subtype, "Source_ID": source.to_uppercase(), "Entry_No": entry,
            });
            if let Value::Object(row) = row {
                data.reservations.push(row);
            }
        }
        Ok(entry)
    }

    /// Page 497's rows of `company`, each with a version for its etag.
    pub(crate) fn reservation_page(&self, company: Uuid) -> Vec<(Map<String, Value>, u64)> {
        self.company(company)
            .map(|c| {
                c.reservations
                    .iter()
                    .map(|r| (r.clone(), r["Entry_No"].as_u64().unwrap_or(0)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Sets how many base units one `code` of item `item_number` holds (a row of page 5404
    /// "Item Units of Measure"), as a user does on the item's *Units of Measure* page.
    pub(crate) fn set_item_unit(
        &mut self,
        company: Uuid,
        item_number: &str,
        code: &str,
        qty_per_unit: f64,
    ) -> Outcome<()> {
        let data = self.company_mut(company)?;
        let item = item_number.to_uppercase();
        if data.find(Entity::Item, "number", &item).is_none() {
            return Err(BcFault::new(
                400,
                "Internal_RecordNotFound",
                format!("The Item does not exist. Identification fields and values: No.='{item}'"),
            ));
        }
        if qty_per_unit <= 0.0 {
            // A unit holds more than 0 base units (BC refuses 0; error code and text
            // inferred).
            return Err(BcFault::new(
                400,
                "Application_FieldValidationException",
                "Qty. per Unit of Measure must be greater than 0.",
            ));
        }
        data.item_units
            .insert((item, code.to_uppercase()), qty_per_unit);
        Ok(())
    }

    /// Page 5404's rows of `company`: each item's base unit (1 per unit, the row BC makes
    /// when the base unit is set, `Item.Table.al` "Base Unit of Measure" OnValidate) and the
    /// units set with [`Store::set_item_unit`], by (`Item_No`, `Code`), each with a version.
    pub(crate) fn item_units_page(&self, company: Uuid) -> Vec<(Map<String, Value>, u64)> {
        let Some(data) = self.company(company) else {
            return Vec::new();
        };
        let mut units: std::collections::BTreeMap<(String, String), f64> = data
            .table(Entity::Item)
            .filter_map(|(_, row)| {
                let number = text(&row.fields, "number");
                let base = text(&row.fields, "baseUnitOfMeasureCode");
                (!number.is_empty() && !base.is_empty()).then_some(((number, base), 1.0))
            })
            .collect();
        units.extend(data.item_units.iter().map(|(k, q)| (k.clone(), *q)));
        units
            .into_iter()
            .enumerate()
            .filter_map(|(i, ((item, code), qty))| {
                match json!({
                    "Item_No": item, "Code": code, "Qty_per_Unit_of_Measure": number(qty),
                    "Height": 0, "Width": 0, "Length": 0, "Cubage": 0, "Weight": 0,
                }) {
                    Value::Object(row) => Some((row, i as u64 + 1)),
                    _ => None,
                }
            })
            .collect()
    }
}
