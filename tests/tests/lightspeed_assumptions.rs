//! The flows under both answers of the Lightspeed behaviours the docs leave open
//! (`lsbc_sandbox::lightspeed::Behaviour`; README "Lightspeed simulator assumptions").

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use lsbc_cli::sandboxes::{SandboxOptions, Sandboxes};
use lsbc_core::Flow;
use lsbc_sandbox::business_central::ClientIdAnswer;
use lsbc_sandbox::lightspeed::Behaviour;
use lsbc_tests::customers::person;
use lsbc_tests::pipeline::{self, EmbeddedHome, Home, Setup};

async fn sandboxes(behaviour: Behaviour) -> Sandboxes {
    let (mut lightspeed, business_central) = Sandboxes::configs(SandboxOptions {
        seed: 11,
        lightspeed_time_scale: 20.0,
        business_central_time_scale: 60.0,
        business_central_ids: ClientIdAnswer::Honoured,
    })
    .expect("configurations");
    lightspeed.behaviour = behaviour;
    Sandboxes::start_with(lightspeed, business_central)
        .await
        .expect("simulators")
}

fn bc_emails(s: &Sandboxes) -> Vec<String> {
    s.business_central
        .customers()
        .iter()
        .filter_map(|c| c["email"].as_str().map(str::to_owned))
        .collect()
}

/// A person changes only a customer's e-mail in Lightspeed. Where that moves
/// `Customer.timeStamp` (expected), the next poll brings it to Business Central; where it
/// doesn't, the customers flow, which polls on that stamp, sees it only while the customer
/// is inside the poll's overlap window (5 minutes before the newest change), else with the
/// customer's next change of its own fields.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_contact_only_edit_reaches_business_central_when_it_moves_the_customer() {
    for moves in [true, false] {
        let s = sandboxes(Behaviour {
            contact_edit_moves_customer: moves,
            ..Behaviour::default()
        })
        .await;
        // Last changed long before the newest customer: outside the poll's overlap window.
        let mut ivo = person("Ivo", "Ink", Some("ivo@example.com"));
        ivo.time_stamp = Some("2025-06-01T00:00:00Z".parse().unwrap());
        let id = s.lightspeed.add_customer(&ivo);
        s.lightspeed
            .add_customer(&person("Zed", "Zeal", Some("zed@example.com")));
        let home = EmbeddedHome::new(&s, Flow::Customers, Setup::default()).await;
        home.sync().await;
        assert_eq!(bc_emails(&s), ["ivo@example.com", "zed@example.com"]);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        s.lightspeed
            .edit_contact(id, &person("Ivo", "Ink", Some("ivo.ink@example.com")))
            .unwrap();
        home.sync().await;
        let expected = if moves {
            "ivo.ink@example.com"
        } else {
            "ivo@example.com"
        };
        assert_eq!(
            bc_emails(&s),
            [expected, "zed@example.com"],
            "contact_edit_moves_customer = {moves}"
        );
        if !moves {
            // The customer's next own change carries the contact with it.
            s.lightspeed
                .set_field(
                    lsbc_sandbox::lightspeed::Entity::Customer,
                    id,
                    "title",
                    "Dr",
                )
                .unwrap();
            home.sync().await;
            assert_eq!(bc_emails(&s), ["ivo.ink@example.com", "zed@example.com"]);
        }
        pipeline::assert_unthrottled(&s);
    }
}

/// Exactly one full page of customers (100, Lightspeed's largest page): whether or not the
/// page carries a `next` link to an empty one, the poll reads every customer once and ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_exactly_full_last_page_ends_the_poll_either_way() {
    for next_on_full_page in [false, true] {
        let s = sandboxes(Behaviour {
            next_on_full_page,
            ..Behaviour::default()
        })
        .await;
        for n in 0..100 {
            s.lightspeed.add_customer(&person(
                "Pia",
                &format!("Page{n:03}"),
                Some(&format!("pia{n}@example.com")),
            ));
        }
        let home = EmbeddedHome::new(&s, Flow::Customers, Setup::default()).await;
        let report = home.run_once(Flow::Customers).await.unwrap();
        assert_eq!(report.read, 100, "next_on_full_page = {next_on_full_page}");
        home.sync().await;
        assert_eq!(s.business_central.customers().len(), 100);
        let again = home.run_once(Flow::Customers).await.unwrap();
        assert_eq!(again.sent, 0, "nothing sent twice");
    }
}
