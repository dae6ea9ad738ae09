//! The sync's vocabulary, its ports and its stages — and nothing else.
//!
//! A *flow* (customers, orders, products, stock) reads one *stream* of *records* from a
//! *source*, hands each record through two queues (transform, push) and upserts it into a
//! *sink*, keyed by a *match key*, remembering the *link* between source and target record.
//! Progress is a *cursor*, written at a *checkpoint* once the hand-off is durable, never past
//! the *signpost* taken before reading.
//!
//! This crate holds no AWS, HTTP or Lambda code: the world comes in through the traits in
//! [`ports`], implemented by the AWS and embedded adapters and by the connectors.

pub mod cursor;
pub mod envelope;
pub mod error;
pub mod flow;
pub mod memory;
pub mod ports;
pub mod record;
pub mod stages;

pub use cursor::{Cursor, Overlap, Resume, SeenMark};
pub use envelope::{Body, Envelope, EnvelopeError, PollRequest};
pub use error::{
    Disposition, ExternalError, ExternalKind, QueueError, StageError, StoreError, System, classify,
};
pub use flow::{Flow, QueueName};
pub use record::{ContentHash, MatchKey, Record, RecordKey, SourceVersion, TraceId};
