//! BC's enum and date encodings: enum members arrive XML-escaped (`Non_x002D_Inventory`,
//! blank = `_x0020_`) or, in some doc samples, plain (`" "`) — both decode to the same value
//! (api-notes §2 "Enum encoding"); blank dates arrive as `0001-01-01` and decode to `None`
//! (fixtures salesOrder.create.response.json, fixture.rebelpl.salesOrders.json). It must not
//! know about entities or IO.

use std::borrow::Cow;
use std::fmt::{self, Write as _};

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The character of the `_x<digits>_` escape at the start of `s`, if it is one.
fn escaped(s: &str, digits: usize) -> Option<char> {
    let hex = s.get(2..2 + digits)?;
    if !s[2 + digits..].starts_with('_') || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(hex, 16).ok().and_then(char::from_u32)
}

/// Decodes `_xHHHH_` escapes (`Positive_x0020_Adjmt_x002E_` → `Positive Adjmt.`), and
/// `_xHHHHHHHH_` for a character beyond the 16-bit range, as XML name encoding writes it.
pub fn unescape(text: &str) -> Cow<'_, str> {
    if !text.contains("_x") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("_x") {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some((ch, len)) = escaped(tail, 8)
            .map(|c| (c, 11))
            .or_else(|| escaped(tail, 4).map(|c| (c, 7)))
        {
            out.push(ch);
            rest = &tail[len..];
        } else {
            out.push_str("_x");
            rest = &tail[2..];
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Encodes a caption as a JSON member name (`Non-Inventory` → `Non_x002D_Inventory`). An
/// underscore that starts `_x` is escaped itself (`_x005F_`), as XML name encoding does, so
/// that [`unescape`] gives back exactly the caption.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(ch) = chars.next() {
        let escapes_an_escape = ch == '_' && chars.peek() == Some(&'x');
        if (ch.is_ascii_alphanumeric() || ch == '_') && !escapes_an_escape {
            out.push(ch);
        } else if u32::from(ch) > 0xFFFF {
            let _ = write!(out, "_x{:08X}_", u32::from(ch));
        } else {
            let _ = write!(out, "_x{:04X}_", u32::from(ch));
        }
    }
    out
}

macro_rules! bc_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $caption:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A member this client does not know, as sent (unescaped).
            Other(String),
        }

        impl $name {
            /// The captions of the known members, in BC's order.
            pub const CAPTIONS: &[&str] = &[$($caption),+];

            /// Decodes an escaped or plain member.
            pub fn parse(text: &str) -> Self {
                let plain = unescape(text);
                match plain.as_ref() {
                    $($caption => Self::$variant,)+
                    other => Self::Other(other.to_owned()),
                }
            }

            /// The caption (`Non-Inventory`).
            pub fn caption(&self) -> &str {
                match self {
                    $(Self::$variant => $caption,)+
                    Self::Other(text) => text,
                }
            }

            /// The JSON member name BC expects (`Non_x002D_Inventory`).
            pub fn member_name(&self) -> String {
                escape(self.caption())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.caption())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                Ok(Self::parse(&text))
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.member_name())
            }
        }
    };
}

bc_enum!(
    /// `items.type`.
    ItemType {
        /// Stock-keeping item.
        Inventory => "Inventory",
        /// Service.
        Service => "Service",
        /// Non-inventory item.
        NonInventory => "Non-Inventory",
    }
);

bc_enum!(
    /// `customers.type` and `contacts.type`.
    PartyType {
        /// A company.
        Company => "Company",
        /// A person.
        Person => "Person",
    }
);

bc_enum!(
    /// `customers.blocked`.
    CustomerBlocked {
        /// Not blocked (`_x0020_` or `" "`).
        No => " ",
        /// Blocked for shipping.
        Ship => "Ship",
        /// Blocked for invoicing.
        Invoice => "Invoice",
        /// Blocked for everything.
        All => "All",
    }
);

bc_enum!(
    /// `lineType` of sales document lines.
    LineType {
        /// Text only.
        Comment => "Comment",
        /// G/L account.
        Account => "Account",
        /// Item.
        Item => "Item",
        /// Resource.
        Resource => "Resource",
        /// Fixed asset.
        FixedAsset => "Fixed Asset",
        /// Item charge.
        Charge => "Charge",
        /// Allocation account.
        AllocationAccount => "Allocation Account",
    }
);

bc_enum!(
    /// `status` of sales documents (orders use the first three).
    DocumentStatus {
        /// Blank.
        Blank => " ",
        /// Not yet released.
        Draft => "Draft",
        /// Awaiting approval.
        InReview => "In Review",
        /// Released / posted and open.
        Open => "Open",
        /// Posted and paid.
        Paid => "Paid",
        /// Cancelled.
        Canceled => "Canceled",
        /// Corrective.
        Corrective => "Corrective",
    }
);

bc_enum!(
    /// `itemLedgerEntries.entryType` (D: .../api/dynamics_itemledgerentry_get.md).
    EntryType {
        /// Purchase receipt.
        Purchase => "Purchase",
        /// Sale (negative quantity).
        Sale => "Sale",
        /// Positive adjustment.
        PositiveAdjustment => "Positive Adjmt.",
        /// Negative adjustment.
        NegativeAdjustment => "Negative Adjmt.",
        /// Transfer.
        Transfer => "Transfer",
        /// Consumption.
        Consumption => "Consumption",
        /// Output.
        Output => "Output",
        /// Blank.
        Blank => " ",
        /// Assembly consumption.
        AssemblyConsumption => "Assembly Consumption",
        /// Assembly output.
        AssemblyOutput => "Assembly Output",
    }
);

/// An enum member kept as text (unescaped), for fields the sync only shows or compares
/// (`documentType`, `sourceType`, `relatedType`, `contactBusinessRelation`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct EnumText(String);

impl EnumText {
    /// The caption (`Sales Shipment`), trimmed blank as `""`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for the blank member.
    pub fn is_blank(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl<'de> Deserialize<'de> for EnumText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(Self(unescape(&text).trim().to_owned()))
    }
}

/// Serde helpers for BC dates where `0001-01-01` means "no date".
pub mod blank_date {
    use super::{Date, Deserialize, Deserializer};

    /// Decodes `"2024-05-01"` to `Some`, `"0001-01-01"`, `""` and `null` to `None`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Date>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        match text.as_deref() {
            None | Some("" | "0001-01-01") => Ok(None),
            Some(text) => text.parse().map(Some).map_err(serde::de::Error::custom),
        }
    }
}

/// Serde helpers for BC date-times where `0001-01-01T00:00:00Z` means "never".
pub mod blank_datetime {
    use super::{Date, Deserialize, Deserializer, Timestamp};

    /// Decodes RFC 3339 to `Some`; BC's blank to `None`. A bare date (seen in the contact
    /// doc sample, fixture contact.get.response.json) reads as midnight UTC.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        match text.as_deref() {
            None | Some("") => Ok(None),
            Some(text) if text.starts_with("0001-01-01") => Ok(None),
            Some(text) => match text.parse::<Timestamp>() {
                Ok(ts) => Ok(Some(ts)),
                Err(error) => text
                    .parse::<Date>()
                    .ok()
                    .and_then(|date| date.to_zoned(jiff::tz::TimeZone::UTC).ok())
                    .map(|zoned| Some(zoned.timestamp()))
                    .ok_or_else(|| serde::de::Error::custom(error)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_round_trip() {
        for (plain, escaped) in [
            (" ", "_x0020_"),
            ("Non-Inventory", "Non_x002D_Inventory"),
            ("Positive Adjmt.", "Positive_x0020_Adjmt_x002E_"),
            ("In Review", "In_x0020_Review"),
            ("Bank Account", "Bank_x0020_Account"),
            ("Item", "Item"),
            ("a_x0A0A_b", "a_x005F_x0A0A_b"),
            ("🙂", "_x0001F642_"),
        ] {
            assert_eq!(escape(plain), escaped);
            assert_eq!(unescape(escaped), plain);
        }
        assert_eq!(unescape("odd_xZZ_value_x"), "odd_xZZ_value_x");
        assert_eq!(unescape("_x+123_"), "_x+123_", "only hex digits");
    }

    #[test]
    fn enums_decode_escaped_and_plain_forms() {
        assert_eq!(
            ItemType::parse("Non_x002D_Inventory"),
            ItemType::NonInventory
        );
        assert_eq!(ItemType::parse("Non-Inventory"), ItemType::NonInventory);
        assert_eq!(CustomerBlocked::parse("_x0020_"), CustomerBlocked::No);
        assert_eq!(CustomerBlocked::parse(" "), CustomerBlocked::No);
        assert_eq!(
            EntryType::parse("Positive_x0020_Adjmt_x002E_"),
            EntryType::PositiveAdjustment
        );
        assert_eq!(ItemType::parse("Gadget"), ItemType::Other("Gadget".into()));
        assert_eq!(
            serde_json::to_string(&ItemType::NonInventory).unwrap(),
            "\"Non_x002D_Inventory\""
        );
        let t: EnumText = serde_json::from_str("\"Sales_x0020_Shipment\"").unwrap();
        assert_eq!(t.as_str(), "Sales Shipment");
        let t: EnumText = serde_json::from_str("\"_x0020_\"").unwrap();
        assert!(t.is_blank());
    }

    #[test]
    fn blank_dates_are_none() {
        #[derive(Deserialize)]
        struct D {
            #[serde(with = "blank_date")]
            d: Option<Date>,
            #[serde(with = "blank_datetime")]
            t: Option<Timestamp>,
        }
        let v: D =
            serde_json::from_str(r#"{"d":"0001-01-01","t":"0001-01-01T00:00:00Z"}"#).unwrap();
        assert!(v.d.is_none() && v.t.is_none());
        let v: D =
            serde_json::from_str(r#"{"d":"2025-05-22","t":"2023-09-02T17:49:38.5Z"}"#).unwrap();
        assert_eq!(v.d, Some(Date::constant(2025, 5, 22)));
        assert!(v.t.is_some());
        let v: D = serde_json::from_str(r#"{"d":"2025-05-22","t":"2021-06-01"}"#).unwrap();
        assert!(v.t.is_some());
    }
}
