//! The client against the Lightspeed simulator: paging through records that share a
//! `timeStamp`, tokens expiring mid-stream, concurrent refreshes (one process and several),
//! the rotated refresh token stored before use, throttling and faults, stock writes, the
//! first connection, and decoding of generated data.

// Helpers fail loudly like the tests they serve; clippy exempts only `#[test]` bodies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use jiff::{SignedDuration, Timestamp};
use lsbc_lightspeed::model::{Customer, Item, ItemId, ItemShop, Sale, Shop, ShopId};
use lsbc_lightspeed::{
    AuthError, ClientConfig, Direction, ErrorClass, LightspeedClient, LightspeedError, LocalLease,
    MemoryTokenStore, PageRequest, PortError, Query, RefreshLease, StockTarget, StockUpdate,
    TokenSet, TokenStore,
};
use lsbc_sandbox::common::{FaultKind, FaultRule};
use lsbc_sandbox::lightspeed::{
    CustomerSeed, EmailSeed, Entity, ItemSeed, LightspeedSandbox, LightspeedSandboxConfig,
    ShopSeed, Sizes, StockSeed, TokenGrant, generate,
};
use secrecy::{ExposeSecret, SecretString};

fn tokens(grant: &TokenGrant, expired: bool) -> TokenSet {
    let now = Timestamp::now();
    let until = if expired {
        now - SignedDuration::from_secs(5)
    } else {
        now + SignedDuration::from_secs(i64::try_from(grant.expires_in).unwrap())
    };
    TokenSet::new(
        grant.access_token.clone(),
        grant.refresh_token.clone(),
        now - SignedDuration::from_hours(1),
        until,
    )
}

fn config(sb: &LightspeedSandbox) -> ClientConfig {
    let cfg = sb.config();
    let mut c = ClientConfig::new(
        cfg.client_id.clone(),
        SecretString::from(cfg.client_secret.clone()),
    )
    .with_base(&sb.base_url())
    .unwrap();
    c.retry.base_delay = Duration::from_millis(20);
    c
}

fn client(
    sb: &LightspeedSandbox,
    store: Arc<dyn TokenStore>,
    lease: Arc<dyn RefreshLease>,
) -> LightspeedClient {
    LightspeedClient::builder(config(sb), store, lease)
        .build()
        .unwrap()
}

fn customer(n: usize, ts: &str) -> CustomerSeed {
    CustomerSeed {
        first_name: format!("Zoë {n}"),
        last_name: "Ørsted".into(),
        time_stamp: Some(ts.parse().unwrap()),
        emails: vec![EmailSeed {
            address: format!("z{n}@example.com"),
            use_type: "Primary".into(),
        }],
        ..CustomerSeed::default()
    }
}

#[tokio::test]
async fn pages_through_1100_records_sharing_a_timestamp_with_nothing_missed_or_repeated() {
    let sb = LightspeedSandbox::start(LightspeedSandboxConfig {
        time_scale: 10.0,
        ..LightspeedSandboxConfig::default()
    })
    .await
    .unwrap();
    for n in 0..1100 {
        // 700 share one second; the rest are spread over the following hour.
        let ts = if n % 11 < 7 {
            "2026-02-01T12:00:00+00:00".to_owned()
        } else {
            format!("2026-02-01T12:{:02}:{:02}+00:00", (n / 60) % 60, n % 60)
        };
        sb.add_customer(&customer(n, &ts));
    }
    let store = Arc::new(MemoryTokenStore::new(Some(tokens(
        &sb.issue_tokens(),
        false,
    ))));
    let c = client(&sb, store.clone(), Arc::new(LocalLease::default()));
    let query = Query::new()
        .ge(
            "timeStamp",
            "2026-02-01T12:00:00Z".parse::<Timestamp>().unwrap(),
        )
        .sort("timeStamp", Direction::Asc)
        .relations(["Contact"]);

    // Page by page with a checkpoint: a "crash" after three pages, then a new process
    // resumes from the stored next link.
    let mut ids = Vec::new();
    let mut request = PageRequest::First(query.clone());
    for _ in 0..3 {
        let page = c.page::<Customer>(request).await.unwrap();
        ids.extend(
            page.records
                .iter()
                .map(|r| r.value.as_ref().unwrap().customer_id.get()),
        );
        request = PageRequest::Link(page.next.unwrap());
    }
    let resumed = client(&sb, store.clone(), Arc::new(LocalLease::default()));
    loop {
        let page = resumed.page::<Customer>(request).await.unwrap();
        ids.extend(
            page.records
                .iter()
                .map(|r| r.value.as_ref().unwrap().customer_id.get()),
        );
        match page.next {
            Some(next) => request = PageRequest::Link(next),
            None => break,
        }
    }
    let unique: BTreeSet<u64> = ids.iter().copied().collect();
    assert_eq!(ids.len(), 1100, "nothing missed");
    assert_eq!(unique.len(), 1100, "nothing repeated");

    // The same through the stream.
    let streamed: Vec<u64> = c
        .records::<Customer>(query)
        .map(|r| r.unwrap().value.unwrap().customer_id.get())
        .collect()
        .await;
    assert_eq!(streamed, ids);
    assert_eq!(c.stats().throttled + resumed.stats().throttled, 0);
}

#[tokio::test]
async fn a_token_expiring_mid_stream_is_refreshed_once_and_the_stream_goes_on() {
    let sb = LightspeedSandbox::start(LightspeedSandboxConfig::default())
        .await
        .unwrap();
    for n in 0..450 {
        sb.add_customer(&customer(n, "2026-02-01T12:00:00+00:00"));
    }
    let first = sb.issue_tokens();
    let store = Arc::new(MemoryTokenStore::new(Some(tokens(&first, false))));
    let c = client(&sb, store.clone(), Arc::new(LocalLease::default()));
    let mut stream =
        Box::pin(c.records::<Customer>(Query::new().sort("timeStamp", Direction::Asc)));
    let mut ids = Vec::new();
    while let Some(record) = stream.next().await {
        ids.push(record.unwrap().value.unwrap().customer_id.get());
        if ids.len() == 250 {
            sb.expire_access_tokens();
        }
    }
    assert_eq!(ids.len(), 450);
    assert_eq!(ids.iter().copied().collect::<BTreeSet<_>>().len(), 450);
    assert_eq!(sb.stats().oauth.refreshes, 1);
    assert_eq!(
        sb.stats().oauth.unauthorized,
        1,
        "one 401, then the refreshed token"
    );
    assert_eq!(c.stats().token_refreshes, 1);
    let stored = store.current().unwrap();
    assert_ne!(
        stored.refresh_token.expose_secret(),
        first.refresh_token.as_str()
    );
    assert!(
        !sb.refresh_token_valid(&first.refresh_token),
        "old refresh token revoked after use"
    );
}

async fn shop_sandbox() -> LightspeedSandbox {
    let sb = LightspeedSandbox::start(LightspeedSandboxConfig::default())
        .await
        .unwrap();
    sb.add_shop(&ShopSeed {
        name: "Amsterdam".into(),
        time_zone: "Europe/Amsterdam".into(),
        ..ShopSeed::default()
    });
    // A slow token endpoint widens the window in which callers pile up.
    sb.faults()
        .add(FaultRule::always(FaultKind::Latency { millis: 150 }).on_path("/auth/oauth/token"));
    sb
}

async fn call_concurrently(clients: &[LightspeedClient], per_client: usize) -> usize {
    let mut tasks = Vec::new();
    for c in clients {
        for _ in 0..per_client {
            let c = c.clone();
            tasks.push(tokio::spawn(
                async move { c.page::<Shop>(Query::new()).await },
            ));
        }
    }
    let mut ok = 0;
    for t in tasks {
        let page = t.await.unwrap().unwrap();
        assert_eq!(page.records.len(), 1);
        ok += 1;
    }
    ok
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_callers_with_an_expired_token_cause_exactly_one_refresh() {
    let sb = shop_sandbox().await;
    let store = Arc::new(MemoryTokenStore::new(Some(tokens(
        &sb.issue_tokens(),
        true,
    ))));
    let c = client(&sb, store, Arc::new(LocalLease::default()));
    assert_eq!(call_concurrently(std::slice::from_ref(&c), 20).await, 20);
    let oauth = sb.stats().oauth;
    assert_eq!(oauth.refreshes, 1);
    assert_eq!(
        oauth.refresh_reuses, 0,
        "no second refresh with the same token"
    );
    assert_eq!(c.stats().token_refreshes, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_callers_refused_by_the_server_cause_exactly_one_refresh() {
    let sb = shop_sandbox().await;
    // Locally fresh, but the server says it expired: every caller gets a 401.
    let store = Arc::new(MemoryTokenStore::new(Some(tokens(
        &sb.issue_tokens(),
        false,
    ))));
    sb.expire_access_tokens();
    let c = client(&sb, store, Arc::new(LocalLease::default()));
    assert_eq!(call_concurrently(std::slice::from_ref(&c), 20).await, 20);
    assert_eq!(sb.stats().oauth.refreshes, 1);
    assert_eq!(sb.stats().oauth.refresh_reuses, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_processes_sharing_a_store_and_lease_refresh_once() {
    let sb = shop_sandbox().await;
    let store: Arc<MemoryTokenStore> = Arc::new(MemoryTokenStore::new(Some(tokens(
        &sb.issue_tokens(),
        true,
    ))));
    let lease: Arc<LocalLease> = Arc::new(LocalLease::default());
    // Separate clients = separate token caches and single-flights, as separate Lambdas.
    let clients: Vec<LightspeedClient> = (0..4)
        .map(|_| client(&sb, store.clone(), lease.clone()))
        .collect();
    assert_eq!(call_concurrently(&clients, 5).await, 20);
    assert_eq!(sb.stats().oauth.refreshes, 1);
    assert_eq!(sb.stats().oauth.refresh_reuses, 0);
    let total: u64 = clients.iter().map(|c| c.stats().token_refreshes).sum();
    assert_eq!(
        total, 1,
        "one process refreshed, the others used its stored token"
    );
}

/// A store that checks, at the moment of saving, that the new access token has not been
/// used yet — and can be told to fail.
#[derive(Debug)]
struct AuditingStore {
    inner: MemoryTokenStore,
    sandbox: Arc<LightspeedSandbox>,
    saved_before_use: Mutex<Vec<bool>>,
    fail: bool,
}

#[async_trait]
impl TokenStore for AuditingStore {
    async fn load(&self) -> Result<Option<TokenSet>, PortError> {
        self.inner.load().await
    }

    async fn save(&self, tokens: &TokenSet) -> Result<(), PortError> {
        let used = self
            .sandbox
            .access_token_used(tokens.access_token.expose_secret());
        self.saved_before_use.lock().unwrap().push(!used);
        if self.fail {
            return Err("disk full".into());
        }
        self.inner.save(tokens).await
    }
}

#[tokio::test]
async fn the_rotated_refresh_token_is_written_back_before_the_new_access_token_is_used() {
    let sb = Arc::new(shop_sandbox().await);
    let first = sb.issue_tokens();
    let store = Arc::new(AuditingStore {
        inner: MemoryTokenStore::new(Some(tokens(&first, true))),
        sandbox: sb.clone(),
        saved_before_use: Mutex::new(Vec::new()),
        fail: false,
    });
    let c = client(&sb, store.clone(), Arc::new(LocalLease::default()));
    c.page::<Shop>(Query::new()).await.unwrap();
    assert_eq!(*store.saved_before_use.lock().unwrap(), vec![true]);
    let saved = store.inner.current().unwrap();
    assert!(sb.access_token_used(saved.access_token.expose_secret()));
    assert!(!sb.refresh_token_valid(&first.refresh_token));
    assert!(sb.refresh_token_valid(saved.refresh_token.expose_secret()));
}

#[tokio::test]
async fn when_the_store_cannot_save_the_new_token_is_never_used_and_nothing_is_lost() {
    let sb = Arc::new(shop_sandbox().await);
    let first = sb.issue_tokens();
    let failing = Arc::new(AuditingStore {
        inner: MemoryTokenStore::new(Some(tokens(&first, true))),
        sandbox: sb.clone(),
        saved_before_use: Mutex::new(Vec::new()),
        fail: true,
    });
    let c = client(&sb, failing.clone(), Arc::new(LocalLease::default()));
    let err = c.page::<Shop>(Query::new()).await.unwrap_err();
    assert!(
        matches!(err, LightspeedError::Auth(AuthError::Store(_))),
        "{err:?}"
    );
    assert_eq!(err.class(), ErrorClass::Transient);
    assert_eq!(c.stats().requests, 0, "no API call with the unsaved token");
    // The old refresh token still works (deferred revocation): the next run recovers.
    assert!(sb.refresh_token_valid(&first.refresh_token));
    let healthy = client(
        &sb,
        Arc::new(MemoryTokenStore::new(Some(tokens(&first, true)))),
        Arc::new(LocalLease::default()),
    );
    healthy.page::<Shop>(Query::new()).await.unwrap();
}

#[tokio::test]
async fn a_revoked_refresh_token_is_an_auth_error() {
    let sb = shop_sandbox().await;
    let first = sb.issue_tokens();
    // Another party rotated the token and used the new access token: ours is revoked.
    let store_a = Arc::new(MemoryTokenStore::new(Some(tokens(&first, true))));
    let a = client(&sb, store_a, Arc::new(LocalLease::default()));
    a.page::<Shop>(Query::new()).await.unwrap();
    let stale = client(
        &sb,
        Arc::new(MemoryTokenStore::new(Some(tokens(&first, true)))),
        Arc::new(LocalLease::default()),
    );
    let err = stale.page::<Shop>(Query::new()).await.unwrap_err();
    match &err {
        LightspeedError::Auth(AuthError::Refused { status, body, .. }) => {
            assert_eq!(*status, 400);
            assert_eq!(body.error.as_deref(), Some("invalid_grant"));
        }
        other => panic!("expected a refused refresh, got {other:?}"),
    }
    assert_eq!(err.class(), ErrorClass::Auth);
    assert_eq!(sb.stats().oauth.refresh_rejections, 1);
}

#[tokio::test]
async fn throttling_server_errors_timeouts_and_resets_are_retried() {
    let sb = LightspeedSandbox::start(LightspeedSandboxConfig {
        time_scale: 50.0,
        ..LightspeedSandboxConfig::default()
    })
    .await
    .unwrap();
    sb.add_shop(&ShopSeed {
        name: "A".into(),
        time_zone: "UTC".into(),
        ..ShopSeed::default()
    });
    let item = sb
        .add_item(&ItemSeed {
            description: "Vase".into(),
            stock: vec![StockSeed { shop_id: 1, qoh: 1 }],
            ..ItemSeed::default()
        })
        .unwrap();
    let store = Arc::new(MemoryTokenStore::new(Some(tokens(
        &sb.issue_tokens(),
        false,
    ))));
    let mut cfg = config(&sb);
    cfg.request_timeout = Duration::from_millis(400);
    let c = LightspeedClient::builder(cfg, store, Arc::new(LocalLease::default()))
        .build()
        .unwrap();

    // Two 429s: Retry-After is 1 API second = 0.02 wall seconds at scale 50.
    sb.faults().add(
        FaultRule::always(FaultKind::TooManyRequests)
            .on_path("/Shop")
            .times(2),
    );
    let started = std::time::Instant::now();
    c.page::<Shop>(Query::new()).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "decimal Retry-After honoured, not rounded up to seconds"
    );
    assert_eq!(c.stats().throttled, 2);

    for fault in [
        FaultKind::Status { status: 503 },
        FaultKind::Status { status: 502 },
        FaultKind::Reset,
        FaultKind::Timeout { millis: 1500 },
    ] {
        sb.faults()
            .add(FaultRule::always(fault.clone()).on_path("/Shop").times(1));
        let page = c.page::<Shop>(Query::new()).await;
        assert!(page.is_ok(), "{fault:?}: {page:?}");
    }
    // An idempotent PUT is retried after a 500 and applied once.
    sb.faults().add(
        FaultRule::always(FaultKind::Status { status: 500 })
            .on_method("PUT")
            .times(1),
    );
    c.set_stock(
        ItemId::new(item),
        &[StockUpdate {
            target: StockTarget::Shop(ShopId::new(1)),
            qoh: 7,
        }],
    )
    .await
    .unwrap();
    assert_eq!(sb.stock(item, 1), Some(7));
    assert_eq!(sb.writes().len(), 1);
    assert_eq!(
        sb.writes()[0].body,
        serde_json::json!({"ItemShops": {"ItemShop": {"shopID": 1, "qoh": 7}}}),
        "one entry goes as an object"
    );
    let stats = c.stats();
    assert_eq!(stats.retries, 7, "{stats:?}");

    // Persistent failure: bounded attempts, then a transient error.
    sb.faults()
        .add(FaultRule::always(FaultKind::Status { status: 500 }).on_path("/Shop"));
    let err = c.page::<Shop>(Query::new()).await.unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert_eq!(err.class(), ErrorClass::Transient);
}

#[tokio::test]
async fn set_stock_writes_quantities_without_moving_the_item_timestamp() {
    let sb = LightspeedSandbox::start(LightspeedSandboxConfig::default())
        .await
        .unwrap();
    sb.add_shop(&ShopSeed {
        name: "A".into(),
        time_zone: "Europe/Amsterdam".into(),
        ..ShopSeed::default()
    });
    sb.add_shop(&ShopSeed {
        name: "B".into(),
        time_zone: "Europe/Brussels".into(),
        ..ShopSeed::default()
    });
    let item = sb
        .add_item(&ItemSeed {
            description: "Linen Tote".into(),
            time_stamp: Some("2025-12-01T00:00:00Z".parse().unwrap()),
            ..ItemSeed::default()
        })
        .unwrap();
    let c = client(
        &sb,
        Arc::new(MemoryTokenStore::new(Some(tokens(
            &sb.issue_tokens(),
            false,
        )))),
        Arc::new(LocalLease::default()),
    );
    let before = c
        .get::<Item>(item, &["ItemShops"])
        .await
        .unwrap()
        .value
        .unwrap();
    let row = before
        .item_shops
        .iter()
        .find(|s| s.shop_id.get() == 2)
        .unwrap()
        .item_shop_id;
    let record = c
        .set_stock(
            ItemId::new(item),
            &[
                StockUpdate {
                    target: StockTarget::Shop(ShopId::new(1)),
                    qoh: 12,
                },
                StockUpdate {
                    target: StockTarget::ItemShop(row),
                    qoh: -2,
                },
            ],
        )
        .await
        .unwrap();
    let after = record.value.unwrap();
    assert_eq!(
        after.time_stamp, before.time_stamp,
        "Item.timeStamp excludes stock"
    );
    assert_eq!(after.stock_in(ShopId::new(1)), Some(12));
    assert_eq!(after.stock_in(ShopId::new(2)), Some(-2));
    assert_eq!(sb.stock(item, 0), Some(10));
    let write = &sb.writes()[0];
    assert_eq!(write.method, "PUT");
    assert_eq!(
        write.body,
        serde_json::json!({"ItemShops": {"ItemShop": [{"shopID": 1, "qoh": 12}, {"itemShopID": row.get(), "qoh": -2}]}})
    );
    // The stock poll by ItemShop.timeStamp sees the change.
    let changed: Vec<ItemShop> = c
        .page::<ItemShop>(Query::new().ge(
            "timeStamp",
            before.time_stamp + SignedDuration::from_secs(1),
        ))
        .await
        .unwrap()
        .into_values()
        .unwrap();
    assert_eq!(changed.len(), 3, "two shops and the summary");
}

#[tokio::test]
async fn the_account_id_comes_from_the_token_and_account_json_works() {
    let sb = LightspeedSandbox::start(LightspeedSandboxConfig::default())
        .await
        .unwrap();
    let c = client(
        &sb,
        Arc::new(MemoryTokenStore::new(Some(tokens(
            &sb.issue_tokens(),
            false,
        )))),
        Arc::new(LocalLease::default()),
    );
    assert_eq!(c.account_id().await.unwrap().get(), sb.account_id());
    assert_eq!(
        sb.stats().requests.requests,
        0,
        "read from the JWT, no request"
    );
    let account = c.account().await.unwrap();
    assert_eq!(account.account_id.get(), sb.account_id());
    assert_eq!(account.name, sb.config().account_name);
}

#[tokio::test]
async fn the_first_connection_exchanges_a_code_with_pkce() {
    let sb = LightspeedSandbox::start(LightspeedSandboxConfig::default())
        .await
        .unwrap();
    sb.add_shop(&ShopSeed {
        name: "A".into(),
        time_zone: "UTC".into(),
        ..ShopSeed::default()
    });
    let store = Arc::new(MemoryTokenStore::new(None));
    let c = client(&sb, store.clone(), Arc::new(LocalLease::default()));
    let err = c.page::<Shop>(Query::new()).await.unwrap_err();
    assert!(matches!(
        err,
        LightspeedError::Auth(AuthError::NotConnected)
    ));
    let request = c.tokens().oauth().authorization_request().unwrap();
    // The user's browser: the sandbox approves at once and redirects with code and state.
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = browser.get(request.url.clone()).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    let location = url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
    let q: std::collections::BTreeMap<String, String> =
        location.query_pairs().into_owned().collect();
    assert!(matches!(
        c.tokens().connect(&request, "forged", &q["code"]).await,
        Err(AuthError::StateMismatch)
    ));
    c.tokens()
        .connect(&request, &q["state"], &q["code"])
        .await
        .unwrap();
    assert!(store.current().is_some());
    assert_eq!(c.page::<Shop>(Query::new()).await.unwrap().records.len(), 1);
    assert_eq!(sb.stats().oauth.codes_exchanged, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pacing_keeps_concurrent_callers_under_the_bucket() {
    let sb = LightspeedSandbox::start(LightspeedSandboxConfig {
        bucket_size: 10.0,
        drip_rate: 1.0,
        time_scale: 60.0,
        ..LightspeedSandboxConfig::default()
    })
    .await
    .unwrap();
    sb.add_shop(&ShopSeed {
        name: "A".into(),
        time_zone: "UTC".into(),
        ..ShopSeed::default()
    });
    let c = client(
        &sb,
        Arc::new(MemoryTokenStore::new(Some(tokens(
            &sb.issue_tokens(),
            false,
        )))),
        Arc::new(LocalLease::default()),
    );
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..15 {
                c.page::<Shop>(Query::new()).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(sb.stats().requests.throttled, 0);
    assert_eq!(c.stats().throttled, 0);
    assert!(
        c.stats().pacing_waits > 0,
        "the bucket was actually the limit"
    );
}

#[tokio::test]
async fn generated_data_decodes_into_every_model() {
    let sb = LightspeedSandbox::start(LightspeedSandboxConfig::default())
        .await
        .unwrap();
    sb.load(&generate(42, Sizes::default())).unwrap();
    let c = client(
        &sb,
        Arc::new(MemoryTokenStore::new(Some(tokens(
            &sb.issue_tokens(),
            false,
        )))),
        Arc::new(LocalLease::default()),
    );
    let all = lsbc_lightspeed::Archived::Include;
    let customers: Vec<_> = c
        .records::<Customer>(
            Query::new()
                .relations(["Contact", "CustomFieldValues"])
                .archived(all),
        )
        .collect()
        .await;
    assert_eq!(customers.len(), sb.records(Entity::Customer).len());
    for r in &customers {
        let r = r.as_ref().unwrap();
        assert!(r.value.is_ok(), "{:?}", r.value);
    }
    let items: Vec<_> = c
        .records::<Item>(
            Query::new()
                .relations(["ItemShops", "Images", "ItemAttributes", "Category"])
                .archived(all),
        )
        .collect()
        .await;
    let items: Vec<Item> = items
        .into_iter()
        .map(|r| r.unwrap().value.unwrap())
        .collect();
    assert!(
        items
            .iter()
            .any(|i| i.item_matrix_id.is_some() && i.item_attributes.is_some())
    );
    assert!(
        items
            .iter()
            .any(|i| i.images.len() == 1 && i.images[0].url(None).rsplit('.').next() == Some("jpg"))
    );
    assert!(items.iter().any(|i| i.archived));
    let sales: Vec<Sale> = c
        .records::<Sale>(Query::new().relations([
            "SaleLines",
            "SalePayments",
            "Customer",
            "ShipTo",
        ]))
        .map(|r| r.unwrap().value.unwrap())
        .collect()
        .await;
    assert!(sales.iter().any(Sale::is_refund));
    // A completed sale's payments are its total plus the tips inside them (docs
    // SalePayment: `amount` includes any tip); a void archives them all.
    for s in sales.iter().filter(|s| s.completed && !s.voided) {
        let tips: rust_decimal::Decimal = s
            .sale_payments
            .iter()
            .filter(|p| !p.archived)
            .filter_map(|p| p.tip_amount)
            .sum();
        assert_eq!(s.paid() - tips, s.calc_total, "sale {} balances", s.sale_id);
    }
    // A zoned filter (a '+' offset) is encoded correctly: the sandbox would answer 400.
    let zoned = sb.clock().now().in_tz("Europe/Amsterdam").unwrap();
    c.page::<Sale>(
        Query::new().filter("timeStamp", lsbc_lightspeed::Condition::Le((&zoned).into())),
    )
    .await
    .unwrap();
}

/// Review finding 8: a refresh slower than the refresh lease's time to live (Lightspeed
/// slow to answer, or a `Retry-After`) keeps the lease, so a second process waits for its
/// token instead of refreshing again with the same refresh token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_slower_than_its_lease_keeps_it_and_refreshes_once() {
    let sb = shop_sandbox().await;
    let store: Arc<MemoryTokenStore> = Arc::new(MemoryTokenStore::new(Some(tokens(
        &sb.issue_tokens(),
        true,
    ))));
    let lease: Arc<LocalLease> = Arc::new(LocalLease::default());
    sb.faults().add(
        FaultRule::always(FaultKind::Latency { millis: 1500 })
            .on_path("/auth/oauth/token")
            .times(1),
    );
    let clients: Vec<LightspeedClient> = (0..2)
        .map(|_| {
            let mut c = config(&sb);
            c.tokens.lease_ttl = Duration::from_millis(300);
            c.tokens.lease_poll = Duration::from_millis(50);
            LightspeedClient::builder(c, store.clone(), lease.clone())
                .build()
                .unwrap()
        })
        .collect();
    let (a, b) = tokio::join!(
        clients[0].tokens().access_token(),
        clients[1].tokens().access_token()
    );
    a.unwrap();
    b.unwrap();
    assert_eq!(sb.stats().oauth.refreshes, 1);
    assert_eq!(sb.stats().oauth.refresh_reuses, 0);
}
