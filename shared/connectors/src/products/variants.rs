//! The variants of a matrix's Business Central item: one command holds up to a hundred of
//! them; it finds the item through the link of the matrix's item command (pushed before it
//! in the same FIFO group), then each variant by the link, by the SystemId the sync gives
//! the variants it creates, or — on the first run — by its code.
//!
//! Outcomes, by rule (each one tested, and listed in the README):
//! - a **new** variant is created with the code the transformer derived (see `codes`); when
//!   that code is taken in BC by a variant that is not this one's, with `V<itemID>`;
//! - an **existing** variant keeps its code (codes are never renamed: documents refer to
//!   them) and gets its description (and other mapped fields) updated when they differ;
//! - **first run**: a BC variant with the derived code that no other Lightspeed variant
//!   owns is taken over (not duplicated); one the sync created (version-5 SystemId) or
//!   another variant owns is never taken over;
//! - **a lost answer** where BC does not keep the SystemId the sync chose: the variant is
//!   found again by its code within the item — the derived code, or the fallback code,
//!   which names the variant's own Lightspeed id — when no other variant owns it;
//! - an **archived** variant is not created; an existing BC variant of it is left as it is
//!   (API v2.0 has no `blocked` on variants and deleting one loses its history);
//! - the matrix's item **not linked yet**: the command waits (`NotReady`); its item skipped
//!   for a **shared SKU**: skipped too, naming the record that keeps the item.

use std::collections::HashSet;
use std::time::Duration;

use lsbc_business_central::{EntityPath, EntitySet, Query, Record};
use lsbc_core::ports::{Action, PushRequest, SinkOutcome};
use lsbc_core::{Flow, RecordKey, StageError};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::command::{VariantTarget, VariantsCommand};
use super::keys::{ProductKey, variant_system_id};
use super::sink::ProductSink;
use crate::business_central::{Trail, external};

/// How long variants wait for their item's command before they look again.
const WAIT_FOR_ITEM: Duration = Duration::from_mins(1);

/// The BC variants a command may not take over: those the sync made, and those any part of
/// the matrix's variants (this one included) already owns.
fn taken_ids(links_extra: &[Map<String, Value>]) -> HashSet<Uuid> {
    links_extra
        .iter()
        .filter_map(|extra| extra.get("variants").and_then(Value::as_object))
        .flat_map(|variants| variants.values())
        .filter_map(|v| v.get("id").and_then(Value::as_str))
        .filter_map(|id| id.parse().ok())
        .collect()
}

fn made_by_sync(id: Uuid) -> bool {
    id.get_version() == Some(uuid::Version::Sha1)
}

fn code_of(r: &Record) -> &str {
    r.str("code").unwrap_or("")
}

impl ProductSink {
    /// The matrix's BC item id, from the link of its item command.
    async fn variants_item(
        &self,
        key: &RecordKey,
        cmd: &VariantsCommand,
    ) -> Result<Uuid, StageError> {
        let matrix = ProductKey::parse(&cmd.matrix).ok_or_else(|| StageError::InvalidRecord {
            key: key.clone(),
            field: "(command).matrix".into(),
            reason: format!("`{}` is not a matrix key", cmd.matrix),
        })?;
        let parent = self
            .links
            .get(Flow::Products, &matrix.record_key()?)
            .await?;
        if let Some(id) = parent.and_then(|l| l.target_id.parse::<Uuid>().ok()) {
            return Ok(id);
        }
        if let Some(item) = self.item_numbered(key, &cmd.number).await?
            && let Some(id) = item.id()
            && let Some(other) = self.other_owner(matrix, id).await?
        {
            return Err(StageError::Skipped {
                key: key.clone(),
                rule: format!(
                    "its matrix's SKU {} is shared with Lightspeed {}, which keeps Business Central item {} in step",
                    cmd.number,
                    other.describe(),
                    cmd.number
                ),
            });
        }
        Err(StageError::NotReady {
            key: key.clone(),
            reason: format!(
                "the Business Central item of {} is not linked yet",
                matrix.describe()
            ),
            retry_after: WAIT_FOR_ITEM,
        })
    }

    fn variant_fields(
        cmd: &VariantsCommand,
        v: &VariantTarget,
        creating: bool,
    ) -> Map<String, Value> {
        v.fields
            .iter()
            .filter(|(name, _)| cmd.sends(name, creating))
            .map(|(k, val)| (k.clone(), val.clone()))
            .collect()
    }

    pub(super) async fn upsert_variants(
        &self,
        request: PushRequest<'_>,
        cmd: &VariantsCommand,
    ) -> Result<SinkOutcome, StageError> {
        let key = request.key;
        let item_id = self.variants_item(key, cmd).await?;
        let nested = EntityPath::nested(EntitySet::Items, item_id, EntitySet::ItemVariants);
        let by_id = EntityPath::collection(EntitySet::ItemVariants);
        let mut existing: Vec<Record> = match self
            .writer
            .client()
            .list_all(nested.clone(), Query::new())
            .await
        {
            Ok(list) => list,
            Err(e) if crate::business_central::is_not_found(&e) => {
                return Err(StageError::NotReady {
                    key: key.clone(),
                    reason: format!(
                        "Business Central item {item_id} of {} no longer exists; it is made again with the matrix's next change",
                        cmd.matrix
                    ),
                    retry_after: WAIT_FOR_ITEM,
                });
            }
            Err(e) => return Err(external(Some(key), e)),
        };

        // What this part and its siblings own already.
        let own = request.link.map(|l| l.extra.clone()).unwrap_or_default();
        let mut extras = vec![own.clone()];
        let matrix = ProductKey::parse(&cmd.matrix);
        if let Some(ProductKey::Matrix(m)) = matrix {
            for part in (1..=cmd.parts).filter(|p| *p != cmd.part) {
                let sibling = ProductKey::Variants { matrix: m, part }.record_key()?;
                if let Some(link) = self.links.get(Flow::Products, &sibling).await? {
                    extras.push(link.extra);
                }
            }
        }
        let mut taken = taken_ids(&extras);
        let known = own
            .get("variants")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();

        let mut log = Trail::default();
        let mut owned = Map::new();
        let (mut created, mut updated) = (false, false);
        let scope = self.scope().await?;
        for v in &cmd.variants {
            let mine = variant_system_id(&scope, v.item_id);
            let linked: Option<Uuid> = known
                .get(&v.item_id.to_string())
                .and_then(|k| k.get("id"))
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok());
            let position = existing
                .iter()
                .position(|r| r.id().is_some() && (r.id() == linked || r.id() == Some(mine)))
                .or_else(|| {
                    (!v.archived)
                        .then(|| {
                            existing.iter().position(|r| {
                                let free = r.id().is_some_and(|id| !taken.contains(&id));
                                // The derived code, unless the sync made that variant for
                                // another one; the fallback code names this variant's own
                                // Lightspeed id, so a free one is this variant's, made by
                                // an attempt whose answer was lost.
                                (free
                                    && r.id().is_some_and(|id| !made_by_sync(id))
                                    && code_of(r).eq_ignore_ascii_case(&v.code))
                                    || (free && code_of(r).eq_ignore_ascii_case(&v.fallback))
                            })
                        })
                        .flatten()
                });
            let written = match position {
                Some(i) if v.archived => {
                    let r = &existing[i];
                    owned.insert(
                        v.item_id.to_string(),
                        json!({"id": r.str("id"), "code": code_of(r), "archived": true}),
                    );
                    continue;
                }
                None if v.archived => continue,
                Some(i) => {
                    let current = existing[i].clone();
                    let desired = Self::variant_fields(cmd, v, false);
                    let written = self
                        .writer
                        .update(key, by_id.clone(), current, &desired, &mut log)
                        .await?;
                    existing[i] = written.record.clone();
                    written
                }
                None => {
                    let code = [&v.code, &v.fallback]
                        .into_iter()
                        .find(|c| !existing.iter().any(|r| code_of(r).eq_ignore_ascii_case(c)))
                        .ok_or_else(|| StageError::InvalidRecord {
                            key: key.clone(),
                            field: format!("variant {}.code", v.item_id),
                            reason: format!(
                                "the codes {} and {} are both taken by other variants of item {}",
                                v.code, v.fallback, cmd.number
                            ),
                        })?
                        .clone();
                    let mut body = Self::variant_fields(cmd, v, true);
                    body.insert("code".into(), Value::String(code));
                    let created = self
                        .writer
                        .create(key, nested.clone(), by_id.clone(), mine, body, &mut log)
                        .await?;
                    let desired = Self::variant_fields(cmd, v, false);
                    let written = self
                        .writer
                        .catch_up(key, by_id.clone(), created, &desired, &mut log)
                        .await?;
                    existing.push(written.record.clone());
                    written
                }
            };
            match written.action {
                Action::Created => created = true,
                Action::Updated => updated = true,
                Action::Unchanged => {}
            }
            if let Some(id) = written.record.id() {
                taken.insert(id);
                owned.insert(
                    v.item_id.to_string(),
                    json!({"id": id.to_string(), "code": code_of(&written.record)}),
                );
            }
        }
        let mut extra = own;
        extra.insert("variants".into(), Value::Object(owned));
        let action = if created {
            Action::Created
        } else if updated {
            Action::Updated
        } else {
            Action::Unchanged
        };
        Ok(SinkOutcome {
            action,
            target_id: item_id.to_string(),
            etag: None,
            extra,
            sent: log.sent,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::products::item_system_id;

    #[test]
    fn ids_the_sync_made_are_recognised() {
        let scope = crate::ids::IdScope::Account("1".into());
        assert!(made_by_sync(variant_system_id(&scope, 5)));
        assert!(made_by_sync(item_system_id(&scope, 5)));
        assert!(!made_by_sync(Uuid::new_v4()));
    }

    #[test]
    fn ids_owned_by_any_part_are_taken() {
        let a = Uuid::new_v4();
        let b = Uuid::new_v4();
        let extras = vec![
            serde_json::from_value(json!({"variants": {"5": {"id": a.to_string(), "code": "RED"}}})).unwrap(),
            serde_json::from_value(json!({"variants": {"9": {"id": b.to_string(), "code": "BLU", "archived": true}}, "other": 1})).unwrap(),
            Map::new(),
        ];
        assert_eq!(taken_ids(&extras), HashSet::from([a, b]));
    }
}
