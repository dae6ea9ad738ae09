//! The SQS message contract between stages, version 1.
//!
//! A message on a transform queue carries a source record (or, when the record is too big
//! for a queue message, a reference to re-read it from the source); a message on a push
//! queue carries a target command. Both share one envelope so every log line and every
//! dead letter names the flow, the record key, the source version and the trace id.
//!
//! The wire form is pinned by snapshot tests: change it only by adding a new version.
//!
//! **Size.** SQS refuses messages over 256 KiB. [`Envelope::encode`] refuses bodies over
//! [`MAX_BODY_BYTES`] (a margin below the limit for attributes). The poll stage then sends
//! the record as a [`Body::Reference`] and the transform stage re-reads it from the source
//! by key (the source is the system of record, so nothing is lost and nothing is stored
//! elsewhere). A transformer splits a large aggregate (a matrix with hundreds of variants)
//! into several commands, each a message of its own.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::flow::Flow;
use crate::ports::OutboundMessage;
use crate::record::{ContentHash, MatchKey, Record, RecordKey, SourceVersion, TraceId};

/// The contract version this build writes and reads.
pub const ENVELOPE_VERSION: u32 = 1;

/// SQS's limit is 262,144 bytes for body and attributes together; keep 6 KiB spare.
pub const MAX_BODY_BYTES: usize = 256 * 1024 - 6 * 1024;

/// Why a message could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    /// The encoded body is over [`MAX_BODY_BYTES`].
    #[error("message for record {key} is {size} bytes, over the {MAX_BODY_BYTES}-byte queue limit")]
    TooLarge {
        /// The record.
        key: RecordKey,
        /// Its encoded size.
        size: usize,
    },
    /// The body is not a valid envelope.
    #[error("message body is not a valid envelope at `{path}`: {message}")]
    Malformed {
        /// JSON path of the problem.
        path: String,
        /// What was wrong there.
        message: String,
    },
    /// Written by a newer (or unknown) contract version.
    #[error("message has envelope version {0}, this build reads version {ENVELOPE_VERSION}")]
    UnsupportedVersion(u32),
}

/// What a message carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Body {
    /// A source record for the transform stage.
    Record {
        /// The source's JSON for the record.
        payload: Value,
    },
    /// A source record too large to travel: the transform stage re-reads it by key.
    Reference,
    /// A source record the poll could not track (no id, an unreadable version): the
    /// transform stage parks it in the dead-letter queue with `field` and `reason`.
    Rejected {
        /// The source's JSON for the record (`null` when too large to travel).
        payload: Value,
        /// The field at fault.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A target command for the push stage.
    Command {
        /// How to find the target record without a link.
        match_key: MatchKey,
        /// Hash of `command`, compared with the link's to skip unchanged content.
        content_hash: ContentHash,
        /// The flow's command: what the target should look like.
        command: Value,
        /// Non-fatal problems the transform found (e.g. a truncated name), for the log.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        warnings: Vec<String>,
        /// The source record it was made from, for the activity log (dropped when the
        /// message would be too large with it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source: Option<Value>,
    },
}

/// One message on a stage queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// Contract version ([`ENVELOPE_VERSION`]).
    pub v: u32,
    /// The flow.
    pub flow: Flow,
    /// The record's identity in the source (for commands: the command's own key, e.g. one
    /// variant of a matrix).
    pub key: RecordKey,
    /// The source version the message was made from.
    pub source_version: SourceVersion,
    /// Follows the change through every stage.
    pub trace_id: TraceId,
    /// How many times this change was deliberately re-queued by a stage (not SQS redeliveries,
    /// which the queue counts itself).
    pub attempt: u32,
    /// The content.
    #[serde(flatten)]
    pub body: Body,
}

impl Envelope {
    /// A transform-stage message for a record.
    pub fn record(record: &Record, trace_id: TraceId) -> Self {
        Self {
            v: ENVELOPE_VERSION,
            flow: record.flow,
            key: record.key.clone(),
            source_version: record.version.clone(),
            trace_id,
            attempt: 0,
            body: Body::Record {
                payload: record.payload.clone(),
            },
        }
    }

    /// A transform-stage message for a record the source could not track, as version
    /// `version` (the page's position: it has none of its own that can be read).
    pub fn rejected(
        flow: Flow,
        rejected: &crate::ports::Rejected,
        version: SourceVersion,
        trace_id: TraceId,
    ) -> Self {
        Self {
            v: ENVELOPE_VERSION,
            flow,
            key: rejected.key.clone(),
            source_version: version,
            trace_id,
            attempt: 0,
            body: Body::Rejected {
                payload: rejected.payload.clone(),
                field: rejected.field.clone(),
                reason: rejected.reason.clone(),
            },
        }
    }

    /// The same message without the payload, for a record too large to travel.
    #[must_use]
    pub fn into_reference(self) -> Self {
        Self {
            body: Body::Reference,
            ..self
        }
    }

    /// A push-stage message for one command made from a record.
    pub fn command(
        flow: Flow,
        key: RecordKey,
        source_version: SourceVersion,
        trace_id: TraceId,
        match_key: MatchKey,
        command: Value,
        warnings: Vec<String>,
    ) -> Self {
        Self {
            v: ENVELOPE_VERSION,
            flow,
            key,
            source_version,
            trace_id,
            attempt: 0,
            body: Body::Command {
                match_key,
                content_hash: ContentHash::of_json(&command),
                command,
                warnings,
                source: None,
            },
        }
    }

    /// Attaches the source record to a command, for the activity log.
    #[must_use]
    pub fn with_source(mut self, payload: Value) -> Self {
        if let Body::Command { source, .. } = &mut self.body {
            *source = Some(payload);
        }
        self
    }

    /// Encodes the message body, refusing what would not fit in a queue message.
    pub fn encode(&self) -> Result<String, EnvelopeError> {
        let text = serde_json::to_string(self).map_err(|e| EnvelopeError::Malformed {
            path: String::new(),
            message: e.to_string(),
        })?;
        let text = queue_safe(text);
        if text.len() > MAX_BODY_BYTES {
            return Err(EnvelopeError::TooLarge {
                key: self.key.clone(),
                size: text.len(),
            });
        }
        Ok(text)
    }

    /// The message to send: the encoded envelope, shrunk once when too large to travel (a
    /// record becomes a [`Body::Reference`], a command loses its copy of the source), with
    /// its FIFO group and de-duplication id. Returns the envelope as sent. Still too large
    /// after shrinking is [`EnvelopeError::TooLarge`].
    pub fn to_message(self) -> Result<(Self, OutboundMessage), EnvelopeError> {
        let (env, body) = match self.encode() {
            Ok(body) => (self, body),
            Err(EnvelopeError::TooLarge { .. }) => {
                let shrunk = self.shrunk();
                let body = shrunk.encode()?;
                (shrunk, body)
            }
            Err(other) => return Err(other),
        };
        let message = OutboundMessage {
            body,
            group_id: env.group_id(),
            dedup_id: env.dedup_id(),
        };
        Ok((env, message))
    }

    /// Whether this message is a record that travels by reference (re-read by key).
    pub fn is_reference(&self) -> bool {
        matches!(self.body, Body::Reference)
    }

    /// The same message without what may be dropped to make it fit: a record's payload
    /// (the transform re-reads it), a command's copy of its source (kept for the log only).
    fn shrunk(self) -> Self {
        match self.body {
            Body::Record { .. } => self.into_reference(),
            Body::Command {
                match_key,
                content_hash,
                command,
                warnings,
                source: _,
            } => Self {
                body: Body::Command {
                    match_key,
                    content_hash,
                    command,
                    warnings,
                    source: None,
                },
                ..self
            },
            Body::Rejected { field, reason, .. } => Self {
                body: Body::Rejected {
                    payload: Value::Null,
                    field,
                    reason,
                },
                ..self
            },
            Body::Reference => self,
        }
    }

    /// Decodes a message body, naming the JSON path of any problem.
    pub fn decode(text: &str) -> Result<Self, EnvelopeError> {
        #[derive(Deserialize)]
        struct VersionOnly {
            v: u32,
        }
        let version: VersionOnly =
            serde_json::from_str(text).map_err(|e| EnvelopeError::Malformed {
                path: "v".into(),
                message: e.to_string(),
            })?;
        if version.v != ENVELOPE_VERSION {
            return Err(EnvelopeError::UnsupportedVersion(version.v));
        }
        let de = &mut serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(de).map_err(|e| EnvelopeError::Malformed {
            path: e.path().to_string(),
            message: e.inner().to_string(),
        })
    }

    /// The match key of a command, or the record key for a record.
    pub fn match_key(&self) -> Option<&MatchKey> {
        match &self.body {
            Body::Command { match_key, .. } => Some(match_key),
            Body::Record { .. } | Body::Reference | Body::Rejected { .. } => None,
        }
    }

    /// The FIFO message group: messages of one group are handled one at a time, in order.
    /// Records group by record key, commands by match key (so two records racing for one
    /// e-mail address or SKU are serialised).
    pub fn group_id(&self) -> String {
        match &self.body {
            Body::Command { match_key, .. } => group_id(self.flow, match_key.as_str()),
            Body::Record { .. } | Body::Reference | Body::Rejected { .. } => {
                group_id(self.flow, self.key.as_str())
            }
        }
    }

    /// The FIFO de-duplication id: the same message sent twice within the queue's
    /// de-duplication window (5 minutes on SQS) is delivered once — a transform retried
    /// after its commands were queued doesn't queue them again. The trace id is part of
    /// it, so a record that changes A → B → A within one source second is not mistaken for
    /// the first A; duplicates from other sends are absorbed by the push stage, which
    /// writes nothing for content it already pushed.
    pub fn dedup_id(&self) -> String {
        let content = match &self.body {
            Body::Record { payload } | Body::Rejected { payload, .. } => {
                ContentHash::of_json(payload).to_hex()
            }
            Body::Reference => "reference".to_owned(),
            Body::Command { content_hash, .. } => content_hash.to_hex(),
        };
        let mut h = Sha256::new();
        for part in [
            self.flow.as_str(),
            self.key.as_str(),
            &self.source_version.to_string(),
            &content,
            &self.attempt.to_string(),
            self.trace_id.as_str(),
        ] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        hex::encode(h.finalize())
    }
}

/// JSON text SQS accepts: SQS refuses message bodies with characters outside XML's set,
/// and serde_json writes U+FFFE and U+FFFF as they are (it escapes only control
/// characters). Both can stand only inside JSON strings, where their `\u` escapes decode to
/// the same characters.
fn queue_safe(text: String) -> String {
    if text.contains(['\u{FFFE}', '\u{FFFF}']) {
        text.replace('\u{FFFE}', "\\ufffe")
            .replace('\u{FFFF}', "\\uffff")
    } else {
        text
    }
}

/// A FIFO group id for `key` in `flow`: printable ASCII, at most 128 characters (SQS's
/// rules). Keys outside that are replaced by their hash, which keeps them distinct.
pub fn group_id(flow: Flow, key: &str) -> String {
    let plain = format!("{flow}:{key}");
    let printable = plain.bytes().all(|b| b.is_ascii_graphic());
    if printable && plain.len() <= 128 {
        plain
    } else {
        format!(
            "{flow}:#{}",
            hex::encode(&Sha256::digest(key.as_bytes())[..20])
        )
    }
}

/// A request to poll one flow now (from a webhook, an operator or a schedule).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollRequest {
    /// Contract version ([`ENVELOPE_VERSION`]).
    pub v: u32,
    /// The flow to poll.
    pub flow: Flow,
    /// Why (for logs): `schedule`, `bc-notification`, `operator`, …
    pub reason: String,
    /// Follows the request into the poll's log lines.
    pub trace_id: TraceId,
}

impl PollRequest {
    /// A request to poll `flow` now.
    pub fn new(flow: Flow, reason: impl Into<String>) -> Self {
        Self {
            v: ENVELOPE_VERSION,
            flow,
            reason: reason.into(),
            trace_id: TraceId::new(),
        }
    }

    /// FIFO group: one poll per flow at a time.
    pub fn group_id(&self) -> String {
        format!("poll:{}", self.flow)
    }

    /// Requests for one flow within the same minute collapse into one (de-duplication by
    /// flow and minute), so a burst of notifications causes one poll.
    pub fn dedup_id(&self, now: jiff::Timestamp) -> String {
        format!("poll-{}-{}", self.flow, now.as_second() / 60)
    }

    /// The message to send at `now`: requests for one flow within a minute collapse into
    /// one (a burst of notifications causes one poll).
    pub fn to_message(&self, now: jiff::Timestamp) -> Result<OutboundMessage, EnvelopeError> {
        self.message(self.dedup_id(now))
    }

    /// The message that continues a poll cut short by its budget: never collapsed with
    /// another request.
    pub fn continuation(&self) -> Result<OutboundMessage, EnvelopeError> {
        self.message(format!("continue-{}", self.trace_id))
    }

    fn message(&self, dedup_id: String) -> Result<OutboundMessage, EnvelopeError> {
        let body = serde_json::to_string(self).map_err(|e| EnvelopeError::Malformed {
            path: String::new(),
            message: e.to_string(),
        })?;
        let body = queue_safe(body);
        Ok(OutboundMessage {
            body,
            group_id: self.group_id(),
            dedup_id,
        })
    }

    /// Decodes a message body.
    pub fn decode(text: &str) -> Result<Self, EnvelopeError> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let request: Self =
            serde_path_to_error::deserialize(de).map_err(|e| EnvelopeError::Malformed {
                path: e.path().to_string(),
                message: e.inner().to_string(),
            })?;
        if request.v != ENVELOPE_VERSION {
            return Err(EnvelopeError::UnsupportedVersion(request.v));
        }
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn trace() -> TraceId {
        serde_json::from_value(json!("5f0c6f5e2b9a4f7e9d1c3b5a7e9f1d3c")).unwrap()
    }

    fn record() -> Record {
        Record {
            flow: Flow::Customers,
            key: RecordKey::parse("42").unwrap(),
            version: "2024-05-01T08:00:00Z".parse().unwrap(),
            payload: json!({"customerID": "42", "firstName": "Zoë", "Contact": {"Emails": ""}}),
        }
    }

    #[test]
    fn record_envelope_wire_format_is_pinned() {
        let env = Envelope::record(&record(), trace());
        insta::assert_snapshot!(serde_json::to_string_pretty(&env).unwrap());
        assert_eq!(Envelope::decode(&env.encode().unwrap()).unwrap(), env);
    }

    #[test]
    fn reference_envelope_wire_format_is_pinned() {
        let env = Envelope::record(&record(), trace()).into_reference();
        insta::assert_snapshot!(serde_json::to_string_pretty(&env).unwrap());
        assert_eq!(Envelope::decode(&env.encode().unwrap()).unwrap(), env);
    }

    #[test]
    fn command_envelope_wire_format_is_pinned() {
        let env = Envelope::command(
            Flow::Stock,
            RecordKey::parse("1000").unwrap(),
            SourceVersion::Sequence(918),
            trace(),
            MatchKey::parse("1000").unwrap(),
            json!({"itemID": "7", "shops": [{"shopID": "1", "qoh": "12"}]}),
            vec!["shop 3 has no Lightspeed shop mapped".into()],
        );
        insta::assert_snapshot!(serde_json::to_string_pretty(&env).unwrap());
        assert_eq!(Envelope::decode(&env.encode().unwrap()).unwrap(), env);
    }

    #[test]
    fn poll_request_wire_format_is_pinned() {
        let mut req = PollRequest::new(Flow::Stock, "bc-notification");
        req.trace_id = trace();
        insta::assert_snapshot!(serde_json::to_string_pretty(&req).unwrap());
        assert_eq!(
            PollRequest::decode(&serde_json::to_string(&req).unwrap()).unwrap(),
            req
        );
    }

    #[test]
    fn oversized_messages_are_refused_with_the_record_key() {
        let mut rec = record();
        rec.payload = json!({"note": "x".repeat(MAX_BODY_BYTES)});
        let env = Envelope::record(&rec, trace());
        let err = env.clone().encode().unwrap_err();
        assert!(matches!(err, EnvelopeError::TooLarge { ref key, .. } if key.as_str() == "42"));
        assert!(err.to_string().contains("record 42"));
        let reference = env.into_reference().encode().unwrap();
        assert!(reference.len() < 1024);
    }

    #[test]
    fn decoding_names_the_bad_field_and_refuses_other_versions() {
        let bad = r#"{"v":1,"flow":"customers","key":"","source_version":1,"trace_id":"t","attempt":0,"kind":"reference"}"#;
        let err = Envelope::decode(bad).unwrap_err().to_string();
        assert!(err.contains("key"), "{err}");
        let newer = r#"{"v":2,"flow":"customers"}"#;
        assert!(matches!(
            Envelope::decode(newer),
            Err(EnvelopeError::UnsupportedVersion(2))
        ));
        assert!(Envelope::decode("not json").is_err());
    }

    #[test]
    fn group_ids_follow_sqs_rules() {
        assert_eq!(
            group_id(Flow::Customers, "a@b.example"),
            "customers:a@b.example"
        );
        let accented = group_id(Flow::Customers, "zoë@exemple.fr");
        assert!(accented.is_ascii() && accented.len() <= 128);
        assert_ne!(accented, group_id(Flow::Customers, "zoe@exemple.fr"));
        let long = group_id(Flow::Products, &"S".repeat(300));
        assert!(long.len() <= 128);
        let spaced = group_id(Flow::Products, "SKU 1");
        assert!(!spaced.contains(' '));
    }

    #[test]
    fn dedup_id_is_the_same_only_for_the_same_message() {
        let t = trace();
        let a = Envelope::record(&record(), t.clone());
        assert_eq!(
            a.dedup_id(),
            Envelope::record(&record(), t.clone()).dedup_id()
        );
        // The same content from another send (A -> B -> A within one second) goes through.
        assert_ne!(
            a.dedup_id(),
            Envelope::record(&record(), TraceId::new()).dedup_id()
        );
        let mut changed = record();
        changed.payload["firstName"] = json!("Zoe");
        assert_ne!(a.dedup_id(), Envelope::record(&changed, t).dedup_id());
        assert!(a.dedup_id().len() <= 128);
    }

    #[test]
    fn characters_sqs_refuses_travel_escaped_and_come_back() {
        let record = Record {
            flow: Flow::Customers,
            key: RecordKey::parse("7").unwrap(),
            version: SourceVersion::Sequence(1),
            payload: json!({"firstName": "A\u{FFFF}B\u{FFFE}"}),
        };
        let (_, message) = Envelope::record(&record, trace()).to_message().unwrap();
        assert!(
            !message.body.contains(['\u{FFFE}', '\u{FFFF}']),
            "{}",
            message.body
        );
        let back = Envelope::decode(&message.body).unwrap();
        assert_eq!(
            back.body,
            Body::Record {
                payload: json!({"firstName": "A\u{FFFF}B\u{FFFE}"})
            }
        );
    }
}
