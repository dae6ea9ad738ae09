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

/// At most this many boundary marks are kept. Stored grouped by version, a mark takes about
/// 35 bytes (`["item:123456","0123456789abcdef"],`), so a full cursor stays near 280 KB,
/// inside DynamoDB's 400 KB item limit. Beyond it the oldest marks are dropped: the records
/// they stood for may be handed on again (the push stage's idempotent upsert absorbs them),
/// and only while a full cursor's reads reach back to them (two overlap windows after the
/// last finished read, see [`Cursor::read_from`]), so a bulk edit larger than this is
/// re-sent by the polls of those windows, not forever.
pub const MAX_SEEN: usize = 8_000;

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
    /// Records already handed on whose version lies in the overlap window. Stored as
    /// `boundary`, grouped by version (a cursor stored as a flat `seen` list still loads).
    #[serde(
        default,
        rename = "boundary",
        alias = "seen",
        serialize_with = "boundary::serialize",
        deserialize_with = "boundary::deserialize"
    )]
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

    /// Where the next read starts (inclusive), or `None` to read from the beginning: the
    /// overlap window before the position; when the cursor's marks are full, never more
    /// than two windows before the signpost of the last read that finished.
    ///
    /// The window is there for records committed late with an older time (a slow commit,
    /// the source's clock behind ours). A full cursor means a bulk edit larger than the
    /// marks: while the position stays put, each re-read would send the records it has no
    /// marks for again, so the re-read is bounded by our clock too. Then a record is still
    /// found when it is committed less than one window after a finished read with a time up
    /// to one window before that read (Lightspeed's clock and ours agree within seconds).
    /// Sequence cursors keep their position: their reads are open-ended and a signpost
    /// there means "no cap".
    pub fn read_from(&self, overlap: Overlap) -> Option<SourceVersion> {
        let from_position = overlap.rewind(self.position.as_ref()?);
        match (overlap, &self.read_to) {
            (Overlap::Time(_), Some(read_to @ SourceVersion::Timestamp(_)))
                if self.seen.len() >= MAX_SEEN =>
            {
                let from_read = overlap.rewind(&overlap.rewind(read_to));
                Some(if from_read.is_newer_than(&from_position) {
                    from_read
                } else {
                    from_position
                })
            }
            _ => Some(from_position),
        }
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
            match self.seen.iter_mut().find(|m| &m.key == key) {
                // Seen again unchanged: the mark keeps its place (see the overflow below).
                Some(mark) if mark.hash == short => mark.version = version.clone(),
                _ => {
                    self.seen.retain(|m| &m.key != key);
                    self.seen.push(SeenMark {
                        key: key.clone(),
                        version: version.clone(),
                        hash: short,
                    });
                }
            }
        }
        if let Some(position) = &self.position {
            let floor = overlap.rewind(position);
            self.seen.retain(|m| !floor.is_newer_than(&m.version));
        }
        // Oldest first (a stable sort keeps the order within a version): the stored form
        // groups neighbours of one version.
        let by_version = |a: &SeenMark, b: &SeenMark| {
            a.version
                .partial_cmp(&b.version)
                .unwrap_or(std::cmp::Ordering::Equal)
        };
        self.seen.sort_by(by_version);
        if self.seen.len() > MAX_SEEN {
            // The oldest version goes first; within one version the marks made last go, so
            // a bulk edit beyond the limit re-sends the same few records on a re-read
            // instead of each page pushing out the marks the next page needs.
            let excess = self.seen.len() - MAX_SEEN;
            let mut ranked: Vec<(usize, SeenMark)> = std::mem::take(&mut self.seen)
                .into_iter()
                .enumerate()
                .collect();
            ranked.sort_by(|(i, a), (j, b)| by_version(a, b).then(j.cmp(i)));
            ranked.drain(..excess);
            ranked.sort_by_key(|(i, _)| *i);
            self.seen = ranked.into_iter().map(|(_, mark)| mark).collect();
        }
    }
}

/// The stored form of the boundary marks: groups of `[key, hash]` pairs under their version.
mod boundary {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::SeenMark;
    use crate::record::{RecordKey, SourceVersion};

    #[derive(Serialize, Deserialize)]
    struct Group {
        at: SourceVersion,
        marks: Vec<(RecordKey, String)>,
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stored {
        Group(Group),
        Flat(SeenMark),
    }

    pub(super) fn serialize<S: Serializer>(seen: &[SeenMark], s: S) -> Result<S::Ok, S::Error> {
        // Consecutive marks of one version share a group, so the order survives a reload.
        let mut groups: Vec<Group> = Vec::new();
        for mark in seen {
            let pair = (mark.key.clone(), mark.hash.clone());
            match groups.last_mut() {
                Some(group) if group.at == mark.version => group.marks.push(pair),
                _ => groups.push(Group {
                    at: mark.version.clone(),
                    marks: vec![pair],
                }),
            }
        }
        groups.serialize(s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<SeenMark>, D::Error> {
        let stored = Vec::<Stored>::deserialize(d)?;
        let mut seen = Vec::new();
        for item in stored {
            match item {
                Stored::Flat(mark) => seen.push(mark),
                Stored::Group(group) => {
                    seen.extend(group.marks.into_iter().map(|(key, hash)| SeenMark {
                        key,
                        version: group.at.clone(),
                        hash,
                    }));
                }
            }
        }
        Ok(seen)
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
    fn a_full_cursor_reads_back_at_most_two_windows_before_its_last_finished_read() {
        let mut c = Cursor::default();
        let v = ts("2024-01-01T10:00:00Z");
        let h = hash(1);
        let keys: Vec<RecordKey> = (0..MAX_SEEN).map(|i| key(&format!("bulk{i}"))).collect();
        c.advance(
            keys.iter().map(|k| (k, &v, &h)),
            FIVE_MIN,
            &ts("2024-01-01T10:01:00Z"),
        );
        c.read_to = Some(ts("2024-01-01T11:00:00Z"));
        assert_eq!(
            c.read_from(FIVE_MIN),
            Some(ts("2024-01-01T10:50:00Z")),
            "two windows before the last finished read"
        );
        // A cursor with room keeps reading a window before its position, however old.
        c.seen.pop();
        assert_eq!(c.read_from(FIVE_MIN), Some(ts("2024-01-01T09:55:00Z")));
        c.seen.push(c.seen[0].clone());
        c.read_to = Some(ts("2024-01-01T10:01:00Z"));
        assert_eq!(
            c.read_from(FIVE_MIN),
            Some(ts("2024-01-01T09:55:00Z")),
            "one window before the position"
        );
        // A sequence cursor's signpost means "no cap": it never moves the start.
        let mut s = Cursor::at(SourceVersion::Sequence(100));
        s.read_to = Some(SourceVersion::Sequence(u64::MAX));
        assert_eq!(
            s.read_from(Overlap::Count(10)),
            Some(SourceVersion::Sequence(90))
        );
    }

    #[test]
    fn a_full_cursor_fits_in_one_dynamodb_item() {
        let mut c = Cursor::default();
        let base = ts("2024-01-01T10:00:00Z");
        let marks: Vec<(RecordKey, SourceVersion, ContentHash)> = (0..MAX_SEEN)
            .map(|i| {
                let at =
                    base.minus_duration(SignedDuration::from_secs(i64::try_from(i % 300).unwrap()));
                (
                    key(&format!("matrix:{:07}", 9_000_000 + i)),
                    at,
                    hash(i as u64),
                )
            })
            .collect();
        c.advance(marks.iter().map(|(k, v, h)| (k, v, h)), FIVE_MIN, &base);
        assert_eq!(c.seen.len(), MAX_SEEN);
        let stored = serde_json::to_string(&c).unwrap();
        assert!(
            stored.len() < 320 * 1024,
            "{} bytes for {MAX_SEEN} marks",
            stored.len()
        );
        let back: Cursor = serde_json::from_str(&stored).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn a_cursor_stored_with_a_flat_list_of_marks_still_loads() {
        let old = json!({
            "position": "2024-01-01T10:00:00Z",
            "seen": [
                {"key": "42", "version": "2024-01-01T10:00:00Z", "hash": "6b86b273ff34fce1"},
                {"key": "43", "version": "2024-01-01T09:59:00Z", "hash": "d4735e3a265e16ee"}
            ]
        });
        let c: Cursor = serde_json::from_value(old).unwrap();
        assert_eq!(c.seen.len(), 2);
        assert!(!c.is_new(&key("42"), &hash(1)));
        assert_eq!(c.seen[1].version, ts("2024-01-01T09:59:00Z"));
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
