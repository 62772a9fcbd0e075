//! The create and edit form: every field as typed (kept to show again with the messages),
//! and its parsing into the domain's typed input. An edit is read as a change set: an expiry
//! the form shows to the minute and that comes back untouched is no change, seconds and all.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::Deserialize;

use crate::credentials::input::{
    CredentialChanges, Expiry, NewCredential, PRESET_DAYS, TokenLifetime, expiry_field_text,
    parse_allowed_ips, parse_expiry_text,
};
use crate::db::ids::{ApiId, RoleId};
use crate::db::models::api_role::ApiRoleWithApis;
use crate::db::models::credential::{AccessLevel, Credential};
use crate::forms::FieldErrors;

pub const NEVER: &str = "never";
pub const CUSTOM: &str = "custom";

/// A credential as the form gives it: every field as typed (names fixed by the product spec).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct CredentialFormData {
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
    /// Seconds, one of `TokenLifetime::ALL`; empty: as it is (a new one: the default).
    #[serde(default)]
    pub token_lifetime: String,
}

impl CredentialFormData {
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
            expires_at: c.expires_at.map(expiry_field_text).unwrap_or_default(),
            creation_key: String::new(),
            management_scopes: c.management_scopes.clone(),
            token_lifetime: c.token_lifetime_seconds.to_string(),
        }
    }

    /// A new credential, and what the form's own input got wrong (then some fields are
    /// missing from it).
    pub fn new_credential(&self) -> (NewCredential, FieldErrors) {
        let (settings, errors) = self.parsed(true);
        let creation_key = self.creation_key.trim().parse::<uuid::Uuid>().ok();
        let input = NewCredential {
            settings,
            creation_key,
        };
        (input, errors)
    }

    /// The change set this form makes to `current`, and what the form's own input got wrong
    /// (those fields are then left out). `management`: the form offered management access.
    pub fn changes(
        &self,
        current: &Credential,
        management: bool,
    ) -> (CredentialChanges, FieldErrors) {
        let (mut changes, errors) = self.parsed(management);
        // The date field shows minutes: the same minute back is the expiry as it is.
        if let (Some(Expiry::At(at)), Some(was)) = (changes.expiry, current.expires_at)
            && parse_expiry_text(&expiry_field_text(was)).ok() == Some(at)
        {
            changes.expiry = None;
        }
        (changes, errors)
    }

    fn parsed(&self, management: bool) -> (CredentialChanges, FieldErrors) {
        let mut errors = FieldErrors::default();
        let role_id = self.role_id.trim().parse::<RoleId>().ok();
        if role_id.is_none() {
            errors.add("role_id", "Choose a role.");
        }
        let access_level = AccessLevel::parse(self.access_level.trim());
        if access_level.is_none() {
            errors.add("access_level", "Choose Full or Fine Grained.");
        }
        // The picker's boxes count only for Fine Grained access; otherwise they are ignored,
        // whatever they hold.
        let apis: Option<Vec<ApiId>> = if access_level == Some(AccessLevel::FineGrained) {
            self.apis
                .iter()
                .map(|raw| raw.trim().parse::<ApiId>().ok())
                .collect()
        } else {
            Some(Vec::new())
        };
        if apis.is_none() {
            errors.add("apis", "Choose only APIs that the selected role allows.");
        }
        let allowed_ips = parse_allowed_ips(&self.allowed_ips)
            .map_err(|message| errors.add("allowed_ips", message))
            .ok();
        let expiry = self.expiry(&mut errors);
        let token_lifetime = match self.token_lifetime.trim() {
            "" => None,
            raw => {
                let parsed = TokenLifetime::parse(raw);
                if parsed.is_none() {
                    errors.add("token_lifetime", "Choose one of the token lifetimes.");
                }
                parsed
            }
        };
        // An Admin's form has no such boxes; any sent anyway are judged (and refused).
        let management = management || !self.management_scopes.is_empty();
        let changes = CredentialChanges {
            name: Some(self.name.clone()),
            description: Some(self.description.clone()),
            owner_email: Some(self.owner_email.clone()),
            role_id,
            access_level,
            apis,
            allowed_ips,
            expiry,
            management_scopes: management.then(|| self.management_scopes.clone()),
            token_lifetime,
        };
        (changes, errors)
    }

    /// The expiry chosen: a preset, a date, or never.
    fn expiry(&self, errors: &mut FieldErrors) -> Option<Expiry> {
        let date_given = !self.expires_at.trim().is_empty();
        match self.expiry.trim() {
            "" if !date_given => Some(Expiry::Never),
            "" | CUSTOM if !date_given => {
                errors.add("expires_at", "Enter the date and time it expires.");
                None
            }
            "" | CUSTOM => parse_expiry_text(&self.expires_at)
                .map(Expiry::At)
                .map_err(|message| errors.add("expires_at", message))
                .ok(),
            NEVER => Some(Expiry::Never),
            preset => match preset.parse::<i64>() {
                Ok(days) if PRESET_DAYS.contains(&days) => Some(Expiry::InDays(days)),
                _ => {
                    errors.add("expiry", "Choose when it expires.");
                    None
                }
            },
        }
    }
}

/// What the form template shows: every field as typed, the messages, the roles to pick from.
pub struct FormView {
    pub data: CredentialFormData,
    pub errors: FieldErrors,
    /// A message about the whole form (the organisation is at its limit).
    pub form_error: Option<String>,
    pub roles: Vec<ApiRoleWithApis>,
    /// The expiry presets, each with the moment it means.
    pub expiry_choices: Vec<ExpiryChoice>,
    /// The organisation's maximum lifetime, when it has one.
    pub max_lifetime_days: Option<i32>,
    /// The token lifetimes the organisation's maximum allows.
    pub token_lifetimes: Vec<TokenLifetime>,
    /// Whether the form offers management access (a Super Admin's form only).
    pub offer_management: bool,
}

/// One expiry preset: its form value, its label and the moment it means (UTC for people,
/// ISO 8601 for the script that adds the viewer's local time).
pub struct ExpiryChoice {
    pub value: String,
    pub label: String,
    pub utc: Option<String>,
    pub iso: Option<String>,
}

impl ExpiryChoice {
    /// The choices as of `now` that an organisation with maximum lifetime `max_days` allows;
    /// `never_now`: the credential edited never expires, so keeping that is offered anyway.
    pub fn all(now: DateTime<Utc>, max_days: Option<i32>, never_now: bool) -> Vec<Self> {
        let mut choices = Vec::new();
        if max_days.is_none() || never_now {
            choices.push(Self {
                value: NEVER.into(),
                label: if max_days.is_some() {
                    "Never (as now)"
                } else {
                    "Never"
                }
                .into(),
                utc: None,
                iso: None,
            });
        }
        let allowed = |days: i64| max_days.is_none_or(|max| days <= i64::from(max));
        for days in PRESET_DAYS.into_iter().filter(|d| allowed(*d)) {
            let at = now + Duration::days(days);
            choices.push(Self {
                value: days.to_string(),
                label: format!("In {days} days"),
                utc: Some(at.format("%Y-%m-%d %H:%M UTC").to_string()),
                iso: Some(at.to_rfc3339_opts(SecondsFormat::Secs, true)),
            });
        }
        choices.push(Self {
            value: CUSTOM.into(),
            label: "On a date and time I choose".into(),
            utc: None,
            iso: None,
        });
        choices
    }
}

impl FormView {
    pub fn is_checked(&self, api: &ApiId) -> bool {
        let id = api.to_string();
        self.data.apis.iter().any(|a| a.trim() == id)
    }

    pub fn role_selected(&self, role: &RoleId) -> bool {
        self.data.role_id.trim() == role.to_string()
    }

    /// Whether the expiry preset `value` is the one chosen (a form from before the presets
    /// chose by its date alone).
    pub fn expiry_selected(&self, value: &str) -> bool {
        match self.data.expiry.trim() {
            "" if self.data.expires_at.trim().is_empty() => value == NEVER,
            "" => value == CUSTOM,
            chosen => chosen == value,
        }
    }

    /// The management scopes with what each allows, for the checkboxes.
    pub fn management_scopes(&self) -> &'static [(&'static str, &'static str)] {
        &crate::credentials::management::SCOPES
    }

    pub fn has_management_scope(&self, scope: &str) -> bool {
        self.data
            .management_scopes
            .iter()
            .any(|s| s.trim() == scope)
    }

    /// Whether `lifetime` is the one chosen (nothing chosen: the default).
    pub fn token_lifetime_selected(&self, lifetime: &TokenLifetime) -> bool {
        match self.data.token_lifetime.trim() {
            "" => *lifetime == TokenLifetime::DEFAULT,
            chosen => chosen == lifetime.seconds().to_string(),
        }
    }

    pub fn is_fine_grained(&self) -> bool {
        self.data.access_level == AccessLevel::FineGrained.as_str()
    }
}
