//! Step-up before sensitive actions: unless the user authenticated within `WINDOW`, the
//! action answers with "Confirm it's you" instead of acting. That dialog (a page without
//! JavaScript) carries the submitted form in hidden fields and posts it, with the password
//! and code, to the same action, which then goes on as if it had not been interrupted: one
//! request, so nothing is lost and nothing is done twice.

use actix_web::dev::Payload;
use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::Duration;
use secrecy::SecretString;
use serde::de::DeserializeOwned;

use crate::console::request::ConsoleRequest;
use crate::error::AppError;
use crate::staff::reauth::{self, Proof, Reauth};
use crate::staff::two_factor;
use crate::views::Crumb;

/// How long an authentication lets sensitive actions through without asking again.
pub const WINDOW: Duration = Duration::minutes(10);
const PASSWORD_FIELD: &str = "confirm_password";
const CODE_FIELD: &str = "confirm_code";
/// Fields never carried into the dialog: the CSRF token is the dialog's own, and nothing
/// secret is ever written back into a page.
const NOT_CARRIED: [&str; 3] = ["csrf_token", PASSWORD_FIELD, CODE_FIELD];

/// What the dialog needs of an interrupted request to send it again: its fields, where it
/// was going, and what the user typed into the dialog, if anything.
pub struct Interrupted {
    fields: Vec<(String, String)>,
    proof: Option<Proof>,
    /// htmx's target of the interrupted request (`HX-Target`).
    hx_target: Option<String>,
    /// Where the dialog posts: the interrupted request's own path, where a `DELETE` sent by
    /// htmx continues as its plain-form `POST …/delete`.
    action: String,
}

impl Interrupted {
    /// Reads `req` and its form body `bytes`.
    pub fn read(req: &HttpRequest, bytes: &[u8]) -> Self {
        let hx_target = req
            .headers()
            .get("HX-Target")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let action = if req.method() == actix_web::http::Method::DELETE {
            format!("{}/delete", req.path())
        } else {
            req.path().to_string()
        };
        let mut fields = Vec::new();
        let (mut password, mut code) = (None, None);
        for (name, value) in url::form_urlencoded::parse(bytes) {
            match name.as_ref() {
                PASSWORD_FIELD => password = Some(SecretString::from(value.into_owned())),
                CODE_FIELD => code = Some(value.into_owned()),
                name if NOT_CARRIED.contains(&name) => {}
                _ => fields.push((name.into_owned(), value.into_owned())),
            }
        }
        let proof = password.map(|password| Proof {
            password,
            code: code.unwrap_or_default(),
        });
        Self {
            fields,
            proof,
            hx_target,
            action,
        }
    }
}

/// A sensitive action's form: `T` as `HtmlForm` gives it, plus what the dialog needs to
/// send it again.
pub struct Confirmable<T> {
    pub form: T,
    interrupted: Interrupted,
}

/// A form with nothing in it but the CSRF token (delete, disable, reset…).
#[derive(serde::Deserialize)]
pub struct NoFields {}

impl<T: DeserializeOwned + 'static> FromRequest for Confirmable<T> {
    type Error = AppError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let bytes = web::Bytes::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let bytes = bytes
                .await
                .map_err(|_| AppError::BadRequest("The form could not be read.".into()))?;
            let form = serde_html_form::from_bytes::<T>(&bytes)
                .map_err(|_| AppError::BadRequest("The form is malformed.".into()))?;
            Ok(Self {
                form,
                interrupted: Interrupted::read(&req, &bytes),
            })
        })
    }
}

#[derive(Template)]
#[template(path = "partials/step_up.html")]
struct StepUpDialog<'a> {
    modal: bool,
    /// Posts back into the modal with htmx (the interrupted request targeted it).
    hx_modal: bool,
    what: &'a str,
    action: &'a str,
    cancel: &'a str,
    fields: &'a [(String, String)],
    needs_code: bool,
    error: Option<String>,
    csrf_token: String,
}

/// What the dialog says the action is, and where Cancel leads.
pub struct Sensitive<'a> {
    /// Completes "To …, enter your password": e.g. "rotate this credential's secret".
    pub what: &'a str,
    pub cancel: &'a str,
}

impl ConsoleRequest {
    /// `None` when the action may go on (a recent authentication, or the dialog's proof
    /// just passed); otherwise the "Confirm it's you" answer to send instead of acting.
    pub async fn step_up<T>(
        &self,
        form: &mut Confirmable<T>,
        sensitive: Sensitive<'_>,
    ) -> Result<Option<HttpResponse>, AppError> {
        self.confirm(&mut form.interrupted, sensitive).await
    }
}

impl ConsoleRequest {
    /// Whether the user authenticated within `WINDOW`.
    pub fn recently_authenticated(&self) -> bool {
        let Some(at) = self.session.authenticated_at() else {
            return false;
        };
        let age = self.now.timestamp() - at;
        (0..WINDOW.num_seconds()).contains(&age)
    }

    /// `step_up` for a request the dialog interrupted (`console::step_up_gate` asks here).
    pub async fn confirm(
        &self,
        form: &mut Interrupted,
        sensitive: Sensitive<'_>,
    ) -> Result<Option<HttpResponse>, AppError> {
        if self.recently_authenticated() {
            return Ok(None);
        }
        let needs_code = {
            let mut conn = self.conn().await?;
            two_factor::is_enabled(&mut conn, self.user.id).await?
        };
        let Some(proof) = form.proof.take() else {
            return self.dialog(form, &sensitive, needs_code, StatusCode::OK, None);
        };
        let state = &self.state;
        let outcome = reauth::confirm(
            &state.pool,
            &state.argon2,
            &state.sealer,
            &self.user,
            proof,
            &self.meta,
            self.now,
        )
        .await?;
        if let Reauth::Passed = outcome {
            self.session.reauthenticated(self.now)?;
            return Ok(None);
        }
        let (status, error, retry_after) = refusal(outcome, needs_code);
        let mut res = self.dialog(form, &sensitive, needs_code, status, Some(error))?;
        if let (Some(secs), Some(res)) = (retry_after, res.as_mut()) {
            res.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
        }
        Ok(res)
    }

    fn dialog(
        &self,
        form: &Interrupted,
        sensitive: &Sensitive<'_>,
        needs_code: bool,
        status: StatusCode,
        error: Option<String>,
    ) -> Result<Option<HttpResponse>, AppError> {
        let dialog = StepUpDialog {
            modal: self.hx.0,
            hx_modal: self.hx.0 && form.hx_target.as_deref() == Some("modal"),
            what: sensitive.what,
            action: &form.action,
            cancel: sensitive.cancel,
            fields: &form.fields,
            needs_code,
            error,
            csrf_token: self.csrf_token()?,
        };
        let title = "Confirm it's you";
        let mut res = self.page(status, title, vec![Crumb::here(title)], dialog)?;
        let headers = res.headers_mut();
        headers.insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
        if self.hx.0 {
            // Whatever the interrupted request aimed at, the dialog opens as a modal.
            headers.insert(
                header::HeaderName::from_static("hx-retarget"),
                header::HeaderValue::from_static("#modal"),
            );
            headers.insert(
                header::HeaderName::from_static("hx-reswap"),
                header::HeaderValue::from_static("innerHTML"),
            );
        }
        Ok(Some(res))
    }
}

/// What the dialog says about a proof that did not pass: status, message, and `Retry-After`.
fn refusal(outcome: Reauth, needs_code: bool) -> (StatusCode, String, Option<i64>) {
    let wrong = if needs_code {
        "The password or the code is not right."
    } else {
        "That password is not right."
    };
    match outcome {
        Reauth::Passed | Reauth::WrongPassword | Reauth::WrongCode => {
            (StatusCode::UNPROCESSABLE_ENTITY, wrong.to_string(), None)
        }
        Reauth::Throttled(secs) => (
            StatusCode::TOO_MANY_REQUESTS,
            format!("Too many wrong attempts. Try again in {secs} seconds."),
            Some(secs),
        ),
        Reauth::Busy => (
            StatusCode::SERVICE_UNAVAILABLE,
            "The server is busy. Try again in a moment.".to_string(),
            None,
        ),
        Reauth::Locked => (
            StatusCode::TOO_MANY_REQUESTS,
            two_factor::LOCKED.to_string(),
            None,
        ),
    }
}
