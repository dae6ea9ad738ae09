//! Number series: the next number of each kind of record (customers, items, contacts,
//! documents, posted documents, shipments), as BC's No. Series hands them out.

use super::CompanyData;

/// A number series: prefix, first number, digits, increment.
pub(super) struct Series {
    pub(super) code: &'static str,
    prefix: &'static str,
    start: u64,
    width: usize,
    step: u64,
}

// Chosen to look like a new BC company's series (fixture manual-nos error names S-ORD; the
// posted invoice in salesInvoice.create.request.json is PS-INV103001).
pub(super) const CUSTOMERS: Series = Series {
    code: "CUST",
    prefix: "C",
    start: 10,
    width: 5,
    step: 10,
};

pub(super) const ITEMS: Series = Series {
    code: "ITEM",
    prefix: "I",
    start: 10,
    width: 5,
    step: 10,
};

pub(super) const CONTACTS: Series = Series {
    code: "CONT",
    prefix: "CT",
    start: 1,
    width: 6,
    step: 1,
};

pub(super) const ORDERS: Series = Series {
    code: "S-ORD",
    prefix: "S-ORD",
    start: 101_001,
    width: 6,
    step: 1,
};

pub(super) const INVOICES: Series = Series {
    code: "S-INV",
    prefix: "S-INV",
    start: 102_001,
    width: 6,
    step: 1,
};

pub(super) const POSTED_INVOICES: Series = Series {
    code: "S-INV+",
    prefix: "PS-INV",
    start: 103_001,
    width: 6,
    step: 1,
};

pub(super) const CREDIT_MEMOS: Series = Series {
    code: "S-CR",
    prefix: "S-CR",
    start: 104_001,
    width: 6,
    step: 1,
};

pub(super) const POSTED_CREDIT_MEMOS: Series = Series {
    code: "S-CR+",
    prefix: "PS-CR",
    start: 104_001,
    width: 6,
    step: 1,
};

pub(super) const SHIPMENTS: Series = Series {
    code: "S-SHPT",
    prefix: "S-SHPT",
    start: 102_001,
    width: 6,
    step: 1,
};

impl CompanyData {
    pub(super) fn next_number(&mut self, series: &Series) -> String {
        let next = self.series.entry(series.code).or_insert(series.start);
        let value = *next;
        *next += series.step;
        format!("{}{:0width$}", series.prefix, value, width = series.width)
    }
}
