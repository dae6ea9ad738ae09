//! Sale arithmetic as Lightspeed shows it, in exact integers: money in cents, rates in parts
//! per million, unrounded line taxes in units of 10⁻⁸. Lines keep their taxes unrounded and
//! the sale rounds each tax once, half away from zero (fixture sale 277: line taxes 0.4995 +
//! 1 → 1.5; ORDERS-STOCK.md §6 "Tax rounding"). A sale discount is shared over the lines in
//! proportion to what each line still costs, largest remainder first, so the shares add up
//! to the cent (`calcTransactionDiscount`, ORDERS-STOCK.md §9 case 1: 3.00 → 2.40 + 0.60).
//! Tax-inclusive categories (EU) carry the tax inside the price: tax = gross × rate / (1 +
//! rate₁ + rate₂). No state, no JSON.

/// Parts per million of a rate (`210_000` = 21 %).
pub(crate) const PPM: i128 = 1_000_000;

/// Divides, rounding half away from zero.
pub(crate) fn round_div(n: i128, d: i128) -> i128 {
    if d == 0 {
        return 0;
    }
    let (n, d) = if d < 0 { (-n, -d) } else { (n, d) };
    if n >= 0 {
        (n + d / 2) / d
    } else {
        -((-n + d / 2) / d)
    }
}

/// Unrounded 10⁻⁸ units to cents, half away from zero.
pub(crate) fn e8_to_cents(e8: i128) -> i128 {
    round_div(e8, PPM)
}

/// The two tax rates that apply to one line (zero when the line is not taxed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Rates {
    pub(crate) tax1_ppm: i64,
    pub(crate) tax2_ppm: i64,
}

/// What one line asks for.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LineInput {
    pub(crate) quantity: i64,
    pub(crate) unit_price_cents: i64,
    /// A fixed line discount (for the whole line, not per unit).
    pub(crate) discount_amount_cents: i64,
    /// A percentage line discount, as a fraction in ppm (`100_000` = 10 %).
    pub(crate) discount_percent_ppm: i64,
    pub(crate) rates: Rates,
    /// Whether the line counts towards the sale's totals (an open layaway line does not).
    pub(crate) counts: bool,
}

/// One line's amounts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct LineMoney {
    /// `unitQuantity × unitPrice`, cents.
    pub(crate) subtotal: i128,
    /// `calcLineDiscount`, cents.
    pub(crate) line_discount: i128,
    /// `calcTransactionDiscount`: this line's share of the sale discount, cents.
    pub(crate) transaction_discount: i128,
    /// `calcTax1`, `calcTax2`: unrounded, 10⁻⁸.
    pub(crate) tax1_e8: i128,
    pub(crate) tax2_e8: i128,
    /// `calcTotal`: 10⁻⁸.
    pub(crate) total_e8: i128,
}

impl LineMoney {
    /// What the line costs after its own and the sale's discount, cents (tax included
    /// when the category is tax-inclusive).
    pub(crate) fn base(&self) -> i128 {
        self.subtotal - self.line_discount - self.transaction_discount
    }
}

/// A sale's amounts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SaleMoney {
    pub(crate) lines: Vec<LineMoney>,
    pub(crate) subtotal: i128,
    /// Line discounts plus the sale discount (`calcDiscount`).
    pub(crate) discount: i128,
    /// Subtotal of taxed lines after discounts (`calcTaxable`).
    pub(crate) taxable: i128,
    pub(crate) tax1: i128,
    pub(crate) tax2: i128,
    /// `total`: `calcSubtotal − calcDiscount + calcTax1 + calcTax2` (exclusive) or
    /// `calcSubtotal − calcDiscount` (inclusive: the taxes are inside the prices).
    pub(crate) total: i128,
}

/// The sale discount on the lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SaleDiscount {
    None,
    /// A fixed amount, cents.
    Amount(i64),
    /// A fraction of what the lines cost, ppm.
    Percent(i64),
}

/// The line discount before the sale discount: a fixed amount (signed like the line, so a
/// refund of a discounted line is discounted too) or a share of the subtotal, cents.
pub(crate) fn line_discount(subtotal: i128, amount_cents: i64, percent_ppm: i64) -> i128 {
    if amount_cents != 0 {
        let amount = i128::from(amount_cents);
        if subtotal < 0 { -amount } else { amount }
    } else {
        round_div(subtotal * i128::from(percent_ppm), PPM)
    }
}

/// Shares `total` over `weights` in proportion, each share rounded down and the cents left
/// given to the largest remainders (ties to the first line). Lines with no positive weight
/// get nothing.
pub(crate) fn allocate(total: i128, weights: &[i128]) -> Vec<i128> {
    let sum: i128 = weights.iter().filter(|w| **w > 0).sum();
    if sum <= 0 || total == 0 {
        return vec![0; weights.len()];
    }
    let sign = total.signum();
    let total = total.abs();
    let mut shares: Vec<i128> = Vec::with_capacity(weights.len());
    let mut remainders: Vec<(i128, usize)> = Vec::new();
    for (n, w) in weights.iter().enumerate() {
        if *w > 0 {
            shares.push(total * w / sum);
            remainders.push((total * w % sum, n));
        } else {
            shares.push(0);
        }
    }
    let mut left = total - shares.iter().sum::<i128>();
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, n) in remainders {
        if left <= 0 {
            break;
        }
        shares[n] += 1;
        left -= 1;
    }
    shares.into_iter().map(|s| s * sign).collect()
}

/// The taxes of a line costing `base` cents: added on top (exclusive) or carried inside
/// (inclusive), unrounded in 10⁻⁸.
pub(crate) fn line_taxes(base: i128, rates: Rates, inclusive: bool) -> (i128, i128) {
    let (r1, r2) = (i128::from(rates.tax1_ppm), i128::from(rates.tax2_ppm));
    if inclusive {
        let divisor = PPM + r1 + r2;
        (
            round_div(base * r1 * PPM, divisor),
            round_div(base * r2 * PPM, divisor),
        )
    } else {
        (base * r1, base * r2)
    }
}

/// Computes a sale from its lines.
pub(crate) fn sale(lines: &[LineInput], discount: SaleDiscount, inclusive: bool) -> SaleMoney {
    let mut out: Vec<LineMoney> = lines
        .iter()
        .map(|l| {
            let subtotal = i128::from(l.quantity) * i128::from(l.unit_price_cents);
            LineMoney {
                subtotal,
                line_discount: line_discount(
                    subtotal,
                    l.discount_amount_cents,
                    l.discount_percent_ppm,
                ),
                ..LineMoney::default()
            }
        })
        .collect();
    let weights: Vec<i128> = out
        .iter()
        .zip(lines)
        .map(|(m, l)| if l.counts { m.base() } else { 0 })
        .collect();
    let positive: i128 = weights.iter().filter(|w| **w > 0).sum();
    let sale_discount = match discount {
        SaleDiscount::None => 0,
        SaleDiscount::Amount(cents) => i128::from(cents).min(positive),
        SaleDiscount::Percent(ppm) => round_div(positive * i128::from(ppm), PPM),
    };
    for (m, share) in out.iter_mut().zip(allocate(sale_discount, &weights)) {
        m.transaction_discount = share;
    }
    let mut money = SaleMoney::default();
    let (mut tax1_e8, mut tax2_e8) = (0i128, 0i128);
    for (m, l) in out.iter_mut().zip(lines) {
        let base = m.base();
        let (t1, t2) = line_taxes(base, l.rates, inclusive);
        m.tax1_e8 = t1;
        m.tax2_e8 = t2;
        m.total_e8 = if inclusive {
            base * PPM
        } else {
            base * PPM + t1 + t2
        };
        if !l.counts {
            continue;
        }
        money.subtotal += m.subtotal;
        money.discount += m.line_discount + m.transaction_discount;
        if l.rates != Rates::default() {
            money.taxable += base;
        }
        tax1_e8 += t1;
        tax2_e8 += t2;
    }
    money.tax1 = e8_to_cents(tax1_e8);
    money.tax2 = e8_to_cents(tax2_e8);
    money.total = money.subtotal - money.discount
        + if inclusive {
            0
        } else {
            money.tax1 + money.tax2
        };
    money.lines = out;
    money
}

/// A tax-inclusive sale's `calcSubtotal`, `calcDiscount` and `calcTaxable` without the
/// tax inside them, so that `total = calcSubtotal − calcDiscount + calcTax1 + calcTax2`
/// holds as for any sale: each line's subtotal is taken net of its rates, and the discount
/// is what is left between that and the total without its taxes (so the total stays exact).
pub(crate) fn net_of_tax(money: &SaleMoney, lines: &[LineInput]) -> (i128, i128, i128) {
    let subtotal: i128 = money
        .lines
        .iter()
        .zip(lines)
        .filter(|(_, l)| l.counts)
        .map(|(m, l)| {
            let rates = i128::from(l.rates.tax1_ppm) + i128::from(l.rates.tax2_ppm);
            round_div(m.subtotal * PPM, PPM + rates)
        })
        .sum();
    let taxes = money.tax1 + money.tax2;
    let discount = subtotal - (money.total - taxes);
    (subtotal, discount, money.taxable - taxes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(quantity: i64, price: i64, tax1_ppm: i64, tax2_ppm: i64) -> LineInput {
        LineInput {
            quantity,
            unit_price_cents: price,
            rates: Rates { tax1_ppm, tax2_ppm },
            counts: true,
            ..LineInput::default()
        }
    }

    #[test]
    fn fixture_sale_277_rounds_each_tax_once() {
        // rseries_sale_create_response_with_lines_payments.docs.json: 9.99 + 20 at 5 % and
        // 9.975 % → line taxes 0.4995 / 0.9965025 and 1 / 1.995; sale 1.5 + 2.99 = 34.48.
        let m = sale(
            &[line(1, 999, 50_000, 99_750), line(1, 2000, 50_000, 99_750)],
            SaleDiscount::None,
            false,
        );
        assert_eq!(m.lines[0].tax1_e8, 49_950_000);
        assert_eq!(m.lines[0].tax2_e8, 99_650_250);
        assert_eq!(m.lines[0].total_e8, 1_148_600_250);
        assert_eq!((m.tax1, m.tax2, m.total), (150, 299, 3448));
    }

    #[test]
    fn fixture_saleline_half_price_discount() {
        // rseries_saleline_list.docs.json: 2 × 45 at discountPercent 0.5 → calcLineDiscount
        // 45, calcTax1 2.25, calcTax2 4.48875, calcTotal 51.73875.
        let mut l = line(2, 4500, 50_000, 99_750);
        l.discount_percent_ppm = 500_000;
        let m = sale(&[l], SaleDiscount::None, false);
        assert_eq!(m.lines[0].line_discount, 4500);
        assert_eq!(m.lines[0].tax1_e8, 225_000_000);
        assert_eq!(m.lines[0].tax2_e8, 448_875_000);
        assert_eq!(m.lines[0].total_e8, 5_173_875_000);
    }

    #[test]
    fn orders_stock_case_1_inclusive_with_line_and_sale_discount() {
        // ORDERS-STOCK.md §9 case 1: A 2 × 12.10 (21 %) −10 %, B 1 × 5.45 (9 %), sale
        // discount 3.00 → shares 2.40 / 0.60, total 24.23, VAT 3.76.
        let mut a = line(2, 1210, 210_000, 0);
        a.discount_percent_ppm = 100_000;
        let b = line(1, 545, 90_000, 0);
        let m = sale(&[a, b], SaleDiscount::Amount(300), true);
        assert_eq!(m.lines[0].line_discount, 242);
        assert_eq!(m.lines[0].transaction_discount, 240);
        assert_eq!(m.lines[1].transaction_discount, 60);
        assert_eq!(m.lines[0].base(), 1938);
        assert_eq!(m.lines[1].base(), 485);
        assert_eq!(m.total, 2423);
        assert_eq!(m.tax1, 376);
        // Net of tax: 20.00 + 5.00, less 4.53, plus 3.76 is the same 24.23.
        let (subtotal, discount, taxable) = net_of_tax(&m, &[a, b]);
        assert_eq!((subtotal, discount, taxable), (2500, 453, 2047));
        assert_eq!(subtotal - discount + m.tax1 + m.tax2, m.total);
    }

    #[test]
    fn orders_stock_case_2_stacked_taxes_round_per_tax() {
        // §9 case 2: 10.10 at 5 % + 9.975 % → 0.505 → 0.51 and 1.007475 → 1.01 = 11.62.
        let m = sale(&[line(1, 1010, 50_000, 99_750)], SaleDiscount::None, false);
        assert_eq!((m.tax1, m.tax2, m.total), (51, 101, 1162));
    }

    #[test]
    fn shares_add_up_and_skip_refund_lines() {
        assert_eq!(allocate(100, &[1, 1, 1]), vec![34, 33, 33]);
        assert_eq!(allocate(300, &[2178, -2000, 545]), vec![240, 0, 60]);
        assert_eq!(allocate(0, &[5]), vec![0]);
        assert_eq!(round_div(-5, 10), -1);
        assert_eq!(round_div(5, 10), 1);
    }
}
