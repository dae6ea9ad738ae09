//! Contract tests for the Lightspeed behaviours the docs leave open (FIDELITY.md,
//! "Assumptions to check once on a real account"), each under both of its settings:
//! whether a contact-only edit moves `Customer.timeStamp`, whether an exactly full last
//! page carries a `next` link, and whether a serialized item takes a `qoh`. Sources are cited on each setting in
//! `shared/sandbox/src/lightspeed/settings.rs`.

#![cfg(feature = "lightspeed")]
// Helpers fail loudly like the tests they serve; clippy exempts only `#[test]` bodies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use lsbc_sandbox::lightspeed::{
    Behaviour, CustomerSeed, EmailSeed, Entity, ItemSeed, LightspeedSandbox,
    LightspeedSandboxConfig, SerializedStock, ShopSeed,
};
use serde_json::Value;

async fn start(behaviour: Behaviour) -> (LightspeedSandbox, String) {
    let sb = LightspeedSandbox::start(LightspeedSandboxConfig {
        behaviour,
        ..LightspeedSandboxConfig::default()
    })
    .await
    .unwrap();
    let token = sb.issue_tokens().access_token;
    (sb, token)
}

async fn get_url(token: &str, url: &str) -> Value {
    let resp = reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200, "{url}");
    serde_json::from_str(&resp.text().await.unwrap()).unwrap()
}

async fn get(sb: &LightspeedSandbox, token: &str, path: &str) -> Value {
    let url = format!(
        "{}/API/V3/Account/{}/{path}",
        sb.base_url(),
        sb.account_id()
    );
    get_url(token, &url).await
}

fn person(email: &str) -> CustomerSeed {
    CustomerSeed {
        first_name: "Ida".into(),
        last_name: "Ikemen".into(),
        customer_type_id: 1,
        emails: vec![EmailSeed {
            address: email.into(),
            use_type: "Primary".into(),
        }],
        time_stamp: Some("2026-01-01T09:00:00Z".parse().unwrap()),
        ..CustomerSeed::default()
    }
}

#[tokio::test]
async fn a_contact_only_edit_moves_the_customers_time_stamp_as_set() {
    for moves in [true, false] {
        let (sb, token) = start(Behaviour {
            contact_edit_moves_customer: moves,
            ..Behaviour::default()
        })
        .await;
        let id = sb.add_customer(&person("ida@example.com"));
        sb.edit_contact(id, &person("ida.new@example.com")).unwrap();
        let body = get(
            &sb,
            &token,
            &format!("Customer/{id}.json?load_relations=%5B%22Contact%22%5D"),
        )
        .await;
        let customer = &body["Customer"];
        let email = &customer["Contact"]["Emails"]["ContactEmail"]["address"];
        assert_eq!(email, "ida.new@example.com", "the edit is kept ({moves})");
        let stamp = customer["timeStamp"].as_str().unwrap();
        assert_eq!(
            stamp != "2026-01-01T09:00:00+00:00",
            moves,
            "Customer.timeStamp {stamp} (contact_edit_moves_customer = {moves})"
        );
        let contact_stamp = customer["Contact"]["timeStamp"].as_str().unwrap();
        assert_ne!(
            contact_stamp, "2026-01-01T09:00:00+00:00",
            "the contact's own stamp moves"
        );
    }
}

#[tokio::test]
async fn an_exactly_full_last_page_has_a_next_link_as_set() {
    for next_on_full_page in [false, true] {
        let (sb, token) = start(Behaviour {
            next_on_full_page,
            ..Behaviour::default()
        })
        .await;
        for n in 0..3 {
            sb.add_customer(&person(&format!("p{n}@example.com")));
        }
        let page = get(&sb, &token, "Customer.json?limit=3&sort=customerID").await;
        let customers = page["Customer"].as_array().unwrap();
        assert_eq!(customers.len(), 3);
        let next = page["@attributes"]["next"].as_str().unwrap_or_default();
        assert_eq!(!next.is_empty(), next_on_full_page, "next = {next:?}");
        if next_on_full_page {
            let last = get_url(&token, next).await;
            assert!(last.get("Customer").is_none(), "an empty page: {last}");
            assert_eq!(last["@attributes"]["next"], "", "and no further link");
        }
    }
}

#[tokio::test]
async fn a_serialized_items_quantity_is_stored_or_refused_as_set() {
    for answer in [SerializedStock::Stored, SerializedStock::Refused] {
        let (sb, token) = start(Behaviour {
            serialized_stock: answer,
            ..Behaviour::default()
        })
        .await;
        let shop = sb.add_shop(&ShopSeed {
            name: "Main".into(),
            ..ShopSeed::default()
        });
        let item = sb
            .add_item(&ItemSeed {
                description: "Bike".into(),
                custom_sku: "BIKE".into(),
                price_cents: 90_000,
                ..ItemSeed::default()
            })
            .unwrap();
        sb.set_field(Entity::Item, item, "serialized", "true")
            .unwrap();
        let before = sb.stock(item, shop);
        let url = format!(
            "{}/API/V3/Account/{}/Item/{item}.json",
            sb.base_url(),
            sb.account_id()
        );
        let resp = reqwest::Client::new()
            .put(url)
            .bearer_auth(&token)
            .json(&serde_json::json!({"ItemShops": {"ItemShop": [{"shopID": shop.to_string(), "qoh": "3"}]}}))
            .send()
            .await
            .unwrap();
        let stored = answer == SerializedStock::Stored;
        assert_eq!(
            resp.status().as_u16(),
            if stored { 200 } else { 400 },
            "{answer:?}"
        );
        let expected = if stored { Some(3) } else { before };
        assert_eq!(sb.stock(item, shop), expected, "{answer:?}");
    }
}
