//! Sales documents: the rules BC runs on document headers and lines (numbers, customers,
//! amounts and totals, due dates), recomputation after a line changes, posting, and
//! ship-and-invoice of orders.

use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::fields::unique;
use super::fields::{known_code, reference};
use super::posting::{JobQueueOutcome, QueuedPost, check_posting, not_a_draft};
use super::sales_tax::{TaxLine, distribute};
use super::series::{
    CREDIT_MEMOS, INVOICES, ORDERS, POSTED_CREDIT_MEMOS, POSTED_INVOICES, SHIPMENTS,
};
use super::vat::{LineRate, VatInput, VatOutput, compute};
use super::{
    ChangeKind, CompanyData, LedgerPost, Origin, Row, Store, StoreSettings, guid, num, number,
    round2, stamp, text,
};
use crate::business_central::errors::{BcFault, Outcome};
use crate::business_central::schema::{BLANK_DATE, Entity};
use crate::business_central::{CodeTable, PostingChangeType};

impl Store {
    /// Recomputes a document's lines and totals and gives it a new etag.
    pub(super) fn touch_document(
        &mut self,
        company: Uuid,
        document: Entity,
        id: Uuid,
        now: Timestamp,
    ) -> Outcome<()> {
        let Some(line_entity) = document.lines() else {
            return Ok(());
        };
        let settings = self.settings.clone();
        let (version, _) = self.bump();
        let data = self.company_mut(company)?;
        let Some(header) = data.row(document, id) else {
            return Ok(());
        };
        let header = header.fields.clone();
        let prices_including_vat = header.get("pricesIncludeTax") == Some(&json!(true));
        let discount = num(&header["discountAmount"]);
        // Line amount after line discount, in the header's price basis.
        let mut lines: Vec<(Uuid, f64, LineRate)> = Vec::new();
        for (lid, r) in data
            .table(line_entity)
            .filter(|(_, r)| guid(&r.fields, "documentId") == Some(id))
        {
            let gross = round2(num(&r.fields["quantity"]) * num(&r.fields["unitPrice"]));
            let amount = round2(gross - num(&r.fields["discountAmount"]));
            lines.push((*lid, amount, line_rate(&settings, &header, &r.fields)?));
        }
        lines.sort_by_key(|(lid, _, _)| *lid);
        let gross: f64 = lines.iter().map(|(_, a, _)| a).sum();
        let mut allocated = 0.0;
        let count = lines.len();
        let mut inputs = Vec::with_capacity(count);
        let mut shares = Vec::with_capacity(count);
        for (i, (_, amount, rate)) in lines.iter().enumerate() {
            let share = if gross.abs() < f64::EPSILON {
                0.0
            } else if i + 1 == count {
                round2(discount - allocated)
            } else {
                round2(discount * amount / gross)
            };
            allocated += share;
            shares.push(share);
            inputs.push(VatInput {
                amount: round2(amount - share),
                rate: rate.clone(),
            });
        }
        let outputs = if settings.sales_tax.is_active() {
            // Sales tax of the bill-to customer's tax area, distributed over the lines.
            let (area, liable) = sales_tax_profile(data, &header);
            let taxed: Vec<TaxLine> = lines
                .iter()
                .zip(&inputs)
                .map(|((lid, _, _), input)| TaxLine {
                    group: data
                        .row(line_entity, *lid)
                        .filter(|r| text(&r.fields, "lineType") != "Comment")
                        .map(|r| text(&r.fields, "taxCode"))
                        .unwrap_or_default(),
                    amount: input.amount,
                })
                .collect();
            let results = distribute(&settings.sales_tax, &area, liable, &taxed);
            for (((lid, _, _), taxed), result) in lines.iter().zip(&taxed).zip(&results) {
                let amount = taxed.amount;
                if let Some(line) = data.row_mut(line_entity, *lid) {
                    line.fields
                        .insert("taxPercent".to_owned(), number(result.percent));
                    line.fields
                        .insert("totalTaxAmount".to_owned(), number(result.tax));
                    line.fields.insert(
                        "amountIncludingTax".to_owned(),
                        number(round2(amount + result.tax)),
                    );
                }
            }
            taxed
                .iter()
                .zip(&results)
                .map(|(line, result)| VatOutput {
                    base: line.amount,
                    vat: result.tax,
                })
                .collect()
        } else {
            compute(&inputs, prices_including_vat, settings.vat.rounding)
        };
        let mut totals = (0.0, 0.0);
        for (((line_id, _, _), share), out) in lines.iter().zip(&shares).zip(&outputs) {
            if let Some(line) = data.row_mut(line_entity, *line_id) {
                line.fields
                    .insert("invoiceDiscountAllocation".to_owned(), number(*share));
                line.fields.insert("netAmount".to_owned(), number(out.base));
                line.fields
                    .insert("netTaxAmount".to_owned(), number(out.vat));
                line.fields.insert(
                    "netAmountIncludingTax".to_owned(),
                    number(round2(out.base + out.vat)),
                );
                totals.0 += out.base;
                totals.1 += out.vat;
            }
        }
        let totals = (totals.0, totals.1, totals.0 + totals.1);
        if let Some(header) = data.row_mut(document, id) {
            header.fields.insert(
                "totalAmountExcludingTax".to_owned(),
                number(round2(totals.0)),
            );
            header
                .fields
                .insert("totalTaxAmount".to_owned(), number(round2(totals.1)));
            header.fields.insert(
                "totalAmountIncludingTax".to_owned(),
                number(round2(totals.2)),
            );
            header
                .fields
                .insert("lastModifiedDateTime".to_owned(), stamp(now));
            header.version = version;
        }
        Ok(())
    }

    /// The code of variant `id` (a sales line's `itemVariantId`), if it names one.
    fn variant_code(data: &CompanyData, id: Option<Uuid>) -> Option<String> {
        id.and_then(|id| data.row(Entity::ItemVariant, id))
            .map(|r| text(&r.fields, "code"))
            .filter(|c| !c.is_empty())
    }

    /// Posts the item ledger entries of a document's item lines, each with its line's
    /// variant (Sales-Post carries `Variant Code` from the sales line to the entry).
    fn post_lines(
        &mut self,
        company: Uuid,
        posts: &[(LedgerPost, Option<String>)],
        now: Timestamp,
    ) -> Outcome<()> {
        for (post, variant) in posts {
            match variant {
                Some(code) => self.post_ledger_variant(company, post, code, now)?,
                None => self.post_ledger(company, post, now)?,
            };
        }
        Ok(())
    }

    /// What the API page checks before handing a document to posting: it exists, is a
    /// draft and has lines.
    fn ready_to_post(&mut self, company: Uuid, entity: Entity, id: Uuid) -> Outcome<()> {
        let data = self.company_mut(company)?;
        if data.row(entity, id).is_none() {
            return Err(BcFault::record_not_found(
                entity.set_name(),
                &id.to_string(),
            ));
        }
        if data.is_posted(id) {
            return Err(not_a_draft(entity));
        }
        if self
            .rows(company, entity.lines().unwrap_or(entity), Some(id))
            .is_empty()
        {
            return Err(BcFault::dialog("There is nothing to post."));
        }
        Ok(())
    }

    /// `Microsoft.NAV.post` (invoices, credit memos) and `Microsoft.NAV.shipAndInvoice`
    /// (orders): posts now, or with "Post with Job Queue" only schedules the posting.
    pub(crate) fn post_action(
        &mut self,
        company: Uuid,
        entity: Entity,
        id: Uuid,
        now: Timestamp,
    ) -> Outcome<()> {
        if !self.settings.posting.post_with_job_queue {
            return match entity {
                Entity::SalesOrder => self.ship_and_invoice(company, id, now).map(|_| ()),
                _ => self.post_document(company, entity, id, now),
            };
        }
        self.ready_to_post(company, entity, id)?;
        if self.job_queue.iter().any(|q| q.id == id) {
            // SalesPostViaJobQueue refuses a document already scheduled (text inferred).
            return Err(BcFault::dialog(format!(
                "{} {} has already been scheduled for posting.",
                match entity {
                    Entity::SalesOrder => "Order",
                    Entity::SalesCreditMemo => "Credit Memo",
                    _ => "Invoice",
                },
                self.get(company, entity, id)
                    .map(|r| text(&r.fields, "number"))
                    .unwrap_or_default()
            )));
        }
        self.job_queue.push(QueuedPost {
            company,
            entity,
            id,
        });
        if self.settings.posting.job_queue_lookup_fails && entity != Entity::SalesOrder {
            // The platform's FindFirst error (text inferred).
            let number = self
                .get(company, entity, id)
                .map(|r| text(&r.fields, "number"))
                .unwrap_or_default();
            let table = if entity == Entity::SalesCreditMemo {
                "Sales Cr.Memo Header"
            } else {
                "Sales Invoice Header"
            };
            return Err(BcFault::new(
                404,
                "Internal_RecordNotFound",
                format!(
                    "There is no {table} within the filter.  Filters: Pre-Assigned No.: {number}"
                ),
            ));
        }
        Ok(())
    }

    /// Runs the scheduled postings, oldest first; a refusal leaves its document a draft.
    pub(crate) fn run_job_queue(&mut self, now: Timestamp) -> Vec<JobQueueOutcome> {
        let queued = std::mem::take(&mut self.job_queue);
        queued
            .into_iter()
            .map(|q| {
                let result = match q.entity {
                    Entity::SalesOrder => self.ship_and_invoice(q.company, q.id, now),
                    _ => self
                        .post_document(q.company, q.entity, q.id, now)
                        .map(|()| q.id),
                };
                match result {
                    Ok(document) => JobQueueOutcome {
                        document,
                        error: None,
                    },
                    Err(fault) => JobQueueOutcome {
                        document: q.id,
                        error: Some(fault.message),
                    },
                }
            })
            .collect()
    }

    /// A draft credit memo copying a posted invoice's header and lines, applied to it
    /// (`invoiceId`, `invoiceNumber`), dated today ([AL] "Correct Posted Sales Invoice"
    /// `CreateCreditMemoCopyDocument`).
    fn credit_memo_from_invoice(
        &mut self,
        company: Uuid,
        invoice_id: Uuid,
        now: Timestamp,
    ) -> Outcome<Uuid> {
        let today = now.to_zoned(jiff::tz::TimeZone::UTC).date().to_string();
        let invoice = self
            .get(company, Entity::SalesInvoice, invoice_id)
            .ok_or_else(|| BcFault::record_not_found("salesInvoices", &invoice_id.to_string()))?;
        let lines = self.rows(company, Entity::SalesInvoiceLine, Some(invoice_id));
        let memo_id = Uuid::new_v4();
        let (version, seq) = self.bump();
        let data = self.company_mut(company)?;
        let mut fields = Map::new();
        for field in Entity::SalesCreditMemo.fields() {
            let value = invoice
                .fields
                .get(field.name)
                .cloned()
                .unwrap_or_else(|| field.kind.blank());
            fields.insert(field.name.to_owned(), value);
        }
        fields.insert("id".into(), json!(memo_id.to_string()));
        fields.insert("number".into(), json!(data.next_number(&CREDIT_MEMOS)));
        fields.insert("status".into(), json!("Draft"));
        fields.insert("creditMemoDate".into(), json!(today));
        fields.insert("postingDate".into(), json!(today));
        fields.insert("dueDate".into(), json!(today));
        fields.insert("invoiceId".into(), json!(invoice_id.to_string()));
        fields.insert("invoiceNumber".into(), invoice.fields["number"].clone());
        fields.insert("lastModifiedDateTime".into(), stamp(now));
        data.tables
            .entry(Entity::SalesCreditMemo)
            .or_default()
            .insert(
                memo_id,
                Row {
                    fields,
                    version,
                    seq,
                },
            );
        insert_lines(
            data,
            Entity::SalesCreditMemoLine,
            memo_id,
            &lines,
            (version, seq),
        );
        self.touch_document(company, Entity::SalesCreditMemo, memo_id, now)?;
        self.record_change(
            company,
            Entity::SalesCreditMemo,
            memo_id,
            ChangeKind::Created,
            now,
        );
        Ok(memo_id)
    }

    /// The API page's `GetPostedInvoice`: the action needs a posted invoice.
    fn posted_invoice(&mut self, company: Uuid, id: Uuid) -> Outcome<Row> {
        let data = self.company_mut(company)?;
        let row = data
            .row(Entity::SalesInvoice, id)
            .ok_or_else(|| BcFault::record_not_found("salesInvoices", &id.to_string()))?
            .clone();
        if !data.is_posted(id) {
            return Err(BcFault::dialog(
                "The action can be applied to a posted invoice only.",
            ));
        }
        Ok(row)
    }

    /// `Microsoft.NAV.makeCorrectiveCreditMemo` on a posted invoice: a draft credit memo
    /// applied to it; refused once the invoice is partly paid or credited ([AL]
    /// APIV2SalesInvoices.Page.al).
    pub(crate) fn make_corrective_credit_memo(
        &mut self,
        company: Uuid,
        id: Uuid,
        now: Timestamp,
    ) -> Outcome<Uuid> {
        let invoice = self.posted_invoice(company, id)?;
        let total = num(&invoice.fields["totalAmountIncludingTax"]);
        let remaining = num(&invoice.fields["remainingAmount"]);
        if (total - remaining).abs() > 0.005 {
            return Err(BcFault::dialog(if remaining.abs() < 0.005 {
                "The invoice is closed. The corrective credit memo will not be applied to the invoice."
            } else {
                "The invoice is partially paid or credited. The corrective credit memo may not be fully closed by the invoice."
            }));
        }
        self.credit_memo_from_invoice(company, id, now)
    }

    /// `Microsoft.NAV.cancel` on a posted invoice: a corrective credit memo is created and
    /// posted, the invoice becomes `Canceled` with nothing remaining ([AL]
    /// APIV2SalesInvoices.Page.al `CancelInvoice`, `GetRemainingAmount`).
    pub(crate) fn cancel_invoice(
        &mut self,
        company: Uuid,
        id: Uuid,
        now: Timestamp,
    ) -> Outcome<Uuid> {
        let invoice = self.posted_invoice(company, id)?;
        if text(&invoice.fields, "status") == "Canceled" {
            return Err(BcFault::dialog(
                "The invoice cannot be canceled because it has already been canceled.",
            ));
        }
        let memo = self.credit_memo_from_invoice(company, id, now)?;
        if let Err(fault) = self.post_document(company, Entity::SalesCreditMemo, memo, now) {
            return Err(BcFault::dialog(format!(
                "Canceling the invoice failed because of the following error: \\{}\\A credit memo is created but not posted.",
                fault.message
            )));
        }
        let (version, _) = self.bump();
        let data = self.company_mut(company)?;
        if let Some(row) = data.row_mut(Entity::SalesCreditMemo, memo) {
            row.fields.insert("status".into(), json!("Corrective"));
        }
        if let Some(row) = data.row_mut(Entity::SalesInvoice, id) {
            row.fields.insert("status".into(), json!("Canceled"));
            row.fields.insert("remainingAmount".into(), number(0.0));
            row.fields.insert("lastModifiedDateTime".into(), stamp(now));
            row.version = version;
        }
        self.record_change(company, Entity::SalesInvoice, id, ChangeKind::Updated, now);
        Ok(memo)
    }

    /// `Microsoft.NAV.post` on a draft invoice or credit memo: posted number, status Open,
    /// ledger entries for item lines; the id stays (api-notes §2 "salesInvoices"). Notified
    /// with the tenant's `BcBehaviour::posting_change_type`.
    pub(crate) fn post_document(
        &mut self,
        company: Uuid,
        entity: Entity,
        id: Uuid,
        now: Timestamp,
    ) -> Outcome<()> {
        let (posted_series, document_type, sign) = match entity {
            Entity::SalesInvoice => (&POSTED_INVOICES, "Sales_x0020_Invoice", -1.0),
            Entity::SalesCreditMemo => (&POSTED_CREDIT_MEMOS, "Sales_x0020_Credit_x0020_Memo", 1.0),
            _ => return Err(BcFault::segment_not_found("Microsoft.NAV.post")),
        };
        let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
        self.ready_to_post(company, entity, id)?;
        let setup = self.settings.posting.clone();
        let data = self.company_mut(company)?;
        let header = data
            .row(entity, id)
            .ok_or_else(|| BcFault::record_not_found(entity.set_name(), &id.to_string()))?
            .clone();
        check_posting(data, &setup, entity, &header.fields, false)?;
        let lines = self.rows(company, entity.lines().unwrap_or(entity), Some(id));
        let data = self.company_mut(company)?;
        let posted_number = data.next_number(posted_series);
        let customer_number = text(&header.fields, "customerNumber");
        let posting_date = text(&header.fields, "postingDate").parse().unwrap_or(today);
        let mut posts = Vec::new();
        for (_, line) in &lines {
            if text(&line.fields, "lineType") != "Item" {
                continue;
            }
            let location = Self::location_code(data, guid(&line.fields, "locationId"));
            posts.push((
                LedgerPost {
                    item_number: text(&line.fields, "lineObjectNumber"),
                    entry_type: "Sale",
                    quantity: sign * num(&line.fields["quantity"]),
                    document_type,
                    document_number: posted_number.clone(),
                    source_type: "Customer",
                    source_number: customer_number.clone(),
                    sales_amount: -sign * num(&line.fields["netAmount"]),
                    location,
                    posting_date,
                },
                Self::variant_code(data, guid(&line.fields, "itemVariantId")),
            ));
        }
        self.post_lines(company, &posts, now)?;
        let (version, _) = self.bump();
        let data = self.company_mut(company)?;
        data.posted.insert(id, true);
        if let Some(row) = data.row_mut(entity, id) {
            row.fields.insert("number".into(), json!(posted_number));
            row.fields.insert("status".into(), json!("Open"));
            if entity == Entity::SalesInvoice {
                let total = row.fields["totalAmountIncludingTax"].clone();
                row.fields.insert("remainingAmount".into(), total);
            }
            row.fields.insert("lastModifiedDateTime".into(), stamp(now));
            row.version = version;
        }
        let kind = match self.settings.behaviour.posting_change_type {
            PostingChangeType::Updated => ChangeKind::Updated,
            PostingChangeType::Created => ChangeKind::Created,
        };
        self.record_change(company, entity, id, kind, now);
        Ok(())
    }

    /// `Microsoft.NAV.shipAndInvoice`: posts shipment and invoice; the fully invoiced order
    /// is deleted and a posted invoice with `orderNumber` appears.
    pub(crate) fn ship_and_invoice(
        &mut self,
        company: Uuid,
        id: Uuid,
        now: Timestamp,
    ) -> Outcome<Uuid> {
        self.ready_to_post(company, Entity::SalesOrder, id)?;
        let order = self
            .get(company, Entity::SalesOrder, id)
            .ok_or_else(|| BcFault::record_not_found("salesOrders", &id.to_string()))?;
        let setup = self.settings.posting.clone();
        check_posting(
            self.company_mut(company)?,
            &setup,
            Entity::SalesOrder,
            &order.fields,
            true,
        )?;
        let lines = self.rows(company, Entity::SalesOrderLine, Some(id));
        let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
        let data = self.company_mut(company)?;
        let shipment = data.next_number(&SHIPMENTS);
        let invoice_number = data.next_number(&POSTED_INVOICES);
        let customer_number = text(&order.fields, "customerNumber");
        let posting_date = text(&order.fields, "postingDate").parse().unwrap_or(today);
        let mut posts = Vec::new();
        for (_, line) in &lines {
            if text(&line.fields, "lineType") != "Item" {
                continue;
            }
            posts.push((
                LedgerPost {
                    item_number: text(&line.fields, "lineObjectNumber"),
                    entry_type: "Sale",
                    quantity: -num(&line.fields["quantity"]),
                    document_type: "Sales_x0020_Shipment",
                    document_number: shipment.clone(),
                    source_type: "Customer",
                    source_number: customer_number.clone(),
                    sales_amount: num(&line.fields["netAmount"]),
                    location: Self::location_code(data, guid(&line.fields, "locationId")),
                    posting_date,
                },
                Self::variant_code(data, guid(&line.fields, "itemVariantId")),
            ));
        }
        self.post_lines(company, &posts, now)?;
        // The posted invoice: header fields shared with the order, lines copied.
        let invoice_id = Uuid::new_v4();
        let mut fields = Map::new();
        for field in Entity::SalesInvoice.fields() {
            let value = order
                .fields
                .get(field.name)
                .cloned()
                .unwrap_or_else(|| field.kind.blank());
            fields.insert(field.name.to_owned(), value);
        }
        fields.insert("id".into(), json!(invoice_id.to_string()));
        fields.insert("number".into(), json!(invoice_number));
        fields.insert("invoiceDate".into(), json!(today.to_string()));
        fields.insert("dueDate".into(), json!(today.to_string()));
        fields.insert("orderId".into(), json!(id.to_string()));
        fields.insert("orderNumber".into(), order.fields["number"].clone());
        fields.insert("status".into(), json!("Open"));
        fields.insert(
            "remainingAmount".into(),
            order.fields["totalAmountIncludingTax"].clone(),
        );
        fields.insert("lastModifiedDateTime".into(), stamp(now));
        let (version, seq) = self.bump();
        let data = self.company_mut(company)?;
        data.tables.entry(Entity::SalesInvoice).or_default().insert(
            invoice_id,
            Row {
                fields,
                version,
                seq,
            },
        );
        data.posted.insert(invoice_id, true);
        insert_lines(
            data,
            Entity::SalesInvoiceLine,
            invoice_id,
            &lines,
            (version, seq),
        );
        if let Some(t) = data.tables.get_mut(&Entity::SalesOrder) {
            t.remove(&id);
        }
        if let Some(t) = data.tables.get_mut(&Entity::SalesOrderLine) {
            t.retain(|_, r| guid(&r.fields, "documentId") != Some(id));
        }
        self.record_change(company, Entity::SalesOrder, id, ChangeKind::Deleted, now);
        self.record_change(
            company,
            Entity::SalesInvoice,
            invoice_id,
            ChangeKind::Created,
            now,
        );
        Ok(invoice_id)
    }
}

/// Copies `lines` (of another document) as lines of `entity` under `document`, each with a
/// new id; fields `entity` has and a line lacks are blank.
fn insert_lines(
    data: &mut CompanyData,
    entity: Entity,
    document: Uuid,
    lines: &[(Uuid, Row)],
    (version, seq): (u64, u64),
) {
    for (_, line) in lines {
        let line_id = Uuid::new_v4();
        let mut fields = Map::new();
        for field in entity.fields() {
            let value = line
                .fields
                .get(field.name)
                .cloned()
                .unwrap_or_else(|| field.kind.blank());
            fields.insert(field.name.to_owned(), value);
        }
        fields.insert("id".into(), json!(line_id.to_string()));
        fields.insert("documentId".into(), json!(document.to_string()));
        let row = Row {
            fields,
            version,
            seq,
        };
        data.tables.entry(entity).or_default().insert(line_id, row);
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn document_rules(
    data: &mut CompanyData,
    settings: &StoreSettings,
    entity: Entity,
    id: Uuid,
    fields: &mut Map<String, Value>,
    given: &[String],
    creating: bool,
    today: &str,
    origin: Origin,
) -> Outcome<()> {
    let given_has = |k: &str| given.iter().any(|g| g == k);
    let (series, date_field) = match entity {
        Entity::SalesOrder => (&ORDERS, "orderDate"),
        Entity::SalesInvoice => (&INVOICES, "invoiceDate"),
        _ => (&CREDIT_MEMOS, "creditMemoDate"),
    };
    if given_has("number") && origin == Origin::Api {
        // Fixture error.application-dialogexception.manual-nos.json.
        return Err(BcFault::dialog(format!(
            "You may not enter numbers manually. If you want to enter numbers manually, please activate Manual Nos. in No. Series {}.",
            series.code
        )));
    }
    if creating || given_has("customerId") || given_has("customerNumber") {
        let by_id = given_has("customerId")
            .then(|| guid(fields, "customerId"))
            .flatten();
        let by_number = given_has("customerNumber")
            .then(|| text(fields, "customerNumber"))
            .filter(|n| !n.is_empty());
        let customer = match (by_id, by_number) {
            (None, None) => {
                // A: APIV2SalesCreditMemos.Page.al SellToCustomerNotProvidedErr.
                return Err(BcFault::dialog(
                    "A \"customerNumber\" or a \"customerId\" must be provided.",
                ));
            }
            (Some(cid), number) => {
                let row = data
                    .row(Entity::Customer, cid)
                    .ok_or_else(|| BcFault::dialog("The sell-to customer cannot be found."))?;
                if number.is_some_and(|n| n != text(&row.fields, "number")) {
                    return Err(BcFault::dialog(
                        "The sell-to customer values do not match to a specific Customer.",
                    ));
                }
                (cid, row.fields.clone())
            }
            (None, Some(number)) => data
                .find(Entity::Customer, "number", &number)
                .map(|(cid, r)| (cid, r.fields.clone()))
                .ok_or_else(|| BcFault::dialog("The sell-to customer cannot be found."))?,
        };
        let (customer_id, customer) = customer;
        if text(&customer, "blocked") == "All" {
            return Err(BcFault::dialog(format!(
                "You cannot create this type of document when Customer {} is blocked with type All",
                text(&customer, "number")
            )));
        }
        fields.insert("customerId".into(), json!(customer_id.to_string()));
        fields.insert("customerNumber".into(), customer["number"].clone());
        // Read-only in v2.0: the customer's Prices Including VAT ([AL]
        // APIV2SalesInvoices.Page.al `pricesIncludeTax`, Editable = false).
        let profile = settings.vat.customer(&text(&customer, "number"));
        fields.insert(
            "pricesIncludeTax".into(),
            json!(profile.prices_including_vat),
        );
        fields.insert("customerName".into(), customer["displayName"].clone());
        fields.insert("billToName".into(), customer["displayName"].clone());
        if !given_has("billToCustomerId") && !given_has("billToCustomerNumber") {
            fields.insert("billToCustomerId".into(), json!(customer_id.to_string()));
            fields.insert("billToCustomerNumber".into(), customer["number"].clone());
        }
        let address = [
            ("AddressLine1", "addressLine1"),
            ("AddressLine2", "addressLine2"),
            ("City", "city"),
            ("Country", "country"),
            ("State", "state"),
            ("PostCode", "postalCode"),
        ];
        for prefix in ["sellTo", "billTo", "shipTo"] {
            for (suffix, source) in address {
                let key = format!("{prefix}{suffix}");
                if fields.contains_key(&key) && (prefix == "billTo" || !given_has(&key)) {
                    fields.insert(key, customer.get(source).cloned().unwrap_or(json!("")));
                }
            }
        }
        if fields.contains_key("shipToName") && !given_has("shipToName") {
            fields.insert("shipToName".into(), customer["displayName"].clone());
        }
        for (key, source) in [
            ("email", "email"),
            ("phoneNumber", "phoneNumber"),
            ("currencyCode", "currencyCode"),
            ("paymentTermsId", "paymentTermsId"),
            ("shipmentMethodId", "shipmentMethodId"),
            ("salesperson", "salespersonCode"),
        ] {
            if fields.contains_key(key) && !given_has(key) {
                fields.insert(
                    key.into(),
                    customer.get(source).cloned().unwrap_or(json!("")),
                );
            }
        }
    }
    if text(fields, "currencyCode").is_empty() {
        fields.insert("currencyCode".into(), json!(settings.lcy));
    }
    // The header's code fields through their table relations (FIDELITY #5), as the Sales
    // Header table validates them.
    for (key, related, caption) in [
        ("salesperson", CodeTable::Salesperson, "Salesperson Code"),
        ("currencyCode", CodeTable::Currency, "Currency Code"),
        (
            "shortcutDimension1Code",
            CodeTable::GlobalDimension1,
            "Shortcut Dimension 1 Code",
        ),
        (
            "shortcutDimension2Code",
            CodeTable::GlobalDimension2,
            "Shortcut Dimension 2 Code",
        ),
        (
            "sellToCountry",
            CodeTable::CountryRegion,
            "Sell-to Country/Region Code",
        ),
        (
            "shipToCountry",
            CodeTable::CountryRegion,
            "Ship-to Country/Region Code",
        ),
    ] {
        if given_has(key) {
            known_code(settings, fields, key, related, caption, "Sales Header")?;
        }
    }
    reference(
        data,
        Entity::PaymentTerm,
        fields,
        "paymentTermsId",
        "The \"paymentTermsId\" does not match to a Payment Terms.",
    )?;
    if creating {
        if text(fields, "number").is_empty() {
            fields.insert("number".into(), json!(data.next_number(series)));
        }
        fields.insert("status".into(), json!("Draft"));
        if text(fields, date_field) == BLANK_DATE {
            fields.insert(date_field.into(), json!(today));
        }
        if text(fields, "postingDate") == BLANK_DATE {
            fields.insert("postingDate".into(), json!(today));
        }
        if fields.contains_key("dueDate") && text(fields, "dueDate") == BLANK_DATE {
            let due = due_date(data, fields, &text(fields, date_field));
            fields.insert("dueDate".into(), json!(due));
        }
        if entity == Entity::SalesOrder && !given_has("partialShipping") {
            fields.insert("partialShipping".into(), json!(true));
        }
    }
    unique(data, entity, id, "number", "No.", &text(fields, "number"))
}

/// Document date plus the payment terms' `nD` due date calculation.
pub(super) fn due_date(data: &CompanyData, fields: &Map<String, Value>, start: &str) -> String {
    let days = guid(fields, "paymentTermsId")
        .and_then(|t| data.row(Entity::PaymentTerm, t))
        .map(|r| text(&r.fields, "dueDateCalculation"))
        .and_then(|calc| calc.strip_suffix('D').and_then(|n| n.parse::<i64>().ok()))
        .unwrap_or(0);
    start
        .parse::<Date>()
        .ok()
        .and_then(|d| d.checked_add(jiff::Span::new().days(days)).ok())
        .map_or_else(|| start.to_owned(), |d| d.to_string())
}

#[allow(clippy::too_many_arguments)]
pub(super) fn line_rules(
    data: &mut CompanyData,
    settings: &StoreSettings,
    entity: Entity,
    parent: Option<Uuid>,
    fields: &mut Map<String, Value>,
    given: &[String],
    creating: bool,
) -> Outcome<()> {
    let given_has = |k: &str| given.iter().any(|g| g == k);
    let document = entity.document().unwrap_or(entity);
    if !creating {
        unchanged_line_keys(data, entity, fields, given)?;
    }
    let doc_id = parent
        .or_else(|| guid(fields, "documentId"))
        .ok_or_else(|| BcFault::dialog("The \"documentId\" must be provided."))?;
    let header = data
        .row(document, doc_id)
        .ok_or_else(|| BcFault::record_not_found(document.set_name(), &doc_id.to_string()))?
        .fields
        .clone();
    if data.is_posted(doc_id) {
        return Err(BcFault::dialog(
            "The document has been posted and can no longer be changed.",
        ));
    }
    fields.insert("documentId".into(), json!(doc_id.to_string()));
    if creating && !given_has("lineType") {
        let item_like = given_has("itemId") || given_has("lineObjectNumber");
        fields.insert(
            "lineType".into(),
            json!(if item_like { "Item" } else { "Comment" }),
        );
    }
    if creating && !given_has("sequence") {
        let next = data
            .table(entity)
            .filter(|(_, r)| guid(&r.fields, "documentId") == Some(doc_id))
            .map(|(_, r)| r.fields["sequence"].as_i64().unwrap_or(0))
            .max()
            .unwrap_or(0)
            + 10_000;
        fields.insert("sequence".into(), json!(next));
    }
    let date_field = match document {
        Entity::SalesOrder => "orderDate",
        Entity::SalesInvoice => "invoiceDate",
        _ => "creditMemoDate",
    };
    if creating && text(fields, "shipmentDate") == BLANK_DATE {
        fields.insert(
            "shipmentDate".into(),
            header.get(date_field).cloned().unwrap_or(json!(BLANK_DATE)),
        );
    }
    if text(fields, "lineType") == "Item" {
        let by_id = guid(fields, "itemId");
        let by_number = Some(text(fields, "lineObjectNumber")).filter(|n| !n.is_empty());
        let (item_id, item) = match (by_id, by_number) {
            (Some(item_id), number) => {
                let row = data.row(Entity::Item, item_id).ok_or_else(|| BcFault::dialog("The \"itemId\" does not match to an Item."))?;
                if number.is_some_and(|n| given_has("lineObjectNumber") && n != text(&row.fields, "number")) {
                    return Err(BcFault::dialog("The item values do not match to a specific Item."));
                }
                (item_id, row.fields.clone())
            }
            (None, Some(number)) => data
                .find(Entity::Item, "number", &number)
                .map(|(i, r)| (i, r.fields.clone()))
                .ok_or_else(|| {
                    // Standard table-relation error (text inferred).
                    BcFault::new(400, "Internal_InvalidTableRelation", format!("The field No. of table Sales Line contains a value ({number}) that cannot be found in the related table (Item)."))
                })?,
            (None, None) => return Err(BcFault::dialog("The \"itemId\" or \"lineObjectNumber\" must be provided for an item line.")),
        };
        if item.get("blocked") == Some(&Value::Bool(true)) {
            // Standard TestField error: BC answers it as Application_FieldValidationException
            // (FIDELITY #15; text inferred).
            return Err(BcFault::new(
                400,
                "Application_FieldValidationException",
                format!(
                    "Blocked must be equal to 'No'  in Item: No.={}. Current value is 'Yes'.",
                    text(&item, "number")
                ),
            ));
        }
        fields.insert("itemId".into(), json!(item_id.to_string()));
        fields.insert("lineObjectNumber".into(), item["number"].clone());
        if creating && !given_has("description") {
            fields.insert("description".into(), item["displayName"].clone());
        }
        if creating && !given_has("unitPrice") {
            fields.insert("unitPrice".into(), item["unitPrice"].clone());
        }
        if creating && !given_has("unitOfMeasureCode") {
            fields.insert(
                "unitOfMeasureCode".into(),
                item["baseUnitOfMeasureCode"].clone(),
            );
            fields.insert(
                "unitOfMeasureId".into(),
                item["baseUnitOfMeasureId"].clone(),
            );
        }
        if creating && !given_has("taxCode") {
            fields.insert("taxCode".into(), item["taxGroupCode"].clone());
        }
        if creating
            && !given_has("unitPrice")
            && header.get("pricesIncludeTax") == Some(&json!(true))
        {
            // The item's price excludes VAT; a header with Prices Including VAT gets it
            // converted and rounded to the unit-amount precision 0.00001 ([AL]
            // PriceCalculationBufferMgt.Codeunit.al `ConvertAmountByTax`, `RoundPrice`).
            let rate = settings.vat.rate(
                &text(&header, "customerNumber"),
                &text(fields, "taxCode"),
                &settings.tax_rates,
            )?;
            let price = num(&item["unitPrice"]) * (1.0 + rate.percent / 100.0);
            fields.insert(
                "unitPrice".into(),
                number((price * 100_000.0).round() / 100_000.0),
            );
        }
        if let Some(variant) = guid(fields, "itemVariantId") {
            let ok = data
                .row(Entity::ItemVariant, variant)
                .is_some_and(|v| guid(&v.fields, "itemId") == Some(item_id));
            if !ok {
                return Err(BcFault::dialog(
                    "The \"itemVariantId\" does not match to a Variant of the Item.",
                ));
            }
        }
    }
    if text(fields, "lineType") == "Account" {
        let number = text(fields, "lineObjectNumber");
        let account = settings.behaviour.gl_accounts.get(&number).ok_or_else(|| {
            // Standard table-relation error (text inferred, as for items).
            BcFault::new(
                400,
                "Internal_InvalidTableRelation",
                format!("The field No. of table Sales Line contains a value ({number}) that cannot be found in the related table (G/L Account)."),
            )
        })?;
        if creating && !given_has("description") {
            fields.insert("description".into(), json!(account.name));
        }
        if creating && !given_has("taxCode") {
            fields.insert("taxCode".into(), json!(account.vat_product_group));
        }
    }
    if given_has("unitOfMeasureCode") {
        known_code(
            settings,
            fields,
            "unitOfMeasureCode",
            CodeTable::UnitOfMeasure,
            "Unit of Measure Code",
            "Sales Line",
        )?;
    }
    reference(
        data,
        Entity::Location,
        fields,
        "locationId",
        "The \"locationId\" does not match to a Location.",
    )?;
    // Amounts.
    let quantity = num(&fields["quantity"]);
    let price = num(&fields["unitPrice"]);
    let gross = round2(quantity * price);
    let discount = if given_has("discountPercent")
        || (!given_has("discountAmount") && num(&fields["discountPercent"]) > 0.0)
    {
        round2(gross * num(&fields["discountPercent"]) / 100.0)
    } else {
        let amount = num(&fields["discountAmount"]);
        let percent = if gross.abs() > f64::EPSILON {
            amount / gross * 100.0
        } else {
            0.0
        };
        fields.insert(
            "discountPercent".into(),
            number((percent * 100_000.0).round() / 100_000.0),
        );
        amount
    };
    fields.insert("discountAmount".into(), number(discount));
    // The line on its own; the document's totals round VAT per identifier instead
    // (`touch_document`), and give the `net…` fields.
    let rate = line_rate(settings, &header, fields)?;
    let prices_including_vat = header.get("pricesIncludeTax") == Some(&json!(true));
    let amount = round2(gross - discount);
    let alone = compute(
        &[VatInput {
            amount,
            rate: rate.clone(),
        }],
        prices_including_vat,
        settings.vat.rounding,
    );
    let (excl, mut tax) = alone.first().map_or((amount, 0.0), |o| (o.base, o.vat));
    let mut percent = rate.percent;
    if settings.sales_tax.is_active() {
        // The line on its own; the document distributes the rounding (`touch_document`).
        let (area, liable) = sales_tax_profile(data, &header);
        let group = if text(fields, "lineType") == "Comment" {
            String::new()
        } else {
            text(fields, "taxCode")
        };
        let result = distribute(
            &settings.sales_tax,
            &area,
            liable,
            &[TaxLine { group, amount }],
        );
        if let Some(result) = result.first() {
            tax = result.tax;
            percent = result.percent;
        }
    }
    fields.insert("amountExcludingTax".into(), number(excl));
    fields.insert("taxPercent".into(), number(percent));
    fields.insert("totalTaxAmount".into(), number(tax));
    fields.insert("amountIncludingTax".into(), number(round2(excl + tax)));
    fields.insert("netAmount".into(), number(excl));
    fields.insert("netTaxAmount".into(), number(tax));
    fields.insert("netAmountIncludingTax".into(), number(round2(excl + tax)));
    if entity == Entity::SalesOrderLine {
        for key in ["shipQuantity", "invoiceQuantity"] {
            if !given_has(key) {
                fields.insert(key.into(), number(quantity));
            }
        }
    }
    Ok(())
}

/// The Tax Area Code and Tax Liable a sales header takes from its bill-to customer (else its
/// sell-to customer): the customer's `taxAreaId` names a tax area (`taxAreas`).
fn sales_tax_profile(data: &CompanyData, header: &Map<String, Value>) -> (String, bool) {
    let bill_to = text(header, "billToCustomerNumber");
    let number = if bill_to.is_empty() {
        text(header, "customerNumber")
    } else {
        bill_to
    };
    let Some((_, customer)) = data.find(Entity::Customer, "number", &number) else {
        return (String::new(), false);
    };
    let area = guid(&customer.fields, "taxAreaId")
        .and_then(|a| data.row(Entity::TaxArea, a))
        .map(|r| text(&r.fields, "code"))
        .unwrap_or_default();
    (area, customer.fields.get("taxLiable") == Some(&json!(true)))
}

/// A line's VAT rate: none on comment lines, else the VAT Posting Setup of the header's
/// customer and the line's `taxCode`. A sales-tax tenant has no VAT (its tax comes from
/// `sales_tax`).
fn line_rate(
    settings: &StoreSettings,
    header: &Map<String, Value>,
    line: &Map<String, Value>,
) -> Outcome<LineRate> {
    let tax_code = text(line, "taxCode");
    let no_vat = text(line, "lineType") == "Account" && tax_code.is_empty();
    if text(line, "lineType") == "Comment" || no_vat || settings.sales_tax.is_active() {
        return Ok(LineRate {
            percent: 0.0,
            identifier: tax_code,
        });
    }
    settings.vat.rate(
        &text(header, "customerNumber"),
        &tax_code,
        &settings.tax_rates,
    )
}

/// A line's document, sequence and object number are fixed once it exists ([AL]
/// APIV2SalesOrderLines.Page.al, APIV2SalesInvoiceLines.Page.al: "The value for sequence
/// cannot be modified. Delete and insert the line again.", and likewise for
/// `lineObjectNumber` and `documentId`). Giving the current value is no change.
fn unchanged_line_keys(
    data: &CompanyData,
    entity: Entity,
    fields: &Map<String, Value>,
    given: &[String],
) -> Outcome<()> {
    let Some(old) = guid(fields, "id").and_then(|id| data.row(entity, id)) else {
        return Ok(());
    };
    for (key, message) in [
        (
            "sequence",
            "The value for sequence cannot be modified. Delete and insert the line again.",
        ),
        (
            "lineObjectNumber",
            "The value for \"lineObjectNumber\" cannot be modified.",
        ),
        (
            "documentId",
            "The value for \"documentId\" cannot be modified.",
        ),
    ] {
        let changed = given.iter().any(|g| g == key)
            && fields.get(key) != old.fields.get(key)
            && old
                .fields
                .get(key)
                .is_some_and(|v| v != &json!("") && v != &json!(0));
        if changed {
            return Err(BcFault::dialog(message));
        }
    }
    Ok(())
}
