//! Scale-out benchmark (not a test): 4 worker processes, each wired as a Lambda instance is
//! (own process, own clients, the shared state table on the AWS emulator), against one
//! simulated Business Central principal and one Lightspeed account, for 30 s. Reports the
//! 429s the simulators answered (goal 0) and the share of each API's limit used (goal ≥ 0.9).
//! Business Central runs at its real rate (20 requests/s); Lightspeed's time 5× faster (5
//! drips/s). Run: `scripts/bench-scale-out [workers] [seconds] [ls scale] [bc scale]` (it
//! starts the AWS emulator).

use lsbc_tests::scale_out::{RunOptions, run, worker_main};
use tokio::process::Command;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), String> {
    if worker_main().await {
        return Ok(());
    }
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let arg = |i: usize, default: f64| -> f64 {
        args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default)
    };
    let workers = arg(0, 4.0).max(1.0) as usize;
    let seconds = arg(1, 30.0);
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let report = run(
        RunOptions {
            workers,
            callers: 3,
            seconds,
            lightspeed_time_scale: arg(2, 5.0),
            business_central_time_scale: arg(3, 1.0),
        },
        || Command::new(&exe),
    )
    .await?;
    print!("{}", report.render());
    Ok(())
}
