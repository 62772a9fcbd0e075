//! What the create and edit form template needs: every field as typed, the messages, and the
//! roles to pick from. The checks themselves are the domain's (`credentials::draft`).

use crate::credentials::draft::CredentialDraft;
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
}

impl FormView {
    pub fn is_checked(&self, api: &ApiId) -> bool {
        let id = api.to_string();
        self.data.apis.iter().any(|a| a.trim() == id)
    }

    pub fn role_selected(&self, role: &RoleId) -> bool {
        self.data.role_id.trim() == role.to_string()
    }

    pub fn is_fine_grained(&self) -> bool {
        self.data.access_level == AccessLevel::FineGrained.as_str()
    }
}
