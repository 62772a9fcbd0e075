//! Security headers on every response, errors included (actix's `DefaultHeaders` skips
//! responses that travel as errors, such as a failing session store's).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};

use crate::app_state::AppState;

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";
const HSTS: &str = "max-age=31536000; includeSubDomains";

fn apply(headers: &mut HeaderMap, https: bool) {
    let mut set = |name: &'static str, value: &'static str| {
        let name = HeaderName::from_static(name);
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    };
    set("content-security-policy", CSP);
    set("x-content-type-options", "nosniff");
    set("referrer-policy", "no-referrer");
    set("x-frame-options", "DENY");
    set("cross-origin-opener-policy", "same-origin");
    if https {
        set("strict-transport-security", HSTS);
    }
}

pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, actix_web::Error> {
    let https = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|s| s.settings.is_https());
    match next.call(req).await {
        Ok(mut res) => {
            apply(res.headers_mut(), https);
            Ok(res)
        }
        Err(err) => {
            let mut response: HttpResponse = err.error_response();
            apply(response.headers_mut(), https);
            Err(InternalError::from_response(err.to_string(), response).into())
        }
    }
}
