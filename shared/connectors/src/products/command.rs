//! The products flow's commands: a Business Central item (with its category and picture)
//! or a part of a matrix's variants, as they should be — the contract between its
//! transform and its sink.

use lsbc_mapping::is_sent;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What the push stage receives: one BC item, some variants of a matrix's item, or an
/// item's picture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProductCommand {
    /// The item (of a simple item or of a matrix).
    Item(ItemCommand),
    /// Variants of a matrix's item.
    Variants(VariantsCommand),
    /// The picture of an item (or of a matrix's item), once the item is in Business
    /// Central (see `picture`).
    Picture(PictureCommand),
}

/// The BC item as it should be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemCommand {
    /// The Lightspeed record: `item:<itemID>` or `matrix:<itemMatrixID>`.
    pub source: String,
    /// The BC item number (= the SKU), upper-case; with `bc_numbers`, the SKU kept in
    /// `displayName2`.
    pub number: String,
    /// Fields of the BC item (`number`, or with `bc_numbers` `displayName2`, included).
    pub item: Map<String, Value>,
    /// Business Central numbers the item (setting `item_numbers = business_central`): the
    /// SKU is found in `displayName2`, never sent as the number.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub bc_numbers: bool,
    /// `item.x` fields sent only on create.
    #[serde(default)]
    pub create_only: Vec<String>,
    /// Fields sent only on update.
    #[serde(default)]
    pub update_only: Vec<String>,
    /// Created blocked, as a draft (setting `publish = draft`).
    #[serde(default)]
    pub draft: bool,
    /// Archived in Lightspeed, synced blocked (setting `archived = block`).
    #[serde(default)]
    pub archived: bool,
    /// The item category.
    #[serde(default)]
    pub category: Option<CategoryTarget>,
    /// The image for the item picture.
    #[serde(default)]
    pub image: Option<ImageRef>,
}

impl ItemCommand {
    /// Whether `item.field` is sent when creating (`true`) or updating.
    pub fn sends(&self, field: &str, creating: bool) -> bool {
        is_sent(
            &self.create_only,
            &self.update_only,
            "item",
            field,
            creating,
        )
    }
}

/// The item category an item belongs in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryTarget {
    /// The Lightspeed category path (`Apparel/Shirts`).
    pub path: String,
    /// Its last segment.
    pub name: String,
    /// A code the mapping gave (`item.itemCategoryCode`): used as it is, never created.
    #[serde(default)]
    pub code: Option<String>,
    /// The code derived from the path.
    pub plain: String,
    /// The code when `plain` belongs to another category.
    pub hashed: String,
    /// `displayName` of a new category: the path (100 characters at most).
    pub display_name: String,
    /// Whether a missing category is created (setting `categories = create`).
    pub create: bool,
}

/// The image of an item, for its picture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageRef {
    /// `<imageID>:<publicID>`: a new upload in Lightspeed changes it.
    pub identity: String,
    /// Where to download it.
    pub url: String,
    /// Also sent on update (setting `images = always`), not only on create.
    pub on_update: bool,
}

/// Some variants of a matrix's BC item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantsCommand {
    /// The matrix record, `matrix:<itemMatrixID>` (whose link names the BC item).
    pub matrix: String,
    /// The matrix's BC item number.
    pub number: String,
    /// This command's place (1-based) …
    pub part: usize,
    /// … among this many.
    pub parts: usize,
    /// The variants, by Lightspeed `itemID`.
    pub variants: Vec<VariantTarget>,
    /// `variant.x` fields sent only on create.
    #[serde(default)]
    pub create_only: Vec<String>,
    /// Fields sent only on update.
    #[serde(default)]
    pub update_only: Vec<String>,
}

impl VariantsCommand {
    /// Whether `variant.field` is sent when creating (`true`) or updating.
    pub fn sends(&self, field: &str, creating: bool) -> bool {
        is_sent(
            &self.create_only,
            &self.update_only,
            "variant",
            field,
            creating,
        )
    }
}

/// One variant as it should be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantTarget {
    /// The Lightspeed variant item.
    pub item_id: u64,
    /// The code for a new BC variant (an existing one keeps its code).
    pub code: String,
    /// The code when `code` is taken in BC by another variant.
    pub fallback: String,
    /// Fields of the BC variant other than `code` (`description`).
    pub fields: Map<String, Value>,
    /// Archived in Lightspeed: not created; an existing BC variant is left as it is.
    #[serde(default)]
    pub archived: bool,
}

/// The picture of an item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PictureCommand {
    /// The item's record: `item:<itemID>` or `matrix:<itemMatrixID>` (whose link names the
    /// BC item).
    pub item: String,
    /// The BC item number, for messages.
    pub number: String,
    /// The image.
    pub image: ImageRef,
    /// The item's source version: a change of the item sends the picture again, so a
    /// picture given up is tried again (an unchanged one costs no request).
    pub item_version: String,
}
