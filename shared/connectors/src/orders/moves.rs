//! What a sale did to Lightspeed's stock: per item and shop, the units it took (a refund
//! line gives units back). A completed sale's moves are kept in its state
//! (`detail.stock`) from the poll that first reads it, before it reaches Business Central,
//! so the stock flow can subtract what Lightspeed sold and Business Central does not know
//! yet: a stock push never brings a sold unit back.
//!
//! **Boxes.** A Lightspeed box item (`itemType` `box`) "can be broken down into single items
//! that are contained within the box (ItemComponents are the singles)", each
//! `ItemComponent` saying how many of `componentItemID` make one `assemblyItemID`
//! (`quantity`) (developers.lightspeedhq.com/retail/endpoints/Item/), and the box's and its
//! singles' "shared inventory is automatically broken down or built up when you check out"
//! (retail-support.lightspeedhq.com, "Creating boxes"). The stock flow writes no figure onto
//! a box: it shows Business Central's units on the single, so a box has no stock of its own
//! and a box sold is built from singles at checkout (the order, box stock first, is
//! inferred; the simulator's `box_sale_stock` has both answers). A sold box line therefore
//! moves `box quantity × quantity` units of its single (the component of the lowest
//! `componentGroup`: "Box relationships will have a unique componentGroup for each single
//! component"). A refunded box goes back to the box. Assemblies are built in the back
//! office before they are sold ("Building and breaking apart assemblies": their parts leave
//! stock when the assembly is built), so an assembly sold moves the assembly.

use std::collections::{BTreeMap, HashMap};

use lsbc_lightspeed::model::{ItemType, Sale};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The key of a sale state's detail holding its [`StockMove`]s.
pub const STOCK: &str = "stock";

/// Units of one item a sale took from one shop's stock (negative: a refund put them back).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockMove {
    /// The Lightspeed item.
    pub item: u64,
    /// The shop whose stock moved.
    pub shop: u64,
    /// Units taken (as Lightspeed counts them: `unitQuantity`; for a box sold, its
    /// single's units).
    pub quantity: Decimal,
}

/// A box's single: the item and how many of it one box holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoxSingle {
    /// The single's Lightspeed item (`componentItemID`).
    pub item: u64,
    /// Singles per box (`quantity`).
    pub per_box: Decimal,
}

/// The singles of boxes, by the box's Lightspeed item.
pub type Boxes = HashMap<u64, BoxSingle>;

/// The box items sold by completed lines of `sales` (their `SaleLines.Item` says `box`):
/// the items whose singles [`stock_moves`] needs.
pub fn sold_boxes<'a>(sales: impl IntoIterator<Item = &'a Sale>) -> Vec<u64> {
    let mut out: Vec<u64> = sales
        .into_iter()
        .filter(|s| s.completed && !s.voided)
        .flat_map(|s| &s.sale_lines)
        .filter(|l| !l.is_layaway && l.unit_quantity > Decimal::ZERO)
        .filter_map(|l| l.item.as_deref())
        .filter(|i| i.item_type == ItemType::Box)
        .map(|i| i.item_id.get())
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The single of the box rendered as `raw` (an `Item` read with its `ItemComponents`):
/// the component of the lowest `componentGroup`; none when it has no components (or values
/// that are not numbers).
pub fn box_single(raw: &Value) -> Option<BoxSingle> {
    let number = |v: &Value, f: &str| -> Option<Decimal> {
        match v.get(f)? {
            Value::String(t) => t.parse().ok(),
            Value::Number(n) => n.to_string().parse().ok(),
            _ => None,
        }
    };
    // One component renders as an object, several as an array (a to-many relation).
    let parts = match raw
        .get("ItemComponents")
        .and_then(|c| c.get("ItemComponent"))
    {
        Some(Value::Array(parts)) => parts.iter().collect::<Vec<_>>(),
        Some(part @ Value::Object(_)) => vec![part],
        _ => Vec::new(),
    };
    parts
        .into_iter()
        .filter_map(|p| {
            let item = number(p, "componentItemID")?.try_into().ok()?;
            let per_box = number(p, "quantity")?;
            let group = number(p, "componentGroup").unwrap_or(Decimal::MAX);
            (item != 0 && per_box > Decimal::ZERO).then_some((group, BoxSingle { item, per_box }))
        })
        .min_by_key(|(group, _)| *group)
        .map(|(_, single)| single)
}

/// The moves of `sale`: none unless it is completed and not voided (a void restocks), one
/// per item and shop, lines of one item added up; lines without an item move nothing. A
/// box sold (in `boxes`) moves its single's units (see the module's notes).
pub fn stock_moves(sale: &Sale, boxes: &Boxes) -> Vec<StockMove> {
    if !sale.completed || sale.voided {
        return Vec::new();
    }
    let mut sums: BTreeMap<(u64, u64), Decimal> = BTreeMap::new();
    // A layaway line holds units (`onLayaway`, which the stock flow reads itself); they
    // are sold by the line that picks them up.
    for line in sale.sale_lines.iter().filter(|l| !l.is_layaway) {
        let Some(item) = line
            .item_id
            .map(lsbc_lightspeed::model::ItemId::get)
            .filter(|i| *i != 0)
        else {
            continue;
        };
        let Some(shop) = line
            .shop_id
            .or(sale.shop_id)
            .map(lsbc_lightspeed::model::ShopId::get)
        else {
            continue;
        };
        match boxes.get(&item) {
            Some(single) if line.unit_quantity > Decimal::ZERO => {
                *sums.entry((single.item, shop)).or_default() +=
                    line.unit_quantity * single.per_box;
            }
            _ => *sums.entry((item, shop)).or_default() += line.unit_quantity,
        }
    }
    sums.into_iter()
        .filter(|(_, q)| !q.is_zero())
        .map(|((item, shop), quantity)| StockMove {
            item,
            shop,
            quantity,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sale(completed: bool, voided: bool) -> Sale {
        Sale::from_json(&json!({
            "saleID": "7", "timeStamp": "2026-03-02T10:00:00+00:00", "completed": completed.to_string(),
            "voided": voided.to_string(), "shopID": "1", "calcSubtotal": "0", "calcTotal": "0",
            "SaleLines": {"SaleLine": [
                {"saleLineID": "1", "itemID": "10", "unitQuantity": "2", "unitPrice": "5", "calcSubtotal": "10", "calcTotal": "10"},
                {"saleLineID": "2", "itemID": "10", "unitQuantity": "1", "unitPrice": "5", "calcSubtotal": "5", "calcTotal": "5"},
                {"saleLineID": "3", "itemID": "11", "unitQuantity": "-1", "unitPrice": "5", "calcSubtotal": "-5", "calcTotal": "-5"},
                {"saleLineID": "4", "itemID": "0", "unitQuantity": "1", "unitPrice": "5", "calcSubtotal": "5", "calcTotal": "5"}
            ]}
        }))
        .unwrap()
    }

    #[test]
    fn a_completed_sale_moves_its_items_per_shop_and_a_void_moves_nothing() {
        let moves = stock_moves(&sale(true, false), &Boxes::new());
        assert_eq!(
            moves,
            [
                StockMove {
                    item: 10,
                    shop: 1,
                    quantity: Decimal::from(3)
                },
                StockMove {
                    item: 11,
                    shop: 1,
                    quantity: Decimal::from(-1)
                },
            ]
        );
        assert!(stock_moves(&sale(true, true), &Boxes::new()).is_empty());
        assert!(stock_moves(&sale(false, false), &Boxes::new()).is_empty());
    }

    #[test]
    fn a_box_sold_moves_its_singles_and_a_refunded_box_goes_back_to_the_box() {
        let sale = Sale::from_json(&json!({
            "saleID": "8", "timeStamp": "2026-03-02T10:00:00+00:00", "completed": "true",
            "voided": "false", "shopID": "1", "calcSubtotal": "0", "calcTotal": "0",
            "SaleLines": {"SaleLine": [
                {"saleLineID": "1", "itemID": "40", "unitQuantity": "2", "unitPrice": "5", "calcSubtotal": "10", "calcTotal": "10",
                 "Item": {"itemID": "40", "itemType": "box", "description": "six-pack", "timeStamp": "2026-03-01T10:00:00+00:00"}},
                {"saleLineID": "2", "itemID": "12", "unitQuantity": "1", "unitPrice": "1", "calcSubtotal": "1", "calcTotal": "1",
                 "Item": {"itemID": "12", "itemType": "default", "description": "can", "timeStamp": "2026-03-01T10:00:00+00:00"}},
                {"saleLineID": "3", "itemID": "40", "unitQuantity": "-1", "unitPrice": "5", "calcSubtotal": "-5", "calcTotal": "-5",
                 "Item": {"itemID": "40", "itemType": "box", "description": "six-pack", "timeStamp": "2026-03-01T10:00:00+00:00"}}
            ]}
        }))
        .unwrap();
        assert_eq!(sold_boxes([&sale]), [40]);
        let raw = json!({"itemID": "40", "ItemComponents": {"ItemComponent": [
            {"itemComponentID": "2", "quantity": "12", "componentGroup": "2", "assemblyItemID": "40", "componentItemID": "13"},
            {"itemComponentID": "1", "quantity": "6", "componentGroup": "1", "assemblyItemID": "40", "componentItemID": "12"}
        ]}});
        let single = box_single(&raw).unwrap();
        assert_eq!((single.item, single.per_box), (12, Decimal::from(6)));
        assert!(box_single(&json!({"itemID": "41", "ItemComponents": ""})).is_none());
        let boxes = Boxes::from([(40, single)]);
        let moves = stock_moves(&sale, &boxes);
        assert_eq!(
            moves,
            [
                StockMove {
                    item: 12,
                    shop: 1,
                    quantity: Decimal::from(13)
                },
                StockMove {
                    item: 40,
                    shop: 1,
                    quantity: Decimal::from(-1)
                },
            ]
        );
        // Without its components read, a box moves itself (as any item).
        assert_eq!(
            stock_moves(&sale, &Boxes::new())[1].quantity,
            Decimal::from(1)
        );
    }
}
