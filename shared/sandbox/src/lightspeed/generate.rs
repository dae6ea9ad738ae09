//! A deterministic generator of realistic Lightspeed data for tests and the demo: the same
//! seed and sizes give the same dataset. It produces the awkward cases a sync meets in real
//! shops (accented and over-long names, shared, missing and invalid e-mails, companies,
//! several customer types, matrices with colour/size variants, archived and non-inventory
//! items, categories with a path, images, completed/voided/refund sales with cash, card and
//! gift-card payments, shops in several time zones). It returns seeds; it does no IO.

use jiff::{SignedDuration, Timestamp};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::seed::{
    AddressSeed, AttributeSet, CategorySeed, CustomFieldSeed, CustomerSeed, CustomerTypeSeed,
    Dataset, EcommerceSeed, EmailSeed, ImageSeed, ItemSeed, MatrixSeed, PaymentTypeSeed, PhoneSeed,
    SaleLineSeed, SalePaymentSeed, SaleSeed, ShipToSeed, ShopSeed, Sizes, StockSeed,
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
const SHOPS: &[(&str, &str)] = &[
    ("Amsterdam Centrum", "Europe/Amsterdam"),
    ("Antwerpen Meir", "Europe/Brussels"),
    ("Montréal Plateau", "America/Montreal"),
    ("New York SoHo", "US/Eastern"),
    ("København Strøget", "Europe/Copenhagen"),
];
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

    for (n, (name, tz)) in SHOPS.iter().take(sizes.shops.max(1)).enumerate() {
        data.shops.push(ShopSeed {
            id: Some(n as u64 + 1),
            name: (*name).to_owned(),
            time_zone: (*tz).to_owned(),
            ..ShopSeed::default()
        });
    }
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
            tax_class_id: None,
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
    for n in 0..sizes.sales {
        if inventory_items.is_empty() {
            break;
        }
        let id = n as u64 + 1;
        let kind: f64 = rng.random();
        // 70 % completed, 10 % voided, 12 % refunds, 8 % still open.
        let (completed, voided, refund) = if kind < 0.70 {
            (true, false, false)
        } else if kind < 0.80 {
            (false, true, false)
        } else if kind < 0.92 {
            (true, false, true)
        } else {
            (false, false, false)
        };
        let lines: Vec<SaleLineSeed> = (0..rng.random_range(1..=4))
            .map(|_| {
                let (item, price) = inventory_items[rng.random_range(0..inventory_items.len())];
                let qty = rng.random_range(1..=3);
                SaleLineSeed {
                    item_id: Some(item),
                    quantity: if refund { -qty } else { qty },
                    unit_price_cents: price,
                    tax: true,
                    ..SaleLineSeed::default()
                }
            })
            .collect();
        let tax_bp = 2100;
        let subtotal: i64 = lines.iter().map(|l| l.quantity * l.unit_price_cents).sum();
        // Same rounding as the store: half away from zero, to cents.
        let tax_e7 = i128::from(subtotal) * i128::from(tax_bp) * 10;
        let half = if tax_e7 >= 0 { 50_000 } else { -50_000 };
        let total = subtotal + ((tax_e7 + half) / 100_000) as i64;
        let payments = if completed {
            let split: f64 = rng.random();
            if split < 0.55 {
                vec![SalePaymentSeed {
                    payment_type_id: 2,
                    amount_cents: total,
                    ..SalePaymentSeed::default()
                }]
            } else if split < 0.80 {
                vec![SalePaymentSeed {
                    payment_type_id: 1,
                    amount_cents: total,
                    ..SalePaymentSeed::default()
                }]
            } else {
                let gift = total / 3;
                vec![
                    SalePaymentSeed {
                        payment_type_id: 3,
                        amount_cents: gift,
                        ..SalePaymentSeed::default()
                    },
                    SalePaymentSeed {
                        payment_type_id: 2,
                        amount_cents: total - gift,
                        ..SalePaymentSeed::default()
                    },
                ]
            }
        } else {
            vec![]
        };
        let ts = when(&mut rng);
        let customer = if rng.random_bool(0.7) && !customer_ids.is_empty() {
            Some(customer_ids[rng.random_range(0..customer_ids.len())])
        } else {
            None
        };
        let ship_to = (customer.is_some() && rng.random_bool(0.1)).then(|| {
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
        data.sales.push(SaleSeed {
            id: Some(id),
            shop_id: shop_ids[rng.random_range(0..shop_ids.len())],
            register_id: 1,
            employee_id: 1,
            customer_id: customer,
            completed,
            voided,
            archived: false,
            reference_number: if refund {
                format!("R{id:06}")
            } else {
                String::new()
            },
            tax1_basis_points: tax_bp,
            lines,
            payments,
            ship_to,
            create_time: Some(ts),
            complete_time: completed.then_some(ts),
            time_stamp: Some(ts),
            ..SaleSeed::default()
        });
    }
    data
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
        // Completed sales balance.
        for s in d.sales.iter().filter(|s| s.completed) {
            assert!(!s.payments.is_empty());
        }
    }
}
