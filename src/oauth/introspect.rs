//! `POST /oauth/introspect` (RFC 7662): a credential of the same organisation asks whether a
//! token is active. Anything unknown, expired, revoked, beyond its credential's current
//! rights, or of another organisation is just `{"active": false}`.

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::db::models::access_token;
use crate::oauth::client_auth;
use crate::oauth::error::OAuthError;
use crate::oauth::form::OAuthForm;
use crate::startup::AppState;
use crate::tokens::{self, Kind};

fn answer(body: serde_json::Value) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(body)
}

#[tracing::instrument(skip_all)]
pub async fn introspect_token(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Bytes,
) -> Result<HttpResponse, OAuthError> {
    let form = OAuthForm::parse(&req, &body)?;
    let presented = client_auth::presented(&req, &form)?;
    let ip = state.client_ip(&req);
    let now = state.clock.now();
    let mut conn = state.pool.get().await?;
    let (caller, _) =
        client_auth::authenticate(&mut conn, &state.oauth, presented, ip, now).await?;
    let token = form.get("token").ok_or(OAuthError::invalid_request(
        "The token parameter is missing.",
    ))?;

    let inactive = || answer(serde_json::json!({ "active": false }));
    let Some(token) = tokens::parse(Kind::AccessToken, token) else {
        return Ok(inactive());
    };
    let Some(found) = access_token::find_active(&mut conn, token.hash().as_bytes(), now).await?
    else {
        return Ok(inactive());
    };
    if found.org_id != caller.org_id || !found.within_current_rights() {
        return Ok(inactive());
    }
    let issuer = state.settings.issuer();
    Ok(answer(serde_json::json!({
        "active": true,
        "scope": found.scopes.join(" "),
        "client_id": found.client_id,
        "token_type": "Bearer",
        "exp": found.expires_at.timestamp(),
        "iat": found.issued_at.timestamp(),
        "sub": found.client_id,
        "iss": issuer,
    })))
}
