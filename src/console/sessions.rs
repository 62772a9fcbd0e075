//! Settings → Account security → Sessions: where the signed-in user is signed in (browser, system, address,
//! when), this session first, and "Sign out other sessions". Open to every role. The change
//! is `staff::sessions::end_other_sessions`.

use actix_web::HttpResponse;
use actix_web::http::{StatusCode, header};
use askama::Template;
use chrono::{DateTime, Utc};

use crate::console::audit::user_agent::browser_and_os;
use crate::console::request::ConsoleRequest;
use crate::error::AppError;
use crate::paths;
use crate::staff::sessions::{self, LiveSession};
use crate::views::{absolute_time, relative_time};

const UNKNOWN: &str = "Unknown";

/// One session as the table shows it.
pub struct SessionRow {
    pub browser: String,
    pub os: String,
    pub address: String,
    pub signed_in: String,
    pub signed_in_exact: String,
    pub signed_in_iso: String,
    pub last_active: String,
    pub last_active_exact: String,
    pub last_active_iso: String,
    pub current: bool,
}

impl SessionRow {
    fn new(session: LiveSession, now: DateTime<Utc>) -> Self {
        let (browser, os) = match &session.origin {
            Some(origin) => browser_and_os(&origin.user_agent),
            None => (None, None),
        };
        let address = session.origin.as_ref().and_then(|o| o.ip.clone());
        Self {
            browser: browser.unwrap_or_else(|| UNKNOWN.into()),
            os: os.unwrap_or(UNKNOWN).into(),
            address: address.unwrap_or_else(|| UNKNOWN.into()),
            signed_in: relative_time(session.signed_in_at, now),
            signed_in_exact: absolute_time(session.signed_in_at),
            signed_in_iso: session.signed_in_at.to_rfc3339(),
            last_active: relative_time(session.last_active_at, now),
            last_active_exact: absolute_time(session.last_active_at),
            last_active_iso: session.last_active_at.to_rfc3339(),
            current: session.current,
        }
    }
}

#[derive(Template)]
#[template(path = "partials/account_sessions.html")]
pub struct AccountSessions {
    pub sessions: Vec<SessionRow>,
    /// Whether any session but this one is live (the button is shown only then).
    pub others: bool,
    pub csrf_token: String,
}

async fn section(rq: &ConsoleRequest) -> Result<AccountSessions, AppError> {
    let mut conn = rq.conn().await?;
    let current = rq.session.origin().map(|o| o.id);
    let idle = rq.state.settings.session_idle;
    let live = sessions::list_own(&mut conn, &rq.user, current.as_deref(), idle, rq.now).await?;
    let sessions: Vec<SessionRow> = live
        .into_iter()
        .map(|s| SessionRow::new(s, rq.now))
        .collect();
    Ok(AccountSessions {
        others: sessions.iter().any(|s| !s.current),
        sessions,
        csrf_token: rq.csrf_token()?,
    })
}

fn page(
    rq: &ConsoleRequest,
    status: StatusCode,
    content: AccountSessions,
) -> Result<HttpResponse, AppError> {
    let section = ("Account security", paths::ACCOUNT_SECURITY);
    let mut res = rq.settings_page(status, section, Some("Sessions"), content)?;
    // Addresses and devices of the user: not for shared caches or the back button.
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}

#[tracing::instrument(skip_all)]
pub async fn list_account_sessions(rq: ConsoleRequest) -> Result<HttpResponse, AppError> {
    let content = section(&rq).await?;
    page(&rq, StatusCode::OK, content)
}

#[tracing::instrument(skip_all)]
pub async fn end_other_sessions(rq: ConsoleRequest) -> Result<HttpResponse, AppError> {
    let current = rq.session.origin().map(|o| o.id);
    let mut conn = rq.conn().await?;
    let ended = sessions::end_other_sessions(&mut conn, &rq.actor(), current.as_deref()).await?;
    drop(conn);
    if ended.current_ended {
        // This session predates sessions knowing their origin, so it went with the rest.
        rq.session.log_out();
        return Ok(rq.redirect(paths::LOGIN));
    }
    let message = match ended.count {
        0 => "No other session was signed in.".to_string(),
        1 => "Signed out 1 other session.".to_string(),
        n => format!("Signed out {n} other sessions."),
    };
    rq.changed(&message, paths::ACCOUNT_SESSIONS, async || {
        section(&rq).await
    })
    .await
}
