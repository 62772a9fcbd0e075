//! Accepting an invitation: its one-time link shows the invitee a form to choose their
//! password; submitting it creates their account, signs them in and, where the organisation
//! asks for two-factor, takes them to set it up. Before anyone is signed in, like the
//! first-run setup: the form's CSRF token is a double submit, and showing it stores nothing.
//! The checking is `staff::invitations`'.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::app_state::AppState;
use crate::auth::csrf::public_form_page;
use crate::client_ip::RequestMeta;
use crate::db::models::invitation::Invitation;
use crate::db::models::two_factor::TwoFactor;
use crate::db::models::user::StaffRole;
use crate::domain_error::DomainError;
use crate::error::AppError;
use crate::forms::FieldErrors;
use crate::html_form::HtmlForm;
use crate::paths;
use crate::render::render_template;
use crate::session::TypedSession;
use crate::staff::invitations::{self, Acceptance, Accepted, Opened};
use crate::staff::sessions::SignInOrigin;
use crate::views::error_page;

const LINK_INVALID: &str = "This invitation link is not valid: it has been used, revoked or replaced by a newer one, or it has expired. Ask the person who invited you to send it again.";
const ADDRESS_TAKEN: &str = "This email address already has a staff account of this console, and an address can belong to one organisation only. Sign in with that account, or ask the person who invited you to invite another address.";
const BUSY: &str = "Many people are signing in right now. Try again in a moment.";

#[derive(Template)]
#[template(path = "pages/invitation.html")]
pub struct InvitationForm {
    pub csrf_token: String,
    pub token: String,
    pub org_name: String,
    pub email: String,
    pub role: StaffRole,
    pub errors: FieldErrors,
}

#[derive(Deserialize)]
pub struct InvitationQuery {
    #[serde(default)]
    token: String,
}

fn refusal(status: StatusCode, title: &str, message: &str) -> Result<HttpResponse, AppError> {
    let mut res = render_template(status, &error_page(title, message))?;
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}

fn invalid_link() -> Result<HttpResponse, AppError> {
    refusal(StatusCode::NOT_FOUND, "Invitation not valid", LINK_INVALID)
}

fn address_taken() -> Result<HttpResponse, AppError> {
    refusal(
        StatusCode::CONFLICT,
        "Address already in use",
        ADDRESS_TAKEN,
    )
}

/// The form, with its double-submit CSRF token (and cookie, when new); never cached, as it
/// carries the link's token.
fn form_page(
    req: &HttpRequest,
    state: &AppState,
    status: StatusCode,
    form: impl FnOnce(String) -> InvitationForm,
) -> Result<HttpResponse, AppError> {
    public_form_page(req, state, status, ("Accept your invitation", true), form)
}

fn form_of(
    invitation: Invitation,
    org_name: String,
    token: String,
    errors: FieldErrors,
) -> impl FnOnce(String) -> InvitationForm {
    move |csrf_token| InvitationForm {
        csrf_token,
        token,
        org_name,
        email: invitation.email,
        role: invitation.role,
        errors,
    }
}

#[tracing::instrument(skip_all)]
pub async fn invitation_form(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<InvitationQuery>,
) -> Result<HttpResponse, AppError> {
    let mut conn = state.pool.get().await?;
    let token = query.into_inner().token;
    match invitations::open(&mut conn, &token, state.clock.now()).await? {
        Opened::Usable(invitation, org_name) => {
            let form = form_of(invitation, org_name, token, FieldErrors::default());
            form_page(&req, &state, StatusCode::OK, form)
        }
        Opened::Invalid => invalid_link(),
        Opened::AddressTaken => address_taken(),
    }
}

#[tracing::instrument(skip_all)]
pub async fn accept_invitation(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: TypedSession,
    HtmlForm(form): HtmlForm<Acceptance>,
) -> Result<HttpResponse, AppError> {
    let meta = RequestMeta::from_request(&req, &state.settings.trusted_proxies);
    let now = state.clock.now();
    let token = form.token.clone();
    match invitations::accept(&state.pool, &state.argon2, form, &meta, now).await {
        Ok(Accepted::Created(user)) => {
            session.log_in(user.id, &SignInOrigin::new(&meta, now)?)?;
            let mut conn = state.pool.get().await?;
            let enrol = user.role >= StaffRole::Admin
                && TwoFactor::enrolment_required(&mut conn, user.org_id, user.id).await?;
            let next = if enrol {
                paths::ACCOUNT_SECURITY
            } else {
                paths::M2M
            };
            Ok(HttpResponse::SeeOther()
                .insert_header((header::LOCATION, next))
                .finish())
        }
        Ok(Accepted::Invalid) => invalid_link(),
        Ok(Accepted::AddressTaken) => address_taken(),
        Ok(Accepted::Busy) => {
            let mut res = refusal(StatusCode::SERVICE_UNAVAILABLE, "Busy", BUSY)?;
            res.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(1));
            Ok(res)
        }
        Err(DomainError::Invalid(errors)) => {
            let mut conn = state.pool.get().await?;
            match invitations::open(&mut conn, &token, now).await? {
                Opened::Usable(invitation, org_name) => {
                    let form = form_of(invitation, org_name, token, errors);
                    form_page(&req, &state, StatusCode::UNPROCESSABLE_ENTITY, form)
                }
                Opened::Invalid => invalid_link(),
                Opened::AddressTaken => address_taken(),
            }
        }
        Err(e) => Err(e.into()),
    }
}
