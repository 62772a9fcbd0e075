//! Every address of the console, in one place: the route table, the handlers and the
//! templates build their links from these, so a page never links to a path that moved.

use std::fmt::Display;

pub const LOGIN: &str = "/login";
pub const LOGOUT: &str = "/logout";
pub const SETUP: &str = "/setup";
pub const SETTINGS: &str = "/settings";
pub const INTEGRATIONS: &str = "/settings/integrations";
/// Settings → Integrations → Machine to Machine: the credentials, and home after sign-in.
pub const M2M: &str = "/settings/integrations/machine-to-machine";
pub const APIS: &str = "/settings/apis";
pub const ROLES: &str = "/settings/roles";
pub const USERS: &str = "/settings/users";
pub const AUDIT: &str = "/settings/audit";
/// The audit log's events, as the log's filters narrow them, for download.
pub const AUDIT_EXPORT_CSV: &str = "/settings/audit/export.csv";
pub const AUDIT_EXPORT_NDJSON: &str = "/settings/audit/export.ndjson";
pub const POLICY: &str = "/settings/policy";

/// The create form (a page, or a modal for htmx).
pub const NEW_CREDENTIAL: &str = "/settings/integrations/machine-to-machine/new";

/// A credential's page.
pub fn credential(id: impl Display) -> String {
    format!("{M2M}/{id}")
}

/// One of a credential's actions: `edit`, `menu`, `rotate`, `revoke`, `delete`, `token`,
/// `tokens/revoke`.
pub fn credential_action(id: impl Display, action: &str) -> String {
    format!("{M2M}/{id}/{action}")
}

/// Revoking one of a credential's tokens.
pub fn credential_token_revoke(id: impl Display, token: impl Display) -> String {
    format!("{M2M}/{id}/tokens/{token}/revoke")
}

/// A catalog entry (its save address); `edit` and `delete` follow it.
pub fn api(id: impl Display) -> String {
    format!("{APIS}/{id}")
}

pub fn api_action(id: impl Display, action: &str) -> String {
    format!("{APIS}/{id}/{action}")
}

/// A role (its save address); `edit` and `delete` follow it.
pub fn role(id: impl Display) -> String {
    format!("{ROLES}/{id}")
}

pub fn role_action(id: impl Display, action: &str) -> String {
    format!("{ROLES}/{id}/{action}")
}

/// One of a user's actions: `role`, `disable`, `enable`.
pub fn user_action(id: impl Display, action: &str) -> String {
    format!("{USERS}/{id}/{action}")
}
