//! Lightspeed sale → the Business Central documents it should be (pure: no IO, no clock).
//!
//! Outcomes, by rule (each one tested, and listed in the README):
//! - **not completed** (with `completed_only`, the default), **another shop or register**
//!   than the settings name, or **completed before `since`**: skipped with the rule;
//! - **voided**: the command says so; the sink deletes a draft, cancels a posted invoice,
//!   or notes that nothing reached Business Central;
//! - **lines**: an item line per Lightspeed item line; a line without an item (an item
//!   fee, shipping) → a G/L line to `fee_account`; a line note → a comment line after it;
//!   discount = `calcLineDiscount + calcTransactionDiscount`, never recomputed;
//! - **sign**: only sold lines → one invoice (or order); only returned lines → a credit
//!   memo of the returned units; both (an exchange) → one invoice with negative lines when
//!   the sale's total is not negative, else a credit memo and an invoice (BC refuses a
//!   negative invoice);
//! - **date**: the completion time in the shop's time zone (daylight saving included),
//!   moved to the day before when earlier than `business_day_end_hour`;
//! - **customer**: the sale's customer, or the shop's default customer for a walk-in sale
//!   (none configured: the sale fails naming `default_customer_number`).

use std::sync::Arc;

use async_trait::async_trait;
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use lsbc_core::ports::{Transformed, Transformer};
use lsbc_core::{Flow, MatchKey, Record, StageError};
use lsbc_lightspeed::model::{Sale, SaleLine};
use lsbc_lightspeed::{Kind, normalize_as};
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use super::command::{
    CustomerRef, DocumentCommand, DocumentKind, ItemRef, LineCommand, LineKind, OrderCommand,
    SaleStatus, Tender,
};
use super::keys::document_reference;
use super::settings::{DocumentType, OrderSettings};
use crate::config::{ConfigCache, FlowConfig};
use crate::kit::FlowSettings;

/// The orders flow's transformer.
#[derive(Debug)]
pub struct OrderTransformer {
    config: Arc<ConfigCache>,
}

impl OrderTransformer {
    /// A transformer reading its settings through `config`.
    pub fn new(config: Arc<ConfigCache>) -> Self {
        Self { config }
    }
}

#[async_trait]
impl Transformer for OrderTransformer {
    fn flow(&self) -> Flow {
        Flow::Orders
    }

    async fn transform(&self, record: &Record) -> Result<Vec<Transformed>, StageError> {
        let config = self.config.get(Flow::Orders).await?;
        map(record, &config)
    }
}

/// The command for `record` under `config`: pure (no IO, no clock).
pub fn map(record: &Record, config: &FlowConfig) -> Result<Vec<Transformed>, StageError> {
    let settings = OrderSettings::from_stored(Some(&config.settings))
        .map_err(|e| StageError::Config(e.to_string()))?;
    let mut command = command(record, &settings)?;
    // The mapping's `document.*` fields: header fields of invoices and orders (credit
    // memos have no customer reference), never the ones the flow sets itself.
    let input = normalize_as(Kind::Sale, &record.payload);
    let eval = config
        .mapping
        .evaluate(&input, &config.settings)
        .map_err(|e| StageError::InvalidRecord {
            key: record.key.clone(),
            field: e.field,
            reason: e.message,
        })?;
    let mapped = eval.object("document");
    for doc in &mut command.documents {
        if doc.kind == DocumentKind::CreditMemo {
            continue;
        }
        for (name, value) in &mapped {
            let empty = value.is_null() || value.as_str().is_some_and(str::is_empty);
            if !empty && !doc.header.contains_key(name) {
                doc.header.insert(name.clone(), value.clone());
            }
        }
    }
    let warnings = warnings(&command);
    let reference = command.documents.first().map_or_else(
        || document_reference(&settings.document_prefix, command.sale_id, false),
        |d| d.reference.clone(),
    );
    let match_key = MatchKey::parse(reference).map_err(|e| StageError::InvalidRecord {
        key: record.key.clone(),
        field: "document_prefix".into(),
        reason: e.to_string(),
    })?;
    let body = serde_json::to_value(&command)
        .map_err(|e| StageError::Config(format!("order command not encodable: {e}")))?;
    Ok(vec![Transformed {
        key: record.key.clone(),
        match_key,
        command: body,
        warnings,
    }])
}

fn warnings(command: &OrderCommand) -> Vec<String> {
    let mut out = Vec::new();
    if command.tenders.len() > 1 {
        out.push(format!(
            "{} tenders: no payment terms set (they are kept with the sale's state)",
            command.tenders.len()
        ));
    }
    out
}

/// The order command of a sale record.
pub fn command(record: &Record, settings: &OrderSettings) -> Result<OrderCommand, StageError> {
    let invalid = |field: &str, reason: String| StageError::InvalidRecord {
        key: record.key.clone(),
        field: field.to_owned(),
        reason,
    };
    let skipped = |rule: String| StageError::Skipped {
        key: record.key.clone(),
        rule,
    };
    let sale = Sale::from_json(&record.payload).map_err(|e| invalid(&e.path, e.message))?;
    let sale_id = sale.sale_id.get();
    let shop_id = sale.shop_id.map_or(0, lsbc_lightspeed::model::ShopId::get);
    if !settings.shops.is_empty() && !settings.shops.contains(&shop_id) {
        return Err(skipped(format!(
            "shop {shop_id} is not among the settings' shops"
        )));
    }
    let register = sale
        .register_id
        .map_or(0, lsbc_lightspeed::model::RefId::get);
    if !settings.registers.is_empty() && !settings.registers.contains(&register) {
        return Err(skipped(format!(
            "register {register} is not among the settings' registers"
        )));
    }
    let status = if sale.voided {
        SaleStatus::Voided
    } else if sale.completed || !settings.completed_only {
        SaleStatus::Completed
    } else {
        return Err(skipped(
            "not completed yet (setting completed_only); sent once it completes".into(),
        ));
    };
    let completed_at = sale.complete_time.unwrap_or(sale.time_stamp);
    if let Some(since) = settings.since
        && completed_at < since
    {
        return Err(skipped(format!(
            "completed {completed_at}, before the cut-over {since} (setting since)"
        )));
    }
    let tz = shop_zone(&sale).map_err(|reason| invalid("Shop.timeZone", reason))?;
    let date = business_date(completed_at, &tz, settings.business_day_end_hour);
    let voided_on = (status == SaleStatus::Voided).then(|| {
        let at = sale.update_time.unwrap_or(sale.time_stamp);
        business_date(at, &tz, settings.business_day_end_hour).to_string()
    });

    let customer = match sale.customer_id {
        Some(id) => CustomerRef::Lightspeed {
            customer_id: id.get().to_string(),
            record: record
                .payload
                .get("Customer")
                .cloned()
                .unwrap_or(Value::Null),
        },
        None => match settings.default_customer_of(shop_id) {
            Some(number) => CustomerRef::Default {
                number: number.to_owned(),
            },
            None => {
                return Err(invalid(
                    "default_customer_number",
                    format!(
                        "a walk-in sale (no customer) needs a default customer: set default_customer_number (or one for shop {shop_id})"
                    ),
                ));
            }
        },
    };

    let location = settings.locations.get(&shop_id.to_string()).cloned();
    let mut all = Vec::new();
    let mut sold = Vec::new();
    let mut returned = Vec::new();
    // The sales the returned lines come from (added by the source from their parent lines).
    // Those sold before the cut-over have no document of the sync's to apply to.
    let refunds_sales: Vec<u64> = record
        .payload
        .get(super::source::REFUNDS_SALES)
        .and_then(Value::as_array)
        .map(|ids| {
            ids.iter()
                .filter(|v| {
                    let at = v["createTime"]
                        .as_str()
                        .and_then(|t| t.parse::<Timestamp>().ok());
                    match (settings.since, at) {
                        (Some(since), Some(at)) => at >= since,
                        _ => true,
                    }
                })
                .filter_map(|v| v["saleID"].as_str().and_then(|s| s.parse().ok()))
                .collect()
        })
        .unwrap_or_default();
    for (i, line) in sale.sale_lines.iter().enumerate() {
        let lines = lines_of(line, settings, location.as_ref()).map_err(|(field, reason)| {
            invalid(&format!("SaleLines.SaleLine[{i}].{field}"), reason)
        })?;
        all.extend(lines.iter().cloned());
        if line.unit_quantity.is_sign_negative() {
            returned.extend(lines);
        } else {
            sold.extend(lines);
        }
    }
    let total = sale.total.unwrap_or(sale.calc_total);
    let document_type = settings.document_type_of(shop_id);
    let sale_kind = match document_type {
        DocumentType::Order => DocumentKind::Order,
        DocumentType::Invoice | DocumentType::PostedInvoice => DocumentKind::Invoice,
    };
    let post = document_type == DocumentType::PostedInvoice;
    let header = header(&sale, settings);
    let document =
        |kind: DocumentKind, second: bool, lines: Vec<LineCommand>, expected: Decimal| {
            let reference = document_reference(&settings.document_prefix, sale_id, second);
            let mut header = header.clone();
            header.insert("externalDocumentNumber".into(), json!(reference));
            header.insert(kind.date_field().into(), json!(date.to_string()));
            header.insert("postingDate".into(), json!(date.to_string()));
            if kind == DocumentKind::CreditMemo {
                header.remove("paymentTermsId");
                header.remove("shortcutDimension1Code");
                header.remove("shortcutDimension2Code");
            }
            DocumentCommand {
                kind,
                second,
                reference,
                header,
                lines,
                expected_total: expected,
                refunds_sales: if kind == DocumentKind::CreditMemo {
                    refunds_sales.clone()
                } else {
                    Vec::new()
                },
                post: post && kind != DocumentKind::Order,
            }
        };
    let returned_total: Decimal = -sum_totals(&returned);
    let documents = match (sold.is_empty(), returned.is_empty()) {
        (_, true) => vec![document(sale_kind, false, sold, total)],
        (true, false) => vec![document(
            DocumentKind::CreditMemo,
            false,
            negate(returned),
            -total,
        )],
        // In Lightspeed's order, returned lines negative.
        (false, false) if !total.is_sign_negative() => vec![document(sale_kind, false, all, total)],
        (false, false) => {
            let sold_total = sum_totals(&sold);
            vec![
                document(
                    DocumentKind::CreditMemo,
                    false,
                    negate(returned),
                    returned_total,
                ),
                document(sale_kind, true, sold, sold_total),
            ]
        }
    };
    let tenders = sale
        .sale_payments
        .iter()
        .filter(|p| !p.archived)
        .map(|p| Tender {
            payment_type_id: p
                .payment_type_id
                .map_or(0, lsbc_lightspeed::model::PaymentTypeId::get)
                .to_string(),
            name: p
                .payment_type
                .as_ref()
                .map(|t| t.name.clone())
                .unwrap_or_default(),
            kind: p
                .payment_type
                .as_ref()
                .map(|t| payment_kind(&t.kind))
                .unwrap_or_default(),
            amount: p.amount,
            tip: p.tip_amount.unwrap_or_default(),
        })
        .collect::<Vec<_>>();
    let mut command = OrderCommand {
        sale_id,
        status,
        voided_on,
        shop_id,
        date: date.to_string(),
        customer,
        prices_include_tax: sale.is_tax_inclusive,
        total,
        documents,
        tenders,
        rounding_account: settings.rounding_account.clone(),
        rounding_tolerance: settings.rounding_tolerance,
        waiting_alarm_hours: settings.waiting_alarm_hours,
        document_prefix: settings.document_prefix.clone(),
        currency_code: settings
            .currency_code
            .clone()
            .filter(|c| !c.trim().is_empty()),
    };
    if let [tender] = command.tenders.as_slice()
        && let Some(terms) = settings.payment_terms.get(&tender.payment_type_id)
    {
        for doc in &mut command.documents {
            if doc.kind != DocumentKind::CreditMemo {
                doc.header.insert("paymentTermsId".into(), json!(terms));
            }
        }
    }
    Ok(command)
}

fn payment_kind(kind: &lsbc_lightspeed::model::PaymentKind) -> String {
    use lsbc_lightspeed::model::PaymentKind as K;
    match kind {
        K::Cash => "cash",
        K::CreditCard => "credit card",
        K::GiftCard => "gift card",
        K::CreditAccount => "credit account",
        K::Ecom => "ecom",
        K::Adjustment => "adjustment",
        K::UserDefined => "user defined",
        K::Other(text) => text,
    }
    .to_owned()
}

/// The header fields every document of the sale shares (ship-to, salesperson).
fn header(sale: &Sale, settings: &OrderSettings) -> Map<String, Value> {
    let mut header = Map::new();
    let shop = sale.shop_id.map_or(0, lsbc_lightspeed::model::ShopId::get);
    let register = sale
        .register_id
        .map_or(0, lsbc_lightspeed::model::RefId::get);
    for (table, id) in [
        (&settings.shop_dimension, shop),
        (&settings.register_dimension, register),
    ] {
        if let Some((field, value)) = table.as_ref().and_then(|t| t.field_for(id)) {
            header.insert(field, json!(value));
        }
    }
    if let Some(code) = sale
        .employee_id
        .and_then(|e| settings.salespeople.get(&e.get().to_string()))
    {
        header.insert("salesperson".into(), json!(code));
    }
    if let Some(ship) = &sale.ship_to {
        let name = [ship.first_name.trim(), ship.last_name.trim()]
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let name = if ship.company.trim().is_empty() {
            name
        } else {
            ship.company.trim().to_owned()
        };
        if !name.is_empty() {
            header.insert("shipToName".into(), json!(truncate(&name, 100)));
        }
        if let Some(address) = ship
            .contact
            .as_ref()
            .and_then(|c| c.addresses.iter().find(|a| !a.is_blank()))
        {
            for (field, value, max) in [
                ("shipToAddressLine1", &address.address1, 100),
                ("shipToAddressLine2", &address.address2, 50),
                ("shipToCity", &address.city, 30),
                ("shipToState", &address.state_code, 30),
                ("shipToPostCode", &address.zip, 20),
                ("shipToCountry", &address.country_code, 10),
            ] {
                if !value.trim().is_empty() {
                    header.insert(field.into(), json!(truncate(value.trim(), max)));
                }
            }
        }
    }
    header
}

fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// The BC lines of one Lightspeed line: the line itself, then its note as a comment.
fn lines_of(
    line: &SaleLine,
    settings: &OrderSettings,
    location: Option<&String>,
) -> Result<Vec<LineCommand>, (String, String)> {
    let rates = line.tax1_rate.unwrap_or_default() + line.tax2_rate.unwrap_or_default();
    let tax_percent = if line.tax {
        (rates * Decimal::ONE_HUNDRED).normalize()
    } else {
        Decimal::ZERO
    };
    let discount = line.calc_line_discount.unwrap_or_default()
        + line.calc_transaction_discount.unwrap_or_default();
    let tax_code = line
        .tax_class_id
        .and_then(|c| settings.tax_codes.get(&c.get().to_string()))
        .cloned();
    let note = line
        .note
        .as_ref()
        .map(|n| n.note.trim().to_owned())
        .filter(|n| !n.is_empty());
    let mut out = Vec::new();
    let base = LineCommand {
        kind: LineKind::Item,
        item: None,
        account: None,
        description: String::new(),
        quantity: line.unit_quantity,
        unit_price: line.unit_price,
        discount,
        tax_percent,
        location: None,
        tax_code,
        total: round2(line.calc_total),
    };
    match (&line.item_id, &line.item) {
        (Some(item_id), item) => {
            let sku = item
                .as_ref()
                .map(|i| {
                    if i.custom_sku.trim().is_empty() {
                        i.system_sku.trim().to_uppercase()
                    } else {
                        i.custom_sku.trim().to_uppercase()
                    }
                })
                .unwrap_or_default();
            let matrix_id = item
                .as_ref()
                .and_then(|i| i.item_matrix_id)
                .map(lsbc_lightspeed::model::ItemMatrixId::get)
                .filter(|m| *m != 0);
            out.push(LineCommand {
                item: Some(ItemRef {
                    item_id: item_id.get(),
                    matrix_id,
                    sku,
                }),
                location: location.cloned(),
                ..base
            });
        }
        (None, _) if line.unit_price.is_zero() && note.is_some() => {}
        (None, _) => {
            let account = settings.fee_account.clone().ok_or_else(|| {
                (
                    "itemID".to_owned(),
                    format!(
                        "a line without an item ({}) needs a G/L account: set fee_account",
                        if line.line_type.is_empty() {
                            "a free line"
                        } else {
                            line.line_type.as_str()
                        }
                    ),
                )
            })?;
            let description = note.clone().unwrap_or_else(|| {
                if line.line_type.is_empty() {
                    "Lightspeed line".to_owned()
                } else {
                    line.line_type.replace('_', " ")
                }
            });
            out.push(LineCommand {
                kind: LineKind::Account,
                account: Some(account),
                description: truncate(&description, 100),
                ..base
            });
            return Ok(out);
        }
    }
    if let Some(note) = note {
        out.push(LineCommand {
            kind: LineKind::Comment,
            item: None,
            account: None,
            description: truncate(&note, 100),
            quantity: Decimal::ZERO,
            unit_price: Decimal::ZERO,
            discount: Decimal::ZERO,
            tax_percent: Decimal::ZERO,
            location: None,
            tax_code: None,
            total: Decimal::ZERO,
        });
    }
    Ok(out)
}

/// Returned lines as a credit memo's: the same units, positive.
fn negate(lines: Vec<LineCommand>) -> Vec<LineCommand> {
    lines
        .into_iter()
        .map(|l| LineCommand {
            quantity: -l.quantity,
            discount: -l.discount,
            total: -l.total,
            ..l
        })
        .collect()
}

fn sum_totals(lines: &[LineCommand]) -> Decimal {
    lines.iter().map(|l| l.total).sum()
}

fn round2(value: Decimal) -> Decimal {
    value.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
}

/// The shop's time zone: its IANA name as Lightspeed stores it (`US/Eastern` included).
fn shop_zone(sale: &Sale) -> Result<TimeZone, String> {
    let Some(shop) = &sale.shop else {
        return Err("the sale came without its Shop (relation `Shop`)".into());
    };
    shop.tz().ok_or_else(|| {
        format!(
            "shop {} has time zone `{}`, which is not an IANA name",
            shop.shop_id.get(),
            shop.time_zone
        )
    })
}

/// The local business date of `at` in `tz`: the calendar date, or the day before when the
/// local hour is earlier than `end_hour`.
pub fn business_date(at: Timestamp, tz: &TimeZone, end_hour: Option<u8>) -> Date {
    let local = at.to_zoned(tz.clone());
    let date = local.date();
    match end_hour {
        Some(end) if local.hour() < i8::try_from(end).unwrap_or(0) => {
            date.yesterday().unwrap_or(date)
        }
        _ => date,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(t: &str) -> Timestamp {
        t.parse().unwrap()
    }

    #[test]
    fn dates_are_the_shop_s_local_day() {
        // ORDERS-STOCK §9 case 9.
        let eastern = TimeZone::get("US/Eastern").unwrap();
        let amsterdam = TimeZone::get("Europe/Amsterdam").unwrap();
        let day = |t, tz: &TimeZone, end| business_date(at(t), tz, end).to_string();
        assert_eq!(day("2026-02-01T04:30:00Z", &eastern, None), "2026-01-31");
        assert_eq!(day("2026-08-01T03:30:00Z", &eastern, None), "2026-07-31");
        assert_eq!(day("2026-01-31T23:30:00Z", &amsterdam, None), "2026-02-01");
        assert_eq!(
            day("2026-01-31T23:30:00Z", &amsterdam, Some(2)),
            "2026-01-31"
        );
    }
}
