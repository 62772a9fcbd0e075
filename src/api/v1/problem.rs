//! RFC 9457 problem documents: every error of the management API. Each kind has a stable
//! `type`, a link to its entry in the API reference, so a caller can branch on it; field
//! errors of a validation problem are listed by field.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain_error::DomainError;

pub const CONTENT_TYPE: &str = "application/problem+json";

/// The kinds of problem, each with its status, title and `type` (an anchor of the reference).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    BadRequest,
    Unauthorized,
    InsufficientScope,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    LimitReached,
    PreconditionFailed,
    PayloadTooLarge,
    UnsupportedMediaType,
    Validation,
    IdempotencyKeyReused,
    RateLimited,
    Internal,
    Unavailable,
}

impl Kind {
    pub const ALL: [Kind; 16] = [
        Kind::BadRequest,
        Kind::Unauthorized,
        Kind::InsufficientScope,
        Kind::Forbidden,
        Kind::NotFound,
        Kind::MethodNotAllowed,
        Kind::Conflict,
        Kind::LimitReached,
        Kind::PreconditionFailed,
        Kind::PayloadTooLarge,
        Kind::UnsupportedMediaType,
        Kind::Validation,
        Kind::IdempotencyKeyReused,
        Kind::RateLimited,
        Kind::Internal,
        Kind::Unavailable,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            Kind::BadRequest => "bad-request",
            Kind::Unauthorized => "unauthorized",
            Kind::InsufficientScope => "insufficient-scope",
            Kind::Forbidden => "forbidden",
            Kind::NotFound => "not-found",
            Kind::MethodNotAllowed => "method-not-allowed",
            Kind::Conflict => "conflict",
            Kind::LimitReached => "limit-reached",
            Kind::PreconditionFailed => "precondition-failed",
            Kind::PayloadTooLarge => "payload-too-large",
            Kind::UnsupportedMediaType => "unsupported-media-type",
            Kind::Validation => "validation",
            Kind::IdempotencyKeyReused => "idempotency-key-reused",
            Kind::RateLimited => "rate-limited",
            Kind::Internal => "internal",
            Kind::Unavailable => "unavailable",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            Kind::BadRequest => StatusCode::BAD_REQUEST,
            Kind::Unauthorized => StatusCode::UNAUTHORIZED,
            Kind::InsufficientScope | Kind::Forbidden => StatusCode::FORBIDDEN,
            Kind::NotFound => StatusCode::NOT_FOUND,
            Kind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Kind::Conflict | Kind::LimitReached => StatusCode::CONFLICT,
            Kind::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Kind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Kind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Kind::Validation | Kind::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Kind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Kind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Kind::BadRequest => "The request is malformed",
            Kind::Unauthorized => "A valid bearer token is required",
            Kind::InsufficientScope => "The token lacks the scope this operation needs",
            Kind::Forbidden => "This caller may not do this",
            Kind::NotFound => "No such resource",
            Kind::MethodNotAllowed => "This method is not allowed here",
            Kind::Conflict => "The resource's state does not allow this",
            Kind::LimitReached => "An organisation limit is reached",
            Kind::PreconditionFailed => "The resource changed since it was read",
            Kind::PayloadTooLarge => "The request body is too large",
            Kind::UnsupportedMediaType => "Send the body as application/json",
            Kind::Validation => "The input breaks a rule",
            Kind::IdempotencyKeyReused => "This Idempotency-Key was used with another request",
            Kind::RateLimited => "Too many requests from this credential",
            Kind::Internal => "Something failed on our side",
            Kind::Unavailable => "The service is temporarily unavailable",
        }
    }

    /// The problem's `type`: its entry in the API reference.
    pub fn type_uri(self) -> String {
        format!("{}#problem-{}", crate::paths::API_REFERENCE, self.slug())
    }
}

/// One field's messages in a validation problem.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldError {
    /// The request field, as named in the body (`name`, `allowed_ips`).
    pub field: String,
    pub messages: Vec<String>,
}

/// An RFC 9457 problem document, as the API sends it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Problem)]
pub struct ProblemDoc {
    /// Stable identifier of the kind of problem; a link to its description.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// What went wrong with this request, for people.
    pub detail: String,
    /// Validation problems: the messages of each field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// A problem to answer: its kind, what went wrong, and the headers it needs.
#[derive(Debug, Clone)]
pub struct Problem {
    pub kind: Kind,
    pub detail: String,
    pub errors: Vec<FieldError>,
    /// Seconds to wait (rate limits, unavailability).
    pub retry_after: Option<u64>,
    /// The `WWW-Authenticate` challenge, for a missing or refused token.
    pub challenge: Option<String>,
}

impl Problem {
    pub fn new(kind: Kind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
            challenge: None,
        }
    }

    pub fn status(&self) -> StatusCode {
        self.kind.status()
    }

    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn with_challenge(mut self, challenge: String) -> Self {
        self.challenge = Some(challenge);
        self
    }

    pub fn not_found() -> Self {
        Self::new(
            Kind::NotFound,
            "There is no such resource in your organisation.",
        )
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(Kind::BadRequest, detail)
    }

    /// A validation problem on one field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        let mut problem = Self::new(Kind::Validation, "Some fields break a rule; see errors.");
        problem.errors.push(FieldError {
            field: field.into(),
            messages: vec![message.into()],
        });
        problem
    }

    pub fn insufficient_scope(scope: &str) -> Self {
        Self::new(
            Kind::InsufficientScope,
            format!("This operation needs a token with the scope {scope}."),
        )
        .with_challenge(format!(
            "Bearer realm=\"{}\", error=\"insufficient_scope\", scope=\"{scope}\"",
            crate::oauth::REALM
        ))
    }

    pub fn document(&self) -> ProblemDoc {
        ProblemDoc {
            kind: self.kind.type_uri(),
            title: self.kind.title().into(),
            status: self.kind.status().as_u16(),
            detail: self.detail.clone(),
            errors: self.errors.clone(),
        }
    }

    /// The body as JSON, for the idempotency record.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self.document()).unwrap_or(serde_json::Value::Null)
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.kind.title(),
            self.status(),
            self.detail
        )
    }
}

impl ResponseError for Problem {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((header::CONTENT_TYPE, CONTENT_TYPE))
            .insert_header((header::CACHE_CONTROL, "no-store"));
        if let Some(seconds) = self.retry_after {
            res.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        if let Some(challenge) = &self.challenge
            && let Ok(value) = HeaderValue::from_str(challenge)
        {
            res.insert_header((header::WWW_AUTHENTICATE, value));
        }
        res.body(serde_json::to_string(&self.document()).unwrap_or_default())
    }
}

impl From<DomainError> for Problem {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::NotFound => Problem::not_found(),
            DomainError::Forbidden(action) => Problem::new(
                Kind::Forbidden,
                format!("This credential may not {action}."),
            ),
            DomainError::Invalid(errors) => {
                let mut problem =
                    Problem::new(Kind::Validation, "Some fields break a rule; see errors.");
                problem.errors = errors
                    .iter()
                    .map(|(field, message)| FieldError {
                        field: field.to_string(),
                        messages: vec![message.clone()],
                    })
                    .collect();
                problem
            }
            DomainError::Conflict(message) | DomainError::Replayed(message) => {
                Problem::new(Kind::Conflict, message)
            }
            DomainError::LimitReached(message) => Problem::new(Kind::LimitReached, message),
            DomainError::Unavailable(cause) => {
                tracing::warn!(%cause, "management API call could not reach the database");
                Problem::new(
                    Kind::Unavailable,
                    "The database is unreachable; retry shortly.",
                )
                .with_retry_after(2)
            }
            DomainError::Unexpected(e) => {
                tracing::error!(error = ?e, "management API call failed");
                Problem::new(
                    Kind::Internal,
                    "The request failed on our side; it was logged.",
                )
            }
        }
    }
}

impl From<diesel::result::Error> for Problem {
    fn from(e: diesel::result::Error) -> Self {
        DomainError::from(e).into()
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for Problem {
    fn from(e: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        DomainError::from(e).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_type_and_an_error_status() {
        let mut seen = std::collections::BTreeSet::new();
        for kind in Kind::ALL {
            assert!(seen.insert(kind.slug()), "{} twice", kind.slug());
            assert!(kind.status().is_client_error() || kind.status().is_server_error());
        }
    }

    #[test]
    fn domain_errors_map_to_stable_statuses() {
        let cases = [
            (DomainError::NotFound, 404),
            (DomainError::Forbidden("x"), 403),
            (DomainError::invalid("name", "bad"), 422),
            (DomainError::Conflict("c".into()), 409),
            (DomainError::LimitReached("l".into()), 409),
            (DomainError::Unavailable("u".into()), 503),
        ];
        for (error, status) in cases {
            assert_eq!(Problem::from(error).status().as_u16(), status);
        }
    }
}
