//! How many requests each API has answered through one [`Connectors`](crate::Connectors),
//! and how many of them were 429s: for reports such as `lsbc run`'s table.

use crate::Connectors;

/// Requests one API answered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Answered {
    /// Requests sent (retries included; token requests excluded).
    pub requests: u64,
    /// Of those, answered 429 Too Many Requests.
    pub throttled: u64,
}

impl Answered {
    /// The requests answered since `earlier`.
    #[must_use]
    pub fn since(self, earlier: Answered) -> Answered {
        Answered {
            requests: self.requests.saturating_sub(earlier.requests),
            throttled: self.throttled.saturating_sub(earlier.throttled),
        }
    }
}

/// Requests answered by each API.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestCounts {
    /// Lightspeed Retail.
    pub lightspeed: Answered,
    /// Business Central (every principal).
    pub business_central: Answered,
}

impl RequestCounts {
    /// The requests answered since `earlier`.
    #[must_use]
    pub fn since(self, earlier: RequestCounts) -> RequestCounts {
        RequestCounts {
            lightspeed: self.lightspeed.since(earlier.lightspeed),
            business_central: self.business_central.since(earlier.business_central),
        }
    }
}

impl Connectors {
    /// Requests each API has answered so far through these connectors (nothing for an API
    /// not connected yet).
    pub fn requests(&self) -> RequestCounts {
        let lightspeed = self.lightspeed.get().map_or_else(Answered::default, |c| {
            let stats = c.stats();
            Answered {
                requests: stats.requests,
                throttled: stats.throttled,
            }
        });
        let business_central = self
            .business_central
            .get()
            .map_or_else(Answered::default, |c| {
                c.stats()
                    .iter()
                    .fold(Answered::default(), |sum, p| Answered {
                        requests: sum.requests + p.requests,
                        throttled: sum.throttled + p.throttled,
                    })
            });
        RequestCounts {
            lightspeed,
            business_central,
        }
    }
}
