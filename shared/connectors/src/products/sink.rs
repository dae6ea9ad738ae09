//! The Business Central side of the products flow: find the item (by link, by SKU = item
//! number, by the SystemId the sync gives every item it creates), then create or update it,
//! with its category and picture; variants are in `variants`.
//!
//! Outcomes, by rule (each one tested, and listed in the README):
//! - **first run**: an item that already exists in BC with the SKU as its number is
//!   matched and updated, never duplicated (create-only fields are not sent to it);
//! - **create** is idempotent: a create retried after a crash finds the first one (BC
//!   refuses the second with `Internal_EntityWithSameKeyExists`);
//! - **unchanged** fields are not sent; nothing changed: no write at all;
//! - **two Lightspeed items with one SKU**: the first one linked keeps the BC item; the
//!   other is skipped with a warning naming both;
//! - **a SKU changed** in Lightspeed renumbers the linked BC item (its history follows, as
//!   BC's rename does), unless the new SKU is already another BC item: then the record
//!   fails naming `item.number` and both items (`item.number` set to `create_only` keeps
//!   BC's numbers as they were created);
//! - **publish = draft**: new items are created blocked; updates never unblock an item a
//!   person blocked. **archived = block**: the item is blocked, and unblocked when it is
//!   restored in Lightspeed only if the sync had blocked it;
//! - **category**: found by its code (the plain one, or the hashed one when the plain one
//!   belongs to another category) and created when missing (setting `categories = create`;
//!   with `existing`, a missing one is a warning); a category whose `displayName` is the
//!   path or its last segment (any case) is taken as the path's;
//! - **image**: a step of its own, after the item (`picture`): the item never waits for
//!   its image. (A command made before that, with the image in the item command, is still
//!   uploaded here: when its identity changed since the last upload and its bytes differ.)
//!   A removed image leaves the BC picture as it is.
//!
//! Warnings of the sink are logged and appear in the activity log among what was sent.

use std::sync::Arc;

use async_trait::async_trait;
use lsbc_business_central::{BusinessCentral, EntitySet, Filter, Record};
use lsbc_core::ports::{Action, LinkStore, PushRequest, Sink, SinkOutcome};
use lsbc_core::{ContentHash, ExternalError, ExternalKind, Flow, RecordKey, StageError, System};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::command::{CategoryTarget, ImageRef, ItemCommand, ProductCommand};
use super::images::{ImageError, ImageFetcher};
use super::keys::{ProductKey, category_system_id};
use crate::business_central::{ClientIds, Trail, Writer};
use crate::ids::{IdScope, IdScopes};

/// On an item's link: the sync created the item.
pub(super) const CREATED_BY_SYNC: &str = "created_by_sync";

/// The products flow's sink.
#[derive(Clone)]
pub struct ProductSink {
    pub(super) writer: Writer,
    pub(super) links: Arc<dyn LinkStore>,
    pub(super) images: Arc<dyn ImageFetcher>,
    pub(super) scopes: Arc<IdScopes>,
}

impl std::fmt::Debug for ProductSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProductSink").finish_non_exhaustive()
    }
}

impl ProductSink {
    /// A sink writing through `bc`, reading links to recognise shared SKUs, downloading
    /// images with `images`.
    pub fn new(
        bc: BusinessCentral,
        links: Arc<dyn LinkStore>,
        images: Arc<dyn ImageFetcher>,
    ) -> Self {
        Self {
            writer: Writer::new(bc),
            links,
            images,
            scopes: Arc::new(IdScopes::unscoped()),
        }
    }

    /// Derives the ids it gives BC records with the account the deployment recorded in
    /// `scopes` (without it, from the Lightspeed id alone).
    #[must_use]
    pub fn with_scopes(mut self, scopes: Arc<IdScopes>) -> Self {
        self.scopes = scopes;
        self
    }

    pub(super) async fn scope(&self) -> Result<IdScope, StageError> {
        Ok(self.scopes.of().await?)
    }

    /// Reads and keeps how BC answers a client-chosen `id` in `ids` (shared by every sink
    /// of the process and kept in the state store); without it, found in memory.
    #[must_use]
    pub fn with_client_ids(mut self, ids: Arc<ClientIds>) -> Self {
        self.writer = self.writer.with_client_ids(ids);
        self
    }

    /// The BC item of `cmd`, if it exists, and whether it is ours (found by link or by the
    /// SystemId the sync gave it) rather than matched by its number.
    async fn find_item(
        &self,
        key: &RecordKey,
        cmd: &ItemCommand,
        owner: ProductKey,
        link_target: Option<&str>,
    ) -> Result<Option<(Record, bool)>, StageError> {
        if let Some(id) = link_target.and_then(|t| t.parse::<Uuid>().ok())
            && let Some(r) = self.writer.get(key, EntitySet::Items, id).await?
        {
            return Ok(Some((r, true)));
        }
        let derived = owner.item_system_id(&self.scope().await?);
        if let Some(r) = self.item_with_sku(key, cmd).await? {
            let ours = r.id() == Some(derived);
            return Ok(Some((r, ours)));
        }
        Ok(self
            .writer
            .get(key, EntitySet::Items, derived)
            .await?
            .map(|r| (r, true)))
    }

    /// The BC item holding the command's SKU: numbered with it, or (setting
    /// `item_numbers = business_central`) with it as `displayName2`.
    async fn item_with_sku(
        &self,
        key: &RecordKey,
        cmd: &ItemCommand,
    ) -> Result<Option<Record>, StageError> {
        if cmd.bc_numbers {
            self.writer
                .find(
                    key,
                    EntitySet::Items,
                    Filter::eq("displayName2", cmd.number.as_str()),
                )
                .await
        } else {
            self.item_numbered(key, &cmd.number).await
        }
    }

    /// The BC item with this number, if any.
    pub(super) async fn item_numbered(
        &self,
        key: &RecordKey,
        number: &str,
    ) -> Result<Option<Record>, StageError> {
        self.writer
            .find(key, EntitySet::Items, Filter::eq("number", number))
            .await
    }

    /// A SKU changed in Lightspeed renumbers the BC item the sync keeps (BC's rename takes
    /// its variants, ledger entries and document lines along), unless the new number is
    /// already another BC item: then the record fails naming `item.number` and both items,
    /// and the BC item keeps its number until a person merges the two or changes the SKU.
    async fn check_renumber(
        &self,
        key: &RecordKey,
        cmd: &ItemCommand,
        owner: ProductKey,
        current: &Record,
    ) -> Result<(), StageError> {
        let Some(old) = current.str("number") else {
            return Ok(());
        };
        if cmd.bc_numbers || old == cmd.number || !cmd.sends("number", false) {
            return Ok(());
        }
        let Some(taken) = self.item_numbered(key, &cmd.number).await? else {
            return Ok(());
        };
        let Some(taken_id) = taken.id().filter(|id| Some(*id) != current.id()) else {
            return Ok(());
        };
        let held_by = match self.other_owner(owner, taken_id).await? {
            Some(other) => format!(", kept in step with Lightspeed {}", other.describe()),
            None => String::new(),
        };
        Err(StageError::InvalidRecord {
            key: key.clone(),
            field: "item.number".into(),
            reason: format!(
                "the SKU changed from {old} to {new}, but Business Central already has an item {new} (id {taken_id}{held_by}); item {old} keeps its number: merge the two items in Business Central or give the Lightspeed item another SKU, then redrive the record",
                new = cmd.number,
            ),
        })
    }

    /// Another Lightspeed record already linked to BC item `id`, if any.
    pub(super) async fn other_owner(
        &self,
        owner: ProductKey,
        id: Uuid,
    ) -> Result<Option<ProductKey>, StageError> {
        Ok(self
            .links
            .find_by_target(Flow::Products, &id.to_string())
            .await?
            .into_iter()
            .filter_map(|l| ProductKey::parse(l.key.as_str()))
            .map(ProductKey::owner)
            .find(|other| *other != owner))
    }

    fn fields_for(cmd: &ItemCommand, creating: bool) -> Map<String, Value> {
        cmd.item
            .iter()
            .filter(|(name, _)| cmd.sends(name, creating))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// The item category code to send, creating the category when it is missing.
    async fn category_code(
        &self,
        key: &RecordKey,
        cat: &CategoryTarget,
        current: Option<&Record>,
        extra: &mut Map<String, Value>,
        log: &mut Trail,
    ) -> Result<Option<String>, StageError> {
        if let Some(code) = &cat.code {
            return Ok(Some(code.clone()));
        }
        // Resolved by the last push, and the item is still in it: no request.
        if let Some(known) = extra.get("category")
            && known.get("path").and_then(Value::as_str) == Some(cat.path.as_str())
            && let Some(code) = known.get("code").and_then(Value::as_str)
            && current
                .and_then(|c| c.str("itemCategoryCode"))
                .is_some_and(|c| c.eq_ignore_ascii_case(code))
        {
            return Ok(Some(code.to_owned()));
        }
        let derived = category_system_id(&cat.path);
        let theirs = |r: &Record| {
            let name = r.str("displayName").unwrap_or("").trim();
            r.id() == Some(derived)
                || name.eq_ignore_ascii_case(&cat.path)
                || name.eq_ignore_ascii_case(&cat.display_name)
                || (!cat.name.is_empty() && name.eq_ignore_ascii_case(&cat.name))
        };
        let by_code = |code: &str| Filter::eq("code", code);
        let code = match self
            .writer
            .find(key, EntitySet::ItemCategories, by_code(&cat.plain))
            .await?
        {
            Some(r) if theirs(&r) => Some(cat.plain.clone()),
            taken => {
                let code = if taken.is_some() {
                    &cat.hashed
                } else {
                    &cat.plain
                };
                let exists = if taken.is_some() {
                    self.writer
                        .find(key, EntitySet::ItemCategories, by_code(code))
                        .await?
                        .is_some()
                } else {
                    false
                };
                if exists {
                    Some(code.clone())
                } else if cat.create {
                    let body = Map::from_iter([
                        ("code".to_owned(), Value::String(code.clone())),
                        (
                            "displayName".to_owned(),
                            Value::String(cat.display_name.clone()),
                        ),
                    ]);
                    let created = self
                        .writer
                        .create(
                            key,
                            EntitySet::ItemCategories.into(),
                            EntitySet::ItemCategories.into(),
                            derived,
                            body,
                            log,
                        )
                        .await;
                    let record = match created {
                        Ok(written) => written.record,
                        // Another push made it meanwhile (where BC does not keep the id the
                        // sync chose, its duplicate-key refusal cannot be read back by id):
                        // the code is the category's key.
                        Err(e) => match self
                            .writer
                            .find(key, EntitySet::ItemCategories, by_code(code))
                            .await?
                        {
                            Some(r) if theirs(&r) => r,
                            _ => return Err(e),
                        },
                    };
                    Some(
                        record
                            .str("code")
                            .map_or_else(|| code.clone(), str::to_owned),
                    )
                } else {
                    log.warn(
                        Flow::Products,
                        key,
                        &format!(
                            "item category `{}` ({code}) does not exist in Business Central (setting categories = existing); the item's category is left as it is",
                            cat.path
                        ),
                    );
                    None
                }
            }
        };
        if let Some(code) = &code {
            extra.insert("category".into(), json!({"path": cat.path, "code": code}));
        }
        Ok(code)
    }

    /// Uploads the image as the item picture when it changed; whether it did.
    async fn picture(
        &self,
        key: &RecordKey,
        item_id: Uuid,
        image: &ImageRef,
        extra: &mut Map<String, Value>,
        log: &mut Trail,
    ) -> Result<bool, StageError> {
        let known = extra.get("image").cloned().unwrap_or(Value::Null);
        if known.get("identity").and_then(Value::as_str) == Some(image.identity.as_str()) {
            return Ok(false);
        }
        let bytes = match self.images.fetch(&image.url).await {
            Ok(bytes) => bytes,
            Err(ImageError::Transient { url, message }) => {
                return Err(StageError::External(ExternalError::new(
                    System::Lightspeed,
                    ExternalKind::Transient,
                    format!("image {url}: {message}"),
                )));
            }
            Err(other) => {
                log.warn(
                    Flow::Products,
                    key,
                    &format!("{other}; the item picture is left as it is"),
                );
                return Ok(false);
            }
        };
        let sha256 = ContentHash::of_bytes(&bytes).to_hex();
        let remembered = json!({"identity": image.identity, "sha256": sha256});
        if known.get("sha256").and_then(Value::as_str) == Some(sha256.as_str()) {
            extra.insert("image".into(), remembered);
            return Ok(false);
        }
        self.upload_picture(key, item_id, bytes, &sha256, log)
            .await?;
        extra.insert("image".into(), remembered);
        Ok(true)
    }

    async fn upsert_item(
        &self,
        request: PushRequest<'_>,
        cmd: &ItemCommand,
    ) -> Result<SinkOutcome, StageError> {
        let key = request.key;
        let owner = ProductKey::parse(&cmd.source)
            .map(ProductKey::owner)
            .ok_or_else(|| StageError::InvalidRecord {
                key: key.clone(),
                field: "(command).source".into(),
                reason: format!("`{}` is not a products record key", cmd.source),
            })?;
        let mut log = Trail::default();
        let mut extra = request.link.map(|l| l.extra.clone()).unwrap_or_default();
        let found = self
            .find_item(key, cmd, owner, request.link.map(|l| l.target_id.as_str()))
            .await?;
        if let Some((record, false)) = &found
            && let Some(id) = record.id()
            && let Some(other) = self.other_owner(owner, id).await?
        {
            return Err(StageError::Skipped {
                key: key.clone(),
                rule: format!(
                    "its SKU {} is shared with Lightspeed {}, which keeps Business Central item {} in step",
                    cmd.number,
                    other.describe(),
                    record.str("number").unwrap_or(&cmd.number)
                ),
            });
        }
        if let Some((current, true)) = &found {
            self.check_renumber(key, cmd, owner, current).await?;
        }
        let (written, creating) = if let Some((current, _)) = found {
            let desired = self
                .desired_update(key, cmd, &current, &mut extra, &mut log)
                .await?;
            (
                self.writer
                    .update(key, EntitySet::Items.into(), current, &desired, &mut log)
                    .await
                    .map_err(|e| manual_numbers_refused(key, cmd, e))?,
                false,
            )
        } else {
            {
                let mut body = Self::fields_for(cmd, true);
                if cmd.draft || cmd.archived {
                    body.insert("blocked".into(), Value::Bool(true));
                }
                if cmd.archived && !cmd.draft {
                    extra.insert("blocked_by_sync".into(), Value::Bool(true));
                }
                if let Some(cat) = &cmd.category
                    && let Some(code) = self
                        .category_code(key, cat, None, &mut extra, &mut log)
                        .await?
                {
                    body.insert("itemCategoryCode".into(), Value::String(code));
                }
                let created = self
                    .writer
                    .create(
                        key,
                        EntitySet::Items.into(),
                        EntitySet::Items.into(),
                        owner.item_system_id(&self.scope().await?),
                        body,
                        &mut log,
                    )
                    .await
                    .map_err(|e| manual_numbers_refused(key, cmd, e))?;
                // Made by an earlier attempt: bring it up to date.
                let desired = if created.action == Action::Created {
                    Map::new()
                } else {
                    self.desired_update(key, cmd, &created.record, &mut extra, &mut log)
                        .await?
                };
                let written = self
                    .writer
                    .catch_up(key, EntitySet::Items.into(), created, &desired, &mut log)
                    .await?;
                (written, true)
            }
        };
        let item_id = written
            .record
            .id()
            .ok_or_else(|| StageError::InvalidRecord {
                key: key.clone(),
                field: "items.id".into(),
                reason: "Business Central returned an item without id".into(),
            })?;
        let mut action = written.action;
        if let Some(image) = &cmd.image
            && (creating || image.on_update)
            && self
                .picture(key, item_id, image, &mut extra, &mut log)
                .await?
            && action == Action::Unchanged
        {
            action = Action::Updated;
        }
        if let Some(number) = written.record.str("number") {
            extra.insert("number".into(), Value::String(number.to_owned()));
        }
        if creating {
            // For `images = on_create`: the picture goes only to an item the sync made
            // (whatever id Business Central gave it).
            extra.insert(CREATED_BY_SYNC.into(), Value::Bool(true));
        }
        Ok(SinkOutcome {
            action,
            target_id: item_id.to_string(),
            etag: written.record.etag().map(|e| e.as_str().to_owned()),
            extra,
            sent: log.sent,
        })
    }

    /// The fields an existing item should get: update fields, the block rules, the category.
    async fn desired_update(
        &self,
        key: &RecordKey,
        cmd: &ItemCommand,
        current: &Record,
        extra: &mut Map<String, Value>,
        log: &mut Trail,
    ) -> Result<Map<String, Value>, StageError> {
        let mut desired = Self::fields_for(cmd, false);
        let blocked = current
            .get("blocked")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let ours = extra.get("blocked_by_sync").and_then(Value::as_bool) == Some(true);
        if cmd.archived {
            if !blocked {
                desired.insert("blocked".into(), Value::Bool(true));
                extra.insert("blocked_by_sync".into(), Value::Bool(true));
            }
        } else if ours {
            // Restored in Lightspeed: lift the block the sync put, and only that one.
            if blocked {
                desired.insert("blocked".into(), Value::Bool(false));
            }
            extra.remove("blocked_by_sync");
        }
        if let Some(cat) = &cmd.category
            && let Some(code) = self
                .category_code(key, cat, Some(current), extra, log)
                .await?
        {
            desired.insert("itemCategoryCode".into(), Value::String(code));
        }
        Ok(desired)
    }
}

#[async_trait]
impl Sink for ProductSink {
    fn flow(&self) -> Flow {
        Flow::Products
    }

    async fn upsert(&self, request: PushRequest<'_>) -> Result<SinkOutcome, StageError> {
        let cmd: ProductCommand = serde_json::from_value(request.command.clone()).map_err(|e| {
            StageError::InvalidRecord {
                key: request.key.clone(),
                field: "(command)".into(),
                reason: format!("not a product command: {e}"),
            }
        })?;
        match &cmd {
            ProductCommand::Item(item) => self.upsert_item(request, item).await,
            ProductCommand::Variants(variants) => self.upsert_variants(request, variants).await,
            ProductCommand::Picture(picture) => self.upsert_picture(request, picture).await,
        }
    }
}

/// BC's refusal of a typed number when the item series has no *Manual Nos.* (`Item."No."`
/// OnValidate calls `NoSeries.TestManual`; fixture
/// error.application-dialogexception.manual-nos.json has its wording). Retrying cannot
/// help: the record fails at once naming `item.number`, the SKU and both fixes.
fn manual_numbers_refused(key: &RecordKey, cmd: &ItemCommand, error: StageError) -> StageError {
    let StageError::External(external) = &error else {
        return error;
    };
    let message = external.to_string();
    if cmd.bc_numbers || !message.contains("You may not enter numbers manually") {
        return error;
    }
    let series = message
        .split("Manual Nos. in No. Series ")
        .nth(1)
        .and_then(|rest| rest.split('.').next())
        .filter(|code| !code.is_empty())
        .unwrap_or("of items");
    StageError::InvalidRecord {
        key: key.clone(),
        field: "item.number".into(),
        reason: format!(
            "Business Central refuses the SKU {sku} as item number: its item number series {series} does not take manual numbers. Either set the products setting item_numbers = business_central (Business Central numbers new items and the sync keeps the SKU in Description 2), or turn on Manual Nos. for series {series} in Business Central (No. Series page); then redrive the record",
            sku = cmd.number,
        ),
    }
}
