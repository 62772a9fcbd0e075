//! The second step of signing in, for users with two-factor on: the password step left a
//! `PendingSignIn` in the session (nobody signed in); a current TOTP code or an unused
//! recovery code, within `PENDING_LIFETIME`, completes the sign-in under a new session key.
//! The checking is `staff::two_factor::complete_sign_in`'s.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::Duration;
use serde::Deserialize;

use crate::app_state::AppState;
use crate::client_ip::RequestMeta;
use crate::db::models::user::User;
use crate::error::AppError;
use crate::html_form::HtmlForm;
use crate::paths;
use crate::render::render_template;
use crate::session::{PendingSignIn, TypedSession};
use crate::staff::sessions::SignInOrigin;
use crate::staff::two_factor::{self, Check};
use crate::views::PublicPage;

/// How long a correct password waits for its code.
pub const PENDING_LIFETIME: Duration = Duration::minutes(5);
const WRONG: &str =
    "That code is not right. Enter the current code from your app, or a recovery code.";
/// The pending sign-in made its attempts: the password step again, with this notice.
const EXHAUSTED: &str = "Too many wrong codes. Sign in again with your password.";

#[derive(Template)]
#[template(path = "pages/login_code.html")]
pub struct CodeForm {
    pub csrf_token: String,
    pub error: Option<String>,
}

/// The pending sign-in, if it is still fresh.
fn fresh(state: &AppState, session: &TypedSession) -> Option<PendingSignIn> {
    let pending = session.pending_sign_in()?;
    let age = state.clock.now().timestamp() - pending.at;
    (0..=PENDING_LIFETIME.num_seconds())
        .contains(&age)
        .then_some(pending)
}

fn back_to_login(session: &TypedSession) -> HttpResponse {
    session.clear_pending_sign_in();
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, paths::LOGIN))
        .finish()
}

/// Back to the password step, the pending sign-in dropped, with a notice saying why.
fn start_again(session: &TypedSession, notice: &str) -> HttpResponse {
    session.set_flash(notice);
    back_to_login(session)
}

fn code_page(
    session: &TypedSession,
    status: StatusCode,
    error: Option<String>,
    retry_after: Option<i64>,
) -> Result<HttpResponse, AppError> {
    let csrf_token = session.csrf_token()?;
    let form = CodeForm {
        csrf_token: csrf_token.clone(),
        error,
    };
    let mut res = render_template(
        status,
        &PublicPage::new("Two-factor code", csrf_token, form),
    )?;
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    if let Some(secs) = retry_after {
        res.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
    }
    Ok(res)
}

#[tracing::instrument(skip_all)]
pub async fn code_form(
    state: web::Data<AppState>,
    session: TypedSession,
) -> Result<HttpResponse, AppError> {
    if fresh(&state, &session).is_none() {
        return Ok(back_to_login(&session));
    }
    code_page(&session, StatusCode::OK, None, None)
}

#[derive(Deserialize)]
pub struct CodeData {
    #[serde(default)]
    code: String,
}

#[tracing::instrument(skip_all)]
pub async fn submit_code(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: TypedSession,
    HtmlForm(form): HtmlForm<CodeData>,
) -> Result<HttpResponse, AppError> {
    let Some(pending) = fresh(&state, &session) else {
        return Ok(back_to_login(&session));
    };
    let meta = RequestMeta::from_request(&req, &state.settings.trusted_proxies);
    let now = state.clock.now();
    let mut conn = state.pool.get().await?;
    let Some(user) = User::find_any(&mut conn, pending.user_id)
        .await?
        .filter(|u| !u.disabled)
    else {
        return Ok(back_to_login(&session));
    };
    if !two_factor::is_enabled(&mut conn, user.id).await? {
        // Reset by a Super Admin meanwhile: the password step decides again.
        return Ok(back_to_login(&session));
    }
    let check = two_factor::complete_sign_in(
        &mut conn,
        &state.sealer,
        &user,
        &pending.id,
        &form.code,
        &meta,
        now,
    )
    .await?;
    match check {
        Check::Passed(_) => {
            session.log_in(user.id, &SignInOrigin::new(&meta, now)?)?;
            Ok(HttpResponse::SeeOther()
                .insert_header((header::LOCATION, pending.next))
                .finish())
        }
        refusal => refused(&session, refusal),
    }
}

/// The code page again after a refused code, or the password step once this sign-in has had
/// its attempts.
fn refused(session: &TypedSession, check: Check) -> Result<HttpResponse, AppError> {
    match check {
        Check::Exhausted => Ok(start_again(session, EXHAUSTED)),
        Check::Locked => code_page(
            session,
            StatusCode::TOO_MANY_REQUESTS,
            Some(two_factor::LOCKED.into()),
            None,
        ),
        Check::Throttled(secs) => code_page(
            session,
            StatusCode::TOO_MANY_REQUESTS,
            Some(format!(
                "Too many wrong codes. Try again in {secs} seconds."
            )),
            Some(secs),
        ),
        _ => code_page(session, StatusCode::UNAUTHORIZED, Some(WRONG.into()), None),
    }
}
