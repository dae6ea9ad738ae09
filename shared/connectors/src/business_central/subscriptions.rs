//! The Business Central webhook subscriptions the sync keeps: one per entity set a flow
//! wakes on (the registry's `wakes_on`), all pointing at the webhook function with the
//! webhook secret as `clientState`. BC drops a subscription three days after its create or
//! last renewal, and deletes one whose notification URL answered a 4xx (api-notes §5): so
//! [`ensure`] renews each one that expires within [`RENEW_WITHIN`], makes again each one
//! that is gone, and removes ours that no flow needs any more. Subscriptions of other
//! receivers are never touched.

use jiff::{SignedDuration, Timestamp};
use lsbc_business_central::BusinessCentral;
use lsbc_business_central::webhook::Subscription;
use lsbc_core::StageError;
use lsbc_core::ports::{ClaimKey, ClaimStore};
use serde::Serialize;

use super::external;

/// A subscription expiring sooner than this is renewed (BC's lifetime is three days; the
/// keeper runs hourly, so a day and a half leaves many chances).
pub const RENEW_WITHIN: SignedDuration = SignedDuration::from_hours(36);

/// How often the poll function keeps the subscriptions.
pub const KEEP_EVERY: std::time::Duration = std::time::Duration::from_hours(1);

/// Whether it is time to keep the subscriptions: the first caller in each [`KEEP_EVERY`]
/// gets a lease nobody releases — across every instance of the poll function, so BC sees
/// one check an hour however many run.
pub async fn due(claims: &dyn ClaimStore, now: Timestamp) -> Result<bool, StageError> {
    Ok(claims
        .acquire(
            &ClaimKey::named("webhook-subscriptions"),
            // An owner of its own: a claim is its owner's again, and no caller may be.
            &lsbc_core::TraceId::new().to_string(),
            KEEP_EVERY,
            now,
        )
        .await?)
}

/// Where one entity set's subscription stands, and what was done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubscriptionStatus {
    /// The entity set (`salesInvoices`).
    pub entity_set: String,
    /// BC's id of the subscription, if there is one.
    pub subscription_id: Option<String>,
    /// When BC drops it.
    pub expires: Option<Timestamp>,
    /// `present`, `missing` (listing); `kept`, `renewed`, `created`, `removed`, `failed`.
    pub action: &'static str,
    /// Why, for `failed` and `removed`.
    pub detail: String,
}

/// The entity sets the flows of this build wake on, sorted.
pub fn wanted_sets() -> Vec<&'static str> {
    let mut sets: Vec<&'static str> = crate::available_flows()
        .into_iter()
        .flat_map(|f| crate::registered(f).wakes_on().iter().copied())
        .collect();
    sets.sort_unstable();
    sets.dedup();
    sets
}

/// The subscription resource of `set` in the connected company.
async fn resource(bc: &BusinessCentral, set: &str) -> Result<String, StageError> {
    let company = bc.company_id().await.map_err(|e| external(None, e))?;
    Ok(format!("/api/v2.0/companies({company})/{set}"))
}

/// Whether BC's `resource` text names `wanted` (with or without the leading slash, any
/// casing of the company id).
fn same_resource(resource: &str, wanted: &str) -> bool {
    resource
        .trim_start_matches('/')
        .eq_ignore_ascii_case(wanted.trim_start_matches('/'))
}

/// The entity set a resource text ends in.
fn set_of(resource: &str) -> String {
    resource
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .split('?')
        .next()
        .unwrap_or_default()
        .to_owned()
}

fn status(
    set: &str,
    sub: Option<&Subscription>,
    action: &'static str,
    detail: String,
) -> SubscriptionStatus {
    SubscriptionStatus {
        entity_set: set.to_owned(),
        subscription_id: sub.map(|s| s.subscription_id.clone()),
        expires: sub.and_then(|s| s.expiration_date_time),
        action,
        detail,
    }
}

/// Ours among every subscription of the environment: those notifying `url`.
async fn ours(bc: &BusinessCentral, url: &str) -> Result<Vec<Subscription>, StageError> {
    Ok(bc
        .subscriptions()
        .await
        .map_err(|e| external(None, e))?
        .into_iter()
        .filter(|s| s.notification_url == url)
        .collect())
}

/// Where each wanted set's subscription to `url` stands (`present` or `missing`), and ours
/// that no flow needs (`not needed`). Reads only.
pub async fn list(bc: &BusinessCentral, url: &str) -> Result<Vec<SubscriptionStatus>, StageError> {
    let ours = ours(bc, url).await?;
    let mut out = Vec::new();
    let mut matched = vec![false; ours.len()];
    for set in wanted_sets() {
        let wanted = resource(bc, set).await?;
        match ours
            .iter()
            .position(|s| same_resource(&s.resource, &wanted))
        {
            Some(n) => {
                matched[n] = true;
                out.push(status(set, Some(&ours[n]), "present", String::new()));
            }
            None => out.push(status(set, None, "missing", String::new())),
        }
    }
    for (sub, _) in ours.iter().zip(&matched).filter(|(_, m)| !**m) {
        out.push(status(
            &set_of(&sub.resource),
            Some(sub),
            "not needed",
            String::new(),
        ));
    }
    Ok(out)
}

/// Makes every wanted subscription to `url` exist and last at least [`RENEW_WITHIN`]
/// beyond `now`, with `client_state`; removes ours that no flow needs. A set BC refuses is
/// `failed` with BC's answer; the others go on.
pub async fn ensure(
    bc: &BusinessCentral,
    url: &str,
    client_state: &str,
    now: Timestamp,
) -> Result<Vec<SubscriptionStatus>, StageError> {
    let ours = ours(bc, url).await?;
    let mut matched = vec![false; ours.len()];
    let mut out = Vec::new();
    for set in wanted_sets() {
        let wanted = resource(bc, set).await?;
        let found = ours
            .iter()
            .position(|s| same_resource(&s.resource, &wanted));
        let result = match found {
            Some(n) => {
                matched[n] = true;
                let sub = &ours[n];
                let expiring = sub
                    .expiration_date_time
                    .is_none_or(|at| at.duration_since(now) < RENEW_WITHIN);
                if sub.client_state != client_state || expiring {
                    let mut renewed = sub.clone();
                    renewed.client_state = client_state.to_owned();
                    bc.renew_subscription(&renewed)
                        .await
                        .map(|s| status(set, Some(&s), "renewed", String::new()))
                } else {
                    Ok(status(set, Some(sub), "kept", String::new()))
                }
            }
            None => bc
                .create_subscription(url, &wanted, client_state)
                .await
                .map(|s| status(set, Some(&s), "created", String::new())),
        };
        out.push(result.unwrap_or_else(|e| {
            tracing::warn!(entity_set = set, error = %e, "A webhook subscription could not be made or renewed.");
            status(set, found.map(|n| &ours[n]), "failed", e.to_string())
        }));
    }
    for (sub, _) in ours.iter().zip(&matched).filter(|(_, m)| !**m) {
        let set = set_of(&sub.resource);
        out.push(match bc.delete_subscription(sub).await {
            Ok(()) => status(&set, Some(sub), "removed", "no flow wakes on it".into()),
            Err(e) => status(&set, Some(sub), "failed", e.to_string()),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_compare_as_bc_may_spell_them() {
        let wanted = "/api/v2.0/companies(6a9f…)/salesInvoices";
        assert!(same_resource(
            "api/v2.0/companies(6A9F…)/salesInvoices",
            wanted
        ));
        assert!(!same_resource(
            "/api/v2.0/companies(6a9f…)/salesOrders",
            wanted
        ));
        assert_eq!(set_of(wanted), "salesInvoices");
        assert!(wanted_sets().contains(&"salesInvoices"));
    }
}
