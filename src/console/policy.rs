//! Settings → Credential policy (Super Admin): expiry defaults and limits, and staleness.
//! The change is `policy::update_policy`.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use askama::Template;

use crate::console::request::ConsoleRequest;
use crate::console::step_up::{Confirmable, Sensitive};
use crate::db::models::user::StaffRole;
use crate::domain_error::DomainError;
use crate::error::AppError;
use crate::forms::FieldErrors;
use crate::paths;
use crate::policy::{self, PolicyDraft, StaleAction};

const ACTION: &str = "change the organisation's policy";

#[derive(Template)]
#[template(path = "partials/policy_section.html")]
pub struct PolicySection {
    pub form: PolicyDraft,
    pub errors: FieldErrors,
    pub actions: [StaleAction; 3],
    pub csrf_token: String,
}

fn page(
    rq: &ConsoleRequest,
    status: StatusCode,
    form: PolicyDraft,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let content = PolicySection {
        form,
        errors,
        actions: StaleAction::ALL,
        csrf_token: rq.csrf_token()?,
    };
    rq.settings_page(status, ("Credential policy", paths::POLICY), None, content)
}

#[tracing::instrument(skip_all)]
pub async fn show_policy(rq: ConsoleRequest) -> Result<HttpResponse, AppError> {
    rq.require(StaffRole::SuperAdmin, ACTION)?;
    let policy = policy::load(&mut *rq.conn().await?, rq.user.org_id).await?;
    page(
        &rq,
        StatusCode::OK,
        PolicyDraft::of(&policy),
        FieldErrors::default(),
    )
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
    match policy::update_policy(&mut conn, &rq.actor(), &draft).await {
        Ok(saved) => {
            let form = PolicyDraft::of(&saved);
            rq.changed("Saved the credential policy.", paths::POLICY, async || {
                Ok(PolicySection {
                    form,
                    errors: FieldErrors::default(),
                    actions: StaleAction::ALL,
                    csrf_token: rq.csrf_token()?,
                })
            })
            .await
        }
        Err(DomainError::Invalid(errors)) => {
            page(&rq, StatusCode::UNPROCESSABLE_ENTITY, draft, errors)
        }
        Err(e) => Err(e.into()),
    }
}
