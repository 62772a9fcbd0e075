//! Settings → Account security: the signed-in user's own password (change it) and two-factor
//! sign-in (set up with a QR code and a confirming code, recovery codes shown once,
//! regenerate, turn off), with a link to their sessions. Open to every role, and the one
//! console page the enrolment guard always lets through. The changes are
//! `staff::password_change` and `staff::two_factor` operations.

use actix_web::HttpResponse;
use actix_web::http::{StatusCode, header};
use askama::Template;
use base64::Engine;
use serde::Deserialize;

use crate::console::request::ConsoleRequest;
use crate::db::models::two_factor::{self as rows, TwoFactor};
use crate::domain_error::DomainError;
use crate::error::AppError;
use crate::forms::FieldErrors;
use crate::html_form::HtmlForm;
use crate::paths;
use crate::staff::password_change::{self, Outcome, PasswordChange};
use crate::staff::two_factor::{self, RecoveryCodes};

#[derive(Template)]
#[template(path = "partials/account_security.html")]
pub struct AccountSecurity {
    pub enabled: bool,
    pub recovery_codes_left: i64,
    /// The organisation requires two-factor of this user and it is not on yet.
    pub required: bool,
    /// The key waiting to be confirmed: its QR code (as a `data:` URI) and its text form.
    pub qr_data_uri: Option<String>,
    pub key_base32: Option<String>,
    /// Fresh recovery codes, shown this once.
    pub recovery_codes: Vec<String>,
    pub errors: FieldErrors,
    pub csrf_token: String,
}

impl AccountSecurity {
    /// The key in groups of four ("JBSW Y3DP …"), as authenticator apps accept it and people
    /// copy it without losing their place.
    pub fn key_groups(&self, key: &str) -> String {
        let chars: Vec<char> = key.chars().collect();
        chars
            .chunks(4)
            .map(|group| group.iter().collect::<String>())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

async fn section(
    rq: &ConsoleRequest,
    recovery_codes: Option<RecoveryCodes>,
    errors: FieldErrors,
) -> Result<AccountSecurity, AppError> {
    let mut conn = rq.conn().await?;
    let row = TwoFactor::find(&mut conn, rq.user.id).await?;
    let enabled = row.as_ref().is_some_and(TwoFactor::enabled);
    let pending = two_factor::pending_enrolment(&mut conn, &rq.state.sealer, &rq.user).await?;
    let recovery_codes_left = if enabled {
        rows::recovery_codes_left(&mut conn, rq.user.id).await?
    } else {
        0
    };
    let required = TwoFactor::enrolment_required(&mut conn, rq.user.org_id, rq.user.id).await?
        && rq.user.role >= crate::db::models::user::StaffRole::Admin;
    let (qr_data_uri, key_base32) = match pending {
        Some(p) => (
            Some(format!(
                "data:image/svg+xml;base64,{}",
                base64::engine::general_purpose::STANDARD.encode(p.qr_svg.as_bytes())
            )),
            Some(p.key_base32),
        ),
        None => (None, None),
    };
    Ok(AccountSecurity {
        enabled,
        recovery_codes_left,
        required,
        qr_data_uri,
        key_base32,
        recovery_codes: recovery_codes.map(|c| c.0).unwrap_or_default(),
        errors,
        csrf_token: rq.csrf_token()?,
    })
}

/// The page (or for htmx its section); never cached, as it may show a key or codes.
fn page(
    rq: &ConsoleRequest,
    status: StatusCode,
    content: AccountSecurity,
) -> Result<HttpResponse, AppError> {
    let mut res = rq.settings_page(
        status,
        ("Account security", paths::ACCOUNT_SECURITY),
        None,
        content,
    )?;
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}

/// The page after an operation: with its recovery codes, or with its field errors.
async fn outcome(
    rq: &ConsoleRequest,
    result: Result<Option<RecoveryCodes>, DomainError>,
) -> Result<HttpResponse, AppError> {
    match result {
        Ok(codes) => {
            let content = section(rq, codes, FieldErrors::default()).await?;
            page(rq, StatusCode::OK, content)
        }
        Err(DomainError::Invalid(errors)) => {
            let content = section(rq, None, errors).await?;
            page(rq, StatusCode::UNPROCESSABLE_ENTITY, content)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct CodeData {
    #[serde(default)]
    code: String,
}

#[tracing::instrument(skip_all)]
pub async fn show_account_security(rq: ConsoleRequest) -> Result<HttpResponse, AppError> {
    let content = section(&rq, None, FieldErrors::default()).await?;
    page(&rq, StatusCode::OK, content)
}

#[tracing::instrument(skip_all)]
pub async fn start_two_factor_setup(rq: ConsoleRequest) -> Result<HttpResponse, AppError> {
    let mut conn = rq.conn().await?;
    two_factor::start_enrolment(&mut conn, &rq.state.sealer, &rq.actor()).await?;
    drop(conn);
    outcome(&rq, Ok(None)).await
}

#[tracing::instrument(skip_all)]
pub async fn confirm_two_factor(
    rq: ConsoleRequest,
    HtmlForm(form): HtmlForm<CodeData>,
) -> Result<HttpResponse, AppError> {
    let mut conn = rq.conn().await?;
    let result =
        two_factor::confirm_enrolment(&mut conn, &rq.state.sealer, &rq.actor(), &form.code).await;
    drop(conn);
    outcome(&rq, result.map(Some)).await
}

#[tracing::instrument(skip_all)]
pub async fn regenerate_recovery_codes(
    rq: ConsoleRequest,
    HtmlForm(form): HtmlForm<CodeData>,
) -> Result<HttpResponse, AppError> {
    let mut conn = rq.conn().await?;
    let result =
        two_factor::regenerate_recovery_codes(&mut conn, &rq.state.sealer, &rq.actor(), &form.code)
            .await;
    drop(conn);
    outcome(&rq, result.map(Some)).await
}

#[tracing::instrument(skip_all)]
pub async fn disable_two_factor(
    rq: ConsoleRequest,
    HtmlForm(form): HtmlForm<CodeData>,
) -> Result<HttpResponse, AppError> {
    let mut conn = rq.conn().await?;
    let result = two_factor::disable(&mut conn, &rq.state.sealer, &rq.actor(), &form.code).await;
    drop(conn);
    outcome(&rq, result.map(|()| None)).await
}

/// Changes the user's own password; the other sessions end, this one stays. The typed
/// passwords are never put back into the form.
#[tracing::instrument(skip_all)]
pub async fn change_password(
    rq: ConsoleRequest,
    HtmlForm(form): HtmlForm<PasswordChange>,
) -> Result<HttpResponse, AppError> {
    let current = rq.session.origin().map(|o| o.id);
    let (pool, argon2) = (&rq.state.pool, &rq.state.argon2);
    let result =
        password_change::change_password(pool, argon2, &rq.actor(), current.as_deref(), form).await;
    match result {
        Ok(Outcome::Changed(ended)) if ended.current_ended => {
            // This session predates sessions knowing their origin: it ended with the rest.
            rq.session.log_out();
            Ok(rq.redirect(paths::LOGIN))
        }
        Ok(Outcome::Changed(ended)) => {
            let message = match ended.count {
                0 => "Password changed.".to_string(),
                1 => "Password changed. 1 other session was signed out.".to_string(),
                n => format!("Password changed. {n} other sessions were signed out."),
            };
            rq.changed(&message, paths::ACCOUNT_SECURITY, async || {
                section(&rq, None, FieldErrors::default()).await
            })
            .await
        }
        Ok(Outcome::Throttled(secs)) => Err(AppError::TooManyRequests {
            retry_after_secs: secs,
        }),
        Ok(Outcome::Busy) => Err(AppError::Unavailable("every argon2 slot is busy".into())),
        Err(e) => outcome(&rq, Err(e)).await,
    }
}
