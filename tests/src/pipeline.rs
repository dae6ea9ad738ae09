//! The customers (and later other) flows end to end on either home, for scenario tests:
//! both simulators, the flow's real connectors, and the stages driven as each home drives
//! them — the local runner on SQLite, or the Lambda handlers under the emulated event
//! source mapping on the AWS emulator's SQS, DynamoDB and Secrets Manager.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use lsbc_aws::{SecretsManagerStore, StackSpec, provision};
use lsbc_cli::sandboxes::{SandboxOptions, Sandboxes};
use lsbc_connectors::{ConnectorContext, build_flow};
use lsbc_core::ports::{
    ActivityLog, ConfigStore, FlowParts, LinkStore, MappingStore, PushRequest, Queue, SecretStore,
    SettingsStore, Sink, SinkOutcome, SystemClock,
};
use lsbc_core::stages::{ActivityPolicy, PollBudget};
use lsbc_core::{ExternalError, ExternalKind, Flow, QueueName, StageError, System};
use lsbc_embedded::{Embedded, FileSecretStore, LocalRunner, QueueOptions, RunnerOptions};
use lsbc_sandbox::business_central::{BusinessCentralSandboxConfig, ClientIdAnswer};
use serde_json::Value;

use crate::esm::EventSourceMapping;

/// Changes the flow's sink (e.g. to simulate a crash after the target write).
pub type SinkWrapper = Arc<dyn Fn(Arc<dyn Sink>) -> Arc<dyn Sink> + Send + Sync>;

/// How a home's flow is set up before it runs.
#[derive(Default, Clone)]
#[allow(missing_debug_implementations)] // holds a closure
pub struct Setup {
    /// Wraps the flow's sink.
    pub wrap: Option<SinkWrapper>,
    /// The flow's settings, saved before the flow is built.
    pub settings: Option<Value>,
    /// The flow's mapping, saved before the flow is built.
    pub mapping: Option<Value>,
    /// A cursor of one of the flow's streams, saved before the flow is built (a deployment
    /// that polled before).
    pub cursor: Option<(&'static str, lsbc_core::Cursor)>,
}

impl Setup {
    /// Saves the settings and mapping into `config`, the cursor into `cursors`.
    async fn save(
        &self,
        flow: Flow,
        config: &dyn ConfigStore,
        cursors: &dyn lsbc_core::ports::CursorStore,
    ) {
        if let Some((stream, cursor)) = &self.cursor {
            cursors.save(flow, stream, cursor, 0).await.expect("cursor");
        }
        let at = jiff::Timestamp::now();
        if let Some(settings) = &self.settings {
            config
                .save_settings(flow, settings.clone(), 0, "test", at)
                .await
                .expect("settings");
        }
        if let Some(mapping) = &self.mapping {
            config
                .save_mapping(flow, mapping.clone(), 0, "test", at)
                .await
                .expect("mapping");
        }
    }

    fn apply(&self, parts: &mut FlowParts) {
        if let Some(wrap) = &self.wrap {
            parts.sink = wrap(parts.sink.clone());
        }
    }
}

/// A sink whose first call for each record writes the target, then loses the answer (as a
/// crash or a timeout after Business Central committed would).
#[allow(missing_debug_implementations)] // wraps a sink
pub struct LosesTheFirstAnswer {
    inner: Arc<dyn Sink>,
    lost: Mutex<BTreeSet<String>>,
}

impl LosesTheFirstAnswer {
    /// The wrapper, for [`Setup::wrap`].
    pub fn wrapper() -> SinkWrapper {
        Arc::new(|inner| {
            Arc::new(Self {
                inner,
                lost: Mutex::default(),
            })
        })
    }
}

#[async_trait]
impl Sink for LosesTheFirstAnswer {
    fn flow(&self) -> Flow {
        self.inner.flow()
    }

    async fn upsert(&self, request: PushRequest<'_>) -> Result<SinkOutcome, StageError> {
        let outcome = self.inner.upsert(request).await?;
        let first = self
            .lost
            .lock()
            .expect("not poisoned")
            .insert(request.key.to_string());
        if first {
            return Err(ExternalError::new(
                System::BusinessCentral,
                ExternalKind::Transient,
                "connection lost after Business Central committed the write",
            )
            .into());
        }
        Ok(outcome)
    }
}

/// A home the flow runs on.
#[async_trait]
pub trait Home: Send + Sync {
    /// Polls the flow and handles everything that becomes visible, until the queues are
    /// quiet.
    async fn sync(&self);
    /// The links.
    fn links(&self) -> &dyn LinkStore;
    /// The activity log.
    fn activity(&self) -> &dyn ActivityLog;
    /// The queues.
    fn queue(&self) -> &dyn Queue;
}

const LS: &str = "lightspeed";
const BC: &str = "business-central";

/// The embedded home in a temporary directory.
#[allow(missing_debug_implementations)] // holds the runner and stores; nothing to show
pub struct EmbeddedHome {
    store: Embedded,
    runner: LocalRunner,
    flows: Vec<Flow>,
    _dir: tempfile::TempDir,
}

impl EmbeddedHome {
    /// Builds `flow` on a fresh embedded home against `sandboxes`.
    pub async fn new(sandboxes: &Sandboxes, flow: Flow, setup: Setup) -> Self {
        Self::with_flows(sandboxes, vec![(flow, setup)]).await
    }

    /// Builds `flows` on one fresh embedded home (one store: the stock flow reads the
    /// orders flow's states), synced in the order given.
    pub async fn with_flows(sandboxes: &Sandboxes, flows: Vec<(Flow, Setup)>) -> Self {
        Self::sharing(sandboxes, sandboxes, flows).await
    }

    /// Builds `flows` on one fresh embedded home reading the Lightspeed of `lightspeed` and
    /// writing the Business Central of `business_central` (two accounts, one company).
    pub async fn sharing(
        lightspeed: &Sandboxes,
        business_central: &Sandboxes,
        flows: Vec<(Flow, Setup)>,
    ) -> Self {
        let sandboxes = lightspeed;
        let dir = tempfile::tempdir().expect("temporary directory");
        let store = Embedded::open_with(
            &dir.path().join("state.sqlite"),
            Arc::new(SystemClock),
            QueueOptions {
                visibility: Duration::from_millis(300),
                ..QueueOptions::default()
            },
        )
        .expect("embedded store");
        let secrets = Arc::new(FileSecretStore::new(dir.path().join("credentials.json")));
        sandboxes
            .store_secrets(secrets.as_ref(), LS, BC)
            .await
            .expect("secrets");
        let bc = serde_json::to_string(&business_central.business_central_secret())
            .expect("Business Central secret");
        secrets
            .put(BC, &secrecy::SecretString::from(bc))
            .await
            .expect("secrets");
        let context = ConnectorContext {
            secrets,
            claims: Arc::new(store.clone()),
            budgets: Arc::new(store.clone()),
            config: Arc::new(store.clone()),
            links: Arc::new(store.clone()),
            cursors: Arc::new(store.clone()),
            states: Arc::new(store.clone()),
            clock: Arc::new(SystemClock),
            lightspeed_secret: LS.into(),
            business_central_secret: BC.into(),
        };
        let mut runner = LocalRunner::new(store.clone(), RunnerOptions::default());
        for (flow, setup) in &flows {
            setup
                .save(*flow, context.config.as_ref(), context.cursors.as_ref())
                .await;
        }
        for (flow, setup) in &flows {
            let mut parts = build_flow(*flow, &context).await.expect("flow");
            setup.apply(&mut parts);
            runner.add_flow(parts);
        }
        Self {
            store,
            runner,
            flows: flows.into_iter().map(|(f, _)| f).collect(),
            _dir: dir,
        }
    }

    /// Polls `flow` and handles everything until its queues are quiet.
    pub async fn sync_flow(&self, flow: Flow) {
        // Retries come back after the short visibility timeout: run until nothing waits.
        for _ in 0..50 {
            let report = self.runner.run_flow(flow).await.expect("run");
            if report.waiting == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(350)).await;
        }
        panic!("the embedded queues did not drain");
    }

    /// Polls `flow` once and handles what is visible (retries left waiting).
    pub async fn run_once(&self, flow: Flow) -> Result<lsbc_embedded::FlowReport, StageError> {
        self.runner.run_flow(flow).await
    }

    /// The store (for direct stage calls).
    pub fn store(&self) -> &Embedded {
        &self.store
    }
}

#[async_trait]
impl Home for EmbeddedHome {
    async fn sync(&self) {
        for flow in &self.flows {
            self.sync_flow(*flow).await;
        }
    }
    fn links(&self) -> &dyn LinkStore {
        &self.store
    }
    fn activity(&self) -> &dyn ActivityLog {
        &self.store
    }
    fn queue(&self) -> &dyn Queue {
        &self.store
    }
}

/// The AWS home on the emulator: fresh tables, FIFO queues and secrets of its own.
#[allow(missing_debug_implementations)] // holds clients and stores; nothing to show
pub struct AwsHome {
    mappings: BTreeMap<QueueName, EventSourceMapping>,
    store: lsbc_aws::DynamoStore,
    queue: lsbc_aws::SqsQueue,
    parts: BTreeMap<Flow, FlowParts>,
    flows: Vec<Flow>,
}

impl AwsHome {
    /// Builds `flow` on fresh AWS resources against `sandboxes`.
    pub async fn new(sandboxes: &Sandboxes, flow: Flow, setup: Setup) -> Self {
        Self::with_flows(sandboxes, vec![(flow, setup)]).await
    }

    /// Builds `flows` on one set of fresh AWS resources (one state table: the stock flow
    /// reads the orders flow's states), synced in the order given.
    pub async fn with_flows(sandboxes: &Sandboxes, flows: Vec<(Flow, Setup)>) -> Self {
        let clients = crate::aws::emulator_clients().await;
        let prefix = format!("e2e{}", crate::contract::unique());
        let mut queues = vec![QueueName::Poll];
        for (flow, _) in &flows {
            queues.extend([QueueName::Transform(*flow), QueueName::Push(*flow)]);
        }
        let spec = StackSpec {
            queues: queues.clone(),
            max_receive_count: 8,
            visibility_timeout: Duration::from_secs(1),
            ..StackSpec::new(prefix.clone())
        };
        let stack = provision(&clients, &spec).await.expect("provision");
        let store = stack.store(&clients);
        let queue = stack.queue(&clients);
        let secrets: Arc<dyn SecretStore> =
            Arc::new(SecretsManagerStore::new(clients.secrets.clone()));
        let (ls, bc) = (
            format!("{prefix}/lightspeed"),
            format!("{prefix}/business-central"),
        );
        sandboxes
            .store_secrets(secrets.as_ref(), &ls, &bc)
            .await
            .expect("secrets");
        let context = ConnectorContext {
            secrets,
            claims: Arc::new(store.clone()),
            budgets: Arc::new(store.clone()),
            config: Arc::new(store.clone()),
            links: Arc::new(store.clone()),
            cursors: Arc::new(store.clone()),
            states: Arc::new(store.clone()),
            clock: Arc::new(SystemClock),
            lightspeed_secret: ls,
            business_central_secret: bc,
        };
        for (flow, setup) in &flows {
            setup
                .save(*flow, context.config.as_ref(), context.cursors.as_ref())
                .await;
        }
        let mut parts = BTreeMap::new();
        for (flow, setup) in &flows {
            let mut built = build_flow(*flow, &context).await.expect("flow");
            setup.apply(&mut built);
            parts.insert(*flow, built);
        }
        let mappings = queues
            .into_iter()
            .filter(|q| *q != QueueName::Poll)
            .map(|q| {
                let mapping =
                    EventSourceMapping::new(clients.sqs.clone(), &stack.queues[&q].url, 10);
                (q, mapping)
            })
            .collect();
        Self {
            mappings,
            store,
            queue,
            parts,
            flows: flows.into_iter().map(|(f, _)| f).collect(),
        }
    }

    /// The record states.
    pub fn states(&self) -> &dyn lsbc_core::ports::StateStore {
        &self.store
    }

    /// The queue's event source mapping (one per queue for the home's life: it remembers
    /// the order of the FIFO groups' messages left in the queue).
    fn mapping(&self, queue: QueueName) -> &EventSourceMapping {
        &self.mappings[&queue]
    }
}

impl AwsHome {
    /// Polls `flow` and drains its queues through the Lambda handlers.
    pub async fn sync_flow(&self, flow: Flow) {
        let parts = &self.parts[&flow];
        let sources = BTreeMap::from([(flow, parts.sources().cloned().collect())]);
        let poll = lsbc_poll::handler::PollHandler {
            sources: &sources,
            cursors: &self.store,
            claims: &self.store,
            queue: &self.queue,
            activity: &self.store,
            clock: &SystemClock,
            budget: PollBudget::default(),
            policy: ActivityPolicy::default(),
            max_receives: 5,
            redrive: 8,
            attempts: &self.store,
        };
        // Several poll invocations at once (a schedule and a continuation overlapping):
        // the flow's lease lets one read, the others find it running.
        loop {
            let reports =
                futures::future::join_all((0..WORKERS).map(|_| poll.poll_flow(flow))).await;
            let reports: Vec<_> = reports.into_iter().map(|r| r.expect("poll")).collect();
            if !reports.iter().any(|r| r.more) {
                break;
            }
        }
        let transform = lsbc_transform::handler::TransformHandler {
            flow,
            source: parts.source.as_ref(),
            transformer: parts.transformer.as_ref(),
            queue: &self.queue,
            activity: &self.store,
            clock: &SystemClock,
            policy: ActivityPolicy::default(),
            max_receives: 5,
            redrive: 8,
            attempts: &self.store,
            concurrency: 4,
        };
        let push = lsbc_push::handler::PushHandler {
            flow,
            sink: parts.sink.as_ref(),
            links: &self.store,
            claims: &self.store,
            queue: &self.queue,
            activity: &self.store,
            clock: &SystemClock,
            policy: ActivityPolicy::default(),
            max_receives: 5,
            redrive: 8,
            attempts: &self.store,
            concurrency: 4,
        };
        let quiet = Duration::from_millis(2500);
        self.mapping(QueueName::Transform(flow))
            .drain_with(quiet, WORKERS, |event| transform.handle(event))
            .await;
        self.mapping(QueueName::Push(flow))
            .drain_with(quiet, WORKERS, |event| push.handle(event))
            .await;
    }
}

/// Invocations of each stage the AWS home runs at once, as Lambda scales out.
pub const WORKERS: usize = 3;

#[async_trait]
impl Home for AwsHome {
    async fn sync(&self) {
        for flow in &self.flows {
            self.sync_flow(*flow).await;
        }
    }
    fn links(&self) -> &dyn LinkStore {
        &self.store
    }
    fn activity(&self) -> &dyn ActivityLog {
        &self.store
    }
    fn queue(&self) -> &dyn Queue {
        &self.queue
    }
}

/// Asserts that neither simulator answered a 429: Lightspeed's burst limiter is on in every
/// suite (FIDELITY.md #10) and both clients keep within the limits.
pub fn assert_unthrottled(s: &Sandboxes) {
    let lightspeed = s.lightspeed.stats().requests.throttled;
    let business_central = s.business_central.stats().totals.throttled;
    assert_eq!(
        (lightspeed, business_central),
        (0, 0),
        "429s answered by (Lightspeed, Business Central)"
    );
}

/// Fresh simulators for one scenario (fast clocks, no data yet); Business Central answers
/// a client-chosen `id` as `LSBC_SANDBOX_BC_IDS` says (honoured when unset).
pub async fn sandboxes() -> Sandboxes {
    sandboxes_answering(SandboxOptions::default().business_central_ids).await
}

/// Fresh simulators whose Business Central answers a client-chosen `id` with `ids`.
pub async fn sandboxes_answering(ids: ClientIdAnswer) -> Sandboxes {
    sandboxes_tuned(ids, |_| {}).await
}

/// Fresh simulators whose Business Central answers a client-chosen `id` with `ids`, its
/// configuration changed by `tune` first (e.g. an answer its docs leave open).
pub async fn sandboxes_tuned(
    ids: ClientIdAnswer,
    tune: impl FnOnce(&mut BusinessCentralSandboxConfig),
) -> Sandboxes {
    let (lightspeed, mut business_central) = Sandboxes::configs(SandboxOptions {
        seed: 11,
        lightspeed_time_scale: 20.0,
        business_central_time_scale: 60.0,
        business_central_ids: ids,
    })
    .expect("simulator configurations");
    tune(&mut business_central);
    Sandboxes::start_with(lightspeed, business_central)
        .await
        .expect("simulators")
}
