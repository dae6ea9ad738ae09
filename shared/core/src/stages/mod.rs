//! The stage functions — `poll`, `transform`, `push` — written once against the ports and
//! run by the Lambda handlers and by the embedded runner alike, plus the settling of queue
//! messages (ack, retry later, dead-letter) that both share.

mod activity;
mod poll;
mod push;
mod settle;
mod transform;

pub use activity::ActivityPolicy;
pub use poll::{PollBudget, PollReport, PollStage, poll};
pub use push::{PUSH_CLAIM_TTL, PushStage, push};
pub use settle::{Settled, Settler, Verdict, handle_envelope, process_batch, verdict};
pub use transform::{TransformStage, transform};

#[cfg(test)]
mod tests;
