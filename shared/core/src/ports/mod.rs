//! The ports: narrow traits between the stages and the world. Each has an AWS adapter
//! (`lsbc-aws`), an embedded SQLite adapter (`lsbc-embedded`) and an in-memory one
//! ([`crate::memory`]); the same contract tests run against all of them. Sources, sinks and
//! transformers are implemented per flow by the connectors and the mapping.

mod activity;
mod attempts;
mod budgets;
mod claims;
mod clock;
mod config;
mod cursors;
mod links;
mod queue;
mod secrets;
mod source;
mod states;

pub use activity::{ActivityEntry, ActivityLog, ActivityQuery, Outcome};
pub use attempts::AttemptStore;
pub use budgets::{BudgetStore, Rate, booked, reserve};
pub use claims::{ClaimKey, ClaimStore};
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{ConfigDoc, ConfigKind, ConfigStore, MappingStore, SettingsStore};
pub use cursors::CursorStore;
pub use links::{Link, LinkStore, LinkWrite};
pub use queue::{OutboundMessage, Queue, ReceivedMessage};
pub use secrets::{Freshness, SecretStore};
pub use source::{
    Action, FlowParts, PageToken, PushRequest, ReadRange, Rejected, Sink, SinkOutcome, Source,
    SourcePage, Transformed, Transformer,
};
pub use states::{RecordState, StateStore};

impl std::fmt::Debug for dyn Source + '_ {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Source({}/{})", self.flow(), self.stream())
    }
}

macro_rules! opaque_debug {
    ($($t:path),*) => {$(
        impl std::fmt::Debug for dyn $t + '_ {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(stringify!($t))
            }
        }
    )*};
}
opaque_debug!(
    CursorStore,
    ClaimStore,
    BudgetStore,
    AttemptStore,
    Queue,
    LinkStore,
    ActivityLog,
    Sink,
    Transformer,
    ConfigStore,
    SecretStore,
    StateStore
);
