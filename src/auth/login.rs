//! Sign-in and sign-out. An unknown email, a wrong password and a disabled account all get
//! the same message, status and (thanks to the dummy hash) timing.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use secrecy::SecretString;
use serde::Deserialize;

use crate::auth::password;
use crate::auth::throttle::{self, ThrottleKeys};
use crate::client_ip::RequestMeta;
use crate::db::models::audit_event::NewAuditEvent;
use crate::db::models::user::{User, normalise_email};
use crate::error::AppError;
use crate::htmx::render_template;
use crate::session::TypedSession;
use crate::startup::AppState;
use crate::views::PublicPage;

pub const HOME: &str = "/settings/integrations/machine-to-machine";
const FAILED: &str = "Incorrect email or password.";

#[derive(Template)]
#[template(path = "pages/login.html")]
pub struct LoginForm {
    pub csrf_token: String,
    pub email: String,
    pub next: String,
    pub error: Option<String>,
    pub notice: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    signed_out: Option<String>,
}

/// Only our own absolute paths: never another host (open redirect).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') => p.to_string(),
        _ => HOME.to_string(),
    }
}

fn login_page(status: StatusCode, form: LoginForm) -> Result<HttpResponse, AppError> {
    let token = form.csrf_token.clone();
    render_template(status, &PublicPage::new("Sign in", token, form))
}

#[tracing::instrument(skip_all)]
pub async fn login_form(
    session: TypedSession,
    query: web::Query<LoginQuery>,
) -> Result<HttpResponse, AppError> {
    let next = safe_next(query.next.as_deref());
    if session.user_id().is_some() {
        return Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, next))
            .finish());
    }
    login_page(
        StatusCode::OK,
        LoginForm {
            csrf_token: session.csrf_token()?,
            email: String::new(),
            next,
            error: None,
            notice: query
                .signed_out
                .as_ref()
                .map(|_| "You have signed out.".to_string()),
        },
    )
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

#[tracing::instrument(skip_all)]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: TypedSession,
    form: web::Form<LoginData>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let email = normalise_email(&form.email);
    let next = safe_next(form.next.as_deref());
    let meta = RequestMeta::from_request(&req, &state.settings.trusted_proxies);
    let keys = ThrottleKeys::new(&email, meta.ip);
    let now = state.clock.now();

    let mut conn = state.pool.get().await?;
    if let Some(retry_after_secs) = throttle::retry_after(&mut conn, &keys, now).await? {
        NewAuditEvent::new("user.login_throttled", &meta, now)
            .actor_email(&email)
            .insert(&mut conn)
            .await?;
        let mut res = login_page(
            StatusCode::TOO_MANY_REQUESTS,
            LoginForm {
                csrf_token: session.csrf_token()?,
                email,
                next,
                error: Some(format!(
                    "Too many failed attempts. Try again in {retry_after_secs} seconds."
                )),
                notice: None,
            },
        )?;
        res.headers_mut().insert(
            header::RETRY_AFTER,
            header::HeaderValue::from(retry_after_secs),
        );
        return Ok(res);
    }
    let user = User::find_by_email(&mut conn, &email).await?;
    // Hashing takes tens of milliseconds: hold no pooled connection meanwhile.
    drop(conn);
    let password_ok = password::verify_password(
        form.password,
        user.as_ref().map(|u| u.password_hash.clone()),
    )
    .await?;

    let mut conn = state.pool.get().await?;
    match user {
        Some(user) if password_ok && !user.disabled => {
            throttle::record_success(&mut conn, &keys).await?;
            NewAuditEvent::new("user.login", &meta, now)
                .by(&user)
                .insert(&mut conn)
                .await?;
            session.log_in(user.id)?;
            tracing::info!(user_id = %user.id, "signed in");
            Ok(HttpResponse::SeeOther()
                .insert_header((header::LOCATION, next))
                .finish())
        }
        user => {
            throttle::record_failure(&mut conn, &keys, now).await?;
            let reason = match &user {
                None => "unknown_email",
                Some(u) if u.disabled => "disabled",
                Some(_) => "wrong_password",
            };
            let mut event = NewAuditEvent::new("user.login_failed", &meta, now)
                .actor_email(&email)
                .details(serde_json::json!({ "reason": reason }));
            if let Some(u) = &user {
                event = event.org(u.org_id).target("user", u.id, &u.email);
            }
            event.insert(&mut conn).await?;
            tracing::info!(reason, "sign-in failed");
            login_page(
                StatusCode::UNAUTHORIZED,
                LoginForm {
                    csrf_token: session.csrf_token()?,
                    email,
                    next,
                    error: Some(FAILED.into()),
                    notice: None,
                },
            )
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
            NewAuditEvent::new("user.logout", &meta, state.clock.now())
                .by(&user)
                .insert(&mut conn)
                .await?;
        }
    }
    session.log_out();
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/login?signed_out=1"))
        .finish())
}
