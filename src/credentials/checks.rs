//! The checks that make a change set a valid credential. Each field is judged only when it
//! changes (every field of a new credential does): an untouched expiry stays as it is, seconds
//! included, however the organisation's maximum lifetime changed since; a Fine Grained
//! selection is checked against the role only when the role, the access level or the
//! selection changes. The role and APIs are read from the organisation's data, so this runs
//! under the organisation lock in the operations.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use diesel::{OptionalExtension, QueryResult};
use diesel_async::AsyncPgConnection;
use ipnet::IpNet;

use crate::credentials::input::{
    CredentialChanges, Expiry, MAX_ALLOWED_IPS, MAX_DAYS, TokenLifetime, network_text,
    parse_networks,
};
use crate::credentials::management;
use crate::db::ids::{ApiId, OrgId};
use crate::db::models::api_role::ApiRole;
use crate::db::models::credential::{AccessLevel, Credential, CredentialSettings};
use crate::forms::{self, FieldErrors};
use crate::input::Lines;
use crate::input::normalise_email;
use crate::policy::Policy;

const MAX_NAME: usize = 100;
const MAX_DESCRIPTION: usize = 500;

/// The credential an edit starts from, with its Fine Grained selection.
#[derive(Clone, Copy)]
pub struct Current<'a> {
    pub credential: &'a Credential,
    pub selected: &'a [ApiId],
}

/// Which parts of a credential a change set changes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Changed {
    pub name: bool,
    pub description: bool,
    pub owner_email: bool,
    /// The role, the access level or the Fine Grained selection.
    pub access: bool,
    pub allowed_ips: bool,
    pub expiry: bool,
    pub management_scopes: bool,
    pub token_lifetime: bool,
}

impl Changed {
    pub fn any(&self) -> bool {
        *self != Changed::default()
    }
}

/// A credential after a change set that passed every check.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub name: String,
    pub description: String,
    pub owner_email: String,
    pub role: ApiRole,
    pub access_level: AccessLevel,
    /// The Fine Grained selection (empty for Full).
    pub api_ids: Vec<ApiId>,
    pub networks: Vec<IpNet>,
    pub allowed_ips: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub management_scopes: Vec<String>,
    pub token_lifetime: TokenLifetime,
    pub changed: Changed,
}

impl Resolved {
    /// The allow-list, when the change set sets it.
    pub fn new_networks(&self) -> Option<&[IpNet]> {
        self.changed.allowed_ips.then_some(self.networks.as_slice())
    }

    /// The expiry, when the change set sets it.
    pub fn new_expiry(&self) -> Option<Option<DateTime<Utc>>> {
        self.changed.expiry.then_some(self.expires_at)
    }

    /// What the credential row takes, as of `now`.
    pub fn settings(&self, now: DateTime<Utc>) -> CredentialSettings<'_> {
        CredentialSettings {
            name: &self.name,
            description: &self.description,
            owner_email: &self.owner_email,
            role_id: self.role.id,
            access_level: self.access_level,
            allowed_ips: &self.allowed_ips,
            expires_at: self.expires_at,
            management_scopes: &self.management_scopes,
            token_lifetime_seconds: self.token_lifetime.seconds(),
            updated_at: now,
        }
    }

    /// What the audit row records of it (never a secret), with its effective `scopes`.
    pub fn snapshot(&self, scopes: &[String]) -> serde_json::Value {
        serde_json::json!({
            "name": self.name,
            "owner_email": self.owner_email,
            "role": self.role.name,
            "access_level": self.access_level.as_str(),
            "apis": scopes,
            "allowed_ips": self.allowed_ips,
            "expires_at": self.expires_at.map(crate::audit::payload::time_text),
            "management_scopes": self.management_scopes,
            "token_lifetime_seconds": self.token_lifetime.seconds(),
        })
    }
}

/// A text field: as it was when not given or given unchanged (not judged then), else checked.
fn text(
    errors: &mut FieldErrors,
    field: &'static str,
    given: Option<&String>,
    current: Option<&str>,
    required: bool,
    max: usize,
    lines: Lines,
) -> (String, bool) {
    // Browsers send a textarea's line breaks as CRLF whatever it was given.
    let same = |raw: &str, was: &str| raw.trim().replace("\r\n", "\n") == was.replace("\r\n", "\n");
    match (given, current) {
        (Some(raw), Some(was)) if same(raw, was) => (was.to_string(), false),
        (Some(raw), _) => (forms::text(errors, field, raw, required, max, lines), true),
        (None, Some(was)) => (was.to_string(), false),
        (None, None) => {
            if required {
                errors.add(field, "This field is required.");
            }
            (String::new(), true)
        }
    }
}

/// Checks `changes` against `current` (`None`: a new credential) in organisation `org` at
/// `now`: the fields it changes, the role and APIs against the organisation's data, a new
/// expiry against `policy`. `Ok(Err(..))` holds the messages by field.
pub async fn resolve(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    current: Option<Current<'_>>,
    changes: &CredentialChanges,
    policy: &Policy,
    now: DateTime<Utc>,
) -> QueryResult<Result<Resolved, FieldErrors>> {
    let mut errors = FieldErrors::default();
    let was = current.map(|c| c.credential);
    let mut changed = Changed::default();
    let name = text(
        &mut errors,
        "name",
        changes.name.as_ref(),
        was.map(|c| c.name.as_str()),
        true,
        MAX_NAME,
        Lines::Single,
    );
    let description = text(
        &mut errors,
        "description",
        changes.description.as_ref(),
        Some(was.map_or("", |c| c.description.as_str())),
        false,
        MAX_DESCRIPTION,
        Lines::Multi,
    );
    (changed.name, changed.description) = (name.1, description.1);
    let owner_email = match (&changes.owner_email, was) {
        (Some(raw), Some(c)) if normalise_email(raw) == c.owner_email => c.owner_email.clone(),
        (Some(raw), _) => {
            changed.owner_email = true;
            forms::email(&mut errors, "owner_email", raw)
        }
        (None, Some(c)) => c.owner_email.clone(),
        (None, None) => forms::email(&mut errors, "owner_email", ""),
    };

    let (role, access_level, api_ids, access_changed) =
        access(conn, org, &mut errors, current, changes).await?;
    changed.access = access_changed;

    let networks = match &changes.allowed_ips {
        Some(nets) if nets.len() > MAX_ALLOWED_IPS => {
            errors.add(
                "allowed_ips",
                format!("Use at most {MAX_ALLOWED_IPS} entries."),
            );
            Vec::new()
        }
        Some(nets) => nets.clone(),
        None => was
            .map(|c| parse_networks(&c.allowed_ips).unwrap_or_default())
            .unwrap_or_default(),
    };
    let allowed_ips: Vec<String> = networks.iter().map(network_text).collect();
    changed.allowed_ips = was.is_none_or(|c| c.allowed_ips != allowed_ips);

    // A new credential without a choice never expires, if the policy allows that.
    let choice = changes.expiry.or(was.is_none().then_some(Expiry::Never));
    let expires_at = match (choice, was) {
        (None, Some(c)) => c.expires_at,
        (Some(choice), Some(c)) if choice.resolve(now) == c.expires_at => c.expires_at,
        (Some(choice), _) => {
            changed.expiry = true;
            checked_expiry(&mut errors, choice, policy, now)
        }
        (None, None) => None,
    };

    let before_scopes = was.map_or(&[][..], |c| c.management_scopes.as_slice());
    let management_scopes = match &changes.management_scopes {
        Some(chosen) => management::parse(chosen).unwrap_or_else(|message| {
            errors.add("management_scopes", message);
            before_scopes.to_vec()
        }),
        None => before_scopes.to_vec(),
    };
    changed.management_scopes = management_scopes != before_scopes;

    let token_lifetime = lifetime(&mut errors, changes.token_lifetime, was, policy);
    changed.token_lifetime =
        was.is_none_or(|c| c.token_lifetime_seconds != token_lifetime.seconds());

    Ok(match (role, access_level, errors.is_empty()) {
        (Some(role), Some(access_level), true) => Ok(Resolved {
            name: name.0,
            description: description.0,
            owner_email,
            role,
            access_level,
            api_ids,
            networks,
            allowed_ips,
            expires_at,
            management_scopes,
            token_lifetime,
            changed,
        }),
        _ => Err(errors),
    })
}

/// The role, access level and Fine Grained selection after `changes`, and whether any of them
/// changed; the selection is checked against the role only then.
async fn access(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    errors: &mut FieldErrors,
    current: Option<Current<'_>>,
    changes: &CredentialChanges,
) -> QueryResult<(Option<ApiRole>, Option<AccessLevel>, Vec<ApiId>, bool)> {
    let was = current.map(|c| c.credential);
    let role_id = changes.role_id.or(was.map(|c| c.role_id));
    let access_level = changes.access_level.or(was.map(|c| c.access_level));
    let before: BTreeSet<ApiId> = current
        .map(|c| c.selected.iter().copied().collect())
        .unwrap_or_default();
    let chosen: BTreeSet<ApiId> = match &changes.apis {
        Some(apis) => apis.iter().copied().collect(),
        None => before.clone(),
    };
    let fine_grained = access_level == Some(AccessLevel::FineGrained);
    let selection = if fine_grained {
        chosen
    } else {
        BTreeSet::new()
    };
    let changed = was.is_none_or(|c| {
        Some(c.role_id) != role_id || Some(c.access_level) != access_level || selection != before
    });
    if access_level.is_none() {
        errors.add("access_level", "Choose Full or Fine Grained.");
    }
    let role = match role_id {
        Some(id) => ApiRole::find_in_org(conn, org, id).await.optional()?,
        None => None,
    };
    let Some(role) = role else {
        errors.add("role_id", "Choose a role.");
        return Ok((None, access_level, Vec::new(), changed));
    };
    if changed && fine_grained {
        let allowed: BTreeSet<ApiId> = ApiRole::apis(conn, role.id)
            .await?
            .iter()
            .map(|a| a.id)
            .collect();
        if selection.is_empty() {
            errors.add("apis", "Choose at least one API, or give Full access.");
        } else if !selection.is_subset(&allowed) {
            errors.add("apis", "Choose only APIs that the selected role allows.");
        }
    }
    Ok((
        Some(role),
        access_level,
        selection.into_iter().collect(),
        changed,
    ))
}

/// The token lifetime after a change set: as it was when not chosen again (a lower maximum
/// already shortened it when it was saved), a new credential's default when nothing was
/// chosen (an hour, or the maximum if that is shorter), and a new choice only within the
/// organisation's maximum.
fn lifetime(
    errors: &mut FieldErrors,
    chosen: Option<TokenLifetime>,
    was: Option<&Credential>,
    policy: &Policy,
) -> TokenLifetime {
    let max = policy.max_token_lifetime;
    let current = was.map(|c| TokenLifetime::stored(c.token_lifetime_seconds));
    match (chosen, current) {
        (Some(choice), Some(current)) if choice == current => current,
        (Some(choice), _) if choice > max => {
            errors.add(
                "token_lifetime",
                format!(
                    "Your organisation's policy allows tokens to live at most {}.",
                    max.label()
                ),
            );
            choice
        }
        (Some(choice), _) => choice,
        (None, Some(current)) => current,
        (None, None) => TokenLifetime::DEFAULT.min(max),
    }
}

/// A newly chosen expiry: in the future, and within the organisation's maximum lifetime.
fn checked_expiry(
    errors: &mut FieldErrors,
    choice: Expiry,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if let Expiry::InDays(days) = choice
        && !(1..=MAX_DAYS).contains(&days)
    {
        errors.add("expiry", "Choose when it expires.");
        return None;
    }
    let at = choice.resolve(now);
    if at.is_some_and(|t| t <= now) {
        errors.add(choice.field(), "Choose a time in the future.");
        return at;
    }
    let (Some(latest), Some(days)) = (policy.latest_expiry(now), policy.max_lifetime_days) else {
        return at;
    };
    match at {
        None => errors.add(
            "expiry",
            format!("Your organisation's policy requires an expiry at most {days} days ahead."),
        ),
        Some(t) if t > latest => errors.add(
            choice.field(),
            format!(
                "Your organisation's policy allows at most {days} days: choose {} or earlier.",
                latest.format("%Y-%m-%d %H:%M UTC")
            ),
        ),
        Some(_) => {}
    }
    at
}
