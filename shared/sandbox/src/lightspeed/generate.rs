//! A deterministic generator of realistic Lightspeed data for tests and the demo: the same
//! seed and sizes give the same dataset. It produces the awkward cases a sync meets in real
//! shops (accented and over-long names, shared, missing and invalid e-mails, companies,
//! several customer types, matrices with colour/size variants, archived and non-inventory
//! items, categories with a path, images, shops in several time zones with their own sales
//! tax — tax-inclusive VAT at 21 % / 9 %, two taxes stacked on top, one sales tax — and every
//! shape of sale: discounts, refunds of earlier lines, exchanges, item fees, tips, gift cards
//! sold and spent, layaways and their pick-up, voids, open sales, archived payments, sales
//! on account and sales near local midnight). It returns seeds; it does no IO.

use jiff::{SignedDuration, Timestamp};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::money::{self, LineInput, Rates, SaleDiscount};
use super::seed::{
    AddressSeed, AttributeSet, CategorySeed, CustomFieldSeed, CustomerSeed, CustomerTypeSeed,
    Dataset, DiscountSeed, EcommerceSeed, EmailSeed, EmployeeSeed, ImageSeed, ItemSeed, LineOf,
    MatrixSeed, PaymentTypeSeed, PhoneSeed, RegisterSeed, SaleLineSeed, SalePaymentSeed, SaleSeed,
    ShipToSeed, ShopSeed, Sizes, StockSeed, TaxCategorySeed, TaxClassRateSeed, TaxClassSeed,
};

const FIRST_NAMES: &[&str] = &[
    "Zoë",
    "François",
    "Jürgen",
    "Søren",
    "Anaïs",
    "Björn",
    "Chloé",
    "José",
    "Małgorzata",
    "Ørjan",
    "Renée",
    "Noël",
    "Zoltán",
    "Inès",
    "Mia",
    "Liam",
    "Emma",
    "Lucas",
    "Sofía",
    "Ava",
    "Thijs",
    "Fleur",
    "Dāvis",
    "Åsa",
    "Ilse",
    "Hélène",
    "Mohammed",
    "Yuki",
    "Siobhán",
    "Óscar",
];
const LAST_NAMES: &[&str] = &[
    "Müller",
    "Ørsted",
    "Dubois",
    "García",
    "Nowak",
    "Łukasiewicz",
    "Smith",
    "O'Brien",
    "van der Berg",
    "Nguyễn",
    "Hernández",
    "Kowalski",
    "Jensen",
    "de Vries",
    "Janssen",
    "Lefèvre",
    "Schröder",
    "Åberg",
    "Peeters",
    "Núñez",
    "Brontë",
    "MacLeod",
    "Dvořák",
    "Çelik",
    "Bakker",
];
const COMPANIES: &[&str] = &[
    "Café Olé BV",
    "Müller & Söhne GmbH",
    "Ørsted Design ApS",
    "Brasserie Zoë",
    "Fietsenwinkel De Spaak",
    "Łódź Textiles Sp. z o.o.",
    "Atelier François SARL",
    "Nordic Outdoor AB",
];
const CITIES: &[(&str, &str, &str, &str)] = &[
    ("Amsterdam", "Noord-Holland", "Netherlands", "NL"),
    ("Antwerpen", "Antwerpen", "Belgium", "BE"),
    ("Montréal", "Québec", "Canada", "CA"),
    ("København", "Hovedstaden", "Denmark", "DK"),
    ("München", "Bayern", "Germany", "DE"),
    ("New York", "New York", "United States", "US"),
];
/// Shops with their zone and sales tax: `(name, zone, tax1, tax2, reduced class rate,
/// inclusive)`, rates in ppm. The first two are the tax-inclusive Dutch VAT (21 % / 9 %)
/// and Québec's GST + QST stacked on top, so even a small dataset has both.
const SHOPS: &[(&str, &str, i64, i64, i64, bool)] = &[
    (
        "Amsterdam Centrum",
        "Europe/Amsterdam",
        210_000,
        0,
        90_000,
        true,
    ),
    (
        "Montréal Plateau",
        "America/Montreal",
        50_000,
        99_750,
        -1,
        false,
    ),
    ("New York SoHo", "US/Eastern", 88_750, 0, -1, false),
    (
        "Antwerpen Meir",
        "Europe/Brussels",
        210_000,
        0,
        60_000,
        true,
    ),
    (
        "København Strøget",
        "Europe/Copenhagen",
        250_000,
        0,
        -1,
        true,
    ),
];
/// The tax class of reduced-rate items (books, food) beside the default class 1.
const REDUCED_CLASS: u64 = 2;
const TOP_CATEGORIES: &[&str] = &["Clothing", "Footwear", "Accessories", "Home & Garden"];
const SUB_CATEGORIES: &[&str] = &[
    "T-Shirts", "Jeans", "Sneakers", "Boots", "Bags", "Hats", "Candles", "Ceramics", "Socks",
    "Jackets", "Belts", "Plants",
];
const PRODUCTS: &[&str] = &[
    "Crème Candle",
    "Linen Tote",
    "Wool Beanie",
    "Leather Belt",
    "Espresso Cup",
    "Canvas Sneaker",
    "Cotton Socks",
    "Rain Jacket",
    "Glass Vase",
    "Bamboo Toothbrush",
    "Café Apron",
    "Mug «Zoë»",
];
const MATRIX_NAMES: &[&str] = &["T-Shirt", "Hoodie", "Chino", "Polo", "Sneaker", "Dress"];
const COLOURS: &[&str] = &["Black", "White", "Navy", "Bordeaux", "Groen"];
const SIZES: &[&str] = &["XS", "S", "M", "L", "XL"];

fn pick<'a>(rng: &mut ChaCha8Rng, items: &'a [&'a str]) -> &'a str {
    items.choose(rng).copied().unwrap_or("")
}

fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        let mapped = match c {
            'à' | 'á' | 'â' | 'ä' | 'å' | 'ā' | 'Å' => 'a',
            'ç' | 'Ç' => 'c',
            'è' | 'é' | 'ê' | 'ë' | 'ễ' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ñ' => 'n',
            'ò' | 'ó' | 'ô' | 'ö' | 'ø' | 'Ø' | 'Ó' => 'o',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            'ł' | 'Ł' => 'l',
            'ř' => 'r',
            c if c.is_ascii_alphanumeric() => c.to_ascii_lowercase(),
            _ => continue,
        };
        out.push(mapped);
    }
    if out.is_empty() { "x".to_owned() } else { out }
}

/// The anchor of [`generate`]: the simulator's default start of API time (2026-01-01).
const DEFAULT_ANCHOR: i64 = 1_767_225_600;

/// Generates a dataset, dated before 2026-01-01 (the simulator's default start). The same
/// seed and sizes always give the same dataset.
pub fn generate(seed: u64, sizes: Sizes) -> Dataset {
    generate_at(
        seed,
        sizes,
        Timestamp::from_second(DEFAULT_ANCHOR).unwrap_or(Timestamp::UNIX_EPOCH),
    )
}

/// Generates a dataset anchored at `now`: records are dated in the two years before it, and
/// about a third of each kind share one `timeStamp` (a bulk import), which is what breaks
/// naive `>` cursors.
pub fn generate_at(seed: u64, sizes: Sizes, now: Timestamp) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut data = Dataset::default();
    let now = Timestamp::from_second(now.as_second()).unwrap_or(now);
    let bulk = now
        .checked_sub(SignedDuration::from_hours(24 * 30))
        .unwrap_or(now);
    let when = |rng: &mut ChaCha8Rng| -> Timestamp {
        if rng.random_bool(0.35) {
            bulk
        } else {
            let back = rng.random_range(0..(2 * 365 * 86_400_i64));
            now.checked_sub(SignedDuration::from_secs(back))
                .unwrap_or(now)
        }
    };

    data.tax_classes = vec![
        TaxClassSeed {
            id: Some(1),
            name: "Item".into(),
        },
        TaxClassSeed {
            id: Some(REDUCED_CLASS),
            name: "Reduced".into(),
        },
    ];
    for (n, (name, tz, tax1, tax2, reduced, inclusive)) in
        SHOPS.iter().take(sizes.shops.max(1)).enumerate()
    {
        let id = n as u64 + 1;
        data.tax_categories.push(TaxCategorySeed {
            id: Some(id),
            tax1_name: if *inclusive { "VAT" } else { "Tax 1" }.into(),
            tax2_name: if *tax2 > 0 { "Tax 2" } else { "" }.into(),
            tax1_ppm: *tax1,
            tax2_ppm: *tax2,
            inclusive: *inclusive,
            classes: (*reduced >= 0)
                .then_some(TaxClassRateSeed {
                    tax_class_id: REDUCED_CLASS,
                    tax1_ppm: *reduced,
                    tax2_ppm: 0,
                })
                .into_iter()
                .collect(),
        });
        data.shops.push(ShopSeed {
            id: Some(id),
            name: (*name).to_owned(),
            time_zone: (*tz).to_owned(),
            tax_category_id: Some(id),
            ..ShopSeed::default()
        });
        data.registers.push(RegisterSeed {
            id: Some(id),
            name: format!("{name} 1"),
            shop_id: id,
            tip_enabled: !inclusive,
        });
    }
    for (n, (first, last)) in [("Alex", "Lugo"), ("Sanne", "Bakker"), ("Marc", "Tremblay")]
        .iter()
        .enumerate()
    {
        data.employees.push(EmployeeSeed {
            id: Some(n as u64 + 1),
            first_name: (*first).to_owned(),
            last_name: (*last).to_owned(),
            archived: false,
        });
    }
    data.discounts = vec![
        DiscountSeed {
            id: Some(1),
            name: "10 Percent".into(),
            percent_ppm: 100_000,
            ..DiscountSeed::default()
        },
        DiscountSeed {
            id: Some(2),
            name: "Staff 20%".into(),
            percent_ppm: 200_000,
            require_customer: true,
            ..DiscountSeed::default()
        },
        DiscountSeed {
            id: Some(3),
            name: "5 Off".into(),
            amount_cents: 500,
            ..DiscountSeed::default()
        },
    ];
    let shop_ids: Vec<u64> = data.shops.iter().filter_map(|s| s.id).collect();

    for (n, (name, kind)) in [
        ("Cash", "cash"),
        ("Credit Card", "credit card"),
        ("Gift Card", "gift card"),
        ("Debit Card", "credit card"),
        ("Store Credit", "credit account"),
    ]
    .iter()
    .enumerate()
    {
        data.payment_types.push(PaymentTypeSeed {
            id: Some(n as u64 + 1),
            name: (*name).to_owned(),
            kind: (*kind).to_owned(),
            archived: false,
        });
    }

    for (n, name) in ["Retail", "Wholesale", "VIP", "Staff"].iter().enumerate() {
        data.customer_types.push(CustomerTypeSeed {
            id: Some(n as u64 + 1),
            name: (*name).to_owned(),
        });
    }

    // Categories: top levels first, then children with a "/"-path.
    let mut category_ids = Vec::new();
    for n in 0..sizes.categories {
        let id = n as u64 + 1;
        if n < TOP_CATEGORIES.len() {
            data.categories.push(CategorySeed {
                id: Some(id),
                name: TOP_CATEGORIES[n].to_owned(),
                parent_id: None,
                time_stamp: Some(when(&mut rng)),
            });
        } else {
            let parent = rng.random_range(1..=TOP_CATEGORIES.len().min(n) as u64);
            let name = SUB_CATEGORIES[(n - TOP_CATEGORIES.len()) % SUB_CATEGORIES.len()];
            data.categories.push(CategorySeed {
                id: Some(id),
                name: if n >= TOP_CATEGORIES.len() + SUB_CATEGORIES.len() {
                    format!("{name} {n}")
                } else {
                    name.to_owned()
                },
                parent_id: Some(parent),
                time_stamp: Some(when(&mut rng)),
            });
        }
        category_ids.push(id);
    }

    // Customers.
    let mut emails_so_far: Vec<String> = Vec::new();
    for n in 0..sizes.customers {
        let id = n as u64 + 1;
        let first = pick(&mut rng, FIRST_NAMES).to_owned();
        let last = pick(&mut rng, LAST_NAMES).to_owned();
        let roll: f64 = rng.random();
        let (first, last) = if roll < 0.03 {
            // Over-long: longer than BC's 100-character customer name together.
            (
                format!("{first} Maximiliana Philippa Anastasia Konstantina"),
                format!("{last}-Hohenzollern-Sigmaringen-Wittelsbach-Oldenburg"),
            )
        } else {
            (first, last)
        };
        let company = if rng.random_bool(0.2) {
            pick(&mut rng, COMPANIES).to_owned()
        } else {
            String::new()
        };
        let email_roll: f64 = rng.random();
        let emails = if email_roll < 0.10 {
            vec![]
        } else if email_roll < 0.14 {
            let bad = [
                "jan.jansen@",
                "no-at-sign.example.com",
                "a@b",
                "zoë@@example.com",
            ];
            vec![EmailSeed {
                address: pick(&mut rng, &bad).to_owned(),
                use_type: "Primary".into(),
            }]
        } else if email_roll < 0.20 && !emails_so_far.is_empty() {
            // A household or a shared company inbox: the same address on two customers.
            let shared = emails_so_far[rng.random_range(0..emails_so_far.len())].clone();
            vec![EmailSeed {
                address: shared,
                use_type: "Primary".into(),
            }]
        } else {
            let address = format!("{}.{}{}@example.com", slug(&first), slug(&last), id);
            emails_so_far.push(address.clone());
            let mut found = vec![EmailSeed {
                address,
                use_type: "Primary".into(),
            }];
            if rng.random_bool(0.1) {
                found.push(EmailSeed {
                    address: format!("{}{id}@work.example.org", slug(&last)),
                    use_type: "Secondary".into(),
                });
            }
            found
        };
        let (city, state, country, code) = CITIES[rng.random_range(0..CITIES.len())];
        let phones = (0..rng.random_range(0..3))
            .map(|k| PhoneSeed {
                number: format!("+31 6 {:04} {:04}", id % 10_000, (id * 7 + k) % 10_000),
                use_type: ["Mobile", "Home", "Work"][k as usize % 3].to_owned(),
            })
            .collect();
        let ts = when(&mut rng);
        data.customers.push(CustomerSeed {
            id: Some(id),
            first_name: first,
            last_name: last,
            title: String::new(),
            company,
            vat_number: String::new(),
            customer_type_id: *[1, 1, 1, 2, 3, 4].choose(&mut rng).unwrap_or(&1),
            dob: rng.random_bool(0.3).then(|| {
                format!(
                    "19{:02}-{:02}-{:02}",
                    rng.random_range(50..99),
                    rng.random_range(1..13),
                    rng.random_range(1..29)
                )
            }),
            no_email: emails.is_empty() && rng.random_bool(0.5),
            emails,
            phones,
            addresses: vec![AddressSeed {
                address1: format!("{} Hoofdstraat", rng.random_range(1..300)),
                address2: String::new(),
                city: city.into(),
                state: state.into(),
                state_code: String::new(),
                zip: format!("{:04} AB", rng.random_range(1000..9999)),
                country: country.into(),
                country_code: code.into(),
            }],
            websites: vec![],
            custom_fields: if rng.random_bool(0.2) {
                vec![CustomFieldSeed {
                    name: "Loyalty number".into(),
                    kind: "string".into(),
                    value: format!("L{:06}", id * 13),
                }]
            } else {
                vec![]
            },
            archived: rng.random_bool(0.04),
            create_time: Some(ts),
            time_stamp: Some(ts),
        });
    }

    // Matrices and their variants.
    let mut item_id = 0u64;
    let mut inventory_items: Vec<(u64, i64)> = Vec::new();
    let stock_for = |rng: &mut ChaCha8Rng| -> Vec<StockSeed> {
        shop_ids
            .iter()
            .map(|shop| StockSeed {
                shop_id: *shop,
                qoh: rng.random_range(-2..60),
            })
            .collect()
    };
    for n in 0..sizes.matrices {
        let id = n as u64 + 1;
        let set = [
            AttributeSet::ColorSize,
            AttributeSet::Size,
            AttributeSet::Color,
        ][n % 3];
        let colours: Vec<String> = COLOURS
            .iter()
            .take(rng.random_range(1..=3))
            .map(|c| (*c).to_owned())
            .collect();
        let sizes_list: Vec<String> = SIZES
            .iter()
            .skip(rng.random_range(0..2))
            .take(rng.random_range(2..=4))
            .map(|c| (*c).to_owned())
            .collect();
        let (a1, a2) = match set {
            AttributeSet::ColorSize => (colours.clone(), sizes_list.clone()),
            AttributeSet::Size => (vec![], sizes_list.clone()),
            AttributeSet::Color => (colours.clone(), vec![]),
        };
        let base = MATRIX_NAMES[n % MATRIX_NAMES.len()];
        let description = if n >= MATRIX_NAMES.len() {
            format!("{base} {n}")
        } else {
            base.to_owned()
        };
        let price = rng.random_range(15..120) * 100 - 1;
        let ts = when(&mut rng);
        let category = category_ids.choose(&mut rng).copied();
        data.matrices.push(MatrixSeed {
            id: Some(id),
            description: description.clone(),
            attribute_set: set,
            category_id: category,
            price_cents: price,
            cost_cents: price * 2 / 5,
            attribute1_values: a1.clone(),
            attribute2_values: a2.clone(),
            archived: false,
            ecommerce: Some(EcommerceSeed {
                short_description: format!("<p>Our <strong>{base}</strong>, in every size</p>"),
                long_description: format!(
                    "<p>The {base} of the house collection.</p><ul><li>Machine washable</li></ul>"
                ),
                weight: "0.4".into(),
                list_on_store: true,
            }),
            time_stamp: Some(ts),
        });
        let a1 = if a1.is_empty() {
            vec![String::new()]
        } else {
            a1
        };
        let a2 = if a2.is_empty() {
            vec![String::new()]
        } else {
            a2
        };
        for c in &a1 {
            for s in &a2 {
                item_id += 1;
                let label = [c.as_str(), s.as_str()]
                    .iter()
                    .filter(|t| !t.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" ");
                let stock = stock_for(&mut rng);
                inventory_items.push((item_id, price));
                data.items.push(ItemSeed {
                    id: Some(item_id),
                    description: format!("{description} {label}"),
                    custom_sku: format!(
                        "{}-{}-{}",
                        slug(&description).to_uppercase(),
                        slug(c).to_uppercase(),
                        s
                    ),
                    item_type: "default".into(),
                    category_id: category,
                    matrix_id: Some(id),
                    attributes: vec![c.clone(), s.clone()],
                    price_cents: price,
                    msrp_cents: price,
                    cost_cents: price * 2 / 5,
                    tax: true,
                    stock,
                    create_time: Some(ts),
                    time_stamp: Some(ts),
                    ..ItemSeed::default()
                });
            }
        }
    }

    // Standalone items.
    for n in 0..sizes.items {
        item_id += 1;
        let non_inventory = rng.random_bool(0.06);
        let archived = !non_inventory && rng.random_bool(0.06);
        let name = PRODUCTS[n % PRODUCTS.len()];
        let description = if non_inventory {
            ["Gift wrapping", "Alteration service", "Gift card top-up"][n % 3].to_owned()
        } else if n >= PRODUCTS.len() {
            format!("{name} #{n}")
        } else {
            name.to_owned()
        };
        let price = rng.random_range(2..250) * 100 + [0, 50, 95, 99][n % 4];
        let ts = when(&mut rng);
        let stock = if non_inventory {
            vec![]
        } else {
            stock_for(&mut rng)
        };
        if !non_inventory && !archived {
            inventory_items.push((item_id, price));
        }
        let upc = if rng.random_bool(0.5) {
            format!(
                "{:012}",
                rng.random_range(100_000_000_000_u64..999_999_999_999)
            )
        } else {
            String::new()
        };
        // Every fourth stocked item is also sold online, with web-store texts.
        let ecommerce = (!non_inventory && n % 4 == 1).then(|| EcommerceSeed {
            short_description: format!("<p>{name}, <em>made to last</em></p>"),
            long_description: format!("<p>{name}.</p><p>Care: see label.</p>"),
            weight: "0.25".into(),
            list_on_store: true,
        });
        data.items.push(ItemSeed {
            id: Some(item_id),
            description,
            custom_sku: format!("SKU-{item_id:05}"),
            manufacturer_sku: if rng.random_bool(0.3) {
                format!("MFR{}", rng.random_range(1000..9999))
            } else {
                String::new()
            },
            upc,
            ean: String::new(),
            item_type: if non_inventory {
                "non_inventory"
            } else {
                "default"
            }
            .into(),
            category_id: category_ids.choose(&mut rng).copied(),
            matrix_id: None,
            attributes: vec![],
            price_cents: price,
            msrp_cents: price + 500,
            cost_cents: price / 2,
            tax: !non_inventory,
            tax_class_id: (n % 5 == 2).then_some(REDUCED_CLASS),
            archived,
            stock,
            images: if rng.random_bool(0.3) {
                vec![ImageSeed {
                    description: description_for_image(name),
                    filename: format!("{}.jpg", slug(name)),
                    public_id: format!("lsbc{:08x}", rng.random::<u32>()),
                }]
            } else {
                vec![]
            },
            custom_fields: vec![],
            ecommerce,
            create_time: Some(ts),
            time_stamp: Some(ts),
        });
    }

    // Sales.
    let customer_ids: Vec<u64> = data
        .customers
        .iter()
        .filter(|c| !c.archived)
        .filter_map(|c| c.id)
        .collect();
    let reduced: std::collections::BTreeSet<u64> = data
        .items
        .iter()
        .filter(|i| i.tax_class_id == Some(REDUCED_CLASS))
        .filter_map(|i| i.id)
        .collect();
    let mut sales = SaleMaker {
        data: &mut data,
        reduced,
        sold: Vec::new(),
        layaways: Vec::new(),
    };
    for n in 0..sizes.sales {
        if inventory_items.is_empty() {
            break;
        }
        let shape = SHAPES.get(n).copied().unwrap_or_else(|| {
            let roll: f64 = rng.random();
            WEIGHTED
                .iter()
                .find(|(_, upto)| roll < *upto)
                .map_or(Shape::Plain, |(s, _)| *s)
        });
        let customer = if rng.random_bool(0.7) && !customer_ids.is_empty() {
            Some(customer_ids[rng.random_range(0..customer_ids.len())])
        } else {
            None
        };
        let ts = when(&mut rng);
        let mut sale = sales.make(
            n as u64 + 1,
            shape,
            customer,
            ts,
            &inventory_items,
            &mut rng,
        );
        sale.ship_to = (customer.is_some() && rng.random_bool(0.1)).then(|| {
            let (city, state, country, code) = CITIES[rng.random_range(0..CITIES.len())];
            ShipToSeed {
                first_name: pick(&mut rng, FIRST_NAMES).to_owned(),
                last_name: pick(&mut rng, LAST_NAMES).to_owned(),
                company: String::new(),
                address: AddressSeed {
                    address1: "12 Kade".into(),
                    city: city.into(),
                    state: state.into(),
                    country: country.into(),
                    country_code: code.into(),
                    ..AddressSeed::default()
                },
                phone: "+31 20 555 0101".into(),
            }
        });
        sales.data.sales.push(sale);
    }
    data
}

/// The kinds of sale a shop rings up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Plain,
    /// A line discount and a sale-wide discount.
    Discounted,
    /// A refund of an earlier sale's line (`parentSaleLineID`).
    Refund,
    /// A refund and a new item on one sale.
    Exchange,
    /// An item and an item-fee line.
    ItemFee,
    /// A card payment with a tip inside.
    Tip,
    /// A gift card sold (total 0, cash in, gift card credited).
    GiftCardSold,
    /// A gift card spent beside a card.
    GiftCardSpent,
    /// A layaway with a deposit to the customer's account.
    Layaway,
    /// The pick-up of an earlier layaway, paid with the deposit and a card.
    LayawayPickup,
    /// Completed, then voided minutes later.
    Voided,
    /// Still open: no payments, no completion.
    Open,
    /// A declined card payment left archived, then cash.
    ArchivedPayment,
    /// Charged to the customer's credit account.
    OnAccount,
    /// Completed at 23:30 shop time (the next day in UTC west of Greenwich).
    NearMidnight,
}

/// Every shape once, first, so even a small dataset has them all.
const SHAPES: [Shape; 15] = [
    Shape::Plain,
    Shape::Discounted,
    Shape::Refund,
    Shape::Exchange,
    Shape::ItemFee,
    Shape::Tip,
    Shape::GiftCardSold,
    Shape::GiftCardSpent,
    Shape::Layaway,
    Shape::LayawayPickup,
    Shape::Voided,
    Shape::Open,
    Shape::ArchivedPayment,
    Shape::OnAccount,
    Shape::NearMidnight,
];

/// After the first of each: shapes by cumulative probability.
const WEIGHTED: [(Shape, f64); 9] = [
    (Shape::Plain, 0.55),
    (Shape::Discounted, 0.65),
    (Shape::Refund, 0.72),
    (Shape::Exchange, 0.75),
    (Shape::Voided, 0.82),
    (Shape::Open, 0.88),
    (Shape::Tip, 0.93),
    (Shape::GiftCardSpent, 0.97),
    (Shape::ItemFee, 1.0),
];

const CASH: u64 = 1;
const CARD: u64 = 2;
const GIFT_CARD: u64 = 3;
const DEBIT: u64 = 4;
const ACCOUNT: u64 = 5;

/// Builds sales one after the other, remembering what later sales refer to.
struct SaleMaker<'a> {
    data: &'a mut Dataset,
    reduced: std::collections::BTreeSet<u64>,
    /// Lines sold so far that may be refunded: (sale, line, item, units left, price, shop).
    sold: Vec<(u64, usize, u64, i64, i64, u64)>,
    /// Layaways not picked up: (sale, line, item, price, deposit, customer, shop).
    layaways: Vec<(u64, usize, u64, i64, i64, u64, u64)>,
}

impl SaleMaker<'_> {
    /// The total a sale's lines come to in its shop, as the store computes it.
    fn total(&self, shop: u64, lines: &[SaleLineSeed], discount: SaleDiscount) -> i64 {
        let (_, _, tax1, tax2, reduced, inclusive) =
            SHOPS[usize::try_from(shop - 1).unwrap_or(0) % SHOPS.len()];
        let inputs: Vec<LineInput> = lines
            .iter()
            .map(|l| {
                let cut = l.item_id.is_some_and(|i| self.reduced.contains(&i)) && reduced >= 0;
                LineInput {
                    quantity: l.quantity,
                    unit_price_cents: l.unit_price_cents,
                    discount_amount_cents: l.discount_amount_cents,
                    discount_percent_ppm: l.discount_percent_ppm,
                    rates: if !l.tax {
                        Rates::default()
                    } else if cut {
                        Rates {
                            tax1_ppm: reduced,
                            tax2_ppm: 0,
                        }
                    } else {
                        Rates {
                            tax1_ppm: tax1,
                            tax2_ppm: tax2,
                        }
                    },
                    counts: !l.layaway,
                }
            })
            .collect();
        i64::try_from(money::sale(&inputs, discount, inclusive).total).unwrap_or(0)
    }

    #[expect(
        clippy::too_many_lines,
        reason = "one arm per shape reads best side by side"
    )]
    fn make(
        &mut self,
        id: u64,
        shape: Shape,
        customer: Option<u64>,
        ts: Timestamp,
        items: &[(u64, i64)],
        rng: &mut ChaCha8Rng,
    ) -> SaleSeed {
        let shops = self.data.shops.len() as u64;
        let mut shop = rng.random_range(1..=shops);
        let line = |rng: &mut ChaCha8Rng| {
            let (item, price) = items[rng.random_range(0..items.len())];
            SaleLineSeed {
                item_id: Some(item),
                quantity: rng.random_range(1..=3),
                unit_price_cents: price,
                tax: true,
                ..SaleLineSeed::default()
            }
        };
        let mut lines: Vec<SaleLineSeed> =
            (0..rng.random_range(1..=4)).map(|_| line(rng)).collect();
        let mut discount = SaleDiscount::None;
        let mut seed = SaleSeed {
            id: Some(id),
            employee_id: rng.random_range(1..=3),
            customer_id: customer,
            completed: true,
            create_time: Some(ts),
            complete_time: Some(ts),
            time_stamp: Some(ts),
            ..SaleSeed::default()
        };
        match shape {
            // Their lines are plain; what sets them apart is paid for below.
            Shape::Plain
            | Shape::Voided
            | Shape::Open
            | Shape::NearMidnight
            | Shape::Tip
            | Shape::GiftCardSpent
            | Shape::ArchivedPayment
            | Shape::OnAccount => {}
            Shape::Discounted => {
                lines[0].discount_percent_ppm = 100_000;
                if rng.random_bool(0.5) {
                    seed.discount_id = Some(1);
                    discount = SaleDiscount::Percent(100_000);
                } else {
                    seed.discount_cents = 300;
                    discount = SaleDiscount::Amount(300);
                }
            }
            Shape::Refund | Shape::Exchange => {
                let open: Vec<usize> = (0..self.sold.len())
                    .filter(|n| self.sold[*n].3 > 0)
                    .collect();
                if let Some(&pick) = open.get(rng.random_range(0..open.len().max(1))) {
                    let (sale, at, item, left, price, from) = self.sold[pick];
                    let back = rng.random_range(1..=left);
                    self.sold[pick].3 -= back;
                    shop = from;
                    let refund = SaleLineSeed {
                        item_id: Some(item),
                        quantity: -back,
                        unit_price_cents: price,
                        tax: true,
                        refunds: Some(LineOf {
                            sale_id: sale,
                            line: at,
                        }),
                        ..SaleLineSeed::default()
                    };
                    lines = if shape == Shape::Refund {
                        vec![refund]
                    } else {
                        vec![refund, line(rng)]
                    };
                    seed.reference_number = format!("R{sale:06}");
                }
            }
            Shape::ItemFee => lines.push(SaleLineSeed {
                quantity: 1,
                unit_price_cents: 1050,
                tax: true,
                note: "Environmental Fee".into(),
                line_type: "item_fee".into(),
                item_fee_id: Some(1),
                ..SaleLineSeed::default()
            }),
            Shape::GiftCardSold => lines.clear(),
            Shape::Layaway => {
                lines.truncate(1);
                lines[0].quantity = 1;
                lines[0].layaway = true;
                seed.customer_id = seed.customer_id.or(Some(1));
            }
            Shape::LayawayPickup => {
                if let Some((sale, at, item, price, _, owner, from)) = self.layaways.pop() {
                    shop = from;
                    seed.customer_id = Some(owner);
                    lines = vec![SaleLineSeed {
                        item_id: Some(item),
                        quantity: 1,
                        unit_price_cents: price,
                        tax: true,
                        picks_up: Some(LineOf {
                            sale_id: sale,
                            line: at,
                        }),
                        ..SaleLineSeed::default()
                    }];
                }
            }
        }
        seed.shop_id = shop;
        seed.register_id = shop;
        let total = self.total(shop, &lines, discount);
        seed.payments = match shape {
            Shape::Open => {
                seed.completed = false;
                seed.complete_time = None;
                vec![]
            }
            Shape::Voided => {
                seed.voided = true;
                seed.void_time = ts.checked_add(SignedDuration::from_mins(20)).ok();
                seed.void_reason = "Rang up twice".into();
                payments(total, rng)
            }
            Shape::NearMidnight => {
                // 23:30 local in New York (UTC−5 in winter): 04:30 UTC the next day.
                shop = 3.min(shops);
                seed.shop_id = shop;
                seed.register_id = shop;
                let day = ts.as_second() - ts.as_second().rem_euclid(86_400);
                let at = Timestamp::from_second(day + 4 * 3600 + 1800).unwrap_or(ts);
                seed.create_time = Some(at);
                seed.complete_time = Some(at);
                seed.time_stamp = Some(at);
                let total = self.total(shop, &lines, discount);
                vec![pay(CARD, total)]
            }
            Shape::Tip => {
                let tip = 200 + 100 * rng.random_range(0..4);
                vec![SalePaymentSeed {
                    tip_cents: tip,
                    ..pay(CARD, total + tip)
                }]
            }
            Shape::GiftCardSold => {
                let value = 2500 * rng.random_range(1..=4);
                vec![
                    pay(CASH, value),
                    SalePaymentSeed {
                        credit_account_id: Some(id),
                        ..pay(GIFT_CARD, -value)
                    },
                ]
            }
            Shape::GiftCardSpent => {
                let gift = total / 2;
                vec![pay(GIFT_CARD, gift), pay(CARD, total - gift)]
            }
            Shape::ArchivedPayment => vec![
                SalePaymentSeed {
                    archived: true,
                    ..pay(CARD, total)
                },
                pay(CASH, total),
            ],
            Shape::OnAccount => {
                seed.customer_id = seed.customer_id.or(Some(1));
                vec![pay(ACCOUNT, total)]
            }
            Shape::Layaway => {
                let price = lines[0].unit_price_cents;
                let deposit = (price * 3 / 10).max(100);
                if let (Some(item), Some(owner)) = (lines[0].item_id, seed.customer_id) {
                    self.layaways
                        .push((id, 0, item, price, deposit, owner, shop));
                }
                vec![pay(CASH, deposit), pay(ACCOUNT, -deposit)]
            }
            Shape::LayawayPickup if lines.iter().any(|l| l.picks_up.is_some()) => {
                let deposit = (lines[0].unit_price_cents * 3 / 10).max(100);
                vec![pay(ACCOUNT, deposit), pay(CARD, total - deposit)]
            }
            _ if total < 0 => vec![pay(if rng.random_bool(0.5) { CASH } else { CARD }, total)],
            _ => payments(total, rng),
        };
        let keeps = seed.completed && !seed.voided;
        for (n, l) in lines.iter().enumerate() {
            if keeps
                && l.quantity > 0
                && !l.layaway
                && l.picks_up.is_none()
                && let Some(item) = l.item_id
            {
                self.sold
                    .push((id, n, item, l.quantity, l.unit_price_cents, shop));
            }
        }
        seed.lines = lines;
        seed
    }
}

/// Card, cash, debit or a split of cash and card.
fn payments(total: i64, rng: &mut ChaCha8Rng) -> Vec<SalePaymentSeed> {
    let split: f64 = rng.random();
    if split < 0.5 {
        vec![pay(CARD, total)]
    } else if split < 0.75 {
        vec![pay(CASH, total)]
    } else if split < 0.85 {
        vec![pay(DEBIT, total)]
    } else {
        let cash = total / 3;
        vec![pay(CASH, cash), pay(CARD, total - cash)]
    }
}

fn pay(kind: u64, cents: i64) -> SalePaymentSeed {
    SalePaymentSeed {
        payment_type_id: kind,
        amount_cents: cents,
        ..SalePaymentSeed::default()
    }
}

fn description_for_image(name: &str) -> String {
    format!("{name} — front")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-03-01T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn the_same_seed_gives_the_same_dataset() {
        let a = generate(7, Sizes::default());
        let b = generate(7, Sizes::default());
        assert_eq!(a, b);
        let c = generate(8, Sizes::default());
        assert_ne!(a, c);
        assert_eq!(
            generate_at(7, Sizes::default(), now()),
            generate_at(7, Sizes::default(), now())
        );
    }

    #[test]
    fn the_awkward_cases_are_there() {
        let d = generate_at(
            3,
            Sizes {
                customers: 300,
                items: 60,
                sales: 120,
                ..Sizes::default()
            },
            now(),
        );
        let all_names: String = d
            .customers
            .iter()
            .map(|c| format!("{} {}", c.first_name, c.last_name))
            .collect::<Vec<_>>()
            .join(" ");
        assert!(all_names.chars().any(|c| "ëçüøöéñłő".contains(c)));
        assert!(d.customers.iter().any(|c| c.emails.is_empty()));
        assert!(d.customers.iter().any(|c| {
            c.emails
                .iter()
                .any(|e| !e.address.contains('@') || e.address.ends_with('@'))
        }));
        let mut seen = std::collections::BTreeSet::new();
        assert!(
            d.customers
                .iter()
                .filter_map(|c| c.emails.first())
                .any(|e| !seen.insert(e.address.clone())),
            "a shared e-mail"
        );
        assert!(
            d.customers
                .iter()
                .any(|c| c.first_name.chars().count() + c.last_name.chars().count() > 100)
        );
        assert!(d.customers.iter().any(|c| !c.company.is_empty()));
        let types: std::collections::BTreeSet<u64> =
            d.customers.iter().map(|c| c.customer_type_id).collect();
        assert!(types.len() >= 3);
        assert!(d.items.iter().any(|i| i.archived));
        assert!(d.items.iter().any(|i| i.item_type == "non_inventory"));
        assert!(
            d.items
                .iter()
                .any(|i| i.matrix_id.is_some() && i.attributes.len() == 2)
        );
        assert!(d.items.iter().any(|i| i.images.len() == 1));
        assert!(d.categories.iter().any(|c| c.parent_id.is_some()));
        assert!(d.sales.iter().any(|s| s.voided));
        assert!(
            d.sales
                .iter()
                .any(|s| s.lines.iter().any(|l| l.quantity < 0))
        );
        assert!(d.sales.iter().any(|s| s.payments.len() == 2));
        let kinds: std::collections::BTreeSet<u64> = d
            .sales
            .iter()
            .flat_map(|s| s.payments.iter().map(|p| p.payment_type_id))
            .collect();
        assert!(kinds.contains(&1) && kinds.contains(&2) && kinds.contains(&3));
        let zones: std::collections::BTreeSet<&str> =
            d.shops.iter().map(|s| s.time_zone.as_str()).collect();
        assert!(zones.len() >= 3);
        // The taxes: inclusive 21 % with a 9 % class, and two rates stacked on top.
        assert!(d.tax_categories.iter().any(|c| c.inclusive
            && c.tax1_ppm == 210_000
            && c.classes.iter().any(|k| k.tax1_ppm == 90_000)));
        assert!(
            d.tax_categories
                .iter()
                .any(|c| !c.inclusive && c.tax1_ppm > 0 && c.tax2_ppm > 0)
        );
        // Every shape of sale.
        let lines = || d.sales.iter().flat_map(|s| s.lines.iter());
        let pays = || d.sales.iter().flat_map(|s| s.payments.iter());
        assert!(lines().any(|l| l.discount_percent_ppm > 0));
        assert!(
            d.sales
                .iter()
                .any(|s| s.discount_id.is_some() || s.discount_cents > 0)
        );
        assert!(lines().any(|l| l.refunds.is_some()));
        assert!(
            d.sales
                .iter()
                .any(|s| s.lines.iter().any(|l| l.quantity < 0)
                    && s.lines.iter().any(|l| l.quantity > 0))
        );
        assert!(lines().any(|l| l.line_type == "item_fee"));
        assert!(pays().any(|p| p.tip_cents > 0));
        assert!(pays().any(|p| p.payment_type_id == 3 && p.amount_cents < 0));
        assert!(lines().any(|l| l.layaway));
        assert!(lines().any(|l| l.picks_up.is_some()));
        assert!(pays().any(|p| p.archived));
        assert!(pays().any(|p| p.payment_type_id == 5 && p.amount_cents > 0));
        assert!(d.sales.iter().any(|s| !s.completed && !s.voided));
        assert!(
            d.sales
                .iter()
                .any(|s| s.completed && s.voided && s.void_time.is_some())
        );
        // A sale completed near midnight in a shop west of UTC: 23:30 in New York is the
        // next day in UTC (the business day is the shop's, ORDERS-STOCK.md §7).
        let new_york = d
            .shops
            .iter()
            .find(|s| s.time_zone.contains("New_York") || s.time_zone.contains("Eastern"))
            .and_then(|s| s.id);
        assert!(
            d.sales.iter().any(|s| Some(s.shop_id) == new_york
                && s.complete_time
                    .is_some_and(|t| t.as_second().rem_euclid(86_400) == 4 * 3600 + 1800)),
            "a sale at 23:30 in New York"
        );
        // Completed sales balance.
        for s in d.sales.iter().filter(|s| s.completed) {
            assert!(!s.payments.is_empty());
        }
    }
}
