//! `lsbc-business-central`: a client for the Microsoft Dynamics 365 Business Central
//! standard API v2.0. It knows BC — connections, entities, OData, limits, errors — and
//! nothing about the sync that uses it (no flows, mappings, cursors or storage).
//!
//! # Shape
//! * [`BusinessCentral`] is built from a [`BusinessCentralConfig`]: BC online (OAuth2 client
//!   credentials against `{login_base}/{tenant}/oauth2/v2.0/token`, one or more app
//!   registrations) or on-premises (`{base_url}/api/v2.0`, basic auth with user + web-service
//!   access key), and a company by id or by name.
//! * The generic path takes and returns JSON objects ([`Record`]: fields + `@odata.etag`),
//!   because the sync's mapping stage produces BC bodies as JSON. Every write body is
//!   checked by [`validate`] before a request is made. Typed [`models`] decode what the sync
//!   inspects, with JSON-path errors.
//! * Reads page along `@odata.nextLink` verbatim ([`BusinessCentral::list`]); `$filter` is
//!   built with [`Filter`], which cannot express what BC silently ignores.
//! * Every request is paced per principal ([`Limits`]: concurrency + sliding window) and
//!   retried by one pure policy ([`retry::decide`]); errors classify with [`BcError::class`].
//!
//! # Versions and on-premises
//! This client speaks **API v2.0 only**. On a server that has only v1.0 (BC 14–16,
//! api-notes §1 "Versions per BC release") it does not work, and it says so: the first call
//! answers 404 / `BadRequest_NotFound` for the `api/v2.0` segment. What differs there:
//! v1.0 uses complex types (`address{street,city,state,countryLetterCode,postalCode}`,
//! `baseUnitOfMeasure{…}`) instead of flat fields, non-GUID keys for document lines, no
//! `contacts`, `locations`, `itemLedgerEntries` or `itemVariants` entity sets (added in v2.0
//! 17.0–19.0), no transactional `$batch` (17.1+), pictures under `picture({id})/content`
//! instead of `picture/pictureContent`, and enums as plain option strings. Supporting v1.0
//! would need a second set of bodies and models; the sync targets BC 17+ on-premises and BC
//! online (where v1.0 is removed from BC 28). On-premises 17+ works with basic auth (user +
//! web-service access key), a base URL ending in the server instance, an optional
//! `?tenant=` and no request-rate window (only concurrency, `ODataV4MaxConcurrentRequests`).
//! Per-entity minimum versions on v2.0: contacts 18.0, locations 18.1, itemLedgerEntries 19.0.

mod auth;
pub mod batch;
mod client;
pub mod config;
pub mod entity;
pub mod enums;
pub mod error;
pub mod models;
pub mod odata;
pub mod pacing;
pub mod retry;
pub mod validate;
pub mod webhook;

pub use batch::{Atomicity, BatchOperation, BatchResponse, MAX_BATCH_OPERATIONS};
pub use client::{BusinessCentral, Page};
pub use config::{BusinessCentralConfig, CompanyRef, Deployment, OnPremisesUser, Principal};
pub use entity::{EntityPath, EntitySet, Record};
pub use error::{ApiError, BcError, ErrorClass, ErrorCode, Rule, ValidationError};
pub use odata::{ETag, Filter, Literal, Op, Query};
pub use pacing::{Limits, PrincipalStats, SharedBudget};
pub use retry::RetryPolicy;
pub use validate::Operation;
