//! Errors of the console (HTML) side.
//!
//! - Handlers and extractors of the console return [`AppError`]. Its `ResponseError` impl
//!   picks the status and logs each 5xx once with its cause chain; the [`error_pages`]
//!   middleware then turns every error response into what the caller can use: a whole error
//!   page, a redirect to the sign-in page, or for htmx requests a toast swapped into `#toasts`.
//! - Form validation is not an error: handlers re-render the form with messages (422).
//! - The OAuth endpoints never use this type; they answer RFC 6749 JSON (`oauth::OAuthError`).
//! - Model functions return diesel's `QueryResult`; `?` converts it here.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError};
use askama::Template;
use diesel::result::Error as DieselError;

use crate::domain_error::DomainError;
use crate::forms::FieldErrors;

use crate::htmx::{HX_REQUEST, is_htmx};
use crate::paths;
use crate::views::{Toast, ToastKind, error_page};

/// How long a person's browser (or script) is told to wait when the database is unavailable.
const RETRY_UNAVAILABLE_SECS: i64 = 2;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    /// Not signed in (or the session ended): go to the sign-in page.
    #[error("sign-in required")]
    Unauthorized,
    /// Signed in, but the organisation requires two-factor sign-in and it is not set up:
    /// go to Account security.
    #[error("two-factor enrolment required")]
    EnrolmentRequired,
    /// Signed in, but the role does not allow this.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// The request's CSRF token is missing or wrong, or it came from another site.
    #[error("invalid CSRF token")]
    Csrf,
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    BadRequest(String),
    /// Input that breaks a rule, when no form is there to show the messages next to fields.
    #[error("invalid input")]
    Validation(FieldErrors),
    #[error("too many attempts; retry in {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: i64 },
    /// The database is down or the pool is exhausted: 503, and the request may be retried.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl AppError {
    /// What a person sees; never includes internal detail.
    pub fn public_message(&self) -> String {
        match self {
            AppError::NotFound => "That page or item does not exist.".into(),
            AppError::Unauthorized => "Please sign in to continue.".into(),
            AppError::EnrolmentRequired => {
                "Your organisation requires two-factor sign-in. Set it up to continue.".into()
            }
            AppError::Forbidden(what) => format!("Your role does not allow you to {what}."),
            AppError::Csrf => {
                "This form has expired or did not come from this site. Reload the page and try again.".into()
            }
            AppError::Conflict(message) | AppError::BadRequest(message) => message.clone(),
            AppError::Validation(errors) => errors
                .iter()
                .map(|(_, message)| message.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            AppError::TooManyRequests { retry_after_secs } => {
                format!("Too many attempts. Try again in {retry_after_secs} seconds.")
            }
            AppError::Unavailable(_) => {
                "The service is temporarily unavailable. Please try again in a moment.".into()
            }
            AppError::Unexpected(_) => "Something went wrong on our side. It has been logged.".into(),
        }
    }

    /// When the request may be tried again: a throttle's wait, or a moment for an
    /// unavailable database (a failover takes seconds).
    fn retry_after_secs(&self) -> Option<i64> {
        match self {
            AppError::TooManyRequests { retry_after_secs } => Some(*retry_after_secs),
            AppError::Unavailable(_) => Some(RETRY_UNAVAILABLE_SECS),
            _ => None,
        }
    }

    pub fn title(&self) -> &'static str {
        match self.status_code() {
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::UNAUTHORIZED => "Sign-in required",
            StatusCode::FORBIDDEN => "Not allowed",
            StatusCode::CONFLICT => "Conflict",
            StatusCode::BAD_REQUEST => "Bad request",
            StatusCode::UNPROCESSABLE_ENTITY => "Check what you entered",
            StatusCode::TOO_MANY_REQUESTS => "Too many attempts",
            StatusCode::SERVICE_UNAVAILABLE => "Temporarily unavailable",
            _ => "Unexpected error",
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) | AppError::Csrf | AppError::EnrolmentRequired => {
                StatusCode::FORBIDDEN
            }
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            AppError::Unexpected(e) => tracing::error!(error.cause_chain = ?e, "unexpected error"),
            AppError::Unavailable(reason) => tracing::warn!(%reason, "service unavailable"),
            _ => {}
        }
        // The body is filled in by `error_pages`, which knows whether htmx asked.
        let mut res = HttpResponse::new(self.status_code());
        if let Some(secs) = self.retry_after_secs()
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        res
    }
}

impl From<DomainError> for AppError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::NotFound => AppError::NotFound,
            DomainError::Forbidden(what) => AppError::Forbidden(what),
            DomainError::Invalid(errors) => AppError::Validation(errors),
            DomainError::Conflict(message)
            | DomainError::LimitReached(message)
            | DomainError::Replayed(message) => AppError::Conflict(message),
            DomainError::Unavailable(reason) => AppError::Unavailable(reason),
            DomainError::Unexpected(e) => AppError::Unexpected(e),
        }
    }
}

/// Through `DomainError`, which holds the one mapping of database errors.
impl From<DieselError> for AppError {
    fn from(e: DieselError) -> Self {
        DomainError::from(e).into()
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for AppError {
    fn from(e: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        DomainError::from(e).into()
    }
}

/// Renders error responses for people: a page, a sign-in redirect, or an htmx toast. Errors
/// that did not come from our handlers (the session store failing because the database is
/// down) become the 503 page rather than an empty 500.
pub async fn error_pages(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let htmx = is_htmx(req.headers());
    let path = req.path().to_string();
    let res = match next.call(req).await {
        Ok(res) => res.map_into_boxed_body(),
        // An error raised by a middleware (the session store): the request is gone with it,
        // so the rendered page travels on as the error's own response.
        Err(err) => {
            let original = err.error_response();
            return match render_error(
                err.as_error::<AppError>(),
                original.status(),
                htmx,
                &path,
                &original,
            ) {
                Some(rendered) => {
                    Err(InternalError::from_response(err.to_string(), rendered).into())
                }
                None => Err(err),
            };
        }
    };
    let status = res.status();
    // Only errors are re-rendered; a handler's own 4xx page (a form with messages) stays.
    let Some(err) = res.response().error() else {
        return Ok(res);
    };
    match render_error(
        err.as_error::<AppError>(),
        status,
        htmx,
        &path,
        res.response(),
    ) {
        Some(rendered) => Ok(res.into_response(rendered)),
        None => Ok(res),
    }
}

/// The response a person should see for an error, or `None` to keep `original`.
fn render_error(
    app_error: Option<&AppError>,
    status: StatusCode,
    htmx: bool,
    path: &str,
    original: &HttpResponse,
) -> Option<HttpResponse> {
    let unavailable;
    let error = match app_error {
        Some(e) => e,
        None if status.is_server_error() => {
            unavailable = AppError::Unavailable("a request could not be served".into());
            &unavailable
        }
        None => return None,
    };
    let status = error.status_code();

    if matches!(error, AppError::Unauthorized) {
        let login = login_url(path);
        return Some(if htmx {
            HttpResponse::Unauthorized()
                .insert_header(("HX-Redirect", login))
                .finish()
        } else {
            HttpResponse::SeeOther()
                .insert_header((header::LOCATION, login))
                .finish()
        });
    }

    if matches!(error, AppError::EnrolmentRequired) {
        return Some(if htmx {
            HttpResponse::Forbidden()
                .insert_header(("HX-Redirect", paths::ACCOUNT_SECURITY))
                .finish()
        } else {
            HttpResponse::SeeOther()
                .insert_header((header::LOCATION, paths::ACCOUNT_SECURITY))
                .finish()
        });
    }

    let mut builder = HttpResponse::build(status);
    builder.insert_header((header::VARY, HX_REQUEST));
    if let Some(retry) = original.headers().get(header::RETRY_AFTER) {
        builder.insert_header((header::RETRY_AFTER, retry.clone()));
    } else if let Some(secs) = error.retry_after_secs() {
        builder.insert_header((header::RETRY_AFTER, secs));
    }
    let body = if htmx {
        builder
            .insert_header(("HX-Retarget", "#toasts"))
            .insert_header(("HX-Reswap", "beforeend"));
        Toast {
            kind: ToastKind::Error,
            message: error.public_message(),
            oob: false,
        }
        .render()
    } else {
        error_page(error.title(), &error.public_message()).render()
    };
    Some(match body {
        Ok(html) => builder.content_type("text/html; charset=utf-8").body(html),
        Err(e) => {
            tracing::error!(error = %e, "could not render the error page");
            builder
                .content_type("text/plain; charset=utf-8")
                .body(error.public_message())
        }
    })
}

/// `/login?next=…` for console pages; the path is our own, never a full URL.
fn login_url(path: &str) -> String {
    if path.starts_with(paths::SETTINGS) {
        format!(
            "{}?next={}",
            paths::LOGIN,
            url::form_urlencoded::byte_serialize(path.as_bytes()).collect::<String>()
        )
    } else {
        paths::LOGIN.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_maps_to_its_status() {
        let cases = [
            (AppError::NotFound, 404),
            (AppError::Unauthorized, 401),
            (AppError::Forbidden("manage users"), 403),
            (AppError::Csrf, 403),
            (AppError::EnrolmentRequired, 403),
            (AppError::Conflict("x".into()), 409),
            (AppError::BadRequest("x".into()), 400),
            (AppError::Validation(FieldErrors::default()), 422),
            (
                AppError::TooManyRequests {
                    retry_after_secs: 3,
                },
                429,
            ),
            (AppError::Unavailable("db".into()), 503),
            (AppError::Unexpected(anyhow::anyhow!("boom")), 500),
        ];
        for (error, status) in cases {
            assert_eq!(error.status_code().as_u16(), status, "{error:?}");
            let retry = error
                .error_response()
                .headers()
                .contains_key(header::RETRY_AFTER);
            assert_eq!(retry, matches!(status, 429 | 503), "{error:?}");
        }
        assert!(matches!(
            AppError::from(DieselError::NotFound),
            AppError::NotFound
        ));
    }
}
