//! Rendering askama templates into responses: a fragment for htmx or the whole console page.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use askama::Template;

use crate::error::AppError;
use crate::htmx::{HxRequest, html};
use crate::views::{ConsolePage, Shell};

/// The fragment alone for htmx, or the fragment inside the console layout.
pub fn render<T: Template>(
    hx: HxRequest,
    status: StatusCode,
    shell: Shell,
    fragment: T,
) -> Result<HttpResponse, AppError> {
    let body = if hx.0 {
        fragment.render()
    } else {
        ConsolePage::new(shell, fragment).render()
    }
    .map_err(|e| {
        AppError::Unexpected(anyhow::Error::new(e).context("template rendering failed"))
    })?;
    Ok(html(status, body))
}

/// Renders a template whatever the request (modals, toasts, public pages).
pub fn render_template<T: Template>(
    status: StatusCode,
    template: &T,
) -> Result<HttpResponse, AppError> {
    let body = template.render().map_err(|e| {
        AppError::Unexpected(anyhow::Error::new(e).context("template rendering failed"))
    })?;
    Ok(html(status, body))
}
