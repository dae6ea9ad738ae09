//! What a test or the demo puts into the Lightspeed simulator: plain seed records (money in
//! cents, quantities as integers) and the `Dataset` that groups them. It owns no state and
//! does no rendering; the store turns seeds into the API's all-strings JSON.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Everything one simulated account holds, in load order (shops and payment types first,
/// sales last, so references resolve).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Dataset {
    pub tax_classes: Vec<TaxClassSeed>,
    pub tax_categories: Vec<TaxCategorySeed>,
    pub shops: Vec<ShopSeed>,
    pub registers: Vec<RegisterSeed>,
    pub employees: Vec<EmployeeSeed>,
    pub discounts: Vec<DiscountSeed>,
    pub payment_types: Vec<PaymentTypeSeed>,
    pub customer_types: Vec<CustomerTypeSeed>,
    pub categories: Vec<CategorySeed>,
    pub customers: Vec<CustomerSeed>,
    pub matrices: Vec<MatrixSeed>,
    pub items: Vec<ItemSeed>,
    pub sales: Vec<SaleSeed>,
}

/// A shop (store location) with its IANA time zone.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ShopSeed {
    /// Fixed id, or the next free one when absent.
    pub id: Option<u64>,
    pub name: String,
    /// IANA name as Lightspeed shows it (e.g. `US/Eastern`, `Europe/Amsterdam`).
    pub time_zone: String,
    /// The shop's sales tax (`taxCategoryID`); sales without their own use it.
    pub tax_category_id: Option<u64>,
    pub archived: bool,
}

/// A tax class (`TaxClass`: `Item`, `Labor`, a reduced-rate class, …).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaxClassSeed {
    pub id: Option<u64>,
    pub name: String,
}

/// A custom pair of rates for one tax class inside a tax category (`TaxCategoryClass`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaxClassRateSeed {
    pub tax_class_id: u64,
    /// Rates in parts per million (`90_000` = 9 %).
    pub tax1_ppm: i64,
    pub tax2_ppm: i64,
}

/// A sales tax (`TaxCategory`): up to two rates, tax-inclusive (EU) or added on top
/// (US/CA), with per-class overrides.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaxCategorySeed {
    pub id: Option<u64>,
    pub tax1_name: String,
    pub tax2_name: String,
    /// Rates in parts per million (`210_000` = 21 %, `99_750` = 9.975 %).
    pub tax1_ppm: i64,
    pub tax2_ppm: i64,
    pub inclusive: bool,
    pub classes: Vec<TaxClassRateSeed>,
}

/// A register of a shop.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RegisterSeed {
    pub id: Option<u64>,
    pub name: String,
    pub shop_id: u64,
    pub tip_enabled: bool,
}

/// An employee (the one who rings sales up or voids them).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EmployeeSeed {
    pub id: Option<u64>,
    pub first_name: String,
    pub last_name: String,
    pub archived: bool,
}

/// A discount: a fixed amount or a fraction (not both; docs Discount page: "Must be <=1.00
/// (100%)").
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DiscountSeed {
    pub id: Option<u64>,
    pub name: String,
    pub amount_cents: i64,
    /// A fraction in parts per million (`100_000` = 10 %).
    pub percent_ppm: i64,
    pub require_customer: bool,
    pub archived: bool,
}

/// A payment type. `kind` is Lightspeed's `type`: `cash`, `credit card`, `gift card`,
/// `credit account`, `ecom`, `adjustment` or `user defined`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PaymentTypeSeed {
    pub id: Option<u64>,
    pub name: String,
    pub kind: String,
    pub archived: bool,
}

/// A customer type (referenced by `customerTypeID`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CustomerTypeSeed {
    pub id: Option<u64>,
    pub name: String,
}

/// A category; the store computes `nodeDepth`, `fullPathName` and the nested-set bounds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CategorySeed {
    pub id: Option<u64>,
    pub name: String,
    pub parent_id: Option<u64>,
    pub time_stamp: Option<Timestamp>,
}

/// An e-mail address of a contact (`useType` is `Primary` or `Secondary`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EmailSeed {
    pub address: String,
    pub use_type: String,
}

/// A phone number of a contact (`useType` is `Home`, `Work`, `Mobile`, `Pager` or `Fax`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PhoneSeed {
    pub number: String,
    pub use_type: String,
}

/// A postal address of a contact.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AddressSeed {
    pub address1: String,
    pub address2: String,
    pub city: String,
    pub state: String,
    pub state_code: String,
    pub zip: String,
    pub country: String,
    pub country_code: String,
}

/// A custom field value (`CustomFieldValues.CustomFieldValue`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CustomFieldSeed {
    pub name: String,
    /// Lightspeed's field type (`string`, `url`, `boolean`, …).
    pub kind: String,
    pub value: String,
}

/// A customer with its contact details.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CustomerSeed {
    pub id: Option<u64>,
    pub first_name: String,
    pub last_name: String,
    pub title: String,
    pub company: String,
    pub vat_number: String,
    pub customer_type_id: u64,
    /// Date of birth (`YYYY-MM-DD`), rendered as midnight UTC like the fixtures.
    pub dob: Option<String>,
    pub emails: Vec<EmailSeed>,
    pub phones: Vec<PhoneSeed>,
    pub addresses: Vec<AddressSeed>,
    pub websites: Vec<String>,
    pub custom_fields: Vec<CustomFieldSeed>,
    pub no_email: bool,
    pub archived: bool,
    pub create_time: Option<Timestamp>,
    pub time_stamp: Option<Timestamp>,
}

/// Attribute sets of item matrices, with Lightspeed's default ids.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttributeSet {
    /// `Color/Size` (id 1): attribute1 = colour, attribute2 = size.
    #[default]
    ColorSize,
    /// `Size` (id 2): attribute2 = size (the real recording shows `attributeName2: Size`).
    Size,
    /// `Color` (id 3): attribute1 = colour.
    Color,
}

impl AttributeSet {
    /// Lightspeed's `itemAttributeSetID`.
    pub fn id(self) -> u64 {
        match self {
            Self::ColorSize => 1,
            Self::Size => 2,
            Self::Color => 3,
        }
    }

    /// The set's name and its three attribute names.
    pub fn names(self) -> (&'static str, [&'static str; 3]) {
        match self {
            Self::ColorSize => ("Color/Size", ["Color", "Size", ""]),
            Self::Size => ("Size", ["", "Size", ""]),
            Self::Color => ("Color", ["Color", "", ""]),
        }
    }
}

/// An item matrix (the parent of variant items).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MatrixSeed {
    pub id: Option<u64>,
    pub description: String,
    pub attribute_set: AttributeSet,
    pub category_id: Option<u64>,
    pub price_cents: i64,
    pub cost_cents: i64,
    pub attribute1_values: Vec<String>,
    pub attribute2_values: Vec<String>,
    pub archived: bool,
    pub ecommerce: Option<EcommerceSeed>,
    pub time_stamp: Option<Timestamp>,
}

/// Stock of one item in one shop.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StockSeed {
    pub shop_id: u64,
    pub qoh: i64,
}

/// Image metadata (the bytes live on Cloudinary in the real service; only the URL parts here).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ImageSeed {
    pub description: String,
    pub filename: String,
    pub public_id: String,
}

/// The e-commerce details of an item or matrix (`ItemECommerce`: the web store's texts and
/// shipping dimensions). Descriptions may hold HTML, as entered in the back office.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EcommerceSeed {
    pub short_description: String,
    pub long_description: String,
    pub weight: String,
    pub list_on_store: bool,
}

/// An item. `item_type` is Lightspeed's `itemType` (`default`, `non_inventory`, `box`, …).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ItemSeed {
    pub id: Option<u64>,
    pub description: String,
    pub custom_sku: String,
    pub manufacturer_sku: String,
    pub upc: String,
    pub ean: String,
    pub item_type: String,
    pub category_id: Option<u64>,
    pub matrix_id: Option<u64>,
    /// Up to three attribute values for a variant (`ItemAttributes.attribute1..3`).
    pub attributes: Vec<String>,
    pub price_cents: i64,
    pub msrp_cents: i64,
    pub cost_cents: i64,
    /// The item's tax class (`taxClassID`, default 1).
    pub tax_class_id: Option<u64>,
    pub tax: bool,
    pub archived: bool,
    pub stock: Vec<StockSeed>,
    pub images: Vec<ImageSeed>,
    pub custom_fields: Vec<CustomFieldSeed>,
    pub ecommerce: Option<EcommerceSeed>,
    pub create_time: Option<Timestamp>,
    pub time_stamp: Option<Timestamp>,
}

/// One line of a sale; a negative quantity is a refund line.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SaleLineSeed {
    pub item_id: Option<u64>,
    pub quantity: i64,
    /// The unit price; tax included when the sale's tax category is tax-inclusive.
    pub unit_price_cents: i64,
    pub tax: bool,
    /// Free-text line note (lines without an item carry their SKU here in the recordings).
    pub note: String,
    /// The line's tax class (default: the item's, else 1).
    pub tax_class_id: Option<u64>,
    /// A line discount record (`discountID`); its amount or fraction applies unless the
    /// line gives its own below.
    pub discount_id: Option<u64>,
    /// A fixed discount on the whole line (`discountAmount`).
    pub discount_amount_cents: i64,
    /// A fractional discount (`discountPercent`), parts per million (`100_000` = 10 %).
    pub discount_percent_ppm: i64,
    /// For a refund line: the `saleLineID` it refunds (`parentSaleLineID`) …
    pub parent_line_id: Option<u64>,
    /// … or the same line named by its sale and position, for seeds made before ids exist.
    pub refunds: Option<LineOf>,
    /// `lineType` (`item_fee`, `item_fee_refund`); empty for ordinary lines.
    pub line_type: String,
    /// The item fee a fee line stands for (`itemFeeID`).
    pub item_fee_id: Option<u64>,
    /// A layaway line: its units are reserved (`onLayaway`) and it counts towards no total
    /// until picked up.
    pub layaway: bool,
    /// For a pick-up line: the layaway line it collects.
    pub picks_up: Option<LineOf>,
}

/// A line of an earlier sale, named by the sale's id and the line's position in it
/// (0-based, in the order the sale's lines were given).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LineOf {
    pub sale_id: u64,
    pub line: usize,
}

/// One payment of a sale; a negative amount is a refund (or, on a credit account or gift
/// card, a deposit).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SalePaymentSeed {
    pub payment_type_id: u64,
    /// The amount, tip included (docs SalePayment page).
    pub amount_cents: i64,
    /// The tip inside `amount_cents` (`tipAmount`).
    pub tip_cents: i64,
    /// An archived payment counts towards nothing ("essentially voided").
    pub archived: bool,
    /// The credit account or gift card the payment draws on or deposits to.
    pub credit_account_id: Option<u64>,
    /// When the payment was taken (default: the sale's completion time).
    pub create_time: Option<Timestamp>,
}

/// The shipping address of a sale (`ShipTo`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ShipToSeed {
    pub first_name: String,
    pub last_name: String,
    pub company: String,
    pub address: AddressSeed,
    pub phone: String,
}

/// A sale with its lines and payments.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SaleSeed {
    pub id: Option<u64>,
    pub shop_id: u64,
    pub register_id: u64,
    pub employee_id: u64,
    pub customer_id: Option<u64>,
    pub completed: bool,
    pub voided: bool,
    pub archived: bool,
    pub reference_number: String,
    /// The sale's tax category (default: the shop's).
    pub tax_category_id: Option<u64>,
    /// Without a seeded tax category: one tax rate in basis points (500 = 5 %), added on
    /// top of taxable lines.
    pub tax1_basis_points: i64,
    /// A sale-wide discount record (`discountID`), shared over the lines.
    pub discount_id: Option<u64>,
    /// A sale-wide discount of a fixed amount, shared over the lines.
    pub discount_cents: i64,
    pub lines: Vec<SaleLineSeed>,
    pub payments: Vec<SalePaymentSeed>,
    pub ship_to: Option<ShipToSeed>,
    pub create_time: Option<Timestamp>,
    pub complete_time: Option<Timestamp>,
    pub time_stamp: Option<Timestamp>,
    /// A voided sale's void: when and why (a `SaleVoid` record).
    pub void_time: Option<Timestamp>,
    pub void_reason: String,
}

/// How many records of each kind the generator makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Sizes {
    pub shops: usize,
    pub categories: usize,
    pub customers: usize,
    pub matrices: usize,
    pub items: usize,
    pub sales: usize,
}

impl Default for Sizes {
    fn default() -> Self {
        Self {
            shops: 3,
            categories: 12,
            customers: 60,
            matrices: 6,
            items: 40,
            sales: 40,
        }
    }
}

impl Sizes {
    /// A few of each, for quick tests.
    pub fn small() -> Self {
        Self {
            shops: 2,
            categories: 5,
            customers: 12,
            matrices: 2,
            items: 10,
            sales: 8,
        }
    }
}
