//! CSRF protection for every state-changing console request: a per-session synchronizer
//! token (htmx sends it as `X-CSRF-Token`, plain forms as a `csrf_token` field), plus a
//! refusal of anything the browser labels `Sec-Fetch-Site: cross-site`.

use actix_session::SessionExt;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::CONTENT_TYPE;
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use subtle::ConstantTimeEq;

use crate::error::AppError;

pub const HEADER: &str = "X-CSRF-Token";
pub const FIELD: &str = "csrf_token";
const SESSION_KEY: &str = "csrf";

pub async fn verify_csrf(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody + 'static>>, actix_web::Error> {
    if req.method().is_safe() {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    }
    let cross_site = req
        .headers()
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site"));
    let expected = req.get_session().get::<String>(SESSION_KEY).ok().flatten();
    let (Some(expected), false) = (expected, cross_site) else {
        return Ok(refuse(req));
    };

    let provided = match req.headers().get(HEADER).and_then(|v| v.to_str().ok()) {
        Some(token) => Some(token.to_string()),
        None if is_form(&req) => {
            let body = req.extract::<Bytes>().await?;
            let token = url::form_urlencoded::parse(&body)
                .find(|(name, _)| name == FIELD)
                .map(|(_, value)| value.into_owned());
            // Put the body back for the handler's own form extractor.
            req.set_payload(Payload::from(body));
            token
        }
        None => None,
    };
    match provided {
        Some(token) if bool::from(token.as_bytes().ct_eq(expected.as_bytes())) => next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body),
        _ => Ok(refuse(req)),
    }
}

/// 403 with the error attached, so `error_pages` renders it like any handler error.
fn refuse<B>(req: ServiceRequest) -> ServiceResponse<EitherBody<B>> {
    req.error_response(AppError::Csrf).map_into_right_body()
}

fn is_form(req: &ServiceRequest) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        })
}
