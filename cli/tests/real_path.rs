//! The README's "Try the real path against the simulators", without a person: the
//! standalone simulators as `lsbc-sandbox --customers 120` starts them, the connect
//! commands they print run through the `lsbc` binary (the OAuth page answered here, the
//! redirected URL passed with `--redirected-url`), the `lsbc.toml` they print, then
//! `lsbc run --config lsbc.toml --once` twice. Nothing is fetched beyond 127.0.0.1: the
//! simulators serve the items' images themselves.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output, Stdio};

use lsbc_sandbox::lightspeed::Entity;
use lsbc_sandbox::standalone::{Standalone, StandaloneOptions};

fn lsbc(dir: &Path, args: &[String]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_lsbc"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .env_remove("LSBC_LIGHTSPEED_CLIENT_ID")
        .env_remove("LSBC_LIGHTSPEED_CLIENT_SECRET")
        .env_remove("LSBC_BC_CLIENT_ID")
        .env_remove("LSBC_BC_CLIENT_SECRET")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "lsbc {}: {}\n{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

/// What the browser does: follows the authorize URL, which the simulator approves at once,
/// and stops at the redirect to the registered URI.
async fn approve(authorize_url: &str) -> String {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let answer = http.get(authorize_url).send().await.unwrap();
    assert!(answer.status().is_redirection(), "{}", answer.status());
    answer.headers()["location"].to_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_sequence_syncs_against_the_standalone_simulators() {
    let sandboxes = Standalone::start(&StandaloneOptions {
        customers: 120,
        ..StandaloneOptions::default()
    })
    .await
    .unwrap();
    let banner = sandboxes.banner();
    let steps = sandboxes.connect_steps();
    // The banner shows each step ready to paste.
    assert!(
        banner.contains(&format!("lsbc {}", steps.lightspeed.join(" "))),
        "{banner}"
    );
    assert!(
        banner.contains(&format!("lsbc {}", steps.business_central.join(" "))),
        "{banner}"
    );
    assert!(
        banner.contains("lsbc run --config lsbc.toml --once"),
        "{banner}"
    );
    // Every image is on the simulator.
    let host = sandboxes.lightspeed.image_host();
    assert!(host.starts_with("http://127.0.0.1:"), "{host}");
    let images = sandboxes.lightspeed.records(Entity::Image);
    assert!(!images.is_empty());
    assert!(images.iter().all(|i| i["baseImageURL"] == host.as_str()));

    let dir = tempfile::tempdir().unwrap();
    // Lightspeed: the command prints the authorize URL; with nothing on standard input it
    // leaves the attempt open and says how to finish it.
    let started = lsbc(dir.path(), &steps.lightspeed);
    let stderr = String::from_utf8_lossy(&started.stderr);
    let authorize = stderr
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no authorize URL in: {stderr}"))
        .to_owned();
    assert!(stderr.contains("--redirected-url"), "{stderr}");
    let redirected = approve(&authorize).await;
    let finished = lsbc(
        dir.path(),
        &words(&format!("connect lightspeed --redirected-url {redirected}")),
    );
    let connected: serde_json::Value = serde_json::from_slice(&finished.stdout).unwrap();
    assert_eq!(
        connected["account_id"],
        sandboxes.lightspeed.account_id().to_string()
    );
    let bc = lsbc(dir.path(), &steps.business_central);
    let bc: serde_json::Value = serde_json::from_slice(&bc.stdout).unwrap();
    assert_eq!(bc["company"]["name"], "CRONUS");

    std::fs::write(dir.path().join("lsbc.toml"), &steps.lsbc_toml).unwrap();
    let run = lsbc(dir.path(), &words("run --config lsbc.toml --once"));
    let table = String::from_utf8_lossy(&run.stdout);
    for expected in [
        "customers",
        "products",
        "Lightspeed requests",
        "Activity log:",
    ] {
        assert!(table.contains(expected), "{expected}: {table}");
    }
    let customers = sandboxes.business_central.customers().len();
    assert!(customers >= 100, "{customers} customers in BC\n{table}");
    let items = sandboxes.business_central.items().len();
    assert!(items >= 30, "{items} items in BC\n{table}");
    let pictures = sandboxes
        .business_central
        .writes()
        .iter()
        .filter(|w| w.path.ends_with("picture/pictureContent"))
        .count();
    assert!(pictures > 0, "no picture uploaded\n{table}");
    assert!(!table.contains("Waiting to be retried"), "{table}");

    // The second run finds nothing new.
    let writes = sandboxes.business_central.writes().len();
    let again = lsbc(dir.path(), &words("run --config lsbc.toml --once --json"));
    let again: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    for flow in again["flows"].as_array().unwrap() {
        assert_eq!(flow["created"], 0, "{flow}");
        assert_eq!(flow["updated"], 0, "{flow}");
    }
    assert_eq!(sandboxes.business_central.writes().len(), writes);
    sandboxes.stop().await;
}
