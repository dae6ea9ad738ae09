//! Lightspeed item or matrix → the Business Central item command (and, for a matrix, its
//! variant commands).
//!
//! Outcomes, by rule (each one tested, and listed in the README):
//! - **filters** (settings `only_item_types`, `only_categories`, `only_shops`): an item
//!   outside them is skipped, naming the setting; a matrix passes `only_shops` when one of
//!   its variants does;
//! - **archived** in Lightspeed: skipped (setting `archived = skip`, the default; a BC item
//!   already made is left as it is), or synced and blocked (`archived = block`);
//!   an archived **variant** of a live matrix is not created, and an existing BC variant of
//!   it is kept as it is (API v2.0 cannot block variants), with a warning;
//! - **no SKU** (the chosen SKU field and `systemSku` empty) or a SKU over 20 characters:
//!   the record fails, naming `item.number` (an operator fixes the SKU);
//! - **no name**: named `Lightspeed item <id>` (or matrix), with a warning;
//! - **too long** for BC (e.g. `displayName` over 100 characters): truncated, with a
//!   warning naming the field;
//! - **GTIN** (EAN, else UPC) that is not 8, 12, 13 or 14 digits with a right check digit:
//!   not sent, with a warning;
//! - **type**: `default`, `serialized`, `box` → `Inventory` (a box has its own stock);
//!   `non_inventory`, `assembly`, `serialized_assembly` → the setting `virtual_item_type`
//!   (`Non-Inventory` by default; an assembly's stock is kept on its components); a matrix
//!   → `Inventory` with one variant per variant item; sent on create only (BC refuses a
//!   type change once the item has entries);
//! - **`item.blocked`** from a mapping override: ignored with a warning (the `publish` and
//!   `archived` settings decide);
//! - two Lightspeed items with **one SKU**: decided by the sink (the first one linked keeps
//!   the BC item; the other is skipped with a warning naming both).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::settings::{
    ArchivedItems, CategorySync, ImageSync, ItemNumbers, ProductSettings, Publish,
};
use async_trait::async_trait;
use lsbc_business_central::EntitySet;
use lsbc_core::ports::{Transformed, Transformer};
use lsbc_core::{Flow, MatchKey, Record, RecordKey, StageError};
use lsbc_lightspeed::model::{Category, Image, Item, ItemMatrix, ItemShop};
use lsbc_lightspeed::{Kind, normalize_as};
use lsbc_mapping::{Evaluated, Policy};
use serde_json::{Map, Value};

use super::VARIANTS_PER_COMMAND;
use super::aggregate::variants_in;
use super::codes::{category_codes, gtin_problem, variant_codes, variant_fallback};
use super::command::{
    CategoryTarget, ImageRef, ItemCommand, ProductCommand, VariantTarget, VariantsCommand,
};
use super::keys::ProductKey;
use super::picture::split_picture;
use crate::business_central::truncate_to_bc;
use crate::config::{ConfigCache, FlowConfig};
use crate::kit::FlowSettings;

/// The products flow's transformer.
#[derive(Debug)]
pub struct ProductTransformer {
    config: Arc<ConfigCache>,
}

impl ProductTransformer {
    /// A transformer reading its mapping and settings through `config`.
    pub fn new(config: Arc<ConfigCache>) -> Self {
        Self { config }
    }
}

/// What one record's mapping is judged with.
struct Ctx<'a> {
    key: &'a RecordKey,
    config: &'a FlowConfig,
    settings: &'a ProductSettings,
}

impl Ctx<'_> {
    fn invalid(&self, field: impl Into<String>, reason: impl Into<String>) -> StageError {
        StageError::InvalidRecord {
            key: self.key.clone(),
            field: field.into(),
            reason: reason.into(),
        }
    }

    fn skipped(&self, rule: impl Into<String>) -> StageError {
        StageError::Skipped {
            key: self.key.clone(),
            rule: rule.into(),
        }
    }

    fn evaluate(&self, input: &Value) -> Result<Evaluated, StageError> {
        self.config
            .mapping
            .evaluate(input, &self.config.settings)
            .map_err(|e| self.invalid(e.field, e.message))
    }

    /// The filters of the settings; `shops` says whether the record is stocked in one.
    fn filter(
        &self,
        item_type: &str,
        category: Option<&Category>,
        stocked_in: impl Fn(&[u64]) -> bool,
    ) -> Result<(), StageError> {
        let s = self.settings;
        let item_type = if item_type.is_empty() {
            "default"
        } else {
            item_type
        };
        if !s.only_item_types.is_empty()
            && !s
                .only_item_types
                .iter()
                .any(|t| t.eq_ignore_ascii_case(item_type))
        {
            return Err(self.skipped(format!(
                "item type `{item_type}` is not in the setting only_item_types"
            )));
        }
        if !s.only_categories.is_empty() {
            let in_one = category.is_some_and(|c| {
                let path = super::codes::normalized_path(&c.full_path_name);
                s.only_categories.iter().any(|wanted| {
                    let wanted_path = super::codes::normalized_path(wanted);
                    wanted.trim() == c.category_id.get().to_string()
                        || (!wanted_path.is_empty()
                            && (path == wanted_path
                                || path.starts_with(&format!("{wanted_path}/"))))
                })
            });
            if !in_one {
                let name = category.map_or("no category".to_owned(), |c| {
                    format!("category `{}`", c.full_path_name)
                });
                return Err(self.skipped(format!("{name} is not in the setting only_categories")));
            }
        }
        if !s.only_shops.is_empty() && !stocked_in(&s.only_shops) {
            return Err(self.skipped(
                "not stocked in a shop of the setting only_shops (no quantity on hand or reorder level there)",
            ));
        }
        Ok(())
    }
}

fn stocked(shops: &[ItemShop], wanted: &[u64]) -> bool {
    shops.iter().any(|s| {
        wanted.contains(&s.shop_id.get())
            && (s.qoh != 0 || s.reorder_point.unwrap_or(0) > 0 || s.reorder_level.unwrap_or(0) > 0)
    })
}

/// The one image of an item: the first by `ordering`, then `imageID`.
fn first_image(images: &[Image]) -> Option<&Image> {
    images
        .iter()
        .filter(|i| !i.public_id.is_empty())
        .min_by_key(|i| (i.ordering.unwrap_or(i64::MAX), i.image_id.get()))
}

/// What the item command is made from.
struct ItemSource<'a> {
    owner: ProductKey,
    what: &'static str,
    id: u64,
    eval: &'a Evaluated,
    category: Option<&'a Category>,
    images: &'a [Image],
    archived: bool,
}

impl Ctx<'_> {
    fn item_command(
        &self,
        src: &ItemSource<'_>,
    ) -> Result<(ItemCommand, MatchKey, Vec<String>), StageError> {
        let mut warnings = Vec::new();
        let mut fields = src.eval.object("item");
        let number = fields
            .get("number")
            .and_then(Value::as_str)
            .map(|n| n.trim().to_uppercase())
            .unwrap_or_default();
        if number.is_empty() {
            return Err(self.invalid(
                "item.number",
                "no SKU: the SKU field of the setting sku_field and systemSku are empty",
            ));
        }
        let bc_numbers = self.settings.item_numbers == ItemNumbers::BusinessCentral;
        let count = number.chars().count();
        if bc_numbers && count > 50 {
            return Err(self.invalid(
                "item.number",
                format!(
                    "SKU `{number}` has {count} characters; Business Central's Description 2, which keeps the SKU under item_numbers = business_central, holds 50"
                ),
            ));
        }
        if !bc_numbers && count > 20 {
            return Err(self.invalid(
                "item.number",
                format!(
                    "SKU `{number}` has {count} characters; Business Central item numbers hold 20"
                ),
            ));
        }
        if bc_numbers {
            fields.remove("number");
            fields.insert("displayName2".into(), Value::String(number.clone()));
        } else {
            fields.insert("number".into(), Value::String(number.clone()));
        }

        if fields
            .get("displayName")
            .and_then(Value::as_str)
            .is_none_or(|n| n.trim().is_empty())
        {
            let name = format!("Lightspeed {} {}", src.what, src.id);
            warnings.push(format!("no name in Lightspeed; named `{name}`"));
            fields.insert("displayName".into(), Value::String(name));
        }
        if let Some(gtin) = fields
            .get("gtin")
            .and_then(Value::as_str)
            .map(str::to_owned)
            && !gtin.is_empty()
            && let Some(problem) = gtin_problem(&gtin)
        {
            warnings.push(format!(
                "GTIN `{gtin}` {problem}; not sent to Business Central"
            ));
            fields.remove("gtin");
        }
        if fields.remove("blocked").is_some() {
            warnings.push(
                "item.blocked from the mapping is ignored: the settings publish and archived decide"
                    .into(),
            );
        }
        let mapped_category = fields
            .remove("itemCategoryCode")
            .and_then(|v| v.as_str().map(|s| s.trim().to_uppercase()))
            .filter(|c| !c.is_empty());
        fields.remove("itemCategoryId");
        truncate_to_bc(EntitySet::Items, "item", &mut fields, &mut warnings);

        let category = match self.settings.categories {
            CategorySync::Off => None,
            sync => match (mapped_category, src.category) {
                (Some(code), c) => Some(CategoryTarget {
                    path: c.map(|c| c.full_path_name.clone()).unwrap_or_default(),
                    name: c.map(|c| c.name.clone()).unwrap_or_default(),
                    code: Some(code.clone()),
                    plain: code.clone(),
                    hashed: code,
                    display_name: String::new(),
                    create: false,
                }),
                (None, Some(c)) if !c.path().is_empty() => {
                    let path = c.path().join("/");
                    let codes = category_codes(&path);
                    Some(CategoryTarget {
                        name: c.path().last().map(|s| (*s).to_owned()).unwrap_or_default(),
                        code: None,
                        plain: codes.plain,
                        hashed: codes.hashed,
                        display_name: path.chars().take(100).collect(),
                        create: sync == CategorySync::Create,
                        path,
                    })
                }
                (None, _) => None,
            },
        };
        let image = match self.settings.images {
            ImageSync::Off => None,
            sync => first_image(src.images).map(|i| ImageRef {
                identity: format!("{}:{}", i.image_id.get(), i.public_id),
                url: i.url(None),
                on_update: sync == ImageSync::Always,
            }),
        };
        let command = ItemCommand {
            source: src.owner.to_string(),
            number: number.clone(),
            item: fields,
            bc_numbers,
            // The SKU in Description 2 follows every SKU change, whatever the mapping's
            // policy for the field.
            create_only: src
                .eval
                .fields_with(&["item"], Policy::CreateOnly)
                .into_iter()
                .filter(|f| !(bc_numbers && f == "item.displayName2"))
                .collect(),
            update_only: src
                .eval
                .fields_with(&["item"], Policy::UpdateOnly)
                .into_iter()
                .filter(|f| !(bc_numbers && f == "item.displayName2"))
                .collect(),
            draft: self.settings.publish == Publish::Draft,
            archived: src.archived,
            category,
            image,
        };
        let match_key =
            MatchKey::parse(number).map_err(|e| self.invalid("item.number", e.to_string()))?;
        Ok((command, match_key, warnings))
    }

    fn archived(&self, archived: bool, what: &str) -> Result<bool, StageError> {
        if archived && self.settings.archived == ArchivedItems::Skip {
            return Err(self.skipped(format!(
                "{what} archived in Lightspeed (setting archived = skip)"
            )));
        }
        Ok(archived)
    }
}

/// A variant as mapped, before its code is chosen.
struct MappedVariant {
    base: String,
    fields: Map<String, Value>,
    archived: bool,
    notes: Vec<String>,
}

fn encode(command: &ProductCommand, key: &RecordKey) -> Result<Value, StageError> {
    serde_json::to_value(command)
        .map_err(|e| StageError::Config(format!("product command for {key} not encodable: {e}")))
}

impl ProductTransformer {
    fn simple(ctx: &Ctx<'_>, id: u64, record: &Record) -> Result<Vec<Transformed>, StageError> {
        let item = Item::from_json(&record.payload)
            .map_err(|e| ctx.invalid(e.path.clone(), e.message.clone()))?;
        if let Some(matrix) = item.item_matrix_id {
            return Err(ctx.invalid(
                "itemMatrixID",
                format!(
                    "a variant of matrix {} travels with its matrix (record matrix:{})",
                    matrix.get(),
                    matrix.get()
                ),
            ));
        }
        let item_type = record
            .payload
            .get("itemType")
            .and_then(Value::as_str)
            .unwrap_or("");
        ctx.filter(item_type, item.category.as_ref(), |wanted| {
            stocked(&item.item_shops, wanted)
        })?;
        let archived = ctx.archived(item.archived, "item")?;
        let input = normalize_as(Kind::Item, &record.payload);
        let eval = ctx.evaluate(&input)?;
        let (mut command, match_key, warnings) = ctx.item_command(&ItemSource {
            owner: ProductKey::Item(id),
            what: "item",
            id,
            eval: &eval,
            category: item.category.as_ref(),
            images: &item.images,
            archived,
        })?;
        let picture = split_picture(&record.key, &record.version, &match_key, &mut command)?;
        let mut out = vec![Transformed {
            key: record.key.clone(),
            match_key,
            command: encode(&ProductCommand::Item(command), &record.key)?,
            warnings,
        }];
        out.extend(picture);
        Ok(out)
    }

    fn matrix(ctx: &Ctx<'_>, id: u64, record: &Record) -> Result<Vec<Transformed>, StageError> {
        let matrix = ItemMatrix::from_json(&record.payload)
            .map_err(|e| ctx.invalid(e.path.clone(), e.message.clone()))?;
        let item_type = record
            .payload
            .get("itemType")
            .and_then(Value::as_str)
            .unwrap_or("");
        ctx.filter(item_type, matrix.category.as_ref(), |wanted| {
            matrix.items.iter().any(|v| stocked(&v.item_shops, wanted))
        })?;
        let archived = ctx.archived(matrix.archived, "matrix")?;
        let mut input = normalize_as(Kind::ItemMatrix, &record.payload);
        let eval = ctx.evaluate(&input)?;
        let (mut command, match_key, warnings) = ctx.item_command(&ItemSource {
            owner: ProductKey::Matrix(id),
            what: "matrix",
            id,
            eval: &eval,
            category: matrix.category.as_ref(),
            images: &matrix.images,
            archived,
        })?;
        let number = command.number.clone();
        let picture = split_picture(&record.key, &record.version, &match_key, &mut command)?;
        let mut out = vec![Transformed {
            key: record.key.clone(),
            match_key: match_key.clone(),
            command: encode(&ProductCommand::Item(command), &record.key)?,
            warnings,
        }];

        // The variants: each mapped with its matrix (without the variants) as `ItemMatrix`.
        if let Value::Object(m) = &mut input {
            m.remove("Items");
        }
        let mut mapped: BTreeMap<u64, MappedVariant> = BTreeMap::new();
        let mut create_only = Vec::new();
        let mut update_only = Vec::new();
        for raw in variants_in(&record.payload) {
            let raw = Value::Object(raw);
            let variant = Item::from_json(&raw)
                .map_err(|e| ctx.invalid(format!("Items.Item.{}", e.path), e.message.clone()))?;
            let mut variant_input = normalize_as(Kind::Item, &raw);
            if let Value::Object(v) = &mut variant_input {
                v.insert("ItemMatrix".into(), input.clone());
            }
            let eval = ctx.evaluate(&variant_input)?;
            let mut fields = eval.object("variant");
            let base = fields
                .remove("code")
                .and_then(|c| c.as_str().map(str::to_owned))
                .unwrap_or_default();
            let mut notes = Vec::new();
            let item_id = variant.item_id.get();
            truncate_to_bc(
                EntitySet::ItemVariants,
                &format!("variant {item_id}"),
                &mut fields,
                &mut notes,
            );
            if variant.archived {
                notes.push(format!(
                    "variant {item_id} is archived in Lightspeed: not created, and a Business Central variant of it is kept as it is (API v2.0 cannot block variants)"
                ));
            }
            create_only = eval.fields_with(&["variant"], Policy::CreateOnly);
            update_only = eval.fields_with(&["variant"], Policy::UpdateOnly);
            mapped.insert(
                item_id,
                MappedVariant {
                    base,
                    fields,
                    archived: variant.archived,
                    notes,
                },
            );
        }
        let codes = variant_codes(mapped.iter().map(|(id, m)| (*id, m.base.as_str())));
        let per = VARIANTS_PER_COMMAND;
        let parts = mapped.len().div_ceil(per);
        let all: Vec<(u64, MappedVariant)> = mapped.into_iter().collect();
        for (i, chunk) in all.chunks(per).enumerate() {
            let part = i + 1;
            let key = ProductKey::Variants { matrix: id, part }.record_key()?;
            let mut warnings = Vec::new();
            let variants = chunk
                .iter()
                .map(|(item_id, m)| {
                    warnings.extend(m.notes.iter().cloned());
                    VariantTarget {
                        item_id: *item_id,
                        code: codes
                            .get(item_id)
                            .cloned()
                            .unwrap_or_else(|| variant_fallback(*item_id)),
                        fallback: variant_fallback(*item_id),
                        fields: m.fields.clone(),
                        archived: m.archived,
                    }
                })
                .collect();
            let command = ProductCommand::Variants(VariantsCommand {
                matrix: record.key.to_string(),
                number: number.clone(),
                part,
                parts,
                variants,
                create_only: create_only.clone(),
                update_only: update_only.clone(),
            });
            out.push(Transformed {
                command: encode(&command, &key)?,
                key,
                match_key: match_key.clone(),
                warnings,
            });
        }
        out.extend(picture);
        Ok(out)
    }
}

#[async_trait]
impl Transformer for ProductTransformer {
    fn flow(&self) -> Flow {
        Flow::Products
    }

    async fn transform(&self, record: &Record) -> Result<Vec<Transformed>, StageError> {
        let config = self.config.get(Flow::Products).await?;
        let settings = ProductSettings::from_stored(Some(&config.settings))
            .map_err(|e| StageError::Config(e.to_string()))?;
        let ctx = Ctx {
            key: &record.key,
            config: &config,
            settings: &settings,
        };
        match ProductKey::parse(record.key.as_str()) {
            Some(ProductKey::Item(id)) => Self::simple(&ctx, id, record),
            Some(ProductKey::Matrix(id)) => Self::matrix(&ctx, id, record),
            Some(ProductKey::Variants { .. }) | None => Err(ctx.invalid(
                "(key)",
                "not a products record key (item:<itemID> or matrix:<itemMatrixID>)",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::default_mapper;
    use jiff::Timestamp;
    use lsbc_core::memory::MemoryStore;
    use lsbc_core::ports::{MappingStore, SettingsStore};
    use lsbc_core::{Flow, SourceVersion};
    use serde_json::json;

    use super::*;

    async fn transformer(settings: Value, mapping: Option<Value>) -> ProductTransformer {
        let store = Arc::new(MemoryStore::new());
        let at = Timestamp::UNIX_EPOCH;
        store
            .save_settings(Flow::Products, settings, 0, "test", at)
            .await
            .unwrap();
        if let Some(mapping) = mapping {
            store
                .save_mapping(Flow::Products, mapping, 0, "test", at)
                .await
                .unwrap();
        }
        let mapper = Arc::new(default_mapper().unwrap());
        ProductTransformer::new(Arc::new(ConfigCache::new(store, mapper)))
    }

    fn item(id: u64, extra: Value) -> Value {
        let mut item = json!({
            "itemID": id.to_string(), "systemSku": format!("21{id:010}"), "customSku": format!("SKU-{id}"),
            "manufacturerSku": "", "upc": "", "ean": "", "description": format!("Item {id}"),
            "defaultCost": "4.5", "archived": "false", "itemType": "default", "itemMatrixID": "0",
            "categoryID": "0", "timeStamp": "2026-01-01T00:00:00+00:00",
            "Prices": {"ItemPrice": [{"amount": "9.99", "useTypeID": "1", "useType": "Default"}]}
        });
        if let (Value::Object(i), Value::Object(e)) = (&mut item, extra) {
            i.extend(e);
        }
        item
    }

    fn record(key: &str, payload: Value) -> Record {
        Record {
            flow: Flow::Products,
            key: RecordKey::parse(key).unwrap(),
            version: SourceVersion::Timestamp(Timestamp::UNIX_EPOCH),
            payload,
        }
    }

    async fn one(
        t: &ProductTransformer,
        payload: Value,
    ) -> Result<(ItemCommand, Transformed), StageError> {
        let id = payload["itemID"].as_str().unwrap().to_owned();
        let mut out = t.transform(&record(&format!("item:{id}"), payload)).await?;
        assert!(matches!(out.len(), 1 | 2), "{out:?}");
        let picture = out.get(1).cloned();
        let t = out.remove(0);
        let ProductCommand::Item(mut cmd) = serde_json::from_value(t.command.clone()).unwrap()
        else {
            panic!("not an item command");
        };
        assert!(cmd.image.is_none(), "the image travels on its own");
        // The picture: its own command, after the item, in the item's FIFO group.
        if let Some(p) = picture {
            assert_eq!(p.key.as_str(), format!("item:{id}:picture"));
            assert_eq!(p.match_key, t.match_key);
            let ProductCommand::Picture(picture) = serde_json::from_value(p.command).unwrap()
            else {
                panic!("not a picture command");
            };
            assert_eq!(picture.item, format!("item:{id}"));
            assert_eq!(picture.number, cmd.number);
            cmd.image = Some(picture.image);
        }
        Ok((cmd, t))
    }

    fn category(id: u64, path: &str) -> Value {
        let name = path.rsplit('/').next().unwrap();
        json!({"categoryID": id.to_string(), "name": name, "fullPathName": path})
    }

    #[tokio::test]
    async fn filters_and_archives_skip_naming_the_rule() {
        let t = transformer(
            json!({"only_item_types": ["default"], "only_categories": ["Apparel", "7"]}),
            None,
        )
        .await;
        let skip = |r: Result<_, StageError>| match r {
            Err(StageError::Skipped { rule, .. }) => rule,
            other => panic!("expected a skip, got {other:?}"),
        };
        let boxed = item(
            1,
            json!({"itemType": "box", "Category": category(3, "Apparel")}),
        );
        assert!(skip(one(&t, boxed).await).contains("only_item_types"));
        let elsewhere = item(2, json!({"Category": category(3, "Apparelling")}));
        assert!(
            skip(one(&t, elsewhere).await)
                .contains("`Apparelling` is not in the setting only_categories")
        );
        let none = item(3, json!({}));
        assert!(skip(one(&t, none).await).contains("no category"));
        assert!(
            one(
                &t,
                item(4, json!({"Category": category(3, "apparel/Shirts")}))
            )
            .await
            .is_ok()
        );
        assert!(
            one(&t, item(5, json!({"Category": category(7, "Shoes")})))
                .await
                .is_ok()
        );
        let archived = item(
            6,
            json!({"archived": "true", "Category": category(7, "Shoes")}),
        );
        assert!(skip(one(&t, archived).await).contains("archived = skip"));

        let t = transformer(json!({"only_shops": [2], "archived": "block"}), None).await;
        let shops = |qoh: &str, reorder: &str| {
            json!({"ItemShops": {"ItemShop": [
            {"itemShopID": "1", "itemID": "8", "shopID": "1", "qoh": "5"},
            {"itemShopID": "2", "itemID": "8", "shopID": "2", "qoh": qoh, "reorderLevel": reorder}]}})
        };
        assert!(skip(one(&t, item(8, shops("0", "0"))).await).contains("only_shops"));
        assert!(one(&t, item(8, shops("-1", "0"))).await.is_ok());
        assert!(one(&t, item(8, shops("0", "3"))).await.is_ok());
        let mut archived = item(9, json!({"archived": "true"}));
        archived["ItemShops"] = shops("1", "0")["ItemShops"].clone();
        let (cmd, _) = one(&t, archived).await.unwrap();
        assert!(
            cmd.archived,
            "archived = block: synced, blocked by the sink"
        );
    }

    #[tokio::test]
    async fn skus_follow_the_setting_and_bad_ones_fail_naming_the_field() {
        let t = transformer(json!({}), None).await;
        let (cmd, out) = one(&t, item(1, json!({"customSku": "  ab-12 "})))
            .await
            .unwrap();
        assert_eq!(
            (cmd.number.as_str(), out.match_key.as_str()),
            ("AB-12", "AB-12")
        );
        assert_eq!(cmd.item["number"], "AB-12");
        let (cmd, _) = one(&t, item(2, json!({"customSku": ""}))).await.unwrap();
        assert_eq!(cmd.number, "210000000002", "falls back to systemSku");
        let invalid = |r: Result<_, StageError>| match r {
            Err(StageError::InvalidRecord { field, reason, .. }) => format!("{field}: {reason}"),
            other => panic!("expected an invalid record, got {other:?}"),
        };
        let long = invalid(one(&t, item(3, json!({"customSku": "X".repeat(21)}))).await);
        assert!(
            long.starts_with("item.number: SKU") && long.contains("21 characters"),
            "{long}"
        );
        let none = invalid(one(&t, item(4, json!({"customSku": "", "systemSku": ""}))).await);
        assert!(none.starts_with("item.number: no SKU"), "{none}");

        let t = transformer(json!({"sku_field": "manufacturer_sku"}), None).await;
        let (cmd, _) = one(&t, item(5, json!({"manufacturerSku": "MFR-5"})))
            .await
            .unwrap();
        assert_eq!(cmd.number, "MFR-5");
        let (cmd, _) = one(&t, item(6, json!({}))).await.unwrap();
        assert_eq!(cmd.number, "210000000006");
    }

    #[tokio::test]
    async fn names_gtins_and_lengths_are_checked_with_warnings() {
        let t = transformer(json!({"virtual_item_type": "service"}), None).await;
        let (cmd, out) = one(
            &t,
            item(1, json!({"ean": "4006381333932", "description": " "})),
        )
        .await
        .unwrap();
        assert!(!cmd.item.contains_key("gtin"));
        assert_eq!(cmd.item["displayName"], "Lightspeed item 1");
        assert_eq!(out.warnings.len(), 2, "{:?}", out.warnings);
        assert!(out.warnings[0].contains("no name"));
        assert!(out.warnings[1].contains("GTIN `4006381333932` check digit is 2, should be 1"));

        let (cmd, out) = one(&t, item(2, json!({"upc": "036000291452", "description": "é".repeat(120), "itemType": "non_inventory"}))).await.unwrap();
        assert_eq!(cmd.item["gtin"], "036000291452", "UPC when there is no EAN");
        assert_eq!(
            cmd.item["displayName"].as_str().unwrap().chars().count(),
            100
        );
        assert_eq!(
            out.warnings,
            ["item.displayName truncated to 100 characters (was 120)"]
        );
        assert_eq!(cmd.item["type"], "Service");
        assert!(!cmd.item.contains_key("inventoryPostingGroupCode"));
        assert!(cmd.create_only.contains(&"item.type".to_owned()));
        let (cmd, _) = one(&t, item(4, json!({"Prices": "", "defaultCost": ""})))
            .await
            .unwrap();
        assert!(!cmd.item.contains_key("unitPrice") && !cmd.item.contains_key("unitCost"));
        for (kind, bc) in [
            ("assembly", "Service"),
            ("box", "Inventory"),
            ("serialized", "Inventory"),
        ] {
            let (cmd, _) = one(&t, item(3, json!({"itemType": kind}))).await.unwrap();
            assert_eq!(cmd.item["type"], bc, "{kind}");
        }
    }

    #[tokio::test]
    async fn categories_and_images_become_targets_per_the_settings() {
        let images = json!({"Image": [
            {"imageID": "9", "ordering": "2", "publicID": "second", "baseImageURL": "https://img.example/"},
            {"imageID": "4", "ordering": "1", "publicID": "first", "baseImageURL": "https://img.example/"}]});
        let payload = item(
            1,
            json!({"Category": category(3, "Apparel/T-Shirts"), "Images": images}),
        );
        let t = transformer(json!({}), None).await;
        let (cmd, _) = one(&t, payload.clone()).await.unwrap();
        let cat = cmd.category.unwrap();
        assert_eq!(
            (
                cat.plain.as_str(),
                cat.display_name.as_str(),
                cat.name.as_str()
            ),
            ("APPAREL-T-SHIRTS", "Apparel/T-Shirts", "T-Shirts")
        );
        assert!(cat.create && cat.code.is_none());
        let image = cmd.image.unwrap();
        assert_eq!(image.identity, "4:first");
        assert_eq!(image.url, "https://img.example/first.jpg");
        assert!(image.on_update);

        let t = transformer(
            json!({"categories": "existing", "images": "on_create"}),
            None,
        )
        .await;
        let (cmd, _) = one(&t, payload.clone()).await.unwrap();
        assert!(!cmd.category.unwrap().create);
        assert!(!cmd.image.unwrap().on_update);
        let t = transformer(json!({"categories": "off", "images": "off"}), None).await;
        let (cmd, _) = one(&t, payload.clone()).await.unwrap();
        assert!(cmd.category.is_none() && cmd.image.is_none());

        // A mapping table from Lightspeed categories to existing BC categories wins.
        let mapping = json!({
            "fields": {"item.itemCategoryCode": {"lookup": {"table": "category", "expr": ".Category.fullPathName", "default": null}}},
            "tables": {"category": {"Apparel/T-Shirts": "tops"}}
        });
        let t = transformer(json!({}), Some(mapping)).await;
        let (cmd, _) = one(&t, payload).await.unwrap();
        let cat = cmd.category.unwrap();
        assert_eq!(cat.code.as_deref(), Some("TOPS"));
        assert!(!cat.create);
        assert!(!cmd.item.contains_key("itemCategoryCode"));
    }

    #[tokio::test]
    async fn the_short_description_loses_its_html() {
        let t = transformer(json!({}), None).await;
        let web = json!({"ItemECommerce": {"itemECommerceID": "4",
            "shortDescription": "<p>Our <strong>Tee</strong>, in&nbsp;every size</p><p>Fish &amp; chips<br/>&lt;3</p>",
            "longDescription": "", "listOnStore": "true"}});
        let (cmd, _) = one(&t, item(1, web)).await.unwrap();
        assert_eq!(
            cmd.item["displayName2"],
            "Our Tee, in every size Fish & chips <3"
        );
        let blank =
            json!({"ItemECommerce": {"itemECommerceID": "5", "shortDescription": "<p> </p>"}});
        let (cmd, _) = one(&t, item(2, blank)).await.unwrap();
        assert!(!cmd.item.contains_key("displayName2"));
    }

    #[tokio::test]
    async fn characteristics_map_to_item_fields_through_lookup_tables() {
        // BC API v2.0 has no item attributes: a characteristic goes into an item field.
        let mapping = json!({
            "fields": {
                "item.displayName2": {
                    "lookup": {"table": "origin", "default": null,
                               "expr": ".CustomFieldValues | map(select(.name == \"Country of origin\")) | .[0].value? // \"\""},
                    "policy": "create_only"
                },
                "item.blocked": {"const": false}
            },
            "tables": {"origin": {"PT": "Made in Portugal", "IT": "Made in Italy"}}
        });
        let t = transformer(json!({}), Some(mapping)).await;
        let fields = json!({"CustomFieldValues": {"CustomFieldValue": [
            {"customFieldID": "1", "name": "Lead time", "value": "3 weeks"},
            {"customFieldID": "2", "name": "Country of origin", "value": "PT"}]}});
        let (cmd, out) = one(&t, item(1, fields)).await.unwrap();
        assert_eq!(cmd.item["displayName2"], "Made in Portugal");
        assert!(!cmd.item.contains_key("blocked"));
        assert!(out.warnings[0].contains("item.blocked from the mapping is ignored"));
        let (cmd, _) = one(&t, item(2, json!({}))).await.unwrap();
        assert!(!cmd.item.contains_key("displayName2"));
    }

    #[tokio::test]
    async fn large_matrices_are_split_into_ordered_variant_commands() {
        let variants: Vec<Value> = (0..250u64)
            .map(|n| {
                let mut v = item(1000 + n, json!({"itemMatrixID": "7", "archived": if n == 3 { "true" } else { "false" }}));
                v["ItemAttributes"] = json!({"attribute1": "Black", "attribute2": format!("Size {}", n % 5), "attribute3": "", "itemAttributeSetID": "1"});
                v
            })
            .collect();
        let matrix = json!({
            "itemMatrixID": "7", "description": "Tee", "itemType": "default", "archived": "false",
            "defaultCost": "3", "timeStamp": "2026-01-01T00:00:00+00:00",
            "Prices": {"ItemPrice": {"amount": "20", "useType": "Default"}},
            "attribute1Values": "Black", "attribute2Values": ["Size 0", "Size 1"],
            "Items": {"Item": variants}
        });
        let t = transformer(json!({}), None).await;
        let out = t.transform(&record("matrix:7", matrix)).await.unwrap();
        let keys: Vec<&str> = out.iter().map(|t| t.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "matrix:7",
                "matrix:7:variants:1",
                "matrix:7:variants:2",
                "matrix:7:variants:3"
            ]
        );
        assert!(out.iter().all(|t| t.match_key.as_str() == "MATRIX-7"));
        let mut codes = std::collections::BTreeSet::new();
        let mut count = 0;
        for (i, t) in out.iter().skip(1).enumerate() {
            let ProductCommand::Variants(cmd) = serde_json::from_value(t.command.clone()).unwrap()
            else {
                panic!("not variants");
            };
            assert_eq!(
                (cmd.part, cmd.parts, cmd.number.as_str()),
                (i + 1, 3, "MATRIX-7")
            );
            for v in &cmd.variants {
                assert!(v.code.len() <= 10, "{}", v.code);
                codes.insert(v.code.clone());
                count += 1;
            }
            if i == 0 {
                assert_eq!(cmd.variants[0].code, "BLK-SIZE-0");
                assert_eq!(cmd.variants[0].fields["description"], "Black / Size 0");
                assert!(cmd.variants[3].archived);
                assert!(t.warnings[0].contains("variant 1003 is archived"));
                assert_eq!(
                    cmd.variants[5].code, "BLK-S0",
                    "second Size 0: its code is taken, its abbreviation is not"
                );
            }
            assert!(t.command.to_string().len() < 64 * 1024);
        }
        assert_eq!(
            (count, codes.len()),
            (250, 250),
            "every variant once, codes unique"
        );
    }

    #[tokio::test]
    async fn only_record_keys_are_transformed() {
        let t = transformer(json!({}), None).await;
        let err = t
            .transform(&record("matrix:7:variants:1", json!({})))
            .await
            .unwrap_err();
        assert!(matches!(err, StageError::InvalidRecord { .. }), "{err}");
        let err = t
            .transform(&record("item:5", item(5, json!({"itemMatrixID": "7"}))))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("travels with its matrix"), "{err}");
    }
}
