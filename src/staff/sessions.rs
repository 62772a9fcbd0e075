//! Staff sessions as their owner sees them (where and when each was signed in), ending all
//! of one's sessions but the current one, and a Super Admin ending every session of a user
//! of their organisation ("Sign out everywhere"). Each ending is audited in the transaction
//! that deletes the rows (`user.sessions_ended`, with how many live sessions ended).

use chrono::{DateTime, Duration, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::actor::Actor;
use crate::audit::Record;
use crate::client_ip::RequestMeta;
use crate::db::ids::UserId;
use crate::db::models::audit_action::AuditAction;
use crate::db::models::session::{self as rows, UserSession};
use crate::db::models::user::{StaffRole, User};
use crate::domain_error::DomainError;
use crate::random;

/// Where and how this session was signed in (`SignInOrigin`), for the sessions page.
pub const ORIGIN_KEY: &str = "origin";
/// How many characters of a user agent a session keeps.
const MAX_USER_AGENT_CHARS: usize = 300;

/// What the sessions page says about a session: a public id (not the key), the user agent
/// and address it was signed in from, and when.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SignInOrigin {
    pub id: String,
    pub user_agent: String,
    pub ip: Option<String>,
    pub at: i64,
}

impl SignInOrigin {
    pub fn new(meta: &RequestMeta, now: DateTime<Utc>) -> Result<Self, anyhow::Error> {
        let user_agent = meta
            .user_agent
            .as_deref()
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_control())
            .take(MAX_USER_AGENT_CHARS)
            .collect();
        Ok(Self {
            id: hex::encode(random::os_random::<16>()?),
            user_agent,
            ip: meta.ip.map(|ip| ip.to_string()),
            at: now.timestamp(),
        })
    }
}

/// Where a stored session was signed in, read from its state as the session store saves it
/// (each value a JSON-encoded string); `None` for a session signed in before sessions kept it,
/// or for anything that does not read as one.
pub fn origin_in(state: &serde_json::Value) -> Option<SignInOrigin> {
    let raw = state.get(ORIGIN_KEY)?.as_str()?;
    serde_json::from_str(raw).ok()
}

const SIGN_USERS_OUT: &str = "sign other users out";
const END_OWN_SESSIONS: &str = "end sessions";

/// One live session of a user, for the sessions page.
pub struct LiveSession {
    /// Where it was signed in; `None` for a session from before sessions kept it.
    pub origin: Option<SignInOrigin>,
    pub signed_in_at: DateTime<Utc>,
    /// The idle deadline is pushed forward on every request, so it tells the last one.
    pub last_active_at: DateTime<Utc>,
    /// The session of the request that asks.
    pub current: bool,
}

/// `user`'s live sessions: the one whose origin id is `current` first, then the most
/// recently active. `idle` is the idle timeout the deadlines were set with.
pub async fn list_own(
    conn: &mut AsyncPgConnection,
    user: &User,
    current: Option<&str>,
    idle: Duration,
    now: DateTime<Utc>,
) -> Result<Vec<LiveSession>, DomainError> {
    let mut sessions: Vec<LiveSession> = rows::list_live_for_user(conn, user.id, now)
        .await?
        .into_iter()
        .map(|row| {
            let origin = origin_in(&row.state);
            let signed_in_at = origin
                .as_ref()
                .and_then(|o| DateTime::from_timestamp(o.at, 0))
                .unwrap_or(row.created_at);
            LiveSession {
                current: is_current(origin.as_ref(), current),
                origin,
                signed_in_at,
                last_active_at: (row.idle_expires_at - idle).min(now),
            }
        })
        .collect();
    sessions.sort_by_key(|s| (!s.current, std::cmp::Reverse(s.last_active_at)));
    Ok(sessions)
}

fn is_current(origin: Option<&SignInOrigin>, current: Option<&str>) -> bool {
    matches!((origin, current), (Some(o), Some(c)) if o.id == c)
}

/// What ending one's other sessions did.
pub struct Ended {
    /// Live sessions ended.
    pub count: usize,
    /// The current session ended too: it was signed in before sessions kept their origin,
    /// so it cannot be told apart from the others.
    pub current_ended: bool,
}

/// Ends every session of the actor except the current one (origin id `current`), in one
/// transaction with its audit row. Also the second half of a password change.
pub async fn end_other_sessions(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    current: Option<&str>,
) -> Result<Ended, DomainError> {
    let user = actor
        .staff_user()
        .ok_or(DomainError::Forbidden(END_OWN_SESSIONS))?;
    conn.transaction(async |conn| {
        let ended = end_others_inner(conn, user.id, current, actor.now).await?;
        actor
            .audit(AuditAction::UserSessionsEnded)
            .target("user", user.id, &user.email)
            .details(serde_json::json!({ "sessions_ended": ended.count, "kept": "this session" }))
            .record(conn)
            .await?;
        Ok(ended)
    })
    .await
}

/// Deletes `user`'s sessions but the one whose origin id is `current`, inside the caller's
/// transaction (a password change runs it in its own).
pub(crate) async fn end_others_inner(
    conn: &mut AsyncPgConnection,
    user: UserId,
    current: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Ended, DomainError> {
    let (kept, ended): (Vec<UserSession>, Vec<UserSession>) = rows::lock_all_for_user(conn, user)
        .await?
        .into_iter()
        .partition(|row| is_current(origin_in(&row.state).as_ref(), current));
    let count = ended.iter().filter(|row| row.is_live(now)).count();
    let keys: Vec<Vec<u8>> = ended.into_iter().map(|row| row.key_hash).collect();
    rows::delete_keys(conn, &keys).await?;
    // Whoever is halfway through signing in as this user is stopped too.
    rows::delete_pending_for_user(conn, user).await?;
    Ok(Ended {
        count,
        current_ended: kept.is_empty(),
    })
}

/// A Super Admin ends every session of `target`, a user of their organisation (a user of
/// another is not found). Returns the user and how many live sessions ended.
pub async fn end_all_sessions_of(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    target: UserId,
) -> Result<(User, usize), DomainError> {
    actor.require(StaffRole::SuperAdmin, SIGN_USERS_OUT)?;
    conn.transaction(async |conn| {
        let user = User::find_in_org(conn, actor.org_id(), target).await?;
        let all = rows::lock_all_for_user(conn, target).await?;
        let count = all.iter().filter(|row| row.is_live(actor.now)).count();
        rows::delete_for_user(conn, target).await?;
        actor
            .audit(AuditAction::UserSessionsEnded)
            .target("user", user.id, &user.email)
            .details(serde_json::json!({ "sessions_ended": count, "kept": "none" }))
            .record(conn)
            .await?;
        Ok((user, count))
    })
    .await
}
