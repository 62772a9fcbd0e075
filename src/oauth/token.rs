//! `POST /oauth/token`: the client credentials grant (RFC 6749 §4.4).

use std::sync::atomic::Ordering;

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;

use crate::db::ids::CredentialId;
use crate::db::models::access_token::{self, TOKEN_LIFETIME};
use crate::oauth::client_auth;
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::form::OAuthForm;
use crate::startup::AppState;
use crate::tokens::{self, Kind, PlainSecret};

const GRANT_TYPE: &str = "client_credentials";

/// RFC 6749 appendix A.4: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
fn is_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

/// The scopes to grant: all the credential may use when none are asked for, the request
/// when it is a subset of those, `invalid_scope` otherwise.
pub fn grant_scopes(
    requested: Option<&str>,
    allowed: &[String],
) -> Result<Vec<String>, OAuthError> {
    let Some(requested) = requested else {
        if allowed.is_empty() {
            return Err(OAuthError::new(
                ErrorCode::InvalidScope,
                "This credential is not allowed any API.",
            ));
        }
        return Ok(allowed.to_vec());
    };
    let mut granted: Vec<String> = Vec::new();
    for scope in requested.split(' ').filter(|s| !s.is_empty()) {
        if !is_scope_token(scope) {
            return Err(OAuthError::new(
                ErrorCode::InvalidScope,
                "The scope parameter is malformed.",
            ));
        }
        if !allowed.iter().any(|a| a == scope) {
            return Err(OAuthError::new(
                ErrorCode::InvalidScope,
                "A requested scope is not allowed for this client.",
            ));
        }
        if !granted.iter().any(|g| g == scope) {
            granted.push(scope.to_string());
        }
    }
    if granted.is_empty() {
        return Err(OAuthError::new(
            ErrorCode::InvalidScope,
            "The scope parameter is empty.",
        ));
    }
    granted.sort();
    Ok(granted)
}

pub struct Issued {
    pub token: PlainSecret,
    pub scopes: Vec<String>,
    pub expires_at: DateTime<Utc>,
}

/// Mints a token for a credential already authenticated (by its secret here, or by a staff
/// member in the console), evicting its oldest live token beyond the limit. `None` when the
/// credential changed meanwhile (rotated, revoked, deleted, expired).
pub async fn mint(
    conn: &mut AsyncPgConnection,
    credential: CredentialId,
    secret_hash: &[u8],
    scopes: Vec<String>,
    ip: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<Issued>, OAuthError> {
    let token = tokens::generate(Kind::AccessToken)?;
    let issued = access_token::issue(
        conn,
        credential,
        secret_hash,
        token.hash().as_bytes(),
        &scopes,
        now,
        ip,
    )
    .await?;
    Ok(issued.map(|_| Issued {
        token,
        scopes,
        expires_at: now + TOKEN_LIFETIME,
    }))
}

#[tracing::instrument(skip_all)]
pub async fn issue_token(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Bytes,
) -> Result<HttpResponse, OAuthError> {
    let form = OAuthForm::parse(&req, &body)?;
    let presented = client_auth::presented(&req, &form)?;
    let grant_type = form.get("grant_type").ok_or(OAuthError::invalid_request(
        "The grant_type parameter is missing.",
    ))?;

    let ip = state.client_ip(&req);
    let now = state.clock.now();
    let mut conn = state.pool.get().await?;
    let (client, basic) =
        client_auth::authenticate(&conn, &state.oauth, presented, ip, now).await?;

    if grant_type != GRANT_TYPE {
        return Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            "Only the client_credentials grant is supported.",
        ));
    }
    let scopes = grant_scopes(form.get("scope"), &client.scopes)?;
    let ip_text = ip.map(|ip| ip.to_string());
    let Some(issued) = mint(
        &mut conn,
        client.id,
        &client.secret_hash,
        scopes,
        ip_text.as_deref(),
        now,
    )
    .await?
    else {
        // Rotated, revoked or deleted between our check and the issue: the same answer as
        // any other failed authentication.
        return Err(OAuthError::invalid_client(basic));
    };
    if client
        .last_used_at
        .is_none_or(|t| now - t >= chrono::Duration::minutes(1))
    {
        access_token::touch_credential(&mut conn, client.id, ip_text.as_deref(), now).await?;
    }
    state.oauth.metrics.issued.fetch_add(1, Ordering::Relaxed);

    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(serde_json::json!({
            "access_token": issued.token.expose(),
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME.num_seconds(),
            "scope": issued.scopes.join(" "),
        })))
}

/// Anything but POST on an OAuth endpoint.
pub async fn method_not_allowed() -> HttpResponse {
    HttpResponse::MethodNotAllowed()
        .insert_header((header::ALLOW, "POST"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({ "error": "invalid_request", "error_description": "Use POST." }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn allowed() -> Vec<String> {
        vec!["orders:read".into(), "orders:write".into()]
    }

    #[test]
    fn no_scope_grants_everything_allowed() {
        assert_eq!(grant_scopes(None, &allowed()).unwrap(), allowed());
        assert!(grant_scopes(None, &[]).is_err());
    }

    #[test]
    fn a_subset_is_granted_and_anything_else_refused() {
        assert_eq!(
            grant_scopes(Some("orders:write orders:read orders:read"), &allowed()).unwrap(),
            allowed()
        );
        assert_eq!(
            grant_scopes(Some("orders:read"), &allowed()).unwrap(),
            ["orders:read"]
        );
        assert_eq!(
            grant_scopes(Some("orders:read admin"), &allowed())
                .unwrap_err()
                .code,
            ErrorCode::InvalidScope
        );
        assert_eq!(
            grant_scopes(Some("orders:\"read"), &allowed())
                .unwrap_err()
                .code,
            ErrorCode::InvalidScope
        );
        assert_eq!(
            grant_scopes(Some("   "), &allowed()).unwrap_err().code,
            ErrorCode::InvalidScope
        );
    }
}
