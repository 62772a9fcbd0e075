//! First run: while no user exists, the server prints a one-time link where the first
//! organisation and its Super Admin are created. The link dies with its first use.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::app_state::AppState;
use crate::auth::csrf::public_form_page;
use crate::client_ip::RequestMeta;
use crate::db::DbPool;
use crate::db::models::setup_token;
use crate::db::models::user::User;
use crate::error::AppError;
use crate::forms::FieldErrors;
use crate::html_form::HtmlForm;
use crate::paths;
use crate::random;
use crate::render::render_template;
use crate::session::TypedSession;
use crate::staff::first_run::{self, SetupDraft};
use crate::staff::sessions::SignInOrigin;
use crate::views::error_page;

const LINK_INVALID: &str = "This setup link is not valid or has already been used. Restart the server to print a new one while no user exists, or sign in.";

/// When the database has no users, mints a new setup token and returns the link to print.
pub async fn issue_link_if_needed(
    pool: &DbPool,
    public_url: &url::Url,
    now: DateTime<Utc>,
) -> Result<Option<String>, AppError> {
    let mut conn = pool.get().await?;
    if User::any_exists(&mut conn).await? {
        setup_token::delete_all(&mut conn).await?;
        return Ok(None);
    }
    let token = random::token_256()?;
    setup_token::replace(&mut conn, &random::sha256(token.as_bytes()), now).await?;
    let mut link = public_url
        .join(paths::SETUP)
        .map_err(|e| AppError::Unexpected(e.into()))?;
    link.query_pairs_mut().append_pair("token", &token);
    Ok(Some(link.to_string()))
}

#[derive(Template)]
#[template(path = "pages/setup.html")]
pub struct SetupForm {
    pub csrf_token: String,
    pub token: String,
    pub org_name: String,
    pub email: String,
    pub errors: FieldErrors,
}

#[derive(Deserialize)]
pub struct SetupQuery {
    #[serde(default)]
    token: String,
}

fn invalid_link() -> Result<HttpResponse, AppError> {
    render_template(
        StatusCode::NOT_FOUND,
        &error_page("Setup link not valid", LINK_INVALID),
    )
}

/// The setup page, with its double-submit CSRF token (and cookie, when new): no session
/// exists yet, and showing the page stores nothing. It carries the setup token.
fn setup_page(
    req: &HttpRequest,
    state: &AppState,
    status: StatusCode,
    form: impl FnOnce(String) -> SetupForm,
) -> Result<HttpResponse, AppError> {
    public_form_page(req, state, status, ("Set up m2m-console", true), form)
}

#[tracing::instrument(skip_all)]
pub async fn setup_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<SetupQuery>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    if !first_run::link_is_live(&mut conn, &query.token).await? {
        return invalid_link();
    }
    setup_page(&req, &state, StatusCode::OK, |csrf_token| SetupForm {
        csrf_token,
        token: query.token.clone(),
        org_name: String::new(),
        email: String::new(),
        errors: FieldErrors::default(),
    })
}

#[tracing::instrument(skip_all)]
pub async fn complete_setup(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: TypedSession,
    HtmlForm(draft): HtmlForm<SetupDraft>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    if !first_run::link_is_live(&mut conn, &draft.token).await? {
        return invalid_link();
    }
    let (org_name, email, errors) = first_run::check(&draft);
    if !errors.is_empty() {
        let token = draft.token;
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return setup_page(&req, &state, status, |csrf_token| SetupForm {
            csrf_token,
            token,
            org_name,
            email,
            errors,
        });
    }
    let meta = RequestMeta::from_request(&req, &state.settings.trusted_proxies);
    let now = state.clock.now();
    let created = first_run::complete_setup(&mut conn, &state.argon2, draft, &meta, now).await?;
    let Some(user) = created else {
        return invalid_link();
    };
    session.log_in(user.id, &SignInOrigin::new(&meta, now)?)?;
    tracing::info!(user_id = %user.id, "first-run setup completed");
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, paths::M2M))
        .finish())
}
