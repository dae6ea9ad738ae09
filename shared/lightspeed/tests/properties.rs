//! Property tests (the fuzz targets that run on stable Rust, review T5): the tolerant
//! decoders and the normaliser take any JSON — records of every kind with their real field
//! and relation names holding values of any type and shape — and answer with a record or
//! an error naming the path, never a panic. `PROPTEST_CASES` sets the number of cases (a
//! long run: README "Testing").

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use lsbc_lightspeed::model::{Customer, Item, ItemMatrix, ItemShop, Sale, SaleLine};
use lsbc_lightspeed::{Kind, normalize, normalize_as};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Field and relation names of the records the flows read.
const NAMES: &[&str] = &[
    "customerID",
    "itemID",
    "itemMatrixID",
    "saleID",
    "saleLineID",
    "itemShopID",
    "shopID",
    "timeStamp",
    "createTime",
    "updatetime",
    "completeTime",
    "archived",
    "completed",
    "voided",
    "firstName",
    "lastName",
    "company",
    "title",
    "description",
    "customSku",
    "systemSku",
    "upc",
    "ean",
    "itemType",
    "tax",
    "qoh",
    "unitQuantity",
    "unitPrice",
    "calcTotal",
    "calcSubtotal",
    "calcTax1",
    "calcTax2",
    "total",
    "discountPercent",
    "parentSaleLineID",
    "Contact",
    "Emails",
    "ContactEmail",
    "address",
    "useType",
    "Addresses",
    "ContactAddress",
    "Phones",
    "ContactPhone",
    "number",
    "ItemShops",
    "ItemShop",
    "Prices",
    "ItemPrice",
    "amount",
    "SaleLines",
    "SaleLine",
    "SalePayments",
    "SalePayment",
    "PaymentType",
    "Customer",
    "Item",
    "Sale",
    "@attributes",
    "next",
    "CustomFieldValues",
    "Images",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        Just(json!("")),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        "-?[0-9]{1,6}(\\.[0-9]{1,4})?".prop_map(Value::String),
        "20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9](\\+00:00|Z)?"
            .prop_map(Value::String),
        "\\PC{0,30}".prop_map(Value::String),
    ]
}

/// JSON of any shape whose object keys are mostly the API's own names.
fn record() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(5, 96, 8, |inner| {
        let key = prop_oneof![
            4 => prop::sample::select(NAMES).prop_map(str::to_owned),
            1 => "[a-zA-Z]{1,10}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(key, inner, 0..10)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(512)))]

    #[test]
    fn any_record_normalises_and_decodes_or_is_refused(value in record()) {
        let plain = normalize(&value);
        for kind in [Kind::Customer, Kind::Item, Kind::ItemMatrix, Kind::Sale, Kind::SaleLine,
                     Kind::ItemShop, Kind::Contact, Kind::SalePayment, Kind::Other] {
            let _ = normalize_as(kind, &value);
        }
        for candidate in [&value, &plain] {
            let _ = Customer::from_json(candidate);
            let _ = Item::from_json(candidate);
            let _ = ItemMatrix::from_json(candidate);
            let _ = Sale::from_json(candidate);
            let _ = SaleLine::from_json(candidate);
            let _ = ItemShop::from_json(candidate);
        }
    }
}
