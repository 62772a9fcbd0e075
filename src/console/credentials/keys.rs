//! "Public keys" on a credential's page: the keys its integrations sign assertions with
//! (`private_key_jwt`), adding and removing one, and "keys only". The operations are the
//! domain's (`credentials::keys`); these handlers read the form, call, and show the page.

use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use serde::Deserialize;

use crate::catalog::Saved;
use crate::console::credentials::changed;
use crate::console::request::ConsoleRequest;
use crate::credentials::input::parse_expiry_text;
use crate::credentials::keys::{self, NewKey};
use crate::db::ids::CredentialId;
use crate::db::models::credential::Credential;
use crate::db::models::credential_key::{CredentialKey, MAX_KEYS_PER_CREDENTIAL};
use crate::domain_error::DomainError;
use crate::error::AppError;
use crate::html_form::HtmlForm;
use crate::paths;
use crate::views::{absolute_time, relative_time};

/// The section on the credential's page.
#[derive(Template)]
#[template(path = "partials/credential_keys.html")]
pub struct KeysSection {
    pub url: String,
    pub name: String,
    pub keys: Vec<CredentialKey>,
    pub keys_only: bool,
    /// The viewer may add and remove keys (the same right as rotating the secret).
    pub can_manage: bool,
    pub csrf_token: String,
    pub now: DateTime<Utc>,
}

impl KeysSection {
    pub async fn load(
        conn: &mut AsyncPgConnection,
        c: &Credential,
        can_manage: bool,
        csrf_token: String,
        now: DateTime<Utc>,
    ) -> Result<Self, AppError> {
        Ok(Self {
            url: paths::credential(c.id),
            name: c.name.clone(),
            keys: CredentialKey::of(conn, c.id).await?,
            keys_only: c.keys_only,
            can_manage,
            csrf_token,
            now,
        })
    }

    pub fn absolute(&self, t: &DateTime<Utc>) -> String {
        absolute_time(*t)
    }

    pub fn last_use(&self, k: &CredentialKey) -> String {
        match (&k.last_used_at, &k.last_used_ip) {
            (Some(at), Some(ip)) => format!("{} from {ip}", relative_time(*at, self.now)),
            (Some(at), None) => relative_time(*at, self.now),
            (None, _) => "Never".into(),
        }
    }

    pub fn expired(&self, k: &CredentialKey) -> bool {
        k.expires_at.is_some_and(|at| at <= self.now)
    }

    pub fn room_for_another(&self) -> bool {
        self.keys.len() < MAX_KEYS_PER_CREDENTIAL
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct AddKeyForm {
    #[serde(default)]
    public_key: String,
    /// Optional: a date (end of that day, UTC) or a date and time.
    #[serde(default)]
    expires_at: String,
}

#[tracing::instrument(skip_all, fields(credential_id = %path))]
pub async fn add_public_key(
    rq: ConsoleRequest,
    path: web::Path<CredentialId>,
    HtmlForm(form): HtmlForm<AddKeyForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let expires_at = match form.expires_at.trim() {
        "" => None,
        text => Some(parse_expiry_text(text).map_err(|m| DomainError::invalid("expires_at", m))?),
    };
    let new = NewKey {
        text: &form.public_key,
        expires_at,
    };
    let mut conn = rq.conn().await?;
    let (c, key) = keys::add_key(&mut conn, &rq.actor(), id, new).await?;
    // The fingerprint is on the page; a toast is too narrow for 43 unbreakable characters.
    let message = format!(
        "{} public key added to “{}”: assertions it signs are accepted from now on.",
        key.algorithm.as_str(),
        c.name
    );
    changed(&rq, &mut conn, &message, &paths::credential(c.id), Some(c)).await
}

#[tracing::instrument(skip_all)]
pub async fn remove_public_key(
    rq: ConsoleRequest,
    path: web::Path<(CredentialId, uuid::Uuid)>,
) -> Result<HttpResponse, AppError> {
    let (id, key_id) = path.into_inner();
    let mut conn = rq.conn().await?;
    let (c, key) = keys::remove_key(&mut conn, &rq.actor(), id, key_id).await?;
    let message = format!(
        "{} public key removed from “{}”: assertions it signs are refused from now on.",
        key.algorithm.as_str(),
        c.name
    );
    changed(&rq, &mut conn, &message, &paths::credential(c.id), Some(c)).await
}

/// `keys_only=yes` or `keys_only=no`.
#[derive(Debug, Default, Deserialize)]
pub struct KeysOnlyForm {
    #[serde(default)]
    keys_only: String,
}

#[tracing::instrument(skip_all, fields(credential_id = %path))]
pub async fn set_keys_only(
    rq: ConsoleRequest,
    path: web::Path<CredentialId>,
    HtmlForm(form): HtmlForm<KeysOnlyForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let keys_only = match form.keys_only.trim() {
        "yes" => true,
        "no" => false,
        _ => {
            return Err(AppError::BadRequest(
                "Say whether it accepts keys only.".into(),
            ));
        }
    };
    let mut conn = rq.conn().await?;
    let (c, saved) = keys::set_keys_only(&mut conn, &rq.actor(), id, keys_only).await?;
    let message = match (saved, keys_only) {
        (Saved::Unchanged, _) => format!("No changes to “{}”.", c.name),
        (Saved::Changed, true) => format!(
            "“{}” accepts signed assertions only: its secret is refused from now on.",
            c.name
        ),
        (Saved::Changed, false) => format!("“{}” accepts its secret again.", c.name),
    };
    changed(&rq, &mut conn, &message, &paths::credential(c.id), Some(c)).await
}
