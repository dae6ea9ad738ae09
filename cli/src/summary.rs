//! The demo's and `lsbc run`'s summary: per flow and pass, what happened to the records and
//! how many requests each API answered (and how many of them were 429s), as a table or JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{CellAlignment, ContentArrangement, Table};
use lsbc_core::Flow;
use lsbc_embedded::FlowReport;
use serde::Serialize;

/// Requests one API answered during a pass.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ApiRequests {
    /// Requests answered (errors included).
    pub requests: u64,
    /// Of those, 429 Too Many Requests.
    pub throttled: u64,
}

/// One flow in one pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlowSummary {
    /// Which pass (`initial sync`, `after changes`, …).
    pub pass: String,
    /// The flow.
    pub flow: Flow,
    /// What happened to its records.
    #[serde(flatten)]
    pub records: FlowReport,
    /// Lightspeed's requests.
    pub lightspeed: ApiRequests,
    /// Business Central's requests.
    pub business_central: ApiRequests,
}

/// A whole run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Every flow of every pass, in order.
    pub passes: Vec<FlowSummary>,
    /// Where the activity log is, and how to read it.
    pub activity_log: String,
    /// Problems the self-check found (empty: BC is what the mapping implies).
    pub check_problems: Vec<String>,
    /// Records the self-check compared.
    pub checked: usize,
    /// Records parked in a dead-letter queue, with their reasons (from the activity log).
    pub failures: Vec<String>,
    /// Wall time of the self-check.
    pub check_seconds: f64,
    /// Wall time of the whole run.
    pub elapsed_seconds: f64,
    /// The orders flow's documents and what they cost (the demo).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub orders: Option<OrdersSummary>,
    /// The stock flow's figures, checked, and the Lightspeed requests of its passes.
    pub stock: Option<StockSummary>,
}

/// The stock flow's passes in the demo.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StockSummary {
    /// Item × shop figures checked against the formula.
    pub figures: usize,
    /// Items whose Lightspeed stock was written.
    pub changed_items: usize,
    /// Items recomputed (written or found right).
    pub recomputed_items: usize,
    /// Lightspeed requests of every stock pass.
    pub lightspeed_requests: u64,
}

impl StockSummary {
    /// Lightspeed requests per changed item (reads of unchanged items included).
    pub fn requests_per_changed_item(&self) -> f64 {
        if self.changed_items == 0 {
            return 0.0;
        }
        self.lightspeed_requests as f64 / self.changed_items as f64
    }
}

/// The orders flow's documents and the Business Central requests of its passes.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OrdersSummary {
    /// Sales with their document in Business Central.
    pub documents: usize,
    /// Business Central requests of every orders pass.
    pub business_central_requests: u64,
}

impl OrdersSummary {
    /// Requests per document.
    pub fn requests_per_sale(&self) -> f64 {
        if self.documents == 0 {
            return 0.0;
        }
        self.business_central_requests as f64 / self.documents as f64
    }
}

/// What the demo and `lsbc run` print under the table: the records parked in a dead-letter
/// queue with their reasons, those waiting to be retried, and where the activity log is.
pub fn notes(passes: &[FlowSummary], failures: &[String], activity_log: &str) -> String {
    let mut out = String::new();
    for failure in failures {
        let _ = writeln!(out, "Failed (in the dead-letter queue): {failure}");
    }
    // What still waits is what the last pass of each flow left.
    let last: BTreeMap<Flow, usize> = passes.iter().map(|p| (p.flow, p.records.waiting)).collect();
    let waiting: Vec<String> = last
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(flow, n)| format!("{flow} {n}"))
        .collect();
    if !waiting.is_empty() {
        let _ = writeln!(
            out,
            "Waiting to be retried (on the next run): {}",
            waiting.join(", ")
        );
    }
    let _ = write!(out, "Activity log: {activity_log}");
    out
}

/// Per flow and pass, as a table.
pub fn table(passes: &[FlowSummary]) -> String {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(vec![
            "pass",
            "flow",
            "read",
            "created",
            "updated",
            "unchanged",
            "skipped",
            "failed",
            "Lightspeed requests",
            "BC requests",
            "429s",
        ]);
    for p in passes {
        let r = &p.records;
        t.add_row(vec![
            p.pass.clone(),
            p.flow.to_string(),
            r.read.to_string(),
            r.created.to_string(),
            r.updated.to_string(),
            r.unchanged.to_string(),
            r.skipped.to_string(),
            r.failed.to_string(),
            p.lightspeed.requests.to_string(),
            p.business_central.requests.to_string(),
            (p.lightspeed.throttled + p.business_central.throttled).to_string(),
        ]);
    }
    for column in t.column_iter_mut().skip(2) {
        column.set_cell_alignment(CellAlignment::Right);
    }
    t.to_string()
}
