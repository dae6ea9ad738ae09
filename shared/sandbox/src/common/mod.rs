//! Pieces both simulators share: the simulated clock with its time scale, fault injection,
//! request statistics and the server spawner. Nothing API-specific lives here.

mod clock;
mod faults;
mod server;
mod stats;

pub use clock::SimClock;
pub use faults::{
    FaultDecision, FaultKind, FaultPlan, FaultRule, Faults, generic_fault_response, reset_response,
};
pub use server::{RunningServer, spawn};
pub use stats::{RequestStats, StatsSnapshot};
