//! Acting on a leak report: a string found in public (by a secret scanner) that is a live
//! secret or access token of ours. A secret's credential is disabled, a token is revoked, the
//! owner and the Admins are emailed, and the audit log records the report with its URL.
//! Strings that are not ours, or whose checksum is wrong, never reach the database. A report
//! about a credential that is already disabled is recorded at most once an hour, so copies
//! sent again and again add no rows and no webhook events.

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::actor::Actor;
use crate::audit;
use crate::audit::payload;
use crate::credentials::lifecycle::{DisableReason, disable_credential};
use crate::db::models::access_token;
use crate::db::models::credential::Credential;
use crate::db::models::notice::NoticeKind;
use crate::domain_error::DomainError;
use crate::notices::{self, Draft};
use crate::tokens::{self, HashedSecret, Kind};

/// The longest reported URL kept; a longer one is cut (by characters) and marked.
const MAX_URL_CHARS: usize = 2000;

/// Reports about an already-disabled credential are recorded at most once within this.
const REPEAT_RECORDED_EVERY: chrono::Duration = chrono::Duration::hours(1);

/// A reported string that is one of ours, by its checksum.
pub enum Leaked {
    Secret(HashedSecret),
    Token(HashedSecret),
}

impl Leaked {
    /// What `value` is, when it has our prefix and a valid checksum; `None` otherwise.
    pub fn recognise(value: &str) -> Option<Self> {
        let value = value.trim();
        if let Some(secret) = tokens::parse(Kind::ClientSecret, value) {
            return Some(Leaked::Secret(secret.hash()));
        }
        tokens::parse(Kind::AccessToken, value).map(|token| Leaked::Token(token.hash()))
    }

    fn what(&self) -> &'static str {
        match self {
            Leaked::Secret(_) => "client_secret",
            Leaked::Token(_) => "access_token",
        }
    }

    /// What makes two reports the same: the kind and the digest.
    pub fn key(&self) -> (&'static str, Vec<u8>) {
        let (Leaked::Secret(hash) | Leaked::Token(hash)) = self;
        (self.what(), hash.as_bytes().to_vec())
    }
}

/// What was done about one report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Not a live secret or token of ours (unknown, retired, expired, revoked).
    NothingLive,
    Disabled,
    /// The secret's credential was already disabled: recorded, nothing else to do.
    AlreadyDisabled,
    /// As `AlreadyDisabled`, reported again within the hour: not recorded again.
    Repeated,
    TokenRevoked,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::NothingLive => "nothing_live",
            Outcome::Disabled => "credential_disabled",
            Outcome::AlreadyDisabled => "already_disabled",
            Outcome::Repeated => "repeated",
            Outcome::TokenRevoked => "token_revoked",
        }
    }
}

/// The URL as reported, made safe to keep: control characters dropped, length bounded.
pub fn clean_url(raw: &str) -> String {
    let kept: String = raw.chars().filter(|c| !c.is_control()).collect();
    let kept = kept.trim();
    if kept.chars().count() <= MAX_URL_CHARS {
        return kept.to_string();
    }
    let mut cut: String = kept.chars().take(MAX_URL_CHARS).collect();
    cut.push('…');
    cut
}

/// Acts on one recognised leak at `now`, reported at `url` (already cleaned).
pub async fn act_on_leak(
    conn: &mut AsyncPgConnection,
    leaked: &Leaked,
    url: &str,
    now: DateTime<Utc>,
) -> Result<Outcome, DomainError> {
    conn.transaction(async |conn| {
        let (credential, outcome) = match leaked {
            Leaked::Secret(hash) => {
                let Some(credential) =
                    Credential::find_by_live_secret_hash(conn, hash.as_bytes(), now).await?
                else {
                    return Ok(Outcome::NothingLive);
                };
                // Locked first: concurrent reports of one credential take turns, so the
                // once-an-hour rule holds.
                let credential =
                    Credential::lock_in_org(conn, credential.org_id, credential.id).await?;
                if credential.is_revoked() {
                    return Ok(Outcome::NothingLive);
                }
                if credential.is_disabled() {
                    let recorded_lately = credential
                        .leak_repeat_recorded_at
                        .is_some_and(|at| at > now - REPEAT_RECORDED_EVERY);
                    Credential::note_leak_report(conn, credential.id, now, !recorded_lately)
                        .await?;
                    if recorded_lately {
                        return Ok(Outcome::Repeated);
                    }
                    (credential, Outcome::AlreadyDisabled)
                } else {
                    let actor = Actor::system(credential.org_id, now);
                    let reason = DisableReason::Leaked;
                    let disabled = disable_credential(conn, &actor, credential.id, reason).await?;
                    Credential::note_leak_report(conn, credential.id, now, false).await?;
                    (disabled, Outcome::Disabled)
                }
            }
            Leaked::Token(hash) => {
                let Some(id) = access_token::owner_of(conn, hash.as_bytes(), Some(now)).await?
                else {
                    return Ok(Outcome::NothingLive);
                };
                access_token::revoke_by_hash(conn, hash.as_bytes(), now).await?;
                let credential = Credential::find_any(conn, id).await?;
                (credential, Outcome::TokenRevoked)
            }
        };
        audit::credential_event(
            conn,
            &Actor::system(credential.org_id, now),
            credential.id,
            &credential.name,
            &payload::LeakReported {
                what: leaked.what(),
                url: url.to_string(),
                outcome: outcome.as_str(),
            },
        )
        .await?;
        if outcome != Outcome::AlreadyDisabled {
            let draft = email(conn, &credential, leaked, url, now).await?;
            notices::enqueue(conn, &credential, &draft, now).await?;
        }
        Ok(outcome)
    })
    .await
}

async fn email(
    conn: &mut AsyncPgConnection,
    credential: &Credential,
    leaked: &Leaked,
    url: &str,
    now: DateTime<Utc>,
) -> diesel::QueryResult<Draft> {
    let label = notices::credential_label(conn, credential).await?;
    let (subject, done) = match leaked {
        Leaked::Secret(_) => (
            format!(
                "The secret of API credential “{}” was found in public: it is disabled",
                credential.name
            ),
            "Its client secret was found in public, so the credential was disabled at once: \
             its token requests get invalid_client and its access tokens were revoked.\n\n\
             What to do: rotate its secret (Rotate secret, Now), put the new secret where the \
             integration keeps it, then enable the credential.",
        ),
        Leaked::Token(_) => (
            format!(
                "An access token of API credential “{}” was found in public: it is revoked",
                credential.name
            ),
            "One of its access tokens was found in public, so that token was revoked at once. \
             The credential itself still works.\n\n\
             What to do: find out how the token got there; if the client secret may have \
             leaked with it, rotate the secret.",
        ),
    };
    Ok(Draft {
        kind: NoticeKind::Leaked,
        subject_at: now,
        subject,
        body: format!(
            "A secret scanner reported something of the API credential {label} on {}.\n\n\
             {done}\n\nWhere it was found: {url}\n\nOwner: {}",
            notices::utc(now),
            credential.owner_email
        ),
    })
}
