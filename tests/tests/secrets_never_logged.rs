//! No secret in any log, activity entry or dead-letter reason (issue "proof under fire",
//! item 4): the four flows run on one embedded home with logging at TRACE for every crate
//! (the HTTP client's included), a Lightspeed token refresh and Business Central tokens
//! fetched again on the way, a record failing into the dead-letter queue; then every
//! credential either simulator ever issued or holds — client secrets, codes, access and
//! refresh tokens — is searched for in all of it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use lsbc_core::ports::ActivityQuery;
use lsbc_core::{Flow, QueueName};
use lsbc_tests::customers::person;
use lsbc_tests::orders::{AMS, CASH, NYC, line, payment, sale, settings, world_now};
use lsbc_tests::pipeline::{EmbeddedHome, Home, Setup};
use serde_json::json;

/// Everything logged, from every thread.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_credential_reaches_a_log_an_activity_entry_or_a_dead_letter() {
    let captured = Captured::default();
    tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .with_writer(captured.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::TRACE)
            .finish(),
    )
    .unwrap();
    // Whatever an operator turns on while debugging.
    lsbc_core::error::log_details(true);

    let s = world_now().await;
    let bc = &s.business_central;
    bc.post_purchase("A", 10.0, Some("AMS")).unwrap();
    s.lightspeed.set_stock(10, AMS, 10).unwrap();
    s.lightspeed
        .add_customer(&person("Sam", "Secret", Some("sam@example.com")));
    // A customer no mapping can place: a dead letter with its reason.
    let mut nowhere = person("Ned", "Nowhere", Some("ned@example.com"));
    nowhere.addresses = vec![lsbc_sandbox::lightspeed::AddressSeed {
        country: "Atlantis".into(),
        ..lsbc_sandbox::lightspeed::AddressSeed::default()
    }];
    s.lightspeed.add_customer(&nowhere);
    s.lightspeed
        .add_sale(&sale(
            901,
            AMS,
            vec![line(10, 1, 1210)],
            vec![payment(CASH, 1210)],
        ))
        .unwrap();
    let home = EmbeddedHome::with_flows(
        &s,
        vec![
            (Flow::Customers, Setup::default()),
            (Flow::Products, Setup::default()),
            (
                Flow::Orders,
                Setup {
                    settings: Some(settings(json!({"document_type": "invoice"}))),
                    ..Setup::default()
                },
            ),
            (
                Flow::Stock,
                Setup {
                    settings: Some(json!({
                        "shops": {AMS.to_string(): {"locations": ["AMS"]},
                                  NYC.to_string(): {"locations": ["NYC"]}},
                        "formula": "inventory",
                        "wait_for_orders_seconds": 1,
                    })),
                    ..Setup::default()
                },
            ),
        ],
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    home.sync().await;
    // The Lightspeed tokens expire: the next request refreshes and stores the new pair.
    s.lightspeed.expire_access_tokens();
    bc.post_purchase("A", 2.0, Some("AMS")).unwrap();
    s.lightspeed
        .add_customer(&person("Tia", "Token", Some("tia@example.com")));
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    home.sync().await;
    assert!(
        s.lightspeed.stats().oauth.refreshes >= 1,
        "a refresh happened"
    );

    let mut everything = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(everything.len() > 10_000, "TRACE logging was on");
    let entries = home
        .activity()
        .query(&ActivityQuery {
            limit: 10_000,
            ..ActivityQuery::default()
        })
        .await
        .unwrap();
    assert!(!entries.is_empty());
    for entry in &entries {
        everything.push_str(
            &serde_json::to_string(&json!({
                "message": entry.message, "source": entry.source, "target": entry.target,
            }))
            .unwrap(),
        );
    }
    let mut parked = 0;
    for flow in [Flow::Customers, Flow::Products, Flow::Orders, Flow::Stock] {
        for queue in [QueueName::Transform(flow), QueueName::Push(flow)] {
            for (message, reason) in home.queue().receive_dead_letters(queue, 100).await.unwrap() {
                parked += 1;
                everything.push_str(&message.body);
                everything.push_str(&reason.unwrap_or_default());
            }
        }
    }
    assert!(parked >= 1, "a dead letter was searched too");
    let mut secrets = s.lightspeed.secrets_issued();
    secrets.extend(s.business_central.secrets_issued());
    assert!(secrets.len() >= 6, "{} credentials", secrets.len());
    for secret in secrets.iter().filter(|s| s.len() >= 8) {
        assert!(
            !everything.contains(secret.as_str()),
            "a credential ({}…) is in the logs, the activity log or a dead letter",
            &secret[..4]
        );
    }
}
