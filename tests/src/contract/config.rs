//! Contract of `ConfigStore` and its `MappingStore` / `SettingsStore` views: contiguous
//! versions with history, a reset as a new (empty) version, conditional saves, and of two
//! racing savers exactly one wins. Must not depend on an adapter.

use std::sync::Arc;

use jiff::SignedDuration;
use lsbc_core::ports::{ConfigDoc, ConfigKind, ConfigStore, MappingStore, SettingsStore};
use lsbc_core::{Flow, StoreError};
use serde_json::json;

use super::{Contender, an_hour_ago, race};

fn doc(flow: Flow, kind: ConfigKind, version: u64, body: serde_json::Value) -> ConfigDoc {
    ConfigDoc {
        flow,
        kind,
        version,
        body,
        author: format!("operator-{version}"),
        saved_at: an_hour_ago() + SignedDuration::from_secs(i64::try_from(version).unwrap()),
        comment: (version % 2 == 1).then(|| format!("change nº {version} — ünïcode")),
    }
}

/// Nothing is current before the first save; history is empty.
pub async fn unsaved_config_is_none(store: &dyn ConfigStore) {
    assert_eq!(
        store
            .current(Flow::Customers, ConfigKind::Mapping)
            .await
            .unwrap(),
        None
    );
    assert!(
        store
            .history(Flow::Customers, ConfigKind::Settings, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.mapping(Flow::Orders).await.unwrap(), None);
    assert_eq!(store.settings(Flow::Orders).await.unwrap(), None);
}

/// Saved versions read back exactly; the latest is current; history is newest first and
/// honours its limit.
pub async fn versions_and_history(store: &dyn ConfigStore) {
    let docs: Vec<ConfigDoc> = (1..=4)
        .map(|v| {
            doc(
                Flow::Products,
                ConfigKind::Mapping,
                v,
                json!({"fields": {"displayName": format!(".description | .[0:{}]", 90 + v)}, "n": v}),
            )
        })
        .collect();
    for d in &docs {
        store.save(d, d.version - 1).await.unwrap();
        assert_eq!(
            store
                .current(Flow::Products, ConfigKind::Mapping)
                .await
                .unwrap()
                .as_ref(),
            Some(d),
            "current after saving version {}",
            d.version
        );
    }
    let newest_first: Vec<ConfigDoc> = docs.iter().rev().cloned().collect();
    assert_eq!(
        store
            .history(Flow::Products, ConfigKind::Mapping, 10)
            .await
            .unwrap(),
        newest_first
    );
    assert_eq!(
        store
            .history(Flow::Products, ConfigKind::Mapping, 2)
            .await
            .unwrap(),
        newest_first[..2]
    );
    assert!(
        store
            .history(Flow::Products, ConfigKind::Mapping, 0)
            .await
            .unwrap()
            .is_empty()
    );
}

/// The mapping and settings views number their own versions; a reset to defaults is a
/// new version with an empty document and keeps the history.
pub async fn reset_is_a_new_version(store: &dyn ConfigStore) {
    let at = an_hour_ago();
    let v1 = store
        .save_mapping(Flow::Customers, json!({"name": ".firstName"}), 0, "ana", at)
        .await
        .unwrap();
    assert_eq!(v1.version, 1);
    let v2 = store
        .save_mapping(
            Flow::Customers,
            json!({"name": ".lastName"}),
            1,
            "ben",
            at + SignedDuration::from_secs(1),
        )
        .await
        .unwrap();
    let reset = store
        .save_mapping(
            Flow::Customers,
            json!({}),
            2,
            "ana",
            at + SignedDuration::from_secs(2),
        )
        .await
        .unwrap();
    assert_eq!(reset.version, 3);
    assert_eq!(
        store.mapping(Flow::Customers).await.unwrap(),
        Some(reset.clone())
    );
    assert_eq!(
        store.mapping_history(Flow::Customers, 10).await.unwrap(),
        vec![reset, v2, v1],
        "a reset keeps the history"
    );

    let s1 = store
        .save_settings(Flow::Customers, json!({"enabled": true}), 0, "ana", at)
        .await
        .unwrap();
    assert_eq!(
        s1.version, 1,
        "settings are versioned apart from the mapping"
    );
    assert_eq!(
        store.settings(Flow::Customers).await.unwrap(),
        Some(s1.clone())
    );
    assert_eq!(
        store.settings_history(Flow::Customers, 10).await.unwrap(),
        vec![s1]
    );
}

/// A save expecting a version other than the latest is a conflict and changes nothing; so
/// is a document whose version does not follow the expected one.
pub async fn stale_version_conflicts(store: &dyn ConfigStore) {
    let flow = Flow::Orders;
    let kind = ConfigKind::Settings;
    let v1 = doc(flow, kind, 1, json!({"a": 1}));
    let v2 = doc(flow, kind, 2, json!({"a": 2}));
    store.save(&v1, 0).await.unwrap();
    store.save(&v2, 1).await.unwrap();
    let attempts = [
        (doc(flow, kind, 1, json!({"late": true})), 0),
        (doc(flow, kind, 2, json!({"late": true})), 1),
        (doc(flow, kind, 6, json!({"ahead": true})), 5),
        (doc(flow, kind, 5, json!({"gap": true})), 2),
    ];
    for (d, expected) in attempts {
        let result = store.save(&d, expected).await;
        assert!(
            matches!(result, Err(StoreError::Conflict(_))),
            "save of version {} expecting {expected} while at 2 must conflict, got {result:?}",
            d.version
        );
    }
    assert_eq!(store.current(flow, kind).await.unwrap(), Some(v2.clone()));
    assert_eq!(store.history(flow, kind, 10).await.unwrap(), vec![v2, v1]);
}

/// Flows and kinds keep separate documents.
pub async fn kinds_and_flows_are_independent(store: &dyn ConfigStore) {
    let mapping = doc(Flow::Stock, ConfigKind::Mapping, 1, json!({"m": 1}));
    let settings = doc(Flow::Stock, ConfigKind::Settings, 1, json!({"s": 1}));
    let other = doc(Flow::Orders, ConfigKind::Mapping, 1, json!({"o": 1}));
    for d in [&mapping, &settings, &other] {
        store.save(d, 0).await.unwrap();
    }
    assert_eq!(
        store
            .current(Flow::Stock, ConfigKind::Mapping)
            .await
            .unwrap(),
        Some(mapping)
    );
    assert_eq!(
        store
            .current(Flow::Stock, ConfigKind::Settings)
            .await
            .unwrap(),
        Some(settings)
    );
    assert_eq!(
        store
            .current(Flow::Orders, ConfigKind::Mapping)
            .await
            .unwrap(),
        Some(other)
    );
    assert_eq!(
        store
            .current(Flow::Orders, ConfigKind::Settings)
            .await
            .unwrap(),
        None
    );
}

/// Two operators saving on top of the same version at the same moment: exactly one
/// version is written, the other save is a conflict. Repeated `rounds` times.
pub async fn concurrent_saves_one_wins(store: Arc<dyn ConfigStore>, rounds: usize) {
    let (flow, kind) = (Flow::Customers, ConfigKind::Settings);
    for round in 0..rounds as u64 {
        let contenders: Vec<Contender<(ConfigDoc, Result<(), StoreError>)>> = (0..2)
            .map(|writer| {
                let store = Arc::clone(&store);
                let d = ConfigDoc {
                    author: format!("writer-{writer}"),
                    ..doc(
                        flow,
                        kind,
                        round + 1,
                        json!({"round": round, "writer": writer}),
                    )
                };
                Box::pin(async move {
                    let result = store.save(&d, round).await;
                    (d, result)
                }) as Contender<_>
            })
            .collect();
        let results = race(contenders).await;
        let winners: Vec<&ConfigDoc> = results
            .iter()
            .filter_map(|(d, result)| match result {
                Ok(()) => Some(d),
                Err(StoreError::Conflict(_)) => None,
                Err(e) => panic!("round {round}: unexpected error {e:?}"),
            })
            .collect();
        assert_eq!(
            winners.len(),
            1,
            "round {round}: exactly one saver wins, got {results:?}"
        );
        assert_eq!(
            store.current(flow, kind).await.unwrap().as_ref(),
            Some(winners[0]),
            "round {round}"
        );
    }
    assert_eq!(
        store.history(flow, kind, usize::MAX).await.unwrap().len(),
        rounds,
        "one version per round"
    );
}
