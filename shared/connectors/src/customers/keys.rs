//! The customers flow's keys: the SystemIds it gives the Business Central records it
//! creates, derived from the Lightspeed customer id (so a retried create finds the first),
//! and the numbers it gives those without a natural key where BC does not keep that
//! SystemId.

use uuid::Uuid;

use crate::ids::IdScope;

/// The namespace of the SystemIds the sync gives the records it creates.
const NAMESPACE: Uuid = Uuid::from_u128(0x6c73_6263_2d73_796e_632d_6964_7321_0001);

/// The SystemId of the BC customer made from Lightspeed customer `id` (of the account
/// `scope` names).
pub fn customer_system_id(scope: &IdScope, lightspeed_id: &str) -> Uuid {
    Uuid::new_v5(
        &NAMESPACE,
        format!("lightspeed-customer:{}", scope.qualify(lightspeed_id)).as_bytes(),
    )
}

/// The SystemId of the BC contact made from Lightspeed customer `id`.
pub fn contact_system_id(scope: &IdScope, lightspeed_id: &str) -> Uuid {
    Uuid::new_v5(
        &NAMESPACE,
        format!(
            "lightspeed-customer-contact:{}",
            scope.qualify(lightspeed_id)
        )
        .as_bytes(),
    )
}

/// The number a customer without a match key gets where BC does not keep the SystemId the
/// sync chooses: `LS-42`, or `LS123456-42` with the account (20 characters at most:
/// Lightspeed account and customer ids are far shorter).
pub fn customer_marker(scope: &IdScope, lightspeed_id: &str) -> String {
    scope.marker("LS", lightspeed_id)
}

/// The number a person contact without an e-mail address gets where BC does not keep the
/// SystemId the sync chooses.
pub fn contact_marker(scope: &IdScope, lightspeed_id: &str) -> String {
    scope.marker("LSC", lightspeed_id)
}
