//! BC webhooks as seen by a receiver and a subscriber: the subscription model, the
//! notification payload (`{"value":[…]}`, fixtures webhook.notification.json and
//! fixture.rebelpl.notifications.json) with its resource parsed into company, entity set and
//! id (or a collection to re-query), and the validation-token handshake. It must not do IO.

use jiff::Timestamp;
use serde::Deserialize;
use uuid::Uuid;

use crate::enums::blank_datetime;
use crate::error::BcError;
use crate::odata::ETag;

/// A subscription (fixture fixture.rebelpl.subscription.json).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Subscription {
    /// `@odata.etag` (renew and delete need it as `If-Match`).
    #[serde(rename = "@odata.etag")]
    pub etag: Option<ETag>,
    /// The key (32 hex characters, no dashes).
    pub subscription_id: String,
    /// Where BC posts notifications.
    pub notification_url: String,
    /// The watched collection, `api/v2.0/companies({id})/{set}`.
    pub resource: String,
    /// Echoed in every notification; check it on receipt.
    pub client_state: String,
    /// When BC drops the subscription (3 days after create/renew, api-notes §5).
    #[serde(deserialize_with = "blank_datetime::deserialize")]
    pub expiration_date_time: Option<Timestamp>,
}

/// What changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeType {
    /// A new record.
    Created,
    /// A changed record.
    Updated,
    /// A removed record.
    Deleted,
    /// More than BC's threshold changed in one window: re-query the collection.
    Collection,
}

/// One notification.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// Which subscription fired.
    pub subscription_id: String,
    /// The subscriber's `clientState` echoed back (empty when missing).
    pub client_state: String,
    /// The subscription's expiry.
    pub expiration: Option<Timestamp>,
    /// What changed.
    pub change_type: ChangeType,
    /// The changed entity, or the collection to re-read.
    pub target: Target,
    /// When it changed.
    pub last_modified: Option<Timestamp>,
    /// The resource text as sent.
    pub resource: String,
}

/// The resource of a notification, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// One entity: re-GET it (notifications carry no data).
    Entity {
        /// Company SystemId.
        company: Uuid,
        /// Entity set name (`items`).
        set: String,
        /// Entity SystemId.
        id: Uuid,
    },
    /// A collection with an optional `$filter` (collection notifications).
    Collection {
        /// Company SystemId.
        company: Uuid,
        /// Entity set name.
        set: String,
        /// The filter BC suggests (decoded), if any.
        filter: Option<String>,
    },
    /// A shape this parser does not know.
    Unknown,
}

#[derive(Deserialize)]
struct WireNotifications {
    value: Vec<WireNotification>,
}

/// One notification as sent. BC deletes a subscription whose receiver answers a 4xx, so a
/// field the receiver does not need never fails the body: `subscriptionId` and the
/// timestamps are read leniently, and only `clientState`, `resource` and `changeType` must
/// be strings when present.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireNotification {
    #[serde(default, deserialize_with = "lenient::text")]
    subscription_id: String,
    #[serde(default)]
    client_state: String,
    #[serde(default, deserialize_with = "lenient::timestamp")]
    expiration_date_time: Option<Timestamp>,
    #[serde(default)]
    resource: String,
    #[serde(default)]
    change_type: String,
    #[serde(default, deserialize_with = "lenient::timestamp")]
    last_modified_date_time: Option<Timestamp>,
}

mod lenient {
    use jiff::Timestamp;
    use serde::{Deserialize, Deserializer};
    use serde_json::Value;

    use crate::enums::blank_datetime;

    /// A string, or empty for anything else.
    pub(super) fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::String(text) => text,
            _ => String::new(),
        })
    }

    /// A timestamp as [`blank_datetime`] reads it, or `None` for anything unreadable.
    pub(super) fn timestamp<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Timestamp>, D::Error> {
        let value = Value::deserialize(d)?;
        Ok(blank_datetime::deserialize(value).ok().flatten())
    }
}

/// Parses a notification POST body (`{"value":[…]}`). Only a body of another shape, or a
/// `clientState`, `resource` or `changeType` that is not a string, is an error: BC deletes
/// a subscription whose receiver answers 4xx, so `subscriptionId` and the timestamps are
/// read leniently (empty or `None` when unreadable). A missing `clientState` reads as empty.
pub fn parse_notifications(body: &[u8]) -> Result<Vec<Notification>, BcError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let wire: WireNotifications = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| BcError::decode("webhook notification", e))?;
    Ok(wire
        .value
        .into_iter()
        .map(|n| Notification {
            change_type: match n.change_type.as_str() {
                "created" => ChangeType::Created,
                "deleted" => ChangeType::Deleted,
                "collection" => ChangeType::Collection,
                _ => ChangeType::Updated,
            },
            target: parse_resource(&n.resource),
            subscription_id: n.subscription_id,
            client_state: n.client_state,
            expiration: n.expiration_date_time,
            last_modified: n.last_modified_date_time,
            resource: n.resource,
        })
        .collect())
}

impl Notification {
    /// The entity set the notification concerns (`items`), from its resource. Also read
    /// when the resource's keys are not GUIDs (its target is then [`Target::Unknown`]).
    pub fn entity_set(&self) -> Option<&str> {
        entity_set(&self.resource)
    }
}

/// The `validationToken` of a handshake request's query string, decoded. The receiver must
/// answer 200 with exactly this text (`text/plain`), on create and on every renewal.
pub fn validation_token(query: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == "validationToken").then(|| {
            let value = value.replace('+', " ");
            percent_encoding::percent_decode_str(&value)
                .decode_utf8_lossy()
                .into_owned()
        })
    })
}

/// A resource split along BC's shape, keys not yet judged.
struct Parts<'a> {
    company: &'a str,
    set: &'a str,
    /// The entity key, for a resource naming one entity.
    key: Option<&'a str>,
    query: &'a str,
}

/// Splits `[/]api/v2.0/companies({c})/{set}[({key})][?query]`.
fn split_resource(resource: &str) -> Option<Parts<'_>> {
    let (path, query) = resource.split_once('?').unwrap_or((resource, ""));
    let path = path.trim_start_matches('/').trim_end_matches('/');
    let rest = path.strip_prefix("api/v2.0/companies(")?;
    let (company, rest) = rest.split_once(")/")?;
    let (set, key) = match rest.split_once('(') {
        Some((set, key)) => (set, Some(key.strip_suffix(')')?)),
        None => (rest, None),
    };
    Some(Parts {
        company: company.trim_matches('\''),
        set,
        key: key.map(|key| key.trim_matches('\'')),
        query,
    })
}

/// The entity set a resource names (`items` for `api/v2.0/companies({c})/items({id})`),
/// whatever its keys look like; `None` for a resource not of that shape.
pub fn entity_set(resource: &str) -> Option<&str> {
    split_resource(resource)
        .map(|parts| parts.set)
        .filter(|set| !set.is_empty())
}

/// Parses `api/v2.0/companies({c})/{set}({id})` or `/api/v2.0/companies({c})/{set}?$filter=…`.
pub fn parse_resource(resource: &str) -> Target {
    let Some(parts) = split_resource(resource) else {
        return Target::Unknown;
    };
    let Ok(company) = parts.company.parse::<Uuid>() else {
        return Target::Unknown;
    };
    if let Some(key) = parts.key {
        return match key.parse() {
            Ok(id) => Target::Entity {
                company,
                set: parts.set.to_owned(),
                id,
            },
            Err(_) => Target::Unknown,
        };
    }
    let filter = parts.query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == "$filter").then(|| {
            percent_encoding::percent_decode_str(value)
                .decode_utf8_lossy()
                .into_owned()
        })
    });
    Target::Collection {
        company,
        set: parts.set.to_owned(),
        filter,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/../../tests/fixtures/business-central/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn doc_notifications_parse_with_targets() {
        let all = parse_notifications(&fixture("webhook.notification.json")).unwrap();
        assert_eq!(all.len(), 4);
        assert_eq!(all[0].change_type, ChangeType::Updated);
        assert!(matches!(&all[0].target, Target::Entity { set, .. } if set == "items"));
        assert_eq!(all[2].change_type, ChangeType::Deleted);
        assert_eq!(all[3].change_type, ChangeType::Collection);
        match &all[3].target {
            Target::Collection { set, filter, .. } => {
                assert_eq!(set, "salesInvoices");
                assert_eq!(
                    filter.as_deref(),
                    Some("lastDateTimeModified gt 2018-10-15T11:00:00Z")
                );
            }
            other => panic!("{other:?}"),
        }
        let real = parse_notifications(&fixture("fixture.rebelpl.notifications.json")).unwrap();
        assert_eq!(real[0].client_state, "testClientState");
    }

    #[test]
    fn fields_a_receiver_does_not_need_never_fail_the_body() {
        let body = br#"{"value":[{"resource":"api/v2.0/companies(1)/items(2)","changeType":"updated","expirationDateTime":"soon","lastModifiedDateTime":7,"subscriptionId":null}]}"#;
        let all = parse_notifications(body).unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].client_state, "");
        assert_eq!(all[0].subscription_id, "");
        assert_eq!((all[0].expiration, all[0].last_modified), (None, None));
        assert_eq!(all[0].target, Target::Unknown);
        assert_eq!(all[0].entity_set(), Some("items"));
        for bad in [&b"not json"[..], br#"{"value":[{"clientState":1}]}"#, b"{}"] {
            assert!(parse_notifications(bad).is_err());
        }
    }

    #[test]
    fn entity_sets_are_read_whatever_the_keys() {
        assert_eq!(
            entity_set("api/v2.0/companies(6a3c)/salesInvoices?$filter=x%20gt%201"),
            Some("salesInvoices")
        );
        assert_eq!(
            entity_set("/api/v2.0/companies(1)/customers(2)"),
            Some("customers")
        );
        for other in [
            "",
            "items",
            "api/v2.0/companies(1)",
            "api/v2.0/companies(1)/items(2",
        ] {
            assert_eq!(entity_set(other), None, "{other}");
        }
    }

    #[test]
    fn handshake_token_is_decoded() {
        assert_eq!(
            validation_token("a=1&validationToken=abc%2Fdef%3D%3D").as_deref(),
            Some("abc/def==")
        );
        assert_eq!(validation_token("x=1"), None);
    }

    #[test]
    fn subscription_fixture_decodes() {
        let s: Subscription =
            serde_json::from_slice(&fixture("fixture.rebelpl.subscription.json")).unwrap();
        assert_eq!(s.subscription_id, "270135334a7d433e9009dde078e9e29c");
        assert!(s.etag.is_some() && s.expiration_date_time.is_some());
    }
}
