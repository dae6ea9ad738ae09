//! The products flow end to end on the embedded home (SQLite and the local runner).

use lsbc_sandbox::business_central::ClientIdAnswer;
use lsbc_tests::customers::HomeKind;
use lsbc_tests::products;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn catalogue() {
    products::catalogue(HomeKind::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn drafts_and_enrichment() {
    products::drafts_and_enrichment(HomeKind::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn first_run_and_shared_skus() {
    products::first_run_and_shared_skus(HomeKind::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crash_after_create_with_ids_honoured() {
    products::crash_after_create(HomeKind::Embedded, ClientIdAnswer::Honoured).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crash_after_create_with_ids_refused() {
    products::crash_after_create(HomeKind::Embedded, ClientIdAnswer::Refused).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crash_after_create_with_ids_ignored() {
    products::crash_after_create(HomeKind::Embedded, ClientIdAnswer::Ignored).await;
}
