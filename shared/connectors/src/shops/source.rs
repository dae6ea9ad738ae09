//! Lightspeed shops changed since the cursor, by `timeStamp`.

use async_trait::async_trait;
use jiff::Timestamp;
use lsbc_core::ports::{PageToken, ReadRange, Source, SourcePage};
use lsbc_core::{Flow, Overlap, Record, RecordKey, SourceVersion, StageError};
use lsbc_lightspeed::{Archived, LightspeedClient, PageRequest, Query};

use super::OVERLAP;
use crate::lightspeed::{changed_since, external, keyed, read_page, rejected_error, signpost};

/// The Lightspeed shop stream.
#[derive(Debug, Clone)]
pub struct ShopSource {
    client: LightspeedClient,
}

impl ShopSource {
    /// The stream on `client`.
    pub fn new(client: LightspeedClient) -> Self {
        Self { client }
    }
}

#[async_trait]
impl Source for ShopSource {
    fn flow(&self) -> Flow {
        Flow::Shops
    }

    fn stream(&self) -> &'static str {
        "Shop"
    }

    fn overlap(&self) -> Overlap {
        Overlap::Time(OVERLAP)
    }

    async fn signpost(&self, now: Timestamp) -> Result<SourceVersion, StageError> {
        Ok(signpost(now))
    }

    async fn read_page(
        &self,
        range: &ReadRange,
        page: Option<&PageToken>,
    ) -> Result<SourcePage, StageError> {
        let query = changed_since(range, &[], Archived::Include);
        read_page(&self.client, Flow::Shops, "Shop", "shopID", query, page).await
    }

    async fn fetch(&self, key: &RecordKey) -> Result<Option<Record>, StageError> {
        let query = Query::new().eq("shopID", key.as_str()).limit(1);
        let page = self
            .client
            .page_raw("Shop", PageRequest::First(query))
            .await
            .map_err(external)?;
        match page.records.into_iter().next() {
            None => Ok(None),
            Some(raw) => keyed(Flow::Shops, "Shop", "shopID", raw)
                .map(Some)
                .map_err(|r| rejected_error(&r)),
        }
    }
}
