//! Four processes wired as Lambda instances share one Lightspeed account and one Business
//! Central principal through the budgets on the state table: the simulators answer no 429.
//! (The utilisation is printed, not asserted: it is a benchmark figure, see
//! `cargo bench -p lsbc-tests --bench scale_out`.)

use lsbc_tests::scale_out::{RunOptions, WORKER_VAR, run, worker_main};
use tokio::process::Command;

/// The worker's entry: a no-op unless this process was started as a worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_out_worker() {
    worker_main().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_processes_share_both_apis_budgets_without_a_429() {
    if std::env::var_os(WORKER_VAR).is_some() {
        return;
    }
    let exe = std::env::current_exe().expect("the test binary");
    let report = run(
        RunOptions {
            workers: 4,
            callers: 3,
            seconds: 6.0,
            lightspeed_time_scale: 10.0,
            business_central_time_scale: 5.0,
        },
        || {
            let mut command = Command::new(&exe);
            command.args([
                "scale_out_worker",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ]);
            command
        },
    )
    .await
    .expect("the run");
    println!("{}", report.render());
    let failures: u64 = report.workers.iter().map(|w| w.failures).sum();
    assert_eq!(failures, 0, "{}", report.render());
    assert!(
        report.bc_requests > 0 && report.ls_requests > 0,
        "{}",
        report.render()
    );
    assert_eq!(report.bc_throttled, 0, "{}", report.render());
    assert_eq!(report.ls_throttled, 0, "{}", report.render());
}
