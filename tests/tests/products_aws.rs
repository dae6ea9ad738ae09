//! The products flow end to end on the AWS home (the emulator's DynamoDB, SQS and Secrets Manager; the Lambda handlers under the emulated event source mapping).

use lsbc_cli::sandboxes::SandboxOptions;
use lsbc_tests::customers::HomeKind;
use lsbc_tests::products;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn catalogue() {
    products::catalogue(HomeKind::Aws).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn drafts_and_enrichment() {
    products::drafts_and_enrichment(HomeKind::Aws).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn first_run_and_shared_skus() {
    products::first_run_and_shared_skus(HomeKind::Aws).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crash_after_create() {
    // Under the setting of the run (`LSBC_SANDBOX_BC_IDS`); all three run on the
    // embedded home and, for customers, here.
    products::crash_after_create(
        HomeKind::Aws,
        SandboxOptions::default().business_central_ids,
    )
    .await;
}
