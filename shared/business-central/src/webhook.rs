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
    /// The subscriber's `clientState` echoed back.
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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireNotification {
    subscription_id: String,
    #[serde(default)]
    client_state: String,
    #[serde(default, deserialize_with = "blank_datetime::deserialize")]
    expiration_date_time: Option<Timestamp>,
    resource: String,
    change_type: String,
    #[serde(default, deserialize_with = "blank_datetime::deserialize")]
    last_modified_date_time: Option<Timestamp>,
}

/// Parses a notification POST body.
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

/// Parses `api/v2.0/companies({c})/{set}({id})` or `/api/v2.0/companies({c})/{set}?$filter=…`.
pub fn parse_resource(resource: &str) -> Target {
    let (path, query) = resource.split_once('?').unwrap_or((resource, ""));
    let path = path.trim_start_matches('/');
    let Some(rest) = path.strip_prefix("api/v2.0/companies(") else {
        return Target::Unknown;
    };
    let Some((company, rest)) = rest.split_once(")/") else {
        return Target::Unknown;
    };
    let Ok(company) = company.trim_matches('\'').parse::<Uuid>() else {
        return Target::Unknown;
    };
    if let Some((set, key)) = rest.split_once('(') {
        let Some(key) = key.strip_suffix(')') else {
            return Target::Unknown;
        };
        return match key.trim_matches('\'').parse() {
            Ok(id) => Target::Entity {
                company,
                set: set.to_owned(),
                id,
            },
            Err(_) => Target::Unknown,
        };
    }
    let filter = query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == "$filter").then(|| {
            percent_encoding::percent_decode_str(value)
                .decode_utf8_lossy()
                .into_owned()
        })
    });
    Target::Collection {
        company,
        set: rest.to_owned(),
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
