//! Settings → Credential policy (Super Admin): expiry defaults and limits, and staleness.
//! The change is `policy::update_policy`.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use askama::Template;

use crate::console::request::ConsoleRequest;
use crate::console::step_up::{Confirmable, Sensitive};
use crate::credentials::input::TokenLifetime;
use crate::db::models::user::StaffRole;
use crate::domain_error::DomainError;
use crate::error::AppError;
use crate::forms::FieldErrors;
use crate::paths;
use crate::policy::StaleCandidate;
use crate::policy::{self, PolicyDraft, PolicySaved, StaleAction};

const ACTION: &str = "change the organisation's policy";

#[derive(Template)]
#[template(path = "partials/policy_section.html")]
pub struct PolicySection {
    pub form: PolicyDraft,
    pub errors: FieldErrors,
    pub actions: [StaleAction; 3],
    /// The token lifetimes a maximum may be.
    pub lifetimes: [TokenLifetime; 5],
    pub csrf_token: String,
    /// What the policy as typed would disable at once: shown, to be confirmed, before saving.
    pub preview: Vec<StaleCandidate>,
}

impl PolicySection {
    fn new(rq: &ConsoleRequest, form: PolicyDraft, errors: FieldErrors) -> Result<Self, AppError> {
        Ok(Self {
            form,
            errors,
            actions: StaleAction::ALL,
            lifetimes: TokenLifetime::ALL,
            csrf_token: rq.csrf_token()?,
            preview: Vec::new(),
        })
    }

    /// The hidden fields that send the policy as typed again with the confirmation.
    /// Whether `lifetime` is the maximum as typed (nothing typed: the longest).
    pub fn max_lifetime_selected(&self, lifetime: &TokenLifetime) -> bool {
        let typed = self.form.max_token_lifetime_seconds.trim();
        match typed {
            "" => *lifetime == TokenLifetime::LONGEST,
            _ => typed == lifetime.seconds().to_string(),
        }
    }

    pub fn typed_fields(&self) -> Vec<(&'static str, &str)> {
        let f = &self.form;
        let mut fields = vec![
            ("default_lifetime_days", f.default_lifetime_days.as_str()),
            ("max_lifetime_days", f.max_lifetime_days.as_str()),
            ("expires_soon_days", f.expires_soon_days.as_str()),
            ("stale_after_days", f.stale_after_days.as_str()),
            ("stale_action", f.stale_action.as_str()),
            (
                "max_token_lifetime_seconds",
                f.max_token_lifetime_seconds.as_str(),
            ),
        ];
        if let Some(on) = &f.require_two_factor {
            fields.push(("require_two_factor", on.as_str()));
        }
        fields
    }
}

fn page(
    rq: &ConsoleRequest,
    status: StatusCode,
    content: PolicySection,
) -> Result<HttpResponse, AppError> {
    rq.settings_page(status, ("Credential policy", paths::POLICY), None, content)
}

#[tracing::instrument(skip_all)]
pub async fn show_policy(rq: ConsoleRequest) -> Result<HttpResponse, AppError> {
    rq.require(StaffRole::SuperAdmin, ACTION)?;
    let policy = policy::load(&mut *rq.conn().await?, rq.user.org_id).await?;
    let content = PolicySection::new(&rq, PolicyDraft::of(&policy), FieldErrors::default())?;
    page(&rq, StatusCode::OK, content)
}

#[tracing::instrument(skip_all)]
pub async fn update_policy(
    rq: ConsoleRequest,
    mut form: Confirmable<PolicyDraft>,
) -> Result<HttpResponse, AppError> {
    rq.require(StaffRole::SuperAdmin, ACTION)?;
    let sensitive = Sensitive {
        what: "change the organisation's policy",
        cancel: paths::POLICY,
    };
    if let Some(dialog) = rq.step_up(&mut form, sensitive).await? {
        return Ok(dialog);
    }
    let draft = form.form;
    let mut conn = rq.conn().await?;
    let (saved, message) = match policy::update_policy(&mut conn, &rq.actor(), &draft).await {
        Ok(PolicySaved::Changed(saved)) => (saved, "Saved the credential policy."),
        Ok(PolicySaved::Unchanged(saved)) => (saved, "No changes to the credential policy."),
        Ok(PolicySaved::Confirm(_, preview)) => {
            let mut content = PolicySection::new(&rq, draft, FieldErrors::default())?;
            content.preview = preview;
            return page(&rq, StatusCode::OK, content);
        }
        Err(DomainError::Invalid(errors)) => {
            let content = PolicySection::new(&rq, draft, errors)?;
            return page(&rq, StatusCode::UNPROCESSABLE_ENTITY, content);
        }
        Err(e) => return Err(e.into()),
    };
    let form = PolicyDraft::of(&saved);
    rq.changed(message, paths::POLICY, async || {
        PolicySection::new(&rq, form, FieldErrors::default())
    })
    .await
}
