//! Whether Business Central keeps the `id` the sync chooses on POST, per company and entity
//! set: **honoured** (the record gets it), **refused** (400, like any read-only control:
//! nothing is created) or **ignored** (BC assigns its own SystemId). Microsoft's sources
//! disagree: the v2.0 transition guide says a SystemId may be given on create, while the
//! APIV2 pages declare `id` not editable (microsoft/BCApps `APIV2Customers.Page.al`) and
//! public reports show such POSTs refused (MicrosoftDocs/dynamics365smb-devitpro-pb #2445);
//! document pages may differ from master-data pages (microsoft/ALAppExtensions #23028).
//!
//! The answer is found twice: by a probe at `lsbc connect business-central` (an item
//! category with a code of its own, deleted at once: no number series, no ledger, no
//! contact or template behind it, so nothing is left in the company), and on the first
//! create of every entity set (the real record, so the set's own answer is known). It is
//! kept in the state store, in each flow's `findings` document, so every function and the
//! CLI see it, and `lsbc status` shows it.
//!
//! What the sync does with it: a refused `id` is not sent again; an ignored one is still
//! sent (harmless) but never relied on: records are found again after a lost answer by a
//! key BC keeps (see each sink).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use jiff::Timestamp;
use lsbc_business_central::{BcError, BusinessCentral, ETag, EntitySet, ErrorCode, Record};
use lsbc_core::ports::{Clock, ConfigDoc, ConfigKind, ConfigStore};
use lsbc_core::{Flow, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use uuid::Uuid;

/// How Business Central answers a POST that carries `id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdAnswer {
    /// The record gets the `id` sent.
    Honoured,
    /// The POST is refused (400) and nothing is created.
    Refused,
    /// The record is created with an id BC chose.
    Ignored,
}

impl IdAnswer {
    /// `honoured`, `refused` or `ignored`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Honoured => "honoured",
            Self::Refused => "refused",
            Self::Ignored => "ignored",
        }
    }

    /// What the sync does under this answer, in one sentence (for `lsbc status`).
    pub fn consequence(self) -> &'static str {
        match self {
            Self::Honoured => {
                "creates send a SystemId derived from the Lightspeed id; a retried create finds the first record by it"
            }
            Self::Refused => {
                "creates are sent without id; a retried create finds the first record by a key Business Central keeps"
            }
            Self::Ignored => {
                "the id sent is not kept; a retried create finds the first record by a key Business Central keeps"
            }
        }
    }
}

impl fmt::Display for IdAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an answer was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FoundBy {
    /// The probe at `lsbc connect business-central`.
    Probe,
    /// A create of the sync.
    Create,
}

/// One finding: the answer of one entity set in one company.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdFinding {
    /// The answer.
    pub answer: IdAnswer,
    /// How it was found.
    pub found_by: FoundBy,
    /// When.
    pub at: Timestamp,
}

/// A finding with where it holds, as `lsbc status` lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The flow whose document keeps it.
    pub flow: Flow,
    /// The company's SystemId.
    pub company: String,
    /// The entity set (`customers`, `itemVariants`, …).
    pub entity_set: String,
    /// The finding.
    #[serde(flatten)]
    pub finding: IdFinding,
}

/// The key of the findings document's `client_ids` section.
const SECTION: &str = "client_ids";

/// The flow whose findings document keeps the answer of `set` (the flow that writes it).
pub fn flow_of(set: EntitySet) -> Flow {
    match set {
        EntitySet::Customers | EntitySet::Contacts | EntitySet::ContactsInformation => {
            Flow::Customers
        }
        EntitySet::Items | EntitySet::ItemVariants | EntitySet::ItemCategories => Flow::Products,
        EntitySet::ItemLedgerEntries | EntitySet::Locations => Flow::Stock,
        // The sales documents and what only they refer to.
        _ => Flow::Orders,
    }
}

type Known = HashMap<(Uuid, EntitySet), IdFinding>;

/// The answers found so far, read from and written to the state store (or kept in memory
/// only, where no store is given).
pub struct ClientIds {
    store: Option<(Arc<dyn ConfigStore>, Arc<dyn Clock>)>,
    known: Mutex<Known>,
    loaded: Mutex<HashSet<Flow>>,
}

impl fmt::Debug for ClientIds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientIds")
            .field("stored", &self.store.is_some())
            .finish_non_exhaustive()
    }
}

impl ClientIds {
    /// Answers kept in memory only (found again by every process).
    pub fn in_memory() -> Self {
        Self {
            store: None,
            known: Mutex::new(HashMap::new()),
            loaded: Mutex::new(HashSet::new()),
        }
    }

    /// Answers kept in `store`'s findings documents, stamped with `clock`.
    pub fn stored(store: Arc<dyn ConfigStore>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store: Some((store, clock)),
            ..Self::in_memory()
        }
    }

    fn known(&self) -> std::sync::MutexGuard<'_, Known> {
        self.known.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The answer of `set` in `company`, if found yet.
    pub async fn answer(
        &self,
        company: Uuid,
        set: EntitySet,
    ) -> Result<Option<IdAnswer>, StoreError> {
        self.load(flow_of(set)).await?;
        Ok(self.known().get(&(company, set)).map(|f| f.answer))
    }

    async fn load(&self, flow: Flow) -> Result<(), StoreError> {
        let Some((store, _)) = &self.store else {
            return Ok(());
        };
        if self
            .loaded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&flow)
        {
            return Ok(());
        }
        let doc = store.current(flow, ConfigKind::Findings).await?;
        let found = decode(doc.as_ref());
        let mut known = self.known();
        for (company, set, finding) in found {
            known.entry((company, set)).or_insert(finding);
        }
        drop(known);
        self.loaded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(flow);
        Ok(())
    }

    /// Keeps `answer` for `set` in `company` (a new version of the flow's findings document
    /// when it changed).
    pub async fn note(
        &self,
        company: Uuid,
        set: EntitySet,
        answer: IdAnswer,
        found_by: FoundBy,
    ) -> Result<(), StoreError> {
        let flow = flow_of(set);
        self.load(flow).await?;
        if self.known().get(&(company, set)).map(|f| f.answer) == Some(answer) {
            return Ok(());
        }
        let at = match &self.store {
            Some((_, clock)) => clock.now(),
            None => Timestamp::now(),
        };
        let finding = IdFinding {
            answer,
            found_by,
            at,
        };
        tracing::info!(%company, entity_set = set.as_str(), answer = answer.as_str(), ?found_by,
            "Business Central's answer to a client-chosen id found.");
        self.known().insert((company, set), finding.clone());
        let Some((store, _)) = &self.store else {
            return Ok(());
        };
        // A lost race re-reads the document and tries again; findings only add up.
        for _ in 0..3 {
            let current = store.current(flow, ConfigKind::Findings).await?;
            let version = current.as_ref().map_or(0, |d| d.version);
            let mut body = current
                .map(|d| d.body)
                .and_then(|b| b.as_object().cloned())
                .unwrap_or_default();
            let section = body
                .entry(SECTION)
                .or_insert_with(|| Value::Object(Map::new()));
            if !section.is_object() {
                *section = Value::Object(Map::new());
            }
            if let Some(companies) = section.as_object_mut() {
                let sets = companies
                    .entry(company.to_string())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Some(sets) = sets.as_object_mut() {
                    sets.insert(set.as_str().to_owned(), json!(finding));
                }
            }
            let doc = ConfigDoc {
                flow,
                kind: ConfigKind::Findings,
                version: version + 1,
                body: Value::Object(body),
                author: "lsbc".into(),
                saved_at: at,
                comment: Some(format!(
                    "{} answers a client-chosen id: {answer}",
                    set.as_str()
                )),
            };
            match store.save(&doc, version).await {
                Ok(()) => return Ok(()),
                Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict(format!("findings of {flow}")))
    }
}

/// Every finding in `store`, per flow, company and entity set.
pub async fn findings(store: &dyn ConfigStore) -> Result<Vec<Finding>, StoreError> {
    let mut out = Vec::new();
    for flow in Flow::ALL {
        let doc = store.current(flow, ConfigKind::Findings).await?;
        for (company, set, finding) in decode(doc.as_ref()) {
            out.push(Finding {
                flow,
                company: company.to_string(),
                entity_set: set.as_str().to_owned(),
                finding,
            });
        }
    }
    Ok(out)
}

fn decode(doc: Option<&ConfigDoc>) -> Vec<(Uuid, EntitySet, IdFinding)> {
    let mut out = Vec::new();
    let Some(companies) = doc
        .and_then(|d| d.body.get(SECTION))
        .and_then(Value::as_object)
    else {
        return out;
    };
    for (company, sets) in companies {
        let (Ok(company), Some(sets)) = (company.parse::<Uuid>(), sets.as_object()) else {
            continue;
        };
        for (set, finding) in sets {
            let (Some(set), Ok(finding)) = (
                EntitySet::parse(set),
                serde_json::from_value::<IdFinding>(finding.clone()),
            ) else {
                continue;
            };
            out.push((company, set, finding));
        }
    }
    out
}

/// Whether `error` may be BC refusing the `id` of a POST: a 400 that is not one of the
/// refusals that have nothing to do with it (duplicate key, not found). Whether it was is
/// settled by sending the same body without `id`.
pub fn may_refuse_id(error: &BcError) -> bool {
    let Some(api) = error.api() else {
        return false;
    };
    api.status == 400
        && !matches!(
            api.code,
            ErrorCode::EntityWithSameKeyExists
                | ErrorCode::NotFound
                | ErrorCode::ResourceNotFound
                | ErrorCode::RecordNotFound
        )
}

/// The result of the probe of one entity set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Probed {
    /// The entity set probed.
    pub entity_set: String,
    /// Its answer.
    pub answer: IdAnswer,
    /// What was created and deleted at once.
    pub probe: String,
}

/// A probe failed; nothing is known and, as far as the sync can tell, nothing was left.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// Business Central refused the probe (the error says why).
    #[error("probing {set}: {error}")]
    Refused {
        /// The entity set.
        set: &'static str,
        /// BC's answer.
        error: BcError,
    },
    /// The probe record was created but could not be deleted: delete it by hand.
    #[error(
        "the probe {set} {code} (id {id}) could not be deleted: {error}; delete it in Business Central"
    )]
    LeftBehind {
        /// The entity set.
        set: &'static str,
        /// The probe's code.
        code: String,
        /// Its SystemId.
        id: Uuid,
        /// BC's answer to the DELETE.
        error: BcError,
    },
    /// The answer could not be stored.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Probes how the company answers a client-chosen `id`, with an item category of its own
/// (code `LSBCPROBE` + 8 hex digits, deleted at once), and keeps the answer for
/// `itemCategories`. Other sets are found on their first create.
pub async fn probe(bc: &BusinessCentral, ids: &ClientIds) -> Result<Probed, ProbeError> {
    let set = EntitySet::ItemCategories;
    let refused = |error| ProbeError::Refused {
        set: set.as_str(),
        error,
    };
    let company = bc.company_id().await.map_err(refused)?;
    let chosen = Uuid::new_v4();
    let code = format!("LSBCPROBE{}", &chosen.simple().to_string()[..8]).to_uppercase();
    let mut body = Map::new();
    body.insert("code".into(), Value::String(code.clone()));
    body.insert(
        "displayName".into(),
        Value::String("lsbc probe: deleted at once".into()),
    );
    let mut with_id = body.clone();
    with_id.insert("id".into(), Value::String(chosen.to_string()));
    let (record, answer): (Record, IdAnswer) = match bc.create(set, with_id).await {
        Ok(r) if r.id() == Some(chosen) => (r, IdAnswer::Honoured),
        Ok(r) => (r, IdAnswer::Ignored),
        Err(e) if may_refuse_id(&e) => {
            let r = bc.create(set, body).await.map_err(refused)?;
            (r, IdAnswer::Refused)
        }
        Err(e) => return Err(refused(e)),
    };
    let id = record.id().unwrap_or(chosen);
    let etag = record.etag().cloned().unwrap_or_else(ETag::any);
    if let Err(error) = bc.delete(set, id, &etag).await {
        return Err(ProbeError::LeftBehind {
            set: set.as_str(),
            code,
            id,
            error,
        });
    }
    ids.note(company, set, answer, FoundBy::Probe).await?;
    Ok(Probed {
        entity_set: set.as_str().to_owned(),
        answer,
        probe: format!("item category {code}, created and deleted"),
    })
}

/// The findings of `ids`'s store as a table body for `lsbc status`: one row per company
/// and entity set, with what the sync does under the answer.
pub fn describe(found: &[Finding]) -> Vec<BTreeMap<&'static str, String>> {
    found
        .iter()
        .map(|f| {
            BTreeMap::from([
                ("flow", f.flow.to_string()),
                ("company", f.company.clone()),
                ("entity_set", f.entity_set.clone()),
                ("answer", f.finding.answer.to_string()),
                (
                    "found_by",
                    match f.finding.found_by {
                        FoundBy::Probe => "probe at connect".to_owned(),
                        FoundBy::Create => "first create".to_owned(),
                    },
                ),
                ("at", f.finding.at.to_string()),
                ("the sync", f.finding.answer.consequence().to_owned()),
            ])
        })
        .collect()
}
