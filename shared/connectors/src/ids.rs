//! Which Lightspeed account a deployment's records come from, and how the SystemIds and numbers
//! the sync gives Business Central records carry it.
//!
//! The sync derives the SystemId of every BC record it creates from the Lightspeed id (so a
//! create retried after a lost answer finds the first one). Two Lightspeed accounts feeding
//! one BC company both have a customer 42: the ids must carry the account, or the second
//! account's customer 42 would be "found again" as the first's and overwritten.
//!
//! The first poll of any flow that reads Lightspeed (its sources are wrapped in a
//! `RecordingSource`) records the account for the whole deployment (every flow's ids must
//! agree: the orders flow finds the items the products flow made by their ids), in the
//! customers flow's findings document:
//! - a deployment whose flows never polled before (a new one) is **scoped**: its ids derive
//!   from `<account>:<id>`, and the numbers it gives records without a match key carry the
//!   account (`LS123456-42`);
//! - a deployment that already polled before this was recorded (one made by an earlier
//!   version) keeps the **unscoped** derivation of that version, so every record it created
//!   is still found again by the id it has. Two such deployments on one company collide as
//!   before: the README says what to do.
//!
//! Nothing recorded (no poll yet, a preview) reads as unscoped.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use jiff::Timestamp;
use lsbc_core::ports::{
    Clock, ConfigDoc, ConfigKind, ConfigStore, CursorStore, PageToken, ReadRange, Source,
    SourcePage,
};
use lsbc_core::{Flow, Overlap, Record, RecordKey, SourceVersion, StageError, StoreError};
use lsbc_lightspeed::LightspeedClient;
use serde_json::{Map, Value, json};

/// The findings section that holds the account.
const SECTION: &str = "lightspeed_account";

/// Deployment-wide findings are kept in this flow's findings document.
const HOME: Flow = Flow::Customers;

/// How the deployment's derived ids carry the Lightspeed account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum IdScope {
    /// The first version's derivation from the Lightspeed id alone.
    #[default]
    Unscoped,
    /// Derived from the account and the Lightspeed id.
    Account(String),
}

impl IdScope {
    /// The text an id derives from: the Lightspeed id, after `<account>:` when scoped.
    pub fn qualify(&self, id: impl fmt::Display) -> String {
        match self {
            Self::Unscoped => id.to_string(),
            Self::Account(account) => format!("{account}:{id}"),
        }
    }

    /// The number a record without a match key gets where BC does not keep the chosen
    /// SystemId: `<prefix>-<id>`, or `<prefix><account>-<id>` when scoped.
    pub fn marker(&self, prefix: &str, id: &str) -> String {
        match self {
            Self::Unscoped => format!("{prefix}-{id}"),
            Self::Account(account) => format!("{prefix}{account}-{id}"),
        }
    }

    fn stored(&self, at: Timestamp) -> Value {
        match self {
            Self::Unscoped => json!({"scoped": false, "at": at}),
            Self::Account(account) => json!({"scoped": true, "account": account, "at": at}),
        }
    }

    /// The stored form, if `section` holds one.
    fn read(section: &Value) -> Option<Self> {
        match (section.get("scoped")?.as_bool()?, section.get("account")) {
            (false, _) => Some(Self::Unscoped),
            (true, Some(Value::String(account))) if !account.is_empty() => {
                Some(Self::Account(account.clone()))
            }
            _ => None,
        }
    }
}

impl fmt::Display for IdScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unscoped => f.write_str("unscoped (Lightspeed id only)"),
            Self::Account(account) => write!(f, "Lightspeed account {account}"),
        }
    }
}

/// The deployment's id scope, read from (and recorded in) the state store; once recorded
/// it never changes, so it is kept once read.
pub struct IdScopes {
    store: Option<(Arc<dyn ConfigStore>, Arc<dyn Clock>)>,
    known: Mutex<Option<IdScope>>,
}

impl fmt::Debug for IdScopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdScopes")
            .field("stored", &self.store.is_some())
            .finish_non_exhaustive()
    }
}

impl Default for IdScopes {
    fn default() -> Self {
        Self::unscoped()
    }
}

impl IdScopes {
    /// Unscoped, nothing stored (previews, sinks built alone).
    pub fn unscoped() -> Self {
        Self {
            store: None,
            known: Mutex::new(None),
        }
    }

    /// Scopes kept in `store`'s findings documents.
    pub fn stored(store: Arc<dyn ConfigStore>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store: Some((store, clock)),
            known: Mutex::new(None),
        }
    }

    fn known(&self) -> std::sync::MutexGuard<'_, Option<IdScope>> {
        self.known.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How the deployment's ids carry the account (unscoped while nothing is recorded).
    pub async fn of(&self) -> Result<IdScope, StoreError> {
        Ok(self.recorded().await?.unwrap_or_default())
    }

    /// What is recorded, if anything (kept once read).
    pub async fn recorded(&self) -> Result<Option<IdScope>, StoreError> {
        if let Some(scope) = self.known().as_ref() {
            return Ok(Some(scope.clone()));
        }
        let Some((store, _)) = &self.store else {
            return Ok(None);
        };
        let doc = store.current(HOME, ConfigKind::Findings).await?;
        let scope = doc
            .as_ref()
            .and_then(|d| d.body.get(SECTION))
            .and_then(IdScope::read);
        if let Some(scope) = &scope {
            *self.known() = Some(scope.clone());
        }
        Ok(scope)
    }

    /// Records the Lightspeed `account` the deployment reads, once: scoped when none of the
    /// `streams` (every flow's) has a cursor yet (nothing polled before), unscoped when one
    /// has (the records made before keep the ids they have). Returns what is recorded.
    pub async fn record(
        &self,
        streams: &[(Flow, &str)],
        cursors: &dyn CursorStore,
        account: &str,
    ) -> Result<IdScope, StoreError> {
        if let Some(scope) = self.recorded().await? {
            return Ok(scope);
        }
        let Some((store, clock)) = &self.store else {
            return Ok(IdScope::Unscoped);
        };
        let mut polled = false;
        for (flow, stream) in streams {
            polled |= cursors.load(*flow, stream).await?.is_some();
        }
        let flow = HOME;
        let scope = if polled {
            IdScope::Unscoped
        } else {
            IdScope::Account(account.to_owned())
        };
        let at = clock.now();
        // A lost race re-reads: whoever recorded first wins, for every instance.
        for _ in 0..3 {
            let current = store.current(flow, ConfigKind::Findings).await?;
            if let Some(found) = current
                .as_ref()
                .and_then(|d| d.body.get(SECTION))
                .and_then(IdScope::read)
            {
                *self.known() = Some(found.clone());
                return Ok(found);
            }
            let version = current.as_ref().map_or(0, |d| d.version);
            let mut body: Map<String, Value> = current
                .map(|d| d.body)
                .and_then(|b| b.as_object().cloned())
                .unwrap_or_default();
            body.insert(SECTION.into(), scope.stored(at));
            let doc = ConfigDoc {
                flow,
                kind: ConfigKind::Findings,
                version: version + 1,
                body: Value::Object(body),
                author: "lsbc".into(),
                saved_at: at,
                comment: Some(format!("reads Lightspeed account {account}: ids {scope}")),
            };
            match store.save(&doc, version).await {
                Ok(()) => {
                    tracing::info!(%scope, "The Lightspeed account this deployment reads is recorded.");
                    *self.known() = Some(scope.clone());
                    return Ok(scope);
                }
                Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict(format!("findings of {flow}")))
    }
}

/// A Lightspeed source that records the account for the deployment's ids at the start of
/// its first poll (the signpost every poll takes first), not when it is built: building a
/// flow stays free of requests, and a transform, which only re-reads, never records.
pub(crate) struct RecordingSource {
    inner: Arc<dyn Source>,
    recorder: Arc<AccountRecorder>,
}

impl RecordingSource {
    pub(crate) fn wrap(inner: Arc<dyn Source>, recorder: Arc<AccountRecorder>) -> Arc<dyn Source> {
        Arc::new(Self { inner, recorder })
    }
}

/// What recording the account needs: where it goes, the Lightspeed client that knows the
/// account, and every flow's streams (whose cursors tell a deployment that polled before).
pub(crate) struct AccountRecorder {
    pub(crate) scopes: Arc<IdScopes>,
    pub(crate) lightspeed: LightspeedClient,
    pub(crate) cursors: Arc<dyn CursorStore>,
    pub(crate) streams: Vec<(Flow, &'static str)>,
}

impl AccountRecorder {
    async fn ensure(&self) -> Result<(), StageError> {
        if self.scopes.recorded().await?.is_some() {
            return Ok(());
        }
        let account = self
            .lightspeed
            .account_id()
            .await
            .map_err(crate::lightspeed::external)?
            .to_string();
        self.scopes
            .record(&self.streams, self.cursors.as_ref(), &account)
            .await?;
        Ok(())
    }
}

#[async_trait]
impl Source for RecordingSource {
    fn flow(&self) -> Flow {
        self.inner.flow()
    }

    fn stream(&self) -> &str {
        self.inner.stream()
    }

    fn overlap(&self) -> Overlap {
        self.inner.overlap()
    }

    async fn signpost(&self, now: Timestamp) -> Result<SourceVersion, StageError> {
        self.recorder.ensure().await?;
        self.inner.signpost(now).await
    }

    async fn read_page(
        &self,
        range: &ReadRange,
        page: Option<&PageToken>,
    ) -> Result<SourcePage, StageError> {
        self.inner.read_page(range, page).await
    }

    async fn fetch(&self, key: &RecordKey) -> Result<Option<Record>, StageError> {
        self.inner.fetch(key).await
    }
}

#[cfg(test)]
mod tests {
    use lsbc_core::memory::MemoryStore;
    use lsbc_core::ports::{ManualClock, SystemClock};
    use lsbc_core::{Cursor, SourceVersion};

    use super::*;

    fn scopes(store: &MemoryStore) -> IdScopes {
        IdScopes::stored(Arc::new(store.clone()), Arc::new(SystemClock))
    }

    #[test]
    fn unscoped_ids_are_the_first_versions_and_scoped_ones_carry_the_account() {
        assert_eq!(IdScope::Unscoped.qualify(42), "42");
        assert_eq!(IdScope::Unscoped.marker("LS", "42"), "LS-42");
        let scoped = IdScope::Account("123456".into());
        assert_eq!(scoped.qualify(42), "123456:42");
        assert_eq!(scoped.marker("LS", "42"), "LS123456-42");
        assert_eq!(scoped.marker("LSC", "4567890"), "LSC123456-4567890");
    }

    #[tokio::test]
    async fn a_deployment_that_never_polled_is_scoped_once_for_every_instance() {
        let store = MemoryStore::new();
        let (a, b) = (scopes(&store), scopes(&store));
        assert_eq!(a.of().await.unwrap(), IdScope::Unscoped);
        let streams = [(Flow::Customers, "Customer"), (Flow::Products, "Item")];
        let recorded = a.record(&streams, &store, "123456").await.unwrap();
        assert_eq!(recorded, IdScope::Account("123456".into()));
        // Another instance reading another account (a misconfiguration) keeps the first.
        assert_eq!(b.record(&streams, &store, "999").await.unwrap(), recorded);
        assert_eq!(b.of().await.unwrap(), recorded);
        assert_eq!(scopes(&store).of().await.unwrap(), recorded);
    }

    #[tokio::test]
    async fn a_deployment_that_polled_before_keeps_the_ids_it_made() {
        let store = MemoryStore::new();
        let cursors: &dyn CursorStore = &store;
        let at: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        cursors
            .save(
                Flow::Products,
                "ItemMatrix",
                &Cursor::at(SourceVersion::Timestamp(at)),
                0,
            )
            .await
            .unwrap();
        let clock = Arc::new(ManualClock::new(at));
        let scopes = IdScopes::stored(Arc::new(store.clone()), clock);
        let streams = [
            (Flow::Customers, "Customer"),
            (Flow::Products, "Item"),
            (Flow::Products, "ItemMatrix"),
        ];
        let recorded = scopes.record(&streams, &store, "123456").await.unwrap();
        assert_eq!(recorded, IdScope::Unscoped);
        let doc = ConfigStore::current(&store, HOME, ConfigKind::Findings)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(doc.body[SECTION]["scoped"], false);
    }
}
