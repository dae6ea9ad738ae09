//! The Business Central side of the example flow: find the location (by link, by code),
//! then create it with the SystemId derived from the shop id, or update its name.

use async_trait::async_trait;
use lsbc_business_central::{BusinessCentral, EntitySet, Filter};
use lsbc_core::ports::{PushRequest, Sink, SinkOutcome};
use lsbc_core::{Flow, StageError};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::command::ShopCommand;
use super::keys::location_system_id;
use crate::business_central::{Trail, Writer};

/// The shops flow's sink.
#[derive(Debug, Clone)]
pub struct ShopSink {
    writer: Writer,
}

impl ShopSink {
    /// A sink writing through `bc`.
    pub fn new(bc: BusinessCentral) -> Self {
        Self {
            writer: Writer::new(bc),
        }
    }
}

#[async_trait]
impl Sink for ShopSink {
    fn flow(&self) -> Flow {
        Flow::Shops
    }

    async fn upsert(&self, request: PushRequest<'_>) -> Result<SinkOutcome, StageError> {
        let key = request.key;
        let command: ShopCommand =
            serde_json::from_value(request.command.clone()).map_err(|e| {
                StageError::InvalidRecord {
                    key: key.clone(),
                    field: "(command)".into(),
                    reason: e.to_string(),
                }
            })?;
        let mut desired = Map::new();
        desired.insert("code".into(), Value::String(command.code.clone()));
        desired.insert(
            "displayName".into(),
            Value::String(command.display_name.clone()),
        );
        let mut trail = Trail::default();
        let linked = match request.link.and_then(|l| l.target_id.parse::<Uuid>().ok()) {
            Some(id) => self.writer.get(key, EntitySet::Locations, id).await?,
            None => None,
        };
        let found = match linked {
            Some(r) => Some(r),
            None => {
                self.writer
                    .find(
                        key,
                        EntitySet::Locations,
                        Filter::eq("code", command.code.as_str()),
                    )
                    .await?
            }
        };
        let written = if let Some(current) = found {
            self.writer
                .update(
                    key,
                    EntitySet::Locations.into(),
                    current,
                    &desired,
                    &mut trail,
                )
                .await?
        } else {
            let created = self
                .writer
                .create(
                    key,
                    EntitySet::Locations.into(),
                    EntitySet::Locations.into(),
                    location_system_id(command.shop_id),
                    desired.clone(),
                    &mut trail,
                )
                .await?;
            self.writer
                .catch_up(
                    key,
                    EntitySet::Locations.into(),
                    created,
                    &desired,
                    &mut trail,
                )
                .await?
        };
        let target_id = written
            .record
            .id()
            .map(|id| id.to_string())
            .ok_or_else(|| StageError::InvalidRecord {
                key: key.clone(),
                field: "location.id".into(),
                reason: "Business Central returned a location without id".into(),
            })?;
        Ok(SinkOutcome {
            action: written.action,
            target_id,
            etag: written.record.etag().map(|e| e.as_str().to_owned()),
            extra: trail.extra,
            sent: trail.sent,
        })
    }
}
