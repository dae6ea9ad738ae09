//! `lsbc demo`: the quick start. Starts both simulators on 127.0.0.1, seeds Lightspeed with
//! a realistic retail dataset (persons and companies, accents, shared and broken e-mails,
//! over-long names, archived customers) and Business Central with a few customers that
//! already exist, then runs every flow of this build on the embedded home three times —
//! the initial sync, a sync after some edits in Lightspeed, and a sync with nothing new —
//! and checks that Business Central ends up exactly as the mapping implies.

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use lsbc_connectors::build_flow;
use lsbc_connectors::business_central::diff::same;
use lsbc_connectors::customers::CustomerCommand;
use lsbc_core::ports::{ActivityLog, ActivityQuery, FlowParts, LinkStore, Outcome, SettingsStore};
use lsbc_core::{Flow, Record, RecordKey, SourceVersion, StageError};
use lsbc_embedded::{FlowReport, LocalRunner, RunnerOptions};
use lsbc_sandbox::lightspeed::{AddressSeed, Entity, Sizes, generate};
use serde_json::{Value, json};

use crate::args::DemoArgs;
use crate::home::{BUSINESS_CENTRAL_SECRET, EmbeddedHome, LIGHTSPEED_SECRET};
use crate::sandboxes::{SandboxOptions, Sandboxes};
use crate::summary::{ApiRequests, FlowSummary, Summary};
use crate::summary::{notes, table};
use crate::{CliError, print_json};
use crate::{demo_orders, demo_stock};

/// How the demo runs.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Seed of the dataset (the same seed gives the same data).
    pub seed: u64,
    /// Lightspeed customers to generate.
    pub customers: usize,
    /// Where the demo's state (with its activity log) and credentials go; emptied first.
    pub dir: PathBuf,
    /// Print progress to stderr.
    pub progress: bool,
    /// The share of requests to both simulators answered with a fault (5xx, 429 with and
    /// without `Retry-After`, a dropped connection, a slow answer) while the flows run; 0
    /// for none. The self-check must pass all the same, and only the record no mapping can
    /// place may fail.
    pub faults: f64,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            seed: 7,
            customers: 300,
            dir: PathBuf::from(".lsbc/demo"),
            progress: false,
            faults: 0.0,
        }
    }
}

/// The flows the demo runs, in order: every one this build has.
pub const DEMO_FLOWS: [Flow; 4] = [Flow::Customers, Flow::Products, Flow::Orders, Flow::Stock];

fn stage(error: StageError) -> CliError {
    CliError::Stage(error)
}

struct Progress(Option<indicatif::ProgressBar>);

impl Progress {
    fn new(enabled: bool) -> Self {
        Self(enabled.then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        }))
    }

    fn say(&self, message: impl Into<String>) {
        let message = message.into();
        if let Some(bar) = &self.0 {
            bar.set_message(message);
        } else {
            tracing::info!("{message}");
        }
    }

    fn done(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

/// `lsbc demo`: runs the demo, prints its summary (a table, or JSON) and fails when the
/// self-check found differences.
pub async fn run(args: DemoArgs) -> Result<ExitCode, CliError> {
    let summary = run_demo(&DemoOptions {
        seed: args.seed,
        customers: args.customers,
        dir: args.dir,
        progress: !args.json && std::io::stderr().is_terminal(),
        faults: args.faults,
    })
    .await?;
    if args.json {
        print_json(&serde_json::to_value(&summary).unwrap_or_default());
    } else {
        println!("{}", table(&summary.passes));
        println!(
            "{}",
            notes(&summary.passes, &summary.failures, &summary.activity_log)
        );
        if let Some(orders) = &summary.orders {
            println!(
                "Orders: {} sales documents, {:.1} Business Central requests per sale (every request of the orders passes, lookups included).",
                orders.documents,
                orders.requests_per_sale()
            );
        }
        if let Some(stock) = &summary.stock {
            println!(
                "Stock: {} item × shop figures checked; {} items written, {} recomputed, {:.1} Lightspeed requests per written item (reads of items found right included).",
                stock.figures,
                stock.changed_items,
                stock.recomputed_items,
                stock.requests_per_changed_item()
            );
        }
        println!(
            "Self-check: {} Lightspeed records compared with Business Central in {:.1} s (the whole demo: {:.1} s).",
            summary.checked, summary.check_seconds, summary.elapsed_seconds
        );
    }
    for problem in &summary.check_problems {
        eprintln!("check: {problem}");
    }
    if summary.check_problems.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(CliError::Check(summary.check_problems.len()))
    }
}

/// Runs the demo and returns its summary (with the self-check's findings).
pub async fn run_demo(options: &DemoOptions) -> Result<Summary, CliError> {
    let started = Instant::now();
    let progress = Progress::new(options.progress);
    progress.say("Starting the Lightspeed and Business Central simulators…");
    let (lightspeed, mut business_central) = Sandboxes::configs(SandboxOptions {
        seed: options.seed,
        ..SandboxOptions::default()
    })
    .map_err(|e| CliError::io("127.0.0.1", e))?;
    demo_orders::company(&mut business_central);
    let sandboxes = Sandboxes::start_with(lightspeed, business_central)
        .await
        .map_err(|e| CliError::io("127.0.0.1", e))?;
    let dataset = generate(
        options.seed,
        Sizes {
            customers: options.customers,
            sales: 0,
            ..Sizes::default()
        },
    );
    sandboxes
        .lightspeed
        .load(&dataset)
        .map_err(|e| CliError::Usage(format!("seeding Lightspeed: {e}")))?;
    // A record no mapping can place: its country is no country. It must fail alone, with a
    // reason naming the field, and block nothing.
    let mut lost = dataset
        .customers
        .first()
        .cloned()
        .ok_or_else(|| CliError::Usage("the dataset has no customers".into()))?;
    lost.id = None;
    lost.time_stamp = None;
    lost.first_name = "Aurélien".into();
    lost.last_name = "Nowhere".into();
    lost.company = String::new();
    lost.archived = false;
    lost.emails = Vec::new();
    lost.addresses = vec![AddressSeed {
        address1: "1 Rue du Nulle Part".into(),
        city: "Ys".into(),
        country: "Atlantis".into(),
        ..AddressSeed::default()
    }];
    sandboxes.lightspeed.add_customer(&lost);
    let products = seed_products(&sandboxes, &dataset)?;
    let sales = demo_orders::seed(&sandboxes, &dataset)?;
    // Some customers exist in Business Central already, with the same e-mail address: the
    // first sync must find them rather than create them again.
    let mut preexisting = BTreeSet::new();
    for c in dataset
        .customers
        .iter()
        .filter(|c| c.company.is_empty())
        .step_by(9)
    {
        let Some(email) = c.emails.first().map(|e| e.address.clone()) else {
            continue;
        };
        if !lsbc_connectors::customers::is_valid_email(&email)
            || dataset
                .customers
                .iter()
                .filter(|o| o.emails.first().is_some_and(|e| e.address == email))
                .count()
                > 1
        {
            continue;
        }
        let added = sandboxes
            .business_central
            .add_customer(json!({
                "displayName": format!("{} {} (BC)", c.first_name, c.last_name),
                "email": email,
                "type": "Person",
                "city": "Old Town",
            }))
            .map_err(|e| CliError::Usage(format!("seeding Business Central: {e}")))?;
        preexisting.insert(added["id"].as_str().unwrap_or_default().to_owned());
    }
    preexisting.extend(sales.walk_in_customers.iter().cloned());

    std::fs::create_dir_all(&options.dir).map_err(|e| CliError::io(&options.dir, e))?;
    let state = options.dir.join("state.sqlite");
    for stale in [
        "state.sqlite",
        "state.sqlite-wal",
        "state.sqlite-shm",
        "credentials.json",
    ] {
        let path = options.dir.join(stale);
        if path.exists() {
            std::fs::remove_file(&path).map_err(|e| CliError::io(&path, e))?;
        }
    }
    // Under injected faults, a retry comes back after a second rather than the default 30.
    let queues = lsbc_embedded::QueueOptions {
        visibility: if options.faults > 0.0 {
            std::time::Duration::from_secs(1)
        } else {
            lsbc_embedded::QueueOptions::default().visibility
        },
        ..lsbc_embedded::QueueOptions::default()
    };
    let home = EmbeddedHome::open_with(&state, &options.dir.join("credentials.json"), queues)?;
    sandboxes
        .store_secrets(
            home.secrets.as_ref(),
            LIGHTSPEED_SECRET,
            BUSINESS_CENTRAL_SECRET,
        )
        .await?;
    home.store
        .save_settings(
            Flow::Orders,
            demo_orders::settings(),
            0,
            "demo",
            jiff::Timestamp::now(),
        )
        .await?;
    home.store
        .save_settings(
            Flow::Stock,
            demo_stock::settings(),
            0,
            "demo",
            jiff::Timestamp::now(),
        )
        .await?;
    let context = home.context(LIGHTSPEED_SECRET, BUSINESS_CENTRAL_SECRET);
    let mut runner = LocalRunner::new(home.store.clone(), RunnerOptions::default());
    let mut parts = Vec::new();
    for flow in DEMO_FLOWS {
        let built = build_flow(flow, &context).await.map_err(stage)?;
        parts.push(built.clone());
        runner.add_flow(built);
    }

    inject_faults(&sandboxes, options.faults, options.seed);
    let mut summary = Summary {
        activity_log: format!(
            "{} (read it with: lsbc logs --state {})",
            state.display(),
            state.display()
        ),
        ..Summary::default()
    };
    for pass in ["initial sync", "after changes", "nothing new"] {
        if pass == "after changes" {
            edit_some_customers(&sandboxes, &home, &dataset.customers).await?;
            edit_some_items(&sandboxes, &home, &dataset)?;
            demo_orders::change(&sandboxes, &sales)?;
        }
        for flow in DEMO_FLOWS {
            if flow == Flow::Stock {
                demo_stock::move_stock(&sandboxes, pass)?;
            }
            progress.say(format!("{pass}: {flow}…"));
            let ls_before = sandboxes.lightspeed.stats().requests;
            let bc_before = sandboxes.business_central.stats().totals;
            let mut records = runner.run_flow(flow).await.map_err(stage)?;
            // Under injected faults, retries come back after the queue's short visibility
            // timeout: run until nothing waits.
            for _ in 0..100 {
                if records.waiting == 0 || options.faults <= 0.0 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(350)).await;
                let more = runner.run_flow(flow).await.map_err(stage)?;
                records = merged(&records, &more);
            }
            let ls = sandboxes.lightspeed.stats().requests.since(&ls_before);
            let bc = sandboxes.business_central.stats().totals.since(&bc_before);
            summary.passes.push(FlowSummary {
                pass: pass.to_owned(),
                flow,
                records,
                lightspeed: ApiRequests {
                    requests: ls.requests,
                    throttled: ls.throttled,
                },
                business_central: ApiRequests {
                    requests: bc.requests,
                    throttled: bc.throttled,
                },
            });
        }
    }
    sandboxes.lightspeed.faults().clear();
    sandboxes.business_central.faults().clear();
    progress.say("Checking Business Central against the mapping…");
    let check_started = Instant::now();
    let part = |flow: Flow| {
        parts
            .iter()
            .find(|p| p.source.flow() == flow)
            .ok_or_else(|| CliError::Usage(format!("the {flow} flow is not built")))
    };
    let (checked, mut problems) =
        check_customers(&sandboxes, &home, part(Flow::Customers)?, &preexisting).await?;
    let (checked_products, product_problems) =
        check_products(&sandboxes, &home, part(Flow::Products)?).await?;
    // The items BC had before were matched, never duplicated.
    for number in &products.preexisting {
        let copies = sandboxes
            .business_central
            .items()
            .iter()
            .filter(|i| i["number"] == number.as_str())
            .count();
        if copies != 1 {
            problems.push(format!(
                "Business Central has {copies} items numbered {number}"
            ));
        }
    }
    problems.extend(product_problems);
    let (checked_sales, sale_problems, documents) = demo_orders::check(&sandboxes, &home).await?;
    problems.extend(sale_problems);
    if !summary
        .passes
        .iter()
        .any(|p| p.flow == Flow::Orders && p.records.created > 0)
    {
        problems.push("the orders flow made no document".into());
    }
    let order_requests: u64 = summary
        .passes
        .iter()
        .filter(|p| p.flow == Flow::Orders)
        .map(|p| p.business_central.requests)
        .sum();
    summary.orders = Some(crate::summary::OrdersSummary {
        documents,
        business_central_requests: order_requests,
    });
    let (checked_stock, stock_problems) = demo_stock::check(&sandboxes);
    problems.extend(stock_problems);
    let stock_passes = || summary.passes.iter().filter(|p| p.flow == Flow::Stock);
    summary.stock = Some(crate::summary::StockSummary {
        figures: checked_stock,
        changed_items: stock_passes().map(|p| p.records.updated).sum(),
        recomputed_items: stock_passes()
            .map(|p| p.records.updated + p.records.unchanged)
            .sum(),
        lightspeed_requests: stock_passes().map(|p| p.lightspeed.requests).sum(),
    });
    summary.checked = checked + checked_products + checked_sales + checked_stock;
    summary.check_problems = problems;
    summary.failures = home
        .store
        .query(&ActivityQuery {
            outcome: Some(Outcome::Failed),
            limit: 1000,
            ..ActivityQuery::default()
        })
        .await?
        .into_iter()
        .map(|e| format!("{} {}: {}", e.flow, e.key, e.message))
        .collect();
    summary.check_seconds = check_started.elapsed().as_secs_f64();
    summary.elapsed_seconds = started.elapsed().as_secs_f64();
    progress.done();
    sandboxes.stop().await;
    Ok(summary)
}

/// Moves five synced customers to another city, as a shop assistant would.
async fn edit_some_customers(
    sandboxes: &Sandboxes,
    home: &EmbeddedHome,
    customers: &[lsbc_sandbox::lightspeed::CustomerSeed],
) -> Result<(), CliError> {
    let mut synced = Vec::new();
    for seed in customers {
        let key = RecordKey::parse(seed.id.unwrap_or_default().to_string())
            .map_err(|e| CliError::Usage(e.to_string()))?;
        if home.store.get(Flow::Customers, &key).await?.is_some() {
            synced.push(seed);
        }
    }
    let step = (synced.len() / 5).max(1);
    for seed in synced.into_iter().step_by(step).take(5) {
        let mut changed = seed.clone();
        changed.time_stamp = None;
        changed.addresses = vec![AddressSeed {
            address1: "Korenmarkt 1".into(),
            city: "Gent".into(),
            zip: "9000".into(),
            country: "Belgium".into(),
            country_code: "BE".into(),
            ..AddressSeed::default()
        }];
        let id = seed.id.unwrap_or_default();
        sandboxes
            .lightspeed
            .update_customer(id, &changed)
            .map_err(|e| CliError::Usage(format!("editing Lightspeed customer {id}: {e}")))?;
    }
    Ok(())
}

/// Answers a `share` of the requests to both simulators with a fault, evenly among a 503, a
/// 429 with `Retry-After`, a bare 429 where the API has one, a dropped connection and a
/// slow answer.
fn inject_faults(sandboxes: &Sandboxes, share: f64, seed: u64) {
    if share <= 0.0 {
        return;
    }
    let each = share / 4.0;
    let rule = |fault| lsbc_sandbox::common::FaultRule {
        probability: each,
        ..lsbc_sandbox::common::FaultRule::always(fault)
    };
    let plan = lsbc_sandbox::common::FaultPlan {
        seed,
        rules: vec![
            rule(lsbc_sandbox::common::FaultKind::Status { status: 503 }),
            rule(lsbc_sandbox::common::FaultKind::TooManyRequests),
            rule(lsbc_sandbox::common::FaultKind::Reset),
            rule(lsbc_sandbox::common::FaultKind::Latency { millis: 300 }),
        ],
    };
    sandboxes.lightspeed.faults().set(plan.clone());
    sandboxes.business_central.faults().set(plan);
}

/// Two runs of one flow as one.
fn merged(a: &FlowReport, b: &FlowReport) -> FlowReport {
    FlowReport {
        read: a.read + b.read,
        sent: a.sent + b.sent,
        duplicates: a.duplicates + b.duplicates,
        commands: a.commands + b.commands,
        created: a.created + b.created,
        updated: a.updated + b.updated,
        unchanged: a.unchanged + b.unchanged,
        skipped: a.skipped + b.skipped,
        failed: a.failed + b.failed,
        retried: a.retried + b.retried,
        waiting: b.waiting,
    }
}

/// Every Lightspeed customer against Business Central: what the mapping makes of it must be
/// what BC holds — the customer, and for a company the person contact under it — (or its
/// skip or failure must be in the activity log); every customer BC has is one it had
/// before (`preexisting` ids) or one linked to a Lightspeed customer; no e-mail is there
/// twice.
async fn check_customers(
    sandboxes: &Sandboxes,
    home: &EmbeddedHome,
    customers: &FlowParts,
    preexisting: &BTreeSet<String>,
) -> Result<(usize, Vec<String>), CliError> {
    let mut problems = Vec::new();
    let bc_customers = sandboxes.business_central.customers();
    let bc_contacts = sandboxes.business_central.contacts();
    let by_id = |id: &str| bc_customers.iter().find(|c| c["id"] == id);
    let activity = home
        .store
        .query(&ActivityQuery {
            flow: Some(Flow::Customers),
            limit: 100_000,
            ..ActivityQuery::default()
        })
        .await?;
    let last_outcome = |key: &RecordKey| activity.iter().find(|e| &e.key == key).map(|e| e.outcome);
    let mut checked = 0;
    let mut linked = std::collections::BTreeSet::new();
    for raw in sandboxes.lightspeed.records(Entity::Customer) {
        let Some(id) = raw["customerID"].as_str() else {
            continue;
        };
        let key = RecordKey::parse(id).map_err(|e| CliError::Usage(e.to_string()))?;
        let record = Record {
            flow: Flow::Customers,
            key: key.clone(),
            version: SourceVersion::Sequence(0),
            payload: raw.clone(),
        };
        checked += 1;
        match customers.transformer.transform(&record).await {
            Err(StageError::Skipped { .. }) => {
                if last_outcome(&key) != Some(Outcome::Skipped) {
                    problems.push(format!(
                        "customer {id}: skipped by the mapping but not logged as skipped"
                    ));
                }
            }
            Err(StageError::InvalidRecord { .. }) => {
                if last_outcome(&key) != Some(Outcome::Failed) {
                    problems.push(format!("customer {id}: invalid but not logged as failed"));
                }
            }
            Err(other) => problems.push(format!("customer {id}: {other}")),
            Ok(commands) => {
                let Some(t) = commands.first() else { continue };
                let cmd: CustomerCommand = serde_json::from_value(t.command.clone())
                    .map_err(|e| CliError::Usage(e.to_string()))?;
                let Some(link) = home.store.get(Flow::Customers, &key).await? else {
                    if last_outcome(&key) != Some(Outcome::Skipped) {
                        problems.push(format!(
                            "customer {id}: not in Business Central and not skipped"
                        ));
                    }
                    continue;
                };
                linked.insert(link.target_id.clone());
                let Some(bc) = by_id(&link.target_id) else {
                    problems.push(format!(
                        "customer {id}: linked to {} which BC doesn't have",
                        link.target_id
                    ));
                    continue;
                };
                // Fields sent on create and on update must hold the mapping's value now.
                let mut compare = |object: &str,
                                   fields: &serde_json::Map<String, Value>,
                                   bc: &Value| {
                    for (field, value) in fields {
                        let always =
                            cmd.sends(object, field, true) && cmd.sends(object, field, false);
                        if always && !same(field, bc.get(field), value) {
                            problems.push(format!(
                                "customer {id}: BC {object} {field} is {} but the mapping says {value}",
                                bc.get(field).unwrap_or(&Value::Null)
                            ));
                        }
                    }
                };
                compare("customer", &cmd.customer, bc);
                if let Some(contact) = &cmd.contact {
                    let bc_contact = link
                        .extra
                        .get("contact_id")
                        .and_then(Value::as_str)
                        .and_then(|c| bc_contacts.iter().find(|b| b["id"] == c));
                    match bc_contact {
                        Some(bc_contact) => compare("contact", contact, bc_contact),
                        None => problems.push(format!(
                            "customer {id}: a company, but its person contact is not in Business Central"
                        )),
                    }
                }
            }
        }
    }
    for c in &bc_customers {
        let customer_id = c["id"].as_str().unwrap_or_default();
        if !preexisting.contains(customer_id) && !linked.contains(customer_id) {
            problems.push(format!(
                "Business Central customer {} ({}) was created, but no Lightspeed customer is linked to it",
                c["number"], c["displayName"]
            ));
        }
    }
    let mut emails: Vec<String> = bc_customers
        .iter()
        .filter_map(|c| c["email"].as_str())
        .filter(|e| !e.is_empty())
        .map(str::to_lowercase)
        .collect();
    emails.sort();
    for pair in emails.windows(2) {
        if pair[0] == pair[1] {
            problems.push(format!("two Business Central customers share {}", pair[0]));
        }
    }
    Ok((checked, problems))
}

/// What the demo added to the generated catalogue.
struct DemoProducts {
    /// Numbers of the BC items that existed before the first sync (matched by SKU, not
    /// created again).
    preexisting: Vec<String>,
}

/// Serves the catalogue's images from the Lightspeed simulator (the real ones live on
/// Lightspeed's image CDN), gives two items SKUs that BC already has, and one item a SKU
/// another item has in Lightspeed.
fn seed_products(
    sandboxes: &Sandboxes,
    dataset: &lsbc_sandbox::lightspeed::Dataset,
) -> Result<DemoProducts, CliError> {
    let ls = &sandboxes.lightspeed;
    ls.serve_images()
        .map_err(|e| CliError::Usage(format!("serving images: {e}")))?;
    let simple: Vec<&lsbc_sandbox::lightspeed::ItemSeed> = dataset
        .items
        .iter()
        .filter(|i| i.matrix_id.is_none() && !i.archived && !i.custom_sku.is_empty())
        .collect();
    let mut preexisting = Vec::new();
    for item in simple.iter().take(2) {
        let number = item.custom_sku.to_uppercase();
        sandboxes
            .business_central
            .add_item(json!({
                "number": number,
                "displayName": format!("{} (entered in BC)", item.description),
                "type": "Inventory",
            }))
            .map_err(|e| CliError::Usage(format!("seeding Business Central: {e}")))?;
        preexisting.push(number);
    }
    if let Some(original) = simple.last() {
        let mut twin = (*original).clone();
        twin.id = None;
        twin.time_stamp = None;
        twin.description = format!("{} (second copy)", original.description);
        ls.add_item(&twin)
            .map_err(|e| CliError::Usage(format!("seeding Lightspeed: {e}")))?;
    }
    Ok(DemoProducts { preexisting })
}

/// Raises the price of three synced items, as a buyer would.
fn edit_some_items(
    sandboxes: &Sandboxes,
    _home: &EmbeddedHome,
    dataset: &lsbc_sandbox::lightspeed::Dataset,
) -> Result<(), CliError> {
    let candidates = dataset
        .items
        .iter()
        .filter(|i| i.matrix_id.is_none() && !i.archived && i.item_type == "default");
    for item in candidates.take(3) {
        let Some(id) = item.id else { continue };
        sandboxes
            .lightspeed
            .set_field(
                Entity::Item,
                id,
                "description",
                &format!("{} (new season)", item.description),
            )
            .map_err(|e| CliError::Usage(format!("editing Lightspeed item {id}: {e}")))?;
    }
    Ok(())
}

/// Every Lightspeed item and matrix against Business Central: the item's fields sent on
/// create and update must be what BC holds, each variant must exist, skips and failures
/// must be in the activity log, and no SKU may be there twice.
async fn check_products(
    sandboxes: &Sandboxes,
    home: &EmbeddedHome,
    parts: &lsbc_core::ports::FlowParts,
) -> Result<(usize, Vec<String>), CliError> {
    use lsbc_connectors::products::ProductCommand;
    let mut problems = Vec::new();
    let ls = &sandboxes.lightspeed;
    let mut keys: Vec<String> = ls
        .records(Entity::Item)
        .iter()
        .filter(|i| i["itemMatrixID"].as_str().is_none_or(|m| m == "0"))
        .filter_map(|i| i["itemID"].as_str().map(|id| format!("item:{id}")))
        .collect();
    keys.extend(
        ls.records(Entity::ItemMatrix)
            .iter()
            .filter_map(|m| m["itemMatrixID"].as_str().map(|id| format!("matrix:{id}"))),
    );
    let activity = home
        .store
        .query(&ActivityQuery {
            flow: Some(Flow::Products),
            limit: 100_000,
            ..ActivityQuery::default()
        })
        .await?;
    let latest = |key: &RecordKey| {
        activity
            .iter()
            .filter(|e| &e.key == key && e.outcome != Outcome::Unchanged)
            .map(|e| e.outcome)
            .next()
    };
    let items = sandboxes.business_central.items();
    let variants = sandboxes.business_central.item_variants();
    for key in &keys {
        let key = RecordKey::parse(key.clone()).map_err(|e| CliError::Usage(e.to_string()))?;
        let Some(record) = parts.source.fetch(&key).await.map_err(stage)? else {
            problems.push(format!("product {key}: gone from Lightspeed"));
            continue;
        };
        match parts.transformer.transform(&record).await {
            Err(StageError::Skipped { .. }) => {
                if latest(&key).is_some_and(|o| o != Outcome::Skipped) {
                    problems.push(format!(
                        "product {key}: skipped by the rules but logged otherwise"
                    ));
                }
            }
            Err(StageError::InvalidRecord { .. }) => {
                if latest(&key) != Some(Outcome::Failed) {
                    problems.push(format!("product {key}: invalid but not logged as failed"));
                }
            }
            Err(other) => problems.push(format!("product {key}: {other}")),
            Ok(commands) => {
                for t in commands {
                    let command: ProductCommand = serde_json::from_value(t.command.clone())
                        .map_err(|e| CliError::Usage(e.to_string()))?;
                    match command {
                        ProductCommand::Item(item) => {
                            let Some(link) = home.store.get(Flow::Products, &t.key).await? else {
                                if latest(&key) != Some(Outcome::Skipped) {
                                    problems.push(format!(
                                        "product {key}: not in Business Central and not skipped"
                                    ));
                                }
                                continue;
                            };
                            let Some(bc) =
                                items.iter().find(|i| i["id"] == link.target_id.as_str())
                            else {
                                problems.push(format!(
                                    "product {key}: linked to {} which BC doesn't have",
                                    link.target_id
                                ));
                                continue;
                            };
                            for (field, value) in &item.item {
                                let always = item.sends(field, true) && item.sends(field, false);
                                if always && !same(field, bc.get(field), value) {
                                    problems.push(format!(
                                        "product {key}: BC {field} is {} but the mapping says {value}",
                                        bc.get(field).unwrap_or(&Value::Null)
                                    ));
                                }
                            }
                        }
                        ProductCommand::Picture(_) => {}
                        ProductCommand::Variants(set) => {
                            for v in set.variants.iter().filter(|v| !v.archived) {
                                let found = variants.iter().any(|bv| {
                                    bv["itemNumber"] == set.number.as_str()
                                        && (bv["code"] == v.code.as_str()
                                            || bv["code"] == v.fallback.as_str())
                                });
                                if !found && latest(&key) != Some(Outcome::Skipped) {
                                    problems.push(format!(
                                        "product {key}: variant {} ({}) missing in Business Central",
                                        v.item_id, v.code
                                    ));
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    let mut numbers: Vec<&str> = items.iter().filter_map(|i| i["number"].as_str()).collect();
    numbers.sort_unstable();
    for pair in numbers.windows(2) {
        if pair[0] == pair[1] {
            problems.push(format!(
                "two Business Central items share number {}",
                pair[0]
            ));
        }
    }
    Ok((keys.len(), problems))
}
