//! Catalogue models: Item (with prices, stock per shop, images, variant attributes, custom
//! fields, category), ItemMatrix, Category, ItemShop and Image (api-notes §2.3).

use jiff::Timestamp;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::Deserializer;

use super::ids::{CategoryId, ImageId, ItemId, ItemMatrixId, ItemShopId, RefId, ShopId};
use crate::json;

/// `itemType`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ItemType {
    #[default]
    Default,
    NonInventory,
    Serialized,
    Box,
    SerializedAssembly,
    Assembly,
    /// A value this client does not know (kept verbatim).
    Other(String),
}

impl ItemType {
    /// Parses the API's value.
    pub fn parse(text: &str) -> Self {
        match text {
            "" | "default" => Self::Default,
            "non_inventory" => Self::NonInventory,
            "serialized" => Self::Serialized,
            "box" => Self::Box,
            "serialized_assembly" => Self::SerializedAssembly,
            "assembly" => Self::Assembly,
            other => Self::Other(other.to_owned()),
        }
    }
}

impl<'de> Deserialize<'de> for ItemType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self::parse(&json::text(d)?))
    }
}

/// One price of an item (`Prices.ItemPrice`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemPrice {
    #[serde(deserialize_with = "json::decimal")]
    pub amount: Decimal,
    #[serde(rename = "useTypeID", default, deserialize_with = "json::opt_id")]
    pub use_type_id: Option<RefId>,
    /// `Default`, `MSRP`, `Online`, or a price level's name.
    #[serde(default, deserialize_with = "json::text")]
    pub use_type: String,
}

/// Variant attributes of an item in a matrix (`ItemAttributes`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemAttributes {
    #[serde(default, deserialize_with = "json::text")]
    pub attribute1: String,
    #[serde(default, deserialize_with = "json::text")]
    pub attribute2: String,
    #[serde(default, deserialize_with = "json::text")]
    pub attribute3: String,
    #[serde(
        rename = "itemAttributeSetID",
        default,
        deserialize_with = "json::opt_id"
    )]
    pub item_attribute_set_id: Option<RefId>,
}

impl ItemAttributes {
    /// The non-empty attribute values, in order.
    pub fn values(&self) -> Vec<&str> {
        [&self.attribute1, &self.attribute2, &self.attribute3]
            .into_iter()
            .map(String::as_str)
            .filter(|v| !v.is_empty())
            .collect()
    }
}

/// A custom field value (`CustomFieldValues.CustomFieldValue`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomFieldValue {
    #[serde(
        rename = "customFieldValueID",
        default,
        deserialize_with = "json::opt_id"
    )]
    pub custom_field_value_id: Option<RefId>,
    #[serde(rename = "customFieldID", default, deserialize_with = "json::opt_id")]
    pub custom_field_id: Option<RefId>,
    #[serde(default, deserialize_with = "json::text")]
    pub name: String,
    /// The field's type (`string`, `url`, `boolean`, …).
    #[serde(rename = "type", default, deserialize_with = "json::text")]
    pub kind: String,
    #[serde(default, deserialize_with = "json::text")]
    pub value: String,
}

/// Stock of one item in one shop (`ItemShop`); `shopID` 0 is the all-shops summary.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemShop {
    #[serde(rename = "itemShopID")]
    pub item_shop_id: ItemShopId,
    #[serde(rename = "itemID")]
    pub item_id: ItemId,
    #[serde(rename = "shopID")]
    pub shop_id: ShopId,
    /// Quantity on hand (may be negative).
    #[serde(deserialize_with = "json::int")]
    pub qoh: i64,
    #[serde(default, deserialize_with = "json::opt_int")]
    pub sellable: Option<i64>,
    #[serde(default, deserialize_with = "json::opt_int")]
    pub backorder: Option<i64>,
    #[serde(default, deserialize_with = "json::opt_int")]
    pub reorder_point: Option<i64>,
    #[serde(default, deserialize_with = "json::opt_int")]
    pub reorder_level: Option<i64>,
    /// Units held for layaways (docs ItemShop page).
    #[serde(default, deserialize_with = "json::opt_int")]
    pub on_layaway: Option<i64>,
    /// Units held for work orders (docs ItemShop page).
    #[serde(default, deserialize_with = "json::opt_int")]
    pub on_workorder: Option<i64>,
    /// Only on the shopID 0 summary (docs).
    #[serde(default, deserialize_with = "json::opt_decimal")]
    pub average_cost: Option<Decimal>,
    #[serde(default, deserialize_with = "json::opt_timestamp")]
    pub time_stamp: Option<Timestamp>,
}

impl ItemShop {
    /// Whether this is the all-shops summary row (`shopID` 0).
    pub fn is_summary(&self) -> bool {
        self.shop_id.get() == 0
    }
}

/// Image metadata (`Image`); the picture itself is on Cloudinary.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Image {
    #[serde(rename = "imageID")]
    pub image_id: ImageId,
    #[serde(default, deserialize_with = "json::text")]
    pub description: String,
    #[serde(default, deserialize_with = "json::text")]
    pub filename: String,
    #[serde(default, deserialize_with = "json::opt_int")]
    pub ordering: Option<i64>,
    #[serde(rename = "publicID", default, deserialize_with = "json::text")]
    pub public_id: String,
    #[serde(rename = "baseImageURL", default, deserialize_with = "json::text")]
    pub base_image_url: String,
    #[serde(default, deserialize_with = "json::opt_int")]
    pub size: Option<i64>,
    #[serde(default, deserialize_with = "json::lenient_timestamp")]
    pub create_time: Option<Timestamp>,
    #[serde(default, deserialize_with = "json::opt_timestamp")]
    pub time_stamp: Option<Timestamp>,
    #[serde(rename = "itemID", default, deserialize_with = "json::opt_id")]
    pub item_id: Option<ItemId>,
    #[serde(rename = "itemMatrixID", default, deserialize_with = "json::opt_id")]
    pub item_matrix_id: Option<ItemMatrixId>,
}

impl Image {
    /// Download URL: `{baseImageURL}[{transform}/]{publicID}.jpg` (docs Image page), e.g.
    /// `transform = Some("w_300,h_200,c_limit")`.
    pub fn url(&self, transform: Option<&str>) -> String {
        let mut base = self.base_image_url.clone();
        if !base.ends_with('/') {
            base.push('/');
        }
        match transform {
            Some(t) if !t.is_empty() => format!("{base}{t}/{}.jpg", self.public_id),
            _ => format!("{base}{}.jpg", self.public_id),
        }
    }
}

/// A category; `fullPathName` is the "/"-joined path.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Category {
    #[serde(rename = "categoryID")]
    pub category_id: CategoryId,
    #[serde(default, deserialize_with = "json::text")]
    pub name: String,
    #[serde(default, deserialize_with = "json::opt_int")]
    pub node_depth: Option<i64>,
    #[serde(default, deserialize_with = "json::text")]
    pub full_path_name: String,
    #[serde(default, deserialize_with = "json::opt_int")]
    pub left_node: Option<i64>,
    #[serde(default, deserialize_with = "json::opt_int")]
    pub right_node: Option<i64>,
    #[serde(rename = "parentID", default, deserialize_with = "json::opt_id")]
    pub parent_id: Option<CategoryId>,
    #[serde(default, deserialize_with = "json::lenient_timestamp")]
    pub create_time: Option<Timestamp>,
    #[serde(default, deserialize_with = "json::opt_timestamp")]
    pub time_stamp: Option<Timestamp>,
}

impl Category {
    /// The path segments (`Misc/Home` → `["Misc", "Home"]`).
    pub fn path(&self) -> Vec<&str> {
        self.full_path_name
            .split('/')
            .filter(|s| !s.is_empty())
            .collect()
    }
}

/// Attribute set of a matrix (`ItemAttributeSet`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemAttributeSet {
    #[serde(
        rename = "itemAttributeSetID",
        default,
        deserialize_with = "json::opt_id"
    )]
    pub item_attribute_set_id: Option<RefId>,
    #[serde(default, deserialize_with = "json::text")]
    pub name: String,
    #[serde(default, deserialize_with = "json::text")]
    pub attribute_name1: String,
    #[serde(default, deserialize_with = "json::text")]
    pub attribute_name2: String,
    #[serde(default, deserialize_with = "json::text")]
    pub attribute_name3: String,
}

/// An item (a product, or a variant when `item_matrix_id` is set).
#[expect(
    clippy::struct_excessive_bools,
    reason = "mirrors the API's boolean fields"
)]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    #[serde(rename = "itemID")]
    pub item_id: ItemId,
    /// Read-only label barcode.
    #[serde(default, deserialize_with = "json::text")]
    pub system_sku: String,
    #[serde(default, deserialize_with = "json::text")]
    pub custom_sku: String,
    #[serde(default, deserialize_with = "json::text")]
    pub manufacturer_sku: String,
    #[serde(default, deserialize_with = "json::text")]
    pub upc: String,
    #[serde(default, deserialize_with = "json::text")]
    pub ean: String,
    #[serde(default, deserialize_with = "json::text")]
    pub description: String,
    #[serde(default, deserialize_with = "json::opt_decimal")]
    pub default_cost: Option<Decimal>,
    /// Deprecated by Lightspeed in favour of `ItemShop.averageCost`.
    #[serde(default, deserialize_with = "json::opt_decimal")]
    pub avg_cost: Option<Decimal>,
    #[serde(default, deserialize_with = "json::flag")]
    pub tax: bool,
    #[serde(default, deserialize_with = "json::flag")]
    pub discountable: bool,
    #[serde(default, deserialize_with = "json::flag")]
    pub archived: bool,
    #[serde(default, deserialize_with = "json::flag")]
    pub serialized: bool,
    #[serde(default, deserialize_with = "json::flag")]
    pub publish_to_ecom: bool,
    #[serde(default)]
    pub item_type: ItemType,
    #[serde(rename = "categoryID", default, deserialize_with = "json::opt_id")]
    pub category_id: Option<CategoryId>,
    #[serde(rename = "taxClassID", default, deserialize_with = "json::opt_id")]
    pub tax_class_id: Option<RefId>,
    /// The matrix this item is a variant of (`0` in the API = none).
    #[serde(rename = "itemMatrixID", default, deserialize_with = "json::opt_id")]
    pub item_matrix_id: Option<ItemMatrixId>,
    #[serde(rename = "manufacturerID", default, deserialize_with = "json::opt_id")]
    pub manufacturer_id: Option<RefId>,
    #[serde(rename = "defaultVendorID", default, deserialize_with = "json::opt_id")]
    pub default_vendor_id: Option<RefId>,
    #[serde(default, deserialize_with = "json::lenient_timestamp")]
    pub create_time: Option<Timestamp>,
    /// Last change of the item itself; stock changes do **not** move it (docs).
    #[serde(deserialize_with = "json::timestamp")]
    pub time_stamp: Timestamp,
    #[serde(rename = "Prices", default, deserialize_with = "json::many")]
    pub prices: Vec<ItemPrice>,
    #[serde(rename = "ItemShops", default, deserialize_with = "json::many")]
    pub item_shops: Vec<ItemShop>,
    #[serde(rename = "Images", default, deserialize_with = "json::many")]
    pub images: Vec<Image>,
    #[serde(rename = "ItemAttributes", default, deserialize_with = "json::one")]
    pub item_attributes: Option<ItemAttributes>,
    #[serde(rename = "CustomFieldValues", default, deserialize_with = "json::many")]
    pub custom_field_values: Vec<CustomFieldValue>,
    #[serde(rename = "Category", default, deserialize_with = "json::one")]
    pub category: Option<Category>,
    #[serde(rename = "ItemMatrix", default, deserialize_with = "json::one")]
    pub item_matrix: Option<Box<ItemMatrix>>,
}

impl Item {
    /// The price with this `useType` (`Default`, `MSRP`, `Online`, …).
    pub fn price(&self, use_type: &str) -> Option<Decimal> {
        self.prices
            .iter()
            .find(|p| p.use_type.eq_ignore_ascii_case(use_type))
            .map(|p| p.amount)
    }

    /// The `Default` price.
    pub fn default_price(&self) -> Option<Decimal> {
        self.price("Default")
    }

    /// Quantity on hand in one shop, if the ItemShops relation was loaded.
    pub fn stock_in(&self, shop: ShopId) -> Option<i64> {
        self.item_shops
            .iter()
            .find(|s| s.shop_id == shop)
            .map(|s| s.qoh)
    }
}

/// An item matrix (the parent of variants).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemMatrix {
    #[serde(rename = "itemMatrixID")]
    pub item_matrix_id: ItemMatrixId,
    #[serde(default, deserialize_with = "json::text")]
    pub description: String,
    #[serde(
        rename = "itemAttributeSetID",
        default,
        deserialize_with = "json::opt_id"
    )]
    pub item_attribute_set_id: Option<RefId>,
    #[serde(default, deserialize_with = "json::opt_decimal")]
    pub default_cost: Option<Decimal>,
    #[serde(default, deserialize_with = "json::flag")]
    pub tax: bool,
    #[serde(default)]
    pub item_type: ItemType,
    #[serde(rename = "categoryID", default, deserialize_with = "json::opt_id")]
    pub category_id: Option<CategoryId>,
    #[serde(rename = "taxClassID", default, deserialize_with = "json::opt_id")]
    pub tax_class_id: Option<RefId>,
    #[serde(rename = "manufacturerID", default, deserialize_with = "json::opt_id")]
    pub manufacturer_id: Option<RefId>,
    #[serde(default, deserialize_with = "json::flag")]
    pub archived: bool,
    #[serde(default, deserialize_with = "json::opt_timestamp")]
    pub time_stamp: Option<Timestamp>,
    #[serde(rename = "Prices", default, deserialize_with = "json::many")]
    pub prices: Vec<ItemPrice>,
    /// One string or an array in the API; always a list here.
    #[serde(default, deserialize_with = "json::strings")]
    pub attribute1_values: Vec<String>,
    #[serde(default, deserialize_with = "json::strings")]
    pub attribute2_values: Vec<String>,
    #[serde(default, deserialize_with = "json::strings")]
    pub attribute3_values: Vec<String>,
    #[serde(rename = "Items", default, deserialize_with = "json::many")]
    pub items: Vec<Item>,
    #[serde(rename = "Images", default, deserialize_with = "json::many")]
    pub images: Vec<Image>,
    #[serde(rename = "Category", default, deserialize_with = "json::one")]
    pub category: Option<Category>,
    #[serde(rename = "ItemAttributeSet", default, deserialize_with = "json::one")]
    pub item_attribute_set: Option<ItemAttributeSet>,
}

impl ItemMatrix {
    /// The `Default` price.
    pub fn default_price(&self) -> Option<Decimal> {
        self.prices
            .iter()
            .find(|p| p.use_type.eq_ignore_ascii_case("Default"))
            .map(|p| p.amount)
    }
}
