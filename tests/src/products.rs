//! End-to-end scenarios of the products flow, run unchanged on the embedded home and on
//! the AWS home (`tests/tests/products_*.rs`): both simulators, the real connectors, the
//! real stages. Images come from the Lightspeed simulator's image route; a person's edits
//! in Business Central go through its API with the sync's own credentials.

use std::collections::BTreeSet;
use std::time::Duration;

use lsbc_business_central::enums::unescape;
use lsbc_business_central::{BusinessCentral, EntitySet, Query};
use lsbc_cli::sandboxes::{SandboxOptions, Sandboxes};
use lsbc_connectors::ids::IdScope;
use lsbc_connectors::products::{item_system_id, variant_system_id};
use lsbc_core::ports::{ActivityEntry, ActivityLog, ActivityQuery, Link, LinkStore, Outcome};
use lsbc_core::{Flow, RecordKey};
use lsbc_sandbox::business_central::{BusinessCentralSandbox, ClientIdAnswer, WriteRecord};
use lsbc_sandbox::lightspeed::{
    AttributeSet, CategorySeed, CustomFieldSeed, Entity, ImageSeed, ItemSeed, LightspeedSandbox,
    MatrixSeed,
};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::customers::HomeKind;
use crate::pipeline::{self, Home, LosesTheFirstAnswer, Setup};

/// What a products scenario looks at and touches: the simulators and the home's activity
/// log and links. Shared by the scenarios here and those of `products_scenarios.rs`.
#[allow(async_fn_in_trait)] // test helpers, awaited in place
pub trait Catalogue {
    /// Both simulators.
    fn sandboxes(&self) -> &Sandboxes;
    /// The home's activity log.
    fn activity_log(&self) -> &dyn ActivityLog;
    /// The home's links.
    fn link_store(&self) -> &dyn LinkStore;

    /// The Lightspeed simulator.
    fn ls(&self) -> &LightspeedSandbox {
        &self.sandboxes().lightspeed
    }

    /// The Business Central simulator.
    fn bc(&self) -> &BusinessCentralSandbox {
        &self.sandboxes().business_central
    }

    /// The one BC item numbered `number`.
    fn item(&self, number: &str) -> Value {
        let items = self.bc().items();
        let found: Vec<&Value> = items.iter().filter(|i| i["number"] == number).collect();
        assert_eq!(found.len(), 1, "one BC item {number}: {items:#?}");
        found[0].clone()
    }

    /// The BC variants of item `number`.
    fn variants(&self, number: &str) -> Vec<Value> {
        self.bc()
            .item_variants()
            .into_iter()
            .filter(|v| v["itemNumber"] == number)
            .collect()
    }

    /// BC writes after the first `before`.
    fn writes_since(&self, before: usize) -> Vec<WriteRecord> {
        self.bc().writes().into_iter().skip(before).collect()
    }

    /// Changes a Lightspeed record as the back office would, a little later than the last
    /// change (Lightspeed's `timeStamp` has whole seconds).
    fn change(&self, entity: Entity, id: u64, field: &str, value: &str) {
        self.ls().clock().advance(Duration::from_secs(2));
        self.ls().set_field(entity, id, field, value).unwrap();
    }

    /// The id of the item's (first) image.
    fn image_of(&self, item: u64) -> u64 {
        self.ls()
            .records(Entity::Image)
            .into_iter()
            .find(|i| i["itemID"].as_str() == Some(item.to_string().as_str()))
            .map(|i| i["imageID"].as_str().unwrap().parse().unwrap())
            .unwrap()
    }

    /// A person changes fields of a BC item through the API.
    async fn edit_item(&self, number: &str, fields: Value) {
        let person =
            BusinessCentral::new(self.sandboxes().business_central_secret().config().unwrap())
                .unwrap();
        let id = self.item(number)["id"].as_str().unwrap().parse().unwrap();
        let current = person
            .get(EntitySet::Items, id, &Query::new())
            .await
            .unwrap();
        person
            .update(
                EntitySet::Items,
                id,
                current.etag().unwrap(),
                fields.as_object().unwrap().clone(),
            )
            .await
            .unwrap();
    }

    /// Every activity entry of the record, newest first.
    async fn all_activity(&self, key: &str) -> Vec<ActivityEntry> {
        self.activity_log()
            .query(&ActivityQuery {
                flow: Some(Flow::Products),
                key: Some(RecordKey::parse(key).unwrap()),
                ..ActivityQuery::default()
            })
            .await
            .unwrap()
    }

    /// The record's activity, newest first, without the `unchanged` entries (a record read
    /// by both streams is pushed twice; the second push writes nothing) and without the
    /// waits for a claim (with several workers, the second push may arrive while the first
    /// still holds the record: it comes back and finds it unchanged).
    async fn activity(&self, key: &str) -> Vec<ActivityEntry> {
        self.all_activity(key)
            .await
            .into_iter()
            .filter(|e| e.outcome != Outcome::Unchanged)
            .filter(|e| {
                !(e.outcome == Outcome::Retrying && e.message.contains("held by another worker"))
            })
            .collect()
    }

    /// The outcomes of [`activity`](Self::activity).
    async fn outcomes(&self, key: &str) -> Vec<Outcome> {
        self.activity(key).await.iter().map(|e| e.outcome).collect()
    }

    /// The record's link.
    async fn link(&self, key: &str) -> Option<Link> {
        self.link_store()
            .get(Flow::Products, &RecordKey::parse(key).unwrap())
            .await
            .unwrap()
    }

    /// Whether the record is linked.
    async fn linked(&self, key: &str) -> bool {
        self.link(key).await.is_some()
    }

    /// How the ids of a deployment that starts on these simulators carry the account.
    fn scope(&self) -> IdScope {
        IdScope::Account(self.sandboxes().lightspeed.account_id().to_string())
    }

    /// The SystemId of the BC item of Lightspeed item `item` (or `matrix:` key), as its
    /// link keeps it: derived from the Lightspeed id where BC keeps the id the sync
    /// chooses, BC's own otherwise.
    async fn item_id(&self, key: &str) -> Uuid {
        let link = self.link(key).await.expect("linked");
        let id: Uuid = link.target_id.parse().unwrap();
        if self
            .sandboxes()
            .business_central
            .config()
            .client_ids
            .answer("items")
            == ClientIdAnswer::Honoured
            && let Some(derived) = key
                .strip_prefix("item:")
                .and_then(|i| i.parse::<u64>().ok())
        {
            assert_eq!(
                id,
                item_system_id(&self.scope(), derived),
                "the derived SystemId kept"
            );
        }
        id
    }

    /// The SystemId of the BC variant of Lightspeed variant item `item` of matrix `m`, as
    /// the variants' link keeps it (the derived one where BC keeps it).
    async fn variant_id(&self, m: u64, item: u64) -> String {
        let link = self
            .link(&format!("matrix:{m}:variants:1"))
            .await
            .expect("variants linked");
        let id = link.extra["variants"][item.to_string()]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        if self
            .sandboxes()
            .business_central
            .config()
            .client_ids
            .answer("itemVariants")
            == ClientIdAnswer::Honoured
        {
            assert_eq!(id, variant_system_id(&self.scope(), item).to_string());
        }
        id
    }
}

/// The simulators and the products flow on one home.
struct Scene {
    s: Sandboxes,
    home: Box<dyn Home>,
}

impl Catalogue for Scene {
    fn sandboxes(&self) -> &Sandboxes {
        &self.s
    }

    fn activity_log(&self) -> &dyn ActivityLog {
        self.home.activity()
    }

    fn link_store(&self) -> &dyn LinkStore {
        self.home.links()
    }
}

impl Scene {
    async fn new(kind: HomeKind, setup: Setup) -> Self {
        Self::answering(kind, setup, SandboxOptions::default().business_central_ids).await
    }

    async fn answering(kind: HomeKind, setup: Setup, ids: ClientIdAnswer) -> Self {
        let s = pipeline::sandboxes_answering(ids).await;
        let home = kind.build_flow(&s, Flow::Products, setup).await;
        Self { s, home }
    }

    fn picture_uploads(&self) -> usize {
        self.bc()
            .writes()
            .iter()
            .filter(|w| w.path.ends_with("picture/pictureContent"))
            .count()
    }

    /// Serves the item's images from the simulator's image route.
    fn serve_images_of(&self, item: u64) {
        let host = format!("{}/_sandbox/images/", self.ls().base_url());
        for image in self.ls().records(Entity::Image) {
            if image["itemID"].as_str() == Some(item.to_string().as_str()) {
                let id = image["imageID"].as_str().unwrap().parse().unwrap();
                self.ls()
                    .set_field(Entity::Image, id, "baseImageURL", &host)
                    .unwrap();
            }
        }
    }
}

/// A simple item with a SKU, price and cost.
pub fn seed(sku: &str, description: &str) -> ItemSeed {
    ItemSeed {
        description: description.into(),
        custom_sku: sku.into(),
        price_cents: 1999,
        cost_cents: 750,
        tax: true,
        ..ItemSeed::default()
    }
}

/// A variant item of `matrix` with its two attribute values.
pub fn variant(matrix: u64, sku: &str, attributes: [&str; 2]) -> ItemSeed {
    ItemSeed {
        description: format!("Tee {} {}", attributes[0], attributes[1]),
        custom_sku: sku.into(),
        matrix_id: Some(matrix),
        attributes: attributes.iter().map(|a| (*a).to_owned()).collect(),
        price_cents: 2000,
        cost_cents: 800,
        ..ItemSeed::default()
    }
}

/// A colour × size matrix, "Tee".
pub fn tee_matrix(category: Option<u64>) -> MatrixSeed {
    MatrixSeed {
        description: "Tee".into(),
        attribute_set: AttributeSet::ColorSize,
        category_id: category,
        price_cents: 2000,
        cost_cents: 800,
        attribute1_values: vec!["Black".into(), "White".into()],
        attribute2_values: vec!["Small".into(), "Medium".into()],
        ..MatrixSeed::default()
    }
}

/// A BC enum value as written (`_x0020_` escapes undone).
pub fn plain(v: &Value) -> String {
    unescape(v.as_str().unwrap_or("")).into_owned()
}

/// A catalogue: a simple item with its image, a virtual item, a matrix with its variants,
/// categories from the Lightspeed path. Then: nothing new costs nothing; a new variant is
/// one POST; a changed variant one PATCH; the image is sent again only when it changed.
pub async fn catalogue(kind: HomeKind) {
    let c = Scene::new(
        kind,
        Setup {
            mapping: Some(json!({"fields": {"variant.description": {"expr": ".description"}}})),
            ..Setup::default()
        },
    )
    .await;
    let apparel = c
        .ls()
        .add_category(&CategorySeed {
            name: "Apparel".into(),
            ..CategorySeed::default()
        })
        .unwrap();
    let shirts = c
        .ls()
        .add_category(&CategorySeed {
            name: "T-Shirts".into(),
            parent_id: Some(apparel),
            ..CategorySeed::default()
        })
        .unwrap();
    let tee = c
        .ls()
        .add_item(&ItemSeed {
            ean: "4006381333931".into(),
            category_id: Some(shirts),
            price_cents: 2500,
            cost_cents: 900,
            images: vec![ImageSeed {
                public_id: "tee-front".into(),
                filename: "tee.png".into(),
                ..ImageSeed::default()
            }],
            ..seed("tee-1", "Organic Tee")
        })
        .unwrap();
    c.serve_images_of(tee);
    let wrap = c
        .ls()
        .add_item(&ItemSeed {
            item_type: "non_inventory".into(),
            category_id: Some(shirts),
            ..seed("WRAP", "Gift wrapping")
        })
        .unwrap();
    let m = c.ls().add_matrix(&tee_matrix(Some(shirts))).unwrap();
    let small = c
        .ls()
        .add_item(&variant(m, "TEE-BS", ["Black", "Small"]))
        .unwrap();
    c.ls()
        .add_item(&variant(m, "TEE-BM", ["Black", "Medium"]))
        .unwrap();
    c.home.sync().await;

    let item = c.item("TEE-1");
    assert_eq!(item["displayName"], "Organic Tee");
    assert_eq!(plain(&item["type"]), "Inventory");
    assert_eq!(item["unitPrice"], 25.0);
    assert_eq!(item["unitCost"], 9.0);
    assert_eq!(item["gtin"], "4006381333931");
    assert_eq!(item["itemCategoryCode"], "APPAREL-T-SHIRTS");
    assert_eq!(
        item["id"],
        c.item_id(&format!("item:{tee}")).await.to_string()
    );
    assert_eq!(plain(&c.item("WRAP")["type"]), "Non-Inventory");
    let categories: Vec<Value> = c
        .bc()
        .item_categories()
        .into_iter()
        .filter(|k| k["code"] == "APPAREL-T-SHIRTS")
        .collect();
    assert_eq!(categories.len(), 1, "created once for three items");
    assert_eq!(categories[0]["displayName"], "Apparel/T-Shirts");
    let number = format!("MATRIX-{m}");
    assert_eq!(c.item(&number)["itemCategoryCode"], "APPAREL-T-SHIRTS");
    let codes: BTreeSet<String> = c
        .variants(&number)
        .iter()
        .map(|v| v["code"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes, BTreeSet::from(["BLK-M".into(), "BLK-S".into()]));
    assert_eq!(c.bc().items().len(), 3);
    assert_eq!(c.picture_uploads(), 1);
    for key in [
        format!("item:{tee}"),
        format!("item:{wrap}"),
        format!("matrix:{m}"),
    ] {
        assert_eq!(
            c.outcomes(&key).await,
            [Outcome::Created],
            "{key}: {:#?}",
            c.all_activity(&key).await
        );
    }

    let requests = c.bc().api_requests();
    c.home.sync().await;
    assert_eq!(c.bc().api_requests(), requests, "nothing new: no request");

    // A new variant: one POST, nothing else written.
    let before = c.bc().writes().len();
    let white = c
        .ls()
        .add_item(&variant(m, "TEE-WS", ["White", "Small"]))
        .unwrap();
    c.home.sync().await;
    let writes = c.writes_since(before);
    assert_eq!(writes.len(), 1, "{writes:#?}");
    assert_eq!(writes[0].method, "POST");
    assert!(
        writes[0].path.ends_with("/itemVariants"),
        "{}",
        writes[0].path
    );
    let white_id = c.variant_id(m, white).await;
    let added = c
        .variants(&number)
        .into_iter()
        .find(|v| v["id"] == white_id)
        .expect("the new variant");
    assert_eq!(added["code"], "WHT-S");

    // A changed variant: updated in place, its code kept.
    let before = c.bc().writes().len();
    c.change(
        Entity::Item,
        small,
        "description",
        "Tee Black Small (organic)",
    );
    c.home.sync().await;
    let writes = c.writes_since(before);
    assert_eq!(writes.len(), 1, "{writes:#?}");
    assert_eq!(writes[0].method, "PATCH");
    assert_eq!(
        writes[0].body,
        json!({"description": "Tee Black Small (organic)"})
    );
    let small_id = c.variant_id(m, small).await;
    let changed = c
        .variants(&number)
        .into_iter()
        .find(|v| v["id"] == small_id)
        .unwrap();
    assert_eq!(changed["code"], "BLK-S");

    // Another field of the item changes: updated, the picture not sent again.
    c.change(Entity::Item, tee, "defaultCost", "8");
    c.home.sync().await;
    assert_eq!(c.item("TEE-1")["unitCost"], 8.0);
    assert_eq!(c.picture_uploads(), 1, "the image did not change");

    // A new image: sent.
    c.change(Entity::Image, c.image_of(tee), "publicID", "tee-back");
    c.change(Entity::Item, tee, "modelYear", "2026");
    c.home.sync().await;
    assert_eq!(c.picture_uploads(), 2, "the image changed");
    assert_eq!(c.bc().items().len(), 3);
    assert_eq!(c.variants(&number).len(), 3);
    pipeline::assert_unthrottled(c.sandboxes());
}

/// `publish = draft` with a create-only subtitle: the item is created blocked with the
/// subtitle; a person enriches and publishes it in BC; the next sync sends only the
/// changed name and leaves both the enrichment and the publication alone.
pub async fn drafts_and_enrichment(kind: HomeKind) {
    let c = Scene::new(
        kind,
        Setup {
            settings: Some(json!({"publish": "draft"})),
            mapping: Some(json!({"fields": {"item.displayName2": {
                "expr": ".CustomFieldValues | map(select(.name == \"Subtitle\")) | .[0].value? // null",
                "policy": "create_only"
            }}})),
            ..Setup::default()
        },
    )
    .await;
    let tee = c
        .ls()
        .add_item(&ItemSeed {
            custom_fields: vec![CustomFieldSeed {
                name: "Subtitle".into(),
                kind: "string".into(),
                value: "Soft cotton".into(),
            }],
            ..seed("ENR-1", "Tee")
        })
        .unwrap();
    c.home.sync().await;
    let item = c.item("ENR-1");
    assert_eq!(item["blocked"], true, "a draft");
    assert_eq!(item["displayName2"], "Soft cotton");

    c.edit_item(
        "ENR-1",
        json!({"displayName2": "Enriched in BC", "blocked": false}),
    )
    .await;
    let before = c.bc().writes().len();
    c.change(Entity::Item, tee, "description", "Tee, organic");
    c.home.sync().await;
    let item = c.item("ENR-1");
    assert_eq!(item["displayName"], "Tee, organic");
    assert_eq!(item["displayName2"], "Enriched in BC");
    assert_eq!(
        item["blocked"], false,
        "published by a person, stays published"
    );
    let writes = c.writes_since(before);
    assert_eq!(writes.len(), 1, "{writes:#?}");
    assert_eq!(writes[0].body, json!({"displayName": "Tee, organic"}));
    assert_eq!(
        c.outcomes(&format!("item:{tee}")).await,
        [Outcome::Updated, Outcome::Created]
    );
    pipeline::assert_unthrottled(c.sandboxes());
}

/// The first run matches the item BC already has by SKU (no duplicate, create-only fields
/// left out); two Lightspeed items with one SKU make one BC item, the other is skipped
/// naming the one that has it.
pub async fn first_run_and_shared_skus(kind: HomeKind) {
    let c = Scene::new(kind, Setup::default()).await;
    let boot = c
        .ls()
        .add_item(&ItemSeed {
            item_type: "non_inventory".into(),
            ..seed("old-1", "Walking boot")
        })
        .unwrap();
    let a = c.ls().add_item(&seed("TWIN", "A")).unwrap();
    let b = c.ls().add_item(&seed("twin", "B")).unwrap();
    let existing = c
        .bc()
        .add_item(json!({"number": "OLD-1", "displayName": "Boot (old name)", "type": "Inventory"}))
        .unwrap();
    c.home.sync().await;

    let item = c.item("OLD-1");
    assert_eq!(item["id"], existing["id"], "matched, not created again");
    assert_eq!(item["displayName"], "Walking boot");
    assert_eq!(plain(&item["type"]), "Inventory", "the type is create-only");
    assert_eq!(
        c.outcomes(&format!("item:{boot}")).await,
        [Outcome::Updated]
    );

    let twin = c.item("TWIN");
    let (winner, loser) = if twin["displayName"] == "A" {
        (a, b)
    } else {
        (b, a)
    };
    assert_eq!(
        c.outcomes(&format!("item:{winner}")).await,
        [Outcome::Created]
    );
    let log = c.activity(&format!("item:{loser}")).await;
    assert_eq!(log[0].outcome, Outcome::Skipped);
    assert!(
        log[0].message.contains("TWIN") && log[0].message.contains(&format!("item {winner}")),
        "{}",
        log[0].message
    );
    assert_eq!(c.bc().items().len(), 2, "{:#?}", c.bc().items());
    pipeline::assert_unthrottled(c.sandboxes());
}

/// A crash after each create, before the link, with Business Central answering a
/// client-chosen `id` with `ids`: the retry finds what it made (by SKU, by variant code
/// within the item, by category code, or by SystemId where BC keeps it) and there is no
/// duplicate item, variant or category.
pub async fn crash_after_create(kind: HomeKind, ids: ClientIdAnswer) {
    let c = Scene::answering(
        kind,
        Setup {
            wrap: Some(LosesTheFirstAnswer::wrapper()),
            ..Setup::default()
        },
        ids,
    )
    .await;
    let tops = c
        .ls()
        .add_category(&CategorySeed {
            name: "Tops".into(),
            ..CategorySeed::default()
        })
        .unwrap();
    let tee = c
        .ls()
        .add_item(&ItemSeed {
            category_id: Some(tops),
            ..seed("CRASH-1", "Tee")
        })
        .unwrap();
    let m = c.ls().add_matrix(&tee_matrix(Some(tops))).unwrap();
    c.ls()
        .add_item(&variant(m, "TEE-BS", ["Black", "Small"]))
        .unwrap();
    c.ls()
        .add_item(&variant(m, "TEE-WS", ["White", "Small"]))
        .unwrap();
    c.home.sync().await;

    assert_eq!(c.bc().items().len(), 2, "{:#?}", c.bc().items());
    assert_eq!(c.variants(&format!("MATRIX-{m}")).len(), 2);
    assert_eq!(c.bc().item_categories().len(), 1);
    for key in [
        format!("item:{tee}"),
        format!("matrix:{m}"),
        format!("matrix:{m}:variants:1"),
    ] {
        assert!(c.linked(&key).await, "{key} linked after the retry");
        let seen = c.outcomes(&key).await;
        assert!(seen.contains(&Outcome::Retrying), "{key}: {seen:?}");
    }
}
