//! The customers flow where Business Central numbers customers itself and does not keep
//! the ids the sync chooses, and its customer series refuses typed numbers (`Manual Nos.`
//! off): a customer without an e-mail, which the sync can only find again by the number it
//! gives it, waits in the dead-letter queue with BC's reason; the others go on; once the
//! series takes typed numbers, a replay brings it in.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use lsbc_core::{Flow, QueueName};
use lsbc_sandbox::business_central::ClientIdAnswer;
use lsbc_tests::customers::person;
use lsbc_tests::pipeline::{self, EmbeddedHome, Home, Setup};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_customer_without_an_email_waits_with_the_reason_while_the_series_refuses_typed_numbers()
{
    let s = pipeline::sandboxes_answering(ClientIdAnswer::Ignored).await;
    s.business_central.set_manual_nos("CUST", false);
    s.lightspeed
        .add_customer(&person("Ann", "Amsel", Some("ann@example.com")));
    s.lightspeed.add_customer(&person("Ben", "Bakker", None));
    let home = EmbeddedHome::new(&s, Flow::Customers, Setup::default()).await;
    home.sync().await;
    let names = |s: &lsbc_cli::sandboxes::Sandboxes| -> Vec<String> {
        s.business_central
            .customers()
            .iter()
            .filter_map(|c| c["displayName"].as_str().map(str::to_owned))
            .collect()
    };
    assert_eq!(names(&s), ["Ann Amsel"], "the one with an e-mail goes on");
    let parked = home
        .queue()
        .receive_dead_letters(QueueName::Push(Flow::Customers), 10)
        .await
        .unwrap();
    assert_eq!(parked.len(), 1, "{parked:?}");
    let reason = parked[0].1.clone().unwrap_or_default();
    assert!(
        reason.contains("Manual Nos.") && reason.contains("CUST"),
        "BC's reason names the series: {reason}"
    );

    // The operator lets the series take typed numbers and replays.
    s.business_central.set_manual_nos("CUST", true);
    lsbc_cli::operate::replay(home.queue(), QueueName::Push(Flow::Customers), 10)
        .await
        .unwrap();
    home.sync().await;
    let mut all = names(&s);
    all.sort();
    assert_eq!(all, ["Ann Amsel", "Ben Bakker"]);
    pipeline::assert_unthrottled(&s);
}
