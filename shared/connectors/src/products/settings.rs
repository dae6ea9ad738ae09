//! Settings of the products flow: which Lightspeed field is the SKU, how matrices are
//! numbered, what new items look like in Business Central (type, draft, posting groups,
//! unit of measure), categories, pictures and filters. Typed, with defaults for everything;
//! unknown keys are refused so a typo doesn't silently do nothing. Expressions see them,
//! with defaults filled in, as `$settings`.

use lsbc_core::Flow;
use serde::{Deserialize, Serialize};

use crate::kit::FlowSettings;

/// Which Lightspeed field is the SKU (= the Business Central item number). Whichever is
/// chosen, an item where it is empty falls back to `systemSku`, which Lightspeed always fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkuField {
    /// `customSku` (the SKU a retailer types).
    #[default]
    CustomSku,
    /// `systemSku` (Lightspeed's own label barcode number).
    SystemSku,
    /// `manufacturerSku`.
    ManufacturerSku,
}

/// Who numbers new Business Central items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemNumbers {
    /// The SKU is the item number (the item series must take manual numbers: *Manual Nos.*
    /// on the No. Series of Inventory Setup's *Item Nos.*).
    #[default]
    Sku,
    /// Business Central's item series numbers new items, and the SKU is kept in the item's
    /// `displayName2` (*Description 2*), where the sync finds it again. Description 2 because
    /// the items API v2.0 writes it, while the other homes of a second key are not on that
    /// page (*Search Description* is not exposed; item references have no v2.0 page:
    /// api-notes/BUSINESS-CENTRAL.md, the `items` field list); it is shown on item cards and
    /// lists and found by their search. It holds 50 characters.
    BusinessCentral,
}

/// The Business Central item type of Lightspeed's virtual items (`non_inventory`, and the
/// assemblies, whose stock is kept on their components).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VirtualItemType {
    /// `Non-Inventory`.
    #[default]
    NonInventory,
    /// `Service`.
    Service,
}

/// Whether new Business Central items are usable at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Publish {
    /// Created active.
    #[default]
    Active,
    /// Created blocked, to be enriched in Business Central and unblocked there by a person.
    Draft,
}

/// What happens to an archived Lightspeed item (or matrix).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArchivedItems {
    /// Not synced (a warning in the activity log); an existing BC item is left as is.
    #[default]
    Skip,
    /// Synced, and the Business Central item is blocked (and unblocked by the sync when the
    /// item is restored in Lightspeed, since the sync blocked it).
    Block,
}

/// How Lightspeed categories become Business Central item categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CategorySync {
    /// Found by their derived code, created when missing.
    #[default]
    Create,
    /// Only assigned when the category already exists in Business Central (else a warning).
    Existing,
    /// Not sent.
    Off,
}

/// When the item's image is sent as the Business Central item picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageSync {
    /// On create, and on update whenever the image changed.
    #[default]
    Always,
    /// Only when the item is created (a picture changed in Business Central survives).
    OnCreate,
    /// Never.
    Off,
}

/// Settings of the products flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProductSettings {
    /// The Lightspeed field used as SKU = Business Central item number (default
    /// `custom_sku`; an empty value falls back to `systemSku`).
    pub sku_field: SkuField,
    /// Who numbers new items: `sku` (the SKU is the item number; default) or
    /// `business_central` (BC's item series numbers them and the SKU goes to
    /// `displayName2`), for tenants whose item series refuses manual numbers.
    pub item_numbers: ItemNumbers,
    /// Item number of a matrix (Lightspeed matrices have no SKU): this prefix and the
    /// `itemMatrixID` (default `MATRIX-`, e.g. `MATRIX-42`).
    pub matrix_number_prefix: String,
    /// BC type of virtual items (`non_inventory` items and assemblies); default
    /// `non_inventory`.
    pub virtual_item_type: VirtualItemType,
    /// New items active (`active`, the default) or blocked as drafts (`draft`).
    pub publish: Publish,
    /// Archived items: `skip` (default) or `block`.
    pub archived: ArchivedItems,
    /// The Lightspeed price (`useType`) sent as `unitPrice` (default `Default`).
    pub price_use_type: String,
    /// Whether Lightspeed prices include tax (sent as `priceIncludesTax`; default `false`).
    pub price_includes_tax: bool,
    /// `baseUnitOfMeasureCode` of new items (unset: Business Central's template decides).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_unit_of_measure_code: Option<String>,
    /// `generalProductPostingGroupCode` of new items.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub general_product_posting_group_code: Option<String>,
    /// `inventoryPostingGroupCode` of new inventory items.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inventory_posting_group_code: Option<String>,
    /// Categories: `create` (default), `existing` or `off`.
    pub categories: CategorySync,
    /// The item picture: `always` (default), `on_create` or `off`.
    pub images: ImageSync,
    /// Only items in these categories (a `categoryID`, or a category path such as
    /// `Apparel/Shirts`, which includes its subcategories; case-insensitive). Empty: all.
    pub only_categories: Vec<String>,
    /// Only items stocked in one of these shops (`shopID`; quantity on hand ≠ 0 or a reorder
    /// level set there). Empty: all.
    pub only_shops: Vec<u64>,
    /// Only items of these Lightspeed `itemType`s (`default`, `non_inventory`, `box`, …).
    /// Empty: all.
    pub only_item_types: Vec<String>,
}

impl Default for ProductSettings {
    fn default() -> Self {
        Self {
            sku_field: SkuField::default(),
            item_numbers: ItemNumbers::default(),
            matrix_number_prefix: "MATRIX-".into(),
            virtual_item_type: VirtualItemType::default(),
            publish: Publish::default(),
            archived: ArchivedItems::default(),
            price_use_type: "Default".into(),
            price_includes_tax: false,
            base_unit_of_measure_code: None,
            general_product_posting_group_code: None,
            inventory_posting_group_code: None,
            categories: CategorySync::default(),
            images: ImageSync::default(),
            only_categories: Vec::new(),
            only_shops: Vec::new(),
            only_item_types: Vec::new(),
        }
    }
}

impl FlowSettings for ProductSettings {
    const FLOW: Flow = Flow::Products;

    /// Values serde accepts but Business Central would refuse, one line each.
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let codes = [
            (
                "base_unit_of_measure_code",
                self.base_unit_of_measure_code.as_deref(),
                10,
            ),
            (
                "general_product_posting_group_code",
                self.general_product_posting_group_code.as_deref(),
                20,
            ),
            (
                "inventory_posting_group_code",
                self.inventory_posting_group_code.as_deref(),
                20,
            ),
            // Item numbers hold 20 characters; matrix ids have up to 10 digits.
            (
                "matrix_number_prefix",
                Some(self.matrix_number_prefix.as_str()),
                10,
            ),
        ];
        for (name, value, max) in codes {
            if let Some(v) = value
                && v.chars().count() > max
            {
                problems.push(format!(
                    "settings of products: {name} `{v}` is longer than {max} characters"
                ));
            }
        }
        if self.price_use_type.trim().is_empty() {
            problems.push("settings of products: price_use_type must not be empty".into());
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    #[test]
    fn product_settings_have_documented_defaults() {
        let filled = ProductSettings::check(&Value::Null).unwrap();
        assert_eq!(
            filled,
            json!({
                "sku_field": "custom_sku",
                "item_numbers": "sku",
                "matrix_number_prefix": "MATRIX-",
                "virtual_item_type": "non_inventory",
                "publish": "active",
                "archived": "skip",
                "price_use_type": "Default",
                "price_includes_tax": false,
                "categories": "create",
                "images": "always",
                "only_categories": [],
                "only_shops": [],
                "only_item_types": []
            })
        );
        assert_eq!(
            ProductSettings::from_stored(Some(&filled)).unwrap(),
            ProductSettings::default()
        );
        assert_eq!(
            ProductSettings::from_stored(None).unwrap(),
            ProductSettings::default()
        );
    }

    #[test]
    fn product_settings_refuse_typos_and_values_bc_would_refuse() {
        let err = ProductSettings::check(&json!({"sku": "system_sku"})).unwrap_err();
        assert!(err.to_string().contains("sku"), "{err}");
        let err = ProductSettings::check(&json!({"sku_field": "ean"})).unwrap_err();
        assert!(err.to_string().contains("ean"), "{err}");
        let err = ProductSettings::check(&json!({"base_unit_of_measure_code": "PIECES-EACH",
                    "matrix_number_prefix": "LIGHTSPEED-MATRIX-"}))
        .unwrap_err();
        assert_eq!(err.problems.len(), 2, "{err}");
        let ok = ProductSettings::check(
            &json!({"sku_field": "manufacturer_sku", "publish": "draft", "images": "on_create",
                    "only_shops": [1, 2], "inventory_posting_group_code": "RESALE"}),
        )
        .unwrap();
        let typed = ProductSettings::from_stored(Some(&ok)).unwrap();
        assert_eq!(typed.sku_field, SkuField::ManufacturerSku);
        assert_eq!(typed.publish, Publish::Draft);
        assert_eq!(typed.images, ImageSync::OnCreate);
        assert_eq!(typed.only_shops, [1, 2]);
        assert_eq!(ok["inventory_posting_group_code"], "RESALE");
    }
}
