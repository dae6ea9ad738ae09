//! `lsbc demo` end to end: the summary's counts and the self-check.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use lsbc_cli::demo::{DemoOptions, run_demo};
use lsbc_core::Flow;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_demo_syncs_checks_and_counts() {
    let dir = tempfile::tempdir().unwrap();
    let summary = run_demo(&DemoOptions {
        seed: 3,
        customers: 80,
        dir: dir.path().join("demo"),
        progress: false,
        faults: 0.0,
    })
    .await
    .unwrap();
    assert!(
        summary.check_problems.is_empty(),
        "{:#?}",
        summary.check_problems
    );
    assert!(summary.checked > 81, "customers and products compared");
    assert_eq!(summary.passes.len(), 12, "three passes of four flows");
    // With Lightspeed's burst limiter on (FIDELITY.md #10), no pass of any flow draws a 429
    // from either API.
    for p in &summary.passes {
        assert_eq!(
            (p.lightspeed.throttled, p.business_central.throttled),
            (0, 0),
            "429s in {}/{}",
            p.pass,
            p.flow
        );
    }
    let pass = |name: &str, flow: Flow| {
        summary
            .passes
            .iter()
            .find(|p| p.pass == name && p.flow == flow)
            .unwrap_or_else(|| panic!("{name}/{flow}: {:#?}", summary.passes))
    };

    let initial = pass("initial sync", Flow::Customers);
    let r = &initial.records;
    assert_eq!(r.read, 81, "80 generated plus the one no mapping can place");
    assert_eq!(
        r.created + r.updated + r.unchanged + r.skipped + r.failed,
        81,
        "{r:?}"
    );
    assert!(r.created > 50 && r.updated > 0 && r.skipped > 0, "{r:?}");
    assert_eq!(r.failed, 1);
    assert_eq!(summary.failures.len(), 1);
    assert!(
        summary.failures[0].contains("customer.country"),
        "{}",
        summary.failures[0]
    );
    assert!(initial.business_central.requests > 0);
    assert_eq!(
        initial.lightspeed.throttled + initial.business_central.throttled,
        0
    );
    let changes = pass("after changes", Flow::Customers);
    assert_eq!(changes.records.updated, 5, "{:?}", changes.records);
    let idle = pass("nothing new", Flow::Customers);
    assert_eq!(idle.records.created + idle.records.updated, 0);
    assert_eq!(
        idle.business_central.requests, 0,
        "nothing new costs no BC request"
    );

    let products = pass("initial sync", Flow::Products);
    assert!(products.records.created > 10, "{:?}", products.records);
    assert!(
        products.records.updated >= 2,
        "the items BC had are matched: {:?}",
        products.records
    );
    assert!(
        products.records.skipped >= 1,
        "the duplicate SKU is skipped: {:?}",
        products.records
    );
    assert_eq!(products.records.failed, 0);
    assert_eq!(pass("after changes", Flow::Products).records.updated, 3);
    assert_eq!(
        pass("nothing new", Flow::Products)
            .business_central
            .requests,
        0
    );
    // Orders: every sale made in the first pass but the void and the one waiting for its
    // item; that one once its item is restored; the void after sync undone; then nothing.
    let orders = pass("initial sync", Flow::Orders);
    assert!(orders.records.created >= 40, "{:?}", orders.records);
    assert_eq!(orders.records.skipped, 2, "{:?}", orders.records);
    assert_eq!(orders.records.failed, 0);
    let changes = pass("after changes", Flow::Orders);
    assert_eq!(
        (changes.records.created, changes.records.updated),
        (1, 1),
        "{:?}",
        changes.records
    );
    assert_eq!(
        pass("nothing new", Flow::Orders).business_central.requests,
        0
    );
    let sales = summary.orders.as_ref().expect("the orders summary");
    assert!(sales.documents >= 42, "{sales:?}");
    assert!(sales.requests_per_sale() <= 4.0, "{sales:?}");
    // Stock: every stocked item reaches Lightspeed after the receipts, the transferred and
    // adjusted ones after the changes; nothing new writes nothing and reads nothing.
    let stock = pass("initial sync", Flow::Stock);
    assert!(stock.records.updated >= 10, "{:?}", stock.records);
    assert_eq!(stock.records.failed, 0, "{:?}", stock.records);
    assert!(pass("after changes", Flow::Stock).records.updated >= 6);
    let idle = pass("nothing new", Flow::Stock);
    assert_eq!(idle.records.updated, 0, "{:?}", idle.records);
    assert_eq!(idle.lightspeed.requests, 0);
    let figures = summary.stock.as_ref().expect("the stock summary");
    assert_eq!(
        figures.figures, 36,
        "12 items × 3 shops checked: {figures:?}"
    );
    assert!(dir.path().join("demo/state.sqlite").exists());
}

/// The demo under fire: a tenth of the requests to both simulators answered with a 503, a
/// 429, a dropped connection or a slow answer. Every flow still converges: the self-check
/// (Business Central and Lightspeed against the simulators' data) finds nothing, and only
/// the record no mapping can place fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_demo_converges_under_injected_faults() {
    let dir = tempfile::tempdir().unwrap();
    let summary = run_demo(&DemoOptions {
        seed: 5,
        customers: 40,
        dir: dir.path().join("demo"),
        progress: false,
        faults: 0.1,
    })
    .await
    .unwrap();
    assert!(
        summary.check_problems.is_empty(),
        "{:#?}",
        summary.check_problems
    );
    assert_eq!(summary.failures.len(), 1, "{:#?}", summary.failures);
    assert!(summary.failures[0].contains("customer.country"));
    let faults: u64 = summary
        .passes
        .iter()
        .map(|p| p.lightspeed.throttled + p.business_central.throttled)
        .sum();
    assert!(faults > 0, "faults were injected");
}
