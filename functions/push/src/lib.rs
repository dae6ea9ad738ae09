//! The push Lambda: `main.rs` wires, [`handler`] translates events into stage calls.

pub mod handler;
