//! Test support for the workspace: the contract suites every adapter of a port must pass
//! ([`contract`]) and the emulated SQS event source mapping ([`esm`]), shared by the test
//! files in `tests/`. Must not be a dependency of any
//! production crate.

// Test support: a failed check must stop the test with its message, which is exactly what
// `unwrap`, `expect` and `panic!` do here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod aws;
pub mod contract;
pub mod customers;
pub mod esm;
pub mod orders;
pub mod pipeline;
pub mod products;
pub mod scale_out;
