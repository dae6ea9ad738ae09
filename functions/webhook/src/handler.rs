//! Translates function URL requests into the webhook's answers.
//!
//! - **Business Central subscription handshake**: a request carrying `validationToken` (BC
//!   sends it on create and on every renewal, by POST; GET is accepted too) is answered
//!   `200 text/plain` with the token echoed.
//! - **Business Central notifications**: `POST {"value":[…]}`. Each notification must carry
//!   our `clientState` (compared in constant time with the secret); each one that concerns a
//!   flow becomes a "poll this flow now" request on the poll queue. The data itself is
//!   always re-read from the API by the poll.
//! - Anything else gets a 4xx without detail.
//!
//! Answer codes follow BC's retry rules: BC retries on 408, 429 and 5xx and **deletes the
//! subscription on any other 4xx**. So a failure on our side (queue or secret store down)
//! answers 503, and only requests that are not BC's (bad client state, bad body) get a 4xx.

use std::collections::BTreeSet;

use aws_lambda_events::event::lambda_function_urls::{
    LambdaFunctionUrlRequest, LambdaFunctionUrlResponse,
};
use base64::Engine as _;
use lsbc_core::envelope::PollRequest;
use lsbc_core::ports::{Clock, Freshness, OutboundMessage, Queue, SecretStore};
use lsbc_core::{Flow, QueueName};
use secrecy::ExposeSecret;
use serde::Deserialize;
use subtle::ConstantTimeEq;

/// BC's validation tokens are short; anything longer is not BC.
const MAX_TOKEN_LEN: usize = 4096;

/// What the webhook needs.
#[derive(Debug, Clone, Copy)]
pub struct Webhook<'a> {
    /// Where poll requests go.
    pub queue: &'a dyn Queue,
    /// Where the client state is kept.
    pub secrets: &'a dyn SecretStore,
    /// The name of the secret holding the client state.
    pub client_state_secret: &'a str,
    /// The time (poll requests within a minute collapse into one).
    pub clock: &'a dyn Clock,
}

#[derive(Debug, Deserialize)]
struct Notifications {
    value: Vec<Notification>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Notification {
    #[serde(default)]
    client_state: Option<String>,
    #[serde(default)]
    resource: String,
    #[serde(default)]
    change_type: String,
}

fn answer(status: i64, body: Option<String>) -> LambdaFunctionUrlResponse {
    let mut response = LambdaFunctionUrlResponse::default();
    response.status_code = status;
    if body.is_some() {
        response.headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/plain; charset=utf-8"),
        );
    }
    response.body = body;
    response
}

/// The flow a change of a BC resource may concern. The sync writes customers, items and
/// documents into BC itself, so only changes that move stock (item ledger entries come from
/// posted documents, purchases and adjustments) trigger work: the stock flow.
pub fn flow_for_resource(resource: &str) -> Option<Flow> {
    let path = resource.split('?').next().unwrap_or_default();
    let last = path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default();
    let entity_set = last.split('(').next().unwrap_or_default();
    match entity_set {
        "items" | "itemLedgerEntries" | "salesInvoices" | "salesOrders" | "salesCreditMemos"
        | "salesShipments" | "purchaseInvoices" | "purchaseReceipts" => Some(Flow::Stock),
        _ => None,
    }
}

impl Webhook<'_> {
    /// Answers one request.
    pub async fn handle(&self, request: &LambdaFunctionUrlRequest) -> LambdaFunctionUrlResponse {
        let method = request
            .request_context
            .http
            .method
            .as_deref()
            .unwrap_or_default()
            .to_ascii_uppercase();
        if let Some(token) = request.query_string_parameters.get("validationToken") {
            if (method == "GET" || method == "POST")
                && !token.is_empty()
                && token.len() <= MAX_TOKEN_LEN
            {
                tracing::info!("Business Central subscription handshake answered.");
                return answer(200, Some(token.clone()));
            }
            return answer(400, None);
        }
        if method != "POST" {
            return answer(405, None);
        }
        let Some(body) = body_bytes(request) else {
            return answer(400, None);
        };
        let Ok(notifications) = serde_json::from_slice::<Notifications>(&body) else {
            tracing::warn!("Webhook request without a notification body refused.");
            return answer(400, None);
        };
        let expected = match self
            .secrets
            .get(self.client_state_secret, Freshness::Cached)
            .await
        {
            Ok(secret) => secret,
            Err(error) => {
                tracing::error!(%error, "Webhook client state unreadable; asking BC to retry.");
                return answer(503, None);
            }
        };
        let expected = expected.expose_secret().as_bytes();
        let authentic = !notifications.value.is_empty()
            && notifications.value.iter().all(|n| {
                n.client_state
                    .as_deref()
                    .is_some_and(|given| bool::from(given.as_bytes().ct_eq(expected)))
            });
        if !authentic {
            tracing::warn!("Webhook notification with a wrong client state refused.");
            return answer(401, None);
        }
        let flows: BTreeSet<Flow> = notifications
            .value
            .iter()
            .filter_map(|n| {
                let flow = flow_for_resource(&n.resource);
                tracing::info!(
                    change_type = %n.change_type,
                    resource = %n.resource,
                    flow = flow.map(Flow::as_str),
                    "Business Central notification."
                );
                flow
            })
            .collect();
        let now = self.clock.now();
        for flow in flows {
            let request = PollRequest::new(flow, "bc-notification");
            let message = OutboundMessage {
                body: match serde_json::to_string(&request) {
                    Ok(body) => body,
                    Err(_) => return answer(500, None),
                },
                group_id: request.group_id(),
                dedup_id: request.dedup_id(now),
            };
            if let Err(error) = self.queue.send(QueueName::Poll, vec![message]).await {
                tracing::error!(%error, %flow, "Poll request not queued; asking BC to retry.");
                return answer(503, None);
            }
        }
        answer(202, None)
    }
}

fn body_bytes(request: &LambdaFunctionUrlRequest) -> Option<Vec<u8>> {
    let body = request.body.as_deref()?;
    if request.is_base64_encoded {
        base64::engine::general_purpose::STANDARD.decode(body).ok()
    } else {
        Some(body.as_bytes().to_vec())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use lsbc_core::memory::{MemoryQueue, MemoryStore};
    use lsbc_core::ports::ManualClock;
    use secrecy::SecretString;

    use super::*;

    const FIXTURES: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/business-central"
    );

    fn request(
        method: &str,
        query: &[(&str, &str)],
        body: Option<&str>,
    ) -> LambdaFunctionUrlRequest {
        let mut r = LambdaFunctionUrlRequest::default();
        r.request_context.http.method = Some(method.into());
        r.query_string_parameters = query
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        r.body = body.map(Into::into);
        r
    }

    struct World {
        queue: MemoryQueue,
        store: MemoryStore,
        clock: ManualClock,
    }

    impl World {
        async fn new(client_state: &str) -> Self {
            let store = MemoryStore::new();
            store
                .put("webhook", &SecretString::from(client_state.to_owned()))
                .await
                .unwrap();
            Self {
                queue: MemoryQueue::default(),
                store,
                clock: ManualClock::new("2026-01-01T00:00:00Z".parse().unwrap()),
            }
        }

        fn webhook(&self) -> Webhook<'_> {
            Webhook {
                queue: &self.queue,
                secrets: &self.store,
                client_state_secret: "webhook",
                clock: &self.clock,
            }
        }

        async fn polls(&self) -> Vec<PollRequest> {
            self.queue
                .receive(QueueName::Poll, 10, Duration::ZERO)
                .await
                .unwrap()
                .iter()
                .map(|m| PollRequest::decode(&m.body).unwrap())
                .collect()
        }
    }

    /// The documented notification, with its client state replaced by ours.
    fn fixture(name: &str, client_state: &str) -> String {
        let text = std::fs::read_to_string(format!("{FIXTURES}/{name}")).unwrap();
        let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
        for n in value["value"].as_array_mut().unwrap() {
            n["clientState"] = client_state.into();
        }
        value.to_string()
    }

    #[tokio::test]
    async fn the_handshake_echoes_the_token_as_plain_text_on_get_and_post() {
        let w = World::new("s3cret").await;
        for method in ["POST", "GET"] {
            let r = w
                .webhook()
                .handle(&request(method, &[("validationToken", "abc-123")], None))
                .await;
            assert_eq!(r.status_code, 200);
            assert_eq!(r.body.as_deref(), Some("abc-123"));
            assert_eq!(r.headers["content-type"], "text/plain; charset=utf-8");
        }
        assert!(w.polls().await.is_empty());
    }

    #[tokio::test]
    async fn authentic_notifications_become_one_poll_request_per_flow() {
        let w = World::new("s3cret").await;
        let body = fixture("webhook.notification.json", "s3cret");
        let r = w.webhook().handle(&request("POST", &[], Some(&body))).await;
        assert_eq!(r.status_code, 202);
        let polls = w.polls().await;
        assert_eq!(polls.len(), 1, "item changes collapse into one stock poll");
        assert_eq!(polls[0].flow, Flow::Stock);
        assert_eq!(polls[0].reason, "bc-notification");
        // A repeat within the minute is de-duplicated by the queue.
        w.webhook().handle(&request("POST", &[], Some(&body))).await;
        assert!(w.polls().await.is_empty());
    }

    #[tokio::test]
    async fn a_wrong_client_state_is_refused_without_detail() {
        let w = World::new("s3cret").await;
        for state in ["wrong", "s3cre", "s3cret "] {
            let body = fixture("fixture.rebelpl.notifications.json", state);
            let r = w.webhook().handle(&request("POST", &[], Some(&body))).await;
            assert_eq!(r.status_code, 401, "{state}");
            assert_eq!(r.body, None);
        }
        let missing =
            r#"{"value":[{"resource":"api/v2.0/companies(1)/items(2)","changeType":"updated"}]}"#;
        let r = w
            .webhook()
            .handle(&request("POST", &[], Some(missing)))
            .await;
        assert_eq!(r.status_code, 401);
        assert!(w.polls().await.is_empty());
    }

    #[tokio::test]
    async fn anything_else_gets_a_bare_4xx() {
        let w = World::new("s3cret").await;
        let cases = [
            request("GET", &[], None),
            request("POST", &[], None),
            request("POST", &[], Some("not json")),
            request("POST", &[], Some(r#"{"value":[]}"#)),
            request("DELETE", &[("validationToken", "x")], None),
        ];
        for case in cases {
            let r = w.webhook().handle(&case).await;
            assert!(
                (400..500).contains(&r.status_code),
                "{case:?} -> {}",
                r.status_code
            );
            assert_ne!(r.status_code, 408);
            assert_ne!(r.status_code, 429);
            assert_eq!(r.body, None);
        }
    }

    #[tokio::test]
    async fn our_own_failure_asks_bc_to_retry() {
        let w = World::new("s3cret").await;
        let webhook = Webhook {
            client_state_secret: "missing",
            ..w.webhook()
        };
        let body = fixture("webhook.notification.json", "s3cret");
        let r = webhook.handle(&request("POST", &[], Some(&body))).await;
        assert_eq!(r.status_code, 503);
    }

    #[test]
    fn resources_map_to_flows() {
        assert_eq!(
            flow_for_resource("api/v2.0/companies(6a3c9c1b)/items(5f2c)"),
            Some(Flow::Stock)
        );
        assert_eq!(
            flow_for_resource(
                "api/v2.0/companies(6a3c)/salesInvoices?$filter=lastModifiedDateTime gt 2026-01-01"
            ),
            Some(Flow::Stock)
        );
        assert_eq!(
            flow_for_resource("/api/v2.0/companies(1)/customers(2)"),
            None
        );
        assert_eq!(flow_for_resource(""), None);
    }
}
