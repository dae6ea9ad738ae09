//! Typed configuration from the environment. A function declares what it needs; every
//! missing or malformed variable is reported in one error, naming the variable, before the
//! function serves a single event.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::str::FromStr;

use jiff::SignedDuration;
use lsbc_aws::{QueueUrls, TableNames};
use lsbc_core::stages::ActivityPolicy;
use lsbc_core::{Flow, QueueName};

/// Everything wrong with the environment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad configuration: {}", .problems.join("; "))]
pub struct ConfigError {
    /// One line per variable.
    pub problems: Vec<String>,
}

/// Reads variables, collecting problems instead of stopping at the first.
pub struct Env<F> {
    lookup: F,
    problems: Vec<String>,
}

impl<F> std::fmt::Debug for Env<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Env")
            .field("problems", &self.problems)
            .finish_non_exhaustive()
    }
}

/// The process environment.
pub fn process_env() -> Env<impl Fn(&str) -> Option<String>> {
    Env::new(|name: &str| std::env::var(name).ok())
}

impl<F: Fn(&str) -> Option<String>> Env<F> {
    /// Reads through `lookup` (the process environment in production, a map in tests).
    pub fn new(lookup: F) -> Self {
        Self {
            lookup,
            problems: Vec::new(),
        }
    }

    fn parse<T>(&mut self, name: &str, raw: &str) -> Option<T>
    where
        T: FromStr,
        T::Err: Display,
    {
        match raw.trim().parse::<T>() {
            Ok(v) => Some(v),
            Err(e) => {
                let shown: String = raw.chars().take(60).collect();
                self.problems
                    .push(format!("{name}=`{shown}` is invalid: {e}"));
                None
            }
        }
    }

    /// A variable that must be set and valid.
    pub fn required<T>(&mut self, name: &str) -> Option<T>
    where
        T: FromStr,
        T::Err: Display,
    {
        if let Some(raw) = (self.lookup)(name).filter(|v| !v.trim().is_empty()) {
            self.parse(name, &raw)
        } else {
            self.problems.push(format!("{name} is not set"));
            None
        }
    }

    /// A variable with a default when unset; still an error when set and invalid.
    pub fn optional<T>(&mut self, name: &str, default: T) -> T
    where
        T: FromStr,
        T::Err: Display,
    {
        match (self.lookup)(name).filter(|v| !v.trim().is_empty()) {
            Some(raw) => self.parse(name, &raw).unwrap_or(default),
            None => default,
        }
    }

    /// Records a problem found while combining variables.
    pub fn problem(&mut self, message: impl Into<String>) {
        self.problems.push(message.into());
    }

    /// `Ok` if every variable read so far was fine.
    pub fn finish(self) -> Result<(), ConfigError> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError {
                problems: self.problems,
            })
        }
    }
}

/// A comma-separated list of flows (`LSBC_FLOWS=customers,products`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowList(pub Vec<Flow>);

impl FromStr for FlowList {
    type Err = lsbc_core::flow::UnknownFlow;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.split(',')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(str::parse)
            .collect::<Result<Vec<Flow>, _>>()
            .map(FlowList)
    }
}

/// Names of the secrets holding the two connections (`LSBC_LIGHTSPEED_SECRET`, default
/// `lsbc/lightspeed`; `LSBC_BUSINESS_CENTRAL_SECRET`, default `lsbc/business-central`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretNames {
    /// The Lightspeed connection (OAuth client and rotating tokens).
    pub lightspeed: String,
    /// The Business Central connection.
    pub business_central: String,
}

impl SecretNames {
    /// Reads the names.
    pub fn read<F: Fn(&str) -> Option<String>>(env: &mut Env<F>) -> Self {
        Self {
            lightspeed: Self::read_lightspeed(env).unwrap_or_else(|| "lsbc/lightspeed".to_owned()),
            business_central: env.optional(
                "LSBC_BUSINESS_CENTRAL_SECRET",
                "lsbc/business-central".to_owned(),
            ),
        }
    }

    /// The Lightspeed connection's secret name if `LSBC_LIGHTSPEED_SECRET` is set (and not
    /// blank), without the default: `None` tells the webhook its Lightspeed OAuth callback
    /// route is off.
    pub fn read_lightspeed<F: Fn(&str) -> Option<String>>(env: &mut Env<F>) -> Option<String> {
        Some(env.optional("LSBC_LIGHTSPEED_SECRET", String::new())).filter(|name| !name.is_empty())
    }
}

/// The variable holding a queue's URL: `LSBC_QUEUE_URL_CUSTOMERS_TRANSFORM`.
pub fn queue_var(queue: QueueName) -> String {
    format!(
        "LSBC_QUEUE_URL_{}",
        queue.to_string().replace('-', "_").to_uppercase()
    )
}

/// The variable holding a queue's dead-letter queue URL: `LSBC_DLQ_URL_CUSTOMERS_PUSH`.
pub fn dlq_var(queue: QueueName) -> String {
    format!(
        "LSBC_DLQ_URL_{}",
        queue.to_string().replace('-', "_").to_uppercase()
    )
}

/// What every function needs.
#[derive(Debug, Clone, PartialEq)]
pub struct CommonConfig {
    /// The DynamoDB tables: state (`LSBC_STATE_TABLE`) and activity log
    /// (`LSBC_ACTIVITY_TABLE`).
    pub tables: TableNames,
    /// The queues this function uses (`LSBC_QUEUE_URL_*`, `LSBC_DLQ_URL_*`).
    pub queues: BTreeMap<QueueName, QueueUrls>,
    /// Deliveries after which a failing message is dead-lettered (`LSBC_MAX_RECEIVES`,
    /// default 5; the queues' redrive limit must be higher).
    pub max_receives: u32,
    /// The queues' own redrive limit (`maxReceiveCount`, `LSBC_QUEUE_REDRIVE`, 30): the
    /// delivery before it parks a message with its reason.
    pub queue_redrive: u32,
    /// Messages of one batch handled at once (`LSBC_CONCURRENCY`, default 4).
    pub concurrency: usize,
    /// Activity retention (`LSBC_ACTIVITY_RETENTION_DAYS`, default 14) and ids-only mode
    /// (`LSBC_ACTIVITY_IDS_ONLY`, default false).
    pub policy: ActivityPolicy,
}

impl CommonConfig {
    /// Reads the common variables, requiring the URLs of `queues`.
    pub fn read<F: Fn(&str) -> Option<String>>(env: &mut Env<F>, queues: &[QueueName]) -> Self {
        let tables = TableNames {
            state: env.required("LSBC_STATE_TABLE").unwrap_or_default(),
            activity: env.required("LSBC_ACTIVITY_TABLE").unwrap_or_default(),
        };
        let mut urls = BTreeMap::new();
        for &queue in queues {
            let url: Option<String> = env.required(&queue_var(queue));
            let dlq_url: Option<String> = env.required(&dlq_var(queue));
            if let (Some(url), Some(dlq_url)) = (url, dlq_url) {
                urls.insert(queue, QueueUrls { url, dlq_url });
            }
        }
        let max_receives = env.optional("LSBC_MAX_RECEIVES", 5u32);
        if max_receives == 0 {
            env.problem("LSBC_MAX_RECEIVES must be at least 1");
        }
        let queue_redrive = env.optional("LSBC_QUEUE_REDRIVE", 30u32);
        if queue_redrive <= max_receives {
            env.problem(format!(
                "LSBC_QUEUE_REDRIVE={queue_redrive} must be above LSBC_MAX_RECEIVES={max_receives}"
            ));
        }
        let concurrency = env.optional("LSBC_CONCURRENCY", 4usize).max(1);
        let days = env.optional("LSBC_ACTIVITY_RETENTION_DAYS", 14i64);
        if !(1..=3650).contains(&days) {
            env.problem(format!(
                "LSBC_ACTIVITY_RETENTION_DAYS={days} must be between 1 and 3650"
            ));
        }
        let ids_only = env.optional("LSBC_ACTIVITY_IDS_ONLY", false);
        Self {
            tables,
            queues: urls,
            max_receives,
            queue_redrive,
            concurrency,
            policy: ActivityPolicy {
                retention: SignedDuration::from_hours(days.clamp(1, 3650) * 24),
                ids_only,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(vars: &[(&str, &str)]) -> Env<impl Fn(&str) -> Option<String>> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Env::new(move |k: &str| map.get(k).cloned())
    }

    #[test]
    fn every_missing_or_bad_variable_is_reported_at_once() {
        let mut e = env(&[
            ("LSBC_MAX_RECEIVES", "many"),
            ("LSBC_ACTIVITY_RETENTION_DAYS", "0"),
        ]);
        let _ = CommonConfig::read(&mut e, &[QueueName::Push(Flow::Customers)]);
        let err = e.finish().unwrap_err();
        assert_eq!(
            err.problems,
            [
                "LSBC_STATE_TABLE is not set",
                "LSBC_ACTIVITY_TABLE is not set",
                "LSBC_QUEUE_URL_CUSTOMERS_PUSH is not set",
                "LSBC_DLQ_URL_CUSTOMERS_PUSH is not set",
                "LSBC_MAX_RECEIVES=`many` is invalid: invalid digit found in string",
                "LSBC_ACTIVITY_RETENTION_DAYS=0 must be between 1 and 3650",
            ]
        );
    }

    #[test]
    fn the_lightspeed_secret_has_a_default_only_when_asked() {
        let mut e = env(&[]);
        assert_eq!(SecretNames::read(&mut e).lightspeed, "lsbc/lightspeed");
        assert_eq!(SecretNames::read_lightspeed(&mut e), None);
        let mut e = env(&[("LSBC_LIGHTSPEED_SECRET", " shop/ls ")]);
        assert_eq!(SecretNames::read(&mut e).lightspeed, "shop/ls");
        assert_eq!(
            SecretNames::read_lightspeed(&mut e).as_deref(),
            Some("shop/ls")
        );
        e.finish().unwrap();
    }

    #[test]
    fn flow_lists_parse() {
        assert_eq!(
            "customers, products".parse::<FlowList>().unwrap(),
            FlowList(vec![Flow::Customers, Flow::Products])
        );
        assert!("customers,invoices".parse::<FlowList>().is_err());
    }

    #[test]
    fn a_complete_environment_reads_cleanly() {
        let mut e = env(&[
            ("LSBC_STATE_TABLE", "state"),
            ("LSBC_ACTIVITY_TABLE", "activity"),
            ("LSBC_QUEUE_URL_POLL", "https://q/poll.fifo"),
            ("LSBC_DLQ_URL_POLL", "https://q/poll-dlq.fifo"),
            ("LSBC_ACTIVITY_IDS_ONLY", "true"),
        ]);
        let c = CommonConfig::read(&mut e, &[QueueName::Poll]);
        e.finish().unwrap();
        assert_eq!(c.tables.state, "state");
        assert_eq!(
            c.queues[&QueueName::Poll].dlq_url,
            "https://q/poll-dlq.fifo"
        );
        assert_eq!(c.max_receives, 5);
        assert!(c.policy.ids_only);
        assert_eq!(c.policy.retention, SignedDuration::from_hours(14 * 24));
    }
}
