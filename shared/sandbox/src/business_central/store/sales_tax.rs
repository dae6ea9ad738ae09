//! Sales tax on sales documents as Business Central computes it in a sales-tax (US-style)
//! tenant, where General Ledger Setup does not use VAT: a customer's Tax Area names tax
//! jurisdictions, each jurisdiction has a rate per tax group, and a line's tax group is its
//! `taxCode` (api-notes §2: "the line's `taxCode` validates … the *Tax Group Code* (sales
//! tax)").
//!
//! Sources (microsoft/BCApps, NA localisation `src/Layers/NA/BaseApp/Finance/SalesTax/
//! SalesTaxCalculate.Codeunit.al`, codeunit 398 "Sales Tax Calculate", which US tenants run):
//! - `AddSalesLine`: one Sales Tax Amount Line per tax area, tax group, jurisdiction and sign
//!   of the line amount, summing the lines' `Line Amount - Inv. Discount Amount` as the tax
//!   base; the header's Prices Including VAT must be off (`TestField`).
//! - `EndSalesTaxCalculation`: per amount line the jurisdiction's Tax Detail (`Tax Group Code`
//!   filtered to `''|<group>`, `FindLast`, so a group's own detail beats the all-groups one)
//!   gives `Tax Below Maximum` %; a line that is not Tax Liable adds no tax and gets Tax % 0.
//! - `DistTaxOverSalesLines`: the amount lines are walked in their primary-key order (table
//!   "Sales Tax Amount Line" `Key1`: tax area, jurisdiction, Tax %, tax group, …, Positive);
//!   for each, the document's lines of that tax group (`SetCurrentKey(Amount)`, so smallest
//!   amount first) get `TaxAmount := Amount * Tax % / 100` and
//!   `ReturnTaxAmount := Round(TaxAmount + TotalTaxAmountRounding, Amount Rounding Precision)`,
//!   the remainder carried to the next line and on to the next jurisdiction (reset per
//!   jurisdiction only where `RoundByJurisdiction`, which `GetSalesTaxCountry` sets for
//!   Canadian tax areas). A line's tax is the sum of its jurisdictions' rounded amounts, and
//!   its "VAT %" (`taxPercent` on the API line) the sum of the jurisdictions' Tax %.
//! - The API's `taxAreas` lists the Tax Areas with `taxType` "Sales Tax" when the tenant
//!   does not use VAT (BCApps `TaxAreaBuffer.Table.al` `LoadRecords`).
//!
//! Not simulated: maximum amounts and tax above maximum, excise taxes, tax on tax, use tax,
//! effective dates, tax differences, and a Tax Area's "Round Tax" Up/Down (To Nearest only,
//! as `HandleRoundTaxUpOrDown` leaves it).

use std::collections::BTreeMap;

use super::vat::{VatRounding, round_amount};

/// A tax jurisdiction with its Tax Details.
#[derive(Debug, Clone, PartialEq)]
pub struct TaxJurisdiction {
    /// Code (Tax Jurisdiction Code[10]).
    pub code: String,
    /// Tax group code → "Tax Below Maximum" %. The group `""` is the detail for all tax
    /// groups; a group's own detail takes precedence.
    pub rates: BTreeMap<String, f64>,
}

impl TaxJurisdiction {
    /// A jurisdiction with its rate per tax group.
    #[must_use]
    pub fn new(code: &str, rates: &[(&str, f64)]) -> Self {
        Self {
            code: code.to_uppercase(),
            rates: rates
                .iter()
                .map(|(group, rate)| (group.to_uppercase(), *rate))
                .collect(),
        }
    }

    /// The rate for `group`, as `FindLast` over `''|group` picks it.
    fn rate(&self, group: &str) -> f64 {
        self.rates
            .get(group)
            .or_else(|| self.rates.get(""))
            .copied()
            .unwrap_or(0.0)
    }
}

/// A Tax Area: its jurisdictions.
#[derive(Debug, Clone, PartialEq)]
pub struct SalesTaxArea {
    /// Code (Tax Area Code[20]); the API's `taxAreas.code`.
    pub code: String,
    /// Description; the API's `taxAreas.displayName` and customers' `taxAreaDisplayName`.
    pub description: String,
    /// Codes of its jurisdictions (Tax Area Lines).
    pub jurisdictions: Vec<String>,
}

/// The tenant's sales tax setup. Empty (the default): the tenant uses VAT and `taxAreas`
/// lists nothing; documents are taxed by [`VatSetup`](super::vat::VatSetup) as before.
/// With at least one area the tenant is a sales-tax tenant: `taxAreas` lists the areas
/// (`taxType` "Sales Tax"), customers' `taxAreaId` must name one, and documents are taxed
/// by the bill-to customer's tax area and `taxLiable`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SalesTaxSetup {
    /// Tax Areas, seeded into every company at start (with fixed ids derived from the code).
    pub areas: Vec<SalesTaxArea>,
    /// Tax Jurisdictions with their rates.
    pub jurisdictions: Vec<TaxJurisdiction>,
}

impl SalesTaxSetup {
    /// Whether the tenant uses sales tax instead of VAT.
    #[must_use]
    pub fn is_active(&self) -> bool {
        !self.areas.is_empty()
    }

    /// Adds an area made of `jurisdictions` (added too, replacing same-coded ones).
    #[must_use]
    pub fn with_area(
        mut self,
        code: &str,
        description: &str,
        jurisdictions: Vec<TaxJurisdiction>,
    ) -> Self {
        let codes = jurisdictions.iter().map(|j| j.code.clone()).collect();
        for jurisdiction in jurisdictions {
            self.jurisdictions.retain(|j| j.code != jurisdiction.code);
            self.jurisdictions.push(jurisdiction);
        }
        self.areas.push(SalesTaxArea {
            code: code.to_uppercase(),
            description: description.to_owned(),
            jurisdictions: codes,
        });
        self
    }

    /// Tax groups any jurisdiction has a rate for.
    pub(crate) fn tax_groups(&self) -> impl Iterator<Item = &String> {
        self.jurisdictions
            .iter()
            .flat_map(|j| j.rates.keys())
            .filter(|g| !g.is_empty())
    }

    /// The jurisdictions of area `code`, in code order (the amount lines' key order).
    fn jurisdictions_of(&self, code: &str) -> Vec<&TaxJurisdiction> {
        let mut out: Vec<&TaxJurisdiction> = self
            .areas
            .iter()
            .find(|a| a.code == code)
            .into_iter()
            .flat_map(|a| a.jurisdictions.iter())
            .filter_map(|j| self.jurisdictions.iter().find(|d| &d.code == j))
            .collect();
        out.sort_by(|a, b| a.code.cmp(&b.code));
        out
    }
}

/// One document line as the distribution sees it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TaxLine {
    /// Tax group code (the line's `taxCode`); blank: no sales tax.
    pub(crate) group: String,
    /// `Line Amount - Inv. Discount Amount`.
    pub(crate) amount: f64,
}

/// One line's sales tax.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct TaxResult {
    pub(crate) tax: f64,
    pub(crate) percent: f64,
}

/// The sales tax of a document's lines in area `area`, `liable` or not, as
/// `DistTaxOverSalesLines` distributes it (see the module docs).
pub(crate) fn distribute(
    setup: &SalesTaxSetup,
    area: &str,
    liable: bool,
    lines: &[TaxLine],
) -> Vec<TaxResult> {
    let mut out = vec![
        TaxResult {
            tax: 0.0,
            percent: 0.0
        };
        lines.len()
    ];
    if !liable || area.is_empty() {
        return out;
    }
    let jurisdictions = setup.jurisdictions_of(area);
    // Amount lines in key order: jurisdiction, Tax %, tax group, Positive (No before Yes).
    let mut keys: Vec<(String, f64, String, bool)> = Vec::new();
    for line in lines
        .iter()
        .filter(|l| !l.group.is_empty() && l.amount != 0.0)
    {
        for j in &jurisdictions {
            let key = (
                j.code.clone(),
                j.rate(&line.group),
                line.group.clone(),
                line.amount > 0.0,
            );
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    keys.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then(a.1.total_cmp(&b.1))
            .then(a.2.cmp(&b.2))
            .then(a.3.cmp(&b.3))
    });
    let mut carried = 0.0;
    for (_, percent, group, positive) in keys {
        let mut members: Vec<usize> = (0..lines.len())
            .filter(|&i| lines[i].group == group && (lines[i].amount > 0.0) == positive)
            .collect();
        members.sort_by(|&a, &b| lines[a].amount.total_cmp(&lines[b].amount).then(a.cmp(&b)));
        for i in members {
            let exact = lines[i].amount * percent / 100.0;
            let rounded = if exact == 0.0 {
                0.0
            } else {
                let rounded = round_amount(exact + carried, VatRounding::Nearest);
                carried = exact + carried - rounded;
                rounded
            };
            out[i].tax = round_amount(out[i].tax + rounded, VatRounding::Nearest);
            out[i].percent += percent;
        }
    }
    out
}

#[cfg(test)]
// Amounts compared are rounded to the cent on both sides, so exact equality is the claim.
#[allow(clippy::float_cmp)]
mod tests {
    use super::*;

    fn setup() -> SalesTaxSetup {
        SalesTaxSetup::default().with_area(
            "ATLANTA, GA",
            "Atlanta, Georgia",
            vec![
                TaxJurisdiction::new("GA", &[("TAXABLE", 4.0)]),
                TaxJurisdiction::new("GAATL", &[("TAXABLE", 4.9)]),
            ],
        )
    }

    fn line(group: &str, amount: f64) -> TaxLine {
        TaxLine {
            group: group.to_owned(),
            amount,
        }
    }

    #[test]
    fn each_jurisdiction_is_rounded_with_the_remainder_carried() {
        // GA 4 %: 0.406 → 0.41 (carry -0.004), 0.402 → 0.40 (carry 0.002); GAATL 4.9 %:
        // 0.49935 → 0.50 (carry -0.00065), 0.4967 → 0.50. Lines 0.91 and 0.90, 1.81 in all,
        // where rounding each line's 8.9 % (0.90335) would give 0.90 twice.
        let out = distribute(
            &setup(),
            "ATLANTA, GA",
            true,
            &[line("TAXABLE", 10.15), line("TAXABLE", 10.15)],
        );
        assert_eq!(out[0].tax, 0.91);
        assert_eq!(out[1].tax, 0.90);
        assert!((out[0].percent - 8.9).abs() < 1e-9);
    }

    #[test]
    fn non_liable_or_untaxed_lines_pay_nothing() {
        let out = distribute(&setup(), "ATLANTA, GA", false, &[line("TAXABLE", 100.0)]);
        assert_eq!(out[0].tax, 0.0);
        let out = distribute(&setup(), "ATLANTA, GA", true, &[line("NONTAXABLE", 100.0)]);
        assert_eq!(out[0].tax, 0.0);
        let out = distribute(&setup(), "", true, &[line("TAXABLE", 100.0)]);
        assert_eq!(out[0].tax, 0.0);
    }

    #[test]
    fn the_carry_runs_over_lines_smallest_first() {
        // Three lines of 0.10 at 4 %: 0.004 each; carried, the second gets the cent.
        let only_state = SalesTaxSetup::default().with_area(
            "GA",
            "Georgia",
            vec![TaxJurisdiction::new("GA", &[("TAXABLE", 4.0)])],
        );
        let out = distribute(
            &only_state,
            "GA",
            true,
            &[
                line("TAXABLE", 0.10),
                line("TAXABLE", 0.10),
                line("TAXABLE", 0.10),
            ],
        );
        let taxes: Vec<f64> = out.iter().map(|o| o.tax).collect();
        assert_eq!(taxes, vec![0.0, 0.01, 0.0]);
    }
}
