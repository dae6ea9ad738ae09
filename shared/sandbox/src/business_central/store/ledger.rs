//! The item ledger: stock movements posted as entries, the inventory computed from them
//! (never stored on the item), and the location of each entry.

use jiff::Timestamp;
use serde_json::{Map, json};
use uuid::Uuid;

use super::{CompanyData, LedgerPost, Row, Store, num, number, round2, stamp, text};
use crate::business_central::errors::{BcFault, Outcome};
use crate::business_central::schema::Entity;

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
        let entry_number =
            i64::try_from(data.table(Entity::ItemLedgerEntry).count()).unwrap_or(i64::MAX - 1) + 1;
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
        data.tables
            .entry(Entity::ItemLedgerEntry)
            .or_default()
            .insert(
                id,
                Row {
                    fields,
                    version,
                    seq,
                },
            );
        data.ledger_locations.insert(id, post.location.clone());
        Ok(entry_number)
    }

    pub(super) fn location_code(data: &CompanyData, id: Option<Uuid>) -> Option<String> {
        id.and_then(|id| data.row(Entity::Location, id))
            .map(|r| text(&r.fields, "code"))
    }
}
