//! Translates function URL requests into the webhook's answers.
//!
//! - **Business Central subscription handshake**: a request carrying `validationToken` (BC
//!   sends it on create and on every renewal, by POST; GET is accepted too) is answered
//!   `200 text/plain` with the token echoed.
//! - **Business Central notifications**: `POST {"value":[…]}`. Each notification must carry
//!   our `clientState` (compared in constant time with the secret); each one that concerns a
//!   flow becomes a "poll this flow now" request on the poll queue. The data itself is
//!   always re-read from the API by the poll.
//! - **Lightspeed OAuth callback** (`GET /lightspeed/callback?code=…&state=…`): finishes a
//!   first connection started by `lsbc connect lightspeed --wait-for-callback` — checks the
//!   state against the pending attempt in the connection secret, exchanges the code with its
//!   PKCE verifier and stores the token pair.
//! - Anything else gets a 4xx without detail.
//!
//! Answer codes follow BC's retry rules: BC retries on 408, 429 and 5xx and **deletes the
//! subscription on any other 4xx**. So a failure on our side (queue or secret store down)
//! answers 503, and only requests that are not BC's (bad client state, bad body) get a 4xx.

use std::collections::BTreeSet;
use std::sync::Arc;

use aws_lambda_events::event::lambda_function_urls::{
    LambdaFunctionUrlRequest, LambdaFunctionUrlResponse,
};
use base64::Engine as _;
use lsbc_business_central::webhook;
use lsbc_core::envelope::PollRequest;
use lsbc_core::ports::{Clock, Freshness, Queue, SecretStore};
use lsbc_core::{Flow, QueueName};
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

/// BC's validation tokens are short; anything longer is not BC.
const MAX_TOKEN_LEN: usize = 4096;

/// A notification body larger than this as it arrives (base64 included) is not BC's (a
/// batch of notifications is a few hundred bytes each); it is refused before it is read.
const MAX_BODY: usize = 1024 * 1024;

/// What the webhook needs.
#[derive(Debug, Clone)]
pub struct Webhook<'a> {
    /// Where poll requests go.
    pub queue: &'a dyn Queue,
    /// Where the client state (and the Lightspeed connection) is kept.
    pub secrets: Arc<dyn SecretStore>,
    /// The name of the secret holding the client state (enables the Business Central
    /// routes: handshake and notifications).
    pub client_state_secret: Option<&'a str>,
    /// The name of the Lightspeed connection secret (enables the OAuth callback route).
    pub lightspeed_secret: Option<&'a str>,
    /// The time (poll requests within a minute collapse into one).
    pub clock: &'a dyn Clock,
}

/// The path of the Lightspeed OAuth callback.
pub const LIGHTSPEED_CALLBACK: &str = "/lightspeed/callback";

fn page(status: i64, text: &str) -> LambdaFunctionUrlResponse {
    let mut response = answer(status, Some(text.to_owned()));
    response.headers.insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    response
}

fn answer(status: i64, body: Option<String>) -> LambdaFunctionUrlResponse {
    let mut response = LambdaFunctionUrlResponse::default();
    response.status_code = status;
    // Whatever the body holds (an echoed validation token), no browser reads it as markup.
    response.headers.insert(
        http::header::X_CONTENT_TYPE_OPTIONS,
        http::HeaderValue::from_static("nosniff"),
    );
    if body.is_some() {
        response.headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/plain; charset=utf-8"),
        );
    }
    response.body = body;
    response
}

/// The flows a change of a BC entity set wakes, as the registry of flow kits says (only
/// changes that move stock wake a flow: the stock flow's table).
pub fn flows_for_entity_set(entity_set: &str) -> Vec<Flow> {
    lsbc_connectors::woken_by(entity_set)
}

/// The flows a change of a BC resource (a notification's `resource`) wakes; none for a
/// resource BC's parser does not read.
pub fn flows_for_resource(resource: &str) -> Vec<Flow> {
    webhook::entity_set(resource)
        .map(flows_for_entity_set)
        .unwrap_or_default()
}

impl Webhook<'_> {
    /// Finishes a Lightspeed first connection from its redirect.
    async fn lightspeed_callback(
        &self,
        request: &LambdaFunctionUrlRequest,
    ) -> LambdaFunctionUrlResponse {
        let Some(name) = self.lightspeed_secret else {
            return answer(404, None);
        };
        let param = |k: &str| request.query_string_parameters.get(k).map(String::as_str);
        if let Some(error) = param("error") {
            tracing::warn!(%error, "Lightspeed connection refused by the user or Lightspeed.");
            return page(
                400,
                "Lightspeed did not grant access; start again with lsbc connect lightspeed.",
            );
        }
        let (Some(code), Some(state)) = (param("code"), param("state")) else {
            return answer(400, None);
        };
        match lsbc_connectors::lightspeed::complete_connection(
            self.secrets.clone(),
            name,
            state,
            code,
            self.clock.now(),
        )
        .await
        {
            Ok(account) => {
                tracing::info!(%account, "Lightspeed connected.");
                page(
                    200,
                    &format!("Lightspeed account {account} is connected. You can close this page."),
                )
            }
            Err(error) => {
                // The reason stays in the log: the page is public and echoes nothing.
                tracing::warn!(%error, "Lightspeed connection not finished.");
                page(
                    400,
                    "The connection was not finished; the webhook function's log says why. Start again with lsbc connect lightspeed.",
                )
            }
        }
    }

    /// Answers one request.
    pub async fn handle(&self, request: &LambdaFunctionUrlRequest) -> LambdaFunctionUrlResponse {
        let path = request
            .raw_path
            .as_deref()
            .or(request.request_context.http.path.as_deref())
            .unwrap_or("/");
        if path.trim_end_matches('/') == LIGHTSPEED_CALLBACK {
            return self.lightspeed_callback(request).await;
        }
        // The function that finishes Lightspeed connections serves nothing else.
        let Some(client_state_secret) = self.client_state_secret else {
            return answer(404, None);
        };
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
        // BC posts JSON; a body that says it is something else is not BC's.
        if let Some(kind) = request
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            && !kind.to_ascii_lowercase().contains("json")
        {
            return answer(415, None);
        }
        if request.body.as_ref().is_some_and(|b| b.len() > MAX_BODY) {
            return answer(413, None);
        }
        let Some(body) = body_bytes(request) else {
            return answer(400, None);
        };
        let Ok(notifications) = webhook::parse_notifications(&body) else {
            tracing::warn!("Webhook request without a notification body refused.");
            return answer(400, None);
        };
        let expected = match self
            .secrets
            .get(client_state_secret, Freshness::Cached)
            .await
        {
            Ok(secret) => secret,
            Err(error) => {
                tracing::error!(%error, "Webhook client state unreadable; asking BC to retry.");
                return answer(503, None);
            }
        };
        let expected = expected.expose_secret().as_bytes();
        // A missing clientState reads as empty, and an empty one never authenticates.
        let authentic = !notifications.is_empty()
            && notifications.iter().all(|n| {
                !n.client_state.is_empty() && bool::from(n.client_state.as_bytes().ct_eq(expected))
            });
        if !authentic {
            tracing::warn!("Webhook notification with a wrong client state refused.");
            return answer(401, None);
        }
        let flows: BTreeSet<Flow> = notifications
            .iter()
            .flat_map(|n| {
                let flows = n.entity_set().map(flows_for_entity_set).unwrap_or_default();
                tracing::info!(
                    change_type = ?n.change_type,
                    resource = %n.resource,
                    flows = ?flows,
                    "Business Central notification."
                );
                flows
            })
            .collect();
        let now = self.clock.now();
        for flow in flows {
            let request = PollRequest::new(flow, "bc-notification");
            let Ok(message) = request.to_message(now) else {
                return answer(500, None);
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
                secrets: Arc::new(self.store.clone()),
                client_state_secret: Some("webhook"),
                lightspeed_secret: None,
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
            assert_eq!(r.headers["x-content-type-options"], "nosniff");
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
    async fn an_empty_client_state_never_authenticates() {
        let w = World::new("").await;
        for body in [
            fixture("webhook.notification.json", ""),
            r#"{"value":[{"resource":"api/v2.0/companies(1)/items(2)","changeType":"updated"}]}"#
                .to_owned(),
        ] {
            let r = w.webhook().handle(&request("POST", &[], Some(&body))).await;
            assert_eq!(r.status_code, 401);
        }
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
    async fn oversize_bodies_and_other_content_types_are_refused_without_detail() {
        let w = World::new("s3cret").await;
        let genuine = fixture("webhook.notification.json", "s3cret");
        let huge = format!(
            r#"{{"value":[{{"clientState":"s3cret","resource":"{}","changeType":"updated"}}]}}"#,
            "x".repeat(MAX_BODY)
        );
        let r = w.webhook().handle(&request("POST", &[], Some(&huge))).await;
        assert_eq!((r.status_code, r.body), (413, None));
        for kind in [
            "text/html",
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ] {
            let mut forged = request("POST", &[], Some(&genuine));
            forged
                .headers
                .insert(http::header::CONTENT_TYPE, kind.parse().unwrap());
            let r = w.webhook().handle(&forged).await;
            assert_eq!((r.status_code, r.body), (415, None), "{kind}");
        }
        assert!(w.polls().await.is_empty());
        // BC's own content type goes through.
        let mut real = request("POST", &[], Some(&genuine));
        real.headers.insert(
            http::header::CONTENT_TYPE,
            "application/json; charset=utf-8".parse().unwrap(),
        );
        assert_eq!(w.webhook().handle(&real).await.status_code, 202);
    }

    #[tokio::test]
    async fn our_own_failure_asks_bc_to_retry() {
        let w = World::new("s3cret").await;
        let webhook = Webhook {
            client_state_secret: Some("missing"),
            ..w.webhook()
        };
        let body = fixture("webhook.notification.json", "s3cret");
        let r = webhook.handle(&request("POST", &[], Some(&body))).await;
        assert_eq!(r.status_code, 503);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_lightspeed_callback_finishes_a_first_connection() {
        use lsbc_connectors::lightspeed::{LightspeedSecret, begin_connection};
        use lsbc_sandbox::lightspeed::{LightspeedSandbox, LightspeedSandboxConfig};

        let sandbox = LightspeedSandbox::start(LightspeedSandboxConfig::default())
            .await
            .unwrap();
        let w = World::new("s3cret").await;
        let config = sandbox.config();
        let url = begin_connection(
            Arc::new(w.store.clone()),
            "lightspeed",
            LightspeedSecret {
                client_id: config.client_id.clone(),
                client_secret: config.client_secret.clone(),
                account_id: None,
                api_base: Some(sandbox.base_url()),
                auth_base: Some(sandbox.base_url()),
                redirect_uri: Some(config.redirect_uri.clone()),
                tokens: None,
                pending: None,
                burst_window_seconds: None,
            },
            w.clock.now(),
        )
        .await
        .unwrap();
        // The browser: the simulator approves at once and redirects with code and state.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let location = http.get(&url).send().await.unwrap().headers()["location"]
            .to_str()
            .unwrap()
            .to_owned();
        let redirect = url::Url::parse(&location).unwrap();
        let query: Vec<(String, String)> = redirect.query_pairs().into_owned().collect();
        let mut callback = request("GET", &[], None);
        callback.raw_path = Some(LIGHTSPEED_CALLBACK.into());
        callback.query_string_parameters = query.into_iter().collect();
        let webhook = Webhook {
            lightspeed_secret: Some("lightspeed"),
            ..w.webhook()
        };
        // A forged state finishes nothing, and the genuine redirect still works after it.
        let mut forged = callback.clone();
        forged
            .query_string_parameters
            .insert("state".into(), "forged-state".into());
        let refused = webhook.handle(&forged).await;
        assert_eq!(refused.status_code, 400);
        assert!(!refused.body.unwrap_or_default().contains("forged"));
        let r = webhook.handle(&callback).await;
        assert_eq!(r.status_code, 200, "{:?}", r.body);
        assert!(r.body.unwrap().contains(&sandbox.account_id().to_string()));
        let stored = LightspeedSecret::parse(
            "lightspeed",
            &w.store.get("lightspeed", Freshness::Fresh).await.unwrap(),
        )
        .unwrap();
        assert!(stored.tokens.is_some() && stored.pending.is_none());
        // The same redirect again finishes nothing.
        // A second use of the code fails; the public page echoes nothing of the reason.
        let again = webhook.handle(&callback).await;
        assert_eq!(again.status_code, 400);
        let body = again.body.unwrap_or_default();
        assert!(!body.contains("state") && !body.contains("code:"), "{body}");
        assert_eq!(again.headers["x-content-type-options"], "nosniff");
        // Without the route configured, the path is unknown.
        assert_eq!(w.webhook().handle(&callback).await.status_code, 404);
    }

    #[tokio::test]
    async fn the_callback_function_answers_nothing_of_business_central() {
        let w = World::new("s3cret").await;
        let callback_only = Webhook {
            client_state_secret: None,
            lightspeed_secret: Some("ls"),
            ..w.webhook()
        };
        let body = fixture("webhook.notification.json", "s3cret");
        let r = callback_only
            .handle(&request("POST", &[], Some(&body)))
            .await;
        assert_eq!(r.status_code, 404);
        let r = callback_only
            .handle(&request("GET", &[("validationToken", "abc")], None))
            .await;
        assert_eq!((r.status_code, r.body), (404, None));
        assert!(w.polls().await.is_empty());
    }

    #[test]
    fn resources_map_to_flows() {
        assert_eq!(
            flows_for_resource("api/v2.0/companies(6a3c9c1b)/items(5f2c)"),
            [Flow::Stock]
        );
        assert_eq!(
            flows_for_resource(
                "api/v2.0/companies(6a3c)/salesInvoices?$filter=lastModifiedDateTime gt 2026-01-01"
            ),
            [Flow::Stock]
        );
        assert!(flows_for_resource("/api/v2.0/companies(1)/customers(2)").is_empty());
        assert!(flows_for_resource("").is_empty());
    }
}
