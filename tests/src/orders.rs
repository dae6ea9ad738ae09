//! The orders flow's world for scenario tests: a Lightspeed account with shops in three
//! time zones and the Dutch and Québec taxes of ORDERS-STOCK §9, a Business Central company
//! with the matching VAT setup, walk-in customers, locations and G/L accounts, and the
//! orders flow on an embedded home of its own (several homes may share one pair of
//! simulators: a wiped state store is a new home).

use std::collections::BTreeMap;
use std::sync::Arc;

use lsbc_cli::sandboxes::{SandboxOptions, Sandboxes};
use lsbc_core::ports::{ActivityEntry, ActivityLog, ActivityQuery, RecordState, StateStore};
use lsbc_core::{Flow, RecordKey};
use lsbc_sandbox::business_central::{
    BcBehaviour, BusinessCentralSandboxConfig, ClientIds, CustomerVat, GlAccount, VatPostingSetup,
    VatRounding, VatSetup,
};
use lsbc_sandbox::lightspeed::{
    Behaviour, Dataset, EmployeeSeed, ItemSeed, LightspeedSandboxConfig, PaymentTypeSeed,
    RegisterSeed, SaleLineSeed, SalePaymentSeed, SaleSeed, ShopSeed, StockSeed, TaxCategorySeed,
    TaxClassRateSeed, TaxClassSeed,
};
use serde_json::{Value, json};

use crate::pipeline::{EmbeddedHome, Home, Setup, SinkWrapper};

/// Amsterdam: NL VAT, prices include it; walk-ins to `C-POS` (prices including VAT).
pub const AMS: u64 = 1;
/// Montréal: GST 5 % + QST 9.975 % on top; walk-ins to `C-MTL`.
pub const MTL: u64 = 2;
/// New York (`US/Eastern`), with Amsterdam's tax category: the time-zone cases.
pub const NYC: u64 = 3;
/// Utrecht: NL VAT like Amsterdam, but walk-ins to `C-NET` (prices excluding VAT).
pub const UTR: u64 = 4;
/// The reduced-rate tax class (9 %).
pub const REDUCED: u64 = 2;
/// Payment types.
pub const CASH: u64 = 1;
/// A card.
pub const CARD: u64 = 2;
/// The rounding G/L account.
pub const ROUNDING: &str = "8000";
/// The G/L account of lines without an item.
pub const FEES: &str = "8100";

/// Lightspeed items: (id, SKU, price in cents, tax class). `X` exists in Lightspeed only
/// until a test adds it to Business Central.
pub const ITEMS: [(u64, &str, i64, u64); 9] = [
    (10, "A", 1210, 1),
    (11, "B", 545, REDUCED),
    (12, "C", 2000, 1),
    (13, "D", 3500, 1),
    (14, "E", 10_000, 1),
    (16, "G", 999, 1),
    (17, "H", 2000, 1),
    (18, "K", 1010, 1),
    (19, "X", 1500, 1),
];

fn dataset() -> Dataset {
    let shop = |id: u64, name: &str, tz: &str, category: u64| ShopSeed {
        id: Some(id),
        name: name.into(),
        time_zone: tz.into(),
        tax_category_id: Some(category),
        ..ShopSeed::default()
    };
    Dataset {
        tax_classes: vec![
            TaxClassSeed {
                id: Some(1),
                name: "Item".into(),
            },
            TaxClassSeed {
                id: Some(REDUCED),
                name: "Reduced".into(),
            },
        ],
        tax_categories: vec![
            TaxCategorySeed {
                id: Some(1),
                tax1_name: "BTW".into(),
                tax1_ppm: 210_000,
                inclusive: true,
                classes: vec![TaxClassRateSeed {
                    tax_class_id: REDUCED,
                    tax1_ppm: 90_000,
                    tax2_ppm: 0,
                }],
                ..TaxCategorySeed::default()
            },
            TaxCategorySeed {
                id: Some(2),
                tax1_name: "GST".into(),
                tax2_name: "QST".into(),
                tax1_ppm: 50_000,
                tax2_ppm: 99_750,
                ..TaxCategorySeed::default()
            },
        ],
        shops: vec![
            shop(AMS, "Amsterdam", "Europe/Amsterdam", 1),
            shop(MTL, "Montréal", "Canada/Eastern", 2),
            shop(NYC, "New York", "US/Eastern", 1),
            shop(UTR, "Utrecht", "Europe/Amsterdam", 1),
        ],
        registers: [AMS, MTL, NYC, UTR]
            .iter()
            .map(|s| RegisterSeed {
                id: Some(*s),
                name: format!("Register {s}"),
                shop_id: *s,
                tip_enabled: false,
            })
            .collect(),
        employees: vec![EmployeeSeed {
            id: Some(1),
            first_name: "Alex".into(),
            last_name: "Lugo".into(),
            archived: false,
        }],
        payment_types: vec![
            PaymentTypeSeed {
                id: Some(CASH),
                name: "Cash".into(),
                kind: "cash".into(),
                archived: false,
            },
            PaymentTypeSeed {
                id: Some(CARD),
                name: "Credit Card".into(),
                kind: "credit card".into(),
                archived: false,
            },
        ],
        items: ITEMS
            .iter()
            .map(|(id, sku, price, class)| ItemSeed {
                id: Some(*id),
                description: format!("Item {sku}"),
                custom_sku: (*sku).into(),
                price_cents: *price,
                cost_cents: price / 2,
                tax: true,
                tax_class_id: Some(*class),
                stock: [AMS, MTL, NYC, UTR]
                    .iter()
                    .map(|s| StockSeed {
                        shop_id: *s,
                        qoh: 50,
                    })
                    .collect(),
                ..ItemSeed::default()
            })
            .collect(),
        ..Dataset::default()
    }
}

fn business_central() -> BusinessCentralSandboxConfig {
    let customer = |incl: bool| CustomerVat {
        business_group: "DOMESTIC".into(),
        prices_including_vat: incl,
    };
    BusinessCentralSandboxConfig {
        lcy: "EUR".into(),
        client_ids: ClientIds::all(SandboxOptions::default().business_central_ids),
        vat: VatSetup {
            posting_setup: vec![
                VatPostingSetup::new("DOMESTIC", "STANDARD", 21.0),
                VatPostingSetup::new("DOMESTIC", "REDUCED", 9.0),
                VatPostingSetup::new("DOMESTIC", "CAQC", 14.975),
            ],
            customers: BTreeMap::from([
                ("C-POS".to_owned(), customer(true)),
                ("C-NET".to_owned(), customer(false)),
                ("C-MTL".to_owned(), customer(false)),
            ]),
            default_business_group: "DOMESTIC".into(),
            default_prices_including_vat: false,
            rounding: VatRounding::Nearest,
        },
        behaviour: BcBehaviour {
            gl_accounts: BTreeMap::from([
                (ROUNDING.to_owned(), GlAccount::new("Invoice rounding", "")),
                (FEES.to_owned(), GlAccount::new("Fees", "STANDARD")),
            ]),
            ..BcBehaviour::default()
        },
        ..BusinessCentralSandboxConfig::default()
    }
}

/// The simulators, loaded with the world above; every item but `X` in Business Central.
pub async fn world() -> Arc<Sandboxes> {
    world_with(Behaviour::default()).await
}

/// [`world`], with Lightspeed answering as `behaviour` says where its docs leave a choice.
pub async fn world_with(behaviour: Behaviour) -> Arc<Sandboxes> {
    world_metered(behaviour, false).await
}

/// [`world_with`], with Lightspeed's leaky bucket on when `metered` (its costs counted).
pub async fn world_metered(behaviour: Behaviour, metered: bool) -> Arc<Sandboxes> {
    world_at(behaviour, metered, None, business_central()).await
}

/// [`world`] with Lightspeed's clock at the real time, as a real account's is (the stock
/// flow compares Lightspeed's times with the orders flow's polls).
pub async fn world_now() -> Arc<Sandboxes> {
    world_now_tuned(|_| {}).await
}

/// [`world_now`] with Lightspeed answering as `behaviour` says where its docs leave a choice.
pub async fn world_now_behaving(behaviour: Behaviour) -> Arc<Sandboxes> {
    world_at(
        behaviour,
        false,
        Some(jiff::Timestamp::now()),
        business_central(),
    )
    .await
}

/// [`world_now`] with Business Central's setup changed by `tweak` (e.g. a shorter webhook
/// delay).
pub async fn world_now_tuned(
    tweak: impl FnOnce(&mut BusinessCentralSandboxConfig),
) -> Arc<Sandboxes> {
    let mut bc = business_central();
    tweak(&mut bc);
    world_at(
        Behaviour::default(),
        false,
        Some(jiff::Timestamp::now()),
        bc,
    )
    .await
}

async fn world_at(
    behaviour: Behaviour,
    metered: bool,
    epoch: Option<jiff::Timestamp>,
    bc: BusinessCentralSandboxConfig,
) -> Arc<Sandboxes> {
    let defaults = LightspeedSandboxConfig::default();
    let s = Sandboxes::start_with(
        LightspeedSandboxConfig {
            rate_limit: metered,
            burst_limit: Some(lsbc_cli::sandboxes::LIGHTSPEED_BURST_LIMIT),
            behaviour,
            epoch: epoch.unwrap_or(defaults.epoch),
            ..defaults
        },
        bc,
    )
    .await
    .expect("simulators");
    s.lightspeed.load(&dataset()).expect("Lightspeed data");
    let bc = &s.business_central;
    for (number, name) in [
        ("C-POS", "Walk-in customers"),
        ("C-NET", "Walk-in customers (net prices)"),
        ("C-MTL", "Walk-in customers Montréal"),
    ] {
        bc.add_customer(json!({"number": number, "displayName": name}))
            .expect("customer");
    }
    for code in ["AMS", "MTL", "NYC", "UTR"] {
        bc.add_location(json!({"code": code, "displayName": code}))
            .expect("location");
    }
    for (_, sku, _, _) in ITEMS.iter().filter(|i| i.1 != "X") {
        add_bc_item(&s, sku);
    }
    Arc::new(s)
}

/// Adds item `sku` to Business Central as the products flow would have (its tax code from
/// the Lightspeed tax class; `G` and `H` are the Montréal items).
pub fn add_bc_item(s: &Sandboxes, sku: &str) {
    let (_, _, price, class) = ITEMS
        .iter()
        .find(|i| i.1 == sku)
        .copied()
        .expect("a known SKU");
    let tax = match (sku, class) {
        ("G" | "H" | "K", _) => "CAQC",
        (_, REDUCED) => "REDUCED",
        _ => "STANDARD",
    };
    s.business_central
        .add_item(json!({
            "number": sku, "displayName": format!("Item {sku}"),
            "unitPrice": price as f64 / 100.0, "taxGroupCode": tax,
        }))
        .expect("item");
}

/// The settings every orders home starts with, `extra` merged over them.
pub fn settings(extra: Value) -> Value {
    let mut base = json!({
        "default_customer_number": "C-POS",
        "shops_settings": {
            MTL.to_string(): {"default_customer_number": "C-MTL"},
            UTR.to_string(): {"default_customer_number": "C-NET"},
        },
        "locations": {
            AMS.to_string(): "AMS", MTL.to_string(): "MTL",
            NYC.to_string(): "NYC", UTR.to_string(): "UTR",
        },
        "rounding_account": ROUNDING,
        "fee_account": FEES,
    });
    if let (Value::Object(b), Value::Object(e)) = (&mut base, extra) {
        for (k, v) in e {
            b.insert(k, v);
        }
    }
    base
}

/// A line of item `item` (`ITEMS` id), `quantity` units at `cents`.
pub fn line(item: u64, quantity: i64, cents: i64) -> SaleLineSeed {
    SaleLineSeed {
        item_id: Some(item),
        quantity,
        unit_price_cents: cents,
        tax: true,
        ..SaleLineSeed::default()
    }
}

/// A payment of `cents` by `kind`.
pub fn payment(kind: u64, cents: i64) -> SalePaymentSeed {
    SalePaymentSeed {
        payment_type_id: kind,
        amount_cents: cents,
        ..SalePaymentSeed::default()
    }
}

/// A completed walk-in sale.
pub fn sale(
    id: u64,
    shop: u64,
    lines: Vec<SaleLineSeed>,
    payments: Vec<SalePaymentSeed>,
) -> SaleSeed {
    SaleSeed {
        id: Some(id),
        shop_id: shop,
        register_id: shop,
        employee_id: 1,
        completed: true,
        lines,
        payments,
        ..SaleSeed::default()
    }
}

/// The orders flow on an embedded home of its own (the pipeline's embedded home, with the
/// orders settings and, if given, a wrapped sink).
#[allow(missing_debug_implementations)] // holds the runner and stores
pub struct OrdersHome {
    /// The simulators (shared with other homes).
    pub s: Arc<Sandboxes>,
    home: EmbeddedHome,
}

impl OrdersHome {
    /// A fresh home on `s` with `settings`, the sink wrapped by `wrap` if given.
    pub async fn new(s: Arc<Sandboxes>, settings: Value, wrap: Option<SinkWrapper>) -> Self {
        let setup = Setup {
            wrap,
            settings: Some(settings),
            ..Setup::default()
        };
        let home = EmbeddedHome::new(&s, Flow::Orders, setup).await;
        Self { s, home }
    }

    /// Polls and handles everything until the queues are quiet.
    pub async fn sync(&self) {
        self.home.sync().await;
    }

    /// The state store.
    pub fn states(&self) -> &dyn StateStore {
        self.home.store()
    }

    /// The sale's state.
    pub async fn state(&self, sale: u64) -> Option<RecordState> {
        self.home
            .store()
            .get_state(
                Flow::Orders,
                &RecordKey::parse(sale.to_string()).expect("key"),
            )
            .await
            .expect("state")
    }

    /// The sale's activity, newest first.
    pub async fn activity(&self, sale: u64) -> Vec<ActivityEntry> {
        self.home
            .store()
            .query(&ActivityQuery {
                flow: Some(Flow::Orders),
                key: Some(RecordKey::parse(sale.to_string()).expect("key")),
                ..ActivityQuery::default()
            })
            .await
            .expect("activity")
    }

    /// The Business Central documents of `set` carrying sale `sale`'s reference.
    pub fn documents(&self, set: &str, sale: u64) -> Vec<Value> {
        let reference = format!("LS-{sale}");
        self.s
            .business_central
            .records(set)
            .into_iter()
            .filter(|d| d["externalDocumentNumber"] == reference.as_str())
            .collect()
    }

    /// The lines of document `id` in `set`.
    pub fn lines(&self, set: &str, id: &Value) -> Vec<Value> {
        let mut lines: Vec<Value> = self
            .s
            .business_central
            .records(set)
            .into_iter()
            .filter(|l| &l["documentId"] == id)
            .collect();
        lines.sort_by_key(|l| l["sequence"].as_i64().unwrap_or(0));
        lines
    }
}
