//! The emails the server owes people: about their credentials (expiry reminders, automatic
//! disabling, leak reports) and about their own staff account (`account`). Each is written
//! as one notice row per recipient, in the same transaction as what it reports, and
//! delivered by a background job (`deliver`); for credentials the key (credential, kind,
//! moment, recipient) keeps each email to exactly one.

pub(crate) mod account;
pub mod deliver;
pub(crate) mod expiry;

use chrono::{DateTime, Utc};
use diesel::QueryResult;
use diesel_async::AsyncPgConnection;

use crate::db::models::credential::Credential;
use crate::db::models::notice::{NewNotice, NoticeKind};
use crate::db::models::organisation::Organisation;
use crate::db::models::user::User;
use crate::paths;

/// One email about a credential, before it is addressed.
pub struct Draft {
    pub kind: NoticeKind,
    /// The moment it is about (the expiry, the disabling, the report).
    pub subject_at: DateTime<Utc>,
    pub subject: String,
    pub body: String,
}

/// The credential's owner, then the organisation's enabled Admins and Super Admins, each
/// address once.
pub async fn recipients(
    conn: &mut AsyncPgConnection,
    credential: &Credential,
) -> QueryResult<Vec<String>> {
    let mut all = vec![credential.owner_email.clone()];
    for email in User::manager_emails(conn, credential.org_id).await? {
        if !all.iter().any(|known| known.eq_ignore_ascii_case(&email)) {
            all.push(email);
        }
    }
    Ok(all)
}

/// Queues `draft` for every recipient; one already queued is not queued again. How many
/// were added.
pub async fn enqueue(
    conn: &mut AsyncPgConnection,
    credential: &Credential,
    draft: &Draft,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    let mut added = 0;
    for recipient in recipients(conn, credential).await? {
        let notice = NewNotice {
            org_id: credential.org_id,
            credential_id: Some(credential.id),
            kind: draft.kind,
            subject_at: draft.subject_at,
            recipient,
            subject: draft.subject.clone(),
            body: draft.body.clone(),
            link_path: Some(paths::credential(credential.id)),
            next_attempt_at: now,
            created_at: now,
        };
        if notice.insert(conn).await? {
            added += 1;
        }
    }
    Ok(added)
}

/// "“Warehouse sync” (client ID m2m_…) of Acme": how every email names the credential.
pub async fn credential_label(
    conn: &mut AsyncPgConnection,
    credential: &Credential,
) -> QueryResult<String> {
    let org = Organisation::find(conn, credential.org_id).await?;
    Ok(format!(
        "“{}” (client ID {}) of {}",
        credential.name, credential.client_id, org.name
    ))
}

pub fn utc(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// The email sent when the server disables a credential on its own (`why` completes
/// "because …").
pub async fn disabled(
    conn: &mut AsyncPgConnection,
    credential: &Credential,
    why: &str,
    at: DateTime<Utc>,
) -> QueryResult<Draft> {
    let label = credential_label(conn, credential).await?;
    Ok(Draft {
        kind: NoticeKind::Disabled,
        subject_at: at,
        subject: format!("API credential “{}” was disabled", credential.name),
        body: format!(
            "The API credential {label} was disabled automatically on {} because {why}.\n\n\
             Token requests with it now get invalid_client, and the access tokens it had were \
             revoked. If it is still needed, an Admin can enable it again from its ⋮ menu; \
             the integration then requests new tokens with the same client ID and secret.\n\n\
             Owner: {}",
            utc(at),
            credential.owner_email
        ),
    })
}
