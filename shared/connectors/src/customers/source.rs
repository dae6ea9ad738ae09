//! Lightspeed customers changed since the cursor, with their contact details and custom
//! fields, one record per customer.
//!
//! The stream is `Customer.timeStamp`. Contact details are written nested in the customer
//! (the API has no Contact endpoint); the sandbox moves the customer's `timeStamp` when they
//! change, and the docs describe `Customer.timeStamp` as the record's last change (inferred:
//! unlike `Item.timeStamp`, no exclusion of nested changes is documented).

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use lsbc_core::ports::{PageToken, ReadRange, Source, SourcePage};
use lsbc_core::{Flow, Overlap, Record, RecordKey, SourceVersion, StageError};
use lsbc_lightspeed::{Archived, LightspeedClient, LightspeedError};

use crate::lightspeed::{changed_since, external, keyed, read_page, rejected_error, signpost};

/// Relations every customer is read with.
pub const RELATIONS: [&str; 2] = ["Contact", "CustomFieldValues"];

/// The Lightspeed customer stream.
#[derive(Debug, Clone)]
pub struct CustomerSource {
    client: LightspeedClient,
    overlap: SignedDuration,
}

impl CustomerSource {
    /// The stream on `client`, re-reading `overlap` before the cursor on every poll.
    pub fn new(client: LightspeedClient, overlap: SignedDuration) -> Self {
        Self { client, overlap }
    }
}

#[async_trait]
impl Source for CustomerSource {
    fn flow(&self) -> Flow {
        Flow::Customers
    }

    fn stream(&self) -> &'static str {
        "Customer"
    }

    fn overlap(&self) -> Overlap {
        Overlap::Time(self.overlap)
    }

    async fn signpost(&self, now: Timestamp) -> Result<SourceVersion, StageError> {
        Ok(signpost(now))
    }

    async fn read_page(
        &self,
        range: &ReadRange,
        page: Option<&PageToken>,
    ) -> Result<SourcePage, StageError> {
        // Archived customers too: the settings decide what happens to them.
        let query = changed_since(range, &RELATIONS, Archived::Include);
        read_page(
            &self.client,
            Flow::Customers,
            "Customer",
            "customerID",
            query,
            page,
        )
        .await
    }

    async fn fetch(&self, key: &RecordKey) -> Result<Option<Record>, StageError> {
        let id: u64 = key
            .as_str()
            .parse()
            .map_err(|_| StageError::InvalidRecord {
                key: key.clone(),
                field: "customerID".into(),
                reason: "not a Lightspeed customer id".into(),
            })?;
        match self
            .client
            .get::<lsbc_lightspeed::model::Customer>(id, &RELATIONS)
            .await
        {
            Ok(record) => keyed(Flow::Customers, "Customer", "customerID", record.raw)
                .map(Some)
                .map_err(|r| rejected_error(&r)),
            Err(LightspeedError::Api { status: 404, .. }) => Ok(None),
            Err(e) => Err(external(e)),
        }
    }
}
