//! Flow kits and their registry: what each flow is made of, in one place.
//!
//! A kit names its flow's direction (which API its source reads and which its sink writes,
//! and so which secret each stage needs), its streams, transformer and sink, its settings
//! (schema and defaults) and default mapping, and its match-key rule. [`registered`] is the
//! only place that lists the flows: its `match` over [`Flow`] has no wildcard arm, so a
//! flow added to the vocabulary without a kit (or a planned entry) does not compile.
//!
//! Adding a flow: a folder `src/<flow>/` with the same files as the others (`mod.rs` with
//! the kit, `keys.rs`, `command.rs`, `source.rs`, `transform.rs`, `sink.rs`, `settings.rs`,
//! `mapping.json`), one line in [`registered`], and the template regenerated
//! (`cargo lsbc template --write`). The README's "Adding a flow" section says the same.

use std::sync::Arc;

use async_trait::async_trait;
use lsbc_core::ports::{Sink, Source, Transformer};
use lsbc_core::{Flow, StageError};
use lsbc_mapping::{Mapper, MappingDoc, MappingError, default_doc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::Connectors;

/// One of the two APIs a flow reads or writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Api {
    /// Lightspeed Retail (R-Series).
    Lightspeed,
    /// Business Central.
    BusinessCentral,
}

impl Api {
    /// As written in logs and the template: `lightspeed`, `business-central`.
    pub fn as_str(self) -> &'static str {
        match self {
            Api::Lightspeed => "lightspeed",
            Api::BusinessCentral => "business-central",
        }
    }
}

impl std::fmt::Display for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which API a flow reads and which it writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Direction {
    /// The API its source reads (the poll and transform stages use it: a transform re-reads
    /// records that travel by reference).
    pub reads: Api,
    /// The API its sink writes (the push stage uses it).
    pub writes: Api,
}

impl Direction {
    /// Lightspeed → Business Central.
    pub const TO_BUSINESS_CENTRAL: Direction = Direction {
        reads: Api::Lightspeed,
        writes: Api::BusinessCentral,
    };
    /// Business Central → Lightspeed.
    pub const TO_LIGHTSPEED: Direction = Direction {
        reads: Api::BusinessCentral,
        writes: Api::Lightspeed,
    };
}

/// What a stage does with an API's secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SecretUse {
    /// Reads it.
    Read,
    /// Reads it and writes rotated tokens back (Lightspeed refresh tokens rotate).
    ReadAndRotate,
}

/// How a stage uses `api`'s secret: Lightspeed's is rotated by whoever refreshes a token,
/// Business Central's (client credentials, access keys) is only read.
pub fn secret_use(api: Api) -> SecretUse {
    match api {
        Api::Lightspeed => SecretUse::ReadAndRotate,
        Api::BusinessCentral => SecretUse::Read,
    }
}

/// How descriptions (the template's, the operators') name a flow's records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nouns {
    /// One record: `customer`.
    pub one: &'static str,
    /// What its source reads: `customers`, `items and matrices`.
    pub source_records: &'static str,
    /// What its sink writes: `customers`, `items, variants, categories and pictures`.
    pub target_records: &'static str,
}

/// A condition a flow's push function logs as an error with an `alarm` field (`alarm =
/// "order_held"`): the template turns each into a metric filter on that function's log
/// group and an alarm on the metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogAlarm {
    /// The `alarm` field's value.
    pub name: &'static str,
    /// What it means and what to do, for the alarm's description.
    pub description: &'static str,
}

/// A flow's typed settings: defaults for everything, unknown keys refused.
pub trait FlowSettings: Serialize + DeserializeOwned + Default {
    /// The flow they belong to.
    const FLOW: Flow;

    /// Values serde accepts but the target would refuse, one line each.
    fn problems(&self) -> Vec<String> {
        Vec::new()
    }

    /// Checks a stored or proposed settings document and returns it with every default
    /// filled in (`null` is the defaults).
    fn check(body: &Value) -> Result<Value, MappingError> {
        let flow = Self::FLOW;
        let problem = |e: serde_json::Error| MappingError {
            problems: vec![format!("settings of {flow}: {e}")],
        };
        let body = if body.is_null() {
            Value::Object(Map::new())
        } else {
            body.clone()
        };
        let typed: Self = serde_json::from_value(body).map_err(problem)?;
        let problems = typed.problems();
        if !problems.is_empty() {
            return Err(MappingError { problems });
        }
        serde_json::to_value(typed).map_err(problem)
    }

    /// The settings from a checked document (the defaults when none is stored).
    fn from_stored(body: Option<&Value>) -> Result<Self, MappingError> {
        match body {
            None => Ok(Self::default()),
            Some(v) => serde_json::from_value(v.clone()).map_err(|e| MappingError {
                problems: vec![format!("settings of {}: {e}", Self::FLOW)],
            }),
        }
    }
}

/// What one flow is made of.
#[async_trait]
pub trait FlowKit: Send + Sync {
    /// The flow.
    fn flow(&self) -> Flow;

    /// Which API it reads and which it writes.
    fn direction(&self) -> Direction;

    /// How descriptions name its records.
    fn nouns(&self) -> Nouns;

    /// The names of its streams (each has its own cursor), the main one first.
    fn streams(&self) -> &'static [&'static str];

    /// The stream a flow's cursor commands name when none is given.
    fn main_stream(&self) -> &'static str {
        self.streams().first().copied().unwrap_or_default()
    }

    /// One line for operators: how a source record finds its target record without a link.
    fn match_key_rule(&self) -> &'static str;

    /// The default mapping (JSON), if the flow maps fields through the mapper.
    fn default_mapping(&self) -> Option<&'static str>;

    /// The Business Central entity sets whose webhook notifications make this flow poll now
    /// (none by default).
    fn wakes_on(&self) -> &'static [&'static str] {
        &[]
    }

    /// Whether its sink also reads the API its source reads (the stock flow recomputes an
    /// item from Business Central's figures at push time): its push function then gets
    /// that API's secret too.
    fn sink_reads_source(&self) -> bool {
        false
    }

    /// The alarms its push function raises through its log (none by default).
    fn log_alarms(&self) -> &'static [LogAlarm] {
        &[]
    }

    /// Checks a settings document, filling in every default.
    fn check_settings(&self, body: &Value) -> Result<Value, MappingError>;

    /// Every stream of the flow, the main one first (connects the API it reads).
    async fn sources(&self, c: &Connectors) -> Result<Vec<Arc<dyn Source>>, StageError>;

    /// The transformer (mapping and settings only: no API).
    fn transformer(&self, c: &Connectors) -> Arc<dyn Transformer>;

    /// The sink (connects the API it writes).
    async fn sink(&self, c: &Connectors) -> Result<Arc<dyn Sink>, StageError>;
}

/// A flow named in the vocabulary whose kit is not built yet: its direction is known (the
/// template and the secrets follow it once it has a kit), nothing of it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Planned {
    /// Which API it will read and write.
    pub direction: Direction,
    /// What it will do.
    pub summary: &'static str,
    /// The Business Central entity sets whose notifications will make it poll.
    pub wakes_on: &'static [&'static str],
}

/// How a flow stands in this build.
#[derive(Clone, Copy)]
pub enum Registered {
    /// It has a kit and runs.
    Kit(&'static dyn FlowKit),
    /// It is planned: no kit yet.
    Planned(Planned),
}

impl std::fmt::Debug for Registered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Registered::Kit(kit) => write!(f, "Kit({})", kit.flow()),
            Registered::Planned(p) => write!(f, "Planned({p:?})"),
        }
    }
}

impl Registered {
    /// The flow's direction, kit or not.
    pub fn direction(&self) -> Direction {
        match self {
            Registered::Kit(kit) => kit.direction(),
            Registered::Planned(p) => p.direction,
        }
    }

    /// The Business Central entity sets whose notifications make the flow poll now.
    pub fn wakes_on(&self) -> &'static [&'static str] {
        match self {
            Registered::Kit(kit) => kit.wakes_on(),
            Registered::Planned(p) => p.wakes_on,
        }
    }

    /// The kit, if the flow has one.
    pub fn kit(&self) -> Option<&'static dyn FlowKit> {
        match self {
            Registered::Kit(kit) => Some(*kit),
            Registered::Planned(_) => None,
        }
    }
}

/// The registry: how `flow` stands in this build. The only list of the flows.
pub fn registered(flow: Flow) -> Registered {
    match flow {
        Flow::Customers => Registered::Kit(&crate::customers::KIT),
        Flow::Products => Registered::Kit(&crate::products::KIT),
        Flow::Orders => Registered::Kit(&crate::orders::KIT),
        Flow::Stock => Registered::Kit(&crate::stock::KIT),
        #[cfg(feature = "example-flow")]
        Flow::Shops => Registered::Kit(&crate::shops::KIT),
    }
}

/// The kit of `flow`, or why there is none.
pub fn kit(flow: Flow) -> Result<&'static dyn FlowKit, StageError> {
    registered(flow)
        .kit()
        .ok_or_else(|| StageError::Config(format!("flow {flow} is not available in this build")))
}

/// The flows that have a kit, in the order the sync runs them.
pub fn available_flows() -> Vec<Flow> {
    Flow::ALL
        .into_iter()
        .filter(|f| registered(*f).kit().is_some())
        .collect()
}

/// The flows a Business Central notification about `entity_set` makes poll now.
pub fn woken_by(entity_set: &str) -> Vec<Flow> {
    Flow::ALL
        .into_iter()
        .filter(|f| registered(*f).wakes_on().contains(&entity_set))
        .collect()
}

/// The default mapping document of `flow`, if its kit has one.
pub fn default_mapping(flow: Flow) -> Result<Option<MappingDoc>, MappingError> {
    match registered(flow).kit().and_then(FlowKit::default_mapping) {
        Some(text) => default_doc(flow, text).map(Some),
        None => Ok(None),
    }
}

/// Every flow of the vocabulary: [`Flow::ALL`], and the example flow where it is built.
pub fn every_flow() -> Vec<Flow> {
    #[allow(unused_mut)]
    let mut flows = Flow::ALL.to_vec();
    #[cfg(feature = "example-flow")]
    flows.push(Flow::Shops);
    flows
}

/// A mapper with every kit's default mapping.
pub fn default_mapper() -> Result<Mapper, MappingError> {
    let mut defaults = std::collections::BTreeMap::new();
    for flow in every_flow() {
        if let Some(doc) = default_mapping(flow)? {
            defaults.insert(flow, doc);
        }
    }
    Ok(Mapper::new(defaults))
}

/// Checks a settings document of `flow`, filling in every default. A flow without a kit
/// has no settings: its document is kept as given.
pub fn check_settings(flow: Flow, body: &Value) -> Result<Value, MappingError> {
    match registered(flow) {
        Registered::Kit(kit) => kit.check_settings(body),
        Registered::Planned(_) => Ok(body.clone()),
    }
}
