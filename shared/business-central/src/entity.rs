//! The entity sets this client speaks to, the paths below a company that name them, and the
//! generic record (a JSON object plus its `@odata.etag`) that the sync's mapping stage
//! produces and reads. It must not do IO.

use std::fmt;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::BcError;
use crate::odata::ETag;

/// API v2.0 entity sets used by the sync (names from A: APIV2*.Page.al `EntitySetName`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EntitySet {
    /// `customers`
    Customers,
    /// `contacts` (v2.0 since BC 18.0)
    Contacts,
    /// `contactsInformation`, read-only, only under `customers({id})`.
    ContactsInformation,
    /// `items`
    Items,
    /// `itemVariants` (also under `items({id})`)
    ItemVariants,
    /// `itemCategories`
    ItemCategories,
    /// `salesOrders`
    SalesOrders,
    /// `salesOrderLines` (under `salesOrders({id})`, or top level with `documentId`)
    SalesOrderLines,
    /// `salesInvoices`
    SalesInvoices,
    /// `salesInvoiceLines`
    SalesInvoiceLines,
    /// `salesCreditMemos`
    SalesCreditMemos,
    /// `salesCreditMemoLines`
    SalesCreditMemoLines,
    /// `paymentTerms`
    PaymentTerms,
    /// `paymentMethods`
    PaymentMethods,
    /// `locations` (v2.0 since BC 18.1)
    Locations,
    /// `itemLedgerEntries`, read-only (v2.0 since BC 19.0)
    ItemLedgerEntries,
}

impl EntitySet {
    /// Every set, for tables and tests.
    pub const ALL: [EntitySet; 16] = [
        Self::Customers,
        Self::Contacts,
        Self::ContactsInformation,
        Self::Items,
        Self::ItemVariants,
        Self::ItemCategories,
        Self::SalesOrders,
        Self::SalesOrderLines,
        Self::SalesInvoices,
        Self::SalesInvoiceLines,
        Self::SalesCreditMemos,
        Self::SalesCreditMemoLines,
        Self::PaymentTerms,
        Self::PaymentMethods,
        Self::Locations,
        Self::ItemLedgerEntries,
    ];

    /// The URL segment.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Customers => "customers",
            Self::Contacts => "contacts",
            Self::ContactsInformation => "contactsInformation",
            Self::Items => "items",
            Self::ItemVariants => "itemVariants",
            Self::ItemCategories => "itemCategories",
            Self::SalesOrders => "salesOrders",
            Self::SalesOrderLines => "salesOrderLines",
            Self::SalesInvoices => "salesInvoices",
            Self::SalesInvoiceLines => "salesInvoiceLines",
            Self::SalesCreditMemos => "salesCreditMemos",
            Self::SalesCreditMemoLines => "salesCreditMemoLines",
            Self::PaymentTerms => "paymentTerms",
            Self::PaymentMethods => "paymentMethods",
            Self::Locations => "locations",
            Self::ItemLedgerEntries => "itemLedgerEntries",
        }
    }

    /// Parses a URL segment.
    pub fn parse(segment: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == segment)
    }

    /// For a sales document, its lines' set (the deep-insert navigation property).
    pub fn lines(self) -> Option<EntitySet> {
        match self {
            Self::SalesOrders => Some(Self::SalesOrderLines),
            Self::SalesInvoices => Some(Self::SalesInvoiceLines),
            Self::SalesCreditMemos => Some(Self::SalesCreditMemoLines),
            _ => None,
        }
    }

    /// True for sets BC serves read-only.
    pub fn is_read_only(self) -> bool {
        matches!(self, Self::ItemLedgerEntries | Self::ContactsInformation)
    }
}

impl fmt::Display for EntitySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A path below `companies({id})/`: a collection, an entity, or something nested under one
/// (`salesOrders({id})/salesOrderLines`, `customers({id})/contactsInformation`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityPath {
    parent: Option<(EntitySet, Uuid)>,
    set: EntitySet,
}

impl EntityPath {
    /// A top-level collection.
    pub fn collection(set: EntitySet) -> Self {
        Self { parent: None, set }
    }

    /// A collection under one parent entity.
    pub fn nested(parent: EntitySet, parent_id: Uuid, set: EntitySet) -> Self {
        Self {
            parent: Some((parent, parent_id)),
            set,
        }
    }

    /// The parent's set, for nested collections.
    pub fn parent_set(&self) -> Option<EntitySet> {
        self.parent.map(|(set, _)| set)
    }

    /// The collection the path ends in (drives validation).
    pub fn set(&self) -> EntitySet {
        self.set
    }

    /// The relative URL of the collection.
    pub fn collection_url(&self) -> String {
        match self.parent {
            Some((parent, id)) => format!("{parent}({id})/{}", self.set),
            None => self.set.as_str().to_owned(),
        }
    }

    /// The relative URL of one entity in the collection.
    pub fn entity_url(&self, id: Uuid) -> String {
        format!("{}({id})", self.collection_url())
    }
}

impl From<EntitySet> for EntityPath {
    fn from(set: EntitySet) -> Self {
        Self::collection(set)
    }
}

/// One entity as BC sent it: its fields (nested expansions included) and its etag.
/// This is the generic currency between the mapping stage (JSON bodies) and BC.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    etag: Option<ETag>,
    fields: Map<String, Value>,
}

impl Record {
    /// Splits `@odata.etag` from a JSON object; other `@odata.*` annotations are dropped.
    pub fn from_object(mut object: Map<String, Value>) -> Self {
        let etag = match object.remove("@odata.etag") {
            Some(Value::String(tag)) => Some(ETag::new(tag)),
            _ => None,
        };
        object.retain(|key, _| !key.starts_with("@odata."));
        Self {
            etag,
            fields: object,
        }
    }

    pub(crate) fn from_value(value: Value, what: &'static str) -> Result<Self, BcError> {
        match value {
            Value::Object(object) => Ok(Self::from_object(object)),
            other => Err(BcError::Decode {
                what,
                path: ".".to_owned(),
                source: <serde_json::Error as serde::de::Error>::custom(format!(
                    "expected an object, found {other}"
                )),
            }),
        }
    }

    /// The entity's `id` (SystemId), when present and a GUID.
    pub fn id(&self) -> Option<Uuid> {
        self.str("id").and_then(|s| s.parse().ok())
    }

    /// The `@odata.etag` to send back as `If-Match`.
    pub fn etag(&self) -> Option<&ETag> {
        self.etag.as_ref()
    }

    /// One field.
    pub fn get(&self, field: &str) -> Option<&Value> {
        self.fields.get(field)
    }

    /// One string field.
    pub fn str(&self, field: &str) -> Option<&str> {
        self.fields.get(field).and_then(Value::as_str)
    }

    /// All fields.
    pub fn fields(&self) -> &Map<String, Value> {
        &self.fields
    }

    /// Expanded children under `navigation` (e.g. `salesOrderLines`), as records.
    pub fn expanded(&self, navigation: &str) -> Vec<Record> {
        match self.fields.get(navigation) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_object().cloned().map(Record::from_object))
                .collect(),
            Some(Value::Object(object)) => vec![Record::from_object(object.clone())],
            _ => Vec::new(),
        }
    }

    /// Decodes into a typed model; errors name the JSON path.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, BcError> {
        let mut object = self.fields.clone();
        if let Some(tag) = &self.etag {
            object.insert("@odata.etag".to_owned(), Value::String(tag.to_string()));
        }
        serde_path_to_error::deserialize(Value::Object(object))
            .map_err(|e| BcError::decode(std::any::type_name::<T>(), e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_render_like_bc_urls() {
        let id: Uuid = "b6f4017a-b749-ee11-ad0b-a1422c0f7f1f".parse().unwrap();
        assert_eq!(EntityPath::from(EntitySet::Items).collection_url(), "items");
        assert_eq!(
            EntityPath::nested(EntitySet::SalesOrders, id, EntitySet::SalesOrderLines)
                .collection_url(),
            "salesOrders(b6f4017a-b749-ee11-ad0b-a1422c0f7f1f)/salesOrderLines"
        );
        assert_eq!(
            EntityPath::from(EntitySet::Customers).entity_url(id),
            "customers(b6f4017a-b749-ee11-ad0b-a1422c0f7f1f)"
        );
        for set in EntitySet::ALL {
            assert_eq!(EntitySet::parse(set.as_str()), Some(set));
        }
    }

    #[test]
    fn records_keep_the_etag_apart() {
        let Value::Object(object) = json!({
            "@odata.context": "x",
            "@odata.etag": "W/\"JzE5OzE=\"",
            "id": "b6f4017a-b749-ee11-ad0b-a1422c0f7f1f",
            "salesOrderLines": [{"@odata.etag": "W/\"a\"", "sequence": 10000}]
        }) else {
            unreachable!()
        };
        let record = Record::from_object(object);
        assert_eq!(record.etag().unwrap().as_str(), "W/\"JzE5OzE=\"");
        assert!(record.get("@odata.context").is_none());
        assert!(record.id().is_some());
        let lines = record.expanded("salesOrderLines");
        assert_eq!(lines[0].etag().unwrap().as_str(), "W/\"a\"");
    }
}
