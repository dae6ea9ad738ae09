//! Default mapping documents: each flow ships its own (`mapping.json` in its folder of the
//! connectors crate); here they are read and given the tables built in code (countries).

use lsbc_core::Flow;
use serde_json::Value;

use crate::MappingError;
use crate::countries::country_table;
use crate::doc::MappingDoc;

/// The default document of `flow` from its JSON `text`, with the built-in tables.
pub fn default_doc(flow: Flow, text: &str) -> Result<MappingDoc, MappingError> {
    let json: Value = serde_json::from_str(text).map_err(|e| MappingError {
        problems: vec![format!("default mapping of {flow} is not JSON: {e}")],
    })?;
    let mut doc = MappingDoc::from_json(&json)?;
    doc.tables.insert("country".into(), country_table());
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_default_document_gets_the_country_table() {
        let doc = default_doc(Flow::Customers, r#"{"fields": {}}"#).unwrap();
        assert!(doc.tables.contains_key("country"));
        let err = default_doc(Flow::Customers, "{").unwrap_err();
        assert!(err.to_string().contains("not JSON"), "{err}");
    }
}
