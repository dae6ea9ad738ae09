//! Two Lightspeed accounts feeding one Business Central company (review finding 4): each
//! account has a customer and an item with the same Lightspeed ids, and each keeps its own
//! BC records; a deployment that polled before the account was recorded keeps the ids it
//! gave BC records then.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use lsbc_cli::sandboxes::{SandboxOptions, Sandboxes};
use lsbc_connectors::customers::customer_system_id;
use lsbc_connectors::ids::IdScope;
use lsbc_core::{Cursor, Flow, RecordKey, SourceVersion};
use lsbc_sandbox::business_central::ClientIdAnswer;
use lsbc_sandbox::lightspeed::ItemSeed;
use lsbc_tests::customers::person;
use lsbc_tests::pipeline::{EmbeddedHome, Home, Setup};
use serde_json::Value;

async fn account(number: u64, ids: ClientIdAnswer) -> Sandboxes {
    let (mut lightspeed, business_central) = Sandboxes::configs(SandboxOptions {
        seed: 11,
        lightspeed_time_scale: 20.0,
        business_central_time_scale: 60.0,
        business_central_ids: ids,
    })
    .expect("configurations");
    lightspeed.account_id = number;
    Sandboxes::start_with(lightspeed, business_central)
        .await
        .expect("simulators")
}

fn item(description: &str, sku: &str) -> ItemSeed {
    ItemSeed {
        description: description.into(),
        custom_sku: sku.into(),
        price_cents: 1000,
        tax: true,
        ..ItemSeed::default()
    }
}

fn named<'a>(records: &'a [Value], field: &str, value: &str) -> Vec<&'a Value> {
    records.iter().filter(|r| r[field] == value).collect()
}

const FLOWS: [Flow; 2] = [Flow::Customers, Flow::Products];

async fn two_accounts_keep_their_own_records(ids: ClientIdAnswer) {
    let first = account(123_456, ids).await;
    let second = account(654_321, ids).await;
    // Fresh simulators number from 1: the same ids in both accounts.
    let plain = [
        first
            .lightspeed
            .add_customer(&person("Ann", "Anders", None)),
        second
            .lightspeed
            .add_customer(&person("Bob", "Berger", None)),
    ];
    let mailed = [
        first
            .lightspeed
            .add_customer(&person("Cas", "Claes", Some("cas@example.com"))),
        second
            .lightspeed
            .add_customer(&person("Dee", "Dekker", Some("dee@example.com"))),
    ];
    let items = [
        first.lightspeed.add_item(&item("Mug", "A-MUG")).unwrap(),
        second.lightspeed.add_item(&item("Cup", "B-CUP")).unwrap(),
    ];
    assert_eq!(plain[0], plain[1], "both accounts have this customer id");
    assert_eq!(mailed[0], mailed[1]);
    assert_eq!(items[0], items[1], "and this item id");

    let flows = || FLOWS.iter().map(|f| (*f, Setup::default())).collect();
    let one = EmbeddedHome::with_flows(&first, flows()).await;
    one.sync().await;
    let two = EmbeddedHome::sharing(&second, &first, flows()).await;
    two.sync().await;
    // The first account's records are not changed by the second's.
    one.sync().await;

    let bc = &first.business_central;
    let customers = bc.customers();
    for name in ["Ann Anders", "Bob Berger", "Cas Claes", "Dee Dekker"] {
        assert_eq!(
            named(&customers, "displayName", name).len(),
            1,
            "{name} once: {customers:#?}"
        );
    }
    let items_in_bc = bc.items();
    for number in ["A-MUG", "B-CUP"] {
        assert_eq!(
            named(&items_in_bc, "number", number).len(),
            1,
            "{number} once: {items_in_bc:#?}"
        );
    }
    // Each account's links point at its own records.
    let key = RecordKey::parse(plain[0].to_string()).unwrap();
    let a = one
        .links()
        .get(Flow::Customers, &key)
        .await
        .unwrap()
        .unwrap();
    let b = two
        .links()
        .get(Flow::Customers, &key)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(a.target_id, b.target_id);
    if ids == ClientIdAnswer::Honoured {
        let scoped = |n: u64| IdScope::Account(n.to_string());
        assert_eq!(
            a.target_id,
            customer_system_id(&scoped(123_456), &plain[0].to_string()).to_string()
        );
        assert_eq!(
            b.target_id,
            customer_system_id(&scoped(654_321), &plain[1].to_string()).to_string()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_accounts_keep_their_own_records_where_bc_keeps_the_ids() {
    two_accounts_keep_their_own_records(ClientIdAnswer::Honoured).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_accounts_keep_their_own_records_where_bc_numbers_them() {
    two_accounts_keep_their_own_records(ClientIdAnswer::Ignored).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deployment_that_polled_before_keeps_the_ids_it_made() {
    let s = account(123_456, ClientIdAnswer::Honoured).await;
    let customer = s.lightspeed.add_customer(&person("Eva", "Evers", None));
    // A cursor from before the account was recorded: an earlier version's deployment.
    let old: jiff::Timestamp = "2020-01-01T00:00:00Z".parse().unwrap();
    let setup = Setup {
        cursor: Some(("Customer", Cursor::at(SourceVersion::Timestamp(old)))),
        ..Setup::default()
    };
    let home = EmbeddedHome::new(&s, Flow::Customers, setup).await;
    home.sync().await;
    let key = RecordKey::parse(customer.to_string()).unwrap();
    let link = home
        .links()
        .get(Flow::Customers, &key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        link.target_id,
        customer_system_id(&IdScope::Unscoped, &customer.to_string()).to_string(),
        "the first version's id"
    );
}
