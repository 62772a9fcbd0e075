//! The pages and dialogs of the Machine to Machine screen that change nothing: the list, a
//! credential's page, its ⋮ menu, the create and edit forms, and the confirmations.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

use crate::console::credentials::views::{
    Confirm, ConfirmAction, CredentialDetail, CredentialMenu,
};
use crate::console::credentials::{MANAGE, crumbs, form_page, load, row, section, tokens};
use crate::console::request::ConsoleRequest;
use crate::credentials::draft::CredentialDraft;
use crate::credentials::{limit_message, refuse_if_revoked};
use crate::db::ids::CredentialId;
use crate::db::models::audit_event::AuditEvent;
use crate::db::models::credential::{AccessLevel, Credential, MAX_CREDENTIALS_PER_ORG};
use crate::db::models::user::StaffRole;
use crate::error::AppError;
use crate::forms::FieldErrors;
use crate::views::Fragment;

#[tracing::instrument(skip_all)]
pub async fn list_credentials(rq: ConsoleRequest) -> Result<HttpResponse, AppError> {
    let content = section(&mut *rq.conn().await?, &rq, false).await?;
    rq.page(StatusCode::OK, "Machine to Machine", crumbs(None), content)
}

#[tracing::instrument(skip_all, fields(credential_id = %path))]
pub async fn show_credential(
    rq: ConsoleRequest,
    path: web::Path<CredentialId>,
) -> Result<HttpResponse, AppError> {
    let mut conn = rq.conn().await?;
    let credential = load(&mut conn, &rq, path.into_inner()).await?;
    let apis = Credential::effective_apis(&mut conn, &credential).await?;
    let id = credential.id.to_string();
    let events =
        AuditEvent::list_for_target(&mut conn, rq.user.org_id, "credential", &id, 20).await?;
    let tokens = tokens::section(&mut conn, &rq, &credential).await?;
    let name = credential.name.clone();
    let row = row(&mut conn, &rq, credential).await?;
    let detail = CredentialDetail {
        row,
        apis,
        events,
        tokens: Fragment(tokens),
    };
    rq.page(StatusCode::OK, &name, crumbs(Some(&name)), detail)
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
    };
    rq.page(StatusCode::OK, "Actions", crumbs(Some(&c.name)), menu)
}

#[tracing::instrument(skip_all)]
pub async fn new_credential_form(rq: ConsoleRequest) -> Result<HttpResponse, AppError> {
    rq.require(StaffRole::Admin, MANAGE)?;
    let mut conn = rq.conn().await?;
    let data = CredentialDraft {
        owner_email: rq.user.email.clone(),
        access_level: AccessLevel::Full.as_str().into(),
        creation_key: uuid::Uuid::new_v4().to_string(),
        ..Default::default()
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
    let data = CredentialDraft::from_credential(&c, &selected);
    let edit = Some((c.id, c.name.as_str()));
    form_page(
        &rq,
        &mut conn,
        StatusCode::OK,
        edit,
        data,
        FieldErrors::default(),
        None,
    )
    .await
}

async fn confirm_form(
    rq: ConsoleRequest,
    id: CredentialId,
    kind: Confirm,
) -> Result<HttpResponse, AppError> {
    rq.require(StaffRole::Admin, MANAGE)?;
    let c = load(&mut *rq.conn().await?, &rq, id).await?;
    if kind != Confirm::Delete {
        refuse_if_revoked(&c)?;
    }
    let title = match kind {
        Confirm::Rotate => "Rotate secret",
        Confirm::Revoke => "Revoke credential",
        Confirm::Delete => "Delete credential",
    };
    let fragment = ConfirmAction {
        modal: rq.hx.0,
        kind,
        id: c.id,
        name: c.name.clone(),
        csrf_token: rq.csrf_token()?,
    };
    rq.page(StatusCode::OK, title, crumbs(Some(&c.name)), fragment)
}

pub async fn rotate_credential_form(
    rq: ConsoleRequest,
    path: web::Path<CredentialId>,
) -> Result<HttpResponse, AppError> {
    confirm_form(rq, path.into_inner(), Confirm::Rotate).await
}

pub async fn revoke_credential_form(
    rq: ConsoleRequest,
    path: web::Path<CredentialId>,
) -> Result<HttpResponse, AppError> {
    confirm_form(rq, path.into_inner(), Confirm::Revoke).await
}

pub async fn delete_credential_form(
    rq: ConsoleRequest,
    path: web::Path<CredentialId>,
) -> Result<HttpResponse, AppError> {
    confirm_form(rq, path.into_inner(), Confirm::Delete).await
}
