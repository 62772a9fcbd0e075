//! Sign-in and sign-out. An unknown email, a wrong password and a disabled account all get
//! the same message, status and (thanks to the dummy hash) timing.
//! The judging is `sign_in`'s; this module renders its outcome.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use secrecy::SecretString;
use serde::Deserialize;
use url::Url;

use crate::app_state::AppState;
use crate::audit::Record;
use crate::auth::csrf::public_form_page;
use crate::client_ip::RequestMeta;
use crate::db::models::audit_action::AuditAction;
use crate::db::models::audit_event::NewAuditEvent;
use crate::db::models::user::User;
use crate::error::AppError;
use crate::forms::MAX_EMAIL_BYTES;
use crate::html_form::HtmlForm;
use crate::input::{self, Lines};
use crate::paths;
use crate::session::{PendingSignIn, TypedSession};
use crate::staff::sessions::SignInOrigin;
use crate::staff::sign_in::{Attempt, Outcome, sign_in};

/// The same for an unknown email, a wrong password and a disabled account.
const FAILED: &str = "Email or password is not right.";
const BAD_EMAIL: &str = "Enter a valid email address (at most 254 characters).";
const BUSY: &str = "Many people are signing in right now. Try again in a moment.";
/// Longest `next` we consider; a real console path is far shorter.
const MAX_NEXT_LEN: usize = 2048;

#[derive(Template)]
#[template(path = "pages/login.html")]
pub struct LoginForm {
    pub csrf_token: String,
    pub email: String,
    pub next: String,
    pub error: Option<String>,
    pub notice: Option<String>,
    /// No one has signed up yet: say where the one-time setup link is.
    pub first_run: bool,
}

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    signed_out: Option<String>,
}

/// Where to go after sign-in: `next` only when, resolved against `PUBLIC_URL` as a browser
/// would resolve it, it stays on our origin and names a console page; home otherwise.
/// Resolving is what catches the tricks: browsers drop tab, CR and LF from URLs and read `\`
/// as `/`, so `/\t/evil.example` and `/\evil.example` are both `//evil.example`. The result
/// is the parser's serialisation, so it never holds a byte a header cannot carry.
fn safe_next(public_url: &Url, next: Option<&str>) -> String {
    let home = || paths::M2M.to_string();
    let Some(next) = next.filter(|n| !n.is_empty() && n.len() <= MAX_NEXT_LEN) else {
        return home();
    };
    let Ok(resolved) = public_url.join(next) else {
        return home();
    };
    let path = resolved.path();
    let console_path = path
        .strip_prefix(paths::SETTINGS)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
    if resolved.origin() != public_url.origin() || !console_path {
        return home();
    }
    match resolved.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_string(),
    }
}

/// The sign-in page, with its double-submit CSRF token (and cookie, when new).
fn login_page(
    req: &HttpRequest,
    state: &AppState,
    status: StatusCode,
    form: impl FnOnce(String) -> LoginForm,
) -> Result<HttpResponse, AppError> {
    public_form_page(req, state, status, ("Sign in", false), form)
}

#[tracing::instrument(skip_all)]
pub async fn login_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: TypedSession,
    query: web::Query<LoginQuery>,
) -> Result<HttpResponse, AppError> {
    let next = safe_next(&state.settings.public_url, query.next.as_deref());
    if session.user_id().is_some() {
        return Ok(redirect_to(&next));
    }
    let notice = session.take_flash().or_else(|| {
        query
            .signed_out
            .as_ref()
            .map(|_| "You have signed out.".to_string())
    });
    let first_run = no_user_yet(&state).await;
    login_page(&req, &state, StatusCode::OK, |csrf_token| LoginForm {
        csrf_token,
        email: String::new(),
        next,
        error: None,
        notice,
        first_run,
    })
}

/// Whether the database has no user at all (one `SELECT EXISTS`, nothing written). Only a
/// hint depends on it, so a database that does not answer leaves the page as it is: signing
/// in then reports the trouble itself.
async fn no_user_yet(state: &AppState) -> bool {
    let exists = match state.pool.get().await {
        Ok(mut conn) => User::any_exists(&mut conn)
            .await
            .map_err(anyhow::Error::from),
        Err(e) => Err(anyhow::Error::from(e)),
    };
    match exists {
        Ok(exists) => !exists,
        Err(e) => {
            tracing::warn!(error = %e, "could not tell whether any user exists");
            false
        }
    }
}

#[derive(Deserialize)]
pub struct LoginData {
    #[serde(default)]
    email: String,
    #[serde(default = "empty_secret")]
    password: SecretString,
    next: Option<String>,
}

fn empty_secret() -> SecretString {
    SecretString::from("")
}

/// The sign-in form again, with `error`, the email as typed (cut to a valid length),
/// `Retry-After` when given, and the setup hint when no one has signed up yet.
#[allow(clippy::too_many_arguments)]
fn refused(
    req: &HttpRequest,
    state: &AppState,
    status: StatusCode,
    email: &str,
    next: String,
    error: &str,
    retry_after_secs: Option<i64>,
    first_run: bool,
) -> Result<HttpResponse, AppError> {
    let email = input::truncate(email, MAX_EMAIL_BYTES);
    let mut res = login_page(req, state, status, |csrf_token| LoginForm {
        csrf_token,
        email,
        next,
        error: Some(error.to_string()),
        notice: None,
        first_run,
    })?;
    if let Some(secs) = retry_after_secs {
        res.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
    }
    Ok(res)
}

fn redirect_to(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

#[tracing::instrument(skip_all)]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: TypedSession,
    HtmlForm(form): HtmlForm<LoginData>,
) -> Result<HttpResponse, AppError> {
    let next = safe_next(&state.settings.public_url, form.next.as_deref());
    let meta = RequestMeta::from_request(&req, &state.settings.trusted_proxies);
    let attempt = Attempt {
        email: &form.email,
        password: form.password,
        meta: &meta,
        now: state.clock.now(),
    };
    let email = attempt.normalised_email();
    // Never echo back a value holding control characters.
    let shown = if input::has_control(&email, Lines::Single) {
        ""
    } else {
        email.as_str()
    };
    let page = |status, error: &str, retry, first_run| {
        refused(
            &req,
            &state,
            status,
            shown,
            next.clone(),
            error,
            retry,
            first_run,
        )
    };
    match sign_in(&state.pool, &state.argon2, attempt).await? {
        Outcome::SignedIn(user) => {
            session.log_in(user.id, &SignInOrigin::new(&meta, state.clock.now())?)?;
            Ok(redirect_to(&next))
        }
        Outcome::CodeNeeded(user) => {
            let pending = PendingSignIn::new(user.id, state.clock.now(), next.clone())?;
            session.begin_second_factor(&pending)?;
            Ok(redirect_to(paths::LOGIN_CODE))
        }
        Outcome::BadEmail => page(StatusCode::UNPROCESSABLE_ENTITY, BAD_EMAIL, None, false),
        // Someone trying to sign in to an empty console needs the setup link, not a password.
        Outcome::Failed => {
            let first_run = no_user_yet(&state).await;
            page(StatusCode::UNAUTHORIZED, FAILED, None, first_run)
        }
        Outcome::Busy => page(StatusCode::SERVICE_UNAVAILABLE, BUSY, Some(1), false),
        Outcome::Throttled(secs) => {
            let error = format!("Too many failed attempts. Try again in {secs} seconds.");
            page(StatusCode::TOO_MANY_REQUESTS, &error, Some(secs), false)
        }
    }
}

#[tracing::instrument(skip_all)]
pub async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: TypedSession,
) -> Result<HttpResponse, AppError> {
    if let Some(user_id) = session.user_id() {
        let meta = RequestMeta::from_request(&req, &state.settings.trusted_proxies);
        let mut conn = state.pool.get().await?;
        if let Some(user) = User::find_any(&mut conn, user_id).await? {
            NewAuditEvent::new(AuditAction::UserLogout, &meta, state.clock.now())
                .by(&user)
                .record(&mut conn)
                .await?;
        }
    }
    session.log_out();
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("{}?signed_out=1", paths::LOGIN)))
        .finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn next(raw: &str) -> String {
        let public = Url::parse("https://console.example.com/").unwrap();
        safe_next(&public, Some(raw))
    }

    #[test]
    fn next_stays_on_our_origin_and_in_the_console() {
        assert_eq!(next("/settings/users"), "/settings/users");
        assert_eq!(
            next("/settings/audit?actor=a%40b"),
            "/settings/audit?actor=a%40b"
        );
        assert_eq!(
            next("https://console.example.com/settings/apis"),
            "/settings/apis"
        );
        for hostile in [
            "//evil.example/",
            "/\t/evil.example",
            "/\r\n/evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "https://evil.example/settings",
            "javascript:alert(1)",
            "/login",
            "/static/app.js",
            "/settings/../oauth/token",
            "",
        ] {
            assert_eq!(next(hostile), paths::M2M, "{hostile:?}");
        }
        assert!(!next("/settings/x\r\nSet-Cookie: a=b").contains('\n'));
    }
}
