//! The push stage: apply one command to the target — idempotently, never with a stale
//! version, never twice for one match key — then write the link and the activity log.

use std::time::Duration;

use serde_json::Value;

use crate::envelope::{Body, Envelope, EnvelopeError};
use crate::error::StageError;
use crate::ports::{
    Action, ActivityLog, ClaimKey, ClaimStore, Clock, Link, LinkStore, LinkWrite, Outcome,
    PushRequest, Sink,
};
use crate::record::{ContentHash, MatchKey};
use crate::stages::activity::ActivityPolicy;

/// How long a push's claims last unless renewed; a push renews them every third of it while
/// it works, so a slow target never lets a newer version in while an older one is still
/// being written, and a push that died frees them within this time.
pub const PUSH_CLAIM_TTL: Duration = Duration::from_mins(1);

/// What the push stage needs.
#[derive(Debug, Clone, Copy)]
pub struct PushStage<'a> {
    /// The flow's sink.
    pub sink: &'a dyn Sink,
    /// Links.
    pub links: &'a dyn LinkStore,
    /// Claims.
    pub claims: &'a dyn ClaimStore,
    /// The activity log.
    pub activity: &'a dyn ActivityLog,
    /// The time.
    pub clock: &'a dyn Clock,
    /// How activity is kept.
    pub policy: ActivityPolicy,
    /// How long the claims last between renewals ([`PUSH_CLAIM_TTL`]).
    pub claim_ttl: Duration,
}

/// Pushes one command message; returns the outcome.
pub async fn push(stage: &PushStage<'_>, env: &Envelope) -> Result<Outcome, StageError> {
    let Body::Command {
        match_key,
        content_hash,
        command,
        warnings,
        source,
    } = &env.body
    else {
        return Err(EnvelopeError::Malformed {
            path: "kind".into(),
            message: "a source record reached the push stage".into(),
        }
        .into());
    };
    let owner = format!("{}#{}", env.trace_id, env.key);
    let record_claim = ClaimKey::record(env.flow, env.key.as_str());
    let match_claim = ClaimKey::match_key(env.flow, match_key.as_str());
    let now = stage.clock.now();
    let ttl = stage.claim_ttl;
    if !stage
        .claims
        .acquire(&record_claim, &owner, ttl, now)
        .await?
    {
        return Err(StageError::Busy(record_claim.to_string()));
    }
    let result = if stage.claims.acquire(&match_claim, &owner, ttl, now).await? {
        let claimed = Claimed {
            env,
            match_key,
            content_hash: *content_hash,
            command,
            warnings,
            source: source.as_ref(),
        };
        let result = holding(
            stage,
            [&record_claim, &match_claim],
            &owner,
            push_claimed(stage, &claimed),
        )
        .await;
        release(stage.claims, &match_claim, &owner).await;
        result
    } else {
        Err(StageError::Busy(match_claim.to_string()))
    };
    release(stage.claims, &record_claim, &owner).await;
    result
}

struct Claimed<'a> {
    env: &'a Envelope,
    match_key: &'a MatchKey,
    content_hash: ContentHash,
    command: &'a Value,
    warnings: &'a [String],
    source: Option<&'a Value>,
}

/// Runs `work` while renewing `claims` every third of their time to live.
async fn holding<T>(
    stage: &PushStage<'_>,
    claims: [&ClaimKey; 2],
    owner: &str,
    work: impl std::future::Future<Output = T>,
) -> T {
    let every = stage.claim_ttl / 3;
    tokio::pin!(work);
    loop {
        tokio::select! {
            done = &mut work => return done,
            () = tokio::time::sleep(every) => {
                let now = stage.clock.now();
                for key in claims {
                    match stage.claims.acquire(key, owner, stage.claim_ttl, now).await {
                        Ok(true) => {}
                        // Taken over after an outage of the store: the link's version guard
                        // still keeps an older version from winning.
                        Ok(false) => tracing::warn!(claim = %key, "A push lost its claim while it worked."),
                        Err(error) => tracing::warn!(%error, claim = %key, "Claim not renewed; retrying at the next renewal."),
                    }
                }
            }
        }
    }
}

async fn release(claims: &dyn ClaimStore, key: &ClaimKey, owner: &str) {
    if let Err(error) = claims.release(key, owner).await {
        tracing::warn!(%error, claim = %key, "Claim not released; it expires by itself.");
    }
}

async fn push_claimed(stage: &PushStage<'_>, c: &Claimed<'_>) -> Result<Outcome, StageError> {
    let env = c.env;
    let link = stage.links.get(env.flow, &env.key).await?;
    if let Some(link) = &link {
        // The same content is unchanged whatever its version: a record read by two streams
        // (a matrix through its variants and itself) may come newest first.
        if link.content_hash == c.content_hash {
            if env.source_version.is_newer_than(&link.source_version) {
                let mut newer = link.clone();
                newer.source_version = env.source_version.clone();
                newer.updated_at = stage.clock.now();
                stage.links.put(&newer).await?;
            }
            record(
                stage,
                c,
                Outcome::Unchanged,
                "no change since the last push".into(),
                None,
            )
            .await;
            return Ok(Outcome::Unchanged);
        }
        if !stage.sink.recomputes() && link.source_version.is_newer_than(&env.source_version) {
            let message = format!(
                "stale: version {} is older than {} already pushed",
                env.source_version, link.source_version
            );
            record(stage, c, Outcome::Skipped, message, None).await;
            return Ok(Outcome::Skipped);
        }
    }
    let outcome = stage
        .sink
        .upsert(PushRequest {
            key: &env.key,
            version: &env.source_version,
            match_key: c.match_key,
            command: c.command,
            link: link.as_ref(),
        })
        .await?;
    let new_link = Link {
        flow: env.flow,
        key: env.key.clone(),
        target_id: outcome.target_id.clone(),
        etag: outcome.etag.clone(),
        source_version: env.source_version.clone(),
        content_hash: c.content_hash,
        match_key: Some(c.match_key.clone()),
        extra: outcome.extra.clone(),
        updated_at: stage.clock.now(),
    };
    // A recomputing sink's older command leaves the newer link as it is: nothing to say.
    // Otherwise a newer version was linked while this one was written — only possible when
    // the claims were lost (the store unreachable past their time to live): the message
    // comes back, is found older than the link, and says so in the activity log.
    if stage.links.put(&new_link).await? == LinkWrite::Stale && !stage.sink.recomputes() {
        tracing::warn!(flow = %env.flow, record_key = %env.key, "A newer version was linked meanwhile.");
        return Err(StageError::Store(crate::error::StoreError::Conflict(
            format!(
                "link {}/{}: a newer version was linked while version {} was written",
                env.flow, env.key, env.source_version
            ),
        )));
    }
    let result = match outcome.action {
        Action::Created => Outcome::Created,
        Action::Updated => Outcome::Updated,
        Action::Unchanged => Outcome::Unchanged,
    };
    let message = format!("{result} target {}", outcome.target_id);
    let sent = match outcome.sent.len() {
        0 => None,
        1 => outcome.sent.into_iter().next(),
        _ => Some(Value::Array(outcome.sent)),
    };
    record(stage, c, result, message, sent).await;
    Ok(result)
}

async fn record(
    stage: &PushStage<'_>,
    c: &Claimed<'_>,
    outcome: Outcome,
    message: String,
    sent: Option<Value>,
) {
    let message = if c.warnings.is_empty() {
        message
    } else {
        format!("{message}; warnings: {}", c.warnings.join("; "))
    };
    stage
        .policy
        .record(
            stage.activity,
            stage.clock,
            c.env,
            "push",
            outcome,
            message,
            c.source.cloned(),
            sent,
        )
        .await;
}
