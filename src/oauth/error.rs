//! RFC 6749 §5.2 error responses: JSON bodies, `no-store`, and a Basic challenge on 401 when
//! the client tried HTTP Basic authentication.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};

use crate::oauth::REALM;

/// How long a client should wait when the database cannot be reached.
const RETRY_UNAVAILABLE_SECS: u64 = 2;

/// What went wrong. Every code a client can see is one RFC 6749 §5.2 defines for the token
/// endpoint, or one the IANA "OAuth Extensions Error" registry lists for it (`slow_down`,
/// RFC 8628 §3.5). A failure on our side has no code there, so its 5xx body carries only a
/// description: the status (and `Retry-After`) is what a client acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidRequest,
    /// `invalid_request` for a body over the size limit (413).
    RequestTooLarge,
    InvalidClient,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    /// Too many failed authentications from this client and address, or this address (429).
    SlowDown,
    ServerError,
    TemporarilyUnavailable,
}

impl ErrorCode {
    /// The `error` member, when the failure has one.
    pub fn as_str(self) -> Option<&'static str> {
        match self {
            ErrorCode::InvalidRequest | ErrorCode::RequestTooLarge => Some("invalid_request"),
            ErrorCode::InvalidClient => Some("invalid_client"),
            ErrorCode::UnauthorizedClient => Some("unauthorized_client"),
            ErrorCode::UnsupportedGrantType => Some("unsupported_grant_type"),
            ErrorCode::InvalidScope => Some("invalid_scope"),
            ErrorCode::SlowDown => Some("slow_down"),
            ErrorCode::ServerError | ErrorCode::TemporarilyUnavailable => None,
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{code:?}: {description}")]
pub struct OAuthError {
    pub code: ErrorCode,
    pub description: &'static str,
    /// The client tried HTTP Basic: a 401 must carry `WWW-Authenticate: Basic`.
    pub basic_challenge: bool,
    pub retry_after_secs: Option<u64>,
    /// Why, for the log and the metrics (a fixed word such as `wrong_secret`); never sent.
    pub reason: Option<&'static str>,
}

impl OAuthError {
    pub fn new(code: ErrorCode, description: &'static str) -> Self {
        Self {
            code,
            description,
            basic_challenge: false,
            retry_after_secs: None,
            reason: None,
        }
    }

    /// The same answer, with why for the metrics.
    pub fn because(self, reason: &'static str) -> Self {
        Self {
            reason: Some(reason),
            ..self
        }
    }

    /// The metrics' label for this failure: its reason, else its code (bounded either way).
    pub fn metric_reason(&self) -> &'static str {
        match (self.reason, self.code) {
            (Some(reason), _) => reason,
            (None, ErrorCode::SlowDown) => "throttled",
            (None, ErrorCode::ServerError | ErrorCode::TemporarilyUnavailable) => "unavailable",
            (None, code) => code.as_str().unwrap_or("unavailable"),
        }
    }

    pub fn invalid_request(description: &'static str) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    /// The one answer for every failed client authentication: unknown client, wrong secret,
    /// revoked, expired, deleted, or calling from outside the allow-list look the same.
    pub fn invalid_client(basic: bool) -> Self {
        Self {
            basic_challenge: basic,
            ..Self::new(ErrorCode::InvalidClient, "Client authentication failed.")
        }
    }

    /// The database cannot be reached: the client should retry shortly.
    pub fn unavailable() -> Self {
        Self {
            retry_after_secs: Some(RETRY_UNAVAILABLE_SECS),
            ..Self::new(
                ErrorCode::TemporarilyUnavailable,
                "The server is temporarily unavailable. Retry shortly.",
            )
        }
    }

    /// Too many introspections or revocations by one credential (RFC 7662 §4): 429 with
    /// `Retry-After`, answered only to a caller that authenticated.
    pub fn rate_limited(secs: u64) -> Self {
        Self {
            retry_after_secs: Some(secs),
            ..Self::new(
                ErrorCode::SlowDown,
                "Too many introspection or revocation requests from this client. Retry later.",
            )
            .because("rate_limited")
        }
    }

    /// Too many failed authentications: retry after `secs`.
    pub fn throttled(secs: u64) -> Self {
        Self {
            retry_after_secs: Some(secs),
            ..Self::new(
                ErrorCode::SlowDown,
                "Too many failed authentication attempts. Retry later.",
            )
        }
    }

    /// A body over the endpoint's size limit.
    pub fn too_large() -> Self {
        Self::new(ErrorCode::RequestTooLarge, "The request body is too large.")
    }
}

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        match self.code {
            ErrorCode::InvalidClient => StatusCode::UNAUTHORIZED,
            ErrorCode::RequestTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::SlowDown => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::PRAGMA, "no-cache"));
        // RFC 7235 §3.1: every 401 carries a challenge, whichever way the client tried to
        // authenticate (RFC 6749 §5.2 asks for it with Basic; in the body it is the same
        // scheme we accept).
        if self.code == ErrorCode::InvalidClient {
            res.insert_header((
                header::WWW_AUTHENTICATE,
                format!("Basic realm=\"{REALM}\", charset=\"UTF-8\""),
            ));
        }
        if let Some(secs) = self.retry_after_secs {
            res.insert_header((header::RETRY_AFTER, HeaderValue::from(secs)));
        }
        res.json(match self.code.as_str() {
            Some(code) => {
                serde_json::json!({ "error": code, "error_description": self.description })
            }
            None => serde_json::json!({ "error_description": self.description }),
        })
    }
}

impl From<diesel::result::Error> for OAuthError {
    fn from(e: diesel::result::Error) -> Self {
        if crate::db::is_unavailable(&e) {
            tracing::warn!(error = %e, "database unavailable on the OAuth path");
            return Self::unavailable();
        }
        tracing::error!(error = %e, "database error on the OAuth path");
        Self::new(
            ErrorCode::ServerError,
            "The server could not complete the request.",
        )
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for OAuthError {
    fn from(e: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        tracing::warn!(error = %e, "no database connection on the OAuth path");
        Self::unavailable()
    }
}

impl From<anyhow::Error> for OAuthError {
    fn from(e: anyhow::Error) -> Self {
        tracing::error!(error.cause_chain = ?e, "unexpected error on the OAuth path");
        Self::new(
            ErrorCode::ServerError,
            "The server could not complete the request.",
        )
    }
}
