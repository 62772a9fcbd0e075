//! Settings → Users → Invite a user (Super Admin): invite, send again, revoke. The link goes
//! out by email; with email off, or when the email could not be sent, it is shown this once
//! on the Users page (never stored, never cached) for the Super Admin to pass on.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use diesel_async::AsyncPgConnection;

use crate::console::request::ConsoleRequest;
use crate::console::section::SettingsSection;
use crate::console::users::{ShownLink, UsersSection};
use crate::db::ids::InvitationId;
use crate::db::models::user::StaffRole;
use crate::domain_error::DomainError;
use crate::error::AppError;
use crate::html_form::HtmlForm;
use crate::staff::invitations::{self, InvitationDraft, Invited};

#[tracing::instrument(skip_all)]
pub async fn invite_user(
    rq: ConsoleRequest,
    HtmlForm(draft): HtmlForm<InvitationDraft>,
) -> Result<HttpResponse, AppError> {
    let mut conn = rq.conn().await?;
    let public_url = &rq.state.settings.public_url;
    match invitations::invite(&mut conn, &rq.actor(), &draft, public_url).await {
        Ok(invited) => {
            drop(conn);
            deliver(&rq, invited).await
        }
        Err(DomainError::Invalid(errors)) => {
            let (email, role, _) = invitations::check(&draft);
            let mut content = UsersSection::load(&mut conn, &rq).await?;
            content.form_email = email;
            content.form_role = role.unwrap_or(StaffRole::Viewer);
            content.errors = errors;
            UsersSection::page(&rq, StatusCode::UNPROCESSABLE_ENTITY, None, content)
        }
        Err(e) => Err(e.into()),
    }
}

#[tracing::instrument(skip_all, fields(invitation = %path))]
pub async fn resend_invitation(
    rq: ConsoleRequest,
    path: web::Path<InvitationId>,
) -> Result<HttpResponse, AppError> {
    let mut conn = rq.conn().await?;
    let public_url = &rq.state.settings.public_url;
    let invited =
        invitations::resend(&mut conn, &rq.actor(), path.into_inner(), public_url).await?;
    drop(conn);
    deliver(&rq, invited).await
}

#[tracing::instrument(skip_all, fields(invitation = %path))]
pub async fn revoke_invitation(
    rq: ConsoleRequest,
    path: web::Path<InvitationId>,
) -> Result<HttpResponse, AppError> {
    let mut conn = rq.conn().await?;
    let revoked = invitations::revoke(&mut conn, &rq.actor(), path.into_inner()).await?;
    let message = format!("The invitation of {} was revoked.", revoked.email);
    UsersSection::changed(&rq, &mut conn, &message).await
}

/// Emails the new link, or shows it once when it cannot be emailed. The answer never says
/// anything about the address beyond this organisation.
async fn deliver(rq: &ConsoleRequest, invited: Invited) -> Result<HttpResponse, AppError> {
    let why = match rq.state.mailer.as_deref() {
        None => "Email is off on this server, so no email was sent.".to_string(),
        Some(mailer) => match invitations::send(&rq.state.pool, mailer, &invited, rq.now).await {
            Ok(()) => {
                let mut conn = rq.conn().await?;
                let message = format!(
                    "Invitation sent to {}. The link works once, until {}.",
                    invited.invitation.email,
                    crate::notices::utc(invited.invitation.expires_at)
                );
                return UsersSection::changed(rq, &mut conn, &message).await;
            }
            Err(DomainError::Unavailable(_)) => {
                "The email could not be sent (the mail server did not take it).".to_string()
            }
            Err(e) => return Err(e.into()),
        },
    };
    let mut conn = rq.conn().await?;
    shown_once(rq, &mut conn, invited, why).await
}

/// The Users page with the link shown this once: a page of its own for a plain form (a
/// redirect would have to keep it somewhere), the section for htmx; never cached.
async fn shown_once(
    rq: &ConsoleRequest,
    conn: &mut AsyncPgConnection,
    invited: Invited,
    why: String,
) -> Result<HttpResponse, AppError> {
    let mut content = UsersSection::load(conn, rq).await?;
    content.link = Some(ShownLink {
        email: invited.invitation.email.clone(),
        url: invited.link.expose().to_string(),
        why,
    });
    let mut res = UsersSection::page(rq, StatusCode::OK, None, content)?;
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}
