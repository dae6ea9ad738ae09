//! The orders flow's keys: the document reference every sale's documents carry (how a
//! document is found again, even after the state store is lost) and the SystemIds the sync
//! gives them, derived from the sale id.

use uuid::Uuid;

use super::command::DocumentKind;
use crate::ids::IdScope;

/// The namespace of the SystemIds the orders flow gives the documents it creates.
const NAMESPACE: Uuid = Uuid::from_u128(0x6c73_6263_2d6f_7264_6572_732d_6964_0001);

/// BC's `externalDocumentNumber` holds 35 characters.
pub const REFERENCE_MAX: usize = 35;

/// The reference of sale `sale_id`'s document of `kind`: `<prefix><saleID>`, and for the
/// second document of an exchange (an invoice beside the credit memo) `-I` after it.
pub fn document_reference(prefix: &str, sale_id: u64, second: bool) -> String {
    let mut reference = format!("{prefix}{sale_id}");
    if second {
        reference.push_str("-I");
    }
    reference
}

/// The SystemId of the document the sync creates for sale `sale_id` (of the account `scope`
/// names) as `kind`.
pub fn document_system_id(scope: &IdScope, sale_id: u64, kind: DocumentKind, second: bool) -> Uuid {
    Uuid::new_v5(
        &NAMESPACE,
        format!(
            "lightspeed-sale:{}:{}{}",
            scope.qualify(sale_id),
            kind.as_str(),
            if second { ":2" } else { "" }
        )
        .as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_fit_and_differ() {
        assert_eq!(document_reference("LS-", 1042, false), "LS-1042");
        assert_eq!(document_reference("LS-", 1042, true), "LS-1042-I");
        let longest = document_reference(&"P".repeat(12), u64::MAX, true);
        assert!(longest.len() <= REFERENCE_MAX, "{longest}");
        let u = IdScope::Unscoped;
        assert_ne!(
            document_system_id(&u, 1, DocumentKind::Invoice, false),
            document_system_id(&u, 1, DocumentKind::CreditMemo, false)
        );
        assert_ne!(
            document_system_id(
                &IdScope::Account("1".into()),
                1,
                DocumentKind::Invoice,
                false
            ),
            document_system_id(
                &IdScope::Account("2".into()),
                1,
                DocumentKind::Invoice,
                false
            )
        );
    }
}
