//! The navigation pages: Settings, Settings → Integrations, and the Machine to Machine page.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use askama::Template;

use crate::console::request::ConsoleRequest;
use crate::db::models::user::StaffRole;
use crate::error::AppError;
use crate::paths;
use crate::views::Crumb;

pub struct Section {
    pub title: &'static str,
    pub href: &'static str,
    pub description: &'static str,
}

#[derive(Template)]
#[template(path = "pages/settings.html")]
pub struct SettingsIndex {
    pub sections: Vec<Section>,
}

#[tracing::instrument(skip_all)]
pub async fn settings_index(rq: ConsoleRequest) -> Result<HttpResponse, AppError> {
    let mut sections = vec![
        Section {
            title: "Integrations",
            href: paths::INTEGRATIONS,
            description: "Connect other systems: machine-to-machine API credentials.",
        },
        Section {
            title: "APIs",
            href: paths::APIS,
            description: "The API catalog: the scopes that roles and credentials may be granted.",
        },
        Section {
            title: "Roles",
            href: paths::ROLES,
            description: "Named sets of APIs; each credential has one role.",
        },
        Section {
            title: "Audit log",
            href: paths::AUDIT,
            description: "Who did what, when and from where.",
        },
        Section {
            title: "Management API reference",
            href: paths::API_REFERENCE,
            description: "Manage credentials from code: operations, scopes, errors (OpenAPI 3.1).",
        },
    ];
    sections.push(Section {
        title: "Account security",
        href: paths::ACCOUNT_SECURITY,
        description: "Your own sign-in: password, two-factor codes and recovery codes.",
    });
    sections.push(Section {
        title: "Sessions",
        href: paths::ACCOUNT_SESSIONS,
        description: "Where you are signed in; sign out the other browsers and devices.",
    });
    if rq.user.role == StaffRole::SuperAdmin {
        sections.push(Section {
            title: "Users",
            href: paths::USERS,
            description: "Staff who can sign in to this console, and their roles.",
        });
        sections.push(Section {
            title: "Credential policy",
            href: paths::POLICY,
            description: "How long credentials live, and what happens to those nobody uses.",
        });
        sections.push(Section {
            title: "Webhooks",
            href: paths::WEBHOOKS,
            description: "Signed events sent to your systems when credentials change or expire.",
        });
    }
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
