//! A section under Settings (APIs, Roles, Users, Webhooks): where it lives, how it is built
//! fresh, and the two answers every such page gives, written once for all of them.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use askama::Template;
use diesel_async::AsyncPgConnection;

use crate::console::request::ConsoleRequest;
use crate::error::AppError;

/// A Settings section: the fragment a change refreshes, and the page that holds it.
pub(crate) trait SettingsSection: Template + Sized {
    /// Its name in the breadcrumbs.
    const TITLE: &'static str;
    /// Where it lives: the breadcrumb's link, and where a plain form is sent after a change.
    const PATH: &'static str;

    /// The section as it stands, with a blank add form.
    async fn load(conn: &mut AsyncPgConnection, rq: &ConsoleRequest) -> Result<Self, AppError>;

    /// The section's page, or one of its sub-pages titled `here`, showing `content`.
    fn page<T: Template>(
        rq: &ConsoleRequest,
        status: StatusCode,
        here: Option<&str>,
        content: T,
    ) -> Result<HttpResponse, AppError> {
        rq.settings_page(status, (Self::TITLE, Self::PATH), here, content)
    }

    /// After a change: the refreshed section and a toast, or a redirect with a flash.
    async fn changed(
        rq: &ConsoleRequest,
        conn: &mut AsyncPgConnection,
        message: &str,
    ) -> Result<HttpResponse, AppError> {
        rq.changed(message, Self::PATH, async || Self::load(conn, rq).await)
            .await
    }
}
