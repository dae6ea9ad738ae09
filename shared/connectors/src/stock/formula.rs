//! The figure one Lightspeed shop shows for one item: pure arithmetic on what Business
//! Central holds (per variant and location) and what Lightspeed sold that Business
//! Central does not know yet.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Serialize;

use super::settings::{Formula, Negative};

/// Quantities per (variant code, location code), in the item's base unit of measure.
pub type PerLocation = BTreeMap<(String, String), Decimal>;

/// The blank location and the quantities of API v2.0, which has no location: they stand
/// for every location a shop shows.
pub const ANY_LOCATION: &str = "*";

/// How one shop's figure came about (the audit entry of a push).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Figures {
    /// The formula.
    pub formula: &'static str,
    /// Business Central's inventory at the shop's locations.
    pub inventory: Decimal,
    /// What the formula takes off: outstanding sales order quantities or reservations.
    pub deducted: Decimal,
    /// Sold in Lightspeed, not known to Business Central yet.
    pub in_flight: Decimal,
    /// Kept back.
    pub safety: Decimal,
    /// What the shop is to show.
    pub target: i64,
}

/// The sum of `quantities` of `variant` at `locations`.
pub fn at_locations(quantities: &PerLocation, variant: &str, locations: &[String]) -> Decimal {
    quantities
        .iter()
        .filter(|((v, l), _)| {
            v == variant && (l == ANY_LOCATION || locations.iter().any(|x| x == l))
        })
        .map(|(_, q)| *q)
        .sum()
}

/// What one shop shows: inventory, less what the formula deducts, less what is in flight
/// and the safety stock, floored to whole units; below zero it becomes 0 unless kept.
#[allow(clippy::too_many_arguments)]
pub fn figures(
    formula: Formula,
    inventory: Decimal,
    deductible: Decimal,
    in_flight: Decimal,
    safety: Decimal,
    negative: Negative,
) -> Figures {
    let deducted = match formula {
        Formula::Inventory => Decimal::ZERO,
        Formula::InventoryMinusOutstanding | Formula::InventoryMinusReserved => deductible,
    };
    let raw = (inventory - deducted - in_flight - safety).floor();
    let mut target = i64::try_from(raw).unwrap_or(if raw.is_sign_negative() {
        i64::MIN
    } else {
        i64::MAX
    });
    if negative == Negative::Zero {
        target = target.max(0);
    }
    Figures {
        formula: formula.as_str(),
        inventory,
        deducted,
        in_flight,
        safety,
        target,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn case_13_in_flight_sales_count_once_under_either_formula() {
        // ORDERS-STOCK §9 case 13 (location AMS): inventory 10, reserved 2, outstanding
        // order quantity 3 (one of them a Lightspeed sale made as an order, which BC
        // already counts), two Lightspeed sales (2 units) are unposted invoices; LS qoh 6.
        let reserved = figures(
            Formula::InventoryMinusReserved,
            d("10"),
            d("2"),
            d("2"),
            d("0"),
            Negative::Zero,
        );
        assert_eq!(reserved.target, 6, "no PUT: Lightspeed already shows 6");
        let outstanding = figures(
            Formula::InventoryMinusOutstanding,
            d("10"),
            d("3"),
            d("2"),
            d("0"),
            Negative::Zero,
        );
        assert_eq!(outstanding.target, 5);
    }

    #[test]
    fn case_14_edges() {
        let f = |inv: &str, negative| {
            figures(Formula::Inventory, d(inv), d("0"), d("0"), d("0"), negative).target
        };
        assert_eq!(f("-1", Negative::Zero), 0, "BC −1 → 0");
        assert_eq!(f("-1", Negative::Keep), -1);
        assert_eq!(f("2.5", Negative::Zero), 2, "fractions floored");
        let mut q = PerLocation::new();
        q.insert((String::new(), "AMS".into()), d("4"));
        q.insert((String::new(), "AMS-BACK".into()), d("3"));
        q.insert((String::new(), "NYC".into()), d("9"));
        q.insert(("RED".into(), "AMS".into()), d("1"));
        let ams = ["AMS".to_owned(), "AMS-BACK".to_owned()];
        assert_eq!(at_locations(&q, "", &ams), d("7"), "AMS|AMS-BACK 4 + 3");
        assert_eq!(at_locations(&q, "RED", &ams), d("1"));
        let mut company = PerLocation::new();
        company.insert((String::new(), ANY_LOCATION.into()), d("5"));
        assert_eq!(at_locations(&company, "", &ams), d("5"));
        let kept = figures(
            Formula::Inventory,
            d("5"),
            d("0"),
            d("0"),
            d("2"),
            Negative::Zero,
        );
        assert_eq!(kept.target, 3, "safety stock kept back");
    }
}
