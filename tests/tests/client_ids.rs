//! How the writer finds Business Central's answer to a client-chosen `id` on its first
//! create, keeps it in the state store, and acts on it from then on — under each of the
//! three answers the simulator gives.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use lsbc_business_central::{BusinessCentral, EntitySet};
use lsbc_cli::sandboxes::{SandboxOptions, Sandboxes};
use lsbc_connectors::business_central::client_ids::{ClientIds, FoundBy, IdAnswer, findings};
use lsbc_connectors::business_central::{Trail, Writer};
use lsbc_core::RecordKey;
use lsbc_core::memory::MemoryStore;
use lsbc_core::ports::{Action, ConfigStore, SystemClock};
use lsbc_sandbox::business_central::ClientIdAnswer;
use serde_json::{Map, Value, json};
use uuid::Uuid;

fn body(name: &str) -> Map<String, Value> {
    json!({"displayName": name}).as_object().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_create_finds_the_answer_and_the_next_acts_on_it() {
    for (simulated, expected) in [
        (ClientIdAnswer::Honoured, IdAnswer::Honoured),
        (ClientIdAnswer::Refused, IdAnswer::Refused),
        (ClientIdAnswer::Ignored, IdAnswer::Ignored),
    ] {
        let s = Sandboxes::start(SandboxOptions {
            business_central_ids: simulated,
            ..SandboxOptions::default()
        })
        .await
        .unwrap();
        let bc = BusinessCentral::new(s.business_central_secret().config().unwrap()).unwrap();
        let store: Arc<dyn ConfigStore> = Arc::new(MemoryStore::new());
        let writer = Writer::new(bc.clone()).with_client_ids(Arc::new(ClientIds::stored(
            store.clone(),
            Arc::new(SystemClock),
        )));
        let key = RecordKey::parse("1").unwrap();
        let id = Uuid::new_v4();
        let mut trail = Trail::default();
        let written = writer
            .create(
                &key,
                EntitySet::Customers.into(),
                EntitySet::Customers.into(),
                id,
                body("Adatum"),
                &mut trail,
            )
            .await
            .unwrap();
        assert_eq!(written.action, Action::Created, "{simulated}");
        assert_eq!(
            written.record.id() == Some(id),
            expected == IdAnswer::Honoured
        );
        assert_eq!(s.business_central.customers().len(), 1, "{simulated}");

        let found = findings(store.as_ref()).await.unwrap();
        assert_eq!(found.len(), 1, "{simulated}: {found:?}");
        assert_eq!(found[0].entity_set, "customers");
        assert_eq!(
            found[0].company,
            s.business_central.company_id().to_string()
        );
        assert_eq!(found[0].finding.answer, expected);
        assert_eq!(found[0].finding.found_by, FoundBy::Create);
        assert_eq!(
            writer
                .honours_ids(&key, EntitySet::Customers)
                .await
                .unwrap(),
            expected == IdAnswer::Honoured
        );

        // Another process reads the answer from the store: where the id is refused, its
        // create goes without one at once.
        let before = s.business_central.writes().len();
        let other = Writer::new(bc).with_client_ids(Arc::new(ClientIds::stored(
            store.clone(),
            Arc::new(SystemClock),
        )));
        let mut trail = Trail::default();
        other
            .create(
                &key,
                EntitySet::Customers.into(),
                EntitySet::Customers.into(),
                Uuid::new_v4(),
                body("Fabrikam"),
                &mut trail,
            )
            .await
            .unwrap();
        let posts: Vec<Value> = s
            .business_central
            .writes()
            .into_iter()
            .skip(before)
            .map(|w| w.body)
            .collect();
        assert_eq!(posts.len(), 1, "{simulated}: {posts:#?}");
        assert_eq!(
            posts[0].get("id").is_some(),
            expected != IdAnswer::Refused,
            "{simulated}: {posts:#?}"
        );
        assert_eq!(s.business_central.customers().len(), 2);
    }
}

/// Document pages may answer apart from master-data pages: each set keeps its own answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_entity_set_has_its_own_answer() {
    let store: Arc<dyn ConfigStore> = Arc::new(MemoryStore::new());
    let ids = ClientIds::stored(store.clone(), Arc::new(SystemClock));
    let company = Uuid::new_v4();
    ids.note(
        company,
        EntitySet::Customers,
        IdAnswer::Honoured,
        FoundBy::Create,
    )
    .await
    .unwrap();
    ids.note(
        company,
        EntitySet::SalesOrders,
        IdAnswer::Refused,
        FoundBy::Create,
    )
    .await
    .unwrap();
    ids.note(
        company,
        EntitySet::ItemCategories,
        IdAnswer::Ignored,
        FoundBy::Probe,
    )
    .await
    .unwrap();
    let fresh = ClientIds::stored(store.clone(), Arc::new(SystemClock));
    assert_eq!(
        fresh.answer(company, EntitySet::Customers).await.unwrap(),
        Some(IdAnswer::Honoured)
    );
    assert_eq!(
        fresh.answer(company, EntitySet::SalesOrders).await.unwrap(),
        Some(IdAnswer::Refused)
    );
    assert_eq!(
        fresh
            .answer(company, EntitySet::ItemCategories)
            .await
            .unwrap(),
        Some(IdAnswer::Ignored)
    );
    assert_eq!(fresh.answer(company, EntitySet::Items).await.unwrap(), None);
    assert_eq!(
        fresh
            .answer(Uuid::new_v4(), EntitySet::Customers)
            .await
            .unwrap(),
        None,
        "per company"
    );
    assert_eq!(findings(store.as_ref()).await.unwrap().len(), 3);
}
