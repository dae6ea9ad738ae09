//! VAT on sales documents as Business Central computes it: the rate and VAT identifier come
//! from the VAT Posting Setup (the customer's VAT Bus. Posting Group × the line's VAT Prod.
//! Posting Group, which API v2.0 exposes as the line's `taxCode`); the header's Prices
//! Including VAT follows the customer; VAT is rounded once per VAT identifier on the whole
//! document, not per line, and then spread back over the lines with the rounding remainder
//! carried from line to line.
//!
//! Sources (microsoft/BCApps, Base Application):
//! - `VATAmountLine.Table.al`, table 290 "VAT Amount Line", procedure `UpdateLines`: one VAT
//!   amount line per VAT identifier (and calculation type, tax group, use tax and sign);
//!   prices excluding VAT: `VAT Amount := Round(VAT Base * VAT % / 100, Currency."Amount
//!   Rounding Precision", Currency.VATRoundingDirection())`; prices including VAT:
//!   `VAT Amount := Round(Line Amount - Line Amount / (1 + VAT % / 100), …)` and
//!   `VAT Base := Line Amount - VAT Amount`.
//! - `SalesLine.Table.al`, procedure `UpdateVATOnLines`: each line's share of the identifier's
//!   VAT amount is rounded with the remainder carried to the next line, so the lines add up
//!   to the document's VAT.
//! - Amount Rounding Precision is 0.01 in the local currency by default (General Ledger
//!   Setup), and the VAT Rounding Type defaults to Nearest.
//!
//! API v2.0 can neither read nor set a customer's VAT Bus. Posting Group or Prices Including
//! VAT (the header's `pricesIncludeTax` is read-only), so both are simulator settings.

use std::collections::BTreeMap;

use crate::business_central::errors::{BcFault, Outcome};

/// General Ledger Setup "VAT Rounding Type".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VatRounding {
    /// To the nearest cent, halves away from zero (BC's default).
    #[default]
    Nearest,
    /// Always up (away from zero).
    Up,
    /// Always down (towards zero).
    Down,
}

/// One VAT Posting Setup record.
#[derive(Debug, Clone, PartialEq)]
pub struct VatPostingSetup {
    /// VAT Bus. Posting Group (from the customer).
    pub business_group: String,
    /// VAT Prod. Posting Group (from the item; the line's `taxCode`).
    pub product_group: String,
    /// VAT %.
    pub percent: f64,
    /// VAT Identifier: lines sharing it are rounded together.
    pub identifier: String,
}

impl VatPostingSetup {
    /// A setup record whose identifier is the product group.
    #[must_use]
    pub fn new(business_group: &str, product_group: &str, percent: f64) -> Self {
        Self {
            business_group: business_group.to_owned(),
            product_group: product_group.to_owned(),
            percent,
            identifier: product_group.to_owned(),
        }
    }

    /// The same record with another VAT identifier.
    #[must_use]
    pub fn identified_as(mut self, identifier: &str) -> Self {
        identifier.clone_into(&mut self.identifier);
        self
    }
}

/// What a customer card holds that API v2.0 does not expose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerVat {
    /// VAT Bus. Posting Group.
    pub business_group: String,
    /// Prices Including VAT: the documents' `pricesIncludeTax`.
    pub prices_including_vat: bool,
}

/// The tenant's VAT setup.
///
/// With no posting setup at all, a line's rate is `tax_rates[taxCode]` and its identifier the
/// tax code (a tenant whose setup the tests do not care about).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VatSetup {
    /// VAT Posting Setup records. A line whose combination is missing is refused, as BC's
    /// `VATPostingSetup.Get` does.
    pub posting_setup: Vec<VatPostingSetup>,
    /// Per customer number; customers not listed get the defaults below.
    pub customers: BTreeMap<String, CustomerVat>,
    /// VAT Bus. Posting Group of customers not listed (the customer template's).
    pub default_business_group: String,
    /// Prices Including VAT of customers not listed.
    pub default_prices_including_vat: bool,
    /// General Ledger Setup "VAT Rounding Type".
    pub rounding: VatRounding,
}

/// The rate and identifier of one line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LineRate {
    pub(crate) percent: f64,
    pub(crate) identifier: String,
}

impl VatSetup {
    /// The customer's VAT profile.
    pub(crate) fn customer(&self, number: &str) -> CustomerVat {
        self.customers
            .get(number)
            .cloned()
            .unwrap_or_else(|| CustomerVat {
                business_group: self.default_business_group.clone(),
                prices_including_vat: self.default_prices_including_vat,
            })
    }

    /// The rate of a line with VAT Prod. Posting Group `product` sold to `customer`.
    pub(crate) fn rate(
        &self,
        customer: &str,
        product: &str,
        tax_rates: &BTreeMap<String, f64>,
    ) -> Outcome<LineRate> {
        if self.posting_setup.is_empty() {
            return Ok(LineRate {
                percent: tax_rates.get(product).copied().unwrap_or(0.0),
                identifier: product.to_owned(),
            });
        }
        let business = self.customer(customer).business_group;
        self.posting_setup
            .iter()
            .find(|s| s.business_group == business && s.product_group == product)
            .map(|s| LineRate {
                percent: s.percent,
                identifier: s.identifier.clone(),
            })
            .ok_or_else(|| {
                // The platform's Get error (text and code inferred from other record-not-found
                // answers).
                BcFault::new(
                    404,
                    "Internal_RecordNotFound",
                    format!(
                        "The VAT Posting Setup does not exist. Identification fields and values: VAT Bus. Posting Group='{business}',VAT Prod. Posting Group='{product}'"
                    ),
                )
            })
    }
}

/// Rounds to the Amount Rounding Precision 0.01 in the given direction. A tiny bias absorbs
/// binary noise such as 0.285 stored as 0.28499999.
pub(crate) fn round_amount(x: f64, direction: VatRounding) -> f64 {
    let cents = x * 100.0;
    let bias = 1e-7 * cents.signum();
    let rounded = match direction {
        VatRounding::Nearest => (cents + bias).round(),
        VatRounding::Up => {
            if cents >= 0.0 {
                (cents - bias).ceil()
            } else {
                (cents - bias).floor()
            }
        }
        VatRounding::Down => (cents - bias).trunc(),
    };
    rounded / 100.0
}

/// One line's amount as the VAT computation sees it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct VatInput {
    /// Line amount after line and invoice discount, in the document's price basis.
    pub(crate) amount: f64,
    pub(crate) rate: LineRate,
}

/// One line's result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct VatOutput {
    /// Amount excluding VAT (BC's `Amount`, the VAT base).
    pub(crate) base: f64,
    /// VAT amount.
    pub(crate) vat: f64,
}

/// VAT amounts of a document's lines, in line order: per VAT identifier (and sign) the
/// rounded VAT of the group's total, spread over its lines with the remainder carried.
pub(crate) fn compute(
    lines: &[VatInput],
    prices_including_vat: bool,
    direction: VatRounding,
) -> Vec<VatOutput> {
    let mut groups: BTreeMap<(String, u64, bool), Vec<usize>> = BTreeMap::new();
    for (i, line) in lines.iter().enumerate() {
        let key = (
            line.rate.identifier.clone(),
            line.rate.percent.to_bits(),
            line.amount >= 0.0,
        );
        groups.entry(key).or_default().push(i);
    }
    let mut out = vec![
        VatOutput {
            base: 0.0,
            vat: 0.0
        };
        lines.len()
    ];
    for ((_, bits, _), members) in groups {
        let percent = f64::from_bits(bits);
        let total: f64 = members.iter().map(|&i| lines[i].amount).sum();
        let total = round_amount(total, VatRounding::Nearest);
        let group_vat = if prices_including_vat {
            round_amount(total - total / (1.0 + percent / 100.0), direction)
        } else {
            round_amount(total * percent / 100.0, direction)
        };
        let mut remainder = 0.0;
        for &i in &members {
            let amount = lines[i].amount;
            let exact = if total.abs() < f64::EPSILON {
                0.0
            } else {
                remainder + group_vat * amount / total
            };
            let vat = round_amount(exact, VatRounding::Nearest);
            remainder = exact - vat;
            let base = if prices_including_vat {
                round_amount(amount - vat, VatRounding::Nearest)
            } else {
                amount
            };
            out[i] = VatOutput { base, vat };
        }
    }
    out
}

#[cfg(test)]
// Amounts compared are rounded to the cent on both sides, so exact equality is the claim.
#[allow(clippy::float_cmp)]
mod tests {
    use super::*;

    fn line(amount: f64, percent: f64, identifier: &str) -> VatInput {
        VatInput {
            amount,
            rate: LineRate {
                percent,
                identifier: identifier.to_owned(),
            },
        }
    }

    fn sums(out: &[VatOutput]) -> (f64, f64) {
        let base: f64 = out.iter().map(|o| o.base).sum();
        let vat: f64 = out.iter().map(|o| o.vat).sum();
        (
            round_amount(base, VatRounding::Nearest),
            round_amount(vat, VatRounding::Nearest),
        )
    }

    #[test]
    fn inclusive_lines_split_into_base_and_vat_per_identifier() {
        // Orders notes §9 case 1: 19.38 at 21% and 4.85 at 9%, prices including VAT.
        let out = compute(
            &[line(19.38, 21.0, "VAT21"), line(4.85, 9.0, "VAT9")],
            true,
            VatRounding::Nearest,
        );
        assert_eq!(
            out[0],
            VatOutput {
                base: 16.02,
                vat: 3.36
            }
        );
        assert_eq!(
            out[1],
            VatOutput {
                base: 4.45,
                vat: 0.40
            }
        );
        assert_eq!(sums(&out), (20.47, 3.76));
    }

    #[test]
    fn vat_is_rounded_on_the_identifier_total_not_per_line() {
        // Three lines of 0.07 at 21%: 0.0147 each would round to 0.01 (0.03 in all); BC
        // rounds 0.21 × 21% = 0.0441 to 0.04 and spreads it.
        let out = compute(
            &[
                line(0.07, 21.0, "VAT21"),
                line(0.07, 21.0, "VAT21"),
                line(0.07, 21.0, "VAT21"),
            ],
            false,
            VatRounding::Nearest,
        );
        assert_eq!(sums(&out), (0.21, 0.04));
        assert_eq!(
            out.iter().map(|o| o.vat).collect::<Vec<_>>(),
            vec![0.01, 0.02, 0.01]
        );
    }

    #[test]
    fn stacked_rate_rounds_as_business_central_does() {
        // Orders notes §9 case 2: 10.10 at 14.975% → 1.512475 → 1.51.
        let out = compute(
            &[line(10.10, 14.975, "GST-QST")],
            false,
            VatRounding::Nearest,
        );
        assert_eq!(out[0].vat, 1.51);
        let out = compute(
            &[line(29.99, 14.975, "GST-QST")],
            false,
            VatRounding::Nearest,
        );
        assert_eq!(out[0].vat, 4.49);
    }

    #[test]
    fn rounding_type_up_and_down() {
        let up = compute(&[line(10.10, 14.975, "X")], false, VatRounding::Up);
        assert_eq!(up[0].vat, 1.52);
        let down = compute(&[line(10.10, 21.0, "X")], false, VatRounding::Down);
        assert_eq!(down[0].vat, 2.12);
        // Exact cents stay put in every direction.
        let exact = compute(&[line(100.0, 21.0, "X")], false, VatRounding::Up);
        assert_eq!(exact[0].vat, 21.0);
    }

    #[test]
    fn negative_lines_form_their_own_group() {
        let out = compute(
            &[line(35.0, 21.0, "VAT21"), line(-20.0, 21.0, "VAT21")],
            true,
            VatRounding::Nearest,
        );
        assert_eq!(
            out[0],
            VatOutput {
                base: 28.93,
                vat: 6.07
            }
        );
        assert_eq!(
            out[1],
            VatOutput {
                base: -16.53,
                vat: -3.47
            }
        );
    }

    #[test]
    fn a_missing_combination_is_refused_with_both_groups_named() {
        let setup = VatSetup {
            posting_setup: vec![VatPostingSetup::new("DOMESTIC", "VAT21", 21.0)],
            default_business_group: "EU".into(),
            ..VatSetup::default()
        };
        let fault = setup.rate("C1", "VAT21", &BTreeMap::new()).unwrap_err();
        assert!(
            fault.message.contains("VAT Bus. Posting Group='EU'"),
            "{}",
            fault.message
        );
        assert!(fault.message.contains("VAT Prod. Posting Group='VAT21'"));
        let ok = VatSetup {
            default_business_group: "DOMESTIC".into(),
            ..setup
        };
        assert_eq!(
            ok.rate("C1", "VAT21", &BTreeMap::new()).unwrap().percent,
            21.0
        );
    }
}
