//! The poll stage: read a flow's source since its cursor, hand each record to the flow's
//! transform queue, checkpoint the cursor once the queue accepted the records.

use std::time::Duration;

use crate::cursor::{Cursor, Resume};
use crate::envelope::Envelope;
use crate::error::{StageError, StoreError};
use crate::flow::QueueName;
use crate::ports::{ClaimKey, ClaimStore, Clock, CursorStore, PageToken, Queue, ReadRange, Source};
use crate::record::{SourceVersion, TraceId};

/// How much one poll may do before it checkpoints and returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollBudget {
    /// At most this many pages.
    pub max_pages: usize,
    /// How long the poll's lease on its flow lasts without renewal; it is renewed after
    /// every page, so a poll that died frees its flow this long after its last page.
    pub lease: Duration,
    /// No page is started after this moment (the function's deadline less a reserve); the
    /// poll checkpoints and says there is more.
    pub until: Option<std::time::Instant>,
}

impl Default for PollBudget {
    fn default() -> Self {
        Self {
            max_pages: 50,
            lease: Duration::from_mins(2),
            until: None,
        }
    }
}

/// What one poll did.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PollReport {
    /// Pages read.
    pub pages: usize,
    /// Records read.
    pub read: usize,
    /// Records handed to the transform queue.
    pub sent: usize,
    /// Records re-read in the overlap window with unchanged content (not sent again).
    pub duplicates: usize,
    /// Records past the signpost (left for the next poll).
    pub beyond_signpost: usize,
    /// Records too large for a message, sent as references.
    pub references: usize,
    /// Records the source could not track (no id, an unreadable version), parked with
    /// their reason.
    pub rejected: usize,
    /// The cursor position after the poll.
    pub position: Option<SourceVersion>,
    /// The budget ran out with pages left: poll again soon.
    pub more: bool,
    /// Another poll of this flow was running: this one did nothing.
    pub already_running: bool,
}

impl PollReport {
    /// Adds the report of another stream of the same flow (the position stays this one's).
    pub fn absorb(&mut self, other: &PollReport) {
        self.pages += other.pages;
        self.read += other.read;
        self.sent += other.sent;
        self.duplicates += other.duplicates;
        self.beyond_signpost += other.beyond_signpost;
        self.references += other.references;
        self.rejected += other.rejected;
        self.more |= other.more;
        self.already_running |= other.already_running;
    }
}

/// What the poll stage needs.
#[derive(Debug, Clone, Copy)]
pub struct PollStage<'a> {
    /// The flow's (main) stream.
    pub source: &'a dyn Source,
    /// Further streams of the flow, polled after `source` in the same poll.
    pub more_sources: &'a [std::sync::Arc<dyn Source>],
    /// Where cursors live.
    pub cursors: &'a dyn CursorStore,
    /// The lease that keeps two polls of one flow apart.
    pub claims: &'a dyn ClaimStore,
    /// The queues.
    pub queue: &'a dyn Queue,
    /// The time.
    pub clock: &'a dyn Clock,
    /// The work limit.
    pub budget: PollBudget,
}

/// Polls the flow's streams once, in order, under one lease and within one page budget;
/// when the budget runs out, the streams it did not reach or finish wait for the next poll
/// (`more`). The report's position is the main stream's.
pub async fn poll(stage: &PollStage<'_>) -> Result<PollReport, StageError> {
    let flow = stage.source.flow();
    let lease = ClaimKey::named(&format!("poll#{flow}"));
    let owner = TraceId::new().to_string();
    if !stage
        .claims
        .acquire(&lease, &owner, stage.budget.lease, stage.clock.now())
        .await?
    {
        tracing::info!(%flow, "Another poll of this flow is running; skipping.");
        return Ok(PollReport {
            already_running: true,
            ..PollReport::default()
        });
    }
    let result = poll_streams(stage, &lease, &owner).await;
    if let Err(error) = stage.claims.release(&lease, &owner).await {
        tracing::warn!(%error, %flow, "Poll lease not released; it expires by itself.");
    }
    result
}

async fn poll_streams(
    stage: &PollStage<'_>,
    lease: &ClaimKey,
    owner: &str,
) -> Result<PollReport, StageError> {
    let mut report = poll_leased(stage, stage.source, stage.budget.max_pages, lease, owner).await?;
    for source in stage.more_sources {
        let left = stage.budget.max_pages.saturating_sub(report.pages);
        if report.more || left == 0 {
            report.more = true;
            break;
        }
        let polled = poll_leased(stage, source.as_ref(), left, lease, owner).await?;
        report.absorb(&polled);
    }
    Ok(report)
}

/// Whether the source refused a request for its content (not a passing failure).
fn refused(error: &StageError) -> bool {
    matches!(error, StageError::External(e) if e.kind == crate::error::ExternalKind::Rejected)
}

/// Polls one stream within `max_pages`, the flow's lease held.
async fn poll_leased(
    stage: &PollStage<'_>,
    source: &dyn Source,
    max_pages: usize,
    lease: &ClaimKey,
    owner: &str,
) -> Result<PollReport, StageError> {
    let flow = source.flow();
    let stream = source.stream().to_owned();
    let overlap = source.overlap();
    let stored = stage.cursors.load(flow, &stream).await?;
    let (mut cursor, mut revision) =
        stored.map_or((Cursor::default(), 0), |s| (s.cursor, s.revision));
    // An unfinished read continues where it stopped, with its own range and signpost.
    let resumed = cursor.resume.is_some();
    let (range, mut token) = match cursor.resume.take() {
        Some(resume) => (
            ReadRange {
                from: resume.from,
                to: resume.to,
            },
            Some(PageToken(resume.page)),
        ),
        None => (
            ReadRange {
                from: cursor.read_from(overlap),
                to: source.signpost(stage.clock.now()).await?,
            },
            None,
        ),
    };
    let signpost = range.to.clone();
    let mut report = PollReport::default();
    // Checkpoints between pages are safe only while the source keeps ascending order.
    let mut ascending = true;
    let mut highest: Option<SourceVersion> = None;
    let mut pending: Vec<(
        crate::record::RecordKey,
        SourceVersion,
        crate::record::ContentHash,
    )> = Vec::new();

    loop {
        let first = report.pages == 0;
        let page = match source.read_page(&range, token.as_ref()).await {
            Ok(page) => page,
            Err(error) if first && resumed && refused(&error) => {
                // The stored `next` link is no longer accepted (an expired cursor, another
                // API base): drop it and start again from the cursor's position.
                tracing::warn!(%flow, stream = %stream, %error, "The source refused the stored resume link; reading again from the cursor's position.");
                stage.cursors.save(flow, &stream, &cursor, revision).await?;
                report.more = true;
                break;
            }
            Err(error) => return Err(error),
        };
        report.pages += 1;
        report.read += page.records.len() + page.rejected.len();
        let mut messages = Vec::new();
        let mut past_signpost = false;
        for record in &page.records {
            if record.version.is_newer_than(&signpost) {
                report.beyond_signpost += 1;
                past_signpost = true;
                continue;
            }
            if let Some(h) = &highest
                && h.is_newer_than(&record.version)
            {
                ascending = false;
            }
            if highest
                .as_ref()
                .is_none_or(|h| record.version.is_newer_than(h))
            {
                highest = Some(record.version.clone());
            }
            let hash = record.content_hash();
            if cursor.is_new(&record.key, &hash) {
                let (sent, message) = Envelope::record(record, TraceId::new()).to_message()?;
                if sent.is_reference() {
                    report.references += 1;
                }
                messages.push(message);
            } else {
                report.duplicates += 1;
            }
            pending.push((record.key.clone(), record.version.clone(), hash));
        }
        for rejected in &page.rejected {
            let hash = crate::record::ContentHash::of_json(&rejected.payload);
            if !cursor.is_new(&rejected.key, &hash) {
                report.duplicates += 1;
                continue;
            }
            // It has no version of its own: it stands where the page stands (marked there,
            // so a re-read in the overlap window does not park it again).
            let at = highest.clone().or_else(|| range.from.clone());
            let envelope = Envelope::rejected(
                flow,
                rejected,
                at.clone().unwrap_or_else(|| signpost.clone()),
                TraceId::new(),
            );
            messages.push(envelope.to_message()?.1);
            report.rejected += 1;
            tracing::warn!(%flow, record_key = %rejected.key, field = %rejected.field, "A source record can't be tracked; it is parked with its reason.");
            if let Some(at) = at {
                pending.push((rejected.key.clone(), at, hash));
            }
        }
        report.sent += messages.len();
        if !messages.is_empty() {
            stage
                .queue
                .send(QueueName::Transform(flow), messages)
                .await?;
        }
        let last_page = page.next.is_none() || past_signpost;
        let budget_spent = report.pages >= max_pages
            || stage
                .budget
                .until
                .is_some_and(|until| std::time::Instant::now() >= until);
        if ascending || last_page || budget_spent {
            if !ascending && !last_page {
                // Out-of-order source cut short: keep the position, the next poll re-reads.
                report.more = true;
                break;
            }
            cursor.advance(
                pending.iter().map(|(k, v, h)| (k, v, h)),
                overlap,
                &signpost,
            );
            pending.clear();
            if last_page {
                cursor.read_to = Some(signpost.clone());
            }
            cursor.resume = match (&page.next, last_page) {
                (Some(next), false) => Some(Resume {
                    from: range.from.clone(),
                    to: signpost.clone(),
                    page: next.0.clone(),
                }),
                _ => None,
            };
            revision = match stage.cursors.save(flow, &stream, &cursor, revision).await {
                Ok(r) => r,
                Err(StoreError::Conflict(message)) => {
                    tracing::warn!(%flow, %message, "Cursor moved by another poll; stopping.");
                    break;
                }
                Err(e) => return Err(e.into()),
            };
        }
        if last_page {
            break;
        }
        if budget_spent {
            report.more = true;
            break;
        }
        if !stage
            .claims
            .acquire(lease, owner, stage.budget.lease, stage.clock.now())
            .await?
        {
            tracing::warn!(%flow, "Poll lease lost to another poll; stopping.");
            report.more = true;
            break;
        }
        token = page.next;
    }
    report.position = cursor.position.clone();
    tracing::info!(
        %flow,
        stream = %stream,
        pages = report.pages,
        read = report.read,
        sent = report.sent,
        duplicates = report.duplicates,
        more = report.more,
        position = report.position.as_ref().map(ToString::to_string),
        "Poll finished."
    );
    Ok(report)
}
