//! Runs every port contract suite against the AWS adapters (`lsbc-aws`) on the AWS API
//! emulator (moto), each check on its own uniquely prefixed tables and queues; plus what
//! only the AWS adapters have: the stored schema, TTL, provisioning, error mapping and the
//! secret cache's service calls. Never skips: without an emulator every test fails and says
//! how to start one.

// Test code: helpers outside `#[test]` fns too must stop the test with their message,
// which is what `unwrap`, `expect` and `panic!` do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::types::{AttributeValue, BillingMode, TimeToLiveStatus};
use aws_sdk_secretsmanager::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_secretsmanager::config::{ConfigBag, Intercept};
use aws_sdk_sqs::types::QueueAttributeName;
use jiff::SignedDuration;
use lsbc_aws::provision::{create_queues, create_tables};
use lsbc_aws::{
    AwsClients, DynamoStore, SecretsManagerStore, SqsQueue, StackSpec, TableNames, provision,
};
use lsbc_core::ports::{
    ActivityEntry, ActivityLog, ClaimKey, ClaimStore, CursorStore, Freshness, Link, LinkStore,
    Outcome, Queue, SecretStore, SettingsStore,
};
use lsbc_core::{ContentHash, Flow, QueueError, QueueName, SourceVersion, StoreError};
use lsbc_tests::contract::activity::ExpiryProbe;
use lsbc_tests::contract::{activity, an_hour_ago, key, queue, secrets, unique};
use secrecy::{ExposeSecret, SecretString};

/// Rounds of each race: every round is a few requests to the emulator.
const ROUNDS: usize = 20;
/// The test queues' visibility timeout: real time, so short, but long enough for a check's
/// few requests to finish while a message is in flight.
const VISIBILITY: Duration = Duration::from_secs(2);
/// Receives before SQS parks a message by itself.
const MAX_RECEIVES: u32 = 3;
const Q: QueueName = QueueName::Push(Flow::Orders);

async fn clients() -> AwsClients {
    lsbc_tests::aws::emulator_clients().await
}

fn prefix() -> String {
    format!("t{}", unique())
}

/// A `DynamoStore` on fresh tables of its own.
async fn fresh_store() -> (DynamoStore, AwsClients) {
    let clients = clients().await;
    let tables = TableNames::with_prefix(&prefix());
    create_tables(&clients.dynamodb, &tables)
        .await
        .unwrap_or_else(|e| panic!("creating tables (is the emulator running?): {e}"));
    (DynamoStore::new(clients.dynamodb.clone(), tables), clients)
}

fn queue_spec(queues: Vec<QueueName>) -> StackSpec {
    StackSpec {
        queues,
        max_receive_count: MAX_RECEIVES,
        visibility_timeout: VISIBILITY,
        ..StackSpec::new(prefix())
    }
}

/// An `SqsQueue` on fresh queues of its own.
async fn fresh_queue(queues: Vec<QueueName>) -> SqsQueue {
    let clients = clients().await;
    let urls = create_queues(&clients.sqs, &queue_spec(queues))
        .await
        .unwrap_or_else(|e| panic!("creating queues (is the emulator running?): {e}"));
    SqsQueue::new(clients.sqs, urls)
}

/// One `#[tokio::test]` per check, each on fresh tables.
macro_rules! store_checks {
    ($($name:ident => $check:path),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let (store, _) = fresh_store().await;
            $check(&store).await;
        }
    )*};
}

/// One `#[tokio::test]` per race, each on fresh tables.
macro_rules! race_checks {
    ($($name:ident => $check:path),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $name() {
            let (store, _) = fresh_store().await;
            $check(Arc::new(store), ROUNDS).await;
        }
    )*};
}

lsbc_tests::for_each_store_check!(store_checks);

lsbc_tests::for_each_race_check!(race_checks);

/// Reads the activity table's TTL as DynamoDB would apply it.
struct DynamoTtl {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

#[async_trait]
impl ExpiryProbe for DynamoTtl {
    async fn stored_expiry(&self, entry: &ActivityEntry) -> Option<i64> {
        // The documented key: pk = flow, sk = <at, 9 fraction digits, UTC>#<id>.
        let sk = format!(
            "{}#{}",
            entry.at.strftime("%Y-%m-%dT%H:%M:%S%.9fZ"),
            entry.id
        );
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(entry.flow.to_string()))
            .key("sk", AttributeValue::S(sk))
            .send()
            .await
            .unwrap()
            .item?;
        match item.get("ttl")? {
            AttributeValue::N(n) => n.parse().ok(),
            other => panic!("ttl must be a number, is {other:?}"),
        }
    }

    async fn expiry_enabled(&self) -> bool {
        let ttl = self
            .client
            .describe_time_to_live()
            .table_name(&self.table)
            .send()
            .await
            .unwrap()
            .time_to_live_description
            .unwrap();
        ttl.time_to_live_status == Some(TimeToLiveStatus::Enabled)
            && ttl.attribute_name.as_deref() == Some("ttl")
    }
}

#[tokio::test]
async fn activity_expiry_is_the_items_ttl() {
    let (store, clients) = fresh_store().await;
    let probe = DynamoTtl {
        client: clients.dynamodb.clone(),
        table: store.tables().activity.clone(),
    };
    activity::expiry_is_stored(&store, &probe).await;
}

// ---- secrets ----

#[tokio::test]
async fn secret_missing_is_not_found() {
    secrets::missing_secret_is_not_found(&SecretsManagerStore::new(clients().await.secrets)).await;
}

#[tokio::test]
async fn secret_put_creates_then_replaces() {
    secrets::put_creates_then_replaces(&SecretsManagerStore::new(clients().await.secrets)).await;
}

#[tokio::test]
async fn secret_write_back_is_seen_by_other_instances() {
    let clients = clients().await;
    secrets::write_back_is_seen_by_other_instances(
        &SecretsManagerStore::new(clients.secrets.clone()),
        &SecretsManagerStore::new(clients.secrets),
    )
    .await;
}

#[tokio::test]
async fn secret_cached_reads() {
    let clients = clients().await;
    secrets::cached_reads_are_served_from_the_cache(
        &SecretsManagerStore::new(clients.secrets.clone()),
        &SecretsManagerStore::new(clients.secrets),
        secrets::Caching::Caches,
    )
    .await;
}

/// Counts the calls a client makes to Secrets Manager.
#[derive(Debug, Clone, Default)]
struct CountCalls(Arc<AtomicUsize>);

impl CountCalls {
    fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

impl Intercept for CountCalls {
    fn name(&self) -> &'static str {
        "CountCalls"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_secretsmanager::error::BoxError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

fn counted_client(config: &SdkConfig, counter: &CountCalls) -> aws_sdk_secretsmanager::Client {
    let conf = aws_sdk_secretsmanager::config::Builder::from(config)
        .interceptor(counter.clone())
        .build();
    aws_sdk_secretsmanager::Client::from_conf(conf)
}

#[tokio::test]
async fn secret_cache_spares_service_calls_within_its_ttl() {
    let config = lsbc_tests::aws::sdk_config().await;
    let writer = SecretsManagerStore::new(aws_sdk_secretsmanager::Client::new(&config));
    let name = format!("lsbc-test/{}/bc", unique());
    writer
        .put(&name, &SecretString::from("v1".to_owned()))
        .await
        .unwrap();

    let calls = CountCalls::default();
    let store = SecretsManagerStore::new(counted_client(&config, &calls));
    let read = async |freshness| {
        store
            .get(&name, freshness)
            .await
            .unwrap()
            .expose_secret()
            .to_owned()
    };
    assert_eq!(read(Freshness::Cached).await, "v1");
    assert_eq!(calls.count(), 1, "a cold cache reads the service");
    for _ in 0..3 {
        assert_eq!(read(Freshness::Cached).await, "v1");
    }
    assert_eq!(calls.count(), 1, "cached reads within the TTL make no call");
    assert_eq!(read(Freshness::Fresh).await, "v1");
    assert_eq!(calls.count(), 2, "a fresh read always calls");
    store
        .put(&name, &SecretString::from("v2".to_owned()))
        .await
        .unwrap();
    assert_eq!(calls.count(), 3);
    assert_eq!(read(Freshness::Cached).await, "v2", "put fills the cache");
    assert_eq!(calls.count(), 3);

    let uncached_calls = CountCalls::default();
    let uncached = SecretsManagerStore::new(counted_client(&config, &uncached_calls))
        .with_cache_ttl(Duration::ZERO);
    for _ in 0..2 {
        uncached.get(&name, Freshness::Cached).await.unwrap();
    }
    assert_eq!(uncached_calls.count(), 2, "a zero TTL caches nothing");
}

// ---- queues ----

/// One `#[tokio::test]` per queue check, each on a fresh queue.
macro_rules! queue_checks {
    ($($name:ident => $check:path $(, $arg:expr)?);* $(;)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            $check(&fresh_queue(vec![Q]).await, Q $(, $arg)?).await;
        }
    )*};
}

queue_checks! {
    queue_fifo_order => queue::fifo_order_per_group;
    queue_group_blocked => queue::group_blocked_while_in_flight;
    queue_visibility_redelivers => queue::visibility_timeout_redelivers, VISIBILITY;
    queue_change_visibility => queue::change_visibility_releases_at_once, VISIBILITY;
    queue_dedup => queue::duplicates_are_dropped_by_dedup_id;
    queue_dead_letter => queue::dead_letter_keeps_the_reason;
    queue_redrive => queue::redrive_after_max_receives, MAX_RECEIVES;
}

#[tokio::test]
async fn queue_independent() {
    let other = QueueName::Transform(Flow::Orders);
    queue::queues_are_independent(&fresh_queue(vec![Q, other]).await, Q, other).await;
}

#[tokio::test]
async fn queue_not_provisioned_is_not_configured() {
    let q = fresh_queue(vec![Q]).await;
    let err = q
        .receive(QueueName::Poll, 1, Duration::ZERO)
        .await
        .unwrap_err();
    assert!(matches!(err, QueueError::NotConfigured(_)), "{err:?}");
}

// ---- what only the AWS adapters have ----

async fn raw_item(
    clients: &AwsClients,
    table: &str,
    pk: &str,
    sk: &str,
) -> std::collections::HashMap<String, AttributeValue> {
    clients
        .dynamodb
        .get_item()
        .table_name(table)
        .key("pk", AttributeValue::S(pk.into()))
        .key("sk", AttributeValue::S(sk.into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap_or_else(|| panic!("no item {pk}/{sk}"))
}

fn num(item: &std::collections::HashMap<String, AttributeValue>, name: &str) -> i128 {
    match item.get(name) {
        Some(AttributeValue::N(n)) => n.parse().unwrap(),
        other => panic!("{name} is not a number: {other:?}"),
    }
}

fn text<'a>(item: &'a std::collections::HashMap<String, AttributeValue>, name: &str) -> &'a str {
    match item.get(name) {
        Some(AttributeValue::S(s)) => s,
        other => panic!("{name} is not a string: {other:?}"),
    }
}

/// The items are what the module docs (and so the SAM template) say.
#[tokio::test]
async fn state_items_follow_the_documented_schema() {
    let (store, clients) = fresh_store().await;
    let state = store.tables().state.clone();

    let cursor = lsbc_core::Cursor::at(SourceVersion::Sequence(5));
    CursorStore::save(&store, Flow::Stock, "Ledger", &cursor, 0)
        .await
        .unwrap();
    let item = raw_item(&clients, &state, "cursor#stock", "Ledger").await;
    assert_eq!(num(&item, "revision"), 1);
    assert_eq!(
        serde_json::from_str::<lsbc_core::Cursor>(text(&item, "body")).unwrap(),
        cursor
    );

    let at = an_hour_ago();
    store
        .save_settings(Flow::Orders, serde_json::json!({"a": 1}), 0, "ana", at)
        .await
        .unwrap();
    let item = raw_item(&clients, &state, "config#orders#settings", "v#000000000001").await;
    assert_eq!(text(&item, "author"), "ana");
    assert_eq!(text(&item, "body"), r#"{"a":1}"#);

    let link = Link {
        flow: Flow::Products,
        key: key("item:1"),
        target_id: "bc-1".into(),
        etag: None,
        source_version: SourceVersion::Timestamp(at),
        content_hash: ContentHash::of_json(&serde_json::json!(1)),
        match_key: None,
        extra: serde_json::Map::new(),
        updated_at: at,
    };
    store.put(&link).await.unwrap();
    let item = raw_item(&clients, &state, "link#products", "item:1").await;
    assert_eq!(num(&item, "vorder"), at.as_nanosecond());
    assert_eq!(text(&item, "gsi1pk"), "target#products#bc-1");
    assert_eq!(text(&item, "gsi1sk"), "item:1");

    let claim = ClaimKey::named("token-refresh");
    store
        .acquire(&claim, "me", Duration::from_secs(30), at)
        .await
        .unwrap();
    let item = raw_item(&clients, &state, "claim#lease#token-refresh", "claim").await;
    assert_eq!(text(&item, "owner"), "me");
    let until = (at + SignedDuration::from_secs(30)).as_millisecond();
    assert_eq!(num(&item, "until"), i128::from(until));
    let ttl = num(&item, "ttl");
    assert!(
        ttl * 1000 >= i128::from(until) && ttl * 1000 <= i128::from(until) + 120_000,
        "ttl {ttl} a little after until {until}"
    );

    let entry = activity::entry(Flow::Customers, "c-1", Outcome::Created, at);
    store.record(&entry).await.unwrap();
    let sk = format!("{}#{}", at.strftime("%Y-%m-%dT%H:%M:%S%.9fZ"), entry.id);
    let item = raw_item(&clients, &store.tables().activity, "customers", &sk).await;
    assert_eq!(text(&item, "rpk"), "customers#c-1");
    assert_eq!(num(&item, "ttl"), i128::from(entry.expires_at.as_second()));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(text(&item, "source")).unwrap(),
        entry.source.unwrap()
    );
}

/// Review finding 1: a sink asks "who links to this BC record?" right after another
/// record's link was written, and a secondary index may not have it yet. The item without
/// its index attributes is exactly what a lagging index shows: the link must still be found.
#[tokio::test]
async fn links_are_found_by_target_while_the_index_lags() {
    let (store, clients) = fresh_store().await;
    let state = store.tables().state.clone();
    let at = an_hour_ago();
    let link = |record: &str| Link {
        flow: Flow::Customers,
        key: key(record),
        target_id: "bc-7".into(),
        etag: None,
        source_version: SourceVersion::Timestamp(at),
        content_hash: ContentHash::of_json(&serde_json::json!(record)),
        match_key: None,
        extra: serde_json::Map::new(),
        updated_at: at,
    };
    store.put(&link("customer:1")).await.unwrap();
    clients
        .dynamodb
        .update_item()
        .table_name(&state)
        .key("pk", AttributeValue::S("link#customers".into()))
        .key("sk", AttributeValue::S("customer:1".into()))
        .update_expression("REMOVE gsi1pk, gsi1sk")
        .send()
        .await
        .unwrap();
    let found = store.find_by_target(Flow::Customers, "bc-7").await.unwrap();
    assert_eq!(
        found.iter().map(|l| l.key.as_str()).collect::<Vec<_>>(),
        ["customer:1"]
    );
    // A record that moved to another target is no longer among this one's.
    let mut moved = link("customer:1");
    moved.target_id = "bc-8".into();
    moved.source_version = SourceVersion::Timestamp(at + SignedDuration::from_secs(1));
    store.put(&moved).await.unwrap();
    store.put(&link("customer:2")).await.unwrap();
    let found = store.find_by_target(Flow::Customers, "bc-7").await.unwrap();
    assert_eq!(
        found.iter().map(|l| l.key.as_str()).collect::<Vec<_>>(),
        ["customer:2"]
    );
}

#[tokio::test]
async fn an_undecodable_item_is_corrupt_and_named() {
    let (store, clients) = fresh_store().await;
    clients
        .dynamodb
        .put_item()
        .table_name(&store.tables().state)
        .item("pk", AttributeValue::S("cursor#customers".into()))
        .item("sk", AttributeValue::S("Customer".into()))
        .item("body", AttributeValue::S("{not json".into()))
        .item("revision", AttributeValue::N("3".into()))
        .send()
        .await
        .unwrap();
    let err = store.load(Flow::Customers, "Customer").await.unwrap_err();
    let StoreError::Corrupt { key, message } = &err else {
        panic!("expected Corrupt, got {err:?}");
    };
    assert!(key.contains("customers/Customer"), "{key}");
    assert!(message.contains("body"), "{message}");
}

#[tokio::test]
async fn an_unreachable_service_is_unavailable() {
    lsbc_tests::aws::sdk_config().await;
    let config = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url("http://127.0.0.1:9")
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
        .load()
        .await;
    let clients = AwsClients::new(&config);
    let store = DynamoStore::new(clients.dynamodb.clone(), TableNames::with_prefix("nowhere"));
    let err = store.load(Flow::Orders, "Sale").await.unwrap_err();
    assert!(
        matches!(
            &err,
            StoreError::Unavailable {
                source: Some(_),
                ..
            }
        ),
        "{err:?}"
    );
    let err = SecretsManagerStore::new(clients.secrets.clone())
        .get("x", Freshness::Fresh)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");
    let queue = SqsQueue::new(
        clients.sqs.clone(),
        [(
            Q,
            lsbc_aws::QueueUrls {
                url: "http://127.0.0.1:9/000000000000/q.fifo".into(),
                dlq_url: "http://127.0.0.1:9/000000000000/d.fifo".into(),
            },
        )],
    );
    let err = queue.receive(Q, 1, Duration::ZERO).await.unwrap_err();
    assert!(matches!(err, QueueError::Unavailable { .. }), "{err:?}");
}

#[tokio::test]
async fn a_missing_table_is_unavailable_not_corrupt() {
    let clients = clients().await;
    let store = DynamoStore::new(clients.dynamodb, TableNames::with_prefix(&prefix()));
    let err = store
        .acquire(
            &ClaimKey::named("x"),
            "me",
            Duration::from_secs(1),
            an_hour_ago(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");
}

#[tokio::test]
async fn provisioning_is_idempotent_and_complete() {
    let clients = clients().await;
    let mut spec = queue_spec(vec![Q, QueueName::Poll]);
    let first = provision(&clients, &spec).await.unwrap();
    let again = provision(&clients, &spec).await.unwrap();
    assert_eq!(first, again, "a second run finds the same stack");
    assert_eq!(first.queues.len(), 2);

    for (table, index) in [
        (&first.tables.state, "gsi1"),
        (&first.tables.activity, "by_record"),
    ] {
        let described = clients
            .dynamodb
            .describe_table()
            .table_name(table)
            .send()
            .await
            .unwrap()
            .table
            .unwrap();
        assert_eq!(
            described.billing_mode_summary.and_then(|b| b.billing_mode),
            Some(BillingMode::PayPerRequest),
            "{table}"
        );
        let indexes: Vec<String> = described
            .global_secondary_indexes
            .unwrap_or_default()
            .into_iter()
            .filter_map(|i| i.index_name)
            .collect();
        assert_eq!(indexes, [index], "{table}");
        let ttl = clients
            .dynamodb
            .describe_time_to_live()
            .table_name(table)
            .send()
            .await
            .unwrap()
            .time_to_live_description
            .unwrap();
        assert_eq!(
            ttl.time_to_live_status,
            Some(TimeToLiveStatus::Enabled),
            "{table}"
        );
        assert_eq!(ttl.attribute_name.as_deref(), Some("ttl"), "{table}");
    }

    let urls = &first.queues[&Q];
    let attributes = |url: String| {
        let sqs = clients.sqs.clone();
        async move {
            sqs.get_queue_attributes()
                .queue_url(url)
                .attribute_names(QueueAttributeName::All)
                .send()
                .await
                .unwrap()
                .attributes
                .unwrap()
        }
    };
    let main = attributes(urls.url.clone()).await;
    let dlq = attributes(urls.dlq_url.clone()).await;
    assert_eq!(main[&QueueAttributeName::FifoQueue], "true");
    assert_eq!(dlq[&QueueAttributeName::FifoQueue], "true");
    assert_eq!(main[&QueueAttributeName::VisibilityTimeout], "2");
    let redrive: serde_json::Value =
        serde_json::from_str(&main[&QueueAttributeName::RedrivePolicy]).unwrap();
    assert_eq!(
        redrive["deadLetterTargetArn"],
        serde_json::json!(dlq[&QueueAttributeName::QueueArn])
    );
    assert_eq!(
        redrive["maxReceiveCount"].to_string().trim_matches('"'),
        MAX_RECEIVES.to_string()
    );
    assert!(urls.url.ends_with(&spec.queue_name(Q)), "{}", urls.url);
    assert!(urls.dlq_url.ends_with(&spec.dead_letter_queue_name(Q)));

    // Changed settings on a second run update the existing queues.
    spec.visibility_timeout = Duration::from_secs(7);
    spec.max_receive_count = 4;
    let changed = provision(&clients, &spec).await.unwrap();
    assert_eq!(changed, first);
    let main = attributes(urls.url.clone()).await;
    assert_eq!(main[&QueueAttributeName::VisibilityTimeout], "7");
    let redrive: serde_json::Value =
        serde_json::from_str(&main[&QueueAttributeName::RedrivePolicy]).unwrap();
    assert_eq!(
        redrive["maxReceiveCount"].to_string().trim_matches('"'),
        "4"
    );
}
