//! Property tests (the fuzz targets that run on stable Rust, review T5): the webhook
//! notification parser (reachable from a public URL) and enum unescaping never panic on any
//! input, escaping round-trips, and any text a `$filter` compares with finds exactly the
//! record holding it in the simulator. `PROPTEST_CASES` sets the number of cases (a long
//! run: README "Testing").

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use lsbc_business_central::enums::{escape, unescape};
use lsbc_business_central::webhook::parse_notifications;
use lsbc_business_central::{
    BusinessCentral, BusinessCentralConfig, CompanyRef, EntitySet, Filter, Principal,
};
use lsbc_sandbox::business_central::{BusinessCentralSandbox, BusinessCentralSandboxConfig};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// JSON values of any shape, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        ".{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("value".to_owned()),
                    Just("clientState".to_owned()),
                    Just("resource".to_owned()),
                    Just("changeType".to_owned()),
                    Just("subscriptionId".to_owned()),
                    Just("lastModifiedDateTime".to_owned()),
                    ".{0,12}"
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(256)))]

    #[test]
    fn any_bytes_parse_as_notifications_or_are_refused(body in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = parse_notifications(&body);
    }

    #[test]
    fn any_json_parses_as_notifications_or_is_refused(value in any_json()) {
        let body = serde_json::to_vec(&json!({"value": value})).unwrap();
        let _ = parse_notifications(&body);
        let _ = parse_notifications(&serde_json::to_vec(&value).unwrap());
    }

    #[test]
    fn unescaping_never_panics_and_undoes_escaping(text in "(_x[0-9A-Fa-f]{0,5}_?|.){0,30}") {
        let _ = unescape(&text);
        let escaped = escape(&text);
        prop_assert_eq!(unescape(&escaped), text.as_str());
    }
}

/// Texts a person may type into a name: quotes, URL and OData punctuation, accents, emoji.
fn names() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 '&#%+/?=,;:()\\[\\]*$@!~éøñ漢🙂-]{1,40}"
        .prop_filter("no blank ends", |s| !s.is_empty() && s.trim() == s)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(24)))]

    /// The filter builder quotes and encodes any text so that Business Central (here, the
    /// simulator's OData parser) compares with exactly that text.
    #[test]
    fn a_filter_on_any_name_finds_exactly_the_record_holding_it(a in names(), b in names()) {
        prop_assume!(a != b);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let sb = BusinessCentralSandbox::start(BusinessCentralSandboxConfig::default())
                .await
                .unwrap();
            let principal = sb.config().principals.first().cloned().unwrap();
            let bc = BusinessCentral::new(
                BusinessCentralConfig::online(
                    sb.tenant(),
                    sb.environment(),
                    vec![Principal::new(principal.client_id, principal.client_secret)],
                    CompanyRef::Id(sb.company_id()),
                )
                .with_api_base(sb.base_url())
                .with_login_base(sb.base_url()),
            )
            .unwrap();
            for name in [&a, &b] {
                let body = json!({"displayName": name});
                bc.create(EntitySet::Customers, body.as_object().cloned().unwrap())
                    .await
                    .unwrap();
            }
            let found = bc
                .find_first(EntitySet::Customers, Filter::eq("displayName", a.as_str()))
                .await
                .unwrap()
                .expect("found");
            assert_eq!(found.str("displayName"), Some(a.as_str()), "{a:?}");
        });
    }
}
