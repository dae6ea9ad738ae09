//! An item's picture is a step of its own: an image host that refuses connections never
//! holds its item back. The item is created with its other fields at once; its picture
//! follows once the host answers, or is given up with a warning after a few attempts and
//! tried again with the item's next change.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use lsbc_cli::sandboxes::{SandboxOptions, Sandboxes};
use lsbc_connectors::{ConnectorContext, build_flow};
use lsbc_core::Flow;
use lsbc_core::memory::MemoryStore;
use lsbc_core::ports::{ActivityLog, ActivityQuery, ManualClock, Outcome};
use lsbc_embedded::{Embedded, FlowReport, LocalRunner, QueueOptions, RunnerOptions};
use lsbc_sandbox::lightspeed::{
    Entity, ImageSeed, ItemSeed, LightspeedSandbox, LightspeedSandboxConfig,
};
use serde_json::Value;

/// A port nothing listens on (yet): connections to it are refused.
fn refusing_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

struct Scene {
    s: Sandboxes,
    store: Embedded,
    clock: ManualClock,
    runner: LocalRunner,
    item: u64,
}

impl Scene {
    /// One item with an image on `127.0.0.1:port`, and the products flow on a fresh home.
    async fn new(port: u16) -> Self {
        let s = Sandboxes::start(SandboxOptions::default()).await.unwrap();
        let item = s
            .lightspeed
            .add_item(&ItemSeed {
                description: "Heather Tee".into(),
                custom_sku: "TEE-1".into(),
                price_cents: 1999,
                cost_cents: 750,
                images: vec![ImageSeed {
                    description: "front".into(),
                    filename: "tee.jpg".into(),
                    public_id: "tee-front".into(),
                }],
                ..ItemSeed::default()
            })
            .unwrap();
        let host = format!("http://127.0.0.1:{port}/_sandbox/images/");
        for image in s.lightspeed.records(Entity::Image) {
            let id = image["imageID"].as_str().unwrap().parse().unwrap();
            s.lightspeed
                .set_field(Entity::Image, id, "baseImageURL", &host)
                .unwrap();
        }
        let clock = ManualClock::new(Timestamp::now());
        let store = Embedded::in_memory(Arc::new(clock.clone()), QueueOptions::default()).unwrap();
        let secrets = Arc::new(MemoryStore::new());
        s.store_secrets(secrets.as_ref(), "lightspeed", "business-central")
            .await
            .unwrap();
        let context = ConnectorContext {
            secrets,
            claims: Arc::new(store.clone()),
            budgets: Arc::new(store.clone()),
            config: Arc::new(store.clone()),
            links: Arc::new(store.clone()),
            cursors: Arc::new(store.clone()),
            states: Arc::new(store.clone()),
            clock: Arc::new(clock.clone()),
            lightspeed_secret: "lightspeed".into(),
            business_central_secret: "business-central".into(),
        };
        let mut runner = LocalRunner::new(store.clone(), RunnerOptions::default());
        runner.add_flow(build_flow(Flow::Products, &context).await.unwrap());
        Self {
            s,
            store,
            clock,
            runner,
            item,
        }
    }

    /// A run, after the retried messages are visible again.
    async fn run(&self) -> FlowReport {
        self.clock.advance(SignedDuration::from_secs(31));
        self.runner.run_flow(Flow::Products).await.unwrap()
    }

    fn bc_item(&self) -> Value {
        let items = self.s.business_central.items();
        let found = items.iter().find(|i| i["number"] == "TEE-1");
        found.cloned().expect("the item is in Business Central")
    }

    fn picture_uploads(&self) -> usize {
        let writes = self.s.business_central.writes();
        let uploads = writes
            .iter()
            .filter(|w| w.path.ends_with("picture/pictureContent"));
        uploads.count()
    }

    async fn picture_log(&self) -> Vec<(Outcome, String)> {
        let entries = self
            .store
            .query(&ActivityQuery {
                flow: Some(Flow::Products),
                limit: 100,
                ..ActivityQuery::default()
            })
            .await
            .unwrap();
        let key = format!("item:{}:picture", self.item);
        entries
            .into_iter()
            .rev()
            .filter(|e| e.key.as_str() == key)
            .map(|e| {
                let sent = e.target.map(|t| t.to_string()).unwrap_or_default();
                (e.outcome, format!("{} {sent}", e.message))
            })
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_whose_image_host_refuses_is_created_and_its_picture_follows() {
    let port = refusing_port();
    let scene = Scene::new(port).await;

    let first = scene.run().await;
    let item = scene.bc_item();
    assert_eq!(
        item["displayName"], "Heather Tee",
        "created with its fields"
    );
    assert_eq!(item["unitPrice"], 19.99);
    assert_eq!(first.created, 1, "{first:?}");
    assert_eq!((first.retried, first.waiting), (1, 1), "{first:?}");
    assert_eq!(scene.picture_uploads(), 0);
    let log = scene.picture_log().await;
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0].0, Outcome::Retrying);
    assert!(
        log[0].1.contains("127.0.0.1") && log[0].1.contains("only its picture waits"),
        "{}",
        log[0].1
    );

    // The host answers now.
    let host = LightspeedSandbox::start(LightspeedSandboxConfig {
        port,
        ..LightspeedSandboxConfig::default()
    })
    .await
    .unwrap();
    let item_writes = scene.s.business_central.writes().len();
    let second = scene.run().await;
    assert_eq!(scene.picture_uploads(), 1, "{second:?}");
    assert_eq!(
        (second.created, second.updated, second.waiting),
        (1, 0, 0),
        "the item's first picture: {second:?}"
    );
    assert_eq!(
        scene.s.business_central.writes().len(),
        item_writes + 1,
        "the picture alone: the item is not written again"
    );
    // And nothing more once it is there.
    let third = scene.run().await;
    assert_eq!((third.created, third.updated, third.waiting), (0, 0, 0));
    assert_eq!(scene.picture_uploads(), 1);
    host.stop().await;
    scene.s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_picture_that_keeps_failing_is_a_warning_and_is_tried_again_with_the_next_change() {
    let port = refusing_port();
    let scene = Scene::new(port).await;
    let mut reports = Vec::new();
    for _ in 0..lsbc_connectors::products::PICTURE_ATTEMPTS {
        reports.push(scene.run().await);
    }
    let last = reports.last().unwrap();
    assert_eq!(
        (last.failed, last.waiting),
        (0, 0),
        "given up, not parked: {reports:?}"
    );
    let log = scene.picture_log().await;
    let (outcome, message) = log.last().unwrap();
    assert_eq!(*outcome, Outcome::Unchanged, "{log:?}");
    assert!(
        message.contains("not uploaded after 3 attempts")
            && message.contains("the item itself is in Business Central"),
        "{message}"
    );
    assert_eq!(scene.bc_item()["displayName"], "Heather Tee");
    assert_eq!(scene.picture_uploads(), 0);

    // The item changes in Lightspeed: its picture is tried again, attempts counted anew.
    scene
        .s
        .lightspeed
        .set_field(Entity::Item, scene.item, "description", "Heather Tee (new)")
        .unwrap();
    let changed = scene.run().await;
    assert_eq!(
        (changed.updated, changed.retried, changed.waiting),
        (1, 1, 1),
        "{changed:?}"
    );
    assert_eq!(scene.bc_item()["displayName"], "Heather Tee (new)");
    let log = scene.picture_log().await;
    let (outcome, message) = log.last().unwrap();
    assert_eq!(*outcome, Outcome::Retrying, "{log:?}");
    assert!(message.contains("attempt 1 of 3"), "{message}");

    // The host answers: the picture follows.
    let host = LightspeedSandbox::start(LightspeedSandboxConfig {
        port,
        ..LightspeedSandboxConfig::default()
    })
    .await
    .unwrap();
    let answered = scene.run().await;
    assert_eq!(
        (answered.created, answered.waiting),
        (1, 0),
        "the item's first picture: {answered:?}"
    );
    assert_eq!(scene.picture_uploads(), 1);
    host.stop().await;
    scene.s.stop().await;
}
