//! Business Central as the flows use it: the connection (secret and client), the one
//! idempotent write path every sink on BC shares ([`Writer`]), the comparison of what BC
//! holds with what a command wants ([`diff`]), BC's field rules for transforms, and how BC
//! answers a client-chosen `id` ([`client_ids`]).

pub mod client_ids;
mod connection;
pub mod diff;
mod fields;
pub mod subscriptions;
mod writer;

pub use client_ids::ClientIds;
pub use connection::{
    BusinessCentralSecret, CompanySecret, Credential, LimitsOverride, connect, external,
    is_duplicate, is_not_found,
};
pub use fields::truncate_to_bc;
pub use writer::{Trail, Writer, Written};
