//! Records and the identities they carry: record keys, match keys, source versions,
//! content hashes and trace ids.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::flow::Flow;

/// Longest record or match key accepted (keeps queue group ids and store keys bounded).
pub const MAX_KEY_LEN: usize = 512;

/// Why a key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Empty or only whitespace.
    #[error("key is empty")]
    Empty,
    /// Longer than [`MAX_KEY_LEN`] bytes.
    #[error("key is {0} bytes long (at most {MAX_KEY_LEN})")]
    TooLong(usize),
    /// Contains a control character.
    #[error("key contains a control character")]
    Control,
}

fn check_key(s: &str) -> Result<(), KeyError> {
    if s.trim().is_empty() {
        return Err(KeyError::Empty);
    }
    if s.len() > MAX_KEY_LEN {
        return Err(KeyError::TooLong(s.len()));
    }
    if s.chars().any(char::is_control) {
        return Err(KeyError::Control);
    }
    Ok(())
}

macro_rules! key_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Checks and wraps a key.
            pub fn parse(s: impl Into<String>) -> Result<Self, KeyError> {
                let s = s.into();
                check_key(&s)?;
                Ok(Self(s))
            }

            /// The key as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = KeyError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(s).map_err(serde::de::Error::custom)
            }
        }
    };
}

key_type!(
    /// The identity of a record in its source, unique within a flow: a Lightspeed
    /// `customerID`, `saleID`, `item:<itemID>` / `matrix:<itemMatrixID>`, a BC item number.
    RecordKey
);

impl RecordKey {
    /// The key of a source record without a usable id of its own: `unidentified-` and the
    /// start of its content hash (the same record always gets the same key).
    pub fn unidentified(content: &ContentHash) -> Self {
        let hex = content.to_hex();
        Self(format!("unidentified-{}", hex.get(..16).unwrap_or(&hex)))
    }
}

key_type!(
    /// The value both systems agree on, used to find the target record when there is no
    /// link yet: a normalised e-mail address, a SKU (= BC item number), a sale id as
    /// external document number.
    MatchKey
);

/// The version of a record in its source, used to order changes: a last-modified time
/// (Lightspeed `timeStamp`) or a monotonic sequence (BC item ledger `entryNumber`).
///
/// Versions of different kinds do not compare; no flow mixes them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SourceVersion {
    /// A last-modified time.
    Timestamp(Timestamp),
    /// A position in a monotonic sequence.
    Sequence(u64),
}

impl PartialOrd for SourceVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        match (self, other) {
            (SourceVersion::Timestamp(a), SourceVersion::Timestamp(b)) => Some(a.cmp(b)),
            (SourceVersion::Sequence(a), SourceVersion::Sequence(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }
}

impl SourceVersion {
    /// Whether `self` is strictly newer than `other`. Versions of different kinds are never
    /// newer than each other.
    pub fn is_newer_than(&self, other: &SourceVersion) -> bool {
        self.partial_cmp(other) == Some(Ordering::Greater)
    }

    #[must_use]
    /// Moves a timestamp back by `by`, saturating at the Unix epoch.
    pub fn minus_duration(&self, by: SignedDuration) -> SourceVersion {
        match self {
            SourceVersion::Timestamp(t) => SourceVersion::Timestamp(
                t.checked_sub(by)
                    .unwrap_or(Timestamp::UNIX_EPOCH)
                    .max(Timestamp::UNIX_EPOCH),
            ),
            SourceVersion::Sequence(n) => SourceVersion::Sequence(*n),
        }
    }

    #[must_use]
    /// Moves a sequence back by `by`, saturating at zero.
    pub fn minus_count(&self, by: u64) -> SourceVersion {
        match self {
            SourceVersion::Sequence(n) => SourceVersion::Sequence(n.saturating_sub(by)),
            SourceVersion::Timestamp(t) => SourceVersion::Timestamp(*t),
        }
    }
}

impl fmt::Display for SourceVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceVersion::Timestamp(t) => write!(f, "{t}"),
            SourceVersion::Sequence(n) => write!(f, "{n}"),
        }
    }
}

/// A text that is neither an RFC 3339 time nor a sequence number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is neither a timestamp with offset nor a sequence number")]
pub struct BadVersion(pub String);

impl FromStr for SourceVersion {
    type Err = BadVersion;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Ok(n) = s.parse::<u64>() {
            return Ok(SourceVersion::Sequence(n));
        }
        s.parse::<Timestamp>()
            .map(SourceVersion::Timestamp)
            .map_err(|_| BadVersion(s.to_owned()))
    }
}

/// On the wire a timestamp is an RFC 3339 string in UTC, a sequence is a JSON number.
impl Serialize for SourceVersion {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            SourceVersion::Timestamp(t) => s.serialize_str(&t.to_string()),
            SourceVersion::Sequence(n) => s.serialize_u64(*n),
        }
    }
}

impl<'de> Deserialize<'de> for SourceVersion {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Number(n) => n
                .as_u64()
                .map(SourceVersion::Sequence)
                .ok_or_else(|| serde::de::Error::custom(format!("bad sequence number {n}"))),
            Value::String(s) => s.parse().map_err(serde::de::Error::custom),
            other => Err(serde::de::Error::custom(format!(
                "a source version is a timestamp string or a number, not {other}"
            ))),
        }
    }
}

/// SHA-256 of a JSON value in canonical form (object keys sorted, no whitespace), so the
/// same content always hashes the same whatever the key order it arrived in.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContentHash([u8; 32]);

impl ContentHash {
    /// Hashes a JSON value canonically.
    pub fn of_json(value: &Value) -> Self {
        let mut hasher = Sha256::new();
        write_canonical(value, &mut hasher);
        Self(hasher.finalize().into())
    }

    /// Hashes raw bytes (e.g. an image).
    pub fn of_bytes(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    /// Lowercase hex, 64 characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The first 16 hex characters: enough to tell versions of one record apart.
    pub fn short(&self) -> String {
        hex::encode(&self.0[..8])
    }
}

fn write_canonical(value: &Value, h: &mut Sha256) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            h.update(b"{");
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    h.update(b",");
                }
                h.update(Value::String(k.clone()).to_string().as_bytes());
                h.update(b":");
                if let Some(v) = map.get(k) {
                    write_canonical(v, h);
                }
            }
            h.update(b"}");
        }
        Value::Array(items) => {
            h.update(b"[");
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    h.update(b",");
                }
                write_canonical(v, h);
            }
            h.update(b"]");
        }
        scalar => h.update(scalar.to_string().as_bytes()),
    }
}

impl fmt::Debug for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentHash({})", self.short())
    }
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for ContentHash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for ContentHash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(&s, &mut out)
            .map_err(|e| serde::de::Error::custom(format!("bad content hash `{s}`: {e}")))?;
        Ok(Self(out))
    }
}

/// Follows one change through every stage and log line.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TraceId(String);

impl TraceId {
    /// A fresh random id.
    pub fn new() -> Self {
        Self(uuid::Uuid::new_v4().simple().to_string())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for TraceId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One record read from a source, as the source returned it.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The flow it belongs to.
    pub flow: Flow,
    /// Its identity in the source.
    pub key: RecordKey,
    /// Its version in the source.
    pub version: SourceVersion,
    /// The source's own JSON for it (for Lightspeed: the entity exactly as the API returned
    /// it, relations included).
    pub payload: Value,
}

impl Record {
    /// Hash of the payload, used to recognise a record already handed on.
    pub fn content_hash(&self) -> ContentHash {
        ContentHash::of_json(&self.payload)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn keys_are_checked() {
        assert!(RecordKey::parse("123").is_ok());
        assert_eq!(RecordKey::parse("  "), Err(KeyError::Empty));
        assert_eq!(RecordKey::parse("a\nb"), Err(KeyError::Control));
        assert_eq!(
            RecordKey::parse("x".repeat(513)),
            Err(KeyError::TooLong(513))
        );
        assert!(serde_json::from_str::<MatchKey>("\"\"").is_err());
    }

    #[test]
    fn versions_order_within_their_kind_only() {
        let a: SourceVersion = "2024-05-01T10:00:00+02:00".parse().unwrap();
        let b: SourceVersion = "2024-05-01T09:00:01Z".parse().unwrap();
        assert!(b.is_newer_than(&a));
        assert!(!a.is_newer_than(&b));
        let s1 = SourceVersion::Sequence(5);
        assert!(!s1.is_newer_than(&a) && !a.is_newer_than(&s1));
        assert_eq!(s1.minus_count(10), SourceVersion::Sequence(0));
    }

    #[test]
    fn versions_serialize_as_utc_string_or_number() {
        let t: SourceVersion = "2024-05-01T10:00:00+02:00".parse().unwrap();
        assert_eq!(
            serde_json::to_value(&t).unwrap(),
            json!("2024-05-01T08:00:00Z")
        );
        assert_eq!(
            serde_json::to_value(SourceVersion::Sequence(42)).unwrap(),
            json!(42)
        );
        let back: SourceVersion = serde_json::from_value(json!("2024-05-01T08:00:00Z")).unwrap();
        assert_eq!(back, t);
        assert!(serde_json::from_value::<SourceVersion>(json!(true)).is_err());
    }

    #[test]
    fn content_hash_ignores_key_order_but_not_values() {
        let a = json!({"b": 1, "a": {"y": [1, 2], "x": "é"}});
        let b = json!({"a": {"x": "é", "y": [1, 2]}, "b": 1});
        let c = json!({"a": {"x": "é", "y": [2, 1]}, "b": 1});
        assert_eq!(ContentHash::of_json(&a), ContentHash::of_json(&b));
        assert_ne!(ContentHash::of_json(&a), ContentHash::of_json(&c));
        let h = ContentHash::of_json(&a);
        let back: ContentHash = serde_json::from_value(serde_json::to_value(h).unwrap()).unwrap();
        assert_eq!(back, h);
        assert_eq!(h.short().len(), 16);
    }
}
