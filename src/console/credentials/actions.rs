//! The changes made from the Machine to Machine screen: create (and reveal the secret once),
//! edit, rotate (and reveal the new secret once), revoke and delete. Each calls its domain
//! operation and renders what follows.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use diesel_async::AsyncPgConnection;
use serde::Deserialize;

use crate::catalog::Saved;
use crate::console::credentials::form::CredentialFormData;
use crate::console::credentials::views::SecretReveal;
use crate::console::credentials::{changed, crumbs, form_page, load, offers_management, reveal};
use crate::console::request::ConsoleRequest;
use crate::credentials::lifecycle::{DisableReason, Overlap};
use crate::credentials::{lifecycle, save};
use crate::db::ids::CredentialId;
use crate::db::models::credential::Credential;
use crate::domain_error::DomainError;
use crate::error::AppError;
use crate::forms::FieldErrors;
use crate::html_form::HtmlForm;
use crate::paths;

/// The create form again after a refusal: field messages (422) or one about the whole form
/// (409: the organisation is at its limit, or the form was already submitted).
async fn refused_form(
    rq: &ConsoleRequest,
    conn: &mut AsyncPgConnection,
    data: CredentialFormData,
    error: DomainError,
) -> Result<HttpResponse, AppError> {
    let (status, errors, message) = match error {
        DomainError::Invalid(errors) => (StatusCode::UNPROCESSABLE_ENTITY, errors, None),
        DomainError::Conflict(message)
        | DomainError::LimitReached(message)
        | DomainError::Replayed(message) => {
            (StatusCode::CONFLICT, FieldErrors::default(), Some(message))
        }
        other => return Err(other.into()),
    };
    form_page(rq, conn, status, None, data, errors, message).await
}

#[tracing::instrument(skip_all)]
pub async fn create_credential(
    rq: ConsoleRequest,
    HtmlForm(form): HtmlForm<CredentialFormData>,
) -> Result<HttpResponse, AppError> {
    let draft = form;
    let mut conn = rq.conn().await?;
    let (input, found) = draft.new_credential();
    let actor = rq.actor();
    let created = match save::refuse_with(&mut conn, &actor, None, &input.settings, found).await {
        Ok(()) => save::create_credential(&mut conn, &actor, &input).await,
        Err(e) => Err(e),
    };
    match created {
        Ok(created) => {
            let secret = created.secret.expose();
            reveal(&rq, &mut conn, &created.credential, secret, None).await
        }
        // A plain form sent again is a browser reloading the reveal page: that page has no
        // dialog to close, so it says plainly that the secret was already shown.
        Err(DomainError::Replayed(message)) if !rq.hx.0 => {
            match created_before(&mut conn, &rq, &draft).await? {
                Some(credential) => already_shown(&rq, &credential, false),
                None => {
                    let error = DomainError::Replayed(message);
                    refused_form(&rq, &mut conn, draft, error).await
                }
            }
        }
        Err(e) => refused_form(&rq, &mut conn, draft, e).await,
    }
}

/// The credential an earlier submission of this very form created (same creation key).
async fn created_before(
    conn: &mut AsyncPgConnection,
    rq: &ConsoleRequest,
    draft: &CredentialFormData,
) -> Result<Option<Credential>, AppError> {
    let Ok(key) = draft.creation_key.trim().parse::<uuid::Uuid>() else {
        return Ok(None);
    };
    Ok(Credential::find_by_creation_key(conn, rq.user.org_id, key).await?)
}

/// What a reloaded reveal page shows instead of the secret, with the way to a new one.
/// 409, as for any form submitted twice: nothing was created or rotated again.
fn already_shown(
    rq: &ConsoleRequest,
    credential: &Credential,
    rotated: bool,
) -> Result<HttpResponse, AppError> {
    let page = SecretReveal {
        modal: false,
        id: credential.id,
        name: credential.name.clone(),
        client_id: credential.client_id.clone(),
        secret: None,
        rotated,
        previous_retires_at: None,
        token_url: String::new(),
    };
    let crumbs = crumbs(Some(&credential.name));
    rq.page(StatusCode::CONFLICT, "Secret already shown", crumbs, page)
}

#[tracing::instrument(skip_all, fields(credential_id = %path))]
pub async fn update_credential(
    rq: ConsoleRequest,
    path: web::Path<CredentialId>,
    HtmlForm(form): HtmlForm<CredentialFormData>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let mut conn = rq.conn().await?;
    let draft = form;
    let current = load(&mut conn, &rq, id).await?;
    let (changes, found) = draft.changes(&current, offers_management(&rq));
    let actor = rq.actor();
    let saved = match save::refuse_with(&mut conn, &actor, Some(id), &changes, found).await {
        Ok(()) => save::update_credential(&mut conn, &actor, id, &changes).await,
        Err(e) => Err(e),
    };
    match saved {
        Ok((updated, result)) => {
            let message = match result {
                Saved::Changed => format!("Saved “{}”.", updated.name),
                Saved::Unchanged => format!("No changes to “{}”.", updated.name),
            };
            let then = paths::credential(updated.id);
            changed(&rq, &mut conn, &message, &then, Some(updated)).await
        }
        Err(DomainError::Invalid(errors)) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            form_page(&rq, &mut conn, status, Some(&current), draft, errors, None).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The rotate form: when the current secret stops working.
#[derive(Deserialize)]
pub struct RotateForm {
    #[serde(default)]
    overlap: String,
    /// From the confirmation form; anything but a UUID is ignored (no replay check).
    #[serde(default)]
    rotation_key: String,
}

#[tracing::instrument(skip_all, fields(credential_id = %path))]
pub async fn rotate_credential_secret(
    rq: ConsoleRequest,
    path: web::Path<CredentialId>,
    HtmlForm(form): HtmlForm<RotateForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let form = form;
    // Absent means Now: the rule before overlaps existed, and the safe reading.
    let overlap = match form.overlap.trim() {
        "" => Overlap::Now,
        chosen => Overlap::parse(chosen).ok_or_else(|| {
            AppError::BadRequest("Choose when the current secret stops working.".into())
        })?,
    };
    let key = form.rotation_key.trim().parse::<uuid::Uuid>().ok();
    let mut conn = rq.conn().await?;
    let rotated = match lifecycle::rotate_secret(&mut conn, &rq.actor(), id, overlap, key).await {
        Ok(rotated) => rotated,
        // A plain form sent again is a browser reloading the reveal page (see create).
        Err(DomainError::Replayed(_)) if !rq.hx.0 => {
            let credential = Credential::find_in_org(&mut conn, rq.user.org_id, id).await?;
            return already_shown(&rq, &credential, true);
        }
        Err(e) => return Err(e.into()),
    };
    let secret = rotated.secret.expose();
    let retires = Some(rotated.previous_retires_at);
    reveal(&rq, &mut conn, &rotated.credential, secret, retires).await
}

#[tracing::instrument(skip_all, fields(credential_id = %path))]
pub async fn retire_previous_secret(
    rq: ConsoleRequest,
    path: web::Path<CredentialId>,
) -> Result<HttpResponse, AppError> {
    let mut conn = rq.conn().await?;
    let c = lifecycle::retire_previous_secret(&mut conn, &rq.actor(), path.into_inner()).await?;
    let message = format!("The old secret of “{}” no longer works.", c.name);
    changed(&rq, &mut conn, &message, &paths::credential(c.id), Some(c)).await
}

#[tracing::instrument(skip_all, fields(credential_id = %path))]
pub async fn disable_credential(
    rq: ConsoleRequest,
    path: web::Path<CredentialId>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let mut conn = rq.conn().await?;
    let c =
        lifecycle::disable_credential(&mut conn, &rq.actor(), id, DisableReason::Manual).await?;
    let message = format!("Disabled “{}”.", c.name);
    changed(&rq, &mut conn, &message, &paths::credential(c.id), Some(c)).await
}

#[tracing::instrument(skip_all, fields(credential_id = %path))]
pub async fn enable_credential(
    rq: ConsoleRequest,
    path: web::Path<CredentialId>,
) -> Result<HttpResponse, AppError> {
    let mut conn = rq.conn().await?;
    let c = lifecycle::enable_credential(&mut conn, &rq.actor(), path.into_inner()).await?;
    let message = format!("Enabled “{}”: it can request tokens again.", c.name);
    changed(&rq, &mut conn, &message, &paths::credential(c.id), Some(c)).await
}

#[tracing::instrument(skip_all, fields(credential_id = %path))]
pub async fn revoke_credential(
    rq: ConsoleRequest,
    path: web::Path<CredentialId>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let mut conn = rq.conn().await?;
    let revoked = lifecycle::revoke_credential(&mut conn, &rq.actor(), id).await?;
    let message = format!("Revoked “{}”.", revoked.name);
    let then = paths::credential(revoked.id);
    changed(&rq, &mut conn, &message, &then, Some(revoked)).await
}

/// `POST {id}/delete` (plain form) and `DELETE {id}` (htmx).
#[tracing::instrument(skip_all, fields(credential_id = %path))]
pub async fn delete_credential(
    rq: ConsoleRequest,
    path: web::Path<CredentialId>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let mut conn = rq.conn().await?;
    let deleted = lifecycle::delete_credential(&mut conn, &rq.actor(), id).await?;
    let message = format!("Deleted “{}”.", deleted.name);
    changed(&rq, &mut conn, &message, paths::M2M, None).await
}
