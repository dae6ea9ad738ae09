//! The customers flow end to end on the embedded home (SQLite, local runner).

use lsbc_sandbox::business_central::ClientIdAnswer;
use lsbc_tests::customers::{self, HomeKind};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn persons_and_companies() {
    customers::persons_and_companies(HomeKind::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn changes_and_redeliveries() {
    customers::changes_and_redeliveries(HomeKind::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_for_one_email() {
    customers::racing_for_one_email(HomeKind::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crash_after_create_with_ids_honoured() {
    customers::crash_after_create(HomeKind::Embedded, ClientIdAnswer::Honoured).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crash_after_create_with_ids_refused() {
    customers::crash_after_create(HomeKind::Embedded, ClientIdAnswer::Refused).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crash_after_create_with_ids_ignored() {
    customers::crash_after_create(HomeKind::Embedded, ClientIdAnswer::Ignored).await;
}
