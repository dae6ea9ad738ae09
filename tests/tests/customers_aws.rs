//! The customers flow end to end on the AWS home (the emulator's DynamoDB, SQS and Secrets Manager; the Lambda handlers under the emulated event source mapping).

use lsbc_sandbox::business_central::ClientIdAnswer;
use lsbc_tests::customers::{self, HomeKind};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn persons_and_companies() {
    customers::persons_and_companies(HomeKind::Aws).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn changes_and_redeliveries() {
    customers::changes_and_redeliveries(HomeKind::Aws).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_for_one_email() {
    customers::racing_for_one_email(HomeKind::Aws).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crash_after_create_with_ids_honoured() {
    customers::crash_after_create(HomeKind::Aws, ClientIdAnswer::Honoured).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crash_after_create_with_ids_refused() {
    customers::crash_after_create(HomeKind::Aws, ClientIdAnswer::Refused).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crash_after_create_with_ids_ignored() {
    customers::crash_after_create(HomeKind::Aws, ClientIdAnswer::Ignored).await;
}
