//! Cursor semantics: where a flow's poll resumes, and which records at the boundary were
//! already handed on.
//!
//! - A poll reads records with version `>=` the cursor's position minus an **overlap
//!   window**, so records that were committed late with an older version are still found.
//! - It caps the read at a **signpost** taken before reading; the cursor never passes it, so
//!   records written while the poll runs are read by the next one.
//! - Records re-read in the overlap window are **de-duplicated** by (record key, content
//!   hash): a record is handed on again only if its content changed.
//! - The cursor is **checkpointed** only after the records up to it were accepted by the
//!   queue.
//!
//! The cursor is stored as JSON (DynamoDB item, SQLite row): it is a contract and is
//! snapshot-tested.

use jiff::SignedDuration;
use serde::{Deserialize, Serialize};

use crate::record::{ContentHash, RecordKey, SourceVersion};

/// At most this many boundary marks are kept (keeps a stored cursor under ~200 KB, inside
/// DynamoDB's 400 KB item limit). Beyond it the oldest marks are dropped: the records they
/// stood for may be handed on again, which the push stage's idempotent upsert absorbs.
pub const MAX_SEEN: usize = 2_000;

/// How far before the cursor a poll re-reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlap {
    /// For timestamp cursors.
    Time(SignedDuration),
    /// For sequence cursors (entry numbers).
    Count(u64),
}

impl Overlap {
    fn rewind(self, version: &SourceVersion) -> SourceVersion {
        match self {
            Overlap::Time(d) => version.minus_duration(d),
            Overlap::Count(n) => version.minus_count(n),
        }
    }
}

/// A record seen at the boundary: its key, version and a short content hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenMark {
    /// The record.
    pub key: RecordKey,
    /// Its version when seen.
    pub version: SourceVersion,
    /// The first 16 hex characters of its content hash.
    pub hash: String,
}

/// A flow's progress through its source stream.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The highest version checkpointed (none before the first poll).
    pub position: Option<SourceVersion>,
    /// Records already handed on whose version lies in the overlap window.
    #[serde(default)]
    pub seen: Vec<SeenMark>,
    /// A read cut short by the poll's budget, to continue from its next page. Without it,
    /// more records sharing one version than a poll may read would be re-read forever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<Resume>,
    /// The signpost of the last poll that read to its end: every record with a version up
    /// to it has been handed on (the stock flow asks this of the orders flow's sales).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_to: Option<SourceVersion>,
}

/// Where an unfinished read continues: its range and the source's token for the next page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resume {
    /// The read's lower bound.
    pub from: Option<SourceVersion>,
    /// The read's signpost.
    pub to: SourceVersion,
    /// The source's token for the next page (for Lightspeed, the `next` URL).
    pub page: String,
}

impl Cursor {
    /// A cursor that starts reading at `position` (for an operator resetting a flow).
    pub fn at(position: SourceVersion) -> Self {
        Self {
            position: Some(position),
            seen: Vec::new(),
            resume: None,
            read_to: None,
        }
    }

    /// Where the next read starts (inclusive): the position minus the overlap window, or
    /// `None` to read from the beginning.
    pub fn read_from(&self, overlap: Overlap) -> Option<SourceVersion> {
        self.position.as_ref().map(|p| overlap.rewind(p))
    }

    /// Whether a record must be handed on: not seen before with the same content.
    pub fn is_new(&self, key: &RecordKey, hash: &ContentHash) -> bool {
        let short = hash.short();
        !self.seen.iter().any(|m| &m.key == key && m.hash == short)
    }

    /// Records that `records` (handed on durably) were seen, and moves the position to the
    /// highest version among them that is not past the `signpost`. Marks outside the overlap
    /// window of the new position are dropped.
    pub fn advance<'a>(
        &mut self,
        records: impl IntoIterator<Item = (&'a RecordKey, &'a SourceVersion, &'a ContentHash)>,
        overlap: Overlap,
        signpost: &SourceVersion,
    ) {
        for (key, version, hash) in records {
            if version.is_newer_than(signpost) {
                continue;
            }
            if self
                .position
                .as_ref()
                .is_none_or(|p| version.is_newer_than(p))
            {
                self.position = Some(version.clone());
            }
            let short = hash.short();
            self.seen.retain(|m| &m.key != key);
            self.seen.push(SeenMark {
                key: key.clone(),
                version: version.clone(),
                hash: short,
            });
        }
        if let Some(position) = &self.position {
            let floor = overlap.rewind(position);
            self.seen.retain(|m| !floor.is_newer_than(&m.version));
        }
        if self.seen.len() > MAX_SEEN {
            self.seen.sort_by(|a, b| {
                a.version
                    .partial_cmp(&b.version)
                    .unwrap_or(std::cmp::Ordering::Equal)
            });
            let excess = self.seen.len() - MAX_SEEN;
            self.seen.drain(..excess);
        }
    }
}

/// A cursor with the store's revision, for conditional checkpoints: two pollers of one flow
/// can't both move it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCursor {
    /// The cursor.
    pub cursor: Cursor,
    /// Incremented on every save; `0` means never saved.
    pub revision: u64,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ts(s: &str) -> SourceVersion {
        s.parse().unwrap()
    }

    fn key(s: &str) -> RecordKey {
        RecordKey::parse(s).unwrap()
    }

    fn hash(n: u64) -> ContentHash {
        ContentHash::of_json(&json!(n))
    }

    const FIVE_MIN: Overlap = Overlap::Time(SignedDuration::from_mins(5));

    #[test]
    fn first_read_starts_at_the_beginning_then_rewinds_by_the_overlap() {
        let mut c = Cursor::default();
        assert_eq!(c.read_from(FIVE_MIN), None);
        let (k, v, h) = (key("1"), ts("2024-01-01T10:00:00Z"), hash(1));
        c.advance([(&k, &v, &h)], FIVE_MIN, &ts("2024-01-01T11:00:00Z"));
        assert_eq!(c.read_from(FIVE_MIN), Some(ts("2024-01-01T09:55:00Z")));
    }

    #[test]
    fn the_cursor_never_passes_the_signpost() {
        let mut c = Cursor::default();
        let signpost = ts("2024-01-01T10:00:00Z");
        let (a, va, ha) = (key("a"), ts("2024-01-01T09:59:59Z"), hash(1));
        let (b, vb, hb) = (key("b"), ts("2024-01-01T10:00:01Z"), hash(2));
        c.advance([(&a, &va, &ha), (&b, &vb, &hb)], FIVE_MIN, &signpost);
        assert_eq!(c.position, Some(va));
        assert!(
            c.is_new(&b, &hb),
            "a record past the signpost is not marked seen"
        );
    }

    #[test]
    fn records_sharing_the_boundary_timestamp_are_deduplicated_by_content() {
        let mut c = Cursor::default();
        let t = ts("2024-01-01T10:00:00Z");
        let keys: Vec<RecordKey> = (0..5).map(|i| key(&i.to_string())).collect();
        let hashes: Vec<ContentHash> = (0..5).map(hash).collect();
        c.advance(
            keys.iter().zip(&hashes).map(|(k, h)| (k, &t, h)),
            FIVE_MIN,
            &ts("2024-01-02T00:00:00Z"),
        );
        for (k, h) in keys.iter().zip(&hashes) {
            assert!(
                !c.is_new(k, h),
                "{k} re-read at the boundary is a duplicate"
            );
        }
        assert!(
            c.is_new(&keys[0], &hash(99)),
            "changed content is handed on again"
        );
        assert!(c.is_new(&key("new"), &hash(0)));
    }

    #[test]
    fn marks_outside_the_overlap_window_are_dropped() {
        let mut c = Cursor::default();
        let far = ts("2024-01-02T00:00:00Z");
        let (a, va, ha) = (key("a"), ts("2024-01-01T10:00:00Z"), hash(1));
        c.advance([(&a, &va, &ha)], FIVE_MIN, &far);
        let (b, vb, hb) = (key("b"), ts("2024-01-01T10:04:00Z"), hash(2));
        c.advance([(&b, &vb, &hb)], FIVE_MIN, &far);
        assert_eq!(c.seen.len(), 2, "10:00 is inside 10:04 - 5 min");
        let (d, vd, hd) = (key("d"), ts("2024-01-01T10:06:00Z"), hash(3));
        c.advance([(&d, &vd, &hd)], FIVE_MIN, &far);
        let kept: Vec<&str> = c.seen.iter().map(|m| m.key.as_str()).collect();
        assert_eq!(kept, ["b", "d"]);
    }

    #[test]
    fn a_late_commit_inside_the_overlap_is_still_found() {
        // Record x committed late with a version older than the cursor's position.
        let mut c = Cursor::default();
        let (a, va, ha) = (key("a"), ts("2024-01-01T10:00:00Z"), hash(1));
        c.advance([(&a, &va, &ha)], FIVE_MIN, &ts("2024-01-01T10:01:00Z"));
        let late = ts("2024-01-01T09:58:00Z");
        let from = c.read_from(FIVE_MIN).unwrap();
        assert!(
            !from.is_newer_than(&late),
            "the next read covers the late record"
        );
        assert!(c.is_new(&key("x"), &hash(5)));
        let (x, hx) = (key("x"), hash(5));
        c.advance([(&x, &late, &hx)], FIVE_MIN, &ts("2024-01-01T10:02:00Z"));
        assert_eq!(
            c.position,
            Some(va),
            "an older record doesn't move the position back"
        );
    }

    #[test]
    fn sequence_cursors_rewind_by_count() {
        let mut c = Cursor::default();
        let (k, v, h) = (key("e"), SourceVersion::Sequence(100), hash(1));
        c.advance(
            [(&k, &v, &h)],
            Overlap::Count(10),
            &SourceVersion::Sequence(200),
        );
        assert_eq!(
            c.read_from(Overlap::Count(10)),
            Some(SourceVersion::Sequence(90))
        );
    }

    #[test]
    fn the_seen_set_is_bounded() {
        let mut c = Cursor::default();
        let t = ts("2024-01-01T10:00:00Z");
        let keys: Vec<RecordKey> = (0..MAX_SEEN + 10).map(|i| key(&i.to_string())).collect();
        let h = hash(1);
        c.advance(keys.iter().map(|k| (k, &t, &h)), FIVE_MIN, &t);
        assert_eq!(c.seen.len(), MAX_SEEN);
    }

    #[test]
    fn stored_form_is_pinned() {
        let mut c = Cursor::default();
        let (k, v, h) = (key("42"), ts("2024-01-01T10:00:00Z"), hash(1));
        c.advance([(&k, &v, &h)], FIVE_MIN, &v);
        insta::assert_json_snapshot!(c);
        let back: Cursor = serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
        assert_eq!(back, c);
    }
}
