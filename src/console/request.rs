//! The console's request kit: what every console handler needs about its request (the
//! signed-in user, the session, whether htmx asked, the caller's address, the clock and the
//! app state) in one extractor, so that a handler's signature says only what is particular
//! to it; and the answers every console handler gives.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::{DateTime, Utc};

use crate::actor::Actor;
use crate::app_state::AppState;
use crate::auth::guard::CurrentUser;
use crate::client_ip::RequestMeta;
use crate::db::DbConn;
use crate::db::models::two_factor::TwoFactor;
use crate::db::models::user::{StaffRole, User};
use crate::error::AppError;
use crate::htmx::{HxRequest, html, is_htmx, see_other};
use crate::paths;
use crate::render::render;
use crate::session::TypedSession;
use crate::views::{Crumb, Shell, Toast};

/// Set on every request that went through a step-up gate (`console::step_up_gate`); a
/// state-changing request without it is refused here, so a route missing from the table fails
/// closed.
#[derive(Clone, Copy)]
pub struct Gated;

pub struct ConsoleRequest {
    pub state: web::Data<AppState>,
    pub user: User,
    pub session: TypedSession,
    pub hx: HxRequest,
    pub meta: RequestMeta,
    pub now: DateTime<Utc>,
    /// The path of the page htmx says the request came from (`HX-Current-URL`).
    current_path: Option<String>,
    /// The query string of that page, e.g. the list's sort order.
    current_query: Option<String>,
}

impl FromRequest for ConsoleRequest {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        if !req.method().is_safe() && req.extensions().get::<Gated>().is_none() {
            // A state-changing route registered outside `routes::console_writes` would skip
            // "Confirm it's you": refuse it loudly instead.
            let route = format!(
                "{} {}",
                req.method(),
                req.match_pattern().unwrap_or_default()
            );
            return Box::pin(async move {
                Err(AppError::Unexpected(anyhow::anyhow!(
                    "{route} is not declared in routes::console_writes"
                )))
            });
        }
        let user = CurrentUser::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let CurrentUser(user) = user.await?;
            let state = req
                .app_data::<web::Data<AppState>>()
                .cloned()
                .ok_or_else(|| AppError::Unexpected(anyhow::anyhow!("no app state")))?;
            enrolment_guard(&state, &req, &user).await?;
            let session = TypedSession::from_request(&req, &mut Payload::None)
                .await
                .map_err(|e| AppError::Unexpected(anyhow::anyhow!("session: {e}")))?;
            let current = req
                .headers()
                .get("HX-Current-URL")
                .and_then(|v| v.to_str().ok())
                .and_then(|u| url::Url::parse(u).ok());
            let current_path = current
                .as_ref()
                .map(|u| u.path().trim_end_matches('/').to_string());
            let current_query = current.as_ref().and_then(|u| u.query().map(str::to_string));
            Ok(Self {
                meta: RequestMeta::from_request(&req, &state.settings.trusted_proxies),
                now: state.clock.now(),
                hx: HxRequest(is_htmx(req.headers())),
                state,
                user,
                session,
                current_path,
                current_query,
            })
        })
    }
}

/// Refuses every console page but the user's own (Account security, Sessions) to a Super
/// Admin or Admin whose organisation requires two-factor sign-in and who has not set it up
/// (one query).
async fn enrolment_guard(state: &AppState, req: &HttpRequest, user: &User) -> Result<(), AppError> {
    // The user's own account pages stay open: setting up two-factor, and signing out
    // sessions one does not recognise, must never be blocked.
    let own_account = [paths::ACCOUNT_SECURITY, paths::ACCOUNT_SESSIONS]
        .iter()
        .any(|page| {
            req.path()
                .strip_prefix(page)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        });
    if own_account || user.role < StaffRole::Admin {
        return Ok(());
    }
    let mut conn = state.pool.get().await?;
    if TwoFactor::enrolment_required(&mut conn, user.org_id, user.id).await? {
        return Err(AppError::EnrolmentRequired);
    }
    Ok(())
}

impl ConsoleRequest {
    /// The signed-in user as the domain layer's actor.
    pub fn actor(&self) -> Actor {
        Actor::staff(self.user.clone(), self.meta.clone(), self.now)
    }

    pub async fn conn(&self) -> Result<DbConn, AppError> {
        Ok(self.state.pool.get().await?)
    }

    /// Refuses unless the user's role is at least `role` (for pages; operations check their
    /// own permission in the domain layer).
    pub fn require(&self, role: StaffRole, action: &'static str) -> Result<(), AppError> {
        if self.can(role) {
            Ok(())
        } else {
            Err(AppError::Forbidden(action))
        }
    }

    pub fn can(&self, role: StaffRole) -> bool {
        self.user.role >= role
    }

    pub fn csrf_token(&self) -> Result<String, AppError> {
        Ok(self.session.csrf_token()?)
    }

    /// Whether htmx sent this request from the page at `path` (its table can then be
    /// updated in place).
    pub fn came_from(&self, path: &str) -> bool {
        self.current_path.as_deref() == Some(path.trim_end_matches('/'))
    }

    /// The query string of the page htmx says the request came from; empty if none.
    pub fn current_query(&self) -> &str {
        self.current_query.as_deref().unwrap_or_default()
    }

    /// The shell of a console page for the signed-in user, with any pending flash notice.
    pub fn shell(&self, title: &str, crumbs: Vec<Crumb>) -> Result<Shell, AppError> {
        Ok(Shell::new(title, self.csrf_token()?, Some(&self.user))
            .crumbs(crumbs)
            .flash(self.session.take_flash()))
    }

    /// `fragment` alone for htmx, inside the console page titled `title` otherwise.
    pub fn page<T: Template>(
        &self,
        status: StatusCode,
        title: &str,
        crumbs: Vec<Crumb>,
        fragment: T,
    ) -> Result<HttpResponse, AppError> {
        render(self.hx, status, self.shell(title, crumbs)?, fragment)
    }

    /// A page under Settings: the `section` itself (found at `section_path`), or one of its
    /// sub-pages titled `here`.
    pub fn settings_page<T: Template>(
        &self,
        status: StatusCode,
        (section, section_path): (&str, &str),
        here: Option<&str>,
        content: T,
    ) -> Result<HttpResponse, AppError> {
        let mut crumbs = vec![Crumb::link("Settings", paths::SETTINGS)];
        let title = match here {
            Some(here) => {
                crumbs.push(Crumb::link(section, section_path));
                crumbs.push(Crumb::here(here));
                here
            }
            None => {
                crumbs.push(Crumb::here(section));
                section
            }
        };
        self.page(status, title, crumbs, content)
    }

    /// 303 to `location` (htmx: `HX-Redirect`).
    pub fn redirect(&self, location: &str) -> HttpResponse {
        see_other(self.hx, location)
    }

    /// The answer to a change: for htmx, `section` (built only then) with a toast saying
    /// `message`; for a plain form, a redirect to `location` with `message` as a flash.
    pub async fn changed<T: Template>(
        &self,
        message: &str,
        location: &str,
        section: impl AsyncFnOnce() -> Result<T, AppError>,
    ) -> Result<HttpResponse, AppError> {
        if !self.hx.0 {
            self.session.set_flash(message);
            return Ok(self.redirect(location));
        }
        let body = section().await?.render().map_err(render_error)?;
        let toast = Toast::success_oob(message).render().map_err(render_error)?;
        Ok(html(StatusCode::OK, body + &toast))
    }
}

pub fn render_error(e: askama::Error) -> AppError {
    AppError::Unexpected(anyhow::Error::new(e).context("template rendering failed"))
}
