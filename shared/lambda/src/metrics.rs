//! Metrics as CloudWatch Embedded Metric Format lines: one JSON object per line on stdout,
//! which CloudWatch Logs turns into metrics without an API call (and which the AWS emulator
//! used in tests doesn't need to understand).

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::{Map, Value, json};

/// The namespace every lsbc metric is published under.
pub const NAMESPACE: &str = "lsbc";

/// A CloudWatch unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A count.
    Count,
    /// Milliseconds.
    Milliseconds,
    /// Seconds.
    Seconds,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
            Unit::Seconds => "Seconds",
        }
    }
}

/// One value.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    /// Its name, e.g. `RecordsPushed`.
    pub name: &'static str,
    /// Its value.
    pub value: f64,
    /// Its unit.
    pub unit: Unit,
}

impl Metric {
    /// A count.
    pub fn count(name: &'static str, value: usize) -> Self {
        Self {
            name,
            value: value as f64,
            unit: Unit::Count,
        }
    }
}

/// One EMF line: metrics sharing one set of dimensions.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricLine {
    dimensions: BTreeMap<&'static str, String>,
    metrics: Vec<Metric>,
}

impl MetricLine {
    /// A line with these dimensions (e.g. `flow`, `stage`).
    pub fn new(dimensions: &[(&'static str, &str)]) -> Self {
        Self {
            dimensions: dimensions
                .iter()
                .map(|(k, v)| (*k, (*v).to_owned()))
                .collect(),
            metrics: Vec::new(),
        }
    }

    /// Adds a metric; zero counts are kept (a flat line is information too).
    #[must_use]
    pub fn with(mut self, metric: Metric) -> Self {
        self.metrics.push(metric);
        self
    }

    /// The EMF JSON object.
    pub fn to_json(&self, at: Timestamp) -> Value {
        let mut root = Map::new();
        root.insert(
            "_aws".into(),
            json!({
                "Timestamp": at.as_millisecond(),
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": [self.dimensions.keys().collect::<Vec<_>>()],
                    "Metrics": self.metrics.iter().map(|m| json!({"Name": m.name, "Unit": m.unit.as_str()})).collect::<Vec<_>>(),
                }],
            }),
        );
        for (k, v) in &self.dimensions {
            root.insert((*k).to_owned(), Value::String(v.clone()));
        }
        for m in &self.metrics {
            root.insert(m.name.to_owned(), json!(m.value));
        }
        Value::Object(root)
    }

    /// Writes the line to stdout, where Lambda sends it to CloudWatch Logs.
    pub fn emit(&self) {
        if self.metrics.is_empty() {
            return;
        }
        println!("{}", self.to_json(Timestamp::now()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_line_is_pinned() {
        let line = MetricLine::new(&[("flow", "customers"), ("stage", "push")])
            .with(Metric::count("RecordsCreated", 3))
            .with(Metric::count("RecordsFailed", 0))
            .with(Metric {
                name: "PushDuration",
                value: 12.5,
                unit: Unit::Milliseconds,
            });
        let at: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        insta::assert_json_snapshot!(line.to_json(at));
    }
}
