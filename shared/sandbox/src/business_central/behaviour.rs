//! What the simulated tenant is set up with and how it answers where BC's docs leave a
//! choice: the codes its related tables hold (a new company's, more on request), which
//! number series take manual numbers, whether a 429 carries `Retry-After`, how `email eq`
//! compares, the status of a duplicate key and the `changeType` of a posting. Every such
//! knob is here, with its default and its source.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A table whose codes other records refer to (a `TableRelation` in the AL source).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CodeTable {
    /// Unit of Measure (item `baseUnitOfMeasureCode`).
    UnitOfMeasure,
    /// Gen. Product Posting Group (item `generalProductPostingGroupCode`).
    GenProductPostingGroup,
    /// Inventory Posting Group (item `inventoryPostingGroupCode`).
    InventoryPostingGroup,
    /// Tax Group (item `taxGroupCode`).
    TaxGroup,
    /// Country/Region (customer, contact and document `country` fields).
    CountryRegion,
    /// Currency (customer and document `currencyCode`; the local currency is blank in BC).
    Currency,
    /// Salesperson/Purchaser (customer `salespersonCode`, document `salesperson`).
    Salesperson,
    /// Dimension Value of global dimension 1 (`shortcutDimension1Code`).
    GlobalDimension1,
    /// Dimension Value of global dimension 2 (`shortcutDimension2Code`).
    GlobalDimension2,
}

impl CodeTable {
    /// The table caption BC names in `Internal_InvalidTableRelation`.
    pub(crate) fn caption(self) -> &'static str {
        match self {
            Self::UnitOfMeasure => "Unit of Measure",
            Self::GenProductPostingGroup => "Gen. Product Posting Group",
            Self::InventoryPostingGroup => "Inventory Posting Group",
            Self::TaxGroup => "Tax Group",
            Self::CountryRegion => "Country/Region",
            Self::Currency => "Currency",
            Self::Salesperson => "Salesperson/Purchaser",
            Self::GlobalDimension1 | Self::GlobalDimension2 => "Dimension Value",
        }
    }
}

/// The codes each related table holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownCodes(BTreeMap<CodeTable, BTreeSet<String>>);

impl KnownCodes {
    /// No codes at all (every non-blank code is refused).
    #[must_use]
    pub fn empty() -> Self {
        Self(BTreeMap::new())
    }

    /// Adds a code (upper-cased, as a Code field stores it).
    pub fn insert(&mut self, table: CodeTable, code: &str) {
        self.0.entry(table).or_default().insert(code.to_uppercase());
    }

    /// Whether the table holds the code.
    #[must_use]
    pub fn contains(&self, table: CodeTable, code: &str) -> bool {
        self.0
            .get(&table)
            .is_some_and(|codes| codes.contains(&code.to_uppercase()))
    }
}

impl Default for KnownCodes {
    /// Codes modelled on a new CRONUS USA company (the demo company of a BC trial, built by
    /// the Contoso demo data tool in microsoft/BCApps, namespace `Microsoft.DemoData.*`):
    /// units of measure, posting groups (`RETAIL`/`RESALE`, as api-notes/BUSINESS-CENTRAL.md
    /// names for items), tax groups, countries, currencies, salespeople and the two global
    /// dimensions, reduced to the codes a retail sync meets. The list is an approximation:
    /// any other code is added with [`KnownCodes::insert`] or
    /// `BusinessCentralSandbox::add_code`.
    fn default() -> Self {
        let mut codes = Self::empty();
        let seed: &[(CodeTable, &[&str])] = &[
            (
                CodeTable::UnitOfMeasure,
                &[
                    "PCS", "BOX", "PACK", "PALLET", "SET", "KG", "L", "M", "HOUR", "DAY",
                ],
            ),
            (
                CodeTable::GenProductPostingGroup,
                &["RETAIL", "SERVICES", "MISC", "RAWMAT", "NO VAT", "FREIGHT"],
            ),
            (
                CodeTable::InventoryPostingGroup,
                &["RESALE", "FINISHED", "RAW MAT"],
            ),
            (
                CodeTable::TaxGroup,
                &[
                    "TAXABLE",
                    "NONTAXABLE",
                    "FURNITURE",
                    "MATERIALS",
                    "SUPPLIES",
                    "LABOR",
                ],
            ),
            (
                CodeTable::CountryRegion,
                &[
                    "US", "CA", "MX", "GB", "DE", "FR", "NL", "BE", "DK", "ES", "IT", "AT", "CH",
                    "SE", "NO", "FI", "IE", "PT", "AU", "NZ",
                ],
            ),
            (
                CodeTable::Currency,
                &[
                    "USD", "CAD", "EUR", "GBP", "MXN", "AUD", "NZD", "DKK", "SEK", "NOK", "CHF",
                ],
            ),
            (
                CodeTable::Salesperson,
                &["JR", "PS", "HR", "OF", "JO", "BC", "LT", "RB"],
            ),
            (CodeTable::GlobalDimension1, &["ADM", "PROD", "SALES"]),
            (CodeTable::GlobalDimension2, &["LARGE", "MEDIUM", "SMALL"]),
        ];
        for (table, list) in seed {
            for code in *list {
                codes.insert(*table, code);
            }
        }
        codes
    }
}

/// How the simulated Business Central is set up and answers where its docs leave a choice.
#[derive(Debug, Clone, PartialEq)]
pub struct BcBehaviour {
    /// The codes the related tables hold; an unknown code is refused with
    /// `Internal_InvalidTableRelation`. Default: a new company's ([`KnownCodes::default`]).
    pub codes: KnownCodes,
    /// Whether each number series (by code: `CUST`, `ITEM`, `CONT`, `S-ORD`, `S-INV`, `S-CR`)
    /// takes numbers typed by the client (*Manual Nos.*). A series not listed takes them
    /// when it numbers master data and refuses them on documents. Default: `CUST`, `ITEM`
    /// and `CONT` take them (a new company's setup), documents don't (fixture
    /// error.application-dialogexception.manual-nos.json names `S-ORD`).
    pub manual_nos: BTreeMap<String, bool>,
    /// Whether a 429 carries `Retry-After`. BC documents only the 429 and "retry logic
    /// with a cool off period"; `Retry-After` is documented for 502/503 ([MS]
    /// `api-reference/v2.0/dynamics-rate-limits`). Unknown: default `true` (the header is
    /// seen on throttled SaaS answers in public client reports); clients are tested both
    /// ways.
    pub retry_after_on_429: bool,
    /// The chart of accounts that document lines of type `Account` may post to, by number.
    /// An account not listed is refused with `Internal_InvalidTableRelation`. Default: none
    /// (a test or the demo names the accounts its lines use).
    pub gl_accounts: BTreeMap<String, GlAccount>,
    /// The service name under which page 38 "Item Ledger Entries" is published as an OData V4
    /// web service (*Web Services* page), served at `/v2.0/{tenant}/{environment}/ODataV4/
    /// Company('{name}')/{service}`. `None`: not published; any service name then answers
    /// `BadRequest_NotFound` "Resource not found for the segment …", as an unknown segment
    /// does (fixture error.badrequest-notfound.wrong-segment.json). Default
    /// `ItemLedgerEntries`: a tenant publishes it by hand; whether a new tenant has it is not
    /// confirmed.
    pub item_ledger_web_service: Option<String>,
    /// Without `$orderby`, whether that web service answers in the page's own order: page 38
    /// has `SourceTableView = sorting("Entry No.") order(descending)` (BCApps
    /// `ItemLedgerEntries.Page.al`). `false`: ascending `Entry_No`. Which one BC's OData
    /// layer applies is not documented; default `true`. A reader should send `$orderby`.
    pub item_ledger_web_service_descending: bool,
    /// The service name under which page 497 "Reservation Entries" is published as an OData
    /// V4 web service (what a stock reader sums "Reserved Qty. on Inventory" from, as
    /// `Item.Table.al` field 101 does). Default `None`: a tenant publishes it by hand.
    pub reservation_web_service: Option<String>,
    /// The service name under which page 5404 "Item Units of Measure" is published as an
    /// OData V4 web service (`Item_No`, `Code`, `Qty_per_Unit_of_Measure`, …: how many base
    /// units one unit of the item holds, BCApps `ItemUnitsofMeasure.Page.al`). Default
    /// `None`: a tenant publishes it by hand; any name then answers like an unknown segment.
    pub item_units_web_service: Option<String>,
    /// Whether a bound action is found whatever the casing of its name
    /// (`Microsoft.NAV.Post`). OData names are case-sensitive, but a live report (FIDELITY
    /// #15) has BC post with any casing; default `true`. `false`: only the page's exact
    /// name (`post`), anything else is not found.
    pub action_names_ignore_case: bool,
    /// How `$filter=email eq '…'` (and `ne`, `in`) compares the address. Unknown: FIDELITY
    /// "Assumptions to check" asks whether SaaS ignores case; default
    /// [`EmailFilter::CaseSensitive`], the literal OData comparison.
    pub email_filter: EmailFilter,
    /// The HTTP status of `Internal_EntityWithSameKeyExists`. Public clients report both
    /// 400 and 409 (FIDELITY "Assumptions to check"); default
    /// [`DuplicateKeyStatus::BadRequest`].
    pub duplicate_key_status: DuplicateKeyStatus,
    /// The webhook `changeType` that `Microsoft.NAV.post` of an invoice or credit memo
    /// notifies (the draft keeps its id, api-notes §2). Not documented (FIDELITY
    /// "Assumptions to check"); default [`PostingChangeType::Updated`]. `shipAndInvoice`
    /// always notifies the order `deleted` and the new invoice `created`.
    pub posting_change_type: PostingChangeType,
}

/// A value that names none of a setting's choices.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a value of {setting}: use {expected}")]
pub struct UnknownChoice {
    /// The setting.
    pub setting: &'static str,
    /// What was given.
    pub value: String,
    /// The choices.
    pub expected: &'static str,
}

/// How `email eq '…'` compares (see [`BcBehaviour::email_filter`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EmailFilter {
    /// `Zoe@Example.com` matches only `'Zoe@Example.com'`.
    #[default]
    CaseSensitive,
    /// `Zoe@Example.com` matches `'zoe@example.com'` too.
    CaseInsensitive,
}

impl EmailFilter {
    /// Both, the default first.
    pub const ALL: [Self; 2] = [Self::CaseSensitive, Self::CaseInsensitive];

    /// `case_sensitive` or `case_insensitive`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CaseSensitive => "case_sensitive",
            Self::CaseInsensitive => "case_insensitive",
        }
    }
}

/// The status of a duplicate-key refusal (see [`BcBehaviour::duplicate_key_status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DuplicateKeyStatus {
    /// 400 Bad Request.
    #[default]
    BadRequest,
    /// 409 Conflict.
    Conflict,
}

impl DuplicateKeyStatus {
    /// Both, the default first.
    pub const ALL: [Self; 2] = [Self::BadRequest, Self::Conflict];

    /// The HTTP status.
    pub fn status(self) -> u16 {
        match self {
            Self::BadRequest => 400,
            Self::Conflict => 409,
        }
    }

    /// `400` or `409`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "400",
            Self::Conflict => "409",
        }
    }
}

/// The `changeType` a posting notifies (see [`BcBehaviour::posting_change_type`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PostingChangeType {
    /// `updated`: the document kept its id.
    #[default]
    Updated,
    /// `created`: the posted document is a new record of another table.
    Created,
}

impl PostingChangeType {
    /// Both, the default first.
    pub const ALL: [Self; 2] = [Self::Updated, Self::Created];

    /// `updated` or `created`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Updated => "updated",
            Self::Created => "created",
        }
    }
}

/// `Display` as `as_str`, and `FromStr` of the same names (any case), for settings given
/// as text.
macro_rules! choice_names {
    ($ty:ty, $setting:literal, $expected:literal, $($name:literal => $value:expr),+ $(,)?) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $ty {
            type Err = UnknownChoice;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s.trim().to_ascii_lowercase().as_str() {
                    $($name => Ok($value),)+
                    other => Err(UnknownChoice {
                        setting: $setting,
                        value: other.to_owned(),
                        expected: $expected,
                    }),
                }
            }
        }
    };
}

choice_names!(
    EmailFilter,
    "email_filter",
    "case_sensitive or case_insensitive",
    "case_sensitive" => EmailFilter::CaseSensitive,
    "case_insensitive" => EmailFilter::CaseInsensitive,
);
choice_names!(
    DuplicateKeyStatus,
    "duplicate_key_status",
    "400 or 409",
    "400" => DuplicateKeyStatus::BadRequest,
    "409" => DuplicateKeyStatus::Conflict,
);
choice_names!(
    PostingChangeType,
    "posting_change_type",
    "updated or created",
    "updated" => PostingChangeType::Updated,
    "created" => PostingChangeType::Created,
);

/// A G/L account as a sales line sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GlAccount {
    /// Its name (the line's default description).
    pub name: String,
    /// Its VAT Prod. Posting Group (the line's default `taxCode`); empty: no VAT.
    pub vat_product_group: String,
}

impl GlAccount {
    /// An account named `name` with VAT product group `vat` (empty: none).
    pub fn new(name: &str, vat: &str) -> Self {
        Self {
            name: name.to_owned(),
            vat_product_group: vat.to_owned(),
        }
    }
}

impl Default for BcBehaviour {
    fn default() -> Self {
        Self {
            codes: KnownCodes::default(),
            manual_nos: [("CUST", true), ("ITEM", true), ("CONT", true)]
                .into_iter()
                .map(|(code, allowed)| (code.to_owned(), allowed))
                .collect(),
            retry_after_on_429: true,
            gl_accounts: BTreeMap::new(),
            item_ledger_web_service: Some("ItemLedgerEntries".to_owned()),
            item_ledger_web_service_descending: true,
            reservation_web_service: None,
            item_units_web_service: None,
            action_names_ignore_case: true,
            email_filter: EmailFilter::default(),
            duplicate_key_status: DuplicateKeyStatus::default(),
            posting_change_type: PostingChangeType::default(),
        }
    }
}

impl BcBehaviour {
    /// Whether the series takes manual numbers (see [`BcBehaviour::manual_nos`]).
    pub(crate) fn manual_allowed(&self, series: &str, master_data: bool) -> bool {
        self.manual_nos.get(series).copied().unwrap_or(master_data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_open_answers_parse_from_their_names_and_print_them() {
        for filter in EmailFilter::ALL {
            assert_eq!(filter.to_string().parse(), Ok(filter));
        }
        for status in DuplicateKeyStatus::ALL {
            assert_eq!(status.to_string().parse(), Ok(status));
        }
        for kind in PostingChangeType::ALL {
            assert_eq!(kind.to_string().parse(), Ok(kind));
        }
        assert_eq!(
            " Case_Insensitive ".parse(),
            Ok(EmailFilter::CaseInsensitive)
        );
        assert_eq!(DuplicateKeyStatus::Conflict.status(), 409);
        let wrong = "412".parse::<DuplicateKeyStatus>().unwrap_err();
        assert_eq!(
            wrong.to_string(),
            "`412` is not a value of duplicate_key_status: use 400 or 409"
        );
    }

    #[test]
    fn the_defaults_are_what_the_simulator_did_before_the_settings() {
        let b = BcBehaviour::default();
        assert_eq!(b.email_filter, EmailFilter::CaseSensitive);
        assert_eq!(b.duplicate_key_status.status(), 400);
        assert_eq!(b.posting_change_type, PostingChangeType::Updated);
    }
}
