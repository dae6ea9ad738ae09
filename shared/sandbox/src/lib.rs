//! Stateful simulators of the two SaaS APIs the sync talks to: Lightspeed Retail (R-Series)
//! and Business Central. Each runs an axum server on 127.0.0.1 (port 0 → the base URL is
//! returned), keeps its data in memory, enforces what the real service enforces, and can be
//! seeded, inspected, rate limited, slowed down and made to fail on purpose.
//!
//! Used by the clients' tests, the end-to-end tests, the benchmarks, `lsbc demo` and the
//! standalone `lsbc-sandbox` ([`standalone`]).
//! It must not depend on the client crates: a simulator that shares the client's types
//! would only ever answer what the client already understands.

pub mod common;

#[cfg(feature = "lightspeed")]
pub mod lightspeed;

#[cfg(feature = "business-central")]
pub mod business_central;

#[cfg(feature = "lightspeed")]
mod images;

#[cfg(all(feature = "lightspeed", feature = "business-central"))]
pub mod standalone;
