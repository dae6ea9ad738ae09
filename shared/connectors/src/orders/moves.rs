//! What a sale did to Lightspeed's stock: per item and shop, the units it took (a refund
//! line gives units back). A completed sale's moves are kept in its state
//! (`detail.stock`) from the poll that first reads it, before it reaches Business Central,
//! so the stock flow can subtract what Lightspeed sold and Business Central does not know
//! yet: a stock push never brings a sold unit back.

use std::collections::BTreeMap;

use lsbc_lightspeed::model::Sale;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The key of a sale state's detail holding its [`StockMove`]s.
pub const STOCK: &str = "stock";

/// Units of one item a sale took from one shop's stock (negative: a refund put them back).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StockMove {
    /// The Lightspeed item.
    pub item: u64,
    /// The shop whose stock moved.
    pub shop: u64,
    /// Units taken (as Lightspeed counts them: `unitQuantity`).
    pub quantity: Decimal,
}

/// The moves of `sale`: none unless it is completed and not voided (a void restocks), one
/// per item and shop, lines of one item added up; lines without an item move nothing.
pub fn stock_moves(sale: &Sale) -> Vec<StockMove> {
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
        *sums.entry((item, shop)).or_default() += line.unit_quantity;
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
        let moves = stock_moves(&sale(true, false));
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
        assert!(stock_moves(&sale(true, true)).is_empty());
        assert!(stock_moves(&sale(false, false)).is_empty());
    }
}
