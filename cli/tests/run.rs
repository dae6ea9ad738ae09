//! `lsbc run --config lsbc.toml --once` against the simulators: the embedded pipeline with
//! the credentials file and state the configuration names.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use lsbc_cli::run::{RunConfig, RunOutput, sync};
use lsbc_cli::sandboxes::{SandboxOptions, Sandboxes};
use lsbc_core::Flow;
use lsbc_embedded::FileSecretStore;
use lsbc_sandbox::lightspeed::{AddressSeed, CustomerSeed, EmailSeed};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn run_once_syncs_with_the_configured_files() {
    let s = Sandboxes::start(SandboxOptions::default()).await.unwrap();
    for (first, email) in [("Zoë", "zoe@example.com"), ("Élodie", "elodie@example.com")] {
        s.lightspeed.add_customer(&CustomerSeed {
            first_name: first.into(),
            last_name: "Martin".into(),
            emails: vec![EmailSeed {
                address: email.into(),
                use_type: "Primary".into(),
            }],
            ..CustomerSeed::default()
        });
    }
    // A customer whose country no table maps: parked, with its reason in the report.
    s.lightspeed.add_customer(&CustomerSeed {
        first_name: "Ana".into(),
        last_name: "Lost".into(),
        addresses: vec![AddressSeed {
            address1: "1 Sunken Road".into(),
            city: "Poseidonis".into(),
            country: "Atlantis".into(),
            ..AddressSeed::default()
        }],
        ..CustomerSeed::default()
    });
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("lsbc.toml"),
        "state = \"state/lsbc.sqlite\"\ncredentials = \"secret/credentials.json\"\nflows = [\"customers\"]\n",
    )
    .unwrap();
    let credentials = FileSecretStore::new(dir.path().join("secret/credentials.json"));
    s.store_secrets(&credentials, "lightspeed", "business-central")
        .await
        .unwrap();
    let config = RunConfig::read(&dir.path().join("lsbc.toml")).unwrap();
    assert_eq!(config.flows, [Flow::Customers]);
    let mut printed = Vec::new();
    let report = sync(&config, RunOutput::default(), |s| printed.push(s.text()))
        .await
        .unwrap();
    assert_eq!(report.flow(Flow::Customers).created, 2, "{report:?}");
    // The table names the flow, its counts and each API's requests.
    let customers = &report.flows[0];
    assert!(customers.lightspeed.requests > 0, "{report:?}");
    assert!(customers.business_central.requests >= 2, "{report:?}");
    assert_eq!(printed.len(), 1);
    assert!(printed[0].contains("customers"), "{}", printed[0]);
    assert!(printed[0].contains("BC requests"), "{}", printed[0]);
    assert!(printed[0].contains("Activity log:"), "{}", printed[0]);
    assert_eq!(report.flow(Flow::Customers).failed, 1, "{report:?}");
    assert!(
        printed[0].contains("Failed (in the dead-letter queue): customers")
            && printed[0].contains("Atlantis"),
        "{}",
        printed[0]
    );
    assert!(dir.path().join("state/lsbc.sqlite").exists());
    assert_eq!(s.business_central.customers().len(), 2);
    // A second run finds nothing new.
    let again = sync(&config, RunOutput::default(), |_| {}).await.unwrap();
    let customers = again.flow(Flow::Customers);
    assert_eq!(customers.created + customers.updated, 0);
    assert_eq!(again.flows[0].business_central.requests, 0, "{again:?}");
    let line = again.line();
    assert!(line.contains("customers: read"), "{line}");
    assert!(!line.contains('\n'), "one line per run: {line}");

    std::fs::write(dir.path().join("bad.toml"), "flows = [\"invoices\"]\n").unwrap();
    let err = RunConfig::read(&dir.path().join("bad.toml")).unwrap_err();
    assert!(err.to_string().contains("invoices"), "{err}");
}
