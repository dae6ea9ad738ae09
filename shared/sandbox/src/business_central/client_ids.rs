//! How the simulated tenant answers a client-chosen `id` on POST, per entity set. Which one
//! a real tenant gives is not settled by Microsoft's sources:
//!
//! - "Transitioning from API v1.0 to API v2.0" (MicrosoftDocs, dev-itpro/api-reference/v2.0/
//!   transition-to-api-v2.0) says a record may be created with its SystemId given;
//! - the standard API pages declare the field not editable (microsoft/BCApps,
//!   `APIV2Customers.Page.al`: `field(id; Rec.SystemId) { Editable = false; }`, likewise the
//!   other APIV2 pages), and a POST carrying `id` and other read-only fields was refused
//!   until they were removed (MicrosoftDocs/dynamics365smb-devitpro-pb #2445, "Invalid
//!   Request Body"; #618 for v1.0: `Control 'taxAreaDisplayName' is read-only.`);
//! - a deep insert of sales order lines failed with `You cannot change the value of the
//!   SystemId field` in BC 22 (microsoft/ALAppExtensions #23028), so document pages may
//!   behave apart from master-data pages.
//!
//! So each of the three answers is simulated, and each entity set may have its own.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// One way of answering a POST that carries `id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientIdAnswer {
    /// The record gets the `id` the client sent (a second POST with it is refused with
    /// `Internal_EntityWithSameKeyExists`).
    #[default]
    Honoured,
    /// The POST is refused like any read-only control: 400 `BadRequest_InvalidOperation`,
    /// `Control 'id' is read-only.` (wording of #618, code from BC's error-code table);
    /// nothing is created.
    Refused,
    /// The `id` is dropped and BC assigns its own SystemId, as for a POST without one.
    Ignored,
}

impl ClientIdAnswer {
    /// `honoured`, `refused` or `ignored`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Honoured => "honoured",
            Self::Refused => "refused",
            Self::Ignored => "ignored",
        }
    }

    /// All three, in that order.
    pub const ALL: [Self; 3] = [Self::Honoured, Self::Refused, Self::Ignored];
}

impl fmt::Display for ClientIdAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of the three answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a client-id answer: use honoured, refused or ignored")]
pub struct UnknownAnswer(pub String);

impl FromStr for ClientIdAnswer {
    type Err = UnknownAnswer;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "honoured" | "honored" => Ok(Self::Honoured),
            "refused" => Ok(Self::Refused),
            "ignored" => Ok(Self::Ignored),
            other => Err(UnknownAnswer(other.to_owned())),
        }
    }
}

/// The answer of every entity set: one for all, and any set apart.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientIds {
    /// The answer of sets not named in `per_set`.
    pub default: ClientIdAnswer,
    /// Entity set name (`customers`, `salesOrders`, `itemVariants`, …) → its answer.
    pub per_set: BTreeMap<String, ClientIdAnswer>,
}

impl ClientIds {
    /// Every set answers `answer`.
    pub fn all(answer: ClientIdAnswer) -> Self {
        Self {
            default: answer,
            per_set: BTreeMap::new(),
        }
    }

    /// `set` answers `answer`; the others as before.
    #[must_use]
    pub fn with(mut self, set: &str, answer: ClientIdAnswer) -> Self {
        self.per_set.insert(set.to_owned(), answer);
        self
    }

    /// The answer of entity set `set`.
    pub fn answer(&self, set: &str) -> ClientIdAnswer {
        self.per_set.get(set).copied().unwrap_or(self.default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_parse_and_sets_may_differ() {
        assert_eq!("Refused".parse(), Ok(ClientIdAnswer::Refused));
        assert_eq!("honored".parse(), Ok(ClientIdAnswer::Honoured));
        assert!("maybe".parse::<ClientIdAnswer>().is_err());
        let ids =
            ClientIds::all(ClientIdAnswer::Ignored).with("salesOrders", ClientIdAnswer::Refused);
        assert_eq!(ids.answer("customers"), ClientIdAnswer::Ignored);
        assert_eq!(ids.answer("salesOrders"), ClientIdAnswer::Refused);
    }
}
