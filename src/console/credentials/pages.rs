//! The pages and dialogs of the Machine to Machine screen that change nothing: the list, a
//! credential's page, its ⋮ menu, the create and edit forms, and the confirmations.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use diesel_async::AsyncPgConnection;

use crate::console::credentials::diagnosis;
use crate::console::credentials::form::{CUSTOM, CredentialFormData, NEVER};
use crate::console::credentials::keys::KeysSection;
use crate::console::credentials::list::section;
use crate::console::credentials::sort::ListSort;
use crate::console::credentials::usage::UsageSection;
use crate::console::credentials::views::{
    Confirm, ConfirmAction, CredentialDetail, CredentialMenu, Evidence, OverlapChoice,
};
use crate::console::credentials::{MANAGE, crumbs, form_page, load, row, tokens};
use crate::console::request::ConsoleRequest;
use crate::credentials::input::{PRESET_DAYS, TokenLifetime, expiry_field_text};
use crate::credentials::lifecycle::Overlap;
use crate::credentials::{limit_message, refuse_if_revoked};
use crate::db::ids::CredentialId;
use crate::db::models::access_token;
use crate::db::models::audit_event::AuditEvent;
use crate::db::models::credential::{AccessLevel, Credential, MAX_CREDENTIALS_PER_ORG};
use crate::db::models::user::StaffRole;
use crate::error::AppError;
use crate::forms::FieldErrors;
use crate::usage::refusal_groups;
use crate::views::{Fragment, absolute_time, relative_time};
use crate::{policy, usage};

#[tracing::instrument(skip_all)]
pub async fn list_credentials(
    rq: ConsoleRequest,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let sort = ListSort::parse(req.query_string());
    let content = section(&mut *rq.conn().await?, &rq, false, sort).await?;
    rq.page(StatusCode::OK, "Machine to Machine", crumbs(None), content)
}

#[tracing::instrument(skip_all, fields(credential_id = %path))]
pub async fn show_credential(
    rq: ConsoleRequest,
    path: web::Path<CredentialId>,
) -> Result<HttpResponse, AppError> {
    let mut conn = rq.conn().await?;
    let credential = load(&mut conn, &rq, path.into_inner()).await?;
    let name = credential.name.clone();
    let detail = detail(&mut conn, &rq, credential, false).await?;
    rq.page(StatusCode::OK, &name, crumbs(Some(&name)), detail)
}

/// A credential's page: its facts, secrets, usage with the Failing diagnosis, tokens and
/// audit trail; `oob` renders it as an out-of-band swap.
pub(super) async fn detail(
    conn: &mut AsyncPgConnection,
    rq: &ConsoleRequest,
    credential: Credential,
    oob: bool,
) -> Result<CredentialDetail, AppError> {
    let apis = Credential::effective_apis(conn, &credential).await?;
    let id = credential.id.to_string();
    let events = AuditEvent::list_for_target(conn, rq.user.org_id, "credential", &id, 20).await?;
    let tokens = tokens::section(conn, rq, &credential).await?;
    let report = usage::report::for_credential(conn, credential.id, rq.now).await?;
    let since_success = refusal_groups::group(&report.refusals, credential.last_used_at);
    let csrf_token = rq.csrf_token()?;
    let row = row(conn, rq, credential).await?;
    let may_change_keys = row.can_manage && !row.locked && !row.c.is_revoked();
    let keys = KeysSection::load(conn, &row.c, may_change_keys, csrf_token.clone(), rq.now).await?;
    let old_stopped = diagnosis::old_secret_stopped(&row, &events);
    Ok(CredentialDetail {
        banner: diagnosis::failing_banner(&row, &since_success, old_stopped),
        row,
        apis,
        events,
        tokens: Fragment(tokens),
        usage: Fragment(UsageSection::new(&report, rq.now)),
        keys: Fragment(keys),
        oob,
        csrf_token,
    })
}

#[tracing::instrument(skip_all, fields(credential_id = %path))]
pub async fn credential_menu(
    rq: ConsoleRequest,
    path: web::Path<CredentialId>,
) -> Result<HttpResponse, AppError> {
    rq.require(StaffRole::Admin, MANAGE)?;
    let c = load(&mut *rq.conn().await?, &rq, path.into_inner()).await?;
    let menu = CredentialMenu {
        page: !rq.hx.0,
        id: c.id,
        name: c.name.clone(),
        revoked: c.is_revoked(),
        disabled: c.is_disabled(),
    };
    rq.page(StatusCode::OK, "Actions", crumbs(Some(&c.name)), menu)
}

#[tracing::instrument(skip_all)]
pub async fn new_credential_form(rq: ConsoleRequest) -> Result<HttpResponse, AppError> {
    rq.require(StaffRole::Admin, MANAGE)?;
    let mut conn = rq.conn().await?;
    let mut data = CredentialFormData {
        owner_email: rq.user.email.clone(),
        access_level: AccessLevel::Full.as_str().into(),
        creation_key: uuid::Uuid::new_v4().to_string(),
        ..Default::default()
    };
    // The organisation's default lifetime preselected (or its maximum, as "never" is then
    // not allowed).
    let policy = policy::load(&mut conn, rq.user.org_id).await?;
    let lifetime = policy.default_lifetime_days.or(policy.max_lifetime_days);
    let token_lifetime = TokenLifetime::DEFAULT.min(policy.max_token_lifetime);
    data.token_lifetime = token_lifetime.seconds().to_string();
    (data.expiry, data.expires_at) = match lifetime {
        None => (NEVER.into(), String::new()),
        Some(days) if PRESET_DAYS.contains(&i64::from(days)) => (days.to_string(), String::new()),
        Some(days) => {
            let at = rq.now + chrono::Duration::days(days.into());
            (CUSTOM.into(), expiry_field_text(at))
        }
    };
    let at_limit =
        Credential::count_in_org(&mut conn, rq.user.org_id).await? >= MAX_CREDENTIALS_PER_ORG;
    let notice = at_limit.then(limit_message);
    form_page(
        &rq,
        &mut conn,
        StatusCode::OK,
        None,
        data,
        FieldErrors::default(),
        notice,
    )
    .await
}

#[tracing::instrument(skip_all, fields(credential_id = %path))]
pub async fn edit_credential_form(
    rq: ConsoleRequest,
    path: web::Path<CredentialId>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    rq.require(StaffRole::Admin, MANAGE)?;
    let mut conn = rq.conn().await?;
    let c = load(&mut conn, &rq, path.into_inner()).await?;
    refuse_if_revoked(&c)?;
    let selected: Vec<_> = Credential::selected_apis(&mut conn, c.id)
        .await?
        .into_iter()
        .map(|a| a.id)
        .collect();
    let mut data = CredentialFormData::from_credential(&c, &selected);
    // "Add it" on a Failing banner: the refused address, ready to save (or not).
    if let Some(ip) = address_to_add(req.query_string())
        && !c.allowed_ips.contains(&ip)
    {
        if !data.allowed_ips.trim().is_empty() {
            data.allowed_ips.push('\n');
        }
        data.allowed_ips.push_str(&ip);
    }
    form_page(
        &rq,
        &mut conn,
        StatusCode::OK,
        Some(&c),
        data,
        FieldErrors::default(),
        None,
    )
    .await
}

/// The first `add_ip` of a query string when it is one IP address (as the address parser
/// writes it); anything else is ignored.
fn address_to_add(query: &str) -> Option<String> {
    let (_, value) = url::form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "add_ip")?;
    let ip: std::net::IpAddr = value.trim().parse().ok()?;
    Some(ip.to_string())
}

/// The confirmation before a change that breaks or stops integrations:
/// `GET {id}/{rotate|revoke|delete|retire|disable|enable}`.
#[tracing::instrument(skip_all, fields(credential_id = %path.0))]
pub async fn confirm_form(
    rq: ConsoleRequest,
    path: web::Path<(CredentialId, String)>,
) -> Result<HttpResponse, AppError> {
    rq.require(StaffRole::Admin, MANAGE)?;
    let (id, action) = path.into_inner();
    let kind = [
        Confirm::Rotate,
        Confirm::Revoke,
        Confirm::Delete,
        Confirm::Retire,
        Confirm::Disable,
        Confirm::Enable,
    ]
    .into_iter()
    .find(|k| k.action() == action)
    .ok_or(AppError::NotFound)?;
    let mut conn = rq.conn().await?;
    let c = load(&mut conn, &rq, id).await?;
    if kind != Confirm::Delete {
        refuse_if_revoked(&c)?;
    }
    let evidence = evidence(&mut conn, &rq, &c).await?;
    let fragment = ConfirmAction {
        modal: rq.hx.0,
        kind,
        id: c.id,
        name: c.name.clone(),
        csrf_token: rq.csrf_token()?,
        rotation_key: uuid::Uuid::new_v4(),
        evidence,
    };
    rq.page(
        StatusCode::OK,
        kind.title(),
        crumbs(Some(&c.name)),
        fragment,
    )
}

/// What the confirmation shows a careful admin: owner, last use, live tokens, and a secret
/// still overlapping from an earlier rotation.
async fn evidence(
    conn: &mut AsyncPgConnection,
    rq: &ConsoleRequest,
    c: &Credential,
) -> Result<Evidence, AppError> {
    let last_used = c.last_used_at.map(|at| {
        let when = format!("{} ({})", relative_time(at, rq.now), absolute_time(at));
        match &c.last_used_ip {
            Some(ip) => format!("{when} from {ip}"),
            None => when,
        }
    });
    let overlapping = c.previous_secret_live(rq.now).then(|| {
        let four = c
            .previous_secret_last_four
            .clone()
            .unwrap_or_else(|| "—".into());
        let used = c
            .previous_secret_last_used_at
            .map(|at| relative_time(at, rq.now));
        (four, used)
    });
    Ok(Evidence {
        owner_email: c.owner_email.clone(),
        last_used,
        live_tokens: access_token::list_live(conn, c.id, rq.now).await?.len(),
        overlapping,
        overlaps: Overlap::ALL
            .into_iter()
            .map(|overlap| OverlapChoice {
                overlap,
                until: overlap
                    .retires_at(c, rq.now)
                    .map(|t| t.format("%a %-d %b %H:%M UTC").to_string()),
            })
            .collect(),
    })
}
