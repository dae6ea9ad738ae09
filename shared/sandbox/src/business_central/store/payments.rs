//! Customer payments as API v2.0 offers them: customer payment journals (general journal
//! batches of the cash receipt template), their payment lines, and posting a batch.
//!
//! Sources (microsoft/BCApps):
//! - `src/Apps/W1/APIV2/app/src/pages/APIV2CustPaymJournals.Page.al` (page 30013): batches of
//!   the template `GraphMgtJournal.GetDefaultCustomerPaymentsTemplateName()` (the first
//!   non-recurring Cash Receipt Journal template); an empty `actions` section, so no bound
//!   action: `customerPaymentJournals({id})/Microsoft.NAV.post` names nothing.
//! - `src/Apps/W1/APIV2/app/src/pages/APIV2CustomerPayments.Page.al` (page 30055): the lines,
//!   reached under a journal (`SubPageLink = "Journal Batch Id"`) or at
//!   `companies({id})/customerPayments`, where `CheckFilters` wants a journal or an id
//!   ("You must specify a journal batch ID or a journal ID to get a journal line.") and
//!   `OnInsertRecord` a journal id. Its labels are the refusals below. `customerId` and
//!   `customerNumber` must name the same customer; `appliesToInvoiceId` must be a posted
//!   invoice (`SalesInvoiceAggregator.GetSalesInvoiceHeaderFromId` reads "Sales Invoice
//!   Header" only); `appliesToInvoiceNumber` of no posted invoice is kept with a blank id;
//!   either fills a blank customer from the invoice's bill-to (else sell-to) customer but
//!   never overwrites one (test `APIV2CustomerPaymentsE2E.Codeunit.al`
//!   `TestCustomerAutofillDoesNotOverwrite`: another customer's invoice is accepted on
//!   insert). `Applies-to Doc. Type` is always Invoice.
//! - `src/Apps/W1/APIV2/app/src/pages/APIV2Journals.Page.al` (page 30016): the only v2.0
//!   `post` of a journal. Its `OnFindRecord` finds a batch by SystemId without filtering on
//!   the template, so `journals({customerPaymentJournalId})/Microsoft.NAV.post` posts a
//!   customer payment journal (read from the code; not confirmed on a tenant). Empty:
//!   "There is nothing to post."; answers 204 (result code Deleted).
//! - Gen. Jnl.-Post checks each line (`GenJnlCheckLine.Codeunit.al`): posting date and
//!   document number must have a value, the amount must not be zero, and a customer payment
//!   must be negative (`CheckDocType` → `ErrorIfPositiveAmt`, "must be negative"); a batch
//!   whose lines do not balance is refused by `GenJnlPostBatch.Codeunit.al` `CheckBalance`
//!   (Text012 + Text013 under a template that forces document balance). Applying
//!   (`GenJnlPostLine.Codeunit.al` `PrepareTempCustLedgEntry`) needs an open customer ledger
//!   entry of the invoice for the payment's customer (`SetRange("Customer No.")`,
//!   `SetRange(Open, true)`, `FindFirst`), so another customer's or a closed invoice is
//!   refused here, at posting. The invoice's `remainingAmount` is what stays open, and its
//!   `status` becomes `Paid` once closed (`SalesInvoiceAggregator.Codeunit.al`
//!   `SetStatusOptionFromSalesInvoiceHeader`: Closed → Paid; `APIV2SalesInvoices.Page.al`
//!   `GetRemainingAmount`). Posted lines leave the journal.
//!
//! A tenant's template, batch, balancing account and document numbers are its own (a new
//! company's are not in the sources): the simulator's are settings ([`PaymentJournalSetup`]),
//! defaulting to the docs example (`code`/`displayName` "GENERAL", `balancingAccountNumber`
//! "10100", [MS] `api-reference/v2.0/api/dynamics_customerpaymentjournal_get`).

use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::{
    ChangeKind, CompanyData, Row, Store, StoreSettings, guid, num, number, round2, stamp, text,
};
use crate::business_central::errors::{BcFault, DUPLICATE_KEY, Outcome};
use crate::business_central::schema::{BLANK_DATE, Entity, NIL_GUID};

/// The tenant's customer payment journal setup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentJournalSetup {
    /// Name of the Cash Receipt Journal template the API uses.
    pub template: String,
    /// The batch every company starts with (`customerPaymentJournals.code`).
    pub batch: String,
    /// Its description (`displayName`).
    pub description: String,
    /// Its balancing account ("Bal. Account No."); blank: payments do not balance and the
    /// batch cannot post. When the chart of accounts has it, `balancingAccountId` is its id.
    pub balancing_account: String,
    /// The first document number the batch's number series gives (later lines count up
    /// from the last line's number, as `SetUpNewLine` does with `IncStr`).
    pub first_document_number: String,
    /// Whether the template forces document balance (the message of an unbalanced post).
    pub force_doc_balance: bool,
    /// Name of the general journal template of `journals` and its first batch.
    pub general_template: String,
    /// The general journal batch every company starts with (`journals.code`).
    pub general_batch: String,
}

impl Default for PaymentJournalSetup {
    fn default() -> Self {
        Self {
            template: "CASHRCPT".to_owned(),
            batch: "GENERAL".to_owned(),
            description: "GENERAL".to_owned(),
            balancing_account: "10100".to_owned(),
            first_document_number: "G02001".to_owned(),
            force_doc_balance: true,
            general_template: "GENERAL".to_owned(),
            general_batch: "DEFAULT".to_owned(),
        }
    }
}

const FILTERS_NOT_SPECIFIED: &str =
    "You must specify a journal batch ID or a journal ID to get a journal line.";

/// The refusal of a flat `customerPayments` read without a journal or id filter.
pub(crate) fn filters_not_specified() -> BcFault {
    BcFault::dialog(FILTERS_NOT_SPECIFIED)
}

/// `IncStr`: the last run of digits counted up by one, keeping its width.
fn inc_str(value: &str) -> String {
    let end = value
        .char_indices()
        .rev()
        .find(|(_, c)| c.is_ascii_digit())
        .map(|(i, _)| i + 1);
    let Some(end) = end else {
        return value.to_owned();
    };
    let start = value[..end]
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_ascii_digit())
        .last()
        .map_or(end, |(i, _)| i);
    let digits = &value[start..end];
    let next = digits.parse::<u128>().map_or(0, |n| n + 1).to_string();
    let width = digits.len().max(next.len());
    format!("{}{next:0>width$}{}", &value[..start], &value[end..])
}

/// A posted invoice's id and the customer its ledger entry is for (bill-to, else sell-to).
fn posted_invoice_by(
    data: &CompanyData,
    matches: impl Fn(&Uuid, &Row) -> bool,
) -> Option<(Uuid, String, String)> {
    data.table(Entity::SalesInvoice)
        .filter(|(id, _)| data.is_posted(**id))
        .find(|(id, r)| matches(id, r))
        .map(|(id, r)| {
            let bill_to = text(&r.fields, "billToCustomerNumber");
            let customer = if bill_to.is_empty() {
                text(&r.fields, "customerNumber")
            } else {
                bill_to
            };
            (*id, text(&r.fields, "number"), customer)
        })
}

/// The rules of page 30055 on insert and modify of a customer payment.
#[allow(clippy::too_many_arguments)]
pub(super) fn payment_rules(
    data: &CompanyData,
    settings: &StoreSettings,
    id: Uuid,
    parent: Option<Uuid>,
    fields: &mut Map<String, Value>,
    given: &[String],
    creating: bool,
    today: &str,
) -> Outcome<()> {
    let given_has = |k: &str| given.iter().any(|g| g == k);
    let old = data
        .row(Entity::CustomerPayment, id)
        .map(|r| r.fields.clone());
    // The journal.
    let journal = if creating {
        let named = given_has("journalId")
            .then(|| guid(fields, "journalId"))
            .flatten();
        let journal = match (parent, named) {
            (Some(p), Some(n)) if p != n => {
                return Err(BcFault::dialog(
                    "The Journal Id and Journal Display Name do not match.",
                ));
            }
            (Some(p), _) => p,
            (None, Some(n)) => n,
            (None, None) => return Err(filters_not_specified()),
        };
        let batch = data
            .row(Entity::CustomerPaymentJournal, journal)
            .ok_or_else(|| {
                BcFault::record_not_found("customerPaymentJournals", &journal.to_string())
            })?;
        fields.insert("journalId".into(), json!(journal.to_string()));
        fields.insert("journalDisplayName".into(), batch.fields["code"].clone());
        journal
    } else {
        let old = old.clone().unwrap_or_default();
        if given_has("journalId") && fields.get("journalId") != old.get("journalId") {
            return Err(BcFault::dialog("The Journal Id cannot be changed."));
        }
        if given_has("journalDisplayName")
            && fields.get("journalDisplayName") != old.get("journalDisplayName")
        {
            return Err(BcFault::dialog(
                "The Journal Batch Display Name cannot be changed.",
            ));
        }
        guid(&old, "journalId").unwrap_or_default()
    };
    let siblings: Vec<&Row> = data
        .table(Entity::CustomerPayment)
        .filter(|(other, r)| **other != id && guid(&r.fields, "journalId") == Some(journal))
        .map(|(_, r)| r)
        .collect();
    let last = siblings
        .iter()
        .max_by_key(|r| r.fields["lineNumber"].as_i64().unwrap_or(0))
        .map(|r| r.fields.clone());
    // Line number: the next free one, as `GetNewLineNo` gives it.
    if creating && fields["lineNumber"].as_i64().unwrap_or(0) == 0 {
        let next = last
            .as_ref()
            .and_then(|l| l["lineNumber"].as_i64())
            .unwrap_or(0)
            + 10_000;
        fields.insert("lineNumber".into(), json!(next));
    }
    let line_number = fields["lineNumber"].as_i64().unwrap_or(0);
    if siblings
        .iter()
        .any(|r| r.fields["lineNumber"].as_i64() == Some(line_number))
    {
        return Err(BcFault::new(
            400,
            DUPLICATE_KEY,
            format!(
                "The Gen. Journal Line already exists. Identification fields and values: Journal Template Name='{}',Journal Batch Name='{}',Line No.='{line_number}'",
                settings.payments.template,
                text(fields, "journalDisplayName")
            ),
        ));
    }
    // The customer, by id and/or number.
    let mut by_id: Option<String> = None;
    if given_has("customerId") {
        match guid(fields, "customerId") {
            None => {
                fields.insert("customerNumber".into(), json!(""));
            }
            Some(customer) => {
                let number = data
                    .row(Entity::Customer, customer)
                    .map(|r| text(&r.fields, "number"))
                    .ok_or_else(|| {
                        BcFault::dialog("The \"customerId\" does not match to a Customer.")
                    })?;
                by_id = Some(number.clone());
                if !given_has("customerNumber") {
                    fields.insert("customerNumber".into(), json!(number));
                }
            }
        }
    }
    if given_has("customerNumber") {
        let number = text(fields, "customerNumber");
        if let Some(expected) = &by_id {
            if *expected != number {
                return Err(BcFault::dialog(
                    "The customer values do not match to a specific Customer.",
                ));
            }
        } else if number.is_empty() {
            fields.insert("customerId".into(), json!(NIL_GUID));
        } else {
            let (customer, _) =
                data.find(Entity::Customer, "number", &number)
                    .ok_or_else(|| {
                        BcFault::dialog("The \"customerNumber\" does not match to a Customer.")
                    })?;
            fields.insert("customerId".into(), json!(customer.to_string()));
        }
    }
    // The invoice it applies to.
    let fill_customer = |fields: &mut Map<String, Value>, customer: &str| {
        if text(fields, "customerNumber").is_empty()
            && let Some((customer_id, _)) = data.find(Entity::Customer, "number", customer)
        {
            fields.insert("customerNumber".into(), json!(customer));
            fields.insert("customerId".into(), json!(customer_id.to_string()));
        }
    };
    let mut invoice_by_id: Option<String> = None;
    if given_has("appliesToInvoiceId") {
        match guid(fields, "appliesToInvoiceId") {
            None => {
                if !given_has("appliesToInvoiceNumber") {
                    fields.insert("appliesToInvoiceNumber".into(), json!(""));
                }
            }
            Some(invoice) => {
                let (_, number, customer) = posted_invoice_by(data, |i, _| *i == invoice)
                    .ok_or_else(|| {
                        BcFault::dialog(
                            "The \"appliesToInvoiceId\" should be the ID of an Open, Paid, Corrective, or Canceled Invoice.",
                        )
                    })?;
                invoice_by_id = Some(number.clone());
                fields.insert("appliesToInvoiceNumber".into(), json!(number));
                fill_customer(fields, &customer);
            }
        }
    }
    if given_has("appliesToInvoiceNumber") {
        let number = text(fields, "appliesToInvoiceNumber");
        if let Some(expected) = &invoice_by_id {
            if *expected != number {
                return Err(BcFault::dialog(
                    "The Applies To Invoice values do not match to the same Invoice.",
                ));
            }
        } else {
            match posted_invoice_by(data, |_, r| {
                !number.is_empty() && text(&r.fields, "number") == number
            }) {
                Some((invoice, _, customer)) => {
                    fields.insert("appliesToInvoiceId".into(), json!(invoice.to_string()));
                    fill_customer(fields, &customer);
                }
                None => {
                    fields.insert("appliesToInvoiceId".into(), json!(NIL_GUID));
                }
            }
        }
    }
    if creating {
        // `SetUpNewLine`: the previous line's posting date, else the work date; the batch's
        // next number, or the previous line's counted up.
        if text(fields, "postingDate") == BLANK_DATE {
            let posting = last
                .as_ref()
                .map_or_else(|| today.to_owned(), |l| text(l, "postingDate"));
            fields.insert("postingDate".into(), json!(posting));
        }
        if text(fields, "documentNumber").is_empty() {
            let document = last.as_ref().map_or_else(
                || settings.payments.first_document_number.clone(),
                |l| inc_str(&text(l, "documentNumber")),
            );
            fields.insert("documentNumber".into(), json!(document));
        }
        // Validating "Account No." copies the customer's name into Description.
        if !given_has("description")
            && let Some(customer) =
                guid(fields, "customerId").and_then(|c| data.row(Entity::Customer, c))
        {
            fields.insert("description".into(), customer.fields["displayName"].clone());
        }
    }
    Ok(())
}

/// The rules of a journal batch on insert and modify: a code, unique; the balancing
/// account by id (the chart of accounts' `accounts`).
pub(super) fn batch_rules(
    data: &CompanyData,
    entity: Entity,
    id: Uuid,
    fields: &mut Map<String, Value>,
    given: &[String],
    creating: bool,
    settings: &StoreSettings,
) -> Outcome<()> {
    let code = text(fields, "code");
    if code.is_empty() {
        return Err(BcFault::dialog(format!(
            "Name must have a value in Gen. Journal Batch: Journal Template Name={}, Name=. It cannot be zero or empty.",
            template_of(settings, entity)
        )));
    }
    super::fields::unique(data, entity, id, "code", "Name", &code)?;
    if entity == Entity::Journal && creating && text(fields, "templateDisplayName").is_empty() {
        fields.insert(
            "templateDisplayName".into(),
            json!(settings.payments.general_template),
        );
    }
    if given.iter().any(|g| g == "balancingAccountId") {
        match guid(fields, "balancingAccountId") {
            None => {
                fields.insert("balancingAccountNumber".into(), json!(""));
            }
            Some(account) => {
                // Text inferred (the pattern of the API pages' "does not match" labels).
                let number = data
                    .row(Entity::Account, account)
                    .map(|r| text(&r.fields, "number"))
                    .ok_or_else(|| {
                        BcFault::dialog(
                            "The \"balancingAccountId\" does not match to a G/L Account.",
                        )
                    })?;
                fields.insert("balancingAccountNumber".into(), json!(number));
            }
        }
    }
    Ok(())
}

fn template_of(settings: &StoreSettings, entity: Entity) -> String {
    if entity == Entity::Journal {
        settings.payments.general_template.clone()
    } else {
        settings.payments.template.clone()
    }
}

/// A Gen. Journal Line refusal in the platform's `FieldError`/`TestField` forms (texts
/// inferred from the AL runtime's format).
fn line_error(
    settings: &StoreSettings,
    batch: &str,
    line: i64,
    field: &str,
    what: &str,
) -> BcFault {
    let template = &settings.payments.template;
    let message = if what.is_empty() {
        format!(
            "{field} must have a value in Gen. Journal Line: Journal Template Name={template}, Journal Batch Name={batch}, Line No.={line}. It cannot be zero or empty."
        )
    } else {
        format!(
            "{field} {what} in Gen. Journal Line Journal Template Name='{template}',Journal Batch Name='{batch}',Line No.='{line}'."
        )
    };
    BcFault::new(400, "Application_FieldValidationException", message)
}

/// One payment's effect on an invoice.
struct Application {
    invoice: Uuid,
    remaining: f64,
}

impl Store {
    /// Gives every company the tenant's first customer payment journal and general journal
    /// batch, and its tax areas.
    pub(crate) fn seed_journals(&mut self, at: Timestamp) {
        let setup = self.settings.payments.clone();
        let tax = self.settings.sales_tax.clone();
        for n in 0..self.companies.len() {
            let account = self.companies[n]
                .find(Entity::Account, "number", &setup.balancing_account)
                .map_or_else(|| NIL_GUID.to_owned(), |(id, _)| id.to_string());
            let mut rows: Vec<(Entity, Uuid, Value)> = vec![
                (
                    Entity::CustomerPaymentJournal,
                    Uuid::new_v4(),
                    json!({"code": setup.batch, "displayName": setup.description,
                        "balancingAccountId": account, "balancingAccountNumber": setup.balancing_account}),
                ),
                (
                    Entity::Journal,
                    Uuid::new_v4(),
                    json!({"code": setup.general_batch, "displayName": setup.general_batch,
                        "templateDisplayName": setup.general_template,
                        "balancingAccountId": NIL_GUID, "balancingAccountNumber": ""}),
                ),
            ];
            for area in &tax.areas {
                rows.push((
                    Entity::TaxArea,
                    Uuid::new_v5(&Uuid::NAMESPACE_OID, format!("tax-area:{}", area.code).as_bytes()),
                    json!({"code": area.code, "displayName": area.description, "taxType": "Sales_x0020_Tax"}),
                ));
            }
            for (entity, id, values) in rows {
                let mut fields = Map::new();
                for field in entity.fields() {
                    fields.insert(field.name.to_owned(), field.kind.blank());
                }
                if let Value::Object(values) = values {
                    fields.extend(values);
                }
                fields.insert("id".into(), json!(id.to_string()));
                fields.insert("lastModifiedDateTime".into(), stamp(at));
                let (version, seq) = self.bump();
                self.companies[n].tables.entry(entity).or_default().insert(
                    id,
                    Row {
                        fields,
                        version,
                        seq,
                    },
                );
            }
        }
    }

    /// `journals({id})/Microsoft.NAV.post`: posts every line of the batch with that id —
    /// a general journal batch (which has no lines here) or a customer payment journal.
    /// All lines are checked before anything posts; a refusal posts nothing.
    pub(crate) fn post_journal(
        &mut self,
        company: Uuid,
        batch: Uuid,
        now: Timestamp,
    ) -> Outcome<()> {
        let settings = self.settings.clone();
        let data = self.company_mut(company)?;
        let batch_row = data
            .row(Entity::CustomerPaymentJournal, batch)
            .or_else(|| data.row(Entity::Journal, batch))
            .ok_or_else(|| BcFault::record_not_found("journals", &batch.to_string()))?
            .fields
            .clone();
        let batch_name = text(&batch_row, "code");
        let mut lines: Vec<(Uuid, Map<String, Value>)> = data
            .table(Entity::CustomerPayment)
            .filter(|(_, r)| guid(&r.fields, "journalId") == Some(batch))
            .map(|(id, r)| (*id, r.fields.clone()))
            .collect();
        if lines.is_empty() {
            return Err(BcFault::dialog("There is nothing to post."));
        }
        lines.sort_by_key(|(_, l)| l["lineNumber"].as_i64().unwrap_or(0));
        let balanced = !text(&batch_row, "balancingAccountNumber").is_empty();
        let mut remaining: Vec<Application> = Vec::new();
        for (_, line) in &lines {
            let line_no = line["lineNumber"].as_i64().unwrap_or(0);
            let amount = num(&line["amount"]);
            let customer = text(line, "customerNumber");
            if customer.is_empty() && amount == 0.0 {
                continue; // `EmptyLine`: skipped.
            }
            let fail =
                |field: &str, what: &str| line_error(&settings, &batch_name, line_no, field, what);
            let posting_date = text(line, "postingDate");
            if posting_date == BLANK_DATE {
                return Err(fail("Posting Date", ""));
            }
            if let Some((from, to)) = settings.posting.allowed_posting_dates {
                let parsed: Option<Date> = posting_date.parse().ok();
                if parsed.is_none_or(|d| d < from || d > to) {
                    return Err(fail(
                        "Posting Date",
                        "is not within your range of allowed posting dates",
                    ));
                }
            }
            if text(line, "documentNumber").is_empty() {
                return Err(fail("Document No.", ""));
            }
            if customer.is_empty() {
                return Err(fail("Account No.", ""));
            }
            if amount == 0.0 {
                return Err(fail("Amount", ""));
            }
            if amount > 0.0 {
                return Err(fail("Amount", "must be negative"));
            }
            if !balanced {
                return Err(BcFault::dialog(if settings.payments.force_doc_balance {
                    format!(
                        "Document No. {} is out of balance by {amount:.2}. Please check that Posting Date, Document Type, Document No. and Amount are correct for each line.",
                        text(line, "documentNumber")
                    )
                } else {
                    format!(
                        "The lines in Gen. Journal Line are out of balance by {amount:.2}. Check that Posting Date and Amount are correct for each line."
                    )
                }));
            }
            let applies_to = text(line, "appliesToInvoiceNumber");
            if applies_to.is_empty() {
                continue; // Posted unapplied: the customer's Application Method is Manual.
            }
            let open = posted_invoice_by(data, |_, r| text(&r.fields, "number") == applies_to)
                .filter(|(_, _, c)| *c == customer)
                .and_then(|(invoice, _, _)| {
                    let left = remaining
                        .iter()
                        .find(|a| a.invoice == invoice)
                        .map(|a| a.remaining)
                        .or_else(|| {
                            data.row(Entity::SalesInvoice, invoice)
                                .map(|r| num(&r.fields["remainingAmount"]))
                        })?;
                    (left > 0.005).then_some((invoice, left))
                });
            let Some((invoice, left)) = open else {
                // The platform's FindFirst error (text inferred).
                return Err(BcFault::new(
                    404,
                    "Internal_RecordNotFound",
                    format!(
                        "There is no Cust. Ledger Entry within the filter.  Filters: Document No.: {applies_to}, Document Type: Invoice, Customer No.: {customer}, Open: Yes"
                    ),
                ));
            };
            let after = round2((left + amount).max(0.0));
            remaining.retain(|a| a.invoice != invoice);
            remaining.push(Application {
                invoice,
                remaining: after,
            });
        }
        let mut touched = Vec::new();
        for application in &remaining {
            let (version, _) = self.bump();
            let data = self.company_mut(company)?;
            if let Some(row) = data.row_mut(Entity::SalesInvoice, application.invoice) {
                row.fields
                    .insert("remainingAmount".into(), number(application.remaining));
                if application.remaining < 0.005 {
                    row.fields.insert("status".into(), json!("Paid"));
                }
                row.fields.insert("lastModifiedDateTime".into(), stamp(now));
                row.version = version;
                touched.push(application.invoice);
            }
        }
        let data = self.company_mut(company)?;
        if let Some(table) = data.tables.get_mut(&Entity::CustomerPayment) {
            table.retain(|_, r| guid(&r.fields, "journalId") != Some(batch));
        }
        for invoice in touched {
            self.record_change(
                company,
                Entity::SalesInvoice,
                invoice,
                ChangeKind::Updated,
                now,
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::inc_str;

    #[test]
    fn inc_str_counts_up_the_last_digits() {
        assert_eq!(inc_str("G02001"), "G02002");
        assert_eq!(inc_str("PAY-009"), "PAY-010");
        assert_eq!(inc_str("A99B"), "A100B");
        assert_eq!(inc_str("NONE"), "NONE");
    }
}
