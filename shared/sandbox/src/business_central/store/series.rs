//! Number series: the next number of each kind of record (customers, items, contacts,
//! documents, posted documents, shipments), as BC's No. Series hands them out.

use serde_json::{Map, Value};
use uuid::Uuid;

use super::{CompanyData, Origin, StoreSettings, text};
use crate::business_central::errors::{BcFault, Outcome};
use crate::business_central::schema::Entity;

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

/// `NoSeries.TestManual` of a master record's `No.` OnValidate (customers, items, contacts:
/// [Base] `Item.Table.al` and `Customer.Table.al` call it on insert and on rename): a number
/// the client types, new or changed, is refused when the series does not take manual
/// numbers (message of fixture error.application-dialogexception.manual-nos.json).
#[allow(clippy::too_many_arguments)]
pub(super) fn test_manual(
    data: &CompanyData,
    settings: &StoreSettings,
    entity: Entity,
    id: Uuid,
    fields: &Map<String, Value>,
    given: &[String],
    origin: Origin,
    series: &Series,
) -> Outcome<()> {
    if origin != Origin::Api || !given.iter().any(|g| g == "number") {
        return Ok(());
    }
    let number = text(fields, "number");
    let unchanged = data
        .row(entity, id)
        .is_some_and(|old| text(&old.fields, "number") == number);
    if number.is_empty() || unchanged || settings.behaviour.manual_allowed(series.code, true) {
        return Ok(());
    }
    Err(manual_refused(series))
}

/// BC's refusal of a typed number (fixture error.application-dialogexception.manual-nos.json).
pub(super) fn manual_refused(series: &Series) -> BcFault {
    BcFault::dialog(format!(
        "You may not enter numbers manually. If you want to enter numbers manually, please activate Manual Nos. in No. Series {}.",
        series.code
    ))
}
