//! The local runner: poll → transform → push for every configured flow, in one process, on
//! the embedded store and queues. The same stage functions and the same settling as the
//! Lambda handlers; only the driving loop is different.

use std::collections::BTreeMap;
use std::time::Duration;

use lsbc_core::ports::{FlowParts, Outcome, Queue};
use lsbc_core::stages::{
    ActivityPolicy, PollBudget, PollStage, PushStage, Settled, Settler, TransformStage,
    handle_envelope, poll, process_batch, push, transform,
};
use lsbc_core::{Flow, QueueName, StageError};
use serde::Serialize;

use crate::Embedded;

/// How the runner works.
#[derive(Debug, Clone, Copy)]
pub struct RunnerOptions {
    /// Messages handled at once (FIFO groups in parallel).
    pub concurrency: usize,
    /// Messages received per batch.
    pub batch_size: usize,
    /// Deliveries after which a failing message is dead-lettered with its reason.
    pub max_receives: u32,
    /// Pages per poll before checkpointing and moving on.
    pub poll_budget: PollBudget,
    /// How activity is kept.
    pub policy: ActivityPolicy,
}

impl Default for RunnerOptions {
    fn default() -> Self {
        Self {
            concurrency: 4,
            batch_size: 10,
            max_receives: 5,
            poll_budget: PollBudget::default(),
            policy: ActivityPolicy::default(),
        }
    }
}

/// What one run did for one flow.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FlowReport {
    /// Records read from the source.
    pub read: usize,
    /// Records handed to the transform stage (new or changed).
    pub sent: usize,
    /// Records re-read with unchanged content (not handed on again).
    pub duplicates: usize,
    /// Commands made by the transform stage.
    pub commands: usize,
    /// Target records created.
    pub created: usize,
    /// Target records updated.
    pub updated: usize,
    /// Commands that needed no target request.
    pub unchanged: usize,
    /// Records or commands skipped by a rule.
    pub skipped: usize,
    /// Records or commands parked in a dead-letter queue.
    pub failed: usize,
    /// Deliveries that failed for now and will be retried.
    pub retried: usize,
    /// Messages still waiting in the flow's queues at the end (delayed retries).
    pub waiting: usize,
}

impl FlowReport {
    fn count(&mut self, settled: &Settled) {
        match settled {
            Settled::Done(Some(Outcome::Created)) => self.created += 1,
            Settled::Done(Some(Outcome::Updated)) => self.updated += 1,
            Settled::Done(Some(Outcome::Unchanged)) => self.unchanged += 1,
            Settled::Done(Some(Outcome::Skipped)) | Settled::Skipped => self.skipped += 1,
            Settled::DeadLettered | Settled::Done(Some(Outcome::Failed)) => self.failed += 1,
            Settled::Retrying | Settled::Done(Some(Outcome::Retrying)) => self.retried += 1,
            Settled::Done(None) | Settled::NotAttempted => {}
        }
    }

    fn add(&mut self, other: &FlowReport) {
        self.read += other.read;
        self.sent += other.sent;
        self.duplicates += other.duplicates;
        self.commands += other.commands;
        self.created += other.created;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.skipped += other.skipped;
        self.failed += other.failed;
        self.retried += other.retried;
        self.waiting = other.waiting;
    }
}

/// What one run did, per flow.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RunReport {
    /// Per flow.
    pub flows: BTreeMap<Flow, FlowReport>,
}

impl RunReport {
    /// Adds another run's counts (the queue depth is the later run's).
    pub fn add(&mut self, other: &RunReport) {
        for (flow, report) in &other.flows {
            self.flows.entry(*flow).or_default().add(report);
        }
    }
}

/// Drives the stages of the configured flows on the embedded store.
#[derive(Debug)]
pub struct LocalRunner {
    store: Embedded,
    flows: Vec<(Flow, FlowParts)>,
    options: RunnerOptions,
}

impl LocalRunner {
    /// A runner on `store` with no flows yet.
    pub fn new(store: Embedded, options: RunnerOptions) -> Self {
        Self {
            store,
            flows: Vec::new(),
            options,
        }
    }

    /// Adds a flow; flows run in the order [`Flow::ALL`] gives (products before orders).
    pub fn add_flow(&mut self, parts: FlowParts) {
        let flow = parts.source.flow();
        self.flows.retain(|(f, _)| *f != flow);
        self.flows.push((flow, parts));
        self.flows
            .sort_by_key(|(f, _)| Flow::ALL.iter().position(|x| x == f));
    }

    /// The store the runner works on.
    pub fn store(&self) -> &Embedded {
        &self.store
    }

    /// Polls every flow to the end of its source, then drains its queues of everything
    /// visible. Messages waiting for a delayed retry stay queued for the next run.
    pub async fn run_once(&self) -> Result<RunReport, StageError> {
        let mut report = RunReport::default();
        for (flow, _) in &self.flows {
            let flow_report = self.run_flow(*flow).await?;
            report.flows.insert(*flow, flow_report);
        }
        Ok(report)
    }

    /// Polls one flow to the end of its sources and drains its queues (see
    /// [`LocalRunner::run_once`]). A flow that isn't configured does nothing.
    pub async fn run_flow(&self, flow: Flow) -> Result<FlowReport, StageError> {
        let mut report = FlowReport::default();
        let Some((_, parts)) = self.flows.iter().find(|(f, _)| *f == flow) else {
            return Ok(report);
        };
        self.poll_flow(parts, &mut report).await?;
        self.drain(flow, parts, &mut report).await?;
        report.waiting = self.store.queue_depth(QueueName::Transform(flow))?
            + self.store.queue_depth(QueueName::Push(flow))?;
        Ok(report)
    }

    /// Runs again and again, `interval` apart, until `shutdown` resolves; returns the sum.
    pub async fn watch(
        &self,
        interval: Duration,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<RunReport, StageError> {
        let mut total = RunReport::default();
        tokio::pin!(shutdown);
        loop {
            let run = self.run_once().await?;
            total.add(&run);
            tokio::select! {
                () = &mut shutdown => return Ok(total),
                () = tokio::time::sleep(interval) => {}
            }
        }
    }

    async fn poll_flow(
        &self,
        parts: &FlowParts,
        report: &mut FlowReport,
    ) -> Result<(), StageError> {
        let clock = self.store.clock();
        let stage = PollStage {
            source: parts.source.as_ref(),
            more_sources: &parts.more_sources,
            cursors: &self.store,
            claims: &self.store,
            queue: &self.store,
            clock: clock.as_ref(),
            budget: self.options.poll_budget,
        };
        loop {
            let polled = poll(&stage).await?;
            report.read += polled.read;
            report.sent += polled.sent;
            report.duplicates += polled.duplicates;
            if !polled.more {
                return Ok(());
            }
        }
    }

    async fn drain(
        &self,
        flow: Flow,
        parts: &FlowParts,
        report: &mut FlowReport,
    ) -> Result<(), StageError> {
        let clock = self.store.clock();
        let settler = Settler {
            queue: &self.store,
            activity: &self.store,
            clock: clock.as_ref(),
            policy: self.options.policy,
            max_receives: self.options.max_receives,
            redrive: self.store.queue_options().max_receives,
            attempts: &self.store,
            delete_acked: true,
        };
        let transform_stage = TransformStage {
            source: parts.source.as_ref(),
            transformer: parts.transformer.as_ref(),
            queue: &self.store,
        };
        let push_stage = PushStage {
            sink: parts.sink.as_ref(),
            links: &self.store,
            claims: &self.store,
            activity: &self.store,
            clock: clock.as_ref(),
            policy: self.options.policy,
            claim_ttl: lsbc_core::stages::PUSH_CLAIM_TTL,
        };
        let commands = std::sync::atomic::AtomicUsize::new(0);
        for queue in [QueueName::Transform(flow), QueueName::Push(flow)] {
            loop {
                let batch = self
                    .store
                    .receive(queue, self.options.batch_size, Duration::ZERO)
                    .await?;
                if batch.is_empty() {
                    break;
                }
                let receipts: std::collections::HashMap<String, String> = batch
                    .iter()
                    .map(|m| (m.message_id.clone(), m.receipt.clone()))
                    .collect();
                let settled = process_batch(batch, self.options.concurrency, |message| async {
                    let (push_stage, transform_stage, commands) =
                        (&push_stage, &transform_stage, &commands);
                    handle_envelope(&settler, queue, message, |env| async move {
                        match queue {
                            QueueName::Push(_) => push(push_stage, &env).await.map(Some),
                            _ => transform(transform_stage, &env).await.map(|n| {
                                commands.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
                                None
                            }),
                        }
                    })
                    .await
                })
                .await;
                for (id, s) in &settled {
                    report.count(s);
                    if matches!(s, Settled::NotAttempted)
                        && let Some(receipt) = receipts.get(id)
                    {
                        settler.release_held(queue, receipt).await;
                    }
                }
            }
        }
        report.commands += commands.into_inner();
        Ok(())
    }
}
