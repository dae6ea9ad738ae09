//! BC's webhook service, simulated (api-notes §5): subscriptions at `api/v2.0/subscriptions`
//! with the `validationToken` handshake on create and renew, a 3-day expiry in API time,
//! notifications batched per subscription for a delay after the first change (30 s, scaled by
//! the clock), a single `collection` notification when more than a threshold changed in one
//! window, retries on 408/429/5xx or no answer, and deletion of the subscription on any other
//! refusal. It must not touch the entity store; it is told about committed changes.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::errors::{BcFault, Outcome};
use super::schema::Entity;
use super::store::{Change, check_if_match, etag_of};
use crate::common::SimClock;

/// Webhook timings and bounds.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookSettings {
    /// Wait after the first change before notifying (BC: 30 s of API time).
    pub delay: Duration,
    /// More changes than this in one window make one `collection` notification (BC: 1,000).
    pub collection_threshold: usize,
    /// Wall time the receiver has to answer the handshake (on-prem default 5,000 ms).
    pub handshake_timeout: Duration,
    /// Subscription lifetime in API time (BC: 3 days).
    pub expiry: Duration,
    /// How long failed deliveries are retried, in API time (BC: 36 h).
    pub retry_for: Duration,
    /// First retry back-off in API time; doubles per attempt.
    pub retry_backoff: Duration,
    /// Most subscriptions per environment (BC online: 200).
    pub max_subscriptions: usize,
    /// Which entity sets take a subscription. `true` (default): only those on the docs'
    /// "List of supported entities" ([MS] `api-reference/v2.0/dynamics-subscriptions`).
    /// `false`: every set whose API page passes the exclusion rules on the same page (adds
    /// contacts, itemVariants, locations, itemLedgerEntries). Which one a tenant's
    /// `webhookSupportedResources` answers was not confirmed; the line sets are refused
    /// either way.
    pub listed_entities_only: bool,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            delay: Duration::from_secs(30),
            collection_threshold: 1000,
            handshake_timeout: Duration::from_secs(5),
            expiry: Duration::from_hours(72),
            retry_for: Duration::from_hours(36),
            retry_backoff: Duration::from_mins(1),
            max_subscriptions: 200,
            listed_entities_only: true,
        }
    }
}

/// One delivery attempt, kept for inspection.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delivery {
    /// Where it went.
    pub notification_url: String,
    /// The receiver's status (`None`: no answer).
    pub status: Option<u16>,
    /// The notification body.
    pub body: Value,
    /// 1 for the first try.
    pub attempt: u32,
    /// API time of the attempt.
    pub at: Timestamp,
}

#[derive(Debug, Clone)]
struct Subscription {
    id: String,
    notification_url: String,
    resource: String,
    company: Uuid,
    entity: Entity,
    client_state: String,
    user_id: Uuid,
    created: Timestamp,
    modified: Timestamp,
    expires: Timestamp,
    version: u64,
}

#[derive(Debug, Default)]
struct State {
    subscriptions: BTreeMap<String, Subscription>,
    /// Per subscription: when its window opened and the changes in it.
    pending: BTreeMap<String, (Timestamp, Vec<Change>)>,
    deliveries: Vec<Delivery>,
    version: u64,
}

/// The webhook service of one sandbox.
#[derive(Debug)]
pub(crate) struct Webhooks {
    state: Mutex<State>,
    clock: SimClock,
    http: reqwest::Client,
    settings: WebhookSettings,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

fn whole_seconds(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn millis(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn plus(at: Timestamp, by: Duration) -> Timestamp {
    at.checked_add(SignedDuration::try_from(by).unwrap_or(SignedDuration::MAX))
        .unwrap_or(at)
}

/// Parses `[/]api/v2.0/companies({id})/{set}`.
fn parse_resource(resource: &str) -> Option<(Uuid, Entity)> {
    let rest = resource
        .trim_start_matches('/')
        .strip_prefix("api/v2.0/companies(")?;
    let (company, set) = rest.split_once(")/")?;
    let company = company.trim_matches('\'').parse().ok()?;
    let entity = Entity::from_set(set)?;
    Some((company, entity))
}

impl Webhooks {
    pub(crate) fn new(clock: SimClock, settings: WebhookSettings) -> Self {
        let http = reqwest::Client::builder()
            .timeout(settings.handshake_timeout.max(Duration::from_millis(100)))
            .build()
            .unwrap_or_default();
        Self {
            state: Mutex::new(State::default()),
            clock,
            http,
            settings,
        }
    }

    fn render(sub: &Subscription, base: &str) -> Value {
        json!({
            "@odata.context": format!("{base}/$metadata#subscriptions/$entity"),
            "@odata.etag": etag_of(sub.version),
            "subscriptionId": sub.id,
            "notificationUrl": sub.notification_url,
            "resource": sub.resource,
            "timestamp": sub.version,
            "userId": sub.user_id.to_string(),
            "lastModifiedDateTime": whole_seconds(sub.modified),
            "clientState": sub.client_state,
            "expirationDateTime": whole_seconds(sub.expires),
            "systemCreatedAt": millis(sub.created),
            "systemCreatedBy": sub.user_id.to_string(),
            "systemModifiedAt": millis(sub.modified),
            "systemModifiedBy": sub.user_id.to_string(),
        })
    }

    /// POSTs `notificationUrl?validationToken=…` and expects 200 with the token as body.
    async fn handshake(&self, url: &str) -> Outcome<()> {
        let token = Uuid::new_v4().simple().to_string();
        let separator = if url.contains('?') { '&' } else { '?' };
        let target = format!("{url}{separator}validationToken={token}");
        let answer = self
            .http
            .post(&target)
            .timeout(self.settings.handshake_timeout)
            .send()
            .await;
        let echoed = match answer {
            Ok(response) if response.status().as_u16() == 200 => {
                response.text().await.is_ok_and(|body| body.trim() == token)
            }
            _ => false,
        };
        if echoed {
            Ok(())
        } else {
            // Text inferred: the docs say the subscription is not created.
            Err(BcFault::new(
                400,
                "BadRequest",
                "The subscription could not be validated: the notification URL must answer the validation request with status 200 and the validation token.",
            ))
        }
    }

    fn fields(body: &Map<String, Value>) -> Outcome<(String, String, String)> {
        let text = |key: &str| -> Outcome<String> {
            match body.get(key) {
                None | Some(Value::Null) => Ok(String::new()),
                Some(Value::String(s)) => Ok(s.clone()),
                Some(_) => Err(BcFault::wrong_type("Edm.String")),
            }
        };
        for key in body.keys() {
            if !matches!(key.as_str(), "notificationUrl" | "resource" | "clientState")
                && !key.starts_with("@odata.")
            {
                return Err(BcFault::unknown_property(key, "subscription"));
            }
        }
        let client_state = text("clientState")?;
        if client_state.chars().count() > 2048 {
            return Err(BcFault::too_long(2048, &client_state));
        }
        Ok((text("notificationUrl")?, text("resource")?, client_state))
    }

    /// `POST subscriptions`.
    pub(crate) async fn create(
        &self,
        body: &Map<String, Value>,
        user_id: Uuid,
        known_company: impl Fn(Uuid) -> bool,
        base: &str,
    ) -> Outcome<Value> {
        let (url, resource, client_state) = Self::fields(body)?;
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(BcFault::dialog(
                "The \"notificationUrl\" must be an absolute http(s) URL.",
            ));
        }
        let supported = |entity: Entity| {
            if self.settings.listed_entities_only {
                entity.webhooks_supported()
            } else {
                entity.webhooks_supported_by_page_rules()
            }
        };
        let (company, entity) = parse_resource(&resource)
            .filter(|(c, e)| known_company(*c) && supported(*e))
            .ok_or_else(|| {
                // Status, code and text inferred: the docs say which entities are supported,
                // not how an unsupported one is refused.
                BcFault::bad_query(format!(
                    "The resource '{resource}' is not supported for subscriptions."
                ))
            })?;
        if lock(&self.state).subscriptions.len() >= self.settings.max_subscriptions {
            return Err(BcFault::dialog(
                "The maximum number of subscriptions has been reached.",
            ));
        }
        self.handshake(&url).await?;
        let now = self.clock.now();
        let mut state = lock(&self.state);
        state.version += 1;
        let sub = Subscription {
            id: Uuid::new_v4().simple().to_string(),
            notification_url: url,
            resource,
            company,
            entity,
            client_state,
            user_id,
            created: now,
            modified: now,
            expires: plus(now, self.settings.expiry),
            version: state.version,
        };
        let rendered = Self::render(&sub, base);
        state.subscriptions.insert(sub.id.clone(), sub);
        Ok(rendered)
    }

    fn live(&self, id: &str) -> Outcome<Subscription> {
        let now = self.clock.now();
        let mut state = lock(&self.state);
        state.subscriptions.retain(|_, s| s.expires > now);
        state
            .subscriptions
            .get(id)
            .cloned()
            .ok_or_else(|| BcFault::record_not_found("subscriptions", &format!("'{id}'")))
    }

    /// `PATCH subscriptions('id')`: renews for another expiry period (handshake again).
    pub(crate) async fn renew(
        &self,
        id: &str,
        if_match: Option<&str>,
        body: &Map<String, Value>,
        base: &str,
    ) -> Outcome<Value> {
        let sub = self.live(id)?;
        check_if_match(if_match, sub.version)?;
        let (url, _, client_state) = Self::fields(body)?;
        let url = if url.is_empty() {
            sub.notification_url.clone()
        } else {
            url
        };
        self.handshake(&url).await?;
        let now = self.clock.now();
        let mut state = lock(&self.state);
        state.version += 1;
        let version = state.version;
        let sub = state
            .subscriptions
            .get_mut(id)
            .ok_or_else(|| BcFault::record_not_found("subscriptions", &format!("'{id}'")))?;
        sub.notification_url = url;
        if body.contains_key("clientState") {
            sub.client_state = client_state;
        }
        sub.modified = now;
        sub.expires = plus(now, self.settings.expiry);
        sub.version = version;
        Ok(Self::render(sub, base))
    }

    pub(crate) fn delete(&self, id: &str, if_match: Option<&str>) -> Outcome<()> {
        let sub = self.live(id)?;
        check_if_match(if_match, sub.version)?;
        let mut state = lock(&self.state);
        state.subscriptions.remove(id);
        state.pending.remove(id);
        Ok(())
    }

    pub(crate) fn get(&self, id: &str, base: &str) -> Outcome<Value> {
        self.live(id).map(|s| Self::render(&s, base))
    }

    pub(crate) fn list(&self, base: &str) -> Vec<Value> {
        let now = self.clock.now();
        let mut state = lock(&self.state);
        state.subscriptions.retain(|_, s| s.expires > now);
        state
            .subscriptions
            .values()
            .map(|s| Self::render(s, base))
            .collect()
    }

    pub(crate) fn deliveries(&self) -> Vec<Delivery> {
        lock(&self.state).deliveries.clone()
    }

    /// Queues committed changes; the first change of a window schedules its flush.
    pub(crate) fn on_changes(self: &Arc<Self>, changes: &[Change]) {
        if changes.is_empty() {
            return;
        }
        let now = self.clock.now();
        let mut opened = Vec::new();
        {
            let mut state = lock(&self.state);
            let matching: Vec<(String, Change)> = changes
                .iter()
                .flat_map(|change| {
                    state
                        .subscriptions
                        .values()
                        .filter(|s| {
                            s.company == change.company
                                && s.entity == change.entity
                                && s.expires > now
                        })
                        .map(|s| (s.id.clone(), change.clone()))
                        .collect::<Vec<_>>()
                })
                .collect();
            for (id, change) in matching {
                let entry = state.pending.entry(id.clone()).or_insert_with(|| {
                    opened.push(id.clone());
                    (now, Vec::new())
                });
                entry.1.push(change);
            }
        }
        for id in opened {
            let this = Arc::clone(self);
            tokio::spawn(async move {
                this.clock.sleep(this.settings.delay).await;
                this.flush(&id).await;
            });
        }
    }

    async fn flush(self: &Arc<Self>, id: &str) {
        let (sub, window_start, changes) = {
            let mut state = lock(&self.state);
            let Some((start, changes)) = state.pending.remove(id) else {
                return;
            };
            let Some(sub) = state.subscriptions.get(id).cloned() else {
                return;
            };
            (sub, start, changes)
        };
        let entry = |resource: String, change_type: &str, at: Timestamp| {
            json!({
                "subscriptionId": sub.id,
                "clientState": sub.client_state,
                "expirationDateTime": whole_seconds(sub.expires),
                "resource": resource,
                "changeType": change_type,
                "lastModifiedDateTime": millis(at),
            })
        };
        let collection = format!(
            "api/v2.0/companies({})/{}",
            sub.company,
            sub.entity.set_name()
        );
        let value: Vec<Value> = if changes.len() > self.settings.collection_threshold {
            // The docs sample filters on `lastDateTimeModified` (fixture webhook.notification.json);
            // the field that exists is `lastModifiedDateTime`, which a re-query can use.
            let filter = format!(
                "$filter=lastModifiedDateTime%20gt%20{}",
                whole_seconds(
                    window_start
                        .checked_sub(SignedDuration::from_secs(1))
                        .unwrap_or(window_start)
                )
            );
            let last = changes.last().map_or(window_start, |c| c.at);
            vec![entry(format!("{collection}?{filter}"), "collection", last)]
        } else {
            changes
                .iter()
                .map(|c| entry(format!("{collection}({})", c.id), c.kind.as_str(), c.at))
                .collect()
        };
        self.deliver(
            sub.notification_url.clone(),
            vec![sub.id.clone()],
            json!({ "value": value }),
        )
        .await;
    }

    /// Posts a notification; retries on 408/429/5xx/no answer within the retry period;
    /// deletes the subscriptions on any other refusal (GH dynamics365smb-devitpro-pb#2584).
    async fn deliver(self: &Arc<Self>, url: String, subscriptions: Vec<String>, body: Value) {
        let started = self.clock.now();
        let mut attempt = 1_u32;
        let mut backoff = self.settings.retry_backoff;
        loop {
            let answer = self.http.post(&url).json(&body).send().await;
            let status = answer.as_ref().ok().map(|r| r.status().as_u16());
            lock(&self.state).deliveries.push(Delivery {
                notification_url: url.clone(),
                status,
                body: body.clone(),
                attempt,
                at: self.clock.now(),
            });
            match status {
                Some(200..=299) => return,
                None | Some(408 | 429 | 500..=599) => {
                    let elapsed = self.clock.now().duration_since(started);
                    if elapsed.as_secs_f64() + backoff.as_secs_f64()
                        > self.settings.retry_for.as_secs_f64()
                    {
                        return;
                    }
                    self.clock.sleep(backoff).await;
                    backoff = backoff.saturating_mul(2);
                    attempt += 1;
                }
                Some(_) => {
                    let mut state = lock(&self.state);
                    for id in &subscriptions {
                        state.subscriptions.remove(id);
                        state.pending.remove(id);
                    }
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_parse_with_or_without_a_leading_slash() {
        let id = "f64eba74-dacd-4854-a584-1834f68cfc3a";
        assert_eq!(
            parse_resource(&format!("/api/v2.0/companies({id})/customers")).map(|r| r.1),
            Some(Entity::Customer)
        );
        assert_eq!(
            parse_resource(&format!("api/v2.0/companies({id})/items")).map(|r| r.1),
            Some(Entity::Item)
        );
        assert!(parse_resource(&format!("/api/v1.0/companies({id})/customers")).is_none());
    }
}
