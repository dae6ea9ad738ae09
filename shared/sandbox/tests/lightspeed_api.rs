//! Behaviour of the Lightspeed simulator over HTTP, as a client without our client crate
//! sees it: quirks of the JSON, paging with shared timestamps, query operators, the leaky
//! bucket and its headers, OAuth rotation, stock writes, faults and the control API.

#![cfg(feature = "lightspeed")]
// Helpers fail loudly like the tests they serve; clippy exempts only `#[test]` bodies.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::time::Duration;

use lsbc_sandbox::common::{FaultKind, FaultRule};
use lsbc_sandbox::lightspeed::{
    Behaviour, CustomerSeed, Dataset, EmailSeed, Entity, ItemSeed, LightspeedSandbox,
    LightspeedSandboxConfig, NonInventoryStock, ShopSeed, Sizes, StockSeed, generate_at,
};
use serde_json::{Value, json};

async fn sandbox(config: LightspeedSandboxConfig) -> (LightspeedSandbox, String) {
    let sb = LightspeedSandbox::start(config).await.unwrap();
    let token = sb.issue_tokens().access_token;
    (sb, token)
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn get(
    sb: &LightspeedSandbox,
    token: &str,
    path_and_query: &str,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let url = if path_and_query.starts_with("http") {
        path_and_query.to_owned()
    } else {
        format!(
            "{}/API/V3/Account/{}/{path_and_query}",
            sb.base_url(),
            sb.account_id()
        )
    };
    let resp = http().get(url).bearer_auth(token).send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn ids(body: &Value, key: &str, id_field: &str) -> Vec<u64> {
    match body.get(key) {
        None => vec![],
        Some(Value::Array(a)) => a
            .iter()
            .map(|r| r[id_field].as_str().unwrap().parse().unwrap())
            .collect(),
        Some(one) => vec![one[id_field].as_str().unwrap().parse().unwrap()],
    }
}

fn customer(first: &str, ts: &str) -> CustomerSeed {
    CustomerSeed {
        first_name: first.into(),
        last_name: "Müller".into(),
        time_stamp: Some(ts.parse().unwrap()),
        emails: vec![EmailSeed {
            address: format!("{}@example.com", first.to_lowercase()),
            use_type: "Primary".into(),
        }],
        ..CustomerSeed::default()
    }
}

#[tokio::test]
async fn paging_with_shared_timestamps_is_stable_and_complete() {
    let (sb, token) = sandbox(LightspeedSandboxConfig::default()).await;
    for n in 0..250 {
        let ts = if n % 5 == 0 {
            "2026-01-01T10:00:00+00:00"
        } else {
            "2026-01-01T09:00:00+00:00"
        };
        sb.add_customer(&customer(&format!("C{n}"), ts));
    }
    let mut next = "Customer.json?timeStamp=%3E%3D%2C2026-01-01T09%3A00%3A00%2B00%3A00&sort=timeStamp&limit=30".to_owned();
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let (status, _, body) = get(&sb, &token, &next).await;
        assert_eq!(status, 200, "{body}");
        seen.extend(ids(&body, "Customer", "customerID"));
        pages += 1;
        let link = body["@attributes"]["next"].as_str().unwrap().to_owned();
        if link.is_empty() {
            break;
        }
        assert!(
            link.starts_with(&sb.base_url()),
            "next is a full URL: {link}"
        );
        assert!(link.contains("after="), "{link}");
        assert!(
            link.contains("timeStamp=%3E%3D%2C2026-01-01T09%3A00%3A00%2B00%3A00"),
            "{link}"
        );
        // A record created mid-paging at the shared timestamp gets a higher id, so it sorts
        // after the cursor and is still listed; nothing already listed moves.
        if pages == 3 {
            sb.add_customer(&customer("Late", "2026-01-01T09:00:00+00:00"));
        }
        next = link;
    }
    assert_eq!(pages, 9);
    let unique: BTreeSet<u64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "no duplicates");
    assert_eq!(seen.len(), 251, "250 seeded + the late one");
    // Sorted by timeStamp, ties by id.
    let first_block: Vec<u64> = seen[..200].to_vec();
    assert!(first_block.windows(2).all(|w| w[0] < w[1]));
}

#[tokio::test]
async fn previous_links_walk_back() {
    let (sb, token) = sandbox(LightspeedSandboxConfig::default()).await;
    for n in 0..25 {
        sb.add_customer(&customer(&format!("P{n}"), "2026-01-01T09:00:00+00:00"));
    }
    let (_, _, first) = get(&sb, &token, "Customer.json?limit=10").await;
    assert_eq!(first["@attributes"]["previous"], "");
    let (_, _, second) = get(&sb, &token, first["@attributes"]["next"].as_str().unwrap()).await;
    let back = second["@attributes"]["previous"].as_str().unwrap();
    assert!(back.contains("before="));
    let (_, _, again) = get(&sb, &token, back).await;
    assert_eq!(
        ids(&again, "Customer", "customerID"),
        ids(&first, "Customer", "customerID")
    );
}

#[tokio::test]
async fn one_record_is_an_object_none_is_no_key_and_single_get_counts_one() {
    let (sb, token) = sandbox(LightspeedSandboxConfig::default()).await;
    let id = sb.add_customer(&customer("Zoë", "2026-01-01T09:00:00+00:00"));
    let (_, _, one) = get(&sb, &token, "Customer.json").await;
    assert!(one["Customer"].is_object());
    let (_, _, none) = get(&sb, &token, "Customer.json?firstName=Nobody").await;
    assert!(none.get("Customer").is_none(), "{none}");
    assert_eq!(none["@attributes"], json!({"next": "", "previous": ""}));
    let (_, _, single) = get(
        &sb,
        &token,
        &format!("Customer/{id}.json?load_relations=%5B%22Contact%22%5D"),
    )
    .await;
    assert_eq!(single["@attributes"], json!({"count": "1"}));
    let c = &single["Customer"];
    assert_eq!(c["firstName"], "Zoë");
    assert!(c["Contact"]["Emails"]["ContactEmail"].is_object());
    assert_eq!(c["Contact"]["Phones"], "");
    assert!(c["customerID"].is_string() && c["archived"] == "false");
    let (status, headers, missing) = get(&sb, &token, "Customer/9999.json").await;
    assert_eq!(status, 404);
    assert_eq!(missing["httpCode"], "404");
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
}

#[tokio::test]
async fn operators_sorting_and_archived() {
    let (sb, token) = sandbox(LightspeedSandboxConfig::default()).await;
    for (n, name) in ["Anna", "Bram", "Chloé", "Daan", "Eva"].iter().enumerate() {
        sb.add_customer(&customer(
            name,
            &format!("2026-01-0{}T00:00:00+00:00", n + 1),
        ));
    }
    sb.set_field(Entity::Customer, 5, "archived", "true")
        .unwrap();
    let q = |s: &str| {
        let sb = &sb;
        let token = token.clone();
        let s = s.to_owned();
        async move { ids(&get(sb, &token, &s).await.2, "Customer", "customerID") }
    };
    assert_eq!(
        q("Customer.json?customerID=IN%2C%5B1%2C3%2C5%5D").await,
        vec![1, 3]
    );
    assert_eq!(
        q("Customer.json?customerID=IN%2C%5B1%2C3%2C5%5D&archived=true").await,
        vec![1, 3, 5]
    );
    assert_eq!(q("Customer.json?archived=only").await, vec![5]);
    assert_eq!(
        q("Customer.json?firstName=~%2C%25a%25").await,
        vec![1, 2, 4]
    );
    assert_eq!(
        q("Customer.json?firstName=%21%3D%2CAnna").await,
        vec![2, 3, 4]
    );
    assert_eq!(
        q("Customer.json?createTime=%3E%3C%2C2026-01-02T00%3A00%3A00%2B00%3A00%2C2026-01-03T00%3A00%3A00%2B00%3A00").await,
        vec![2, 3]
    );
    // The docs' offset without a colon, and a zoned bound.
    assert_eq!(
        q("Customer.json?timeStamp=%3C%2C2026-01-02T00%3A00%3A00%2B0100").await,
        vec![1]
    );
    assert_eq!(q("Customer.json?sort=-timeStamp").await, vec![4, 3, 2, 1]);
    assert_eq!(
        q("Customer.json?sort=-customerID&limit=2").await,
        vec![4, 3]
    );
    let (status, _, body) = get(&sb, &token, "Customer.json?sort=company").await;
    assert_eq!(status, 400);
    assert!(
        body["message"].as_str().unwrap().contains("firstName"),
        "lists sortable fields: {body}"
    );
    // A raw '+' in the offset decodes as a space and is refused.
    let (status, _, body) = get(
        &sb,
        &token,
        "Customer.json?timeStamp=%3E%3D%2C2026-01-01T00%3A00%3A00+00%3A00",
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, _, _) = get(&sb, &token, "Customer.json?load_relations=Contact").await;
    assert_eq!(status, 400, "load_relations must be a JSON array");
    let (status, _, _) = get(&sb, &token, "Customer.json?offset=100").await;
    assert_eq!(status, 400, "V2 offset paging is gone");
}

#[tokio::test]
async fn rate_limit_headers_first_overflow_and_retry_after_in_wall_seconds() {
    let (sb, token) = sandbox(LightspeedSandboxConfig {
        // 0.04 drips per API second at 20× = 0.8 per wall second: slow enough that a burst
        // overflows however slow the machine, and Retry-After comes out in decimals.
        bucket_size: 5.0,
        drip_rate: 0.04,
        time_scale: 20.0,
        ..LightspeedSandboxConfig::default()
    })
    .await;
    let (status, headers, _) = get(&sb, &token, "Shop.json").await;
    assert_eq!(status, 200);
    assert_eq!(
        headers["x-ls-api-drip-rate"], "0.8",
        "drips per wall second at scale 20"
    );
    assert_eq!(headers["x-ls-api-request-cost"], "1");
    assert!(
        headers["x-ls-api-bucket-level"]
            .to_str()
            .unwrap()
            .ends_with("/5")
    );
    assert_eq!(
        headers["x-ls-acct-id"],
        sb.account_id().to_string().as_str()
    );
    // Relations cost more, doubled on lists: 1 + 2 × (0.2 + 0.1).
    let (_, headers, _) = get(
        &sb,
        &token,
        "Item.json?load_relations=%5B%22ItemShops%22%2C%22Category%22%5D",
    )
    .await;
    assert_eq!(headers["x-ls-api-request-cost"], "1.6");
    // Fill the bucket in one burst: the request that overflows is still served.
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..8 {
        let (status, headers, body) = get(&sb, &token, "Shop.json").await;
        if status == 429 {
            assert_eq!(headers["x-ls-api-ratelimit-type"], "api-leaky-bucket");
            assert_eq!(body["httpCode"], "429");
            let raw = headers["retry-after"].to_str().unwrap();
            assert!(raw.contains('.'), "decimal seconds when compressed: {raw}");
            retry_after = Some(raw.parse::<f64>().unwrap());
        }
        statuses.push(status);
    }
    // 2.6 drips used above; 4.6 → 5.6 overflows the bucket of 5 and is still served.
    let served = statuses.iter().filter(|s| **s == 200).count();
    assert!(served >= 3, "{statuses:?}");
    assert!(statuses.contains(&429), "{statuses:?}");
    let wait = retry_after.unwrap();
    assert!(
        wait > 0.0 && wait <= 1.25,
        "wall seconds at scale 20: {wait}"
    );
    tokio::time::sleep(Duration::from_secs_f64(wait + 0.01)).await;
    let (status, _, _) = get(&sb, &token, "Shop.json").await;
    assert_eq!(status, 200, "honouring Retry-After is enough");
    assert!(sb.stats().requests.throttled >= 1);
}

/// Source: Lightspeed's `/introduction/ratelimits/` (changelog 2026.03.17) — a secondary
/// burst limiter in fixed one-second windows (example header `X-LS-Api-Burst-Level: 1/20`);
/// its 429 carries `X-LS-API-RateLimit-Type: api-burst-limiter` and `Retry-After`
/// (api-notes/LIGHTSPEED.md, rate limits; FIDELITY.md #10).
#[tokio::test]
async fn the_burst_limiter_answers_429_with_its_type() {
    let (sb, token) = sandbox(LightspeedSandboxConfig {
        burst_limit: Some(3),
        // Slowed down: the first one-second window lasts ten wall seconds, so the five
        // requests below all fall in it however loaded the machine is.
        time_scale: 0.1,
        ..LightspeedSandboxConfig::default()
    })
    .await;
    let mut kinds = Vec::new();
    for _ in 0..5 {
        let (status, headers, _) = get(&sb, &token, "Shop.json").await;
        assert!(headers.contains_key("x-ls-api-burst-level"));
        if status == 429 {
            kinds.push(
                headers["x-ls-api-ratelimit-type"]
                    .to_str()
                    .unwrap()
                    .to_owned(),
            );
        }
    }
    assert!(
        kinds.len() == 2 && kinds.iter().all(|k| k == "api-burst-limiter"),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn put_item_sets_stock_without_touching_the_item_timestamp() {
    let (sb, token) = sandbox(LightspeedSandboxConfig::default()).await;
    sb.add_shop(&ShopSeed {
        name: "A".into(),
        time_zone: "Europe/Amsterdam".into(),
        ..ShopSeed::default()
    });
    sb.add_shop(&ShopSeed {
        name: "B".into(),
        time_zone: "US/Eastern".into(),
        ..ShopSeed::default()
    });
    let item = sb
        .add_item(&ItemSeed {
            description: "Mug «Zoë»".into(),
            price_cents: 1295,
            stock: vec![StockSeed { shop_id: 1, qoh: 4 }],
            time_stamp: Some("2026-01-01T00:00:00Z".parse().unwrap()),
            ..ItemSeed::default()
        })
        .unwrap();
    sb.clock().advance(Duration::from_secs(20));
    let url = format!(
        "{}/API/V3/Account/{}/Item/{item}.json",
        sb.base_url(),
        sb.account_id()
    );
    let resp = http()
        .put(&url)
        .bearer_auth(&token)
        .json(&json!({"ItemShops": {"ItemShop": [{"shopID": 1, "qoh": 10}, {"shopID": "2", "qoh": "-3"}]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["x-ls-api-request-cost"],
        "2",
        "1 + 0.5 per nested ItemShop"
    );
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["Item"]["timeStamp"], "2026-01-01T00:00:00+00:00");
    assert_eq!(sb.stock(item, 1), Some(10));
    assert_eq!(sb.stock(item, 2), Some(-3));
    assert_eq!(sb.stock(item, 0), Some(7), "the shopID 0 summary follows");
    assert_eq!(sb.writes().len(), 1);
    // The ItemShop moved: the documented stock poll finds it.
    let (_, _, shops) = get(
        &sb,
        &token,
        "ItemShop.json?sort=timeStamp&timeStamp=%3E%3D%2C2026-01-01T00%3A00%3A10%2B00%3A00",
    )
    .await;
    let found = ids(&shops, "ItemShop", "itemShopID");
    assert_eq!(found.len(), 3, "{shops}");
    // A description change does move it.
    let resp = http()
        .put(&url)
        .bearer_auth(&token)
        .json(&json!({"description": "Mug"}))
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_ne!(body["Item"]["timeStamp"], "2026-01-01T00:00:00+00:00");
    // Archiving by PUT is refused; nothing changes on a bad stock row.
    let resp = http()
        .put(&url)
        .bearer_auth(&token)
        .json(&json!({"archived": "true"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let resp = http()
        .put(&url)
        .bearer_auth(&token)
        .json(&json!({"ItemShops": {"ItemShop": [{"shopID": 1, "qoh": 99}, {"shopID": 42, "qoh": 1}]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(sb.stock(item, 1), Some(10));
}

/// A non-inventory item's stock: refused by default, stored under the other answer (the
/// docs don't say); `itemType` can be set by PUT.
#[tokio::test]
async fn stock_of_a_non_inventory_item_follows_the_setting() {
    for answer in [NonInventoryStock::Refused, NonInventoryStock::Stored] {
        let (sb, token) = sandbox(LightspeedSandboxConfig {
            behaviour: Behaviour {
                non_inventory_stock: answer,
                ..Behaviour::default()
            },
            ..LightspeedSandboxConfig::default()
        })
        .await;
        sb.add_shop(&ShopSeed {
            name: "A".into(),
            time_zone: "Europe/Amsterdam".into(),
            ..ShopSeed::default()
        });
        let item = sb
            .add_item(&ItemSeed {
                description: "Gift wrap".into(),
                item_type: "non_inventory".into(),
                ..ItemSeed::default()
            })
            .unwrap();
        let url = format!(
            "{}/API/V3/Account/{}/Item/{item}.json",
            sb.base_url(),
            sb.account_id()
        );
        let put = |body: Value| http().put(&url).bearer_auth(&token).json(&body).send();
        let stock = json!({"ItemShops": {"ItemShop": {"shopID": 1, "qoh": 5}}});
        let status = put(stock.clone()).await.unwrap().status();
        match answer {
            NonInventoryStock::Refused => {
                assert_eq!(status, 400);
                assert_ne!(sb.stock(item, 1), Some(5));
            }
            NonInventoryStock::Stored => {
                assert_eq!(status, 200);
                assert_eq!(sb.stock(item, 1), Some(5));
            }
        }
        assert_eq!(
            put(json!({"itemType": "parcel"})).await.unwrap().status(),
            400
        );
        assert_eq!(
            put(json!({"itemType": "default"})).await.unwrap().status(),
            200
        );
        assert_eq!(put(stock).await.unwrap().status(), 200);
        assert_eq!(sb.stock(item, 1), Some(5));
    }
}

async fn token_call(sb: &LightspeedSandbox, form: &[(&str, &str)]) -> (u16, Value) {
    let resp = http()
        .post(format!("{}/auth/oauth/token", sb.base_url()))
        .form(form)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

#[tokio::test]
async fn oauth_code_flow_with_pkce_and_rotating_refresh_tokens() {
    use base64::Engine as _;
    use sha2::Digest as _;
    let (sb, _) = sandbox(LightspeedSandboxConfig::default()).await;
    let cfg = sb.config().clone();
    let verifier = "x".repeat(64);
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    let resp = http()
        .get(format!(
            "{}/auth/oauth/authorize?response_type=code&client_id={}&scope=employee%3Aall&state=s123&code_challenge={challenge}&code_challenge_method=S256",
            sb.base_url(),
            cfg.client_id
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    let location = url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
    assert!(location.as_str().starts_with(&cfg.redirect_uri));
    let q: std::collections::BTreeMap<String, String> =
        location.query_pairs().into_owned().collect();
    assert_eq!(q["state"], "s123");
    let (status, grant) = token_call(
        &sb,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &cfg.client_id),
            ("client_secret", &cfg.client_secret),
            ("code", &q["code"]),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(status, 200, "{grant}");
    assert_eq!(grant["token_type"], "Bearer");
    assert_eq!(grant["expires_in"], 3600);
    // The access token is a JWT with the account in `acct`.
    let payload = grant["access_token"]
        .as_str()
        .unwrap()
        .split('.')
        .nth(1)
        .unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["acct"], sb.account_id().to_string());
    // The code is single use.
    let (status, again) = token_call(
        &sb,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &cfg.client_id),
            ("client_secret", &cfg.client_secret),
            ("code", &q["code"]),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(
        (status, again["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    // Refresh (JSON body accepted too) rotates the refresh token.
    let r0 = grant["refresh_token"].as_str().unwrap();
    let resp = http()
        .post(format!("{}/auth/oauth/token", sb.base_url()))
        .json(&json!({"grant_type": "refresh_token", "client_id": cfg.client_id, "client_secret": cfg.client_secret, "refresh_token": r0}))
        .send()
        .await
        .unwrap();
    let second: Value = resp.json().await.unwrap();
    let r1 = second["refresh_token"].as_str().unwrap();
    assert_ne!(r0, r1);
    assert!(
        sb.refresh_token_valid(r0),
        "deferred revocation: still valid until first use"
    );
    let (status, _, _) = get(&sb, second["access_token"].as_str().unwrap(), "Shop.json").await;
    assert_eq!(status, 200);
    assert!(!sb.refresh_token_valid(r0));
    let (status, refused) = token_call(
        &sb,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &cfg.client_id),
            ("client_secret", &cfg.client_secret),
            ("refresh_token", r0),
        ],
    )
    .await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let counters = sb.stats().oauth;
    assert_eq!(
        (
            counters.refreshes,
            counters.refresh_rejections,
            counters.codes_exchanged
        ),
        (1, 1, 1)
    );
    // Expired access tokens get the documented 401 body.
    sb.expire_access_tokens();
    let (status, _, body) = get(&sb, second["access_token"].as_str().unwrap(), "Shop.json").await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "access_denied");
    assert_eq!(body["hint"], "Access token could not be verified");
}

#[tokio::test]
async fn injected_faults_use_lightspeed_error_bodies_and_resets() {
    let (sb, token) = sandbox(LightspeedSandboxConfig::default()).await;
    sb.faults().add(
        FaultRule::always(FaultKind::Status { status: 503 })
            .on_path("/Shop")
            .times(1),
    );
    // Every matching rule that fires uses up one of its `times`: add them one by one.
    let (status, headers, body) = get(&sb, &token, "Shop.json").await;
    assert_eq!(status, 503);
    assert_eq!(body["httpCode"], "503");
    assert!(headers.contains_key("x-ls-api-bucket-level"));
    sb.faults().add(
        FaultRule::always(FaultKind::TooManyRequests)
            .on_path("/Shop")
            .times(1),
    );
    let (status, headers, _) = get(&sb, &token, "Shop.json").await;
    assert_eq!(status, 429);
    assert_eq!(headers["retry-after"], "1");
    let url = format!(
        "{}/API/V3/Account/{}/Shop.json",
        sb.base_url(),
        sb.account_id()
    );
    sb.faults().add(
        FaultRule::always(FaultKind::Reset)
            .on_path("/Shop")
            .times(1),
    );
    let reset = async {
        http()
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await?
            .text()
            .await
    };
    assert!(reset.await.is_err(), "connection dropped mid-answer");
    let (status, _, _) = get(&sb, &token, "Shop.json").await;
    assert_eq!(status, 200);
    assert_eq!(sb.stats().requests.by_status.get(&0), Some(&1));
}

#[tokio::test]
async fn the_control_api_seeds_inspects_and_sets_faults() {
    let (sb, token) = sandbox(LightspeedSandboxConfig::default()).await;
    let base = sb.base_url();
    let c = http();
    let r: Value = c
        .post(format!("{base}/_sandbox/generate"))
        .json(&json!({"seed": 5, "sizes": Sizes::small()}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["Customer"], 12);
    let extra = Dataset {
        customers: vec![customer("Ørsted", "2026-01-01T00:00:00+00:00")],
        ..Dataset::default()
    };
    let r: Value = c
        .post(format!("{base}/_sandbox/seed"))
        .json(&extra)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["Customer"], 13);
    let all: Value = c
        .get(format!("{base}/_sandbox/records/Customer"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(all.as_array().unwrap().len(), 13);
    let tokens: Value = c
        .post(format!("{base}/_sandbox/tokens"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(tokens["access_token"].as_str().unwrap().contains('.'));
    c.put(format!("{base}/_sandbox/faults"))
        .json(&json!({"seed": 1, "rules": [{"kind": "status", "status": 502, "path_contains": "/Sale", "times": 1}]}))
        .send()
        .await
        .unwrap();
    let (status, _, _) = get(&sb, &token, "Sale.json").await;
    assert_eq!(status, 502);
    let counters: Value = c
        .get(format!("{base}/_sandbox/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(counters["requests"]["by_status"]["502"], 1);
    let r = c
        .post(format!("{base}/_sandbox/clock/advance"))
        .json(&json!({"seconds": 3600}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn a_generated_dataset_loads_and_serves_every_entity() {
    let (sb, token) = sandbox(LightspeedSandboxConfig::default()).await;
    let data = generate_at(11, Sizes::default(), sb.clock().now());
    sb.load(&data).unwrap();
    for entity in [
        "Item",
        "ItemMatrix",
        "Category",
        "Customer",
        "Sale",
        "ItemShop",
        "Image",
        "Shop",
        "PaymentType",
        "CustomerType",
        "SaleLine",
    ] {
        let (status, _, body) = get(&sb, &token, &format!("{entity}.json?archived=true")).await;
        assert_eq!(status, 200, "{entity}: {body}");
        assert!(body.get(entity).is_some(), "{entity} has records");
    }
    let (_, _, sales) = get(&sb, &token, "Sale.json?load_relations=%5B%22SaleLines%22%2C%22SalePayments%22%2C%22Customer%22%5D&completed=true").await;
    // Completed sales balance: payments are the total plus tips (voided ones' payments are
    // archived and count for nothing).
    for sale in sales["Sale"].as_array().unwrap() {
        if sale["voided"] == "true" {
            assert_eq!(sale["calcPayments"], "0", "{sale}");
        } else {
            assert_eq!(sale["balance"], "0", "completed sales balance: {sale}");
        }
    }
    // A field only some records have (completeTime on completed sales) filters fine.
    let (status, _, body) = get(
        &sb,
        &token,
        "Sale.json?completeTime=%3E%2C2000-01-01T00%3A00%3A00%2B00%3A00",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(ids(&body, "Sale", "saleID").len() < sb.records(Entity::Sale).len());
    let (_, _, items) = get(&sb, &token, "Item.json?archived=only").await;
    assert!(!ids(&items, "Item", "itemID").is_empty());
    let (_, _, variants) = get(
        &sb,
        &token,
        "Item.json?itemMatrixID=%3E%2C0&load_relations=%5B%22ItemAttributes%22%5D&limit=5",
    )
    .await;
    assert!(variants["Item"][0]["ItemAttributes"]["attribute1"].is_string());
    let (_, _, cats) = get(&sb, &token, "Category.json?nodeDepth=1").await;
    assert!(cats["Category"].as_array().is_some_and(|a| {
        a.iter()
            .all(|c| c["fullPathName"].as_str().unwrap().contains('/'))
    }));
}
