//! Every address of the console, in one place: the route table, the handlers and the
//! templates build their links from these, so a page never links to a path that moved.

use std::fmt::Display;

pub const LOGIN: &str = "/login";
pub const LOGOUT: &str = "/logout";
pub const SETUP: &str = "/setup";
/// Where an invitation's one-time link leads (`?token=…`): the invitee chooses a password.
pub const INVITATION: &str = "/invitation";
/// The second step of signing in: the two-factor code.
pub const LOGIN_CODE: &str = "/login/code";
/// Settings → Account security: the signed-in user's two-factor sign-in.
pub const ACCOUNT_SECURITY: &str = "/settings/account/security";
/// Settings → Account security → Sessions: where the signed-in user is signed in, and signing out the rest.
pub const ACCOUNT_SESSIONS: &str = "/settings/account/sessions";
/// Ends every session of the signed-in user but the current one.
pub const ACCOUNT_SESSIONS_END_OTHERS: &str = "/settings/account/sessions/end-others";
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
/// The management API: its OpenAPI document and the reference page drawn from it.
pub const API_OPENAPI: &str = "/api/v1/openapi.json";
pub const API_REFERENCE: &str = "/api/v1/docs";
/// Settings → Webhooks (Super Admin).
pub const WEBHOOKS: &str = "/settings/webhooks";

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

/// One of a user's actions: `role`, `disable`, `enable`, `two-factor/reset`,
/// `sessions/end` (sign out everywhere).
pub fn user_action(id: impl Display, action: &str) -> String {
    format!("{USERS}/{id}/{action}")
}

/// One of an open invitation's actions: `resend`, `revoke`.
pub fn invitation_action(id: impl Display, action: &str) -> String {
    format!("{USERS}/invitations/{id}/{action}")
}

/// One of Account security's actions: `setup`, `confirm`, `recovery-codes`, `disable`,
/// `password`.
pub fn account_security_action(action: &str) -> String {
    format!("{ACCOUNT_SECURITY}/{action}")
}

/// A webhook endpoint's page (and its save address).
pub fn webhook(id: impl Display) -> String {
    format!("{WEBHOOKS}/{id}")
}

/// One of a webhook endpoint's actions: `edit`, `delete`, `rotate`.
pub fn webhook_action(id: impl Display, action: &str) -> String {
    format!("{WEBHOOKS}/{id}/{action}")
}

/// Sending one of an endpoint's deliveries again.
pub fn webhook_redeliver(id: impl Display, delivery: impl Display) -> String {
    format!("{WEBHOOKS}/{id}/deliveries/{delivery}/redeliver")
}
