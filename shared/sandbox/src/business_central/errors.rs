//! BC's error answers as the simulator renders them: `{"error":{"code","message"}}` with the
//! `CorrelationId:` suffix BC appends (fixtures error.*.json), the status per code family, and
//! the messages of the AL labels and runtime errors the simulator reproduces. Where the docs
//! give no exact text the message is marked "(inferred)" in a comment. It must not decide
//! when an error happens; callers do.

use std::fmt;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::json;
use uuid::Uuid;

use super::behaviour::DuplicateKeyStatus;

/// One refusal: status, BC code, message.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BcFault {
    pub(crate) status: u16,
    pub(crate) code: &'static str,
    pub(crate) message: String,
    /// `Retry-After` in wall seconds (decimal), for throttling answers.
    pub(crate) retry_after: Option<f64>,
}

impl fmt::Display for BcFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.message)
    }
}

pub(crate) type Outcome<T> = Result<T, BcFault>;

/// BC's code for a record whose key exists already.
pub(crate) const DUPLICATE_KEY: &str = "Internal_EntityWithSameKeyExists";

impl BcFault {
    pub(crate) fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// An AL `Error()`: `Application_DialogException`, 400 (fixture
    /// error.application-dialogexception.manual-nos.json).
    pub(crate) fn dialog(message: impl Into<String>) -> Self {
        Self::new(400, "Application_DialogException", message)
    }

    /// `BadRequest_NotFound` for a URL segment that names nothing (fixture
    /// error.badrequest-notfound.wrong-segment.json).
    pub(crate) fn segment_not_found(segment: &str) -> Self {
        Self::new(
            404,
            "BadRequest_NotFound",
            format!("Resource not found for the segment '{segment}'."),
        )
    }

    /// A key that names no record (404; message inferred from the segment error).
    pub(crate) fn record_not_found(set: &str, key: &str) -> Self {
        Self::new(
            404,
            "BadRequest_NotFound",
            format!("Resource not found for the segment '{set}({key})'."),
        )
    }

    /// PATCH/DELETE without `If-Match` (D: dynamics-error-codes.md; GH
    /// dynamics365smb-devitpro-pb#813).
    pub(crate) fn missing_if_match() -> Self {
        Self::new(
            400,
            "BadRequest_InvalidToken",
            "Could not validate the client concurrency token required by the service. Please provide a valid token in the client request.",
        )
    }

    /// A stale `If-Match` (D: dynamics-error-codes.md, include-http-status-error-codes.md).
    pub(crate) fn entity_changed() -> Self {
        Self::new(
            409,
            "Request_EntityChanged",
            "Another user has already changed the record.",
        )
    }

    /// The same refusal, a duplicate key answered with the tenant's status (400 unless
    /// `BcBehaviour::duplicate_key_status` says 409); any other refusal as it is.
    pub(crate) fn with_duplicate_key_status(mut self, status: DuplicateKeyStatus) -> Self {
        if self.code == DUPLICATE_KEY {
            self.status = status.status();
        }
        self
    }

    /// A duplicate primary key (message in the AL runtime's "already exists" form, inferred).
    pub(crate) fn duplicate(table: &str, key_caption: &str, value: &str) -> Self {
        Self::new(
            400,
            DUPLICATE_KEY,
            format!(
                "The {table} already exists. Identification fields and values: {key_caption}='{value}'"
            ),
        )
    }

    /// A code its table relation does not find (D: dynamics-error-codes.md names
    /// `Internal_InvalidTableRelation`, "…cannot be found in the related table"; the full
    /// wording is the AL runtime's).
    pub(crate) fn invalid_relation(field: &str, table: &str, value: &str, related: &str) -> Self {
        Self::new(
            400,
            "Internal_InvalidTableRelation",
            format!(
                "The field {field} of table {table} contains a value ({value}) that cannot be found in the related table ({related})."
            ),
        )
    }

    /// A text longer than its MaxLength (AL runtime message).
    pub(crate) fn too_long(max: usize, value: &str) -> Self {
        Self::new(
            400,
            "Application_StringExceededLength",
            format!(
                "The length of the string is {}, but it must be less than or equal to {max} characters. Value: {value}",
                value.chars().count()
            ),
        )
    }

    /// A property the entity type does not have (OData library wording, inferred).
    pub(crate) fn unknown_property(property: &str, entity: &str) -> Self {
        Self::new(
            400,
            "BadRequest",
            format!(
                "The property '{property}' does not exist on type 'Microsoft.NAV.{entity}'. Make sure to only use property names that are defined by the type."
            ),
        )
    }

    /// A read-only control in a request ("Control 'taxAreaDisplayName' is read-only.", GH
    /// dynamics365smb-devitpro-pb#618; code from the api-notes error table).
    pub(crate) fn read_only(property: &str) -> Self {
        Self::new(
            400,
            "BadRequest_InvalidOperation",
            format!("Control '{property}' is read-only."),
        )
    }

    /// A JSON value of the wrong type (OData library wording, inferred).
    pub(crate) fn wrong_type(edm: &str) -> Self {
        Self::new(
            400,
            "BadRequest",
            format!(
                "Cannot convert a primitive value to the expected type '{edm}'. See the inner exception for more details."
            ),
        )
    }

    /// A method the URL does not allow (fixture error.badrequest-methodnotallowed.picture-post.json).
    pub(crate) fn method_not_allowed(method: &str, segment: &str, edm: &str) -> Self {
        Self::new(
            405,
            "BadRequest_MethodNotAllowed",
            format!(
                "'{method}' requests for '{segment}' of EdmType '{edm}' are not allowed within Dynamics 365 Business Central OData web services."
            ),
        )
    }

    /// A bad `$filter`/`$select`/`$expand` (code from the api-notes error table; text inferred).
    pub(crate) fn bad_query(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    /// Missing or rejected credentials (D: dynamics-error-codes.md code; text inferred).
    pub(crate) fn unauthorized() -> Self {
        Self::new(
            401,
            "Authentication_InvalidCredentials",
            "The server has rejected the client credentials.",
        )
    }

    /// Throttled (the notes document no 429 body; code and text inferred).
    pub(crate) fn too_many_requests(actual: u64, limit: u64, retry_after: f64) -> Self {
        Self {
            status: 429,
            code: "Application_TooManyRequests",
            message: format!("Too many requests reached.  Actual ({actual}).  Maximum ({limit})."),
            retry_after: Some(retry_after),
        }
    }

    /// A generic status for fault injection.
    pub(crate) fn for_status(status: u16) -> Self {
        match status {
            500 => Self::new(500, "Internal_ServerError", "An unexpected error occurred."),
            502 => Self::new(
                502,
                "BadGateway",
                "The gateway received an invalid response.",
            ),
            503 => Self {
                retry_after: Some(1.0),
                ..Self::new(
                    503,
                    "Internal_ServiceUnavailable",
                    "The service is temporarily unavailable.",
                )
            },
            504 => Self::new(
                504,
                "GatewayTimeout",
                "The request timed out at the gateway.",
            ),
            408 => Self::new(408, "RequestTimeout", "The operation has timed out."),
            other => Self::new(other, "Unknown", format!("Injected status {other}.")),
        }
    }

    /// The JSON body, with BC's correlation suffix.
    pub(crate) fn body(&self) -> serde_json::Value {
        json!({
            "error": {
                "code": self.code,
                "message": format!("{}  CorrelationId:  {}.", self.message, Uuid::new_v4()),
            }
        })
    }

    /// The HTTP answer.
    pub(crate) fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        let body = serde_json::to_vec(&self.body()).unwrap_or_default();
        let mut response = Response::builder()
            .status(status)
            .header(
                header::CONTENT_TYPE,
                "application/json; odata.metadata=minimal",
            )
            .header("OData-Version", "4.0")
            .body(Body::from(body))
            .unwrap_or_default();
        if let Some(seconds) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&format_seconds(seconds))
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        if self.status == 401 {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        response
    }
}

/// Seconds for `Retry-After`: whole when whole, else three decimals (a time-scaled sandbox
/// waits fractions of a second).
pub(crate) fn format_seconds(seconds: f64) -> String {
    let seconds = seconds.max(0.0);
    if (seconds - seconds.round()).abs() < 1e-9 {
        format!("{}", seconds.round() as u64)
    } else {
        format!("{seconds:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_carry_a_correlation_suffix() {
        let body = BcFault::entity_changed().body();
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with("Another user has already changed the record.  CorrelationId:  ")
        );
        assert!(message.ends_with('.'));
        assert_eq!(body["error"]["code"], "Request_EntityChanged");
    }

    #[test]
    fn retry_after_is_whole_or_decimal() {
        assert_eq!(format_seconds(2.0), "2");
        assert_eq!(format_seconds(0.25), "0.250");
    }
}
