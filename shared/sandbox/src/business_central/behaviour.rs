//! What the simulated tenant is set up with and how it answers where BC's docs leave a
//! choice: the codes its related tables hold (a new company's, more on request), which
//! number series take manual numbers, and whether a 429 carries `Retry-After`. Every such
//! knob is here, with its default and its source.

use std::collections::{BTreeMap, BTreeSet};

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
}

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
        }
    }
}

impl BcBehaviour {
    /// Whether the series takes manual numbers (see [`BcBehaviour::manual_nos`]).
    pub(crate) fn manual_allowed(&self, series: &str, master_data: bool) -> bool {
        self.manual_nos.get(series).copied().unwrap_or(master_data)
    }
}
