//! A credential's fields as given, and the checks that make them a valid credential: name,
//! description, owner email, role and access level (with the Fine Grained selection among the
//! role's APIs), allowed IPs and expiry. The role and APIs are checked against the
//! organisation's data, so this runs under the organisation lock in the operations.

use std::collections::BTreeSet;
use std::net::IpAddr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::{OptionalExtension, QueryResult};
use diesel_async::AsyncPgConnection;
use ipnet::IpNet;
use serde::Deserialize;

use crate::db::ids::{ApiId, OrgId, RoleId};
use crate::db::models::api_role::ApiRole;
use crate::db::models::credential::{AccessLevel, Credential, CredentialSettings};
use crate::forms::{self, FieldErrors};
use crate::input::Lines;
use crate::policy::Policy;

pub const MAX_ALLOWED_IPS: usize = 50;
/// The expiry presets, in days.
pub const PRESET_DAYS: [i64; 3] = [30, 90, 365];
pub const NEVER: &str = "never";
pub const CUSTOM: &str = "custom";

/// A credential as a form or a request gives it: every field as typed (names fixed by the
/// product spec).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct CredentialDraft {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub owner_email: String,
    #[serde(default)]
    pub role_id: String,
    #[serde(default)]
    pub access_level: String,
    #[serde(default)]
    pub apis: Vec<String>,
    #[serde(default)]
    pub allowed_ips: String,
    /// `never`, `30`, `90`, `365` (days from now) or `custom` (then `expires_at`); empty: as
    /// `expires_at` says (a form from before the presets).
    #[serde(default)]
    pub expiry: String,
    #[serde(default)]
    pub expires_at: String,
    /// Hidden: minted when the create form is shown, so a double submit creates one credential.
    #[serde(default)]
    pub creation_key: String,
    /// Management access: only a Super Admin's form shows it.
    #[serde(default)]
    pub management_scopes: Vec<String>,
}

impl CredentialDraft {
    /// The form pre-filled from an existing credential (Edit).
    pub fn from_credential(c: &Credential, selected: &[ApiId]) -> Self {
        Self {
            name: c.name.clone(),
            description: c.description.clone(),
            owner_email: c.owner_email.clone(),
            role_id: c.role_id.to_string(),
            access_level: c.access_level.as_str().into(),
            apis: selected.iter().map(ToString::to_string).collect(),
            allowed_ips: c.allowed_ips.join("\n"),
            expiry: if c.expires_at.is_some() {
                CUSTOM
            } else {
                NEVER
            }
            .into(),
            expires_at: c
                .expires_at
                .map(|t| t.format("%Y-%m-%dT%H:%M").to_string())
                .unwrap_or_default(),
            creation_key: String::new(),
            management_scopes: c.management_scopes.clone(),
        }
    }
}

/// A form that passed every check.
#[derive(Debug, Clone)]
pub struct ValidCredential {
    pub name: String,
    pub description: String,
    pub owner_email: String,
    pub role: ApiRole,
    pub access_level: AccessLevel,
    /// The Fine Grained selection (empty for Full).
    pub api_ids: Vec<ApiId>,
    pub allowed_ips: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub management_scopes: Vec<String>,
}

/// Checks every field; the role and APIs against this organisation's data.
impl ValidCredential {
    /// What the credential row takes from the form, as of `now`.
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
            updated_at: now,
        }
    }
}

pub async fn validate(
    conn: &mut AsyncPgConnection,
    org: OrgId,
    data: &CredentialDraft,
    now: DateTime<Utc>,
) -> QueryResult<Result<ValidCredential, FieldErrors>> {
    let mut errors = FieldErrors::default();
    let name = forms::text(&mut errors, "name", &data.name, true, 100, Lines::Single);
    let description = forms::text(
        &mut errors,
        "description",
        &data.description,
        false,
        500,
        Lines::Multi,
    );
    let owner_email = forms::email(&mut errors, "owner_email", &data.owner_email);

    let access_level = AccessLevel::parse(data.access_level.trim());
    if access_level.is_none() {
        errors.add("access_level", "Choose Full or Fine Grained.");
    }

    let role = match data.role_id.trim().parse::<RoleId>() {
        Ok(id) => ApiRole::find_in_org(conn, org, id).await.optional()?,
        Err(_) => None,
    };
    let api_ids = match &role {
        None => {
            errors.add("role_id", "Choose a role.");
            Vec::new()
        }
        Some(role) if access_level == Some(AccessLevel::FineGrained) => {
            let allowed = ApiRole::apis(conn, role.id).await?;
            fine_grained_selection(&mut errors, &data.apis, &allowed)
        }
        Some(_) => Vec::new(),
    };

    let allowed_ips = parse_allowed_ips(&data.allowed_ips).unwrap_or_else(|message| {
        errors.add("allowed_ips", message);
        Vec::new()
    });
    let policy = crate::policy::load(conn, org).await?;
    let expires_at = chosen_expiry(&mut errors, data, now, &policy);
    let management_scopes = crate::credentials::management::parse(&data.management_scopes)
        .unwrap_or_else(|message| {
            errors.add("management_scopes", message);
            Vec::new()
        });

    Ok(match (role, access_level, errors.is_empty()) {
        (Some(role), Some(access_level), true) => Ok(ValidCredential {
            name,
            description,
            owner_email,
            role,
            access_level,
            api_ids,
            allowed_ips,
            expires_at,
            management_scopes,
        }),
        _ => Err(errors),
    })
}

/// The Fine Grained selection: only APIs the role allows, and at least one.
fn fine_grained_selection(
    errors: &mut FieldErrors,
    chosen: &[String],
    allowed: &[crate::db::models::api::Api],
) -> Vec<ApiId> {
    let allowed: BTreeSet<ApiId> = allowed.iter().map(|a| a.id).collect();
    let chosen: BTreeSet<String> = chosen.iter().map(|s| s.trim().to_string()).collect();
    if chosen.is_empty() {
        errors.add("apis", "Choose at least one API, or give Full access.");
    }
    let mut ids = Vec::new();
    for raw in &chosen {
        match raw.parse::<ApiId>() {
            Ok(id) if allowed.contains(&id) => ids.push(id),
            _ => errors.add("apis", "Choose only APIs that the selected role allows."),
        }
    }
    ids
}

/// The expiry the form chose (a preset, a date, or never), within the organisation's maximum.
fn chosen_expiry(
    errors: &mut FieldErrors,
    data: &CredentialDraft,
    now: DateTime<Utc>,
    policy: &Policy,
) -> Option<DateTime<Utc>> {
    let date_given = !data.expires_at.trim().is_empty();
    let expiry = match data.expiry.trim() {
        "" if !date_given => None,
        "" => future_expiry(errors, &data.expires_at, now),
        CUSTOM if !date_given => {
            errors.add("expires_at", "Enter the date and time it expires.");
            return None;
        }
        CUSTOM => future_expiry(errors, &data.expires_at, now),
        NEVER => None,
        preset => match preset.parse::<i64>() {
            Ok(days) if PRESET_DAYS.contains(&days) => Some(now + chrono::Duration::days(days)),
            _ => {
                errors.add("expiry", "Choose when it expires.");
                return None;
            }
        },
    };
    let (Some(latest), Some(days)) = (policy.latest_expiry(now), policy.max_lifetime_days) else {
        return expiry;
    };
    let field = if data.expiry.trim() == CUSTOM || data.expiry.trim().is_empty() && date_given {
        "expires_at"
    } else {
        "expiry"
    };
    match expiry {
        None if errors.get("expires_at").is_none() => errors.add(
            "expiry",
            format!("Your organisation's policy requires an expiry at most {days} days ahead."),
        ),
        Some(t) if t > latest => errors.add(
            field,
            format!(
                "Your organisation's policy allows at most {days} days: choose {} or earlier.",
                latest.format("%Y-%m-%d %H:%M UTC")
            ),
        ),
        _ => {}
    }
    expiry
}

/// The expiry, which must be in the future when given.
fn future_expiry(
    errors: &mut FieldErrors,
    text: &str,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    match parse_expiry(text) {
        Ok(Some(t)) if t <= now => {
            errors.add("expires_at", "Choose a time in the future.");
            None
        }
        Ok(t) => t,
        Err(message) => {
            errors.add("expires_at", message);
            None
        }
    }
}

/// One address or CIDR block per line (commas also separate). Blocks are normalised to
/// their network address (`10.1.2.3/8` → `10.0.0.0/8`), single hosts shown bare,
/// duplicates dropped, order kept.
pub fn parse_allowed_ips(text: &str) -> Result<Vec<String>, String> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (index, raw) in text.split(['\n', ',']).enumerate() {
        let entry = raw.trim();
        if entry.is_empty() {
            continue;
        }
        let net = if entry.contains('/') {
            entry.parse::<IpNet>().map(|n| n.trunc()).ok()
        } else {
            entry.parse::<IpAddr>().map(IpNet::from).ok()
        }
        .ok_or_else(|| {
            let shown: String = entry.chars().take(60).collect();
            format!("Entry {} (“{shown}”) is not an IP address or CIDR block, such as 203.0.113.7 or 10.0.0.0/24.", index + 1)
        })?;
        let canonical = if net.prefix_len() == net.max_prefix_len() {
            net.addr().to_string()
        } else {
            net.to_string()
        };
        if seen.insert(canonical.clone()) {
            out.push(canonical);
        }
    }
    if out.len() > MAX_ALLOWED_IPS {
        return Err(format!(
            "Use at most {MAX_ALLOWED_IPS} entries (there are {}).",
            out.len()
        ));
    }
    Ok(out)
}

/// `YYYY-MM-DDTHH:MM[:SS]` (what `<input type=datetime-local>` sends) or a date alone
/// (end of that day), read as UTC. Empty means no expiry.
pub fn parse_expiry(text: &str) -> Result<Option<DateTime<Utc>>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let bad = || "Enter a date and time such as 2027-01-31T17:00 (UTC).".to_string();
    if text.len() > 32 {
        return Err(bad());
    }
    for format in [
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d %H:%M:%S",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(Some(t.and_utc()));
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(23, 59, 59))
        .map(|t| Some(t.and_utc()))
        .ok_or_else(bad)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn allowed_ips_are_normalised_and_deduplicated() {
        let list = parse_allowed_ips(" 203.0.113.7\n10.1.2.3/8\n\n10.0.0.0/8, 2001:db8::1/128\n203.0.113.7/32\n::ffff:0:0/96").unwrap();
        assert_eq!(
            list,
            [
                "203.0.113.7",
                "10.0.0.0/8",
                "2001:db8::1",
                "::ffff:0.0.0.0/96"
            ]
        );
        assert_eq!(parse_allowed_ips("").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn bad_allowed_ips_name_the_entry() {
        let err = parse_allowed_ips("10.0.0.1\n10.0.0.0/33").unwrap_err();
        assert!(
            err.contains("Entry 2") && err.contains("10.0.0.0/33"),
            "{err}"
        );
        assert!(parse_allowed_ips("300.1.1.1").is_err());
        assert!(parse_allowed_ips("example.com").is_err());
        let many: String = (0..51).map(|i| format!("10.0.{i}.1\n")).collect();
        assert!(parse_allowed_ips(&many).unwrap_err().contains("at most 50"));
    }

    #[test]
    fn expiry_accepts_the_browser_format_and_dates() {
        assert_eq!(parse_expiry("").unwrap(), None);
        assert_eq!(
            parse_expiry("2027-01-31T17:00")
                .unwrap()
                .unwrap()
                .to_rfc3339(),
            "2027-01-31T17:00:00+00:00"
        );
        assert_eq!(
            parse_expiry("2027-01-31").unwrap().unwrap().to_rfc3339(),
            "2027-01-31T23:59:59+00:00"
        );
        assert!(parse_expiry("31/01/2027").is_err());
        assert!(parse_expiry("2027-02-30T10:00").is_err());
    }
}
