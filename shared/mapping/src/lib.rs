//! The data mapper: how a source record becomes the fields of target objects.
//!
//! Every target field of a flow has a **default mapping** shipped with the binary; an
//! operator can override any field with a **jq expression** (evaluated by `jaq`), a
//! **constant**, or a **lookup** in a value table, and give it a **policy**: sent always,
//! only when the target record is created, or only when it is updated. Expressions see the
//! source record as `.`, the flow's settings as `$settings` and the value tables as
//! `$tables`.
//!
//! Overrides are checked when they are saved — a broken expression is refused with its
//! position — and compiled mappings are cached per overrides version.
//!
//! Pure: no IO. Loading overrides and settings from their stores is the caller's job.

mod countries;
mod defaults;
mod doc;
mod engine;
mod expr;

pub use countries::country_table;
pub use defaults::default_doc;
pub use doc::{FieldSpec, MappingDoc, Policy, ValueSpec};
pub use engine::{CompiledMapping, Evaluated, FieldError, Mapper, is_sent};
pub use expr::{Expr, ExprError};

/// Everything wrong with a mapping document, one line per problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid mapping: {}", .problems.join("; "))]
pub struct MappingError {
    /// Each problem, naming the field.
    pub problems: Vec<String>,
}
