//! Why Business Central refuses to post a sales document, and posting through the job queue.
//!
//! The API pages' `Microsoft.NAV.post` ([AL] `APIV2SalesInvoices.Page.al`,
//! `APIV2SalesCreditMemos.Page.al`) refuses a document that is no longer a draft ("The action
//! can be applied to a draft invoice only."), then hands it to Sales-Post, which refuses
//! (FIDELITY #3, [MS] `webservices/dynamics-error-codes`):
//! - a customer blocked for the posting (Invoice or All; Ship too for a shipment);
//! - a header without Customer Posting Group (a customer created without a template);
//! - a posting date outside the General Ledger / User Setup "Allow Posting From/To" range
//!   ("Posting Date is not within your range of allowed posting dates.", Sales-Post
//!   `PostingDateNotAllowedErr`);
//! - a blank External Document No. where Sales & Receivables Setup makes it mandatory.
//!
//! With "Post with Job Queue" the API call only schedules the posting and answers 204; the
//! document stays a draft until the job queue runs it, and a refusal then leaves it a draft
//! with nothing said to the caller. What a tenant's setup holds that v2.0 cannot read or set
//! is a simulator setting ([`PostingSetup`]).

use std::collections::BTreeSet;

use jiff::civil::Date;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{CompanyData, text};
use crate::business_central::errors::{BcFault, Outcome};
use crate::business_central::schema::Entity;

/// A tenant's posting setup, as far as posting a sales document can fail on it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PostingSetup {
    /// General Ledger Setup "Allow Posting From" / "Allow Posting To" (inclusive); `None`
    /// allows every date.
    pub allowed_posting_dates: Option<(Date, Date)>,
    /// Customers (by number) whose card has no Customer Posting Group, as customers created
    /// without a customer template have.
    pub customers_without_posting_group: BTreeSet<String>,
    /// Sales & Receivables Setup "Ext. Doc. No. Mandatory".
    pub external_document_number_mandatory: bool,
    /// Sales & Receivables Setup "Post with Job Queue": `post` and `shipAndInvoice` only
    /// schedule the posting, which happens when the job queue runs.
    pub post_with_job_queue: bool,
    /// With the job queue, how the API call answers. The page's `Post` runs
    /// `SendToPosting` and then looks the posted invoice up by its pre-assigned number
    /// ([AL] `APIV2SalesInvoices.Page.al` `PostInvoice`), which a scheduled posting has not
    /// made yet. Whether that look-up's error reaches the caller after the entry was
    /// committed is unknown: `false` answers 204, `true` answers the look-up's error while
    /// the posting stays scheduled.
    pub job_queue_lookup_fails: bool,
}

/// A posting scheduled on the job queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct QueuedPost {
    pub(crate) company: Uuid,
    pub(crate) entity: Entity,
    pub(crate) id: Uuid,
}

/// What one job-queue entry did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobQueueOutcome {
    /// The document the entry posted (its id stays for invoices and credit memos; an order's
    /// posted invoice has a new id).
    pub document: Uuid,
    /// Why the posting failed (the document stays a draft), or `None` when it posted.
    pub error: Option<String>,
}

/// BC's Sales Header "Document Type" caption for an API entity.
fn document_type(entity: Entity) -> &'static str {
    match entity {
        Entity::SalesOrder => "Order",
        Entity::SalesCreditMemo => "Credit Memo",
        _ => "Invoice",
    }
}

/// A TestField refusal on the sales header ("%1 must have a value in %2: %3=%4, %5=%6. It
/// cannot be zero or empty.").
fn header_must_have(field: &str, entity: Entity, number: &str) -> BcFault {
    BcFault::new(
        400,
        "Application_FieldValidationException",
        format!(
            "{field} must have a value in Sales Header: Document Type={}, No.={number}. It cannot be zero or empty.",
            document_type(entity)
        ),
    )
}

/// The refusal for a document that is no longer a draft.
pub(crate) fn not_a_draft(entity: Entity) -> BcFault {
    BcFault::dialog(match entity {
        Entity::SalesCreditMemo => "The action can be applied to a draft credit memo only.",
        _ => "The action can be applied to a draft invoice only.",
    })
}

/// Sales-Post's checks on a header about to post; `ship` for an order's shipment.
pub(crate) fn check_posting(
    data: &CompanyData,
    setup: &PostingSetup,
    entity: Entity,
    header: &Map<String, Value>,
    ship: bool,
) -> Outcome<()> {
    let number = text(header, "number");
    let customer = text(header, "customerNumber");
    if let Some((_, row)) = data.find(Entity::Customer, "number", &customer) {
        let blocked = text(&row.fields, "blocked");
        if blocked == "All" || blocked == "Invoice" || (ship && blocked == "Ship") {
            // Customer.CheckBlockedCustOnDocs (text as the document-create refusal, with the
            // posting verb).
            return Err(BcFault::dialog(format!(
                "You cannot post this type of document when Customer {customer} is blocked with type {blocked}"
            )));
        }
    }
    if setup.customers_without_posting_group.contains(&customer) {
        return Err(header_must_have("Customer Posting Group", entity, &number));
    }
    if let Some((from, to)) = setup.allowed_posting_dates {
        let posting_date: Option<Date> = text(header, "postingDate").parse().ok();
        if posting_date.is_none_or(|d| d < from || d > to) {
            return Err(BcFault::dialog(
                "Posting Date is not within your range of allowed posting dates.",
            ));
        }
    }
    if setup.external_document_number_mandatory && text(header, "externalDocumentNumber").is_empty()
    {
        return Err(header_must_have("External Document No.", entity, &number));
    }
    Ok(())
}
