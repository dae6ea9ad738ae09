//! The default mappings shipped with the binary, one JSON document per flow (in
//! `src/defaults/`), plus the tables built in code (countries).

use std::collections::BTreeMap;

use lsbc_core::Flow;
use serde_json::Value;

use crate::countries::country_table;
use crate::doc::MappingDoc;
use crate::{Mapper, MappingError};

const CUSTOMERS: &str = include_str!("defaults/customers.json");
const PRODUCTS: &str = include_str!("defaults/products.json");

/// The default document of `flow`, if the flow has a mapping.
pub fn default_doc(flow: Flow) -> Result<Option<MappingDoc>, MappingError> {
    let text = match flow {
        Flow::Customers => CUSTOMERS,
        Flow::Products => PRODUCTS,
        Flow::Orders | Flow::Stock => return Ok(None),
    };
    let json: Value = serde_json::from_str(text).map_err(|e| MappingError {
        problems: vec![format!("default mapping of {flow} is not JSON: {e}")],
    })?;
    let mut doc = MappingDoc::from_json(&json)?;
    doc.tables.insert("country".into(), country_table());
    Ok(Some(doc))
}

/// A mapper with every flow's defaults.
pub fn default_mapper() -> Result<Mapper, MappingError> {
    let mut defaults = BTreeMap::new();
    for flow in Flow::ALL {
        if let Some(doc) = default_doc(flow)? {
            defaults.insert(flow, doc);
        }
    }
    Ok(Mapper::new(defaults))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CompiledMapping;

    #[test]
    fn every_default_mapping_compiles() {
        for flow in Flow::ALL {
            if let Some(doc) = default_doc(flow).unwrap() {
                CompiledMapping::compile(&doc).unwrap_or_else(|e| panic!("{flow}: {e}"));
            }
        }
        let mapper = default_mapper().unwrap();
        assert!(mapper.defaults(Flow::Customers).is_some());
        assert!(mapper.defaults(Flow::Products).is_some());
    }
}
