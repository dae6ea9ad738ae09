//! The example flow's keys: the location code a shop becomes and the SystemId of the
//! location the flow creates.

use uuid::Uuid;

const NAMESPACE: Uuid = Uuid::from_u128(0x6c73_6263_2d73_686f_7073_2d69_6473_0001);

/// The location code of shop `shop_id`: `prefix` and the id (BC codes hold 10 characters).
pub fn location_code(prefix: &str, shop_id: u64) -> String {
    format!("{prefix}{shop_id}").to_uppercase()
}

/// The SystemId of the BC location made from Lightspeed shop `shop_id`.
pub fn location_system_id(shop_id: u64) -> Uuid {
    Uuid::new_v5(&NAMESPACE, format!("lightspeed-shop:{shop_id}").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_ids_are_stable() {
        assert_eq!(location_code("ls-", 7), "LS-7");
        assert_eq!(location_system_id(7), location_system_id(7));
        assert_ne!(location_system_id(7), location_system_id(8));
    }
}
