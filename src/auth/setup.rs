//! First run: while no user exists, the server prints a one-time link where the first
//! organisation and its Super Admin are created. The link dies with its first use.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::app_state::AppState;
use crate::auth::csrf::AnonymousCsrf;
use crate::auth::password;
use crate::client_ip::RequestMeta;
use crate::db::DbPool;
use crate::db::ids::UserId;
use crate::db::models::audit_event::NewAuditEvent;
use crate::db::models::organisation::Organisation;
use crate::db::models::setup_token;
use crate::db::models::user::{NewUser, StaffRole, User};
use crate::error::AppError;
use crate::forms::{self, FieldErrors, HtmlForm};
use crate::paths;
use crate::random;
use crate::render::render_template;
use crate::session::TypedSession;
use crate::views::{PublicPage, error_page};

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

async fn link_is_live(conn: &mut AsyncPgConnection, token: &str) -> Result<bool, AppError> {
    if token.is_empty() || token.len() > 100 {
        return Ok(false);
    }
    Ok(
        setup_token::exists(conn, &random::sha256(token.as_bytes())).await?
            && !User::any_exists(conn).await?,
    )
}

fn invalid_link() -> Result<HttpResponse, AppError> {
    render_template(
        StatusCode::NOT_FOUND,
        &error_page("Setup link not valid", LINK_INVALID),
    )
}

/// The setup page, with its double-submit CSRF token (and cookie, when new): no session
/// exists yet, and showing the page stores nothing.
fn setup_page(
    req: &HttpRequest,
    state: &AppState,
    status: StatusCode,
    form: impl FnOnce(String) -> SetupForm,
) -> Result<HttpResponse, AppError> {
    let csrf = AnonymousCsrf::for_request(req, state)?;
    let form = form(csrf.token.clone());
    let mut res = render_template(
        status,
        &PublicPage::new("Set up m2m-console", csrf.token.clone(), form),
    )?;
    csrf.set_cookie(&mut res)?;
    // The page carries the setup token in a hidden field.
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}

#[tracing::instrument(skip_all)]
pub async fn setup_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<SetupQuery>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    if !link_is_live(&mut conn, &query.token).await? {
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

#[derive(Deserialize)]
pub struct SetupData {
    #[serde(default)]
    token: String,
    #[serde(default)]
    org_name: String,
    #[serde(default)]
    email: String,
    #[serde(default = "empty")]
    password: SecretString,
    #[serde(default = "empty")]
    password_confirm: SecretString,
}

fn empty() -> SecretString {
    SecretString::from("")
}

#[tracing::instrument(skip_all)]
pub async fn complete_setup(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: TypedSession,
    HtmlForm(form): HtmlForm<SetupData>,
) -> Result<HttpResponse, AppError> {
    let mut errors = FieldErrors::default();
    let org_name = forms::text(&mut errors, "org_name", &form.org_name, true, 100);
    let email = forms::email(&mut errors, "email", &form.email);
    if let Err(message) = password::validate_new_password(&form.password) {
        errors.add("password", message);
    } else if form.password.expose_secret() != form.password_confirm.expose_secret() {
        errors.add("password_confirm", "The passwords do not match.");
    }
    {
        let mut conn = state.pool.get().await?;
        if !link_is_live(&mut conn, &form.token).await? {
            return invalid_link();
        }
    }
    if !errors.is_empty() {
        return setup_page(
            &req,
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            |csrf_token| SetupForm {
                csrf_token,
                token: form.token,
                org_name,
                email,
                errors,
            },
        );
    }

    let hash = password::hash_password(state.argon2.slot().await?, form.password).await?;
    let meta = RequestMeta::from_request(&req, &state.settings.trusted_proxies);
    let now = state.clock.now();
    let token_hash = random::sha256(form.token.as_bytes());
    let mut conn = state.pool.get().await?;
    let created = conn
        .transaction::<_, AppError, _>(async move |conn| {
            {
                // Deleting the token is the lock: of two racing submissions only one consumes it.
                if !setup_token::consume(conn, &token_hash).await? || User::any_exists(conn).await?
                {
                    return Ok(None);
                }
                let org = Organisation::create(conn, &org_name, now).await?;
                let user = User::insert(
                    conn,
                    &NewUser {
                        id: UserId::new_random(),
                        org_id: org.id,
                        email: &email,
                        role: StaffRole::SuperAdmin,
                        password_hash: &hash,
                        created_at: now,
                        updated_at: now,
                    },
                )
                .await?;
                setup_token::delete_all(conn).await?;
                NewAuditEvent::new("setup.completed", &meta, now)
                    .by(&user)
                    .target("organisation", org.id, &org.name)
                    .insert(conn)
                    .await?;
                Ok(Some(user))
            }
        })
        .await?;
    let Some(user) = created else {
        return invalid_link();
    };
    session.log_in(user.id)?;
    tracing::info!(user_id = %user.id, "first-run setup completed");
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, paths::M2M))
        .finish())
}
