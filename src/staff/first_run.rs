//! The first run: while no user exists, the one-time setup link creates the first
//! organisation and its Super Admin. The link dies with its first use.

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::audit::Record;
use crate::client_ip::RequestMeta;
use crate::db::models::audit_action::AuditAction;
use crate::db::models::audit_event::NewAuditEvent;
use crate::db::models::organisation::Organisation;
use crate::db::models::setup_token;
use crate::db::models::user::{StaffRole, User};
use crate::domain_error::DomainError;
use crate::forms::{self, FieldErrors};
use crate::input::Lines;
use crate::random;
use crate::staff::accounts::{NewAccount, create_account};
use crate::staff::password::{self, Argon2Pool};

const MAX_ORG_NAME: usize = 100;

/// The setup form as posted.
#[derive(Deserialize)]
pub struct SetupDraft {
    #[serde(default)]
    pub token: String,
    #[serde(default)]
    pub org_name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default = "crate::staff::password::missing")]
    pub password: SecretString,
    #[serde(default = "crate::staff::password::missing")]
    pub password_confirm: SecretString,
}

/// The organisation name and email as the form shows them again, and the messages.
pub fn check(draft: &SetupDraft) -> (String, String, FieldErrors) {
    let mut errors = FieldErrors::default();
    let org_name = forms::text(
        &mut errors,
        "org_name",
        &draft.org_name,
        true,
        MAX_ORG_NAME,
        Lines::Single,
    );
    let email = forms::email(&mut errors, "email", &draft.email);
    let context = password::PasswordContext {
        email: &email,
        org_name: &org_name,
    };
    if let Err(message) = password::validate_new_password(&draft.password, context) {
        errors.add("password", message);
    } else if draft.password.expose_secret() != draft.password_confirm.expose_secret() {
        errors.add("password_confirm", "The passwords do not match.");
    }
    (org_name, email, errors)
}

/// Whether `token` is the live setup link's (and no user exists yet).
pub async fn link_is_live(conn: &mut AsyncPgConnection, token: &str) -> Result<bool, DomainError> {
    if token.is_empty() || token.len() > 100 {
        return Ok(false);
    }
    Ok(
        setup_token::exists(conn, &random::sha256(token.as_bytes())).await?
            && !User::any_exists(conn).await?,
    )
}

/// Creates the organisation and its Super Admin from a checked draft; `None` when the link
/// was used meanwhile (of two racing submissions, only one consumes it).
pub async fn complete_setup(
    conn: &mut AsyncPgConnection,
    argon2: &Argon2Pool,
    draft: SetupDraft,
    meta: &RequestMeta,
    now: DateTime<Utc>,
) -> Result<Option<User>, DomainError> {
    let (org_name, email, errors) = check(&draft);
    errors.into_result().map_err(DomainError::Invalid)?;
    let hash = password::hash_password(argon2.slot().await?, draft.password).await?;
    let token_hash = random::sha256(draft.token.as_bytes());
    conn.transaction(async |conn| {
        // Deleting the token is the lock: of two racing submissions only one consumes it.
        if !setup_token::consume(conn, &token_hash).await? || User::any_exists(conn).await? {
            return Ok(None);
        }
        let org = Organisation::create(conn, &org_name, now).await?;
        let new = NewAccount {
            org_id: org.id,
            email: &email,
            role: StaffRole::SuperAdmin,
            password_hash: &hash,
        };
        let user = create_account(conn, new, now).await?;
        setup_token::delete_all(conn).await?;
        NewAuditEvent::new(AuditAction::SetupCompleted, meta, now)
            .by(&user)
            .target("organisation", org.id, &org.name)
            .record(conn)
            .await?;
        Ok(Some(user))
    })
    .await
}
