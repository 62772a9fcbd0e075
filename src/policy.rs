//! An organisation's credential policy: the expiry preselected for new credentials and the
//! furthest one allowed, how far ahead "expires soon" starts, and after how long unused a
//! credential is stale and what that does. A Super Admin sets it; the credential checks, the
//! list and the background jobs read it.

use chrono::{DateTime, Duration, Utc};
use diesel::QueryResult;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::Deserialize;

use crate::actor::Actor;
use crate::audit::Record;
use crate::credentials::input::TokenLifetime;
use crate::db::ids::{CredentialId, OrgId};
use crate::db::models::audit_action::AuditAction;
use crate::db::models::credential::{Credential, Status};
use crate::db::models::org_policy::OrgPolicy;
use crate::db::models::organisation::Organisation;
use crate::db::models::user::StaffRole;
use crate::domain_error::DomainError;
use crate::forms::FieldErrors;

const CHANGE_POLICY: &str = "change the organisation's policy";
const MAX_DAYS: i32 = 3650;

/// What staleness does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaleAction {
    Nothing,
    /// Flag it in the list.
    Warn,
    /// Flag it, and disable it automatically (with an audit row and an email).
    Disable,
}

impl StaleAction {
    pub const ALL: [StaleAction; 3] = [
        StaleAction::Nothing,
        StaleAction::Warn,
        StaleAction::Disable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StaleAction::Nothing => "nothing",
            StaleAction::Warn => "warn",
            StaleAction::Disable => "disable",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        StaleAction::ALL
            .into_iter()
            .find(|a| a.as_str() == s.trim())
    }

    pub fn label(self) -> &'static str {
        match self {
            StaleAction::Nothing => "Nothing",
            StaleAction::Warn => "Flag it in the list",
            StaleAction::Disable => "Flag it and disable it automatically",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub default_lifetime_days: Option<i32>,
    pub max_lifetime_days: Option<i32>,
    pub expires_soon_days: i32,
    pub stale_after_days: i32,
    pub stale_action: StaleAction,
    /// Super Admins and Admins must have two-factor sign-in on before they can do anything.
    pub require_two_factor: bool,
    /// The longest a credential's access tokens may live.
    pub max_token_lifetime: TokenLifetime,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            default_lifetime_days: None,
            max_lifetime_days: None,
            expires_soon_days: 30,
            stale_after_days: 90,
            stale_action: StaleAction::Warn,
            require_two_factor: false,
            max_token_lifetime: TokenLifetime::LONGEST,
        }
    }
}

impl Policy {
    pub fn of(row: &OrgPolicy) -> Self {
        Self {
            default_lifetime_days: row.default_lifetime_days,
            max_lifetime_days: row.max_lifetime_days,
            expires_soon_days: row.expires_soon_days,
            stale_after_days: row.stale_after_days,
            stale_action: StaleAction::parse(&row.stale_action).unwrap_or(StaleAction::Warn),
            require_two_factor: row.require_two_factor,
            max_token_lifetime: TokenLifetime::stored(row.max_token_lifetime_seconds),
        }
    }

    pub fn expires_soon(&self) -> Duration {
        Duration::days(self.expires_soon_days.into())
    }

    /// The status of `c` at `now`, "Expires soon" within this organisation's window: the one
    /// rule the console, the management API and the expiry reminders use.
    pub fn status(&self, c: &Credential, now: DateTime<Utc>) -> Status {
        c.status_within(now, self.expires_soon())
    }

    pub fn stale_after(&self) -> Duration {
        Duration::days(self.stale_after_days.into())
    }

    /// The furthest expiry allowed for a credential saved at `now`.
    pub fn latest_expiry(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.max_lifetime_days
            .map(|days| now + Duration::days(days.into()))
    }

    fn to_row(self, org: OrgId, now: DateTime<Utc>) -> OrgPolicy {
        OrgPolicy {
            org_id: org,
            default_lifetime_days: self.default_lifetime_days,
            max_lifetime_days: self.max_lifetime_days,
            expires_soon_days: self.expires_soon_days,
            stale_after_days: self.stale_after_days,
            stale_action: self.stale_action.as_str().into(),
            updated_at: now,
            require_two_factor: self.require_two_factor,
            max_token_lifetime_seconds: self.max_token_lifetime.seconds(),
        }
    }

    fn audit(&self) -> serde_json::Value {
        serde_json::json!({
            "default_lifetime_days": self.default_lifetime_days,
            "max_lifetime_days": self.max_lifetime_days,
            "expires_soon_days": self.expires_soon_days,
            "stale_after_days": self.stale_after_days,
            "stale_action": self.stale_action.as_str(),
            "require_two_factor": self.require_two_factor,
            "max_token_lifetime_seconds": self.max_token_lifetime.seconds(),
        })
    }
}

/// The organisation's policy (the defaults when none was saved).
pub async fn load(conn: &mut AsyncPgConnection, org: OrgId) -> QueryResult<Policy> {
    Ok(OrgPolicy::find(conn, org)
        .await?
        .map_or_else(Policy::default, |row| Policy::of(&row)))
}

/// The policy form as posted: days as typed (empty: none).
/// A credential a staleness policy would disable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleCandidate {
    pub id: CredentialId,
    pub name: String,
    pub unused_days: i64,
}

/// What `policy` would disable in `org` at `now`: the same query the job runs. Empty unless
/// it disables.
pub async fn would_disable(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<Vec<StaleCandidate>, DomainError> {
    if policy.stale_action != StaleAction::Disable {
        return Ok(Vec::new());
    }
    let ids = Credential::unused_since(conn, org, now - policy.stale_after(), now).await?;
    let mut all = Credential::list_for_org(conn, org).await?;
    all.retain(|c| ids.contains(&c.id));
    Ok(all
        .into_iter()
        .map(|c| StaleCandidate {
            id: c.id,
            unused_days: (now - c.last_activity()).num_days(),
            name: c.name,
        })
        .collect())
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PolicyDraft {
    #[serde(default)]
    pub default_lifetime_days: String,
    #[serde(default)]
    pub max_lifetime_days: String,
    #[serde(default)]
    pub expires_soon_days: String,
    #[serde(default)]
    pub stale_after_days: String,
    #[serde(default)]
    pub stale_action: String,
    /// The checkbox: present ("on") when ticked.
    #[serde(default)]
    pub require_two_factor: Option<String>,
    /// Seconds, one of `TokenLifetime::ALL` (empty: the longest).
    #[serde(default)]
    pub max_token_lifetime_seconds: String,
    /// The credentials the person saw that a "disable" policy disables at once, and agreed to
    /// (see `update_policy`).
    #[serde(default)]
    pub confirm_disable: Vec<String>,
}

impl PolicyDraft {
    pub fn of(policy: &Policy) -> Self {
        let days = |d: Option<i32>| d.map(|d| d.to_string()).unwrap_or_default();
        Self {
            default_lifetime_days: days(policy.default_lifetime_days),
            max_lifetime_days: days(policy.max_lifetime_days),
            expires_soon_days: policy.expires_soon_days.to_string(),
            stale_after_days: policy.stale_after_days.to_string(),
            stale_action: policy.stale_action.as_str().into(),
            require_two_factor: policy.require_two_factor.then(|| "on".to_string()),
            max_token_lifetime_seconds: policy.max_token_lifetime.seconds().to_string(),
            confirm_disable: Vec::new(),
        }
    }

    /// The policy it describes, or the messages.
    pub fn check(&self) -> Result<Policy, FieldErrors> {
        let mut errors = FieldErrors::default();
        let mut days = |field: &'static str, raw: &str, required: bool| -> Option<i32> {
            let raw = raw.trim();
            if raw.is_empty() {
                if required {
                    errors.add(field, "This field is required.");
                }
                return None;
            }
            match raw.parse::<i32>() {
                Ok(d) if (1..=MAX_DAYS).contains(&d) => Some(d),
                _ => {
                    errors.add(
                        field,
                        format!("Enter a number of days from 1 to {MAX_DAYS}."),
                    );
                    None
                }
            }
        };
        let default_lifetime_days =
            days("default_lifetime_days", &self.default_lifetime_days, false);
        let max_lifetime_days = days("max_lifetime_days", &self.max_lifetime_days, false);
        let expires_soon_days = days("expires_soon_days", &self.expires_soon_days, true);
        let stale_after_days = days("stale_after_days", &self.stale_after_days, true);
        if let (Some(default), Some(max)) = (default_lifetime_days, max_lifetime_days)
            && default > max
        {
            errors.add(
                "default_lifetime_days",
                "The default lifetime cannot be longer than the maximum.",
            );
        }
        let max_token_lifetime = match self.max_token_lifetime_seconds.trim() {
            "" => Some(TokenLifetime::LONGEST),
            raw => TokenLifetime::parse(raw),
        };
        if max_token_lifetime.is_none() {
            errors.add(
                "max_token_lifetime_seconds",
                "Choose one of the token lifetimes offered.",
            );
        }
        let stale_action = StaleAction::parse(&self.stale_action);
        if stale_action.is_none() {
            errors.add("stale_action", "Choose what staleness does.");
        }
        if expires_soon_days.is_some_and(|d| d > 365) {
            errors.add("expires_soon_days", "Use at most 365 days.");
        }
        match (
            expires_soon_days,
            stale_after_days,
            stale_action,
            max_token_lifetime,
            errors.is_empty(),
        ) {
            (
                Some(expires_soon_days),
                Some(stale_after_days),
                Some(stale_action),
                Some(max_token_lifetime),
                true,
            ) => Ok(Policy {
                default_lifetime_days,
                max_lifetime_days,
                expires_soon_days,
                stale_after_days,
                stale_action,
                require_two_factor: self.require_two_factor.is_some(),
                max_token_lifetime,
            }),
            _ => Err(errors),
        }
    }
}

/// What saving a policy did.
#[derive(Debug)]
pub enum PolicySaved {
    Changed(Policy),
    /// The policy was already so: nothing recorded.
    Unchanged(Policy),
    /// Not saved: it would disable these credentials at once (beyond what the policy in force
    /// disables), and the person has not confirmed them all yet.
    Confirm(Policy, Vec<StaleCandidate>),
}

/// Saves the organisation's policy (Super Admin only). Expiries already set are left as they
/// are; a maximum applies to each credential's expiry when it is next changed. A policy that
/// newly disables credentials at once is saved only when `draft.confirm_disable` names each
/// of them: the person saw the list first.
pub async fn update_policy(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    draft: &PolicyDraft,
) -> Result<PolicySaved, DomainError> {
    actor.require(StaffRole::SuperAdmin, CHANGE_POLICY)?;
    let policy = draft.check().map_err(DomainError::Invalid)?;
    conn.transaction(async |conn| {
        let org = actor.org_id();
        Organisation::lock(conn, org).await?;
        let before = load(conn, org).await?;
        if before == policy {
            return Ok(PolicySaved::Unchanged(policy));
        }
        let already = would_disable(conn, org, &before, actor.now).await?;
        let mut newly = would_disable(conn, org, &policy, actor.now).await?;
        newly.retain(|c| !already.contains(c));
        let confirmed = |c: &StaleCandidate| {
            draft
                .confirm_disable
                .iter()
                .any(|id| id.trim() == c.id.to_string())
        };
        if !newly.iter().all(confirmed) {
            return Ok(PolicySaved::Confirm(policy, newly));
        }
        policy.to_row(org, actor.now).save(conn).await?;
        // A lower maximum holds from the next token on: longer lifetimes are shortened now,
        // so the token endpoint never reads the policy.
        let max = policy.max_token_lifetime.seconds();
        let shortened = Credential::shorten_token_lifetimes(conn, org, max, actor.now).await?;
        let mut details = serde_json::json!({ "before": before.audit(), "after": policy.audit() });
        if !shortened.is_empty()
            && let Some(map) = details.as_object_mut()
        {
            map.insert("token_lifetime_shortened".into(), shortened.into());
        }
        actor
            .audit(AuditAction::PolicyUpdated)
            .details(details)
            .record(conn)
            .await?;
        Ok(PolicySaved::Changed(policy))
    })
    .await
}
