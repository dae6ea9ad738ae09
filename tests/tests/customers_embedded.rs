//! The customers flow end to end on the embedded home (SQLite, local runner).

use lsbc_sandbox::business_central::{ClientIdAnswer, DuplicateKeyStatus, EmailFilter};
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crash_after_create_with_ids_honoured_and_duplicates_answered_409() {
    customers::crash_after_create_with(
        HomeKind::Embedded,
        ClientIdAnswer::Honoured,
        DuplicateKeyStatus::Conflict,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_email_in_another_casing_makes_a_second_customer_where_bc_compares_exactly() {
    customers::an_email_typed_in_another_casing(HomeKind::Embedded, EmailFilter::CaseSensitive)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_email_in_another_casing_finds_the_customer_where_bc_ignores_case() {
    customers::an_email_typed_in_another_casing(HomeKind::Embedded, EmailFilter::CaseInsensitive)
        .await;
}
