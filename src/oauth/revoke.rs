//! `POST /oauth/revoke` (RFC 7009): a client revokes one of its own tokens. An unknown or
//! already revoked token answers 200; another client's token is refused and stays active.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::app_state::AppState;
use crate::db::models::access_token;
use crate::oauth::client_auth;
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::form::OAuthForm;
use crate::tokens::{self, Kind};

#[tracing::instrument(skip_all)]
pub async fn revoke_token(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: OAuthForm,
) -> Result<HttpResponse, OAuthError> {
    let presented = client_auth::presented(&req, &form)?;
    let ip = state.client_ip(&req);
    let now = state.clock.now();
    let mut conn = state.machine_pool(&req).get().await?;
    let mut attempt = client_auth::Attempt::begin(presented, ip, now)?;
    attempt
        .prove(&mut conn, &state.settings, "/oauth/revoke")
        .await?;
    let found = attempt.lookup(&conn).await?;
    let calls = found.as_ref().and_then(|lookup| lookup.calls);
    let client_id = attempt.client_id().to_owned();
    let (caller, _) = attempt
        .finish(client_auth::Conn::Held(&mut conn), &state.oauth, found)
        .await?;
    client_auth::admit_call(&state.oauth, &client_id, calls, now)?;
    let token = form.get("token").ok_or(OAuthError::invalid_request(
        "The token parameter is missing.",
    ))?;

    let done = HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish();
    let Some(token) = tokens::parse(Kind::AccessToken, token) else {
        return Ok(done);
    };
    let hash = token.hash();
    match access_token::owner_of(&mut conn, hash.as_bytes(), None).await? {
        None => Ok(done),
        Some(owner) if owner == caller.id => {
            access_token::revoke_by_hash(&mut conn, hash.as_bytes(), now).await?;
            tracing::info!(credential_id = %caller.id, "access token revoked by its client");
            Ok(done)
        }
        Some(_) => Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "The token was not issued to this client.",
        )),
    }
}
