//! One URL, one handler: htmx requests get the fragment, everything else the whole page.
//! Every such response says `Vary: HX-Request` so caches never mix the two.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderMap};
use actix_web::{FromRequest, HttpRequest, HttpResponse};

pub const HX_REQUEST: &str = "HX-Request";

/// True for htmx's own requests that swap a fragment. A history restore (the browser went
/// back and htmx had no cached copy) and a boosted link both need the whole page.
pub fn is_htmx(headers: &HeaderMap) -> bool {
    let is = |name: &str| headers.get(name).is_some_and(|v| v.as_bytes() == b"true");
    is(HX_REQUEST) && !is("HX-History-Restore-Request") && !is("HX-Boosted")
}

#[derive(Debug, Clone, Copy)]
pub struct HxRequest(pub bool);

impl FromRequest for HxRequest {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Self(is_htmx(req.headers()))))
    }
}

/// An HTML response with `Vary: HX-Request`.
pub fn html(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::VARY, HX_REQUEST))
        .content_type("text/html; charset=utf-8")
        .body(body)
}

/// 303 to `location`: the answer to a plain form POST (post/redirect/get). htmx requests
/// get `HX-Redirect`, since htmx does not follow a 303 as a page navigation.
pub fn see_other(hx: HxRequest, location: &str) -> HttpResponse {
    if hx.0 {
        HttpResponse::Ok()
            .insert_header(("HX-Redirect", location.to_string()))
            .finish()
    } else {
        HttpResponse::SeeOther()
            .insert_header((header::LOCATION, location.to_string()))
            .finish()
    }
}
