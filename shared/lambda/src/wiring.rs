//! Cold-start wiring shared by the functions: the connector context on the AWS home.

use std::sync::Arc;

use lsbc_connectors::ConnectorContext;
use lsbc_core::ports::SystemClock;

use crate::aws::AwsHome;
use crate::config::SecretNames;

/// The context connectors are built in, on the AWS adapters.
pub fn connector_context(home: &AwsHome, secrets: &SecretNames) -> ConnectorContext {
    ConnectorContext {
        secrets: Arc::new(home.secrets.clone()),
        claims: Arc::new(home.store.clone()),
        config: Arc::new(home.store.clone()),
        links: Arc::new(home.store.clone()),
        clock: Arc::new(SystemClock),
        lightspeed_secret: secrets.lightspeed.clone(),
        business_central_secret: secrets.business_central.clone(),
    }
}
