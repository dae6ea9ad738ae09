//! `lsbc run --config lsbc.toml --once` against the simulators: the embedded pipeline with
//! the credentials file and state the configuration names.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use lsbc_cli::run::{RunConfig, sync};
use lsbc_cli::sandboxes::{SandboxOptions, Sandboxes};
use lsbc_core::Flow;
use lsbc_embedded::FileSecretStore;
use lsbc_sandbox::lightspeed::{CustomerSeed, EmailSeed};

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
    let report = sync(&config, false).await.unwrap();
    assert_eq!(report.flows[&Flow::Customers].created, 2, "{report:?}");
    assert!(dir.path().join("state/lsbc.sqlite").exists());
    assert_eq!(s.business_central.customers().len(), 2);
    // A second run finds nothing new.
    let again = sync(&config, false).await.unwrap();
    assert_eq!(
        again.flows[&Flow::Customers].created + again.flows[&Flow::Customers].updated,
        0
    );

    std::fs::write(dir.path().join("bad.toml"), "flows = [\"invoices\"]\n").unwrap();
    let err = RunConfig::read(&dir.path().join("bad.toml")).unwrap_err();
    assert!(err.to_string().contains("invoices"), "{err}");
}
