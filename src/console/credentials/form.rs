//! What the create and edit form template needs: every field as typed, the messages, and the
//! roles to pick from. The checks themselves are the domain's (`credentials::draft`).

use chrono::{DateTime, Duration, SecondsFormat, Utc};

use crate::credentials::draft::{CUSTOM, CredentialDraft, NEVER, PRESET_DAYS};
use crate::db::ids::{ApiId, RoleId};
use crate::db::models::api_role::ApiRoleWithApis;
use crate::db::models::credential::AccessLevel;
use crate::forms::FieldErrors;

/// What the form template shows: every field as typed, the messages, the roles to pick from.
pub struct FormView {
    pub data: CredentialDraft,
    pub errors: FieldErrors,
    /// A message about the whole form (the organisation is at its limit).
    pub form_error: Option<String>,
    pub roles: Vec<ApiRoleWithApis>,
    /// The expiry presets, each with the moment it means.
    pub expiry_choices: Vec<ExpiryChoice>,
    /// The organisation's maximum lifetime, when it has one.
    pub max_lifetime_days: Option<i32>,
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
    /// The choices as of `now` that an organisation with maximum lifetime `max_days` allows.
    pub fn all(now: DateTime<Utc>, max_days: Option<i32>) -> Vec<Self> {
        let mut choices = Vec::new();
        if max_days.is_none() {
            choices.push(Self {
                value: NEVER.into(),
                label: "Never".into(),
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

    pub fn is_fine_grained(&self) -> bool {
        self.data.access_level == AccessLevel::FineGrained.as_str()
    }
}
