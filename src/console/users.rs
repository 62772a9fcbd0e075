//! Settings → Users (Super Admin only): the staff and open invitations (inviting is
//! `console::invitations`), change roles, disable and re-enable. The changes are `staff`
//! operations; "Confirm it's you" is asked in front of each (`routes::console_writes`).

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use diesel_async::AsyncPgConnection;
use serde::Deserialize;

use crate::console::request::ConsoleRequest;
use crate::console::section::SettingsSection;
use crate::db::ids::{InvitationId, UserId};
use crate::db::models::audit_event::AuditEvent;
use crate::db::models::invitation::Invitation;
use crate::db::models::two_factor::TwoFactor;
use crate::db::models::user::{StaffRole, User};
use crate::error::AppError;
use crate::forms::FieldErrors;
use crate::html_form::HtmlForm;
use crate::notices::utc;
use crate::paths;
use crate::staff;
use crate::views::{absolute_time, relative_time};

const ACTION: &str = "manage users";

/// Who has two-factor on, and whose app codes are locked, for the template.
pub struct TwoFactorUsers {
    on: Vec<UserId>,
    locked: Vec<UserId>,
}

impl TwoFactorUsers {
    pub fn contains(&self, id: &UserId) -> bool {
        self.on.contains(id)
    }

    /// The user's app codes are refused after too many wrong ones (a reset ends it).
    pub fn locked(&self, id: &UserId) -> bool {
        self.locked.contains(id)
    }
}

/// An open invitation as the Users page lists it.
pub struct InvitationRow {
    pub id: InvitationId,
    pub email: String,
    pub role: StaffRole,
    pub invited_by: String,
    /// "until 2026-12-09 10:00 UTC", or that it has expired.
    pub validity: String,
    pub expired: bool,
    /// What became of its email.
    pub email_status: String,
}

impl InvitationRow {
    fn new(invitation: Invitation, now: chrono::DateTime<chrono::Utc>) -> Self {
        let expired = invitation.is_expired(now);
        let validity = if expired {
            format!("Expired {}", utc(invitation.expires_at))
        } else {
            format!("Until {}", utc(invitation.expires_at))
        };
        let email_status = match (&invitation.emailed_at, &invitation.email_error) {
            (Some(at), _) => format!("Emailed {}", utc(*at)),
            (None, Some(_)) => "Email not sent: the link was shown once".to_string(),
            (None, None) => "Link shown once (email is off)".to_string(),
        };
        Self {
            id: invitation.id,
            email: invitation.email,
            role: invitation.role,
            invited_by: invitation.invited_by_email,
            validity,
            expired,
            email_status,
        }
    }
}

/// An invitation's link, shown this once because it was not emailed.
pub struct ShownLink {
    pub email: String,
    pub url: String,
    /// Why it was not emailed.
    pub why: String,
}

#[derive(Template)]
#[template(path = "partials/users_section.html")]
pub struct UsersSection {
    pub users: Vec<User>,
    /// Each user's last sign-in, in words and exactly; absent for those who never signed in.
    pub last_sign_ins: HashMap<UserId, (String, String)>,
    /// The users with two-factor sign-in on (they get a "Reset two-factor" button).
    pub two_factor: TwoFactorUsers,
    pub invitations: Vec<InvitationRow>,
    pub link: Option<ShownLink>,
    pub me: UserId,
    pub roles: [StaffRole; 3],
    pub form_email: String,
    pub form_role: StaffRole,
    pub errors: FieldErrors,
    pub csrf_token: String,
}

impl SettingsSection for UsersSection {
    const TITLE: &'static str = "Users";
    const PATH: &'static str = paths::USERS;

    async fn load(conn: &mut AsyncPgConnection, rq: &ConsoleRequest) -> Result<Self, AppError> {
        let two_factor = TwoFactor::enabled_in_org(conn, rq.user.org_id).await?;
        let invitations = Invitation::list_open(conn, rq.user.org_id)
            .await?
            .into_iter()
            .map(|i| InvitationRow::new(i, rq.now))
            .collect();
        let last_sign_ins = AuditEvent::last_sign_ins(conn, rq.user.org_id)
            .await?
            .into_iter()
            .map(|(id, at)| (id, (relative_time(at, rq.now), absolute_time(at))))
            .collect();
        Ok(UsersSection {
            last_sign_ins,
            users: User::list_in_org(conn, rq.user.org_id).await?,
            two_factor: TwoFactorUsers {
                on: two_factor.iter().map(|(id, _)| *id).collect(),
                locked: two_factor
                    .iter()
                    .filter(|(_, locked)| *locked)
                    .map(|(id, _)| *id)
                    .collect(),
            },
            invitations,
            link: None,
            me: rq.user.id,
            roles: StaffRole::BY_POWER,
            form_email: String::new(),
            form_role: StaffRole::Viewer,
            errors: FieldErrors::default(),
            csrf_token: rq.csrf_token()?,
        })
    }
}

#[tracing::instrument(skip_all)]
pub async fn list_users(rq: ConsoleRequest) -> Result<HttpResponse, AppError> {
    rq.require(StaffRole::SuperAdmin, ACTION)?;
    let mut conn = rq.conn().await?;
    let content = UsersSection::load(&mut conn, &rq).await?;
    UsersSection::page(&rq, StatusCode::OK, None, content)
}

#[derive(Deserialize)]
pub struct RoleData {
    #[serde(default)]
    role: String,
}

#[tracing::instrument(skip_all, fields(target_user = %path))]
pub async fn change_user_role(
    rq: ConsoleRequest,
    path: web::Path<UserId>,
    HtmlForm(form): HtmlForm<RoleData>,
) -> Result<HttpResponse, AppError> {
    rq.require(StaffRole::SuperAdmin, ACTION)?;
    let role = StaffRole::parse(form.role.trim())
        .ok_or_else(|| AppError::BadRequest("Choose a valid role.".into()))?;
    let target = path.into_inner();
    let mut conn = rq.conn().await?;
    let updated = staff::change_role(&mut conn, &rq.actor(), target, role).await?;
    if target == rq.user.id {
        // Our own sessions were just ended: sign in again under the new role.
        return Ok(rq.redirect(paths::LOGIN));
    }
    UsersSection::changed(
        &rq,
        &mut conn,
        &format!("{} is now {}.", updated.email, role.label()),
    )
    .await
}

async fn set_disabled(
    rq: ConsoleRequest,
    target: UserId,
    disabled: bool,
) -> Result<HttpResponse, AppError> {
    let mut conn = rq.conn().await?;
    let updated = staff::set_disabled(&mut conn, &rq.actor(), target, disabled).await?;
    let verb = if disabled { "disabled" } else { "enabled" };
    UsersSection::changed(&rq, &mut conn, &format!("{} is {verb}.", updated.email)).await
}

#[tracing::instrument(skip_all, fields(target_user = %path))]
pub async fn disable_user(
    rq: ConsoleRequest,
    path: web::Path<UserId>,
) -> Result<HttpResponse, AppError> {
    set_disabled(rq, path.into_inner(), true).await
}

#[tracing::instrument(skip_all, fields(target_user = %path))]
pub async fn enable_user(
    rq: ConsoleRequest,
    path: web::Path<UserId>,
) -> Result<HttpResponse, AppError> {
    set_disabled(rq, path.into_inner(), false).await
}

#[tracing::instrument(skip_all, fields(target_user = %path))]
pub async fn reset_user_two_factor(
    rq: ConsoleRequest,
    path: web::Path<UserId>,
) -> Result<HttpResponse, AppError> {
    let target = path.into_inner();
    let mut conn = rq.conn().await?;
    let updated = staff::two_factor::reset(&mut conn, &rq.actor(), target).await?;
    if target == rq.user.id {
        // Our own sessions were just ended.
        return Ok(rq.redirect(paths::LOGIN));
    }
    UsersSection::changed(
        &rq,
        &mut conn,
        &format!("Two-factor sign-in of {} was reset.", updated.email),
    )
    .await
}

/// "Sign out everywhere": ends every session of a user of the organisation (Super Admin).
#[tracing::instrument(skip_all, fields(target_user = %path))]
pub async fn end_user_sessions(
    rq: ConsoleRequest,
    path: web::Path<UserId>,
) -> Result<HttpResponse, AppError> {
    let target = path.into_inner();
    let mut conn = rq.conn().await?;
    let (user, count) =
        staff::sessions::end_all_sessions_of(&mut conn, &rq.actor(), target).await?;
    if target == rq.user.id {
        // Our own sessions were just ended, this one included.
        return Ok(rq.redirect(paths::LOGIN));
    }
    let plural = if count == 1 { "" } else { "s" };
    UsersSection::changed(
        &rq,
        &mut conn,
        &format!(
            "Signed {} out everywhere ({count} session{plural}).",
            user.email
        ),
    )
    .await
}
