//! The embedded store survives its process: queued and in-flight messages, dead letters and
//! credentials are all there after a reopen.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::cast_possible_wrap)]

use std::sync::Arc;
use std::time::Duration;

use jiff::SignedDuration;
use lsbc_core::ports::{Freshness, ManualClock, OutboundMessage, Queue, SecretStore};
use lsbc_core::{Flow, QueueName};
use lsbc_embedded::{Embedded, FileSecretStore, QueueOptions};
use secrecy::{ExposeSecret, SecretString};

fn message(body: &str, group: &str) -> OutboundMessage {
    OutboundMessage {
        body: body.into(),
        group_id: group.into(),
        dedup_id: body.into(),
    }
}

#[tokio::test]
async fn queued_and_in_flight_messages_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.sqlite");
    let clock = ManualClock::new("2026-01-01T00:00:00Z".parse().unwrap());
    let options = QueueOptions {
        visibility: Duration::from_secs(30),
        max_receives: 3,
        ..QueueOptions::default()
    };
    let queue = QueueName::Push(Flow::Customers);
    {
        let store = Embedded::open_with(&path, Arc::new(clock.clone()), options).unwrap();
        store
            .send(queue, vec![message("a", "g1"), message("b", "g2")])
            .await
            .unwrap();
        let got = store.receive(queue, 1, Duration::ZERO).await.unwrap();
        assert_eq!(got[0].body, "a");
        // The process dies with "a" in flight.
    }
    let store = Embedded::open_with(&path, Arc::new(clock.clone()), options).unwrap();
    let got = store.receive(queue, 10, Duration::ZERO).await.unwrap();
    assert_eq!(got.len(), 1, "only b is visible");
    assert_eq!(got[0].body, "b");
    store.delete(queue, &got[0].receipt).await.unwrap();
    clock.advance(SignedDuration::from_secs(31));
    let again = store.receive(queue, 10, Duration::ZERO).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].body.as_str(), again[0].receive_count), ("a", 2));
}

#[tokio::test]
async fn a_message_received_too_often_is_redriven_to_the_dead_letters() {
    let clock = ManualClock::new("2026-01-01T00:00:00Z".parse().unwrap());
    let store = Embedded::in_memory(
        Arc::new(clock.clone()),
        QueueOptions {
            visibility: Duration::from_secs(10),
            max_receives: 2,
            ..QueueOptions::default()
        },
    )
    .unwrap();
    let queue = QueueName::Transform(Flow::Orders);
    store
        .send(queue, vec![message("poison", "g")])
        .await
        .unwrap();
    for attempt in 1..=2 {
        let got = store.receive(queue, 1, Duration::ZERO).await.unwrap();
        assert_eq!(got[0].receive_count, attempt);
        clock.advance(SignedDuration::from_secs(11));
    }
    assert!(
        store
            .receive(queue, 1, Duration::ZERO)
            .await
            .unwrap()
            .is_empty()
    );
    let dead = store.receive_dead_letters(queue, 10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert!(dead[0].1.as_deref().unwrap().contains("received 2 times"));
    store
        .delete_dead_letter(queue, &dead[0].0.receipt)
        .await
        .unwrap();
    assert_eq!(store.dead_letter_depth(queue).unwrap(), 0);
}

#[tokio::test]
async fn the_credentials_file_is_private_and_keeps_every_secret() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested").join("credentials.json");
    let store = FileSecretStore::new(&path);
    assert!(store.get("lightspeed", Freshness::Fresh).await.is_err());
    store
        .put(
            "lightspeed",
            &SecretString::from("{\"refresh_token\":\"r1\"}"),
        )
        .await
        .unwrap();
    store
        .put("business-central", &SecretString::from("bc"))
        .await
        .unwrap();
    store
        .put(
            "lightspeed",
            &SecretString::from("{\"refresh_token\":\"r2\"}"),
        )
        .await
        .unwrap();
    // A second handle (another process) reads the rotated value.
    let other = FileSecretStore::new(&path);
    let value = other.get("lightspeed", Freshness::Fresh).await.unwrap();
    assert_eq!(value.expose_secret(), "{\"refresh_token\":\"r2\"}");
    assert_eq!(
        other
            .get("business-central", Freshness::Cached)
            .await
            .unwrap()
            .expose_secret(),
        "bc"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // The file and the (empty, private) lock file writers take turns on; nothing else.
    let mut leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    leftovers.sort();
    let file = path.file_name().unwrap().to_string_lossy().into_owned();
    let lock = path
        .with_extension("lock")
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let mut expected = vec![file, lock];
    expected.sort();
    assert_eq!(leftovers, expected, "no temporary files left");
}

/// Two writers of one credentials file that share nothing but the file (as two processes
/// do: `lsbc run` rotating Lightspeed tokens while `lsbc connect business-central` saves)
/// never write over each other's change.
#[test]
fn two_writers_of_one_credentials_file_keep_both_changes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("credentials.json");
    let writer = |name: &'static str| {
        let store = FileSecretStore::new(&path);
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            for i in 0..150 {
                let value = SecretString::from(format!("{name}-{i}"));
                rt.block_on(store.put(name, &value)).unwrap();
            }
        })
    };
    let (a, b) = (writer("lightspeed"), writer("business-central"));
    a.join().unwrap();
    b.join().unwrap();
    let store = FileSecretStore::new(&path);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for name in ["lightspeed", "business-central"] {
        let last = rt.block_on(store.get(name, Freshness::Fresh)).unwrap();
        assert_eq!(last.expose_secret(), format!("{name}-149"), "{name}");
    }
}
