//! Typed models of the R-Series records the sync reads, each decodable by a pure function
//! from the raw JSON the API returned (`Item::from_json(&value)`), so a record can travel as
//! raw JSON and be decoded later in another process. Money, rates and quantities are exact
//! (`rust_decimal::Decimal` / integers). Only fields the sync may use are modelled; unknown
//! fields are ignored. No IO here.

mod catalog;
mod customer;
mod ids;
mod sale;

use serde::de::DeserializeOwned;
use serde_json::Value;

pub use catalog::{
    Category, CustomFieldValue, Image, Item, ItemAttributeSet, ItemAttributes, ItemMatrix,
    ItemPrice, ItemShop, ItemType,
};
pub use customer::{
    Contact, ContactAddress, ContactEmail, ContactPhone, ContactWebsite, Customer, CustomerType,
};
pub use ids::{
    AccountId, CategoryId, CustomerId, CustomerTypeId, ImageId, InvalidId, ItemId, ItemMatrixId,
    ItemShopId, PaymentTypeId, RefId, SaleId, SaleLineId, SalePaymentId, ShopId,
};
pub use sale::{
    Account, Note, PaymentKind, PaymentType, Sale, SaleLine, SalePayment, ShipTo, Shop,
};

use crate::json::{DecodeError, decode};

/// An entity served under `/API/V3/Account/{accountID}/{ENTITY}.json`.
pub trait Resource: DeserializeOwned + Send + Sync + 'static {
    /// Path segment and JSON key (`Item`, `ItemShop`, …).
    const ENTITY: &'static str;
    /// Primary-key field (`itemID`, …).
    const ID_FIELD: &'static str;

    /// Decodes one record from the raw JSON object the API returned.
    fn from_json(value: &Value) -> Result<Self, DecodeError> {
        decode(Self::ENTITY, value)
    }
}

macro_rules! resource {
    ($ty:ty, $entity:literal, $id:literal) => {
        impl Resource for $ty {
            const ENTITY: &'static str = $entity;
            const ID_FIELD: &'static str = $id;
        }

        impl $ty {
            /// Decodes one record from the raw JSON object the API returned; errors name the
            /// JSON path.
            pub fn from_json(value: &Value) -> Result<Self, DecodeError> {
                <Self as Resource>::from_json(value)
            }
        }
    };
}

resource!(Item, "Item", "itemID");
resource!(ItemMatrix, "ItemMatrix", "itemMatrixID");
resource!(Category, "Category", "categoryID");
resource!(Customer, "Customer", "customerID");
resource!(CustomerType, "CustomerType", "customerTypeID");
resource!(Sale, "Sale", "saleID");
resource!(SaleLine, "SaleLine", "saleLineID");
resource!(ItemShop, "ItemShop", "itemShopID");
resource!(Image, "Image", "imageID");
resource!(Shop, "Shop", "shopID");
resource!(PaymentType, "PaymentType", "paymentTypeID");

impl Account {
    /// Decodes the `Account` object of `GET /API/V3/Account.json`.
    pub fn from_json(value: &Value) -> Result<Self, DecodeError> {
        decode("Account", value)
    }
}
