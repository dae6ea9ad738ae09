//! `lsbc`: parses the command line and calls the commands of the `lsbc_cli` library.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use lsbc_aws::QueueUrls;
use lsbc_cli::CliError;
use lsbc_cli::configure::{self, MappingChange, parse_pair, parse_policy};
use lsbc_cli::demo::{DemoOptions, run_demo};
use lsbc_cli::home::{BUSINESS_CENTRAL_SECRET, HomeChoice, LIGHTSPEED_SECRET};
use lsbc_cli::logs::{LogQuery, logs};
use lsbc_cli::preview::preview;
use lsbc_cli::run::{RunConfig, run};
use lsbc_cli::summary::table;
use lsbc_cli::{connect, operate};
use lsbc_connectors::business_central::{BusinessCentralSecret, CompanySecret, Credential};
use lsbc_connectors::lightspeed::LightspeedSecret;
use lsbc_core::ports::Outcome;
use lsbc_core::{Flow, QueueName};
use lsbc_mapping::ValueSpec;
use serde_json::Value;

#[derive(Parser)]
#[command(
    name = "lsbc",
    version,
    about = "Lightspeed POS ⇄ Business Central sync: operator CLI"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct HomeArgs {
    /// Embedded state (SQLite).
    #[arg(long, default_value = ".lsbc/state.sqlite", global = true)]
    state: PathBuf,
    /// Local credentials file (mode 0600).
    #[arg(long, default_value = ".lsbc/credentials.json", global = true)]
    credentials: PathBuf,
    /// Work on a deployed stack's DynamoDB tables and Secrets Manager instead.
    #[arg(long, global = true)]
    aws: bool,
    /// The stack's state table (with --aws).
    #[arg(
        long,
        env = "LSBC_STATE_TABLE",
        default_value = "lsbc-state",
        global = true
    )]
    state_table: String,
    /// The stack's activity table (with --aws).
    #[arg(
        long,
        env = "LSBC_ACTIVITY_TABLE",
        default_value = "lsbc-activity",
        global = true
    )]
    activity_table: String,
}

impl HomeArgs {
    fn choice(&self) -> HomeChoice {
        if self.aws {
            // The stack's queue URLs, under the names the Lambdas read them by.
            let queues = QueueName::all()
                .into_iter()
                .filter_map(|q| {
                    let name = q.to_string().replace('-', "_").to_uppercase();
                    let url = std::env::var(format!("LSBC_QUEUE_URL_{name}")).ok()?;
                    let dlq_url = std::env::var(format!("LSBC_DLQ_URL_{name}")).ok()?;
                    Some((q, QueueUrls { url, dlq_url }))
                })
                .collect();
            HomeChoice::Aws {
                state_table: self.state_table.clone(),
                activity_table: self.activity_table.clone(),
                queues,
            }
        } else {
            HomeChoice::Embedded {
                state: self.state.clone(),
                credentials: self.credentials.clone(),
            }
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Print the SAM template with its per-flow part generated from the registry of flow
    /// kits, or write it to the file (run after adding a flow).
    Template {
        /// The template file whose head (everything before the generated part) is kept.
        #[arg(long, default_value = "infra/template.yaml")]
        file: PathBuf,
        /// Rewrite the file instead of printing.
        #[arg(long)]
        write: bool,
    },
    /// Run every flow against both simulators on 127.0.0.1, print a summary, check the result.
    Demo {
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
        /// Seed of the generated dataset.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Lightspeed customers to generate.
        #[arg(long, default_value_t = 300)]
        customers: usize,
        /// Where the demo's state and activity log go (emptied first).
        #[arg(long, default_value = ".lsbc/demo")]
        dir: PathBuf,
    },
    /// Run the pipeline against real accounts, on the embedded home.
    Run {
        /// The configuration file.
        #[arg(long, default_value = "lsbc.toml")]
        config: PathBuf,
        /// Run once and stop (the default).
        #[arg(long, conflicts_with = "watch")]
        once: bool,
        /// Run every `interval_seconds` until Ctrl-C.
        #[arg(long)]
        watch: bool,
    },
    /// Show the Business Central requests one Lightspeed record would produce (no network).
    Preview {
        /// The flow.
        flow: Flow,
        /// The record as the Lightspeed API returns it (JSON).
        #[arg(long)]
        input: PathBuf,
        /// Use the stored mapping overrides and settings (else the defaults).
        #[arg(long)]
        stored: bool,
        #[command(flatten)]
        home: HomeArgs,
    },
    /// Show or change a flow's mapping.
    Mapping {
        #[command(subcommand)]
        action: MappingAction,
        #[command(flatten)]
        home: HomeArgs,
    },
    /// Show or change a flow's settings.
    Settings {
        #[command(subcommand)]
        action: SettingsAction,
        #[command(flatten)]
        home: HomeArgs,
    },
    /// Connect an account for the first time.
    Connect {
        #[command(subcommand)]
        target: ConnectTarget,
        #[command(flatten)]
        home: HomeArgs,
    },
    /// Send the records parked in a queue's dead-letter queue back into it.
    Replay {
        /// The queue: poll, <flow>-transform or <flow>-push.
        queue: QueueName,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        max: usize,
        #[command(flatten)]
        home: HomeArgs,
    },
    /// Show a flow's cursor, or move it (`--to TIME`, or to the start with `--to start`).
    Cursor {
        flow: Flow,
        /// Move it here: an RFC 3339 time, an entry number, or `start`.
        #[arg(long)]
        to: Option<String>,
        /// The stream (default: the flow's main one).
        #[arg(long)]
        stream: Option<String>,
        #[command(flatten)]
        home: HomeArgs,
    },
    /// What the sync found out about the systems it connects (how Business Central
    /// answers a client-chosen id, per company and entity set).
    Status {
        #[command(flatten)]
        home: HomeArgs,
    },
    /// Search the activity log.
    Logs {
        #[arg(long)]
        flow: Option<Flow>,
        /// A record key (needs --flow).
        #[arg(long)]
        key: Option<String>,
        /// created, updated, unchanged, skipped, failed, retrying.
        #[arg(long)]
        outcome: Option<Outcome>,
        /// Only the last … (30m, 2h, 7d).
        #[arg(long)]
        since: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Include the payloads.
        #[arg(long)]
        payloads: bool,
        #[command(flatten)]
        home: HomeArgs,
    },
}

#[derive(Subcommand)]
enum MappingAction {
    /// The mapping (defaults with overrides), or one field.
    Show {
        flow: Flow,
        field: Option<String>,
        /// Print the value tables in full.
        #[arg(long)]
        tables: bool,
    },
    /// Override one field: a jq expression, a constant, or a lookup; and/or its policy.
    Set {
        flow: Flow,
        field: String,
        #[arg(long, conflicts_with_all = ["constant", "lookup"])]
        expr: Option<String>,
        /// A JSON constant.
        #[arg(long = "const", conflicts_with = "lookup")]
        constant: Option<String>,
        /// `table:expression`.
        #[arg(long)]
        lookup: Option<String>,
        /// The value when the key is not in the table (JSON).
        #[arg(long)]
        default: Option<String>,
        /// always, create_only, update_only, never.
        #[arg(long)]
        policy: Option<String>,
        #[arg(long, env = "USER", default_value = "operator")]
        author: String,
    },
    /// Back to the default for one field.
    Unset {
        flow: Flow,
        field: String,
        #[arg(long, env = "USER", default_value = "operator")]
        author: String,
    },
    /// Set one entry of a value table (`--remove` drops it).
    Table {
        flow: Flow,
        table: String,
        key: String,
        /// The value (JSON, or text).
        value: Option<String>,
        #[arg(long)]
        remove: bool,
        #[arg(long, env = "USER", default_value = "operator")]
        author: String,
    },
    /// Replace every override with a JSON document (`{"fields": …, "tables": …}`).
    Load {
        flow: Flow,
        file: PathBuf,
        #[arg(long, env = "USER", default_value = "operator")]
        author: String,
    },
    /// Back to the defaults for the whole flow.
    Reset {
        flow: Flow,
        #[arg(long, env = "USER", default_value = "operator")]
        author: String,
    },
    /// Versions of the overrides, newest first.
    History {
        flow: Flow,
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
}

#[derive(Subcommand)]
enum SettingsAction {
    /// The settings, defaults filled in.
    Show { flow: Flow },
    /// Set `key=value` pairs (JSON values; `key=null` back to the default), or load a file.
    Set {
        flow: Flow,
        pairs: Vec<String>,
        #[arg(long)]
        file: Option<PathBuf>,
        #[arg(long, env = "USER", default_value = "operator")]
        author: String,
    },
}

#[derive(Subcommand)]
enum ConnectTarget {
    /// OAuth (with PKCE): prints the authorize URL, then reads the redirected URL.
    Lightspeed {
        #[arg(long, env = "LSBC_LIGHTSPEED_CLIENT_ID")]
        client_id: String,
        #[arg(long, env = "LSBC_LIGHTSPEED_CLIENT_SECRET", hide_env_values = true)]
        client_secret: String,
        /// The client's registered HTTPS redirect URI.
        #[arg(long)]
        redirect_uri: String,
        /// The URL Lightspeed redirected to (else read from standard input).
        #[arg(long, conflicts_with = "wait_for_callback")]
        redirected_url: Option<String>,
        /// The redirect URI is the deployed webhook's `/lightspeed/callback` route: wait for
        /// it to finish the connection instead of reading the redirected URL.
        #[arg(long)]
        wait_for_callback: bool,
        #[arg(long)]
        api_base: Option<String>,
        #[arg(long)]
        auth_base: Option<String>,
        #[arg(long, default_value = LIGHTSPEED_SECRET)]
        secret: String,
    },
    /// Client credentials (online) or an access key (on-premises); choose the company.
    BusinessCentral {
        /// Entra tenant (online), or `?tenant=` (on-premises).
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long, default_value = "Production")]
        environment: String,
        #[arg(long, env = "LSBC_BC_CLIENT_ID")]
        client_id: Option<String>,
        #[arg(long, env = "LSBC_BC_CLIENT_SECRET", hide_env_values = true)]
        client_secret: Option<String>,
        /// On-premises service URL up to the server instance.
        #[arg(long)]
        base_url: Option<String>,
        #[arg(long)]
        user: Option<String>,
        #[arg(long, env = "LSBC_BC_ACCESS_KEY", hide_env_values = true)]
        access_key: Option<String>,
        /// Company name or id (else the only one).
        #[arg(long)]
        company: Option<String>,
        #[arg(long)]
        api_base: Option<String>,
        #[arg(long)]
        login_base: Option<String>,
        #[arg(long, default_value = BUSINESS_CENTRAL_SECRET)]
        secret: String,
    },
}

fn print(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

fn json_arg(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

async fn execute(cli: Cli) -> Result<ExitCode, CliError> {
    match cli.command {
        Command::Template { file, write } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| CliError::Usage(format!("{}: {e}", file.display())))?;
            let kits = lsbc_cli::template::deployed_kits();
            let rendered = lsbc_cli::template::render(lsbc_cli::template::head(&text), &kits);
            if write {
                std::fs::write(&file, rendered)
                    .map_err(|e| CliError::Usage(format!("{}: {e}", file.display())))?;
            } else {
                print!("{rendered}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo {
            json,
            seed,
            customers,
            dir,
        } => {
            let summary = run_demo(&DemoOptions {
                seed,
                customers,
                dir,
                progress: !json && std::io::stderr().is_terminal(),
            })
            .await?;
            if json {
                print(&serde_json::to_value(&summary).unwrap_or_default());
            } else {
                println!("{}", table(&summary));
                for failure in &summary.failures {
                    println!("Failed (in the dead-letter queue): {failure}");
                }
                println!("Activity log: {}", summary.activity_log);
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
        Command::Run {
            config,
            once: _,
            watch,
        } => {
            let config = RunConfig::read(&config)?;
            let report = run(&config, watch).await?;
            print(&serde_json::to_value(&report).unwrap_or_default());
            Ok(ExitCode::SUCCESS)
        }
        Command::Preview {
            flow,
            input,
            stored,
            home,
        } => {
            let text = std::fs::read_to_string(&input).map_err(|e| CliError::io(&input, e))?;
            let value: Value = serde_json::from_str(&text)
                .map_err(|e| CliError::Usage(format!("{}: not JSON: {e}", input.display())))?;
            let config = if stored {
                Some(home.choice().open().await?.config)
            } else {
                None
            };
            let out = preview(flow, &value, config).await?;
            print(&out.report);
            Ok(if out.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            })
        }
        Command::Mapping { action, home } => {
            let state = home.choice().open().await?;
            let out = match action {
                MappingAction::Show {
                    flow,
                    field,
                    tables,
                } => configure::show_mapping(&state, flow, field.as_deref(), tables).await?,
                MappingAction::Set {
                    flow,
                    field,
                    expr,
                    constant,
                    lookup,
                    default,
                    policy,
                    author,
                } => {
                    let value = match (expr, constant, lookup) {
                        (Some(e), _, _) => Some(ValueSpec::Expr(e)),
                        (_, Some(c), _) => Some(ValueSpec::Const(json_arg(&c))),
                        (_, _, Some(l)) => {
                            let (table, expr) = l.split_once(':').ok_or_else(|| {
                                CliError::Usage("--lookup is table:expression".into())
                            })?;
                            Some(ValueSpec::Lookup {
                                table: table.to_owned(),
                                expr: expr.to_owned(),
                                default: default.as_deref().map(json_arg),
                            })
                        }
                        _ => None,
                    };
                    let policy = policy.as_deref().map(parse_policy).transpose()?;
                    configure::change_mapping(
                        &state,
                        flow,
                        MappingChange::Field {
                            field,
                            value,
                            policy,
                        },
                        &author,
                    )
                    .await?
                }
                MappingAction::Unset {
                    flow,
                    field,
                    author,
                } => {
                    configure::change_mapping(&state, flow, MappingChange::Unset { field }, &author)
                        .await?
                }
                MappingAction::Table {
                    flow,
                    table,
                    key,
                    value,
                    remove,
                    author,
                } => {
                    let value = if remove {
                        None
                    } else {
                        Some(json_arg(&value.ok_or_else(|| {
                            CliError::Usage("give a value or --remove".into())
                        })?))
                    };
                    configure::change_mapping(
                        &state,
                        flow,
                        MappingChange::TableEntry { table, key, value },
                        &author,
                    )
                    .await?
                }
                MappingAction::Load { flow, file, author } => {
                    let text =
                        std::fs::read_to_string(&file).map_err(|e| CliError::io(&file, e))?;
                    let doc = serde_json::from_str(&text)
                        .map_err(|e| CliError::Usage(format!("{}: {e}", file.display())))?;
                    configure::change_mapping(&state, flow, MappingChange::Replace(doc), &author)
                        .await?
                }
                MappingAction::Reset { flow, author } => {
                    configure::change_mapping(&state, flow, MappingChange::Reset, &author).await?
                }
                MappingAction::History { flow, limit } => {
                    configure::mapping_history(&state, flow, limit).await?
                }
            };
            print(&out);
            Ok(ExitCode::SUCCESS)
        }
        Command::Settings { action, home } => {
            let state = home.choice().open().await?;
            let out = match action {
                SettingsAction::Show { flow } => configure::show_settings(&state, flow).await?,
                SettingsAction::Set {
                    flow,
                    pairs,
                    file,
                    author,
                } => {
                    let pairs = pairs
                        .iter()
                        .map(|p| parse_pair(p))
                        .collect::<Result<Vec<_>, _>>()?;
                    let replace =
                        match file {
                            Some(f) => {
                                let text =
                                    std::fs::read_to_string(&f).map_err(|e| CliError::io(&f, e))?;
                                Some(serde_json::from_str(&text).map_err(|e| {
                                    CliError::Usage(format!("{}: {e}", f.display()))
                                })?)
                            }
                            None => None,
                        };
                    configure::change_settings(&state, flow, &pairs, replace, &author).await?
                }
            };
            print(&out);
            Ok(ExitCode::SUCCESS)
        }
        Command::Connect { target, home } => {
            let state = home.choice().open().await?;
            let secrets = state.secrets.clone();
            let out = match target {
                ConnectTarget::Lightspeed {
                    client_id,
                    client_secret,
                    redirect_uri,
                    redirected_url,
                    wait_for_callback,
                    api_base,
                    auth_base,
                    secret,
                } => {
                    let url = connect::start_lightspeed(
                        secrets.clone(),
                        &secret,
                        LightspeedSecret {
                            client_id,
                            client_secret,
                            account_id: None,
                            api_base,
                            auth_base,
                            redirect_uri: Some(redirect_uri),
                            tokens: None,
                            pending: None,
                        },
                    )
                    .await?;
                    eprintln!("Open this URL, sign in and approve:\n\n  {url}\n");
                    if wait_for_callback {
                        eprintln!(
                            "Waiting for the redirect to reach the webhook's callback route…"
                        );
                        connect::wait_for_callback(
                            secrets,
                            &secret,
                            std::time::Duration::from_mins(15),
                        )
                        .await?
                    } else {
                        let redirected = if let Some(url) = redirected_url {
                            url
                        } else {
                            eprintln!("Then paste the full URL you were redirected to:");
                            let mut line = String::new();
                            std::io::stdin()
                                .read_line(&mut line)
                                .map_err(|e| CliError::io("stdin", e))?;
                            line
                        };
                        connect::finish_lightspeed(secrets, &secret, &redirected).await?
                    }
                }
                ConnectTarget::BusinessCentral {
                    tenant,
                    environment,
                    client_id,
                    client_secret,
                    base_url,
                    user,
                    access_key,
                    company,
                    api_base,
                    login_base,
                    secret,
                } => {
                    let on_premises = base_url.is_some();
                    let company_given = company.is_some();
                    let company = match company {
                        Some(c) => match c.parse::<uuid::Uuid>() {
                            Ok(id) => CompanySecret::Id(id),
                            Err(_) => CompanySecret::Name(c),
                        },
                        None => CompanySecret::Name(String::new()),
                    };
                    let doc = BusinessCentralSecret {
                        deployment: if on_premises { "on_premises" } else { "online" }.into(),
                        tenant,
                        environment: (!on_premises).then_some(environment),
                        base_url,
                        principals: if on_premises {
                            vec![]
                        } else {
                            vec![Credential {
                                client_id,
                                client_secret,
                                user: None,
                                access_key: None,
                            }]
                        },
                        users: if on_premises {
                            vec![Credential {
                                client_id: None,
                                client_secret: None,
                                user,
                                access_key,
                            }]
                        } else {
                            vec![]
                        },
                        company,
                        api_base,
                        login_base,
                        limits: None,
                    };
                    connect::connect_business_central(
                        secrets,
                        state.config.clone(),
                        &secret,
                        doc,
                        company_given,
                    )
                    .await?
                }
            };
            print(&out);
            Ok(ExitCode::SUCCESS)
        }
        Command::Replay { queue, max, home } => {
            let state = home.choice().open().await?;
            print(&operate::replay(state.queue.as_ref(), queue, max).await?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Cursor {
            flow,
            to,
            stream,
            home,
        } => {
            let state = home.choice().open().await?;
            let stream = match stream {
                Some(stream) => stream,
                None => lsbc_connectors::kit(flow)?.main_stream().to_owned(),
            };
            let cursors = state.cursors.as_ref();
            let out = match to.as_deref() {
                None => operate::show_cursor(cursors, flow, &stream).await?,
                Some("start") => operate::reset_cursor(cursors, flow, &stream, None).await?,
                Some(position) => {
                    operate::reset_cursor(cursors, flow, &stream, Some(position)).await?
                }
            };
            print(&out);
            Ok(ExitCode::SUCCESS)
        }
        Command::Status { home } => {
            let state = home.choice().open().await?;
            print(&lsbc_cli::status::status(state.config.as_ref()).await?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Logs {
            flow,
            key,
            outcome,
            since,
            limit,
            payloads,
            home,
        } => {
            let state = home.choice().open().await?;
            let out = logs(
                &state,
                &LogQuery {
                    flow,
                    key,
                    outcome,
                    since,
                    limit,
                    payloads,
                },
            )
            .await?;
            print(&out);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo's skips and failures are its point: they are in its summary and activity log,
    // so its log shows only errors of its own unless LSBC_LOG asks for more.
    let default_level = if matches!(cli.command, Command::Demo { .. }) {
        "off"
    } else {
        "warn"
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LSBC_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level)),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("lsbc: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(execute(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("lsbc: {e}");
            ExitCode::FAILURE
        }
    }
}
