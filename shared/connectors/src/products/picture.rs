//! An item's picture as its own step. The image an item has in Lightspeed is fetched from
//! where Lightspeed keeps it (its image CDN) — a host the item itself does not depend on. So
//! the transform sends it as a command of its own (`item:<id>:picture`,
//! `matrix:<id>:picture`), after the item's commands in the item's FIFO group, and the item
//! is created or updated whether or not its image can be fetched:
//!
//! - the picture is uploaded once its item is in Business Central (found by the item's
//!   link), when its identity changed since the last upload and its bytes differ (the
//!   SHA-256 is kept on the picture's link);
//! - an image host that refuses connections, times out or fails (5xx, 408, 429) fails the
//!   picture alone: its message is retried on its own, the item's fields never wait for
//!   it. After [`PICTURE_ATTEMPTS`] attempts the picture is given up for now, with a
//!   warning, and tried again with the item's next change;
//! - an image the host refuses for good (4xx) or too large is a warning; the picture is
//!   left as it is;
//! - with `images = on_create`, a picture goes only to an item the sync created, once.
//!
//! The picture's link names its item and keeps the image's identity and hash (`image`),
//! or, while it is failing, the attempts so far (`image_pending`).

use bytes::Bytes;
use lsbc_core::ports::{Action, Link, PushRequest, SinkOutcome, Transformed};
use lsbc_core::{
    ContentHash, ExternalError, ExternalKind, Flow, MatchKey, RecordKey, SourceVersion, StageError,
    System,
};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::command::{ItemCommand, PictureCommand, ProductCommand};
use super::images::ImageError;
use super::keys::ProductKey;
use super::sink::{CREATED_BY_SYNC, ProductSink};
use crate::business_central::{Trail, external};

/// Attempts at fetching an image before the picture is given up until the item's next
/// change (each attempt is one delivery of the picture's message).
pub const PICTURE_ATTEMPTS: u64 = 3;

/// The hash a failing picture's link carries: never a command's, so the next delivery of
/// the same command reaches the sink.
const PENDING_HASH: &[u8] = b"lsbc: picture pending";

/// Takes the image out of an item command and makes it the picture's command (`None`
/// without an image).
pub(super) fn split_picture(
    key: &RecordKey,
    version: &SourceVersion,
    match_key: &MatchKey,
    command: &mut ItemCommand,
) -> Result<Option<Transformed>, StageError> {
    let Some(image) = command.image.take() else {
        return Ok(None);
    };
    let picture = ProductCommand::Picture(PictureCommand {
        item: key.as_str().to_owned(),
        number: command.number.clone(),
        image,
        item_version: version.to_string(),
    });
    let picture_key = RecordKey::parse(format!("{key}:picture"))
        .map_err(|e| StageError::Config(format!("picture key of {key}: {e}")))?;
    let command = serde_json::to_value(&picture)
        .map_err(|e| StageError::Config(format!("picture command for {key} not encodable: {e}")))?;
    Ok(Some(Transformed {
        key: picture_key,
        match_key: match_key.clone(),
        command,
        warnings: Vec::new(),
    }))
}

/// What became of a fetch.
enum Fetched {
    /// The bytes.
    Bytes(Bytes),
    /// Not now: try again.
    Later(String),
    /// Not at all: a warning.
    Never(String),
}

impl ProductSink {
    /// Uploads `bytes` (hashed `sha256`) as the picture of item `item_id`, noting the request.
    pub(super) async fn upload_picture(
        &self,
        key: &RecordKey,
        item_id: Uuid,
        bytes: Bytes,
        sha256: &str,
        log: &mut Trail,
    ) -> Result<(), StageError> {
        log.sent.push(json!({
            "method": "PATCH",
            "path": format!("items({item_id})/picture/pictureContent"),
            "bytes": bytes.len(),
            "sha256": sha256,
        }));
        self.writer
            .client()
            .upload_item_picture(item_id, bytes, None)
            .await
            .map_err(|e| external(Some(key), e))
    }

    async fn fetch(&self, url: &str) -> Fetched {
        match self.images.fetch(url).await {
            Ok(bytes) => Fetched::Bytes(bytes),
            Err(ImageError::Transient { url, message }) => {
                Fetched::Later(format!("image {url}: {message}"))
            }
            Err(other) => Fetched::Never(other.to_string()),
        }
    }

    /// Uploads the picture of an item already in Business Central, as the module explains.
    pub(super) async fn upsert_picture(
        &self,
        request: PushRequest<'_>,
        cmd: &PictureCommand,
    ) -> Result<SinkOutcome, StageError> {
        let key = request.key;
        let item_key =
            RecordKey::parse(cmd.item.clone()).map_err(|e| StageError::InvalidRecord {
                key: key.clone(),
                field: "(command).item".into(),
                reason: e.to_string(),
            })?;
        let owner = ProductKey::parse(&cmd.item).ok_or_else(|| StageError::InvalidRecord {
            key: key.clone(),
            field: "(command).item".into(),
            reason: format!("`{}` is not a products record key", cmd.item),
        })?;
        // Only the item this record keeps: never one matched to another Lightspeed record.
        let Some(item_link) = self.links.get(Flow::Products, &item_key).await? else {
            return Err(StageError::Skipped {
                key: key.clone(),
                rule: format!(
                    "{} does not keep an item in Business Central (it was skipped or failed), so its picture has nowhere to go",
                    owner.describe()
                ),
            });
        };
        let item_id: Uuid = item_link
            .target_id
            .parse()
            .map_err(|_| StageError::InvalidRecord {
                key: key.clone(),
                field: "items.id".into(),
                reason: format!("the item's link names `{}`", item_link.target_id),
            })?;
        let created_by_sync = item_link
            .extra
            .get(CREATED_BY_SYNC)
            .and_then(Value::as_bool)
            == Some(true);
        let mut extra = request.link.map(|l| l.extra.clone()).unwrap_or_default();
        // Pictures uploaded with the item before they were a step of their own.
        if !extra.contains_key("image")
            && let Some(known) = item_link.extra.get("image")
        {
            extra.insert("image".into(), known.clone());
        }
        let unchanged = |extra: Map<String, Value>, sent: Vec<Value>| SinkOutcome {
            action: Action::Unchanged,
            target_id: item_id.to_string(),
            etag: None,
            extra,
            sent,
        };
        let mut log = Trail::default();
        let known = extra.get("image").cloned().unwrap_or(Value::Null);
        let uploaded_before = known.get("sha256").is_some();
        let identity = cmd.image.identity.as_str();
        if known.get("identity").and_then(Value::as_str) == Some(identity)
            || (!cmd.image.on_update && (uploaded_before || !created_by_sync))
        {
            extra.remove("image_pending");
            return Ok(unchanged(extra, log.sent));
        }
        let bytes = match self.fetch(&cmd.image.url).await {
            Fetched::Bytes(bytes) => bytes,
            Fetched::Never(reason) => {
                log.warn(
                    Flow::Products,
                    key,
                    &format!("{reason}; the item picture is left as it is"),
                );
                extra.remove("image_pending");
                return Ok(unchanged(extra, log.sent));
            }
            Fetched::Later(reason) => {
                return self
                    .picture_later(request, item_id, cmd, extra, reason)
                    .await;
            }
        };
        let sha256 = ContentHash::of_bytes(&bytes).to_hex();
        extra.remove("image_pending");
        extra.insert(
            "image".into(),
            json!({"identity": identity, "sha256": sha256}),
        );
        if known.get("sha256").and_then(Value::as_str) == Some(sha256.as_str()) {
            return Ok(unchanged(extra, log.sent));
        }
        self.upload_picture(key, item_id, bytes, &sha256, &mut log)
            .await?;
        // The item's first picture is created; a later one updates it.
        let action = if uploaded_before {
            Action::Updated
        } else {
            Action::Created
        };
        Ok(SinkOutcome {
            action,
            target_id: item_id.to_string(),
            etag: None,
            extra,
            sent: log.sent,
        })
    }

    /// The image could not be fetched for now: the picture's message is retried on its
    /// own (the attempt is counted on its link), until [`PICTURE_ATTEMPTS`]; then it is
    /// given up with a warning until the item's next change.
    async fn picture_later(
        &self,
        request: PushRequest<'_>,
        item_id: Uuid,
        cmd: &PictureCommand,
        mut extra: Map<String, Value>,
        reason: String,
    ) -> Result<SinkOutcome, StageError> {
        let key = request.key;
        // Attempts are counted per image and item version: a change of either starts over.
        let pending = extra.get("image_pending");
        let pending_text = |field: &str| pending.and_then(|p| p.get(field)).and_then(Value::as_str);
        let same_image = pending_text("identity") == Some(cmd.image.identity.as_str())
            && pending_text("item_version") == Some(cmd.item_version.as_str());
        let attempts = if same_image {
            pending
                .and_then(|p| p.get("attempts"))
                .and_then(Value::as_u64)
                .unwrap_or(0)
                + 1
        } else {
            1
        };
        extra.insert(
            "image_pending".into(),
            json!({
                "identity": cmd.image.identity,
                "item_version": cmd.item_version,
                "attempts": attempts,
                "error": reason,
            }),
        );
        if attempts >= PICTURE_ATTEMPTS {
            let mut log = Trail::default();
            log.warn(
                Flow::Products,
                key,
                &format!(
                    "{reason}; the picture of item {} is not uploaded after {attempts} attempts (the item itself is in Business Central); it is tried again with the item's next change",
                    cmd.number
                ),
            );
            return Ok(SinkOutcome {
                action: Action::Unchanged,
                target_id: item_id.to_string(),
                etag: None,
                extra,
                sent: log.sent,
            });
        }
        let link = Link {
            flow: Flow::Products,
            key: key.clone(),
            target_id: item_id.to_string(),
            etag: None,
            source_version: request.version.clone(),
            content_hash: ContentHash::of_bytes(PENDING_HASH),
            match_key: Some(request.match_key.clone()),
            extra,
            updated_at: jiff::Timestamp::now(),
        };
        self.links.put(&link).await?;
        Err(StageError::External(ExternalError::new(
            System::Lightspeed,
            ExternalKind::Transient,
            format!(
                "{reason} (attempt {attempts} of {PICTURE_ATTEMPTS}; the item itself is in Business Central, only its picture waits)"
            ),
        )))
    }
}
