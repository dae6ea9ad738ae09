//! The customers flow's command: the Business Central customer (and, for a company, its
//! person contact) as they should be — the contract between its transform and its sink.

use lsbc_mapping::is_sent;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What the push stage receives: the BC customer (and contact) as they should be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerCommand {
    /// The Lightspeed customer id.
    pub lightspeed_id: String,
    /// Fields of the BC customer.
    pub customer: Map<String, Value>,
    /// Fields of the person contact of a company customer.
    #[serde(default)]
    pub contact: Option<Map<String, Value>>,
    /// The e-mail address to match on (lower-case), when matching by e-mail.
    #[serde(default)]
    pub match_email: Option<String>,
    /// The BC customer number to match on, when matching by number.
    #[serde(default)]
    pub match_number: Option<String>,
    /// `customer.x` / `contact.x` fields sent only on create.
    #[serde(default)]
    pub create_only: Vec<String>,
    /// Fields sent only on update.
    #[serde(default)]
    pub update_only: Vec<String>,
}

impl CustomerCommand {
    /// Whether `object.field` is sent when creating (`true`) or updating.
    pub fn sends(&self, object: &str, field: &str, creating: bool) -> bool {
        is_sent(
            &self.create_only,
            &self.update_only,
            object,
            field,
            creating,
        )
    }
}

/// A plausible e-mail address that Business Central takes: one `@`, a local part, a dotted
/// domain, no spaces, at most 80 characters (BC's limit), and what BC's `Mail Management`
/// also refuses ruled out (microsoft/BCApps, Base Application `MailManagement.Codeunit.al`,
/// `CheckValidEmailAddress` and the mailbox check it calls): no address delimiters
/// `()<>,;:"[]\`, no empty dot-separated label in the local part.
pub fn is_valid_email(address: &str) -> bool {
    let Some((local, domain)) = address.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.split('.').all(|label| !label.is_empty())
        && !address.chars().any(|c| "()<>,;:\"[]\\".contains(c))
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !address.chars().any(|c| c.is_whitespace() || c.is_control())
        && address.chars().count() <= 80
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plausible_e_mail_addresses() {
        for ok in ["zoe@example.com", "a.b+c@shop.co.uk", "ørsted@exemple.fr"] {
            assert!(is_valid_email(ok), "{ok}");
        }
        for bad in [
            "",
            "zoe",
            "zoe@",
            "@x.com",
            "a@b",
            "a b@c.com",
            "a@b..com",
            "a@.com",
            "a@b.com.",
            "a@@b.com",
            "a..b@c.com",
            ".a@c.com",
            "a.@c.com",
            "<a@c.com>",
            "a@c.com; b@c.com",
            "a,b@c.com",
            "[email protected]",
        ] {
            assert!(!is_valid_email(bad), "{bad}");
        }
        assert!(!is_valid_email(&format!("{}@x.com", "a".repeat(80))));
    }
}
