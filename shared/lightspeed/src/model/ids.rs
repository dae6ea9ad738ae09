//! Id newtypes of the R-Series entities, so an item id cannot be passed where a customer id
//! is meant. They parse from the API's strings (`"20"`) and numbers; nothing else here.

use std::fmt;
use std::str::FromStr;

use serde::Deserialize;
use serde::de::{self, Deserializer};

/// An id that did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a Lightspeed id: {0:?}")]
pub struct InvalidId(pub String);

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(u64);

        impl $name {
            /// Wraps a raw id.
            pub const fn new(id: u64) -> Self {
                Self(id)
            }

            /// The raw id.
            pub const fn get(self) -> u64 {
                self.0
            }
        }

        impl From<u64> for $name {
            fn from(id: u64) -> Self {
                Self(id)
            }
        }

        impl From<$name> for u64 {
            fn from(id: $name) -> u64 {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;

            fn from_str(s: &str) -> Result<Self, InvalidId> {
                s.trim().parse().map(Self).map_err(|_| InvalidId(s.to_owned()))
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = crate::json::text(d)?;
                text.parse().map_err(|_| de::Error::custom(format!("expected an id, got {text:?}")))
            }
        }
    };
}

id_type!(
    /// `accountID`.
    AccountId
);
id_type!(
    /// `itemID`.
    ItemId
);
id_type!(
    /// `itemMatrixID`.
    ItemMatrixId
);
id_type!(
    /// `categoryID`.
    CategoryId
);
id_type!(
    /// `customerID`.
    CustomerId
);
id_type!(
    /// `customerTypeID`.
    CustomerTypeId
);
id_type!(
    /// `saleID`.
    SaleId
);
id_type!(
    /// `saleLineID`.
    SaleLineId
);
id_type!(
    /// `salePaymentID`.
    SalePaymentId
);
id_type!(
    /// `paymentTypeID`.
    PaymentTypeId
);
id_type!(
    /// `itemShopID`.
    ItemShopId
);
id_type!(
    /// `shopID` (0 is the all-shops summary in ItemShop records).
    ShopId
);
id_type!(
    /// `imageID`.
    ImageId
);
id_type!(
    /// `taxClassID`, `employeeID`, `registerID` and other references the sync only carries.
    RefId
);
