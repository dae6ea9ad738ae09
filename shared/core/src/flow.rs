//! Flows and the queues between their stages.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One of the four things the sync keeps in step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Flow {
    /// Lightspeed customers → Business Central customers (and contacts).
    Customers,
    /// Lightspeed sales → Business Central sales orders or invoices.
    Orders,
    /// Lightspeed items and matrices → Business Central items and variants.
    Products,
    /// Business Central item ledger entries → Lightspeed stock per shop.
    Stock,
    /// The example flow: Lightspeed shops → Business Central locations. Built only with
    /// the `example-flow` feature, to prove a flow can be added by the documented steps;
    /// never deployed, never in [`Flow::ALL`].
    #[cfg(feature = "example-flow")]
    Shops,
}

impl Flow {
    /// Every flow, in the order the sync runs them on a first start (products before orders,
    /// so order lines find their items).
    pub const ALL: [Flow; 4] = [Flow::Customers, Flow::Products, Flow::Orders, Flow::Stock];

    /// The lowercase name used in queues, keys, logs and configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Flow::Customers => "customers",
            Flow::Orders => "orders",
            Flow::Products => "products",
            Flow::Stock => "stock",
            #[cfg(feature = "example-flow")]
            Flow::Shops => "shops",
        }
    }
}

impl fmt::Display for Flow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a flow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown flow `{0}` (expected one of: customers, orders, products, stock)")]
pub struct UnknownFlow(pub String);

impl FromStr for Flow {
    type Err = UnknownFlow;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "customers" => Ok(Flow::Customers),
            "orders" => Ok(Flow::Orders),
            "products" => Ok(Flow::Products),
            "stock" => Ok(Flow::Stock),
            #[cfg(feature = "example-flow")]
            "shops" => Ok(Flow::Shops),
            _ => Err(UnknownFlow(s.to_owned())),
        }
    }
}

/// A queue of the pipeline. Each has a dead-letter queue beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum QueueName {
    /// Requests to poll a flow now (webhooks, operators).
    Poll,
    /// Source records waiting for the flow's transform stage.
    Transform(Flow),
    /// Target commands waiting for the flow's push stage.
    Push(Flow),
}

impl QueueName {
    /// Every queue of the pipeline.
    pub fn all() -> Vec<QueueName> {
        let mut all = vec![QueueName::Poll];
        for flow in Flow::ALL {
            all.push(QueueName::Transform(flow));
            all.push(QueueName::Push(flow));
        }
        all
    }

    /// The stage that reads this queue: `poll`, `transform` or `push`.
    pub fn stage(self) -> &'static str {
        match self {
            QueueName::Poll => "poll",
            QueueName::Transform(_) => "transform",
            QueueName::Push(_) => "push",
        }
    }

    /// The flow whose records wait in this queue, if any.
    pub fn flow(self) -> Option<Flow> {
        match self {
            QueueName::Poll => None,
            QueueName::Transform(flow) | QueueName::Push(flow) => Some(flow),
        }
    }
}

impl fmt::Display for QueueName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueueName::Poll => f.write_str("poll"),
            QueueName::Transform(flow) => write!(f, "{flow}-transform"),
            QueueName::Push(flow) => write!(f, "{flow}-push"),
        }
    }
}

/// A name that is not a queue of the pipeline.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown queue `{0}` (expected poll, <flow>-transform or <flow>-push)")]
pub struct UnknownQueue(pub String);

impl FromStr for QueueName {
    type Err = UnknownQueue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s == "poll" {
            return Ok(QueueName::Poll);
        }
        let parse = |flow: &str| flow.parse::<Flow>().map_err(|_| UnknownQueue(s.to_owned()));
        if let Some(flow) = s.strip_suffix("-transform") {
            return Ok(QueueName::Transform(parse(flow)?));
        }
        if let Some(flow) = s.strip_suffix("-push") {
            return Ok(QueueName::Push(parse(flow)?));
        }
        Err(UnknownQueue(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flows_round_trip_through_their_names() {
        for flow in Flow::ALL {
            assert_eq!(flow.as_str().parse::<Flow>(), Ok(flow));
            assert_eq!(serde_json::to_string(&flow).unwrap(), format!("\"{flow}\""));
        }
        assert!("invoices".parse::<Flow>().is_err());
    }

    #[test]
    fn queue_names_round_trip() {
        for queue in QueueName::all() {
            assert_eq!(queue.to_string().parse::<QueueName>(), Ok(queue));
        }
        assert_eq!(QueueName::all().len(), 9);
        assert!("customers-pull".parse::<QueueName>().is_err());
        assert!("foo-push".parse::<QueueName>().is_err());
    }
}
