//! More products scenarios on the embedded home (the ones in `products_embedded.rs` and
//! `products_aws.rs` run on both homes): both simulators started in-process, the real
//! connectors built by `build_flow`, the stages driven by the local runner on SQLite. Images are served by a small HTTP server of the test (the Lightspeed simulator
//! names Cloudinary URLs and serves no bytes).

// Test code: failing loudly is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use lsbc_business_central::BusinessCentral;
use lsbc_cli::sandboxes::{SandboxOptions, Sandboxes};
use lsbc_connectors::{ConnectorContext, build_flow};
use lsbc_core::Flow;
use lsbc_core::memory::MemoryStore;
use lsbc_core::ports::{
    ActivityLog, FlowParts, LinkStore, MappingStore, Outcome, SecretStore, SettingsStore,
    SystemClock,
};
use lsbc_embedded::{Embedded, LocalRunner, QueueOptions, RunnerOptions};
use lsbc_sandbox::business_central::{
    BusinessCentralSandboxConfig, ClientIds, CodeTable, WriteRecord,
};
use lsbc_sandbox::lightspeed::{
    AttributeSet, CategorySeed, CustomFieldSeed, EcommerceSeed, Entity, ImageSeed, ItemSeed,
    LightspeedSandboxConfig, MatrixSeed, ShopSeed, StockSeed,
};
use lsbc_tests::products::{Catalogue, plain, seed, tee_matrix, variant};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

// ---- an image host -----------------------------------------------------------------------

/// Serves `GET /img/<name>` from a map, 404 otherwise; one request per connection.
struct ImageHost {
    base: String,
    files: Arc<Mutex<HashMap<String, Vec<u8>>>>,
}

impl ImageHost {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/img/", listener.local_addr().unwrap());
        let files: Arc<Mutex<HashMap<String, Vec<u8>>>> = Arc::default();
        let served = files.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let files = served.clone();
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buf[..n]),
                        }
                    }
                    let text = String::from_utf8_lossy(&request);
                    let path = text.split_whitespace().nth(1).unwrap_or("").to_owned();
                    let name = path.strip_prefix("/img/").unwrap_or("");
                    let body = files.lock().unwrap().get(name).cloned();
                    let head = match &body {
                        Some(b) => format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            b.len()
                        ),
                        None => {
                            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                                .to_owned()
                        }
                    };
                    let _ = socket.write_all(head.as_bytes()).await;
                    if let Some(b) = body {
                        let _ = socket.write_all(&b).await;
                    }
                    let _ = socket.shutdown().await;
                });
            }
        });
        Self { base, files }
    }

    fn put(&self, name: &str, bytes: Vec<u8>) {
        self.files.lock().unwrap().insert(name.to_owned(), bytes);
    }
}

/// A PNG header BC reads the size of (the simulator sniffs it like BC).
fn png(width: u32, height: u32) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
    b.extend([0, 0, 0, 13]);
    b.extend(b"IHDR");
    b.extend(width.to_be_bytes());
    b.extend(height.to_be_bytes());
    b.extend([8, 6, 0, 0, 0]);
    b
}

// ---- the home ------------------------------------------------------------------------------

/// Both simulators, the products flow on a fresh embedded home, an image host.
struct Home {
    s: Sandboxes,
    images: ImageHost,
    store: Embedded,
    /// The flow as built: both streams, `Item` then `ItemMatrix`.
    full: LocalRunner,
    /// The `Item` stream alone (to show what only the `ItemMatrix` stream sees).
    items_only: LocalRunner,
    /// Business Central as a person edits it.
    person: BusinessCentral,
    _dir: tempfile::TempDir,
}

struct Options {
    settings: Value,
    mapping: Option<Value>,
    /// Where Lightspeed's docs leave a choice.
    behaviour: lsbc_sandbox::lightspeed::Behaviour,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            settings: json!({}),
            mapping: None,
            behaviour: lsbc_sandbox::lightspeed::Behaviour::default(),
        }
    }
}

impl Catalogue for Home {
    fn sandboxes(&self) -> &Sandboxes {
        &self.s
    }

    fn activity_log(&self) -> &dyn ActivityLog {
        &self.store
    }

    fn link_store(&self) -> &dyn LinkStore {
        &self.store
    }
}

impl Home {
    async fn start(options: Options) -> Self {
        let s = Sandboxes::start_with(
            LightspeedSandboxConfig {
                // The leaky bucket's drip (real time) is left out for speed; the burst
                // limiter, always on at Lightspeed, stays on as in every suite.
                rate_limit: false,
                burst_limit: Some(lsbc_cli::sandboxes::LIGHTSPEED_BURST_LIMIT),
                behaviour: options.behaviour,
                ..LightspeedSandboxConfig::default()
            },
            BusinessCentralSandboxConfig {
                client_ids: ClientIds::all(SandboxOptions::default().business_central_ids),
                ..BusinessCentralSandboxConfig::default()
            },
        )
        .await
        .unwrap();
        let images = ImageHost::start().await;
        let dir = tempfile::tempdir().unwrap();
        let store = Embedded::open_with(
            &dir.path().join("state.sqlite"),
            Arc::new(SystemClock),
            QueueOptions {
                visibility: Duration::from_millis(200),
                ..QueueOptions::default()
            },
        )
        .unwrap();
        let at = Timestamp::now();
        store
            .save_settings(Flow::Products, options.settings, 0, "test", at)
            .await
            .unwrap();
        if let Some(mapping) = options.mapping {
            let mapper = lsbc_connectors::default_mapper().unwrap();
            mapper.check(Flow::Products, &mapping).unwrap();
            store
                .save_mapping(Flow::Products, mapping, 0, "test", at)
                .await
                .unwrap();
        }

        let person = BusinessCentral::new(s.business_central_secret().config().unwrap()).unwrap();
        let secrets: Arc<dyn SecretStore> = Arc::new(MemoryStore::new());
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
            clock: Arc::new(SystemClock),
            lightspeed_secret: "lightspeed".into(),
            business_central_secret: "business-central".into(),
        };
        let parts = build_flow(Flow::Products, &context).await.unwrap();
        assert_eq!(parts.source.stream(), "Item");
        assert_eq!(parts.more_sources.len(), 1);
        assert_eq!(parts.more_sources[0].stream(), "ItemMatrix");
        let item_parts = FlowParts {
            more_sources: Vec::new(),
            ..parts.clone()
        };
        let mut full = LocalRunner::new(store.clone(), RunnerOptions::default());
        full.add_flow(parts);
        let mut items_only = LocalRunner::new(store.clone(), RunnerOptions::default());
        items_only.add_flow(item_parts);
        Self {
            s,
            images,
            store,
            full,
            items_only,
            person,
            _dir: dir,
        }
    }

    /// Polls the `Item` stream and handles everything, until the queues are quiet.
    async fn sync_items(&self) {
        drain(&self.items_only).await;
    }

    /// Polls both streams and handles everything, until the queues are quiet.
    async fn sync(&self) {
        drain(&self.full).await;
    }

    /// Points an item's images at the image host.
    fn host_images_of(&self, item: u64) {
        for image in self.ls().records(Entity::Image) {
            if image["itemID"].as_str() == Some(item.to_string().as_str()) {
                let id: u64 = image["imageID"].as_str().unwrap().parse().unwrap();
                self.ls()
                    .set_field(Entity::Image, id, "baseImageURL", &self.images.base)
                    .unwrap();
            }
        }
    }
}

async fn drain(runner: &LocalRunner) {
    for _ in 0..100 {
        let report = runner.run_flow(Flow::Products).await.unwrap();
        if report.waiting == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("the embedded queues did not drain");
}

fn is_picture(w: &WriteRecord) -> bool {
    w.path.ends_with("picture/pictureContent")
}

// ---- scenarios -----------------------------------------------------------------------------

/// Simple, virtual and box items become BC items of the right type, with their category
/// created from the Lightspeed path; a bad EAN is not sent; an archived item is skipped.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simple_virtual_and_box_items_with_their_categories() {
    let h = Home::start(Options::default()).await;
    let apparel = h
        .ls()
        .add_category(&CategorySeed {
            name: "Apparel".into(),
            ..CategorySeed::default()
        })
        .unwrap();
    let shirts = h
        .ls()
        .add_category(&CategorySeed {
            name: "T-Shirts".into(),
            parent_id: Some(apparel),
            ..CategorySeed::default()
        })
        .unwrap();
    let tee = h
        .ls()
        .add_item(&ItemSeed {
            ean: "4006381333931".into(),
            category_id: Some(shirts),
            price_cents: 2500,
            cost_cents: 900,
            ..seed("tee-1", "Organic Tee")
        })
        .unwrap();
    let wrap = h
        .ls()
        .add_item(&ItemSeed {
            item_type: "non_inventory".into(),
            category_id: Some(shirts),
            ..seed("WRAP", "Gift wrapping")
        })
        .unwrap();
    let case = h
        .ls()
        .add_item(&ItemSeed {
            item_type: "box".into(),
            ean: "4006381333932".into(),
            ..seed("", "Case of 12")
        })
        .unwrap();
    let old = h
        .ls()
        .add_item(&ItemSeed {
            archived: true,
            ..seed("OLD", "Discontinued")
        })
        .unwrap();
    h.sync().await;

    let item = h.item("TEE-1");
    assert_eq!(item["displayName"], "Organic Tee");
    assert_eq!(plain(&item["type"]), "Inventory");
    assert_eq!(item["unitPrice"], 25.0);
    assert_eq!(item["unitCost"], 9.0);
    assert_eq!(item["gtin"], "4006381333931");
    assert_eq!(item["itemCategoryCode"], "APPAREL-T-SHIRTS");
    assert_eq!(item["blocked"], false);
    assert_eq!(
        item["id"],
        h.item_id(&format!("item:{tee}")).await.to_string()
    );

    let wrapping = h.item("WRAP");
    assert_eq!(plain(&wrapping["type"]), "Non-Inventory");
    assert_eq!(wrapping["itemCategoryCode"], "APPAREL-T-SHIRTS");

    let boxed = h.item(&format!("21{case:010}"));
    assert_eq!(
        plain(&boxed["type"]),
        "Inventory",
        "a box has its own stock"
    );
    assert_eq!(boxed["gtin"], "", "a wrong check digit is not sent");

    let categories: Vec<Value> = h
        .bc()
        .item_categories()
        .into_iter()
        .filter(|c| c["code"] == "APPAREL-T-SHIRTS")
        .collect();
    assert_eq!(categories.len(), 1, "created once for both items");
    assert_eq!(categories[0]["displayName"], "Apparel/T-Shirts");
    assert_eq!(h.bc().items().len(), 3, "the archived item is skipped");

    assert_eq!(h.outcomes(&format!("item:{tee}")).await, [Outcome::Created]);
    assert_eq!(
        h.outcomes(&format!("item:{wrap}")).await,
        [Outcome::Created]
    );
    let case_log = h.activity(&format!("item:{case}")).await;
    assert!(
        case_log[0].message.contains("GTIN `4006381333932`"),
        "{}",
        case_log[0].message
    );
    let old_log = h.activity(&format!("item:{old}")).await;
    assert_eq!(old_log[0].outcome, Outcome::Skipped);
    assert!(
        old_log[0].message.contains("archived"),
        "{}",
        old_log[0].message
    );
    let link = h.link(&format!("item:{tee}")).await.unwrap();
    assert_eq!(link.extra["category"]["code"], "APPAREL-T-SHIRTS");
    assert_eq!(link.match_key.unwrap().as_str(), "TEE-1");
}

/// A matrix becomes one BC item with a variant per variant item; a new variant adds one
/// variant and touches no other; a changed variant is updated in place (its code kept); an
/// archived variant is kept; a change made on the matrix alone is seen by the `ItemMatrix`
/// stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn matrices_and_their_variants_from_both_streams() {
    let h = Home::start(Options {
        mapping: Some(json!({"fields": {"variant.description": {"expr": ".description"}}})),
        ..Options::default()
    })
    .await;
    let tops = h
        .ls()
        .add_category(&CategorySeed {
            name: "Tops".into(),
            ..CategorySeed::default()
        })
        .unwrap();
    let m = h.ls().add_matrix(&tee_matrix(Some(tops))).unwrap();
    let small = h
        .ls()
        .add_item(&variant(m, "TEE-BS", ["Black", "Small"]))
        .unwrap();
    let medium = h
        .ls()
        .add_item(&variant(m, "TEE-BM", ["Black", "Medium"]))
        .unwrap();
    h.sync().await;

    let number = format!("MATRIX-{m}");
    let item = h.item(&number);
    assert_eq!(item["displayName"], "Tee");
    assert_eq!(item["unitPrice"], 20.0);
    assert_eq!(item["itemCategoryCode"], "TOPS");
    let variants = h.variants(&number);
    let codes: BTreeSet<String> = variants
        .iter()
        .map(|v| v["code"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes, BTreeSet::from(["BLK-M".into(), "BLK-S".into()]));
    let black_small = variants.iter().find(|v| v["code"] == "BLK-S").unwrap();
    assert_eq!(black_small["id"], h.variant_id(m, small).await);
    assert_eq!(black_small["description"], "Tee Black Small");
    let log = h.activity(&format!("matrix:{m}")).await;
    assert_eq!(log[0].outcome, Outcome::Created);
    assert!(
        log[0].source.is_some(),
        "a small matrix travels with its commands"
    );
    assert_eq!(
        h.outcomes(&format!("matrix:{m}:variants:1")).await[0],
        Outcome::Created
    );

    // A new variant: one POST, nothing else written.
    let before = h.bc().writes().len();
    let white = h
        .ls()
        .add_item(&variant(m, "TEE-WS", ["White", "Small"]))
        .unwrap();
    h.sync().await;
    let writes = h.writes_since(before);
    assert_eq!(writes.len(), 1, "{writes:#?}");
    assert_eq!(writes[0].method, "POST");
    assert!(
        writes[0].path.ends_with("/itemVariants"),
        "{}",
        writes[0].path
    );
    assert_eq!(h.variants(&number).len(), 3);
    let white_id = h.variant_id(m, white).await;
    let white_small = h
        .variants(&number)
        .into_iter()
        .find(|v| v["id"] == white_id)
        .unwrap();
    assert_eq!(white_small["code"], "WHT-S");

    // A changed variant: its description follows, its code stays.
    let before = h.bc().writes().len();
    h.change(
        Entity::Item,
        small,
        "description",
        "Tee Black Small (organic)",
    );
    h.sync().await;
    let writes = h.writes_since(before);
    assert_eq!(writes.len(), 1, "{writes:#?}");
    assert_eq!(writes[0].method, "PATCH");
    assert_eq!(
        writes[0].body,
        json!({"description": "Tee Black Small (organic)"})
    );
    let small_id = h.variant_id(m, small).await;
    let black_small = h
        .variants(&number)
        .into_iter()
        .find(|v| v["id"] == small_id)
        .unwrap();
    assert_eq!(black_small["code"], "BLK-S");
    assert_eq!(black_small["description"], "Tee Black Small (organic)");

    // An archived variant is kept as it is, with a warning.
    let before = h.bc().writes().len();
    h.change(Entity::Item, medium, "archived", "true");
    h.sync().await;
    assert_eq!(h.writes_since(before).len(), 0);
    assert_eq!(h.variants(&number).len(), 3);
    // Its command is the same as before (the variant is left as it is): the push is
    // `unchanged`, and says why.
    let log = h.all_activity(&format!("matrix:{m}:variants:1")).await;
    assert!(
        log[0]
            .message
            .contains(&format!("variant {medium} is archived")),
        "{:#?}",
        log.iter()
            .map(|e| (e.outcome, e.message.clone()))
            .collect::<Vec<_>>()
    );

    // A change of the matrix alone, once its variants are behind the `Item` cursor's
    // overlap window: not in the `Item` stream, seen by `ItemMatrix`.
    h.ls().clock().advance(Duration::from_mins(10));
    h.ls().add_item(&seed("LATER", "A later item")).unwrap();
    h.sync().await;
    h.change(Entity::ItemMatrix, m, "description", "Organic Tee");
    h.sync_items().await;
    assert_eq!(h.item(&number)["displayName"], "Tee");
    h.sync().await;
    assert_eq!(h.item(&number)["displayName"], "Organic Tee");
    assert_eq!(h.variants(&number).len(), 3);
    assert_eq!(h.bc().items().len(), 2);
}

/// The image is uploaded as the item picture once; it is sent again only when it changed
/// (a new identity with new bytes); a new identity with the same bytes is no upload.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn images_are_uploaded_when_they_change() {
    let h = Home::start(Options::default()).await;
    h.images.put("tee-v1.jpg", png(10, 20));
    let tee = h
        .ls()
        .add_item(&ItemSeed {
            images: vec![ImageSeed {
                public_id: "tee-v1".into(),
                filename: "tee.png".into(),
                ..ImageSeed::default()
            }],
            ..seed("IMG-1", "Tee with a picture")
        })
        .unwrap();
    h.host_images_of(tee);
    h.sync().await;
    let id = h.item_id(&format!("item:{tee}")).await;
    let picture = h.person.item_picture(id).await.unwrap();
    assert_eq!((picture.width, picture.height), (10, 20));
    assert_eq!(picture.content_type, "image/png");
    let uploads = || h.bc().writes().iter().filter(|w| is_picture(w)).count();
    assert_eq!(uploads(), 1);
    let image = h.image_of(tee);
    // The picture is a step of its own, with its own link.
    let link = h.link(&format!("item:{tee}:picture")).await.unwrap();
    assert_eq!(link.extra["image"]["identity"], format!("{image}:tee-v1"));

    // Another field changes: the item is updated, the picture is not sent again.
    h.change(Entity::Item, tee, "defaultCost", "8");
    h.sync().await;
    assert_eq!(h.item("IMG-1")["unitCost"], 8.0);
    assert_eq!(uploads(), 1);

    // A new image: uploaded.
    h.images.put("tee-v2.jpg", png(30, 40));
    h.change(Entity::Image, image, "publicID", "tee-v2");
    h.change(Entity::Item, tee, "modelYear", "2026");
    h.sync().await;
    let picture = h.person.item_picture(id).await.unwrap();
    assert_eq!((picture.width, picture.height), (30, 40));
    assert_eq!(uploads(), 2);

    // The same bytes under another name: remembered, not uploaded.
    h.images.put("tee-v3.jpg", png(30, 40));
    h.change(Entity::Image, image, "publicID", "tee-v3");
    h.change(Entity::Item, tee, "modelYear", "2027");
    h.sync().await;
    assert_eq!(uploads(), 2);
    let link = h.link(&format!("item:{tee}:picture")).await.unwrap();
    assert_eq!(link.extra["image"]["identity"], format!("{image}:tee-v3"));

    // An image the host doesn't have: a warning, the picture is left as it is.
    h.change(Entity::Image, image, "publicID", "missing");
    h.change(Entity::Item, tee, "modelYear", "2028");
    h.sync().await;
    assert_eq!(uploads(), 2);
    let log = h.all_activity(&format!("item:{tee}:picture")).await;
    assert_eq!(log[0].outcome, Outcome::Unchanged, "{}", log[0].message);
    assert!(
        log[0]
            .target
            .as_ref()
            .unwrap()
            .to_string()
            .contains("HTTP 404"),
        "{:?}",
        log[0].target
    );
}

/// With `images = on_create`, the picture is sent when the item is created, never after.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn image_sync_can_be_switched_off_on_update() {
    let h = Home::start(Options {
        settings: json!({"images": "on_create"}),
        ..Options::default()
    })
    .await;
    h.images.put("a.jpg", png(10, 10));
    h.images.put("b.jpg", png(50, 50));
    let tee = h
        .ls()
        .add_item(&ItemSeed {
            images: vec![ImageSeed {
                public_id: "a".into(),
                ..ImageSeed::default()
            }],
            ..seed("IMG-2", "Tee")
        })
        .unwrap();
    h.host_images_of(tee);
    h.sync().await;
    let id = h.item_id(&format!("item:{tee}")).await;
    let picture = h.person.item_picture(id).await.unwrap();
    assert_eq!(picture.width, 10);
    h.change(Entity::Image, h.image_of(tee), "publicID", "b");
    h.change(Entity::Item, tee, "description", "Tee v2");
    h.sync().await;
    assert_eq!(h.item("IMG-2")["displayName"], "Tee v2");
    let picture = h.person.item_picture(id).await.unwrap();
    assert_eq!(picture.width, 10, "not sent on update");
}

/// Updates never unblock an item a person blocked; with `archived = block`, an archived
/// item is blocked, and unblocked again when it is restored (the sync had blocked it).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn blocks_by_people_stay_and_archives_block() {
    let h = Home::start(Options {
        settings: json!({"archived": "block"}),
        ..Options::default()
    })
    .await;
    let kept = h
        .ls()
        .add_item(&seed("BLK-1", "Blocked by a person"))
        .unwrap();
    let archived = h.ls().add_item(&seed("ARC-1", "Archived later")).unwrap();
    h.sync().await;
    assert_eq!(h.item("BLK-1")["blocked"], false);
    assert_eq!(h.item("ARC-1")["blocked"], false);

    h.edit_item("BLK-1", json!({"blocked": true})).await;
    h.change(Entity::Item, kept, "description", "Still blocked");
    h.change(Entity::Item, archived, "archived", "true");
    h.sync().await;
    let item = h.item("BLK-1");
    assert_eq!(item["displayName"], "Still blocked");
    assert_eq!(item["blocked"], true, "a person's block stays");
    assert_eq!(h.item("ARC-1")["blocked"], true, "archived: blocked");

    h.change(Entity::Item, archived, "archived", "false");
    h.sync().await;
    assert_eq!(h.item("ARC-1")["blocked"], false, "restored: unblocked");
}

/// On the first run, items, categories and variants already in BC are matched by SKU and
/// code, updated (create-only fields left out) and never duplicated.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_first_run_matches_what_business_central_has() {
    let h = Home::start(Options::default()).await;
    let shoes = h
        .ls()
        .add_category(&CategorySeed {
            name: "Shoes".into(),
            ..CategorySeed::default()
        })
        .unwrap();
    let boot = h
        .ls()
        .add_item(&ItemSeed {
            category_id: Some(shoes),
            item_type: "non_inventory".into(),
            ..seed("old-1", "Walking boot")
        })
        .unwrap();
    let m = h.ls().add_matrix(&tee_matrix(None)).unwrap();
    h.ls()
        .add_item(&variant(m, "TEE-BS", ["Black", "Small"]))
        .unwrap();
    h.ls()
        .add_item(&variant(m, "TEE-BM", ["Black", "Medium"]))
        .unwrap();
    let existing = h
        .bc()
        .add_item(json!({"number": "OLD-1", "displayName": "Boot (old name)", "type": "Inventory"}))
        .unwrap();
    let category = h
        .bc()
        .add_item_category(json!({"code": "SHOES", "displayName": "Shoes"}))
        .unwrap();
    let matrix_item = h
        .bc()
        .add_item(json!({"number": format!("MATRIX-{m}"), "displayName": "Tee (made by hand)"}))
        .unwrap();
    let manual = h
        .bc()
        .add_item_variant(
            json!({"itemNumber": format!("MATRIX-{m}"), "code": "BLK-S", "description": "by hand"}),
        )
        .unwrap();
    let before = h.bc().writes().len();
    h.sync().await;

    assert_eq!(h.bc().items().len(), 2, "{:#?}", h.bc().items());
    let item = h.item("OLD-1");
    assert_eq!(item["id"], existing["id"]);
    assert_eq!(item["displayName"], "Walking boot");
    assert_eq!(plain(&item["type"]), "Inventory", "the type is create-only");
    assert_eq!(item["itemCategoryCode"], "SHOES");
    assert_eq!(
        h.bc().item_categories().len(),
        1,
        "{:#?}",
        h.bc().item_categories()
    );
    let link = h.link(&format!("item:{boot}")).await.unwrap();
    assert_eq!(link.target_id, existing["id"].as_str().unwrap());
    assert_eq!(link.extra["category"]["code"], "SHOES");
    assert_eq!(h.bc().item_categories()[0]["id"], category["id"]);

    let number = format!("MATRIX-{m}");
    assert_eq!(h.item(&number)["id"], matrix_item["id"]);
    let variants = h.variants(&number);
    assert_eq!(variants.len(), 2, "{variants:#?}");
    let adopted = variants.iter().find(|v| v["code"] == "BLK-S").unwrap();
    assert_eq!(
        adopted["id"], manual["id"],
        "matched by its code, not duplicated"
    );
    assert_eq!(adopted["description"], "Black / Small");
    for w in h.writes_since(before) {
        assert!(
            w.body.get("type").is_none(),
            "create-only fields are not sent to a matched item: {w:#?}"
        );
    }
    assert_eq!(
        h.outcomes(&format!("item:{boot}")).await,
        [Outcome::Updated]
    );
}

/// Two Lightspeed items with one SKU: the first one linked keeps the BC item; the other is
/// skipped with a warning naming both — also when they arrive together.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_sku_shared_by_two_lightspeed_items() {
    let h = Home::start(Options::default()).await;
    let first = h.ls().add_item(&seed("DUP-1", "First")).unwrap();
    h.sync().await;
    let second = h.ls().add_item(&seed("dup-1", "Second")).unwrap();
    h.sync().await;
    assert_eq!(h.item("DUP-1")["displayName"], "First");
    let log = h.activity(&format!("item:{second}")).await;
    assert_eq!(log[0].outcome, Outcome::Skipped);
    assert!(
        log[0].message.contains("DUP-1") && log[0].message.contains(&format!("item {first}")),
        "{}",
        log[0].message
    );
    h.change(Entity::Item, first, "description", "First, renamed");
    h.sync().await;
    assert_eq!(h.item("DUP-1")["displayName"], "First, renamed");

    // Arriving together: one wins, whichever is pushed first.
    let a = h.ls().add_item(&seed("TWIN", "A")).unwrap();
    let b = h.ls().add_item(&seed("TWIN", "B")).unwrap();
    h.sync().await;
    let twin = h.item("TWIN");
    let (winner, loser) = if twin["displayName"] == "A" {
        (a, b)
    } else {
        (b, a)
    };
    assert_eq!(
        h.outcomes(&format!("item:{winner}")).await,
        [Outcome::Created]
    );
    let log = h.activity(&format!("item:{loser}")).await;
    assert_eq!(log[0].outcome, Outcome::Skipped);
    assert!(
        log[0].message.contains(&format!("item {winner}")),
        "{}",
        log[0].message
    );
}

/// A SKU changed in Lightspeed renumbers the linked BC item, which keeps its id, variants
/// and history; a SKU that is already another BC item fails the record naming both, and
/// holds up nothing else. With `item.number` create-only, BC's numbers stay as created.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_changed_sku_renumbers_the_linked_item() {
    let h = Home::start(Options::default()).await;
    let desk = h.ls().add_item(&seed("REN-1", "Desk")).unwrap();
    let lamp = h.ls().add_item(&seed("LAMP-1", "Lamp")).unwrap();
    h.sync().await;
    let id = h.item("REN-1")["id"].clone();
    h.edit_item("REN-1", json!({"inventory": 4})).await;

    h.change(Entity::Item, desk, "customSku", "ren-2");
    h.sync().await;
    let item = h.item("REN-2");
    assert_eq!(item["id"], id, "renumbered, not created");
    assert_eq!(item["inventory"], json!(4.0), "its ledger followed");
    assert_eq!(h.bc().items().len(), 2, "{:#?}", h.bc().items());
    let key = format!("item:{desk}");
    assert_eq!(h.outcomes(&key).await[0], Outcome::Updated);
    assert_eq!(h.link(&key).await.unwrap().extra["number"], "REN-2");

    // Onto the number of another BC item: the record fails; the lamp goes on.
    h.change(Entity::Item, desk, "customSku", "LAMP-1");
    h.change(Entity::Item, lamp, "description", "Lamp, brass");
    h.sync().await;
    assert_eq!(h.item("REN-2")["id"], id);
    assert_eq!(h.item("LAMP-1")["displayName"], "Lamp, brass");
    let log = h.activity(&key).await;
    assert_eq!(log[0].outcome, Outcome::Failed);
    for part in ["item.number", "REN-2", "LAMP-1", &format!("item {lamp}")] {
        assert!(log[0].message.contains(part), "{part}: {}", log[0].message);
    }

    // create-only: the BC number stays, the other fields follow.
    let h = Home::start(Options {
        mapping: Some(json!({"fields": {"item.number": {"policy": "create_only"}}})),
        ..Options::default()
    })
    .await;
    let chair = h.ls().add_item(&seed("CH-1", "Chair")).unwrap();
    h.sync().await;
    h.change(Entity::Item, chair, "customSku", "CH-2");
    h.change(Entity::Item, chair, "description", "Chair, oak");
    h.sync().await;
    assert_eq!(h.item("CH-1")["displayName"], "Chair, oak");
    assert_eq!(h.bc().items().len(), 1);
}

/// The web store's short description (`ItemECommerce`, HTML) becomes `displayName2` on
/// create, as plain text; a person's enrichment in BC survives later changes of it in
/// Lightspeed (create-only by default), while the name still follows.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_web_store_text_arrives_once_and_enrichment_stays() {
    let h = Home::start(Options::default()).await;
    let lamp = h
        .ls()
        .add_item(&ItemSeed {
            ecommerce: Some(EcommerceSeed {
                short_description: "<p>Brass <em>desk</em> lamp &amp; shade</p>".into(),
                long_description: "<p>Long text</p>".into(),
                weight: "1.2".into(),
                list_on_store: true,
            }),
            ..seed("WEB-1", "Lamp")
        })
        .unwrap();
    let m = h
        .ls()
        .add_matrix(&MatrixSeed {
            ecommerce: Some(EcommerceSeed {
                short_description: "<p>Our <strong>Tee</strong>, in every size</p>".into(),
                ..EcommerceSeed::default()
            }),
            ..tee_matrix(None)
        })
        .unwrap();
    h.ls()
        .add_item(&variant(m, "TEE-BS", ["Black", "Small"]))
        .unwrap();
    h.sync().await;
    assert_eq!(h.item("WEB-1")["displayName2"], "Brass desk lamp & shade");
    assert_eq!(
        h.item(&format!("MATRIX-{m}"))["displayName2"],
        "Our Tee, in every size"
    );

    h.edit_item("WEB-1", json!({"displayName2": "Enriched in BC"}))
        .await;
    let before = h.bc().writes().len();
    h.change(
        Entity::Item,
        lamp,
        "ItemECommerce.shortDescription",
        "<p>New</p>",
    );
    h.change(Entity::Item, lamp, "description", "Lamp, brass");
    h.sync().await;
    let item = h.item("WEB-1");
    assert_eq!(item["displayName"], "Lamp, brass");
    assert_eq!(item["displayName2"], "Enriched in BC");
    let writes = h.writes_since(before);
    assert_eq!(writes.len(), 1, "{writes:#?}");
    assert_eq!(writes[0].body, json!({"displayName": "Lamp, brass"}));
}

/// Nothing new, the same content read again, or content BC already has: no write at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unchanged_content_costs_no_business_central_write() {
    let h = Home::start(Options::default()).await;
    let shop = h.ls().add_shop(&ShopSeed {
        name: "Gent".into(),
        ..ShopSeed::default()
    });
    let tee = h.ls().add_item(&seed("SAME-1", "Tee")).unwrap();
    let m = h.ls().add_matrix(&tee_matrix(None)).unwrap();
    h.ls()
        .add_item(&variant(m, "TEE-BS", ["Black", "Small"]))
        .unwrap();
    h.sync().await;
    let requests = h.bc().api_requests();
    let writes = h.bc().writes().len();

    h.sync().await;
    assert_eq!(h.bc().api_requests(), requests, "nothing new: no request");

    // Read again with a new timeStamp, same content (and stock, which the flow ignores).
    h.change(Entity::Item, tee, "modelYear", "0");
    h.change(Entity::ItemMatrix, m, "modelYear", "0");
    h.ls().set_stock(tee, shop, 5).unwrap();
    h.sync().await;
    assert_eq!(h.bc().api_requests(), requests, "same content: no request");

    // BC already has the new value (a person typed it): read, nothing written.
    h.edit_item("SAME-1", json!({"unitCost": 9.5})).await;
    let writes_after_edit = h.bc().writes().len();
    assert_eq!(writes_after_edit, writes + 1);
    h.change(Entity::Item, tee, "defaultCost", "9.5");
    h.sync().await;
    assert_eq!(
        h.bc().writes().len(),
        writes_after_edit,
        "{:#?}",
        h.writes_since(writes)
    );
    assert_eq!(
        h.all_activity(&format!("item:{tee}")).await[0].outcome,
        Outcome::Unchanged
    );
}

/// A matrix too large for a queue message travels as a reference (re-read by the transform
/// stage) and its variants in several commands, pushed after the item, all created once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_large_matrix_travels_by_reference_and_in_parts() {
    let h = Home::start(Options::default()).await;
    let m = h
        .ls()
        .add_matrix(&MatrixSeed {
            description: "Sock".into(),
            attribute_set: AttributeSet::ColorSize,
            price_cents: 500,
            ..MatrixSeed::default()
        })
        .unwrap();
    let note = "x".repeat(1200);
    for n in 0..230u64 {
        h.ls()
            .add_item(&ItemSeed {
                custom_fields: vec![CustomFieldSeed {
                    name: "Care".into(),
                    kind: "string".into(),
                    value: note.clone(),
                }],
                ..variant(
                    m,
                    &format!("SOCK-{n}"),
                    [&format!("C{}", n % 10), &format!("S{}", n / 10)],
                )
            })
            .unwrap();
    }
    let payload = h.ls().record(Entity::ItemMatrix, m).unwrap();
    let one_variant = h
        .ls()
        .records(Entity::Item)
        .into_iter()
        .next()
        .unwrap()
        .to_string()
        .len();
    assert!(
        payload.to_string().len() + 230 * one_variant > 256 * 1024,
        "the aggregate is over the queue limit"
    );
    h.sync().await;

    let number = format!("MATRIX-{m}");
    let variants = h.variants(&number);
    assert_eq!(variants.len(), 230);
    let codes: BTreeSet<&str> = variants
        .iter()
        .map(|v| v["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes.len(), 230);
    assert!(
        codes.contains("C0-S0") && codes.contains("C9-S22"),
        "{codes:?}"
    );
    for part in 1..=3 {
        let key = format!("matrix:{m}:variants:{part}");
        assert_eq!(h.outcomes(&key).await, [Outcome::Created], "{key}");
    }
    assert!(h.link(&format!("matrix:{m}:variants:4")).await.is_none());
    // Too large to travel with its commands: the activity log has no source for them.
    let log = h.activity(&format!("matrix:{m}")).await;
    assert_eq!(log[0].outcome, Outcome::Created);
    assert!(log[0].source.is_none(), "re-read by key, too large to keep");
    assert_eq!(h.bc().items().len(), 1);
}

/// Filters of the settings: only items stocked in a chosen shop (read with their stock
/// when the filter is set); with `categories = existing`, a category missing in BC is a
/// warning and the item is synced without it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn filters_and_existing_categories_only() {
    let h = Home::start(Options::default()).await;
    let shop = h.ls().add_shop(&ShopSeed {
        name: "Gent".into(),
        time_zone: "Europe/Brussels".into(),
        ..ShopSeed::default()
    });
    let other = h.ls().add_shop(&ShopSeed {
        name: "Brugge".into(),
        time_zone: "Europe/Brussels".into(),
        ..ShopSeed::default()
    });
    // Settings saved before the flow was built are read on its first use; these are
    // saved as a new version before anything ran.
    h.store
        .save_settings(
            Flow::Products,
            json!({"only_shops": [shop], "categories": "existing"}),
            1,
            "test",
            Timestamp::now(),
        )
        .await
        .unwrap();
    let shoes = h
        .ls()
        .add_category(&CategorySeed {
            name: "Shoes".into(),
            ..CategorySeed::default()
        })
        .unwrap();
    let hats = h
        .ls()
        .add_category(&CategorySeed {
            name: "Hats".into(),
            ..CategorySeed::default()
        })
        .unwrap();
    h.bc()
        .add_item_category(json!({"code": "SHOES", "displayName": "Shoes"}))
        .unwrap();
    let boot = h
        .ls()
        .add_item(&ItemSeed {
            category_id: Some(shoes),
            stock: vec![StockSeed {
                shop_id: shop,
                qoh: 4,
            }],
            ..seed("BOOT", "Boot")
        })
        .unwrap();
    let hat = h
        .ls()
        .add_item(&ItemSeed {
            category_id: Some(hats),
            stock: vec![StockSeed {
                shop_id: shop,
                qoh: 1,
            }],
            ..seed("HAT", "Hat")
        })
        .unwrap();
    let elsewhere = h
        .ls()
        .add_item(&ItemSeed {
            stock: vec![StockSeed {
                shop_id: other,
                qoh: 9,
            }],
            ..seed("SCARF", "Scarf")
        })
        .unwrap();
    h.sync().await;

    assert_eq!(h.item("BOOT")["itemCategoryCode"], "SHOES");
    assert_eq!(h.item("HAT")["itemCategoryCode"], "", "no category created");
    assert_eq!(h.bc().item_categories().len(), 1);
    let log = h.activity(&format!("item:{hat}")).await;
    assert!(
        log[0]
            .target
            .as_ref()
            .unwrap()
            .to_string()
            .contains("setting categories = existing"),
        "{:?}",
        log[0].target
    );
    let log = h.activity(&format!("item:{elsewhere}")).await;
    assert_eq!(log[0].outcome, Outcome::Skipped);
    assert!(log[0].message.contains("only_shops"), "{}", log[0].message);
    assert_eq!(h.bc().items().len(), 2);
    assert_eq!(
        h.outcomes(&format!("item:{boot}")).await,
        [Outcome::Created]
    );
}

/// An item series without Manual Nos. refuses the SKU as item number (BC's
/// `NoSeries.TestManual`, FIDELITY #6): the record fails at once, naming `item.number`, the
/// SKU and the fix. With `item_numbers = business_central`, BC numbers the item, the SKU is
/// kept in Description 2 and found there again: a SKU change updates it, no duplicate.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_item_series_without_manual_numbers_is_named_and_business_central_numbering_works() {
    let refused = Home::start(Options::default()).await;
    refused.bc().set_manual_nos("ITEM", false);
    let tee = refused
        .ls()
        .add_item(&seed("tee-1", "Organic Tee"))
        .unwrap();
    refused.sync_items().await;
    assert!(refused.bc().items().is_empty(), "nothing created");
    let key = format!("item:{tee}");
    let log = refused.activity(&key).await;
    assert_eq!(log[0].outcome, Outcome::Failed, "{log:?}");
    assert_eq!(log.len(), 1, "failed at once, not retried: {log:?}");
    let message = &log[0].message;
    for part in [
        "item.number",
        "TEE-1",
        "series ITEM does not take manual numbers",
        "item_numbers = business_central",
        "Manual Nos.",
    ] {
        assert!(message.contains(part), "{part} in {message}");
    }

    let numbered = Home::start(Options {
        settings: json!({"item_numbers": "business_central"}),
        ..Options::default()
    })
    .await;
    numbered.bc().set_manual_nos("ITEM", false);
    let tee = numbered
        .ls()
        .add_item(&ItemSeed {
            price_cents: 2500,
            ..seed("tee-1", "Organic Tee")
        })
        .unwrap();
    numbered.sync_items().await;
    let items = numbered.bc().items();
    assert_eq!(items.len(), 1, "{items:?}");
    let item = &items[0];
    assert_ne!(item["number"], "TEE-1", "numbered by Business Central");
    assert!(!item["number"].as_str().unwrap().is_empty());
    assert_eq!(
        item["displayName2"], "TEE-1",
        "the SKU kept in Description 2"
    );
    assert_eq!(item["unitPrice"], 25.0);
    let key = format!("item:{tee}");
    assert_eq!(numbered.outcomes(&key).await, vec![Outcome::Created]);

    // A SKU change follows into Description 2; the item keeps its number.
    numbered.change(Entity::Item, tee, "customSku", "tee-2");
    numbered.sync_items().await;
    let items = numbered.bc().items();
    assert_eq!(items.len(), 1, "no duplicate: {items:?}");
    assert_eq!(items[0]["number"], item["number"]);
    assert_eq!(items[0]["displayName2"], "TEE-2");

    // First run: an item already in Business Central with the SKU in Description 2 is
    // matched, never duplicated.
    let existing = numbered
        .bc()
        .add_item(json!({"displayName": "Gift wrap", "displayName2": "WRAP"}))
        .unwrap();
    numbered
        .ls()
        .add_item(&seed("wrap", "Gift wrapping"))
        .unwrap();
    numbered.sync_items().await;
    let items = numbered.bc().items();
    assert_eq!(items.len(), 2, "no duplicate: {items:?}");
    let wrap = items.iter().find(|i| i["displayName2"] == "WRAP").unwrap();
    assert_eq!(wrap["id"], existing["id"]);
    assert_eq!(wrap["number"], existing["number"]);
}

/// A code the tenant does not have (a settings typo) is refused by BC's table relation
/// (`Internal_InvalidTableRelation`, FIDELITY #5): the record fails with BC's message; once
/// the code exists in Business Central, the next item goes through.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unknown_unit_of_measure_fails_with_business_centrals_message() {
    let h = Home::start(Options {
        settings: json!({"base_unit_of_measure_code": "EACH"}),
        ..Options::default()
    })
    .await;
    let tee = h.ls().add_item(&seed("tee-1", "Organic Tee")).unwrap();
    h.sync_items().await;
    assert!(h.bc().items().is_empty(), "nothing created");
    let log = h.activity(&format!("item:{tee}")).await;
    assert_eq!(log[0].outcome, Outcome::Failed, "{log:?}");
    let message = &log[0].message;
    assert!(
        message.contains("InvalidTableRelation")
            && message
                .contains("(EACH) that cannot be found in the related table (Unit of Measure)"),
        "{message}"
    );

    h.bc().add_code(CodeTable::UnitOfMeasure, "EACH");
    h.ls().add_item(&seed("tee-2", "Organic Tee 2")).unwrap();
    h.sync_items().await;
    assert_eq!(h.item("TEE-2")["baseUnitOfMeasureCode"], "EACH");
}

/// Whether a stock move (a sale, a void) moves `Item.timeStamp` is not documented (a
/// simulator setting): either way the products flow writes nothing to Business Central for
/// it — when it does move, the item is read again and found unchanged.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sale_moving_stock_writes_no_item_whether_or_not_it_moves_the_time_stamp() {
    for moves in [false, true] {
        let h = Home::start(Options {
            behaviour: lsbc_sandbox::lightspeed::Behaviour {
                stock_moves_item_timestamp: moves,
                ..lsbc_sandbox::lightspeed::Behaviour::default()
            },
            ..Options::default()
        })
        .await;
        let shop = h.ls().add_shop(&ShopSeed {
            name: "Gent".into(),
            ..ShopSeed::default()
        });
        let mut item = seed("STOCK-1", "Mug");
        item.stock = vec![lsbc_sandbox::lightspeed::StockSeed {
            shop_id: shop,
            qoh: 10,
        }];
        let mug = h.ls().add_item(&item).unwrap();
        let cash = h
            .ls()
            .add_payment_type(&lsbc_sandbox::lightspeed::PaymentTypeSeed {
                name: "Cash".into(),
                kind: "cash".into(),
                ..Default::default()
            });
        h.sync().await;
        let before = h.ls().record(Entity::Item, mug).unwrap()["timeStamp"].clone();
        let writes = h.bc().writes().len();
        // A later second (Lightspeed's stamps are whole seconds).
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;

        let sale = h
            .ls()
            .add_sale(&lsbc_sandbox::lightspeed::SaleSeed {
                shop_id: shop,
                lines: vec![lsbc_sandbox::lightspeed::SaleLineSeed {
                    item_id: Some(mug),
                    quantity: 2,
                    unit_price_cents: 1000,
                    ..Default::default()
                }],
                ..Default::default()
            })
            .unwrap();
        h.ls()
            .complete_sale(
                sale,
                &[lsbc_sandbox::lightspeed::SalePaymentSeed {
                    payment_type_id: cash,
                    amount_cents: 2000,
                    ..Default::default()
                }],
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(h.ls().stock(mug, shop), Some(8));
        let after = h.ls().record(Entity::Item, mug).unwrap()["timeStamp"].clone();
        assert_eq!(before != after, moves, "the setting decides");
        // Past the poll's signpost (a second back).
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        h.sync().await;
        assert_eq!(
            h.bc().writes().len(),
            writes,
            "moves={moves}: nothing written"
        );
        let pushes = h.all_activity(&format!("item:{mug}")).await.len();
        assert_eq!(
            pushes,
            if moves { 2 } else { 1 },
            "moves={moves}: read again and found unchanged only when the stamp moved"
        );
    }
}

/// A page of items reads its matrices and all their variants in two requests, whatever
/// their number (one `IN` query each), and a page of matrices their variants in one: the
/// Lightspeed requests of a sync do not grow with the number of matrices.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn matrices_cost_the_same_requests_however_many() {
    let mut counts = Vec::new();
    for matrices in [1, 6] {
        let h = Home::start(Options::default()).await;
        for m in 0..matrices {
            let id = h.ls().add_matrix(&tee_matrix(None)).unwrap();
            for (n, attrs) in [["Black", "Small"], ["White", "Medium"]].iter().enumerate() {
                h.ls()
                    .add_item(&variant(id, &format!("TEE-{m}-{n}"), *attrs))
                    .unwrap();
            }
        }
        h.ls().add_item(&seed("MUG-1", "Mug")).unwrap();
        let before = h.ls().stats().requests.requests;
        h.sync().await;
        counts.push(h.ls().stats().requests.requests - before);
        assert_eq!(h.bc().items().len(), matrices + 1);
        assert_eq!(h.bc().item_variants().len(), matrices * 2);
    }
    assert_eq!(
        counts[0], counts[1],
        "requests for 1 and 6 matrices: {counts:?}"
    );
}
