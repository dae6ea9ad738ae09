//! Errors of the Business Central client, kept apart by origin (BC's own error body,
//! transport, decoding, validation before send, the token endpoint) and one classifier that
//! tells the caller what happens next. It must not retry or log anything itself.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

/// BC's error codes (api-notes §3 "Error shape", from D: dev-itpro/webservices/dynamics-error-codes.md),
/// decoded from `{"error":{"code":…}}`. Codes not listed here keep their text in `Other`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `Internal_EntityWithSameKeyExists`: a record with the same primary key exists.
    EntityWithSameKeyExists,
    /// `BadRequest_NotFound`: the URL names something that does not exist.
    NotFound,
    /// `BadRequest_ResourceNotFound`.
    ResourceNotFound,
    /// `Internal_RecordNotFound`.
    RecordNotFound,
    /// `Request_EntityChanged`: the `If-Match` etag is stale (HTTP 409).
    EntityChanged,
    /// `BadRequest_InvalidToken`: `If-Match` missing or unusable (not an auth problem).
    InvalidConcurrencyToken,
    /// `BadRequest_MethodNotAllowed`.
    MethodNotAllowed,
    /// `BadRequest_MethodNotImplemented`.
    MethodNotImplemented,
    /// `BadRequest_InvalidOperation` (e.g. writing a read-only control).
    InvalidOperation,
    /// `BadRequest_RequiredParamNotProvided`.
    RequiredParamNotProvided,
    /// `Application_DialogException`: an AL `Error()`, e.g. "You may not enter numbers manually".
    DialogException,
    /// `Application_StringExceededLength`.
    StringExceededLength,
    /// `Application_InvalidGUID`.
    InvalidGuid,
    /// `Application_FieldValidationException`.
    FieldValidation,
    /// `Application_EvaluateException`.
    EvaluateException,
    /// `Application_FilterErrorException`.
    FilterError,
    /// `Internal_CompanyNotFound`.
    CompanyNotFound,
    /// `Internal_InvalidTableRelation`.
    InvalidTableRelation,
    /// `Internal_ServerError`.
    ServerError,
    /// `Internal_TenantUnavailable`.
    TenantUnavailable,
    /// `Authentication_InvalidCredentials`.
    InvalidCredentials,
    /// `RequestDataInvalid`.
    RequestDataInvalid,
    /// `Unknown` (seen for enum option errors inside `$batch`, fixture error.batch-inner.unknown.json).
    Unknown,
    /// Any other code, verbatim.
    Other(String),
}

impl ErrorCode {
    /// Decodes BC's code text.
    pub fn parse(code: &str) -> Self {
        match code {
            "Internal_EntityWithSameKeyExists" => Self::EntityWithSameKeyExists,
            "BadRequest_NotFound" => Self::NotFound,
            "BadRequest_ResourceNotFound" => Self::ResourceNotFound,
            "Internal_RecordNotFound" => Self::RecordNotFound,
            "Request_EntityChanged" => Self::EntityChanged,
            "BadRequest_InvalidToken" => Self::InvalidConcurrencyToken,
            "BadRequest_MethodNotAllowed" => Self::MethodNotAllowed,
            "BadRequest_MethodNotImplemented" => Self::MethodNotImplemented,
            "BadRequest_InvalidOperation" => Self::InvalidOperation,
            "BadRequest_RequiredParamNotProvided" => Self::RequiredParamNotProvided,
            "Application_DialogException" => Self::DialogException,
            "Application_StringExceededLength" => Self::StringExceededLength,
            "Application_InvalidGUID" => Self::InvalidGuid,
            "Application_FieldValidationException" => Self::FieldValidation,
            "Application_EvaluateException" => Self::EvaluateException,
            "Application_FilterErrorException" => Self::FilterError,
            "Internal_CompanyNotFound" => Self::CompanyNotFound,
            "Internal_InvalidTableRelation" => Self::InvalidTableRelation,
            "Internal_ServerError" => Self::ServerError,
            "Internal_TenantUnavailable" => Self::TenantUnavailable,
            "Authentication_InvalidCredentials" => Self::InvalidCredentials,
            "RequestDataInvalid" => Self::RequestDataInvalid,
            "Unknown" => Self::Unknown,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The code as BC writes it.
    pub fn as_str(&self) -> &str {
        match self {
            Self::EntityWithSameKeyExists => "Internal_EntityWithSameKeyExists",
            Self::NotFound => "BadRequest_NotFound",
            Self::ResourceNotFound => "BadRequest_ResourceNotFound",
            Self::RecordNotFound => "Internal_RecordNotFound",
            Self::EntityChanged => "Request_EntityChanged",
            Self::InvalidConcurrencyToken => "BadRequest_InvalidToken",
            Self::MethodNotAllowed => "BadRequest_MethodNotAllowed",
            Self::MethodNotImplemented => "BadRequest_MethodNotImplemented",
            Self::InvalidOperation => "BadRequest_InvalidOperation",
            Self::RequiredParamNotProvided => "BadRequest_RequiredParamNotProvided",
            Self::DialogException => "Application_DialogException",
            Self::StringExceededLength => "Application_StringExceededLength",
            Self::InvalidGuid => "Application_InvalidGUID",
            Self::FieldValidation => "Application_FieldValidationException",
            Self::EvaluateException => "Application_EvaluateException",
            Self::FilterError => "Application_FilterErrorException",
            Self::CompanyNotFound => "Internal_CompanyNotFound",
            Self::InvalidTableRelation => "Internal_InvalidTableRelation",
            Self::ServerError => "Internal_ServerError",
            Self::TenantUnavailable => "Internal_TenantUnavailable",
            Self::InvalidCredentials => "Authentication_InvalidCredentials",
            Self::RequestDataInvalid => "RequestDataInvalid",
            Self::Unknown => "Unknown",
            Self::Other(code) => code,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error answer from BC: status, decoded code, message (without the `CorrelationId:`
/// suffix) and the correlation id to quote to Microsoft support.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// Decoded `error.code` (`Other("")` when the body had none).
    pub code: ErrorCode,
    /// `error.message` without the correlation suffix.
    pub message: String,
    /// The `CorrelationId:` BC appends to messages, when present.
    pub correlation_id: Option<String>,
    /// `Retry-After`, when the answer carried one.
    pub retry_after: Option<Duration>,
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorBody,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

impl ApiError {
    /// Builds the error from a status and the raw body. Bodies that are not BC's error shape
    /// (a gateway's HTML, an empty 429) keep their first 300 characters as the message.
    pub fn from_body(status: u16, body: &[u8], retry_after: Option<Duration>) -> Self {
        if let Ok(envelope) = serde_json::from_slice::<ErrorEnvelope>(body) {
            let (message, correlation_id) = split_correlation(&envelope.error.message);
            return Self {
                status,
                code: ErrorCode::parse(&envelope.error.code),
                message,
                correlation_id,
                retry_after,
            };
        }
        let text = String::from_utf8_lossy(body);
        Self {
            status,
            code: ErrorCode::Other(String::new()),
            message: text.chars().take(300).collect(),
            correlation_id: None,
            retry_after,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {} {}: {}", self.status, self.code, self.message)?;
        if let Some(id) = &self.correlation_id {
            write!(f, " (correlation id {id})")?;
        }
        Ok(())
    }
}

/// Splits `"… CorrelationId:  e5c2….".` (fixtures error.*.json) into message and id.
fn split_correlation(message: &str) -> (String, Option<String>) {
    match message.rfind("CorrelationId:") {
        Some(at) => {
            let id = message[at + "CorrelationId:".len()..]
                .trim()
                .trim_end_matches('.')
                .trim()
                .to_owned();
            let text = message[..at].trim_end().to_owned();
            (text, (!id.is_empty()).then_some(id))
        }
        None => (message.trim_end().to_owned(), None),
    }
}

/// What the caller should do about an error (STYLE §5: one classifier per boundary).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// A passing failure (5xx, timeout, connection): retry later.
    Transient,
    /// Throttled (429): wait this long (when known), then retry.
    RateLimited {
        /// The server's `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
    },
    /// Credentials or permissions: an operator must act; retrying will not help.
    Auth,
    /// The record changed under us or already exists: re-read, then decide.
    Conflict,
    /// BC refused the request as such (validation, not found, bad URL): fix the input.
    Rejected,
}

impl ErrorClass {
    /// A short name for logs and metrics (`error_category`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Transient => "transient",
            Self::RateLimited { .. } => "rate_limited",
            Self::Auth => "auth",
            Self::Conflict => "conflict",
            Self::Rejected => "rejected",
        }
    }
}

/// Everything the client can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BcError {
    /// BC answered with an error status.
    #[error("Business Central refused the request: {0}")]
    Api(ApiError),
    /// The request did not complete (connect, timeout, reset).
    #[error("request to Business Central failed")]
    Transport(#[source] reqwest::Error),
    /// A 2xx body did not decode into the expected shape.
    #[error("could not decode {what} at `{path}`")]
    Decode {
        /// What was being decoded.
        what: &'static str,
        /// JSON path of the offending value (`value[3].inventory`).
        path: String,
        /// The decoder's complaint.
        #[source]
        source: serde_json::Error,
    },
    /// Input refused before any request was sent.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The OAuth token endpoint refused or failed.
    #[error("token request for client {client_id} failed: {error}: {description}")]
    Token {
        /// The app registration's client id (never the secret).
        client_id: String,
        /// HTTP status, when an answer came back.
        status: Option<u16>,
        /// The `error` field (`invalid_client`, …) or a transport summary.
        error: String,
        /// `error_description`.
        description: String,
    },
    /// A `@odata.nextLink` repeated a link already followed (a server bug; stops an endless loop).
    #[error("paging did not advance: next link {link} was already followed")]
    PagingStalled {
        /// The repeated link.
        link: String,
    },
    /// The company named in the configuration does not exist.
    #[error("no company named {0:?} in this environment")]
    CompanyNotFound(String),
    /// The configuration cannot work (bad URL, no principals).
    #[error("invalid configuration: {0}")]
    Config(String),
}

impl BcError {
    /// Classifies the error for the caller (retry, wait, alert, re-read or give up).
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Api(api) => classify_api(api),
            Self::Transport(_) | Self::PagingStalled { .. } => ErrorClass::Transient,
            Self::Token { status, .. } => match status {
                None => ErrorClass::Transient,
                Some(s) if *s >= 500 || *s == 429 => ErrorClass::Transient,
                Some(_) => ErrorClass::Auth,
            },
            Self::Decode { .. } | Self::Invalid(_) | Self::CompanyNotFound(_) | Self::Config(_) => {
                ErrorClass::Rejected
            }
        }
    }

    /// The BC error code, when BC sent one.
    pub fn code(&self) -> Option<&ErrorCode> {
        match self {
            Self::Api(api) => Some(&api.code),
            _ => None,
        }
    }

    /// BC's answer, when this is one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Self::Api(api) => Some(api),
            _ => None,
        }
    }

    /// True for "no such record" answers (404 or a not-found code).
    pub fn is_not_found(&self) -> bool {
        self.api().is_some_and(|api| {
            api.status == 404
                || matches!(
                    api.code,
                    ErrorCode::NotFound | ErrorCode::ResourceNotFound | ErrorCode::RecordNotFound
                )
        })
    }

    pub(crate) fn decode(
        what: &'static str,
        error: serde_path_to_error::Error<serde_json::Error>,
    ) -> Self {
        Self::Decode {
            what,
            path: error.path().to_string(),
            source: error.into_inner(),
        }
    }
}

fn classify_api(api: &ApiError) -> ErrorClass {
    match (&api.code, api.status) {
        (_, 429) => ErrorClass::RateLimited {
            retry_after: api.retry_after,
        },
        (ErrorCode::EntityChanged | ErrorCode::EntityWithSameKeyExists, _) | (_, 409) => {
            ErrorClass::Conflict
        }
        (ErrorCode::InvalidCredentials, _) | (_, 401 | 403) => ErrorClass::Auth,
        (ErrorCode::Other(code), _)
            if code.starts_with("Authentication_") || code.starts_with("Authorization_") =>
        {
            ErrorClass::Auth
        }
        (ErrorCode::TenantUnavailable, _) | (_, 408 | 500..=599) => ErrorClass::Transient,
        _ => ErrorClass::Rejected,
    }
}

/// Why a body was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rule {
    /// Longer than BC's MaxLength.
    TooLong {
        /// BC's limit, in characters.
        max: usize,
        /// The value's length.
        actual: usize,
    },
    /// A required field is missing or blank.
    Required,
    /// One of several fields is required (`customerNumber` or `customerId`).
    RequiredOneOf(&'static [&'static str]),
    /// Not a property of the entity.
    UnknownProperty,
    /// BC does not accept this property in this operation.
    ReadOnly,
    /// A GUID reference that is not a GUID.
    NotAGuid,
    /// Not a member of the enum.
    NotAnOption(&'static [&'static str]),
    /// Wrong JSON type.
    WrongType(&'static str),
    /// A nested collection in a PATCH: BC has no deep update (api-notes §3).
    DeepUpdate,
    /// The entity set is read-only.
    ReadOnlySet,
    /// A `$batch` beyond what one request may carry.
    BatchTooLarge {
        /// BC's limit.
        max: usize,
        /// Operations asked for.
        actual: usize,
    },
    /// Anything else, spelled out.
    Other(String),
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLong { max, actual } => {
                write!(f, "is {actual} characters long, BC allows at most {max}")
            }
            Self::Required => f.write_str("is required and must not be blank"),
            Self::RequiredOneOf(fields) => write!(f, "one of {} is required", fields.join(", ")),
            Self::UnknownProperty => f.write_str("is not a property of this entity"),
            Self::ReadOnly => f.write_str("is read-only in this operation"),
            Self::NotAGuid => f.write_str("is not a GUID"),
            Self::NotAnOption(options) => write!(f, "is not one of {}", options.join(", ")),
            Self::WrongType(expected) => write!(f, "must be {expected}"),
            Self::DeepUpdate => f.write_str("cannot be patched: BC has no deep update"),
            Self::ReadOnlySet => f.write_str("cannot be written: the entity set is read-only"),
            Self::BatchTooLarge { max, actual } => {
                write!(
                    f,
                    "has {actual} operations, one atomic $batch allows at most {max}"
                )
            }
            Self::Other(text) => f.write_str(text),
        }
    }
}

/// A body refused before sending.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{entity}.{field} {rule}")]
pub struct ValidationError {
    /// The entity set (or `$filter`, `$batch`).
    pub entity: String,
    /// The field, as a path for nested lines (`salesOrderLines[2].description`).
    pub field: String,
    /// What is wrong.
    pub rule: Rule,
}

impl ValidationError {
    pub(crate) fn new(entity: &str, field: &str, rule: Rule) -> Self {
        Self {
            entity: entity.to_owned(),
            field: field.to_owned(),
            rule,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_decode_code_message_and_correlation_id() {
        let body = br#"{"error":{"code":"Application_DialogException","message":"You may not enter numbers manually. If you want to enter numbers manually, please activate Manual Nos. in No. Series S-ORD.  CorrelationId:  e5c26ced-b671-4b46-a2a5-2e1a4aff2bfd."}}"#;
        let err = ApiError::from_body(400, body, None);
        assert_eq!(err.code, ErrorCode::DialogException);
        assert!(
            err.message.ends_with("No. Series S-ORD."),
            "{}",
            err.message
        );
        assert_eq!(
            err.correlation_id.as_deref(),
            Some("e5c26ced-b671-4b46-a2a5-2e1a4aff2bfd")
        );
    }

    #[test]
    fn unknown_codes_and_foreign_bodies_are_kept() {
        let err = ApiError::from_body(
            400,
            br#"{"error":{"code":"Weird_Code","message":"x"}}"#,
            None,
        );
        assert_eq!(err.code, ErrorCode::Other("Weird_Code".into()));
        let err = ApiError::from_body(502, b"<html>Bad Gateway</html>", None);
        assert_eq!(err.code, ErrorCode::Other(String::new()));
        assert_eq!(err.message, "<html>Bad Gateway</html>");
    }

    #[test]
    fn codes_round_trip() {
        for code in [
            "Internal_EntityWithSameKeyExists",
            "BadRequest_NotFound",
            "Request_EntityChanged",
            "BadRequest_InvalidToken",
            "Application_DialogException",
            "Internal_CompanyNotFound",
            "Application_StringExceededLength",
            "Unknown",
        ] {
            assert_eq!(ErrorCode::parse(code).as_str(), code);
        }
    }

    #[test]
    fn classification_table() {
        let api = |status, code: &str| {
            BcError::Api(ApiError {
                status,
                code: ErrorCode::parse(code),
                message: String::new(),
                correlation_id: None,
                retry_after: None,
            })
        };
        let cases = [
            (api(429, ""), ErrorClass::RateLimited { retry_after: None }),
            (api(409, "Request_EntityChanged"), ErrorClass::Conflict),
            (
                api(400, "Internal_EntityWithSameKeyExists"),
                ErrorClass::Conflict,
            ),
            (
                api(409, "Internal_EntityWithSameKeyExists"),
                ErrorClass::Conflict,
            ),
            (
                api(401, "Authentication_InvalidCredentials"),
                ErrorClass::Auth,
            ),
            (
                api(403, "Authorization_InsufficientPermissions"),
                ErrorClass::Auth,
            ),
            (api(400, "BadRequest_InvalidToken"), ErrorClass::Rejected),
            (
                api(400, "Application_StringExceededLength"),
                ErrorClass::Rejected,
            ),
            (api(404, "BadRequest_NotFound"), ErrorClass::Rejected),
            (api(503, ""), ErrorClass::Transient),
            (api(504, ""), ErrorClass::Transient),
            (api(500, "Internal_ServerError"), ErrorClass::Transient),
            (
                api(400, "Internal_TenantUnavailable"),
                ErrorClass::Transient,
            ),
            (
                BcError::PagingStalled {
                    link: String::new(),
                },
                ErrorClass::Transient,
            ),
            (
                BcError::Token {
                    client_id: String::new(),
                    status: Some(401),
                    error: "invalid_client".into(),
                    description: String::new(),
                },
                ErrorClass::Auth,
            ),
            (BcError::Config(String::new()), ErrorClass::Rejected),
        ];
        for (error, class) in cases {
            assert_eq!(error.class(), class, "{error:?}");
        }
    }
}
