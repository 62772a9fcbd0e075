//! The navigation pages: Settings, Settings → Integrations, and the Machine to Machine page.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use askama::Template;

use crate::console::request::ConsoleRequest;
use crate::db::models::user::StaffRole;
use crate::error::AppError;
use crate::paths;
use crate::views::Crumb;

#[derive(Clone, Copy)]
pub struct Section {
    pub title: &'static str,
    pub href: &'static str,
    pub description: &'static str,
    /// Shown to Super Admins only.
    super_admin: bool,
}

const fn section(
    title: &'static str,
    href: &'static str,
    description: &'static str,
    super_admin: bool,
) -> Section {
    Section {
        title,
        href,
        description,
        super_admin,
    }
}

/// The Settings page's sections, in the order it lists them.
const SECTIONS: [Section; 10] = [
    section(
        "Integrations",
        paths::INTEGRATIONS,
        "Connect other systems: machine-to-machine API credentials.",
        false,
    ),
    section(
        "APIs",
        paths::APIS,
        "The API catalog: the scopes that roles and credentials may be granted.",
        false,
    ),
    section(
        "Roles",
        paths::ROLES,
        "Named sets of APIs; each credential has one role.",
        false,
    ),
    section(
        "Audit log",
        paths::AUDIT,
        "Who did what, when and from where.",
        false,
    ),
    section(
        "Management API reference",
        paths::API_REFERENCE,
        "Manage credentials from code: operations, scopes, errors (OpenAPI 3.1).",
        false,
    ),
    section(
        "Account security",
        paths::ACCOUNT_SECURITY,
        "Your own sign-in: password, two-factor codes and recovery codes.",
        false,
    ),
    section(
        "Sessions",
        paths::ACCOUNT_SESSIONS,
        "Where you are signed in; sign out the other browsers and devices.",
        false,
    ),
    section(
        "Users",
        paths::USERS,
        "Staff who can sign in to this console, and their roles.",
        true,
    ),
    section(
        "Credential policy",
        paths::POLICY,
        "How long credentials live, and what happens to those nobody uses.",
        true,
    ),
    section(
        "Webhooks",
        paths::WEBHOOKS,
        "Signed events sent to your systems when credentials change or expire.",
        true,
    ),
];

#[derive(Template)]
#[template(path = "pages/settings.html")]
pub struct SettingsIndex {
    pub sections: Vec<Section>,
}

#[tracing::instrument(skip_all)]
pub async fn settings_index(rq: ConsoleRequest) -> Result<HttpResponse, AppError> {
    let super_admin = rq.user.role == StaffRole::SuperAdmin;
    let sections = SECTIONS
        .into_iter()
        .filter(|s| super_admin || !s.super_admin)
        .collect();
    let crumbs = vec![Crumb::here("Settings")];
    rq.page(
        StatusCode::OK,
        "Settings",
        crumbs,
        SettingsIndex { sections },
    )
}

#[derive(Template)]
#[template(path = "pages/integrations.html")]
pub struct IntegrationsIndex;

#[tracing::instrument(skip_all)]
pub async fn integrations_index(rq: ConsoleRequest) -> Result<HttpResponse, AppError> {
    rq.settings_page(
        StatusCode::OK,
        ("Integrations", paths::INTEGRATIONS),
        None,
        IntegrationsIndex,
    )
}
