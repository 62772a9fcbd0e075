//! CSRF protection for every state-changing console request: a per-session synchronizer
//! token (htmx sends it as `X-CSRF-Token`, plain forms as a `csrf_token` field), plus a
//! refusal of anything the browser labels `Sec-Fetch-Site: cross-site`.
//!
//! The sign-in and first-run forms come before any session, and showing them must store
//! nothing on the server (a stranger could otherwise fill the session table with GETs).
//! Their token is a signed double submit: a random value in the form and, signed with the
//! server's cookie key, in an HttpOnly cookie; a POST must carry both, matching.

use actix_session::SessionExt;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::cookie::{Cookie, CookieJar, Key, SameSite};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::CONTENT_TYPE;
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use subtle::ConstantTimeEq;

use crate::app_state::AppState;
use crate::error::AppError;
use crate::paths;
use crate::random;
use crate::render::render_template;
use crate::views::PublicPage;

pub const HEADER: &str = "X-CSRF-Token";
pub const FIELD: &str = "csrf_token";
const SESSION_KEY: &str = "csrf";
/// The forms posted before sign-in, which use the double-submit token.
const ANONYMOUS_FORMS: [&str; 3] = [paths::LOGIN, paths::SETUP, paths::INVITATION];
const FORM_COOKIE: &str = "m2m_form_csrf";
/// `__Host-` makes browsers refuse the cookie unless Secure, path=/ and no Domain.
const FORM_COOKIE_HTTPS: &str = "__Host-m2m_form_csrf";

fn form_cookie_name(https: bool) -> &'static str {
    if https {
        FORM_COOKIE_HTTPS
    } else {
        FORM_COOKIE
    }
}

/// The value of the signed form cookie, if the request carries a genuine one.
fn form_cookie_token(cookie: Option<Cookie<'static>>, key: &Key) -> Option<String> {
    let cookie = cookie?;
    let name = cookie.name().to_string();
    let mut jar = CookieJar::new();
    jar.add_original(cookie);
    jar.signed(key).get(&name).map(|c| c.value().to_string())
}

/// The CSRF token of a page shown before sign-in, and the cookie that must go with it.
pub struct AnonymousCsrf {
    pub token: String,
    /// `None` when the browser already holds a genuine cookie, whose token is reused (so
    /// two open sign-in tabs both work).
    cookie: Option<Cookie<'static>>,
}

impl AnonymousCsrf {
    pub fn for_request(req: &HttpRequest, state: &AppState) -> Result<Self, anyhow::Error> {
        let https = state.settings.is_https();
        let name = form_cookie_name(https);
        if let Some(token) = form_cookie_token(req.cookie(name), &state.cookie_key) {
            return Ok(Self {
                token,
                cookie: None,
            });
        }
        let token = random::token_256()?;
        let mut jar = CookieJar::new();
        jar.signed_mut(&state.cookie_key)
            .add(Cookie::new(name, token.clone()));
        let mut cookie = jar
            .get(name)
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("the signed form cookie was not created"))?;
        cookie.set_path("/");
        cookie.set_http_only(true);
        cookie.set_secure(https);
        cookie.set_same_site(SameSite::Strict);
        Ok(Self {
            token,
            cookie: Some(cookie),
        })
    }

    /// Sets the cookie on the page's response, when it is new.
    pub fn set_cookie(self, res: &mut HttpResponse) -> Result<(), anyhow::Error> {
        if let Some(cookie) = self.cookie {
            res.add_cookie(&cookie)
                .map_err(|e| anyhow::anyhow!("cannot set the form cookie: {e}"))?;
        }
        Ok(())
    }
}

/// A page shown before sign-in with a form: the form gets the CSRF token, the response the
/// cookie when it is new. `no_store` for a page whose form carries a link's token (setup,
/// invitation), which no cache may keep.
pub fn public_form_page<T: askama::Template>(
    req: &HttpRequest,
    state: &AppState,
    status: actix_web::http::StatusCode,
    (title, no_store): (&str, bool),
    form: impl FnOnce(String) -> T,
) -> Result<HttpResponse, AppError> {
    let csrf = AnonymousCsrf::for_request(req, state)?;
    let form = form(csrf.token.clone());
    let mut res = render_template(status, &PublicPage::new(title, csrf.token.clone(), form))?;
    csrf.set_cookie(&mut res)?;
    if no_store {
        res.headers_mut().insert(
            actix_web::http::header::CACHE_CONTROL,
            actix_web::http::header::HeaderValue::from_static("no-store"),
        );
    }
    Ok(res)
}

/// The token a POST to `req`'s path must carry: the double-submit cookie's for the forms
/// before sign-in, the session's for everything else.
fn expected_token(req: &ServiceRequest) -> Option<String> {
    if ANONYMOUS_FORMS.contains(&req.path()) {
        let state = req.app_data::<web::Data<AppState>>()?;
        let name = form_cookie_name(state.settings.is_https());
        return form_cookie_token(req.cookie(name), &state.cookie_key);
    }
    req.get_session().get::<String>(SESSION_KEY).ok().flatten()
}

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
    let expected = expected_token(&req);
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
