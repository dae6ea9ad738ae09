//! `lsbc replay` and `lsbc cursor`: the operator's levers on a running sync — send parked
//! records back to their queue once the cause is fixed, and move a flow's cursor (to
//! re-read the source from a point in time, or to see where it is).

use std::process::ExitCode;

use lsbc_core::cursor::StoredCursor;
use lsbc_core::ports::{CursorStore, OutboundMessage, Queue};
use lsbc_core::{Cursor, Flow, QueueName, SourceVersion, TraceId};
use serde_json::{Value, json};

use crate::args::{CursorArgs, ReplayArgs};
use crate::{CliError, print_json};

/// `lsbc replay`: sends parked records back and prints what went back.
pub async fn run_replay(args: ReplayArgs) -> Result<ExitCode, CliError> {
    let state = args.home.choice().open().await?;
    print_json(&replay(state.queue.as_ref(), args.queue, args.max).await?);
    Ok(ExitCode::SUCCESS)
}

/// `lsbc cursor`: prints a stream's cursor, moving it first with `--to`.
pub async fn run_cursor(args: CursorArgs) -> Result<ExitCode, CliError> {
    let state = args.home.choice().open().await?;
    let flow = args.flow;
    let stream = match args.stream {
        Some(stream) => stream,
        None => lsbc_connectors::kit(flow)?.main_stream().to_owned(),
    };
    let cursors = state.cursors.as_ref();
    let out = match args.to.as_deref() {
        None => show_cursor(cursors, flow, &stream).await?,
        Some("start") => reset_cursor(cursors, flow, &stream, None).await?,
        Some(position) => reset_cursor(cursors, flow, &stream, Some(position)).await?,
    };
    print_json(&out);
    Ok(ExitCode::SUCCESS)
}

/// Sends up to `max` dead letters of `queue` back into it (fresh de-duplication ids, so
/// the queue takes them again), deleting each from the dead-letter queue once re-queued.
/// Returns how many went back, with the reasons they had been parked for.
pub async fn replay(queue: &dyn Queue, name: QueueName, max: usize) -> Result<Value, CliError> {
    let mut replayed = Vec::new();
    while replayed.len() < max {
        let letters = queue
            .receive_dead_letters(name, (max - replayed.len()).min(10))
            .await
            .map_err(lsbc_core::StageError::from)?;
        if letters.is_empty() {
            break;
        }
        for (message, reason) in letters {
            let group = message
                .group_id
                .clone()
                .filter(|g| !g.is_empty())
                .unwrap_or_else(|| format!("replay-{}", message.message_id));
            queue
                .send(
                    name,
                    vec![OutboundMessage {
                        body: message.body.clone(),
                        group_id: group,
                        dedup_id: format!("replay-{}", TraceId::new()),
                    }],
                )
                .await
                .map_err(lsbc_core::StageError::from)?;
            queue
                .delete_dead_letter(name, &message.receipt)
                .await
                .map_err(lsbc_core::StageError::from)?;
            replayed.push(json!({"message_id": message.message_id, "was_parked_because": reason}));
        }
    }
    Ok(json!({"queue": name.to_string(), "replayed": replayed.len(), "messages": replayed}))
}

fn describe(flow: Flow, stream: &str, stored: Option<&StoredCursor>) -> Value {
    json!({
        "flow": flow,
        "stream": stream,
        "position": stored.and_then(|s| s.cursor.position.as_ref()).map(ToString::to_string),
        "records_at_the_boundary": stored.map_or(0, |s| s.cursor.seen.len()),
        "unfinished_read": stored.is_some_and(|s| s.cursor.resume.is_some()),
        "revision": stored.map_or(0, |s| s.revision),
    })
}

/// Where a flow's stream stands.
pub async fn show_cursor(
    cursors: &dyn CursorStore,
    flow: Flow,
    stream: &str,
) -> Result<Value, CliError> {
    let stored = cursors.load(flow, stream).await?;
    Ok(describe(flow, stream, stored.as_ref()))
}

/// Moves a flow's stream to `position` (an RFC 3339 time, or an entry number), or to the
/// beginning with `None`; the next poll reads from there (records already in the target
/// are found again and left unchanged).
pub async fn reset_cursor(
    cursors: &dyn CursorStore,
    flow: Flow,
    stream: &str,
    position: Option<&str>,
) -> Result<Value, CliError> {
    let cursor = match position {
        Some(text) => Cursor::at(
            text.parse::<SourceVersion>()
                .map_err(|e| CliError::Usage(e.to_string()))?,
        ),
        None => Cursor::default(),
    };
    let expected = cursors.load(flow, stream).await?.map_or(0, |s| s.revision);
    cursors.save(flow, stream, &cursor, expected).await?;
    let stored = cursors.load(flow, stream).await?;
    Ok(describe(flow, stream, stored.as_ref()))
}

#[cfg(test)]
mod tests {
    use lsbc_core::memory::{MemoryQueue, MemoryStore};
    use lsbc_core::ports::ReceivedMessage;

    use super::*;

    #[tokio::test]
    async fn dead_letters_go_back_to_their_queue() {
        let q = MemoryQueue::default();
        let name = QueueName::Push(Flow::Customers);
        for i in 0..3 {
            let m = ReceivedMessage {
                message_id: format!("m{i}"),
                receipt: format!("r{i}"),
                body: format!("body {i}"),
                receive_count: 5,
                group_id: Some(format!("g{i}")),
            };
            q.dead_letter(name, &m, "BC was down").await.unwrap();
        }
        let out = replay(&q, name, 2).await.unwrap();
        assert_eq!(out["replayed"], 2);
        assert_eq!(out["messages"][0]["was_parked_because"], "BC was down");
        assert_eq!(q.dead_depth(name), 1);
        assert_eq!(q.depth(name), 2);
        let back = q
            .receive(name, 10, std::time::Duration::ZERO)
            .await
            .unwrap();
        assert_eq!(back[0].body, "body 0");
    }

    #[tokio::test]
    async fn cursors_move_and_show() {
        let s = MemoryStore::new();
        let out = reset_cursor(
            &s,
            Flow::Customers,
            "Customer",
            Some("2026-01-01T00:00:00Z"),
        )
        .await
        .unwrap();
        assert_eq!(out["position"], "2026-01-01T00:00:00Z");
        assert_eq!(out["revision"], 1);
        let out = reset_cursor(&s, Flow::Customers, "Customer", None)
            .await
            .unwrap();
        assert_eq!(out["position"], Value::Null);
        assert!(
            reset_cursor(&s, Flow::Customers, "Customer", Some("yesterday"))
                .await
                .is_err()
        );
        assert_eq!(
            show_cursor(&s, Flow::Customers, "Customer").await.unwrap()["revision"],
            2
        );
    }
}
