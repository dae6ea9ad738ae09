//! End-to-end scenarios of the customers flow, run unchanged on the embedded home and on
//! the AWS home (`tests/tests/customers_*.rs`): both simulators, the real connectors, the
//! real stages.

use lsbc_cli::sandboxes::{SandboxOptions, Sandboxes};
use lsbc_core::envelope::Envelope;
use lsbc_core::ports::{ActivityQuery, OutboundMessage, Outcome};
use lsbc_core::{Flow, QueueName, Record, RecordKey, SourceVersion, TraceId};
use lsbc_sandbox::business_central::{ClientIdAnswer, DuplicateKeyStatus, EmailFilter};
use lsbc_sandbox::lightspeed::{AddressSeed, CustomerSeed, EmailSeed, PhoneSeed};
use serde_json::Value;

use crate::pipeline::{self, AwsHome, EmbeddedHome, Home, LosesTheFirstAnswer, Setup};

/// Which home a scenario runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HomeKind {
    /// SQLite and the local runner.
    Embedded,
    /// The AWS emulator and the Lambda handlers.
    Aws,
}

impl HomeKind {
    /// Builds `flow` on this home against `sandboxes`.
    pub async fn build_flow(
        self,
        sandboxes: &Sandboxes,
        flow: Flow,
        setup: Setup,
    ) -> Box<dyn Home> {
        match self {
            HomeKind::Embedded => Box::new(EmbeddedHome::new(sandboxes, flow, setup).await),
            HomeKind::Aws => Box::new(AwsHome::new(sandboxes, flow, setup).await),
        }
    }

    async fn build(self, sandboxes: &Sandboxes, setup: Setup) -> Box<dyn Home> {
        self.build_flow(sandboxes, Flow::Customers, setup).await
    }
}

/// A Lightspeed person customer, with `email` as its primary address if given.
pub fn person(first: &str, last: &str, email: Option<&str>) -> CustomerSeed {
    CustomerSeed {
        first_name: first.into(),
        last_name: last.into(),
        customer_type_id: 1,
        emails: email
            .map(|e| {
                vec![EmailSeed {
                    address: e.into(),
                    use_type: "Primary".into(),
                }]
            })
            .unwrap_or_default(),
        phones: vec![PhoneSeed {
            number: "+33 6 12 34 56 78".into(),
            use_type: "Mobile".into(),
        }],
        addresses: vec![AddressSeed {
            address1: "12 rue de la Paix".into(),
            city: "Paris".into(),
            zip: "75002".into(),
            country: "France".into(),
            ..AddressSeed::default()
        }],
        ..CustomerSeed::default()
    }
}

fn bc_customers_with(sandboxes: &Sandboxes, email: &str) -> Vec<Value> {
    sandboxes
        .business_central
        .customers()
        .into_iter()
        .filter(|c| {
            c["email"]
                .as_str()
                .is_some_and(|e| e.eq_ignore_ascii_case(email))
        })
        .collect()
}

async fn outcomes(home: &dyn Home, key: &str) -> Vec<Outcome> {
    home.activity()
        .query(&ActivityQuery {
            flow: Some(Flow::Customers),
            key: Some(RecordKey::parse(key).unwrap()),
            ..ActivityQuery::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.outcome)
        .collect()
}

/// A person becomes a `Person` customer; a company a `Company` customer with the person as
/// a contact of it; both with the mapped fields.
pub async fn persons_and_companies(kind: HomeKind) {
    let s = pipeline::sandboxes().await;
    let zoe = s
        .lightspeed
        .add_customer(&person("Zoë", "Ørsted", Some("zoe@example.com")));
    let mut jan = person("Jan", "Jansen", Some("jan@brasserie.example"));
    jan.company = "Brasserie Müller".into();
    jan.addresses = vec![AddressSeed {
        address1: "Korenmarkt 1".into(),
        city: "Gent".into(),
        zip: "9000".into(),
        country: "Belgique".into(),
        ..AddressSeed::default()
    }];
    let jan = s.lightspeed.add_customer(&jan);
    // An address BC's MailManagement refuses (an empty label before the `@`, FIDELITY
    // #14) is never sent: the customer is created without it.
    let ann = s
        .lightspeed
        .add_customer(&person("Ann", "Lee", Some("ann..lee@example.com")));
    let home = kind.build(&s, Setup::default()).await;
    home.sync().await;
    let anns: Vec<Value> = s
        .business_central
        .customers()
        .into_iter()
        .filter(|c| c["displayName"] == "Ann Lee")
        .collect();
    assert_eq!(anns.len(), 1, "{anns:?}");
    assert_eq!(anns[0]["email"], "");
    assert_eq!(
        outcomes(home.as_ref(), &ann.to_string()).await,
        [Outcome::Created]
    );

    let [zoe_bc] = bc_customers_with(&s, "zoe@example.com").try_into().unwrap();
    assert_eq!(zoe_bc["displayName"], "Zoë Ørsted");
    assert_eq!(zoe_bc["type"], "Person");
    assert_eq!(zoe_bc["city"], "Paris");
    assert_eq!(zoe_bc["country"], "FR");
    assert_eq!(zoe_bc["phoneNumber"], "+33 6 12 34 56 78");

    let [company] = bc_customers_with(&s, "jan@brasserie.example")
        .try_into()
        .unwrap();
    assert_eq!(company["displayName"], "Brasserie Müller");
    assert_eq!(company["type"], "Company");
    assert_eq!(company["country"], "BE");
    let contacts = s.business_central.contacts();
    let company_contact = contacts
        .iter()
        .find(|c| c["type"] == "Company" && c["displayName"] == "Brasserie Müller")
        .unwrap_or_else(|| panic!("BC made the company's contact: {contacts:#?}"));
    let people: Vec<&Value> = contacts
        .iter()
        .filter(|c| c["type"] == "Person" && c["displayName"] == "Jan Jansen")
        .collect();
    assert_eq!(people.len(), 1, "{people:?}");
    assert_eq!(people[0]["companyNumber"], company_contact["number"]);
    assert_eq!(people[0]["email"], "jan@brasserie.example");
    assert_eq!(people[0]["mobilePhoneNumber"], "+33 6 12 34 56 78");

    assert_eq!(
        outcomes(home.as_ref(), &zoe.to_string()).await,
        [Outcome::Created]
    );
    assert_eq!(
        outcomes(home.as_ref(), &jan.to_string()).await,
        [Outcome::Created]
    );
    let link = home
        .links()
        .get(Flow::Customers, &RecordKey::parse(jan.to_string()).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(link.target_id, company["id"].as_str().unwrap());
    assert_eq!(link.extra["contact_id"], people[0]["id"]);
    pipeline::assert_unthrottled(&s);
}

/// An address change sends only what changed; nothing new — or the same message delivered
/// again — costs no Business Central request at all.
pub async fn changes_and_redeliveries(kind: HomeKind) {
    let s = pipeline::sandboxes().await;
    let seed = person("Zoë", "Ørsted", Some("zoe@example.com"));
    let id = s.lightspeed.add_customer(&seed);
    let home = kind.build(&s, Setup::default()).await;
    home.sync().await;

    let before = s.business_central.api_requests();
    home.sync().await;
    assert_eq!(
        s.business_central.api_requests(),
        before,
        "nothing new: no BC request"
    );

    let mut moved = seed.clone();
    moved.addresses[0].city = "Lyon".into();
    moved.addresses[0].zip = "69001".into();
    s.lightspeed.update_customer(id, &moved).unwrap();
    home.sync().await;
    let [bc] = bc_customers_with(&s, "zoe@example.com").try_into().unwrap();
    assert_eq!(
        (bc["city"].as_str(), bc["postalCode"].as_str()),
        (Some("Lyon"), Some("69001"))
    );
    let patch = s
        .business_central
        .writes()
        .into_iter()
        .rev()
        .find(|w| w.method == "PATCH")
        .expect("a PATCH");
    let mut keys: Vec<&String> = patch.body.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["city", "postalCode"], "only the changed fields");
    assert_eq!(
        outcomes(home.as_ref(), &id.to_string()).await,
        [Outcome::Updated, Outcome::Created]
    );

    // The same record delivered again (a redelivery, an operator's replay).
    let raw = s
        .lightspeed
        .record(lsbc_sandbox::lightspeed::Entity::Customer, id)
        .unwrap();
    let record = Record {
        flow: Flow::Customers,
        key: RecordKey::parse(id.to_string()).unwrap(),
        version: SourceVersion::Timestamp(raw["timeStamp"].as_str().unwrap().parse().unwrap()),
        payload: raw,
    };
    let env = Envelope::record(&record, TraceId::new());
    home.queue()
        .send(
            QueueName::Transform(Flow::Customers),
            vec![OutboundMessage {
                body: env.encode().unwrap(),
                group_id: env.group_id(),
                dedup_id: format!("replay-{}", TraceId::new()),
            }],
        )
        .await
        .unwrap();
    let before = s.business_central.api_requests();
    home.sync().await;
    assert_eq!(
        s.business_central.api_requests(),
        before,
        "a redelivery: no BC request"
    );
    // The replay has a trace id of its own, so its command's de-duplication id is new and
    // the push queue delivers it; the push finds the link's content hash unchanged and
    // records that as a new entry — without a write.
    assert_eq!(
        outcomes(home.as_ref(), &id.to_string()).await,
        [Outcome::Unchanged, Outcome::Updated, Outcome::Created],
        "the replay is recorded as unchanged, after the update"
    );
    pipeline::assert_unthrottled(&s);
}

/// Two Lightspeed customers with one e-mail address, handled together: one BC customer;
/// the second is skipped, naming the first.
pub async fn racing_for_one_email(kind: HomeKind) {
    let s = pipeline::sandboxes().await;
    let a = s
        .lightspeed
        .add_customer(&person("Anna", "Peeters", Some("family@example.be")));
    let b = s
        .lightspeed
        .add_customer(&person("Bert", "Peeters", Some("family@example.be")));
    let home = kind.build(&s, Setup::default()).await;
    home.sync().await;
    assert_eq!(bc_customers_with(&s, "family@example.be").len(), 1);
    let oa = outcomes(home.as_ref(), &a.to_string()).await;
    let ob = outcomes(home.as_ref(), &b.to_string()).await;
    let mut both = [oa[0], ob[0]];
    both.sort_by_key(|o| o.as_str());
    assert_eq!(both, [Outcome::Created, Outcome::Skipped]);
    let skipped = if oa[0] == Outcome::Skipped { b } else { a };
    let entries = home
        .activity()
        .query(&ActivityQuery {
            flow: Some(Flow::Customers),
            outcome: Some(Outcome::Skipped),
            ..ActivityQuery::default()
        })
        .await
        .unwrap();
    assert!(
        entries[0]
            .message
            .contains(&format!("shared with Lightspeed customer {skipped}")),
        "{}",
        entries[0].message
    );
    pipeline::assert_unthrottled(&s);
}

/// A crash after the BC create, before the link is written, with Business Central
/// answering a client-chosen `id` with `ids`: the retry finds the customer (by e-mail; with
/// no e-mail by the SystemId derived from the Lightspeed id where BC keeps it, else by its
/// number `LS-<id>`) and the company's person contact (by its number `LSC-<id>` when it has
/// no e-mail), and there is still one customer and one contact each.
pub async fn crash_after_create(kind: HomeKind, ids: ClientIdAnswer) {
    crash_after_create_with(kind, ids, DuplicateKeyStatus::default()).await;
}

/// [`crash_after_create`] with Business Central answering a duplicate key with `duplicate`
/// (400 or 409, FIDELITY "Assumptions to check"): the retried create of the customer
/// without an e-mail meets the duplicate where BC honours ids, and is read back either way.
pub async fn crash_after_create_with(
    kind: HomeKind,
    ids: ClientIdAnswer,
    duplicate: DuplicateKeyStatus,
) {
    let s = pipeline::sandboxes_tuned(ids, |c| c.behaviour.duplicate_key_status = duplicate).await;
    let with_email = s
        .lightspeed
        .add_customer(&person("Zoë", "Ørsted", Some("zoe@example.com")));
    let without = s.lightspeed.add_customer(&person("Noé", "Sansmail", None));
    let mut firm = person("Ada", "Sansmail", None);
    firm.company = "Atelier Sansmail".into();
    let firm = s.lightspeed.add_customer(&firm);
    let home = kind
        .build(
            &s,
            Setup {
                wrap: Some(LosesTheFirstAnswer::wrapper()),
                ..Setup::default()
            },
        )
        .await;
    home.sync().await;
    let customers = s.business_central.customers();
    assert_eq!(customers.len(), 3, "one customer each: {customers:#?}");
    let people: Vec<Value> = s
        .business_central
        .contacts()
        .into_iter()
        .filter(|c| c["displayName"] == "Ada Sansmail")
        .collect();
    assert_eq!(people.len(), 1, "one person contact: {people:#?}");
    assert_eq!(bc_customers_with(&s, "zoe@example.com").len(), 1);
    assert_eq!(
        customers
            .iter()
            .filter(|c| c["displayName"] == "Noé Sansmail")
            .count(),
        1
    );
    for key in [with_email, without, firm] {
        let link = home
            .links()
            .get(Flow::Customers, &RecordKey::parse(key.to_string()).unwrap())
            .await
            .unwrap();
        assert!(link.is_some(), "customer {key} linked after the retry");
        let seen = outcomes(home.as_ref(), &key.to_string()).await;
        assert!(seen.contains(&Outcome::Retrying), "{key}: {seen:?}");
    }
    if ids == ClientIdAnswer::Honoured {
        let duplicates = s
            .business_central
            .writes()
            .into_iter()
            .filter(|w| {
                w.method == "POST"
                    && w.path.ends_with("/customers")
                    && w.status == duplicate.status()
            })
            .count();
        assert!(duplicates > 0, "a retried create met the duplicate key");
    }
}

/// A BC customer typed `Zoe@Example.com` (made in BC, not by the sync) and a Lightspeed
/// customer `zoe@example.com`, with Business Central comparing `email eq` as `filter` says
/// (FIDELITY "Assumptions to check"). The flow looks the customer up by the address
/// lower-cased, then as Lightspeed has it: where BC ignores case it finds that customer and updates it, the
/// address included (to Lightspeed's casing); where BC compares exactly it finds nothing and
/// creates a second customer, leaving the first as it was.
pub async fn an_email_typed_in_another_casing(kind: HomeKind, filter: EmailFilter) {
    let s = pipeline::sandboxes_tuned(SandboxOptions::default().business_central_ids, |c| {
        c.behaviour.email_filter = filter;
    })
    .await;
    let typed = s
        .business_central
        .add_customer(serde_json::json!({"displayName": "Zoe O.", "email": "Zoe@Example.com"}))
        .unwrap();
    let zoe = s
        .lightspeed
        .add_customer(&person("Zoë", "Ørsted", Some("zoe@example.com")));
    let home = kind.build(&s, Setup::default()).await;
    home.sync().await;
    let found = bc_customers_with(&s, "zoe@example.com");
    let link = home
        .links()
        .get(Flow::Customers, &RecordKey::parse(zoe.to_string()).unwrap())
        .await
        .unwrap()
        .expect("linked");
    let seen = outcomes(home.as_ref(), &zoe.to_string()).await;
    match filter {
        EmailFilter::CaseInsensitive => {
            let [one] = found.try_into().unwrap();
            assert_eq!(one["id"], typed["id"]);
            assert_eq!(
                one["email"], "zoe@example.com",
                "Lightspeed's casing is written"
            );
            assert_eq!(one["displayName"], "Zoë Ørsted");
            assert_eq!(link.target_id, typed["id"].as_str().unwrap());
            assert_eq!(seen, [Outcome::Updated]);
        }
        EmailFilter::CaseSensitive => {
            assert_eq!(found.len(), 2, "a second customer: {found:#?}");
            let made = found
                .iter()
                .find(|c| c["id"] != typed["id"])
                .expect("the sync's customer");
            assert_eq!(made["email"], "zoe@example.com");
            assert_eq!(made["displayName"], "Zoë Ørsted");
            assert_eq!(link.target_id, made["id"].as_str().unwrap());
            let untouched = found.iter().find(|c| c["id"] == typed["id"]).unwrap();
            assert_eq!(untouched["displayName"], "Zoe O.");
            assert_eq!(seen, [Outcome::Created]);
        }
    }
}
