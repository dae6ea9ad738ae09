//! The Lightspeed simulator's assumptions, in one place: every behaviour of the real API that
//! the public docs and recordings leave open is a setting here, with the default the sources
//! make most likely and the source cited. Tests run the flows under both values; the README
//! table "Lightspeed simulator assumptions" repeats this list and says how to tell on a real
//! account. The rate-limit knobs (bucket size, drip rate, `burst_limit`) sit beside it on
//! `LightspeedSandboxConfig`: they are documented, only sized per account.

use serde::{Deserialize, Serialize};

/// How the simulated account behaves where the docs are silent or ambiguous.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "each flag is one independent assumption about the real API"
)]
pub struct Behaviour {
    /// Whether a stock-only change (a sale, a void, `PUT Item` with only `ItemShops`) moves
    /// `Item.timeStamp`. Default `false`: api-notes/LIGHTSPEED.md §2.3, "Item.timeStamp
    /// excludes changes to related records (e.g. ItemShops)", and the docs steer stock
    /// polling to `ItemShop.timeStamp` (developers.lightspeedhq.com/retail/endpoints/ItemShop/).
    /// To tell: `PUT Item/{id}` with only `ItemShops` on a real account and compare.
    pub stock_moves_item_timestamp: bool,
    /// Whether a new shop gets an ItemShop row for every existing item at once. Default
    /// `false`: "ItemShops are created by Retail POS as needed, so they might not exist for
    /// all item/shop combinations" (developers.lightspeedhq.com/retail/tutorials/inventory/).
    /// A new item still gets a row for every shop, as the docs' create response shows
    /// (fixture `rseries_item_post_response_with_itemshops.docs.json`).
    pub item_shops_for_new_shops: bool,
    /// Whether voiding a completed sale moves its `timeStamp`. Default `false`: the Sale page
    /// defines `timeStamp` as "legacy … or if complete the date/time at which it was
    /// completed" (developers.lightspeedhq.com/retail/endpoints/Sale/); `updatetime` always
    /// moves. To tell: void a completed sale and read both fields.
    pub void_moves_timestamp: bool,
    /// Whether voiding a sale also archives it (then `archived=false`, the default filter,
    /// hides it). Default `false`: the docs describe `voided` and `archived` as separate
    /// flags and never say a void archives (FIDELITY "assumptions to check").
    pub void_archives_sale: bool,
    /// How the sale's last-update time is spelled. Default [`UpdateTimeKey::Lower`]: every
    /// GET sample on the current Sale page says `updatetime`; the older create-response
    /// sample says `updateTime` (fixture `rseries_sale_create_response_with_lines_payments`).
    /// Filters and `sort` accept either spelling.
    pub update_time_key: UpdateTimeKey,
    /// When a layaway line takes its units off `qoh`. Default
    /// [`LayawayStock::AtCreation`]: users report QOH is deducted when the layaway is made
    /// if stock exists (community.lightspeedhq.com/en/discussion/4588); either way the
    /// units show in `ItemShop.onLayaway` until picked up.
    pub layaway_stock: LayawayStock,
    /// Whether a tax-inclusive sale's `calcSubtotal`, `calcDiscount` and `calcTaxable`
    /// carry the tax. Default [`InclusiveAmounts::Net`]: the Sale page defines `total` as
    /// "calcSubtotal minus calcDiscount plus calcTax1 plus calcTax2", which holds for an
    /// inclusive sale only when those amounts are net of tax. To tell: read an inclusive
    /// sale and check that formula.
    pub inclusive_amounts: InclusiveAmounts,
    /// What `PUT Item` with `ItemShops` does to an item Lightspeed keeps no stock of
    /// (`itemType` `non_inventory`). The docs don't say (FIDELITY "assumptions to check":
    /// "Can qoh be PUT on non_inventory … items?"). Default [`NonInventoryStock::Refused`]
    /// (400); [`NonInventoryStock::Stored`] keeps the figure. To tell: PUT a qoh on a
    /// non-inventory item of a test account.
    pub non_inventory_stock: NonInventoryStock,
    /// What a completed sale of a box item (`itemType` `box`) takes. The docs say a box
    /// "can be broken down into single items that are contained within the box
    /// (ItemComponents are the singles)" (developers.lightspeedhq.com/retail/endpoints/Item/)
    /// and that a box's and its singles' "shared inventory is automatically broken down or
    /// built up when you check out your customers" (retail-support.lightspeedhq.com article
    /// 229130088 "Creating boxes"); in what order is not said. Default
    /// [`BoxSaleStock::BuildFromSingles`]: the box's own `qoh` first, the boxes it lacks
    /// built from its singles at checkout (inferred). To tell: sell a box with no box in
    /// stock and read the single's `qoh`.
    pub box_sale_stock: BoxSaleStock,
    /// Whether an edit of only a customer's contact (e-mail, phone, address) moves
    /// `Customer.timeStamp`. Default `true`: the docs describe a customer's contact as part
    /// of the customer (`PUT Customer/{id}` with `Contact`), and the customers flow polls
    /// `Customer.timeStamp` with the contact loaded; that the stamp moves is inferred
    /// (FIDELITY "assumptions to check"). To tell: change only a customer's e-mail in the
    /// back office and read `Customer.timeStamp`.
    pub contact_edit_moves_customer: bool,
    /// Whether a list page that is exactly full carries a `next` link when no record
    /// follows (the link then leads to an empty page without one). Default `false`: the
    /// docs' paging tutorial says to follow `next` "until it is empty" without saying
    /// whether a full last page has one (FIDELITY "assumptions to check"). To tell: list a
    /// relation with exactly `limit` records.
    pub next_on_full_page: bool,
    /// What `PUT Item` with `ItemShops` does to a serialized item (`serialized` true). The
    /// docs don't say (FIDELITY "assumptions to check": "Can qoh be PUT on … serialized …
    /// items?"). Default [`SerializedStock::Stored`]: the figure is kept like any item's;
    /// [`SerializedStock::Refused`] answers 400 (text inferred). To tell: PUT a qoh on a
    /// serialized item of a test account.
    pub serialized_stock: SerializedStock,
}

/// What a stock write does to a serialized item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SerializedStock {
    /// Stored like any item's.
    #[default]
    Stored,
    /// Refused with 400 (text inferred): the quantity follows the serial numbers.
    Refused,
}

impl Default for Behaviour {
    fn default() -> Self {
        Self {
            stock_moves_item_timestamp: false,
            item_shops_for_new_shops: false,
            void_moves_timestamp: false,
            void_archives_sale: false,
            update_time_key: UpdateTimeKey::Lower,
            layaway_stock: LayawayStock::AtCreation,
            inclusive_amounts: InclusiveAmounts::Net,
            non_inventory_stock: NonInventoryStock::Refused,
            box_sale_stock: BoxSaleStock::BuildFromSingles,
            contact_edit_moves_customer: true,
            next_on_full_page: false,
            serialized_stock: SerializedStock::Stored,
        }
    }
}

/// The spelling of a sale's last-update field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateTimeKey {
    /// `updatetime`, as the current docs' samples and sortable-field list spell it.
    #[default]
    Lower,
    /// `updateTime`, as an older docs sample spells it.
    Camel,
}

impl UpdateTimeKey {
    /// The JSON key.
    pub fn key(self) -> &'static str {
        match self {
            Self::Lower => "updatetime",
            Self::Camel => "updateTime",
        }
    }
}

/// What a stock write does to a non-inventory item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NonInventoryStock {
    /// Refused with 400 (text inferred).
    #[default]
    Refused,
    /// Stored like any item's.
    Stored,
}

/// When a layaway's units leave the quantity on hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LayawayStock {
    /// When the layaway line is saved (and `onLayaway` rises by the same units).
    #[default]
    AtCreation,
    /// When the customer picks the units up (`onLayaway` still rises at creation).
    AtPickup,
}

/// How a tax-inclusive sale states its subtotal and discount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InclusiveAmounts {
    /// Net of the tax inside them; the documented total formula holds.
    #[default]
    Net,
    /// As the shelf prices read, tax included; then `total = calcSubtotal − calcDiscount`.
    Gross,
}

/// What a completed sale of a box takes off stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BoxSaleStock {
    /// The box's own `qoh` while it has some; each box it lacks is built at checkout from
    /// its single (the `ItemComponent` of the lowest `componentGroup`), whose `qoh` drops by
    /// `quantity` units per box. A refund puts the box back.
    #[default]
    BuildFromSingles,
    /// The box's `qoh` alone, like any item's (it may go below zero); singles untouched.
    BoxOnly,
}
