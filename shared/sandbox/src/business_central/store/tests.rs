//! Tests of the store's write rules.

use serde_json::json;

use super::pictures::sniff_image;
use super::*;

fn store() -> (Store, Uuid, Timestamp) {
    let now: Timestamp = "2026-03-02T10:00:00Z".parse().unwrap();
    let mut store = Store::new(StoreSettings {
        lcy: "USD".into(),
        tax_rates: BTreeMap::from([("STANDARD".to_owned(), 10.0)]),
        customer_contacts: true,
        client_ids: ClientIds::default(),
        vat: super::vat::VatSetup::default(),
        posting: super::posting::PostingSetup::default(),
        ledger: super::ledger::LedgerSequence::default(),
        payments: super::payments::PaymentJournalSetup::default(),
        sales_tax: super::sales_tax::SalesTaxSetup::default(),
        behaviour: {
            let mut behaviour = BcBehaviour::default();
            behaviour
                .codes
                .insert(crate::business_central::CodeTable::TaxGroup, "STANDARD");
            behaviour
        },
    });
    let company = Uuid::new_v4();
    store
        .companies
        .push(CompanyData::new(company, "CRONUS", "CRONUS USA, Inc.", now));
    (store, company, now)
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

#[test]
fn etags_look_like_bc_and_change_per_version() {
    let a = etag_of(1);
    assert!(a.starts_with("W/\"Jz") && a.ends_with('"'), "{a}");
    assert_ne!(a, etag_of(2));
}

#[test]
fn numbers_come_from_series_and_manual_document_numbers_are_refused() {
    let (mut s, c, now) = store();
    let id = s
        .create(
            c,
            Entity::Customer,
            None,
            &obj(json!({"displayName": "Adatum"})),
            now,
            Origin::Api,
        )
        .unwrap();
    assert_eq!(
        s.get(c, Entity::Customer, id).unwrap().fields["number"],
        "C00010"
    );
    let err = s
        .create(
            c,
            Entity::SalesOrder,
            None,
            &obj(json!({"customerNumber": "C00010", "number": "X1"})),
            now,
            Origin::Api,
        )
        .unwrap_err();
    assert_eq!(err.code, "Application_DialogException");
    assert!(err.message.contains("No. Series S-ORD"));
    let order = s
        .create(
            c,
            Entity::SalesOrder,
            None,
            &obj(json!({"customerNumber": "c00010"})),
            now,
            Origin::Api,
        )
        .unwrap();
    let row = s.get(c, Entity::SalesOrder, order).unwrap();
    assert_eq!(row.fields["number"], "S-ORD101001");
    assert_eq!(row.fields["customerName"], "Adatum");
    assert_eq!(row.fields["requestedDeliveryDate"], "0001-01-01");
}

#[test]
fn deep_insert_is_all_or_nothing_and_computes_totals() {
    let (mut s, c, now) = store();
    s.create(
        c,
        Entity::Customer,
        None,
        &obj(json!({"displayName": "Adatum"})),
        now,
        Origin::Api,
    )
    .unwrap();
    s.create(c, Entity::Item, None, &obj(json!({"number": "1000", "displayName": "Desk", "unitPrice": 12.5, "taxGroupCode": "STANDARD"})), now, Origin::Api).unwrap();
    let err = s
        .create(
            c,
            Entity::SalesOrder,
            None,
            &obj(json!({"customerNumber": "C00010", "salesOrderLines": [
                {"lineType": "Item", "lineObjectNumber": "1000", "quantity": 2},
                {"lineType": "Item", "lineObjectNumber": "NOPE", "quantity": 1}
            ]})),
            now,
            Origin::Api,
        )
        .unwrap_err();
    assert_eq!(err.code, "Internal_InvalidTableRelation");
    assert!(s.rows(c, Entity::SalesOrder, None).is_empty());
    assert!(s.rows(c, Entity::SalesOrderLine, None).is_empty());
    let id = s.create(c, Entity::SalesOrder, None, &obj(json!({"customerNumber": "C00010", "salesOrderLines": [
        {"lineType": "Item", "lineObjectNumber": "1000", "quantity": 2},
        {"itemId": s.rows(c, Entity::Item, None)[0].0.to_string(), "quantity": 1, "unitPrice": 10}
    ]})), now, Origin::Api).unwrap();
    let header = s.get(c, Entity::SalesOrder, id).unwrap();
    assert_eq!(header.fields["totalAmountExcludingTax"], json!(35.0));
    assert_eq!(header.fields["totalTaxAmount"], json!(3.5));
    assert_eq!(header.fields["totalAmountIncludingTax"], json!(38.5));
    let lines = s.rows(c, Entity::SalesOrderLine, Some(id));
    assert_eq!(lines[1].1.fields["sequence"], json!(20000));
    // The order number came from the series once: the failed insert rolled it back.
    assert_eq!(header.fields["number"], "S-ORD101001");
}

#[test]
fn if_match_is_required_and_checked() {
    let (mut s, c, now) = store();
    let id = s
        .create(
            c,
            Entity::Item,
            None,
            &obj(json!({"displayName": "Desk"})),
            now,
            Origin::Api,
        )
        .unwrap();
    let tag = etag_of(s.get(c, Entity::Item, id).unwrap().version);
    let patch = obj(json!({"displayName": "Desk 2"}));
    assert_eq!(
        s.update(c, Entity::Item, id, None, &patch, now, Origin::Api)
            .unwrap_err()
            .code,
        "BadRequest_InvalidToken"
    );
    s.update(c, Entity::Item, id, Some(&tag), &patch, now, Origin::Api)
        .unwrap();
    assert_eq!(
        s.update(c, Entity::Item, id, Some(&tag), &patch, now, Origin::Api)
            .unwrap_err()
            .status,
        409
    );
    s.update(c, Entity::Item, id, Some("*"), &patch, now, Origin::Api)
        .unwrap();
}

#[test]
fn inventory_comes_from_the_ledger_without_touching_the_item() {
    let (mut s, c, now) = store();
    let id = s
        .create(
            c,
            Entity::Item,
            None,
            &obj(json!({"number": "1000", "displayName": "Desk"})),
            now,
            Origin::Api,
        )
        .unwrap();
    let before = s.get(c, Entity::Item, id).unwrap();
    s.post_ledger(
        c,
        &LedgerPost {
            item_number: "1000".into(),
            entry_type: "Positive_x0020_Adjmt_x002E_",
            quantity: 7.0,
            document_type: "_x0020_",
            document_number: "ADJ".into(),
            source_type: "_x0020_",
            source_number: String::new(),
            sales_amount: 0.0,
            location: Some("EAST".into()),
            posting_date: Date::constant(2026, 3, 2),
        },
        now,
    )
    .unwrap();
    let after = s.get(c, Entity::Item, id).unwrap();
    assert_eq!(after.fields["inventory"], json!(7.0));
    assert_eq!(after.version, before.version);
    assert_eq!(
        after.fields["lastModifiedDateTime"],
        before.fields["lastModifiedDateTime"]
    );
    let tag = etag_of(after.version);
    s.update(
        c,
        Entity::Item,
        id,
        Some(&tag),
        &obj(json!({"inventory": 5})),
        now,
        Origin::Api,
    )
    .unwrap();
    let entries = s.rows(c, Entity::ItemLedgerEntry, None);
    assert_eq!(entries.len(), 2);
    assert_eq!(
        entries[1].1.fields["entryType"],
        "Negative_x0020_Adjmt_x002E_"
    );
    assert_eq!(
        s.get(c, Entity::Item, id).unwrap().fields["inventory"],
        json!(5.0)
    );
}

#[test]
fn a_renamed_item_takes_its_variants_ledger_and_lines_along() {
    let (mut s, c, now) = store();
    for (entity, body) in [
        (Entity::Customer, json!({"displayName": "Adatum"})),
        (
            Entity::Item,
            json!({"number": "OLD", "displayName": "Desk"}),
        ),
        (
            Entity::Item,
            json!({"number": "TAKEN", "displayName": "Chair"}),
        ),
        (
            Entity::ItemVariant,
            json!({"itemNumber": "OLD", "code": "RED"}),
        ),
    ] {
        s.create(c, entity, None, &obj(body), now, Origin::Api)
            .unwrap();
    }
    let order = s
        .create(
            c,
            Entity::SalesOrder,
            None,
            &obj(json!({"customerNumber": "C00010", "salesOrderLines": [
                {"lineType": "Item", "lineObjectNumber": "OLD", "quantity": 2}
            ]})),
            now,
            Origin::Api,
        )
        .unwrap();
    let id = s
        .rows(c, Entity::Item, None)
        .into_iter()
        .find(|(_, r)| r.fields["number"] == "OLD")
        .unwrap()
        .0;
    s.update(
        c,
        Entity::Item,
        id,
        Some("*"),
        &obj(json!({"inventory": 3})),
        now,
        Origin::Api,
    )
    .unwrap();
    let variant_before = s.rows(c, Entity::ItemVariant, None)[0].1.version;

    let err = s
        .update(
            c,
            Entity::Item,
            id,
            Some("*"),
            &obj(json!({"number": "TAKEN"})),
            now,
            Origin::Api,
        )
        .unwrap_err();
    assert_eq!(err.code, "Internal_EntityWithSameKeyExists");
    s.update(
        c,
        Entity::Item,
        id,
        Some("*"),
        &obj(json!({"number": "NEW"})),
        now,
        Origin::Api,
    )
    .unwrap();
    let item = s.get(c, Entity::Item, id).unwrap();
    assert_eq!(item.fields["number"], "NEW");
    assert_eq!(item.fields["inventory"], json!(3.0), "the ledger followed");
    let variant = &s.rows(c, Entity::ItemVariant, None)[0].1;
    assert_eq!(variant.fields["itemNumber"], "NEW");
    assert_ne!(variant.version, variant_before, "a new ETag");
    let entries = s.rows(c, Entity::ItemLedgerEntry, None);
    assert!(entries.iter().all(|(_, e)| e.fields["itemNumber"] == "NEW"));
    let lines = s.rows(c, Entity::SalesOrderLine, Some(order));
    assert_eq!(lines[0].1.fields["lineObjectNumber"], "NEW");
}

#[test]
fn field_rules() {
    let (mut s, c, now) = store();
    let long = "x".repeat(31);
    let e = s
        .create(
            c,
            Entity::Customer,
            None,
            &obj(json!({"displayName": "A", "city": long})),
            now,
            Origin::Api,
        )
        .unwrap_err();
    assert_eq!(e.code, "Application_StringExceededLength");
    let e = s
        .create(
            c,
            Entity::Customer,
            None,
            &obj(json!({"city": "X"})),
            now,
            Origin::Api,
        )
        .unwrap_err();
    assert_eq!(e.message, "A \"displayName\" must be provided.");
    let e = s
        .create(
            c,
            Entity::Customer,
            None,
            &obj(json!({"displayName": "A", "taxAreaDisplayName": "X"})),
            now,
            Origin::Api,
        )
        .unwrap_err();
    assert_eq!(e.message, "Control 'taxAreaDisplayName' is read-only.");
    let e = s
        .create(
            c,
            Entity::Customer,
            None,
            &obj(json!({"displayName": "A", "paymentTermsId": Uuid::new_v4().to_string()})),
            now,
            Origin::Api,
        )
        .unwrap_err();
    assert_eq!(
        e.message,
        "The \"paymentTermsId\" does not match to a Payment Terms."
    );
    let e = s
        .create(
            c,
            Entity::Item,
            None,
            &obj(json!({"displayName": "A", "type": "Invalid Type"})),
            now,
            Origin::Api,
        )
        .unwrap_err();
    assert_eq!(
        e.message,
        "'Invalid Type' is not an option. The existing options are: Inventory,Service,Non-Inventory"
    );
    s.create(
        c,
        Entity::Item,
        None,
        &obj(json!({"number": "1000", "displayName": "A"})),
        now,
        Origin::Api,
    )
    .unwrap();
    let e = s
        .create(
            c,
            Entity::Item,
            None,
            &obj(json!({"number": "1000", "displayName": "B"})),
            now,
            Origin::Api,
        )
        .unwrap_err();
    assert_eq!(e.code, "Internal_EntityWithSameKeyExists");
    let e = s
        .create(
            c,
            Entity::Item,
            None,
            &obj(json!({"displayName": "A", "inventory": 3})),
            now,
            Origin::Api,
        )
        .unwrap_err();
    assert_eq!(e.message, "Inventory cannot be changed during on insert.");
    let e = s
        .create(
            c,
            Entity::SalesOrder,
            None,
            &obj(json!({"externalDocumentNumber": "1"})),
            now,
            Origin::Api,
        )
        .unwrap_err();
    assert_eq!(
        e.message,
        "A \"customerNumber\" or a \"customerId\" must be provided."
    );
}

#[test]
fn customers_get_a_contact_and_contacts_information() {
    let (mut s, c, now) = store();
    let customer = s
        .create(
            c,
            Entity::Customer,
            None,
            &obj(json!({"displayName": "Adatum Corporation"})),
            now,
            Origin::Api,
        )
        .unwrap();
    let company_contact = s.rows(c, Entity::Contact, None)[0].1.fields["number"].clone();
    s.create(c, Entity::Contact, None, &obj(json!({"displayName": "Robert Townes", "type": "Person", "companyNumber": company_contact})), now, Origin::Api).unwrap();
    let info = s.contacts_information(c, customer);
    assert_eq!(info.len(), 2);
    assert_eq!(info[1]["contactName"], "Robert Townes");
    assert_eq!(info[1]["contactType"], "Person");
}

#[test]
fn images_are_sniffed() {
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.extend_from_slice(&400_u32.to_be_bytes());
    png.extend_from_slice(&300_u32.to_be_bytes());
    assert_eq!(sniff_image(&png), ("image/png".into(), 400, 300));
}
