//! The transform and push handlers under an emulated SQS event source mapping, on real SQS
//! FIFO queues and DynamoDB tables in the AWS emulator: batches are received from SQS,
//! handed to the handlers, what succeeded is deleted, failures come back after the
//! visibility timeout, and a poison message ends in the dead-letter queue — with its reason
//! when the handler parks it, without when SQS's redrive does — while the rest of its
//! batch goes through.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use lsbc_aws::{AwsClients, REASON_ATTRIBUTE, StackSpec, provision};
use lsbc_core::envelope::Envelope;
use lsbc_core::ports::{
    Action, ActivityLog, ActivityQuery, LinkStore, OutboundMessage, Outcome, PageToken,
    PushRequest, Queue, ReadRange, Sink, SinkOutcome, Source, SourcePage, SystemClock, Transformed,
    Transformer,
};
use lsbc_core::stages::ActivityPolicy;
use lsbc_core::{
    ExternalError, ExternalKind, Flow, MatchKey, Overlap, QueueName, Record, RecordKey,
    SourceVersion, StageError, System, TraceId,
};
use lsbc_push::handler::PushHandler;
use lsbc_tests::esm::EventSourceMapping;
use lsbc_transform::handler::TransformHandler;
use serde_json::json;

const FLOW: Flow = Flow::Customers;
const VISIBILITY: Duration = Duration::from_secs(1);

/// Records are only ever handed over in messages here; the source is never read.
#[derive(Debug)]
struct NoSource;

#[async_trait]
impl Source for NoSource {
    fn flow(&self) -> Flow {
        FLOW
    }
    fn stream(&self) -> &'static str {
        "Customer"
    }
    fn overlap(&self) -> Overlap {
        Overlap::Count(0)
    }
    async fn signpost(&self, now: Timestamp) -> Result<SourceVersion, StageError> {
        Ok(SourceVersion::Timestamp(now))
    }
    async fn read_page(
        &self,
        _: &ReadRange,
        _: Option<&PageToken>,
    ) -> Result<SourcePage, StageError> {
        Ok(SourcePage::default())
    }
    async fn fetch(&self, _: &RecordKey) -> Result<Option<Record>, StageError> {
        Ok(None)
    }
}

#[derive(Debug)]
struct ByEmail;

#[async_trait]
impl Transformer for ByEmail {
    fn flow(&self) -> Flow {
        FLOW
    }
    async fn transform(&self, record: &Record) -> Result<Vec<Transformed>, StageError> {
        Ok(vec![Transformed {
            key: record.key.clone(),
            match_key: MatchKey::parse(record.payload["email"].as_str().unwrap()).unwrap(),
            command: record.payload.clone(),
            warnings: vec![],
        }])
    }
}

/// A target that is down for one record (`poison`), answers 429 to the first four tries of
/// `limited` and 503 to the first of `flaky`, and is fine for every other.
#[derive(Debug, Default)]
struct Target {
    written: Mutex<BTreeMap<String, serde_json::Value>>,
    tries: Mutex<BTreeMap<String, u32>>,
}

#[async_trait]
impl Sink for Target {
    fn flow(&self) -> Flow {
        FLOW
    }
    async fn upsert(&self, request: PushRequest<'_>) -> Result<SinkOutcome, StageError> {
        let tries = {
            let mut tries = self.tries.lock().unwrap();
            let n = tries.entry(request.key.to_string()).or_default();
            *n += 1;
            *n
        };
        if request.key.as_str() == "slow" {
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
        if request.key.as_str() == "limited" && tries <= 4 {
            return Err(ExternalError::new(
                System::BusinessCentral,
                ExternalKind::RateLimited {
                    retry_after: Some(Duration::from_millis(200)),
                },
                "429 Too Many Requests",
            )
            .into());
        }
        if request.key.as_str() == "flaky" && tries == 1 {
            return Err(ExternalError::new(
                System::BusinessCentral,
                ExternalKind::Transient,
                "503 once",
            )
            .into());
        }
        if request.key.as_str() == "poison" {
            return Err(ExternalError::new(
                System::BusinessCentral,
                ExternalKind::Transient,
                "503 Service Unavailable for this one",
            )
            .into());
        }
        self.written
            .lock()
            .unwrap()
            .insert(request.key.to_string(), request.command.clone());
        Ok(SinkOutcome {
            action: Action::Created,
            target_id: format!("bc-{}", request.key),
            etag: None,
            extra: serde_json::Map::new(),
            sent: vec![request.command.clone()],
        })
    }
}

fn record_message(key: &str, email: &str) -> OutboundMessage {
    let record = Record {
        flow: FLOW,
        key: RecordKey::parse(key).unwrap(),
        version: SourceVersion::Timestamp(Timestamp::now()),
        payload: json!({"name": key, "email": email}),
    };
    let env = Envelope::record(&record, TraceId::new());
    OutboundMessage {
        body: env.encode().unwrap(),
        group_id: env.group_id(),
        dedup_id: env.dedup_id(),
    }
}

struct Pipeline {
    redrive: u32,
    clients: AwsClients,
    stack: lsbc_aws::Stack,
    target: Target,
}

impl Pipeline {
    async fn new(max_receive_count: u32) -> Self {
        let clients = lsbc_tests::aws::emulator_clients().await;
        let spec = StackSpec {
            queues: vec![QueueName::Transform(FLOW), QueueName::Push(FLOW)],
            max_receive_count,
            visibility_timeout: VISIBILITY,
            ..StackSpec::new(format!("esm{}", lsbc_tests::contract::unique()))
        };
        let stack = provision(&clients, &spec).await.unwrap();
        Self {
            redrive: max_receive_count,
            clients,
            stack,
            target: Target::default(),
        }
    }

    fn mapping(&self, queue: QueueName) -> EventSourceMapping {
        EventSourceMapping::new(self.clients.sqs.clone(), &self.stack.queues[&queue].url, 10)
    }

    /// Sends the records, then runs the transform and push functions until their queues
    /// are quiet. Returns the push deliveries.
    async fn run(
        &self,
        records: Vec<OutboundMessage>,
        max_receives: u32,
    ) -> Vec<lsbc_tests::esm::Delivery> {
        self.run_with_time(records, max_receives, None).await
    }

    /// Like [`run`](Self::run), each push invocation given `time` before its deadline.
    async fn run_with_time(
        &self,
        records: Vec<OutboundMessage>,
        max_receives: u32,
        time: Option<Duration>,
    ) -> Vec<lsbc_tests::esm::Delivery> {
        let store = self.stack.store(&self.clients);
        let queue = self.stack.queue(&self.clients);
        queue
            .send(QueueName::Transform(FLOW), records)
            .await
            .unwrap();
        let transform = TransformHandler {
            flow: FLOW,
            source: &NoSource,
            transformer: &ByEmail,
            queue: &queue,
            activity: &store,
            clock: &SystemClock,
            policy: ActivityPolicy::default(),
            max_receives,
            redrive: self.redrive,
            attempts: &store,
            concurrency: 4,
        };
        let push = PushHandler {
            flow: FLOW,
            sink: &self.target,
            links: &store,
            claims: &store,
            queue: &queue,
            activity: &store,
            clock: &SystemClock,
            policy: ActivityPolicy::default(),
            max_receives,
            redrive: self.redrive,
            attempts: &store,
            concurrency: 4,
        };
        let quiet = VISIBILITY * 3;
        self.mapping(QueueName::Transform(FLOW))
            .drain(quiet, |event| transform.handle(event))
            .await;
        self.mapping(QueueName::Push(FLOW))
            .drain(quiet, |event| {
                push.handle_until(event, time.map(|t| std::time::Instant::now() + t))
            })
            .await
    }

    async fn dead_letters(&self, queue: QueueName) -> Vec<(String, Option<String>)> {
        let out = self
            .clients
            .sqs
            .receive_message()
            .queue_url(&self.stack.queues[&queue].dlq_url)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .send()
            .await
            .unwrap();
        out.messages()
            .iter()
            .map(|m| {
                let env = Envelope::decode(m.body().unwrap()).unwrap();
                let reason = m
                    .message_attributes()
                    .and_then(|a| a.get(REASON_ATTRIBUTE))
                    .and_then(|v| v.string_value().map(str::to_owned));
                (env.key.to_string(), reason)
            })
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_poison_message_is_parked_with_its_reason_while_its_batch_goes_through() {
    // SQS would redrive after 5 receives; the handler gives up after 3, with the reason.
    let p = Pipeline::new(5).await;
    let mut records: Vec<OutboundMessage> = (1..=5)
        .map(|i| record_message(&format!("c{i}"), &format!("c{i}@shop.test")))
        .collect();
    records.push(record_message("poison", "shared@shop.test"));
    // Behind the poison message in its push group (same match key): waits, then goes through.
    records.push(record_message("behind", "shared@shop.test"));
    let deliveries = p.run(records, 3).await;

    assert!(
        deliveries.iter().any(|d| d.failed > 0 && d.deleted > 0),
        "a batch had failures and successes: {deliveries:?}"
    );
    let written: Vec<String> = p.target.written.lock().unwrap().keys().cloned().collect();
    assert_eq!(written, ["behind", "c1", "c2", "c3", "c4", "c5"]);

    let dead = p.dead_letters(QueueName::Push(FLOW)).await;
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0].0, "poison");
    let reason = dead[0].1.as_deref().unwrap();
    assert!(
        reason.starts_with("gave up after 3 attempts: Business Central: 503"),
        "{reason}"
    );
    assert!(p.dead_letters(QueueName::Transform(FLOW)).await.is_empty());

    let store = p.stack.store(&p.clients);
    for key in ["c1", "behind"] {
        let link = store
            .get(FLOW, &RecordKey::parse(key).unwrap())
            .await
            .unwrap();
        assert_eq!(link.unwrap().target_id, format!("bc-{key}"));
    }
    assert!(
        store
            .get(FLOW, &RecordKey::parse("poison").unwrap())
            .await
            .unwrap()
            .is_none()
    );
    let failed = store
        .query(&ActivityQuery {
            flow: Some(FLOW),
            outcome: Some(Outcome::Failed),
            ..ActivityQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].key.as_str(), "poison");
}

/// A queue whose redrive limit is below the handler's patience: the delivery before SQS
/// would move the message by itself, the handler parks it with its reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_delivery_before_the_queues_redrive_parks_with_the_reason() {
    let p = Pipeline::new(3).await;
    let records = vec![
        record_message("poison", "p@shop.test"),
        record_message("fine", "f@shop.test"),
    ];
    p.run(records, 10).await;
    let dead = p.dead_letters(QueueName::Push(FLOW)).await;
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0].0, "poison");
    let reason = dead[0].1.as_deref().unwrap_or_default();
    assert!(reason.starts_with("gave up after 2 attempts"), "{reason}");
    assert!(p.target.written.lock().unwrap().contains_key("fine"));
}

/// Review finding 12: in one FIFO group, a message answered 429 four times and the one
/// behind it (held meanwhile, then failing once) spend no attempts while they wait; both go
/// through, and nothing reaches the dead-letter queue.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn waiting_behind_a_rate_limited_message_spends_no_attempts() {
    let p = Pipeline::new(10).await;
    let records = vec![
        record_message("limited", "group@shop.test"),
        record_message("flaky", "group@shop.test"),
        record_message("last", "group@shop.test"),
    ];
    // Two failed attempts allowed: the four 429s and the held deliveries must not count.
    p.run(records, 2).await;
    let written: Vec<String> = p.target.written.lock().unwrap().keys().cloned().collect();
    assert_eq!(written, ["flaky", "last", "limited"]);
    assert!(p.dead_letters(QueueName::Push(FLOW)).await.is_empty());
}

/// Messages of one FIFO group that come back after a failure are delivered again in the
/// group's order, before anything sent after them (the mapping restores the order SQS
/// guarantees where the emulator loses it).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_fifo_group_comes_back_in_order_after_a_failure() {
    use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};

    let p = Pipeline::new(10).await;
    let queue = p.stack.queue(&p.clients);
    let send = |bodies: &[&str]| {
        bodies
            .iter()
            .map(|b| OutboundMessage {
                body: (*b).to_owned(),
                group_id: "g".into(),
                dedup_id: (*b).to_owned(),
            })
            .collect::<Vec<_>>()
    };
    queue
        .send(QueueName::Push(FLOW), send(&["m1", "m2", "m3"]))
        .await
        .unwrap();
    let mapping = p.mapping(QueueName::Push(FLOW));
    let seen: Mutex<Vec<String>> = Mutex::default();
    let failed_once = Mutex::new(false);
    let handler = |event: SqsEvent| {
        let mut response = SqsBatchResponse::default();
        let mut first = failed_once.lock().unwrap();
        for record in event.records {
            let body = record.body.clone().unwrap();
            if *first {
                seen.lock().unwrap().push(body);
            } else {
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = record.message_id.clone().unwrap();
                response.batch_item_failures.push(failure);
            }
        }
        *first = true;
        std::future::ready(response)
    };
    let d = mapping.deliver(&handler).await;
    assert_eq!((d.received, d.failed), (3, 3));
    queue
        .send(QueueName::Push(FLOW), send(&["m4"]))
        .await
        .unwrap();
    mapping.drain(VISIBILITY * 3, &handler).await;
    assert_eq!(*seen.lock().unwrap(), ["m1", "m2", "m3", "m4"]);
}

/// Review finding 13: an invocation answers before its deadline. One record whose write
/// hangs is cut short and comes back (and is parked with the reason after its attempts);
/// the others of its batch are done, not redone.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hanging_write_is_cut_at_the_deadline_and_the_batch_goes_through() {
    let p = Pipeline::new(10).await;
    let mut records: Vec<OutboundMessage> = (1..=5)
        .map(|i| record_message(&format!("c{i}"), &format!("c{i}@shop.test")))
        .collect();
    records.push(record_message("slow", "slow@shop.test"));
    // 4 s per invocation: 1 s of work after the 3 s reserve.
    let deliveries = p
        .run_with_time(records, 2, Some(Duration::from_secs(4)))
        .await;
    let written: Vec<String> = p.target.written.lock().unwrap().keys().cloned().collect();
    assert_eq!(written, ["c1", "c2", "c3", "c4", "c5"]);
    assert!(
        deliveries.iter().any(|d| d.failed > 0 && d.deleted > 0),
        "the slow one came back while the others were done: {deliveries:?}"
    );
    let dead = p.dead_letters(QueueName::Push(FLOW)).await;
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0].0, "slow");
    let reason = dead[0].1.as_deref().unwrap_or_default();
    assert!(
        reason.starts_with("gave up after 2 attempts: the function's time ran out"),
        "{reason}"
    );
}
