//! The command line of `lsbc`: every command and option, as clap parses them. Each command's
//! arguments go to the `run` of the module that carries the command out.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use lsbc_aws::QueueUrls;
use lsbc_core::ports::Outcome;
use lsbc_core::{Flow, QueueName};

use crate::home::{BUSINESS_CENTRAL_SECRET, HomeChoice, LIGHTSPEED_SECRET};

/// `lsbc`.
#[derive(Parser, Debug)]
#[command(
    name = "lsbc",
    version,
    about = "Lightspeed POS ⇄ Business Central sync: operator CLI"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Where a command finds the sync's state and credentials.
#[derive(Args, Clone, Debug)]
pub struct HomeArgs {
    /// Embedded state (SQLite).
    #[arg(long, default_value = ".lsbc/state.sqlite", global = true)]
    pub state: PathBuf,
    /// Local credentials file (mode 0600).
    #[arg(long, default_value = ".lsbc/credentials.json", global = true)]
    pub credentials: PathBuf,
    /// Work on a deployed stack's DynamoDB tables and Secrets Manager instead.
    #[arg(long, global = true)]
    pub aws: bool,
    /// The stack's state table (with --aws).
    #[arg(
        long,
        env = "LSBC_STATE_TABLE",
        default_value = "lsbc-state",
        global = true
    )]
    pub state_table: String,
    /// The stack's activity table (with --aws).
    #[arg(
        long,
        env = "LSBC_ACTIVITY_TABLE",
        default_value = "lsbc-activity",
        global = true
    )]
    pub activity_table: String,
}

impl HomeArgs {
    /// The home these options choose.
    pub fn choice(&self) -> HomeChoice {
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

/// The commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print the SAM template with its per-flow part generated from the registry of flow
    /// kits, or write it to the file (run after adding a flow).
    Template(TemplateArgs),
    /// Run every flow against both simulators on 127.0.0.1, print a summary, check the result.
    Demo(DemoArgs),
    /// Run the pipeline against real accounts, on the embedded home.
    Run(RunArgs),
    /// Show the Business Central requests one Lightspeed record would produce (no network).
    Preview(PreviewArgs),
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
        #[command(flatten, next_help_heading = "Where to store it")]
        home: HomeArgs,
    },
    /// Send the records parked in a queue's dead-letter queue back into it.
    Replay(ReplayArgs),
    /// Show a flow's cursor, or move it (`--to TIME`, or to the start with `--to start`).
    Cursor(CursorArgs),
    /// What the sync found out about the systems it connects (how Business Central
    /// answers a client-chosen id, per company and entity set).
    Status {
        #[command(flatten)]
        home: HomeArgs,
    },
    /// Search the activity log.
    Logs(LogsArgs),
    /// Where each Lightspeed sale stands in the orders flow (waiting, created, posted,
    /// held, conflict, …), and making a sale's documents again.
    Orders {
        #[command(subcommand)]
        action: OrdersAction,
        #[command(flatten)]
        home: HomeArgs,
    },
    /// The Business Central webhook subscriptions that wake the flows reading Business
    /// Central (the stock flow): where each stands, and making them right.
    Webhooks {
        #[command(subcommand)]
        action: WebhooksAction,
        #[command(flatten)]
        webhook: WebhookArgs,
        #[command(flatten)]
        home: HomeArgs,
    },
}

/// Where Business Central's notifications go.
#[derive(Args, Debug, Clone)]
pub struct WebhookArgs {
    /// The webhook function's URL (the stack output `WebhookUrl`).
    #[arg(long, env = "LSBC_WEBHOOK_URL")]
    pub url: String,
    /// Name of the Business Central connection secret.
    #[arg(long, default_value = BUSINESS_CENTRAL_SECRET)]
    pub business_central_secret: String,
}

/// `lsbc webhooks …`.
#[derive(Subcommand, Debug)]
pub enum WebhooksAction {
    /// Each entity set a flow wakes on: its subscription, when BC drops it, or `missing`;
    /// and ours that no flow needs.
    List,
    /// Renews every subscription expiring within 36 hours, makes again the ones BC deleted
    /// (BC calls the URL to check it first) and removes the ones no flow needs. The poll
    /// function does the same every hour.
    Renew {
        /// Name of the secret holding the webhook's client state (the stack output
        /// `WebhookSecretArn`).
        #[arg(long)]
        client_state_secret: String,
    },
}

/// `lsbc orders …`.
#[derive(Subcommand, Debug)]
pub enum OrdersAction {
    /// One sale's state: why it is there, since when, its documents and tenders.
    Show {
        /// The Lightspeed `saleID`.
        sale_id: u64,
    },
    /// The sales in a state, longest in it first (those that need someone when none is
    /// given: waiting, held, conflict, failed, posting, relink); waiting sales past
    /// `waiting_alarm_hours` are marked.
    List {
        /// waiting, held, conflict, failed, posting, relink, discovered, created, posted,
        /// voided, credited.
        #[arg(long)]
        state: Option<String>,
        /// At most this many sales per state.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Makes a sale in conflict again from Lightspeed's current version: its draft
    /// documents are deleted and new ones made on the next poll (a posted invoice is left
    /// alone and the sale stays in conflict).
    Relink {
        /// The Lightspeed `saleID`.
        sale_id: u64,
    },
}

/// `lsbc template`.
#[derive(Args, Debug)]
pub struct TemplateArgs {
    /// The template file whose head (everything before the generated part) is kept.
    #[arg(long, default_value = "infra/template.yaml")]
    pub file: PathBuf,
    /// Rewrite the file instead of printing.
    #[arg(long)]
    pub write: bool,
}

/// `lsbc demo`.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
    /// Seed of the generated dataset.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Lightspeed customers to generate.
    #[arg(long, default_value_t = 300)]
    pub customers: usize,
    /// Where the demo's state and activity log go (emptied first).
    #[arg(long, default_value = ".lsbc/demo")]
    pub dir: PathBuf,
    /// Answer this share of the requests to both simulators with a fault (5xx, 429, a
    /// dropped connection, a slow answer), e.g. 0.1; the self-check must pass all the same.
    #[arg(long, default_value_t = 0.0)]
    pub faults: f64,
}

/// `lsbc run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// The configuration file.
    #[arg(long, default_value = "lsbc.toml")]
    pub config: PathBuf,
    /// Run once and stop (the default).
    #[arg(long, conflicts_with = "watch")]
    pub once: bool,
    /// Run every `interval_seconds` until Ctrl-C, printing one line per run.
    #[arg(long)]
    pub watch: bool,
    /// Print each run's report as JSON (one document per line with --watch).
    #[arg(long)]
    pub json: bool,
}

/// `lsbc preview`.
#[derive(Args, Debug)]
pub struct PreviewArgs {
    /// The flow.
    pub flow: Flow,
    /// The record as the Lightspeed API returns it (JSON).
    #[arg(long)]
    pub input: PathBuf,
    /// Use the stored mapping overrides and settings (else the defaults).
    #[arg(long)]
    pub stored: bool,
    #[command(flatten)]
    pub home: HomeArgs,
}

/// `lsbc replay`.
#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// The queue: poll, <flow>-transform or <flow>-push.
    pub queue: QueueName,
    /// At most this many.
    #[arg(long, default_value_t = 100)]
    pub max: usize,
    #[command(flatten)]
    pub home: HomeArgs,
}

/// `lsbc cursor`.
#[derive(Args, Debug)]
pub struct CursorArgs {
    /// The flow.
    pub flow: Flow,
    /// Move it here: an RFC 3339 time, an entry number, or `start`.
    #[arg(long)]
    pub to: Option<String>,
    /// The stream (default: the flow's main one).
    #[arg(long)]
    pub stream: Option<String>,
    #[command(flatten)]
    pub home: HomeArgs,
}

/// `lsbc logs`.
#[derive(Args, Debug)]
pub struct LogsArgs {
    /// Only this flow.
    #[arg(long)]
    pub flow: Option<Flow>,
    /// A record key (needs --flow).
    #[arg(long)]
    pub key: Option<String>,
    /// created, updated, unchanged, skipped, failed, retrying.
    #[arg(long)]
    pub outcome: Option<Outcome>,
    /// Only the last … (30m, 2h, 7d).
    #[arg(long)]
    pub since: Option<String>,
    /// At most this many entries.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Include the payloads.
    #[arg(long)]
    pub payloads: bool,
    #[command(flatten)]
    pub home: HomeArgs,
}

/// `lsbc mapping …`.
#[derive(Subcommand, Debug)]
pub enum MappingAction {
    /// The mapping (defaults with overrides), or one field.
    Show {
        /// The flow.
        flow: Flow,
        /// Only this field (`<object>.<field>`).
        field: Option<String>,
        /// Print the value tables in full.
        #[arg(long)]
        tables: bool,
    },
    /// Override one field: a jq expression, a constant, or a lookup; and/or its policy.
    Set {
        /// The flow.
        flow: Flow,
        /// The field (`<object>.<field>`).
        field: String,
        /// A jq expression on the Lightspeed record.
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
        /// Who made the change (kept with the version).
        #[arg(long, env = "USER", default_value = "operator")]
        author: String,
    },
    /// Back to the default for one field.
    Unset {
        /// The flow.
        flow: Flow,
        /// The field (`<object>.<field>`).
        field: String,
        /// Who made the change (kept with the version).
        #[arg(long, env = "USER", default_value = "operator")]
        author: String,
    },
    /// Set one entry of a value table (`--remove` drops it).
    Table {
        /// The flow.
        flow: Flow,
        /// The value table.
        table: String,
        /// The entry's key.
        key: String,
        /// The value (JSON, or text).
        value: Option<String>,
        /// Drop the entry instead.
        #[arg(long)]
        remove: bool,
        /// Who made the change (kept with the version).
        #[arg(long, env = "USER", default_value = "operator")]
        author: String,
    },
    /// Replace every override with a JSON document (`{"fields": …, "tables": …}`).
    Load {
        /// The flow.
        flow: Flow,
        /// The JSON document.
        file: PathBuf,
        /// Who made the change (kept with the version).
        #[arg(long, env = "USER", default_value = "operator")]
        author: String,
    },
    /// Back to the defaults for the whole flow.
    Reset {
        /// The flow.
        flow: Flow,
        /// Who made the change (kept with the version).
        #[arg(long, env = "USER", default_value = "operator")]
        author: String,
    },
    /// Versions of the overrides, newest first.
    History {
        /// The flow.
        flow: Flow,
        /// At most this many versions.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
}

/// `lsbc settings …`.
#[derive(Subcommand, Debug)]
pub enum SettingsAction {
    /// The settings, defaults filled in.
    Show {
        /// The flow.
        flow: Flow,
    },
    /// Set `key=value` pairs (JSON values; `key=null` back to the default), or load a file.
    Set {
        /// The flow.
        flow: Flow,
        /// `key=value` pairs.
        pairs: Vec<String>,
        /// A JSON document replacing every setting.
        #[arg(long)]
        file: Option<PathBuf>,
        /// Who made the change (kept with the version).
        #[arg(long, env = "USER", default_value = "operator")]
        author: String,
    },
}

/// `lsbc connect …`.
#[derive(Subcommand, Debug)]
pub enum ConnectTarget {
    /// OAuth (with PKCE): prints the authorize URL, then reads the redirected URL.
    Lightspeed(LightspeedArgs),
    /// Client credentials (online) or an access key (on-premises); choose the company.
    BusinessCentral(BusinessCentralArgs),
}

/// `lsbc connect lightspeed`.
#[derive(Args, Debug)]
#[command(next_help_heading = "Connection")]
pub struct LightspeedArgs {
    /// The OAuth client's id (from the Lightspeed developer portal).
    #[arg(
        long,
        env = "LSBC_LIGHTSPEED_CLIENT_ID",
        required_unless_present = "redirected_url"
    )]
    pub client_id: Option<String>,
    /// The OAuth client's secret.
    #[arg(
        long,
        env = "LSBC_LIGHTSPEED_CLIENT_SECRET",
        hide_env_values = true,
        required_unless_present = "redirected_url"
    )]
    pub client_secret: Option<String>,
    /// The client's registered HTTPS redirect URI.
    #[arg(long, required_unless_present = "redirected_url")]
    pub redirect_uri: Option<String>,
    /// Finish the connection started before (by this command without it) with the URL
    /// Lightspeed redirected to; without it, the URL is read from standard input.
    #[arg(long, conflicts_with = "wait_for_callback")]
    pub redirected_url: Option<String>,
    /// The redirect URI is the deployed callback function's `/lightspeed/callback` route
    /// (the stack's `LightspeedCallbackUrl` output): wait for
    /// it to finish the connection instead of reading the redirected URL.
    #[arg(long)]
    pub wait_for_callback: bool,
    /// The API host (default `https://api.lightspeedapp.com`; a simulator's URL to try the
    /// sync without an account).
    #[arg(long)]
    pub api_base: Option<String>,
    /// The OAuth host (default `https://cloud.lightspeedapp.com`; a simulator's URL).
    #[arg(long)]
    pub auth_base: Option<String>,
    /// Name of the secret the connection is stored under (what `lsbc.toml` and the
    /// deployed functions read).
    #[arg(long, default_value = LIGHTSPEED_SECRET, help_heading = "Where to store it")]
    pub secret: String,
}

/// `lsbc connect business-central`.
#[derive(Args, Debug)]
#[command(next_help_heading = "Connection")]
pub struct BusinessCentralArgs {
    /// Entra tenant (online), or `?tenant=` (on-premises).
    #[arg(long)]
    pub tenant: Option<String>,
    /// The environment (online), as in the Business Central admin center.
    #[arg(long, default_value = "Production")]
    pub environment: String,
    /// The Entra app registration's client id (online).
    #[arg(long, env = "LSBC_BC_CLIENT_ID")]
    pub client_id: Option<String>,
    /// The app registration's client secret (online).
    #[arg(long, env = "LSBC_BC_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: Option<String>,
    /// On-premises service URL up to the server instance.
    #[arg(long)]
    pub base_url: Option<String>,
    /// The Business Central user whose web service access key is given (on-premises).
    #[arg(long)]
    pub user: Option<String>,
    /// That user's web service access key (on-premises).
    #[arg(long, env = "LSBC_BC_ACCESS_KEY", hide_env_values = true)]
    pub access_key: Option<String>,
    /// Company name or id (else the only one).
    #[arg(long)]
    pub company: Option<String>,
    /// Where the API is (default: `https://api.businesscentral.dynamics.com`; a
    /// simulator's URL to try the sync without an account).
    #[arg(long)]
    pub api_base: Option<String>,
    /// Where tokens are issued (default: `https://login.microsoftonline.com`; a
    /// simulator's URL).
    #[arg(long)]
    pub login_base: Option<String>,
    /// Name of the secret the connection is stored under (what `lsbc.toml` and the
    /// deployed functions read).
    #[arg(long, default_value = BUSINESS_CENTRAL_SECRET, help_heading = "Where to store it")]
    pub secret: String,
}
