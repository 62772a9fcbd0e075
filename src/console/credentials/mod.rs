//! Settings → Integrations → Machine to Machine: the credentials table, create with a
//! one-time secret reveal, edit, rotate, revoke and delete, and a credential's tokens; each
//! for htmx (modals, fragments, out-of-band row updates and toasts) and for plain forms
//! (whole pages and redirects). The operations are the domain's (`crate::credentials`).

pub(crate) mod actions;
pub(crate) mod diagnosis;
pub(crate) mod form;
pub(crate) mod keys;
pub(crate) mod list;
pub(crate) mod pages;
pub(crate) mod sort;
pub(crate) mod staleness;
pub(crate) mod tokens;
pub(crate) mod usage;
pub(crate) mod views;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use askama::Template;
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;

use crate::console::request::{ConsoleRequest, render_error};
use crate::credentials::input::TokenLifetime;
use crate::db::ids::CredentialId;
use crate::db::models::api_role::ApiRole;
use crate::db::models::credential::Credential;
use crate::db::models::user::StaffRole;
use crate::error::AppError;
use crate::forms::FieldErrors;
use crate::htmx::html;
use crate::views::{Crumb, absolute_time};
use crate::{paths, policy};

use form::{CredentialFormData, ExpiryChoice, FormView};
use list::section;
use sort::ListSort;
use views::{CredentialForm, CredentialRow, SecretReveal};

pub use actions::{
    create_credential, delete_credential, disable_credential, enable_credential,
    retire_previous_secret, revoke_credential, rotate_credential_secret, update_credential,
};
pub use keys::{add_public_key, remove_public_key, set_keys_only};
pub use pages::{
    confirm_form, credential_menu, edit_credential_form, list_credentials, new_credential_form,
    show_credential,
};
pub use staleness::set_stale_exemption;
pub use tokens::{generate_token, revoke_access_token, revoke_all_access_tokens};

/// The list's banner names credentials that expire within this.
pub(crate) const BANNER_AHEAD: chrono::Duration = chrono::Duration::days(7);

/// Completes "Your role does not allow you to …" for pages only managers see.
const MANAGE: &str = "manage API credentials";

fn crumbs(current: Option<&str>) -> Vec<Crumb> {
    let mut crumbs = vec![
        Crumb::link("Settings", paths::SETTINGS),
        Crumb::link("Integrations", paths::INTEGRATIONS),
    ];
    match current {
        None => crumbs.push(Crumb::here("Machine to Machine")),
        Some(name) => {
            crumbs.push(Crumb::link("Machine to Machine", paths::M2M));
            crumbs.push(Crumb::here(name));
        }
    }
    crumbs
}

pub(crate) fn can_manage(rq: &ConsoleRequest) -> bool {
    rq.can(StaffRole::Admin)
}

/// Whether `c` holds management access the signed-in user may not touch (only a Super Admin
/// may: `credentials::management::may_handle` refuses, this only hides the buttons).
pub(crate) fn locked(rq: &ConsoleRequest, c: &Credential) -> bool {
    !c.management_scopes.is_empty() && !rq.can(StaffRole::SuperAdmin)
}

/// One credential's row (its page and menu), counting only its own scopes.
async fn row(
    conn: &mut AsyncPgConnection,
    rq: &ConsoleRequest,
    c: Credential,
) -> Result<CredentialRow, AppError> {
    let role_name = ApiRole::find_in_org(conn, c.org_id, c.role_id).await?.name;
    let api_count = Credential::effective_scopes(conn, &c).await?.len() as i64;
    let policy = policy::load(conn, c.org_id).await?;
    let last_refusal = list::latest_refusals(conn, std::slice::from_ref(&c))
        .await?
        .remove(&c.id);
    Ok(CredentialRow {
        failing: list::is_failing(&c, last_refusal.as_ref(), rq.now),
        last_refusal,
        locked: locked(rq, &c),
        c,
        role_name,
        api_count,
        now: rq.now,
        can_manage: can_manage(rq),
        policy,
    })
}

async fn load(
    conn: &mut AsyncPgConnection,
    rq: &ConsoleRequest,
    id: CredentialId,
) -> Result<Credential, AppError> {
    Ok(Credential::find_in_org(conn, rq.user.org_id, id).await?)
}

/// The response that reveals a secret must never be stored by a browser or proxy.
fn no_store(mut res: HttpResponse) -> HttpResponse {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

/// After a change made in a modal: htmx gets an empty modal, the refreshed table and a toast
/// when it came from the list; otherwise a redirect to `then` with a flash notice.
/// From a credential's own page (`shown`), htmx gets that page refreshed instead.
async fn changed(
    rq: &ConsoleRequest,
    conn: &mut AsyncPgConnection,
    message: &str,
    then: &str,
    shown: Option<Credential>,
) -> Result<HttpResponse, AppError> {
    if let Some(c) = shown.filter(|c| rq.hx.0 && rq.came_from(&paths::credential(c.id))) {
        let detail = pages::detail(conn, rq, c, true).await?;
        return rq.changed(message, then, async || Ok(detail)).await;
    }
    if !rq.came_from(paths::M2M) {
        rq.session.set_flash(message);
        return Ok(rq.redirect(then));
    }
    let sort = ListSort::parse(rq.current_query());
    let section = section(conn, rq, true, sort).await?;
    rq.changed(message, then, async || Ok(section)).await
}

/// The credential's page, out of band, when htmx sent the request from that page: what a
/// dialog opened there changed shows behind it at once.
async fn page_behind(
    conn: &mut AsyncPgConnection,
    rq: &ConsoleRequest,
    c: &Credential,
) -> Result<String, AppError> {
    if !rq.hx.0 || !rq.came_from(&paths::credential(c.id)) {
        return Ok(String::new());
    }
    let detail = pages::detail(conn, rq, c.clone(), true).await?;
    detail.render().map_err(render_error)
}

/// Whether the signed-in user's form offers management access (a Super Admin's only).
fn offers_management(rq: &ConsoleRequest) -> bool {
    rq.user.role >= StaffRole::SuperAdmin
}

/// The create form, or the edit form of `edit`, showing `data`.
async fn form_page(
    rq: &ConsoleRequest,
    conn: &mut AsyncPgConnection,
    status: StatusCode,
    edit: Option<&Credential>,
    data: CredentialFormData,
    errors: FieldErrors,
    form_error: Option<String>,
) -> Result<HttpResponse, AppError> {
    let title = if edit.is_some() {
        "Edit API credentials"
    } else {
        "Create API credentials"
    };
    let crumb = edit.map_or(title, |c| c.name.as_str());
    let policy = policy::load(conn, rq.user.org_id).await?;
    let max_lifetime_days = policy.max_lifetime_days;
    let never_now = edit.is_some_and(|c| c.expires_at.is_none());
    let fragment = CredentialForm {
        modal: rq.hx.0,
        edit_id: edit.map(|c| c.id),
        form: FormView {
            data,
            errors,
            form_error,
            roles: ApiRole::list_with_apis(conn, rq.user.org_id).await?,
            expiry_choices: ExpiryChoice::all(rq.now, max_lifetime_days, never_now),
            max_lifetime_days,
            token_lifetimes: TokenLifetime::allowed_up_to(policy.max_token_lifetime).collect(),
            offer_management: offers_management(rq),
        },
        csrf_token: rq.csrf_token()?,
    };
    rq.page(status, title, crumbs(Some(crumb)), fragment)
}

/// The one-time reveal of a new secret (`rotated`: of a rotation, with when the previous
/// secret retires if it overlaps). From the list, htmx also gets the refreshed table behind
/// the modal.
async fn reveal(
    rq: &ConsoleRequest,
    conn: &mut AsyncPgConnection,
    credential: &Credential,
    secret: &str,
    rotated: Option<Option<DateTime<Utc>>>,
) -> Result<HttpResponse, AppError> {
    let reveal = SecretReveal {
        modal: rq.hx.0,
        id: credential.id,
        name: credential.name.clone(),
        client_id: credential.client_id.clone(),
        secret: Some(secret.to_string()),
        rotated: rotated.is_some(),
        previous_retires_at: rotated.flatten().map(absolute_time),
        token_url: SecretReveal::token_url(&rq.state.settings.issuer()),
    };
    let res = if rq.hx.0 {
        let mut body = reveal.render().map_err(render_error)?;
        if rq.came_from(paths::M2M) {
            let sort = ListSort::parse(rq.current_query());
            body += &section(conn, rq, true, sort)
                .await?
                .render()
                .map_err(render_error)?;
        } else {
            body += &page_behind(conn, rq, credential).await?;
        }
        html(StatusCode::OK, body)
    } else {
        let title = if rotated.is_some() {
            "New secret"
        } else {
            "Credentials created"
        };
        rq.page(
            StatusCode::OK,
            title,
            crumbs(Some(&credential.name)),
            reveal,
        )?
    };
    Ok(no_store(res))
}
