//! Creating a staff account: the one place a user row is made, whether by the first-run
//! setup, an accepted invitation or the command line (`create-user`). Each caller runs it in
//! its own transaction, after its own checks (the setup link, the invitation), and writes its
//! own audit row.

use chrono::{DateTime, Utc};
use diesel::QueryResult;
use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::audit::Record;
use crate::client_ip::RequestMeta;
use crate::db::ids::{OrgId, UserId};
use crate::db::models::audit_action::AuditAction;
use crate::db::models::audit_event::NewAuditEvent;
use crate::db::models::organisation::Organisation;
use crate::db::models::setup_token;
use crate::db::models::user::{NewUser, StaffRole, User};
use crate::domain_error::DomainError;

/// Who the new account is; the password is already hashed.
#[derive(Debug, Clone, Copy)]
pub struct NewAccount<'a> {
    pub org_id: OrgId,
    pub email: &'a str,
    pub role: StaffRole,
    pub password_hash: &'a str,
}

/// Inserts the user. A racing insert of the same email fails on the unique index (a
/// `DomainError::Conflict` once converted).
pub async fn create_account(
    conn: &mut AsyncPgConnection,
    new: NewAccount<'_>,
    now: DateTime<Utc>,
) -> QueryResult<User> {
    let row = NewUser {
        id: UserId::new_random(),
        org_id: new.org_id,
        email: new.email,
        role: new.role,
        password_hash: new.password_hash,
        created_at: now,
        updated_at: now,
    };
    User::insert(conn, &row).await
}

/// `create-user`: the organisation found or created by name, the user, the end of any
/// first-run link (an account now exists), and the audit row, in one transaction.
pub async fn create_from_command_line(
    conn: &mut AsyncPgConnection,
    org_name: &str,
    email: &str,
    role: StaffRole,
    password_hash: &str,
    now: DateTime<Utc>,
) -> Result<(User, Organisation), DomainError> {
    conn.transaction(async |conn| {
        if User::find_by_email(conn, email).await?.is_some() {
            return Err(DomainError::invalid(
                "email",
                "a user with this email already exists",
            ));
        }
        let org = match Organisation::find_by_name(conn, org_name).await? {
            Some(existing) => existing,
            None => Organisation::create(conn, org_name, now).await?,
        };
        let new = NewAccount {
            org_id: org.id,
            email,
            role,
            password_hash,
        };
        let user = create_account(conn, new, now).await?;
        setup_token::delete_all(conn).await?;
        NewAuditEvent::new(AuditAction::UserCreated, &RequestMeta::default(), now)
            .org(org.id)
            .actor_email("command line")
            .target("user", user.id, &user.email)
            .details(serde_json::json!({ "role": role.as_str() }))
            .record(conn)
            .await?;
        Ok((user, org))
    })
    .await
}
