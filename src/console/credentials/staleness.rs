//! "Exempt from staleness" on a credential's page: an Admin keeps a credential that is
//! rarely used on purpose (a break-glass one) from being flagged or disabled as unused. The
//! operation is the domain's (`credentials::stale::set_stale_exempt`).

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::catalog::Saved;
use crate::console::credentials::changed;
use crate::console::request::ConsoleRequest;
use crate::credentials::stale;
use crate::db::ids::CredentialId;
use crate::error::AppError;
use crate::html_form::HtmlForm;
use crate::paths;

/// The form: `exempt=yes` to exempt, `exempt=no` to end the exemption.
#[derive(Debug, Default, Deserialize)]
pub struct ExemptionForm {
    #[serde(default)]
    exempt: String,
}

#[tracing::instrument(skip_all, fields(credential_id = %path))]
pub async fn set_stale_exemption(
    rq: ConsoleRequest,
    path: web::Path<CredentialId>,
    HtmlForm(form): HtmlForm<ExemptionForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let exempt = match form.exempt.trim() {
        "yes" => true,
        "no" => false,
        _ => return Err(AppError::BadRequest("Say whether it is exempt.".into())),
    };
    let mut conn = rq.conn().await?;
    let (c, saved) = stale::set_stale_exempt(&mut conn, &rq.actor(), id, exempt).await?;
    let message = match (saved, exempt) {
        (Saved::Unchanged, _) => format!("No changes to “{}”.", c.name),
        (Saved::Changed, true) => format!(
            "“{}” is exempt from staleness: never flagged or disabled as unused.",
            c.name
        ),
        (Saved::Changed, false) => format!("“{}” is no longer exempt from staleness.", c.name),
    };
    changed(&rq, &mut conn, &message, &paths::credential(c.id), Some(c)).await
}
