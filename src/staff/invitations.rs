//! Inviting staff (issue 19): a Super Admin gives an email and a role; the invitee gets a
//! one-time link (valid `VALID_FOR`, stored as the SHA-256 of its token) and chooses their own
//! password. Every step is audited.
//!
//! Staff emails are unique across organisations, yet the Super Admin's answer never depends on
//! whether another organisation has the address: the invitation is made and sent all the
//! same, and only whoever opens the link learns that the address cannot join (it already has
//! an account). An address already in the Super Admin's own organisation is refused at once:
//! they can see it on the Users page anyway.

use chrono::{DateTime, Duration, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::actor::Actor;
use crate::audit::Record;
use crate::client_ip::RequestMeta;
use crate::db::DbPool;
use crate::db::ids::InvitationId;
use crate::db::models::audit_action::AuditAction;
use crate::db::models::audit_event::NewAuditEvent;
use crate::db::models::invitation::{Invitation, NewLink};
use crate::db::models::organisation::Organisation;
use crate::db::models::user::{StaffRole, User};
use crate::domain_error::DomainError;
use crate::email::{Mailer, SendError};
use crate::forms::{self, FieldErrors};
use crate::staff::accounts::{NewAccount, create_account};
use crate::staff::password::{self, Argon2Pool, PasswordContext};
use crate::{paths, random};

/// How long an invitation's link works.
pub const VALID_FOR: Duration = Duration::days(3);
const MANAGE_USERS: &str = "manage users";
const MAX_TOKEN_LEN: usize = 100;

/// The invitation form as posted.
#[derive(Deserialize)]
pub struct InvitationDraft {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub role: String,
}

/// An invitation's one-time link: sent or shown once, never stored. `Debug` hides it.
pub struct Link {
    url: String,
    token_hash: Vec<u8>,
}

impl Link {
    fn new(public_url: &url::Url) -> Result<Self, DomainError> {
        let token = random::token_256()?;
        let mut url = public_url
            .join(paths::INVITATION)
            .map_err(|e| DomainError::Unexpected(e.into()))?;
        url.query_pairs_mut().append_pair("token", &token);
        Ok(Self {
            url: url.to_string(),
            token_hash: random::sha256(token.as_bytes()),
        })
    }

    pub fn expose(&self) -> &str {
        &self.url
    }
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Link([redacted])")
    }
}

/// An invitation with its new link.
#[derive(Debug)]
pub struct Invited {
    pub invitation: Invitation,
    pub link: Link,
}

/// The email as looked up (normalised), the role, and the form's messages.
pub fn check(draft: &InvitationDraft) -> (String, Option<StaffRole>, FieldErrors) {
    let mut errors = FieldErrors::default();
    let email = forms::email(&mut errors, "email", &draft.email);
    let role = StaffRole::parse(draft.role.trim());
    if role.is_none() {
        errors.add("role", "Choose a role.");
    }
    (email, role, errors)
}

fn new_link<'a>(
    actor: &'a Actor,
    link: &'a Link,
    role: StaffRole,
) -> Result<NewLink<'a>, DomainError> {
    let inviter = actor
        .staff_user()
        .ok_or(DomainError::Forbidden(MANAGE_USERS))?;
    Ok(NewLink {
        token_hash: &link.token_hash,
        role,
        invited_by: inviter.id,
        invited_by_email: &inviter.email,
        sent_at: actor.now,
        expires_at: actor.now + VALID_FOR,
    })
}

/// Invites `draft.email` into the actor's organisation as `draft.role`, or when that address
/// has an open invitation, sends it again with a new link.
pub async fn invite(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    draft: &InvitationDraft,
    public_url: &url::Url,
) -> Result<Invited, DomainError> {
    actor.require(StaffRole::SuperAdmin, MANAGE_USERS)?;
    let (email, role, errors) = check(draft);
    errors.into_result().map_err(DomainError::Invalid)?;
    let role = role.ok_or_else(|| DomainError::invalid("role", "Choose a role."))?;
    // Only the organisation's own users are told apart: a user elsewhere is never revealed.
    if User::find_by_email(conn, &email)
        .await?
        .is_some_and(|u| u.org_id == actor.org_id())
    {
        return Err(DomainError::invalid(
            "email",
            format!("{email} is already a user of your organisation."),
        ));
    }
    let link = Link::new(public_url)?;
    let new = new_link(actor, &link, role)?;
    let invitation = conn
        .transaction(async |conn| {
            let invitation = Invitation::open_or_renew(conn, actor.org_id(), &email, &new).await?;
            actor
                .audit(AuditAction::UserInvited)
                .target("invitation", invitation.id, &invitation.email)
                .details(serde_json::json!({
                    "role": role.as_str(),
                    "expires_at": invitation.expires_at,
                }))
                .record(conn)
                .await?;
            Ok::<_, DomainError>(invitation)
        })
        .await?;
    Ok(Invited { invitation, link })
}

/// Sends invitation `id` again with a new link (the old one stops working) and a new expiry.
pub async fn resend(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: InvitationId,
    public_url: &url::Url,
) -> Result<Invited, DomainError> {
    actor.require(StaffRole::SuperAdmin, MANAGE_USERS)?;
    let link = Link::new(public_url)?;
    let invitation = conn
        .transaction(async |conn| {
            let open = Invitation::lock_open(conn, actor.org_id(), id).await?;
            let invitation =
                Invitation::renew(conn, id, &new_link(actor, &link, open.role)?).await?;
            actor
                .audit(AuditAction::UserInvitationResent)
                .target("invitation", invitation.id, &invitation.email)
                .details(serde_json::json!({ "expires_at": invitation.expires_at }))
                .record(conn)
                .await?;
            Ok::<_, DomainError>(invitation)
        })
        .await?;
    Ok(Invited { invitation, link })
}

/// Revokes invitation `id`: its link stops working.
pub async fn revoke(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: InvitationId,
) -> Result<Invitation, DomainError> {
    actor.require(StaffRole::SuperAdmin, MANAGE_USERS)?;
    conn.transaction(async |conn| {
        let invitation = Invitation::lock_open(conn, actor.org_id(), id).await?;
        Invitation::revoke(conn, id, actor.now).await?;
        actor
            .audit(AuditAction::UserInvitationRevoked)
            .target("invitation", invitation.id, &invitation.email)
            .record(conn)
            .await?;
        Ok(invitation)
    })
    .await
}

/// Emails `invited` its link, and records how that went on the invitation. No connection is
/// held while the mail server answers. The error, for the Super Admin, when it was not sent.
pub async fn send(
    pool: &DbPool,
    mailer: &Mailer,
    invited: &Invited,
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    let invitation = &invited.invitation;
    let org = {
        let mut conn = pool.get().await?;
        Organisation::find(&mut conn, invitation.org_id).await?
    };
    let body = format!(
        "{} invited you to join {} on the API console as {}.\n\n\
         To accept, open this link by {} and choose your password:\n\n{}\n\n\
         The link works once. If you did not expect this invitation, ignore this email: \
         nothing happens unless the link is opened.\n",
        invitation.invited_by_email,
        org.name,
        invitation.role.label(),
        crate::notices::utc(invitation.expires_at),
        invited.link.expose(),
    );
    let subject = format!("You are invited to {} on the API console", org.name);
    let sent = mailer.send(&invitation.email, &subject, &body).await;
    let outcome = match &sent {
        Ok(()) => Ok(now),
        Err(SendError::Permanent(e) | SendError::Transient(e)) => Err(e.as_str()),
    };
    let mut conn = pool.get().await?;
    Invitation::record_email(&mut conn, invitation.id, &invited.link.token_hash, outcome).await?;
    sent.map_err(|e| {
        tracing::warn!(invitation = %invitation.id, server = mailer.server(), error = %e, "could not send an invitation");
        DomainError::Unavailable(format!("the invitation email could not be sent: {e}"))
    })
}

/// What opening an invitation's link finds.
pub enum Opened {
    /// It can be accepted: the invitation and its organisation's name.
    Usable(Invitation, String),
    /// Unknown, used, revoked or expired.
    Invalid,
    /// Its address already has an account (here or in another organisation).
    AddressTaken,
}

/// Looks at the invitation of `token` without changing anything.
pub async fn open(
    conn: &mut AsyncPgConnection,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Opened, DomainError> {
    if token.is_empty() || token.len() > MAX_TOKEN_LEN {
        return Ok(Opened::Invalid);
    }
    let digest = random::sha256(token.as_bytes());
    let Some(invitation) = Invitation::find_usable(conn, &digest, now, false).await? else {
        return Ok(Opened::Invalid);
    };
    if User::find_by_email(conn, &invitation.email)
        .await?
        .is_some()
    {
        return Ok(Opened::AddressTaken);
    }
    let org = Organisation::find(conn, invitation.org_id).await?;
    Ok(Opened::Usable(invitation, org.name))
}

/// The acceptance form as posted. The passwords are never shown again.
#[derive(Deserialize)]
pub struct Acceptance {
    #[serde(default)]
    pub token: String,
    #[serde(default = "crate::staff::password::missing")]
    pub password: SecretString,
    #[serde(default = "crate::staff::password::missing")]
    pub password_confirm: SecretString,
}

/// How accepting ended, besides field messages (`DomainError::Invalid`).
pub enum Accepted {
    /// The new user, to sign in.
    Created(User),
    Invalid,
    AddressTaken,
    /// Every argon2 slot stayed busy: nothing changed, try again in a moment.
    Busy,
}

/// Accepts the invitation of `form.token` with the invitee's own password (the rule of
/// `validate_new_password`): the user is created with the invitation's role, in one
/// transaction with the invitation's end and the audit row.
pub async fn accept(
    pool: &DbPool,
    argon2: &Argon2Pool,
    form: Acceptance,
    meta: &RequestMeta,
    now: DateTime<Utc>,
) -> Result<Accepted, DomainError> {
    let (invitation, org_name) = {
        let mut conn = pool.get().await?;
        match open(&mut conn, &form.token, now).await? {
            Opened::Usable(invitation, org_name) => (invitation, org_name),
            Opened::Invalid => return Ok(Accepted::Invalid),
            Opened::AddressTaken => return Ok(Accepted::AddressTaken),
        }
    };
    let mut errors = FieldErrors::default();
    let context = PasswordContext {
        email: &invitation.email,
        org_name: &org_name,
    };
    if let Err(message) = password::validate_new_password(&form.password, context) {
        errors.add("password", message);
    } else if form.password.expose_secret() != form.password_confirm.expose_secret() {
        errors.add("password_confirm", "The passwords do not match.");
    }
    errors.into_result().map_err(DomainError::Invalid)?;
    let Some(slot) = argon2.slot_soon().await else {
        return Ok(Accepted::Busy);
    };
    let hash = password::hash_password(slot, form.password).await?;
    let digest = random::sha256(form.token.as_bytes());
    let mut conn = pool.get().await?;
    conn.transaction(async |conn| {
        // Locked: of two submissions of one link, one creates the user.
        let Some(invitation) = Invitation::find_usable(conn, &digest, now, true).await? else {
            return Ok(Accepted::Invalid);
        };
        if User::find_by_email(conn, &invitation.email)
            .await?
            .is_some()
        {
            return Ok(Accepted::AddressTaken);
        }
        let new = NewAccount {
            org_id: invitation.org_id,
            email: &invitation.email,
            role: invitation.role,
            password_hash: &hash,
        };
        // A sign-up racing this one for the address fails here, as a conflict.
        let user = create_account(conn, new, now).await?;
        Invitation::accept(conn, invitation.id, user.id, now).await?;
        NewAuditEvent::new(AuditAction::UserInvitationAccepted, meta, now)
            .by(&user)
            .target("user", user.id, &user.email)
            .details(serde_json::json!({
                "role": user.role.as_str(),
                "invited_by": invitation.invited_by_email,
            }))
            .record(conn)
            .await?;
        tracing::info!(user_id = %user.id, "invitation accepted");
        Ok(Accepted::Created(user))
    })
    .await
}
