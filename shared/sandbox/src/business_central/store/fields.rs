//! Field checks of every write: kinds and lengths, coercion to what BC stores, required
//! names, unique keys and references to other records.

use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{CompanyData, Origin, StoreSettings, guid, stamp, text};
use crate::business_central::behaviour::CodeTable;
use crate::business_central::errors::{BcFault, Outcome};
use crate::business_central::schema::{Entity, Kind, enum_member, unescape_member};

/// Checks and copies the given fields into `fields`; returns the names set.
pub(super) fn apply_fields(
    entity: Entity,
    fields: &mut Map<String, Value>,
    body: &Map<String, Value>,
    skip: Option<&str>,
    creating: bool,
    origin: Origin,
) -> Outcome<Vec<String>> {
    let mut given = Vec::new();
    for (key, value) in body {
        if key.starts_with("@odata.") || Some(key.as_str()) == skip {
            continue;
        }
        let Some(field) = entity.field(key) else {
            return Err(BcFault::unknown_property(key, entity.type_name()));
        };
        if key == "id" && !creating {
            if value.as_str().map(str::to_ascii_lowercase)
                != fields.get("id").and_then(Value::as_str).map(str::to_owned)
            {
                return Err(BcFault::dialog("The \"id\" cannot be changed."));
            }
            continue;
        }
        let special = (entity.is_document() && key == "number")
            || (entity == Entity::Item && key == "inventory");
        if field.read_only && origin == Origin::Api && !special {
            return Err(BcFault::read_only(key));
        }
        if entity == Entity::Item && key == "inventory" {
            if creating {
                // A: APIV2Items.Page.al, InventoryCannotBeChangedInAPostRequestErr.
                return Err(BcFault::dialog(
                    "Inventory cannot be changed during on insert.",
                ));
            }
            if !value.is_number() {
                return Err(BcFault::wrong_type("Edm.Decimal"));
            }
            continue;
        }
        let stored = coerce(field.kind, value)?;
        fields.insert(key.clone(), stored);
        given.push(key.clone());
    }
    Ok(given)
}

pub(super) fn coerce(kind: Kind, value: &Value) -> Outcome<Value> {
    match kind {
        Kind::Text(max) | Kind::Code(max) => {
            let text = value
                .as_str()
                .ok_or_else(|| BcFault::wrong_type("Edm.String"))?;
            if text.chars().count() > max {
                return Err(BcFault::too_long(max, text));
            }
            Ok(Value::String(if matches!(kind, Kind::Code(_)) {
                text.to_uppercase()
            } else {
                text.to_owned()
            }))
        }
        Kind::Guid => {
            let text = value
                .as_str()
                .ok_or_else(|| BcFault::wrong_type("Edm.Guid"))?;
            let id = (text.len() == 36)
                .then(|| text.parse::<Uuid>().ok())
                .flatten()
                .ok_or_else(|| BcFault::wrong_type("Edm.Guid"))?;
            Ok(Value::String(id.to_string()))
        }
        Kind::Bool => value
            .as_bool()
            .map(Value::Bool)
            .ok_or_else(|| BcFault::wrong_type("Edm.Boolean")),
        Kind::Decimal => value
            .is_number()
            .then(|| value.clone())
            .ok_or_else(|| BcFault::wrong_type("Edm.Decimal")),
        Kind::Int => value
            .as_i64()
            .map(Value::from)
            .ok_or_else(|| BcFault::wrong_type("Edm.Int32")),
        Kind::Date => {
            let text = value
                .as_str()
                .ok_or_else(|| BcFault::wrong_type("Edm.Date"))?;
            text.parse::<Date>()
                .map_err(|_| BcFault::wrong_type("Edm.Date"))?;
            Ok(Value::String(text.to_owned()))
        }
        Kind::DateTime => {
            let text = value
                .as_str()
                .ok_or_else(|| BcFault::wrong_type("Edm.DateTimeOffset"))?;
            let at: Timestamp = text
                .parse()
                .map_err(|_| BcFault::wrong_type("Edm.DateTimeOffset"))?;
            Ok(stamp(at))
        }
        Kind::Enum(members) => {
            let text = value
                .as_str()
                .ok_or_else(|| BcFault::wrong_type("Microsoft.NAV.enum"))?;
            enum_member(members, text)
                .map(Value::String)
                .ok_or_else(|| {
                    // Fixture error.batch-inner.unknown.json.
                    let options: Vec<String> = members.iter().map(|m| unescape_member(m)).collect();
                    BcFault::new(
                        400,
                        "Unknown",
                        format!(
                            "'{text}' is not an option. The existing options are: {}",
                            options.join(",")
                        ),
                    )
                })
        }
    }
}

pub(super) fn required_name(
    fields: &Map<String, Value>,
    given: &[String],
    creating: bool,
) -> Outcome<()> {
    let blank = text(fields, "displayName").trim().is_empty();
    if creating && blank {
        // A: APIV2Customers.Page.al NotProvidedCustomerNameErr (same label on items, contacts).
        return Err(BcFault::dialog("A \"displayName\" must be provided."));
    }
    if !creating && blank && given.iter().any(|g| g == "displayName") {
        return Err(BcFault::dialog("The blank \"displayName\" is not allowed."));
    }
    Ok(())
}

pub(super) fn unique(
    data: &CompanyData,
    entity: Entity,
    id: Uuid,
    field: &str,
    caption: &str,
    value: &str,
) -> Outcome<()> {
    if data
        .table(entity)
        .any(|(other, r)| *other != id && text(&r.fields, field) == value)
    {
        return Err(BcFault::duplicate(entity.table_caption(), caption, value));
    }
    Ok(())
}

pub(super) fn reference(
    data: &CompanyData,
    entity: Entity,
    fields: &Map<String, Value>,
    key: &str,
    message: &str,
) -> Outcome<()> {
    if let Some(id) = guid(fields, key)
        && data.row(entity, id).is_none()
    {
        return Err(BcFault::dialog(message));
    }
    Ok(())
}

/// A code field checked through its table relation: blank passes, an unknown code is
/// refused with `Internal_InvalidTableRelation` naming the field, its table and the code.
pub(crate) fn known_code(
    settings: &StoreSettings,
    fields: &Map<String, Value>,
    key: &str,
    related: CodeTable,
    field_caption: &str,
    table_caption: &str,
) -> Outcome<()> {
    let code = text(fields, key);
    if code.is_empty()
        || (related == CodeTable::Currency && code == settings.lcy)
        || settings.behaviour.codes.contains(related, &code)
    {
        return Ok(());
    }
    Err(BcFault::invalid_relation(
        field_caption,
        table_caption,
        &code,
        related.caption(),
    ))
}

/// The e-mail rules of BC's `Mail Management` codeunit (microsoft/BCApps, Base Application
/// `MailManagement.Codeunit.al`): `ValidateEmailAddressField` trims surrounding spaces and
/// lets a blank address pass; `CheckValidEmailAddress` wants exactly one `@` (the address
/// split on `@` has two parts) and then `Email Account.ValidateEmailAddress`, a mailbox
/// address check: a local part and a domain, no spaces or address delimiters, no empty
/// dot-separated labels. Refused with "The email address "…" is not valid." (its
/// `InvalidEmailAddressErr`, an `Error()`: `Application_DialogException`). Stores the
/// trimmed address.
pub(super) fn email(fields: &mut Map<String, Value>, given: &[String]) -> Outcome<()> {
    if !given.iter().any(|g| g == "email") {
        return Ok(());
    }
    let address = text(fields, "email").trim_matches(' ').to_owned();
    if !address.is_empty() && !valid_email(&address) {
        return Err(BcFault::dialog(format!(
            "The email address \"{address}\" is not valid."
        )));
    }
    fields.insert("email".into(), Value::String(address));
    Ok(())
}

fn valid_email(address: &str) -> bool {
    let mut parts = address.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let clean = |part: &str| {
        !part.is_empty()
            && !part
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || "()<>,;:\\\"[]".contains(c))
            && part.split('.').all(|label| !label.is_empty())
    };
    clean(local) && clean(domain)
}
