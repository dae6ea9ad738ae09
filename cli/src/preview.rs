//! `lsbc preview <flow> --input FILE`: what one Lightspeed record would become in Business
//! Central — the request bodies the transform produces under the current mapping and
//! settings, its warnings, and the validation BC's rules would apply — without any network.

use std::process::ExitCode;
use std::sync::Arc;

use jiff::Timestamp;
use lsbc_business_central::EntitySet;
use lsbc_business_central::validate::{Operation, validate};
use lsbc_connectors::config::ConfigCache;
use lsbc_connectors::customers::{CustomerCommand, CustomerTransformer};
use lsbc_connectors::default_mapper;
use lsbc_core::memory::MemoryStore;
use lsbc_core::ports::{ConfigStore, Transformed, Transformer};
use lsbc_core::{Flow, Record, RecordKey, SourceVersion, StageError};
use serde_json::{Map, Value, json};

use crate::args::PreviewArgs;
use crate::{CliError, print_json};

/// The preview of one record, and whether it would go through.
#[derive(Debug, Clone, PartialEq)]
pub struct Preview {
    /// What is printed.
    pub report: Value,
    /// `false` when the record would fail (invalid) or a body breaks BC's rules.
    pub ok: bool,
}

/// The entity object inside `input`: a whole API response (`{"Customer": {…}}`, one record
/// or the first of a list) or the bare object.
fn entity<'a>(input: &'a Value, key: &str) -> &'a Value {
    match input.get(key) {
        Some(Value::Array(list)) => list.first().unwrap_or(input),
        Some(one @ Value::Object(_)) => one,
        _ => input,
    }
}

fn bodies(
    cmd: &CustomerCommand,
    creating: bool,
) -> (Map<String, Value>, Option<Map<String, Value>>) {
    let pick = |object: &str, fields: &Map<String, Value>| -> Map<String, Value> {
        fields
            .iter()
            .filter(|(k, _)| cmd.sends(object, k, creating))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    (
        pick("customer", &cmd.customer),
        cmd.contact.as_ref().map(|c| pick("contact", c)),
    )
}

fn check(set: EntitySet, operation: Operation, body: &Map<String, Value>) -> Vec<String> {
    validate(set, operation, body)
        .err()
        .map(|e| format!("{}.{}: {}", e.entity, e.field, e.rule))
        .into_iter()
        .collect()
}

/// A record as the poll stage would hand it on (its `timeStamp` as version, now if none).
fn record(flow: Flow, key: &str, payload: &Value) -> Result<Record, CliError> {
    let version = payload
        .get("timeStamp")
        .and_then(Value::as_str)
        .and_then(|t| t.parse::<Timestamp>().ok())
        .unwrap_or_else(Timestamp::now);
    Ok(Record {
        flow,
        key: RecordKey::parse(key).map_err(|e| CliError::Usage(format!("{key}: {e}")))?,
        version: SourceVersion::Timestamp(version),
        payload: payload.clone(),
    })
}

/// Mapping overrides and settings of `config` (the defaults when `None`).
fn config_cache(config: Option<Arc<dyn ConfigStore>>) -> Result<Arc<ConfigCache>, CliError> {
    let store: Arc<dyn ConfigStore> = config.unwrap_or_else(|| Arc::new(MemoryStore::new()));
    Ok(Arc::new(ConfigCache::new(
        store,
        Arc::new(default_mapper()?),
    )))
}

/// Transforms `record` and reports each command with what `describe` says of it (fields
/// to show, validation errors), or why the record is skipped or invalid.
async fn report(
    transformer: &dyn Transformer,
    record: &Record,
    mut describe: impl FnMut(&Transformed) -> Result<(Map<String, Value>, Vec<String>), CliError>,
) -> Result<Preview, CliError> {
    match transformer.transform(record).await {
        Ok(commands) => {
            let mut ok = true;
            let mut out = Vec::new();
            for t in &commands {
                let (mut shown, validation) = describe(t)?;
                ok &= validation.is_empty();
                shown.insert("key".into(), json!(t.key));
                shown.insert("match_key".into(), json!(t.match_key));
                shown.insert("warnings".into(), json!(t.warnings));
                shown.insert("validation_errors".into(), json!(validation));
                out.push(Value::Object(shown));
            }
            Ok(Preview {
                report: json!({"outcome": "ok", "commands": out}),
                ok,
            })
        }
        Err(StageError::Skipped { rule, .. }) => Ok(Preview {
            report: json!({"outcome": "skipped", "rule": rule}),
            ok: true,
        }),
        Err(StageError::InvalidRecord { field, reason, .. }) => Ok(Preview {
            report: json!({"outcome": "invalid", "field": field, "reason": reason}),
            ok: false,
        }),
        Err(other) => Err(other.into()),
    }
}

/// `lsbc preview`: reads the record, previews it, prints the report; exits with 2 when
/// Business Central would refuse a request.
pub async fn run(args: PreviewArgs) -> Result<ExitCode, CliError> {
    let text = std::fs::read_to_string(&args.input).map_err(|e| CliError::io(&args.input, e))?;
    let value: Value = serde_json::from_str(&text)
        .map_err(|e| CliError::Usage(format!("{}: not JSON: {e}", args.input.display())))?;
    let config = if args.stored {
        Some(args.home.choice().open().await?.config)
    } else {
        None
    };
    let out = preview(args.flow, &value, config).await?;
    print_json(&out.report);
    Ok(if out.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

/// Previews `input` for `flow`, with the mapping overrides and settings of `config` (the
/// defaults when `None`).
pub async fn preview(
    flow: Flow,
    input: &Value,
    config: Option<Arc<dyn ConfigStore>>,
) -> Result<Preview, CliError> {
    if flow == Flow::Products {
        return preview_products(input, config).await;
    }
    if flow == Flow::Orders {
        return preview_orders(input, config).await;
    }
    if flow != Flow::Customers {
        return Err(CliError::Usage(format!(
            "preview of {flow} is not available in this build"
        )));
    }
    let customer = entity(input, "Customer");
    let id = customer
        .get("customerID")
        .and_then(Value::as_str)
        .unwrap_or("preview");
    let record = record(flow, id, customer)?;
    let transformer = CustomerTransformer::new(config_cache(config)?);
    report(&transformer, &record, |t| {
        let cmd: CustomerCommand = serde_json::from_value(t.command.clone())
            .map_err(|e| CliError::Usage(format!("unexpected command: {e}")))?;
        let (customer_create, contact_create) = bodies(&cmd, true);
        let (customer_update, contact_update) = bodies(&cmd, false);
        let mut validation = check(EntitySet::Customers, Operation::Create, &customer_create);
        validation.extend(check(
            EntitySet::Customers,
            Operation::Update,
            &customer_update,
        ));
        let mut requests = vec![json!({
            "entitySet": "customers",
            "create": customer_create,
            "update": customer_update,
        })];
        if let (Some(create), Some(update)) = (contact_create, contact_update) {
            validation.extend(check(EntitySet::Contacts, Operation::Create, &create));
            requests.push(json!({
                "entitySet": "contacts",
                "create": create,
                "update": update,
                "note": "companyNumber is set to the customer's company contact when pushed",
            }));
        }
        Ok((
            Map::from_iter([("requests".into(), json!(requests))]),
            validation,
        ))
    })
    .await
}

/// Previews an `Item` or an `ItemMatrix` with its variant items (`Items`), as the API
/// returns them: the item, variant and category requests, warnings, validation.
async fn preview_products(
    input: &Value,
    config: Option<Arc<dyn ConfigStore>>,
) -> Result<Preview, CliError> {
    use lsbc_connectors::products::{ProductCommand, ProductTransformer};
    let matrix = input.get("ItemMatrix").is_some()
        || input.get("itemMatrixID").is_some() && input.get("itemID").is_none();
    let (key, payload) = if matrix {
        let matrix = entity(input, "ItemMatrix");
        let id = matrix
            .get("itemMatrixID")
            .and_then(Value::as_str)
            .unwrap_or("0");
        (format!("matrix:{id}"), matrix)
    } else {
        let item = entity(input, "Item");
        let id = item.get("itemID").and_then(Value::as_str).unwrap_or("0");
        (format!("item:{id}"), item)
    };
    let record = record(Flow::Products, &key, payload)?;
    let transformer = ProductTransformer::new(config_cache(config)?);
    report(&transformer, &record, |t| {
        let command: ProductCommand = serde_json::from_value(t.command.clone())
            .map_err(|e| CliError::Usage(format!("unexpected command: {e}")))?;
        let validation = match &command {
            ProductCommand::Item(item) => {
                let create: Map<String, Value> = item
                    .item
                    .iter()
                    .filter(|(k, _)| item.sends(k, true))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                check(EntitySet::Items, Operation::Create, &create)
            }
            ProductCommand::Variants(set) => set
                .variants
                .iter()
                .filter_map(|v| {
                    let mut body = v.fields.clone();
                    body.insert("code".into(), Value::String(v.code.clone()));
                    // Created under their item: items({id})/itemVariants.
                    lsbc_business_central::validate::validate_under(
                        Some(EntitySet::Items),
                        EntitySet::ItemVariants,
                        Operation::Create,
                        &body,
                    )
                    .err()
                    .map(|e| format!("{}.{}: {}", e.entity, e.field, e.rule))
                })
                .collect(),
            // A picture is bytes from the image host: nothing to validate here.
            ProductCommand::Picture(_) => Vec::new(),
        };
        Ok((
            Map::from_iter([("command".into(), t.command.clone())]),
            validation,
        ))
    })
    .await
}

/// Previews a `Sale` with its relations (`SaleLines.Item`, `SalePayments.PaymentType`,
/// `Customer.Contact`, `Shop`) as the API returns it: per document, its entity set, the
/// header and line bodies as sent (items by SKU, since their BC ids are looked up when
/// pushed) and the total Business Central should reach.
async fn preview_orders(
    input: &Value,
    config: Option<Arc<dyn ConfigStore>>,
) -> Result<Preview, CliError> {
    use lsbc_connectors::orders::{
        CustomerRef, LineTarget, OrderCommand, OrderTransformer, line_body,
    };
    let sale = entity(input, "Sale");
    let id = sale.get("saleID").and_then(Value::as_str).unwrap_or("0");
    let record = record(Flow::Orders, id, sale)?;
    let transformer = OrderTransformer::new(config_cache(config)?);
    report(&transformer, &record, |t| {
        let cmd: OrderCommand = serde_json::from_value(t.command.clone())
            .map_err(|e| CliError::Usage(format!("unexpected command: {e}")))?;
        let (customer_field, customer, checked_customer) = match &cmd.customer {
            CustomerRef::Default { number } => ("customerNumber", json!(number), json!(number)),
            CustomerRef::Lightspeed { customer_id, .. } => (
                "customerId",
                json!(format!(
                    "(the Business Central customer of Lightspeed customer {customer_id}: its link, or found or created by the customers flow's rules)"
                )),
                json!(uuid::Uuid::from_u128(1).to_string()),
            ),
        };
        let mut validation = Vec::new();
        let mut requests = Vec::new();
        for doc in &cmd.documents {
            let set = doc.kind.entity_set();
            let mut header = doc.header.clone();
            let mut lines = Vec::new();
            let mut checked_lines = Vec::new();
            for l in &doc.lines {
                let body = line_body(
                    l,
                    cmd.prices_include_tax,
                    cmd.prices_include_tax,
                    &LineTarget::Preview,
                );
                let (mut shown, mut checked) = (body.clone(), body);
                if let Some(item) = &l.item
                    && item.sku.is_empty()
                {
                    // Read without its `Item` relation: no SKU to show.
                    shown.insert(
                        "itemId".into(),
                        json!(format!("(the BC item of Lightspeed item {})", item.item_id)),
                    );
                    checked.insert("itemId".into(), json!(uuid::Uuid::from_u128(1).to_string()));
                }
                lines.push(Value::Object(shown));
                checked_lines.push(Value::Object(checked));
            }
            let mut checked = header.clone();
            checked.insert(customer_field.into(), checked_customer.clone());
            if let Some(nav) = set.lines() {
                checked.insert(nav.as_str().into(), Value::Array(checked_lines));
            }
            validation.extend(check(set, Operation::Create, &checked));
            header.insert(customer_field.into(), customer.clone());
            let locations: Vec<&str> = doc
                .lines
                .iter()
                .filter_map(|l| l.location.as_deref())
                .collect();
            requests.push(json!({
                "entitySet": set.as_str(),
                "header": header,
                "lines": lines,
                "total": doc.expected_total,
                "post": doc.post,
                "notes": [
                    "item lines are sent with itemId (and itemVariantId) found by the products flow's link, SystemId or SKU",
                    format!("locations (by code, sent as locationId): {}", if locations.is_empty() { "none".to_owned() } else { locations.join(", ") }),
                    format!("prices as Lightspeed has them (tax {}): converted when the BC customer's documents use the other basis", if cmd.prices_include_tax { "included" } else { "excluded" }),
                ],
            }));
        }
        Ok((
            Map::from_iter([
                ("status".into(), json!(cmd.status)),
                ("date".into(), json!(cmd.date)),
                ("sale_total".into(), json!(cmd.total)),
                ("tenders".into(), json!(cmd.tenders)),
                ("requests".into(), Value::Array(requests)),
            ]),
            validation,
        ))
    })
    .await
}
