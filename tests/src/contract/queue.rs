//! Contract of `Queue` (FIFO with dead letters): order per group, a group blocked while one
//! of its messages is in flight, redelivery after the visibility timeout with the receive
//! count incremented, visibility changes, de-duplication, dead letters with their reason,
//! redrive after the maximum receive count, deletion. Must not depend on an adapter.
//!
//! Visibility timeouts are real time: give the queue under test a short one (1–2 s). The
//! checks poll with short long-polls (or short pauses, for adapters that return at once)
//! while they wait for a timeout to pass; they never wait longer than that.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use lsbc_core::QueueName;
use lsbc_core::ports::{OutboundMessage, Queue, ReceivedMessage};

use super::unique;

/// How long a check waits for messages it expects, at most.
const PATIENCE: Duration = Duration::from_secs(10);
/// Pause between polls that returned nothing at once.
const PAUSE: Duration = Duration::from_millis(20);
/// A visibility far longer than `PATIENCE`: a message given it comes back within the
/// check's patience only if a later change releases it.
const EXTENDED: Duration = Duration::from_mins(1);

fn message(body: &str, group: &str, dedup: &str) -> OutboundMessage {
    OutboundMessage {
        body: body.to_owned(),
        group_id: group.to_owned(),
        dedup_id: dedup.to_owned(),
    }
}

/// A message with a unique body and de-duplication id in `group`.
fn fresh(group: &str, label: &str) -> OutboundMessage {
    let id = unique();
    message(&format!("{label}:{id}"), group, &format!("{label}-{id}"))
}

/// One poll: waits up to `wait` for the first message (adapters that return at once are
/// paused briefly when empty, so the loops around this don't spin).
async fn poll(
    queue: &dyn Queue,
    name: QueueName,
    max: usize,
    wait: Duration,
) -> Vec<ReceivedMessage> {
    let started = Instant::now();
    let got = queue
        .receive(name, max, wait)
        .await
        .unwrap_or_else(|e| panic!("receive from {name}: {e:?}"));
    if got.is_empty() && started.elapsed() < PAUSE {
        tokio::time::sleep(PAUSE).await;
    }
    got
}

/// Receives until `want` messages arrived (not deleting them) or `within` passed.
async fn receive_until(
    queue: &dyn Queue,
    name: QueueName,
    wanted: usize,
    within: Duration,
) -> Vec<ReceivedMessage> {
    let deadline = Instant::now() + within;
    let mut got = Vec::new();
    while got.len() < wanted && Instant::now() < deadline {
        let wait = deadline
            .saturating_duration_since(Instant::now())
            .min(Duration::from_secs(1));
        got.extend(poll(queue, name, wanted - got.len(), wait).await);
    }
    got
}

/// Asserts that nothing is received for `period`.
async fn receive_nothing(queue: &dyn Queue, name: QueueName, period: Duration, why: &str) {
    let deadline = Instant::now() + period;
    loop {
        let wait = deadline
            .saturating_duration_since(Instant::now())
            .min(Duration::from_secs(1));
        let got = poll(queue, name, 10, wait).await;
        assert!(got.is_empty(), "{why}: received {got:?}");
        if Instant::now() >= deadline {
            return;
        }
    }
}

async fn delete_all(queue: &dyn Queue, name: QueueName, messages: &[ReceivedMessage]) {
    for m in messages {
        queue.delete(name, &m.receipt).await.unwrap();
    }
}

fn bodies(messages: &[ReceivedMessage]) -> Vec<&str> {
    messages.iter().map(|m| m.body.as_str()).collect()
}

/// Messages of one group come out in the order sent, across several sends and batches
/// (25 messages: more than one SQS batch); every message exactly once; `max` is honoured.
pub async fn fifo_order_per_group(queue: &dyn Queue, name: QueueName) {
    let groups = [format!("g1-{}", unique()), format!("g2-{}", unique())];
    let sent: Vec<OutboundMessage> = (0..25)
        .map(|i| fresh(&groups[usize::from(i % 5 >= 3)], &format!("m{i:02}")))
        .collect();
    queue.send(name, sent[..22].to_vec()).await.unwrap();
    queue.send(name, sent[22..].to_vec()).await.unwrap();

    let first = receive_until(queue, name, 1, PATIENCE).await;
    assert_eq!(first.len(), 1, "`max` is honoured");
    let mut received = poll(queue, name, 2, Duration::ZERO).await;
    received.splice(0..0, first);
    assert!(!received.is_empty());
    let deadline = Instant::now() + PATIENCE;
    let mut all = Vec::new();
    loop {
        assert!(received.len() <= 10, "at most 10 per receive");
        for m in &received {
            assert_eq!(m.receive_count, 1, "{} delivered once", m.body);
        }
        delete_all(queue, name, &received).await;
        all.append(&mut received);
        if all.len() >= sent.len() || Instant::now() > deadline {
            break;
        }
        received = poll(queue, name, 10, Duration::from_secs(1)).await;
    }
    assert_eq!(
        all.len(),
        sent.len(),
        "every message once: {:?}",
        bodies(&all)
    );
    for group in &groups {
        let want: Vec<&str> = sent
            .iter()
            .filter(|m| &m.group_id == group)
            .map(|m| m.body.as_str())
            .collect();
        let got: Vec<&str> = all
            .iter()
            .filter(|m| m.group_id.as_deref() == Some(group))
            .map(|m| m.body.as_str())
            .collect();
        assert_eq!(got, want, "order within group {group}");
    }
}

/// While a message of a group is in flight, no later message of that group is delivered;
/// other groups flow; deleting the message releases the group.
pub async fn group_blocked_while_in_flight(queue: &dyn Queue, name: QueueName) {
    let a = format!("a-{}", unique());
    let (a1, a2) = (fresh(&a, "a1"), fresh(&a, "a2"));
    queue
        .send(name, vec![a1.clone(), a2.clone()])
        .await
        .unwrap();
    let got = receive_until(queue, name, 1, PATIENCE).await;
    assert_eq!(
        bodies(&got),
        [a1.body.as_str()],
        "the group's first message first"
    );
    assert_eq!(got[0].group_id.as_deref(), Some(a.as_str()));
    let blocked = poll(queue, name, 10, Duration::ZERO).await;
    assert!(blocked.is_empty(), "group {a} is blocked: got {blocked:?}");

    let b1 = fresh(&format!("b-{}", unique()), "b1");
    queue.send(name, vec![b1.clone()]).await.unwrap();
    let other = receive_until(queue, name, 1, PATIENCE).await;
    assert_eq!(bodies(&other), [b1.body.as_str()], "another group flows");

    delete_all(queue, name, &got).await;
    let next = receive_until(queue, name, 1, PATIENCE).await;
    assert_eq!(
        bodies(&next),
        [a2.body.as_str()],
        "deleting releases the group"
    );
    delete_all(queue, name, &next).await;
    delete_all(queue, name, &other).await;
}

/// A message not deleted comes back once the queue's visibility timeout (`visibility`)
/// passed, not before, with the same id and body and its receive count incremented; a
/// deleted one never comes back; one whose visibility was extended stays away.
pub async fn visibility_timeout_redelivers(
    queue: &dyn Queue,
    name: QueueName,
    visibility: Duration,
) {
    let sent: Vec<OutboundMessage> = ["deleted", "redelivered", "extended"]
        .iter()
        .map(|label| fresh(&format!("{label}-{}", unique()), label))
        .collect();
    queue.send(name, sent.clone()).await.unwrap();
    let got = receive_until(queue, name, 3, PATIENCE).await;
    let received_at = Instant::now();
    assert_eq!(got.len(), 3, "{got:?}");
    let find = |body: &str| got.iter().find(|m| m.body == body).unwrap().clone();
    let (deleted, redelivered, extended) = (
        find(&sent[0].body),
        find(&sent[1].body),
        find(&sent[2].body),
    );
    queue.delete(name, &deleted.receipt).await.unwrap();
    queue
        .change_visibility(name, &extended.receipt, Duration::from_mins(1))
        .await
        .unwrap();

    let back = receive_until(queue, name, 1, visibility * 4 + Duration::from_secs(2)).await;
    let elapsed = received_at.elapsed();
    assert_eq!(
        bodies(&back),
        [redelivered.body.as_str()],
        "only the undeleted message returns"
    );
    assert!(
        elapsed + Duration::from_millis(200) >= visibility,
        "redelivered after {elapsed:?}, before the {visibility:?} visibility timeout"
    );
    let again = &back[0];
    assert_eq!(again.message_id, redelivered.message_id);
    assert_eq!(again.group_id, redelivered.group_id);
    assert_eq!(again.receive_count, 2);
    assert_ne!(again.receipt, "", "a receipt to settle it with");

    let rest = poll(queue, name, 10, Duration::ZERO).await;
    assert!(
        rest.is_empty(),
        "deleted and extended messages stay away: {rest:?}"
    );
    queue.delete(name, &again.receipt).await.unwrap();
    queue.delete(name, &extended.receipt).await.unwrap();
}

/// Visibility changes take effect on the message in flight (and its group): extended to a
/// minute, it stays away past the queue's visibility timeout (`visibility`); changed to zero
/// afterwards, it is available again at once — long before the minute is over, so only a
/// working release brings it back within the check's patience.
pub async fn change_visibility_releases_at_once(
    queue: &dyn Queue,
    name: QueueName,
    visibility: Duration,
) {
    let group = format!("g-{}", unique());
    let (first, second) = (fresh(&group, "first"), fresh(&group, "second"));
    queue
        .send(name, vec![first.clone(), second.clone()])
        .await
        .unwrap();
    let got = receive_until(queue, name, 1, PATIENCE).await;
    assert_eq!(bodies(&got), [first.body.as_str()]);
    assert!(
        poll(queue, name, 10, Duration::ZERO).await.is_empty(),
        "group in flight"
    );

    queue
        .change_visibility(name, &got[0].receipt, EXTENDED)
        .await
        .unwrap();
    receive_nothing(
        queue,
        name,
        visibility * 2,
        "extended to a minute, the message (and its group) stays away past the visibility timeout",
    )
    .await;
    queue
        .change_visibility(name, &got[0].receipt, Duration::ZERO)
        .await
        .unwrap();
    let again = receive_until(queue, name, 1, PATIENCE).await;
    assert_eq!(
        again.first().map(|m| (m.body.as_str(), m.receive_count)),
        Some((first.body.as_str(), 2)),
        "released by the change to zero: the same message again, its group's first"
    );
    delete_all(queue, name, &again).await;
    let rest = receive_until(queue, name, 1, PATIENCE).await;
    let mut all = again;
    all.extend(rest.iter().cloned());
    assert!(bodies(&all).contains(&second.body.as_str()));
    delete_all(queue, name, &rest).await;
}

/// A message sent again with the same de-duplication id (in another send or the same
/// batch) is delivered once.
pub async fn duplicates_are_dropped_by_dedup_id(queue: &dyn Queue, name: QueueName) {
    let group = format!("g-{}", unique());
    let d1 = format!("dedup-{}", unique());
    let d2 = format!("dedup-{}", unique());
    queue
        .send(name, vec![message("first", &group, &d1)])
        .await
        .unwrap();
    queue
        .send(
            name,
            vec![
                message("first again", &group, &d1),
                message("third", &group, &d2),
                message("third again", &group, &d2),
            ],
        )
        .await
        .unwrap();
    let deadline = Instant::now() + PATIENCE;
    let mut all = Vec::new();
    while all.len() < 2 && Instant::now() < deadline {
        let got = poll(queue, name, 10, Duration::from_secs(1)).await;
        delete_all(queue, name, &got).await;
        all.extend(got);
    }
    assert_eq!(bodies(&all), ["first", "third"]);
    receive_nothing(
        queue,
        name,
        Duration::from_secs(1),
        "duplicates are dropped",
    )
    .await;
}

/// Reads the dead-letter queue until every body in `want` was seen (or patience ran out).
async fn dead_letters(
    queue: &dyn Queue,
    name: QueueName,
    want: &[&str],
) -> BTreeMap<String, (ReceivedMessage, Option<String>)> {
    let deadline = Instant::now() + PATIENCE;
    let mut seen = BTreeMap::new();
    while Instant::now() < deadline && !want.iter().all(|b| seen.contains_key(*b)) {
        let got = queue.receive_dead_letters(name, 10).await.unwrap();
        if got.is_empty() {
            tokio::time::sleep(PAUSE).await;
        }
        for (m, reason) in got {
            seen.insert(m.body.clone(), (m, reason));
        }
    }
    seen
}

/// A parked message keeps its body and group and reads back with its reason (a long
/// reason may be cut, never altered); deleting a dead letter removes it.
pub async fn dead_letter_keeps_the_reason(queue: &dyn Queue, name: QueueName) {
    let sent = [
        fresh(&format!("g1-{}", unique()), "rejected"),
        fresh(&format!("g2-{}", unique()), "verbose"),
    ];
    queue.send(name, sent.to_vec()).await.unwrap();
    let got = receive_until(queue, name, 2, PATIENCE).await;
    assert_eq!(got.len(), 2);
    let reason = "Business Central refused: 400 BadRequest — Name is longer than 100 « ü »";
    let long_reason = (0..400).fold(String::new(), |mut text, i| {
        write!(text, "step {i} failed; ").unwrap();
        text
    });
    for m in &got {
        let why = if m.body == sent[0].body {
            reason
        } else {
            &long_reason
        };
        queue.dead_letter(name, m, why).await.unwrap();
        queue.delete(name, &m.receipt).await.unwrap();
    }
    receive_nothing(
        queue,
        name,
        Duration::from_millis(200),
        "parked messages leave the queue",
    )
    .await;

    let seen = dead_letters(queue, name, &[&sent[0].body, &sent[1].body]).await;
    assert_eq!(seen.len(), 2, "both parked: {seen:?}");
    for m in &sent {
        let (parked, why) = &seen[&m.body];
        assert_eq!(
            parked.group_id.as_deref(),
            Some(m.group_id.as_str()),
            "group kept"
        );
        let why = why.as_deref().expect("the reason is kept");
        if m.body == sent[0].body {
            assert_eq!(why, reason);
        } else {
            assert!(
                why.len() >= 1_000 && long_reason.starts_with(why),
                "a long reason may only be cut: {} bytes",
                why.len()
            );
        }
    }
    for (parked, _) in seen.values() {
        queue
            .delete_dead_letter(name, &parked.receipt)
            .await
            .unwrap();
    }
    let left = queue.receive_dead_letters(name, 10).await.unwrap();
    assert!(left.is_empty(), "deleted dead letters are gone: {left:?}");
}

/// A message received `max_receive_count` times without being deleted (each time released
/// at once by a visibility change to zero) moves to the dead-letter queue by itself. Only
/// for queues with a redrive policy (SQS, embedded).
pub async fn redrive_after_max_receives(
    queue: &dyn Queue,
    name: QueueName,
    max_receive_count: u32,
) {
    let poison = fresh(&format!("g-{}", unique()), "poison");
    queue.send(name, vec![poison.clone()]).await.unwrap();
    for attempt in 1..=max_receive_count {
        let got = receive_until(queue, name, 1, PATIENCE).await;
        assert_eq!(bodies(&got), [poison.body.as_str()], "receive {attempt}");
        assert_eq!(got[0].receive_count, attempt);
        // Extended past the check's patience, then released: the next receive gets it only
        // through the release, never by the visibility timeout running out.
        queue
            .change_visibility(name, &got[0].receipt, EXTENDED)
            .await
            .unwrap();
        queue
            .change_visibility(name, &got[0].receipt, Duration::ZERO)
            .await
            .unwrap();
    }
    receive_nothing(
        queue,
        name,
        Duration::from_secs(1),
        "moved to the dead-letter queue",
    )
    .await;
    let seen = dead_letters(queue, name, &[&poison.body]).await;
    let (parked, reason) = seen
        .get(&poison.body)
        .unwrap_or_else(|| panic!("not in the dead-letter queue: {seen:?}"));
    // SQS parks it without a reason; the embedded queue says why. Either is fine, as long as
    // the reason isn't mistaken for a stage's.
    assert!(
        reason.as_deref().is_none_or(|r| r.contains("received")),
        "unexpected reason {reason:?}"
    );
    assert_eq!(parked.group_id.as_deref(), Some(poison.group_id.as_str()));
    queue
        .delete_dead_letter(name, &parked.receipt)
        .await
        .unwrap();
}

/// Messages and dead letters of one queue never show up on another.
pub async fn queues_are_independent(queue: &dyn Queue, one: QueueName, other: QueueName) {
    assert_ne!(one, other);
    let m = fresh(&format!("g-{}", unique()), "one");
    queue.send(one, vec![m.clone()]).await.unwrap();
    receive_nothing(
        queue,
        other,
        Duration::from_millis(500),
        "sent to another queue",
    )
    .await;
    let got = receive_until(queue, one, 1, PATIENCE).await;
    assert_eq!(bodies(&got), [m.body.as_str()]);
    queue.dead_letter(one, &got[0], "parked").await.unwrap();
    queue.delete(one, &got[0].receipt).await.unwrap();
    let elsewhere = queue.receive_dead_letters(other, 10).await.unwrap();
    assert!(elsewhere.is_empty(), "{elsewhere:?}");
    let parked = dead_letters(queue, one, &[&m.body]).await;
    let ids: HashSet<&str> = parked.keys().map(String::as_str).collect();
    assert_eq!(ids, HashSet::from([m.body.as_str()]));
}
