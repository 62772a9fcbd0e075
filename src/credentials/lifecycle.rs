//! Rotating a credential's secret (at once, or with an overlap the admin chooses), retiring
//! the previous secret, revoking (permanent), disabling and enabling (reversible), and
//! deleting. Each takes effect on the very next request.

use chrono::{DateTime, Duration, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::actor::{Actor, Principal};
use crate::audit;
use crate::audit::payload;
use crate::credentials::management::{self, CREDENTIALS_WRITE};
use crate::credentials::{Hold, change, find, refuse_if_revoked, require_manager};
use crate::db::ids::CredentialId;
use crate::db::models::access_token;
use crate::db::models::credential::Credential;
use crate::db::models::credential_lifecycle::{DisabledNote, Rotation};
use crate::domain_error::DomainError;
use crate::notices;
use crate::tokens::{self, Kind, PlainSecret};

/// How long the current secret keeps working after a rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overlap {
    /// It stops at once (the default, and the rule before overlaps existed).
    #[default]
    Now,
    Hour,
    Day,
    Week,
}

impl Overlap {
    pub const ALL: [Overlap; 4] = [Overlap::Now, Overlap::Hour, Overlap::Day, Overlap::Week];

    /// The form's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Overlap::Now => "now",
            Overlap::Hour => "1h",
            Overlap::Day => "24h",
            Overlap::Week => "7d",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Overlap::ALL.into_iter().find(|o| o.as_str() == s.trim())
    }

    pub fn label(self) -> &'static str {
        match self {
            Overlap::Now => "Now",
            Overlap::Hour => "In 1 hour",
            Overlap::Day => "In 24 hours",
            Overlap::Week => "In 7 days",
        }
    }

    fn duration(self) -> Option<Duration> {
        match self {
            Overlap::Now => None,
            Overlap::Hour => Some(Duration::hours(1)),
            Overlap::Day => Some(Duration::hours(24)),
            Overlap::Week => Some(Duration::days(7)),
        }
    }

    /// When the replaced secret retires, for `credential` at `now`: never after the
    /// credential itself expires; `None` when that leaves no overlap at all.
    pub fn retires_at(self, credential: &Credential, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let end = now + self.duration()?;
        let end = credential.expires_at.map_or(end, |expiry| end.min(expiry));
        (end > now).then_some(end)
    }
}

/// A rotation done: the credential with its new secret (to be shown once), and until when the
/// old one still works.
pub struct Rotated {
    pub credential: Credential,
    pub secret: PlainSecret,
    pub previous_retires_at: Option<DateTime<Utc>>,
}

/// A rotation sent again with the same key.
const ALREADY_ROTATED: &str =
    "This rotation was already made: its new secret was shown once. If it was lost, rotate again.";

/// Replaces the secret. With `Overlap::Now`, the old one and every token issued under it stop
/// working at once; otherwise both secrets work until the overlap ends (at most two live: a
/// secret still overlapping from an earlier rotation retires at once).
pub async fn rotate_secret(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: CredentialId,
    overlap: Overlap,
    key: Option<uuid::Uuid>,
) -> Result<Rotated, DomainError> {
    require_manager(actor, management::CREDENTIALS_ROTATE)?;
    // Without a key from the caller, a fresh one: such a request is never a replay.
    let rotation_key = key.unwrap_or_else(uuid::Uuid::new_v4);
    let secret = tokens::generate(Kind::ClientSecret)?;
    let secret_hash = secret.hash();
    let last_four = secret.last_four();
    let now = actor.now;
    let (credential, previous_retires_at) = conn
        .transaction(async |conn| {
            let current = find(conn, actor, id).await?;
            refuse_if_revoked(&current)?;
            management::may_rotate(actor, &current)?;
            management::may_obtain_secret(conn, actor, &current).await?;
            if current.rotation_key == Some(rotation_key) {
                return Err(DomainError::Replayed(ALREADY_ROTATED.into()));
            }
            let replaced_overlap = current.previous_secret_live(now);
            let previous_retires_at = overlap.retires_at(&current, now);
            let rotation = Rotation {
                secret_hash: secret_hash.as_bytes(),
                last_four: &last_four,
                previous_retires_at,
                key: rotation_key,
                now,
            };
            let rotated = match Credential::rotate_secret(conn, actor.org_id(), id, &rotation).await
            {
                Err(diesel::result::Error::NotFound) if key.is_some() => {
                    return Err(DomainError::Replayed(ALREADY_ROTATED.into()));
                }
                other => other?,
            };
            // Without an overlap, tokens of the old secret die with it, in the same commit.
            let revoked = match previous_retires_at {
                None => access_token::revoke_all(conn, id, now).await?,
                Some(_) => 0,
            };
            audit::credential_event(
                conn,
                actor,
                id,
                &rotated.name,
                &payload::SecretRotated {
                    overlap: overlap.as_str(),
                    previous_secret_retires_at: previous_retires_at,
                    earlier_secret_retired: replaced_overlap,
                    tokens_revoked: revoked,
                },
            )
            .await?;
            Ok::<_, DomainError>((rotated, previous_retires_at))
        })
        .await?;
    tracing::info!(credential_id = %credential.id, "client secret rotated");
    Ok(Rotated {
        credential,
        secret,
        previous_retires_at,
    })
}

/// Ends an overlap now: the previous secret and its tokens stop working.
pub async fn retire_previous_secret(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: CredentialId,
) -> Result<Credential, DomainError> {
    require_manager(actor, management::CREDENTIALS_ROTATE)?;
    conn.transaction(async |conn| {
        let current = find(conn, actor, id).await?;
        management::may_rotate(actor, &current)?;
        if !current.previous_secret_live(actor.now) {
            return Err(DomainError::Conflict(format!(
                "“{}” has no previous secret still working.",
                current.name
            )));
        }
        let retired =
            Credential::retire_previous_secret(conn, actor.org_id(), id, actor.now).await?;
        audit::credential_event(
            conn,
            actor,
            id,
            &retired.name,
            &payload::PreviousSecretRetired {
                last_four: current.previous_secret_last_four.clone(),
                last_used_at: current.previous_secret_last_used_at,
                uses: current.previous_secret_uses,
            },
        )
        .await?;
        Ok(retired)
    })
    .await
}

/// Why a credential is disabled, for its audit row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisableReason {
    /// A person chose to (an incident, a paused integration).
    Manual,
    /// The organisation's policy disables credentials unused since `cutoff`; refused if it
    /// was used since the job looked.
    Stale {
        cutoff: DateTime<Utc>,
        policy_days: i32,
    },
    /// Its secret was reported found in public (`credentials::leaks`).
    Leaked,
}

impl DisableReason {
    fn as_str(self) -> &'static str {
        match self {
            DisableReason::Manual => "manual",
            DisableReason::Stale { .. } => "stale",
            DisableReason::Leaked => "leaked",
        }
    }
}

/// Who or what disabled a credential and why, in words: "Disabled by ops@acme.test",
/// "Disabled automatically: unused for 200 days". `None` for one disabled before this was
/// recorded.
pub fn disabled_why(c: &Credential) -> Option<String> {
    c.disabled_at?;
    match (
        c.disabled_reason.as_deref(),
        &c.disabled_by,
        &c.disabled_why,
    ) {
        (Some("manual"), Some(by), _) => Some(format!("Disabled by {by}")),
        (Some("stale" | "leaked"), _, Some(why)) => Some(format!("Disabled automatically: {why}")),
        _ => None,
    }
}

/// Who acted, as a disabled credential names them: a staff member's email, a calling
/// credential's client ID; nobody for the system.
pub(crate) fn acting_party(actor: &Actor) -> Option<String> {
    match &actor.principal {
        Principal::Staff(user) => Some(user.email.clone()),
        Principal::Credential(caller) => Some(format!("API client {}", caller.client_id)),
        Principal::System(_) => None,
    }
}

/// Stops the credential for now: `invalid_client` from the next request, its tokens revoked
/// at once (they stay dead after Enable).
pub async fn disable_credential(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: CredentialId,
    reason: DisableReason,
) -> Result<Credential, DomainError> {
    change(
        conn,
        actor,
        id,
        CREDENTIALS_WRITE,
        Hold::LockLive,
        async |conn, current| {
            if current.is_disabled() {
                return Err(DomainError::Conflict(format!(
                    "“{}” is already disabled.",
                    current.name
                )));
            }
            if let DisableReason::Stale { cutoff, .. } = reason
                && current.last_activity() > cutoff
            {
                return Err(DomainError::Conflict(format!(
                    "“{}” was used since it was found stale.",
                    current.name
                )));
            }
            let idle = (actor.now - current.last_activity()).num_days();
            let why = match reason {
                DisableReason::Manual => None,
                DisableReason::Stale { .. } => Some(format!("unused for {idle} days")),
                DisableReason::Leaked => {
                    Some("its secret was reported found in public".to_string())
                }
            };
            let by = acting_party(actor);
            let note = DisabledNote {
                reason: reason.as_str(),
                by: by.as_deref(),
                why: why.as_deref(),
            };
            let disabled =
                Credential::set_disabled(conn, actor.org_id(), id, actor.now, &note).await?;
            let tokens = access_token::revoke_all(conn, id, actor.now).await?;
            audit::credential_event(
                conn,
                actor,
                id,
                &disabled.name,
                &payload::CredentialDisabled {
                    reason: reason.as_str(),
                    why: disabled_why(&disabled),
                    tokens_revoked: tokens,
                },
            )
            .await?;
            if let DisableReason::Stale { policy_days, .. } = reason {
                let why = format!(
                    "it had not been used for {idle} days (your organisation's policy disables \
                 credentials unused for {policy_days} days)"
                );
                let draft = notices::disabled(conn, &disabled, &why, actor.now).await?;
                notices::enqueue(conn, &disabled, &draft, actor.now).await?;
            }
            Ok(disabled)
        },
    )
    .await
}

/// Lets a disabled credential request tokens again (its old tokens stay dead).
pub async fn enable_credential(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: CredentialId,
) -> Result<Credential, DomainError> {
    change(
        conn,
        actor,
        id,
        CREDENTIALS_WRITE,
        Hold::LockLive,
        async |conn, current| {
            if !current.is_disabled() {
                return Err(DomainError::Conflict(format!(
                    "“{}” is not disabled.",
                    current.name
                )));
            }
            refuse_if_leaked(&current, actor.now)?;
            let enabled = Credential::set_enabled(conn, actor.org_id(), id, actor.now).await?;
            audit::credential_event(
                conn,
                actor,
                id,
                &enabled.name,
                &payload::CredentialEnabled {},
            )
            .await?;
            Ok(enabled)
        },
    )
    .await
}

/// A credential whose secret was reported found in public stays disabled until a secret
/// issued after the report is the only one that works.
fn refuse_if_leaked(c: &Credential, now: DateTime<Utc>) -> Result<(), DomainError> {
    let Some(reported) = c.leak_reported_at else {
        return Ok(());
    };
    let rotated_since = c.secret_rotated_at.is_some_and(|at| at > reported);
    if rotated_since && !c.previous_secret_live(now) {
        return Ok(());
    }
    Err(DomainError::Conflict(format!(
        "The secret of “{}” was reported found in public on {}: rotate its secret first (Now, \
         or retire the old secret after an overlap), then enable it.",
        c.name,
        reported.format("%Y-%m-%d %H:%M UTC")
    )))
}

/// Revokes the credential for good (there is no un-revoke) and its tokens with it.
pub async fn revoke_credential(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: CredentialId,
) -> Result<Credential, DomainError> {
    require_manager(actor, CREDENTIALS_WRITE)?;
    let revoked = conn
        .transaction(async |conn| {
            let current = find(conn, actor, id).await?;
            refuse_if_revoked(&current)?;
            management::may_handle(actor, &current)?;
            let revoked = Credential::revoke(conn, actor.org_id(), id, actor.now).await?;
            let tokens = access_token::revoke_all(conn, id, actor.now).await?;
            audit::credential_event(
                conn,
                actor,
                id,
                &revoked.name,
                &payload::CredentialRevoked {
                    tokens_revoked: tokens,
                },
            )
            .await?;
            Ok::<_, DomainError>(revoked)
        })
        .await?;
    tracing::info!(credential_id = %revoked.id, "credential revoked");
    Ok(revoked)
}

/// Deletes the credential and its tokens; the audit log keeps the record.
pub async fn delete_credential(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: CredentialId,
) -> Result<Credential, DomainError> {
    let deleted = change(
        conn,
        actor,
        id,
        CREDENTIALS_WRITE,
        Hold::Read,
        async |conn, current| {
            Credential::delete(conn, actor.org_id(), id).await?;
            audit::credential_event(
                conn,
                actor,
                id,
                &current.name,
                &payload::CredentialDeleted {
                    client_id: current.client_id.clone(),
                },
            )
            .await?;
            Ok(current)
        },
    )
    .await?;
    tracing::info!(credential_id = %deleted.id, "credential deleted");
    Ok(deleted)
}
