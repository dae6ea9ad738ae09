//! Sale models: Sale with SaleLines, SalePayments (+ PaymentType), Customer and ShipTo; also
//! Shop and Account (api-notes §2.3; fixtures `rseries_sale_*`, `rseries_saleline_list`).

use jiff::Timestamp;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::Deserializer;

use super::catalog::Item;
use super::customer::{Contact, Customer};
use super::ids::{
    AccountId, CustomerId, ItemId, PaymentTypeId, RefId, SaleId, SaleLineId, SalePaymentId, ShopId,
};
use crate::json;

/// A note attached to a record (`Note`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Note {
    #[serde(default, deserialize_with = "json::text")]
    pub note: String,
    #[serde(default, deserialize_with = "json::flag")]
    pub is_public: bool,
}

/// One line of a sale; a negative `unit_quantity` is a refund line.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SaleLine {
    #[serde(rename = "saleLineID")]
    pub sale_line_id: SaleLineId,
    #[serde(rename = "saleID", default, deserialize_with = "json::opt_id")]
    pub sale_id: Option<SaleId>,
    /// `0` in the API (a line without an item, e.g. a free-text line) → `None`.
    #[serde(rename = "itemID", default, deserialize_with = "json::opt_id")]
    pub item_id: Option<ItemId>,
    #[serde(deserialize_with = "json::decimal")]
    pub unit_quantity: Decimal,
    #[serde(deserialize_with = "json::decimal")]
    pub unit_price: Decimal,
    #[serde(default, deserialize_with = "json::opt_decimal")]
    pub normal_unit_price: Option<Decimal>,
    #[serde(default, deserialize_with = "json::opt_decimal")]
    pub discount_amount: Option<Decimal>,
    #[serde(default, deserialize_with = "json::opt_decimal")]
    pub discount_percent: Option<Decimal>,
    #[serde(default, deserialize_with = "json::flag")]
    pub tax: bool,
    #[serde(default, deserialize_with = "json::opt_decimal")]
    pub tax1_rate: Option<Decimal>,
    #[serde(default, deserialize_with = "json::opt_decimal")]
    pub tax2_rate: Option<Decimal>,
    #[serde(deserialize_with = "json::decimal")]
    pub calc_subtotal: Decimal,
    #[serde(default, deserialize_with = "json::opt_decimal")]
    pub calc_line_discount: Option<Decimal>,
    #[serde(default, deserialize_with = "json::opt_decimal")]
    pub calc_transaction_discount: Option<Decimal>,
    #[serde(default, deserialize_with = "json::opt_decimal")]
    pub calc_tax1: Option<Decimal>,
    #[serde(default, deserialize_with = "json::opt_decimal")]
    pub calc_tax2: Option<Decimal>,
    #[serde(deserialize_with = "json::decimal")]
    pub calc_total: Decimal,
    #[serde(default, deserialize_with = "json::opt_decimal")]
    pub avg_cost: Option<Decimal>,
    #[serde(default, deserialize_with = "json::opt_decimal")]
    pub fifo_cost: Option<Decimal>,
    #[serde(rename = "taxClassID", default, deserialize_with = "json::opt_id")]
    pub tax_class_id: Option<RefId>,
    #[serde(rename = "shopID", default, deserialize_with = "json::opt_id")]
    pub shop_id: Option<ShopId>,
    #[serde(
        rename = "parentSaleLineID",
        default,
        deserialize_with = "json::opt_id"
    )]
    pub parent_sale_line_id: Option<SaleLineId>,
    /// e.g. `item_fee` (absent on ordinary lines).
    #[serde(default, deserialize_with = "json::text")]
    pub line_type: String,
    /// A layaway line: its units are held for the customer (`ItemShop.onLayaway`), sold
    /// only when a later line picks them up.
    #[serde(default, deserialize_with = "json::flag")]
    pub is_layaway: bool,
    #[serde(default, deserialize_with = "json::lenient_timestamp")]
    pub create_time: Option<Timestamp>,
    #[serde(default, deserialize_with = "json::opt_timestamp")]
    pub time_stamp: Option<Timestamp>,
    #[serde(rename = "Item", default, deserialize_with = "json::one")]
    pub item: Option<Box<Item>>,
    #[serde(rename = "Note", default, deserialize_with = "json::one")]
    pub note: Option<Note>,
}

/// `PaymentType.type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentKind {
    Cash,
    CreditCard,
    GiftCard,
    CreditAccount,
    Ecom,
    Adjustment,
    UserDefined,
    /// A value this client does not know (kept verbatim).
    Other(String),
}

impl PaymentKind {
    /// Parses the API's value (`cash`, `credit card`, …).
    pub fn parse(text: &str) -> Self {
        match text.trim().to_ascii_lowercase().as_str() {
            "cash" => Self::Cash,
            "credit card" => Self::CreditCard,
            "gift card" => Self::GiftCard,
            "credit account" => Self::CreditAccount,
            "ecom" => Self::Ecom,
            "adjustment" => Self::Adjustment,
            "user defined" => Self::UserDefined,
            _ => Self::Other(text.to_owned()),
        }
    }
}

impl<'de> Deserialize<'de> for PaymentKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self::parse(&json::text(d)?))
    }
}

/// A payment type (`PaymentType`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentType {
    #[serde(rename = "paymentTypeID")]
    pub payment_type_id: PaymentTypeId,
    #[serde(default, deserialize_with = "json::text")]
    pub name: String,
    #[serde(rename = "type")]
    pub kind: PaymentKind,
    #[serde(default, deserialize_with = "json::flag")]
    pub archived: bool,
    #[serde(default, deserialize_with = "json::flag")]
    pub require_customer: bool,
    #[serde(default, deserialize_with = "json::flag")]
    pub internal_reserved: bool,
    #[serde(
        rename = "refundAsPaymentTypeID",
        default,
        deserialize_with = "json::opt_id"
    )]
    pub refund_as_payment_type_id: Option<PaymentTypeId>,
}

/// One payment of a sale; a negative amount is a refund; `archived` ≈ voided.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SalePayment {
    #[serde(rename = "salePaymentID")]
    pub sale_payment_id: SalePaymentId,
    #[serde(rename = "saleID", default, deserialize_with = "json::opt_id")]
    pub sale_id: Option<SaleId>,
    #[serde(deserialize_with = "json::decimal")]
    pub amount: Decimal,
    #[serde(default, deserialize_with = "json::opt_decimal")]
    pub tip_amount: Option<Decimal>,
    #[serde(rename = "paymentTypeID", default, deserialize_with = "json::opt_id")]
    pub payment_type_id: Option<PaymentTypeId>,
    #[serde(default, deserialize_with = "json::flag")]
    pub archived: bool,
    #[serde(default, deserialize_with = "json::lenient_timestamp")]
    pub create_time: Option<Timestamp>,
    #[serde(rename = "registerID", default, deserialize_with = "json::opt_id")]
    pub register_id: Option<RefId>,
    #[serde(rename = "employeeID", default, deserialize_with = "json::opt_id")]
    pub employee_id: Option<RefId>,
    #[serde(rename = "creditAccountID", default, deserialize_with = "json::opt_id")]
    pub credit_account_id: Option<RefId>,
    #[serde(default, deserialize_with = "json::text")]
    pub remote_reference: String,
    #[serde(rename = "PaymentType", default, deserialize_with = "json::one")]
    pub payment_type: Option<PaymentType>,
}

/// The shipping address of a sale (`ShipTo`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShipTo {
    #[serde(rename = "shipToID", default, deserialize_with = "json::opt_id")]
    pub ship_to_id: Option<RefId>,
    #[serde(default, deserialize_with = "json::text")]
    pub first_name: String,
    #[serde(default, deserialize_with = "json::text")]
    pub last_name: String,
    #[serde(default, deserialize_with = "json::text")]
    pub company: String,
    #[serde(default, deserialize_with = "json::text")]
    pub title: String,
    #[serde(rename = "Contact", default, deserialize_with = "json::one")]
    pub contact: Option<Contact>,
}

/// A shop (store location) with its time zone.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Shop {
    #[serde(rename = "shopID")]
    pub shop_id: ShopId,
    #[serde(default, deserialize_with = "json::text")]
    pub name: String,
    /// IANA name as stored (`US/Eastern`, `Europe/Amsterdam`).
    #[serde(default, deserialize_with = "json::text")]
    pub time_zone: String,
    #[serde(default, deserialize_with = "json::flag")]
    pub archived: bool,
    #[serde(default, deserialize_with = "json::opt_timestamp")]
    pub time_stamp: Option<Timestamp>,
}

impl Shop {
    /// The shop's time zone, if the name is known to the system's tz database.
    pub fn tz(&self) -> Option<jiff::tz::TimeZone> {
        jiff::tz::TimeZone::get(&self.time_zone).ok()
    }
}

/// A sale (completed, open, voided or a refund).
#[expect(
    clippy::struct_excessive_bools,
    reason = "mirrors the API's boolean fields"
)]
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sale {
    #[serde(rename = "saleID")]
    pub sale_id: SaleId,
    /// Last modification, or completion time when complete ("legacy" field, docs).
    #[serde(deserialize_with = "json::timestamp")]
    pub time_stamp: Timestamp,
    #[serde(default, deserialize_with = "json::lenient_timestamp")]
    pub create_time: Option<Timestamp>,
    /// Sent as `updateTime` in samples; the sort parameter spells it `updatetime`.
    #[serde(
        default,
        alias = "updatetime",
        deserialize_with = "json::opt_timestamp"
    )]
    pub update_time: Option<Timestamp>,
    #[serde(default, deserialize_with = "json::opt_timestamp")]
    pub complete_time: Option<Timestamp>,
    #[serde(default, deserialize_with = "json::flag")]
    pub completed: bool,
    #[serde(default, deserialize_with = "json::flag")]
    pub voided: bool,
    #[serde(default, deserialize_with = "json::flag")]
    pub archived: bool,
    #[serde(default, deserialize_with = "json::flag")]
    pub is_tax_inclusive: bool,
    #[serde(default, deserialize_with = "json::text")]
    pub reference_number: String,
    #[serde(default, deserialize_with = "json::text")]
    pub reference_number_source: String,
    #[serde(default, deserialize_with = "json::text")]
    pub ticket_number: String,
    #[serde(rename = "customerID", default, deserialize_with = "json::opt_id")]
    pub customer_id: Option<CustomerId>,
    #[serde(rename = "employeeID", default, deserialize_with = "json::opt_id")]
    pub employee_id: Option<RefId>,
    #[serde(rename = "registerID", default, deserialize_with = "json::opt_id")]
    pub register_id: Option<RefId>,
    #[serde(rename = "shopID", default, deserialize_with = "json::opt_id")]
    pub shop_id: Option<ShopId>,
    #[serde(rename = "shipToID", default, deserialize_with = "json::opt_id")]
    pub ship_to_id: Option<RefId>,
    #[serde(rename = "taxCategoryID", default, deserialize_with = "json::opt_id")]
    pub tax_category_id: Option<RefId>,
    #[serde(default, deserialize_with = "json::opt_decimal")]
    pub discount_percent: Option<Decimal>,
    #[serde(default, deserialize_with = "json::opt_decimal")]
    pub tax1_rate: Option<Decimal>,
    #[serde(default, deserialize_with = "json::opt_decimal")]
    pub tax2_rate: Option<Decimal>,
    #[serde(deserialize_with = "json::decimal")]
    pub calc_subtotal: Decimal,
    #[serde(default, deserialize_with = "json::opt_decimal")]
    pub calc_discount: Option<Decimal>,
    #[serde(default, deserialize_with = "json::opt_decimal")]
    pub calc_tax1: Option<Decimal>,
    #[serde(default, deserialize_with = "json::opt_decimal")]
    pub calc_tax2: Option<Decimal>,
    #[serde(deserialize_with = "json::decimal")]
    pub calc_total: Decimal,
    #[serde(default, deserialize_with = "json::opt_decimal")]
    pub calc_payments: Option<Decimal>,
    #[serde(default, deserialize_with = "json::opt_decimal")]
    pub total: Option<Decimal>,
    #[serde(default, deserialize_with = "json::opt_decimal")]
    pub total_due: Option<Decimal>,
    #[serde(default, deserialize_with = "json::opt_decimal")]
    pub balance: Option<Decimal>,
    #[serde(default, deserialize_with = "json::opt_decimal")]
    pub tax_total: Option<Decimal>,
    #[serde(rename = "SaleLines", default, deserialize_with = "json::many")]
    pub sale_lines: Vec<SaleLine>,
    #[serde(rename = "SalePayments", default, deserialize_with = "json::many")]
    pub sale_payments: Vec<SalePayment>,
    #[serde(rename = "Customer", default, deserialize_with = "json::one")]
    pub customer: Option<Box<Customer>>,
    #[serde(rename = "ShipTo", default, deserialize_with = "json::one")]
    pub ship_to: Option<ShipTo>,
    #[serde(rename = "Shop", default, deserialize_with = "json::one")]
    pub shop: Option<Shop>,
}

impl Sale {
    /// Whether this sale gives money back (negative total or a negative line).
    pub fn is_refund(&self) -> bool {
        self.calc_total.is_sign_negative() && !self.calc_total.is_zero()
            || self
                .sale_lines
                .iter()
                .any(|l| l.unit_quantity.is_sign_negative() && !l.unit_quantity.is_zero())
    }

    /// Sum of the non-archived payments.
    pub fn paid(&self) -> Decimal {
        self.sale_payments
            .iter()
            .filter(|p| !p.archived)
            .map(|p| p.amount)
            .sum()
    }
}

/// The account (`GET /API/V3/Account.json` → `{"Account":{accountID,name,link}}`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    #[serde(rename = "accountID")]
    pub account_id: AccountId,
    #[serde(default, deserialize_with = "json::text")]
    pub name: String,
}
