//! The orders flow's command: the Business Central documents one Lightspeed sale should be
//! — the contract between its transform and its sink. Amounts are decimals as Lightspeed
//! gives them (serialised as strings: never binary floating point on the way).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Where the sale stands in Lightspeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SaleStatus {
    /// Completed: its documents should exist.
    Completed,
    /// Voided: its documents should not (a draft is deleted, a posted invoice cancelled).
    Voided,
}

/// The kind of a Business Central sales document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// `salesInvoices`.
    Invoice,
    /// `salesOrders`.
    Order,
    /// `salesCreditMemos`.
    CreditMemo,
}

impl DocumentKind {
    /// As written in states and keys.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invoice => "invoice",
            Self::Order => "order",
            Self::CreditMemo => "credit_memo",
        }
    }

    /// The entity set of documents of this kind.
    pub fn entity_set(self) -> lsbc_business_central::EntitySet {
        use lsbc_business_central::EntitySet;
        match self {
            Self::Invoice => EntitySet::SalesInvoices,
            Self::Order => EntitySet::SalesOrders,
            Self::CreditMemo => EntitySet::SalesCreditMemos,
        }
    }

    /// The header's date field (`invoiceDate`, `orderDate`, `creditMemoDate`).
    pub fn date_field(self) -> &'static str {
        match self {
            Self::Invoice => "invoiceDate",
            Self::Order => "orderDate",
            Self::CreditMemo => "creditMemoDate",
        }
    }
}

/// What a document line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    /// An item (by the Lightspeed item, found in BC by the products flow's rule).
    Item,
    /// A G/L account line (item fees, shipping).
    Account,
    /// A comment (a line note).
    Comment,
}

/// The Lightspeed item of an item line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemRef {
    /// `itemID`.
    pub item_id: u64,
    /// `itemMatrixID` of a matrix variant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matrix_id: Option<u64>,
    /// The SKU (the BC item number of a simple item), for finding it without a link and
    /// for messages.
    pub sku: String,
}

/// One document line, in the sale's price basis (tax included when the sale is).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineCommand {
    /// Item, account or comment.
    pub kind: LineKind,
    /// The item of an item line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<ItemRef>,
    /// The G/L account number of an account line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The line's text (comment lines, account lines).
    #[serde(default)]
    pub description: String,
    /// Units (positive: a credit memo's lines are positive too).
    pub quantity: Decimal,
    /// The unit price in the sale's basis.
    pub unit_price: Decimal,
    /// Lightspeed's `calcLineDiscount + calcTransactionDiscount` (never recomputed).
    pub discount: Decimal,
    /// The line's tax rate in percent (Lightspeed's `tax1Rate + tax2Rate`), to convert the
    /// price basis when the BC document's differs from the sale's.
    pub tax_percent: Decimal,
    /// The BC location code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The BC tax code from the `tax_codes` table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_code: Option<String>,
    /// Lightspeed's line total (tax included), for messages.
    pub total: Decimal,
}

/// One Business Central document of the sale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentCommand {
    /// Invoice, order or credit memo.
    pub kind: DocumentKind,
    /// The second document of an exchange (its reference ends in `-I`).
    #[serde(default)]
    pub second: bool,
    /// Its `externalDocumentNumber`.
    pub reference: String,
    /// Header fields as sent (dates, ship-to, salesperson, payment terms).
    pub header: Map<String, Value>,
    /// Its lines.
    pub lines: Vec<LineCommand>,
    /// What BC's `totalAmountIncludingTax` should reach (positive).
    pub expected_total: Decimal,
    /// For a credit memo refunding earlier sales: their ids (the memo applies to the first
    /// one's invoice once known).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refunds_sales: Vec<u64>,
    /// Posted by the sync (`document_type = posted_invoice`; credit memos of a posted flow).
    #[serde(default)]
    pub post: bool,
}

/// Who the documents are for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "by")]
pub enum CustomerRef {
    /// The sale's Lightspeed customer (found by the customers flow's link, or matched and
    /// created by that flow's own rules from `record`, the customer as the sale holds it).
    Lightspeed {
        /// `customerID`.
        customer_id: String,
        /// The customer with its contact, as the sale's `Customer` relation holds it.
        record: Value,
    },
    /// A walk-in sale: the default customer of its shop.
    Default {
        /// The BC customer number.
        number: String,
    },
}

/// A tender of the sale, kept for the payments work and shown by `lsbc orders show`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tender {
    /// `paymentTypeID`.
    pub payment_type_id: String,
    /// The payment type's name.
    pub name: String,
    /// The payment type's `type` (`cash`, `credit card`, …).
    pub kind: String,
    /// The amount, tip included.
    pub amount: Decimal,
    /// The tip inside it.
    pub tip: Decimal,
}

/// What the push stage receives for one sale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderCommand {
    /// The Lightspeed `saleID`.
    pub sale_id: u64,
    /// Completed or voided.
    pub status: SaleStatus,
    /// The void's local date (a posted invoice's cancellation is dated on it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voided_on: Option<String>,
    /// The sale's shop.
    pub shop_id: u64,
    /// The document date (the completion's local date in the shop's time zone).
    pub date: String,
    /// Who the documents are for.
    pub customer: CustomerRef,
    /// Whether the sale's prices include tax (Lightspeed's `isTaxInclusive`).
    pub prices_include_tax: bool,
    /// Lightspeed's `total` of the sale.
    pub total: Decimal,
    /// The documents, in the order they are made.
    pub documents: Vec<DocumentCommand>,
    /// The tenders (non-archived payments).
    #[serde(default)]
    pub tenders: Vec<Tender>,
    /// The G/L account of rounding lines (none: any difference holds the sale).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rounding_account: Option<String>,
    /// The largest difference a rounding line may make up.
    pub rounding_tolerance: Decimal,
    /// A sale waiting longer than this many hours raises the alarm.
    #[serde(default)]
    pub waiting_alarm_hours: u32,
    /// The currency of the sale (setting `currency_code`); none: not checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency_code: Option<String>,
    /// What document references start with (`LS-`): finds an earlier sale's documents.
    #[serde(default)]
    pub document_prefix: String,
}
