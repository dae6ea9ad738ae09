//! The customers flow: Lightspeed customers → Business Central customers (and, for a
//! company, the person as a contact of it).

mod sink;
mod source;
mod transform;

pub use sink::{CustomerSink, contact_system_id, customer_system_id};
pub use source::{CustomerSource, RELATIONS};
pub use transform::{CustomerCommand, CustomerTransformer, is_valid_email};
